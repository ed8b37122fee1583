/* SPDX-License-Identifier: ISC */
/* Command-layer helpers: load, open and report once with object and cause. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fim/cli.h"
#include "fim/log.h"

int cli_load_policy(const struct fim_opts *o, struct policy **ret)
{
	struct policy_error err = {0};
	int r = policy_load(o->policy, ret, &err);

	if (r == 0)
		return 0;
	if (err.line)
		log_error("%s:%u:%u: %s", err.file, err.line, err.col, err.message);
	else if (err.file[0])
		log_error("%s: %s", err.file, err.message[0] ? err.message : strerror(-r));
	else
		log_error("%s: %s", o->policy, strerror(-r));
	return FIM_EXIT_POLICY;
}

int cli_open_root(const struct fim_opts *o)
{
	int fd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		log_error("%s: cannot open root directory: %s", o->root, strerror(errno));
	return fd;
}

int cli_open_store(const struct fim_opts *o, struct store **ret)
{
	int r = store_open(o->db, ret);

	switch (r) {
	case 0:
		return 0;
	case -ENOENT:
		log_error("%s: no baseline; run 'fim baseline' first", o->db);
		break;
	case -EPROTONOSUPPORT:
		log_error("%s: baseline has schema version %u, this fim reads version %u; "
		          "run 'fim baseline' to rebuild it",
		          o->db, store_found_schema(o->db), STORE_SCHEMA_VERSION);
		break;
	case -EBADMSG:
		log_error("%s: not a fim baseline, or it is corrupt", o->db);
		break;
	default:
		log_error("%s: cannot open baseline: %s", o->db, strerror(-r));
	}
	return FIM_EXIT_BASELINE;
}

const struct report_ops *cli_report_ops(const struct fim_opts *o)
{
	if (o->format)
		return report_lookup(o->format);
	return isatty(STDOUT_FILENO) ? &report_human : &report_json;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_rfc3339(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

enum hash_algo cli_policy_hash(const struct policy *p)
{
	const char *h = policy_get(p, "hash");

	return h ? hash_lookup(h) : HASH_SHA256;
}

bool cli_object_arg(const char *arg, enum fim_kind *kind, const char **name)
{
	const char *colon = strchr(arg, ':');

	if (!colon || arg[0] == '/' || colon[1] == '\0')
		return false;
	for (unsigned k = KIND_FILE + 1; k < KIND__MAX; k++) {
		const char *n = kind_name(k);
		if (strlen(n) == (size_t)(colon - arg) && memcmp(n, arg, strlen(n)) == 0) {
			*kind = k;
			*name = colon + 1;
			return true;
		}
	}
	return false;
}
