/* SPDX-License-Identifier: ISC */
/* fim check: walk the live tree in step with the baseline and report drift. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "baseline/files.h"
#include "baseline/pipeline.h"
#include "baseline/walk.h"
#include "fim/cli.h"
#include "fim/log.h"
#include "fim/engine/objects.h"
#include "fim/output.h"
#include "fim/progress.h"
#include "fim/trust/trail.h"
#include "fim/trust/trust.h"
#include "fim/core/utf8.h"

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

struct check_run {
	struct store *s;
	const struct policy *p;
	struct policy *old;           /* the baseline's policy, when it differs */
	struct files_scratch scratch; /* for what the walker collects itself */
	struct pipeline *pipe;
	struct report rep;  /* what drift is told to: main, or main and the trail */
	struct report main; /* the report on stdout */
	struct report tr;   /* JSON into the alert trail */
	struct trail *trail;
	FILE *trail_out;
	const char *trail_path;
	bool teed; /* rep is the tee of main and tr */
	struct report_summary sum;
	struct buf path; /* for baseline-only subtrees */
	bool quick;      /* trust inode, size, mtime and ctime for the rest */
	uint64_t completed;
	struct progress progress;
	int fatal;
	int (*tick)(void *ctx); /* the caller's stop (fim_opts.check_tick) */
	void *tick_ctx;
};

static int bytes_cmp(struct bytes a, const char *b, size_t bn)
{
	int c = memcmp(a.p, b, a.n < bn ? a.n : bn);

	if (c)
		return c;
	return a.n < bn ? -1 : a.n > bn;
}

static int advance(struct check_run *c, struct dstate *d)
{
	int r = store_iter_next(d->it, &d->name, &d->rec);

	d->have = r > 0;
	if (r < 0) {
		c->fatal = r;
		return r;
	}
	return 0;
}

static bool selects(const struct policy *p, const char *path, size_t len)
{
	const struct policy_rule *rule = policy_match(p, path, len);

	return rule && !(rule->flags & RULE_EXCLUDE);
}

/* What a slot asks the consumer to do. */
enum { TAG_COMPARE, TAG_REMOVED, TAG_UNREADABLE, TAG_HIDDEN };

static int emit(struct check_run *c, struct drift *d)
{
	switch (d->action) {
	case DRIFT_ADDED:
		c->sum.added++;
		break;
	case DRIFT_REMOVED:
		c->sum.removed++;
		break;
	case DRIFT_CHANGED:
		c->sum.changed++;
		break;
	}
	return c->rep.ops->drift(&c->rep, d);
}

static int unreadable(struct check_run *c, struct bytes id, int err)
{
	c->sum.errors++;
	return c->rep.ops->error(&c->rep, id, err);
}

/* Consumer: slots arrive in walk order, so reports come out in that order. */
static int complete(void *ctx, struct pipe_slot *s)
{
	struct check_run *c = ctx;
	const struct policy_rule *rule = s->rule;
	struct bytes id = {s->path.p, s->path.n};
	struct drift d = {.kind = KIND_FILE, .id = id, .rule = rule};
	int r = 0;

	/* first: a read the caller stopped is no unreadable file */
	if (c->tick && (r = c->tick(c->tick_ctx)) < 0)
		return r;
	if (++c->completed % 16384 == 0)
		store_trim(c->s);
	if (s->tag == TAG_UNREADABLE)
		return unreadable(c, id, s->err);
	if (s->tag == TAG_HIDDEN) {
		/* s->id: length of the mount point's path, s->parent: its f_type */
		char msg[8400], q[8192], fs[32];

		c->sum.errors++;
		snprintf(msg, sizeof(msg), "hidden by a mount: %s mounted on %s",
		         walk_fs_name((long)s->parent, fs, sizeof(fs)),
		         utf8_quote(s->path.p, (size_t)s->id, q, sizeof(q)));
		return c->rep.ops->problem(&c->rep, KIND_FILE, rule->severity,
		                           (const char *)s->path.p, 0, -EXDEV, msg);
	}
	if (s->tag == TAG_REMOVED) {
		d.action = DRIFT_REMOVED;
		d.before = &s->base;
		return emit(c, &d);
	}
	c->sum.scanned++;
	progress_add(&c->progress, (s->rec.attrs & ATTR_BIT(ATTR_HASH)) ? s->rec.size : 0);
	if (s->err)
		r = unreadable(c, id, s->err);
	if (r < 0)
		return r;
	if (s->has_base) {
		unsigned flags = (rule->flags & RULE_GROWING) ? DIFF_GROWING : 0;
		/* A file turned into a FIFO is drift whatever the rule lists. */
		attrset_t mask = rule->attrs | ATTR_BIT(ATTR_TYPE);
		d.changed = rec_diff(&s->base, &s->rec, mask, flags, s->prefix_same);
		/* Content the baseline could not read is not "unchanged". */
		if ((s->base.flags & (REC_UNREADABLE | REC_CHANGED_WHILE_READ)) &&
		    (s->rec.attrs & ~s->base.attrs & rule->attrs & ATTR_BIT(ATTR_HASH))) {
			d.changed |= ATTR_BIT(ATTR_HASH);
			d.note = "the baseline could not read this file's content";
		}
		if (!d.changed)
			return 0;
		d.action = DRIFT_CHANGED;
		d.before = &s->base;
		d.after = &s->rec;
		return emit(c, &d);
	}
	if (c->old && !selects(c->old, (const char *)id.p, id.n)) {
		c->sum.newly_in_scope++;
		return 0;
	}
	d.action = DRIFT_ADDED;
	d.after = &s->rec;
	return emit(c, &d);
}

/* A slot for PATH, or NULL (the pipeline stopped; c->fatal says why). */
static struct pipe_slot *slot_for(struct check_run *c, const char *path, size_t len,
                                  size_t name_len, int tag)
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

static int queue_unreadable(struct check_run *c, const char *path, size_t len, int err)
{
	struct pipe_slot *s = slot_for(c, path, len, 0, TAG_UNREADABLE);

	if (!s)
		return c->fatal;
	s->err = err;
	return pipeline_submit(c->pipe, s);
}

/* The baseline's REC at c->path is gone, or hidden by the mount H (len > 0). */
static int queue_removed(struct check_run *c, const struct policy_rule *rule,
                         const struct file_rec *rec, const struct hide *h)
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

static int baseline_only(struct check_run *c, const char *parent, size_t plen, struct bytes name,
                         const struct file_rec *rec, const struct hide *h, unsigned depth);

/* Everything below baseline node ID that the policy still selects is gone
 * (or hidden by the mount H). */
static int baseline_subtree(struct check_run *c, const char *path, size_t len, uint64_t id,
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
static int baseline_only(struct check_run *c, const char *parent, size_t plen, struct bytes name,
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
			c->sum.out_of_scope++;
		}
	}
	/* Under a changed policy, also count what left its scope below. */
	if (rec->type == FT_DIR && rec->dirid &&
	    (c->old || policy_descend(c->p, (char *)c->path.p, c->path.n)))
		return baseline_subtree(c, (char *)c->path.p, c->path.n, rec->dirid, h, depth);
	return 0;
}

/* Baseline entries of D that sort before NAME are not in the walk. */
static int catch_up(struct check_run *c, struct dstate *d, const char *dir, size_t dlen,
                    const char *name, size_t nlen, struct file_rec *ret_base)
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

/*
 * --quick: a regular file whose inode, size, mtime and ctime are all as
 * recorded is not read again. Any write or chmod/chown/xattr change moves
 * ctime, which only a clock change or a raw disk write can forge.
 */
static bool unchanged_identity(const struct file_rec *base, const struct stat *st)
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

/* Queues the live object for comparison with BASE (NULL: not in the baseline). */
static int compare(struct check_run *c, struct walk_entry *e, const struct file_rec *base)
{
	struct pipe_slot *s = slot_for(c, e->path, e->path_len, e->name_len, TAG_COMPARE);
	attrset_t attrs = e->rule->attrs;

	if (!s)
		return c->fatal;
	if (c->quick && base && S_ISREG(e->st.st_mode) && unchanged_identity(base, &e->st))
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
	struct check_run *c = ctx;
	struct dstate *parent = e->parent_user;
	struct file_rec base_rec;
	const struct file_rec *base = NULL;
	int r;

	if (c->tick && (r = c->tick(c->tick_ctx)) < 0)
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
		c->sum.out_of_scope++;
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
	struct check_run *c = ctx;
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
	struct check_run *c = ctx;
	int r = queue_unreadable(c, path, len, err);

	if (r < 0 && !c->fatal)
		c->fatal = r;
}

/* Copies a meta text value into a NUL-terminated buffer ("" if absent). */
static const char *meta_text(struct store *s, const char *key, char *buf, size_t size)
{
	struct bytes v;
	size_t n;

	buf[0] = '\0';
	if (store_meta(s, key, &v) < 0)
		return buf;
	n = v.n < size - 1 ? v.n : size - 1;
	memcpy(buf, v.p, n);
	buf[n] = '\0';
	return buf;
}

/* With --alerts (or "set alerts.file"), drift also goes, as JSON, into the
 * hash-chained alert trail. Returns 0 or -1 (reported). */
static int open_trail(struct check_run *c, const struct fim_opts *o, const struct policy *p)
{
	const char *path = o->alerts ? o->alerts : policy_get(p, "alerts.file");
	const char *keyfile = o->alerts_key ? o->alerts_key : policy_get(p, "alerts.key");
	uint8_t key[TRAIL_KEY_BYTES];
	int r;

	if (!path)
		return 0;
	c->trail_path = path;
	if (keyfile) {
		r = trail_load_key(keyfile, key);
		if (r < 0) {
			log_error("%s: cannot read the alert trail key: %s", keyfile,
			          r == -EINVAL ? "shorter than 32 bytes" : trail_cause(r));
			return -1;
		}
	}
	r = trail_open(path, keyfile ? key : NULL, &c->trail);
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		log_error("%s: cannot open the alert trail: %s", path, trail_cause(r));
		return -1;
	}
	c->trail_out = trail_stream(c->trail);
	if (!c->trail_out) {
		log_error("%s: cannot open the alert trail: %s", path, strerror(errno));
		return -1;
	}
	c->tr = (struct report){.ops = &report_json, .out = c->trail_out};
	if (report_tee(&c->rep, &c->main, &c->tr) < 0) {
		log_error("check: out of memory");
		return -1;
	}
	c->teed = true;
	return 0;
}

/* Loads the baseline's own policy when it differs from the one in force. */
static int load_old_policy(struct check_run *c, bool *changed)
{
	struct bytes digest, bundle;
	struct policy_error err = {0};

	*changed = false;
	if (store_meta(c->s, META_POLICY_DIGEST, &digest) < 0 || digest.n != 32 ||
	    store_meta(c->s, META_POLICY, &bundle) < 0)
		return -EBADMSG;
	if (policy_is_stored(c->p, digest.p, digest.n, bundle.p, bundle.n))
		return 0;
	*changed = true;
	return policy_load_bundle(bundle.p, bundle.n, &c->old, &err);
}

int cmd_check(struct fim_opts *o, int argc, char **argv)
{
	static const struct walk_ops ops = {
	        .entry = on_entry, .leave = on_leave, .drop = on_drop, .error = on_error};
	struct check_run c = {0};
	struct policy *p = NULL;
	struct report_info info = {.command = "check"};
	char created[64], host[256], hash[32];
	int rootfd = -1, ret, r;
	bool to_stdout;
	double t0 = cli_now();
	enum hash_algo algo;

	if (argc > 1) {
		log_error("check: unexpected argument '%s'", argv[1]);
		return FIM_EXIT_USAGE;
	}
	/* The daemon checks with the policy and baseline it holds (verified). */
	if (o->check_store) {
		c.p = o->check_policy;
		c.s = o->check_store;
	} else {
		ret = cli_load_policy(o, &p);
		if (ret)
			return ret;
		c.p = p;
	}
	c.quick = o->quick;
	c.tick = o->check_tick;
	c.tick_ctx = o->check_tick_ctx;
	if (!c.s) {
		ret = trust_open(o, p, &c.s);
		if (ret)
			goto out;
		ret = trust_verify(o, p, c.s);
		if (ret)
			goto out;
	}
	ret = FIM_EXIT_BASELINE;
	if (load_old_policy(&c, &info.policy_changed) < 0) {
		log_error("%s: the baseline's policy is missing or corrupt; run 'fim baseline'",
		          o->db);
		goto out;
	}
	algo = hash_lookup(meta_text(c.s, META_HASH, hash, sizeof(hash)));
	if (algo == HASH_NONE) {
		log_error("%s: the baseline names an unknown hash algorithm '%s'", o->db, hash);
		goto out;
	}
	if (info.policy_changed)
		log_warn("%s: the policy in force is not the one the baseline was built with; "
		         "objects it newly selects or drops are not reported as drift",
		         o->policy);
	info.created = meta_text(c.s, META_CREATED, created, sizeof(created));
	info.host = meta_text(c.s, META_HOST, host, sizeof(host));
	info.hash = hash;
	ret = FIM_EXIT_IO;
	rootfd = cli_open_root(o);
	if (rootfd < 0)
		goto out;
	if (files_scratch_init(&c.scratch, algo) < 0) {
		log_error("check: out of memory");
		goto out;
	}
	c.scratch.tick = c.tick;
	c.scratch.tick_ctx = c.tick_ctx;
	c.main = (struct report){.ops = o->report_ops ? o->report_ops : cli_report_ops(o),
	                         .out = stdout,
	                         .color = o->color,
	                         .verbose = o->verbose,
	                         .max_line = o->max_line,
	                         .level_prefix = output_is_journal(STDOUT_FILENO),
	                         .user = o->report_user};
	c.rep = c.main;
	if (!o->report_ops && open_trail(&c, o, c.p) < 0)
		goto out;
	r = c.rep.ops->begin(&c.rep, &info);
	if (r == 0)
		r = pipeline_new(o->jobs ? o->jobs : pipeline_default_jobs(),
		                 pipeline_default_slots(), algo,
		                 o->keep_cache ? PIPE_KEEP_CACHE : 0, complete, &c, &c.pipe);
	if (r == 0 && c.tick)
		pipeline_set_tick(c.pipe, c.tick, c.tick_ctx);
	if (r == 0) {
		uint64_t files = 0, bytes = 0;
		struct bytes v;
		if (store_meta(c.s, META_STATS, &v) == 0)
			progress_parse_stats(v.p, v.n, &files, &bytes);
		progress_init(&c.progress, "check", o->verbose > 0 && isatty(STDERR_FILENO), files,
		              bytes);
		r = walk_run(rootfd, c.p, &ops, &c);
	}
	if (r == 0)
		r = c.fatal;
	if (r == 0)
		r = pipeline_drain(c.pipe);
	progress_end(&c.progress);
	if (r == 0)
		r = objects_check(o, rootfd, c.p, c.old, c.s, &c.rep, &c.sum);
	if (r == 0) {
		c.sum.seconds = cli_now() - t0;
		r = c.rep.ops->end(&c.rep, &c.sum);
	}
	/* Only a report of our own goes to stdout (accept and watch pass theirs). */
	to_stdout = !o->report_ops;
	if (r == -EBADMSG) {
		/* never a failed write: a stdout that failed first must not hide it */
		log_error("%s: the baseline is corrupt: %s", o->db, strerror(-r));
		/* a signed baseline that verified and still reads as damaged */
		ret = trust_verify_key_path(o, c.p) ? FIM_EXIT_INTEGRITY : FIM_EXIT_BASELINE;
		goto out;
	} else if (r < 0 && c.tick && c.tick(c.tick_ctx) == r) {
		/* stopped by the caller, who says so */
		goto out;
	} else if (r < 0 && to_stdout && output_error()) {
		/* the report was lost; output_report says where and why */
	} else if (r < 0) {
		log_error("check: %s", strerror(-r));
		goto out;
	}
	if (!(to_stdout && output_report("check")) && r == 0)
		ret = (c.sum.added ? FIM_EXIT_ADDED : 0) | (c.sum.removed ? FIM_EXIT_REMOVED : 0) |
		      (c.sum.changed ? FIM_EXIT_CHANGED : 0) |
		      (c.sum.errors ? FIM_EXIT_UNREADABLE : 0);
out:
	pipeline_free(c.pipe);
	if (c.trail_out) {
		int ea = 0, eb = 0;
		/* A trail that failed did not stop the report; it fails the run. */
		if (c.teed)
			report_tee_errors(&c.rep, &ea, &eb);
		if (fclose(c.trail_out) != 0 && !eb)
			eb = -errno;
		if (eb) {
			log_error("%s: cannot append to the alert trail: %s", c.trail_path,
			          trail_cause(eb));
			if (ret < FIM_EXIT_USAGE)
				ret = FIM_EXIT_IO;
		}
	}
	if (c.rep.ops)
		c.rep.ops->free(&c.rep);
	trail_close(c.trail);
	if (rootfd >= 0)
		close(rootfd);
	files_scratch_free(&c.scratch);
	buf_free(&c.path);
	if (!o->check_store)
		store_close(c.s);
	policy_free(c.old);
	policy_free(p);
	return ret;
}
