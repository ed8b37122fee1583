/* SPDX-License-Identifier: ISC */
/* Users and groups (passwd, shadow, group, gshadow) and users' SSH keys: the buffer-level parsers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "fim/core/record.h"
#include "baseline/collect.h"

#define ACCOUNTS_MAX_LINE     65536       /* longest sshd_config line */
#define ACCOUNTS_MAX_ENTRY    (4u << 20)  /* bytes of an account-file line interpreted */
#define ACCOUNTS_MAX_TEXT     (32u << 20) /* bytes of entries kept from one account file */
#define ACCOUNTS_MAX_ENTRIES  100000      /* most lines (entries) read from one account file */
#define ACCOUNTS_MAX_MEMBERS  1000000     /* most memberships listed in /etc/group */
#define ACCOUNTS_MAX_KEY_LINE 32768       /* longest authorized_keys line */
#define ACCOUNTS_MAX_KEYS     10000       /* most keys in one authorized_keys file */
#define ACCOUNTS_MAX_KEYFILES 32          /* most AuthorizedKeysFile paths */
#define ACCOUNTS_MAX_INCLUDES 256         /* most files one sshd_config pulls in */
#define ACCOUNTS_MAX_DEPTH    16          /* Include nesting in sshd_config (as sshd) */

/* The text of one account file; PATH is as inside the root. P is NULL when
 * the file is absent (ERR 0 or -ENOENT) or could not be read (ERR another
 * negative errno, already reported by the reader): what it would have told
 * is then unknown, not empty. */
struct accounts_text {
	const char *path;
	const char *p;
	size_t n;
	int err;
};

/*
 * Where sshd looks for users' keys: the global AuthorizedKeysFile paths,
 * with their %h, %u, %U and %% tokens unexpanded. n == 0 after "none".
 * Built by accounts_keycfg_*; free with accounts_keycfg_free.
 */
struct accounts_keycfg {
	char *file[ACCOUNTS_MAX_KEYFILES];
	unsigned n;
	bool set;       /* an AuthorizedKeysFile line was seen (else the default applies) */
	bool stop;      /* the global section ended (Match) or the value was found */
	unsigned files; /* configuration files read, bounded by ACCOUNTS_MAX_INCLUDES */
};

/* Frees the paths of CFG and empties it (CFG itself is not freed). */
void accounts_keycfg_free(struct accounts_keycfg *cfg);

/*
 * Fills CFG from /etc/ssh/sshd_config under ctx->rootfd, following its
 * Include lines (relative to /etc/ssh, globs in the last component, in
 * sorted order) until the first Match line; without an AuthorizedKeysFile
 * the default ".ssh/authorized_keys .ssh/authorized_keys2" is used.
 * Problems go to ctx. Returns 0 or -ENOMEM.
 */
int accounts_keycfg_load(const struct collect_ctx *ctx, struct accounts_keycfg *cfg);

/*
 * Parses one sshd_config text BUF[0..len) named PATH into CFG (Include
 * lines are read under ctx->rootfd). Does not apply the default. Returns
 * 0 or -ENOMEM.
 */
int accounts_keycfg_parse(const struct collect_ctx *ctx, const char *path, const char *buf,
                          size_t len, struct accounts_keycfg *cfg);

/*
 * Appends one element per key line of the authorized_keys text
 * BUF[0..len) (named PATH for problems) to LIST, elements joined by '\n':
 * "SHA256:<fp> <type>[ options=<options>][ comment=<comment>]". Lines that
 * are not keys are reported and skipped. Returns 0, -ENOMEM, or -E2BIG
 * (more than ACCOUNTS_MAX_KEYS keys, or LIST would exceed OBJ_MAX_VALUE;
 * reported): LIST is then incomplete and must not be recorded.
 */
int accounts_parse_keys(const struct collect_ctx *ctx, const char *path, const char *buf,
                        size_t len, struct buf *list);

/*
 * Builds the users of PASSWD into OUT (an empty KIND_USER set, sorted on
 * return): passwords from PASSWD or SHADOW, supplementary groups from
 * GROUP (absent when GROUP->p is NULL; GROUP's malformed lines are left
 * for the group collector to report), authorized keys read under
 * ctx->rootfd through KEYS (absent when KEYS is NULL). The texts are not
 * modified; the caller wipes them. Returns 0 or -ENOMEM.
 */
int accounts_parse_users(const struct collect_ctx *ctx, const struct accounts_text *passwd,
                         const struct accounts_text *shadow, const struct accounts_text *group,
                         const struct accounts_keycfg *keys, struct obj_set *out);

/*
 * Builds the groups of GROUP into OUT (an empty KIND_GROUP set, sorted on
 * return), administrators from GSHADOW. Returns 0 or -ENOMEM.
 */
int accounts_parse_groups(const struct collect_ctx *ctx, const struct accounts_text *group,
                          const struct accounts_text *gshadow, struct obj_set *out);
