/* SPDX-License-Identifier: ISC */
/* fim log verify: check an alert trail's hash chain and name the first bad line. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "fim/cli.h"
#include "fim/log.h"
#include "fim/trust/trail.h"

#define LOG_USAGE "(fim log verify [--alerts-key KEYFILE] FILE)"

/* Loads --alerts-key into KEY. Returns 0 or an exit status (reported). */
static int log_key(const char *path, uint8_t key[TRAIL_KEY_BYTES])
{
	int r = trail_load_key(path, key);

	switch (r) {
	case 0:
		return 0;
	case -EINVAL:
		log_error("%s: not a trail key: shorter than %d bytes", path, TRAIL_KEY_BYTES);
		return FIM_EXIT_USAGE;
	case -EFBIG:
		log_error("%s: not a trail key: larger than 64 KiB", path);
		return FIM_EXIT_USAGE;
	case -EBADFD:
		log_error("%s: cannot read the trail key: not a regular file", path);
		return FIM_EXIT_IO;
	}
	log_error("%s: cannot read the trail key: %s", path, strerror(-r));
	return FIM_EXIT_IO;
}

static int log_verify(struct fim_opts *o, const char *path)
{
	uint8_t key[TRAIL_KEY_BYTES];
	uint64_t lines = 0, bad = 0;
	char why[128] = "";
	int r;

	if (o->alerts_key) {
		r = log_key(o->alerts_key, key);
		if (r)
			return r;
	}
	r = trail_verify(path, o->alerts_key ? key : NULL, &lines, &bad, why, sizeof(why));
	sodium_memzero(key, sizeof(key));
	if (r == -EBADMSG) {
		log_error("%s:%" PRIu64 ": %s", path, bad, why);
		return FIM_EXIT_INTEGRITY;
	}
	if (r < 0) {
		log_error("%s: cannot read the alert trail: %s", path, trail_cause(r));
		return FIM_EXIT_IO;
	}
	if (o->verbose > 0)
		printf("%s: %" PRIu64 " line%s, chain intact%s\n", path, lines,
		       lines == 1 ? "" : "s", o->alerts_key ? " (keyed)" : "");
	return 0;
}

int cmd_log(struct fim_opts *o, int argc, char **argv)
{
	if (argc < 2) {
		log_error("log: which action? " LOG_USAGE);
		return FIM_EXIT_USAGE;
	}
	if (strcmp(argv[1], "verify") != 0) {
		log_error("log: unknown action '%s' " LOG_USAGE, argv[1]);
		return FIM_EXIT_USAGE;
	}
	if (argc < 3) {
		log_error("log verify: which trail? " LOG_USAGE);
		return FIM_EXIT_USAGE;
	}
	if (argc > 3) {
		log_error("log verify: unexpected argument '%s' " LOG_USAGE, argv[3]);
		return FIM_EXIT_USAGE;
	}
	return log_verify(o, argv[2]);
}
