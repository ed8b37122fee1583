/* SPDX-License-Identifier: ISC */
/* fim watch, file side: the inotify backend - recursive directory watches through libinotifytools.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "fim/watch/watch_files.h"

#define WATCH_MASK                                                                                 \
	(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |          \
	 IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |               \
	 IN_EXCL_UNLINK)

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

static void on_alarm(int sig)
{
	(void)sig;
}

static int ino_open(struct watcher *w, struct wfiles *f)
{
	bool before[1024];
	struct sigaction sa = {.sa_handler = on_alarm};
	int r;

	(void)w;
	open_fds(before, ARRAY_SIZE(before));
	/* SIGALRM only interrupts the library's select(2): see next_event. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	if (!inotifytools_init(0, 0, 0)) {
		r = -inotifytools_error();
		return r ? r : -EIO;
	}
	f->fd = find_fd(before, ARRAY_SIZE(before));
	if (f->fd < 0 || f->fd >= FD_SETSIZE) {
		/* the library select(2)s on it: it must be a low descriptor */
		r = f->fd < 0 ? f->fd : -EMFILE;
		inotifytools_cleanup();
		f->fd = -1;
		return r;
	}
	return 0;
}

static void ino_close(struct wfiles *f)
{
	(void)f;
	inotifytools_cleanup();
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
static int ino_arm(struct watcher *w, const char *path, size_t len)
{
	struct wfiles *f = w->files;
	struct wval *v;
	int wd;

	if (wmap_get(&f->by_path, path, len))
		return 1;
	if (under_unwatched(f, path, len))
		return -ENOSPC;
	wd = add_watch(w, path, len);
	if (wd < 0) {
		/* Out of watches, a path too long even through a descriptor, a
		 * directory fim may not read: scanned on an interval instead,
		 * and said. */
		if (wd == -ENOSPC || wd == -ENAMETOOLONG || wd == -EACCES || wd == -EPERM ||
		    wd == -ELOOP) {
			wfiles_unwatched_add(f, path, len);
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
static void ino_forget(struct watcher *w, const char *path, size_t len, bool gone)
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

static void ino_disarm(struct watcher *w)
{
	ino_forget(w, "/", 1, false);
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
	if (depth > FIM_MAX_DEPTH || !policy_descend(w->p, path, len))
		return 0;
	r = ino_arm(w, path, len);
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
			if (wfiles_unwatched_add(w->files, path, len) < 0)
				return -ENOMEM;
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

static int ino_arm_tree(struct watcher *w, const char *path, size_t len)
{
	return arm_tree(w, path, len, 0);
}

static void ino_arm_above(struct watcher *w, const char *path, size_t len)
{
	/* "/", "/a", "/a/b" for "/a/b/c": replacing any of them replaces the root */
	for (size_t i = 1; i < len; i++) {
		int r;
		if (i > 1 && path[i] != '/')
			continue;
		r = ino_arm(w, path, i);
		if (r == -ENOENT || r == -ENOTDIR)
			break;
	}
}

static int ino_arm_roots(struct watcher *w)
{
	for (size_t i = 0; i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		size_t len = strlen(root);
		int r;

		ino_arm_above(w, root, len);
		r = arm_tree(w, root, len, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static void ino_rearm(struct watcher *w, const char *path, size_t len)
{
	ino_forget(w, path, len, false);
	ino_arm_above(w, path, len);
	arm_tree(w, path, len, 0);
}

static void on_event(struct watcher *w, const struct inotify_event *ev)
{
	struct wfiles *f = w->files;
	struct wval *v;
	char *path;
	size_t dlen, nlen, len;

	if (ev->mask & IN_Q_OVERFLOW) {
		wfiles_overflow(w);
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
			if (!wfiles_roots_moved(w, self, dlen, gone)) {
				ino_forget(w, self, dlen, gone);
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
	    wfiles_roots_moved(w, path, len, ev->mask & IN_DELETE)) {
		/* handled: a start point or a directory above it */
	} else if (ev->mask & IN_ISDIR) {
		if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
			ino_forget(w, path, len, ev->mask & IN_DELETE);
			watch_pending_add(w, path, len, PEND_TREE, false);
		} else if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
			/* joined at once; the scan after arming sees what came before */
			ino_forget(w, path, len, false);
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

static int ino_read(struct watcher *w, size_t max)
{
	size_t n = 0;

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
	return (int)n;
}

static size_t ino_watched(const struct wfiles *f)
{
	return f->by_path.count;
}

static void ino_limit_text(struct watcher *w, char *msg, size_t size)
{
	struct wfiles *f = w->files;

	snprintf(msg, size,
	         "%zu subtrees cannot be watched (the inotify watch limit is reached: "
	         "fs.inotify.max_user_watches = %ld, %zu watches held; or their paths are "
	         "too long, or they are unreadable) and are scanned every %d s instead",
	         f->unwatched.count, wfiles_sysctl("inotify/max_user_watches"), f->by_path.count,
	         w->rescan_interval);
}

const struct wfiles_ops wfiles_inotify = {
        .name = "inotify",
        .what = "directories",
        .open = ino_open,
        .close = ino_close,
        .arm = ino_arm,
        .arm_tree = ino_arm_tree,
        .arm_above = ino_arm_above,
        .arm_roots = ino_arm_roots,
        .rearm = ino_rearm,
        .forget = ino_forget,
        .disarm = ino_disarm,
        .read = ino_read,
        .watched = ino_watched,
        .limit_text = ino_limit_text,
};
