/* SPDX-License-Identifier: ISC */
/* Raw bytes (file names, link targets) as JSON strings that stay exact. */
#include <stdio.h>
#include <string.h>

#include "fim/core/jbytes.h"
#include "fim/core/utf8.h"

/* A JSON string for raw bytes; bytes that are not UTF-8 become U+FFFD. */
json_t *jbytes_new(const void *data, size_t n)
{
	const uint8_t *p = data;
	json_t *j;
	char *tmp;
	size_t o = 0;

	if (utf8_valid(p, n))
		return json_stringn((const char *)p, n);
	tmp = malloc(n * 3 + 1);
	if (!tmp)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_valid_prefix(p + i, n - i);
		if (l == 0 || p[i] == 0) {
			memcpy(tmp + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(tmp + o, p + i, l);
		o += l;
		i += l;
	}
	j = json_stringn(tmp, o);
	free(tmp);
	return j;
}

json_t *jbytes_hex(const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = data;
	char *t = malloc(n * 2 + 1);
	json_t *j;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		t[2 * i] = hex[p[i] >> 4];
		t[2 * i + 1] = hex[p[i] & 15];
	}
	j = json_stringn(t, n * 2);
	free(t);
	return j;
}

/* Sets KEY to the bytes, and KEY_hex to their exact value when they are
 * not valid UTF-8, so different byte strings stay distinguishable. */
void jbytes_set(json_t *obj, const char *key, const void *p, size_t n)
{
	json_object_set_new(obj, key, jbytes_new(p, n));
	if (!utf8_valid(p, n)) {
		char k[64];
		snprintf(k, sizeof(k), "%s_hex", key);
		json_object_set_new(obj, k, jbytes_hex(p, n));
	}
}
