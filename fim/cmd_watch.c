/* SPDX-License-Identifier: ISC */
/* fim watch: the command - options, policy, keys and baseline loaded and verified, start-up
 * errors said, the watcher run, its exit status picked. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fim/cli.h"
#include "fim/cmd_check.h"
#include "fim/core/jbytes.h"
#include "fim/engine/check.h"
#include "fim/engine/objects.h"
#include "fim/log.h"
#include "fim/trust/trail.h"
#include "fim/trust/trust.h"
#include "fim/watch/watch.h"

/* The options the watcher was started with. */
static struct fim_opts *opts(const struct watcher *w)
{
	return w->cmd;
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

	*ret_link = watch_current_link(opts(w)->db);
	r = cli_trust_open(opts(w), w->p, &s);
	if (r)
		goto fail;
	r = cli_trust_verify(opts(w), w->p, s);
	if (r)
		goto fail;
	r = FIM_EXIT_BASELINE;
	if (store_meta(s, META_HASH, &v) < 0 || v.n >= sizeof(hash)) {
		log_error("%s: the baseline names no hash algorithm; run 'fim baseline'",
		          opts(w)->db);
		goto fail;
	}
	memcpy(hash, v.p, v.n);
	hash[v.n] = '\0';
	w->algo = hash_lookup(hash);
	if (w->algo == HASH_NONE) {
		log_error("%s: the baseline names an unknown hash algorithm '%s'", opts(w)->db,
		          hash);
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

/* The check's tick (called from any of its threads; CTX is the watcher, or
 * NULL): the watchdog sees progress, and -ECANCELED once SIGTERM or SIGINT
 * waits to be read from the signalfd (they are blocked, so they stay
 * pending until then). */
static int stop_pending(void *ctx)
{
	struct watcher *w = ctx;
	sigset_t set;

	watch_tick(w);
	/* FIM_TEST_CHECK_DELAY_MS: the tests' long reconcile without gigabytes */
	if (w && w->check_delay_ms)
		usleep(w->check_delay_ms * 1000u);
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
		log_error("%s: the baseline is corrupt: %s", opts(w)->db, strerror(-r));
		return cli_trust_verify_key_path(opts(w), w->p) ? FIM_EXIT_INTEGRITY
		                                                : FIM_EXIT_BASELINE;
	}
	if (r < 0 && stop_pending(w) == r)
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
	const struct fim_opts *o = opts(w);
	struct report rep = {.ops = &watch_report_ops, .user = w};
	struct report_info info = {.command = "check", .policy_changed = w->old != NULL};
	struct report_summary sum = {0};
	struct fim_err err = {0};
	struct progress pg;
	char hash[32];
	struct check_args a = {.p = w->p,
	                       .old = w->old,
	                       .s = w->s,
	                       .quick = o->quick || quick,
	                       .jobs = o->jobs,
	                       .keep_cache = o->keep_cache,
	                       .tick = stop_pending,
	                       .tick_ctx = w,
	                       .say = &cmd_say_problems};
	int r;

	watch_generation(w, true);
	sd_notify(0, "STATUS=reconciling: checking everything against the baseline");
	watch_busy(w, true);
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
		/* on a terminal (without -q) the reconcile shows its progress, as fim check */
		cmd_check_progress(&a, &pg, w->s, o);
		r = check_run(&a, &rep, &info, &sum, &err);
		r = reconcile_status(w, r, &sum, &err);
		close(a.rootfd);
	} else if (a.algo != HASH_NONE) {
		r = FIM_EXIT_IO;
	}
	watch_busy(w, false);
	if (r && stop_pending(NULL) < 0)
		return -ECANCELED;
	if (r >= FIM_EXIT_USAGE)
		return r;
	watch_prune(w);
	return 0;
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

static int sink_conf(struct watcher *w, struct sink_conf *c, uint8_t *key, bool force_syslog,
                     bool force_journald)
{
	const struct fim_opts *o = opts(w);
	const char *keyfile = o->alerts_key ? o->alerts_key : policy_get(w->p, "alerts.key");
	const char *fac = policy_get(w->p, "alerts.facility");
	int r;

	c->syslog = force_syslog || watch_setting_on(w->p, "alerts.syslog", false);
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
	c->journald = force_journald ||
	              watch_setting_on(w->p, "alerts.journald",
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
	char msg[512], *link = watch_current_link(opts(w)->db);

	if (!link)
		return; /* no baseline at all: nothing was rejected */
	free(link);
	if (sink_conf(w, &sc, key, force_syslog, force_journald) == 0 &&
	    sinks_open(&sc, &w->sinks) >= 0) {
		if (gethostname(w->host, sizeof(w->host) - 1) < 0)
			strcpy(w->host, "localhost");
		snprintf(msg, sizeof(msg), "%s: the baseline %s; fim watch does not start",
		         opts(w)->db,
		         status == FIM_EXIT_INTEGRITY ? "fails verification"
		                                      : "cannot be used (corrupt or untrusted)");
		watch_meta(w, "baseline_rejected", "alert", SEV_CRITICAL, msg, NULL);
	}
	explicit_bzero(key, sizeof(key));
}

/* The policy, the verified baseline and its own policy. Returns 0 or an
 * exit status (reported; a refused baseline also alerted). */
static int setup_baseline(struct watcher *w, bool force_syslog, bool force_journald)
{
	int r;

	r = cli_load_policy(opts(w), &w->p);
	if (r)
		return r;
	w->rescan_interval = watch_rescan_interval(w->p);
	w->full_interval = watch_full_interval(w->p);
	r = open_baseline(w, &w->s, &w->store_link);
	if (r) {
		reject_at_start(w, r, force_syslog, force_journald);
		return r;
	}
	if (load_old_policy(w) < 0) {
		log_error("%s: the baseline's policy is missing or corrupt; run 'fim baseline'",
		          opts(w)->db);
		return FIM_EXIT_BASELINE;
	}
	return 0;
}

/* The root, its absolute path, and what reading files there needs (the
 * scratch, the hash worker). Returns 0 or an exit status (reported). */
static int setup_root(struct watcher *w)
{
	int r;

	w->rootfd = cli_open_root(opts(w));
	if (w->rootfd < 0)
		return FIM_EXIT_IO;
	/* absolute, as the mount table names mount points */
	w->rootpath = realpath(opts(w)->root, NULL);
	if (!w->rootpath) {
		log_error("%s: %s", opts(w)->root, strerror(errno));
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
	return 0;
}

/* The watcher's state next to the baseline. Returns 0 or FIM_EXIT_IO (reported). */
static int setup_state(struct watcher *w)
{
	int r = state_open(opts(w)->db, &w->state);

	if (r == 0)
		return 0;
	if (r == -EBUSY)
		log_error("%s/state: another fim watch is running on this baseline", opts(w)->db);
	else if (r == -EBADMSG)
		log_error("%s/state: the watcher's state is corrupt; move it away to start "
		          "afresh (the journal is then read again from the baseline's time)",
		          opts(w)->db);
	else
		log_error("%s/state: cannot open the watcher's state: %s", opts(w)->db,
		          strerror(-r));
	return FIM_EXIT_IO;
}

/* The sinks the policy names and the JSON report whose lines go to them.
 * Returns 0 or an exit status (reported). */
static int setup_alerts(struct watcher *w, bool force_syslog, bool force_journald)
{
	struct sink_conf sc = {0};
	uint8_t key[TRAIL_KEY_BYTES];
	struct report_info info = {.command = "watch"};
	int r;

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
	w->alerts = watch_alerts_open(w);
	if (!w->alerts) {
		log_error("watch: out of memory");
		return FIM_EXIT_IO;
	}
	w->json = (struct report){.ops = &report_json, .out = w->alerts};
	w->rep = (struct report){.ops = &watch_report_ops, .user = w};
	if (report_json.begin(&w->json, &info) < 0)
		return FIM_EXIT_IO;
	return 0;
}

/* Everything the watcher needs before it arms. Returns 0 or an exit status (reported). */
static int setup(struct watcher *w, bool force_syslog, bool force_journald)
{
	int r = setup_baseline(w, force_syslog, force_journald);

	if (r == 0)
		r = setup_root(w);
	if (r == 0)
		r = setup_state(w);
	if (r == 0)
		r = setup_alerts(w, force_syslog, force_journald);
	if (r)
		return r;
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

/* --- what the watcher asks of the command --- */

static int reconcile_cb(struct watcher *w, bool quick)
{
	int r = reconcile(w, quick);

	return r == FIM_EXIT_BASELINE || r == FIM_EXIT_INTEGRITY ? -EBADMSG : r;
}

static int open_baseline_cb(struct watcher *w, struct store **ret, char **ret_link)
{
	int r = open_baseline(w, ret, ret_link);

	if (!r)
		return 0;
	return r == FIM_EXIT_INTEGRITY ? -EPERM : -EBADMSG;
}

static int load_policy_cb(struct watcher *w, struct policy **ret)
{
	struct policy *p = NULL;

	if (cli_load_policy(opts(w), &p))
		return -EINVAL;
	if (cli_trust_verify(opts(w), p, w->s)) {
		policy_free(p);
		return -EPERM;
	}
	*ret = p;
	return 0;
}

static void say(struct watcher *w, int level, const char *msg)
{
	(void)w;
	if (level <= LOG_ERR)
		log_error("%s", msg);
	else if (level == LOG_WARNING)
		log_warn("%s", msg);
	else
		log_info("%s", msg);
}

static const struct watch_ops cmd_watch_ops = {
        .reconcile = reconcile_cb,
        .recheck = recheck_objects,
        .load_old_policy = load_old_policy,
        .open_baseline = open_baseline_cb,
        .load_policy = load_policy_cb,
        .say = say,
};

int cmd_watch(struct fim_opts *o, int argc, char **argv)
{
	struct watcher w = {.ops = &cmd_watch_ops,
	                    .cmd = o,
	                    .db = o->db,
	                    .policy_path = o->policy,
	                    .rootfd = -1};
	const char *journal_dir = o->journal_dir;
	int sfd = -1, ret, r;

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
	watch_dog_start(&w);
	ret = setup(&w, o->syslog, o->journald);
	if (ret)
		goto out;
	ret = FIM_EXIT_IO;
	r = watch_arm(&w);
	if (r < 0) {
		log_error("watch: cannot arm the watches: %s", strerror(-r));
		goto out;
	}
	if (journal_dir || watch_setting_on(w.p, "watch.journal", true)) {
		if (watch_journal_open(&w, journal_dir) < 0)
			goto out;
	}
	watch_started(&w);
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
	r = watch_follow(&w, sfd);
	ret = r == 0 ? 0 : r == -EBADMSG ? FIM_EXIT_BASELINE : FIM_EXIT_IO;
stopped:
	watch_stopped(&w, ret != 0);
out:
	watch_close(&w);
	/* The signals stay blocked: a second SIGTERM (timeout(1) and systemd
	 * may send one to the process and one to its group) must not kill
	 * the process on its way out and turn exit 0 into a signal death. */
	close(sfd);
	return ret;
}
