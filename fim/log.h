/* SPDX-License-Identifier: ISC */
/* Messages to the operator: the command layer's one place for stderr. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Verbosity: 0 quiet, 1 normal, 2 verbose. */
extern int log_level;

/*
 * Where messages go. With JSON set and standard output and error one file
 * (output_shared: "2>&1", a journal stream), each message is a JSON event
 * on stdout (report_json_message, at most MAX_LINE bytes), so that every
 * line a reader gets is JSON; otherwise text on stderr. Either way a
 * message never lands inside a line of stdout, and on a journal stream it
 * starts with its syslog level ("<3>" error, "<4>" warning, "<6>" info).
 */
void log_setup(bool json, size_t max_line);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
