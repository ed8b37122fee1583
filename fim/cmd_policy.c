/* SPDX-License-Identifier: ISC */
/* fim policy test: which rule decides a path, and what it records. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fim/cli.h"
#include "fim/core/jbytes.h"
#include "fim/log.h"
#include "fim/core/utf8.h"

static void test_human(const char *path, const struct policy_rule *r)
{
	char q[8192], pat[8192], file[4096], attrs[512];

	utf8_quote(path, strlen(path), q, sizeof(q));
	if (!r) {
		printf("%s: not selected (no rule matches)\n", q);
		return;
	}
	utf8_quote(r->pattern, strlen(r->pattern), pat, sizeof(pat));
	utf8_quote(r->file, strlen(r->file), file, sizeof(file));
	if (r->flags & RULE_EXCLUDE) {
		printf("%s: excluded by !%s (%s:%u)\n", q, pat, file, r->line);
		return;
	}
	attr_format_set(KIND_FILE, r->attrs, attrs, sizeof(attrs));
	printf("%s: %s%s (%s:%u) severity=%s%s\n    %s\n", q,
	       (r->flags & RULE_THIS_ONLY) ? "=" : "", pat, file, r->line,
	       severity_name(r->severity), (r->flags & RULE_GROWING) ? " growing" : "", attrs);
}

static void test_json(const char *path, const struct policy_rule *r)
{
	json_t *o = json_object();
	char attrs[512], *s;

	jbytes_set(o, "path", path, strlen(path));
	if (!r) {
		json_object_set_new(o, "selected", json_false());
	} else {
		attr_format_set(KIND_FILE, r->attrs, attrs, sizeof(attrs));
		json_object_set_new(o, "selected", json_boolean(!(r->flags & RULE_EXCLUDE)));
		jbytes_set(o, "rule", r->pattern, strlen(r->pattern));
		jbytes_set(o, "file", r->file, strlen(r->file));
		json_object_set_new(o, "line", json_integer(r->line));
		if (!(r->flags & RULE_EXCLUDE)) {
			json_t *a = json_array();
			for (unsigned i = 0; i < ATTR__FILE_MAX; i++)
				if (r->attrs & ATTR_BIT(i))
					json_array_append_new(a,
					                      json_string(attr_name(KIND_FILE, i)));
			json_object_set_new(o, "attributes", a);
			json_object_set_new(o, "severity", json_string(severity_name(r->severity)));
			json_object_set_new(o, "growing", json_boolean(r->flags & RULE_GROWING));
		}
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

/* The rule deciding object NAME of KIND, in the same two formats. */
static void test_obj(const struct fim_opts *o, const char *arg, enum fim_kind kind,
                     const char *name, const struct policy_rule *r)
{
	char q[8192], attrs[512], file[4096];
	bool json = strcmp(o->format, "json") == 0;

	if (r && !(r->flags & RULE_EXCLUDE))
		attr_format_set(kind, r->attrs, attrs, sizeof(attrs));
	if (json) {
		json_t *j = json_object();
		char *s;

		json_object_set_new(j, "object", json_string(kind_name(kind)));
		jbytes_set(j, "id", name, strlen(name));
		json_object_set_new(j, "selected", json_boolean(r && !(r->flags & RULE_EXCLUDE)));
		if (r) {
			jbytes_set(j, "rule", r->pattern, strlen(r->pattern));
			jbytes_set(j, "file", r->file, strlen(r->file));
			json_object_set_new(j, "line", json_integer(r->line));
		}
		if (r && !(r->flags & RULE_EXCLUDE)) {
			json_t *a = json_array();
			for (unsigned i = 0; i < attr_count(kind); i++)
				if (r->attrs & ATTR_BIT(i))
					json_array_append_new(a, json_string(attr_name(kind, i)));
			json_object_set_new(j, "attributes", a);
			json_object_set_new(j, "severity", json_string(severity_name(r->severity)));
		}
		s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
		return;
	}
	utf8_quote(arg, strlen(arg), q, sizeof(q));
	if (!r) {
		printf("%s: not selected (no %s rule matches)\n", q, kind_plural(kind));
		return;
	}
	utf8_quote(r->file, strlen(r->file), file, sizeof(file));
	if (r->flags & RULE_EXCLUDE) {
		printf("%s: excluded by !%s name=%s (%s:%u)\n", q, kind_plural(kind), r->pattern,
		       file, r->line);
		return;
	}
	printf("%s: %s name=%s (%s:%u) severity=%s\n    %s\n", q, kind_plural(kind), r->pattern,
	       file, r->line, severity_name(r->severity), attrs);
}

int cmd_policy(struct fim_opts *o, int argc, char **argv)
{
	struct policy *p = NULL;
	int ret;

	if (argc < 2 || strcmp(argv[1], "test") != 0) {
		log_error("policy: unknown or missing subcommand (fim policy test "
		          "PATH|KIND:NAME...)");
		return FIM_EXIT_USAGE;
	}
	ret = cli_load_policy(o, &p);
	if (ret)
		return ret;
	for (int i = 2; i < argc; i++) {
		size_t len = strlen(argv[i]);
		enum fim_kind kind;
		const char *name;

		if (cli_object_arg(argv[i], &kind, &name)) {
			test_obj(o, argv[i], kind, name,
			         policy_match_obj(p, kind, name, strlen(name)));
			continue;
		}
		/* Paths are as seen inside the root: absolute, no trailing slash. */
		while (len > 1 && argv[i][len - 1] == '/')
			argv[i][--len] = '\0';
		if (argv[i][0] != '/') {
			log_error("%s: not an absolute path", argv[i]);
			ret = FIM_EXIT_USAGE;
			continue;
		}
		const struct policy_rule *r = policy_match(p, argv[i], len);
		if (strcmp(o->format, "json") == 0)
			test_json(argv[i], r);
		else
			test_human(argv[i], r);
	}
	policy_free(p);
	return ret;
}
