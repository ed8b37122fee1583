/* SPDX-License-Identifier: ISC */
/* Suspicious facts: what about a drift an operator must not miss ("second UID 0 account"). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "baseline/packages.h"
#include "baseline/rootfs.h"
#include "fim/engine/suspect.h"
#include "fim/core/utf8.h"

struct out {
	struct drift *d;
	char *buf;
	size_t size, used;
};

static void __attribute__((format(printf, 2, 3))) fact(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->d->nfacts >= DRIFT_MAX_FACTS || o->used >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->size - o->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->d->facts[o->d->nfacts++] = o->buf + o->used;
	o->used += (size_t)n + 1 > o->size - o->used ? o->size - o->used : (size_t)n + 1;
}

static bool eq(struct bytes b, const char *s)
{
	return b.n == strlen(s) && memcmp(b.p, s, b.n) == 0;
}

static bool has(const struct obj_rec *r, unsigned a)
{
	return r && (r->attrs & ATTR_BIT(a));
}

/* True when attribute A is new: the object was added, or A changed. */
static bool fresh(const struct drift *d, unsigned a)
{
	return has(d->oafter, a) && (d->action == DRIFT_ADDED || (d->changed & ATTR_BIT(a)));
}

/* Elements of list A in the live record that the baseline's did not have. */
static bool next_new(const struct drift *d, unsigned a, size_t *pos, struct bytes *el)
{
	struct bytes before = has(d->obefore, a) ? d->obefore->val[a] : (struct bytes){0};

	while (obj_list_next(d->oafter->val[a], pos, el))
		if (!obj_list_has(before, *el))
			return true;
	return false;
}

static const char *q(struct bytes b, char *buf, size_t size)
{
	return utf8_quote(b.p, b.n, buf, size);
}

/* True when sudoers object ID[0..n) has rules. */
static bool has_rules(const struct suspect_ctx *c, const void *id, size_t n)
{
	const struct obj_rec *r = obj_set_find(c->sudoers, id, n);

	return r && has(r, SUA_RULES) && r->val[SUA_RULES].n > 0;
}

/* Groups whose members may use sudo: "%group" principals with rules, and
 * groups named in a User_Alias that has rules. */
static bool sudo_group(const struct suspect_ctx *c, struct bytes name)
{
	static const char *const usual[] = {"sudo", "wheel", "admin"};
	char id[OBJ_MAX_ID + 2];
	size_t n;

	if (!c->sudoers) {
		for (size_t i = 0; i < ARRAY_SIZE(usual); i++)
			if (eq(name, usual[i]))
				return true;
		return false;
	}
	if (name.n + 1 > OBJ_MAX_ID)
		return false;
	id[0] = '%';
	memcpy(id + 1, name.p, name.n);
	if (has_rules(c, id, name.n + 1))
		return true;
	n = obj_set_count(c->sudoers);
	for (size_t i = 0; i < n; i++) {
		const struct obj_rec *r = obj_set_at(c->sudoers, i);
		static const char prefix[] = "User_Alias ";

		if (r->id.n <= sizeof(prefix) - 1 || memcmp(r->id.p, prefix, sizeof(prefix) - 1) ||
		    !has(r, SUA_MEMBERS) ||
		    !obj_list_has(r->val[SUA_MEMBERS],
		                  (struct bytes){(const uint8_t *)id, name.n + 1}))
			continue;
		/* the alias itself is the principal of a rule */
		if (has_rules(c, r->id.p + sizeof(prefix) - 1, r->id.n - (sizeof(prefix) - 1)))
			return true;
	}
	return false;
}

static bool shell_is_login(struct bytes sh)
{
	static const char *const none[] = {"nologin", "false"};
	const uint8_t *slash = sh.n ? memrchr(sh.p, '/', sh.n) : NULL;
	struct bytes base =
	        slash ? (struct bytes){slash + 1, sh.n - (size_t)(slash + 1 - sh.p)} : sh;

	for (size_t i = 0; i < ARRAY_SIZE(none); i++)
		if (eq(base, none[i]))
			return false;
	return true; /* an empty shell means /bin/sh */
}

static void user_facts(const struct suspect_ctx *c, struct drift *d, struct out *o)
{
	const struct obj_rec *a = d->oafter;
	struct bytes el;
	size_t pos = 0;
	char b[256];

	if (fresh(d, UA_UID) && eq(a->val[UA_UID], "0") && !eq(d->id, "root"))
		fact(o, "a second account with UID 0");
	if (fresh(d, UA_PASSWORD) && eq(obj_secret_state(a->val[UA_PASSWORD]), "empty"))
		fact(o, "an empty password: anyone can log in as this account");
	if (d->action == DRIFT_CHANGED && (d->changed & ATTR_BIT(UA_SHELL)) &&
	    has(d->obefore, UA_SHELL) && !shell_is_login(d->obefore->val[UA_SHELL]) &&
	    shell_is_login(a->val[UA_SHELL]))
		fact(o, "an account that could not log in was given a shell");
	if (has(a, UA_GROUPS))
		while (next_new(d, UA_GROUPS, &pos, &el))
			if (sudo_group(c, el))
				fact(o, "joined the sudo-capable group %s", q(el, b, sizeof(b)));
	pos = 0;
	if (has(a, UA_AUTHORIZED_KEYS) && has(a, UA_UID) && eq(a->val[UA_UID], "0") &&
	    next_new(d, UA_AUTHORIZED_KEYS, &pos, &el))
		fact(o, "an SSH key was added to a UID 0 account");
}

static void group_facts(const struct suspect_ctx *c, struct drift *d, struct out *o)
{
	const struct obj_rec *a = d->oafter;
	struct bytes el;
	size_t pos = 0;
	char b[256];

	if (fresh(d, GA_GID) && eq(a->val[GA_GID], "0") && !eq(d->id, "root"))
		fact(o, "a second group with GID 0");
	if (has(a, GA_MEMBERS) && sudo_group(c, d->id))
		while (next_new(d, GA_MEMBERS, &pos, &el))
			fact(o, "%s is a new member of a sudo-capable group", q(el, b, sizeof(b)));
}

/* Why the program a command line starts is risky, or NULL: it lives in a
 * temporary directory, or it or a directory above it is world-writable. */
static const char *risky_command(const struct suspect_ctx *c, struct bytes cmd, bool unit,
                                 char *path, size_t size)
{
	static const char *const tmp[] = {"/tmp/", "/var/tmp/", "/dev/shm/"};
	size_t i = 0, n;
	struct stat st;

	/* systemd's prefixes: @ - : + ! */
	while (unit && i < cmd.n && strchr("@-:+!", cmd.p[i]))
		i++;
	/* %T and %V are systemd's specifiers for /tmp and /var/tmp */
	if (unit && cmd.n - i >= 3 && cmd.p[i] == '%' &&
	    (cmd.p[i + 1] == 'T' || cmd.p[i + 1] == 'V') && cmd.p[i + 2] == '/') {
		n = cmd.n - i < size - 1 ? cmd.n - i : size - 1;
		memcpy(path, cmd.p + i, n);
		path[n] = '\0';
		path[strcspn(path, " \t")] = '\0';
		return "runs a program from a temporary directory";
	}
	for (n = 0; i + n < cmd.n && cmd.p[i + n] != ' ' && cmd.p[i + n] != '\t'; n++)
		;
	if (n == 0 || n >= size || cmd.p[i] != '/')
		return NULL;
	memcpy(path, cmd.p + i, n);
	path[n] = '\0';
	for (size_t k = 0; k < ARRAY_SIZE(tmp); k++)
		if (strncmp(path, tmp[k], strlen(tmp[k])) == 0)
			return "runs a program from a temporary directory";
	for (char *slash = path + n; slash; slash = memrchr(path, '/', (size_t)(slash - path))) {
		char saved = *slash;

		*slash = '\0';
		if (rootfs_stat(c->rootfd, slash == path ? "/" : path, &st) == 0 &&
		    (st.st_mode & S_IWOTH) && !S_ISLNK(st.st_mode)) {
			*slash = saved;
			return "runs a program from a world-writable path";
		}
		*slash = saved;
		if (slash == path)
			break;
	}
	return NULL;
}

/* Words before the command in a cron job element: a 5-field or @keyword
 * schedule, then the user in system crontabs. */
static size_t cron_words(struct bytes job, bool with_user)
{
	size_t sched = job.n && job.p[0] == '@' ? 1 : 5;

	return sched + (with_user ? 1 : 0);
}

/* SKIP: a fixed number of words before the command (anacrontab), or
 * SIZE_MAX for cron jobs (counted per job) with WITH_USER. */
static void command_facts(const struct suspect_ctx *c, struct drift *d, struct out *o,
                          unsigned attr, size_t skip, bool with_user)
{
	struct bytes el;
	size_t pos = 0;
	char path[4096], b[4200];

	if (!has(d->oafter, attr))
		return;
	while (next_new(d, attr, &pos, &el)) {
		struct bytes cmd = el;
		size_t words = skip == SIZE_MAX ? cron_words(el, with_user) : skip;
		const char *why;

		for (size_t w = 0; w < words && cmd.n; w++) {
			const uint8_t *sp = memchr(cmd.p, ' ', cmd.n);
			size_t k = sp ? (size_t)(sp - cmd.p) + 1 : cmd.n;
			cmd.p += k;
			cmd.n -= k;
		}
		why = risky_command(c, cmd, attr == SA_EXEC_START && d->kind == KIND_SERVICE, path,
		                    sizeof(path));
		if (why)
			fact(o, "%s: %s", why, utf8_quote(path, strlen(path), b, sizeof(b)));
	}
}

static void cron_facts(const struct suspect_ctx *c, struct drift *d, struct out *o)
{
	const struct obj_rec *a = d->oafter;

	if (!has(a, CA_JOBS))
		return;
	/* per-user crontabs name no user in their lines; anacrontab has 3 words */
	if (eq(d->id, "/etc/anacrontab"))
		command_facts(c, d, o, CA_JOBS, 3, false);
	else
		command_facts(c, d, o, CA_JOBS, SIZE_MAX, !has(a, CA_USER));
}

static void sudoers_facts(struct drift *d, struct out *o)
{
	struct bytes el;
	size_t pos = 0;

	if (!has(d->oafter, SUA_RULES))
		return;
	while (next_new(d, SUA_RULES, &pos, &el)) {
		if (memmem(el.p, el.n, "NOPASSWD", 8))
			fact(o, "passwordless sudo was granted");
		else if (eq(el, "!authenticate"))
			fact(o, "sudo no longer asks for a password");
	}
}

/* A downgrade, or an operation left unfinished (a broken upgrade). */
static void package_facts(struct drift *d, struct out *o)
{
	char note[512];
	bool downgrade, failed;

	packages_describe(d->obefore, d->oafter, note, sizeof(note), &downgrade, &failed);
	if (downgrade)
		fact(o, "downgraded: an older version may bring back fixed vulnerabilities");
	if (failed)
		fact(o, "a package operation did not finish: the package is %s",
		     (d->oafter->attrs & ATTR_BIT(PA_STATUS)) &&
		                     memmem(d->oafter->val[PA_STATUS].p,
		                            d->oafter->val[PA_STATUS].n, "reinstreq", 9)
		             ? "marked reinst-required"
		             : "half-installed or unconfigured");
}

void suspect_facts(const struct suspect_ctx *c, struct drift *d, char *buf, size_t size)
{
	struct out o = {.d = d, .buf = buf, .size = size};

	if (!d->oafter || d->action == DRIFT_REMOVED)
		return;
	switch (d->kind) {
	case KIND_USER:
		user_facts(c, d, &o);
		break;
	case KIND_GROUP:
		group_facts(c, d, &o);
		break;
	case KIND_SERVICE:
		command_facts(c, d, &o, SA_EXEC_START, 0, false);
		break;
	case KIND_CRON:
		cron_facts(c, d, &o);
		break;
	case KIND_SUDOERS:
		sudoers_facts(d, &o);
		break;
	case KIND_PACKAGE:
		package_facts(d, &o);
		break;
	default:
		break;
	}
}
