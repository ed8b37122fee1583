/* SPDX-License-Identifier: ISC */
/* The baseline's record of its policy: reading it, and whether a policy is that one. */
#include <errno.h>

#include "fim/store/store_policy.h"

int store_policy_read(struct store *s, struct bytes *digest, struct bytes *bundle)
{
	struct bytes d, b;

	if (store_meta(s, META_POLICY_DIGEST, &d) < 0 || d.n != STORE_POLICY_DIGEST_BYTES ||
	    store_meta(s, META_POLICY, &b) < 0)
		return -EBADMSG;
	*digest = d;
	*bundle = b;
	return 0;
}

bool store_policy_is(struct store *s, const struct policy *p)
{
	struct bytes d, b;

	if (store_meta(s, META_POLICY_DIGEST, &d) < 0)
		return false;
	if (store_meta(s, META_POLICY, &b) < 0)
		b = (struct bytes){0};
	return policy_is_stored(p, d.p, d.n, b.p, b.n);
}
