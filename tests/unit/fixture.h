/* SPDX-License-Identifier: ISC */
/* Shared by the unit tests and fuzzers: temp dirs, fake roots, a problem recorder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Makes a fresh directory /tmp/fim-test-TAG.XXXXXX (or under $TMPDIR) into
 * BUF. Returns BUF, or NULL with errno set. */
char *fx_tmpdir(char *buf, size_t size, const char *tag);

/* Removes DIR and everything below it, never following links. Returns 0 or -1. */
int fx_rmtree(const char *dir);

/*
 * A fake root: REL is a path as seen inside ROOT ("/etc/passwd"). Missing
 * parent directories are made (0755). Each returns false when the file
 * system refuses (tests assert it true; fuzzers give up on that input).
 */
bool fx_mkdirs(const char *root, const char *rel);
bool fx_parents(const char *root, const char *rel); /* only the directories above REL */
bool fx_put_bytes(const char *root, const char *rel, const void *data, size_t n, mode_t mode);
bool fx_put(const char *root, const char *rel, const char *text); /* mode 0644 */
bool fx_link(const char *root, const char *rel, const char *target);
bool fx_del(const char *root, const char *rel);
bool fx_fifo(const char *root, const char *rel); /* mode 0644 */
bool fx_chmod(const char *root, const char *rel, mode_t mode);
/* ROOT joined with REL into BUF; returns BUF. */
char *fx_path(char *buf, size_t size, const char *root, const char *rel);

/* What a collector reported through its problem callback. */
#define FX_MAX_PROBLEMS 256
struct fx_problems {
	struct fx_problem {
		char path[512];
		unsigned line;
		int err;
		char msg[600];
	} p[FX_MAX_PROBLEMS];
	size_t n; /* all reported, also those past FX_MAX_PROBLEMS */
};

/*
 * What every reported problem must be, for the fuzzers: a path, a negative
 * errno, a message of words (not empty, under 512 bytes) and, when MAX_LINE
 * is not 0, a line from 1 to MAX_LINE.
 */
bool fx_problem_sane(const char *path, unsigned line, unsigned max_line, int err, const char *msg);

/* A problem callback: USERDATA is a struct fx_problems. */
void fx_on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg);
/* The recorded problems as "PATH:LINE: MSG\n" lines into BUF; returns BUF. */
char *fx_problems_text(const struct fx_problems *ps, char *buf, size_t size);
