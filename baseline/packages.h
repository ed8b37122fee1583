/* SPDX-License-Identifier: ISC */
/* Packages collector: the dpkg status database parser and dpkg's version order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "baseline/collect.h"

#define PKG_STATUS_PATH   "/var/lib/dpkg/status"
#define PKG_MAX_LINE      65536        /* bytes of a line kept; longer field lines are problems */
#define PKG_MAX_PACKAGES  200000       /* stanzas recorded */
#define PKG_MAX_CONFFILES 10000        /* conffiles recorded per package */
#define PKG_MAX_PROBLEMS  100          /* malformed stanzas reported per file */
#define PKG_MAX_TOTAL     (256u << 20) /* bytes of recorded values over the whole file */
#define PKG_MAX_FIELD     1024         /* longest version, status, source, architecture */

/*
 * The parser, fed one line at a time (the collector streams the file, the
 * fuzzer a buffer). A stanza (lines up to a blank line) becomes one
 * record of OUT (a KIND_PACKAGE set) named "NAME:ARCH" (just "NAME" when
 * it has no Architecture:) unless its state is not-installed. A stanza
 * without Package: or a valid Status:, or with a malformed Version:,
 * Architecture: or conffile line, a NUL byte or a field line longer than
 * PKG_MAX_LINE, is reported to ctx->problem as (PATH, its first line,
 * -EBADMSG, words that never quote it) and skipped; past PKG_MAX_PROBLEMS
 * the rest are skipped silently (one last report says so). Past the
 * limits above the rest is dropped and that is reported once (-E2BIG).
 */
struct pkg_parser;

/* Returns 0 or -ENOMEM. */
int packages_parser_new(const struct collect_ctx *ctx, const char *path, struct obj_set *out,
                        struct pkg_parser **ret);
/* LINE[0..n) is the start of line LINENO (its whole length LEN; n < len when
 * cut). Returns 0 or -ENOMEM. */
int packages_parser_line(struct pkg_parser *p, const char *line, size_t n, unsigned long long len,
                         unsigned lineno);
/* Ends the last stanza; returns 0 or -ENOMEM. */
int packages_parser_end(struct pkg_parser *p);
void packages_parser_free(struct pkg_parser *p);

/* True when V[0..n) is a version dpkg accepts ([EPOCH:]UPSTREAM[-REVISION]). */
bool packages_version_valid(const char *v, size_t n);
/* dpkg's order of two valid versions: <0, 0, >0 (as dpkg --compare-versions). */
int packages_version_cmp(const char *a, size_t an, const char *b, size_t bn);

/*
 * The drift of a package in its own terms, into BUF (SIZE bytes, always
 * NUL-terminated): "installed 3.0.15-1", "removed 3.0.11-1",
 * "upgraded 3.0.11-1 -> 3.0.15-1", "downgraded ... (suspicious)", "held",
 * "unheld", "failed: half-installed", "config files changed", joined by
 * "; ". BEFORE or AFTER may be NULL (added, removed). *DOWNGRADE and
 * *FAILED say whether the change is a downgrade, or left the package in a
 * state of an unfinished operation. Returns BUF.
 */
const char *packages_describe(const struct obj_rec *before, const struct obj_rec *after, char *buf,
                              size_t size, bool *downgrade, bool *failed);
