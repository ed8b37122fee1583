/* SPDX-License-Identifier: ISC */
/* fim show: print baseline records by path. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "jbytes.h"
#include "log.h"

static void show_human(const char *path, const struct file_rec *rec)
{
	char q[8192];

	printf("%s\n", log_quote(path, strlen(path), q, sizeof(q)));
	for (unsigned a = 0; a < ATTR__FILE_MAX; a++) {
		char v[4096];
		int n = rec_format_attr(rec, a, v, sizeof(v));
		if (n < 0)
			continue;
		printf("  %-8s %s\n", attr_name(KIND_FILE, a),
		       log_quote(v, (size_t)n < sizeof(v) ? (size_t)n : sizeof(v) - 1, q,
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

int cmd_show(struct fim_opts *o, int argc, char **argv)
{
	struct store *s = NULL;
	int ret;

	if (argc < 2) {
		log_error("show: which path? (fim show PATH...)");
		return FIM_EXIT_USAGE;
	}
	ret = cli_open_store(o, &s);
	if (ret)
		return ret;
	for (int i = 1; i < argc; i++) {
		struct file_rec rec;
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
	}
	store_close(s);
	return ret;
}
