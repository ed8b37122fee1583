/* SPDX-License-Identifier: ISC */
/* Alert sinks of the watcher: the syslog socket, the journal, the hash-chained alert trail. */
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "fim/core/common.h"
#include "fim/report/report.h"
#include "fim/report/sink.h"
#include "fim/trust/trail.h"
#include "fim/core/utf8.h"

#define SINKS_MAX 4
/* Longest value of one field sent to syslog or the journal (the whole
 * event always goes to the trail). */
#define SINK_MAX_FIELD 8192

struct sinks {
	const struct sink_ops *ops[SINKS_MAX];
	void *priv[SINKS_MAX];
	size_t n;
	uint64_t count;
};

int sink_facility(const char *name)
{
	static const struct {
		const char *name;
		int fac;
	} tab[] = {
	        {"authpriv", LOG_AUTHPRIV}, {"auth", LOG_AUTH},     {"daemon", LOG_DAEMON},
	        {"user", LOG_USER},         {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
	        {"local2", LOG_LOCAL2},     {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
	        {"local5", LOG_LOCAL5},     {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};

	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (strcmp(name, tab[i].name) == 0)
			return tab[i].fac;
	return -1;
}

/* --- what the line-oriented sinks say --- */

static const char *jstr(const json_t *ev, const char *obj, const char *key)
{
	const json_t *o = obj ? json_object_get(ev, obj) : ev;
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The syslog level of an event whose fim.severity is NAME ("" when it has none). */
static int priority_of(const char *name)
{
	for (enum severity s = SEV_LOW; s <= SEV_CRITICAL; s++)
		if (strcmp(name, severity_name(s)) == 0)
			return report_severity_level(s);
	return report_severity_level(SEV_LOW);
}

/* The bytes of a UTF-8 sequence that lead byte C starts (0: none). */
static size_t utf8_seq_len(uint8_t c)
{
	return c >= 0xc2 && c <= 0xdf   ? 2
	       : c >= 0xe0 && c <= 0xef ? 3
	       : c >= 0xf0 && c <= 0xf4 ? 4
	                                : 0;
}

/*
 * S as one line of UTF-8 in OUT (SIZE bytes, always terminated): control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 as '?'; cut where
 * it is too long (and where S was cut inside a character) without
 * splitting one: the journal keeps a MESSAGE that is not UTF-8 as a blob.
 */
static void clean(char *out, size_t size, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, left = strlen(s);

	while (left && i + 1 < size) {
		size_t k = utf8_valid_prefix(p, left);
		if (k == 0) {
			size_t want = utf8_seq_len(p[0]), j = 1;
			while (want && j < left && (p[j] & 0xc0) == 0x80)
				j++;
			if (want && j == left && j < want)
				break; /* a character cut at the end */
			out[i++] = '?';
			p++;
			left--;
			continue;
		}
		if (i + k >= size)
			break;
		if ((k == 1 && (p[0] < 0x20 || p[0] == 0x7f)) ||
		    (k == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			out[i++] = '?';
		} else {
			memcpy(out + i, p, k);
			i += k;
		}
		p += k;
		left -= k;
	}
	out[i] = '\0';
}

/* The changed attributes as "a,b,c" (empty when none). */
static void changed_list(const json_t *ev, char *out, size_t size)
{
	const json_t *ch = json_object_get(json_object_get(ev, "fim"), "changed");
	size_t i, n = 0;
	const json_t *v;

	out[0] = '\0';
	json_array_foreach(ch, i, v)
	{
		const char *s = json_string_value(v);
		int w = snprintf(out + n, size - n, "%s%s", n ? "," : "", s ? s : "?");
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

/* The captures of a custom journal rule as " [name=value, ...]" (empty when none). */
static void captures_list(const json_t *ev, char *out, size_t size)
{
	const json_t *caps = json_object_get(json_object_get(ev, "fim"), "captures");
	const char *name;
	const json_t *v;
	size_t n = 0;

	out[0] = '\0';
	json_object_foreach((json_t *)caps, name, v)
	{
		const char *val = json_string_value(v);
		int w = snprintf(out + n, size - n, "%s%s=%s", n ? ", " : " [", name,
		                 val ? val : "?");
		if (w < 0 || (size_t)w >= size - n - 1)
			break;
		n += (size_t)w;
	}
	if (n)
		snprintf(out + n, size - n, "]");
}

void sink_summary(const json_t *ev, char *out, size_t size)
{
	const char *msg = json_string_value(json_object_get(ev, "message"));
	const char *err = jstr(json_object_get(ev, "error"), NULL, "message");
	char id[SINK_MAX_FIELD / 2], changed[512], caps[SINK_MAX_FIELD / 2], line[SINK_MAX_FIELD];
	const char *object = jstr(ev, "fim", "object"), *sev = jstr(ev, "fim", "severity");
	const char *action = jstr(ev, "event", "action");

	clean(id, sizeof(id), jstr(ev, "fim", "id"));
	if (strcmp(object, "journal") == 0) {
		/* "journal ssh-bruteforce severity=high: 10 failed SSH logins from ..." */
		captures_list(ev, caps, sizeof(caps));
		snprintf(line, sizeof(line), "journal %s severity=%s: %s%s", action,
		         sev[0] ? sev : "none", jstr(ev, "fim", "message"), caps);
	} else if (msg) {
		/* the daemon's own events: "watch tree_gone severity=high: ..." */
		snprintf(line, sizeof(line), "%s %s severity=%s: %s", object[0] ? object : "fim",
		         action, sev[0] ? sev : "none", msg);
	} else if (err[0] || strcmp(action, "error") == 0) {
		/* "error file /etc/shadow: permission denied" */
		snprintf(line, sizeof(line), "error %s %s: %s", object[0] ? object : "fim",
		         id[0] ? id : jstr(ev, "fim", "source"), err[0] ? err : "failed");
	} else {
		changed_list(ev, changed, sizeof(changed));
		snprintf(line, sizeof(line), "%s %s %s%s%s%s severity=%s rule=%s", action, object,
		         id, changed[0] ? " [" : "", changed, changed[0] ? "]" : "",
		         sev[0] ? sev : "none", jstr(ev, "fim", "rule"));
	}
	clean(out, size, line);
}

/* --- syslog, written to the local syslog socket so that a failed send is seen --- */

/*
 * syslog(3) says nothing when the syslog daemon is down: the line is lost.
 * Here each line is a datagram to the socket (/dev/log unless told), framed
 * as syslog(3) frames it ("<PRI>Mmm dd hh:mm:ss fim[PID]: text"); one that
 * is not taken is held, in order, and sent before anything else as soon as
 * the socket takes lines again.
 */
struct syslog_sink {
	int fd;
	bool stream;    /* the socket is a stream one (syslog-ng's unix-stream, ...) */
	bool connected; /* stream: FD is connected to it */
	struct sockaddr_un addr;
	socklen_t alen;
	int facility;
	char *held[SINK_SYSLOG_HELD]; /* framed lines not taken yet, oldest first */
	size_t head, n;
	size_t textoff[SINK_SYSLOG_HELD]; /* where the text starts in each */
	uint64_t dropped;                 /* lines not held: the queue was full */
};

static void syslog_close(void *priv)
{
	struct syslog_sink *ss = priv;

	if (!ss)
		return;
	if (ss->fd >= 0)
		close(ss->fd);
	for (size_t i = 0; i < ss->n; i++)
		free(ss->held[(ss->head + i) % SINK_SYSLOG_HELD]);
	free(ss);
}

/* A new socket of the kind of ss->stream in ss->fd: 0 or a negative errno. */
static int syslog_socket(struct syslog_sink *ss)
{
	/* a stuck syslog daemon delays one alert, not the daemon */
	struct timeval tv = {.tv_sec = 1};

	if (ss->fd >= 0)
		close(ss->fd);
	ss->connected = false;
	ss->fd = socket(AF_UNIX, (ss->stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (ss->fd < 0)
		return -errno;
	setsockopt(ss->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

static int syslog_open(const struct sink_conf *c, void **ret)
{
	const char *path = c->syslog_socket ? c->syslog_socket : SINK_SYSLOG_SOCKET;
	struct syslog_sink *ss;
	int r;

	if (strlen(path) >= sizeof(ss->addr.sun_path))
		return -ENAMETOOLONG;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	ss->fd = -1;
	r = syslog_socket(ss);
	if (r < 0) {
		free(ss);
		return r;
	}
	ss->addr.sun_family = AF_UNIX;
	memcpy(ss->addr.sun_path, path, strlen(path) + 1);
	ss->alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	ss->facility = c->facility;
	*ret = ss;
	return 0;
}

/*
 * One line on a stream socket, ended by a NUL byte as syslog(3) ends it
 * there; connected first when not yet. A line cut short leaves the
 * connection closed (the daemon drops the piece) and is sent again whole.
 */
static int syslog_send_stream(struct syslog_sink *ss, const char *s, bool wait)
{
	size_t len = strlen(s) + 1, off = 0;

	if (!ss->connected) {
		/* a daemon whose backlog is full is not waited for unless told */
		int fl = fcntl(ss->fd, F_GETFL), r;

		if (!wait && fl >= 0)
			fcntl(ss->fd, F_SETFL, fl | O_NONBLOCK);
		r = connect(ss->fd, (const struct sockaddr *)&ss->addr, ss->alen);
		if (r < 0) {
			int e = errno == EINPROGRESS || errno == EWOULDBLOCK ? -EAGAIN : -errno;
			syslog_socket(ss);
			return e;
		}
		if (!wait && fl >= 0)
			fcntl(ss->fd, F_SETFL, fl);
		ss->connected = true;
	}
	while (off < len) {
		ssize_t n = send(ss->fd, s + off, len - off,
		                 MSG_NOSIGNAL | (wait || off ? 0 : MSG_DONTWAIT));
		if (n < 0) {
			int e = errno == EWOULDBLOCK ? -EAGAIN : -errno;
			if (off || e != -EAGAIN)
				syslog_socket(ss);
			return e;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * One line; the socket is named each time: a restarted daemon makes a new
 * one. A datagram unless the socket is a stream one (as syslog(3) does, fim
 * follows the kind the daemon listens with, also when that changes).
 */
static int syslog_send(struct syslog_sink *ss, const char *s, bool wait)
{
	for (int tries = 0;; tries++) {
		int r;

		if (ss->stream) {
			r = syslog_send_stream(ss, s, wait);
		} else if (sendto(ss->fd, s, strlen(s), MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT),
		                  (const struct sockaddr *)&ss->addr, ss->alen) < 0) {
			r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
		} else {
			r = 0;
		}
		if (tries >= 2 || r == 0 || r == -EAGAIN)
			return r;
		if (r == -EPROTOTYPE) {
			/* the other kind of socket */
			ss->stream = !ss->stream;
			if (syslog_socket(ss) < 0)
				return r;
		} else if (!ss->stream || !(r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN)) {
			return r;
		}
		/* else a stream the daemon closed (restarted): connect again once */
	}
}

/* How long a send waits for a syslog daemon whose socket is full. */
static void syslog_timeout(struct syslog_sink *ss, int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	setsockopt(ss->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int64_t syslog_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Sends what is held, oldest first. Once the daemon took one, waits for it
 * to take the others for BUDGET_MS in all (0: not at all; its socket queue
 * holds only a few lines, so without waiting a daemon back after a burst
 * would get them a few a second). Returns the number sent, or a negative errno when some is
 * still held.
 */
static int syslog_drain(struct syslog_sink *ss, int64_t budget_ms)
{
	int64_t end = syslog_now_ms() + budget_ms;
	int sent = 0, r = 0;

	while (ss->n) {
		/* a daemon that takes none now is not waited for */
		int64_t left = budget_ms && sent ? end - syslog_now_ms() : 0;
		if (left > 0)
			syslog_timeout(ss, left);
		r = syslog_send(ss, ss->held[ss->head], left > 0);
		if (r < 0)
			break;
		free(ss->held[ss->head]);
		ss->head = (ss->head + 1) % SINK_SYSLOG_HELD;
		ss->n--;
		sent++;
	}
	if (budget_ms)
		syslog_timeout(ss, 1000);
	return r < 0 ? r : sent;
}

static int syslog_flush(void *priv)
{
	return syslog_drain(priv, SINK_SYSLOG_DRAIN_MS);
}

/* Holds framed line S (taken over), unless the last one held says the same
 * TEXT: an alert sent again while the daemon is down is held once. */
static void syslog_hold(struct syslog_sink *ss, char *s, size_t textoff)
{
	size_t tail = (ss->head + ss->n + SINK_SYSLOG_HELD - 1) % SINK_SYSLOG_HELD;

	if (ss->n && strcmp(ss->held[tail] + ss->textoff[tail], s + textoff) == 0) {
		free(s);
		return;
	}
	if (ss->n == SINK_SYSLOG_HELD) {
		ss->dropped++;
		free(s);
		return;
	}
	tail = (ss->head + ss->n) % SINK_SYSLOG_HELD;
	ss->held[tail] = s;
	ss->textoff[tail] = textoff;
	ss->n++;
}

static int syslog_emit(void *priv, const char *line, size_t n, const json_t *ev)
{
	static const char month[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct syslog_sink *ss = priv;
	char text[SINK_MAX_FIELD], head[64], *s;
	time_t now = time(NULL);
	struct tm tm;
	int off, r;

	sink_summary(ev, text, sizeof(text));
	localtime_r(&now, &tm);
	off = snprintf(head, sizeof(head), "<%d>%s %2d %02d:%02d:%02d fim[%d]: ",
	               ss->facility | priority_of(jstr(ev, "fim", "severity")), month[tm.tm_mon],
	               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
	if (off < 0 || (size_t)off >= sizeof(head) || asprintf(&s, "%s%s", head, text) < 0)
		return -ENOMEM;
	r = syslog_drain(ss, 0);
	if (r >= 0) {
		r = syslog_send(ss, s, true);
		if (r == 0) {
			free(s);
			return 0;
		}
	}
	syslog_hold(ss, s, (size_t)off);
	return r;
}

const struct sink_ops sink_syslog = {.name = "syslog",
                                     .open = syslog_open,
                                     .emit = syslog_emit,
                                     .flush = syslog_flush,
                                     .close = syslog_close};

/* --- journald --- */

static int journald_open(const struct sink_conf *c, void **ret)
{
	*ret = NULL;
	return 0;
}

/* Appends "NAME=VALUE" to IOV (values may hold any byte but NUL; the
 * native protocol carries newlines). */
static void field(struct iovec *iov, size_t *n, char *buf, size_t size, const char *name,
                  const char *value)
{
	int w = snprintf(buf, size, "%s=%.*s", name, SINK_MAX_FIELD, value);

	if (w < 0)
		return;
	iov[*n].iov_base = buf;
	iov[*n].iov_len = (size_t)w < size ? (size_t)w : size - 1;
	(*n)++;
}

static int journald_emit(void *priv, const char *line, size_t n, const json_t *ev)
{
	char text[SINK_MAX_FIELD], changed[512], prio[16];
	char b[10][SINK_MAX_FIELD + 32];
	struct iovec iov[12];
	size_t k = 0;
	char *json = malloc(n + 10);
	int r;

	if (!json)
		return -ENOMEM;
	sink_summary(ev, text, sizeof(text));
	changed_list(ev, changed, sizeof(changed));
	snprintf(prio, sizeof(prio), "%d", priority_of(jstr(ev, "fim", "severity")));
	field(iov, &k, b[0], sizeof(b[0]), "MESSAGE", text);
	field(iov, &k, b[1], sizeof(b[1]), "MESSAGE_ID", SINK_MESSAGE_ID);
	field(iov, &k, b[2], sizeof(b[2]), "PRIORITY", prio);
	field(iov, &k, b[3], sizeof(b[3]), "SYSLOG_IDENTIFIER", "fim");
	field(iov, &k, b[4], sizeof(b[4]), "FIM_OBJECT", jstr(ev, "fim", "object"));
	field(iov, &k, b[5], sizeof(b[5]), "FIM_ID", jstr(ev, "fim", "id"));
	field(iov, &k, b[6], sizeof(b[6]), "FIM_ACTION", jstr(ev, "event", "action"));
	field(iov, &k, b[7], sizeof(b[7]), "FIM_SEVERITY", jstr(ev, "fim", "severity"));
	field(iov, &k, b[8], sizeof(b[8]), "FIM_RULE", jstr(ev, "fim", "rule"));
	if (changed[0])
		field(iov, &k, b[9], sizeof(b[9]), "FIM_CHANGED", changed);
	memcpy(json, "FIM_JSON=", 9);
	memcpy(json + 9, line, n);
	iov[k].iov_base = json;
	iov[k].iov_len = n + 9;
	k++;
	r = sd_journal_sendv(iov, (int)k);
	free(json);
	return r < 0 ? r : 0;
}

const struct sink_ops sink_journald = {
        .name = "journald", .open = journald_open, .emit = journald_emit, .close = NULL};

/* --- the alert trail, reopened when logrotate moved it away --- */

struct trail_sink {
	char *path;
	uint8_t key[TRAIL_KEY_BYTES];
	bool keyed;
	struct trail *t;
	dev_t dev;
	ino_t ino;
};

static int trail_sink_reopen(struct trail_sink *ts)
{
	struct stat st;
	int r;

	trail_close(ts->t);
	ts->t = NULL;
	r = trail_open(ts->path, ts->keyed ? ts->key : NULL, &ts->t);
	if (r < 0)
		return r;
	if (stat(ts->path, &st) == 0) {
		ts->dev = st.st_dev;
		ts->ino = st.st_ino;
	}
	return 0;
}

static void trail_sink_close(void *priv)
{
	struct trail_sink *ts = priv;

	if (!ts)
		return;
	trail_close(ts->t);
	explicit_bzero(ts->key, sizeof(ts->key));
	free(ts->path);
	free(ts);
}

static int trail_sink_open(const struct sink_conf *c, void **ret)
{
	struct trail_sink *ts = calloc(1, sizeof(*ts));
	int r;

	if (!ts || !(ts->path = strdup(c->file))) {
		free(ts);
		return -ENOMEM;
	}
	if (c->key) {
		memcpy(ts->key, c->key, sizeof(ts->key));
		ts->keyed = true;
	}
	r = trail_sink_reopen(ts);
	if (r < 0) {
		trail_sink_close(ts);
		return r;
	}
	*ret = ts;
	return 0;
}

static int trail_sink_emit(void *priv, const char *line, size_t n, const json_t *ev)
{
	struct trail_sink *ts = priv;
	struct stat st;
	int r;

	/* Rotated (renamed or removed): a new file starts a new chain. */
	if (!ts->t || stat(ts->path, &st) < 0 || st.st_dev != ts->dev || st.st_ino != ts->ino) {
		r = trail_sink_reopen(ts);
		if (r < 0)
			return r;
	}
	return trail_append(ts->t, line, n);
}

const struct sink_ops sink_trail = {.name = "trail",
                                    .open = trail_sink_open,
                                    .emit = trail_sink_emit,
                                    .close = trail_sink_close};

/* --- null --- */

static int null_open(const struct sink_conf *c, void **ret)
{
	*ret = NULL;
	return 0;
}

static int null_emit(void *priv, const char *line, size_t n, const json_t *ev)
{
	return 0;
}

const struct sink_ops sink_null = {.name = "null", .open = null_open, .emit = null_emit};

/* --- the set --- */

void sinks_close(struct sinks *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->ops[i]->close)
			s->ops[i]->close(s->priv[i]);
	free(s);
}

int sinks_open(const struct sink_conf *c, struct sinks **ret)
{
	const struct sink_ops *want[SINKS_MAX];
	struct sinks *s = calloc(1, sizeof(*s));
	size_t n = 0;

	if (!s)
		return -ENOMEM;
	if (c->syslog)
		want[n++] = &sink_syslog;
	if (c->journald)
		want[n++] = &sink_journald;
	if (c->file)
		want[n++] = &sink_trail;
	if (c->null)
		want[n++] = &sink_null;
	for (size_t i = 0; i < n; i++) {
		int r = want[i]->open(c, &s->priv[s->n]);
		if (r < 0) {
			sinks_close(s);
			return r;
		}
		s->ops[s->n++] = want[i];
	}
	*ret = s;
	return 0;
}

int sinks_emit(struct sinks *s, const char *line, size_t n, const char **ret_failed)
{
	json_error_t jerr;
	json_t *ev = json_loadb(line, n, 0, &jerr);
	int ret = 0;

	if (!json_is_object(ev)) {
		json_decref(ev);
		return -EINVAL;
	}
	for (size_t i = 0; i < s->n; i++) {
		int r = s->ops[i]->emit(s->priv[i], line, n, ev);
		if (r < 0 && ret == 0) {
			ret = r;
			if (ret_failed)
				*ret_failed = s->ops[i]->name;
		}
	}
	json_decref(ev);
	s->count++;
	return ret;
}

int sinks_retry(struct sinks *s)
{
	int sent = 0;

	for (size_t i = 0; i < s->n; i++) {
		int r;
		if (!s->ops[i]->flush)
			continue;
		r = s->ops[i]->flush(s->priv[i]);
		if (r < 0)
			return r;
		sent += r;
	}
	return sent;
}

uint64_t sinks_count(const struct sinks *s)
{
	return s->count;
}
