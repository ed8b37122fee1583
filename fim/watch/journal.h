/* SPDX-License-Identifier: ISC */
/* The watcher's journald side: read the journal from a cursor and apply journal rules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct json_t;
struct fim_journal;

/* Object kinds an entry asks the watcher to re-check (bit = 1u << kind). */
typedef unsigned journal_recheck_t;

/* One alert raised by a journal rule. */
struct journal_alert {
	const char *rule;       /* the rule's name ("ssh-bruteforce", ...) */
	enum severity severity; /* from the rule */
	const char *message; /* one human line, e.g. "12 failed SSH logins from 10.0.0.5 in 60 s" */
	uint64_t realtime_usec; /* the (last) entry's __REALTIME_TIMESTAMP */
	/* The complete JSON event per the JSON contract ("@timestamp" from the
	 * host clock in UTC, event.kind "alert", event.module "fim",
	 * fim.object "journal", fim.rule, fim.severity, ECS fields such as
	 * source.ip, user.name, process.name, service.name where known).
	 * Borrowed: valid only during the callback. */
	const struct json_t *event;
};

/* Called for each alert; a negative return stops journal_process with it. */
typedef int (*journal_alert_fn)(const struct journal_alert *a, void *arg);

/*
 * Opens the system journal, or the journal files in DIR (and the files
 * added there later) when DIR is not NULL, and prepares the journal rules
 * of P (built-in rules as switched and tuned by P). HOST is the host name
 * alerts carry. Returns 0 or a negative errno, with a message in
 * ERR (ERRSIZE bytes).
 */
int journal_open(const char *dir, const struct policy *p, const char *host,
                 struct fim_journal **ret, char *err, size_t errsize);
void journal_free(struct fim_journal *j);

/*
 * Positions the reader just after the entry CURSOR names, or, when CURSOR
 * is NULL, at the first entry at or after SINCE_USEC (CLOCK_REALTIME
 * microseconds; 0 = the oldest entry). A CURSOR no longer in the journal
 * (rotated, vacuumed, another machine's) falls back to the later of
 * SINCE_USEC and the cursor's own time, and returns 1 so that the caller
 * can say so. Returns 0, 1 or a negative errno.
 */
int journal_seek(struct fim_journal *j, const char *cursor, uint64_t since_usec);

/* A file descriptor that becomes readable when the journal changes (for
 * poll(2)); call journal_process then. */
int journal_fd(struct fim_journal *j);

/*
 * Reads at most MAX entries after the current position, applying the
 * rules: each alert goes to FN, and the kinds the entries ask to re-check
 * are OR'd into *RECHECK. Returns the number of entries read (0 when
 * caught up) or a negative errno.
 */
int journal_process(struct fim_journal *j, size_t max, journal_alert_fn fn, void *arg,
                    journal_recheck_t *recheck);

/* The cursor of the last entry read (malloc'd), or NULL when none was read yet. */
char *journal_cursor(struct fim_journal *j);

/* Replaces the rules with those of P (SIGHUP); the thresholds of rules that stay the same
 * (name and parameters) keep counting. */
int journal_reload(struct fim_journal *j, const struct policy *p, char *err, size_t errsize);
