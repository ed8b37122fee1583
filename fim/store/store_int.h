/* SPDX-License-Identifier: ISC */
/* Inside the store: checks of a data file before LMDB maps it, and the guard around reads of the
 * map. */
#pragma once

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

/* Room mapped past the end of the data file: LMDB reading a damaged page
 * near the end lands here (a SIGBUS inside the map), not in other memory. */
#define STORE_MAP_PAD ((size_t)1 << 20)

/*
 * Checks data file FD of SIZE bytes the way LMDB will trust it, before it
 * is mapped: both meta pages (magic, version, page size, their own page
 * numbers), and for each the last page and the roots of the free and main
 * databases inside the file. Reads with pread only. Returns 0, -EBADMSG
 * (not a sound LMDB file), or a negative errno of the read.
 */
int store_file_validate(int fd, uint64_t size);

/* SHA-256 of the first SIZE bytes of FD (read with pread). Returns 0,
 * -EIO (short read: the file changed), or a negative errno. */
int store_file_digest(int fd, uint64_t size, uint8_t out[32]);

/*
 * The guard: while one is pushed on a thread, a SIGSEGV or SIGBUS on that
 * thread whose address is inside [lo, hi) (the map of the baseline being
 * read; with lo == hi, unknown: any SIGBUS with BUS_ADRERR), or that comes
 * from a wild pointer (an address mapped nowhere or
 * not canonical) returns through siglongjmp(jb, 1); so does an LMDB
 * assertion (store_guard_assert). Any other fault goes to the handler
 * that was there before (the default one: the process dies as it must).
 * Push before sigsetjmp, pop on both paths.
 */
struct store_guard {
	sigjmp_buf jb;
	uintptr_t lo, hi;
	struct store_guard *prev;
};
void store_guard_push(struct store_guard *g, uintptr_t lo, uintptr_t hi);
/* Installs the fault handler, in front of the one there now, unless it is
 * there already: called at each open, so that a handler installed since
 * (a test harness's) does not leave the guard without one. */
void store_guard_arm(void);
void store_guard_pop(struct store_guard *g);
/* For mdb_env_set_assert: a failed LMDB assertion under a guard jumps out
 * of it instead of aborting. */
void store_guard_assert(MDB_env *env, const char *msg);

/* Starts of the mappings of the file DEV:INO in this process, at most MAX
 * of them; returns how many (0 without /proc). */
size_t store_maps_of(uint64_t dev, uint64_t ino, uintptr_t *lo, uintptr_t *hi, size_t max);
