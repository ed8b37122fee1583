/* SPDX-License-Identifier: ISC */
/* OS object records: building sets, the versioned encoding, comparison of text attributes. */
#include <string.h>

#include "fim/core/endian.h"
#include "fim/core/object.h"

struct entry {
	struct obj_rec rec;
	uint8_t *mem; /* id and values */
	size_t seq;   /* order of addition, to keep the first of equal ids */
};

struct obj_set {
	enum fim_kind kind;
	struct entry *v;
	size_t n, cap;
	/* the open record */
	bool open;
	int err;
	struct buf id;
	struct buf val[ATTR_KIND_MAX];
	attrset_t present;
};

int obj_set_new(enum fim_kind kind, struct obj_set **ret)
{
	struct obj_set *s;

	if (kind == KIND_FILE || (unsigned)kind >= KIND__MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->kind = kind;
	*ret = s;
	return 0;
}

static void open_clear(struct obj_set *s)
{
	s->id.n = 0;
	for (unsigned i = 0; i < ATTR_KIND_MAX; i++)
		s->val[i].n = 0;
	s->present = 0;
	s->open = false;
	s->err = 0;
}

void obj_set_free(struct obj_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].mem);
	free(s->v);
	buf_free(&s->id);
	for (unsigned i = 0; i < ATTR_KIND_MAX; i++)
		buf_free(&s->val[i]);
	free(s);
}

enum fim_kind obj_set_kind(const struct obj_set *s)
{
	return s->kind;
}

static int fail(struct obj_set *s, int err)
{
	if (s->err == 0)
		s->err = err;
	return err;
}

int obj_begin(struct obj_set *s, const char *id, size_t len)
{
	open_clear(s);
	s->open = true;
	if (len == 0 || len > OBJ_MAX_ID || memchr(id, '\0', len))
		return fail(s, -EINVAL);
	if (s->n >= OBJ_MAX_OBJECTS)
		return fail(s, -E2BIG);
	return buf_append(&s->id, id, len) < 0 ? fail(s, -ENOMEM) : 0;
}

static int check_attr(struct obj_set *s, unsigned attr, bool list)
{
	if (!s->open)
		return -EINVAL;
	if (s->err)
		return s->err;
	if (attr >= attr_count(s->kind) || !!(attr_flags(s->kind, attr) & AF_LIST) != list)
		return fail(s, -EINVAL);
	return 0;
}

int obj_set_value(struct obj_set *s, unsigned attr, const char *v, size_t n)
{
	int r = check_attr(s, attr, false);

	if (r < 0)
		return r;
	if (n > OBJ_MAX_VALUE)
		return fail(s, -E2BIG);
	if (memchr(v, '\0', n))
		return fail(s, -EINVAL);
	s->val[attr].n = 0;
	if (buf_append(&s->val[attr], v, n) < 0)
		return fail(s, -ENOMEM);
	s->present |= ATTR_BIT(attr);
	return 0;
}

int obj_set_str(struct obj_set *s, unsigned attr, const char *v)
{
	return obj_set_value(s, attr, v, strlen(v));
}

int obj_list_touch(struct obj_set *s, unsigned attr)
{
	int r = check_attr(s, attr, true);

	if (r == 0)
		s->present |= ATTR_BIT(attr);
	return r;
}

int obj_list_add(struct obj_set *s, unsigned attr, const char *v, size_t n)
{
	struct buf *b = &s->val[attr < ATTR_KIND_MAX ? attr : 0];
	int r = check_attr(s, attr, true);

	if (r < 0)
		return r;
	if (n > OBJ_MAX_ELEMENT || b->n + n + 1 > OBJ_MAX_VALUE)
		return fail(s, -E2BIG);
	if (n == 0 || memchr(v, '\0', n) || memchr(v, '\n', n))
		return fail(s, -EINVAL);
	if ((b->n && buf_append(b, "\n", 1) < 0) || buf_append(b, v, n) < 0)
		return fail(s, -ENOMEM);
	s->present |= ATTR_BIT(attr);
	return 0;
}

static int cmp_bytes(const void *a, const void *b)
{
	const struct bytes *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Sorts and deduplicates the elements of list B in place. */
static int list_normalise(struct buf *b)
{
	struct bytes *el = NULL, part;
	size_t n = 0, cap = 0, pos = 0, out = 0;
	uint8_t *copy;

	if (b->n == 0)
		return 0;
	while (obj_list_next((struct bytes){b->p, b->n}, &pos, &part)) {
		if (n == cap) {
			struct bytes *ne = realloc(el, (cap = cap ? cap * 2 : 16) * sizeof(*el));
			if (!ne) {
				free(el);
				return -ENOMEM;
			}
			el = ne;
		}
		el[n++] = part;
	}
	copy = malloc(b->n);
	if (!copy) {
		free(el);
		return -ENOMEM;
	}
	memcpy(copy, b->p, b->n);
	for (size_t i = 0; i < n; i++)
		el[i].p = copy + (el[i].p - b->p);
	qsort(el, n, sizeof(*el), cmp_bytes);
	for (size_t i = 0; i < n; i++) {
		if (i && cmp_bytes(&el[i], &el[i - 1]) == 0)
			continue;
		if (out)
			b->p[out++] = '\n';
		memcpy(b->p + out, el[i].p, el[i].n);
		out += el[i].n;
	}
	b->n = out;
	free(copy);
	free(el);
	return 0;
}

int obj_end(struct obj_set *s)
{
	struct entry *e;
	size_t total, off;
	int r = s->err;

	if (!s->open)
		return -EINVAL;
	for (unsigned i = 0; r == 0 && i < attr_count(s->kind); i++)
		if ((attr_flags(s->kind, i) & (AF_LIST | AF_ORDERED)) == AF_LIST)
			r = list_normalise(&s->val[i]);
	if (r == 0 && s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct entry *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			r = -ENOMEM;
		else {
			s->v = nv;
			s->cap = cap;
		}
	}
	if (r < 0) {
		open_clear(s);
		return r;
	}
	total = s->id.n;
	for (unsigned i = 0; i < ATTR_KIND_MAX; i++)
		total += s->present & ATTR_BIT(i) ? s->val[i].n : 0;
	e = &s->v[s->n];
	*e = (struct entry){.seq = s->n, .rec = {.kind = (uint8_t)s->kind, .attrs = s->present}};
	e->mem = malloc(total ? total : 1);
	if (!e->mem) {
		open_clear(s);
		return -ENOMEM;
	}
	memcpy(e->mem, s->id.p, s->id.n);
	e->rec.id = (struct bytes){e->mem, s->id.n};
	off = s->id.n;
	for (unsigned i = 0; i < ATTR_KIND_MAX; i++) {
		if (!(s->present & ATTR_BIT(i)))
			continue;
		if (s->val[i].n)
			memcpy(e->mem + off, s->val[i].p, s->val[i].n);
		e->rec.val[i] = (struct bytes){e->mem + off, s->val[i].n};
		off += s->val[i].n;
	}
	s->n++;
	open_clear(s);
	return 0;
}

void obj_abort(struct obj_set *s)
{
	open_clear(s);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = cmp_bytes(&x->rec.id, &y->rec.id);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

void obj_set_sort(struct obj_set *s)
{
	size_t out = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	for (size_t i = 0; i < s->n; i++) {
		if (out && cmp_bytes(&s->v[out - 1].rec.id, &s->v[i].rec.id) == 0) {
			free(s->v[i].mem);
			continue;
		}
		s->v[out++] = s->v[i];
	}
	s->n = out;
	/* records point into their own memory, so moving entries is safe */
}

size_t obj_set_count(const struct obj_set *s)
{
	return s->n;
}

const struct obj_rec *obj_set_at(const struct obj_set *s, size_t i)
{
	return i < s->n ? &s->v[i].rec : NULL;
}

const struct obj_rec *obj_set_find(const struct obj_set *s, const char *id, size_t len)
{
	struct bytes key = {(const uint8_t *)id, len};
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_bytes(&s->v[mid].rec.id, &key);

		if (c == 0)
			return &s->v[mid].rec;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- encoding --- */

int obj_encode(const struct obj_rec *rec, struct buf *out)
{
	uint8_t head[5] = {OBJ_ENCODING_VERSION, rec->kind};
	int r = buf_append(out, head, 2);

	for (unsigned i = 0; r == 0 && i < attr_count(rec->kind); i++) {
		if (!(rec->attrs & ATTR_BIT(i)))
			continue;
		if (rec->val[i].n > UINT32_MAX)
			return -EOVERFLOW;
		head[0] = (uint8_t)(i + 1);
		put_be32(head + 1, (uint32_t)rec->val[i].n);
		r = buf_append(out, head, sizeof(head));
		if (r == 0)
			r = buf_append(out, rec->val[i].p, rec->val[i].n);
	}
	if (r == 0) {
		memset(head, 0, sizeof(head));
		r = buf_append(out, head, sizeof(head));
	}
	return r;
}

int obj_decode(const void *buf, size_t len, enum fim_kind kind, struct obj_rec *out)
{
	const uint8_t *p = buf;
	size_t pos = 2;
	struct obj_rec rec = {.kind = (uint8_t)kind};

	if (len < 1)
		return -EBADMSG;
	if (p[0] != OBJ_ENCODING_VERSION)
		return -EPROTONOSUPPORT;
	if (len < 2 || p[1] != kind)
		return -EBADMSG;
	for (;;) {
		unsigned tag;
		uint32_t n;

		if (len - pos < 5)
			return -EBADMSG;
		tag = p[pos];
		n = get_be32(p + pos + 1);
		pos += 5;
		if (n > len - pos)
			return -EBADMSG;
		if (tag == 0) {
			if (n != 0 || pos != len)
				return -EBADMSG;
			break;
		}
		/* unknown attributes (from a newer fim) are skipped; repeats are corrupt */
		if (tag - 1 < attr_count(kind)) {
			if (rec.attrs & ATTR_BIT(tag - 1) || memchr(p + pos, '\0', n))
				return -EBADMSG;
			rec.attrs |= ATTR_BIT(tag - 1);
			rec.val[tag - 1] = (struct bytes){p + pos, n};
		}
		pos += n;
	}
	*out = rec;
	return 0;
}

attrset_t obj_diff(const struct obj_rec *base, const struct obj_rec *live, attrset_t mask)
{
	attrset_t both = base->attrs & live->attrs & mask, out = 0;

	for (unsigned i = 0; i < ATTR_KIND_MAX; i++) {
		if (!(both & ATTR_BIT(i)))
			continue;
		if (base->val[i].n != live->val[i].n ||
		    (base->val[i].n && memcmp(base->val[i].p, live->val[i].p, base->val[i].n)))
			out |= ATTR_BIT(i);
	}
	return out;
}

bool obj_list_next(struct bytes list, size_t *pos, struct bytes *el)
{
	const uint8_t *nl;

	if (*pos >= list.n)
		return false;
	nl = memchr(list.p + *pos, '\n', list.n - *pos);
	el->p = list.p + *pos;
	el->n = nl ? (size_t)(nl - el->p) : list.n - *pos;
	*pos += el->n + 1;
	return true;
}

bool obj_list_has(struct bytes list, struct bytes el)
{
	struct bytes e;
	size_t pos = 0;

	while (obj_list_next(list, &pos, &e))
		if (e.n == el.n && (e.n == 0 || memcmp(e.p, el.p, e.n) == 0))
			return true;
	return false;
}

struct bytes obj_elem_key(struct bytes el)
{
	const uint8_t *sp = el.n ? memchr(el.p, ' ', el.n) : NULL;

	return (struct bytes){el.p, sp ? (size_t)(sp - el.p) : el.n};
}

struct bytes obj_secret_state(struct bytes v)
{
	return obj_elem_key(v);
}
