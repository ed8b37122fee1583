/* SPDX-License-Identifier: ISC */
/* Matching paths and objects to a policy's rules: the roots, the rule index and the matcher. */
#include <errno.h>
#include <fnmatch.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

/* --- roots --- */

/* Byte order with '/' lowest, so that every path below P sorts right after P. */
static int cmp_path(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a;
	const unsigned char *y = *(const unsigned char *const *)b;

	for (; *x && *x == *y; x++, y++)
		;
	if (*x == *y)
		return 0;
	if (*x == '/' || *y == '/')
		return *x == '/' ? (*y ? -1 : 1) : (*x ? 1 : -1);
	return *x < *y ? -1 : 1;
}

static bool path_below_or_at(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* "/" followed by the literal components before the first wildcard of R. */
static char *rule_root(const struct rule *r)
{
	size_t n = 1, k;
	char *root, *o;

	for (k = 0; k < r->ncomps && r->comps[k].kind == COMP_LITERAL; k++)
		n += r->comps[k].len + 1;
	root = malloc(n + 1);
	if (!root)
		return NULL;
	o = root;
	for (size_t i = 0; i < k; i++) {
		*o++ = '/';
		o = mempcpy(o, r->comps[i].text, r->comps[i].len);
	}
	if (o == root)
		*o++ = '/';
	*o = '\0';
	return root;
}

int policy_roots_build(struct policy *p)
{
	size_t n = 0, kept = 0;

	p->roots = calloc(p->nrules + 1, sizeof(char *));
	if (!p->roots)
		return -ENOMEM;
	for (size_t i = 0; i < p->nrules; i++) {
		if (p->rules[i].pub.flags & RULE_EXCLUDE)
			continue;
		p->roots[n] = rule_root(&p->rules[i]);
		if (!p->roots[n])
			return -ENOMEM;
		p->nroots = ++n; /* so policy_free() frees them on failure */
	}
	qsort(p->roots, n, sizeof(char *), cmp_path);
	for (size_t i = 0; i < n; i++) {
		if (kept && path_below_or_at(p->roots[i], p->roots[kept - 1])) {
			free(p->roots[i]);
			continue;
		}
		p->roots[kept++] = p->roots[i];
	}
	p->nroots = kept;
	qsort(p->roots, kept, sizeof(char *), policy_cmp_str);
	return 0;
}

/* --- rule index --- */

static int cmp_edge(const void *a, const void *b)
{
	const struct ix_edge *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->name, y->name, x->len);
}

/* The child of node PARENT named S[0..n), or 0 (the root is nobody's child). */
static size_t ix_child(const struct rule_index *ix, size_t parent, const char *s, size_t n)
{
	const struct ix_edge key = {.parent = parent, .name = s, .len = n};
	struct ix_edge *const *e = tfind(&key, &ix->tree, cmp_edge);

	return e ? (*e)->child : 0;
}

static void free_nothing(void *edge)
{
	/* the edges live in ix->edges */
}

void policy_ix_free(struct rule_index *ix)
{
	tdestroy(ix->tree, free_nothing);
	free(ix->nodes);
	free(ix->edges);
	free(ix->byrule);
}

/* Number of leading literal components of R the index follows: the literal prefix, cut at
 * IX_MAX_DEPTH. A rule with a longer one hangs higher up and is tested against every path that
 * passes there, which stays exact (its own test decides) and keeps the index to a node per
 * distinct leading component of the first IX_MAX_DEPTH, not one per byte pair of the policy. */
static size_t literal_prefix(const struct rule *r)
{
	size_t k = 0;

	while (k < r->ncomps && k < IX_MAX_DEPTH && r->comps[k].kind == COMP_LITERAL)
		k++;
	return k;
}

/* Builds p->ix from p->rules: a node per distinct literal prefix (and per prefix of one), each
 * rule on the node of its own. Returns 0 or -ENOMEM (policy_free() frees what was built). */
int policy_ix_build(struct policy *p)
{
	struct rule_index *ix = &p->ix;
	_cleanup_free_ size_t *home = calloc(p->nrules + 1, sizeof(size_t));
	size_t most = 1;

	for (size_t k = 0; k < p->nrules; k++)
		most += literal_prefix(&p->rules[k]);
	ix->nodes = calloc(most, sizeof(*ix->nodes));
	ix->edges = calloc(most, sizeof(*ix->edges));
	ix->byrule = calloc(p->nrules + 1, sizeof(size_t));
	if (!home || !ix->nodes || !ix->edges || !ix->byrule)
		return -ENOMEM;
	ix->nnodes = 1;
	for (size_t k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];
		size_t node = 0, n = literal_prefix(r);

		for (size_t i = 0; i < n; i++) {
			struct ix_edge *e = &ix->edges[ix->nnodes - 1], *const * found;

			*e = (struct ix_edge){.parent = node,
			                      .child = ix->nnodes,
			                      .name = r->comps[i].text,
			                      .len = r->comps[i].len};
			found = tsearch(e, &ix->tree, cmp_edge);
			if (!found)
				return -ENOMEM;
			if (*found == e)
				ix->nodes[ix->nnodes++].parent = node;
			node = (*found)->child;
		}
		home[k] = node;
		ix->nodes[node].count++;
	}
	for (size_t i = 1; i < ix->nnodes; i++)
		ix->nodes[i].first = ix->nodes[i - 1].first + ix->nodes[i - 1].count;
	for (size_t i = 0; i < ix->nnodes; i++)
		ix->nodes[i].count = 0;
	for (size_t k = 0; k < p->nrules; k++) {
		struct ix_node *x = &ix->nodes[home[k]];

		ix->byrule[x->first + x->count++] = k;
		if (!(p->rules[k].pub.flags & RULE_EXCLUDE))
			home[k] = SIZE_MAX; /* marks it for the pass below */
	}
	/* children come after their parent: one backward pass carries "below" up */
	for (size_t i = ix->nnodes; i-- > 1;) {
		struct ix_node *x = &ix->nodes[i], *up = &ix->nodes[x->parent];
		size_t own = 0;

		for (size_t j = x->count; j-- > 0 && !own;)
			if (home[ix->byrule[x->first + j]] == SIZE_MAX)
				own = ix->byrule[x->first + j] + 1;
		own = own > x->below ? own : x->below;
		up->below = own > up->below ? own : up->below;
	}
	return 0;
}

size_t policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

const struct policy_rule *policy_rule_at(const struct policy *p, size_t i)
{
	return i < p->nrules ? &p->rules[i].pub : NULL;
}

size_t policy_obj_rule_count(const struct policy *p)
{
	return p->norules;
}

const struct policy_rule *policy_obj_rule_at(const struct policy *p, size_t i)
{
	return i < p->norules ? &p->orules[i].pub : NULL;
}

const struct policy_rule *policy_match_obj(const struct policy *p, enum fim_kind kind,
                                           const char *id, size_t len)
{
	char name[512];

	if (len >= sizeof(name) || memchr(id, '\0', len))
		return NULL;
	memcpy(name, id, len);
	name[len] = '\0';
	for (size_t k = p->norules; k-- > 0;) {
		const struct orule *r = &p->orules[k];

		if (r->pub.kind == kind && fnmatch(r->glob, name, 0) == 0)
			return &r->pub;
	}
	return NULL;
}

bool policy_has_kind(const struct policy *p, enum fim_kind kind)
{
	for (size_t k = 0; k < p->norules; k++)
		if (p->orules[k].pub.kind == kind && !(p->orules[k].pub.flags & RULE_EXCLUDE))
			return true;
	return false;
}

size_t policy_root_count(const struct policy *p)
{
	return p->nroots;
}

const char *policy_root_at(const struct policy *p, size_t i)
{
	return i < p->nroots ? p->roots[i] : NULL;
}

const char *severity_name(enum severity s)
{
	static const char *const names[] = {
	        [SEV_LOW] = "low",
	        [SEV_MEDIUM] = "medium",
	        [SEV_HIGH] = "high",
	        [SEV_CRITICAL] = "critical",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : NULL;
}

/* --- matching: no allocation, any path length --- */

/* Finds the component of PATH[0..len) at or after byte POS. Returns false when none is left. */
static bool next_comp(const char *path, size_t len, size_t pos, size_t *start, size_t *n)
{
	const char *slash;

	while (pos < len && path[pos] == '/')
		pos++;
	if (pos == len)
		return false;
	slash = memchr(path + pos, '/', len - pos);
	*start = pos;
	*n = slash ? (size_t)(slash - path) - pos : len - pos;
	return true;
}

static bool comp_match(const struct comp *c, const char *s, size_t n)
{
	char name[FIM_MAX_NAME + 1];

	if (c->kind == COMP_LITERAL)
		return c->len == n && memcmp(c->text, s, n) == 0;
	if (n > FIM_MAX_NAME || n < c->pre + c->suf || memcmp(s, c->text, c->pre) != 0 ||
	    memcmp(s + n - c->suf, c->text + c->len - c->suf, c->suf) != 0)
		return false; /* names are at most 255 bytes on Linux; fnmatch(3) needs a copy */
	memcpy(name, s, n);
	name[n] = '\0';
	return fnmatch(c->text, name, 0) == 0;
}

/* Component I of R is "**"; with a tail (see walk) the pattern has an implicit trailing "**" (a
 * rule also covers what is below the paths it matches). */
static bool is_any(const struct rule *r, size_t i)
{
	return i == r->ncomps || r->comps[i].kind == COMP_ANY;
}

/* Consumes every component of PATH with R's components (plus "**" when TAIL). Non-"**"
 * components match exactly one path component, so the last "**" seen is the only backtracking
 * point needed: on a mismatch it swallows one more component. Returns false when PATH cannot be
 * consumed; otherwise *RET_I is the pattern position reached and *RET_STAR whether a "**" was
 * entered (which could swallow more). */
static bool walk(const struct rule *r, bool tail, const char *path, size_t len, size_t *ret_i,
                 bool *ret_star)
{
	size_t m = r->ncomps + tail, i = 0, s = 0, star = SIZE_MAX, star_s = 0, cs, cn;

	while (next_comp(path, len, s, &cs, &cn)) {
		if (i < m && is_any(r, i)) {
			star = i++;
			star_s = s;
		} else if (i < m && comp_match(&r->comps[i], path + cs, cn)) {
			i++;
			s = cs + cn;
		} else if (star != SIZE_MAX) {
			next_comp(path, len, star_s, &cs, &cn);
			star_s = s = cs + cn;
			i = star + 1;
		} else {
			return false;
		}
	}
	*ret_i = i;
	*ret_star = star != SIZE_MAX;
	return true;
}

/* True when R selects PATH: exactly for "=" rules, else PATH or an ancestor. */
static bool rule_matches(const struct rule *r, const char *path, size_t len)
{
	bool tail = !(r->pub.flags & RULE_THIS_ONLY), star;
	size_t m = r->ncomps + tail, i;

	if (!walk(r, tail, path, len, &i, &star))
		return false;
	while (i < m && is_any(r, i))
		i++;
	return i == m;
}

/* True when R can select some path strictly below DIR: after DIR is consumed, pattern is left
 * or a "**" can take more. */
static bool rule_reaches_below(const struct rule *r, const char *dir, size_t len)
{
	bool tail = !(r->pub.flags & RULE_THIS_ONLY), star;
	size_t i;

	if (!walk(r, tail, dir, len, &i, &star))
		return false;
	return star || i < r->ncomps + tail;
}

/* The rule among those hanging on node X that decides, when it comes after rule *BEST (SIZE_MAX:
 * none yet): the last one for which TEST holds. Updates *BEST and returns true when found. */
static bool ix_scan(const struct policy *p, const struct ix_node *x, size_t *best,
                    bool (*test)(const struct rule *r, const char *path, size_t len, bool *val),
                    const char *path, size_t len, bool *ret_val)
{
	for (size_t j = x->count; j-- > 0;) {
		size_t k = p->ix.byrule[x->first + j];

		if (*best != SIZE_MAX && k < *best)
			return false;
		bool val = false;

		if (test(&p->rules[k], path, len, &val)) {
			*best = k;
			*ret_val = val;
			return true;
		}
	}
	return false;
}

/* Runs ix_scan on every node along PATH (the root, then one per leading component that some
 * rule names). Returns the node reached when PATH was consumed whole, else NULL. */
static const struct ix_node *
ix_walk(const struct policy *p, const char *path, size_t len, size_t *best,
        bool (*test)(const struct rule *r, const char *path, size_t len, bool *val), bool *ret_val)
{
	size_t node = 0, pos = 0, cs, cn;

	for (;;) {
		ix_scan(p, &p->ix.nodes[node], best, test, path, len, ret_val);
		if (!next_comp(path, len, pos, &cs, &cn))
			return &p->ix.nodes[node];
		node = ix_child(&p->ix, node, path + cs, cn);
		if (node == 0)
			return NULL;
		pos = cs + cn;
	}
}

static bool test_match(const struct rule *r, const char *path, size_t len, bool *val)
{
	return rule_matches(r, path, len);
}

/* Decisive for policy_descend: an exclude covering DIR (*VAL false), or a rule that can select
 * something below it (*VAL true). */
static bool test_descend(const struct rule *r, const char *dir, size_t len, bool *val)
{
	*val = !(r->pub.flags & RULE_EXCLUDE);
	return *val ? rule_reaches_below(r, dir, len) : rule_matches(r, dir, len);
}

const struct policy_rule *policy_match(const struct policy *p, const char *path, size_t len)
{
	size_t best = SIZE_MAX;
	bool val;

	ix_walk(p, path, len, &best, test_match, &val);
	return best == SIZE_MAX ? NULL : &p->rules[best].pub;
}

/* Rules hanging strictly below DIR's node all name a component past DIR: none matches DIR, and
 * each non-exclude one can select something below it, so the last of them counts as decisive. */
bool policy_descend(const struct policy *p, const char *dir, size_t len)
{
	size_t best = SIZE_MAX;
	bool val = false;
	const struct ix_node *x = ix_walk(p, dir, len, &best, test_descend, &val);

	if (x && x->below && (best == SIZE_MAX || x->below - 1 > best))
		return true;
	return best != SIZE_MAX && val;
}
