/* SPDX-License-Identifier: ISC */
/* Human report: a summary first, then changed, added and removed objects. */
#include <string.h>

#include "log.h"
#include "report.h"

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
		snprintf(out, size, "\"%s\"", log_quote(raw, (size_t)n, q, sizeof(q)));
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

static int human_drift(struct report *r, const struct drift *d)
{
	struct human_priv *p = r->priv;
	int sec = d->action == DRIFT_CHANGED ? SEC_CHANGED
	          : d->action == DRIFT_ADDED ? SEC_ADDED
	                                     : SEC_REMOVED;
	FILE *f = p->sec[sec];
	char path[8192], desc[256];
	const char *sev = severity_name(d->rule ? d->rule->severity : SEV_MEDIUM);

	log_quote(d->id.p, d->id.n, path, sizeof(path));
	p->count[sec]++;
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
	fprintf(p->sec[SEC_ERRORS], "  %s: %s\n", log_quote(id.p, id.n, path, sizeof(path)),
	        log_cause(err));
	return 0;
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

	fprintf(r->out, "%sfim %s: %s%s", col(r, BOLD), p->info.command,
	        drift ? col(r, RED) : col(r, GREEN), drift ? "DRIFT" : "no drift");
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
        .end = human_end,
        .free = human_free,
};
