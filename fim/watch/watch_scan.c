/* SPDX-License-Identifier: ISC */
/* fim watch: re-read one object (or a subtree) and alert its drift from the baseline, once per
 * state. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline/walk.h"
#include "fim/core/object.h"
#include "fim/engine/drift.h"
#include "fim/watch/watch.h"

/* --- drift states: alert once per distinct state --- */

/* The key of an object: its kind byte, then its id. */
static int state_key(struct buf *b, enum fim_kind kind, struct bytes id)
{
	uint8_t k = (uint8_t)kind;

	b->n = 0;
	if (buf_append(b, &k, 1) < 0 || buf_append(b, id.p, id.n) < 0)
		return -ENOMEM;
	return 0;
}

/* A digest of what the drift says: action, changed attributes and their
 * values now. Two alerts with the same digest would say the same thing. */
static int drift_digest(const struct drift *d, uint8_t out[32])
{
	struct buf b = {0};
	uint8_t head[9];
	int r;

	head[0] = (uint8_t)d->action;
	for (int i = 0; i < 8; i++)
		head[1 + i] = (uint8_t)((uint64_t)d->changed >> (8 * i));
	r = buf_append(&b, head, sizeof(head));
	if (r == 0 && d->kind == KIND_FILE && d->after) {
		struct file_rec now = *d->after;
		if (d->action == DRIFT_CHANGED)
			now.attrs &= d->changed;
		r = rec_encode(&now, &b);
	} else if (r == 0 && d->oafter) {
		struct obj_rec now = *d->oafter;
		if (d->action == DRIFT_CHANGED)
			now.attrs &= d->changed;
		r = obj_encode(&now, &b);
	}
	if (r == 0 && d->note)
		r = buf_append(&b, d->note, strlen(d->note));
	if (r == 0)
		r = hash_buffer(HASH_SHA256, b.p, b.n, out);
	buf_free(&b);
	return r;
}

/* True when KEY's state is DIGEST already; otherwise records it. */
static bool seen_state(struct watcher *w, const struct buf *key, const uint8_t digest[32])
{
	struct wval *v = wmap_get(&w->drifted, key->p, key->n);
	bool created;

	if (v) {
		v->a = w->generation;
		if (memcmp(v->digest, digest, 32) == 0)
			return true;
		memcpy(v->digest, digest, 32);
		return false;
	}
	/* Past the bound, states are not remembered: a repeated alert is
	 * better than a missed one. */
	if (w->drifted.count >= WATCH_MAX_DRIFTED)
		return false;
	v = wmap_put(&w->drifted, key->p, key->n, &created);
	if (v) {
		v->a = w->generation;
		v->flags = key->p[0];
		memcpy(v->digest, digest, 32);
	}
	return false;
}

void watch_forget(struct watcher *w, enum fim_kind kind, struct bytes id)
{
	struct buf key = {0};

	if (state_key(&key, kind, id) == 0)
		wmap_del(&w->drifted, key.p, key.n);
	buf_free(&key);
}

void watch_generation(struct watcher *w, bool files)
{
	w->generation++;
	w->prune_files = files;
}

void watch_prune(struct watcher *w)
{
	struct wmap_iter it = {0};
	const uint8_t *k;
	size_t n;
	struct wval *v;

	while (wmap_next(&w->drifted, &it, &k, &n, &v))
		if (v->a != w->generation && (w->prune_files || k[0] != KIND_FILE))
			wmap_del(&w->drifted, k, n);
}

static int wr_begin(struct report *r, const struct report_info *info)
{
	return 0;
}

static int wr_drift(struct report *r, const struct drift *d)
{
	struct watcher *w = r->user;
	struct buf key = {0};
	uint8_t digest[32];
	int ret = state_key(&key, d->kind, d->id);

	if (ret == 0)
		ret = drift_digest(d, digest);
	if (ret == 0 && !seen_state(w, &key, digest)) {
		w->send_err = 0;
		ret = w->json.ops->drift(&w->json, d);
		fflush(w->alerts);
		if (w->send_err) /* not delivered: not alerted, so it is again */
			wmap_del(&w->drifted, key.p, key.n);
		else
			w->alerts_sent++;
	}
	buf_free(&key);
	return ret;
}

/* An object that cannot be read is told once per cause. */
static int wr_error(struct report *r, struct bytes id, int err)
{
	struct watcher *w = r->user;
	struct buf key = {0};
	uint8_t digest[32];
	int ret = state_key(&key, KIND__MAX, id);

	if (ret == 0)
		ret = hash_buffer(HASH_SHA256, &err, sizeof(err), digest);
	if (ret == 0 && !seen_state(w, &key, digest))
		ret = w->json.ops->error(&w->json, id, err);
	buf_free(&key);
	return ret;
}

static int wr_problem(struct report *r, enum fim_kind kind, enum severity sev, const char *path,
                      unsigned line, int err, const char *msg)
{
	struct watcher *w = r->user;
	struct buf key = {0};
	uint8_t digest[32];
	char where[32];
	int ret = state_key(&key, KIND__MAX + 1 + kind, BYTES_STR(path));

	snprintf(where, sizeof(where), ":%u:%d:", line, err);
	if (ret == 0)
		ret = buf_append(&key, where, strlen(where));
	if (ret == 0)
		ret = buf_append(&key, msg, strlen(msg));
	memset(digest, 0, sizeof(digest));
	if (ret == 0 && !seen_state(w, &key, digest))
		ret = w->json.ops->problem(&w->json, kind, sev, path, line, err, msg);
	buf_free(&key);
	return ret;
}

/* The summary of a check run inside the daemon is an event of its own. */
static int wr_end(struct report *r, const struct report_summary *s)
{
	struct watcher *w = r->user;
	char msg[256];

	snprintf(msg, sizeof(msg),
	         "reconciled with the baseline: %llu objects checked, %llu added, %llu removed, "
	         "%llu changed, %llu unreadable",
	         (unsigned long long)s->scanned, (unsigned long long)s->added,
	         (unsigned long long)s->removed, (unsigned long long)s->changed,
	         (unsigned long long)s->errors);
	watch_meta(w, "reconciled", "event", SEV_LOW, msg, NULL);
	return 0;
}

static void wr_free(struct report *r) {}

const struct report_ops watch_report_ops = {
        .name = "watch",
        .begin = wr_begin,
        .drift = wr_drift,
        .error = wr_error,
        .problem = wr_problem,
        .end = wr_end,
        .free = wr_free,
};

/* --- the scanner --- */

struct scan {
	struct watcher *w;
	struct buf path; /* NUL-terminated; n excludes the NUL */
	bool tree;
};

static int path_set_len(struct buf *b, size_t n)
{
	b->n = n;
	if (buf_append(b, "", 1) < 0)
		return -ENOMEM;
	b->n = n;
	return 0;
}

static int path_push(struct buf *b, const char *name, size_t n)
{
	if ((b->n != 1 || b->p[0] != '/') && buf_append(b, "/", 1) < 0)
		return -ENOMEM;
	if (buf_append(b, name, n) < 0)
		return -ENOMEM;
	return path_set_len(b, b->n);
}

static int report(struct scan *sc, struct drift *d)
{
	return sc->w->rep.ops->drift(&sc->w->rep, d);
}

static int base_gone(struct scan *sc, uint64_t dirid, unsigned depth);

/* Baseline object at sc->path (BASE) is not there any more (nor, for a
 * directory, anything below it). */
static int removed(struct scan *sc, const struct file_rec *base, unsigned depth)
{
	const char *path = (const char *)sc->path.p;
	const struct policy_rule *rule = policy_match(sc->w->p, path, sc->path.n);
	struct bytes id = {sc->path.p, sc->path.n};
	int r = 0;

	if ((base->flags & REC_IN_SCOPE) && rule && !(rule->flags & RULE_EXCLUDE)) {
		struct drift d = {.kind = KIND_FILE,
		                  .id = id,
		                  .rule = rule,
		                  .action = DRIFT_REMOVED,
		                  .before = base};
		r = report(sc, &d);
	}
	if (r == 0 && base->type == FT_DIR && base->dirid)
		r = base_gone(sc, base->dirid, depth);
	return r;
}

static int base_gone(struct scan *sc, uint64_t dirid, unsigned depth)
{
	struct store_iter *it = NULL;
	struct bytes name;
	struct file_rec rec;
	size_t len = sc->path.n;
	int r;

	if (depth > FIM_MAX_DEPTH)
		return -ELOOP;
	r = store_iter_children(sc->w->s, dirid, &it);
	while (r >= 0 && (r = store_iter_next(it, &name, &rec)) > 0) {
		r = path_push(&sc->path, (const char *)name.p, name.n);
		if (r == 0)
			r = removed(sc, &rec, depth + 1);
		path_set_len(&sc->path, len);
	}
	store_iter_free(it);
	return r < 0 ? r : 0;
}

/* Alerts the drift of REC (collected with error ERR; PREFIX_SAME for a
 * growing file) from BASE (NULL: not in the baseline) under RULE. */
static int judge(struct scan *sc, const struct policy_rule *rule, const struct file_rec *base,
                 const struct file_rec *rec_in, int err, bool prefix_same)
{
	struct watcher *w = sc->w;
	struct bytes id = {sc->path.p, sc->path.n};
	struct drift d = {.kind = KIND_FILE, .id = id, .rule = rule};
	struct file_rec rec = *rec_in;
	int r;

	if (err) {
		r = w->rep.ops->error(&w->rep, id, err);
		if (r < 0)
			return r;
	}
	struct drift_where where = {.rootfd = w->rootfd, .cache = &w->rot_cache, .store = w->s};

	switch (drift_file_at(w->old, &where, base, &rec, prefix_same, &d)) {
	case DRIFT_REPORT:
		return report(sc, &d);
	case DRIFT_NONE:
		watch_forget(w, KIND_FILE, id);
		return 0;
	case DRIFT_NEWLY_IN_SCOPE:
		break; /* newly in scope, not drift */
	}
	return 0;
}

/* Whether opening the file PIN names would wait for a lease to break
 * (its owner may take one on any file it owns). */
static bool leased(int pin)
{
	char proc[40];
	int fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pin);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		close(fd);
	return fd < 0 && errno == EWOULDBLOCK;
}

/*
 * A large regular file, or one whose opening would wait for a lease to be
 * broken, goes to the hash worker: the loop goes on, and the drift is
 * judged when the record comes back (watch_scan_hashed). Returns 0
 * (queued, or queued again later when the worker is full), 1 when the
 * entry is gone, or -EAGAIN when it is to be read here after all.
 */
static int defer(struct scan *sc, const struct policy_rule *rule, int dirfd, const char *name,
                 const struct stat *st, const struct file_rec *base)
{
	struct watcher *w = sc->w;
	bool growing = base && (rule->flags & RULE_GROWING);
	struct stat pst;
	int pin, r;

	if (!w->hasher || !S_ISREG(st->st_mode) || !(rule->attrs & ~FILES_STAT_ATTRS))
		return -EAGAIN;
	pin = files_pin(dirfd, name);
	if (pin == -ENOENT)
		return 1;
	if (pin < 0)
		return -EAGAIN;
	if (fstat(pin, &pst) < 0 || pst.st_ino != st->st_ino || pst.st_dev != st->st_dev) {
		close(pin); /* replaced since its stat: read it here */
		return -EAGAIN;
	}
	if ((!(rule->attrs & ATTR_BIT(ATTR_HASH)) || (uint64_t)st->st_size < WATCH_HASH_ASYNC) &&
	    !leased(pin)) {
		close(pin); /* cheap enough to read here */
		return -EAGAIN;
	}
	r = whash_submit(w->hasher, (const char *)sc->path.p, sc->path.n, pin, st, rule->attrs,
	                 w->algo, growing ? base : NULL);
	if (r == -EBUSY) /* the worker is full: this path waits its turn */
		watch_pending_add(w, (const char *)sc->path.p, sc->path.n, 0, false);
	return r == -ENOMEM ? r : 0;
}

/* Compares the live object (ST, entry NAME of DIRFD) with BASE (NULL: not
 * in the baseline) under RULE, as fim check does. */
static int compare(struct scan *sc, const struct policy_rule *rule, int dirfd, const char *name,
                   const struct stat *st, const struct file_rec *base)
{
	struct watcher *w = sc->w;
	struct files_prefix prefix = {.base = base};
	bool growing = base && (rule->flags & RULE_GROWING);
	struct file_rec rec;
	int err = defer(sc, rule, dirfd, name, st, base);

	if (err != -EAGAIN)
		return err;
	err = files_collect(&w->scratch, &w->text, dirfd, name, -1, st, rule->attrs,
	                    growing ? &prefix : NULL, &rec);
	if (err == -ENOENT)
		return 1; /* gone meanwhile: its own event follows */
	return judge(sc, rule, base, &rec, err, prefix.same);
}

int watch_scan_hashed(struct watcher *w, const struct whash_job *j)
{
	const struct policy_rule *rule = policy_match(w->p, j->path, j->len);
	struct scan sc = {.w = w};
	struct file_rec base;
	bool base_in;
	int r;

	if (j->err == -ECANCELED)
		return 0;
	if (!rule || (rule->flags & RULE_EXCLUDE))
		return 0; /* out of scope since (a policy reload) */
	r = store_lookup(w->s, j->path, j->len, &base, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	base_in = r == 0 && (base.flags & REC_IN_SCOPE);
	/* Gone, or read under another rule or baseline than now: a fresh
	 * check of the path says what it is. */
	if (j->err == -ENOENT || rule->attrs != j->attrs || j->algo != w->algo ||
	    ((rule->flags & RULE_GROWING) && base_in &&
	     (!j->has_base || j->base.size != base.size || j->base.hash_algo != base.hash_algo ||
	      memcmp(j->base.hash, base.hash, sizeof(base.hash)) != 0))) {
		watch_pending_add(w, j->path, j->len, 0, true);
		return 0;
	}
	r = buf_append(&sc.path, j->path, j->len);
	if (r == 0)
		r = path_set_len(&sc.path, j->len);
	if (r == 0)
		r = judge(&sc, rule, base_in ? &base : NULL, &j->rec, j->err, j->prefix_same);
	buf_free(&sc.path);
	return r;
}

static int scan_at(struct scan *sc, int dirfd, const char *name, unsigned depth);

/* The entries of directory FD (sc->path), live and in the baseline. */
static int scan_dir(struct scan *sc, int fd, const struct file_rec *base, unsigned depth)
{
	size_t len = sc->path.n;
	struct store_iter *it = NULL;
	struct bytes bname;
	struct file_rec brec;
	struct dirent *de;
	DIR *dir;
	int dfd, r = 0;

	/* deeper than fim walks: said, not fatal */
	if (depth > FIM_MAX_DEPTH)
		return sc->w->rep.ops->error(&sc->w->rep, (struct bytes){sc->path.p, sc->path.n},
		                             -ELOOP);
	if (walk_is_pseudo_fs(fd))
		return 0;
	/* a directory that cannot be watched is remembered and alerted by the
	 * file side; only running out of memory stops the scan */
	r = wfiles_arm(sc->w, (const char *)sc->path.p, sc->path.n);
	if (r == -ENOMEM)
		return r;
	r = 0;
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0 || !(dir = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return 0; /* unreadable: the directory's own record says so */
	}
	while (r >= 0 && (de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = path_push(&sc->path, de->d_name, strlen(de->d_name));
		if (r == 0)
			r = scan_at(sc, fd, de->d_name, depth + 1);
		path_set_len(&sc->path, len);
	}
	closedir(dir);
	/* What the baseline has here and the directory no longer does. */
	if (r >= 0 && base && base->type == FT_DIR && base->dirid)
		r = store_iter_children(sc->w->s, base->dirid, &it);
	while (r >= 0 && it && (r = store_iter_next(it, &bname, &brec)) > 0) {
		char nm[FIM_MAX_NAME + 1];
		struct stat st;

		if (bname.n > FIM_MAX_NAME || memchr(bname.p, 0, bname.n))
			continue;
		memcpy(nm, bname.p, bname.n);
		nm[bname.n] = '\0';
		if (fstatat(fd, nm, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			continue;
		r = path_push(&sc->path, nm, bname.n);
		if (r == 0)
			r = removed(sc, &brec, depth + 1);
		path_set_len(&sc->path, len);
	}
	store_iter_free(it);
	return r < 0 ? r : 0;
}

/* Entry NAME of DIRFD, which is sc->path. */
static int scan_at(struct scan *sc, int dirfd, const char *name, unsigned depth)
{
	struct watcher *w = sc->w;
	const char *path = (const char *)sc->path.p;
	size_t len = sc->path.n;
	const struct policy_rule *rule = policy_match(w->p, path, len);
	bool in = rule && !(rule->flags & RULE_EXCLUDE);
	bool descend = policy_descend(w->p, path, len);
	struct file_rec base;
	bool has_base, live;
	struct stat st;
	int r;

	if (!in && !descend)
		return 0;
	r = store_lookup(w->s, path, len, &base, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	has_base = r == 0;
	live = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!live && errno != ENOENT && errno != ENOTDIR) {
		if (in)
			return w->rep.ops->error(&w->rep, (struct bytes){sc->path.p, len}, -errno);
		return 0;
	}
	if (!live) {
		if (has_base)
			return removed(sc, &base, depth);
		if (in)
			watch_forget(w, KIND_FILE, (struct bytes){sc->path.p, len});
		return 0;
	}
	if (in) {
		bool base_in = has_base && (base.flags & REC_IN_SCOPE);
		r = compare(sc, rule, dirfd, name, &st, base_in ? &base : NULL);
		if (r < 0)
			return r;
		if (r > 0) /* vanished while read */
			return has_base ? removed(sc, &base, depth) : 0;
	}
	if (S_ISDIR(st.st_mode) && descend && sc->tree) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return 0; /* replaced meanwhile, or unreadable: its events follow */
		r = scan_dir(sc, fd, has_base ? &base : NULL, depth);
		close(fd);
		return r;
	}
	if (!S_ISDIR(st.st_mode) && has_base && base.type == FT_DIR && base.dirid)
		return base_gone(sc, base.dirid, depth); /* a directory replaced */
	return 0;
}

int watch_scan(struct watcher *w, const char *path, size_t len, bool tree)
{
	struct scan sc = {.w = w, .tree = tree};
	const char *slash;
	char name[FIM_MAX_NAME + 1];
	int dirfd, r;

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0 || path[0] != '/')
		return -EINVAL;
	r = buf_append(&sc.path, path, len);
	if (r == 0)
		r = path_set_len(&sc.path, len);
	if (r < 0) {
		buf_free(&sc.path);
		return -ENOMEM;
	}
	if (len == 1) {
		/* "/" itself: the root directory */
		dirfd = fcntl(w->rootfd, F_DUPFD_CLOEXEC, 3);
		strcpy(name, ".");
	} else {
		slash = memrchr(path, '/', len);
		if ((size_t)(path + len - slash - 1) > FIM_MAX_NAME) {
			buf_free(&sc.path);
			return 0;
		}
		memcpy(name, slash + 1, (size_t)(path + len - slash - 1));
		name[path + len - slash - 1] = '\0';
		dirfd = watch_open_dir(w, path, (size_t)(slash - path));
	}
	if (dirfd < 0) {
		/* The parent is gone or no longer a directory: so is PATH. */
		struct file_rec base;
		r = 0;
		if (store_lookup(w->s, path, len, &base, NULL) == 0)
			r = removed(&sc, &base, 0);
		buf_free(&sc.path);
		return r;
	}
	r = scan_at(&sc, dirfd, name, 0);
	close(dirfd);
	buf_free(&sc.path);
	return r;
}
