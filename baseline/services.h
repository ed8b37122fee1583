/* SPDX-License-Identifier: ISC */
/* systemd units: the unit file parser shared by the services collector and its fuzzer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SERVICES_MAX_LINE     65536        /* longest logical line (continuations joined) */
#define SERVICES_MAX_VALUES   1024         /* most ExecStart= or On*= values kept per unit */
#define SERVICES_MAX_BYTES    (256u << 10) /* most bytes of such values kept per unit */
#define SERVICES_MAX_PROBLEMS 100          /* malformed lines reported per file */

/* A list of NUL-terminated strings, each without '\n', '\r' or NUL. */
struct services_strv {
	char **v;
	size_t n;
	size_t bytes; /* sum of the lengths */
};

/*
 * What one unit file says that fim records, or (after services_conf_apply)
 * what a fragment and its drop-ins say together. A list whose reset flag
 * is set replaces what came before it instead of extending it (an empty
 * "ExecStart=" clears the list, as in systemd).
 */
struct services_conf {
	struct services_strv exec_start; /* [Service] ExecStart= values, trimmed */
	struct services_strv schedule;   /* [Timer] On*= settings as "Key=value" */
	bool exec_reset, schedule_reset;
	/* [Install], as systemctl enable reads it from the fragment */
	unsigned wanted_by, required_by, upheld_by, also; /* names in force */
	struct services_strv alias;                       /* Alias= names in force */
	char *default_instance;                           /* NULL when unset */
};

/* Called for each malformed line (LINE is 1-based) with a message in words. */
typedef void (*services_bad_fn)(void *userdata, unsigned line, const char *msg);

/*
 * Parses the unit file BUF[0..len) (any bytes) into *conf, which must be
 * zeroed or freed before. Lines end at "\n", "\r\n", "\r" or NUL, as systemd
 * reads them; '#' and ';' start comment lines (also inside a continuation);
 * a trailing unescaped backslash joins the next line with a space. Every
 * other line must be "[Section]" or "Key=Value" (whitespace around both
 * trimmed): otherwise BAD is called and the line skipped. A UTF-8 byte
 * order mark at the start of BUF is skipped, as systemd does. Over-long lines
 * and values beyond SERVICES_MAX_VALUES/_BYTES are reported the same way
 * and dropped. Returns 0 or -ENOMEM (then *conf is freed).
 */
int services_parse(const char *buf, size_t len, struct services_conf *conf, services_bad_fn bad,
                   void *userdata);

/* Applies drop-in DROP on top of *base (lists extended or, after a reset,
 * replaced). [Install] is not taken from drop-ins, as systemctl does.
 * Returns 0 or -ENOMEM. */
int services_conf_apply(struct services_conf *base, const struct services_conf *drop);

/* Frees what *conf holds and zeroes it. */
void services_conf_free(struct services_conf *conf);

/*
 * True when NAME[0..len) is a unit name fim records: PREFIX[@INSTANCE].TYPE
 * with TYPE one of service socket timer path target mount automount swap
 * slice scope device, at most 255 bytes, systemd's character set.
 */
bool services_name_valid(const char *name, size_t len);

/*
 * State of the running system manager's units. services_bus_list asks
 * systemd (org.freedesktop.systemd1 Manager.ListUnits, one call, short
 * timeout) and calls FN once per unit it lists. Returns 0; -EHOSTDOWN
 * when no systemd runs here (not an error worth reporting); another
 * negative errno when systemd runs but could not be asked, with *ret_where
 * naming the socket tried.
 */
typedef int (*services_state_fn)(void *userdata, const char *name, const char *active,
                                 const char *sub);
int services_bus_list(services_state_fn fn, void *userdata, const char **ret_where);
