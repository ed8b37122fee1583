/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/store/store.c: build, swap, read back, and survive damaged stores. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "fim/store/store.h"
#include "tests/unit/fixture.h"

struct fixture {
	char tmp[64];
	char db[96]; /* TMP/db, created by the first writer */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!fx_tmpdir(f->tmp, sizeof(f->tmp), "store"))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/db", f->tmp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fx_rmtree(f->tmp);
	free(f);
	return 0;
}

static struct file_rec dir_rec(uint64_t id)
{
	return (struct file_rec){
	        .attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_UID),
	        .flags = REC_IN_SCOPE,
	        .type = FT_DIR,
	        .mode = 0755,
	        .dirid = id,
	};
}

static struct file_rec reg_rec(uint64_t size)
{
	return (struct file_rec){
	        .attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_SIZE),
	        .flags = REC_IN_SCOPE,
	        .type = FT_REG,
	        .mode = 0644,
	        .size = size,
	};
}

static void put(struct store_writer *w, uint64_t parent, const char *name,
                const struct file_rec *rec)
{
	assert_int_equal(store_writer_put(w, parent, name, strlen(name), rec), 0);
}

/*
 * / (1), /etc (2), /etc/ssh (3), /etc/ssh/sshd_config, /etc/passwd,
 * /bin (4), /bin/sh -> dash; meta host = HOST.
 */
static void write_sample(const char *db, const char *host)
{
	struct store_writer *w;
	struct file_rec r;
	uint64_t root, etc, ssh, bin;

	assert_int_equal(store_writer_new(db, &w), 0);
	root = store_writer_new_node(w);
	assert_int_equal(root, STORE_ROOT_ID);
	r = dir_rec(root);
	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	etc = store_writer_new_node(w);
	r = dir_rec(etc);
	put(w, root, "etc", &r);
	ssh = store_writer_new_node(w);
	r = dir_rec(ssh);
	put(w, etc, "ssh", &r);
	r = reg_rec(3000);
	put(w, ssh, "sshd_config", &r);
	r = reg_rec(1000);
	put(w, etc, "passwd", &r);
	bin = store_writer_new_node(w);
	r = dir_rec(bin);
	put(w, root, "bin", &r);
	r = (struct file_rec){.attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_TARGET),
	                      .type = FT_LNK,
	                      .target = BYTES_STR("dash")};
	put(w, bin, "sh", &r);
	assert_int_equal(store_writer_meta(w, META_HOST, host, strlen(host)), 0);
	assert_int_equal(store_writer_commit(w), 0);
}

/* Name of the environment DB/current points to. */
static void current_name(const char *db, char *out, size_t size)
{
	char link[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/current", db);
	n = readlink(link, out, size - 1);
	assert_true(n > 0);
	out[n] = '\0';
}

/* Entries of DB other than "current", as "name1 name2" in readdir order. */
static int count_baselines(const char *db)
{
	DIR *d = opendir(db);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "current"))
			continue;
		assert_int_equal(strncmp(e->d_name, "baseline.", 9), 0);
		n++;
	}
	closedir(d);
	return n;
}

/* Writes (or with V NULL deletes) one key of DBNAME in DB's current
 * environment behind the store's back. */
static void raw_put(const char *db, const char *dbname, const void *k, size_t kn, const void *v,
                    size_t vn)
{
	char path[PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};

	snprintf(path, sizeof(path), "%s/current", db);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, dbname, MDB_CREATE, &dbi), 0);
	if (v)
		assert_int_equal(mdb_put(txn, dbi, &key, &val, 0), 0);
	else
		assert_int_equal(mdb_del(txn, dbi, &key, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void file_key(uint8_t *key, uint64_t parent, const char *name, size_t *klen)
{
	for (int i = 7; i >= 0; i--, parent >>= 8)
		key[i] = (uint8_t)parent;
	memcpy(key + 8, name, strlen(name));
	*klen = 8 + strlen(name);
}

static void node_val(uint8_t *val, uint64_t id, const char *name, size_t *vlen)
{
	file_key(val, id, name, vlen);
}

static void test_open_no_baseline(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;

	assert_int_equal(store_open(f->db, &s), -ENOENT);
	assert_null(s);
	assert_int_equal(store_open(f->tmp, &s), -ENOENT);
	assert_int_equal(store_found_schema(f->db), 0);
	assert_int_equal(store_found_schema(f->tmp), 0);
	store_close(NULL);
}

static void test_write_reopen_get(void **state)
{
	struct fixture *f = *state;
	char longname[300];
	struct file_rec r;
	struct store *s;
	struct stat st;

	write_sample(f->db, "alpha");
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(count_baselines(f->db), 1);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_get(s, 0, "", 0, &r), 0);
	assert_int_equal(r.type, FT_DIR);
	assert_true(r.dirid == STORE_ROOT_ID);
	assert_int_equal(store_get(s, 2, "passwd", 6, &r), 0);
	assert_int_equal(r.type, FT_REG);
	assert_true(r.size == 1000);
	assert_int_equal(r.mode, 0644);
	assert_int_equal(r.attrs, ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_SIZE));
	assert_int_equal(r.flags, REC_IN_SCOPE);
	assert_int_equal(store_get(s, 4, "sh", 2, &r), 0);
	assert_int_equal(r.target.n, 4);
	assert_memory_equal(r.target.p, "dash", 4);
	/* The name is exactly NLEN bytes, not up to a NUL. */
	assert_int_equal(store_get(s, 2, "passwdX", 6, &r), 0);
	assert_int_equal(store_get(s, 2, "passw", 5, &r), -ENOENT);
	assert_int_equal(store_get(s, 3, "passwd", 6, &r), -ENOENT);
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(store_get(s, 2, longname, sizeof(longname), &r), -ENOENT);
	assert_int_equal(store_found_schema(f->db), STORE_SCHEMA_VERSION);
	store_close(s);
}

static void test_lookup(void **state)
{
	struct fixture *f = *state;
	struct file_rec r;
	uint64_t parent = 99;
	struct store *s;

#define LOOKUP(p, rec, par) store_lookup(s, p, strlen(p), rec, par)
	write_sample(f->db, "alpha");
	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(LOOKUP("/etc/ssh/sshd_config", &r, &parent), 0);
	assert_true(r.size == 3000);
	assert_true(parent == 3);
	assert_int_equal(LOOKUP("/", &r, &parent), 0);
	assert_true(r.dirid == STORE_ROOT_ID);
	assert_true(parent == 0);
	assert_int_equal(LOOKUP("/etc/ssh", &r, &parent), 0);
	assert_true(r.dirid == 3 && parent == 2);
	assert_int_equal(LOOKUP("/etc/ssh/", &r, NULL), 0);
	assert_true(r.dirid == 3);
	assert_int_equal(LOOKUP("//etc//passwd", &r, &parent), 0);
	assert_true(r.size == 1000 && parent == 2);
	/* LEN, not the NUL, ends the path. */
	assert_int_equal(store_lookup(s, "/etc/passwd-and-more", 11, &r, NULL), 0);
	assert_true(r.size == 1000);

	assert_int_equal(LOOKUP("/etc/passwd/x", &r, NULL), -ENOENT);
	assert_int_equal(LOOKUP("/bin/sh/x", &r, NULL), -ENOENT);
	assert_int_equal(LOOKUP("/nope", &r, NULL), -ENOENT);
	assert_int_equal(LOOKUP("/etc/nope/passwd", &r, NULL), -ENOENT);
	assert_int_equal(LOOKUP("etc/passwd", &r, NULL), -EINVAL);
	assert_int_equal(store_lookup(s, "", 0, &r, NULL), -EINVAL);
	store_close(s);
#undef LOOKUP
}

/* A path longer than PATH_MAX exists only as a chain of node ids. */
static void test_lookup_deep(void **state)
{
	enum { DEPTH = 300, NAMELEN = 60 };
	struct fixture *f = *state;
	char *path = malloc(DEPTH * (NAMELEN + 1) + 32), *got;
	uint64_t parent, id = 0;
	struct store_writer *w;
	struct file_rec r;
	size_t len = 0, glen;
	struct store *s;

	assert_non_null(path);
	assert_int_equal(store_writer_new(f->db, &w), 0);
	parent = store_writer_new_node(w);
	r = dir_rec(parent);
	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	for (int d = 0; d < DEPTH; d++) {
		char name[NAMELEN + 16];

		snprintf(name, sizeof(name), "%03d-%0*d", d, NAMELEN - 4, 0);
		id = store_writer_new_node(w);
		r = dir_rec(id);
		put(w, parent, name, &r);
		len += (size_t)sprintf(path + len, "/%s", name);
		parent = id;
	}
	r = reg_rec(7);
	put(w, parent, "leaf", &r);
	assert_int_equal(store_writer_commit(w), 0);
	assert_true(len > PATH_MAX);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_node_path(s, id, &got, &glen), 0);
	assert_int_equal(glen, len);
	assert_memory_equal(got, path, len);
	assert_int_equal(got[glen], '\0');
	free(got);
	len += (size_t)sprintf(path + len, "/leaf");
	assert_int_equal(store_lookup(s, path, len, &r, &parent), 0);
	assert_true(r.size == 7);
	assert_true(parent == id);
	store_close(s);
	free(path);
}

/* Depth is bounded for lookups even when the store would allow more. */
static void test_lookup_depth_bound(void **state)
{
	struct fixture *f = *state;
	struct file_rec loop = dir_rec(STORE_ROOT_ID), r;
	size_t klen, n = FIM_MAX_DEPTH + 2;
	char *path = malloc(n * 5 + 1);
	uint8_t key[16];
	struct buf b = {0};
	struct store *s;

	/* /loop is the root again: /loop/loop/... resolves to any depth. */
	write_sample(f->db, "alpha");
	assert_int_equal(rec_encode(&loop, &b), 0);
	file_key(key, STORE_ROOT_ID, "loop", &klen);
	raw_put(f->db, "files", key, klen, b.p, b.n);
	buf_free(&b);
	assert_non_null(path);
	for (size_t i = 0; i < n; i++)
		memcpy(path + 5 * i, "/loop", 5);
	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_lookup(s, path, 5 * (n - 1), &r, NULL), 0);
	assert_int_equal(store_lookup(s, path, 5 * n, &r, NULL), -ENOENT);
	store_close(s);
	free(path);
}

static void test_iter_order(void **state)
{
	static const char *const scrambled[] = {"b", "a", "B", "aa", "\xff", "0", "a b", "\x01"};
	static const char *const sorted[] = {"\x01", "0", "B", "a", "a b", "aa", "b", "\xff"};
	struct fixture *f = *state;
	struct store_writer *w;
	struct store_iter *it;
	struct file_rec r;
	struct bytes name;
	struct store *s;
	size_t i;

	assert_int_equal(store_writer_new(f->db, &w), 0);
	for (i = 0; i < 300; i++)
		store_writer_new_node(w);
	r = dir_rec(STORE_ROOT_ID);
	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	/* Neighbours in id and in byte order: 2, 3, 256 (00..01 00 vs 00..00 02). */
	for (i = 0; i < 8; i++) {
		r = reg_rec(i);
		put(w, 2, scrambled[i], &r);
		put(w, 256, scrambled[i], &r);
	}
	r = reg_rec(99);
	put(w, 3, "only", &r);
	put(w, 1, "zzz", &r);
	assert_int_equal(store_writer_commit(w), 0);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_iter_children(s, 2, &it), 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(store_iter_next(it, &name, &r), 1);
		assert_int_equal(name.n, strlen(sorted[i]));
		assert_memory_equal(name.p, sorted[i], name.n);
	}
	assert_int_equal(store_iter_next(it, &name, &r), 0);
	assert_int_equal(store_iter_next(it, &name, &r), 0);
	store_iter_free(it);

	assert_int_equal(store_iter_children(s, 3, &it), 0);
	assert_int_equal(store_iter_next(it, &name, &r), 1);
	assert_int_equal(name.n, 4);
	assert_true(r.size == 99);
	assert_int_equal(store_iter_next(it, &name, &r), 0);
	store_iter_free(it);

	/* Parent 0 holds the root alone. */
	assert_int_equal(store_iter_children(s, 0, &it), 0);
	assert_int_equal(store_iter_next(it, &name, &r), 1);
	assert_int_equal(name.n, 0);
	assert_true(r.dirid == STORE_ROOT_ID);
	assert_int_equal(store_iter_next(it, &name, &r), 0);
	store_iter_free(it);

	/* Past the last key, and an empty directory between full ones. */
	assert_int_equal(store_iter_children(s, 1000, &it), 0);
	assert_int_equal(store_iter_next(it, &name, &r), 0);
	store_iter_free(it);
	assert_int_equal(store_iter_children(s, 4, &it), 0);
	assert_int_equal(store_iter_next(it, &name, &r), 0);
	store_iter_free(it);
	store_iter_free(NULL);
	store_close(s);
}

static void test_node_path(void **state)
{
	struct fixture *f = *state;
	struct store *s;
	size_t len;
	char *p;

	write_sample(f->db, "alpha");
	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_node_path(s, STORE_ROOT_ID, &p, &len), 0);
	assert_string_equal(p, "/");
	assert_int_equal(len, 1);
	free(p);
	assert_int_equal(store_node_path(s, 3, &p, &len), 0);
	assert_string_equal(p, "/etc/ssh");
	assert_int_equal(len, 8);
	free(p);
	assert_int_equal(store_node_path(s, 4, &p, NULL), 0);
	assert_string_equal(p, "/bin");
	free(p);
	assert_int_equal(store_node_path(s, 5, &p, &len), -ENOENT);
	assert_int_equal(store_node_path(s, 0, &p, &len), -ENOENT);
	store_close(s);
}

/* A damaged "nodes" table ends in -EBADMSG, never in an endless walk. */
static void test_node_path_damaged(void **state)
{
	struct fixture *f = *state;
	uint8_t k[8 + 16], v[8 + 16];
	size_t kn, vn;
	struct store *s;
	char *p;

	write_sample(f->db, "alpha");
	/* 10 -> 11 -> 10 ... */
	file_key(k, 10, "", &kn);
	node_val(v, 11, "a", &vn);
	raw_put(f->db, "nodes", k, kn, v, vn);
	file_key(k, 11, "", &kn);
	node_val(v, 10, "b", &vn);
	raw_put(f->db, "nodes", k, kn, v, vn);
	/* 12 -> 99, which does not exist. */
	file_key(k, 12, "", &kn);
	node_val(v, 99, "c", &vn);
	raw_put(f->db, "nodes", k, kn, v, vn);
	/* 13 -> a value too short to hold a parent. */
	file_key(k, 13, "", &kn);
	raw_put(f->db, "nodes", k, kn, "abc", 3);
	/* 14 -> a name with a slash. */
	file_key(k, 14, "", &kn);
	node_val(v, STORE_ROOT_ID, "x/y", &vn);
	raw_put(f->db, "nodes", k, kn, v, vn);
	/* 15 -> a parent that reaches 0 without passing the root. */
	file_key(k, 15, "", &kn);
	node_val(v, 0, "z", &vn);
	raw_put(f->db, "nodes", k, kn, v, vn);

	assert_int_equal(store_open(f->db, &s), 0);
	for (uint64_t id = 10; id <= 15; id++)
		assert_int_equal(store_node_path(s, id, &p, NULL), -EBADMSG);
	store_close(s);
}

static void test_meta(void **state)
{
	static const uint8_t digest[32] = {0, 1, 0, 2, 0xff};
	struct fixture *f = *state;
	struct store_writer *w;
	struct store *s;
	struct bytes v;

	assert_int_equal(store_writer_new(f->db, &w), 0);
	assert_int_equal(store_writer_meta(w, META_HOST, "web1", 4), 0);
	assert_int_equal(store_writer_meta(w, META_POLICY_DIGEST, digest, sizeof(digest)), 0);
	assert_int_equal(store_writer_meta(w, META_STATS, "x", 1), 0);
	assert_int_equal(store_writer_meta(w, META_STATS, "files=1 dirs=2 errors=0", 23), 0);
	assert_int_equal(store_writer_meta(w, META_POLICY, "", 0), 0);
	assert_int_equal(store_writer_meta(w, "", "x", 1), -EINVAL);
	assert_int_equal(store_writer_commit(w), 0);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_meta(s, META_HOST, &v), 0);
	assert_int_equal(v.n, 4);
	assert_memory_equal(v.p, "web1", 4);
	assert_int_equal(store_meta(s, META_POLICY_DIGEST, &v), 0);
	assert_int_equal(v.n, 32);
	assert_memory_equal(v.p, digest, 32);
	assert_int_equal(store_meta(s, META_STATS, &v), 0);
	assert_int_equal(v.n, 23);
	assert_memory_equal(v.p, "files=1 dirs=2 errors=0", 23);
	assert_int_equal(store_meta(s, META_POLICY, &v), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(store_meta(s, META_SCHEMA, &v), 0);
	assert_int_equal(v.n, 4);
	assert_memory_equal(v.p, "\0\0\0\1", 4);
	assert_int_equal(store_meta(s, META_ROOT, &v), -ENOENT);
	store_close(s);
}

static void test_swap(void **state)
{
	struct fixture *f = *state;
	char first[64], second[64], path[256];
	struct store *old, *s;
	struct bytes v;

	write_sample(f->db, "alpha");
	current_name(f->db, first, sizeof(first));
	assert_int_equal(strncmp(first, "baseline.", 9), 0);
	assert_int_equal(store_open(f->db, &old), 0);

	write_sample(f->db, "beta");
	current_name(f->db, second, sizeof(second));
	assert_string_not_equal(first, second);
	snprintf(path, sizeof(path), "%s/%s", f->db, first);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_baselines(f->db), 1);

	/* A reader of the old baseline keeps its snapshot. */
	assert_int_equal(store_meta(old, META_HOST, &v), 0);
	assert_memory_equal(v.p, "alpha", 5);
	store_close(old);
	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_meta(s, META_HOST, &v), 0);
	assert_int_equal(v.n, 4);
	assert_memory_equal(v.p, "beta", 4);
	store_close(s);
}

static void test_abort(void **state)
{
	struct fixture *f = *state;
	char before[64], after[64];
	struct store_writer *w;
	struct file_rec r = dir_rec(STORE_ROOT_ID);
	struct store *s;
	struct bytes v;

	write_sample(f->db, "alpha");
	current_name(f->db, before, sizeof(before));
	assert_int_equal(store_writer_new(f->db, &w), 0);
	assert_int_equal(store_writer_new_node(w), STORE_ROOT_ID);
	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	assert_int_equal(store_writer_meta(w, META_HOST, "beta", 4), 0);
	assert_int_equal(count_baselines(f->db), 2);
	store_writer_abort(w);
	store_writer_abort(NULL);

	current_name(f->db, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(count_baselines(f->db), 1);
	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_meta(s, META_HOST, &v), 0);
	assert_memory_equal(v.p, "alpha", 5);
	store_close(s);
}

/* Refused puts change nothing and do not spoil the rest of the baseline. */
static void test_writer_refusals(void **state)
{
	struct fixture *f = *state;
	struct store_writer *w;
	struct file_rec r = reg_rec(1), got;
	char name[FIM_MAX_NAME + 1];
	struct store *s;

	assert_int_equal(store_writer_new(f->db, &w), 0);
	assert_int_equal(store_writer_new_node(w), 1);
	got = dir_rec(1);
	assert_int_equal(store_writer_put(w, 0, "", 0, &got), 0);
	memset(name, 'n', sizeof(name));
	assert_int_equal(store_writer_put(w, 1, name, sizeof(name), &r), -E2BIG);
	assert_int_equal(store_writer_put(w, 1, name, sizeof(name) - 1, &r), 0);
	assert_int_equal(store_writer_put(w, 1, "a/b", 3, &r), -EINVAL);
	assert_int_equal(store_writer_put(w, 1, "a\0b", 3, &r), -EINVAL);
	assert_int_equal(store_writer_put(w, 1, "", 0, &r), -EINVAL);
	assert_int_equal(store_writer_put(w, 0, "x", 1, &r), -EINVAL);
	got = dir_rec(2); /* not allocated yet */
	assert_int_equal(store_writer_put(w, 1, "d", 1, &got), -EINVAL);
	assert_int_equal(store_writer_new_node(w), 2);
	assert_int_equal(store_writer_put(w, 1, "d", 1, &got), 0);
	assert_int_equal(store_writer_commit(w), 0);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_get(s, 1, name, sizeof(name) - 1, &got), 0);
	assert_int_equal(store_lookup(s, "/d", 2, &got, NULL), 0);
	assert_true(got.dirid == 2);
	assert_int_equal(store_get(s, 1, "a", 1, &got), -ENOENT);
	store_close(s);
}

static void test_schema_mismatch(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;

	write_sample(f->db, "alpha");
	raw_put(f->db, "meta", META_SCHEMA, strlen(META_SCHEMA), "\0\0\0\7", 4);
	assert_int_equal(store_open(f->db, &s), -EPROTONOSUPPORT);
	assert_null(s);
	assert_int_equal(store_found_schema(f->db), 7);

	raw_put(f->db, "meta", META_SCHEMA, strlen(META_SCHEMA), "\1\0\0\0", 4);
	assert_int_equal(store_open(f->db, &s), -EPROTONOSUPPORT);
	assert_int_equal(store_found_schema(f->db), 1u << 24);

	/* A schema of the wrong width, or none: not a fim store. */
	raw_put(f->db, "meta", META_SCHEMA, strlen(META_SCHEMA), "\0\1", 2);
	assert_int_equal(store_open(f->db, &s), -EBADMSG);
	assert_int_equal(store_found_schema(f->db), 0);
	raw_put(f->db, "meta", META_SCHEMA, strlen(META_SCHEMA), NULL, 0);
	assert_int_equal(store_open(f->db, &s), -EBADMSG);
	assert_int_equal(store_found_schema(f->db), 0);
}

static void test_not_a_store(void **state)
{
	struct fixture *f = *state;
	char path[256], data[8192];
	struct store *s;
	int fd;

	/* An LMDB environment without our tables. */
	assert_int_equal(mkdir(f->db, 0700), 0);
	snprintf(path, sizeof(path), "%s/other", f->db);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/current", f->db);
	assert_int_equal(symlink("other", path), 0);
	raw_put(f->db, "files", "k", 1, "v", 1);
	assert_int_equal(store_open(f->db, &s), -EBADMSG);

	/* Not an LMDB file at all. */
	snprintf(path, sizeof(path), "%s/other/data.mdb", f->db);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	memset(data, 'x', sizeof(data));
	assert_int_equal(write(fd, data, sizeof(data)), sizeof(data));
	close(fd);
	assert_int_equal(store_open(f->db, &s), -EBADMSG);
	assert_int_equal(store_found_schema(f->db), 0);

	/* "current" that is not a link, and one that dangles. */
	snprintf(path, sizeof(path), "%s/current", f->db);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(store_open(f->db, &s), -EBADMSG);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(symlink("baseline.gone", path), 0);
	assert_int_equal(store_open(f->db, &s), -ENOENT);
}

static void test_corrupt_value(void **state)
{
	struct fixture *f = *state;
	uint8_t key[32];
	struct store_iter *it;
	struct file_rec r;
	struct bytes name;
	struct store *s;
	size_t klen;

	write_sample(f->db, "alpha");
	file_key(key, 2, "bad", &klen);
	raw_put(f->db, "files", key, klen, "\x01garbage", 8);
	file_key(key, 2, "empty", &klen);
	raw_put(f->db, "files", key, klen, "", 0);
	file_key(key, 2, "future", &klen);
	raw_put(f->db, "files", key, klen, "\x09", 1);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_get(s, 2, "bad", 3, &r), -EBADMSG);
	assert_int_equal(store_get(s, 2, "empty", 5, &r), -EBADMSG);
	assert_int_equal(store_get(s, 2, "future", 6, &r), -EBADMSG);
	assert_int_equal(store_lookup(s, "/etc/bad", 8, &r, NULL), -EBADMSG);
	assert_int_equal(store_lookup(s, "/etc/bad/x", 10, &r, NULL), -EBADMSG);
	/* The good entries around the bad ones still come out, in order. */
	assert_int_equal(store_get(s, 2, "passwd", 6, &r), 0);
	assert_int_equal(store_iter_children(s, 2, &it), 0);
	assert_int_equal(store_iter_next(it, &name, &r), -EBADMSG); /* bad */
	assert_int_equal(store_iter_next(it, &name, &r), -EBADMSG); /* empty */
	assert_int_equal(store_iter_next(it, &name, &r), -EBADMSG); /* future */
	assert_int_equal(store_iter_next(it, &name, &r), 1);
	assert_memory_equal(name.p, "passwd", 6);
	assert_int_equal(store_iter_next(it, &name, &r), 1);
	assert_memory_equal(name.p, "ssh", 3);
	assert_int_equal(store_iter_next(it, &name, &r), 0);
	store_iter_free(it);
	store_close(s);
}

static void test_empty_baseline(void **state)
{
	struct fixture *f = *state;
	struct store_writer *w;
	struct file_rec r;
	struct store *s;

	assert_int_equal(store_writer_new(f->db, &w), 0);
	assert_int_equal(store_writer_commit(w), 0);
	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_lookup(s, "/", 1, &r, NULL), -ENOENT);
	store_close(s);
}

/* Enough data to outgrow the initial 64 MiB map several batches over. */
static void write_big(struct store_writer *w, int dirs, int files, const uint8_t *blob,
                      size_t bloblen)
{
	struct file_rec r = dir_rec(store_writer_new_node(w));

	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	for (int d = 0; d < dirs; d++) {
		uint64_t id = store_writer_new_node(w);
		char name[32];

		snprintf(name, sizeof(name), "dir%04d", d);
		r = dir_rec(id);
		put(w, STORE_ROOT_ID, name, &r);
		for (int i = 0; i < files; i++) {
			r = reg_rec((uint64_t)d * files + i);
			r.attrs |= ATTR_BIT(ATTR_XATTRS);
			r.xattrs = (struct bytes){blob, bloblen};
			snprintf(name, sizeof(name), "file%06d", i);
			put(w, id, name, &r);
		}
	}
}

static void test_big_baseline(void **state)
{
	enum { DIRS = 200, FILES = 1000 };
	struct fixture *f = *state;
	static uint8_t blob[300];
	struct store_writer *w;
	struct store_iter *it;
	struct file_rec r;
	struct bytes name;
	struct store *s;
	struct stat st;
	char path[256];
	int n = 0;

	memset(blob, 0x5a, sizeof(blob));
	assert_int_equal(store_writer_new(f->db, &w), 0);
	write_big(w, DIRS, FILES, blob, sizeof(blob));
	assert_int_equal(store_writer_commit(w), 0);

	/* The data outgrew the map it started with. */
	snprintf(path, sizeof(path), "%s/current/data.mdb", f->db);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 64 << 20);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_lookup(s, "/dir0199/file000999", 19, &r, NULL), 0);
	assert_true(r.size == 199999);
	assert_int_equal(r.xattrs.n, sizeof(blob));
	assert_int_equal(store_lookup(s, "/dir0000/file000000", 19, &r, NULL), 0);
	assert_true(r.size == 0);
	assert_int_equal(store_lookup(s, "/dir0100/file000500", 19, &r, NULL), 0);
	assert_true(r.size == 100500);
	assert_int_equal(store_iter_children(s, 2 + 57, &it), 0);
	while (store_iter_next(it, &name, &r) == 1)
		n++;
	assert_int_equal(n, FILES);
	store_iter_free(it);
	store_close(s);
}

/* The baseline of DB is still "alpha" in the environment named BEFORE. */
static void assert_still_alpha(const char *db, const char *before)
{
	char after[64];
	struct store *s;
	struct bytes v;

	current_name(db, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(count_baselines(db), 1);
	assert_int_equal(store_open(db, &s), 0);
	assert_int_equal(store_meta(s, META_HOST, &v), 0);
	assert_memory_equal(v.p, "alpha", 5);
	store_close(s);
}

/*
 * Puts NFILES files under a file size limit of 1 MiB, standing in for a
 * full disk; returns the first failed put (0 if none) and, in *commit,
 * what commit then returned.
 */
static int write_limited(const char *db, int nfiles, int *commit)
{
	static uint8_t blob[200];
	struct file_rec r = dir_rec(STORE_ROOT_ID);
	struct store_writer *w;
	struct rlimit old, lim;
	int ret = 0;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 1 << 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(store_writer_new(db, &w), 0);
	assert_int_equal(store_writer_new_node(w), STORE_ROOT_ID);
	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	for (int i = 0; i < nfiles && ret == 0; i++) {
		char name[16];

		r = reg_rec((uint64_t)i);
		r.attrs |= ATTR_BIT(ATTR_XATTRS);
		r.xattrs = (struct bytes){blob, sizeof(blob)};
		snprintf(name, sizeof(name), "f%d", i);
		ret = store_writer_put(w, STORE_ROOT_ID, name, strlen(name), &r);
	}
	/* Once failed, the writer keeps failing. */
	if (ret < 0) {
		assert_int_equal(store_writer_put(w, STORE_ROOT_ID, "late", 4, &r), ret);
		assert_int_equal(store_writer_meta(w, META_HOST, "beta", 4), ret);
	}
	*commit = store_writer_commit(w);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	return ret;
}

/* The first batch of 20000 cannot be written: a put fails. */
static void test_write_failure_in_batch(void **state)
{
	struct fixture *f = *state;
	char before[64];
	int put, commit;

	write_sample(f->db, "alpha");
	current_name(f->db, before, sizeof(before));
	put = write_limited(f->db, 50000, &commit);
	assert_true(put == -EFBIG || put == -EIO);
	assert_int_equal(commit, put);
	assert_still_alpha(f->db, before);
}

/* Every put fits in the open batch; the final commit cannot be written. */
static void test_write_failure_at_commit(void **state)
{
	struct fixture *f = *state;
	char before[64];
	int put, commit;

	write_sample(f->db, "alpha");
	current_name(f->db, before, sizeof(before));
	put = write_limited(f->db, 8000, &commit);
	assert_int_equal(put, 0);
	assert_true(commit == -EFBIG || commit == -EIO);
	assert_still_alpha(f->db, before);
}

/* Values up to STORE_MAX_VALUE fit in the map; larger ones are refused
 * without spoiling the baseline. */
static void test_value_limits(void **state)
{
	struct fixture *f = *state;
	size_t n = STORE_MAX_VALUE;
	uint8_t *huge = malloc(n + 1);
	struct file_rec r = dir_rec(STORE_ROOT_ID);
	struct store_writer *w;
	struct store *s;
	struct bytes v;

	assert_non_null(huge);
	memset(huge, 0x33, n + 1);
	assert_int_equal(store_writer_new(f->db, &w), 0);
	assert_int_equal(store_writer_new_node(w), STORE_ROOT_ID);
	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	assert_int_equal(store_writer_meta(w, META_POLICY, huge, n + 1), -E2BIG);
	r = reg_rec(1);
	r.attrs |= ATTR_BIT(ATTR_XATTRS);
	r.xattrs = (struct bytes){huge, n};
	assert_int_equal(store_writer_put(w, STORE_ROOT_ID, "big", 3, &r), -E2BIG);
	/* Two of the largest values in a row, after a partly used batch. */
	assert_int_equal(store_writer_meta(w, META_POLICY, huge, n), 0);
	r.xattrs.n = n - 100;
	assert_int_equal(store_writer_put(w, STORE_ROOT_ID, "big", 3, &r), 0);
	assert_int_equal(store_writer_meta(w, META_HOST, "beta", 4), 0);
	assert_int_equal(store_writer_commit(w), 0);
	free(huge);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_meta(s, META_POLICY, &v), 0);
	assert_int_equal(v.n, n);
	assert_int_equal(v.p[n - 1], 0x33);
	assert_int_equal(store_lookup(s, "/big", 4, &r, NULL), 0);
	assert_int_equal(r.xattrs.n, n - 100);
	store_close(s);
}

/* ---- objects of other kinds ---- */

/* Puts every record of S (sorted first) into W. */
static void put_set(struct store_writer *w, struct obj_set *s)
{
	obj_set_sort(s);
	for (size_t i = 0; i < obj_set_count(s); i++)
		assert_int_equal(store_writer_put_obj(w, obj_set_at(s, i)), 0);
}

static void assert_text(struct bytes v, const char *want)
{
	assert_int_equal(v.n, strlen(want));
	if (v.n)
		assert_memory_equal(v.p, want, v.n);
}

#define OBJ_GET(s, k, id, rec) store_obj_get(s, k, id, strlen(id), rec)

/*
 * Files /, /etc, /etc/passwd; users "root", "alice", "bob", "Zed", "a b",
 * "\xffhigh"; services "ssh.service", "cron.service"; sudoers recorded
 * with no object; groups and cron not recorded.
 */
static void write_objects(const char *db)
{
	static const char *const more[] = {"bob", "Zed", "a b", "\xffhigh"};
	struct obj_set *users, *services;
	struct store_writer *w;
	struct file_rec r;
	uint64_t etc;

	assert_int_equal(obj_set_new(KIND_USER, &users), 0);
	assert_int_equal(obj_begin(users, "root", 4), 0);
	assert_int_equal(obj_set_str(users, UA_UID, "0"), 0);
	assert_int_equal(obj_set_str(users, UA_HOME, "/root"), 0);
	assert_int_equal(obj_set_str(users, UA_SHELL, "/bin/bash"), 0);
	assert_int_equal(obj_set_str(users, UA_PASSWORD, "set 0123abcd"), 0);
	assert_int_equal(obj_list_add(users, UA_GROUPS, "wheel", 5), 0);
	assert_int_equal(obj_list_add(users, UA_GROUPS, "root", 4), 0);
	assert_int_equal(obj_end(users), 0);
	assert_int_equal(obj_begin(users, "alice", 5), 0);
	assert_int_equal(obj_set_str(users, UA_UID, "1000"), 0);
	assert_int_equal(obj_set_str(users, UA_GECOS, ""), 0);
	assert_int_equal(obj_list_touch(users, UA_AUTHORIZED_KEYS), 0);
	assert_int_equal(obj_end(users), 0);
	for (size_t i = 0; i < ARRAY_SIZE(more); i++) {
		assert_int_equal(obj_begin(users, more[i], strlen(more[i])), 0);
		assert_int_equal(obj_set_str(users, UA_SHELL, more[i]), 0);
		assert_int_equal(obj_end(users), 0);
	}
	assert_int_equal(obj_set_new(KIND_SERVICE, &services), 0);
	assert_int_equal(obj_begin(services, "ssh.service", 11), 0);
	assert_int_equal(obj_set_str(services, SA_ENABLED, "enabled"), 0);
	assert_int_equal(obj_list_add(services, SA_EXEC_START, "/usr/sbin/sshd -D", 17), 0);
	assert_int_equal(obj_list_add(services, SA_EXEC_START, "/bin/true", 9), 0);
	assert_int_equal(obj_end(services), 0);
	assert_int_equal(obj_begin(services, "cron.service", 12), 0);
	assert_int_equal(obj_end(services), 0);

	assert_int_equal(store_writer_new(db, &w), 0);
	assert_int_equal(store_writer_new_node(w), STORE_ROOT_ID);
	r = dir_rec(STORE_ROOT_ID);
	assert_int_equal(store_writer_put(w, 0, "", 0, &r), 0);
	put_set(w, users);
	etc = store_writer_new_node(w);
	r = dir_rec(etc);
	put(w, STORE_ROOT_ID, "etc", &r);
	r = reg_rec(1000);
	put(w, etc, "passwd", &r);
	put_set(w, services);
	assert_int_equal(store_writer_kind(w, KIND_SUDOERS), 0);
	assert_int_equal(store_writer_kind(w, KIND_SUDOERS), 0);
	assert_int_equal(store_writer_kind(w, KIND_USER), 0);
	assert_int_equal(store_writer_kind(w, KIND_FILE), -EINVAL);
	assert_int_equal(store_writer_kind(w, KIND__MAX), -EINVAL);
	assert_int_equal(store_writer_commit(w), 0);
	obj_set_free(users);
	obj_set_free(services);
}

static void test_objects_reopen(void **state)
{
	struct fixture *f = *state;
	struct obj_rec rec;
	struct file_rec r;
	struct store *s;

	write_objects(f->db);
	assert_int_equal(store_open(f->db, &s), 0);
	assert_true(store_has_kind(s, KIND_FILE));
	assert_true(store_has_kind(s, KIND_USER));
	assert_true(store_has_kind(s, KIND_SERVICE));
	assert_true(store_has_kind(s, KIND_SUDOERS));
	assert_false(store_has_kind(s, KIND_GROUP));
	assert_false(store_has_kind(s, KIND_CRON));
	assert_false(store_has_kind(s, KIND__MAX));
	assert_false(store_has_kind(s, (enum fim_kind)31));
	assert_false(store_has_kind(s, (enum fim_kind)(KIND__MAX + 100)));

	memset(&rec, 0xa5, sizeof(rec));
	assert_int_equal(OBJ_GET(s, KIND_USER, "root", &rec), 0);
	assert_int_equal(rec.kind, KIND_USER);
	assert_text(rec.id, "root");
	assert_int_equal(rec.attrs, ATTR_BIT(UA_UID) | ATTR_BIT(UA_HOME) | ATTR_BIT(UA_SHELL) |
	                                    ATTR_BIT(UA_PASSWORD) | ATTR_BIT(UA_GROUPS));
	assert_text(rec.val[UA_UID], "0");
	assert_text(rec.val[UA_HOME], "/root");
	assert_text(rec.val[UA_SHELL], "/bin/bash");
	assert_text(rec.val[UA_PASSWORD], "set 0123abcd");
	assert_text(rec.val[UA_GROUPS], "root\nwheel");

	assert_int_equal(OBJ_GET(s, KIND_USER, "alice", &rec), 0);
	assert_text(rec.id, "alice");
	assert_int_equal(rec.attrs,
	                 ATTR_BIT(UA_UID) | ATTR_BIT(UA_GECOS) | ATTR_BIT(UA_AUTHORIZED_KEYS));
	assert_text(rec.val[UA_UID], "1000");
	assert_text(rec.val[UA_GECOS], "");
	assert_text(rec.val[UA_AUTHORIZED_KEYS], "");

	assert_int_equal(OBJ_GET(s, KIND_USER, "\xffhigh", &rec), 0);
	assert_int_equal(rec.attrs, ATTR_BIT(UA_SHELL));
	assert_text(rec.val[UA_SHELL], "\xffhigh");
	/* LEN, not the NUL, ends the id. */
	assert_int_equal(store_obj_get(s, KIND_USER, "bobby", 3, &rec), 0);
	assert_text(rec.id, "bob");

	assert_int_equal(OBJ_GET(s, KIND_SERVICE, "ssh.service", &rec), 0);
	assert_int_equal(rec.kind, KIND_SERVICE);
	assert_text(rec.id, "ssh.service");
	assert_int_equal(rec.attrs, ATTR_BIT(SA_ENABLED) | ATTR_BIT(SA_EXEC_START));
	assert_text(rec.val[SA_ENABLED], "enabled");
	assert_text(rec.val[SA_EXEC_START], "/usr/sbin/sshd -D\n/bin/true");
	assert_int_equal(OBJ_GET(s, KIND_SERVICE, "cron.service", &rec), 0);
	assert_int_equal(rec.attrs, 0);

	/* Missing ids, ids of another kind, kinds not recorded or not objects. */
	assert_int_equal(OBJ_GET(s, KIND_USER, "nobody", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_USER, "roo", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_USER, "rootx", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_USER, "Root", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_USER, "ssh.service", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_SERVICE, "root", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_SUDOERS, "root", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_GROUP, "root", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_CRON, "root", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_FILE, "root", &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND__MAX, "root", &rec), -ENOENT);
	assert_int_equal(store_obj_get(s, KIND_USER, "", 0, &rec), -ENOENT);
	{
		char longid[OBJ_MAX_ID + 1];

		memset(longid, 'r', sizeof(longid));
		assert_int_equal(store_obj_get(s, KIND_USER, longid, sizeof(longid), &rec),
		                 -ENOENT);
	}

	/* The files are there beside them. */
	assert_int_equal(store_lookup(s, "/etc/passwd", 11, &r, NULL), 0);
	assert_true(r.size == 1000);
	store_close(s);
}

static void test_objects_iterate(void **state)
{
	static const char *const users[] = {"Zed", "a b", "alice", "bob", "root", "\xffhigh"};
	static const char *const services[] = {"cron.service", "ssh.service"};
	struct fixture *f = *state;
	struct store_iter *it;
	struct obj_rec rec;
	struct store *s;

	write_objects(f->db);
	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_obj_iter(s, KIND_USER, &it), 0);
	for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
		assert_int_equal(store_obj_next(it, &rec), 1);
		assert_int_equal(rec.kind, KIND_USER);
		assert_text(rec.id, users[i]);
	}
	assert_int_equal(store_obj_next(it, &rec), 0);
	assert_int_equal(store_obj_next(it, &rec), 0);
	store_iter_free(it);

	assert_int_equal(store_obj_iter(s, KIND_SERVICE, &it), 0);
	for (size_t i = 0; i < ARRAY_SIZE(services); i++) {
		assert_int_equal(store_obj_next(it, &rec), 1);
		assert_int_equal(rec.kind, KIND_SERVICE);
		assert_text(rec.id, services[i]);
		if (i == 1)
			assert_text(rec.val[SA_EXEC_START], "/usr/sbin/sshd -D\n/bin/true");
	}
	assert_int_equal(store_obj_next(it, &rec), 0);
	store_iter_free(it);

	/* Recorded with no object, and not recorded: both empty at once. */
	assert_int_equal(store_obj_iter(s, KIND_SUDOERS, &it), 0);
	assert_int_equal(store_obj_next(it, &rec), 0);
	assert_int_equal(store_obj_next(it, &rec), 0);
	store_iter_free(it);
	assert_int_equal(store_obj_iter(s, KIND_GROUP, &it), 0);
	assert_int_equal(store_obj_next(it, &rec), 0);
	store_iter_free(it);
	assert_int_equal(store_obj_iter(s, KIND_CRON, &it), 0);
	store_iter_free(it);

	it = NULL;
	assert_int_equal(store_obj_iter(s, KIND_FILE, &it), -EINVAL);
	assert_int_equal(store_obj_iter(s, KIND__MAX, &it), -EINVAL);
	assert_null(it);
	/* A directory iterator yields no objects. */
	assert_int_equal(store_iter_children(s, STORE_ROOT_ID, &it), 0);
	assert_int_equal(store_obj_next(it, &rec), 0);
	store_iter_free(it);
	store_close(s);
}

/* A kind recorded in one baseline is gone from the next that did not record it. */
static void test_objects_kinds_per_baseline(void **state)
{
	struct fixture *f = *state;
	struct obj_rec rec;
	struct store *s;

	write_objects(f->db);
	write_sample(f->db, "beta");
	assert_int_equal(store_open(f->db, &s), 0);
	assert_true(store_has_kind(s, KIND_FILE));
	for (unsigned k = KIND_USER; k < KIND__MAX; k++)
		assert_false(store_has_kind(s, k));
	assert_int_equal(OBJ_GET(s, KIND_USER, "root", &rec), -ENOENT);
	store_close(s);
}

static void test_objects_put_refusals(void **state)
{
	struct fixture *f = *state;
	char id[OBJ_MAX_ID + 1];
	struct store_writer *w;
	struct obj_rec rec = {.kind = KIND_USER}, got;
	struct store *s;

	memset(id, 'u', sizeof(id));
	assert_int_equal(store_writer_new(f->db, &w), 0);
	assert_int_equal(store_writer_kind(w, KIND_USER), 0);
	rec.id = (struct bytes){(const uint8_t *)id, 0};
	assert_int_equal(store_writer_put_obj(w, &rec), -EINVAL);
	rec.id.n = OBJ_MAX_ID + 1;
	assert_int_equal(store_writer_put_obj(w, &rec), -EINVAL);
	rec.id = BYTES_STR("a\0b");
	rec.id.n = 3;
	assert_int_equal(store_writer_put_obj(w, &rec), -EINVAL);
	rec.id = BYTES_STR("root");
	rec.kind = KIND_FILE;
	assert_int_equal(store_writer_put_obj(w, &rec), -EINVAL);
	rec.kind = KIND__MAX;
	assert_int_equal(store_writer_put_obj(w, &rec), -EINVAL);
	/* The writer is still usable: the longest id, and a plain one. */
	rec.kind = KIND_USER;
	rec.id = (struct bytes){(const uint8_t *)id, OBJ_MAX_ID};
	rec.attrs = ATTR_BIT(UA_UID);
	rec.val[UA_UID] = BYTES_STR("42");
	assert_int_equal(store_writer_put_obj(w, &rec), 0);
	rec.id = BYTES_STR("root");
	rec.val[UA_UID] = BYTES_STR("0");
	assert_int_equal(store_writer_put_obj(w, &rec), 0);
	assert_int_equal(store_writer_commit(w), 0);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_obj_get(s, KIND_USER, id, OBJ_MAX_ID, &got), 0);
	assert_int_equal(got.id.n, OBJ_MAX_ID);
	assert_text(got.val[UA_UID], "42");
	assert_int_equal(OBJ_GET(s, KIND_USER, "root", &got), 0);
	assert_text(got.val[UA_UID], "0");
	assert_int_equal(store_obj_get(s, KIND_USER, "a\0b", 3, &got), -ENOENT);
	assert_int_equal(store_obj_get(s, KIND_USER, "a", 1, &got), -ENOENT);
	store_close(s);
}

/* Damaged object values and keys end in -EBADMSG, and the good ones still come out. */
static void test_objects_corrupt(void **state)
{
	static const uint8_t group_enc[] = {OBJ_ENCODING_VERSION, KIND_GROUP, 0, 0, 0, 0, 0};
	static const uint8_t nul_enc[] = {
	        OBJ_ENCODING_VERSION, KIND_USER, 1, 0, 0, 0, 3, 'a', 0, 'b', 0, 0, 0, 0, 0};
	static const uint8_t dup_enc[] = {
	        OBJ_ENCODING_VERSION, KIND_USER, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t long_enc[] = {
	        OBJ_ENCODING_VERSION, KIND_USER, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0};
	static const uint8_t trail_enc[] = {OBJ_ENCODING_VERSION, KIND_USER, 0, 0, 0, 0, 0, 0};
	static const struct {
		const char *id;
		const void *v;
		size_t n;
	} bad[] = {
	        {"b", "\x01garbage", 8},
	        {"ba", "", 0},
	        {"bb", "\x09", 1},
	        {"bc", group_enc, sizeof(group_enc)},
	        {"bd", nul_enc, sizeof(nul_enc)},
	        {"be", dup_enc, sizeof(dup_enc)},
	        {"bf", long_enc, sizeof(long_enc)},
	        {"bg", trail_enc, sizeof(trail_enc)},
	        {"bh", "\x01", 1},
	};
	struct fixture *f = *state;
	char longid[OBJ_MAX_ID + 50];
	struct store_iter *it;
	struct obj_rec rec;
	struct store *s;

	write_objects(f->db);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		raw_put(f->db, "users", bad[i].id, strlen(bad[i].id), bad[i].v, bad[i].n);
	/* A valid value under a key too long to be an id. */
	memset(longid, '~', sizeof(longid));
	raw_put(f->db, "users", longid, sizeof(longid), trail_enc, sizeof(trail_enc) - 1);
	/* A database of a kind written by hand: it counts as recorded. */
	raw_put(f->db, "groups", "wheel", 5, "\x01\x01\0\0\0\0\0", 7);

	assert_int_equal(store_open(f->db, &s), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(OBJ_GET(s, KIND_USER, bad[i].id, &rec), -EBADMSG);
	assert_int_equal(store_obj_get(s, KIND_USER, longid, sizeof(longid), &rec), -ENOENT);
	assert_int_equal(OBJ_GET(s, KIND_USER, "bob", &rec), 0);
	assert_text(rec.val[UA_SHELL], "bob");
	assert_true(store_has_kind(s, KIND_GROUP));
	assert_int_equal(OBJ_GET(s, KIND_GROUP, "wheel", &rec), -EBADMSG); /* a user's kind byte */

	/* "Zed" "a b" "alice" "b".."bh" "bob" "root" longid "\xffhigh" */
	assert_int_equal(store_obj_iter(s, KIND_USER, &it), 0);
	assert_int_equal(store_obj_next(it, &rec), 1);
	assert_text(rec.id, "Zed");
	assert_int_equal(store_obj_next(it, &rec), 1);
	assert_text(rec.id, "a b");
	assert_int_equal(store_obj_next(it, &rec), 1);
	assert_text(rec.id, "alice");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(store_obj_next(it, &rec), -EBADMSG);
	assert_int_equal(store_obj_next(it, &rec), 1);
	assert_text(rec.id, "bob");
	assert_int_equal(store_obj_next(it, &rec), 1);
	assert_text(rec.id, "root");
	assert_int_equal(store_obj_next(it, &rec), -EBADMSG); /* longid */
	assert_int_equal(store_obj_next(it, &rec), 1);
	assert_text(rec.id, "\xffhigh");
	assert_int_equal(store_obj_next(it, &rec), 0);
	store_iter_free(it);
	store_close(s);
}

/* Enough objects for several write batches. */
static void test_objects_many(void **state)
{
	enum { N = 50000 };
	struct fixture *f = *state;
	struct store_writer *w;
	struct store_iter *it;
	struct obj_rec rec;
	struct store *s;
	char id[32], v[32];
	int n = 0;

	assert_int_equal(store_writer_new(f->db, &w), 0);
	for (int i = 0; i < N; i++) {
		int k = (int)(((long)i * 7919) % N); /* every number once, scrambled */
		struct obj_rec r = {.kind = KIND_CRON,
		                    .attrs = ATTR_BIT(CA_USER) | ATTR_BIT(CA_JOBS)};

		snprintf(id, sizeof(id), "/etc/cron.d/job%06d", k);
		snprintf(v, sizeof(v), "u%d", k);
		r.id = (struct bytes){(const uint8_t *)id, strlen(id)};
		r.val[CA_USER] = (struct bytes){(const uint8_t *)v, strlen(v)};
		r.val[CA_JOBS] = BYTES_STR("@daily root true\n@hourly root false");
		assert_int_equal(store_writer_put_obj(w, &r), 0);
	}
	assert_int_equal(store_writer_commit(w), 0);

	assert_int_equal(store_open(f->db, &s), 0);
	assert_true(store_has_kind(s, KIND_CRON));
	assert_false(store_has_kind(s, KIND_USER));
	assert_int_equal(store_obj_iter(s, KIND_CRON, &it), 0);
	while (n < N + 1) {
		int r = store_obj_next(it, &rec);

		if (r == 0)
			break;
		assert_int_equal(r, 1);
		snprintf(id, sizeof(id), "/etc/cron.d/job%06d", n);
		snprintf(v, sizeof(v), "u%d", n);
		assert_text(rec.id, id);
		assert_text(rec.val[CA_USER], v);
		assert_text(rec.val[CA_JOBS], "@daily root true\n@hourly root false");
		n++;
		if (n % 10000 == 0)
			store_trim(s);
	}
	assert_int_equal(n, N);
	store_iter_free(it);
	for (int i = 0; i < N; i += 997) {
		snprintf(id, sizeof(id), "/etc/cron.d/job%06d", i);
		snprintf(v, sizeof(v), "u%d", i);
		assert_int_equal(OBJ_GET(s, KIND_CRON, id, &rec), 0);
		assert_text(rec.val[CA_USER], v);
	}
	assert_int_equal(OBJ_GET(s, KIND_CRON, "/etc/cron.d/job050000", &rec), -ENOENT);
	store_close(s);
}

/* rec->id, like the values, stays valid until store_close (store.h), even
 * when the caller's id buffer does not. */
static void test_objects_id_lifetime(void **state)
{
	struct fixture *f = *state;
	struct obj_rec rec;
	struct store *s;
	char *id = strdup("root");
	bool same;

	assert_non_null(id);
	write_objects(f->db);
	assert_int_equal(store_open(f->db, &s), 0);
	assert_int_equal(store_obj_get(s, KIND_USER, id, 4, &rec), 0);
	memcpy(id, "XXXX", 4); /* the caller reuses its buffer */
	same = rec.id.n == 4 && memcmp(rec.id.p, "root", 4) == 0;
	free(id);
	store_close(s);
	assert_true(same);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_open_no_baseline),
	        T(test_write_reopen_get),
	        T(test_lookup),
	        T(test_lookup_deep),
	        T(test_lookup_depth_bound),
	        T(test_iter_order),
	        T(test_node_path),
	        T(test_node_path_damaged),
	        T(test_meta),
	        T(test_swap),
	        T(test_abort),
	        T(test_writer_refusals),
	        T(test_schema_mismatch),
	        T(test_not_a_store),
	        T(test_corrupt_value),
	        T(test_empty_baseline),
	        T(test_big_baseline),
	        T(test_write_failure_in_batch),
	        T(test_write_failure_at_commit),
	        T(test_value_limits),
	        T(test_objects_reopen),
	        T(test_objects_iterate),
	        T(test_objects_kinds_per_baseline),
	        T(test_objects_put_refusals),
	        T(test_objects_corrupt),
	        T(test_objects_many),
	        T(test_objects_id_lifetime),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
