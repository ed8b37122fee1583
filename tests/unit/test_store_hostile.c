/* SPDX-License-Identifier: ISC */
/* Unit tests for damaged store files: random byte flips in a real data.mdb never crash a reader. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fim/core/hash.h"
#include "fim/store/store.h"
#include "fim/store/store_int.h"
#include "tests/unit/fixture.h"

#define FLIPS_DEFAULT 3000 /* FIM_FLIPS overrides */
#define FLIP_SEED     0x5eed1234u

struct fixture {
	char tmp[64];
	char db[96];
	char data[PATH_MAX]; /* DB/current/data.mdb */
	uint8_t *orig;
	size_t size;
	uint8_t digest[32];
};

/* xorshift32: the same flips on every machine for one seed. */
static uint32_t next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void put(struct store_writer *w, uint64_t parent, const char *name,
                const struct file_rec *rec)
{
	assert_int_equal(store_writer_put(w, parent, name, strlen(name), rec), 0);
}

/* A baseline of 20 directories of 15 files, long symlink targets (overflow
 * pages), meta values and an accept history: every kind of page LMDB has. */
static void write_store(const char *db)
{
	static char target[3000];
	struct store_writer *w;
	struct file_rec r;
	uint64_t root;

	memset(target, 't', sizeof(target));
	assert_int_equal(store_writer_new(db, &w), 0);
	root = store_writer_new_node(w);
	r = (struct file_rec){.attrs = ATTR_BIT(ATTR_TYPE), .type = FT_DIR, .dirid = root};
	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	for (int d = 0; d < 20; d++) {
		uint64_t id = store_writer_new_node(w);
		char name[32];

		snprintf(name, sizeof(name), "d%d", d);
		r = (struct file_rec){.attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE),
		                      .flags = REC_IN_SCOPE,
		                      .type = FT_DIR,
		                      .mode = 0755,
		                      .dirid = id};
		put(w, root, name, &r);
		for (int f = 0; f < 15; f++) {
			snprintf(name, sizeof(name), "file-%d", f);
			if (f == 0)
				r = (struct file_rec){.attrs = ATTR_BIT(ATTR_TYPE) |
				                               ATTR_BIT(ATTR_TARGET),
				                      .flags = REC_IN_SCOPE,
				                      .type = FT_LNK,
				                      .target = {(const uint8_t *)target,
				                                 sizeof(target) - (size_t)d}};
			else
				r = (struct file_rec){.attrs = ATTR_BIT(ATTR_TYPE) |
				                               ATTR_BIT(ATTR_SIZE),
				                      .flags = REC_IN_SCOPE,
				                      .type = FT_REG,
				                      .size = (uint64_t)(d * 100 + f)};
			put(w, id, name, &r);
		}
	}
	assert_int_equal(store_writer_meta(w, META_HOST, "flip", 4), 0);
	assert_int_equal(store_writer_meta(w, META_HASH, "sha256", 6), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_writer_audit(w, "{\"accepted\":1}", 14, NULL), 0);
	assert_int_equal(store_writer_commit(w), 0);
}

static void read_file(const char *path, uint8_t **ret, size_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*ret = malloc((size_t)st.st_size);
	assert_non_null(*ret);
	assert_int_equal(read(fd, *ret, (size_t)st.st_size), st.st_size);
	*size = (size_t)st.st_size;
	close(fd);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd =
	        open(path,
	             O_WRONLY | O_CLOEXEC); /* no O_TRUNC: ext4 flushes a truncated file on close */

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!fx_tmpdir(f->tmp, sizeof(f->tmp), "flip"))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/db", f->tmp);
	write_store(f->db);
	snprintf(f->data, sizeof(f->data), "%s/current/data.mdb", f->db);
	read_file(f->data, &f->orig, &f->size);
	hash_buffer(HASH_SHA256, f->orig, f->size, f->digest);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fx_rmtree(f->tmp);
	free(f->orig);
	free(f);
	return 0;
}

/* What a reader of a damaged store may see: success or a clean error. */
static void assert_clean(int r)
{
	if (r < 0 && r != -EBADMSG && r != -ENOENT && r != -EPROTONOSUPPORT && r != -EINVAL &&
	    r != -E2BIG && r != -ENOSPC && r != -EAGAIN && r != -EIO)
		fail_msg("unexpected error %d (%s)", r, strerror(-r));
}

/* Reads every entry below PARENT; bounded, since a damaged store may
 * point a directory at one of its ancestors. */
static void walk(struct store *s, uint64_t parent, unsigned depth, unsigned *seen)
{
	struct store_iter *it = NULL;
	struct file_rec rec;
	struct bytes name;
	int r;

	if (depth > 8 || *seen > 2000)
		return;
	r = store_iter_children(s, parent, &it);
	assert_clean(r);
	while (r >= 0 && (r = store_iter_next(it, &name, &rec)) > 0) {
		char *path = NULL;

		++*seen;
		if (rec.type == FT_DIR && rec.dirid && rec.dirid != parent) {
			int p = store_node_path(s, rec.dirid, &path, NULL);
			assert_clean(p);
			free(path);
			walk(s, rec.dirid, depth + 1, seen);
		}
	}
	assert_clean(r);
	store_iter_free(it);
}

/* Everything a command may read of S. */
static void read_all(struct store *s)
{
	uint8_t digest[STORE_DIGEST_BYTES];
	struct store_iter *it = NULL;
	struct file_rec rec;
	struct bytes v;
	uint64_t seq;
	unsigned seen = 0;
	int r;

	assert_clean(store_meta(s, META_HOST, &v));
	assert_clean(store_lookup(s, "/d3/file-7", 10, &rec, NULL));
	walk(s, 0, 0, &seen);
	r = store_audit_iter(s, &it);
	assert_clean(r);
	while (r >= 0 && (r = store_audit_next(it, &seq, &v)) > 0)
		;
	assert_clean(r);
	store_iter_free(it);
	assert_clean(store_digest(s, digest));
}

static int check_digest(void *user, const uint8_t digest[STORE_DIGEST_BYTES], const uint8_t *sig,
                        size_t n)
{
	return memcmp(user, digest, STORE_DIGEST_BYTES) == 0 ? 0 : -EKEYREJECTED;
}

static unsigned flip_count(void)
{
	const char *e = getenv("FIM_FLIPS");

	return e && atoi(e) > 0 ? (unsigned)atoi(e) : FLIPS_DEFAULT;
}

/* Flips 1 to 3 random bytes (a third of the time in the two meta pages). */
static void damage(const struct fixture *f, uint8_t *buf, uint32_t *x)
{
	unsigned n = 1 + next_rand(x) % 3;
	bool meta = next_rand(x) % 3 == 0;

	memcpy(buf, f->orig, f->size);
	for (unsigned i = 0; i < n; i++) {
		size_t at = next_rand(x) % (meta ? 2 * 4096 : f->size);
		buf[at] ^= (uint8_t)(1 + next_rand(x) % 255);
	}
}

/* Every damaged copy opens, reads in full and closes, or fails with a
 * clean error: never a signal. */
static void test_flips_never_crash(void **state)
{
	struct fixture *f = *state;
	uint8_t *buf = malloc(f->size);
	unsigned opened = 0, refused = 0, n = flip_count();
	uint32_t x = FLIP_SEED;

	assert_non_null(buf);
	for (unsigned i = 0; i < n; i++) {
		struct store *s = NULL;
		int r;

		damage(f, buf, &x);
		write_file(f->data, buf, f->size);
		r = store_open(f->db, &s);
		assert_clean(r);
		if (r == 0) {
			read_all(s);
			store_close(s);
			opened++;
		} else {
			refused++;
		}
	}
	print_message("%u damaged stores: %u opened, %u refused at open\n", n, opened, refused);
	write_file(f->data, f->orig, f->size);
	free(buf);
}

/* With the data file's digest checked first (a signed baseline), no
 * damaged copy is ever opened. */
static void test_flips_signed_always_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t *buf = malloc(f->size);
	unsigned n = flip_count();
	uint32_t x = FLIP_SEED ^ 0xa5a5a5a5u;
	struct store *s = NULL;

	assert_non_null(buf);
	/* the signature file the check is given must exist */
	char sig[PATH_MAX];
	snprintf(sig, sizeof(sig), "%s/current/data.sig", f->db);
	int fd = open(sig, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(store_open_verified(f->db, check_digest, f->digest, &s), 0);
	read_all(s);
	store_close(s);
	for (unsigned i = 0; i < n / 4; i++) {
		damage(f, buf, &x);
		write_file(f->data, buf, f->size);
		s = NULL;
		assert_int_equal(store_open_verified(f->db, check_digest, f->digest, &s),
		                 -EKEYREJECTED);
		assert_null(s);
	}
	write_file(f->data, f->orig, f->size);
	free(buf);
}

/* A data file shorter than its meta pages say: refused before LMDB maps
 * the missing pages (a SIGBUS on first touch). */
static void test_truncated_refused(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;

	assert_int_equal(truncate(f->data, (off_t)(f->size - 4096)), 0);
	assert_int_equal(store_open(f->db, &s), -EBADMSG);
	write_file(f->data, f->orig, f->size);
	assert_int_equal(store_open(f->db, &s), 0);
	store_close(s);
}

/* A meta page naming a last page beyond the file, or a root outside it. */
static void test_meta_out_of_file_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t *buf = malloc(f->size);
	struct store *s = NULL;
	uint64_t big = 1u << 20;

	assert_non_null(buf);
	for (unsigned page = 0; page < 2; page++) {
		/* last page (offset 136 of the meta page), then the main root (128) */
		for (unsigned off = 128; off <= 136; off += 8) {
			memcpy(buf, f->orig, f->size);
			memcpy(buf + page * 4096 + off, &big, sizeof(big));
			write_file(f->data, buf, f->size);
			assert_int_equal(store_open(f->db, &s), -EBADMSG);
		}
	}
	write_file(f->data, f->orig, f->size);
	free(buf);
}

/* Runs FN in a child with the default fault handlers under the guard's
 * own; returns how the child ended (wait status). */
static int in_child(void (*fn)(const struct fixture *), const struct fixture *f)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* not the test harness's */
		signal(SIGBUS, SIG_DFL);
		fn(f);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void fault_unguarded(const struct fixture *f)
{
	struct store *s = NULL;
	volatile uintptr_t nowhere = 8;

	if (store_open(f->db, &s) < 0) /* arms the handler */
		_exit(2);
	*(volatile int *)nowhere = 1;
}

static void fault_guarded_not_ours(const struct fixture *f)
{
	struct store_guard g;
	volatile char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	store_guard_arm();
	store_guard_push(&g, 0, 0);
	if (sigsetjmp(g.jb, 0))
		_exit(3); /* swallowed: wrong */
	page[0] = 1;      /* a write to a read-only page: a bug, not damage */
}

static void fault_guarded_in_map(const struct fixture *f)
{
	struct store_guard g;
	volatile char *map = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	store_guard_arm();
	store_guard_push(&g, (uintptr_t)map, (uintptr_t)map + 8192);
	if (sigsetjmp(g.jb, 0)) {
		store_guard_pop(&g);
		_exit(4); /* caught, as it must be */
	}
	(void)map[4096];
}

/* The guard takes only the faults a damaged map causes under it. */
static void test_guard_is_narrow(void **state)
{
	struct fixture *f = *state;
	int st;

	st = in_child(fault_unguarded, f);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	st = in_child(fault_guarded_not_ours, f);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	st = in_child(fault_guarded_in_map, f);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_guard_is_narrow, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_truncated_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_meta_out_of_file_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_flips_never_crash, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_flips_signed_always_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
