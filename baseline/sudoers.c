/* SPDX-License-Identifier: ISC */
/* The sudoers collector: who may run what, from /etc/sudoers and what it includes. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline/rootfs.h"
#include "baseline/sudoers.h"
#include "baseline/sudoers_int.h"

/* --- gathered objects --- */

int sudoers_new(struct sudoers **ret)
{
	struct sudoers *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

void sudoers_free(struct sudoers *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].id);
		buf_free(&s->v[i].list[0]);
		buf_free(&s->v[i].list[1]);
		free(s->v[i].files);
	}
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	free(s->paths);
	free(s->v);
	free(s->table);
	free(s);
}

static uint64_t hash_id(const char *id, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)id[i]) * 1099511628211ull;
	return h;
}

static int table_grow(struct sudoers *s)
{
	size_t cap = s->tcap ? s->tcap * 2 : 256;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = (size_t)hash_id(s->v[i].id, s->v[i].idn) & (cap - 1);

		while (t[h])
			h = (h + 1) & (cap - 1);
		t[h] = (uint32_t)(i + 1);
	}
	free(s->table);
	s->table = t;
	s->tcap = cap;
	return 0;
}

int sudoers_obj_get(struct sudoers *s, const char *id, size_t n, uint32_t gen, unsigned line,
                    size_t *ret)
{
	size_t h;
	struct sobj *o;

	if (s->tcap) {
		for (h = (size_t)hash_id(id, n) & (s->tcap - 1); s->table[h];
		     h = (h + 1) & (s->tcap - 1)) {
			o = &s->v[s->table[h] - 1];
			if (o->idn == n && memcmp(o->id, id, n) == 0) {
				*ret = s->table[h] - 1;
				return 0;
			}
		}
	}
	if (s->n >= SUDOERS_MAX_OBJECTS)
		return -E2BIG;
	if ((s->n + 1) * 2 > s->tcap && table_grow(s) < 0)
		return -ENOMEM;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct sobj *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	o = &s->v[s->n];
	*o = (struct sobj){.where_gen = gen, .where_line = line, .last_gen = UINT32_MAX};
	o->id = malloc(n + 1);
	if (!o->id)
		return -ENOMEM;
	memcpy(o->id, id, n);
	o->id[n] = '\0';
	o->idn = n;
	for (h = (size_t)hash_id(id, n) & (s->tcap - 1); s->table[h]; h = (h + 1) & (s->tcap - 1))
		;
	s->table[h] = (uint32_t)(s->n + 1);
	*ret = s->n++;
	return 0;
}

int sudoers_obj_add(struct sudoers *s, size_t i, unsigned attr, const char *el, size_t n,
                    uint32_t gen)
{
	struct sobj *o = &s->v[i];
	struct buf *b = &o->list[attr == SUA_MEMBERS];

	if ((b->n && buf_append(b, "\n", 1) < 0) || buf_append(b, el, n) < 0)
		return -ENOMEM;
	s->nelems++;
	s->nbytes += n + 1;
	if (o->last_gen != gen) {
		if (o->nfiles == o->capfiles) {
			size_t cap = o->capfiles ? o->capfiles * 2 : 4;
			uint32_t *nf = realloc(o->files, cap * sizeof(*nf));

			if (!nf)
				return -ENOMEM;
			o->files = nf;
			o->capfiles = cap;
		}
		o->files[o->nfiles++] = gen;
		o->last_gen = gen;
	}
	return 0;
}

/* --- records --- */

static int cmp_span(const void *a, const void *b)
{
	const struct bytes *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Adds the elements EL[0..n) sorted and without repeats, up to OBJ_MAX_VALUE. */
static int add_sorted(const struct sudoers *s, const struct collect_ctx *ctx, const struct sobj *o,
                      struct obj_set *out, unsigned attr, struct bytes *el, size_t n)
{
	size_t total = 0;

	qsort(el, n, sizeof(*el), cmp_span);
	for (size_t i = 0; i < n; i++) {
		int r;

		if (i && cmp_span(&el[i], &el[i - 1]) == 0)
			continue;
		if (total + el[i].n + 1 > OBJ_MAX_VALUE) {
			collect_problem(ctx, s->paths[o->where_gen], o->where_line, -E2BIG,
			                "the %s of the entry first seen here exceed %u bytes; the "
			                "rest is not recorded",
			                attr_name(KIND_SUDOERS, attr), OBJ_MAX_VALUE);
			return 0;
		}
		total += el[i].n + 1;
		r = obj_list_add(out, attr, (const char *)el[i].p, el[i].n);
		if (r < 0)
			return r;
	}
	return 0;
}

static size_t count_elements(const struct buf *b)
{
	size_t c = b->n ? 1 : 0;

	for (size_t i = 0; i < b->n; i++)
		c += b->p[i] == '\n';
	return c;
}

static int emit_one(const struct sudoers *s, const struct collect_ctx *ctx, const struct sobj *o,
                    struct obj_set *out)
{
	static const unsigned lists[] = {SUA_RULES, SUA_MEMBERS};
	_cleanup_free_ struct bytes *el = NULL;
	size_t cap = o->nfiles, n;
	int r;

	for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
		if (count_elements(&o->list[k]) > cap)
			cap = count_elements(&o->list[k]);
	el = calloc(cap ? cap : 1, sizeof(*el));
	if (!el)
		return -ENOMEM;
	r = obj_begin(out, o->id, o->idn);
	for (size_t k = 0; r == 0 && k < ARRAY_SIZE(lists); k++) {
		struct bytes list = {o->list[k].p, o->list[k].n};
		size_t pos = 0;

		if (list.n == 0)
			continue;
		n = 0;
		while (n < cap && obj_list_next(list, &pos, &el[n]))
			n++;
		r = add_sorted(s, ctx, o, out, lists[k], el, n);
	}
	for (n = 0; r == 0 && n < o->nfiles; n++)
		el[n] = BYTES_STR(s->paths[o->files[n]]);
	if (r == 0)
		r = add_sorted(s, ctx, o, out, SUA_FILES, el, o->nfiles);
	if (r < 0) {
		obj_abort(out);
		return r;
	}
	return obj_end(out);
}

int sudoers_emit(const struct sudoers *s, const struct collect_ctx *ctx, struct obj_set *out)
{
	for (size_t i = 0; i < s->n; i++) {
		int r = emit_one(s, ctx, &s->v[i], out);

		if (r == -ENOMEM)
			return r;
		if (r < 0)
			collect_problem(ctx, s->paths[s->v[i].where_gen], s->v[i].where_line, r,
			                "the entry first seen here cannot be recorded");
	}
	return 0;
}

/* --- reading the files --- */

struct frame {
	const char *path;
	dev_t dev;
	ino_t ino;
};

struct walker {
	const struct collect_ctx *ctx;
	struct sudoers *s;
	struct frame stack[SUDOERS_MAX_DEPTH + 1];
	unsigned depth;
	unsigned nfiles;
	size_t nbytes;
	bool files_reported;
};

/* S for a message: bytes other than printable ASCII as \xNN (sudoers
 * text must not reach a terminal raw), cut to fit SIZE. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s && n + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	buf[n] = '\0';
	return buf;
}

static void check_owner(const struct walker *w, const char *path, const struct stat *st)
{
	if (st->st_mode & S_IWOTH)
		collect_problem(w->ctx, path, 0, -EPERM, "world-writable, sudo ignores it");
	if (st->st_uid != 0)
		collect_problem(w->ctx, path, 0, -EPERM, "not owned by root");
}

static int on_include(void *userdata, const char *path, bool dir, unsigned line);

/* Reads and parses PATH, included from FROM:LINE (FROM NULL for /etc/sudoers). */
static int walk_file(struct walker *w, const char *path, bool optional, const char *from,
                     unsigned line)
{
	_cleanup_free_ char *text = NULL;
	char q[256];
	struct stat st;
	size_t len;
	int r;

	if (w->nfiles >= SUDOERS_MAX_FILES) {
		if (!w->files_reported)
			collect_problem(w->ctx, from, line, -E2BIG,
			                "more than %u sudoers files; the rest is not read",
			                SUDOERS_MAX_FILES);
		w->files_reported = true;
		return 0;
	}
	r = rootfs_read(w->ctx->rootfd, path, ROOTFS_MAX_FILE, &text, &len, &st);
	if (r == -ENOMEM)
		return r;
	if (r == -ENOENT && optional)
		return 0;
	if (r < 0) {
		/* the caller of the collectors adds the cause */
		if (from)
			collect_problem(w->ctx, path, 0, r, "cannot be read (included from %s:%u)",
			                printable(from, q, sizeof(q)), line);
		else
			collect_problem(w->ctx, path, 0, r, "cannot be read");
		return 0;
	}
	for (unsigned i = 0; i < w->depth; i++) {
		if (w->stack[i].dev == st.st_dev && w->stack[i].ino == st.st_ino) {
			/* nothing is missing: the file is being read already */
			collect_problem(w->ctx, from, line, -EBADMSG,
			                "include cycle: %s is already being read",
			                printable(path, q, sizeof(q)));
			return 0;
		}
	}
	if (w->nbytes + len > SUDOERS_MAX_INPUT) {
		collect_problem(w->ctx, path, 0, -EFBIG,
		                "sudoers files exceed %u MiB in all; not read",
		                SUDOERS_MAX_INPUT >> 20);
		return 0;
	}
	check_owner(w, path, &st);
	w->nfiles++;
	w->nbytes += len;
	w->stack[w->depth++] = (struct frame){path, st.st_dev, st.st_ino};
	r = sudoers_parse(w->s, w->ctx, path, text, len, on_include, w);
	w->depth--;
	return r;
}

/* The files of DIR that sudo reads, in its order. */
static int walk_dir(struct walker *w, const char *dir, const char *from, unsigned line)
{
	char base[PATH_MAX], full[PATH_MAX], q[256];
	char **names = NULL;
	size_t n = 0, bn = strlen(dir);
	struct stat st;
	int r;

	while (bn > 1 && dir[bn - 1] == '/')
		bn--;
	if (bn >= sizeof(base))
		return 0;
	memcpy(base, dir, bn);
	base[bn] = '\0';
	r = rootfs_list(w->ctx->rootfd, base, &names, &n);
	if (r == -ENOENT) /* sudo ignores a missing include directory */
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		collect_problem(w->ctx, base, 0, r, "cannot read directory (included from %s:%u)",
		                printable(from, q, sizeof(q)), line);
		return 0;
	}
	if (rootfs_stat(w->ctx->rootfd, base, &st) == 0)
		check_owner(w, base, &st);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		size_t len = strlen(names[i]);

		if (len == 0 || names[i][len - 1] == '~' || strchr(names[i], '.'))
			continue;
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", strcmp(base, "/") ? base : "",
		                     names[i]) >= sizeof(full))
			continue;
		r = rootfs_stat(w->ctx->rootfd, full, &st);
		if (r == -ENOENT) { /* a dangling link: sudo skips it */
			r = 0;
			continue;
		}
		if (r < 0) {
			collect_problem(w->ctx, full, 0, r, "cannot be read");
			r = r == -ENOMEM ? r : 0;
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		r = walk_file(w, full, true, from, line);
	}
	rootfs_names_free(names, n);
	return r;
}

static int on_include(void *userdata, const char *path, bool dir, unsigned line)
{
	struct walker *w = userdata;
	const char *from = w->stack[w->depth - 1].path;
	char q[256];

	if (w->depth > SUDOERS_MAX_DEPTH) {
		collect_problem(w->ctx, from, line, -ELOOP,
		                "includes nested more than %u deep; %s is not read",
		                SUDOERS_MAX_DEPTH, printable(path, q, sizeof(q)));
		return 0;
	}
	return dir ? walk_dir(w, path, from, line) : walk_file(w, path, false, from, line);
}

int collect_sudoers(const struct collect_ctx *ctx, struct obj_set *out)
{
	struct walker w = {.ctx = ctx};
	int r = sudoers_new(&w.s);

	if (r < 0)
		return r;
	r = walk_file(&w, "/etc/sudoers", true, NULL, 0);
	if (r == 0)
		r = sudoers_emit(w.s, ctx, out);
	sudoers_free(w.s);
	obj_set_sort(out);
	return r;
}
