/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/core/hash.c: known vectors, streaming, peeking mid-stream. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fim/core/hash.h"

static const struct {
	enum hash_algo algo;
	const char *in, *hex;
} vectors[] = {
        {HASH_SHA256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {HASH_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {HASH_SHA512, "",
         "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
         "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
        {HASH_SHA512, "abc",
         "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
         "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
        {HASH_BLAKE2B, "",
         "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
         "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"},
        {HASH_BLAKE2B, "abc",
         "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
         "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"},
};

static void to_hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_names(void **state)
{
	assert_int_equal(hash_lookup("sha256"), HASH_SHA256);
	assert_int_equal(hash_lookup("sha512"), HASH_SHA512);
	assert_int_equal(hash_lookup("blake2b"), HASH_BLAKE2B);
	assert_int_equal(hash_lookup("md5"), HASH_NONE);
	assert_int_equal(hash_lookup(""), HASH_NONE);
	assert_string_equal(hash_name(HASH_SHA256), "sha256");
	assert_string_equal(hash_name(HASH_SHA512), "sha512");
	assert_string_equal(hash_name(HASH_BLAKE2B), "blake2b");
	assert_null(hash_name((enum hash_algo)99));
	assert_int_equal(hash_len(HASH_SHA256), 32);
	assert_int_equal(hash_len(HASH_SHA512), 64);
	assert_int_equal(hash_len(HASH_BLAKE2B), 64);
	assert_int_equal(hash_len(HASH_NONE), 0);
	assert_int_equal(hash_len((enum hash_algo)99), 0);
	assert_null(hash_new(HASH_NONE));
}

static void test_vectors_buffer(void **state)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t d[HASH_MAX_DIGEST];
		char hex[2 * HASH_MAX_DIGEST + 1];

		assert_int_equal(
		        hash_buffer(vectors[i].algo, vectors[i].in, strlen(vectors[i].in), d), 0);
		to_hex(d, hash_len(vectors[i].algo), hex);
		assert_string_equal(hex, vectors[i].hex);
	}
	assert_int_equal(hash_buffer(HASH_NONE, "x", 1, (uint8_t[HASH_MAX_DIGEST]){0}), -EINVAL);
}

/* The same vectors fed one byte at a time through a reused context. */
static void test_vectors_stream(void **state)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct hash_ctx *h = hash_new(vectors[i].algo);
		uint8_t d[HASH_MAX_DIGEST];
		char hex[2 * HASH_MAX_DIGEST + 1];

		assert_non_null(h);
		/* Garbage before a restart must not count. */
		assert_int_equal(hash_update(h, "garbage", 7), 0);
		assert_int_equal(hash_init(h), 0);
		for (const char *p = vectors[i].in; *p; p++)
			assert_int_equal(hash_update(h, p, 1), 0);
		assert_int_equal(hash_update(h, NULL, 0), 0);
		assert_int_equal(hash_final(h, d), 0);
		to_hex(d, hash_len(vectors[i].algo), hex);
		assert_string_equal(hex, vectors[i].hex);
		hash_free(h);
	}
	hash_free(NULL);
}

/* Peeking gives the digest of the prefix and leaves the stream going. */
static void test_peek(void **state)
{
	static const enum hash_algo algos[] = {HASH_SHA256, HASH_SHA512, HASH_BLAKE2B};
	uint8_t data[10000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (size_t a = 0; a < 3; a++) {
		struct hash_ctx *h = hash_new(algos[a]);
		uint8_t peek[HASH_MAX_DIGEST], want[HASH_MAX_DIGEST], fin[HASH_MAX_DIGEST];
		size_t n = hash_len(algos[a]);

		assert_non_null(h);
		assert_int_equal(hash_update(h, data, 4097), 0);
		assert_int_equal(hash_peek(h, peek), 0);
		assert_int_equal(hash_buffer(algos[a], data, 4097, want), 0);
		assert_memory_equal(peek, want, n);
		/* A second peek with nothing added agrees with the first. */
		assert_int_equal(hash_peek(h, peek), 0);
		assert_memory_equal(peek, want, n);

		assert_int_equal(hash_update(h, data + 4097, sizeof(data) - 4097), 0);
		assert_int_equal(hash_final(h, fin), 0);
		assert_int_equal(hash_buffer(algos[a], data, sizeof(data), want), 0);
		assert_memory_equal(fin, want, n);
		hash_free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_vectors_buffer),
	        cmocka_unit_test(test_vectors_stream),
	        cmocka_unit_test(test_peek),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
