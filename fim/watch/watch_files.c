/* SPDX-License-Identifier: ISC */
/* fim watch, file side: inotify through libinotifytools, recursive, or fanotify file system
 * marks; with explicit degradation. */
#include <dirent.h>
#include <fcntl.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "fim/log.h"
#include "fim/watch/watch.h"

#define WATCH_MASK                                                                                 \
	(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |          \
	 IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |               \
	 IN_EXCL_UNLINK)

/* How many unwatched subtrees an alert names (the rest are counted). */
#define LIMIT_NAMES 100

/*
 * fanotify: what a file system mark reports. The directory itself being
 * deleted or moved is seen as an event of its parent (also on the marked
 * file system), so the *_SELF events are not asked for: they would only
 * name a directory that no longer exists.
 */
#define FAN_WATCH_MASK                                                                             \
	(FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_MODIFY | FAN_ATTRIB |       \
	 FAN_CLOSE_WRITE | FAN_ONDIR | FAN_EVENT_ON_CHILD)
/* Mounts remembered at most (one per mount holding a start point). */
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
	int fd;                /* the library's inotify fd, for poll(2) */
	struct wmap by_path;   /* path inside the root -> a = wd */
	struct wmap by_wd;     /* wd (int bytes) -> str = path */
	struct wmap unwatched; /* subtrees the watch limit left out; a = alerted */
	bool limit_new;        /* unwatched subtrees not alerted yet */
	struct wmap mounts;    /* mount points inside the root */
	int64_t last_tick;
	bool fan; /* fanotify file system marks instead of inotify */
	struct fan_fs fs[FAN_MAX_FS];
	size_t nfs;
};

static int fan_cover(struct watcher *w, const char *path, size_t len);

int64_t watch_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The library does not hand out its descriptor: find the inotify
 * instance among ours that was not there before it started. */
static int find_fd(const bool *before, size_t nbefore)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char link[64], target[64];
		long fd = strtol(de->d_name, NULL, 10);
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(d))
			continue;
		if ((size_t)fd < nbefore && before[fd])
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "inotify") || strstr(target, "fanotify"))
			found = (int)fd;
	}
	closedir(d);
	return found >= 0 ? found : -ENOENT;
}

/* Which of the low descriptors are open now. */
static void open_fds(bool *open, size_t n)
{
	for (size_t i = 0; i < n; i++)
		open[i] = fcntl((int)i, F_GETFD) >= 0;
}

/* Forgets the mounts (the marks stay: marking again adds nothing). */
static void fan_forget(struct wfiles *f)
{
	for (size_t i = 0; i < f->nfs; i++) {
		if (f->fs[i].mfd >= 0)
			close(f->fs[i].mfd);
		free(f->fs[i].path);
	}
	f->nfs = 0;
}

/* Removes every file system mark. */
static void fan_unmark(struct wfiles *f)
{
	if (f->fd >= 0)
		fanotify_mark(f->fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
	fan_forget(f);
}

/* The deepest existing directory of PATH inside the root, opened without
 * following a symbolic link; it names the mount PATH is (or would be) on.
 * ST, MNT: its identity. */
static int fan_open_near(struct watcher *w, const char *path, size_t len, struct stat *st,
                         uint64_t *mnt)
{
	struct statx sx;

	for (;;) {
		int fd = watch_open_dir(w, path, len);

		if (fd >= 0) {
			if (fstat(fd, st) < 0 ||
			    statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0) {
				int e = -errno;
				close(fd);
				return e;
			}
			*mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
			return fd;
		}
		if (len <= 1 || (fd != -ENOENT && fd != -ENOTDIR && fd != -ELOOP))
			return fd;
		while (len > 1 && path[len - 1] != '/')
			len--;
		if (len > 1)
			len--;
	}
}

/* Marks the file system PATH (inside the root) is on, once, and remembers
 * its mount. Returns 0 or a negative errno. */
static int fan_cover(struct watcher *w, const char *path, size_t len)
{
	struct wfiles *f = w->files;
	bool marked = false;
	struct statfs sf;
	struct stat st;
	uint64_t mnt;
	int fd = fan_open_near(w, path, len, &st, &mnt), r = 0;

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < f->nfs; i++) {
		if (f->fs[i].dev != st.st_dev)
			continue;
		marked = true;
		if (f->fs[i].mnt == mnt)
			goto out;
	}
	if (f->nfs == FAN_MAX_FS) {
		r = -ENOSPC;
		goto out;
	}
	if (fstatfs(fd, &sf) < 0) {
		r = -errno;
		goto out;
	}
	if (!marked && fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_WATCH_MASK, fd,
	                             NULL) < 0) {
		r = -errno;
		goto out;
	}
	f->fs[f->nfs] = (struct fan_fs){.dev = st.st_dev,
	                                .mnt = mnt,
	                                .fsid = sf.f_fsid,
	                                .path = strndup(path, len),
	                                .mfd = -1};
	if (!f->fs[f->nfs].path)
		r = -ENOMEM;
	else
		f->nfs++;
out:
	close(fd);
	return r;
}

/* The descriptor of mount E for this batch, or -1. */
static int fan_mfd(struct watcher *w, struct fan_fs *e)
{
	struct stat st;
	uint64_t mnt;

	if (e->mfd == -1) {
		/* the same mount still, or the handles would be misnamed */
		e->mfd = fan_open_near(w, e->path, strlen(e->path), &st, &mnt);
		if (e->mfd >= 0 && (st.st_dev != e->dev || mnt != e->mnt)) {
			close(e->mfd);
			e->mfd = -2;
		}
		if (e->mfd < 0)
			e->mfd = -2;
	}
	return e->mfd;
}

/* Starts fanotify and marks the file system of every start point; a
 * negative errno when the kernel or the file systems refuse. */
static int fan_open(struct watcher *w, struct wfiles *f)
{
	struct wfiles *saved = w->files;
	int r = 0;

	f->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK,
	                      O_RDONLY | O_LARGEFILE);
	if (f->fd < 0)
		return -errno;
	f->fan = true;
	w->files = f;
	for (size_t i = 0; r == 0 && i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		r = fan_cover(w, root, strlen(root));
	}
	w->files = saved;
	if (r < 0) {
		fan_unmark(f);
		close(f->fd);
		f->fd = -1;
		f->fan = false;
	}
	return r;
}

static void on_alarm(int sig)
{
	(void)sig;
}

int wfiles_open(struct watcher *w, const char *backend, struct wfiles **ret)
{
	struct wfiles *f = calloc(1, sizeof(*f));
	bool before[1024];
	int r;

	if (!f)
		return -ENOMEM;
	if (backend && strcmp(backend, "fanotify") == 0) {
		r = fan_open(w, f);
		if (r == 0) {
			*ret = f;
			return 0;
		}
		log_warn("watch.backend = fanotify: not available here (%s); using inotify",
		         strerror(-r));
	}
	open_fds(before, ARRAY_SIZE(before));
	/* SIGALRM only interrupts the library's select(2): see next_event. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	if (!inotifytools_init(0, 0, 0)) {
		r = -inotifytools_error();
		free(f);
		return r ? r : -EIO;
	}
	f->fd = find_fd(before, ARRAY_SIZE(before));
	if (f->fd < 0 || f->fd >= FD_SETSIZE) {
		/* the library select(2)s on it: it must be a low descriptor */
		r = f->fd < 0 ? f->fd : -EMFILE;
		inotifytools_cleanup();
		free(f);
		return r;
	}
	*ret = f;
	return 0;
}

void wfiles_close(struct wfiles *f)
{
	if (!f)
		return;
	if (f->fan) {
		fan_unmark(f);
		close(f->fd);
	} else {
		inotifytools_cleanup();
	}
	wmap_free(&f->by_path);
	wmap_free(&f->by_wd);
	wmap_free(&f->unwatched);
	wmap_free(&f->mounts);
	free(f);
}

int wfiles_fd(struct wfiles *f)
{
	return f->fd;
}

const char *wfiles_backend(const struct wfiles *f)
{
	return f && f->fan ? "fanotify" : "inotify";
}

const char *wfiles_what(const struct wfiles *f)
{
	return f && f->fan ? "mounts" : "directories";
}

size_t wfiles_watched(const struct wfiles *f)
{
	if (f->fan)
		return f->nfs;
	return f->by_path.count;
}

size_t wfiles_unwatched(const struct wfiles *f)
{
	return f->unwatched.count;
}

/* PATH inside the root as the host sees it. */
static int host_path(struct watcher *w, const char *path, size_t len, char *out, size_t size)
{
	int n = snprintf(out, size, "%.*s%.*s", (int)w->rootlen, w->rootpath, (int)len, path);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (n == 0)
		strcpy(out, "/");
	return 0;
}

static void forget_wd(struct wfiles *f, int wd)
{
	struct wval *v = wmap_get(&f->by_wd, &wd, sizeof(wd));

	if (!v)
		return;
	if (v->str)
		wmap_del(&f->by_path, v->str, strlen(v->str));
	wmap_del(&f->by_wd, &wd, sizeof(wd));
}

/* True when PATH or a directory above it was left unwatched by the limit. */
static bool under_unwatched(struct wfiles *f, const char *path, size_t len)
{
	if (!f->unwatched.count)
		return false;
	for (;;) {
		if (wmap_get(&f->unwatched, path, len))
			return true;
		while (len > 1 && path[len - 1] != '/')
			len--;
		if (len <= 1)
			return false;
		len--;
	}
}

/* Adds the kernel watch of directory PATH: by its host path, or when that
 * is longer than the kernel takes, through a descriptor opened one
 * component at a time. Returns the wd or a negative errno. */
static int add_watch(struct watcher *w, const char *path, size_t len)
{
	char host[PATH_MAX], proc[64];
	int fd, wd, err;

	if (host_path(w, path, len, host, sizeof(host)) == 0) {
		wd = inotify_add_watch(w->files->fd, host, WATCH_MASK);
		if (wd >= 0 || errno != ENAMETOOLONG)
			return wd >= 0 ? wd : -errno;
	}
	fd = watch_open_dir(w, path, len);
	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(w->files->fd, proc, WATCH_MASK & ~IN_DONT_FOLLOW);
	err = errno;
	close(fd);
	return wd >= 0 ? wd : -err;
}

/*
 * The watches are the kernel's, added on the library's inotify instance;
 * the library only reads the events. Its own watch table would keep a
 * record of every directory ever deleted (it cannot drop one the kernel
 * already dropped), so the table here is the only one.
 */
int wfiles_arm(struct watcher *w, const char *path, size_t len)
{
	struct wfiles *f = w->files;
	struct wval *v;
	bool created;
	int wd;

	if (f->fan || wmap_get(&f->by_path, path, len))
		return 1; /* a file system mark covers every directory */
	if (under_unwatched(f, path, len))
		return -ENOSPC;
	wd = add_watch(w, path, len);
	if (wd < 0) {
		/* Out of watches, a path too long even through a descriptor, a
		 * directory fim may not read: scanned on an interval instead,
		 * and said. */
		if (wd == -ENOSPC || wd == -ENAMETOOLONG || wd == -EACCES || wd == -EPERM ||
		    wd == -ELOOP) {
			v = wmap_put(&f->unwatched, path, len, &created);
			if (v && created)
				f->limit_new = true;
		}
		return wd;
	}
	forget_wd(f, wd); /* the same directory under another name before */
	v = wmap_put(&f->by_path, path, len, NULL);
	if (!v)
		return -ENOMEM;
	v->a = wd;
	v = wmap_put(&f->by_wd, &wd, sizeof(wd), NULL);
	if (!v || !(v->str = strndup(path, len))) {
		wmap_del(&f->by_path, path, len);
		return -ENOMEM;
	}
	return 0;
}

/* Removes the watches of PATH and of everything below it; GONE: the
 * kernel drops them by itself (the directories were deleted, or their file
 * system is hidden or unmounted), so they are only forgotten here. */
static void disarm_below(struct watcher *w, const char *path, size_t len, bool gone)
{
	struct wfiles *f = w->files;
	struct wmap_iter it = {0};
	const uint8_t *k;
	size_t n;
	struct wval *v;
	int wds[256];
	size_t nwds;

	do {
		/* collected first: deleting other entries while iterating is not allowed */
		nwds = 0;
		it = (struct wmap_iter){0};
		while (nwds < ARRAY_SIZE(wds) && wmap_next(&f->by_path, &it, &k, &n, &v))
			if (n >= len && memcmp(k, path, len) == 0 &&
			    (n == len || k[len] == '/' || len == 1))
				wds[nwds++] = (int)v->a;
		for (size_t i = 0; i < nwds; i++) {
			if (!gone)
				inotify_rm_watch(f->fd, wds[i]);
			forget_wd(f, wds[i]);
		}
	} while (nwds == ARRAY_SIZE(wds));
}

void wfiles_disarm(struct watcher *w)
{
	if (w->files->fan)
		fan_unmark(w->files);
	disarm_below(w, "/", 1, false);
	wmap_free(&w->files->unwatched);
}

/* Arms the directory of PATH and PATH's whole tree (where the policy descends). */
static int arm_tree(struct watcher *w, const char *path, size_t len, unsigned depth)
{
	struct dirent *de;
	struct stat st;
	int fd;
	DIR *d;
	int r;

	/* one small frame per level: a tree as deep as fim walks must not
	 * exhaust the stack */
	if (w->files->fan) {
		/* one mark for the whole file system; left out, it is rescanned */
		r = fan_cover(w, path, len);
		if (r < 0 && r != -ENOMEM) {
			bool created;
			struct wval *v = wmap_put(&w->files->unwatched, path, len, &created);
			if (v && created)
				w->files->limit_new = true;
			log_warn("watch: cannot mark the file system of %.*s: %s", (int)len, path,
			         strerror(-r));
		}
		return r == -ENOMEM ? r : 0;
	}
	if (depth > FIM_MAX_DEPTH || !policy_descend(w->p, path, len))
		return 0;
	r = wfiles_arm(w, path, len);
	if (r < 0)
		return r == -ENOMEM ? r : 0; /* the rest is remembered, or gone */
	/* through the root's fds, not a host path: below PATH_MAX's reach too */
	fd = watch_open_dir(w, path, len);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		if (fd != -ENOENT && fd != -ENOTDIR) {
			/* its children cannot be armed: rescanned on the interval, alerted */
			bool created;
			struct wval *v = wmap_put(&w->files->unwatched, path, len, &created);

			if (!v)
				return -ENOMEM;
			if (created)
				w->files->limit_new = true;
		}
		return 0;
	}
	r = 0;
	while (r == 0 && (de = readdir(d))) {
		char *child;
		size_t cn;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (asprintf(&child, "%.*s%s%s", (int)len, path, len == 1 ? "" : "/", de->d_name) <
		    0) {
			r = -ENOMEM;
			break;
		}
		cn = strlen(child);
		r = arm_tree(w, child, cn, depth + 1);
		free(child);
	}
	closedir(d);
	return r;
}

void wfiles_arm_above(struct watcher *w, const char *path, size_t len)
{
	/* "/", "/a", "/a/b" for "/a/b/c": replacing any of them replaces the root */
	if (w->files->fan)
		return; /* their file system's mark sees them */
	for (size_t i = 1; i < len; i++) {
		int r;
		if (i > 1 && path[i] != '/')
			continue;
		r = wfiles_arm(w, path, i);
		if (r == -ENOENT || r == -ENOTDIR)
			break;
	}
}

/* True when PATH is RULE's start point or a directory above it. */
static bool at_or_above(const char *root, const char *path, size_t len)
{
	size_t rl = strlen(root);

	if (len > rl || memcmp(root, path, len) != 0)
		return false;
	return len == rl || root[len] == '/' || len == 1;
}

static int read_mounts(struct watcher *w, struct wmap *m, int64_t gen);

/* fanotify: marks the file system of every start point and of every mount
 * below one that the policy descends into (MOUNTS, inside the root; read
 * here when NULL). */
static int fan_cover_all(struct watcher *w, struct wmap *mounts)
{
	struct wmap own = {0};
	struct wmap_iter it = {0};
	const uint8_t *k;
	struct wval *v;
	size_t n;
	int r = 0;

	for (size_t i = 0; r == 0 && i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		r = arm_tree(w, root, strlen(root), 0);
	}
	if (!mounts) {
		mounts = &own;
		read_mounts(w, mounts, 0);
	}
	while (r == 0 && wmap_next(mounts, &it, &k, &n, &v)) {
		const char *mp = (const char *)k;
		bool below = false;

		for (size_t i = 0; !below && i < policy_root_count(w->p); i++) {
			const char *root = policy_root_at(w->p, i);
			size_t rl = strlen(root);
			below = n >= rl && memcmp(mp, root, rl) == 0 &&
			        (n == rl || mp[rl] == '/' || rl == 1);
		}
		if (below && policy_descend(w->p, mp, n))
			r = arm_tree(w, mp, n, 0);
	}
	wmap_free(&own);
	return r;
}

int wfiles_arm_roots(struct watcher *w)
{
	if (w->files->fan)
		return fan_cover_all(w, NULL);
	for (size_t i = 0; i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		size_t len = strlen(root);
		int r;

		wfiles_arm_above(w, root, len);
		r = arm_tree(w, root, len, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

void wfiles_rearm(struct watcher *w, const char *path, size_t len)
{
	if (w->files->fan) {
		fan_forget(w->files);
		fan_cover_all(w, &w->files->mounts);
		return;
	}
	disarm_below(w, path, len, false);
	wfiles_arm_above(w, path, len);
	arm_tree(w, path, len, 0);
}

/*
 * A directory at or above a start point was created, deleted or moved: the
 * watches below it follow inodes that are no longer (or not yet) at those
 * paths. Every start point below it is armed afresh and rescanned. Returns
 * true when PATH was such a directory.
 */
static bool roots_moved(struct watcher *w, const char *path, size_t len, bool gone)
{
	bool any = false;

	for (size_t i = 0; i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		if (!at_or_above(root, path, len))
			continue;
		if (!any)
			disarm_below(w, path, len, gone);
		any = true;
		wfiles_arm_above(w, root, strlen(root));
		arm_tree(w, root, strlen(root), 0);
		watch_pending_add(w, root, strlen(root), PEND_TREE | PEND_PERSIST, false);
	}
	return any;
}

/* A value of /proc/sys/fs, NAME as "inotify/max_queued_events" (-1 when it
 * cannot be read). */
static long inotify_sysctl(const char *name)
{
	char path[96], buf[32];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/fs/%s", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, 10);
	fclose(f);
	return v;
}

void wfiles_report_limit(struct watcher *w)
{
	struct wfiles *f = w->files;
	struct wmap_iter it = {0};
	const uint8_t *k;
	size_t n, named = 0;
	struct wval *v;
	json_t *paths;
	char msg[512];

	if (!f->limit_new)
		return;
	f->limit_new = false;
	paths = json_array();
	while (wmap_next(&f->unwatched, &it, &k, &n, &v))
		if (named++ < LIMIT_NAMES)
			json_array_append_new(paths, json_stringn((const char *)k, n));
	if (f->fan)
		snprintf(msg, sizeof(msg),
		         "%zu subtrees cannot be watched (fanotify cannot mark their file system) "
		         "and are scanned every %d s instead",
		         f->unwatched.count, w->rescan_interval);
	else
		snprintf(msg, sizeof(msg),
		         "%zu subtrees cannot be watched (the inotify watch limit is reached: "
		         "fs.inotify.max_user_watches = %ld, %zu watches held; or their paths are "
		         "too long, or they are unreadable) and are scanned every %d s instead",
		         f->unwatched.count, inotify_sysctl("inotify/max_user_watches"),
		         f->by_path.count, w->rescan_interval);
	watch_meta(w, "watch_limit", "alert", SEV_HIGH, msg, paths);
}

static void overflow(struct watcher *w)
{
	char msg[300];
	size_t n = policy_root_count(w->p);

	if (w->files->fan)
		snprintf(msg, sizeof(msg),
		         "the kernel's event queue overflowed (fs.fanotify.max_queued_events = "
		         "%ld): changes may have been missed; rescanning %zu watched %s",
		         inotify_sysctl("fanotify/max_queued_events"), n,
		         n == 1 ? "tree" : "trees");
	else
		snprintf(
		        msg, sizeof(msg),
		        "the kernel's event queue overflowed (fs.inotify.max_queued_events = %ld): "
		        "changes may have been missed; rescanning %zu watched %s",
		        inotify_sysctl("inotify/max_queued_events"), n, n == 1 ? "tree" : "trees");
	watch_meta(w, "overflow", "alert", SEV_HIGH, msg, NULL);
	for (size_t i = 0; i < n; i++) {
		const char *root = policy_root_at(w->p, i);
		watch_pending_add(w, root, strlen(root), PEND_TREE | PEND_PERSIST, true);
	}
}

static void on_event(struct watcher *w, const struct inotify_event *ev)
{
	struct wfiles *f = w->files;
	struct wval *v;
	char *path;
	size_t dlen, nlen, len;

	if (ev->mask & IN_Q_OVERFLOW) {
		overflow(w);
		return;
	}
	v = wmap_get(&f->by_wd, &ev->wd, sizeof(ev->wd));
	if (!v || !v->str)
		return; /* a watch already dropped */
	dlen = strlen(v->str);
	nlen = ev->len ? strnlen(ev->name, ev->len) : 0;
	if (!nlen) {
		/* the watched directory itself */
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
			char *self = strdup(v->str);
			bool gone = !(ev->mask & IN_MOVE_SELF);
			if (!self)
				return;
			if (!roots_moved(w, self, dlen, gone)) {
				disarm_below(w, self, dlen, gone);
				watch_pending_add(w, self, dlen, PEND_TREE, false);
			}
			free(self);
		} else {
			watch_pending_add(w, v->str, dlen, 0, false);
		}
		return;
	}
	len = dlen + (dlen > 1) + nlen;
	path = malloc(len + 1);
	if (!path)
		return;
	snprintf(path, len + 1, "%s%s%.*s", v->str, dlen > 1 ? "/" : "", (int)nlen, ev->name);
	if ((ev->mask & IN_ISDIR) &&
	    (ev->mask & (IN_DELETE | IN_MOVED_FROM | IN_CREATE | IN_MOVED_TO)) &&
	    roots_moved(w, path, len, ev->mask & IN_DELETE)) {
		/* handled: a start point or a directory above it */
	} else if (ev->mask & IN_ISDIR) {
		if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
			disarm_below(w, path, len, ev->mask & IN_DELETE);
			watch_pending_add(w, path, len, PEND_TREE, false);
		} else if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
			/* joined at once; the scan after arming sees what came before */
			disarm_below(w, path, len, false);
			arm_tree(w, path, len, 0);
			watch_pending_add(w, path, len, PEND_TREE, false);
		} else {
			watch_pending_add(w, path, len, 0, false);
		}
	} else {
		watch_pending_add(w, path, len, 0, false);
	}
	free(path);
}

/*
 * The next event, or NULL when none is queued. The library reads the
 * kernel's queue in chunks and blocks in select(2) when its chunk is used
 * up (even for a timeout of 0): with the kernel's queue empty, a short
 * timer interrupts that wait, so the call never blocks.
 */
static struct inotify_event *next_event(struct wfiles *f)
{
	/* repeating: a tick that fires before the library reaches select(2)
	 * (the process was slow, or stopped) must not leave it blocked */
	static const struct itimerval tick = {.it_interval = {.tv_usec = 2000},
	                                      .it_value = {.tv_usec = 2000}};
	static const struct itimerval off;
	struct inotify_event *ev;
	int avail = 0;

	if (ioctl(f->fd, FIONREAD, &avail) == 0 && avail > 0)
		return inotifytools_next_event(0);
	setitimer(ITIMER_REAL, &tick, NULL);
	ev = inotifytools_next_event(0);
	setitimer(ITIMER_REAL, &off, NULL);
	return ev;
}

/* --- fanotify events --- */

/* The directory of an event could not be named (deleted, or its path is
 * not one the host can reach): every start point on a file system with
 * such an event is rescanned. Ends the batch: the mounts' descriptors are
 * closed. */
static void fan_batch_end(struct watcher *w)
{
	struct wfiles *f = w->files;
	bool any = false;

	for (size_t i = 0; i < f->nfs; i++)
		any |= f->fs[i].lost;
	for (size_t i = 0; any && i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		size_t len = strlen(root);
		struct stat st;
		uint64_t mnt;
		int fd = fan_open_near(w, root, len, &st, &mnt);
		bool lost = fd < 0;

		if (fd >= 0)
			close(fd);
		for (size_t k = 0; !lost && k < f->nfs; k++)
			lost = f->fs[k].lost && f->fs[k].dev == st.st_dev;
		if (lost)
			watch_pending_add(w, root, len, PEND_TREE, false);
	}
	for (size_t i = 0; i < f->nfs; i++) {
		if (f->fs[i].mfd >= 0)
			close(f->fs[i].mfd);
		f->fs[i].mfd = -1;
		f->fs[i].lost = false;
	}
}

/* True when PATH is a policy start point, below one, or above one. */
static bool mount_matters(struct watcher *w, const char *path, size_t len);

/* Names directory handle FH as HOST (PATH_MAX + NAME_MAX + 2 bytes) through
 * mount E, with NAME appended. Returns 0, -ESTALE when the directory is
 * gone or cannot be named, or another negative errno. */
static int fan_name(struct watcher *w, struct fan_fs *e, struct file_handle *fh, const char *name,
                    char *host)
{
	char proc[64];
	size_t nlen = strlen(name);
	int mfd = fan_mfd(w, e), fd;
	ssize_t n;

	if (mfd < 0)
		return -ENODEV;
	fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, host, PATH_MAX);
	close(fd);
	/* a directory deleted while it was named, or one outside the tree */
	if (n <= 0 || n >= PATH_MAX || host[0] != '/' ||
	    (n > 10 && memcmp(host + n - 10, " (deleted)", 10) == 0))
		return -ESTALE;
	host[n] = '\0';
	if (nlen && strcmp(name, ".") != 0) {
		if (n > 1)
			host[n++] = '/';
		memcpy(host + n, name, nlen + 1);
	}
	return 0;
}

/* One event: directory handle FH on file system FSID, entry NAME. */
static void fan_event(struct watcher *w, uint64_t mask, const __kernel_fsid_t *fsid,
                      struct file_handle *fh, const char *name)
{
	struct wfiles *f = w->files;
	char host[PATH_MAX + NAME_MAX + 2];
	bool dir = mask & FAN_ONDIR;

	/* A file system none of the start points is on any more (a mark left
	 * from before a mount change) has nothing to say. */
	for (size_t i = 0; i < f->nfs; i++) {
		struct fan_fs *e = &f->fs[i];
		const char *path;
		size_t len;
		int r;

		if (memcmp(&e->fsid, fsid, sizeof(*fsid)) != 0)
			continue;
		r = fan_name(w, e, fh, name, host);
		if (r == -ESTALE || r == -ENOMEM) {
			e->lost = true;
			return;
		}
		if (r < 0) {
			e->lost = true;
			continue;
		}
		/* the mark sees the whole file system: only what is inside the
		 * root and the policy; through another mount, maybe */
		len = strlen(host);
		if (len < w->rootlen || memcmp(host, w->rootpath, w->rootlen) != 0 ||
		    (len > w->rootlen && host[w->rootlen] != '/'))
			continue;
		path = host + w->rootlen;
		len -= w->rootlen;
		if (!len) {
			path = "/";
			len = 1;
		}
		if (!mount_matters(w, path, len))
			continue;
		if (dir && (mask & (FAN_DELETE | FAN_MOVED_FROM | FAN_CREATE | FAN_MOVED_TO))) {
			if (!roots_moved(w, path, len, mask & FAN_DELETE))
				watch_pending_add(w, path, len, PEND_TREE, false);
		} else {
			watch_pending_add(w, path, len, 0, false);
		}
		return;
	}
}

static int fan_read(struct watcher *w, size_t max)
{
	/* the records are 4-byte aligned only: each header is copied out */
	static uint64_t buf[8192];
	struct fanotify_event_metadata m;
	size_t count = 0;

	while (count < max) {
		ssize_t got = read(w->files->fd, buf, sizeof(buf));
		size_t off = 0;

		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		if (got == 0)
			break;
		for (; (size_t)got - off >= FAN_EVENT_METADATA_LEN; off += m.event_len) {
			const char *ev = (const char *)buf + off, *p, *end;
			bool named = false;

			memcpy(&m, ev, sizeof(m));
			if (m.event_len < FAN_EVENT_METADATA_LEN ||
			    m.event_len > (size_t)got - off ||
			    m.metadata_len < FAN_EVENT_METADATA_LEN || m.metadata_len > m.event_len)
				return -EPROTO;
			p = ev + m.metadata_len;
			end = ev + m.event_len;
			count++;
			if (m.vers != FANOTIFY_METADATA_VERSION)
				return -EPROTO;
			if (m.mask & FAN_Q_OVERFLOW) {
				overflow(w);
				continue;
			}
			while (p + sizeof(struct fanotify_event_info_header) <= end) {
				const struct fanotify_event_info_fid *info = (const void *)p;
				struct file_handle *fh;
				const char *name = "";
				size_t hl;

				if (info->hdr.len < sizeof(*info) + sizeof(struct file_handle) ||
				    p + info->hdr.len > end)
					break;
				if (info->hdr.info_type != FAN_EVENT_INFO_TYPE_DFID_NAME &&
				    info->hdr.info_type != FAN_EVENT_INFO_TYPE_DFID) {
					p += info->hdr.len;
					continue;
				}
				fh = (struct file_handle *)(uintptr_t)info->handle;
				hl = sizeof(*info) + sizeof(*fh) + fh->handle_bytes;
				if (hl > info->hdr.len)
					break;
				if (info->hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
					name = (const char *)fh->f_handle + fh->handle_bytes;
					if (!memchr(name, '\0', (size_t)(p + info->hdr.len - name)))
						break;
				}
				fan_event(w, m.mask, &info->fsid, fh, name);
				named = true;
				break;
			}
			if (!named)
				for (size_t i = 0; i < w->files->nfs; i++)
					w->files->fs[i].lost = true; /* not understood: rescan */
		}
	}
	return (int)count;
}

static int fan_process(struct watcher *w, size_t max)
{
	int r = fan_read(w, max);

	fan_batch_end(w);
	wfiles_report_limit(w);
	return r;
}

int wfiles_process(struct watcher *w, size_t max)
{
	size_t n = 0;

	if (w->files->fan)
		return fan_process(w, max);

	while (n < max) {
		struct inotify_event *ev = next_event(w->files);
		if (!ev) {
			int e = inotifytools_error();
			if (e && e != EINTR && e != EAGAIN)
				return -e;
			break;
		}
		on_event(w, ev);
		n++;
	}
	wfiles_report_limit(w);
	return (int)n;
}

void wfiles_tick(struct watcher *w)
{
	struct wfiles *f = w->files;
	int64_t now = watch_now_ms();
	struct wmap_iter it = {0};
	const uint8_t *k;
	size_t n, count;
	struct wval *v;
	char **list;
	size_t nl = 0;

	if (now - f->last_tick < (int64_t)w->rescan_interval * 1000)
		return;
	f->last_tick = now;
	count = f->unwatched.count;
	if (!count)
		return;
	/* Copied out: arming changes the set. */
	list = calloc(count, sizeof(*list));
	if (!list)
		return;
	while (nl < count && wmap_next(&f->unwatched, &it, &k, &n, &v))
		list[nl++] = strndup((const char *)k, n);
	wmap_free(&f->unwatched);
	f->limit_new = false;
	for (size_t i = 0; i < nl; i++) {
		if (!list[i])
			continue;
		/* the limit may have been raised: try again, then scan */
		arm_tree(w, list[i], strlen(list[i]), 0);
		watch_pending_add(w, list[i], strlen(list[i]), PEND_TREE | PEND_PERSIST, true);
		free(list[i]);
	}
	free(list);
	/* What is still unwatched was alerted already. */
	f->limit_new = false;
	if (!f->unwatched.count)
		watch_meta(w, "watch_restored", "event", SEV_LOW,
		           "every watched tree is watched again", NULL);
}

/* --- the mount table: a file system mounted over a watched directory hides it --- */

/* Decodes the octal escapes of a mountinfo field in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* The mount points inside the root (as paths inside it), a = generation. */
static int read_mounts(struct watcher *w, struct wmap *m, int64_t gen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *field = line, *mp = NULL;
		struct wval *v;
		size_t len;

		for (int i = 0; i < 5 && field; i++) {
			char *sp = strchr(field, ' ');
			if (i == 4)
				mp = field;
			if (sp)
				*sp = '\0';
			field = sp ? sp + 1 : NULL;
		}
		if (!mp)
			continue;
		unescape(mp);
		len = strlen(mp);
		if (len < w->rootlen || memcmp(mp, w->rootpath, w->rootlen) != 0 ||
		    (len > w->rootlen && mp[w->rootlen] != '/'))
			continue;
		mp += w->rootlen;
		len -= w->rootlen;
		if (!len) {
			mp = (char *)"/";
			len = 1;
		}
		v = wmap_put(m, mp, len, NULL);
		if (v)
			v->a = gen;
	}
	free(line);
	fclose(f);
	return 0;
}

int wfiles_mounts_open(struct watcher *w)
{
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		read_mounts(w, &w->files->mounts, 0);
	return fd;
}

/* True when PATH is a policy start point, below one, or above one. */
static bool mount_matters(struct watcher *w, const char *path, size_t len)
{
	for (size_t i = 0; i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		size_t rl = strlen(root);
		size_t n = len < rl ? len : rl;

		if (memcmp(root, path, n) != 0)
			continue;
		if (len == rl || (len > rl && path[rl] == '/') || (len < rl && root[len] == '/') ||
		    len == 1)
			return true;
	}
	return false;
}

/* Queues a rescan (with the watches armed again) of what a mount at PATH covers. */
static void remount(struct watcher *w, const char *path, size_t len, json_t *paths)
{
	for (size_t i = 0; i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		size_t rl = strlen(root);
		const char *p = path;
		size_t n = len;

		/* a mount above a start point covers all of it */
		if (len < rl && memcmp(root, path, len) == 0 && (root[len] == '/' || len == 1)) {
			p = root;
			n = rl;
		} else if (!(len >= rl && memcmp(root, path, rl) == 0 &&
		             (len == rl || path[rl] == '/' || rl == 1))) {
			continue;
		}
		disarm_below(w, p, n, true);
		arm_tree(w, p, n, 0);
		watch_pending_add(w, p, n, PEND_TREE | PEND_PERSIST, true);
		json_array_append_new(paths, json_stringn(p, n));
		if (p == path)
			break;
	}
}

void wfiles_mounts_changed(struct watcher *w)
{
	struct wfiles *f = w->files;
	struct wmap now = {0};
	struct wmap_iter it = {0};
	const uint8_t *k;
	size_t n;
	struct wval *v;
	json_t *paths = json_array();
	char msg[256];

	if (read_mounts(w, &now, 1) < 0) {
		json_decref(paths);
		return;
	}
	/* mounted: in NOW, not before; unmounted: before, not in NOW */
	while (wmap_next(&now, &it, &k, &n, &v))
		if (!wmap_get(&f->mounts, k, n) && mount_matters(w, (const char *)k, n))
			remount(w, (const char *)k, n, paths);
	it = (struct wmap_iter){0};
	while (wmap_next(&f->mounts, &it, &k, &n, &v))
		if (!wmap_get(&now, k, n) && mount_matters(w, (const char *)k, n))
			remount(w, (const char *)k, n, paths);
	wmap_free(&f->mounts);
	f->mounts = now;
	if (!json_array_size(paths)) {
		json_decref(paths);
		return;
	}
	if (f->fan) {
		/* the mounts of the start points and below, and their file
		 * systems, afresh */
		fan_forget(f);
		fan_cover_all(w, &f->mounts);
	}
	snprintf(msg, sizeof(msg),
	         "a file system was mounted or unmounted on a watched tree: watching and "
	         "rescanning %zu %s again",
	         json_array_size(paths), json_array_size(paths) == 1 ? "tree" : "trees");
	watch_meta(w, "mounts_changed", "alert", SEV_HIGH, msg, paths);
}
