/* SPDX-License-Identifier: ISC */
/* fim watch: the paths waiting for their settle delay, checked in bounded batches. */
#include <string.h>
#include <syslog.h>

#include "fim/core/utf8.h"
#include "fim/watch/watch.h"

#define PENDING_BATCH 1024

void watch_pending_add(struct watcher *w, const char *path, size_t len, unsigned flags,
                       bool now_due)
{
	int64_t now = watch_now_ms();
	struct wval *v;
	bool created;

	if (w->storm && !(flags & PEND_PERSIST))
		return;
	if (!wmap_get(&w->pending, path, len) && w->pending.count >= WATCH_MAX_PENDING) {
		/* Too many changes at once to follow one by one: rescan the
		 * trees instead, with the map's memory bounded. */
		size_t n = policy_root_count(w->p);
		wmap_free(&w->pending);
		w->storm = true;
		watch_meta(w, "storm", "alert", SEV_MEDIUM,
		           "too many changes at once to check one by one: rescanning the watched "
		           "trees",
		           NULL);
		for (size_t i = 0; i < n; i++) {
			const char *root = policy_root_at(w->p, i);
			watch_pending_add(w, root, strlen(root), PEND_TREE | PEND_PERSIST, true);
		}
		return;
	}
	v = wmap_put(&w->pending, path, len, &created);
	if (!v)
		return;
	if (created)
		v->a = now;
	v->b = now;
	if (now_due)
		v->a = v->b = INT64_MIN / 2;
	if ((flags & PEND_PERSIST) && !(v->flags & PEND_PERSIST) &&
	    state_rescan_add(w->state, path, len) < 0)
		flags &= ~PEND_PERSIST;
	v->flags |= flags;
}

/*
 * A check that took long (a large file re-hashed) makes the next check of
 * the same path wait ten times as long (a minute at most), so a writer that
 * never stops cannot keep the daemon hashing.
 */
static void slow_note(struct watcher *w, const char *path, int64_t took, bool tree)
{
	size_t len = strlen(path);
	struct wval *v;

	if (tree)
		return;
	if (took < WATCH_SLOW_MS) {
		wmap_del(&w->slow, path, len);
		return;
	}
	if (!wmap_get(&w->slow, path, len) && w->slow.count >= WATCH_MAX_SLOW)
		return;
	v = wmap_put(&w->slow, path, len, NULL);
	if (v)
		v->a = watch_now_ms() + (took * 10 < 60000 ? took * 10 : 60000);
}

/* Checks the paths whose settle delay is over. Returns the milliseconds
 * until the next one is due (-1: none), or sets w->fatal. */
int64_t watch_pending_run(struct watcher *w)
{
	struct {
		char *path;
		unsigned flags;
	} due[PENDING_BATCH];
	size_t ndue = 0;
	int64_t now = watch_now_ms(), next = -1;
	struct wmap_iter it = {0};
	const uint8_t *k;
	size_t n;
	struct wval *v;

	while (wmap_next(&w->pending, &it, &k, &n, &v)) {
		int64_t at = v->b + WATCH_SETTLE_MS;
		struct wval *slow = wmap_get(&w->slow, k, n);
		if (v->a + WATCH_MAX_DELAY_MS < at)
			at = v->a + WATCH_MAX_DELAY_MS;
		/* a path whose check is costly and that keeps changing waits */
		if (slow && slow->a > at && !(v->flags & PEND_TREE))
			at = slow->a;
		if (at > now) {
			if (next < 0 || at - now < next)
				next = at - now;
			continue;
		}
		if (ndue == ARRAY_SIZE(due)) {
			next = 0;
			continue;
		}
		due[ndue].path = strndup((const char *)k, n);
		due[ndue].flags = v->flags;
		if (!due[ndue].path) {
			next = 0;
			continue;
		}
		ndue++;
		wmap_del(&w->pending, k, n);
	}
	if (ndue && wtree_root_gone(w)) {
		/* nothing to compare with until the root is back (then all is) */
		for (size_t i = 0; i < ndue; i++)
			free(due[i].path);
		return -1;
	}
	if (ndue)
		w->storm = false; /* from here on, changes are seen again */
	for (size_t i = 0; i < ndue; i++) {
		int r = 0;
		if (!w->fatal) {
			/* a directory above may have been replaced meanwhile */
			if (due[i].flags & PEND_TREE)
				wfiles_arm_above(w, due[i].path, strlen(due[i].path));
			int64_t t0 = watch_now_ms(), took;
			watch_busy(w, true);
			r = watch_scan(w, due[i].path, strlen(due[i].path),
			               due[i].flags & PEND_TREE);
			watch_busy(w, false);
			took = watch_now_ms() - t0;
			slow_note(w, due[i].path, took, due[i].flags & PEND_TREE);
		}
		if (r < 0) {
			char q[600];
			watch_say(w, LOG_ERR, "watch: %s: %s",
			          utf8_quote(due[i].path, strlen(due[i].path), q, sizeof(q)),
			          r == -EBADMSG ? "the baseline is corrupt" : strerror(-r));
			if (r == -EBADMSG)
				watch_meta(w, "baseline_rejected", "alert", SEV_CRITICAL,
				           "the baseline is corrupt (found while reading a changed "
				           "path's record); fim watch stops",
				           NULL);
			w->fatal = r;
		}
		if (due[i].flags & PEND_TREE)
			w->rescans++;
		if (!r && (due[i].flags & PEND_PERSIST))
			state_rescan_del(w->state, due[i].path, strlen(due[i].path));
		free(due[i].path);
	}
	if (ndue)
		wfiles_report_limit(w);
	return next;
}

/* Judges what the hash worker finished; sets w->fatal on a fatal error. */
void watch_hashed_run(struct watcher *w)
{
	struct whash_job *j;

	while (!w->fatal && (j = whash_take(w->hasher))) {
		int r = watch_scan_hashed(w, j);

		if (r < 0) {
			char q[600];
			watch_say(w, LOG_ERR, "watch: %s: %s",
			          utf8_quote(j->path, j->len, q, sizeof(q)),
			          r == -EBADMSG ? "the baseline is corrupt" : strerror(-r));
			w->fatal = r;
		}
		slow_note(w, j->path, j->took_ms, false);
		if (j->again)
			watch_pending_add(w, j->path, j->len, 0, false);
		whash_job_free(j);
	}
}
