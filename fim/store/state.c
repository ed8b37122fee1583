/* SPDX-License-Identifier: ISC */
/* The watcher's own small store: journal cursor and paths still to rescan, beside the baselines. */
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "fim/core/common.h"
#include "fim/core/hash.h"
#include "fim/store/state.h"
#include "fim/store/store_int.h"

#define STATE_MAP_SIZE (64u << 20)
#define CURSOR_KEY     "cursor"
#define STATE_MAX_PATH 4096

struct state {
	MDB_env *env;
	MDB_dbi meta, rescan;
	int lockfd; /* the state directory, flock'ed */
};

static int mdb_errno(int rc)
{
	if (rc > 0)
		return -rc;
	if (rc == MDB_MAP_FULL)
		return -ENOSPC;
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	return -EBADMSG;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	if (st->env)
		mdb_env_close(st->env);
	if (st->lockfd >= 0)
		close(st->lockfd);
	free(st);
}

/* The data file of the environment PATH, if there is one yet, checked as a
 * baseline's is before LMDB follows its meta pages: a damaged one would
 * fault inside the map, where nothing guards the state's reads and writes. */
static int check_data(const char *path)
{
	_cleanup_free_ char *dp = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (asprintf(&dp, "%s/data.mdb", path) < 0) {
		dp = NULL;
		return -ENOMEM;
	}
	fd = open(dp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	return st.st_size == 0 ? 0 : store_file_validate(fd, (uint64_t)st.st_size);
}

int state_open(const char *dir, struct state **ret)
{
	_cleanup_free_ char *path = NULL;
	struct state *st;
	MDB_txn *txn;
	int rc;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (asprintf(&path, "%s/state", dir) < 0)
		return -ENOMEM;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->lockfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->lockfd < 0) {
		rc = -errno;
		goto fail;
	}
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	rc = check_data(path);
	if (rc < 0)
		goto fail;
	rc = mdb_env_create(&st->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(st->env, 4);
	if (!rc)
		rc = mdb_env_set_mapsize(st->env, STATE_MAP_SIZE);
	if (!rc)
		rc = mdb_env_open(st->env, path, MDB_NOTLS, 0600);
	if (!rc)
		rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc) {
		rc = mdb_errno(rc);
		goto fail;
	}
	rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta);
	if (!rc)
		rc = mdb_dbi_open(txn, "rescan", MDB_CREATE, &st->rescan);
	if (rc) {
		mdb_txn_abort(txn);
		rc = mdb_errno(rc);
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	if (rc) {
		rc = mdb_errno(rc);
		goto fail;
	}
	*ret = st;
	return 0;
fail:
	state_close(st);
	return rc;
}

/* One write: put (VAL not NULL) or delete KEY in DBI, committed. */
static int write1(struct state *st, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);

	if (rc)
		return mdb_errno(rc);
	rc = val ? mdb_put(txn, dbi, &k, &v, 0) : mdb_del(txn, dbi, &k, NULL);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	rc = mdb_txn_commit(txn);
	return rc ? mdb_errno(rc) : 0;
}

int state_cursor(struct state *st, char **ret)
{
	MDB_val k = {strlen(CURSOR_KEY), (void *)CURSOR_KEY}, v;
	MDB_txn *txn;
	char *s;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);

	if (rc)
		return mdb_errno(rc);
	rc = mdb_get(txn, st->meta, &k, &v);
	if (rc) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	s = v.mv_size < 4096 ? strndup(v.mv_data, v.mv_size) : NULL;
	mdb_txn_abort(txn);
	if (!s)
		return v.mv_size < 4096 ? -ENOMEM : -EBADMSG;
	*ret = s;
	return 0;
}

int state_set_cursor(struct state *st, const char *cursor)
{
	return write1(st, st->meta, CURSOR_KEY, strlen(CURSOR_KEY), cursor, strlen(cursor));
}

#define RUNNING_KEY "running"

int state_set_running(struct state *st, bool running)
{
	return write1(st, st->meta, RUNNING_KEY, strlen(RUNNING_KEY), running ? "1" : NULL,
	              running ? 1 : 0);
}

bool state_was_running(struct state *st)
{
	MDB_val k = {strlen(RUNNING_KEY), (void *)RUNNING_KEY}, v;
	MDB_txn *txn;
	bool found;

	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
		return false;
	found = mdb_get(txn, st->meta, &k, &v) == 0;
	mdb_txn_abort(txn);
	return found;
}

static int path_key(const char *path, size_t len, uint8_t key[32])
{
	if (len == 0 || len > STATE_MAX_PATH)
		return -EINVAL;
	return hash_buffer(HASH_SHA256, path, len, key);
}

int state_rescan_add(struct state *st, const char *path, size_t len)
{
	uint8_t key[32];
	int r = path_key(path, len, key);

	return r < 0 ? r : write1(st, st->rescan, key, sizeof(key), path, len);
}

int state_rescan_del(struct state *st, const char *path, size_t len)
{
	uint8_t key[32];
	int r = path_key(path, len, key);

	return r < 0 ? r : write1(st, st->rescan, key, sizeof(key), NULL, 0);
}

int state_rescan_list(struct state *st, char ***ret, size_t *ret_n)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	char **list = NULL;
	size_t n = 0;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), r = 0;

	if (rc)
		return mdb_errno(rc);
	rc = mdb_cursor_open(txn, st->rescan, &c);
	if (rc) {
		mdb_txn_abort(txn);
		return mdb_errno(rc);
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char **nl;
		if (v.mv_size == 0 || v.mv_size > STATE_MAX_PATH || memchr(v.mv_data, 0, v.mv_size))
			continue; /* not ours: skip rather than trust it */
		nl = realloc(list, (n + 1) * sizeof(*list));
		if (!nl || !(nl[n] = strndup(v.mv_data, v.mv_size))) {
			list = nl ? nl : list;
			r = -ENOMEM;
			break;
		}
		list = nl;
		n++;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (r == 0 && rc != MDB_NOTFOUND)
		r = mdb_errno(rc);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		return r;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}
