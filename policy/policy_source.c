/* SPDX-License-Identifier: ISC */
/* Policy sources: reading files once, within limits, and the include statement. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "policy/policy_int.h"
#include "fim/core/hash.h"

/* --- sources --- */

void policy_source_free(struct source *s)
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
	ns = policy_grow(p->srcs, &p->srcs_cap, p->nsrcs, sizeof(*ns));
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
		policy_source_free(s);
		return r;
	}
	ps->total += s->len;
	p->srcs[p->nsrcs] = s;
	*ret_idx = p->nsrcs++;
	return 0;
}

/* Index of source NAME, read now if it was not read before: a file included twice is read
 * once, so the bundle holds each name once and both includes see the same bytes. */
int policy_source_get(struct parser *ps, const char *name, size_t *ret_idx)
{
	for (size_t i = 0; i < ps->p->nsrcs; i++)
		if (strcmp(ps->p->srcs[i]->name, name) == 0) {
			*ret_idx = i;
			return 0;
		}
	return source_add(ps, name, ret_idx);
}

/* Why policy_source_get() failed with R, in words. */
const char *policy_source_error(int r, char *buf, size_t size)
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

/* --- includes and files --- */

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

	r = policy_source_get(ps, name, &idx);
	if (r < 0)
		return policy_lex_fail(l, pos, r, "cannot open %s: %s", name,
		                       policy_source_error(r, buf, sizeof(buf)));
	if (in_stack(ps, idx))
		return policy_lex_fail(l, pos, -ELOOP, "include cycle through %s", name);
	if (ps->depth + 1 > FIM_MAX_POLICY_DEPTH)
		return policy_lex_fail(l, pos, -ELOOP, "includes nested deeper than %d levels",
		                       FIM_MAX_POLICY_DEPTH);
	if (policy_ident_enter(ps, l->no, idx) < 0)
		return policy_lex_oom(l);
	ps->stack[++ps->depth] = idx;
	r = policy_parse_source(ps, idx);
	ps->depth--;
	if (r == 0 && policy_ident_leave(ps) < 0)
		return policy_lex_oom(l);
	return r;
}

int policy_cmp_str(const void *a, const void *b)
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
		return r == GLOB_NOSPACE
		               ? policy_lex_oom(l)
		               : policy_lex_fail(l, pos, -EIO, "cannot expand %s", pattern);
	}
	qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), policy_cmp_str);
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
		if (policy_lex_is_glob_char(s[i]) || s[i] == '\\')
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
int policy_parse_include(struct line *l)
{
	_cleanup_free_ char *pattern = NULL;
	struct tok t, arg;
	int r;

	r = policy_lex_next_pattern(l, &t, NULL);
	if (r == 0)
		return policy_lex_fail(l, l->pos, -EINVAL, "missing file name after 'include'");
	if (r < 0 || (r = policy_lex_expect_end(l)) < 0)
		return r;
	arg = policy_lex_pattern_body(&t, NULL);
	if (arg.len == 0)
		return policy_lex_fail(l, t.pos, -EINVAL, "empty file name");
	pattern = include_pattern(l->src->name, &arg);
	if (!pattern)
		return policy_lex_oom(l);
	if (policy_lex_has_glob(pattern, strlen(pattern)))
		return l->ps->bundle ? include_glob_bundle(l, t.pos, pattern)
		                     : include_glob_fs(l, t.pos, pattern);
	unescape(pattern);
	return include_one(l, t.pos, pattern);
}
