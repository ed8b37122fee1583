/* SPDX-License-Identifier: ISC */
/* libFuzzer target: passwd, shadow, group, gshadow, sshd_config and authorized_keys parsing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/accounts.h"
#include "tests/unit/fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARTS 5 /* passwd, shadow, group, gshadow, sshd_config (also read as authorized_keys) */

static void on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg)
{
	/* messages are bounded text */
	if (!fx_problem_sane(path, line, 0, err, msg))
		abort();
}

/* Each part in its own allocation of its exact size, so that a read past
 * the end is caught. */
static char *part(const uint8_t *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (!c)
		abort();
	if (n)
		memcpy(c, p, n);
	return c;
}

static void check_set(const struct obj_set *s)
{
	for (size_t i = 0; i < obj_set_count(s); i++) {
		const struct obj_rec *r = obj_set_at(s, i), *prev = i ? obj_set_at(s, i - 1) : NULL;
		struct bytes pw = r->val[UA_PASSWORD];

		if (r->id.n == 0 || memchr(r->id.p, '\0', r->id.n))
			abort();
		/* sorted, unique ids */
		if (prev) {
			size_t m = prev->id.n < r->id.n ? prev->id.n : r->id.n;
			int c = memcmp(prev->id.p, r->id.p, m);

			if (c > 0 || (c == 0 && prev->id.n >= r->id.n))
				abort();
		}
		if (r->kind != KIND_USER || !(r->attrs & ATTR_BIT(UA_PASSWORD)))
			continue;
		/* a state, then at most a 32-digit hex digest */
		if (!((pw.n == 4 && memcmp(pw.p, "none", 4) == 0) ||
		      (pw.n == 5 && memcmp(pw.p, "empty", 5) == 0) ||
		      (pw.n == 3 + 1 + 32 && memcmp(pw.p, "set ", 4) == 0) ||
		      (pw.n == 6 + 1 + 32 && memcmp(pw.p, "locked ", 7) == 0)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[COLLECT_KEY_BYTES] = {1, 2, 3};
	struct collect_ctx ctx = {.rootfd = -1, .secret_key = key, .problem = on_problem};
	struct accounts_text t[PARTS] = {
	        {"/etc/passwd", NULL, 0, 0},          {"/etc/shadow", NULL, 0, 0},
	        {"/etc/group", NULL, 0, 0},           {"/etc/gshadow", NULL, 0, 0},
	        {"/etc/ssh/sshd_config", NULL, 0, 0},
	};
	char *mem[PARTS] = {0};
	struct accounts_keycfg cfg = {0};
	struct obj_set *users, *groups;
	struct buf list = {0};
	size_t pos = 0;

	/* parts are separated by "\n%%\n"; missing parts are absent files */
	for (unsigned i = 0; i < PARTS && pos <= size; i++) {
		const uint8_t *sep =
		        size - pos >= 4 ? memmem(data + pos, size - pos, "\n%%\n", 4) : NULL;
		size_t n = sep ? (size_t)(sep - (data + pos)) : size - pos;

		mem[i] = part(data + pos, n);
		t[i].p = mem[i];
		t[i].n = n;
		pos += n + 4;
		if (!sep)
			break;
	}
	if (t[4].p && accounts_keycfg_parse(&ctx, t[4].path, t[4].p, t[4].n, &cfg) != 0)
		abort();
	if (!cfg.set) {
		/* the default; reading it under rootfd -1 fails and is reported */
		cfg.file[0] = strdup("%h/.ssh/authorized_keys");
		cfg.n = cfg.file[0] ? 1 : 0;
	}
	if (obj_set_new(KIND_USER, &users) || obj_set_new(KIND_GROUP, &groups))
		abort();
	if (accounts_parse_users(&ctx, &t[0], &t[1], &t[2], &cfg, users) != 0 ||
	    accounts_parse_groups(&ctx, &t[2], &t[3], groups) != 0)
		abort();
	check_set(users);
	check_set(groups);
	if (t[4].p) {
		int r = accounts_parse_keys(&ctx, "/k", t[4].p, t[4].n, &list);
		struct bytes el;
		size_t lp = 0;

		if (r != 0 && r != -E2BIG)
			abort();
		while (r == 0 && obj_list_next((struct bytes){list.p, list.n}, &lp, &el))
			if (el.n < 8 || memcmp(el.p, "SHA256:", 7) != 0 || memchr(el.p, '\0', el.n))
				abort();
	}
	buf_free(&list);
	obj_set_free(users);
	obj_set_free(groups);
	accounts_keycfg_free(&cfg);
	for (unsigned i = 0; i < PARTS; i++)
		free(mem[i]);
	return 0;
}
