/* SPDX-License-Identifier: ISC */
/* What the sudoers collector's files share: the objects gathered from the files parsed. */
#pragma once

#include <stdint.h>

#include "baseline/sudoers.h"

/* --- gathered objects --- */

struct sobj {
	char *id;
	size_t idn;
	struct buf list[2]; /* SUA_RULES, SUA_MEMBERS: elements joined by '\n' */
	uint32_t *files;    /* generations (parsed files) that contributed */
	size_t nfiles, capfiles;
	uint32_t last_gen;  /* generation of files[nfiles - 1] */
	uint32_t where_gen; /* where the object first appeared, for problems */
	unsigned where_line;
};

struct sudoers {
	struct sobj *v;
	size_t n, cap;
	uint32_t *table; /* open addressing: index + 1, 0 = free */
	size_t tcap;
	char **paths; /* generation -> path of the file parsed */
	size_t npaths, cappaths;
	size_t nelems, nbytes;
	bool limit_reported;
};

/* Index of object ID[0..n) in *RET; created when missing, as first seen on line LINE of file
 * GEN. Returns 0, -ENOMEM or -E2BIG (SUDOERS_MAX_OBJECTS reached). */
int sudoers_obj_get(struct sudoers *s, const char *id, size_t n, uint32_t gen, unsigned line,
                    size_t *ret);

/* Appends element EL[0..n) to list ATTR (SUA_RULES or SUA_MEMBERS) of object I, from file GEN.
 * Returns 0 or -ENOMEM. */
int sudoers_obj_add(struct sudoers *s, size_t i, unsigned attr, const char *el, size_t n,
                    uint32_t gen);
