/* SPDX-License-Identifier: ISC */
/* libFuzzer target: whole baseline data files (data.mdb), opened and read in full by the store. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fim/store/store.h"
#include "tests/unit/fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An input of at least two pages is a whole data file. A shorter one is a
 * list of (offset u16, xor byte) patches applied to a real baseline built
 * once, so that the fuzzer reaches the pages behind valid meta pages
 * quickly.
 */
#define WHOLE_MIN 8192

static char tmp[200], db[210], data_path[240];
static uint8_t *real;
static size_t real_size;

static void remove_tmp(void)
{
	fx_rmtree(tmp);
}

static void build_real(void)
{
	struct store_writer *w;
	struct file_rec r;
	uint64_t root, id;
	char target[2500];
	struct stat st;
	int fd;

	if (!fx_tmpdir(tmp, sizeof(tmp), "fuzz-store"))
		abort();
	atexit(remove_tmp);
	snprintf(db, sizeof(db), "%s/db", tmp);
	memset(target, 't', sizeof(target));
	if (store_writer_new(db, &w) < 0)
		abort();
	root = store_writer_new_node(w);
	r = (struct file_rec){.attrs = ATTR_BIT(ATTR_TYPE), .type = FT_DIR, .dirid = root};
	store_writer_put(w, 0, "", 0, &r);
	for (int d = 0; d < 8; d++) {
		char name[16];

		id = store_writer_new_node(w);
		snprintf(name, sizeof(name), "d%d", d);
		r = (struct file_rec){.attrs = ATTR_BIT(ATTR_TYPE), .type = FT_DIR, .dirid = id};
		store_writer_put(w, root, name, strlen(name), &r);
		for (int f = 0; f < 12; f++) {
			snprintf(name, sizeof(name), "f%d", f);
			r = (struct file_rec){.attrs = ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_TARGET),
			                      .type = FT_LNK,
			                      .target = {(const uint8_t *)target,
			                                 f == 0 ? sizeof(target) : (size_t)f}};
			store_writer_put(w, id, name, strlen(name), &r);
		}
	}
	store_writer_meta(w, META_HOST, "fuzz", 4);
	store_writer_audit(w, "{}", 2, NULL);
	if (store_writer_commit(w) < 0)
		abort();
	snprintf(data_path, sizeof(data_path), "%s/current/data.mdb", db);
	fd = open(data_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
	real_size = (size_t)st.st_size;
	real = malloc(real_size);
	if (!real || read(fd, real, real_size) != (ssize_t)real_size)
		abort();
	close(fd);
}

static void walk(struct store *s, uint64_t parent, unsigned depth, unsigned *seen)
{
	struct store_iter *it = NULL;
	struct file_rec rec;
	struct bytes name;

	if (depth > 8 || *seen > 1000 || store_iter_children(s, parent, &it) < 0)
		return;
	while (store_iter_next(it, &name, &rec) > 0) {
		char *path = NULL;

		++*seen;
		if (rec.type == FT_DIR && rec.dirid && rec.dirid != parent) {
			if (store_node_path(s, rec.dirid, &path, NULL) == 0)
				free(path);
			walk(s, rec.dirid, depth + 1, seen);
		}
	}
	store_iter_free(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	uint8_t digest[STORE_DIGEST_BYTES];
	struct store_iter *it = NULL;
	struct store *s = NULL;
	struct bytes v;
	uint64_t seq;
	unsigned seen = 0;
	const uint8_t *file = in;
	uint8_t *patched = NULL;
	size_t n = size;
	int fd;

	if (!real)
		build_real();
	if (size < WHOLE_MIN) {
		patched = malloc(real_size);
		if (!patched)
			return 0;
		memcpy(patched, real, real_size);
		for (size_t i = 0; i + 3 <= size; i += 3) {
			size_t at = ((size_t)in[i] << 8 | in[i + 1]) % real_size;
			patched[at] ^= in[i + 2];
		}
		file = patched;
		n = real_size;
	}
	/* rewritten in place: ext4 flushes a file truncated to zero on close */
	fd = open(data_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, file, n, 0) != (ssize_t)n || ftruncate(fd, (off_t)n) < 0)
		abort();
	close(fd);
	free(patched);
	if (store_open(db, &s) < 0)
		return 0;
	store_meta(s, META_HOST, &v);
	walk(s, 0, 0, &seen);
	if (store_audit_iter(s, &it) == 0)
		while (store_audit_next(it, &seq, &v) > 0)
			;
	store_iter_free(it);
	store_digest(s, digest);
	store_close(s);
	return 0;
}
