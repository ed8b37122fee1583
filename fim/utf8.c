/* SPDX-License-Identifier: ISC */
/* UTF-8 validation: the strict well-formed subset (RFC 3629). */
#include "utf8.h"

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
