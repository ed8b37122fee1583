/* SPDX-License-Identifier: ISC */
/* Signing keys: Ed25519 pairs, the secret sealed by a passphrase (Argon2id, XChaCha20-Poly1305). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGN_PUBLIC_BYTES   32
#define SIGN_SECRET_BYTES   64
#define SIGN_BYTES          64
#define SIGN_ID_BYTES       8
#define SIGN_MAX_PASSPHRASE 1024

/* A key: always the public half, the secret half only when loaded from the
 * sealed file. id = the first SIGN_ID_BYTES of BLAKE2b-256(public key): names
 * the key in stored signatures and messages. The secret lives in
 * sodium_malloc'd (locked, guarded) memory; free with sign_key_free. */
struct sign_key {
	uint8_t pk[SIGN_PUBLIC_BYTES];
	uint8_t id[SIGN_ID_BYTES];
	uint8_t *sk; /* SIGN_SECRET_BYTES, or NULL */
};

/* Readies libsodium (sodium_init). Every sign_ function does it itself; call
 * it before sodium_malloc'ing a passphrase buffer, which aborts otherwise.
 * Returns 0 or -EIO. */
int sign_init(void);

/*
 * Creates DIR (0700) if missing and writes DIR/fim.pub (0644) and
 * DIR/fim.key (0600, the secret sealed with a key derived from PASS by
 * Argon2id). Existing files are never overwritten (-EEXIST). Returns 0 or
 * a negative errno; on failure nothing is left behind.
 */
int sign_generate(const char *dir, const char *pass, size_t plen);

/* The Argon2id cost sign_generate seals with: libsodium's MODERATE (3
 * passes over 256 MiB). Each key file records its own cost, so raising
 * these later leaves older keys readable. */
#define SIGN_KDF_OPSLIMIT 3u
#define SIGN_KDF_MEMLIMIT (256ull << 20)

/* sign_generate with an explicit Argon2id cost: OPS passes over MEM bytes,
 * 1..32 passes and 8 KiB..1 GiB (what sign_load_secret accepts), else
 * -EINVAL. For tests (cheap keys) and a future cost option. */
int sign_generate_cost(const char *dir, const char *pass, size_t plen, uint32_t ops, uint64_t mem);

/* Loads the public key file PATH (or the public half of a sealed secret
 * key file). Returns 0, -ENOENT/-EACCES..., or -EBADMSG (not a fim key). */
int sign_load_public(const char *path, struct sign_key *ret);

/* Loads and unseals the secret key file PATH. Returns 0, an open errno,
 * -EBADMSG (not a fim secret key), -EKEYREJECTED (wrong passphrase or a
 * tampered file). */
int sign_load_secret(const char *path, const char *pass, size_t plen, struct sign_key *ret);

void sign_key_free(struct sign_key *k);

/* Ed25519 signature of MSG[0..n) with K's secret (-EINVAL without one). */
int sign_message(const struct sign_key *k, const void *msg, size_t n, uint8_t sig[SIGN_BYTES]);
/* Returns 0 when SIG is K's signature of MSG, else -EBADMSG. */
int sign_check(const struct sign_key *k, const void *msg, size_t n, const uint8_t sig[SIGN_BYTES]);

/* Hex of K's id (2 * SIGN_ID_BYTES + 1 bytes). */
void sign_id_hex(const struct sign_key *k, char out[2 * SIGN_ID_BYTES + 1]);
