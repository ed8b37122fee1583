/* SPDX-License-Identifier: ISC */
/* fim watch, file side: the backend chosen once, and what every backend shares - subtrees left
 * unwatched, queue overflows, start points moved, the mount table. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "fim/watch/watch_files.h"

int64_t watch_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wfiles_open_ops(struct watcher *w, const struct wfiles_ops *ops, struct wfiles **ret)
{
	struct wfiles *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->ops = ops;
	f->fd = -1;
	r = ops->open(w, f);
	if (r < 0) {
		free(f);
		return r;
	}
	*ret = f;
	return 0;
}

int wfiles_open(struct watcher *w, const char *backend, struct wfiles **ret)
{
	int r;

	if (backend && strcmp(backend, "fanotify") == 0) {
		r = wfiles_open_ops(w, &wfiles_fanotify, ret);
		if (r == 0)
			return 0;
		watch_say(w, LOG_WARNING,
		          "watch.backend = fanotify: not available here (%s); using inotify",
		          strerror(-r));
	}
	return wfiles_open_ops(w, &wfiles_inotify, ret);
}

void wfiles_close(struct wfiles *f)
{
	if (!f)
		return;
	f->ops->close(f);
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
	return f ? f->ops->name : "inotify";
}

const char *wfiles_what(const struct wfiles *f)
{
	return f ? f->ops->what : "directories";
}

size_t wfiles_watched(const struct wfiles *f)
{
	return f->ops->watched(f);
}

size_t wfiles_unwatched(const struct wfiles *f)
{
	return f->unwatched.count;
}

int wfiles_unwatched_add(struct wfiles *f, const char *path, size_t len)
{
	bool created;
	struct wval *v = wmap_put(&f->unwatched, path, len, &created);

	if (!v)
		return -ENOMEM;
	if (created)
		f->limit_new = true;
	return 0;
}

/*
 * The watches are the kernel's: the backend keeps the only table of them
 * (inotify: the library's own would keep a record of every directory ever
 * deleted).
 */
int wfiles_arm(struct watcher *w, const char *path, size_t len)
{
	return w->files->ops->arm(w, path, len);
}

void wfiles_disarm(struct watcher *w)
{
	w->files->ops->disarm(w);
	wmap_free(&w->files->unwatched);
}

void wfiles_arm_above(struct watcher *w, const char *path, size_t len)
{
	w->files->ops->arm_above(w, path, len);
}

int wfiles_arm_roots(struct watcher *w)
{
	return w->files->ops->arm_roots(w);
}

void wfiles_rearm(struct watcher *w, const char *path, size_t len)
{
	w->files->ops->rearm(w, path, len);
}

int wfiles_process(struct watcher *w, size_t max)
{
	int r = w->files->ops->read(w, max);

	wfiles_report_limit(w);
	return r;
}

/* True when PATH is RULE's start point or a directory above it. */
static bool at_or_above(const char *root, const char *path, size_t len)
{
	size_t rl = strlen(root);

	if (len > rl || memcmp(root, path, len) != 0)
		return false;
	return len == rl || root[len] == '/' || len == 1;
}

/*
 * A directory at or above a start point was created, deleted or moved: the
 * watches below it follow inodes that are no longer (or not yet) at those
 * paths. Every start point below it is armed afresh and rescanned. Returns
 * true when PATH was such a directory.
 */
bool wfiles_roots_moved(struct watcher *w, const char *path, size_t len, bool gone)
{
	bool any = false;

	for (size_t i = 0; i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		if (!at_or_above(root, path, len))
			continue;
		if (!any)
			w->files->ops->forget(w, path, len, gone);
		any = true;
		w->files->ops->arm_above(w, root, strlen(root));
		w->files->ops->arm_tree(w, root, strlen(root));
		watch_pending_add(w, root, strlen(root), PEND_TREE | PEND_PERSIST, false);
	}
	return any;
}

long wfiles_sysctl(const char *name)
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
	f->ops->limit_text(w, msg, sizeof(msg));
	watch_meta(w, "watch_limit", "alert", SEV_HIGH, msg, paths);
}

void wfiles_overflow(struct watcher *w)
{
	char msg[300];
	size_t n = policy_root_count(w->p);

	char name[64];

	snprintf(name, sizeof(name), "%s/max_queued_events", w->files->ops->name);
	snprintf(msg, sizeof(msg),
	         "the kernel's event queue overflowed (fs.%s.max_queued_events = %ld): changes "
	         "may have been missed; rescanning %zu watched %s",
	         w->files->ops->name, wfiles_sysctl(name), n, n == 1 ? "tree" : "trees");
	watch_meta(w, "overflow", "alert", SEV_HIGH, msg, NULL);
	for (size_t i = 0; i < n; i++) {
		const char *root = policy_root_at(w->p, i);
		watch_pending_add(w, root, strlen(root), PEND_TREE | PEND_PERSIST, true);
	}
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
		f->ops->arm_tree(w, list[i], strlen(list[i]));
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
int wfiles_read_mounts(struct watcher *w, struct wmap *m, int64_t gen)
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
		wfiles_read_mounts(w, &w->files->mounts, 0);
	return fd;
}

/* True when PATH is a policy start point, below one, or above one. */
bool wfiles_mount_matters(struct watcher *w, const char *path, size_t len)
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
		w->files->ops->forget(w, p, n, true);
		w->files->ops->arm_tree(w, p, n);
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

	if (wfiles_read_mounts(w, &now, 1) < 0) {
		json_decref(paths);
		return;
	}
	/* mounted: in NOW, not before; unmounted: before, not in NOW */
	while (wmap_next(&now, &it, &k, &n, &v))
		if (!wmap_get(&f->mounts, k, n) && wfiles_mount_matters(w, (const char *)k, n))
			remount(w, (const char *)k, n, paths);
	it = (struct wmap_iter){0};
	while (wmap_next(&f->mounts, &it, &k, &n, &v))
		if (!wmap_get(&now, k, n) && wfiles_mount_matters(w, (const char *)k, n))
			remount(w, (const char *)k, n, paths);
	wmap_free(&f->mounts);
	f->mounts = now;
	if (!json_array_size(paths)) {
		json_decref(paths);
		return;
	}
	if (f->ops->remounted)
		f->ops->remounted(w);
	snprintf(msg, sizeof(msg),
	         "a file system was mounted or unmounted on a watched tree: watching and "
	         "rescanning %zu %s again",
	         json_array_size(paths), json_array_size(paths) == 1 ? "tree" : "trees");
	watch_meta(w, "mounts_changed", "alert", SEV_HIGH, msg, paths);
}
