/* SPDX-License-Identifier: ISC */
/* Sparse-aware digests: the extent map and the data extents, never the holes. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fim/core/common.h"
#include "fim/core/endian.h"
#include "baseline/sparse.h"

int sparse_probe(int fd, const struct stat *st)
{
	off_t hole;

	if (!S_ISREG(st->st_mode) || st->st_size <= 0 ||
	    (uint64_t)st->st_blocks * 512 >= (uint64_t)st->st_size)
		return 0;
	hole = lseek(fd, 0, SEEK_HOLE);
	if (hole < 0)
		return errno == ENXIO ? -EAGAIN : (errno == EINVAL ? 0 : -errno);
	return hole < st->st_size;
}

static int put_mark(struct hash_ctx *h, char tag, uint64_t a, uint64_t b, bool two)
{
	uint8_t m[17];

	m[0] = (uint8_t)tag;
	put_be64(m + 1, a);
	put_be64(m + 9, b);
	return hash_update(h, m, two ? 17 : 9);
}

/* Feeds bytes [OFF, END) of FD into s->hash. */
static int feed_range(struct files_scratch *s, int fd, uint64_t off, uint64_t end)
{
	while (off < end) {
		size_t want = end - off < s->io_size ? (size_t)(end - off) : s->io_size;
		ssize_t n;
		int r;

		if (s->tick && (r = s->tick(s->tick_ctx)) < 0)
			return r;
		do
			n = pread(fd, s->io, want, (off_t)off);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EAGAIN; /* shorter than its extents said */
		r = hash_update(s->hash, s->io, (size_t)n);
		if (r < 0)
			return r;
		off += (uint64_t)n;
	}
	return 0;
}

/* The sparse digest of the first LIMIT bytes (see sparse_hash). */
static int digest_upto(struct files_scratch *s, int fd, uint64_t limit, uint8_t *digest)
{
	uint64_t off = 0;
	int r = hash_init(s->hash);

	while (r == 0 && off < limit) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole from here to the end */
		if (data < 0)
			return -errno;
		if ((uint64_t)data >= limit)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return errno == ENXIO ? -EAGAIN : -errno;
		if (hole <= data)
			return -EAGAIN;
		uint64_t end = (uint64_t)hole < limit ? (uint64_t)hole : limit;
		r = put_mark(s->hash, 'D', (uint64_t)data, end - (uint64_t)data, true);
		if (r == 0)
			r = feed_range(s, fd, (uint64_t)data, end);
		off = end;
	}
	if (r == 0)
		r = put_mark(s->hash, 'E', limit, 0, false);
	return r < 0 ? r : hash_final(s->hash, digest);
}

int sparse_hash(struct files_scratch *s, int fd, uint64_t size, struct files_prefix *prefix,
                uint8_t *digest)
{
	const struct file_rec *base = prefix ? prefix->base : NULL;
	uint8_t peek[HASH_MAX_DIGEST];
	int r;

	if (prefix)
		prefix->same = false;
	/* The prefix costs a second pass over its data: at most twice the
	 * bytes stored, whatever the holes. */
	if (base && (base->attrs & ATTR_BIT(ATTR_HASH)) &&
	    base->hash_algo == hash_sparse(s->algo) && base->size <= size) {
		r = digest_upto(s, fd, base->size, peek);
		if (r < 0)
			return r;
		prefix->same = memcmp(peek, base->hash, hash_len(s->algo)) == 0;
	}
	return digest_upto(s, fd, size, digest);
}
