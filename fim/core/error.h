/* SPDX-License-Identifier: ISC */
/*
 * The one error convention below the commands. A function returns 0 (or a
 * count) on success and a negative errno on failure; where errno's text
 * cannot say the cause, it also fills the struct fim_err its caller passed
 * (parsers, trust checks). Lower layers never print and never pick an exit
 * code: the command that called them says it once.
 */
#pragma once

#include <stddef.h>

struct fim_err {
	int code;       /* negative errno, 0 when nothing went wrong */
	char msg[1024]; /* the cause in words, "" if errno says it all */
};

/* Fills E (if not NULL) and returns CODE, for "return fim_err_set(...)". */
int fim_err_set(struct fim_err *e, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* E's words, or the cause behind its code when it has none. */
const char *fim_err_text(const struct fim_err *e);

/* The cause behind a negative errno as fim means it: -EAGAIN is a file
 * that kept changing while it was read, -ELOOP a tree nested too deeply;
 * anything else is strerror's text. */
const char *err_cause(int err);
