/* SPDX-License-Identifier: ISC */
/* fim watch: the root and the start points going away (moved, deleted, replaced) and coming back.
 */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fim/core/jbytes.h"
#include "fim/watch/watch.h"

/* Flags of an entry of w->trees (a = inode, b = device). */
enum {
	TREE_SEEN = 1u << 0, /* was a directory once: its going away is alerted */
	TREE_GONE = 1u << 1, /* gone (alerted), not back yet */
};

/* The start point PATH[0..len) as a directory reached without following a
 * symbolic link (as the scanner reaches it): 0 and *ST, or a negative errno. */
static int tree_stat(struct watcher *w, const char *path, size_t len, struct stat *st)
{
	int fd = watch_open_dir(w, path, len), r = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The root as the host names it now, not following a symbolic link in its place. */
static int root_stat(struct watcher *w, struct stat *st)
{
	if (lstat(w->rootpath, st) < 0)
		return -errno;
	return S_ISDIR(st->st_mode) ? 0 : -ENOTDIR;
}

static void tree_alert(struct watcher *w, const char *action, enum severity sev, const char *path,
                       size_t len, const char *msg)
{
	json_t *paths = json_array();

	json_array_append_new(paths, jbytes_new(path, len));
	watch_meta(w, action, "alert", sev, msg, paths);
}

/* Remembers what each start point is now (silently); one that was seen and
 * is gone now stays so: its return is alerted and rescanned. */
static void trees_note(struct watcher *w)
{
	struct wmap old = w->trees;

	memset(&w->trees, 0, sizeof(w->trees));
	for (size_t i = 0; i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		size_t len = strlen(root);
		struct wval *v, *was;
		struct stat st;

		if (len <= 1)
			continue; /* the root itself */
		v = wmap_put(&w->trees, root, len, NULL);
		if (!v)
			continue;
		if (tree_stat(w, root, len, &st) == 0) {
			v->a = (int64_t)st.st_ino;
			v->b = (int64_t)st.st_dev;
			v->flags = TREE_SEEN;
		} else if ((was = wmap_get(&old, root, len)) && (was->flags & TREE_SEEN)) {
			v->a = was->a;
			v->b = was->b;
			v->flags = TREE_SEEN | TREE_GONE;
		}
	}
	wmap_free(&old);
}

void wtree_init(struct watcher *w)
{
	struct stat st;

	if (fstat(w->rootfd, &st) == 0) {
		w->root_ino = st.st_ino;
		w->root_dev = st.st_dev;
	}
	w->root_gone = false;
	trees_note(w);
}

/* The root is a directory again at its path: watched from there on. */
static void root_back(struct watcher *w)
{
	int fd = open(w->rootpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char msg[PATH_MAX + 200];
	struct stat st;

	if (fd < 0)
		return; /* not quite there yet: the next look */
	/* the same descriptor number: whatever holds it sees the new tree */
	if (fstat(fd, &st) < 0 || dup3(fd, w->rootfd, O_CLOEXEC) < 0) {
		close(fd);
		return;
	}
	close(fd);
	wtree_init(w);
	wfiles_disarm(w);
	wfiles_arm_roots(w);
	snprintf(msg, sizeof(msg),
	         "the root %s is back: watching it again and checking every watched tree "
	         "against the baseline",
	         w->rootpath);
	tree_alert(w, "tree_back", SEV_HIGH, "/", 1, msg);
	for (size_t i = 0; i < policy_root_count(w->p); i++) {
		const char *root = policy_root_at(w->p, i);
		watch_pending_add(w, root, strlen(root), PEND_TREE | PEND_PERSIST, true);
	}
	wfiles_report_limit(w);
}

bool wtree_root_gone(struct watcher *w)
{
	char msg[PATH_MAX + 200];
	struct stat st;
	int r = root_stat(w, &st);

	/* a file system mounted on the root is the mount table's business */
	if (r == 0 && st.st_dev != w->root_dev && !w->root_gone)
		return false;
	if (r == 0 && st.st_ino == w->root_ino && st.st_dev == w->root_dev && !w->root_gone)
		return false;
	if (!w->root_gone) {
		w->root_gone = true;
		/* what was queued would be checked against an empty or
		 * foreign tree: the return rescans everything instead */
		wmap_free(&w->pending);
		wfiles_disarm(w);
		snprintf(msg, sizeof(msg),
		         "the root %s was moved away, deleted or replaced: nothing is watched "
		         "until a directory is there again, then everything is checked",
		         w->rootpath);
		tree_alert(w, "tree_gone", SEV_CRITICAL, "/", 1, msg);
	}
	if (r == 0)
		root_back(w);
	return w->root_gone;
}

void wtree_check(struct watcher *w)
{
	struct wmap_iter it = {0};
	const uint8_t *k;
	struct wval *v;
	size_t n;

	if (wtree_root_gone(w))
		return;
	while (wmap_next(&w->trees, &it, &k, &n, &v)) {
		const char *path = (const char *)k;
		char msg[PATH_MAX + 200];
		struct stat st;
		int r = tree_stat(w, path, n, &st);
		bool same = r == 0 && (int64_t)st.st_ino == v->a && (int64_t)st.st_dev == v->b;

		if (r == 0 && !(v->flags & TREE_SEEN)) {
			/* appeared for the first time: its contents are added drift */
			v->flags = TREE_SEEN;
		} else if (r == 0 && (int64_t)st.st_dev != v->b && !(v->flags & TREE_GONE)) {
			/* a mount on it: the mount table's business */
		} else if (same && !(v->flags & TREE_GONE)) {
			continue;
		} else if (v->flags & TREE_SEEN) {
			if (!(v->flags & TREE_GONE)) {
				v->flags |= TREE_GONE;
				snprintf(
				        msg, sizeof(msg),
				        "%.*s was moved away, deleted or replaced (or a directory "
				        "above it was): it is watched and checked again as soon as "
				        "it is back",
				        (int)n, path);
				tree_alert(w, "tree_gone", SEV_HIGH, path, n, msg);
			}
			if (r < 0)
				continue;
			v->flags &= ~TREE_GONE;
			snprintf(msg, sizeof(msg),
			         "%.*s is back: watching it again and checking it against the "
			         "baseline",
			         (int)n, path);
			tree_alert(w, "tree_back", SEV_HIGH, path, n, msg);
			wfiles_rearm(w, path, n);
			watch_pending_add(w, path, n, PEND_TREE | PEND_PERSIST, true);
		}
		v->a = r == 0 ? (int64_t)st.st_ino : v->a;
		v->b = r == 0 ? (int64_t)st.st_dev : v->b;
	}
}
