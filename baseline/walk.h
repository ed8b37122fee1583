/* SPDX-License-Identifier: ISC */
/* The policy-driven tree walk under --root: sorted, fd-relative, never follows links. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "policy/policy.h"

struct walk_entry {
	const char *path; /* full path inside the root, NUL-terminated */
	size_t path_len;
	const char *name; /* last component ("" for the root) */
	size_t name_len;
	int dirfd;                      /* parent directory (the root fd for "/") */
	int fd;                         /* a directory's own fd while it is walked, else -1 */
	int pin;                        /* an O_PATH fd on a regular file (st is its fstat),
	                                   else -1; the callback may take it (set it to -1) */
	struct stat st;                 /* lstat of the entry, valid when err == 0 */
	int err;                        /* negative errno when the entry could not be stat'ed */
	const struct policy_rule *rule; /* deciding rule; NULL or an exclude when out of scope */
	bool in_scope;                  /* selected by a rule */
	bool descend;                   /* a directory the walk will enter */
	long fs_type;                   /* of a file system mounted on this directory (its
	                                   mount is not its parent's): statfs f_type, else 0 */
	uint64_t mnt_id;                /* of a directory the walk enters: its mount's id, or 0 */
	bool hidden;                    /* a pseudo file system is mounted here: what the
	                                   directory held below is hidden, and not walked */
	void *parent_user;              /* the parent's user slot */
	void *user;                     /* set by the entry callback for a directory */
};

struct walk_ops {
	/* Each entry that is in scope or is walked through, in byte order of
	 * names within a directory, parents before children. The callback may
	 * clear e->descend. A negative return stops the walk with that value. */
	int (*entry)(void *ctx, struct walk_entry *e);
	/* After the children of a descended directory. */
	int (*leave)(void *ctx, struct walk_entry *dir);
	/* Instead of leave, when the walk stops early: free dir->user. */
	void (*drop)(void *ctx, struct walk_entry *dir);
	/* A directory that could not be opened or read (PATH, negative errno).
	 * Entries already emitted stay valid; the walk goes on. */
	void (*error)(void *ctx, const char *path, size_t len, int err);
};

/*
 * Walks the tree below ROOTFD as "/" under policy P. Pseudo file systems
 * (proc, sysfs, cgroup, ...) are never entered or reported. Returns 0, the
 * first negative value a callback returned, or -ENOMEM.
 */
int walk_run(int rootfd, const struct policy *p, const struct walk_ops *ops, void *ctx);

/* True if the file system of FD is a kernel pseudo file system. */
bool walk_is_pseudo_fs(int fd);

/* The name of file system type F_TYPE (statfs) into BUF ("proc", "tmpfs",
 * or "0x..." when unknown); returns BUF. */
const char *walk_fs_name(long f_type, char *buf, size_t size);
