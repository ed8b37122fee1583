/* SPDX-License-Identifier: ISC */
/* The attribute vocabulary: names as used in policy, JSON and reports. */
#include <string.h>
#include <stdio.h>

#include "fim/core/attr.h"
#include "fim/core/common.h"

struct attr_def {
	const char *name;
	unsigned flags;
};

static const struct attr_def file_attrs[ATTR__FILE_MAX] = {
        [ATTR_TYPE] = {"type"},       [ATTR_MODE] = {"mode"},     [ATTR_UID] = {"uid"},
        [ATTR_GID] = {"gid"},         [ATTR_SIZE] = {"size"},     [ATTR_MTIME] = {"mtime"},
        [ATTR_CTIME] = {"ctime"},     [ATTR_ATIME] = {"atime"},   [ATTR_INODE] = {"inode"},
        [ATTR_NLINK] = {"nlink"},     [ATTR_TARGET] = {"target"}, [ATTR_HASH] = {"hash"},
        [ATTR_XATTRS] = {"xattrs"},   [ATTR_ACL] = {"acl"},       [ATTR_CAPS] = {"caps"},
        [ATTR_SELINUX] = {"selinux"},
};

static const struct attr_def user_attrs[UA__MAX] = {
        [UA_UID] = {"uid"},
        [UA_GID] = {"gid"},
        [UA_GECOS] = {"gecos"},
        [UA_HOME] = {"home"},
        [UA_SHELL] = {"shell"},
        [UA_PASSWORD] = {"password", AF_SECRET},
        [UA_GROUPS] = {"groups", AF_LIST},
        [UA_AUTHORIZED_KEYS] = {"authorized_keys", AF_LIST | AF_KEYED},
};

static const struct attr_def group_attrs[GA__MAX] = {
        [GA_GID] = {"gid"},
        [GA_MEMBERS] = {"members", AF_LIST},
        [GA_ADMINISTRATORS] = {"administrators", AF_LIST},
};

static const struct attr_def service_attrs[SA__MAX] = {
        [SA_UNIT_FILE] = {"unit_file"},
        [SA_HASH] = {"hash"},
        [SA_ENABLED] = {"enabled"},
        [SA_DROPINS] = {"dropins", AF_LIST | AF_KEYED},
        [SA_ACTIVE] = {"active"},
        [SA_EXEC_START] = {"exec_start", AF_LIST | AF_ORDERED},
        [SA_SCHEDULE] = {"schedule", AF_LIST | AF_ORDERED},
        [SA_ALIASES] = {"aliases", AF_LIST},
        [SA_WANTED_BY] = {"wanted_by", AF_LIST},
};

static const struct attr_def sudoers_attrs[SUA__MAX] = {
        [SUA_RULES] = {"rules", AF_LIST | AF_ORDERED},
        [SUA_MEMBERS] = {"members", AF_LIST},
        [SUA_FILES] = {"files", AF_LIST},
};

static const struct attr_def cron_attrs[CA__MAX] = {
        [CA_JOBS] = {"jobs", AF_LIST}, [CA_ENV] = {"env", AF_LIST | AF_ORDERED},
        [CA_USER] = {"user"},          [CA_HASH] = {"hash"},
        [CA_MODE] = {"mode"},          [CA_SCHEDULE] = {"schedule"},
};

static const struct attr_def package_attrs[PA__MAX] = {
        [PA_VERSION] = {"version"},
        [PA_STATUS] = {"status"},
        [PA_ARCHITECTURE] = {"architecture"},
        [PA_CONFFILES] = {"conffiles", AF_LIST | AF_KEYED},
        [PA_SOURCE] = {"source"},
        [PA_MULTI_ARCH] = {"multi_arch"},
};

static const struct kind_def {
	const char *name, *plural;
	const struct attr_def *attrs;
	unsigned count;
} kinds[KIND__MAX] = {
        [KIND_FILE] = {"file", "files", file_attrs, ATTR__FILE_MAX},
        [KIND_USER] = {"user", "users", user_attrs, UA__MAX},
        [KIND_GROUP] = {"group", "groups", group_attrs, GA__MAX},
        [KIND_SERVICE] = {"service", "services", service_attrs, SA__MAX},
        [KIND_SUDOERS] = {"sudoers", "sudoers", sudoers_attrs, SUA__MAX},
        [KIND_CRON] = {"cron", "cron", cron_attrs, CA__MAX},
        [KIND_PACKAGE] = {"package", "packages", package_attrs, PA__MAX},
};

static const struct kind_def *kind_get(enum fim_kind kind)
{
	return (unsigned)kind < KIND__MAX ? &kinds[kind] : NULL;
}

unsigned attr_count(enum fim_kind kind)
{
	const struct kind_def *k = kind_get(kind);

	return k ? k->count : 0;
}

attrset_t attr_all(enum fim_kind kind)
{
	return ATTR_BIT(attr_count(kind)) - 1;
}

unsigned attr_flags(enum fim_kind kind, unsigned attr)
{
	const struct kind_def *k = kind_get(kind);

	return k && attr < k->count ? k->attrs[attr].flags : 0;
}

const char *kind_name(enum fim_kind kind)
{
	const struct kind_def *k = kind_get(kind);

	return k ? k->name : NULL;
}

const char *kind_plural(enum fim_kind kind)
{
	const struct kind_def *k = kind_get(kind);

	return k ? k->plural : NULL;
}

int kind_lookup(const char *name, size_t len)
{
	for (unsigned i = 0; i < KIND__MAX; i++)
		if (strlen(kinds[i].plural) == len && memcmp(kinds[i].plural, name, len) == 0)
			return (int)i;
	return -ENOENT;
}

const char *attr_name(enum fim_kind kind, unsigned attr)
{
	const struct kind_def *k = kind_get(kind);

	return k && attr < k->count ? k->attrs[attr].name : NULL;
}

int attr_lookup(enum fim_kind kind, const char *name, size_t len)
{
	const struct kind_def *k = kind_get(kind);

	for (unsigned i = 0; k && i < k->count; i++)
		if (strlen(k->attrs[i].name) == len && memcmp(k->attrs[i].name, name, len) == 0)
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
