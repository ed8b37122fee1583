/* SPDX-License-Identifier: ISC */
/* The policy language: load fim.policy(5) files with their includes, free them. */
#include <errno.h>
#include <stdlib.h>

#include "policy/policy_int.h"
#include "fim/core/hash.h"

/* --- loading --- */

static void parser_clear(struct parser *ps)
{
	for (size_t i = 0; i < ps->ngroups; i++)
		free(ps->groups[i].name);
	free(ps->groups);
	for (size_t i = 0; i < ps->nbundle; i++)
		free(ps->bundle[i].name);
	free(ps->bundle);
	free(ps->sorted);
	hash_free(ps->ident);
}

/* Reads the main file NAME (from the file system or ps->bundle) with everything it includes. */
static int load(struct parser *ps, const char *name, struct policy **ret)
{
	char buf[64];
	size_t idx;
	int r;

	ps->p = calloc(1, sizeof(*ps->p));
	if (!ps->p || policy_groups_init(ps) < 0 || policy_jrules_init(ps->p) < 0)
		return policy_parser_fail(ps, name, -ENOMEM, "out of memory");
	r = policy_source_get(ps, name, &idx);
	if (r < 0)
		return policy_parser_fail(ps, name, r, "%s",
		                          policy_source_error(r, buf, sizeof(buf)));
	if (policy_ident_start(ps, idx) < 0)
		return policy_parser_fail(ps, name, -ENOMEM, "out of memory");
	ps->stack[0] = idx;
	r = policy_parse_source(ps, idx);
	if (r < 0)
		return r;
	if (policy_ident_finish(ps) < 0 || policy_roots_build(ps->p) < 0 ||
	    policy_ix_build(ps->p) < 0)
		return policy_parser_fail(ps, name, -ENOMEM, "out of memory");
	*ret = TAKE_PTR(ps->p);
	return 0;
}

int policy_load(const char *path, struct policy **ret, struct policy_error *err)
{
	struct policy_error dummy;
	struct parser ps = {.err = err ? err : &dummy};
	int r = load(&ps, path, ret);

	policy_free(ps.p);
	parser_clear(&ps);
	return r;
}

int policy_load_bundle(const void *buf, size_t len, struct policy **ret, struct policy_error *err)
{
	struct policy_error dummy;
	struct parser ps = {.err = err ? err : &dummy};
	int r = policy_bundle_parse(&ps, buf, len);

	if (r == 0)
		r = load(&ps, ps.bundle[0].name, ret);
	policy_free(ps.p);
	parser_clear(&ps);
	return r;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsrcs; i++)
		policy_source_free(p->srcs[i]);
	free(p->srcs);
	for (size_t i = 0; i < p->nrules; i++)
		policy_rule_clear(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->norules; i++)
		free(p->orules[i].glob);
	free(p->orules);
	for (size_t i = 0; i < p->njrules; i++) {
		policy_jrule_clear(&p->jrules[i]);
		free(p->jrules[i].name);
	}
	free(p->jrules);
	for (size_t i = 0; i < ARRAY_SIZE(p->values); i++)
		free(p->values[i]);
	for (size_t i = 0; i < p->nroots; i++)
		free(p->roots[i]);
	free(p->roots);
	policy_ix_free(&p->ix);
	free(p);
}

/* --- accessors --- */

const uint8_t *policy_digest(const struct policy *p)
{
	return p->digest;
}
