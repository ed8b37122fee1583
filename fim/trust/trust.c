/* SPDX-License-Identifier: ISC */
/* Signing a baseline and refusing one that does not verify: the glue between sign and store. */
#include <sodium.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fim/log.h"
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

int trust_load_signer(const struct fim_opts *o, struct sign_key *ret)
{
	char *pass;
	size_t plen = 0;
	int r;

	*ret = (struct sign_key){0};
	if (!o->sign_key)
		return 0;
	if (sodium_init() < 0) {
		log_error("cannot initialise libsodium");
		return FIM_EXIT_IO;
	}
	pass = sodium_malloc(SIGN_MAX_PASSPHRASE + 1);
	if (!pass) {
		log_error("out of memory");
		return FIM_EXIT_IO;
	}
	r = sign_passphrase(o->passphrase_file, false, pass, SIGN_MAX_PASSPHRASE + 1, &plen);
	if (r < 0) {
		sodium_free(pass);
		if (r == -ENOTTY)
			log_error(
			        "%s: no passphrase: set FIM_PASSPHRASE, use --passphrase-file, or "
			        "run on a terminal",
			        o->sign_key);
		else
			log_error("%s: cannot read the passphrase: %s",
			          o->passphrase_file ? o->passphrase_file : o->sign_key,
			          r == -EINVAL ? "empty or not confirmed" : strerror(-r));
		return FIM_EXIT_USAGE;
	}
	r = sign_load_secret(o->sign_key, pass, plen, ret);
	sodium_free(pass);
	if (r == -EKEYREJECTED) {
		log_error("%s: wrong passphrase, or the key file was altered", o->sign_key);
		return FIM_EXIT_INTEGRITY;
	}
	if (r < 0) {
		log_error("%s: cannot load the signing key: %s", o->sign_key,
		          r == -EBADMSG ? "not a fim secret key" : strerror(-r));
		return r == -EBADMSG ? FIM_EXIT_INTEGRITY : FIM_EXIT_IO;
	}
	return 0;
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

const char *trust_verify_key_path(const struct fim_opts *o, const struct policy *p)
{
	if (o->verify_key)
		return o->verify_key;
	return p ? policy_get(p, "verify_key") : NULL;
}

int trust_check_key(const struct sign_key *k, const struct policy *p, struct store *s,
                    const char **why, char *signer, size_t size)
{
	uint8_t digest[STORE_DIGEST_BYTES], msg[sizeof(sig_context) + STORE_DIGEST_BYTES];
	struct bytes sig;
	int r;

	if (signer && size)
		signer[0] = '\0';
	if (store_meta(s, META_SIGNATURE, &sig) < 0) {
		*why = "the baseline is not signed";
		return FIM_EXIT_INTEGRITY;
	}
	if (sig.n != TRUST_SIG_BYTES || sig.p[0] != TRUST_SIG_VERSION) {
		*why = "the baseline's signature is malformed";
		return FIM_EXIT_INTEGRITY;
	}
	if (signer && size >= 2 * SIGN_ID_BYTES + 1)
		sodium_bin2hex(signer, size, sig.p + 1, SIGN_ID_BYTES);
	if (memcmp(sig.p + 1, k->id, SIGN_ID_BYTES) != 0) {
		*why = "the baseline was signed by another key";
		return FIM_EXIT_INTEGRITY;
	}
	r = store_digest(s, digest);
	if (r < 0) {
		*why = "the baseline cannot be read in full (damaged)";
		return FIM_EXIT_INTEGRITY;
	}
	message(digest, msg);
	if (sign_check(k, msg, sizeof(msg), sig.p + 1 + SIGN_ID_BYTES) < 0) {
		*why = "the signature does not match the baseline's content (records or policy "
		       "were changed after signing)";
		return FIM_EXIT_INTEGRITY;
	}
	if (p && !store_policy_is(s, p)) {
		*why = "the policy in force is not the one the baseline was signed with";
		return FIM_EXIT_INTEGRITY;
	}
	return 0;
}

int trust_check(const char *key_path, const struct policy *p, struct store *s, const char **why,
                char *signer, size_t size)
{
	struct sign_key k;
	int r;

	if (signer && size)
		signer[0] = '\0';
	r = sign_load_public(key_path, &k);
	if (r < 0) {
		*why = r == -EBADMSG ? "the verify key is not a fim public key"
		                     : "the verify key cannot be read";
		return FIM_EXIT_INTEGRITY;
	}
	return trust_check_key(&k, p, s, why, signer, size);
}

int trust_verify(const struct fim_opts *o, const struct policy *p, struct store *s)
{
	const char *path = trust_verify_key_path(o, p), *why = NULL;
	int r;

	if (!path)
		return 0;
	r = trust_check(path, p, s, &why, NULL, 0);
	if (r)
		log_error("%s: baseline integrity failure: %s (verify key %s)", o->db, why, path);
	return r;
}

/* The check of trust_verify_store with the policy P already read (or
 * NULL): its verify key, the policy in force not compared. */
static int trust_verify_store_with(const struct fim_opts *o, const struct policy *p,
                                   struct store *s)
{
	const char *path = trust_verify_key_path(o, p), *why = NULL;

	if (path && trust_check(path, NULL, s, &why, NULL, 0)) {
		log_error("%s: baseline integrity failure: %s (verify key %s)", o->db, why, path);
		return FIM_EXIT_INTEGRITY;
	}
	return 0;
}

/* The policy file when it may name the verify key (no --verify-key):
 * NULL when there is none. Returns 0 or FIM_EXIT_POLICY (reported). */
static int key_policy(const struct fim_opts *o, struct policy **ret)
{
	struct policy_error err = {0};
	int r;

	*ret = NULL;
	if (o->verify_key)
		return 0;
	/* a policy that cannot be read might be the one that requires a key */
	r = policy_load(o->policy, ret, &err);
	if (r == -ENOENT && access(o->policy, F_OK) < 0 && errno == ENOENT) {
		*ret = NULL; /* no policy file at all */
		return 0;
	}
	if (r < 0)
		return cli_load_policy(o, ret); /* reports it the usual way */
	return 0;
}

int trust_verify_store(const struct fim_opts *o, struct store *s)
{
	struct policy *p = NULL;
	int r = key_policy(o, &p);

	if (r)
		return r;
	r = trust_verify_store_with(o, p, s);
	policy_free(p);
	return r;
}

/* Where the baseline lies: refused when unsigned, a loud warning when a
 * signature is checked anyway. Returns 0 or FIM_EXIT_BASELINE (reported). */
static int trust_where(const struct fim_opts *o, bool signed_)
{
	char why[PATH_MAX + 128];
	int r = store_check_trust(o->db, why, sizeof(why));

	if (r == 0)
		return 0;
	/* it was opened, so this is rare: a path that changed meanwhile */
	if (r != -EPERM)
		snprintf(why, sizeof(why), "%s: cannot tell who could write it: %s", o->db,
		         strerror(-r));
	if (signed_) {
		log_warn("%s: another user could replace or change this baseline; it is used only "
		         "because its signature is checked",
		         why);
		return 0;
	}
	log_error("%s: refusing an unsigned baseline that another user could replace or change "
	          "(fix its owner or mode, or sign it)",
	          why);
	return FIM_EXIT_BASELINE;
}

/* trust_open_key without the check of where the baseline lies. */
static int open_key(const struct fim_opts *o, const char *key_path, struct store **ret)
{
	struct sign_key k;
	int r;

	if (!key_path)
		return cli_open_store(o, ret);
	r = sign_load_public(key_path, &k);
	if (r < 0) {
		log_error("%s: baseline integrity failure: %s (verify key %s)", o->db,
		          r == -EBADMSG ? "the verify key is not a fim public key"
		                        : "the verify key cannot be read",
		          key_path);
		return FIM_EXIT_INTEGRITY;
	}
	r = store_open_verified(o->db, check_file, &k, ret);
	switch (r) {
	case 0:
		return 0;
	case -ENOKEY:
		log_error(
		        "%s: baseline integrity failure: the baseline is not signed (its data file "
		        "has no signature; a baseline signed by fim 0.1 must be signed again with "
		        "'fim baseline --sign-key') (verify key %s)",
		        o->db, key_path);
		return FIM_EXIT_INTEGRITY;
	case -EPERM:
		log_error("%s: baseline integrity failure: the baseline was signed by another key "
		          "(verify key %s)",
		          o->db, key_path);
		return FIM_EXIT_INTEGRITY;
	case -EKEYREJECTED:
		log_error("%s: baseline integrity failure: the signature does not match the "
		          "baseline's content (its data file is not the bytes that were signed: "
		          "damaged, or changed after signing) (verify key %s)",
		          o->db, key_path);
		return FIM_EXIT_INTEGRITY;
	case -EBADMSG:
		log_error("%s: baseline integrity failure: the baseline is corrupt (verify key %s)",
		          o->db, key_path);
		return FIM_EXIT_INTEGRITY;
	case -ENOENT:
	case -EPROTONOSUPPORT:
		/* for its usual message only: what it might open was not checked */
		r = cli_open_store(o, ret);
		if (r == 0) {
			store_close(*ret);
			*ret = NULL;
			log_error("%s: baseline integrity failure: the baseline was replaced while "
			          "it was opened (verify key %s)",
			          o->db, key_path);
			r = FIM_EXIT_INTEGRITY;
		}
		return r;
	default:
		log_error("%s: cannot open baseline: %s", o->db, strerror(-r));
		return FIM_EXIT_BASELINE;
	}
}

/* Where it lies is checked once it could be opened: a baseline that is
 * missing or unreadable is reported as such, and the unsigned one that is
 * refused was only read (under the store's guard), never used. */
int trust_open_key(const struct fim_opts *o, const char *key_path, struct store **ret)
{
	int r = open_key(o, key_path, ret);

	if (r)
		return r;
	r = trust_where(o, key_path != NULL);
	if (r) {
		store_close(*ret);
		*ret = NULL;
	}
	return r;
}

int trust_open(const struct fim_opts *o, const struct policy *p, struct store **ret)
{
	return trust_open_key(o, trust_verify_key_path(o, p), ret);
}

int trust_open_store(const struct fim_opts *o, struct store **ret)
{
	struct policy *p = NULL;
	int r = key_policy(o, &p);

	if (r)
		return r;
	r = trust_open(o, p, ret);
	if (r == 0)
		r = trust_verify_store_with(o, p, *ret);
	policy_free(p);
	if (r) {
		store_close(*ret);
		*ret = NULL;
	}
	return r;
}
