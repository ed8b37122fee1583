/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/accounts.c: users, groups and SSH keys collected from fake roots. */
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
#include <sodium.h>

#include "baseline/accounts.h"
#include "fim/engine/suspect.h"
#include "tests/unit/fixture.h"

struct fixture {
	char tmp[200];
	char root[300];
	int rootfd;
	uint8_t key[COLLECT_KEY_BYTES];
	struct collect_ctx ctx;
	struct fx_problems ps; /* only the first FX_MAX_PROBLEMS are kept */
};

/* ---------- keys made with ssh-keygen (fingerprints from ssh-keygen -lf) ---------- */

#define K1   "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGIx7ILSN2/S7eYxlB/zOsrC/xhRIvCb6iHvrdT8gCk/"
#define K1FP "SHA256:L0M4zT8NXqFETD4cxaJLbKtAFhuHBSpbe7j6ND4yMIw"
#define K2                                                                                         \
	"ecdsa-sha2-nistp256 "                                                                     \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBELwc8HEEJi0+yHmipO8ywBU/"            \
	"xKYJ4SQtOqJrsprzSYF1qp4UzSe6F4b1U7oD3HofU4lcY6a0p7XGgjpMeeEqTM="
#define K2FP "SHA256:cRl87AYhSY8SqIRdIMSjRQ3VtKak1dLjMK70FkHr8sk"
#define K3                                                                                         \
	"ssh-rsa "                                                                                 \
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7fH3UJd/C3K/2uf9lWp3L3uk83v6/"                             \
	"PTzlcL62bjhLSGoszEs8e4LcYBHnRwHY/ROIo9ahjYE3IS/b+Z0mf+8Vi30k0IvjnfeU2I/"                  \
	"urIorWT3IZ+vSFJFZpDlTV6+MCI2Ew28pWdYFzFgnAAVexvMcXwotuiG7QYzJMWiIK2sNdQ=="
#define K3FP "SHA256:INowobYwaQxd9OSrHUY4dFZ0hCLqxA3z9THprewlGxQ"
/* K1 certified by a CA; the fingerprint is of the certificate blob */
#define CERT                                                                                       \
	"ssh-ed25519-cert-v01@openssh.com "                                                        \
	"AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIJsr+dovDz2+"                         \
	"ZkgDIRSkdoAIWwt9eoSl1Ae+CyrQ7TaKAAAAIGIx7ILSN2/S7eYxlB/zOsrC/xhRIvCb6iHvrdT8gCk/"         \
	"AAAAAAAAAAAAAAABAAAABWFsaWNlAAAACQAAAAVhbGljZQAAAAAAAAAA//////////"                       \
	"8AAAAAAAAAggAAABVwZXJtaXQtWDExLWZvcndhcmRpbmcAAAAAAAAAF3Blcm1pdC1hZ2VudC1mb3J3YXJkaW5nA"  \
	"AAAAAAAABZwZXJtaXQtcG9ydC1mb3J3YXJkaW5nAAAAAAAAAApwZXJtaXQtcHR5AAAAAAAAAA5wZXJtaXQtdXNl"  \
	"ci1yYwAAAAAAAAAAAAAAMwAAAAtzc2gtZWQyNTUxOQAAACAP8t0U2Anbprh7p7VngE2pYvoYZTPumGQwAwW4Lwvc" \
	"iQAAAFMAAAALc3NoLWVkMjU1MTkAAABAkhgz4fMcVYVbsEbFkyuHFKUNejQ3kJM2q1g4ypRDaj1+"             \
	"u9Z0PUKmqzEuicJrywj02TLQLLyIyVUd7M4ZlovkBw=="
#define CERTFP "SHA256:uwhN3/Wszb73GIbRheGZ9ZvInaYbyOQVsui8Npbs6XE"

/* ---------- the base root ---------- */

/* Secrets carry "S4lt" and "H4sh" so that a leak is easy to find. */
#define ROOT_SECRET  "$6$S4ltR00t$H4shR00tAbCdEfGhIjKlMnOp"
#define ALICE_SECRET "$y$j9T$S4ltAl1ce$H4shAl1ceQrStUvWxYz"
#define BOB_SECRET   "$6$S4ltB0b$H4shB0bZyXwVuTsRqPoN"

static const char base_passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                  "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
                                  "bob:x:1001:1001::/home/bob:/bin/sh\n"
                                  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

static const char base_shadow[] = "root:" ROOT_SECRET ":19000:0:99999:7:::\n"
                                  "daemon:*:19000:0:99999:7:::\n"
                                  "alice:" ALICE_SECRET ":19000:0:99999:7:::\n"
                                  "bob:!" BOB_SECRET ":19000:0:99999:7:::\n"
                                  "nobody:*:19000:0:99999:7:::\n";

static const char base_group[] = "root:x:0:\n"
                                 "sudo:x:27:alice\n"
                                 "adm:x:4:alice,bob\n"
                                 "alice:x:1000:\n"
                                 "bob:x:1001:\n"
                                 "nogroup:x:65534:\n";

static const char base_gshadow[] = "root:*::\n"
                                   "sudo:*:root:alice\n"
                                   "adm:!$6$S4ltGr0up$H4shGr0up:alice:alice,bob\n"
                                   "alice:!::\n"
                                   "bob:!::\n";

static const char base_alice_keys[] =
        "# alice's keys\n" K1 " alice@laptop\n\n"
        "from=\"10.0.0.1\",command=\"echo \\\"hi there\\\"\" " K2 "\n";

#define ALICE_K1 K1FP " ssh-ed25519 comment=alice@laptop"
#define ALICE_K2                                                                                   \
	K2FP " ecdsa-sha2-nistp256 options=from=\"10.0.0.1\",command=\"echo \\\"hi there\\\"\""
#define ALICE_KEYS ALICE_K1 "\n" ALICE_K2

/* ---------- helpers ---------- */

static void mkdirs(struct fixture *f, const char *rel)
{
	assert_true(fx_mkdirs(f->root, rel));
}

/* Writes REL (as inside the root) with N bytes of DATA, making parent directories. */
static void put_n(struct fixture *f, const char *rel, const void *data, size_t n)
{
	assert_true(fx_put_bytes(f->root, rel, data, n, 0644));
}

static void put(struct fixture *f, const char *rel, const char *text)
{
	put_n(f, rel, text, strlen(text));
}

static void del(struct fixture *f, const char *rel)
{
	assert_true(fx_del(f->root, rel));
}

static void link_in(struct fixture *f, const char *target, const char *rel)
{
	assert_true(fx_link(f->root, rel, target));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || sodium_init() < 0)
		return -1;
	if (!fx_tmpdir(f->tmp, sizeof(f->tmp), "accounts"))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/root", f->tmp);
	if (mkdir(f->root, 0755) < 0)
		return -1;
	f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0)
		return -1;
	for (size_t i = 0; i < sizeof(f->key); i++)
		f->key[i] = (uint8_t)(0xa0 + i);
	f->ctx = (struct collect_ctx){
	        .rootfd = f->rootfd,
	        .secret_key = f->key,
	        .problem = fx_on_problem,
	        .userdata = &f->ps,
	};
	put(f, "/etc/passwd", base_passwd);
	put(f, "/etc/shadow", base_shadow);
	put(f, "/etc/group", base_group);
	put(f, "/etc/gshadow", base_gshadow);
	put(f, "/home/alice/.ssh/authorized_keys", base_alice_keys);
	mkdirs(f, "/home/bob");
	mkdirs(f, "/root");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->rootfd);
	fx_rmtree(f->tmp);
	free(f);
	return 0;
}

static struct obj_set *collect(struct fixture *f, enum fim_kind kind)
{
	struct obj_set *s;

	f->ps.n = 0;
	assert_int_equal(obj_set_new(kind, &s), 0);
	assert_int_equal(collect_for(kind)(&f->ctx, s), 0);
	return s;
}

static struct obj_set *users(struct fixture *f)
{
	return collect(f, KIND_USER);
}

static struct obj_set *groups(struct fixture *f)
{
	return collect(f, KIND_GROUP);
}

static const char *err_name(int err)
{
	static char other[16];

	switch (-err) {
	case EBADMSG:
		return "EBADMSG";
	case ENOENT:
		return "ENOENT";
	case EINVAL:
		return "EINVAL";
	case EISDIR:
		return "EISDIR";
	case E2BIG:
		return "E2BIG";
	case ELOOP:
		return "ELOOP";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EACCES:
		return "EACCES";
	}
	snprintf(other, sizeof(other), "%d", err);
	return other;
}

/* The problems as "path:line:ERR" lines, compared with WANT. */
static void assert_problems(struct fixture *f, const char *want)
{
	char got[8192] = "";
	size_t o = 0;

	for (size_t i = 0; i < f->ps.n && i < FX_MAX_PROBLEMS; i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s:%u:%s", i ? "\n" : "",
		                      f->ps.p[i].path, f->ps.p[i].line, err_name(f->ps.p[i].err));
	if (strcmp(got, want) != 0) {
		for (size_t i = 0; i < f->ps.n && i < FX_MAX_PROBLEMS; i++)
			print_message("problem: %s:%u: %s\n", f->ps.p[i].path, f->ps.p[i].line,
			              f->ps.p[i].msg);
	}
	assert_string_equal(got, want);
}

static void assert_msg(struct fixture *f, size_t i, const char *substring)
{
	assert_true(i < f->ps.n);
	if (!strstr(f->ps.p[i].msg, substring))
		print_message("message %zu: %s\n", i, f->ps.p[i].msg);
	assert_non_null(strstr(f->ps.p[i].msg, substring));
}

/* The ids of S joined by spaces. */
static void assert_ids(const struct obj_set *s, const char *want)
{
	char got[4096] = "";
	size_t o = 0;

	for (size_t i = 0; i < obj_set_count(s); i++) {
		const struct obj_rec *r = obj_set_at(s, i);

		assert_true(o + r->id.n + 2 < sizeof(got));
		if (i)
			got[o++] = ' ';
		memcpy(got + o, r->id.p, r->id.n);
		o += r->id.n;
		got[o] = '\0';
	}
	assert_string_equal(got, want);
}

static const struct obj_rec *find(const struct obj_set *s, const char *id)
{
	const struct obj_rec *r = obj_set_find(s, id, strlen(id));

	if (!r)
		print_message("no object '%s'\n", id);
	assert_non_null(r);
	return r;
}

/* Attribute ATTR of ID is WANT (NULL: absent). */
static void assert_val(const struct obj_set *s, const char *id, unsigned attr, const char *want)
{
	const struct obj_rec *r = find(s, id);
	char *got;

	if (!want) {
		assert_false(r->attrs & ATTR_BIT(attr));
		return;
	}
	if (!(r->attrs & ATTR_BIT(attr)))
		print_message("%s: attribute %s absent\n", id, attr_name(r->kind, attr));
	assert_true(r->attrs & ATTR_BIT(attr));
	got = strndup((const char *)r->val[attr].p, r->val[attr].n);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Every object is in both sets; ID differs in exactly MASK, the others not at all. */
static void assert_only_change(const struct obj_set *a, const struct obj_set *b, const char *id,
                               attrset_t mask)
{
	assert_int_equal(obj_set_count(a), obj_set_count(b));
	for (size_t i = 0; i < obj_set_count(a); i++) {
		const struct obj_rec *ra = obj_set_at(a, i), *rb = obj_set_at(b, i);
		bool target = ra->id.n == strlen(id) && memcmp(ra->id.p, id, ra->id.n) == 0;
		attrset_t d;

		assert_int_equal(ra->id.n, rb->id.n);
		assert_memory_equal(ra->id.p, rb->id.p, ra->id.n);
		assert_int_equal(ra->attrs, rb->attrs);
		d = obj_diff(ra, rb, attr_all(ra->kind));
		if (d != (target ? mask : 0))
			print_message("%.*s: differs in %#x\n", (int)ra->id.n, ra->id.p, d);
		assert_int_equal(d, target ? mask : 0);
	}
}

/* "STATE HEX" as the collector must compute it for SECRET (without leading '!'). */
static void expect_pw(struct fixture *f, char *out, size_t size, const char *state,
                      const char *secret)
{
	uint8_t d[crypto_generichash_BYTES];
	char hex[33];

	crypto_generichash(d, sizeof(d), (const uint8_t *)secret, strlen(secret), f->key,
	                   sizeof(f->key));
	sodium_bin2hex(hex, sizeof(hex), d, 16);
	snprintf(out, size, "%s %s", state, hex);
}

/* A made-up Ed25519 key line "ssh-ed25519 BASE64" whose key bytes are all SEED,
 * and its element "SHA256:fp ssh-ed25519". */
static void synth_key(uint8_t seed, char *line, size_t lsize, char *elem, size_t esize)
{
	uint8_t blob[51] = {0,   0,   0,   11,  's', 's', 'h', '-', 'e', 'd',
	                    '2', '5', '5', '1', '9', 0,   0,   0,   32};
	uint8_t md[32];
	char b64[80], fp[48];

	memset(blob + 19, seed, 32);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
	crypto_hash_sha256(md, blob, sizeof(blob));
	sodium_bin2base64(fp, sizeof(fp), md, sizeof(md),
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	snprintf(line, lsize, "ssh-ed25519 %s", b64);
	snprintf(elem, esize, "SHA256:%s ssh-ed25519", fp);
}

/* Base64 of an SSH blob made of the strings S[0..n). */
static void blob_b64(char *out, size_t size, size_t n, const char *const *s, const size_t *len)
{
	uint8_t blob[512];
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		assert_true(o + 4 + len[i] <= sizeof(blob));
		blob[o] = (uint8_t)(len[i] >> 24);
		blob[o + 1] = (uint8_t)(len[i] >> 16);
		blob[o + 2] = (uint8_t)(len[i] >> 8);
		blob[o + 3] = (uint8_t)len[i];
		memcpy(blob + o + 4, s[i], len[i]);
		o += 4 + len[i];
	}
	sodium_bin2base64(out, size, blob, o, sodium_base64_VARIANT_ORIGINAL);
}

/* ---------- the base root ---------- */

static void test_normal(void **state)
{
	struct fixture *f = *state;
	struct obj_set *u = users(f), *g;
	char want[128];

	assert_problems(f, "");
	assert_ids(u, "alice bob daemon nobody root");
	assert_val(u, "root", UA_UID, "0");
	assert_val(u, "root", UA_GID, "0");
	assert_val(u, "root", UA_GECOS, "root");
	assert_val(u, "root", UA_HOME, "/root");
	assert_val(u, "root", UA_SHELL, "/bin/bash");
	expect_pw(f, want, sizeof(want), "set", ROOT_SECRET);
	assert_val(u, "root", UA_PASSWORD, want);
	assert_val(u, "root", UA_GROUPS, "");
	assert_val(u, "root", UA_AUTHORIZED_KEYS, "");

	assert_val(u, "daemon", UA_PASSWORD, "none");
	assert_val(u, "daemon", UA_HOME, "/usr/sbin");

	assert_val(u, "alice", UA_UID, "1000");
	assert_val(u, "alice", UA_GECOS, "Alice Liddell,,,");
	expect_pw(f, want, sizeof(want), "set", ALICE_SECRET);
	assert_val(u, "alice", UA_PASSWORD, want);
	assert_val(u, "alice", UA_GROUPS, "adm\nsudo");
	assert_val(u, "alice", UA_AUTHORIZED_KEYS, ALICE_KEYS);

	assert_val(u, "bob", UA_GECOS, "");
	expect_pw(f, want, sizeof(want), "locked", BOB_SECRET);
	assert_val(u, "bob", UA_PASSWORD, want);
	assert_val(u, "bob", UA_GROUPS, "adm");
	assert_val(u, "bob", UA_AUTHORIZED_KEYS, "");

	assert_val(u, "nobody", UA_UID, "65534");
	assert_val(u, "nobody", UA_PASSWORD, "none");
	assert_val(u, "nobody", UA_GROUPS, "");
	assert_val(u, "nobody", UA_AUTHORIZED_KEYS, "");
	obj_set_free(u);

	g = groups(f);
	assert_problems(f, "");
	assert_ids(g, "adm alice bob nogroup root sudo");
	assert_val(g, "root", GA_GID, "0");
	assert_val(g, "root", GA_MEMBERS, "");
	assert_val(g, "root", GA_ADMINISTRATORS, "");
	assert_val(g, "sudo", GA_GID, "27");
	assert_val(g, "sudo", GA_MEMBERS, "alice");
	assert_val(g, "sudo", GA_ADMINISTRATORS, "root");
	assert_val(g, "adm", GA_MEMBERS, "alice\nbob");
	assert_val(g, "adm", GA_ADMINISTRATORS, "alice");
	assert_val(g, "nogroup", GA_GID, "65534");
	assert_val(g, "nogroup", GA_ADMINISTRATORS, NULL); /* no gshadow entry */
	obj_set_free(g);
}

/* The same root collected twice gives the same records. */
static void test_stable(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a = users(f), *b = users(f);

	assert_only_change(a, b, "", 0);
	obj_set_free(a);
	obj_set_free(b);
	a = groups(f);
	b = groups(f);
	assert_only_change(a, b, "", 0);
	obj_set_free(a);
	obj_set_free(b);
}

/* ---------- drift ---------- */

/* Collects KIND, writes REL = TEXT, collects again: only ID differs, in MASK,
 * and its ATTR is then WANT. */
static void drift(struct fixture *f, enum fim_kind kind, const char *rel, const char *text,
                  const char *id, attrset_t mask, unsigned attr, const char *want)
{
	struct obj_set *a = collect(f, kind), *b;

	put(f, rel, text);
	b = collect(f, kind);
	assert_problems(f, "");
	assert_only_change(a, b, id, mask);
	assert_val(b, id, attr, want);
	obj_set_free(a);
	obj_set_free(b);
}

static void test_drift_shell(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/etc/passwd",
	      "root:x:0:0:root:/root:/bin/bash\n"
	      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	      "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
	      "bob:x:1001:1001::/home/bob:/bin/bash\n"
	      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	      "bob", ATTR_BIT(UA_SHELL), UA_SHELL, "/bin/bash");
}

/* Bob becomes a second UID 0 account: the collected drift is that one
 * attribute, and the call-out on it says exactly that, and nothing else. */
static void test_drift_uid0(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a = users(f), *b;
	struct drift d = {.action = DRIFT_CHANGED, .kind = KIND_USER};
	char buf[1024];

	put(f, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	    "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
	    "bob:x:0:1001::/home/bob:/bin/sh\n"
	    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	b = users(f);
	assert_problems(f, "");
	assert_only_change(a, b, "bob", ATTR_BIT(UA_UID));
	assert_val(b, "bob", UA_UID, "0");

	d.id = (struct bytes){(const uint8_t *)"bob", 3};
	d.obefore = find(a, "bob");
	d.oafter = find(b, "bob");
	d.changed = obj_diff(d.obefore, d.oafter, attr_all(KIND_USER));
	suspect_facts(&(struct suspect_ctx){.rootfd = f->rootfd}, &d, buf, sizeof(buf));
	assert_int_equal(d.nfacts, 1);
	assert_string_equal(d.facts[0], "a second account with UID 0");
	obj_set_free(a);
	obj_set_free(b);
}

static void test_drift_gecos(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/etc/passwd",
	      "root:x:0:0:root:/root:/bin/bash\n"
	      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	      "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
	      "bob:x:1001:1001:Bob Builder,,,:/home/bob:/bin/sh\n"
	      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	      "bob", ATTR_BIT(UA_GECOS), UA_GECOS, "Bob Builder,,,");
}

static void test_drift_home(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/etc/passwd",
	      "root:x:0:0:root:/root:/bin/bash\n"
	      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	      "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
	      "bob:x:1001:1001::/root:/bin/sh\n"
	      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	      "bob", ATTR_BIT(UA_HOME), UA_HOME, "/root");
}

/* Alice's home moves away from her keys: both attributes change. */
static void test_drift_home_keys(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/etc/passwd",
	      "root:x:0:0:root:/root:/bin/bash\n"
	      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	      "alice:x:1000:1000:Alice Liddell,,,:/srv/alice:/bin/bash\n"
	      "bob:x:1001:1001::/home/bob:/bin/sh\n"
	      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	      "alice", ATTR_BIT(UA_HOME) | ATTR_BIT(UA_AUTHORIZED_KEYS), UA_AUTHORIZED_KEYS, "");
}

static void test_drift_password_changed(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a = users(f), *b;
	char before[128], after[128];

	put(f, "/etc/shadow",
	    "root:" ROOT_SECRET ":19000:0:99999:7:::\n"
	    "daemon:*:19000:0:99999:7:::\n"
	    "alice:$y$j9T$S4ltN3w$H4shN3wQrStUvWxYz:19100:0:99999:7:::\n"
	    "bob:!" BOB_SECRET ":19000:0:99999:7:::\n"
	    "nobody:*:19000:0:99999:7:::\n");
	b = users(f);
	assert_problems(f, "");
	assert_only_change(a, b, "alice", ATTR_BIT(UA_PASSWORD));
	expect_pw(f, before, sizeof(before), "set", ALICE_SECRET);
	expect_pw(f, after, sizeof(after), "set", "$y$j9T$S4ltN3w$H4shN3wQrStUvWxYz");
	assert_string_not_equal(before, after);
	assert_val(a, "alice", UA_PASSWORD, before);
	assert_val(b, "alice", UA_PASSWORD, after);
	obj_set_free(a);
	obj_set_free(b);
}

/* Unlocking keeps the digest: only the state moves from locked to set. */
static void test_drift_unlocked(void **state)
{
	struct fixture *f = *state;
	char want[128], locked[128];

	/* the digest does not see the '!' */
	expect_pw(f, want, sizeof(want), "set", BOB_SECRET);
	expect_pw(f, locked, sizeof(locked), "locked", BOB_SECRET);
	assert_string_equal(want + strlen("set "), locked + strlen("locked "));
	drift(f, KIND_USER, "/etc/shadow",
	      "root:" ROOT_SECRET ":19000:0:99999:7:::\n"
	      "daemon:*:19000:0:99999:7:::\n"
	      "alice:" ALICE_SECRET ":19000:0:99999:7:::\n"
	      "bob:" BOB_SECRET ":19000:0:99999:7:::\n"
	      "nobody:*:19000:0:99999:7:::\n",
	      "bob", ATTR_BIT(UA_PASSWORD), UA_PASSWORD, want);
}

static void test_drift_emptied(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/etc/shadow",
	      "root:" ROOT_SECRET ":19000:0:99999:7:::\n"
	      "daemon:*:19000:0:99999:7:::\n"
	      "alice::19000:0:99999:7:::\n"
	      "bob:!" BOB_SECRET ":19000:0:99999:7:::\n"
	      "nobody:*:19000:0:99999:7:::\n",
	      "alice", ATTR_BIT(UA_PASSWORD), UA_PASSWORD, "empty");
}

/* An attacker's hash written into /etc/passwd is in force and bypasses shadow. */
static void test_drift_hash_in_passwd(void **state)
{
	struct fixture *f = *state;
	char want[128];

	expect_pw(f, want, sizeof(want), "set", "$6$ev1l$attackerhash");
	drift(f, KIND_USER, "/etc/passwd",
	      "root:x:0:0:root:/root:/bin/bash\n"
	      "daemon:$6$ev1l$attackerhash:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	      "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
	      "bob:x:1001:1001::/home/bob:/bin/sh\n"
	      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	      "daemon", ATTR_BIT(UA_PASSWORD), UA_PASSWORD, want);
}

/* An empty field in /etc/passwd is an empty password, whatever shadow says. */
static void test_drift_empty_in_passwd(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/etc/passwd",
	      "root::0:0:root:/root:/bin/bash\n"
	      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	      "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
	      "bob:x:1001:1001::/home/bob:/bin/sh\n"
	      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
	      "root", ATTR_BIT(UA_PASSWORD), UA_PASSWORD, "empty");
}

/* Moving the very same hash from shadow into passwd changes no attribute: the
 * digest is of the secret only (the file rule on /etc/passwd sees it). */
static void test_same_hash_moved_to_passwd(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a = users(f), *b;

	put(f, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	    "alice:" ALICE_SECRET ":1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
	    "bob:x:1001:1001::/home/bob:/bin/sh\n"
	    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	put(f, "/etc/shadow",
	    "root:" ROOT_SECRET ":19000:0:99999:7:::\n"
	    "daemon:*:19000:0:99999:7:::\n"
	    "alice:*:19000:0:99999:7:::\n"
	    "bob:!" BOB_SECRET ":19000:0:99999:7:::\n"
	    "nobody:*:19000:0:99999:7:::\n");
	b = users(f);
	assert_problems(f, "");
	assert_only_change(a, b, "", 0);
	obj_set_free(a);
	obj_set_free(b);
}

static void test_drift_added_to_group(void **state)
{
	struct fixture *f = *state;
	static const char group[] = "root:x:0:\n"
	                            "sudo:x:27:alice,bob\n"
	                            "adm:x:4:alice,bob\n"
	                            "alice:x:1000:\n"
	                            "bob:x:1001:\n"
	                            "nogroup:x:65534:\n";
	struct obj_set *ga = groups(f), *ua = users(f), *gb, *ub;

	put(f, "/etc/group", group);
	ub = users(f);
	assert_problems(f, "");
	gb = groups(f);
	assert_problems(f, "");
	assert_only_change(ua, ub, "bob", ATTR_BIT(UA_GROUPS));
	assert_val(ub, "bob", UA_GROUPS, "adm\nsudo");
	assert_only_change(ga, gb, "sudo", ATTR_BIT(GA_MEMBERS));
	assert_val(gb, "sudo", GA_MEMBERS, "alice\nbob");
	obj_set_free(ga);
	obj_set_free(gb);
	obj_set_free(ua);
	obj_set_free(ub);
}

static void test_drift_administrators(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_GROUP, "/etc/gshadow",
	      "root:*::\n"
	      "sudo:*:root,bob:alice\n"
	      "adm:!$6$S4ltGr0up$H4shGr0up:alice:alice,bob\n"
	      "alice:!::\n"
	      "bob:!::\n",
	      "sudo", ATTR_BIT(GA_ADMINISTRATORS), GA_ADMINISTRATORS, "bob\nroot");
}

static void test_drift_key_added(void **state)
{
	struct fixture *f = *state;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s\n", base_alice_keys, K3 " r");
	drift(f, KIND_USER, "/home/alice/.ssh/authorized_keys", text, "alice",
	      ATTR_BIT(UA_AUTHORIZED_KEYS), UA_AUTHORIZED_KEYS,
	      K3FP " ssh-rsa comment=r\n" ALICE_KEYS);
}

static void test_drift_key_removed(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/home/alice/.ssh/authorized_keys", K1 " alice@laptop\n", "alice",
	      ATTR_BIT(UA_AUTHORIZED_KEYS), UA_AUTHORIZED_KEYS, ALICE_K1);
}

static void test_drift_key_options(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/home/alice/.ssh/authorized_keys",
	      K1 " alice@laptop\n"
	         "from=\"10.0.0.2\",command=\"echo \\\"hi there\\\"\" " K2 "\n",
	      "alice", ATTR_BIT(UA_AUTHORIZED_KEYS), UA_AUTHORIZED_KEYS,
	      ALICE_K1 "\n" K2FP " ecdsa-sha2-nistp256 options=from=\"10.0.0.2\","
	               "command=\"echo \\\"hi there\\\"\"");
}

static void test_drift_key_comment(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/home/alice/.ssh/authorized_keys",
	      K1 " mallory@evil\n"
	         "from=\"10.0.0.1\",command=\"echo \\\"hi there\\\"\" " K2 "\n",
	      "alice", ATTR_BIT(UA_AUTHORIZED_KEYS), UA_AUTHORIZED_KEYS,
	      K1FP " ssh-ed25519 comment=mallory@evil\n" ALICE_K2);
}

/* authorized_keys2 is read by default: attackers hide keys there. */
static void test_drift_key_in_keys2(void **state)
{
	struct fixture *f = *state;

	drift(f, KIND_USER, "/home/bob/.ssh/authorized_keys2", K3 "\n", "bob",
	      ATTR_BIT(UA_AUTHORIZED_KEYS), UA_AUTHORIZED_KEYS, K3FP " ssh-rsa");
}

/* ---------- secrets ---------- */

static bool leaks(const uint8_t *p, size_t n)
{
	static const char *const needles[] = {"S4lt", "H4sh", "attackerhash"};

	for (size_t k = 0; k < ARRAY_SIZE(needles); k++)
		if (n >= strlen(needles[k]) && memmem(p, n, needles[k], strlen(needles[k])))
			return true;
	return false;
}

static void assert_no_leak(struct fixture *f, const struct obj_set *s)
{
	for (size_t i = 0; i < obj_set_count(s); i++) {
		const struct obj_rec *r = obj_set_at(s, i);

		assert_false(leaks(r->id.p, r->id.n));
		for (unsigned a = 0; a < ATTR_KIND_MAX; a++)
			if (r->attrs & ATTR_BIT(a)) {
				if (leaks(r->val[a].p, r->val[a].n))
					print_message("leak in %.*s %u\n", (int)r->id.n, r->id.p,
					              a);
				assert_false(leaks(r->val[a].p, r->val[a].n));
			}
	}
	for (size_t i = 0; i < f->ps.n && i < FX_MAX_PROBLEMS; i++) {
		assert_false(leaks((const uint8_t *)f->ps.p[i].msg, strlen(f->ps.p[i].msg)));
		assert_false(leaks((const uint8_t *)f->ps.p[i].path, strlen(f->ps.p[i].path)));
	}
}

/* Hashes in valid and broken lines of every file: none reaches a value or a message. */
static void test_secret_never_leaks(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "daemon:$6$S4ltD$H4shD:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	    "alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash\n"
	    "bob:x:1001:1001::/home/bob:/bin/sh\n"
	    "broken:$6$S4ltE$H4shE:1002\n"
	    "root:$6$S4ltF$H4shF:0:0::/:/bin/sh\n"
	    "$6$S4ltG/H4shG:x::1::/:/bin/sh\n"
	    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	put(f, "/etc/shadow",
	    "root:" ROOT_SECRET ":19000:0:99999:7:::\n"
	    "alice:" ALICE_SECRET ":19000:0:99999:7:::\n"
	    "bob:!" BOB_SECRET "\n"
	    "bob:$6$S4ltX$H4shX:19000:0:99999:7:::\n"
	    "alice:$6$S4ltY$H4shY:19000:0:99999:7:::\n"
	    "$6$S4ltZ$H4shZ\n"
	    "bad name $6$S4ltW$H4shW:x:19000:0:99999:7:::\n"
	    "\n"
	    "+$6$S4ltV$H4shV:x:19000:0:99999:7:::\n");
	put(f, "/etc/gshadow",
	    "root:$6$S4ltG1$H4shG1::\n"
	    "sudo:$6$S4ltG2$H4shG2:root:alice\n"
	    "sudo:$6$S4ltG3$H4shG3:alice:alice\n"
	    "$6$S4ltG4$H4shG4\n");
	put(f, "/etc/group", "root:$6$S4ltG5$H4shG5:0:\nsudo:x:27:alice\n$6$S4ltG6$H4shG6:x\n");
	s = users(f);
	assert_problems(f, "/etc/passwd:5:EBADMSG\n"
	                   "/etc/passwd:6:EBADMSG\n"
	                   "/etc/passwd:7:EBADMSG\n"
	                   "/etc/shadow:3:EBADMSG\n"
	                   "/etc/shadow:5:EBADMSG\n"
	                   "/etc/shadow:6:EBADMSG\n"
	                   "/etc/shadow:7:EBADMSG\n"
	                   "/etc/shadow:9:EBADMSG");
	assert_no_leak(f, s);
	{
		char want[128];

		expect_pw(f, want, sizeof(want), "set", "$6$S4ltX$H4shX"); /* line 4 is in force */
		assert_val(s, "bob", UA_PASSWORD, want);
	}
	obj_set_free(s);
	s = groups(f);
	assert_problems(f, "/etc/group:3:EBADMSG\n/etc/gshadow:3:EBADMSG\n/etc/gshadow:4:EBADMSG");
	assert_no_leak(f, s);
	obj_set_free(s);
}

/* ---------- malformed input ---------- */

static void test_malformed_passwd(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;
	char *text, *o;
	static const char head[] = "root:x:0:0:root:/root:/bin/bash\n"  /* 1 */
	                           "short:x:1:1\n"                      /* 2 */
	                           ":x:2:2::/:/bin/sh\n"                /* 3 */
	                           "+nisuser::::::\n"                   /* 4 */
	                           "-nisexcl:x:3:3::/:/bin/sh\n"        /* 5 */
	                           "bad name:x:4:4::/:/bin/sh\n"        /* 6 */
	                           "bad/name:x:5:5::/:/bin/sh\n"        /* 7 */
	                           "uidx:x:12a:5::/:/bin/sh\n"          /* 8 */
	                           "uidbig:x:4294967295:5::/:/bin/sh\n" /* 9 */
	                           "gidempty:x:6:::/:/bin/sh\n"         /* 10 */
	                           "root:x:1:1:second:/:/bin/sh\n"      /* 11 */
	                           "\n"                                 /* 12 */
	                           "# comment:x:0:0::/:/bin/sh\n"       /* 13 */
	                           "ok:x:007:7::/home/ok:/bin/sh\n"     /* 14 */
	                           "  \tlead:x:8:8::/:/bin/sh\n"        /* 15: libc skips blanks */
	                           "plus:x:+5:5::/:/bin/sh\n"           /* 16 */
	                           "gidbig:x:5:99999999999999999999999::/:/bin/sh\n" /* 17 */
	                           "maxid:x:4294967294:0::/:/bin/sh\n"               /* 18 */
	                           "nul"; /* 19, continued */
	static const char nul_rest[] = ":x:9:9::/:/bin/sh\n";
	size_t n = sizeof(head) - 1 + 1 + sizeof(nul_rest) - 1 + ACCOUNTS_MAX_LINE + 40 + 40;

	text = malloc(n);
	assert_non_null(text);
	o = text;
	memcpy(o, head, sizeof(head) - 1);
	o += sizeof(head) - 1;
	*o++ = '\0';
	memcpy(o, nul_rest, sizeof(nul_rest) - 1);
	o += sizeof(nul_rest) - 1;
	/* 20: a line over the old 64 KiB limit */
	memcpy(o, "long:x:10:10:", 13);
	o += 13;
	memset(o, 'g', ACCOUNTS_MAX_LINE);
	o += ACCOUNTS_MAX_LINE;
	memcpy(o, ":/:/bin/sh\n", 11);
	o += 11;
	/* 21: no newline at the end */
	memcpy(o, "last:x:11:11::/:/bin/sh", 23);
	o += 23;
	put_n(f, "/etc/passwd", text, (size_t)(o - text));
	free(text);

	s = users(f);
	assert_problems(f, "/etc/passwd:2:EBADMSG\n"
	                   "/etc/passwd:3:EBADMSG\n"
	                   "/etc/passwd:4:EBADMSG\n"
	                   "/etc/passwd:5:EBADMSG\n"
	                   "/etc/passwd:6:EBADMSG\n"
	                   "/etc/passwd:7:EBADMSG\n"
	                   "/etc/passwd:8:EBADMSG\n"
	                   "/etc/passwd:9:EBADMSG\n"
	                   "/etc/passwd:10:EBADMSG\n"
	                   "/etc/passwd:11:EBADMSG\n"
	                   "/etc/passwd:14:EBADMSG\n"
	                   "/etc/passwd:16:EBADMSG\n"
	                   "/etc/passwd:17:EBADMSG\n"
	                   "/etc/passwd:19:EBADMSG\n"
	                   "/etc/passwd:19:EBADMSG");
	assert_msg(f, 0, "7 fields expected, 4 found: read as glibc does");
	assert_msg(f, 1, "empty user name: glibc may use the line, fim cannot record it");
	assert_msg(f, 2, "NIS");
	assert_msg(f, 3, "NIS");
	assert_msg(f, 4, "user name 'bad name' contains '/' or whitespace");
	assert_msg(f, 5, "user name 'bad/name' contains '/' or whitespace");
	assert_msg(f, 6, "uid is not a decimal number: glibc ignores the line");
	assert_msg(f, 7, "uid is 4294967295, (uid_t)-1, which no process can have");
	assert_msg(f, 8, "empty gid: glibc ignores the line");
	assert_msg(f, 9, "duplicate user 'root': the first entry, on line 1, is in force");
	assert_msg(f, 10, "uid '007' is not plain decimal: read as glibc does, as 7");
	assert_msg(f, 11, "uid '+5' is not plain decimal: read as glibc does, as 5");
	assert_msg(f, 12, "gid is out of range (at most 4294967295): glibc ignores the line");
	assert_msg(f, 13, "empty uid"); /* glibc reads "nul" */
	assert_msg(f, 14, "NUL byte: glibc reads only what precedes it");
	/* a line of 64 KiB and more is read whole, as glibc reads it */
	assert_ids(s, "bad name bad/name last lead long maxid ok plus root short uidbig");
	assert_val(s, "long", UA_UID, "10");
	assert_val(s, "long", UA_SHELL, "/bin/sh");
	assert_val(s, "root", UA_GECOS, "root"); /* the first entry */
	assert_val(s, "short", UA_UID, "1");
	assert_val(s, "short", UA_GID, "1");
	assert_val(s, "short", UA_GECOS, "");
	assert_val(s, "short", UA_HOME, "");
	assert_val(s, "short", UA_SHELL, "");
	assert_val(s, "uidbig", UA_UID, "4294967295");
	assert_val(s, "plus", UA_UID, "5");
	assert_val(s, "ok", UA_UID, "7");
	assert_val(s, "lead", UA_UID, "8");
	assert_val(s, "maxid", UA_UID, "4294967294");
	assert_val(s, "last", UA_SHELL, "/bin/sh");
	assert_val(s, "bad/name", UA_UID, "5");
	obj_set_free(s);
}

/*
 * Each form of line as glibc 2.36's nss_files reads it (found with getent on
 * crafted files): what it uses is recorded, what it ignores is not, and
 * anything irregular is reported either way.
 */
static void test_glibc_passwd(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"                /* 1 */
	    "f4::1001:1001\n"                                  /* 2: 4 fields */
	    "f5:x:1002:1002:g\n"                               /* 3: 5 fields */
	    "f6:x:1003:1003:g:/h\n"                            /* 4: 6 fields */
	    "f8:x:1004:1004:g:/h:/bin/sh:extra:more\n"         /* 5: 9 fields */
	    "eu:x::1005:g:/h:/bin/sh\n"                        /* 6: empty uid */
	    "eg:x:1006::g:/h:/bin/sh\n"                        /* 7: empty gid */
	    "sp:x: 0:\t 1007:g:/h:/bin/sh\n"                   /* 8 */
	    "pl:x:+0:+1008:g:/h:/bin/sh\n"                     /* 9 */
	    "hx:x:0x10:1009:g:/h:/bin/sh\n"                    /* 10 */
	    "m1:x:-1:1010:g:/h:/bin/sh\n"                      /* 11 */
	    "big:x:4294967296:1011:g:/h:/bin/sh\n"             /* 12 */
	    "gar:x:0abc:1012:g:/h:/bin/sh\n"                   /* 13 */
	    "crlf:x:1013:1013:g:/h:/bin/sh\r\n"                /* 14 */
	    "crlf4:x:1014:1014\r\n"                            /* 15 */
	    "onlyname\n"                                       /* 16 */
	    "m0:x:-0:1016:g:/h:/bin/sh\n"                      /* 17 */
	    "wrap:x:-18446744073709551615:1017:g:/h:/bin/sh\n" /* 18: strtoul's wrap */
	    "sp1:x:1 :1018:g:/h:/bin/sh\n"                     /* 19 */
	    "sg:x:+ 1:1019:g:/h:/bin/sh\n"                     /* 20 */
	    "f3:x:1020\n"                                      /* 21 */
	    "crlf2:x:1021:1021:g:/h:/bin/sh\r\r\n");           /* 22 */
	s = users(f);
	assert_problems(f, "/etc/passwd:2:EBADMSG\n"
	                   "/etc/passwd:3:EBADMSG\n"
	                   "/etc/passwd:4:EBADMSG\n"
	                   "/etc/passwd:5:EBADMSG\n"
	                   "/etc/passwd:6:EBADMSG\n"
	                   "/etc/passwd:7:EBADMSG\n"
	                   "/etc/passwd:8:EBADMSG\n"
	                   "/etc/passwd:8:EBADMSG\n"
	                   "/etc/passwd:9:EBADMSG\n"
	                   "/etc/passwd:9:EBADMSG\n"
	                   "/etc/passwd:10:EBADMSG\n"
	                   "/etc/passwd:11:EBADMSG\n"
	                   "/etc/passwd:12:EBADMSG\n"
	                   "/etc/passwd:13:EBADMSG\n"
	                   "/etc/passwd:14:EBADMSG\n"
	                   "/etc/passwd:15:EBADMSG\n"
	                   "/etc/passwd:15:EBADMSG\n"
	                   "/etc/passwd:16:EBADMSG\n"
	                   "/etc/passwd:17:EBADMSG\n"
	                   "/etc/passwd:18:EBADMSG\n"
	                   "/etc/passwd:19:EBADMSG\n"
	                   "/etc/passwd:20:EBADMSG\n"
	                   "/etc/passwd:21:EBADMSG\n"
	                   "/etc/passwd:22:EBADMSG");
	assert_msg(f, 0, "7 fields expected, 4 found: read as glibc does");
	assert_msg(f, 1, "7 fields expected, 5 found");
	assert_msg(f, 2, "7 fields expected, 6 found");
	assert_msg(f, 3, "7 fields expected, 9 found");
	assert_msg(f, 4, "empty uid: glibc ignores the line");
	assert_msg(f, 5, "empty gid: glibc ignores the line");
	assert_msg(f, 6, "uid ' 0' is not plain decimal: read as glibc does, as 0");
	assert_msg(f, 7, "gid '\\t 1007' is not plain decimal");
	assert_msg(f, 8, "uid '+0' is not plain decimal");
	assert_msg(f, 9, "gid '+1008' is not plain decimal");
	assert_msg(f, 10, "uid is not a decimal number: glibc ignores the line");
	assert_msg(f, 11, "uid is out of range");
	assert_msg(f, 12, "uid is out of range");
	assert_msg(f, 13, "uid is not a decimal number");
	assert_msg(f, 14, "carriage return: glibc keeps it in the last field");
	assert_msg(f, 15, "gid is not a decimal number"); /* "1014\r" */
	assert_msg(f, 16, "carriage return: glibc reads it as part of the last field");
	assert_msg(f, 17, "empty uid");
	assert_msg(f, 18, "uid '-0' is not plain decimal: read as glibc does, as 0");
	assert_msg(f, 19,
	           "uid '-18446744073709551615' is not plain decimal: read as glibc "
	           "does, as 1");
	assert_msg(f, 20, "uid is not a decimal number");
	assert_msg(f, 21, "uid is not a decimal number");
	assert_msg(f, 22, "empty gid");
	assert_msg(f, 23, "carriage return");
	assert_ids(s, "crlf crlf2 f4 f5 f6 f8 m0 pl root sp wrap");
	assert_val(s, "f4", UA_PASSWORD, "empty");
	assert_val(s, "f4", UA_UID, "1001");
	assert_val(s, "f4", UA_SHELL, "");
	assert_val(s, "f5", UA_GECOS, "g");
	assert_val(s, "f5", UA_HOME, "");
	assert_val(s, "f6", UA_HOME, "/h");
	assert_val(s, "f6", UA_SHELL, "");
	assert_val(s, "f8", UA_SHELL, "/bin/sh:extra:more");
	assert_val(s, "sp", UA_UID, "0");
	assert_val(s, "sp", UA_GID, "1007");
	assert_val(s, "pl", UA_UID, "0");
	assert_val(s, "pl", UA_GID, "1008");
	assert_val(s, "crlf", UA_SHELL, "/bin/sh\r");
	assert_val(s, "crlf2", UA_SHELL, "/bin/sh\r\r");
	assert_val(s, "m0", UA_UID, "0");
	assert_val(s, "wrap", UA_UID, "1");
	obj_set_free(s);
}

/* The review's attack: a short line before the real one is the one glibc uses. */
static void test_glibc_first_short_line_wins(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/etc/passwd",
	    "svc::0:0\n"
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "svc:x:998:998:service:/var/lib/svc:/usr/sbin/nologin\n");
	s = users(f);
	assert_problems(f, "/etc/passwd:1:EBADMSG\n/etc/passwd:3:EBADMSG");
	assert_msg(f, 0, "7 fields expected, 4 found: read as glibc does");
	assert_msg(f, 1, "duplicate user 'svc': the first entry, on line 1, is in force");
	assert_val(s, "svc", UA_UID, "0");
	assert_val(s, "svc", UA_GID, "0");
	assert_val(s, "svc", UA_PASSWORD, "empty");
	assert_val(s, "svc", UA_HOME, "");
	obj_set_free(s);
}

static void test_malformed_shadow(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;
	char want[128];

	put(f, "/etc/shadow",
	    "root:" ROOT_SECRET ":19000:0:99999:7:::\n" /* 1 */
	    "alice:" ALICE_SECRET ":19000:0:99999:7\n"  /* 2: 6 fields */
	    "bob:!" BOB_SECRET ":19000:0:99999:7:::\n"  /* 3 */
	    "root:*:19000:0:99999:7:::\n"               /* 4: duplicate */
	    ":*:19000:0:99999:7:::\n"                   /* 5 */
	    "   \n"                                     /* 6: blank */
	    "daemon:*:19000:0:99999:7:::\n"             /* 7 */
	    "nobody:*:19000:0:99999:7:1:2\n"            /* 8: 8 fields */
	    "n8:*:19000:0:99999:7::\n"                  /* 9: 8 fields, no expiry */
	    "n10:*:19000:0:99999:7::::\n"               /* 10: 10 fields */
	    "nx:*:x:0:99999:7:::\n"                     /* 11 */
	    "ncr:*:19000:0:99999:7:::\r\n");            /* 12: flag "\r" */
	s = users(f);
	assert_problems(f,
	                "/etc/shadow:2:EBADMSG\n/etc/shadow:4:EBADMSG\n/etc/shadow:5:EBADMSG\n"
	                "/etc/shadow:8:EBADMSG\n/etc/shadow:9:EBADMSG\n/etc/shadow:10:EBADMSG\n"
	                "/etc/shadow:11:EBADMSG\n/etc/shadow:12:EBADMSG\n/etc/shadow:12:EBADMSG");
	assert_msg(f, 0,
	           "6 fields where glibc needs 9, or 8 with an expiry date: it ignores the "
	           "line");
	assert_msg(f, 1, "duplicate user entry: the first one, on line 1, is in force");
	assert_msg(f, 2, "empty user name");
	assert_msg(f, 3, "9 fields expected, 8 found: read as glibc does");
	assert_msg(f, 4, "8 fields where glibc needs 9");
	assert_msg(f, 5, "10 fields where glibc needs 9");
	assert_msg(f, 6, "field 3 is not a number: glibc ignores the line");
	assert_msg(f, 7, "field 9 is not a number");
	assert_msg(f, 8, "carriage return");
	expect_pw(f, want, sizeof(want), "set", ROOT_SECRET);
	assert_val(s, "root", UA_PASSWORD, want);
	assert_val(s, "alice", UA_PASSWORD, "none"); /* no usable entry: no password */
	expect_pw(f, want, sizeof(want), "locked", BOB_SECRET);
	assert_val(s, "bob", UA_PASSWORD, want);
	assert_val(s, "nobody", UA_PASSWORD, "none"); /* "*", from line 8 */
	obj_set_free(s);
}

static void test_malformed_group(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/etc/group",
	    "root:x:0:\n"                 /* 1 */
	    "sudo:x:27:alice\n"           /* 2 */
	    "adm:x:four:alice,bob\n"      /* 3 */
	    "wheel:x:10\n"                /* 4 */
	    "sudo:x:27:bob\n"             /* 5: duplicate */
	    "+:::\n"                      /* 6 */
	    "staff:x:50: carol, ,dave,\n" /* 7 */
	    "-x:x:1:\n"                   /* 8 */
	    "plus:x:+28:\n"               /* 9 */
	    "colons:x:29:a:b\n"           /* 10 */
	    "crlf:x:30\r\n"               /* 11 */
	    "crlfm:x:31:ann\r\n"          /* 12 */
	    "two:x\n");                   /* 13 */
	put(f, "/etc/gshadow",
	    "root:*::\n"       /* 1 */
	    "sudo:*:root\n"    /* 2: 3 fields */
	    "staff:!:carol:\n" /* 3 */
	    "staff:!:bob:\n"   /* 4: duplicate */
	    "wheel\n");        /* 5: 1 field */
	s = groups(f);
	assert_problems(f, "/etc/group:3:EBADMSG\n"
	                   "/etc/group:4:EBADMSG\n"
	                   "/etc/group:5:EBADMSG\n"
	                   "/etc/group:6:EBADMSG\n"
	                   "/etc/group:8:EBADMSG\n"
	                   "/etc/group:9:EBADMSG\n"
	                   "/etc/group:10:EBADMSG\n"
	                   "/etc/group:11:EBADMSG\n"
	                   "/etc/group:11:EBADMSG\n"
	                   "/etc/group:12:EBADMSG\n"
	                   "/etc/group:13:EBADMSG\n"
	                   "/etc/gshadow:2:EBADMSG\n"
	                   "/etc/gshadow:4:EBADMSG\n"
	                   "/etc/gshadow:5:EBADMSG");
	assert_msg(f, 0, "gid is not a decimal number: glibc ignores the line");
	assert_msg(f, 1, "4 fields expected, 3 found: read as glibc does");
	assert_msg(f, 2, "duplicate group 'sudo': the first entry, on line 2, is in force");
	assert_msg(f, 5, "gid '+28' is not plain decimal: read as glibc does, as 28");
	assert_msg(f, 6, "4 fields expected, 5 found");
	assert_msg(f, 7, "gid is not a decimal number"); /* "30\r" */
	assert_msg(f, 8, "carriage return");
	assert_msg(f, 9, "carriage return: glibc keeps it in the last field");
	assert_msg(f, 10, "empty gid");
	assert_msg(f, 11, "4 fields expected, 3 found");
	assert_msg(f, 12, "duplicate group entry");
	assert_msg(f, 13, "4 fields expected, 1 found");
	assert_ids(s, "colons crlfm plus root staff sudo wheel");
	assert_val(s, "wheel", GA_GID, "10");
	assert_val(s, "wheel", GA_MEMBERS, "");
	assert_val(s, "wheel", GA_ADMINISTRATORS, "");
	assert_val(s, "plus", GA_GID, "28");
	assert_val(s, "colons", GA_MEMBERS, "a:b");
	assert_val(s, "crlfm", GA_MEMBERS, "ann\r");
	assert_val(s, "sudo", GA_MEMBERS, "alice");
	assert_val(s, "sudo", GA_ADMINISTRATORS, "root"); /* glibc reads 3 fields */
	assert_val(s, "staff", GA_MEMBERS, "carol\ndave");
	assert_val(s, "staff", GA_ADMINISTRATORS, "carol");
	obj_set_free(s);

	/* users see the membership of the duplicate sudo line: initgroups() does */
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "alice", UA_GROUPS, "sudo");
	assert_val(s, "bob", UA_GROUPS, "sudo");
	obj_set_free(s);
}

static void test_malformed_keys(void **state)
{
	struct fixture *f = *state;
	char text[4096], b64[512], b64b[512], elem[256], line[256];
	struct obj_set *s;
	static const char pk[32] = {1};
	static const char *const mismatch[] = {"ssh-ed25519", pk};
	static const size_t mismatch_len[] = {11, 32};
	static const char *const curve[] = {"ecdsa-sha2-nistp256", "nistp384", "QQQQ"};
	static const size_t curve_len[] = {19, 8, 4};

	blob_b64(b64, sizeof(b64), 2, mismatch, mismatch_len);
	blob_b64(b64b, sizeof(b64b), 3, curve, curve_len);
	synth_key(7, line, sizeof(line), elem, sizeof(elem));
	snprintf(
	        text, sizeof(text),
	        "ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIGIx7ILSN2/S7eYxlB/zOsrC/xhRIvCb6iHvrdT8gCk/\n" /* 1 */
	        "ssh-ed25519 AAAA!!!!\n"          /* 2 */
	        "ssh-rsa %s\n"                    /* 3 */
	        "ecdsa-sha2-nistp256 %s\n"        /* 4 */
	        "command=\"unterminated " K1 "\n" /* 5 */
	        "ssh-ed25519\n"                   /* 6 */
	        "no-pty\n"                        /* 7 */
	        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGIx7ILSN2/S7eYxlB/zOsrC/xhRIvCb6iHvrdT8gCk\n" /* 8 */
	        "%s good one\n"                               /* 9 */
	        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGIx\n", /* 10: blob too short */
	        b64, b64b, line);
	put(f, "/home/bob/.ssh/authorized_keys", text);
	s = users(f);
	assert_problems(f, "/home/bob/.ssh/authorized_keys:1:EBADMSG\n"
	                   "/home/bob/.ssh/authorized_keys:2:EBADMSG\n"
	                   "/home/bob/.ssh/authorized_keys:3:EBADMSG\n"
	                   "/home/bob/.ssh/authorized_keys:4:EBADMSG\n"
	                   "/home/bob/.ssh/authorized_keys:5:EBADMSG\n"
	                   "/home/bob/.ssh/authorized_keys:6:EBADMSG\n"
	                   "/home/bob/.ssh/authorized_keys:7:EBADMSG\n"
	                   "/home/bob/.ssh/authorized_keys:8:EBADMSG\n"
	                   "/home/bob/.ssh/authorized_keys:10:EBADMSG");
	assert_msg(f, 0, "not a key: unknown key type");
	assert_msg(f, 1, "not valid base64");
	assert_msg(f, 2, "another type");
	assert_msg(f, 3, "another curve");
	assert_msg(f, 4, "unterminated quote");
	assert_msg(f, 5, "no key data");
	assert_msg(f, 6, "no key type");
	assert_msg(f, 7, "not valid base64"); /* padding missing */
	assert_msg(f, 8, "malformed key data");
	snprintf(text, sizeof(text), "%s comment=good one", elem);
	assert_val(s, "bob", UA_AUTHORIZED_KEYS, text);
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, ALICE_KEYS);
	obj_set_free(s);
}

static void test_malformed_sshd_config(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/etc/ssh/sshd_config",
	    "# test\n"                                 /* 1 */
	    "AuthorizedKeysFile \".ssh/unterminated\n" /* 2 */
	    "AuthorizedKeysFile\n"                     /* 3 */
	    "Include a.conf \"b.conf\n"                /* 4 */
	    "authorizedkeysfile=.ssh/a%z .ssh/ok\n"    /* 5 */
	    "AuthorizedKeysFile .ssh/late\n");         /* 6: too late */
	put(f, "/home/alice/.ssh/ok", K3 "\n");
	put(f, "/home/alice/.ssh/late", K1 "\n");
	put(f, "/etc/ssh/a.conf", "AuthorizedKeysFile .ssh/late\n"); /* not followed */
	s = users(f);
	assert_problems(f, "/etc/ssh/sshd_config:2:EBADMSG\n"
	                   "/etc/ssh/sshd_config:3:EBADMSG\n"
	                   "/etc/ssh/sshd_config:4:EBADMSG\n"
	                   "/etc/ssh/sshd_config:5:EBADMSG");
	assert_msg(f, 0, "unterminated quote");
	assert_msg(f, 1, "without a value");
	assert_msg(f, 2, "unterminated quote");
	assert_msg(f, 3, "unknown %-token");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, K3FP " ssh-rsa");
	assert_val(s, "bob", UA_AUTHORIZED_KEYS, "");
	obj_set_free(s);
}

/* ---------- missing and unreadable files ---------- */

static void test_missing_shadow(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	del(f, "/etc/shadow");
	del(f, "/etc/gshadow");
	s = users(f);
	assert_problems(f, "");
	assert_ids(s, "alice bob daemon nobody root");
	assert_val(s, "root", UA_PASSWORD, "none");
	assert_val(s, "alice", UA_PASSWORD, "none");
	assert_val(s, "alice", UA_GROUPS, "adm\nsudo");
	obj_set_free(s);
	s = groups(f);
	assert_problems(f, "");
	assert_val(s, "sudo", GA_MEMBERS, "alice");
	assert_val(s, "sudo", GA_ADMINISTRATORS, NULL);
	assert_val(s, "root", GA_ADMINISTRATORS, NULL);
	obj_set_free(s);
}

/* A shadow that cannot be read says nothing: passwords kept there are absent,
 * not "none"; a secret in passwd is still known. */
static void test_unreadable_shadow(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	del(f, "/etc/shadow");
	mkdirs(f, "/etc/shadow");
	put(f, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "daemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n");
	s = users(f);
	assert_problems(f, "/etc/shadow:0:EISDIR");
	assert_msg(f, 0, "is a directory");
	assert_val(s, "root", UA_PASSWORD, NULL);
	assert_val(s, "root", UA_UID, "0");
	assert_val(s, "daemon", UA_PASSWORD, "none");
	obj_set_free(s);
}

static void test_missing_passwd_group(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	del(f, "/etc/group");
	s = users(f);
	assert_problems(f, "/etc/group:0:ENOENT");
	assert_ids(s, "alice bob daemon nobody root");
	assert_val(s, "alice", UA_GROUPS, NULL); /* unknown, not empty */
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, ALICE_KEYS);
	obj_set_free(s);
	s = groups(f);
	assert_problems(f, "/etc/group:0:ENOENT");
	assert_ids(s, "");
	obj_set_free(s);

	del(f, "/etc/passwd");
	s = users(f);
	assert_problems(f, "/etc/passwd:0:ENOENT");
	assert_msg(f, 0, "does not exist");
	assert_ids(s, "");
	obj_set_free(s);
}

/* ---------- symlinks, FIFOs and other files ---------- */

/* An absolute link in the image points into the image, never to the host. */
static void test_ssh_symlink_outside(void **state)
{
	struct fixture *f = *state;
	char host[256], hostfile[300];
	struct obj_set *s;
	FILE *fp;

	/* a directory on the host, outside the root, holding another key */
	snprintf(host, sizeof(host), "%s/host", f->tmp);
	assert_int_equal(mkdir(host, 0755), 0);
	snprintf(hostfile, sizeof(hostfile), "%s/authorized_keys", host);
	fp = fopen(hostfile, "w");
	assert_non_null(fp);
	fputs(K3 " host-key\n", fp);
	fclose(fp);

	link_in(f, host, "/home/bob/.ssh"); /* absolute, host path */
	put(f, "/etc/ssh/sshd_config", "AuthorizedKeysFile .ssh/authorized_keys %h/up/keys\n");
	link_in(f, "../../../../../../../../../../srv", "/home/bob/up"); /* ".." stays in */
	put(f, "/srv/keys", K1 " srv\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "bob", UA_AUTHORIZED_KEYS, K1FP " ssh-ed25519 comment=srv");
	obj_set_free(s);

	/* the same host path inside the root is what is read */
	put(f, hostfile, K2 " in-image\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "bob", UA_AUTHORIZED_KEYS,
	           K1FP " ssh-ed25519 comment=srv\n" K2FP " ecdsa-sha2-nistp256 comment=in-image");
	obj_set_free(s);
}

/* A home that is a link to "/" is "/" of the image. */
static void test_home_symlink_root(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	del(f, "/home/alice/.ssh/authorized_keys");
	link_in(f, "/", "/home/carol");
	put(f, "/etc/passwd", "carol:x:1002:1002::/home/carol:/bin/sh\n");
	put(f, "/.ssh/authorized_keys", K3 " at-root\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "carol", UA_AUTHORIZED_KEYS, K3FP " ssh-rsa comment=at-root");
	assert_val(s, "carol", UA_PASSWORD, "none");
	obj_set_free(s);
}

static void test_fifo_keys(void **state)
{
	struct fixture *f = *state;
	char path[512];
	struct obj_set *s;

	del(f, "/home/alice/.ssh/authorized_keys");
	snprintf(path, sizeof(path), "%s/home/alice/.ssh/authorized_keys", f->root);
	assert_int_equal(mkfifo(path, 0644), 0);
	put(f, "/home/alice/.ssh/authorized_keys2", K1 "\n");
	mkdirs(f, "/home/bob/.ssh/authorized_keys");
	s = users(f);
	assert_problems(f, "/home/alice/.ssh/authorized_keys:0:EINVAL\n"
	                   "/home/bob/.ssh/authorized_keys:0:EISDIR");
	assert_msg(f, 0, "not a regular file");
	assert_msg(f, 0, "keys are not recorded");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, NULL);
	assert_val(s, "bob", UA_AUTHORIZED_KEYS, NULL);
	assert_val(s, "alice", UA_SHELL, "/bin/bash");
	assert_val(s, "root", UA_AUTHORIZED_KEYS, "");
	obj_set_free(s);
}

/* ".ssh" that is a file: no key file can exist below it. */
static void test_ssh_not_a_directory(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/home/bob/.ssh", "not a directory\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "bob", UA_AUTHORIZED_KEYS, "");
	obj_set_free(s);
}

/* ---------- names ---------- */

static void test_odd_names(void **state)
{
	struct fixture *f = *state;
	static const char passwd[] = "j\xc3\xb6s\xc3\xa9:x:2000:2000::/home/jose:/bin/sh\n"
	                             "\xff\xfe:x:2001:2001::/:/bin/sh\n"
	                             "a\x01"
	                             "b:x:2002:2002::/:/bin/sh\n"
	                             "host$:x:2003:2003:machine:/:/bin/false\n"
	                             "a;b\\c'd:x:2004:2004::/:/bin/sh\n"
	                             "\xff\xfe:x:0:0::/:/bin/sh\n"
	                             "tab\tname:x:2005:2005::/:/bin/sh\n";
	static const char group[] = "odd:x:3000:\xff\xfe,j\xc3\xb6s\xc3\xa9,host$\n";
	struct obj_set *s;
	const struct obj_rec *r;

	put(f, "/etc/passwd", passwd);
	put(f, "/etc/group", group);
	s = users(f);
	assert_problems(f, "/etc/passwd:6:EBADMSG\n/etc/passwd:7:EBADMSG");
	assert_msg(f, 0, "duplicate user '\\xff\\xfe'");
	assert_null(strchr(f->ps.p[0].msg, '\xff'));
	assert_msg(f, 1, "user name 'tab\\tname' contains '/' or whitespace");
	assert_int_equal(obj_set_count(s), 6);
	assert_val(s, "tab\tname", UA_UID, "2005"); /* glibc resolves it */
	assert_val(s, "j\xc3\xb6s\xc3\xa9", UA_GROUPS, "odd");
	assert_val(s, "\xff\xfe", UA_UID, "2001");
	assert_val(s, "\xff\xfe", UA_GROUPS, "odd");
	assert_val(s,
	           "a\x01"
	           "b",
	           UA_UID, "2002");
	assert_val(s, "host$", UA_GROUPS, "odd");
	assert_val(s, "a;b\\c'd", UA_UID, "2004");
	r = find(s, "\xff\xfe");
	assert_int_equal(r->id.n, 2);
	obj_set_free(s);
	s = groups(f);
	assert_problems(f, "");
	assert_val(s, "odd", GA_MEMBERS, "host$\nj\xc3\xb6s\xc3\xa9\n\xff\xfe");
	obj_set_free(s);
}

/* ---------- passwords ---------- */

static void test_password_states(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;
	char want[128];

	put(f, "/etc/passwd",
	    "e:x:1:1::/:/bin/sh\n"
	    "star:x:2:1::/:/bin/sh\n"
	    "bang:x:3:1::/:/bin/sh\n"
	    "bangbang:x:4:1::/:/bin/sh\n"
	    "bangstar:x:5:1::/:/bin/sh\n"
	    "banggarbage:x:17:1::/:/bin/sh\n"
	    "xx:x:6:1::/:/bin/sh\n"
	    "des:x:7:1::/:/bin/sh\n"
	    "des12:x:8:1::/:/bin/sh\n"
	    "des13bad:x:9:1::/:/bin/sh\n"
	    "sha:x:10:1::/:/bin/sh\n"
	    "locked:x:11:1::/:/bin/sh\n"
	    "locked2:x:12:1::/:/bin/sh\n"
	    "noshadow:x:13:1::/:/bin/sh\n"
	    "pstar:*:14:1::/:/bin/sh\n"
	    "phash:$1$abc$def:15:1::/:/bin/sh\n"
	    "plocked:!$1$abc$def:16:1::/:/bin/sh\n");
	put(f, "/etc/shadow",
	    "e::19000:0:99999:7:::\n"
	    "star:*:19000:0:99999:7:::\n"
	    "bang:!:19000:0:99999:7:::\n"
	    "bangbang:!!:19000:0:99999:7:::\n"
	    "bangstar:!*:19000:0:99999:7:::\n"
	    "banggarbage:!garbage:19000:0:99999:7:::\n"
	    "xx:x:19000:0:99999:7:::\n"
	    "des:abcdefghijk.m:19000:0:99999:7:::\n"
	    "des12:abcdefghijkl:19000:0:99999:7:::\n"
	    "des13bad:ab$defghijklm:19000:0:99999:7:::\n"
	    "sha:$6$s$h:19000:0:99999:7:::\n"
	    "locked:!$6$s$h:19000:0:99999:7:::\n"
	    "locked2:!!$6$s$h:19000:0:99999:7:::\n"
	    "pstar:$6$s$h:19000:0:99999:7:::\n"
	    "phash:$6$s$h:19000:0:99999:7:::\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "e", UA_PASSWORD, "empty");
	assert_val(s, "star", UA_PASSWORD, "none");
	expect_pw(f, want, sizeof(want), "locked", ""); /* a lock with nothing behind it */
	assert_val(s, "bang", UA_PASSWORD, want);
	assert_val(s, "bangbang", UA_PASSWORD, want);
	assert_val(s, "bangstar", UA_PASSWORD, "none");
	assert_val(s, "banggarbage", UA_PASSWORD, "none");
	assert_val(s, "xx", UA_PASSWORD, "none");
	expect_pw(f, want, sizeof(want), "set", "abcdefghijk.m");
	assert_val(s, "des", UA_PASSWORD, want);
	assert_val(s, "des12", UA_PASSWORD, "none");
	assert_val(s, "des13bad", UA_PASSWORD, "none");
	expect_pw(f, want, sizeof(want), "set", "$6$s$h");
	assert_val(s, "sha", UA_PASSWORD, want);
	expect_pw(f, want, sizeof(want), "locked", "$6$s$h");
	assert_val(s, "locked", UA_PASSWORD, want);
	assert_val(s, "locked2", UA_PASSWORD, want);
	assert_val(s, "noshadow", UA_PASSWORD, "none");
	assert_val(s, "pstar", UA_PASSWORD, "none"); /* passwd's "*" is in force */
	expect_pw(f, want, sizeof(want), "set", "$1$abc$def");
	assert_val(s, "phash", UA_PASSWORD, want);
	expect_pw(f, want, sizeof(want), "locked", "$1$abc$def");
	assert_val(s, "plocked", UA_PASSWORD, want);
	obj_set_free(s);

	/* without a key only the state is recorded */
	f->ctx.secret_key = NULL;
	s = users(f);
	assert_val(s, "sha", UA_PASSWORD, "set");
	assert_val(s, "locked", UA_PASSWORD, "locked");
	obj_set_free(s);
}

/* A different key gives different digests (the digest is keyed). */
static void test_password_keyed(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a = users(f), *b;

	f->key[0] ^= 1;
	b = users(f);
	assert_int_equal(obj_set_count(a), obj_set_count(b));
	for (size_t i = 0; i < obj_set_count(a); i++) {
		const struct obj_rec *ra = obj_set_at(a, i), *rb = obj_set_at(b, i);
		bool digest = ra->id.n != 6 || memcmp(ra->id.p, "daemon", 6) != 0;

		if (ra->id.n == 6 && memcmp(ra->id.p, "nobody", 6) == 0)
			digest = false;
		assert_int_equal(obj_diff(ra, rb, attr_all(KIND_USER)),
		                 digest ? ATTR_BIT(UA_PASSWORD) : 0);
	}
	obj_set_free(a);
	obj_set_free(b);
}

/* ---------- sshd_config ---------- */

static void test_sshd_tokens(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/etc/ssh/sshd_config",
	    "Port 22\n"
	    "  AuthorizedKeysFile   /etc/ssh/keys/%u \".ssh/my keys\" %h/.ssh/x%%y /k/%U\n"
	    "Match User alice\n"
	    "  AuthorizedKeysFile /nowhere\n");
	put(f, "/etc/ssh/keys/alice", K1 " a\n");
	put(f, "/home/alice/.ssh/my keys", K2 " b\n");
	put(f, "/home/alice/.ssh/x%y", K3 " c\n");
	put(f, "/k/1001", K3 " bob-by-uid\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS,
	           K3FP " ssh-rsa comment=c\n" K1FP " ssh-ed25519 comment=a\n" K2FP
	                " ecdsa-sha2-nistp256 comment=b");
	assert_val(s, "bob", UA_AUTHORIZED_KEYS, K3FP " ssh-rsa comment=bob-by-uid");
	obj_set_free(s);
}

static void test_sshd_include(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/etc/ssh/sshd_config",
	    "Include /etc/ssh/sshd_config.d/*.conf\n"
	    "AuthorizedKeysFile .ssh/top\n");
	put(f, "/etc/ssh/sshd_config.d/10-a.conf", "# nothing here\nPasswordAuthentication no\n");
	put(f, "/etc/ssh/sshd_config.d/20-b.conf", "AuthorizedKeysFile .ssh/from_b\n");
	put(f, "/etc/ssh/sshd_config.d/30-c.conf", "AuthorizedKeysFile .ssh/from_c\n");
	put(f, "/etc/ssh/sshd_config.d/.05-hidden.conf", "AuthorizedKeysFile .ssh/hidden\n");
	put(f, "/etc/ssh/sshd_config.d/01-x.conf.disabled", "AuthorizedKeysFile .ssh/disabled\n");
	put(f, "/home/alice/.ssh/from_b", K1 "\n");
	put(f, "/home/alice/.ssh/from_c", K2 "\n");
	put(f, "/home/alice/.ssh/top", K2 "\n");
	put(f, "/home/alice/.ssh/hidden", K2 "\n");
	put(f, "/home/alice/.ssh/disabled", K2 "\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, K1FP " ssh-ed25519");
	obj_set_free(s);

	/* a relative Include is under /etc/ssh; a Match ends the global part */
	put(f, "/etc/ssh/sshd_config", "Include extra.conf\nAuthorizedKeysFile .ssh/top\n");
	put(f, "/etc/ssh/extra.conf", "Match Group adm\nAuthorizedKeysFile .ssh/from_b\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, ALICE_KEYS); /* the default files */
	obj_set_free(s);
}

static void test_sshd_none_and_loops(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;

	put(f, "/etc/ssh/sshd_config", "AuthorizedKeysFile none\n");
	s = users(f);
	assert_problems(f, "");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, "");
	obj_set_free(s);

	/* a file that includes itself: bounded, reported, defaults kept */
	put(f, "/etc/ssh/sshd_config", "Include sshd_config\n");
	s = users(f);
	assert_problems(f, "/etc/ssh/sshd_config:1:ELOOP");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, ALICE_KEYS);
	obj_set_free(s);

	/* a file including itself twice per level: the file count bound ends it */
	put(f, "/etc/ssh/sshd_config", "Include sshd_config sshd_config\n");
	s = users(f);
	assert_true(f->ps.n >= 1);
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, ALICE_KEYS);
	obj_set_free(s);

	put(f, "/etc/ssh/sshd_config", "Include /etc/*/x.conf\n");
	s = users(f);
	assert_problems(f, "/etc/ssh/sshd_config:1:EOPNOTSUPP");
	obj_set_free(s);
}

/* ---------- the key parser ---------- */

static void test_parse_keys(void **state)
{
	struct fixture *f = *state;
	struct buf list = {0};
	char *got;
	static const char text[] =
	        "  " K1 "   alice at laptop  \r\n"
	        "\t# comment\n"
	        "command=\"echo \\\"a b\\\"\",no-pty " K3 " x\n"
	        "cert-authority,principals=\"a,b\" " K1 "\n" CERT " alice@laptop\n"
	        "restrict\t" K2 "\n";

	f->ps.n = 0;
	assert_int_equal(accounts_parse_keys(&f->ctx, "/k", text, sizeof(text) - 1, &list), 0);
	assert_problems(f, "");
	got = strndup((const char *)list.p, list.n);
	assert_string_equal(got, K1FP
	                    " ssh-ed25519 comment=alice at laptop\n" K3FP
	                    " ssh-rsa options=command=\"echo \\\"a b\\\"\",no-pty comment=x\n" K1FP
	                    " ssh-ed25519 options=cert-authority,principals=\"a,b\"\n" CERTFP
	                    " ssh-ed25519-cert-v01@openssh.com comment=alice@laptop\n" K2FP
	                    " ecdsa-sha2-nistp256 options=restrict");
	free(got);
	buf_free(&list);
}

static void test_key_bounds(void **state)
{
	struct fixture *f = *state;
	size_t n = (ACCOUNTS_MAX_KEYS + 1) * (sizeof(K1) + 1) + 1;
	char *text = malloc(n), *o = text;
	struct obj_set *s;

	assert_non_null(text);
	for (unsigned i = 0; i <= ACCOUNTS_MAX_KEYS; i++) {
		memcpy(o, K1 "\n", sizeof(K1));
		o += sizeof(K1);
	}
	put_n(f, "/home/bob/.ssh/authorized_keys", text, (size_t)(o - text));
	free(text);
	s = users(f);
	assert_problems(f, "/home/bob/.ssh/authorized_keys:10001:E2BIG");
	assert_val(s, "bob", UA_AUTHORIZED_KEYS, NULL);
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, ALICE_KEYS);
	obj_set_free(s);
}

static void test_keyfile_bound(void **state)
{
	struct fixture *f = *state;
	char text[1024] = "AuthorizedKeysFile";
	struct obj_set *s;

	for (unsigned i = 0; i < ACCOUNTS_MAX_KEYFILES + 3; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), " .ssh/k%u", i);
	strcat(text, "\n");
	put(f, "/etc/ssh/sshd_config", text);
	put(f, "/home/alice/.ssh/k31", K1 "\n");
	put(f, "/home/alice/.ssh/k32", K2 "\n");
	s = users(f);
	assert_problems(f, "/etc/ssh/sshd_config:1:E2BIG");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, K1FP " ssh-ed25519");
	obj_set_free(s);
}

/* The buffer-level parsers without a root: keys absent when not asked for. */
static void test_parse_users_buffers(void **state)
{
	struct fixture *f = *state;
	struct accounts_text pw = {"/etc/passwd", base_passwd, sizeof(base_passwd) - 1, 0};
	struct accounts_text sh = {"/etc/shadow", NULL, 0, -ENOENT};
	struct accounts_text gr = {"/etc/group", base_group, sizeof(base_group) - 1, 0};
	struct obj_set *s;

	assert_int_equal(obj_set_new(KIND_USER, &s), 0);
	f->ps.n = 0;
	assert_int_equal(accounts_parse_users(&f->ctx, &pw, &sh, &gr, NULL, s), 0);
	assert_problems(f, "");
	assert_ids(s, "alice bob daemon nobody root");
	assert_val(s, "alice", UA_AUTHORIZED_KEYS, NULL);
	assert_val(s, "alice", UA_PASSWORD, "none");
	assert_val(s, "bob", UA_GROUPS, "adm");
	obj_set_free(s);
}

/* ---------- account files of any size and line length (streamed) ---------- */

/* A malloc'd text: HEAD, then N bytes of C, then TAIL; its length in *len. */
static char *padded(const char *head, char c, size_t n, const char *tail, size_t *len)
{
	size_t h = strlen(head), t = strlen(tail);
	char *p = malloc(h + n + t + 1);

	assert_non_null(p);
	memcpy(p, head, h);
	memset(p + h, c, n);
	memcpy(p + h + n, tail, t + 1);
	*len = h + n + t;
	return p;
}

/* A passwd padded past 16 MiB with one comment still has every account read,
 * the second uid-0 account after the comment included. */
static void test_stream_padded_comment(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;
	size_t n;
	char *text = padded(base_passwd, 'c', 17u << 20, "\ntoor:x:0:0::/root:/bin/bash\n", &n);

	text[sizeof(base_passwd) - 1] = '#';
	put_n(f, "/etc/passwd", text, n);
	free(text);
	s = users(f);
	assert_problems(f, "");
	assert_ids(s, "alice bob daemon nobody root toor");
	assert_val(s, "toor", UA_UID, "0");
	assert_val(s, "toor", UA_SHELL, "/bin/bash");
	obj_set_free(s);
}

/* Lines longer than 64 KiB, and megabytes of leading blanks, are read as glibc
 * reads them. */
static void test_stream_long_lines(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;
	const struct obj_rec *r;
	size_t n1, n2;
	char *big = padded("big:x:0:0:", 'A', 100000, ":/root:/bin/sh\n", &n1);
	char *lead = padded("", ' ', 5u << 20, "lead0:x:0:0::/:/bin/sh\n", &n2);
	char *text = malloc(sizeof(base_passwd) + n1 + n2);

	assert_non_null(text);
	memcpy(text, base_passwd, sizeof(base_passwd) - 1);
	memcpy(text + sizeof(base_passwd) - 1, big, n1);
	memcpy(text + sizeof(base_passwd) - 1 + n1, lead, n2);
	put_n(f, "/etc/passwd", text, sizeof(base_passwd) - 1 + n1 + n2);
	free(text);
	free(big);
	free(lead);
	s = users(f);
	assert_problems(f, "");
	assert_ids(s, "alice big bob daemon lead0 nobody root");
	assert_val(s, "big", UA_UID, "0");
	assert_val(s, "big", UA_SHELL, "/bin/sh");
	r = find(s, "big");
	assert_int_equal(r->val[UA_GECOS].n, 100000);
	assert_val(s, "lead0", UA_UID, "0");
	assert_val(s, "lead0", UA_SHELL, "/bin/sh");
	obj_set_free(s);
}

/* A line longer than ACCOUNTS_MAX_ENTRY: recorded without what was cut when its
 * key fields were kept, else reported as not interpreted; never silently. */
static void test_stream_cut_lines(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;
	size_t n1, n2, n3, n4;
	char *cutg = padded("cutg:x:0:0:", 'A', ACCOUNTS_MAX_ENTRY, ":/root:/bin/sh\n", &n1);
	char *cutu = padded("cutu:x:", ' ', ACCOUNTS_MAX_ENTRY, "0:0::/:/bin/sh\n", &n2);
	char *sh = padded(base_shadow, 'x', ACCOUNTS_MAX_ENTRY, ":19000:0:99999:7:::\n", &n3);
	char *gr = padded(base_group, 'b', ACCOUNTS_MAX_ENTRY, ",carol\n", &n4);
	char *text = malloc(sizeof(base_passwd) + n1 + n2);

	assert_non_null(text);
	memcpy(text, base_passwd, sizeof(base_passwd) - 1);
	memcpy(text + sizeof(base_passwd) - 1, cutg, n1);
	memcpy(text + sizeof(base_passwd) - 1 + n1, cutu, n2);
	put_n(f, "/etc/passwd", text, sizeof(base_passwd) - 1 + n1 + n2);
	/* line 6 of shadow: cutg's password, cut; line 7 of group: group big, cut */
	memcpy(sh + sizeof(base_shadow) - 1, "cutg:$6$", 8);
	put_n(f, "/etc/shadow", sh, n3);
	memcpy(gr + sizeof(base_group) - 1, "big:x:0:alice,", 14);
	put_n(f, "/etc/group", gr, n4);
	free(text);
	free(cutg);
	free(cutu);
	free(sh);
	free(gr);

	s = users(f);
	assert_problems(f, "/etc/passwd:6:E2BIG\n"
	                   "/etc/passwd:7:E2BIG\n"
	                   "/etc/shadow:6:E2BIG\n"
	                   "/etc/group:0:E2BIG");
	assert_msg(f, 0,
	           "line of 4194329 bytes, longer than 4194304: glibc reads it, fim only "
	           "its first bytes; user 'cutg' is recorded without field 5 and those "
	           "after it");
	assert_msg(f, 1,
	           "line of 4194325 bytes, longer than 4194304: glibc reads it, fim cannot "
	           "interpret it; user 'cutu' is not recorded");
	assert_msg(f, 2, "line of 4194323 bytes, longer than 4194304");
	assert_msg(f, 3, "users' groups are not recorded");
	assert_ids(s, "alice bob cutg daemon nobody root");
	assert_val(s, "cutg", UA_UID, "0");
	assert_val(s, "cutg", UA_GID, "0");
	assert_val(s, "cutg", UA_GECOS, NULL);
	assert_val(s, "cutg", UA_HOME, NULL);
	assert_val(s, "cutg", UA_SHELL, NULL);
	assert_val(s, "cutg", UA_PASSWORD, NULL);
	assert_val(s, "cutg", UA_AUTHORIZED_KEYS, NULL);
	assert_val(s, "alice", UA_GROUPS, NULL);
	assert_val(s, "alice", UA_SHELL, "/bin/bash");
	obj_set_free(s);

	s = groups(f);
	assert_problems(f, "/etc/group:7:E2BIG");
	assert_msg(f, 0, "group 'big' is recorded without field 4 and those after it");
	assert_ids(s, "adm alice big bob nogroup root sudo");
	assert_val(s, "big", GA_GID, "0");
	assert_val(s, "big", GA_MEMBERS, NULL);
	assert_val(s, "sudo", GA_MEMBERS, "alice");
	obj_set_free(s);
}

/* The memory bound on what one file keeps is reported where it is reached. */
static void test_stream_text_bound(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;
	size_t line = 1u << 20, lines = ACCOUNTS_MAX_TEXT / line + 1, o = 0;
	char *text = malloc(lines * (line + 1));

	assert_non_null(text);
	for (size_t i = 0; i < lines; i++) {
		int w = snprintf(text + o, 32, "u%zu:x:%zu:0:", i, 2000 + i);

		memset(text + o + w, 'g', line - (size_t)w - 11);
		o += line - 11;
		memcpy(text + o, ":/:/bin/sh\n", 11);
		o += 11;
	}
	put_n(f, "/etc/passwd", text, o);
	free(text);
	s = users(f);
	assert_int_equal(f->ps.n, 1);
	assert_int_equal(f->ps.p[0].line, lines);
	assert_int_equal(f->ps.p[0].err, -E2BIG);
	assert_msg(f, 0, "entries take more than 33554432 bytes: the rest of the file is not read");
	assert_int_equal(obj_set_count(s), lines - 1);
	obj_set_free(s);
}

/* glibc takes the first line of a name, a cut one included: an account the
 * cut line redefines is not taken from a later line, nor said unrecorded
 * while it is. */
static void test_stream_cut_line_first(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s;
	size_t n;
	char *cut = padded("alice:x:", ' ', ACCOUNTS_MAX_ENTRY, "0:0::/root:/bin/sh\n", &n);
	char *text = malloc(n + sizeof(base_passwd));

	assert_non_null(text);
	memcpy(text, cut, n);
	memcpy(text + n, base_passwd, sizeof(base_passwd) - 1);
	put_n(f, "/etc/passwd", text, n + sizeof(base_passwd) - 1);
	free(text);
	free(cut);
	s = users(f);
	assert_problems(f, "/etc/passwd:1:E2BIG\n"
	                   "/etc/passwd:4:EBADMSG");
	assert_msg(f, 0,
	           "line of 4194330 bytes, longer than 4194304: glibc reads it, fim cannot "
	           "interpret it; user 'alice' is not recorded");
	assert_msg(f, 1, "duplicate user 'alice': the first entry, on line 1, is in force");
	assert_ids(s, "bob daemon nobody root");
	obj_set_free(s);

	/* after the entry in force, the cut line is a duplicate glibc ignores */
	cut = padded("alice:x:", ' ', ACCOUNTS_MAX_ENTRY, "0:0::/root:/bin/sh\n", &n);
	text = malloc(n + sizeof(base_passwd));
	assert_non_null(text);
	memcpy(text, base_passwd, sizeof(base_passwd) - 1);
	memcpy(text + sizeof(base_passwd) - 1, cut, n);
	put_n(f, "/etc/passwd", text, n + sizeof(base_passwd) - 1);
	free(text);
	free(cut);
	s = users(f);
	assert_problems(f, "/etc/passwd:6:EBADMSG");
	assert_msg(f, 0,
	           "duplicate user entry, longer than 4194304 bytes: the first one, on line 3, "
	           "is in force");
	assert_ids(s, "alice bob daemon nobody root");
	assert_val(s, "alice", UA_UID, "1000");
	obj_set_free(s);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_normal),
	        T(test_stable),
	        T(test_drift_shell),
	        T(test_drift_uid0),
	        T(test_drift_gecos),
	        T(test_drift_home),
	        T(test_drift_home_keys),
	        T(test_drift_password_changed),
	        T(test_drift_unlocked),
	        T(test_drift_emptied),
	        T(test_drift_hash_in_passwd),
	        T(test_drift_empty_in_passwd),
	        T(test_same_hash_moved_to_passwd),
	        T(test_drift_added_to_group),
	        T(test_drift_administrators),
	        T(test_drift_key_added),
	        T(test_drift_key_removed),
	        T(test_drift_key_options),
	        T(test_drift_key_comment),
	        T(test_drift_key_in_keys2),
	        T(test_secret_never_leaks),
	        T(test_malformed_passwd),
	        T(test_glibc_passwd),
	        T(test_glibc_first_short_line_wins),
	        T(test_malformed_shadow),
	        T(test_malformed_group),
	        T(test_malformed_keys),
	        T(test_malformed_sshd_config),
	        T(test_missing_shadow),
	        T(test_unreadable_shadow),
	        T(test_missing_passwd_group),
	        T(test_ssh_symlink_outside),
	        T(test_home_symlink_root),
	        T(test_fifo_keys),
	        T(test_ssh_not_a_directory),
	        T(test_odd_names),
	        T(test_password_states),
	        T(test_password_keyed),
	        T(test_sshd_tokens),
	        T(test_sshd_include),
	        T(test_sshd_none_and_loops),
	        T(test_parse_keys),
	        T(test_key_bounds),
	        T(test_keyfile_bound),
	        T(test_parse_users_buffers),
	        T(test_stream_padded_comment),
	        T(test_stream_long_lines),
	        T(test_stream_cut_lines),
	        T(test_stream_cut_line_first),
	        T(test_stream_text_bound),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
