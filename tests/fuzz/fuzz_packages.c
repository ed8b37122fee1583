/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the dpkg status parser and version order of baseline/packages.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/packages.h"
#include "baseline/rootfs.h"
#include "tests/unit/fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	unsigned lines;
};

/* Every problem names the file, a line of it, and a known cause. */
static void on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg)
{
	const struct seen *s = userdata;

	if (!fx_problem_sane(path, line, s->lines, err, msg) || strcmp(path, PKG_STATUS_PATH) != 0)
		abort();
	if (err != -EBADMSG && err != -E2BIG)
		abort();
}

/* The first byte: bit 0 cuts lines at 64 bytes as a bounded reader would. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen seen = {.lines = 1};
	struct collect_ctx ctx = {.rootfd = -1, .problem = on_problem, .userdata = &seen};
	struct obj_set *set = NULL;
	struct pkg_parser *p = NULL;
	const char *buf, *line;
	size_t len, pos = 0, n;
	unsigned lineno = 0;
	bool cut;

	if (size == 0)
		return 0;
	cut = data[0] & 1;
	buf = (const char *)data + 1;
	len = size - 1;
	for (size_t i = 1; i < size; i++)
		seen.lines += data[i] == '\n';
	if (obj_set_new(KIND_PACKAGE, &set) < 0 ||
	    packages_parser_new(&ctx, PKG_STATUS_PATH, set, &p) < 0)
		abort();
	while (rootfs_next_line(buf, len, &pos, &line, &n, &lineno))
		if (packages_parser_line(p, line, cut && n > 64 ? 64 : n, n, lineno) < 0)
			abort();
	if (packages_parser_end(p) < 0)
		abort();
	packages_parser_free(p);
	obj_set_sort(set);
	for (size_t i = 0; i < obj_set_count(set); i++) {
		const struct obj_rec *r = obj_set_at(set, i);
		struct bytes v = r->val[PA_VERSION], el;
		size_t lp = 0;
		char note[512];
		bool down, failed;

		if (!(r->attrs & ATTR_BIT(PA_STATUS)) || r->id.n == 0)
			abort();
		if (r->attrs & ATTR_BIT(PA_VERSION)) {
			if (!packages_version_valid((const char *)v.p, v.n) ||
			    packages_version_cmp((const char *)v.p, v.n, (const char *)v.p, v.n) !=
			            0)
				abort();
		}
		while (obj_list_next(r->val[PA_CONFFILES], &lp, &el))
			if (el.n < 3 || el.p[0] != '/' || !memchr(el.p, ' ', el.n))
				abort();
		if (i > 0) {
			const struct obj_rec *q = obj_set_at(set, i - 1);
			struct bytes w = q->val[PA_VERSION];

			if ((r->attrs & q->attrs & ATTR_BIT(PA_VERSION)) &&
			    packages_version_cmp((const char *)v.p, v.n, (const char *)w.p, w.n) !=
			            -packages_version_cmp((const char *)w.p, w.n, (const char *)v.p,
			                                  v.n))
				abort();
			packages_describe(q, r, note, sizeof(note), &down, &failed);
			if (strlen(note) >= sizeof(note))
				abort();
		}
	}
	obj_set_free(set);
	return 0;
}
