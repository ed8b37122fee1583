/* SPDX-License-Identifier: ISC */
/* The attribute vocabulary: names as used in policy, JSON and reports. */
#include <string.h>
#include <stdio.h>

#include "attr.h"
#include "common.h"

static const char *const file_attrs[ATTR__FILE_MAX] = {
        [ATTR_TYPE] = "type",       [ATTR_MODE] = "mode",     [ATTR_UID] = "uid",
        [ATTR_GID] = "gid",         [ATTR_SIZE] = "size",     [ATTR_MTIME] = "mtime",
        [ATTR_CTIME] = "ctime",     [ATTR_ATIME] = "atime",   [ATTR_INODE] = "inode",
        [ATTR_NLINK] = "nlink",     [ATTR_TARGET] = "target", [ATTR_HASH] = "hash",
        [ATTR_XATTRS] = "xattrs",   [ATTR_ACL] = "acl",       [ATTR_CAPS] = "caps",
        [ATTR_SELINUX] = "selinux",
};

const char *attr_name(enum fim_kind kind, unsigned attr)
{
	if (kind != KIND_FILE || attr >= ATTR__FILE_MAX)
		return NULL;
	return file_attrs[attr];
}

int attr_lookup(enum fim_kind kind, const char *name, size_t len)
{
	if (kind != KIND_FILE)
		return -ENOENT;
	for (unsigned i = 0; i < ATTR__FILE_MAX; i++)
		if (strlen(file_attrs[i]) == len && memcmp(file_attrs[i], name, len) == 0)
			return (int)i;
	return -ENOENT;
}

void attr_format_set(enum fim_kind kind, attrset_t set, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < 32; i++) {
		const char *n = attr_name(kind, i);
		int w;

		if (!(set & ATTR_BIT(i)) || !n)
			continue;
		w = snprintf(buf + used, size - used, "%s%s", used ? " " : "", n);
		if (w < 0 || (size_t)w >= size - used)
			return;
		used += (size_t)w;
	}
}
