/* SPDX-License-Identifier: ISC */
/* fim verify: is the baseline exactly what the holder of the signing key signed? */
#include <stdio.h>
#include <string.h>

#include "fim/cli.h"
#include "fim/log.h"
#include "fim/trust/trust.h"
#include "fim/core/utf8.h"

/* What was verified, so that an older signed baseline put back in place
 * (which verifies too) can be told from the latest one. */
static void print_good(const struct fim_opts *o, struct store *s, const char *signer, double secs)
{
	struct store_iter *it = NULL;
	struct bytes created = {0}, host = {0}, e;
	uint64_t seq = 0, last = 0;
	char qc[128], qh[512];

	store_meta(s, META_CREATED, &created);
	store_meta(s, META_HOST, &host);
	if (store_audit_iter(s, &it) >= 0)
		while (store_audit_next(it, &seq, &e) > 0)
			last = seq;
	store_iter_free(it);
	printf("%s: signature good (key %s), policy matches; baseline of %s on %s, last accept "
	       "#%llu; verified in %.2f s\n",
	       o->db, signer, utf8_quote((const char *)created.p, created.n, qc, sizeof(qc)),
	       utf8_quote((const char *)host.p, host.n, qh, sizeof(qh)), (unsigned long long)last,
	       secs);
}

int cmd_verify(struct fim_opts *o, int argc, char **argv)
{
	struct policy *p = NULL;
	struct store *s = NULL;
	struct fim_err e = {0};
	struct sign_key k;
	const char *key;
	char signer[2 * SIGN_ID_BYTES + 1];
	double t0 = cli_now();
	int ret;

	if (argc > 1) {
		log_error("verify: unexpected argument '%s'", argv[1]);
		return FIM_EXIT_USAGE;
	}
	ret = cli_load_policy(o, &p);
	if (ret)
		return ret;
	key = cli_trust_verify_key_path(o, p);
	if (!key) {
		log_error("verify: which key? (--verify-key FILE, or 'set verify_key' in %s)",
		          o->policy);
		policy_free(p);
		return FIM_EXIT_USAGE;
	}
	ret = cli_trust_open_key(o, key, &s);
	if (ret == 0) {
		if (trust_key_load(key, &k, &e) < 0 ||
		    trust_check_sig(&k, p, s, signer, sizeof(signer), &e) < 0) {
			log_error("%s: baseline integrity failure: %s (verify key %s)", o->db,
			          fim_err_text(&e), key);
			ret = FIM_EXIT_INTEGRITY;
		} else if (o->verbose) {
			print_good(o, s, signer, cli_now() - t0);
		}
	}
	store_close(s);
	policy_free(p);
	return ret;
}
