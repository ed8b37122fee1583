/* SPDX-License-Identifier: ISC */
/* Standard output that remembers why a write failed, and what reads it (a journal stream). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fim/log.h"
#include "fim/output.h"
#include "fim/core/utf8.h"

/* A line of JSON is written in one piece when it fits. */
#define OUTPUT_BUFFER (64u << 10)

static int first_err;
static bool reported;
static bool out_closed; /* fd 1 was closed when fim started */

static ssize_t out_write(void *cookie, const char *data, size_t n)
{
	size_t done = 0;

	/* What follows a lost piece would be a corrupt line: stop at the first. */
	if (first_err) {
		errno = -first_err;
		return -1;
	}
	while (done < n) {
		ssize_t k = write(STDOUT_FILENO, data + done, n - done);

		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			/* stdout inherited in non-blocking mode: wait, do not drop */
			struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
			if (poll(&p, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		first_err = k < 0 ? -errno : -EIO;
		errno = -first_err;
		return -1;
	}
	return (ssize_t)n;
}

/*
 * A standard descriptor that fim was started without would be taken by the
 * next file it opens (the baseline, the trail), and the report or the
 * messages written into that file. Each is held by /dev/null, opened for
 * reading so that a write still fails (EBADF) and is reported.
 */
static int hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int k;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free descriptor: FD, the ones below are open */
		k = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (k < 0)
			return -errno;
		if (fd == STDOUT_FILENO)
			out_closed = true;
	}
	return 0;
}

int output_init(void)
{
	static const cookie_io_functions_t io = {.write = out_write};
	FILE *f;
	int r = hold_std_fds();

	if (r < 0)
		return r;
	/* A reader that goes away (| head) is a failed write, reported with
	 * the run's other results, not a death that cuts the trail short. */
	signal(SIGPIPE, SIG_IGN);
	f = fopencookie(NULL, "w", io);
	if (!f)
		return -ENOMEM;
	if (setvbuf(f, NULL, _IOFBF, OUTPUT_BUFFER) != 0) {
		fclose(f);
		return -ENOMEM;
	}
	fflush(stdout);
	/* glibc's stdout is an ordinary variable that may be set. */
	stdout = f;
	return 0;
}

int output_error(void)
{
	return first_err;
}

int output_flush(void)
{
	if (fflush(stdout) != 0 && !first_err)
		first_err = errno ? -errno : -EIO;
	if (ferror(stdout) && !first_err)
		first_err = -EIO;
	return first_err;
}

/* "/dev/full", "pipe:[1234]", a file name, or "fd 1" when it cannot be told. */
static void output_name(char *buf, size_t size)
{
	ssize_t n = out_closed ? -1 : readlink("/proc/self/fd/1", buf, size - 1);

	if (out_closed) {
		snprintf(buf, size, "closed");
		return;
	}
	if (n <= 0) {
		snprintf(buf, size, "fd 1");
		return;
	}
	buf[n] = '\0';
}

bool output_report(const char *cmd)
{
	char name[512], q[1024];

	if (!first_err)
		return false;
	if (reported)
		return true;
	reported = true;
	output_name(name, sizeof(name));
	log_error("%s: cannot write to standard output (%s): %s", cmd,
	          utf8_quote(name, strlen(name), q, sizeof(q)), strerror(-first_err));
	return true;
}

bool output_is_journal(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!e || *e < '0' || *e > '9')
		return false;
	dev = strtoull(e, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	ino = strtoull(end + 1, &end, 10);
	if (*end || fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool output_shared(void)
{
	struct stat o, e;

	if (fstat(STDOUT_FILENO, &o) < 0 || fstat(STDERR_FILENO, &e) < 0)
		return false;
	return o.st_dev == e.st_dev && o.st_ino == e.st_ino && !isatty(STDERR_FILENO);
}
