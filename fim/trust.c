/* SPDX-License-Identifier: ISC */
/* Signing a baseline and refusing one that does not verify: the glue between sign and store. */
#include <sodium.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "trust.h"

static const char sig_context[] = "fim-baseline-v1"; /* with its NUL */

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
	return store_writer_meta(w, META_SIGNATURE, val, sizeof(val));
}

const char *trust_verify_key_path(const struct fim_opts *o, const struct policy *p)
{
	if (o->verify_key)
		return o->verify_key;
	return p ? policy_get(p, "verify_key") : NULL;
}

/* True when P is the policy of the baseline S, whose policy digest is PD. */
static bool is_baseline_policy(const struct policy *p, struct store *s, struct bytes pd)
{
	struct bytes pb = {0};

	if (store_meta(s, META_POLICY, &pb) < 0)
		pb = (struct bytes){0};
	return policy_is_stored(p, pd.p, pd.n, pb.p, pb.n);
}

int trust_check_key(const struct sign_key *k, const struct policy *p, struct store *s,
                    const char **why, char *signer, size_t size)
{
	uint8_t digest[STORE_DIGEST_BYTES], msg[sizeof(sig_context) + STORE_DIGEST_BYTES];
	struct bytes sig, pd;
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
	if (p && (store_meta(s, META_POLICY_DIGEST, &pd) < 0 || !is_baseline_policy(p, s, pd))) {
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

int trust_verify_store(const struct fim_opts *o, struct store *s)
{
	struct policy_error err = {0};
	struct policy *p = NULL;
	const char *path, *why = NULL;
	int r;

	/* a policy that cannot be read might be the one that requires a key */
	if (!o->verify_key) {
		r = policy_load(o->policy, &p, &err);
		if (r == -ENOENT && access(o->policy, F_OK) < 0 && errno == ENOENT)
			p = NULL; /* no policy file at all */
		else if (r < 0)
			return cli_load_policy(o, &p); /* reports it the usual way */
	}
	path = trust_verify_key_path(o, p);
	r = 0;
	if (path && trust_check(path, NULL, s, &why, NULL, 0)) {
		log_error("%s: baseline integrity failure: %s (verify key %s)", o->db, why, path);
		r = FIM_EXIT_INTEGRITY;
	}
	policy_free(p);
	return r;
}
