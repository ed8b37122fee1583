/* SPDX-License-Identifier: ISC */
/* What the command layer shares: global options and helpers that report once. */
#pragma once

#include <stdbool.h>

#include "policy/policy.h"
#include "fim/core/common.h"
#include "fim/report/report.h"
#include "fim/store/store.h"
#include "fim/trust/trust.h"

#define FIM_VERSION        "0.1.0"
#define FIM_DEFAULT_POLICY "/etc/fim/fim.policy"
#define FIM_DEFAULT_DB     "/var/lib/fim"
/* The longest JSON line on stdout: rsyslog's default message size (8 KiB)
 * less room for the syslog header that logger or journald puts in front. */
#define FIM_DEFAULT_MAX_LINE 7680

/* Exit status of fim check (bitmask) and fatal codes, as in fim(8).
 * Only the commands pick one: the layers below return a negative errno. */
enum {
	FIM_EXIT_OK = 0,
	FIM_EXIT_ADDED = 1,
	FIM_EXIT_REMOVED = 2,
	FIM_EXIT_CHANGED = 4,
	FIM_EXIT_UNREADABLE = 8,
	FIM_EXIT_USAGE = 16,
	FIM_EXIT_POLICY = 17,
	FIM_EXIT_BASELINE = 18,
	FIM_EXIT_INTEGRITY = 19,
	FIM_EXIT_IO = 20,
};

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
	const char *verify_key;      /* every command that reads a baseline: require this signer */
	const char *passphrase_file; /* key generate, baseline, accept */
	const char *out;             /* key generate: directory */
	const char *alerts;          /* check, watch: append drift to this alert trail */
	const char *alerts_key;      /* check, watch, log verify: key of the trail's chain */
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

/*
 * Trust as the commands say it (fim/cli_trust.c): the keys the options
 * name, baselines opened and verified with them, each cause printed once
 * and mapped to an exit status.
 */

/*
 * The passphrase, never from the command line: $FIM_PASSPHRASE if set,
 * else the first line of FILE (when not NULL), else a prompt on /dev/tty
 * without echo (asked twice when CONFIRM). Written into BUF (SIZE bytes,
 * NUL-terminated; the caller wipes it with sodium_memzero). Returns 0,
 * -ENOTTY (no terminal to ask), -EINVAL (empty, or the two differ),
 * -EMSGSIZE (longer than SIZE - 1 bytes), -EFBIG (FILE over 4 KiB), -EINTR
 * (a signal ended the prompt), or an errno reading FILE.
 */
int cli_passphrase(const char *file, bool confirm, char *buf, size_t size, size_t *ret_len);

/* Loads the secret key named by --sign-key (asking for its passphrase)
 * before any work is done. Returns 0 (with *ret->sk NULL when no key was
 * asked for), or an exit status (reported). */
int cli_trust_load_signer(const struct fim_opts *o, struct sign_key *ret);

/* The verify key path in force: --verify-key, else "set verify_key" of P,
 * else NULL (verification optional). */
const char *cli_trust_verify_key_path(const struct fim_opts *o, const struct policy *p);

/*
 * Verifies the baseline S when a verify key is configured (see
 * cli_trust_verify_key_path): the signature must be present, made by that key,
 * and match the store's digest; with P not NULL, P must also be the
 * policy the baseline was signed with. Returns 0, or FIM_EXIT_INTEGRITY
 * with the reason logged ("...: the baseline is not signed").
 */
int cli_trust_verify(const struct fim_opts *o, const struct policy *p, struct store *s);

/*
 * For commands that read the baseline but do not apply a policy (show,
 * history): like cli_trust_verify, with the verify key of --verify-key or of
 * the policy file when there is one (a policy file that exists but cannot
 * be parsed is an error: it may be what requires the key). The policy in
 * force is not compared. Returns 0, FIM_EXIT_POLICY or FIM_EXIT_INTEGRITY
 * (reported).
 */
int cli_trust_verify_store(const struct fim_opts *o, struct store *s);

/*
 * trust_check_sig with the key K already loaded, or with the verify key
 * KEY_PATH: prints nothing; *why gets the cause on failure (valid until
 * the next check on this thread). Returns 0 or FIM_EXIT_INTEGRITY.
 */
int cli_trust_check_key(const struct sign_key *k, const struct policy *p, struct store *s,
                        const char **why, char *signer, size_t size);
int cli_trust_check(const char *key_path, const struct policy *p, struct store *s, const char **why,
                    char *signer, size_t size);

/*
 * Opens the baseline of --db for a command that trusts it: refuses an
 * unsigned baseline that other users could replace (store_check_trust;
 * only a loud warning when a verify key is in force), and with a verify
 * key (KEY_PATH, or the one cli_trust_verify_key_path finds for P) checks the
 * signature of the data file's bytes before LMDB reads a byte of it.
 * Then call cli_trust_verify as before for the signature of the records.
 * Returns 0, FIM_EXIT_BASELINE or FIM_EXIT_INTEGRITY (reported).
 */
int cli_trust_open_key(const struct fim_opts *o, const char *key_path, struct store **ret);
int cli_trust_open(const struct fim_opts *o, const struct policy *p, struct store **ret);
/* For show and history: cli_trust_open and cli_trust_verify_store in one, with the
 * verify key of --verify-key or of the policy file. */
int cli_trust_open_store(const struct fim_opts *o, struct store **ret);
