/* SPDX-License-Identifier: ISC */
/* The sudoers(5) grammar: one file's text into the objects of the collection. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baseline/sudoers.h"
#include "baseline/sudoers_int.h"

/* --- the lexer: one logical line at a time over the file's bytes --- */

#define EOL (-1)

struct lx {
	const char *p;
	size_t len, pos;
	unsigned line; /* physical line of pos, from 1 */
	size_t used;   /* bytes taken by the current logical line */
	bool vspace;   /* a line continuation outside a string stands for a blank */
	bool instr;    /* inside "...": no comments; a continuation eats leading blanks */
	bool raw;      /* '#' is an ordinary character (include paths) */
	bool toolong;
};

static bool is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* Bytes sudo accepts nowhere outside a comment: NUL, and CR not ending a line. */
static bool is_bad(int c)
{
	return c == '\0' || c == '\r';
}

static void lx_count(struct lx *lx, size_t n)
{
	lx->used += n;
	if (lx->used > SUDOERS_MAX_LINE)
		lx->toolong = true;
}

/* A backslash at AT followed by blanks and a line break (or the end of
 * the text): true with the position after it in *next. */
static bool lx_continues(const struct lx *lx, size_t at, size_t *next, bool *nl)
{
	size_t q = at + 1;

	while (q < lx->len && is_blank(lx->p[q]))
		q++;
	if (q >= lx->len) {
		*next = lx->len;
		*nl = false;
		return true;
	}
	if (lx->p[q] == '\r' && q + 1 < lx->len && lx->p[q + 1] == '\n')
		q++;
	if (lx->p[q] != '\n')
		return false;
	*next = q + 1;
	*nl = true;
	return true;
}

/* '#' at AT starts a comment unless a (possibly negative) number follows: a uid. */
static bool lx_comment_at(const struct lx *lx, size_t at)
{
	const char *p = lx->p;

	if (at + 1 < lx->len && isdigit((unsigned char)p[at + 1]))
		return false;
	if (at + 2 < lx->len && p[at + 1] == '-' && isdigit((unsigned char)p[at + 2]))
		return false;
	return true;
}

/* The current character, or EOL at the end of the logical line (line
 * break, comment, end of text, or the line grew too long). */
static int lx_cur(struct lx *lx)
{
	for (;;) {
		size_t next;
		bool nl;
		int c;

		if (lx->toolong)
			return EOL;
		if (lx->vspace)
			return ' ';
		if (lx->pos >= lx->len)
			return EOL;
		c = (unsigned char)lx->p[lx->pos];
		if (c == '\n')
			return EOL;
		if (c == '\r' && lx->pos + 1 < lx->len && lx->p[lx->pos + 1] == '\n')
			return EOL;
		if (c == '#' && !lx->instr && !lx->raw && lx_comment_at(lx, lx->pos))
			return EOL;
		if (c != '\\' || !lx_continues(lx, lx->pos, &next, &nl))
			return c;
		lx_count(lx, next - lx->pos);
		lx->pos = next;
		lx->line += nl;
		if (lx->instr) {
			while (lx->pos < lx->len && is_blank(lx->p[lx->pos])) {
				lx->pos++;
				lx_count(lx, 1);
			}
		} else {
			lx->vspace = true;
		}
	}
}

/* Takes the current character (lx_cur did not return EOL). */
static void lx_next(struct lx *lx)
{
	if (lx->vspace) {
		lx->vspace = false;
		return;
	}
	lx->pos++;
	lx_count(lx, 1);
}

/* Skips to the start of the next logical line. */
static void lx_finish(struct lx *lx)
{
	lx->vspace = false;
	while (lx->pos < lx->len) {
		char c = lx->p[lx->pos];
		size_t next;
		bool nl;

		if (c == '\n') {
			lx->pos++;
			lx->line++;
			return;
		}
		if (c == '\\' && lx_continues(lx, lx->pos, &next, &nl)) {
			lx->pos = next;
			lx->line += nl;
		} else if (c == '\\') {
			lx->pos += 2;
		} else if (c == '#' && !lx->instr && lx_comment_at(lx, lx->pos)) {
			const char *e = memchr(lx->p + lx->pos, '\n', lx->len - lx->pos);

			lx->pos = e ? (size_t)(e - lx->p) : lx->len;
		} else {
			lx->pos++;
		}
	}
}

/* --- the parser --- */

/* One entry of the line being parsed; committed when the whole line parsed. */
struct pend {
	size_t id, idn, el, eln;
	unsigned attr;
};

struct span {
	size_t off, n;
};

struct parser {
	struct sudoers *s;
	const struct collect_ctx *ctx;
	const char *path;
	uint32_t gen;
	sudoers_include_fn include;
	void *userdata;
	struct lx lx;
	unsigned line; /* first physical line of the logical line */
	int fatal;     /* -ENOMEM or the include callback's error */
	bool failed;
	char err[200];
	struct buf text;   /* ids and elements of the pending entries */
	struct pend *pend; /* entries of this line */
	size_t npend, cappend;
	struct span *ids; /* users of a user specification, in text */
	size_t nids, capids;
	struct buf el, tmp; /* scratch */
};

static bool fail(struct parser *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct parser *P, const char *fmt, ...)
{
	va_list ap;

	if (!P->failed) {
		va_start(ap, fmt);
		vsnprintf(P->err, sizeof(P->err), fmt, ap);
		va_end(ap);
		P->failed = true;
	}
	return false;
}

static bool oom(struct parser *P)
{
	P->fatal = -ENOMEM;
	return fail(P, "out of memory");
}

static bool put(struct parser *P, struct buf *b, const void *s, size_t n)
{
	return buf_append(b, s, n) == 0 || oom(P);
}

static bool put_str(struct parser *P, struct buf *b, const char *s)
{
	return put(P, b, s, strlen(s));
}

static bool put_ch(struct parser *P, struct buf *b, int c)
{
	char ch = (char)c;

	return put(P, b, &ch, 1);
}

static int cur(struct parser *P)
{
	return lx_cur(&P->lx);
}

static void take(struct parser *P)
{
	lx_next(&P->lx);
}

/* Takes N plain characters seen by a raw look-ahead. */
static void take_n(struct parser *P, size_t n)
{
	while (n--)
		lx_next(&P->lx);
}

static bool skip_blanks(struct parser *P)
{
	bool any = false;

	while (is_blank(cur(P))) {
		take(P);
		any = true;
	}
	return any;
}

/* Says what was found where something else was expected. */
static bool unexpected(struct parser *P, const char *expected)
{
	int c = cur(P);

	if (c == EOL)
		return fail(P, "unexpected end of line, expected %s", expected);
	if (c == 0)
		return fail(P, "NUL byte where %s was expected", expected);
	if (c < 0x20 || c >= 0x7f)
		return fail(P, "unexpected byte 0x%02x, expected %s", (unsigned)c, expected);
	return fail(P, "unexpected '%c', expected %s", c, expected);
}

/* Copies the backslash at the current position and the byte it escapes. */
static bool escape(struct parser *P, struct buf *b)
{
	struct lx *lx = &P->lx;
	char pair[2] = {'\\', lx->p[lx->pos + 1]};

	/* lx_cur saw no continuation, so a byte other than '\n' follows */
	if (is_bad(pair[1]))
		return fail(P, "%s in the line", pair[1] ? "carriage return" : "NUL byte");
	lx->pos += 2;
	lx_count(lx, 2);
	return put(P, b, pair, 2);
}

/* "..." copied as written; continuation lines inside are joined. */
static bool read_quoted(struct parser *P, struct buf *b)
{
	size_t start = b->n;
	bool ok = true;

	if (!put_ch(P, b, '"'))
		return false;
	take(P);
	P->lx.instr = true;
	for (;;) {
		int c = cur(P);

		if (c == EOL || is_bad(c)) {
			ok = c == EOL ? fail(P, "unbalanced quotes") : unexpected(P, "'\"'");
			break;
		}
		if (c == '\\') {
			if (!(ok = escape(P, b)))
				break;
			continue;
		}
		if (!(ok = put_ch(P, b, c)))
			break;
		take(P);
		if (c == '"')
			break;
	}
	P->lx.instr = false;
	if (ok && b->n - start == 2)
		return fail(P, "empty quoted string");
	return ok;
}

/* A word: bytes up to a blank, the end of the line, NUL or one of STOPS;
 * escapes kept as written; with QUOTES a "string" may start it. */
static bool read_word(struct parser *P, struct buf *b, const char *stops, bool quotes)
{
	size_t start = b->n;

	for (;;) {
		int c = cur(P);

		if (c == EOL || is_bad(c) || is_blank(c) || strchr(stops, c))
			return true;
		if (c == '\\') {
			if (!escape(P, b))
				return false;
		} else if (c == '"' && quotes && b->n == start) {
			if (!read_quoted(P, b))
				return false;
		} else {
			if (!put_ch(P, b, c))
				return false;
			take(P);
		}
	}
}

/* Leading '!'s, kept, without the blanks between them. */
static bool read_bangs(struct parser *P, struct buf *b)
{
	while (cur(P) == '!') {
		if (!put_ch(P, b, '!'))
			return false;
		take(P);
		skip_blanks(P);
	}
	return true;
}

typedef bool (*item_fn)(struct parser *P, struct buf *out);

/* A user, group (%g, %:g, %#gid), netgroup (+n), uid (#0), alias or ALL. */
static bool user_item(struct parser *P, struct buf *out)
{
	size_t name;

	if (!read_bangs(P, out))
		return false;
	name = out->n;
	if (cur(P) == '%') {
		if (!put_ch(P, out, '%'))
			return false;
		take(P);
		if (cur(P) == ':') {
			if (!put_ch(P, out, ':'))
				return false;
			take(P);
		}
	}
	if (!read_word(P, out, ",:=()", true))
		return false;
	if (out->n == name)
		return unexpected(P, "a user name");
	if ((out->n - name == 1 && (out->p[name] == '%' || out->p[name] == '+')) ||
	    (out->n - name == 2 && memcmp(out->p + name, "%:", 2) == 0))
		return fail(P, "empty group or netgroup name");
	return true;
}

static bool is_ipv6_char(char c)
{
	return isxdigit((unsigned char)c) || c == ':' || c == '.';
}

/* Length of an IPv6 address (with an optional /mask) at the current
 * position, 0 if there is none: its colons are not separators. */
static size_t ipv6_at(struct parser *P)
{
	const struct lx *lx = &P->lx;
	size_t q = lx->pos, colons = 0;

	if (lx->vspace)
		return 0;
	for (; q < lx->len && is_ipv6_char(lx->p[q]); q++)
		colons += lx->p[q] == ':';
	if (q < lx->len && lx->p[q] == '/')
		for (q++; q < lx->len && is_ipv6_char(lx->p[q]); q++)
			;
	if (colons < 2 || (q < lx->len && !strchr(" \t,=)\r\n", lx->p[q])))
		return 0;
	return q - lx->pos;
}

/* A host name, address, network, netgroup, alias or ALL. */
static bool host_item(struct parser *P, struct buf *out)
{
	size_t name, n;

	if (!read_bangs(P, out))
		return false;
	name = out->n;
	n = ipv6_at(P);
	if (n) {
		if (!put(P, out, P->lx.p + P->lx.pos, n))
			return false;
		take_n(P, n);
		return true;
	}
	if (!read_word(P, out, ",:=()", true))
		return false;
	return out->n > name || unexpected(P, "a host name");
}

/* A command in a Defaults! binding: a path, regex, sudoedit or alias, no arguments. */
static bool defcmnd_item(struct parser *P, struct buf *out)
{
	size_t name;

	if (!read_bangs(P, out))
		return false;
	name = out->n;
	if (!read_word(P, out, ",:=", false))
		return false;
	return out->n > name || unexpected(P, "a command");
}

/* ITEM (',' ITEM)*: items joined by SEP in OUT; with SPANS where each one is. */
static bool read_list(struct parser *P, item_fn item, struct buf *out, const char *sep, bool spans)
{
	for (;;) {
		size_t at;

		skip_blanks(P);
		at = out->n;
		if (!item(P, out))
			return false;
		if (spans) {
			if (P->nids == P->capids) {
				size_t cap = P->capids ? P->capids * 2 : 16;
				struct span *ns = realloc(P->ids, cap * sizeof(*ns));

				if (!ns)
					return oom(P);
				P->ids = ns;
				P->capids = cap;
			}
			P->ids[P->nids++] = (struct span){at, out->n - at};
		}
		skip_blanks(P);
		if (cur(P) != ',')
			return true;
		take(P);
		if (!put_str(P, out, sep))
			return false;
	}
}

static const char *const tags[] = {
        "NOPASSWD",  "PASSWD",      "NOEXEC",     "EXEC",         "SETENV", "NOSETENV",
        "LOG_INPUT", "NOLOG_INPUT", "LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL",   "NOMAIL",
        "FOLLOW",    "NOFOLLOW",    "INTERCEPT",  "NOINTERCEPT",
};

static const char *const options[] = {
        "CWD",       "CHROOT",   "ROLE",  "TYPE",       "TIMEOUT",
        "NOTBEFORE", "NOTAFTER", "PRIVS", "LIMITPRIVS", "APPARMOR_PROFILE",
};

static bool in_table(const char *const *t, size_t n, const char *w, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i]) == len && memcmp(t[i], w, len) == 0)
			return true;
	return false;
}

/*
 * Raw look-ahead for NAME[blanks]SEP at the current position, NAME made of
 * CLASS characters: returns the length of NAME and sets *total to the
 * bytes up to and including SEP, or 0.
 */
static size_t lookahead(struct parser *P, int (*class)(int), char sep, size_t *total)
{
	const struct lx *lx = &P->lx;
	size_t q = lx->pos, n;

	if (lx->vspace || lx->toolong)
		return 0;
	while (q < lx->len && class((unsigned char)lx->p[q]))
		q++;
	n = q - lx->pos;
	while (q < lx->len && is_blank(lx->p[q]))
		q++;
	if (n == 0 || q >= lx->len || lx->p[q] != sep)
		return 0;
	*total = q + 1 - lx->pos;
	return n;
}

static int is_upper_(int c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_alnum(int c)
{
	return isalnum(c);
}

static bool is_alias_name(const uint8_t *w, size_t n)
{
	if (n == 0 || !(w[0] >= 'A' && w[0] <= 'Z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((w[i] >= 'A' && w[i] <= 'Z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_'))
			return false;
	return !(n == 3 && memcmp(w, "ALL", 3) == 0);
}

/* Digest length in bytes of a "shaNNN" name, 0 if it is none. */
static size_t digest_bytes(const char *w, size_t n)
{
	static const struct {
		const char *name;
		size_t bytes;
	} algs[] = {{"sha224", 28}, {"sha256", 32}, {"sha384", 48}, {"sha512", 64}};

	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (n == 6 && memcmp(w, algs[i].name, 6) == 0)
			return algs[i].bytes;
	return 0;
}

static bool digest_ok(const uint8_t *d, size_t n, size_t bytes)
{
	bool hex = true;

	for (size_t i = 0; i < n; i++)
		hex = hex && isxdigit(d[i]);
	if (hex && n == 2 * bytes)
		return true;
	if (n && d[n - 1] == '=')
		return n == 4 * ((bytes + 2) / 3);
	return n == (4 * bytes + 2) / 3;
}

static int is_digest_char(int c)
{
	return isalnum(c) || c == '+' || c == '/' || c == '=';
}

/* Digest_Spec: "sha256 : hex" as "sha256:hex"; false without error when there is none. */
static bool read_digest(struct parser *P, struct buf *out, bool *found)
{
	size_t total, n = lookahead(P, is_alnum, ':', &total), bytes, at;
	char alg[7];

	*found = false;
	bytes = n ? digest_bytes(P->lx.p + P->lx.pos, n) : 0;
	if (!bytes)
		return true;
	memcpy(alg, P->lx.p + P->lx.pos, 6);
	alg[6] = '\0';
	if (!put_str(P, out, alg) || !put_ch(P, out, ':'))
		return false;
	take_n(P, total);
	skip_blanks(P);
	at = out->n;
	while (is_digest_char(cur(P))) {
		if (!put_ch(P, out, cur(P)))
			return false;
		take(P);
	}
	if (!digest_ok(out->p + at, out->n - at, bytes))
		return fail(P, "bad %s digest", alg);
	*found = true;
	return true;
}

/* A regular expression ^...$ as written, blank runs collapsed. */
static bool read_regex(struct parser *P, struct buf *out)
{
	for (;;) {
		int c = cur(P);

		if (c == EOL)
			return fail(P, "unterminated regular expression");
		if (is_bad(c))
			return unexpected(P, "'$' ending the regular expression");
		if (c == '\\') {
			if (!escape(P, out))
				return false;
			continue;
		}
		if (is_blank(c)) {
			skip_blanks(P);
			c = ' ';
		} else {
			take(P);
		}
		if (!put_ch(P, out, c))
			return false;
		if (c == '$')
			return true;
	}
}

/* Arguments after a command, each after one blank, up to ',', ':' or the end. */
static bool read_args(struct parser *P, struct buf *out)
{
	bool first = true;

	for (;;) {
		int c;

		skip_blanks(P);
		c = cur(P);
		if (c == EOL || c == ',' || c == ':')
			return true;
		if (c == '=')
			return fail(P, "unescaped '=' in a command");
		if (is_bad(c))
			return unexpected(P, "an argument");
		if (!put_ch(P, out, ' '))
			return false;
		if (first && c == '^') {
			if (!read_regex(P, out))
				return false;
		} else if (!read_word(P, out, ",:=", false)) {
			return false;
		}
		first = false;
	}
}

/* (runas): a Runas_List of users, then optionally ':' and one of groups; at '('. */
static bool read_runas(struct parser *P, struct buf *out)
{
	if (!put_ch(P, out, '('))
		return false;
	take(P);
	skip_blanks(P);
	if (cur(P) != ':' && cur(P) != ')' && !read_list(P, user_item, out, ", ", false))
		return false;
	skip_blanks(P);
	if (cur(P) == ':') {
		if (!put_ch(P, out, ':'))
			return false;
		take(P);
		skip_blanks(P);
		if (cur(P) != ')' && !read_list(P, user_item, out, ", ", false))
			return false;
	}
	skip_blanks(P);
	if (cur(P) != ')')
		return fail(P, "unbalanced parentheses in the runas list");
	take(P);
	return put_str(P, out, ") ");
}

/* Any TAG: and OPTION=value words, in any order. */
static bool read_tags(struct parser *P, struct buf *out)
{
	size_t at, total, n;

	for (;;) {
		const char *w;

		skip_blanks(P);
		w = P->lx.p + P->lx.pos;
		if ((n = lookahead(P, is_upper_, ':', &total)) &&
		    in_table(tags, ARRAY_SIZE(tags), w, n)) {
			if (!put(P, out, w, n) || !put_str(P, out, ": "))
				return false;
			take_n(P, total);
		} else if ((n = lookahead(P, is_upper_, '=', &total)) &&
		           in_table(options, ARRAY_SIZE(options), w, n)) {
			if (!put(P, out, w, n) || !put_ch(P, out, '='))
				return false;
			take_n(P, total);
			skip_blanks(P);
			at = out->n;
			if (!read_word(P, out, ",:=()", false))
				return false;
			if (out->n == at)
				return unexpected(P, "an option value");
			if (!put_ch(P, out, ' '))
				return false;
		} else {
			return true;
		}
	}
}

/* A Digest_List: digests separated by ',' (a ',' not followed by a digest ends the list). */
static bool read_digests(struct parser *P, struct buf *out)
{
	bool found;

	for (;;) {
		size_t q;

		if (!read_digest(P, out, &found))
			return false;
		if (!found)
			return true;
		skip_blanks(P);
		/* a ',' followed by another digest continues a Digest_List */
		for (q = P->lx.pos + 1; q < P->lx.len && is_blank(P->lx.p[q]); q++)
			;
		if (cur(P) == ',' && !P->lx.vspace && q + 6 < P->lx.len &&
		    digest_bytes(P->lx.p + q, 6)) {
			take(P);
			skip_blanks(P);
			if (!put_str(P, out, ", "))
				return false;
			continue;
		}
		return put_ch(P, out, ' ');
	}
}

/* [!...]command: a full path (or a directory) with arguments, a regex, sudoedit, ALL, list or
 * an alias. */
static bool read_command(struct parser *P, struct buf *out)
{
	size_t at, n;
	int c;

	if (!read_bangs(P, out))
		return false;
	c = cur(P);
	at = out->n;
	if (c == '/' || c == '^') {
		if (c == '^' ? !read_regex(P, out) : !read_word(P, out, ",:=", false))
			return false;
		/* a directory ("/usr/bin/") matches any command in it and takes no arguments */
		if (out->p[out->n - 1] == '/')
			return true;
		return read_args(P, out);
	}
	if (!read_word(P, out, ",:=()", false))
		return false;
	n = out->n - at;
	if (n == 0)
		return unexpected(P, "a command");
	if (n == 8 && memcmp(out->p + at, "sudoedit", 8) == 0)
		return read_args(P, out);
	if ((n == 3 && memcmp(out->p + at, "ALL", 3) == 0) ||
	    (n == 4 && memcmp(out->p + at, "list", 4) == 0) || is_alias_name(out->p + at, n))
		return true;
	return fail(P, "a command must be a full path, sudoedit, ALL or an alias");
}

/*
 * Cmnd_Spec: [(runas)] [OPTION=value...] [TAG:...] [digests] [!...]command
 * (with SPECS; a Cmnd_Alias member has only the part from the digests on).
 */
static bool cmnd_spec(struct parser *P, struct buf *out, bool specs)
{
	skip_blanks(P);
	if (specs && cur(P) == '(' && !read_runas(P, out))
		return false;
	if (specs && !read_tags(P, out))
		return false;
	skip_blanks(P);
	return read_digests(P, out) && read_command(P, out);
}

static bool cmnd_member(struct parser *P, struct buf *out)
{
	return cmnd_spec(P, out, false);
}

/* Queues (ID, ATTR, EL) for the commit of the line. */
static bool pend_add(struct parser *P, struct span id, unsigned attr, struct span el)
{
	if (el.n > OBJ_MAX_ELEMENT)
		return fail(P, "entry longer than %u bytes", OBJ_MAX_ELEMENT);
	if (P->npend >= SUDOERS_MAX_PER_LINE)
		return fail(P, "more than %u entries on one line", SUDOERS_MAX_PER_LINE);
	if (P->npend == P->cappend) {
		size_t cap = P->cappend ? P->cappend * 2 : 16;
		struct pend *np = realloc(P->pend, cap * sizeof(*np));

		if (!np)
			return oom(P);
		P->pend = np;
		P->cappend = cap;
	}
	P->pend[P->npend++] = (struct pend){id.off, id.n, el.off, el.n, attr};
	return true;
}

/* Copies B into the pending text; its span there in *ret. */
static bool stash(struct parser *P, const struct buf *b, size_t off, size_t n, struct span *ret)
{
	ret->off = P->text.n;
	ret->n = n;
	return put(P, &P->text, b->p + off, n);
}

static bool check_id(struct parser *P, size_t n)
{
	return n <= OBJ_MAX_ID || fail(P, "name longer than %u bytes", OBJ_MAX_ID);
}

/* A user name that would read as another kind of entry. */
static bool reserved_user(const uint8_t *w, size_t n)
{
	static const char *const kw[] = {"User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias",
	                                 "Cmd_Alias",  "@include",    "@includedir"};

	if (n >= 8 && memcmp(w, "Defaults", 8) == 0 && (n == 8 || strchr(":@>!", w[8])))
		return true;
	return in_table(kw, ARRAY_SIZE(kw), (const char *)w, n);
}

/* Defaults[:@>!BINDING] setting, setting... */
static bool parse_defaults(struct parser *P)
{
	struct span id, el;
	int c;

	P->tmp.n = 0;
	if (!put_str(P, &P->tmp, "Defaults"))
		return false;
	take_n(P, 8);
	c = cur(P);
	if (c == ':' || c == '@' || c == '>' || c == '!') {
		item_fn item = c == '@' ? host_item : c == '!' ? defcmnd_item : user_item;

		if (!put_ch(P, &P->tmp, c))
			return false;
		take(P);
		if (!read_list(P, item, &P->tmp, ",", false) || !check_id(P, P->tmp.n))
			return false;
	}
	if (!stash(P, &P->tmp, 0, P->tmp.n, &id))
		return false;
	skip_blanks(P);
	if (cur(P) == EOL)
		return fail(P, "Defaults without a setting");
	for (;;) {
		P->el.n = 0;
		skip_blanks(P);
		if (!read_bangs(P, &P->el))
			return false;
		while (((c = cur(P)) >= 'a' && c <= 'z') || c == '_') {
			if (!put_ch(P, &P->el, c))
				return false;
			take(P);
		}
		if (P->el.n == 0 || P->el.p[P->el.n - 1] == '!')
			return unexpected(P, "a Defaults setting name");
		skip_blanks(P);
		c = cur(P);
		if (c == '+' || c == '-') {
			if (!put_ch(P, &P->el, c))
				return false;
			take(P);
			if (cur(P) != '=')
				return unexpected(P, "'=' after '+' or '-'");
		}
		if (cur(P) == '=') {
			size_t at;

			if (!put_ch(P, &P->el, '='))
				return false;
			take(P);
			skip_blanks(P);
			at = P->el.n;
			if (cur(P) == '"' ? !read_quoted(P, &P->el)
			                  : !read_word(P, &P->el, ",=\"", false))
				return false;
			if (P->el.n == at)
				return unexpected(P, "a value");
		}
		if (!stash(P, &P->el, 0, P->el.n, &el) || !pend_add(P, id, SUA_RULES, el))
			return false;
		skip_blanks(P);
		if (cur(P) == EOL)
			return true;
		if (cur(P) != ',')
			return unexpected(P, "',' or the end of the line");
		take(P);
	}
}

/* KIND NAME = member, ... [: NAME = member, ...] */
static bool parse_alias(struct parser *P, size_t kwlen, const char *kind, item_fn item)
{
	take_n(P, kwlen);
	for (;;) {
		struct span id, el;

		skip_blanks(P);
		P->tmp.n = 0;
		if (!put_str(P, &P->tmp, kind) || !put_ch(P, &P->tmp, ' '))
			return false;
		if (!read_word(P, &P->tmp, ",:=()", false))
			return false;
		if (!is_alias_name(P->tmp.p + strlen(kind) + 1, P->tmp.n - strlen(kind) - 1))
			return fail(P,
			            "bad alias name (upper case letters, digits and '_', not ALL)");
		if (!check_id(P, P->tmp.n) || !stash(P, &P->tmp, 0, P->tmp.n, &id))
			return false;
		skip_blanks(P);
		if (cur(P) != '=')
			return unexpected(P, "'=' after the alias name");
		take(P);
		for (;;) {
			P->el.n = 0;
			skip_blanks(P);
			if (!item(P, &P->el) || !stash(P, &P->el, 0, P->el.n, &el) ||
			    !pend_add(P, id, SUA_MEMBERS, el))
				return false;
			skip_blanks(P);
			if (cur(P) != ',')
				break;
			take(P);
		}
		if (cur(P) == EOL)
			return true;
		if (cur(P) != ':')
			return unexpected(P, "',', ':' or the end of the line");
		take(P);
	}
}

/* USERLIST HOSTLIST = CMNDSPECS [: HOSTLIST = CMNDSPECS]... */
static bool parse_user_spec(struct parser *P)
{
	P->tmp.n = 0;
	P->nids = 0;
	if (!read_list(P, user_item, &P->tmp, "", true))
		return false;
	for (size_t i = 0; i < P->nids; i++) {
		struct span *u = &P->ids[i];

		if (reserved_user(P->tmp.p + u->off, u->n))
			return fail(P, "a user name that is a sudoers keyword");
		if (!check_id(P, u->n) || !stash(P, &P->tmp, u->off, u->n, u))
			return false;
	}
	skip_blanks(P);
	if (cur(P) == EOL)
		return fail(P, "user specification without a host list and '='");
	for (;;) {
		struct span el;

		P->el.n = 0;
		if (!read_list(P, host_item, &P->el, ", ", false))
			return false;
		skip_blanks(P);
		if (cur(P) != '=')
			return cur(P) == EOL ? fail(P, "missing '=' after the host list")
			                     : unexpected(P, "'=' after the host list");
		take(P);
		if (!put_ch(P, &P->el, '='))
			return false;
		for (;;) {
			if (!cmnd_spec(P, &P->el, true))
				return false;
			skip_blanks(P);
			if (cur(P) != ',')
				break;
			take(P);
			if (!put_str(P, &P->el, ", "))
				return false;
		}
		if (!stash(P, &P->el, 0, P->el.n, &el))
			return false;
		for (size_t i = 0; i < P->nids; i++)
			if (!pend_add(P, P->ids[i], SUA_RULES, el))
				return false;
		if (cur(P) == EOL)
			return true;
		if (cur(P) != ':')
			return unexpected(P, "',', ':' or the end of the line");
		take(P);
		skip_blanks(P);
	}
}

/* Removes backslash escapes from B[0..n) in place; returns the new length. */
static size_t unescape(uint8_t *b, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i] == '\\' && i + 1 < n)
			i++;
		b[out++] = b[i];
	}
	return out;
}

/* @include PATH, @includedir DIR (and the #include forms). */
static bool parse_include(struct parser *P, size_t kwlen, bool dir)
{
	char full[PATH_MAX];
	const char *slash;
	size_t n, dn;
	int r;

	P->lx.raw = true;
	take_n(P, kwlen);
	skip_blanks(P);
	P->tmp.n = 0;
	if (cur(P) == EOL) {
		P->lx.raw = false;
		return fail(P, "include without a path");
	}
	if (!(cur(P) == '"' ? read_quoted(P, &P->tmp) : read_word(P, &P->tmp, "", false))) {
		P->lx.raw = false;
		return false;
	}
	P->lx.raw = false;
	skip_blanks(P);
	if (cur(P) != EOL)
		return unexpected(P, "the end of the line after the include path");
	n = P->tmp.n;
	if (P->tmp.p[0] == '"') { /* strip the quotes */
		n -= 2;
		memmove(P->tmp.p, P->tmp.p + 1, n);
	}
	n = unescape(P->tmp.p, n);
	if (n == 0 || memchr(P->tmp.p, '\0', n))
		return fail(P, "bad include path");
	for (size_t i = 0; i + 1 < n; i++) {
		if (P->tmp.p[i] == '%' && P->tmp.p[i + 1] == 'h') {
			collect_problem(P->ctx, P->path, P->line, -EOPNOTSUPP,
			                "include path with %%h (host name): not read");
			return true;
		}
	}
	slash = strrchr(P->path, '/');
	dn = P->tmp.p[0] == '/' || !slash ? 0 : (size_t)(slash - P->path) + 1;
	if (dn + n >= sizeof(full))
		return fail(P, "include path too long");
	memcpy(full, P->path, dn);
	memcpy(full + dn, P->tmp.p, n);
	full[dn + n] = '\0';
	if (!P->include)
		return true;
	r = P->include(P->userdata, full, dir, P->line);
	if (r < 0) {
		P->fatal = r;
		return fail(P, "include failed");
	}
	return true;
}

/* The keyword KW at the current position, followed by a byte of FOLLOW
 * or, with EOL, by a line break or the end of the text. */
static bool keyword_at(const struct parser *P, const char *kw, const char *follow, bool eol)
{
	const struct lx *lx = &P->lx;
	size_t n = strlen(kw);
	char c;

	if (lx->vspace || lx->len - lx->pos < n || memcmp(lx->p + lx->pos, kw, n) != 0)
		return false;
	if (lx->pos + n == lx->len)
		return eol;
	c = lx->p[lx->pos + n];
	return (eol && (c == '\n' || c == '\r')) || (c && strchr(follow, c));
}

static void limit_reached(struct parser *P)
{
	if (!P->s->limit_reported)
		collect_problem(P->ctx, P->path, P->line, -E2BIG,
		                "more sudoers entries than fim records (%u objects, %u elements, "
		                "%u MiB); the rest is not recorded",
		                SUDOERS_MAX_OBJECTS, SUDOERS_MAX_ELEMENTS, SUDOERS_MAX_BYTES >> 20);
	P->s->limit_reported = true;
}

static int commit(struct parser *P)
{
	struct sudoers *s = P->s;
	size_t bytes = 0;

	for (size_t i = 0; i < P->npend; i++)
		bytes += P->pend[i].eln + 1;
	if (s->nelems + P->npend > SUDOERS_MAX_ELEMENTS || s->nbytes + bytes > SUDOERS_MAX_BYTES) {
		limit_reached(P);
		return 0;
	}
	for (size_t i = 0; i < P->npend; i++) {
		const struct pend *e = &P->pend[i];
		size_t o;
		int r = sudoers_obj_get(s, (const char *)P->text.p + e->id, e->idn, P->gen, P->line,
		                        &o);

		if (r == -E2BIG) {
			limit_reached(P);
			return 0;
		}
		if (r == 0)
			r = sudoers_obj_add(s, o, e->attr, (const char *)P->text.p + e->el, e->eln,
			                    P->gen);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool parse_line(struct parser *P)
{
	static const struct {
		const char *kw, *kind;
		item_fn item;
	} aliases[] = {
	        {"User_Alias", "User_Alias", user_item},  {"Runas_Alias", "Runas_Alias", user_item},
	        {"Host_Alias", "Host_Alias", host_item},  {"Cmnd_Alias", "Cmnd_Alias", cmnd_member},
	        {"Cmd_Alias", "Cmnd_Alias", cmnd_member},
	};
	struct lx *lx = &P->lx;

	skip_blanks(P);
	if (cur(P) == EOL) {
		/* blank, comment, or the #include forms (which look like comments) */
		if (lx->toolong || lx->pos >= lx->len || lx->p[lx->pos] != '#')
			return true;
		if (keyword_at(P, "#includedir", " \t", false))
			return parse_include(P, 11, true);
		if (keyword_at(P, "#include", " \t", false))
			return parse_include(P, 8, false);
		return true;
	}
	if (keyword_at(P, "@includedir", " \t#", true))
		return parse_include(P, 11, true);
	if (keyword_at(P, "@include", " \t#", true))
		return parse_include(P, 8, false);
	if (keyword_at(P, "Defaults", " \t:@>!#", true))
		return parse_defaults(P);
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (keyword_at(P, aliases[i].kw, " \t", false))
			return parse_alias(P, strlen(aliases[i].kw), aliases[i].kind,
			                   aliases[i].item);
	return parse_user_spec(P);
}

static void parser_done(struct parser *P)
{
	buf_free(&P->text);
	buf_free(&P->el);
	buf_free(&P->tmp);
	free(P->pend);
	free(P->ids);
}

int sudoers_parse(struct sudoers *s, const struct collect_ctx *ctx, const char *path,
                  const char *text, size_t len, sudoers_include_fn include, void *userdata)
{
	struct parser P = {
	        .s = s,
	        .ctx = ctx,
	        .path = path,
	        .include = include,
	        .userdata = userdata,
	        .lx = {.p = text, .len = len, .line = 1},
	};
	int r = 0;

	if (s->npaths == s->cappaths) {
		size_t cap = s->cappaths ? s->cappaths * 2 : 8;
		char **np = realloc(s->paths, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		s->paths = np;
		s->cappaths = cap;
	}
	if (!(s->paths[s->npaths] = strdup(path)))
		return -ENOMEM;
	P.gen = (uint32_t)s->npaths++;

	while (r == 0 && P.lx.pos < P.lx.len) {
		bool ok;

		P.line = P.lx.line;
		P.lx.used = 0;
		P.lx.toolong = P.lx.instr = P.lx.raw = P.lx.vspace = false;
		P.failed = false;
		P.text.n = 0;
		P.npend = 0;
		ok = parse_line(&P);
		if (P.fatal) {
			r = P.fatal;
			break;
		}
		if (P.lx.toolong)
			collect_problem(ctx, path, P.line, -EBADMSG,
			                "line longer than %u bytes; skipped", SUDOERS_MAX_LINE);
		else if (!ok)
			collect_problem(ctx, path, P.line, -EBADMSG, "%s; line skipped", P.err);
		else
			r = commit(&P);
		lx_finish(&P.lx);
	}
	parser_done(&P);
	return r;
}
