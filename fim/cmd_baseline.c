/* SPDX-License-Identifier: ISC */
/* fim baseline: walk what the policy selects and write a fresh store. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "baseline/files.h"
#include "baseline/pipeline.h"
#include "baseline/walk.h"
#include "fim/cli.h"
#include "fim/cmd_check.h"
#include "fim/log.h"
#include "fim/engine/objects.h"
#include "fim/progress.h"
#include "fim/store/store_policy.h"
#include "fim/trust/trust.h"
#include "fim/core/utf8.h"
#include "fim/core/error.h"

struct baseline_run {
	const char *db;
	struct store_writer *w;
	struct pipeline *pipe;
	struct files_scratch scratch; /* for what the walker collects itself */
	uint64_t files, dirs, errors, bytes, objects;
	struct progress progress;
	int fatal; /* negative errno that stopped the run */
};

enum { TAG_NODE, TAG_IN_SCOPE };

/* LMDB reports a short write on a full disk as EIO: say what it is. */
static int store_error(const char *db, int r)
{
	struct statvfs sv;

	if (r == -EIO && statvfs(db, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < (1u << 20))
		return -ENOSPC;
	return r;
}

static void report_unreadable(struct baseline_run *b, const char *path, size_t len, int err)
{
	char q[8192];

	b->errors++;
	log_warn("%s: %s", utf8_quote(path, len, q, sizeof(q)), err_cause(err));
}

/* Consumer: slots arrive in walk order; record each in the new store. */
static int put(void *ctx, struct pipe_slot *s)
{
	struct baseline_run *b = ctx;
	const char *path = (const char *)s->path.p;
	struct file_rec *rec = &s->rec;
	int r;

	if (s->err)
		report_unreadable(b, path, s->path.n, s->err);
	if (s->tag == TAG_IN_SCOPE) {
		rec->flags |= REC_IN_SCOPE;
		if (rec->type == FT_DIR)
			b->dirs++;
		else
			b->files++;
		if (rec->attrs & ATTR_BIT(ATTR_HASH))
			b->bytes += rec->size;
		progress_add(&b->progress, (rec->attrs & ATTR_BIT(ATTR_HASH)) ? rec->size : 0);
	}
	rec->dirid = s->id;
	r = store_writer_put(b->w, s->parent, path + s->name_off, s->path.n - s->name_off, rec);
	if (r < 0) {
		char q[8192];
		log_error("%s: cannot record it in %s: %s",
		          utf8_quote(path, s->path.n, q, sizeof(q)), "the new baseline",
		          strerror(-store_error(b->db, r)));
		b->fatal = r;
	}
	return r;
}

/* Walker: fill a slot; regular files to read go to the workers. */
static int on_entry(void *ctx, struct walk_entry *e)
{
	struct baseline_run *b = ctx;
	struct pipe_slot *s;
	attrset_t attrs;
	int r;

	if (e->err) {
		report_unreadable(b, e->path, e->path_len, e->err);
		return 0;
	}
	s = pipeline_slot(b->pipe);
	if (!s)
		return b->fatal ? b->fatal : -EIO;
	r = pipe_slot_set_path(s, e->path, e->path_len, e->name_len);
	if (r < 0)
		return r;
	s->parent = (uintptr_t)e->parent_user;
	s->id = 0;
	if (S_ISDIR(e->st.st_mode) && e->descend) {
		s->id = store_writer_new_node(b->w);
		e->user = (void *)(uintptr_t)s->id;
	}
	if (!e->in_scope) {
		/* Only a way to what is selected below: keep just enough to walk. */
		s->tag = TAG_NODE;
		s->rec = (struct file_rec){0};
		files_from_stat(&e->st, ATTR_BIT(ATTR_TYPE), &s->rec);
		return pipeline_submit(b->pipe, s);
	}
	s->tag = TAG_IN_SCOPE;
	attrs = e->rule->attrs;
	/* A pinned regular file is read by a worker; anything else here. */
	if (e->pin >= 0 && S_ISREG(e->st.st_mode) && (attrs & ~FILES_STAT_ATTRS)) {
		s->fd = TAKE_FD(e->pin);
		s->work = true;
		s->st = e->st;
		s->attrs = attrs;
		return pipeline_submit(b->pipe, s);
	}
	s->err = files_collect(&b->scratch, &s->text, e->dirfd, e->name, e->fd, &e->st, attrs, NULL,
	                       &s->rec);
	return pipeline_submit(b->pipe, s);
}

static void on_error(void *ctx, const char *path, size_t len, int err)
{
	struct baseline_run *b = ctx;
	char q[8192];

	b->errors++;
	log_warn("%s: cannot read directory: %s", utf8_quote(path, len, q, sizeof(q)),
	         err_cause(err));
}

static int write_meta(struct baseline_run *b, const struct fim_opts *o, const struct policy *p,
                      enum hash_algo algo)
{
	char created[64], host[256] = "", stats[256];
	void *bundle = NULL;
	size_t blen = 0;
	int r;

	cli_rfc3339(created, sizeof(created));
	gethostname(host, sizeof(host) - 1);
	snprintf(stats, sizeof(stats), "files=%llu dirs=%llu errors=%llu bytes=%llu objects=%llu",
	         (unsigned long long)b->files, (unsigned long long)b->dirs,
	         (unsigned long long)b->errors, (unsigned long long)b->bytes,
	         (unsigned long long)b->objects);
	r = policy_bundle(p, &bundle, &blen);
	if (r < 0)
		return r;
	r = store_writer_meta(b->w, META_POLICY, bundle, blen);
	free(bundle);
	if (r == 0)
		r = store_writer_meta(b->w, META_POLICY_DIGEST, policy_digest(p),
		                      STORE_POLICY_DIGEST_BYTES);
	if (r == 0)
		r = store_writer_meta(b->w, META_CREATED, created, strlen(created));
	if (r == 0)
		r = store_writer_meta(b->w, META_HOST, host, strlen(host));
	if (r == 0)
		r = store_writer_meta(b->w, META_ROOT, o->root, strlen(o->root));
	if (r == 0)
		r = store_writer_meta(b->w, META_HASH, hash_name(algo), strlen(hash_name(algo)));
	if (r == 0)
		r = store_writer_meta(b->w, META_STATS, stats, strlen(stats));
	return r;
}

/* Accepts recorded in the previous baseline stay in the history of the new one. */
/*
 * Whether the previous baseline S may hand its accept history on. A new
 * signed baseline vouches for everything in it, so the history must come
 * from a baseline the same signer (or the configured verify key) signed;
 * otherwise anyone who could write the old store could forge entries and
 * have them signed. Without any key nothing is vouched for and the history
 * is carried as it is. Returns true, or false with the reason in *why.
 */
static bool history_trusted(const struct fim_opts *o, const struct policy *p,
                            const struct sign_key *signer, struct store *s, const char **why)
{
	const char *key_path = cli_trust_verify_key_path(o, p);

	*why = NULL;
	if (signer->sk && cli_trust_check_key(signer, NULL, s, why, NULL, 0) == 0)
		return true;
	if (key_path && cli_trust_check(key_path, NULL, s, why, NULL, 0) == 0)
		return true;
	return !signer->sk && !key_path;
}

/* Accepts stay on record across baselines: copy the audit database over. */
static int carry_history(const struct fim_opts *o, const struct policy *p,
                         const struct sign_key *signer, struct store_writer *w)
{
	struct store_iter *it = NULL;
	struct store *s;
	const char *why;
	struct bytes e;
	uint64_t seq;
	int r;

	if (store_open(o->db, &s) < 0)
		return 0; /* no usable previous baseline: nothing to carry */
	if (!history_trusted(o, p, signer, s, &why)) {
		r = store_audit_iter(s, &it);
		if (r >= 0 && store_audit_next(it, &seq, &e) > 0)
			log_warn("%s: the previous baseline does not verify (%s); its accept "
			         "history is not carried over",
			         o->db, why ? why : "no key");
		store_iter_free(it);
		store_close(s);
		return 0;
	}
	r = store_audit_iter(s, &it);
	while (r >= 0 && (r = store_audit_next(it, &seq, &e)) > 0)
		r = store_writer_audit(w, e.p, e.n, NULL);
	store_iter_free(it);
	store_close(s);
	if (r == -EBADMSG) {
		log_warn("%s: the previous baseline's accept history is damaged; not carried over",
		         o->db);
		r = 0;
	}
	return r;
}

/* The previous baseline, if any, tells how much there is to do. */
static void start_progress(struct baseline_run *b, const struct fim_opts *o)
{
	uint64_t files = 0, bytes = 0;
	struct store *s;
	struct bytes v;

	if (store_open(o->db, &s) == 0) {
		if (store_meta(s, META_STATS, &v) == 0)
			progress_parse_stats(v.p, v.n, &files, &bytes);
		store_close(s);
	}
	progress_init(&b->progress, "baseline", o->verbose > 0 && isatty(STDERR_FILENO), files,
	              bytes);
}

int cmd_baseline(struct fim_opts *o, int argc, char **argv)
{
	static const struct walk_ops ops = {.entry = on_entry, .error = on_error};
	struct baseline_run b = {.db = o->db};
	struct sign_key signer = {0};
	struct policy *p = NULL;
	int rootfd = -1, ret, r;
	double t0 = cli_now();
	enum hash_algo algo;

	if (argc > 1) {
		log_error("baseline: unexpected argument '%s'", argv[1]);
		return FIM_EXIT_USAGE;
	}
	ret = cli_load_policy(o, &p);
	if (ret)
		return ret;
	algo = cli_policy_hash(p);
	/* a wrong passphrase must fail before the walk, with the old baseline intact */
	ret = cli_trust_load_signer(o, &signer);
	if (ret)
		goto out;
	ret = FIM_EXIT_IO;
	rootfd = cli_open_root(o);
	if (rootfd < 0)
		goto out;
	if (files_scratch_init(&b.scratch, algo) < 0) {
		log_error("baseline: out of memory");
		goto out;
	}
	r = store_writer_new(o->db, &b.w);
	if (r < 0) {
		log_error("%s: cannot create a new baseline: %s", o->db,
		          r == -EBUSY ? "another fim baseline is writing there" : strerror(-r));
		goto out;
	}
	r = pipeline_new(o->jobs ? o->jobs : pipeline_default_jobs(), pipeline_default_slots(),
	                 algo, o->keep_cache ? PIPE_KEEP_CACHE : 0, put, &b, &b.pipe);
	if (r < 0) {
		log_error("baseline: cannot start hash workers: %s", strerror(-r));
		goto out;
	}
	start_progress(&b, o);
	r = walk_run(rootfd, p, &ops, &b);
	if (r == 0)
		r = pipeline_drain(b.pipe);
	progress_end(&b.progress);
	if (r == 0) {
		struct objects_stats os = {0};
		struct fim_err err = {0};

		r = objects_baseline(rootfd, p, b.w, &cmd_say_problems, &os, &err);
		b.errors += os.errors;
		b.objects = os.objects;
		if (err.msg[0])
			log_error("%s", err.msg);
		if (r < 0)
			b.fatal = r; /* logged */
	}
	if (r == -ENOMEM)
		log_error("baseline: out of memory");
	if (r == 0)
		r = carry_history(o, p, &signer, b.w);
	if (r == 0)
		r = write_meta(&b, o, p, algo);
	if (r == 0 && signer.sk) {
		r = trust_sign(b.w, &signer);
		if (r < 0)
			log_error("%s: cannot sign the new baseline: %s", o->db, strerror(-r));
	}
	if (r == 0)
		r = store_writer_commit(b.w);
	else
		store_writer_abort(b.w);
	b.w = NULL;
	if (r < 0) {
		if (!b.fatal)
			log_error("%s: baseline not written: %s", o->db,
			          strerror(-store_error(o->db, r)));
		log_error("%s: the previous baseline, if any, is unchanged", o->db);
		goto out;
	}
	if (o->verbose)
		printf("fim baseline: %llu files, %llu directories, %.1f MB hashed (%s), "
		       "%llu other objects, %llu unreadable, in %.1f s -> %s\n",
		       (unsigned long long)b.files, (unsigned long long)b.dirs,
		       (double)b.bytes / 1e6, hash_name(algo), (unsigned long long)b.objects,
		       (unsigned long long)b.errors, cli_now() - t0, o->db);
	ret = b.errors ? FIM_EXIT_UNREADABLE : 0;
out:
	if (rootfd >= 0)
		close(rootfd);
	pipeline_free(b.pipe);
	files_scratch_free(&b.scratch);
	sign_key_free(&signer);
	policy_free(p);
	return ret;
}
