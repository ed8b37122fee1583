/* SPDX-License-Identifier: ISC */
/* Collectors of OS objects: each turns files under --root into a sorted set of records. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fim/core/object.h"

#define COLLECT_KEY_BYTES 32 /* key of the password digest */

/*
 * What every collector gets. Paths handed to problem() are as seen inside
 * the root ("/etc/passwd"); LINE is 1-based, 0 when the problem concerns
 * the whole file. ERR is a negative errno when something could not be
 * read (-ENOENT is not a problem for optional files and is not reported),
 * or -EBADMSG for a malformed line that was skipped; MSG says what was
 * wrong in words and never quotes secret content.
 */
struct collect_ctx {
	int rootfd;                /* directory fd of --root ("/" by default) */
	bool live;                 /* the root is the running system: systemd may be asked */
	const uint8_t *secret_key; /* COLLECT_KEY_BYTES; keys the password digest */
	void (*problem)(void *userdata, const char *path, unsigned line, int err, const char *msg);
	void *userdata;
};

/*
 * Each fills OUT (an empty set of its kind, sorted on return with
 * obj_set_sort) from the files under the root and returns 0, or a
 * negative errno only when nothing sensible could be collected at all
 * (-ENOMEM). Unreadable files and malformed lines go to ctx->problem and
 * the rest is still collected.
 */
int collect_users(const struct collect_ctx *ctx, struct obj_set *out);
int collect_groups(const struct collect_ctx *ctx, struct obj_set *out);
int collect_services(const struct collect_ctx *ctx, struct obj_set *out);
int collect_sudoers(const struct collect_ctx *ctx, struct obj_set *out);
int collect_cron(const struct collect_ctx *ctx, struct obj_set *out);
int collect_packages(const struct collect_ctx *ctx, struct obj_set *out);

/* The collector of KIND (not KIND_FILE), or NULL. */
typedef int (*collect_fn)(const struct collect_ctx *ctx, struct obj_set *out);
collect_fn collect_for(enum fim_kind kind);

/* Reports a problem through ctx (printf-style message). */
void collect_problem(const struct collect_ctx *ctx, const char *path, unsigned line, int err,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
