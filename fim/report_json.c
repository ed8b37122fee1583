/* SPDX-License-Identifier: ISC */
/* JSON Lines sink: one ECS-shaped object per drift, then one summary line. */
#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "jbytes.h"
#include "log.h"

struct json_priv {
	char host[256];
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

static int emit(struct report *r, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int ret = 0;

	json_decref(o);
	if (!s)
		return -ENOMEM;
	if (fprintf(r->out, "%s\n", s) < 0)
		ret = -EIO;
	free(s);
	return ret;
}

static json_t *event_base(struct report *r, const char *kind, const char *action, const char *type)
{
	struct json_priv *p = r->priv;
	char ts[64];

	json_t *o, *host = json_object();

	timestamp(ts, sizeof(ts));
	/* A host name is whatever bytes root set: it must not stop alerts. */
	jbytes_set(host, "name", p->host, strlen(p->host));
	o = json_pack("{s:s, s:{s:s, s:s, s:s, s:[s], s:[s]}, s:o}", "@timestamp", ts, "event",
	              "kind", kind, "module", "fim", "action", action, "category", "file", "type",
	              type, "host", host);
	return o;
}

static int json_begin(struct report *r, const struct report_info *info)
{
	struct json_priv *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	if (gethostname(p->host, sizeof(p->host) - 1) < 0)
		strcpy(p->host, "localhost");
	p->policy_changed = info->policy_changed;
	r->priv = p;
	return 0;
}

static int json_drift(struct report *r, const struct drift *d)
{
	static const char *const actions[] = {"added", "removed", "changed"};
	static const char *const types[] = {"creation", "deletion", "change"};
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
	return emit(r, o);
}

static int json_error(struct report *r, struct bytes id, int err)
{
	json_t *o = event_base(r, "event", "error", "info");
	json_t *fim = json_object();

	json_object_set_new(json_object_get(o, "event"), "outcome", json_string("failure"));
	json_object_set_new(o, "file", ecs_file(id, NULL));
	json_object_set_new(o, "error", json_pack("{s:s}", "message", log_cause(err)));
	json_object_set_new(fim, "object", json_string("file"));
	jbytes_set(fim, "id", id.p, id.n);
	json_object_set_new(o, "fim", fim);
	return emit(r, o);
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
	int ret = emit(r, json_pack("{s:{s:o}}", "fim", "summary", sum));
	if (fflush(r->out) != 0)
		ret = -EIO;
	return ret;
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
        .end = json_end,
        .free = json_free,
};
