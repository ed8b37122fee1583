/* SPDX-License-Identifier: ISC */
/* libFuzzer target: decoding stored object values of every kind, then re-encoding them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fim/core/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_span(struct bytes a, struct bytes b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Lists and keys of a decoded value stay inside it. */
static void walk(struct bytes v)
{
	struct bytes el, key;
	size_t pos = 0, n = 0;

	while (obj_list_next(v, &pos, &el)) {
		if (el.p < v.p || el.p + el.n > v.p + v.n || memchr(el.p, '\n', el.n))
			abort();
		key = obj_elem_key(el);
		if (key.p != el.p || key.n > el.n)
			abort();
		if (++n <= 8 && !obj_list_has(v, el))
			abort();
	}
	if (obj_secret_state(v).n > v.n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (unsigned k = KIND_USER; k < KIND__MAX; k++) {
		struct obj_rec rec, again;
		struct buf out = {0};
		int r = obj_decode(data, size, k, &rec);

		if (r != 0) {
			if (r != -EBADMSG && r != -EPROTONOSUPPORT)
				abort();
			continue;
		}
		if (rec.kind != k || rec.id.n != 0 || (rec.attrs & ~attr_all(k)))
			abort();
		for (unsigned a = 0; a < attr_count(k); a++) {
			if (!(rec.attrs & ATTR_BIT(a)))
				continue;
			if (memchr(rec.val[a].p, '\0', rec.val[a].n))
				abort();
			walk(rec.val[a]);
		}
		/* What decodes must encode and decode to the same attributes. */
		if (obj_encode(&rec, &out) != 0 || obj_decode(out.p, out.n, k, &again) != 0 ||
		    again.attrs != rec.attrs || obj_diff(&rec, &again, attr_all(k)) != 0)
			abort();
		for (unsigned a = 0; a < ATTR_KIND_MAX; a++)
			if ((rec.attrs & ATTR_BIT(a)) && !same_span(rec.val[a], again.val[a]))
				abort();
		buf_free(&out);
	}
	return 0;
}
