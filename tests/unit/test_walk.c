/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/walk.c: order, scope, links never followed, odd names, errors. */
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

#include "baseline/walk.h"
#include "policy/policy.h"
#include "tests/unit/fixture.h"

struct fixture {
	char dir[64];
	int rootfd;
	struct policy *p;
	char seen[8192]; /* "PATH flags\n" per entry, flags: s(cope) d(escend) */
	size_t used;
	char errors[1024];
	int stop_at; /* entry number whose callback returns -EINTR, or 0 */
	int count, left, dropped;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(fx_tmpdir(f->dir, sizeof(f->dir), "walk"));
	f->rootfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	policy_free(f->p);
	close(f->rootfd);
	assert_int_equal(fx_rmtree(f->dir), 0);
	free(f);
	return 0;
}

/* mk(f, "a/b/") makes a directory, mk(f, "a/c") a file with content "x". */
static void mk(struct fixture *f, const char *rel)
{
	size_t n = strlen(rel);

	if (rel[n - 1] == '/')
		assert_true(fx_mkdirs(f->dir, rel));
	else
		assert_true(fx_put(f->dir, rel, "x"));
}

static void load_policy(struct fixture *f, const char *text)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s.policy", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(policy_load(path, &f->p, NULL), 0);
	unlink(path);
}

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size - *used);
	*used += (size_t)n;
}

static int on_entry(void *ctx, struct walk_entry *e)
{
	struct fixture *f = ctx;

	f->count++;
	assert_int_equal(strlen(e->path), e->path_len);
	/* a pin is the fstat of what the entry describes, and only of regular files */
	if (e->pin >= 0) {
		struct stat st;

		assert_true(S_ISREG(e->st.st_mode));
		assert_int_equal(fstat(e->pin, &st), 0);
		assert_int_equal(st.st_ino, e->st.st_ino);
	}
	append(f->seen, sizeof(f->seen), &f->used, "%s %s%s\n", e->path, e->in_scope ? "s" : "",
	       e->descend ? "d" : "");
	if (S_ISDIR(e->st.st_mode) && e->descend)
		e->user = f; /* freed by leave or drop */
	return f->count == f->stop_at ? -EINTR : 0;
}

static int on_leave(void *ctx, struct walk_entry *dir)
{
	struct fixture *f = ctx;

	if (dir->user)
		f->left++;
	return 0;
}

static void on_drop(void *ctx, struct walk_entry *dir)
{
	struct fixture *f = ctx;

	if (dir->user)
		f->dropped++;
}

static void on_error(void *ctx, const char *path, size_t len, int err)
{
	struct fixture *f = ctx;
	size_t used = strlen(f->errors);

	append(f->errors, sizeof(f->errors), &used, "%.*s %d\n", (int)len, path, -err);
}

static const struct walk_ops ops = {
        .entry = on_entry, .leave = on_leave, .drop = on_drop, .error = on_error};

static int walk(struct fixture *f)
{
	f->used = 0;
	f->seen[0] = '\0';
	return walk_run(f->rootfd, f->p, &ops, f);
}

/* Names in byte order within a directory, parents before their children. */
static void test_order(void **state)
{
	struct fixture *f = *state;

	mk(f, "etc/b");
	mk(f, "etc/B");
	mk(f, "etc/a/z");
	mk(f, "etc/a.d/y");
	mk(f, "etc/\xc3\xa9t\xc3\xa9");
	load_policy(f, "/etc type mode\n");
	assert_int_equal(walk(f), 0);
	assert_string_equal(f->seen, "/ d\n"
	                             "/etc sd\n"
	                             "/etc/B s\n"
	                             "/etc/a sd\n"
	                             "/etc/a/z s\n"
	                             "/etc/a.d sd\n"
	                             "/etc/a.d/y s\n"
	                             "/etc/b s\n"
	                             "/etc/\xc3\xa9t\xc3\xa9 s\n");
	/* every descended directory was left once, none dropped */
	assert_int_equal(f->left, 4);
	assert_int_equal(f->dropped, 0);
}

/* Only what a rule selects, or what leads to it, is visited ("**" is zero or
 * more components: a trailing "**" selects the directory too). */
static void test_scope(void **state)
{
	struct fixture *f = *state;

	mk(f, "etc/keep");
	mk(f, "etc/mtab");
	mk(f, "etc/skip/deep/x");
	mk(f, "var/log/syslog");
	mk(f, "var/lib/x");
	mk(f, "boot/vmlinuz");
	load_policy(f, "/etc type\n"
	               "!/etc/skip\n"
	               "!/etc/mtab\n"
	               "=/boot type\n"
	               "/var/log/** type\n");
	assert_int_equal(walk(f), 0);
	assert_string_equal(f->seen, "/ d\n"
	                             "/boot s\n"
	                             "/etc sd\n"
	                             "/etc/keep s\n"
	                             "/var d\n"
	                             "/var/log sd\n"
	                             "/var/log/syslog s\n");
}

/* A later rule below an excluded directory still gets it walked. */
static void test_later_rule_below_exclude(void **state)
{
	struct fixture *f = *state;

	mk(f, "srv/a");
	mk(f, "srv/app/conf");
	mk(f, "srv/app/cache");
	load_policy(f, "!/srv\n/srv/app/conf type\n");
	assert_int_equal(walk(f), 0);
	assert_string_equal(f->seen, "/ d\n"
	                             "/srv d\n"
	                             "/srv/app d\n"
	                             "/srv/app/conf s\n");
}

/* Links are entries, never followed: not into a directory, not out of the root. */
static void test_links_not_followed(void **state)
{
	struct fixture *f = *state;
	mk(f, "data/real/f");
	assert_true(fx_link(f->dir, "/data/link", "real"));
	assert_true(fx_link(f->dir, "/data/out", "/etc"));
	load_policy(f, "/data type target\n");
	assert_int_equal(walk(f), 0);
	assert_string_equal(f->seen, "/ d\n"
	                             "/data sd\n"
	                             "/data/link s\n"
	                             "/data/out s\n"
	                             "/data/real sd\n"
	                             "/data/real/f s\n");
}

/* Any byte but '/' and NUL in a name reaches the callback as it is. */
static void test_odd_names(void **state)
{
	struct fixture *f = *state;

	mk(f, "d/new\nline");
	mk(f, "d/ space ");
	mk(f, "d/\xff\xfe");
	mk(f, "d/-");
	load_policy(f, "/d type\n");
	assert_int_equal(walk(f), 0);
	assert_string_equal(f->seen, "/ d\n"
	                             "/d sd\n"
	                             "/d/ space  s\n"
	                             "/d/- s\n"
	                             "/d/new\nline s\n"
	                             "/d/\xff\xfe s\n");
}

/* A callback's error stops the walk with it; open directories are dropped. */
static void test_stop(void **state)
{
	struct fixture *f = *state;

	mk(f, "a/b/c/d");
	load_policy(f, "/a type\n");
	f->stop_at = 4; /* "/a/b/c" */
	assert_int_equal(walk(f), -EINTR);
	assert_string_equal(f->seen, "/ d\n/a sd\n/a/b sd\n/a/b/c sd\n");
	assert_int_equal(f->left, 0);
	assert_int_equal(f->dropped, 4);
}

/* A start point that does not exist is no error and no entry. */
static void test_missing_start(void **state)
{
	struct fixture *f = *state;

	mk(f, "x/y");
	load_policy(f, "/nonexistent type\n/x type\n");
	assert_int_equal(walk(f), 0);
	assert_string_equal(f->seen, "/ d\n/x sd\n/x/y s\n");
	assert_string_equal(f->errors, "");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_order),
	        T(test_scope),
	        T(test_later_rule_below_exclude),
	        T(test_links_not_followed),
	        T(test_odd_names),
	        T(test_stop),
	        T(test_missing_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
