/* SPDX-License-Identifier: ISC */
/* fim show: print baseline records by path or KIND:NAME. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fim/cli.h"
#include "fim/core/jbytes.h"
#include "fim/log.h"
#include "fim/trust/trust.h"
#include "fim/core/utf8.h"

static void show_human(const char *path, const struct file_rec *rec)
{
	char q[8192];

	printf("%s\n", utf8_quote(path, strlen(path), q, sizeof(q)));
	for (unsigned a = 0; a < ATTR__FILE_MAX; a++) {
		char v[4096];
		int n = rec_format_attr(rec, a, v, sizeof(v));
		if (n < 0)
			continue;
		printf("  %-8s %s\n", attr_name(KIND_FILE, a),
		       utf8_quote(v, (size_t)n < sizeof(v) ? (size_t)n : sizeof(v) - 1, q,
		                  sizeof(q)));
	}
	if (!(rec->flags & REC_IN_SCOPE))
		printf("  (not selected by the baseline's policy: recorded only as a path)\n");
	if (rec->flags & REC_UNREADABLE)
		printf("  (content was unreadable when the baseline was taken)\n");
	if (rec->flags & REC_CHANGED_WHILE_READ)
		printf("  (content kept changing while the baseline was taken)\n");
}

static void show_json(const char *path, const struct file_rec *rec)
{
	json_t *fim = json_object(), *o = json_object();
	char *s;

	json_object_set_new(fim, "object", json_string("file"));
	jbytes_set(fim, "id", path, strlen(path));
	json_object_set_new(fim, "in_scope", json_boolean(rec->flags & REC_IN_SCOPE));
	json_object_set_new(fim, "record", report_json_attrs(rec, ATTRS_ALL_FILE, false));
	json_object_set_new(o, "fim", fim);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static void show_obj_human(const struct obj_rec *rec)
{
	char q[8192];

	printf("%s %s\n", kind_name(rec->kind), utf8_quote(rec->id.p, rec->id.n, q, sizeof(q)));
	for (unsigned a = 0; a < attr_count(rec->kind); a++) {
		const char *name = attr_name(rec->kind, a);
		struct bytes v, el;
		size_t pos = 0;

		if (!(rec->attrs & ATTR_BIT(a)))
			continue;
		v = report_obj_value(rec, a);
		if (!(attr_flags(rec->kind, a) & AF_LIST)) {
			printf("  %-15s %s\n", name,
			       v.n ? utf8_quote(v.p, v.n, q, sizeof(q)) : "(empty)");
			continue;
		}
		if (v.n == 0)
			printf("  %-15s (none)\n", name);
		while (obj_list_next(v, &pos, &el)) {
			printf("  %-15s %s\n", name, utf8_quote(el.p, el.n, q, sizeof(q)));
			name = "";
		}
	}
}

static void show_obj_json(const struct obj_rec *rec)
{
	json_t *fim = json_object(), *o = json_object();
	char *s;

	json_object_set_new(fim, "object", json_string(kind_name(rec->kind)));
	jbytes_set(fim, "id", rec->id.p, rec->id.n);
	json_object_set_new(fim, "record", report_json_obj_attrs(rec, attr_all(rec->kind), false));
	json_object_set_new(o, "fim", fim);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

/* Shows object ARG ("user:root"); returns the exit status bits it adds. */
static int show_obj(struct fim_opts *o, struct store *s, const char *arg, enum fim_kind kind,
                    const char *name)
{
	struct obj_rec rec;
	int r = store_obj_get(s, kind, name, strlen(name), &rec);

	if (r == -ENOENT) {
		log_error("%s: not in the baseline", arg);
		return FIM_EXIT_REMOVED;
	}
	if (r < 0) {
		log_error("%s: cannot read its record: %s", arg,
		          r == -EBADMSG ? "the baseline is corrupt" : strerror(-r));
		return FIM_EXIT_BASELINE;
	}
	if (strcmp(o->format, "json") == 0)
		show_obj_json(&rec);
	else
		show_obj_human(&rec);
	history_show(s, strcmp(o->format, "json") == 0, kind, name);
	return 0;
}

int cmd_show(struct fim_opts *o, int argc, char **argv)
{
	struct store *s = NULL;
	int ret;

	if (argc < 2) {
		log_error("show: which object? (fim show PATH|KIND:NAME...)");
		return FIM_EXIT_USAGE;
	}
	ret = cli_trust_open_store(o, &s);
	if (ret)
		return ret;
	for (int i = 1; i < argc; i++) {
		struct file_rec rec;
		enum fim_kind kind;
		const char *name;

		if (cli_object_arg(argv[i], &kind, &name)) {
			int bits = show_obj(o, s, argv[i], kind, name);
			if (bits == FIM_EXIT_BASELINE) {
				ret = bits;
				break;
			}
			ret |= bits;
			continue;
		}
		int r = store_lookup(s, argv[i], strlen(argv[i]), &rec, NULL);
		if (r == -ENOENT) {
			log_error("%s: not in the baseline", argv[i]);
			ret |= FIM_EXIT_REMOVED;
			continue;
		}
		if (r < 0) {
			log_error("%s: cannot read its record: %s", argv[i],
			          r == -EBADMSG ? "the baseline is corrupt" : strerror(-r));
			ret = FIM_EXIT_BASELINE;
			break;
		}
		if (strcmp(o->format, "json") == 0)
			show_json(argv[i], &rec);
		else
			show_human(argv[i], &rec);
		history_show(s, strcmp(o->format, "json") == 0, KIND_FILE, argv[i]);
	}
	store_close(s);
	return ret;
}
