/* SPDX-License-Identifier: ISC */
/* Operator messages ("fim: OBJECT: CAUSE") and safe quoting of raw bytes. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "output.h"
#include "report.h"
#include "utf8.h"

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

const char *log_cause(int err)
{
	switch (err) {
	case -EAGAIN:
		return "kept changing while being read";
	case -ELOOP:
		return "nested too deeply";
	}
	return strerror(-err);
}

/* C1 controls (U+0080..U+009F) act on terminals; bidi overrides and
 * isolates (U+202A..U+202E, U+2066..U+2069) reorder what is shown. */
static bool deceptive(const uint8_t *p, size_t u)
{
	if (u == 2)
		return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
	if (u == 3 && p[0] == 0xe2 && p[1] == 0x80)
		return p[2] >= 0xaa && p[2] <= 0xae;
	if (u == 3 && p[0] == 0xe2 && p[1] == 0x81)
		return p[2] >= 0xa6 && p[2] <= 0xa9;
	return false;
}

char *log_quote(const void *path, size_t len, char *buf, size_t size)
{
	const uint8_t *p = path;
	size_t o = 0;

	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	for (size_t i = 0; i < len;) {
		char tmp[16];
		size_t w, adv = 1;
		size_t u = utf8_valid_prefix(p + i, len - i);

		if (p[i] == '\\')
			w = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
		else if (p[i] == '\n')
			w = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (p[i] == '\t')
			w = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
		else if (p[i] < 0x20 || p[i] == 0x7f || u == 0)
			w = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
		else if (u > 1 && deceptive(p + i, u)) {
			/* Shown as its bytes, so a name cannot steer the terminal. */
			w = 0;
			for (size_t k = 0; k < u; k++)
				w += (size_t)snprintf(tmp + w, sizeof(tmp) - w, "\\x%02x",
				                      p[i + k]);
			adv = u;
		} else {
			w = u;
			memcpy(tmp, p + i, u);
			adv = u;
		}
		if (o + w + 4 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, tmp, w);
		o += w;
		i += adv;
	}
	buf[o] = '\0';
	return buf;
}
