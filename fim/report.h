/* SPDX-License-Identifier: ISC */
/* Report sinks for check results: human, JSON Lines, and a null sink for tests. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "../policy/policy.h"
#include "record.h"

enum drift_action {
	DRIFT_ADDED,
	DRIFT_REMOVED,
	DRIFT_CHANGED,
};

struct drift {
	enum drift_action action;
	enum fim_kind kind;
	struct bytes id;                /* the path inside the root */
	const struct policy_rule *rule; /* the rule in force for it */
	attrset_t changed;              /* for DRIFT_CHANGED */
	const struct file_rec *before;  /* NULL for DRIFT_ADDED */
	const struct file_rec *after;   /* NULL for DRIFT_REMOVED */
	const char *note;               /* extra explanation or NULL */
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
	int (*end)(struct report *r, const struct report_summary *s);
	void (*free)(struct report *r);
};

struct report {
	const struct report_ops *ops;
	FILE *out;
	bool color;
	int verbose;
	void *priv;
};

extern const struct report_ops report_human;
extern const struct report_ops report_json;
extern const struct report_ops report_null;

/* Backend by name ("human", "json", "null") or NULL. */
const struct report_ops *report_lookup(const char *name);

/* A JSON object (jansson json_t *, owned by the caller) of the attributes
 * WHICH of R, as in fim.before/fim.after; with NULLS, attributes R lacks
 * are written as null. */
struct json_t;
struct json_t *report_json_attrs(const struct file_rec *r, attrset_t which, bool nulls);

/* Numeric ECS event.severity for a policy severity. */
int report_severity_score(enum severity s);
