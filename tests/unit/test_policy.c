/* SPDX-License-Identifier: ISC */
/* Unit tests for the policy language: syntax, errors, includes, bundles, matching, roots. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fim/core/common.h"
#include "policy/policy.h"

#define PERMS_NAMES   "type mode uid gid acl xattrs caps selinux"
#define CONTENT_NAMES PERMS_NAMES " size mtime ctime inode nlink target hash"

struct fx {
	char dir[64];
	struct policy *p;
	struct policy_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/fim-policy-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	policy_free(f->p);
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* NAME inside the test directory; a few results may be alive at once. */
static const char *at(struct fx *f, const char *name)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", f->dir, name);
	return b;
}

static void write_bytes(struct fx *f, const char *name, const void *data, size_t n)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s", at(f, name));
	for (char *s = path + strlen(f->dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void write_text(struct fx *f, const char *name, const char *text)
{
	write_bytes(f, name, text, strlen(text));
}

static int load_file(struct fx *f, const char *name)
{
	policy_free(f->p);
	f->p = NULL;
	memset(&f->err, 0, sizeof(f->err));
	return policy_load(at(f, name), &f->p, &f->err);
}

static int load_bytes(struct fx *f, const void *data, size_t n)
{
	write_bytes(f, "fim.policy", data, n);
	return load_file(f, "fim.policy");
}

static int load(struct fx *f, const char *text)
{
	return load_bytes(f, text, strlen(text));
}

static void load_ok(struct fx *f, const char *text)
{
	int r = load(f, text);

	if (r < 0)
		print_error("%s:%u:%u: %s\n", f->err.file, f->err.line, f->err.col, f->err.message);
	assert_int_equal(r, 0);
	assert_non_null(f->p);
}

static void check_error(struct fx *f, int got, int r, const char *file, unsigned line, unsigned col,
                        const char *msg)
{
	assert_int_equal(got, r);
	assert_null(f->p);
	assert_string_equal(f->err.file, file);
	assert_int_equal(f->err.line, line);
	assert_int_equal(f->err.col, col);
	assert_string_equal(f->err.message, msg);
}

/* Loads TEXT as fim.policy and expects exactly this error in fim.policy. */
static void expect_error(struct fx *f, const char *text, int r, unsigned line, unsigned col,
                         const char *msg)
{
	check_error(f, load(f, text), r, at(f, "fim.policy"), line, col, msg);
}

static attrset_t attrs(const char *names)
{
	attrset_t set = 0;

	while (*names) {
		size_t n = strcspn(names, " ");
		int a = attr_lookup(KIND_FILE, names, n);

		assert_true(a >= 0);
		set |= ATTR_BIT(a);
		names += n + (names[n] == ' ');
	}
	return set;
}

static const struct policy_rule *rule(struct fx *f, size_t i)
{
	assert_true(i < policy_rule_count(f->p));
	return policy_rule_at(f->p, i);
}

/* Line of the rule deciding PATH: 0 when none, negated for an exclude. */
static int decide(struct fx *f, const char *path)
{
	const struct policy_rule *r = policy_match(f->p, path, strlen(path));

	if (!r)
		return 0;
	return r->flags & RULE_EXCLUDE ? -(int)r->line : (int)r->line;
}

static bool descend(struct fx *f, const char *dir)
{
	return policy_descend(f->p, dir, strlen(dir));
}

static void test_set(void **state)
{
	struct fx *f = *state;

	load_ok(f, "set hash = sha512\n");
	assert_string_equal(policy_get(f->p, "hash"), "sha512");
	assert_null(policy_get(f->p, "nope"));
	load_ok(f, "set hash = sha256\nset\thash\t=\tblake2b # later wins\n");
	assert_string_equal(policy_get(f->p, "hash"), "blake2b");
	load_ok(f, "/etc\n");
	assert_null(policy_get(f->p, "hash"));
}

static void test_set_errors(void **state)
{
	struct fx *f = *state;

	expect_error(f, "set foo = 1\n", -EINVAL, 1, 5, "unknown setting 'foo'");
	expect_error(f, "\n# x\nset hash = md5\n", -EINVAL, 3, 12,
	             "unknown hash algorithm 'md5' (use sha256, sha512 or blake2b)");
	expect_error(f, "set\n", -EINVAL, 1, 4, "missing setting name after 'set'");
	expect_error(f, "set hash sha256\n", -EINVAL, 1, 10, "expected '=' after 'hash'");
	expect_error(f, "set hash\n", -EINVAL, 1, 9, "expected '=' after 'hash'");
	expect_error(f, "set hash = # none\n", -EINVAL, 1, 12, "missing value for 'hash'");
	expect_error(f, "set hash = sha256 sha512\n", -EINVAL, 1, 19, "unexpected 'sha512'");
}

static void test_builtin_groups(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/a ALL\n/b PERMS\n/c CONTENT\n/d NONE\n/e\n=/f\n");
	assert_int_equal(policy_rule_count(f->p), 6);
	assert_int_equal(rule(f, 0)->attrs, ATTRS_ALL_FILE);
	assert_int_equal(rule(f, 1)->attrs, attrs(PERMS_NAMES));
	assert_int_equal(rule(f, 2)->attrs, attrs(CONTENT_NAMES));
	assert_int_equal(rule(f, 3)->attrs, 0);
	assert_int_equal(rule(f, 4)->attrs, attrs(CONTENT_NAMES));
	assert_int_equal(rule(f, 5)->attrs, attrs(CONTENT_NAMES));
	assert_int_equal(rule(f, 5)->flags, RULE_THIS_ONLY);
}

static void test_define(void **state)
{
	struct fx *f = *state;

	load_ok(f, "define LOGS = PERMS inode\n"
	           "define SMALL = mode uid -uid +gid\n"
	           "define NOHASH = -hash\n"
	           "define _x1 = SMALL atime\n"
	           "/var/log LOGS\n"
	           "/a SMALL\n"
	           "/b NOHASH\n"
	           "/c LOGS -inode +SMALL\n"
	           "/d _x1\n"
	           "define CONTENT = mode\n"
	           "/e\n"
	           "/f +uid\n"
	           "define PERMS = NONE\n"
	           "/g PERMS\n"
	           "/h LOGS\n"
	           "/i mode mode -PERMS\n");
	assert_int_equal(policy_rule_count(f->p), 10);
	assert_int_equal(rule(f, 0)->attrs, attrs(PERMS_NAMES " inode"));
	assert_int_equal(rule(f, 1)->attrs, attrs("mode gid"));
	assert_int_equal(rule(f, 2)->attrs, attrs(CONTENT_NAMES) & ~attrs("hash"));
	assert_int_equal(rule(f, 3)->attrs, attrs(PERMS_NAMES));
	assert_int_equal(rule(f, 4)->attrs, attrs("mode gid atime"));
	assert_int_equal(rule(f, 5)->attrs, attrs("mode"));
	assert_int_equal(rule(f, 6)->attrs, attrs("mode uid"));
	assert_int_equal(rule(f, 7)->attrs, 0);
	assert_int_equal(rule(f, 8)->attrs, attrs(PERMS_NAMES " inode"));
	assert_int_equal(rule(f, 9)->attrs, attrs("mode"));
}

static void test_define_errors(void **state)
{
	struct fx *f = *state;

	expect_error(f, "define X = mode hsh\n", -EINVAL, 1, 17,
	             "unknown attribute or group 'hsh'");
	expect_error(f, "/etc CONTENT +hsh\n", -EINVAL, 1, 14, "unknown attribute or group 'hsh'");
	expect_error(f, "/etc -Perms\n", -EINVAL, 1, 6, "unknown attribute or group 'Perms'");
	expect_error(f, "/x LATER\ndefine LATER = mode\n", -EINVAL, 1, 4,
	             "unknown attribute or group 'LATER'");
	expect_error(f, "define 1X = mode\n", -EINVAL, 1, 8, "invalid group name '1X'");
	expect_error(f, "define A-B = mode\n", -EINVAL, 1, 8, "invalid group name 'A-B'");
	expect_error(f, "define mode = uid\n", -EINVAL, 1, 8,
	             "'mode' is an attribute, not a group name");
	expect_error(f, "define X mode\n", -EINVAL, 1, 10, "expected '=' after 'X'");
	expect_error(f, "define\n", -EINVAL, 1, 7, "missing group name after 'define'");
	expect_error(f, "define X = Y\n", -EINVAL, 1, 12, "unknown attribute or group 'Y'");
	expect_error(f, "define X = +\n", -EINVAL, 1, 12, "unknown attribute or group ''");
}

static void test_severity_growing(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/a\n/b severity=low\n/c PERMS severity=high growing\n/d severity=critical\n"
	           "=/e growing\n!/f\n");
	assert_int_equal(rule(f, 0)->severity, SEV_MEDIUM);
	assert_int_equal(rule(f, 0)->flags, 0);
	assert_int_equal(rule(f, 1)->severity, SEV_LOW);
	assert_int_equal(rule(f, 1)->attrs, attrs(CONTENT_NAMES));
	assert_int_equal(rule(f, 2)->severity, SEV_HIGH);
	assert_int_equal(rule(f, 2)->flags, RULE_GROWING);
	/* growing implies size */
	assert_int_equal(rule(f, 2)->attrs, attrs(PERMS_NAMES) | ATTR_BIT(ATTR_SIZE));
	assert_int_equal(rule(f, 3)->severity, SEV_CRITICAL);
	assert_int_equal(rule(f, 4)->flags, RULE_THIS_ONLY | RULE_GROWING);
	assert_int_equal(rule(f, 5)->flags, RULE_EXCLUDE);
	assert_int_equal(rule(f, 5)->attrs, 0);

	expect_error(f, "/a severity=urgent\n", -EINVAL, 1, 13,
	             "unknown severity 'urgent' (use low, medium, high or critical)");
	expect_error(f, "/a severity=\n", -EINVAL, 1, 13,
	             "unknown severity '' (use low, medium, high or critical)");
	expect_error(f, "!/a growing\n", -EINVAL, 1, 5,
	             "'growing' is not allowed on an exclude rule");
	expect_error(f, "!/a PERMS\n", -EINVAL, 1, 5, "an exclude rule takes no attributes");
	expect_error(f, "!/a severity=high\n", -EINVAL, 1, 5, "an exclude rule takes no severity");
}

static void test_severity_name(void **state)
{
	assert_string_equal(severity_name(SEV_LOW), "low");
	assert_string_equal(severity_name(SEV_MEDIUM), "medium");
	assert_string_equal(severity_name(SEV_HIGH), "high");
	assert_string_equal(severity_name(SEV_CRITICAL), "critical");
	assert_null(severity_name((enum severity)99));
}

static void test_rule_fields(void **state)
{
	struct fx *f = *state;

	load_ok(f, "# comment\n\n/etc\n!/etc/mtab\n=/boot PERMS\n  \t/var/log/ # trailing\n");
	assert_int_equal(policy_rule_count(f->p), 4);
	assert_string_equal(rule(f, 0)->pattern, "/etc");
	assert_int_equal(rule(f, 0)->kind, KIND_FILE);
	assert_int_equal(rule(f, 0)->line, 3);
	assert_string_equal(rule(f, 0)->file, at(f, "fim.policy"));
	assert_int_equal(rule(f, 0)->flags, 0);
	assert_string_equal(rule(f, 1)->pattern, "/etc/mtab");
	assert_int_equal(rule(f, 1)->flags, RULE_EXCLUDE);
	assert_int_equal(rule(f, 1)->line, 4);
	assert_string_equal(rule(f, 2)->pattern, "/boot");
	assert_int_equal(rule(f, 2)->flags, RULE_THIS_ONLY);
	assert_string_equal(rule(f, 3)->pattern, "/var/log/");
	assert_int_equal(rule(f, 3)->line, 6);
	assert_null(policy_rule_at(f->p, 4));
}

static void test_last_match_wins(void **state)
{
	struct fx *f = *state;

	load_ok(f,
	        "/etc\n!/etc/mtab\n/etc/passwd PERMS\n!/etc/ssl\n/etc/ssl/certs/important.pem\n");
	assert_int_equal(decide(f, "/etc"), 1);
	assert_int_equal(decide(f, "/etc/hosts"), 1);
	assert_int_equal(decide(f, "/etc/mtab"), -2);
	assert_int_equal(decide(f, "/etc/mtab/x"), -2);
	assert_int_equal(decide(f, "/etc/passwd"), 3);
	assert_int_equal(decide(f, "/etc/passwd-"), 1);
	assert_int_equal(decide(f, "/etc/ssl"), -4);
	assert_int_equal(decide(f, "/etc/ssl/certs"), -4);
	assert_int_equal(decide(f, "/etc/ssl/certs/important.pem"), 5);
	assert_int_equal(decide(f, "/etc/ssl/certs/other.pem"), -4);
	assert_int_equal(decide(f, "/etcx"), 0);
	assert_int_equal(decide(f, "/"), 0);
	assert_int_equal(decide(f, "/var"), 0);
	assert_int_equal(policy_match(f->p, "/etc/passwd", 4)->line, 1); /* length, not NUL */

	load_ok(f, "/a PERMS\n/a NONE\n");
	assert_int_equal(decide(f, "/a"), 2);
	load_ok(f, "/x\n!/x\n");
	assert_int_equal(decide(f, "/x/y"), -2);
	load_ok(f, "!/x\n/x\n");
	assert_int_equal(decide(f, "/x/y"), 2);
}

static void test_this_only(void **state)
{
	struct fx *f = *state;

	load_ok(f, "=/boot PERMS\n");
	assert_int_equal(decide(f, "/boot"), 1);
	assert_int_equal(decide(f, "/boot/vmlinuz"), 0);
	assert_int_equal(decide(f, "/bootx"), 0);
	assert_int_equal(decide(f, "/"), 0);
	load_ok(f, "/boot\n=/boot NONE\n");
	assert_int_equal(decide(f, "/boot"), 2);
	assert_int_equal(decide(f, "/boot/x"), 1);
	load_ok(f, "=/\n");
	assert_int_equal(decide(f, "/"), 1);
	assert_int_equal(decide(f, "/x"), 0);
}

static void test_globs(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/home/*/.ssh/authorized_keys\n/srv/file?.txt\n/opt/[ab]x\n/opt/[!ab]y\n"
	           "/data/*\n/f/a**b\n");
	assert_int_equal(decide(f, "/home/alice/.ssh/authorized_keys"), 1);
	assert_int_equal(decide(f, "/home/.hidden/.ssh/authorized_keys"), 1);
	assert_int_equal(decide(f, "/home/a/b/.ssh/authorized_keys"), 0);
	assert_int_equal(decide(f, "/home/alice/.ssh"), 0);
	assert_int_equal(decide(f, "/home/alice/.ssh/authorized_keys2"), 0);
	assert_int_equal(decide(f, "/srv/file1.txt"), 2);
	assert_int_equal(decide(f, "/srv/file12.txt"), 0);
	assert_int_equal(decide(f, "/srv/file.txt"), 0);
	assert_int_equal(decide(f, "/opt/ax"), 3);
	assert_int_equal(decide(f, "/opt/bx"), 3);
	assert_int_equal(decide(f, "/opt/cx"), 0);
	assert_int_equal(decide(f, "/opt/cy"), 4);
	assert_int_equal(decide(f, "/opt/ay"), 0);
	assert_int_equal(decide(f, "/data"), 0);
	assert_int_equal(decide(f, "/data/x"), 5);
	assert_int_equal(decide(f, "/data/.x/y"), 5);
	assert_int_equal(decide(f, "/f/axxb"), 6);
	assert_int_equal(decide(f, "/f/a/b"), 0);
}

static void test_glob_affixes(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/p/ab*ba\n/q/*\\*\n/r/x[ab]\n/s/[ab]y\n/t/a\\bc*d\\e\n");
	assert_int_equal(decide(f, "/p/aba"), 0);
	assert_int_equal(decide(f, "/p/abba"), 1);
	assert_int_equal(decide(f, "/p/abxyzba"), 1);
	assert_int_equal(decide(f, "/p/abxyzb"), 0);
	assert_int_equal(decide(f, "/q/a*"), 2);
	assert_int_equal(decide(f, "/q/*"), 2);
	assert_int_equal(decide(f, "/q/a"), 0);
	assert_int_equal(decide(f, "/r/xa"), 3);
	assert_int_equal(decide(f, "/r/xc"), 0);
	assert_int_equal(decide(f, "/s/by"), 4);
	assert_int_equal(decide(f, "/s/cy"), 0);
	assert_int_equal(decide(f, "/t/abcd"), 0);
	assert_int_equal(decide(f, "/t/abcde"), 5);
	assert_int_equal(decide(f, "/t/abcXXde"), 5);
}

static void test_double_star(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/**/*.conf\n/var/**/log\n/a/**\n/b/**/c/**/d\n=/e/**\n");
	assert_int_equal(decide(f, "/x.conf"), 1);
	assert_int_equal(decide(f, "/etc/ssh/sshd.conf"), 1);
	assert_int_equal(decide(f, "/etc/ssh/sshd.conf/inner"), 1);
	assert_int_equal(decide(f, "/etc/conf"), 0);
	assert_int_equal(decide(f, "/var/log"), 2);
	assert_int_equal(decide(f, "/var/a/b/log"), 2);
	assert_int_equal(decide(f, "/var/log/syslog"), 2);
	assert_int_equal(decide(f, "/varlog"), 0);
	assert_int_equal(decide(f, "/var/logs"), 0);
	assert_int_equal(decide(f, "/a"), 3);
	assert_int_equal(decide(f, "/a/x/y"), 3);
	assert_int_equal(decide(f, "/b/c/d"), 4);
	assert_int_equal(decide(f, "/b/x/c/y/c/z/d"), 4);
	assert_int_equal(decide(f, "/b/c/c/d/d"), 4);
	assert_int_equal(decide(f, "/b/d/c"), 0);
	assert_int_equal(decide(f, "/b/c/d/x"), 4);
	assert_int_equal(decide(f, "/e"), 5);
	assert_int_equal(decide(f, "/e/x/y"), 5);
}

static void test_escapes_and_quotes(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/a\\ b\n"
	           "\"/my dir/x y\"\n"
	           "/lit\\*\n"
	           "/hash#tag # comment\n"
	           "!\"/ex cluded\" # comment\n"
	           "\"/q\\\"uote\" PERMS severity=high\n"
	           "/br\\[x]\n"
	           "/short #comment\n"
	           "=\"/only this\"\n");
	assert_int_equal(policy_rule_count(f->p), 9);
	assert_int_equal(decide(f, "/a b"), 1);
	assert_int_equal(decide(f, "/a"), 0);
	assert_int_equal(decide(f, "/my dir/x y"), 2);
	assert_int_equal(decide(f, "/my dir/x"), 0);
	assert_int_equal(decide(f, "/lit*"), 3);
	assert_int_equal(decide(f, "/litx"), 0);
	assert_int_equal(decide(f, "/hash#tag"), 4);
	assert_int_equal(decide(f, "/hash"), 0);
	assert_int_equal(decide(f, "/ex cluded"), -5);
	assert_int_equal(decide(f, "/q\"uote"), 6);
	assert_int_equal(decide(f, "/br[x]"), 7);
	assert_int_equal(decide(f, "/brx"), 0);
	assert_int_equal(decide(f, "/short"), 8);
	assert_int_equal(decide(f, "/only this"), 9);
	assert_int_equal(decide(f, "/only this/x"), 0);
	assert_string_equal(rule(f, 0)->pattern, "/a\\ b");
	assert_string_equal(rule(f, 1)->pattern, "/my dir/x y");
	assert_string_equal(rule(f, 3)->pattern, "/hash#tag");
	assert_string_equal(rule(f, 4)->pattern, "/ex cluded");
	assert_int_equal(rule(f, 4)->flags, RULE_EXCLUDE);
	assert_int_equal(rule(f, 5)->attrs, attrs(PERMS_NAMES));
	assert_int_equal(rule(f, 5)->severity, SEV_HIGH);
	assert_string_equal(rule(f, 7)->pattern, "/short");
	assert_int_equal(rule(f, 8)->flags, RULE_THIS_ONLY);
}

static void test_pattern_normalisation(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/ NONE\n//etc//ssh/\n");
	assert_string_equal(rule(f, 1)->pattern, "//etc//ssh/");
	assert_int_equal(decide(f, "/"), 1);
	assert_int_equal(decide(f, "/usr"), 1);
	assert_int_equal(decide(f, "/etc"), 1);
	assert_int_equal(decide(f, "/etc/ssh"), 2);
	assert_int_equal(decide(f, "/etc/ssh/sshd_config"), 2);
	assert_int_equal(decide(f, "//etc///ssh/"), 2);
}

static void test_pattern_errors(void **state)
{
	struct fx *f = *state;
	char text[300], msg[] = "path component longer than 255 bytes";

	expect_error(f, "etc/passwd\n", -EINVAL, 1, 1, "pattern must be an absolute path");
	expect_error(f, "!etc\n", -EINVAL, 1, 1, "pattern must be an absolute path");
	expect_error(f, "/a\n  =\n", -EINVAL, 2, 3, "pattern must be an absolute path");
	expect_error(f, "\"etc x\"\n", -EINVAL, 1, 1, "pattern must be an absolute path");
	expect_error(f, "*.conf\n", -EINVAL, 1, 1, "pattern must be an absolute path");
	expect_error(f, "!!/etc\n", -EINVAL, 1, 1, "pattern must be an absolute path");
	expect_error(f, "  \"/a b\n", -EINVAL, 1, 3, "unterminated quote");
	expect_error(f, "\"/a\\\"\n", -EINVAL, 1, 1, "unterminated quote");
	expect_error(f, "/a\\\n", -EINVAL, 1, 3, "backslash at end of line");
	expect_error(f, "\"/a\"b\n", -EINVAL, 1, 5, "unexpected 'b' after closing quote");
	expect_error(f, "/a/../b\n", -EINVAL, 1, 1, "'.' and '..' are not allowed in a pattern");
	expect_error(f, "/a/./b\n", -EINVAL, 1, 1, "'.' and '..' are not allowed in a pattern");
	expect_error(f, "/a\\/b\n", -EINVAL, 1, 1, "a '/' cannot be escaped");

	memset(text, 'x', sizeof(text));
	text[0] = '/';
	memcpy(text + 256, "\n", 2); /* 255 bytes: fine */
	load_ok(f, text);
	text[256] = 'x';
	memcpy(text + 257, "\n", 2);
	expect_error(f, text, -EINVAL, 1, 1, msg);
}

static void test_keywords(void **state)
{
	struct fx *f = *state;

	expect_error(f, "user\n", -EINVAL, 1, 1, "unknown keyword 'user'");
	expect_error(f, "/etc\nfiles severity=high\n", -EINVAL, 2, 1, "unknown keyword 'files'");
	expect_error(f, "foo# x\n", -EINVAL, 1, 1, "unknown keyword 'foo'");
	expect_error(f, "SET hash = sha256\n", -EINVAL, 1, 1, "unknown keyword 'SET'");
}

static void test_descend(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/etc\n!/etc/ssl\n/etc/ssl/certs/important.pem\n");
	assert_true(descend(f, "/"));
	assert_true(descend(f, "/etc"));
	assert_true(descend(f, "/etc/x"));
	assert_true(descend(f, "/etc/ssl"));
	assert_false(descend(f, "/etc/ssl/private"));
	assert_true(descend(f, "/etc/ssl/certs"));
	assert_false(descend(f, "/var"));
	assert_false(descend(f, "/etcx"));

	load_ok(f, "=/boot\n");
	assert_false(descend(f, "/boot"));
	assert_true(descend(f, "/"));
	assert_false(descend(f, "/boot/x"));

	load_ok(f, "/home/*/.ssh/authorized_keys\n");
	assert_true(descend(f, "/"));
	assert_true(descend(f, "/home"));
	assert_true(descend(f, "/home/alice"));
	assert_true(descend(f, "/home/alice/.ssh"));
	assert_false(descend(f, "/home/alice/docs"));
	assert_false(descend(f, "/var"));
	assert_true(descend(f, "/home/alice/.ssh/authorized_keys"));

	load_ok(f, "/**/*.conf\n");
	assert_true(descend(f, "/"));
	assert_true(descend(f, "/usr"));
	assert_true(descend(f, "/a/b/c/d"));

	load_ok(f, "=/var/**/x\n");
	assert_true(descend(f, "/var/a/b"));
	assert_false(descend(f, "/usr"));

	load_ok(f, "/etc\n!/etc\n");
	assert_false(descend(f, "/etc"));
	assert_false(descend(f, "/etc/x"));

	load_ok(f, "!/etc\n/etc/ssh\n");
	assert_true(descend(f, "/etc"));
	assert_true(descend(f, "/etc/ssh"));
	assert_false(descend(f, "/etc/x"));

	load_ok(f, "");
	assert_false(descend(f, "/"));
	assert_null(policy_match(f->p, "/", 1));
}

static void test_roots(void **state)
{
	struct fx *f = *state;

	load_ok(f, "/etc\n/etc/ssh\n!/var\n=/boot\n/home/*/.ssh\n/usr/lib/x*.so\n/etc-old\n"
	           "/etc\n/a\\ b/c\n");
	assert_int_equal(policy_root_count(f->p), 6);
	assert_string_equal(policy_root_at(f->p, 0), "/a b/c");
	assert_string_equal(policy_root_at(f->p, 1), "/boot");
	assert_string_equal(policy_root_at(f->p, 2), "/etc");
	assert_string_equal(policy_root_at(f->p, 3), "/etc-old");
	assert_string_equal(policy_root_at(f->p, 4), "/home");
	assert_string_equal(policy_root_at(f->p, 5), "/usr/lib");
	assert_null(policy_root_at(f->p, 6));

	load_ok(f, "/etc\n/**/x\n");
	assert_int_equal(policy_root_count(f->p), 1);
	assert_string_equal(policy_root_at(f->p, 0), "/");

	load_ok(f, "!/x\n");
	assert_int_equal(policy_root_count(f->p), 0);
}

static void test_include_glob_sorted(void **state)
{
	struct fx *f = *state;

	write_text(f, "conf.d/b.policy", "/b\n");
	write_text(f, "conf.d/a.policy", "\n/a\n");
	write_text(f, "conf.d/B.policy", "/B\n");
	write_text(f, "conf.d/.hidden.policy", "/hidden\n");
	write_text(f, "conf.d/skip.txt", "/skip\n");
	load_ok(f, "/first\ninclude conf.d/*.policy # sorted bytewise\n/last\n");
	assert_int_equal(policy_rule_count(f->p), 5);
	assert_string_equal(rule(f, 0)->pattern, "/first");
	assert_string_equal(rule(f, 1)->pattern, "/B");
	assert_string_equal(rule(f, 1)->file, at(f, "conf.d/B.policy"));
	assert_string_equal(rule(f, 2)->pattern, "/a");
	assert_int_equal(rule(f, 2)->line, 2);
	assert_string_equal(rule(f, 3)->pattern, "/b");
	assert_string_equal(rule(f, 4)->pattern, "/last");
	assert_int_equal(rule(f, 4)->line, 3);
	assert_string_equal(rule(f, 4)->file, at(f, "fim.policy"));
}

static void test_include_forms(void **state)
{
	struct fx *f = *state;
	char text[PATH_MAX + 64];

	write_text(f, "abs.policy", "/abs\n");
	write_text(f, "my conf/x.policy", "/x\n");
	write_text(f, "we[ird]/main.policy", "include inc/*.policy\n");
	write_text(f, "we[ird]/inc/y.policy", "/y\n");
	snprintf(text, sizeof(text),
	         "include %s\ninclude \"my conf/*.policy\"\ninclude my\\ conf/x.policy\n"
	         "include nothing/*.policy\ninclude we\\[ird]/main.policy\n",
	         at(f, "abs.policy"));
	load_ok(f, text);
	assert_int_equal(policy_rule_count(f->p), 4);
	assert_string_equal(rule(f, 0)->pattern, "/abs");
	assert_string_equal(rule(f, 1)->pattern, "/x");
	assert_string_equal(rule(f, 1)->file, at(f, "my conf/x.policy"));
	assert_string_equal(rule(f, 2)->pattern, "/x");
	assert_string_equal(rule(f, 3)->pattern, "/y");
	assert_string_equal(rule(f, 3)->file, at(f, "we[ird]/inc/y.policy"));

	assert_int_equal(load_file(f, "we[ird]/main.policy"), 0);
	assert_int_equal(policy_rule_count(f->p), 1);
}

static void test_include_errors(void **state)
{
	struct fx *f = *state;
	char msg[PATH_MAX + 64];

	snprintf(msg, sizeof(msg), "cannot open %s: No such file or directory",
	         at(f, "missing.policy"));
	expect_error(f, "/x\ninclude missing.policy\n", -ENOENT, 2, 9, msg);
	expect_error(f, "include\n", -EINVAL, 1, 8, "missing file name after 'include'");
	expect_error(f, "include a b\n", -EINVAL, 1, 11, "unexpected 'b'");
	expect_error(f, "include \"\"\n", -EINVAL, 1, 9, "empty file name");

	mkdir(at(f, "conf.d"), 0755);
	snprintf(msg, sizeof(msg), "cannot open %s: Is a directory", at(f, "conf.d"));
	expect_error(f, "include conf.d\n", -EISDIR, 1, 9, msg);

	assert_int_equal(mkfifo(at(f, "fifo"), 0600), 0);
	snprintf(msg, sizeof(msg), "cannot open %s: not a regular file", at(f, "fifo"));
	expect_error(f, "include fifo\n", -EINVAL, 1, 9, msg);

	write_text(f, "conf.d/x.policy", "/ok\n\n  bogus\n");
	check_error(f, load(f, "include conf.d/*\n"), -EINVAL, at(f, "conf.d/x.policy"), 3, 3,
	            "unknown keyword 'bogus'");
}

static void test_include_cycle(void **state)
{
	struct fx *f = *state;
	char msg[PATH_MAX + 64];

	write_text(f, "a.policy", "include b.policy\n");
	write_text(f, "b.policy", "/b\ninclude a.policy\n");
	snprintf(msg, sizeof(msg), "include cycle through %s", at(f, "a.policy"));
	check_error(f, load(f, "include a.policy\n"), -ELOOP, at(f, "b.policy"), 2, 9, msg);

	snprintf(msg, sizeof(msg), "include cycle through %s", at(f, "fim.policy"));
	expect_error(f, "/x\n include fim.policy\n", -ELOOP, 2, 10, msg);

	/* the same file under another name is the same file */
	write_text(f, "c.policy", "include link.policy\n");
	assert_int_equal(symlink("c.policy", at(f, "link.policy")), 0);
	snprintf(msg, sizeof(msg), "include cycle through %s", at(f, "link.policy"));
	check_error(f, load(f, "include c.policy\n"), -ELOOP, at(f, "c.policy"), 1, 9, msg);

	/* twice in a row is no cycle */
	write_text(f, "d.policy", "/d\n");
	load_ok(f, "include d.policy\ninclude d.policy\n");
	assert_int_equal(policy_rule_count(f->p), 2);
}

/* fim.policy includes d1 ... dN, each the next; dN holds one rule. */
static int load_chain(struct fx *f, int n)
{
	char name[32], text[64];

	for (int i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "d%d.policy", i);
		if (i < n)
			snprintf(text, sizeof(text), "include d%d.policy\n", i + 1);
		else
			snprintf(text, sizeof(text), "/deep\n");
		write_text(f, name, text);
	}
	return load(f, "include d1.policy\n");
}

static void test_include_depth(void **state)
{
	struct fx *f = *state;
	char msg[64];

	assert_int_equal(load_chain(f, FIM_MAX_POLICY_DEPTH), 0);
	assert_int_equal(policy_rule_count(f->p), 1);
	snprintf(msg, sizeof(msg), "includes nested deeper than %d levels", FIM_MAX_POLICY_DEPTH);
	check_error(f, load_chain(f, FIM_MAX_POLICY_DEPTH + 1), -ELOOP, at(f, "d16.policy"), 1, 9,
	            msg);
}

static void test_size_limit(void **state)
{
	struct fx *f = *state;
	char *big = malloc(FIM_MAX_POLICY_SIZE + 1);
	char msg[PATH_MAX + 64];

	assert_non_null(big);
	memset(big, '#', FIM_MAX_POLICY_SIZE + 1);
	write_bytes(f, "ok.policy", big, FIM_MAX_POLICY_SIZE);
	write_bytes(f, "big.policy", big, FIM_MAX_POLICY_SIZE + 1);
	free(big);
	load_ok(f, "include ok.policy\n");
	snprintf(msg, sizeof(msg), "cannot open %s: larger than %u bytes", at(f, "big.policy"),
	         FIM_MAX_POLICY_SIZE);
	expect_error(f, "include big.policy\n", -EFBIG, 1, 9, msg);
	check_error(f, load_file(f, "big.policy"), -EFBIG, at(f, "big.policy"), 0, 0,
	            "larger than 4194304 bytes");
}

/* N lines, line I being BEFORE, I, AFTER, as a new string. */
static char *repeat_lines(const char *before, const char *after, int n)
{
	size_t size = (size_t)n * (strlen(before) + strlen(after) + 12) + 1, used = 0;
	char *s = malloc(size);

	assert_non_null(s);
	s[0] = '\0';
	for (int i = 1; i <= n; i++)
		used += (size_t)snprintf(s + used, size - used, "%s%d%s", before, i, after);
	return s;
}

static void test_limits(void **state)
{
	struct fx *f = *state;
	char name[32], msg[PATH_MAX + 64];
	char *text;

	/* four built-in groups and 1020 defined ones */
	text = repeat_lines("define G", " = mode\n", 1020);
	load_ok(f, text);
	free(text);
	text = repeat_lines("define G", " = mode\n", 1021);
	expect_error(f, text, -E2BIG, 1021, 8, "too many groups (more than 1024)");
	free(text);

	text = repeat_lines("/r", "\n", 65536);
	load_ok(f, text);
	assert_int_equal(policy_rule_count(f->p), 65536);
	assert_int_equal(policy_root_count(f->p), 65536);
	free(text);
	text = repeat_lines("/r", "\n", 65537);
	expect_error(f, text, -E2BIG, 65537, 1, "too many rules (more than 65536)");
	free(text);

	/* the main file and 255 included ones */
	for (int i = 1; i <= 256; i++) {
		snprintf(name, sizeof(name), "inc/%03d.policy", i);
		write_text(f, name, "/x\n");
	}
	unlink(at(f, "inc/256.policy"));
	load_ok(f, "include inc/*.policy\n");
	assert_int_equal(policy_rule_count(f->p), 255);
	write_text(f, "inc/256.policy", "/x\n");
	snprintf(msg, sizeof(msg), "cannot open %s: more than 256 files or %u bytes in all",
	         at(f, "inc/256.policy"), 4 * FIM_MAX_POLICY_SIZE);
	expect_error(f, "include inc/*.policy\n", -E2BIG, 1, 9, msg);
}

/* Files that stat(2) says are empty, like those in /proc, are read to their end all the same. */
static void test_proc_file(void **state)
{
	struct fx *f = *state;

	if (access("/proc/self/status", R_OK) != 0)
		skip();
	check_error(f, load(f, "include /proc/self/status\n"), -EINVAL, "/proc/self/status", 1, 1,
	            "unknown keyword 'Name:'");
}

static void test_main_errors(void **state)
{
	struct fx *f = *state;

	check_error(f, load_file(f, "nope"), -ENOENT, at(f, "nope"), 0, 0,
	            "No such file or directory");
	check_error(f, policy_load(f->dir, &f->p, &f->err), -EISDIR, f->dir, 0, 0,
	            "Is a directory");
	assert_int_equal(policy_load(at(f, "nope"), &f->p, NULL), -ENOENT);
	assert_null(f->p);
	policy_free(NULL);
}

static void test_nul_and_garbage(void **state)
{
	struct fx *f = *state;
	const char *path = at(f, "fim.policy");
	char long_msg[128];

	check_error(f, load_bytes(f, "/a\n/b\0c\n", 8), -EINVAL, path, 2, 3, "NUL byte in policy");
	check_error(f, load_bytes(f, "\0", 1), -EINVAL, path, 1, 1, "NUL byte in policy");
	expect_error(f, "\xff\xfe x\n", -EINVAL, 1, 1, "unknown keyword '\\xff\\xfe'");
	expect_error(f,
	             "\x1b"
	             "c\n",
	             -EINVAL, 1, 1, "unknown keyword '\\x1bc'");
	expect_error(f, "/a \xc3\xa9\n", -EINVAL, 1, 4, "unknown attribute or group '\\xc3\\xa9'");

	/* a 1 MiB line: the message shows the start of the token */
	char *line = malloc(1 << 20);
	assert_non_null(line);
	memset(line, 'a', (1 << 20) - 1);
	line[(1 << 20) - 1] = '\0';
	snprintf(long_msg, sizeof(long_msg), "unknown keyword '%.64s...'", line);
	expect_error(f, line, -EINVAL, 1, 1, long_msg);
	free(line);
}

/* Random policies built from fragments of the language: an error or a policy, never a crash. */
static void test_fuzz_text(void **state)
{
	static const char *const frags[] = {
	        "set",   "hash", " = ",   "define", "X",         "/",    "*",       "**",
	        "\"",    "\\",   "#",     "\n",     "\r",        "\t",   " ",       "!",
	        "+",     "-",    "PERMS", "mode",   "severity=", "high", "growing", "include d/",
	        "\xff",  "[",    "]",     "?",      "=",         "etc",  "..",      "sha256",
	        "users", "\0",   "{",     "/a/b",   "d/*",       "''",   "CONTENT", "-hash",
	};
	struct fx *f = *state;
	unsigned seed = 1;
	char buf[512];

	write_text(f, "d/x", "/x\n");
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 0;
		int r, parts = rand_r(&seed) % 40;

		for (int i = 0; i < parts; i++) {
			size_t k = (size_t)rand_r(&seed) % ARRAY_SIZE(frags);
			size_t len = frags[k][0] ? strlen(frags[k]) : 1;

			if (n + len > sizeof(buf))
				break;
			memcpy(buf + n, frags[k], len);
			n += len;
		}
		r = load_bytes(f, buf, n);
		if (r < 0) {
			assert_null(f->p);
			assert_true(f->err.message[0] != '\0');
		} else {
			assert_non_null(f->p);
		}
	}
}

static void test_crlf(void **state)
{
	struct fx *f = *state;

	load_ok(f, "set hash = sha512\r\n/etc PERMS\r\n!/etc/mtab\r\n# c\r\n\r\n/a\rb\n");
	assert_string_equal(policy_get(f->p, "hash"), "sha512");
	assert_int_equal(rule(f, 0)->attrs, attrs(PERMS_NAMES));
	assert_string_equal(rule(f, 1)->pattern, "/etc/mtab");
	assert_int_equal(decide(f, "/a\rb"), 6);
	expect_error(f, "\r\nuser\r\n", -EINVAL, 2, 1, "unknown keyword 'user'");
}

/* HEAD + "d/d/.../d/" + LAST: longer than PATH_MAX. */
static char *long_path(const char *head, const char *last)
{
	size_t n = strlen(head) + 3000 * 2 + strlen(last) + 1;
	char *s = malloc(n), *o = s;

	assert_non_null(s);
	o = stpcpy(o, head);
	for (int i = 0; i < 3000; i++)
		o = stpcpy(o, "d/");
	strcpy(o, last);
	return s;
}

static void test_long_paths(void **state)
{
	struct fx *f = *state;
	char name[300], path[320];
	char *leaf = long_path("/deep/", "leaf"), *other = long_path("/deep/", "other");
	char *skip = long_path("/deep/d/skip/", "leaf");

	assert_true(strlen(leaf) > PATH_MAX);
	load_ok(f, "/deep\n!/deep/d/skip\n/**/leaf\n/g/*\n");
	assert_int_equal(decide(f, leaf), 3);
	assert_int_equal(decide(f, other), 1);
	assert_true(descend(f, other));
	assert_int_equal(decide(f, skip), 3);
	skip[strlen(skip) - 1] = 'X';
	assert_int_equal(decide(f, skip), -2);
	assert_true(descend(f, skip)); /* a later rule (any-depth leaf) can match below */
	free(leaf);
	free(other);
	free(skip);

	memset(name, 'x', sizeof(name));
	name[255] = '\0';
	snprintf(path, sizeof(path), "/g/%s", name);
	assert_int_equal(decide(f, path), 4);
	name[255] = 'x';
	name[299] = '\0';
	snprintf(path, sizeof(path), "/g/%s", name);
	assert_int_equal(decide(f, path), 0); /* longer than any name: no glob matches it */
	snprintf(path, sizeof(path), "/deep/%s", name);
	assert_int_equal(decide(f, path), 1);
}

static void test_long_pattern(void **state)
{
	struct fx *f = *state;
	size_t n = 100000 * 2; /* "/a" 100000 times */
	char *text = malloc(n + 2);

	assert_non_null(text);
	for (size_t i = 0; i < n; i += 2)
		memcpy(text + i, "/a", 2);
	strcpy(text + n, "\n");
	load_ok(f, text);
	text[n] = '\0';
	assert_int_equal(decide(f, text), 1);
	text[n - 1] = 'b';
	assert_int_equal(decide(f, text), 0);
	free(text);
}

static void assert_same_rules(const struct policy *a, const struct policy *b)
{
	assert_int_equal(policy_rule_count(a), policy_rule_count(b));
	for (size_t i = 0; i < policy_rule_count(a); i++) {
		const struct policy_rule *x = policy_rule_at(a, i), *y = policy_rule_at(b, i);

		assert_string_equal(x->pattern, y->pattern);
		assert_string_equal(x->file, y->file);
		assert_int_equal(x->line, y->line);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(x->attrs, y->attrs);
		assert_int_equal(x->severity, y->severity);
		assert_int_equal(x->kind, y->kind);
	}
	assert_int_equal(policy_root_count(a), policy_root_count(b));
	for (size_t i = 0; i < policy_root_count(a); i++)
		assert_string_equal(policy_root_at(a, i), policy_root_at(b, i));
	assert_string_equal(policy_get(a, "hash"), policy_get(b, "hash"));
	assert_memory_equal(policy_digest(a), policy_digest(b), crypto_hash_sha256_BYTES);
}

static void write_bundle_sources(struct fx *f)
{
	write_text(f, "conf.d/a.policy", "define G = mode uid\n/a G severity=high\n");
	write_text(f, "conf.d/b.policy", "/b growing\ninclude ../shared.policy\n");
	write_text(f, "shared.policy", "!/b/skip\n");
	write_text(f, "fim.policy",
	           "set hash = sha512\ninclude conf.d/*.policy\n/last NONE\n"
	           "include conf.d/a.policy\n");
}

static void test_bundle_roundtrip(void **state)
{
	struct fx *f = *state;
	struct policy *q = NULL;
	void *b1, *b2;
	size_t n1, n2;

	write_bundle_sources(f);
	assert_int_equal(load_file(f, "fim.policy"), 0);
	assert_int_equal(policy_rule_count(f->p), 5);
	assert_string_equal(rule(f, 2)->file, at(f, "conf.d/../shared.policy"));
	assert_int_equal(policy_bundle(f->p, &b1, &n1), 0);
	assert_memory_equal(b1, "FIMPOLB\001\0\0\0\004", 12); /* four distinct files */

	/* the bundle alone is enough, and the file system is not consulted */
	unlink(at(f, "fim.policy"));
	unlink(at(f, "shared.policy"));
	unlink(at(f, "conf.d/a.policy"));
	write_text(f, "conf.d/c.policy", "/new\n");
	assert_int_equal(policy_load_bundle(b1, n1, &q, &f->err), 0);
	assert_same_rules(f->p, q);
	assert_memory_equal(policy_digest(f->p), policy_digest(q), crypto_hash_sha256_BYTES);
	assert_string_equal(policy_rule_at(q, 4)->file, at(f, "conf.d/a.policy"));
	assert_int_equal(policy_bundle(q, &b2, &n2), 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	free(b1);
	free(b2);
	policy_free(q);
}

static void test_digest(void **state)
{
	struct fx *f = *state;
	uint8_t d1[crypto_hash_sha256_BYTES];

	load_ok(f, "/etc\n");
	memcpy(d1, policy_digest(f->p), sizeof(d1));
	load_ok(f, "/etc\n");
	assert_memory_equal(d1, policy_digest(f->p), sizeof(d1));
	load_ok(f, "/etc \n");
	assert_memory_not_equal(d1, policy_digest(f->p), sizeof(d1));
}

/* Writes a bundle of N files into BUF; returns its length. */
static size_t make_bundle(uint8_t *buf, size_t n, const char *const *names,
                          const char *const *datas)
{
	uint8_t *o = buf;

	memcpy(o, "FIMPOLB\001", 8);
	o += 8;
	for (int sh = 24; sh >= 0; sh -= 8)
		*o++ = (uint8_t)(n >> sh);
	for (size_t i = 0; i < n; i++) {
		const char *parts[] = {names[i], datas[i]};

		for (int k = 0; k < 2; k++) {
			size_t len = strlen(parts[k]);

			for (int sh = 24; sh >= 0; sh -= 8)
				*o++ = (uint8_t)(len >> sh);
			memcpy(o, parts[k], len);
			o += len;
		}
	}
	return (size_t)(o - buf);
}

static void expect_bundle_error(struct fx *f, const void *buf, size_t len, int r, const char *file,
                                unsigned line, unsigned col, const char *msg)
{
	memset(&f->err, 0, sizeof(f->err));
	policy_free(f->p);
	f->p = NULL;
	check_error(f, policy_load_bundle(buf, len, &f->p, &f->err), r, file, line, col, msg);
}

static void test_bundle_corrupt(void **state)
{
	static const char *const names[] = {"/x/main", "/x/inc", "/x/main"};
	static const char *const datas[] = {"include inc\n", "bogus\n", ""};
	/* What a bundle of names[0..2) and datas[0..2) cut short before END reads as. */
	static const struct {
		size_t end;
		const char *msg;
	} cuts[] = {
	        {8, "corrupt policy bundle: not a policy bundle"},
	        {12, "corrupt policy bundle: bad file count"},
	        {12 + 4 + 7, "corrupt policy bundle: bad file name length"},
	        {23 + 4 + 12, "corrupt policy bundle: bad file length"},
	        {39 + 4 + 6, "corrupt policy bundle: bad file name length"},
	        {49 + 4 + 6, "corrupt policy bundle: bad file length"},
	};
	struct fx *f = *state;
	uint8_t buf[256], *valid;
	size_t len, n;
	unsigned seed = 7;

	len = make_bundle(buf, 1, names, (const char *const[]){"/ok\n"});
	assert_int_equal(policy_load_bundle(buf, len, &f->p, &f->err), 0);
	assert_int_equal(policy_rule_count(f->p), 1);
	assert_string_equal(rule(f, 0)->file, "/x/main");

	len = make_bundle(buf, 2, names, datas);
	expect_bundle_error(f, buf, len, -EINVAL, "/x/inc", 1, 1, "unknown keyword 'bogus'");
	len = make_bundle(buf, 1, names, datas);
	expect_bundle_error(f, buf, len, -ENOENT, "/x/main", 1, 9,
	                    "cannot open /x/inc: No such file or directory");
	len = make_bundle(buf, 3, names, datas);
	expect_bundle_error(f, buf, len, -EBADMSG, "", 0, 0,
	                    "corrupt policy bundle: a file name appears twice");
	len = make_bundle(buf, 0, names, datas);
	expect_bundle_error(f, buf, len, -EBADMSG, "", 0, 0,
	                    "corrupt policy bundle: bad file count");
	len = make_bundle(buf, 1, (const char *const[]){""}, datas);
	expect_bundle_error(f, buf, len, -EBADMSG, "", 0, 0,
	                    "corrupt policy bundle: bad file name length");

	len = make_bundle(buf, 2, names, datas);
	valid = malloc(len + 1);
	assert_non_null(valid);
	memcpy(valid, buf, len);
	assert_int_equal(len, 59);
	for (n = 0; n < len; n++) {
		size_t k = 0;

		while (n >= cuts[k].end)
			k++;
		expect_bundle_error(f, valid, n, -EBADMSG, "", 0, 0, cuts[k].msg);
	}
	valid[len] = 0;
	expect_bundle_error(f, valid, len + 1, -EBADMSG, "", 0, 0,
	                    "corrupt policy bundle: trailing bytes");
	valid[15] = 0xff; /* name length of the first file */
	expect_bundle_error(f, valid, len, -EBADMSG, "", 0, 0,
	                    "corrupt policy bundle: bad file name length");
	valid[15] = 7;
	valid[18] = '\0'; /* the second '/' of "/x/main" */
	expect_bundle_error(f, valid, len, -EBADMSG, "", 0, 0,
	                    "corrupt policy bundle: NUL byte in a file name");
	valid[18] = '/';
	valid[23] = 0x40; /* content length of the first file: 1 GiB */
	expect_bundle_error(f, valid, len, -EBADMSG, "", 0, 0,
	                    "corrupt policy bundle: bad file length");
	valid[23] = 0;

	/* random damage: an error or a policy, never a crash */
	for (int iter = 0; iter < 5000; iter++) {
		uint8_t copy[256];
		int r;

		memcpy(copy, valid, len);
		for (int k = rand_r(&seed) % 4; k >= 0; k--)
			copy[(size_t)rand_r(&seed) % len] = (uint8_t)rand_r(&seed);
		r = policy_load_bundle(copy, (size_t)rand_r(&seed) % (len + 1), &f->p, &f->err);
		assert_true(r <= 0);
		policy_free(f->p);
		f->p = NULL;
	}
	free(valid);
}

/* Line of the rule deciding object ID of KIND: 0 none, negated for an exclude. */
static int decide_obj(struct fx *f, enum fim_kind kind, const char *id)
{
	const struct policy_rule *r = policy_match_obj(f->p, kind, id, strlen(id));

	if (!r)
		return 0;
	assert_int_equal(r->kind, kind);
	return r->flags & RULE_EXCLUDE ? -(int)r->line : (int)r->line;
}

static attrset_t kattrs(enum fim_kind kind, const char *names)
{
	attrset_t set = 0;

	while (*names) {
		size_t n = strcspn(names, " ");
		int a = attr_lookup(kind, names, n);

		assert_true(a >= 0);
		set |= ATTR_BIT(a);
		names += n + (names[n] == ' ');
	}
	return set;
}

static void test_object_rules(void **state)
{
	struct fx *f = *state;
	const struct policy_rule *r;

	load_ok(f, "/etc CONTENT\n"
	           "users severity=critical\n"
	           "groups gid members\n"
	           "services severity=high\n"
	           "services name=apt-daily*.service -active\n"
	           "!services name=\"systemd-tmpfiles-clean.*\"\n"
	           "sudoers\n"
	           "cron name=/etc/cron.d/* jobs env severity=low\n"
	           "!users name=nobody\n");
	/* object rules are not file rules */
	assert_int_equal(policy_rule_count(f->p), 1);
	assert_int_equal(policy_obj_rule_count(f->p), 8);
	assert_int_equal(decide_obj(f, KIND_USER, "root"), 2);
	assert_int_equal(decide_obj(f, KIND_USER, "nobody"), -9);
	assert_int_equal(decide_obj(f, KIND_GROUP, "sudo"), 3);
	assert_int_equal(decide_obj(f, KIND_SERVICE, "ssh.service"), 4);
	assert_int_equal(decide_obj(f, KIND_SERVICE, "apt-daily-upgrade.service"), 5);
	assert_int_equal(decide_obj(f, KIND_SERVICE, "systemd-tmpfiles-clean.timer"), -6);
	assert_int_equal(decide_obj(f, KIND_SUDOERS, "%sudo"), 7);
	assert_int_equal(decide_obj(f, KIND_CRON, "/etc/cron.d/evil"), 8);
	assert_int_equal(decide_obj(f, KIND_CRON, "/etc/crontab"), 0);
	assert_true(policy_has_kind(f->p, KIND_USER));
	assert_true(policy_has_kind(f->p, KIND_CRON));
	r = policy_match_obj(f->p, KIND_USER, "root", 4);
	assert_int_equal(r->attrs, attr_all(KIND_USER));
	assert_int_equal(r->severity, SEV_CRITICAL);
	assert_string_equal(r->pattern, "*");
	r = policy_match_obj(f->p, KIND_GROUP, "x", 1);
	assert_int_equal(r->attrs, kattrs(KIND_GROUP, "gid members"));
	assert_int_equal(r->severity, SEV_MEDIUM);
	r = policy_match_obj(f->p, KIND_SERVICE, "apt-daily.service", 17);
	assert_int_equal(r->attrs, attr_all(KIND_SERVICE) & ~kattrs(KIND_SERVICE, "active"));
	assert_string_equal(r->pattern, "apt-daily*.service");
	r = policy_match_obj(f->p, KIND_CRON, "/etc/cron.d/x", 13);
	assert_int_equal(r->attrs, kattrs(KIND_CRON, "jobs env"));
	assert_int_equal(r->severity, SEV_LOW);
	/* the file rules are untouched by them */
	assert_int_equal(decide(f, "/etc/passwd"), 1);

	/* a kind with only an exclude selects nothing */
	load_ok(f, "!users\n");
	assert_false(policy_has_kind(f->p, KIND_USER));
	assert_int_equal(decide_obj(f, KIND_USER, "root"), -1);
	load_ok(f, "users ALL -password\nusers name=svc NONE +shell\n");
	assert_int_equal(policy_match_obj(f->p, KIND_USER, "root", 4)->attrs,
	                 attr_all(KIND_USER) & ~kattrs(KIND_USER, "password"));
	assert_int_equal(policy_match_obj(f->p, KIND_USER, "svc", 3)->attrs,
	                 kattrs(KIND_USER, "shell"));
	assert_false(policy_has_kind(f->p, KIND_GROUP));
	/* ids longer than any object id never match */
	{
		char id[600];
		memset(id, 'a', sizeof(id));
		assert_null(policy_match_obj(f->p, KIND_USER, id, sizeof(id)));
	}
}

static void test_object_rule_errors(void **state)
{
	struct fx *f = *state;

	expect_error(f, "users hash\n", -EINVAL, 1, 7, "unknown user attribute 'hash'");
	expect_error(f, "groups CONTENT\n", -EINVAL, 1, 8, "unknown group attribute 'CONTENT'");
	expect_error(f, "services +bogus\n", -EINVAL, 1, 10, "unknown service attribute 'bogus'");
	expect_error(f, "!users severity=high\n", -EINVAL, 1, 8,
	             "an exclude rule takes no severity");
	expect_error(f, "!services name=x shell\n", -EINVAL, 1, 18,
	             "an exclude rule takes no attributes");
	expect_error(f, "users growing\n", -EINVAL, 1, 7, "'growing' applies to files only");
	expect_error(f, "users shell name=x\n", -EINVAL, 1, 13,
	             "'name=' must come right after 'users'");
	expect_error(f, "users name=\n", -EINVAL, 1, 12, "missing name pattern after 'name='");
	expect_error(f, "cron severity=urgent\n", -EINVAL, 1, 15,
	             "unknown severity 'urgent' (use low, medium, high or critical)");
}

/* The digest stands for contents and include structure, not for the names files were reached
 * by: another spelling of the same main file gives the same digest, any change of what is read
 * or of where it is included gives another. */
static void test_digest_names(void **state)
{
	struct fx *f = *state;
	const char *spellings[] = {"fim.policy", "./fim.policy", "alias/fim.policy",
	                           "conf.d/../fim.policy", ".//fim.policy"};
	uint8_t d1[crypto_hash_sha256_BYTES];
	char cwd[PATH_MAX];

	write_text(f, "fim.policy", "/etc\ninclude conf.d/*.policy\n");
	write_text(f, "conf.d/a.policy", "!/etc/x\n");
	assert_int_equal(symlink(".", at(f, "alias")), 0);
	assert_int_equal(load_file(f, "fim.policy"), 0);
	memcpy(d1, policy_digest(f->p), sizeof(d1));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	for (size_t i = 0; i < ARRAY_SIZE(spellings); i++) {
		struct policy *q = NULL;

		assert_int_equal(policy_load(spellings[i], &q, &f->err), 0);
		assert_string_equal(policy_rule_at(q, 0)->file, spellings[i]);
		assert_memory_equal(policy_digest(q), d1, sizeof(d1));
		policy_free(q);
	}
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(load_file(f, "alias/alias/fim.policy"), 0);
	assert_memory_equal(policy_digest(f->p), d1, sizeof(d1));

	/* the same bytes in one more file, included at the same place */
	write_text(f, "conf.d/b.policy", "!/etc/x\n");
	assert_int_equal(load_file(f, "fim.policy"), 0);
	assert_memory_not_equal(policy_digest(f->p), d1, sizeof(d1));
	unlink(at(f, "conf.d/b.policy"));
	/* the same files, the include on another line */
	write_text(f, "fim.policy", "include conf.d/*.policy\n/etc\n");
	assert_int_equal(load_file(f, "fim.policy"), 0);
	assert_memory_not_equal(policy_digest(f->p), d1, sizeof(d1));
	/* back as it was */
	write_text(f, "fim.policy", "/etc\ninclude conf.d/*.policy\n");
	assert_int_equal(load_file(f, "fim.policy"), 0);
	assert_memory_equal(policy_digest(f->p), d1, sizeof(d1));
	/* an included file's content */
	write_text(f, "conf.d/a.policy", "!/etc/y\n");
	assert_int_equal(load_file(f, "fim.policy"), 0);
	assert_memory_not_equal(policy_digest(f->p), d1, sizeof(d1));
}

/* A baseline of an older fim stored the SHA-256 of the bundle as the policy digest: it is still
 * recognised when the bundle is that one and means the policy in force, whatever its names. */
static void test_digest_legacy(void **state)
{
	struct fx *f = *state;
	uint8_t legacy[crypto_hash_sha256_BYTES], other_legacy[crypto_hash_sha256_BYTES];
	struct policy *rel = NULL;
	void *b, *other;
	size_t n, other_n;
	char cwd[PATH_MAX];

	write_text(f, "fim.policy", "/etc\ninclude conf.d/*.policy\n");
	write_text(f, "conf.d/a.policy", "!/etc/x\n");
	assert_int_equal(load_file(f, "fim.policy"), 0);
	assert_int_equal(policy_bundle(f->p, &b, &n), 0);
	assert_int_equal(crypto_hash_sha256(legacy, b, n), 0);
	assert_memory_not_equal(legacy, policy_digest(f->p), sizeof(legacy));

	assert_true(policy_is_stored(f->p, policy_digest(f->p), 32, NULL, 0));
	assert_true(policy_is_stored(f->p, legacy, 32, b, n));
	assert_false(policy_is_stored(f->p, legacy, 32, NULL, 0));
	assert_false(policy_is_stored(f->p, legacy, 31, b, n));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(policy_load("fim.policy", &rel, &f->err), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_true(policy_is_stored(rel, legacy, 32, b, n));
	legacy[7] ^= 1;
	assert_false(policy_is_stored(f->p, legacy, 32, b, n));
	legacy[7] ^= 1;

	/* another policy: neither its bundle's old digest nor ours fits */
	write_text(f, "conf.d/a.policy", "!/etc/y\n");
	assert_int_equal(load_file(f, "fim.policy"), 0);
	assert_int_equal(policy_bundle(f->p, &other, &other_n), 0);
	assert_int_equal(crypto_hash_sha256(other_legacy, other, other_n), 0);
	assert_false(policy_is_stored(f->p, legacy, 32, b, n));
	assert_false(policy_is_stored(rel, other_legacy, 32, other, other_n));
	assert_false(policy_is_stored(f->p, legacy, 32, other, other_n));
	assert_true(policy_is_stored(f->p, other_legacy, 32, other, other_n));
	/* a damaged bundle is not a match, and no crash */
	((uint8_t *)other)[9] ^= 0x40;
	assert_int_equal(crypto_hash_sha256(other_legacy, other, other_n), 0);
	assert_false(policy_is_stored(f->p, other_legacy, 32, other, other_n));
	free(b);
	free(other);
	policy_free(rel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_set, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_set_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_builtin_groups, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_define, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_define_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_severity_growing, setup, teardown),
	        cmocka_unit_test(test_severity_name),
	        cmocka_unit_test_setup_teardown(test_rule_fields, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_last_match_wins, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_this_only, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_globs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_glob_affixes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_double_star, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_escapes_and_quotes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pattern_normalisation, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pattern_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_keywords, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_descend, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_roots, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_include_glob_sorted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_include_forms, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_include_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_include_cycle, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_include_depth, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_proc_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_main_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_nul_and_garbage, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fuzz_text, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_long_paths, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_long_pattern, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bundle_roundtrip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_digest, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bundle_corrupt, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_object_rules, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_object_rule_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_digest_names, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_digest_legacy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
