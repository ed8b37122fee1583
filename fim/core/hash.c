/* SPDX-License-Identifier: ISC */
/* Content digests over OpenSSL's EVP interface (libcrypto). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fim/core/common.h"
#include "fim/core/hash.h"

struct hash_ctx {
	enum hash_algo algo;
	EVP_MD *impl; /* fetched once: an init with a legacy EVP_MD fetches again */
	EVP_MD_CTX *md;
	EVP_MD_CTX *peek; /* scratch copy for hash_peek, allocated on first use */
};

static const struct {
	const char *name;
	size_t len;
} algos[] = {
        [HASH_NONE] = {"none", 0},
        [HASH_SHA256] = {"sha256", 32},
        [HASH_SHA512] = {"sha512", 64},
        [HASH_BLAKE2B] = {"blake2b", 64},
        [HASH_SHA256_SPARSE] = {"sha256-sparse", 32},
        [HASH_SHA512_SPARSE] = {"sha512-sparse", 64},
        [HASH_BLAKE2B_SPARSE] = {"blake2b-sparse", 64},
};

static const EVP_MD *hash_md(enum hash_algo a)
{
	switch (a) {
	case HASH_SHA256:
	case HASH_SHA256_SPARSE:
		return EVP_sha256();
	case HASH_SHA512:
	case HASH_SHA512_SPARSE:
		return EVP_sha512();
	case HASH_BLAKE2B:
	case HASH_BLAKE2B_SPARSE:
		return EVP_blake2b512();
	default:
		return NULL;
	}
}

enum hash_algo hash_lookup(const char *name)
{
	for (unsigned i = HASH_NONE + 1; i < HASH_SHA256_SPARSE; i++)
		if (strcmp(algos[i].name, name) == 0)
			return (enum hash_algo)i;
	return HASH_NONE;
}

enum hash_algo hash_sparse(enum hash_algo a)
{
	switch (a) {
	case HASH_SHA256:
		return HASH_SHA256_SPARSE;
	case HASH_SHA512:
		return HASH_SHA512_SPARSE;
	case HASH_BLAKE2B:
		return HASH_BLAKE2B_SPARSE;
	default:
		return HASH_NONE;
	}
}

const char *hash_name(enum hash_algo a)
{
	if ((unsigned)a >= ARRAY_SIZE(algos))
		return NULL;
	return algos[a].name;
}

size_t hash_len(enum hash_algo a)
{
	if ((unsigned)a >= ARRAY_SIZE(algos))
		return 0;
	return algos[a].len;
}

struct hash_ctx *hash_new(enum hash_algo a)
{
	struct hash_ctx *h;

	if (!hash_md(a))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->algo = a;
	/* Fetching resolves the provider's implementation once per context;
	 * EVP_DigestInit_ex with EVP_sha256() and the like would look it up
	 * in the provider store (under its lock) at every file. */
	h->impl = EVP_MD_fetch(NULL, EVP_MD_get0_name(hash_md(a)), NULL);
	h->md = EVP_MD_CTX_new();
	if (!h->impl || !h->md || hash_init(h) < 0) {
		hash_free(h);
		return NULL;
	}
	return h;
}

void hash_free(struct hash_ctx *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	EVP_MD_CTX_free(h->peek);
	EVP_MD_free(h->impl);
	free(h);
}

int hash_init(struct hash_ctx *h)
{
	return EVP_DigestInit_ex(h->md, h->impl, NULL) == 1 ? 0 : -EIO;
}

int hash_update(struct hash_ctx *h, const void *buf, size_t n)
{
	if (n == 0)
		return 0;
	return EVP_DigestUpdate(h->md, buf, n) == 1 ? 0 : -EIO;
}

int hash_final(struct hash_ctx *h, uint8_t *out)
{
	return EVP_DigestFinal_ex(h->md, out, NULL) == 1 ? 0 : -EIO;
}

/* Finishing a copy leaves the original stream open for more data. */
int hash_peek(struct hash_ctx *h, uint8_t *out)
{
	if (!h->peek) {
		h->peek = EVP_MD_CTX_new();
		if (!h->peek)
			return -ENOMEM;
	}
	if (EVP_MD_CTX_copy_ex(h->peek, h->md) != 1)
		return -EIO;
	return EVP_DigestFinal_ex(h->peek, out, NULL) == 1 ? 0 : -EIO;
}

int hash_buffer(enum hash_algo a, const void *buf, size_t n, uint8_t *out)
{
	const EVP_MD *md = hash_md(a);

	if (!md)
		return -EINVAL;
	return EVP_Digest(n ? buf : "", n, out, NULL, md, NULL) == 1 ? 0 : -EIO;
}
