/* SPDX-License-Identifier: ISC */
/* Suspicious facts: what about a drift an operator must not miss ("second UID 0 account"). */
#pragma once

#include "fim/core/object.h"
#include "fim/report/report.h"

/* What the facts are judged against: the live objects (any may be NULL). */
struct suspect_ctx {
	int rootfd;                    /* to look at the files a command names */
	const struct obj_set *sudoers; /* to tell which groups can use sudo */
};

/*
 * Adds to D->facts (up to DRIFT_MAX_FACTS) what is suspicious about D, an
 * added or changed object of a kind other than file: a second UID 0 account,
 * an empty password, a system account given a shell, a new member of a
 * sudo-capable group, passwordless sudo, a service or cron command that runs
 * from /tmp or a world-writable path. The fact texts are static or live in
 * BUF (SIZE bytes), which must outlive D.
 */
void suspect_facts(const struct suspect_ctx *c, struct drift *d, char *buf, size_t size);
