/* SPDX-License-Identifier: ISC */
/* Users and groups collector: passwd, shadow, group, gshadow and the SSH keys that let users in. */
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "baseline/accounts.h"
#include "baseline/accounts_int.h"
#include "baseline/rootfs.h"
#include "fim/core/utf8.h"
#include "fim/core/error.h"

#define MAX_FIELDS  9   /* fields kept per entry (more are only counted) */
#define QUOTE_BYTES 100 /* a name quoted in a problem message */
#define DIGEST_HEX  16  /* bytes of the password digest shown, as hex */

/* ---------- account files: one entry per line ---------- */

/*
 * Lines are read the way glibc's files backend (nss_files, glibc 2.36, as
 * tried with getent and getpwnam on crafted files) reads them, so that the
 * entry recorded is the one the system uses:
 *
 * - Leading whitespace is skipped, however long; empty lines and '#'
 *   comments are not entries. Lines may be of any length, and the file of
 *   any size: glibc grows its buffer until the line fits. The line ends at '\n' only: a '\r' before
 * it, and trailing whitespace, belong to the last field ("/bin/sh\r" is the shell). A NUL byte ends
 * the line.
 * - passwd: name:passwd:uid:gid:gecos:dir:shell. Missing fields after the
 *   gid are empty ("svc::0:0" is uid 0 with an empty password and no home
 *   or shell); extra colons belong to the shell. Fewer than four fields
 *   leave the gid empty, and the line is ignored.
 * - group: name:passwd:gid:members, members empty when missing, extra
 *   colons part of the member list ("a:b" is one member).
 * - gshadow: every field may be missing; extra colons belong to the members.
 * - shadow: the seven fields after the password are numbers or empty; the
 *   line must have 9 fields, or 8 with a non-empty expiry date (glibc then
 *   wants more input), else it is ignored; so is a CRLF line (the flag
 *   field "\r" is not a number).
 * - A uid, gid or shadow number is read as strtoul does, to the end of its
 *   field: leading whitespace and one '+' or '-' are taken ("+0", " 0" and
 *   "-0" are 0), nothing may follow the digits ("0abc", "0x10", "1 " are
 *   refused), and the value must fit 32 bits after strtoul's negation
 *   modulo 2^64: "-1" and 4294967296 are refused, but "-18446744073709551615"
 *   is 1 and 4294967295, (uid_t)-1, is taken. An empty uid or gid is
 *   refused, an empty shadow number is taken as unset.
 * - Names starting with '+' or '-' (NIS compatibility) are listed by
 *   getpwent but never resolved by name or id by nss_files: not recorded.
 * - The first entry of a name is the one getpwnam returns.
 *
 * A line glibc uses is recorded even when irregular (field count, number
 * form, CR, NUL, a name with '/' or whitespace), and the irregularity is
 * reported too. Two cases glibc resolves fim cannot record and only
 * reports: an empty name, and a name longer than OBJ_MAX_ID.
 *
 * Files are streamed, never read whole. Memory is bounded: of a line only
 * its first ACCOUNTS_MAX_ENTRY bytes (after the leading whitespace) are
 * kept. When the fields that make the entry (passwd: name to gid; group:
 * name to gid; shadow, gshadow: the name) lie within them, the entry is
 * recorded without the fields that were cut, which stay unknown; else the
 * line cannot be interpreted. Either way the line is reported with -E2BIG,
 * so that nothing it may define is called removed. Entries kept from one
 * file are bounded by ACCOUNTS_MAX_ENTRIES and ACCOUNTS_MAX_TEXT bytes: the
 * rest of the file is then not read, and that is reported.
 */

enum bad {
	BAD_NONE,
	BAD_NUL,
	BAD_FIELDS,
	BAD_NAME_EMPTY,
	BAD_NAME_NIS,
	BAD_NAME_LONG,
	BAD_ID_EMPTY,
	BAD_ID_CHAR,
	BAD_ID_RANGE,
	BAD_CUT, /* longer than ACCOUNTS_MAX_ENTRY, cut before the entry's key fields */
};

/* Irregularities of an entry glibc nonetheless uses (bits of entry.odd). */
enum {
	ODD_FIELDS = 1 << 0, /* not the format's field count */
	ODD_CR = 1 << 1,     /* ends in '\r', kept in the last field */
	ODD_NUL = 1 << 2,    /* cut at a NUL byte */
	ODD_NAME = 1 << 3,   /* the name contains '/' or whitespace */
	ODD_FORM = 1 << 4,   /* bit << k: numeric field k not in plain decimal */
	ODD_NOID = 1 << 6,   /* bit << k: numeric field k is 4294967295 */
};

struct entry {
	struct span f[MAX_FIELDS];
	uint32_t id[2]; /* the format's numeric fields */
	uint64_t len;   /* of the whole line, leading whitespace not counted */
	unsigned line;
	unsigned known; /* fields read whole: all unless cut */
	unsigned nf;    /* fields on the line */
	unsigned first; /* of a duplicate: the line of the entry in force */
	uint8_t bad;    /* enum bad */
	uint8_t bad_id; /* which numeric field is bad (shadow: its position) */
	uint8_t odd;    /* ODD_* */
	bool dup;
	bool cut; /* longer than ACCOUNTS_MAX_ENTRY: fields from f[known] on are unknown */
};

struct format {
	const char *noun;    /* "user", "group" */
	unsigned fields;     /* fields per line */
	unsigned nids;       /* numeric fields */
	unsigned idfield[2]; /* their positions */
	const char *idname[2];
	bool secret;   /* quote nothing of this file */
	bool rest;     /* the last field takes the rest of the line (else: shadow's numbers) */
	unsigned need; /* fields that must be whole for the line to be interpreted */
};

static const struct format fmt_passwd = {"user", 7, 2, {2, 3}, {"uid", "gid"}, false, true, 4};
static const struct format fmt_shadow = {"user", 9, 0, {0, 0}, {NULL, NULL}, true, false, 1};
static const struct format fmt_group = {"group", 4, 1, {2, 0}, {"gid", NULL}, false, true, 3};
static const struct format fmt_gshadow = {"group", 4, 0, {0, 0}, {NULL, NULL}, true, true, 1};

/* Where the kept lines live: chunks that never move, wiped when freed. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

#define CHUNK_BYTES (1u << 20)

enum trunc {
	TRUNC_NONE,
	TRUNC_ENTRIES, /* ACCOUNTS_MAX_ENTRIES reached */
	TRUNC_TEXT,    /* ACCOUNTS_MAX_TEXT reached */
	TRUNC_READ,    /* a read error (reported when it happened) */
};

struct table {
	const struct format *fmt;
	const char *path;
	struct entry *e; /* every entry, in file order */
	size_t n, cap;
	struct entry **byname; /* valid entries in force, sorted by name */
	size_t nbyname;
	struct chunk *mem;  /* the text of the entries */
	size_t bytes;       /* kept in mem */
	unsigned truncated; /* line where reading stopped (enum trunc why), or 0 */
	enum trunc why;
	bool present; /* the file was read (else absent, or err) */
	int err;      /* why it could not be opened: a negative errno, or 0 */
};

static void table_free(struct table *t)
{
	while (t->mem) {
		struct chunk *c = t->mem;

		t->mem = c->next;
		sodium_memzero(c->data, c->used);
		free(c);
	}
	free(t->e);
	free(t->byname);
	*t = (struct table){0};
}

/* A copy of P[0..n) (n > 0) that lives as long as T, or NULL. */
static char *table_copy(struct table *t, const char *p, size_t n)
{
	struct chunk *c = t->mem;

	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		*c = (struct chunk){.next = t->mem, .cap = cap};
		t->mem = c;
	}
	memcpy(c->data + c->used, p, n);
	c->used += n;
	return c->data + c->used - n;
}

static enum bad check_name(struct span s, uint8_t *odd)
{
	if (s.n == 0)
		return BAD_NAME_EMPTY;
	if (s.p[0] == '+' || s.p[0] == '-')
		return BAD_NAME_NIS;
	if (s.n > OBJ_MAX_ID)
		return BAD_NAME_LONG;
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] == '/' || is_space(s.p[i]))
			*odd |= ODD_NAME;
	return BAD_NONE;
}

/*
 * A number read as glibc does (see above). *PLAIN is set false when it is
 * not in plain decimal (whitespace, a sign, a leading zero). Returns
 * BAD_NONE with *RET set, or why glibc refuses it.
 */
static enum bad parse_id(struct span s, uint32_t *ret, bool *plain)
{
	size_t i = 0;
	uint64_t v = 0;
	bool neg = false;

	if (s.n == 0)
		return BAD_ID_EMPTY;
	while (i < s.n && is_space(s.p[i]))
		i++;
	if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
		neg = s.p[i++] == '-';
	if (i == s.n)
		return BAD_ID_CHAR;
	*plain = i == 0 && (s.p[0] != '0' || s.n == 1);
	for (; i < s.n; i++) {
		unsigned d = (unsigned)(s.p[i] - '0');

		if (s.p[i] < '0' || s.p[i] > '9')
			return BAD_ID_CHAR;
		if (v > (UINT64_MAX - d) / 10) /* strtoul: ULONG_MAX, refused */
			return BAD_ID_RANGE;
		v = v * 10 + d;
	}
	if (neg)
		v = (uint64_t)0 - v;
	if (v > UINT32_MAX)
		return BAD_ID_RANGE;
	*ret = (uint32_t)v;
	return BAD_NONE;
}

/* Shadow's numeric fields: the count glibc needs, and each empty or a number. */
static void check_shadow(struct entry *e)
{
	uint32_t v;
	bool plain;

	if (e->nf < 8 || e->nf > 9 || (e->nf == 8 && e->f[7].n == 0)) {
		e->bad = BAD_FIELDS;
		return;
	}
	for (unsigned k = 2; k < e->nf; k++) {
		if (e->f[k].n == 0)
			continue;
		e->bad = (uint8_t)parse_id(e->f[k], &v, &plain);
		e->bad_id = (uint8_t)k;
		if (e->bad != BAD_NONE)
			return;
	}
}

/* Interprets LINE[0..n), the first bytes of a line of LEN bytes. */
static void parse_entry(const struct format *fmt, const char *line, size_t n, uint64_t len,
                        struct entry *e)
{
	const char *nul;
	size_t start = 0;
	bool cut = len > n;

	e->len = len;
	nul = memchr(line, '\0', n);
	if (nul) {
		n = (size_t)(nul - line);
		cut = false; /* glibc stops at the NUL: what was not kept is not read */
		e->odd |= ODD_NUL;
		if (n == 0) { /* glibc sees an empty line */
			e->bad = BAD_NUL;
			return;
		}
	}
	if (!cut && n && line[n - 1] == '\r')
		e->odd |= ODD_CR;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && line[i] != ':')
			continue;
		if (e->nf < MAX_FIELDS)
			e->f[e->nf] = (struct span){line + start, i - start};
		e->nf++;
		start = i + 1;
	}
	for (unsigned k = e->nf; k < MAX_FIELDS; k++)
		e->f[k] = (struct span){line + n, 0};
	if (fmt->rest && e->nf > fmt->fields) {
		struct span *last = &e->f[fmt->fields - 1];

		last->n = (size_t)(line + n - last->p);
	}
	e->known = MAX_FIELDS;
	if (cut) {
		/* the last field kept is incomplete, and so is the rest field */
		e->cut = true;
		e->known = e->nf - 1;
		if (fmt->rest && e->known > fmt->fields - 1)
			e->known = fmt->fields - 1;
		if (e->known < fmt->need) {
			e->bad = BAD_CUT;
			return;
		}
	} else if (e->nf != fmt->fields) {
		e->odd |= ODD_FIELDS;
	}
	e->bad = (uint8_t)check_name(e->f[0], &e->odd);
	if (e->bad != BAD_NONE)
		return;
	if (!fmt->rest) {
		if (!cut) /* whether glibc takes a cut line is not known: its password is not */
			check_shadow(e);
		return;
	}
	for (unsigned k = 0; k < fmt->nids && e->bad == BAD_NONE; k++) {
		bool plain = true;

		e->bad = (uint8_t)parse_id(e->f[fmt->idfield[k]], &e->id[k], &plain);
		e->bad_id = (uint8_t)k;
		if (e->bad == BAD_NONE && !plain)
			e->odd |= (uint8_t)(ODD_FORM << k);
		if (e->bad == BAD_NONE && e->id[k] == UINT32_MAX)
			e->odd |= (uint8_t)(ODD_NOID << k);
	}
}

static int cmp_entry_name(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a,
	                   *y = *(const struct entry *const *)b;
	int c = span_cmp(x->f[0], y->f[0]);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Marks duplicates (libc uses the first entry of a name) and indexes the rest by name.
 * A cut line whose name was kept counts as the first of its name: glibc reads it,
 * so a later line of that name is not in force, though fim cannot record it. */
static int table_index(struct table *t)
{
	size_t k = 0, out = 0, kept = 0;

	if (t->n == 0)
		return 0;
	t->byname = malloc(t->n * sizeof(*t->byname));
	if (!t->byname)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].bad == BAD_NONE || (t->e[i].bad == BAD_CUT && t->e[i].known > 0))
			t->byname[k++] = &t->e[i];
	if (k)
		qsort(t->byname, k, sizeof(*t->byname), cmp_entry_name);
	for (size_t i = 0; i < k; i++) {
		if (out && span_cmp(t->byname[out - 1]->f[0], t->byname[i]->f[0]) == 0) {
			t->byname[i]->dup = true;
			t->byname[i]->first = t->byname[out - 1]->line;
			continue;
		}
		t->byname[out++] = t->byname[i];
	}
	for (size_t i = 0; i < out; i++) /* only valid entries are found by name */
		if (t->byname[i]->bad == BAD_NONE)
			t->byname[kept++] = t->byname[i];
	t->nbyname = kept;
	return 0;
}

/* One line of an account file, its leading whitespace skipped: LINE[0..n)
 * kept of LEN bytes. Returns 0 (t->truncated set when the file must not be
 * read further) or -ENOMEM. */
static int table_add(struct table *t, const char *line, size_t n, uint64_t len, unsigned lineno)
{
	char *copy;

	if (n == 0 || line[0] == '#')
		return 0;
	if (t->n == ACCOUNTS_MAX_ENTRIES || t->bytes + n > ACCOUNTS_MAX_TEXT) {
		t->truncated = lineno;
		t->why = t->n == ACCOUNTS_MAX_ENTRIES ? TRUNC_ENTRIES : TRUNC_TEXT;
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct entry *ne = realloc(t->e, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		t->e = ne;
		t->cap = cap;
	}
	copy = table_copy(t, line, n);
	if (!copy)
		return -ENOMEM;
	t->bytes += n;
	t->e[t->n] = (struct entry){.line = lineno};
	parse_entry(t->fmt, copy, n, len, &t->e[t->n]);
	t->n++;
	return 0;
}

static bool is_lead(char c)
{
	return c != '\n' && is_space(c);
}

/* Splits TEXT into entries, as table_read does a file. Returns 0 or -ENOMEM. */
static int table_parse(const struct format *fmt, const struct accounts_text *text, struct table *t)
{
	const char *p = text->p, *end = p ? p + text->n : NULL; /* no text: no offset to NULL */
	unsigned lineno = 0;
	int r;

	*t = (struct table){.fmt = fmt, .path = text->path, .present = text->p, .err = text->err};
	while (p && p < end && !t->truncated) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p), skip = 0;

		while (skip < k && is_lead(p[skip]))
			skip++;
		if (lineno < UINT_MAX)
			lineno++;
		r = table_add(t, p + skip,
		              k - skip < ACCOUNTS_MAX_ENTRY ? k - skip : ACCOUNTS_MAX_ENTRY,
		              k - skip, lineno);
		if (r < 0)
			return r;
		p += k + 1;
	}
	return table_index(t);
}

static const struct entry *table_find(const struct table *t, struct span name)
{
	size_t lo = 0, hi = t->nbyname;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = span_cmp(t->byname[mid]->f[0], name);

		if (c == 0)
			return t->byname[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *accounts_quote(struct span s, char *buf, size_t size)
{
	return utf8_quote(s.p, s.n, buf, size);
}

static void table_report_truncated(const struct collect_ctx *ctx, const struct table *t)
{
	if (t->why == TRUNC_ENTRIES)
		collect_problem(ctx, t->path, t->truncated, -E2BIG,
		                "more than %u entries: the rest of the file is not read",
		                ACCOUNTS_MAX_ENTRIES);
	else if (t->why == TRUNC_TEXT)
		collect_problem(ctx, t->path, t->truncated, -E2BIG,
		                "entries take more than %u bytes: the rest of the file is not read",
		                ACCOUNTS_MAX_TEXT);
}

/* Reports what makes an entry irregular (of a line glibc ignores, only what
 * explains its reading); quotes nothing of a secret file. */
static void report_odd(const struct collect_ctx *ctx, const struct table *t, const struct entry *e)
{
	const struct format *fmt = t->fmt;
	char q[QUOTE_BYTES];

	if (e->bad != BAD_NONE) {
		if (e->odd & ODD_CR)
			collect_problem(ctx, t->path, e->line, -EBADMSG,
			                "line ends in a carriage return: glibc reads it as part "
			                "of the last field");
		if ((e->odd & ODD_NUL) && e->bad != BAD_NUL)
			collect_problem(ctx, t->path, e->line, -EBADMSG,
			                "line contains a NUL byte: glibc reads only what precedes "
			                "it");
		return;
	}
	if (e->odd & ODD_FIELDS)
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "%u fields expected, %u found: read as glibc does", fmt->fields,
		                e->nf);
	if (e->odd & ODD_CR)
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "line ends in a carriage return: glibc keeps it in the last "
		                "field");
	if (e->odd & ODD_NUL)
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "line contains a NUL byte: read up to it, as glibc does");
	if ((e->odd & ODD_NAME) && fmt->secret)
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "%s name contains '/' or whitespace", fmt->noun);
	else if (e->odd & ODD_NAME)
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "%s name '%s' contains '/' or whitespace", fmt->noun,
		                accounts_quote(e->f[0], q, sizeof(q)));
	for (unsigned k = 0; k < fmt->nids; k++) {
		if (e->odd & (ODD_FORM << k))
			collect_problem(ctx, t->path, e->line, -EBADMSG,
			                "%s '%s' is not plain decimal: read as glibc does, as "
			                "%" PRIu32,
			                fmt->idname[k],
			                accounts_quote(e->f[fmt->idfield[k]], q, sizeof(q)),
			                e->id[k]);
		if (e->odd & (ODD_NOID << k))
			collect_problem(ctx, t->path, e->line, -EBADMSG,
			                "%s is %" PRIu32 ", (%s_t)-1, which no process can have",
			                fmt->idname[k], e->id[k], fmt->idname[k]);
	}
}

/* An entry glibc uses: one cut to ACCOUNTS_MAX_ENTRY, and one whose name came before. */
static void report_kept(const struct collect_ctx *ctx, const struct table *t, const struct entry *e)
{
	const struct format *fmt = t->fmt;
	char q[QUOTE_BYTES];

	if (e->cut && !e->dup && fmt->secret)
		collect_problem(ctx, t->path, e->line, -E2BIG,
		                "line of %" PRIu64 " bytes, longer than %u: glibc reads "
		                "it, fim only its first bytes; what they do not hold is "
		                "not recorded",
		                e->len, ACCOUNTS_MAX_ENTRY);
	else if (e->cut && !e->dup)
		collect_problem(ctx, t->path, e->line, -E2BIG,
		                "line of %" PRIu64 " bytes, longer than %u: glibc reads "
		                "it, fim only its first bytes; %s '%s' is recorded "
		                "without field %u and those after it",
		                e->len, ACCOUNTS_MAX_ENTRY, fmt->noun,
		                accounts_quote(e->f[0], q, sizeof(q)), e->known + 1);
	if (!e->dup)
		return;
	if (fmt->secret)
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "duplicate %s entry: the first one, on line %u, is "
		                "in force",
		                fmt->noun, e->first);
	else
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "duplicate %s '%s': the first entry, on line %u, "
		                "is in force",
		                fmt->noun, accounts_quote(e->f[0], q, sizeof(q)), e->first);
}

/* A line cut to ACCOUNTS_MAX_ENTRY that fim cannot interpret. */
static void report_cut(const struct collect_ctx *ctx, const struct table *t, const struct entry *e)
{
	const struct format *fmt = t->fmt;
	char q[QUOTE_BYTES];

	if (e->dup) /* glibc reads the first line of the name only */
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "duplicate %s entry, longer than %u bytes: the "
		                "first one, on line %u, is in force",
		                fmt->noun, ACCOUNTS_MAX_ENTRY, e->first);
	else if (e->known > 0 && !fmt->secret && e->f[0].n <= OBJ_MAX_ID)
		collect_problem(ctx, t->path, e->line, -E2BIG,
		                "line of %" PRIu64 " bytes, longer than %u: glibc "
		                "reads it, fim cannot interpret it; %s '%s' is not "
		                "recorded",
		                e->len, ACCOUNTS_MAX_ENTRY, fmt->noun,
		                accounts_quote(e->f[0], q, sizeof(q)));
	else
		collect_problem(ctx, t->path, e->line, -E2BIG,
		                "line of %" PRIu64 " bytes, longer than %u: glibc "
		                "reads it, fim cannot interpret it; what it defines "
		                "is not recorded",
		                e->len, ACCOUNTS_MAX_ENTRY);
}

/* A line glibc ignores, or that fim cannot record. */
static void report_bad(const struct collect_ctx *ctx, const struct table *t, const struct entry *e)
{
	const struct format *fmt = t->fmt;
	const char *id = fmt->nids ? fmt->idname[e->bad_id] : "";

	switch ((enum bad)e->bad) {
	case BAD_NONE:
	case BAD_CUT:
		break;
	case BAD_NUL:
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "line starts with a NUL byte: glibc ignores it");
		break;
	case BAD_FIELDS: /* shadow only */
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "%u field%s where glibc needs 9, or 8 with an expiry date: "
		                "it ignores the line",
		                e->nf, e->nf == 1 ? "" : "s");
		break;
	case BAD_NAME_EMPTY:
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "empty %s name: glibc may use the line, fim cannot record it",
		                fmt->noun);
		break;
	case BAD_NAME_NIS:
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "NIS compatibility entry (name starts with '+' or '-'): "
		                "glibc's files backend does not resolve it; not evaluated");
		break;
	case BAD_NAME_LONG:
		collect_problem(ctx, t->path, e->line, -EBADMSG,
		                "%s name longer than %u bytes: glibc may use the line, fim "
		                "cannot record it",
		                fmt->noun, OBJ_MAX_ID);
		break;
	case BAD_ID_EMPTY:
		collect_problem(ctx, t->path, e->line, -EBADMSG, "empty %s: glibc ignores the line",
		                id);
		break;
	case BAD_ID_CHAR:
		if (!fmt->nids)
			collect_problem(ctx, t->path, e->line, -EBADMSG,
			                "field %u is not a number: glibc ignores the line",
			                e->bad_id + 1);
		else
			collect_problem(ctx, t->path, e->line, -EBADMSG,
			                "%s is not a decimal number: glibc ignores the line", id);
		break;
	case BAD_ID_RANGE:
		if (!fmt->nids)
			collect_problem(ctx, t->path, e->line, -EBADMSG,
			                "field %u is out of range: glibc ignores the line",
			                e->bad_id + 1);
		else
			collect_problem(ctx, t->path, e->line, -EBADMSG,
			                "%s is out of range (at most %" PRIu32
			                "): glibc ignores the line",
			                id, UINT32_MAX);
		break;
	}
}

/* Reports malformed, irregular and duplicate entries in file order; quotes
 * nothing of a secret file. */
static void table_report(const struct collect_ctx *ctx, const struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct entry *e = &t->e[i];

		if (e->bad == BAD_NONE)
			report_kept(ctx, t, e);
		else if (e->bad == BAD_CUT)
			report_cut(ctx, t, e);
		else
			report_bad(ctx, t, e);
		report_odd(ctx, t, e);
	}
	table_report_truncated(ctx, t);
}

/* Next element of the comma-separated list L from *pos: leading whitespace
 * is skipped and empty elements are dropped, as libc does. */
static bool list_next(struct span l, size_t *pos, struct span *el)
{
	while (*pos < l.n) {
		size_t i = *pos, start;

		while (i < l.n && is_space(l.p[i]))
			i++;
		start = i;
		while (i < l.n && l.p[i] != ',')
			i++;
		*pos = i + 1;
		if (i > start) {
			*el = (struct span){l.p + start, i - start};
			return true;
		}
	}
	return false;
}

static int add_list(struct obj_set *out, unsigned attr, struct span l)
{
	struct span el;
	size_t pos = 0;
	int r = obj_list_touch(out, attr);

	while (r == 0 && list_next(l, &pos, &el))
		r = obj_list_add(out, attr, el.p, el.n);
	return r;
}

void accounts_report_read(const struct collect_ctx *ctx, const char *path, int err,
                          const char *consequence)
{
	const char *what;
	char cause[160];

	switch (err) {
	case -ENOENT:
		what = "does not exist";
		break;
	case -EISDIR:
		what = "is a directory";
		break;
	case -EINVAL:
		what = "is not a regular file";
		break;
	case -EFBIG:
		what = "is too large to read";
		break;
	default:
		snprintf(cause, sizeof(cause), "cannot be read: %s", err_cause(err));
		what = cause;
	}
	collect_problem(ctx, path, 0, err, "%s%s%s", what, consequence ? "; " : "",
	                consequence ? consequence : "");
}

/* ---------- users ---------- */

/* One membership listed in /etc/group. */
struct member {
	struct span user;
	const struct entry *group;
};

struct members {
	const char *path; /* of /etc/group, for problems */
	struct member *v;
	size_t n, cap;
	bool over; /* more than ACCOUNTS_MAX_MEMBERS */
	bool cut;  /* a group line was cut: its members are not known */
};

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = span_cmp(x->user, y->user);

	return c ? c : span_cmp(x->group->f[0], y->group->f[0]);
}

/*
 * Every membership of every valid line of /etc/group, duplicates of a
 * group name included: initgroups() scans the whole file, so a second
 * "sudo:x:27:mallory" line does give mallory the group.
 */
static int members_build(const struct table *g, struct members *m)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct entry *e = &g->e[i];
		struct span el;
		size_t pos = 0;

		if (e->bad != BAD_NONE)
			continue;
		if (e->cut) {
			m->cut = true;
			continue;
		}
		while (list_next(e->f[3], &pos, &el)) {
			if (m->n == ACCOUNTS_MAX_MEMBERS) {
				m->over = true;
				return 0;
			}
			if (m->n == m->cap) {
				size_t cap = m->cap ? m->cap * 2 : 256;
				struct member *nv = realloc(m->v, cap * sizeof(*nv));

				if (!nv)
					return -ENOMEM;
				m->v = nv;
				m->cap = cap;
			}
			m->v[m->n++] = (struct member){el, e};
		}
	}
	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), cmp_member);
	return 0;
}

/* Supplementary groups of USER into the open record (present even when none). */
static int user_groups(const struct collect_ctx *ctx, const struct members *m, struct span user,
                       struct obj_set *out)
{
	size_t lo = 0, hi = m->n, total = 0, start;
	char q[QUOTE_BYTES];
	int r;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (span_cmp(m->v[mid].user, user) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	start = lo;
	for (size_t i = start; i < m->n && span_cmp(m->v[i].user, user) == 0; i++)
		total += m->v[i].group->f[0].n + 1;
	if (total > OBJ_MAX_VALUE) {
		collect_problem(ctx, m->path, 0, -E2BIG,
		                "user '%s' is listed in too many groups: their groups are not "
		                "recorded",
		                accounts_quote(user, q, sizeof(q)));
		return 0;
	}
	r = obj_list_touch(out, UA_GROUPS);
	for (size_t i = start; r == 0 && i < m->n && span_cmp(m->v[i].user, user) == 0; i++) {
		struct span g = m->v[i].group->f[0];

		if (i > start && span_cmp(g, m->v[i - 1].group->f[0]) == 0)
			continue;
		r = obj_list_add(out, UA_GROUPS, g.p, g.n);
	}
	return r;
}

static bool is_des_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '/';
}

/* A string crypt(3) could have produced: "$id$...", or traditional 13-character DES. */
static bool is_crypt(struct span t)
{
	if (t.n == 0)
		return false;
	if (t.p[0] == '$')
		return true;
	if (t.n != 13)
		return false;
	for (size_t i = 0; i < t.n; i++)
		if (!is_des_char(t.p[i]))
			return false;
	return true;
}

/*
 * The password value of secret S: "empty", "none", or "set"/"locked" with
 * the first DIGEST_HEX bytes of the keyed BLAKE2b of S without its leading
 * '!', so that locking and unlocking keep the digest. "!" and "!!" (a lock
 * with no password behind it, as useradd and passwd -l leave) are locked;
 * "*", "!*" and anything else crypt(3) cannot have made are none.
 */
static void password_value(const struct collect_ctx *ctx, struct span s, char *out, size_t size)
{
	uint8_t d[crypto_generichash_BYTES];
	char hex[DIGEST_HEX * 2 + 1];
	struct span t = s;
	const char *state;

	if (s.n == 0) {
		snprintf(out, size, "empty");
		return;
	}
	while (t.n && t.p[0] == '!') {
		t.p++;
		t.n--;
	}
	if (t.n > 0 && !is_crypt(t)) { /* t.n == 0: S was all '!' */
		snprintf(out, size, "none");
		return;
	}
	state = t.n == s.n ? "set" : "locked";
	if (!ctx->secret_key) {
		snprintf(out, size, "%s", state);
		return;
	}
	crypto_generichash(d, sizeof(d), (const unsigned char *)t.p, t.n, ctx->secret_key,
	                   COLLECT_KEY_BYTES);
	sodium_bin2hex(hex, sizeof(hex), d, DIGEST_HEX);
	snprintf(out, size, "%s %s", state, hex);
	sodium_memzero(d, sizeof(d));
}

/* Expands the AuthorizedKeysFile pattern PAT for user U as sshd does. */
static int keyfile_path(const char *pat, const struct entry *u, char **ret)
{
	struct span home = u->f[5], name = u->f[0];
	struct buf b = {0};
	char num[16];
	size_t n = strlen(pat);
	int r = 0;

	snprintf(num, sizeof(num), "%" PRIu32, u->id[0]);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (pat[i] != '%') {
			r = buf_append(&b, pat + i, 1);
			continue;
		}
		if (++i == n)
			r = -EINVAL;
		else if (pat[i] == 'h')
			r = buf_append(&b, home.p, home.n);
		else if (pat[i] == 'u' && memchr(name.p, '/', name.n))
			r = -EINVAL; /* glibc takes such a name; it must not lead elsewhere */
		else if (pat[i] == 'u')
			r = buf_append(&b, name.p, name.n);
		else if (pat[i] == 'U')
			r = buf_append(&b, num, strlen(num));
		else if (pat[i] == '%')
			r = buf_append(&b, "%", 1);
		else
			r = -EINVAL;
	}
	if (r == 0 && (b.n == 0 || b.p[0] != '/')) {
		/* relative to the home directory */
		struct buf abs = {0};

		r = buf_append(&abs, home.p, home.n);
		if (r == 0)
			r = buf_append(&abs, "/", 1);
		if (r == 0)
			r = buf_append(&abs, b.p, b.n);
		buf_free(&b);
		b = abs;
	}
	if (r == 0 && b.n >= PATH_MAX)
		r = -ENAMETOOLONG;
	if (r == 0)
		r = buf_append(&b, "", 1); /* the NUL */
	if (r < 0) {
		buf_free(&b);
		return r;
	}
	*ret = (char *)b.p;
	return 0;
}

/* The keys of user U into the open record: absent when a key file exists
 * but cannot be read, present and empty when there are none. */
static int user_keys(const struct collect_ctx *ctx, const struct accounts_keycfg *cfg,
                     const struct entry *u, struct obj_set *out)
{
	struct buf list = {0};
	bool failed = false;
	int r = 0;

	for (unsigned i = 0; i < cfg->n; i++) {
		_cleanup_free_ char *path = NULL, *data = NULL;
		size_t len;

		r = keyfile_path(cfg->file[i], u, &path);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			char q[QUOTE_BYTES];

			collect_problem(ctx, "/etc/passwd", u->line, r,
			                "user '%s': an AuthorizedKeysFile path cannot be made: %s",
			                accounts_quote(u->f[0], q, sizeof(q)), err_cause(r));
			failed = true;
			continue;
		}
		r = rootfs_read(ctx->rootfd, path, ROOTFS_MAX_FILE, &data, &len, NULL);
		if (r == -ENOENT || r == -ENOTDIR)
			continue;
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			accounts_report_read(ctx, path, r, "the user's keys are not recorded");
			failed = true;
			continue;
		}
		r = accounts_parse_keys(ctx, path, data, len, &list);
		if (r == -ENOMEM)
			goto out;
		if (r < 0)
			failed = true;
	}
	r = 0;
	if (!failed) {
		struct bytes el;
		size_t pos = 0;

		r = obj_list_touch(out, UA_AUTHORIZED_KEYS);
		while (r == 0 && obj_list_next((struct bytes){list.p, list.n}, &pos, &el))
			r = obj_list_add(out, UA_AUTHORIZED_KEYS, (const char *)el.p, el.n);
	}
out:
	buf_free(&list);
	return r;
}

/*
 * One user into OUT. SHADOW_COMPLETE: a user missing from SH has no shadow
 * entry (rather than one that could not be read). M: the memberships, or
 * NULL when unknown; KEYS: NULL when keys are not collected.
 */
static int user_record(const struct collect_ctx *ctx, const struct table *pw, const struct entry *u,
                       const struct table *sh, bool shadow_complete, const struct members *m,
                       const struct accounts_keycfg *keys, struct obj_set *out)
{
	struct span secret = u->f[1];
	const char *fixed = NULL;
	char num[16], pwv[64], q[QUOTE_BYTES];
	int r;

	obj_begin(out, u->f[0].p, u->f[0].n);
	snprintf(num, sizeof(num), "%" PRIu32, u->id[0]);
	obj_set_str(out, UA_UID, num);
	snprintf(num, sizeof(num), "%" PRIu32, u->id[1]);
	obj_set_str(out, UA_GID, num);
	/* what a cut line did not keep is unknown: left absent */
	if (u->known > 4)
		obj_set_value(out, UA_GECOS, u->f[4].p, u->f[4].n);
	if (u->known > 5)
		obj_set_value(out, UA_HOME, u->f[5].p, u->f[5].n);
	if (u->known > 6)
		obj_set_value(out, UA_SHELL, u->f[6].p, u->f[6].n);

	/* anything but "x" in passwd is in force and shadow is not consulted */
	if (span_is(secret, "x")) {
		const struct entry *s = table_find(sh, u->f[0]);

		if (s && s->cut)
			fixed = ""; /* unknown */
		else if (s)
			secret = s->f[1];
		else
			fixed = shadow_complete ? "none" : ""; /* "": unknown, left absent */
	}
	if (!fixed)
		password_value(ctx, secret, pwv, sizeof(pwv));
	if (!fixed || fixed[0])
		obj_set_str(out, UA_PASSWORD, fixed ? fixed : pwv);
	if (m) {
		r = user_groups(ctx, m, u->f[0], out);
		if (r == -ENOMEM) {
			obj_abort(out);
			return r;
		}
	}
	if (keys && u->known > 5) { /* the keys are found through the home */
		r = user_keys(ctx, keys, u, out);
		if (r == -ENOMEM) {
			obj_abort(out);
			return r;
		}
	}
	r = obj_end(out);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		/* the cause is added by whoever reports the problem, once */
		collect_problem(ctx, pw->path, u->line, r, "user '%s' cannot be recorded",
		                accounts_quote(u->f[0], q, sizeof(q)));
	return 0;
}

/* The users of PW into OUT, with SH, GR and KEYS as for accounts_parse_users. */
static int users_build(const struct collect_ctx *ctx, const struct table *pw,
                       const struct table *sh, const struct table *gr,
                       const struct accounts_keycfg *keys, struct obj_set *out)
{
	struct members m = {.path = gr->path};
	bool groups, shadow_complete;
	int r;

	r = members_build(gr, &m);
	if (r < 0)
		goto out;
	table_report(ctx, pw);
	table_report(ctx, sh);
	/* group's malformed lines are the group collector's to report */
	table_report_truncated(ctx, gr);
	if (m.over)
		collect_problem(ctx, gr->path, 0, -E2BIG,
		                "more than %u memberships: users' groups are not recorded",
		                ACCOUNTS_MAX_MEMBERS);
	if (m.cut)
		collect_problem(ctx, gr->path, 0, -E2BIG,
		                "a line longer than %u bytes is not read whole: users' groups "
		                "are not recorded",
		                ACCOUNTS_MAX_ENTRY);
	groups = gr->present && !gr->truncated && !m.over && !m.cut;
	/* an unreadable shadow says nothing about the passwords kept there */
	shadow_complete = (sh->present && !sh->truncated) ||
	                  (!sh->present && (sh->err == 0 || sh->err == -ENOENT));
	for (size_t i = 0; i < pw->n; i++) {
		const struct entry *u = &pw->e[i];

		if (u->bad != BAD_NONE || u->dup)
			continue;
		r = user_record(ctx, pw, u, sh, shadow_complete, groups ? &m : NULL, keys, out);
		if (r < 0)
			goto out;
	}
	obj_set_sort(out);
out:
	free(m.v);
	return r;
}

int accounts_parse_users(const struct collect_ctx *ctx, const struct accounts_text *passwd,
                         const struct accounts_text *shadow, const struct accounts_text *group,
                         const struct accounts_keycfg *keys, struct obj_set *out)
{
	struct table pw = {0}, sh = {0}, gr = {0};
	int r;

	r = table_parse(&fmt_passwd, passwd, &pw);
	if (r == 0)
		r = table_parse(&fmt_shadow, shadow, &sh);
	if (r == 0)
		r = table_parse(&fmt_group, group, &gr);
	if (r == 0)
		r = users_build(ctx, &pw, &sh, &gr, keys, out);
	table_free(&pw);
	table_free(&sh);
	table_free(&gr);
	return r;
}

/* ---------- groups ---------- */

/* The groups of GR into OUT, administrators from GS. */
static int groups_build(const struct collect_ctx *ctx, const struct table *gr,
                        const struct table *gs, struct obj_set *out)
{
	char num[16], q[QUOTE_BYTES];
	int r = 0;

	table_report(ctx, gr);
	table_report(ctx, gs);
	for (size_t i = 0; i < gr->n; i++) {
		const struct entry *g = &gr->e[i], *s;

		if (g->bad != BAD_NONE || g->dup)
			continue;
		obj_begin(out, g->f[0].p, g->f[0].n);
		snprintf(num, sizeof(num), "%" PRIu32, g->id[0]);
		obj_set_str(out, GA_GID, num);
		if (g->known > 3) /* else cut: unknown, left absent */
			add_list(out, GA_MEMBERS, g->f[3]);
		/* gshadow's field 2 is a password: never read into anything */
		s = table_find(gs, g->f[0]);
		if (s && s->known > 2)
			add_list(out, GA_ADMINISTRATORS, s->f[2]);
		r = obj_end(out);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			collect_problem(ctx, gr->path, g->line, r, "group '%s' cannot be recorded",
			                accounts_quote(g->f[0], q, sizeof(q)));
		r = 0;
	}
	obj_set_sort(out);
	return r;
}

int accounts_parse_groups(const struct collect_ctx *ctx, const struct accounts_text *group,
                          const struct accounts_text *gshadow, struct obj_set *out)
{
	struct table gr = {0}, gs = {0};
	int r;

	r = table_parse(&fmt_group, group, &gr);
	if (r == 0)
		r = table_parse(&fmt_gshadow, gshadow, &gs);
	if (r == 0)
		r = groups_build(ctx, &gr, &gs, out);
	table_free(&gr);
	table_free(&gs);
	return r;
}

/* ---------- the collectors ---------- */

/*
 * Streams the account file PATH into T; a missing optional file is not
 * reported, an unreadable one is, with CONSEQUENCE. Returns 0 or -ENOMEM.
 */
static int table_read(const struct collect_ctx *ctx, const struct format *fmt, const char *path,
                      bool required, const char *consequence, struct table *t)
{
	struct rootfs_lines l;
	const char *line;
	uint64_t len;
	size_t n;
	int r;

	*t = (struct table){.fmt = fmt, .path = path};
	r = rootfs_lines_open(ctx->rootfd, path, ACCOUNTS_MAX_ENTRY, true, &l, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		t->err = r;
		if (r != -ENOENT || required)
			accounts_report_read(ctx, path, r, consequence);
		return 0;
	}
	t->present = true;
	while (!t->truncated && (r = rootfs_lines_next(&l, &line, &n, &len)) > 0) {
		r = table_add(t, line, n, len, l.lineno);
		if (r < 0)
			break;
	}
	if (r < 0 && r != -ENOMEM) {
		t->truncated = l.lineno < UINT_MAX ? l.lineno + 1 : UINT_MAX;
		t->why = TRUNC_READ;
		collect_problem(ctx, path, t->truncated, r, "cannot be read from this line on; %s",
		                consequence);
	}
	rootfs_lines_close(&l);
	if (r == -ENOMEM)
		return r;
	return table_index(t);
}

int collect_users(const struct collect_ctx *ctx, struct obj_set *out)
{
	struct table pw = {0}, sh = {0}, gr = {0};
	struct accounts_keycfg cfg = {0};
	int r;

	if (sodium_init() < 0)
		return -EIO;
	r = table_read(ctx, &fmt_passwd, "/etc/passwd", true, "no users are recorded", &pw);
	if (r == 0 && pw.present)
		r = table_read(ctx, &fmt_shadow, "/etc/shadow", false,
		               "passwords kept there are not recorded", &sh);
	if (r == 0 && pw.present)
		r = table_read(ctx, &fmt_group, "/etc/group", true,
		               "users' groups are not recorded", &gr);
	if (r == 0 && pw.present)
		r = accounts_keycfg_load(ctx, &cfg);
	if (r == 0)
		r = users_build(ctx, &pw, &sh, &gr, &cfg, out);
	accounts_keycfg_free(&cfg);
	table_free(&pw);
	table_free(&sh);
	table_free(&gr);
	return r;
}

int collect_groups(const struct collect_ctx *ctx, struct obj_set *out)
{
	struct table gr = {0}, gs = {0};
	int r;

	r = table_read(ctx, &fmt_group, "/etc/group", true, "no groups are recorded", &gr);
	if (r == 0 && gr.present)
		r = table_read(ctx, &fmt_gshadow, "/etc/gshadow", false,
		               "group administrators are not recorded", &gs);
	if (r == 0)
		r = groups_build(ctx, &gr, &gs, out);
	table_free(&gr);
	table_free(&gs);
	return r;
}
