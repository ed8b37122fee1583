/* SPDX-License-Identifier: ISC */
/* What the command layer shares: global options and helpers that report once. */
#pragma once

#include <stdbool.h>

#include "policy/policy.h"
#include "fim/core/common.h"
#include "fim/report/report.h"
#include "fim/store/store.h"

#define FIM_VERSION        "0.1.0"
#define FIM_DEFAULT_POLICY "/etc/fim/fim.policy"
#define FIM_DEFAULT_DB     "/var/lib/fim"
/* The longest JSON line on stdout: rsyslog's default message size (8 KiB)
 * less room for the syslog header that logger or journald puts in front. */
#define FIM_DEFAULT_MAX_LINE 7680

struct fim_opts {
	const char *policy; /* -c */
	const char *db;     /* -d */
	const char *root;   /* -r, "/" by default */
	const char *format; /* "human", "json" or NULL for automatic */
	bool color;         /* human output to a colour terminal */
	int verbose;        /* 0 quiet, 1 normal, 2 verbose */
	unsigned jobs;      /* hash workers, 0 = one per online CPU */
	bool quick;         /* check: re-hash only files whose inode/size/times differ */
	bool keep_cache;    /* leave the pages of files fim read cached */
	bool nice;          /* idle CPU and I/O priority */
	size_t max_line;    /* longest JSON line on stdout (--max-line) */
	/* command options (accepted anywhere on the line) */
	const char *sign_key;        /* baseline, accept: sign with this secret key */
	const char *verify_key;      /* check, show, verify, accept: require this signer */
	const char *passphrase_file; /* key generate, baseline, accept */
	const char *out;             /* key generate: directory */
	const char *alerts;          /* check: append drift to this alert trail */
	const char *alerts_key;      /* check, log verify: key of the trail's chain */
	const char *reason;          /* accept: why */
	const char *kind;            /* accept: every drifted object of this kind */
	bool all;                    /* accept: everything that drifted */
	const char *journal_dir;     /* watch: read journal files from this directory */
	bool syslog;                 /* watch: alerts to syslog whatever the policy says */
	bool journald;               /* watch: alerts to the journal whatever the policy says */
};

int cmd_baseline(struct fim_opts *o, int argc, char **argv);
int cmd_check(struct fim_opts *o, int argc, char **argv);
int cmd_show(struct fim_opts *o, int argc, char **argv);
int cmd_policy(struct fim_opts *o, int argc, char **argv);
int cmd_key(struct fim_opts *o, int argc, char **argv);
int cmd_verify(struct fim_opts *o, int argc, char **argv);
int cmd_accept(struct fim_opts *o, int argc, char **argv);
int cmd_history(struct fim_opts *o, int argc, char **argv);
int cmd_log(struct fim_opts *o, int argc, char **argv);
int cmd_watch(struct fim_opts *o, int argc, char **argv);

/* Prints the accept history of object ID of KIND (indented lines, or
 * JSON lines). Returns 0 or a negative errno. */
int history_show(struct store *s, bool json, enum fim_kind kind, const char *id);

/* Loads the policy, printing "fim: FILE:LINE:COL: MESSAGE" on failure.
 * Returns 0 or FIM_EXIT_POLICY. */
int cli_load_policy(const struct fim_opts *o, struct policy **ret);

/* Opens --root as a directory fd. Returns the fd or -1 (reported). */
int cli_open_root(const struct fim_opts *o);

/* Opens the baseline, reporting why not. Returns 0 or FIM_EXIT_BASELINE. */
int cli_open_store(const struct fim_opts *o, struct store **ret);

/* The report backend the options ask for. */
const struct report_ops *cli_report_ops(const struct fim_opts *o);

/* The algorithm the policy asks for ("set hash = ..."), sha256 by default. */
enum hash_algo cli_policy_hash(const struct policy *p);

/* An object argument "KIND:NAME" ("user:root", "service:ssh.service",
 * "cron:/etc/crontab"; KIND as in kind_name()). Returns true and sets
 * *kind and *name (pointing into ARG) when ARG has that form. */
bool cli_object_arg(const char *arg, enum fim_kind *kind, const char **name);

/* Seconds since an arbitrary fixed point (monotonic). */
double cli_now(void);

/* Current time as RFC 3339 UTC text. */
void cli_rfc3339(char *buf, size_t size);
