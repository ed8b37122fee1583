/* SPDX-License-Identifier: ISC */
/* What the journal rules' files share: the rules, their counters and what one rule makes
 * of one entry. Private to fim/watch/journal_rules.c and journal_alert.c. */
#pragma once

#include <arpa/inet.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "fim/watch/journal_rules.h"
#include "fim/core/common.h"

#define MATCH_LIMIT  100000             /* PCRE2 backtracking steps per entry and rule */
#define HEAP_LIMIT   4096               /* KiB of PCRE2 backtracking memory */
#define USER_MAX     32                 /* bytes kept of one user name tried */
#define JSON_MESSAGE 4096               /* bytes of MESSAGE copied into fim.journal.message */
#define NOTICE_QUIET (600 * 1000000ULL) /* journal time between two notices of one kind */

enum rkind {
	RK_CUSTOM,
	RK_ACCOUNTS,
	RK_PRIVILEGE,
	RK_PRIVILEGE_FAILURE,
	RK_SERVICES,
	RK_SSH,
};

/* The group being counted: a ring of the last THRESHOLD entry times, on a hash chain and on
 * the rule's least-recently-used list. */
struct counter {
	struct counter *hnext, *prev, *next;
	uint64_t last; /* time of the newest entry counted */
	bool fired;    /* alerted; quiet until a whole window passes without an entry */
	unsigned n, head;
	unsigned nusers;
	char users[JRULES_MAX_USERS][USER_MAX + 1];
	uint64_t *ring; /* THRESHOLD slots, then the key */
	char *key;
	size_t klen;
};

/* At most one notice per NOTICE_QUIET of journal time; the next one says how many were held
 * back. */
struct ratelimit {
	bool armed; /* a notice went out at LAST */
	uint64_t last, suppressed;
};

struct table {
	struct counter **buckets;
	size_t nbuckets, n;
	struct counter *lru, *lru_tail; /* most recent first */
	uint64_t evicted;
	bool evict_pending;     /* a group inside its window was dropped; not said yet */
	uint64_t evict_alerted; /* time of the last alert about evictions, 0 when none */
};

struct field {
	char *name, *value;
	size_t vlen;
};

struct rule {
	char *name;
	enum rkind kind;
	enum severity severity;
	bool severity_set;
	unsigned threshold;
	uint64_t window; /* microseconds */
	struct field *fields;
	size_t nfields;
	char *msrc; /* the regex as written, to know the rule again after a reload */
	bool caseless;
	pcre2_code *re;
	pcre2_match_data *md;
	char *group_by;
	bool group_capture; /* group_by names a capture, not a field */
	struct table tab;
	struct ratelimit unevaluated; /* notices "could not evaluate an entry" */
};

/* Patterns of the built-in rules, compiled once. */
enum {
	RE_SSH_FAILED,
	RE_SSH_INVALID,
	RE_SUDO,
	RE_SU,
	RE_SU_SHADOW,
	RE_ACCT_NAME,
	RE_ACCT_GROUP,
	RE_SYMLINK,
	RE__MAX,
};

struct jrules {
	struct rule *rules;
	size_t n;
	char *host;
	size_t max_keys;
	uint64_t seed;
	pcre2_code *re[RE__MAX];
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	struct hit *hit; /* what the rule being applied makes of the entry */
	int match_error; /* the last PCRE2 error other than "no match" while applying a rule */
	struct ratelimit unverified; /* notices about forged senders */
	/* the clock the thresholds count in: realtime at the boot's first entry plus the
	 * monotonic time, never going back within one boot */
	char boot[33];
	bool clock_set, anchored;
	uint64_t anchor, last_time;
	/* an entry whose alerts did not all go out: rules before REDO_RULE are done */
	char *redo_cursor;
	uint64_t redo_time;
	size_t redo_rule;
};

/* What one rule makes of one entry. */
struct hit {
	bool alert;
	const char *forged; /* the program the entry claims to come from, unproven */
	const char *action; /* event.action when not the rule's name */
	journal_recheck_t recheck;
	enum severity severity;
	const char *category, *category2, *type, *type2, *outcome;
	char key[JRULES_MAX_KEY + 1];
	size_t klen;
	char message[1024];
	/* ECS fields; empty when unknown */
	char user[JRULES_MAX_VALUE + 1], target[JRULES_MAX_VALUE + 1], group[JRULES_MAX_VALUE + 1];
	char ip[INET6_ADDRSTRLEN], service[JRULES_MAX_VALUE + 1], command[JRULES_MAX_VALUE + 1];
	json_t *captures; /* custom rules with named captures */
};

/* Why an alert goes out: the count and window of a threshold, evictions, held notices. */
struct fire {
	unsigned count;
	uint64_t first;
	const struct counter *c; /* NULL without a threshold */
	uint64_t evicted;        /* an alert about evictions when not 0 */
	uint64_t suppressed;     /* notices of this kind held back since the last one */
};

/* The value of FIELD in E (see struct jentry); LEN may be NULL. */
const void *jr_get(const struct jentry *e, const char *field, size_t *len);

/* Copies at most SIZE - 1 bytes of S[0..n) into BUF, NUL-terminated (NUL bytes cut it). */
void jr_copy(char *buf, size_t size, const void *s, size_t n);

/* RFC 3339 UTC text of USEC (microseconds since the epoch); PRECISE: with microseconds,
 * else milliseconds. */
void jr_rfc3339(uint64_t usec, bool precise, char *buf, size_t size);

/* Builds the alert event of rule R for entry E and hands it to FN. Returns 1 when it went
 * out, or FN's negative return, or -ENOMEM. */
int jr_emit(const struct jrules *jr, const struct rule *r, const struct jentry *e, struct hit *h,
            const struct fire *f, journal_alert_fn fn, void *arg);
