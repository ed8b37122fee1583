/* SPDX-License-Identifier: ISC */
/* fim watch: alerts to the sinks - the daemon's own events, JSON lines, and gaps in delivery. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "fim/core/jbytes.h"
#include "fim/trust/trail.h"
#include "fim/watch/watch.h"

#define SINK_WARN_MS 60000

static void timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* The sinks take alerts again after W->lost were not delivered to all of
 * them: that is alerted, and a full check sends again what is still drifted. */
static void gap_alert(struct watcher *w)
{
	char msg[200];

	snprintf(msg, sizeof(msg),
	         "%llu alerts could not be delivered to every sink; what is still "
	         "drifted is sent again by a full check now",
	         (unsigned long long)w->lost);
	w->in_gap = true;
	w->lost = 0;
	watch_meta(w, "sink_gap", "alert", SEV_HIGH, msg, NULL);
	w->in_gap = false;
	w->full_due = watch_now_ms();
}

/*
 * Sends one JSON line to the sinks. A failing sink is logged (at most once
 * a minute) and counted: the caller undoes what it recorded as alerted, so
 * the drift is alerted again, and once a sink takes alerts again the gap
 * is alerted and a full check sends what is still drifted.
 */
int watch_send_line(struct watcher *w, const char *line, size_t n)
{
	const char *failed = "?";
	int r = sinks_emit(w->sinks, line, n, &failed);

	if (r < 0) {
		w->send_err = r;
		w->lost++;
		if (!w->sink_warned || watch_now_ms() - w->last_sink_warn >= SINK_WARN_MS) {
			w->sink_warned = true;
			w->last_sink_warn = watch_now_ms();
			watch_say(w, LOG_WARNING, "alert sink %s: cannot send an alert: %s", failed,
			          strcmp(failed, "trail") == 0 ? trail_cause(r) : strerror(-r));
		}
		return r;
	}
	if (w->lost && !w->in_gap)
		gap_alert(w);
	return 0;
}

/* Housekeeping: a sink that held alerts back (syslog while its daemon is
 * down) sends them once it can; the gap is then alerted without waiting
 * for the next alert. */
void watch_sinks_retry(struct watcher *w)
{
	if (w->lost && sinks_retry(w->sinks) > 0)
		gap_alert(w);
}

void watch_meta(struct watcher *w, const char *action, const char *kind, enum severity sev,
                const char *message, json_t *paths)
{
	char ts[64];
	json_t *o, *fim, *host;
	char *s;

	timestamp(ts, sizeof(ts));
	fim = json_pack("{s:s, s:s, s:s}", "object", "watch", "id", action, "severity",
	                severity_name(sev));
	if (paths)
		json_object_set_new(fim, "paths", paths);
	host = json_object();
	/* A host name is whatever bytes root set: it must not stop alerts. */
	jbytes_set(host, "name", w->host, strlen(w->host));
	o = json_pack("{s:s, s:{s:s, s:s, s:s, s:[s], s:[s], s:i}, s:o, s:o, s:o}", "@timestamp",
	              ts, "event", "kind", kind, "module", "fim", "action", action, "category",
	              "configuration", "type", "info", "severity", report_severity_score(sev),
	              "host", host, "message", jbytes_new(message, strlen(message)), "fim", fim);
	if (!o)
		return;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return;
	watch_send_line(w, s, strlen(s));
	free(s);
	if (strcmp(kind, "alert") == 0)
		w->alerts_sent++;
	watch_say(w, LOG_INFO, "%s", message);
}

/* report_json writes into a stream whose lines go to the sinks. */
struct line_stream {
	struct watcher *w;
	struct buf line;
};

static ssize_t ls_write(void *cookie, const char *data, size_t n)
{
	struct line_stream *ls = cookie;

	for (size_t i = 0; i < n; i++) {
		if (data[i] != '\n') {
			if (buf_append(&ls->line, data + i, 1) < 0)
				return -1;
			continue;
		}
		if (ls->line.n)
			watch_send_line(ls->w, (const char *)ls->line.p, ls->line.n);
		ls->line.n = 0;
	}
	return (ssize_t)n;
}

static int ls_close(void *cookie)
{
	struct line_stream *ls = cookie;

	buf_free(&ls->line);
	free(ls);
	return 0;
}

FILE *watch_alerts_open(struct watcher *w)
{
	static const cookie_io_functions_t io = {.write = ls_write, .close = ls_close};
	struct line_stream *ls = calloc(1, sizeof(*ls));
	FILE *f;

	if (!ls)
		return NULL;
	ls->w = w;
	f = fopencookie(ls, "w", io);
	if (!f) {
		free(ls);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}
