/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/pipeline.c: in-order completion and the fd table set up front. */
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

#include "baseline/pipeline.h"
#include "tests/unit/fixture.h"

/* The size of this process's fd table, from /proc/self/status. */
static long fd_table_size(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long n = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "FDSize: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

struct order {
	int next, bad;
	const uint8_t *want; /* digest every file must have, or NULL */
};

static int on_complete(void *ctx, struct pipe_slot *s)
{
	struct order *o = ctx;

	if (s->tag != o->next)
		o->bad++;
	o->next++;
	if (s->work && s->err == 0 && !(s->rec.attrs & ATTR_BIT(ATTR_HASH)))
		o->bad++;
	if (o->want && memcmp(s->rec.hash, o->want, 32) != 0)
		o->bad++;
	return 0;
}

/*
 * Once the workers share the fd table, every growth of it waits for an RCU
 * grace period and stalls all opens; the pipeline sizes it for its slots
 * before the first worker starts.
 */
static void test_fd_table_reserved(void **state)
{
	const size_t slots = 900;
	struct pipeline *p = NULL;
	struct order o = {0};

	(void)state;
	assert_true(fd_table_size() < (long)slots);
	assert_int_equal(pipeline_new(2, slots, HASH_SHA256, 0, on_complete, &o, &p), 0);
	assert_true(fd_table_size() >= (long)slots);
	pipeline_free(p);
}

/* Files hashed by the workers complete in submission order, digests set. */
static void test_order_kept(void **state)
{
	char dir[256];
	struct pipeline *p = NULL;
	struct order o = {0};
	const int n = 200;

	(void)state;
	assert_non_null(fx_tmpdir(dir, sizeof(dir), "pipeline"));
	assert_int_equal(pipeline_new(2, 16, HASH_SHA256, 0, on_complete, &o, &p), 0);
	for (int i = 0; i < n; i++) {
		char name[64], block[1024];
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
		struct pipe_slot *s;

		assert_true(dfd >= 0);
		snprintf(name, sizeof(name), "f%d", i);
		memset(block, 'a' + i % 26, sizeof(block));
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		/* Sizes from empty to 64 KiB, in an order that finishes out of turn. */
		for (int k = 0; k < (i * 37) % 64; k++)
			assert_int_equal(write(fd, block, sizeof(block)), sizeof(block));
		close(fd);
		s = pipeline_slot(p);
		assert_non_null(s);
		s->tag = i;
		s->fd = files_pin(dfd, name);
		assert_true(s->fd >= 0);
		assert_int_equal(fstat(s->fd, &s->st), 0);
		s->attrs = FILES_STAT_ATTRS | ATTR_BIT(ATTR_HASH);
		s->work = true;
		assert_int_equal(pipeline_submit(p, s), 0);
		unlinkat(dfd, name, 0);
		close(dfd);
	}
	assert_int_equal(pipeline_drain(p), 0);
	pipeline_free(p);
	fx_rmtree(dir);
	assert_int_equal(o.next, n);
	assert_int_equal(o.bad, 0);
}

/*
 * When the workers are behind and every slot is in flight, the submitter
 * waits for a batch of slots (128 / 16 here) before it walks on; order and
 * digests stay as they were.
 */
static void test_full_ring(void **state)
{
	char dir[256], block[4096];
	uint8_t want[HASH_MAX_DIGEST];
	struct pipeline *p = NULL;
	struct order o = {0};
	const int n = 384;
	int dfd, fd;

	(void)state;
	assert_non_null(fx_tmpdir(dir, sizeof(dir), "pipeline"));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	fd = openat(dfd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(block, 'x', sizeof(block));
	for (int k = 0; k < 64; k++)
		assert_int_equal(write(fd, block, sizeof(block)), sizeof(block));
	close(fd);
	{
		struct hash_ctx *h = hash_new(HASH_SHA256);

		assert_non_null(h);
		assert_int_equal(hash_init(h), 0);
		for (int k = 0; k < 64; k++)
			assert_int_equal(hash_update(h, block, sizeof(block)), 0);
		assert_int_equal(hash_final(h, want), 0);
		hash_free(h);
		o.want = want;
	}
	assert_int_equal(pipeline_new(2, 128, HASH_SHA256, 0, on_complete, &o, &p), 0);
	for (int i = 0; i < n; i++) {
		struct pipe_slot *s = pipeline_slot(p);

		assert_non_null(s);
		s->tag = i;
		s->fd = files_pin(dfd, "f");
		assert_true(s->fd >= 0);
		assert_int_equal(fstat(s->fd, &s->st), 0);
		s->attrs = FILES_STAT_ATTRS | ATTR_BIT(ATTR_HASH);
		s->work = true;
		assert_int_equal(pipeline_submit(p, s), 0);
	}
	assert_int_equal(pipeline_drain(p), 0);
	pipeline_free(p);
	unlinkat(dfd, "f", 0);
	close(dfd);
	fx_rmtree(dir);
	assert_int_equal(o.next, n);
	assert_int_equal(o.bad, 0);
}

struct ticks {
	int calls, err;
};

static int stop_third(void *ctx)
{
	struct ticks *t = ctx;

	return ++t->calls >= 3 ? -ECANCELED : 0;
}

static int keep_err(void *ctx, struct pipe_slot *s)
{
	((struct ticks *)ctx)[1].err = s->err;
	return 0;
}

/*
 * The tick set with pipeline_set_tick reaches every read, on a worker
 * (JOBS 2) and inline (JOBS 0): a negative return ends the read of a 2 MiB
 * file at its third chunk, with that error.
 */
static void test_tick_stops_reads(void **state)
{
	char dir[256], block[65536];
	int dfd, fd;

	(void)state;
	assert_non_null(fx_tmpdir(dir, sizeof(dir), "pipeline"));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	fd = openat(dfd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(block, 'x', sizeof(block));
	for (int k = 0; k < 32; k++)
		assert_int_equal(write(fd, block, sizeof(block)), sizeof(block));
	close(fd);
	for (unsigned jobs = 0; jobs <= 2; jobs += 2) {
		struct ticks t[2] = {{0}, {0}};
		struct pipeline *p = NULL;
		struct pipe_slot *s;

		assert_int_equal(pipeline_new(jobs, 4, HASH_SHA256, 0, keep_err, t, &p), 0);
		pipeline_set_tick(p, stop_third, &t[0]);
		s = pipeline_slot(p);
		assert_non_null(s);
		s->fd = files_pin(dfd, "f");
		assert_true(s->fd >= 0);
		assert_int_equal(fstat(s->fd, &s->st), 0);
		s->attrs = FILES_STAT_ATTRS | ATTR_BIT(ATTR_HASH);
		s->work = true;
		assert_int_equal(pipeline_submit(p, s), 0);
		assert_int_equal(pipeline_drain(p), 0);
		pipeline_free(p);
		assert_int_equal(t[0].calls, 3);
		assert_int_equal(t[1].err, -ECANCELED);
	}
	unlinkat(dfd, "f", 0);
	close(dfd);
	fx_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_fd_table_reserved),
	        cmocka_unit_test(test_order_kept),
	        cmocka_unit_test(test_full_ring),
	        cmocka_unit_test(test_tick_stops_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
