/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/engine/suspect.c: each call-out fires on the drift it names, and only there.
 */
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

#include "fim/core/object.h"
#include "fim/engine/suspect.h"
#include "tests/unit/fixture.h"

/* One attribute of a record under construction: a scalar, or a list
 * whose elements are separated by '\n' in VAL. */
struct av {
	unsigned attr;
	const char *val;
	bool list;
};

#define S(a, v)                                                                                    \
	{                                                                                          \
		(a), (v), false                                                                    \
	}
#define L(a, v)                                                                                    \
	{                                                                                          \
		(a), (v), true                                                                     \
	}
#define END                                                                                        \
	{                                                                                          \
		0, NULL, false                                                                     \
	}

struct fixture {
	char dir[64];
	int rootfd;
	struct obj_set *sets[8]; /* freed at teardown */
	size_t nsets;
	char buf[4096];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(fx_tmpdir(f->dir, sizeof(f->dir), "suspect"));
	f->rootfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < f->nsets; i++)
		obj_set_free(f->sets[i]);
	close(f->rootfd);
	assert_int_equal(fx_rmtree(f->dir), 0);
	free(f);
	return 0;
}

/* Adds one record ID with attributes AV to a new set of KIND; returns it. */
static const struct obj_rec *rec(struct fixture *f, enum fim_kind kind, const char *id,
                                 const struct av *av)
{
	struct obj_set *s = NULL;

	assert_true(f->nsets < sizeof(f->sets) / sizeof(f->sets[0]));
	assert_int_equal(obj_set_new(kind, &s), 0);
	f->sets[f->nsets++] = s;
	assert_int_equal(obj_begin(s, id, strlen(id)), 0);
	for (; av->val; av++) {
		if (!av->list) {
			assert_int_equal(obj_set_str(s, av->attr, av->val), 0);
			continue;
		}
		assert_int_equal(obj_list_touch(s, av->attr), 0);
		for (const char *p = av->val; *p;) {
			size_t n = strcspn(p, "\n");

			if (n)
				assert_int_equal(obj_list_add(s, av->attr, p, n), 0);
			p += n + (p[n] == '\n');
		}
	}
	assert_int_equal(obj_end(s), 0);
	obj_set_sort(s);
	return obj_set_at(s, 0);
}

/* The sudoers objects the facts are judged against, as one set. */
static const struct obj_set *sudoers(struct fixture *f, const char *const *ids,
                                     const char *const *rules, const char *const *members)
{
	struct obj_set *s = NULL;

	assert_int_equal(obj_set_new(KIND_SUDOERS, &s), 0);
	f->sets[f->nsets++] = s;
	for (size_t i = 0; ids[i]; i++) {
		assert_int_equal(obj_begin(s, ids[i], strlen(ids[i])), 0);
		if (rules[i] && *rules[i])
			assert_int_equal(obj_list_add(s, SUA_RULES, rules[i], strlen(rules[i])), 0);
		if (members[i] && *members[i])
			assert_int_equal(
			        obj_list_add(s, SUA_MEMBERS, members[i], strlen(members[i])), 0);
		assert_int_equal(obj_end(s), 0);
	}
	obj_set_sort(s);
	return s;
}

/* Runs the call-outs over one drift of KIND from BEFORE (NULL: added) to
 * AFTER; CHANGED are the attributes that differ. Returns the fact count. */
static size_t facts(struct fixture *f, const struct obj_set *sudo, enum fim_kind kind,
                    const char *id, const struct obj_rec *before, const struct obj_rec *after,
                    attrset_t changed, struct drift *d)
{
	struct suspect_ctx c = {.rootfd = f->rootfd, .sudoers = sudo};

	memset(d, 0, sizeof(*d));
	d->action = before ? DRIFT_CHANGED : DRIFT_ADDED;
	d->kind = kind;
	d->id = (struct bytes){(const uint8_t *)id, strlen(id)};
	d->changed = changed;
	d->obefore = before;
	d->oafter = after;
	suspect_facts(&c, d, f->buf, sizeof(f->buf));
	return d->nfacts;
}

static void assert_fact(const struct drift *d, const char *want)
{
	assert_int_equal(d->nfacts, 1);
	assert_string_equal(d->facts[0], want);
}

/* ---- users ---- */

static void test_user_uid0_added(void **state)
{
	struct fixture *f = *state;
	const struct av a[] = {S(UA_UID, "0"), S(UA_SHELL, "/bin/bash"), END};
	struct drift d;

	facts(f, NULL, KIND_USER, "mallory", NULL, rec(f, KIND_USER, "mallory", a), 0, &d);
	assert_fact(&d, "a second account with UID 0");
}

static void test_user_uid0_changed(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {S(UA_UID, "1001"), END}, a[] = {S(UA_UID, "0"), END};
	struct drift d;

	facts(f, NULL, KIND_USER, "bob", rec(f, KIND_USER, "bob", b), rec(f, KIND_USER, "bob", a),
	      ATTR_BIT(UA_UID), &d);
	assert_fact(&d, "a second account with UID 0");
}

/* root itself, and an unchanged UID 0 (only the gecos moved), are not news. */
static void test_user_uid0_not_news(void **state)
{
	struct fixture *f = *state;
	const struct av r[] = {S(UA_UID, "0"), END};
	const struct av b[] = {S(UA_UID, "0"), S(UA_GECOS, "x"), END},
	                a[] = {S(UA_UID, "0"), S(UA_GECOS, "y"), END};
	struct drift d;

	assert_int_equal(
	        facts(f, NULL, KIND_USER, "root", NULL, rec(f, KIND_USER, "root", r), 0, &d), 0);
	assert_int_equal(facts(f, NULL, KIND_USER, "toor", rec(f, KIND_USER, "toor", b),
	                       rec(f, KIND_USER, "toor", a), ATTR_BIT(UA_GECOS), &d),
	                 0);
}

static void test_user_empty_password(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {S(UA_PASSWORD, "set 00ff"), END},
	                a[] = {S(UA_PASSWORD, "empty 11ee"), END};
	struct drift d;

	facts(f, NULL, KIND_USER, "alice", rec(f, KIND_USER, "alice", b),
	      rec(f, KIND_USER, "alice", a), ATTR_BIT(UA_PASSWORD), &d);
	assert_fact(&d, "an empty password: anyone can log in as this account");
	/* a locked password is not an empty one */
	const struct av l[] = {S(UA_PASSWORD, "locked 11ee"), END};
	assert_int_equal(facts(f, NULL, KIND_USER, "alice", rec(f, KIND_USER, "alice", b),
	                       rec(f, KIND_USER, "alice", l), ATTR_BIT(UA_PASSWORD), &d),
	                 0);
}

static void test_user_given_shell(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {S(UA_SHELL, "/usr/sbin/nologin"), END},
	                a[] = {S(UA_SHELL, "/bin/bash"), END},
	                z[] = {S(UA_SHELL, "/bin/false"), END};
	struct drift d;

	facts(f, NULL, KIND_USER, "www-data", rec(f, KIND_USER, "www-data", b),
	      rec(f, KIND_USER, "www-data", a), ATTR_BIT(UA_SHELL), &d);
	assert_fact(&d, "an account that could not log in was given a shell");
	/* nologin -> false: still no login */
	assert_int_equal(facts(f, NULL, KIND_USER, "www-data", rec(f, KIND_USER, "www-data", b),
	                       rec(f, KIND_USER, "www-data", z), ATTR_BIT(UA_SHELL), &d),
	                 0);
}

/* Without sudoers objects, the usual names count as sudo-capable. */
static void test_user_joined_sudo_group(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {L(UA_GROUPS, "users"), END},
	                a[] = {L(UA_GROUPS, "sudo\nusers\nvideo"), END};
	struct drift d;

	facts(f, NULL, KIND_USER, "eve", rec(f, KIND_USER, "eve", b), rec(f, KIND_USER, "eve", a),
	      ATTR_BIT(UA_GROUPS), &d);
	assert_fact(&d, "joined the sudo-capable group sudo");
}

/* With sudoers objects, a group counts when a "%group" rule or a
 * User_Alias with rules names it, whatever its name. */
static void test_user_joined_group_with_rules(void **state)
{
	struct fixture *f = *state;
	const char *const ids[] = {"%ops", "User_Alias ADMINS", "ADMINS", "%sudo", NULL};
	const char *const rules[] = {"ALL=(ALL) ALL", "", "ALL=(ALL) ALL", "", NULL};
	const char *const members[] = {"", "%dba", "", "", NULL};
	const struct obj_set *s = sudoers(f, ids, rules, members);
	const struct av b[] = {L(UA_GROUPS, "users"), END},
	                a[] = {L(UA_GROUPS, "dba\nops\nsudo\nusers"), END};
	struct drift d;

	facts(f, s, KIND_USER, "eve", rec(f, KIND_USER, "eve", b), rec(f, KIND_USER, "eve", a),
	      ATTR_BIT(UA_GROUPS), &d);
	/* %sudo has no rules here: joining it grants nothing */
	assert_int_equal(d.nfacts, 2);
	assert_string_equal(d.facts[0], "joined the sudo-capable group dba");
	assert_string_equal(d.facts[1], "joined the sudo-capable group ops");
}

static void test_user_key_added_to_uid0(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {S(UA_UID, "0"), L(UA_AUTHORIZED_KEYS, "SHA256:aaa ssh-ed25519 old"),
	                       END},
	                a[] = {S(UA_UID, "0"),
	                       L(UA_AUTHORIZED_KEYS,
	                         "SHA256:aaa ssh-ed25519 old\nSHA256:bbb ssh-ed25519 new"),
	                       END};
	const struct av ub[] = {S(UA_UID, "1000"), L(UA_AUTHORIZED_KEYS, ""), END},
	                ua[] = {S(UA_UID, "1000"),
	                        L(UA_AUTHORIZED_KEYS, "SHA256:bbb ssh-ed25519 x"), END};
	struct drift d;

	facts(f, NULL, KIND_USER, "root", rec(f, KIND_USER, "root", b),
	      rec(f, KIND_USER, "root", a), ATTR_BIT(UA_AUTHORIZED_KEYS), &d);
	assert_fact(&d, "an SSH key was added to a UID 0 account");
	/* a key for an ordinary account is drift, not a call-out */
	assert_int_equal(facts(f, NULL, KIND_USER, "alice", rec(f, KIND_USER, "alice", ub),
	                       rec(f, KIND_USER, "alice", ua), ATTR_BIT(UA_AUTHORIZED_KEYS), &d),
	                 0);
}

/* ---- groups ---- */

static void test_group_gid0(void **state)
{
	struct fixture *f = *state;
	const struct av a[] = {S(GA_GID, "0"), END};
	struct drift d;

	facts(f, NULL, KIND_GROUP, "wheel2", NULL, rec(f, KIND_GROUP, "wheel2", a), 0, &d);
	assert_fact(&d, "a second group with GID 0");
	assert_int_equal(
	        facts(f, NULL, KIND_GROUP, "root", NULL, rec(f, KIND_GROUP, "root", a), 0, &d), 0);
}

static void test_group_new_sudo_member(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {S(GA_GID, "27"), L(GA_MEMBERS, "alice"), END},
	                a[] = {S(GA_GID, "27"), L(GA_MEMBERS, "alice\nmallory"), END};
	const struct av pb[] = {S(GA_GID, "100"), L(GA_MEMBERS, "alice"), END},
	                pa[] = {S(GA_GID, "100"), L(GA_MEMBERS, "alice\nmallory"), END};
	struct drift d;

	facts(f, NULL, KIND_GROUP, "sudo", rec(f, KIND_GROUP, "sudo", b),
	      rec(f, KIND_GROUP, "sudo", a), ATTR_BIT(GA_MEMBERS), &d);
	assert_fact(&d, "mallory is a new member of a sudo-capable group");
	assert_int_equal(facts(f, NULL, KIND_GROUP, "users", rec(f, KIND_GROUP, "users", pb),
	                       rec(f, KIND_GROUP, "users", pa), ATTR_BIT(GA_MEMBERS), &d),
	                 0);
}

/* ---- services and cron ---- */

static void test_service_runs_from_tmp(void **state)
{
	struct fixture *f = *state;
	const struct av a[] = {L(SA_EXEC_START, "/tmp/.x/agent --daemon"), END};
	const struct av p[] = {L(SA_EXEC_START, "-%T/run.sh"), END};
	struct drift d;

	facts(f, NULL, KIND_SERVICE, "x.service", NULL, rec(f, KIND_SERVICE, "x.service", a), 0,
	      &d);
	assert_fact(&d, "runs a program from a temporary directory: /tmp/.x/agent");
	/* systemd's prefix and %T specifier */
	facts(f, NULL, KIND_SERVICE, "y.service", NULL, rec(f, KIND_SERVICE, "y.service", p), 0,
	      &d);
	assert_fact(&d, "runs a program from a temporary directory: %T/run.sh");
}

static void test_service_world_writable(void **state)
{
	struct fixture *f = *state;
	const struct av a[] = {L(SA_EXEC_START, "/opt/app/bin/run"), END};
	char path[256];
	struct drift d;

	assert_true(fx_put(f->dir, "/opt/app/bin/run", "#!/bin/sh\n"));
	/* safe while nothing on the way is world-writable */
	assert_int_equal(facts(f, NULL, KIND_SERVICE, "a.service", NULL,
	                       rec(f, KIND_SERVICE, "a.service", a), 0, &d),
	                 0);
	snprintf(path, sizeof(path), "%s/opt/app", f->dir);
	assert_int_equal(chmod(path, 0777), 0);
	facts(f, NULL, KIND_SERVICE, "a.service", NULL, rec(f, KIND_SERVICE, "a.service", a), 0,
	      &d);
	assert_fact(&d, "runs a program from a world-writable path: /opt/app/bin/run");
}

static void test_cron_runs_from_tmp(void **state)
{
	struct fixture *f = *state;
	/* system crontab: 5 schedule words and a user before the command */
	const struct av b[] = {L(CA_JOBS, "0 3 * * * root /usr/bin/backup"), END},
	                a[] = {L(CA_JOBS,
	                         "*/5 * * * * root /dev/shm/.k\n0 3 * * * root /usr/bin/backup"),
	                       END};
	/* per-user crontab: no user word; an @keyword job */
	const struct av u[] = {S(CA_USER, "alice"), L(CA_JOBS, "@reboot /var/tmp/x -q"), END};
	struct drift d;

	facts(f, NULL, KIND_CRON, "/etc/cron.d/job", rec(f, KIND_CRON, "/etc/cron.d/job", b),
	      rec(f, KIND_CRON, "/etc/cron.d/job", a), ATTR_BIT(CA_JOBS), &d);
	assert_fact(&d, "runs a program from a temporary directory: /dev/shm/.k");
	facts(f, NULL, KIND_CRON, "/var/spool/cron/crontabs/alice", NULL,
	      rec(f, KIND_CRON, "/var/spool/cron/crontabs/alice", u), 0, &d);
	assert_fact(&d, "runs a program from a temporary directory: /var/tmp/x");
}

static void test_cron_anacrontab(void **state)
{
	struct fixture *f = *state;
	const struct av a[] = {L(CA_JOBS, "1 5 cron.daily /tmp/daily"), END};
	struct drift d;

	facts(f, NULL, KIND_CRON, "/etc/anacrontab", NULL, rec(f, KIND_CRON, "/etc/anacrontab", a),
	      0, &d);
	assert_fact(&d, "runs a program from a temporary directory: /tmp/daily");
}

/* ---- sudoers ---- */

static void test_sudoers_nopasswd(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {L(SUA_RULES, "ALL=(ALL) ALL"), END},
	                a[] = {L(SUA_RULES, "ALL=(ALL) ALL\nALL=(ALL) NOPASSWD: ALL"), END};
	struct drift d;

	facts(f, NULL, KIND_SUDOERS, "mallory", rec(f, KIND_SUDOERS, "mallory", b),
	      rec(f, KIND_SUDOERS, "mallory", a), ATTR_BIT(SUA_RULES), &d);
	assert_fact(&d, "passwordless sudo was granted");
}

/* "Defaults !authenticate", global or per user, turns passwords off. */
static void test_sudoers_not_authenticate(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {L(SUA_RULES, "env_reset"), END},
	                a[] = {L(SUA_RULES, "!authenticate\nenv_reset"), END};
	const struct av u[] = {L(SUA_RULES, "!authenticate"), END};
	struct drift d;

	facts(f, NULL, KIND_SUDOERS, "Defaults", rec(f, KIND_SUDOERS, "Defaults", b),
	      rec(f, KIND_SUDOERS, "Defaults", a), ATTR_BIT(SUA_RULES), &d);
	assert_fact(&d, "sudo no longer asks for a password");
	facts(f, NULL, KIND_SUDOERS, "Defaults:alice", NULL,
	      rec(f, KIND_SUDOERS, "Defaults:alice", u), 0, &d);
	assert_fact(&d, "sudo no longer asks for a password");
}

/* A rule that was already there is not news; a removal says nothing. */
static void test_sudoers_old_rule_quiet(void **state)
{
	struct fixture *f = *state;
	const struct av b[] = {L(SUA_RULES, "!authenticate\nALL=(ALL) NOPASSWD: ALL"), END},
	                a[] = {L(SUA_RULES, "!authenticate\nALL=(ALL) NOPASSWD: ALL\nfoo"), END};
	struct drift d;

	assert_int_equal(facts(f, NULL, KIND_SUDOERS, "x", rec(f, KIND_SUDOERS, "x", b),
	                       rec(f, KIND_SUDOERS, "x", a), ATTR_BIT(SUA_RULES), &d),
	                 0);
	memset(&d, 0, sizeof(d));
	d.action = DRIFT_REMOVED;
	d.kind = KIND_SUDOERS;
	d.obefore = rec(f, KIND_SUDOERS, "x", a);
	suspect_facts(&(struct suspect_ctx){.rootfd = f->rootfd}, &d, f->buf, sizeof(f->buf));
	assert_int_equal(d.nfacts, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_user_uid0_added),
	        T(test_user_uid0_changed),
	        T(test_user_uid0_not_news),
	        T(test_user_empty_password),
	        T(test_user_given_shell),
	        T(test_user_joined_sudo_group),
	        T(test_user_joined_group_with_rules),
	        T(test_user_key_added_to_uid0),
	        T(test_group_gid0),
	        T(test_group_new_sudo_member),
	        T(test_service_runs_from_tmp),
	        T(test_service_world_writable),
	        T(test_cron_runs_from_tmp),
	        T(test_cron_anacrontab),
	        T(test_sudoers_nopasswd),
	        T(test_sudoers_not_authenticate),
	        T(test_sudoers_old_rule_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
