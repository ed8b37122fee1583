/* SPDX-License-Identifier: ISC */
/* A small hash map with byte-string keys for the watcher (watched dirs, pending paths, drift
 * states). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an entry holds; the map frees STR. */
struct wval {
	int64_t a, b;
	unsigned flags;
	char *str;
	uint8_t digest[32];
};

struct wmap_ent;

struct wmap {
	struct wmap_ent **slots;
	size_t nslots, count;
};

/* The entry of KEY[0..n) or NULL. */
struct wval *wmap_get(const struct wmap *m, const void *key, size_t n);
/* The entry of KEY, created zeroed when missing (*created says which).
 * Returns NULL when out of memory. */
struct wval *wmap_put(struct wmap *m, const void *key, size_t n, bool *created);
/* Removes KEY; true if it was there. */
bool wmap_del(struct wmap *m, const void *key, size_t n);
void wmap_free(struct wmap *m);

/* Iteration: start IT zeroed; returns false at the end. Deleting the entry
 * just returned is allowed, deleting any other is not. */
struct wmap_iter {
	size_t pos;
	struct wmap_ent *next;
	bool started;
};
bool wmap_next(const struct wmap *m, struct wmap_iter *it, const uint8_t **key, size_t *n,
               struct wval **val);
