/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the systemd unit file parser, a drop-in applied on top, unit names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/services.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_bad(void *userdata, unsigned line, const char *msg)
{
	unsigned *max = userdata;

	/* lines are numbered from 1 and never past the last one */
	if (line == 0 || line > *max || !msg || !*msg)
		abort();
}

/* What reaches a record must be a valid list element. */
static void check_list(const struct services_strv *l)
{
	size_t bytes = 0;

	if (l->n > SERVICES_MAX_VALUES)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);

		if (n == 0 || strchr(l->v[i], '\n') || strchr(l->v[i], '\r'))
			abort();
		bytes += n;
	}
	if (bytes != l->bytes || bytes > SERVICES_MAX_BYTES)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct services_conf frag = {0}, drop = {0};
	unsigned lines = 1;
	size_t half = size / 2;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r' || data[i] == '\0';
	/* the whole input as a fragment, its second half again as a drop-in */
	if (services_parse((const char *)data, size, &frag, on_bad, &lines) < 0)
		return 0;
	if (services_parse((const char *)data + half, size - half, &drop, on_bad, &lines) == 0) {
		services_conf_apply(&frag, &drop);
		check_list(&drop.exec_start);
		check_list(&drop.schedule);
	}
	check_list(&frag.exec_start);
	check_list(&frag.schedule);
	check_list(&frag.alias);
	for (size_t i = 0; i < frag.alias.n; i++)
		if (strpbrk(frag.alias.v[i], " \t"))
			abort();
	if (frag.default_instance && !*frag.default_instance)
		abort();
	for (size_t i = 0; i < frag.schedule.n; i++)
		if (!strchr(frag.schedule.v[i], '='))
			abort();
	(void)services_name_valid((const char *)data, size < 300 ? size : 300);
	services_conf_free(&frag);
	services_conf_free(&drop);
	return 0;
}
