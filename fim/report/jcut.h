/* SPDX-License-Identifier: ISC */
/* Cuts a JSON event to a byte budget: its longest lists and texts first, marked as cut. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* The smallest line (--max-line): room for the base fields and the marks of a cut. */
#define JCUT_MIN 4096
/* The smallest budget: JCUT_MIN less room for a "<N>" syslog level that
 * the line takes in front. */
#define JCUT_FLOOR (JCUT_MIN - 8)
/* Bytes of fim.id kept when nothing else is left to cut. */
#define JCUT_ID_KEEP 256

/*
 * Returns the compact text of EV (JSON_COMPACT | JSON_PRESERVE_ORDER), at
 * most MAX bytes long (MAX below JCUT_FLOOR counts as JCUT_FLOOR), malloc'd for
 * the caller; NULL when out of memory.
 *
 * When the whole is longer, EV is cut in place until it fits, the longest
 * first, in three rounds: lists (elements dropped from the end) and texts
 * (bytes dropped from the end, at a character boundary; a text with a
 * KEY_hex sibling is cut with it, the two still naming the same bytes) in
 * fim.before and fim.after and everything else not named below; then
 * fim.delta, fim.suspicious, fim.note, message and error.message; then the
 * names file.path, user.name, group.name, service.name, fim.rule,
 * fim.source; then fim.id; last, fields under 128 bytes of all these.
 * @timestamp, event, host, ecs, log, fim.object, fim.severity, fim.changed
 * and fim.summary are never cut. A cut event carries
 * "fim":{"truncated":true,"dropped":{"fim.after.rules":2990,...}}: per
 * field (dotted path), the list elements or text bytes left out. Should
 * even that not fit, fim keeps only the base fields, fim.object,
 * fim.severity, the first JCUT_ID_KEEP bytes of fim.id, fim.truncated and
 * "fim.dropped":"*".
 */
char *jcut_dumps(json_t *ev, size_t max);
