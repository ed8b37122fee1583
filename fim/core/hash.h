/* SPDX-License-Identifier: ISC */
/* Content digests: algorithms chosen by name, streamed over file data. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HASH_MAX_DIGEST 64

enum hash_algo {
	HASH_NONE = 0,
	HASH_SHA256 = 1,
	HASH_SHA512 = 2,
	HASH_BLAKE2B = 3, /* BLAKE2b-512 */
	/* The sparse-aware digests of files with holes (baseline/sparse.h):
	 * the same function over the extent map and the data, named apart so
	 * that one is never taken for the plain digest of the same bytes. */
	HASH_SHA256_SPARSE = 4,
	HASH_SHA512_SPARSE = 5,
	HASH_BLAKE2B_SPARSE = 6,
};

/* Algorithm for NAME ("sha256", "sha512", "blake2b") or HASH_NONE; the
 * sparse names are not accepted (a policy chooses the function only). */
enum hash_algo hash_lookup(const char *name);
/* The sparse variant of plain algorithm A ("sha256" -> "sha256-sparse"),
 * or HASH_NONE. */
enum hash_algo hash_sparse(enum hash_algo a);
const char *hash_name(enum hash_algo a);
/* Digest length in bytes, 0 for HASH_NONE or unknown values. */
size_t hash_len(enum hash_algo a);

struct hash_ctx;

/* Allocates a context for A (a sparse variant computes its plain function).
 * Returns NULL on allocation failure. */
struct hash_ctx *hash_new(enum hash_algo a);
void hash_free(struct hash_ctx *h);
/* Restart the context; returns 0 or -EIO. */
int hash_init(struct hash_ctx *h);
int hash_update(struct hash_ctx *h, const void *buf, size_t n);
/* Writes hash_len() bytes to out. */
int hash_final(struct hash_ctx *h, uint8_t *out);
/* Digest of the data so far without ending the stream (for prefix checks). */
int hash_peek(struct hash_ctx *h, uint8_t *out);
/* One-shot digest of a buffer. */
int hash_buffer(enum hash_algo a, const void *buf, size_t n, uint8_t *out);
