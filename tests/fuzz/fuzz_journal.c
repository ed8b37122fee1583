/* SPDX-License-Identifier: ISC */
/* libFuzzer target: journal rule lines of the policy, and journal entries through the rules. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fim/watch/journal_rules.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rules every input is run through, before the input's own policy lines. */
static const char base[] = "journal ssh-bruteforce threshold=3 window=2\n"
                           "journal c1 SYSLOG_IDENTIFIER=x message=/(?<source_ip>[0-9.:]+) "
                           "(?<user_name>\\w+)/ threshold=2 window=5 group_by=source_ip\n"
                           "journal c2 _PID=1 message=/(a+)+$/\n";

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct entry {
	const uint8_t *p;
	size_t n;
};

/* FIELD=VALUE lines of the entry; the first occurrence of a field counts. */
static const void *get(void *ctx, const char *field, size_t *len)
{
	const struct entry *e = ctx;
	size_t fn = strlen(field);

	for (const uint8_t *s = e->p, *end = e->p + e->n; s < end;) {
		const uint8_t *nl = memchr(s, '\n', (size_t)(end - s));
		size_t ln = nl ? (size_t)(nl - s) : (size_t)(end - s);

		if (ln > fn && memcmp(s, field, fn) == 0 && s[fn] == '=') {
			*len = ln - fn - 1;
			return s + fn + 1;
		}
		s += ln + 1;
	}
	return NULL;
}

/* Every event must serialise; *FAIL (when not NULL and set) refuses delivery. */
static int on_alert(const struct journal_alert *a, void *arg)
{
	const int *fail = arg;
	char *s = json_dumps(a->event, JSON_COMPACT);

	if (!s)
		abort();
	free(s);
	return fail && *fail ? -EIO : 0;
}

/* Input: policy lines, a NUL byte, then entries separated by blank lines, each line
 * FIELD=VALUE; the first byte of an entry moves its time forward by that many sixteenths of
 * a second (its low bits also: 0x01 refuses its alerts, then applies it again; 0x02 sets
 * the clock back; 0x04 reloads the rules keeping the counts; 0x08 starts another boot). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char name[] = "/etc/fim/fim.policy";
	const uint8_t *nul = memchr(data, '\0', size);
	size_t plen = nul ? (size_t)(nul - data) : 0, tlen = sizeof(base) - 1 + plen, n;
	struct policy_error perr;
	struct policy *p = NULL;
	struct jrules *r = NULL;
	journal_recheck_t recheck = 0;
	uint64_t t = 1700000000000000ULL, mono = 1000000;
	static const char *const boots[] = {"0123456789abcdef0123456789abcdef",
	                                    "fedcba9876543210fedcba9876543210"};
	const char *boot = boots[0];
	char err[256];
	uint8_t *b;

	n = 8 + 4 + 4 + sizeof(name) - 1 + 4 + tlen;
	b = malloc(n);
	if (!b)
		return 0;
	memcpy(b, "FIMPOLB\001", 8);
	put32(b + 8, 1);
	put32(b + 12, sizeof(name) - 1);
	memcpy(b + 16, name, sizeof(name) - 1);
	put32(b + 16 + sizeof(name) - 1, (uint32_t)tlen);
	memcpy(b + 20 + sizeof(name) - 1, base, sizeof(base) - 1);
	memcpy(b + 20 + sizeof(name) - 1 + sizeof(base) - 1, data, plen);
	if (policy_load_bundle(b, n, &p, &perr) < 0 || jrules_new(p, "h", &r, err, sizeof(err)) < 0)
		goto out;
	jrules_set_max_keys(r, 8);
	data += nul ? plen + 1 : 0;
	size -= nul ? plen + 1 : 0;
	while (size > 0) {
		const uint8_t *sep = memmem(data, size, "\n\n", 2);
		struct entry e = {data, sep ? (size_t)(sep - data) : size};
		struct jentry je = {.get = get, .ctx = &e, .cursor = "c"};
		int fail = data[0] & 1;

		t += (uint64_t)data[0] * 1000000 / 16;
		mono += (uint64_t)data[0] * 1000000 / 16;
		if (data[0] & 8)
			boot = boot == boots[0] ? boots[1] : boots[0];
		je.realtime_usec = data[0] & 2 ? t - 3600000000ULL : t;
		je.monotonic_usec = mono;
		je.boot_id = boot;
		if (jrules_apply(r, &je, on_alert, &fail, &recheck) < 0) {
			fail = 0;
			jrules_apply(r, &je, on_alert, &fail, &recheck);
		}
		if (data[0] & 4) {
			struct jrules *r2;

			if (jrules_new(p, "h", &r2, err, sizeof(err)) == 0) {
				jrules_carry(r2, r);
				jrules_free(r);
				r = r2;
			}
		}
		data += e.n + (sep ? 2 : 0);
		size -= e.n + (sep ? 2 : 0);
	}
out:
	jrules_free(r);
	policy_free(p);
	free(b);
	return 0;
}
