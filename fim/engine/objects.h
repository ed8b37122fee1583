/* SPDX-License-Identifier: ISC */
/* The OS-object part of baseline and check: run the collectors the policy asks for. */
#pragma once

#include "fim/cli.h"

/* Meta key of the password-digest key (COLLECT_KEY_BYTES random bytes). */
#define META_OBJECT_KEY "object_key"

/* What one run over the OS objects counted. */
struct objects_stats {
	uint64_t objects; /* recorded or compared */
	uint64_t errors;  /* problems reported by collectors */
};

/*
 * fim baseline: collects every kind P selects under ROOTFD and records the
 * in-scope objects in W with the attributes their rule names. Problems are
 * logged (and counted). Returns 0 or a negative errno (already logged).
 */
int objects_baseline(const struct fim_opts *o, int rootfd, const struct policy *p,
                     struct store_writer *w, struct objects_stats *st);

/*
 * fim check: compares the live objects of every kind P selects or the
 * baseline S recorded with S and reports drift to REP, counting in SUM.
 * OLD is the baseline's policy when it differs from P (else NULL): objects
 * only one of the two selects are scope changes, not drift. Returns 0 or
 * a negative errno (-EBADMSG: a corrupt baseline).
 */
int objects_check(const struct fim_opts *o, int rootfd, const struct policy *p,
                  const struct policy *old, struct store *s, struct report *rep,
                  struct report_summary *sum);

/* The live objects of KIND (sorted), with the password-digest key of the
 * baseline S; problems are logged and counted in *errors. Returns 0 or a
 * negative errno. */
int objects_collect(int rootfd, struct store *s, enum fim_kind kind, struct obj_set **ret,
                    uint64_t *errors);
