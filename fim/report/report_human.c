/* SPDX-License-Identifier: ISC */
/* Human report: a summary first, then changed, added and removed objects. */
#include <string.h>

#include "fim/report/report.h"
#include "fim/core/utf8.h"
#include "fim/core/error.h"

enum { SEC_CHANGED, SEC_ADDED, SEC_REMOVED, SEC_ERRORS, SEC__MAX };

/* Details are spooled to temporary files so a huge drift costs no memory
 * and the summary can still come first. */
struct human_priv {
	FILE *sec[SEC__MAX];
	uint64_t count[SEC__MAX];
	struct report_info info;
};

static const char *const sec_title[SEC__MAX] = {"Changed", "Added", "Removed", "Unreadable"};

static const char *col(const struct report *r, const char *code)
{
	return r->color ? code : "";
}
#define RED    "\033[31m"
#define GREEN  "\033[32m"
#define YELLOW "\033[33m"
#define BOLD   "\033[1m"
#define DIM    "\033[2m"
#define RESET  "\033[0m"

static int human_begin(struct report *r, const struct report_info *info)
{
	struct human_priv *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	r->priv = p;
	p->info = *info;
	for (int i = 0; i < SEC__MAX; i++) {
		p->sec[i] = tmpfile();
		if (!p->sec[i])
			return -errno;
	}
	return 0;
}

/* Attribute value as text, quoted for display. */
static void value_text(const struct file_rec *rec, unsigned a, char *out, size_t size)
{
	char raw[1024];
	int n = rec_format_attr(rec, a, raw, sizeof(raw));

	if (n < 0) {
		snprintf(out, size, "(none)");
		return;
	}
	if ((size_t)n >= sizeof(raw))
		n = sizeof(raw) - 1;
	if (a == ATTR_UID || a == ATTR_GID || a == ATTR_MODE || a == ATTR_SIZE || a == ATTR_INODE ||
	    a == ATTR_NLINK || a == ATTR_HASH || a == ATTR_TYPE || a == ATTR_MTIME ||
	    a == ATTR_CTIME || a == ATTR_ATIME)
		snprintf(out, size, "%s", raw);
	else if (n == 0)
		snprintf(out, size, "(none)");
	else {
		char q[2048];
		snprintf(out, size, "\"%s\"", utf8_quote(raw, (size_t)n, q, sizeof(q)));
	}
}

/* One-line description of an object: "file 0644 0:0 1234 bytes". */
static void describe(const struct file_rec *rec, char *out, size_t size)
{
	char t[64], m[16] = "";

	rec_format_attr(rec, ATTR_TYPE, t, sizeof(t));
	if (rec->attrs & ATTR_BIT(ATTR_MODE))
		snprintf(m, sizeof(m), " %04o", rec->mode);
	if (rec->type == FT_REG && (rec->attrs & ATTR_BIT(ATTR_SIZE)))
		snprintf(out, size, "%s%s %u:%u, %llu bytes", t, m, rec->uid, rec->gid,
		         (unsigned long long)rec->size);
	else
		snprintf(out, size, "%s%s %u:%u", t, m, rec->uid, rec->gid);
}

static void obj_value(const struct obj_rec *rec, unsigned a, char *out, size_t size)
{
	struct bytes v = report_obj_value(rec, a);

	if (v.n == 0)
		snprintf(out, size, "(empty)");
	else
		utf8_quote(v.p, v.n, out, size);
}

/* The element of list A in REC whose key is KEY, or an empty span. */
static struct bytes keyed(const struct obj_rec *rec, unsigned a, struct bytes key)
{
	struct bytes el;
	size_t pos = 0;

	while (obj_list_next(rec->val[a], &pos, &el)) {
		struct bytes k = obj_elem_key(el);
		if (k.n == key.n && memcmp(k.p, key.p, k.n) == 0)
			return el;
	}
	return (struct bytes){0};
}

/* "- removed", "+ added" and, for keyed lists, "~ changed (was: ...)" lines. */
static void list_delta(FILE *f, const struct obj_rec *b, const struct obj_rec *a, unsigned attr)
{
	bool is_keyed = attr_flags(a->kind, attr) & AF_KEYED, any = false;
	const char *name = attr_name(a->kind, attr);
	char x[2048], y[2048];
	struct bytes el;
	size_t pos = 0;

	while (obj_list_next(b->val[attr], &pos, &el)) {
		if (obj_list_has(a->val[attr], el))
			continue;
		any = true;
		if (is_keyed && keyed(a, attr, obj_elem_key(el)).n)
			continue; /* shown as changed below */
		fprintf(f, "      %-15s - %s\n", name, utf8_quote(el.p, el.n, x, sizeof(x)));
		name = "";
	}
	pos = 0;
	while (obj_list_next(a->val[attr], &pos, &el)) {
		struct bytes old;

		if (obj_list_has(b->val[attr], el))
			continue;
		any = true;
		old = is_keyed ? keyed(b, attr, obj_elem_key(el)) : (struct bytes){0};
		if (old.n)
			fprintf(f, "      %-15s ~ %s (was: %s)\n", name,
			        utf8_quote(el.p, el.n, x, sizeof(x)),
			        utf8_quote(old.p, old.n, y, sizeof(y)));
		else
			fprintf(f, "      %-15s + %s\n", name,
			        utf8_quote(el.p, el.n, x, sizeof(x)));
		name = "";
	}
	if (!any)
		fprintf(f, "      %-15s (same entries, new order)\n", name);
}

static void obj_changed(FILE *f, const struct drift *d)
{
	const struct obj_rec *b = d->obefore, *a = d->oafter;
	char x[2048], y[2048];

	for (unsigned i = 0; i < attr_count(d->kind); i++) {
		unsigned fl = attr_flags(d->kind, i);

		if (!(d->changed & ATTR_BIT(i)))
			continue;
		if (fl & AF_LIST) {
			list_delta(f, b, a, i);
			continue;
		}
		obj_value(b, i, x, sizeof(x));
		obj_value(a, i, y, sizeof(y));
		fprintf(f, "      %-15s %s -> %s%s\n", attr_name(d->kind, i), x, y,
		        (fl & AF_SECRET) && strcmp(x, y) == 0 ? " (the secret changed)" : "");
	}
}

/* Every attribute of an added or removed object; list elements one per line. */
static void obj_whole(FILE *f, const struct obj_rec *rec)
{
	char x[2048];

	for (unsigned i = 0; i < attr_count(rec->kind); i++) {
		const char *name = attr_name(rec->kind, i);
		struct bytes el;
		size_t pos = 0;

		if (!(rec->attrs & ATTR_BIT(i)))
			continue;
		if (!(attr_flags(rec->kind, i) & AF_LIST)) {
			obj_value(rec, i, x, sizeof(x));
			fprintf(f, "      %-15s %s\n", name, x);
			continue;
		}
		if (rec->val[i].n == 0)
			fprintf(f, "      %-15s (none)\n", name);
		while (obj_list_next(rec->val[i], &pos, &el)) {
			fprintf(f, "      %-15s %s\n", name, utf8_quote(el.p, el.n, x, sizeof(x)));
			name = "";
		}
	}
}

static int human_obj_drift(struct report *r, const struct drift *d, int sec)
{
	struct human_priv *p = r->priv;
	FILE *f = p->sec[sec];
	char id[2048], names[512] = "";

	utf8_quote(d->id.p, d->id.n, id, sizeof(id));
	if (d->action == DRIFT_CHANGED)
		attr_format_set(d->kind, d->changed, names, sizeof(names));
	fprintf(f, "  %s %s  %s[%s]%s%s%s\n", kind_name(d->kind), id, col(r, DIM),
	        severity_name(drift_severity(d)), col(r, RESET), names[0] ? "  " : "", names);
	if (d->action == DRIFT_CHANGED)
		obj_changed(f, d);
	else if (r->verbose > 0)
		obj_whole(f, d->oafter ? d->oafter : d->obefore);
	for (size_t i = 0; i < d->nfacts; i++)
		fprintf(f, "      %s! %s%s\n", col(r, RED), d->facts[i], col(r, RESET));
	if (d->note)
		fprintf(f, "      note: %s\n", d->note);
	return ferror(f) ? -EIO : 0;
}

static int human_drift(struct report *r, const struct drift *d)
{
	struct human_priv *p = r->priv;
	int sec = d->action == DRIFT_CHANGED ? SEC_CHANGED
	          : d->action == DRIFT_ADDED ? SEC_ADDED
	                                     : SEC_REMOVED;
	FILE *f = p->sec[sec];
	char path[8192], desc[256];
	const char *sev = severity_name(d->rule ? d->rule->severity : SEV_MEDIUM);

	p->count[sec]++;
	if (d->kind != KIND_FILE)
		return human_obj_drift(r, d, sec);
	utf8_quote(d->id.p, d->id.n, path, sizeof(path));
	if (d->action != DRIFT_CHANGED) {
		describe(d->after ? d->after : d->before, desc, sizeof(desc));
		fprintf(f, "  %s  %s[%s]%s  %s\n", path, col(r, DIM), sev, col(r, RESET), desc);
	} else {
		char names[256];
		attr_format_set(KIND_FILE, d->changed, names, sizeof(names));
		fprintf(f, "  %s  %s[%s]%s  %s\n", path, col(r, DIM), sev, col(r, RESET), names);
		for (unsigned a = 0; a < ATTR__FILE_MAX; a++) {
			char before[2200], after[2200];
			if (!(d->changed & ATTR_BIT(a)))
				continue;
			value_text(d->before, a, before, sizeof(before));
			value_text(d->after, a, after, sizeof(after));
			fprintf(f, "      %-8s %s -> %s\n", attr_name(KIND_FILE, a), before, after);
		}
	}
	if (d->note)
		fprintf(f, "      note: %s\n", d->note);
	return ferror(f) ? -EIO : 0;
}

static int human_error(struct report *r, struct bytes id, int err)
{
	struct human_priv *p = r->priv;
	char path[8192];

	p->count[SEC_ERRORS]++;
	fprintf(p->sec[SEC_ERRORS], "  %s: %s\n", utf8_quote(id.p, id.n, path, sizeof(path)),
	        err_cause(err));
	return 0;
}

static int human_problem(struct report *r, enum fim_kind kind, enum severity sev, const char *path,
                         unsigned line, int err, const char *msg)
{
	struct human_priv *p = r->priv;
	char q[4200];

	p->count[SEC_ERRORS]++;
	utf8_quote(path, strlen(path), q, sizeof(q));
	if (line)
		fprintf(p->sec[SEC_ERRORS], "  %s: %s:%u: %s\n", kind_plural(kind), q, line, msg);
	else
		fprintf(p->sec[SEC_ERRORS], "  %s: %s: %s\n", kind_plural(kind), q, msg);
	return ferror(p->sec[SEC_ERRORS]) ? -EIO : 0;
}

static int copy_section(struct report *r, int i, const char *color)
{
	struct human_priv *p = r->priv;
	char buf[65536];
	size_t n;

	if (!p->count[i])
		return 0;
	fprintf(r->out, "\n%s%s%s (%llu)%s\n", col(r, BOLD), col(r, color), sec_title[i],
	        (unsigned long long)p->count[i], col(r, RESET));
	rewind(p->sec[i]);
	while ((n = fread(buf, 1, sizeof(buf), p->sec[i])) > 0)
		if (fwrite(buf, 1, n, r->out) != n)
			return -EIO;
	return ferror(p->sec[i]) ? -EIO : 0;
}

static int human_end(struct report *r, const struct report_summary *s)
{
	struct human_priv *p = r->priv;
	bool drift = s->added || s->removed || s->changed;
	int ret = 0;

	/* what could not be read may hide drift: never "no drift" then */
	fprintf(r->out, "%sfim %s: %s%s", col(r, BOLD), p->info.command,
	        drift       ? col(r, RED)
	        : s->errors ? col(r, YELLOW)
	                    : col(r, GREEN),
	        drift       ? "DRIFT"
	        : s->errors ? "INCOMPLETE"
	                    : "no drift");
	fprintf(r->out,
	        "%s - %llu changed, %llu added, %llu removed, %llu unreadable; "
	        "%llu objects scanned in %.1f s\n",
	        col(r, RESET), (unsigned long long)s->changed, (unsigned long long)s->added,
	        (unsigned long long)s->removed, (unsigned long long)s->errors,
	        (unsigned long long)s->scanned, s->seconds);
	if (p->info.created)
		fprintf(r->out, "baseline: %s on %s (%s)\n", p->info.created,
		        p->info.host ? p->info.host : "?", p->info.hash ? p->info.hash : "?");
	if (p->info.policy_changed)
		fprintf(r->out,
		        "%snote: the policy changed since the baseline: %llu objects newly "
		        "in scope and %llu out of scope are not drift; run 'fim baseline' to "
		        "adopt it%s\n",
		        col(r, YELLOW), (unsigned long long)s->newly_in_scope,
		        (unsigned long long)s->out_of_scope, col(r, RESET));
	if (ret == 0)
		ret = copy_section(r, SEC_CHANGED, YELLOW);
	if (ret == 0)
		ret = copy_section(r, SEC_ADDED, GREEN);
	if (ret == 0)
		ret = copy_section(r, SEC_REMOVED, RED);
	if (ret == 0)
		ret = copy_section(r, SEC_ERRORS, RED);
	if (fflush(r->out) != 0)
		ret = -EIO;
	return ret;
}

static void human_free(struct report *r)
{
	struct human_priv *p = r->priv;

	if (!p)
		return;
	for (int i = 0; i < SEC__MAX; i++)
		if (p->sec[i])
			fclose(p->sec[i]);
	free(p);
	r->priv = NULL;
}

const struct report_ops report_human = {
        .name = "human",
        .begin = human_begin,
        .drift = human_drift,
        .error = human_error,
        .problem = human_problem,
        .end = human_end,
        .free = human_free,
};
