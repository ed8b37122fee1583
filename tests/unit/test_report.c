/* SPDX-License-Identifier: ISC */
/* Unit tests: JSON and human report sinks, UTF-8 checks and byte quoting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fim/report/report.h"
#include "fim/core/utf8.h"
#include "fim/core/error.h"

static struct policy_rule rule = {
        .kind = KIND_FILE, .file = "t.policy", .line = 3, .pattern = "/etc", .severity = SEV_HIGH};

static void rec_init(struct file_rec *r, uint32_t mode, uint64_t size)
{
	*r = (struct file_rec){0};
	r->attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_SIZE) |
	           ATTR_BIT(ATTR_UID) | ATTR_BIT(ATTR_HASH) | ATTR_BIT(ATTR_MTIME);
	r->type = FT_REG;
	r->mode = mode;
	r->size = size;
	r->mtime_ns = 1000000000LL * 1800000000LL;
	r->hash_algo = HASH_SHA256;
	memset(r->hash, 0xab, 32);
}

/* Runs one drift through the JSON sink and returns the parsed lines. */
static json_t *json_lines(const struct drift *d, size_t *count)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct report rep = {.ops = &report_json, .out = f};
	struct report_info info = {.command = "check"};
	struct report_summary sum = {.scanned = 7, .changed = 1};
	json_t *all = json_array();

	assert_int_equal(rep.ops->begin(&rep, &info), 0);
	assert_int_equal(rep.ops->drift(&rep, d), 0);
	assert_int_equal(rep.ops->end(&rep, &sum), 0);
	rep.ops->free(&rep);
	fclose(f);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);
		assert_non_null(j);
		json_array_append_new(all, j);
	}
	free(text);
	*count = json_array_size(all);
	return all;
}

static void test_json_changed(void **state)
{
	struct file_rec before, after;
	struct drift d = {.action = DRIFT_CHANGED,
	                  .kind = KIND_FILE,
	                  .id = BYTES_STR("/etc/passwd"),
	                  .rule = &rule,
	                  .changed = ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_HASH)};
	size_t n;

	rec_init(&before, 0644, 10);
	rec_init(&after, 0600, 10);
	after.hash[0] = 0xcd;
	d.before = &before;
	d.after = &after;
	json_t *all = json_lines(&d, &n);
	assert_int_equal(n, 2);
	json_t *a = json_array_get(all, 0);
	const char *ts = json_string_value(json_object_get(a, "@timestamp"));
	assert_non_null(ts);
	assert_int_equal(strlen(ts), 24); /* 2026-11-27T20:31:21.123Z */
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[23], 'Z');
	json_t *ev = json_object_get(a, "event");
	assert_string_equal(json_string_value(json_object_get(ev, "kind")), "alert");
	assert_string_equal(json_string_value(json_object_get(ev, "module")), "fim");
	assert_string_equal(json_string_value(json_object_get(ev, "action")), "changed");
	assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "category"), 0)),
	                    "file");
	assert_string_equal(json_string_value(json_array_get(json_object_get(ev, "type"), 0)),
	                    "change");
	assert_int_equal(json_integer_value(json_object_get(ev, "severity")), 73);
	json_t *fim = json_object_get(a, "fim");
	assert_string_equal(json_string_value(json_object_get(fim, "object")), "file");
	assert_string_equal(json_string_value(json_object_get(fim, "id")), "/etc/passwd");
	assert_string_equal(json_string_value(json_object_get(fim, "rule")), "/etc");
	assert_string_equal(json_string_value(json_object_get(fim, "severity")), "high");
	json_t *ch = json_object_get(fim, "changed");
	assert_int_equal(json_array_size(ch), 2);
	assert_string_equal(json_string_value(json_array_get(ch, 0)), "mode");
	assert_string_equal(json_string_value(json_array_get(ch, 1)), "hash");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(fim, "before"), "mode")), "0644");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(fim, "after"), "mode")), "0600");
	assert_int_equal(json_object_size(json_object_get(fim, "before")), 2);
	const char *h = json_string_value(json_object_get(json_object_get(fim, "after"), "hash"));
	assert_non_null(h);
	assert_memory_equal(h, "sha256:cdabab", 13);
	json_t *file = json_object_get(a, "file");
	assert_string_equal(json_string_value(json_object_get(file, "path")), "/etc/passwd");
	assert_string_equal(json_string_value(json_object_get(file, "name")), "passwd");
	assert_string_equal(json_string_value(json_object_get(file, "directory")), "/etc");
	assert_string_equal(json_string_value(json_object_get(file, "mode")), "0600");
	json_t *sum = json_object_get(json_object_get(json_array_get(all, 1), "fim"), "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "scanned")), 7);
	assert_int_equal(json_integer_value(json_object_get(sum, "changed")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "added")), 0);
	assert_int_equal(json_integer_value(json_object_get(sum, "errors")), 0);
	json_decref(all);
}

/* Paths with newlines and invalid UTF-8 stay valid JSON and distinguishable. */
static void test_json_weird_path(void **state)
{
	static const uint8_t p1[] = "/etc/a\nb\xff";
	static const uint8_t p2[] = "/etc/a\nb\xfe";
	struct file_rec after;
	const char *hex[2];
	json_t *all[2];
	size_t n;

	rec_init(&after, 0644, 1);
	for (int i = 0; i < 2; i++) {
		struct drift d = {.action = DRIFT_ADDED,
		                  .kind = KIND_FILE,
		                  .id = {i ? p2 : p1, sizeof(p1) - 1},
		                  .rule = &rule,
		                  .after = &after};
		all[i] = json_lines(&d, &n);
		assert_int_equal(n, 2);
		json_t *fim = json_object_get(json_array_get(all[i], 0), "fim");
		assert_string_equal(json_string_value(json_object_get(fim, "id")),
		                    "/etc/a\nb\xef\xbf\xbd");
		hex[i] = json_string_value(json_object_get(fim, "id_hex"));
		assert_non_null(hex[i]);
	}
	assert_string_equal(hex[0], "2f6574632f610a62ff");
	assert_string_equal(hex[1], "2f6574632f610a62fe");
	json_decref(all[0]);
	json_decref(all[1]);
}

static void test_utf8(void **state)
{
	assert_true(utf8_valid((const uint8_t *)"h\xc3\xa9llo", 6));
	assert_false(utf8_valid((const uint8_t *)"\xc0\xaf", 2));         /* overlong */
	assert_false(utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_valid((const uint8_t *)"a\0b", 3));
	assert_false(utf8_valid((const uint8_t *)"\xe2\x82", 2)); /* truncated */
	assert_true(utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
}

static void test_quote(void **state)
{
	char buf[64];

	assert_string_equal(utf8_quote("/a b", 4, buf, sizeof(buf)), "/a b");
	assert_string_equal(utf8_quote("/a\nb", 4, buf, sizeof(buf)), "/a\\nb");
	assert_string_equal(utf8_quote("/a\\nb", 5, buf, sizeof(buf)), "/a\\\\nb");
	assert_string_equal(utf8_quote("/\xff\x01", 3, buf, sizeof(buf)), "/\\xff\\x01");
	assert_string_equal(utf8_quote("/h\xc3\xa9", 4, buf, sizeof(buf)), "/h\xc3\xa9");
	/* A right-to-left override and a C1 CSI would steer the terminal. */
	assert_string_equal(utf8_quote("/a\xe2\x80\xae"
	                               "b",
	                               6, buf, sizeof(buf)),
	                    "/a\\xe2\\x80\\xaeb");
	assert_string_equal(utf8_quote("/\xc2\x9b", 3, buf, sizeof(buf)), "/\\xc2\\x9b");
	char small[12];
	assert_string_equal(utf8_quote("/0123456789abcdef", 17, small, sizeof(small)),
	                    "/0123456...");
}

static void test_cause(void **state)
{
	assert_string_equal(err_cause(-EAGAIN), "kept changing while being read");
	assert_string_equal(err_cause(-ELOOP), "nested too deeply");
	assert_string_equal(err_cause(-EACCES), "Permission denied");
}

static void test_human_summary_first(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct report rep = {.ops = &report_human, .out = f};
	struct report_info info = {.command = "check",
	                           .created = "2026-11-27T00:00:00Z",
	                           .host = "web1",
	                           .hash = "sha256"};
	struct report_summary sum = {.scanned = 3, .changed = 1, .removed = 1};
	struct file_rec before, after;

	rec_init(&before, 0644, 10);
	rec_init(&after, 0600, 10);
	struct drift d = {.action = DRIFT_CHANGED,
	                  .id = BYTES_STR("/etc/x"),
	                  .rule = &rule,
	                  .changed = ATTR_BIT(ATTR_MODE),
	                  .before = &before,
	                  .after = &after};
	struct drift g = {.action = DRIFT_REMOVED,
	                  .id = BYTES_STR("/etc/gone"),
	                  .rule = &rule,
	                  .before = &before};
	assert_int_equal(rep.ops->begin(&rep, &info), 0);
	assert_int_equal(rep.ops->drift(&rep, &g), 0);
	assert_int_equal(rep.ops->drift(&rep, &d), 0);
	assert_int_equal(rep.ops->end(&rep, &sum), 0);
	rep.ops->free(&rep);
	fclose(f);
	assert_string_equal(text,
	                    "fim check: DRIFT - 1 changed, 0 added, 1 removed, 0 unreadable; 3 "
	                    "objects scanned in 0.0 s\n"
	                    "baseline: 2026-11-27T00:00:00Z on web1 (sha256)\n"
	                    "\nChanged (1)\n"
	                    "  /etc/x  [high]  mode\n"
	                    "      mode     0644 -> 0600\n"
	                    "\nRemoved (1)\n"
	                    "  /etc/gone  [high]  file 0644 0:0, 10 bytes\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_json_changed), cmocka_unit_test(test_json_weird_path),
	        cmocka_unit_test(test_utf8),         cmocka_unit_test(test_quote),
	        cmocka_unit_test(test_cause),        cmocka_unit_test(test_human_summary_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
