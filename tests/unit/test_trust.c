/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/trust/trust.c: a signed baseline verifies with its key and nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fim/trust/trust.h"
#include "tests/unit/fixture.h"

#define PASS     "correct horse"
#define PASS_LEN (sizeof(PASS) - 1)

struct fixture {
	char tmp[256];
	char db[300];         /* TMP/db */
	char policy[300];     /* TMP/p.policy: /etc CONTENT */
	char other[300];      /* TMP/q.policy: another meaning */
	struct sign_key a, b; /* secret halves loaded */
	struct policy *p, *q;
};

static void keypair(struct fixture *f, const char *name, struct sign_key *k)
{
	char dir[320], path[340];

	snprintf(dir, sizeof(dir), "%s/%s", f->tmp, name);
	assert_int_equal(sign_generate_cost(dir, PASS, PASS_LEN, 1, 8192), 0);
	snprintf(path, sizeof(path), "%s/fim.key", dir);
	assert_int_equal(sign_load_secret(path, PASS, PASS_LEN, k), 0);
}

static struct policy *load(const char *path, const char *text)
{
	struct policy_error err = {0};
	struct policy *p = NULL;

	assert_true(fx_put("/", path, text));
	assert_int_equal(policy_load(path, &p, &err), 0);
	return p;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !fx_tmpdir(f->tmp, sizeof(f->tmp), "trust"))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/db", f->tmp);
	snprintf(f->policy, sizeof(f->policy), "%s/p.policy", f->tmp);
	snprintf(f->other, sizeof(f->other), "%s/q.policy", f->tmp);
	keypair(f, "a", &f->a);
	keypair(f, "b", &f->b);
	f->p = load(f->policy, "/etc type mode size hash\n");
	f->q = load(f->other, "/etc type mode\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sign_key_free(&f->a);
	sign_key_free(&f->b);
	policy_free(f->p);
	policy_free(f->q);
	fx_rmtree(f->tmp);
	free(f);
	return 0;
}

static void put(struct store_writer *w, uint64_t parent, const char *name,
                const struct file_rec *rec)
{
	assert_int_equal(store_writer_put(w, parent, name, strlen(name), rec), 0);
}

static struct file_rec dir_rec(uint64_t id)
{
	return (struct file_rec){
	        .attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE),
	        .flags = REC_IN_SCOPE,
	        .type = FT_DIR,
	        .mode = 0755,
	        .dirid = id,
	};
}

static struct file_rec reg_rec(uint64_t size)
{
	return (struct file_rec){
	        .attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_MODE) | ATTR_BIT(ATTR_SIZE),
	        .flags = REC_IN_SCOPE,
	        .type = FT_REG,
	        .mode = 0644,
	        .size = size,
	};
}

enum { UNSIGNED, SIGNED, CHANGED_AFTER_SIGNING };

/*
 * A baseline of /, /etc and /etc/passwd taken with F's policy P, signed
 * with K as `fim baseline --sign-key` signs (HOW = SIGNED), left unsigned,
 * or with /etc/shadow added after the signature was made.
 */
static void write_baseline(struct fixture *f, const struct sign_key *k, int how)
{
	struct store_writer *w;
	struct file_rec r;
	uint64_t root, etc;

	assert_int_equal(store_writer_new(f->db, &w), 0);
	root = store_writer_new_node(w);
	r = dir_rec(root);
	put(w, 0, "", &r);
	etc = store_writer_new_node(w);
	r = dir_rec(etc);
	put(w, root, "etc", &r);
	r = reg_rec(1000);
	put(w, etc, "passwd", &r);
	assert_int_equal(store_writer_meta(w, META_POLICY_DIGEST, policy_digest(f->p), 32), 0);
	if (how != UNSIGNED)
		assert_int_equal(trust_sign(w, k), 0);
	if (how == CHANGED_AFTER_SIGNING) {
		r = reg_rec(1);
		put(w, etc, "shadow", &r);
	}
	assert_int_equal(store_writer_commit(w), 0);
}

/* Flips the low bit of byte AT of DB/current/NAME (from the end when AT < 0). */
static void flip(struct fixture *f, const char *name, long at)
{
	char path[400];
	struct stat st;
	uint8_t c;
	int fd;

	snprintf(path, sizeof(path), "%s/current/%s", f->db, name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	if (at < 0)
		at += st.st_size;
	assert_true(at >= 0 && at < st.st_size);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 1;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	assert_int_equal(close(fd), 0);
}

static struct store *open_plain(struct fixture *f)
{
	struct store *s = NULL;

	assert_int_equal(store_open(f->db, &s), 0);
	return s;
}

static void test_signed_verifies_with_its_key(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;
	char signer[2 * SIGN_ID_BYTES + 1], want[2 * SIGN_ID_BYTES + 1];

	write_baseline(f, &f->a, SIGNED);
	assert_int_equal(trust_store_open(f->db, &f->a, &s, &e), 0);
	assert_non_null(s);
	assert_int_equal(trust_check_sig(&f->a, f->p, s, signer, sizeof(signer), &e), 0);
	assert_int_equal(e.code, 0);
	assert_string_equal(e.msg, "");
	sign_id_hex(&f->a, want);
	assert_string_equal(signer, want);
	/* the policy is optional */
	assert_int_equal(trust_check_sig(&f->a, NULL, s, NULL, 0, &e), 0);
	store_close(s);
}

static void test_public_half_verifies(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct sign_key pub;
	struct store *s = NULL;
	char path[400];

	write_baseline(f, &f->a, SIGNED);
	snprintf(path, sizeof(path), "%s/a/fim.pub", f->tmp);
	assert_int_equal(trust_key_load(path, &pub, &e), 0);
	assert_null(pub.sk);
	assert_int_equal(trust_store_open(f->db, &pub, &s, &e), 0);
	assert_int_equal(trust_check_sig(&pub, f->p, s, NULL, 0, &e), 0);
	store_close(s);
}

static void test_other_key_is_refused(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;
	char signer[2 * SIGN_ID_BYTES + 1], want[2 * SIGN_ID_BYTES + 1];

	write_baseline(f, &f->a, SIGNED);
	assert_int_equal(trust_store_open(f->db, &f->b, &s, &e), -EPERM);
	assert_null(s);
	assert_int_equal(e.code, -EPERM);
	assert_string_equal(e.msg, "the baseline was signed by another key");
	s = open_plain(f);
	assert_int_equal(trust_check_sig(&f->b, f->p, s, signer, sizeof(signer), &e), -EPERM);
	assert_string_equal(e.msg, "the baseline was signed by another key");
	sign_id_hex(&f->a, want); /* names the key that did sign */
	assert_string_equal(signer, want);
	store_close(s);
}

static void test_flipped_data_sig_is_refused(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;

	write_baseline(f, &f->a, SIGNED);
	flip(f, "data.sig", -1); /* the Ed25519 signature's last byte */
	assert_int_equal(trust_store_open(f->db, &f->a, &s, &e), -EKEYREJECTED);
	assert_null(s);
	assert_string_equal(e.msg, "the signature does not match the baseline's content (its data "
	                           "file is not the bytes that were signed: damaged, or changed "
	                           "after signing)");
}

static void test_flipped_key_id_is_another_key(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;

	write_baseline(f, &f->a, SIGNED);
	flip(f, "data.sig", 1); /* the key id's first byte */
	assert_int_equal(trust_store_open(f->db, &f->a, &s, &e), -EPERM);
	assert_null(s);
	assert_string_equal(e.msg, "the baseline was signed by another key");
}

static void test_flipped_store_is_refused(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;

	write_baseline(f, &f->a, SIGNED);
	flip(f, "data.mdb", 4096 + 17);
	assert_int_equal(trust_store_open(f->db, &f->a, &s, &e), -EKEYREJECTED);
	assert_null(s);
	assert_int_equal(e.code, -EKEYREJECTED);
	assert_string_equal(e.msg, "the signature does not match the baseline's content (its data "
	                           "file is not the bytes that were signed: damaged, or changed "
	                           "after signing)");
}

static void test_records_changed_after_signing(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;

	write_baseline(f, &f->a, CHANGED_AFTER_SIGNING);
	/* the data file was signed as committed; the records' signature is older */
	assert_int_equal(trust_store_open(f->db, &f->a, &s, &e), 0);
	assert_int_equal(trust_check_sig(&f->a, f->p, s, NULL, 0, &e), -EKEYREJECTED);
	assert_string_equal(e.msg, "the signature does not match the baseline's content (records "
	                           "or policy were changed after signing)");
	store_close(s);
}

static void test_unsigned_is_refused(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;
	char signer[2 * SIGN_ID_BYTES + 1] = "x";

	write_baseline(f, NULL, UNSIGNED);
	assert_int_equal(trust_store_open(f->db, &f->a, &s, &e), -ENOKEY);
	assert_null(s);
	assert_string_equal(e.msg, "the baseline is not signed (its data file has no signature; a "
	                           "baseline signed by fim 0.1 must be signed again with 'fim "
	                           "baseline --sign-key')");
	s = open_plain(f);
	assert_int_equal(trust_check_sig(&f->a, NULL, s, signer, sizeof(signer), &e), -ENOKEY);
	assert_string_equal(e.msg, "the baseline is not signed");
	assert_string_equal(signer, "");
	store_close(s);
}

static void test_other_policy_is_refused(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;

	write_baseline(f, &f->a, SIGNED);
	assert_int_equal(trust_store_open(f->db, &f->a, &s, &e), 0);
	assert_int_equal(trust_check_sig(&f->a, f->q, s, NULL, 0, &e), -ESTALE);
	assert_string_equal(e.msg,
	                    "the policy in force is not the one the baseline was signed with");
	store_close(s);
}

static void test_no_baseline(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct store *s = NULL;

	assert_int_equal(trust_store_open(f->db, &f->a, &s, &e), -ENOENT);
	assert_null(s);
	assert_string_equal(e.msg, ""); /* not a verdict on a baseline: there is none */
}

static void test_verify_key_causes(void **state)
{
	struct fixture *f = *state;
	struct fim_err e = {0};
	struct sign_key k;
	char path[400];

	snprintf(path, sizeof(path), "%s/missing.pub", f->tmp);
	assert_int_equal(trust_key_load(path, &k, &e), -ENOENT);
	assert_string_equal(e.msg, "the verify key cannot be read");
	assert_true(fx_put("/", f->policy, "not a key\n"));
	assert_int_equal(trust_key_load(f->policy, &k, &e), -EBADMSG);
	assert_string_equal(e.msg, "the verify key is not a fim public key");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_signed_verifies_with_its_key),
	        T(test_public_half_verifies),
	        T(test_other_key_is_refused),
	        T(test_flipped_data_sig_is_refused),
	        T(test_flipped_key_id_is_another_key),
	        T(test_flipped_store_is_refused),
	        T(test_records_changed_after_signing),
	        T(test_unsigned_is_refused),
	        T(test_other_policy_is_refused),
	        T(test_no_baseline),
	        T(test_verify_key_causes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
