/* SPDX-License-Identifier: ISC */
/* systemd unit files as fim reads them: the settings it records, drop-ins applied, unit names. */
#include <stdio.h>
#include <string.h>

#include "fim/core/common.h"
#include "baseline/services.h"
#include "baseline/services_int.h"

/* ---- the unit file parser ---- */

enum section {
	SEC_NONE,
	SEC_OTHER,
	SEC_SERVICE,
	SEC_TIMER,
	SEC_INSTALL,
};

static const char *const timer_keys[] = {
        "OnCalendar",      "OnActiveSec",       "OnBootSec",     "OnStartupSec",
        "OnUnitActiveSec", "OnUnitInactiveSec", "OnClockChange", "OnTimezoneChange",
};

struct parser {
	struct services_conf *conf;
	services_bad_fn bad;
	void *userdata;
	enum section section;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static void strv_clear(struct services_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct services_strv){0};
}

/* Appends S[0..n); -E2BIG when the list is full (nothing added). */
static int strv_add(struct services_strv *l, const char *s, size_t n)
{
	char **nv;

	if (l->n >= SERVICES_MAX_VALUES || l->bytes + n > SERVICES_MAX_BYTES)
		return -E2BIG;
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	l->v[l->n] = strndup(s, n);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	l->bytes += n;
	return 0;
}

void services_conf_free(struct services_conf *conf)
{
	strv_clear(&conf->exec_start);
	strv_clear(&conf->schedule);
	strv_clear(&conf->alias);
	free(conf->default_instance);
	*conf = (struct services_conf){0};
}

/* Number of whitespace-separated words in V[0..n). */
static unsigned count_words(const char *v, size_t n)
{
	unsigned words = 0;

	for (size_t i = 0; i < n; i++)
		if (!is_ws(v[i]) && (i == 0 || is_ws(v[i - 1])))
			words++;
	return words;
}

static int list_value(struct parser *p, struct services_strv *l, bool *reset, const char *v,
                      size_t n, unsigned line, const char *what)
{
	int r;

	if (n == 0) {
		strv_clear(l);
		*reset = true;
		return 0;
	}
	r = strv_add(l, v, n);
	if (r == -E2BIG && p->bad) {
		char msg[96];

		snprintf(msg, sizeof(msg), "too many %s settings, ignoring this one", what);
		p->bad(p->userdata, line, msg);
		return 0;
	}
	return r;
}

static int install_value(struct services_conf *c, const char *k, size_t kn, const char *v,
                         size_t vn)
{
	static const struct {
		const char *key;
		size_t off;
	} lists[] = {
	        {"WantedBy", offsetof(struct services_conf, wanted_by)},
	        {"RequiredBy", offsetof(struct services_conf, required_by)},
	        {"UpheldBy", offsetof(struct services_conf, upheld_by)},
	        {"Also", offsetof(struct services_conf, also)},
	};
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		unsigned *count = (unsigned *)((char *)c + lists[i].off);

		if (strlen(lists[i].key) != kn || memcmp(lists[i].key, k, kn) != 0)
			continue;
		/* an empty assignment resets the list */
		*count = vn ? *count + count_words(v, vn) : 0;
		return 0;
	}
	if (kn == 5 && memcmp(k, "Alias", 5) == 0) {
		if (vn == 0)
			strv_clear(&c->alias);
		for (size_t i = 0; i < vn && r != -ENOMEM; i++) {
			size_t w = 0;

			while (i + w < vn && !is_ws(v[i + w]))
				w++;
			if (w)
				r = strv_add(&c->alias, v + i, w);
			i += w;
		}
		return r == -ENOMEM ? r : 0;
	}
	if (kn == strlen("DefaultInstance") && memcmp(k, "DefaultInstance", kn) == 0) {
		free(c->default_instance);
		c->default_instance = NULL;
		if (vn && !(c->default_instance = strndup(v, vn)))
			return -ENOMEM;
	}
	return 0;
}

static int assignment(struct parser *p, const char *k, size_t kn, const char *v, size_t vn,
                      unsigned line)
{
	struct services_conf *c = p->conf;

	switch (p->section) {
	case SEC_SERVICE:
		if (kn == 9 && memcmp(k, "ExecStart", 9) == 0)
			return list_value(p, &c->exec_start, &c->exec_reset, v, vn, line,
			                  "ExecStart=");
		return 0;
	case SEC_TIMER:
		for (size_t i = 0; i < ARRAY_SIZE(timer_keys); i++) {
			_cleanup_free_ char *kv = NULL;

			if (strlen(timer_keys[i]) != kn || memcmp(timer_keys[i], k, kn) != 0)
				continue;
			if (vn == 0)
				return list_value(p, &c->schedule, &c->schedule_reset, "", 0, line,
				                  "On*=");
			kv = malloc(kn + 1 + vn);
			if (!kv)
				return -ENOMEM;
			memcpy(kv, k, kn);
			kv[kn] = '=';
			memcpy(kv + kn + 1, v, vn);
			return list_value(p, &c->schedule, &c->schedule_reset, kv, kn + 1 + vn,
			                  line, "On*=");
		}
		return 0;
	case SEC_INSTALL:
		return install_value(c, k, kn, v, vn);
	default:
		return 0; /* other sections, or before any (systemd ignores it too) */
	}
}

static void bad(struct parser *p, unsigned line, const char *msg)
{
	if (p->bad)
		p->bad(p->userdata, line, msg);
}

/* One logical line S[0..n) (continuations joined) that started at LINE. */
static int logical_line(struct parser *p, const char *s, size_t n, unsigned line)
{
	const char *eq;
	size_t kn, vn;

	while (n && is_ws(*s))
		s++, n--;
	while (n && is_ws(s[n - 1]))
		n--;
	if (n == 0 || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		if (n < 2 || s[n - 1] != ']') {
			bad(p, line, "invalid section header");
			p->section = SEC_OTHER; /* what follows belongs to no known section */
			return 0;
		}
		if (n == 9 && memcmp(s, "[Service]", 9) == 0)
			p->section = SEC_SERVICE;
		else if (n == 7 && memcmp(s, "[Timer]", 7) == 0)
			p->section = SEC_TIMER;
		else if (n == 9 && memcmp(s, "[Install]", 9) == 0)
			p->section = SEC_INSTALL;
		else
			p->section = SEC_OTHER;
		return 0;
	}
	eq = memchr(s, '=', n);
	if (!eq) {
		bad(p, line, "neither a section header nor a Key=Value assignment");
		return 0;
	}
	kn = (size_t)(eq - s);
	while (kn && is_ws(s[kn - 1]))
		kn--;
	if (kn == 0) {
		bad(p, line, "assignment without a key");
		return 0;
	}
	eq++;
	vn = n - (size_t)(eq - s);
	while (vn && is_ws(*eq))
		eq++, vn--;
	return assignment(p, s, kn, eq, vn, line);
}

/* True when L[0..n) ends with a backslash that is not itself escaped. */
static bool continues(const char *l, size_t n)
{
	bool escaped = false;

	for (size_t i = 0; i < n; i++)
		escaped = escaped ? false : l[i] == '\\';
	return escaped;
}

int services_parse(const char *buf, size_t len, struct services_conf *conf, services_bad_fn badfn,
                   void *userdata)
{
	struct parser p = {.conf = conf, .bad = badfn, .userdata = userdata};
	_cleanup_free_ char *acc = malloc(SERVICES_MAX_LINE);
	size_t pos = 0, an = 0;
	unsigned lineno = 0, start = 0;
	bool pending = false, overlong = false;
	int r = 0;

	if (!acc)
		return -ENOMEM;
	/* systemd drops a UTF-8 byte order mark; left in, it would hide the first header */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len && r >= 0) {
		const char *l = buf + pos;
		size_t n = 0, skip;

		/* systemd ends a line at "\n", "\r\n", "\r" or NUL */
		while (pos + n < len && l[n] != '\n' && l[n] != '\r' && l[n] != '\0')
			n++;
		skip = n;
		if (pos + skip < len)
			skip += l[n] == '\r' && pos + n + 1 < len && l[n + 1] == '\n' ? 2 : 1;
		pos += skip;
		lineno++;

		/* comment lines are dropped, even in the middle of a continuation */
		{
			size_t i = 0;

			while (i < n && is_ws(l[i]))
				i++;
			if (i < n && (l[i] == '#' || l[i] == ';'))
				continue;
		}
		if (!pending) {
			start = lineno;
			an = 0;
			overlong = false;
		}
		if (an + n > SERVICES_MAX_LINE)
			overlong = true;
		else {
			memcpy(acc + an, l, n);
			an += n;
		}
		pending = continues(l, n);
		if (pending) {
			if (!overlong)
				acc[an - 1] = ' ';
			continue;
		}
		if (overlong)
			bad(&p, start, "line too long");
		else
			r = logical_line(&p, acc, an, start);
	}
	if (r >= 0 && pending) {
		if (overlong)
			bad(&p, start, "line too long");
		else
			r = logical_line(&p, acc, an, start);
	}
	if (r < 0)
		services_conf_free(conf);
	return r;
}

/* Extends or (after a reset in DROP) replaces BASE by DROP; -E2BIG if some did not fit. */
static int strv_apply(struct services_strv *base, bool *base_reset,
                      const struct services_strv *drop, bool drop_reset)
{
	int r = 0;

	if (drop_reset) {
		strv_clear(base);
		*base_reset = true;
	}
	for (size_t i = 0; i < drop->n && r >= 0; i++)
		r = strv_add(base, drop->v[i], strlen(drop->v[i]));
	return r;
}

int services_conf_apply(struct services_conf *base, const struct services_conf *drop)
{
	int r = strv_apply(&base->exec_start, &base->exec_reset, &drop->exec_start,
	                   drop->exec_reset);
	int q = strv_apply(&base->schedule, &base->schedule_reset, &drop->schedule,
	                   drop->schedule_reset);

	if (r == -ENOMEM || q == -ENOMEM)
		return -ENOMEM;
	return r < 0 ? r : q;
}

/* ---- unit names ---- */

/* Not "scope": scopes are only ever made at run time (a login's
 * session-N.scope, a container's), never from a unit file, and would be
 * reported added and removed with every login. */
static const char *const unit_types[] = {
        "service", "socket",    "timer", "path",  "target",
        "mount",   "automount", "swap",  "slice", "device",
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '-' || c == '_' || c == '.' || c == '\\';
}

/* The type suffix of NAME ("service"), or NULL. */
const char *services_unit_type(const char *name, size_t len)
{
	const char *dot = NULL;

	for (size_t i = 0; i < len; i++)
		if (name[i] == '.')
			dot = name + i;
	if (!dot)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(unit_types); i++) {
		size_t tn = strlen(unit_types[i]);

		if ((size_t)(name + len - dot - 1) == tn && memcmp(dot + 1, unit_types[i], tn) == 0)
			return unit_types[i];
	}
	return NULL;
}

bool services_name_valid(const char *name, size_t len)
{
	const char *type = services_unit_type(name, len), *at = NULL;
	size_t stem;

	if (!type || len > UNIT_NAME_MAX)
		return false;
	stem = len - strlen(type) - 1;
	if (stem == 0)
		return false;
	for (size_t i = 0; i < stem; i++) {
		if (name[i] == '@' && !at) {
			at = name + i;
			continue;
		}
		/* the instance may contain '@' too */
		if (!name_char(name[i]) && !(at && name[i] == '@'))
			return false;
	}
	return !at || at > name;
}

/* True for "foo@bar.service"; *tmpl gets "foo@.service" when TMPL is not NULL. */
bool services_instance_of(const char *name, char *tmpl, size_t size)
{
	const char *at = strchr(name, '@'), *dot = strrchr(name, '.');

	if (!at || !dot || dot <= at + 1)
		return false;
	if (tmpl && (size_t)snprintf(tmpl, size, "%.*s%s", (int)(at - name + 1), name, dot) >= size)
		return false;
	return true;
}

bool services_is_template(const char *name)
{
	const char *at = strchr(name, '@'), *dot = strrchr(name, '.');

	return at && dot == at + 1;
}

bool services_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}
