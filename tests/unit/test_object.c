/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/core/object.c: building sets, encoding round trips, hostile input, lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fim/core/endian.h"
#include "fim/core/object.h"

#define ADD(s, a, v)   obj_list_add(s, a, v, strlen(v))
#define BEGIN(s, id)   obj_begin(s, id, strlen(id))
#define FIND(s, id)    obj_set_find(s, id, strlen(id))
#define B(s)           ((struct bytes){(const uint8_t *)(s), sizeof(s) - 1})
#define SPAN_IS(sp, s) span_is(sp, s, sizeof(s) - 1)

static struct obj_set *new_set(enum fim_kind kind)
{
	struct obj_set *s = NULL;

	assert_int_equal(obj_set_new(kind, &s), 0);
	assert_non_null(s);
	return s;
}

static void span_is(struct bytes sp, const char *want, size_t n)
{
	assert_int_equal(sp.n, n);
	if (n)
		assert_memory_equal(sp.p, want, n);
}

/* Attribute A of R is present with exactly WANT (a C string). */
static void assert_val(const struct obj_rec *r, unsigned a, const char *want)
{
	assert_true(r->attrs & ATTR_BIT(a));
	span_is(r->val[a], want, strlen(want));
}

static void assert_rec_equal(const struct obj_rec *a, const struct obj_rec *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->attrs, b->attrs);
	for (unsigned i = 0; i < ATTR_KIND_MAX; i++)
		if (a->attrs & ATTR_BIT(i))
			span_is(b->val[i], (const char *)a->val[i].p, a->val[i].n);
}

/* Decodes from an exact-size heap copy so that ASan sees any over-read;
 * the copy is kept in *keep (free it) since the spans point into it. */
static int decode_keep(const uint8_t *p, size_t n, enum fim_kind kind, struct obj_rec *out,
                       uint8_t **keep)
{
	uint8_t *c = malloc(n ? n : 1);

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	*keep = c;
	return obj_decode(n ? c : NULL, n, kind, out);
}

static int decode_copy(const uint8_t *p, size_t n, enum fim_kind kind, struct obj_rec *out)
{
	uint8_t *c;
	int r = decode_keep(p, n, kind, out, &c);

	free(c);
	return r;
}

/* ---- building ---- */

static void test_set_new(void **state)
{
	struct obj_set *s = (struct obj_set *)1;

	assert_int_equal(obj_set_new(KIND_FILE, &s), -EINVAL);
	assert_int_equal(obj_set_new(KIND__MAX, &s), -EINVAL);
	assert_int_equal(obj_set_new((enum fim_kind)200, &s), -EINVAL);
	assert_ptr_equal(s, (struct obj_set *)1);
	for (unsigned k = KIND_USER; k < KIND__MAX; k++) {
		s = new_set(k);
		assert_int_equal(obj_set_kind(s), k);
		assert_int_equal(obj_set_count(s), 0);
		assert_null(obj_set_at(s, 0));
		obj_set_sort(s);
		assert_null(FIND(s, "x"));
		obj_set_free(s);
	}
	obj_set_free(NULL);
}

static void test_build_scalars(void **state)
{
	struct obj_set *s = new_set(KIND_USER);
	const struct obj_rec *r;

	assert_int_equal(BEGIN(s, "root"), 0);
	assert_int_equal(obj_set_str(s, UA_UID, "0"), 0);
	assert_int_equal(obj_set_str(s, UA_GID, "0"), 0);
	assert_int_equal(obj_set_str(s, UA_GECOS, ""), 0);
	assert_int_equal(obj_set_str(s, UA_HOME, "/root"), 0);
	assert_int_equal(obj_set_str(s, UA_SHELL, "/bin/bash"), 0);
	/* A second value replaces the first, longer or shorter. */
	assert_int_equal(obj_set_str(s, UA_SHELL, "/bin/sh"), 0);
	assert_int_equal(obj_set_str(s, UA_HOME, "/root/a/much/longer/home"), 0);
	/* Only NUL is refused in a scalar: '\n' and high bytes are kept. */
	assert_int_equal(obj_set_value(s, UA_PASSWORD, "set 01\n\xff", 8), 0);
	/* LEN, not a NUL, ends the value. */
	assert_int_equal(obj_set_value(s, UA_GID, "10xyz", 2), 0);
	assert_int_equal(obj_end(s), 0);

	assert_int_equal(obj_set_count(s), 1);
	r = obj_set_at(s, 0);
	assert_non_null(r);
	assert_int_equal(r->kind, KIND_USER);
	SPAN_IS(r->id, "root");
	assert_int_equal(r->attrs, ATTR_BIT(UA_UID) | ATTR_BIT(UA_GID) | ATTR_BIT(UA_GECOS) |
	                                   ATTR_BIT(UA_HOME) | ATTR_BIT(UA_SHELL) |
	                                   ATTR_BIT(UA_PASSWORD));
	assert_val(r, UA_UID, "0");
	assert_val(r, UA_GID, "10");
	assert_val(r, UA_GECOS, "");
	assert_val(r, UA_HOME, "/root/a/much/longer/home");
	assert_val(r, UA_SHELL, "/bin/sh");
	SPAN_IS(r->val[UA_PASSWORD], "set 01\n\xff");
	/* Lists never added to are absent. */
	assert_false(r->attrs & ATTR_BIT(UA_GROUPS));
	assert_false(r->attrs & ATTR_BIT(UA_AUTHORIZED_KEYS));

	/* A record with no attribute at all. */
	assert_int_equal(BEGIN(s, "bare"), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(obj_set_count(s), 2);
	r = obj_set_at(s, 1);
	SPAN_IS(r->id, "bare");
	assert_int_equal(r->attrs, 0);
	/* The id is LEN bytes. */
	assert_int_equal(obj_begin(s, "daemonXYZ", 6), 0);
	assert_int_equal(obj_end(s), 0);
	SPAN_IS(obj_set_at(s, 2)->id, "daemon");
	obj_set_free(s);
}

static void test_build_lists(void **state)
{
	struct obj_set *u = new_set(KIND_USER), *v = new_set(KIND_SERVICE);
	const struct obj_rec *r;

	assert_int_equal(BEGIN(u, "alice"), 0);
	assert_int_equal(ADD(u, UA_GROUPS, "wheel"), 0);
	assert_int_equal(ADD(u, UA_GROUPS, "adm"), 0);
	assert_int_equal(ADD(u, UA_GROUPS, "wheel"), 0);
	assert_int_equal(ADD(u, UA_GROUPS, "audio"), 0);
	assert_int_equal(ADD(u, UA_GROUPS, "adm"), 0);
	assert_int_equal(ADD(u, UA_GROUPS, "wheel"), 0);
	/* Keyed lists sort like the others, by their whole text. */
	assert_int_equal(ADD(u, UA_AUTHORIZED_KEYS, "SHA256:b ssh-rsa z"), 0);
	assert_int_equal(ADD(u, UA_AUTHORIZED_KEYS, "SHA256:a ssh-ed25519 y"), 0);
	assert_int_equal(ADD(u, UA_AUTHORIZED_KEYS, "SHA256:a ssh-ed25519"), 0);
	assert_int_equal(obj_end(u), 0);
	r = obj_set_at(u, 0);
	assert_int_equal(r->attrs, ATTR_BIT(UA_GROUPS) | ATTR_BIT(UA_AUTHORIZED_KEYS));
	assert_val(r, UA_GROUPS, "adm\naudio\nwheel");
	assert_val(r, UA_AUTHORIZED_KEYS,
	           "SHA256:a ssh-ed25519\nSHA256:a ssh-ed25519 y\nSHA256:b ssh-rsa z");

	/* Bytewise order: shorter first on a common prefix, high bytes last. */
	assert_int_equal(BEGIN(u, "bob"), 0);
	{
		static const char *const scrambled[] = {"b", "a",   "B",    "aa", "\xff",
		                                        "0", "a b", "\x01", "a",  "\x80x"};

		for (size_t i = 0; i < ARRAY_SIZE(scrambled); i++)
			assert_int_equal(ADD(u, UA_GROUPS, scrambled[i]), 0);
	}
	assert_int_equal(obj_end(u), 0);
	r = obj_set_at(u, 1);
	assert_val(r, UA_GROUPS, "\x01\n0\nB\na\na b\naa\nb\n\x80x\n\xff");

	/* Ordered lists keep order and repeats; unordered ones of the same
	 * record are still sorted. */
	assert_int_equal(BEGIN(v, "ssh.service"), 0);
	assert_int_equal(ADD(v, SA_EXEC_START, "/usr/sbin/sshd -D"), 0);
	assert_int_equal(ADD(v, SA_EXEC_START, "/bin/b"), 0);
	assert_int_equal(ADD(v, SA_EXEC_START, "/bin/a"), 0);
	assert_int_equal(ADD(v, SA_EXEC_START, "/bin/b"), 0);
	assert_int_equal(ADD(v, SA_SCHEDULE, "OnCalendar=weekly"), 0);
	assert_int_equal(ADD(v, SA_SCHEDULE, "OnBootSec=5m"), 0);
	assert_int_equal(ADD(v, SA_ALIASES, "sshd.service"), 0);
	assert_int_equal(ADD(v, SA_ALIASES, "openssh.service"), 0);
	assert_int_equal(ADD(v, SA_ALIASES, "sshd.service"), 0);
	assert_int_equal(ADD(v, SA_DROPINS, "/etc/z.conf sha256:00"), 0);
	assert_int_equal(ADD(v, SA_DROPINS, "/etc/a.conf sha256:11"), 0);
	assert_int_equal(obj_end(v), 0);
	r = obj_set_at(v, 0);
	assert_int_equal(r->kind, KIND_SERVICE);
	assert_val(r, SA_EXEC_START, "/usr/sbin/sshd -D\n/bin/b\n/bin/a\n/bin/b");
	assert_val(r, SA_SCHEDULE, "OnCalendar=weekly\nOnBootSec=5m");
	assert_val(r, SA_ALIASES, "openssh.service\nsshd.service");
	assert_val(r, SA_DROPINS, "/etc/a.conf sha256:11\n/etc/z.conf sha256:00");
	assert_int_equal(r->attrs, ATTR_BIT(SA_EXEC_START) | ATTR_BIT(SA_SCHEDULE) |
	                                   ATTR_BIT(SA_ALIASES) | ATTR_BIT(SA_DROPINS));

	/* One element; an element is LEN bytes. */
	assert_int_equal(BEGIN(v, "one.service"), 0);
	assert_int_equal(obj_list_add(v, SA_ALIASES, "x.service and more", 9), 0);
	assert_int_equal(obj_end(v), 0);
	assert_val(obj_set_at(v, 1), SA_ALIASES, "x.service");
	obj_set_free(u);
	obj_set_free(v);
}

static void test_list_touch(void **state)
{
	struct obj_set *s = new_set(KIND_GROUP);
	const struct obj_rec *r;

	assert_int_equal(BEGIN(s, "nogroup"), 0);
	assert_int_equal(obj_set_str(s, GA_GID, "65534"), 0);
	assert_int_equal(obj_list_touch(s, GA_MEMBERS), 0);
	assert_int_equal(obj_list_touch(s, GA_MEMBERS), 0);
	assert_int_equal(obj_end(s), 0);
	r = obj_set_at(s, 0);
	assert_int_equal(r->attrs, ATTR_BIT(GA_GID) | ATTR_BIT(GA_MEMBERS));
	assert_val(r, GA_MEMBERS, "");
	assert_false(r->attrs & ATTR_BIT(GA_ADMINISTRATORS));

	/* Touching before or after adding changes nothing. */
	assert_int_equal(BEGIN(s, "wheel"), 0);
	assert_int_equal(obj_list_touch(s, GA_MEMBERS), 0);
	assert_int_equal(ADD(s, GA_MEMBERS, "bob"), 0);
	assert_int_equal(ADD(s, GA_MEMBERS, "alice"), 0);
	assert_int_equal(ADD(s, GA_ADMINISTRATORS, "root"), 0);
	assert_int_equal(obj_list_touch(s, GA_ADMINISTRATORS), 0);
	assert_int_equal(obj_end(s), 0);
	r = obj_set_at(s, 1);
	assert_int_equal(r->attrs, ATTR_BIT(GA_MEMBERS) | ATTR_BIT(GA_ADMINISTRATORS));
	assert_val(r, GA_MEMBERS, "alice\nbob");
	assert_val(r, GA_ADMINISTRATORS, "root");

	/* Nothing of the earlier records leaks into the next. */
	assert_int_equal(BEGIN(s, "empty"), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(obj_set_at(s, 2)->attrs, 0);

	/* Not on a scalar. */
	assert_int_equal(BEGIN(s, "bad"), 0);
	assert_int_equal(obj_list_touch(s, GA_GID), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_int_equal(obj_set_count(s), 3);
	obj_set_free(s);
}

static void test_sort_and_find(void **state)
{
	static const char *const ids[] = {"b", "a", "B", "aa", "\xff", "0", "a b", "\x01", "ab"};
	static const char *const sorted[] = {"\x01", "0", "B", "a", "a b", "aa", "ab", "b", "\xff"};
	struct obj_set *s = new_set(KIND_USER);
	const struct obj_rec *r;
	char uid[16];

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		snprintf(uid, sizeof(uid), "%zu", i);
		assert_int_equal(BEGIN(s, ids[i]), 0);
		assert_int_equal(obj_set_str(s, UA_UID, uid), 0);
		assert_int_equal(obj_end(s), 0);
	}
	/* Repeats of "a" and "\xff": the first added stays, whatever its place. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(BEGIN(s, "a"), 0);
		assert_int_equal(obj_set_str(s, UA_UID, "dup"), 0);
		assert_int_equal(obj_set_str(s, UA_HOME, "/dup"), 0);
		assert_int_equal(obj_end(s), 0);
	}
	assert_int_equal(BEGIN(s, "\xff"), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(obj_set_count(s), ARRAY_SIZE(ids) + 4);
	obj_set_sort(s);
	assert_int_equal(obj_set_count(s), ARRAY_SIZE(ids));
	for (size_t i = 0; i < ARRAY_SIZE(sorted); i++) {
		r = obj_set_at(s, i);
		span_is(r->id, sorted[i], strlen(sorted[i]));
	}
	assert_null(obj_set_at(s, ARRAY_SIZE(sorted)));
	r = FIND(s, "a");
	assert_non_null(r);
	assert_int_equal(r->attrs, ATTR_BIT(UA_UID));
	assert_val(r, UA_UID, "1");
	r = FIND(s, "\xff");
	assert_int_equal(r->attrs, ATTR_BIT(UA_UID));
	assert_val(r, UA_UID, "4");

	/* Every id is found, and finds its own record. */
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		snprintf(uid, sizeof(uid), "%zu", i);
		r = FIND(s, ids[i]);
		assert_non_null(r);
		span_is(r->id, ids[i], strlen(ids[i]));
		assert_val(r, UA_UID, uid);
	}
	/* Misses, near misses and LEN rather than NUL. */
	assert_null(FIND(s, "c"));
	assert_null(FIND(s, "A"));
	assert_null(FIND(s, "aaa"));
	assert_null(FIND(s, "a "));
	assert_null(FIND(s, "\xfe"));
	assert_null(FIND(s, "\x00"));
	assert_null(obj_set_find(s, "", 0));
	assert_ptr_equal(obj_set_find(s, "a b c", 3), FIND(s, "a b"));
	assert_ptr_equal(obj_set_find(s, "aardvark", 2), FIND(s, "aa"));
	/* Sorting again changes nothing. */
	obj_set_sort(s);
	assert_int_equal(obj_set_count(s), ARRAY_SIZE(ids));
	span_is(obj_set_at(s, 0)->id, "\x01", 1);
	obj_set_free(s);
}

/* Many records: the set grows, sorts and finds. */
static void test_many(void **state)
{
	enum { N = 20000 };
	struct obj_set *s = new_set(KIND_CRON);
	char id[32];

	for (int i = N - 1; i >= 0; i--) {
		snprintf(id, sizeof(id), "/etc/cron.d/job%05d", (i * 7919) % N);
		assert_int_equal(BEGIN(s, id), 0);
		assert_int_equal(obj_set_str(s, CA_USER, id + 11), 0);
		assert_int_equal(obj_end(s), 0);
	}
	obj_set_sort(s);
	assert_int_equal(obj_set_count(s), N);
	for (int i = 0; i < N; i++) {
		const struct obj_rec *r = obj_set_at(s, (size_t)i);

		snprintf(id, sizeof(id), "/etc/cron.d/job%05d", i);
		span_is(r->id, id, strlen(id));
		assert_val(r, CA_USER, id + 11);
		assert_ptr_equal(FIND(s, id), r);
	}
	obj_set_free(s);
}

/* ---- refusals ---- */

/* After the failed record, the set is as before and the next record works. */
static void assert_next_works(struct obj_set *s, size_t count)
{
	const struct obj_rec *r;

	assert_int_equal(obj_set_count(s), count);
	assert_int_equal(BEGIN(s, "next"), 0);
	assert_int_equal(obj_set_str(s, UA_UID, "7"), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(obj_set_count(s), count + 1);
	r = obj_set_at(s, count);
	SPAN_IS(r->id, "next");
	assert_int_equal(r->attrs, ATTR_BIT(UA_UID));
	assert_val(r, UA_UID, "7");
}

static void test_errors_id(void **state)
{
	struct obj_set *s = new_set(KIND_USER);
	char id[OBJ_MAX_ID + 2];
	size_t n = 0;

	memset(id, 'i', sizeof(id));
	assert_int_equal(obj_begin(s, "", 0), -EINVAL);
	assert_int_equal(obj_set_str(s, UA_UID, "0"), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);

	assert_int_equal(obj_begin(s, NULL, 0), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);

	assert_int_equal(obj_begin(s, id, OBJ_MAX_ID + 1), -EINVAL);
	assert_int_equal(obj_set_str(s, UA_HOME, "/x"), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);

	assert_int_equal(obj_begin(s, "a\0b", 3), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	assert_int_equal(obj_begin(s, "ab\0", 3), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);

	/* The longest id is fine. */
	assert_int_equal(obj_begin(s, id, OBJ_MAX_ID), 0);
	assert_int_equal(obj_end(s), 0);
	span_is(obj_set_at(s, n)->id, id, OBJ_MAX_ID);
	n++;
	assert_next_works(s, n++);
	obj_set_free(s);
}

static void test_errors_values(void **state)
{
	struct obj_set *s = new_set(KIND_USER);
	size_t n = 0;

	/* NUL in a scalar value. */
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_set_str(s, UA_HOME, "/home/u"), 0);
	assert_int_equal(obj_set_value(s, UA_SHELL, "/bin\0sh", 7), -EINVAL);
	/* The error sticks: later calls fail with it, even valid ones. */
	assert_int_equal(obj_set_str(s, UA_UID, "1"), -EINVAL);
	assert_int_equal(ADD(s, UA_GROUPS, "g"), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);

	/* List elements: '\n', NUL, empty. */
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "a\nb"), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "ok"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "trailing\n"), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_list_add(s, UA_GROUPS, "a\0b", 3), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_list_add(s, UA_GROUPS, "", 0), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_list_add(s, UA_AUTHORIZED_KEYS, "\n", 1), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	obj_set_free(s);
}

static void test_errors_attr(void **state)
{
	struct obj_set *s = new_set(KIND_USER);
	size_t n = 0;

	/* A scalar setter on a list and a list adder on a scalar. */
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_set_str(s, UA_GROUPS, "wheel"), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(ADD(s, UA_SHELL, "/bin/sh"), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_list_touch(s, UA_PASSWORD), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);

	/* Attributes out of range for the kind, or for any kind. */
	{
		static const unsigned bad[] = {UA__MAX, ATTR_KIND_MAX - 1, ATTR_KIND_MAX, 31, 32,
		                               1000,    UINT32_MAX};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			assert_int_equal(BEGIN(s, "u"), 0);
			assert_int_equal(obj_set_str(s, bad[i], "x"), -EINVAL);
			assert_int_equal(obj_end(s), -EINVAL);
			assert_next_works(s, n++);
			assert_int_equal(BEGIN(s, "u"), 0);
			assert_int_equal(ADD(s, bad[i], "x"), -EINVAL);
			assert_int_equal(obj_end(s), -EINVAL);
			assert_next_works(s, n++);
			assert_int_equal(BEGIN(s, "u"), 0);
			assert_int_equal(obj_list_touch(s, bad[i]), -EINVAL);
			assert_int_equal(obj_end(s), -EINVAL);
			assert_next_works(s, n++);
		}
	}
	/* A group attribute number that is a list for groups but a scalar for users. */
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(ADD(s, GA_MEMBERS, "x"), -EINVAL); /* == UA_GID */
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	obj_set_free(s);
}

static void test_errors_sizes(void **state)
{
	struct obj_set *s = new_set(KIND_USER);
	char *big = malloc(OBJ_MAX_VALUE + 2);
	const struct obj_rec *r;
	size_t n = 0;

	assert_non_null(big);
	memset(big, 'x', OBJ_MAX_VALUE + 2);

	/* The longest element, then one byte more. */
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_list_add(s, UA_GROUPS, big, OBJ_MAX_ELEMENT), 0);
	assert_int_equal(obj_end(s), 0);
	r = obj_set_at(s, n++);
	assert_int_equal(r->val[UA_GROUPS].n, OBJ_MAX_ELEMENT);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_list_add(s, UA_GROUPS, big, OBJ_MAX_ELEMENT + 1), -E2BIG);
	assert_int_equal(obj_end(s), -E2BIG);
	assert_next_works(s, n++);

	/* The longest scalar value, then one byte more. */
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_set_value(s, UA_GECOS, big, OBJ_MAX_VALUE), 0);
	assert_int_equal(obj_end(s), 0);
	r = obj_set_at(s, n++);
	assert_int_equal(r->val[UA_GECOS].n, OBJ_MAX_VALUE);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_set_value(s, UA_GECOS, big, OBJ_MAX_VALUE + 1), -E2BIG);
	assert_int_equal(obj_end(s), -E2BIG);
	assert_next_works(s, n++);

	/* A list whose joined value would pass OBJ_MAX_VALUE: 15 elements of
	 * 65536 bytes and 14 newlines fit, the 16th does not. */
	assert_int_equal(BEGIN(s, "u"), 0);
	for (int i = 0; i < 15; i++) {
		big[0] = (char)('a' + i);
		assert_int_equal(obj_list_add(s, UA_AUTHORIZED_KEYS, big, OBJ_MAX_ELEMENT), 0);
	}
	assert_int_equal(obj_list_add(s, UA_AUTHORIZED_KEYS, big, OBJ_MAX_ELEMENT), -E2BIG);
	assert_int_equal(obj_end(s), -E2BIG);
	assert_next_works(s, n++);
	assert_int_equal(BEGIN(s, "u"), 0);
	for (int i = 0; i < 15; i++) {
		big[0] = (char)('a' + 14 - i);
		assert_int_equal(obj_list_add(s, UA_AUTHORIZED_KEYS, big, OBJ_MAX_ELEMENT), 0);
	}
	assert_int_equal(obj_end(s), 0);
	r = obj_set_at(s, n++);
	assert_int_equal(r->val[UA_AUTHORIZED_KEYS].n, 15 * OBJ_MAX_ELEMENT + 14);
	assert_int_equal(r->val[UA_AUTHORIZED_KEYS].p[0], 'a');
	assert_int_equal(r->val[UA_AUTHORIZED_KEYS].p[OBJ_MAX_ELEMENT], '\n');
	assert_int_equal(r->val[UA_AUTHORIZED_KEYS].p[OBJ_MAX_ELEMENT + 1], 'b');

	/* The first error is the one obj_end returns. */
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_set_value(s, UA_GECOS, big, OBJ_MAX_VALUE + 1), -E2BIG);
	assert_int_equal(obj_set_value(s, UA_HOME, "a\0", 2), -E2BIG);
	assert_int_equal(obj_end(s), -E2BIG);
	assert_next_works(s, n++);
	assert_int_equal(BEGIN(s, "u"), 0);
	assert_int_equal(obj_set_value(s, UA_HOME, "a\0", 2), -EINVAL);
	assert_int_equal(obj_set_value(s, UA_GECOS, big, OBJ_MAX_VALUE + 1), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, n++);
	free(big);
	obj_set_free(s);
}

static void test_errors_no_record(void **state)
{
	struct obj_set *s = new_set(KIND_USER);
	const struct obj_rec *r;

	/* Nothing open. */
	assert_int_equal(obj_set_str(s, UA_UID, "0"), -EINVAL);
	assert_int_equal(ADD(s, UA_GROUPS, "g"), -EINVAL);
	assert_int_equal(obj_list_touch(s, UA_GROUPS), -EINVAL);
	assert_int_equal(obj_end(s), -EINVAL);
	assert_next_works(s, 0);
	/* Ended records are closed. */
	assert_int_equal(obj_end(s), -EINVAL);
	assert_int_equal(obj_set_str(s, UA_UID, "0"), -EINVAL);
	assert_int_equal(obj_set_count(s), 1);

	/* obj_abort drops the open record; with none open it is harmless. */
	assert_int_equal(BEGIN(s, "gone"), 0);
	assert_int_equal(obj_set_str(s, UA_HOME, "/gone"), 0);
	obj_abort(s);
	assert_int_equal(obj_end(s), -EINVAL);
	obj_abort(s);
	assert_next_works(s, 1);

	/* A new obj_begin replaces the open record, and none of its values leak. */
	assert_int_equal(BEGIN(s, "first"), 0);
	assert_int_equal(obj_set_str(s, UA_HOME, "/first"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "g"), 0);
	assert_int_equal(BEGIN(s, "second"), 0);
	assert_int_equal(obj_set_str(s, UA_SHELL, "/bin/sh"), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(obj_set_count(s), 3);
	r = obj_set_at(s, 2);
	SPAN_IS(r->id, "second");
	assert_int_equal(r->attrs, ATTR_BIT(UA_SHELL));
	/* And a new obj_begin clears a failed record's error. */
	assert_int_equal(BEGIN(s, "bad"), 0);
	assert_int_equal(obj_set_str(s, UA_GROUPS, "x"), -EINVAL);
	assert_next_works(s, 3);
	obj_set_free(s);
}

/* ---- encoding ---- */

/* Sample values for any attribute of any kind: lists get three elements. */
static void fill_all(struct obj_set *s, enum fim_kind kind, const char *id)
{
	assert_int_equal(BEGIN(s, id), 0);
	for (unsigned a = 0; a < attr_count(kind); a++) {
		char v[64];

		if (attr_flags(kind, a) & AF_LIST) {
			for (int i = 3; i > 0; i--) {
				snprintf(v, sizeof(v), "%s %d \xe2\x82\xac", attr_name(kind, a), i);
				assert_int_equal(ADD(s, a, v), 0);
			}
		} else {
			snprintf(v, sizeof(v), "%s=%u\t\xff", attr_name(kind, a), a);
			assert_int_equal(obj_set_str(s, a, v), 0);
		}
	}
	assert_int_equal(obj_end(s), 0);
}

/* Encodes R, checks its frame, decodes it back and compares. */
static void roundtrip(const struct obj_rec *r)
{
	struct buf b = {0};
	struct obj_rec out;
	uint8_t *keep;

	assert_int_equal(obj_encode(r, &b), 0);
	assert_true(b.n >= 7);
	assert_int_equal(b.p[0], OBJ_ENCODING_VERSION);
	assert_int_equal(b.p[1], r->kind);
	assert_memory_equal(b.p + b.n - 5, "\0\0\0\0\0", 5);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(decode_keep(b.p, b.n, r->kind, &out, &keep), 0);
	assert_rec_equal(r, &out);
	assert_int_equal(out.id.n, 0);
	/* Spans point into the encoding. */
	for (unsigned a = 0; a < ATTR_KIND_MAX; a++)
		if (out.attrs & ATTR_BIT(a) && out.val[a].n)
			assert_true(out.val[a].p > keep &&
			            out.val[a].p + out.val[a].n <= keep + b.n);
	assert_int_equal(obj_diff(r, &out, attr_all(r->kind)), 0);
	free(keep);
	buf_free(&b);
}

static void test_roundtrip_kinds(void **state)
{
	for (unsigned k = KIND_USER; k < KIND__MAX; k++) {
		struct obj_set *s = new_set(k);
		const struct obj_rec *r;

		fill_all(s, k, "full");
		assert_int_equal(BEGIN(s, "none"), 0);
		assert_int_equal(obj_end(s), 0);
		/* Every list present and empty. */
		assert_int_equal(BEGIN(s, "lists"), 0);
		for (unsigned a = 0; a < attr_count(k); a++)
			if (attr_flags(k, a) & AF_LIST)
				assert_int_equal(obj_list_touch(s, a), 0);
		assert_int_equal(obj_end(s), 0);
		obj_set_sort(s);

		r = FIND(s, "full");
		assert_int_equal(r->attrs, attr_all(k));
		roundtrip(r);
		r = FIND(s, "none");
		assert_int_equal(r->attrs, 0);
		roundtrip(r);
		roundtrip(FIND(s, "lists"));
		/* Each attribute alone. */
		for (unsigned a = 0; a < attr_count(k); a++) {
			struct obj_rec one = *FIND(s, "full");

			one.attrs = ATTR_BIT(a);
			roundtrip(&one);
		}
		obj_set_free(s);
	}
}

/* The layout is what object.h says, byte for byte. */
static void test_encoding_bytes(void **state)
{
	/* Split literals, so that no hex escape swallows the next character. */
	static const char want[] = "\x01\x02" /* version, kind */
	                           "\x01\0\0\0\x02"
	                           "10"           /* gid */
	                           "\x02\0\0\0\0" /* members: present, empty */
	                           "\x03\0\0\0\x03"
	                           "a\nb"        /* administrators */
	                           "\0\0\0\0\0"; /* end */
	struct obj_set *s = new_set(KIND_GROUP);
	struct buf b = {0};
	struct obj_rec out;

	assert_int_equal(BEGIN(s, "g"), 0);
	assert_int_equal(ADD(s, GA_ADMINISTRATORS, "b"), 0);
	assert_int_equal(ADD(s, GA_ADMINISTRATORS, "a"), 0);
	assert_int_equal(obj_list_touch(s, GA_MEMBERS), 0);
	assert_int_equal(obj_set_str(s, GA_GID, "10"), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(obj_encode(obj_set_at(s, 0), &b), 0);
	assert_int_equal(b.n, sizeof(want) - 1);
	assert_memory_equal(b.p, want, sizeof(want) - 1);

	/* Encoding appends; each part decodes alone. */
	assert_int_equal(BEGIN(s, "h"), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(obj_encode(obj_set_at(s, 1), &b), 0);
	assert_int_equal(b.n, sizeof(want) - 1 + 7);
	assert_memory_equal(b.p + sizeof(want) - 1, "\x01\x02\0\0\0\0\0", 7);
	assert_int_equal(decode_copy(b.p, sizeof(want) - 1, KIND_GROUP, &out), 0);
	assert_int_equal(out.attrs, attr_all(KIND_GROUP));
	assert_int_equal(decode_copy(b.p + sizeof(want) - 1, 7, KIND_GROUP, &out), 0);
	assert_int_equal(out.attrs, 0);
	/* Both together are one record with trailing bytes. */
	assert_int_equal(decode_copy(b.p, b.n, KIND_GROUP, &out), -EBADMSG);
	buf_free(&b);
	obj_set_free(s);
}

static void test_truncations(void **state)
{
	for (unsigned k = KIND_USER; k < KIND__MAX; k++) {
		struct obj_set *s = new_set(k);
		struct buf b = {0};
		struct obj_rec out;

		fill_all(s, k, "x");
		assert_int_equal(obj_encode(obj_set_at(s, 0), &b), 0);
		for (size_t n = 0; n < b.n; n++)
			assert_int_equal(decode_copy(b.p, n, k, &out), -EBADMSG);
		assert_int_equal(decode_copy(b.p, b.n, k, &out), 0);
		buf_free(&b);
		obj_set_free(s);
	}
}

static void test_bad_version_and_kind(void **state)
{
	struct obj_set *s = new_set(KIND_USER);
	struct buf b = {0};
	struct obj_rec out;

	fill_all(s, KIND_USER, "u");
	assert_int_equal(obj_encode(obj_set_at(s, 0), &b), 0);
	b.p[0] = OBJ_ENCODING_VERSION + 1;
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EPROTONOSUPPORT);
	b.p[0] = 0;
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EPROTONOSUPPORT);
	assert_int_equal(decode_copy((const uint8_t *)"\xff", 1, KIND_USER, &out),
	                 -EPROTONOSUPPORT);
	assert_int_equal(decode_copy((const uint8_t *)"\x02\x01", 2, KIND_USER, &out),
	                 -EPROTONOSUPPORT);
	b.p[0] = OBJ_ENCODING_VERSION;

	/* A record of another kind, or a kind byte that is none. */
	for (unsigned k = 0; k < KIND__MAX; k++)
		assert_int_equal(decode_copy(b.p, b.n, k, &out), k == KIND_USER ? 0 : -EBADMSG);
	assert_int_equal(decode_copy(b.p, b.n, KIND__MAX, &out), -EBADMSG);
	b.p[1] = KIND_FILE;
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	b.p[1] = KIND__MAX;
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	b.p[1] = 0xff;
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	buf_free(&b);
	obj_set_free(s);
}

/* Appends one raw field. */
static void field(struct buf *b, uint8_t tag, uint32_t len, const void *v, size_t n)
{
	uint8_t head[5] = {tag};

	put_be32(head + 1, len);
	assert_int_equal(buf_append(b, head, sizeof(head)), 0);
	assert_int_equal(buf_append(b, v, n), 0);
}

static void start(struct buf *b, enum fim_kind kind)
{
	uint8_t head[2] = {OBJ_ENCODING_VERSION, (uint8_t)kind};

	b->n = 0;
	assert_int_equal(buf_append(b, head, 2), 0);
}

static void end(struct buf *b)
{
	field(b, 0, 0, NULL, 0);
}

static void test_hostile_fields(void **state)
{
	struct buf b = {0};
	struct obj_rec out;
	uint8_t *keep;

	/* The smallest valid record. */
	start(&b, KIND_USER);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), 0);
	assert_int_equal(out.attrs, 0);
	assert_int_equal(out.kind, KIND_USER);

	/* No end tag. */
	start(&b, KIND_USER);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	field(&b, 1, 1, "0", 1);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);

	/* A repeated tag, even with the same value. */
	start(&b, KIND_USER);
	field(&b, 1, 1, "0", 1);
	field(&b, 1, 1, "0", 1);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	start(&b, KIND_USER);
	field(&b, UA_GROUPS + 1, 0, NULL, 0);
	field(&b, UA_HOME + 1, 1, "/", 1);
	field(&b, UA_GROUPS + 1, 0, NULL, 0);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);

	/* NUL inside a value, anywhere. */
	start(&b, KIND_USER);
	field(&b, UA_HOME + 1, 3, "a\0b", 3);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	start(&b, KIND_USER);
	field(&b, UA_GROUPS + 1, 2, "a\0", 2);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	start(&b, KIND_CRON);
	field(&b, CA_JOBS + 1, 1, "\0", 1);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_CRON, &out), -EBADMSG);

	/* Lengths past the end. */
	start(&b, KIND_USER);
	field(&b, 1, 7, "0", 1);
	end(&b); /* 1 + 5 bytes follow: one fewer than the length says */
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	start(&b, KIND_USER);
	field(&b, 1, UINT32_MAX, "0", 1);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	start(&b, KIND_USER);
	field(&b, 1, 0x80000000u, "0", 1);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	/* A value that runs exactly to the end leaves no room for the end tag. */
	start(&b, KIND_USER);
	field(&b, 1, 1, "0", 1);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);

	/* Bytes after the end tag, and an end tag with a length. */
	start(&b, KIND_USER);
	field(&b, 1, 1, "0", 1);
	end(&b);
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	start(&b, KIND_USER);
	end(&b);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	start(&b, KIND_USER);
	field(&b, 0, 1, "x", 1);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);
	start(&b, KIND_USER);
	field(&b, 0, 1, "x", 1);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), -EBADMSG);

	/* Fields may come in any order; an empty value is a value. */
	start(&b, KIND_USER);
	field(&b, UA_SHELL + 1, 7, "/bin/sh", 7);
	field(&b, UA_UID + 1, 1, "0", 1);
	field(&b, UA_GECOS + 1, 0, NULL, 0);
	end(&b);
	assert_int_equal(decode_keep(b.p, b.n, KIND_USER, &out, &keep), 0);
	assert_int_equal(out.attrs, ATTR_BIT(UA_SHELL) | ATTR_BIT(UA_UID) | ATTR_BIT(UA_GECOS));
	assert_val(&out, UA_SHELL, "/bin/sh");
	assert_val(&out, UA_UID, "0");
	assert_val(&out, UA_GECOS, "");
	free(keep);
	buf_free(&b);
}

/* Tags past a kind's attributes (a newer fim's) are skipped, even repeated. */
static void test_unknown_tag(void **state)
{
	struct buf b = {0};
	struct obj_rec out;
	uint8_t *keep;

	for (unsigned k = KIND_USER; k < KIND__MAX; k++) {
		uint8_t first = (uint8_t)(attr_count(k) + 1);

		start(&b, k);
		field(&b, first, 3, "xyz", 3);
		field(&b, 1, 2, "v1", 2);
		field(&b, first, 0, NULL, 0);
		field(&b, 200, 4, "abcd", 4);
		field(&b, 255, 1, "\n", 1);
		end(&b);
		assert_int_equal(decode_keep(b.p, b.n, k, &out, &keep), 0);
		assert_int_equal(out.kind, k);
		assert_int_equal(out.attrs, ATTR_BIT(0));
		assert_val(&out, 0, "v1");
		free(keep);
		/* An unknown field still may not run past the end. */
		start(&b, k);
		field(&b, first, 100, "xyz", 3);
		end(&b);
		assert_int_equal(decode_copy(b.p, b.n, k, &out), -EBADMSG);
	}
	/* The group's tag 4 is the user's home: unknown for a group. */
	start(&b, KIND_GROUP);
	field(&b, UA_HOME + 1, 5, "/root", 5);
	end(&b);
	assert_int_equal(decode_copy(b.p, b.n, KIND_GROUP, &out), 0);
	assert_int_equal(out.attrs, 0);
	b.p[1] = KIND_USER;
	assert_int_equal(decode_copy(b.p, b.n, KIND_USER, &out), 0);
	assert_int_equal(out.attrs, ATTR_BIT(UA_HOME));
	buf_free(&b);
}

/* ---- comparison and lists ---- */

static void test_diff(void **state)
{
	struct obj_set *s = new_set(KIND_USER), *v = new_set(KIND_SERVICE);
	const struct obj_rec *a, *b, *c, *d;
	attrset_t all = attr_all(KIND_USER);

	assert_int_equal(BEGIN(s, "base"), 0);
	assert_int_equal(obj_set_str(s, UA_UID, "1000"), 0);
	assert_int_equal(obj_set_str(s, UA_GID, "1000"), 0);
	assert_int_equal(obj_set_str(s, UA_HOME, "/home/a"), 0);
	assert_int_equal(obj_set_str(s, UA_SHELL, "/bin/bash"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "wheel"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "adm"), 0);
	assert_int_equal(obj_list_touch(s, UA_AUTHORIZED_KEYS), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(BEGIN(s, "live"), 0);
	assert_int_equal(obj_set_str(s, UA_UID, "1000"), 0);
	assert_int_equal(obj_set_str(s, UA_GID, "1001"), 0);      /* same length */
	assert_int_equal(obj_set_str(s, UA_HOME, "/home/ab"), 0); /* longer */
	/* no shell: present only in the baseline */
	assert_int_equal(obj_set_str(s, UA_GECOS, "new"), 0); /* present only live */
	assert_int_equal(ADD(s, UA_GROUPS, "adm"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "wheel"), 0);
	assert_int_equal(obj_list_touch(s, UA_AUTHORIZED_KEYS), 0);
	assert_int_equal(obj_end(s), 0);
	assert_int_equal(BEGIN(s, "live2"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "adm"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "wheel"), 0);
	assert_int_equal(ADD(s, UA_GROUPS, "audio"), 0);
	assert_int_equal(ADD(s, UA_AUTHORIZED_KEYS, "SHA256:x ssh-ed25519"), 0);
	assert_int_equal(obj_end(s), 0);
	a = obj_set_at(s, 0);
	b = obj_set_at(s, 1);
	c = obj_set_at(s, 2);

	assert_int_equal(obj_diff(a, a, all), 0);
	assert_int_equal(obj_diff(a, b, all), ATTR_BIT(UA_GID) | ATTR_BIT(UA_HOME));
	assert_int_equal(obj_diff(b, a, all), ATTR_BIT(UA_GID) | ATTR_BIT(UA_HOME));
	assert_int_equal(obj_diff(a, b, ATTR_BIT(UA_GID)), ATTR_BIT(UA_GID));
	assert_int_equal(obj_diff(a, b, ATTR_BIT(UA_UID) | ATTR_BIT(UA_SHELL) | ATTR_BIT(UA_GECOS)),
	                 0);
	assert_int_equal(obj_diff(a, b, 0), 0);
	/* Lists compare as text: one more element, a key where there was none. */
	assert_int_equal(obj_diff(a, c, all), ATTR_BIT(UA_GROUPS) | ATTR_BIT(UA_AUTHORIZED_KEYS));
	assert_int_equal(obj_diff(b, c, ATTR_BIT(UA_AUTHORIZED_KEYS)),
	                 ATTR_BIT(UA_AUTHORIZED_KEYS));
	assert_int_equal(obj_diff(b, c, ~ATTR_BIT(UA_AUTHORIZED_KEYS)), ATTR_BIT(UA_GROUPS));

	/* Ordered lists: the same elements in another order differ. */
	assert_int_equal(BEGIN(v, "x.service"), 0);
	assert_int_equal(ADD(v, SA_EXEC_START, "/bin/a"), 0);
	assert_int_equal(ADD(v, SA_EXEC_START, "/bin/b"), 0);
	assert_int_equal(ADD(v, SA_ALIASES, "p"), 0);
	assert_int_equal(ADD(v, SA_ALIASES, "q"), 0);
	assert_int_equal(obj_end(v), 0);
	assert_int_equal(BEGIN(v, "x.service"), 0);
	assert_int_equal(ADD(v, SA_EXEC_START, "/bin/b"), 0);
	assert_int_equal(ADD(v, SA_EXEC_START, "/bin/a"), 0);
	assert_int_equal(ADD(v, SA_ALIASES, "q"), 0);
	assert_int_equal(ADD(v, SA_ALIASES, "p"), 0);
	assert_int_equal(obj_end(v), 0);
	c = obj_set_at(v, 0);
	d = obj_set_at(v, 1);
	assert_int_equal(obj_diff(c, d, attr_all(KIND_SERVICE)), ATTR_BIT(SA_EXEC_START));
	obj_set_free(s);
	obj_set_free(v);
}

/* Every element of LIST, in order, is WANT[0..n). */
static void assert_elements(struct bytes list, const char *const *want, size_t n)
{
	struct bytes el = {0};
	size_t pos = 0, i = 0;

	while (obj_list_next(list, &pos, &el)) {
		assert_true(i < n);
		span_is(el, want[i], strlen(want[i]));
		i++;
	}
	assert_int_equal(i, n);
	/* The end is sticky. */
	assert_false(obj_list_next(list, &pos, &el));
}

static void test_list_next(void **state)
{
	static const char *const one[] = {"a"}, *const two[] = {"a", "b"},
	                         *const three[] = {"SHA256:x k", "/etc/a b", "\xff"};
	struct bytes el;
	size_t pos = 0;

	assert_elements(B(""), NULL, 0);
	assert_elements((struct bytes){NULL, 0}, NULL, 0);
	assert_elements(B("a"), one, 1);
	assert_elements(B("a\nb"), two, 2);
	assert_elements(B("SHA256:x k\n/etc/a b\n\xff"), three, 3);
	/* LEN ends the list. */
	assert_elements((struct bytes){(const uint8_t *)"a\nbcd", 3}, two, 2);

	/* Positions advance past each separator. */
	assert_true(obj_list_next(B("ab\ncde"), &pos, &el));
	assert_int_equal(pos, 3);
	SPAN_IS(el, "ab");
	assert_true(obj_list_next(B("ab\ncde"), &pos, &el));
	assert_int_equal(pos, 7);
	SPAN_IS(el, "cde");
	assert_false(obj_list_next(B("ab\ncde"), &pos, &el));
}

static void test_list_has(void **state)
{
	struct bytes list = B("adm\naudio\nwheel");

	assert_true(obj_list_has(list, B("adm")));
	assert_true(obj_list_has(list, B("audio")));
	assert_true(obj_list_has(list, B("wheel")));
	assert_false(obj_list_has(list, B("aud")));
	assert_false(obj_list_has(list, B("audiox")));
	assert_false(obj_list_has(list, B("wheelx")));
	assert_false(obj_list_has(list, B("dm")));
	assert_false(obj_list_has(list, B("adm\naudio")));
	assert_false(obj_list_has(list, B("")));
	assert_false(obj_list_has(B(""), B("")));
	assert_false(obj_list_has(B(""), B("adm")));
	assert_false(obj_list_has((struct bytes){NULL, 0}, B("adm")));
	assert_true(obj_list_has(B("only"), B("only")));
	assert_false(obj_list_has(B("only"), B("onl")));
}

static void test_elem_key(void **state)
{
	struct bytes el = B("SHA256:x ssh-ed25519 comment=y"), k;

	k = obj_elem_key(el);
	SPAN_IS(k, "SHA256:x");
	assert_ptr_equal(k.p, el.p);
	SPAN_IS(obj_elem_key(B("SHA256:whole")), "SHA256:whole");
	SPAN_IS(obj_elem_key(B("/etc/systemd/system/x.service.d/a.conf sha256:00")),
	        "/etc/systemd/system/x.service.d/a.conf");
	SPAN_IS(obj_elem_key(B("")), "");
	SPAN_IS(obj_elem_key((struct bytes){NULL, 0}), "");
	SPAN_IS(obj_elem_key(B(" lead")), "");
	SPAN_IS(obj_elem_key(B("a  b")), "a");
	/* Only a space separates: tabs belong to the key. */
	SPAN_IS(obj_elem_key(B("a\tb c")), "a\tb");
	/* LEN ends the element. */
	SPAN_IS(obj_elem_key((struct bytes){(const uint8_t *)"abc def", 2}), "ab");
}

static void test_secret_state(void **state)
{
	SPAN_IS(obj_secret_state(B("set 0123abcd")), "set");
	SPAN_IS(obj_secret_state(B("empty")), "empty");
	SPAN_IS(obj_secret_state(B("locked 00ff")), "locked");
	SPAN_IS(obj_secret_state(B("none")), "none");
	SPAN_IS(obj_secret_state(B("")), "");
}

/* ---- fuzzing ---- */

/* A small fixed-seed generator, so a failure replays. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Whatever decodes must encode to the same record and be safe to walk. */
static void exercise(const struct obj_rec *r, enum fim_kind kind)
{
	struct buf b = {0};
	struct obj_rec again;

	assert_int_equal(r->kind, kind);
	assert_int_equal(r->attrs & ~attr_all(kind), 0);
	assert_int_equal(obj_encode(r, &b), 0);
	assert_int_equal(obj_decode(b.p, b.n, kind, &again), 0);
	assert_rec_equal(r, &again);
	assert_int_equal(obj_diff(r, &again, attr_all(kind)), 0);
	for (unsigned a = 0; a < attr_count(kind); a++) {
		struct bytes el;
		size_t pos = 0, n = 0;

		if (!(r->attrs & ATTR_BIT(a)))
			continue;
		assert_true(memchr(r->val[a].p, '\0', r->val[a].n) == NULL);
		while (obj_list_next(r->val[a], &pos, &el)) {
			assert_true(el.p >= r->val[a].p &&
			            el.p + el.n <= r->val[a].p + r->val[a].n);
			assert_true(obj_elem_key(el).n <= el.n);
			if (++n < 4)
				assert_true(obj_list_has(r->val[a], el));
		}
		assert_true(obj_secret_state(r->val[a]).n <= r->val[a].n);
	}
	buf_free(&b);
}

static void test_fuzz(void **state)
{
	struct buf enc[KIND__MAX] = {{0}};
	unsigned ok = 0;

	for (unsigned k = KIND_USER; k < KIND__MAX; k++) {
		struct obj_set *s = new_set(k);

		fill_all(s, k, "seed");
		assert_int_equal(obj_encode(obj_set_at(s, 0), &enc[k]), 0);
		obj_set_free(s);
	}
	for (int iter = 0; iter < 50000; iter++) {
		enum fim_kind k = KIND_USER + (enum fim_kind)(rng() % (KIND__MAX - 1));
		const struct buf *src = &enc[k];
		size_t n = src->n;
		uint8_t *m = malloc(n);
		struct obj_rec out;
		int r, flips = 1 + (int)(rng() % 4);

		assert_non_null(m);
		memcpy(m, src->p, n);
		for (int f = 0; f < flips; f++) {
			size_t at = rng() % n;

			m[at] = rng() % 3 == 0 ? (uint8_t)(1u << (rng() % 8)) ^ m[at]
			                       : (uint8_t)rng();
		}
		if (rng() % 4 == 0)
			n = rng() % n;
		m[0] = rng() % 8 ? OBJ_ENCODING_VERSION : m[0];
		m[1] = rng() % 8 ? (uint8_t)k : m[1];
		r = obj_decode(n ? m : NULL, n, k, &out);
		assert_true(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT);
		if (r == 0) {
			exercise(&out, k);
			ok++;
		}
		free(m);
	}
	/* Some mutations hit only values: the loop did reach past the checks. */
	assert_true(ok > 1000);
	for (unsigned k = 0; k < KIND__MAX; k++)
		buf_free(&enc[k]);
}

/* Random bytes, not derived from a valid encoding, small tags and lengths. */
static void test_fuzz_random(void **state)
{
	unsigned ok = 0;

	for (int iter = 0; iter < 50000; iter++) {
		enum fim_kind k = KIND_USER + (enum fim_kind)(rng() % (KIND__MAX - 1));
		size_t n = rng() % 64;
		uint8_t *m = malloc(n ? n : 1);
		struct obj_rec out;
		int r;

		assert_non_null(m);
		for (size_t i = 0; i < n; i++) {
			uint32_t c = rng() % 8;

			m[i] = (uint8_t)(c < 4 ? 0 : c < 7 ? 1 + rng() % 11 : rng());
		}
		if (n)
			m[0] = OBJ_ENCODING_VERSION;
		if (n > 1)
			m[1] = (uint8_t)k;
		r = obj_decode(n ? m : NULL, n, k, &out);
		assert_true(r == 0 || r == -EBADMSG);
		if (r == 0) {
			exercise(&out, k);
			ok++;
		}
		free(m);
	}
	assert_true(ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_set_new),
	        cmocka_unit_test(test_build_scalars),
	        cmocka_unit_test(test_build_lists),
	        cmocka_unit_test(test_list_touch),
	        cmocka_unit_test(test_sort_and_find),
	        cmocka_unit_test(test_many),
	        cmocka_unit_test(test_errors_id),
	        cmocka_unit_test(test_errors_values),
	        cmocka_unit_test(test_errors_attr),
	        cmocka_unit_test(test_errors_sizes),
	        cmocka_unit_test(test_errors_no_record),
	        cmocka_unit_test(test_roundtrip_kinds),
	        cmocka_unit_test(test_encoding_bytes),
	        cmocka_unit_test(test_truncations),
	        cmocka_unit_test(test_bad_version_and_kind),
	        cmocka_unit_test(test_hostile_fields),
	        cmocka_unit_test(test_unknown_tag),
	        cmocka_unit_test(test_diff),
	        cmocka_unit_test(test_list_next),
	        cmocka_unit_test(test_list_has),
	        cmocka_unit_test(test_elem_key),
	        cmocka_unit_test(test_secret_state),
	        cmocka_unit_test(test_fuzz),
	        cmocka_unit_test(test_fuzz_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
