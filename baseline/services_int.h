/* SPDX-License-Identifier: ISC */
/* What the services collector's files share: the shape of unit names. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define UNIT_NAME_MAX 255

/* The type suffix of NAME[0..len) ("service"), or NULL when it has none fim knows. */
const char *services_unit_type(const char *name, size_t len);

/* True for "foo@bar.service"; *tmpl gets "foo@.service" when TMPL is not NULL. */
bool services_instance_of(const char *name, char *tmpl, size_t size);

/* True for a template, "foo@.service". */
bool services_is_template(const char *name);

/* True when S ends with SUFFIX and has more before it. */
bool services_has_suffix(const char *s, const char *suffix);
