/* SPDX-License-Identifier: ISC */
/* fim watch: the watcher - its loop, reloads of baseline and policy, the journal, and status. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "fim/watch/journal.h"
#include "fim/watch/watch.h"

#define HOUSEKEEPING_MS 1000

void watch_say(struct watcher *w, int level, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;

	if (!w->ops || !w->ops->say)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->ops->say(w, level, msg);
}

char *watch_current_link(const char *db)
{
	char path[4096], link[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/current", db);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return NULL;
	link[n] = '\0';
	return strdup(link);
}

/* A reconcile while running: a failure is alerted, the daemon goes on. */
void watch_reconcile_again(struct watcher *w, bool quick)
{
	char msg[200];
	int r;

	if (w->root_gone)
		return; /* nothing to check: the return rescans */
	r = w->ops->reconcile(w, quick);
	if (!r || r == -ECANCELED)
		return;
	if (r == -EBADMSG) {
		/* the baseline read as damaged: nothing can be compared with it */
		watch_meta(w, "baseline_rejected", "alert", SEV_CRITICAL,
		           "the baseline is corrupt (found while checking everything against it); "
		           "fim watch stops",
		           NULL);
		w->fatal = -EBADMSG;
		return;
	}
	snprintf(msg, sizeof(msg),
	         "the check of everything against the baseline failed (status %d); still "
	         "following changes",
	         r);
	watch_meta(w, "reconcile_failed", "alert", SEV_HIGH, msg, NULL);
}

/* DIR/current points elsewhere: a new baseline or an accept. */
static void maybe_reload_baseline(struct watcher *w)
{
	char *link = watch_current_link(w->db), *nlink = NULL;
	struct store *s = NULL;
	char msg[512];
	int r;

	if (!link || (w->store_link && strcmp(link, w->store_link) == 0)) {
		free(link);
		return;
	}
	free(link);
	r = w->ops->open_baseline(w, &s, &nlink);
	if (r) {
		snprintf(msg, sizeof(msg),
		         "%s: the baseline was replaced, but the new one %s; still comparing with "
		         "the one verified before",
		         w->db, r == -EPERM ? "fails verification" : "cannot be used");
		watch_meta(w, "baseline_rejected", "alert", SEV_CRITICAL, msg, NULL);
		/* do not try again until it changes once more */
		free(w->store_link);
		w->store_link = watch_current_link(w->db);
		return;
	}
	store_close(w->s);
	w->s = s;
	free(w->store_link);
	w->store_link = nlink;
	files_scratch_free(&w->scratch);
	if (files_scratch_init(&w->scratch, w->algo) < 0) {
		w->fatal = -ENOMEM;
		return;
	}
	r = w->ops->load_old_policy(w);
	if (r == -ENOMEM) {
		w->fatal = r;
		return;
	}
	if (r < 0) {
		/* it opened and verified, but its policy record is damaged: nothing
		 * can be compared with it, and the old one is closed */
		snprintf(msg, sizeof(msg),
		         "%s: the baseline was replaced, but the new one's policy record is "
		         "corrupt; fim watch stops",
		         w->db);
		watch_meta(w, "baseline_rejected", "alert", SEV_CRITICAL, msg, NULL);
		w->fatal = -EBADMSG;
		return;
	}
	wmap_free(&w->drifted);
	watch_meta(w, "baseline_reloaded", "event", SEV_LOW,
	           "a new baseline is current: reconciling with it", NULL);
	watch_reconcile_again(w, false);
}

/* The watch.* and alerts.* settings in force. */
bool watch_setting_on(const struct policy *p, const char *key, bool dflt)
{
	const char *v = policy_get(p, key);

	return v ? strcmp(v, "yes") == 0 : dflt;
}

int watch_full_interval(const struct policy *p)
{
	const char *v = policy_get(p, "watch.full_rescan_interval");
	long n = v ? strtol(v, NULL, 10) : 3600;

	return n > 0 && n <= 86400 * 7 ? (int)n : 3600;
}

int watch_rescan_interval(const struct policy *p)
{
	const char *v = policy_get(p, "watch.rescan_interval");
	long n = v ? strtol(v, NULL, 10) : 300;

	return n > 0 && n <= 86400 * 7 ? (int)n : 300;
}

/* SIGHUP: the policy again, the watches again, then a reconcile under it. */
static void reload_policy(struct watcher *w)
{
	struct policy *p = NULL;
	char msg[512];
	int r;

	r = w->ops->load_policy(w, &p);
	if (r == -EINVAL) {
		snprintf(
		        msg, sizeof(msg),
		        "%s: the policy could not be reloaded; watching with the one loaded before",
		        w->policy_path);
		watch_meta(w, "policy_rejected", "alert", SEV_HIGH, msg, NULL);
		return;
	}
	if (r < 0) {
		watch_meta(w, "policy_rejected", "alert", SEV_CRITICAL,
		           "the reloaded policy is not the one the baseline was signed with; "
		           "watching with the one loaded before",
		           NULL);
		return;
	}
	wfiles_disarm(w);
	wmap_free(&w->pending);
	policy_free(w->p);
	w->p = p;
	w->rescan_interval = watch_rescan_interval(p);
	w->full_interval = watch_full_interval(p);
	w->full_due = watch_now_ms() + (int64_t)w->full_interval * 1000;
	if (w->ops->load_old_policy(w) < 0) {
		w->fatal = -EBADMSG;
		return;
	}
	if (w->journal) {
		char err[512] = "";
		if (journal_reload(w->journal, p, err, sizeof(err)) < 0)
			watch_say(w, LOG_WARNING, "journal: %s", err);
	}
	if (wtree_root_gone(w)) {
		/* nothing to arm or check until it is back; the full check is
		 * then due at once */
		snprintf(msg, sizeof(msg),
		         "%s: policy reloaded; the root is gone: it is watched and checked "
		         "as soon as it is back",
		         w->policy_path);
		watch_meta(w, "policy_reloaded", "alert", SEV_MEDIUM, msg, NULL);
		w->full_due = watch_now_ms();
		return;
	}
	r = wfiles_arm_roots(w);
	if (r < 0)
		watch_say(w, LOG_WARNING, "watch: cannot arm the watches: %s", strerror(-r));
	wtree_init(w);
	wfiles_report_limit(w);
	snprintf(msg, sizeof(msg), "%s: policy reloaded; %zu %s watched", w->policy_path,
	         wfiles_watched(w->files), wfiles_what(w->files));
	watch_meta(w, "policy_reloaded", "alert", SEV_MEDIUM, msg, NULL);
	watch_reconcile_again(w, false);
}

/* When the baseline was taken, in CLOCK_REALTIME microseconds (0: unknown). */
static uint64_t baseline_time(struct store *s)
{
	struct bytes v;
	char text[64];
	struct tm tm = {0};
	char *end;

	if (store_meta(s, META_CREATED, &v) < 0 || v.n >= sizeof(text))
		return 0;
	memcpy(text, v.p, v.n);
	text[v.n] = '\0';
	end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return 0;
	return (uint64_t)timegm(&tm) * 1000000u;
}

int watch_journal_open(struct watcher *w, const char *dir)
{
	char err[512] = "", *cursor = NULL;
	int r;

	r = journal_open(dir, w->p, w->host, &w->journal, err, sizeof(err));
	if (r < 0) {
		watch_say(w, LOG_ERR, "journal%s%s: %s", dir ? " " : "", dir ? dir : "",
		          err[0] ? err : strerror(-r));
		return r;
	}
	r = state_cursor(w->state, &cursor);
	if (r < 0 && r != -ENOENT)
		watch_say(w, LOG_WARNING, "%s/state: cannot read the journal cursor: %s", w->db,
		          strerror(-r));
	r = journal_seek(w->journal, cursor, baseline_time(w->s));
	if (r == 1)
		watch_meta(w, "journal_gap", "alert", SEV_MEDIUM,
		           "the journal no longer holds the entry fim read last (rotated or "
		           "vacuumed): reading on from the oldest entry after it",
		           NULL);
	free(cursor);
	if (r < 0) {
		watch_say(w, LOG_ERR, "journal: cannot seek: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int on_journal_alert(const struct journal_alert *a, void *arg)
{
	struct watcher *w = arg;
	char *s = json_dumps((const json_t *)a->event, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int r;

	if (!s)
		return -ENOMEM;
	w->send_err = 0;
	r = watch_send_line(w, s, strlen(s));
	free(s);
	if (r < 0)
		return r; /* the entry is read again: its alert is not lost */
	w->alerts_sent++;
	return 0;
}

/* Reads a bounded batch; the cursor is saved once its alerts went out. */
static int journal_run(struct watcher *w, bool *more)
{
	journal_recheck_t recheck = 0;
	char *cursor;
	int n;

	w->send_err = 0;
	n = journal_process(w->journal, WATCH_JOURNAL_MAX, on_journal_alert, w, &recheck);
	*more = n >= WATCH_JOURNAL_MAX;
	if (n < 0 && w->send_err) {
		/* a sink failed: what was delivered is kept, the rest waits */
		w->journal_retry_at = watch_now_ms() + 1000;
		*more = true;
		n = 1;
	} else if (n < 0) {
		return n;
	}
	if (recheck) {
		int r = w->ops->recheck(w);
		if (r < 0)
			return r;
	}
	if (n > 0 && (cursor = journal_cursor(w->journal))) {
		int r = state_set_cursor(w->state, cursor);
		free(cursor);
		if (r < 0)
			watch_say(w, LOG_WARNING, "%s/state: cannot save the journal cursor: %s",
			          w->db, strerror(-r));
	}
	return 0;
}

void watch_notify_status(struct watcher *w, bool ready)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
	         "%sSTATUS=watching %zu %s (%zu unwatched, rescanned every %d s), "
	         "%llu alerts, %zu pending checks",
	         ready ? "READY=1\n" : "", wfiles_watched(w->files), wfiles_what(w->files),
	         wfiles_unwatched(w->files), w->rescan_interval, (unsigned long long)w->alerts_sent,
	         w->pending.count);
	sd_notify(0, msg);
}

int watch_arm(struct watcher *w)
{
	int r = wfiles_arm_roots(w);

	if (r < 0)
		return r;
	wtree_init(w);
	wfiles_report_limit(w);
	return 0;
}

static int watch_run(struct watcher *w, int sfd, int mfd)
{
	uint64_t wd_usec = 0;
	int64_t next_house = watch_now_ms(), next_dog = 0;
	/* Entries already in the journal are read at once, not at the next one. */
	bool lib_more = false, journal_more = w->journal != NULL;
	bool ping = sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0;

	for (;;) {
		struct pollfd fds[5] = {
		        {.fd = sfd, .events = POLLIN},
		        {.fd = wfiles_fd(w->files), .events = POLLIN},
		        {.fd = w->journal ? journal_fd(w->journal) : -1, .events = POLLIN},
		        {.fd = mfd, .events = POLLPRI},
		        {.fd = whash_fd(w->hasher), .events = POLLIN}};
		int64_t now, wait = watch_pending_run(w);

		if (w->fatal)
			return w->fatal == -EBADMSG ? -EBADMSG : -EIO;
		now = watch_now_ms();
		if (now >= next_house) {
			maybe_reload_baseline(w);
			watch_sinks_retry(w);
			wtree_check(w);
			wfiles_tick(w);
			watch_notify_status(w, false);
			next_house = now + HOUSEKEEPING_MS;
		}
		if (ping && now >= next_dog) {
			sd_notify(0, "WATCHDOG=1");
			next_dog = now + (int64_t)(wd_usec / 2000);
		}
		if (wait < 0 || wait > next_house - now)
			wait = next_house - now;
		if (ping && wait > next_dog - now)
			wait = next_dog - now;
		if (w->full_due && now >= w->full_due && !w->root_gone) {
			w->full_due = now + (int64_t)w->full_interval * 1000;
			watch_reconcile_again(w, true);
			now = watch_now_ms();
		}
		if (w->journal && journal_more && now < w->journal_retry_at &&
		    (wait < 0 || wait > w->journal_retry_at - now))
			wait = w->journal_retry_at - now;
		else if (lib_more || journal_more || wait < 0)
			wait = 0;
		if (lib_more)
			wait = 0;
		if (poll(fds, 5, (int)wait) < 0 && errno != EINTR) {
			watch_say(w, LOG_ERR, "watch: poll: %s", strerror(errno));
			return -EIO;
		}
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP)
					reload_policy(w);
				else
					return 0;
			}
		}
		if (fds[3].revents & (POLLPRI | POLLERR))
			wfiles_mounts_changed(w);
		if (fds[4].revents & POLLIN) {
			watch_hashed_run(w);
			if (w->fatal)
				return -EIO;
		}
		/* Bounded batches from each source, so neither starves the other. */
		if (lib_more || (fds[1].revents & POLLIN)) {
			int n = wfiles_process(w, WATCH_BATCH);
			if (n < 0) {
				watch_say(w, LOG_ERR, "watch: reading %s events: %s",
				          wfiles_backend(w->files), strerror(-n));
				return -EIO;
			}
			lib_more = n >= WATCH_BATCH;
		}
		if (w->journal && watch_now_ms() >= w->journal_retry_at &&
		    (journal_more || (fds[2].revents & POLLIN))) {
			int r = journal_run(w, &journal_more);
			if (r < 0) {
				watch_say(w, LOG_ERR, "journal: %s", strerror(-r));
				return -EIO;
			}
		}
	}
}

int watch_follow(struct watcher *w, int sfd)
{
	char **rescan = NULL;
	size_t nrescan = 0;
	int mfd, r;

	w->full_due = watch_now_ms() + (int64_t)w->full_interval * 1000;
	/* what a run before left unscanned (stopped, crashed) */
	if (state_rescan_list(w->state, &rescan, &nrescan) == 0) {
		for (size_t i = 0; i < nrescan; i++) {
			if (rescan[i][0] == '/')
				watch_pending_add(w, rescan[i], strlen(rescan[i]),
				                  PEND_TREE | PEND_PERSIST, true);
			free(rescan[i]);
		}
		free(rescan);
	}
	watch_notify_status(w, true);
	mfd = wfiles_mounts_open(w);
	r = watch_run(w, sfd, mfd);
	if (mfd >= 0)
		close(mfd);
	return r;
}

void watch_started(struct watcher *w)
{
	if (state_was_running(w->state))
		watch_meta(w, "unclean_stop", "alert", SEV_HIGH,
		           "fim watch did not stop cleanly last time (killed, crashed or the host "
		           "went down): the reconcile now checks what changed meanwhile",
		           NULL);
	state_set_running(w->state, true);
	watch_meta(w, "started", "event", SEV_LOW, "fim watch started: reconciling", NULL);
}

void watch_stopped(struct watcher *w, bool error)
{
	sd_notify(0, "STOPPING=1");
	watch_meta(w, "stopped", "alert", error ? SEV_HIGH : SEV_MEDIUM,
	           error ? "fim watch stopped on an error: changes are not followed"
	                 : "fim watch stopped: changes are not followed until it starts again",
	           NULL);
	if (!error)
		state_set_running(w->state, false);
}

/* Opens directory PATH[0..len) below the root without following any
 * symbolic link on the way. Returns the fd or a negative errno. */
int watch_open_dir(struct watcher *w, const char *path, size_t len)
{
	int fd = fcntl(w->rootfd, F_DUPFD_CLOEXEC, 3);
	size_t i = 0;

	if (fd < 0)
		return -errno;
	while (i < len) {
		char name[FIM_MAX_NAME + 1];
		size_t j;
		int nfd;

		while (i < len && path[i] == '/')
			i++;
		for (j = i; j < len && path[j] != '/'; j++)
			;
		if (j == i)
			break;
		if (j - i > FIM_MAX_NAME) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(name, path + i, j - i);
		name[j - i] = '\0';
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (nfd < 0)
			return errno == ELOOP ? -ENOTDIR : -errno;
		fd = nfd;
		i = j;
	}
	return fd;
}

void watch_close(struct watcher *w)
{
	/* first: the worker may be reading a large file; it stops within a chunk */
	whash_close(w->hasher);
	w->hasher = NULL;
	if (w->alerts)
		fclose(w->alerts);
	w->alerts = NULL;
	if (w->json.ops)
		w->json.ops->free(&w->json);
	w->json.ops = NULL;
	sinks_close(w->sinks);
	w->sinks = NULL;
	journal_free(w->journal);
	w->journal = NULL;
	wfiles_close(w->files);
	w->files = NULL;
	wmap_free(&w->pending);
	wmap_free(&w->slow);
	wmap_free(&w->drifted);
	wmap_free(&w->trees);
	state_close(w->state);
	w->state = NULL;
	files_scratch_free(&w->scratch);
	files_text_free(&w->text);
	if (w->rootfd >= 0)
		close(w->rootfd);
	w->rootfd = -1;
	store_close(w->s);
	w->s = NULL;
	free(w->store_link);
	w->store_link = NULL;
	free(w->rootpath);
	w->rootpath = NULL;
	policy_free(w->old);
	w->old = NULL;
	policy_free(w->p);
	w->p = NULL;
	watch_dog_stop(w);
}
