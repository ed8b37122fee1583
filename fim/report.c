/* SPDX-License-Identifier: ISC */
/* Report backend table and the null sink. */
#include <string.h>

#include "report.h"

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
static int null_problem(struct report *r, enum fim_kind kind, const char *path, unsigned line,
                        int err, const char *msg)
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
