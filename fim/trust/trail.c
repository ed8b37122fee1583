/* SPDX-License-Identifier: ISC */
/* The alert trail: JSON Lines chained line by line with BLAKE2b, appended whole under a lock. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fim/core/common.h"
#include "fim/core/endian.h"
#include "fim/trust/trail.h"

#define CHAIN_BYTES 32
#define KEYID_BYTES 8
#define KEYID_HEX   (2 * KEYID_BYTES)
#define KEY_NONE    "none"
/* The longest chain prefix: {"fim_chain":{"seq":<20 digits>,"key_id":"<16>","hash":"<64>"}, */
#define PREFIX_MAX 160
/* A trail key file is a secret of a few dozen bytes, not a document. */
#define KEYFILE_MAX (64u << 10)

#define WHY_MISSING    "a line is missing before it"
#define WHY_ORDER      "out of order or repeated"
#define WHY_FORGED     "edited or forged"
#define WHY_NOT_TRAIL  "not a trail line"
#define WHY_INCOMPLETE "incomplete last line"
#define WHY_UNKEYED    "not keyed, but a key was given"
#define WHY_KEYED      "keyed, but no key was given"
#define WHY_OTHER_KEY  "made with another key"

struct trail {
	int fd;
	bool keyed;
	uint8_t key[TRAIL_KEY_BYTES];
	char keyid[KEYID_HEX + 1]; /* "none" or the key's id in hex */
};

/* The chain fields of one line. */
struct link {
	uint64_t seq;
	uint8_t hash[CHAIN_BYTES];
	char keyid[KEYID_HEX + 1];
};

static int crypto_ready(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

static void key_id(const uint8_t *key, char out[KEYID_HEX + 1])
{
	static const char label[] = "fim trail key id";
	uint8_t id[KEYID_BYTES];

	if (!key) {
		strcpy(out, KEY_NONE);
		return;
	}
	crypto_generichash(id, sizeof(id), (const uint8_t *)label, sizeof(label) - 1, key,
	                   TRAIL_KEY_BYTES);
	sodium_bin2hex(out, KEYID_HEX + 1, id, sizeof(id));
}

/* hash_N over the previous link, N and REST[0..n). */
static void chain_hash(const uint8_t *key, const uint8_t prev[CHAIN_BYTES], uint64_t seq,
                       const void *rest, size_t n, uint8_t out[CHAIN_BYTES])
{
	crypto_generichash_state st;
	uint8_t be[8];

	put_be64(be, seq);
	crypto_generichash_init(&st, key, key ? TRAIL_KEY_BYTES : 0, CHAIN_BYTES);
	crypto_generichash_update(&st, prev, CHAIN_BYTES);
	crypto_generichash_update(&st, be, sizeof(be));
	crypto_generichash_update(&st, rest, n);
	crypto_generichash_final(&st, out, CHAIN_BYTES);
	sodium_memzero(&st, sizeof(st));
}

static bool lit(const char *p, size_t n, size_t *i, const char *s)
{
	size_t k = strlen(s);

	if (n - *i < k || memcmp(p + *i, s, k) != 0)
		return false;
	*i += k;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case too: one spelling per value */
}

/* K lowercase hex digits at P[*i] into OUT (K / 2 bytes, or none if NULL). */
static bool hex(const char *p, size_t n, size_t *i, size_t k, uint8_t *out)
{
	if (n - *i < k)
		return false;
	for (size_t j = 0; j < k; j += 2) {
		int hi = hexval(p[*i + j]), lo = hexval(p[*i + j + 1]);
		if (hi < 0 || lo < 0)
			return false;
		if (out)
			out[j / 2] = (uint8_t)(hi << 4 | lo);
	}
	*i += k;
	return true;
}

/*
 * Reads the chain fields at the start of P[0..n), exactly as trail_append
 * writes them (one spelling only: no spaces, no leading zeros, lowercase
 * hex). Returns the offset of REST or 0 when P does not start that way.
 */
static size_t link_parse(const char *p, size_t n, struct link *ret)
{
	struct link l = {0};
	size_t i = 0, digits;

	if (!lit(p, n, &i, "{\"fim_chain\":{\"seq\":"))
		return 0;
	for (digits = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
		unsigned d = (unsigned)(p[i] - '0');
		if (digits == 0 && d == 0)
			return 0; /* no leading zeros, and seq 0 is hash_0's */
		if (l.seq > (UINT64_MAX - d) / 10)
			return 0;
		l.seq = l.seq * 10 + d;
	}
	if (digits == 0 || !lit(p, n, &i, ",\"key_id\":\""))
		return 0;
	if (lit(p, n, &i, KEY_NONE)) {
		strcpy(l.keyid, KEY_NONE);
	} else {
		if (!hex(p, n, &i, KEYID_HEX, NULL))
			return 0;
		memcpy(l.keyid, p + i - KEYID_HEX, KEYID_HEX);
	}
	if (!lit(p, n, &i, "\",\"hash\":\"") || !hex(p, n, &i, 2 * CHAIN_BYTES, l.hash) ||
	    !lit(p, n, &i, "\"},"))
		return 0;
	*ret = l;
	return i;
}

/* REST must close the object it continues (and have something in it). */
static bool rest_ok(const char *rest, size_t n)
{
	return n >= 2 && rest[n - 1] == '}';
}

/* ---- verifying ---- */

struct verifier {
	const uint8_t *key;
	char keyid[KEYID_HEX + 1];
	uint64_t line;             /* lines seen */
	uint64_t seq;              /* seq of the last good line, 0 before the first */
	uint8_t hash[CHAIN_BYTES]; /* its hash */
	uint64_t bad;              /* first bad line, 0 while all is well */
	uint64_t missing;          /* after a seq gap: the seq looked for further on */
	const char *why;
};

static bool verifier_fail(struct verifier *v, const char *why)
{
	v->bad = v->line;
	v->why = why;
	return false;
}

/*
 * Takes the next line, P[0..n) without its newline; NL says whether it had
 * one, TOOLONG that it exceeds TRAIL_MAX_LINE (P is then not all of it).
 * Returns whether later lines still matter.
 */
static bool verifier_line(struct verifier *v, const char *p, size_t n, bool nl, bool toolong)
{
	struct link l;
	uint8_t h[CHAIN_BYTES];
	size_t off;

	v->line++;
	if (v->bad) {
		/* After a gap: is the line that seems missing further on? */
		if (!toolong && link_parse(p, n, &l) && l.seq == v->missing) {
			v->why = WHY_ORDER;
			return false;
		}
		return true;
	}
	if (!nl)
		return verifier_fail(v, WHY_INCOMPLETE);
	off = toolong ? 0 : link_parse(p, n, &l);
	if (!off || !rest_ok(p + off, n - off))
		return verifier_fail(v, WHY_NOT_TRAIL);
	if (strcmp(l.keyid, v->keyid) != 0)
		return verifier_fail(v, strcmp(l.keyid, KEY_NONE) == 0 ? WHY_UNKEYED
		                        : v->key                       ? WHY_OTHER_KEY
		                                                       : WHY_KEYED);
	if (l.seq <= v->seq)
		return verifier_fail(v, WHY_ORDER);
	if (l.seq != v->seq + 1) {
		verifier_fail(v, WHY_MISSING);
		v->missing = v->seq + 1;
		return true;
	}
	chain_hash(v->key, v->hash, l.seq, p + off, n - off, h);
	if (sodium_memcmp(h, l.hash, CHAIN_BYTES) != 0)
		return verifier_fail(v, WHY_FORGED);
	v->seq = l.seq;
	memcpy(v->hash, h, CHAIN_BYTES);
	return true;
}

static void verifier_init(struct verifier *v, const uint8_t *key)
{
	*v = (struct verifier){.key = key};
	key_id(key, v->keyid);
}

static int verifier_end(const struct verifier *v, uint64_t *ret_lines, uint64_t *ret_bad, char *why,
                        size_t size)
{
	if (v->bad) {
		if (ret_bad)
			*ret_bad = v->bad;
		if (why && size)
			snprintf(why, size, "%s", v->why);
		return -EBADMSG;
	}
	if (ret_lines)
		*ret_lines = v->line;
	return 0;
}

int trail_verify_buf(const void *data, size_t n, const uint8_t *key, uint64_t *ret_lines,
                     uint64_t *ret_bad, char *why, size_t size)
{
	struct verifier v;
	const char *p = data;
	size_t pos = 0;
	int r = crypto_ready();

	if (r < 0)
		return r;
	verifier_init(&v, key);
	while (pos < n) {
		const char *e = memchr(p + pos, '\n', n - pos);
		size_t len = e ? (size_t)(e - (p + pos)) : n - pos;
		if (!verifier_line(&v, p + pos, len, e != NULL, len + 1 > TRAIL_MAX_LINE))
			break;
		pos += len + (e != NULL);
	}
	return verifier_end(&v, ret_lines, ret_bad, why, size);
}

/* Lines of a file, each up to TRAIL_MAX_LINE bytes; longer ones are
 * skipped and reported as too long. */
struct reader {
	int fd;
	char *buf; /* TRAIL_MAX_LINE bytes */
	size_t pos, len;
	bool eof;
};

static int reader_fill(struct reader *r)
{
	ssize_t k;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	do
		k = read(r->fd, r->buf + r->len, TRAIL_MAX_LINE - r->len);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if (k == 0)
		r->eof = true;
	r->len += (size_t)k;
	return 0;
}

/* Skips the rest of a line too long for the buffer. Returns whether it
 * ended with a newline, or a negative errno. */
static int reader_skip(struct reader *r)
{
	for (;;) {
		char *e;
		int err;

		r->pos = r->len = 0;
		err = reader_fill(r);
		if (err < 0)
			return err;
		if (r->eof)
			return 0;
		e = memchr(r->buf, '\n', r->len);
		if (e) {
			r->pos = (size_t)(e - r->buf) + 1;
			return 1;
		}
	}
}

/* Returns 1 with the next line (as verifier_line takes it), 0 at the end,
 * or a negative errno. */
static int reader_next(struct reader *r, const char **p, size_t *n, bool *nl, bool *toolong)
{
	for (;;) {
		char *s = r->buf + r->pos, *e = memchr(s, '\n', r->len - r->pos);
		int err;

		*p = s;
		*toolong = false;
		if (e) {
			*n = (size_t)(e - s);
			*nl = true;
			r->pos += *n + 1;
			return 1;
		}
		if (r->eof) {
			if (r->pos == r->len)
				return 0;
			*n = r->len - r->pos;
			*nl = false;
			r->pos = r->len;
			return 1;
		}
		if (r->pos == 0 && r->len == TRAIL_MAX_LINE) {
			err = reader_skip(r);
			if (err < 0)
				return err;
			*n = 0;
			*nl = err == 1;
			*toolong = true;
			return 1;
		}
		err = reader_fill(r);
		if (err < 0)
			return err;
	}
}

int trail_verify(const char *path, const uint8_t *key, uint64_t *ret_lines, uint64_t *ret_bad,
                 char *why, size_t size)
{
	_cleanup_close_ int fd = -1;
	struct reader rd = {0};
	struct verifier v;
	struct stat st;
	int r = crypto_ready();

	if (r < 0)
		return r;
	/* O_NONBLOCK: a FIFO put in the trail's place must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	rd.fd = fd;
	rd.buf = malloc(TRAIL_MAX_LINE);
	if (!rd.buf)
		return -ENOMEM;
	verifier_init(&v, key);
	for (;;) {
		const char *p;
		size_t n;
		bool nl, toolong;

		r = reader_next(&rd, &p, &n, &nl, &toolong);
		if (r <= 0)
			break;
		if (!verifier_line(&v, p, n, nl, toolong)) {
			r = 0;
			break;
		}
	}
	free(rd.buf);
	if (r < 0)
		return r;
	return verifier_end(&v, ret_lines, ret_bad, why, size);
}

/* ---- appending ---- */

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pread(fd, (char *)buf + done, n - done, off + (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EBADMSG; /* shrank under us: not the file we measured */
		done += (size_t)k;
	}
	return 0;
}

/*
 * The chain fields of the file's last line, and the file's size: seq 0 and
 * hash_0 for an empty file. Returns 0, -EBADMSG when the last line is not a
 * complete trail line, or an errno reading it. Reads from the end, so its
 * cost does not grow with the trail.
 */
static int last_link(int fd, struct link *ret, off_t *ret_size)
{
	char chunk[4096], tail[2];
	struct stat st;
	off_t end, pos, start = 0;
	size_t len, off;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	end = st.st_size;
	if (end == 0) {
		*ret = (struct link){.keyid = ""};
		*ret_size = 0;
		return 0;
	}
	if (end < 2)
		return -EBADMSG;
	r = pread_all(fd, tail, 2, end - 2);
	if (r < 0)
		return r;
	if (tail[0] != '}' || tail[1] != '\n')
		return -EBADMSG;
	/* The line starts after the newline before the last one. */
	for (pos = end - 1; pos > 0;) {
		size_t k = pos > (off_t)sizeof(chunk) ? sizeof(chunk) : (size_t)pos;
		char *nl;

		r = pread_all(fd, chunk, k, pos - (off_t)k);
		if (r < 0)
			return r;
		nl = memrchr(chunk, '\n', k);
		if (nl) {
			start = pos - (off_t)k + (nl - chunk) + 1;
			break;
		}
		pos -= (off_t)k;
		if (end - pos > (off_t)TRAIL_MAX_LINE)
			return -EBADMSG;
	}
	if (end - start > (off_t)TRAIL_MAX_LINE)
		return -EBADMSG;
	len = (size_t)(end - 1 - start);
	if (len > PREFIX_MAX)
		len = PREFIX_MAX;
	r = pread_all(fd, chunk, len, start);
	if (r < 0)
		return r;
	off = link_parse(chunk, len, ret);
	if (!off || end - 1 - start - (off_t)off < 2)
		return -EBADMSG;
	*ret_size = end;
	return 0;
}

static int lock(int fd, int op)
{
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* The last line, under the lock the caller holds, must continue T's chain. */
static int tail_for(const struct trail *t, struct link *ret, off_t *ret_size)
{
	int r = last_link(t->fd, ret, ret_size);

	if (r < 0)
		return r;
	if (ret->seq > 0 && strcmp(ret->keyid, t->keyid) != 0)
		return -EKEYREJECTED;
	if (ret->seq == UINT64_MAX)
		return -EOVERFLOW;
	return 0;
}

int trail_open(const char *path, const uint8_t *key, struct trail **ret)
{
	_cleanup_close_ int fd = -1;
	struct trail *t;
	struct link last;
	struct stat st;
	off_t size;
	int r = crypto_ready();

	if (r < 0)
		return r;
	/* O_NONBLOCK: a FIFO put in the trail's place must not hang the check. */
	fd = open(path,
	          O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK,
	          0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = fd;
	t->keyed = key != NULL;
	if (key)
		memcpy(t->key, key, TRAIL_KEY_BYTES);
	key_id(key, t->keyid);
	/* Refuse now what every append would refuse, before the caller's work. */
	r = lock(fd, LOCK_SH);
	if (r == 0) {
		r = tail_for(t, &last, &size);
		flock(fd, LOCK_UN);
	}
	if (r < 0) {
		t->fd = -1;
		trail_close(t);
		return r;
	}
	fd = -1;
	*ret = t;
	return 0;
}

/* LINE[0..n) must be one JSON object, with members, on one line, that
 * does not bring its own chain fields. */
static int line_check(const char *line, size_t n)
{
	json_t *o;
	bool ok;

	if (n + PREFIX_MAX + 1 > TRAIL_MAX_LINE)
		return -EMSGSIZE;
	if (n < 2 || line[0] != '{' || line[n - 1] != '}' || memchr(line, '\n', n))
		return -EINVAL;
	o = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
	ok = json_is_object(o) && json_object_size(o) > 0 && !json_object_get(o, "fim_chain");
	json_decref(o);
	return ok ? 0 : -EINVAL;
}

/* Writes the line after LAST in one write(2) and syncs it; on failure cuts
 * the file back to SIZE so no part of it stays. */
static int line_write(struct trail *t, const struct link *last, off_t size, const char *line,
                      size_t n)
{
	_cleanup_free_ char *buf = NULL;
	const char *rest = line + 1;
	size_t nrest = n - 1, len;
	uint8_t h[CHAIN_BYTES];
	char hexh[2 * CHAIN_BYTES + 1];
	uint64_t seq = last->seq + 1;
	ssize_t k;
	int r;

	buf = malloc(PREFIX_MAX + nrest + 1);
	if (!buf)
		return -ENOMEM;
	chain_hash(t->keyed ? t->key : NULL, last->hash, seq, rest, nrest, h);
	sodium_bin2hex(hexh, sizeof(hexh), h, sizeof(h));
	len = (size_t)snprintf(buf, PREFIX_MAX,
	                       "{\"fim_chain\":{\"seq\":%" PRIu64
	                       ",\"key_id\":\"%s\",\"hash\":\"%s\"},",
	                       seq, t->keyid, hexh);
	memcpy(buf + len, rest, nrest);
	len += nrest;
	buf[len++] = '\n';

	do
		k = write(t->fd, buf, len);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno; /* nothing was written */
	if (k == (ssize_t)len && fdatasync(t->fd) == 0)
		return 0;
	/* A short write is a full disk or a file size limit. */
	r = k < (ssize_t)len ? -ENOSPC : -errno;
	if (ftruncate(t->fd, size) == 0)
		fdatasync(t->fd);
	return r;
}

int trail_append(struct trail *t, const char *line, size_t n)
{
	struct link last;
	off_t size;
	int r = line_check(line, n);

	if (r < 0)
		return r;
	r = lock(t->fd, LOCK_EX);
	if (r < 0)
		return r;
	/* Under the lock, every time: another process may have appended. */
	r = tail_for(t, &last, &size);
	if (r == 0)
		r = line_write(t, &last, size, line, n);
	flock(t->fd, LOCK_UN);
	return r;
}

void trail_close(struct trail *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	sodium_memzero(t, sizeof(*t));
	free(t);
}

/* ---- the stdio stream ---- */

struct stream {
	struct trail *t;
	char *buf;
	size_t n, cap;
	int err; /* sticky: the first error, as an errno */
};

static ssize_t stream_fail(struct stream *s, int err)
{
	s->err = err;
	s->n = 0;
	errno = err;
	return -1;
}

static ssize_t stream_write(void *cookie, const char *data, size_t size)
{
	struct stream *s = cookie;
	size_t done = 0;

	if (s->err) {
		errno = s->err;
		return -1;
	}
	while (done < size) {
		const char *nl = memchr(data + done, '\n', size - done);
		size_t k = nl ? (size_t)(nl - (data + done)) : size - done;
		int r;

		if (k > TRAIL_MAX_LINE - s->n)
			return stream_fail(s, EMSGSIZE);
		if (s->n + k > s->cap) {
			size_t cap = s->cap ? s->cap : 4096;
			char *b;
			while (cap < s->n + k)
				cap *= 2;
			b = realloc(s->buf, cap);
			if (!b)
				return stream_fail(s, ENOMEM);
			s->buf = b;
			s->cap = cap;
		}
		memcpy(s->buf + s->n, data + done, k);
		s->n += k;
		done += k;
		if (!nl)
			break;
		done++;
		r = trail_append(s->t, s->buf, s->n);
		s->n = 0;
		if (r < 0)
			return stream_fail(s, -r);
	}
	return (ssize_t)size;
}

static int stream_close(void *cookie)
{
	struct stream *s = cookie;
	int err = s->err;

	/* A line never finished is not appended, and not silently dropped. */
	if (!err && s->n > 0)
		err = EINVAL;
	free(s->buf);
	free(s);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

FILE *trail_stream(struct trail *t)
{
	static const cookie_io_functions_t io = {.write = stream_write, .close = stream_close};
	struct stream *s = calloc(1, sizeof(*s));
	FILE *f;

	if (!s)
		return NULL;
	s->t = t;
	f = fopencookie(s, "w", io);
	if (!f) {
		free(s);
		return NULL;
	}
	/* Each line reaches the trail when it is complete, not when a buffer fills. */
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* ---- keys and messages ---- */

int trail_load_key(const char *path, uint8_t key[TRAIL_KEY_BYTES])
{
	_cleanup_close_ int fd = -1;
	crypto_generichash_state st;
	uint8_t chunk[4096], out[TRAIL_KEY_BYTES];
	struct stat sb;
	size_t total = 0;
	int r = crypto_ready();

	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (S_ISDIR(sb.st_mode))
		return -EISDIR;
	if (!S_ISREG(sb.st_mode))
		return -EBADFD;
	crypto_generichash_init(&st, NULL, 0, TRAIL_KEY_BYTES);
	for (;;) {
		ssize_t k = read(fd, chunk, sizeof(chunk));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		total += (size_t)k;
		if (total > KEYFILE_MAX) {
			r = -EFBIG;
			break;
		}
		crypto_generichash_update(&st, chunk, (size_t)k);
	}
	if (r == 0 && total < TRAIL_KEY_BYTES)
		r = -EINVAL;
	crypto_generichash_final(&st, out, sizeof(out));
	if (r == 0)
		memcpy(key, out, sizeof(out));
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(chunk, sizeof(chunk));
	sodium_memzero(out, sizeof(out));
	return r;
}

const char *trail_cause(int err)
{
	switch (err) {
	case -EBADMSG:
		return "its last line is not a complete trail line";
	case -EKEYREJECTED:
		return "its chain was made with another key (or without one)";
	case -ELOOP:
		return "a symbolic link (refused)";
	case -EBADFD:
		return "not a regular file";
	case -EINVAL:
		return "not one JSON object on one line";
	case -EMSGSIZE:
		return "line too long for a trail (1 MiB)";
	case -EOVERFLOW:
		return "its sequence numbers are exhausted";
	}
	return strerror(-err);
}
