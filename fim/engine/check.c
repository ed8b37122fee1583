/* SPDX-License-Identifier: ISC */
/* The check engine: the live tree and OS objects against a baseline, drift told to a report. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "baseline/files.h"
#include "baseline/pipeline.h"
#include "baseline/walk.h"
#include "fim/core/utf8.h"
#include "fim/engine/check.h"
#include "fim/engine/drift.h"
#include "fim/store/store_policy.h"

/* Per walked directory: the baseline's entries of the same directory, read
 * in the same (byte) order as the walk, so the two merge like sorted lists. */
/* A file system mounted over a directory since the baseline: what the
 * baseline holds below it is hidden, not removed. */
struct hide {
	size_t len;   /* of the mount point's path (a prefix of what it hides) */
	long fs_type; /* statfs f_type */
};

struct dstate {
	struct store_iter *it;
	bool have;
	struct bytes name;
	struct file_rec rec;
	struct hide hide; /* len 0: nothing hidden here */
};

struct run {
	const struct check_args *a;
	struct store *s;
	const struct policy *p;
	const struct policy *old;     /* the baseline's policy, when it differs */
	struct files_scratch scratch; /* for what the walker collects itself */
	struct pipeline *pipe;
	struct report *rep;
	struct report_summary *sum;
	struct buf path; /* for baseline-only subtrees */
	uint64_t completed;
	int fatal;
};

static int bytes_cmp(struct bytes a, const char *b, size_t bn)
{
	int c = memcmp(a.p, b, a.n < bn ? a.n : bn);

	if (c)
		return c;
	return a.n < bn ? -1 : a.n > bn;
}

static int advance(struct run *c, struct dstate *d)
{
	int r = store_iter_next(d->it, &d->name, &d->rec);

	d->have = r > 0;
	if (r < 0) {
		c->fatal = r;
		return r;
	}
	return 0;
}

/* What a slot asks the consumer to do. */
enum { TAG_COMPARE, TAG_REMOVED, TAG_UNREADABLE, TAG_HIDDEN };

static int emit(struct run *c, struct drift *d)
{
	return report_drift(c->rep, c->sum, d);
}

static int unreadable(struct run *c, struct bytes id, int err)
{
	c->sum->errors++;
	return c->rep->ops->error(c->rep, id, err);
}

/* Consumer: slots arrive in walk order, so reports come out in that order. */
static int complete(void *ctx, struct pipe_slot *s)
{
	struct run *c = ctx;
	const struct policy_rule *rule = s->rule;
	struct bytes id = {s->path.p, s->path.n};
	struct drift d = {.kind = KIND_FILE, .id = id, .rule = rule};
	int r = 0;

	/* first: a read the caller stopped is no unreadable file */
	if (c->a->tick && (r = c->a->tick(c->a->tick_ctx)) < 0)
		return r;
	if (++c->completed % 16384 == 0)
		store_trim(c->s);
	if (s->tag == TAG_UNREADABLE)
		return unreadable(c, id, s->err);
	if (s->tag == TAG_HIDDEN) {
		/* s->id: length of the mount point's path, s->parent: its f_type */
		char msg[8400], q[8192], fs[32];

		c->sum->errors++;
		snprintf(msg, sizeof(msg), "hidden by a mount: %s mounted on %s",
		         walk_fs_name((long)s->parent, fs, sizeof(fs)),
		         utf8_quote(s->path.p, (size_t)s->id, q, sizeof(q)));
		return c->rep->ops->problem(c->rep, KIND_FILE, rule->severity,
		                            (const char *)s->path.p, 0, -EXDEV, msg);
	}
	if (s->tag == TAG_REMOVED) {
		d.action = DRIFT_REMOVED;
		d.before = &s->base;
		return emit(c, &d);
	}
	c->sum->scanned++;
	if (c->a->file_done)
		c->a->file_done(c->a->progress_ctx,
		                (s->rec.attrs & ATTR_BIT(ATTR_HASH)) ? s->rec.size : 0);
	if (s->err)
		r = unreadable(c, id, s->err);
	if (r < 0)
		return r;
	struct drift_where where = {.rootfd = c->a->rootfd, .store = c->a->s};

	switch (drift_file_at(c->old, &where, s->has_base ? &s->base : NULL, &s->rec,
	                      s->prefix_same, &d)) {
	case DRIFT_REPORT:
		return emit(c, &d);
	case DRIFT_NEWLY_IN_SCOPE:
		c->sum->newly_in_scope++;
		return 0;
	case DRIFT_NONE:
		break;
	}
	return 0;
}

/* A slot for PATH, or NULL (the pipeline stopped; c->fatal says why). */
static struct pipe_slot *slot_for(struct run *c, const char *path, size_t len, size_t name_len,
                                  int tag)
{
	struct pipe_slot *s = pipeline_slot(c->pipe);

	if (!s) {
		c->fatal = c->fatal ? c->fatal : -EIO;
		return NULL;
	}
	if (pipe_slot_set_path(s, path, len, name_len) < 0) {
		c->fatal = -ENOMEM;
		return NULL;
	}
	s->tag = tag;
	return s;
}

static int queue_unreadable(struct run *c, const char *path, size_t len, int err)
{
	struct pipe_slot *s = slot_for(c, path, len, 0, TAG_UNREADABLE);

	if (!s)
		return c->fatal;
	s->err = err;
	return pipeline_submit(c->pipe, s);
}

/* The baseline's REC at c->path is gone, or hidden by the mount H (len > 0). */
static int queue_removed(struct run *c, const struct policy_rule *rule, const struct file_rec *rec,
                         const struct hide *h)
{
	struct pipe_slot *s = slot_for(c, (const char *)c->path.p, c->path.n, 0,
	                               h->len ? TAG_HIDDEN : TAG_REMOVED);

	if (!s)
		return c->fatal;
	s->rule = rule;
	s->base = *rec;
	s->id = h->len;
	s->parent = (uint64_t)h->fs_type;
	return pipeline_submit(c->pipe, s);
}

static int set_path(struct buf *b, const char *parent, size_t plen, const uint8_t *name, size_t n)
{
	b->n = 0;
	if (buf_append(b, parent, plen) < 0)
		return -ENOMEM;
	if ((plen != 1 || parent[0] != '/') && buf_append(b, "/", 1) < 0)
		return -ENOMEM;
	if (buf_append(b, name, n) < 0 || buf_append(b, "", 1) < 0)
		return -ENOMEM;
	b->n--; /* keep the NUL out of the length */
	return 0;
}

static int baseline_only(struct run *c, const char *parent, size_t plen, struct bytes name,
                         const struct file_rec *rec, const struct hide *h, unsigned depth);

/* Everything below baseline node ID that the policy still selects is gone
 * (or hidden by the mount H). */
static int baseline_subtree(struct run *c, const char *path, size_t len, uint64_t id,
                            const struct hide *h, unsigned depth)
{
	struct store_iter *it = NULL;
	struct bytes name;
	struct file_rec rec;
	char *mine;
	int r;

	if (depth > FIM_MAX_DEPTH)
		return -EBADMSG;
	/* c->path is reused by the children, so keep our own copy. */
	mine = strndup(path, len);
	if (!mine)
		return -ENOMEM;
	r = store_iter_children(c->s, id, &it);
	while (r >= 0 && (r = store_iter_next(it, &name, &rec)) > 0)
		r = baseline_only(c, mine, len, name, &rec, h, depth + 1);
	store_iter_free(it);
	free(mine);
	return r < 0 ? r : 0;
}

/* A baseline entry with no live counterpart in the walk. */
static int baseline_only(struct run *c, const char *parent, size_t plen, struct bytes name,
                         const struct file_rec *rec, const struct hide *h, unsigned depth)
{
	const struct policy_rule *rule;
	int r = set_path(&c->path, parent, plen, name.p, name.n);

	if (r < 0)
		return r;
	rule = policy_match(c->p, (char *)c->path.p, c->path.n);
	if (rec->flags & REC_IN_SCOPE) {
		if (rule && !(rule->flags & RULE_EXCLUDE)) {
			r = queue_removed(c, rule, rec, h);
			if (r < 0)
				return r;
		} else {
			c->sum->out_of_scope++;
		}
	}
	/* Under a changed policy, also count what left its scope below. */
	if (rec->type == FT_DIR && rec->dirid &&
	    (c->old || policy_descend(c->p, (char *)c->path.p, c->path.n)))
		return baseline_subtree(c, (char *)c->path.p, c->path.n, rec->dirid, h, depth);
	return 0;
}

/* Baseline entries of D that sort before NAME are not in the walk. */
static int catch_up(struct run *c, struct dstate *d, const char *dir, size_t dlen, const char *name,
                    size_t nlen, struct file_rec *ret_base)
{
	int r;

	while (d->have && bytes_cmp(d->name, name, nlen) < 0) {
		struct bytes n = d->name;
		struct file_rec rec = d->rec;
		r = advance(c, d);
		if (r < 0)
			return r;
		r = baseline_only(c, dir, dlen, n, &rec, &d->hide, 0);
		if (r < 0)
			return r;
	}
	if (d->have && bytes_cmp(d->name, name, nlen) == 0) {
		*ret_base = d->rec;
		r = advance(c, d);
		return r < 0 ? r : 1;
	}
	return 0;
}

/* Queues the live object for comparison with BASE (NULL: not in the baseline). */
static int compare(struct run *c, struct walk_entry *e, const struct file_rec *base)
{
	struct pipe_slot *s = slot_for(c, e->path, e->path_len, e->name_len, TAG_COMPARE);
	attrset_t attrs = e->rule->attrs;

	if (!s)
		return c->fatal;
	if (c->a->quick && base && S_ISREG(e->st.st_mode) && drift_identity_same(base, &e->st))
		attrs &= FILES_STAT_ATTRS;
	s->rule = e->rule;
	s->has_base = base != NULL;
	if (base)
		s->base = *base;
	s->growing = base && (e->rule->flags & RULE_GROWING);
	/* A pinned regular file is read by a worker; anything else here. */
	if (e->pin >= 0 && S_ISREG(e->st.st_mode) && (attrs & ~FILES_STAT_ATTRS)) {
		s->fd = TAKE_FD(e->pin);
		s->work = true;
		s->st = e->st;
		s->attrs = attrs;
		return pipeline_submit(c->pipe, s);
	}
	struct files_prefix prefix = {.base = base};
	s->err = files_collect(&c->scratch, &s->text, e->dirfd, e->name, e->fd, &e->st, attrs,
	                       s->growing ? &prefix : NULL, &s->rec);
	s->prefix_same = prefix.same;
	return pipeline_submit(c->pipe, s);
}

static int on_entry(void *ctx, struct walk_entry *e)
{
	struct run *c = ctx;
	struct dstate *parent = e->parent_user;
	struct file_rec base_rec;
	const struct file_rec *base = NULL;
	int r;

	if (c->a->tick && (r = c->a->tick(c->a->tick_ctx)) < 0)
		return r;
	if (parent) {
		/* The parent's path is ours without "/name" ("/" for the top). */
		size_t plen = e->path_len - e->name_len;
		r = catch_up(c, parent, e->path, plen > 1 ? plen - 1 : plen, e->name, e->name_len,
		             &base_rec);
	} else {
		r = store_get(c->s, 0, "", 0, &base_rec);
		r = r == -ENOENT ? 0 : r == 0 ? 1 : r;
	}
	if (r < 0)
		return r;
	if (r > 0)
		base = &base_rec;
	if (e->err) {
		if (e->in_scope || (base && (base->flags & REC_IN_SCOPE)))
			return queue_unreadable(c, e->path, e->path_len, e->err);
		return 0;
	}
	bool base_in = base && (base->flags & REC_IN_SCOPE);
	if (e->in_scope)
		r = compare(c, e, base_in ? base : NULL);
	else if (base_in)
		c->sum->out_of_scope++;
	if (r < 0)
		return r;

	if (e->hidden && base && base->type == FT_DIR && base->dirid) {
		/* A pseudo file system over a directory: the walk cannot see
		 * below, and what the baseline holds there is hidden. */
		struct hide h = {e->path_len, e->fs_type};

		return baseline_subtree(c, e->path, e->path_len, base->dirid, &h, 0);
	}
	if (e->descend) {
		struct dstate *d = calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		e->user = d;
		if (parent)
			d->hide = parent->hide;
		/* Mounted here since the baseline (the directory is another
		 * one): what the baseline holds below and is not seen is
		 * hidden by the mount, not removed. */
		if (e->fs_type && base && base->type == FT_DIR &&
		    (base->attrs & ATTR_BIT(ATTR_INODE)) && base->inode != (uint64_t)e->st.st_ino)
			d->hide = (struct hide){e->path_len, e->fs_type};
		if (base && base->type == FT_DIR && base->dirid) {
			r = store_iter_children(c->s, base->dirid, &d->it);
			if (r == 0)
				r = advance(c, d);
			if (r < 0)
				return r;
		}
	} else if (base && base->type == FT_DIR && base->dirid && !S_ISDIR(e->st.st_mode)) {
		/* A directory replaced by something else: all below it is gone. */
		static const struct hide none;

		return baseline_subtree(c, e->path, e->path_len, base->dirid,
		                        parent ? &parent->hide : &none, 0);
	}
	return 0;
}

static int on_leave(void *ctx, struct walk_entry *dir)
{
	struct run *c = ctx;
	struct dstate *d = dir->user;
	int r = 0;

	if (!d)
		return 0;
	/* Whatever the baseline still holds here was not seen live. */
	while (r >= 0 && d->have) {
		struct bytes n = d->name;
		struct file_rec rec = d->rec;
		r = advance(c, d);
		if (r >= 0)
			r = baseline_only(c, dir->path, dir->path_len, n, &rec, &d->hide, 0);
	}
	store_iter_free(d->it);
	free(d);
	dir->user = NULL;
	return r;
}

static void on_drop(void *ctx, struct walk_entry *dir)
{
	struct dstate *d = dir->user;

	if (d) {
		store_iter_free(d->it);
		free(d);
		dir->user = NULL;
	}
}

static void on_error(void *ctx, const char *path, size_t len, int err)
{
	struct run *c = ctx;
	int r = queue_unreadable(c, path, len, err);

	if (r < 0 && !c->fatal)
		c->fatal = r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The tree: the walk feeds the pipeline, whose consumer reports in walk order. */
static int check_tree(struct run *c)
{
	static const struct walk_ops ops = {
	        .entry = on_entry, .leave = on_leave, .drop = on_drop, .error = on_error};
	const struct check_args *a = c->a;
	int r;

	r = pipeline_new(a->jobs ? a->jobs : pipeline_default_jobs(), pipeline_default_slots(),
	                 a->algo, a->keep_cache ? PIPE_KEEP_CACHE : 0, complete, c, &c->pipe);
	if (r == 0 && a->tick)
		pipeline_set_tick(c->pipe, a->tick, a->tick_ctx);
	if (r == 0)
		r = walk_run(a->rootfd, c->p, &ops, c);
	if (r == 0)
		r = c->fatal;
	if (r == 0)
		r = pipeline_drain(c->pipe);
	if (a->tree_done)
		a->tree_done(a->progress_ctx);
	return r;
}

int check_run(const struct check_args *a, struct report *rep, const struct report_info *info,
              struct report_summary *sum, struct fim_err *err)
{
	struct run c = {.a = a, .s = a->s, .p = a->p, .old = a->old, .rep = rep, .sum = sum};
	double t0 = a->t0 ? a->t0 : now();
	int r;

	if (files_scratch_init(&c.scratch, a->algo) < 0)
		return -ENOMEM;
	c.scratch.tick = a->tick;
	c.scratch.tick_ctx = a->tick_ctx;
	r = rep->ops->begin(rep, info);
	if (r == 0)
		r = check_tree(&c);
	if (r == 0)
		r = objects_check(a->rootfd, a->p, a->old, a->s, rep, a->say, sum, err);
	if (r == 0) {
		sum->seconds = now() - t0;
		r = rep->ops->end(rep, sum);
	}
	pipeline_free(c.pipe);
	files_scratch_free(&c.scratch);
	buf_free(&c.path);
	return r;
}

int check_old_policy(struct store *s, const struct policy *p, struct policy **ret_old)
{
	struct bytes digest, bundle;
	struct policy_error perr = {0};
	int r;

	*ret_old = NULL;
	r = store_policy_read(s, &digest, &bundle);
	if (r < 0)
		return r;
	if (store_policy_is(s, p))
		return 0;
	return policy_load_bundle(bundle.p, bundle.n, ret_old, &perr);
}

enum hash_algo check_baseline_algo(struct store *s, char *name, size_t size)
{
	struct bytes v;
	size_t n;

	name[0] = '\0';
	if (store_meta(s, META_HASH, &v) == 0) {
		n = v.n < size - 1 ? v.n : size - 1;
		memcpy(name, v.p, n);
		name[n] = '\0';
	}
	return hash_lookup(name);
}
