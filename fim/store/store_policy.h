/* SPDX-License-Identifier: ISC */
/* The baseline's record of its policy: reading it, and whether a policy is that one. */
#pragma once

#include <stdbool.h>

#include "fim/store/store.h"
#include "policy/policy.h"

/* Length of META_POLICY_DIGEST: policy_digest()'s size. */
#define STORE_POLICY_DIGEST_BYTES 32

/*
 * Reads the policy record of the baseline S: *DIGEST (exactly
 * STORE_POLICY_DIGEST_BYTES long) and *BUNDLE (policy_bundle() bytes), both
 * owned by S and valid until store_close. Returns 0, or -EBADMSG when
 * either is missing or the digest has another length.
 */
int store_policy_read(struct store *s, struct bytes *digest, struct bytes *bundle);

/*
 * Whether P is the policy the baseline S was built with (see
 * policy_is_stored). False when S holds no policy digest; a missing bundle
 * only rules out the digest an older fim stored.
 */
bool store_policy_is(struct store *s, const struct policy *p);
