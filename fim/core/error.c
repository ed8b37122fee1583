/* SPDX-License-Identifier: ISC */
/* Errors as values: a negative errno and, where needed, the cause in words. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fim/core/error.h"

int fim_err_set(struct fim_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *fim_err_text(const struct fim_err *e)
{
	return e->msg[0] ? e->msg : err_cause(e->code);
}

const char *err_cause(int err)
{
	switch (err) {
	case -EAGAIN:
		return "kept changing while being read";
	case -ELOOP:
		return "nested too deeply";
	}
	return strerror(-err);
}
