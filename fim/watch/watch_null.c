/* SPDX-License-Identifier: ISC */
/* fim watch, file side: the null backend - arms nothing, reads no event (tests feed the watcher).
 */
#include <stdio.h>

#include "fim/watch/watch_files.h"

static int null_open(struct watcher *w, struct wfiles *f)
{
	(void)w;
	f->fd = -1;
	return 0;
}

static void null_close(struct wfiles *f)
{
	(void)f;
}

/* Every directory counts as armed: the scanner goes on as under a real backend. */
static int null_arm(struct watcher *w, const char *path, size_t len)
{
	(void)w, (void)path, (void)len;
	return 1;
}

static int null_arm_tree(struct watcher *w, const char *path, size_t len)
{
	(void)w, (void)path, (void)len;
	return 0;
}

static void null_path(struct watcher *w, const char *path, size_t len)
{
	(void)w, (void)path, (void)len;
}

static int null_arm_roots(struct watcher *w)
{
	(void)w;
	return 0;
}

static void null_forget(struct watcher *w, const char *path, size_t len, bool gone)
{
	(void)w, (void)path, (void)len, (void)gone;
}

static void null_disarm(struct watcher *w)
{
	(void)w;
}

static int null_read(struct watcher *w, size_t max)
{
	(void)w, (void)max;
	return 0;
}

static size_t null_watched(const struct wfiles *f)
{
	(void)f;
	return 0;
}

static void null_limit_text(struct watcher *w, char *buf, size_t size)
{
	snprintf(buf, size, "%zu subtrees cannot be watched and are scanned every %d s instead",
	         w->files->unwatched.count, w->rescan_interval);
}

const struct wfiles_ops wfiles_null = {
        .name = "null",
        .what = "directories",
        .open = null_open,
        .close = null_close,
        .arm = null_arm,
        .arm_tree = null_arm_tree,
        .arm_above = null_path,
        .arm_roots = null_arm_roots,
        .rearm = null_path,
        .forget = null_forget,
        .disarm = null_disarm,
        .read = null_read,
        .watched = null_watched,
        .limit_text = null_limit_text,
};
