/* SPDX-License-Identifier: ISC */
/* The watcher's journald side: sd_journal from a cursor, each entry through the journal rules. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "fim/watch/journal.h"
#include "fim/watch/journal_rules.h"
#include "fim/core/common.h"

#define FIELD_MAX  65536 /* bytes of one field read from the journal */
#define FIELDS_MAX 256   /* distinct fields the rules may look at in one entry */

/* A field of the current entry, as read once (sd_journal_get_data reuses its buffer). */
struct fval {
	char *name;
	void *value; /* NULL when the entry lacks the field */
	size_t len;
};

struct fim_journal {
	sd_journal *j;
	struct jrules *rules;
	char *host;
	char *cursor; /* of the last entry read */
	int fd;
	bool redo; /* the current entry's alerts did not go out: read it again */
	struct fval *fields;
	size_t nfields, cap;
};

static void fields_clear(struct fim_journal *j)
{
	for (size_t i = 0; i < j->nfields; i++) {
		free(j->fields[i].name);
		free(j->fields[i].value);
	}
	j->nfields = 0;
}

/* jentry.get over the current entry: each field read once, copied, kept until the next. */
static const void *field_get(void *ctx, const char *field, size_t *len)
{
	struct fim_journal *j = ctx;
	size_t flen = strlen(field);
	const void *data;
	struct fval *v;
	size_t n;
	int r;

	for (size_t i = 0; i < j->nfields; i++)
		if (strcmp(j->fields[i].name, field) == 0) {
			*len = j->fields[i].len;
			return j->fields[i].value;
		}
	if (j->nfields == FIELDS_MAX)
		return NULL;
	if (j->nfields == j->cap) {
		size_t ncap = j->cap ? 2 * j->cap : 16;
		struct fval *nf = reallocarray(j->fields, ncap, sizeof(*nf));

		if (!nf)
			return NULL;
		j->fields = nf;
		j->cap = ncap;
	}
	v = &j->fields[j->nfields];
	*v = (struct fval){.name = strdup(field)};
	if (!v->name)
		return NULL;
	j->nfields++;
	r = sd_journal_get_data(j->j, field, &data, &n);
	if (r < 0 || n <= flen || memcmp(data, field, flen) != 0 ||
	    ((const char *)data)[flen] != '=')
		return NULL; /* absent (or not readable): the same answer next time */
	n -= flen + 1;
	if (n > FIELD_MAX)
		n = FIELD_MAX;
	v->value = malloc(n + 1);
	if (!v->value)
		return NULL;
	memcpy(v->value, (const char *)data + flen + 1, n);
	((char *)v->value)[n] = '\0';
	v->len = n;
	*len = n;
	return v->value;
}

int journal_open(const char *dir, const struct policy *p, const char *host,
                 struct fim_journal **ret, char *err, size_t errsize)
{
	struct fim_journal *j = calloc(1, sizeof(*j));
	int r;

	if (!j || !(j->host = strdup(host ? host : ""))) {
		snprintf(err, errsize, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	r = jrules_new(p, host, &j->rules, err, errsize);
	if (r < 0)
		goto fail;
	if (dir)
		r = sd_journal_open_directory(&j->j, dir, 0);
	else
		r = sd_journal_open(&j->j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		snprintf(err, errsize, "cannot open the journal%s%s: %s", dir ? " in " : "",
		         dir ? dir : "", strerror(-r));
		goto fail;
	}
	sd_journal_set_data_threshold(j->j, FIELD_MAX);
	/* asked right away, so that changes before the first poll are not missed */
	j->fd = sd_journal_get_fd(j->j);
	if (j->fd < 0) {
		r = j->fd;
		snprintf(err, errsize, "cannot watch the journal%s%s: %s", dir ? " in " : "",
		         dir ? dir : "", strerror(-r));
		goto fail;
	}
	*ret = j;
	return 0;
fail:
	journal_free(j);
	return r;
}

void journal_free(struct fim_journal *j)
{
	if (!j)
		return;
	fields_clear(j);
	free(j->fields);
	jrules_free(j->rules);
	if (j->j)
		sd_journal_close(j->j);
	free(j->cursor);
	free(j->host);
	free(j);
}

/* The realtime ("t=" field, hex microseconds) a cursor names, 0 when it has none. */
static uint64_t cursor_time(const char *cursor)
{
	const char *t = strstr(cursor, ";t=");
	uint64_t v = 0;

	t = strncmp(cursor, "t=", 2) == 0 ? cursor : t ? t + 1 : NULL;
	if (!t)
		return 0;
	for (t += 2; *t && *t != ';'; t++) {
		int d = *t >= '0' && *t <= '9'   ? *t - '0'
		        : *t >= 'a' && *t <= 'f' ? *t - 'a' + 10
		                                 : -1;

		if (d < 0 || v >> 60)
			return 0;
		v = v << 4 | (unsigned)d;
	}
	return v;
}

int journal_seek(struct fim_journal *j, const char *cursor, uint64_t since_usec)
{
	int r;

	free(j->cursor);
	j->cursor = NULL;
	j->redo = false;
	if (cursor && cursor[0]) {
		r = sd_journal_seek_cursor(j->j, cursor);
		if (r >= 0)
			r = sd_journal_next(j->j);
		if (r > 0 && sd_journal_test_cursor(j->j, cursor) > 0) {
			j->cursor = strdup(cursor);
			return j->cursor ? 0 : -ENOMEM;
		}
		/* gone (rotated, vacuumed, another machine's): resume at its time, or SINCE if
		 * later, rather than replaying the whole journal */
		uint64_t t = cursor_time(cursor);

		if (t > since_usec)
			since_usec = t;
	}
	r = since_usec ? sd_journal_seek_realtime_usec(j->j, since_usec)
	               : sd_journal_seek_head(j->j);
	if (r < 0)
		return r;
	return cursor && cursor[0] ? 1 : 0;
}

int journal_fd(struct fim_journal *j)
{
	return j->fd;
}

int journal_process(struct fim_journal *j, size_t max, journal_alert_fn fn, void *arg,
                    journal_recheck_t *recheck)
{
	int n = 0, r;

	r = sd_journal_process(j->j); /* acknowledges the wake-up */
	if (r < 0)
		return r;
	while ((size_t)n < max) {
		struct jentry e = {.get = field_get, .ctx = j};
		char *cur = NULL, boot[SD_ID128_STRING_MAX];
		sd_id128_t bid;

		r = j->redo ? 1 : sd_journal_next(j->j);
		j->redo = false;
		if (r <= 0)
			return r < 0 ? r : n;
		r = sd_journal_get_realtime_usec(j->j, &e.realtime_usec);
		if (r < 0)
			e.realtime_usec = 0;
		if (sd_journal_get_monotonic_usec(j->j, &e.monotonic_usec, &bid) >= 0)
			e.boot_id = sd_id128_to_string(bid, boot);
		else
			e.monotonic_usec = 0;
		if (sd_journal_get_cursor(j->j, &cur) < 0)
			cur = NULL;
		e.cursor = cur;
		r = jrules_apply(j->rules, &e, fn, arg, recheck);
		fields_clear(j);
		if (r < 0) {
			j->redo = true; /* not delivered: read this entry again next time */
			free(cur);
			return r;
		}
		if (cur) {
			free(j->cursor);
			j->cursor = cur;
		}
		n++;
	}
	return n;
}

char *journal_cursor(struct fim_journal *j)
{
	return j->cursor ? strdup(j->cursor) : NULL;
}

int journal_reload(struct fim_journal *j, const struct policy *p, char *err, size_t errsize)
{
	struct jrules *nr;
	int r = jrules_new(p, j->host, &nr, err, errsize);

	if (r < 0)
		return r; /* the old rules stay */
	jrules_carry(nr, j->rules);
	jrules_free(j->rules);
	j->rules = nr;
	return 0;
}
