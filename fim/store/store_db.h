/* SPDX-License-Identifier: ISC */
/* Inside the store: what its reading and writing halves share about the LMDB environment. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>

#include "fim/core/endian.h"
#include "fim/core/object.h"
#include "fim/core/record.h"
#include "fim/store/store.h"

#define CURRENT         "current"
#define BASELINE_PREFIX "baseline."
#define MAX_DBS         32 /* ours need 4 + KIND__MAX; more is what a digest must still see */
#define KEY_MAX         (8 + FIM_MAX_NAME)
#define FILE_SIG        "data.sig"
#define FILE_SIG_MAX    512

struct store {
	MDB_env *env;
	MDB_txn *txn; /* the one read transaction, open until store_close */
	MDB_dbi meta, files, nodes;
	MDB_dbi objs[KIND__MAX];
	uint32_t have_objs; /* bit per kind whose database exists */
	MDB_dbi audit;
	bool have_audit;
	uintptr_t map_start, map_end;   /* the map, found in /proc/self/maps; 0 if unknown */
	uintptr_t file_end;             /* map_start + the data file's size */
	bool broken;                    /* a read faulted: the map is not read again */
	MDB_cursor *obj_cur[KIND__MAX]; /* for store_obj_get, opened on first use */
};

/* How an environment is to be opened: with the data file's signature
 * checked first when CHECK is set. */
struct open_how {
	store_file_check_fn *check;
	void *user;
};

/* LMDB's own codes as the errno values the rest of fim speaks. */
int store_mdb_err(int rc);

/* The key of entry NAME[0..nlen) of directory PARENT, in KEY (KEY_MAX bytes). */
static inline MDB_val store_key_of(uint8_t *key, uint64_t parent, const char *name, size_t nlen)
{
	put_be64(key, parent);
	if (nlen)
		memcpy(key + 8, name, nlen);
	return (MDB_val){.mv_size = 8 + nlen, .mv_data = key};
}

/* Opens the environment DIR's "current" link names into S, read-only, checked as HOW says (NULL:
 * not checked); the link is read again when a writer swaps it meanwhile. Returns 0 or a negative
 * errno. */
int store_open_env(struct store *s, const char *dir, const struct open_how *how);

/* Decodes a files value V of a writer's own transaction into REC. Returns 0 or -EBADMSG. */
int store_decode_value(const MDB_val *v, struct file_rec *rec);

/* The objects key of ID[0..len) in K. Returns 0 or -EINVAL (empty or too long). */
int store_obj_key(const char *id, size_t len, MDB_val *k);

/* The digest a signature covers: every key and value of every named database in TXN, in name
 * and key order, except the signature itself. Returns 0 or a negative errno. */
int store_digest_txn(struct store *s, MDB_txn *txn, uint8_t out[STORE_DIGEST_BYTES]);
