/* SPDX-License-Identifier: ISC */
/* Journal rules: the alert event (ECS fields, fim.journal) of a rule that fired. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "fim/watch/journal_rules_int.h"
#include "fim/core/jbytes.h"
#include "fim/report/report.h"

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

	v = jr_get(e, "_COMM", &n);
	if (!v)
		v = jr_get(e, "SYSLOG_IDENTIFIER", &n);
	if (v)
		json_object_set_new(child(ev, "process"), "name", jbytes_new(v, n > 64 ? 64 : n));
	v = jr_get(e, "_PID", &n);
	if (v && n > 0 && n < 11 && strspn(v, "0123456789") >= n) {
		jr_copy(buf, sizeof(buf), v, n);
		json_object_set_new(child(ev, "process"), "pid", json_integer(atoll(buf)));
	}
	v = jr_get(e, "_UID", &n);
	if (v && n > 0 && n < 11 && strspn(v, "0123456789") >= n) {
		jr_copy(buf, sizeof(buf), v, n);
		json_object_set_new(jj, "uid", json_integer(atoll(buf)));
	}
	v = jr_get(e, "SYSLOG_IDENTIFIER", &n);
	if (v)
		json_object_set_new(jj, "identifier", jbytes_new(v, n > 64 ? 64 : n));
	v = jr_get(e, "_HOSTNAME", &n);
	if (v)
		json_object_set_new(jj, "hostname", jbytes_new(v, n > 256 ? 256 : n));
	v = jr_get(e, "_EXE", &n);
	if (v)
		json_object_set_new(jj, "exe", jbytes_new(v, n > 256 ? 256 : n));
	v = jr_get(e, "_SYSTEMD_UNIT", &n);
	if (v)
		json_object_set_new(jj, "unit", jbytes_new(v, n > 256 ? 256 : n));
	v = jr_get(e, "MESSAGE", &n);
	if (v)
		json_object_set_new(jj, "message",
		                    jbytes_new(v, n > JSON_MESSAGE ? JSON_MESSAGE : n));
	if (e->cursor)
		json_object_set_new(jj, "cursor", json_string(e->cursor));
	jr_rfc3339(e->realtime_usec, true, buf, sizeof(buf));
	json_object_set_new(jj, "time", json_string(buf));
}

enum ecs_type { ECS_KEYWORD, ECS_IP, ECS_PORT, ECS_PID, ECS_ID };

/* The value of capture V as ECS field type T wants it (new reference), or NULL when it is
 * not one: an index template would reject the whole document for it. */
static json_t *ecs_value(json_t *v, enum ecs_type t)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	unsigned char addr[sizeof(struct in6_addr)];
	unsigned long long x = 0;

	if (!s || n == 0 || strlen(s) != n)
		return NULL;
	if (t == ECS_KEYWORD)
		return json_incref(v);
	if (t == ECS_IP)
		return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1
		               ? json_incref(v)
		               : NULL;
	if (n > 10 || strspn(s, "0123456789") != n)
		return NULL;
	for (size_t i = 0; i < n; i++)
		x = x * 10 + (unsigned)(s[i] - '0');
	if (t == ECS_ID) /* user.id is a keyword holding a uid */
		return x <= UINT32_MAX ? json_incref(v) : NULL;
	if ((t == ECS_PORT && x > 65535) || (t == ECS_PID && (x == 0 || x > INT32_MAX)))
		return NULL;
	return json_integer((json_int_t)x);
}

/* ECS fields the ECS names of custom captures map to ("source_ip" -> source.ip), when the
 * value fits the field's type; otherwise it stays in fim.captures alone. */
static void capture_ecs(json_t *ev, json_t *caps)
{
	static const struct {
		const char *capture, *obj, *sub, *key;
		enum ecs_type type;
	} map[] = {
	        {"source_ip", "source", NULL, "ip", ECS_IP},
	        {"source_port", "source", NULL, "port", ECS_PORT},
	        {"destination_ip", "destination", NULL, "ip", ECS_IP},
	        {"destination_port", "destination", NULL, "port", ECS_PORT},
	        {"user_name", "user", NULL, "name", ECS_KEYWORD},
	        {"user_id", "user", NULL, "id", ECS_ID},
	        {"user_target_name", "user", "target", "name", ECS_KEYWORD},
	        {"group_name", "group", NULL, "name", ECS_KEYWORD},
	        {"process_name", "process", NULL, "name", ECS_KEYWORD},
	        {"process_pid", "process", NULL, "pid", ECS_PID},
	        {"service_name", "service", NULL, "name", ECS_KEYWORD},
	        {"file_path", "file", NULL, "path", ECS_KEYWORD},
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		json_t *v = ecs_value(json_object_get(caps, map[i].capture), map[i].type), *o;

		if (!v)
			continue;
		o = child(ev, map[i].obj);
		if (map[i].sub)
			o = child(o, map[i].sub);
		json_object_set_new(o, map[i].key, v);
	}
}

static json_t *alert_event(const struct jrules *jr, const struct rule *r, const struct jentry *e,
                           struct hit *h, const struct fire *f)
{
	json_t *ev = json_object(), *event = json_object(), *fim = json_object(),
	       *jj = json_object();
	char now[64];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	jr_rfc3339((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000, false, now,
	           sizeof(now));
	json_object_set_new(ev, "@timestamp", json_string(now));
	json_object_set_new(event, "kind", json_string("alert"));
	json_object_set_new(event, "module", json_string("fim"));
	json_object_set_new(event, "action", json_string(h->action ? h->action : r->name));
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
		jr_rfc3339(f->first, true, first, sizeof(first));
		json_object_set_new(jj, "first", json_string(first));
		if (h->klen && !f->evicted)
			json_object_set_new(jj, "group", jbytes_new(h->key, h->klen));
	}
	if (f->evicted)
		json_object_set_new(jj, "evicted", json_integer((json_int_t)f->evicted));
	if (f->suppressed)
		json_object_set_new(jj, "suppressed", json_integer((json_int_t)f->suppressed));
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

int jr_emit(const struct jrules *jr, const struct rule *r, const struct jentry *e, struct hit *h,
            const struct fire *f, journal_alert_fn fn, void *arg)
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
