/* SPDX-License-Identifier: ISC */
/* Messages to the operator: the command layer's one place for stderr. */
#pragma once

#include <stddef.h>

/* Verbosity: 0 quiet, 1 normal, 2 verbose. */
extern int log_level;

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
