/* SPDX-License-Identifier: ISC */
/* Signing a baseline and refusing one that does not verify: the glue between sign and store. */
#pragma once

#include "fim/cli.h"
#include "fim/trust/sign.h"

/*
 * The signature in meta (META_SIGNATURE): version byte 1, the signer's key
 * id (SIGN_ID_BYTES), then the Ed25519 signature (SIGN_BYTES) of
 * "fim-baseline-v1\0" followed by store_digest().
 */
#define TRUST_SIG_VERSION 1
#define TRUST_SIG_BYTES   (1 + SIGN_ID_BYTES + SIGN_BYTES)

/* Loads the secret key named by --sign-key (asking for its passphrase)
 * before any work is done. Returns 0 (with *ret->sk NULL when no key was
 * asked for), or an exit status (reported). */
int trust_load_signer(const struct fim_opts *o, struct sign_key *ret);

/* Signs what W holds with K (K->sk must be set). Returns 0 or a negative errno. */
int trust_sign(struct store_writer *w, const struct sign_key *k);

/* The verify key path in force: --verify-key, else "set verify_key" of P,
 * else NULL (verification optional). */
const char *trust_verify_key_path(const struct fim_opts *o, const struct policy *p);

/*
 * Verifies the baseline S when a verify key is configured (see
 * trust_verify_key_path): the signature must be present, made by that key,
 * and match the store's digest; with P not NULL, P must also be the
 * policy the baseline was signed with. Returns 0, or FIM_EXIT_INTEGRITY
 * with the reason logged ("...: the baseline is not signed").
 */
int trust_verify(const struct fim_opts *o, const struct policy *p, struct store *s);

/*
 * For commands that read the baseline but do not apply a policy (show,
 * history): like trust_verify, with the verify key of --verify-key or of
 * the policy file when there is one (a policy file that exists but cannot
 * be parsed is an error: it may be what requires the key). The policy in
 * force is not compared. Returns 0, FIM_EXIT_POLICY or FIM_EXIT_INTEGRITY
 * (reported).
 */
int trust_verify_store(const struct fim_opts *o, struct store *s);

/*
 * Unconditional check for `fim verify`: like trust_verify with KEY_PATH
 * (required); trust_check_key with a key already loaded (its public half). Prints nothing; *why
 * gets a static reason on failure. Returns 0 or FIM_EXIT_INTEGRITY.
 */
int trust_check_key(const struct sign_key *k, const struct policy *p, struct store *s,
                    const char **why, char *signer, size_t size);
int trust_check(const char *key_path, const struct policy *p, struct store *s, const char **why,
                char *signer, size_t size);

/*
 * Opens the baseline of --db for a command that trusts it: refuses an
 * unsigned baseline that other users could replace (store_check_trust;
 * only a loud warning when a verify key is in force), and with a verify
 * key (KEY_PATH, or the one trust_verify_key_path finds for P) checks the
 * signature of the data file's bytes before LMDB reads a byte of it.
 * Then call trust_verify as before for the signature of the records.
 * Returns 0, FIM_EXIT_BASELINE or FIM_EXIT_INTEGRITY (reported).
 */
int trust_open_key(const struct fim_opts *o, const char *key_path, struct store **ret);
int trust_open(const struct fim_opts *o, const struct policy *p, struct store **ret);
/* For show and history: trust_open and trust_verify_store in one, with the
 * verify key of --verify-key or of the policy file. */
int trust_open_store(const struct fim_opts *o, struct store **ret);
