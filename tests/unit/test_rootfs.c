/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/rootfs.c: the line reader against a whole-file reference. */
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

#include "baseline/rootfs.h"
#include "tests/unit/fixture.h"

struct fixture {
	char dir[64];
	int rootfd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!fx_tmpdir(f->dir, sizeof(f->dir), "rootfs"))
		return -1;
	f->rootfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->rootfd);
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

static void put(struct fixture *f, const char *data, size_t n)
{
	assert_true(fx_put_bytes(f->dir, "/f", data, n, 0644));
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* Reads "/f" with rootfs_lines (MAX, LSTRIP) and checks every line against
 * the same split of DATA done whole. */
static void check_against(struct fixture *f, const char *data, size_t n, size_t max, bool lstrip)
{
	struct rootfs_lines l;
	const char *p = data, *end = data + n, *line;
	unsigned lines = 0;
	uint64_t len;
	size_t got;
	int r;

	put(f, data, n);
	assert_int_equal(rootfs_lines_open(f->rootfd, "/f", max, lstrip, &l, NULL), 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p), skip = 0;

		while (lstrip && skip < k && blank(p[skip]))
			skip++;
		r = rootfs_lines_next(&l, &line, &got, &len);
		assert_int_equal(r, 1);
		assert_int_equal(len, k - skip);
		assert_int_equal(got, k - skip < max ? k - skip : max);
		assert_memory_equal(line, p + skip, got);
		assert_int_equal(l.lineno, ++lines);
		p += k + 1;
	}
	assert_int_equal(rootfs_lines_next(&l, &line, &got, &len), 0);
	assert_int_equal(rootfs_lines_next(&l, &line, &got, &len), 0);
	rootfs_lines_close(&l);
}

/* Random lines of every length around MAX and the read size, blanks, CRs,
 * NULs, with and without a final newline. */
static void test_lines_random(void **state)
{
	struct fixture *f = *state;
	static const char alphabet[] = "ab:#\r\t \0";
	size_t cap = 3u << 20, n = 0;
	char *data = malloc(cap);

	assert_non_null(data);
	srand(12345);
	for (int round = 0; round < 6; round++) {
		size_t max = round % 2 ? 100 : 70000;

		n = 0;
		while (n < cap - 300000) {
			int kind = rand() % 10;
			size_t len = kind < 6   ? (size_t)(rand() % 200)
			             : kind < 9 ? (size_t)(rand() % 150000)
			                        : max + (size_t)(rand() % 3) - 1;

			for (size_t i = 0; i < len; i++)
				data[n++] = alphabet[rand() % (sizeof(alphabet) - 1)];
			data[n++] = '\n';
		}
		if (round >= 4)
			n--; /* no newline at the end */
		check_against(f, data, n, max, round % 3 != 0);
	}
	free(data);
}

static void test_lines_edges(void **state)
{
	struct fixture *f = *state;
	struct rootfs_lines l;
	const char *line;
	uint64_t len;
	size_t got;

	check_against(f, "", 0, 10, true);
	check_against(f, "\n", 1, 10, true);
	check_against(f, "   ", 3, 10, true);
	check_against(f, "  \n\n x\r\n", 8, 10, true);
	check_against(f, "0123456789abc\n0123456789", 24, 10, false);
	/* a directory and a FIFO are refused, a missing file is ENOENT */
	assert_int_equal(rootfs_lines_open(f->rootfd, "/", 10, false, &l, NULL), -EISDIR);
	rootfs_lines_close(&l);
	assert_int_equal(rootfs_lines_open(f->rootfd, "/none", 10, false, &l, NULL), -ENOENT);
	rootfs_lines_close(&l);
	/* leading blanks are not counted in what is kept */
	put(f, "      ab\n", 9);
	assert_int_equal(rootfs_lines_open(f->rootfd, "/f", 2, true, &l, NULL), 0);
	assert_int_equal(rootfs_lines_next(&l, &line, &got, &len), 1);
	assert_int_equal(got, 2);
	assert_int_equal(len, 2);
	assert_memory_equal(line, "ab", 2);
	rootfs_lines_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_lines_random, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lines_edges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
