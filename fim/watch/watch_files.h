/* SPDX-License-Identifier: ISC */
/* fim watch, file side: what the backends (inotify, fanotify, null) share, inside fim/watch only.
 */
#pragma once

#include <sys/stat.h>
#include <sys/statfs.h>

#include "fim/watch/watch.h"

/* How many unwatched subtrees an alert names (the rest are counted). */
#define LIMIT_NAMES 100

/* fanotify: mounts remembered at most (one per mount holding a start point). */
#define FAN_MAX_FS 64

/*
 * One mount holding a start point; its file system is marked. A handle is
 * opened through a descriptor of that mount, which names the directory as
 * seen through it. The descriptor is held only while a batch of events is
 * read (MFD, -1 otherwise; -2: could not be opened): held longer, it would
 * keep the file system from being unmounted.
 */
struct fan_fs {
	dev_t dev;
	uint64_t mnt;
	fsid_t fsid;
	char *path; /* the start point inside the root it was found by */
	int mfd;
	bool lost; /* an event of this file system could not be named */
};

struct wfiles {
	const struct wfiles_ops *ops;
	int fd;                /* the descriptor to poll (-1: none) */
	struct wmap unwatched; /* subtrees left out (limit, marks refused); a = alerted */
	bool limit_new;        /* unwatched subtrees not alerted yet */
	struct wmap mounts;    /* mount points inside the root */
	int64_t last_tick;
	/* inotify */
	struct wmap by_path; /* path inside the root -> a = wd */
	struct wmap by_wd;   /* wd (int bytes) -> str = path */
	/* fanotify */
	struct fan_fs fs[FAN_MAX_FS];
	size_t nfs;
	uint64_t fan_buf[8192]; /* events read at once */
};

/* Remembers PATH[0..len) as a subtree left unwatched (alerted once). 0 or -ENOMEM. */
int wfiles_unwatched_add(struct wfiles *f, const char *path, size_t len);
/* A start point at or below PATH was created, deleted or moved (GONE: its
 * watches went with it): armed afresh and rescanned. True when PATH was one. */
bool wfiles_roots_moved(struct watcher *w, const char *path, size_t len, bool gone);
/* The kernel's event queue overflowed: alerted, every start point rescanned. */
void wfiles_overflow(struct watcher *w);
/* A value of /proc/sys/fs, NAME as "inotify/max_queued_events" (-1 when it
 * cannot be read). */
long wfiles_sysctl(const char *name);
/* The mount points inside the root (as paths inside it) into M, a = GEN. */
int wfiles_read_mounts(struct watcher *w, struct wmap *m, int64_t gen);
/* True when PATH is a policy start point, below one, or above one. */
bool wfiles_mount_matters(struct watcher *w, const char *path, size_t len);
