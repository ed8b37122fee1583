/* SPDX-License-Identifier: ISC */
/* The sudoers(5) parser: rules, Defaults and aliases gathered across files into records. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "baseline/collect.h"

/* Bounds on what sudoers text can make fim read or allocate. */
#define SUDOERS_MAX_DEPTH    8           /* levels of @include below /etc/sudoers */
#define SUDOERS_MAX_FILES    1024        /* files read in one collection */
#define SUDOERS_MAX_INPUT    (64u << 20) /* bytes read in one collection */
#define SUDOERS_MAX_LINE     65536       /* bytes of one logical line (continuations joined) */
#define SUDOERS_MAX_PER_LINE 65536   /* entries (user x host spec, members, settings) of one line */
#define SUDOERS_MAX_OBJECTS  100000  /* distinct ids */
#define SUDOERS_MAX_ELEMENTS 1000000 /* list elements over all objects */
#define SUDOERS_MAX_BYTES    (64u << 20) /* bytes of those elements */

/* Objects gathered from one or more sudoers files. */
struct sudoers;

/* Returns 0 or -ENOMEM. */
int sudoers_new(struct sudoers **ret);
void sudoers_free(struct sudoers *s);

/*
 * Called by sudoers_parse for an @include (DIR false) or @includedir (DIR
 * true) directive at LINE of the file being parsed. PATH is as inside the
 * root, a relative one already joined to the including file's directory.
 * Returns 0, or a negative errno that aborts the parse (-ENOMEM).
 */
typedef int (*sudoers_include_fn)(void *userdata, const char *path, bool dir, unsigned line);

/*
 * Parses TEXT[0..len) (any bytes), the content of the sudoers file PATH
 * (as inside the root, used in problems and in the objects' files list),
 * into S. Malformed lines go to ctx->problem (-EBADMSG, with their first
 * physical line) and are skipped; include directives go to INCLUDE (may be
 * NULL: ignored) in the order they appear. ctx->rootfd is not used.
 * Returns 0, or -ENOMEM (or INCLUDE's error), after which S still holds
 * what was gathered before.
 */
int sudoers_parse(struct sudoers *s, const struct collect_ctx *ctx, const char *path,
                  const char *text, size_t len, sudoers_include_fn include, void *userdata);

/*
 * Adds one record per gathered id to OUT (a KIND_SUDOERS set; not sorted
 * here): user specifications and Defaults with `rules`, aliases with
 * `members`, all with `files`. A list that would exceed OBJ_MAX_VALUE is
 * cut and reported. Returns 0 or -ENOMEM.
 */
int sudoers_emit(const struct sudoers *s, const struct collect_ctx *ctx, struct obj_set *out);
