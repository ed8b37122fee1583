/* SPDX-License-Identifier: ISC */
/* The one drift decision for files, shared by fim check and the watcher's re-read. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "fim/core/record.h"
#include "fim/report/report.h"
#include "fim/store/store.h"
#include "policy/policy.h"

/* What drift_file decided. */
enum drift_verdict {
	DRIFT_NONE,           /* as recorded: nothing to say */
	DRIFT_NEWLY_IN_SCOPE, /* not in the baseline, which had a policy that did not select it */
	DRIFT_REPORT,         /* *d is drift to report */
};

/* Whether P selects PATH (LEN bytes): a rule matches and it is no exclusion. */
bool drift_selects(const struct policy *p, const char *path, size_t len);

/*
 * Decides whether the live REC drifted from BASE (NULL: not in the
 * baseline) under D->rule, the rule in force. OLD is the baseline's policy
 * when it differs from the one in force (else NULL); PREFIX_SAME says, for
 * a growing file, that the recorded content is still its start. For
 * DRIFT_REPORT, sets D's action, changed, before, after (REC and BASE
 * themselves, which must outlive D) and note; D's kind, id and rule are
 * the caller's.
 */
enum drift_verdict drift_file(const struct policy *old, const struct file_rec *base,
                              const struct file_rec *rec, bool prefix_same, struct drift *d);

/*
 * Rotations proven before, so that a log followed after its rotation (the
 * watcher re-reads it at each write) is not proven again each time: the
 * copy that proved it counts while it keeps its inode, size and change
 * time. Zero-initialised; a few logs at a time.
 */
#define DRIFT_ROT_SEEN 16
struct drift_rot_cache {
	struct drift_rot_seen {
		char log[256]; /* the log's path, LEN bytes; longer ones are not kept */
		size_t len;
		char copy[256]; /* the rotation name that proved it */
		uint64_t base_inode, base_size, live_inode;
		int64_t base_ctime;
		uint8_t base_hash[HASH_MAX_DIGEST];
		uint64_t ino, size; /* the copy when it proved it */
		int64_t ctime_ns;
	} seen[DRIFT_ROT_SEEN];
	unsigned next;
};

/* Where a growing file lives, for the proof of its rotation. */
struct drift_where {
	int rootfd; /* the root checked (d->id is the path inside it); -1: none */
	struct drift_rot_cache *cache; /* or NULL */
	struct store *store;           /* the baseline, for its time; NULL: unknown */
	char note[192];                /* out: the text d->note may point to */
	char rotated[256];             /* out: the rotation name that proved a rotation, or "" */
};

/*
 * drift_file, and for a file under a growing rule whose content identity
 * (inode, size, times, digest) drifted, the rotation decision: the
 * rotation is not drift when the recorded content is proven to still
 * exist under a rotation name next to the file (drift_rotation), and a
 * file of the same inode that shrank without such a copy is reported as
 * truncated. W->rootfd -1 is drift_file. D->note may point into W, which
 * must outlive D.
 */
enum drift_verdict drift_file_at(const struct policy *old, struct drift_where *w,
                                 const struct file_rec *base, const struct file_rec *rec,
                                 bool prefix_same, struct drift *d);

/* How a rotation-named file is stored (drift_rotation_name). */
enum drift_rot_form {
	ROT_NOT = 0, /* not a rotation name of the log */
	ROT_PLAIN,   /* LOG.N or LOG-DATE */
	ROT_GZIP,    /* ... .gz */
	ROT_XZ,      /* ... .xz */
	ROT_ZSTD,    /* ... .zst */
};

/*
 * Whether NAME is a rotation name of the log LOG (both base names):
 * LOG.N (N decimal digits), LOG-YYYYMMDD (8 to 14 digits: dateext with
 * an hour, minute, second), either followed by .gz, .xz or .zst.
 */
enum drift_rot_form drift_rotation_name(const char *log, size_t loglen, const char *name);

/*
 * Whether the content BASE recorded for the log at PATH (LEN bytes, as
 * inside ROOTFD) still exists under a rotation name in the same
 * directory, put there since BASE was recorded (its ctime not before
 * BASE's, nor before SINCE_NS, the baseline's time, when not 0), other than the live file
 * LIVE_INODE (0: unknown): an uncompressed regular file at least BASE's size whose first BASE->size
 * bytes hash as recorded (when BASE holds a plain digest; the recorded
 * inode or a copy), or a compressed one in its format whose gzip trailer
 * counts at least BASE->size bytes (xz and zstd: the format only). Copies
 * the name found to NAME (SIZE bytes) and, with ST, its fstat to *ST.
 * Returns 1 (proven), 0 (not), or a negative errno when the directory
 * could not be read.
 */
int drift_rotation(int rootfd, const char *path, size_t len, const struct file_rec *base,
                   int64_t since_ns, uint64_t live_inode, char *name, size_t size, struct stat *st);

/*
 * --quick: whether the regular file statted as ST is the one BASE recorded
 * with its inode, size, mtime and ctime all unchanged (any write, chmod,
 * chown or xattr change moves ctime). False when BASE lacks any of them.
 */
bool drift_identity_same(const struct file_rec *base, const struct stat *st);
