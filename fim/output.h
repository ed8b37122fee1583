/* SPDX-License-Identifier: ISC */
/* Standard output that remembers why a write failed, and what reads it (a journal stream). */
#pragma once

#include <stdbool.h>

/*
 * Makes stdout a stream on file descriptor 1 that keeps the first error of
 * a write (retrying EINTR and waiting out EAGAIN), so that the command can
 * say why its output was lost. Call it before anything is printed.
 * Descriptors 0 to 2 that are closed are held by /dev/null (read-only, so
 * that writes to them fail) for no other file to take, and SIGPIPE is
 * ignored: a reader gone is an EPIPE write error, not the end of fim.
 * Returns 0, -ENOMEM or the errno of opening /dev/null (stdout is then
 * left as it was).
 */
int output_init(void);

/* The first error writing standard output: 0 or a negative errno. */
int output_error(void);

/* Flushes stdout. Returns output_error() (or the flush's own error). */
int output_flush(void);

/*
 * Says, once, that standard output could not be written:
 * "fim: CMD: cannot write to standard output (/dev/full): No space left on device".
 * Returns whether there was such an error (reported now or before).
 */
bool output_report(const char *cmd);

/*
 * Whether FD is a stream systemd connected to the journal: $JOURNAL_STREAM
 * holds "DEVICE:INODE" of that stream, compared with fstat(FD) (a person or
 * a pipe reading inherits no such match). Lines written there may start
 * with a "<N>" syslog level (0 emergency .. 7 debug).
 */
bool output_is_journal(int fd);

/* Whether standard output and standard error are the same file (one pipe
 * after "2>&1", one journal stream) and not a terminal. */
bool output_shared(void);
