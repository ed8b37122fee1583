/* SPDX-License-Identifier: ISC */
/* The OS-object part of baseline and check: run the collectors the policy asks for. */
#pragma once

#include "fim/core/error.h"
#include "fim/report/report.h"
#include "fim/store/store.h"
#include "policy/policy.h"

/* Meta key of the password-digest key (COLLECT_KEY_BYTES random bytes). */
#define META_OBJECT_KEY "object_key"

/* What one run over the OS objects counted. */
struct objects_stats {
	uint64_t objects; /* recorded or compared */
	uint64_t errors;  /* problems reported by collectors */
};

/* Who is told the problems collectors find (a malformed line, a source
 * that cannot be read), PATH:LINE (LINE 0: the whole file) and MSG with
 * its cause: the command, which says them. A crafted source cannot flood
 * it: past a cap per file and per kind, one last message says so. */
struct objects_say {
	void (*problem)(void *ctx, const char *path, unsigned line, const char *msg);
	void *ctx;
};

/*
 * fim baseline: collects every kind P selects under ROOTFD and records the
 * in-scope objects in W with the attributes their rule names. Problems go
 * to SAY (may be NULL) and are counted. Returns 0 or a negative errno, with
 * ERR (may be NULL) naming the kind or object that failed.
 */
int objects_baseline(int rootfd, const struct policy *p, struct store_writer *w,
                     const struct objects_say *say, struct objects_stats *st, struct fim_err *err);

/*
 * fim check: compares the live objects of every kind P selects or the
 * baseline S recorded with S and reports drift and problems to REP (the
 * problems also to SAY, may be NULL), counting in SUM. OLD is the
 * baseline's policy when it differs from P (else NULL): objects only one
 * of the two selects are scope changes, not drift. Returns 0 or a negative
 * errno (-EBADMSG: a corrupt baseline), with ERR (may be NULL) naming the
 * kind that could not be collected.
 */
int objects_check(int rootfd, const struct policy *p, const struct policy *old, struct store *s,
                  struct report *rep, const struct objects_say *say, struct report_summary *sum,
                  struct fim_err *err);

/* The live objects of KIND (sorted), with the password-digest key of the
 * baseline S; problems go to SAY (may be NULL) and are counted in *errors.
 * Returns 0 or a negative errno. */
int objects_collect(int rootfd, struct store *s, enum fim_kind kind, const struct objects_say *say,
                    struct obj_set **ret, uint64_t *errors);
