/* SPDX-License-Identifier: ISC */
/* The one drift decision for files, shared by fim check and the watcher's re-read. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "fim/core/record.h"
#include "fim/report/report.h"
#include "policy/policy.h"

/* What drift_file decided. */
enum drift_verdict {
	DRIFT_NONE,           /* as recorded: nothing to say */
	DRIFT_NEWLY_IN_SCOPE, /* not in the baseline, which had a policy that did not select it */
	DRIFT_REPORT,         /* *d is drift to report */
};

/* Whether P selects PATH (LEN bytes): a rule matches and it is no exclusion. */
bool drift_selects(const struct policy *p, const char *path, size_t len);

/*
 * Decides whether the live REC drifted from BASE (NULL: not in the
 * baseline) under D->rule, the rule in force. OLD is the baseline's policy
 * when it differs from the one in force (else NULL); PREFIX_SAME says, for
 * a growing file, that the recorded content is still its start. For
 * DRIFT_REPORT, sets D's action, changed, before, after (REC and BASE
 * themselves, which must outlive D) and note; D's kind, id and rule are
 * the caller's.
 */
enum drift_verdict drift_file(const struct policy *old, const struct file_rec *base,
                              const struct file_rec *rec, bool prefix_same, struct drift *d);

/*
 * --quick: whether the regular file statted as ST is the one BASE recorded
 * with its inode, size, mtime and ctime all unchanged (any write, chmod,
 * chown or xattr change moves ctime). False when BASE lacks any of them.
 */
bool drift_identity_same(const struct file_rec *base, const struct stat *st);
