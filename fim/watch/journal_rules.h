/* SPDX-License-Identifier: ISC */
/* Journal rules: match entries, count thresholds, build alerts; knows nothing of sd_journal. */
#pragma once

#include <stdint.h>

#include "fim/watch/journal.h"

/* Bounds on what journal entries can make the rules keep or examine. */
#define JRULES_MAX_KEYS    4096  /* groups (source addresses, ...) one rule counts at once */
#define JRULES_MAX_MESSAGE 16384 /* bytes of MESSAGE a regular expression sees */
#define JRULES_MAX_VALUE   1024  /* bytes of one value copied into an alert */
#define JRULES_MAX_KEY     256   /* bytes of one group key */
#define JRULES_MAX_USERS   5     /* user names a brute-force alert lists */

/* One journal entry as the rules see it. */
struct jentry {
	/* The value of FIELD (the bytes after "FIELD="), or NULL when the entry lacks it;
	 * *LEN is its length. Valid until the entry has been applied. */
	const void *(*get)(void *ctx, const char *field, size_t *len);
	void *ctx;
	uint64_t realtime_usec;  /* __REALTIME_TIMESTAMP */
	uint64_t monotonic_usec; /* __MONOTONIC_TIMESTAMP, 0 when unknown */
	const char *boot_id; /* _BOOT_ID (32 hex digits) the monotonic time counts in, or NULL */
	const char *cursor;  /* __CURSOR, or NULL */
};

struct jrules;

/*
 * Prepares the journal rules of P: the built-in ones as switched and tuned
 * there, then the custom ones. HOST is the host name alerts carry. Nothing
 * of P is kept. Returns 0 or a negative errno with a message in ERR.
 */
int jrules_new(const struct policy *p, const char *host, struct jrules **ret, char *err,
               size_t errsize);
void jrules_free(struct jrules *r);

/*
 * Applies every rule to entry E: alerts go to FN (a negative return stops
 * and is returned), the kinds to re-check are OR'd into *RECHECK. Returns
 * the number of alerts raised, or a negative errno. After a negative
 * return, applying the same entry (same cursor and time) again skips the
 * rules whose alerts already went out and counts the entry only once.
 */
int jrules_apply(struct jrules *r, const struct jentry *e, journal_alert_fn fn, void *arg,
                 journal_recheck_t *recheck);

/*
 * Moves what FROM has counted into TO (SIGHUP): the thresholds of the rules
 * present in both with the same name and parameters, the clock and the rate
 * limits of notices. FROM is left without them; free it afterwards.
 */
void jrules_carry(struct jrules *to, struct jrules *from);

/* Lowers the number of groups each rule counts at once (tests). */
void jrules_set_max_keys(struct jrules *r, size_t n);

/* Groups dropped so far, summed over all rules, to make room for new ones. */
uint64_t jrules_evicted(const struct jrules *r);
