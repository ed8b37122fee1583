/* SPDX-License-Identifier: ISC */
/* Ordered parallel collection: a ring of slots, worker threads, in-order completion. */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "baseline/pipeline.h"

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_READY };

struct pipeline {
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* workers wait for queued slots */
	pthread_cond_t done_cv; /* the submitter waits for the oldest slot */
	struct pipe_slot *slots;
	enum slot_state *state;
	size_t n;
	size_t head, next, tail; /* completed < head <= next (workers) <= tail (free) */
	bool stop;
	unsigned idle;     /* workers waiting on work_cv */
	bool main_waiting; /* the submitter waits on done_cv ... */
	size_t awaited;    /* ... for this slot (an index, not yet modulo n) */
	int err;
	pipe_complete_fn complete;
	void *ctx;
	enum hash_algo algo;
	bool keep_cache;
	int (*tick)(void *ctx); /* handed to each read (pipeline_set_tick) */
	void *tick_ctx;
	pthread_t *threads;
	unsigned nthreads;
	struct files_scratch inline_scratch;
};

unsigned pipeline_default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

size_t pipeline_default_slots(void)
{
	struct rlimit rl;
	size_t n = 1024;

	/* Deep walks hold a directory fd per level; leave room for them. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		size_t spare = rl.rlim_cur > 256 ? (size_t)(rl.rlim_cur - 256) / 2 : 0;
		if (spare < n)
			n = spare < 16 ? 16 : spare;
	}
	return n;
}

int pipe_slot_set_path(struct pipe_slot *s, const char *path, size_t len, size_t name_len)
{
	s->path.n = 0;
	if (buf_append(&s->path, path, len) < 0 || buf_append(&s->path, "", 1) < 0)
		return -ENOMEM;
	s->path.n = len;
	s->name_off = len - name_len;
	return 0;
}

/*
 * Grows the process's fd table to hold NEED descriptors before any worker
 * exists. The kernel grows it on demand, but once threads share it each
 * growth waits for an RCU grace period (synchronize_rcu), milliseconds to
 * tens of milliseconds on a busy host, during which every open in the
 * process stalls: several times per scan as the slots fill with pins.
 */
static void reserve_fds(size_t need)
{
	struct rlimit rl;
	int fd, big;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    need >= rl.rlim_cur)
		need = rl.rlim_cur ? (size_t)rl.rlim_cur - 1 : 0;
	if (need < 64 || need > INT_MAX)
		return;
	fd = open("/", O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	big = fcntl(fd, F_DUPFD_CLOEXEC, (int)need);
	if (big >= 0)
		close(big);
	close(fd);
}

/* Reads one regular file: digest, xattrs, ACL, caps, label, via its fd. */
static void slot_work(struct files_scratch *scr, struct pipe_slot *s)
{
	struct files_prefix prefix = {.base = s->has_base ? &s->base : NULL};
	int fd = files_open_pinned(s->fd);

	if (fd < 0) {
		s->rec = (struct file_rec){0};
		files_from_stat(&s->st, s->attrs & FILES_STAT_ATTRS, &s->rec);
		s->rec.flags |= REC_UNREADABLE;
		s->err = fd;
	} else {
		s->err = files_collect(scr, &s->text, -1, NULL, fd, &s->st, s->attrs,
		                       s->growing ? &prefix : NULL, &s->rec);
		s->prefix_same = prefix.same;
		close(fd);
	}
	close(s->fd);
	s->fd = -1;
}

static void *worker(void *arg)
{
	struct pipeline *p = arg;
	struct files_scratch scr;
	bool ok = files_scratch_init(&scr, p->algo) == 0;
	scr.keep_cache = p->keep_cache;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next < p->tail && p->state[p->next % p->n] != SLOT_QUEUED)
			p->next++;
		if (p->stop)
			break;
		if (p->next == p->tail) {
			p->idle++;
			pthread_cond_wait(&p->work_cv, &p->mu);
			p->idle--;
			continue;
		}
		size_t i = p->next++ % p->n;
		p->state[i] = SLOT_RUNNING;
		scr.tick = p->tick;
		scr.tick_ctx = p->tick_ctx;
		pthread_mutex_unlock(&p->mu);
		if (ok) {
			slot_work(&scr, &p->slots[i]);
		} else {
			p->slots[i].err = -ENOMEM;
			close(p->slots[i].fd);
			p->slots[i].fd = -1;
		}
		pthread_mutex_lock(&p->mu);
		p->state[i] = SLOT_READY;
		/* Wake the submitter only if it waits, and for the slot it waits on. */
		if (p->main_waiting && i == p->awaited % p->n)
			pthread_cond_signal(&p->done_cv);
	}
	pthread_mutex_unlock(&p->mu);
	files_scratch_free(&scr);
	return NULL;
}

int pipeline_new(unsigned jobs, size_t slots, enum hash_algo algo, unsigned flags,
                 pipe_complete_fn complete, void *ctx, struct pipeline **ret)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->n = slots ? slots : 1;
	p->complete = complete;
	p->ctx = ctx;
	p->algo = algo;
	p->keep_cache = flags & PIPE_KEEP_CACHE;
	p->slots = calloc(p->n, sizeof(*p->slots));
	p->state = calloc(p->n, sizeof(*p->state));
	p->threads = calloc(jobs ? jobs : 1, sizeof(*p->threads));
	if (!p->slots || !p->state || !p->threads ||
	    files_scratch_init(&p->inline_scratch, algo) < 0) {
		pipeline_free(p);
		return -ENOMEM;
	}
	p->inline_scratch.keep_cache = p->keep_cache;
	for (size_t i = 0; i < p->n; i++)
		p->slots[i].fd = -1;
	/* A pin per slot, a file per worker, a directory per level walked. */
	if (jobs)
		reserve_fds(p->n + jobs + 128);
	for (unsigned i = 0; i < jobs; i++) {
		r = pthread_create(&p->threads[i], NULL, worker, p);
		if (r) {
			pipeline_free(p);
			return -r;
		}
		p->nthreads++;
	}
	*ret = p;
	return 0;
}

void pipeline_set_tick(struct pipeline *p, int (*tick)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&p->mu);
	p->tick = tick;
	p->tick_ctx = ctx;
	p->inline_scratch.tick = tick;
	p->inline_scratch.tick_ctx = ctx;
	pthread_mutex_unlock(&p->mu);
}

/* Waits until submitted slot AT is ready. Called locked. */
static void await_slot(struct pipeline *p, size_t at)
{
	size_t i = at % p->n;

	while (p->state[i] != SLOT_READY) {
		p->awaited = at;
		p->main_waiting = true;
		pthread_cond_wait(&p->done_cv, &p->mu);
		p->main_waiting = false;
	}
}

/* Completes the oldest slot; waits for it when WAIT. Returns 1 if one was
 * completed, 0 if none was ready, or the consumer's error. Called locked. */
static int complete_head(struct pipeline *p, bool wait)
{
	size_t i;
	int r;

	if (p->head == p->tail)
		return 0;
	i = p->head % p->n;
	if (p->state[i] != SLOT_READY) {
		if (!wait)
			return 0;
		await_slot(p, p->head);
	}
	pthread_mutex_unlock(&p->mu);
	r = p->err ? p->err : p->complete(p->ctx, &p->slots[i]);
	pthread_mutex_lock(&p->mu);
	p->state[i] = SLOT_FREE;
	p->head++;
	if (p->next < p->head) /* workers never look behind the consumer */
		p->next = p->head;
	if (r < 0 && !p->err)
		p->err = r;
	return p->err ? p->err : 1;
}

struct pipe_slot *pipeline_slot(struct pipeline *p)
{
	struct pipe_slot *s = NULL;

	pthread_mutex_lock(&p->mu);
	if (!p->err && p->tail - p->head == p->n && p->n >= 16) {
		/*
		 * All slots in flight: the hashing is behind. Let a batch
		 * finish before walking on, so that the submitter is woken
		 * once per batch rather than once per file; on two cores,
		 * each wake-up preempts a worker. Slots finish about in
		 * order, so the last of the batch is the one to wait for.
		 */
		await_slot(p, p->head + p->n / 16 - 1);
		while (complete_head(p, false) == 1)
			;
	}
	while (!p->err && p->tail - p->head == p->n)
		complete_head(p, true);
	if (!p->err) {
		s = &p->slots[p->tail % p->n];
		s->work = false;
		s->has_base = s->growing = false;
		s->err = 0;
		s->fd = -1;
	}
	pthread_mutex_unlock(&p->mu);
	return s;
}

int pipeline_submit(struct pipeline *p, struct pipe_slot *s)
{
	int r;

	if (s->work && p->nthreads == 0) {
		slot_work(&p->inline_scratch, s);
		s->work = false;
	}
	pthread_mutex_lock(&p->mu);
	p->state[p->tail % p->n] = s->work ? SLOT_QUEUED : SLOT_READY;
	p->tail++;
	if (s->work && p->idle)
		pthread_cond_signal(&p->work_cv);
	/* Keep the consumer close behind: finish what is already done. */
	while ((r = complete_head(p, false)) == 1)
		;
	pthread_mutex_unlock(&p->mu);
	return r < 0 ? r : 0;
}

int pipeline_drain(struct pipeline *p)
{
	int r = 0;

	pthread_mutex_lock(&p->mu);
	while (p->head != p->tail && (r = complete_head(p, true)) >= 0)
		;
	r = p->err;
	pthread_mutex_unlock(&p->mu);
	return r;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	if (p->slots) {
		for (size_t i = 0; i < p->n; i++) {
			if (p->slots[i].fd >= 0)
				close(p->slots[i].fd);
			files_text_free(&p->slots[i].text);
			buf_free(&p->slots[i].path);
		}
	}
	files_scratch_free(&p->inline_scratch);
	free(p->slots);
	free(p->state);
	free(p->threads);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
