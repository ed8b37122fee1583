/* SPDX-License-Identifier: ISC */
/* What the account collector's files share: spans of text and how problems are worded. */
#pragma once

#include <stdbool.h>
#include <string.h>

#include "baseline/collect.h"

struct span {
	const char *p;
	size_t n;
};

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline int span_cmp(struct span a, struct span b)
{
	int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);

	return c ? c : (a.n > b.n) - (a.n < b.n);
}

static inline bool span_is(struct span a, const char *s)
{
	return a.n == strlen(s) && memcmp(a.p, s, a.n) == 0;
}

/* S quoted for a problem message into BUF[0..size) (see utf8_quote). */
const char *accounts_quote(struct span s, char *buf, size_t size);

/* Reports that PATH could not be read (ERR, a negative errno), with CONSEQUENCE when not NULL. */
void accounts_report_read(const struct collect_ctx *ctx, const char *path, int err,
                          const char *consequence);
