/* SPDX-License-Identifier: ISC */
/* Operator messages on stderr ("fim: OBJECT: CAUSE"), or as JSON events on a shared stream. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fim/log.h"
#include "fim/output.h"
#include "fim/report/report.h"
#include "fim/core/utf8.h"

int log_level = 1;

static bool as_json;     /* messages are JSON events on stdout */
static size_t json_max;  /* ... of at most this many bytes */
static bool out_journal; /* stdout is a journal stream: "<N>" in front */
static bool err_journal; /* stderr is one */

void log_setup(bool json, size_t max_line)
{
	as_json = json && output_shared();
	json_max = max_line;
	out_journal = output_is_journal(STDOUT_FILENO);
	err_journal = output_is_journal(STDERR_FILENO);
}

static void vlog(const char *level, int syslog_level, const char *fmt, va_list ap)
{
	char line[8192];
	bool warn = strcmp(level, "warning") == 0;

	vsnprintf(line, sizeof(line), fmt, ap);
	/* stdout and stderr may be one pipe or one journal stream: a message
	 * goes between two whole lines of the report, never into one. */
	flockfile(stdout);
	if (as_json && !output_error() &&
	    report_json_message(stdout, level, line, json_max, out_journal) == 0) {
		funlockfile(stdout);
		return;
	}
	fflush(stdout);
	/* One write per message, so lines from parallel runs do not interleave. */
	if (err_journal)
		fprintf(stderr, "<%d>fim: %s%s\n", syslog_level, warn ? "warning: " : "", line);
	else
		fprintf(stderr, "fim: %s%s\n", warn ? "warning: " : "", line);
	funlockfile(stdout);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error", 3, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	vlog("warning", 4, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	vlog("info", 6, fmt, ap);
	va_end(ap);
}
