/* SPDX-License-Identifier: ISC */
/* The file collector: turns one directory entry into a file record. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "fim/core/record.h"

/* Per-thread working memory: the read buffer and the digest context. */
struct files_scratch {
	enum hash_algo algo;
	struct hash_ctx *hash;
	uint8_t *io;
	size_t io_size;
	struct buf names;
	bool keep_cache; /* do not drop the pages of cold files after reading */
	/* When set, called between chunks of a read: a negative return stops
	 * the hash with that error (a daemon that stops, a test's pace). Such
	 * a scratch reads through read(2) only, so no chunk is unbounded. */
	int (*tick)(void *ctx);
	void *tick_ctx;
};

/* Where a record's variable-length values live: the spans of a collected
 * record point into these until the next files_collect with the same text. */
struct files_text {
	struct buf target, xattrs, acl, caps, selinux;
};

/* Returns 0 or -ENOMEM. */
int files_scratch_init(struct files_scratch *s, enum hash_algo algo);
void files_scratch_free(struct files_scratch *s);
void files_text_free(struct files_text *t);

/* Attributes a stat alone gives; the rest needs the file itself. */
#define FILES_STAT_ATTRS                                                                           \
	(ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_UID) | ATTR_BIT(ATTR_GID) |     \
	 ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME) |                       \
	 ATTR_BIT(ATTR_ATIME) | ATTR_BIT(ATTR_INODE) | ATTR_BIT(ATTR_NLINK))

/* An O_PATH fd on entry NAME of DIRFD (a link is not followed): it names
 * one inode without opening it. Returns the fd or a negative errno. */
int files_pin(int dirfd, const char *name);

/* Opens the file PIN names, which the caller's fstat of PIN showed to be
 * regular, for reading (through /proc/self/fd, so no name is looked up
 * again), without touching its atime where permitted. Returns the fd or a
 * negative errno. */
int files_open_pinned(int pin);

/* files_pin, a check that it is a regular file (else -EAGAIN), and
 * files_open_pinned. */
int files_open(int dirfd, const char *name);

/* What a check wants to know about an append-only ("growing") file. */
struct files_prefix {
	const struct file_rec *base; /* baseline record, or NULL */
	bool same;                   /* out: the first base->size bytes hash as before */
};

/*
 * Fills *out with the attributes ATTRS of entry NAME in directory DIRFD,
 * whose lstat is *ST; OWN is the entry's own fd when it is already open (a
 * directory being walked, a file from files_open; not closed here), else
 * -1. Values go to T, reads use S. Only regular files are opened for
 * reading. The record describes the object that was actually read: for a
 * regular file, the fstat of the hashed fd. Returns 0, or a negative errno
 * when some attribute could not be read (the record still holds what
 * could: REC_UNREADABLE is set when the content was not hashed; -EAGAIN
 * means it kept changing while being read).
 */
int files_collect(struct files_scratch *s, struct files_text *t, int dirfd, const char *name,
                  int own, const struct stat *st, attrset_t attrs, struct files_prefix *prefix,
                  struct file_rec *out);

/* Record fields from a stat buffer (type, mode, ids, size, times, ...). */
void files_from_stat(const struct stat *st, attrset_t attrs, struct file_rec *out);
