/* SPDX-License-Identifier: ISC */
/* Cron collector: the crontab and anacrontab parser, shared with its fuzzer. */
#pragma once

#include <stddef.h>

#include "baseline/collect.h"

#define CRON_MAX_LINE     65536       /* longest line (with anacron continuations) parsed */
#define CRON_MAX_ELEMENTS 10000       /* jobs, and assignments, recorded per file */
#define CRON_MAX_PROBLEMS 100         /* malformed lines reported per file */
#define CRON_MAX_ENTRIES  10000       /* entries recorded per directory */
#define CRON_MAX_TOTAL    (64u << 20) /* bytes of jobs and assignments over all files */

/* What kind of table a file is. */
enum cron_format {
	CRON_SYSTEM,  /* /etc/crontab, /etc/cron.d/ *: "SCHEDULE USER COMMAND" */
	CRON_USER,    /* a per-user crontab: "SCHEDULE COMMAND" */
	CRON_ANACRON, /* /etc/anacrontab: "PERIOD DELAY JOB-ID COMMAND", '\' continues a line */
};

/*
 * Parses the table BUF[0..len) (any bytes) of FORMAT into the open record
 * of OUT (a KIND_CRON set): CA_JOBS and CA_ENV are made present, each job
 * is added to CA_JOBS as "SCHEDULE [USER] COMMAND" (schedule fields and
 * user joined by single spaces, the command as written without surrounding
 * whitespace; anacron: "PERIOD DELAY JOB-ID COMMAND") and each assignment
 * to CA_ENV as "NAME=value" (spaces around '=' dropped, the value unquoted
 * as cron does). Comments and blank lines are skipped. A malformed line is
 * reported to ctx->problem as (PATH, its line number, -EBADMSG, words that
 * never quote the line) and skipped; at most CRON_MAX_PROBLEMS lines per
 * call are reported. Past CRON_MAX_ELEMENTS elements of an attribute, or
 * when BUDGET (bytes still allowed, each element counting its length + 1;
 * decreased; NULL for no shared budget) runs out, later elements are
 * dropped and that is reported once with -E2BIG. Returns 0 or the
 * negative errno of a failed obj_* call (-ENOMEM); after a failure the
 * open record must be dropped.
 */
int cron_parse(const struct collect_ctx *ctx, const char *path, enum cron_format format,
               const char *buf, size_t len, size_t *budget, struct obj_set *out);
