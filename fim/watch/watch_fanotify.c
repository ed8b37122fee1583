/* SPDX-License-Identifier: ISC */
/* fim watch, file side: the fanotify backend - file system marks, events named by handle. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <syslog.h>

#include "fim/core/utf8.h"
#include "fim/watch/watch_files.h"

/*
 * What a file system mark reports. The directory itself being deleted or
 * moved is seen as an event of its parent (also on the marked file
 * system), so the *_SELF events are not asked for: they would only name a
 * directory that no longer exists.
 */
#define FAN_WATCH_MASK                                                                             \
	(FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_MODIFY | FAN_ATTRIB |       \
	 FAN_CLOSE_WRITE | FAN_ONDIR | FAN_EVENT_ON_CHILD)

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
	}
	return r;
}

static void fan_close(struct wfiles *f)
{
	fan_unmark(f);
	close(f->fd);
}

/* A file system mark covers every directory. */
static int fan_arm(struct watcher *w, const char *path, size_t len)
{
	(void)w, (void)path, (void)len;
	return 1;
}

/* Their file system's mark sees the directories above a start point. */
static void fan_arm_above(struct watcher *w, const char *path, size_t len)
{
	(void)w, (void)path, (void)len;
}

/* The marks are per file system: nothing is held per directory. */
static void fan_forget_below(struct watcher *w, const char *path, size_t len, bool gone)
{
	(void)w, (void)path, (void)len, (void)gone;
}

/* One mark for the whole file system of PATH; left out, it is rescanned. */
static int fan_arm_tree(struct watcher *w, const char *path, size_t len)
{
	int r;

	r = fan_cover(w, path, len);
	if (r < 0 && r != -ENOMEM) {
		char q[PATH_MAX + 64];

		wfiles_unwatched_add(w->files, path, len);
		watch_say(w, LOG_WARNING, "watch: cannot mark the file system of %s: %s",
		          utf8_quote(path, len, q, sizeof(q)), strerror(-r));
	}
	return r == -ENOMEM ? r : 0;
}

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
		r = fan_arm_tree(w, root, strlen(root));
	}
	if (!mounts) {
		mounts = &own;
		wfiles_read_mounts(w, mounts, 0);
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
			r = fan_arm_tree(w, mp, n);
	}
	wmap_free(&own);
	return r;
}

static int fan_arm_roots(struct watcher *w)
{
	return fan_cover_all(w, NULL);
}

static void fan_rearm(struct watcher *w, const char *path, size_t len)
{
	(void)path, (void)len;
	fan_forget(w->files);
	fan_cover_all(w, &w->files->mounts);
}

static void fan_disarm(struct watcher *w)
{
	fan_unmark(w->files);
}

/* The mounts of the start points and below, and their file systems, afresh. */
static void fan_remounted(struct watcher *w)
{
	fan_forget(w->files);
	fan_cover_all(w, &w->files->mounts);
}

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
		if (!wfiles_mount_matters(w, path, len))
			continue;
		if (dir && (mask & (FAN_DELETE | FAN_MOVED_FROM | FAN_CREATE | FAN_MOVED_TO))) {
			if (!wfiles_roots_moved(w, path, len, mask & FAN_DELETE))
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
	uint64_t *buf = w->files->fan_buf;
	struct fanotify_event_metadata m;
	size_t count = 0;

	while (count < max) {
		ssize_t got = read(w->files->fd, buf, sizeof(w->files->fan_buf));
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
				wfiles_overflow(w);
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
	return r;
}

static size_t fan_watched(const struct wfiles *f)
{
	return f->nfs;
}

static void fan_limit_text(struct watcher *w, char *msg, size_t size)
{
	snprintf(msg, size,
	         "%zu subtrees cannot be watched (fanotify cannot mark their file system) "
	         "and are scanned every %d s instead",
	         w->files->unwatched.count, w->rescan_interval);
}

const struct wfiles_ops wfiles_fanotify = {
        .name = "fanotify",
        .what = "mounts",
        .open = fan_open,
        .close = fan_close,
        .arm = fan_arm,
        .arm_tree = fan_arm_tree,
        .arm_above = fan_arm_above,
        .arm_roots = fan_arm_roots,
        .rearm = fan_rearm,
        .forget = fan_forget_below,
        .disarm = fan_disarm,
        .read = fan_process,
        .watched = fan_watched,
        .remounted = fan_remounted,
        .limit_text = fan_limit_text,
};
