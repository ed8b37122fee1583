/* SPDX-License-Identifier: ISC */
/* fim history: the accepts recorded in the baseline: who, when, why and what. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fim/cli.h"
#include "fim/log.h"
#include "fim/trust/trust.h"
#include "fim/core/utf8.h"

/* The string KEY of O, "" when it is missing or not a string. */
static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The same, made safe to print (the store's text is not trusted for a
 * terminal): quoted as utf8_quote does, in Q. */
static const char *qstr(json_t *o, const char *key, char *q, size_t size)
{
	const char *s = str(o, key);

	return utf8_quote(s, strlen(s), q, size);
}

/* "root (login alice) (sudo alice)" */
static void who_text(json_t *by, char *out, size_t size)
{
	char q1[256], q2[256], q3[256];

	snprintf(out, size, "%s%s%s%s%s%s%s",
	         json_object_get(by, "user") ? qstr(by, "user", q1, sizeof(q1)) : "?",
	         json_object_get(by, "login_user") ? " (login " : "",
	         json_object_get(by, "login_user") ? qstr(by, "login_user", q2, sizeof(q2)) : "",
	         json_object_get(by, "login_user") ? ")" : "",
	         json_object_get(by, "sudo_user") ? " (sudo " : "",
	         json_object_get(by, "sudo_user") ? qstr(by, "sudo_user", q3, sizeof(q3)) : "",
	         json_object_get(by, "sudo_user") ? ")" : "");
}

static void print_object(json_t *obj, const char *indent)
{
	const char *kind = str(obj, "object");
	json_t *ch = json_object_get(obj, "changed");
	char q[8192], qa[64], qk[64];
	size_t i;
	json_t *v;

	printf("%s%s %s%s%s", indent, qstr(obj, "action", qa, sizeof(qa)),
	       strcmp(kind, "file") ? qstr(obj, "object", qk, sizeof(qk)) : "",
	       strcmp(kind, "file") ? " " : "", qstr(obj, "id", q, sizeof(q)));
	json_array_foreach(ch, i, v)
	{
		const char *a = json_string_value(v);
		printf("%s%s", i ? " " : ": ", a ? utf8_quote(a, strlen(a), qa, sizeof(qa)) : "?");
	}
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
		char by[1024], q[4096], t[128], sb[128];
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
			/* the store's sequence number wins over a "seq" inside the entry */
			json_t *line = json_pack("{s:I}", "seq", (json_int_t)seq);
			char *text;
			json_object_update_missing(line, entry);
			text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (text)
				printf("%s\n", text);
			free(text);
			json_decref(line);
		} else if (kind) {
			printf("  accepted #%llu %s by %s: %s\n", (unsigned long long)seq,
			       qstr(entry, "time", t, sizeof(t)), by,
			       qstr(entry, "reason", q, sizeof(q)));
		} else {
			printf("#%llu  %s  by %s  %zu objects%s%s\n    reason: %s\n",
			       (unsigned long long)seq, qstr(entry, "time", t, sizeof(t)), by,
			       json_array_size(objs),
			       json_object_get(entry, "signed_by") ? ", signed by " : "",
			       qstr(entry, "signed_by", sb, sizeof(sb)),
			       qstr(entry, "reason", q, sizeof(q)));
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
	ret = cli_trust_open_store(o, &s);
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
