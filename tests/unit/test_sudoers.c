/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/sudoers*.c: rules, Defaults, aliases and includes of fake roots. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

#include "baseline/sudoers.h"

struct problem {
	char path[256];
	unsigned line;
	int err;
	char msg[512];
};

struct fixture {
	char root[64];
	char outside[64]; /* a directory outside the root, for escape attempts */
	struct problem probs[64];
	size_t nprobs;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/fim-test-sudoers.XXXXXX");
	snprintf(f->outside, sizeof(f->outside), "/tmp/fim-test-sudoers-out.XXXXXX");
	if (!mkdtemp(f->root) || !mkdtemp(f->outside))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(f->outside, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg)
{
	struct fixture *f = userdata;
	struct problem *p;

	/* files made by an unprivileged test run cannot be owned by root */
	if (geteuid() != 0 && err == -EPERM && strcmp(msg, "not owned by root") == 0)
		return;
	assert_true(f->nprobs < ARRAY_SIZE(f->probs));
	p = &f->probs[f->nprobs++];
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->line = line;
	p->err = err;
	snprintf(p->msg, sizeof(p->msg), "%s", msg);
}

/* Creates the directories leading to FULL. */
static void make_parents(const char *full)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", full);
	for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(dir, 0755) < 0)
			assert_int_equal(errno, EEXIST);
		*s = '/';
	}
}

static void put_bytes(const char *base, const char *rel, const char *text, size_t n, mode_t mode)
{
	char full[PATH_MAX];
	int fd;

	snprintf(full, sizeof(full), "%s%s", base, rel);
	make_parents(full);
	unlink(full);
	fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Writes REL (as inside the root, "/etc/sudoers") with sudo's usual mode. */
static void put(struct fixture *f, const char *rel, const char *text)
{
	put_bytes(f->root, rel, text, strlen(text), 0440);
}

static void put_link(struct fixture *f, const char *rel, const char *target)
{
	char full[PATH_MAX];

	snprintf(full, sizeof(full), "%s%s", f->root, rel);
	make_parents(full);
	assert_int_equal(symlink(target, full), 0);
}

static void del(struct fixture *f, const char *rel)
{
	char full[PATH_MAX];

	snprintf(full, sizeof(full), "%s%s", f->root, rel);
	assert_int_equal(unlink(full), 0);
}

static struct obj_set *collect(struct fixture *f)
{
	struct obj_set *set;
	int rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct collect_ctx ctx = {.rootfd = rootfd, .problem = on_problem, .userdata = f};

	assert_true(rootfd >= 0);
	f->nprobs = 0;
	assert_int_equal(obj_set_new(KIND_SUDOERS, &set), 0);
	assert_int_equal(collect_sudoers(&ctx, set), 0);
	close(rootfd);
	return set;
}

static const struct obj_rec *get(const struct obj_set *set, const char *id)
{
	const struct obj_rec *r = obj_set_find(set, id, strlen(id));

	if (!r)
		fail_msg("no object '%s'", id);
	return r;
}

/* ATTR of ID is exactly WANT (elements joined by '\n'); NULL: absent. */
static void expect(const struct obj_set *set, const char *id, unsigned attr, const char *want)
{
	const struct obj_rec *r = get(set, id);

	if (!want) {
		assert_false(r->attrs & ATTR_BIT(attr));
		return;
	}
	assert_true(r->attrs & ATTR_BIT(attr));
	if (r->val[attr].n != strlen(want) || memcmp(r->val[attr].p, want, r->val[attr].n) != 0)
		fail_msg("%s %s: got '%.*s', want '%s'", id, attr_name(KIND_SUDOERS, attr),
		         (int)r->val[attr].n, (const char *)r->val[attr].p, want);
}

/* The ids of SET, joined by ' '. */
static void expect_ids(const struct obj_set *set, const char *want)
{
	char got[4096] = "";
	size_t n = 0;

	for (size_t i = 0; i < obj_set_count(set); i++) {
		const struct obj_rec *r = obj_set_at(set, i);

		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%.*s", i ? " " : "",
		                      (int)r->id.n, (const char *)r->id.p);
		assert_true(n < sizeof(got));
	}
	assert_string_equal(got, want);
}

static void expect_problem(const struct fixture *f, size_t i, const char *path, unsigned line,
                           int err)
{
	assert_true(i < f->nprobs);
	if (strcmp(f->probs[i].path, path) != 0 || f->probs[i].line != line ||
	    f->probs[i].err != err)
		fail_msg("problem %zu: got %s:%u err %d (%s), want %s:%u err %d", i,
		         f->probs[i].path, f->probs[i].line, f->probs[i].err, f->probs[i].msg, path,
		         line, err);
}

static void expect_problems(const struct fixture *f, size_t n)
{
	if (f->nprobs != n)
		fail_msg("%zu problems (first: %s:%u %s), want %zu", f->nprobs,
		         f->nprobs ? f->probs[0].path : "", f->nprobs ? f->probs[0].line : 0,
		         f->nprobs ? f->probs[0].msg : "", n);
}

/* Attributes of ID that differ between A and B (ID in both). */
static attrset_t diff(const struct obj_set *a, const struct obj_set *b, const char *id)
{
	return obj_diff(get(a, id), get(b, id), attr_all(KIND_SUDOERS));
}

static const char debian[] =
        "#\n"
        "# This file MUST be edited with the 'visudo' command as root.\n"
        "#\n"
        "Defaults\tenv_reset\n"
        "Defaults\tmail_badpass\n"
        "Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\"\n"
        "Defaults\tuse_pty\n"
        "\n"
        "# User privilege specification\n"
        "root\tALL=(ALL:ALL) ALL\n"
        "\n"
        "# Allow members of group sudo to execute any command\n"
        "%sudo\tALL=(ALL:ALL) ALL\n"
        "\n"
        "# See sudoers(5) for more information on \"@include\" directives:\n"
        "\n"
        "@includedir /etc/sudoers.d\n";

static void test_missing(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set = collect(f);

	assert_int_equal(obj_set_count(set), 0);
	expect_problems(f, 0);
	obj_set_free(set);

	/* an @includedir that does not exist is not a problem either (sudo ignores it) */
	put(f, "/etc/sudoers", debian);
	set = collect(f);
	expect_problems(f, 0);
	expect_ids(set, "%sudo Defaults root");
	obj_set_free(set);
}

static void test_debian_default(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers", debian);
	put(f, "/etc/sudoers.d/README", "# comments only\n");
	set = collect(f);
	expect_problems(f, 0);
	expect_ids(set, "%sudo Defaults root");
	expect(set, "root", SUA_RULES, "ALL=(ALL:ALL) ALL");
	expect(set, "root", SUA_FILES, "/etc/sudoers");
	expect(set, "root", SUA_MEMBERS, NULL);
	expect(set, "%sudo", SUA_RULES, "ALL=(ALL:ALL) ALL");
	expect(set, "Defaults", SUA_RULES,
	       "env_reset\nmail_badpass\n"
	       "secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\"\nuse_pty");
	expect(set, "Defaults", SUA_FILES, "/etc/sudoers");
	obj_set_free(set);
}

static void test_user_given_sudo(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, "/etc/sudoers", "root ALL=(ALL:ALL) ALL\n");
	a = collect(f);
	expect_ids(a, "root");
	put(f, "/etc/sudoers", "root ALL=(ALL:ALL) ALL\nalice ALL=(ALL:ALL) ALL\n");
	b = collect(f);
	expect_problems(f, 0);
	expect_ids(b, "alice root");
	expect(b, "alice", SUA_RULES, "ALL=(ALL:ALL) ALL");
	expect(b, "alice", SUA_FILES, "/etc/sudoers");
	assert_int_equal(diff(a, b, "root"), 0);
	obj_set_free(a);
	obj_set_free(b);
}

static void test_group_rule(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, "/etc/sudoers", "%sudo ALL=(ALL) ALL\n@includedir /etc/sudoers.d\n");
	a = collect(f);
	put(f, "/etc/sudoers.d/ops",
	    "%ops,%#1500 web1 = (www-data) /usr/bin/systemctl reload nginx\n");
	b = collect(f);
	expect_problems(f, 0);
	expect_ids(a, "%sudo");
	expect_ids(b, "%#1500 %ops %sudo");
	expect(b, "%ops", SUA_RULES, "web1=(www-data) /usr/bin/systemctl reload nginx");
	expect(b, "%#1500", SUA_RULES, "web1=(www-data) /usr/bin/systemctl reload nginx");
	expect(b, "%ops", SUA_FILES, "/etc/sudoers.d/ops");
	assert_int_equal(diff(a, b, "%sudo"), 0);

	/* the group's rule widened */
	obj_set_free(a);
	a = b;
	put(f, "/etc/sudoers.d/ops", "%ops,%#1500 web1 = (ALL) /usr/bin/systemctl\n");
	b = collect(f);
	assert_int_equal(diff(a, b, "%ops"), ATTR_BIT(SUA_RULES));
	expect(b, "%ops", SUA_RULES, "web1=(ALL) /usr/bin/systemctl");
	obj_set_free(a);
	obj_set_free(b);
}

static void test_nopasswd_added(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, "/etc/sudoers", "alice ALL=(root) /usr/bin/apt, /usr/bin/dpkg\n");
	a = collect(f);
	put(f, "/etc/sudoers", "alice ALL=(root) NOPASSWD: /usr/bin/apt, /usr/bin/dpkg\n");
	b = collect(f);
	expect_problems(f, 0);
	expect(a, "alice", SUA_RULES, "ALL=(root) /usr/bin/apt, /usr/bin/dpkg");
	expect(b, "alice", SUA_RULES, "ALL=(root) NOPASSWD: /usr/bin/apt, /usr/bin/dpkg");
	assert_int_equal(diff(a, b, "alice"), ATTR_BIT(SUA_RULES));
	obj_set_free(b);

	/* spacing is not a change: "NOPASSWD :" and blank runs read the same */
	put(f, "/etc/sudoers", "alice\tALL = ( root )  NOPASSWD :/usr/bin/apt ,/usr/bin/dpkg  \n");
	b = collect(f);
	expect(b, "alice", SUA_RULES, "ALL=(root) NOPASSWD: /usr/bin/apt, /usr/bin/dpkg");
	obj_set_free(a);
	obj_set_free(b);
}

static void test_defaults_authenticate(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, "/etc/sudoers", "Defaults env_reset\nroot ALL=(ALL) ALL\n");
	a = collect(f);
	put(f, "/etc/sudoers", "Defaults env_reset\nDefaults !authenticate\nroot ALL=(ALL) ALL\n");
	b = collect(f);
	expect_problems(f, 0);
	expect(a, "Defaults", SUA_RULES, "env_reset");
	expect(b, "Defaults", SUA_RULES, "!authenticate\nenv_reset");
	assert_int_equal(diff(a, b, "Defaults"), ATTR_BIT(SUA_RULES));
	assert_int_equal(diff(a, b, "root"), 0);
	obj_set_free(a);
	obj_set_free(b);
}

static void test_defaults_bindings(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, "/etc/sudoers",
	    "Defaults:alice !authenticate\n"
	    "Defaults: alice , %wheel  env_keep += \"SSH_AUTH_SOCK EDITOR\", timestamp_timeout = "
	    "0\n"
	    "Defaults@web1,10.0.0.0/8 log_output\n"
	    "Defaults>root,!bob !set_logname\n"
	    "Defaults!/usr/bin/su, SHELLS  !requiretty , use_pty\n"
	    "Defaults  env_keep-=HOME,  lecture=never\n");
	a = collect(f);
	expect_problems(f, 0);
	expect_ids(a, "Defaults Defaults!/usr/bin/su,SHELLS Defaults:alice Defaults:alice,%wheel "
	              "Defaults>root,!bob Defaults@web1,10.0.0.0/8");
	expect(a, "Defaults:alice", SUA_RULES, "!authenticate");
	expect(a, "Defaults:alice,%wheel", SUA_RULES,
	       "env_keep+=\"SSH_AUTH_SOCK EDITOR\"\ntimestamp_timeout=0");
	expect(a, "Defaults@web1,10.0.0.0/8", SUA_RULES, "log_output");
	expect(a, "Defaults>root,!bob", SUA_RULES, "!set_logname");
	expect(a, "Defaults!/usr/bin/su,SHELLS", SUA_RULES, "!requiretty\nuse_pty");
	expect(a, "Defaults", SUA_RULES, "env_keep-=HOME\nlecture=never");

	/* Defaults:alice drifts; the others stay */
	put(f, "/etc/sudoers",
	    "Defaults:alice !authenticate, !requiretty\n"
	    "Defaults: alice , %wheel  env_keep += \"SSH_AUTH_SOCK EDITOR\", timestamp_timeout = "
	    "0\n"
	    "Defaults@web1,10.0.0.0/8 log_output\n"
	    "Defaults>root,!bob !set_logname\n"
	    "Defaults!/usr/bin/su, SHELLS  !requiretty , use_pty\n"
	    "Defaults  env_keep-=HOME,  lecture=never\n");
	b = collect(f);
	expect(b, "Defaults:alice", SUA_RULES, "!authenticate\n!requiretty");
	assert_int_equal(diff(a, b, "Defaults:alice"), ATTR_BIT(SUA_RULES));
	assert_int_equal(diff(a, b, "Defaults:alice,%wheel"), 0);
	assert_int_equal(diff(a, b, "Defaults"), 0);
	obj_set_free(a);
	obj_set_free(b);
}

static void test_alias_members(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, "/etc/sudoers",
	    "User_Alias ADMINS = alice, bob : OPS = %ops, !eve\n"
	    "Runas_Alias DB = postgres, #115\n"
	    "Host_Alias SERVERS = web1, 10.0.0.0/8, fe80::1/64\n"
	    "Cmnd_Alias SHELLS = /bin/sh, /bin/bash\n"
	    "Cmd_Alias NET = /sbin/ip link set * up\n"
	    "ADMINS SERVERS = (DB) SHELLS, NET\n");
	a = collect(f);
	expect_problems(f, 0);
	expect_ids(a, "ADMINS Cmnd_Alias NET Cmnd_Alias SHELLS Host_Alias SERVERS Runas_Alias DB "
	              "User_Alias ADMINS User_Alias OPS");
	expect(a, "User_Alias ADMINS", SUA_MEMBERS, "alice\nbob");
	expect(a, "User_Alias ADMINS", SUA_RULES, NULL);
	expect(a, "User_Alias ADMINS", SUA_FILES, "/etc/sudoers");
	expect(a, "User_Alias OPS", SUA_MEMBERS, "!eve\n%ops");
	expect(a, "Runas_Alias DB", SUA_MEMBERS, "#115\npostgres");
	expect(a, "Host_Alias SERVERS", SUA_MEMBERS, "10.0.0.0/8\nfe80::1/64\nweb1");
	expect(a, "Cmnd_Alias SHELLS", SUA_MEMBERS, "/bin/bash\n/bin/sh");
	expect(a, "Cmnd_Alias NET", SUA_MEMBERS, "/sbin/ip link set * up");
	expect(a, "ADMINS", SUA_RULES, "SERVERS=(DB) SHELLS, NET");

	/* mallory joins ADMINS: only that alias changes */
	put(f, "/etc/sudoers",
	    "User_Alias ADMINS = alice, bob, mallory : OPS = %ops, !eve\n"
	    "Runas_Alias DB = postgres, #115\n"
	    "Host_Alias SERVERS = web1, 10.0.0.0/8, fe80::1/64\n"
	    "Cmnd_Alias SHELLS = /bin/sh, /bin/bash\n"
	    "Cmd_Alias NET = /sbin/ip link set * up\n"
	    "ADMINS SERVERS = (DB) SHELLS, NET\n");
	b = collect(f);
	expect(b, "User_Alias ADMINS", SUA_MEMBERS, "alice\nbob\nmallory");
	assert_int_equal(diff(a, b, "User_Alias ADMINS"), ATTR_BIT(SUA_MEMBERS));
	assert_int_equal(diff(a, b, "User_Alias OPS"), 0);
	assert_int_equal(diff(a, b, "ADMINS"), 0);
	obj_set_free(b);

	/* a command added to SHELLS */
	put(f, "/etc/sudoers",
	    "User_Alias ADMINS = alice, bob : OPS = %ops, !eve\n"
	    "Runas_Alias DB = postgres, #115\n"
	    "Host_Alias SERVERS = web1, 10.0.0.0/8, fe80::1/64\n"
	    "Cmnd_Alias SHELLS = /bin/sh, /bin/bash, /usr/bin/python3\n"
	    "Cmd_Alias NET = /sbin/ip link set * up\n"
	    "ADMINS SERVERS = (DB) SHELLS, NET\n");
	b = collect(f);
	expect(b, "Cmnd_Alias SHELLS", SUA_MEMBERS, "/bin/bash\n/bin/sh\n/usr/bin/python3");
	assert_int_equal(diff(a, b, "Cmnd_Alias SHELLS"), ATTR_BIT(SUA_MEMBERS));
	assert_int_equal(diff(a, b, "User_Alias ADMINS"), 0);
	obj_set_free(a);
	obj_set_free(b);
}

static void test_includedir_added(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, "/etc/sudoers", debian);
	put(f, "/etc/sudoers.d/10-ops", "%ops ALL=(ALL) /usr/bin/systemctl\n");
	a = collect(f);
	expect_problems(f, 0);
	expect_ids(a, "%ops %sudo Defaults root");
	expect(a, "%ops", SUA_FILES, "/etc/sudoers.d/10-ops");

	put(f, "/etc/sudoers.d/zz-backdoor",
	    "Defaults !authenticate\nmallory ALL=(ALL) NOPASSWD: ALL\n");
	b = collect(f);
	expect_problems(f, 0);
	expect_ids(b, "%ops %sudo Defaults mallory root");
	expect(b, "mallory", SUA_RULES, "ALL=(ALL) NOPASSWD: ALL");
	expect(b, "mallory", SUA_FILES, "/etc/sudoers.d/zz-backdoor");
	expect(b, "Defaults", SUA_FILES, "/etc/sudoers\n/etc/sudoers.d/zz-backdoor");
	assert_int_equal(diff(a, b, "Defaults"), ATTR_BIT(SUA_RULES) | ATTR_BIT(SUA_FILES));
	assert_int_equal(diff(a, b, "%ops"), 0);
	obj_set_free(a);
	obj_set_free(b);
}

static void test_includedir_ignored_names(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers", "#includedir /etc/sudoers.d/\n");
	put(f, "/etc/sudoers.d/foo~", "tilde ALL=ALL\n");
	put(f, "/etc/sudoers.d/a.b", "dot ALL=ALL\n");
	put(f, "/etc/sudoers.d/.hidden", "hidden ALL=ALL\n");
	put(f, "/etc/sudoers.d/README.md", "readme ALL=ALL\n");
	put(f, "/etc/sudoers.d/sub/x", "subdir ALL=ALL\n");
	put(f, "/etc/sudoers.d/b", "read ALL=ALL\n");
	put_link(f, "/etc/sudoers.d/dangling", "/nonexistent");
	set = collect(f);
	expect_problems(f, 0);
	expect_ids(set, "read");
	expect(set, "read", SUA_FILES, "/etc/sudoers.d/b");
	obj_set_free(set);
}

static void test_include_relative(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers", "#include sudoers.local\n@includedir sudoers.d\n");
	put(f, "/etc/sudoers.local", "local ALL=ALL\n");
	put(f, "/etc/sudoers.d/a",
	    "@include extra/more\n@include \"with space\"\n"
	    "@include with\\ space\n");
	put(f, "/etc/sudoers.d/extra/more", "more ALL=ALL\n");
	put(f, "/etc/sudoers.d/with space", "spaced ALL=ALL\n");
	set = collect(f);
	expect_problems(f, 0);
	expect_ids(set, "local more spaced");
	expect(set, "local", SUA_FILES, "/etc/sudoers.local");
	expect(set, "more", SUA_FILES, "/etc/sudoers.d/extra/more");
	expect(set, "spaced", SUA_FILES, "/etc/sudoers.d/with space");
	obj_set_free(set);
}

static void test_include_problems(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;
	char full[PATH_MAX];

	put(f, "/etc/sudoers",
	    "@include /etc/nothere\n"          /* 1: missing */
	    "@include /etc/sudoers.d/%h\n"     /* 2: %h */
	    "@include /etc/fifo\n"             /* 3: not a regular file */
	    "@include /etc/dir\n"              /* 4: a directory */
	    "@includedir /etc/sudoers.local\n" /* 5: a file, not a directory */
	    "@include /etc/ok junk\n"          /* 6: text after the path */
	    "@include /etc/ok # a comment\n"   /* 7 */
	    "alice ALL=ALL\n");
	put(f, "/etc/ok", "ok ALL=ALL\n");
	put(f, "/etc/sudoers.local", "local ALL=ALL\n");
	snprintf(full, sizeof(full), "%s/etc/fifo", f->root);
	assert_int_equal(mkfifo(full, 0600), 0);
	snprintf(full, sizeof(full), "%s/etc/dir", f->root);
	assert_int_equal(mkdir(full, 0755), 0);
	set = collect(f);
	expect_problems(f, 6);
	expect_problem(f, 0, "/etc/nothere", 0, -ENOENT);
	expect_problem(f, 1, "/etc/sudoers", 2, -EOPNOTSUPP);
	expect_problem(f, 2, "/etc/fifo", 0, -EINVAL);
	expect_problem(f, 3, "/etc/dir", 0, -EISDIR);
	expect_problem(f, 4, "/etc/sudoers.local", 0, -ENOTDIR);
	expect_problem(f, 5, "/etc/sudoers", 6, -EBADMSG);
	expect_ids(set, "alice ok");
	obj_set_free(set);

	/* /etc/sudoers itself unreadable */
	del(f, "/etc/sudoers");
	snprintf(full, sizeof(full), "%s/etc/sudoers", f->root);
	assert_int_equal(mkdir(full, 0755), 0);
	set = collect(f);
	expect_problems(f, 1);
	expect_problem(f, 0, "/etc/sudoers", 0, -EISDIR);
	assert_int_equal(obj_set_count(set), 0);
	obj_set_free(set);
}

static void test_include_cycle(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers", "root ALL=ALL\n@include /etc/a\n");
	put(f, "/etc/a", "a ALL=ALL\n\n@include b\n");
	put(f, "/etc/b", "b ALL=ALL\n@include /etc/sudoers\n@include /etc/b\n");
	set = collect(f);
	expect_problems(f, 2);
	expect_problem(f, 0, "/etc/b", 2, -EBADMSG);
	assert_string_equal(f->probs[0].msg, "include cycle: /etc/sudoers is already being read");
	expect_problem(f, 1, "/etc/b", 3, -EBADMSG);
	expect_ids(set, "a b root");
	expect(set, "root", SUA_FILES, "/etc/sudoers");
	obj_set_free(set);

	/* a name from the file reaches the message only escaped */
	put(f, "/etc/sudoers", "@include /etc/e\x1b[2J\n");
	put(f, "/etc/e\x1b[2J", "@include /etc/e\x1b[2J\n");
	set = collect(f);
	expect_problems(f, 1);
	expect_problem(f, 0, "/etc/e\x1b[2J", 1, -EBADMSG);
	assert_string_equal(f->probs[0].msg, "include cycle: /etc/e\\x1b[2J is already being read");
	obj_set_free(set);

	/* the same file twice, not nested, is no cycle */
	put(f, "/etc/sudoers", "@include /etc/c\n@include /etc/c\n");
	put(f, "/etc/c", "c ALL=ALL\n");
	set = collect(f);
	expect_problems(f, 0);
	expect(set, "c", SUA_RULES, "ALL=ALL");
	expect(set, "c", SUA_FILES, "/etc/c");
	obj_set_free(set);
}

static void test_include_depth(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;
	char name[64], text[128];

	put(f, "/etc/sudoers", "@include /etc/d1\n");
	for (int i = 1; i <= 10; i++) {
		snprintf(name, sizeof(name), "/etc/d%d", i);
		snprintf(text, sizeof(text), "u%d ALL=ALL\n@include /etc/d%d\n", i, i + 1);
		put(f, name, text);
	}
	set = collect(f);
	/* /etc/d1 .. /etc/d8 are 8 levels below /etc/sudoers; d8 may not include d9 */
	expect_problems(f, 1);
	expect_problem(f, 0, "/etc/d8", 2, -ELOOP);
	expect_ids(set, "u1 u2 u3 u4 u5 u6 u7 u8");
	obj_set_free(set);
}

static void test_continuation(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers",
	    "alice ALL = \\\n"
	    "    (root) \\\n"
	    "    /usr/bin/apt,\\\n"
	    "/usr/bin/dpkg\n"
	    "Defaults env_keep = \"LANG \\\n"
	    "      LC_ALL\"\n"
	    "Cmnd_Alias \\\n"
	    "  X = /bin/a\\\n"
	    "b\n"
	    "bob ALL \\\n"
	    "  (root) /bin/ls\n" /* 10: malformed, reported at its first line */
	    "carol ALL=ALL # a comment \\\n"
	    "dave ALL=ALL\n"
	    "erin ALL=/bin/echo a\\\\\n"
	    "frank ALL=ALL\n");
	set = collect(f);
	expect_problems(f, 1);
	expect_problem(f, 0, "/etc/sudoers", 10, -EBADMSG);
	expect_ids(set, "Cmnd_Alias X Defaults alice carol dave erin frank");
	expect(set, "alice", SUA_RULES, "ALL=(root) /usr/bin/apt, /usr/bin/dpkg");
	expect(set, "Defaults", SUA_RULES, "env_keep=\"LANG LC_ALL\"");
	expect(set, "Cmnd_Alias X", SUA_MEMBERS, "/bin/a b");
	expect(set, "erin", SUA_RULES, "ALL=/bin/echo a\\\\");
	obj_set_free(set);
}

static void test_comments_and_uids(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers",
	    "# a comment\n"
	    "   # an indented comment ALL=ALL\n"
	    "#0 ALL = ALL\n"
	    "%#27 ALL = (#0:#0) /bin/ls # why\n"
	    "#-1 ALL=ALL\n"
	    "alice ALL=/bin/ls#trailing comment\n"
	    "bob ALL=/bin/echo \\# not a comment\n"
	    "Defaults passprompt=\"# %p:\"\n"
	    "#include_not_a_directive\n"
	    "#includedir\n");
	set = collect(f);
	expect_problems(f, 0);
	expect_ids(set, "#-1 #0 %#27 Defaults alice bob");
	expect(set, "#0", SUA_RULES, "ALL=ALL");
	expect(set, "%#27", SUA_RULES, "ALL=(#0:#0) /bin/ls");
	expect(set, "alice", SUA_RULES, "ALL=/bin/ls");
	expect(set, "bob", SUA_RULES, "ALL=/bin/echo \\# not a comment");
	expect(set, "Defaults", SUA_RULES, "passprompt=\"# %p:\"");
	obj_set_free(set);
}

static void test_host_specs(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, "/etc/sudoers",
	    "bob web1, web2 = (root) /bin/ls -l, /bin/cat : db1 = NOPASSWD: /bin/rm\\:x : "
	    "fe80::1 = ALL\n");
	a = collect(f);
	expect_problems(f, 0);
	expect(a, "bob", SUA_RULES,
	       "db1=NOPASSWD: /bin/rm\\:x\nfe80::1=ALL\nweb1, web2=(root) /bin/ls -l, /bin/cat");

	put(f, "/etc/sudoers",
	    "bob web1, web2 = (root) /bin/ls -l, /bin/cat : db1 = NOPASSWD: /bin/rm\\:x : "
	    "fe80::1 = ALL : ALL = (ALL) ALL\n");
	b = collect(f);
	expect(b, "bob", SUA_RULES,
	       "ALL=(ALL) ALL\ndb1=NOPASSWD: /bin/rm\\:x\nfe80::1=ALL\n"
	       "web1, web2=(root) /bin/ls -l, /bin/cat");
	assert_int_equal(diff(a, b, "bob"), ATTR_BIT(SUA_RULES));
	obj_set_free(a);
	obj_set_free(b);
}

static void test_command_forms(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers",
	    "u1 ALL = sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "
	    "/bin/true\n"
	    "u2 ALL = sha224:d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f, "
	    "sha256 : 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= /bin/false\n"
	    "u3 ALL = (root) CWD=/tmp CHROOT = /srv TIMEOUT=5m NOTBEFORE=20260101000000Z "
	    "NOTAFTER=20270101000000Z ROLE=sysadm_r TYPE=sysadm_t LOG_OUTPUT: MAIL: /bin/ls\n"
	    "u4 ALL = !/bin/su, ! ! /bin/sh, /usr/bin/, sudoedit /etc/hosts, list\n"
	    "u5 ALL = ^/usr/bin/(vi|vim)$ ^/etc/[a-z, ]+$, /bin/kill \"\"\n"
	    "u6 ALL = NOEXEC: EXEC: SETENV: NOSETENV: LOG_INPUT: NOLOG_INPUT: NOLOG_OUTPUT: "
	    "NOMAIL: FOLLOW: NOFOLLOW: INTERCEPT: NOINTERCEPT: PASSWD: ALL\n"
	    "u7 ALL = /usr/bin/printf %s\\,%s\\=x \\\\ \"a b\"\n");
	set = collect(f);
	expect_problems(f, 0);
	expect(set, "u1", SUA_RULES,
	       "ALL=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "
	       "/bin/true");
	expect(set, "u2", SUA_RULES,
	       "ALL=sha224:d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f, "
	       "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= /bin/false");
	expect(set, "u3", SUA_RULES,
	       "ALL=(root) CWD=/tmp CHROOT=/srv TIMEOUT=5m NOTBEFORE=20260101000000Z "
	       "NOTAFTER=20270101000000Z ROLE=sysadm_r TYPE=sysadm_t LOG_OUTPUT: MAIL: /bin/ls");
	expect(set, "u4", SUA_RULES,
	       "ALL=!/bin/su, !!/bin/sh, /usr/bin/, sudoedit /etc/hosts, list");
	expect(set, "u5", SUA_RULES, "ALL=^/usr/bin/(vi|vim)$ ^/etc/[a-z, ]+$, /bin/kill \"\"");
	expect(set, "u6", SUA_RULES,
	       "ALL=NOEXEC: EXEC: SETENV: NOSETENV: LOG_INPUT: NOLOG_INPUT: NOLOG_OUTPUT: "
	       "NOMAIL: FOLLOW: NOFOLLOW: INTERCEPT: NOINTERCEPT: PASSWD: ALL");
	expect(set, "u7", SUA_RULES, "ALL=/usr/bin/printf %s\\,%s\\=x \\\\ \"a b\"");
	obj_set_free(set);
}

static void test_user_forms(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers",
	    "alice, !bob,%:nonunix, +netadmins , \"%domain users\", ADMINS, ALL  web1 = ALL\n"
	    "! eve ALL=ALL\n");
	set = collect(f);
	expect_problems(f, 0);
	expect_ids(set, "!bob !eve \"%domain users\" %:nonunix +netadmins ADMINS ALL alice");
	expect(set, "\"%domain users\"", SUA_RULES, "web1=ALL");
	expect(set, "!eve", SUA_RULES, "ALL=ALL");
	obj_set_free(set);
}

static void test_files_of_object(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers", "alice ALL=/bin/a\n@includedir /etc/sudoers.d\n");
	put(f, "/etc/sudoers.d/x", "alice ALL=/bin/b\nalice ALL=/bin/a\n");
	set = collect(f);
	expect_problems(f, 0);
	expect(set, "alice", SUA_RULES, "ALL=/bin/a\nALL=/bin/b");
	expect(set, "alice", SUA_FILES, "/etc/sudoers\n/etc/sudoers.d/x");
	obj_set_free(set);
}

static void test_world_writable(void **state)
{
	static const char evil[] = "mallory ALL=(ALL) NOPASSWD: ALL\n";
	struct fixture *f = *state;
	struct obj_set *set;
	char full[PATH_MAX];

	put(f, "/etc/sudoers", "@includedir /etc/sudoers.d\n");
	put_bytes(f->root, "/etc/sudoers.d/evil", evil, strlen(evil), 0666);
	set = collect(f);
	expect_problems(f, 1);
	expect_problem(f, 0, "/etc/sudoers.d/evil", 0, -EPERM);
	assert_string_equal(f->probs[0].msg, "world-writable, sudo ignores it");
	/* still collected: it is what an attacker prepared */
	expect(set, "mallory", SUA_RULES, "ALL=(ALL) NOPASSWD: ALL");
	obj_set_free(set);

	if (geteuid() != 0)
		skip();
	snprintf(full, sizeof(full), "%s/etc/sudoers.d/evil", f->root);
	assert_int_equal(chmod(full, 0440), 0);
	assert_int_equal(chown(full, 1000, 1000), 0);
	set = collect(f);
	expect_problems(f, 1);
	expect_problem(f, 0, "/etc/sudoers.d/evil", 0, -EPERM);
	assert_string_equal(f->probs[0].msg, "not owned by root");
	expect(set, "mallory", SUA_RULES, "ALL=(ALL) NOPASSWD: ALL");
	obj_set_free(set);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;

	put(f, "/etc/sudoers",
	    "root ALL=(ALL) ALL\n"
	    "alice ALL\n"                          /* 2: no '=' */
	    "bob\n"                                /* 3: no host list */
	    "carol ALL = (root /bin/ls\n"          /* 4: unbalanced parentheses */
	    "Defaults passprompt=\"abc\n"          /* 5: unbalanced quotes */
	    "User_Alias lower = x\n"               /* 6: bad alias name */
	    "Foo_Alias X = y\n"                    /* 7: unknown keyword */
	    "dan ALL = ls\n"                       /* 8: relative command */
	    "Defaults\n"                           /* 9: no setting */
	    "erin ALL = /bin/ls = x\n"             /* 10: unescaped '=' */
	    "frank ALL = sha256:abcd /bin/ls\n"    /* 11: digest length */
	    "a, Defaults ALL=ALL\n"                /* 12: keyword as a user */
	    "% ALL=ALL\n"                          /* 13: empty group */
	    "gina ALL=/bin/a,\n"                   /* 14: dangling ',' */
	    "Cmnd_Alias A = /bin/a : b = /bin/b\n" /* 15: second alias name */
	    "Defaults env_keep = A B\n"            /* 16: two values */
	    "heidi ALL=ALL\n");
	set = collect(f);
	expect_problems(f, 15);
	for (unsigned i = 0; i < 15; i++)
		expect_problem(f, i, "/etc/sudoers", i + 2, -EBADMSG);
	expect_ids(set, "heidi root");
	obj_set_free(set);
}

static void test_symlink_outside_root(void **state)
{
	struct fixture *f = *state;
	struct obj_set *set;
	char target[PATH_MAX];

	/* the same absolute path outside the root and inside it */
	snprintf(target, sizeof(target), "%s/evil", f->outside);
	put_bytes(f->outside, "/evil", "outside ALL=ALL\n", 16, 0440);
	put_bytes(f->root, target, "inside ALL=ALL\n", 15, 0440);
	put(f, "/etc/sudoers", "@include /etc/sudoers.local\n@includedir /etc/sudoers.d\n");
	put_link(f, "/etc/sudoers.local", target);
	put_link(f, "/etc/sudoers.d/up", "../../../../../../../../etc/real");
	put(f, "/etc/real", "real ALL=ALL\n");
	put_link(f, "/etc/sudoers.d/abs", "/etc/real2");
	put(f, "/etc/real2", "real2 ALL=ALL\n");
	set = collect(f);
	expect_problems(f, 0);
	expect_ids(set, "inside real real2");
	expect(set, "inside", SUA_FILES, "/etc/sudoers.local");
	expect(set, "real", SUA_FILES, "/etc/sudoers.d/up");
	obj_set_free(set);

	/* a link to a file that only exists outside the root: nothing read */
	snprintf(target, sizeof(target), "%s/evil2", f->outside);
	put_bytes(f->outside, "/evil2", "outside ALL=ALL\n", 16, 0440);
	del(f, "/etc/sudoers.local");
	put_link(f, "/etc/sudoers.local", target);
	del(f, "/etc/sudoers.d/up");
	del(f, "/etc/sudoers.d/abs");
	set = collect(f);
	expect_ids(set, "");
	expect_problems(f, 1);
	expect_problem(f, 0, "/etc/sudoers.local", 0, -ENOENT);
	obj_set_free(set);
}

static void test_weird_bytes(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "caf\xc3\xa9 ALL=/bin/\xff\x01x\r\n"
	                           "nul\0byte ALL=ALL\r\n"
	                           "zed ALL=/bin/echo \x1b[31m\r\n"
	                           "\r\n"
	                           "last ALL=ALL";
	struct obj_set *set;

	put_bytes(f->root, "/etc/sudoers", text, sizeof(text) - 1, 0440);
	set = collect(f);
	expect_problems(f, 1);
	expect_problem(f, 0, "/etc/sudoers", 2, -EBADMSG);
	expect_ids(set, "caf\xc3\xa9 last zed");
	expect(set, "caf\xc3\xa9", SUA_RULES, "ALL=/bin/\xff\x01x");
	expect(set, "zed", SUA_RULES, "ALL=/bin/echo \x1b[31m");
	expect(set, "last", SUA_RULES, "ALL=ALL");
	obj_set_free(set);
}

static void test_long_lines(void **state)
{
	struct fixture *f = *state;
	size_t n = SUDOERS_MAX_LINE + 100, len = 0;
	char *text = malloc(3 * n + 100);
	struct obj_set *set;

	assert_non_null(text);
	/* line 1: one long line; lines 2-3: a long logical line; line 4 is kept */
	len += (size_t)sprintf(text, "a ALL=/bin/echo ");
	memset(text + len, 'x', n);
	len += n;
	len += (size_t)sprintf(text + len, "\nb ALL=/bin/echo \\\n");
	memset(text + len, 'y', n);
	len += n;
	len += (size_t)sprintf(text + len, "\nc ALL=ALL\n#");
	memset(text + len, 'z', n); /* a long comment is only skipped */
	len += n;
	text[len++] = '\n';
	put_bytes(f->root, "/etc/sudoers", text, len, 0440);
	free(text);
	set = collect(f);
	expect_problems(f, 2);
	expect_problem(f, 0, "/etc/sudoers", 1, -EBADMSG);
	expect_problem(f, 1, "/etc/sudoers", 2, -EBADMSG);
	expect_ids(set, "c");
	obj_set_free(set);
}

/* The buffer-level parser, as the fuzzer drives it: includes handed to the caller. */
struct includes {
	char paths[8][128];
	bool dir[8];
	unsigned line[8];
	unsigned n;
};

static int record_include(void *userdata, const char *path, bool dir, unsigned line)
{
	struct includes *in = userdata;

	assert_true(in->n < 8);
	snprintf(in->paths[in->n], sizeof(in->paths[0]), "%s", path);
	in->dir[in->n] = dir;
	in->line[in->n++] = line;
	return 0;
}

static void test_parse_buffer(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "@include a\n"
	                           "#includedir /abs/dir\n"
	                           "x ALL=ALL\n"
	                           "@includedir \"../d d\" # why not\n";
	struct collect_ctx ctx = {.rootfd = -1, .problem = on_problem, .userdata = f};
	struct includes in = {0};
	struct sudoers *s;
	struct obj_set *set;

	assert_int_equal(sudoers_new(&s), 0);
	assert_int_equal(obj_set_new(KIND_SUDOERS, &set), 0);
	assert_int_equal(sudoers_parse(s, &ctx, "/etc/sudoers.d/f", text, sizeof(text) - 1,
	                               record_include, &in),
	                 0);
	assert_int_equal(sudoers_emit(s, &ctx, set), 0);
	obj_set_sort(set);
	expect_problems(f, 0);
	assert_int_equal(in.n, 3);
	assert_string_equal(in.paths[0], "/etc/sudoers.d/a");
	assert_false(in.dir[0]);
	assert_int_equal(in.line[0], 1);
	assert_string_equal(in.paths[1], "/abs/dir");
	assert_true(in.dir[1]);
	assert_int_equal(in.line[1], 2);
	assert_string_equal(in.paths[2], "/etc/sudoers.d/../d d");
	assert_true(in.dir[2]);
	assert_int_equal(in.line[2], 4);
	expect_ids(set, "x");
	expect(set, "x", SUA_FILES, "/etc/sudoers.d/f");
	obj_set_free(set);
	sudoers_free(s);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_missing),
	        T(test_debian_default),
	        T(test_user_given_sudo),
	        T(test_group_rule),
	        T(test_nopasswd_added),
	        T(test_defaults_authenticate),
	        T(test_defaults_bindings),
	        T(test_alias_members),
	        T(test_includedir_added),
	        T(test_includedir_ignored_names),
	        T(test_include_relative),
	        T(test_include_problems),
	        T(test_include_cycle),
	        T(test_include_depth),
	        T(test_continuation),
	        T(test_comments_and_uids),
	        T(test_host_specs),
	        T(test_command_forms),
	        T(test_user_forms),
	        T(test_files_of_object),
	        T(test_world_writable),
	        T(test_malformed),
	        T(test_symlink_outside_root),
	        T(test_weird_bytes),
	        T(test_long_lines),
	        T(test_parse_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
