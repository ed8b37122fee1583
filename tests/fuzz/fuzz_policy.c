/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the policy lexer/parser and the bundle decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Even first byte: the input is policy text, wrapped into a one-file
 * bundle; odd: the input is a bundle itself. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char name[] = "/etc/fim/fim.policy";
	struct policy_error err;
	struct policy *p = NULL;
	uint8_t *b;
	size_t n;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		if (policy_load_bundle(data + 1, size - 1, &p, &err) == 0) {
			policy_match(p, "/etc/passwd", 11);
			policy_descend(p, "/etc", 4);
		}
		policy_free(p);
		return 0;
	}
	n = 8 + 4 + 4 + sizeof(name) - 1 + 4 + size - 1;
	b = malloc(n);
	if (!b)
		return 0;
	memcpy(b, "FIMPOLB\001", 8);
	put32(b + 8, 1);
	put32(b + 12, sizeof(name) - 1);
	memcpy(b + 16, name, sizeof(name) - 1);
	put32(b + 16 + sizeof(name) - 1, (uint32_t)(size - 1));
	memcpy(b + 20 + sizeof(name) - 1, data + 1, size - 1);
	if (policy_load_bundle(b, n, &p, &err) == 0) {
		policy_match(p, "/etc/passwd", 11);
		policy_match(p, "/a/b/c/d", 8);
		policy_descend(p, "/", 1);
		policy_descend(p, "/usr/lib", 8);
	}
	policy_free(p);
	free(b);
	return 0;
}
