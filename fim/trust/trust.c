/* SPDX-License-Identifier: ISC */
/* Signing a baseline and checking its signatures: the glue between sign and store. */
#include <sodium.h>
#include <errno.h>
#include <string.h>

#include "fim/store/store_policy.h"
#include "fim/trust/trust.h"

static const char sig_context[] = "fim-baseline-v1"; /* with its NUL */
/* The data file's signature (data.sig beside data.mdb): the same layout
 * as the one in meta, over this context and the SHA-256 of the file's
 * bytes. */
static const char file_context[] = "fim-baseline-file-v1";

/* The message a signature is made over: context, then the digest. */
static void message(const uint8_t digest[STORE_DIGEST_BYTES],
                    uint8_t out[sizeof(sig_context) + STORE_DIGEST_BYTES])
{
	memcpy(out, sig_context, sizeof(sig_context));
	memcpy(out + sizeof(sig_context), digest, STORE_DIGEST_BYTES);
}

static void file_message(const uint8_t digest[STORE_DIGEST_BYTES],
                         uint8_t out[sizeof(file_context) + STORE_DIGEST_BYTES])
{
	memcpy(out, file_context, sizeof(file_context));
	memcpy(out + sizeof(file_context), digest, STORE_DIGEST_BYTES);
}

static int sign_file(void *user, const uint8_t digest[STORE_DIGEST_BYTES], uint8_t *sig,
                     size_t size)
{
	const struct sign_key *k = user;
	uint8_t msg[sizeof(file_context) + STORE_DIGEST_BYTES];
	int r;

	if (size < TRUST_SIG_BYTES)
		return -E2BIG;
	file_message(digest, msg);
	sig[0] = TRUST_SIG_VERSION;
	memcpy(sig + 1, k->id, SIGN_ID_BYTES);
	r = sign_message(k, msg, sizeof(msg), sig + 1 + SIGN_ID_BYTES);
	return r < 0 ? r : TRUST_SIG_BYTES;
}

static int check_file(void *user, const uint8_t digest[STORE_DIGEST_BYTES], const uint8_t *sig,
                      size_t n)
{
	const struct sign_key *k = user;
	uint8_t msg[sizeof(file_context) + STORE_DIGEST_BYTES];

	if (n != TRUST_SIG_BYTES || sig[0] != TRUST_SIG_VERSION)
		return -EKEYREJECTED;
	if (memcmp(sig + 1, k->id, SIGN_ID_BYTES) != 0)
		return -EPERM; /* another key's */
	file_message(digest, msg);
	return sign_check(k, msg, sizeof(msg), sig + 1 + SIGN_ID_BYTES) < 0 ? -EKEYREJECTED : 0;
}

int trust_sign(struct store_writer *w, const struct sign_key *k)
{
	uint8_t digest[STORE_DIGEST_BYTES], msg[sizeof(sig_context) + STORE_DIGEST_BYTES];
	uint8_t val[TRUST_SIG_BYTES];
	int r = store_writer_digest(w, digest);

	if (r < 0)
		return r;
	message(digest, msg);
	val[0] = TRUST_SIG_VERSION;
	memcpy(val + 1, k->id, SIGN_ID_BYTES);
	r = sign_message(k, msg, sizeof(msg), val + 1 + SIGN_ID_BYTES);
	if (r < 0)
		return r;
	store_writer_sign_file(w, sign_file, (void *)k);
	return store_writer_meta(w, META_SIGNATURE, val, sizeof(val));
}

static void err_clear(struct fim_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

int trust_key_load(const char *path, struct sign_key *ret, struct fim_err *e)
{
	int r = sign_load_public(path, ret);

	err_clear(e);
	if (r < 0)
		return fim_err_set(e, r, "%s",
		                   r == -EBADMSG ? "the verify key is not a fim public key"
		                                 : "the verify key cannot be read");
	return 0;
}

int trust_check_sig(const struct sign_key *k, const struct policy *p, struct store *s, char *signer,
                    size_t size, struct fim_err *e)
{
	uint8_t digest[STORE_DIGEST_BYTES], msg[sizeof(sig_context) + STORE_DIGEST_BYTES];
	struct bytes sig;
	int r;

	err_clear(e);
	if (signer && size)
		signer[0] = '\0';
	if (store_meta(s, META_SIGNATURE, &sig) < 0)
		return fim_err_set(e, -ENOKEY, "the baseline is not signed");
	if (sig.n != TRUST_SIG_BYTES || sig.p[0] != TRUST_SIG_VERSION)
		return fim_err_set(e, -EBADMSG, "the baseline's signature is malformed");
	if (signer && size >= 2 * SIGN_ID_BYTES + 1)
		sodium_bin2hex(signer, size, sig.p + 1, SIGN_ID_BYTES);
	if (memcmp(sig.p + 1, k->id, SIGN_ID_BYTES) != 0)
		return fim_err_set(e, -EPERM, "the baseline was signed by another key");
	r = store_digest(s, digest);
	if (r < 0)
		return fim_err_set(e, r, "the baseline cannot be read in full (damaged)");
	message(digest, msg);
	if (sign_check(k, msg, sizeof(msg), sig.p + 1 + SIGN_ID_BYTES) < 0)
		return fim_err_set(e, -EKEYREJECTED,
		                   "the signature does not match the baseline's content (records "
		                   "or policy were changed after signing)");
	if (p && !store_policy_is(s, p))
		return fim_err_set(e, -ESTALE,
		                   "the policy in force is not the one the baseline was signed "
		                   "with");
	return 0;
}

int trust_store_open(const char *db, const struct sign_key *k, struct store **ret,
                     struct fim_err *e)
{
	int r = store_open_verified(db, check_file, (void *)k, ret);

	err_clear(e);
	switch (r) {
	case -ENOKEY:
		return fim_err_set(e, r,
		                   "the baseline is not signed (its data file has no signature; a "
		                   "baseline signed by fim 0.1 must be signed again with 'fim "
		                   "baseline --sign-key')");
	case -EPERM:
		return fim_err_set(e, r, "the baseline was signed by another key");
	case -EKEYREJECTED:
		return fim_err_set(e, r,
		                   "the signature does not match the baseline's content (its data "
		                   "file is not the bytes that were signed: damaged, or changed "
		                   "after signing)");
	case -EBADMSG:
		return fim_err_set(e, r, "the baseline is corrupt");
	}
	return r;
}
