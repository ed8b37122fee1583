/* SPDX-License-Identifier: ISC */
/* Unit tests: cutting JSON events to a byte budget (longest first, marked, still the same bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fim/core/jbytes.h"
#include "fim/report/jcut.h"

/* An event with the base fields and FIM (consumed). */
static json_t *event(json_t *fim)
{
	return json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:s}, s:o}", "@timestamp",
	                 "2026-12-07T23:00:00.000Z", "event", "kind", "alert", "module", "fim",
	                 "action", "changed", "host", "name", "web1", "fim", fim);
}

/* A list of N rules "rule NNNNN padded to 40 bytes". */
static json_t *rules(unsigned n)
{
	json_t *a = json_array();
	char r[64];

	for (unsigned i = 0; i < n; i++) {
		snprintf(r, sizeof(r), "rule %05u ALL=(ALL) /usr/bin/cmd-%05u", i, i);
		json_array_append_new(a, json_string(r));
	}
	return a;
}

static json_t *reparse(const char *s)
{
	json_t *o = json_loads(s, 0, NULL);

	assert_non_null(o);
	return o;
}

static void test_small_event_untouched(void **state)
{
	json_t *ev = event(json_pack("{s:s, s:s}", "object", "file", "id", "/etc/passwd"));
	char *s = jcut_dumps(ev, 4096);

	assert_non_null(s);
	assert_null(strstr(s, "truncated"));
	assert_string_equal(
	        s, "{\"@timestamp\":\"2026-12-07T23:00:00.000Z\",\"event\":{\"kind\":"
	           "\"alert\",\"module\":\"fim\",\"action\":\"changed\"},\"host\":{"
	           "\"name\":\"web1\"},\"fim\":{\"object\":\"file\",\"id\":\"/etc/passwd\"}}");
	free(s);
	json_decref(ev);
}

/* Two long lists share the budget; the short delta and the base fields stay. */
static void test_long_lists_share(void **state)
{
	json_t *ev = event(
	        json_pack("{s:s, s:s, s:s, s:[s], s:{s:o}, s:{s:o}, s:{s:{s:[s], s:[]}}}", "object",
	                  "sudoers", "id", "root", "severity", "critical", "changed", "rules",
	                  "before", "rules", rules(3000), "after", "rules", rules(3001), "delta",
	                  "rules", "added", "evil", "removed"));
	char *s = jcut_dumps(ev, 8000);
	json_t *o, *fim, *d;
	size_t nb, na;

	assert_non_null(s);
	assert_true(strlen(s) <= 8000);
	o = reparse(s);
	fim = json_object_get(o, "fim");
	assert_true(json_is_true(json_object_get(fim, "truncated")));
	d = json_object_get(fim, "dropped");
	nb = json_array_size(json_object_get(json_object_get(fim, "before"), "rules"));
	na = json_array_size(json_object_get(json_object_get(fim, "after"), "rules"));
	/* both kept a fair share, and the counts add up to the whole */
	assert_true(nb > 50 && na > 50);
	assert_true(nb > na ? nb - na <= 2 : na - nb <= 2);
	assert_int_equal(nb + json_integer_value(json_object_get(d, "fim.before.rules")), 3000);
	assert_int_equal(na + json_integer_value(json_object_get(d, "fim.after.rules")), 3001);
	assert_int_equal(json_object_size(d), 2);
	/* kept from the start, in order */
	assert_string_equal(json_string_value(json_array_get(
	                            json_object_get(json_object_get(fim, "after"), "rules"), 0)),
	                    "rule 00000 ALL=(ALL) /usr/bin/cmd-00000");
	assert_string_equal(
	        json_string_value(json_array_get(
	                json_object_get(json_object_get(json_object_get(fim, "delta"), "rules"),
	                                "added"),
	                0)),
	        "evil");
	assert_string_equal(json_string_value(json_object_get(fim, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "host"), "name")),
	                    "web1");
	json_decref(o);
	free(s);
	json_decref(ev);
}

/* A name of raw bytes keeps its hex twin consistent when cut. */
static void test_hex_twin_cut_together(void **state)
{
	uint8_t raw[6000];
	json_t *fim = json_object(), *o, *f;
	char *s;
	const char *hex, *txt;
	uint8_t back[6000];
	size_t n;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = i % 3 ? 'a' : 0xff;
	json_object_set_new(fim, "object", json_string("file"));
	jbytes_set(fim, "id", raw, sizeof(raw));
	json_t *ev = event(fim);
	s = jcut_dumps(ev, 5000);
	assert_non_null(s);
	assert_true(strlen(s) <= 5000);
	o = reparse(s);
	f = json_object_get(o, "fim");
	hex = json_string_value(json_object_get(f, "id_hex"));
	txt = json_string_value(json_object_get(f, "id"));
	assert_non_null(hex);
	n = strlen(hex) / 2;
	assert_true(n > 500 && n < sizeof(raw));
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &back[i]);
	assert_memory_equal(back, raw, n);
	/* the text is what jbytes makes of the same bytes */
	json_t *again = jbytes_new(back, n);
	assert_string_equal(txt, json_string_value(again));
	json_decref(again);
	assert_int_equal(
	        json_integer_value(json_object_get(json_object_get(f, "dropped"), "fim.id")),
	        (json_int_t)(sizeof(raw) - n));
	json_decref(o);
	free(s);
	json_decref(ev);
}

/* Texts are cut at a character boundary and stay valid UTF-8. */
static void test_text_cut_whole_characters(void **state)
{
	char big[20000];
	size_t o = 0;
	json_t *ev, *j;
	char *s;

	while (o + 3 < sizeof(big)) {
		memcpy(big + o, "\xe2\x82\xac", 3); /* U+20AC, three bytes */
		o += 3;
	}
	big[o] = '\0';
	ev = event(json_pack("{s:s, s:s, s:s}", "object", "file", "id", "/x", "note", big));
	s = jcut_dumps(ev, 4096);
	assert_non_null(s);
	assert_true(strlen(s) <= 4096);
	j = reparse(s); /* jansson rejects invalid UTF-8 */
	assert_int_equal(json_string_length(json_object_get(json_object_get(j, "fim"), "note")) % 3,
	                 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "fim"), "id")),
	                    "/x");
	json_decref(j);
	free(s);
	json_decref(ev);
}

/* When nothing that may be cut is left, only the base fields and the name remain. */
static void test_last_resort(void **state)
{
	char big[9000];
	json_t *ev, *j, *f;
	char *s;

	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* a huge host name cannot be cut: the rest gives way */
	ev = json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s, s:s, s:s}}", "@timestamp", "t", "event",
	               "kind", "alert", "host", "name", big, "fim", "object", "file", "id",
	               "/etc/x", "severity", "high");
	s = jcut_dumps(ev, 4096);
	assert_non_null(s);
	j = reparse(s);
	f = json_object_get(j, "fim");
	assert_true(json_is_true(json_object_get(f, "truncated")));
	assert_string_equal(json_string_value(json_object_get(f, "dropped")), "*");
	assert_string_equal(json_string_value(json_object_get(f, "id")), "/etc/x");
	assert_string_equal(json_string_value(json_object_get(f, "severity")), "high");
	json_decref(j);
	free(s);
	json_decref(ev);
}

/* The last resort keeps the first JCUT_ID_KEEP bytes of a raw name, exact in its hex twin. */
static void test_last_resort_raw_id(void **state)
{
	char big[9000];
	uint8_t raw[1000], back[JCUT_ID_KEEP];
	json_t *ev, *fim = json_object(), *j, *f, *again;
	const char *hex;
	char *s;

	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i % 5 ? 'a' + i % 26 : 0x80 + i % 128);
	json_object_set_new(fim, "object", json_string("file"));
	json_object_set_new(fim, "severity", json_string("high"));
	jbytes_set(fim, "id", raw, sizeof(raw));
	ev = json_pack("{s:s, s:{s:s}, s:{s:s}, s:o}", "@timestamp", "t", "event", "kind", "alert",
	               "host", "name", big, "fim", fim);
	s = jcut_dumps(ev, 4096);
	assert_non_null(s);
	j = reparse(s);
	f = json_object_get(j, "fim");
	assert_string_equal(json_string_value(json_object_get(f, "dropped")), "*");
	hex = json_string_value(json_object_get(f, "id_hex"));
	assert_non_null(hex);
	assert_int_equal(strlen(hex), 2 * JCUT_ID_KEEP);
	for (size_t i = 0; i < JCUT_ID_KEEP; i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &back[i]), 1);
	assert_memory_equal(back, raw, JCUT_ID_KEEP);
	again = jbytes_new(raw, JCUT_ID_KEEP);
	assert_string_equal(json_string_value(json_object_get(f, "id")), json_string_value(again));
	json_decref(again);
	json_decref(j);
	free(s);
	json_decref(ev);
}

/* A budget below the minimum is the minimum. */
static void test_budget_floor(void **state)
{
	json_t *ev = event(json_pack("{s:s, s:s, s:{s:o}}", "object", "group", "id", "g", "after",
	                             "members", rules(500)));
	char *s = jcut_dumps(ev, 10);

	assert_non_null(s);
	assert_true(strlen(s) <= JCUT_MIN);
	assert_true(strlen(s) > JCUT_MIN - 200);
	free(s);
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_small_event_untouched),
	        cmocka_unit_test(test_long_lists_share),
	        cmocka_unit_test(test_hex_twin_cut_together),
	        cmocka_unit_test(test_text_cut_whole_characters),
	        cmocka_unit_test(test_last_resort),
	        cmocka_unit_test(test_last_resort_raw_id),
	        cmocka_unit_test(test_budget_floor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
