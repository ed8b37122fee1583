/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/trust/sign.c: key files, sealing, tampering, signatures, passphrase sources.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fim/cli.h"
#include "fim/trust/sign.h"
#include "tests/unit/fixture.h"

#define PASS     "correct horse battery staple"
#define PASS_LEN (sizeof(PASS) - 1)

/* The sealed blob as sign.c lays it out (see the comment at its top). */
#define BLOB_OPS    8
#define BLOB_MEM    12
#define BLOB_HEADER 92
#define BLOB_BYTES  140
#define SEC_TAG     "fim-ed25519-secret-v1 "
#define PUB_TAG     "fim-ed25519-public "

struct fixture {
	char tmp[64];
	char dir[96]; /* TMP/keys, made by gen() */
	char key[128];
	char pub[128];
	char file[128]; /* TMP/f, for hand-made files */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!fx_tmpdir(f->tmp, sizeof(f->tmp), "sign"))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/keys", f->tmp);
	snprintf(f->key, sizeof(f->key), "%s/fim.key", f->dir);
	snprintf(f->pub, sizeof(f->pub), "%s/fim.pub", f->dir);
	snprintf(f->file, sizeof(f->file), "%s/f", f->tmp);
	unsetenv("FIM_PASSPHRASE");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fx_rmtree(f->tmp);
	free(f);
	unsetenv("FIM_PASSPHRASE");
	return 0;
}

/* A cheap key pair in F->dir (the cost is in the file; the format is the same). */
static void gen(struct fixture *f)
{
	assert_int_equal(sign_generate_cost(f->dir, PASS, PASS_LEN, 1, 8192), 0);
}

static void write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* The whole of PATH in BUF (NUL-terminated); returns its length. */
static size_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0 && (size_t)n < size - 1);
	buf[n] = '\0';
	close(fd);
	return (size_t)n;
}

/* The sealed blob of the fim.key at PATH. */
static void read_blob(const char *path, uint8_t blob[BLOB_BYTES])
{
	char text[1024];
	size_t n = read_file(path, text, sizeof(text)), len;

	assert_true(strncmp(text, SEC_TAG, strlen(SEC_TAG)) == 0);
	assert_true(n > strlen(SEC_TAG) + 1 && text[n - 1] == '\n');
	assert_int_equal(sodium_base642bin(blob, BLOB_BYTES, text + strlen(SEC_TAG),
	                                   n - 1 - strlen(SEC_TAG), NULL, &len, NULL,
	                                   sodium_base64_VARIANT_ORIGINAL),
	                 0);
	assert_int_equal(len, BLOB_BYTES);
}

/* Writes BLOB as a fim.key to PATH. */
static void write_blob(const char *path, const uint8_t blob[BLOB_BYTES])
{
	char b64[sodium_base64_ENCODED_LEN(BLOB_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char text[sizeof(b64) + 64];

	sodium_bin2base64(b64, sizeof(b64), blob, BLOB_BYTES, sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "%s%s\n", SEC_TAG, b64);
	write_text(path, text);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Names in DIR, space-separated and sorted. */
static void list_dir(const char *dir, char *out, size_t size)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..")) {
			if (out[0])
				strncat(out, " ", size - strlen(out) - 1);
			strncat(out, ents[i]->d_name, size - strlen(out) - 1);
		}
		free(ents[i]);
	}
	free(ents);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Modes, formats, nothing else in the directory, whatever the umask. */
static void test_generate_files(void **state)
{
	struct fixture *f = *state;
	char text[1024], names[256], id[2 * SIGN_ID_BYTES + 1], want[256];
	struct sign_key k;
	mode_t old = umask(077);
	size_t n;

	gen(f);
	umask(old);
	assert_int_equal(mode_of(f->dir), 0700);
	assert_int_equal(mode_of(f->key), 0600);
	assert_int_equal(mode_of(f->pub), 0644);
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "fim.key fim.pub");

	assert_int_equal(sign_load_public(f->pub, &k), 0);
	assert_null(k.sk);
	sign_id_hex(&k, id);
	assert_int_equal(strlen(id), 16);
	n = read_file(f->pub, text, sizeof(text));
	assert_true(n > 0 && text[n - 1] == '\n' && !memchr(text, '\n', n - 1));
	snprintf(want, sizeof(want), " id=%s\n", id);
	assert_true(strncmp(text, PUB_TAG, strlen(PUB_TAG)) == 0);
	assert_true(n > strlen(want) && strcmp(text + n - strlen(want), want) == 0);
	/* "fim-ed25519-public " + 44 base64 characters + " id=" + 16 hex + "\n" */
	assert_int_equal(n, strlen(PUB_TAG) + 44 + 4 + 16 + 1);

	n = read_file(f->key, text, sizeof(text));
	assert_true(strncmp(text, SEC_TAG, strlen(SEC_TAG)) == 0);
	assert_true(text[n - 1] == '\n' && !memchr(text, '\n', n - 1));
	assert_int_equal(n, strlen(SEC_TAG) + 188 + 1);
}

/* An existing directory keeps its mode; a missing parent is an error and leaves nothing. */
static void test_generate_dirs(void **state)
{
	struct fixture *f = *state;
	char path[256], names[256];

	assert_int_equal(mkdir(f->dir, 0750), 0);
	gen(f);
	assert_int_equal(mode_of(f->dir), 0750);

	snprintf(path, sizeof(path), "%s/no/such", f->tmp);
	assert_int_equal(sign_generate_cost(path, PASS, PASS_LEN, 1, 8192), -ENOENT);
	write_text(f->file, "x");
	assert_int_equal(sign_generate_cost(f->file, PASS, PASS_LEN, 1, 8192), -ENOTDIR);

	/* Refused arguments: the directory is not even made. */
	snprintf(path, sizeof(path), "%s/new", f->tmp);
	assert_int_equal(sign_generate_cost(path, PASS, 0, 1, 8192), -EINVAL);
	assert_int_equal(sign_generate_cost(path, PASS, SIGN_MAX_PASSPHRASE + 1, 1, 8192), -EINVAL);
	assert_int_equal(sign_generate_cost(path, PASS, PASS_LEN, 0, 8192), -EINVAL);
	assert_int_equal(sign_generate_cost(path, PASS, PASS_LEN, 33, 8192), -EINVAL);
	assert_int_equal(sign_generate_cost(path, PASS, PASS_LEN, 1, 4096), -EINVAL);
	assert_int_equal(sign_generate_cost(path, PASS, PASS_LEN, 1, (1ull << 30) + 1), -EINVAL);
	list_dir(f->tmp, names, sizeof(names));
	assert_string_equal(names, "f keys");
}

/* The default cost is recorded in the file and the key loads with it. */
static void test_generate_default_cost(void **state)
{
	struct fixture *f = *state;
	uint8_t blob[BLOB_BYTES], sig[SIGN_BYTES];
	struct sign_key k;
	double t;

	t = now();
	assert_int_equal(sign_generate(f->dir, PASS, PASS_LEN), 0);
	print_message("# sign_generate (Argon2id ops=%u mem=%llu MiB): %.2f s\n",
	              (unsigned)SIGN_KDF_OPSLIMIT, (unsigned long long)(SIGN_KDF_MEMLIMIT >> 20),
	              now() - t);
	read_blob(f->key, blob);
	assert_int_equal(be32(blob + BLOB_OPS), crypto_pwhash_OPSLIMIT_MODERATE);
	assert_int_equal(be64(blob + BLOB_MEM), crypto_pwhash_MEMLIMIT_MODERATE);
	assert_int_equal(be32(blob + BLOB_OPS), SIGN_KDF_OPSLIMIT);
	assert_int_equal(be64(blob + BLOB_MEM), SIGN_KDF_MEMLIMIT);
	t = now();
	assert_int_equal(sign_load_secret(f->key, PASS, PASS_LEN, &k), 0);
	print_message("# sign_load_secret: %.2f s\n", now() - t);
	assert_int_equal(sign_message(&k, "m", 1, sig), 0);
	assert_int_equal(sign_check(&k, "m", 1, sig), 0);
	sign_key_free(&k);
}

/* The public key is the same whether read from fim.pub or from fim.key. */
static void test_load_public_both(void **state)
{
	struct fixture *f = *state;
	struct sign_key a, b, s;

	gen(f);
	assert_int_equal(sign_load_public(f->pub, &a), 0);
	assert_int_equal(sign_load_public(f->key, &b), 0);
	assert_null(a.sk);
	assert_null(b.sk);
	assert_memory_equal(a.pk, b.pk, SIGN_PUBLIC_BYTES);
	assert_memory_equal(a.id, b.id, SIGN_ID_BYTES);
	assert_int_equal(sign_load_secret(f->key, PASS, PASS_LEN, &s), 0);
	assert_non_null(s.sk);
	assert_memory_equal(a.pk, s.pk, SIGN_PUBLIC_BYTES);
	assert_memory_equal(a.id, s.id, SIGN_ID_BYTES);
	sign_key_free(&s);
	assert_null(s.sk);
	sign_key_free(&s); /* twice is harmless */
	sign_key_free(NULL);
	/* The id names the key: BLAKE2b-256 of the public key, first 8 bytes. */
	uint8_t h[32];
	crypto_generichash(h, sizeof(h), a.pk, SIGN_PUBLIC_BYTES, NULL, 0);
	assert_memory_equal(h, a.id, SIGN_ID_BYTES);
}

static void test_sign_verify(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "fim-baseline-v1\0digest";
	uint8_t sig[SIGN_BYTES], sig2[SIGN_BYTES];
	struct sign_key s, p, other, pub_only;
	char dir2[128], key2[160];

	gen(f);
	assert_int_equal(sign_load_secret(f->key, PASS, PASS_LEN, &s), 0);
	assert_int_equal(sign_load_public(f->pub, &p), 0);
	assert_int_equal(sign_message(&s, msg, sizeof(msg), sig), 0);
	assert_int_equal(sign_check(&p, msg, sizeof(msg), sig), 0);
	assert_int_equal(sign_check(&s, msg, sizeof(msg), sig), 0);
	/* Ed25519 is deterministic. */
	assert_int_equal(sign_message(&s, msg, sizeof(msg), sig2), 0);
	assert_memory_equal(sig, sig2, SIGN_BYTES);
	/* Another message, a changed signature, a changed message byte. */
	assert_int_equal(sign_check(&p, msg, sizeof(msg) - 1, sig), -EBADMSG);
	assert_int_equal(sign_check(&p, "other", 5, sig), -EBADMSG);
	for (size_t i = 0; i < SIGN_BYTES; i++) {
		memcpy(sig2, sig, SIGN_BYTES);
		sig2[i] ^= 0x01;
		assert_int_equal(sign_check(&p, msg, sizeof(msg), sig2), -EBADMSG);
	}
	/* Another key. */
	snprintf(dir2, sizeof(dir2), "%s/other", f->tmp);
	snprintf(key2, sizeof(key2), "%s/fim.key", dir2);
	assert_int_equal(sign_generate_cost(dir2, PASS, PASS_LEN, 1, 8192), 0);
	assert_int_equal(sign_load_secret(key2, PASS, PASS_LEN, &other), 0);
	assert_memory_not_equal(other.pk, p.pk, SIGN_PUBLIC_BYTES);
	assert_memory_not_equal(other.id, p.id, SIGN_ID_BYTES);
	assert_int_equal(sign_check(&other, msg, sizeof(msg), sig), -EBADMSG);
	assert_int_equal(sign_message(&other, msg, sizeof(msg), sig2), 0);
	assert_int_equal(sign_check(&p, msg, sizeof(msg), sig2), -EBADMSG);
	/* No secret, no signature. */
	assert_int_equal(sign_load_public(f->key, &pub_only), 0);
	assert_int_equal(sign_message(&pub_only, msg, sizeof(msg), sig2), -EINVAL);
	/* Empty message. */
	assert_int_equal(sign_message(&s, "", 0, sig2), 0);
	assert_int_equal(sign_check(&p, "", 0, sig2), 0);
	sign_key_free(&other);
	sign_key_free(&s);
}

static void test_wrong_passphrase(void **state)
{
	struct fixture *f = *state;
	struct sign_key k = {.sk = NULL};

	gen(f);
	assert_int_equal(sign_load_secret(f->key, "wrong", 5, &k), -EKEYREJECTED);
	assert_int_equal(sign_load_secret(f->key, PASS, PASS_LEN - 1, &k), -EKEYREJECTED);
	assert_int_equal(sign_load_secret(f->key, "", 0, &k), -EKEYREJECTED);
	assert_int_equal(sign_load_secret(f->key, PASS "x", PASS_LEN + 1, &k), -EKEYREJECTED);
	assert_null(k.sk); /* untouched on failure */
	assert_int_equal(sign_load_secret(f->key, PASS, SIGN_MAX_PASSPHRASE + 1, &k), -EINVAL);
	/* A public key file is not a secret key. */
	assert_int_equal(sign_load_secret(f->pub, PASS, PASS_LEN, &k), -EBADMSG);
}

/* Every byte of the sealed blob counts: header (associated data), salt, nonce,
 * public key, ciphertext and tag. */
static void test_flip_every_blob_byte(void **state)
{
	struct fixture *f = *state;
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	uint8_t blob[BLOB_BYTES], bad[BLOB_BYTES];
	struct sign_key k;
	int rejected = 0, malformed = 0;

	gen(f);
	read_blob(f->key, blob);
	for (size_t i = 0; i < BLOB_BYTES; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			int r;

			memcpy(bad, blob, BLOB_BYTES);
			bad[i] ^= masks[m];
			write_blob(f->file, bad);
			r = sign_load_secret(f->file, PASS, PASS_LEN, &k);
			if (r != -EKEYREJECTED && r != -EBADMSG)
				fail_msg("byte %zu ^ 0x%02x: %d", i, masks[m], r);
			rejected += r == -EKEYREJECTED;
			malformed += r == -EBADMSG;
			/* The public half is unauthenticated there, but still well-formed or
			 * refused. */
			r = sign_load_public(f->file, &k);
			if (r != 0 && r != -EBADMSG)
				fail_msg("public, byte %zu ^ 0x%02x: %d", i, masks[m], r);
			if (i < 8 && r != -EBADMSG)
				fail_msg("public, byte %zu ^ 0x%02x: accepted", i, masks[m]);
		}
	}
	assert_true(rejected > 0 && malformed > 0);
	/* The untouched blob, re-encoded, still opens. */
	write_blob(f->file, blob);
	assert_int_equal(sign_load_secret(f->file, PASS, PASS_LEN, &k), 0);
	sign_key_free(&k);
}

/* Every byte of the text file, changed: never accepted. */
static void test_flip_every_text_byte(void **state)
{
	struct fixture *f = *state;
	static const uint8_t masks[] = {0x01, 0x20, 0x80};
	char text[1024], bad[1024];
	struct sign_key k;
	size_t n;

	gen(f);
	n = read_file(f->key, text, sizeof(text));
	for (size_t i = 0; i + 1 < n; i++) { /* the final newline is optional */
		for (size_t m = 0; m < sizeof(masks); m++) {
			int r;

			memcpy(bad, text, n);
			bad[i] ^= (char)masks[m];
			write_file(f->file, bad, n);
			r = sign_load_secret(f->file, PASS, PASS_LEN, &k);
			if (r != -EKEYREJECTED && r != -EBADMSG)
				fail_msg("key text byte %zu ^ 0x%02x: %d", i, masks[m], r);
		}
	}
	n = read_file(f->pub, text, sizeof(text));
	for (size_t i = 0; i + 1 < n; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			int r;

			memcpy(bad, text, n);
			bad[i] ^= (char)masks[m];
			write_file(f->file, bad, n);
			r = sign_load_public(f->file, &k);
			if (r != -EBADMSG)
				fail_msg("pub text byte %zu ^ 0x%02x: %d", i, masks[m], r);
		}
	}
}

/* Blobs with a valid layout but parameters this version will not run. */
static void test_header_fields(void **state)
{
	struct fixture *f = *state;
	uint8_t blob[BLOB_BYTES], bad[BLOB_BYTES];
	struct sign_key k;
	struct {
		size_t off;
		uint8_t val;
	} cases[] = {
	        {4, 2},               /* version */
	        {5, 2},               /* kdf */
	        {6, 0},               /* aead */
	        {7, 1},               /* reserved */
	        {BLOB_OPS + 3, 0},    /* 0 passes */
	        {BLOB_OPS + 3, 33},   /* too many passes */
	        {BLOB_OPS, 1},        /* 2^24 passes */
	        {BLOB_MEM + 4, 0x40}, /* 2^30 + 8 KiB of memory */
	        {BLOB_MEM + 0, 0x80}, /* 2^63 */
	        {BLOB_MEM + 6, 0x00}, /* 8 KiB -> 0 */
	};

	gen(f);
	read_blob(f->key, blob);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, blob, BLOB_BYTES);
		bad[cases[i].off] = cases[i].val;
		write_blob(f->file, bad);
		assert_int_equal(sign_load_secret(f->file, PASS, PASS_LEN, &k), -EBADMSG);
		assert_int_equal(sign_load_public(f->file, &k), -EBADMSG);
	}
}

static void expect_malformed(struct fixture *f, const void *data, size_t n)
{
	struct sign_key k = {.sk = NULL};

	write_file(f->file, data, n);
	assert_int_equal(sign_load_public(f->file, &k), -EBADMSG);
	assert_int_equal(sign_load_secret(f->file, PASS, PASS_LEN, &k), -EBADMSG);
	assert_null(k.sk);
}

static void test_malformed_files(void **state)
{
	struct fixture *f = *state;
	char key[1024], pub[1024], buf[2048], *huge;
	size_t kn, pn;
	struct sign_key k;

	gen(f);
	kn = read_file(f->key, key, sizeof(key));
	pn = read_file(f->pub, pub, sizeof(pub));

	expect_malformed(f, "", 0);
	expect_malformed(f, "\n", 1);
	expect_malformed(f, "garbage\n", 8);
	expect_malformed(f, "\0\0\0\0", 4);
	expect_malformed(f, SEC_TAG, strlen(SEC_TAG));
	expect_malformed(f, PUB_TAG, strlen(PUB_TAG));
	expect_malformed(f, SEC_TAG "AAAA\n", strlen(SEC_TAG) + 5);
	expect_malformed(f, PUB_TAG "AAAA id=0000000000000000\n", strlen(PUB_TAG) + 25);
	/* Truncated anywhere. */
	for (size_t cut = 1; cut < kn - 1; cut += 7)
		expect_malformed(f, key, cut);
	for (size_t cut = 1; cut < pn - 1; cut += 5) {
		write_file(f->file, pub, cut);
		assert_int_equal(sign_load_public(f->file, &k), -EBADMSG);
	}
	/* A second line, a NUL, base64 without padding, a missing or wrong id, extra words. */
	snprintf(buf, sizeof(buf), "%s%s", key, key);
	expect_malformed(f, buf, strlen(buf));
	memcpy(buf, key, kn);
	buf[kn - 1] = '\0';
	expect_malformed(f, buf, kn);
	memcpy(buf, key, kn);
	assert_true(buf[kn - 2] == '=');
	expect_malformed(f, buf, kn - 2);
	memcpy(buf, pub, pn);
	memcpy(strstr(buf, " id="), "\n", 2);
	expect_malformed(f, buf, strlen(buf));
	memcpy(buf, pub, pn);
	buf[pn - 2] = buf[pn - 2] == '0' ? '1' : '0'; /* last hex digit of the id */
	expect_malformed(f, buf, pn);
	memcpy(buf, pub, pn + 1);
	for (char *c = strstr(buf, " id=") + 4; *c != '\n'; c++)
		*c = (char)toupper((unsigned char)*c);
	if (strcmp(buf, pub) != 0) /* upper-case hex: not the canonical id */
		expect_malformed(f, buf, pn);
	snprintf(buf, sizeof(buf), "%.*s extra\n", (int)(pn - 1), pub);
	expect_malformed(f, buf, strlen(buf));
	snprintf(buf, sizeof(buf), " %s", pub);
	expect_malformed(f, buf, strlen(buf));
	snprintf(buf, sizeof(buf), "%s", pub);
	*strstr(buf, " id=") = '\t';
	expect_malformed(f, buf, strlen(buf));
	/* Huge: refused however it starts. */
	huge = malloc(70 << 10);
	assert_non_null(huge);
	memset(huge, 'A', 70 << 10);
	memcpy(huge, key, kn - 1);
	expect_malformed(f, huge, 70 << 10);
	memset(huge, ' ', 70 << 10);
	memcpy(huge, key, kn); /* valid, then 70 KiB of trailing spaces */
	expect_malformed(f, huge, 70 << 10);
	free(huge);
	/* Random bytes after a valid tag: never a crash. */
	for (int i = 0; i < 2000; i++) {
		const char *tag = i & 1 ? SEC_TAG : PUB_TAG;
		size_t t = strlen(tag), n = t + randombytes_uniform(300);
		memcpy(buf, tag, t);
		randombytes_buf(buf + t, n - t);
		write_file(f->file, buf, n);
		int r = sign_load_public(f->file, &k);
		assert_true(r == -EBADMSG);
		r = sign_load_secret(f->file, PASS, PASS_LEN, &k);
		assert_true(r == -EBADMSG);
	}
	/* Not files, or none at all. */
	assert_int_equal(sign_load_public(f->tmp, &k), -EISDIR);
	assert_int_equal(sign_load_secret(f->tmp, PASS, PASS_LEN, &k), -EISDIR);
	snprintf(buf, sizeof(buf), "%s/fifo", f->tmp);
	assert_int_equal(mkfifo(buf, 0600), 0);
	assert_int_equal(sign_load_public(buf, &k), -EBADMSG);
	assert_int_equal(sign_load_public("/dev/null", &k), -EBADMSG);
	snprintf(buf, sizeof(buf), "%s/none", f->tmp);
	assert_int_equal(sign_load_public(buf, &k), -ENOENT);
	assert_int_equal(sign_load_secret(buf, PASS, PASS_LEN, &k), -ENOENT);
}

/* What copying and pasting does to a line: CRLF, no final newline, trailing blanks. */
static void test_pasted_files(void **state)
{
	struct fixture *f = *state;
	char key[1024], pub[1024], buf[2048];
	struct sign_key k;
	size_t kn, pn;

	gen(f);
	kn = read_file(f->key, key, sizeof(key));
	pn = read_file(f->pub, pub, sizeof(pub));
	snprintf(buf, sizeof(buf), "%.*s\r\n", (int)(kn - 1), key);
	write_text(f->file, buf);
	assert_int_equal(sign_load_secret(f->file, PASS, PASS_LEN, &k), 0);
	sign_key_free(&k);
	write_file(f->file, key, kn - 1);
	assert_int_equal(sign_load_secret(f->file, PASS, PASS_LEN, &k), 0);
	sign_key_free(&k);
	snprintf(buf, sizeof(buf), "%.*s  \n\n", (int)(pn - 1), pub);
	write_text(f->file, buf);
	assert_int_equal(sign_load_public(f->file, &k), 0);
}

static void test_no_overwrite(void **state)
{
	struct fixture *f = *state;
	char key[1024], pub[1024], key2[1024], pub2[1024], names[256];

	gen(f);
	read_file(f->key, key, sizeof(key));
	read_file(f->pub, pub, sizeof(pub));
	assert_int_equal(sign_generate_cost(f->dir, PASS, PASS_LEN, 1, 8192), -EEXIST);
	assert_int_equal(sign_generate_cost(f->dir, "other", 5, 1, 8192), -EEXIST);
	read_file(f->key, key2, sizeof(key2));
	read_file(f->pub, pub2, sizeof(pub2));
	assert_string_equal(key, key2);
	assert_string_equal(pub, pub2);
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "fim.key fim.pub");

	/* Either file alone is enough to refuse, and the other is not made. */
	assert_int_equal(unlink(f->key), 0);
	assert_int_equal(sign_generate_cost(f->dir, PASS, PASS_LEN, 1, 8192), -EEXIST);
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "fim.pub");
	assert_int_equal(unlink(f->pub), 0);
	write_text(f->key, "mine\n");
	assert_int_equal(sign_generate_cost(f->dir, PASS, PASS_LEN, 1, 8192), -EEXIST);
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "fim.key");
	read_file(f->key, key2, sizeof(key2));
	assert_string_equal(key2, "mine\n");
	/* Even a dangling symbolic link. */
	assert_int_equal(unlink(f->key), 0);
	assert_int_equal(symlink("/nonexistent/fim.key", f->key), 0);
	assert_int_equal(sign_generate_cost(f->dir, PASS, PASS_LEN, 1, 8192), -EEXIST);
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "fim.key");
	assert_int_equal(unlink(f->key), 0);
	gen(f);
}

static void expect_pass(const char *file, const char *want)
{
	char buf[SIGN_MAX_PASSPHRASE + 1];
	size_t n = 12345;

	assert_int_equal(cli_passphrase(file, false, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
}

static void expect_pass_err(const char *file, int err)
{
	char buf[SIGN_MAX_PASSPHRASE + 1];
	size_t n = 12345;

	assert_int_equal(cli_passphrase(file, true, buf, sizeof(buf), &n), err);
	assert_int_equal(n, 12345); /* untouched on failure */
}

static void test_passphrase_env(void **state)
{
	struct fixture *f = *state;
	char big[SIGN_MAX_PASSPHRASE + 2], buf[8];
	size_t n;

	setenv("FIM_PASSPHRASE", "from the environment", 1);
	expect_pass(NULL, "from the environment");
	write_text(f->file, "from a file\n");
	expect_pass(f->file, "from the environment"); /* the environment wins */
	setenv("FIM_PASSPHRASE", " spaces kept ", 1);
	expect_pass(NULL, " spaces kept ");
	setenv("FIM_PASSPHRASE", "", 1);
	expect_pass_err(NULL, -EINVAL); /* set but empty: not a fallback to the file */
	expect_pass_err(f->file, -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	setenv("FIM_PASSPHRASE", big, 1);
	expect_pass_err(NULL, -EMSGSIZE);
	big[SIGN_MAX_PASSPHRASE] = '\0';
	setenv("FIM_PASSPHRASE", big, 1);
	expect_pass(NULL, big);
	setenv("FIM_PASSPHRASE", "12345678", 1);
	assert_int_equal(cli_passphrase(NULL, false, buf, sizeof(buf), &n), -EMSGSIZE);
	setenv("FIM_PASSPHRASE", "1234567", 1);
	assert_int_equal(cli_passphrase(NULL, false, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(cli_passphrase(NULL, false, buf, 1, &n), -EINVAL);
}

static void test_passphrase_file(void **state)
{
	struct fixture *f = *state;
	char *big, path[160];
	int p[2];

	write_text(f->file, "first line\nsecond line\n");
	expect_pass(f->file, "first line");
	write_text(f->file, "windows\r\nsecond\r\n");
	expect_pass(f->file, "windows");
	write_text(f->file, "no newline");
	expect_pass(f->file, "no newline");
	write_text(f->file, "tab\tand trailing space \n");
	expect_pass(f->file, "tab\tand trailing space ");
	write_text(f->file, "");
	expect_pass_err(f->file, -EINVAL);
	write_text(f->file, "\nsecond\n");
	expect_pass_err(f->file, -EINVAL);
	write_text(f->file, "\r\n");
	expect_pass_err(f->file, -EINVAL);
	write_file(f->file, "a\0b\n", 4);
	expect_pass_err(f->file, -EINVAL);

	big = malloc(8192);
	assert_non_null(big);
	memset(big, 'x', 8192);
	big[SIGN_MAX_PASSPHRASE] = '\n';
	write_file(f->file, big, 4096); /* 4 KiB is the most a file may have */
	big[SIGN_MAX_PASSPHRASE] = '\0';
	expect_pass(f->file, big);
	big[SIGN_MAX_PASSPHRASE] = 'x';
	big[SIGN_MAX_PASSPHRASE + 1] = '\n';
	write_file(f->file, big, 4096);
	expect_pass_err(f->file, -EMSGSIZE);
	big[10] = '\n';
	write_file(f->file, big, 4097);
	expect_pass_err(f->file, -EFBIG);
	free(big);

	snprintf(path, sizeof(path), "%s/none", f->tmp);
	expect_pass_err(path, -ENOENT);
	expect_pass_err(f->tmp, -EISDIR);

	/* A pipe, as with --passphrase-file <(pass show fim). */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "piped\nrest", 10), 10);
	close(p[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
	expect_pass(path, "piped");
	close(p[0]);
}

static void test_passphrase_no_tty(void **state)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd >= 0) {
		close(fd);
		print_message("# a controlling terminal exists: -ENOTTY not testable here\n");
		skip();
	}
	expect_pass_err(NULL, -ENOTTY);
}

/* Reads the pty master until WANT has been seen (or 60 s: a ceiling for a busy
 * machine, not a delay); returns all output. */
static void pty_expect(int master, const char *want, char *out, size_t size, size_t *len)
{
	double end = now() + 60;

	while (!memmem(out, *len, want, strlen(want))) {
		struct pollfd pfd = {.fd = master, .events = POLLIN};
		ssize_t n;

		if (now() > end)
			fail_msg("no '%s' on the terminal; saw '%.*s'", want, (int)*len, out);
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(master, out + *len, size - *len - 1);
		if (n <= 0)
			fail_msg("terminal closed before '%s'; saw '%.*s'", want, (int)*len, out);
		*len += (size_t)n;
	}
	out[*len] = '\0';
}

struct tty_result {
	int r;
	int echo_restored;
	size_t len;
	char pass[64];
};

/*
 * Runs cli_passphrase(NULL, CONFIRM) in a child whose controlling terminal
 * is a new pty, typing ANSWERS (one per prompt). Returns what the child got
 * and puts everything the terminal showed in SHOWN.
 */
static struct tty_result tty_run(bool confirm, const char *const *answers, size_t nanswers,
                                 char *shown, size_t size)
{
	struct tty_result res = {0};
	size_t len = 0;
	int p[2], master, status;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = forkpty(&master, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		struct termios t;
		char buf[sizeof(res.pass)];
		size_t n = 0;

		close(p[0]);
		unsetenv("FIM_PASSPHRASE");
		res.r = cli_passphrase(NULL, confirm, buf, sizeof(buf), &n);
		res.echo_restored = tcgetattr(STDIN_FILENO, &t) == 0 && (t.c_lflag & ECHO);
		res.len = n;
		if (res.r == 0)
			memcpy(res.pass, buf, sizeof(res.pass));
		if (write(p[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	shown[0] = '\0';
	for (size_t i = 0; i < nanswers; i++) {
		struct termios t;

		pty_expect(master, i ? "fim: passphrase again: " : "fim: passphrase: ", shown, size,
		           &len);
		/* While the prompt is up, the terminal does not echo. */
		assert_int_equal(tcgetattr(master, &t), 0);
		assert_false(t.c_lflag & ECHO);
		assert_int_equal(write(master, answers[i], strlen(answers[i])), strlen(answers[i]));
		assert_int_equal(write(master, "\n", 1), 1);
	}
	assert_int_equal(read(p[0], &res, sizeof(res)), sizeof(res));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Drain what is left to see. */
	for (;;) {
		struct pollfd pfd = {.fd = master, .events = POLLIN};
		ssize_t n;
		if (poll(&pfd, 1, 100) <= 0)
			break;
		n = read(master, shown + len, size - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	shown[len] = '\0';
	close(master);
	close(p[0]);
	return res;
}

static void test_passphrase_tty(void **state)
{
	static const char *const same[] = {"hunter2 typed", "hunter2 typed"};
	static const char *const differ[] = {"hunter2 typed", "hunter3 typed"};
	static const char *const empty[] = {""};
	char shown[4096];
	struct tty_result res;

	res = tty_run(false, same, 1, shown, sizeof(shown));
	assert_int_equal(res.r, 0);
	assert_int_equal(res.len, 13);
	assert_string_equal(res.pass, "hunter2 typed");
	assert_true(res.echo_restored);
	assert_null(strstr(shown, "hunter2"));
	assert_null(strstr(shown, "again"));

	res = tty_run(true, same, 2, shown, sizeof(shown));
	assert_int_equal(res.r, 0);
	assert_string_equal(res.pass, "hunter2 typed");
	assert_true(res.echo_restored);
	assert_null(strstr(shown, "hunter"));
	assert_non_null(strstr(shown, "fim: passphrase again: "));

	res = tty_run(true, differ, 2, shown, sizeof(shown));
	assert_int_equal(res.r, -EINVAL);
	assert_int_equal(res.len, 0);
	assert_true(res.echo_restored);

	res = tty_run(true, empty, 1, shown, sizeof(shown)); /* not asked twice */
	assert_int_equal(res.r, -EINVAL);
	assert_true(res.echo_restored);
}

/* A signal at the prompt: the terminal gets its echo back before fim dies of it. */
static void test_passphrase_tty_signal(void **state)
{
	char shown[1024], name[128];
	size_t len = 0;
	struct termios t;
	int master, slave, status;
	pid_t pid;

	pid = forkpty(&master, name, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[64];
		size_t n;

		unsetenv("FIM_PASSPHRASE");
		cli_passphrase(NULL, false, buf, sizeof(buf), &n);
		_exit(0);
	}
	/* Keep the terminal alive after the child is gone, to look at it. */
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(slave >= 0);
	pty_expect(master, "fim: passphrase: ", shown, sizeof(shown), &len);
	assert_int_equal(tcgetattr(slave, &t), 0);
	assert_false(t.c_lflag & ECHO);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_int_equal(tcgetattr(slave, &t), 0);
	assert_true(t.c_lflag & ECHO);
	close(slave);
	close(master);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_generate_files),        T(test_generate_dirs),
	        T(test_generate_default_cost), T(test_load_public_both),
	        T(test_sign_verify),           T(test_wrong_passphrase),
	        T(test_flip_every_blob_byte),  T(test_flip_every_text_byte),
	        T(test_header_fields),         T(test_malformed_files),
	        T(test_pasted_files),          T(test_no_overwrite),
	        T(test_passphrase_env),        T(test_passphrase_file),
	        T(test_passphrase_no_tty),     T(test_passphrase_tty),
	        T(test_passphrase_tty_signal),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
