/* SPDX-License-Identifier: ISC */
/* fim history: the accepts recorded in the baseline: who, when, why and what. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "trust.h"

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* "root (login alice, sudo alice)" */
static void who_text(json_t *by, char *out, size_t size)
{
	json_t *lu = json_object_get(by, "login_user"), *su = json_object_get(by, "sudo_user");
	int n = snprintf(out, size, "%s", json_object_get(by, "user") ? str(by, "user") : "?");

	if (n >= 0 && (size_t)n < size && lu)
		n += snprintf(out + n, size - (size_t)n, " (login %s)", json_string_value(lu));
	if (n >= 0 && (size_t)n < size && su)
		snprintf(out + n, size - (size_t)n, " (sudo %s)", json_string_value(su));
}

static void print_object(json_t *obj, const char *indent)
{
	const char *kind = str(obj, "object");
	json_t *ch = json_object_get(obj, "changed");
	char q[8192];
	size_t i;
	json_t *v;

	printf("%s%s %s%s%s", indent, str(obj, "action"), strcmp(kind, "file") ? kind : "",
	       strcmp(kind, "file") ? " " : "",
	       log_quote(str(obj, "id"), strlen(str(obj, "id")), q, sizeof(q)));
	json_array_foreach(ch, i, v) printf("%s%s", i ? " " : ": ", json_string_value(v));
	printf("\n");
}

/* Entries of S's history; with KIND/ID only those naming that object. */
static int history_print(struct store *s, bool json, const char *kind, const char *id)
{
	struct store_iter *it = NULL;
	struct bytes e;
	uint64_t seq;
	int r, shown = 0;

	r = store_audit_iter(s, &it);
	while (r >= 0 && (r = store_audit_next(it, &seq, &e)) > 0) {
		json_t *entry = json_loadb((const char *)e.p, e.n, 0, NULL), *objs, *obj;
		char by[512], q[4096];
		size_t i;

		if (!json_is_object(entry)) {
			json_decref(entry);
			r = -EBADMSG;
			break;
		}
		objs = json_object_get(entry, "objects");
		if (kind) {
			bool mine = false;
			json_array_foreach(objs, i, obj) mine |=
			        strcmp(str(obj, "object"), kind) == 0 &&
			        strcmp(str(obj, "id"), id) == 0;
			if (!mine) {
				json_decref(entry);
				continue;
			}
		}
		shown++;
		who_text(json_object_get(entry, "by"), by, sizeof(by));
		if (json) {
			json_t *line = json_pack("{s:I}", "seq", (json_int_t)seq);
			char *text;
			json_object_update(line, entry);
			text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (text)
				printf("%s\n", text);
			free(text);
			json_decref(line);
		} else if (kind) {
			printf("  accepted #%llu %s by %s: %s\n", (unsigned long long)seq,
			       str(entry, "time"), by,
			       log_quote(str(entry, "reason"), strlen(str(entry, "reason")), q,
			                 sizeof(q)));
		} else {
			printf("#%llu  %s  by %s  %zu objects%s%s\n    reason: %s\n",
			       (unsigned long long)seq, str(entry, "time"), by,
			       json_array_size(objs),
			       json_object_get(entry, "signed_by") ? ", signed by " : "",
			       str(entry, "signed_by"),
			       log_quote(str(entry, "reason"), strlen(str(entry, "reason")), q,
			                 sizeof(q)));
			json_array_foreach(objs, i, obj) print_object(obj, "    ");
		}
		json_decref(entry);
	}
	store_iter_free(it);
	if (r < 0)
		return r;
	if (!shown && !kind && !json)
		printf("no accepts recorded in this baseline\n");
	return 0;
}

int history_show(struct store *s, bool json, enum fim_kind kind, const char *id)
{
	return history_print(s, json, kind_name(kind), id);
}

int cmd_history(struct fim_opts *o, int argc, char **argv)
{
	struct store *s = NULL;
	int ret, r;

	if (argc > 1) {
		log_error("history: unexpected argument '%s'", argv[1]);
		return FIM_EXIT_USAGE;
	}
	ret = cli_open_store(o, &s);
	if (ret)
		return ret;
	ret = trust_verify(o, NULL, s);
	if (ret == 0) {
		r = history_print(s, strcmp(o->format, "json") == 0, NULL, NULL);
		if (r < 0) {
			log_error("%s: cannot read the accept history: %s", o->db,
			          r == -EBADMSG ? "the baseline is corrupt" : strerror(-r));
			ret = FIM_EXIT_BASELINE;
		}
	}
	store_close(s);
	return ret;
}
