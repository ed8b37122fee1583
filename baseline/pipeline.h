/* SPDX-License-Identifier: ISC */
/* Ordered parallel collection: walk order in, N hash workers, walk order out. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "baseline/files.h"

/*
 * A slot carries one object from the walk to the consumer. The walker
 * fills a slot and submits it; if it needs work (a regular file to read),
 * a worker collects it; either way the consumer sees slots strictly in the
 * order they were submitted, on the submitting thread, so output and store
 * order never depend on timing.
 */
struct pipe_slot {
	/* Work: set work, fd (a files_pin'ed regular file, owned and closed by
	 * the pipeline), st (its fstat), attrs and, for a growing file, base. */
	bool work;
	int fd;
	struct stat st;
	attrset_t attrs;
	bool has_base;
	bool growing;
	struct file_rec base; /* spans must outlive the slot (a store read txn) */
	/* Results of the work (or filled by the walker when !work). */
	struct file_rec rec; /* spans point into text */
	struct files_text text;
	int err;
	bool prefix_same;
	/* For the walker and the consumer; kept between uses of the slot. */
	int tag;
	struct buf path; /* NUL-terminated, n excludes the NUL */
	size_t name_off; /* where the last component starts in path */
	const void *rule;
	uint64_t parent, id;
};

struct pipeline;

/* Called on the submitting thread for each slot in submission order. A
 * negative return stops the pipeline: later calls return that value. */
typedef int (*pipe_complete_fn)(void *ctx, struct pipe_slot *s);

/*
 * Starts JOBS worker threads (0: work is done inline at submit) hashing
 * with ALGO (FLAGS: PIPE_*), with at most SLOTS objects in flight. Returns 0, -ENOMEM, or
 * the error of pthread_create.
 */
enum {
	PIPE_KEEP_CACHE = 1u << 0, /* leave the pages of cold files cached */
};
int pipeline_new(unsigned jobs, size_t slots, enum hash_algo algo, unsigned flags,
                 pipe_complete_fn complete, void *ctx, struct pipeline **ret);

/* The next free slot, completing finished slots (and waiting for the
 * oldest) when all are in flight. Returns NULL after a consumer error. */
struct pipe_slot *pipeline_slot(struct pipeline *p);

/* Hands the slot from pipeline_slot to the workers (or straight to the
 * consumer when !s->work). Returns 0 or the consumer's error. */
int pipeline_submit(struct pipeline *p, struct pipe_slot *s);

/* Completes everything submitted. Returns 0 or the consumer's error. */
int pipeline_drain(struct pipeline *p);

/* Sets the files_scratch tick of every read from now on (before the first
 * submit): a negative return ends that read with its error. */
void pipeline_set_tick(struct pipeline *p, int (*tick)(void *ctx), void *ctx);

/* Stops the workers and frees all slots; unfinished slots are dropped. */
void pipeline_free(struct pipeline *p);

/* Worker count for --jobs 0: the online CPUs. */
unsigned pipeline_default_jobs(void);

/* Slots to use: as many as open files allow (each may hold one), at most 1024. */
size_t pipeline_default_slots(void);

/* Copies PATH[0..len) into s->path (NUL-terminated) and notes where its
 * last component of NAME_LEN bytes starts. Returns 0 or -ENOMEM. */
int pipe_slot_set_path(struct pipe_slot *s, const char *path, size_t len, size_t name_len);
