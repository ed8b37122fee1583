/* SPDX-License-Identifier: ISC */
/* Signing keys: Ed25519 pairs in one-line text files, the secret sealed under a passphrase. */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fim/core/common.h"
#include "fim/core/endian.h"
#include "fim/trust/sign.h"

/*
 * fim.pub:  "fim-ed25519-public <base64 pk> id=<hex id>\n"
 * fim.key:  "fim-ed25519-secret-v1 <base64 sealed>\n"
 *
 * The sealed blob (integers big-endian, like everything fim writes):
 *   "fimS" | version 1 | kdf 1 (Argon2id v1.3) | aead 1 (XChaCha20-Poly1305
 *   IETF) | 0 | opslimit u32 | memlimit u64 (bytes) | salt | nonce | pk |
 *   AEAD(32-byte Ed25519 seed)
 * with everything before the ciphertext as associated data, so a changed
 * byte anywhere makes the unsealing fail. The seed is sealed rather than
 * the 64-byte secret: the public key is recomputed from it and compared.
 */
#define PUB_TAG "fim-ed25519-public "
#define SEC_TAG "fim-ed25519-secret-v1 "
#define ID_TAG  " id="

#define KEY_FILE_MAX (64u << 10)

/* What a key file may ask Argon2id for: the cost is the file's, so it is
 * bounded (a damaged or hostile file must not take minutes or all RAM). */
#define KDF_OPS_MIN crypto_pwhash_OPSLIMIT_MIN
#define KDF_OPS_MAX 32u
#define KDF_MEM_MIN crypto_pwhash_MEMLIMIT_MIN
#define KDF_MEM_MAX (1ull << 30)

#define SEED_BYTES crypto_sign_SEEDBYTES
#define AEAD_KEY   crypto_aead_xchacha20poly1305_ietf_KEYBYTES

enum {
	BLOB_MAGIC = 0,
	BLOB_VERSION = 4,
	BLOB_KDF = 5,
	BLOB_AEAD = 6,
	BLOB_RESERVED = 7,
	BLOB_OPS = 8,
	BLOB_MEM = 12,
	BLOB_SALT = 20,
	BLOB_NONCE = BLOB_SALT + crypto_pwhash_SALTBYTES,
	BLOB_PK = BLOB_NONCE + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	BLOB_HEADER = BLOB_PK + SIGN_PUBLIC_BYTES,
	BLOB_BYTES = BLOB_HEADER + SEED_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES,
};

static const uint8_t blob_magic[4] = {'f', 'i', 'm', 'S'};

_Static_assert(SIGN_PUBLIC_BYTES == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(SIGN_SECRET_BYTES == crypto_sign_SECRETKEYBYTES, "secret key size");
_Static_assert(SIGN_BYTES == crypto_sign_BYTES, "signature size");
_Static_assert(SIGN_KDF_OPSLIMIT >= KDF_OPS_MIN && SIGN_KDF_OPSLIMIT <= KDF_OPS_MAX, "kdf ops");
_Static_assert(SIGN_KDF_MEMLIMIT >= KDF_MEM_MIN && SIGN_KDF_MEMLIMIT <= KDF_MEM_MAX, "kdf mem");

int sign_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

static void key_id(const uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t id[SIGN_ID_BYTES])
{
	uint8_t h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), pk, SIGN_PUBLIC_BYTES, NULL, 0);
	memcpy(id, h, SIGN_ID_BYTES);
}

static bool kdf_cost_ok(uint64_t ops, uint64_t mem)
{
	return ops >= KDF_OPS_MIN && ops <= KDF_OPS_MAX && mem >= KDF_MEM_MIN && mem <= KDF_MEM_MAX;
}

/* Is B the header of a blob this version can unseal? (Says nothing of its integrity.) */
static bool blob_header_ok(const uint8_t *b)
{
	return memcmp(b + BLOB_MAGIC, blob_magic, sizeof(blob_magic)) == 0 &&
	       b[BLOB_VERSION] == 1 && b[BLOB_KDF] == 1 && b[BLOB_AEAD] == 1 &&
	       b[BLOB_RESERVED] == 0 && kdf_cost_ok(get_be32(b + BLOB_OPS), get_be64(b + BLOB_MEM));
}

/* The sealing key for blob header B and PASS, in sodium memory (*ret, freed by the
 * caller with sodium_free). Returns 0 or -ENOMEM (Argon2id's only failure). */
static int kdf(const uint8_t *b, const char *pass, size_t plen, uint8_t **ret)
{
	uint8_t *key = sodium_malloc(AEAD_KEY);

	if (!key)
		return -ENOMEM;
	if (crypto_pwhash(key, AEAD_KEY, pass, plen, b + BLOB_SALT, get_be32(b + BLOB_OPS),
	                  (size_t)get_be64(b + BLOB_MEM), crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_free(key);
		return -ENOMEM;
	}
	*ret = key;
	return 0;
}

/* Makes a new pair: BLOB gets its public key in the header and its seed sealed under PASS. */
static int seal_new(const char *pass, size_t plen, uint32_t ops, uint64_t mem,
                    uint8_t blob[BLOB_BYTES])
{
	uint8_t *seed = sodium_malloc(SEED_BYTES), *sk = sodium_malloc(SIGN_SECRET_BYTES);
	uint8_t *key = NULL;
	unsigned long long clen;
	int r = -ENOMEM;

	if (!seed || !sk)
		goto out;
	randombytes_buf(seed, SEED_BYTES);
	if (crypto_sign_seed_keypair(blob + BLOB_PK, sk, seed) != 0) {
		r = -EIO;
		goto out;
	}
	memcpy(blob + BLOB_MAGIC, blob_magic, sizeof(blob_magic));
	blob[BLOB_VERSION] = 1;
	blob[BLOB_KDF] = 1;
	blob[BLOB_AEAD] = 1;
	blob[BLOB_RESERVED] = 0;
	put_be32(blob + BLOB_OPS, ops);
	put_be64(blob + BLOB_MEM, mem);
	randombytes_buf(blob + BLOB_SALT, crypto_pwhash_SALTBYTES);
	randombytes_buf(blob + BLOB_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	r = kdf(blob, pass, plen, &key);
	if (r < 0)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_encrypt(blob + BLOB_HEADER, &clen, seed, SEED_BYTES,
	                                           blob, BLOB_HEADER, NULL, blob + BLOB_NONCE, key);
	r = clen == BLOB_BYTES - BLOB_HEADER ? 0 : -EIO;
out:
	sodium_free(key);
	sodium_free(sk);
	sodium_free(seed);
	return r;
}

static int fsync_close(int fd)
{
	int r = fsync(fd) < 0 ? -errno : 0;

	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* Writes TEXT to a new temporary file of DFD with MODE (whatever the umask);
 * its name goes to NAME (NAME_SIZE bytes), or "" when none was made. */
static int write_temp(int dfd, const char *text, mode_t mode, char *name, size_t name_size)
{
	uint8_t rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	size_t n = strlen(text), done = 0;
	int fd, r = 0;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(name, name_size, ".fim-key.%s.tmp", hex);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		name[0] = '\0';
		return -errno;
	}
	if (fchmod(fd, mode) < 0)
		r = -errno;
	while (r == 0 && done < n) {
		ssize_t w = write(fd, text + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			r = -errno;
		else if (w == 0)
			r = -EIO;
		else
			done += (size_t)w;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return fsync_close(fd);
}

/* Moves DFD/TMP to DFD/NAME unless NAME exists (-EEXIST). On success TMP is gone. */
static int place(int dfd, const char *tmp, const char *name)
{
	if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	/* A file system without RENAME_NOREPLACE: a hard link never replaces either. */
	if (linkat(dfd, tmp, dfd, name, 0) < 0)
		return -errno;
	unlinkat(dfd, tmp, 0);
	return 0;
}

static bool exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

/* Puts PUB and SEC in DIR as fim.pub and fim.key, both or neither. */
static int install(const char *dir, const char *pub, const char *sec)
{
	char tmp_key[64] = "", tmp_pub[64] = "";
	bool made = false, key_placed = false, pub_placed = false;
	int dfd = -1, r;

	if (mkdir(dir, 0700) == 0)
		made = true;
	else if (errno != EEXIST)
		return -errno;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		goto fail;
	}
	if (exists_at(dfd, "fim.key") || exists_at(dfd, "fim.pub")) {
		r = -EEXIST;
		goto fail;
	}
	r = write_temp(dfd, sec, 0600, tmp_key, sizeof(tmp_key));
	if (r < 0)
		goto fail;
	r = write_temp(dfd, pub, 0644, tmp_pub, sizeof(tmp_pub));
	if (r < 0)
		goto fail;
	r = place(dfd, tmp_key, "fim.key");
	if (r < 0)
		goto fail;
	key_placed = true;
	tmp_key[0] = '\0';
	r = place(dfd, tmp_pub, "fim.pub");
	if (r < 0)
		goto fail;
	pub_placed = true;
	tmp_pub[0] = '\0';
	if (fsync(dfd) < 0) {
		r = -errno;
		goto fail;
	}
	close(dfd);
	return 0;
fail:
	if (dfd >= 0) {
		if (tmp_key[0])
			unlinkat(dfd, tmp_key, 0);
		if (tmp_pub[0])
			unlinkat(dfd, tmp_pub, 0);
		if (key_placed)
			unlinkat(dfd, "fim.key", 0);
		if (pub_placed)
			unlinkat(dfd, "fim.pub", 0);
		close(dfd);
	}
	if (made)
		rmdir(dir);
	return r;
}

int sign_generate_cost(const char *dir, const char *pass, size_t plen, uint32_t ops, uint64_t mem)
{
	uint8_t blob[BLOB_BYTES], id[SIGN_ID_BYTES];
	char b64[sodium_base64_ENCODED_LEN(BLOB_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char pk64[sodium_base64_ENCODED_LEN(SIGN_PUBLIC_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char idhex[2 * SIGN_ID_BYTES + 1];
	char pub[sizeof(PUB_TAG) + sizeof(pk64) + sizeof(ID_TAG) + sizeof(idhex) + 1];
	char sec[sizeof(SEC_TAG) + sizeof(b64) + 1];
	int r;

	if (!pass || plen == 0 || plen > SIGN_MAX_PASSPHRASE || !kdf_cost_ok(ops, mem))
		return -EINVAL;
	r = sign_init();
	if (r < 0)
		return r;
	r = seal_new(pass, plen, ops, mem, blob);
	if (r < 0)
		return r;
	key_id(blob + BLOB_PK, id);
	sodium_bin2base64(b64, sizeof(b64), blob, BLOB_BYTES, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(pk64, sizeof(pk64), blob + BLOB_PK, SIGN_PUBLIC_BYTES,
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2hex(idhex, sizeof(idhex), id, sizeof(id));
	snprintf(pub, sizeof(pub), "%s%s%s%s\n", PUB_TAG, pk64, ID_TAG, idhex);
	snprintf(sec, sizeof(sec), "%s%s\n", SEC_TAG, b64);
	return install(dir, pub, sec);
}

int sign_generate(const char *dir, const char *pass, size_t plen)
{
	return sign_generate_cost(dir, pass, plen, SIGN_KDF_OPSLIMIT, SIGN_KDF_MEMLIMIT);
}

/* Reads the key file PATH into a new NUL-terminated buffer (*ret, freed by the
 * caller) with trailing white space cut; it must be one line of text. */
static int read_key_file(const char *path, char **ret)
{
	struct stat st;
	size_t n = 0;
	char *buf;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)KEY_FILE_MAX) {
		r = -EBADMSG;
		goto out_close;
	}
	buf = malloc(KEY_FILE_MAX + 2);
	if (!buf) {
		r = -ENOMEM;
		goto out_close;
	}
	while (n <= KEY_FILE_MAX) {
		ssize_t k = read(fd, buf + n, KEY_FILE_MAX + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (r == 0 && (n > KEY_FILE_MAX || memchr(buf, '\0', n)))
		r = -EBADMSG;
	while (r == 0 && n > 0 && strchr(" \t\r\n", buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (r == 0 && strpbrk(buf, "\r\n"))
		r = -EBADMSG;
	if (r < 0)
		free(buf);
	else
		*ret = buf;
out_close:
	close(fd);
	return r;
}

/* Decodes S[0..n) into exactly WANT bytes (at most BLOB_BYTES). Only the
 * canonical text is accepted: libsodium 1.0.18 decodes some bytes outside
 * the alphabet, so the result is encoded again and compared. */
static int b64_exact(const char *s, size_t n, uint8_t *out, size_t want)
{
	char again[sodium_base64_ENCODED_LEN(BLOB_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	const char *end;
	size_t len;

	if (want > BLOB_BYTES ||
	    sodium_base642bin(out, want, s, n, NULL, &len, &end, sodium_base64_VARIANT_ORIGINAL) !=
	            0 ||
	    end != s + n || len != want)
		return -EBADMSG;
	sodium_bin2base64(again, sizeof(again), out, want, sodium_base64_VARIANT_ORIGINAL);
	return strlen(again) == n && memcmp(again, s, n) == 0 ? 0 : -EBADMSG;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The public key of line L of a fim.pub; the id must be its own, in lower-case hex. */
static int parse_public(const char *l, struct sign_key *k)
{
	const char *p = l + strlen(PUB_TAG), *sp = strchr(p, ' ');
	char id[2 * SIGN_ID_BYTES + 1];

	if (!sp || b64_exact(p, (size_t)(sp - p), k->pk, SIGN_PUBLIC_BYTES) < 0)
		return -EBADMSG;
	if (!starts(sp, ID_TAG))
		return -EBADMSG;
	key_id(k->pk, k->id);
	sign_id_hex(k, id);
	return strcmp(sp + strlen(ID_TAG), id) == 0 ? 0 : -EBADMSG;
}

/* The sealed blob of line L of a fim.key (header checked, not authenticated). */
static int parse_secret(const char *l, uint8_t blob[BLOB_BYTES])
{
	const char *p = l + strlen(SEC_TAG);

	if (b64_exact(p, strlen(p), blob, BLOB_BYTES) < 0 || !blob_header_ok(blob))
		return -EBADMSG;
	return 0;
}

int sign_load_public(const char *path, struct sign_key *ret)
{
	struct sign_key k = {0};
	uint8_t blob[BLOB_BYTES];
	char *line = NULL;
	int r = sign_init();

	if (r < 0)
		return r;
	r = read_key_file(path, &line);
	if (r < 0)
		return r;
	if (starts(line, PUB_TAG)) {
		r = parse_public(line, &k);
	} else if (starts(line, SEC_TAG)) {
		r = parse_secret(line, blob);
		if (r == 0) {
			memcpy(k.pk, blob + BLOB_PK, SIGN_PUBLIC_BYTES);
			key_id(k.pk, k.id);
		}
	} else {
		r = -EBADMSG;
	}
	free(line);
	if (r == 0)
		*ret = k;
	return r;
}

int sign_load_secret(const char *path, const char *pass, size_t plen, struct sign_key *ret)
{
	uint8_t blob[BLOB_BYTES], pk[SIGN_PUBLIC_BYTES];
	uint8_t *key = NULL, *seed = NULL, *sk = NULL;
	unsigned long long mlen;
	char *line = NULL;
	int r;

	if (!pass || plen > SIGN_MAX_PASSPHRASE)
		return -EINVAL;
	r = sign_init();
	if (r < 0)
		return r;
	r = read_key_file(path, &line);
	if (r < 0)
		return r;
	r = starts(line, SEC_TAG) ? parse_secret(line, blob) : -EBADMSG;
	free(line);
	if (r < 0)
		return r;
	r = kdf(blob, pass, plen, &key);
	if (r < 0)
		return r;
	seed = sodium_malloc(SEED_BYTES);
	sk = sodium_malloc(SIGN_SECRET_BYTES);
	if (!seed || !sk) {
		r = -ENOMEM;
		goto fail;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(seed, &mlen, NULL, blob + BLOB_HEADER,
	                                               BLOB_BYTES - BLOB_HEADER, blob, BLOB_HEADER,
	                                               blob + BLOB_NONCE, key) != 0 ||
	    mlen != SEED_BYTES) {
		r = -EKEYREJECTED;
		goto fail;
	}
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0 ||
	    memcmp(pk, blob + BLOB_PK, SIGN_PUBLIC_BYTES) != 0) {
		r = -EKEYREJECTED;
		goto fail;
	}
	sodium_free(seed);
	sodium_free(key);
	sodium_mprotect_readonly(sk);
	*ret = (struct sign_key){.sk = sk};
	memcpy(ret->pk, pk, SIGN_PUBLIC_BYTES);
	key_id(pk, ret->id);
	return 0;
fail:
	sodium_free(sk);
	sodium_free(seed);
	sodium_free(key);
	return r;
}

void sign_key_free(struct sign_key *k)
{
	if (!k)
		return;
	sodium_free(k->sk); /* wipes it */
	k->sk = NULL;
}

int sign_message(const struct sign_key *k, const void *msg, size_t n, uint8_t sig[SIGN_BYTES])
{
	int r;

	if (!k || !k->sk)
		return -EINVAL;
	r = sign_init();
	if (r < 0)
		return r;
	return crypto_sign_detached(sig, NULL, msg, n, k->sk) == 0 ? 0 : -EIO;
}

int sign_check(const struct sign_key *k, const void *msg, size_t n, const uint8_t sig[SIGN_BYTES])
{
	if (sign_init() < 0)
		return -EIO;
	return crypto_sign_verify_detached(sig, msg, n, k->pk) == 0 ? 0 : -EBADMSG;
}

void sign_id_hex(const struct sign_key *k, char out[2 * SIGN_ID_BYTES + 1])
{
	sodium_bin2hex(out, 2 * SIGN_ID_BYTES + 1, k->id, SIGN_ID_BYTES);
}
