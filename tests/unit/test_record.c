/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/core/record.c: encoding round trips, hostile input, diff, text values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fim/core/record.h"

static const uint8_t binary[] = {0, 1, 2, 0xff, 0, '/', 0x80, 0};
static const char target[] = "../some/where else";
static const char xattrs[] = "user.a=0x00ff\nsecurity.ima=0x0102\n";
static const char acl[] = "user:1000:r-x,group::r--,mask::r-x";
static const char caps[] = "cap_net_raw=ep";
static const char selinux[] = "system_u:object_r:bin_t:s0";

/* A record with every attribute present and values at their limits. */
static struct file_rec full_rec(void)
{
	struct file_rec r = {
	        .attrs = ATTRS_ALL_FILE,
	        .flags = REC_IN_SCOPE | REC_CHANGED_WHILE_READ,
	        .type = FT_CHR,
	        .mode = 07777,
	        .uid = UINT32_MAX,
	        .gid = 0,
	        .size = UINT64_MAX,
	        .inode = UINT64_MAX - 1,
	        .nlink = 1,
	        .mtime_ns = INT64_MIN,
	        .ctime_ns = INT64_MAX,
	        .atime_ns = -1,
	        .rdev_major = UINT32_MAX,
	        .rdev_minor = 0x12345678,
	        .dirid = UINT64_MAX,
	        .hash_algo = HASH_SHA512,
	        .target = {(const uint8_t *)target, sizeof(target) - 1},
	        .xattrs = {binary, sizeof(binary)},
	        .acl = {(const uint8_t *)acl, sizeof(acl) - 1},
	        .caps = {(const uint8_t *)caps, sizeof(caps) - 1},
	        .selinux = {(const uint8_t *)selinux, sizeof(selinux) - 1},
	};

	for (int i = 0; i < HASH_MAX_DIGEST; i++)
		r.hash[i] = (uint8_t)(0xff - i);
	return r;
}

/* A plain regular file, as a collector would record it. */
static struct file_rec plain_rec(void)
{
	struct file_rec r = {
	        .attrs = ATTRS_ALL_FILE,
	        .flags = REC_IN_SCOPE,
	        .type = FT_REG,
	        .mode = 0644,
	        .uid = 0,
	        .gid = 0,
	        .size = 100,
	        .inode = 42,
	        .nlink = 1,
	        .mtime_ns = 1795811481123456789LL,
	        .ctime_ns = 1795811481123456789LL,
	        .atime_ns = 1795811481000000000LL,
	        .hash_algo = HASH_SHA256,
	        .target = {NULL, 0},
	        .xattrs = {(const uint8_t *)xattrs, sizeof(xattrs) - 1},
	        .acl = {(const uint8_t *)acl, sizeof(acl) - 1},
	        .caps = {(const uint8_t *)caps, sizeof(caps) - 1},
	        .selinux = {(const uint8_t *)selinux, sizeof(selinux) - 1},
	};

	for (int i = 0; i < 32; i++)
		r.hash[i] = (uint8_t)i;
	return r;
}

static void assert_span_equal(struct bytes a, struct bytes b)
{
	assert_int_equal(a.n, b.n);
	if (a.n)
		assert_memory_equal(a.p, b.p, a.n);
}

/* Every field that the attribute set says is meaningful compares equal. */
static void assert_rec_equal(const struct file_rec *a, const struct file_rec *b)
{
	assert_int_equal(a->attrs, b->attrs);
	assert_int_equal(a->flags, b->flags);
	assert_true(a->dirid == b->dirid);
	if (a->attrs & ATTR_BIT(ATTR_TYPE)) {
		assert_int_equal(a->type, b->type);
		assert_int_equal(a->rdev_major, b->rdev_major);
		assert_int_equal(a->rdev_minor, b->rdev_minor);
	}
	if (a->attrs & ATTR_BIT(ATTR_MODE))
		assert_int_equal(a->mode, b->mode);
	if (a->attrs & ATTR_BIT(ATTR_UID))
		assert_int_equal(a->uid, b->uid);
	if (a->attrs & ATTR_BIT(ATTR_GID))
		assert_int_equal(a->gid, b->gid);
	if (a->attrs & ATTR_BIT(ATTR_SIZE))
		assert_true(a->size == b->size);
	if (a->attrs & ATTR_BIT(ATTR_INODE))
		assert_true(a->inode == b->inode);
	if (a->attrs & ATTR_BIT(ATTR_NLINK))
		assert_true(a->nlink == b->nlink);
	if (a->attrs & ATTR_BIT(ATTR_MTIME))
		assert_true(a->mtime_ns == b->mtime_ns);
	if (a->attrs & ATTR_BIT(ATTR_CTIME))
		assert_true(a->ctime_ns == b->ctime_ns);
	if (a->attrs & ATTR_BIT(ATTR_ATIME))
		assert_true(a->atime_ns == b->atime_ns);
	if (a->attrs & ATTR_BIT(ATTR_HASH)) {
		assert_int_equal(a->hash_algo, b->hash_algo);
		assert_memory_equal(a->hash, b->hash, hash_len(a->hash_algo));
	}
	if (a->attrs & ATTR_BIT(ATTR_TARGET))
		assert_span_equal(a->target, b->target);
	if (a->attrs & ATTR_BIT(ATTR_XATTRS))
		assert_span_equal(a->xattrs, b->xattrs);
	if (a->attrs & ATTR_BIT(ATTR_ACL))
		assert_span_equal(a->acl, b->acl);
	if (a->attrs & ATTR_BIT(ATTR_CAPS))
		assert_span_equal(a->caps, b->caps);
	if (a->attrs & ATTR_BIT(ATTR_SELINUX))
		assert_span_equal(a->selinux, b->selinux);
}

/* Decodes from an exact-size heap copy so that ASan sees any over-read. */
static int decode_copy(const uint8_t *p, size_t n, struct file_rec *out)
{
	uint8_t *c = malloc(n ? n : 1);
	int r;

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	r = rec_decode(n ? c : NULL, n, out);
	free(c);
	return r;
}

static void roundtrip(const struct file_rec *in)
{
	struct buf b = {0};
	struct file_rec out;

	assert_int_equal(rec_encode(in, &b), 0);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(rec_decode(b.p, b.n, &out), 0);
	assert_rec_equal(in, &out);
	/* Spans point into the encoding, not elsewhere. */
	if (out.attrs & ATTR_BIT(ATTR_SELINUX) && out.selinux.n)
		assert_true(out.selinux.p > b.p && out.selinux.p + out.selinux.n <= b.p + b.n);
	buf_free(&b);
}

static void test_buf(void **state)
{
	struct buf b = {0};

	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(b.n, 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.n, 3000);
	assert_true(b.cap >= 3000);
	assert_memory_equal(b.p + 2997, "abc", 3);
	buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.n, 0);
	buf_free(&b);
	buf_free(NULL);
}

static void test_roundtrip_full(void **state)
{
	struct file_rec r = full_rec();

	roundtrip(&r);
	r = plain_rec();
	roundtrip(&r);
}

static void test_roundtrip_each_attr(void **state)
{
	const struct file_rec full = full_rec();

	for (unsigned a = 0; a < ATTR__FILE_MAX; a++) {
		struct file_rec r = full;

		r.attrs = ATTR_BIT(a);
		roundtrip(&r);
		r.attrs = ATTRS_ALL_FILE & ~ATTR_BIT(a);
		roundtrip(&r);
	}
}

static void test_roundtrip_empty_spans(void **state)
{
	struct file_rec r = full_rec(), out;
	struct buf b = {0};

	r.target = (struct bytes){NULL, 0};
	r.xattrs = (struct bytes){NULL, 0};
	r.acl = (struct bytes){(const uint8_t *)"", 0};
	r.caps = (struct bytes){NULL, 0};
	r.selinux = (struct bytes){NULL, 0};
	assert_int_equal(rec_encode(&r, &b), 0);
	assert_int_equal(rec_decode(b.p, b.n, &out), 0);
	/* Present but empty is not the same as absent. */
	assert_int_equal(out.attrs, ATTRS_ALL_FILE);
	assert_rec_equal(&r, &out);
	buf_free(&b);
}

static void test_roundtrip_none(void **state)
{
	struct file_rec r = full_rec(), out;
	struct buf b = {0};

	r.attrs = 0;
	assert_int_equal(rec_encode(&r, &b), 0);
	assert_int_equal(rec_decode(b.p, b.n, &out), 0);
	assert_int_equal(out.attrs, 0);
	assert_int_equal(out.flags, r.flags);
	assert_true(out.dirid == UINT64_MAX);
	assert_null(out.target.p);
	buf_free(&b);
}

static void test_roundtrip_hash_algos(void **state)
{
	static const uint8_t algos[] = {HASH_SHA256, HASH_SHA512, HASH_BLAKE2B};

	for (size_t i = 0; i < sizeof(algos); i++) {
		struct file_rec r = full_rec();

		r.hash_algo = algos[i];
		roundtrip(&r);
	}
}

/* rec_encode appends: two records back to back each decode. */
static void test_encode_appends(void **state)
{
	struct file_rec a = full_rec(), b = plain_rec(), out;
	struct buf buf = {0};
	size_t first;

	assert_int_equal(rec_encode(&a, &buf), 0);
	first = buf.n;
	assert_int_equal(rec_encode(&b, &buf), 0);
	assert_int_equal(rec_decode(buf.p, first, &out), 0);
	assert_rec_equal(&a, &out);
	assert_int_equal(rec_decode(buf.p + first, buf.n - first, &out), 0);
	assert_rec_equal(&b, &out);
	buf_free(&buf);
}

static void test_truncations(void **state)
{
	struct file_rec recs[2] = {full_rec(), plain_rec()};

	recs[1].attrs &= ~ATTR_BIT(ATTR_TARGET);
	for (int k = 0; k < 2; k++) {
		struct buf b = {0};
		struct file_rec out;

		assert_int_equal(rec_encode(&recs[k], &b), 0);
		for (size_t n = 0; n < b.n; n++)
			assert_int_equal(decode_copy(b.p, n, &out), -EBADMSG);
		assert_int_equal(decode_copy(b.p, b.n, &out), 0);
		buf_free(&b);
	}
}

static void test_empty_and_trailing(void **state)
{
	struct file_rec r = plain_rec(), out;
	struct buf b = {0};

	assert_int_equal(rec_decode(NULL, 0, &out), -EBADMSG);
	assert_int_equal(rec_decode("\x01", 1, &out), -EBADMSG);
	assert_int_equal(rec_encode(&r, &b), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	buf_free(&b);
}

static void test_bad_version(void **state)
{
	struct file_rec r = plain_rec(), out;
	struct buf b = {0};

	assert_int_equal(rec_encode(&r, &b), 0);
	assert_int_equal(b.p[0], REC_ENCODING_VERSION);
	b.p[0] = REC_ENCODING_VERSION + 1;
	assert_int_equal(rec_decode(b.p, b.n, &out), -EPROTONOSUPPORT);
	b.p[0] = 0;
	assert_int_equal(rec_decode(b.p, b.n, &out), -EPROTONOSUPPORT);
	assert_int_equal(rec_decode("\xff", 1, &out), -EPROTONOSUPPORT);
	buf_free(&b);
}

/* A copy of the encoding of REC with one more field right after the version. */
static void with_field(const struct file_rec *rec, uint8_t tag, const void *v, uint32_t n,
                       struct buf *out)
{
	struct buf enc = {0};
	uint8_t head[5] = {tag, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
	                   (uint8_t)n};

	assert_int_equal(rec_encode(rec, &enc), 0);
	out->n = 0;
	assert_int_equal(buf_append(out, enc.p, 1), 0);
	assert_int_equal(buf_append(out, head, sizeof(head)), 0);
	assert_int_equal(buf_append(out, v, n), 0);
	assert_int_equal(buf_append(out, enc.p + 1, enc.n - 1), 0);
	buf_free(&enc);
}

/* Tags of a future version are skipped, even repeated ones. */
static void test_unknown_tag(void **state)
{
	struct file_rec r = plain_rec(), out;
	struct buf b = {0}, twice = {0};

	with_field(&r, 200, "xyz", 3, &b);
	assert_int_equal(decode_copy(b.p, b.n, &out), 0);
	assert_rec_equal(&r, &out);
	with_field(&r, 255, NULL, 0, &b);
	assert_int_equal(decode_copy(b.p, b.n, &out), 0);
	assert_rec_equal(&r, &out);

	/* The same unknown field twice. */
	with_field(&r, 99, "ab", 2, &b);
	assert_int_equal(buf_append(&twice, b.p, 1), 0);
	assert_int_equal(buf_append(&twice, b.p + 1, 7), 0);
	assert_int_equal(buf_append(&twice, b.p + 1, b.n - 1), 0);
	assert_int_equal(decode_copy(twice.p, twice.n, &out), 0);
	assert_rec_equal(&r, &out);
	/* An unknown field whose length runs past the end. */
	with_field(&r, 201, "", 0, &b);
	b.p[4] = 0xff;
	assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	buf_free(&b);
	buf_free(&twice);
}

static void test_duplicate_and_width(void **state)
{
	static const struct {
		uint8_t tag;
		uint32_t n;
	} bad[] = {
	        {1, 4},  /* flags again */
	        {2, 8},  /* dirid again */
	        {17, 4}, /* mode again */
	        {28, 0}, /* xattrs again */
	};
	struct file_rec r = plain_rec(), out, none = plain_rec();
	uint8_t zeros[80] = {0};
	struct buf b = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		with_field(&r, bad[i].tag, zeros, bad[i].n, &b);
		assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	}
	/* Fixed-width fields of the wrong width, in a record without them. */
	none.attrs = 0;
	with_field(&none, 17, zeros, 3, &b); /* mode */
	assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	with_field(&none, 17, zeros, 4, &b);
	assert_int_equal(decode_copy(b.p, b.n, &out), 0);
	assert_int_equal(out.attrs, ATTR_BIT(ATTR_MODE));
	with_field(&none, 20, zeros, 4, &b); /* size */
	assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	with_field(&none, 16, zeros, 1, &b); /* type without rdev */
	assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	zeros[0] = HASH_SHA256;
	with_field(&none, 27, zeros, 1 + 31, &b); /* sha256 one byte short */
	assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	with_field(&none, 27, zeros, 1 + 32, &b);
	assert_int_equal(decode_copy(b.p, b.n, &out), 0);
	with_field(&none, 27, zeros, 0, &b); /* no algorithm byte */
	assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	zeros[0] = 77; /* unknown algorithm with a digest */
	with_field(&none, 27, zeros, 1 + 32, &b);
	assert_int_equal(decode_copy(b.p, b.n, &out), -EBADMSG);
	buf_free(&b);
}

/* A small fixed-seed generator, so a failure replays. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Whatever decodes must also encode, compare and print without harm. */
static void exercise(const struct file_rec *r)
{
	struct file_rec again;
	struct buf b = {0};
	char text[16];

	assert_int_equal(rec_encode(r, &b), 0);
	assert_int_equal(rec_decode(b.p, b.n, &again), 0);
	assert_int_equal(rec_diff(r, &again, ATTRS_ALL_FILE, 0, false), 0);
	for (unsigned a = 0; a < ATTR__FILE_MAX; a++)
		(void)rec_format_attr(r, a, text, sizeof(text));
	buf_free(&b);
}

static void test_fuzz(void **state)
{
	struct file_rec seeds[2] = {full_rec(), plain_rec()};
	struct buf enc[2] = {{0}};
	unsigned ok = 0;

	for (int i = 0; i < 2; i++)
		assert_int_equal(rec_encode(&seeds[i], &enc[i]), 0);
	for (int iter = 0; iter < 50000; iter++) {
		const struct buf *src = &enc[iter & 1];
		size_t n = src->n;
		uint8_t *m = malloc(n);
		struct file_rec out;
		int r, flips = 1 + (int)(rng() % 4);

		assert_non_null(m);
		memcpy(m, src->p, n);
		for (int f = 0; f < flips; f++) {
			size_t at = rng() % n;

			m[at] = rng() % 3 == 0 ? (uint8_t)(1u << (rng() % 8)) ^ m[at]
			                       : (uint8_t)rng();
		}
		/* Sometimes also cut it short. */
		if (rng() % 4 == 0)
			n = rng() % n;
		m[0] = rng() % 8 ? REC_ENCODING_VERSION : m[0];
		r = rec_decode(n ? m : NULL, n, &out);
		assert_true(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT);
		if (r == 0) {
			exercise(&out);
			ok++;
		}
		free(m);
	}
	/* Some mutations hit only values: the loop did reach past the checks. */
	assert_true(ok > 100);
	buf_free(&enc[0]);
	buf_free(&enc[1]);
}

/* Random bytes, not derived from a valid encoding. */
static void test_fuzz_random(void **state)
{
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = rng() % 64;
		uint8_t *m = malloc(n ? n : 1);
		struct file_rec out;
		int r;

		assert_non_null(m);
		for (size_t i = 0; i < n; i++)
			m[i] = (uint8_t)(rng() % 4 ? rng() % 40 : rng());
		if (n)
			m[0] = REC_ENCODING_VERSION;
		r = rec_decode(n ? m : NULL, n, &out);
		assert_true(r == 0 || r == -EBADMSG);
		if (r == 0)
			exercise(&out);
		free(m);
	}
}

/* Each attribute changed alone is reported alone. */
static void test_diff_each(void **state)
{
	const struct file_rec base = plain_rec();
	static const char other[] = "different";

	assert_int_equal(rec_diff(&base, &base, ATTRS_ALL_FILE, 0, false), 0);
	for (unsigned a = 0; a < ATTR__FILE_MAX; a++) {
		struct file_rec live = base;

		switch (a) {
		case ATTR_TYPE:
			live.type = FT_DIR;
			break;
		case ATTR_MODE:
			live.mode = 04644;
			break;
		case ATTR_UID:
			live.uid = 1;
			break;
		case ATTR_GID:
			live.gid = 1;
			break;
		case ATTR_SIZE:
			live.size = 99;
			break;
		case ATTR_MTIME:
			live.mtime_ns++;
			break;
		case ATTR_CTIME:
			live.ctime_ns--;
			break;
		case ATTR_ATIME:
			live.atime_ns = -live.atime_ns;
			break;
		case ATTR_INODE:
			live.inode = 43;
			break;
		case ATTR_NLINK:
			live.nlink = 2;
			break;
		case ATTR_TARGET:
			live.target = BYTES_STR(other);
			break;
		case ATTR_HASH:
			live.hash[31] ^= 1;
			break;
		case ATTR_XATTRS:
			live.xattrs.n--;
			break;
		case ATTR_ACL:
			live.acl = BYTES_STR(other);
			break;
		case ATTR_CAPS:
			live.caps = (struct bytes){NULL, 0};
			break;
		case ATTR_SELINUX:
			live.selinux = BYTES_STR("system_u:object_r:bin_t:s1");
			break;
		default:
			fail();
		}
		assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), ATTR_BIT(a));
		/* Out of the mask, the same change is not reported. */
		assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE & ~ATTR_BIT(a), 0, false),
		                 0);
		/* Absent from either side, it is not compared. */
		live.attrs &= ~ATTR_BIT(a);
		assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), 0);
		assert_int_equal(rec_diff(&live, &base, ATTRS_ALL_FILE, 0, false), 0);
	}
}

static void test_diff_type_and_hash(void **state)
{
	struct file_rec base = plain_rec(), live;

	base.type = FT_BLK;
	base.rdev_major = 8;
	base.rdev_minor = 0;
	live = base;
	live.rdev_minor = 1;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), ATTR_BIT(ATTR_TYPE));
	live = base;
	live.rdev_major = 9;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), ATTR_BIT(ATTR_TYPE));
	live = base;
	live.type = FT_CHR;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), ATTR_BIT(ATTR_TYPE));

	/* Another algorithm is a change even when the bytes happen to agree. */
	base = plain_rec();
	live = base;
	live.hash_algo = HASH_BLAKE2B;
	memset(live.hash + 32, 0, 32);
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), ATTR_BIT(ATTR_HASH));
	/* Bytes past the digest length do not count. */
	live = base;
	live.hash[40] ^= 0xff;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), 0);
	/* Spans compare by content, not by address. */
	live = base;
	live.acl = (struct bytes){(const uint8_t *)strdup(acl), sizeof(acl) - 1};
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), 0);
	free((void *)live.acl.p);
	/* Empty spans are equal whatever their pointers. */
	base.target = (struct bytes){NULL, 0};
	live.target = (struct bytes){(const uint8_t *)"x", 0};
	live.acl = base.acl;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, false), 0);
}

static void test_diff_growing(void **state)
{
	const attrset_t grow = ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME) | ATTR_BIT(ATTR_HASH);
	struct file_rec base = plain_rec(), live = base;

	live.size = base.size + 10;
	live.mtime_ns += 5;
	live.ctime_ns += 5;
	live.hash[0] ^= 1;

	/* Without the flag, growth is drift like any other. */
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, 0, true),
	                 grow | ATTR_BIT(ATTR_SIZE));
	/* Growing and the old content still a prefix: nothing. */
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, DIFF_GROWING, true), 0);
	/* Growing but the old content rewritten. */
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, DIFF_GROWING, false), grow);
	/* Other attributes are still compared. */
	live.mode = 0600;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, DIFF_GROWING, true),
	                 ATTR_BIT(ATTR_MODE));
	live.mode = base.mode;
	/* Same size counts as grown by nothing. */
	live.size = base.size;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, DIFF_GROWING, true), 0);
	/* Shrinking is a size change, and a shrunk file has no old prefix. */
	live.size = base.size - 1;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, DIFF_GROWING, false),
	                 grow | ATTR_BIT(ATTR_SIZE));
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, DIFF_GROWING, true),
	                 grow | ATTR_BIT(ATTR_SIZE));
	live = base;
	live.size = 0;
	assert_int_equal(rec_diff(&base, &live, ATTRS_ALL_FILE, DIFF_GROWING, false),
	                 ATTR_BIT(ATTR_SIZE));
	/* The mask still applies to growing files. */
	live.size = base.size + 1;
	live.mtime_ns++;
	assert_int_equal(rec_diff(&base, &live, ATTR_BIT(ATTR_SIZE), DIFF_GROWING, false), 0);
}

static void assert_format(const struct file_rec *r, unsigned attr, const char *want)
{
	char buf[256];

	assert_int_equal(rec_format_attr(r, attr, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_format_type(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t maj, min;
		const char *want;
	} cases[] = {
	        {FT_REG, 0, 0, "file"},
	        {FT_DIR, 0, 0, "dir"},
	        {FT_LNK, 0, 0, "symlink"},
	        {FT_FIFO, 0, 0, "fifo"},
	        {FT_SOCK, 0, 0, "socket"},
	        {FT_CHR, 1, 3, "chardev 1:3"},
	        {FT_BLK, 8, 0, "blockdev 8:0"},
	        {FT_UNKNOWN, 0, 0, "unknown"},
	        {FT_CHR, UINT32_MAX, UINT32_MAX, "chardev 4294967295:4294967295"},
	        {200, 1, 2, "unknown"},
	};
	struct file_rec r = plain_rec();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.type = cases[i].type;
		r.rdev_major = cases[i].maj;
		r.rdev_minor = cases[i].min;
		assert_format(&r, ATTR_TYPE, cases[i].want);
	}
	assert_string_equal(file_type_name(FT_REG), "file");
	assert_string_equal(file_type_name(FT_BLK), "blockdev");
	assert_string_equal(file_type_name((enum file_type)99), "unknown");
}

static void test_format_numbers(void **state)
{
	struct file_rec r = full_rec();

	assert_format(&r, ATTR_MODE, "7777");
	r.mode = 0644;
	assert_format(&r, ATTR_MODE, "0644");
	r.mode = 04755;
	assert_format(&r, ATTR_MODE, "4755");
	r.mode = 0;
	assert_format(&r, ATTR_MODE, "0000");
	r.mode = 01777;
	assert_format(&r, ATTR_MODE, "1777");
	assert_format(&r, ATTR_UID, "4294967295");
	assert_format(&r, ATTR_GID, "0");
	assert_format(&r, ATTR_SIZE, "18446744073709551615");
	assert_format(&r, ATTR_INODE, "18446744073709551614");
	assert_format(&r, ATTR_NLINK, "1");
}

static void test_format_times(void **state)
{
	static const struct {
		int64_t ns;
		const char *want;
	} cases[] = {
	        {0, "1970-01-01T00:00:00.000000000Z"},
	        {1795811481123456789LL, "2026-11-27T20:31:21.123456789Z"},
	        {1, "1970-01-01T00:00:00.000000001Z"},
	        {-1, "1969-12-31T23:59:59.999999999Z"},
	        {-1500000000LL, "1969-12-31T23:59:58.500000000Z"},
	        {-1000000000LL, "1969-12-31T23:59:59.000000000Z"},
	        {INT64_MIN, "1677-09-21T00:12:43.145224192Z"},
	        {INT64_MAX, "2262-04-11T23:47:16.854775807Z"},
	        {951782400000000000LL, "2000-02-29T00:00:00.000000000Z"},
	};
	struct file_rec r = plain_rec();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r.mtime_ns = r.ctime_ns = r.atime_ns = cases[i].ns;
		assert_format(&r, ATTR_MTIME, cases[i].want);
		assert_format(&r, ATTR_CTIME, cases[i].want);
		assert_format(&r, ATTR_ATIME, cases[i].want);
	}
}

static void test_format_hash(void **state)
{
	struct file_rec r = plain_rec();

	assert_format(&r, ATTR_HASH,
	              "sha256:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	r.hash_algo = HASH_BLAKE2B;
	for (int i = 0; i < 64; i++)
		r.hash[i] = (uint8_t)(0xf0 | (i & 15));
	assert_format(&r, ATTR_HASH,
	              "blake2b:f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
	              "f0f1f2f3f4f5f6f7f8f9fafbfcfdfefff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	r.hash_algo = HASH_SHA512;
	memset(r.hash, 0xab, 64);
	assert_format(&r, ATTR_HASH,
	              "sha512:abababababababababababababababababababababababababababababababab"
	              "abababababababababababababababababababababababababababababababab");
}

static void test_format_spans(void **state)
{
	struct file_rec r = full_rec();
	char buf[64];

	assert_format(&r, ATTR_TARGET, target);
	assert_format(&r, ATTR_ACL, acl);
	assert_format(&r, ATTR_CAPS, caps);
	assert_format(&r, ATTR_SELINUX, selinux);
	/* Binary bytes come out as they are; the length tells where they end. */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(rec_format_attr(&r, ATTR_XATTRS, buf, sizeof(buf)), sizeof(binary));
	assert_memory_equal(buf, binary, sizeof(binary));
	assert_int_equal(buf[sizeof(binary)], '\0');
	r.target = (struct bytes){NULL, 0};
	assert_format(&r, ATTR_TARGET, "");
}

static void test_format_edges(void **state)
{
	struct file_rec r = plain_rec();
	char buf[8];

	/* Absent or unknown attributes. */
	r.attrs &= ~ATTR_BIT(ATTR_MODE);
	assert_int_equal(rec_format_attr(&r, ATTR_MODE, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(rec_format_attr(&r, ATTR__FILE_MAX, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(rec_format_attr(&r, 31, buf, sizeof(buf)), -ENOENT);
	/* Truncation keeps the NUL and reports the full length. */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(rec_format_attr(&r, ATTR_MTIME, buf, sizeof(buf)), 30);
	assert_string_equal(buf, "2026-11");
	assert_int_equal(rec_format_attr(&r, ATTR_HASH, buf, 1), 71);
	assert_string_equal(buf, "");
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(rec_format_attr(&r, ATTR_TYPE, buf, 0), 4);
	assert_int_equal(buf[0], 'z');
	assert_int_equal(rec_format_attr(&r, ATTR_TYPE, NULL, 0), 4);
	assert_int_equal(rec_format_attr(&r, ATTR_TYPE, buf, 5), 4);
	assert_string_equal(buf, "file");
	assert_int_equal(rec_format_attr(&r, ATTR_TYPE, buf, 4), 4);
	assert_string_equal(buf, "fil");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_buf),
	        cmocka_unit_test(test_roundtrip_full),
	        cmocka_unit_test(test_roundtrip_each_attr),
	        cmocka_unit_test(test_roundtrip_empty_spans),
	        cmocka_unit_test(test_roundtrip_none),
	        cmocka_unit_test(test_roundtrip_hash_algos),
	        cmocka_unit_test(test_encode_appends),
	        cmocka_unit_test(test_truncations),
	        cmocka_unit_test(test_empty_and_trailing),
	        cmocka_unit_test(test_bad_version),
	        cmocka_unit_test(test_unknown_tag),
	        cmocka_unit_test(test_duplicate_and_width),
	        cmocka_unit_test(test_fuzz),
	        cmocka_unit_test(test_fuzz_random),
	        cmocka_unit_test(test_diff_each),
	        cmocka_unit_test(test_diff_type_and_hash),
	        cmocka_unit_test(test_diff_growing),
	        cmocka_unit_test(test_format_type),
	        cmocka_unit_test(test_format_numbers),
	        cmocka_unit_test(test_format_times),
	        cmocka_unit_test(test_format_hash),
	        cmocka_unit_test(test_format_spans),
	        cmocka_unit_test(test_format_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
