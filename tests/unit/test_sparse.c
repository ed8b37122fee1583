/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/sparse.c and the sparse hash names: the encoding, prefixes, stops. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "baseline/sparse.h"
#include "fim/core/endian.h"

#define SIZE ((uint64_t)64 << 30) /* 64 GiB, nothing of it stored but one block */
#define AT   ((uint64_t)1 << 20)

static int tmp_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/fim-sparse-XXXXXX", dir ? dir : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static void test_names(void **state)
{
	assert_string_equal(hash_name(HASH_SHA256_SPARSE), "sha256-sparse");
	assert_string_equal(hash_name(HASH_SHA512_SPARSE), "sha512-sparse");
	assert_string_equal(hash_name(HASH_BLAKE2B_SPARSE), "blake2b-sparse");
	assert_int_equal(hash_sparse(HASH_SHA256), HASH_SHA256_SPARSE);
	assert_int_equal(hash_sparse(HASH_SHA512), HASH_SHA512_SPARSE);
	assert_int_equal(hash_sparse(HASH_BLAKE2B), HASH_BLAKE2B_SPARSE);
	assert_int_equal(hash_sparse(HASH_SHA256_SPARSE), HASH_NONE);
	assert_int_equal(hash_len(HASH_SHA256_SPARSE), 32);
	assert_int_equal(hash_len(HASH_BLAKE2B_SPARSE), 64);
	/* a policy names the function, never the sparse form */
	assert_int_equal(hash_lookup("sha256-sparse"), HASH_NONE);
}

/* A file of SIZE bytes holding "abc" at AT; its one data extent is the
 * block around it. */
static int sparse_file(struct stat *st)
{
	int fd = tmp_file();

	assert_int_equal(ftruncate(fd, (off_t)SIZE), 0);
	assert_int_equal(pwrite(fd, "abc", 3, (off_t)AT), 3);
	assert_int_equal(fstat(fd, st), 0);
	return fd;
}

/* The digest by its definition, for one data extent [AT, AT+blk). */
static void expected(enum hash_algo a, uint64_t blk, uint64_t size, uint8_t *out)
{
	size_t n = 17 + blk + 9;
	uint8_t *b = calloc(1, n);

	assert_non_null(b);
	b[0] = 'D';
	put_be64(b + 1, AT);
	put_be64(b + 9, blk);
	memcpy(b + 17, "abc", 3);
	b[17 + blk] = 'E';
	put_be64(b + 17 + blk + 1, size);
	assert_int_equal(hash_buffer(a, b, n, out), 0);
	free(b);
}

static void test_digest(void **state)
{
	struct files_scratch s;
	struct stat st;
	uint8_t got[HASH_MAX_DIGEST], want[HASH_MAX_DIGEST];
	int fd = sparse_file(&st);
	off_t data = lseek(fd, 0, SEEK_DATA), hole = lseek(fd, data, SEEK_HOLE);

	if ((uint64_t)data != AT) /* the extent is the block around it */
		assert_true((uint64_t)data < AT && AT - (uint64_t)data < 65536);
	assert_int_equal(sparse_probe(fd, &st), 1);
	assert_int_equal(files_scratch_init(&s, HASH_SHA256), 0);
	assert_int_equal(sparse_hash(&s, fd, SIZE, NULL, got), 0);
	if ((uint64_t)data == AT) {
		expected(HASH_SHA256, (uint64_t)(hole - data), SIZE, want);
		assert_memory_equal(got, want, 32);
	}
	/* one byte more in a hole far away is another digest */
	assert_int_equal(pwrite(fd, "x", 1, (off_t)(SIZE / 2)), 1);
	assert_int_equal(sparse_hash(&s, fd, SIZE, NULL, want), 0);
	assert_memory_not_equal(got, want, 32);
	files_scratch_free(&s);
	close(fd);
}

static void test_plain_file_not_sparse(void **state)
{
	struct stat st;
	char buf[8192];
	int fd = tmp_file();

	memset(buf, 'p', sizeof(buf));
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(sparse_probe(fd, &st), 0);
	close(fd);
}

/* A growing sparse file: the prefix it had still gives its digest. */
static void test_prefix(void **state)
{
	struct files_scratch s;
	struct file_rec base = {.attrs = ATTR_BIT(ATTR_HASH), .hash_algo = HASH_SHA256_SPARSE};
	struct files_prefix prefix = {.base = &base};
	struct stat st;
	uint8_t d[HASH_MAX_DIGEST];
	int fd = sparse_file(&st);

	assert_int_equal(files_scratch_init(&s, HASH_SHA256), 0);
	assert_int_equal(sparse_hash(&s, fd, SIZE, NULL, base.hash), 0);
	base.size = SIZE;
	assert_int_equal(pwrite(fd, "more", 4, (off_t)SIZE), 4);
	assert_int_equal(sparse_hash(&s, fd, SIZE + 4, &prefix, d), 0);
	assert_true(prefix.same);
	assert_memory_not_equal(d, base.hash, 32);
	/* a change inside the prefix is seen */
	assert_int_equal(pwrite(fd, "z", 1, (off_t)(AT + 1)), 1);
	assert_int_equal(sparse_hash(&s, fd, SIZE + 4, &prefix, d), 0);
	assert_false(prefix.same);
	files_scratch_free(&s);
	close(fd);
}

static int stop_tick(void *ctx)
{
	int *calls = ctx;

	return ++*calls > 1 ? -ECANCELED : 0;
}

/* A stop asked between chunks ends the read at the next chunk. */
static void test_tick_stops(void **state)
{
	struct files_scratch s;
	struct stat st;
	uint8_t d[HASH_MAX_DIGEST];
	int calls = 0, fd = tmp_file();
	char *buf = calloc(1, 4 << 20);

	assert_non_null(buf);
	memset(buf, 'q', 4 << 20);
	assert_int_equal(pwrite(fd, buf, 4 << 20, (off_t)SIZE - (4 << 20)), 4 << 20);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(sparse_probe(fd, &st), 1);
	assert_int_equal(files_scratch_init(&s, HASH_SHA256), 0);
	s.tick = stop_tick;
	s.tick_ctx = &calls;
	assert_int_equal(sparse_hash(&s, fd, SIZE, NULL, d), -ECANCELED);
	assert_int_equal(calls, 2);
	files_scratch_free(&s);
	free(buf);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_digest),
	        cmocka_unit_test(test_plain_file_not_sparse),
	        cmocka_unit_test(test_prefix),
	        cmocka_unit_test(test_tick_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
