/* SPDX-License-Identifier: ISC */
/* Differential tests of the policy matcher: the rule index answers as a plain scan of every rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fnmatch.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fim/core/common.h"
#include "policy/policy.h"

#define MAX_COMPS 6
#define MAX_RULES 48

/* A rule as the reference sees it: its components as written, and its prefix. */
struct ref_rule {
	char comps[MAX_COMPS][16];
	size_t n;
	char prefix; /* '\0', '!' or '=' */
};

struct ref_path {
	char comps[MAX_COMPS + 2][16];
	size_t n;
};

static uint64_t rng_state;

/* xorshift64*: the same sequence for the same seed, on every machine. */
static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

static const char *const names[] = {"a", "b", "c", "ab", "ba", "etc"};
static const char *const globs[] = {"*", "a*", "?", "[ab]", "*b", "e?c", "**"};

/* A component as written is a glob when it has a wildcard no backslash escapes. */
static bool is_glob(const char *c)
{
	for (; *c; c++) {
		if (*c == '\\' && c[1])
			c++;
		else if (strchr("*?[", *c))
			return true;
	}
	return false;
}

/* A literal component as written, its escapes resolved. */
static void unescape_comp(const char *c, char *out)
{
	for (; *c; c++) {
		if (*c == '\\' && c[1])
			c++;
		*out++ = *c;
	}
	*out = '\0';
}

static bool comp_match(const char *pat, const char *name)
{
	char lit[16];

	if (is_glob(pat))
		return fnmatch(pat, name, 0) == 0;
	unescape_comp(pat, lit);
	return strcmp(lit, name) == 0;
}

/* Does R[i..] (plus "**" when TAIL) consume exactly D[j..]? */
static bool ref_consume(const struct ref_rule *r, size_t i, bool tail, const struct ref_path *d,
                        size_t j)
{
	if (i == r->n)
		return tail || j == d->n;
	if (strcmp(r->comps[i], "**") == 0)
		return ref_consume(r, i + 1, tail, d, j) ||
		       (j < d->n && ref_consume(r, i, tail, d, j + 1));
	return j < d->n && comp_match(r->comps[i], d->comps[j]) &&
	       ref_consume(r, i + 1, tail, d, j + 1);
}

static bool ref_matches(const struct ref_rule *r, const struct ref_path *d)
{
	return ref_consume(r, 0, r->prefix != '=', d, 0);
}

/* Can R[i..] (plus "**" when TAIL) match D[j..] followed by one or more components? Every
 * component the generator writes matches some name, so what is left of the pattern can always
 * be met once D is used up. */
static bool ref_below(const struct ref_rule *r, size_t i, bool tail, const struct ref_path *d,
                      size_t j)
{
	if (j == d->n)
		return tail || i < r->n;
	if (i == r->n)
		return tail;
	if (strcmp(r->comps[i], "**") == 0)
		return ref_below(r, i + 1, tail, d, j) || ref_below(r, i, tail, d, j + 1);
	return comp_match(r->comps[i], d->comps[j]) && ref_below(r, i + 1, tail, d, j + 1);
}

/* The last matching rule, or -1. */
static int ref_match(const struct ref_rule *rules, size_t n, const struct ref_path *d)
{
	for (size_t k = n; k-- > 0;)
		if (ref_matches(&rules[k], d))
			return (int)k;
	return -1;
}

/* The documented rule: the last rule that either excludes DIR or can select below it decides. */
static bool ref_descend(const struct ref_rule *rules, size_t n, const struct ref_path *d)
{
	for (size_t k = n; k-- > 0;) {
		const struct ref_rule *r = &rules[k];

		if (r->prefix == '!') {
			if (ref_matches(r, d))
				return false;
		} else if (ref_below(r, 0, r->prefix != '=', d, 0)) {
			return true;
		}
	}
	return false;
}

static void gen_rule(struct ref_rule *r, const struct ref_path *near)
{
	static const char prefixes[] = {'\0', '\0', '\0', '!', '!', '='};

	r->prefix = prefixes[rnd(sizeof(prefixes))];
	r->n = rnd(MAX_COMPS);
	for (size_t i = 0; i < r->n; i++) {
		unsigned pick = rnd(10);
		const char *c;

		/* mostly literal, often along a path in use, so that prefixes are shared */
		if (pick < 4 && near && i < near->n)
			c = near->comps[i];
		else if (pick < 7)
			c = names[rnd(ARRAY_SIZE(names))];
		else
			c = globs[rnd(ARRAY_SIZE(globs))];
		snprintf(r->comps[i], sizeof(r->comps[i]), "%s", c);
	}
}

static void gen_path(struct ref_path *d)
{
	d->n = rnd(MAX_COMPS + 2);
	for (size_t i = 0; i < d->n; i++)
		snprintf(d->comps[i], sizeof(d->comps[i]), "%s", names[rnd(ARRAY_SIZE(names))]);
}

static size_t path_text(const struct ref_path *d, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < d->n; i++)
		n += (size_t)snprintf(buf + n, size - n, "/%s", d->comps[i]);
	if (n == 0)
		n = (size_t)snprintf(buf, size, "/");
	return n;
}

static char *policy_text(const struct ref_rule *rules, size_t n)
{
	char *buf = malloc(n * 64 + 1), *o = buf;

	assert_non_null(buf);
	for (size_t k = 0; k < n; k++) {
		if (rules[k].prefix)
			*o++ = rules[k].prefix;
		if (rules[k].n == 0)
			*o++ = '/';
		for (size_t i = 0; i < rules[k].n; i++)
			o += sprintf(o, "/%s", rules[k].comps[i]);
		*o++ = '\n';
	}
	*o = '\0';
	return buf;
}

static struct policy *load_text(const char *text)
{
	char path[] = "/tmp/fim-policy-index-XXXXXX";
	struct policy_error err = {0};
	struct policy *p = NULL;
	int fd = mkstemp(path);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	if (policy_load(path, &p, &err) < 0)
		fail_msg("%s:%u:%u: %s", err.file, err.line, err.col, err.message);
	unlink(path);
	return p;
}

/* Many random rule sets, many random paths: policy_match and policy_descend agree with the
 * reference scan on every one. The seed is fixed, so a failure can be replayed. */
static void test_index_differential(void **state)
{
	unsigned long checked = 0;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (unsigned set = 0; set < 1500; set++) {
		struct ref_rule rules[MAX_RULES];
		struct ref_path seed_path;
		size_t n = 1 + rnd(MAX_RULES);
		char *text;
		struct policy *p;

		gen_path(&seed_path);
		for (size_t k = 0; k < n; k++)
			gen_rule(&rules[k], rnd(2) ? &seed_path : NULL);
		text = policy_text(rules, n);
		p = load_text(text);
		assert_int_equal(policy_rule_count(p), n);
		for (unsigned q = 0; q < 60; q++) {
			struct ref_path d;
			char path[256];
			size_t len;
			int want = -1;
			const struct policy_rule *got;
			bool want_d, got_d;

			if (q % 3 == 0) {
				d = seed_path;
				d.n = rnd((unsigned)seed_path.n + 1);
			} else {
				gen_path(&d);
			}
			len = path_text(&d, path, sizeof(path));
			want = ref_match(rules, n, &d);
			got = policy_match(p, path, len);
			if (got != (want < 0 ? NULL : policy_rule_at(p, (size_t)want)))
				fail_msg("set %u: %s: want rule %d, got line %u\n%s", set, path,
				         want + 1, got ? got->line : 0, text);
			want_d = ref_descend(rules, n, &d);
			got_d = policy_descend(p, path, len);
			if (want_d != got_d)
				fail_msg("set %u: descend %s: want %d, got %d\n%s", set, path,
				         want_d, got_d, text);
			checked++;
		}
		policy_free(p);
		free(text);
	}
	assert_int_equal(checked, 1500 * 60);
}

/* Rules that share long literal prefixes and differ only deep down: the index must keep rule
 * order across nodes (a late shallow rule beats an early deep one, and the reverse). */
static void test_index_order_across_nodes(void **state)
{
	struct policy *p = load_text("/a/b/c/d CONTENT\n"
	                             "!/a\n"
	                             "/a/b/c\n"
	                             "!/a/b/c/d/e\n"
	                             "=/a/b\n"
	                             "/*/x\n");
	const struct policy_rule *r;

	r = policy_match(p, "/a/b/c/d", 8);
	assert_non_null(r);
	assert_int_equal(r->line, 3);
	r = policy_match(p, "/a/b/c/d/e/f", 12);
	assert_non_null(r);
	assert_int_equal(r->line, 4);
	assert_true(r->flags & RULE_EXCLUDE);
	r = policy_match(p, "/a/b", 4);
	assert_non_null(r);
	assert_int_equal(r->line, 5);
	r = policy_match(p, "/a/x", 4);
	assert_non_null(r);
	assert_int_equal(r->line, 6);
	r = policy_match(p, "/a/y", 4);
	assert_non_null(r);
	assert_int_equal(r->line, 2);
	assert_true(policy_descend(p, "/a", 2));       /* the last rule can select /a/x */
	assert_true(policy_descend(p, "/a/b/c/d", 8)); /* /a/b/c covers what is below */
	assert_false(policy_descend(p, "/a/q", 4));    /* !/a decides */
	assert_false(policy_descend(p, "/a/b/c/d/e", 10));
	policy_free(p);
}

/* 60,000 exclusions of paths in one directory and one rule over it: each lookup tests a
 * handful of rules, not all of them. A scan of every rule takes tens of seconds of CPU here
 * (30,000 paths x 60,000 rules); the index takes well under one. */
static void test_index_many_rules(void **state)
{
	size_t cap = 64 + 60000 * 32, n = 0;
	char *text = malloc(cap), path[64];
	struct policy *p;
	clock_t t0;
	double cpu;

	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "/data CONTENT\n");
	for (unsigned i = 0; i < 60000; i++)
		n += (size_t)snprintf(text + n, cap - n, "!/data/set/f%05u.skip\n", i);
	p = load_text(text);
	free(text);
	t0 = clock();
	for (unsigned i = 0; i < 30000; i++) {
		size_t len = (size_t)snprintf(path, sizeof(path), "/data/set/f%05u", i);
		const struct policy_rule *r = policy_match(p, path, len);

		assert_non_null(r);
		assert_int_equal(r->line, 1);
		len = (size_t)snprintf(path, sizeof(path), "/data/set/f%05u.skip", i);
		r = policy_match(p, path, len);
		assert_non_null(r);
		assert_int_equal(r->line, i + 2);
	}
	assert_true(policy_descend(p, "/data/set", 9));
	assert_false(policy_descend(p, "/data/set/f00007.skip", 21));
	cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
	if (cpu > 5.0)
		fail_msg("60,000 lookups among 60,000 rules took %.1f s of CPU", cpu);
	policy_free(p);
}

/* Components the first generator never writes: escapes, classes, case, bytes that are not
 * UTF-8, odd globs ("***", an unclosed '['); and names that only an escape or a class matches. */
static const char *const corner_lits[] = {"a",    "A",        "b", "ab", "\\*",  "a\\?b", "\\[a]",
                                          "\xff", "\xc3\xa9", "]", "-",  "\\\\", "\\a",   ".a"};
static const char *const corner_globs[] = {"*",           "?",     "[!a]",  "[^a]", "[]a]", "[a-c]",
                                           "[[:upper:]]", "\\**",  "*\\*",  "[a",   "***",  "a**",
                                           "**",          "[\\]]", "\xff*", "?\xff"};
static const char *const corner_names[] = {"a",        "A", "b", "ab", "*",  "a?b", "[a]", "\xff",
                                           "\xc3\xa9", "]", "-", "\\", ".a", "[a",  "ba",  "c"};

static void gen_corner_rule(struct ref_rule *r, const struct ref_rule *earlier, size_t nearlier)
{
	static const char prefixes[] = {'\0', '\0', '!', '!', '='};

	if (nearlier && rnd(6) == 0) {
		*r = earlier[rnd((unsigned)nearlier)]; /* the same pattern again */
		r->prefix = prefixes[rnd(sizeof(prefixes))];
		return;
	}
	r->prefix = prefixes[rnd(sizeof(prefixes))];
	r->n = rnd(MAX_COMPS);
	for (size_t i = 0; i < r->n; i++) {
		const char *c = rnd(10) < 6 ? corner_lits[rnd(ARRAY_SIZE(corner_lits))]
		                            : corner_globs[rnd(ARRAY_SIZE(corner_globs))];

		snprintf(r->comps[i], sizeof(r->comps[i]), "%s", c);
	}
}

/* The rule as a policy line, with '/' doubled here and there and sometimes a trailing one
 * (neither changes the rule). */
static size_t corner_rule_text(const struct ref_rule *r, char *o)
{
	char *start = o;

	if (r->prefix)
		*o++ = r->prefix;
	if (r->n == 0)
		*o++ = '/';
	for (size_t i = 0; i < r->n; i++) {
		*o++ = '/';
		if (rnd(8) == 0)
			*o++ = '/';
		o += sprintf(o, "%s", r->comps[i]);
	}
	if (r->n && rnd(6) == 0)
		*o++ = '/';
	*o++ = '\n';
	return (size_t)(o - start);
}

static size_t corner_path_text(const struct ref_path *d, char *buf)
{
	char *o = buf;

	for (size_t i = 0; i < d->n; i++) {
		*o++ = '/';
		if (rnd(10) == 0)
			*o++ = '/';
		o += sprintf(o, "%s", d->comps[i]);
	}
	if (o == buf || rnd(8) == 0)
		*o++ = '/';
	*o = '\0';
	return (size_t)(o - buf);
}

/* The same comparison with the reference on the corner cases above, rule duplicates, and
 * patterns and paths spelled with extra slashes. */
static void test_index_differential_corners(void **state)
{
	unsigned long checked = 0;

	rng_state = 0x2545f4914f6cdd1dULL;
	for (unsigned set = 0; set < 1500; set++) {
		struct ref_rule rules[MAX_RULES];
		size_t n = 1 + rnd(MAX_RULES), len = 0;
		char *text = malloc(MAX_RULES * 128 + 1);
		struct policy *p;

		assert_non_null(text);
		for (size_t k = 0; k < n; k++) {
			gen_corner_rule(&rules[k], rules, k);
			len += corner_rule_text(&rules[k], text + len);
		}
		text[len] = '\0';
		p = load_text(text);
		assert_int_equal(policy_rule_count(p), n);
		for (unsigned q = 0; q < 60; q++) {
			struct ref_path d;
			char path[256];
			const struct policy_rule *got;
			int want;
			bool want_d, got_d;

			d.n = rnd(MAX_COMPS + 2);
			for (size_t i = 0; i < d.n; i++)
				snprintf(d.comps[i], sizeof(d.comps[i]), "%s",
				         corner_names[rnd(ARRAY_SIZE(corner_names))]);
			len = corner_path_text(&d, path);
			want = ref_match(rules, n, &d);
			got = policy_match(p, path, len);
			if (got != (want < 0 ? NULL : policy_rule_at(p, (size_t)want)))
				fail_msg("set %u: %s: want rule %d, got line %u\n%s", set, path,
				         want + 1, got ? got->line : 0, text);
			want_d = ref_descend(rules, n, &d);
			got_d = policy_descend(p, path, len);
			if (want_d != got_d)
				fail_msg("set %u: descend %s: want %d, got %d\n%s", set, path,
				         want_d, got_d, text);
			checked++;
		}
		policy_free(p);
		free(text);
	}
	assert_int_equal(checked, 1500 * 60);
}

/* A path far deeper than any rule: the lookup follows the index as far as it goes, and the
 * rules on the way still decide. */
static void test_index_deep_path(void **state)
{
	struct policy *p = load_text("/a/**/z CONTENT\n"
	                             "!/a/d/d/**/y\n");
	size_t cap = 5000 * 2 + 16, n;
	char *path = malloc(cap);
	const struct policy_rule *r;

	assert_non_null(path);
	n = (size_t)sprintf(path, "/a");
	for (unsigned i = 0; i < 5000; i++)
		n += (size_t)sprintf(path + n, "/d");
	assert_true(policy_descend(p, path, n));
	assert_null(policy_match(p, path, n));
	n += (size_t)sprintf(path + n, "/z");
	r = policy_match(p, path, n);
	assert_non_null(r);
	assert_int_equal(r->line, 1);
	path[n - 1] = 'y';
	r = policy_match(p, path, n);
	assert_non_null(r);
	assert_int_equal(r->line, 2);
	assert_false(policy_descend(p, path, n));
	free(path);
	policy_free(p);
}

/* Rules whose literal part is deeper than the index goes: they hang on the deepest node it
 * keeps and are still tested exactly, for paths above, at and below that depth. */
static void test_index_deep_rules(void **state)
{
	char text[4096], path[600], deep[512];
	size_t n = 0, dn = 0, len;
	struct policy *p;
	const struct policy_rule *r;

	for (unsigned i = 0; i < 30; i++)
		dn += (size_t)sprintf(deep + dn, "/d%u", i);
	n += (size_t)sprintf(text + n, "%s/a CONTENT\n", deep); /* line 1 */
	n += (size_t)sprintf(text + n, "!%s/a/x\n", deep);      /* line 2 */
	n += (size_t)sprintf(text + n, "=%.*s\n", 40, deep);    /* line 3: "=/d0/d1/.../d10" */
	n += (size_t)sprintf(text + n, "%s/b/*/c\n", deep);     /* line 4 */
	assert_true(n < sizeof(text));
	p = load_text(text);

	len = (size_t)sprintf(path, "%s/a/y", deep);
	r = policy_match(p, path, len);
	assert_non_null(r);
	assert_int_equal(r->line, 1);
	len = (size_t)sprintf(path, "%s/a/x/z", deep);
	r = policy_match(p, path, len);
	assert_non_null(r);
	assert_int_equal(r->line, 2);
	assert_false(policy_descend(p, path, len));
	len = (size_t)sprintf(path, "%s/b/q/c/e", deep);
	r = policy_match(p, path, len);
	assert_non_null(r);
	assert_int_equal(r->line, 4);
	len = (size_t)sprintf(path, "%s/b/q", deep);
	assert_null(policy_match(p, path, len));
	assert_true(policy_descend(p, path, len));
	/* every ancestor of the deep rules is walked; only "=" names one of them */
	for (size_t i = 1; i <= dn; i++) {
		if (i < dn && deep[i] != '/')
			continue;
		r = policy_match(p, deep, i);
		assert_true(policy_descend(p, deep, i));
		if (i == 40)
			assert_true(r && r->line == 3);
		else
			assert_null(r);
	}
	len = (size_t)sprintf(path, "%.*s/other", 40, deep);
	assert_null(policy_match(p, path, len));
	assert_false(policy_descend(p, path, len));
	policy_free(p);
}

/* What the index of long literal rules costs: it keeps a node per distinct leading component
 * only down to a fixed depth, so 4,096 rules of 120 literal components each (a 1 MB policy)
 * add a few MB to what the rules themselves take, not one node, edge and tree node per
 * component (about 45 MB more). mallinfo2(3) counts heap and mmap'd blocks. */
static void test_index_memory(void **state)
{
	size_t cap = 4096 * 260 + 1, n = 0;
	char *text = malloc(cap);
	struct mallinfo2 before, after;
	struct policy *p;
	size_t used;

	assert_non_null(text);
	for (unsigned i = 0; i < 4096; i++) {
		n += (size_t)snprintf(text + n, cap - n, "/r%04u", i);
		for (unsigned c = 0; c < 119; c++)
			n += (size_t)snprintf(text + n, cap - n, "/x");
		n += (size_t)snprintf(text + n, cap - n, "\n");
	}
	before = mallinfo2();
	p = load_text(text);
	after = mallinfo2();
	free(text);
	if (before.uordblks + before.hblkhd == 0 && after.uordblks + after.hblkhd == 0) {
		policy_free(p);
		skip(); /* an allocator that does not say (a sanitizer's) */
	}
	used = (after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd);
	/* the rules alone: 4,096 x (the text twice + 122 components of 40 bytes) ~ 22 MB; a node
	 * per component took 68 MB in all */
	if (used > 40u << 20)
		fail_msg("a 1 MB policy of long literal rules takes %zu MB once loaded",
		         used >> 20);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_index_differential),
	        cmocka_unit_test(test_index_order_across_nodes),
	        cmocka_unit_test(test_index_many_rules),
	        cmocka_unit_test(test_index_differential_corners),
	        cmocka_unit_test(test_index_deep_path),
	        cmocka_unit_test(test_index_deep_rules),
	        cmocka_unit_test(test_index_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
