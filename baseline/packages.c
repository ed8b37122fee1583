/* SPDX-License-Identifier: ISC */
/* Packages collector: the dpkg status database under --root as one record per package. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "baseline/packages.h"
#include "baseline/rootfs.h"

/* The field of a stanza the parser is in (continuation lines belong to it). */
enum field {
	F_OTHER,
	F_PACKAGE,
	F_STATUS,
	F_VERSION,
	F_ARCH,
	F_CONFFILES,
	F_SOURCE,
	F_MULTI_ARCH,
};

static const struct {
	const char *name;
	enum field f;
} fields[] = {
        {"Package", F_PACKAGE},       {"Status", F_STATUS},       {"Version", F_VERSION},
        {"Architecture", F_ARCH},     {"Conffiles", F_CONFFILES}, {"Source", F_SOURCE},
        {"Multi-Arch", F_MULTI_ARCH},
};

struct pkg_parser {
	const struct collect_ctx *ctx;
	const char *path;
	struct obj_set *out;
	unsigned problems, packages;
	size_t total;
	bool full;
	/* the stanza being read */
	bool in, bad, seen[F_MULTI_ARCH + 1];
	unsigned first;
	const char *why;
	enum field cur;
	char val[F_MULTI_ARCH + 1][PKG_MAX_FIELD + 1];
	size_t vn[F_MULTI_ARCH + 1];
	char *conf; /* conffile elements, each ending in '\n' */
	size_t cn, ccap, ccount;
};

static void problem(struct pkg_parser *p, unsigned line, int err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void problem(struct pkg_parser *p, unsigned line, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->problems > PKG_MAX_PROBLEMS)
		return;
	if (p->problems++ == PKG_MAX_PROBLEMS) {
		collect_problem(p->ctx, p->path, line, err,
		                "more malformed stanzas follow; they are skipped without a report");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	collect_problem(p->ctx, p->path, line, err, "%s", msg);
}

int packages_parser_new(const struct collect_ctx *ctx, const char *path, struct obj_set *out,
                        struct pkg_parser **ret)
{
	struct pkg_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->ctx = ctx;
	p->path = path;
	p->out = out;
	*ret = p;
	return 0;
}

void packages_parser_free(struct pkg_parser *p)
{
	if (!p)
		return;
	free(p->conf);
	free(p);
}

static void bad(struct pkg_parser *p, const char *why)
{
	if (!p->bad)
		p->why = why;
	p->bad = true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* C is one of SET (never true for NUL, which strchr would find). */
static bool in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A package name as dpkg allows it: [a-z0-9][a-z0-9+.-]+ (one character is
 * tolerated: old databases have them). */
static bool name_valid(const char *s, size_t n)
{
	if (n == 0 || n > 255 || !is_lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && !in_set(s[i], "+.-"))
			return false;
	return true;
}

static bool arch_valid(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Splits a version into epoch, upstream and revision spans. */
static void version_split(const char *v, size_t n, const char **e, size_t *en, const char **u,
                          size_t *un, const char **r, size_t *rn)
{
	const char *colon = memchr(v, ':', n), *dash = NULL;

	*e = v;
	*en = colon ? (size_t)(colon - v) : 0;
	*u = colon ? colon + 1 : v;
	for (const char *c = v + n; c > *u; c--)
		if (c[-1] == '-') {
			dash = c - 1;
			break;
		}
	*un = (size_t)((dash ? dash : v + n) - *u);
	*r = dash ? dash + 1 : v + n;
	*rn = (size_t)(v + n - *r);
}

bool packages_version_valid(const char *v, size_t n)
{
	const char *e, *u, *r;
	size_t en, un, rn;

	if (n == 0 || n > PKG_MAX_FIELD)
		return false;
	version_split(v, n, &e, &en, &u, &un, &r, &rn);
	if (memchr(v, ':', n) && en == 0)
		return false;
	for (size_t i = 0; i < en; i++)
		if (!is_digit(e[i]))
			return false;
	if (en > 9 || un == 0 || !is_digit(u[0]))
		return false;
	for (size_t i = 0; i < un; i++)
		if (!is_digit(u[i]) && !is_alpha(u[i]) && !in_set(u[i], ".+~-:"))
			return false;
	if (memchr(v, '-', n) && rn == 0)
		return false;
	for (size_t i = 0; i < rn; i++)
		if (!is_digit(r[i]) && !is_alpha(r[i]) && !in_set(r[i], ".+~"))
			return false;
	return true;
}

/* Weight of a character in the non-digit parts: '~' before the end, the end
 * before letters, letters before everything else. */
static int order(int c)
{
	if (is_digit((char)c))
		return 0;
	if (is_alpha((char)c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

/* dpkg's comparison of two upstream (or revision) strings. */
static int part_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;

	while (i < an || j < bn) {
		int first = 0;

		while ((i < an && !is_digit(a[i])) || (j < bn && !is_digit(b[j]))) {
			int ac = order(i < an ? (unsigned char)a[i] : 0);
			int bc = order(j < bn ? (unsigned char)b[j] : 0);

			if (ac != bc)
				return ac - bc;
			i++;
			j++;
		}
		while (i < an && a[i] == '0')
			i++;
		while (j < bn && b[j] == '0')
			j++;
		while (i < an && j < bn && is_digit(a[i]) && is_digit(b[j])) {
			if (!first)
				first = a[i] - b[j];
			i++;
			j++;
		}
		if (i < an && is_digit(a[i]))
			return 1;
		if (j < bn && is_digit(b[j]))
			return -1;
		if (first)
			return first;
	}
	return 0;
}

/* Numbers of any length compared by value. */
static int number_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c;

	while (an && *a == '0') {
		a++;
		an--;
	}
	while (bn && *b == '0') {
		b++;
		bn--;
	}
	if (an != bn)
		return an < bn ? -1 : 1;
	c = memcmp(a, b, an);
	return (c > 0) - (c < 0);
}

int packages_version_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	const char *ae, *au, *ar, *be, *bu, *br;
	size_t aen, aun, arn, ben, bun, brn;
	int c;

	version_split(a, an, &ae, &aen, &au, &aun, &ar, &arn);
	version_split(b, bn, &be, &ben, &bu, &bun, &br, &brn);
	c = number_cmp(ae, aen, be, ben);
	if (c == 0)
		c = part_cmp(au, aun, bu, bun);
	if (c == 0)
		c = part_cmp(ar, arn, br, brn);
	return (c > 0) - (c < 0);
}

static const char *const wants[] = {"unknown", "install", "hold", "deinstall", "purge"};
static const char *const flags[] = {"ok", "reinstreq"};
static const char *const states[] = {
        "not-installed",   "config-files",     "half-installed",   "unpacked",
        "half-configured", "triggers-awaited", "triggers-pending", "installed",
};

static bool word_in(const char *w, size_t n, const char *const *set, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(set[i]) == n && memcmp(set[i], w, n) == 0)
			return true;
	return false;
}

/* Next blank-separated word of S[*pos..n). */
static bool next_word(const char *s, size_t n, size_t *pos, const char **w, size_t *wn)
{
	size_t i = *pos;

	while (i < n && is_blank(s[i]))
		i++;
	if (i == n)
		return false;
	*w = s + i;
	while (i < n && !is_blank(s[i]))
		i++;
	*wn = (size_t)(s + i - *w);
	*pos = i;
	return true;
}

/* "WANT FLAG STATE" with known words; the state is returned. */
static bool status_valid(const char *s, size_t n, const char **state, size_t *sn)
{
	const char *w[4];
	size_t wn[4], pos = 0, k = 0;

	while (k < 4 && next_word(s, n, &pos, &w[k], &wn[k]))
		k++;
	if (k != 3 || !word_in(w[0], wn[0], wants, ARRAY_SIZE(wants)) ||
	    !word_in(w[1], wn[1], flags, ARRAY_SIZE(flags)) ||
	    !word_in(w[2], wn[2], states, ARRAY_SIZE(states)))
		return false;
	*state = w[2];
	*sn = wn[2];
	return true;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* " PATH MD5 [obsolete] [remove-on-upgrade]", normalised to single spaces. */
static void conffile_line(struct pkg_parser *p, const char *s, size_t n)
{
	const char *w;
	size_t wn, pos = 0, need = n + 1, words = 0;
	bool seen_obs = false, seen_rou = false;

	if (p->bad)
		return;
	if (p->ccount >= PKG_MAX_CONFFILES) {
		bad(p, "more conffiles than are recorded for one package");
		return;
	}
	if (need > OBJ_MAX_ELEMENT || p->cn + need > OBJ_MAX_VALUE) {
		bad(p, "the conffiles are too long");
		return;
	}
	if (p->cn + need > p->ccap) {
		size_t cap = p->ccap ? p->ccap * 2 : 4096;
		char *c;

		while (cap < p->cn + need)
			cap *= 2;
		c = realloc(p->conf, cap);
		if (!c) {
			bad(p, "out of memory");
			return;
		}
		p->conf = c;
		p->ccap = cap;
	}
	{
		size_t start = p->cn;

		while (next_word(s, n, &pos, &w, &wn)) {
			bool ok;

			if (words == 0)
				ok = w[0] == '/';
			else if (words == 1)
				ok = (wn == 32 && all_hex(w, wn)) ||
				     (wn == 11 && memcmp(w, "newconffile", 11) == 0);
			else if (wn == 8 && memcmp(w, "obsolete", 8) == 0 && !seen_obs)
				ok = seen_obs = true;
			else if (wn == 17 && memcmp(w, "remove-on-upgrade", 17) == 0 && !seen_rou)
				ok = seen_rou = true;
			else
				ok = false;
			if (!ok) {
				p->cn = start;
				bad(p, words == 0   ? "a conffile path is not absolute"
				       : words == 1 ? "a conffile digest is not an MD5 in hex"
				                    : "a conffile has an unknown marker");
				return;
			}
			if (words++)
				p->conf[p->cn++] = ' ';
			memcpy(p->conf + p->cn, w, wn);
			p->cn += wn;
		}
		if (words < 2) {
			p->cn = start;
			bad(p, "a conffile line lacks its digest");
			return;
		}
		p->conf[p->cn++] = '\n';
		p->ccount++;
	}
}

static void reset(struct pkg_parser *p)
{
	p->in = p->bad = false;
	memset(p->seen, 0, sizeof(p->seen));
	memset(p->vn, 0, sizeof(p->vn));
	p->cur = F_OTHER;
	p->cn = p->ccount = 0;
	p->why = NULL;
}

static int record(struct pkg_parser *p)
{
	static const unsigned attr[] = {
	        [F_VERSION] = PA_VERSION,
	        [F_ARCH] = PA_ARCHITECTURE,
	        [F_SOURCE] = PA_SOURCE,
	        [F_MULTI_ARCH] = PA_MULTI_ARCH,
	};
	static const enum field scalar[] = {F_VERSION, F_ARCH, F_SOURCE, F_MULTI_ARCH};
	char id[OBJ_MAX_ID + 1];
	char status[PKG_MAX_FIELD + 1];
	const char *state = NULL, *w;
	size_t sn = 0, cost = p->cn, pos = 0, wn, stn = 0;
	int r;

	if (!p->seen[F_PACKAGE])
		bad(p, "a stanza has no Package field");
	else if (!name_valid(p->val[F_PACKAGE], p->vn[F_PACKAGE]))
		bad(p, "the package name is not valid");
	if (!p->seen[F_STATUS] || !status_valid(p->val[F_STATUS], p->vn[F_STATUS], &state, &sn))
		bad(p, "the Status field is missing or is not \"WANT FLAG STATE\"");
	if (p->seen[F_VERSION] && !packages_version_valid(p->val[F_VERSION], p->vn[F_VERSION]))
		bad(p, "the version is not valid");
	if (p->seen[F_ARCH] && !arch_valid(p->val[F_ARCH], p->vn[F_ARCH]))
		bad(p, "the architecture is not valid");
	if (p->bad) {
		problem(p, p->first, -EBADMSG, "%s: the package is not recorded", p->why);
		return 0;
	}
	if (sn == strlen("not-installed") && memcmp(state, "not-installed", sn) == 0)
		return 0;
	if (p->full)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(scalar); i++)
		cost += p->vn[scalar[i]] + 1;
	if (p->packages >= PKG_MAX_PACKAGES || cost > PKG_MAX_TOTAL - p->total) {
		p->full = true;
		problem(p, p->first, -E2BIG,
		        "too many packages: this one and later ones are not "
		        "recorded");
		return 0;
	}
	snprintf(id, sizeof(id), "%.*s%s%.*s", (int)p->vn[F_PACKAGE], p->val[F_PACKAGE],
	         p->seen[F_ARCH] ? ":" : "", p->seen[F_ARCH] ? (int)p->vn[F_ARCH] : 0,
	         p->val[F_ARCH]);
	/* the status normalised to single spaces */
	while (next_word(p->val[F_STATUS], p->vn[F_STATUS], &pos, &w, &wn)) {
		if (stn)
			status[stn++] = ' ';
		memcpy(status + stn, w, wn);
		stn += wn;
	}
	r = obj_begin(p->out, id, strlen(id));
	if (r == 0)
		r = obj_set_value(p->out, PA_STATUS, status, stn);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(scalar); i++)
		if (p->seen[scalar[i]] && p->vn[scalar[i]])
			r = obj_set_value(p->out, attr[scalar[i]], p->val[scalar[i]],
			                  p->vn[scalar[i]]);
	if (r == 0 && p->seen[F_CONFFILES])
		r = obj_list_touch(p->out, PA_CONFFILES);
	for (size_t i = 0; r == 0 && i < p->cn;) {
		const char *nl = memchr(p->conf + i, '\n', p->cn - i);

		r = obj_list_add(p->out, PA_CONFFILES, p->conf + i, (size_t)(nl - (p->conf + i)));
		i = (size_t)(nl - p->conf) + 1;
	}
	if (r == -ENOMEM) {
		obj_abort(p->out);
		return r;
	}
	r = obj_end(p->out);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		problem(p, p->first, r, "the package could not be recorded");
		return 0;
	}
	p->packages++;
	p->total += cost;
	return 0;
}

int packages_parser_end(struct pkg_parser *p)
{
	int r = 0;

	if (p->in)
		r = record(p);
	reset(p);
	return r;
}

static void field_value(struct pkg_parser *p, enum field f, const char *v, size_t n)
{
	if (p->seen[f]) {
		bad(p, "a field appears twice");
		return;
	}
	p->seen[f] = true;
	trim(&v, &n);
	if (f == F_CONFFILES) {
		if (n)
			conffile_line(p, v, n);
		return;
	}
	if (n > PKG_MAX_FIELD) {
		bad(p, "a field is too long");
		return;
	}
	memcpy(p->val[f], v, n);
	p->vn[f] = n;
}

int packages_parser_line(struct pkg_parser *p, const char *line, size_t n, unsigned long long len,
                         unsigned lineno)
{
	const char *colon;
	size_t i;

	if (n == 0 || (n == 1 && line[0] == '\r')) {
		/* a blank line ends the stanza */
		return packages_parser_end(p);
	}
	if (!p->in) {
		p->in = true;
		p->first = lineno;
	}
	if (memchr(line, '\0', n)) {
		bad(p, "a line contains a NUL byte");
		return 0;
	}
	if (is_blank(line[0])) {
		/* continuation of the current field */
		if (p->cur == F_CONFFILES) {
			if (n < len)
				bad(p, "a conffile line is too long");
			else
				conffile_line(p, line, n);
		} else if (p->cur != F_OTHER) {
			bad(p, "a single-line field continues on the next line");
		}
		return 0;
	}
	colon = memchr(line, ':', n);
	if (!colon) {
		p->cur = F_OTHER;
		bad(p, "a line is neither a field nor a continuation");
		return 0;
	}
	p->cur = F_OTHER;
	i = (size_t)(colon - line);
	for (size_t k = 0; k < ARRAY_SIZE(fields); k++)
		if (strlen(fields[k].name) == i && strncasecmp(fields[k].name, line, i) == 0)
			p->cur = fields[k].f;
	if (p->cur == F_OTHER)
		return 0;
	if (n < len) {
		bad(p, "a field line is too long");
		return 0;
	}
	field_value(p, p->cur, colon + 1, n - i - 1);
	return 0;
}

int collect_packages(const struct collect_ctx *ctx, struct obj_set *out)
{
	struct rootfs_lines l = {.fd = -1};
	struct pkg_parser *p = NULL;
	const char *line;
	size_t n;
	uint64_t len;
	int r;

	r = rootfs_lines_open(ctx->rootfd, PKG_STATUS_PATH, PKG_MAX_LINE, false, &l, NULL);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0; /* not a dpkg system: no packages */
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		collect_problem(ctx, PKG_STATUS_PATH, 0, r,
		                r == -EISDIR || r == -EINVAL ? "not a regular file"
		                                             : "cannot be read");
		return 0;
	}
	r = packages_parser_new(ctx, PKG_STATUS_PATH, out, &p);
	while (r == 0) {
		int k = rootfs_lines_next(&l, &line, &n, &len);

		if (k < 0) {
			collect_problem(ctx, PKG_STATUS_PATH, l.lineno, k,
			                "a read failed: the rest is not recorded");
			break;
		}
		if (k == 0)
			break;
		r = packages_parser_line(p, line, n, len, l.lineno);
	}
	if (r == 0)
		r = packages_parser_end(p);
	packages_parser_free(p);
	rootfs_lines_close(&l);
	if (r < 0)
		return r;
	obj_set_sort(out);
	return 0;
}

/* --- drift in the package's own terms --- */

struct desc {
	char *buf;
	size_t size, used;
};

static void __attribute__((format(printf, 2, 3))) say(struct desc *d, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (d->used + 1 >= d->size)
		return;
	if (d->used) {
		k = snprintf(d->buf + d->used, d->size - d->used, "; ");
		d->used += (size_t)k < d->size - d->used ? (size_t)k : d->size - d->used - 1;
	}
	va_start(ap, fmt);
	k = vsnprintf(d->buf + d->used, d->size - d->used, fmt, ap);
	va_end(ap);
	if (k > 0)
		d->used += (size_t)k < d->size - d->used ? (size_t)k : d->size - d->used - 1;
}

static struct bytes val(const struct obj_rec *r, unsigned a)
{
	return r && (r->attrs & ATTR_BIT(a)) ? r->val[a] : (struct bytes){(const uint8_t *)"", 0};
}

/* Word I (0: want, 1: flag, 2: state) of the status. */
static struct bytes status_word(const struct obj_rec *r, unsigned i)
{
	struct bytes s = val(r, PA_STATUS);
	size_t pos = 0, wn = 0;
	const char *w = "";

	for (unsigned k = 0; k <= i; k++)
		if (!next_word((const char *)s.p, s.n, &pos, &w, &wn))
			return (struct bytes){(const uint8_t *)"", 0};
	return (struct bytes){(const uint8_t *)w, wn};
}

static bool is(struct bytes b, const char *s)
{
	return b.n == strlen(s) && memcmp(b.p, s, b.n) == 0;
}

/* Installed enough to call it installed: files unpacked and configured. */
static bool present(const struct obj_rec *r)
{
	struct bytes st = status_word(r, 2);

	return r && !is(st, "config-files") && !is(st, "not-installed");
}

/* The state of an operation that did not finish, or NULL. */
static const char *failure(const struct obj_rec *r)
{
	static const char *const unfinished[] = {"half-installed", "unpacked", "half-configured",
	                                         "triggers-awaited", "triggers-pending"};
	struct bytes st = status_word(r, 2);

	if (!r)
		return NULL;
	if (is(status_word(r, 1), "reinstreq"))
		return "reinst-required";
	for (size_t i = 0; i < ARRAY_SIZE(unfinished); i++)
		if (is(st, unfinished[i]))
			return unfinished[i];
	return NULL;
}

const char *packages_describe(const struct obj_rec *before, const struct obj_rec *after, char *buf,
                              size_t size, bool *downgrade, bool *failed)
{
	struct desc d = {.buf = buf, .size = size};
	struct bytes vb = val(before, PA_VERSION), va = val(after, PA_VERSION);
	const char *fb = failure(before), *fa = failure(after);
	bool hb = is(status_word(before, 0), "hold"), ha = is(status_word(after, 0), "hold");

	*downgrade = *failed = false;
	if (size)
		buf[0] = '\0';
	if (present(after) && !present(before)) {
		say(&d, "installed %.*s", (int)va.n, (const char *)va.p);
	} else if (present(before) && !present(after)) {
		say(&d, "removed %.*s%s", (int)vb.n, (const char *)vb.p,
		    after ? " (config files remain)" : "");
	} else if (!after && before) {
		say(&d, "purged (its config files were left)");
	} else if (!before && after) {
		say(&d, "config files of %.*s left behind", (int)va.n, (const char *)va.p);
	} else if (before && after && (vb.n != va.n || memcmp(vb.p, va.p, vb.n) != 0)) {
		int c = packages_version_cmp((const char *)vb.p, vb.n, (const char *)va.p, va.n);

		*downgrade = c > 0;
		say(&d, "%s %.*s -> %.*s%s",
		    c > 0   ? "downgraded"
		    : c < 0 ? "upgraded"
		            : "rebuilt",
		    (int)vb.n, (const char *)vb.p, (int)va.n, (const char *)va.p,
		    c > 0 ? " (suspicious)" : "");
	}
	if (after && ha && !hb)
		say(&d, "held");
	if (before && after && hb && !ha)
		say(&d, "unheld");
	if (fa && (!fb || strcmp(fa, fb) != 0)) {
		*failed = true;
		say(&d, "failed: %s", fa);
	} else if (fb && after && !fa) {
		say(&d, "repaired");
	}
	if (before && after && (before->attrs & ATTR_BIT(PA_CONFFILES)) &&
	    (after->attrs & ATTR_BIT(PA_CONFFILES)) &&
	    (vb.n == va.n && memcmp(vb.p, va.p, vb.n) == 0)) {
		struct bytes cb = before->val[PA_CONFFILES], ca = after->val[PA_CONFFILES];

		if (cb.n != ca.n || memcmp(cb.p, ca.p, cb.n) != 0)
			say(&d, "config file digests changed without a new version");
	}
	return buf;
}
