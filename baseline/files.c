/* SPDX-License-Identifier: ISC */
/* File collector: metadata, link targets, xattrs, ACLs, capabilities, labels, digests. */
#include <acl/libacl.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "fim/core/common.h"
#include "baseline/files.h"
#include "baseline/maphash.h"
#include "baseline/sparse.h"

#define IO_SIZE           (256u << 10)
#define DROP_STEP         (8u << 20)
#define MAP_MIN           (1u << 20) /* from this size on, hash through mmap */
#define XATTR_ACL_ACCESS  "system.posix_acl_access"
#define XATTR_ACL_DEFAULT "system.posix_acl_default"
#define XATTR_CAPS        "security.capability"
#define XATTR_SELINUX     "security.selinux"
#define XATTR_ATTRS                                                                                \
	(ATTR_BIT(ATTR_XATTRS) | ATTR_BIT(ATTR_ACL) | ATTR_BIT(ATTR_CAPS) | ATTR_BIT(ATTR_SELINUX))

int files_scratch_init(struct files_scratch *s, enum hash_algo algo)
{
	*s = (struct files_scratch){.algo = algo, .io_size = IO_SIZE};
	/* Page-aligned: the kernel copies into it several times faster. */
	s->io = aligned_alloc(4096, IO_SIZE);
	s->hash = algo != HASH_NONE ? hash_new(algo) : NULL;
	if (!s->io || (algo != HASH_NONE && !s->hash)) {
		files_scratch_free(s);
		return -ENOMEM;
	}
	return 0;
}

void files_scratch_free(struct files_scratch *s)
{
	free(s->io);
	hash_free(s->hash);
	buf_free(&s->names);
	s->io = NULL;
	s->hash = NULL;
}

static enum file_type type_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return FT_REG;
	case S_IFDIR:
		return FT_DIR;
	case S_IFLNK:
		return FT_LNK;
	case S_IFIFO:
		return FT_FIFO;
	case S_IFSOCK:
		return FT_SOCK;
	case S_IFCHR:
		return FT_CHR;
	case S_IFBLK:
		return FT_BLK;
	}
	return FT_UNKNOWN;
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

void files_from_stat(const struct stat *st, attrset_t attrs, struct file_rec *out)
{
	enum file_type t = type_of(st->st_mode);

	out->type = (uint8_t)t;
	out->mode = st->st_mode & 07777;
	out->uid = st->st_uid;
	out->gid = st->st_gid;
	out->size = (uint64_t)st->st_size;
	out->inode = st->st_ino;
	out->nlink = st->st_nlink;
	out->mtime_ns = ns_of(&st->st_mtim);
	out->ctime_ns = ns_of(&st->st_ctim);
	out->atime_ns = ns_of(&st->st_atim);
	if (t == FT_CHR || t == FT_BLK) {
		out->rdev_major = major(st->st_rdev);
		out->rdev_minor = minor(st->st_rdev);
	}
	/* Attributes that do not exist for this type are not recorded. */
	if (t != FT_LNK)
		attrs &= ~ATTR_BIT(ATTR_TARGET);
	if (t != FT_REG)
		attrs &= ~(ATTR_BIT(ATTR_HASH) | ATTR_BIT(ATTR_CAPS));
	if (t != FT_REG && t != FT_DIR)
		attrs &= ~ATTR_BIT(ATTR_ACL);
	/* The type is structure, not only an attribute: the merge of a check
	 * and every comparison need it, whatever the rule lists. */
	out->attrs = attrs | ATTR_BIT(ATTR_TYPE);
}

void files_text_free(struct files_text *t)
{
	buf_free(&t->target);
	buf_free(&t->xattrs);
	buf_free(&t->acl);
	buf_free(&t->caps);
	buf_free(&t->selinux);
}

int files_pin(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * Only a regular file is ever opened for reading: the name was pinned with
 * O_PATH (which opens nothing), its type is checked on that fd, and the
 * very same inode is opened through /proc/self/fd (an inode never changes
 * its type, so the caller's fstat of the pin holds). Without O_NONBLOCK, a
 * file its owner holds a lease on is waited for (the kernel breaks the
 * lease) instead of being skipped.
 */
int files_open_pinned(int pin)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	char proc[40];
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pin);
	fd = open(proc, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(proc, flags);
	return fd < 0 ? -errno : fd;
}

int files_open(int dirfd, const char *name)
{
	_cleanup_close_ int pin = files_pin(dirfd, name);
	struct stat st;

	if (pin < 0)
		return pin;
	if (fstat(pin, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EAGAIN; /* replaced since it was listed */
	return files_open_pinned(pin);
}

static bool same_content_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Reads up to WANT bytes at OFF. The first read of a file asks the page
 * cache only (RWF_NOWAIT): a file that was not cached is "cold", and the
 * pages fim brings in for it are dropped again as soon as they are hashed,
 * so a scan does not push the host's working set out of memory.
 */
static ssize_t read_chunk(struct files_scratch *s, int fd, uint64_t off, size_t want, int *cold)
{
	struct iovec iov = {s->io, want};
	ssize_t n;

	if (*cold < 0 && s->keep_cache)
		*cold = 0;
	if (*cold < 0) {
		n = preadv2(fd, &iov, 1, (off_t)off, RWF_NOWAIT);
		if (n >= 0) { /* cached, or empty */
			*cold = 0;
			return n;
		}
		/* Other errors than EAGAIN (an old kernel): treat it as cached. */
		*cold = errno == EAGAIN;
	}
	do
		n = pread(fd, s->io, want, (off_t)off);
	while (n < 0 && errno == EINTR);
	/* Drop in steps of DROP_STEP: per chunk, the calls cost more than
	 * the reads on a cold disk. */
	if (n > 0 && *cold == 1 && (off + (uint64_t)n) % DROP_STEP < (uint64_t)n)
		posix_fadvise(fd, (off_t)((off + (uint64_t)n) / DROP_STEP * DROP_STEP - DROP_STEP),
		              DROP_STEP, POSIX_FADV_DONTNEED);
	return n < 0 ? -errno : n;
}

/*
 * Large cached files are hashed from the page cache directly (no copy into
 * a buffer); the read loop below is for small files, cold files and file
 * systems that cannot map. Returns like hash_fd, or the mmap error untouched.
 */
static int hash_mapped(struct files_scratch *s, int fd, uint64_t size, uint64_t mark,
                       struct files_prefix *prefix, uint8_t *digest)
{
	uint8_t peek[HASH_MAX_DIGEST];
	bool drop = !s->keep_cache;
	int r = hash_init(s->hash);

	if (r < 0)
		return r;
	if (mark <= size) {
		r = maphash_range(s->hash, fd, 0, mark, drop);
		if (r == 0)
			r = hash_peek(s->hash, peek);
		if (r < 0)
			return r;
		prefix->same = memcmp(peek, prefix->base->hash, hash_len(s->algo)) == 0;
		r = maphash_range(s->hash, fd, mark, size - mark, drop);
	} else {
		r = maphash_range(s->hash, fd, 0, size, drop);
	}
	return r < 0 ? r : hash_final(s->hash, digest);
}

/*
 * Hashes FD, whose fstat gave SIZE; takes a peek at the prefix a growing
 * file had. Reading stops at SIZE (the caller's second fstat catches a
 * file that changed meanwhile), which saves the read that only finds EOF.
 */
static int hash_fd(struct files_scratch *s, int fd, uint64_t size, struct files_prefix *prefix,
                   uint8_t *digest)
{
	uint64_t done = 0, mark = UINT64_MAX;
	uint8_t peek[HASH_MAX_DIGEST];
	int cold = -1, r;

	if (prefix && prefix->base && (prefix->base->attrs & ATTR_BIT(ATTR_HASH)) &&
	    prefix->base->hash_algo == s->algo)
		mark = prefix->base->size;
	if (prefix)
		prefix->same = false;
	if (size >= MAP_MIN && !s->tick && maphash_cached(fd, size)) {
		r = hash_mapped(s, fd, size, mark, prefix, digest);
		if (r != -ENODEV && r != -EINVAL && r != -EACCES)
			return r;
		/* This file system cannot map files: read it. */
	}
	if (size > s->io_size)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r = hash_init(s->hash);
	if (r < 0)
		return r;
	for (;;) {
		size_t want = s->io_size;
		ssize_t n;

		if (done == mark) {
			r = hash_peek(s->hash, peek);
			if (r < 0)
				return r;
			prefix->same = memcmp(peek, prefix->base->hash, hash_len(s->algo)) == 0;
		}
		if (mark > done && mark - done < want)
			want = (size_t)(mark - done);
		/* A size of 0 may be a file system that does not know it. */
		if (size && done >= size)
			break;
		n = read_chunk(s, fd, done, want, &cold);
		if (n < 0)
			return (int)n;
		if (s->tick && (r = s->tick(s->tick_ctx)) < 0)
			return r;
		if (n == 0 && size && done < size)
			return -EAGAIN; /* shorter than its size said: read it again */
		if (n == 0)
			break;
		r = hash_update(s->hash, s->io, (size_t)n);
		if (r < 0)
			return r;
		done += (uint64_t)n;
	}
	if (cold == 1) /* the rest of the last step */
		posix_fadvise(fd, (off_t)(done / DROP_STEP * DROP_STEP), 0, POSIX_FADV_DONTNEED);
	return hash_final(s->hash, digest);
}

static int append_hex(struct buf *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char pair[2];

	for (size_t i = 0; i < n; i++) {
		pair[0] = hex[p[i] >> 4];
		pair[1] = hex[p[i] & 15];
		if (buf_append(b, pair, 2) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* One xattr in the canonical text: name="text", name=0x<hex> or name=sha256:<hex>. */
static int append_xattr(struct buf *b, const char *name, const uint8_t *v, size_t n)
{
	bool text = n <= 64;
	int r;

	for (size_t i = 0; i < n && text; i++)
		text = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' && v[i] != '\\' && v[i] != ',';
	size_t nlen = strlen(name);
	bool plain = true;

	/* Names may hold the separators too: such a name is written in hex
	 * (no real name starts with "0x": each has a namespace prefix). */
	for (size_t i = 0; i < nlen && plain; i++)
		plain = name[i] > 0x20 && name[i] < 0x7f && !strchr(",=\"\\", name[i]);
	if (b->n && buf_append(b, ",", 1) < 0)
		return -ENOMEM;
	if (plain ? buf_append(b, name, nlen) < 0
	          : (buf_append(b, "0x", 2) < 0 || append_hex(b, (const uint8_t *)name, nlen) < 0))
		return -ENOMEM;
	if (buf_append(b, "=", 1) < 0)
		return -ENOMEM;
	if (text) {
		if (buf_append(b, "\"", 1) < 0 || buf_append(b, v, n) < 0 ||
		    buf_append(b, "\"", 1) < 0)
			return -ENOMEM;
		return 0;
	}
	if (n <= 32) {
		if (buf_append(b, "0x", 2) < 0)
			return -ENOMEM;
		return append_hex(b, v, n);
	}
	uint8_t d[HASH_MAX_DIGEST];
	r = hash_buffer(HASH_SHA256, v, n, d);
	if (r < 0)
		return r;
	if (buf_append(b, "sha256:", 7) < 0)
		return -ENOMEM;
	return append_hex(b, d, 32);
}

/* Reads xattr NAME through FD, or through PROC (a path) when FD < 0. */
static ssize_t get_xattr(int fd, const char *proc, const char *name, uint8_t *v, size_t size)
{
	ssize_t n = fd >= 0 ? fgetxattr(fd, name, v, size) : lgetxattr(proc, name, v, size);
	return n < 0 ? -errno : n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int collect_acl(struct files_text *t, int fd, bool access, bool dflt)
{
	char dpath[64];

	/* By path through the fd, so an O_PATH fd (no open file) works too. */
	snprintf(dpath, sizeof(dpath), "/proc/self/fd/%d", fd);
	if (access && fd >= 0) {
		acl_t a = acl_get_file(dpath, ACL_TYPE_ACCESS);
		if (!a)
			return -errno;
		char *txt = acl_to_any_text(a, NULL, ',', TEXT_ABBREVIATE | TEXT_NUMERIC_IDS);
		acl_free(a);
		if (!txt)
			return -ENOMEM;
		int r = buf_append(&t->acl, txt, strlen(txt));
		acl_free(txt);
		if (r < 0)
			return r;
	}
	if (dflt && fd >= 0) {
		acl_t a = acl_get_file(dpath, ACL_TYPE_DEFAULT);
		if (!a)
			return -errno;
		char *txt = acl_to_any_text(a, "d:", ',', TEXT_ABBREVIATE | TEXT_NUMERIC_IDS);
		acl_free(a);
		if (!txt)
			return -ENOMEM;
		int r = 0;
		if (t->acl.n)
			r = buf_append(&t->acl, ",", 1);
		if (r == 0)
			r = buf_append(&t->acl, txt, strlen(txt));
		acl_free(txt);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ACLs of an entry with no open fd (a directory not walked into) are read
 * through an O_PATH fd pinned on the entry itself. */
static int collect_acl_any(struct files_text *t, int fd, const char *proc, bool access, bool dflt)
{
	_cleanup_close_ int pfd = -1;

	if (fd >= 0)
		return collect_acl(t, fd, access, dflt);
	pfd = open(proc, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	return collect_acl(t, pfd, access, dflt);
}

static int collect_caps(struct files_text *t, int fd)
{
	cap_t c = cap_get_fd(fd);
	ssize_t len;

	if (!c)
		return errno == ENODATA ? 0 : -errno;
	char *txt = cap_to_text(c, &len);
	cap_free(c);
	if (!txt)
		return -ENOMEM;
	int r = buf_append(&t->caps, txt, (size_t)len);
	cap_free(txt);
	return r;
}

/* xattrs, acl, caps and selinux from one listing of the names. */
static int collect_xattrs(struct files_scratch *s, struct files_text *t, int fd, const char *proc,
                          attrset_t attrs)
{
	char *names[1024];
	size_t count = 0;
	ssize_t len;
	bool acl_a = false, acl_d = false, caps = false;
	int r = 0;

	if (s->names.cap < FIM_MAX_XATTR_LIST) {
		uint8_t *p = realloc(s->names.p, FIM_MAX_XATTR_LIST);
		if (!p)
			return -ENOMEM;
		s->names.p = p;
		s->names.cap = FIM_MAX_XATTR_LIST;
	}
	len = fd >= 0 ? flistxattr(fd, (char *)s->names.p, s->names.cap - 1)
	              : llistxattr(proc, (char *)s->names.p, s->names.cap - 1);
	if (len < 0)
		return errno == ENOTSUP ? 0 : (errno == ERANGE ? -E2BIG : -errno);
	s->names.p[len] = '\0';
	for (char *n = (char *)s->names.p; n < (char *)s->names.p + len; n += strlen(n) + 1) {
		if (strcmp(n, XATTR_ACL_ACCESS) == 0)
			acl_a = true;
		else if (strcmp(n, XATTR_ACL_DEFAULT) == 0)
			acl_d = true;
		else if (strcmp(n, XATTR_CAPS) == 0)
			caps = true;
		else if (strcmp(n, XATTR_SELINUX) == 0) {
			if (attrs & ATTR_BIT(ATTR_SELINUX)) {
				uint8_t v[4096];
				ssize_t vn = get_xattr(fd, proc, n, v, sizeof(v));
				if (vn < 0)
					return (int)vn;
				while (vn > 0 && v[vn - 1] == '\0')
					vn--;
				if (buf_append(&t->selinux, v, (size_t)vn) < 0)
					return -ENOMEM;
			}
		} else if (strncmp(n, "trusted.", 8) == 0) {
			/* listed only to holders of CAP_SYS_ADMIN: recording them would
			 * make the record depend on how fim was started (a root shell
			 * vs. the confined unit), a false drift every time */
			continue;
		} else if (count < ARRAY_SIZE(names))
			names[count++] = n;
		else
			return -E2BIG;
	}
	if ((attrs & ATTR_BIT(ATTR_ACL)) && (acl_a || acl_d))
		r = collect_acl_any(t, fd, proc, acl_a, acl_d);
	if (r == 0 && (attrs & ATTR_BIT(ATTR_CAPS)) && caps && fd >= 0)
		r = collect_caps(t, fd);
	if (r < 0 || !(attrs & ATTR_BIT(ATTR_XATTRS)))
		return r;
	qsort(names, count, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < count; i++) {
		/* Hashing is done by now, so the I/O buffer is free. */
		uint8_t *v = s->io;
		ssize_t vn = get_xattr(fd, proc, names[i], v, FIM_MAX_XATTR_VALUE);
		if (vn == -ENODATA) /* removed since listed */
			continue;
		if (vn < 0)
			return (int)vn;
		r = append_xattr(&t->xattrs, names[i], v, (size_t)vn);
		if (r < 0)
			return r;
	}
	return 0;
}

static int collect_target(struct files_text *t, int dirfd, const char *name)
{
	for (size_t size = 256;; size *= 2) {
		if (size > (1u << 20))
			return -ENAMETOOLONG;
		if (t->target.cap < size) {
			uint8_t *p = realloc(t->target.p, size);
			if (!p)
				return -ENOMEM;
			t->target.p = p;
			t->target.cap = size;
		}
		ssize_t n = readlinkat(dirfd, name, (char *)t->target.p, size);
		if (n < 0)
			return -errno;
		if ((size_t)n < size) {
			t->target.n = (size_t)n;
			return 0;
		}
	}
}

static struct bytes span(const struct buf *b)
{
	return (struct bytes){b->p, b->n};
}

/*
 * The digest of FD (fstat BEFORE) into out->hash and out->hash_algo. A
 * file with holes gets the sparse digest, which costs the bytes stored
 * rather than the size (a "truncate -s 16T" must not stall a scan).
 */
static int hash_content(struct files_scratch *s, int fd, const struct stat *before,
                        struct files_prefix *prefix, struct file_rec *out)
{
	int r = sparse_probe(fd, before);

	if (r < 0)
		return r;
	out->hash_algo = (uint8_t)(r ? hash_sparse(s->algo) : s->algo);
	if (r)
		return sparse_hash(s, fd, (uint64_t)before->st_size, prefix, out->hash);
	return hash_fd(s, fd, (uint64_t)before->st_size, prefix, out->hash);
}

/* Opens and hashes a regular file, re-reading if it changes under us. */
static int collect_content(struct files_scratch *s, int fd, const struct stat *known,
                           struct files_prefix *prefix, struct file_rec *out)
{
	struct stat before, after;
	int r = -EAGAIN;

	for (int tries = 0; tries < 3 && r == -EAGAIN; tries++) {
		/* The first time, the stat the walker took of this inode will
		 * do: any change since then shows in the stat taken after. */
		if (tries == 0 && known)
			before = *known;
		else if (fstat(fd, &before) < 0)
			return -errno;
		if (!S_ISREG(before.st_mode))
			return -EAGAIN;
		r = hash_content(s, fd, &before, prefix, out);
		if (r < 0)
			return r;
		if (fstat(fd, &after) < 0)
			return -errno;
		r = same_content_stat(&before, &after) ? 0 : -EAGAIN;
	}
	files_from_stat(&after, out->attrs, out);
	return r;
}

int files_collect(struct files_scratch *s, struct files_text *t, int dirfd, const char *name,
                  int own, const struct stat *st, attrset_t attrs, struct files_prefix *prefix,
                  struct file_rec *out)
{
	_cleanup_close_ int own_fd = -1;
	char proc[320];
	int fd = own, r = 0, err = 0;

	t->target.n = t->xattrs.n = t->acl.n = t->caps.n = t->selinux.n = 0;
	*out = (struct file_rec){0};
	files_from_stat(st, attrs, out);
	attrs = out->attrs;
	out->hash_algo = HASH_NONE;

	if (fd < 0 && out->type == FT_REG && (attrs & (ATTR_BIT(ATTR_HASH) | XATTR_ATTRS))) {
		own_fd = files_open(dirfd, name);
		if (own_fd < 0) {
			err = own_fd;
			out->attrs &= ~(ATTR_BIT(ATTR_HASH) | XATTR_ATTRS);
			out->flags |= REC_UNREADABLE;
			goto done;
		}
		fd = own_fd;
	}
	if (out->type == FT_REG && (attrs & ATTR_BIT(ATTR_HASH))) {
		out->hash_algo = (uint8_t)s->algo;
		r = collect_content(s, fd, own >= 0 ? st : NULL, prefix, out);
		if (r < 0) {
			err = r;
			out->attrs &= ~ATTR_BIT(ATTR_HASH);
			out->hash_algo = HASH_NONE;
			out->flags |= r == -EAGAIN ? REC_CHANGED_WHILE_READ : REC_UNREADABLE;
		}
	}
	if (out->type == FT_LNK && (attrs & ATTR_BIT(ATTR_TARGET))) {
		struct stat after;
		r = collect_target(t, dirfd, name);
		if (r < 0) {
			err = err ? err : r;
			out->attrs &= ~ATTR_BIT(ATTR_TARGET);
		}
		/* Reading a link updates its atime (there is no O_NOATIME for
		 * readlink): record the atime the read left, which relatime
		 * keeps stable, so the next read does not look like drift. */
		if (fstatat(dirfd, name, &after, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(after.st_mode))
			out->atime_ns = ns_of(&after.st_atim);
	}
	if (attrs & XATTR_ATTRS) {
		/* Objects we may not open are read through their parent. */
		if (fd < 0)
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
		r = collect_xattrs(s, t, fd, proc, attrs);
		if (r < 0) {
			err = err ? err : r;
			out->attrs &= ~XATTR_ATTRS;
		}
	}
done:
	out->target = span(&t->target);
	out->xattrs = span(&t->xattrs);
	out->acl = span(&t->acl);
	out->caps = span(&t->caps);
	out->selinux = span(&t->selinux);
	return err;
}
