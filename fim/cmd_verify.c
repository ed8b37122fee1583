/* SPDX-License-Identifier: ISC */
/* fim verify: is the baseline exactly what the holder of the signing key signed? */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "trust.h"

int cmd_verify(struct fim_opts *o, int argc, char **argv)
{
	struct policy *p = NULL;
	struct store *s = NULL;
	const char *key, *why = "";
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
	key = trust_verify_key_path(o, p);
	if (!key) {
		log_error("verify: which key? (--verify-key FILE, or 'set verify_key' in %s)",
		          o->policy);
		policy_free(p);
		return FIM_EXIT_USAGE;
	}
	ret = cli_open_store(o, &s);
	if (ret == 0) {
		ret = trust_check(key, p, s, &why, signer, sizeof(signer));
		if (ret)
			log_error("%s: baseline integrity failure: %s (verify key %s)", o->db, why,
			          key);
		else if (o->verbose)
			printf("%s: signature good (key %s), policy matches; verified in %.2f s\n",
			       o->db, signer, cli_now() - t0);
	}
	store_close(s);
	policy_free(p);
	return ret;
}
