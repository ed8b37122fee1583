/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/packages.c: dpkg's version order, the status parser, drift terms. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "baseline/packages.h"
#include "tests/unit/fixture.h"

struct fixture {
	char root[128];
	int rootfd;
	struct obj_set *set;
	struct fx_problems ps;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !fx_tmpdir(f->root, sizeof(f->root), "packages"))
		return -1;
	f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	obj_set_free(f->set);
	close(f->rootfd);
	fx_rmtree(f->root);
	free(f);
	return 0;
}

/* Collects the packages of the fake root with STATUS as its dpkg status file. */
static struct obj_set *collect(struct fixture *f, const char *status)
{
	struct collect_ctx ctx = {
	        .rootfd = f->rootfd, .problem = fx_on_problem, .userdata = &f->ps};

	assert_true(fx_put(f->root, PKG_STATUS_PATH, status));
	obj_set_free(f->set);
	memset(&f->ps, 0, sizeof(f->ps));
	assert_int_equal(obj_set_new(KIND_PACKAGE, &f->set), 0);
	assert_int_equal(collect_packages(&ctx, f->set), 0);
	return f->set;
}

static const struct obj_rec *get(const struct obj_set *s, const char *id)
{
	const struct obj_rec *r = obj_set_find(s, id, strlen(id));

	if (!r)
		fail_msg("no package %s", id);
	return r;
}

static void assert_val(const struct obj_rec *r, unsigned a, const char *want)
{
	char have[4096];

	assert_true(r->attrs & ATTR_BIT(a));
	snprintf(have, sizeof(have), "%.*s", (int)r->val[a].n, (const char *)r->val[a].p);
	assert_string_equal(have, want);
}

/* --- dpkg's version order, judged by dpkg itself --- */

/* What `dpkg --compare-versions A OP B` says (true when it exits 0). */
static bool dpkg_says(const char *a, const char *op, const char *b)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		execlp("dpkg", "dpkg", "--compare-versions", a, op, b, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= 1);
	return WEXITSTATUS(st) == 0;
}

static void test_version_order_matches_dpkg(void **state)
{
	static const char *const v[][2] = {
	        {"3.0.11-1", "3.0.15-1"},
	        {"3.0.15-1", "3.0.11-1"},
	        {"1.0", "1.0"},
	        {"1.0", "1.0-0"},
	        {"1.0~rc1", "1.0"},
	        {"1.0~rc1-1", "1.0~rc2-1"},
	        {"1.0~~", "1.0~"},
	        {"1.0~", "1.0"},
	        {"1.0", "1.0a"},
	        {"1.0a", "1.0+"},
	        {"1.0+dfsg", "1.0.1"},
	        {"1:1.0", "2.0"},
	        {"0:1.0", "1.0"},
	        {"2:0.1", "10:0.1"},
	        {"10:0.1", "9:99"},
	        {"1.01", "1.1"},
	        {"1.002", "1.10"},
	        {"1.0-1", "1.0-1ubuntu1"},
	        {"1.0-1ubuntu1", "1.0-1+deb12u1"},
	        {"1:9.2p1-2", "1:9.2p1-2+deb12u3"},
	        {"2.36-9+deb12u4", "2.36-9+deb12u10"},
	        {"1.2.3-4-5", "1.2.3-4-6"},
	        {"1.2.3-4-5", "1.2.3-5"},
	        {"7.88.1-10+deb12u5", "7.88.1-10+deb12u12"},
	        {"99999999999999999999", "100000000000000000000"},
	        {"1.0.0", "1.0"},
	        {"1a", "1b"},
	        {"1.0-a", "1.0-A"},
	        {"1.0-0.1", "1.0-0.01"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		const char *a = v[i][0], *b = v[i][1];
		int ours = packages_version_cmp(a, strlen(a), b, strlen(b)), dpkg;

		assert_true(packages_version_valid(a, strlen(a)) &&
		            packages_version_valid(b, strlen(b)));
		dpkg = dpkg_says(a, "lt", b) ? -1 : dpkg_says(a, "eq", b) ? 0 : 1;
		if (ours != dpkg)
			fail_msg("%s vs %s: ours %d, dpkg %d", a, b, ours, dpkg);
		assert_int_equal(dpkg_says(a, "gt", b), dpkg == 1);
	}
}

static void test_version_syntax(void **state)
{
	static const char *const good[] = {
	        "1", "1.0", "1:1.0-1", "1.0~rc1+dfsg-1.1~bpo12+1", "1.2.3-4-5", "0:0", "2:0:1-1"};
	static const char *const bad[] = {"",      "a1", ":1.0", "1.0-",    "x:1.0", "1 0",
	                                  "1.0_1", "1:", "-1",   "1.0-1:1", "1.0/"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!packages_version_valid(good[i], strlen(good[i])))
			fail_msg("%s should be valid", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (packages_version_valid(bad[i], strlen(bad[i])))
			fail_msg("%s should be invalid", bad[i]);
	/* a NUL byte inside is no version character */
	assert_false(packages_version_valid("1.0\0", 4));
	assert_false(packages_version_valid("1.0-1\0", 6));
}

/* --- the parser --- */

static const char base_status[] = "Package: openssl\n"
                                  "Status: install ok installed\n"
                                  "Priority: optional\n"
                                  "Architecture: amd64\n"
                                  "Multi-Arch: foreign\n"
                                  "Source: openssl (3.0.11-1)\n"
                                  "Version: 3.0.11-1\n"
                                  "Conffiles:\n"
                                  " /etc/ssl/openssl.cnf 6b4b4ba7ea3ec2ac5b1a5e2a9e4b5cfe\n"
                                  " /etc/ssl/old.cnf 0123456789abcdef0123456789abcdef obsolete\n"
                                  "Description: Secure Sockets Layer toolkit\n"
                                  " This package contains the openssl binary.\n"
                                  " .\n"
                                  " Package: not-a-field\n"
                                  "\n"
                                  "Package: tzdata\n"
                                  "Status: install ok installed\n"
                                  "Architecture: all\n"
                                  "Version: 2024a-0+deb12u1\n"
                                  "\n"
                                  "Package: oldpkg\n"
                                  "Status: deinstall ok config-files\n"
                                  "Architecture: amd64\n"
                                  "Version: 1.0-1\n"
                                  "Conffiles:\n"
                                  " /etc/oldpkg.conf 0123456789abcdef0123456789abcdef\n"
                                  "\n"
                                  "Package: gone\n"
                                  "Status: purge ok not-installed\n"
                                  "Architecture: amd64\n"
                                  "\n";

static void test_collect(void **state)
{
	struct fixture *f = *state;
	struct obj_set *s = collect(f, base_status);
	const struct obj_rec *r;

	assert_int_equal(f->ps.n, 0);
	assert_int_equal(obj_set_count(s), 3); /* not-installed is no object */
	r = get(s, "openssl:amd64");
	assert_val(r, PA_VERSION, "3.0.11-1");
	assert_val(r, PA_STATUS, "install ok installed");
	assert_val(r, PA_ARCHITECTURE, "amd64");
	assert_val(r, PA_MULTI_ARCH, "foreign");
	assert_val(r, PA_SOURCE, "openssl (3.0.11-1)");
	assert_val(r, PA_CONFFILES,
	           "/etc/ssl/old.cnf 0123456789abcdef0123456789abcdef obsolete\n"
	           "/etc/ssl/openssl.cnf 6b4b4ba7ea3ec2ac5b1a5e2a9e4b5cfe");
	r = get(s, "tzdata:all");
	assert_val(r, PA_VERSION, "2024a-0+deb12u1");
	assert_int_equal(r->attrs,
	                 ATTR_BIT(PA_VERSION) | ATTR_BIT(PA_STATUS) | ATTR_BIT(PA_ARCHITECTURE));
	r = get(s, "oldpkg:amd64");
	assert_val(r, PA_STATUS, "deinstall ok config-files");
	assert_null(obj_set_find(s, "gone:amd64", 10));
}

static void test_no_database(void **state)
{
	struct fixture *f = *state;
	struct collect_ctx ctx = {
	        .rootfd = f->rootfd, .problem = fx_on_problem, .userdata = &f->ps};

	assert_int_equal(obj_set_new(KIND_PACKAGE, &f->set), 0);
	assert_int_equal(collect_packages(&ctx, f->set), 0);
	assert_int_equal(obj_set_count(f->set), 0);
	assert_int_equal(f->ps.n, 0);
}

static void test_malformed_stanzas(void **state)
{
	struct fixture *f = *state;
	char text[4096];
	static const char status[] = "Status: install ok installed\n" /* 1: no Package */
	                             "Version: 1.0\n"
	                             "\n"
	                             "Package: badstatus\n" /* 4 */
	                             "Status: install ok sideways\n"
	                             "\n"
	                             "Package: badversion\n" /* 7 */
	                             "Status: install ok installed\n"
	                             "Version: x:1.0\n"
	                             "\n"
	                             "Package: badconf\n" /* 11 */
	                             "Status: install ok installed\n"
	                             "Conffiles:\n"
	                             " /etc/x.conf nothex\n"
	                             "\n"
	                             "Package: relconf\n" /* 16 */
	                             "Status: install ok installed\n"
	                             "Conffiles:\n"
	                             " etc/x.conf 0123456789abcdef0123456789abcdef\n"
	                             "\n"
	                             "Package: twice\n" /* 21 */
	                             "Package: twice\n"
	                             "Status: install ok installed\n"
	                             "\n"
	                             "Package: BadName\n" /* 25 */
	                             "Status: install ok installed\n"
	                             "\n"
	                             "Package: good\n" /* 28 */
	                             "Status: install ok installed\n"
	                             "Architecture: amd64\n"
	                             "Version: 2.0\n";

	collect(f, status);
	assert_int_equal(obj_set_count(f->set), 1);
	get(f->set, "good:amd64");
	assert_string_equal(
	        fx_problems_text(&f->ps, text, sizeof(text)),
	        "/var/lib/dpkg/status:1: a stanza has no Package field: the package is not "
	        "recorded\n"
	        "/var/lib/dpkg/status:4: the Status field is missing or is not \"WANT FLAG "
	        "STATE\": "
	        "the package is not recorded\n"
	        "/var/lib/dpkg/status:7: the version is not valid: the package is not recorded\n"
	        "/var/lib/dpkg/status:11: a conffile digest is not an MD5 in hex: the package is "
	        "not recorded\n"
	        "/var/lib/dpkg/status:16: a conffile path is not absolute: the package is not "
	        "recorded\n"
	        "/var/lib/dpkg/status:21: a field appears twice: the package is not recorded\n"
	        "/var/lib/dpkg/status:25: the package name is not valid: the package is not "
	        "recorded\n");
	for (size_t i = 0; i < f->ps.n; i++)
		assert_int_equal(f->ps.p[i].err, -EBADMSG);
}

/* A NUL byte, and a line longer than what is kept, make their stanza a problem. */
static void test_nul_and_long_lines(void **state)
{
	struct fixture *f = *state;
	struct collect_ctx ctx = {
	        .rootfd = f->rootfd, .problem = fx_on_problem, .userdata = &f->ps};
	size_t big = PKG_MAX_LINE + 100, n = 0;
	char *buf = malloc(big + 512), text[2048];
	static const char head[] = "Package: nul\nStatus: install ok installed\nVersion: 1\0x\n\n"
	                           "Package: long\nStatus: install ok installed\nVersion: ";
	static const char tail[] = "\n\nPackage: longdesc\nStatus: install ok installed\n"
	                           "Description: ";

	assert_non_null(buf);
	memcpy(buf, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	memset(buf + n, '1', big);
	n += big;
	memcpy(buf + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	memset(buf + n, 'd', 200);
	n += 200;
	buf[n++] = '\n';
	assert_true(fx_put_bytes(f->root, PKG_STATUS_PATH, buf, n, 0644));
	free(buf);
	assert_int_equal(obj_set_new(KIND_PACKAGE, &f->set), 0);
	assert_int_equal(collect_packages(&ctx, f->set), 0);
	assert_int_equal(obj_set_count(f->set), 1);
	get(f->set, "longdesc");
	assert_string_equal(fx_problems_text(&f->ps, text, sizeof(text)),
	                    "/var/lib/dpkg/status:1: a line contains a NUL byte: the package is "
	                    "not recorded\n"
	                    "/var/lib/dpkg/status:5: a field line is too long: the package is not "
	                    "recorded\n");
}

/* Past PKG_MAX_PROBLEMS, one last report says the rest are skipped silently. */
static void test_problems_bounded(void **state)
{
	struct fixture *f = *state;
	size_t cap = 200 * 40, n = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	for (unsigned i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, cap - n, "Package: p%u\nStatus: bad\n\n", i);
	collect(f, buf);
	free(buf);
	assert_int_equal(obj_set_count(f->set), 0);
	assert_int_equal(f->ps.n, PKG_MAX_PROBLEMS + 1);
	assert_string_equal(f->ps.p[PKG_MAX_PROBLEMS].msg,
	                    "more malformed stanzas follow; they are skipped without a report");
	assert_int_equal(f->ps.p[PKG_MAX_PROBLEMS].line, 3 * PKG_MAX_PROBLEMS + 1);
}

/* --- drift in the package's terms --- */

/* The description of the change of package ID from BEFORE to AFTER (status texts). */
static const char *describe(struct fixture *f, const char *before, const char *after,
                            const char *id, bool *down, bool *failed)
{
	static char note[512];
	struct obj_set *b = NULL;
	const struct obj_rec *rb, *ra;

	collect(f, before);
	b = f->set;
	f->set = NULL;
	collect(f, after);
	rb = obj_set_find(b, id, strlen(id));
	ra = obj_set_find(f->set, id, strlen(id));
	packages_describe(rb, ra, note, sizeof(note), down, failed);
	obj_set_free(b);
	return note;
}

#define PKG(status, version)                                                                       \
	"Package: openssl\nStatus: " status "\nArchitecture: amd64\nVersion: " version "\n"

static void test_drift_terms(void **state)
{
	static const struct {
		const char *before, *after, *want;
		bool down, failed;
	} c[] = {
	        {"", PKG("install ok installed", "3.0.15-1"), "installed 3.0.15-1", false, false},
	        {PKG("install ok installed", "3.0.11-1"), "", "removed 3.0.11-1", false, false},
	        {PKG("install ok installed", "3.0.11-1"),
	         PKG("deinstall ok config-files", "3.0.11-1"),
	         "removed 3.0.11-1 (config files remain)", false, false},
	        {PKG("deinstall ok config-files", "3.0.11-1"), "",
	         "purged (its config files were left)", false, false},
	        {PKG("install ok installed", "3.0.11-1"), PKG("install ok installed", "3.0.15-1"),
	         "upgraded 3.0.11-1 -> 3.0.15-1", false, false},
	        {PKG("install ok installed", "3.0.15-1"), PKG("install ok installed", "3.0.11-1"),
	         "downgraded 3.0.15-1 -> 3.0.11-1 (suspicious)", true, false},
	        {PKG("install ok installed", "1.0~rc1"), PKG("install ok installed", "1.0"),
	         "upgraded 1.0~rc1 -> 1.0", false, false},
	        {PKG("install ok installed", "1:1.0"), PKG("install ok installed", "9.0"),
	         "downgraded 1:1.0 -> 9.0 (suspicious)", true, false},
	        {PKG("install ok installed", "3.0.11-1"), PKG("hold ok installed", "3.0.11-1"),
	         "held", false, false},
	        {PKG("hold ok installed", "3.0.11-1"), PKG("install ok installed", "3.0.11-1"),
	         "unheld", false, false},
	        {PKG("install ok installed", "3.0.11-1"),
	         PKG("install ok half-installed", "3.0.15-1"),
	         "upgraded 3.0.11-1 -> 3.0.15-1; failed: half-installed", false, true},
	        {PKG("install ok installed", "3.0.11-1"),
	         PKG("install ok half-configured", "3.0.11-1"), "failed: half-configured", false,
	         true},
	        {PKG("install ok installed", "3.0.11-1"),
	         PKG("install reinstreq installed", "3.0.11-1"), "failed: reinst-required", false,
	         true},
	        {PKG("install ok unpacked", "3.0.11-1"), PKG("install ok installed", "3.0.11-1"),
	         "repaired", false, false},
	        {PKG("install ok installed",
	             "3.0.11-1") "Conffiles:\n /etc/a 0123456789abcdef0123456789abcdef\n",
	         PKG("install ok installed",
	             "3.0.11-1") "Conffiles:\n /etc/a 00000000000000000000000000000000\n",
	         "config file digests changed without a new version", false, false},
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		bool down = !c[i].down, failed = !c[i].failed;
		const char *have =
		        describe(f, c[i].before, c[i].after, "openssl:amd64", &down, &failed);

		if (strcmp(have, c[i].want) != 0)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, have, c[i].want);
		assert_int_equal(down, c[i].down);
		assert_int_equal(failed, c[i].failed);
	}
}

/* A conffile whose digest changed is a change of the package. */
static void test_conffile_digest_is_drift(void **state)
{
	struct fixture *f = *state;
	struct obj_set *b;

	collect(f, PKG("install ok installed",
	               "1") "Conffiles:\n /etc/a 0123456789abcdef0123456789abcdef\n");
	b = f->set;
	f->set = NULL;
	collect(f, PKG("install ok installed",
	               "1") "Conffiles:\n /etc/a 00000000000000000000000000000000\n");
	assert_int_equal(obj_diff(get(b, "openssl:amd64"), get(f->set, "openssl:amd64"),
	                          attr_all(KIND_PACKAGE)),
	                 ATTR_BIT(PA_CONFFILES));
	obj_set_free(b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_version_order_matches_dpkg),
	        T(test_version_syntax),
	        T(test_collect),
	        T(test_no_database),
	        T(test_malformed_stanzas),
	        T(test_nul_and_long_lines),
	        T(test_problems_bounded),
	        T(test_drift_terms),
	        T(test_conffile_digest_is_drift),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
