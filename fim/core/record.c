/* SPDX-License-Identifier: ISC */
/* File records: TLV encoding for the store, comparison, text values for reports. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fim/core/endian.h"
#include "fim/core/record.h"

#define NSEC_PER_SEC 1000000000LL
#define FIELD_HEAD   5 /* tag u8 + length u32 */

/*
 * Tags are part of the on-disk format: they are spelled out here rather
 * than derived from enum file_attr so that reordering the attribute list
 * cannot silently change the meaning of stored values. TAG_END closes
 * every encoding, so a value cut at a field boundary is still detected.
 */
enum {
	TAG_END = 0,
	TAG_FLAGS = 1,
	TAG_DIRID = 2,
};

/* How an attribute is stored, compared and printed. */
enum kind {
	K_TYPE, /* u8 type, u32 rdev major, u32 rdev minor */
	K_MODE, /* u32, printed in octal */
	K_U32,
	K_U64,
	K_TIME, /* i64 nanoseconds */
	K_HASH, /* u8 algorithm, then exactly hash_len() digest bytes */
	K_SPAN, /* any bytes */
};

struct field {
	uint8_t tag;
	uint8_t kind;
	uint16_t off; /* offset of the value in struct file_rec */
};

#define F(attr, t, k, member) [attr] = {t, k, offsetof(struct file_rec, member)}
static const struct field fields[ATTR__FILE_MAX] = {
        F(ATTR_TYPE, 16, K_TYPE, type),      F(ATTR_MODE, 17, K_MODE, mode),
        F(ATTR_UID, 18, K_U32, uid),         F(ATTR_GID, 19, K_U32, gid),
        F(ATTR_SIZE, 20, K_U64, size),       F(ATTR_MTIME, 21, K_TIME, mtime_ns),
        F(ATTR_CTIME, 22, K_TIME, ctime_ns), F(ATTR_ATIME, 23, K_TIME, atime_ns),
        F(ATTR_INODE, 24, K_U64, inode),     F(ATTR_NLINK, 25, K_U64, nlink),
        F(ATTR_TARGET, 26, K_SPAN, target),  F(ATTR_HASH, 27, K_HASH, hash_algo),
        F(ATTR_XATTRS, 28, K_SPAN, xattrs),  F(ATTR_ACL, 29, K_SPAN, acl),
        F(ATTR_CAPS, 30, K_SPAN, caps),      F(ATTR_SELINUX, 31, K_SPAN, selinux),
};
#undef F

static const char *const type_names[] = {
        [FT_UNKNOWN] = "unknown", [FT_REG] = "file",    [FT_DIR] = "dir",     [FT_LNK] = "symlink",
        [FT_FIFO] = "fifo",       [FT_SOCK] = "socket", [FT_CHR] = "chardev", [FT_BLK] = "blockdev",
};

/* Typed views of a member located by its offset in the table above. */
static const void *member(const struct file_rec *r, const struct field *f)
{
	return (const char *)r + f->off;
}
static void *member_rw(struct file_rec *r, const struct field *f)
{
	return (char *)r + f->off;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->p);
	*b = (struct buf){0};
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	if (n == 0)
		return 0;
	if (n > SIZE_MAX - b->n)
		return -ENOMEM;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap < b->n + n)
			cap = cap > SIZE_MAX / 2 ? b->n + n : cap * 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	return 0;
}

/* Field header and value; spans longer than a u32 length cannot be encoded. */
static int put_field(struct buf *b, uint8_t tag, const void *v, size_t n)
{
	uint8_t head[FIELD_HEAD];
	int r;

	if (n > UINT32_MAX)
		return -EOVERFLOW;
	head[0] = tag;
	put_be32(head + 1, (uint32_t)n);
	r = buf_append(b, head, sizeof(head));
	return r < 0 ? r : buf_append(b, v, n);
}

static int put_u32(struct buf *b, uint8_t tag, uint32_t v)
{
	uint8_t x[4];

	put_be32(x, v);
	return put_field(b, tag, x, sizeof(x));
}

static int put_u64(struct buf *b, uint8_t tag, uint64_t v)
{
	uint8_t x[8];

	put_be64(x, v);
	return put_field(b, tag, x, sizeof(x));
}

static int put_attr(const struct file_rec *rec, const struct field *f, struct buf *b)
{
	uint8_t x[1 + HASH_MAX_DIGEST];
	const struct bytes *span;

	switch (f->kind) {
	case K_TYPE:
		x[0] = rec->type;
		put_be32(x + 1, rec->rdev_major);
		put_be32(x + 5, rec->rdev_minor);
		return put_field(b, f->tag, x, 9);
	case K_MODE:
	case K_U32:
		return put_u32(b, f->tag, *(const uint32_t *)member(rec, f));
	case K_U64:
		return put_u64(b, f->tag, *(const uint64_t *)member(rec, f));
	case K_TIME:
		return put_u64(b, f->tag, (uint64_t) * (const int64_t *)member(rec, f));
	case K_HASH:
		x[0] = rec->hash_algo;
		memcpy(x + 1, rec->hash, hash_len(rec->hash_algo));
		return put_field(b, f->tag, x, 1 + hash_len(rec->hash_algo));
	default:
		span = member(rec, f);
		return put_field(b, f->tag, span->p, span->n);
	}
}

static int encode_fields(const struct file_rec *rec, struct buf *out)
{
	static const uint8_t version = REC_ENCODING_VERSION;
	int r;

	r = buf_append(out, &version, 1);
	if (r >= 0)
		r = put_u32(out, TAG_FLAGS, rec->flags);
	if (r >= 0)
		r = put_u64(out, TAG_DIRID, rec->dirid);
	for (unsigned a = 0; r >= 0 && a < ATTR__FILE_MAX; a++)
		if (rec->attrs & ATTR_BIT(a))
			r = put_attr(rec, &fields[a], out);
	return r < 0 ? r : put_field(out, TAG_END, NULL, 0);
}

int rec_encode(const struct file_rec *rec, struct buf *out)
{
	size_t start = out->n;
	int r = encode_fields(rec, out);

	/* A failed encode leaves OUT as it was, not with half a record. */
	if (r < 0)
		out->n = start;
	return r;
}

static int field_of_tag(uint8_t tag)
{
	for (unsigned a = 0; a < ATTR__FILE_MAX; a++)
		if (fields[a].tag == tag)
			return (int)a;
	return -1;
}

/* Stores one attribute value V[0..n) of field F; checks its width. */
static int get_attr(struct file_rec *r, const struct field *f, const uint8_t *v, size_t n)
{
	struct bytes *span;

	switch (f->kind) {
	case K_TYPE:
		if (n != 9)
			return -EBADMSG;
		r->type = v[0];
		r->rdev_major = get_be32(v + 1);
		r->rdev_minor = get_be32(v + 5);
		return 0;
	case K_MODE:
	case K_U32:
		if (n != 4)
			return -EBADMSG;
		*(uint32_t *)member_rw(r, f) = get_be32(v);
		return 0;
	case K_U64:
	case K_TIME:
		if (n != 8)
			return -EBADMSG;
		*(uint64_t *)member_rw(r, f) = get_be64(v);
		return 0;
	case K_HASH:
		/* hash_len() is 0 for unknown algorithms: only an empty digest fits. */
		if (n < 1 || n - 1 != hash_len(v[0]))
			return -EBADMSG;
		r->hash_algo = v[0];
		memcpy(r->hash, v + 1, n - 1);
		return 0;
	default:
		span = member_rw(r, f);
		span->p = v;
		span->n = n;
		return 0;
	}
}

/* SEEN is a bitmap of the known tags met so far, to reject repeats. */
static int get_field(struct file_rec *r, uint8_t tag, const uint8_t *v, size_t n, uint8_t *seen)
{
	int a;

	if (tag == TAG_FLAGS || tag == TAG_DIRID) {
		if (seen[tag / 8] & (1u << (tag % 8)) || n != (tag == TAG_FLAGS ? 4u : 8u))
			return -EBADMSG;
		seen[tag / 8] |= (uint8_t)(1u << (tag % 8));
		if (tag == TAG_FLAGS)
			r->flags = get_be32(v);
		else
			r->dirid = get_be64(v);
		return 0;
	}
	a = field_of_tag(tag);
	if (a < 0)
		return 0; /* written by a newer fim: skip */
	if (seen[tag / 8] & (1u << (tag % 8)))
		return -EBADMSG;
	seen[tag / 8] |= (uint8_t)(1u << (tag % 8));
	r->attrs |= ATTR_BIT(a);
	return get_attr(r, &fields[a], v, n);
}

int rec_decode(const void *buf, size_t len, struct file_rec *out)
{
	const uint8_t *p = buf;
	struct file_rec r = {0};
	uint8_t seen[256 / 8] = {0};
	size_t pos = 1;

	if (len < 1)
		return -EBADMSG;
	if (p[0] != REC_ENCODING_VERSION)
		return -EPROTONOSUPPORT;
	for (;;) {
		uint8_t tag;
		size_t n;
		int ret;

		if (len - pos < FIELD_HEAD)
			return -EBADMSG;
		tag = p[pos];
		n = get_be32(p + pos + 1);
		pos += FIELD_HEAD;
		if (n > len - pos)
			return -EBADMSG;
		if (tag == TAG_END) {
			/* The end field is empty and last. */
			if (n != 0 || pos != len)
				return -EBADMSG;
			break;
		}
		ret = get_field(&r, tag, p + pos, n, seen);
		if (ret < 0)
			return ret;
		pos += n;
	}
	*out = r;
	return 0;
}

static bool span_eq(const struct bytes *a, const struct bytes *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

static bool attr_eq(const struct file_rec *a, const struct file_rec *b, const struct field *f)
{
	switch (f->kind) {
	case K_TYPE:
		return a->type == b->type && a->rdev_major == b->rdev_major &&
		       a->rdev_minor == b->rdev_minor;
	case K_MODE:
	case K_U32:
		return *(const uint32_t *)member(a, f) == *(const uint32_t *)member(b, f);
	case K_U64:
		return *(const uint64_t *)member(a, f) == *(const uint64_t *)member(b, f);
	case K_TIME:
		return *(const int64_t *)member(a, f) == *(const int64_t *)member(b, f);
	case K_HASH:
		return a->hash_algo == b->hash_algo &&
		       memcmp(a->hash, b->hash, hash_len(a->hash_algo)) == 0;
	default:
		return span_eq(member(a, f), member(b, f));
	}
}

#define TYPE_SPECIFIC_ATTRS                                                                        \
	(ATTR_BIT(ATTR_TARGET) | ATTR_BIT(ATTR_HASH) | ATTR_BIT(ATTR_CAPS) | ATTR_BIT(ATTR_ACL))

attrset_t rec_diff(const struct file_rec *base, const struct file_rec *live, attrset_t mask,
                   unsigned flags, bool prefix_same)
{
	attrset_t both = base->attrs & live->attrs & mask & ATTRS_ALL_FILE;
	attrset_t changed = 0, appended = 0;
	bool growing = flags & DIFF_GROWING;

	/*
	 * An append-only file (a log) keeps its identity while it grows: more
	 * bytes are not drift, and the times and digest follow the growth as
	 * long as the old content is still its prefix. A shrunk file cannot
	 * have its old content as a prefix, whatever the caller says.
	 */
	if (growing && live->size >= base->size) {
		appended = ATTR_BIT(ATTR_SIZE);
		if (prefix_same)
			appended |=
			        ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME) | ATTR_BIT(ATTR_HASH);
	}
	for (unsigned a = 0; a < ATTR__FILE_MAX; a++) {
		if (!(both & ATTR_BIT(a)) || (appended & ATTR_BIT(a)))
			continue;
		if (!attr_eq(base, live, &fields[a]))
			changed |= ATTR_BIT(a);
	}
	/* A file that became a link (or the reverse) gained or lost the
	 * attributes only one of the types has: a new link target is news. */
	if (changed & ATTR_BIT(ATTR_TYPE)) {
		attrset_t one = (base->attrs ^ live->attrs) & mask & TYPE_SPECIFIC_ATTRS;
		/* An empty ACL or capability set on one side says nothing. */
		for (unsigned a = ATTR_ACL; a <= ATTR_CAPS; a++) {
			const struct file_rec *r = (base->attrs & ATTR_BIT(a)) ? base : live;
			const struct bytes *v = a == ATTR_ACL ? &r->acl : &r->caps;
			if ((one & ATTR_BIT(a)) && v->n == 0)
				one &= ~ATTR_BIT(a);
		}
		changed |= one;
	}
	return changed;
}

const char *file_type_name(enum file_type t)
{
	if ((unsigned)t >= ARRAY_SIZE(type_names))
		return type_names[FT_UNKNOWN];
	return type_names[t];
}

/* snprintf-like output: counts the full length, stores what fits. */
struct out {
	char *buf;
	size_t size, len;
};

static void out_put(struct out *o, const void *s, size_t n)
{
	if (o->size > 0 && o->len < o->size - 1) {
		size_t room = o->size - 1 - o->len;

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static int out_time(struct out *o, int64_t ns)
{
	/* Floor division: -1 ns is 23:59:59.999999999 of the day before. */
	int64_t sec = ns / NSEC_PER_SEC, frac = ns % NSEC_PER_SEC;
	char s[64];
	struct tm tm;
	time_t t;

	if (frac < 0) {
		frac += NSEC_PER_SEC;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm))
		return -EOVERFLOW;
	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	out_str(o, s);
	return 0;
}

static void out_hash(struct out *o, const struct file_rec *rec)
{
	static const char hex[] = "0123456789abcdef";
	const char *name = hash_name(rec->hash_algo);

	out_str(o, name ? name : "unknown");
	out_put(o, ":", 1);
	for (size_t i = 0; i < hash_len(rec->hash_algo); i++) {
		char x[2] = {hex[rec->hash[i] >> 4], hex[rec->hash[i] & 15]};

		out_put(o, x, 2);
	}
}

static int out_attr(struct out *o, const struct file_rec *rec, const struct field *f)
{
	const struct bytes *span;
	char s[64];

	switch (f->kind) {
	case K_TYPE:
		out_str(o, file_type_name(rec->type));
		if (rec->type == FT_CHR || rec->type == FT_BLK) {
			snprintf(s, sizeof(s), " %" PRIu32 ":%" PRIu32, rec->rdev_major,
			         rec->rdev_minor);
			out_str(o, s);
		}
		return 0;
	case K_MODE:
		snprintf(s, sizeof(s), "%04" PRIo32, rec->mode);
		break;
	case K_U32:
		snprintf(s, sizeof(s), "%" PRIu32, *(const uint32_t *)member(rec, f));
		break;
	case K_U64:
		snprintf(s, sizeof(s), "%" PRIu64, *(const uint64_t *)member(rec, f));
		break;
	case K_TIME:
		return out_time(o, *(const int64_t *)member(rec, f));
	case K_HASH:
		out_hash(o, rec);
		return 0;
	default:
		span = member(rec, f);
		if (span->n)
			out_put(o, span->p, span->n);
		return 0;
	}
	out_str(o, s);
	return 0;
}

int rec_format_attr(const struct file_rec *rec, unsigned attr, char *buf, size_t size)
{
	struct out o = {buf, size, 0};
	int r;

	if (attr >= ATTR__FILE_MAX || !(rec->attrs & ATTR_BIT(attr)))
		return -ENOENT;
	if (size > 0)
		buf[0] = '\0';
	r = out_attr(&o, rec, &fields[attr]);
	if (r < 0)
		return r;
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT_MAX ? -EOVERFLOW : (int)o.len;
}
