/* SPDX-License-Identifier: ISC */
/* What the files of policy/ share: the compiled policy, the parser's state, and their steps. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"
#include "fim/core/common.h"

struct hash_ctx;

/* Limits on what one policy can make us read and keep (see fim.policy(5)). */
#define POLICY_MAX_SOURCES 256                       /* distinct files */
#define POLICY_MAX_TOTAL   (4 * FIM_MAX_POLICY_SIZE) /* bytes of all files together */
#define POLICY_MAX_RULES   65536
#define POLICY_MAX_GROUPS  1024

#define POLICY_NSETTINGS 12 /* the keys of "set" (setting_defs) */
#define QUOTE_MAX        64 /* bytes of a token shown in a message */

enum comp_kind {
	COMP_LITERAL, /* compared byte for byte */
	COMP_GLOB,    /* an fnmatch(3) pattern, escapes kept */
	COMP_ANY,     /* "**": zero or more components */
};

/* One component of a compiled pattern; text is NUL-terminated. A glob's first PRE and last SUF
 * bytes are plain characters: a name not starting and ending with them is rejected without a
 * call to fnmatch(3), which matters on a million files. */
struct comp {
	const char *text;
	size_t len, pre, suf;
	enum comp_kind kind;
};

struct rule {
	struct policy_rule pub;
	struct comp *comps;
	size_t ncomps;
	char *text; /* the pattern as written, then each component's text */
};

/* File rules indexed by their literal leading components, so that a path is tested only
 * against the rules that can match it or something below it. Node 0 stands for "/"; the child
 * of node N named C stands for N's path plus "/C". A rule hangs on the node of its literal prefix
 * (the components before its first wildcard, all of them for a literal pattern, at most
 * IX_MAX_DEPTH); any rule that matches a path, or a path below it, hangs on a node along that
 * path. */
#define IX_MAX_DEPTH 16 /* literal components indexed per rule (see literal_prefix) */

struct ix_node {
	size_t parent;
	size_t first, count; /* its rules: ix.byrule[first .. first + count), in rule order */
	size_t below;        /* 1 + the last non-exclude rule hanging strictly below, 0 if none */
};

struct ix_edge {
	size_t parent, child;
	const char *name; /* a literal component of some rule (owned by the rule) */
	size_t len;
};

struct rule_index {
	struct ix_node *nodes;
	size_t nnodes;
	struct ix_edge *edges; /* nnodes - 1 of them, edge i names node i + 1 */
	void *tree;            /* tsearch(3) tree of the edges, by parent then name */
	size_t *byrule;        /* rule numbers grouped by node */
};

struct source {
	char *name; /* as opened, or as stored in a bundle */
	char *data;
	size_t len;
	uint8_t sum[32]; /* SHA-256 of data: what the policy digest knows of this file */
	dev_t dev;       /* identity for cycle detection; 0/0 when read from a bundle */
	ino_t ino;
};

struct line;
struct tok;
/* A rule for objects other than files: a kind and an fnmatch(3) pattern on the id. */
struct orule {
	struct policy_rule pub;
	char *glob; /* NUL-terminated; "*" when the rule names no object */
};

/* A journal rule; pub points into what it owns. */
struct jrule {
	struct policy_journal_rule pub;
	char *name;
	struct policy_jfield *fields;
	char *message, *group_by;
};

struct policy {
	struct source **srcs; /* in read order; srcs[0] is the main file */
	size_t nsrcs, srcs_cap;
	struct rule *rules;
	size_t nrules, rules_cap;
	struct orule *orules;
	size_t norules, orules_cap;
	struct jrule *jrules; /* built-ins first */
	size_t njrules, jrules_cap;
	char *values[POLICY_NSETTINGS]; /* by setting_defs in policy_parse.c */
	char **roots;
	size_t nroots;
	uint8_t digest[32]; /* SHA-256 */
	struct rule_index ix;
};

/* A file of a bundle being loaded; name is NUL-terminated (owned by the loader). */
struct bundle_file {
	char *name;
	const char *data;
	size_t len;
};

struct group {
	char *name;
	attrset_t set;
};

/* State of one load: lives only while parsing. */
struct parser {
	struct policy *p;
	struct policy_error *err;
	struct group *groups;
	size_t ngroups, groups_cap;
	struct bundle_file *bundle; /* NULL when reading the file system */
	size_t nbundle;
	const struct bundle_file **sorted;      /* bundle entries by name, for include globs */
	size_t stack[FIM_MAX_POLICY_DEPTH + 1]; /* sources being parsed, outermost first */
	unsigned depth;
	size_t total;
	struct hash_ctx *ident; /* the policy digest being built (see ident_*) */
};

/* One line being parsed; pos is the byte offset of the lexer within s. */
struct line {
	struct parser *ps;
	const struct source *src;
	unsigned no;
	const char *s;
	size_t len, pos;
};

struct tok {
	const char *s;
	size_t len, pos;
};

/* --- policy_lex.c: errors, small helpers, the lexer --- */

/* Record an error in ps->err (about FILE, no line) or at byte POS of line L; return R. */
int __attribute__((format(printf, 4, 5)))
policy_parser_fail(struct parser *ps, const char *file, int r, const char *fmt, ...);
int __attribute__((format(printf, 4, 5)))
policy_lex_fail(const struct line *l, size_t pos, int r, const char *fmt, ...);
/* An "out of memory" error at the lexer's position; returns -ENOMEM. */
int policy_lex_oom(const struct line *l);
/* Printable form of S[0..n) for a message, in BUF: non-ASCII bytes as \xHH, cut at QUOTE_MAX. */
const char *policy_lex_quote(char buf[static QUOTE_MAX * 4 + 4], const char *s, size_t n);

#define QUOTE(s, n) policy_lex_quote((char[QUOTE_MAX * 4 + 4]){0}, (s), (n))
#define QTOK(t)     QUOTE((t)->s, (t)->len)

/* ARR (N used of *CAP elements of SIZE) with room for one more: the same or a new array, or
 * NULL when out of memory (ARR is then untouched). */
void *policy_grow(void *arr, size_t *cap, size_t n, size_t size);
/* qsort(3) order of char * elements, byte by byte. */
int policy_cmp_str(const void *a, const void *b);

/* Tokens, and the lexer proper (see policy_lex.c): the readers take line L on from l->pos and
 * return false (or a negative errno, the error recorded) at the end of the statement or on bad
 * input. */
bool policy_lex_tok_is(const struct tok *t, const char *word);
bool policy_lex_has_prefix(const struct tok *t, const char *prefix);
bool policy_lex_is_glob_char(char c);
bool policy_lex_has_glob(const char *s, size_t n);
bool policy_lex_blank(char c);
bool policy_lex_at_end(struct line *l);
bool policy_lex_next_word(struct line *l, struct tok *t);
int policy_lex_next_pattern(struct line *l, struct tok *t, const char *prefixes);
struct tok policy_lex_pattern_body(const struct tok *t, const char *prefixes);
int policy_lex_expect_end(struct line *l);
int policy_lex_expect_equals(struct line *l, const struct tok *name);

/* --- policy_parse.c: groups, settings, rules, lines --- */

/* The built-in attribute groups; 0 or -ENOMEM. */
int policy_groups_init(struct parser *ps);
/* Frees what file rule R owns. */
void policy_rule_clear(struct rule *r);
/* Parses every line of source IDX; 0 or a negative errno with ps->err filled. */
int policy_parse_source(struct parser *ps, size_t idx);

/* --- policy_journal.c --- */

/* The built-in journal rules; 0 or -ENOMEM. */
int policy_jrules_init(struct policy *p);
void policy_jrule_clear(struct jrule *r);
/* The journal statement (DISABLE: "!journal"), its keyword read; 0 or a recorded error. */
int policy_parse_journal(struct line *l, bool disable);

/* --- policy_source.c: reading sources, include --- */

void policy_source_free(struct source *s);
/* Index of source NAME in *RET_IDX, read now if it was not read before. 0 or a negative
 * errno; policy_source_error() says it in words. */
int policy_source_get(struct parser *ps, const char *name, size_t *ret_idx);
const char *policy_source_error(int r, char *buf, size_t size);
/* The include statement, its keyword read; 0 or a recorded error. */
int policy_parse_include(struct line *l);

/* --- policy_bundle.c: the stored bundle and the policy's identity --- */

/* Checks bundle BUF[0..len) and points ps->bundle at its files; 0, -EBADMSG or -ENOMEM. */
int policy_bundle_parse(struct parser *ps, const uint8_t *buf, size_t len);
/* The policy digest: started with the main file (IDX), a source entered from LINE of the one
 * being parsed, left, and finished into ps->p->digest. 0 or -ENOMEM. */
int policy_ident_start(struct parser *ps, size_t idx);
int policy_ident_enter(struct parser *ps, unsigned line, size_t idx);
int policy_ident_leave(struct parser *ps);
int policy_ident_finish(struct parser *ps);

/* --- policy_match.c: roots and the rule index --- */

/* After parsing: the roots to walk and the rule index. 0 or -ENOMEM. */
int policy_roots_build(struct policy *p);
int policy_ix_build(struct policy *p);
void policy_ix_free(struct rule_index *ix);
