/* SPDX-License-Identifier: ISC */
/* The policy language's lexer: words, quoted patterns, and the errors that point into a line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

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
int __attribute__((format(printf, 4, 5)))
policy_parser_fail(struct parser *ps, const char *file, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(ps->err, file, 0, 0, fmt, ap);
	va_end(ap);
	return r;
}

/* Records an error at byte offset POS of line L and returns R. */
int __attribute__((format(printf, 4, 5)))
policy_lex_fail(const struct line *l, size_t pos, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(l->ps->err, l->src->name, l->no, pos + 1, fmt, ap);
	va_end(ap);
	return r;
}

/* Printable form of S[0..n) for a message: bytes outside printable ASCII become \xHH (so a
 * hostile policy cannot send escape sequences to a terminal), long tokens are cut. */
const char *policy_lex_quote(char buf[static QUOTE_MAX * 4 + 4], const char *s, size_t n)
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

int policy_lex_oom(const struct line *l)
{
	return policy_lex_fail(l, l->pos, -ENOMEM, "out of memory");
}

/* --- small helpers --- */

/* ARR (N used of *CAP elements of SIZE) with room for one more: the same or a new array, or
 * NULL when out of memory (ARR is then untouched). */
void *policy_grow(void *arr, size_t *cap, size_t n, size_t size)
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

bool policy_lex_tok_is(const struct tok *t, const char *word)
{
	return strlen(word) == t->len && memcmp(t->s, word, t->len) == 0;
}

bool policy_lex_has_prefix(const struct tok *t, const char *prefix)
{
	size_t n = strlen(prefix);

	return t->len >= n && memcmp(t->s, prefix, n) == 0;
}

bool policy_lex_is_glob_char(char c)
{
	return c == '*' || c == '?' || c == '[';
}

/* True when S has an unescaped wildcard. */
bool policy_lex_has_glob(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (policy_lex_is_glob_char(s[i]))
			return true;
	}
	return false;
}

/* --- lexer --- */

bool policy_lex_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Skips blanks; true at the end of the statement (end of line or a comment). */
bool policy_lex_at_end(struct line *l)
{
	while (l->pos < l->len && policy_lex_blank(l->s[l->pos]))
		l->pos++;
	return l->pos == l->len || l->s[l->pos] == '#';
}

/* Next word: blank-separated, ended by '#'. Returns false at the end of the statement. */
bool policy_lex_next_word(struct line *l, struct tok *t)
{
	if (policy_lex_at_end(l))
		return false;
	t->pos = l->pos;
	while (l->pos < l->len && !policy_lex_blank(l->s[l->pos]) && l->s[l->pos] != '#')
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
		if (l->pos < l->len && !policy_lex_blank(l->s[l->pos]))
			return policy_lex_fail(l, l->pos, -EINVAL,
			                       "unexpected '%s' after closing quote",
			                       QUOTE(l->s + l->pos, 1));
		return 0;
	}
	return policy_lex_fail(l, open, -EINVAL, "unterminated quote");
}

static int skip_unquoted(struct line *l)
{
	while (l->pos < l->len && !policy_lex_blank(l->s[l->pos])) {
		if (l->s[l->pos] != '\\') {
			l->pos++;
			continue;
		}
		if (l->pos + 1 == l->len)
			return policy_lex_fail(l, l->pos, -EINVAL, "backslash at end of line");
		l->pos += 2;
	}
	return 0;
}

/* Next pattern-like token: '#' inside it is not a comment, a backslash escapes the next byte, and
 * after one optional byte of PREFIXES it may be double-quoted to contain blanks. Returns 1, 0 at
 * the end of the statement, or a negative errno. */
int policy_lex_next_pattern(struct line *l, struct tok *t, const char *prefixes)
{
	int r;

	if (policy_lex_at_end(l))
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
struct tok policy_lex_pattern_body(const struct tok *t, const char *prefixes)
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

int policy_lex_expect_end(struct line *l)
{
	struct tok t;

	if (policy_lex_next_word(l, &t))
		return policy_lex_fail(l, t.pos, -EINVAL, "unexpected '%s'", QTOK(&t));
	return 0;
}

int policy_lex_expect_equals(struct line *l, const struct tok *name)
{
	struct tok t;

	if (!policy_lex_next_word(l, &t))
		return policy_lex_fail(l, l->pos, -EINVAL, "expected '=' after '%s'", QTOK(name));
	if (!policy_lex_tok_is(&t, "="))
		return policy_lex_fail(l, t.pos, -EINVAL, "expected '=' after '%s'", QTOK(name));
	return 0;
}
