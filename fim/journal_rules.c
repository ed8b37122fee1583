/* SPDX-License-Identifier: ISC */
/* Journal rules: built-in and policy rules over journal entries, thresholds, alert events. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <systemd/sd-messages.h>

#include "journal_rules.h"
#include "common.h"
#include "jbytes.h"
#include "report.h"

#define MATCH_LIMIT  100000 /* PCRE2 backtracking steps per entry and rule */
#define HEAP_LIMIT   4096   /* KiB of PCRE2 backtracking memory */
#define USER_MAX     32     /* bytes kept of one user name tried */
#define JSON_MESSAGE 4096   /* bytes of MESSAGE copied into fim.journal.message */

enum rkind {
	RK_CUSTOM,
	RK_ACCOUNTS,
	RK_PRIVILEGE,
	RK_PRIVILEGE_FAILURE,
	RK_SERVICES,
	RK_SSH,
};

/* Defaults of the built-in rules, in the order of policy_journal_builtins. */
static const struct builtin {
	const char *name;
	enum rkind kind;
	enum severity severity;
	unsigned threshold, window;
} builtins[] = {
        {"accounts", RK_ACCOUNTS, SEV_MEDIUM, 1, 0},
        {"privilege", RK_PRIVILEGE, SEV_LOW, 1, 0},
        {"privilege-failure", RK_PRIVILEGE_FAILURE, SEV_HIGH, 1, 0},
        {"services", RK_SERVICES, SEV_MEDIUM, 1, 600},
        {"ssh-bruteforce", RK_SSH, SEV_HIGH, 10, 60},
};

/* The group being counted: a ring of the last THRESHOLD entry times, on a hash chain and on
 * the rule's least-recently-used list. */
struct counter {
	struct counter *hnext, *prev, *next;
	uint64_t last; /* time of the newest entry counted */
	bool fired;    /* alerted; quiet until a whole window passes without an entry */
	unsigned n, head;
	unsigned nusers;
	char users[JRULES_MAX_USERS][USER_MAX + 1];
	uint64_t *ring; /* THRESHOLD slots, then the key */
	char *key;
	size_t klen;
};

struct table {
	struct counter **buckets;
	size_t nbuckets, n;
	struct counter *lru, *lru_tail; /* most recent first */
	uint64_t evicted;
	uint64_t evict_alerted; /* time of the last alert about evictions, 0 when none */
};

struct field {
	char *name, *value;
	size_t vlen;
};

struct rule {
	char *name;
	enum rkind kind;
	enum severity severity;
	bool severity_set;
	unsigned threshold;
	uint64_t window; /* microseconds */
	struct field *fields;
	size_t nfields;
	pcre2_code *re;
	pcre2_match_data *md;
	char *group_by;
	bool group_capture; /* group_by names a capture, not a field */
	struct table tab;
};

/* Patterns of the built-in rules, compiled once. */
enum {
	RE_SSH_FAILED,
	RE_SSH_INVALID,
	RE_SUDO,
	RE_SU,
	RE_SU_SHADOW,
	RE_ACCT_NAME,
	RE_ACCT_GROUP,
	RE_SYMLINK,
	RE__MAX,
};

static const char *const re_src[RE__MAX] = {
        /* greedy: the address is the last "from A port N" (a user name may contain one) */
        [RE_SSH_FAILED] =
                "^Failed \\S+ for (?:invalid user )?(?<user>.*) from (?<ip>[0-9A-Fa-f:.]+)"
                " port \\d+(?: ssh2)?(?: \\[preauth\\])?$",
        [RE_SSH_INVALID] = "^Invalid user (?<user>.*) from (?<ip>[0-9A-Fa-f:.]+) port \\d+$",
        [RE_SUDO] = "^\\s*(?<user>\\S+) : (?<rest>.*)$",
        [RE_SU] = "^(?<failed>FAILED SU )?\\(to (?<target>[^)]*)\\) (?<user>\\S+) on (?<tty>\\S+)$",
        [RE_SU_SHADOW] = "^(?<failed>FAILED|Successful) su for (?<target>\\S+) by (?<user>\\S+)$",
        [RE_ACCT_NAME] = "(?:^(?:add|delete|remove) '|name=|user '|for '|changed for |group ')"
                         "(?<name>[A-Za-z0-9_.][A-Za-z0-9_.-]*\\$?)",
        [RE_ACCT_GROUP] = "to (?:shadow )?group '(?<group>[^']+)'",
        [RE_SYMLINK] = "^(?:Created symlink |Removed \"?)(?<path>/\\S*?)\"?(?: \\S+ .*|\\.)?$",
};

struct jrules {
	struct rule *rules;
	size_t n;
	char *host;
	size_t max_keys;
	uint64_t seed;
	pcre2_code *re[RE__MAX];
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	struct hit *hit; /* what the rule being applied makes of the entry */
};

/* What one rule makes of one entry. */
struct hit {
	bool alert;
	journal_recheck_t recheck;
	enum severity severity;
	const char *category, *category2, *type, *type2, *outcome;
	char key[JRULES_MAX_KEY + 1];
	size_t klen;
	char message[1024];
	/* ECS fields; empty when unknown */
	char user[JRULES_MAX_VALUE + 1], target[JRULES_MAX_VALUE + 1], group[JRULES_MAX_VALUE + 1];
	char ip[INET6_ADDRSTRLEN], service[JRULES_MAX_VALUE + 1], command[JRULES_MAX_VALUE + 1];
	json_t *captures; /* custom rules with named captures */
};

/* --- small helpers --- */

static const void *get(const struct jentry *e, const char *field, size_t *len)
{
	size_t dummy;

	return e->get(e->ctx, field, len ? len : &dummy);
}

static bool field_is(const struct jentry *e, const char *field, const char *value)
{
	size_t n;
	const void *v = get(e, field, &n);

	return v && n == strlen(value) && memcmp(v, value, n) == 0;
}

/* The program that wrote E: SYSLOG_IDENTIFIER, else _COMM, is one of NAMES. */
static const char *program_in(const struct jentry *e, const char *const *names)
{
	size_t n;
	const void *v = get(e, "SYSLOG_IDENTIFIER", &n);

	if (!v)
		v = get(e, "_COMM", &n);
	for (; v && *names; names++)
		if (n == strlen(*names) && memcmp(v, *names, n) == 0)
			return *names;
	return NULL;
}

/* Copies at most SIZE - 1 bytes of S[0..n) into BUF, NUL-terminated (NUL bytes cut it). */
static void copy(char *buf, size_t size, const void *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);

	if (nul)
		n = (size_t)(nul - (const char *)s);
	if (n >= size)
		n = size - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static void set_key(struct hit *h, const char *s, size_t n)
{
	h->klen = n > JRULES_MAX_KEY ? JRULES_MAX_KEY : n;
	memcpy(h->key, s, h->klen);
	h->key[h->klen] = '\0';
}

/* RFC 3339 UTC text of USEC (microseconds since the epoch); PRECISE: with microseconds,
 * else milliseconds. */
static void rfc3339(uint64_t usec, bool precise, char *buf, size_t size)
{
	time_t s = (time_t)(usec / 1000000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (precise)
		snprintf(buf + n, size - n, ".%06uZ", (unsigned)(usec % 1000000));
	else
		snprintf(buf + n, size - n, ".%03uZ", (unsigned)(usec % 1000000 / 1000));
}

/* Matches RE against MESSAGE (at most JRULES_MAX_MESSAGE bytes of it). */
static bool re_match(const struct jrules *jr, const pcre2_code *re, pcre2_match_data *md,
                     const void *msg, size_t n)
{
	if (!msg)
		return false;
	if (n > JRULES_MAX_MESSAGE)
		n = JRULES_MAX_MESSAGE;
	return pcre2_match(re, msg, n, 0, 0, md, jr->mctx) > 0;
}

/* Named capture NAME of the last match into BUF; false when it did not take part. */
static bool capture(const pcre2_code *re, pcre2_match_data *md, const void *subject,
                    const char *name, char *buf, size_t size)
{
	int i = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

	buf[0] = '\0';
	if (i < 0 || (uint32_t)i >= pcre2_get_ovector_count(md) || ov[2 * i] == PCRE2_UNSET)
		return false;
	copy(buf, size, (const char *)subject + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
	return true;
}

/* --- built-in rules --- */

/* Normalises address S into H->ip and sets the group key: the address for IPv4, its /64 for
 * IPv6 (one subscriber's network: rotating through its addresses must not reset the count).
 * False when S is not an address. */
static bool ssh_source(struct hit *h, const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	char buf[INET6_ADDRSTRLEN + 4];

	if (inet_pton(AF_INET, s, &a4) == 1) {
		inet_ntop(AF_INET, &a4, h->ip, sizeof(h->ip));
		set_key(h, h->ip, strlen(h->ip));
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, a6.s6_addr + 12, 4);
		inet_ntop(AF_INET, &a4, h->ip, sizeof(h->ip));
		set_key(h, h->ip, strlen(h->ip));
		return true;
	}
	inet_ntop(AF_INET6, &a6, h->ip, sizeof(h->ip));
	memset(a6.s6_addr + 8, 0, 8);
	inet_ntop(AF_INET6, &a6, buf, INET6_ADDRSTRLEN);
	strcat(buf, "/64");
	set_key(h, buf, strlen(buf));
	return true;
}

/* sshd (as root: an unprivileged process can write "sshd" lines too): a failed
 * authentication or an unknown user. */
static bool match_ssh(struct jrules *jr, const struct jentry *e, struct hit *h)
{
	static const char *const sshd[] = {"sshd", "sshd-session", "sshd-auth", NULL};
	char ip[64];
	size_t n;
	const void *msg;

	if (!program_in(e, sshd) || !field_is(e, "_UID", "0"))
		return false;
	msg = get(e, "MESSAGE", &n);
	for (int k = RE_SSH_FAILED; k <= RE_SSH_INVALID; k++) {
		if (!re_match(jr, jr->re[k], jr->md, msg, n))
			continue;
		capture(jr->re[k], jr->md, msg, "ip", ip, sizeof(ip));
		if (!ssh_source(h, ip))
			return false;
		capture(jr->re[k], jr->md, msg, "user", h->user, USER_MAX + 1);
		h->alert = true;
		h->category = "authentication";
		h->category2 = "intrusion_detection";
		h->type = "info";
		h->outcome = "failure";
		return true;
	}
	return false;
}

/* sudo's "USER : [PROBLEM ; ]TTY=... ; PWD=... ; USER=... ; COMMAND=..." lines. */
static bool match_sudo(struct jrules *jr, const struct jentry *e, struct hit *h, bool *failure)
{
	char rest[JRULES_MAX_VALUE + 1], *s, *cmd;
	const void *msg;
	size_t n;

	msg = get(e, "MESSAGE", &n);
	if (!re_match(jr, jr->re[RE_SUDO], jr->md, msg, n))
		return false;
	capture(jr->re[RE_SUDO], jr->md, msg, "user", h->user, sizeof(h->user));
	capture(jr->re[RE_SUDO], jr->md, msg, "rest", rest, sizeof(rest));
	cmd = strstr(rest, "COMMAND=");
	if (cmd) {
		snprintf(h->command, sizeof(h->command), "%s", cmd + 8);
		*cmd = '\0'; /* a command may contain " ; " */
	}
	*failure = false;
	for (s = rest; s && *s; s = strstr(s, " ; ") ? strstr(s, " ; ") + 3 : NULL) {
		size_t len = strstr(s, " ; ") ? (size_t)(strstr(s, " ; ") - s) : strlen(s);
		size_t eq = strcspn(s, "=");

		if (strncmp(s, "USER=", 5) == 0)
			copy(h->target, sizeof(h->target), s + 5, len - 5);
		else if (eq >= len && len > 0 && s == rest) {
			*failure = true; /* the first part without '=' says what went wrong */
			snprintf(h->message, sizeof(h->message), "sudo by %.64s refused: %.*s",
			         h->user, (int)(len > 200 ? 200 : len), s);
			h->severity = strstr(s, "a password is required") ? SEV_MEDIUM : SEV_HIGH;
		}
	}
	if (!cmd && !*failure)
		return false; /* neither a command run nor a refusal: not ours */
	if (!*failure)
		snprintf(h->message, sizeof(h->message), "%.64s ran as %.64s: %.200s", h->user,
		         h->target[0] ? h->target : "root", h->command);
	return true;
}

/* su from util-linux ("(to root) alice on pts/0", "FAILED SU (to root) ...") or shadow. */
static bool match_su(struct jrules *jr, const struct jentry *e, struct hit *h, bool *failure)
{
	char failed[16];
	const void *msg;
	size_t n;

	msg = get(e, "MESSAGE", &n);
	for (int k = RE_SU; k <= RE_SU_SHADOW; k++) {
		if (!re_match(jr, jr->re[k], jr->md, msg, n))
			continue;
		capture(jr->re[k], jr->md, msg, "target", h->target, sizeof(h->target));
		capture(jr->re[k], jr->md, msg, "user", h->user, sizeof(h->user));
		capture(jr->re[k], jr->md, msg, "failed", failed, sizeof(failed));
		*failure = strncmp(failed, "FAILED", 6) == 0;
		snprintf(h->message, sizeof(h->message), "su from %.64s to %.64s%s", h->user,
		         h->target, *failure ? " failed" : "");
		h->severity = *failure ? SEV_HIGH : SEV_MEDIUM;
		return true;
	}
	return false;
}

/* sudo and su: successful use for "privilege", refusals for "privilege-failure". */
static bool match_privilege(struct jrules *jr, const struct jentry *e, struct hit *h,
                            bool want_failure)
{
	static const char *const sudo[] = {"sudo", NULL}, *const su[] = {"su", NULL};
	bool failure = false, ok;

	h->severity = want_failure ? SEV_HIGH : SEV_LOW;
	if (program_in(e, sudo))
		ok = match_sudo(jr, e, h, &failure);
	else if (program_in(e, su))
		ok = match_su(jr, e, h, &failure);
	else
		return false;
	if (!ok || failure != want_failure)
		return false;
	h->alert = true;
	h->category = failure ? "authentication" : "process";
	h->type = "start";
	h->outcome = failure ? "failure" : "success";
	set_key(h, h->user, strlen(h->user));
	return true;
}

/* The shadow and adduser tools: every line is a change of accounts or groups. */
static bool match_accounts(struct jrules *jr, const struct jentry *e, struct hit *h)
{
	static const char *const tools[] = {
	        "useradd",  "usermod",  "userdel",  "groupadd",  "groupmod", "groupdel",
	        "passwd",   "chpasswd", "gpasswd",  "chage",     "chfn",     "chsh",
	        "vipw",     "vigr",     "newusers", "adduser",   "deluser",  "addgroup",
	        "delgroup", "grpconv",  "pwconv",   "grpunconv", "pwunconv", NULL};
	const char *tool = program_in(e, tools);
	const void *msg;
	size_t n;
	char name[JRULES_MAX_VALUE + 1];

	if (!tool)
		return false;
	msg = get(e, "MESSAGE", &n);
	h->alert = true;
	h->recheck = 1u << KIND_USER | 1u << KIND_GROUP;
	h->category = "iam";
	bool group_tool = strstr(tool, "group") || strcmp(tool, "gpasswd") == 0 ||
	                  strcmp(tool, "vigr") == 0 || strncmp(tool, "grp", 3) == 0;
	h->type = group_tool ? "group" : "user";
	h->type2 = strstr(tool, "add") || strcmp(tool, "newusers") == 0 ? "creation"
	           : strstr(tool, "del")                                ? "deletion"
	                                                                : "change";
	if (re_match(jr, jr->re[RE_ACCT_NAME], jr->md, msg, n) &&
	    capture(jr->re[RE_ACCT_NAME], jr->md, msg, "name", name, sizeof(name)))
		snprintf(group_tool ? h->group : h->target, sizeof(name), "%s", name);
	if (re_match(jr, jr->re[RE_ACCT_GROUP], jr->md, msg, n))
		capture(jr->re[RE_ACCT_GROUP], jr->md, msg, "group", h->group, sizeof(h->group));
	copy(name, 200, msg ? msg : "", msg ? n : 0);
	snprintf(h->message, sizeof(h->message), "%s: %.300s", tool, name);
	set_key(h, h->message, strlen(h->message));
	return true;
}

/* True for units whose start and stop say nothing about configuration (sessions, slices,
 * devices). */
static bool routine_unit(const char *u)
{
	const char *dot = strrchr(u, '.');

	return dot && (strcmp(dot, ".scope") == 0 || strcmp(dot, ".slice") == 0 ||
	               strcmp(dot, ".device") == 0);
}

/* The system manager (PID 1) and systemctl: unit jobs, failures, reloads, enablement. */
static bool match_services(struct jrules *jr, const struct jentry *e, struct hit *h)
{
	static const char *const systemctl[] = {"systemctl", NULL};
	const void *msg = NULL, *unit;
	size_t n = 0, un = 0;

	if (field_is(e, "_PID", "1") && (field_is(e, "_UID", "0") || !get(e, "_UID", NULL))) {
		unit = get(e, "UNIT", &un);
		copy(h->service, sizeof(h->service), unit ? unit : "", unit ? un : 0);
		if (field_is(e, "MESSAGE_ID", SD_MESSAGE_UNIT_FAILURE_RESULT_STR) && unit) {
			const void *res;
			size_t rn;
			char result[64];

			res = get(e, "UNIT_RESULT", &rn);
			copy(result, sizeof(result), res ? res : "", res ? rn : 0);
			h->alert = true;
			h->recheck = 1u << KIND_SERVICE;
			h->category = "process";
			h->type = "end";
			h->outcome = "failure";
			snprintf(h->message, sizeof(h->message), "unit %.200s failed%s%s%s",
			         h->service, result[0] ? " (result '" : "", result,
			         result[0] ? "')" : "");
			set_key(h, h->service, strlen(h->service));
			return true;
		}
		if (unit && !routine_unit(h->service) &&
		    (field_is(e, "MESSAGE_ID", SD_MESSAGE_UNIT_STARTED_STR) ||
		     field_is(e, "MESSAGE_ID", SD_MESSAGE_UNIT_STOPPED_STR) ||
		     field_is(e, "MESSAGE_ID", SD_MESSAGE_UNIT_FAILED_STR) ||
		     field_is(e, "MESSAGE_ID", SD_MESSAGE_UNIT_RELOADED_STR))) {
			h->recheck = 1u << KIND_SERVICE;
			return true;
		}
		msg = get(e, "MESSAGE", &n);
		if (!unit && msg &&
		    ((n == 10 && memcmp(msg, "Reloading.", 10) == 0) ||
		     (n >= 24 && memcmp(msg, "Reloading requested from", 24) == 0))) {
			h->recheck = 1u << KIND_SERVICE;
			return true;
		}
		return false;
	}
	if (!program_in(e, systemctl))
		return false;
	msg = get(e, "MESSAGE", &n);
	if (!re_match(jr, jr->re[RE_SYMLINK], jr->md, msg, n))
		return false;
	char path[JRULES_MAX_VALUE + 1], *slash;

	capture(jr->re[RE_SYMLINK], jr->md, msg, "path", path, sizeof(path));
	slash = strrchr(path, '/');
	snprintf(h->service, sizeof(h->service), "%s", slash ? slash + 1 : path);
	h->alert = true;
	h->recheck = 1u << KIND_SERVICE;
	h->category = "configuration";
	h->type = "change";
	copy(h->message, 300, msg, n);
	set_key(h, path, strlen(path));
	return true;
}

/* --- custom rules --- */

/* All fields match (a field named twice: any of its values) and the regex matches. */
static bool match_custom(struct jrules *jr, struct rule *r, const struct jentry *e, struct hit *h)
{
	const void *msg = NULL;
	size_t n = 0;

	for (size_t i = 0; i < r->nfields; i++) {
		bool any = false, seen = false;

		for (size_t k = 0; k < r->nfields; k++) {
			if (strcmp(r->fields[k].name, r->fields[i].name) != 0)
				continue;
			if (k < i) {
				seen = true; /* decided at its first occurrence */
				break;
			}
			size_t vn;
			const void *v = get(e, r->fields[k].name, &vn);

			any |= v && vn == r->fields[k].vlen &&
			       memcmp(v, r->fields[k].value, vn) == 0;
		}
		if (!seen && !any)
			return false;
	}
	if (r->re) {
		msg = get(e, "MESSAGE", &n);
		if (!re_match(jr, r->re, r->md, msg, n))
			return false;
	}
	h->alert = true;
	h->severity = SEV_MEDIUM;
	if (r->re) {
		uint32_t count, size;
		PCRE2_SPTR table;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);

		pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &count);
		pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
		pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &table);
		for (uint32_t i = 0; i < count; i++, table += size) {
			unsigned g = (unsigned)table[0] << 8 | table[1];
			const char *name = (const char *)table + 2;

			if (g >= pcre2_get_ovector_count(r->md) || ov[2 * g] == PCRE2_UNSET)
				continue;
			size_t len = ov[2 * g + 1] - ov[2 * g];

			if (!h->captures)
				h->captures = json_object();
			json_object_set_new(
			        h->captures, name,
			        jbytes_new((const char *)msg + ov[2 * g],
			                   len > JRULES_MAX_VALUE ? JRULES_MAX_VALUE : len));
			if (r->group_by && r->group_capture && strcmp(name, r->group_by) == 0)
				set_key(h, (const char *)msg + ov[2 * g], len);
		}
	}
	if (r->group_by && !r->group_capture) {
		size_t vn;
		const void *v = get(e, r->group_by, &vn);

		if (v)
			set_key(h, v, vn);
	}
	if (!msg)
		msg = get(e, "MESSAGE", &n);
	copy(h->message, 300, msg ? msg : "", msg ? n : 0);
	return true;
}

/* --- thresholds --- */

static uint64_t key_hash(const struct jrules *jr, const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ jr->seed;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static void lru_unlink(struct table *t, struct counter *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		t->lru = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		t->lru_tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_push(struct table *t, struct counter *c)
{
	c->next = t->lru;
	c->prev = NULL;
	if (t->lru)
		t->lru->prev = c;
	t->lru = c;
	if (!t->lru_tail)
		t->lru_tail = c;
}

static void table_remove(struct jrules *jr, struct table *t, struct counter *c)
{
	struct counter **pp = &t->buckets[key_hash(jr, c->key, c->klen) % t->nbuckets];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	lru_unlink(t, c);
	t->n--;
	free(c);
}

static void table_clear(struct table *t)
{
	struct counter *c = t->lru, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t->buckets);
	*t = (struct table){0};
}

/* The counter of KEY, made (evicting the least recently seen when full) if new. Sets
 * *EVICTED when a counter still inside its window had to go. NULL when out of memory. */
static struct counter *table_get(struct jrules *jr, struct rule *r, const char *key, size_t klen,
                                 uint64_t now, bool *evicted)
{
	struct table *t = &r->tab;
	struct counter *c, **head;

	if (!t->buckets) {
		t->nbuckets = jr->max_keys < 64 ? 64 : jr->max_keys;
		t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
		if (!t->buckets)
			return NULL;
	}
	head = &t->buckets[key_hash(jr, key, klen) % t->nbuckets];
	for (c = *head; c; c = c->hnext)
		if (c->klen == klen && memcmp(c->key, key, klen) == 0) {
			lru_unlink(t, c);
			lru_push(t, c);
			return c;
		}
	if (t->n >= jr->max_keys) {
		struct counter *old = t->lru_tail;

		if (old->n && now - old->last <= r->window) {
			*evicted = true;
			t->evicted++;
		}
		table_remove(jr, t, old);
	}
	c = calloc(1, sizeof(*c) + r->threshold * sizeof(uint64_t) + klen + 1);
	if (!c)
		return NULL;
	c->ring = (uint64_t *)(c + 1);
	c->key = (char *)(c->ring + r->threshold);
	memcpy(c->key, key, klen);
	c->klen = klen;
	c->hnext = *head;
	*head = c;
	lru_push(t, c);
	t->n++;
	return c;
}

static void counter_add_user(struct counter *c, const char *user)
{
	if (!user[0] || c->nusers >= JRULES_MAX_USERS)
		return;
	for (unsigned i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i], user) == 0)
			return;
	snprintf(c->users[c->nusers++], USER_MAX + 1, "%s", user);
}

/* Counts one entry at time T in C. True when this entry reaches the threshold; *COUNT and
 * *FIRST then say how many entries since when. */
static bool counter_step(const struct rule *r, struct counter *c, uint64_t t, const char *user,
                         unsigned *count, uint64_t *first)
{
	if (c->n && t < c->last) { /* time went back (another boot, a clock set back) */
		c->n = c->head = 0;
		c->fired = false;
		c->nusers = 0;
	}
	if (c->fired) {
		if (t - c->last <= r->window) {
			c->last = t; /* the same burst: no second alert */
			counter_add_user(c, user);
			return false;
		}
		c->n = c->head = 0; /* a whole window passed quietly: re-armed */
		c->fired = false;
		c->nusers = 0;
	}
	if (c->n == r->threshold) { /* full: the oldest makes room */
		c->head = (c->head + 1) % r->threshold;
		c->n--;
	}
	c->ring[(c->head + c->n) % r->threshold] = t;
	c->n++;
	while (c->n > 1 && t - c->ring[c->head] > r->window) {
		c->head = (c->head + 1) % r->threshold;
		c->n--;
	}
	c->last = t;
	counter_add_user(c, user);
	if (c->n < r->threshold)
		return false;
	c->fired = true;
	*count = c->n;
	*first = c->ring[c->head];
	return true;
}

/* --- alerts --- */

static void set_str(json_t *o, const char *key, const char *s)
{
	if (s && s[0])
		json_object_set_new(o, key, jbytes_new(s, strlen(s)));
}

/* A child object of O named KEY, made when missing. */
static json_t *child(json_t *o, const char *key)
{
	json_t *c = json_object_get(o, key);

	if (!c) {
		c = json_object();
		json_object_set_new(o, key, c);
	}
	return c;
}

/* The entry's own fields every alert carries. */
static void entry_fields(json_t *ev, json_t *jj, const struct jentry *e)
{
	char buf[JRULES_MAX_VALUE + 1];
	const void *v;
	size_t n;

	v = get(e, "_COMM", &n);
	if (!v)
		v = get(e, "SYSLOG_IDENTIFIER", &n);
	if (v)
		json_object_set_new(child(ev, "process"), "name", jbytes_new(v, n > 64 ? 64 : n));
	v = get(e, "_PID", &n);
	if (v && n > 0 && n < 11 && strspn(v, "0123456789") >= n) {
		copy(buf, sizeof(buf), v, n);
		json_object_set_new(child(ev, "process"), "pid", json_integer(atoll(buf)));
	}
	v = get(e, "_UID", &n);
	if (v && n > 0 && n < 11 && strspn(v, "0123456789") >= n) {
		copy(buf, sizeof(buf), v, n);
		json_object_set_new(jj, "uid", json_integer(atoll(buf)));
	}
	v = get(e, "SYSLOG_IDENTIFIER", &n);
	if (v)
		json_object_set_new(jj, "identifier", jbytes_new(v, n > 64 ? 64 : n));
	v = get(e, "_HOSTNAME", &n);
	if (v)
		json_object_set_new(jj, "hostname", jbytes_new(v, n > 256 ? 256 : n));
	v = get(e, "_EXE", &n);
	if (v)
		json_object_set_new(jj, "exe", jbytes_new(v, n > 256 ? 256 : n));
	v = get(e, "_SYSTEMD_UNIT", &n);
	if (v)
		json_object_set_new(jj, "unit", jbytes_new(v, n > 256 ? 256 : n));
	v = get(e, "MESSAGE", &n);
	if (v)
		json_object_set_new(jj, "message",
		                    jbytes_new(v, n > JSON_MESSAGE ? JSON_MESSAGE : n));
	if (e->cursor)
		json_object_set_new(jj, "cursor", json_string(e->cursor));
	rfc3339(e->realtime_usec, true, buf, sizeof(buf));
	json_object_set_new(jj, "time", json_string(buf));
}

/* ECS fields the ECS names of custom captures map to ("source_ip" -> source.ip). */
static void capture_ecs(json_t *ev, json_t *caps)
{
	static const struct {
		const char *capture, *obj, *sub, *key;
	} map[] = {
	        {"source_ip", "source", NULL, "ip"},
	        {"source_port", "source", NULL, "port"},
	        {"destination_ip", "destination", NULL, "ip"},
	        {"destination_port", "destination", NULL, "port"},
	        {"user_name", "user", NULL, "name"},
	        {"user_id", "user", NULL, "id"},
	        {"user_target_name", "user", "target", "name"},
	        {"group_name", "group", NULL, "name"},
	        {"process_name", "process", NULL, "name"},
	        {"process_pid", "process", NULL, "pid"},
	        {"service_name", "service", NULL, "name"},
	        {"file_path", "file", NULL, "path"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		json_t *v = json_object_get(caps, map[i].capture), *o;

		if (!v)
			continue;
		o = child(ev, map[i].obj);
		if (map[i].sub)
			o = child(o, map[i].sub);
		json_object_set(o, map[i].key, v);
	}
}

struct fire {
	unsigned count;
	uint64_t first;
	const struct counter *c; /* NULL without a threshold */
	uint64_t evicted;        /* an alert about evictions when not 0 */
};

static json_t *alert_event(const struct jrules *jr, const struct rule *r, const struct jentry *e,
                           struct hit *h, const struct fire *f)
{
	json_t *ev = json_object(), *event = json_object(), *fim = json_object(),
	       *jj = json_object();
	char now[64];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	rfc3339((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000, false, now,
	        sizeof(now));
	json_object_set_new(ev, "@timestamp", json_string(now));
	json_object_set_new(event, "kind", json_string("alert"));
	json_object_set_new(event, "module", json_string("fim"));
	json_object_set_new(event, "action", json_string(r->name));
	if (h->category)
		json_object_set_new(event, "category",
		                    h->category2 ? json_pack("[ss]", h->category, h->category2)
		                                 : json_pack("[s]", h->category));
	if (h->type)
		json_object_set_new(event, "type",
		                    h->type2 ? json_pack("[ss]", h->type, h->type2)
		                             : json_pack("[s]", h->type));
	if (h->outcome)
		json_object_set_new(event, "outcome", json_string(h->outcome));
	json_object_set_new(event, "severity", json_integer(report_severity_score(h->severity)));
	json_object_set_new(ev, "event", event);
	json_object_set_new(ev, "host", json_pack("{s:s}", "name", jr->host));
	if (h->ip[0])
		json_object_set_new(child(ev, "source"), "ip", json_string(h->ip));
	set_str(child(ev, "user"), "name", h->user);
	if (h->target[0])
		set_str(child(child(ev, "user"), "target"), "name", h->target);
	if (json_object_size(json_object_get(ev, "user")) == 0)
		json_object_del(ev, "user");
	if (h->group[0])
		set_str(child(ev, "group"), "name", h->group);
	if (h->service[0])
		set_str(child(ev, "service"), "name", h->service);
	entry_fields(ev, jj, e);
	if (h->command[0])
		set_str(child(ev, "process"), "command_line", h->command);
	if (h->captures)
		capture_ecs(ev, h->captures);
	json_object_set_new(fim, "object", json_string("journal"));
	json_object_set_new(fim, "rule", json_string(r->name));
	json_object_set_new(fim, "severity", json_string(severity_name(h->severity)));
	json_object_set_new(fim, "message", jbytes_new(h->message, strlen(h->message)));
	if (f->c || f->evicted) {
		char first[64];

		json_object_set_new(jj, "count", json_integer(f->count));
		json_object_set_new(jj, "window", json_integer((json_int_t)(r->window / 1000000)));
		rfc3339(f->first, true, first, sizeof(first));
		json_object_set_new(jj, "first", json_string(first));
		if (h->klen && !f->evicted)
			json_object_set_new(jj, "group", jbytes_new(h->key, h->klen));
	}
	if (f->evicted)
		json_object_set_new(jj, "evicted", json_integer((json_int_t)f->evicted));
	if (f->c && f->c->nusers) {
		json_t *users = json_array();

		for (unsigned i = 0; i < f->c->nusers; i++)
			json_array_append_new(users,
			                      jbytes_new(f->c->users[i], strlen(f->c->users[i])));
		json_object_set(jj, "users", users);
		json_object_set_new(child(ev, "related"), "user", users);
	}
	json_object_set_new(fim, "journal", jj);
	if (h->captures)
		json_object_set(fim, "captures", h->captures);
	json_object_set_new(ev, "fim", fim);
	return ev;
}

static int emit(const struct jrules *jr, const struct rule *r, const struct jentry *e,
                struct hit *h, const struct fire *f, journal_alert_fn fn, void *arg)
{
	struct journal_alert a = {.rule = r->name,
	                          .severity = h->severity,
	                          .message = h->message,
	                          .realtime_usec = e->realtime_usec};
	json_t *ev = alert_event(jr, r, e, h, f);
	int ret;

	if (!ev)
		return -ENOMEM;
	a.event = ev;
	ret = fn(&a, arg);
	json_decref(ev);
	return ret < 0 ? ret : 1;
}

/* Threshold and window of rule R for the entry described by H. Returns 1 when an alert went
 * out, 0 when none is due, or a negative errno. */
static int count_and_emit(struct jrules *jr, struct rule *r, const struct jentry *e, struct hit *h,
                          journal_alert_fn fn, void *arg)
{
	struct fire f = {.count = 1, .first = e->realtime_usec};
	bool evicted = false;
	struct counter *c;
	int ret = 0;

	if (r->threshold <= 1 && r->window == 0)
		return emit(jr, r, e, h, &f, fn, arg);
	c = table_get(jr, r, h->key, h->klen, e->realtime_usec, &evicted);
	if (!c)
		return -ENOMEM;
	if (evicted &&
	    (!r->tab.evict_alerted || e->realtime_usec - r->tab.evict_alerted > r->window)) {
		struct hit eh = {.severity = h->severity,
		                 .category = h->category,
		                 .category2 = h->category2};
		struct fire ef = {.count = (unsigned)r->tab.n,
		                  .first = e->realtime_usec,
		                  .evicted = r->tab.evicted};

		r->tab.evict_alerted = e->realtime_usec ? e->realtime_usec : 1;
		snprintf(eh.message, sizeof(eh.message),
		         "rule %s counts at most %zu groups at once: the least recently seen were "
		         "dropped (%llu so far); a spread-out attack may go uncounted",
		         r->name, jr->max_keys, (unsigned long long)r->tab.evicted);
		ret = emit(jr, r, e, &eh, &ef, fn, arg);
		if (ret < 0)
			return ret;
	}
	f.c = c;
	if (!counter_step(r, c, e->realtime_usec, h->user, &f.count, &f.first))
		return ret;
	if (r->kind == RK_SSH) {
		char users[128] = "";

		for (unsigned i = 0; i < c->nusers; i++)
			snprintf(users + strlen(users), sizeof(users) - strlen(users), "%s%s",
			         i ? ", " : "", c->users[i]);
		snprintf(h->message, sizeof(h->message),
		         "%u failed SSH logins from %s in %llu s%s%s%s", f.count, c->key,
		         (unsigned long long)(r->window / 1000000), users[0] ? " (users: " : "",
		         users, users[0] ? ")" : "");
	} else if (r->threshold > 1) {
		char msg[sizeof(h->message)];

		snprintf(msg, sizeof(msg), "%u entries in %llu s%s%.*s: %.300s", f.count,
		         (unsigned long long)(r->window / 1000000), h->klen ? " for " : "",
		         (int)(h->klen > 256 ? 256 : h->klen), h->key, h->message);
		memcpy(h->message, msg, sizeof(msg));
	}
	int e2 = emit(jr, r, e, h, &f, fn, arg);

	return e2 < 0 ? e2 : 1;
}

/* Empties H for the next rule: the strings only need their first byte cleared (every field
 * of struct hit must be reset here). */
static void hit_reset(struct hit *h, enum severity s)
{
	h->alert = false;
	h->recheck = 0;
	h->severity = s;
	h->category = h->category2 = h->type = h->type2 = h->outcome = NULL;
	h->klen = 0;
	h->key[0] = h->message[0] = h->user[0] = h->target[0] = h->group[0] = '\0';
	h->ip[0] = h->service[0] = h->command[0] = '\0';
	h->captures = NULL;
}

/* fim's own lines (the journal and syslog sinks of fim watch, fim-check): a rule matching
 * their text would alert on its own alerts, and again on those. Only root's are skipped: an
 * identifier forged by anybody else is read like any other line. */
static bool own_entry(const struct jentry *e)
{
	static const char *const fim[] = {"fim", "fim-check", NULL};
	size_t n;
	const void *v = get(e, "SYSLOG_IDENTIFIER", &n);

	if (!v)
		return false;
	for (int i = 0; fim[i]; i++)
		if (n == strlen(fim[i]) && memcmp(v, fim[i], n) == 0)
			return field_is(e, "_UID", "0") || !get(e, "_UID", NULL);
	return false;
}

int jrules_apply(struct jrules *jr, const struct jentry *e, journal_alert_fn fn, void *arg,
                 journal_recheck_t *recheck)
{
	int alerts = 0;

	if (own_entry(e))
		return 0;

	for (size_t i = 0; i < jr->n; i++) {
		struct rule *r = &jr->rules[i];
		struct hit *h = jr->hit;
		bool m = false;
		int ret;

		hit_reset(h, r->severity);
		switch (r->kind) {
		case RK_CUSTOM:
			m = match_custom(jr, r, e, h);
			break;
		case RK_ACCOUNTS:
			m = match_accounts(jr, e, h);
			break;
		case RK_PRIVILEGE:
		case RK_PRIVILEGE_FAILURE:
			m = match_privilege(jr, e, h, r->kind == RK_PRIVILEGE_FAILURE);
			break;
		case RK_SERVICES:
			m = match_services(jr, e, h);
			break;
		case RK_SSH:
			m = match_ssh(jr, e, h);
			break;
		}
		if (!m || !h->alert) {
			*recheck |= m ? h->recheck : 0;
			json_decref(h->captures);
			continue;
		}
		*recheck |= h->recheck;
		if (r->severity_set)
			h->severity = r->severity;
		ret = count_and_emit(jr, r, e, h, fn, arg);
		json_decref(h->captures);
		if (ret < 0)
			return ret;
		alerts += ret;
	}
	return alerts;
}

/* --- set-up --- */

static void rule_clear(struct rule *r)
{
	free(r->name);
	for (size_t i = 0; i < r->nfields; i++) {
		free(r->fields[i].name);
		free(r->fields[i].value);
	}
	free(r->fields);
	pcre2_match_data_free(r->md);
	pcre2_code_free(r->re);
	free(r->group_by);
	table_clear(&r->tab);
}

void jrules_free(struct jrules *jr)
{
	if (!jr)
		return;
	for (size_t i = 0; i < jr->n; i++)
		rule_clear(&jr->rules[i]);
	free(jr->rules);
	for (int k = 0; k < RE__MAX; k++)
		pcre2_code_free(jr->re[k]);
	pcre2_match_data_free(jr->md);
	pcre2_match_context_free(jr->mctx);
	free(jr->hit);
	free(jr->host);
	free(jr);
}

static pcre2_code *compile(const char *src, uint32_t options, char *err, size_t errsize,
                           const char *what)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;
	pcre2_code *re =
	        pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, options, &code, &off, NULL);

	if (!re) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errsize, "journal rule %s: bad regular expression at %zu: %s", what,
		         (size_t)off, (char *)msg);
		return NULL;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* a failure only costs speed */
	return re;
}

static const struct builtin *builtin_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

/* Fills R from the policy's rule P. */
static int rule_init(struct rule *r, const struct policy_journal_rule *p, char *err, size_t errsize)
{
	const struct builtin *b = (p->flags & JRULE_BUILTIN) ? builtin_find(p->name) : NULL;

	if ((p->flags & JRULE_BUILTIN) && !b) {
		snprintf(err, errsize, "journal rule %s: unknown built-in rule", p->name);
		return -EINVAL;
	}
	r->name = strdup(p->name);
	if (!r->name)
		return -ENOMEM;
	r->kind = b ? b->kind : RK_CUSTOM;
	r->severity = b ? b->severity : SEV_MEDIUM;
	r->severity_set = p->severity >= 0;
	if (r->severity_set)
		r->severity = (enum severity)p->severity;
	r->threshold = p->threshold ? p->threshold : b ? b->threshold : 1;
	r->window = (uint64_t)(p->window ? p->window : b ? b->window : 0) * 1000000;
	if (r->threshold > 1 && r->window == 0)
		r->window = 60 * 1000000ULL;
	if (r->threshold < 1)
		r->threshold = 1;
	if (p->nfields) {
		r->fields = calloc(p->nfields, sizeof(*r->fields));
		if (!r->fields)
			return -ENOMEM;
	}
	for (size_t i = 0; i < p->nfields; i++) {
		r->fields[i].name = strdup(p->fields[i].name);
		r->fields[i].value = strdup(p->fields[i].value);
		r->nfields++;
		if (!r->fields[i].name || !r->fields[i].value)
			return -ENOMEM;
		r->fields[i].vlen = strlen(r->fields[i].value);
	}
	if (p->message) {
		r->re = compile(p->message, p->caseless ? PCRE2_CASELESS : 0, err, errsize,
		                p->name);
		if (!r->re)
			return -EINVAL;
		r->md = pcre2_match_data_create_from_pattern(r->re, NULL);
		if (!r->md)
			return -ENOMEM;
	}
	if (p->group_by) {
		r->group_by = strdup(p->group_by);
		if (!r->group_by)
			return -ENOMEM;
		r->group_capture = r->re && pcre2_substring_number_from_name(
		                                    r->re, (PCRE2_SPTR)p->group_by) >= 0;
	}
	return 0;
}

int jrules_new(const struct policy *p, const char *host, struct jrules **ret, char *err,
               size_t errsize)
{
	struct jrules *jr = calloc(1, sizeof(*jr));
	size_t n = policy_journal_rule_count(p);
	int r = -ENOMEM;

	snprintf(err, errsize, "out of memory");
	if (!jr)
		return -ENOMEM;
	jr->max_keys = JRULES_MAX_KEYS;
	jr->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)jr;
	jr->host = strdup(host ? host : "");
	jr->rules = calloc(n ? n : 1, sizeof(*jr->rules));
	jr->mctx = pcre2_match_context_create(NULL);
	jr->hit = malloc(sizeof(*jr->hit));
	if (!jr->host || !jr->rules || !jr->mctx || !jr->hit)
		goto fail;
	pcre2_set_match_limit(jr->mctx, MATCH_LIMIT);
	pcre2_set_heap_limit(jr->mctx, HEAP_LIMIT);
	for (int k = 0; k < RE__MAX; k++) {
		jr->re[k] = compile(re_src[k], PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY, err, errsize,
		                    "(built-in)");
		if (!jr->re[k]) {
			r = -EINVAL;
			goto fail;
		}
	}
	jr->md = pcre2_match_data_create(32, NULL);
	if (!jr->md)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const struct policy_journal_rule *pr = policy_journal_rule_at(p, i);

		if (pr->flags & JRULE_DISABLED)
			continue;
		r = rule_init(&jr->rules[jr->n], pr, err, errsize);
		jr->n++;
		if (r < 0)
			goto fail;
	}
	*ret = jr;
	err[0] = '\0';
	return 0;
fail:
	jrules_free(jr);
	return r;
}

void jrules_set_max_keys(struct jrules *jr, size_t n)
{
	jr->max_keys = n ? n : 1;
}

uint64_t jrules_evicted(const struct jrules *jr)
{
	uint64_t n = 0;

	for (size_t i = 0; i < jr->n; i++)
		n += jr->rules[i].tab.evicted;
	return n;
}
