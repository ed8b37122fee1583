/* SPDX-License-Identifier: ISC */
/* File records: the in-memory form, the versioned binary encoding, comparison. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fim/core/attr.h"
#include "fim/core/common.h"
#include "fim/core/hash.h"

enum file_type {
	FT_UNKNOWN = 0,
	FT_REG,
	FT_DIR,
	FT_LNK,
	FT_FIFO,
	FT_SOCK,
	FT_CHR,
	FT_BLK,
};

/* Record flags (not attributes: facts about how the record was taken). */
enum {
	REC_IN_SCOPE = 1u << 0,   /* selected by a rule; otherwise only a path node */
	REC_UNREADABLE = 1u << 1, /* content could not be read (hash absent) */
	REC_CHANGED_WHILE_READ = 1u << 2,
};

/*
 * One file-system object. Variable-length fields are byte spans; who owns
 * their memory depends on where the record came from: rec_decode() points
 * them into the encoded buffer (for a store value: valid only while its
 * transaction/the store is open); a collector points them into its own
 * scratch buffers.
 */
struct file_rec {
	attrset_t attrs; /* attributes present in this record */
	uint32_t flags;  /* REC_* */
	uint8_t type;    /* enum file_type */
	uint32_t mode;   /* permission bits incl. suid/sgid/sticky (07777) */
	uint32_t uid, gid;
	uint64_t size, inode, nlink;
	int64_t mtime_ns, ctime_ns, atime_ns; /* nanoseconds since the epoch */
	uint32_t rdev_major, rdev_minor;      /* for FT_CHR/FT_BLK, part of "type" */
	uint64_t dirid;                       /* for directories: node id in the store, else 0 */
	uint8_t hash_algo;                    /* enum hash_algo */
	uint8_t hash[HASH_MAX_DIGEST];
	struct bytes target;  /* symlink target */
	struct bytes xattrs;  /* canonical text, see rec_format_xattrs */
	struct bytes acl;     /* short text form of an extended ACL, empty if none */
	struct bytes caps;    /* cap_to_text form, empty if none */
	struct bytes selinux; /* label without trailing NUL */
};

#define REC_ENCODING_VERSION 1

/* A growable output buffer for encodings. */
struct buf {
	uint8_t *p;
	size_t n, cap;
};
void buf_free(struct buf *b);
/* Returns 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t n);

/*
 * Appends the encoding of REC to OUT (OUT is not reset). Only attributes in
 * rec->attrs are written. Encoding: one version byte, then fields as
 * (tag u8, length u32 big-endian, value); integers big-endian fixed width.
 * Returns 0 or -ENOMEM.
 */
int rec_encode(const struct file_rec *rec, struct buf *out);

/*
 * Decodes BUF[0..len) into *out, pointing byte spans into BUF (no copies).
 * Every length is checked; unknown tags are skipped. Returns 0, -EBADMSG
 * for a truncated/corrupt value, -EPROTONOSUPPORT for an unknown version.
 */
int rec_decode(const void *buf, size_t len, struct file_rec *out);

/* Diff flags. */
enum {
	DIFF_GROWING = 1u << 0, /* size may grow; see rec_diff */
};

/*
 * Attributes in MASK whose values differ between BASE and LIVE. An
 * attribute absent from either record is not compared (a baseline built
 * with fewer attributes does not turn into drift). With DIFF_GROWING, a
 * larger live size is not a change, and neither are mtime/ctime/hash when
 * PREFIX_SAME is true (the first base->size bytes still hash the same).
 * When the type changed, the attributes only one of the two types has
 * (target, hash, caps, acl) are reported too, if in MASK.
 */
attrset_t rec_diff(const struct file_rec *base, const struct file_rec *live, attrset_t mask,
                   unsigned flags, bool prefix_same);

/*
 * Human/JSON value of ATTR in REC as text written into buf (NUL-terminated,
 * truncated to size): type "file", "dir", "symlink", "fifo", "socket",
 * "chardev 1:3", "blockdev 8:0"; mode as 4 octal digits "0644"; times as
 * RFC 3339 UTC with nanoseconds ("2026-11-27T20:31:21.123456789Z"); hash as
 * "sha256:<hex>"; target/xattrs/acl/caps/selinux as their bytes (the caller
 * escapes them for output). Returns the number of bytes the full value
 * needs (like snprintf), or -ENOENT if ATTR is absent from REC.
 */
int rec_format_attr(const struct file_rec *rec, unsigned attr, char *buf, size_t size);

const char *file_type_name(enum file_type t);
