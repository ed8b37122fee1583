/* SPDX-License-Identifier: ISC */
/* The policy language: parse fim.policy(5) files, keep their sources, match paths to rules. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "policy/policy.h"
#include "fim/core/common.h"
#include "fim/core/hash.h"

/* Limits on what one policy can make us read and keep (see fim.policy(5)). */
#define POLICY_MAX_SOURCES 256                       /* distinct files */
#define POLICY_MAX_TOTAL   (4 * FIM_MAX_POLICY_SIZE) /* bytes of all files together */
#define POLICY_MAX_RULES   65536
#define POLICY_MAX_GROUPS  1024

#define BUNDLE_MAGIC     "FIMPOLB\001"
#define BUNDLE_MAGIC_LEN 8
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

struct setting_def {
	const char *key;
	/* Checks VALUE (a copy of token T); returns 0 or a reported error. */
	int (*check)(const struct line *l, const struct tok *t, const char *value);
};

static int check_hash(const struct line *l, const struct tok *t, const char *value);
static int check_path(const struct line *l, const struct tok *t, const char *value);
static int check_yesno(const struct line *l, const struct tok *t, const char *value);
static int check_facility(const struct line *l, const struct tok *t, const char *value);
static int check_backend(const struct line *l, const struct tok *t, const char *value);
static int check_seconds(const struct line *l, const struct tok *t, const char *value);

static const struct setting_def setting_defs[] = {
        {"hash", check_hash},
        {"verify_key", check_path},
        {"alerts.file", check_path},
        {"alerts.key", check_path},
        {"alerts.syslog", check_yesno},
        {"alerts.journald", check_yesno},
        {"alerts.facility", check_facility},
        {"alerts.syslog_socket", check_path},
        {"watch.backend", check_backend},
        {"watch.rescan_interval", check_seconds},
        {"watch.full_rescan_interval", check_seconds},
        {"watch.journal", check_yesno},
};

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
	char *values[ARRAY_SIZE(setting_defs)];
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

/* --- errors --- */

static void __attribute__((format(printf, 5, 0)))
verror(struct policy_error *e, const char *file, unsigned lineno, size_t col, const char *fmt,
       va_list ap)
{
	snprintf(e->file, sizeof(e->file), "%s", file);
	e->line = lineno;
	e->col = col > UINT32_MAX ? UINT32_MAX : (unsigned)col;
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

/* Records an error not tied to a line (LINE and COL 0) about FILE ("" for none), returns R. */
static int __attribute__((format(printf, 4, 5)))
file_fail(struct parser *ps, const char *file, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(ps->err, file, 0, 0, fmt, ap);
	va_end(ap);
	return r;
}

/* Records an error at byte offset POS of line L and returns R. */
static int __attribute__((format(printf, 4, 5)))
line_fail(const struct line *l, size_t pos, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(l->ps->err, l->src->name, l->no, pos + 1, fmt, ap);
	va_end(ap);
	return r;
}

/* Printable form of S[0..n) for a message: bytes outside printable ASCII become \xHH (so a
 * hostile policy cannot send escape sequences to a terminal), long tokens are cut. */
static const char *quote(char buf[static QUOTE_MAX * 4 + 4], const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *o = buf;

	for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f) {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		*o++ = 'x';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	if (n > QUOTE_MAX)
		o = stpcpy(o, "...");
	*o = '\0';
	return buf;
}

#define QUOTE(s, n) quote((char[QUOTE_MAX * 4 + 4]){0}, (s), (n))
#define QTOK(t)     QUOTE((t)->s, (t)->len)

static int oom(const struct line *l)
{
	return line_fail(l, l->pos, -ENOMEM, "out of memory");
}

/* --- small helpers --- */

/* ARR (N used of *CAP elements of SIZE) with room for one more: the same or a new array, or
 * NULL when out of memory (ARR is then untouched). */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *na;

	if (n < *cap)
		return arr;
	na = reallocarray(arr, ncap, size);
	if (na)
		*cap = ncap;
	return na;
}

static bool tok_is(const struct tok *t, const char *word)
{
	return strlen(word) == t->len && memcmp(t->s, word, t->len) == 0;
}

static bool has_prefix(const struct tok *t, const char *prefix)
{
	size_t n = strlen(prefix);

	return t->len >= n && memcmp(t->s, prefix, n) == 0;
}

static bool is_glob_char(char c)
{
	return c == '*' || c == '?' || c == '[';
}

/* True when S has an unescaped wildcard. */
static bool has_glob(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (is_glob_char(s[i]))
			return true;
	}
	return false;
}

/* --- lexer --- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Skips blanks; true at the end of the statement (end of line or a comment). */
static bool at_end(struct line *l)
{
	while (l->pos < l->len && blank(l->s[l->pos]))
		l->pos++;
	return l->pos == l->len || l->s[l->pos] == '#';
}

/* Next word: blank-separated, ended by '#'. Returns false at the end of the statement. */
static bool next_word(struct line *l, struct tok *t)
{
	if (at_end(l))
		return false;
	t->pos = l->pos;
	while (l->pos < l->len && !blank(l->s[l->pos]) && l->s[l->pos] != '#')
		l->pos++;
	t->s = l->s + t->pos;
	t->len = l->pos - t->pos;
	return true;
}

static int skip_quoted(struct line *l)
{
	size_t open = l->pos++;

	while (l->pos < l->len) {
		char c = l->s[l->pos];

		if (c == '\\' && l->pos + 1 < l->len) {
			l->pos += 2;
			continue;
		}
		l->pos++;
		if (c != '"')
			continue;
		if (l->pos < l->len && !blank(l->s[l->pos]))
			return line_fail(l, l->pos, -EINVAL, "unexpected '%s' after closing quote",
			                 QUOTE(l->s + l->pos, 1));
		return 0;
	}
	return line_fail(l, open, -EINVAL, "unterminated quote");
}

static int skip_unquoted(struct line *l)
{
	while (l->pos < l->len && !blank(l->s[l->pos])) {
		if (l->s[l->pos] != '\\') {
			l->pos++;
			continue;
		}
		if (l->pos + 1 == l->len)
			return line_fail(l, l->pos, -EINVAL, "backslash at end of line");
		l->pos += 2;
	}
	return 0;
}

/* Next pattern-like token: '#' inside it is not a comment, a backslash escapes the next byte, and
 * after one optional byte of PREFIXES it may be double-quoted to contain blanks. Returns 1, 0 at
 * the end of the statement, or a negative errno. */
static int next_pattern(struct line *l, struct tok *t, const char *prefixes)
{
	int r;

	if (at_end(l))
		return 0;
	t->pos = l->pos;
	if (prefixes && strchr(prefixes, l->s[l->pos]))
		l->pos++;
	if (l->pos < l->len && l->s[l->pos] == '"')
		r = skip_quoted(l);
	else
		r = skip_unquoted(l);
	if (r < 0)
		return r;
	t->s = l->s + t->pos;
	t->len = l->pos - t->pos;
	return 1;
}

/* The text of a pattern token without its prefix and quotes; escapes are kept. */
static struct tok pattern_body(const struct tok *t, const char *prefixes)
{
	struct tok b = *t;

	if (prefixes && b.len && strchr(prefixes, b.s[0])) {
		b.s++;
		b.len--;
	}
	if (b.len >= 2 && b.s[0] == '"') {
		b.s++;
		b.len -= 2;
	}
	return b;
}

static int expect_end(struct line *l)
{
	struct tok t;

	if (next_word(l, &t))
		return line_fail(l, t.pos, -EINVAL, "unexpected '%s'", QTOK(&t));
	return 0;
}

static int expect_equals(struct line *l, const struct tok *name)
{
	struct tok t;

	if (!next_word(l, &t))
		return line_fail(l, l->pos, -EINVAL, "expected '=' after '%s'", QTOK(name));
	if (!tok_is(&t, "="))
		return line_fail(l, t.pos, -EINVAL, "expected '=' after '%s'", QTOK(name));
	return 0;
}

/* --- attribute groups --- */

static struct group *group_find(struct parser *ps, const char *name, size_t n)
{
	for (size_t i = 0; i < ps->ngroups; i++)
		if (strlen(ps->groups[i].name) == n && memcmp(ps->groups[i].name, name, n) == 0)
			return &ps->groups[i];
	return NULL;
}

/* Defines or redefines group NAME[0..n). Returns 0, -ENOMEM or -E2BIG. */
static int group_set(struct parser *ps, const char *name, size_t n, attrset_t set)
{
	struct group *g = group_find(ps, name, n), *ng;
	char *copy;

	if (g) {
		g->set = set;
		return 0;
	}
	if (ps->ngroups >= POLICY_MAX_GROUPS)
		return -E2BIG;
	ng = grow(ps->groups, &ps->groups_cap, ps->ngroups, sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	ps->groups = ng;
	copy = strndup(name, n);
	if (!copy)
		return -ENOMEM;
	ps->groups[ps->ngroups++] = (struct group){.name = copy, .set = set};
	return 0;
}

static int groups_init(struct parser *ps)
{
	const attrset_t perms = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_UID) |
	                        ATTR_BIT(ATTR_GID) | ATTR_BIT(ATTR_ACL) | ATTR_BIT(ATTR_XATTRS) |
	                        ATTR_BIT(ATTR_CAPS) | ATTR_BIT(ATTR_SELINUX);
	const attrset_t cont = perms | ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_MTIME) |
	                       ATTR_BIT(ATTR_CTIME) | ATTR_BIT(ATTR_INODE) | ATTR_BIT(ATTR_NLINK) |
	                       ATTR_BIT(ATTR_TARGET) | ATTR_BIT(ATTR_HASH);

	if (group_set(ps, "ALL", 3, ATTRS_ALL_FILE) < 0 || group_set(ps, "PERMS", 5, perms) < 0 ||
	    group_set(ps, "CONTENT", 7, cont) < 0 || group_set(ps, "NONE", 4, 0) < 0)
		return -ENOMEM;
	return 0;
}

/* The current meaning of CONTENT: the default list, and the start of a list beginning +/-. */
static attrset_t content_set(struct parser *ps)
{
	return group_find(ps, "CONTENT", 7)->set;
}

/* Applies one word of an attribute list ("name", "+name", "-name") to *SET; FIRST says it is
 * the list's first word, where a modifier means "CONTENT, modified". */
static int apply_attr_word(struct line *l, enum fim_kind kind, const struct tok *t, attrset_t *set,
                           bool first)
{
	char op = t->len ? t->s[0] : 0;
	struct tok name = *t;
	struct group *g;
	attrset_t bits;
	int a;

	if (op == '+' || op == '-') {
		name.s++;
		name.len--;
	} else {
		op = 0;
	}
	a = attr_lookup(kind, name.s, name.len);
	if (kind != KIND_FILE) {
		/* attribute groups are lists of file attributes; ALL and NONE mean the same
		 * for every kind */
		if (a < 0 && !tok_is(&name, "ALL") && !tok_is(&name, "NONE"))
			return line_fail(l, t->pos, -EINVAL, "unknown %s attribute '%s'",
			                 kind_name(kind), QTOK(&name));
		bits = a >= 0 ? ATTR_BIT(a) : tok_is(&name, "ALL") ? attr_all(kind) : 0;
		if (first && op)
			*set = attr_all(kind);
		if (op == '-')
			*set &= ~bits;
		else
			*set |= bits;
		return 0;
	}
	g = a < 0 ? group_find(l->ps, name.s, name.len) : NULL;
	if (a < 0 && !g)
		return line_fail(l, t->pos, -EINVAL, "unknown attribute or group '%s'",
		                 QTOK(&name));
	bits = a >= 0 ? ATTR_BIT(a) : g->set;
	if (first && op)
		*set = content_set(l->ps);
	if (op == '-')
		*set &= ~bits;
	else
		*set |= bits;
	return 0;
}

static bool valid_group_name(const struct tok *t)
{
	for (size_t i = 0; i < t->len; i++) {
		char c = t->s[i];
		bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';

		if (!alpha && (i == 0 || c < '0' || c > '9'))
			return false;
	}
	return t->len > 0;
}

/* define NAME = ATTR... */
static int parse_define(struct line *l)
{
	attrset_t set = 0;
	struct tok name, t;
	int r;

	if (!next_word(l, &name))
		return line_fail(l, l->pos, -EINVAL, "missing group name after 'define'");
	if (!valid_group_name(&name))
		return line_fail(l, name.pos, -EINVAL, "invalid group name '%s'", QTOK(&name));
	if (attr_lookup(KIND_FILE, name.s, name.len) >= 0)
		return line_fail(l, name.pos, -EINVAL, "'%s' is an attribute, not a group name",
		                 QTOK(&name));
	r = expect_equals(l, &name);
	for (bool first = true; r == 0 && next_word(l, &t); first = false)
		r = apply_attr_word(l, KIND_FILE, &t, &set, first);
	if (r < 0)
		return r;
	r = group_set(l->ps, name.s, name.len, set);
	if (r == -E2BIG)
		return line_fail(l, name.pos, r, "too many groups (more than %d)",
		                 POLICY_MAX_GROUPS);
	return r < 0 ? oom(l) : 0;
}

/* --- settings --- */

static int check_hash(const struct line *l, const struct tok *t, const char *value)
{
	if (hash_lookup(value) != HASH_NONE)
		return 0;
	return line_fail(l, t->pos, -EINVAL,
	                 "unknown hash algorithm '%s' (use sha256, sha512 or blake2b)", QTOK(t));
}

/* Paths in settings name files of the host fim runs on, not under --root. */
static int check_path(const struct line *l, const struct tok *t, const char *value)
{
	if (value[0] == '/')
		return 0;
	return line_fail(l, t->pos, -EINVAL, "'%s' is not an absolute path", QTOK(t));
}

/* Watcher settings (fim watch). */
static int check_yesno(const struct line *l, const struct tok *t, const char *value)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0)
		return 0;
	return line_fail(l, t->pos, -EINVAL, "'%s' is not yes or no", QTOK(t));
}

static int check_facility(const struct line *l, const struct tok *t, const char *value)
{
	static const char *const names[] = {"authpriv", "auth",   "daemon", "user",
	                                    "local0",   "local1", "local2", "local3",
	                                    "local4",   "local5", "local6", "local7"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(value, names[i]) == 0)
			return 0;
	return line_fail(l, t->pos, -EINVAL,
	                 "'%s' is not a syslog facility (authpriv, auth, daemon, user, local0 to "
	                 "local7)",
	                 QTOK(t));
}

static int check_backend(const struct line *l, const struct tok *t, const char *value)
{
	if (strcmp(value, "inotify") == 0 || strcmp(value, "fanotify") == 0)
		return 0;
	return line_fail(l, t->pos, -EINVAL, "'%s' is not a watch backend (inotify or fanotify)",
	                 QTOK(t));
}

static int check_seconds(const struct line *l, const struct tok *t, const char *value)
{
	char *end;
	long n = strtol(value, &end, 10);

	if (value[0] >= '0' && value[0] <= '9' && !*end && n >= 1 && n <= 604800)
		return 0;
	return line_fail(l, t->pos, -EINVAL, "'%s' is not a number of seconds from 1 to 604800",
	                 QTOK(t));
}

static int setting_index(const struct tok *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(setting_defs); i++)
		if (tok_is(key, setting_defs[i].key))
			return (int)i;
	return -ENOENT;
}

/* set KEY = VALUE */
static int parse_set(struct line *l)
{
	struct tok key, val;
	char *value;
	int i, r;

	if (!next_word(l, &key))
		return line_fail(l, l->pos, -EINVAL, "missing setting name after 'set'");
	i = setting_index(&key);
	if (i < 0)
		return line_fail(l, key.pos, -EINVAL, "unknown setting '%s'", QTOK(&key));
	r = expect_equals(l, &key);
	if (r < 0)
		return r;
	if (!next_word(l, &val))
		return line_fail(l, l->pos, -EINVAL, "missing value for '%s'", setting_defs[i].key);
	r = expect_end(l);
	if (r < 0)
		return r;
	value = strndup(val.s, val.len);
	if (!value)
		return oom(l);
	r = setting_defs[i].check(l, &val, value);
	if (r < 0) {
		free(value);
		return r;
	}
	free(l->ps->p->values[i]);
	l->ps->p->values[i] = value;
	return 0;
}

/* --- patterns --- */

static void rule_clear(struct rule *r)
{
	free(r->comps);
	free(r->text);
}

/* Sets the plain-character prefix and suffix of glob component C (see struct comp). */
static void glob_affixes(struct comp *c)
{
	while (!strchr("*?[\\", c->text[c->pre]))
		c->pre++;
	while (c->suf < c->len && !strchr("*?[]\\", c->text[c->len - 1 - c->suf]))
		c->suf++;
}

/* Splits pattern text PAT[0..n) (escapes as written, leading '/') into components: empty ones
 * (from "//" or a trailing '/') vanish, escapes are resolved in literal components and kept for
 * fnmatch(3) in glob ones. Returns 0, or -EINVAL or -ENOMEM with *WHY set; R owns what it got
 * either way. */
static int pattern_compile(struct rule *r, const char *pat, size_t n, const char **why)
{
	char *out;
	size_t i = 0;

	/* the text as written, then components: at most n bytes and n / 2 NULs */
	r->text = malloc(2 * n + 2);
	r->comps = calloc(n / 2 + 1, sizeof(*r->comps));
	if (!r->text || !r->comps) {
		*why = "out of memory";
		return -ENOMEM;
	}
	memcpy(r->text, pat, n);
	r->text[n] = '\0';
	r->pub.pattern = r->text;
	out = r->text + n + 1;
	while (i < n) {
		struct comp *c = &r->comps[r->ncomps];
		size_t start = i, len = 0;
		bool wild = false;

		if (pat[i] == '/') {
			i++;
			continue;
		}
		for (; i < n && pat[i] != '/'; len++) {
			if (pat[i] == '\\' && (i + 1 == n || pat[i + 1] == '/')) {
				*why = "a '/' cannot be escaped";
				return -EINVAL;
			}
			if (pat[i] == '\\')
				i++;
			else
				wild |= is_glob_char(pat[i]);
			out[len] = pat[i++];
		}
		if (wild) {
			len = i - start;
			memcpy(out, pat + start, len);
		}
		out[len] = '\0';
		*c = (struct comp){
		        .text = out, .len = len, .kind = wild ? COMP_GLOB : COMP_LITERAL};
		if (wild && len == 2 && memcmp(out, "**", 2) == 0)
			c->kind = COMP_ANY;
		if (!wild && (strcmp(out, ".") == 0 || strcmp(out, "..") == 0))
			*why = "'.' and '..' are not allowed in a pattern";
		else if (!wild && len > FIM_MAX_NAME)
			*why = "path component longer than 255 bytes";
		else
			*why = NULL;
		if (*why)
			return -EINVAL;
		if (wild)
			glob_affixes(c);
		out += len + 1;
		r->ncomps++;
	}
	return 0;
}

/* --- rules --- */

struct rule_words {
	attrset_t attrs;
	bool have_attrs;
	enum severity severity;
	bool growing;
};

static int parse_severity(struct line *l, const struct tok *t, enum severity *ret)
{
	static const enum severity all[] = {SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL};
	struct tok v = {.s = t->s + 9, .len = t->len - 9, .pos = t->pos + 9};

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (tok_is(&v, severity_name(all[i]))) {
			*ret = all[i];
			return 0;
		}
	return line_fail(l, v.pos, -EINVAL,
	                 "unknown severity '%s' (use low, medium, high or critical)", QTOK(&v));
}

/* Reads what follows a pattern: attribute words, severity=, growing. */
static int parse_rule_words(struct line *l, bool exclude, struct rule_words *w)
{
	struct tok t;
	int r = 0;

	while (r == 0 && next_word(l, &t)) {
		if (has_prefix(&t, "severity=")) {
			if (exclude)
				return line_fail(l, t.pos, -EINVAL,
				                 "an exclude rule takes no severity");
			r = parse_severity(l, &t, &w->severity);
		} else if (tok_is(&t, "growing")) {
			if (exclude)
				return line_fail(l, t.pos, -EINVAL,
				                 "'growing' is not allowed on an exclude rule");
			w->growing = true;
		} else {
			if (exclude)
				return line_fail(l, t.pos, -EINVAL,
				                 "an exclude rule takes no attributes");
			r = apply_attr_word(l, KIND_FILE, &t, &w->attrs, !w->have_attrs);
			w->have_attrs = true;
		}
	}
	return r;
}

static int rule_push(struct line *l, struct rule *rule)
{
	struct policy *p = l->ps->p;
	struct rule *nr;

	if (p->nrules >= POLICY_MAX_RULES)
		return line_fail(l, 0, -E2BIG, "too many rules (more than %d)", POLICY_MAX_RULES);
	nr = grow(p->rules, &p->rules_cap, p->nrules, sizeof(*nr));
	if (!nr)
		return oom(l);
	p->rules = nr;
	p->rules[p->nrules++] = *rule;
	return 0;
}

/* [!|=]PATTERN [ATTR...] [severity=S] [growing] */
static int parse_rule(struct line *l)
{
	struct rule_words w = {.severity = SEV_MEDIUM};
	struct rule rule = {.pub = {.kind = KIND_FILE}};
	const char *why;
	struct tok t, body;
	int r;

	r = next_pattern(l, &t, "!=");
	if (r < 0)
		return r;
	body = pattern_body(&t, "!=");
	if (body.len == 0 || body.s[0] != '/')
		return line_fail(l, t.pos, -EINVAL, "pattern must be an absolute path");
	rule.pub.flags = t.s[0] == '!' ? RULE_EXCLUDE : t.s[0] == '=' ? RULE_THIS_ONLY : 0;
	r = pattern_compile(&rule, body.s, body.len, &why);
	if (r < 0) {
		rule_clear(&rule);
		return line_fail(l, t.pos, r, "%s", why);
	}
	r = parse_rule_words(l, rule.pub.flags & RULE_EXCLUDE, &w);
	if (r == 0) {
		rule.pub.file = l->src->name;
		rule.pub.line = l->no;
		rule.pub.severity = w.severity;
		rule.pub.flags |= w.growing ? RULE_GROWING : 0;
		if (!(rule.pub.flags & RULE_EXCLUDE))
			rule.pub.attrs = w.have_attrs ? w.attrs : content_set(l->ps);
		/* growing is about the size: without it there would be nothing to allow */
		if (w.growing && !(rule.pub.flags & RULE_EXCLUDE))
			rule.pub.attrs |= ATTR_BIT(ATTR_SIZE);
		r = rule_push(l, &rule);
	}
	if (r < 0)
		rule_clear(&rule);
	return r;
}

static int orule_push(struct line *l, struct orule *rule)
{
	struct policy *p = l->ps->p;
	struct orule *nr;

	if (p->nrules + p->norules >= POLICY_MAX_RULES)
		return line_fail(l, 0, -E2BIG, "too many rules (more than %d)", POLICY_MAX_RULES);
	nr = grow(p->orules, &p->orules_cap, p->norules, sizeof(*nr));
	if (!nr)
		return oom(l);
	p->orules = nr;
	p->orules[p->norules++] = *rule;
	return 0;
}

/* True when the line continues with WORD (not consumed otherwise). */
static bool peek_prefix(struct line *l, const char *word)
{
	size_t n = strlen(word);

	while (l->pos < l->len && blank(l->s[l->pos]))
		l->pos++;
	if (l->len - l->pos < n || memcmp(l->s + l->pos, word, n) != 0)
		return false;
	l->pos += n;
	return true;
}

/* [!]KIND [name=GLOB] [ATTR...] [severity=S]; the keyword has been read. */
static int parse_obj_rule(struct line *l, enum fim_kind kind, bool exclude)
{
	struct orule rule = {.pub = {.kind = kind, .severity = SEV_MEDIUM}};
	attrset_t attrs = 0;
	bool have_attrs = false;
	struct tok t, body;
	int r = 0;

	rule.pub.flags = exclude ? RULE_EXCLUDE : 0;
	if (peek_prefix(l, "name=")) {
		r = next_pattern(l, &t, NULL);
		if (r < 0)
			return r;
		if (r == 0 || (body = pattern_body(&t, NULL)).len == 0)
			return line_fail(l, l->pos, -EINVAL, "missing name pattern after 'name='");
		rule.glob = strndup(body.s, body.len);
		r = 0;
	} else {
		rule.glob = strdup("*");
	}
	if (!rule.glob)
		return oom(l);
	while (r >= 0 && next_word(l, &t)) {
		if (has_prefix(&t, "severity=")) {
			r = exclude ? line_fail(l, t.pos, -EINVAL,
			                        "an exclude rule takes no severity")
			            : parse_severity(l, &t, &rule.pub.severity);
		} else if (has_prefix(&t, "name=")) {
			r = line_fail(l, t.pos, -EINVAL, "'name=' must come right after '%s'",
			              kind_plural(kind));
		} else if (tok_is(&t, "growing")) {
			r = line_fail(l, t.pos, -EINVAL, "'growing' applies to files only");
		} else if (exclude) {
			r = line_fail(l, t.pos, -EINVAL, "an exclude rule takes no attributes");
		} else {
			r = apply_attr_word(l, kind, &t, &attrs, !have_attrs);
			have_attrs = true;
		}
	}
	if (r == 0) {
		rule.pub.file = l->src->name;
		rule.pub.line = l->no;
		rule.pub.pattern = rule.glob;
		if (!exclude)
			rule.pub.attrs = have_attrs ? attrs : attr_all(kind);
		r = orule_push(l, &rule);
	}
	if (r < 0)
		free(rule.glob);
	return r;
}

/* --- journal rules --- */

#define JOURNAL_MAX_RULES  1024
#define JOURNAL_MAX_FIELDS 16
#define JOURNAL_MAX_NAME   64
#define JOURNAL_MAX_REGEX  4096
#define JOURNAL_MAX_VALUE  1024

const char *const policy_journal_builtins[] = {
        "accounts", "privilege", "privilege-failure", "services", "ssh-bruteforce", NULL,
};

static void jrule_clear(struct jrule *r)
{
	for (size_t i = 0; i < r->pub.nfields; i++) {
		free((char *)r->fields[i].name);
		free((char *)r->fields[i].value);
	}
	free(r->fields);
	free(r->message);
	free(r->group_by);
	r->fields = NULL;
	r->message = r->group_by = NULL;
	r->pub.fields = NULL;
	r->pub.nfields = 0;
	r->pub.message = r->pub.group_by = NULL;
}

static int jrules_init(struct policy *p)
{
	size_t n = 0;

	while (policy_journal_builtins[n])
		n++;
	p->jrules = calloc(n, sizeof(*p->jrules));
	if (!p->jrules)
		return -ENOMEM;
	p->jrules_cap = p->njrules = n;
	for (size_t i = 0; i < n; i++) {
		p->jrules[i].name = strdup(policy_journal_builtins[i]);
		if (!p->jrules[i].name)
			return -ENOMEM;
		p->jrules[i].pub = (struct policy_journal_rule){
		        .name = p->jrules[i].name, .flags = JRULE_BUILTIN, .severity = -1};
	}
	return 0;
}

static struct jrule *jrule_find(struct policy *p, const struct tok *name)
{
	for (size_t i = 0; i < p->njrules; i++)
		if (tok_is(name, p->jrules[i].name))
			return &p->jrules[i];
	return NULL;
}

static bool valid_jrule_name(const struct tok *t)
{
	if (t->len == 0 || t->len > JOURNAL_MAX_NAME)
		return false;
	for (size_t i = 0; i < t->len; i++) {
		char c = t->s[i];
		bool alnum =
		        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("_.-", c)))
			return false;
	}
	return true;
}

/* A journal field name as journald accepts it: upper case letters, digits and '_', not
 * starting with a digit. */
static bool valid_field_name(const char *s, size_t n)
{
	if (n == 0 || n > JOURNAL_MAX_NAME || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* One KEY=VALUE word of a journal rule. VAL is a malloc'd copy (quotes and escapes of a
 * quoted value resolved; a message= regex as written between the slashes). */
struct jword {
	struct tok key;
	size_t vpos; /* byte offset of the value */
	char *val;
	size_t vlen;
	bool caseless;
};

/* Reads a quoted value at l->pos ('"' there): backslash escapes any byte. */
static int jword_quoted(struct line *l, struct jword *w)
{
	size_t open = l->pos++;
	char *o;

	w->val = o = malloc(l->len - l->pos + 1);
	if (!o)
		return oom(l);
	while (l->pos < l->len && l->s[l->pos] != '"') {
		if (l->s[l->pos] == '\\' && l->pos + 1 < l->len)
			l->pos++;
		*o++ = l->s[l->pos++];
	}
	if (l->pos == l->len)
		return line_fail(l, open, -EINVAL, "unterminated quote");
	l->pos++;
	*o = '\0';
	w->vlen = (size_t)(o - w->val);
	return 0;
}

/* Reads /REGEX/[i] at l->pos ('/' there). */
static int jword_regex(struct line *l, struct jword *w)
{
	size_t open = l->pos++, start = l->pos;

	while (l->pos < l->len && l->s[l->pos] != '/')
		l->pos += l->s[l->pos] == '\\' && l->pos + 1 < l->len ? 2 : 1;
	if (l->pos >= l->len)
		return line_fail(l, open, -EINVAL, "regular expression without closing '/'");
	w->vpos = start;
	w->vlen = l->pos - start;
	w->val = strndup(l->s + start, w->vlen);
	if (!w->val)
		return oom(l);
	for (l->pos++; l->pos < l->len && !blank(l->s[l->pos]) && l->s[l->pos] != '#'; l->pos++) {
		if (l->s[l->pos] != 'i')
			return line_fail(l, l->pos, -EINVAL,
			                 "unknown regular expression flag '%s' (only 'i')",
			                 QUOTE(l->s + l->pos, 1));
		w->caseless = true;
	}
	return 0;
}

/* Next KEY=VALUE word. Returns 1, 0 at the end of the statement, or a negative errno. */
static int jword_next(struct line *l, struct jword *w)
{
	struct tok t;
	int r;

	*w = (struct jword){0};
	if (at_end(l))
		return 0;
	w->key.s = l->s + l->pos;
	w->key.pos = l->pos;
	while (l->pos < l->len && l->s[l->pos] != '=' && !blank(l->s[l->pos]) &&
	       l->s[l->pos] != '#')
		l->pos++;
	w->key.len = l->pos - w->key.pos;
	if (l->pos == l->len || l->s[l->pos] != '=' || w->key.len == 0) {
		l->pos = w->key.pos;
		next_word(l, &t);
		return line_fail(l, t.pos, -EINVAL,
		                 "expected FIELD=VALUE or a keyword=value, not '%s'", QTOK(&t));
	}
	l->pos++;
	w->vpos = l->pos;
	if (tok_is(&w->key, "message")) {
		if (l->pos == l->len || l->s[l->pos] != '/')
			return line_fail(l, l->pos, -EINVAL, "expected /REGEX/ after 'message='");
		r = jword_regex(l, w);
	} else if (l->pos < l->len && l->s[l->pos] == '"') {
		r = jword_quoted(l, w);
	} else {
		while (l->pos < l->len && !blank(l->s[l->pos]) && l->s[l->pos] != '#')
			l->pos++;
		w->vlen = l->pos - w->vpos;
		w->val = strndup(l->s + w->vpos, w->vlen);
		r = w->val ? 0 : oom(l);
	}
	if (r == 0 && l->pos < l->len && !blank(l->s[l->pos]) && l->s[l->pos] != '#')
		r = line_fail(l, l->pos, -EINVAL, "unexpected '%s' after the value",
		              QUOTE(l->s + l->pos, 1));
	if (r < 0) {
		free(w->val);
		w->val = NULL;
		return r;
	}
	return 1;
}

static int jword_number(struct line *l, const struct jword *w, unsigned max, unsigned *ret)
{
	unsigned long v = 0;

	for (size_t i = 0; i < w->vlen; i++) {
		if (w->val[i] < '0' || w->val[i] > '9' || v > max)
			return line_fail(l, w->vpos, -EINVAL, "%s must be a number from 1 to %u",
			                 QTOK(&w->key), max);
		v = v * 10 + (unsigned)(w->val[i] - '0');
	}
	if (w->vlen == 0 || v == 0 || v > max)
		return line_fail(l, w->vpos, -EINVAL, "%s must be a number from 1 to %u",
		                 QTOK(&w->key), max);
	*ret = (unsigned)v;
	return 0;
}

/* Compiles the message= regex to check it and, when GROUP_BY names no field, that it has
 * that named capture. */
static int jrule_check_regex(struct line *l, const struct jrule *r, size_t rpos, size_t gpos)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *code;
	int err;

	code = pcre2_compile((PCRE2_SPTR)r->message, strlen(r->message),
	                     r->pub.caseless ? PCRE2_CASELESS : 0, &err, &off, NULL);
	if (!code) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		return line_fail(l, rpos + off, -EINVAL, "bad regular expression: %s", (char *)msg);
	}
	if (r->group_by && !valid_field_name(r->group_by, strlen(r->group_by)) &&
	    pcre2_substring_number_from_name(code, (PCRE2_SPTR)r->group_by) < 0) {
		pcre2_code_free(code);
		return line_fail(l, gpos, -EINVAL,
		                 "group_by '%s' is neither a FIELD name nor a capture of message=",
		                 QUOTE(r->group_by, strlen(r->group_by)));
	}
	pcre2_code_free(code);
	return 0;
}

static int jrule_add_field(struct line *l, struct jrule *r, struct jword *w)
{
	struct policy_jfield *nf;

	if (!valid_field_name(w->key.s, w->key.len))
		return line_fail(l, w->key.pos, -EINVAL,
		                 "unknown word '%s' (journal fields are upper case: FIELD=VALUE)",
		                 QTOK(&w->key));
	if (r->pub.nfields >= JOURNAL_MAX_FIELDS)
		return line_fail(l, w->key.pos, -EINVAL, "more than %d fields in one rule",
		                 JOURNAL_MAX_FIELDS);
	if (w->vlen > JOURNAL_MAX_VALUE || memchr(w->val, '\0', w->vlen))
		return line_fail(l, w->vpos, -EINVAL, "field value too long or with a NUL byte");
	nf = reallocarray(r->fields, r->pub.nfields + 1, sizeof(*nf));
	if (!nf)
		return oom(l);
	r->fields = nf;
	nf[r->pub.nfields].name = strndup(w->key.s, w->key.len);
	nf[r->pub.nfields].value = TAKE_PTR(w->val);
	if (!nf[r->pub.nfields].name) {
		free((char *)nf[r->pub.nfields].value);
		return oom(l);
	}
	r->pub.nfields++;
	return 0;
}

/* Applies word W to rule R (BUILTIN: only threshold, window and severity). *RPOS and *GPOS
 * get the positions of message= and group_by= for later checks. */
static int jrule_word(struct line *l, struct jrule *r, struct jword *w, bool builtin, size_t *rpos,
                      size_t *gpos)
{
	static const char tune[] = "threshold= window= severity=";
	bool tunable = tok_is(&w->key, "threshold") || tok_is(&w->key, "window") ||
	               tok_is(&w->key, "severity");

	if (builtin && !tunable)
		return line_fail(l, w->key.pos, -EINVAL,
		                 "'%s=' cannot change the built-in journal rule '%s' (only %s)",
		                 QTOK(&w->key), r->name, tune);
	if (tok_is(&w->key, "threshold"))
		return jword_number(l, w, POLICY_JOURNAL_MAX_THRESHOLD, &r->pub.threshold);
	if (tok_is(&w->key, "window"))
		return jword_number(l, w, POLICY_JOURNAL_MAX_WINDOW, &r->pub.window);
	if (tok_is(&w->key, "severity")) {
		for (int s = SEV_LOW; s <= SEV_CRITICAL; s++)
			if (strcmp(w->val, severity_name((enum severity)s)) == 0) {
				r->pub.severity = s;
				return 0;
			}
		return line_fail(l, w->vpos, -EINVAL,
		                 "unknown severity '%s' (use low, medium, high or critical)",
		                 QUOTE(w->val, w->vlen));
	}
	if (tok_is(&w->key, "message")) {
		if (r->message)
			return line_fail(l, w->key.pos, -EINVAL, "message= given twice");
		if (w->vlen == 0 || w->vlen > JOURNAL_MAX_REGEX)
			return line_fail(l, w->vpos, -EINVAL,
			                 "a regular expression needs 1 to %d bytes",
			                 JOURNAL_MAX_REGEX);
		r->message = TAKE_PTR(w->val);
		r->pub.caseless = w->caseless;
		*rpos = w->vpos;
		return 0;
	}
	if (tok_is(&w->key, "group_by")) {
		if (w->vlen == 0 || w->vlen > JOURNAL_MAX_NAME || memchr(w->val, '\0', w->vlen))
			return line_fail(l, w->vpos, -EINVAL,
			                 "group_by needs a field or capture name");
		free(r->group_by);
		r->group_by = TAKE_PTR(w->val);
		*gpos = w->vpos;
		return 0;
	}
	return jrule_add_field(l, r, w);
}

static int jrule_push(struct line *l, struct jrule *r)
{
	struct policy *p = l->ps->p;
	struct jrule *nr;

	if (p->njrules >= JOURNAL_MAX_RULES)
		return line_fail(l, 0, -E2BIG, "too many journal rules (more than %d)",
		                 JOURNAL_MAX_RULES);
	nr = grow(p->jrules, &p->jrules_cap, p->njrules, sizeof(*nr));
	if (!nr)
		return oom(l);
	p->jrules = nr;
	p->jrules[p->njrules++] = *r;
	return 0;
}

/* Points the public view of R at what it owns. */
static void jrule_publish(struct jrule *r, const struct line *l)
{
	r->pub.name = r->name;
	r->pub.file = l->src->name;
	r->pub.line = l->no;
	r->pub.fields = r->fields;
	r->pub.message = r->message;
	r->pub.group_by = r->group_by;
}

/* [!]journal NAME [FIELD=VALUE...] [message=/RE/] [threshold=N] [window=S] [group_by=X]
 * [severity=L]; the keyword has been read. */
static int parse_journal(struct line *l, bool disable)
{
	struct policy *p = l->ps->p;
	struct jrule nr = {.pub = {.severity = -1}}, *old;
	size_t rpos = 0, gpos = 0;
	struct jword w;
	struct tok name;
	int r;

	if (!next_word(l, &name))
		return line_fail(l, l->pos, -EINVAL, "missing rule name after 'journal'");
	if (!valid_jrule_name(&name))
		return line_fail(l, name.pos, -EINVAL,
		                 "invalid journal rule name '%s' (letters, digits, '_', '.', '-')",
		                 QTOK(&name));
	/* the name of the watcher's notices about forged senders */
	if (tok_is(&name, "unverified-sender"))
		return line_fail(l, name.pos, -EINVAL, "journal rule name '%s' is reserved",
		                 QTOK(&name));
	old = jrule_find(p, &name);
	if (disable) {
		if (!old)
			return line_fail(l, name.pos, -EINVAL, "no journal rule '%s' to switch off",
			                 QTOK(&name));
		r = expect_end(l);
		if (r == 0) {
			old->pub.flags |= JRULE_DISABLED;
			old->pub.file = l->src->name;
			old->pub.line = l->no;
		}
		return r;
	}
	if (old && (old->pub.flags & JRULE_BUILTIN)) {
		/* tuning: words apply on top of earlier tuning; validated on a copy */
		struct jrule t = *old;

		while ((r = jword_next(l, &w)) > 0) {
			r = jrule_word(l, &t, &w, true, &rpos, &gpos);
			free(w.val);
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
		t.pub.flags &= ~JRULE_DISABLED;
		jrule_publish(&t, l);
		*old = t;
		return 0;
	}
	while ((r = jword_next(l, &w)) > 0) {
		r = jrule_word(l, &nr, &w, false, &rpos, &gpos);
		free(w.val);
		if (r < 0)
			break;
	}
	if (r == 0 && nr.pub.nfields == 0 && !nr.message)
		r = line_fail(l, name.pos, -EINVAL,
		              "journal rule '%s' matches nothing: give FIELD=VALUE or message=",
		              QTOK(&name));
	if (r == 0 && nr.group_by && !nr.message &&
	    !valid_field_name(nr.group_by, strlen(nr.group_by)))
		r = line_fail(l, gpos, -EINVAL,
		              "group_by '%s' is neither a FIELD name nor a capture of message=",
		              QUOTE(nr.group_by, strlen(nr.group_by)));
	if (r == 0 && nr.message)
		r = jrule_check_regex(l, &nr, rpos, gpos);
	if (r == 0 && !(nr.name = strndup(name.s, name.len)))
		r = oom(l);
	if (r == 0) {
		jrule_publish(&nr, l);
		if (old) { /* a redefinition replaces the rule in its place */
			jrule_clear(old);
			free(old->name);
			*old = nr;
			return 0;
		}
		r = jrule_push(l, &nr);
	}
	if (r < 0) {
		jrule_clear(&nr);
		free(nr.name);
	}
	return r;
}

size_t policy_journal_rule_count(const struct policy *p)
{
	return p->njrules;
}

const struct policy_journal_rule *policy_journal_rule_at(const struct policy *p, size_t i)
{
	return i < p->njrules ? &p->jrules[i].pub : NULL;
}

/* --- sources --- */

static void source_free(struct source *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->data);
	free(s);
}

/* Reads the regular file FD whole into *RET. Returns 0, -EFBIG past FIM_MAX_POLICY_SIZE, or
 * the read errno. */
static int read_all(int fd, size_t hint, char **ret, size_t *ret_len)
{
	size_t cap = hint < FIM_MAX_POLICY_SIZE ? hint + 1 : FIM_MAX_POLICY_SIZE + 1, len = 0;
	_cleanup_free_ char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > FIM_MAX_POLICY_SIZE)
				return -EFBIG;
			cap = cap * 2 > FIM_MAX_POLICY_SIZE ? FIM_MAX_POLICY_SIZE + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* 0 when ST is a regular file we may read, else -EISDIR, -EINVAL or -EFBIG. */
static int check_stat(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_size > (off_t)FIM_MAX_POLICY_SIZE)
		return -EFBIG;
	return 0;
}

/* Reads the policy file NAME from the file system into S. Anything but a regular file is
 * refused before it is opened (opening a device can have effects, and a glob over /dev is a typo
 * away) and again after (it may have been replaced). O_NONBLOCK: a FIFO must not hang us. */
static int source_read_fs(struct source *s)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (stat(s->name, &st) < 0)
		return -errno;
	r = check_stat(&st);
	if (r < 0)
		return r;
	fd = open(s->name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	r = check_stat(&st);
	if (r < 0)
		return r;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return read_all(fd, (size_t)st.st_size, &s->data, &s->len);
}

static const struct bundle_file *bundle_find(const struct parser *ps, const char *name)
{
	for (size_t i = 0; i < ps->nbundle; i++)
		if (strcmp(ps->bundle[i].name, name) == 0)
			return &ps->bundle[i];
	return NULL;
}

static int source_read_bundle(struct parser *ps, struct source *s)
{
	const struct bundle_file *e = bundle_find(ps, s->name);

	if (!e)
		return -ENOENT;
	s->data = malloc(e->len + 1);
	if (!s->data)
		return -ENOMEM;
	memcpy(s->data, e->data, e->len);
	s->len = e->len;
	return 0;
}

static int source_add(struct parser *ps, const char *name, size_t *ret_idx)
{
	struct policy *p = ps->p;
	struct source *s, **ns;
	int r;

	if (p->nsrcs >= POLICY_MAX_SOURCES)
		return -E2BIG;
	ns = grow(p->srcs, &p->srcs_cap, p->nsrcs, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	p->srcs = ns;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name))) {
		free(s);
		return -ENOMEM;
	}
	r = ps->bundle ? source_read_bundle(ps, s) : source_read_fs(s);
	if (r == 0 && ps->total + s->len > POLICY_MAX_TOTAL)
		r = -E2BIG;
	if (r == 0 && hash_buffer(HASH_SHA256, s->data, s->len, s->sum) < 0)
		r = -ENOMEM;
	if (r < 0) {
		source_free(s);
		return r;
	}
	ps->total += s->len;
	p->srcs[p->nsrcs] = s;
	*ret_idx = p->nsrcs++;
	return 0;
}

/* Index of source NAME, read now if it was not read before: a file included twice is read
 * once, so the bundle holds each name once and both includes see the same bytes. */
static int source_get(struct parser *ps, const char *name, size_t *ret_idx)
{
	for (size_t i = 0; i < ps->p->nsrcs; i++)
		if (strcmp(ps->p->srcs[i]->name, name) == 0) {
			*ret_idx = i;
			return 0;
		}
	return source_add(ps, name, ret_idx);
}

/* Why source_get() failed with R, in words. */
static const char *source_error(int r, char *buf, size_t size)
{
	switch (r) {
	case -EINVAL:
		return "not a regular file";
	case -EFBIG:
		snprintf(buf, size, "larger than %u bytes", FIM_MAX_POLICY_SIZE);
		return buf;
	case -E2BIG:
		snprintf(buf, size, "more than %d files or %u bytes in all", POLICY_MAX_SOURCES,
		         POLICY_MAX_TOTAL);
		return buf;
	default:
		return strerror(-r);
	}
}

/* --- identity --- */

/* The policy digest stands for what the policy means, not for how its files were named: it is
 * built while parsing from the content of each file as it is entered (the main file, then each
 * include where it happens, with the line of the including file) and left. Two loads agree on it
 * exactly when they read the same bytes in the same include structure, whatever path spelled the
 * main file or an include (relative, absolute, through a symbolic link, or a bundle's names). */
#define IDENT_TAG "fim-policy-identity-v2"

static int ident_put(struct parser *ps, char what, unsigned line, const uint8_t *sum)
{
	uint8_t ev[1 + 4 + 32] = {(uint8_t)what, (uint8_t)(line >> 24), (uint8_t)(line >> 16),
	                          (uint8_t)(line >> 8), (uint8_t)line};
	size_t n = 1;

	if (sum) {
		memcpy(ev + 5, sum, 32);
		n = sizeof(ev);
	}
	return hash_update(ps->ident, ev, n) < 0 ? -ENOMEM : 0;
}

/* Source IDX is entered from line LINE of the source being parsed (0 for the main file). */
static int ident_enter(struct parser *ps, unsigned line, size_t idx)
{
	return ident_put(ps, 'E', line, ps->p->srcs[idx]->sum);
}

static int ident_leave(struct parser *ps)
{
	return ident_put(ps, 'L', 0, NULL);
}

/* --- includes and files --- */

static int parse_source(struct parser *ps, size_t idx);

/* True when source IDX is being parsed already (same name, or same file under another name). */
static bool in_stack(const struct parser *ps, size_t idx)
{
	const struct source *s = ps->p->srcs[idx];

	for (unsigned i = 0; i <= ps->depth; i++) {
		const struct source *o = ps->p->srcs[ps->stack[i]];

		if (ps->stack[i] == idx)
			return true;
		if (!ps->bundle && o->dev == s->dev && o->ino == s->ino)
			return true;
	}
	return false;
}

static int include_one(struct line *l, size_t pos, const char *name)
{
	struct parser *ps = l->ps;
	char buf[64];
	size_t idx;
	int r;

	r = source_get(ps, name, &idx);
	if (r < 0)
		return line_fail(l, pos, r, "cannot open %s: %s", name,
		                 source_error(r, buf, sizeof(buf)));
	if (in_stack(ps, idx))
		return line_fail(l, pos, -ELOOP, "include cycle through %s", name);
	if (ps->depth + 1 > FIM_MAX_POLICY_DEPTH)
		return line_fail(l, pos, -ELOOP, "includes nested deeper than %d levels",
		                 FIM_MAX_POLICY_DEPTH);
	if (ident_enter(ps, l->no, idx) < 0)
		return oom(l);
	ps->stack[++ps->depth] = idx;
	r = parse_source(ps, idx);
	ps->depth--;
	if (r == 0 && ident_leave(ps) < 0)
		return oom(l);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Includes every file system match of PATTERN, in byte order (glob(3) sorts by locale). */
static int include_glob_fs(struct line *l, size_t pos, const char *pattern)
{
	glob_t g = {0};
	int r = glob(pattern, GLOB_NOSORT, NULL, &g);

	if (r == GLOB_NOMATCH)
		return 0;
	if (r != 0) {
		globfree(&g);
		return r == GLOB_NOSPACE ? oom(l)
		                         : line_fail(l, pos, -EIO, "cannot expand %s", pattern);
	}
	qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str);
	for (size_t i = 0; r == 0 && i < g.gl_pathc; i++)
		r = include_one(l, pos, g.gl_pathv[i]);
	globfree(&g);
	return r;
}

/* Includes every bundled file whose name matches PATTERN as glob(3) would, in byte order. */
static int include_glob_bundle(struct line *l, size_t pos, const char *pattern)
{
	struct parser *ps = l->ps;
	int r = 0;

	for (size_t i = 0; r == 0 && i < ps->nbundle; i++)
		if (fnmatch(pattern, ps->sorted[i]->name, FNM_PATHNAME | FNM_PERIOD) == 0)
			r = include_one(l, pos, ps->sorted[i]->name);
	return r;
}

/* Appends S[0..n) to OUT, with a backslash before each byte glob(3) would interpret. */
static char *escape_glob(char *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (is_glob_char(s[i]) || s[i] == '\\')
			*out++ = '\\';
		*out++ = s[i];
	}
	return out;
}

/* The include argument ARG as a glob pattern: relative ones are taken from the directory of
 * the including file, whose name is escaped so it is matched literally. */
static char *include_pattern(const char *from, const struct tok *arg)
{
	const char *slash = arg->s[0] == '/' ? NULL : strrchr(from, '/');
	size_t dir = slash ? (size_t)(slash - from) + 1 : 0;
	char *pat = malloc(2 * dir + arg->len + 1), *o;

	if (!pat)
		return NULL;
	o = escape_glob(pat, from, dir);
	memcpy(o, arg->s, arg->len);
	o[arg->len] = '\0';
	return pat;
}

static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		*o++ = *s;
	}
	*o = '\0';
}

/* include GLOB */
static int parse_include(struct line *l)
{
	_cleanup_free_ char *pattern = NULL;
	struct tok t, arg;
	int r;

	r = next_pattern(l, &t, NULL);
	if (r == 0)
		return line_fail(l, l->pos, -EINVAL, "missing file name after 'include'");
	if (r < 0 || (r = expect_end(l)) < 0)
		return r;
	arg = pattern_body(&t, NULL);
	if (arg.len == 0)
		return line_fail(l, t.pos, -EINVAL, "empty file name");
	pattern = include_pattern(l->src->name, &arg);
	if (!pattern)
		return oom(l);
	if (has_glob(pattern, strlen(pattern)))
		return l->ps->bundle ? include_glob_bundle(l, t.pos, pattern)
		                     : include_glob_fs(l, t.pos, pattern);
	unescape(pattern);
	return include_one(l, t.pos, pattern);
}

static bool looks_like_pattern(const struct tok *t)
{
	for (size_t i = 0; i < t->len; i++)
		if (t->s[i] == '/' || is_glob_char(t->s[i]))
			return true;
	return false;
}

static int parse_line(struct line *l)
{
	const char *nul = memchr(l->s, '\0', l->len);
	struct tok t;
	char c;

	if (nul)
		return line_fail(l, (size_t)(nul - l->s), -EINVAL, "NUL byte in policy");
	if (at_end(l))
		return 0;
	c = l->s[l->pos];
	if (c == '!' && l->pos + 1 < l->len && !blank(l->s[l->pos + 1])) {
		struct line peek = *l;
		bool word;
		int kind;

		peek.pos++;
		word = next_word(&peek, &t); /* false for "!#...": t is not set then */
		if (word && tok_is(&t, "journal")) {
			*l = peek;
			return parse_journal(l, true);
		}
		kind = word ? kind_lookup(t.s, t.len) : -ENOENT;
		if (kind > KIND_FILE) {
			*l = peek;
			return parse_obj_rule(l, kind, true);
		}
	}
	if (c == '/' || c == '!' || c == '=' || c == '"')
		return parse_rule(l);
	next_word(l, &t);
	{
		int kind = kind_lookup(t.s, t.len);

		if (kind > KIND_FILE)
			return parse_obj_rule(l, kind, false);
	}
	if (tok_is(&t, "journal"))
		return parse_journal(l, false);
	if (tok_is(&t, "set"))
		return parse_set(l);
	if (tok_is(&t, "define"))
		return parse_define(l);
	if (tok_is(&t, "include"))
		return parse_include(l);
	if (looks_like_pattern(&t))
		return line_fail(l, t.pos, -EINVAL, "pattern must be an absolute path");
	return line_fail(l, t.pos, -EINVAL, "unknown keyword '%s'", QTOK(&t));
}

/* Parses every line of source IDX; CRLF line ends are accepted. */
static int parse_source(struct parser *ps, size_t idx)
{
	const struct source *src = ps->p->srcs[idx];
	const char *s = src->data, *end = s + src->len;
	unsigned no = 0;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		struct line l = {.ps = ps, .src = src, .no = ++no, .s = s, .len = n};
		int r;

		if (n && s[n - 1] == '\r')
			l.len--;
		r = parse_line(&l);
		if (r < 0)
			return r;
		s += n + (nl != NULL);
	}
	return 0;
}

/* --- roots --- */

/* Byte order with '/' lowest, so that every path below P sorts right after P. */
static int cmp_path(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a;
	const unsigned char *y = *(const unsigned char *const *)b;

	for (; *x && *x == *y; x++, y++)
		;
	if (*x == *y)
		return 0;
	if (*x == '/' || *y == '/')
		return *x == '/' ? (*y ? -1 : 1) : (*x ? 1 : -1);
	return *x < *y ? -1 : 1;
}

static bool path_below_or_at(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* "/" followed by the literal components before the first wildcard of R. */
static char *rule_root(const struct rule *r)
{
	size_t n = 1, k;
	char *root, *o;

	for (k = 0; k < r->ncomps && r->comps[k].kind == COMP_LITERAL; k++)
		n += r->comps[k].len + 1;
	root = malloc(n + 1);
	if (!root)
		return NULL;
	o = root;
	for (size_t i = 0; i < k; i++) {
		*o++ = '/';
		o = mempcpy(o, r->comps[i].text, r->comps[i].len);
	}
	if (o == root)
		*o++ = '/';
	*o = '\0';
	return root;
}

static int roots_build(struct policy *p)
{
	size_t n = 0, kept = 0;

	p->roots = calloc(p->nrules + 1, sizeof(char *));
	if (!p->roots)
		return -ENOMEM;
	for (size_t i = 0; i < p->nrules; i++) {
		if (p->rules[i].pub.flags & RULE_EXCLUDE)
			continue;
		p->roots[n] = rule_root(&p->rules[i]);
		if (!p->roots[n])
			return -ENOMEM;
		p->nroots = ++n; /* so policy_free() frees them on failure */
	}
	qsort(p->roots, n, sizeof(char *), cmp_path);
	for (size_t i = 0; i < n; i++) {
		if (kept && path_below_or_at(p->roots[i], p->roots[kept - 1])) {
			free(p->roots[i]);
			continue;
		}
		p->roots[kept++] = p->roots[i];
	}
	p->nroots = kept;
	qsort(p->roots, kept, sizeof(char *), cmp_str);
	return 0;
}

/* --- rule index --- */

static int cmp_edge(const void *a, const void *b)
{
	const struct ix_edge *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->name, y->name, x->len);
}

/* The child of node PARENT named S[0..n), or 0 (the root is nobody's child). */
static size_t ix_child(const struct rule_index *ix, size_t parent, const char *s, size_t n)
{
	const struct ix_edge key = {.parent = parent, .name = s, .len = n};
	struct ix_edge *const *e = tfind(&key, &ix->tree, cmp_edge);

	return e ? (*e)->child : 0;
}

static void free_nothing(void *edge)
{
	/* the edges live in ix->edges */
}

static void ix_free(struct rule_index *ix)
{
	tdestroy(ix->tree, free_nothing);
	free(ix->nodes);
	free(ix->edges);
	free(ix->byrule);
}

/* Number of leading literal components of R the index follows: the literal prefix, cut at
 * IX_MAX_DEPTH. A rule with a longer one hangs higher up and is tested against every path that
 * passes there, which stays exact (its own test decides) and keeps the index to a node per
 * distinct leading component of the first IX_MAX_DEPTH, not one per byte pair of the policy. */
static size_t literal_prefix(const struct rule *r)
{
	size_t k = 0;

	while (k < r->ncomps && k < IX_MAX_DEPTH && r->comps[k].kind == COMP_LITERAL)
		k++;
	return k;
}

/* Builds p->ix from p->rules: a node per distinct literal prefix (and per prefix of one), each
 * rule on the node of its own. Returns 0 or -ENOMEM (policy_free() frees what was built). */
static int ix_build(struct policy *p)
{
	struct rule_index *ix = &p->ix;
	_cleanup_free_ size_t *home = calloc(p->nrules + 1, sizeof(size_t));
	size_t most = 1;

	for (size_t k = 0; k < p->nrules; k++)
		most += literal_prefix(&p->rules[k]);
	ix->nodes = calloc(most, sizeof(*ix->nodes));
	ix->edges = calloc(most, sizeof(*ix->edges));
	ix->byrule = calloc(p->nrules + 1, sizeof(size_t));
	if (!home || !ix->nodes || !ix->edges || !ix->byrule)
		return -ENOMEM;
	ix->nnodes = 1;
	for (size_t k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];
		size_t node = 0, n = literal_prefix(r);

		for (size_t i = 0; i < n; i++) {
			struct ix_edge *e = &ix->edges[ix->nnodes - 1], *const * found;

			*e = (struct ix_edge){.parent = node,
			                      .child = ix->nnodes,
			                      .name = r->comps[i].text,
			                      .len = r->comps[i].len};
			found = tsearch(e, &ix->tree, cmp_edge);
			if (!found)
				return -ENOMEM;
			if (*found == e)
				ix->nodes[ix->nnodes++].parent = node;
			node = (*found)->child;
		}
		home[k] = node;
		ix->nodes[node].count++;
	}
	for (size_t i = 1; i < ix->nnodes; i++)
		ix->nodes[i].first = ix->nodes[i - 1].first + ix->nodes[i - 1].count;
	for (size_t i = 0; i < ix->nnodes; i++)
		ix->nodes[i].count = 0;
	for (size_t k = 0; k < p->nrules; k++) {
		struct ix_node *x = &ix->nodes[home[k]];

		ix->byrule[x->first + x->count++] = k;
		if (!(p->rules[k].pub.flags & RULE_EXCLUDE))
			home[k] = SIZE_MAX; /* marks it for the pass below */
	}
	/* children come after their parent: one backward pass carries "below" up */
	for (size_t i = ix->nnodes; i-- > 1;) {
		struct ix_node *x = &ix->nodes[i], *up = &ix->nodes[x->parent];
		size_t own = 0;

		for (size_t j = x->count; j-- > 0 && !own;)
			if (home[ix->byrule[x->first + j]] == SIZE_MAX)
				own = ix->byrule[x->first + j] + 1;
		own = own > x->below ? own : x->below;
		up->below = own > up->below ? own : up->below;
	}
	return 0;
}

/* --- bundles --- */

static uint8_t *put32(uint8_t *o, size_t v)
{
	o[0] = (uint8_t)(v >> 24);
	o[1] = (uint8_t)(v >> 16);
	o[2] = (uint8_t)(v >> 8);
	o[3] = (uint8_t)v;
	return o + 4;
}

int policy_bundle(const struct policy *p, void **ret_buf, size_t *ret_len)
{
	size_t len = BUNDLE_MAGIC_LEN + 4;
	uint8_t *buf, *o;

	for (size_t i = 0; i < p->nsrcs; i++)
		len += 8 + strlen(p->srcs[i]->name) + p->srcs[i]->len;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	o = mempcpy(buf, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
	o = put32(o, p->nsrcs);
	for (size_t i = 0; i < p->nsrcs; i++) {
		const struct source *s = p->srcs[i];

		o = put32(o, strlen(s->name));
		o = mempcpy(o, s->name, strlen(s->name));
		o = put32(o, s->len);
		o = mempcpy(o, s->data, s->len);
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* Reads a big-endian 32-bit number at *POS of BUF[0..len). False when too short. */
static bool get32(const uint8_t *buf, size_t len, size_t *pos, size_t *ret)
{
	if (len - *pos < 4)
		return false;
	*ret = (size_t)buf[*pos] << 24 | (size_t)buf[*pos + 1] << 16 | (size_t)buf[*pos + 2] << 8 |
	       buf[*pos + 3];
	*pos += 4;
	return true;
}

/* Reads a length not above MAX and checks that many bytes follow. */
static bool get_span(const uint8_t *buf, size_t len, size_t *pos, size_t max, size_t *ret)
{
	return get32(buf, len, pos, ret) && *ret <= max && len - *pos >= *ret;
}

static int bundle_fail(struct parser *ps, const char *why)
{
	return file_fail(ps, "", -EBADMSG, "corrupt policy bundle: %s", why);
}

/* Reads one "name, content" pair at *POS into E. Returns NULL or the complaint. */
static const char *bundle_entry(const uint8_t *buf, size_t len, size_t *pos, struct bundle_file *e)
{
	size_t nlen;

	if (!get_span(buf, len, pos, sizeof(((struct policy_error *)0)->file) - 1, &nlen) ||
	    nlen == 0)
		return "bad file name length";
	if (memchr(buf + *pos, '\0', nlen))
		return "NUL byte in a file name";
	e->name = strndup((const char *)buf + *pos, nlen);
	if (!e->name)
		return "out of memory";
	*pos += nlen;
	if (!get_span(buf, len, pos, FIM_MAX_POLICY_SIZE, &e->len))
		return "bad file length";
	e->data = (const char *)buf + *pos;
	*pos += e->len;
	return NULL;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(const struct bundle_file *const *)a)->name,
	              (*(const struct bundle_file *const *)b)->name);
}

/* Checks BUF[0..len) and points ps->bundle at its files. Returns 0, -EBADMSG or -ENOMEM. */
static int bundle_parse(struct parser *ps, const uint8_t *buf, size_t len)
{
	struct bundle_file *e;
	const char *why;
	size_t pos = BUNDLE_MAGIC_LEN, n;

	if (len < BUNDLE_MAGIC_LEN || memcmp(buf, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN) != 0)
		return bundle_fail(ps, "not a policy bundle");
	if (!get32(buf, len, &pos, &n) || n == 0 || n > POLICY_MAX_SOURCES)
		return bundle_fail(ps, "bad file count");
	ps->bundle = e = calloc(n, sizeof(*e));
	ps->sorted = calloc(n, sizeof(*ps->sorted));
	if (!e || !ps->sorted)
		return file_fail(ps, "", -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		ps->nbundle++;
		why = bundle_entry(buf, len, &pos, &e[i]);
		if (why)
			return bundle_fail(ps, why);
		ps->sorted[i] = &e[i];
	}
	if (pos != len)
		return bundle_fail(ps, "trailing bytes");
	qsort(ps->sorted, n, sizeof(*ps->sorted), cmp_entry);
	for (size_t i = 1; i < n; i++)
		if (strcmp(ps->sorted[i - 1]->name, ps->sorted[i]->name) == 0)
			return bundle_fail(ps, "a file name appears twice");
	return 0;
}

/* --- loading --- */

static void parser_clear(struct parser *ps)
{
	for (size_t i = 0; i < ps->ngroups; i++)
		free(ps->groups[i].name);
	free(ps->groups);
	for (size_t i = 0; i < ps->nbundle; i++)
		free(ps->bundle[i].name);
	free(ps->bundle);
	free(ps->sorted);
	hash_free(ps->ident);
}

/* The digest fim wrote before names left it: SHA-256 over the bundle. */
static int digest_legacy(const void *bundle, size_t len, uint8_t out[static 32])
{
	return hash_buffer(HASH_SHA256, bundle, len, out) < 0 ? -ENOMEM : 0;
}

/* Reads the main file NAME (from the file system or ps->bundle) with everything it includes. */
static int load(struct parser *ps, const char *name, struct policy **ret)
{
	char buf[64];
	size_t idx;
	int r;

	ps->p = calloc(1, sizeof(*ps->p));
	if (!ps->p || groups_init(ps) < 0 || jrules_init(ps->p) < 0)
		return file_fail(ps, name, -ENOMEM, "out of memory");
	r = source_get(ps, name, &idx);
	if (r < 0)
		return file_fail(ps, name, r, "%s", source_error(r, buf, sizeof(buf)));
	ps->ident = hash_new(HASH_SHA256);
	if (!ps->ident || hash_init(ps->ident) < 0 ||
	    hash_update(ps->ident, IDENT_TAG, sizeof(IDENT_TAG)) < 0 || ident_enter(ps, 0, idx) < 0)
		return file_fail(ps, name, -ENOMEM, "out of memory");
	ps->stack[0] = idx;
	r = parse_source(ps, idx);
	if (r < 0)
		return r;
	if (ident_leave(ps) < 0 || hash_final(ps->ident, ps->p->digest) < 0 ||
	    roots_build(ps->p) < 0 || ix_build(ps->p) < 0)
		return file_fail(ps, name, -ENOMEM, "out of memory");
	*ret = TAKE_PTR(ps->p);
	return 0;
}

int policy_load(const char *path, struct policy **ret, struct policy_error *err)
{
	struct policy_error dummy;
	struct parser ps = {.err = err ? err : &dummy};
	int r = load(&ps, path, ret);

	policy_free(ps.p);
	parser_clear(&ps);
	return r;
}

int policy_load_bundle(const void *buf, size_t len, struct policy **ret, struct policy_error *err)
{
	struct policy_error dummy;
	struct parser ps = {.err = err ? err : &dummy};
	int r = bundle_parse(&ps, buf, len);

	if (r == 0)
		r = load(&ps, ps.bundle[0].name, ret);
	policy_free(ps.p);
	parser_clear(&ps);
	return r;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsrcs; i++)
		source_free(p->srcs[i]);
	free(p->srcs);
	for (size_t i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->norules; i++)
		free(p->orules[i].glob);
	free(p->orules);
	for (size_t i = 0; i < p->njrules; i++) {
		jrule_clear(&p->jrules[i]);
		free(p->jrules[i].name);
	}
	free(p->jrules);
	for (size_t i = 0; i < ARRAY_SIZE(p->values); i++)
		free(p->values[i]);
	for (size_t i = 0; i < p->nroots; i++)
		free(p->roots[i]);
	free(p->roots);
	ix_free(&p->ix);
	free(p);
}

/* --- accessors --- */

const uint8_t *policy_digest(const struct policy *p)
{
	return p->digest;
}

bool policy_is_stored(const struct policy *p, const uint8_t *digest, size_t digest_len,
                      const void *bundle, size_t len)
{
	uint8_t legacy[32];
	struct policy *old = NULL;
	bool same;

	if (digest_len != sizeof(legacy))
		return false;
	if (memcmp(digest, p->digest, sizeof(legacy)) == 0)
		return true;
	/* a baseline of an older fim: its digest is of the bundle, names and all; the bundle is
	 * the one it was taken with only when that digest matches it */
	if (!bundle || digest_legacy(bundle, len, legacy) < 0 ||
	    memcmp(digest, legacy, sizeof(legacy)) != 0 ||
	    policy_load_bundle(bundle, len, &old, NULL) < 0)
		return false;
	same = memcmp(old->digest, p->digest, sizeof(legacy)) == 0;
	policy_free(old);
	return same;
}

const char *policy_get(const struct policy *p, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(setting_defs); i++)
		if (strcmp(setting_defs[i].key, key) == 0)
			return p->values[i];
	return NULL;
}

size_t policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

const struct policy_rule *policy_rule_at(const struct policy *p, size_t i)
{
	return i < p->nrules ? &p->rules[i].pub : NULL;
}

size_t policy_obj_rule_count(const struct policy *p)
{
	return p->norules;
}

const struct policy_rule *policy_obj_rule_at(const struct policy *p, size_t i)
{
	return i < p->norules ? &p->orules[i].pub : NULL;
}

const struct policy_rule *policy_match_obj(const struct policy *p, enum fim_kind kind,
                                           const char *id, size_t len)
{
	char name[512];

	if (len >= sizeof(name) || memchr(id, '\0', len))
		return NULL;
	memcpy(name, id, len);
	name[len] = '\0';
	for (size_t k = p->norules; k-- > 0;) {
		const struct orule *r = &p->orules[k];

		if (r->pub.kind == kind && fnmatch(r->glob, name, 0) == 0)
			return &r->pub;
	}
	return NULL;
}

bool policy_has_kind(const struct policy *p, enum fim_kind kind)
{
	for (size_t k = 0; k < p->norules; k++)
		if (p->orules[k].pub.kind == kind && !(p->orules[k].pub.flags & RULE_EXCLUDE))
			return true;
	return false;
}

size_t policy_root_count(const struct policy *p)
{
	return p->nroots;
}

const char *policy_root_at(const struct policy *p, size_t i)
{
	return i < p->nroots ? p->roots[i] : NULL;
}

const char *severity_name(enum severity s)
{
	static const char *const names[] = {
	        [SEV_LOW] = "low",
	        [SEV_MEDIUM] = "medium",
	        [SEV_HIGH] = "high",
	        [SEV_CRITICAL] = "critical",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : NULL;
}

/* --- matching: no allocation, any path length --- */

/* Finds the component of PATH[0..len) at or after byte POS. Returns false when none is left. */
static bool next_comp(const char *path, size_t len, size_t pos, size_t *start, size_t *n)
{
	const char *slash;

	while (pos < len && path[pos] == '/')
		pos++;
	if (pos == len)
		return false;
	slash = memchr(path + pos, '/', len - pos);
	*start = pos;
	*n = slash ? (size_t)(slash - path) - pos : len - pos;
	return true;
}

static bool comp_match(const struct comp *c, const char *s, size_t n)
{
	char name[FIM_MAX_NAME + 1];

	if (c->kind == COMP_LITERAL)
		return c->len == n && memcmp(c->text, s, n) == 0;
	if (n > FIM_MAX_NAME || n < c->pre + c->suf || memcmp(s, c->text, c->pre) != 0 ||
	    memcmp(s + n - c->suf, c->text + c->len - c->suf, c->suf) != 0)
		return false; /* names are at most 255 bytes on Linux; fnmatch(3) needs a copy */
	memcpy(name, s, n);
	name[n] = '\0';
	return fnmatch(c->text, name, 0) == 0;
}

/* Component I of R is "**"; with a tail (see walk) the pattern has an implicit trailing "**" (a
 * rule also covers what is below the paths it matches). */
static bool is_any(const struct rule *r, size_t i)
{
	return i == r->ncomps || r->comps[i].kind == COMP_ANY;
}

/* Consumes every component of PATH with R's components (plus "**" when TAIL). Non-"**"
 * components match exactly one path component, so the last "**" seen is the only backtracking
 * point needed: on a mismatch it swallows one more component. Returns false when PATH cannot be
 * consumed; otherwise *RET_I is the pattern position reached and *RET_STAR whether a "**" was
 * entered (which could swallow more). */
static bool walk(const struct rule *r, bool tail, const char *path, size_t len, size_t *ret_i,
                 bool *ret_star)
{
	size_t m = r->ncomps + tail, i = 0, s = 0, star = SIZE_MAX, star_s = 0, cs, cn;

	while (next_comp(path, len, s, &cs, &cn)) {
		if (i < m && is_any(r, i)) {
			star = i++;
			star_s = s;
		} else if (i < m && comp_match(&r->comps[i], path + cs, cn)) {
			i++;
			s = cs + cn;
		} else if (star != SIZE_MAX) {
			next_comp(path, len, star_s, &cs, &cn);
			star_s = s = cs + cn;
			i = star + 1;
		} else {
			return false;
		}
	}
	*ret_i = i;
	*ret_star = star != SIZE_MAX;
	return true;
}

/* True when R selects PATH: exactly for "=" rules, else PATH or an ancestor. */
static bool rule_matches(const struct rule *r, const char *path, size_t len)
{
	bool tail = !(r->pub.flags & RULE_THIS_ONLY), star;
	size_t m = r->ncomps + tail, i;

	if (!walk(r, tail, path, len, &i, &star))
		return false;
	while (i < m && is_any(r, i))
		i++;
	return i == m;
}

/* True when R can select some path strictly below DIR: after DIR is consumed, pattern is left
 * or a "**" can take more. */
static bool rule_reaches_below(const struct rule *r, const char *dir, size_t len)
{
	bool tail = !(r->pub.flags & RULE_THIS_ONLY), star;
	size_t i;

	if (!walk(r, tail, dir, len, &i, &star))
		return false;
	return star || i < r->ncomps + tail;
}

/* The rule among those hanging on node X that decides, when it comes after rule *BEST (SIZE_MAX:
 * none yet): the last one for which TEST holds. Updates *BEST and returns true when found. */
static bool ix_scan(const struct policy *p, const struct ix_node *x, size_t *best,
                    bool (*test)(const struct rule *r, const char *path, size_t len, bool *val),
                    const char *path, size_t len, bool *ret_val)
{
	for (size_t j = x->count; j-- > 0;) {
		size_t k = p->ix.byrule[x->first + j];

		if (*best != SIZE_MAX && k < *best)
			return false;
		bool val = false;

		if (test(&p->rules[k], path, len, &val)) {
			*best = k;
			*ret_val = val;
			return true;
		}
	}
	return false;
}

/* Runs ix_scan on every node along PATH (the root, then one per leading component that some
 * rule names). Returns the node reached when PATH was consumed whole, else NULL. */
static const struct ix_node *
ix_walk(const struct policy *p, const char *path, size_t len, size_t *best,
        bool (*test)(const struct rule *r, const char *path, size_t len, bool *val), bool *ret_val)
{
	size_t node = 0, pos = 0, cs, cn;

	for (;;) {
		ix_scan(p, &p->ix.nodes[node], best, test, path, len, ret_val);
		if (!next_comp(path, len, pos, &cs, &cn))
			return &p->ix.nodes[node];
		node = ix_child(&p->ix, node, path + cs, cn);
		if (node == 0)
			return NULL;
		pos = cs + cn;
	}
}

static bool test_match(const struct rule *r, const char *path, size_t len, bool *val)
{
	return rule_matches(r, path, len);
}

/* Decisive for policy_descend: an exclude covering DIR (*VAL false), or a rule that can select
 * something below it (*VAL true). */
static bool test_descend(const struct rule *r, const char *dir, size_t len, bool *val)
{
	*val = !(r->pub.flags & RULE_EXCLUDE);
	return *val ? rule_reaches_below(r, dir, len) : rule_matches(r, dir, len);
}

const struct policy_rule *policy_match(const struct policy *p, const char *path, size_t len)
{
	size_t best = SIZE_MAX;
	bool val;

	ix_walk(p, path, len, &best, test_match, &val);
	return best == SIZE_MAX ? NULL : &p->rules[best].pub;
}

/* Rules hanging strictly below DIR's node all name a component past DIR: none matches DIR, and
 * each non-exclude one can select something below it, so the last of them counts as decisive. */
bool policy_descend(const struct policy *p, const char *dir, size_t len)
{
	size_t best = SIZE_MAX;
	bool val = false;
	const struct ix_node *x = ix_walk(p, dir, len, &best, test_descend, &val);

	if (x && x->below && (best == SIZE_MAX || x->below - 1 > best))
		return true;
	return best != SIZE_MAX && val;
}
