/* SPDX-License-Identifier: ISC */
/* A one-line progress display on stderr for long scans (terminals only). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool on;
	const char *what;
	double t0, last;
	uint64_t files, bytes;
	uint64_t total_files, total_bytes; /* an estimate (the last baseline), 0 = unknown */
};

/* ON: whether to draw at all (stderr is a terminal and not --quiet). */
void progress_init(struct progress *p, const char *what, bool on, uint64_t total_files,
                   uint64_t total_bytes);
/* Counts one object of BYTES hashed bytes; redraws a few times a second. */
void progress_add(struct progress *p, uint64_t bytes);
/* Erases the line. */
void progress_end(struct progress *p);

/* Reads "files=N" and "bytes=N" from a stats text of LEN bytes. */
void progress_parse_stats(const void *stats, size_t len, uint64_t *files, uint64_t *bytes);
