/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/maphash.c: digests through mappings, cached and cold windows. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "baseline/maphash.h"

#define SIZE ((size_t)19 << 20) /* three windows, the last one partial */

static char path[4200];
static uint8_t *content;

/* Pages of FD in the page cache, counted with mincore on a fresh mapping. */
static size_t cached_pages(int fd)
{
	size_t pages = (SIZE + 4095) / 4096, n = 0;
	unsigned char *vec = malloc(pages);
	void *map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);

	assert_non_null(vec);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mincore(map, SIZE, vec), 0);
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	munmap(map, SIZE);
	free(vec);
	return n;
}

/* Drops FD from the page cache; false where the file system keeps it (tmpfs). */
static bool drop(int fd)
{
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	return cached_pages(fd) == 0;
}

static int setup(void **state)
{
	int fd;

	(void)state;
	/* Next to the test binary, in the build tree: not /tmp, which may be
	 * a tmpfs that cannot drop its pages. */
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	assert_true(n > 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	assert_non_null(slash);
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/fim-test-maphash-%ld", exe, (long)getpid());
	content = malloc(SIZE);
	assert_non_null(content);
	for (size_t i = 0; i < SIZE; i++)
		content[i] = (uint8_t)(i * 2654435761u >> 13);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, SIZE), (ssize_t)SIZE);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	free(content);
	return 0;
}

static void digest_mapped(int fd, bool drop_cold, uint8_t *out)
{
	struct hash_ctx *h = hash_new(HASH_SHA256);

	assert_non_null(h);
	assert_int_equal(hash_init(h), 0);
	/* Two ranges, the second starting inside a page, as a growing file's
	 * prefix check does. */
	assert_int_equal(maphash_range(h, fd, 0, 5000, drop_cold), 0);
	assert_int_equal(maphash_range(h, fd, 5000, SIZE - 5000, drop_cold), 0);
	assert_int_equal(hash_final(h, out), 0);
	hash_free(h);
}

/* A cached file is hashed right and stays cached. */
static void test_cached_kept(void **state)
{
	uint8_t want[HASH_MAX_DIGEST], got[HASH_MAX_DIGEST];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(hash_buffer(HASH_SHA256, content, SIZE, want), 0);
	assert_int_equal(pread(fd, content, SIZE, 0), (ssize_t)SIZE); /* cache it */
	assert_true(maphash_cached(fd, SIZE));
	digest_mapped(fd, true, got);
	assert_memory_equal(got, want, 32);
	assert_int_equal(cached_pages(fd), (SIZE + 4095) / 4096);
	close(fd);
}

/* A cold file is seen as cold, hashed right, and its pages dropped again. */
static void test_cold_dropped(void **state)
{
	uint8_t want[HASH_MAX_DIGEST], got[HASH_MAX_DIGEST];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	if (!drop(fd)) {
		close(fd);
		skip();
	}
	assert_false(maphash_cached(fd, SIZE));
	assert_int_equal(hash_buffer(HASH_SHA256, content, SIZE, want), 0);
	digest_mapped(fd, true, got);
	assert_memory_equal(got, want, 32);
	assert_int_equal(cached_pages(fd), 0);
	/* With --keep-cache, what was read stays. */
	digest_mapped(fd, false, got);
	assert_memory_equal(got, want, 32);
	assert_int_equal(cached_pages(fd), (SIZE + 4095) / 4096);
	close(fd);
}

/* Only the start decides: a file whose first window is cached counts as
 * cached, one whose first window is not does not. */
static void test_first_window(void **state)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t b[4096];

	(void)state;
	assert_true(fd >= 0);
	if (!drop(fd)) {
		close(fd);
		skip();
	}
	assert_int_equal(pread(fd, b, sizeof(b), SIZE - sizeof(b)), (ssize_t)sizeof(b));
	assert_false(maphash_cached(fd, SIZE));
	for (size_t off = 0; off < (8u << 20); off += sizeof(b))
		assert_int_equal(pread(fd, b, sizeof(b), (off_t)off), (ssize_t)sizeof(b));
	assert_true(maphash_cached(fd, SIZE));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cached_kept),
	        cmocka_unit_test(test_cold_dropped),
	        cmocka_unit_test(test_first_window),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
