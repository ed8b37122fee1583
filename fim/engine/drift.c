/* SPDX-License-Identifier: ISC */
/* The one drift decision for files, shared by fim check and the watcher's re-read. */
#include "fim/engine/drift.h"
#include "baseline/files.h"
#include "baseline/rootfs.h"
#include "fim/store/store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool drift_selects(const struct policy *p, const char *path, size_t len)
{
	const struct policy_rule *rule = policy_match(p, path, len);

	return rule && !(rule->flags & RULE_EXCLUDE);
}

enum drift_rot_form drift_rotation_name(const char *log, size_t loglen, const char *name)
{
	static const struct {
		const char *ext;
		enum drift_rot_form form;
	} exts[] = {{"", ROT_PLAIN}, {".gz", ROT_GZIP}, {".xz", ROT_XZ}, {".zst", ROT_ZSTD}};
	size_t digits = 0;
	const char *p;

	if (loglen == 0 || strncmp(name, log, loglen) != 0)
		return ROT_NOT;
	p = name + loglen;
	if (*p != '.' && *p != '-')
		return ROT_NOT;
	while (isdigit((unsigned char)p[1 + digits]))
		digits++;
	if (digits == 0 || (*p == '-' && (digits < 8 || digits > 14)) || digits > 14)
		return ROT_NOT;
	p += 1 + digits;
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (strcmp(p, exts[i].ext) == 0)
			return exts[i].form;
	return ROT_NOT;
}

/* Whether the first BASE->size bytes of FD hash as BASE recorded. A base
 * without a plain digest proves nothing beyond the size. */
static bool prefix_matches(int fd, const struct file_rec *base)
{
	uint8_t buf[65536], digest[HASH_MAX_DIGEST];
	uint64_t left = base->size;
	struct hash_ctx *h;
	bool ok = false;

	if (!(base->attrs & ATTR_BIT(ATTR_HASH)))
		return true;
	if (base->hash_algo < HASH_SHA256 || base->hash_algo > HASH_BLAKE2B)
		return false; /* a sparse digest is not over the bytes alone */
	h = hash_new(base->hash_algo);
	if (!h || hash_init(h) < 0)
		goto out;
	while (left > 0) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || hash_update(h, buf, (size_t)n) < 0)
			goto out;
		left -= (uint64_t)n;
	}
	ok = hash_final(h, digest) == 0 &&
	     memcmp(digest, base->hash, hash_len(base->hash_algo)) == 0;
out:
	hash_free(h);
	return ok;
}

/* Whether FD (of SIZE bytes) starts as FORM does, and for gzip, whether
 * its trailer counts at least WANT bytes (modulo 2^32, as gzip does). */
static bool compressed_fits(int fd, uint64_t size, enum drift_rot_form form, uint64_t want)
{
	static const uint8_t gz[] = {0x1f, 0x8b}, xz[] = {0xfd, '7', 'z', 'X', 'Z', 0},
	                     zst[] = {0x28, 0xb5, 0x2f, 0xfd};
	const uint8_t *magic = form == ROT_GZIP ? gz : form == ROT_XZ ? xz : zst;
	size_t mlen = form == ROT_GZIP ? sizeof(gz) : form == ROT_XZ ? sizeof(xz) : sizeof(zst);
	uint8_t head[8], tail[4];

	if (size < mlen + 4 || pread(fd, head, mlen, 0) != (ssize_t)mlen ||
	    memcmp(head, magic, mlen) != 0)
		return false;
	if (form != ROT_GZIP)
		return true;
	if (pread(fd, tail, 4, (off_t)size - 4) != 4)
		return false;
	uint32_t isize = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
	                 (uint32_t)tail[3] << 24;
	return want > UINT32_MAX || isize >= want;
}

static int64_t ctime_of(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* Whether the rotation-named entry NAME of directory DIR (as inside
 * ROOTFD) holds what BASE recorded, as drift_rotation says. */
static bool holds_recorded(int rootfd, const char *dir, const char *name, enum drift_rot_form form,
                           const struct file_rec *base, int64_t since_ns, uint64_t live_inode,
                           struct stat *ret)
{
	char path[PATH_MAX];
	struct stat st;
	bool ok = false;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	fd = rootfs_open(rootfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (live_inode && (uint64_t)st.st_ino == live_inode))
		goto out;
	/* Put there since the record: a rename or a new file moves ctime. */
	if ((base->attrs & ATTR_BIT(ATTR_CTIME)) && ctime_of(&st) < base->ctime_ns)
		goto out;
	if (since_ns && ctime_of(&st) < since_ns)
		goto out;
	if (form == ROT_PLAIN)
		ok = (uint64_t)st.st_size >= base->size && prefix_matches(fd, base);
	else
		ok = compressed_fits(fd, (uint64_t)st.st_size, form, base->size);
	if (ok)
		*ret = st;
out:
	close(fd);
	return ok;
}

int drift_rotation(int rootfd, const char *path, size_t len, const struct file_rec *base,
                   int64_t since_ns, uint64_t live_inode, char *name, size_t size, struct stat *st)
{
	struct stat ignored;
	char dir[PATH_MAX], **names = NULL;
	const char *log;
	size_t n = 0, dlen;
	int r, found = 0;

	if (len == 0 || len >= sizeof(dir) || path[0] != '/')
		return 0;
	memcpy(dir, path, len);
	dir[len] = '\0';
	log = strrchr(dir, '/') + 1;
	dlen = (size_t)(log - dir - 1);
	dir[dlen] = '\0';
	if (*log == '\0')
		return 0;
	r = rootfs_list(rootfd, dlen ? dir : "/", &names, &n);
	if (r < 0)
		return r;
	/* Uncompressed copies first: their content is proven, not just their form. */
	for (int pass = 0; pass < 2 && !found; pass++) {
		for (size_t i = 0; i < n && !found; i++) {
			enum drift_rot_form form = drift_rotation_name(log, strlen(log), names[i]);
			if (form == ROT_NOT || (form == ROT_PLAIN) != (pass == 0))
				continue;
			if (holds_recorded(rootfd, dir, names[i], form, base, since_ns, live_inode,
			                   st ? st : &ignored)) {
				snprintf(name, size, "%s", names[i]);
				found = 1;
			}
		}
	}
	rootfs_names_free(names, n);
	return found;
}

/* The entry of C for the log PATH (LEN bytes) with this BASE and live inode. */
static struct drift_rot_seen *seen_find(struct drift_rot_cache *c, const char *path, size_t len,
                                        const struct file_rec *base, uint64_t live_inode)
{
	for (size_t i = 0; i < DRIFT_ROT_SEEN; i++) {
		struct drift_rot_seen *e = &c->seen[i];
		if (e->len == len && len < sizeof(e->log) && memcmp(e->log, path, len) == 0 &&
		    e->base_inode == base->inode && e->base_size == base->size &&
		    e->base_ctime == base->ctime_ns && e->live_inode == live_inode &&
		    memcmp(e->base_hash, base->hash, sizeof(e->base_hash)) == 0)
			return e;
	}
	return NULL;
}

/* Whether the copy E proved is still there as it was then: same inode, size
 * and change time (any write, rename or chmod moves ctime). */
static bool seen_still(int rootfd, const char *path, size_t len, const struct drift_rot_seen *e)
{
	char copy[PATH_MAX];
	const char *slash = memrchr(path, '/', len);
	struct stat st;

	if (!slash || snprintf(copy, sizeof(copy), "%.*s/%s", (int)(slash - path), path, e->copy) >=
	                      (int)sizeof(copy))
		return false;
	return rootfs_lstat(rootfd, copy, &st) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_ino == e->ino && (uint64_t)st.st_size == e->size &&
	       ctime_of(&st) == e->ctime_ns;
}

static void seen_put(struct drift_rot_cache *c, const char *path, size_t len,
                     const struct file_rec *base, uint64_t live_inode, const char *copy,
                     const struct stat *st)
{
	struct drift_rot_seen *e = seen_find(c, path, len, base, live_inode);

	if (len >= sizeof(e->log) || strlen(copy) >= sizeof(e->copy))
		return;
	if (!e)
		e = &c->seen[c->next++ % DRIFT_ROT_SEEN];
	memset(e, 0, sizeof(*e));
	memcpy(e->log, path, len);
	e->len = len;
	snprintf(e->copy, sizeof(e->copy), "%s", copy);
	e->base_inode = base->inode;
	e->base_size = base->size;
	e->base_ctime = base->ctime_ns;
	memcpy(e->base_hash, base->hash, sizeof(e->base_hash));
	e->live_inode = live_inode;
	e->ino = (uint64_t)st->st_ino;
	e->size = (uint64_t)st->st_size;
	e->ctime_ns = ctime_of(st);
}

/* When baseline S was taken (ns since the epoch, whole seconds), or 0. */
static int64_t baseline_time(struct store *s)
{
	struct tm tm = {0};
	struct bytes v;
	char text[64];

	if (!s || store_meta(s, META_CREATED, &v) < 0 || v.n >= sizeof(text))
		return 0;
	memcpy(text, v.p, v.n);
	text[v.n] = '\0';
	if (!strptime(text, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (int64_t)timegm(&tm) * 1000000000;
}

/* What a rotation replaces or rewrites: the file's content identity. */
#define ROTATION_ATTRS                                                                             \
	(ATTR_BIT(ATTR_INODE) | ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_MTIME) |                       \
	 ATTR_BIT(ATTR_CTIME) | ATTR_BIT(ATTR_HASH) | ATTR_BIT(ATTR_NLINK))

/*
 * A growing file whose content identity drifted: a proven rotation takes
 * that part out of D->changed; a file of the same inode that shrank with
 * no rotated copy is said to be truncated.
 */
static void rotation(struct drift_where *w, const struct file_rec *base, const struct file_rec *rec,
                     struct drift *d)
{
	bool inodes = (base->attrs & rec->attrs & ATTR_BIT(ATTR_INODE)) != 0;
	bool same = inodes && base->inode == rec->inode;
	const char *path = (const char *)d->id.p;
	uint64_t live_inode = inodes ? rec->inode : 0;
	struct drift_rot_seen *e =
	        w->cache ? seen_find(w->cache, path, d->id.n, base, live_inode) : NULL;
	struct stat st;
	int r;

	/* A log followed after its rotation is not proven again at each write. */
	if (e && seen_still(w->rootfd, path, d->id.n, e)) {
		snprintf(w->rotated, sizeof(w->rotated), "%s", e->copy);
		r = 1;
	} else {
		r = drift_rotation(w->rootfd, path, d->id.n, base, baseline_time(w->store),
		                   live_inode, w->rotated, sizeof(w->rotated), &st);
		if (r > 0 && w->cache)
			seen_put(w->cache, path, d->id.n, base, live_inode, w->rotated, &st);
	}
	if (r > 0) {
		d->changed &= ~ROTATION_ATTRS;
		snprintf(w->note, sizeof(w->note), "rotated: the recorded content is now %.150s",
		         w->rotated);
		d->note = w->note;
		return;
	}
	w->rotated[0] = '\0';
	if (same && rec->size < base->size)
		snprintf(w->note, sizeof(w->note),
		         "shrank from %" PRIu64 " to %" PRIu64 " bytes: truncated, not rotated",
		         base->size, rec->size);
	else if (inodes && !same)
		snprintf(w->note, sizeof(w->note),
		         "replaced, not rotated: the recorded content is under no rotation name");
	else
		snprintf(w->note, sizeof(w->note),
		         "rewritten, not appended: the recorded content is under no rotation name");
	d->note = w->note;
}

enum drift_verdict drift_file_at(const struct policy *old, struct drift_where *w,
                                 const struct file_rec *base, const struct file_rec *rec,
                                 bool prefix_same, struct drift *d)
{
	const struct policy_rule *rule = d->rule;

	if (w)
		w->rotated[0] = '\0';
	if (base) {
		unsigned flags = (rule->flags & RULE_GROWING) ? DIFF_GROWING : 0;
		/* A file turned into a FIFO is drift whatever the rule lists. */
		attrset_t mask = rule->attrs | ATTR_BIT(ATTR_TYPE);

		/* A directory's size is no content that could be cut: under a
		 * growing rule (the logs' directories) it comes and goes with
		 * the rotated files. */
		if ((flags & DIFF_GROWING) && base->type == FT_DIR && rec->type == FT_DIR)
			mask &= ~ATTR_BIT(ATTR_SIZE);

		d->changed = rec_diff(base, rec, mask, flags, prefix_same);
		if (w && w->rootfd >= 0 && (flags & DIFF_GROWING) &&
		    (d->changed & ROTATION_ATTRS) && base->type == FT_REG && rec->type == FT_REG)
			rotation(w, base, rec, d);
		/* Content the baseline could not read is not "unchanged". */
		if ((base->flags & (REC_UNREADABLE | REC_CHANGED_WHILE_READ)) &&
		    (rec->attrs & ~base->attrs & rule->attrs & ATTR_BIT(ATTR_HASH))) {
			d->changed |= ATTR_BIT(ATTR_HASH);
			d->note = "the baseline could not read this file's content";
		}
		if (!d->changed)
			return DRIFT_NONE;
		d->action = DRIFT_CHANGED;
		d->before = base;
		d->after = rec;
		return DRIFT_REPORT;
	}
	if (old && !drift_selects(old, (const char *)d->id.p, d->id.n))
		return DRIFT_NEWLY_IN_SCOPE;
	d->action = DRIFT_ADDED;
	d->after = rec;
	return DRIFT_REPORT;
}

enum drift_verdict drift_file(const struct policy *old, const struct file_rec *base,
                              const struct file_rec *rec, bool prefix_same, struct drift *d)
{
	return drift_file_at(old, NULL, base, rec, prefix_same, d);
}

bool drift_identity_same(const struct file_rec *base, const struct stat *st)
{
	attrset_t need = ATTR_BIT(ATTR_INODE) | ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_MTIME) |
	                 ATTR_BIT(ATTR_CTIME);
	struct file_rec now = {0};

	if ((base->attrs & need) != need)
		return false;
	files_from_stat(st, need, &now);
	return base->inode == now.inode && base->size == now.size &&
	       base->mtime_ns == now.mtime_ns && base->ctime_ns == now.ctime_ns;
}
