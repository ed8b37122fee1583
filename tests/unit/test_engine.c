/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/engine: the check run on a real baseline, and the one drift decision. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fim/cli.h"
#include "fim/core/attr.h"
#include "fim/engine/check.h"
#include "fim/engine/drift.h"
#include "fim/store/store.h"
#include "fim/store/store_policy.h"
#include "policy/policy.h"
#include "tests/unit/fixture.h"

/* /data is checked for CONTENT; the directories by PERMS only, so an entry
 * added or removed is the entry's drift alone. */
static const char policy_text[] = "/data      CONTENT\n"
                                  "=/data     PERMS\n"
                                  "=/data/sub PERMS\n";

struct fixture {
	char dir[64];
	char root[96], db[96], policy[96];
	int rootfd;
	struct policy *p, *old;
	struct store *s;
	/* what the recording report was told */
	char log[8192];
	size_t used;
	int begun, ended;
	uint64_t bytes; /* hashed, as told to file_done */
	int tree_done;
};

static void logf_(struct fixture *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(f->log + f->used, sizeof(f->log) - f->used, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(f->log) - f->used);
	f->used += (size_t)n;
}

/* --- a report backend that records "ACTION PATH ATTRS" lines --- */

static int rec_begin(struct report *r, const struct report_info *info)
{
	struct fixture *f = r->user;

	assert_string_equal(info->command, "check");
	f->begun++;
	return 0;
}

static int rec_drift(struct report *r, const struct drift *d)
{
	static const char *const action[] = {"added", "removed", "changed"};
	struct fixture *f = r->user;
	char names[512] = "";

	attr_format_set(d->kind, d->changed, names, sizeof(names));
	logf_(f, "%s %.*s%s%s\n", action[d->action], (int)d->id.n, (const char *)d->id.p,
	      names[0] ? " " : "", names);
	return 0;
}

static int rec_error(struct report *r, struct bytes id, int err)
{
	logf_(r->user, "error %.*s %d\n", (int)id.n, (const char *)id.p, -err);
	return 0;
}

static int rec_problem(struct report *r, enum fim_kind kind, enum severity sev, const char *path,
                       unsigned line, int err, const char *msg)
{
	logf_(r->user, "problem %s %s\n", path, msg);
	return 0;
}

static int rec_end(struct report *r, const struct report_summary *s)
{
	struct fixture *f = r->user;

	f->ended++;
	return 0;
}

static void rec_free(struct report *r) {}

static const struct report_ops report_record = {
        .name = "record",
        .begin = rec_begin,
        .drift = rec_drift,
        .error = rec_error,
        .problem = rec_problem,
        .end = rec_end,
        .free = rec_free,
};

static void file_done(void *ctx, uint64_t bytes)
{
	struct fixture *f = ctx;

	f->bytes += bytes;
}

static void tree_done(void *ctx)
{
	struct fixture *f = ctx;

	f->tree_done++;
}

/* --- the tree and its baseline --- */

static void put(struct fixture *f, const char *rel, const char *text)
{
	assert_true(fx_put(f->root, rel, text));
}

/* An hour ago: a file written now is not one the clock could confuse. */
static void age(struct fixture *f, const char *rel)
{
	struct timespec t[2];
	char path[256];

	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= 3600;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, fx_path(path, sizeof(path), f->root, rel), t,
	                           AT_SYMLINK_NOFOLLOW),
	                 0);
}

static void age_tree(struct fixture *f)
{
	static const char *const all[] = {"/data/a",   "/data/b", "/data/gone", "/data/sub/c",
	                                  "/data/sub", "/data",   "/"};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		age(f, all[i]);
}

/* New content written into the same inode, its mtime put back. */
static void rewrite(struct fixture *f, const char *rel, const char *text)
{
	struct timespec t[2];
	struct stat st;
	char path[256];
	int fd;

	fx_path(path, sizeof(path), f->root, rel);
	assert_int_equal(stat(path, &st), 0);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	FILE *fp;

	assert_non_null(f);
	assert_non_null(fx_tmpdir(f->dir, sizeof(f->dir), "engine"));
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/db", f->dir);
	snprintf(f->policy, sizeof(f->policy), "%s/fim.policy", f->dir);
	assert_int_equal(mkdir(f->root, 0755), 0);
	put(f, "/data/a", "alpha\n");
	put(f, "/data/b", "bravo\n");
	put(f, "/data/gone", "x");
	put(f, "/data/sub/c", "charlie\n");
	age_tree(f);
	fp = fopen(f->policy, "w");
	assert_non_null(fp);
	fputs(policy_text, fp);
	assert_int_equal(fclose(fp), 0);
	f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	policy_free(f->old);
	policy_free(f->p);
	close(f->rootfd);
	assert_int_equal(fx_rmtree(f->dir), 0);
	free(f);
	return 0;
}

/* The baseline of the tree as it is now, by fim baseline itself. */
static void baseline(struct fixture *f)
{
	struct fim_opts o = {.policy = f->policy, .db = f->db, .root = f->root, .jobs = 2};
	char *argv[] = {(char *)"baseline", NULL};

	assert_int_equal(cmd_baseline(&o, 1, argv), 0);
	assert_int_equal(policy_load(f->policy, &f->p, NULL), 0);
	assert_int_equal(store_open(f->db, &f->s), 0);
	assert_int_equal(check_old_policy(f->s, f->p, &f->old), 0);
	assert_null(f->old); /* built with this very policy */
}

/* Runs the engine; returns its result, with SUM and f->log filled. */
static int run(struct fixture *f, bool quick, struct report_summary *sum)
{
	struct report rep = {.ops = &report_record, .user = f};
	struct report_info info = {.command = "check"};
	struct fim_err err = {0};
	char hash[32];
	struct check_args a = {.p = f->p,
	                       .old = f->old,
	                       .s = f->s,
	                       .rootfd = f->rootfd,
	                       .quick = quick,
	                       .jobs = 2,
	                       .file_done = file_done,
	                       .tree_done = tree_done,
	                       .progress_ctx = f};
	int r;

	a.algo = check_baseline_algo(f->s, hash, sizeof(hash));
	assert_int_not_equal(a.algo, HASH_NONE);
	assert_string_equal(hash, "sha256");
	f->used = 0;
	f->log[0] = '\0';
	f->bytes = 0;
	*sum = (struct report_summary){0};
	r = check_run(&a, &rep, &info, sum, &err);
	assert_string_equal(err.msg, "");
	return r;
}

static void assert_sum(const struct report_summary *s, uint64_t scanned, uint64_t added,
                       uint64_t removed, uint64_t changed, uint64_t errors)
{
	char got[200], want[200];

	snprintf(got, sizeof(got), "scanned=%llu added=%llu removed=%llu changed=%llu errors=%llu",
	         (unsigned long long)s->scanned, (unsigned long long)s->added,
	         (unsigned long long)s->removed, (unsigned long long)s->changed,
	         (unsigned long long)s->errors);
	snprintf(
	        want, sizeof(want), "scanned=%llu added=%llu removed=%llu changed=%llu errors=%llu",
	        (unsigned long long)scanned, (unsigned long long)added, (unsigned long long)removed,
	        (unsigned long long)changed, (unsigned long long)errors);
	assert_string_equal(got, want);
}

/* --- the check run --- */

static void test_untouched(void **state)
{
	struct fixture *f = *state;
	struct report_summary sum;

	baseline(f);
	assert_int_equal(run(f, false, &sum), 0);
	assert_string_equal(f->log, "");
	/* /data, a, b, gone, sub, sub/c */
	assert_sum(&sum, 6, 0, 0, 0, 0);
	assert_int_equal(f->begun, 1);
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->tree_done, 1);
	/* every file's content was read: alpha\n bravo\n x charlie\n */
	assert_int_equal(f->bytes, 6 + 6 + 1 + 8);
}

/* Same size, mtime put back: the content and the ctime still tell. */
static void test_content_same_size_and_mtime(void **state)
{
	struct fixture *f = *state;
	struct report_summary sum;

	baseline(f);
	rewrite(f, "/data/a", "ALPHA\n");
	assert_int_equal(run(f, false, &sum), 0);
	assert_string_equal(f->log, "changed /data/a ctime hash\n");
	assert_sum(&sum, 6, 0, 0, 1, 0);
}

static void test_removed_and_added(void **state)
{
	struct fixture *f = *state;
	struct report_summary sum;

	baseline(f);
	assert_true(fx_del(f->root, "/data/gone"));
	put(f, "/data/new", "new\n");
	assert_true(fx_del(f->root, "/data/sub/c"));
	assert_int_equal(run(f, false, &sum), 0);
	/* in walk order: a removed entry where the walk passes its name */
	assert_string_equal(f->log, "removed /data/gone\n"
	                            "added /data/new\n"
	                            "removed /data/sub/c\n");
	/* /data, a, b, new, sub */
	assert_sum(&sum, 5, 1, 2, 0, 0);
}

/* Sets the effective DAC capabilities of this thread (and of the threads
 * it starts): root reads everything otherwise. */
static void dac_override(bool on)
{
	cap_value_t caps[] = {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH};
	cap_t c = cap_get_proc();

	assert_non_null(c);
	if (on) {
		cap_flag_value_t permitted = CAP_CLEAR;

		cap_get_flag(c, CAP_DAC_OVERRIDE, CAP_PERMITTED, &permitted);
		if (permitted == CAP_CLEAR) {
			cap_free(c);
			return;
		}
	}
	assert_int_equal(cap_set_flag(c, CAP_EFFECTIVE, 2, caps, on ? CAP_SET : CAP_CLEAR), 0);
	assert_int_equal(cap_set_proc(c), 0);
	cap_free(c);
}

static void test_unreadable(void **state)
{
	struct fixture *f = *state;
	struct report_summary sum;
	char path[256];
	int r;

	baseline(f);
	assert_int_equal(chmod(fx_path(path, sizeof(path), f->root, "/data/b"), 0), 0);
	dac_override(false);
	r = run(f, false, &sum);
	dac_override(true);
	assert_int_equal(r, 0);
	/* what a stat tells is still compared; the content is an error */
	snprintf(path, sizeof(path), "error /data/b %d\nchanged /data/b mode ctime\n", EACCES);
	assert_string_equal(f->log, path);
	assert_sum(&sum, 6, 0, 0, 1, 1);
}

/* --quick reads no file whose inode, size, mtime and ctime are as recorded,
 * and still reads one whose ctime moved. */
static void test_quick(void **state)
{
	struct fixture *f = *state;
	struct report_summary sum;

	baseline(f);
	assert_int_equal(run(f, true, &sum), 0);
	assert_string_equal(f->log, "");
	assert_sum(&sum, 6, 0, 0, 0, 0);
	assert_int_equal(f->bytes, 0);

	rewrite(f, "/data/sub/c", "CHARLIE\n");
	assert_int_equal(run(f, true, &sum), 0);
	assert_string_equal(f->log, "changed /data/sub/c ctime hash\n");
	assert_sum(&sum, 6, 0, 0, 1, 0);
	assert_int_equal(f->bytes, 8);
}

static int stop_now(void *ctx)
{
	int *calls = ctx;

	return ++*calls > 3 ? -ECANCELED : 0;
}

/* A tick that says stop stops the run with its value, and no end is told. */
static void test_tick_stops(void **state)
{
	struct fixture *f = *state;
	struct report rep = {.ops = &report_record, .user = f};
	struct report_info info = {.command = "check"};
	struct report_summary sum = {0};
	int calls = 0;
	struct check_args a = {.p = f->p,
	                       .s = NULL,
	                       .rootfd = f->rootfd,
	                       .jobs = 1,
	                       .tick = stop_now,
	                       .tick_ctx = &calls};

	baseline(f);
	a.p = f->p;
	a.s = f->s;
	a.algo = HASH_SHA256;
	assert_int_equal(check_run(&a, &rep, &info, &sum, NULL), -ECANCELED);
	assert_int_equal(f->begun, 1);
	assert_int_equal(f->ended, 0);
}

/* --- the one drift decision (fim check and the watcher's re-read) --- */

static const struct policy_rule *rule_for(struct fixture *f, const char *path)
{
	const struct policy_rule *rule = policy_match(f->p, path, strlen(path));

	assert_non_null(rule);
	return rule;
}

static struct file_rec rec_of(void)
{
	struct file_rec r = {0};

	r.type = FT_REG;
	r.attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_UID) |
	          ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME) |
	          ATTR_BIT(ATTR_INODE);
	r.mode = 0644;
	r.size = 6;
	r.mtime_ns = 1000;
	r.ctime_ns = 2000;
	r.inode = 42;
	return r;
}

static void test_drift_each_attribute(void **state)
{
	struct fixture *f = *state;
	const struct policy_rule *rule;
	struct file_rec base = rec_of(), live;
	struct drift d;

	assert_int_equal(policy_load(f->policy, &f->p, NULL), 0);
	rule = rule_for(f, "/data/a");

	d = (struct drift){.kind = KIND_FILE, .id = BYTES_STR("/data/a"), .rule = rule};
	live = base;
	assert_int_equal(drift_file(NULL, &base, &live, false, &d), DRIFT_NONE);

#define ONE(field, value, attr)                                                                    \
	do {                                                                                       \
		live = base;                                                                       \
		live.field = value;                                                                \
		d = (struct drift){.kind = KIND_FILE, .id = BYTES_STR("/data/a"), .rule = rule};   \
		assert_int_equal(drift_file(NULL, &base, &live, false, &d), DRIFT_REPORT);         \
		assert_int_equal(d.action, DRIFT_CHANGED);                                         \
		assert_int_equal(d.changed, ATTR_BIT(attr));                                       \
		assert_ptr_equal(d.before, &base);                                                 \
		assert_ptr_equal(d.after, &live);                                                  \
		assert_null(d.note);                                                               \
	} while (0)
	ONE(mode, 0600, ATTR_MODE);
	ONE(uid, 7, ATTR_UID);
	ONE(size, 7, ATTR_SIZE);
	ONE(mtime_ns, 1001, ATTR_MTIME);
	ONE(ctime_ns, 2001, ATTR_CTIME);
	ONE(inode, 43, ATTR_INODE);
#undef ONE
}

/* A file that became a FIFO is drift even under a rule without "type". */
static void test_drift_type_always(void **state)
{
	struct fixture *f = *state;
	struct file_rec base = rec_of(), live;
	struct policy_rule rule;
	struct drift d;

	assert_int_equal(policy_load(f->policy, &f->p, NULL), 0);
	rule = *rule_for(f, "/data/a");
	rule.attrs &= ~ATTR_BIT(ATTR_TYPE);
	live = base;
	live.type = FT_FIFO;
	d = (struct drift){.kind = KIND_FILE, .id = BYTES_STR("/data/a"), .rule = &rule};
	assert_int_equal(drift_file(NULL, &base, &live, false, &d), DRIFT_REPORT);
	assert_int_equal(d.changed, ATTR_BIT(ATTR_TYPE));
}

/* Content the baseline could not read is not "unchanged" once it can be. */
static void test_drift_unreadable_base(void **state)
{
	struct fixture *f = *state;
	struct file_rec base = rec_of(), live;
	struct drift d;

	assert_int_equal(policy_load(f->policy, &f->p, NULL), 0);
	base.flags |= REC_UNREADABLE;
	live = base;
	live.flags = 0;
	live.attrs |= ATTR_BIT(ATTR_HASH);
	d = (struct drift){
	        .kind = KIND_FILE, .id = BYTES_STR("/data/a"), .rule = rule_for(f, "/data/a")};
	assert_int_equal(drift_file(NULL, &base, &live, false, &d), DRIFT_REPORT);
	assert_int_equal(d.changed, ATTR_BIT(ATTR_HASH));
	assert_string_equal(d.note, "the baseline could not read this file's content");
}

/* Not in the baseline: added, unless the baseline's own policy did not
 * select it (a scope change, not drift). */
static void test_drift_added_and_newly_in_scope(void **state)
{
	struct fixture *f = *state;
	struct file_rec live = rec_of();
	struct policy *old = NULL;
	char path[128];
	FILE *fp;
	struct drift d;

	assert_int_equal(policy_load(f->policy, &f->p, NULL), 0);
	d = (struct drift){.kind = KIND_FILE,
	                   .id = BYTES_STR("/data/sub/c"),
	                   .rule = rule_for(f, "/data/sub/c")};
	assert_int_equal(drift_file(NULL, NULL, &live, false, &d), DRIFT_REPORT);
	assert_int_equal(d.action, DRIFT_ADDED);
	assert_null(d.before);
	assert_ptr_equal(d.after, &live);

	snprintf(path, sizeof(path), "%s/old.policy", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("/data CONTENT\n!/data/sub\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(policy_load(path, &old, NULL), 0);
	assert_false(drift_selects(old, "/data/sub/c", 11));
	assert_true(drift_selects(old, "/data/a", 7));
	d = (struct drift){.kind = KIND_FILE,
	                   .id = BYTES_STR("/data/sub/c"),
	                   .rule = rule_for(f, "/data/sub/c")};
	assert_int_equal(drift_file(old, NULL, &live, false, &d), DRIFT_NEWLY_IN_SCOPE);
	d = (struct drift){
	        .kind = KIND_FILE, .id = BYTES_STR("/data/a"), .rule = rule_for(f, "/data/a")};
	assert_int_equal(drift_file(old, NULL, &live, false, &d), DRIFT_REPORT);
	assert_int_equal(d.action, DRIFT_ADDED);
	policy_free(old);
}

/* --quick's identity: each of inode, size, mtime and ctime counts. */
static void test_drift_identity(void **state)
{
	struct file_rec base = rec_of();
	struct stat st = {0};

	st.st_mode = S_IFREG | 0644;
	st.st_ino = 42;
	st.st_size = 6;
	st.st_mtim.tv_nsec = 1000;
	st.st_ctim.tv_nsec = 2000;
	assert_true(drift_identity_same(&base, &st));
	st.st_ino = 43;
	assert_false(drift_identity_same(&base, &st));
	st.st_ino = 42;
	st.st_size = 7;
	assert_false(drift_identity_same(&base, &st));
	st.st_size = 6;
	st.st_mtim.tv_nsec = 1001;
	assert_false(drift_identity_same(&base, &st));
	st.st_mtim.tv_nsec = 1000;
	st.st_ctim.tv_nsec = 2001;
	assert_false(drift_identity_same(&base, &st));
	st.st_ctim.tv_nsec = 2000;
	base.attrs &= ~ATTR_BIT(ATTR_CTIME);
	assert_false(drift_identity_same(&base, &st));
}

/* The baseline's policy: none when it is the one in force; the stored one
 * otherwise; and the digest has its named length. */
static void test_old_policy(void **state)
{
	struct fixture *f = *state;
	struct policy *other = NULL, *old = NULL;
	struct bytes digest, bundle;
	char path[128];
	FILE *fp;

	baseline(f);
	assert_int_equal(store_policy_read(f->s, &digest, &bundle), 0);
	assert_int_equal(digest.n, STORE_POLICY_DIGEST_BYTES);
	assert_memory_equal(digest.p, policy_digest(f->p), STORE_POLICY_DIGEST_BYTES);
	assert_true(store_policy_is(f->s, f->p));
	snprintf(path, sizeof(path), "%s/other.policy", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("/data PERMS\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(policy_load(path, &other, NULL), 0);
	assert_false(store_policy_is(f->s, other));
	assert_int_equal(check_old_policy(f->s, other, &old), 0);
	assert_non_null(old);
	assert_memory_equal(policy_digest(old), policy_digest(f->p), STORE_POLICY_DIGEST_BYTES);
	policy_free(old);
	policy_free(other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_untouched),
	        T(test_content_same_size_and_mtime),
	        T(test_removed_and_added),
	        T(test_unreadable),
	        T(test_quick),
	        T(test_tick_stops),
	        T(test_drift_each_attribute),
	        T(test_drift_type_always),
	        T(test_drift_unreadable_base),
	        T(test_drift_added_and_newly_in_scope),
	        T(test_drift_identity),
	        T(test_old_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
