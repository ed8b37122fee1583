/* SPDX-License-Identifier: ISC */
/* A small hash map with byte-string keys for the watcher (watched dirs, pending paths, drift
 * states). */
#include <stdlib.h>
#include <string.h>

#include "fim/watch/watch_map.h"

struct wmap_ent {
	struct wmap_ent *next;
	uint64_t hash;
	struct wval val;
	size_t n;
	uint8_t key[];
};

/* FNV-1a: keys are paths of the local tree; the table grows, so a skewed
 * spread costs time, not correctness. */
static uint64_t hash_key(const void *key, size_t n)
{
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static struct wmap_ent **find(const struct wmap *m, const void *key, size_t n, uint64_t h)
{
	struct wmap_ent **e;

	if (!m->nslots)
		return NULL;
	for (e = &m->slots[h & (m->nslots - 1)]; *e; e = &(*e)->next)
		if ((*e)->hash == h && (*e)->n == n && memcmp((*e)->key, key, n) == 0)
			return e;
	return e;
}

struct wval *wmap_get(const struct wmap *m, const void *key, size_t n)
{
	struct wmap_ent **e = find(m, key, n, hash_key(key, n));

	return e && *e ? &(*e)->val : NULL;
}

static int grow(struct wmap *m)
{
	size_t nn = m->nslots ? m->nslots * 2 : 64;
	struct wmap_ent **s = calloc(nn, sizeof(*s));

	if (!s)
		return -1;
	for (size_t i = 0; i < m->nslots; i++) {
		struct wmap_ent *e = m->slots[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = s[e->hash & (nn - 1)];
			s[e->hash & (nn - 1)] = e;
		}
	}
	free(m->slots);
	m->slots = s;
	m->nslots = nn;
	return 0;
}

struct wval *wmap_put(struct wmap *m, const void *key, size_t n, bool *created)
{
	uint64_t h = hash_key(key, n);
	struct wmap_ent **e, *ne;

	if (created)
		*created = false;
	e = find(m, key, n, h);
	if (e && *e)
		return &(*e)->val;
	if (m->count >= m->nslots && grow(m) < 0)
		return NULL;
	ne = calloc(1, sizeof(*ne) + n);
	if (!ne)
		return NULL;
	ne->hash = h;
	ne->n = n;
	memcpy(ne->key, key, n);
	ne->next = m->slots[h & (m->nslots - 1)];
	m->slots[h & (m->nslots - 1)] = ne;
	m->count++;
	if (created)
		*created = true;
	return &ne->val;
}

bool wmap_del(struct wmap *m, const void *key, size_t n)
{
	struct wmap_ent **e = find(m, key, n, hash_key(key, n)), *d;

	if (!e || !*e)
		return false;
	d = *e;
	*e = d->next;
	free(d->val.str);
	free(d);
	m->count--;
	return true;
}

void wmap_free(struct wmap *m)
{
	for (size_t i = 0; i < m->nslots; i++) {
		struct wmap_ent *e = m->slots[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e->val.str);
			free(e);
		}
	}
	free(m->slots);
	*m = (struct wmap){0};
}

bool wmap_next(const struct wmap *m, struct wmap_iter *it, const uint8_t **key, size_t *n,
               struct wval **val)
{
	struct wmap_ent *e = it->next;

	if (!it->started) {
		it->started = true;
		it->pos = 0;
		e = m->nslots ? m->slots[0] : NULL;
	}
	while (!e) {
		if (++it->pos >= m->nslots)
			return false;
		e = m->slots[it->pos];
	}
	/* Taken now, so the caller may delete E. */
	it->next = e->next;
	*key = e->key;
	*n = e->n;
	*val = &e->val;
	return true;
}
