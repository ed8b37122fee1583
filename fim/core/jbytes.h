/* SPDX-License-Identifier: ISC */
/* Raw bytes (file names, link targets) as JSON strings that stay exact. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* A new JSON string of DATA[0..n): valid UTF-8 as it is; otherwise each
 * invalid byte (and NUL) becomes U+FFFD. NULL on allocation failure. */
json_t *jbytes_new(const void *data, size_t n);

/* A new JSON string of lowercase hex digits of DATA[0..n). */
json_t *jbytes_hex(const void *data, size_t n);

/* Sets OBJ[KEY] to jbytes_new(P, N) and, when P is not valid UTF-8, also
 * OBJ[KEY "_hex"] to its exact bytes, so that different names stay
 * distinguishable in the output. */
void jbytes_set(json_t *obj, const char *key, const void *p, size_t n);
