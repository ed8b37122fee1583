/* SPDX-License-Identifier: ISC */
/* Unit tests for the watcher's re-read of what changed: the scanner through the null backend. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#include "fim/cli.h"
#include "fim/watch/watch.h"
#include "tests/unit/fixture.h"

/* A fixture tree with its baseline, and a watcher on it whose alerts are
 * JSON lines in memory. */
struct wt {
	char dir[256], root[300], db[300], policy[300];
	struct fim_opts o;
	struct watcher w;
	char *alerts; /* what report_json wrote */
	size_t alerts_n;
	size_t seen;     /* of alerts, read by events() */
	char said[1024]; /* what the watcher handed to the command to print */
};

static void say(struct watcher *w, int level, const char *msg)
{
	struct wt *t = (struct wt *)((char *)w - offsetof(struct wt, w));
	size_t n = strlen(t->said);

	(void)level;
	snprintf(t->said + n, sizeof(t->said) - n, "%s\n", msg);
}

static const struct watch_ops test_ops = {.say = say};

/* Runs fim baseline on the tree without printing its summary. */
static void take_baseline(struct wt *t)
{
	char *argv[] = {(char *)"baseline", NULL};
	int saved = dup(STDOUT_FILENO), devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	assert_true(saved >= 0 && devnull >= 0);
	fflush(stdout);
	dup2(devnull, STDOUT_FILENO);
	int r = cmd_baseline(&t->o, 1, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(devnull);
	assert_int_equal(r, 0);
}

static int setup(void **state)
{
	struct wt *t = calloc(1, sizeof(*t));
	struct report_info info = {.command = "watch"};
	struct bytes v;
	char hash[32];
	FILE *f;

	assert_non_null(t);
	assert_non_null(fx_tmpdir(t->dir, sizeof(t->dir), "wscan"));
	snprintf(t->root, sizeof(t->root), "%s/root", t->dir);
	snprintf(t->db, sizeof(t->db), "%s/db", t->dir);
	snprintf(t->policy, sizeof(t->policy), "%s/fim.policy", t->dir);
	assert_int_equal(mkdir(t->root, 0755), 0);
	assert_true(fx_put(t->root, "/data/a", "alpha\n"));
	assert_true(fx_put(t->root, "/data/b", "bravo\n"));
	assert_true(fx_put(t->root, "/data/gone", "soon gone\n"));
	assert_int_equal(mkdir(t->db, 0700), 0);
	f = fopen(t->policy, "w");
	assert_non_null(f);
	fputs("set hash = sha256\n/data type mode uid gid size hash target\n", f);
	fclose(f);
	t->o = (struct fim_opts){
	        .policy = t->policy, .db = t->db, .root = t->root, .format = "json", .jobs = 1};
	take_baseline(t);

	/* the watcher as the command sets it up, with the null backend */
	struct watcher *w = &t->w;
	*w = (struct watcher){.ops = &test_ops, .db = t->db, .rootfd = -1};
	assert_int_equal(cli_load_policy(&t->o, &w->p), 0);
	assert_int_equal(cli_open_store(&t->o, &w->s), 0);
	assert_int_equal(store_meta(w->s, META_HASH, &v), 0);
	assert_true(v.n < sizeof(hash));
	memcpy(hash, v.p, v.n);
	hash[v.n] = '\0';
	w->algo = hash_lookup(hash);
	assert_int_equal(w->algo, HASH_SHA256);
	w->rootfd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(w->rootfd >= 0);
	w->rootpath = realpath(t->root, NULL);
	assert_non_null(w->rootpath);
	w->rootlen = strlen(w->rootpath);
	assert_int_equal(files_scratch_init(&w->scratch, w->algo), 0);
	assert_int_equal(wfiles_open_ops(w, &wfiles_null, &w->files), 0);
	assert_int_equal(wfiles_fd(w->files), -1);
	w->alerts = open_memstream(&t->alerts, &t->alerts_n);
	assert_non_null(w->alerts);
	w->json = (struct report){.ops = &report_json, .out = w->alerts};
	w->rep = (struct report){.ops = &watch_report_ops, .user = w};
	assert_int_equal(report_json.begin(&w->json, &info), 0);
	wtree_init(w);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct wt *t = *state;

	watch_close(&t->w);
	free(t->alerts);
	fx_rmtree(t->dir);
	free(t);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The alerts written since the last call, one line per event, each as
 * "ACTION PATH attr,attr" (the attributes of fim.changed; "-" for none),
 * sorted.
 */
static char *events(struct wt *t)
{
	static char out[4096];
	char *lines[64];
	size_t n = 0;

	if (t->w.alerts)
		fflush(t->w.alerts);
	out[0] = '\0';
	for (char *p = t->alerts + t->seen, *end; p < t->alerts + t->alerts_n; p = end + 1) {
		json_error_t err;
		json_t *o, *changed;
		char line[512], attrs[256] = "";

		end = strchr(p, '\n');
		assert_non_null(end);
		*end = '\0';
		o = json_loads(p, 0, &err);
		*end = '\n';
		assert_non_null(o);
		changed = json_object_get(json_object_get(o, "fim"), "changed");
		for (size_t i = 0; i < json_array_size(changed); i++) {
			size_t l = strlen(attrs);
			snprintf(attrs + l, sizeof(attrs) - l, "%s%s", i ? "," : "",
			         json_string_value(json_array_get(changed, i)));
		}
		snprintf(line, sizeof(line), "%s %s %s",
		         json_string_value(json_object_get(json_object_get(o, "event"), "action")),
		         json_string_value(json_object_get(json_object_get(o, "file"), "path")),
		         attrs[0] ? attrs : "-");
		json_decref(o);
		assert_true(n < 64);
		lines[n++] = strdup(line);
	}
	t->seen = t->alerts_n;
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(out);
		snprintf(out + l, sizeof(out) - l, "%s\n", lines[i]);
		free(lines[i]);
	}
	return out;
}

static void scan(struct wt *t, const char *path, bool tree)
{
	assert_int_equal(watch_scan(&t->w, path, strlen(path), tree), 0);
}

static void changed_file(void **state)
{
	struct wt *t = *state;

	assert_true(fx_put(t->root, "/data/a", "alpha, and more\n"));
	scan(t, "/data/a", false);
	assert_string_equal(events(t), "changed /data/a size,hash\n");
	/* the same state again is not alerted twice */
	scan(t, "/data/a", false);
	assert_string_equal(events(t), "");
}

/* A patched byte: the size stays, only the content digest tells. */
static void same_size_content(void **state)
{
	struct wt *t = *state;
	char path[600];
	struct stat st;
	struct timespec times[2];

	fx_path(path, sizeof(path), t->root, "/data/a");
	assert_int_equal(stat(path, &st), 0);
	assert_true(fx_put(t->root, "/data/a", "alphX\n"));
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	scan(t, "/data/a", false);
	assert_string_equal(events(t), "changed /data/a hash\n");
}

static void new_file(void **state)
{
	struct wt *t = *state;

	assert_true(fx_put(t->root, "/data/new", "new\n"));
	scan(t, "/data/new", false);
	assert_string_equal(events(t), "added /data/new -\n");
}

static void removed_file(void **state)
{
	struct wt *t = *state;

	assert_true(fx_del(t->root, "/data/gone"));
	scan(t, "/data/gone", false);
	assert_string_equal(events(t), "removed /data/gone -\n");
}

static void new_directory(void **state)
{
	struct wt *t = *state;

	assert_true(fx_put(t->root, "/data/d/x", "x\n"));
	assert_true(fx_put(t->root, "/data/d/y", "y\n"));
	scan(t, "/data/d", true);
	assert_string_equal(events(t), "added /data/d -\n"
	                               "added /data/d/x -\n"
	                               "added /data/d/y -\n");
}

static void untouched(void **state)
{
	struct wt *t = *state;

	scan(t, "/data/b", false);
	assert_string_equal(events(t), "");
	/* the whole tree: nothing changed anywhere */
	scan(t, "/data", true);
	assert_string_equal(events(t), "");
	assert_string_equal(t->said, "");
}

/* Only what changed is alerted when the whole tree is scanned. */
static void tree_only_changes(void **state)
{
	struct wt *t = *state;

	assert_true(fx_put(t->root, "/data/a", "alpha, and more\n"));
	assert_true(fx_del(t->root, "/data/gone"));
	scan(t, "/data", true);
	assert_string_equal(events(t), "changed /data/a size,hash\n"
	                               "removed /data/gone -\n");
}

/* The pending queue: a path waits for its settle delay, then is checked once. */
static void pending_settles(void **state)
{
	struct wt *t = *state;
	int64_t wait;

	assert_true(fx_put(t->root, "/data/a", "alpha, and more\n"));
	watch_pending_add(&t->w, "/data/a", 7, 0, false);
	watch_pending_add(&t->w, "/data/a", 7, 0, false); /* one entry per path */
	assert_int_equal(t->w.pending.count, 1);
	wait = watch_pending_run(&t->w);
	/* not yet: it waits at most the settle delay after its last event */
	assert_true(wait > 0 && wait <= WATCH_SETTLE_MS);
	assert_int_equal(t->w.pending.count, 1);
	assert_string_equal(events(t), "");
	/* due now (as a rescan from the state is) */
	watch_pending_add(&t->w, "/data/a", 7, 0, true);
	assert_int_equal(watch_pending_run(&t->w), -1);
	assert_int_equal(t->w.pending.count, 0);
	assert_int_equal(t->w.fatal, 0);
	assert_string_equal(events(t), "changed /data/a size,hash\n");
}

/* A tree queued due is rescanned whole: what was added below is found. */
static void pending_tree(void **state)
{
	struct wt *t = *state;

	assert_true(fx_put(t->root, "/data/d/x", "x\n"));
	watch_pending_add(&t->w, "/data", 5, PEND_TREE, true);
	assert_int_equal(watch_pending_run(&t->w), -1);
	assert_int_equal(t->w.rescans, 1);
	assert_string_equal(events(t), "added /data/d -\n"
	                               "added /data/d/x -\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(changed_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(same_size_content, setup, teardown),
	        cmocka_unit_test_setup_teardown(new_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(removed_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(new_directory, setup, teardown),
	        cmocka_unit_test_setup_teardown(untouched, setup, teardown),
	        cmocka_unit_test_setup_teardown(tree_only_changes, setup, teardown),
	        cmocka_unit_test_setup_teardown(pending_settles, setup, teardown),
	        cmocka_unit_test_setup_teardown(pending_tree, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
