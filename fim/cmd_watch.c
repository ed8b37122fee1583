/* SPDX-License-Identifier: ISC */
/* fim watch: the daemon - verify, reconcile, then follow files and the journal, alerting every
 * drift. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "fim/cmd_check.h"
#include "fim/core/jbytes.h"
#include "fim/watch/journal.h"
#include "fim/log.h"
#include "fim/engine/check.h"
#include "fim/engine/objects.h"
#include "fim/trust/trail.h"
#include "fim/trust/trust.h"
#include "fim/watch/watch.h"
#include "fim/core/utf8.h"

#define HOUSEKEEPING_MS 1000
#define PENDING_BATCH   1024
#define SINK_WARN_MS    60000

/* --- events of the daemon itself --- */

static void timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static int64_t last_sink_warn = -SINK_WARN_MS;

/* The sinks take alerts again after W->lost were not delivered to all of
 * them: that is alerted, and a full check sends again what is still drifted. */
static void gap_alert(struct watcher *w)
{
	char msg[200];

	snprintf(msg, sizeof(msg),
	         "%llu alerts could not be delivered to every sink; what is still "
	         "drifted is sent again by a full check now",
	         (unsigned long long)w->lost);
	w->in_gap = true;
	w->lost = 0;
	watch_meta(w, "sink_gap", "alert", SEV_HIGH, msg, NULL);
	w->in_gap = false;
	w->full_due = watch_now_ms();
}

/* Sends one JSON line to the sinks; a failing sink is logged, not fatal. */
/*
 * Sends one JSON line to the sinks. A failing sink is logged (at most once
 * a minute) and counted: the caller undoes what it recorded as alerted, so
 * the drift is alerted again, and once a sink takes alerts again the gap
 * is alerted and a full check sends what is still drifted.
 */
static int send_line(struct watcher *w, const char *line, size_t n)
{
	const char *failed = "?";
	int r = sinks_emit(w->sinks, line, n, &failed);

	if (r < 0) {
		w->send_err = r;
		w->lost++;
		if (watch_now_ms() - last_sink_warn >= SINK_WARN_MS) {
			last_sink_warn = watch_now_ms();
			log_warn("alert sink %s: cannot send an alert: %s", failed,
			         strcmp(failed, "trail") == 0 ? trail_cause(r) : strerror(-r));
		}
		return r;
	}
	if (w->lost && !w->in_gap)
		gap_alert(w);
	return 0;
}

/* Housekeeping: a sink that held alerts back (syslog while its daemon is
 * down) sends them once it can; the gap is then alerted without waiting
 * for the next alert. */
static void retry_sinks(struct watcher *w)
{
	if (w->lost && sinks_retry(w->sinks) > 0)
		gap_alert(w);
}

void watch_meta(struct watcher *w, const char *action, const char *kind, enum severity sev,
                const char *message, json_t *paths)
{
	char ts[64];
	json_t *o, *fim, *host;
	char *s;

	timestamp(ts, sizeof(ts));
	fim = json_pack("{s:s, s:s, s:s}", "object", "watch", "id", action, "severity",
	                severity_name(sev));
	if (paths)
		json_object_set_new(fim, "paths", paths);
	host = json_object();
	/* A host name is whatever bytes root set: it must not stop alerts. */
	jbytes_set(host, "name", w->host, strlen(w->host));
	o = json_pack("{s:s, s:{s:s, s:s, s:s, s:[s], s:[s], s:i}, s:o, s:o, s:o}", "@timestamp",
	              ts, "event", "kind", kind, "module", "fim", "action", action, "category",
	              "configuration", "type", "info", "severity", report_severity_score(sev),
	              "host", host, "message", jbytes_new(message, strlen(message)), "fim", fim);
	if (!o)
		return;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return;
	send_line(w, s, strlen(s));
	free(s);
	if (strcmp(kind, "alert") == 0)
		w->alerts_sent++;
	if (log_level > 0)
		log_info("%s", message);
}

/* report_json writes into a stream whose lines go to the sinks. */
struct line_stream {
	struct watcher *w;
	struct buf line;
};

static ssize_t ls_write(void *cookie, const char *data, size_t n)
{
	struct line_stream *ls = cookie;

	for (size_t i = 0; i < n; i++) {
		if (data[i] != '\n') {
			if (buf_append(&ls->line, data + i, 1) < 0)
				return -1;
			continue;
		}
		if (ls->line.n)
			send_line(ls->w, (const char *)ls->line.p, ls->line.n);
		ls->line.n = 0;
	}
	return (ssize_t)n;
}

static int ls_close(void *cookie)
{
	struct line_stream *ls = cookie;

	buf_free(&ls->line);
	free(ls);
	return 0;
}

static FILE *line_stream_open(struct watcher *w)
{
	static const cookie_io_functions_t io = {.write = ls_write, .close = ls_close};
	struct line_stream *ls = calloc(1, sizeof(*ls));
	FILE *f;

	if (!ls)
		return NULL;
	ls->w = w;
	f = fopencookie(ls, "w", io);
	if (!f) {
		free(ls);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* --- pending paths --- */

static bool storm; /* every root is queued for a full rescan already */

void watch_pending_add(struct watcher *w, const char *path, size_t len, unsigned flags,
                       bool now_due)
{
	int64_t now = watch_now_ms();
	struct wval *v;
	bool created;

	if (storm && !(flags & PEND_PERSIST))
		return;
	if (!wmap_get(&w->pending, path, len) && w->pending.count >= WATCH_MAX_PENDING) {
		/* Too many changes at once to follow one by one: rescan the
		 * trees instead, with the map's memory bounded. */
		size_t n = policy_root_count(w->p);
		wmap_free(&w->pending);
		storm = true;
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
static int64_t pending_run(struct watcher *w)
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
		storm = false; /* from here on, changes are seen again */
	for (size_t i = 0; i < ndue; i++) {
		int r = 0;
		if (!w->fatal) {
			/* a directory above may have been replaced meanwhile */
			if (due[i].flags & PEND_TREE)
				wfiles_arm_above(w, due[i].path, strlen(due[i].path));
			int64_t t0 = watch_now_ms(), took;
			watch_busy(true);
			r = watch_scan(w, due[i].path, strlen(due[i].path),
			               due[i].flags & PEND_TREE);
			watch_busy(false);
			took = watch_now_ms() - t0;
			slow_note(w, due[i].path, took, due[i].flags & PEND_TREE);
		}
		if (r < 0) {
			char q[600];
			log_error("watch: %s: %s",
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
static void hashed_run(struct watcher *w)
{
	struct whash_job *j;

	while (!w->fatal && (j = whash_take(w->hasher))) {
		int r = watch_scan_hashed(w, j);

		if (r < 0) {
			char q[600];
			log_error("watch: %s: %s", utf8_quote(j->path, j->len, q, sizeof(q)),
			          r == -EBADMSG ? "the baseline is corrupt" : strerror(-r));
			w->fatal = r;
		}
		slow_note(w, j->path, j->took_ms, false);
		if (j->again)
			watch_pending_add(w, j->path, j->len, 0, false);
		whash_job_free(j);
	}
}

/* --- baseline, policy, reconcile --- */

static char *current_link(const char *db)
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

/* Loads the baseline's own policy when it differs from the one in force. */
static int load_old_policy(struct watcher *w)
{
	policy_free(w->old);
	w->old = NULL;
	return check_old_policy(w->s, w->p, &w->old);
}

/* Opens and verifies the current baseline as fim check does. Returns 0 or
 * an exit status (reported). */
static int open_baseline(struct watcher *w, struct store **ret, char **ret_link)
{
	struct store *s = NULL;
	struct bytes v;
	char hash[32];
	int r;

	*ret_link = current_link(w->o->db);
	r = trust_open(w->o, w->p, &s);
	if (r)
		goto fail;
	r = trust_verify(w->o, w->p, s);
	if (r)
		goto fail;
	r = FIM_EXIT_BASELINE;
	if (store_meta(s, META_HASH, &v) < 0 || v.n >= sizeof(hash)) {
		log_error("%s: the baseline names no hash algorithm; run 'fim baseline'", w->o->db);
		goto fail;
	}
	memcpy(hash, v.p, v.n);
	hash[v.n] = '\0';
	w->algo = hash_lookup(hash);
	if (w->algo == HASH_NONE) {
		log_error("%s: the baseline names an unknown hash algorithm '%s'", w->o->db, hash);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	store_close(s);
	free(*ret_link);
	*ret_link = NULL;
	return r;
}

/* The check's tick: -ECANCELED once SIGTERM or SIGINT waits to be read
 * from the signalfd (they are blocked, so they stay pending until then). */
static void dog_tick(void);

static int stop_pending(void *ctx)
{
	const unsigned *delay_ms = ctx;
	sigset_t set;

	dog_tick();
	/* FIM_TEST_CHECK_DELAY_MS: the tests' long reconcile without gigabytes */
	if (delay_ms && *delay_ms)
		usleep(*delay_ms * 1000u);
	if (sigpending(&set) == 0 && (sigismember(&set, SIGTERM) || sigismember(&set, SIGINT)))
		return -ECANCELED;
	return 0;
}

/* The exit status of the reconcile's engine run that returned R (reported). */
static int reconcile_status(struct watcher *w, int r, const struct report_summary *sum,
                            const struct fim_err *err)
{
	if (err->msg[0])
		log_error("%s", err->msg);
	if (r == -EBADMSG) {
		log_error("%s: the baseline is corrupt: %s", w->o->db, strerror(-r));
		return trust_verify_key_path(w->o, w->p) ? FIM_EXIT_INTEGRITY : FIM_EXIT_BASELINE;
	}
	if (r < 0 && stop_pending(&w->check_delay_ms) == r)
		return FIM_EXIT_IO; /* stopped: the caller says so */
	if (r < 0) {
		log_error("check: %s", strerror(-r));
		return FIM_EXIT_IO;
	}
	return (sum->added ? FIM_EXIT_ADDED : 0) | (sum->removed ? FIM_EXIT_REMOVED : 0) |
	       (sum->changed ? FIM_EXIT_CHANGED : 0) | (sum->errors ? FIM_EXIT_UNREADABLE : 0);
}

/* A full check of everything, into the sinks, with the policy and baseline
 * in force (not what is on disk now). Returns 0, an exit status, or
 * -ECANCELED when SIGTERM or SIGINT stopped it (the loop then reads the
 * signal and stops as usual). */
static int reconcile(struct watcher *w, bool quick)
{
	const struct fim_opts *o = w->o;
	struct report rep = {.ops = &watch_report_ops, .user = w};
	struct report_info info = {.command = "check", .policy_changed = w->old != NULL};
	struct report_summary sum = {0};
	struct fim_err err = {0};
	char hash[32];
	struct check_args a = {.p = w->p,
	                       .old = w->old,
	                       .s = w->s,
	                       .quick = o->quick || quick,
	                       .jobs = o->jobs,
	                       .keep_cache = o->keep_cache,
	                       .tick = stop_pending,
	                       .tick_ctx = &w->check_delay_ms,
	                       .say = &cmd_say_problems};
	int r;

	watch_generation(w, true);
	sd_notify(0, "STATUS=reconciling: checking everything against the baseline");
	watch_busy(true);
	a.algo = check_baseline_algo(w->s, hash, sizeof(hash));
	r = FIM_EXIT_BASELINE;
	if (a.algo == HASH_NONE)
		log_error("%s: the baseline names an unknown hash algorithm '%s'", o->db, hash);
	else if (w->old)
		log_warn("%s: the policy in force is not the one the baseline was built with; "
		         "objects it newly selects or drops are not reported as drift",
		         o->policy);
	a.rootfd = a.algo == HASH_NONE ? -1 : cli_open_root(o);
	if (a.rootfd >= 0) {
		r = check_run(&a, &rep, &info, &sum, &err);
		r = reconcile_status(w, r, &sum, &err);
		close(a.rootfd);
	} else if (a.algo != HASH_NONE) {
		r = FIM_EXIT_IO;
	}
	watch_busy(false);
	if (r && stop_pending(NULL) < 0)
		return -ECANCELED;
	if (r >= FIM_EXIT_USAGE)
		return r;
	watch_prune(w);
	return 0;
}

/* A reconcile while running: a failure is alerted, the daemon goes on. */
static void reconcile_again(struct watcher *w, bool quick)
{
	char msg[200];
	int r;

	if (w->root_gone)
		return; /* nothing to check: the return rescans */
	r = reconcile(w, quick);
	if (!r || r == -ECANCELED)
		return;
	if (r == FIM_EXIT_BASELINE || r == FIM_EXIT_INTEGRITY) {
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

/* The kinds a journal entry asked to re-check, against the baseline. */
static int recheck_objects(struct watcher *w)
{
	struct report_summary sum = {0};
	struct fim_err err = {0};
	int r;

	watch_generation(w, false);
	r = objects_check(w->rootfd, w->p, w->old, w->s, &w->rep, &cmd_say_problems, &sum, &err);
	if (err.msg[0])
		log_error("%s", err.msg);
	if (r == 0)
		watch_prune(w);
	return r;
}

/* DIR/current points elsewhere: a new baseline or an accept. */
static void maybe_reload_baseline(struct watcher *w)
{
	char *link = current_link(w->o->db), *nlink = NULL;
	struct store *s = NULL;
	char msg[512];
	int r;

	if (!link || (w->store_link && strcmp(link, w->store_link) == 0)) {
		free(link);
		return;
	}
	free(link);
	r = open_baseline(w, &s, &nlink);
	if (r) {
		snprintf(msg, sizeof(msg),
		         "%s: the baseline was replaced, but the new one %s; still comparing with "
		         "the one verified before",
		         w->o->db,
		         r == FIM_EXIT_INTEGRITY ? "fails verification" : "cannot be used");
		watch_meta(w, "baseline_rejected", "alert", SEV_CRITICAL, msg, NULL);
		/* do not try again until it changes once more */
		free(w->store_link);
		w->store_link = current_link(w->o->db);
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
	r = load_old_policy(w);
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
		         w->o->db);
		watch_meta(w, "baseline_rejected", "alert", SEV_CRITICAL, msg, NULL);
		w->fatal = -EBADMSG;
		return;
	}
	wmap_free(&w->drifted);
	watch_meta(w, "baseline_reloaded", "event", SEV_LOW,
	           "a new baseline is current: reconciling with it", NULL);
	reconcile_again(w, false);
}

/* The watch.* and alerts.* settings in force. */
static bool setting_on(const struct policy *p, const char *key, bool dflt)
{
	const char *v = policy_get(p, key);

	return v ? strcmp(v, "yes") == 0 : dflt;
}

static int full_interval(const struct policy *p)
{
	const char *v = policy_get(p, "watch.full_rescan_interval");
	long n = v ? strtol(v, NULL, 10) : 3600;

	return n > 0 && n <= 86400 * 7 ? (int)n : 3600;
}

static int rescan_interval(const struct policy *p)
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

	if (cli_load_policy(w->o, &p)) {
		snprintf(
		        msg, sizeof(msg),
		        "%s: the policy could not be reloaded; watching with the one loaded before",
		        w->o->policy);
		watch_meta(w, "policy_rejected", "alert", SEV_HIGH, msg, NULL);
		return;
	}
	if (trust_verify(w->o, p, w->s)) {
		policy_free(p);
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
	w->rescan_interval = rescan_interval(p);
	w->full_interval = full_interval(p);
	w->full_due = watch_now_ms() + (int64_t)w->full_interval * 1000;
	if (load_old_policy(w) < 0) {
		w->fatal = -EBADMSG;
		return;
	}
	if (w->journal) {
		char err[512] = "";
		if (journal_reload(w->journal, p, err, sizeof(err)) < 0)
			log_warn("journal: %s", err);
	}
	if (wtree_root_gone(w)) {
		/* nothing to arm or check until it is back; the full check is
		 * then due at once */
		snprintf(msg, sizeof(msg),
		         "%s: policy reloaded; the root is gone: it is watched and checked "
		         "as soon as it is back",
		         w->o->policy);
		watch_meta(w, "policy_reloaded", "alert", SEV_MEDIUM, msg, NULL);
		w->full_due = watch_now_ms();
		return;
	}
	r = wfiles_arm_roots(w);
	if (r < 0)
		log_warn("watch: cannot arm the watches: %s", strerror(-r));
	wtree_init(w);
	wfiles_report_limit(w);
	snprintf(msg, sizeof(msg), "%s: policy reloaded; %zu %s watched", w->o->policy,
	         wfiles_watched(w->files), wfiles_what(w->files));
	watch_meta(w, "policy_reloaded", "alert", SEV_MEDIUM, msg, NULL);
	reconcile_again(w, false);
}

/* --- journal --- */

static int on_journal_alert(const struct journal_alert *a, void *arg)
{
	struct watcher *w = arg;
	char *s = json_dumps((const json_t *)a->event, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int r;

	if (!s)
		return -ENOMEM;
	w->send_err = 0;
	r = send_line(w, s, strlen(s));
	free(s);
	if (r < 0)
		return r; /* the entry is read again: its alert is not lost */
	w->alerts_sent++;
	return 0;
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

static int open_journal(struct watcher *w, const char *dir)
{
	char err[512] = "", *cursor = NULL;
	int r;

	r = journal_open(dir, w->p, w->host, &w->journal, err, sizeof(err));
	if (r < 0) {
		log_error("journal%s%s: %s", dir ? " " : "", dir ? dir : "",
		          err[0] ? err : strerror(-r));
		return r;
	}
	r = state_cursor(w->state, &cursor);
	if (r < 0 && r != -ENOENT)
		log_warn("%s/state: cannot read the journal cursor: %s", w->o->db, strerror(-r));
	r = journal_seek(w->journal, cursor, baseline_time(w->s));
	if (r == 1)
		watch_meta(w, "journal_gap", "alert", SEV_MEDIUM,
		           "the journal no longer holds the entry fim read last (rotated or "
		           "vacuumed): reading on from the oldest entry after it",
		           NULL);
	free(cursor);
	if (r < 0) {
		log_error("journal: cannot seek: %s", strerror(-r));
		return r;
	}
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
		int r = recheck_objects(w);
		if (r < 0)
			return r;
	}
	if (n > 0 && (cursor = journal_cursor(w->journal))) {
		int r = state_set_cursor(w->state, cursor);
		free(cursor);
		if (r < 0)
			log_warn("%s/state: cannot save the journal cursor: %s", w->o->db,
			         strerror(-r));
	}
	return 0;
}

/* --- systemd --- */

/*
 * The watchdog is pinged by the loop; during a long piece of work (the
 * reconcile, rescanning a large tree) a helper thread pings instead, as
 * long as the work makes progress, so a full check longer than WatchdogSec
 * is not taken for a hang, and a hung read still is.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, busy, stop;
	uint64_t usec;
	clockid_t main_clock;        /* CPU time of the loop thread */
	atomic_uint_least64_t ticks; /* calls of the check's tick */
} dog = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* The check moved on (called from any of its threads). */
static void dog_tick(void)
{
	atomic_fetch_add_explicit(&dog.ticks, 1, memory_order_relaxed);
}

/* The bytes task TID of this process read (rchar); 0 when it is gone. */
static uint64_t dog_rchar(int dirfd, const char *tid)
{
	char path[64], buf[512];
	uint64_t v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/io", tid);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "rchar: %" SCNu64, &v) == 1 ? v : 0;
}

/*
 * Something that moves while the daemon works: the loop thread's CPU time,
 * the check's ticks (one per entry walked and per chunk read), and the
 * bytes read by every thread but this one: the dog's own reads of /proc
 * would always move. A read hung on a dead NFS server or an open waiting
 * for a lease to break moves none of them (the CPU time of a thread asleep
 * in the kernel may still creep, so only the loop's, which waits in user
 * space, counts), and the watchdog then does its job.
 */
static uint64_t dog_progress(void)
{
	struct timespec ts = {0};
	char self[24];
	uint64_t sum = atomic_load(&dog.ticks);
	struct dirent *de;
	DIR *d;

	clock_gettime(dog.main_clock, &ts);
	sum += (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	d = opendir("/proc/self/task");
	if (!d)
		return sum;
	snprintf(self, sizeof(self), "%d", (int)gettid());
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, self) != 0)
			sum += dog_rchar(dirfd(d), de->d_name);
	closedir(d);
	return sum;
}

static void *dog_main(void *arg)
{
	uint64_t last = 0;

	pthread_mutex_lock(&dog.lock);
	while (!dog.stop) {
		struct timespec until;
		if (dog.busy) {
			uint64_t now = dog_progress();
			if (now != last)
				sd_notify(0, "WATCHDOG=1");
			last = now;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(dog.usec / 2000000);
		until.tv_nsec += (long)(dog.usec / 2 % 1000000) * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&dog.wake, &dog.lock, &until);
	}
	pthread_mutex_unlock(&dog.lock);
	return arg;
}

static void dog_start(void)
{
	uint64_t usec = 0;
	sigset_t all, old;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	dog.usec = usec;
	if (pthread_getcpuclockid(pthread_self(), &dog.main_clock) != 0)
		dog.main_clock = CLOCK_PROCESS_CPUTIME_ID;
	/* the thread takes no signal: they are read from the signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	dog.running = pthread_create(&dog.thread, NULL, dog_main, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void watch_busy(bool busy)
{
	if (!dog.running)
		return;
	pthread_mutex_lock(&dog.lock);
	dog.busy = busy;
	pthread_cond_signal(&dog.wake);
	pthread_mutex_unlock(&dog.lock);
}

static void dog_stop(void)
{
	if (!dog.running)
		return;
	pthread_mutex_lock(&dog.lock);
	dog.stop = true;
	pthread_cond_signal(&dog.wake);
	pthread_mutex_unlock(&dog.lock);
	pthread_join(dog.thread, NULL);
	dog.running = false;
}

static void notify_status(struct watcher *w, bool ready)
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

/* --- start-up and the loop --- */

static int sink_conf(struct watcher *w, struct sink_conf *c, uint8_t *key, bool force_syslog,
                     bool force_journald)
{
	const struct fim_opts *o = w->o;
	const char *keyfile = o->alerts_key ? o->alerts_key : policy_get(w->p, "alerts.key");
	const char *fac = policy_get(w->p, "alerts.facility");
	int r;

	c->syslog = force_syslog || setting_on(w->p, "alerts.syslog", false);
	c->facility = sink_facility(fac ? fac : "authpriv");
	c->syslog_socket = policy_get(w->p, "alerts.syslog_socket");
	if (c->syslog_socket &&
	    strlen(c->syslog_socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_error("%s: alerts.syslog_socket: longer than a socket path may be (%zu bytes)",
		          o->policy, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return FIM_EXIT_POLICY;
	}
	if (c->facility < 0) {
		log_error("%s: alerts.facility: unknown facility '%s'", o->policy, fac);
		return FIM_EXIT_POLICY;
	}
	/* The journal by default wherever one runs. */
	c->journald =
	        force_journald || setting_on(w->p, "alerts.journald",
	                                     access("/run/systemd/journal/socket", W_OK) == 0);
	c->file = o->alerts ? o->alerts : policy_get(w->p, "alerts.file");
	if (keyfile) {
		r = trail_load_key(keyfile, key);
		if (r < 0) {
			log_error("%s: cannot read the alert trail key: %s", keyfile,
			          r == -EINVAL ? "shorter than 32 bytes" : trail_cause(r));
			return FIM_EXIT_IO;
		}
		c->key = key;
	}
	return 0;
}

/* A baseline refused at start is alerted as one refused later is, through
 * the sinks the policy names, before the daemon exits failed: a restart
 * loop on a damaged store is then seen, not silent. */
static void reject_at_start(struct watcher *w, int status, bool force_syslog, bool force_journald)
{
	struct sink_conf sc = {0};
	uint8_t key[TRAIL_KEY_BYTES];
	char msg[512], *link = current_link(w->o->db);

	if (!link)
		return; /* no baseline at all: nothing was rejected */
	free(link);
	if (sink_conf(w, &sc, key, force_syslog, force_journald) == 0 &&
	    sinks_open(&sc, &w->sinks) >= 0) {
		if (gethostname(w->host, sizeof(w->host) - 1) < 0)
			strcpy(w->host, "localhost");
		snprintf(msg, sizeof(msg), "%s: the baseline %s; fim watch does not start",
		         w->o->db,
		         status == FIM_EXIT_INTEGRITY ? "fails verification"
		                                      : "cannot be used (corrupt or untrusted)");
		watch_meta(w, "baseline_rejected", "alert", SEV_CRITICAL, msg, NULL);
	}
	explicit_bzero(key, sizeof(key));
}

static int setup(struct watcher *w, bool force_syslog, bool force_journald)
{
	struct sink_conf sc = {0};
	uint8_t key[TRAIL_KEY_BYTES];
	struct report_info info = {.command = "watch"};
	int r;

	r = cli_load_policy(w->o, &w->p);
	if (r)
		return r;
	w->rescan_interval = rescan_interval(w->p);
	w->full_interval = full_interval(w->p);
	r = open_baseline(w, &w->s, &w->store_link);
	if (r) {
		reject_at_start(w, r, force_syslog, force_journald);
		return r;
	}
	if (load_old_policy(w) < 0) {
		log_error("%s: the baseline's policy is missing or corrupt; run 'fim baseline'",
		          w->o->db);
		return FIM_EXIT_BASELINE;
	}
	w->rootfd = cli_open_root(w->o);
	if (w->rootfd < 0)
		return FIM_EXIT_IO;
	/* absolute, as the mount table names mount points */
	w->rootpath = realpath(w->o->root, NULL);
	if (!w->rootpath) {
		log_error("%s: %s", w->o->root, strerror(errno));
		return FIM_EXIT_IO;
	}
	w->rootlen = strlen(w->rootpath);
	while (w->rootlen > 0 && w->rootpath[w->rootlen - 1] == '/')
		w->rootlen--;
	if (files_scratch_init(&w->scratch, w->algo) < 0) {
		log_error("watch: out of memory");
		return FIM_EXIT_IO;
	}
	/* FIM_TEST_HASH_DELAY_MS slows each chunk the worker reads: the tests'
	 * proof that the loop goes on while a large file is hashed. */
	const char *delay = getenv("FIM_TEST_HASH_DELAY_MS");
	const char *check_delay = getenv("FIM_TEST_CHECK_DELAY_MS");

	w->check_delay_ms = check_delay ? (unsigned)strtoul(check_delay, NULL, 10) : 0;
	r = whash_open(w->algo, delay ? (unsigned)strtoul(delay, NULL, 10) : 0, &w->hasher);
	if (r < 0) {
		log_error("watch: cannot start the hash worker: %s", strerror(-r));
		return FIM_EXIT_IO;
	}
	r = state_open(w->o->db, &w->state);
	if (r < 0) {
		if (r == -EBUSY)
			log_error("%s/state: another fim watch is running on this baseline",
			          w->o->db);
		else if (r == -EBADMSG)
			log_error(
			        "%s/state: the watcher's state is corrupt; move it away to start "
			        "afresh (the journal is then read again from the baseline's time)",
			        w->o->db);
		else
			log_error("%s/state: cannot open the watcher's state: %s", w->o->db,
			          strerror(-r));
		return FIM_EXIT_IO;
	}
	r = sink_conf(w, &sc, key, force_syslog, force_journald);
	if (r == 0) {
		r = sinks_open(&sc, &w->sinks);
		if (r < 0)
			log_error("%s: cannot open the alert trail: %s", sc.file, trail_cause(r));
		r = r < 0 ? FIM_EXIT_IO : 0;
	}
	explicit_bzero(key, sizeof(key));
	if (r)
		return r;
	w->alerts = line_stream_open(w);
	if (!w->alerts) {
		log_error("watch: out of memory");
		return FIM_EXIT_IO;
	}
	w->json = (struct report){.ops = &report_json, .out = w->alerts};
	w->rep = (struct report){.ops = &watch_report_ops, .user = w};
	if (report_json.begin(&w->json, &info) < 0)
		return FIM_EXIT_IO;
	if (gethostname(w->host, sizeof(w->host) - 1) < 0)
		strcpy(w->host, "localhost");
	r = wfiles_open(w, policy_get(w->p, "watch.backend"), &w->files);
	if (r < 0) {
		log_error("watch: cannot start watching files: %s", strerror(-r));
		return FIM_EXIT_IO;
	}
	return 0;
}

static int make_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Returns 0 on SIGTERM/SIGINT, or an exit status. */
static int loop(struct watcher *w, int sfd, int mfd)
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
		int64_t now, wait = pending_run(w);

		if (w->fatal)
			return w->fatal == -EBADMSG ? FIM_EXIT_BASELINE : FIM_EXIT_IO;
		now = watch_now_ms();
		if (now >= next_house) {
			maybe_reload_baseline(w);
			retry_sinks(w);
			wtree_check(w);
			wfiles_tick(w);
			notify_status(w, false);
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
			reconcile_again(w, true);
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
			log_error("watch: poll: %s", strerror(errno));
			return FIM_EXIT_IO;
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
			hashed_run(w);
			if (w->fatal)
				return FIM_EXIT_IO;
		}
		/* Bounded batches from each source, so neither starves the other. */
		if (lib_more || (fds[1].revents & POLLIN)) {
			int n = wfiles_process(w, WATCH_BATCH);
			if (n < 0) {
				log_error("watch: reading %s events: %s", wfiles_backend(w->files),
				          strerror(-n));
				return FIM_EXIT_IO;
			}
			lib_more = n >= WATCH_BATCH;
		}
		if (w->journal && watch_now_ms() >= w->journal_retry_at &&
		    (journal_more || (fds[2].revents & POLLIN))) {
			int r = journal_run(w, &journal_more);
			if (r < 0) {
				log_error("journal: %s", strerror(-r));
				return FIM_EXIT_IO;
			}
		}
	}
}

int cmd_watch(struct fim_opts *o, int argc, char **argv)
{
	struct watcher w = {.o = o, .rootfd = -1};
	const char *journal_dir = o->journal_dir;
	char **rescan = NULL;
	size_t nrescan = 0;
	int sfd = -1, mfd, ret, r;

	if (argc > 1) {
		log_error("watch: unexpected argument '%s'", argv[1]);
		return FIM_EXIT_USAGE;
	}
	/* Signals are read from a descriptor from the start: a SIGTERM during
	 * the reconcile stays pending, the check's tick sees it and stops. */
	sfd = make_signalfd();
	if (sfd < 0) {
		log_error("watch: signalfd: %s", strerror(errno));
		return FIM_EXIT_IO;
	}
	dog_start();
	ret = setup(&w, o->syslog, o->journald);
	if (ret)
		goto out;
	ret = FIM_EXIT_IO;
	r = wfiles_arm_roots(&w);
	if (r < 0) {
		log_error("watch: cannot arm the watches: %s", strerror(-r));
		goto out;
	}
	wtree_init(&w);
	wfiles_report_limit(&w);
	if (journal_dir || setting_on(w.p, "watch.journal", true)) {
		if (open_journal(&w, journal_dir) < 0)
			goto out;
	}
	if (state_was_running(w.state))
		watch_meta(&w, "unclean_stop", "alert", SEV_HIGH,
		           "fim watch did not stop cleanly last time (killed, crashed or the host "
		           "went down): the reconcile now checks what changed meanwhile",
		           NULL);
	state_set_running(w.state, true);
	watch_meta(&w, "started", "event", SEV_LOW, "fim watch started: reconciling", NULL);
	/* The watches are armed: what changes from now on is queued. */
	ret = reconcile(&w, false);
	if (ret == FIM_EXIT_BASELINE || ret == FIM_EXIT_INTEGRITY)
		watch_meta(&w, "baseline_rejected", "alert", SEV_CRITICAL,
		           "the baseline is corrupt (found while checking everything against it); "
		           "fim watch does not start",
		           NULL);
	if (ret == -ECANCELED) {
		/* stopped during the reconcile: stopped as from the loop */
		ret = 0;
		goto stopped;
	}
	if (ret)
		goto out;
	w.full_due = watch_now_ms() + (int64_t)w.full_interval * 1000;
	ret = FIM_EXIT_IO;
	if (state_rescan_list(w.state, &rescan, &nrescan) == 0) {
		for (size_t i = 0; i < nrescan; i++) {
			if (rescan[i][0] == '/')
				watch_pending_add(&w, rescan[i], strlen(rescan[i]),
				                  PEND_TREE | PEND_PERSIST, true);
			free(rescan[i]);
		}
		free(rescan);
	}
	notify_status(&w, true);
	mfd = wfiles_mounts_open(&w);
	ret = loop(&w, sfd, mfd);
	if (mfd >= 0)
		close(mfd);
stopped:
	sd_notify(0, "STOPPING=1");
	watch_meta(&w, "stopped", "alert", ret ? SEV_HIGH : SEV_MEDIUM,
	           ret ? "fim watch stopped on an error: changes are not followed"
	               : "fim watch stopped: changes are not followed until it starts again",
	           NULL);
	if (!ret)
		state_set_running(w.state, false);
out:
	/* first: the worker may be reading a large file; it stops within a chunk */
	whash_close(w.hasher);
	if (w.alerts)
		fclose(w.alerts);
	if (w.json.ops)
		w.json.ops->free(&w.json);
	sinks_close(w.sinks);
	journal_free(w.journal);
	wfiles_close(w.files);
	wmap_free(&w.pending);
	wmap_free(&w.slow);
	wmap_free(&w.drifted);
	wmap_free(&w.trees);
	state_close(w.state);
	files_scratch_free(&w.scratch);
	files_text_free(&w.text);
	if (w.rootfd >= 0)
		close(w.rootfd);
	store_close(w.s);
	free(w.store_link);
	free(w.rootpath);
	policy_free(w.old);
	policy_free(w.p);
	dog_stop();
	/* The signals stay blocked: a second SIGTERM (timeout(1) and systemd
	 * may send one to the process and one to its group) must not kill
	 * the process on its way out and turn exit 0 into a signal death. */
	close(sfd);
	return ret;
}
