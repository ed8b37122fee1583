/* SPDX-License-Identifier: ISC */
/* libFuzzer target: verifying arbitrary bytes as an alert trail, from memory and from a file alike.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fim/trust/trail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[TRAIL_KEY_BYTES] = {0x5a};

/* The input as a file, for trail_verify's reader; NULL if unavailable. */
static const char *as_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	size_t done = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz-trail", MFD_CLOEXEC);
		if (fd < 0)
			return NULL;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0)
		return NULL;
	while (done < size) {
		ssize_t k = pwrite(fd, data + done, size - done, (off_t)done);
		if (k <= 0)
			return NULL;
		done += (size_t)k;
	}
	return path;
}

static void check(const uint8_t *data, size_t size, const uint8_t *k, const char *path)
{
	uint64_t lines = 0, bad = 0, flines = 0, fbad = 0, newlines = 0;
	char why[128] = "", fwhy[128] = "";
	int r = trail_verify_buf(data, size, k, &lines, &bad, why, sizeof(why));

	for (size_t i = 0; i < size; i++)
		newlines += data[i] == '\n';
	if (r == 0 && lines != newlines)
		abort(); /* intact: every line complete and counted */
	if (r == -EBADMSG && (bad == 0 || bad > newlines + 1 || !why[0]))
		abort();
	if (r != 0 && r != -EBADMSG)
		abort();
	if (!path)
		return;
	/* The file reader must come to the same verdict. */
	int fr = trail_verify(path, k, &flines, &fbad, fwhy, sizeof(fwhy));
	if (fr != r || flines != lines || fbad != bad || strcmp(fwhy, why) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = as_file(data, size);

	check(data, size, NULL, path);
	check(data, size, key, path);
	return 0;
}
