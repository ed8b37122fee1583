/* SPDX-License-Identifier: ISC */
/* fim watch: large files are read and hashed on a worker thread, so the event loop never waits on
 * one. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fim/watch/watch.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct whash {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	int efd; /* counts finished jobs: readable while one waits for the loop */
	struct whash_job *jobs[WATCH_MAX_HASHING]; /* in submission order */
	enum job_state state[WATCH_MAX_HASHING];
	size_t n;
	unsigned delay_ms;
	struct files_scratch scr; /* the worker's */
};

void whash_job_free(struct whash_job *j)
{
	if (!j)
		return;
	if (j->pin >= 0)
		close(j->pin);
	files_text_free(&j->text);
	free(j->path);
	free(j);
}

/* Between chunks: stop when asked; a test may slow the read down to show
 * that the loop goes on meanwhile. */
static int tick(void *ctx)
{
	struct whash *h = ctx;

	for (unsigned waited = 0;; waited += 10) {
		if (atomic_load(&h->stop))
			return -ECANCELED;
		if (waited >= h->delay_ms)
			return 0;
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
}

/*
 * Opens the file PIN names for reading. A lease its owner holds makes a
 * plain open wait for the kernel to break it (lease-break-time, 45 s by
 * default): waited for here in steps, so a stop still ends the worker.
 */
static int open_pinned(struct whash *h, int pin)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	char proc[40];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pin);
	for (;;) {
		int fd = open(proc, flags | O_NOATIME);

		if (fd < 0 && errno == EPERM)
			fd = open(proc, flags);
		if (fd >= 0 || errno != EWOULDBLOCK)
			return fd < 0 ? -errno : fd;
		if (atomic_load(&h->stop))
			return -ECANCELED;
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	}
}

static void job_run(struct whash *h, struct whash_job *j)
{
	struct files_prefix prefix = {.base = j->has_base ? &j->base : NULL};
	int64_t t0 = watch_now_ms();
	int fd;

	if (h->scr.algo != j->algo) { /* a new baseline with another algorithm */
		files_scratch_free(&h->scr);
		j->err = files_scratch_init(&h->scr, j->algo);
		h->scr.tick = tick;
		h->scr.tick_ctx = h;
		if (j->err < 0) {
			h->scr.algo = HASH_NONE;
			goto unreadable;
		}
	}
	fd = open_pinned(h, j->pin);
	if (fd < 0) {
		j->err = fd;
		goto unreadable;
	}
	j->err = files_collect(&h->scr, &j->text, -1, NULL, fd, &j->st, j->attrs,
	                       j->has_base ? &prefix : NULL, &j->rec);
	j->prefix_same = prefix.same;
	close(fd);
	j->took_ms = watch_now_ms() - t0;
	return;
unreadable:
	j->rec = (struct file_rec){0};
	files_from_stat(&j->st, j->attrs & FILES_STAT_ATTRS, &j->rec);
	j->rec.flags |= REC_UNREADABLE;
}

static void *worker(void *arg)
{
	struct whash *h = arg;

	pthread_mutex_lock(&h->mu);
	while (!atomic_load(&h->stop)) {
		size_t i = 0;

		while (i < h->n && h->state[i] != JOB_QUEUED)
			i++;
		if (i == h->n) {
			pthread_cond_wait(&h->cv, &h->mu);
			continue;
		}
		struct whash_job *j = h->jobs[i];
		h->state[i] = JOB_RUNNING;
		pthread_mutex_unlock(&h->mu);
		job_run(h, j);
		pthread_mutex_lock(&h->mu);
		/* the job stays at its place: only the loop removes jobs */
		for (i = 0; i < h->n && h->jobs[i] != j; i++)
			;
		h->state[i] = JOB_DONE;
		if (write(h->efd, &(uint64_t){1}, 8) < 0) {
			/* the counter cannot overflow with WATCH_MAX_HASHING jobs */
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int whash_open(enum hash_algo algo, unsigned delay_ms, struct whash **ret)
{
	struct whash *h = calloc(1, sizeof(*h));
	sigset_t all, old;
	int r;

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->delay_ms = delay_ms;
	h->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->efd < 0) {
		r = -errno;
		whash_close(h);
		return r;
	}
	if (files_scratch_init(&h->scr, algo) < 0) {
		whash_close(h);
		return -ENOMEM;
	}
	h->scr.tick = tick;
	h->scr.tick_ctx = h;
	/* the worker takes no signal: the loop reads them from its signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&h->thread, NULL, worker, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		whash_close(h);
		return -r;
	}
	h->started = true;
	*ret = h;
	return 0;
}

void whash_close(struct whash *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	atomic_store(&h->stop, true);
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->started)
		pthread_join(h->thread, NULL);
	for (size_t i = 0; i < h->n; i++)
		whash_job_free(h->jobs[i]);
	files_scratch_free(&h->scr);
	if (h->efd >= 0)
		close(h->efd);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int whash_fd(const struct whash *h)
{
	return h->efd;
}

size_t whash_count(struct whash *h)
{
	size_t n;

	pthread_mutex_lock(&h->mu);
	n = h->n;
	pthread_mutex_unlock(&h->mu);
	return n;
}

static void job_set(struct whash_job *j, int pin, const struct stat *st, attrset_t attrs,
                    enum hash_algo algo, const struct file_rec *base)
{
	j->pin = pin;
	j->st = *st;
	j->attrs = attrs;
	j->algo = algo;
	j->has_base = base != NULL;
	if (base) {
		/* its spans die with the store's transaction; the prefix check
		 * needs only the size and the digest */
		j->base = *base;
		j->base.target = j->base.xattrs = j->base.acl = j->base.caps = j->base.selinux =
		        (struct bytes){0};
	}
}

int whash_submit(struct whash *h, const char *path, size_t len, int pin, const struct stat *st,
                 attrset_t attrs, enum hash_algo algo, const struct file_rec *base)
{
	struct whash_job *j;
	int r = 0;

	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		j = h->jobs[i];
		if (j->len != len || memcmp(j->path, path, len) != 0)
			continue;
		if (h->state[i] == JOB_QUEUED) {
			/* not started: it reads what the path is now */
			close(j->pin);
			job_set(j, pin, st, attrs, algo, base);
		} else {
			j->again = true; /* its result may be older than this change */
			close(pin);
		}
		pthread_mutex_unlock(&h->mu);
		return 1;
	}
	if (h->n == WATCH_MAX_HASHING) {
		r = -EBUSY;
		goto out;
	}
	j = calloc(1, sizeof(*j));
	if (!j || !(j->path = malloc(len + 1))) {
		free(j);
		r = -ENOMEM;
		goto out;
	}
	memcpy(j->path, path, len);
	j->path[len] = '\0';
	j->len = len;
	job_set(j, pin, st, attrs, algo, base);
	h->state[h->n] = JOB_QUEUED;
	h->jobs[h->n++] = j;
	pthread_cond_signal(&h->cv);
	pin = -1;
out:
	pthread_mutex_unlock(&h->mu);
	if (pin >= 0)
		close(pin);
	return r;
}

struct whash_job *whash_take(struct whash *h)
{
	struct whash_job *j = NULL;
	uint64_t count;

	if (read(h->efd, &count, sizeof(count)) < 0) {
		/* nothing counted: the done jobs were taken already */
	}
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		if (h->state[i] != JOB_DONE)
			continue;
		j = h->jobs[i];
		memmove(h->jobs + i, h->jobs + i + 1, (h->n - i - 1) * sizeof(h->jobs[0]));
		memmove(h->state + i, h->state + i + 1, (h->n - i - 1) * sizeof(h->state[0]));
		h->n--;
		break;
	}
	pthread_mutex_unlock(&h->mu);
	if (j && j->pin >= 0) {
		close(j->pin);
		j->pin = -1;
	}
	return j;
}
