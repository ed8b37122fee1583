/* SPDX-License-Identifier: ISC */
/* JSON Lines sink: one ECS-shaped object per drift, then one summary line. */
#include <jansson.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fim/report/report.h"
#include "fim/core/jbytes.h"
#include "fim/report/jcut.h"
#include "fim/core/error.h"

struct json_priv {
	char host[256];
	char created[64]; /* when the baseline was taken, "" if unknown */
	bool policy_changed;
};

static void timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static bool attr_numeric(unsigned a)
{
	return a == ATTR_UID || a == ATTR_GID || a == ATTR_SIZE || a == ATTR_INODE ||
	       a == ATTR_NLINK;
}

static uint64_t attr_number(const struct file_rec *r, unsigned a)
{
	switch (a) {
	case ATTR_UID:
		return r->uid;
	case ATTR_GID:
		return r->gid;
	case ATTR_SIZE:
		return r->size;
	case ATTR_INODE:
		return r->inode;
	default:
		return r->nlink;
	}
}

static void set_attr(json_t *obj, const struct file_rec *r, unsigned a)
{
	const char *name = attr_name(KIND_FILE, a);
	char small[256];
	int n;

	if (attr_numeric(a)) {
		json_object_set_new(obj, name, json_integer((json_int_t)attr_number(r, a)));
		return;
	}
	n = rec_format_attr(r, a, small, sizeof(small));
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		jbytes_set(obj, name, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big)
		return;
	rec_format_attr(r, a, big, (size_t)n + 1);
	jbytes_set(obj, name, big, (size_t)n);
	free(big);
}

/* Attributes WHICH of R; with NULLS, one that R lacks (a type change
 * gains or loses a link target) is written as null rather than left out. */
json_t *report_json_attrs(const struct file_rec *r, attrset_t which, bool nulls)
{
	json_t *o = json_object();

	for (unsigned a = 0; a < ATTR__FILE_MAX; a++) {
		if (!(which & ATTR_BIT(a)))
			continue;
		if (r->attrs & ATTR_BIT(a))
			set_attr(o, r, a);
		else if (nulls)
			json_object_set_new(o, attr_name(KIND_FILE, a), json_null());
	}
	return o;
}

static const char *ecs_type(uint8_t t)
{
	switch (t) {
	case FT_REG:
		return "file";
	case FT_DIR:
		return "dir";
	case FT_LNK:
		return "symlink";
	default:
		return file_type_name((enum file_type)t);
	}
}

/* ECS file.* fields from the record that describes the object now. */
static json_t *ecs_file(struct bytes id, const struct file_rec *r)
{
	json_t *f = json_object();
	char buf[256];
	const uint8_t *slash = id.n ? memrchr(id.p, '/', id.n) : NULL;

	jbytes_set(f, "path", id.p, id.n);
	if (slash && id.n > 1) {
		jbytes_set(f, "name", slash + 1, id.n - (size_t)(slash + 1 - id.p));
		size_t dn = (size_t)(slash - id.p);
		jbytes_set(f, "directory", dn ? (const void *)id.p : "/", dn ? dn : 1);
	}
	if (!r)
		return f;
	if (r->attrs & ATTR_BIT(ATTR_TYPE))
		json_object_set_new(f, "type", json_string(ecs_type(r->type)));
	if (r->attrs & ATTR_BIT(ATTR_MODE)) {
		snprintf(buf, sizeof(buf), "%04o", r->mode);
		json_object_set_new(f, "mode", json_string(buf));
	}
	if (r->attrs & ATTR_BIT(ATTR_UID))
		json_object_set_new(f, "uid", json_sprintf("%u", r->uid));
	if (r->attrs & ATTR_BIT(ATTR_GID))
		json_object_set_new(f, "gid", json_sprintf("%u", r->gid));
	if (r->attrs & ATTR_BIT(ATTR_SIZE))
		json_object_set_new(f, "size", json_integer((json_int_t)r->size));
	if (r->attrs & ATTR_BIT(ATTR_INODE))
		json_object_set_new(f, "inode", json_sprintf("%llu", (unsigned long long)r->inode));
	if ((r->attrs & ATTR_BIT(ATTR_MTIME)) &&
	    rec_format_attr(r, ATTR_MTIME, buf, sizeof(buf)) > 0)
		json_object_set_new(f, "mtime", json_string(buf));
	if ((r->attrs & ATTR_BIT(ATTR_CTIME)) &&
	    rec_format_attr(r, ATTR_CTIME, buf, sizeof(buf)) > 0)
		json_object_set_new(f, "ctime", json_string(buf));
	if ((r->attrs & ATTR_BIT(ATTR_TARGET)))
		jbytes_set(f, "target_path", r->target.p, r->target.n);
	if ((r->attrs & ATTR_BIT(ATTR_HASH)) &&
	    (r->hash_algo == HASH_SHA256 || r->hash_algo == HASH_SHA512)) {
		json_t *h = json_object();
		json_object_set_new(h, hash_name(r->hash_algo),
		                    jbytes_hex(r->hash, hash_len(r->hash_algo)));
		json_object_set_new(f, "hash", h);
	}
	return f;
}

/* The syslog level a line is prefixed with: as the alert sinks rank drift. */
/*
 * Writes event O (consumed) to OUT as one line, cut to MAX bytes, with
 * "<LEVEL>" in front when PREFIX. The line is written under the stream's
 * lock and flushed at once, so that it is whole whatever shares the stream
 * (log messages take the same lock). Returns 0 or a negative errno.
 */
static int write_line(FILE *out, json_t *o, int level, size_t max, bool prefix)
{
	char pfx[8] = "";
	char *s;
	int ret = 0;

	if (!max)
		max = REPORT_JSON_MAX_LINE;
	if (prefix)
		snprintf(pfx, sizeof(pfx), "<%d>", level & 7);
	s = jcut_dumps(o, max - strlen(pfx));
	json_decref(o);
	if (!s)
		return -ENOMEM;
	flockfile(out);
	errno = 0;
	if (fprintf(out, "%s%s\n", pfx, s) < 0 || fflush(out) != 0)
		ret = errno ? -errno : -EIO;
	funlockfile(out);
	free(s);
	return ret;
}

static int emit(struct report *r, json_t *o, int level)
{
	return write_line(r->out, o, level, r->max_line, r->level_prefix);
}

static json_t *event_base_cat(struct report *r, const char *kind, const char *action,
                              const char *category, const char *type)
{
	struct json_priv *p = r->priv;
	char ts[64];

	json_t *o, *host = json_object();

	timestamp(ts, sizeof(ts));
	/* A host name is whatever bytes root set: it must not stop alerts. */
	jbytes_set(host, "name", p->host, strlen(p->host));
	o = json_pack("{s:s, s:{s:s, s:s, s:s, s:[s], s:[s]}, s:o}", "@timestamp", ts, "event",
	              "kind", kind, "module", "fim", "action", action, "category", category, "type",
	              type, "host", host);
	return o;
}

static json_t *event_base(struct report *r, const char *kind, const char *action, const char *type)
{
	return event_base_cat(r, kind, action, "file", type);
}

/* --- objects other than files --- */

static bool obj_numeric(enum fim_kind kind, unsigned a)
{
	return (kind == KIND_USER && (a == UA_UID || a == UA_GID)) ||
	       (kind == KIND_GROUP && a == GA_GID);
}

static json_t *obj_attr_json(const struct obj_rec *r, unsigned a)
{
	unsigned fl = attr_flags(r->kind, a);
	struct bytes v = report_obj_value(r, a), el;
	size_t pos = 0;
	json_t *arr;

	if (fl & AF_LIST) {
		arr = json_array();
		while (obj_list_next(v, &pos, &el))
			json_array_append_new(arr, jbytes_new(el.p, el.n));
		return arr;
	}
	if (obj_numeric(r->kind, a) && v.n > 0 && v.n < 11) {
		char t[12];
		char *end;
		unsigned long long n;

		memcpy(t, v.p, v.n);
		t[v.n] = '\0';
		n = strtoull(t, &end, 10);
		if (*end == '\0')
			return json_integer((json_int_t)n);
	}
	return jbytes_new(v.p, v.n);
}

/* Attributes WHICH of R (null where R lacks one and NULLS). A non-UTF-8
 * scalar also gets a KEY_hex sibling, as for files. */
json_t *report_json_obj_attrs(const struct obj_rec *r, attrset_t which, bool nulls)
{
	json_t *o = json_object();

	for (unsigned a = 0; a < attr_count(r->kind); a++) {
		const char *name = attr_name(r->kind, a);

		if (!(which & ATTR_BIT(a)))
			continue;
		if (!(r->attrs & ATTR_BIT(a))) {
			if (nulls)
				json_object_set_new(o, name, json_null());
		} else if (attr_flags(r->kind, a) & AF_LIST || obj_numeric(r->kind, a)) {
			json_object_set_new(o, name, obj_attr_json(r, a));
		} else {
			struct bytes v = report_obj_value(r, a);
			jbytes_set(o, name, v.p, v.n);
		}
	}
	return o;
}

/* For changed lists: {"attr":{"added":[...],"removed":[...]}}. */
static json_t *obj_delta_json(const struct drift *d)
{
	json_t *delta = json_object();

	for (unsigned a = 0; a < attr_count(d->kind); a++) {
		json_t *add, *rem;
		struct bytes el;
		size_t pos = 0;

		if (!(d->changed & ATTR_BIT(a)) || !(attr_flags(d->kind, a) & AF_LIST))
			continue;
		add = json_array();
		rem = json_array();
		while (obj_list_next(d->oafter->val[a], &pos, &el))
			if (!obj_list_has(d->obefore->val[a], el))
				json_array_append_new(add, jbytes_new(el.p, el.n));
		pos = 0;
		while (obj_list_next(d->obefore->val[a], &pos, &el))
			if (!obj_list_has(d->oafter->val[a], el))
				json_array_append_new(rem, jbytes_new(el.p, el.n));
		json_object_set_new(delta, attr_name(d->kind, a),
		                    json_pack("{s:o, s:o}", "added", add, "removed", rem));
	}
	return delta;
}

static const char *obj_category(enum fim_kind kind)
{
	if (kind == KIND_PACKAGE)
		return "package";
	return kind == KIND_USER || kind == KIND_GROUP ? "iam" : "configuration";
}

static const char *obj_type(enum fim_kind kind, enum drift_action action)
{
	if (kind == KIND_USER)
		return "user";
	if (kind == KIND_GROUP)
		return "group";
	if (kind == KIND_PACKAGE)
		return action == DRIFT_ADDED     ? "installation"
		       : action == DRIFT_REMOVED ? "deletion"
		                                 : "change";
	return action == DRIFT_ADDED ? "creation" : action == DRIFT_REMOVED ? "deletion" : "change";
}

/* ECS fields of the object: user.*, group.*, service.*, file.* for cron. */
static void obj_ecs(json_t *o, const struct drift *d)
{
	const struct obj_rec *now = d->oafter ? d->oafter : d->obefore;
	json_t *e = json_object();

	switch (d->kind) {
	case KIND_USER:
		jbytes_set(e, "name", d->id.p, d->id.n);
		if (now->attrs & ATTR_BIT(UA_UID))
			jbytes_set(e, "id", now->val[UA_UID].p, now->val[UA_UID].n);
		if (now->attrs & ATTR_BIT(UA_GID)) {
			json_t *g = json_object();
			jbytes_set(g, "id", now->val[UA_GID].p, now->val[UA_GID].n);
			json_object_set_new(e, "group", g);
		}
		json_object_set_new(o, "user", e);
		break;
	case KIND_GROUP:
		jbytes_set(e, "name", d->id.p, d->id.n);
		if (now->attrs & ATTR_BIT(GA_GID))
			jbytes_set(e, "id", now->val[GA_GID].p, now->val[GA_GID].n);
		json_object_set_new(o, "group", e);
		break;
	case KIND_SERVICE:
		jbytes_set(e, "name", d->id.p, d->id.n);
		json_object_set_new(o, "service", e);
		break;
	case KIND_CRON:
		jbytes_set(e, "path", d->id.p, d->id.n);
		json_object_set_new(o, "file", e);
		break;
	case KIND_PACKAGE: {
		const uint8_t *colon = memchr(d->id.p, ':', d->id.n);

		jbytes_set(e, "name", d->id.p, colon ? (size_t)(colon - d->id.p) : d->id.n);
		if (now->attrs & ATTR_BIT(PA_VERSION))
			jbytes_set(e, "version", now->val[PA_VERSION].p, now->val[PA_VERSION].n);
		if (now->attrs & ATTR_BIT(PA_ARCHITECTURE))
			jbytes_set(e, "architecture", now->val[PA_ARCHITECTURE].p,
			           now->val[PA_ARCHITECTURE].n);
		json_object_set_new(o, "package", e);
		break;
	}
	default:
		json_decref(e);
		break;
	}
}

static json_t *obj_rule_json(const struct policy_rule *rule)
{
	char buf[600];

	if (strcmp(rule->pattern, "*") == 0)
		return json_string(kind_plural(rule->kind));
	snprintf(buf, sizeof(buf), "%s name=%s", kind_plural(rule->kind), rule->pattern);
	return jbytes_new(buf, strlen(buf));
}

static int json_obj_drift(struct report *r, const struct drift *d)
{
	static const char *const actions[] = {"added", "removed", "changed"};
	json_t *o = event_base_cat(r, "alert", actions[d->action], obj_category(d->kind),
	                           obj_type(d->kind, d->action));
	json_t *ev = json_object_get(o, "event");
	json_t *fim = json_object();
	enum severity sev = drift_severity(d);
	const struct obj_rec *now = d->oafter ? d->oafter : d->obefore;

	if (d->kind == KIND_USER || d->kind == KIND_GROUP)
		json_array_append_new(json_object_get(ev, "type"),
		                      json_string(obj_type(KIND_CRON, d->action)));
	json_object_set_new(ev, "severity", json_integer(report_severity_score(sev)));
	obj_ecs(o, d);
	json_object_set_new(fim, "object", json_string(kind_name(d->kind)));
	jbytes_set(fim, "id", d->id.p, d->id.n);
	if (d->rule)
		json_object_set_new(fim, "rule", obj_rule_json(d->rule));
	json_object_set_new(fim, "severity", json_string(severity_name(sev)));
	if (d->action == DRIFT_CHANGED) {
		json_t *ch = json_array();
		for (unsigned a = 0; a < attr_count(d->kind); a++)
			if (d->changed & ATTR_BIT(a))
				json_array_append_new(ch, json_string(attr_name(d->kind, a)));
		json_object_set_new(fim, "changed", ch);
		json_object_set_new(fim, "before",
		                    report_json_obj_attrs(d->obefore, d->changed, true));
		json_object_set_new(fim, "after",
		                    report_json_obj_attrs(d->oafter, d->changed, true));
		json_object_set_new(fim, "delta", obj_delta_json(d));
	} else {
		json_object_set_new(fim, d->oafter ? "after" : "before",
		                    report_json_obj_attrs(now, attr_all(d->kind), false));
	}
	if (d->nfacts) {
		json_t *f = json_array();
		for (size_t i = 0; i < d->nfacts; i++)
			json_array_append_new(f, jbytes_new(d->facts[i], strlen(d->facts[i])));
		json_object_set_new(fim, "suspicious", f);
	}
	if (d->note)
		json_object_set_new(fim, "note", json_string(d->note));
	json_object_set_new(o, "fim", fim);
	return emit(r, o, report_severity_level(sev));
}

static int json_problem(struct report *r, enum fim_kind kind, enum severity sev, const char *path,
                        unsigned line, int err, const char *msg)
{
	json_t *o = event_base_cat(r, "event", "error", obj_category(kind), "info");
	json_t *fim = json_object(), *f = json_object();

	json_object_set_new(json_object_get(o, "event"), "outcome", json_string("failure"));
	/* what could not be read may hide drift of the rule's objects */
	json_object_set_new(json_object_get(o, "event"), "severity",
	                    json_integer(report_severity_score(sev)));
	json_object_set_new(fim, "severity", json_string(severity_name(sev)));
	jbytes_set(f, "path", path, strlen(path));
	json_object_set_new(o, "file", f);
	json_object_set_new(o, "error", json_object());
	jbytes_set(json_object_get(o, "error"), "message", msg, strlen(msg));
	json_object_set_new(fim, "object", json_string(kind_name(kind)));
	jbytes_set(fim, "source", path, strlen(path));
	if (line)
		json_object_set_new(fim, "line", json_integer(line));
	json_object_set_new(o, "fim", fim);
	return emit(r, o, LOG_WARNING);
}

static int json_begin(struct report *r, const struct report_info *info)
{
	struct json_priv *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	if (gethostname(p->host, sizeof(p->host) - 1) < 0)
		strcpy(p->host, "localhost");
	p->policy_changed = info->policy_changed;
	if (info->created)
		snprintf(p->created, sizeof(p->created), "%s", info->created);
	r->priv = p;
	return 0;
}

static int json_drift(struct report *r, const struct drift *d)
{
	static const char *const actions[] = {"added", "removed", "changed"};
	static const char *const types[] = {"creation", "deletion", "change"};

	if (d->kind != KIND_FILE)
		return json_obj_drift(r, d);
	json_t *o = event_base(r, "alert", actions[d->action], types[d->action]);
	json_t *ev = json_object_get(o, "event");
	json_t *fim = json_object();
	const struct file_rec *now = d->after ? d->after : d->before;
	enum severity sev = d->rule ? d->rule->severity : SEV_MEDIUM;

	json_object_set_new(ev, "severity", json_integer(report_severity_score(sev)));
	json_object_set_new(o, "file", ecs_file(d->id, now));
	json_object_set_new(fim, "object", json_string("file"));
	jbytes_set(fim, "id", d->id.p, d->id.n);
	if (d->rule)
		json_object_set_new(fim, "rule",
		                    jbytes_new(d->rule->pattern, strlen(d->rule->pattern)));
	json_object_set_new(fim, "severity", json_string(severity_name(sev)));
	if (d->action == DRIFT_CHANGED) {
		json_t *ch = json_array();
		for (unsigned a = 0; a < ATTR__FILE_MAX; a++)
			if (d->changed & ATTR_BIT(a))
				json_array_append_new(ch, json_string(attr_name(KIND_FILE, a)));
		json_object_set_new(fim, "changed", ch);
		json_object_set_new(fim, "before", report_json_attrs(d->before, d->changed, true));
		json_object_set_new(fim, "after", report_json_attrs(d->after, d->changed, true));
	} else if (d->action == DRIFT_ADDED) {
		json_object_set_new(fim, "after",
		                    report_json_attrs(d->after, ATTRS_ALL_FILE, false));
	} else {
		json_object_set_new(fim, "before",
		                    report_json_attrs(d->before, ATTRS_ALL_FILE, false));
	}
	if (d->note)
		json_object_set_new(fim, "note", json_string(d->note));
	json_object_set_new(o, "fim", fim);
	return emit(r, o, report_severity_level(sev));
}

static int json_error(struct report *r, struct bytes id, int err)
{
	json_t *o = event_base(r, "event", "error", "info");
	json_t *fim = json_object();

	json_object_set_new(json_object_get(o, "event"), "outcome", json_string("failure"));
	json_object_set_new(o, "file", ecs_file(id, NULL));
	json_object_set_new(o, "error", json_pack("{s:s}", "message", err_cause(err)));
	json_object_set_new(fim, "object", json_string("file"));
	jbytes_set(fim, "id", id.p, id.n);
	json_object_set_new(o, "fim", fim);
	return emit(r, o, LOG_WARNING);
}

static int json_end(struct report *r, const struct report_summary *s)
{
	struct json_priv *p = r->priv;
	json_t *sum = json_pack("{s:I, s:I, s:I, s:I, s:I}", "scanned", (json_int_t)s->scanned,
	                        "added", (json_int_t)s->added, "removed", (json_int_t)s->removed,
	                        "changed", (json_int_t)s->changed, "errors", (json_int_t)s->errors);

	/* A SIEM must see that the policy moved, not only the counts. */
	if (p->policy_changed || s->newly_in_scope || s->out_of_scope) {
		json_object_set_new(sum, "policy_changed", json_boolean(p->policy_changed));
		json_object_set_new(sum, "newly_in_scope",
		                    json_integer((json_int_t)s->newly_in_scope));
		json_object_set_new(sum, "out_of_scope", json_integer((json_int_t)s->out_of_scope));
	}
	/* which baseline this was: an older one put back shows in the trail */
	if (p->created[0])
		json_object_set_new(sum, "baseline", json_pack("{s:s}", "created", p->created));
	return emit(r, json_pack("{s:{s:o}}", "fim", "summary", sum), LOG_INFO);
}

int report_json_message(FILE *out, const char *level, const char *text, size_t max, bool prefix)
{
	int lv = strcmp(level, "error") == 0     ? LOG_ERR
	         : strcmp(level, "warning") == 0 ? LOG_WARNING
	                                         : LOG_INFO;
	char ts[64], host[256] = "";
	json_t *o, *h = json_object();

	timestamp(ts, sizeof(ts));
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "localhost");
	jbytes_set(h, "name", host, strlen(host));
	o = json_pack("{s:s, s:{s:s, s:s, s:s, s:[s], s:[s]}, s:o, s:{s:s}, s:o}", "@timestamp", ts,
	              "event", "kind", "event", "module", "fim", "action", "message", "category",
	              "host", "type", "info", "host", h, "log", "level", level, "message",
	              jbytes_new(text, strlen(text)));
	if (!o)
		return -ENOMEM;
	return write_line(out, o, lv, max, prefix);
}

static void json_free(struct report *r)
{
	free(r->priv);
	r->priv = NULL;
}

const struct report_ops report_json = {
        .name = "json",
        .begin = json_begin,
        .drift = json_drift,
        .error = json_error,
        .problem = json_problem,
        .end = json_end,
        .free = json_free,
};
