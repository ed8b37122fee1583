/* SPDX-License-Identifier: ISC */
/* Unit tests for journal rules: policy syntax, matching, thresholds, alerts, sd_journal reading. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fim/core/attr.h"
#include "fim/watch/journal.h"
#include "fim/watch/journal_rules.h"
#include "fim/report/sink.h"
#include "policy/policy.h"
#include "tests/unit/fixture.h"

#define PNAME "/etc/fim/fim.policy"
#define T0    1700000000000000ULL /* 2023-11-14T22:13:20Z */
#define SEC   1000000ULL

/* --- policy helpers --- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Parses TEXT as the one file of a bundle named PNAME. */
static int parse(const char *text, struct policy **ret, struct policy_error *err)
{
	size_t tn = strlen(text), nn = strlen(PNAME), n = 8 + 4 + 4 + nn + 4 + tn;
	uint8_t *b = malloc(n);
	int r;

	assert_non_null(b);
	memcpy(b, "FIMPOLB\001", 8);
	put32(b + 8, 1);
	put32(b + 12, (uint32_t)nn);
	memcpy(b + 16, PNAME, nn);
	put32(b + 16 + nn, (uint32_t)tn);
	memcpy(b + 20 + nn, text, tn);
	*ret = NULL;
	r = policy_load_bundle(b, n, ret, err);
	free(b);
	return r;
}

static struct policy *parse_ok(const char *text)
{
	struct policy_error err;
	struct policy *p;
	int r = parse(text, &p, &err);

	if (r < 0)
		print_error("%s:%u:%u: %s\n", err.file, err.line, err.col, err.message);
	assert_int_equal(r, 0);
	return p;
}

static void expect_error(const char *text, unsigned line, unsigned col, const char *msg)
{
	struct policy_error err;
	struct policy *p;

	assert_int_equal(parse(text, &p, &err), -EINVAL);
	assert_null(p);
	if (strcmp(err.message, msg) != 0 || err.col != col)
		print_error("%s: %u:%u: %s\n", text, err.line, err.col, err.message);
	assert_string_equal(err.file, PNAME);
	assert_string_equal(err.message, msg);
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
}

static const struct policy_journal_rule *jrule(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < policy_journal_rule_count(p); i++)
		if (strcmp(policy_journal_rule_at(p, i)->name, name) == 0)
			return policy_journal_rule_at(p, i);
	return NULL;
}

/* --- engine helpers --- */

/* An entry: "FIELD=value" strings (binary values through .bin). */
struct fake {
	const char *f[16];
	const void *bin;
	size_t binlen;
};

static const void *fake_get(void *ctx, const char *field, size_t *len)
{
	const struct fake *e = ctx;
	size_t n = strlen(field);

	if (e->bin && strcmp(field, "MESSAGE") == 0) {
		*len = e->binlen;
		return e->bin;
	}
	for (int i = 0; i < 16 && e->f[i]; i++)
		if (strncmp(e->f[i], field, n) == 0 && e->f[i][n] == '=') {
			*len = strlen(e->f[i] + n + 1);
			return e->f[i] + n + 1;
		}
	return NULL;
}

/* Alerts collected by on_alert. */
struct sink {
	json_t *events[64];
	size_t n;
	int fail; /* return this instead of 0 when not 0 ... */
	int pass; /* ... after this many more alerts went out */
};

static int on_alert(const struct journal_alert *a, void *arg)
{
	struct sink *s = arg;
	char *text;

	if (s->fail && s->pass-- <= 0)
		return s->fail;
	assert_non_null(a->event);
	/* what goes out must be valid JSON whatever the entry held */
	text = json_dumps(a->event, JSON_COMPACT);
	assert_non_null(text);
	assert_true(s->n < 64);
	s->events[s->n++] = json_loads(text, 0, NULL);
	assert_non_null(s->events[s->n - 1]);
	assert_string_equal(json_string_value(json_object_get(
	                            json_object_get(s->events[s->n - 1], "fim"), "rule")),
	                    a->rule);
	free(text);
	return 0;
}

static void sink_clear(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->events[i]);
	s->n = 0;
}

/* String at dotted PATH of event I, or NULL. */
static const char *str_at(struct sink *s, size_t i, const char *path)
{
	json_t *v = s->events[i];
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return json_string_value(v);
}

static long long int_at(struct sink *s, size_t i, const char *path)
{
	json_t *v = s->events[i];
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static json_t *json_at(struct sink *s, size_t i, const char *path)
{
	json_t *v = s->events[i];
	char buf[256], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return v;
}

struct eng {
	struct policy *p;
	struct jrules *r;
	struct sink s;
	journal_recheck_t recheck;
};

static void eng_open(struct eng *g, const char *policy)
{
	char err[256];

	memset(g, 0, sizeof(*g));
	g->p = parse_ok(policy);
	assert_int_equal(jrules_new(g->p, "web1", &g->r, err, sizeof(err)), 0);
}

static void eng_close(struct eng *g)
{
	sink_clear(&g->s);
	jrules_free(g->r);
	policy_free(g->p);
}

/* Applies entry F at time T; returns the number of alerts it raised. */
static int feed(struct eng *g, uint64_t t, struct fake *f)
{
	struct jentry e = {.get = fake_get, .ctx = f, .realtime_usec = t, .cursor = "s=1;i=1"};

	return jrules_apply(g->r, &e, on_alert, &g->s, &g->recheck);
}

/* Applies entry F at realtime T, monotonic time MONO of boot BOOT, with cursor CUR. */
static int feed_at(struct eng *g, uint64_t t, uint64_t mono, const char *boot, const char *cur,
                   struct fake *f)
{
	struct jentry e = {.get = fake_get,
	                   .ctx = f,
	                   .realtime_usec = t,
	                   .monotonic_usec = mono,
	                   .boot_id = boot,
	                   .cursor = cur};

	return jrules_apply(g->r, &e, on_alert, &g->s, &g->recheck);
}

/* The fim.rule of every alert so far, space-separated. */
static const char *rules_seen(struct eng *g)
{
	static char buf[1024];

	buf[0] = '\0';
	for (size_t i = 0; i < g->s.n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "",
		         str_at(&g->s, i, "fim.rule"));
	return buf;
}

static int ssh_fail(struct eng *g, uint64_t t, const char *user, const char *ip)
{
	char msg[256];
	struct fake f = {.f = {"SYSLOG_IDENTIFIER=sshd", "_UID=0", "_PID=4242", "_COMM=sshd",
	                       "_EXE=/usr/sbin/sshd", "_HOSTNAME=h1", msg}};

	snprintf(msg, sizeof(msg), "MESSAGE=Failed password for %s from %s port 22 ssh2", user, ip);
	return feed(g, t, &f);
}

/* --- policy syntax --- */

static void test_policy_defaults(void **state)
{
	struct policy *p = parse_ok("/etc\n");
	const char *names[] = {"accounts", "privilege", "privilege-failure", "services",
	                       "ssh-bruteforce"};

	assert_int_equal(policy_journal_rule_count(p), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct policy_journal_rule *r = policy_journal_rule_at(p, i);

		assert_string_equal(r->name, names[i]);
		assert_string_equal(r->name, policy_journal_builtins[i]);
		assert_int_equal(r->flags, JRULE_BUILTIN);
		assert_null(r->file);
		assert_int_equal(r->severity, -1);
		assert_int_equal(r->threshold, 0);
	}
	assert_null(policy_journal_builtins[5]);
	assert_null(policy_journal_rule_at(p, 5));
	policy_free(p);
}

static void test_policy_custom(void **state)
{
	struct policy *p = parse_ok(
	        "journal ssh-bruteforce threshold=20 window=120\n"
	        "!journal privilege   # routine sudo is not news here\n"
	        "journal vpn-fail SYSLOG_IDENTIFIER=openvpn _SYSTEMD_UNIT=\"openvpn@a b.service\" "
	        "message=/auth fail.*from (?<source_ip>[0-9.]+) # not a comment/i threshold=3 "
	        "window=30 group_by=source_ip severity=critical\n"
	        "journal kern PRIORITY=2 PRIORITY=3 _TRANSPORT=kernel\n");
	const struct policy_journal_rule *r;

	assert_int_equal(policy_journal_rule_count(p), 7);
	r = jrule(p, "ssh-bruteforce");
	assert_int_equal(r->flags, JRULE_BUILTIN);
	assert_int_equal(r->threshold, 20);
	assert_int_equal(r->window, 120);
	assert_int_equal(r->line, 1);
	assert_string_equal(r->file, PNAME);
	r = jrule(p, "privilege");
	assert_int_equal(r->flags, JRULE_BUILTIN | JRULE_DISABLED);
	assert_int_equal(r->line, 2);
	r = policy_journal_rule_at(p, 5);
	assert_string_equal(r->name, "vpn-fail");
	assert_int_equal(r->flags, 0);
	assert_int_equal(r->nfields, 2);
	assert_string_equal(r->fields[0].name, "SYSLOG_IDENTIFIER");
	assert_string_equal(r->fields[0].value, "openvpn");
	assert_string_equal(r->fields[1].name, "_SYSTEMD_UNIT");
	assert_string_equal(r->fields[1].value, "openvpn@a b.service");
	assert_string_equal(r->message, "auth fail.*from (?<source_ip>[0-9.]+) # not a comment");
	assert_true(r->caseless);
	assert_int_equal(r->threshold, 3);
	assert_int_equal(r->window, 30);
	assert_string_equal(r->group_by, "source_ip");
	assert_int_equal(r->severity, SEV_CRITICAL);
	r = policy_journal_rule_at(p, 6);
	assert_string_equal(r->name, "kern");
	assert_int_equal(r->nfields, 3);
	assert_null(r->message);
	assert_int_equal(r->severity, -1);
	policy_free(p);
}

static void test_policy_switch_and_redefine(void **state)
{
	struct policy *p = parse_ok("!journal ssh-bruteforce\n"
	                            "journal ssh-bruteforce severity=critical\n"
	                            "journal x SYSLOG_IDENTIFIER=a\n"
	                            "journal y SYSLOG_IDENTIFIER=b\n"
	                            "!journal x\n"
	                            "journal x SYSLOG_IDENTIFIER=c threshold=2\n");
	const struct policy_journal_rule *r = jrule(p, "ssh-bruteforce");

	assert_int_equal(r->flags, JRULE_BUILTIN); /* switched on again */
	assert_int_equal(r->severity, SEV_CRITICAL);
	/* a redefinition replaces the rule where it was first defined */
	assert_string_equal(policy_journal_rule_at(p, 5)->name, "x");
	r = policy_journal_rule_at(p, 5);
	assert_int_equal(r->flags, 0);
	assert_string_equal(r->fields[0].value, "c");
	assert_int_equal(r->nfields, 1);
	assert_int_equal(r->threshold, 2);
	assert_int_equal(r->line, 6);
	assert_string_equal(policy_journal_rule_at(p, 6)->name, "y");
	policy_free(p);
}

static void test_policy_errors(void **state)
{
	expect_error("journal\n", 1, 8, "missing rule name after 'journal'");
	expect_error("journal -x A=b\n", 1, 9,
	             "invalid journal rule name '-x' (letters, digits, '_', '.', '-')");
	expect_error("!journal nope\n", 1, 10, "no journal rule 'nope' to switch off");
	expect_error("journal unverified-sender A=b\n", 1, 9,
	             "journal rule name 'unverified-sender' is reserved");
	/* no word after the '!' (it once read a token that was never set) */
	expect_error("users\n!#journal\n", 2, 1, "pattern must be an absolute path");
	expect_error("!journal accounts severity=high\n", 1, 19, "unexpected 'severity=high'");
	expect_error("journal x\n", 1, 9,
	             "journal rule 'x' matches nothing: give FIELD=VALUE or message=");
	expect_error("journal x message=/a(b/\n", 1, 23,
	             "bad regular expression: missing closing parenthesis");
	expect_error("journal x message=/(?<n>a/\n", 1, 26,
	             "bad regular expression: missing closing parenthesis");
	expect_error("journal x message=/abc\n", 1, 19, "regular expression without closing '/'");
	expect_error("journal x message=/abc/x\n", 1, 24,
	             "unknown regular expression flag 'x' (only 'i')");
	expect_error("journal x message=abc\n", 1, 19, "expected /REGEX/ after 'message='");
	expect_error("journal x message=// A=b\n", 1, 20,
	             "a regular expression needs 1 to 4096 bytes");
	expect_error("journal x message=/a/ message=/b/\n", 1, 23, "message= given twice");
	expect_error("journal x A=b bogus\n", 1, 15,
	             "expected FIELD=VALUE or a keyword=value, not 'bogus'");
	expect_error("journal x lower=b\n", 1, 11,
	             "unknown word 'lower' (journal fields are upper case: FIELD=VALUE)");
	expect_error("journal x A=b threshold=0\n", 1, 25,
	             "threshold must be a number from 1 to 1000");
	expect_error("journal x A=b threshold=1001\n", 1, 25,
	             "threshold must be a number from 1 to 1000");
	expect_error("journal x A=b window=604801\n", 1, 22,
	             "window must be a number from 1 to 604800");
	expect_error("journal x A=b window=-1\n", 1, 22,
	             "window must be a number from 1 to 604800");
	expect_error("journal x A=b severity=huge\n", 1, 24,
	             "unknown severity 'huge' (use low, medium, high or critical)");
	expect_error("journal x message=/(?<ip>a)/ group_by=addr\n", 1, 39,
	             "group_by 'addr' is neither a FIELD name nor a capture of message=");
	expect_error("journal x A=b group_by=addr\n", 1, 24,
	             "group_by 'addr' is neither a FIELD name nor a capture of message=");
	expect_error("journal ssh-bruteforce SYSLOG_IDENTIFIER=x\n", 1, 24,
	             "'SYSLOG_IDENTIFIER=' cannot change the built-in journal rule "
	             "'ssh-bruteforce' (only threshold= window= severity=)");
	expect_error("journal x A=\"unterminated\n", 1, 13, "unterminated quote");
	expect_error("journal x A=\"q\"z\n", 1, 16, "unexpected 'z' after the value");
}

static void test_policy_bundle_roundtrip(void **state)
{
	struct policy *p = parse_ok("journal web X=1 message=/(?<user_name>\\w+) denied/ "
	                            "group_by=user_name threshold=4 window=9\n!journal services\n");
	struct policy_error err;
	struct policy *q = NULL;
	void *b;
	size_t n;

	assert_int_equal(policy_bundle(p, &b, &n), 0);
	assert_int_equal(policy_load_bundle(b, n, &q, &err), 0);
	assert_int_equal(policy_journal_rule_count(q), policy_journal_rule_count(p));
	for (size_t i = 0; i < policy_journal_rule_count(p); i++) {
		const struct policy_journal_rule *a = policy_journal_rule_at(p, i),
		                                 *c = policy_journal_rule_at(q, i);

		assert_string_equal(a->name, c->name);
		assert_int_equal(a->flags, c->flags);
		assert_int_equal(a->threshold, c->threshold);
		assert_int_equal(a->window, c->window);
		assert_int_equal(a->nfields, c->nfields);
	}
	assert_string_equal(jrule(q, "web")->message, "(?<user_name>\\w+) denied");
	assert_string_equal(jrule(q, "web")->group_by, "user_name");
	assert_memory_equal(policy_digest(p), policy_digest(q), 32);
	free(b);
	policy_free(p);
	policy_free(q);
}

/* --- ssh brute force --- */

static void test_ssh_threshold(void **state)
{
	struct eng g;
	int alerts = 0;

	eng_open(&g, "/etc\n");
	for (int i = 0; i < 9; i++)
		alerts +=
		        ssh_fail(&g, T0 + (uint64_t)i * SEC, i % 2 ? "root" : "admin", "10.0.0.5");
	assert_int_equal(alerts, 0);
	assert_int_equal(ssh_fail(&g, T0 + 9 * SEC, "oracle", "10.0.0.5"), 1);
	assert_int_equal(g.s.n, 1);
	assert_string_equal(str_at(&g.s, 0, "source.ip"), "10.0.0.5");
	assert_string_equal(str_at(&g.s, 0, "event.kind"), "alert");
	assert_string_equal(str_at(&g.s, 0, "event.module"), "fim");
	assert_string_equal(str_at(&g.s, 0, "event.action"), "ssh-bruteforce");
	assert_string_equal(str_at(&g.s, 0, "event.outcome"), "failure");
	assert_string_equal(
	        json_string_value(json_array_get(json_at(&g.s, 0, "event.category"), 0)),
	        "authentication");
	assert_string_equal(str_at(&g.s, 0, "fim.journal.hostname"), "h1");
	assert_string_equal(
	        json_string_value(json_array_get(json_at(&g.s, 0, "event.category"), 1)),
	        "intrusion_detection");
	assert_string_equal(json_string_value(json_array_get(json_at(&g.s, 0, "event.type"), 0)),
	                    "info");
	assert_int_equal(int_at(&g.s, 0, "event.severity"), 73);
	assert_string_equal(str_at(&g.s, 0, "host.name"), "web1");
	assert_string_equal(str_at(&g.s, 0, "fim.object"), "journal");
	assert_string_equal(str_at(&g.s, 0, "fim.rule"), "ssh-bruteforce");
	assert_string_equal(str_at(&g.s, 0, "fim.severity"), "high");
	assert_string_equal(
	        str_at(&g.s, 0, "fim.message"),
	        "10 failed SSH logins from 10.0.0.5 in 60 s (users: admin, root, oracle)");
	assert_int_equal(int_at(&g.s, 0, "fim.journal.count"), 10);
	assert_int_equal(int_at(&g.s, 0, "fim.journal.window"), 60);
	assert_string_equal(str_at(&g.s, 0, "fim.journal.first"), "2023-11-14T22:13:20.000000Z");
	assert_string_equal(str_at(&g.s, 0, "fim.journal.time"), "2023-11-14T22:13:29.000000Z");
	assert_string_equal(str_at(&g.s, 0, "fim.journal.cursor"), "s=1;i=1");
	assert_int_equal(json_array_size(json_at(&g.s, 0, "related.user")), 3);
	assert_string_equal(str_at(&g.s, 0, "process.name"), "sshd");
	assert_int_equal(int_at(&g.s, 0, "process.pid"), 4242);
	assert_int_equal(int_at(&g.s, 0, "fim.journal.uid"), 0);
	assert_non_null(str_at(&g.s, 0, "@timestamp"));
	assert_int_equal(strlen(str_at(&g.s, 0, "@timestamp")), 24);
	assert_int_equal(g.recheck, 0);

	/* the same burst goes on: no second alert, however long it lasts with gaps < 60 s */
	for (int i = 10; i < 20; i++)
		assert_int_equal(ssh_fail(&g, T0 + (uint64_t)i * SEC, "root", "10.0.0.5"), 0);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(
		        ssh_fail(&g, T0 + 19 * SEC + (uint64_t)i * 59 * SEC, "root", "10.0.0.5"),
		        0);
	/* a quiet window re-arms: the next burst alerts once more */
	uint64_t t = T0 + 19 * SEC + 5 * 59 * SEC + 60 * SEC + 1;

	for (int i = 0; i < 9; i++)
		assert_int_equal(ssh_fail(&g, t + (uint64_t)i, "root", "10.0.0.5"), 0);
	assert_int_equal(ssh_fail(&g, t + 9, "root", "10.0.0.5"), 1);
	assert_int_equal(g.s.n, 2);
	eng_close(&g);
}

static void test_ssh_window_edges(void **state)
{
	struct eng g;

	/* ten failures spanning exactly the window count */
	eng_open(&g, "/etc\n");
	for (int i = 0; i < 9; i++)
		assert_int_equal(ssh_fail(&g, T0 + (uint64_t)i * SEC, "root", "192.0.2.1"), 0);
	assert_int_equal(ssh_fail(&g, T0 + 60 * SEC, "root", "192.0.2.1"), 1);
	eng_close(&g);

	/* one microsecond more and the first has left the window */
	eng_open(&g, "/etc\n");
	for (int i = 0; i < 9; i++)
		assert_int_equal(ssh_fail(&g, T0 + (uint64_t)i * SEC, "root", "192.0.2.1"), 0);
	assert_int_equal(ssh_fail(&g, T0 + 60 * SEC + 1, "root", "192.0.2.1"), 0);
	/* ... but the second is still in it: the 11th makes ten within 60 s */
	assert_int_equal(ssh_fail(&g, T0 + 61 * SEC, "root", "192.0.2.1"), 1);
	eng_close(&g);

	/* tuned */
	eng_open(&g, "journal ssh-bruteforce threshold=3 window=5 severity=critical\n");
	assert_int_equal(ssh_fail(&g, T0, "a", "192.0.2.1"), 0);
	assert_int_equal(ssh_fail(&g, T0 + 5 * SEC, "b", "192.0.2.1"), 0);
	assert_int_equal(ssh_fail(&g, T0 + 5 * SEC, "c", "192.0.2.2"), 0);
	assert_int_equal(ssh_fail(&g, T0 + 5 * SEC, "d", "192.0.2.1"), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.severity"), "critical");
	assert_int_equal(int_at(&g.s, 0, "event.severity"), 99);
	assert_string_equal(str_at(&g.s, 0, "fim.message"),
	                    "3 failed SSH logins from 192.0.2.1 in 5 s (users: a, b, d)");
	eng_close(&g);

	/* switched off */
	eng_open(&g, "!journal ssh-bruteforce\n");
	for (int i = 0; i < 30; i++)
		assert_int_equal(ssh_fail(&g, T0 + (uint64_t)i, "root", "192.0.2.1"), 0);
	eng_close(&g);
}

static void test_ssh_sources(void **state)
{
	struct eng g;
	struct fake spoof = {.f = {"SYSLOG_IDENTIFIER=sshd", "_UID=1000",
	                           "MESSAGE=Failed password for root from 10.9.9.9 port 22 ssh2"}};
	struct fake invalid = {.f = {"SYSLOG_IDENTIFIER=sshd", "_UID=0",
	                             "MESSAGE=Invalid user bob from 2001:db8::7 port 50000"}};

	eng_open(&g, "journal ssh-bruteforce threshold=2\n");
	/* an unprivileged process writing sshd lines does not count: one notice, no more */
	assert_int_equal(feed(&g, T0, &spoof), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.rule"), "unverified-sender");
	assert_null(json_at(&g.s, 0, "source"));
	assert_int_equal(feed(&g, T0 + 1, &spoof), 0);
	sink_clear(&g.s);
	/* a user name holding " from A port N" does not move the blame to A */
	assert_int_equal(ssh_fail(&g, T0, "x from 6.6.6.6 port 1", "10.1.1.1"), 0);
	assert_int_equal(
	        ssh_fail(&g, T0 + 1, "y from 6.6.6.6 port 1 ssh2: RSA SHA256:x", "10.1.1.1"), 1);
	assert_string_equal(str_at(&g.s, 0, "source.ip"), "10.1.1.1");
	/* IPv6: one /64 is one source; the alert names the last address */
	assert_int_equal(feed(&g, T0 + 2, &invalid), 0);
	assert_int_equal(ssh_fail(&g, T0 + 3, "root", "2001:db8:0:0:ffff::1"), 1);
	assert_string_equal(str_at(&g.s, 1, "source.ip"), "2001:db8::ffff:0:0:1");
	assert_string_equal(str_at(&g.s, 1, "fim.journal.group"), "2001:db8::/64");
	/* IPv4-mapped addresses are IPv4 */
	assert_int_equal(ssh_fail(&g, T0 + 4, "root", "::ffff:10.2.2.2"), 0);
	assert_int_equal(ssh_fail(&g, T0 + 5, "root", "10.2.2.2"), 1);
	assert_string_equal(str_at(&g.s, 2, "source.ip"), "10.2.2.2");
	/* OpenSSH 9.8 and later log as sshd-session */
	struct fake session = {.f = {"SYSLOG_IDENTIFIER=sshd-session", "_UID=0",
	                             "MESSAGE=Failed publickey for git from 10.4.4.4 port 9 ssh2"}};

	assert_int_equal(feed(&g, T0 + 6, &session), 0);
	assert_int_equal(feed(&g, T0 + 6, &session), 1);
	assert_string_equal(str_at(&g.s, 3, "source.ip"), "10.4.4.4");
	/* not an address */
	assert_int_equal(ssh_fail(&g, T0 + 6, "root", "10.2.2"), 0);
	assert_int_equal(ssh_fail(&g, T0 + 7, "root", "10.2.2"), 0);
	assert_int_equal(g.s.n, 4);
	eng_close(&g);
}

static void test_eviction(void **state)
{
	struct eng g;
	char ip[32];

	eng_open(&g, "journal ssh-bruteforce threshold=3 window=60\n");
	jrules_set_max_keys(g.r, 4);
	/* four sources, two failures each: full, nothing evicted */
	for (int k = 0; k < 2; k++)
		for (int i = 1; i <= 4; i++) {
			snprintf(ip, sizeof(ip), "10.0.0.%d", i);
			assert_int_equal(ssh_fail(&g, T0 + (uint64_t)(k * 4 + i), "root", ip), 0);
		}
	assert_int_equal(jrules_evicted(g.r), 0);
	/* a fifth evicts the least recently seen (10.0.0.1), and says so once per window */
	assert_int_equal(ssh_fail(&g, T0 + 10, "root", "10.0.0.5"), 1);
	assert_int_equal(jrules_evicted(g.r), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.rule"), "ssh-bruteforce");
	assert_int_equal(int_at(&g.s, 0, "fim.journal.evicted"), 1);
	assert_null(json_at(&g.s, 0, "source.ip"));
	assert_int_equal(ssh_fail(&g, T0 + 11, "root", "10.0.0.6"), 0);
	assert_int_equal(jrules_evicted(g.r), 2);
	/* 10.0.0.1 starts from zero again: its third failure is only its first now */
	assert_int_equal(ssh_fail(&g, T0 + 12, "root", "10.0.0.1"), 0);
	/* 10.0.0.4 was touched last among the old ones... and is evicted by now too */
	assert_int_equal(ssh_fail(&g, T0 + 13, "root", "10.0.0.5"), 0);
	assert_int_equal(ssh_fail(&g, T0 + 14, "root", "10.0.0.5"), 1);
	assert_string_equal(str_at(&g.s, 1, "source.ip"), "10.0.0.5");
	eng_close(&g);
}

/* --- the other built-in rules --- */

static void test_accounts(void **state)
{
	struct eng g;
	struct fake add = {.f = {"SYSLOG_IDENTIFIER=useradd", "_UID=0", "_PID=77", "_COMM=useradd",
	                         "_EXE=/usr/sbin/useradd",
	                         "MESSAGE=new user: name=mallory, UID=0, GID=0, home=/root, "
	                         "shell=/bin/bash, from=/dev/pts/1"}};
	struct fake mod = {.f = {"_COMM=usermod", "_UID=0", "_EXE=/usr/sbin/usermod",
	                         "MESSAGE=add 'mallory' to group 'sudo'"}};
	struct fake other = {.f = {"SYSLOG_IDENTIFIER=cron", "MESSAGE=new user: name=x"}};

	eng_open(&g, "/etc\n");
	assert_int_equal(feed(&g, T0, &add), 1);
	assert_int_equal(g.recheck, 1u << KIND_USER | 1u << KIND_GROUP);
	assert_string_equal(str_at(&g.s, 0, "fim.rule"), "accounts");
	assert_string_equal(str_at(&g.s, 0, "fim.severity"), "medium");
	assert_string_equal(str_at(&g.s, 0, "user.target.name"), "mallory");
	assert_string_equal(
	        json_string_value(json_array_get(json_at(&g.s, 0, "event.category"), 0)), "iam");
	assert_string_equal(json_string_value(json_array_get(json_at(&g.s, 0, "event.type"), 0)),
	                    "user");
	assert_string_equal(json_string_value(json_array_get(json_at(&g.s, 0, "event.type"), 1)),
	                    "creation");
	assert_string_equal(str_at(&g.s, 0, "fim.message"),
	                    "useradd: new user: name=mallory, UID=0, GID=0, home=/root, "
	                    "shell=/bin/bash, from=/dev/pts/1");
	assert_int_equal(int_at(&g.s, 0, "process.pid"), 77);
	assert_string_equal(str_at(&g.s, 0, "fim.journal.exe"), "/usr/sbin/useradd");
	assert_string_equal(str_at(&g.s, 0, "fim.journal.identifier"), "useradd");
	assert_int_equal(feed(&g, T0 + 1, &mod), 1);
	assert_string_equal(str_at(&g.s, 1, "group.name"), "sudo");
	assert_string_equal(str_at(&g.s, 1, "user.target.name"), "mallory");
	g.recheck = 0;
	assert_int_equal(feed(&g, T0 + 2, &other), 0);
	assert_int_equal(g.recheck, 0);
	eng_close(&g);

	eng_open(&g, "!journal accounts\n");
	assert_int_equal(feed(&g, T0, &add), 0);
	assert_int_equal(g.recheck, 0);
	eng_close(&g);
}

static void test_privilege(void **state)
{
	struct eng g;
	struct fake ok = {.f = {"SYSLOG_IDENTIFIER=sudo", "_UID=0", "_EXE=/usr/bin/sudo",
	                        "MESSAGE=   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
	                        "COMMAND=/usr/bin/id ; echo x"}};
	struct fake bad = {.f = {"SYSLOG_IDENTIFIER=sudo", "_UID=0", "_EXE=/usr/bin/sudo",
	                         "MESSAGE=alice : 3 incorrect password attempts ; TTY=pts/0 ; "
	                         "PWD=/home/alice ; USER=root ; COMMAND=/bin/sh"}};
	struct fake nots = {.f = {"SYSLOG_IDENTIFIER=sudo", "_UID=0", "_EXE=/usr/bin/sudo",
	                          "MESSAGE=eve : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; "
	                          "USER=root ; COMMAND=/bin/bash"}};
	struct fake pam = {
	        .f = {"SYSLOG_IDENTIFIER=sudo", "_UID=0", "_EXE=/usr/bin/sudo",
	              "MESSAGE=pam_unix(sudo:auth): authentication failure; logname=alice"}};
	struct fake su_ok = {.f = {"SYSLOG_IDENTIFIER=su", "_UID=0", "_EXE=/bin/su (deleted)",
	                           "MESSAGE=(to root) alice on pts/0"}};
	/* su may log with its caller's uid: its _EXE vouches for it */
	struct fake su_bad = {.f = {"SYSLOG_IDENTIFIER=su", "_UID=1001", "_EXE=/usr/bin/su",
	                            "MESSAGE=FAILED SU (to root) eve on pts/3"}};

	eng_open(&g, "/etc\n");
	assert_int_equal(feed(&g, T0, &ok), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.rule"), "privilege");
	assert_string_equal(str_at(&g.s, 0, "fim.severity"), "low");
	assert_string_equal(str_at(&g.s, 0, "user.name"), "alice");
	assert_string_equal(str_at(&g.s, 0, "user.target.name"), "root");
	assert_string_equal(str_at(&g.s, 0, "process.command_line"), "/usr/bin/id ; echo x");
	assert_string_equal(str_at(&g.s, 0, "event.outcome"), "success");
	assert_int_equal(feed(&g, T0, &bad), 1);
	assert_string_equal(str_at(&g.s, 1, "fim.rule"), "privilege-failure");
	assert_string_equal(str_at(&g.s, 1, "fim.severity"), "high");
	assert_string_equal(str_at(&g.s, 1, "fim.message"),
	                    "sudo by alice refused: 3 incorrect password attempts");
	assert_string_equal(str_at(&g.s, 1, "process.command_line"), "/bin/sh");
	assert_string_equal(str_at(&g.s, 1, "event.outcome"), "failure");
	assert_int_equal(feed(&g, T0, &nots), 1);
	assert_string_equal(str_at(&g.s, 2, "user.name"), "eve");
	assert_string_equal(str_at(&g.s, 2, "fim.message"),
	                    "sudo by eve refused: user NOT in sudoers");
	assert_int_equal(feed(&g, T0, &pam), 0); /* the summary line after it alerts */
	assert_int_equal(feed(&g, T0, &su_ok), 1);
	assert_string_equal(str_at(&g.s, 3, "fim.rule"), "privilege");
	assert_string_equal(str_at(&g.s, 3, "fim.severity"), "medium");
	assert_string_equal(str_at(&g.s, 3, "user.target.name"), "root");
	assert_int_equal(feed(&g, T0, &su_bad), 1);
	assert_string_equal(str_at(&g.s, 4, "fim.rule"), "privilege-failure");
	assert_string_equal(str_at(&g.s, 4, "fim.message"), "su from eve to root failed");
	assert_int_equal(g.recheck, 0);
	eng_close(&g);

	/* routine use off, failures still on */
	eng_open(&g, "!journal privilege\njournal privilege-failure severity=critical\n");
	assert_int_equal(feed(&g, T0, &ok), 0);
	assert_int_equal(feed(&g, T0, &bad), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.severity"), "critical");
	eng_close(&g);
}

static void test_services(void **state)
{
	struct eng g;
	struct fake failed = {.f = {"_PID=1", "_UID=0", "UNIT=backdoor.service",
	                            "MESSAGE_ID=d9b373ed55a64feb8242e02dbe79a49c",
	                            "UNIT_RESULT=exit-code",
	                            "MESSAGE=backdoor.service: Failed with result 'exit-code'."}};
	struct fake started = {.f = {"_PID=1", "_UID=0", "UNIT=nginx.service",
	                             "MESSAGE_ID=39f53479d3a045ac8e11786248231fbf",
	                             "MESSAGE=Started nginx.service."}};
	struct fake scope = {.f = {"_PID=1", "_UID=0", "UNIT=session-4.scope",
	                           "MESSAGE_ID=39f53479d3a045ac8e11786248231fbf",
	                           "MESSAGE=Started session-4.scope."}};
	struct fake run_scope = {.f = {"_PID=1", "_UID=0", "UNIT=run-r0123abcd.scope",
	                               "MESSAGE_ID=39f53479d3a045ac8e11786248231fbf",
	                               "MESSAGE=Started run-r0123abcd.scope."}};
	struct fake reload = {.f = {"_PID=1", "_UID=0", "MESSAGE=Reloading."}};
	struct fake spoof = {.f = {"_PID=4000", "_UID=1000", "UNIT=x.service",
	                           "MESSAGE_ID=d9b373ed55a64feb8242e02dbe79a49c", "MESSAGE=x"}};
	struct fake enable = {
	        .f = {"SYSLOG_IDENTIFIER=systemctl", "_UID=0", "_EXE=/usr/bin/systemctl",
	              "MESSAGE=Created symlink /etc/systemd/system/multi-user.target.wants/"
	              "evil.service \xe2\x86\x92 /etc/systemd/system/evil.service."}};

	eng_open(&g, "/etc\n");
	assert_int_equal(feed(&g, T0, &failed), 1);
	assert_int_equal(g.recheck, 1u << KIND_SERVICE);
	assert_string_equal(str_at(&g.s, 0, "service.name"), "backdoor.service");
	assert_string_equal(str_at(&g.s, 0, "fim.message"),
	                    "unit backdoor.service failed (result 'exit-code')");
	/* a restart loop is one alert per quiet window of 600 s */
	assert_int_equal(feed(&g, T0 + 100 * SEC, &failed), 0);
	assert_int_equal(feed(&g, T0 + 700 * SEC, &failed), 0);
	assert_int_equal(feed(&g, T0 + 1301 * SEC, &failed), 1);
	g.recheck = 0;
	assert_int_equal(feed(&g, T0, &started), 0);
	assert_int_equal(g.recheck, 1u << KIND_SERVICE);
	g.recheck = 0;
	assert_int_equal(feed(&g, T0, &scope), 0);
	assert_int_equal(g.recheck, 0);
	/* systemd-run --scope: re-checked (scopes are not in the baseline: no false alarm) */
	assert_int_equal(feed(&g, T0, &run_scope), 0);
	assert_int_equal(g.recheck, 1u << KIND_SERVICE);
	g.recheck = 0;
	assert_int_equal(feed(&g, T0, &reload), 0);
	assert_int_equal(g.recheck, 1u << KIND_SERVICE);
	g.recheck = 0;
	assert_int_equal(feed(&g, T0, &spoof), 0);
	assert_int_equal(g.recheck, 0);
	assert_int_equal(feed(&g, T0, &enable), 1);
	assert_string_equal(str_at(&g.s, 2, "service.name"), "evil.service");
	assert_int_equal(g.recheck, 1u << KIND_SERVICE);
	eng_close(&g);
}

/* --- custom rules --- */

static void test_custom(void **state)
{
	struct eng g;
	struct fake a = {.f = {"SYSLOG_IDENTIFIER=vpn", "_PID=9",
	                       "MESSAGE=AUTH FAILED user=bob from 198.51.100.7"}};
	struct fake b = {
	        .f = {"SYSLOG_IDENTIFIER=vpn", "MESSAGE=auth failed user=amy from 198.51.100.8"}};
	struct fake other = {.f = {"SYSLOG_IDENTIFIER=notvpn",
	                           "MESSAGE=auth failed user=amy from 198.51.100.8"}};

	eng_open(&g, "journal vpn SYSLOG_IDENTIFIER=vpn SYSLOG_IDENTIFIER=vpn2 "
	             "message=/auth failed user=(?<user_name>\\S+) from (?<source_ip>\\S+)/i "
	             "severity=high\n");
	assert_int_equal(feed(&g, T0, &a), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.rule"), "vpn");
	assert_string_equal(str_at(&g.s, 0, "event.action"), "vpn");
	assert_string_equal(str_at(&g.s, 0, "fim.severity"), "high");
	assert_string_equal(str_at(&g.s, 0, "fim.captures.user_name"), "bob");
	assert_string_equal(str_at(&g.s, 0, "fim.captures.source_ip"), "198.51.100.7");
	assert_string_equal(str_at(&g.s, 0, "source.ip"), "198.51.100.7");
	assert_string_equal(str_at(&g.s, 0, "user.name"), "bob");
	assert_string_equal(str_at(&g.s, 0, "fim.message"),
	                    "AUTH FAILED user=bob from 198.51.100.7");
	assert_int_equal(feed(&g, T0, &other), 0);
	eng_close(&g);

	/* threshold per group_by capture */
	eng_open(&g, "journal vpn SYSLOG_IDENTIFIER=vpn message=/user=(?<who>\\S+)/i threshold=2 "
	             "window=10 group_by=who\n");
	assert_int_equal(feed(&g, T0, &a), 0);
	assert_int_equal(feed(&g, T0 + 1, &b), 0);
	assert_int_equal(feed(&g, T0 + 2, &a), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.journal.group"), "bob");
	assert_int_equal(int_at(&g.s, 0, "fim.journal.count"), 2);
	assert_string_equal(str_at(&g.s, 0, "fim.message"),
	                    "2 entries in 10 s for bob: AUTH FAILED user=bob from 198.51.100.7");
	assert_int_equal(feed(&g, T0 + 3, &a), 0);
	assert_int_equal(feed(&g, T0 + 10 * SEC + 2, &b), 0); /* amy's first left the window */
	assert_int_equal(feed(&g, T0 + 11 * SEC, &b), 1);
	eng_close(&g);

	/* group_by a field; fields only */
	eng_open(&g, "journal p SYSLOG_IDENTIFIER=vpn threshold=2 window=5 group_by=_PID\n");
	assert_int_equal(feed(&g, T0, &a), 0);
	assert_int_equal(feed(&g, T0, &b), 0); /* no _PID: a group of its own */
	assert_int_equal(feed(&g, T0, &a), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.journal.group"), "9");
	eng_close(&g);
}

static void test_untrusted_bytes(void **state)
{
	static const uint8_t bin[] =
	        "Failed password for r\xff\xfe\x00t\x1b[31m from 10.3.3.3 port 1";
	struct eng g;
	struct fake e = {
	        .f = {"SYSLOG_IDENTIFIER=sshd", "_UID=0"}, .bin = bin, .binlen = sizeof(bin) - 1};
	struct fake c = {.f = {"SYSLOG_IDENTIFIER=x"}, .bin = bin, .binlen = sizeof(bin) - 1};
	size_t big = 1 << 20;
	char *huge = malloc(big);

	assert_non_null(huge);
	eng_open(&g, "journal ssh-bruteforce threshold=1 window=1\n"
	             "journal any SYSLOG_IDENTIFIER=x message=/for (?<w>r.*m) from/\n");
	assert_int_equal(feed(&g, T0, &e), 1);
	assert_string_equal(str_at(&g.s, 0, "source.ip"), "10.3.3.3");
	assert_int_equal(feed(&g, T0, &c), 1);
	/* invalid UTF-8 and NUL come out as U+FFFD: valid JSON (checked by on_alert) */
	assert_string_equal(str_at(&g.s, 1, "fim.captures.w"),
	                    "r\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdt\x1b[31m");
	/* a megabyte of message: examined and copied only up to the caps */
	memset(huge, 'r', big);
	memcpy(huge, "for ", 4);
	memcpy(huge + 10000, "m from", 6); /* within what a regex sees */
	c.bin = huge;
	c.binlen = big;
	assert_int_equal(feed(&g, T0, &c), 1);
	assert_int_equal(strlen(str_at(&g.s, 2, "fim.captures.w")), JRULES_MAX_VALUE);
	assert_int_equal(strlen(str_at(&g.s, 2, "fim.journal.message")), 4096);
	eng_close(&g);
	free(huge);
}

static void test_own_lines(void **state)
{
	struct eng g;
	struct fake own = {.f = {"SYSLOG_IDENTIFIER=fim", "_UID=0", "MESSAGE=journal/any: x"}};
	struct fake check = {.f = {"SYSLOG_IDENTIFIER=fim-check", "MESSAGE=x"}};
	struct fake forged = {.f = {"SYSLOG_IDENTIFIER=fim", "_UID=1000", "MESSAGE=x"}};

	eng_open(&g, "journal any message=/x/\n");
	assert_int_equal(feed(&g, T0, &own), 0);
	assert_int_equal(feed(&g, T0, &check), 0);
	assert_int_equal(feed(&g, T0, &forged), 1);
	eng_close(&g);
}

static void test_callback_error(void **state)
{
	struct eng g;
	struct fake add = {.f = {"SYSLOG_IDENTIFIER=useradd", "_UID=0", "_EXE=/usr/sbin/useradd",
	                         "MESSAGE=new group: name=x, GID=5"}};

	eng_open(&g, "/etc\n");
	g.s.fail = -EIO;
	assert_int_equal(feed(&g, T0, &add), -EIO);
	eng_close(&g);
}

/* --- review findings: forged senders, regex limits, sshd variants, delivery, ECS types,
 * clocks, reloads --- */

static void test_forged_senders(void **state)
{
	struct eng g;
	struct fake sudo = {
	        .f = {"SYSLOG_IDENTIFIER=sudo", "_UID=1000", "_COMM=logger", "_EXE=/usr/bin/logger",
	              "MESSAGE=alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh"}};
	struct fake su = {.f = {"SYSLOG_IDENTIFIER=su", "_UID=1000", "_EXE=/usr/bin/logger",
	                        "MESSAGE=FAILED SU (to root) alice on pts/3"}};
	struct fake useradd = {.f = {"SYSLOG_IDENTIFIER=useradd", "_UID=1000",
	                             "_EXE=/usr/sbin/useradd",
	                             "MESSAGE=new user: name=alice, UID=0, GID=0"}};
	struct fake systemctl = {.f = {"SYSLOG_IDENTIFIER=systemctl", "_UID=1000",
	                               "_EXE=/usr/bin/systemctl",
	                               "MESSAGE=Created symlink /etc/systemd/system/x.service."}};
	struct fake bare = {
	        .f = {"SYSLOG_IDENTIFIER=sudo",
	              "MESSAGE=alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh"}};
	struct fake sudo_ok = {
	        .f = {"SYSLOG_IDENTIFIER=sudo", "_UID=0", "_EXE=/usr/bin/sudo",
	              "MESSAGE=bob : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls"}};
	struct fake gone = {
	        .f = {"SYSLOG_IDENTIFIER=userdel", "_UID=0", "MESSAGE=delete user 'carol'"}};
	struct fake perl = {.f = {"SYSLOG_IDENTIFIER=adduser", "_UID=0", "_EXE=/usr/bin/perl",
	                          "MESSAGE=new user: name=dave"}};
	struct fake passwd = {
	        .f = {"SYSLOG_IDENTIFIER=passwd", "_UID=1000", "_EXE=/usr/bin/passwd",
	              "MESSAGE=pam_unix(passwd:chauthtok): password changed for erin"}};
	struct fake copy = {.f = {"SYSLOG_IDENTIFIER=useradd", "_UID=0", "_EXE=/tmp/useradd",
	                          "MESSAGE=new user: name=x"}};

	eng_open(&g, "/etc\n");
	/* logger -t sudo by a user: one low notice, without the user it names */
	assert_int_equal(feed(&g, T0, &sudo), 1);
	assert_string_equal(rules_seen(&g), "unverified-sender");
	assert_string_equal(str_at(&g.s, 0, "event.action"), "unverified-sender");
	assert_string_equal(str_at(&g.s, 0, "fim.severity"), "low");
	assert_null(json_at(&g.s, 0, "user"));
	assert_null(json_at(&g.s, 0, "process.command_line"));
	assert_string_equal(str_at(&g.s, 0, "fim.journal.exe"), "/usr/bin/logger");
	assert_int_equal(int_at(&g.s, 0, "fim.journal.uid"), 1000);
	assert_string_equal(str_at(&g.s, 0, "fim.message"),
	                    "an entry claims to come from sudo but was written by /usr/bin/logger "
	                    "(uid 1000): not taken for it");
	/* rate-limited: at most one per 600 s of journal time, the next says how many were not */
	assert_int_equal(feed(&g, T0 + 1, &su), 0);
	assert_int_equal(feed(&g, T0 + 2, &systemctl), 0);
	assert_int_equal(feed(&g, T0 + 600 * SEC, &bare), 0);
	assert_int_equal(feed(&g, T0 + 601 * SEC, &useradd), 1);
	assert_string_equal(rules_seen(&g), "unverified-sender unverified-sender");
	assert_int_equal(int_at(&g.s, 1, "fim.journal.suppressed"), 3);
	assert_null(json_at(&g.s, 1, "user"));
	assert_int_equal(g.recheck, 0); /* nor a re-check on its word */
	sink_clear(&g.s);

	/* the real programs */
	assert_int_equal(feed(&g, T0 + 602 * SEC, &sudo_ok), 1);
	assert_string_equal(str_at(&g.s, 0, "user.name"), "bob");
	assert_int_equal(feed(&g, T0 + 603 * SEC, &gone), 1); /* exited before journald looked */
	assert_string_equal(str_at(&g.s, 1, "user.target.name"), "carol");
	assert_int_equal(feed(&g, T0 + 604 * SEC, &perl), 1);
	assert_string_equal(str_at(&g.s, 2, "fim.rule"), "accounts");
	assert_int_equal(feed(&g, T0 + 605 * SEC, &passwd), 1);
	assert_string_equal(str_at(&g.s, 3, "fim.rule"), "accounts");
	/* a copy elsewhere is not the program, even run by root */
	assert_int_equal(feed(&g, T0 + 2000 * SEC, &copy), 1);
	assert_string_equal(rules_seen(&g),
	                    "privilege accounts accounts accounts unverified-sender");
	eng_close(&g);

	/* switched off, the rule's claims are not looked at */
	eng_open(&g, "!journal privilege\n!journal privilege-failure\n");
	assert_int_equal(feed(&g, T0, &sudo), 0);
	eng_close(&g);
}

static void test_regex_limits(void **state)
{
	struct eng g;
	char msg[128];
	struct fake f = {.f = {"SYSLOG_IDENTIFIER=app", msg}};

	snprintf(msg, sizeof(msg), "MESSAGE=%s leaked secret", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	eng_open(&g, "journal leak SYSLOG_IDENTIFIER=app message=/(x+x+)+y|secret/ "
	             "severity=high\n");
	assert_int_equal(feed_at(&g, T0, 0, NULL, "s=1;i=7", &f), 1);
	assert_string_equal(str_at(&g.s, 0, "fim.rule"), "leak");
	assert_string_equal(str_at(&g.s, 0, "event.action"), "unevaluated");
	assert_string_equal(str_at(&g.s, 0, "fim.severity"), "high");
	assert_string_equal(str_at(&g.s, 0, "fim.journal.cursor"), "s=1;i=7");
	assert_string_equal(str_at(&g.s, 0, "fim.message"),
	                    "rule leak could not evaluate an entry (match limit exceeded) at "
	                    "s=1;i=7: it was not checked by this rule");
	assert_int_equal(feed(&g, T0 + SEC, &f), 0);
	assert_int_equal(feed(&g, T0 + 700 * SEC, &f), 1);
	assert_int_equal(int_at(&g.s, 1, "fim.journal.suppressed"), 1);
	/* the same text without the trap matches */
	snprintf(msg, sizeof(msg), "MESSAGE=xx leaked secret");
	assert_int_equal(feed(&g, T0 + 701 * SEC, &f), 1);
	assert_string_equal(str_at(&g.s, 2, "event.action"), "leak");
	eng_close(&g);
}

static int ssh_line(struct eng *g, uint64_t t, const char *msg)
{
	char m[512];
	struct fake f = {.f = {"SYSLOG_IDENTIFIER=sshd-session", "_UID=0",
	                       "_EXE=/usr/lib/openssh/sshd-session", m}};

	snprintf(m, sizeof(m), "MESSAGE=%s", msg);
	return feed(g, t, &f);
}

static void test_ssh_variants(void **state)
{
	struct eng g;

	eng_open(&g, "journal ssh-bruteforce threshold=2\n");
	/* OpenSSH 9.2: the key after "ssh2"; a scoped link-local address */
	assert_int_equal(ssh_line(&g, T0,
	                          "Failed publickey for root from 1.2.3.4 port 22 ssh2: "
	                          "RSA SHA256:uN7xq/+Zk0abcDEF"),
	                 0);
	assert_int_equal(ssh_line(&g, T0 + 1, "Failed password for root from 1.2.3.4 port 22 ssh2"),
	                 1);
	assert_string_equal(str_at(&g.s, 0, "source.ip"), "1.2.3.4");
	assert_int_equal(ssh_line(&g, T0 + 2,
	                          "Failed password for root from fe80::1%eth0 port 22 "
	                          "ssh2"),
	                 0);
	assert_int_equal(ssh_line(&g, T0 + 3,
	                          "Failed keyboard-interactive/pam for admin from "
	                          "fe80::1%eth0 port 23 ssh2 [preauth]"),
	                 1);
	assert_string_equal(str_at(&g.s, 1, "source.ip"), "fe80::1");
	assert_string_equal(str_at(&g.s, 1, "fim.journal.group"), "fe80::/64");
	/* an invalid-user probe is one guess, however many lines sshd writes about it */
	static const char *const probe[] = {
	        "Invalid user bob from 5.5.5.5 port 4000",
	        "Failed none for invalid user bob from 5.5.5.5 port 4000 ssh2",
	        "Failed password for invalid user bob from 5.5.5.5 port 4000 ssh2",
	        "Failed publickey for invalid user bob from 5.5.5.5 port 4000 ssh2: ED25519 "
	        "SHA256:abc",
	        "Connection closed by invalid user bob 5.5.5.5 port 4000 [preauth]",
	        "Disconnected from invalid user bob 5.5.5.5 port 4000 [preauth]",
	};
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
		assert_int_equal(ssh_line(&g, T0 + 4, probe[i]), 0);
	/* follow failures already counted: not counted again */
	static const char *const after[] = {
	        "Failed none for root from 5.5.5.5 port 4001 ssh2",
	        "Connection closed by authenticating user root 5.5.5.5 port 4001 [preauth]",
	        "Disconnected from authenticating user root 5.5.5.5 port 4001 [preauth]",
	        "error: maximum authentication attempts exceeded for root from 5.5.5.5 port "
	        "4001 ssh2 [preauth]",
	};
	for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++)
		assert_int_equal(ssh_line(&g, T0 + 5, after[i]), 0);
	assert_int_equal(ssh_line(&g, T0 + 6, "Invalid user carl from 5.5.5.5 port 4002"), 1);
	assert_string_equal(str_at(&g.s, 2, "source.ip"), "5.5.5.5");
	assert_int_equal(int_at(&g.s, 2, "fim.journal.count"), 2);
	/* a certificate: its ID is the client's word, and may not move the blame */
	assert_int_equal(ssh_line(&g, T0 + 7,
	                          "Failed publickey for git from 10.7.7.7 port 22 ssh2: "
	                          "RSA-CERT SHA256:AAA ID ci@example (serial 7) CA "
	                          "ED25519 SHA256:CCC"),
	                 0);
	assert_int_equal(ssh_line(&g, T0 + 8,
	                          "Failed publickey for git from 10.7.7.7 port 22 ssh2: "
	                          "RSA-CERT SHA256:AAA ID x from 6.6.6.6 port 1 ssh2: "
	                          "RSA-CERT SHA256:B ID y (serial 1) CA RSA SHA256:C"),
	                 0);
	assert_int_equal(ssh_line(&g, T0 + 9, "Failed password for git from 10.7.7.7 port 22 ssh2"),
	                 1);
	assert_string_equal(str_at(&g.s, 3, "source.ip"), "10.7.7.7");
	assert_int_equal(g.s.n, 4);
	eng_close(&g);
}

static void test_delivery_failures(void **state)
{
	struct eng g;
	struct fake app = {.f = {"SYSLOG_IDENTIFIER=app", "MESSAGE=x"}};

	/* the alert reaching the threshold did not go out: the entry coming back raises it */
	eng_open(&g, "journal ssh-bruteforce threshold=2\n");
	assert_int_equal(ssh_fail(&g, T0, "root", "10.0.0.1"), 0);
	g.s.fail = -EIO;
	assert_int_equal(ssh_fail(&g, T0 + 1, "root", "10.0.0.1"), -EIO);
	g.s.fail = 0;
	assert_int_equal(ssh_fail(&g, T0 + 1, "root", "10.0.0.1"), 1);
	assert_int_equal(int_at(&g.s, 0, "fim.journal.count"), 2); /* counted once */
	assert_int_equal(ssh_fail(&g, T0 + 2, "root", "10.0.0.1"), 0);
	eng_close(&g);

	/* rules whose alerts went out before the failure are not repeated */
	eng_open(&g, "journal a SYSLOG_IDENTIFIER=app\njournal b SYSLOG_IDENTIFIER=app\n"
	             "journal c SYSLOG_IDENTIFIER=app\n");
	g.s.fail = -EIO;
	g.s.pass = 1;
	assert_int_equal(feed_at(&g, T0, 0, NULL, "s=1;i=9", &app), -EIO);
	g.s.fail = 0;
	assert_int_equal(feed_at(&g, T0, 0, NULL, "s=1;i=9", &app), 2);
	assert_string_equal(rules_seen(&g), "a b c");
	/* another entry is applied whole */
	assert_int_equal(feed_at(&g, T0, 0, NULL, "s=1;i=10", &app), 3);
	eng_close(&g);
}

static void test_capture_types(void **state)
{
	struct eng g;
	struct fake bad = {.f = {"SYSLOG_IDENTIFIER=app",
	                         "MESSAGE=pid=notanumber port=99999 ip=10.0.0.300 uid=x%"}};
	struct fake good = {
	        .f = {"SYSLOG_IDENTIFIER=app", "MESSAGE=pid=123 port=22 ip=2001:db8::1 uid=1000"}};

	eng_open(&g, "journal t SYSLOG_IDENTIFIER=app message=/pid=(?<process_pid>\\S+) "
	             "port=(?<source_port>\\S+) ip=(?<source_ip>\\S+) uid=(?<user_id>\\S+)/\n");
	assert_int_equal(feed(&g, T0, &bad), 1);
	assert_null(json_at(&g.s, 0, "process.pid"));
	assert_null(json_at(&g.s, 0, "source"));
	assert_null(json_at(&g.s, 0, "user"));
	assert_string_equal(str_at(&g.s, 0, "fim.captures.process_pid"), "notanumber");
	assert_string_equal(str_at(&g.s, 0, "fim.captures.source_port"), "99999");
	assert_string_equal(str_at(&g.s, 0, "fim.captures.source_ip"), "10.0.0.300");
	assert_int_equal(feed(&g, T0, &good), 1);
	assert_int_equal(int_at(&g.s, 1, "process.pid"), 123);
	assert_int_equal(int_at(&g.s, 1, "source.port"), 22);
	assert_string_equal(str_at(&g.s, 1, "source.ip"), "2001:db8::1");
	assert_string_equal(str_at(&g.s, 1, "user.id"), "1000");
	eng_close(&g);
}

#define BOOT_A "0123456789abcdef0123456789abcdef"
#define BOOT_B "fedcba9876543210fedcba9876543210"

static int ssh_at(struct eng *g, uint64_t t, uint64_t mono, const char *boot)
{
	struct fake f = {.f = {"SYSLOG_IDENTIFIER=sshd", "_UID=0", "_EXE=/usr/sbin/sshd",
	                       "MESSAGE=Failed password for root from 10.9.0.1 port 22 ssh2"}};

	return feed_at(g, t, mono, boot, "s=1;i=1", &f);
}

static void test_clock_steps(void **state)
{
	struct eng g;

	/* the clock set back an hour in the middle of a burst: still one burst */
	eng_open(&g, "/etc\n");
	for (int i = 0; i < 9; i++)
		assert_int_equal(
		        ssh_at(&g, T0 + (uint64_t)i * SEC, (100 + (uint64_t)i) * SEC, BOOT_A), 0);
	assert_int_equal(ssh_at(&g, T0 - 3600 * SEC, 109 * SEC, BOOT_A), 1);
	assert_int_equal(int_at(&g.s, 0, "fim.journal.count"), 10);
	for (int i = 0; i < 20; i++)
		assert_int_equal(ssh_at(&g, T0 - 3600 * SEC + (uint64_t)i * SEC,
		                        (110 + (uint64_t)i) * SEC, BOOT_A),
		                 0);
	/* another boot starts afresh */
	for (int i = 0; i < 9; i++)
		assert_int_equal(
		        ssh_at(&g, T0 - 7200 * SEC + (uint64_t)i, 5 * SEC + (uint64_t)i, BOOT_B),
		        0);
	assert_int_equal(ssh_at(&g, T0 - 7200 * SEC + 9, 5 * SEC + 9, BOOT_B), 1);
	eng_close(&g);

	/* set forward an hour: ten failures within 60 s of monotonic time are a burst */
	eng_open(&g, "/etc\n");
	for (int i = 0; i < 5; i++)
		assert_int_equal(
		        ssh_at(&g, T0 + (uint64_t)i * SEC, (uint64_t)(i + 1) * SEC, BOOT_A), 0);
	for (int i = 5; i < 9; i++)
		assert_int_equal(ssh_at(&g, T0 + 3600 * SEC + (uint64_t)i * SEC,
		                        (uint64_t)(i + 1) * SEC, BOOT_A),
		                 0);
	assert_int_equal(ssh_at(&g, T0 + 3609 * SEC, 10 * SEC, BOOT_A), 1);
	eng_close(&g);

	/* without a monotonic time: the realtime never goes back within a boot */
	eng_open(&g, "/etc\n");
	for (int i = 0; i < 9; i++)
		assert_int_equal(ssh_fail(&g, T0 + (uint64_t)i * SEC, "root", "10.9.0.2"), 0);
	assert_int_equal(ssh_fail(&g, T0 - 3600 * SEC, "root", "10.9.0.2"), 1);
	assert_int_equal(ssh_fail(&g, T0 - 3599 * SEC, "root", "10.9.0.2"), 0);
	eng_close(&g);
}

static void test_reload_carries_counts(void **state)
{
	struct eng g;
	struct policy *p2;
	struct jrules *r2;
	char err[256];

	/* the same rule goes on counting across a reload */
	eng_open(&g, "/etc\njournal app SYSLOG_IDENTIFIER=app threshold=3 window=60\n");
	for (int i = 0; i < 9; i++)
		assert_int_equal(ssh_fail(&g, T0 + (uint64_t)i * SEC, "root", "10.8.0.1"), 0);
	p2 = parse_ok("/etc\n!journal privilege\n"
	              "journal app SYSLOG_IDENTIFIER=app threshold=4 window=60\n");
	assert_int_equal(jrules_new(p2, "web1", &r2, err, sizeof(err)), 0);
	jrules_carry(r2, g.r);
	jrules_free(g.r);
	policy_free(g.p);
	g.r = r2;
	g.p = p2;
	assert_int_equal(ssh_fail(&g, T0 + 9 * SEC, "root", "10.8.0.1"), 1);
	assert_int_equal(int_at(&g.s, 0, "fim.journal.count"), 10);
	eng_close(&g);

	/* changed parameters: counting starts again */
	eng_open(&g, "/etc\n");
	for (int i = 0; i < 9; i++)
		assert_int_equal(ssh_fail(&g, T0 + (uint64_t)i * SEC, "root", "10.8.0.1"), 0);
	p2 = parse_ok("journal ssh-bruteforce threshold=10 window=61\n");
	assert_int_equal(jrules_new(p2, "web1", &r2, err, sizeof(err)), 0);
	jrules_carry(r2, g.r);
	jrules_free(g.r);
	policy_free(g.p);
	g.r = r2;
	g.p = p2;
	assert_int_equal(ssh_fail(&g, T0 + 9 * SEC, "root", "10.8.0.1"), 0);
	eng_close(&g);
}

/* --- sd_journal: real files made by systemd-journal-remote --- */

static const char *journal_remote(void)
{
	static const char *const paths[] = {"/usr/lib/systemd/systemd-journal-remote",
	                                    "/lib/systemd/systemd-journal-remote", NULL};

	for (int i = 0; paths[i]; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

struct jfx {
	char dir[64];
	struct policy *p;
	struct fim_journal *j;
	struct sink s;
	journal_recheck_t recheck;
};

static int jsetup(void **state)
{
	struct jfx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!fx_tmpdir(f->dir, sizeof(f->dir), "journal"))
		return -1;
	*state = f;
	return 0;
}

static int jteardown(void **state)
{
	struct jfx *f = *state;

	journal_free(f->j);
	policy_free(f->p);
	sink_clear(&f->s);
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

/* Appends N sudo entries numbered FROM.. at T0 + i s to FILE.journal in the fixture dir. */
static void write_entries(struct jfx *f, const char *file, int from, int n)
{
	char txt[256], out[256];
	FILE *fp;
	pid_t pid;
	int st;

	snprintf(txt, sizeof(txt), "%s/export.txt", f->dir);
	snprintf(out, sizeof(out), "--output=%s/%s.journal", f->dir, file);
	fp = fopen(txt, "w");
	assert_non_null(fp);
	for (int i = from; i < from + n; i++)
		fprintf(fp,
		        "__REALTIME_TIMESTAMP=%llu\n__MONOTONIC_TIMESTAMP=%llu\n"
		        "_BOOT_ID=0123456789abcdef0123456789abcdef\nSYSLOG_IDENTIFIER=sudo\n_UID="
		        "0\n_EXE=/usr/bin/sudo\n_COMM=sudo\n"
		        "MESSAGE=u%d : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/true %d\n\n",
		        (unsigned long long)(T0 + (uint64_t)i * SEC),
		        (unsigned long long)(1000 + i) * SEC, i, i);
	assert_int_equal(fclose(fp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		execl(journal_remote(), "systemd-journal-remote", out, txt, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void jopen(struct jfx *f)
{
	char err[256];

	journal_free(f->j);
	f->j = NULL;
	if (!f->p)
		f->p = parse_ok("/etc\n");
	assert_int_equal(journal_open(f->dir, f->p, "web1", &f->j, err, sizeof(err)), 0);
	assert_true(journal_fd(f->j) >= 0);
}

/* The command numbers of the alerts collected, "0 1 2". */
static void numbers(struct jfx *f, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < f->s.n; i++) {
		const char *c = str_at(&f->s, i, "process.command_line");

		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? " " : "",
		         c ? c + strlen("/bin/true ") : "?");
	}
	sink_clear(&f->s);
}

static void test_journal_resume(void **state)
{
	struct jfx *f = *state;
	char got[512], *cur;

	if (!journal_remote())
		skip();
	write_entries(f, "a", 0, 5);
	jopen(f);
	assert_null(journal_cursor(f->j));
	assert_int_equal(journal_seek(f->j, NULL, 0), 0);
	/* bounded: three, then two, then none */
	assert_int_equal(journal_process(f->j, 3, on_alert, &f->s, &f->recheck), 3);
	assert_int_equal(journal_process(f->j, 3, on_alert, &f->s, &f->recheck), 2);
	assert_int_equal(journal_process(f->j, 3, on_alert, &f->s, &f->recheck), 0);
	numbers(f, got, sizeof(got));
	assert_string_equal(got, "0 1 2 3 4");
	cur = journal_cursor(f->j);
	assert_non_null(cur);

	/* down; entries appended meanwhile are read once, after the cursor */
	write_entries(f, "a", 5, 3);
	jopen(f);
	assert_int_equal(journal_seek(f->j, cur, 0), 0);
	assert_int_equal(journal_process(f->j, 100, on_alert, &f->s, &f->recheck), 3);
	numbers(f, got, sizeof(got));
	assert_string_equal(got, "5 6 7");
	free(cur);

	/* a cursor from elsewhere: said (1), and reading starts at its time, or SINCE if later */
	jopen(f);
	assert_int_equal(journal_seek(f->j, "s=0000;i=1;b=00;m=0;t=60a24184c06c0;x=1", 0), 1);
	assert_int_equal(journal_process(f->j, 100, on_alert, &f->s, &f->recheck), 5);
	numbers(f, got, sizeof(got));
	assert_string_equal(got, "3 4 5 6 7");
	jopen(f);
	assert_int_equal(journal_seek(f->j, "garbage", T0 + 6 * SEC), 1);
	assert_int_equal(journal_process(f->j, 100, on_alert, &f->s, &f->recheck), 2);
	numbers(f, got, sizeof(got));
	assert_string_equal(got, "6 7");
	/* no cursor: SINCE */
	jopen(f);
	assert_int_equal(journal_seek(f->j, NULL, T0 + 7 * SEC), 0);
	assert_int_equal(journal_process(f->j, 100, on_alert, &f->s, &f->recheck), 1);
	numbers(f, got, sizeof(got));
	assert_string_equal(got, "7");
}

static void test_journal_follow(void **state)
{
	struct jfx *f = *state;
	struct pollfd pfd;
	char got[512];
	int n = 0;

	if (!journal_remote())
		skip();
	jopen(f); /* an empty directory is fine: files appear later */
	assert_int_equal(journal_seek(f->j, NULL, 0), 0);
	assert_int_equal(journal_process(f->j, 10, on_alert, &f->s, &f->recheck), 0);
	write_entries(f, "new", 0, 2);
	pfd = (struct pollfd){.fd = journal_fd(f->j), .events = POLLIN};
	for (int tries = 0; tries < 50 && n < 2; tries++) {
		poll(&pfd, 1, 100);
		int r = journal_process(f->j, 10, on_alert, &f->s, &f->recheck);

		assert_true(r >= 0);
		n += r;
	}
	assert_int_equal(n, 2);
	numbers(f, got, sizeof(got));
	assert_string_equal(got, "0 1");
	/* appended to a file already open */
	write_entries(f, "new", 2, 1);
	for (int tries = 0; tries < 50 && n < 3; tries++) {
		poll(&pfd, 1, 100);
		n += journal_process(f->j, 10, on_alert, &f->s, &f->recheck);
	}
	assert_int_equal(n, 3);
	numbers(f, got, sizeof(got));
	assert_string_equal(got, "2");
}

static void test_journal_errors(void **state)
{
	struct jfx *f = *state;
	char err[256], got[64];

	f->p = parse_ok("/etc\n");
	assert_true(journal_open("/nonexistent/fim-journal", f->p, "h", &f->j, err, sizeof(err)) <
	            0);
	assert_null(f->j);
	assert_string_equal(err, "cannot open the journal in /nonexistent/fim-journal: "
	                         "No such file or directory");
	if (!journal_remote())
		skip();
	/* an alert that cannot go out leaves its entry to be read again */
	write_entries(f, "a", 0, 2);
	jopen(f);
	assert_int_equal(journal_seek(f->j, NULL, 0), 0);
	f->s.fail = -EIO;
	assert_int_equal(journal_process(f->j, 10, on_alert, &f->s, &f->recheck), -EIO);
	assert_null(journal_cursor(f->j));
	f->s.fail = 0;
	assert_int_equal(journal_process(f->j, 10, on_alert, &f->s, &f->recheck), 2);
	numbers(f, got, sizeof(got));
	assert_string_equal(got, "0 1");
	/* reload keeps reading where it was with the new rules */
	write_entries(f, "a", 2, 1);
	policy_free(f->p);
	f->p = parse_ok("!journal privilege\n");
	assert_int_equal(journal_reload(f->j, f->p, err, sizeof(err)), 0);
	assert_int_equal(journal_process(f->j, 10, on_alert, &f->s, &f->recheck), 1);
	assert_int_equal(f->s.n, 0);
}

/* --- what syslog and the journal's MESSAGE say about journal alerts --- */

/* The one-line text the line-oriented sinks send for alert I. */
static const char *summary_at(struct eng *g, size_t i)
{
	static char text[8192];

	sink_summary(g->s.events[i], text, sizeof(text));
	return text;
}

static void test_sink_summary(void **state)
{
	struct eng g;
	struct fake add = {.f = {"SYSLOG_IDENTIFIER=useradd", "_UID=0", "_PID=77", "_COMM=useradd",
	                         "_EXE=/usr/sbin/useradd",
	                         "MESSAGE=new user: name=mallory, UID=0, GID=0, home=/root"}};
	struct fake sudo = {.f = {"SYSLOG_IDENTIFIER=sudo", "_UID=0", "_EXE=/usr/bin/sudo",
	                          "MESSAGE=alice : TTY=pts/0 ; PWD=/home/alice ; USER=backup ; "
	                          "COMMAND=/usr/bin/tar -cf /tmp/x /etc/shadow"}};
	struct fake vpn = {
	        .f = {"SYSLOG_IDENTIFIER=vpn", "MESSAGE=AUTH FAILED\nuser=bob from 198.51.100.7"}};

	eng_open(&g, "journal vpn SYSLOG_IDENTIFIER=vpn "
	             "message=/user=(?<user_name>\\S+) from (?<source_ip>\\S+)/ severity=high\n");
	for (int i = 0; i < 10; i++)
		ssh_fail(&g, T0 + (uint64_t)i * SEC, "root", "203.0.113.9");
	assert_int_equal(g.s.n, 1);
	assert_string_equal(summary_at(&g, 0),
	                    "journal ssh-bruteforce severity=high: 10 failed SSH "
	                    "logins from 203.0.113.9 in 60 s (users: root)");
	assert_int_equal(feed(&g, T0 + 20 * SEC, &add), 1);
	assert_string_equal(summary_at(&g, 1),
	                    "journal accounts severity=medium: useradd: new user: name=mallory, "
	                    "UID=0, GID=0, home=/root");
	assert_int_equal(feed(&g, T0 + 21 * SEC, &sudo), 1);
	assert_string_equal(summary_at(&g, 2),
	                    "journal privilege severity=low: alice ran as backup: /usr/bin/tar "
	                    "-cf /tmp/x /etc/shadow");
	/* a custom rule: its name, the entry and what it captured; a newline in the
	 * entry does not split the line */
	assert_int_equal(feed(&g, T0 + 22 * SEC, &vpn), 1);
	assert_string_equal(summary_at(&g, 3),
	                    "journal vpn severity=high: AUTH FAILED?user=bob from "
	                    "198.51.100.7 [source_ip=198.51.100.7, user_name=bob]");
	eng_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_policy_defaults),
	        cmocka_unit_test(test_policy_custom),
	        cmocka_unit_test(test_policy_switch_and_redefine),
	        cmocka_unit_test(test_policy_errors),
	        cmocka_unit_test(test_policy_bundle_roundtrip),
	        cmocka_unit_test(test_ssh_threshold),
	        cmocka_unit_test(test_ssh_window_edges),
	        cmocka_unit_test(test_ssh_sources),
	        cmocka_unit_test(test_eviction),
	        cmocka_unit_test(test_accounts),
	        cmocka_unit_test(test_privilege),
	        cmocka_unit_test(test_services),
	        cmocka_unit_test(test_custom),
	        cmocka_unit_test(test_untrusted_bytes),
	        cmocka_unit_test(test_own_lines),
	        cmocka_unit_test(test_callback_error),
	        cmocka_unit_test(test_forged_senders),
	        cmocka_unit_test(test_regex_limits),
	        cmocka_unit_test(test_ssh_variants),
	        cmocka_unit_test(test_delivery_failures),
	        cmocka_unit_test(test_capture_types),
	        cmocka_unit_test(test_clock_steps),
	        cmocka_unit_test(test_reload_carries_counts),
	        cmocka_unit_test(test_sink_summary),
	        cmocka_unit_test_setup_teardown(test_journal_resume, jsetup, jteardown),
	        cmocka_unit_test_setup_teardown(test_journal_follow, jsetup, jteardown),
	        cmocka_unit_test_setup_teardown(test_journal_errors, jsetup, jteardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
