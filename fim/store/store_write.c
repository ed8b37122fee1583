/* SPDX-License-Identifier: ISC */
/* The baseline store on LMDB, writing: building a fresh environment and swapping it in. */
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
#include "fim/core/object.h"
#include "fim/store/store.h"
#include "fim/store/store_db.h"
#include "fim/store/store_int.h"

#define MIB        ((size_t)1 << 20)
#define MAP_START  (64 * MIB) /* also the head room kept free above twice the used size */
#define BATCH_PUTS 20000
/*
 * A batch is also closed once its estimated page use reaches this, so that
 * the head room checked between batches always covers the next one, even
 * when values are large (a 64 KiB xattr list per file).
 */
#define BATCH_COST (16 * MIB)
/* A batch therefore stays under BATCH_COST + STORE_MAX_VALUE, less than
 * the head room: the map cannot fill inside a transaction. */
_Static_assert(BATCH_COST + STORE_MAX_VALUE < MAP_START, "head room too small");

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
		return store_mdb_err(rc);
	w->psize = st.ms_psize;
	used = (info.me_last_pgno + 1) * st.ms_psize;
	want = 2 * used + MAP_START;
	if (info.me_mapsize >= want)
		return 0;
	/* Twice what is needed now, so that growing stays rare. */
	return store_mdb_err(mdb_env_set_mapsize(w->env, 2 * want));
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
		return store_mdb_err(rc);
	}
	w->batch_puts = w->batch_cost = 0;
	return 0;
}

static int writer_put(struct store_writer *w, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	int rc = mdb_put(w->txn, dbi, k, v, 0);

	if (rc)
		return writer_fail(w, store_mdb_err(rc));
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
static int writer_maybe_commit(struct store_writer *w)
{
	int rc, r;

	if (w->batch_puts < BATCH_PUTS && w->batch_cost < BATCH_COST)
		return 0;
	rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	if (rc)
		return writer_fail(w, store_mdb_err(rc));
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
		return store_mdb_err(rc);
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
		return store_mdb_err(rc);
	}
	rc = mdb_env_set_maxdbs(w->env, MAX_DBS);
	if (!rc)
		rc = mdb_env_set_mapsize(w->env, MAP_START);
	if (!rc)
		rc = mdb_env_open(w->env, w->path, MDB_NOSYNC | MDB_NOTLS, 0600);
	return store_mdb_err(rc);
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
		int r = store_open_env(&cur, dir, NULL);

		if (r >= 0)
			r = store_mdb_err(mdb_env_copy2(cur.env, path, MDB_CP_COMPACT));
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
		return store_mdb_err(rc);
	}
	rc = mdb_env_set_maxdbs(w->env, MAX_DBS);
	if (!rc)
		rc = mdb_env_set_mapsize(w->env, map);
	if (!rc)
		rc = mdb_env_open(w->env, w->path, MDB_NOSYNC | MDB_NOTLS, 0600);
	return store_mdb_err(rc);
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
			return store_mdb_err(rc);
	}
	rc = mdb_dbi_open(w->txn, "audit", 0, &w->audit);
	w->have_audit = rc == 0;
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(rc);
	rc = mdb_cursor_open(w->txn, w->nodes, &cur);
	if (rc)
		return store_mdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(rc);
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
	k = store_key_of(key, parent, name, nlen);
	rc = mdb_get(w->txn, w->files, &k, &v);
	if (rc)
		return store_mdb_err(rc);
	return store_decode_value(&v, rec);
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
	k = store_key_of(key, parent, name, nlen);
	rc = mdb_get(w->txn, w->files, &k, &v);
	if (rc)
		return store_mdb_err(rc);
	r = store_decode_value(&v, &rec);
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
				return store_mdb_err(rc);
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
				return store_mdb_err(rc);
			if (cn > sizeof(child))
				return -EBADMSG;
			r = writer_del_tree(w, rec.dirid, child, cn, depth + 1);
			if (r < 0)
				return r;
		}
		k = (MDB_val){8, id};
		rc = mdb_del(w->txn, w->nodes, &k, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return store_mdb_err(rc);
	}
	k = store_key_of(key, parent, name, nlen);
	rc = mdb_del(w->txn, w->files, &k, NULL);
	return rc ? store_mdb_err(rc) : 0;
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
	    store_obj_key(id, len, &k) < 0)
		return -ENOENT;
	rc = mdb_del(w->txn, w->objs[kind], &k, NULL);
	return rc == MDB_NOTFOUND ? -ENOENT : rc ? writer_fail(w, store_mdb_err(rc)) : 0;
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
			return writer_fail(w, store_mdb_err(rc));
		w->have_audit = true;
	}
	rc = mdb_cursor_open(w->txn, w->audit, &cur);
	if (rc)
		return writer_fail(w, store_mdb_err(rc));
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == 0 && k.mv_size == 8)
		next = get_be64(k.mv_data) + 1;
	else if (rc && rc != MDB_NOTFOUND)
		return writer_fail(w, store_mdb_err(rc));
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
	v = store_key_of(val, parent, name, nlen);
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
	k = store_key_of(key, parent, name, nlen);
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
		return writer_fail(w, store_mdb_err(rc));
	w->have_objs |= 1u << kind;
	return 0;
}

int store_writer_put_obj(struct store_writer *w, const struct obj_rec *rec)
{
	MDB_val k, v;
	int r;

	if (w->err)
		return w->err;
	r = store_obj_key((const char *)rec->id.p, rec->id.n, &k);
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
	r = store_digest_txn(NULL, w->txn, out);
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
		return store_mdb_err(rc);
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
