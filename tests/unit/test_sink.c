/* SPDX-License-Identifier: ISC */
/* Unit tests for fim/report/sink.c: the one-line text of each kind of event, and the syslog sink
 * holding alerts while its daemon is down. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fim/report/sink.h"
#include "fim/core/utf8.h"
#include "tests/unit/fixture.h"

/* The text of the event in JSON TEXT. */
static const char *summary_of(const char *text)
{
	static char out[8192];
	json_t *ev = json_loads(text, 0, NULL);

	assert_non_null(ev);
	sink_summary(ev, out, sizeof(out));
	json_decref(ev);
	return out;
}

static void test_summary_kinds(void **state)
{
	/* drift */
	assert_string_equal(
	        summary_of("{\"event\":{\"action\":\"changed\"},\"fim\":{\"object\":\"file\","
	                   "\"id\":\"/etc/passwd\",\"rule\":\"/etc\",\"severity\":\"high\","
	                   "\"changed\":[\"hash\",\"mtime\"]}}"),
	        "changed file /etc/passwd [hash,mtime] severity=high rule=/etc");
	/* the daemon's own event: its action and its message */
	assert_string_equal(
	        summary_of("{\"event\":{\"action\":\"tree_gone\"},\"message\":\"the root was "
	                   "moved\",\"fim\":{\"object\":\"watch\",\"id\":\"tree_gone\","
	                   "\"severity\":\"critical\"}}"),
	        "watch tree_gone severity=critical: the root was moved");
	/* an error: the object and the cause */
	assert_string_equal(
	        summary_of("{\"event\":{\"kind\":\"event\",\"action\":\"error\"},\"error\":{"
	                   "\"message\":\"Permission denied\"},\"fim\":{\"object\":\"file\","
	                   "\"id\":\"/etc/shadow\"}}"),
	        "error file /etc/shadow: Permission denied");
	assert_string_equal(
	        summary_of("{\"event\":{\"action\":\"error\"},\"error\":{\"message\":\"bad "
	                   "line\"},\"fim\":{\"object\":\"cron\",\"source\":\"/etc/crontab\"}}"),
	        "error cron /etc/crontab: bad line");
	/* a journal alert without a message still names its rule */
	assert_string_equal(
	        summary_of("{\"event\":{\"action\":\"marker\"},\"fim\":{\"object\":\"journal\","
	                   "\"rule\":\"marker\",\"severity\":\"low\"}}"),
	        "journal marker severity=low: ");
	/* control bytes from a path stay on one line */
	assert_string_equal(
	        summary_of("{\"event\":{\"action\":\"added\"},\"fim\":{\"object\":\"file\","
	                   "\"id\":\"/tmp/a\\nchanged file /etc/passwd\",\"severity\":\"low\","
	                   "\"rule\":\"/tmp\"}}"),
	        "added file /tmp/a?changed file /etc/passwd severity=low rule=/tmp");
}

struct fx {
	char dir[64];
	char path[96];
	int rx; /* the receiving end, -1 when "down" */
	struct sinks *s;
};

static void rx_up(struct fx *f)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	unlink(f->path);
	f->rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(f->rx >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	assert_int_equal(bind(f->rx, (struct sockaddr *)&a, sizeof(a)), 0);
}

static void rx_down(struct fx *f)
{
	close(f->rx);
	f->rx = -1;
	unlink(f->path);
}

/* The next datagram received, as text, or NULL when none is waiting. */
static const char *rx_next(struct fx *f)
{
	static char buf[16384];
	ssize_t n = recv(f->rx, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* The text after the "<PRI>Mmm dd hh:mm:ss fim[PID]: " header, which is checked. */
static const char *body(const char *dgram, int want_pri)
{
	char head[64];
	const char *colon;

	assert_non_null(dgram);
	snprintf(head, sizeof(head), "<%d>", want_pri);
	assert_memory_equal(dgram, head, strlen(head));
	colon = strstr(dgram, "]: ");
	assert_non_null(colon);
	snprintf(head, sizeof(head), " fim[%d", (int)getpid());
	assert_non_null(strstr(dgram, head));
	return colon + 3;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sink_conf c = {.syslog = true, .facility = LOG_AUTHPRIV};

	assert_non_null(f);
	assert_non_null(fx_tmpdir(f->dir, sizeof(f->dir), "sink"));
	snprintf(f->path, sizeof(f->path), "%s/log", f->dir);
	c.syslog_socket = f->path;
	f->rx = -1;
	assert_int_equal(sinks_open(&c, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sinks_close(f->s);
	if (f->rx >= 0)
		close(f->rx);
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

static int emit(struct fx *f, const char *id, const char *sev)
{
	char line[512];
	const char *failed = NULL;
	int r;

	snprintf(line, sizeof(line),
	         "{\"event\":{\"action\":\"changed\"},\"fim\":{\"object\":\"file\",\"id\":\"%s\","
	         "\"rule\":\"/etc\",\"severity\":\"%s\",\"changed\":[\"hash\"]}}",
	         id, sev);
	r = sinks_emit(f->s, line, strlen(line), &failed);
	if (r < 0)
		assert_string_equal(failed, "syslog");
	return r;
}

static void test_syslog_delivers(void **state)
{
	struct fx *f = *state;

	rx_up(f);
	assert_int_equal(emit(f, "/etc/a", "high"), 0);
	assert_string_equal(body(rx_next(f), LOG_AUTHPRIV | LOG_ERR),
	                    "changed file /etc/a [hash] severity=high rule=/etc");
	assert_int_equal(emit(f, "/etc/b", "critical"), 0);
	assert_string_equal(body(rx_next(f), LOG_AUTHPRIV | LOG_CRIT),
	                    "changed file /etc/b [hash] severity=critical rule=/etc");
	assert_null(rx_next(f));
	assert_int_equal(sinks_retry(f->s), 0); /* nothing held */
}

static void test_syslog_holds_while_down(void **state)
{
	struct fx *f = *state;
	int r;

	/* no socket at all, then one nobody reads from */
	r = emit(f, "/etc/a", "high");
	assert_true(r == -ENOENT || r == -ECONNREFUSED);
	rx_up(f);
	rx_down(f);
	r = emit(f, "/etc/b", "high");
	assert_true(r == -ENOENT || r == -ECONNREFUSED);
	/* the same alert sent again while down is held once */
	emit(f, "/etc/b", "high");
	assert_true(sinks_retry(f->s) < 0);
	/* back: what was held goes out first, in order, then the new one */
	rx_up(f);
	assert_int_equal(emit(f, "/etc/c", "high"), 0);
	assert_string_equal(body(rx_next(f), LOG_AUTHPRIV | LOG_ERR),
	                    "changed file /etc/a [hash] severity=high rule=/etc");
	assert_string_equal(body(rx_next(f), LOG_AUTHPRIV | LOG_ERR),
	                    "changed file /etc/b [hash] severity=high rule=/etc");
	assert_string_equal(body(rx_next(f), LOG_AUTHPRIV | LOG_ERR),
	                    "changed file /etc/c [hash] severity=high rule=/etc");
	assert_null(rx_next(f));
	assert_int_equal(sinks_retry(f->s), 0);
}

static void test_syslog_retry_and_bound(void **state)
{
	struct fx *f = *state;
	char id[64];
	int n = 0;

	for (int i = 0; i < SINK_SYSLOG_HELD + 10; i++) {
		snprintf(id, sizeof(id), "/etc/f%d", i);
		assert_true(emit(f, id, "low") < 0);
	}
	rx_up(f);
	/* a small receive buffer must not lose any: retry until all went out */
	for (int tries = 0; tries < 1000 && n < SINK_SYSLOG_HELD; tries++) {
		int r = sinks_retry(f->s);
		const char *d;

		while ((d = rx_next(f))) {
			snprintf(id, sizeof(id), "changed file /etc/f%d [hash]", n);
			assert_memory_equal(body(d, LOG_AUTHPRIV | LOG_NOTICE), id, strlen(id));
			n++;
		}
		if (r >= 0 && n == SINK_SYSLOG_HELD)
			break;
	}
	/* the oldest are kept; the ones past the bound were not held */
	assert_int_equal(n, SINK_SYSLOG_HELD);
	assert_int_equal(sinks_retry(f->s), 0);
	assert_null(rx_next(f));
}

/* The line is cut where it is too long without splitting a character (the
 * journal keeps a MESSAGE that is not UTF-8 as a blob, which journalctl
 * does not show), and C1 control characters are shown as '?' as the C0
 * ones are. */
static void test_summary_utf8(void **state)
{
	/* "journal rr severity=high: " is 26 bytes: an odd number of bytes is
	 * left for two-byte characters */
	const size_t head = 26, room = 8191 - head;
	char *text = malloc(20000), *p;
	const char *out;

	(void)state;
	assert_non_null(text);
	p = text + sprintf(text, "{\"event\":{\"action\":\"rr\"},\"fim\":{\"object\":\"journal\","
	                         "\"severity\":\"high\",\"message\":\"");
	for (size_t i = 0; i < 5000; i++)
		p += sprintf(p, "\xc3\xa9");
	sprintf(p, "\"}}");
	out = summary_of(text);
	free(text);
	assert_true(utf8_valid((const uint8_t *)out, strlen(out)));
	assert_int_equal(strlen(out), head + room / 2 * 2);
	assert_memory_equal(out + strlen(out) - 2, "\xc3\xa9", 2);
	/* U+009B (CSI) and U+0085 are control characters; U+00A0 is not */
	assert_string_equal(
	        summary_of("{\"event\":{\"action\":\"tree_gone\"},\"message\":\"a\\u009b2Jb"
	                   "\\u0085c\\u00a0d\",\"fim\":{\"object\":\"watch\",\"severity\":"
	                   "\"high\"}}"),
	        "watch tree_gone severity=high: a?2Jb?c\xc2\xa0"
	        "d");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_summary_kinds),
	        cmocka_unit_test(test_summary_utf8),
	        cmocka_unit_test_setup_teardown(test_syslog_delivers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_syslog_holds_while_down, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_syslog_retry_and_bound, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
