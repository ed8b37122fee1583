/* SPDX-License-Identifier: ISC */
/* The baseline store on LMDB: building a fresh environment, swapping it in, reading it. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <lmdb.h>

#include "fim/core/endian.h"
#include "fim/core/hash.h"
#include "fim/core/object.h"
#include "fim/store/store.h"
#include "fim/store/store_int.h"

#define CURRENT         "current"
#define BASELINE_PREFIX "baseline."
#define MAX_DBS         32 /* ours need 4 + KIND__MAX; more is what a digest must still see */
#define KEY_MAX         (8 + FIM_MAX_NAME)
#define MIB             ((size_t)1 << 20)
#define MAP_START       (64 * MIB) /* also the head room kept free above twice the used size */
#define BATCH_PUTS      20000
/*
 * A batch is also closed once its estimated page use reaches this, so that
 * the head room checked between batches always covers the next one, even
 * when values are large (a 64 KiB xattr list per file).
 */
#define BATCH_COST (16 * MIB)
/* A batch therefore stays under BATCH_COST + STORE_MAX_VALUE, less than
 * the head room: the map cannot fill inside a transaction. */
_Static_assert(BATCH_COST + STORE_MAX_VALUE < MAP_START, "head room too small");

struct store {
	MDB_env *env;
	MDB_txn *txn; /* the one read transaction, open until store_close */
	MDB_dbi meta, files, nodes;
	MDB_dbi objs[KIND__MAX];
	uint32_t have_objs; /* bit per kind whose database exists */
	MDB_dbi audit;
	bool have_audit;
	uintptr_t map_start, map_end;   /* the map, found in /proc/self/maps; 0 if unknown */
	uintptr_t file_end;             /* map_start + the data file's size */
	bool broken;                    /* a read faulted: the map is not read again */
	MDB_cursor *obj_cur[KIND__MAX]; /* for store_obj_get, opened on first use */
};

struct store_iter {
	struct store *s; /* for the guard and the bounds of the map */
	MDB_cursor *cur;
	uint8_t prefix[8]; /* the parent id every key of this directory starts with */
	bool started, done;
	int kind; /* -1 for a directory's children, else the object kind */
};

struct store_writer {
	int dirfd;        /* the db directory */
	char *path;       /* DIR/baseline.XXXXXX, the new environment */
	const char *name; /* its last component, inside path; NULL once it is current */
	MDB_env *env;
	MDB_txn *txn; /* the open batch; NULL after a failure */
	MDB_dbi meta, files, nodes;
	MDB_dbi objs[KIND__MAX];
	uint32_t have_objs;
	MDB_dbi audit;
	bool have_audit;
	size_t psize, batch_puts, batch_cost;
	uint64_t next_id;
	int err; /* first LMDB failure: the batch is lost, so every later call fails */
	struct buf enc;
	store_file_sign_fn *sign; /* signs data.mdb at commit, when set */
	void *sign_user;
};

/* LMDB's own codes as the errno values the rest of fim speaks. */
static int mdb_err(int rc)
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

static MDB_val key_of(uint8_t *key, uint64_t parent, const char *name, size_t nlen)
{
	put_be64(key, parent);
	if (nlen)
		memcpy(key + 8, name, nlen);
	return (MDB_val){.mv_size = 8 + nlen, .mv_data = key};
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
#define FILE_SIG     "data.sig"
#define FILE_SIG_MAX 512

/* How an environment is to be opened: with the data file's signature
 * checked first when CHECK is set. */
struct open_how {
	store_file_check_fn *check;
	void *user;
};

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
		return mdb_err(rc);
	}
	/* what LMDB opened must be the file that was checked */
	if (mdb_env_get_fd(s->env, &lfd) != 0 || fstat(lfd, &lst) < 0 || lst.st_ino != st.st_ino ||
	    lst.st_dev != st.st_dev || lst.st_size != st.st_size)
		return how && how->check ? -EKEYREJECTED : -EBADMSG;
	locate_map(s, &st, before_lo, nb);
	return 0;
}

static int open_env_of(struct store *s, const char *dir, const struct open_how *how)
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
		return mdb_err(rc);
	rc = mdb_dbi_open(s->txn, "meta", 0, &s->meta);
	if (!rc)
		rc = mdb_get(s->txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND || (!rc && (v.mv_size != 4 || !in_file(s, &v))))
		return -EBADMSG;
	if (rc)
		return mdb_err(rc);
	*schema = get_be32(v.mv_data);
	return 0;
}

static int store_attach(struct store *s, const char *dir, const struct open_how *how,
                        uint32_t *schema)
{
	int r = open_env_of(s, dir, how);

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
	return rc == MDB_NOTFOUND ? -EBADMSG : mdb_err(rc);
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
		return mdb_err(rc);
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

static int decode_value(const MDB_val *v, struct file_rec *rec)
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
	k = key_of(key, parent, name, nlen);
	rc = mdb_get(s->txn, s->files, &k, &v);
	if (rc)
		return mdb_err(rc);
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
		return mdb_err(rc);
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
		return mdb_err(rc);
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

static int obj_key(const char *id, size_t len, MDB_val *k)
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
	r = obj_key(id, len, &k);
	if (r < 0)
		return r == -EINVAL ? -ENOENT : r;
	/* a cursor hands back the key inside the map, so rec->id outlives ID;
	 * it is kept with the store, so that a jump out of a read leaks nothing */
	if (!s->obj_cur[kind]) {
		rc = mdb_cursor_open(s->txn, s->objs[kind], &s->obj_cur[kind]);
		if (rc)
			return mdb_err(rc);
	}
	rc = mdb_cursor_get(s->obj_cur[kind], &k, &v, MDB_SET_KEY);
	if (rc)
		return mdb_err(rc);
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
		return mdb_err(rc);
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
		return mdb_err(rc);
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
		return mdb_err(rc);
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
		return mdb_err(rc);
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
		r = mdb_err(rc);
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
static int digest_txn(struct store *s, MDB_txn *txn, uint8_t out[STORE_DIGEST_BYTES])
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
	return digest_txn(s, s->txn, out);
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
		return mdb_err(rc);
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

/* ---- writing ---- */

/* Removes the environment NAME in DIRFD; what cannot be removed stays. */
static void remove_env(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		unlinkat(fd, "data.mdb", 0);
		unlinkat(fd, "lock.mdb", 0);
		unlinkat(fd, FILE_SIG, 0);
		close(fd);
	}
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

static int writer_fail(struct store_writer *w, int r)
{
	if (w->txn)
		mdb_txn_abort(w->txn);
	w->txn = NULL;
	w->err = r;
	return r;
}

/* Grows the map between transactions, before it can fill. */
static int writer_grow(struct store_writer *w)
{
	MDB_envinfo info;
	MDB_stat st;
	size_t used, want;
	int rc;

	rc = mdb_env_info(w->env, &info);
	if (!rc)
		rc = mdb_env_stat(w->env, &st);
	if (rc)
		return mdb_err(rc);
	w->psize = st.ms_psize;
	used = (info.me_last_pgno + 1) * st.ms_psize;
	want = 2 * used + MAP_START;
	if (info.me_mapsize >= want)
		return 0;
	/* Twice what is needed now, so that growing stays rare. */
	return mdb_err(mdb_env_set_mapsize(w->env, 2 * want));
}

static int writer_begin(struct store_writer *w)
{
	int rc, r;

	r = writer_grow(w);
	if (r < 0)
		return r;
	rc = mdb_txn_begin(w->env, NULL, 0, &w->txn);
	if (rc) {
		w->txn = NULL;
		return mdb_err(rc);
	}
	w->batch_puts = w->batch_cost = 0;
	return 0;
}

static int writer_put(struct store_writer *w, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	int rc = mdb_put(w->txn, dbi, k, v, 0);

	if (rc)
		return writer_fail(w, mdb_err(rc));
	/* Values too big for a leaf take overflow pages of their own; small
	 * ones fill leaves at least half after splits. */
	if (v->mv_size > w->psize / 4)
		w->batch_cost += (v->mv_size / w->psize + 2) * w->psize;
	else
		w->batch_cost += 2 * (k->mv_size + v->mv_size + 16);
	w->batch_puts++;
	return 0;
}

/* Ends the batch when it is big enough and starts the next one. */
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

static int writer_maybe_commit(struct store_writer *w)
{
	int rc, r;

	if (w->batch_puts < BATCH_PUTS && w->batch_cost < BATCH_COST)
		return 0;
	rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	if (rc)
		return writer_fail(w, mdb_err(rc));
	r = writer_begin(w);
	return r < 0 ? writer_fail(w, r) : 0;
}

static int writer_open_dbs(struct store_writer *w)
{
	uint8_t schema[8];
	int rc;

	rc = mdb_dbi_open(w->txn, "meta", MDB_CREATE, &w->meta);
	if (!rc)
		rc = mdb_dbi_open(w->txn, "files", MDB_CREATE, &w->files);
	if (!rc)
		rc = mdb_dbi_open(w->txn, "nodes", MDB_CREATE, &w->nodes);
	if (rc)
		return mdb_err(rc);
	put_be64(schema, STORE_SCHEMA_VERSION);
	return store_writer_meta(w, META_SCHEMA, schema + 4, 4);
}

/* A fresh environment beside the current one; NOSYNC because nothing
 * reads it before commit syncs it once. */
static int writer_create_env(struct store_writer *w, const char *dir)
{
	int rc;

	if (asprintf(&w->path, "%s/" BASELINE_PREFIX "XXXXXX", dir) < 0) {
		w->path = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(w->path))
		return -errno;
	w->name = strrchr(w->path, '/') + 1;
	rc = mdb_env_create(&w->env);
	if (rc) {
		w->env = NULL;
		return mdb_err(rc);
	}
	rc = mdb_env_set_maxdbs(w->env, MAX_DBS);
	if (!rc)
		rc = mdb_env_set_mapsize(w->env, MAP_START);
	if (!rc)
		rc = mdb_env_open(w->env, w->path, MDB_NOSYNC | MDB_NOTLS, 0600);
	return mdb_err(rc);
}

/*
 * Environments a crashed writer left behind: every "baseline.*" that is
 * neither current nor the one being written. Only called under the lock.
 */
static void remove_stale(struct store_writer *w)
{
	char cur[PATH_MAX] = "";
	ssize_t n = readlinkat(w->dirfd, CURRENT, cur, sizeof(cur) - 1);
	int fd = fcntl(w->dirfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (n > 0)
		cur[n] = '\0';
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, BASELINE_PREFIX, strlen(BASELINE_PREFIX)) != 0 ||
		    strcmp(de->d_name, cur) == 0 || (w->name && strcmp(de->d_name, w->name) == 0))
			continue;
		remove_env(w->dirfd, de->d_name);
	}
	closedir(d);
}

/*
 * DIR's current baseline copied (compacted) into the environment PATH, by
 * a child process: LMDB's compacting copy hands pages to a thread of its
 * own that waits on the walker's stack, so a fault in the walk cannot be
 * jumped out of (that thread would wake on a discarded frame), and damaged
 * page bounds make it write past its own buffers. The child reports its
 * result through a pipe; a child that ends without one (killed by a signal,
 * aborted) read a damaged baseline. Returns 0, -EBADMSG, or the negative
 * errno the copy failed with.
 */
static int copy_current(const char *dir, const char *path)
{
	_cleanup_close_ int rfd = -1, wfd = -1;
	int p[2], status, res = -EBADMSG;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rfd = p[0];
	wfd = p[1];
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct store cur = {0};
		int r = open_env_of(&cur, dir, NULL);

		if (r >= 0)
			r = mdb_err(mdb_env_copy2(cur.env, path, MDB_CP_COMPACT));
		_exit(write(wfd, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(TAKE_FD(wfd));
	do
		n = read(rfd, &res, sizeof(res));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(res))
		res = -EBADMSG;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EBADMSG;
	return res > 0 ? -EIO : res;
}

/* The current baseline copied into a fresh environment (mdb_env_copy2
 * compacts it), to be changed and swapped in like a new one. */
static int writer_copy_env(struct store_writer *w, const char *dir)
{
	struct stat st;
	char *data = NULL;
	size_t map = MAP_START;
	int rc, r;

	if (asprintf(&w->path, "%s/" BASELINE_PREFIX "XXXXXX", dir) < 0) {
		w->path = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(w->path))
		return -errno;
	w->name = strrchr(w->path, '/') + 1;
	r = copy_current(dir, w->path);
	if (r < 0)
		return r;
	if (asprintf(&data, "%s/data.mdb", w->path) < 0)
		return -ENOMEM;
	if (stat(data, &st) == 0)
		map += 2 * (size_t)st.st_size;
	free(data);
	rc = mdb_env_create(&w->env);
	if (rc) {
		w->env = NULL;
		return mdb_err(rc);
	}
	rc = mdb_env_set_maxdbs(w->env, MAX_DBS);
	if (!rc)
		rc = mdb_env_set_mapsize(w->env, map);
	if (!rc)
		rc = mdb_env_open(w->env, w->path, MDB_NOSYNC | MDB_NOTLS, 0600);
	return mdb_err(rc);
}

/* Opens the databases a copied baseline has, and continues its node ids. */
static int writer_adopt(struct store_writer *w)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	for (unsigned kd = KIND_FILE + 1; kd < KIND__MAX; kd++) {
		rc = mdb_dbi_open(w->txn, kind_plural(kd), 0, &w->objs[kd]);
		if (rc == 0)
			w->have_objs |= 1u << kd;
		else if (rc != MDB_NOTFOUND)
			return mdb_err(rc);
	}
	rc = mdb_dbi_open(w->txn, "audit", 0, &w->audit);
	w->have_audit = rc == 0;
	if (rc && rc != MDB_NOTFOUND)
		return mdb_err(rc);
	rc = mdb_cursor_open(w->txn, w->nodes, &cur);
	if (rc)
		return mdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return mdb_err(rc);
	if (k.mv_size != 8)
		return -EBADMSG;
	w->next_id = get_be64(k.mv_data) + 1;
	return 0;
}

/*
 * Locks DIR and opens the environment the new baseline is written to:
 * empty (COPY false) or a copy of the current baseline (for accept).
 */
static int writer_start(const char *dir, bool copy, struct store_writer **ret)
{
	struct store_writer *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->dirfd = -1;
	w->next_id = copy ? STORE_ROOT_ID + 1 : STORE_ROOT_ID;
	if (!copy && mkdir(dir, 0700) < 0 && errno != EEXIST)
		r = -errno;
	else if ((w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = -errno;
	else if (flock(w->dirfd, LOCK_EX | LOCK_NB) < 0) /* held until dirfd closes */
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
	else
		r = copy ? writer_copy_env(w, dir) : writer_create_env(w, dir);
	if (r >= 0)
		remove_stale(w);
	if (r >= 0)
		r = writer_begin(w);
	if (r >= 0)
		r = writer_open_dbs(w);
	if (r >= 0 && copy)
		r = writer_adopt(w);
	if (r < 0) {
		store_writer_abort(w);
		return r;
	}
	*ret = w;
	return 0;
}

int store_writer_new(const char *dir, struct store_writer **ret)
{
	return writer_start(dir, false, ret);
}

int store_writer_update(const char *dir, struct store_writer **ret)
{
	return writer_start(dir, true, ret);
}

int store_writer_get(struct store_writer *w, uint64_t parent, const char *name, size_t nlen,
                     struct file_rec *rec)
{
	uint8_t key[KEY_MAX];
	MDB_val k, v;
	int rc;

	if (w->err)
		return w->err;
	if (nlen > FIM_MAX_NAME)
		return -ENOENT;
	k = key_of(key, parent, name, nlen);
	rc = mdb_get(w->txn, w->files, &k, &v);
	if (rc)
		return mdb_err(rc);
	return decode_value(&v, rec);
}

/* Deletes entry NAME of PARENT and, for a directory, everything below it. */
static int writer_del_tree(struct store_writer *w, uint64_t parent, const char *name, size_t nlen,
                           unsigned depth)
{
	uint8_t key[KEY_MAX], id[8];
	struct file_rec rec;
	MDB_val k, v;
	int rc, r;

	if (depth > FIM_MAX_DEPTH)
		return -EBADMSG;
	k = key_of(key, parent, name, nlen);
	rc = mdb_get(w->txn, w->files, &k, &v);
	if (rc)
		return mdb_err(rc);
	r = decode_value(&v, &rec);
	if (r < 0)
		return r;
	if (rec.type == FT_DIR && rec.dirid) {
		MDB_cursor *cur;
		MDB_val ck, cv;

		put_be64(id, rec.dirid);
		for (;;) {
			char child[FIM_MAX_NAME];
			size_t cn;

			rc = mdb_cursor_open(w->txn, w->files, &cur);
			if (rc)
				return mdb_err(rc);
			ck = (MDB_val){8, id};
			rc = mdb_cursor_get(cur, &ck, &cv, MDB_SET_RANGE);
			if (rc == 0 && (ck.mv_size < 8 || memcmp(ck.mv_data, id, 8) != 0))
				rc = MDB_NOTFOUND;
			cn = rc == 0 ? ck.mv_size - 8 : 0;
			if (rc == 0 && cn <= sizeof(child))
				memcpy(child, (uint8_t *)ck.mv_data + 8, cn);
			mdb_cursor_close(cur);
			if (rc == MDB_NOTFOUND)
				break;
			if (rc)
				return mdb_err(rc);
			if (cn > sizeof(child))
				return -EBADMSG;
			r = writer_del_tree(w, rec.dirid, child, cn, depth + 1);
			if (r < 0)
				return r;
		}
		k = (MDB_val){8, id};
		rc = mdb_del(w->txn, w->nodes, &k, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return mdb_err(rc);
	}
	k = key_of(key, parent, name, nlen);
	rc = mdb_del(w->txn, w->files, &k, NULL);
	return rc ? mdb_err(rc) : 0;
}

int store_writer_del(struct store_writer *w, uint64_t parent, const char *name, size_t nlen)
{
	int r;

	if (w->err)
		return w->err;
	if (nlen == 0 || nlen > FIM_MAX_NAME)
		return -EINVAL;
	r = writer_del_tree(w, parent, name, nlen, 0);
	return r == -ENOENT || r == -EINVAL || r == -EBADMSG ? r : r < 0 ? writer_fail(w, r) : 0;
}

int store_writer_del_obj(struct store_writer *w, enum fim_kind kind, const char *id, size_t len)
{
	MDB_val k;
	int rc;

	if (w->err)
		return w->err;
	if ((unsigned)kind >= KIND__MAX || kind == KIND_FILE || !(w->have_objs & (1u << kind)) ||
	    obj_key(id, len, &k) < 0)
		return -ENOENT;
	rc = mdb_del(w->txn, w->objs[kind], &k, NULL);
	return rc == MDB_NOTFOUND ? -ENOENT : rc ? writer_fail(w, mdb_err(rc)) : 0;
}

int store_writer_audit(struct store_writer *w, const void *entry, size_t n, uint64_t *ret_seq)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t seq[8];
	uint64_t next = 1;
	int rc, r;

	if (w->err)
		return w->err;
	if (n > STORE_MAX_VALUE)
		return -E2BIG;
	if (!w->have_audit) {
		rc = mdb_dbi_open(w->txn, "audit", MDB_CREATE, &w->audit);
		if (rc)
			return writer_fail(w, mdb_err(rc));
		w->have_audit = true;
	}
	rc = mdb_cursor_open(w->txn, w->audit, &cur);
	if (rc)
		return writer_fail(w, mdb_err(rc));
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == 0 && k.mv_size == 8)
		next = get_be64(k.mv_data) + 1;
	else if (rc && rc != MDB_NOTFOUND)
		return writer_fail(w, mdb_err(rc));
	put_be64(seq, next);
	k = (MDB_val){8, seq};
	v = (MDB_val){n, (void *)entry};
	r = writer_put(w, w->audit, &k, &v);
	if (r == 0 && ret_seq)
		*ret_seq = next;
	return r;
}

uint64_t store_writer_new_node(struct store_writer *w)
{
	return w->next_id++;
}

static int check_name(uint64_t parent, const char *name, size_t nlen)
{
	if (nlen > FIM_MAX_NAME)
		return -E2BIG;
	/* Only the root has an empty name; '/' and NUL would make an entry
	 * that no path can reach. */
	if ((nlen == 0) != (parent == 0))
		return -EINVAL;
	if (nlen && (memchr(name, '/', nlen) || memchr(name, '\0', nlen)))
		return -EINVAL;
	return 0;
}

static int writer_put_node(struct store_writer *w, uint64_t id, uint64_t parent, const char *name,
                           size_t nlen)
{
	uint8_t key[8], val[KEY_MAX];
	MDB_val k = {sizeof(key), key}, v;

	put_be64(key, id);
	v = key_of(val, parent, name, nlen);
	return writer_put(w, w->nodes, &k, &v);
}

int store_writer_put(struct store_writer *w, uint64_t parent, const char *name, size_t nlen,
                     const struct file_rec *rec)
{
	uint8_t key[KEY_MAX];
	MDB_val k, v;
	int r;

	if (w->err)
		return w->err;
	r = check_name(parent, name, nlen);
	if (r < 0)
		return r;
	if (rec->type == FT_DIR && rec->dirid >= w->next_id)
		return -EINVAL;
	w->enc.n = 0;
	r = rec_encode(rec, &w->enc);
	if (r < 0)
		return r;
	if (w->enc.n > STORE_MAX_VALUE)
		return -E2BIG;
	if (rec->type == FT_DIR && rec->dirid != 0) {
		r = writer_put_node(w, rec->dirid, parent, name, nlen);
		if (r < 0)
			return r;
	}
	k = key_of(key, parent, name, nlen);
	v = (MDB_val){w->enc.n, w->enc.p};
	r = writer_put(w, w->files, &k, &v);
	return r < 0 ? r : writer_maybe_commit(w);
}

int store_writer_kind(struct store_writer *w, enum fim_kind kind)
{
	int rc;

	if (w->err)
		return w->err;
	if (kind == KIND_FILE || (unsigned)kind >= KIND__MAX)
		return -EINVAL;
	if (w->have_objs & (1u << kind))
		return 0;
	rc = mdb_dbi_open(w->txn, kind_plural(kind), MDB_CREATE, &w->objs[kind]);
	if (rc)
		return writer_fail(w, mdb_err(rc));
	w->have_objs |= 1u << kind;
	return 0;
}

int store_writer_put_obj(struct store_writer *w, const struct obj_rec *rec)
{
	MDB_val k, v;
	int r;

	if (w->err)
		return w->err;
	r = obj_key((const char *)rec->id.p, rec->id.n, &k);
	if (r < 0)
		return r;
	if (memchr(rec->id.p, '\0', rec->id.n))
		return -EINVAL;
	r = store_writer_kind(w, rec->kind);
	if (r < 0)
		return r;
	w->enc.n = 0;
	r = obj_encode(rec, &w->enc);
	if (r < 0)
		return r;
	if (w->enc.n > STORE_MAX_VALUE)
		return -E2BIG;
	v = (MDB_val){w->enc.n, w->enc.p};
	r = writer_put(w, w->objs[rec->kind], &k, &v);
	return r < 0 ? r : writer_maybe_commit(w);
}

int store_writer_digest(struct store_writer *w, uint8_t out[STORE_DIGEST_BYTES])
{
	int r;

	if (w->err)
		return w->err;
	r = digest_txn(NULL, w->txn, out);
	return r < 0 ? writer_fail(w, r) : 0;
}

int store_writer_meta(struct store_writer *w, const char *key, const void *val, size_t n)
{
	MDB_val k = {strlen(key), (void *)key}, v = {n, (void *)val};
	int r;

	if (w->err)
		return w->err;
	if (k.mv_size == 0 || k.mv_size > FIM_MAX_NAME)
		return -EINVAL;
	if (n > STORE_MAX_VALUE)
		return -E2BIG;
	r = writer_put(w, w->meta, &k, &v);
	return r < 0 ? r : writer_maybe_commit(w);
}

static int fsync_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Last batch, then everything the build left unsynced, and the entries
 * of the new directory. */
static int writer_finish(struct store_writer *w)
{
	int rc = mdb_txn_commit(w->txn);

	w->txn = NULL;
	if (!rc)
		rc = mdb_env_sync(w->env, 1);
	mdb_env_close(w->env);
	w->env = NULL;
	if (rc)
		return mdb_err(rc);
	return fsync_dir(w->dirfd, w->name);
}

void store_writer_sign_file(struct store_writer *w, store_file_sign_fn *sign, void *user)
{
	w->sign = sign;
	w->sign_user = user;
}

/* The signature of data.mdb as written, beside it, synced. */
static int writer_sign_data(struct store_writer *w)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	uint8_t digest[STORE_DIGEST_BYTES], sig[FILE_SIG_MAX];
	struct stat st;
	int n, r;

	if (!w->sign)
		return 0;
	dfd = openat(w->dirfd, w->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = openat(dfd, "data.mdb", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	r = store_file_digest(fd, (uint64_t)st.st_size, digest);
	if (r < 0)
		return r;
	n = w->sign(w->sign_user, digest, sig, sizeof(sig));
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(sig))
		return -E2BIG;
	close(TAKE_FD(fd));
	fd = openat(dfd, FILE_SIG, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, sig, (size_t)n) != n)
		return errno ? -errno : -EIO;
	if (fsync(fd) < 0 || fsync(dfd) < 0)
		return -errno;
	return 0;
}

/* Points "current" at the new environment with one rename(2). */
static int writer_swap(struct store_writer *w, char *old, size_t oldsize)
{
	char tmp[64];
	ssize_t n;

	n = readlinkat(w->dirfd, CURRENT, old, oldsize);
	old[n > 0 && (size_t)n < oldsize ? n : 0] = '\0';
	snprintf(tmp, sizeof(tmp), CURRENT ".%s", w->name + strlen(BASELINE_PREFIX));
	unlinkat(w->dirfd, tmp, 0);
	if (symlinkat(w->name, w->dirfd, tmp) < 0)
		return -errno;
	if (renameat(w->dirfd, tmp, w->dirfd, CURRENT) < 0) {
		int r = -errno;

		unlinkat(w->dirfd, tmp, 0);
		return r;
	}
	w->name = NULL;
	return 0;
}

/* Only what a writer made (a plain "baseline.*" beside "current") is removed. */
static bool is_ours(const char *name)
{
	return strncmp(name, BASELINE_PREFIX, strlen(BASELINE_PREFIX)) == 0 && !strchr(name, '/');
}

int store_writer_commit(struct store_writer *w)
{
	char old[PATH_MAX];
	int r = w->err;

	if (r >= 0)
		r = writer_finish(w);
	if (r >= 0)
		r = writer_sign_data(w);
	if (r >= 0)
		r = writer_swap(w, old, sizeof(old));
	if (r < 0) {
		store_writer_abort(w);
		return r;
	}
	/*
	 * The new baseline is current from here on. If the rename cannot be
	 * made durable, keep the old environment: after a crash the link may
	 * still point to it.
	 */
	if (fsync(w->dirfd) < 0)
		r = -errno;
	else if (is_ours(old) && strcmp(old, strrchr(w->path, '/') + 1) != 0)
		remove_env(w->dirfd, old);
	store_writer_abort(w); /* only frees now: the new environment is no longer ours */
	return r;
}

void store_writer_abort(struct store_writer *w)
{
	if (!w)
		return;
	if (w->txn)
		mdb_txn_abort(w->txn);
	if (w->env)
		mdb_env_close(w->env);
	if (w->name && w->dirfd >= 0)
		remove_env(w->dirfd, w->name);
	if (w->dirfd >= 0)
		close(w->dirfd);
	free(w->path);
	buf_free(&w->enc);
	free(w);
}
