/* SPDX-License-Identifier: ISC */
/* Policy statements: groups, settings, file and object rules, and each line of a source. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "fim/core/hash.h"

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
_Static_assert(ARRAY_SIZE(setting_defs) == POLICY_NSETTINGS, "struct policy's values");

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
	ng = policy_grow(ps->groups, &ps->groups_cap, ps->ngroups, sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	ps->groups = ng;
	copy = strndup(name, n);
	if (!copy)
		return -ENOMEM;
	ps->groups[ps->ngroups++] = (struct group){.name = copy, .set = set};
	return 0;
}

int policy_groups_init(struct parser *ps)
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
		if (a < 0 && !policy_lex_tok_is(&name, "ALL") && !policy_lex_tok_is(&name, "NONE"))
			return policy_lex_fail(l, t->pos, -EINVAL, "unknown %s attribute '%s'",
			                       kind_name(kind), QTOK(&name));
		bits = a >= 0 ? ATTR_BIT(a) : policy_lex_tok_is(&name, "ALL") ? attr_all(kind) : 0;
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
		return policy_lex_fail(l, t->pos, -EINVAL, "unknown attribute or group '%s'",
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

	if (!policy_lex_next_word(l, &name))
		return policy_lex_fail(l, l->pos, -EINVAL, "missing group name after 'define'");
	if (!valid_group_name(&name))
		return policy_lex_fail(l, name.pos, -EINVAL, "invalid group name '%s'",
		                       QTOK(&name));
	if (attr_lookup(KIND_FILE, name.s, name.len) >= 0)
		return policy_lex_fail(l, name.pos, -EINVAL,
		                       "'%s' is an attribute, not a group name", QTOK(&name));
	r = policy_lex_expect_equals(l, &name);
	for (bool first = true; r == 0 && policy_lex_next_word(l, &t); first = false)
		r = apply_attr_word(l, KIND_FILE, &t, &set, first);
	if (r < 0)
		return r;
	r = group_set(l->ps, name.s, name.len, set);
	if (r == -E2BIG)
		return policy_lex_fail(l, name.pos, r, "too many groups (more than %d)",
		                       POLICY_MAX_GROUPS);
	return r < 0 ? policy_lex_oom(l) : 0;
}

/* --- settings --- */

static int check_hash(const struct line *l, const struct tok *t, const char *value)
{
	if (hash_lookup(value) != HASH_NONE)
		return 0;
	return policy_lex_fail(l, t->pos, -EINVAL,
	                       "unknown hash algorithm '%s' (use sha256, sha512 or blake2b)",
	                       QTOK(t));
}

/* Paths in settings name files of the host fim runs on, not under --root. */
static int check_path(const struct line *l, const struct tok *t, const char *value)
{
	if (value[0] == '/')
		return 0;
	return policy_lex_fail(l, t->pos, -EINVAL, "'%s' is not an absolute path", QTOK(t));
}

/* Watcher settings (fim watch). */
static int check_yesno(const struct line *l, const struct tok *t, const char *value)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0)
		return 0;
	return policy_lex_fail(l, t->pos, -EINVAL, "'%s' is not yes or no", QTOK(t));
}

static int check_facility(const struct line *l, const struct tok *t, const char *value)
{
	static const char *const names[] = {"authpriv", "auth",   "daemon", "user",
	                                    "local0",   "local1", "local2", "local3",
	                                    "local4",   "local5", "local6", "local7"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(value, names[i]) == 0)
			return 0;
	return policy_lex_fail(
	        l, t->pos, -EINVAL,
	        "'%s' is not a syslog facility (authpriv, auth, daemon, user, local0 to "
	        "local7)",
	        QTOK(t));
}

static int check_backend(const struct line *l, const struct tok *t, const char *value)
{
	if (strcmp(value, "inotify") == 0 || strcmp(value, "fanotify") == 0)
		return 0;
	return policy_lex_fail(l, t->pos, -EINVAL,
	                       "'%s' is not a watch backend (inotify or fanotify)", QTOK(t));
}

static int check_seconds(const struct line *l, const struct tok *t, const char *value)
{
	char *end;
	long n = strtol(value, &end, 10);

	if (value[0] >= '0' && value[0] <= '9' && !*end && n >= 1 && n <= 604800)
		return 0;
	return policy_lex_fail(l, t->pos, -EINVAL,
	                       "'%s' is not a number of seconds from 1 to 604800", QTOK(t));
}

static int setting_index(const struct tok *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(setting_defs); i++)
		if (policy_lex_tok_is(key, setting_defs[i].key))
			return (int)i;
	return -ENOENT;
}

/* set KEY = VALUE */
static int parse_set(struct line *l)
{
	struct tok key, val;
	char *value;
	int i, r;

	if (!policy_lex_next_word(l, &key))
		return policy_lex_fail(l, l->pos, -EINVAL, "missing setting name after 'set'");
	i = setting_index(&key);
	if (i < 0)
		return policy_lex_fail(l, key.pos, -EINVAL, "unknown setting '%s'", QTOK(&key));
	r = policy_lex_expect_equals(l, &key);
	if (r < 0)
		return r;
	if (!policy_lex_next_word(l, &val))
		return policy_lex_fail(l, l->pos, -EINVAL, "missing value for '%s'",
		                       setting_defs[i].key);
	r = policy_lex_expect_end(l);
	if (r < 0)
		return r;
	value = strndup(val.s, val.len);
	if (!value)
		return policy_lex_oom(l);
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

void policy_rule_clear(struct rule *r)
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
				wild |= policy_lex_is_glob_char(pat[i]);
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
		if (policy_lex_tok_is(&v, severity_name(all[i]))) {
			*ret = all[i];
			return 0;
		}
	return policy_lex_fail(l, v.pos, -EINVAL,
	                       "unknown severity '%s' (use low, medium, high or critical)",
	                       QTOK(&v));
}

/* Reads what follows a pattern: attribute words, severity=, growing. */
static int parse_rule_words(struct line *l, bool exclude, struct rule_words *w)
{
	struct tok t;
	int r = 0;

	while (r == 0 && policy_lex_next_word(l, &t)) {
		if (policy_lex_has_prefix(&t, "severity=")) {
			if (exclude)
				return policy_lex_fail(l, t.pos, -EINVAL,
				                       "an exclude rule takes no severity");
			r = parse_severity(l, &t, &w->severity);
		} else if (policy_lex_tok_is(&t, "growing")) {
			if (exclude)
				return policy_lex_fail(
				        l, t.pos, -EINVAL,
				        "'growing' is not allowed on an exclude rule");
			w->growing = true;
		} else {
			if (exclude)
				return policy_lex_fail(l, t.pos, -EINVAL,
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
		return policy_lex_fail(l, 0, -E2BIG, "too many rules (more than %d)",
		                       POLICY_MAX_RULES);
	nr = policy_grow(p->rules, &p->rules_cap, p->nrules, sizeof(*nr));
	if (!nr)
		return policy_lex_oom(l);
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

	r = policy_lex_next_pattern(l, &t, "!=");
	if (r < 0)
		return r;
	body = policy_lex_pattern_body(&t, "!=");
	if (body.len == 0 || body.s[0] != '/')
		return policy_lex_fail(l, t.pos, -EINVAL, "pattern must be an absolute path");
	rule.pub.flags = t.s[0] == '!' ? RULE_EXCLUDE : t.s[0] == '=' ? RULE_THIS_ONLY : 0;
	r = pattern_compile(&rule, body.s, body.len, &why);
	if (r < 0) {
		policy_rule_clear(&rule);
		return policy_lex_fail(l, t.pos, r, "%s", why);
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
		policy_rule_clear(&rule);
	return r;
}

static int orule_push(struct line *l, struct orule *rule)
{
	struct policy *p = l->ps->p;
	struct orule *nr;

	if (p->nrules + p->norules >= POLICY_MAX_RULES)
		return policy_lex_fail(l, 0, -E2BIG, "too many rules (more than %d)",
		                       POLICY_MAX_RULES);
	nr = policy_grow(p->orules, &p->orules_cap, p->norules, sizeof(*nr));
	if (!nr)
		return policy_lex_oom(l);
	p->orules = nr;
	p->orules[p->norules++] = *rule;
	return 0;
}

/* True when the line continues with WORD (not consumed otherwise). */
static bool peek_prefix(struct line *l, const char *word)
{
	size_t n = strlen(word);

	while (l->pos < l->len && policy_lex_blank(l->s[l->pos]))
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
		r = policy_lex_next_pattern(l, &t, NULL);
		if (r < 0)
			return r;
		if (r == 0 || (body = policy_lex_pattern_body(&t, NULL)).len == 0)
			return policy_lex_fail(l, l->pos, -EINVAL,
			                       "missing name pattern after 'name='");
		rule.glob = strndup(body.s, body.len);
		r = 0;
	} else {
		rule.glob = strdup("*");
	}
	if (!rule.glob)
		return policy_lex_oom(l);
	while (r >= 0 && policy_lex_next_word(l, &t)) {
		if (policy_lex_has_prefix(&t, "severity=")) {
			r = exclude ? policy_lex_fail(l, t.pos, -EINVAL,
			                              "an exclude rule takes no severity")
			            : parse_severity(l, &t, &rule.pub.severity);
		} else if (policy_lex_has_prefix(&t, "name=")) {
			r = policy_lex_fail(l, t.pos, -EINVAL, "'name=' must come right after '%s'",
			                    kind_plural(kind));
		} else if (policy_lex_tok_is(&t, "growing")) {
			r = policy_lex_fail(l, t.pos, -EINVAL, "'growing' applies to files only");
		} else if (exclude) {
			r = policy_lex_fail(l, t.pos, -EINVAL,
			                    "an exclude rule takes no attributes");
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

static bool looks_like_pattern(const struct tok *t)
{
	for (size_t i = 0; i < t->len; i++)
		if (t->s[i] == '/' || policy_lex_is_glob_char(t->s[i]))
			return true;
	return false;
}

static int parse_line(struct line *l)
{
	const char *nul = memchr(l->s, '\0', l->len);
	struct tok t;
	char c;

	if (nul)
		return policy_lex_fail(l, (size_t)(nul - l->s), -EINVAL, "NUL byte in policy");
	if (policy_lex_at_end(l))
		return 0;
	c = l->s[l->pos];
	if (c == '!' && l->pos + 1 < l->len && !policy_lex_blank(l->s[l->pos + 1])) {
		struct line peek = *l;
		bool word;
		int kind;

		peek.pos++;
		word = policy_lex_next_word(&peek, &t); /* false for "!#...": t is not set then */
		if (word && policy_lex_tok_is(&t, "journal")) {
			*l = peek;
			return policy_parse_journal(l, true);
		}
		kind = word ? kind_lookup(t.s, t.len) : -ENOENT;
		if (kind > KIND_FILE) {
			*l = peek;
			return parse_obj_rule(l, kind, true);
		}
	}
	if (c == '/' || c == '!' || c == '=' || c == '"')
		return parse_rule(l);
	policy_lex_next_word(l, &t);
	{
		int kind = kind_lookup(t.s, t.len);

		if (kind > KIND_FILE)
			return parse_obj_rule(l, kind, false);
	}
	if (policy_lex_tok_is(&t, "journal"))
		return policy_parse_journal(l, false);
	if (policy_lex_tok_is(&t, "set"))
		return parse_set(l);
	if (policy_lex_tok_is(&t, "define"))
		return parse_define(l);
	if (policy_lex_tok_is(&t, "include"))
		return policy_parse_include(l);
	if (looks_like_pattern(&t))
		return policy_lex_fail(l, t.pos, -EINVAL, "pattern must be an absolute path");
	return policy_lex_fail(l, t.pos, -EINVAL, "unknown keyword '%s'", QTOK(&t));
}

/* Parses every line of source IDX; CRLF line ends are accepted. */
int policy_parse_source(struct parser *ps, size_t idx)
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

const char *policy_get(const struct policy *p, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(setting_defs); i++)
		if (strcmp(setting_defs[i].key, key) == 0)
			return p->values[i];
	return NULL;
}
