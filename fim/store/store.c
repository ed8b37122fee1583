/* SPDX-License-Identifier: ISC */
/* The baseline store on LMDB, reading: opening the current environment, lookups, iterators. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "fim/core/endian.h"
#include "fim/core/hash.h"
#include "fim/core/object.h"
#include "fim/store/store.h"
#include "fim/store/store_db.h"
#include "fim/store/store_int.h"

struct store_iter {
	struct store *s; /* for the guard and the bounds of the map */
	MDB_cursor *cur;
	uint8_t prefix[8]; /* the parent id every key of this directory starts with */
	bool started, done;
	int kind; /* -1 for a directory's children, else the object kind */
};

/* LMDB's own codes as the errno values the rest of fim speaks. */
int store_mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_DBS_FULL:
		return -ENOSPC;
	case MDB_BAD_VALSIZE:
		return -E2BIG;
	case MDB_READERS_FULL:
	case MDB_MAP_RESIZED:
		return -EAGAIN;
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	/* a transaction LMDB marked failed: only damage it met does that to
	 * a baseline's read transaction (a writer has kept its first error) */
	case MDB_BAD_TXN:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return -EBADMSG;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

/* ---- reading ---- */

/* Path of the environment DIR/current points to, malloc'd. */
static int current_path(const char *dir, char **ret)
{
	char link[PATH_MAX], *lp = NULL, *path;
	ssize_t n;
	int r;

	r = asprintf(&lp, "%s/" CURRENT, dir);
	if (r < 0)
		return -ENOMEM;
	n = readlink(lp, link, sizeof(link));
	r = n < 0 ? -errno : 0;
	free(lp);
	if (r == -EINVAL)
		return -EBADMSG; /* "current" is not a symlink: not ours */
	if (r < 0)
		return r;
	if ((size_t)n >= sizeof(link))
		return -ENAMETOOLONG;
	link[n] = '\0';
	r = link[0] == '/' ? asprintf(&path, "%s", link) : asprintf(&path, "%s/%s", dir, link);
	if (r < 0)
		return -ENOMEM;
	*ret = path;
	return 0;
}

/* The signature of a signed baseline's data file, beside it. */

/* The signature file of environment PATH into BUF; returns its length,
 * -ENOKEY when there is none, -EKEYREJECTED when it is not a regular file
 * (a link, a directory) or too long, or a negative errno. */
static int read_file_sig(const char *path, uint8_t *buf, size_t size)
{
	_cleanup_free_ char *sp = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	ssize_t n;

	if (asprintf(&sp, "%s/" FILE_SIG, path) < 0) {
		sp = NULL;
		return -ENOMEM;
	}
	fd = open(sp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		return -EKEYREJECTED; /* a link is not the signature fim wrote */
	if (fd < 0)
		return errno == ENOENT ? -ENOKEY : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EKEYREJECTED; /* nor is a directory, a FIFO or a device */
	n = read(fd, buf, size);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -EKEYREJECTED; /* no signature is that long */
	return (int)n;
}

/* The data file of PATH, checked before LMDB maps it; with HOW->check,
 * its bytes must also be what was signed. *ret_fd stays open so that the
 * file LMDB opens can be compared with it. */
static int data_file_check(const char *path, const struct open_how *how, int *ret_fd,
                           struct stat *st)
{
	_cleanup_free_ char *dp = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t digest[32], sig[FILE_SIG_MAX];
	int r, n;

	if (asprintf(&dp, "%s/data.mdb", path) < 0) {
		dp = NULL;
		return -ENOMEM;
	}
	fd = open(dp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode))
		return -EBADMSG;
	if (how && how->check) {
		n = read_file_sig(path, sig, sizeof(sig));
		if (n < 0)
			return n;
		r = store_file_digest(fd, (uint64_t)st->st_size, digest);
		if (r < 0)
			return r;
		r = how->check(how->user, digest, sig, (size_t)n);
		if (r < 0)
			return r;
	}
	r = store_file_validate(fd, (uint64_t)st->st_size);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Records where LMDB mapped the data file ST: the one mapping of it that
 * was not there before (BEFORE[0..nb)). Without /proc, there is no guard
 * by address and no trimming. */
static void locate_map(struct store *s, const struct stat *st, const uintptr_t *before, size_t nb)
{
	uintptr_t lo[8], hi[8];
	size_t n = store_maps_of(st->st_dev, st->st_ino, lo, hi, ARRAY_SIZE(lo));

	for (size_t i = 0; i < n; i++) {
		bool old = false;

		for (size_t j = 0; j < nb; j++)
			old = old || before[j] == lo[i];
		if (!old) {
			s->map_start = lo[i];
			s->map_end = hi[i];
			s->file_end = lo[i] + (uintptr_t)st->st_size;
			return;
		}
	}
}

/*
 * Read-only open, always with MDB_NOLOCK: nothing ever writes to a baseline
 * once it is current, so readers need no lock table, and lock.mdb (which
 * LMDB maps and trusts as it finds it whenever another reader holds it) is
 * never read. The data file is checked first (see store_file_validate), and
 * the map is the file's size plus STORE_MAP_PAD, whatever the meta pages
 * ask for.
 */
static int env_open_ro(struct store *s, const char *path, const struct open_how *how)
{
	_cleanup_close_ int fd = -1;
	uintptr_t before_lo[8], before_hi[8];
	size_t nb;
	struct stat st, lst;
	MDB_env *env;
	int rc, r, lfd;

	r = data_file_check(path, how, &fd, &st);
	if (r < 0)
		return r;
	store_guard_arm();
	nb = store_maps_of(st.st_dev, st.st_ino, before_lo, before_hi, ARRAY_SIZE(before_lo));
	rc = mdb_env_create(&env);
	if (!rc) {
		mdb_env_set_assert(env, store_guard_assert);
		rc = mdb_env_set_maxdbs(env, MAX_DBS);
		if (!rc)
			rc = mdb_env_set_mapsize(env, (size_t)st.st_size + STORE_MAP_PAD);
		if (!rc)
			rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0);
		if (!rc)
			s->env = env;
		else
			mdb_env_close(env);
	}
	if (!s->env) {
		/* A data file too short or not LMDB's (an empty or truncated
		 * file) makes LMDB fail with these rather than MDB_INVALID. */
		if (rc == EBADF || rc == EINVAL)
			return -EBADMSG;
		return store_mdb_err(rc);
	}
	/* what LMDB opened must be the file that was checked */
	if (mdb_env_get_fd(s->env, &lfd) != 0 || fstat(lfd, &lst) < 0 || lst.st_ino != st.st_ino ||
	    lst.st_dev != st.st_dev || lst.st_size != st.st_size)
		return how && how->check ? -EKEYREJECTED : -EBADMSG;
	locate_map(s, &st, before_lo, nb);
	return 0;
}

int store_open_env(struct store *s, const char *dir, const struct open_how *how)
{
	int r = -ENOENT;

	/* A writer may swap in a new baseline and remove this one between
	 * reading the link and opening it: read the link again. */
	for (int i = 0; i < 3 && r == -ENOENT; i++) {
		_cleanup_free_ char *path = NULL;

		r = current_path(dir, &path);
		if (r < 0)
			return r;
		r = env_open_ro(s, path, how);
	}
	return r;
}

/*
 * Runs EXPR (an int expression reading S's map) under the guard: a fault
 * that damage to the file causes while it runs makes it -EBADMSG instead,
 * and S is broken from then on (every later read is -EBADMSG without
 * touching the map again). LMDB's state after such a jump is never used
 * again except to be freed.
 */
#define GUARDED(s, expr)                                                                           \
	({                                                                                         \
		struct store_guard g_;                                                             \
		int r_;                                                                            \
		if ((s)->broken) {                                                                 \
			r_ = -EBADMSG;                                                             \
		} else {                                                                           \
			store_guard_push(&g_, (s)->map_start, (s)->map_end);                       \
			if (sigsetjmp(g_.jb, 1)) {                                                 \
				(s)->broken = true;                                                \
				r_ = -EBADMSG;                                                     \
			} else {                                                                   \
				r_ = (expr);                                                       \
			}                                                                          \
			store_guard_pop(&g_);                                                      \
		}                                                                                  \
		r_;                                                                                \
	})

/* Whether a value LMDB handed out lies inside the data file: damaged
 * node sizes or overflow page numbers point anywhere else. */
static bool in_file(const struct store *s, const MDB_val *v)
{
	uintptr_t p = (uintptr_t)v->mv_data;

	if (!s || !s->file_end)
		return true; /* the map could not be located: nothing to compare */
	return p >= s->map_start && p <= s->file_end && v->mv_size <= s->file_end - p;
}

/* Opens DIR's current baseline with its read transaction and meta
 * database; *schema is the version found. -EBADMSG if it has none. */
static int attach_txn(struct store *s, uint32_t *schema)
{
	MDB_val k = {strlen(META_SCHEMA), (void *)META_SCHEMA}, v;
	int rc;

	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->txn);
	if (rc)
		return store_mdb_err(rc);
	rc = mdb_dbi_open(s->txn, "meta", 0, &s->meta);
	if (!rc)
		rc = mdb_get(s->txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND || (!rc && (v.mv_size != 4 || !in_file(s, &v))))
		return -EBADMSG;
	if (rc)
		return store_mdb_err(rc);
	*schema = get_be32(v.mv_data);
	return 0;
}

static int store_attach(struct store *s, const char *dir, const struct open_how *how,
                        uint32_t *schema)
{
	int r = store_open_env(s, dir, how);

	if (r < 0)
		return r;
	return GUARDED(s, attach_txn(s, schema));
}

static int open_dbs(struct store *s)
{
	int rc = mdb_dbi_open(s->txn, "files", 0, &s->files);

	if (!rc)
		rc = mdb_dbi_open(s->txn, "nodes", 0, &s->nodes);
	/* a kind's database exists only when the baseline recorded that kind */
	for (unsigned k = KIND_FILE + 1; !rc && k < KIND__MAX; k++) {
		rc = mdb_dbi_open(s->txn, kind_plural(k), 0, &s->objs[k]);
		if (rc == 0)
			s->have_objs |= 1u << k;
		else if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (!rc) {
		rc = mdb_dbi_open(s->txn, "audit", 0, &s->audit);
		s->have_audit = rc == 0;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	return rc == MDB_NOTFOUND ? -EBADMSG : store_mdb_err(rc);
}

static int store_open_how(const char *dir, const struct open_how *how, struct store **ret)
{
	struct store *s = calloc(1, sizeof(*s));
	uint32_t schema = 0;
	int r;

	if (!s)
		return -ENOMEM;
	r = store_attach(s, dir, how, &schema);
	if (r >= 0 && schema != STORE_SCHEMA_VERSION)
		r = -EPROTONOSUPPORT;
	if (r >= 0)
		r = GUARDED(s, open_dbs(s));
	if (r < 0) {
		store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

int store_open(const char *dir, struct store **ret)
{
	return store_open_how(dir, NULL, ret);
}

int store_open_verified(const char *dir, store_file_check_fn *check, void *user, struct store **ret)
{
	struct open_how how = {.check = check, .user = user};

	return store_open_how(dir, &how, ret);
}

/* LMDB frees a read transaction and the map without reading the map. */
void store_close(struct store *s)
{
	if (!s)
		return;
	for (unsigned k = 0; k < KIND__MAX; k++)
		if (s->obj_cur[k])
			mdb_cursor_close(s->obj_cur[k]);
	if (s->txn)
		mdb_txn_abort(s->txn);
	if (s->env)
		mdb_env_close(s->env);
	free(s);
}

uint32_t store_found_schema(const char *dir)
{
	struct store s = {0};
	uint32_t schema = 0;

	if (store_attach(&s, dir, NULL, &schema) < 0)
		schema = 0;
	if (s.txn)
		mdb_txn_abort(s.txn);
	if (s.env)
		mdb_env_close(s.env);
	return schema;
}

static int meta_get(struct store *s, const char *key, struct bytes *val)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_get(s->txn, s->meta, &k, &v);

	if (rc)
		return store_mdb_err(rc);
	if (!in_file(s, &v))
		return -EBADMSG;
	*val = (struct bytes){v.mv_data, v.mv_size};
	return 0;
}

int store_meta(struct store *s, const char *key, struct bytes *val)
{
	return GUARDED(s, meta_get(s, key, val));
}

/* Any value that does not decode is damage to the store (S NULL: a
 * writer's own transaction, where nothing is out of place). */
static int decode_in(const struct store *s, const MDB_val *v, struct file_rec *rec)
{
	if (!in_file(s, v))
		return -EBADMSG;
	return rec_decode(v->mv_data, v->mv_size, rec) < 0 ? -EBADMSG : 0;
}

int store_decode_value(const MDB_val *v, struct file_rec *rec)
{
	return decode_in(NULL, v, rec);
}

static int entry_get(struct store *s, uint64_t parent, const char *name, size_t nlen,
                     struct file_rec *rec)
{
	uint8_t key[KEY_MAX];
	MDB_val k, v;
	int rc;

	if (nlen > FIM_MAX_NAME)
		return -ENOENT; /* cannot have been stored */
	k = store_key_of(key, parent, name, nlen);
	rc = mdb_get(s->txn, s->files, &k, &v);
	if (rc)
		return store_mdb_err(rc);
	return decode_in(s, &v, rec);
}

int store_get(struct store *s, uint64_t parent, const char *name, size_t nlen, struct file_rec *rec)
{
	return GUARDED(s, entry_get(s, parent, name, nlen, rec));
}

/* Directories carry the node id of their entries; the type is checked
 * only when the baseline recorded it. */
static bool is_dir(const struct file_rec *rec)
{
	return rec->dirid != 0 && (!(rec->attrs & ATTR_BIT(ATTR_TYPE)) || rec->type == FT_DIR);
}

static int lookup(struct store *s, const char *path, size_t len, struct file_rec *rec,
                  uint64_t *ret_parent)
{
	struct file_rec cur;
	uint64_t parent = 0;
	size_t i = 0, depth = 0;
	int r;

	if (len == 0 || path[0] != '/')
		return -EINVAL;
	r = entry_get(s, 0, "", 0, &cur);
	while (r >= 0) {
		const char *slash;
		size_t n;

		while (i < len && path[i] == '/')
			i++;
		if (i == len)
			break;
		slash = memchr(path + i, '/', len - i);
		n = slash ? (size_t)(slash - (path + i)) : len - i;
		if (!is_dir(&cur) || ++depth > FIM_MAX_DEPTH + 1)
			return -ENOENT;
		parent = cur.dirid;
		r = entry_get(s, parent, path + i, n, &cur);
		i += n;
	}
	if (r < 0)
		return r;
	*rec = cur;
	if (ret_parent)
		*ret_parent = parent;
	return 0;
}

int store_lookup(struct store *s, const char *path, size_t len, struct file_rec *rec,
                 uint64_t *ret_parent)
{
	return GUARDED(s, lookup(s, path, len, rec, ret_parent));
}

int store_iter_children(struct store *s, uint64_t parent, struct store_iter **ret)
{
	struct store_iter *it = calloc(1, sizeof(*it));
	int rc;

	if (!it)
		return -ENOMEM;
	it->s = s;
	rc = s->broken ? MDB_CORRUPTED : mdb_cursor_open(s->txn, s->files, &it->cur);
	if (rc) {
		free(it);
		return store_mdb_err(rc);
	}
	put_be64(it->prefix, parent);
	it->kind = -1;
	*ret = it;
	return 0;
}

static int iter_next(struct store_iter *it, struct bytes *name, struct file_rec *rec)
{
	MDB_val k = {sizeof(it->prefix), it->prefix}, v;
	int rc, r;

	if (it->done)
		return 0;
	/* Keys sort by parent id first, so the children are one run of keys. */
	rc = mdb_cursor_get(it->cur, &k, &v, it->started ? MDB_NEXT : MDB_SET_RANGE);
	it->started = true;
	if (rc == MDB_NOTFOUND || (!rc && (k.mv_size < 8 || memcmp(k.mv_data, it->prefix, 8)))) {
		it->done = true;
		return 0;
	}
	if (rc)
		return store_mdb_err(rc);
	if (k.mv_size - 8 > FIM_MAX_NAME || !in_file(it->s, &k))
		return -EBADMSG;
	r = decode_in(it->s, &v, rec);
	if (r < 0)
		return r;
	*name = (struct bytes){(const uint8_t *)k.mv_data + 8, k.mv_size - 8};
	return 1;
}

int store_iter_next(struct store_iter *it, struct bytes *name, struct file_rec *rec)
{
	return GUARDED(it->s, iter_next(it, name, rec));
}

void store_iter_free(struct store_iter *it)
{
	if (!it)
		return;
	if (it->cur)
		mdb_cursor_close(it->cur);
	free(it);
}

bool store_has_kind(struct store *s, enum fim_kind kind)
{
	return kind == KIND_FILE || ((unsigned)kind < KIND__MAX && (s->have_objs & (1u << kind)));
}

int store_obj_key(const char *id, size_t len, MDB_val *k)
{
	if (len == 0 || len > OBJ_MAX_ID)
		return -EINVAL;
	*k = (MDB_val){len, (void *)id};
	return 0;
}

static int obj_get(struct store *s, enum fim_kind kind, const char *id, size_t len,
                   struct obj_rec *rec)
{
	MDB_val k, v;
	int rc, r;

	if (!store_has_kind(s, kind) || kind == KIND_FILE)
		return -ENOENT;
	r = store_obj_key(id, len, &k);
	if (r < 0)
		return r == -EINVAL ? -ENOENT : r;
	/* a cursor hands back the key inside the map, so rec->id outlives ID;
	 * it is kept with the store, so that a jump out of a read leaks nothing */
	if (!s->obj_cur[kind]) {
		rc = mdb_cursor_open(s->txn, s->objs[kind], &s->obj_cur[kind]);
		if (rc)
			return store_mdb_err(rc);
	}
	rc = mdb_cursor_get(s->obj_cur[kind], &k, &v, MDB_SET_KEY);
	if (rc)
		return store_mdb_err(rc);
	if (!in_file(s, &k) || !in_file(s, &v) || obj_decode(v.mv_data, v.mv_size, kind, rec) < 0)
		return -EBADMSG;
	rec->id = (struct bytes){k.mv_data, k.mv_size};
	return 0;
}

int store_obj_get(struct store *s, enum fim_kind kind, const char *id, size_t len,
                  struct obj_rec *rec)
{
	return GUARDED(s, obj_get(s, kind, id, len, rec));
}

int store_obj_iter(struct store *s, enum fim_kind kind, struct store_iter **ret)
{
	struct store_iter *it;
	int rc;

	if (kind == KIND_FILE || (unsigned)kind >= KIND__MAX)
		return -EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->kind = kind;
	it->s = s;
	if (!store_has_kind(s, kind)) {
		it->done = true; /* nothing recorded: an empty iteration */
		*ret = it;
		return 0;
	}
	rc = s->broken ? MDB_CORRUPTED : mdb_cursor_open(s->txn, s->objs[kind], &it->cur);
	if (rc) {
		free(it);
		return store_mdb_err(rc);
	}
	*ret = it;
	return 0;
}

static int obj_next(struct store_iter *it, struct obj_rec *rec)
{
	MDB_val k, v;
	int rc;

	if (it->done || it->kind < 0)
		return 0;
	rc = mdb_cursor_get(it->cur, &k, &v, it->started ? MDB_NEXT : MDB_FIRST);
	it->started = true;
	if (rc == MDB_NOTFOUND) {
		it->done = true;
		return 0;
	}
	if (rc)
		return store_mdb_err(rc);
	if (k.mv_size == 0 || k.mv_size > OBJ_MAX_ID || !in_file(it->s, &k) ||
	    !in_file(it->s, &v) || obj_decode(v.mv_data, v.mv_size, it->kind, rec) < 0)
		return -EBADMSG;
	rec->id = (struct bytes){k.mv_data, k.mv_size};
	return 1;
}

int store_obj_next(struct store_iter *it, struct obj_rec *rec)
{
	if (it->done || it->kind < 0)
		return 0;
	return GUARDED(it->s, obj_next(it, rec));
}

int store_audit_iter(struct store *s, struct store_iter **ret)
{
	struct store_iter *it = calloc(1, sizeof(*it));
	int rc;

	if (!it)
		return -ENOMEM;
	it->kind = KIND__MAX; /* marks an audit iteration */
	it->s = s;
	if (!s->have_audit) {
		it->done = true;
		*ret = it;
		return 0;
	}
	rc = s->broken ? MDB_CORRUPTED : mdb_cursor_open(s->txn, s->audit, &it->cur);
	if (rc) {
		free(it);
		return store_mdb_err(rc);
	}
	*ret = it;
	return 0;
}

static int audit_next(struct store_iter *it, uint64_t *seq, struct bytes *entry)
{
	MDB_val k, v;
	int rc;

	if (it->done || it->kind != KIND__MAX)
		return 0;
	rc = mdb_cursor_get(it->cur, &k, &v, it->started ? MDB_NEXT : MDB_FIRST);
	it->started = true;
	if (rc == MDB_NOTFOUND) {
		it->done = true;
		return 0;
	}
	if (rc)
		return store_mdb_err(rc);
	if (k.mv_size != 8 || !in_file(it->s, &k) || !in_file(it->s, &v))
		return -EBADMSG;
	*seq = get_be64(k.mv_data);
	*entry = (struct bytes){v.mv_data, v.mv_size};
	return 1;
}

int store_audit_next(struct store_iter *it, uint64_t *seq, struct bytes *entry)
{
	if (it->done || it->kind != KIND__MAX)
		return 0;
	return GUARDED(it->s, audit_next(it, seq, entry));
}

/* --- the digest a signature covers --- */

static int digest_put(struct hash_ctx *h, const void *p, size_t n)
{
	uint8_t len[8];

	put_be64(len, n);
	if (hash_update(h, len, sizeof(len)) < 0 || (n && hash_update(h, p, n) < 0))
		return -EIO;
	return 0;
}

/* What a digest holds while it runs, freed by its caller: a guarded digest
 * may end in a jump. */
struct digest_run {
	struct hash_ctx *h;
	MDB_cursor *names, *cur;
};

static int digest_walk(const struct store *s, MDB_txn *txn, struct digest_run *d,
                       uint8_t out[STORE_DIGEST_BYTES])
{
	static const char tag[] = "fim-baseline-digest-v1";
	struct hash_ctx *h = d->h;
	MDB_val nk, nv, k, v;
	MDB_dbi main_dbi, dbi;
	int rc, r = 0;

	if (hash_init(h) < 0 || digest_put(h, tag, sizeof(tag) - 1) < 0)
		return -EIO;
	rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
	if (!rc)
		rc = mdb_cursor_open(txn, main_dbi, &d->names);
	for (rc = rc ? rc : mdb_cursor_get(d->names, &nk, &nv, MDB_FIRST); rc == 0 && r == 0;
	     rc = mdb_cursor_get(d->names, &nk, &nv, MDB_NEXT)) {
		char name[256];
		uint64_t count = 0;
		unsigned flags;
		bool meta;

		/* the main database holds only the names of the others */
		if (nk.mv_size == 0 || nk.mv_size >= sizeof(name) || !in_file(s, &nk) ||
		    memchr(nk.mv_data, 0, nk.mv_size)) {
			r = -EBADMSG;
			break;
		}
		memcpy(name, nk.mv_data, nk.mv_size);
		name[nk.mv_size] = '\0';
		meta = strcmp(name, "meta") == 0;
		rc = mdb_dbi_open(txn, name, 0, &dbi);
		if (!rc)
			rc = mdb_dbi_flags(txn, dbi, &flags);
		if (rc)
			break;
		/* fim creates every database with default flags; others (a reversed
		 * key order, duplicates) would change how records are found
		 * without changing their bytes */
		if (flags) {
			r = -EBADMSG;
			break;
		}
		rc = mdb_cursor_open(txn, dbi, &d->cur);
		if (rc)
			break;
		r = digest_put(h, name, nk.mv_size);
		for (rc = mdb_cursor_get(d->cur, &k, &v, MDB_FIRST); rc == 0 && r == 0;
		     rc = mdb_cursor_get(d->cur, &k, &v, MDB_NEXT)) {
			if (!in_file(s, &k) || !in_file(s, &v)) {
				r = -EBADMSG;
				break;
			}
			if (meta && k.mv_size == strlen(META_SIGNATURE) &&
			    memcmp(k.mv_data, META_SIGNATURE, k.mv_size) == 0)
				continue;
			r = digest_put(h, k.mv_data, k.mv_size);
			if (r == 0)
				r = digest_put(h, v.mv_data, v.mv_size);
			count++;
		}
		mdb_cursor_close(d->cur);
		d->cur = NULL;
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc == 0 && r == 0) {
			uint8_t c[8];
			put_be64(c, count);
			r = digest_put(h, c, sizeof(c));
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (r == 0 && rc)
		r = store_mdb_err(rc);
	if (r == 0 && hash_final(h, out) < 0)
		r = -EIO;
	return r;
}

static void digest_run_free(struct digest_run *d)
{
	if (d->cur)
		mdb_cursor_close(d->cur);
	if (d->names)
		mdb_cursor_close(d->names);
	hash_free(d->h);
}

/* Every key and value of every named database in TXN, in name and key
 * order, except the signature itself. */
int store_digest_txn(struct store *s, MDB_txn *txn, uint8_t out[STORE_DIGEST_BYTES])
{
	struct digest_run d = {.h = hash_new(HASH_SHA256)};
	int r;

	if (!d.h)
		return -ENOMEM;
	r = s ? GUARDED(s, digest_walk(s, txn, &d, out)) : digest_walk(NULL, txn, &d, out);
	digest_run_free(&d);
	return r;
}

int store_digest(struct store *s, uint8_t out[STORE_DIGEST_BYTES])
{
	return store_digest_txn(s, s->txn, out);
}

/* Parent and name of node ID. */
static int node_get(struct store *s, uint64_t id, uint64_t *parent, struct bytes *name)
{
	uint8_t key[8];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	put_be64(key, id);
	rc = mdb_get(s->txn, s->nodes, &k, &v);
	if (rc)
		return store_mdb_err(rc);
	if (v.mv_size <= 8 || v.mv_size > 8 + FIM_MAX_NAME || !in_file(s, &v) ||
	    memchr((const uint8_t *)v.mv_data + 8, '/', v.mv_size - 8))
		return -EBADMSG;
	*parent = get_be64(v.mv_data);
	*name = (struct bytes){(const uint8_t *)v.mv_data + 8, v.mv_size - 8};
	return 0;
}

/* Names from node ID up to the root, leaf first; bounded so that a cycle
 * in a damaged store ends as -EBADMSG. */
static int node_names(struct store *s, uint64_t id, struct bytes *names, size_t *depth,
                      size_t *total)
{
	uint64_t cur = id;

	*depth = *total = 0;
	while (cur != STORE_ROOT_ID) {
		uint64_t parent = 0;
		struct bytes name;
		int r = node_get(s, cur, &parent, &name);

		if (r == -ENOENT && cur != id)
			return -EBADMSG; /* a dangling parent */
		if (r < 0)
			return r;
		if (*depth == FIM_MAX_DEPTH + 1)
			return -EBADMSG;
		names[(*depth)++] = name;
		*total += 1 + name.n;
		cur = parent;
	}
	return 0;
}

int store_node_path(struct store *s, uint64_t id, char **ret, size_t *ret_len)
{
	_cleanup_free_ struct bytes *names = calloc(FIM_MAX_DEPTH + 1, sizeof(*names));
	size_t depth, total, at = 0;
	char *path;
	int r;

	if (!names)
		return -ENOMEM;
	/* the names are checked to lie in the file: reading them is safe */
	r = GUARDED(s, node_names(s, id, names, &depth, &total));
	if (r < 0)
		return r;
	path = malloc(total + 2);
	if (!path)
		return -ENOMEM;
	for (size_t i = depth; i-- > 0; at += names[i].n) {
		path[at++] = '/';
		memcpy(path + at, names[i].p, names[i].n);
	}
	if (at == 0)
		path[at++] = '/';
	path[at] = '\0';
	*ret = path;
	if (ret_len)
		*ret_len = at;
	return 0;
}

/*
 * Unmaps the pages of the map this process has touched. They stay in the
 * page cache and come back on the next access (pointers into the map stay
 * valid), so a scan of a million records does not keep them all resident.
 */
void store_trim(struct store *s)
{
	if (s->map_end > s->map_start)
		madvise((void *)s->map_start, s->map_end - s->map_start, MADV_DONTNEED);
}
