/* SPDX-License-Identifier: ISC */
/* OS object records (users, groups, services, sudoers, cron): text attributes, sets, encoding. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fim/core/attr.h"
#include "fim/core/common.h"
#include "fim/core/record.h"

/*
 * One object of a kind other than file. Every attribute value is text
 * (any bytes; no NUL inside). A list attribute (AF_LIST) holds its
 * elements joined by '\n', sorted bytewise and without duplicates unless
 * AF_ORDERED. Spans point into the owning obj_set or, after obj_decode,
 * into the decoded buffer.
 */
struct obj_rec {
	uint8_t kind;    /* enum fim_kind */
	attrset_t attrs; /* attributes present */
	struct bytes id; /* name: "root", "ssh.service", "%sudo", "/etc/cron.d/x" */
	struct bytes val[ATTR_KIND_MAX];
};

#define OBJ_MAX_ID      400        /* longest id (an LMDB key is at most 511 bytes) */
#define OBJ_MAX_VALUE   (1u << 20) /* longest attribute value */
#define OBJ_MAX_ELEMENT 65536      /* longest list element */
#define OBJ_MAX_OBJECTS 1000000    /* most objects of one kind */

/* A set of records of one kind, owning their bytes. */
struct obj_set;

/* Returns 0 or -ENOMEM. */
int obj_set_new(enum fim_kind kind, struct obj_set **ret);
void obj_set_free(struct obj_set *s);
enum fim_kind obj_set_kind(const struct obj_set *s);

/*
 * Building a record: obj_begin starts a record with ID[0..len) (which
 * must not contain NUL or exceed OBJ_MAX_ID bytes: -EINVAL), obj_set_value
 * sets a scalar attribute (a second call replaces the value), obj_list_add
 * appends one element to a list attribute (elements are not empty and
 * contain no '\n' or NUL: -EINVAL; over OBJ_MAX_ELEMENT: -E2BIG), obj_end finishes it
 * (sorts and deduplicates unordered lists). A list attribute with no
 * element added is absent unless obj_list_touch marked it present (an
 * empty list is a value: "no keys"). Only one record is open at a time.
 * All return 0, -ENOMEM, -E2BIG or -EINVAL; after an error the open
 * record is dropped by obj_end (which then returns that error).
 */
int obj_begin(struct obj_set *s, const char *id, size_t len);
int obj_set_value(struct obj_set *s, unsigned attr, const char *v, size_t n);
int obj_set_str(struct obj_set *s, unsigned attr, const char *v);
int obj_list_add(struct obj_set *s, unsigned attr, const char *v, size_t n);
int obj_list_touch(struct obj_set *s, unsigned attr);
int obj_end(struct obj_set *s);
/* Drops the open record, if any. */
void obj_abort(struct obj_set *s);

/* Sorts the set by id (bytewise). Of records with equal ids the first
 * added is kept. Call once after the last obj_end. */
void obj_set_sort(struct obj_set *s);
size_t obj_set_count(const struct obj_set *s);
/* Record I (after obj_set_sort, in id order); owned by the set. */
const struct obj_rec *obj_set_at(const struct obj_set *s, size_t i);
/* Record with ID[0..len) after obj_set_sort, or NULL. */
const struct obj_rec *obj_set_find(const struct obj_set *s, const char *id, size_t len);

#define OBJ_ENCODING_VERSION 1

/* Appends the encoding of REC (without its id, which is the store key) to
 * OUT: version byte, kind byte, then (tag u8 = attribute + 1, length u32
 * BE, value) per present attribute, then tag 0. Returns 0 or -ENOMEM. */
int obj_encode(const struct obj_rec *rec, struct buf *out);
/* Decodes BUF[0..len) into *out (spans point into BUF; out->id is left
 * empty). Returns 0, -EBADMSG (corrupt, or a kind other than KIND),
 * -EPROTONOSUPPORT (unknown version). */
int obj_decode(const void *buf, size_t len, enum fim_kind kind, struct obj_rec *out);

/* Attributes in MASK present in both records whose values differ. */
attrset_t obj_diff(const struct obj_rec *base, const struct obj_rec *live, attrset_t mask);

/* Iterating a list value: *pos starts at 0; returns true with the next
 * element in *el, false at the end. */
bool obj_list_next(struct bytes list, size_t *pos, struct bytes *el);
/* True when LIST contains element EL. */
bool obj_list_has(struct bytes list, struct bytes el);
/* The first word of a list element (its key for AF_KEYED attributes). */
struct bytes obj_elem_key(struct bytes el);

/* Public form of a secret attribute's value: its first word ("set"). */
struct bytes obj_secret_state(struct bytes v);
