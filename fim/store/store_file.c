/* SPDX-License-Identifier: ISC */
/* A baseline's data file before LMDB trusts it, and the guard that turns a fault in its map into an
 * error. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fim/core/common.h"
#include "fim/core/hash.h"
#include "fim/store/store.h"
#include "fim/store/store_int.h"

/*
 * LMDB's file layout (lmdb.h, mdb.c of LMDB 0.9): page 0 and page 1 are
 * meta pages. Each page starts with a 16-byte header (page number u64,
 * pad u16, flags u16, lower u16, upper u16); a meta page's body follows:
 * magic u32, version u32, fixed address, map size, then two database
 * records of 48 bytes (pad u32 - the page size in the first -, flags u16,
 * depth u16, branch, leaf and overflow page counts, entries, root page),
 * the last page used and the transaction id, all in host byte order.
 */
#define PAGE_HDR      16
#define META_MAGIC    0xBEEFC0DEu
#define META_VERSION  1u
#define P_META_FLAG   0x08u
#define DB_REC        48
#define OFF_MAGIC     (PAGE_HDR + 0)
#define OFF_VERSION   (PAGE_HDR + 4)
#define OFF_DBS       (PAGE_HDR + 24)
#define OFF_LAST_PG   (OFF_DBS + 2 * DB_REC)
#define OFF_TXNID     (OFF_LAST_PG + 8)
#define META_SIZE     (OFF_TXNID + 8)
#define DB_OFF_FLAGS  4
#define DB_OFF_DEPTH  6
#define DB_OFF_ROOT   40
#define MAX_DEPTH     32 /* LMDB's cursor stack: a deeper tree is damage */
#define NO_PAGE       UINT64_MAX
#define MIN_PAGE_SIZE 512u
#define MAX_PAGE_SIZE 65536u

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EBADMSG; /* shorter than its meta pages say */
		done += (size_t)k;
	}
	return 0;
}

/* One database record of a meta page: its root inside the file, a depth
 * LMDB can walk. */
static bool db_sane(const uint8_t *db, uint64_t last_pg)
{
	uint64_t root = rd64(db + DB_OFF_ROOT);
	uint16_t depth = rd16(db + DB_OFF_DEPTH);

	if (root == NO_PAGE)
		return depth == 0;
	/* pages 0 and 1 are the metas: no tree starts there */
	return root >= 2 && root <= last_pg && depth >= 1 && depth <= MAX_DEPTH;
}

/* Meta page I: read at I * PSIZE (PSIZE 0: from page 0's own header). */
static int meta_check(int fd, uint64_t size, unsigned i, uint32_t *psize)
{
	uint8_t m[META_SIZE];
	uint64_t last_pg;
	uint32_t ps;
	int r = read_at(fd, m, sizeof(m), (uint64_t)i * *psize);

	if (r < 0)
		return r;
	ps = rd32(m + OFF_DBS); /* the free database's pad holds the page size */
	if (rd64(m) != i || !(rd16(m + 10) & P_META_FLAG) || rd32(m + OFF_MAGIC) != META_MAGIC ||
	    rd32(m + OFF_VERSION) != META_VERSION)
		return -EBADMSG;
	if (ps < MIN_PAGE_SIZE || ps > MAX_PAGE_SIZE || (ps & (ps - 1)) || (i && ps != *psize))
		return -EBADMSG;
	*psize = ps;
	last_pg = rd64(m + OFF_LAST_PG);
	/* LMDB maps up to the last page without looking at the file's size:
	 * a page past the end is a SIGBUS on first touch */
	if (last_pg < 1 || last_pg >= size / ps)
		return -EBADMSG;
	if (!db_sane(m + OFF_DBS, last_pg) || !db_sane(m + OFF_DBS + DB_REC, last_pg))
		return -EBADMSG;
	return 0;
}

int store_file_validate(int fd, uint64_t size)
{
	uint32_t psize = 0;
	int r;

	if (size < 2 * MIN_PAGE_SIZE)
		return -EBADMSG;
	r = meta_check(fd, size, 0, &psize);
	if (r == 0)
		r = meta_check(fd, size, 1, &psize);
	if (r == 0 && size % psize)
		r = -EBADMSG; /* LMDB only ever grows the file by whole pages */
	return r;
}

int store_file_digest(int fd, uint64_t size, uint8_t out[32])
{
	enum { CHUNK = 1 << 20 };
	struct hash_ctx *h = hash_new(HASH_SHA256);
	uint8_t *buf = malloc(CHUNK);
	uint64_t off = 0;
	int r = 0;

	if (!h || !buf) {
		r = -ENOMEM;
		goto out;
	}
	if (hash_init(h) < 0) {
		r = -EIO;
		goto out;
	}
	while (off < size && r == 0) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		r = read_at(fd, buf, n, off);
		if (r == -EBADMSG)
			r = -EIO;
		if (r == 0 && hash_update(h, buf, n) < 0)
			r = -EIO;
		off += n;
	}
	if (r == 0 && hash_final(h, out) < 0)
		r = -EIO;
out:
	free(buf);
	hash_free(h);
	return r;
}

/* ---- the guard ---- */

static __thread struct store_guard *guard_top;
static struct sigaction old_segv, old_bus;
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;

/* A fault that a damaged file can cause while it is read through the map:
 * inside the map (past the file's end: SIGBUS), or at an address LMDB
 * computed from a damaged page number (mapped nowhere, or not canonical,
 * which the kernel reports as SI_KERNEL with no address). */
static bool guard_owns(const struct store_guard *g, int sig, const siginfo_t *si)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	if (a >= g->lo && a < g->hi)
		return true;
	/* the map could not be located (no /proc): a bus error while the store
	 * is read is the map's, the one file mapping such a read touches */
	if (g->lo == g->hi && sig == SIGBUS && si->si_code == BUS_ADRERR)
		return true;
	return sig == SIGSEGV && (si->si_code == SEGV_MAPERR || si->si_code == SI_KERNEL);
}

static void guard_handler(int sig, siginfo_t *si, void *ctx)
{
	struct store_guard *g = guard_top;
	const struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;

	if (g && guard_owns(g, sig, si))
		siglongjmp(g->jb, 1);
	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, ctx);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* Not ours: the default action, when the instruction runs again. */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
}

/* Puts the handler in front of whatever handles SIG now (unless it is
 * already there), keeping that one for faults that are not ours. */
static void guard_install(int sig, struct sigaction *old)
{
	struct sigaction sa = {.sa_sigaction = guard_handler, .sa_flags = SA_SIGINFO | SA_NODEFER};
	struct sigaction cur;

	if (sigaction(sig, NULL, &cur) < 0 ||
	    ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == guard_handler))
		return;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, old);
}

void store_guard_arm(void)
{
	pthread_mutex_lock(&guard_lock);
	guard_install(SIGSEGV, &old_segv);
	guard_install(SIGBUS, &old_bus);
	pthread_mutex_unlock(&guard_lock);
}

void store_guard_push(struct store_guard *g, uintptr_t lo, uintptr_t hi)
{
	g->lo = lo;
	g->hi = hi;
	g->prev = guard_top;
	guard_top = g;
}

void store_guard_pop(struct store_guard *g)
{
	guard_top = g->prev;
}

void store_guard_assert(MDB_env *env, const char *msg)
{
	struct store_guard *g = guard_top;

	if (g)
		siglongjmp(g->jb, 1);
	/* unguarded: LMDB aborts, as it would without this callback */
}

size_t store_maps_of(uint64_t dev, uint64_t ino, uintptr_t *lo, uintptr_t *hi, size_t max)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	size_t n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long a, b, off, ma, mi, in;

		if (sscanf(line, "%lx-%lx %*s %lx %lx:%lx %lu", &a, &b, &off, &ma, &mi, &in) != 6)
			continue;
		if (in == ino && makedev(ma, mi) == dev && off == 0) {
			lo[n] = a;
			hi[n] = b;
			n++;
		}
	}
	fclose(f);
	return n;
}

/* ---- where the baseline lies ---- */

/* PATH itself: owned by root or by us, not writable by group or others,
 * unless ABOVE (a directory on the way to the baseline) and sticky. */
static int trust_one(const char *path, bool above, char *why, size_t size)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, size,
		         "%s: owned by uid %u, neither root nor the user fim runs as (%u)", path,
		         (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (S_ISLNK(st.st_mode))
		return 0; /* a link's own mode means nothing; its owner was checked */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(above && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) {
		snprintf(why, size, "%s: writable by %s", path,
		         st.st_mode & S_IWOTH ? "every user" : "its group");
		return -EPERM;
	}
	return 0;
}

/* Every directory on the way to PATH as it is written (made absolute), a
 * symbolic link among them included: whoever may replace a link or an
 * entry on that way decides what PATH opens, wherever it resolves to. */
static int trust_written(const char *path, char *why, size_t size)
{
	_cleanup_free_ char *cwd = NULL, *abs = NULL;
	int r = 0;

	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return -errno;
		if (asprintf(&abs, "%s/%s", cwd, path) < 0)
			abs = NULL;
	}
	if (!abs)
		return -ENOMEM;
	for (char *p = abs + 1; r == 0 && (p = strchr(p, '/')); p++) {
		if (p[-1] == '/')
			continue; /* an empty component */
		*p = '\0';
		r = trust_one(abs, true, why, size);
		*p = '/';
	}
	return r;
}

/* Every directory from / down to the resolved PATH (PATH itself too), and
 * those on the way to PATH as written. */
static int trust_chain(const char *path, char *why, size_t size)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	int r;

	if (!real)
		return -errno;
	r = trust_written(path, why, size);
	if (r == 0)
		r = trust_one("/", true, why, size);
	for (char *p = real + 1; r == 0 && (p = strchr(p, '/')); p++) {
		*p = '\0';
		r = trust_one(real, true, why, size);
		*p = '/';
	}
	if (r == 0 && strcmp(real, "/") != 0)
		r = trust_one(real, false, why, size);
	return r;
}

int store_check_trust(const char *dir, char *why, size_t size)
{
	static const char *const files[] = {"data.mdb", "lock.mdb", "data.sig"};
	_cleanup_free_ char *cur = NULL, *env = NULL;
	int r;

	r = trust_chain(dir, why, size);
	if (r < 0)
		return r;
	if (asprintf(&cur, "%s/current", dir) < 0) {
		cur = NULL;
		return -ENOMEM;
	}
	r = trust_one(cur, false, why, size);
	if (r < 0)
		return r;
	env = realpath(cur, NULL);
	if (!env)
		return -errno;
	r = trust_chain(env, why, size);
	for (size_t i = 0; r == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		_cleanup_free_ char *f = NULL;

		if (asprintf(&f, "%s/%s", env, files[i]) < 0) {
			f = NULL;
			return -ENOMEM;
		}
		r = trust_one(f, false, why, size);
		if (r == -ENOENT && i > 0)
			r = 0; /* no lock file (read-only media), or not signed */
	}
	return r;
}
