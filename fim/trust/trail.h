/* SPDX-License-Identifier: ISC */
/* The alert trail: a JSON Lines file whose lines are hash-chained, appended atomically. */
#pragma once

/*
 * Line N of a trail (N = 1, 2, ...) is the caller's JSON object with the
 * chain fields put first:
 *
 *   {"fim_chain":{"seq":N,"key_id":"none","hash":"<64 hex>"},"@timestamp":...}\n
 *
 * "key_id" is "none" for an unkeyed trail, or the 16 hex digits of the key's
 * id (BLAKE2b-64 keyed with the key over "fim trail key id") for a keyed
 * one. With REST = the bytes after the chain fields' "}," up to the line's
 * closing '}' (inclusive, the newline excluded):
 *
 *   hash_N = BLAKE2b-256[key](hash_{N-1} || N as 8 bytes big-endian || REST)
 *
 * with hash_0 = 32 zero bytes and [key] the trail key, if any. Verifying
 * reads the chain fields strictly and hashes REST as written (never
 * re-serialised), so the lines stay what a SIEM ingests.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TRAIL_KEY_BYTES 32
/* The longest trail line, chain fields and newline included. */
#define TRAIL_MAX_LINE (1u << 20)

struct trail;

/*
 * Opens (creating, mode 0600) the trail PATH for appending. KEY, when not
 * NULL, is TRAIL_KEY_BYTES that key the chain (so a line cannot be forged
 * without it). Returns 0 or a negative errno; -EBADMSG when the file's last
 * line is not a trail line (the chain cannot be continued), -EKEYREJECTED
 * when it was chained with another key (or none), -ELOOP for a symbolic
 * link, -EBADFD for something else that is not a regular file.
 */
int trail_open(const char *path, const uint8_t *key, struct trail **ret);

/*
 * Appends one event: LINE[0..n) is a complete JSON object with at least
 * one member, none of them named "fim_chain", and without a newline. The
 * chain fields are added, the line is written with one write(2) under an
 * exclusive flock (so concurrent writers - cron runs, the daemon -
 * interleave whole lines and keep one chain) and fsync'd. Returns
 * 0 or a negative errno; a failed append leaves the file as it was.
 * -EINVAL: LINE is not such an object; -EMSGSIZE: it is too long;
 * -EBADMSG: the file's last line is not a complete trail line;
 * -EKEYREJECTED: the last line was chained with another key (or with a
 * key where T has none, or the reverse).
 */
int trail_append(struct trail *t, const char *line, size_t n);

/* A stdio stream: every complete line written to it is trail_append'ed
 * (so a JSON report can write straight into the trail). Closing the
 * stream does not close T. Errors surface as stream errors (ferror). */
FILE *trail_stream(struct trail *t);

void trail_close(struct trail *t);

/*
 * Checks the chain of the trail PATH (KEY as for trail_open). Returns 0
 * when every line is intact (*ret_lines = number of lines), -EBADMSG when
 * not: *ret_bad is the first bad line (1-based) and WHY (SIZE bytes) says
 * what is wrong with it, one of "a line is missing before it", "out of
 * order or repeated", "edited or forged", "not a trail line", "incomplete
 * last line", "not keyed, but a key was given", "keyed, but no key was
 * given", "made with another key"; or another negative errno reading it
 * (-EBADFD: not a regular file). Lines cut from the end cannot be seen.
 */
int trail_verify(const char *path, const uint8_t *key, uint64_t *ret_lines, uint64_t *ret_bad,
                 char *why, size_t size);

/* trail_verify over the trail's bytes DATA[0..n) (for fuzzing and for
 * callers that already hold the file). */
int trail_verify_buf(const void *data, size_t n, const uint8_t *key, uint64_t *ret_lines,
                     uint64_t *ret_bad, char *why, size_t size);

/* Reads a trail key file: at least TRAIL_KEY_BYTES bytes, reduced to
 * TRAIL_KEY_BYTES by BLAKE2b. Returns 0, an open errno, -EINVAL (too
 * short), -EFBIG (over 64 KiB) or -EBADFD (not a regular file). */
int trail_load_key(const char *path, uint8_t key[TRAIL_KEY_BYTES]);

/* What a negative errno from trail_open, trail_append or trail_verify
 * means for a trail ("not a regular file", ...); strerror's text for the
 * rest. A static string. */
const char *trail_cause(int err);
