/* SPDX-License-Identifier: ISC */
/* The baseline store: one LMDB environment per baseline, swapped in atomically. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fim/core/common.h"
#include "fim/core/object.h"
#include "fim/core/record.h"

/*
 * On-disk layout under the db directory DIR:
 *   DIR/current          symlink to the live baseline directory
 *   DIR/baseline.XXXXXX  LMDB environment (data.mdb, lock.mdb)
 * A writer builds a fresh baseline.XXXXXX and, on commit, replaces
 * "current" with rename(2), then removes the previous environment. A
 * crash at any point leaves either the old or the new baseline current.
 *
 * Named databases: "meta" (key string -> bytes), "files" (key = parent
 * node id as u64 big-endian followed by the entry name; value = encoded
 * struct file_rec), "nodes" (key = node id u64 BE; value = parent id u64
 * BE followed by the name), so a path of any length has a key of at most
 * 8 + 255 bytes. The root directory "/" is node STORE_ROOT_ID, stored in
 * "files" under parent 0 with an empty name. Other kinds of object have a
 * database each, named by kind_plural() ("users", "services", ...): key =
 * the object's id, value = obj_encode(). A kind's database exists exactly
 * when the baseline recorded that kind (possibly with no objects).
 */

#define STORE_SCHEMA_VERSION 1
#define STORE_ROOT_ID        1
#define STORE_MAX_VALUE      (32u << 20) /* largest record or meta value */

/* Meta keys. */
#define META_SCHEMA        "schema"        /* u32 BE */
#define META_CREATED       "created"       /* RFC 3339 text */
#define META_HOST          "host"          /* text */
#define META_POLICY        "policy"        /* policy_bundle() bytes */
#define META_POLICY_DIGEST "policy_digest" /* 32 bytes */
#define META_HASH          "hash"          /* algorithm name */
#define META_ROOT          "root"          /* --root the baseline was taken of */
#define META_STATS         "stats"         /* text "files=N dirs=N errors=N" */
#define META_SIGNATURE     "signature"     /* see trust.h; the only value the digest skips */

#define STORE_DIGEST_BYTES 32

struct store;
struct store_writer;

/*
 * Opens the current baseline of DIR read-only and starts one read
 * transaction that lasts until store_close. Returns 0, -ENOENT when there
 * is no baseline, -EPROTONOSUPPORT when its schema version is not
 * STORE_SCHEMA_VERSION (store_found_schema() then tells which), -EBADMSG when it
 * is not a fim store, or another negative errno.
 */
int store_open(const char *dir, struct store **ret);
void store_close(struct store *s);

/*
 * A signed baseline's data file is signed as written, byte for byte: the
 * signature sits beside it ("data.sig", opaque to the store), so that it
 * can be checked before LMDB maps a byte of the file.
 * CHECK gets the SHA-256 of data.mdb and the signature's bytes; it returns
 * 0 when they match, a negative errno otherwise.
 */
typedef int store_file_check_fn(void *user, const uint8_t digest[STORE_DIGEST_BYTES],
                                const uint8_t *sig, size_t n);
/*
 * store_open, with the data file's bytes checked by CHECK before LMDB
 * opens it. Returns what store_open does, and -ENOKEY (the baseline has
 * no file signature: unsigned, or written by an older fim), CHECK's
 * negative errno when it refused the file, -EKEYREJECTED when the file
 * changed while it was opened.
 */
int store_open_verified(const char *dir, store_file_check_fn *check, void *user,
                        struct store **ret);

/*
 * Whether DIR's baseline can be trusted by where it lies, as sshd's
 * StrictModes does: DIR, each directory above it (as written, a link
 * included, and as resolved), the directory "current"
 * points to (and those above it), "current" itself, data.mdb and lock.mdb
 * must be owned by root or by the effective user, and not writable by
 * group or others (a directory above DIR may be, when it is sticky, like
 * /tmp). Returns 0, -EPERM with the first problem in WHY ("PATH: CAUSE"),
 * -ENOENT when there is no baseline, or another negative errno.
 */
int store_check_trust(const char *dir, char *why, size_t size);
/* Schema version recorded in DIR's current baseline, or 0 if none can be read. */
uint32_t store_found_schema(const char *dir);

/* Meta value; *val points into the map, valid until store_close.
 * Returns 0 or -ENOENT. */
int store_meta(struct store *s, const char *key, struct bytes *val);

/*
 * Looks up entry NAME[0..nlen) of node PARENT and decodes it into *rec
 * (spans valid until store_close). Returns 0, -ENOENT, -EBADMSG for a
 * corrupt value.
 */
int store_get(struct store *s, uint64_t parent, const char *name, size_t nlen,
              struct file_rec *rec);

/* Resolves an absolute PATH (as inside the root) to its record; also
 * returns the parent node id when ret_parent is not NULL. Same returns. */
int store_lookup(struct store *s, const char *path, size_t len, struct file_rec *rec,
                 uint64_t *ret_parent);

/*
 * Iterates the entries of node PARENT in byte order of their names.
 * store_iter_next returns 1 with *name and *rec filled (valid until
 * store_close), 0 at the end, or a negative errno (-EBADMSG corrupt).
 */
struct store_iter;
int store_iter_children(struct store *s, uint64_t parent, struct store_iter **ret);
int store_iter_next(struct store_iter *it, struct bytes *name, struct file_rec *rec);
void store_iter_free(struct store_iter *it);

/* Whether the baseline recorded objects of KIND (always true for files). */
bool store_has_kind(struct store *s, enum fim_kind kind);

/* Object ID[0..len) of KIND (not KIND_FILE), decoded into *rec (spans,
 * rec->id included, valid until store_close). Returns 0, -ENOENT, -EBADMSG. */
int store_obj_get(struct store *s, enum fim_kind kind, const char *id, size_t len,
                  struct obj_rec *rec);

/* Iterates the objects of KIND in byte order of their ids; a kind the
 * baseline did not record iterates as empty. store_obj_next returns 1 with
 * *rec filled (valid until store_close), 0 at the end, or a negative errno
 * (-EBADMSG corrupt). Free with store_iter_free. */
int store_obj_iter(struct store *s, enum fim_kind kind, struct store_iter **ret);
int store_obj_next(struct store_iter *it, struct obj_rec *rec);

/*
 * SHA-256 over every key and value of every database of the baseline (in
 * name and key order, lengths included), META_SIGNATURE excepted: what a
 * signature covers. A record changed, added or removed, a swapped policy
 * (it is meta), or a database added by hand all change it. Returns 0,
 * -EBADMSG for a damaged store, or a negative errno.
 */
int store_digest(struct store *s, uint8_t out[STORE_DIGEST_BYTES]);

/* Lets go of the map pages read so far (they stay cached; spans handed
 * out stay valid): keeps a long scan's resident memory bounded. */
void store_trim(struct store *s);

/* Rebuilds the absolute path of node ID into a malloc'd buffer. */
int store_node_path(struct store *s, uint64_t id, char **ret, size_t *ret_len);

/*
 * Starts a new baseline in DIR (created 0700 if missing), beside the
 * current one. Only one writer works in DIR at a time (an flock on DIR,
 * held until commit or abort); environments that an earlier, crashed
 * writer left behind are removed. Returns 0, -EBUSY when another writer
 * holds DIR, or a negative errno.
 */
int store_writer_new(const char *dir, struct store_writer **ret);
/*
 * Starts a new baseline in DIR that begins as a copy of the current one
 * (for fim accept): the same locking and atomic swap as store_writer_new;
 * node ids continue after the copy's. Returns 0, -ENOENT (no baseline),
 * -EBUSY, or a negative errno.
 */
int store_writer_update(const char *dir, struct store_writer **ret);

/* Reads entry NAME of PARENT as W holds it now (spans valid until the
 * next write). Returns 0, -ENOENT, -EBADMSG. */
int store_writer_get(struct store_writer *w, uint64_t parent, const char *name, size_t nlen,
                     struct file_rec *rec);
/* Removes entry NAME of PARENT, and for a directory everything below it.
 * Returns 0, -ENOENT, or a negative errno. */
int store_writer_del(struct store_writer *w, uint64_t parent, const char *name, size_t nlen);
/* Removes object ID of KIND. Returns 0, -ENOENT, or a negative errno. */
int store_writer_del_obj(struct store_writer *w, enum fim_kind kind, const char *id, size_t len);
/* Appends ENTRY to the "audit" database (key: sequence number from 1, u64
 * BE); *ret_seq gets the number. Returns 0 or a negative errno. */
int store_writer_audit(struct store_writer *w, const void *entry, size_t n, uint64_t *ret_seq);

/* Accept history: the audit entries in order. store_audit_next returns 1
 * with *seq and *entry (valid until store_close), 0 at the end, or a
 * negative errno. Free with store_iter_free. */
int store_audit_iter(struct store *s, struct store_iter **ret);
int store_audit_next(struct store_iter *it, uint64_t *seq, struct bytes *entry);

/* Allocates a fresh node id for a directory (ids start at STORE_ROOT_ID). */
uint64_t store_writer_new_node(struct store_writer *w);
/*
 * Records entry NAME of node PARENT. If rec->type is FT_DIR, rec->dirid
 * must be a node id from store_writer_new_node, and the node's parent and
 * name are recorded in "nodes". Puts are grouped in large transactions;
 * the map is grown before it can fill. Returns 0, -ENOSPC (disk or map
 * full), -E2BIG (name too long, or a record over STORE_MAX_VALUE), or
 * another negative errno. After -ENOSPC or an I/O error every later call
 * fails too; -E2BIG and -EINVAL leave the writer usable.
 */
int store_writer_put(struct store_writer *w, uint64_t parent, const char *name, size_t nlen,
                     const struct file_rec *rec);
/* Marks KIND as recorded (its database exists even with no objects). Same
 * returns as store_writer_put. */
int store_writer_kind(struct store_writer *w, enum fim_kind kind);
/* Records object REC (its kind's database is created on first use). Same
 * returns as store_writer_put; -EINVAL for an empty id or one over OBJ_MAX_ID. */
int store_writer_put_obj(struct store_writer *w, const struct obj_rec *rec);

/* Sets meta KEY to VAL[0..n); same returns as store_writer_put. */
int store_writer_meta(struct store_writer *w, const char *key, const void *val, size_t n);
/* store_digest of what W holds so far (call last, before the signature). */
int store_writer_digest(struct store_writer *w, uint8_t out[STORE_DIGEST_BYTES]);

/*
 * Has store_writer_commit sign the data file once it is complete: SIGN
 * gets the SHA-256 of data.mdb as written (after the last commit, before
 * the swap) and writes at most SIZE bytes of signature into SIG, returning
 * their count or a negative errno (then the commit fails). USER must live
 * until the commit.
 */
typedef int store_file_sign_fn(void *user, const uint8_t digest[STORE_DIGEST_BYTES], uint8_t *sig,
                               size_t size);
void store_writer_sign_file(struct store_writer *w, store_file_sign_fn *sign, void *user);

/* Commits, syncs and makes the new baseline current. On failure the
 * previous baseline stays current and the new one is removed. W is freed
 * in both cases (as by mdb_txn_commit) and must not be used again. */
int store_writer_commit(struct store_writer *w);
/* Discards the new baseline (NULL is fine). */
void store_writer_abort(struct store_writer *w);
