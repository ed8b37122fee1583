/* SPDX-License-Identifier: ISC */
/* fim watch: the watcher - its state, the command's callbacks, the file backends and the scanner.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "baseline/files.h"
#include "fim/core/common.h"
#include "fim/engine/drift.h"
#include "fim/report/report.h"
#include "fim/report/sink.h"
#include "fim/store/store.h"
#include "policy/policy.h"
#include "fim/store/state.h"
#include "fim/watch/watch_map.h"

/* Bounds: what an event storm can make the daemon hold. */
#define WATCH_MAX_PENDING  16384  /* paths waiting for their settle delay */
#define WATCH_MAX_DRIFTED  100000 /* objects whose alerted drift state is remembered */
#define WATCH_SETTLE_MS    200    /* quiet time after the last event of a path */
#define WATCH_MAX_DELAY_MS 2000   /* a path that never settles is checked after this */
#define WATCH_BATCH        4096   /* file events handled per loop turn */
#define WATCH_JOURNAL_MAX  1000   /* journal entries handled per loop turn */
#define WATCH_SLOW_MS      500    /* a check this long delays the next one of the path */
#define WATCH_MAX_SLOW     1024   /* paths remembered as slow */

/* Large files are read by the hash worker, off the loop. */
#define WATCH_MAX_HASHING 64      /* files queued for it */
#define WATCH_HASH_ASYNC  1048576 /* from this size on */

/* Pending path flags. */
enum {
	PEND_TREE = 1u << 0,    /* scan everything below too */
	PEND_PERSIST = 1u << 1, /* in the state's rescan set: remove it when done */
};

struct wfiles;
struct whash;
struct watch_dog;
struct watcher;

/*
 * What the command does for the watcher: what needs its options, its keys
 * or its check. The watcher calls these from its loop.
 */
struct watch_ops {
	/* A full check of everything into w->rep (QUICK: by metadata where the
	 * policy lets it). Returns 0, -ECANCELED when a signal stopped it,
	 * -EBADMSG when the baseline cannot be compared with, or a positive
	 * status when it failed otherwise. */
	int (*reconcile)(struct watcher *w, bool quick);
	/* The kinds a journal entry asked to re-check. 0 or a negative errno. */
	int (*recheck)(struct watcher *w);
	/* Loads w->old from w->s. 0 or a negative errno. */
	int (*load_old_policy)(struct watcher *w);
	/* Opens and verifies the current baseline: 0 (*RET and *RET_LINK, where
	 * DIR/current points, are the caller's), -EPERM when it fails
	 * verification, or another negative errno when it cannot be used. */
	int (*open_baseline)(struct watcher *w, struct store **ret, char **ret_link);
	/* The policy loaded again for a SIGHUP: 0 and *RET (the caller's),
	 * -EINVAL when it cannot be loaded, -EPERM when the baseline was not
	 * signed with it. */
	int (*load_policy)(struct watcher *w, struct policy **ret);
	/* A message for the operator at syslog LEVEL (LOG_ERR, LOG_WARNING,
	 * LOG_INFO): the watcher never prints. */
	void (*say)(struct watcher *w, int level, const char *msg);
};

struct watcher {
	const struct watch_ops *ops;
	void *cmd;      /* the command's own, for its callbacks */
	const char *db; /* the baseline's directory, in messages */
	const char *policy_path;
	struct policy *p;
	struct policy *old; /* the baseline's policy when it differs from p */
	struct store *s;
	char *store_link; /* where DIR/current pointed when s was opened */
	int rootfd;
	char *rootpath; /* --root made absolute (realpath) */
	size_t rootlen; /* length of rootpath without trailing '/' ("/" -> 0) */
	enum hash_algo algo;
	struct files_scratch scratch;
	struct files_text text;
	struct state *state;
	struct sinks *sinks;
	FILE *alerts;       /* report_json writes here; each line goes to the sinks */
	struct report json; /* JSON events into alerts */
	struct report rep;  /* drift is told to this: dedups, then json */
	char host[256];
	/* kind byte + id -> digest of the drift last alerted; a = generation */
	struct wmap drifted;
	int64_t generation;
	bool prune_files;    /* the running generation covers files too */
	struct wmap pending; /* path -> a = first event (ms), b = last event (ms) */
	struct wmap slow;    /* path -> a = not checked again before (ms) */
	struct wfiles *files;
	struct whash *hasher; /* NULL: every file is read on the loop */
	struct fim_journal *journal;
	uint64_t alerts_sent, rescans;
	uint64_t lost;            /* alerts some sink did not take since the last gap alert */
	bool in_gap;              /* sending the gap alert itself */
	int send_err;             /* the last sink failure of the current alert, or 0 */
	int64_t journal_retry_at; /* after a sink failure, the journal waits until then */
	int64_t full_due;         /* the next periodic full check (ms) */
	int full_interval;        /* seconds between full checks */
	unsigned check_delay_ms;  /* tests only: a pause per step of a reconcile */
	int rescan_interval;      /* seconds */
	int fatal;                /* a sink failed: negative errno */
	/* start point -> identity (watch_tree.c); the root's own, and whether it is gone */
	struct wmap trees;
	dev_t root_dev;
	ino_t root_ino;
	bool root_gone;
	bool storm;             /* every root is queued for a full rescan already */
	bool sink_warned;       /* a sink failure was logged ... */
	int64_t last_sink_warn; /* ... then (ms) */
	struct watch_dog *dog;  /* NULL: no systemd watchdog */
	/* logs proven rotated (drift_file_at) */
	struct drift_rot_cache rot_cache;
};

/* --- the watcher (watcher.c) --- */

/* Hands MSG (printf FMT) to the command's say callback at syslog LEVEL. */
void watch_say(struct watcher *w, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Where DB/current points (malloc'd; NULL when it does not). */
char *watch_current_link(const char *db);
/* The watch.* and alerts.* settings of P. */
bool watch_setting_on(const struct policy *p, const char *key, bool dflt);
int watch_full_interval(const struct policy *p);
int watch_rescan_interval(const struct policy *p);
/* A reconcile while running: a failure is alerted, the watcher goes on. */
void watch_reconcile_again(struct watcher *w, bool quick);
/* sd_notify STATUS= (READY=1 too with READY). */
void watch_notify_status(struct watcher *w, bool ready);
/* Opens directory PATH[0..len) below the root without following any
 * symbolic link on the way. Returns the fd or a negative errno. */
int watch_open_dir(struct watcher *w, const char *path, size_t len);
/* Opens the journal (DIR: journal files there; NULL: the system's) and
 * seeks past the entry the state names, or to the baseline's time; a
 * cursor the journal no longer holds is alerted. Returns 0 or a negative
 * errno (said through the say callback). */
int watch_journal_open(struct watcher *w, const char *dir);
/* Arms the watches of every start point and remembers what each is.
 * Returns 0 or a negative errno. */
int watch_arm(struct watcher *w);
/*
 * Follows changes once the reconcile is done: queues the rescans a run
 * before left, says READY=1, then loops: signals from SFD (SIGHUP reloads
 * the policy, SIGTERM and SIGINT stop), file events, the journal, the
 * mount table, the hash worker, housekeeping. Returns 0 once stopped by a
 * signal, -EBADMSG when the baseline turned out corrupt, or another
 * negative errno (said through the say callback where no alert says it).
 */
int watch_follow(struct watcher *w, int sfd);
/* Alerts the start (and an unclean stop of the run before, which the
 * state remembers) and records in the state that the watcher runs. */
void watch_started(struct watcher *w);
/* Says STOPPING=1 and alerts the stop (ERROR: on an error; otherwise the
 * state records a clean stop). */
void watch_stopped(struct watcher *w, bool error);
/* Frees everything the watcher holds (not ops, cmd or the strings). Stops the watchdog. */
void watch_close(struct watcher *w);

/* --- the systemd watchdog (watch_dog.c) --- */

/* Starts the helper thread when systemd asks for a watchdog. */
void watch_dog_start(struct watcher *w);
void watch_dog_stop(struct watcher *w);
/* Long work starts (BUSY) or ends: the watchdog is pinged meanwhile. */
void watch_busy(struct watcher *w, bool busy);
/* Long work moved on (any thread may call it; W may be NULL). */
void watch_tick(struct watcher *w);

/* --- pending paths (watch_pending.c) --- */

/* Queues PATH[0..len) (inside the root) for a check after its settle
 * delay; FLAGS as PEND_*; NOW_DUE skips the delay. */
void watch_pending_add(struct watcher *w, const char *path, size_t len, unsigned flags,
                       bool now_due);

/* Checks the paths whose settle delay is over. Returns the milliseconds
 * until the next one is due (-1: none), or sets w->fatal. */
int64_t watch_pending_run(struct watcher *w);
/* Judges what the hash worker finished; sets w->fatal on a fatal error. */
void watch_hashed_run(struct watcher *w);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t watch_now_ms(void);

/* --- alerts to the sinks (watch_sinks.c) --- */

/*
 * Sends one JSON line to the sinks. A failing sink is said (at most once a
 * minute) and counted: the caller undoes what it recorded as alerted.
 * Returns 0 or the sink's negative errno.
 */
int watch_send_line(struct watcher *w, const char *line, size_t n);
/* Housekeeping: a sink that held alerts back sends them once it can. */
void watch_sinks_retry(struct watcher *w);
/* A stream whose lines go to the sinks (for report_json), or NULL. */
FILE *watch_alerts_open(struct watcher *w);
/* Sends one watcher event (fim.object "watch"): ACTION ("overflow",
 * "watch_limit", ...), KIND "alert" or "event", SEV, MESSAGE; PATHS (may
 * be NULL) a jansson array taken over as fim.paths. */
struct json_t;
void watch_meta(struct watcher *w, const char *action, const char *kind, enum severity sev,
                const char *message, struct json_t *paths);

/* The report backend that dedups drift and sends it on as JSON (w in r->user). */
extern const struct report_ops watch_report_ops;
/* Forgets the drift state of object KIND:ID. */
void watch_forget(struct watcher *w, enum fim_kind kind, struct bytes id);
/* Starts a generation: drift of the kinds the run covers that is not seen
 * again before watch_prune is forgotten (it went back to the baseline). */
void watch_generation(struct watcher *w, bool files);
void watch_prune(struct watcher *w);

/* --- scanner (watch_scan.c) --- */

/*
 * Compares PATH[0..len) (inside the root) with the baseline and alerts
 * its drift; with TREE everything below it too, and every directory met
 * is armed (wfiles_arm). Returns 0 or a negative errno (fatal).
 */
int watch_scan(struct watcher *w, const char *path, size_t len, bool tree);

/* --- the trees going away and coming back (watch_tree.c) --- */

/* Remembers what the root and each start point are now (at the start, and
 * after the watches were armed again). */
void wtree_init(struct watcher *w);
/*
 * Looks whether the root is still the directory watched: when it went
 * away (moved, deleted, replaced) that is alerted, every watch dropped and
 * the pending checks forgotten; once a directory is at its path again it
 * is opened, armed, rescanned and that is alerted. True while it is gone.
 */
bool wtree_root_gone(struct watcher *w);
/* Housekeeping: the root as above, then each start point (a directory
 * reached without a symbolic link on the way): gone and back alerted, back
 * armed again and rescanned. */
void wtree_check(struct watcher *w);

/* --- file side (watch_files.c; backends watch_inotify.c, watch_fanotify.c, watch_null.c) --- */

/*
 * A file watch backend, chosen once when the watcher starts. Every call
 * takes the watcher (w->files is the backend's struct wfiles). The null
 * backend arms nothing and reads no event: tests drive the scanner and
 * the pending queue themselves.
 */
struct wfiles_ops {
	const char *name; /* as watch.backend names it: "inotify", "fanotify" */
	const char *what; /* what watched() counts: "directories", "mounts" */
	/* Starts it (f->fd: the descriptor to poll, or -1). 0 or a negative errno. */
	int (*open)(struct watcher *w, struct wfiles *f);
	void (*close)(struct wfiles *f);
	/* Arms directory PATH: 0, 1 if already armed (or covered), or a
	 * negative errno (-ENOSPC: the watch limit; remembered and alerted). */
	int (*arm)(struct watcher *w, const char *path, size_t len);
	/* Arms PATH's tree where the policy descends (fanotify: marks its file
	 * system). What cannot be armed is remembered. 0 or -ENOMEM. */
	int (*arm_tree)(struct watcher *w, const char *path, size_t len);
	/* Arms the directories above start point PATH (one may be replaced). */
	void (*arm_above)(struct watcher *w, const char *path, size_t len);
	/* Arms every start point of the policy. 0 or a negative errno. */
	int (*arm_roots)(struct watcher *w);
	/* Start point PATH, the directories above and its tree afresh. */
	void (*rearm)(struct watcher *w, const char *path, size_t len);
	/* Drops the watches of PATH and below; GONE: the kernel dropped them. */
	void (*forget)(struct watcher *w, const char *path, size_t len, bool gone);
	/* Removes every watch. */
	void (*disarm)(struct watcher *w);
	/* Handles up to MAX queued events: the number, or a negative errno. */
	int (*read)(struct watcher *w, size_t max);
	size_t (*watched)(const struct wfiles *f);
	/* The mount table changed on a watched tree (after each tree was re-armed). */
	void (*remounted)(struct watcher *w);
	/* The text of the watch_limit alert. */
	void (*limit_text)(struct watcher *w, char *buf, size_t size);
};

extern const struct wfiles_ops wfiles_inotify;
extern const struct wfiles_ops wfiles_fanotify;
extern const struct wfiles_ops wfiles_null;

/* Starts the backend BACKEND names ("fanotify", otherwise inotify); when
 * fanotify is refused by the kernel or a file system, inotify with a
 * warning. Returns 0 or a negative errno. */
int wfiles_open(struct watcher *w, const char *backend, struct wfiles **ret);
/* Starts backend OPS. Returns 0 or a negative errno. */
int wfiles_open_ops(struct watcher *w, const struct wfiles_ops *ops, struct wfiles **ret);
void wfiles_close(struct wfiles *f);
/* The fd to poll (-1: none). */
int wfiles_fd(struct wfiles *f);
/* Arms every root of the policy (and every directory above each). */
int wfiles_arm_roots(struct watcher *w);
/* When PATH is a start point of the policy: arms the directories above it
 * again (one of them may have been replaced). */
void wfiles_arm_above(struct watcher *w, const char *path, size_t len);
/* Arms start point PATH, the directories above it and its tree afresh
 * (fanotify: the file systems of every start point). */
void wfiles_rearm(struct watcher *w, const char *path, size_t len);
/* Removes every watch (before a policy reload). */
void wfiles_disarm(struct watcher *w);
/* Arms directory PATH (one watch); 0, 1 if already armed, or a negative
 * errno (-ENOSPC: the watch limit; remembered and alerted). */
int wfiles_arm(struct watcher *w, const char *path, size_t len);
/* Handles up to MAX queued events. Returns the number handled, or a negative errno. */
int wfiles_process(struct watcher *w, size_t max);
/* Periodic work: re-tries unwatched subtrees and queues their rescans. */
void wfiles_tick(struct watcher *w);
/* The backend in use ("inotify" or "fanotify"), and what wfiles_watched
 * counts ("directories" or "mounts"). */
const char *wfiles_backend(const struct wfiles *f);
const char *wfiles_what(const struct wfiles *f);
/* Counts for STATUS=. */
size_t wfiles_watched(const struct wfiles *f);
size_t wfiles_unwatched(const struct wfiles *f);
/* /proc/self/mountinfo, to poll(2) for POLLPRI: the mount table changed
 * (-1 when it cannot be opened). */
int wfiles_mounts_open(struct watcher *w);
/* A mount or unmount on or above a watched tree: re-arm, rescan, alert. */
void wfiles_mounts_changed(struct watcher *w);
/* Alerts the unwatched subtrees found since the last call, if any. */
void wfiles_report_limit(struct watcher *w);

/* --- hash worker (watch_hash.c) --- */

/*
 * A large file read off the loop: what was asked (the path, an O_PATH pin
 * of the inode, its stat, the rule's attributes, for a growing file the
 * baseline's size and digest) and, once done, the record as files_collect
 * made it (spans point into text).
 */
struct whash_job {
	char *path;
	size_t len;
	int pin;
	struct stat st;
	attrset_t attrs;
	enum hash_algo algo;
	bool has_base;
	struct file_rec base; /* without its spans */
	bool again;           /* asked for again while it ran: check once more */
	struct file_rec rec;
	struct files_text text;
	int err; /* as files_collect; -ECANCELED when the daemon stops */
	bool prefix_same;
	int64_t took_ms;
};

/* Starts the worker; each chunk it reads waits DELAY_MS (a test's hook,
 * normally 0). Returns 0 or a negative errno. */
int whash_open(enum hash_algo algo, unsigned delay_ms, struct whash **ret);
/* Stops the worker within one chunk and frees every job. Accepts NULL. */
void whash_close(struct whash *h);
/* Readable when a job is done. */
int whash_fd(const struct whash *h);
/* Jobs queued, running or done and not taken. */
size_t whash_count(struct whash *h);
/*
 * Queues PATH[0..len) (PIN taken over and closed in every case). A job
 * for the same path that has not started is updated to this one; one that
 * runs is marked again. Returns 0 (queued), 1 (merged), -EBUSY
 * (WATCH_MAX_HASHING jobs already) or -ENOMEM.
 */
int whash_submit(struct whash *h, const char *path, size_t len, int pin, const struct stat *st,
                 attrset_t attrs, enum hash_algo algo, const struct file_rec *base);
/* A finished job (the caller frees it with whash_job_free), or NULL. */
struct whash_job *whash_take(struct whash *h);
void whash_job_free(struct whash_job *j);

/* Alerts the drift of a finished job as watch_scan would have. Returns 0
 * or a negative errno (fatal). */
int watch_scan_hashed(struct watcher *w, const struct whash_job *j);
