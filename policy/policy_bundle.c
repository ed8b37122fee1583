/* SPDX-License-Identifier: ISC */
/* A policy as stored with a baseline: the bundle of its sources, and the digest that names it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "fim/core/hash.h"

#define BUNDLE_MAGIC     "FIMPOLB\001"
#define BUNDLE_MAGIC_LEN 8

/* --- identity --- */

/* The policy digest stands for what the policy means, not for how its files were named: it is
 * built while parsing from the content of each file as it is entered (the main file, then each
 * include where it happens, with the line of the including file) and left. Two loads agree on it
 * exactly when they read the same bytes in the same include structure, whatever path spelled the
 * main file or an include (relative, absolute, through a symbolic link, or a bundle's names). */
#define IDENT_TAG "fim-policy-identity-v2"

static int ident_put(struct parser *ps, char what, unsigned line, const uint8_t *sum)
{
	uint8_t ev[1 + 4 + 32] = {(uint8_t)what, (uint8_t)(line >> 24), (uint8_t)(line >> 16),
	                          (uint8_t)(line >> 8), (uint8_t)line};
	size_t n = 1;

	if (sum) {
		memcpy(ev + 5, sum, 32);
		n = sizeof(ev);
	}
	return hash_update(ps->ident, ev, n) < 0 ? -ENOMEM : 0;
}

/* Source IDX is entered from line LINE of the source being parsed (0 for the main file). */
int policy_ident_enter(struct parser *ps, unsigned line, size_t idx)
{
	return ident_put(ps, 'E', line, ps->p->srcs[idx]->sum);
}

int policy_ident_leave(struct parser *ps)
{
	return ident_put(ps, 'L', 0, NULL);
}

/* Starts the digest with the main file, source IDX. Returns 0 or -ENOMEM. */
int policy_ident_start(struct parser *ps, size_t idx)
{
	ps->ident = hash_new(HASH_SHA256);
	if (!ps->ident || hash_init(ps->ident) < 0 ||
	    hash_update(ps->ident, IDENT_TAG, sizeof(IDENT_TAG)) < 0 ||
	    policy_ident_enter(ps, 0, idx) < 0)
		return -ENOMEM;
	return 0;
}

/* Leaves the main file and writes the digest into the policy. Returns 0 or -ENOMEM. */
int policy_ident_finish(struct parser *ps)
{
	return policy_ident_leave(ps) < 0 || hash_final(ps->ident, ps->p->digest) < 0 ? -ENOMEM : 0;
}

/* --- bundles --- */

static uint8_t *put32(uint8_t *o, size_t v)
{
	o[0] = (uint8_t)(v >> 24);
	o[1] = (uint8_t)(v >> 16);
	o[2] = (uint8_t)(v >> 8);
	o[3] = (uint8_t)v;
	return o + 4;
}

int policy_bundle(const struct policy *p, void **ret_buf, size_t *ret_len)
{
	size_t len = BUNDLE_MAGIC_LEN + 4;
	uint8_t *buf, *o;

	for (size_t i = 0; i < p->nsrcs; i++)
		len += 8 + strlen(p->srcs[i]->name) + p->srcs[i]->len;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	o = mempcpy(buf, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
	o = put32(o, p->nsrcs);
	for (size_t i = 0; i < p->nsrcs; i++) {
		const struct source *s = p->srcs[i];

		o = put32(o, strlen(s->name));
		o = mempcpy(o, s->name, strlen(s->name));
		o = put32(o, s->len);
		o = mempcpy(o, s->data, s->len);
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* Reads a big-endian 32-bit number at *POS of BUF[0..len). False when too short. */
static bool get32(const uint8_t *buf, size_t len, size_t *pos, size_t *ret)
{
	if (len - *pos < 4)
		return false;
	*ret = (size_t)buf[*pos] << 24 | (size_t)buf[*pos + 1] << 16 | (size_t)buf[*pos + 2] << 8 |
	       buf[*pos + 3];
	*pos += 4;
	return true;
}

/* Reads a length not above MAX and checks that many bytes follow. */
static bool get_span(const uint8_t *buf, size_t len, size_t *pos, size_t max, size_t *ret)
{
	return get32(buf, len, pos, ret) && *ret <= max && len - *pos >= *ret;
}

static int bundle_fail(struct parser *ps, const char *why)
{
	return policy_parser_fail(ps, "", -EBADMSG, "corrupt policy bundle: %s", why);
}

/* Reads one "name, content" pair at *POS into E. Returns NULL or the complaint. */
static const char *bundle_entry(const uint8_t *buf, size_t len, size_t *pos, struct bundle_file *e)
{
	size_t nlen;

	if (!get_span(buf, len, pos, sizeof(((struct policy_error *)0)->file) - 1, &nlen) ||
	    nlen == 0)
		return "bad file name length";
	if (memchr(buf + *pos, '\0', nlen))
		return "NUL byte in a file name";
	e->name = strndup((const char *)buf + *pos, nlen);
	if (!e->name)
		return "out of memory";
	*pos += nlen;
	if (!get_span(buf, len, pos, FIM_MAX_POLICY_SIZE, &e->len))
		return "bad file length";
	e->data = (const char *)buf + *pos;
	*pos += e->len;
	return NULL;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(const struct bundle_file *const *)a)->name,
	              (*(const struct bundle_file *const *)b)->name);
}

/* Checks BUF[0..len) and points ps->bundle at its files. Returns 0, -EBADMSG or -ENOMEM. */
int policy_bundle_parse(struct parser *ps, const uint8_t *buf, size_t len)
{
	struct bundle_file *e;
	const char *why;
	size_t pos = BUNDLE_MAGIC_LEN, n;

	if (len < BUNDLE_MAGIC_LEN || memcmp(buf, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN) != 0)
		return bundle_fail(ps, "not a policy bundle");
	if (!get32(buf, len, &pos, &n) || n == 0 || n > POLICY_MAX_SOURCES)
		return bundle_fail(ps, "bad file count");
	ps->bundle = e = calloc(n, sizeof(*e));
	ps->sorted = calloc(n, sizeof(*ps->sorted));
	if (!e || !ps->sorted)
		return policy_parser_fail(ps, "", -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		ps->nbundle++;
		why = bundle_entry(buf, len, &pos, &e[i]);
		if (why)
			return bundle_fail(ps, why);
		ps->sorted[i] = &e[i];
	}
	if (pos != len)
		return bundle_fail(ps, "trailing bytes");
	qsort(ps->sorted, n, sizeof(*ps->sorted), cmp_entry);
	for (size_t i = 1; i < n; i++)
		if (strcmp(ps->sorted[i - 1]->name, ps->sorted[i]->name) == 0)
			return bundle_fail(ps, "a file name appears twice");
	return 0;
}

/* The digest fim wrote before names left it: SHA-256 over the bundle. */
static int digest_legacy(const void *bundle, size_t len, uint8_t out[static 32])
{
	return hash_buffer(HASH_SHA256, bundle, len, out) < 0 ? -ENOMEM : 0;
}

bool policy_is_stored(const struct policy *p, const uint8_t *digest, size_t digest_len,
                      const void *bundle, size_t len)
{
	uint8_t legacy[32];
	struct policy *old = NULL;
	bool same;

	if (digest_len != sizeof(legacy))
		return false;
	if (memcmp(digest, p->digest, sizeof(legacy)) == 0)
		return true;
	/* a baseline of an older fim: its digest is of the bundle, names and all; the bundle is
	 * the one it was taken with only when that digest matches it */
	if (!bundle || digest_legacy(bundle, len, legacy) < 0 ||
	    memcmp(digest, legacy, sizeof(legacy)) != 0 ||
	    policy_load_bundle(bundle, len, &old, NULL) < 0)
		return false;
	same = memcmp(old->digest, p->digest, sizeof(legacy)) == 0;
	policy_free(old);
	return same;
}
