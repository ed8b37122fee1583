/* SPDX-License-Identifier: ISC */
/* Shared by the unit tests and fuzzers: temp dirs, fake roots, a problem recorder. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fixture.h"

char *fx_tmpdir(char *buf, size_t size, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(buf, size, "%s/fim-test-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return mkdtemp(buf);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* a directory the test made unreadable must still go */
	if (flag == FTW_DNR || flag == FTW_DP)
		chmod(path, 0700);
	return remove(path) < 0 ? -1 : 0;
}

int fx_rmtree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *fx_path(char *buf, size_t size, const char *root, const char *rel)
{
	snprintf(buf, size, "%s%s%s", root, rel[0] == '/' ? "" : "/", rel);
	return buf;
}

/* Makes every directory above the last component of FULL below ROOTLEN. */
static bool make_parents(char *full, size_t rootlen)
{
	for (char *s = full + rootlen + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int r = mkdir(full, 0755);
		*s = '/';
		if (r < 0 && errno != EEXIST)
			return false;
	}
	return true;
}

bool fx_mkdirs(const char *root, const char *rel)
{
	char full[4096];

	fx_path(full, sizeof(full), root, rel);
	if (!make_parents(full, strlen(root)))
		return false;
	return mkdir(full, 0755) == 0 || errno == EEXIST;
}

bool fx_parents(const char *root, const char *rel)
{
	char full[4096];

	fx_path(full, sizeof(full), root, rel);
	return make_parents(full, strlen(root));
}

bool fx_put_bytes(const char *root, const char *rel, const void *data, size_t n, mode_t mode)
{
	char full[4096];
	int fd;
	bool ok;

	fx_path(full, sizeof(full), root, rel);
	if (!make_parents(full, strlen(root)))
		return false;
	unlink(full);
	fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	ok = write(fd, data, n) == (ssize_t)n && fchmod(fd, mode) == 0;
	return close(fd) == 0 && ok;
}

bool fx_put(const char *root, const char *rel, const char *text)
{
	return fx_put_bytes(root, rel, text, strlen(text), 0644);
}

bool fx_link(const char *root, const char *rel, const char *target)
{
	char full[4096];

	fx_path(full, sizeof(full), root, rel);
	return make_parents(full, strlen(root)) && symlink(target, full) == 0;
}

bool fx_del(const char *root, const char *rel)
{
	char full[4096];

	return unlink(fx_path(full, sizeof(full), root, rel)) == 0;
}

bool fx_fifo(const char *root, const char *rel)
{
	char full[4096];

	fx_path(full, sizeof(full), root, rel);
	return make_parents(full, strlen(root)) && mkfifo(full, 0644) == 0;
}

bool fx_chmod(const char *root, const char *rel, mode_t mode)
{
	char full[4096];

	return chmod(fx_path(full, sizeof(full), root, rel), mode) == 0;
}

bool fx_problem_sane(const char *path, unsigned line, unsigned max_line, int err, const char *msg)
{
	if (!path || !msg || !msg[0] || strlen(msg) >= 512 || err >= 0)
		return false;
	return max_line == 0 || (line >= 1 && line <= max_line);
}

void fx_on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg)
{
	struct fx_problems *ps = userdata;

	if (ps->n < FX_MAX_PROBLEMS) {
		struct fx_problem *p = &ps->p[ps->n];

		snprintf(p->path, sizeof(p->path), "%s", path);
		p->line = line;
		p->err = err;
		snprintf(p->msg, sizeof(p->msg), "%s", msg);
	}
	ps->n++;
}

char *fx_problems_text(const struct fx_problems *ps, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ps->n && i < FX_MAX_PROBLEMS && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s:%u: %s\n", ps->p[i].path,
		                 ps->p[i].line, ps->p[i].msg);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}
