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

/* The cause behind a negative errno as fim means it: -EAGAIN is a file
 * that kept changing while it was read, -ELOOP a tree nested too deeply;
 * anything else is strerror's text. */
const char *log_cause(int err);

/*
 * Writes PATH[0..len) for a human into buf: printable bytes as they are,
 * backslash as "\\", control bytes and bytes that are not valid UTF-8 as
 * "\n", "\t" or "\xNN", so that different paths never look the same.
 * Returns buf (always NUL-terminated, truncated with "..." if needed).
 */
char *log_quote(const void *path, size_t len, char *buf, size_t size);
