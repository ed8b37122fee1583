/* SPDX-License-Identifier: ISC */
/* Unit tests for the watcher's parts: the hash map, the state store, the alert sinks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "fim/report/sink.h"
#include "fim/store/state.h"
#include "fim/trust/trail.h"
#include "fim/watch/watch_map.h"

static void map_basics(void **unused)
{
	struct wmap m = {0};
	bool created;
	char key[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "/data/f%d", i);
		struct wval *v = wmap_put(&m, key, strlen(key), &created);
		assert_non_null(v);
		assert_true(created);
		v->a = i;
	}
	assert_int_equal(m.count, 1000);
	/* a second put finds the same entry */
	assert_non_null(wmap_put(&m, "/data/f7", 8, &created));
	assert_false(created);
	assert_int_equal(wmap_get(&m, "/data/f7", 8)->a, 7);
	assert_null(wmap_get(&m, "/data/f", 7));
	assert_null(wmap_get(&m, "/data/f1000", 11));
	assert_true(wmap_del(&m, "/data/f7", 8));
	assert_false(wmap_del(&m, "/data/f7", 8));
	assert_null(wmap_get(&m, "/data/f7", 8));
	assert_int_equal(m.count, 999);
	wmap_free(&m);
	assert_int_equal(m.count, 0);
}

/* Deleting the entry just returned keeps the iteration complete. */
static void map_iterate_delete(void **unused)
{
	struct wmap m = {0};
	struct wmap_iter it = {0};
	const uint8_t *k;
	size_t n, seen = 0, sum = 0;
	struct wval *v;
	char key[32];

	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		v = wmap_put(&m, key, strlen(key), NULL);
		v->a = i;
		v->str = strdup(key); /* freed by the map */
	}
	while (wmap_next(&m, &it, &k, &n, &v)) {
		seen++;
		sum += (size_t)v->a;
		if (v->a % 2)
			assert_true(wmap_del(&m, k, n));
	}
	assert_int_equal(seen, 500);
	assert_int_equal(sum, 499 * 500 / 2);
	assert_int_equal(m.count, 250);
	it = (struct wmap_iter){0};
	seen = 0;
	while (wmap_next(&m, &it, &k, &n, &v)) {
		assert_int_equal(v->a % 2, 0);
		seen++;
	}
	assert_int_equal(seen, 250);
	wmap_free(&m);
	/* an empty map iterates as empty */
	it = (struct wmap_iter){0};
	assert_false(wmap_next(&m, &it, &k, &n, &v));
}

static char tmpdir[64];

static int setup_tmp(void **unused)
{
	strcpy(tmpdir, "/tmp/fim-test-watch-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **unused)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void state_roundtrip(void **unused)
{
	struct state *st = NULL, *other = NULL;
	char **list = NULL, *cursor = NULL, path[128];
	size_t n = 0;
	struct stat sb;

	assert_int_equal(state_open(tmpdir, &st), 0);
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	/* one daemon at a time */
	assert_int_equal(state_open(tmpdir, &other), -EBUSY);
	assert_int_equal(state_cursor(st, &cursor), -ENOENT);
	assert_int_equal(state_set_cursor(st, "s=abc;i=1"), 0);
	assert_int_equal(state_set_cursor(st, "s=abc;i=2"), 0);
	assert_int_equal(state_rescan_add(st, "/etc", 4), 0);
	assert_int_equal(state_rescan_add(st, "/usr/lib", 8), 0);
	assert_int_equal(state_rescan_add(st, "/etc", 4), 0);
	assert_int_equal(state_rescan_del(st, "/nothing", 8), 0);
	assert_int_equal(state_rescan_add(st, "", 0), -EINVAL);
	state_close(st);

	/* it survives a restart */
	assert_int_equal(state_open(tmpdir, &st), 0);
	assert_int_equal(state_cursor(st, &cursor), 0);
	assert_string_equal(cursor, "s=abc;i=2");
	free(cursor);
	assert_int_equal(state_rescan_list(st, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_true((strcmp(list[0], "/etc") == 0 && strcmp(list[1], "/usr/lib") == 0) ||
	            (strcmp(list[1], "/etc") == 0 && strcmp(list[0], "/usr/lib") == 0));
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	assert_int_equal(state_rescan_del(st, "/etc", 4), 0);
	assert_int_equal(state_rescan_list(st, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0], "/usr/lib");
	free(list[0]);
	free(list);
	snprintf(path, sizeof(path), "%s/state/data.mdb", tmpdir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0077, 0);
	state_close(st);
}

static void sink_names(void **unused)
{
	assert_int_equal(sink_facility("authpriv"), LOG_AUTHPRIV);
	assert_int_equal(sink_facility("local7"), LOG_LOCAL7);
	assert_int_equal(sink_facility("security"), -1);
	assert_int_equal(sink_facility(""), -1);
}

/* The trail sink starts a new file, and a new chain, when the old one was moved away. */
static void sink_trail_rotation(void **unused)
{
	static const char ev1[] =
	        "{\"@timestamp\":\"2026-01-01T00:00:00.000Z\",\"fim\":{\"id\":\"a\"}}";
	static const char ev2[] =
	        "{\"@timestamp\":\"2026-01-01T00:00:01.000Z\",\"fim\":{\"id\":\"b\"}}";
	char file[128], moved[128], why[128];
	struct sink_conf c = {.null = true};
	struct sinks *s = NULL;
	const char *failed = NULL;
	uint64_t lines = 0, bad = 0;

	snprintf(file, sizeof(file), "%s/alerts.jsonl", tmpdir);
	snprintf(moved, sizeof(moved), "%s/alerts.jsonl.1", tmpdir);
	c.file = file;
	assert_int_equal(sinks_open(&c, &s), 0);
	assert_int_equal(sinks_emit(s, ev1, strlen(ev1), &failed), 0);
	assert_int_equal(sinks_emit(s, ev1, strlen(ev1), &failed), 0);
	assert_int_equal(rename(file, moved), 0);
	assert_int_equal(sinks_emit(s, ev2, strlen(ev2), &failed), 0);
	/* not JSON: refused before any sink sees it */
	assert_int_equal(sinks_emit(s, "nope", 4, &failed), -EINVAL);
	assert_int_equal(sinks_count(s), 3);
	sinks_close(s);
	assert_int_equal(trail_verify(moved, NULL, &lines, &bad, why, sizeof(why)), 0);
	assert_int_equal(lines, 2);
	assert_int_equal(trail_verify(file, NULL, &lines, &bad, why, sizeof(why)), 0);
	assert_int_equal(lines, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(map_basics),
	        cmocka_unit_test(map_iterate_delete),
	        cmocka_unit_test_setup_teardown(state_roundtrip, setup_tmp, teardown_tmp),
	        cmocka_unit_test(sink_names),
	        cmocka_unit_test_setup_teardown(sink_trail_rotation, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
