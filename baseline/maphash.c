/* SPDX-License-Identifier: ISC */
/* mmap-based hashing of large files, with SIGBUS turned into an error. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maphash.h"

#define WINDOW (8u << 20)

/* Set while this thread reads a mapping: where a SIGBUS must land. */
static __thread sigjmp_buf *bus_landing;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	if (bus_landing)
		siglongjmp(*bus_landing, 1);
	/* Not ours: die of it as we would have. */
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

static void bus_install(void)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* True if every page of the window is in the page cache. */
static bool resident(void *map, size_t len)
{
	size_t pages = (len + 4095) / 4096;
	unsigned char small[2048], *vec = pages <= sizeof(small) ? small : malloc(pages);
	bool all = true;

	if (!vec || mincore(map, len, vec) < 0)
		all = true; /* unknown: take it as cached */
	else
		for (size_t i = 0; i < pages && all; i++)
			all = vec[i] & 1;
	if (vec != small)
		free(vec);
	return all;
}

bool maphash_cached(int fd, uint64_t len)
{
	size_t n = len < WINDOW ? (size_t)len : WINDOW;
	void *map = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
	bool all;

	if (map == MAP_FAILED)
		return false;
	all = resident(map, n);
	munmap(map, n);
	return all;
}

/* hash_update over mapped memory; a SIGBUS inside it becomes -EAGAIN. */
static int guarded_update(struct hash_ctx *h, const uint8_t *p, size_t n)
{
	sigjmp_buf landing;
	int r;

	if (sigsetjmp(landing, 0)) {
		bus_landing = NULL;
		return -EAGAIN;
	}
	bus_landing = &landing;
	r = hash_update(h, p, n);
	bus_landing = NULL;
	return r;
}

int maphash_range(struct hash_ctx *h, int fd, uint64_t off, uint64_t len, bool drop_cold)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	pthread_once(&bus_once, bus_install);
	while (len > 0) {
		uint64_t start = off & ~(page - 1), skip = off - start;
		size_t n = len < WINDOW ? (size_t)len : WINDOW;
		size_t maplen = (size_t)(skip + n);
		void *map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, (off_t)start);
		bool cold;
		int r;

		if (map == MAP_FAILED)
			return -errno;
		/* Advice values are not flags: say each one. */
		madvise(map, maplen, MADV_SEQUENTIAL);
		madvise(map, maplen, MADV_WILLNEED);
		cold = drop_cold && !resident(map, maplen);
		r = guarded_update(h, (const uint8_t *)map + skip, n);
		munmap(map, maplen);
		if (cold)
			posix_fadvise(fd, (off_t)start, (off_t)maplen, POSIX_FADV_DONTNEED);
		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}
