/* SPDX-License-Identifier: ISC */
/* The policy language: parse fim.policy(5) files and match paths against rules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fim/core/attr.h"

enum severity {
	SEV_LOW,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
};

/* Rule flags. */
enum {
	RULE_EXCLUDE = 1u << 0,   /* "!pattern": the path and all below are out of scope */
	RULE_THIS_ONLY = 1u << 1, /* "=pattern": the path itself, not what is below */
	RULE_GROWING = 1u << 2,   /* "growing": size may only increase */
};

struct policy_rule {
	enum fim_kind kind;     /* KIND_FILE for path rules */
	const char *file;       /* policy file the rule came from (owned by the policy) */
	unsigned line;          /* 1-based line in that file */
	const char *pattern;    /* files: absolute pattern as written, without ! or =;
	                         * other kinds: the name= glob, "*" when none */
	unsigned flags;         /* RULE_* */
	attrset_t attrs;        /* attributes to record and compare */
	enum severity severity; /* default SEV_MEDIUM */
};

/* Where a parse error was found. file points into the policy being parsed or
 * the path given to policy_load; message is a static or owned buffer. */
struct policy_error {
	char file[4096];
	unsigned line, col; /* 1-based; 0 when not about a position */
	char message[512];
};

struct policy;

/* Parses the policy file PATH (a host path, not under --root), following
 * include lines. On success *ret owns everything (free with policy_free).
 * Returns 0, or a negative errno with *err filled in (-EINVAL for syntax
 * and semantic errors, the open/read errno for unreadable files, -ELOOP
 * for include cycles or nesting deeper than FIM_MAX_POLICY_DEPTH). */
int policy_load(const char *path, struct policy **ret, struct policy_error *err);

/* Parses a policy from a bundle produced by policy_bundle(): the same
 * sources the policy was originally read from, so a stored baseline can be
 * re-interpreted with the policy it was built with. Same returns. */
int policy_load_bundle(const void *buf, size_t len, struct policy **ret, struct policy_error *err);

/* Serialises every source file read (name + content, in read order) into a
 * newly malloc'd buffer owned by the caller. Returns 0 or -ENOMEM. */
int policy_bundle(const struct policy *p, void **ret_buf, size_t *ret_len);

/* SHA-256-sized digest (32 bytes) identifying the policy's meaning: the
 * content of every file read and where each was included (which line of
 * which file), not the names the files were reached by, so "-c p.policy"
 * and "-c /etc/fim/p.policy" agree. Owned by the policy. */
const uint8_t *policy_digest(const struct policy *p);

/* True when a baseline's stored policy is P: DIGEST[0..digest_len) (its
 * policy digest) equals policy_digest(P), or it is the digest an older fim
 * stored (SHA-256 over BUNDLE[0..len), the baseline's policy_bundle()
 * bytes; names were part of it) and the policy in BUNDLE has P's digest.
 * BUNDLE may be NULL. Loads nothing unless the digests differ. */
bool policy_is_stored(const struct policy *p, const uint8_t *digest, size_t digest_len,
                      const void *bundle, size_t len);

void policy_free(struct policy *p);

/* Value of "set KEY = VALUE" or NULL. Owned by the policy. */
const char *policy_get(const struct policy *p, const char *key);

/* Rules for objects other than files ("users", "services name=x.service"),
 * in file order. */
size_t policy_obj_rule_count(const struct policy *p);
const struct policy_rule *policy_obj_rule_at(const struct policy *p, size_t i);

/* The rule deciding object ID[0..len) of KIND: the last rule of that kind
 * whose name glob matches (fnmatch(3), no special meaning of '/'), or NULL.
 * A returned rule with RULE_EXCLUDE means the object is out of scope. */
const struct policy_rule *policy_match_obj(const struct policy *p, enum fim_kind kind,
                                           const char *id, size_t len);

/* True when some rule selects objects of KIND (the collector must run). */
bool policy_has_kind(const struct policy *p, enum fim_kind kind);

/* File rules in file order (includes expanded where they appear). */
size_t policy_rule_count(const struct policy *p);
const struct policy_rule *policy_rule_at(const struct policy *p, size_t i);

/* The rule deciding PATH[0..len) (absolute, '/'-separated, any bytes but
 * NUL): the last matching rule, or NULL when no rule matches. A returned
 * rule with RULE_EXCLUDE means the path is out of scope. */
const struct policy_rule *policy_match(const struct policy *p, const char *path, size_t len);

/* True when the walk must read the directory DIR[0..len) because some entry
 * below it can be selected by a rule (a non-exclude rule matches DIR or an
 * ancestor without "=", or some rule's pattern can match a path below
 * DIR), and that rule is not overridden by a later exclude covering DIR. */
bool policy_descend(const struct policy *p, const char *dir, size_t len);

/* Start points of the walk: the shortest set of directories/paths that
 * covers every non-exclude file rule (the literal prefix of each pattern
 * before its first glob component), sorted, no entry below another.
 * Owned by the policy. */
size_t policy_root_count(const struct policy *p);
const char *policy_root_at(const struct policy *p, size_t i);

/* Journal rules of fim watch (fim.policy(5), JOURNAL RULES): the built-in
 * rules first, in the order of policy_journal_builtins, as switched and
 * tuned by the policy, then custom rules in the order they were first
 * defined. One entry per name: a later line about the same name changes it. */
enum {
	JRULE_BUILTIN = 1u << 0,  /* one of policy_journal_builtins */
	JRULE_DISABLED = 1u << 1, /* switched off ("!journal NAME") */
};

struct policy_jfield {
	const char *name;  /* journal field name, "SYSLOG_IDENTIFIER" */
	const char *value; /* matched exactly, any bytes but NUL */
};

struct policy_journal_rule {
	const char *name;
	const char *file; /* where it was last defined, tuned or switched; NULL for an untouched */
	unsigned line;    /* built-in rule */
	unsigned flags;   /* JRULE_* */
	const struct policy_jfield *fields; /* custom rules: FIELD=VALUE, all must match */
	size_t nfields;                     /* (a name given twice: any of its values) */
	const char *message;                /* PCRE2 pattern on MESSAGE, or NULL */
	bool caseless;                      /* message=/.../i */
	unsigned threshold;                 /* 0 when not given */
	unsigned window;                    /* seconds; 0 when not given */
	const char *group_by;               /* field or capture name, or NULL */
	int severity;                       /* enum severity, or -1 when not given */
};

/* Names of the built-in journal rules, NULL-terminated. */
extern const char *const policy_journal_builtins[];

/* Bounds of the numbers a journal rule may give. */
#define POLICY_JOURNAL_MAX_THRESHOLD 1000
#define POLICY_JOURNAL_MAX_WINDOW    604800 /* a week, in seconds */

size_t policy_journal_rule_count(const struct policy *p);
const struct policy_journal_rule *policy_journal_rule_at(const struct policy *p, size_t i);

const char *severity_name(enum severity s);
