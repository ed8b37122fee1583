/* SPDX-License-Identifier: ISC */
/* UTF-8 validation, and how raw bytes are shown to a human. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid UTF-8 sequence at P, or 0 if P[0] starts none.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
size_t utf8_valid_prefix(const uint8_t *p, size_t n);

/* True if all of P[0..n) is valid UTF-8 without NUL bytes. */
bool utf8_valid(const uint8_t *p, size_t n);

/*
 * Writes PATH[0..len) for a human into buf: printable bytes as they are,
 * backslash as "\\", control bytes and bytes that are not valid UTF-8 as
 * "\n", "\t" or "\xNN", so that different paths never look the same.
 * Returns buf (always NUL-terminated, truncated with "..." if needed).
 */
char *utf8_quote(const void *path, size_t len, char *buf, size_t size);
