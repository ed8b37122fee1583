/* SPDX-License-Identifier: ISC */
/* The attribute vocabulary shared by policy, store, reports and man pages. */
#pragma once

#include <stdint.h>
#include <stddef.h>

/* Kinds of object fim records. Only files exist so far. */
enum fim_kind {
	KIND_FILE = 0,
	KIND__MAX,
};

/* File attributes; the bit (1u << attr) is used in an attrset. */
enum file_attr {
	ATTR_TYPE,
	ATTR_MODE,
	ATTR_UID,
	ATTR_GID,
	ATTR_SIZE,
	ATTR_MTIME,
	ATTR_CTIME,
	ATTR_ATIME,
	ATTR_INODE,
	ATTR_NLINK,
	ATTR_TARGET,
	ATTR_HASH,
	ATTR_XATTRS,
	ATTR_ACL,
	ATTR_CAPS,
	ATTR_SELINUX,
	ATTR__FILE_MAX,
};

typedef uint32_t attrset_t;

#define ATTR_BIT(a)    ((attrset_t)1u << (a))
#define ATTRS_ALL_FILE (ATTR_BIT(ATTR__FILE_MAX) - 1)

/* Name of an attribute of KIND ("mode"), or NULL if out of range. */
const char *attr_name(enum fim_kind kind, unsigned attr);

/* Attribute number for NAME[0..len) in KIND, or -ENOENT. */
int attr_lookup(enum fim_kind kind, const char *name, size_t len);

/* Writes "type mode uid" style text for SET into buf (always NUL-terminated). */
void attr_format_set(enum fim_kind kind, attrset_t set, char *buf, size_t size);
