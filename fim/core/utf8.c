/* SPDX-License-Identifier: ISC */
/* UTF-8 validation (the strict well-formed subset, RFC 3629) and safe
 * quoting of raw bytes for a human. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fim/core/utf8.h"

size_t utf8_valid_prefix(const uint8_t *p, size_t n)
{
	uint8_t c;
	size_t len;
	uint32_t cp, min;

	if (n == 0)
		return 0;
	c = p[0];
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		len = 2, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool utf8_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = utf8_valid_prefix(p + i, n - i);
		if (l == 0 || p[i] == 0)
			return false;
		i += l;
	}
	return true;
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

char *utf8_quote(const void *path, size_t len, char *buf, size_t size)
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
