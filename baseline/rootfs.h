/* SPDX-License-Identifier: ISC */
/* Reading files of the system under --root: symlinks resolved inside the root, sizes bounded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fim/core/common.h"

#define ROOTFS_MAX_FILE (16u << 20) /* largest configuration file read whole */
#define ROOTFS_MAX_DIR  100000      /* most names read from one directory */

/*
 * Opens PATH (absolute, as inside the root) relative to ROOTFD with
 * FLAGS (O_CLOEXEC is added). Symlinks, ".." and absolute link targets
 * are resolved as if ROOTFD were "/" (openat2 RESOLVE_IN_ROOT), so a link
 * in an image never escapes it; with O_NOFOLLOW the last component is not
 * followed. Returns the fd or a negative errno.
 */
int rootfs_open(int rootfd, const char *path, int flags);

/*
 * Reads the regular file PATH under ROOTFD whole into a malloc'd,
 * NUL-terminated buffer (*ret, owned by the caller; *ret_len excludes the
 * NUL). Opens with O_NONBLOCK so a FIFO cannot hang the caller. Returns 0,
 * -ENOENT, -EISDIR/-EINVAL (not a regular file), -EFBIG (over MAX bytes),
 * or another negative errno. With ST not NULL the fstat of the file read is
 * returned there.
 */
int rootfs_read(int rootfd, const char *path, size_t max, char **ret, size_t *ret_len,
                struct stat *st);

/*
 * Lists directory PATH under ROOTFD: the names (without "." and "..") in
 * bytewise order, as a malloc'd array of malloc'd strings (free with
 * rootfs_names_free). Returns 0, -ENOENT, -ENOTDIR, -E2BIG (more than
 * ROOTFS_MAX_DIR names), or another negative errno.
 */
int rootfs_list(int rootfd, const char *path, char ***ret, size_t *ret_n);
void rootfs_names_free(char **names, size_t n);

/* lstat of PATH under ROOTFD (the last component not followed). */
int rootfs_lstat(int rootfd, const char *path, struct stat *st);
/* stat of PATH under ROOTFD (links followed inside the root). */
int rootfs_stat(int rootfd, const char *path, struct stat *st);
/* readlink of PATH under ROOTFD into a malloc'd NUL-terminated string. */
int rootfs_readlink(int rootfd, const char *path, char **ret);

/*
 * A file read line by line in bounded memory, whatever its size and the
 * length of its lines: only the first MAX bytes of a line are kept. Open
 * with rootfs_lines_open, release with rootfs_lines_close (which wipes the
 * buffer: the file may hold secrets).
 */
struct rootfs_lines {
	int fd;
	char *buf;
	size_t cap, max;
	size_t start, end; /* buf[start..end): read, not yet returned */
	bool eof, lstrip;
	unsigned lineno; /* of the last line returned; stops at UINT_MAX */
};

/*
 * Opens the regular file PATH under ROOTFD (O_NONBLOCK, so a FIFO cannot
 * hang the caller) for rootfs_lines_next, keeping at most MAX bytes of a
 * line. With LSTRIP, the blanks that start a line (' ', '\t', '\v', '\f',
 * '\r', as glibc skips them in account files) are skipped, however many,
 * and not kept. Returns 0, -ENOENT, -EISDIR/-EINVAL (not a regular file), -ENOMEM
 * or another negative errno. With ST not NULL the fstat of the file is
 * returned there.
 */
int rootfs_lines_open(int rootfd, const char *path, size_t max, bool lstrip, struct rootfs_lines *l,
                      struct stat *st);

/*
 * Next line: *LINE and *N span its first bytes (at most the MAX given to
 * rootfs_lines_open, without the '\n', with any '\r' before it), valid
 * until the next call; *LEN is the whole line's length, skipped blanks
 * not counted (*N < *LEN: the line was longer than MAX). Returns 1, 0 at
 * the end of the file, or a negative errno (read error).
 */
int rootfs_lines_next(struct rootfs_lines *l, const char **line, size_t *n, uint64_t *len);

/* Closes L and wipes its buffer; accepts an L whose open failed, or closed. */
void rootfs_lines_close(struct rootfs_lines *l);

/*
 * Next line of BUF[0..len) from *pos: LINE and N span it without the '\n'
 * (and without a '\r' before it); *lineno counts lines from 1. Returns
 * false at the end.
 */
bool rootfs_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n,
                      unsigned *lineno);
