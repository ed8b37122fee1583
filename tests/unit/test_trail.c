/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/trust/trail.c: the chain, every kind of tampering, keys, locking and the
 * stream. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "fim/trust/trail.h"
#include "tests/unit/fixture.h"

#define MAX_LINES 64

struct fixture {
	char tmp[64];
	char path[128]; /* TMP/alerts.jsonl */
};

static const uint8_t key_a[TRAIL_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t key_b[TRAIL_KEY_BYTES] = {42};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!fx_tmpdir(f->tmp, sizeof(f->tmp), "trail"))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/alerts.jsonl", f->tmp);
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

/* The event of line I as the caller hands it over. */
static int event(char *buf, size_t size, unsigned i)
{
	return snprintf(
	        buf, size,
	        "{\"@timestamp\":\"2026-11-27T20:31:%02u.000Z\",\"event\":{\"kind\":\"alert\","
	        "\"action\":\"changed\"},\"fim\":{\"id\":\"/etc/f%u\",\"n\":%u}}",
	        i % 60, i, i);
}

/* Appends events FIRST..FIRST+N-1 in one session. */
static void append_events(const char *path, const uint8_t *key, unsigned first, unsigned n)
{
	struct trail *t = NULL;
	char line[512];

	assert_int_equal(trail_open(path, key, &t), 0);
	for (unsigned i = first; i < first + n; i++) {
		int len = event(line, sizeof(line), i);
		assert_int_equal(trail_append(t, line, (size_t)len), 0);
	}
	trail_close(t);
}

static char *slurp(const char *path, size_t *ret_n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_n = (size_t)n;
	return buf;
}

static void spew(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* A trail split into its lines (each with its newline) for tampering. */
struct lines {
	char *data;
	size_t n;
	const char *p[MAX_LINES];
	size_t len[MAX_LINES];
	size_t count;
};

static void lines_read(const char *path, struct lines *l)
{
	size_t pos = 0;

	l->data = slurp(path, &l->n);
	l->count = 0;
	while (pos < l->n) {
		const char *e = memchr(l->data + pos, '\n', l->n - pos);
		size_t len = e ? (size_t)(e - (l->data + pos)) + 1 : l->n - pos;
		assert_true(l->count < MAX_LINES);
		l->p[l->count] = l->data + pos;
		l->len[l->count++] = len;
		pos += len;
	}
}

/* Writes the lines numbered (1-based) in ORDER, ending at 0, to PATH. */
static void lines_write(const char *path, const struct lines *l, const unsigned *order)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	for (; *order; order++) {
		assert_true(*order <= l->count);
		fwrite(l->p[*order - 1], 1, l->len[*order - 1], f);
	}
	assert_int_equal(fclose(f), 0);
}

/* Expects the trail at PATH to fail at line BAD with WHY, read from the
 * file and from memory alike. */
static void expect_bad(const char *path, const uint8_t *key, uint64_t bad, const char *why)
{
	uint64_t lines = 999, at = 0;
	char text[128] = "";
	size_t n;
	char *data = slurp(path, &n);

	assert_int_equal(trail_verify(path, key, &lines, &at, text, sizeof(text)), -EBADMSG);
	assert_int_equal(at, bad);
	assert_string_equal(text, why);
	assert_int_equal(lines, 999); /* untouched on failure */
	at = 0;
	text[0] = '\0';
	assert_int_equal(trail_verify_buf(data, n, key, &lines, &at, text, sizeof(text)), -EBADMSG);
	assert_int_equal(at, bad);
	assert_string_equal(text, why);
	free(data);
}

static void expect_intact(const char *path, const uint8_t *key, uint64_t count)
{
	uint64_t lines = 999, at = 0;
	char text[128] = "";
	size_t n;
	char *data = slurp(path, &n);

	assert_int_equal(trail_verify(path, key, &lines, &at, text, sizeof(text)), 0);
	assert_int_equal(lines, count);
	lines = 999;
	assert_int_equal(trail_verify_buf(data, n, key, &lines, &at, text, sizeof(text)), 0);
	assert_int_equal(lines, count);
	free(data);
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

/* hash_N per trail.h, computed here independently of trail.c. */
static void ref_hash(const uint8_t *key, const uint8_t prev[32], uint64_t seq, const char *rest,
                     size_t n, uint8_t out[32])
{
	uint8_t *buf = malloc(32 + 8 + n);

	assert_non_null(buf);
	memcpy(buf, prev, 32);
	for (int i = 0; i < 8; i++)
		buf[32 + i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(buf + 40, rest, n);
	crypto_generichash(out, 32, buf, 40 + n, key, key ? TRAIL_KEY_BYTES : 0);
	free(buf);
}

/* ---- the intact chain and its exact format ---- */

static void test_format(void **state)
{
	struct fixture *f = *state;
	uint8_t prev[32] = {0}, h[32];
	char want[1024], ev[512], hx[65];
	struct lines l;
	struct stat st;

	append_events(f->path, NULL, 1, 3);
	append_events(f->path, NULL, 4, 2); /* a later session continues the chain */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	lines_read(f->path, &l);
	assert_int_equal(l.count, 5);
	for (unsigned i = 1; i <= 5; i++) {
		int n = event(ev, sizeof(ev), i);
		ref_hash(NULL, prev, i, ev + 1, (size_t)n - 1, h);
		hex_of(h, 32, hx);
		snprintf(want, sizeof(want),
		         "{\"fim_chain\":{\"seq\":%u,\"key_id\":\"none\",\"hash\":\"%s\"},%s\n", i,
		         hx, ev + 1);
		assert_int_equal(l.len[i - 1], strlen(want));
		assert_memory_equal(l.p[i - 1], want, strlen(want));
		memcpy(prev, h, 32);

		/* Every line is one JSON object with the caller's members intact. */
		json_t *o = json_loadb(l.p[i - 1], l.len[i - 1] - 1, 0, NULL);
		assert_non_null(o);
		assert_int_equal(
		        json_integer_value(json_object_get(json_object_get(o, "fim_chain"), "seq")),
		        i);
		assert_int_equal(
		        json_integer_value(json_object_get(json_object_get(o, "fim"), "n")), i);
		snprintf(want, sizeof(want), "2026-11-27T20:31:%02u.000Z", i);
		assert_string_equal(json_string_value(json_object_get(o, "@timestamp")), want);
		json_decref(o);
	}
	free(l.data);
	expect_intact(f->path, NULL, 5);
}

static void test_keyed_format(void **state)
{
	struct fixture *f = *state;
	uint8_t prev[32] = {0}, h[32], id[8];
	char want[1024], ev[512], hx[65], idx[17];
	struct lines l;
	int n;

	append_events(f->path, key_a, 1, 2);
	lines_read(f->path, &l);
	crypto_generichash(id, 8, (const uint8_t *)"fim trail key id", 16, key_a, 32);
	hex_of(id, 8, idx);
	n = event(ev, sizeof(ev), 1);
	ref_hash(key_a, prev, 1, ev + 1, (size_t)n - 1, h);
	hex_of(h, 32, hx);
	snprintf(want, sizeof(want),
	         "{\"fim_chain\":{\"seq\":1,\"key_id\":\"%s\",\"hash\":\"%s\"},%s\n", idx, hx,
	         ev + 1);
	assert_int_equal(l.len[0], strlen(want));
	assert_memory_equal(l.p[0], want, strlen(want));
	free(l.data);
	expect_intact(f->path, key_a, 2);
}

static void test_empty_and_missing(void **state)
{
	struct fixture *f = *state;
	struct trail *t = NULL;
	uint64_t lines = 7;
	char missing[160];

	assert_int_equal(trail_open(f->path, NULL, &t), 0); /* creates it, empty */
	trail_close(t);
	expect_intact(f->path, NULL, 0);
	expect_intact(f->path, key_a, 0);
	snprintf(missing, sizeof(missing), "%s/nope", f->tmp);
	assert_int_equal(trail_verify(missing, NULL, &lines, NULL, NULL, 0), -ENOENT);
	assert_int_equal(lines, 7);
	assert_int_equal(trail_verify(f->tmp, NULL, &lines, NULL, NULL, 0), -EISDIR);
	assert_int_equal(trail_verify_buf("", 0, NULL, &lines, NULL, NULL, 0), 0);
	assert_int_equal(lines, 0);
}

/* ---- tampering ---- */

static void test_removed_lines(void **state)
{
	struct fixture *f = *state;
	static const unsigned no_first[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 0};
	static const unsigned no_middle[] = {1, 2, 3, 4, 6, 7, 8, 9, 10, 0};
	static const unsigned no_last_but_one[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 0};
	static const unsigned no_two[] = {1, 2, 3, 6, 7, 8, 9, 10, 0};
	static const unsigned no_last[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0};
	struct lines l;

	append_events(f->path, NULL, 1, 10);
	lines_read(f->path, &l);
	lines_write(f->path, &l, no_first);
	expect_bad(f->path, NULL, 1, "a line is missing before it");
	lines_write(f->path, &l, no_middle);
	expect_bad(f->path, NULL, 5, "a line is missing before it");
	lines_write(f->path, &l, no_last_but_one);
	expect_bad(f->path, NULL, 9, "a line is missing before it");
	lines_write(f->path, &l, no_two);
	expect_bad(f->path, NULL, 4, "a line is missing before it");
	/* The chain alone cannot see lines cut from the end (see the report). */
	lines_write(f->path, &l, no_last);
	expect_intact(f->path, NULL, 9);
	free(l.data);
}

static void test_edited_rest(void **state)
{
	struct fixture *f = *state;
	struct lines l;
	char *p;

	append_events(f->path, key_a, 1, 8);
	lines_read(f->path, &l);
	/* "/etc/f4" -> "/etc/g4" in line 4 */
	p = (char *)memmem(l.p[3], l.len[3], "/etc/f4", 7);
	assert_non_null(p);
	p[5] = 'g';
	spew(f->path, l.data, l.n);
	expect_bad(f->path, key_a, 4, "edited or forged");
	p[5] = 'f';
	/* one byte of the last line */
	p = (char *)memmem(l.p[7], l.len[7], "\"n\":8", 5);
	assert_non_null(p);
	p[4] = '9';
	spew(f->path, l.data, l.n);
	expect_bad(f->path, key_a, 8, "edited or forged");
	p[4] = '8';
	spew(f->path, l.data, l.n);
	expect_intact(f->path, key_a, 8);
	free(l.data);
}

static void test_edited_prefix(void **state)
{
	struct fixture *f = *state;
	struct lines l;
	char *p, c;

	append_events(f->path, NULL, 1, 6);
	lines_read(f->path, &l);

	/* a hex digit of the hash (still hex) */
	p = (char *)memmem(l.p[2], l.len[2], "\"hash\":\"", 8) + 8 + 10;
	c = *p;
	*p = c == 'a' ? 'b' : 'a';
	spew(f->path, l.data, l.n);
	expect_bad(f->path, NULL, 3, "edited or forged");
	*p = c;

	/* an upper-case hex digit: one spelling only */
	p = (char *)memmem(l.p[2], l.len[2], "\"hash\":\"", 8) + 8;
	for (; *p >= '0' && *p <= '9'; p++)
		;
	c = *p;
	*p = (char)(c - 'a' + 'A');
	spew(f->path, l.data, l.n);
	expect_bad(f->path, NULL, 3, "not a trail line");
	*p = c;

	/* the member name */
	p = (char *)memmem(l.p[1], l.len[1], "fim_chain", 9);
	p[8] = 'x';
	spew(f->path, l.data, l.n);
	expect_bad(f->path, NULL, 2, "not a trail line");
	p[8] = 'n';

	/* a space where the writer never puts one */
	p = (char *)memmem(l.p[4], l.len[4], "\"seq\":5", 7);
	p[6] = ' ';
	spew(f->path, l.data, l.n);
	expect_bad(f->path, NULL, 5, "not a trail line");
	p[6] = '5';

	/* seq renumbered down: line 5 claims to be line 4 again */
	p[6] = '4';
	spew(f->path, l.data, l.n);
	expect_bad(f->path, NULL, 5, "out of order or repeated");
	p[6] = '5';

	/* leading zero */
	p = (char *)memmem(l.p[0], l.len[0], "\"seq\":1", 7);
	p[6] = '0';
	spew(f->path, l.data, l.n);
	expect_bad(f->path, NULL, 1, "not a trail line");
	p[6] = '1';

	spew(f->path, l.data, l.n);
	expect_intact(f->path, NULL, 6);
	free(l.data);
}

static void test_reordered_and_repeated(void **state)
{
	struct fixture *f = *state;
	static const unsigned swapped[] = {1, 2, 4, 3, 5, 6, 0};
	static const unsigned first_two_swapped[] = {2, 1, 3, 4, 5, 6, 0};
	static const unsigned moved_far[] = {1, 3, 4, 5, 6, 2, 0};
	static const unsigned duplicated[] = {1, 2, 3, 4, 5, 5, 6, 0};
	static const unsigned dup_last[] = {1, 2, 3, 4, 5, 6, 6, 0};
	static const unsigned replayed_first[] = {1, 2, 3, 4, 5, 6, 1, 0};
	struct lines l;

	append_events(f->path, NULL, 1, 6);
	lines_read(f->path, &l);
	lines_write(f->path, &l, swapped);
	expect_bad(f->path, NULL, 3, "out of order or repeated");
	lines_write(f->path, &l, first_two_swapped);
	expect_bad(f->path, NULL, 1, "out of order or repeated");
	lines_write(f->path, &l, moved_far);
	expect_bad(f->path, NULL, 2, "out of order or repeated");
	lines_write(f->path, &l, duplicated);
	expect_bad(f->path, NULL, 6, "out of order or repeated");
	lines_write(f->path, &l, dup_last);
	expect_bad(f->path, NULL, 7, "out of order or repeated");
	lines_write(f->path, &l, replayed_first);
	expect_bad(f->path, NULL, 7, "out of order or repeated");
	free(l.data);
}

/* A line as an attacker would write it: plausible chain fields, hash
 * computed with KEY (NULL: unkeyed BLAKE2b) and key id ID. */
static size_t forge(char *buf, size_t size, uint64_t seq, const char *id, const uint8_t prev[32],
                    const uint8_t *key, const char *rest)
{
	uint8_t h[32];
	char hx[65];

	ref_hash(key, prev, seq, rest, strlen(rest), h);
	hex_of(h, 32, hx);
	return (size_t)snprintf(buf, size,
	                        "{\"fim_chain\":{\"seq\":%" PRIu64
	                        ",\"key_id\":\"%s\",\"hash\":\"%s\"},%s\n",
	                        seq, id, hx, rest);
}

/* The hash field of line I (1-based) of L. */
static void hash_of(const struct lines *l, unsigned i, uint8_t out[32])
{
	const char *p = (char *)memmem(l->p[i - 1], l->len[i - 1], "\"hash\":\"", 8) + 8;

	assert_int_equal(sodium_hex2bin(out, 32, p, 64, NULL, NULL, NULL), 0);
}

static void test_inserted_and_appended(void **state)
{
	struct fixture *f = *state;
	static const char rest[] = "\"event\":{\"kind\":\"alert\",\"action\":\"removed\"}}";
	uint8_t prev[32], garbage[32] = {7};
	char forged[512], idx[17], *buf;
	struct lines l;
	size_t n, fn;

	append_events(f->path, NULL, 1, 5);
	lines_read(f->path, &l);

	/* a line inserted after line 3, numbered as if it were line 4 */
	fn = forge(forged, sizeof(forged), 4, "none", garbage, NULL, rest);
	buf = malloc(l.n + fn);
	n = (size_t)(l.p[3] - l.data);
	memcpy(buf, l.data, n);
	memcpy(buf + n, forged, fn);
	memcpy(buf + n + fn, l.p[3], l.n - n);
	spew(f->path, buf, l.n + fn);
	expect_bad(f->path, NULL, 4, "edited or forged");
	free(buf);

	/* a line appended with the next seq and a made-up hash */
	fn = forge(forged, sizeof(forged), 6, "none", garbage, NULL, rest);
	buf = malloc(l.n + fn);
	memcpy(buf, l.data, l.n);
	memcpy(buf + l.n, forged, fn);
	spew(f->path, buf, l.n + fn);
	expect_bad(f->path, NULL, 6, "edited or forged");

	/* Unkeyed, whoever can write the file can extend the chain: the
	 * reason for a key. */
	hash_of(&l, 5, prev);
	fn = forge(forged, sizeof(forged), 6, "none", prev, NULL, rest);
	memcpy(buf + l.n, forged, fn);
	spew(f->path, buf, l.n + fn);
	expect_intact(f->path, NULL, 6);
	free(buf);
	free(l.data);

	/* Keyed, the same forgery (right id, right structure, no key) fails. */
	unlink(f->path);
	append_events(f->path, key_a, 1, 5);
	lines_read(f->path, &l);
	hash_of(&l, 5, prev);
	memcpy(idx, (char *)memmem(l.p[0], l.len[0], "\"key_id\":\"", 10) + 10, 16);
	idx[16] = '\0';
	fn = forge(forged, sizeof(forged), 6, idx, prev, NULL, rest);
	buf = malloc(l.n + fn);
	memcpy(buf, l.data, l.n);
	memcpy(buf + l.n, forged, fn);
	spew(f->path, buf, l.n + fn);
	expect_bad(f->path, key_a, 6, "edited or forged");
	/* ... and with the key it passes (the construction is the documented one) */
	fn = forge(forged, sizeof(forged), 6, idx, prev, key_a, rest);
	memcpy(buf + l.n, forged, fn);
	spew(f->path, buf, l.n + fn);
	expect_intact(f->path, key_a, 6);
	free(buf);
	free(l.data);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct trail *t = NULL;
	struct lines l;
	size_t cut;

	append_events(f->path, NULL, 1, 7);
	lines_read(f->path, &l);
	cut = (size_t)(l.p[6] - l.data) + l.len[6] / 2;
	spew(f->path, l.data, cut);
	expect_bad(f->path, NULL, 7, "incomplete last line");
	/* The chain cannot be continued after a half line. */
	assert_int_equal(trail_open(f->path, NULL, &t), -EBADMSG);
	/* just the newline missing */
	spew(f->path, l.data, l.n - 1);
	expect_bad(f->path, NULL, 7, "incomplete last line");
	assert_int_equal(trail_open(f->path, NULL, &t), -EBADMSG);
	/* cut right after a newline: undetectable, like a removed last line */
	spew(f->path, l.data, (size_t)(l.p[6] - l.data));
	expect_intact(f->path, NULL, 6);
	free(l.data);
}

static void test_not_trail_lines(void **state)
{
	struct fixture *f = *state;
	struct lines l;
	struct trail *t = NULL;
	char *buf;
	static const char *bad[] = {
	        "hello\n",
	        "\n",
	        "{\"a\":1}\n",
	        "{\"fim_chain\":{\"seq\":2,\"key_id\":\"none\",\"hash\":\"00\"},\"a\":1}\n",
	        "{\"fim_chain\":{\"seq\":2,\"key_id\":\"nonE\",\"hash\":\"" /* bad key */
	        "0000000000000000000000000000000000000000000000000000000000000000\"},\"a\":1}\n",
	        "{\"fim_chain\":{\"seq\":2,\"key_id\":\"none\",\"hash\":\""
	        "0000000000000000000000000000000000000000000000000000000000000000\"},\n",
	        "{\"fim_chain\":{\"seq\":2,\"key_id\":\"none\",\"hash\":\""
	        "0000000000000000000000000000000000000000000000000000000000000000\"},\"a\":1\n",
	        "{\"fim_chain\":{\"seq\":99999999999999999999999,\"key_id\":\"none\",\"hash\":\""
	        "0000000000000000000000000000000000000000000000000000000000000000\"},\"a\":1}\n",
	};

	append_events(f->path, NULL, 1, 1);
	lines_read(f->path, &l);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t bn = strlen(bad[i]);
		buf = malloc(l.n + bn);
		memcpy(buf, l.data, l.n);
		memcpy(buf + l.n, bad[i], bn);
		spew(f->path, buf, l.n + bn);
		expect_bad(f->path, NULL, 2, "not a trail line");
		/* appending after such a line is refused */
		assert_int_equal(trail_open(f->path, NULL, &t), -EBADMSG);
		free(buf);
	}
	free(l.data);
}

static void test_long_lines(void **state)
{
	struct fixture *f = *state;
	size_t max = TRAIL_MAX_LINE - 160 - 1, n;
	struct trail *t = NULL;
	char *line = malloc(max + 2), *data;

	/* {"x":"aaaa...a"} of exactly the longest length accepted */
	memcpy(line, "{\"x\":\"", 6);
	memset(line + 6, 'a', max - 8);
	memcpy(line + max - 2, "\"}", 2);
	assert_int_equal(trail_open(f->path, NULL, &t), 0);
	assert_int_equal(trail_append(t, line, max), 0);
	assert_int_equal(trail_append(t, "{\"y\":1}", 7), 0);
	assert_int_equal(trail_append(t, line, max), 0);
	memmove(line + 1, line, max);
	line[0] = '{', line[1] = ' ';
	assert_int_equal(trail_append(t, line, max + 1), -EMSGSIZE);
	trail_close(t);
	/* three lines over 2 MiB: the file reader crosses its buffer */
	expect_intact(f->path, NULL, 3);

	/* a line over the limit in the middle is not a trail line */
	data = slurp(f->path, &n);
	data = realloc(data, n + TRAIL_MAX_LINE + 3);
	memmove(data + TRAIL_MAX_LINE + 2, data, n);
	memset(data, 'z', TRAIL_MAX_LINE + 1);
	data[TRAIL_MAX_LINE + 1] = '\n';
	spew(f->path, data, n + TRAIL_MAX_LINE + 2);
	expect_bad(f->path, NULL, 1, "not a trail line");
	/* ... and as the incomplete last line */
	spew(f->path, data, TRAIL_MAX_LINE + 1);
	expect_bad(f->path, NULL, 1, "incomplete last line");
	assert_int_equal(trail_open(f->path, NULL, &t), -EBADMSG);
	free(data);
	free(line);
}

/* ---- keys ---- */

static void test_keys(void **state)
{
	struct fixture *f = *state;
	struct trail *t = NULL;
	char other[160];

	append_events(f->path, key_a, 1, 4);
	expect_intact(f->path, key_a, 4);
	expect_bad(f->path, NULL, 1, "keyed, but no key was given");
	expect_bad(f->path, key_b, 1, "made with another key");
	/* appending with another key, or none, would break the chain */
	assert_int_equal(trail_open(f->path, key_b, &t), -EKEYREJECTED);
	assert_int_equal(trail_open(f->path, NULL, &t), -EKEYREJECTED);
	assert_null(t);
	append_events(f->path, key_a, 5, 1);
	expect_intact(f->path, key_a, 5);

	snprintf(other, sizeof(other), "%s/unkeyed.jsonl", f->tmp);
	append_events(other, NULL, 1, 3);
	expect_bad(other, key_a, 1, "not keyed, but a key was given");
	assert_int_equal(trail_open(other, key_a, &t), -EKEYREJECTED);
}

static void test_key_mismatch_appending(void **state)
{
	struct fixture *f = *state;
	struct trail *ta = NULL, *tb = NULL;

	/* Both open an empty trail; the first to append decides the key. */
	assert_int_equal(trail_open(f->path, key_a, &ta), 0);
	assert_int_equal(trail_open(f->path, key_b, &tb), 0);
	assert_int_equal(trail_append(ta, "{\"a\":1}", 7), 0);
	assert_int_equal(trail_append(tb, "{\"b\":1}", 7), -EKEYREJECTED);
	assert_int_equal(trail_append(ta, "{\"a\":2}", 7), 0);
	trail_close(ta);
	trail_close(tb);
	expect_intact(f->path, key_a, 2);
}

static void test_load_key(void **state)
{
	struct fixture *f = *state;
	uint8_t key[TRAIL_KEY_BYTES], again[TRAIL_KEY_BYTES], want[TRAIL_KEY_BYTES];
	char path[160], big[70000];

	snprintf(path, sizeof(path), "%s/key", f->tmp);
	spew(path, "0123456789abcdef0123456789abcde", 31);
	assert_int_equal(trail_load_key(path, key), -EINVAL);
	spew(path, "0123456789abcdef0123456789abcdef\n", 33);
	assert_int_equal(trail_load_key(path, key), 0);
	crypto_generichash(want, 32, (const uint8_t *)"0123456789abcdef0123456789abcdef\n", 33,
	                   NULL, 0);
	assert_memory_equal(key, want, 32);
	assert_int_equal(trail_load_key(path, again), 0);
	assert_memory_equal(key, again, 32);
	memset(big, 'k', sizeof(big));
	spew(path, big, sizeof(big));
	assert_int_equal(trail_load_key(path, key), -EFBIG);
	assert_memory_equal(key, again, 32); /* untouched on failure */
	assert_int_equal(trail_load_key(f->tmp, key), -EISDIR);
	snprintf(path, sizeof(path), "%s/nokey", f->tmp);
	assert_int_equal(trail_load_key(path, key), -ENOENT);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(trail_load_key(path, key), -EBADFD);
}

/* ---- what trail_open and trail_append refuse ---- */

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct trail *t = NULL;
	char path[160];

	snprintf(path, sizeof(path), "%s/link", f->tmp);
	assert_int_equal(symlink("alerts.jsonl", path), 0);
	assert_int_equal(trail_open(path, NULL, &t), -ELOOP);
	assert_int_equal(access(f->path, F_OK), -1); /* not created through the link */
	snprintf(path, sizeof(path), "%s/fifo", f->tmp);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(trail_open(path, NULL, &t), -EBADFD);
	assert_int_equal(trail_verify(path, NULL, NULL, NULL, NULL, 0), -EBADFD);
	assert_int_equal(trail_open(f->tmp, NULL, &t), -EISDIR);
	snprintf(path, sizeof(path), "%s/no/such/dir", f->tmp);
	assert_int_equal(trail_open(path, NULL, &t), -ENOENT);
	assert_null(t);
	assert_string_equal(trail_cause(-EBADFD), "not a regular file");
	assert_string_equal(trail_cause(-EKEYREJECTED),
	                    "its chain was made with another key (or without one)");
}

static void test_input_validation(void **state)
{
	struct fixture *f = *state;
	struct trail *t = NULL;
	struct stat st;
	static const char *bad[] = {
	        "",
	        "{}",
	        "{ }",
	        "[1]",
	        "\"x\"",
	        "{\"a\":1}x",
	        "{\"a\":1",
	        "{\"a\":}",
	        "{\"a\":1,\n\"b\":2}",
	        "{\"a\":1}{\"b\":2}",
	        "{\"fim_chain\":1}",
	        "{\"a\":1,\"fim_chain\":{\"seq\":1}}",
	        "{\"a\":1,\"a\":2}",
	};

	assert_int_equal(trail_open(f->path, NULL, &t), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(trail_append(t, bad[i], strlen(bad[i])), -EINVAL);
	assert_int_equal(trail_append(t, "{\"a\":\"x\0y\"}", 11), -EINVAL);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0);
	/* whitespace inside is the caller's business and hashed as written */
	assert_int_equal(trail_append(t, "{ \"a\" : [1, 2] }", 16), 0);
	assert_int_equal(trail_append(t, "{\"nested\":{\"fim_chain\":1}}", 26), 0);
	trail_close(t);
	expect_intact(f->path, NULL, 2);
}

/* A write that the file size limit cuts short leaves nothing behind. */
static void test_short_write(void **state)
{
	struct fixture *f = *state;
	struct trail *t = NULL;
	struct stat st;
	char line[512];
	int status, n;
	pid_t pid;

	append_events(f->path, NULL, 1, 3);
	assert_int_equal(stat(f->path, &st), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {.rlim_cur = (rlim_t)st.st_size + 20,
		                    .rlim_max = (rlim_t)st.st_size + 20};
		int r;
		signal(SIGXFSZ, SIG_IGN);
		if (trail_open(f->path, NULL, &t) != 0 || setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(1);
		n = event(line, sizeof(line), 4);
		r = trail_append(t, line, (size_t)n);
		/* the second attempt starts at the limit: nothing is written */
		if (r != -ENOSPC)
			_exit(2);
		r = trail_append(t, line, (size_t)n);
		if (r != -ENOSPC)
			_exit(3);
		trail_close(t);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	expect_intact(f->path, NULL, 3);
	append_events(f->path, NULL, 4, 1);
	expect_intact(f->path, NULL, 4);
}

/* ---- concurrency ---- */

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	enum { WRITERS = 4, EACH = 200 };
	unsigned seen[WRITERS] = {0};
	pid_t pids[WRITERS];
	size_t n, pos = 0;
	char *data;

	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			struct trail *t = NULL;
			char line[128];
			if (trail_open(f->path, key_a, &t) != 0)
				_exit(1);
			for (int i = 0; i < EACH; i++) {
				int len = snprintf(line, sizeof(line), "{\"writer\":%d,\"i\":%d}",
				                   w, i);
				if (trail_append(t, line, (size_t)len) != 0)
					_exit(2);
			}
			trail_close(t);
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int status;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	expect_intact(f->path, key_a, WRITERS * EACH);
	/* every writer's lines are there, each writer's in its own order */
	data = slurp(f->path, &n);
	while (pos < n) {
		char *e = memchr(data + pos, '\n', n - pos), *w = strstr(data + pos, "\"writer\":");
		int wr, i;
		assert_non_null(e);
		assert_int_equal(sscanf(w, "\"writer\":%d,\"i\":%d}", &wr, &i), 2);
		assert_true(wr >= 0 && wr < WRITERS);
		assert_int_equal(i, seen[wr]);
		seen[wr]++;
		pos = (size_t)(e - data) + 1;
	}
	for (int w = 0; w < WRITERS; w++)
		assert_int_equal(seen[w], EACH);
	free(data);
}

/* ---- the stream ---- */

static void test_stream(void **state)
{
	struct fixture *f = *state;
	struct trail *t = NULL;
	struct lines l;
	FILE *s;

	assert_int_equal(trail_open(f->path, NULL, &t), 0);
	s = trail_stream(t);
	assert_non_null(s);
	/* lines in pieces, several in one write, one split across writes */
	fputs("{\"a\":", s);
	fputs("1}", s);
	fputs("\n{\"b\":2}\n{\"c\"", s);
	fflush(s);
	fprintf(s, ":%d}\n", 3);
	fwrite("{\"d\":4}\n", 1, 8, s);
	fflush(s);
	assert_false(ferror(s));
	/* complete lines are in the trail before the stream closes */
	expect_intact(f->path, NULL, 4);
	assert_int_equal(fclose(s), 0);
	/* the stream did not close T */
	assert_int_equal(trail_append(t, "{\"e\":5}", 7), 0);
	trail_close(t);
	expect_intact(f->path, NULL, 5);
	lines_read(f->path, &l);
	assert_non_null((char *)memmem(l.p[0], l.len[0], "},\"a\":1}\n", 9));
	assert_non_null((char *)memmem(l.p[2], l.len[2], "},\"c\":3}\n", 9));
	assert_non_null((char *)memmem(l.p[4], l.len[4], "},\"e\":5}\n", 9));
	free(l.data);
}

static void test_stream_errors(void **state)
{
	struct fixture *f = *state;
	struct trail *t = NULL;
	FILE *s;

	assert_int_equal(trail_open(f->path, NULL, &t), 0);

	/* a line that is not an object: a stream error, sticky, and fclose says so */
	s = trail_stream(t);
	fputs("{\"ok\":1}\nnot json\n", s);
	fflush(s);
	assert_true(ferror(s));
	errno = 0;
	assert_int_equal(fclose(s), EOF);
	assert_int_equal(errno, EINVAL);
	expect_intact(f->path, NULL, 1);

	/* an unfinished line at close is an error, not a silent drop */
	s = trail_stream(t);
	fputs("{\"half\":", s);
	errno = 0;
	assert_int_equal(fclose(s), EOF);
	assert_int_equal(errno, EINVAL);

	/* an endless line is cut off at the limit */
	s = trail_stream(t);
	for (unsigned i = 0; i < TRAIL_MAX_LINE / 4096 + 2 && !ferror(s); i++) {
		char chunk[4096];
		memset(chunk, 'x', sizeof(chunk));
		fwrite(chunk, 1, sizeof(chunk), s);
		fflush(s);
	}
	assert_true(ferror(s));
	errno = 0;
	assert_int_equal(fclose(s), EOF);
	assert_int_equal(errno, EMSGSIZE);

	trail_close(t);
	expect_intact(f->path, NULL, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_format),
	        T(test_keyed_format),
	        T(test_empty_and_missing),
	        T(test_removed_lines),
	        T(test_edited_rest),
	        T(test_edited_prefix),
	        T(test_reordered_and_repeated),
	        T(test_inserted_and_appended),
	        T(test_truncated),
	        T(test_not_trail_lines),
	        T(test_long_lines),
	        T(test_keys),
	        T(test_key_mismatch_appending),
	        T(test_load_key),
	        T(test_refusals),
	        T(test_input_validation),
	        T(test_short_write),
	        T(test_concurrent),
	        T(test_stream),
	        T(test_stream_errors),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
