/* SPDX-License-Identifier: ISC */
/* The attribute vocabulary shared by policy, store, reports and man pages. */
#pragma once

#include <stdint.h>
#include <stddef.h>

/* Kinds of object fim records. The numbers are stored: append only. */
enum fim_kind {
	KIND_FILE = 0,
	KIND_USER,
	KIND_GROUP,
	KIND_SERVICE,
	KIND_SUDOERS,
	KIND_CRON,
	KIND_PACKAGE,
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

/* Attributes of the other kinds. Their values are text (see object.h); the
 * numbers double as the store's field tags: append only, per kind. */
enum user_attr {
	UA_UID,
	UA_GID,
	UA_GECOS,
	UA_HOME,
	UA_SHELL,
	UA_PASSWORD,        /* "STATE DIGEST": state set/locked/empty/none, keyed digest in hex */
	UA_GROUPS,          /* list: supplementary group names */
	UA_AUTHORIZED_KEYS, /* list, keyed by fingerprint: "SHA256:fp type [options] [comment]" */
	UA__MAX,
};

enum group_attr {
	GA_GID,
	GA_MEMBERS,        /* list of user names */
	GA_ADMINISTRATORS, /* list of user names (gshadow) */
	GA__MAX,
};

enum service_attr {
	SA_UNIT_FILE,  /* path of the unit file in force, "/dev/null" when masked */
	SA_HASH,       /* "sha256:hex" of the unit file's content */
	SA_ENABLED,    /* as systemctl is-enabled says: enabled, enabled-runtime, disabled,
	                * static, indirect, masked, masked-runtime, alias, linked,
	                * linked-runtime, generated, transient, bad */
	SA_DROPINS,    /* list, keyed by path: "PATH sha256:hex" */
	SA_ACTIVE,     /* "ActiveState/SubState", only when a running systemd was asked */
	SA_EXEC_START, /* ordered list: the effective ExecStart= values after drop-ins */
	SA_SCHEDULE,   /* list: a timer's On*= settings after drop-ins, "OnCalendar=daily" */
	SA_ALIASES,    /* list: other names this unit is reachable by (symlinks) */
	SA_WANTED_BY,  /* list: "TARGET.wants" / .requires / .upholds dirs that link this unit,
	                * from any unit dir (vendor links too) */
	SA__MAX,
};

enum sudoers_attr {
	SUA_RULES,   /* list: normalised rules or Defaults entries */
	SUA_MEMBERS, /* list: members of an alias */
	SUA_FILES,   /* list: files that contributed */
	SUA__MAX,
};

enum cron_attr {
	CA_JOBS,     /* list: normalised "SCHEDULE [USER] COMMAND" lines */
	CA_ENV,      /* list: "NAME=value" assignments */
	CA_USER,     /* owner of a per-user crontab */
	CA_HASH,     /* "sha256:hex" of a run-parts script */
	CA_MODE,     /* "0755" of a run-parts script (only executables run) */
	CA_SCHEDULE, /* "hourly", "daily", ... for run-parts scripts */
	CA__MAX,
};

enum package_attr {
	PA_VERSION,      /* "[EPOCH:]UPSTREAM[-REVISION]" as the dpkg database says */
	PA_STATUS,       /* "WANT FLAG STATE": "install ok installed", "hold ok installed" */
	PA_ARCHITECTURE, /* "amd64", "all" */
	PA_CONFFILES,    /* list, keyed by path: "PATH MD5 [obsolete] [remove-on-upgrade]" */
	PA_SOURCE,       /* the source package, "NAME [(VERSION)]", when it differs */
	PA_MULTI_ARCH,   /* "same", "foreign", "allowed" */
	PA__MAX,
};

/* Attribute flags (attr_flags). */
enum {
	AF_LIST = 1u << 0,    /* value = elements joined by '\n' */
	AF_ORDERED = 1u << 1, /* list order is meaningful: not sorted */
	AF_KEYED = 1u << 2,   /* elements are identified by their first word */
	AF_SECRET = 1u << 3,  /* derived from a secret: value printed as its state only */
};

#define ATTR_KIND_MAX 16 /* most attributes any kind other than file has */

typedef uint32_t attrset_t;

#define ATTR_BIT(a)    ((attrset_t)1u << (a))
#define ATTRS_ALL_FILE (ATTR_BIT(ATTR__FILE_MAX) - 1)

/* Number of attributes of KIND. */
unsigned attr_count(enum fim_kind kind);

/* AF_* flags of ATTR of KIND (0 for files). */
unsigned attr_flags(enum fim_kind kind, unsigned attr);

/* Every attribute of KIND. */
attrset_t attr_all(enum fim_kind kind);

/* The kind's name as in the policy keyword's singular and JSON fim.object:
 * "file", "user", "group", "service", "sudoers", "cron", "package". NULL if out of range. */
const char *kind_name(enum fim_kind kind);
/* Policy keyword and store database: "files", "users", "groups", "services",
 * "sudoers", "cron", "packages". NULL if out of range. */
const char *kind_plural(enum fim_kind kind);
/* Kind for a policy keyword (plural) NAME[0..len), or -ENOENT. */
int kind_lookup(const char *name, size_t len);

/* Name of an attribute of KIND ("mode"), or NULL if out of range. */
const char *attr_name(enum fim_kind kind, unsigned attr);

/* Attribute number for NAME[0..len) in KIND, or -ENOENT. */
int attr_lookup(enum fim_kind kind, const char *name, size_t len);

/* Writes "type mode uid" style text for SET into buf (always NUL-terminated). */
void attr_format_set(enum fim_kind kind, attrset_t set, char *buf, size_t size);
