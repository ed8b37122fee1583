/* SPDX-License-Identifier: ISC */
/* The check engine: the live tree and OS objects against a baseline, drift told to a report. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fim/core/error.h"
#include "fim/core/hash.h"
#include "fim/engine/objects.h"
#include "fim/report/report.h"
#include "fim/store/store.h"
#include "policy/policy.h"

/* What one check needs; the caller owns all of it. */
struct check_args {
	const struct policy *p;   /* the policy in force */
	const struct policy *old; /* the baseline's policy when it differs (check_old_policy) */
	struct store *s;          /* the baseline, verified by the caller */
	int rootfd;               /* the tree's "/" */
	enum hash_algo algo;      /* the baseline's algorithm */
	bool quick;      /* trust inode, size, mtime and ctime of regular files as recorded */
	unsigned jobs;   /* hash workers, 0: one per online CPU */
	bool keep_cache; /* leave the pages of files read cached */
	/* Called between the entries walked and the chunks read: a negative
	 * return stops the check with that value (may be NULL). */
	int (*tick)(void *ctx);
	void *tick_ctx;
	/* Told each file compared (BYTES: its size when its content was
	 * read), then once when the tree is done (both may be NULL). */
	void (*file_done)(void *ctx, uint64_t bytes);
	void (*tree_done)(void *ctx);
	void *progress_ctx;
	const struct objects_say *say; /* collectors' problems (may be NULL) */
	double t0; /* CLOCK_MONOTONIC seconds the summary counts from (0: the call) */
};

/*
 * Checks the tree below A->rootfd and the OS objects against A->s under
 * A->p, in walk order: REP is told begin (INFO), each drift, unreadable
 * object and problem, then end (the summary). SUM (zeroed by the caller)
 * holds the counts, also on failure. Returns 0 or a negative errno
 * (-EBADMSG: the baseline is corrupt; a tick's own value when it stopped
 * the run), ERR (may be NULL) naming what failed where errno cannot.
 */
int check_run(const struct check_args *a, struct report *rep, const struct report_info *info,
              struct report_summary *sum, struct fim_err *err);

/*
 * The baseline S's own policy when it differs from P: *RET_OLD is NULL
 * when S was built with P, else the policy S records (free with
 * policy_free). Returns 0, -EBADMSG (S's policy record is missing or
 * its digest malformed), -ENOMEM, or policy_load_bundle's error for a
 * stored policy that does not parse (the callers treat all but -ENOMEM
 * as a damaged record).
 */
int check_old_policy(struct store *s, const struct policy *p, struct policy **ret_old);

/*
 * The hash algorithm the baseline S names (HASH_NONE when unknown), its
 * name copied into NAME[0..size) ("" when S names none).
 */
enum hash_algo check_baseline_algo(struct store *s, char *name, size_t size);
