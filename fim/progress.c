/* SPDX-License-Identifier: ISC */
/* Progress line: files, bytes, rate and, with an estimate, time left. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "fim/progress.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, const char *what, bool on, uint64_t total_files,
                   uint64_t total_bytes)
{
	*p = (struct progress){
	        .on = on, .what = what, .total_files = total_files, .total_bytes = total_bytes};
	p->t0 = p->last = now();
}

static void draw(struct progress *p, double t)
{
	double secs = t - p->t0, rate = secs > 0 ? (double)p->bytes / secs : 0;
	char eta[32] = "";

	/* Time left from whichever share is further along: bytes or files. */
	if (p->total_bytes && p->total_files && secs > 1) {
		double done = (double)p->bytes / (double)p->total_bytes;
		double fdone = (double)p->files / (double)p->total_files;
		if (fdone > done)
			done = fdone;
		if (done > 0.01 && done < 1) {
			unsigned left = (unsigned)(secs / done - secs);
			snprintf(eta, sizeof(eta), ", ETA %u:%02u", left / 60, left % 60);
		}
	}
	fprintf(stderr, "\rfim %s: %llu files, %.1f MB, %.0f MB/s%s\033[K", p->what,
	        (unsigned long long)p->files, (double)p->bytes / 1e6, rate / 1e6, eta);
	fflush(stderr);
}

void progress_add(struct progress *p, uint64_t bytes)
{
	double t;

	p->files++;
	p->bytes += bytes;
	if (!p->on || (p->files & 63))
		return;
	t = now();
	if (t - p->last < 0.25)
		return;
	p->last = t;
	draw(p, t);
}

void progress_end(struct progress *p)
{
	if (p->on && p->last > p->t0) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}

void progress_parse_stats(const void *stats, size_t len, uint64_t *files, uint64_t *bytes)
{
	char buf[256], *v;
	size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;

	memcpy(buf, stats, n);
	buf[n] = '\0';
	*files = *bytes = 0;
	v = strstr(buf, "files=");
	if (v)
		*files = strtoull(v + 6, NULL, 10);
	v = strstr(buf, "bytes=");
	if (v)
		*bytes = strtoull(v + 6, NULL, 10);
}
