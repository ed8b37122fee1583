/* SPDX-License-Identifier: ISC */
/* The rotation decision for growing files (drift_file_at), on real files in a temp root. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "baseline/files.h"
#include "fim/core/attr.h"
#include "fim/core/hash.h"
#include "fim/engine/drift.h"
#include "policy/policy.h"
#include "tests/unit/fixture.h"

#define LOG     "/var/log/auth.log"
#define CONTENT "line one\nline two\n"

struct fx {
	char root[256];
	int rootfd;
	struct policy_rule rule;
	struct file_rec base;
	struct drift d;
	struct drift_where w;
};

/* The record fim would keep of REL under the growing rule: stat and digest. */
static struct file_rec rec_at(struct fx *f, const char *rel)
{
	char path[512], buf[4096];
	struct file_rec r = {0};
	struct stat st;
	ssize_t n;
	int fd;

	fx_path(path, sizeof(path), f->root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	n = read(fd, buf, sizeof(buf));
	assert_true(n >= 0);
	close(fd);
	files_from_stat(&st, FILES_STAT_ATTRS, &r);
	r.attrs |= ATTR_BIT(ATTR_HASH);
	r.hash_algo = HASH_SHA256;
	assert_int_equal(hash_buffer(HASH_SHA256, buf, (size_t)n, r.hash), 0);
	return r;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(fx_tmpdir(f->root, sizeof(f->root), "rotate"));
	f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	f->rule = (struct policy_rule){
	        .kind = KIND_FILE,
	        .pattern = "/var/log",
	        .flags = RULE_GROWING,
	        .attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_UID) |
	                 ATTR_BIT(ATTR_GID) | ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_INODE) |
	                 ATTR_BIT(ATTR_HASH) | ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME),
	        .severity = SEV_HIGH};
	assert_true(fx_put(f->root, LOG, CONTENT));
	f->base = rec_at(f, LOG);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->rootfd);
	fx_rmtree(f->root);
	free(f);
	return 0;
}

/* The decision about the live LOG against the baseline record. */
static enum drift_verdict decide(struct fx *f, struct file_rec *live, int rootfd)
{
	*live = rec_at(f, LOG);
	f->d = (struct drift){.kind = KIND_FILE, .id = BYTES_STR(LOG), .rule = &f->rule};
	f->w = (struct drift_where){.rootfd = rootfd};
	return drift_file_at(NULL, &f->w, &f->base, live, false, &f->d);
}

static void mv(struct fx *f, const char *from, const char *to)
{
	char a[512], b[512];

	assert_int_equal(
	        rename(fx_path(a, sizeof(a), f->root, from), fx_path(b, sizeof(b), f->root, to)),
	        0);
}

static void cut(struct fx *f, const char *rel, off_t size)
{
	char p[512];

	assert_int_equal(truncate(fx_path(p, sizeof(p), f->root, rel), size), 0);
}

static void test_names(void **state)
{
	static const struct {
		const char *log, *name;
		enum drift_rot_form form;
	} cases[] = {
	        {"syslog", "syslog.1", ROT_PLAIN},
	        {"syslog", "syslog.12.gz", ROT_GZIP},
	        {"syslog", "syslog-20261208", ROT_PLAIN},
	        {"syslog", "syslog-20261208.xz", ROT_XZ},
	        {"syslog", "syslog-20261208123456.zst", ROT_ZSTD},
	        {"auth.log", "auth.log.1", ROT_PLAIN},
	        {"syslog", "syslog.1.bz2", ROT_NOT},
	        {"syslog", "syslog.old", ROT_NOT},
	        {"syslog", "syslogx.1", ROT_NOT},
	        {"syslog", "syslog.", ROT_NOT},
	        {"syslog", "syslog.1x", ROT_NOT},
	        {"syslog", "syslog-1234", ROT_NOT},
	        {"syslog", "syslog-202612081234567", ROT_NOT},
	        {"syslog", "sys.1", ROT_NOT},
	        {"syslog", "syslog", ROT_NOT},
	        {"syslog", "syslog.1.gz.1", ROT_NOT},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum drift_rot_form got =
		        drift_rotation_name(cases[i].log, strlen(cases[i].log), cases[i].name);
		if (got != cases[i].form)
			fail_msg("%s of %s: %d, want %d", cases[i].name, cases[i].log, got,
			         cases[i].form);
	}
}

/* create: the recorded inode renamed to .1, a new empty file in its place. */
static void test_renamed_is_rotation(void **state)
{
	struct fx *f = *state;
	struct file_rec live;

	mv(f, LOG, LOG ".1");
	assert_true(fx_put(f->root, LOG, "new\n"));
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_NONE);
	assert_string_equal(f->w.rotated, "auth.log.1");
	/* without the directory the same change is drift */
	assert_int_equal(decide(f, &live, -1), DRIFT_REPORT);
	assert_true(f->d.changed & ATTR_BIT(ATTR_INODE));
}

/* copytruncate: a new copy with the recorded content, the same inode cut. */
static void test_copytruncate_is_rotation(void **state)
{
	struct fx *f = *state;
	struct file_rec live;

	assert_true(fx_put(f->root, LOG "-20261208", CONTENT "line three\n"));
	cut(f, LOG, 0);
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_NONE);
	assert_int_equal(live.inode, f->base.inode);
	assert_string_equal(f->w.rotated, "auth.log-20261208");
}

static void test_wipe_is_drift(void **state)
{
	struct fx *f = *state;
	struct file_rec live;

	cut(f, LOG, 9);
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_REPORT);
	assert_int_equal(f->d.action, DRIFT_CHANGED);
	assert_true(f->d.changed & ATTR_BIT(ATTR_SIZE));
	assert_false(f->d.changed & ATTR_BIT(ATTR_INODE));
	assert_string_equal(f->d.note, "shrank from 18 to 9 bytes: truncated, not rotated");
	assert_string_equal(f->w.rotated, "");
}

/* A rotation name whose content is not the recorded start proves nothing. */
static void test_copy_with_other_content_is_drift(void **state)
{
	struct fx *f = *state;
	struct file_rec live;

	assert_true(fx_put(f->root, LOG ".1", "line ONE\nline two\nmore\n"));
	cut(f, LOG, 0);
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_REPORT);
	assert_string_equal(f->d.note, "shrank from 18 to 0 bytes: truncated, not rotated");
	/* shorter than the record, even with the same start */
	assert_true(fx_put(f->root, LOG ".1", "line one\n"));
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_REPORT);
}

/* A rotated copy older than the record is not this rotation's. */
static void test_copy_older_than_record_is_drift(void **state)
{
	struct fx *f = *state;
	struct file_rec live;
	struct stat st;
	char p[512];

	assert_true(fx_put(f->root, LOG ".1", CONTENT));
	assert_int_equal(stat(fx_path(p, sizeof(p), f->root, LOG ".1"), &st), 0);
	f->base.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec + 1;
	cut(f, LOG, 0);
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_REPORT);
	f->base.ctime_ns -= 1;
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_NONE);
}

/* A rotation does not excuse what else changed: the mode is still drift. */
static void test_rotation_keeps_other_drift(void **state)
{
	struct fx *f = *state;
	struct file_rec live;

	mv(f, LOG, LOG ".1");
	assert_true(fx_put(f->root, LOG, ""));
	assert_true(fx_chmod(f->root, LOG, 0666));
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_REPORT);
	assert_int_equal(f->d.changed, ATTR_BIT(ATTR_MODE));
	assert_string_equal(f->d.note, "rotated: the recorded content is now auth.log.1");
}

/* A gzip stream of one stored block holding TEXT, its trailer counting ISIZE. */
static void put_gzip(struct fx *f, const char *rel, const char *text, uint32_t isize)
{
	uint8_t b[256] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1};
	size_t n = strlen(text), k = 11;

	b[k++] = (uint8_t)n;
	b[k++] = (uint8_t)(n >> 8);
	b[k++] = (uint8_t)~n;
	b[k++] = (uint8_t)(~n >> 8);
	memcpy(b + k, text, n);
	k += n + 4; /* the CRC is not read */
	for (int i = 0; i < 4; i++)
		b[k++] = (uint8_t)(isize >> (8 * i));
	assert_true(fx_put_bytes(f->root, rel, b, k, 0644));
}

static void test_compressed(void **state)
{
	struct fx *f = *state;
	struct file_rec live;

	mv(f, LOG, LOG ".keep"); /* keeps the inode from reuse, under no rotation name */
	assert_true(fx_put(f->root, LOG, ""));
	put_gzip(f, LOG ".1.gz", "short\n", 6);
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_REPORT);
	assert_string_equal(
	        f->d.note, "replaced, not rotated: the recorded content is under no rotation name");
	put_gzip(f, LOG ".1.gz", CONTENT, 18);
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_NONE);
	assert_string_equal(f->w.rotated, "auth.log.1.gz");
	/* a name of the format without its magic is no compressed copy */
	fx_del(f->root, LOG ".1.gz");
	assert_true(fx_put(f->root, LOG ".2.xz", "not xz at all, just text\n"));
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_REPORT);
	assert_true(fx_put_bytes(f->root, LOG ".2.xz",
	                         "\xfd"
	                         "7zXZ\0 and the rest",
	                         18, 0644));
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_NONE);
}

/* A rotation-named link to the recorded content is not followed. */
static void test_link_is_no_copy(void **state)
{
	struct fx *f = *state;
	struct file_rec live;

	mv(f, LOG, LOG ".keep");
	assert_true(fx_link(f->root, LOG ".1", "auth.log.keep"));
	assert_true(fx_put(f->root, LOG, ""));
	assert_int_equal(decide(f, &live, f->rootfd), DRIFT_REPORT);
}

/* The watcher's cache: a proven rotation is kept while its copy is as it
 * was, and proven again once the copy changed. */
static void test_cache(void **state)
{
	struct fx *f = *state;
	struct drift_rot_cache *cache = calloc(1, sizeof(*cache));
	struct file_rec live;
	char p[512];
	int fd;

	assert_non_null(cache);
	mv(f, LOG, LOG ".1");
	assert_true(fx_put(f->root, LOG, "new\n"));
	live = rec_at(f, LOG);
	for (int round = 0; round < 2; round++) {
		f->d = (struct drift){.kind = KIND_FILE, .id = BYTES_STR(LOG), .rule = &f->rule};
		f->w = (struct drift_where){.rootfd = f->rootfd, .cache = cache};
		assert_int_equal(drift_file_at(NULL, &f->w, &f->base, &live, false, &f->d),
		                 DRIFT_NONE);
		assert_string_equal(f->w.rotated, "auth.log.1");
		assert_int_equal(cache->seen[0].len, strlen(LOG));
		assert_string_equal(cache->seen[0].copy, "auth.log.1");
		assert_int_equal(cache->next, 1); /* kept once, found the second time */
	}
	/* the copy rewritten in place, same size: its ctime moved, the cache
	 * entry no longer counts and the new content proves nothing */
	fd = open(fx_path(p, sizeof(p), f->root, LOG ".1"), O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	/* (time stamps are coarse: write until the change time moved) */
	for (int tries = 0; tries < 5000; tries++) {
		struct stat st;
		assert_int_equal(pwrite(fd, "X", 1, 0), 1);
		assert_int_equal(fstat(fd, &st), 0);
		if ((int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec !=
		    cache->seen[0].ctime_ns)
			break;
		usleep(1000);
	}
	close(fd);
	f->d = (struct drift){.kind = KIND_FILE, .id = BYTES_STR(LOG), .rule = &f->rule};
	f->w = (struct drift_where){.rootfd = f->rootfd, .cache = cache};
	assert_int_equal(drift_file_at(NULL, &f->w, &f->base, &live, false, &f->d), DRIFT_REPORT);
	free(cache);
}

/* A directory's size under a growing rule comes and goes with its entries. */
static void test_directory_size_is_no_wipe(void **state)
{
	struct fx *f = *state;
	struct file_rec base = f->base, live;

	base.type = FT_DIR;
	base.size = 4096;
	live = base;
	live.size = 60;
	f->d = (struct drift){.kind = KIND_FILE, .id = BYTES_STR("/var/log"), .rule = &f->rule};
	assert_int_equal(drift_file(NULL, &base, &live, false, &f->d), DRIFT_NONE);
	live.mode = 0777;
	assert_int_equal(drift_file(NULL, &base, &live, false, &f->d), DRIFT_REPORT);
	assert_int_equal(f->d.changed, ATTR_BIT(ATTR_MODE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),
	        cmocka_unit_test_setup_teardown(test_renamed_is_rotation, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_copytruncate_is_rotation, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wipe_is_drift, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_copy_with_other_content_is_drift, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_copy_older_than_record_is_drift, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_rotation_keeps_other_drift, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_compressed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_link_is_no_copy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_directory_size_is_no_wipe, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
