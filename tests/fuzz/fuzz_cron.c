/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the crontab and anacrontab parser of baseline/cron.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/cron.h"
#include "tests/unit/fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	unsigned lines; /* lines in the input */
	const char *path;
};

/* Every problem names the file, a line of it, and a known cause. */
static void on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg)
{
	const struct seen *s = userdata;

	if (!fx_problem_sane(path, line, s->lines, err, msg) || strcmp(path, s->path) != 0)
		abort();
	if (err != -EBADMSG && err != -E2BIG)
		abort();
}

/* The first byte picks the format (and a small shared budget); the rest is the table. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char path[] = "/etc/cron.d/fuzz";
	struct seen seen = {.lines = 1, .path = path};
	struct collect_ctx ctx = {.rootfd = -1, .problem = on_problem, .userdata = &seen};
	struct obj_set *set = NULL;
	const struct obj_rec *rec;
	enum cron_format format;
	size_t budget, pos = 0;
	struct bytes el;

	if (size == 0)
		return 0;
	format = (enum cron_format)(data[0] % 3);
	budget = data[0] & 0x80 ? 256 : CRON_MAX_TOTAL;
	for (size_t i = 1; i < size; i++)
		seen.lines += data[i] == '\n';
	if (obj_set_new(KIND_CRON, &set) < 0 || obj_begin(set, path, sizeof(path) - 1) < 0)
		abort();
	if (cron_parse(&ctx, path, format, (const char *)data + 1, size - 1, &budget, set) < 0)
		abort();
	if (obj_end(set) < 0)
		abort();
	obj_set_sort(set);
	rec = obj_set_at(set, 0);
	if (!rec || rec->attrs != (ATTR_BIT(CA_JOBS) | ATTR_BIT(CA_ENV)))
		abort();
	/* Jobs have at least a schedule and a command, assignments a name and '='. */
	while (obj_list_next(rec->val[CA_JOBS], &pos, &el))
		if (el.n < 3 || !memchr(el.p, ' ', el.n) || el.p[0] == ' ' || el.p[el.n - 1] == ' ')
			abort();
	pos = 0;
	while (obj_list_next(rec->val[CA_ENV], &pos, &el))
		if (el.n < 2 || el.p[0] == '=' || !memchr(el.p, '=', el.n))
			abort();
	obj_set_free(set);
	return 0;
}
