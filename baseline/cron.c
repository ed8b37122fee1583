/* SPDX-License-Identifier: ISC */
/* Cron collector: system, per-user and anacron tables and run-parts scripts as records. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fim/core/hash.h"
#include "baseline/cron.h"
#include "baseline/rootfs.h"

#define PATH_BUF 4096

/* State of one cron_parse call. */
struct parse {
	const struct collect_ctx *ctx;
	const char *path;
	struct obj_set *out;
	enum cron_format format;
	size_t *budget;
	unsigned problems;
	size_t count[2], bytes[2]; /* per list: [0] jobs, [1] env */
	bool full[2];
	char *scratch; /* CRON_MAX_LINE + 1 bytes: the element being built */
	size_t sn;
	char *join; /* CRON_MAX_LINE + 1 bytes: an anacron line with its continuations */
};

static const char *const cron_keywords[] = {
        "@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
};
/* anacron's named periods; @annually is cronie's spelling of @yearly */
static const char *const anacron_keywords[] = {
        "@daily", "@weekly", "@monthly", "@yearly", "@annually",
};
static const char *const month_names[] = {
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const field_extra[] = {"", "", "", ", and month names", ", and day names"};
static const char *const field_names[] = {"minute", "hour", "day-of-month", "month", "day-of-week"};

/* Field separators, as cron's Skip_Blanks. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* What cron trims around names, values and commands (isspace without '\n'). */
static bool is_space(char c)
{
	return is_blank(c) || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void problem(struct parse *p, unsigned line, int err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Reports a problem of the file being parsed, at most CRON_MAX_PROBLEMS of them. */
static void problem(struct parse *p, unsigned line, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->problems > CRON_MAX_PROBLEMS)
		return;
	if (p->problems++ == CRON_MAX_PROBLEMS) {
		collect_problem(p->ctx, p->path, line, err,
		                "more malformed lines follow; they are skipped without a report");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	collect_problem(p->ctx, p->path, line, err, "%s", msg);
}

/* Next blank-separated word of S[*pos..n) into W[0..wn); false when none is left. */
static bool next_word(const char *s, size_t n, size_t *pos, const char **w, size_t *wn)
{
	size_t i = *pos, start;

	while (i < n && is_blank(s[i]))
		i++;
	if (i == n) {
		*pos = i;
		return false;
	}
	start = i;
	while (i < n && !is_blank(s[i]))
		i++;
	*w = s + start;
	*wn = i - start;
	*pos = i;
	return true;
}

/* S[pos..n) without surrounding whitespace, into R[0..rn). */
static void rest_trimmed(const char *s, size_t n, size_t pos, const char **r, size_t *rn)
{
	while (pos < n && is_space(s[pos]))
		pos++;
	while (n > pos && is_space(s[n - 1]))
		n--;
	*r = s + pos;
	*rn = n - pos;
}

static bool word_is(const char *w, size_t wn, const char *const *set, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(set[i]) == wn && memcmp(set[i], w, wn) == 0)
			return true;
	return false;
}

static bool name_is(const char *w, size_t wn, const char *const *set, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(set[i]) == wn && strncasecmp(set[i], w, wn) == 0)
			return true;
	return false;
}

/* A schedule field may hold digits, "*,-/" and, in the month and day-of-week
 * fields (FIELD 3 and 4), the three-letter names of cron(5) in any case. */
static bool field_ok(const char *w, size_t wn, unsigned field)
{
	size_t i = 0;

	while (i < wn) {
		size_t start = i;

		if (is_digit(w[i]) || strchr("*,-/", w[i])) {
			i++;
			continue;
		}
		if (!is_alpha(w[i]))
			return false;
		while (i < wn && is_alpha(w[i]))
			i++;
		if (field == 3 &&
		    name_is(w + start, i - start, month_names, ARRAY_SIZE(month_names)))
			continue;
		if (field == 4 && name_is(w + start, i - start, day_names, ARRAY_SIZE(day_names)))
			continue;
		return false;
	}
	return wn > 0;
}

static bool all_digits(const char *w, size_t wn)
{
	for (size_t i = 0; i < wn; i++)
		if (!is_digit(w[i]))
			return false;
	return wn > 0;
}

/* Reads an optionally quoted name or value starting at S[*pos]: a quoted one
 * ends at its closing quote (false without one; REJECT may not appear
 * inside). Unquoted, it ends before whitespace or STOP ('\0': at the end). */
static bool env_token(const char *s, size_t n, size_t *pos, char stop, char reject, const char **t,
                      size_t *tn, bool *quoted)
{
	size_t i = *pos;

	*quoted = i < n && (s[i] == '"' || s[i] == '\'');
	if (*quoted) {
		const char *end = memchr(s + i + 1, s[i], n - i - 1);

		if (!end || (reject && memchr(s + i + 1, reject, (size_t)(end - (s + i + 1)))))
			return false;
		*t = s + i + 1;
		*tn = (size_t)(end - *t);
		*pos = (size_t)(end - s) + 1;
		return true;
	}
	*t = s + i;
	while (i < n && (stop == '\0' || (!is_space(s[i]) && s[i] != stop)))
		i++;
	*tn = (size_t)(s + i - *t);
	*pos = i;
	return true;
}

/*
 * An assignment "NAME = VALUE" the way cron's load_env reads it: NAME and
 * VALUE may be quoted with ' or " (the quotes are removed; nothing but
 * whitespace may follow a quoted value), whitespace around '=' is dropped
 * and an unquoted value loses trailing whitespace. False when S is not an
 * assignment (cron then reads it as a job).
 */
static bool parse_env(const char *s, size_t n, const char **name, size_t *nn, const char **val,
                      size_t *vn)
{
	size_t i = 0;
	bool quoted;

	while (i < n && is_space(s[i]))
		i++;
	if (!env_token(s, n, &i, '=', '=', name, nn, &quoted) || *nn == 0)
		return false;
	while (i < n && is_space(s[i]))
		i++;
	if (i == n || s[i] != '=')
		return false;
	i++;
	while (i < n && is_space(s[i]))
		i++;
	if (!env_token(s, n, &i, '\0', '\0', val, vn, &quoted))
		return false;
	if (quoted) {
		for (; i < n; i++)
			if (!is_space(s[i]))
				return false;
	} else {
		while (*vn && is_space((*val)[*vn - 1]))
			(*vn)--;
	}
	return true;
}

static void put(struct parse *p, const char *s, size_t n)
{
	/* never overflows: an element is never longer than the line it comes from */
	if (n > CRON_MAX_LINE - p->sn)
		n = CRON_MAX_LINE - p->sn;
	memcpy(p->scratch + p->sn, s, n);
	p->sn += n;
}

static void put_word(struct parse *p, const char *s, size_t n)
{
	if (p->sn)
		put(p, " ", 1);
	put(p, s, n);
}

/* Adds the built element to list ATTR unless a limit was reached. */
static int add_element(struct parse *p, unsigned attr, unsigned line)
{
	unsigned k = attr == CA_JOBS ? 0 : 1;
	size_t cost = p->sn + 1;
	int r;

	if (p->full[k])
		return 0;
	if (p->count[k] >= CRON_MAX_ELEMENTS || cost > OBJ_MAX_VALUE - p->bytes[k] ||
	    (p->budget && cost > *p->budget)) {
		p->full[k] = true;
		problem(p, line, -E2BIG, "too many %s: this one and later ones are not recorded",
		        k == 0 ? "jobs" : "environment assignments");
		return 0;
	}
	r = obj_list_add(p->out, attr, p->scratch, p->sn);
	if (r < 0)
		return r;
	p->count[k]++;
	p->bytes[k] += cost;
	if (p->budget)
		*p->budget -= cost;
	return 0;
}

/* "PERIOD DELAY JOB-ID COMMAND" of anacrontab(5). */
static int parse_anacron_job(struct parse *p, unsigned line, const char *s, size_t n)
{
	const char *w, *cmd;
	size_t wn, cn, pos = 0;

	if (!next_word(s, n, &pos, &w, &wn))
		return 0;
	if (w[0] == '@' ? !word_is(w, wn, anacron_keywords, ARRAY_SIZE(anacron_keywords))
	                : !all_digits(w, wn)) {
		problem(p, line, -EBADMSG,
		        "the period is neither a number of days nor @daily, @weekly, @monthly or "
		        "@yearly");
		return 0;
	}
	put_word(p, w, wn);
	if (!next_word(s, n, &pos, &w, &wn)) {
		problem(p, line, -EBADMSG, "a delay, a job identifier and a command are missing");
		return 0;
	}
	if (!all_digits(w, wn)) {
		problem(p, line, -EBADMSG, "the delay is not a number of minutes");
		return 0;
	}
	put_word(p, w, wn);
	if (!next_word(s, n, &pos, &w, &wn)) {
		problem(p, line, -EBADMSG, "a job identifier and a command are missing");
		return 0;
	}
	put_word(p, w, wn);
	rest_trimmed(s, n, pos, &cmd, &cn);
	if (cn == 0) {
		problem(p, line, -EBADMSG, "the command is missing");
		return 0;
	}
	put_word(p, cmd, cn);
	return add_element(p, CA_JOBS, line);
}

/* "SCHEDULE [USER] COMMAND" of crontab(5), SCHEDULE five fields or an @keyword. */
static int parse_cron_job(struct parse *p, unsigned line, const char *s, size_t n)
{
	const char *w, *cmd;
	size_t wn, cn, pos = 0;

	if (!next_word(s, n, &pos, &w, &wn))
		return 0;
	if (w[0] == '@') {
		if (!word_is(w, wn, cron_keywords, ARRAY_SIZE(cron_keywords))) {
			problem(p, line, -EBADMSG, "unknown @keyword");
			return 0;
		}
		put_word(p, w, wn);
	} else {
		for (unsigned f = 0; f < 5; f++) {
			if (f > 0 && !next_word(s, n, &pos, &w, &wn)) {
				problem(p, line, -EBADMSG,
				        "fewer than five schedule fields and a command");
				return 0;
			}
			if (!field_ok(w, wn, f)) {
				problem(p, line, -EBADMSG,
				        "%s field: only digits and * , - / are allowed%s",
				        field_names[f], field_extra[f]);
				return 0;
			}
			put_word(p, w, wn);
		}
	}
	if (p->format == CRON_SYSTEM) {
		if (!next_word(s, n, &pos, &w, &wn)) {
			problem(p, line, -EBADMSG, "the user and the command are missing");
			return 0;
		}
		put_word(p, w, wn);
	}
	rest_trimmed(s, n, pos, &cmd, &cn);
	if (cn == 0) {
		problem(p, line, -EBADMSG, "the command is missing");
		return 0;
	}
	put_word(p, cmd, cn);
	return add_element(p, CA_JOBS, line);
}

/* One logical line S[0..n), starting at line LINE. */
static int parse_line(struct parse *p, unsigned line, const char *s, size_t n)
{
	const char *name, *val;
	size_t nn, vn, i = 0;

	if (n > CRON_MAX_LINE) {
		problem(p, line, -EBADMSG, "the line is longer than %u bytes", CRON_MAX_LINE);
		return 0;
	}
	if (memchr(s, '\0', n)) {
		problem(p, line, -EBADMSG, "the line contains a NUL byte");
		return 0;
	}
	while (i < n && is_space(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	p->sn = 0;
	if (parse_env(s, n, &name, &nn, &val, &vn)) {
		put(p, name, nn);
		put(p, "=", 1);
		put(p, val, vn);
		return add_element(p, CA_ENV, line);
	}
	if (p->format == CRON_ANACRON)
		return parse_anacron_job(p, line, s, n);
	return parse_cron_job(p, line, s, n);
}

/*
 * anacron joins a line ending in '\' with the next one (the backslash and
 * the newline become one space) before it looks for comments, so a
 * continued comment swallows the next line. Builds that logical line in
 * p->join; *too_long when it would exceed CRON_MAX_LINE (the continuation
 * lines are still consumed).
 */
static void join_lines(struct parse *p, const char *buf, size_t len, size_t *pos, const char *s,
                       size_t n, unsigned *lineno, size_t *ret_n, bool *too_long)
{
	size_t jn = 0;

	*too_long = false;
	for (;;) {
		/* a '\' that ends the file without a newline stays */
		bool more = n > 0 && s[n - 1] == '\\' && *pos <= len;
		size_t take = more ? n - 1 : n;

		if (!*too_long && take + (more ? 1 : 0) <= CRON_MAX_LINE - jn) {
			memcpy(p->join + jn, s, take);
			jn += take;
			if (more)
				p->join[jn++] = ' ';
		} else {
			*too_long = true;
		}
		if (!more || !rootfs_next_line(buf, len, pos, &s, &n, lineno))
			break;
	}
	*ret_n = jn;
}

int cron_parse(const struct collect_ctx *ctx, const char *path, enum cron_format format,
               const char *buf, size_t len, size_t *budget, struct obj_set *out)
{
	_cleanup_free_ char *scratch = malloc(CRON_MAX_LINE + 1);
	_cleanup_free_ char *join = NULL;
	struct parse p = {
	        .ctx = ctx,
	        .path = path,
	        .out = out,
	        .format = format,
	        .budget = budget,
	        .scratch = scratch,
	};
	const char *s;
	size_t pos = 0, n;
	unsigned lineno = 0;
	int r;

	if (!scratch)
		return -ENOMEM;
	r = obj_list_touch(out, CA_JOBS);
	if (r == 0)
		r = obj_list_touch(out, CA_ENV);
	while (r == 0 && rootfs_next_line(buf, len, &pos, &s, &n, &lineno)) {
		unsigned first = lineno;
		bool too_long;

		if (format == CRON_ANACRON && n > 0 && s[n - 1] == '\\') {
			if (!join && !(join = p.join = malloc(CRON_MAX_LINE + 1)))
				return -ENOMEM;
			join_lines(&p, buf, len, &pos, s, n, &lineno, &n, &too_long);
			if (too_long) {
				problem(&p, first, -EBADMSG,
				        "the line and its continuations are longer than %u bytes",
				        CRON_MAX_LINE);
				continue;
			}
			s = join;
		}
		r = parse_line(&p, first, s, n);
	}
	return r;
}

/* --- the collector --- */

static int end_record(const struct collect_ctx *ctx, struct obj_set *out, const char *path)
{
	int r = obj_end(out);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		collect_problem(ctx, path, 0, r, "could not be recorded");
	return 0;
}

/*
 * Records the table PATH of FORMAT (with "user" USER unless NULL). A
 * missing file is no object; one that cannot be read is reported and
 * recorded without jobs and env.
 */
static int collect_table(const struct collect_ctx *ctx, struct obj_set *out, const char *path,
                         enum cron_format format, const char *user, size_t *budget)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r, rr;

	r = rootfs_read(ctx->rootfd, path, ROOTFS_MAX_FILE, &buf, &len, NULL);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		collect_problem(ctx, path, 0, r,
		                r == -EISDIR || r == -EINVAL ? "not a regular file"
		                : r == -EFBIG                ? "too large to be read"
		                                             : "cannot be read");
	rr = obj_begin(out, path, strlen(path));
	if (rr == 0 && user)
		rr = obj_set_str(out, CA_USER, user);
	if (rr == 0 && r == 0)
		rr = cron_parse(ctx, path, format, buf, len, budget, out);
	if (rr == -ENOMEM) {
		obj_abort(out);
		return rr;
	}
	return end_record(ctx, out, path);
}

/* 1 when PATH is a regular file (a symlink followed inside the root), 0 when
 * it is something else or does not exist, or a negative errno. */
static int is_regular(int rootfd, const char *path, struct stat *st)
{
	int r = rootfs_lstat(rootfd, path, st);

	if (r == 0 && S_ISLNK(st->st_mode))
		r = rootfs_stat(rootfd, path, st);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	return S_ISREG(st->st_mode) ? 1 : 0;
}

typedef int (*entry_fn)(const struct collect_ctx *ctx, struct obj_set *out, const char *path,
                        const char *name, const struct stat *st, const void *arg, size_t *budget);

/*
 * Calls FN for each regular file (or symlink to one) directly in DIR, in
 * name order, up to CRON_MAX_ENTRIES. A missing DIR is fine; an unlistable
 * one, or an entry whose type cannot be told, is reported.
 */
static int collect_dir(const struct collect_ctx *ctx, struct obj_set *out, const char *dir,
                       entry_fn fn, const void *arg, size_t *budget)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	r = rootfs_list(ctx->rootfd, dir, &names, &n);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		collect_problem(ctx, dir, 0, r, "the directory cannot be listed");
		return 0;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		char path[PATH_BUF];
		struct stat st;
		int k;

		if (i == CRON_MAX_ENTRIES) {
			collect_problem(ctx, dir, 0, -E2BIG,
			                "more than %u entries: the rest are not recorded",
			                CRON_MAX_ENTRIES);
			break;
		}
		k = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (k < 0 || (size_t)k >= sizeof(path))
			continue; /* cannot happen: a name has at most 255 bytes */
		k = is_regular(ctx->rootfd, path, &st);
		if (k < 0)
			collect_problem(ctx, path, 0, k, "the type of the entry cannot be told");
		if (k > 0)
			r = fn(ctx, out, path, names[i], &st, arg, budget);
	}
	rootfs_names_free(names, n);
	return r;
}

static int table_entry(const struct collect_ctx *ctx, struct obj_set *out, const char *path,
                       const char *name, const struct stat *st, const void *arg, size_t *budget)
{
	enum cron_format format = *(const enum cron_format *)arg;

	return collect_table(ctx, out, path, format, format == CRON_USER ? name : NULL, budget);
}

static void to_hex(const uint8_t *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* "sha256:<hex>" of what FD holds, into RET. */
static int hash_content(int fd, char ret[7 + 2 * 32 + 1])
{
	struct hash_ctx *h = hash_new(HASH_SHA256);
	_cleanup_free_ uint8_t *io = malloc(1u << 16);
	uint8_t d[32];
	int r = 0;

	if (!h || !io) {
		hash_free(h);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t k = read(fd, io, 1u << 16);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		r = hash_update(h, io, (size_t)k);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = hash_final(h, d);
	hash_free(h);
	if (r < 0)
		return r;
	memcpy(ret, "sha256:", 7);
	to_hex(d, sizeof(d), ret + 7);
	return 0;
}

/* A run-parts entry: schedule, mode and hash of the file read (the target
 * of a symlink). ST is what is known of it if it cannot be opened. */
static int script_entry(const struct collect_ctx *ctx, struct obj_set *out, const char *path,
                        const char *name, const struct stat *st, const void *arg, size_t *budget)
{
	_cleanup_close_ int fd = -1;
	char hash[7 + 2 * 32 + 1], mode[8];
	struct stat sb = *st;
	int r, hr = -EIO;

	if (strcmp(name, ".placeholder") == 0)
		return 0;
	fd = rootfs_open(ctx->rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0; /* gone since it was listed */
	if (fd >= 0 && fstat(fd, &sb) < 0)
		hr = -errno;
	else if (fd >= 0 && !S_ISREG(sb.st_mode))
		hr = -EINVAL; /* replaced since it was listed: not opened for reading */
	else if (fd >= 0)
		hr = hash_content(fd, hash);
	else
		hr = fd;
	if (hr == -ENOMEM)
		return hr;
	if (hr < 0)
		collect_problem(ctx, path, 0, hr,
		                hr == -EINVAL ? "not a regular file" : "cannot be read");
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(sb.st_mode & 07777));
	r = obj_begin(out, path, strlen(path));
	if (r == 0)
		r = obj_set_str(out, CA_SCHEDULE, (const char *)arg);
	if (r == 0 && hr != -EINVAL)
		r = obj_set_str(out, CA_MODE, mode);
	if (r == 0 && hr == 0)
		r = obj_set_str(out, CA_HASH, hash);
	if (r == -ENOMEM) {
		obj_abort(out);
		return r;
	}
	return end_record(ctx, out, path);
}

int collect_cron(const struct collect_ctx *ctx, struct obj_set *out)
{
	static const enum cron_format fmt_system = CRON_SYSTEM, fmt_user = CRON_USER;
	static const char *const parts[][2] = {
	        {"/etc/cron.hourly", "hourly"}, {"/etc/cron.daily", "daily"},
	        {"/etc/cron.weekly", "weekly"}, {"/etc/cron.monthly", "monthly"},
	        {"/etc/cron.yearly", "yearly"},
	};
	size_t budget = CRON_MAX_TOTAL;
	int r;

	r = collect_table(ctx, out, "/etc/crontab", CRON_SYSTEM, NULL, &budget);
	if (r == 0)
		r = collect_dir(ctx, out, "/etc/cron.d", table_entry, &fmt_system, &budget);
	if (r == 0)
		r = collect_dir(ctx, out, "/var/spool/cron/crontabs", table_entry, &fmt_user,
		                &budget);
	if (r == 0)
		r = collect_dir(ctx, out, "/var/spool/cron", table_entry, &fmt_user, &budget);
	if (r == 0)
		r = collect_table(ctx, out, "/etc/anacrontab", CRON_ANACRON, NULL, &budget);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(parts); i++)
		r = collect_dir(ctx, out, parts[i][0], script_entry, parts[i][1], &budget);
	if (r < 0)
		return r;
	obj_set_sort(out);
	return 0;
}
