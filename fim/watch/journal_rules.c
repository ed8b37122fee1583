/* SPDX-License-Identifier: ISC */
/* Journal rules: built-in and policy rules over journal entries, thresholds, alert events. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-messages.h>

#include "fim/watch/journal_rules_int.h"
#include "fim/core/common.h"
#include "fim/core/jbytes.h"
#include "fim/report/report.h"

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

/* An address as sshd prints it, IPv6 with its scope ("fe80::1%eth0"). */
#define SSH_ADDR "[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.@-]+)?"

static const char *const re_src[RE__MAX] = {
        /* greedy: the address is the last "from A port N" (a user name may contain one);
         * what follows "ssh2" is sshd's key description only (a certificate ID, chosen by
         * the client, may not hold " from ", or it could move the blame) */
        [RE_SSH_FAILED] = "^Failed (?<method>\\S+) for (?<invalid>invalid user )?(?<user>.*) from "
                          "(?<ip>" SSH_ADDR
                          ") port \\d+(?: ssh2(?:: [A-Za-z0-9@.-]+ [A-Za-z0-9]+:[A-Za-z0-9+/=:]+"
                          "(?: ID (?:(?! from ).)* \\(serial \\d+\\) CA [A-Za-z0-9@.-]+ "
                          "[A-Za-z0-9]+:[A-Za-z0-9+/=:]+)?)?)?(?: \\[preauth\\])?$",
        [RE_SSH_INVALID] =
                "^Invalid user (?<user>.*) from (?<ip>" SSH_ADDR ") port \\d+(?: \\[preauth\\])?$",
        [RE_SUDO] = "^\\s*(?<user>\\S+) : (?<rest>.*)$",
        [RE_SU] = "^(?<failed>FAILED SU )?\\(to (?<target>[^)]*)\\) (?<user>\\S+) on (?<tty>\\S+)$",
        [RE_SU_SHADOW] = "^(?<failed>FAILED|Successful) su for (?<target>\\S+) by (?<user>\\S+)$",
        [RE_ACCT_NAME] = "(?:^(?:add|delete|remove) '|name=|user '|for '|changed for |group ')"
                         "(?<name>[A-Za-z0-9_.][A-Za-z0-9_.-]*\\$?)",
        [RE_ACCT_GROUP] = "to (?:shadow )?group '(?<group>[^']+)'",
        [RE_SYMLINK] = "^(?:Created symlink |Removed \"?)(?<path>/\\S*?)\"?(?: \\S+ .*|\\.)?$",
};

/* --- small helpers --- */

const void *jr_get(const struct jentry *e, const char *field, size_t *len)
{
	size_t dummy;

	return e->get(e->ctx, field, len ? len : &dummy);
}

static bool field_is(const struct jentry *e, const char *field, const char *value)
{
	size_t n;
	const void *v = jr_get(e, field, &n);

	return v && n == strlen(value) && memcmp(v, value, n) == 0;
}

/* The program that wrote E: SYSLOG_IDENTIFIER, else _COMM, is one of NAMES. */
static const char *program_in(const struct jentry *e, const char *const *names)
{
	size_t n;
	const void *v = jr_get(e, "SYSLOG_IDENTIFIER", &n);

	if (!v)
		v = jr_get(e, "_COMM", &n);
	for (; v && *names; names++)
		if (n == strlen(*names) && memcmp(v, *names, n) == 0)
			return *names;
	return NULL;
}

/* How a program logs: set-user-ID tools may log with the caller's uid, the others only as
 * root; scripts run by an interpreter (perl). */
enum sender { SEND_SETUID, SEND_ROOT, SEND_SCRIPT };

/* _EXE is one of DIRS/NAME. */
static bool exe_in(const void *exe, size_t n, const char *name)
{
	static const char *const dirs[] = {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", NULL};

	if (n > 10 && memcmp((const char *)exe + n - 10, " (deleted)", 10) == 0)
		n -= 10; /* replaced by an upgrade while it ran */
	for (int i = 0; dirs[i]; i++) {
		size_t dn = strlen(dirs[i]), nn = strlen(name);

		if (n == dn + nn && memcmp(exe, dirs[i], dn) == 0 &&
		    memcmp((const char *)exe + dn, name, nn) == 0)
			return true;
	}
	return false;
}

/*
 * Whether journald's own fields, which no client can set, back an entry's claim to come
 * from TOOL: _EXE must be the real program (or, for a script, perl) and, unless set-user-ID,
 * _UID 0. Without _EXE (the process was gone before journald looked) only _UID 0 vouches.
 */
static bool sender_ok(const struct jentry *e, const char *tool, enum sender how)
{
	size_t n;
	const void *exe = jr_get(e, "_EXE", &n);
	bool root = field_is(e, "_UID", "0");

	if (!jr_get(e, "_UID", NULL))
		return false;
	if (!exe)
		return root;
	if (exe_in(exe, n, tool) ||
	    (how == SEND_SCRIPT && n >= 13 && memcmp(exe, "/usr/bin/perl", 13) == 0 &&
	     strspn((const char *)exe + 13, "0123456789.") == n - 13))
		return how == SEND_SETUID || root;
	return false;
}

/* Copies at most SIZE - 1 bytes of S[0..n) into BUF, NUL-terminated (NUL bytes cut it). */
void jr_copy(char *buf, size_t size, const void *s, size_t n)
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
void jr_rfc3339(uint64_t usec, bool precise, char *buf, size_t size)
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

/* Matches RE against MESSAGE (at most JRULES_MAX_MESSAGE bytes of it). An error (a match,
 * heap or depth limit reached) is no match, but is kept in JR->match_error: the caller says
 * that the entry could not be evaluated rather than letting it pass unseen. */
static bool re_match(struct jrules *jr, const pcre2_code *re, pcre2_match_data *md, const void *msg,
                     size_t n)
{
	int rc;

	if (!msg)
		return false;
	if (n > JRULES_MAX_MESSAGE)
		n = JRULES_MAX_MESSAGE;
	rc = pcre2_match(re, msg, n, 0, 0, md, jr->mctx);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		jr->match_error = rc;
	return rc > 0;
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
	jr_copy(buf, size, (const char *)subject + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
	return true;
}

/* --- built-in rules --- */

/* Normalises address S into H->ip and sets the group key: the address for IPv4, its /64 for
 * IPv6 (one subscriber's network: rotating through its addresses must not reset the count).
 * False when S is not an address. */
static bool ssh_source(struct hit *h, char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	char buf[INET6_ADDRSTRLEN + 4], *scope = strchr(s, '%');

	if (scope)
		*scope = '\0'; /* fe80::1%eth0: the scope only says which interface */
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

/*
 * sshd (as root: an unprivileged process can write "sshd" lines too): one guess is one
 * "Failed METHOD for USER" of an existing user, or one "Invalid user" line for a name that
 * does not exist (sshd follows it with "Failed none/password ... for invalid user" lines of
 * the same connection: not counted again). "Failed none" is a client asking which methods
 * exist; "Connection closed by / Disconnected from authenticating user" and "maximum
 * authentication attempts exceeded" follow failures already counted.
 */
static bool match_ssh(struct jrules *jr, const struct jentry *e, struct hit *h)
{
	static const char *const sshd[] = {"sshd", "sshd-session", "sshd-auth", NULL};
	char ip[128], method[32], invalid[16];
	size_t n;
	const void *msg;
	const char *prog = program_in(e, sshd);

	if (!prog)
		return false;
	if (!field_is(e, "_UID", "0")) {
		h->forged = prog;
		return false;
	}
	msg = jr_get(e, "MESSAGE", &n);
	for (int k = RE_SSH_FAILED; k <= RE_SSH_INVALID; k++) {
		if (!re_match(jr, jr->re[k], jr->md, msg, n))
			continue;
		if (k == RE_SSH_FAILED &&
		    ((capture(jr->re[k], jr->md, msg, "method", method, sizeof(method)) &&
		      strcmp(method, "none") == 0) ||
		     capture(jr->re[k], jr->md, msg, "invalid", invalid, sizeof(invalid))))
			return false;
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

	msg = jr_get(e, "MESSAGE", &n);
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
			jr_copy(h->target, sizeof(h->target), s + 5, len - 5);
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

	msg = jr_get(e, "MESSAGE", &n);
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
	static const char *const tools[] = {"sudo", "su", NULL};
	const char *tool = program_in(e, tools);
	bool failure = false, ok;

	h->severity = want_failure ? SEV_HIGH : SEV_LOW;
	if (!tool)
		return false;
	if (!sender_ok(e, tool, SEND_SETUID)) {
		h->forged = tool;
		return false;
	}
	if (strcmp(tool, "sudo") == 0)
		ok = match_sudo(jr, e, h, &failure);
	else
		ok = match_su(jr, e, h, &failure);
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
	/* set-user-ID (or -group) tools an ordinary user runs on their own account */
	static const char *const setuid[] = {"passwd", "chfn", "chsh", "gpasswd", "chage", NULL};
	static const char *const scripts[] = {"adduser", "deluser", "addgroup", "delgroup", NULL};
	const char *tool = program_in(e, tools);
	const void *msg;
	size_t n;
	char name[JRULES_MAX_VALUE + 1];

	if (!tool)
		return false;
	if (!sender_ok(e, tool,
	               program_in(e, setuid)    ? SEND_SETUID
	               : program_in(e, scripts) ? SEND_SCRIPT
	                                        : SEND_ROOT)) {
		h->forged = tool;
		return false;
	}
	msg = jr_get(e, "MESSAGE", &n);
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
	jr_copy(name, 200, msg ? msg : "", msg ? n : 0);
	snprintf(h->message, sizeof(h->message), "%s: %.300s", tool, name);
	set_key(h, h->message, strlen(h->message));
	return true;
}

/* True for units whose start and stop say nothing about configuration: slices, devices and
 * logind's session-N.scope (every login and cron job). Other scopes ("systemd-run --scope")
 * trigger the re-check: scopes are not in the baseline, so it finds only real changes. */
static bool routine_unit(const char *u)
{
	const char *dot = strrchr(u, '.');

	if (dot && strcmp(dot, ".scope") == 0)
		return strncmp(u, "session-", 8) == 0 && dot > u + 8 &&
		       strspn(u + 8, "0123456789") == (size_t)(dot - u - 8);
	return dot && (strcmp(dot, ".slice") == 0 || strcmp(dot, ".device") == 0);
}

/* The system manager (PID 1) and systemctl: unit jobs, failures, reloads, enablement. */
static bool match_services(struct jrules *jr, const struct jentry *e, struct hit *h)
{
	static const char *const systemctl[] = {"systemctl", NULL};
	const void *msg = NULL, *unit;
	size_t n = 0, un = 0;

	if (field_is(e, "_PID", "1") && (field_is(e, "_UID", "0") || !jr_get(e, "_UID", NULL))) {
		unit = jr_get(e, "UNIT", &un);
		jr_copy(h->service, sizeof(h->service), unit ? unit : "", unit ? un : 0);
		if (field_is(e, "MESSAGE_ID", SD_MESSAGE_UNIT_FAILURE_RESULT_STR) && unit) {
			const void *res;
			size_t rn;
			char result[64];

			res = jr_get(e, "UNIT_RESULT", &rn);
			jr_copy(result, sizeof(result), res ? res : "", res ? rn : 0);
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
		msg = jr_get(e, "MESSAGE", &n);
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
	if (!sender_ok(e, "systemctl", SEND_ROOT)) {
		h->forged = "systemctl";
		return false;
	}
	msg = jr_get(e, "MESSAGE", &n);
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
	jr_copy(h->message, 300, msg, n);
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
			const void *v = jr_get(e, r->fields[k].name, &vn);

			any |= v && vn == r->fields[k].vlen &&
			       memcmp(v, r->fields[k].value, vn) == 0;
		}
		if (!seen && !any)
			return false;
	}
	if (r->re) {
		msg = jr_get(e, "MESSAGE", &n);
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
		const void *v = jr_get(e, r->group_by, &vn);

		if (v)
			set_key(h, v, vn);
	}
	if (!msg)
		msg = jr_get(e, "MESSAGE", &n);
	jr_copy(h->message, 300, msg ? msg : "", msg ? n : 0);
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
 * evict_pending when a counter still inside its window had to go. NULL when out of memory. */
static struct counter *table_get(struct jrules *jr, struct rule *r, const char *key, size_t klen,
                                 uint64_t now)
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
			t->evict_pending = true;
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

/* How to take back one counter_step whose alert did not go out. */
struct counter_undo {
	struct counter saved;
	unsigned slot;
	uint64_t value;
};

static void counter_undo(struct counter *c, const struct counter_undo *u)
{
	*c = u->saved; /* nothing else touched the links meanwhile */
	c->ring[u->slot] = u->value;
}

/* Counts one entry at time T in C. True when this entry reaches the threshold; *COUNT and
 * *FIRST then say how many entries since when, and the caller marks C fired once the alert
 * went out (or takes the step back with U). */
static bool counter_step(const struct rule *r, struct counter *c, uint64_t t, const char *user,
                         unsigned *count, uint64_t *first, struct counter_undo *u)
{
	u->saved = *c;
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
	u->slot = (c->head + c->n) % r->threshold;
	u->value = c->ring[u->slot];
	c->ring[u->slot] = t;
	c->n++;
	while (c->n > 1 && t - c->ring[c->head] > r->window) {
		c->head = (c->head + 1) % r->threshold;
		c->n--;
	}
	c->last = t;
	counter_add_user(c, user);
	if (c->n < r->threshold)
		return false;
	*count = c->n;
	*first = c->ring[c->head];
	return true;
}

/* Whether a notice limited by RL is due at time T; when not, one more is held back. */
static bool ratelimit_due(struct ratelimit *rl, uint64_t t)
{
	if (!rl->armed || t < rl->last || t - rl->last > NOTICE_QUIET)
		return true;
	rl->suppressed++;
	return false;
}

static void ratelimit_sent(struct ratelimit *rl, uint64_t t)
{
	rl->armed = true;
	rl->last = t;
	rl->suppressed = 0;
}

/* Threshold and window of rule R for the entry described by H, at time T (the thresholds'
 * clock). Returns 1 when an alert went out, 0 when none is due, or a negative errno; nothing
 * is counted or marked unless its alert went out. */
static int count_and_emit(struct jrules *jr, struct rule *r, const struct jentry *e, struct hit *h,
                          uint64_t t, journal_alert_fn fn, void *arg)
{
	struct fire f = {.count = 1, .first = t};
	struct counter_undo undo;
	struct counter *c;
	int ret = 0;

	if (r->threshold <= 1 && r->window == 0)
		return jr_emit(jr, r, e, h, &f, fn, arg);
	c = table_get(jr, r, h->key, h->klen, t);
	if (!c)
		return -ENOMEM;
	if (r->tab.evict_pending && (!r->tab.evict_alerted || t < r->tab.evict_alerted ||
	                             t - r->tab.evict_alerted > r->window)) {
		struct hit eh = {.severity = h->severity,
		                 .category = h->category,
		                 .category2 = h->category2};
		struct fire ef = {
		        .count = (unsigned)r->tab.n, .first = t, .evicted = r->tab.evicted};

		snprintf(eh.message, sizeof(eh.message),
		         "rule %s counts at most %zu groups at once: the least recently seen were "
		         "dropped (%llu so far); a spread-out attack may go uncounted",
		         r->name, jr->max_keys, (unsigned long long)r->tab.evicted);
		ret = jr_emit(jr, r, e, &eh, &ef, fn, arg);
		if (ret < 0)
			return ret;
		r->tab.evict_alerted = t ? t : 1;
	}
	r->tab.evict_pending = false;
	f.c = c;
	if (!counter_step(r, c, t, h->user, &f.count, &f.first, &undo))
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
	int e2 = jr_emit(jr, r, e, h, &f, fn, arg);

	if (e2 < 0) {
		counter_undo(c, &undo); /* counted again, and alerted, when the entry comes back */
		return e2;
	}
	c->fired = true;
	return 1;
}

/* A notice about entry E instead of a match of rule R: its sender is forged (R NULL), or R's
 * regular expression could not be evaluated. Rate-limited; returns 1, 0 or a negative errno. */
static int notice(struct jrules *jr, struct rule *r, const struct jentry *e, uint64_t t,
                  const char *forged, journal_alert_fn fn, void *arg)
{
	struct rule unverified = {.name = (char *)"unverified-sender"};
	struct ratelimit *rl = r ? &r->unevaluated : &jr->unverified;
	struct hit nh = {0}, *h = &nh;
	struct fire f = {.count = 1, .first = t};
	int ret;

	if (!ratelimit_due(rl, t))
		return 0;
	f.suppressed = rl->suppressed;
	if (r) {
		char why[128];

		pcre2_get_error_message(jr->match_error, (PCRE2_UCHAR *)why, sizeof(why));
		h->severity = r->severity;
		h->action = "unevaluated";
		h->category = "intrusion_detection";
		h->type = "info";
		snprintf(h->message, sizeof(h->message),
		         "rule %s could not evaluate an entry (%s) at %s: it was not checked by "
		         "this rule",
		         r->name, why, e->cursor ? e->cursor : "an entry without a cursor");
	} else {
		size_t n = 0, un = 0;
		const void *exe = jr_get(e, "_EXE", &n), *uid = jr_get(e, "_UID", &un);

		r = &unverified;
		h->severity = SEV_LOW;
		h->category = "intrusion_detection";
		h->type = "info";
		snprintf(h->message, sizeof(h->message),
		         "an entry claims to come from %s but was written by %.*s (uid %.*s): not "
		         "taken for it",
		         forged, exe ? (int)(n > 200 ? 200 : n) : 9,
		         exe ? (const char *)exe : "a program", uid ? (int)(un > 16 ? 16 : un) : 7,
		         uid ? (const char *)uid : "unknown");
	}
	ret = jr_emit(jr, r, e, h, &f, fn, arg);
	if (ret < 0) {
		rl->suppressed = f.suppressed;
		return ret;
	}
	ratelimit_sent(rl, t);
	return 1;
}

/* Empties H for the next rule: the strings only need their first byte cleared (every field
 * of struct hit must be reset here). */
static void hit_reset(struct hit *h, enum severity s)
{
	h->alert = false;
	h->forged = h->action = NULL;
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
	const void *v = jr_get(e, "SYSLOG_IDENTIFIER", &n);

	if (!v)
		return false;
	for (int i = 0; fim[i]; i++)
		if (n == strlen(fim[i]) && memcmp(v, fim[i], n) == 0)
			return field_is(e, "_UID", "0") || !jr_get(e, "_UID", NULL);
	return false;
}

/* The time thresholds count E at: the realtime of the boot's first entry plus E's monotonic
 * time, so that setting the clock back or forward within a boot neither resets nor
 * compresses a window; without a monotonic time, the realtime, never going back within a
 * boot. Another boot starts afresh (counters then see time go back and restart). */
static uint64_t entry_time(struct jrules *jr, const struct jentry *e)
{
	const char *boot = e->boot_id ? e->boot_id : "";
	uint64_t t = e->realtime_usec;

	if (!jr->clock_set || strncmp(boot, jr->boot, sizeof(jr->boot) - 1) != 0) {
		snprintf(jr->boot, sizeof(jr->boot), "%s", boot);
		jr->clock_set = true;
		jr->anchored = e->monotonic_usec && e->realtime_usec >= e->monotonic_usec;
		jr->anchor = jr->anchored ? e->realtime_usec - e->monotonic_usec : 0;
		jr->last_time = t;
		return t;
	}
	if (jr->anchored && e->monotonic_usec)
		t = jr->anchor + e->monotonic_usec;
	if (t < jr->last_time)
		t = jr->last_time;
	jr->last_time = t;
	return t;
}

/* Whether E is the entry whose alerts did not all go out last time. */
static bool is_redo(const struct jrules *jr, const struct jentry *e)
{
	return jr->redo_cursor && e->cursor && e->realtime_usec == jr->redo_time &&
	       strcmp(jr->redo_cursor, e->cursor) == 0;
}

int jrules_apply(struct jrules *jr, const struct jentry *e, journal_alert_fn fn, void *arg,
                 journal_recheck_t *recheck)
{
	int alerts = 0;
	size_t done = is_redo(jr, e) ? jr->redo_rule : 0;
	bool forged_said = false;
	uint64_t t;

	free(jr->redo_cursor);
	jr->redo_cursor = NULL;
	if (own_entry(e))
		return 0;
	t = entry_time(jr, e);

	for (size_t i = 0; i < jr->n; i++) {
		struct rule *r = &jr->rules[i];
		struct hit *h = jr->hit;
		bool m = false;
		int ret = 0;

		hit_reset(h, r->severity);
		jr->match_error = 0;
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
		*recheck |= m ? h->recheck : 0;
		if (i < done) { /* delivered before: only the re-check is wanted again */
			json_decref(h->captures);
			continue;
		}
		if (h->forged && !forged_said) { /* one notice per entry, however many rules */
			forged_said = true;
			ret = notice(jr, NULL, e, t, h->forged, fn, arg);
			alerts += ret > 0 ? ret : 0;
		}
		if (ret >= 0 && jr->match_error) {
			ret = notice(jr, r, e, t, NULL, fn, arg);
			alerts += ret > 0 ? ret : 0;
		}
		if (ret >= 0 && m && h->alert) {
			if (r->severity_set)
				h->severity = r->severity;
			ret = count_and_emit(jr, r, e, h, t, fn, arg);
			alerts += ret > 0 ? ret : 0;
		}
		json_decref(h->captures);
		if (ret < 0) {
			jr->redo_cursor = e->cursor ? strdup(e->cursor) : NULL;
			jr->redo_time = e->realtime_usec;
			jr->redo_rule = i;
			return ret;
		}
	}
	return alerts;
}

/* Moves the counting state of rule FROM into TO when both are the same rule. */
static bool rule_same(const struct rule *a, const struct rule *b)
{
	if (strcmp(a->name, b->name) != 0 || a->kind != b->kind || a->threshold != b->threshold ||
	    a->window != b->window || a->nfields != b->nfields || a->caseless != b->caseless ||
	    !a->msrc != !b->msrc || (a->msrc && strcmp(a->msrc, b->msrc) != 0) ||
	    !a->group_by != !b->group_by || (a->group_by && strcmp(a->group_by, b->group_by) != 0))
		return false;
	for (size_t i = 0; i < a->nfields; i++)
		if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
		    strcmp(a->fields[i].value, b->fields[i].value) != 0)
			return false;
	return true;
}

void jrules_carry(struct jrules *to, struct jrules *from)
{
	/* the counters are hashed with FROM's seed; TO has counted nothing yet */
	to->seed = from->seed;
	to->max_keys = from->max_keys;
	memcpy(to->boot, from->boot, sizeof(to->boot));
	to->clock_set = from->clock_set;
	to->anchored = from->anchored;
	to->anchor = from->anchor;
	to->last_time = from->last_time;
	to->unverified = from->unverified;
	for (size_t i = 0; i < to->n; i++)
		for (size_t k = 0; k < from->n; k++) {
			struct rule *a = &to->rules[i], *b = &from->rules[k];

			if (!b->name || !rule_same(a, b))
				continue;
			table_clear(&a->tab);
			a->tab = b->tab;
			b->tab = (struct table){0};
			a->unevaluated = b->unevaluated;
			break;
		}
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
	free(r->msrc);
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
	free(jr->redo_cursor);
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
		r->msrc = strdup(p->message);
		r->caseless = p->caseless;
		if (!r->msrc)
			return -ENOMEM;
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
