/* SPDX-License-Identifier: ISC */
/* The OS-object part of baseline and check: run the collectors the policy asks for. */
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline/collect.h"
#include "baseline/packages.h"
#include "fim/engine/objects.h"
#include "fim/engine/suspect.h"
#include "fim/core/utf8.h"
#include "fim/core/error.h"

struct problem_sink {
	enum fim_kind kind;
	enum severity sev;  /* the highest of the kind's rules: a problem may hide any object */
	struct report *rep; /* NULL for baseline */
	const struct objects_say *say; /* NULL: problems are told to REP alone */
	uint64_t errors;
	bool unreadable; /* a source could not be read: absence proves nothing */
	int err;         /* first failure to write the report */
	/* a crafted source must not flood the log: problems shown per file and in all */
	char *last_path;
	unsigned in_file, shown;
};

#define OBJECTS_MAX_FILE_PROBLEMS 100  /* problems shown per source file */
#define OBJECTS_MAX_KIND_PROBLEMS 1000 /* problems shown per kind and run */

/* Whether the problem about PATH is to be shown; says once when no more are. */
static bool problem_shown(struct problem_sink *ps, const char *path, const char **msg)
{
	if (!ps->last_path || strcmp(ps->last_path, path) != 0) {
		free(ps->last_path);
		ps->last_path = strdup(path);
		ps->in_file = 0;
	}
	ps->in_file++;
	ps->shown++;
	if (ps->shown > OBJECTS_MAX_KIND_PROBLEMS + 1 ||
	    ps->in_file > OBJECTS_MAX_FILE_PROBLEMS + 1)
		return false;
	if (ps->shown == OBJECTS_MAX_KIND_PROBLEMS + 1)
		*msg = "further problems with these objects not reported";
	else if (ps->in_file == OBJECTS_MAX_FILE_PROBLEMS + 1)
		*msg = "further problems in this file not reported";
	return true;
}

static void on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg)
{
	struct problem_sink *ps = userdata;
	char full[1024];
	int r;

	/* collectors say what; the cause of an I/O problem is added here, once */
	if (err != -EBADMSG && err != 0) {
		snprintf(full, sizeof(full), "%s: %s", msg, err_cause(err));
		msg = full;
	}
	ps->errors++;
	/* a malformed line, a missing file, a file sudo would ignore: what was read
	 * is complete; anything else may hide objects */
	if (err != -EBADMSG && err != -ENOENT && err != -EPERM)
		ps->unreadable = true;
	if (!problem_shown(ps, path, &msg))
		return;
	if (ps->say && ps->say->problem)
		ps->say->problem(ps->say->ctx, path, line, msg);
	if (ps->rep) {
		r = ps->rep->ops->problem(ps->rep, ps->kind, ps->sev, path, line, err, msg);
		if (r < 0 && !ps->err)
			ps->err = r;
	}
}

/* True when --root is the running system's "/". */
static bool root_is_live(int rootfd)
{
	struct stat a, b;

	return fstat(rootfd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Collects KIND; problems go to PS (or nowhere when PS is NULL). */
static int collect(int rootfd, const uint8_t *key, enum fim_kind kind, struct problem_sink *ps,
                   struct obj_set **ret)
{
	struct collect_ctx ctx = {
	        .rootfd = rootfd,
	        .live = root_is_live(rootfd),
	        .secret_key = key,
	        .problem = ps ? on_problem : NULL,
	        .userdata = ps,
	};
	struct obj_set *set;
	int r;

	r = obj_set_new(kind, &set);
	if (r < 0)
		return r;
	r = collect_for(kind)(&ctx, set);
	if (ps) {
		free(ps->last_path);
		ps->last_path = NULL;
	}
	if (r < 0) {
		obj_set_free(set);
		return r;
	}
	obj_set_sort(set);
	*ret = set;
	return 0;
}

/* The highest severity of P's rules selecting objects of KIND. */
static enum severity kind_severity(const struct policy *p, enum fim_kind kind)
{
	enum severity sev = SEV_LOW;
	bool any = false;

	for (size_t i = 0; i < policy_obj_rule_count(p); i++) {
		const struct policy_rule *rule = policy_obj_rule_at(p, i);

		if (rule->kind != kind || (rule->flags & RULE_EXCLUDE))
			continue;
		if (!any || rule->severity > sev)
			sev = rule->severity;
		any = true;
	}
	return any ? sev : SEV_MEDIUM;
}

static const struct policy_rule *in_scope(const struct policy *p, enum fim_kind kind,
                                          struct bytes id)
{
	const struct policy_rule *rule;

	if (!p)
		return NULL;
	rule = policy_match_obj(p, kind, (const char *)id.p, id.n);
	return rule && !(rule->flags & RULE_EXCLUDE) ? rule : NULL;
}

/* REC with only the attributes RULE records. */
static struct obj_rec restrict_to(const struct obj_rec *rec, const struct policy_rule *rule)
{
	struct obj_rec r = *rec;

	r.attrs &= rule->attrs;
	return r;
}

int objects_baseline(int rootfd, const struct policy *p, struct store_writer *w,
                     const struct objects_say *say, struct objects_stats *st, struct fim_err *err)
{
	uint8_t key[COLLECT_KEY_BYTES];
	bool any = false;
	int r = 0;

	for (unsigned k = KIND_FILE + 1; k < KIND__MAX; k++)
		any |= policy_has_kind(p, k);
	if (!any)
		return 0;
	randombytes_buf(key, sizeof(key));
	r = store_writer_meta(w, META_OBJECT_KEY, key, sizeof(key));
	for (unsigned k = KIND_FILE + 1; r == 0 && k < KIND__MAX; k++) {
		struct problem_sink ps = {.kind = k, .say = say};
		struct obj_set *set = NULL;

		if (!policy_has_kind(p, k))
			continue;
		r = collect(rootfd, key, k, &ps, &set);
		st->errors += ps.errors;
		if (r < 0) {
			fim_err_set(err, r, "%s: cannot collect them: %s", kind_plural(k),
			            strerror(-r));
			break;
		}
		r = store_writer_kind(w, k);
		for (size_t i = 0; r == 0 && i < obj_set_count(set); i++) {
			const struct obj_rec *rec = obj_set_at(set, i);
			const struct policy_rule *rule = in_scope(p, k, rec->id);
			struct obj_rec put;
			char q[1700];

			if (!rule)
				continue;
			put = restrict_to(rec, rule);
			r = store_writer_put_obj(w, &put);
			if (r < 0)
				fim_err_set(err, r,
				            "%s %s: cannot record it in the new baseline: %s",
				            kind_name(k),
				            utf8_quote(rec->id.p, rec->id.n, q, sizeof(q)),
				            strerror(-r));
			else
				st->objects++;
		}
		obj_set_free(set);
	}
	sodium_memzero(key, sizeof(key));
	return r;
}

/* --- check --- */

struct obj_check {
	const struct policy *p, *old;
	struct report *rep;
	struct report_summary *sum;
	struct suspect_ctx sc;
	enum fim_kind kind;
	bool unreadable[KIND__MAX]; /* do not call what was not seen "removed" */
};

static int emit(struct obj_check *c, struct drift *d)
{
	char facts[1024], note[512];

	if (d->kind == KIND_PACKAGE) {
		bool downgrade, failed;

		packages_describe(d->obefore, d->oafter, note, sizeof(note), &downgrade, &failed);
		d->note = note[0] ? note : NULL;
	}
	if (d->action != DRIFT_REMOVED)
		suspect_facts(&c->sc, d, facts, sizeof(facts));
	return report_drift(c->rep, c->sum, d);
}

/* One id seen in the baseline (BASE), live (LIVE), or both. */
static int compare(struct obj_check *c, const struct obj_rec *base, const struct obj_rec *live)
{
	struct bytes id = base ? base->id : live->id;
	const struct policy_rule *rule = in_scope(c->p, c->kind, id);
	struct drift d = {.kind = c->kind, .id = id, .rule = rule};
	struct obj_rec after;

	if (!rule) {
		/* the baseline holds only what its policy selected */
		if (base)
			c->sum->out_of_scope++;
		return 0;
	}
	if (live)
		c->sum->scanned++;
	if (base && live) {
		d.changed = obj_diff(base, live, rule->attrs);
		if (!d.changed)
			return 0;
		after = restrict_to(live, rule);
		d.action = DRIFT_CHANGED;
		d.obefore = base;
		d.oafter = &after;
		return emit(c, &d);
	}
	if (base && c->unreadable[c->kind]) {
		char name[OBJ_MAX_ID + 1];

		memcpy(name, id.p, id.n);
		name[id.n] = '\0';
		c->sum->errors++;
		return c->rep->ops->problem(c->rep, c->kind, rule->severity, name, 0, -EIO,
		                            "not found, but a source could not be read: "
		                            "not reported as removed");
	}
	if (base) {
		d.action = DRIFT_REMOVED;
		d.obefore = base;
		return emit(c, &d);
	}
	if (c->old && !in_scope(c->old, c->kind, id)) {
		c->sum->newly_in_scope++;
		return 0;
	}
	after = restrict_to(live, rule);
	d.action = DRIFT_ADDED;
	d.oafter = &after;
	return emit(c, &d);
}

static int cmp_id(struct bytes a, struct bytes b)
{
	int x = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);

	return x ? x : (a.n > b.n) - (a.n < b.n);
}

/* Merges the baseline's objects of the kind with the live set (both sorted by id). */
static int merge(struct obj_check *c, struct store *s, const struct obj_set *live)
{
	struct store_iter *it = NULL;
	struct obj_rec base;
	size_t i = 0, n = live ? obj_set_count(live) : 0;
	int have, r;

	r = store_obj_iter(s, c->kind, &it);
	if (r < 0)
		return r;
	have = store_obj_next(it, &base);
	while (have >= 0 && (have > 0 || i < n)) {
		const struct obj_rec *l = i < n ? obj_set_at(live, i) : NULL;
		int cmp = !have ? 1 : !l ? -1 : cmp_id(base.id, l->id);

		if (cmp < 0)
			r = compare(c, &base, NULL);
		else if (cmp > 0)
			r = compare(c, NULL, l);
		else
			r = compare(c, &base, l);
		if (r < 0)
			break;
		if (cmp <= 0)
			have = store_obj_next(it, &base);
		if (cmp >= 0)
			i++;
	}
	store_iter_free(it);
	if (have < 0)
		return have;
	return r < 0 ? r : 0;
}

int objects_check(int rootfd, const struct policy *p, const struct policy *old, struct store *s,
                  struct report *rep, const struct objects_say *say, struct report_summary *sum,
                  struct fim_err *err)
{
	uint8_t key[COLLECT_KEY_BYTES] = {0};
	struct obj_set *sets[KIND__MAX] = {0}, *sudo_only = NULL;
	struct obj_check c = {.p = p, .old = old, .rep = rep, .sum = sum, .sc = {.rootfd = rootfd}};
	struct bytes v;
	bool any = false;
	int r = 0;

	for (unsigned k = KIND_FILE + 1; k < KIND__MAX; k++)
		any |= policy_has_kind(p, k) || store_has_kind(s, k);
	if (!any)
		return 0;
	if (store_meta(s, META_OBJECT_KEY, &v) == 0 && v.n == sizeof(key))
		memcpy(key, v.p, sizeof(key));
	/* Collect first, so facts about users can use the live sudoers. */
	for (unsigned k = KIND_FILE + 1; r == 0 && k < KIND__MAX; k++) {
		struct problem_sink ps = {
		        .kind = k, .sev = kind_severity(p, k), .rep = rep, .say = say};

		if (!policy_has_kind(p, k))
			continue;
		r = collect(rootfd, key, k, &ps, &sets[k]);
		sum->errors += ps.errors;
		c.unreadable[k] = ps.unreadable;
		if (r == 0 && ps.err)
			r = ps.err;
		else if (r < 0)
			fim_err_set(err, r, "%s: cannot collect them: %s", kind_plural(k),
			            strerror(-r));
	}
	c.sc.sudoers = sets[KIND_SUDOERS];
	if (r == 0 && !c.sc.sudoers && (sets[KIND_USER] || sets[KIND_GROUP]) &&
	    collect(rootfd, key, KIND_SUDOERS, NULL, &sudo_only) == 0)
		c.sc.sudoers = sudo_only;
	for (unsigned k = KIND_FILE + 1; r == 0 && k < KIND__MAX; k++) {
		c.kind = k;
		if (sets[k] || store_has_kind(s, k))
			r = merge(&c, s, sets[k]);
	}
	for (unsigned k = 0; k < KIND__MAX; k++)
		obj_set_free(sets[k]);
	obj_set_free(sudo_only);
	sodium_memzero(key, sizeof(key));
	return r;
}

int objects_collect(int rootfd, struct store *s, enum fim_kind kind, const struct objects_say *say,
                    struct obj_set **ret, uint64_t *errors)
{
	uint8_t key[COLLECT_KEY_BYTES] = {0};
	struct problem_sink ps = {.kind = kind, .say = say};
	struct bytes v;
	int r;

	if (store_meta(s, META_OBJECT_KEY, &v) == 0 && v.n == sizeof(key))
		memcpy(key, v.p, sizeof(key));
	r = collect(rootfd, key, kind, &ps, ret);
	sodium_memzero(key, sizeof(key));
	if (errors)
		*errors += ps.errors;
	return r;
}
