/* SPDX-License-Identifier: ISC */
/* The table of OS-object collectors, and problem reporting shared by them. */
#include <stdarg.h>
#include <stdio.h>

#include "baseline/collect.h"

collect_fn collect_for(enum fim_kind kind)
{
	switch (kind) {
	case KIND_USER:
		return collect_users;
	case KIND_GROUP:
		return collect_groups;
	case KIND_SERVICE:
		return collect_services;
	case KIND_SUDOERS:
		return collect_sudoers;
	case KIND_CRON:
		return collect_cron;
	case KIND_PACKAGE:
		return collect_packages;
	default:
		return NULL;
	}
}

void collect_problem(const struct collect_ctx *ctx, const char *path, unsigned line, int err,
                     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!ctx->problem)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->problem(ctx->userdata, path, line, err, msg);
}
