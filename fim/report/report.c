/* SPDX-License-Identifier: ISC */
/* Report backends for check results: the table, the null backend, the tee, severities. */
#include <string.h>
#include <syslog.h>

#include "fim/report/report.h"

static int null_begin(struct report *r, const struct report_info *i)
{
	return 0;
}
static int null_drift(struct report *r, const struct drift *d)
{
	return 0;
}
static int null_error(struct report *r, struct bytes id, int err)
{
	return 0;
}
static int null_problem(struct report *r, enum fim_kind kind, enum severity sev, const char *path,
                        unsigned line, int err, const char *msg)
{
	return 0;
}

static int null_end(struct report *r, const struct report_summary *s)
{
	return 0;
}
static void null_free(struct report *r) {}

const struct report_ops report_null = {
        .name = "null",
        .begin = null_begin,
        .drift = null_drift,
        .error = null_error,
        .problem = null_problem,
        .end = null_end,
        .free = null_free,
};

const struct report_ops *report_lookup(const char *name)
{
	static const struct report_ops *const all[] = {&report_human, &report_json, &report_null};

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

int report_severity_score(enum severity s)
{
	switch (s) {
	case SEV_LOW:
		return 21;
	case SEV_MEDIUM:
		return 47;
	case SEV_HIGH:
		return 73;
	case SEV_CRITICAL:
		return 99;
	}
	return 47;
}

int report_severity_level(enum severity s)
{
	switch (s) {
	case SEV_CRITICAL:
		return LOG_CRIT;
	case SEV_HIGH:
		return LOG_ERR;
	case SEV_MEDIUM:
		return LOG_WARNING;
	default:
		return LOG_NOTICE;
	}
}

enum severity drift_severity(const struct drift *d)
{
	if (d->nfacts)
		return SEV_CRITICAL;
	return d->rule ? d->rule->severity : SEV_MEDIUM;
}

struct bytes report_obj_value(const struct obj_rec *r, unsigned a)
{
	if (attr_flags(r->kind, a) & AF_SECRET)
		return obj_secret_state(r->val[a]);
	return r->val[a];
}

/* --- tee: one report into two sinks (the terminal and the alert trail) --- */

/* A side that failed is not called again: the other keeps its report whole. */
struct tee_priv {
	struct report *a, *b;
	int err_a, err_b;
};

/* Records X and Y (each a side's result, or 0 when it was not called);
 * returns 0 while one side still works, else the first error. */
static int tee_result(struct tee_priv *t, int x, int y)
{
	if (x < 0 && !t->err_a)
		t->err_a = x;
	if (y < 0 && !t->err_b)
		t->err_b = y;
	if (t->err_a && t->err_b)
		return t->err_a;
	return 0;
}

static int tee_begin(struct report *r, const struct report_info *info)
{
	struct tee_priv *t = r->priv;
	int x = t->a->ops->begin(t->a, info), y = t->b->ops->begin(t->b, info);

	return tee_result(t, x, y);
}

static int tee_drift(struct report *r, const struct drift *d)
{
	struct tee_priv *t = r->priv;
	int x = t->err_a ? 0 : t->a->ops->drift(t->a, d);
	int y = t->err_b ? 0 : t->b->ops->drift(t->b, d);

	return tee_result(t, x, y);
}

static int tee_error(struct report *r, struct bytes id, int err)
{
	struct tee_priv *t = r->priv;
	int x = t->err_a ? 0 : t->a->ops->error(t->a, id, err);
	int y = t->err_b ? 0 : t->b->ops->error(t->b, id, err);

	return tee_result(t, x, y);
}

static int tee_problem(struct report *r, enum fim_kind kind, enum severity sev, const char *path,
                       unsigned line, int err, const char *msg)
{
	struct tee_priv *t = r->priv;
	int x = t->err_a ? 0 : t->a->ops->problem(t->a, kind, sev, path, line, err, msg);
	int y = t->err_b ? 0 : t->b->ops->problem(t->b, kind, sev, path, line, err, msg);

	return tee_result(t, x, y);
}

static int tee_end(struct report *r, const struct report_summary *s)
{
	struct tee_priv *t = r->priv;
	int x = t->err_a ? 0 : t->a->ops->end(t->a, s), y = t->err_b ? 0 : t->b->ops->end(t->b, s);

	return tee_result(t, x, y);
}

static void tee_free(struct report *r)
{
	struct tee_priv *t = r->priv;

	if (!t)
		return;
	t->a->ops->free(t->a);
	t->b->ops->free(t->b);
	free(t);
	r->priv = NULL;
}

static const struct report_ops report_tee_ops = {
        .name = "tee",
        .begin = tee_begin,
        .drift = tee_drift,
        .error = tee_error,
        .problem = tee_problem,
        .end = tee_end,
        .free = tee_free,
};

int report_tee(struct report *out, struct report *a, struct report *b)
{
	struct tee_priv *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->a = a;
	t->b = b;
	*out = (struct report){.ops = &report_tee_ops, .out = a->out, .priv = t};
	return 0;
}

void report_tee_errors(const struct report *tee, int *ret_a, int *ret_b)
{
	const struct tee_priv *t = tee->priv;

	*ret_a = t ? t->err_a : 0;
	*ret_b = t ? t->err_b : 0;
}

int report_drift(struct report *r, struct report_summary *sum, const struct drift *d)
{
	switch (d->action) {
	case DRIFT_ADDED:
		sum->added++;
		break;
	case DRIFT_REMOVED:
		sum->removed++;
		break;
	case DRIFT_CHANGED:
		sum->changed++;
		break;
	}
	return r->ops->drift(r, d);
}
