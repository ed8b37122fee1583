/* SPDX-License-Identifier: ISC */
/* fim watch: the systemd watchdog's helper thread, which pings while long work makes progress. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "fim/watch/watch.h"

/*
 * The watchdog is pinged by the loop; during a long piece of work (the
 * reconcile, rescanning a large tree) a helper thread pings instead, as
 * long as the work makes progress, so a full check longer than WatchdogSec
 * is not taken for a hang, and a hung read still is.
 */
struct watch_dog {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool busy, stop;
	uint64_t usec;
	clockid_t main_clock;        /* CPU time of the loop thread */
	atomic_uint_least64_t ticks; /* calls of the check's tick */
};

void watch_tick(struct watcher *w)
{
	if (w && w->dog)
		atomic_fetch_add_explicit(&w->dog->ticks, 1, memory_order_relaxed);
}

/* The bytes task TID of this process read (rchar); 0 when it is gone. */
static uint64_t dog_rchar(int dirfd, const char *tid)
{
	char path[64], buf[512];
	uint64_t v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/io", tid);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "rchar: %" SCNu64, &v) == 1 ? v : 0;
}

/*
 * Something that moves while the daemon works: the loop thread's CPU time,
 * the check's ticks (one per entry walked and per chunk read), and the
 * bytes read by every thread but this one: the dog's own reads of /proc
 * would always move. A read hung on a dead NFS server or an open waiting
 * for a lease to break moves none of them (the CPU time of a thread asleep
 * in the kernel may still creep, so only the loop's, which waits in user
 * space, counts), and the watchdog then does its job.
 */
static uint64_t dog_progress(struct watch_dog *dog)
{
	struct timespec ts = {0};
	char self[24];
	uint64_t sum = atomic_load(&dog->ticks);
	struct dirent *de;
	DIR *d;

	clock_gettime(dog->main_clock, &ts);
	sum += (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	d = opendir("/proc/self/task");
	if (!d)
		return sum;
	snprintf(self, sizeof(self), "%d", (int)gettid());
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, self) != 0)
			sum += dog_rchar(dirfd(d), de->d_name);
	closedir(d);
	return sum;
}

static void *dog_main(void *arg)
{
	struct watch_dog *dog = arg;
	uint64_t last = 0;

	pthread_mutex_lock(&dog->lock);
	while (!dog->stop) {
		struct timespec until;
		if (dog->busy) {
			uint64_t now = dog_progress(dog);
			if (now != last)
				sd_notify(0, "WATCHDOG=1");
			last = now;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(dog->usec / 2000000);
		until.tv_nsec += (long)(dog->usec / 2 % 1000000) * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&dog->wake, &dog->lock, &until);
	}
	pthread_mutex_unlock(&dog->lock);
	return NULL;
}

void watch_dog_start(struct watcher *w)
{
	struct watch_dog *dog;
	uint64_t usec = 0;
	sigset_t all, old;
	bool running;

	if (w->dog || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	dog = calloc(1, sizeof(*dog));
	if (!dog)
		return; /* the loop still pings; only long work goes unpinged */
	pthread_mutex_init(&dog->lock, NULL);
	pthread_cond_init(&dog->wake, NULL);
	dog->usec = usec;
	if (pthread_getcpuclockid(pthread_self(), &dog->main_clock) != 0)
		dog->main_clock = CLOCK_PROCESS_CPUTIME_ID;
	/* the thread takes no signal: they are read from the signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	running = pthread_create(&dog->thread, NULL, dog_main, dog) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!running) {
		pthread_cond_destroy(&dog->wake);
		pthread_mutex_destroy(&dog->lock);
		free(dog);
		return;
	}
	w->dog = dog;
}

void watch_busy(struct watcher *w, bool busy)
{
	struct watch_dog *dog = w->dog;

	if (!dog)
		return;
	pthread_mutex_lock(&dog->lock);
	dog->busy = busy;
	pthread_cond_signal(&dog->wake);
	pthread_mutex_unlock(&dog->lock);
}

void watch_dog_stop(struct watcher *w)
{
	struct watch_dog *dog = w->dog;

	if (!dog)
		return;
	pthread_mutex_lock(&dog->lock);
	dog->stop = true;
	pthread_cond_signal(&dog->wake);
	pthread_mutex_unlock(&dog->lock);
	pthread_join(dog->thread, NULL);
	pthread_cond_destroy(&dog->wake);
	pthread_mutex_destroy(&dog->lock);
	free(dog);
	w->dog = NULL;
}
