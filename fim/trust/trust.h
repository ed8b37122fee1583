/* SPDX-License-Identifier: ISC */
/* Signing a baseline and checking its signatures: the glue between sign and store. */
#pragma once

#include <stddef.h>

#include "fim/core/error.h"
#include "fim/store/store.h"
#include "fim/trust/sign.h"
#include "policy/policy.h"

/*
 * The signature in meta (META_SIGNATURE): version byte 1, the signer's key
 * id (SIGN_ID_BYTES), then the Ed25519 signature (SIGN_BYTES) of
 * "fim-baseline-v1\0" followed by store_digest().
 *
 * Nothing here reads options, prints or picks an exit code: each call
 * returns 0 or a negative errno, and for a baseline that must not be
 * trusted fills the struct fim_err it is given with the cause in words
 * ("the baseline is not signed"), which the command says once.
 */
#define TRUST_SIG_VERSION 1
#define TRUST_SIG_BYTES   (1 + SIGN_ID_BYTES + SIGN_BYTES)

/* Signs what W holds with K (K->sk must be set): the records and policy
 * (META_SIGNATURE) and the data file's bytes (data.sig). Returns 0 or a
 * negative errno. */
int trust_sign(struct store_writer *w, const struct sign_key *k);

/* Loads the verify key PATH (a public key file, or the public half of a
 * sealed secret one) into *RET. Returns 0, or sign_load_public's errno
 * with E's cause: "the verify key is not a fim public key" (-EBADMSG) or
 * "the verify key cannot be read". */
int trust_key_load(const char *path, struct sign_key *ret, struct fim_err *e);

/*
 * Checks the signature of the baseline S's records against K; with P not
 * NULL, P must also be the policy the baseline was signed with. SIGNER
 * (SIZE bytes, at least 2 * SIGN_ID_BYTES + 1 to be filled) gets the hex
 * id of the key the baseline names, "" when it names none; may be NULL.
 * Returns 0, or with E's cause:
 *   -ENOKEY        the baseline is not signed
 *   -EBADMSG       its signature is malformed
 *   -EPERM         it was signed by another key
 *   store_digest's errno: it cannot be read in full (damaged)
 *   -EKEYREJECTED  the signature does not match the content
 *   -ESTALE        P is not the policy it was signed with
 */
int trust_check_sig(const struct sign_key *k, const struct policy *p, struct store *s, char *signer,
                    size_t size, struct fim_err *e);

/*
 * Opens the baseline of DB after checking the signature of its data file's
 * bytes (data.sig) against K, before LMDB reads a byte of it. Returns 0
 * with *RET open, or:
 *   -ENOKEY, -EPERM, -EKEYREJECTED, -EBADMSG: the baseline is not to be
 *     trusted (unsigned, another key's, changed after signing, corrupt),
 *     with E's cause;
 *   -ENOENT, -EPROTONOSUPPORT: no baseline to check (or one of another
 *     schema), E's cause left empty;
 *   any other negative errno: it cannot be opened, E's cause left empty.
 */
int trust_store_open(const char *db, const struct sign_key *k, struct store **ret,
                     struct fim_err *e);
