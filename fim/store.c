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

#include <lmdb.h>

#include "endian.h"
#include "hash.h"
#include "object.h"
#include "store.h"

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
	uintptr_t map_start, map_end; /* the map, found from a value in it */
};

struct store_iter {
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

/*
 * Read-only open; without a usable lock file (read-only media, a baseline
 * owned by another user) it falls back to MDB_NOLOCK, which is safe here
 * because nothing ever writes to a baseline once it is current.
 */
static int env_open_ro(const char *path, MDB_env **ret)
{
	static const unsigned modes[] = {
	        MDB_RDONLY | MDB_NOTLS,
	        MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK,
	};
	int rc = 0;

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		MDB_env *env;

		rc = mdb_env_create(&env);
		if (rc)
			break;
		rc = mdb_env_set_maxdbs(env, MAX_DBS);
		if (!rc)
			rc = mdb_env_open(env, path, modes[i], 0);
		if (!rc) {
			*ret = env;
			return 0;
		}
		mdb_env_close(env);
		if (rc != EACCES && rc != EPERM && rc != EROFS)
			break;
	}
	/* A data file too short or not LMDB's (an empty or truncated file)
	 * makes LMDB fail with these rather than MDB_INVALID. */
	if (rc == EBADF || rc == EINVAL)
		return -EBADMSG;
	return mdb_err(rc);
}

static int open_env_of(const char *dir, MDB_env **ret)
{
	int r = -ENOENT;

	/* A writer may swap in a new baseline and remove this one between
	 * reading the link and opening it: read the link again. */
	for (int i = 0; i < 3 && r == -ENOENT; i++) {
		_cleanup_free_ char *path = NULL;

		r = current_path(dir, &path);
		if (r < 0)
			return r;
		r = env_open_ro(path, ret);
	}
	return r;
}

/* Opens DIR's current baseline with its read transaction and meta
 * database; *schema is the version found. -EBADMSG if it has none. */
/*
 * LMDB does not tell where it mapped the file (me_mapaddr is only set for
 * fixed maps), so find the mapping that holds a value it returned. Without
 * /proc, trimming is simply not done.
 */
static void find_map(struct store *s, const void *inside)
{
	uintptr_t p = (uintptr_t)inside;
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && p >= lo && p < hi) {
			s->map_start = lo;
			s->map_end = hi;
			break;
		}
	}
	fclose(f);
}

static int store_attach(struct store *s, const char *dir, uint32_t *schema)
{
	MDB_val k = {strlen(META_SCHEMA), (void *)META_SCHEMA}, v;
	int rc, r;

	r = open_env_of(dir, &s->env);
	if (r < 0)
		return r;
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->txn);
	if (rc)
		return mdb_err(rc);
	rc = mdb_dbi_open(s->txn, "meta", 0, &s->meta);
	if (!rc)
		rc = mdb_get(s->txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND || (!rc && v.mv_size != 4))
		return -EBADMSG;
	if (rc)
		return mdb_err(rc);
	*schema = get_be32(v.mv_data);
	find_map(s, v.mv_data);
	return 0;
}

static int store_open_dbs(struct store *s)
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

int store_open(const char *dir, struct store **ret)
{
	struct store *s = calloc(1, sizeof(*s));
	uint32_t schema = 0;
	int r;

	if (!s)
		return -ENOMEM;
	r = store_attach(s, dir, &schema);
	if (r >= 0 && schema != STORE_SCHEMA_VERSION)
		r = -EPROTONOSUPPORT;
	if (r >= 0)
		r = store_open_dbs(s);
	if (r < 0) {
		store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
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

	if (store_attach(&s, dir, &schema) < 0)
		schema = 0;
	if (s.txn)
		mdb_txn_abort(s.txn);
	if (s.env)
		mdb_env_close(s.env);
	return schema;
}

int store_meta(struct store *s, const char *key, struct bytes *val)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_get(s->txn, s->meta, &k, &v);

	if (rc)
		return mdb_err(rc);
	*val = (struct bytes){v.mv_data, v.mv_size};
	return 0;
}

/* Any value that does not decode is damage to the store. */
static int decode_value(const MDB_val *v, struct file_rec *rec)
{
	return rec_decode(v->mv_data, v->mv_size, rec) < 0 ? -EBADMSG : 0;
}

int store_get(struct store *s, uint64_t parent, const char *name, size_t nlen, struct file_rec *rec)
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
	return decode_value(&v, rec);
}

/* Directories carry the node id of their entries; the type is checked
 * only when the baseline recorded it. */
static bool is_dir(const struct file_rec *rec)
{
	return rec->dirid != 0 && (!(rec->attrs & ATTR_BIT(ATTR_TYPE)) || rec->type == FT_DIR);
}

int store_lookup(struct store *s, const char *path, size_t len, struct file_rec *rec,
                 uint64_t *ret_parent)
{
	struct file_rec cur;
	uint64_t parent = 0;
	size_t i = 0, depth = 0;
	int r;

	if (len == 0 || path[0] != '/')
		return -EINVAL;
	r = store_get(s, 0, "", 0, &cur);
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
		r = store_get(s, parent, path + i, n, &cur);
		i += n;
	}
	if (r < 0)
		return r;
	*rec = cur;
	if (ret_parent)
		*ret_parent = parent;
	return 0;
}

int store_iter_children(struct store *s, uint64_t parent, struct store_iter **ret)
{
	struct store_iter *it = calloc(1, sizeof(*it));
	int rc;

	if (!it)
		return -ENOMEM;
	rc = mdb_cursor_open(s->txn, s->files, &it->cur);
	if (rc) {
		free(it);
		return mdb_err(rc);
	}
	put_be64(it->prefix, parent);
	it->kind = -1;
	*ret = it;
	return 0;
}

int store_iter_next(struct store_iter *it, struct bytes *name, struct file_rec *rec)
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
	if (k.mv_size - 8 > FIM_MAX_NAME)
		return -EBADMSG;
	r = decode_value(&v, rec);
	if (r < 0)
		return r;
	*name = (struct bytes){(const uint8_t *)k.mv_data + 8, k.mv_size - 8};
	return 1;
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

int store_obj_get(struct store *s, enum fim_kind kind, const char *id, size_t len,
                  struct obj_rec *rec)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, r;

	if (!store_has_kind(s, kind) || kind == KIND_FILE)
		return -ENOENT;
	r = obj_key(id, len, &k);
	if (r < 0)
		return r == -EINVAL ? -ENOENT : r;
	/* a cursor hands back the key inside the map, so rec->id outlives ID */
	rc = mdb_cursor_open(s->txn, s->objs[kind], &cur);
	if (rc)
		return mdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	mdb_cursor_close(cur);
	if (rc)
		return mdb_err(rc);
	if (obj_decode(v.mv_data, v.mv_size, kind, rec) < 0)
		return -EBADMSG;
	rec->id = (struct bytes){k.mv_data, k.mv_size};
	return 0;
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
	if (!store_has_kind(s, kind)) {
		it->done = true; /* nothing recorded: an empty iteration */
		*ret = it;
		return 0;
	}
	rc = mdb_cursor_open(s->txn, s->objs[kind], &it->cur);
	if (rc) {
		free(it);
		return mdb_err(rc);
	}
	*ret = it;
	return 0;
}

int store_obj_next(struct store_iter *it, struct obj_rec *rec)
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
	if (k.mv_size == 0 || k.mv_size > OBJ_MAX_ID ||
	    obj_decode(v.mv_data, v.mv_size, it->kind, rec) < 0)
		return -EBADMSG;
	rec->id = (struct bytes){k.mv_data, k.mv_size};
	return 1;
}

int store_audit_iter(struct store *s, struct store_iter **ret)
{
	struct store_iter *it = calloc(1, sizeof(*it));
	int rc;

	if (!it)
		return -ENOMEM;
	it->kind = KIND__MAX; /* marks an audit iteration */
	if (!s->have_audit) {
		it->done = true;
		*ret = it;
		return 0;
	}
	rc = mdb_cursor_open(s->txn, s->audit, &it->cur);
	if (rc) {
		free(it);
		return mdb_err(rc);
	}
	*ret = it;
	return 0;
}

int store_audit_next(struct store_iter *it, uint64_t *seq, struct bytes *entry)
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
	if (k.mv_size != 8)
		return -EBADMSG;
	*seq = get_be64(k.mv_data);
	*entry = (struct bytes){v.mv_data, v.mv_size};
	return 1;
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

/* Every key and value of every named database in TXN, in name and key
 * order, except the signature itself. */
static int digest_txn(MDB_txn *txn, uint8_t out[STORE_DIGEST_BYTES])
{
	static const char tag[] = "fim-baseline-digest-v1";
	struct hash_ctx *h = hash_new(HASH_SHA256);
	MDB_cursor *names = NULL, *cur = NULL;
	MDB_val nk, nv, k, v;
	MDB_dbi main_dbi, dbi;
	int rc, r = 0;

	if (!h)
		return -ENOMEM;
	if (hash_init(h) < 0 || digest_put(h, tag, sizeof(tag) - 1) < 0) {
		r = -EIO;
		goto out;
	}
	rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
	if (!rc)
		rc = mdb_cursor_open(txn, main_dbi, &names);
	for (rc = rc ? rc : mdb_cursor_get(names, &nk, &nv, MDB_FIRST); rc == 0 && r == 0;
	     rc = mdb_cursor_get(names, &nk, &nv, MDB_NEXT)) {
		char name[256];
		uint64_t count = 0;
		unsigned flags;
		bool meta;

		/* the main database holds only the names of the others */
		if (nk.mv_size == 0 || nk.mv_size >= sizeof(name) ||
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
		rc = mdb_cursor_open(txn, dbi, &cur);
		if (rc)
			break;
		r = digest_put(h, name, nk.mv_size);
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && r == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (meta && k.mv_size == strlen(META_SIGNATURE) &&
			    memcmp(k.mv_data, META_SIGNATURE, k.mv_size) == 0)
				continue;
			r = digest_put(h, k.mv_data, k.mv_size);
			if (r == 0)
				r = digest_put(h, v.mv_data, v.mv_size);
			count++;
		}
		mdb_cursor_close(cur);
		cur = NULL;
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
out:
	if (names)
		mdb_cursor_close(names);
	hash_free(h);
	return r;
}

int store_digest(struct store *s, uint8_t out[STORE_DIGEST_BYTES])
{
	return digest_txn(s->txn, out);
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
	if (v.mv_size <= 8 || v.mv_size > 8 + FIM_MAX_NAME ||
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
	r = node_names(s, id, names, &depth, &total);
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

/* The current baseline copied into a fresh environment (mdb_env_copy2
 * compacts it), to be changed and swapped in like a new one. */
static int writer_copy_env(struct store_writer *w, const char *dir)
{
	MDB_env *cur = NULL;
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
	r = open_env_of(dir, &cur);
	if (r < 0)
		return r;
	rc = mdb_env_copy2(cur, w->path, MDB_CP_COMPACT);
	mdb_env_close(cur);
	if (rc)
		return mdb_err(rc);
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
	r = digest_txn(w->txn, out);
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
