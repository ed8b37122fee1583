/* SPDX-License-Identifier: ISC */
/* fim accept: take reviewed drift into the baseline, with who, when and why, and re-sign. */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline/files.h"
#include "baseline/rootfs.h"
#include "fim/cli.h"
#include "fim/cmd_check.h"
#include "fim/core/error.h"
#include "fim/core/jbytes.h"
#include "fim/core/utf8.h"
#include "fim/engine/check.h"
#include "fim/engine/drift.h"
#include "fim/engine/objects.h"
#include "fim/log.h"
#include "fim/store/store_policy.h"
#include "fim/trust/trust.h"

#define ACCEPT_MAX_TARGETS 1000000

/* One object to accept: a path, or KIND:NAME. */
struct target {
	enum fim_kind kind;
	char *id;
};

struct accept_run {
	struct fim_opts *o;
	struct policy *p;
	struct store *s; /* the current baseline, read-only */
	struct store_writer *w;
	int rootfd;
	struct files_scratch scratch;
	struct files_text text;
	struct obj_set *live[KIND__MAX];
	json_t *done; /* what was accepted, for the audit entry */
	struct target *t;
	size_t nt, cap;
	uint64_t errors;
	const char *filter; /* --kind */
};

static int target_add(struct accept_run *a, enum fim_kind kind, const char *id, size_t n)
{
	if (a->nt >= ACCEPT_MAX_TARGETS)
		return -E2BIG;
	if (a->nt == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		struct target *nt = realloc(a->t, cap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		a->t = nt;
		a->cap = cap;
	}
	a->t[a->nt].kind = kind;
	a->t[a->nt].id = strndup(id, n);
	if (!a->t[a->nt].id)
		return -ENOMEM;
	a->nt++;
	return 0;
}

/* --- --all / --kind: what a check reports is what may be accepted --- */

static int rec_begin(struct report *r, const struct report_info *info)
{
	return 0;
}

static int rec_drift(struct report *r, const struct drift *d)
{
	struct accept_run *a = r->user;

	if (a->filter && strcmp(a->filter, kind_name(d->kind)) != 0)
		return 0;
	if (memchr(d->id.p, '\0', d->id.n))
		return 0;
	return target_add(a, d->kind, (const char *)d->id.p, d->id.n);
}

static int rec_error(struct report *r, struct bytes id, int err)
{
	return 0;
}

static int rec_problem(struct report *r, enum fim_kind kind, enum severity sev, const char *path,
                       unsigned line, int err, const char *msg)
{
	return 0;
}

static int rec_end(struct report *r, const struct report_summary *s)
{
	return 0;
}

static void rec_free(struct report *r) {}

static const struct report_ops report_record = {
        .name = "record",
        .begin = rec_begin,
        .drift = rec_drift,
        .error = rec_error,
        .problem = rec_problem,
        .end = rec_end,
        .free = rec_free,
};

/* Runs the check engine on the verified baseline; its drift becomes the
 * targets. Returns 0 or an exit status (reported). */
static int targets_from_check(struct accept_run *a)
{
	struct report rep = {.ops = &report_record, .user = a};
	struct report_info info = {.command = "check"};
	struct report_summary sum = {0};
	struct fim_err err = {0};
	struct progress pg;
	char hash[32];
	struct check_args c = {.p = a->p,
	                       .s = a->s,
	                       .rootfd = a->rootfd,
	                       .quick = a->o->quick,
	                       .jobs = a->o->jobs,
	                       .keep_cache = a->o->keep_cache,
	                       .say = &cmd_say_problems};
	int r;

	c.algo = check_baseline_algo(a->s, hash, sizeof(hash));
	if (c.algo == HASH_NONE) {
		log_error("%s: the baseline names an unknown hash algorithm '%s'", a->o->db, hash);
		return FIM_EXIT_BASELINE;
	}
	cmd_check_progress(&c, &pg, a->s, a->o);
	r = check_run(&c, &rep, &info, &sum, &err);
	if (err.msg[0])
		log_error("%s", err.msg);
	if (r == -EBADMSG) {
		log_error("%s: the baseline is corrupt: %s", a->o->db, strerror(-r));
		return cli_trust_verify_key_path(a->o, a->p) ? FIM_EXIT_INTEGRITY
		                                             : FIM_EXIT_BASELINE;
	}
	if (r < 0) {
		log_error("check: %s", strerror(-r));
		return FIM_EXIT_IO;
	}
	if (sum.errors)
		log_warn("accept: some objects could not be read; they are not accepted");
	return 0;
}

/* --- recording one accepted object --- */

static void note(struct accept_run *a, enum fim_kind kind, const char *id, const char *action,
                 enum fim_kind ck, attrset_t changed)
{
	json_t *o = json_object(), *ch;
	char q[8192], names[512] = "";

	json_object_set_new(o, "object", json_string(kind_name(kind)));
	jbytes_set(o, "id", id, strlen(id));
	json_object_set_new(o, "action", json_string(action));
	if (changed) {
		ch = json_array();
		for (unsigned i = 0; i < 32; i++)
			if (changed & ATTR_BIT(i) && attr_name(ck, i))
				json_array_append_new(ch, json_string(attr_name(ck, i)));
		json_object_set_new(o, "changed", ch);
		attr_format_set(ck, changed, names, sizeof(names));
	}
	json_array_append_new(a->done, o);
	if (a->o->verbose)
		printf("accepted: %s %s%s%s%s%s\n", action,
		       kind == KIND_FILE ? "" : kind_name(kind), kind == KIND_FILE ? "" : " ",
		       utf8_quote(id, strlen(id), q, sizeof(q)), names[0] ? ": " : "", names);
}

static int store_fail(const char *id, int r)
{
	log_error("%s: cannot update the new baseline: %s", id, strerror(-r));
	return r;
}

/* The node id of directory DIR (absolute) as the new baseline holds it. */
static int dir_node(struct accept_run *a, const char *dir, uint64_t *ret)
{
	uint64_t id = STORE_ROOT_ID;
	const char *p = dir;

	while (*p) {
		struct file_rec rec;
		size_t n;
		int r;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		r = store_writer_get(a->w, id, p, n, &rec);
		if (r < 0 || rec.type != FT_DIR || !rec.dirid)
			return r < 0 ? r : -ENOTDIR;
		id = rec.dirid;
		p += n;
	}
	*ret = id;
	return 0;
}

/*
 * Whether PATH went out of the new baseline with its directory PARENT
 * earlier in this accept (removed, or replaced by something that is not a
 * directory): PARENT was a directory in the baseline being replaced, and
 * the new one, a copy only this run changed, no longer has it as one.
 */
static bool removed_with_parent(struct accept_run *a, const char *parent)
{
	struct file_rec old;

	return store_lookup(a->s, parent, strlen(parent), &old, NULL) == 0 && old.type == FT_DIR &&
	       old.dirid;
}

/* Where a file goes in the new baseline: its directory's node and the
 * name in it, and what the baseline holds there now. */
struct file_slot {
	const char *path, *name;
	const char *q; /* the path quoted, for messages */
	uint64_t pid;
	bool have_base;
	struct file_rec base;
};

/* The live file NAME of DIRFD (statted as ST) into the new baseline under
 * RULE. Returns 0, 1 (refused, reported) or a negative errno (reported). */
static int accept_live_file(struct accept_run *a, const struct file_slot *f,
                            const struct policy_rule *rule, int dirfd, const struct stat *st)
{
	const struct file_rec *base = f->have_base ? &f->base : NULL;
	size_t n = strlen(f->name);
	attrset_t changed = 0;
	struct file_rec rec;
	int r;

	r = files_collect(&a->scratch, &a->text, dirfd, f->name, -1, st, rule->attrs, NULL, &rec);
	if (r < 0) {
		log_error("%s: cannot read it: %s; not accepted", f->q, err_cause(r));
		a->errors++;
		return 1;
	}
	rec.flags |= REC_IN_SCOPE;
	if (base) {
		/* The drift check reports, content the baseline could not read
		 * included: what it calls drift can be accepted. */
		struct drift d = {.kind = KIND_FILE, .rule = rule};

		if (drift_file(NULL, base, &rec, false, &d) == DRIFT_NONE) {
			log_warn("%s: no drift to accept", f->q);
			return 0;
		}
		changed = d.changed;
	}
	rec.dirid = 0;
	if (rec.type == FT_DIR)
		rec.dirid = base && base->type == FT_DIR && base->dirid
		                    ? base->dirid
		                    : store_writer_new_node(a->w);
	r = 0;
	if (base && base->type == FT_DIR && rec.type != FT_DIR)
		r = store_writer_del(a->w, f->pid, f->name, n);
	r = r < 0 ? r : store_writer_put(a->w, f->pid, f->name, n, &rec);
	if (r < 0)
		return store_fail(f->q, r);
	note(a, KIND_FILE, f->path, base ? "changed" : "added", KIND_FILE, changed);
	return 0;
}

static int accept_file(struct accept_run *a, const char *path)
{
	const struct policy_rule *rule = policy_match(a->p, path, strlen(path));
	bool selected = rule && !(rule->flags & RULE_EXCLUDE), live;
	char q[8192], parent[PATH_MAX];
	struct file_slot f = {.path = path, .name = strrchr(path, '/') + 1, .q = q};
	size_t plen = (size_t)(f.name - path);
	struct stat st;
	int dirfd = -1, r;

	utf8_quote(path, strlen(path), q, sizeof(q));
	if (strlen(path) >= sizeof(parent)) {
		log_error("%s: path too long to accept", q);
		return 1;
	}
	if (strcmp(path, "/") == 0) {
		log_error("%s: the root itself cannot be accepted; run 'fim baseline'", q);
		return 1;
	}
	memcpy(parent, path, plen);
	parent[plen > 1 ? plen - 1 : 1] = '\0';
	r = dir_node(a, parent, &f.pid);
	if (r < 0 && removed_with_parent(a, parent))
		return 0; /* its directory was removed by this accept, with it */
	if (r < 0) {
		log_error("%s: its directory is not in the baseline; accept %s first", q, parent);
		return 1;
	}
	f.have_base = store_writer_get(a->w, f.pid, f.name, strlen(f.name), &f.base) == 0 &&
	              (f.base.flags & REC_IN_SCOPE);
	dirfd = rootfs_open(a->rootfd, parent, O_PATH | O_DIRECTORY);
	live = dirfd >= 0 && fstatat(dirfd, f.name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (live && selected)
		r = accept_live_file(a, &f, rule, dirfd, &st);
	if (dirfd >= 0)
		close(dirfd);
	if (live && selected)
		return r;
	if (!live && f.have_base) {
		r = store_writer_del(a->w, f.pid, f.name, strlen(f.name));
		if (r < 0)
			return store_fail(q, r);
		note(a, KIND_FILE, path, "removed", KIND_FILE, 0);
		return 0;
	}
	log_error("%s: %s; nothing to accept", q,
	          live ? "not selected by the policy" : "neither on disk nor in the baseline");
	return 1;
}

static int accept_object(struct accept_run *a, enum fim_kind kind, const char *id)
{
	const struct policy_rule *rule = policy_match_obj(a->p, kind, id, strlen(id));
	bool selected = rule && !(rule->flags & RULE_EXCLUDE);
	const struct obj_rec *live;
	struct obj_rec base, put;
	bool have_base;
	char q[8192];
	int r;

	snprintf(q, sizeof(q), "%s:", kind_name(kind));
	utf8_quote(id, strlen(id), q + strlen(q), sizeof(q) - strlen(q));
	if (!a->live[kind]) {
		r = objects_collect(a->rootfd, a->s, kind, &cmd_say_problems, &a->live[kind],
		                    &a->errors);
		if (r < 0) {
			log_error("%s: cannot collect them: %s", kind_plural(kind), strerror(-r));
			return r;
		}
	}
	live = obj_set_find(a->live[kind], id, strlen(id));
	have_base = store_obj_get(a->s, kind, id, strlen(id), &base) == 0;
	if (live && selected) {
		attrset_t changed = 0;

		put = *live;
		put.attrs &= rule->attrs;
		if (have_base) {
			changed = obj_diff(&base, &put, rule->attrs);
			if (!changed) {
				log_warn("%s: no drift to accept", q);
				return 0;
			}
		}
		r = store_writer_put_obj(a->w, &put);
		if (r < 0)
			return store_fail(q, r);
		note(a, kind, id, have_base ? "changed" : "added", kind, changed);
		return 0;
	}
	if (!live && have_base) {
		r = store_writer_del_obj(a->w, kind, id, strlen(id));
		if (r < 0)
			return store_fail(q, r);
		note(a, kind, id, "removed", kind, 0);
		return 0;
	}
	log_error("%s: %s; nothing to accept", q,
	          live ? "not selected by the policy" : "neither live nor in the baseline");
	return 1;
}

/* --- the audit entry --- */

static json_t *who(void)
{
	json_t *o = json_object();
	unsigned long login = (unsigned long)-1;
	const char *sudo = getenv("SUDO_USER");
	struct passwd *pw;
	FILE *f;

	json_object_set_new(o, "uid", json_integer((json_int_t)getuid()));
	pw = getpwuid(getuid());
	if (pw)
		json_object_set_new(o, "user", json_string(pw->pw_name));
	/* the login uid survives su and sudo: who really sat at the keyboard */
	f = fopen("/proc/self/loginuid", "re");
	if (f) {
		if (fscanf(f, "%lu", &login) != 1)
			login = (unsigned long)-1;
		fclose(f);
	}
	if (login != (unsigned long)-1 && login != 4294967295UL) {
		json_object_set_new(o, "login_uid", json_integer((json_int_t)login));
		pw = getpwuid((uid_t)login);
		if (pw)
			json_object_set_new(o, "login_user", json_string(pw->pw_name));
	}
	if (sudo)
		jbytes_set(o, "sudo_user", sudo, strlen(sudo));
	return o;
}

static int write_audit(struct accept_run *a, const struct sign_key *signer)
{
	json_t *e = json_object();
	char when[64], id[2 * SIGN_ID_BYTES + 1];
	uint64_t seq = 0;
	char *text;
	int r;

	cli_rfc3339(when, sizeof(when));
	json_object_set_new(e, "time", json_string(when));
	json_object_set_new(e, "by", who());
	jbytes_set(e, "reason", a->o->reason, strlen(a->o->reason));
	if (signer->sk) {
		sign_id_hex(signer, id);
		json_object_set_new(e, "signed_by", json_string(id));
	}
	json_object_set_new(e, "objects", json_incref(a->done));
	text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(e);
	if (!text)
		return -ENOMEM;
	r = store_writer_audit(a->w, text, strlen(text), &seq);
	free(text);
	return r;
}

/* An absolute path of N bytes with no ".", ".." or empty component: the
 * form the baseline records, so "/etc/../etc/x" cannot name an entry twice. */
static bool path_is_plain(const char *path, size_t n)
{
	size_t i = 1, len;

	if (n == 1)
		return true; /* "/" */
	while (i <= n) {
		len = strcspn(path + i, "/");
		if (i + len > n)
			len = n - i;
		if (len == 0 || (len == 1 && path[i] == '.') ||
		    (len == 2 && path[i] == '.' && path[i + 1] == '.'))
			return false;
		i += len + 1;
	}
	return true;
}

static int parse_targets(struct accept_run *a, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		enum fim_kind kind = KIND_FILE;
		const char *name = argv[i];
		size_t n;
		int r;

		if (!cli_object_arg(argv[i], &kind, &name)) {
			if (argv[i][0] != '/') {
				log_error("%s: not an absolute path or KIND:NAME", argv[i]);
				return FIM_EXIT_USAGE;
			}
			kind = KIND_FILE;
		}
		n = strlen(name);
		while (kind == KIND_FILE && n > 1 && name[n - 1] == '/')
			n--;
		if (kind == KIND_FILE && !path_is_plain(name, n)) {
			log_error("%s: not a plain path (no '.', '..' or empty components)", name);
			return FIM_EXIT_USAGE;
		}
		r = target_add(a, kind, name, n);
		if (r < 0) {
			log_error("accept: %s", strerror(-r));
			return FIM_EXIT_IO;
		}
	}
	return 0;
}

static int cmp_target(const void *x, const void *y)
{
	const struct target *a = x, *b = y;

	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	return strcmp(a->id, b->id); /* parents before what is below them */
}

/* The options: why, what, and --kind's name. Returns 0 or FIM_EXIT_USAGE (reported). */
static int check_usage(struct accept_run *a, int argc)
{
	const struct fim_opts *o = a->o;
	int k;

	if (!o->reason || !o->reason[0]) {
		log_error("accept: say why with --reason TEXT (it is kept in the baseline's "
		          "history)");
		return FIM_EXIT_USAGE;
	}
	if ((argc > 1) + o->all + !!o->kind != 1) {
		log_error("accept: name what to accept: ID... (a path or KIND:NAME), --all, or "
		          "--kind KIND");
		return FIM_EXIT_USAGE;
	}
	if (!o->kind)
		return 0;
	/* singular (as in fim.object) or plural (as in the policy) */
	k = kind_lookup(o->kind, strlen(o->kind));
	for (unsigned i = 0; k < 0 && i < KIND__MAX; i++)
		if (strcmp(o->kind, kind_name(i)) == 0)
			k = (int)i;
	if (k < 0) {
		log_error("--kind: unknown kind '%s' (file, user, group, service, sudoers, cron, "
		          "package)",
		          o->kind);
		return FIM_EXIT_USAGE;
	}
	a->filter = kind_name(k);
	return 0;
}

/* The policy and the verified baseline, which must have been built with
 * that policy. Returns 0 or an exit status (reported). */
static int open_verified(struct accept_run *a)
{
	const struct fim_opts *o = a->o;
	struct bytes pd, pb;
	int ret = cli_load_policy(o, &a->p);

	if (ret == 0)
		ret = cli_trust_open(o, a->p, &a->s);
	if (ret == 0)
		ret = cli_trust_verify(o, a->p, a->s);
	if (ret)
		return ret;
	if (store_policy_read(a->s, &pd, &pb) < 0 || !store_policy_is(a->s, a->p)) {
		log_error("%s: the policy changed since the baseline; run 'fim baseline' to adopt "
		          "it instead",
		          o->db);
		return FIM_EXIT_USAGE;
	}
	return 0;
}

/* The key to sign the result with, which must verify the baseline as it
 * is. Returns 0 or an exit status (reported). */
static int load_signer(struct accept_run *a, struct sign_key *signer)
{
	const struct fim_opts *o = a->o;
	const char *why = "";
	struct bytes v;
	bool signed_now = store_meta(a->s, META_SIGNATURE, &v) == 0;
	int ret;

	if (signed_now && !o->sign_key) {
		log_error("%s: the baseline is signed: give --sign-key to sign it again after the "
		          "accept",
		          o->db);
		return FIM_EXIT_USAGE;
	}
	ret = cli_trust_load_signer(o, signer);
	if (ret || !signer->sk)
		return ret;
	/* Never sign what was changed behind the signer's back: a signed
	 * baseline must verify with the key that is about to sign it again. */
	if (!signed_now) {
		/* a removed signature must not be an invitation to sign */
		log_error("%s: the baseline is not signed; sign a baseline with 'fim baseline "
		          "--sign-key', not with accept",
		          o->db);
		return FIM_EXIT_INTEGRITY;
	}
	ret = cli_trust_check_key(signer, a->p, a->s, &why, NULL, 0);
	if (ret)
		log_error("%s: baseline integrity failure: %s; not signing it again", o->db, why);
	return ret;
}

/* What to accept: the arguments, or the drift a check finds now. Returns
 * 0 or an exit status (reported). */
static int collect_targets(struct accept_run *a, int argc, char **argv)
{
	int ret;

	a->rootfd = cli_open_root(a->o);
	if (a->rootfd < 0)
		return FIM_EXIT_IO;
	a->done = json_array();
	if (files_scratch_init(&a->scratch, cli_policy_hash(a->p)) < 0 || !a->done) {
		log_error("accept: out of memory");
		return FIM_EXIT_IO;
	}
	ret = argc > 1 ? parse_targets(a, argc, argv) : targets_from_check(a);
	if (ret == 0 && a->nt)
		qsort(a->t, a->nt, sizeof(*a->t), cmp_target);
	return ret;
}

/* A copy of the baseline to change, which must be the one verified, not
 * one swapped in since. Returns 0 or an exit status (reported). */
static int start_writer(struct accept_run *a)
{
	const char *db = a->o->db;
	uint8_t d1[STORE_DIGEST_BYTES], d2[STORE_DIGEST_BYTES];
	int r = store_writer_update(db, &a->w);

	if (r == -EBADMSG) {
		log_error("%s: the baseline is corrupt; nothing accepted", db);
		return cli_trust_verify_key_path(a->o, a->p) ? FIM_EXIT_INTEGRITY
		                                             : FIM_EXIT_BASELINE;
	}
	if (r < 0) {
		log_error("%s: cannot start the new baseline: %s", db,
		          r == -EBUSY ? "another fim is writing there" : strerror(-r));
		return FIM_EXIT_IO;
	}
	if (store_digest(a->s, d1) < 0 || store_writer_digest(a->w, d2) < 0 ||
	    memcmp(d1, d2, sizeof(d1)) != 0) {
		log_error("%s: the baseline changed while accept was reading it; nothing accepted",
		          db);
		return FIM_EXIT_INTEGRITY;
	}
	return 0;
}

/* Each target into the copy. Returns 0 or a negative errno (reported);
 * *FAILED counts the targets refused. */
static int apply_targets(struct accept_run *a, unsigned *failed)
{
	int r = 0;

	for (size_t i = 0; i < a->nt && r >= 0; i++) {
		r = a->t[i].kind == KIND_FILE ? accept_file(a, a->t[i].id)
		                              : accept_object(a, a->t[i].kind, a->t[i].id);
		if (r > 0)
			(*failed)++;
	}
	return r < 0 ? r : 0;
}

/* The audit entry, the signature, the commit. Returns 0 or an exit status
 * (reported); the copy is gone either way. */
static int finish(struct accept_run *a, const struct sign_key *signer, int r)
{
	const char *db = a->o->db;

	if (r >= 0)
		r = write_audit(a, signer);
	if (r >= 0 && signer->sk)
		r = trust_sign(a->w, signer);
	if (r >= 0)
		r = store_writer_commit(a->w);
	else
		store_writer_abort(a->w);
	a->w = NULL;
	if (r < 0) {
		log_error("%s: nothing accepted, the baseline is unchanged: %s", db, strerror(-r));
		return FIM_EXIT_IO;
	}
	if (a->o->verbose)
		printf("fim accept: %zu objects accepted into %s%s\n", json_array_size(a->done), db,
		       signer->sk ? ", signed" : "");
	return 0;
}

static void accept_free(struct accept_run *a)
{
	store_writer_abort(a->w);
	for (size_t i = 0; i < a->nt; i++)
		free(a->t[i].id);
	free(a->t);
	for (unsigned k = 0; k < KIND__MAX; k++)
		obj_set_free(a->live[k]);
	json_decref(a->done);
	files_text_free(&a->text);
	files_scratch_free(&a->scratch);
	if (a->rootfd >= 0)
		close(a->rootfd);
	store_close(a->s);
	policy_free(a->p);
}

int cmd_accept(struct fim_opts *o, int argc, char **argv)
{
	struct accept_run a = {.o = o, .rootfd = -1, .filter = o->kind};
	struct sign_key signer = {0};
	unsigned failed = 0;
	int ret, r;

	ret = check_usage(&a, argc);
	if (ret == 0)
		ret = open_verified(&a);
	if (ret == 0)
		ret = load_signer(&a, &signer);
	if (ret == 0)
		ret = collect_targets(&a, argc, argv);
	if (ret == 0)
		ret = start_writer(&a);
	if (ret)
		goto out;
	r = apply_targets(&a, &failed);
	if (r >= 0 && json_array_size(a.done) == 0) {
		log_warn("accept: nothing accepted; the baseline is unchanged");
		ret = failed ? FIM_EXIT_USAGE : 0;
		goto out;
	}
	ret = finish(&a, &signer, r);
	if (ret == 0 && failed)
		ret = FIM_EXIT_USAGE;
out:
	accept_free(&a);
	sign_key_free(&signer);
	return ret;
}
