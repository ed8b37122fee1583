/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the sudoers parser, and that its canonical output parses back to itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/sudoers.h"
#include "tests/unit/fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned max_line;

static void on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg)
{
	bool *strict = userdata;

	if (*strict) { /* canonical text must parse without a problem */
		fprintf(stderr, "canonical line %u: %s\n", line, msg);
		abort();
	}
	if (!fx_problem_sane(path, line, max_line, err, msg) || strcmp(path, "/etc/sudoers") != 0)
		abort();
}

static int on_include(void *userdata, const char *path, bool dir, unsigned line)
{
	if (path[0] != '/' || line == 0 || line > max_line)
		abort();
	return 0;
}

static int collect(const char *text, size_t len, bool strict, struct obj_set **ret)
{
	struct collect_ctx ctx = {.rootfd = -1, .problem = on_problem, .userdata = &strict};
	struct sudoers *s = NULL;
	struct obj_set *set = NULL;
	int r = sudoers_new(&s);

	if (r == 0)
		r = obj_set_new(KIND_SUDOERS, &set);
	if (r == 0)
		r = sudoers_parse(s, &ctx, "/etc/sudoers", text, len, on_include, NULL);
	if (r == 0)
		r = sudoers_emit(s, &ctx, set);
	sudoers_free(s);
	if (r < 0) {
		if (r != -ENOMEM)
			abort();
		obj_set_free(set);
		return r;
	}
	obj_set_sort(set);
	*ret = set;
	return 0;
}

static void append(struct buf *b, const void *p, size_t n)
{
	if (buf_append(b, p, n) < 0)
		abort();
}

/* Writes REC back as sudoers lines, one per list element. */
static void unparse(const struct obj_rec *rec, struct buf *out)
{
	bool alias = rec->attrs & ATTR_BIT(SUA_MEMBERS);
	struct bytes list = rec->val[alias ? SUA_MEMBERS : SUA_RULES], el;
	size_t pos = 0;

	while (obj_list_next(list, &pos, &el)) {
		append(out, rec->id.p, rec->id.n);
		append(out, alias ? " = " : " ", alias ? 3 : 1);
		append(out, el.p, el.n);
		/* a comment ends the line: an element may end in an escaped blank */
		append(out, " #\n", 3);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct obj_set *a = NULL, *b = NULL;
	struct buf text = {0};

	max_line = 1;
	for (size_t i = 0; i < size; i++)
		max_line += data[i] == '\n';
	if (collect((const char *)data, size, false, &a) < 0)
		return 0;
	for (size_t i = 0; i < obj_set_count(a); i++)
		unparse(obj_set_at(a, i), &text);
	max_line = 1;
	for (size_t i = 0; i < text.n; i++)
		max_line += text.p[i] == '\n';
	if (collect((const char *)text.p, text.n, true, &b) == 0) {
		if (obj_set_count(a) != obj_set_count(b)) {
			fprintf(stderr, "canonical text gives %zu objects, not %zu\n",
			        obj_set_count(b), obj_set_count(a));
			abort();
		}
		for (size_t i = 0; i < obj_set_count(a); i++) {
			const struct obj_rec *x = obj_set_at(a, i), *y = obj_set_at(b, i);

			if (x->id.n != y->id.n || memcmp(x->id.p, y->id.p, x->id.n) != 0 ||
			    obj_diff(x, y, ATTR_BIT(SUA_RULES) | ATTR_BIT(SUA_MEMBERS)) != 0) {
				fprintf(stderr, "not canonical: %.*s\n", (int)x->id.n, x->id.p);
				abort();
			}
		}
		obj_set_free(b);
	}
	obj_set_free(a);
	buf_free(&text);
	return 0;
}
