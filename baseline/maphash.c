/* SPDX-License-Identifier: ISC */
/* mmap-based hashing of large files, with SIGBUS turned into an error. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "baseline/maphash.h"

#define WINDOW (8u << 20)

/* cachestat(2), Linux 6.5; Debian 12's headers predate it. The number is
 * the same on every architecture but alpha. */
#ifndef SYS_cachestat
#if defined(__alpha__)
#define SYS_cachestat 561
#else
#define SYS_cachestat 451
#endif
#endif

struct cache_range {
	uint64_t off, len;
};
struct cache_stat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

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

/* True if every page of the window is in the page cache, by mincore(2)
 * on a mapping of it: the fallback for kernels without cachestat. */
static bool resident_mapped(void *map, size_t len)
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

/*
 * Whether bytes [OFF, OFF+LEN) of FD are all cached: 1 yes, 0 no, -1 when
 * the kernel cannot say without a mapping. cachestat walks the page cache
 * by folio, several times cheaper than mincore's lookup of every page, and
 * needs no mapping (whose set-up and tear-down cost as much again).
 */
static int resident_fd(int fd, uint64_t off, uint64_t len)
{
	static int missing; /* ENOSYS once: do not ask again */
	struct cache_range range = {off, len};
	struct cache_stat cs;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (__atomic_load_n(&missing, __ATOMIC_RELAXED))
		return -1;
	if (syscall(SYS_cachestat, fd, &range, &cs, 0) < 0) {
		if (errno == ENOSYS)
			__atomic_store_n(&missing, 1, __ATOMIC_RELAXED);
		return -1;
	}
	return cs.nr_cache >= (off % page + len + page - 1) / page;
}

bool maphash_cached(int fd, uint64_t len)
{
	size_t n = len < WINDOW ? (size_t)len : WINDOW;
	int r = resident_fd(fd, 0, n);
	void *map;
	bool all;

	if (r >= 0)
		return r;
	map = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return false;
	all = resident_mapped(map, n);
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

/* Whether the window of [OFF, OFF+LEN) that maphash_range maps next is all
 * cached, as resident_fd answers. */
static int window_resident(int fd, uint64_t off, uint64_t len, uint64_t page)
{
	uint64_t start = off & ~(page - 1);

	return resident_fd(fd, start, off - start + (len < WINDOW ? len : WINDOW));
}

int maphash_range(struct hash_ctx *h, int fd, uint64_t off, uint64_t len, bool drop_cold)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	/* Each window's state is taken before the window ahead of it is read:
	 * the read-ahead of a cold window brings in pages of the next one,
	 * which must not make that one look cached and stay in the cache. */
	int next = len > 0 ? window_resident(fd, off, len, page) : 0;

	pthread_once(&bus_once, bus_install);
	while (len > 0) {
		uint64_t start = off & ~(page - 1), skip = off - start;
		size_t n = len < WINDOW ? (size_t)len : WINDOW;
		size_t maplen = (size_t)(skip + n);
		int res = next;
		void *map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, (off_t)start);
		bool cold;
		int r;

		if (map == MAP_FAILED)
			return -errno;
		if (res < 0) /* no cachestat: ask mincore, after the fact */
			res = resident_mapped(map, maplen);
		if (len > n)
			next = window_resident(fd, off + n, len - n, page);
		/* Read-ahead only for what is not cached: asking for cached
		 * pages walks the page cache for nothing. Advice values are
		 * not flags: say each one. */
		if (!res) {
			madvise(map, maplen, MADV_SEQUENTIAL);
			madvise(map, maplen, MADV_WILLNEED);
		}
		cold = drop_cold && !res;
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
