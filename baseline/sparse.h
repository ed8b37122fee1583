/* SPDX-License-Identifier: ISC */
/* Sparse-aware digests: a file with holes costs the bytes it really stores. */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#include "baseline/files.h"

/*
 * Whether regular file FD, whose fstat is *ST, gets the sparse digest: its
 * allocated blocks cover less than its size and the file system reports a
 * hole before the end (SEEK_HOLE). Returns 1, 0 (the plain digest: no
 * hole, or a file system that does not report holes), or a negative errno.
 */
int sparse_probe(int fd, const struct stat *st);

/*
 * The sparse digest of the first SIZE bytes of FD with the function of
 * s->algo: over each data extent (SEEK_DATA/SEEK_HOLE) in order, the
 * byte 'D', its offset and length (8 bytes big-endian each) and its bytes;
 * then 'E' and SIZE. Holes cost nothing; the data extents are read with
 * s->io (s->tick called per chunk). For a growing file (PREFIX with a base
 * whose digest is sparse too), PREFIX->same tells whether the first
 * base->size bytes still give the base digest. Writes hash_len() bytes to
 * DIGEST. Returns 0, -EAGAIN when the file shrank or its extents moved
 * while read, or another negative errno.
 */
int sparse_hash(struct files_scratch *s, int fd, uint64_t size, struct files_prefix *prefix,
                uint8_t *digest);
