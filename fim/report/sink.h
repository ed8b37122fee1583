/* SPDX-License-Identifier: ISC */
/* Alert sinks of the watcher: the syslog socket, the journal, the hash-chained alert trail. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MESSAGE_ID of every alert fim sends to the journal (journalctl MESSAGE_ID=...). */
#define SINK_MESSAGE_ID "7a1a4e9857a64b31b394d52d847dc9a6"

/* The local syslog socket, and how many lines the syslog sink holds while
 * it takes none (the oldest are kept; later ones are counted as lost). */
#define SINK_SYSLOG_SOCKET "/dev/log"
#define SINK_SYSLOG_HELD   1024
/* How long, at most, one retry waits for the syslog daemon to take them. */
#define SINK_SYSLOG_DRAIN_MS 200

struct json_t;
struct sinks;

/* What to open. */
struct sink_conf {
	bool syslog;
	int facility;              /* LOG_AUTHPRIV, ... */
	const char *syslog_socket; /* NULL: SINK_SYSLOG_SOCKET */
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
	/* Sends again what emit could not (may be NULL): the number sent, or a
	 * negative errno when some is still held back. */
	int (*flush)(void *priv);
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

/*
 * Sends again what a sink holds back after a failed emit. Returns how many
 * alerts went out (0: nothing was held), or a negative errno when a sink
 * still holds some.
 */
int sinks_retry(struct sinks *s);

/* The one line syslog and the journal's MESSAGE say about event EV, in OUT
 * (SIZE bytes, always terminated), control bytes as '?': what changed for
 * drift, what happened for journal rules, the cause for errors, the
 * message of the daemon's own events. */
void sink_summary(const struct json_t *ev, char *out, size_t size);

/* The number of events sent so far. */
uint64_t sinks_count(const struct sinks *s);
