/* SPDX-License-Identifier: ISC */
/* Alert sinks of the watcher: syslog(3), the journal, the hash-chained alert trail. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MESSAGE_ID of every alert fim sends to the journal (journalctl MESSAGE_ID=...). */
#define SINK_MESSAGE_ID "7a1a4e9857a64b31b394d52d847dc9a6"

struct json_t;
struct sinks;

/* What to open. */
struct sink_conf {
	bool syslog;
	int facility; /* LOG_AUTHPRIV, ... */
	bool journald;
	const char *file;   /* alert trail path or NULL */
	const uint8_t *key; /* trail key (TRAIL_KEY_BYTES) or NULL */
	bool null;          /* a sink that keeps nothing (tests) */
};

/* One backend: a table of functions chosen by name. */
struct sink_ops {
	const char *name;
	int (*open)(const struct sink_conf *c, void **ret);
	/* LINE[0..n) is the event as JSON text, EV the same parsed. */
	int (*emit)(void *priv, const char *line, size_t n, const struct json_t *ev);
	void (*close)(void *priv);
};

extern const struct sink_ops sink_syslog, sink_journald, sink_trail, sink_null;

/* The syslog facility named NAME ("authpriv", "daemon", "local0".."local7",
 * "auth", "user", "security" is not accepted), or -1. */
int sink_facility(const char *name);

/*
 * Opens the sinks C asks for. Returns 0 or a negative errno (the trail
 * could not be opened; trail_cause() explains it).
 */
int sinks_open(const struct sink_conf *c, struct sinks **ret);
void sinks_close(struct sinks *s);

/*
 * Sends one event, LINE[0..n) (a JSON object, no newline), to every sink;
 * each is tried even when another fails. Returns 0 or the first negative
 * errno (the name of that sink in *ret_failed when not NULL).
 */
int sinks_emit(struct sinks *s, const char *line, size_t n, const char **ret_failed);

/* The number of events sent so far. */
uint64_t sinks_count(const struct sinks *s);
