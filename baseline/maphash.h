/* SPDX-License-Identifier: ISC */
/* Hashing large files straight from the page cache through mmap. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fim/core/hash.h"

/*
 * Feeds bytes [OFF, OFF+LEN) of regular file FD into H through read-only
 * mappings, which spares the copy a read() makes. With DROP_COLD, windows
 * that were not all in the page cache are dropped from it afterwards (a
 * window's state is taken before read-ahead for the one before it can
 * bring it in).
 * A file truncated meanwhile raises SIGBUS, which is caught here. Returns
 * 0, -EAGAIN when the file shrank under us (H is then spoilt), or the
 * mmap error (H untouched: the caller reads the file instead).
 */
int maphash_range(struct hash_ctx *h, int fd, uint64_t off, uint64_t len, bool drop_cold);

/* True if the start of FD (up to LEN bytes, one window) is all in the page
 * cache: mapping pays off for cached data; cold data reads faster with
 * read(2) and the kernel's readahead. Asks cachestat(2), or mincore(2) on
 * kernels before 6.5. */
bool maphash_cached(int fd, uint64_t len);
