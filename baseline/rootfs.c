/* SPDX-License-Identifier: ISC */
/* Reading files of the system under --root: symlinks resolved inside the root, sizes bounded. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "baseline/rootfs.h"

int rootfs_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
	        .flags = (uint64_t)(flags | O_CLOEXEC),
	        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int rootfs_read(int rootfd, const char *path, size_t max, char **ret, size_t *ret_len,
                struct stat *st)
{
	_cleanup_close_ int fd = rootfs_open(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat sb;
	size_t n = 0, cap;

	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (S_ISDIR(sb.st_mode))
		return -EISDIR;
	if (!S_ISREG(sb.st_mode))
		return -EINVAL;
	if ((uint64_t)sb.st_size > max)
		return -EFBIG;
	cap = (size_t)sb.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k = read(fd, buf + n, cap - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == cap) { /* grew while being read */
			char *nb;

			if (cap > max)
				return -EFBIG;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
	}
	buf[n] = '\0';
	if (st)
		*st = sb;
	*ret = TAKE_PTR(buf);
	*ret_len = n;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void rootfs_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int rootfs_list(int rootfd, const char *path, char ***ret, size_t *ret_n)
{
	int fd = rootfs_open(rootfd, path, O_RDONLY | O_DIRECTORY);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			r = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n >= ROOTFS_MAX_DIR) {
			r = -E2BIG;
			break;
		}
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*names));
			if (!nn) {
				r = -ENOMEM;
				break;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (r < 0) {
		rootfs_names_free(names, n);
		return r;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	*ret = names;
	*ret_n = n;
	return 0;
}

/* Splits PATH into an fd on its parent (resolved in the root) and the last name. */
static int parent_of(int rootfd, const char *path, const char **ret_name)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t dn;

	if (!slash) {
		*ret_name = path;
		return rootfs_open(rootfd, "/", O_PATH | O_DIRECTORY);
	}
	dn = (size_t)(slash - path);
	if (dn >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, dn);
	dir[dn] = '\0';
	*ret_name = slash[1] ? slash + 1 : ".";
	return rootfs_open(rootfd, dn ? dir : "/", O_PATH | O_DIRECTORY);
}

int rootfs_lstat(int rootfd, const char *path, struct stat *st)
{
	const char *name;
	_cleanup_close_ int dfd = parent_of(rootfd, path, &name);

	if (dfd < 0)
		return dfd;
	return fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int rootfs_stat(int rootfd, const char *path, struct stat *st)
{
	_cleanup_close_ int fd = rootfs_open(rootfd, path, O_PATH);

	if (fd < 0)
		return fd;
	return fstat(fd, st) < 0 ? -errno : 0;
}

int rootfs_readlink(int rootfd, const char *path, char **ret)
{
	const char *name;
	_cleanup_close_ int dfd = parent_of(rootfd, path, &name);
	char buf[4097];
	ssize_t n;

	if (dfd < 0)
		return dfd;
	n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

bool rootfs_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n,
                      unsigned *lineno)
{
	const char *nl;
	size_t k;

	if (*pos >= len)
		return false;
	nl = memchr(buf + *pos, '\n', len - *pos);
	k = nl ? (size_t)(nl - (buf + *pos)) : len - *pos;
	*line = buf + *pos;
	*n = k && (*line)[k - 1] == '\r' ? k - 1 : k;
	*pos += k + 1;
	(*lineno)++;
	return true;
}

#define LINES_CHUNK 65536 /* bytes read at a time */

int rootfs_lines_open(int rootfd, const char *path, size_t max, bool lstrip, struct rootfs_lines *l,
                      struct stat *st)
{
	_cleanup_close_ int fd = rootfs_open(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	struct stat sb;

	*l = (struct rootfs_lines){.fd = -1};
	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (S_ISDIR(sb.st_mode))
		return -EISDIR;
	if (!S_ISREG(sb.st_mode))
		return -EINVAL;
	l->cap = LINES_CHUNK;
	l->buf = malloc(l->cap);
	if (!l->buf)
		return -ENOMEM;
	l->max = max;
	l->lstrip = lstrip;
	l->fd = TAKE_FD(fd);
	if (st)
		*st = sb;
	return 0;
}

/* Makes room after l->end: moves the unreturned bytes to the front, or
 * grows the buffer (never past max + LINES_CHUNK; the old one is wiped). */
static int lines_room(struct rootfs_lines *l)
{
	size_t have = l->end - l->start, cap;
	char *nb;

	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, have);
		l->start = 0;
		l->end = have;
		return 0;
	}
	cap = l->cap * 2 < l->max + LINES_CHUNK ? l->cap * 2 : l->max + LINES_CHUNK;
	if (cap <= l->cap)
		return -EOVERFLOW; /* cannot happen: a kept line is at most max bytes */
	nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	memcpy(nb, l->buf, have);
	explicit_bzero(l->buf, l->cap);
	free(l->buf);
	l->buf = nb;
	l->cap = cap;
	return 0;
}

/* The whitespace glibc's line reader skips at the start of a line. */
static bool lead_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

int rootfs_lines_next(struct rootfs_lines *l, const char **line, size_t *n, uint64_t *len)
{
	uint64_t dropped = 0, lead = 0; /* bytes of this line not kept: past max, leading */
	bool started = !l->lstrip;
	size_t off = 0; /* bytes after l->start already searched for '\n' */
	int r;

	for (;;) {
		const char *nl = NULL;

		if (!started) {
			while (l->start < l->end && lead_space(l->buf[l->start])) {
				l->start++;
				lead++;
			}
			started = l->start < l->end;
		}
		if (started)
			nl = memchr(l->buf + l->start + off, '\n', l->end - l->start - off);
		if (nl) {
			size_t k = (size_t)(nl - (l->buf + l->start));

			*line = l->buf + l->start;
			*n = k < l->max ? k : l->max;
			*len = k + dropped;
			l->start += k + 1;
			break;
		}
		if (l->end - l->start > l->max) { /* keep the head, read past the rest */
			dropped += l->end - l->start - l->max;
			l->end = l->start + l->max;
		}
		off = l->end - l->start;
		if (l->eof) {
			if (l->end == l->start && !dropped && !lead)
				return 0;
			*line = l->buf + l->start;
			*n = l->end - l->start;
			*len = *n + dropped;
			l->start = l->end;
			break;
		}
		if (l->end == l->cap) {
			r = lines_room(l);
			if (r < 0)
				return r;
		}
		for (;;) {
			ssize_t k = read(l->fd, l->buf + l->end, l->cap - l->end);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -errno;
			if (k == 0)
				l->eof = true;
			l->end += (size_t)k;
			break;
		}
	}
	if (l->lineno < UINT_MAX)
		l->lineno++;
	return 1;
}

void rootfs_lines_close(struct rootfs_lines *l)
{
	if (l->buf) {
		explicit_bzero(l->buf, l->cap);
		free(l->buf);
	}
	if (l->fd >= 0)
		close(l->fd);
	*l = (struct rootfs_lines){.fd = -1};
}
