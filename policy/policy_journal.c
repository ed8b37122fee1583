/* SPDX-License-Identifier: ISC */
/* Journal rules of a policy: the built-ins, and the journal statement that adds or changes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "policy/policy_int.h"

/* --- journal rules --- */

#define JOURNAL_MAX_RULES  1024
#define JOURNAL_MAX_FIELDS 16
#define JOURNAL_MAX_NAME   64
#define JOURNAL_MAX_REGEX  4096
#define JOURNAL_MAX_VALUE  1024

const char *const policy_journal_builtins[] = {
        "accounts", "privilege", "privilege-failure", "services", "ssh-bruteforce", NULL,
};

void policy_jrule_clear(struct jrule *r)
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

int policy_jrules_init(struct policy *p)
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
		if (policy_lex_tok_is(name, p->jrules[i].name))
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
		return policy_lex_oom(l);
	while (l->pos < l->len && l->s[l->pos] != '"') {
		if (l->s[l->pos] == '\\' && l->pos + 1 < l->len)
			l->pos++;
		*o++ = l->s[l->pos++];
	}
	if (l->pos == l->len)
		return policy_lex_fail(l, open, -EINVAL, "unterminated quote");
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
		return policy_lex_fail(l, open, -EINVAL, "regular expression without closing '/'");
	w->vpos = start;
	w->vlen = l->pos - start;
	w->val = strndup(l->s + start, w->vlen);
	if (!w->val)
		return policy_lex_oom(l);
	for (l->pos++; l->pos < l->len && !policy_lex_blank(l->s[l->pos]) && l->s[l->pos] != '#';
	     l->pos++) {
		if (l->s[l->pos] != 'i')
			return policy_lex_fail(l, l->pos, -EINVAL,
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
	if (policy_lex_at_end(l))
		return 0;
	w->key.s = l->s + l->pos;
	w->key.pos = l->pos;
	while (l->pos < l->len && l->s[l->pos] != '=' && !policy_lex_blank(l->s[l->pos]) &&
	       l->s[l->pos] != '#')
		l->pos++;
	w->key.len = l->pos - w->key.pos;
	if (l->pos == l->len || l->s[l->pos] != '=' || w->key.len == 0) {
		l->pos = w->key.pos;
		policy_lex_next_word(l, &t);
		return policy_lex_fail(l, t.pos, -EINVAL,
		                       "expected FIELD=VALUE or a keyword=value, not '%s'",
		                       QTOK(&t));
	}
	l->pos++;
	w->vpos = l->pos;
	if (policy_lex_tok_is(&w->key, "message")) {
		if (l->pos == l->len || l->s[l->pos] != '/')
			return policy_lex_fail(l, l->pos, -EINVAL,
			                       "expected /REGEX/ after 'message='");
		r = jword_regex(l, w);
	} else if (l->pos < l->len && l->s[l->pos] == '"') {
		r = jword_quoted(l, w);
	} else {
		while (l->pos < l->len && !policy_lex_blank(l->s[l->pos]) && l->s[l->pos] != '#')
			l->pos++;
		w->vlen = l->pos - w->vpos;
		w->val = strndup(l->s + w->vpos, w->vlen);
		r = w->val ? 0 : policy_lex_oom(l);
	}
	if (r == 0 && l->pos < l->len && !policy_lex_blank(l->s[l->pos]) && l->s[l->pos] != '#')
		r = policy_lex_fail(l, l->pos, -EINVAL, "unexpected '%s' after the value",
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
			return policy_lex_fail(l, w->vpos, -EINVAL,
			                       "%s must be a number from 1 to %u", QTOK(&w->key),
			                       max);
		v = v * 10 + (unsigned)(w->val[i] - '0');
	}
	if (w->vlen == 0 || v == 0 || v > max)
		return policy_lex_fail(l, w->vpos, -EINVAL, "%s must be a number from 1 to %u",
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
		return policy_lex_fail(l, rpos + off, -EINVAL, "bad regular expression: %s",
		                       (char *)msg);
	}
	if (r->group_by && !valid_field_name(r->group_by, strlen(r->group_by)) &&
	    pcre2_substring_number_from_name(code, (PCRE2_SPTR)r->group_by) < 0) {
		pcre2_code_free(code);
		return policy_lex_fail(
		        l, gpos, -EINVAL,
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
		return policy_lex_fail(
		        l, w->key.pos, -EINVAL,
		        "unknown word '%s' (journal fields are upper case: FIELD=VALUE)",
		        QTOK(&w->key));
	if (r->pub.nfields >= JOURNAL_MAX_FIELDS)
		return policy_lex_fail(l, w->key.pos, -EINVAL, "more than %d fields in one rule",
		                       JOURNAL_MAX_FIELDS);
	if (w->vlen > JOURNAL_MAX_VALUE || memchr(w->val, '\0', w->vlen))
		return policy_lex_fail(l, w->vpos, -EINVAL,
		                       "field value too long or with a NUL byte");
	nf = reallocarray(r->fields, r->pub.nfields + 1, sizeof(*nf));
	if (!nf)
		return policy_lex_oom(l);
	r->fields = nf;
	nf[r->pub.nfields].name = strndup(w->key.s, w->key.len);
	nf[r->pub.nfields].value = TAKE_PTR(w->val);
	if (!nf[r->pub.nfields].name) {
		free((char *)nf[r->pub.nfields].value);
		return policy_lex_oom(l);
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
	bool tunable = policy_lex_tok_is(&w->key, "threshold") ||
	               policy_lex_tok_is(&w->key, "window") ||
	               policy_lex_tok_is(&w->key, "severity");

	if (builtin && !tunable)
		return policy_lex_fail(
		        l, w->key.pos, -EINVAL,
		        "'%s=' cannot change the built-in journal rule '%s' (only %s)",
		        QTOK(&w->key), r->name, tune);
	if (policy_lex_tok_is(&w->key, "threshold"))
		return jword_number(l, w, POLICY_JOURNAL_MAX_THRESHOLD, &r->pub.threshold);
	if (policy_lex_tok_is(&w->key, "window"))
		return jword_number(l, w, POLICY_JOURNAL_MAX_WINDOW, &r->pub.window);
	if (policy_lex_tok_is(&w->key, "severity")) {
		for (int s = SEV_LOW; s <= SEV_CRITICAL; s++)
			if (strcmp(w->val, severity_name((enum severity)s)) == 0) {
				r->pub.severity = s;
				return 0;
			}
		return policy_lex_fail(l, w->vpos, -EINVAL,
		                       "unknown severity '%s' (use low, medium, high or critical)",
		                       QUOTE(w->val, w->vlen));
	}
	if (policy_lex_tok_is(&w->key, "message")) {
		if (r->message)
			return policy_lex_fail(l, w->key.pos, -EINVAL, "message= given twice");
		if (w->vlen == 0 || w->vlen > JOURNAL_MAX_REGEX)
			return policy_lex_fail(l, w->vpos, -EINVAL,
			                       "a regular expression needs 1 to %d bytes",
			                       JOURNAL_MAX_REGEX);
		r->message = TAKE_PTR(w->val);
		r->pub.caseless = w->caseless;
		*rpos = w->vpos;
		return 0;
	}
	if (policy_lex_tok_is(&w->key, "group_by")) {
		if (w->vlen == 0 || w->vlen > JOURNAL_MAX_NAME || memchr(w->val, '\0', w->vlen))
			return policy_lex_fail(l, w->vpos, -EINVAL,
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
		return policy_lex_fail(l, 0, -E2BIG, "too many journal rules (more than %d)",
		                       JOURNAL_MAX_RULES);
	nr = policy_grow(p->jrules, &p->jrules_cap, p->njrules, sizeof(*nr));
	if (!nr)
		return policy_lex_oom(l);
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

/* !journal NAME: switches rule OLD (named NAME) off. */
static int jrule_disable(struct line *l, struct jrule *old, const struct tok *name)
{
	int r;

	if (!old)
		return policy_lex_fail(l, name->pos, -EINVAL, "no journal rule '%s' to switch off",
		                       QTOK(name));
	r = policy_lex_expect_end(l);
	if (r == 0) {
		old->pub.flags |= JRULE_DISABLED;
		old->pub.file = l->src->name;
		old->pub.line = l->no;
	}
	return r;
}

/* journal NAME WORD... on built-in rule OLD: the words apply on top of earlier tuning, and are
 * validated on a copy. */
static int jrule_tune(struct line *l, struct jrule *old)
{
	struct jrule t = *old;
	size_t rpos = 0, gpos = 0;
	struct jword w;
	int r;

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

/* Reads the words of rule NR (named NAME) and checks it is whole. */
static int jrule_read(struct line *l, struct jrule *nr, const struct tok *name)
{
	size_t rpos = 0, gpos = 0;
	struct jword w;
	int r;

	while ((r = jword_next(l, &w)) > 0) {
		r = jrule_word(l, nr, &w, false, &rpos, &gpos);
		free(w.val);
		if (r < 0)
			return r;
	}
	if (r == 0 && nr->pub.nfields == 0 && !nr->message)
		r = policy_lex_fail(
		        l, name->pos, -EINVAL,
		        "journal rule '%s' matches nothing: give FIELD=VALUE or message=",
		        QTOK(name));
	if (r == 0 && nr->group_by && !nr->message &&
	    !valid_field_name(nr->group_by, strlen(nr->group_by)))
		r = policy_lex_fail(
		        l, gpos, -EINVAL,
		        "group_by '%s' is neither a FIELD name nor a capture of message=",
		        QUOTE(nr->group_by, strlen(nr->group_by)));
	if (r == 0 && nr->message)
		r = jrule_check_regex(l, nr, rpos, gpos);
	if (r == 0 && !(nr->name = strndup(name->s, name->len)))
		r = policy_lex_oom(l);
	return r;
}

/* journal NAME WORD...: a new rule, or one that replaces rule OLD of the policy in its place. */
static int jrule_define(struct line *l, struct jrule *old, const struct tok *name)
{
	struct jrule nr = {.pub = {.severity = -1}};
	int r = jrule_read(l, &nr, name);

	if (r == 0) {
		jrule_publish(&nr, l);
		if (old) {
			policy_jrule_clear(old);
			free(old->name);
			*old = nr;
			return 0;
		}
		r = jrule_push(l, &nr);
	}
	if (r < 0) {
		policy_jrule_clear(&nr);
		free(nr.name);
	}
	return r;
}

/* [!]journal NAME [FIELD=VALUE...] [message=/RE/] [threshold=N] [window=S] [group_by=X]
 * [severity=L]; the keyword has been read. */
int policy_parse_journal(struct line *l, bool disable)
{
	struct jrule *old;
	struct tok name;

	if (!policy_lex_next_word(l, &name))
		return policy_lex_fail(l, l->pos, -EINVAL, "missing rule name after 'journal'");
	if (!valid_jrule_name(&name))
		return policy_lex_fail(
		        l, name.pos, -EINVAL,
		        "invalid journal rule name '%s' (letters, digits, '_', '.', '-')",
		        QTOK(&name));
	/* the name of the watcher's notices about forged senders */
	if (policy_lex_tok_is(&name, "unverified-sender"))
		return policy_lex_fail(l, name.pos, -EINVAL, "journal rule name '%s' is reserved",
		                       QTOK(&name));
	old = jrule_find(l->ps->p, &name);
	if (disable)
		return jrule_disable(l, old, &name);
	if (old && (old->pub.flags & JRULE_BUILTIN))
		return jrule_tune(l, old);
	return jrule_define(l, old, &name);
}

size_t policy_journal_rule_count(const struct policy *p)
{
	return p->njrules;
}

const struct policy_journal_rule *policy_journal_rule_at(const struct policy *p, size_t i)
{
	return i < p->njrules ? &p->jrules[i].pub : NULL;
}
