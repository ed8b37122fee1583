/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/watch/watch_hash.c: the daemon's hash worker - results, merging, its bound,
 * stopping. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fim/watch/watch.h"

#define FSIZE (2u << 20)

struct fixture {
	char dir[4096];
	int dirfd;
	uint8_t digest[32];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	uint8_t *data = malloc(FSIZE);
	int fd;

	assert_non_null(f);
	assert_non_null(data);
	snprintf(f->dir, sizeof(f->dir), "%s/fim-whash-XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	for (size_t i = 0; i < FSIZE; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	fd = openat(f->dirfd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, FSIZE), FSIZE);
	close(fd);
	assert_int_equal(hash_buffer(HASH_SHA256, data, FSIZE, f->digest), 0);
	free(data);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlinkat(f->dirfd, "f", 0);
	close(f->dirfd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int submit(struct whash *h, struct fixture *f, const char *path)
{
	struct stat st;
	int pin = files_pin(f->dirfd, "f");

	assert_true(pin >= 0);
	assert_int_equal(fstat(pin, &st), 0);
	return whash_submit(h, path, strlen(path), pin, &st,
	                    ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_HASH), HASH_SHA256, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A job comes back with the record files_collect makes. */
static void test_result(void **state)
{
	struct fixture *f = *state;
	struct whash *h = NULL;
	struct whash_job *j;
	struct pollfd p;

	assert_int_equal(whash_open(HASH_SHA256, 0, &h), 0);
	assert_int_equal(submit(h, f, "/d/f"), 0);
	p = (struct pollfd){.fd = whash_fd(h), .events = POLLIN};
	assert_int_equal(poll(&p, 1, 60000), 1);
	j = whash_take(h);
	assert_non_null(j);
	assert_string_equal(j->path, "/d/f");
	assert_int_equal(j->err, 0);
	assert_int_equal(j->rec.hash_algo, HASH_SHA256);
	assert_memory_equal(j->rec.hash, f->digest, 32);
	assert_int_equal(j->rec.size, FSIZE);
	assert_false(j->again);
	assert_null(whash_take(h));
	assert_int_equal(whash_count(h), 0);
	whash_job_free(j);
	whash_close(h);
}

/* The same path twice is one job; past WATCH_MAX_HASHING, -EBUSY (the pin
 * closed all the same); a stop ends a read in progress at once. */
static void test_bound_and_stop(void **state)
{
	struct fixture *f = *state;
	struct whash *h = NULL;
	char path[32];
	struct stat st;
	double t0;
	int pin;

	/* each chunk waits a minute: the first job stays in its read */
	assert_int_equal(whash_open(HASH_SHA256, 60000, &h), 0);
	assert_int_equal(submit(h, f, "/d/f"), 0);
	assert_int_equal(submit(h, f, "/d/f"), 1);
	for (int i = 1; i < WATCH_MAX_HASHING; i++) {
		snprintf(path, sizeof(path), "/d/f%d", i);
		assert_int_equal(submit(h, f, path), 0);
	}
	assert_int_equal(whash_count(h), WATCH_MAX_HASHING);
	pin = files_pin(f->dirfd, "f");
	assert_int_equal(fstat(pin, &st), 0);
	assert_int_equal(
	        whash_submit(h, "/d/more", 7, pin, &st, ATTR_BIT(ATTR_HASH), HASH_SHA256, NULL),
	        -EBUSY);
	assert_int_equal(fcntl(pin, F_GETFD), -1); /* taken over and closed */
	t0 = now_s();
	whash_close(h);
	assert_true(now_s() - t0 < 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_result, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bound_and_stop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
