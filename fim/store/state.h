/* SPDX-License-Identifier: ISC */
/* The watcher's own small store: journal cursor and paths still to rescan, beside the baselines. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * DIR/state/ (created 0700; data.mdb 0600) is an LMDB environment of its
 * own: baselines are immutable once current, while this changes as the
 * daemon runs, survives new baselines and accepts, and is not part of any
 * signed digest. Named databases: "meta" ("cursor" -> the journal cursor
 * text) and "rescan" (key = SHA-256 of the path, value = the path inside
 * the root). Every change is one committed, synced transaction.
 *
 * One daemon at a time: state_open takes an exclusive flock on DIR/state
 * that lasts until state_close.
 */

struct state;

/* Opens (creating) the state of the db directory DIR. Returns 0, -EBUSY
 * when another process holds it, -EBADMSG when its data file is damaged
 * (checked before LMDB maps it), or a negative errno. */
int state_open(const char *dir, struct state **ret);
void state_close(struct state *st);

/* The journal cursor (malloc'd, the caller frees it). Returns 0, -ENOENT
 * when none was saved, or a negative errno. */
int state_cursor(struct state *st, char **ret);
/* Saves CURSOR. Returns 0 or a negative errno. */
int state_set_cursor(struct state *st, const char *cursor);

/* Marks the daemon running (RUNNING) or stopped cleanly; state_was_running
 * says whether the last one did not stop cleanly. Return 0 or a negative
 * errno; state_was_running false when unknown. */
int state_set_running(struct state *st, bool running);
bool state_was_running(struct state *st);

/* Adds or removes PATH[0..len) from the set of paths to rescan (removing
 * an absent one is not an error). Return 0 or a negative errno. */
int state_rescan_add(struct state *st, const char *path, size_t len);
int state_rescan_del(struct state *st, const char *path, size_t len);

/* The paths to rescan: a malloc'd array of *ret_n malloc'd strings (free
 * each, then the array). Returns 0 or a negative errno. */
int state_rescan_list(struct state *st, char ***ret, size_t *ret_n);
