/* SPDX-License-Identifier: ISC */
/* Report backends for check results: human, JSON Lines, a null one for tests, and a tee. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "policy/policy.h"
#include "fim/core/object.h"
#include "fim/core/record.h"

enum drift_action {
	DRIFT_ADDED,
	DRIFT_REMOVED,
	DRIFT_CHANGED,
};

#define DRIFT_MAX_FACTS 8

struct drift {
	enum drift_action action;
	enum fim_kind kind;
	struct bytes id;                /* the path inside the root, or the object's name */
	const struct policy_rule *rule; /* the rule in force for it */
	attrset_t changed;              /* for DRIFT_CHANGED */
	const struct file_rec *before;  /* files: NULL for DRIFT_ADDED */
	const struct file_rec *after;   /* files: NULL for DRIFT_REMOVED */
	const struct obj_rec *obefore;  /* other kinds: NULL for DRIFT_ADDED */
	const struct obj_rec *oafter;   /* other kinds: NULL for DRIFT_REMOVED */
	const char *note;               /* extra explanation or NULL */
	/* suspicious facts about this drift ("second account with UID 0"); any
	 * makes the drift critical */
	const char *facts[DRIFT_MAX_FACTS];
	size_t nfacts;
};

/* What the report says before the details. */
struct report_info {
	const char *command; /* "check" */
	const char *created; /* when the baseline was taken */
	const char *host;    /* where it was taken */
	bool policy_changed; /* the policy in force differs from the baseline's */
	const char *hash;    /* the baseline's algorithm */
};

struct report_summary {
	uint64_t scanned, added, removed, changed, errors;
	uint64_t newly_in_scope, out_of_scope; /* scope changes, not drift */
	double seconds;
};

struct report;

struct report_ops {
	const char *name;
	int (*begin)(struct report *r, const struct report_info *info);
	int (*drift)(struct report *r, const struct drift *d);
	/* An object that could not be read (negative errno). */
	int (*error)(struct report *r, struct bytes id, int err);
	/* A source of objects of KIND that could not be read or had a malformed
	 * line (LINE 1-based, 0 for the whole file): ERR and MSG as from a
	 * collector; SEV is that of the rule whose objects it may hide. */
	int (*problem)(struct report *r, enum fim_kind kind, enum severity sev, const char *path,
	               unsigned line, int err, const char *msg);
	int (*end)(struct report *r, const struct report_summary *s);
	void (*free)(struct report *r);
};

/* Counts drift D in SUM by its action, then tells R about it. Returns the
 * report's drift() result. */
int report_drift(struct report *r, struct report_summary *sum, const struct drift *d);

struct report {
	const struct report_ops *ops;
	FILE *out;
	bool color;
	int verbose;
	/* json: the longest line, newline excluded (0: REPORT_JSON_MAX_LINE);
	 * an event longer than that is cut to fit (see jcut_dumps) */
	size_t max_line;
	/* json: each line starts with its syslog level, "<2>" for critical
	 * (for a journal stream: see output_is_journal) */
	bool level_prefix;
	void *priv;
	void *user; /* for a backend that needs the caller's context */
};

/* The longest JSON line by default: what fits the alert trail's line
 * (TRAIL_MAX_LINE less its chain fields). */
#define REPORT_JSON_MAX_LINE ((1u << 20) - 256)

extern const struct report_ops report_human;
extern const struct report_ops report_json;
extern const struct report_ops report_null;

/* Makes OUT a report that forwards every call to A, then B (which must
 * outlive OUT; freeing OUT frees what they hold, not A and B themselves).
 * A side whose call fails is not called again, so the other's report stays
 * whole; a call on OUT fails only once both sides have failed.
 * Returns 0 or -ENOMEM. */
int report_tee(struct report *out, struct report *a, struct report *b);

/* The first error of each side of the tee TEE (0 when that side is fine). */
void report_tee_errors(const struct report *tee, int *ret_a, int *ret_b);

/* Backend by name ("human", "json", "null") or NULL. */
const struct report_ops *report_lookup(const char *name);

/* A JSON object (jansson json_t *, owned by the caller) of the attributes
 * WHICH of R, as in fim.before/fim.after; with NULLS, attributes R lacks
 * are written as null. */
struct json_t;
struct json_t *report_json_attrs(const struct file_rec *r, attrset_t which, bool nulls);

/* The severity a drift is reported with: critical when it has facts. */
enum severity drift_severity(const struct drift *d);

/* The value of attribute A of R as it may be shown: a secret attribute's
 * state only; bytes otherwise. */
struct bytes report_obj_value(const struct obj_rec *r, unsigned a);

/* The same for an object of another kind: lists as arrays, uid/gid as
 * numbers, a secret attribute as its state only. */
struct json_t *report_json_obj_attrs(const struct obj_rec *r, attrset_t which, bool nulls);

/*
 * Writes an event of fim's own to OUT as one JSON line, shaped and cut like
 * the report's: @timestamp, event (kind "event", action "message"), host,
 * log.level LEVEL ("error", "warning", "info"), message TEXT; at most MAX
 * bytes (0: REPORT_JSON_MAX_LINE), after a "<N>" syslog level when PREFIX.
 * Returns 0 or a negative errno.
 */
int report_json_message(FILE *out, const char *level, const char *text, size_t max, bool prefix);

/* Numeric ECS event.severity for a policy severity. */
int report_severity_score(enum severity s);

/* The syslog(3) level (LOG_CRIT ... LOG_NOTICE) that events of severity S are sent with. */
int report_severity_level(enum severity s);
