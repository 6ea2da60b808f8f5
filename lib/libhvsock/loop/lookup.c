/* SPDX-License-Identifier: MIT */
/*
 * Host-name lookups off the event loop.
 *
 * getaddrinfo() blocks for as long as the name service takes: seconds per
 * attempt when a DNS server is down. A daemon's loop carries every other
 * connection meanwhile, so a name is looked up on a worker thread and the
 * answer comes back through the loop, as libuv and c-ares-less libevent
 * users do it; getaddrinfo() itself still answers, so /etc/hosts,
 * nsswitch.conf and systemd-resolved behave exactly as for any other
 * program.
 *
 * The workers are a small pool that grows on demand up to LOOKUP_WORKERS
 * and whose threads exit once the queue is empty: no thread exists while
 * no name is being looked up. A worker tells the loop by closing the write
 * end of the job's wake-up pair (hvs__os_wakeup_pair(): a pipe, or a
 * socket pair where the loop can wait only on sockets): EOF makes the read
 * end readable, and close() never raises SIGPIPE, even when the loop side
 * has already gone away. A job is
 * shared by the loop side and the queue or worker, counted by refs under
 * the pool's lock; whoever drops the last reference frees it.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "internal.h"
#include "loop/debug.h"
#include "loop/lookup.h"

/*
 * Lookups in flight at once. Beyond it, jobs queue: a burst of connections
 * to one dead name server costs this many threads, not one per connection.
 */
#define LOOKUP_WORKERS 8

struct job {
	struct job *next; /* in the queue */
	int refs; /* the loop side's and the queue's/worker's */
	hvs_sock_t wfd; /* write end: closed once n, gai_err and addrs set */
	hvs_addr_t addr;
	unsigned flags;
	int n; /* addresses found, or a negative HVS_E* code */
	int gai_err; /* getaddrinfo()'s code, 0 if it did not fail */
	hvs__sockaddr_t addrs[HVS__LOOKUP_MAX];
};

struct hvs__lookup {
	struct event ev; /* the read end turned readable: done */
	struct job *job;
	hvs_sock_t rfd;
	hvs__lookup_fn cb;
	void *userdata;
};

static struct {
	hvs__mutex_t lock;
	struct job *head, *tail;
	int workers;
} pool = {HVS__MUTEX_INIT, NULL, NULL, 0};

hvs__lookup_hook_fn hvs__lookup_hook;

int
hvs__lookup_workers(void)
{
	int n;

	hvs__os_mutex_lock(&pool.lock);
	n = pool.workers;
	hvs__os_mutex_unlock(&pool.lock);
	return n;
}

/* Under pool.lock. */
static struct job *
job_drop_locked(struct job *job)
{
	if (--job->refs > 0) {
		return NULL;
	}
	return job; /* the caller frees it, outside the lock */
}

static void
job_unref(struct job *job)
{
	struct job *dead;

	hvs__os_mutex_lock(&pool.lock);
	dead = job_drop_locked(job);
	hvs__os_mutex_unlock(&pool.lock);
	free(dead);
}

/* Under pool.lock: the oldest queued job, or NULL. */
static struct job *
queue_pop_locked(void)
{
	struct job *job = pool.head;

	if (job != NULL) {
		pool.head = job->next;
		if (pool.head == NULL) {
			pool.tail = NULL;
		}
		job->next = NULL;
	}
	return job;
}

/* Under pool.lock: take @job out of the queue if it is still there. */
static int
queue_remove_locked(struct job *job)
{
	struct job **pp, *prev = NULL;

	for (pp = &pool.head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			if (pool.tail == job) {
				pool.tail = prev;
			}
			job->next = NULL;
			return 1;
		}
	}
	return 0;
}

/* Look the name up (unless nobody waits for it any more) and tell. */
static void
job_run(struct job *job)
{
	int abandoned, n, gai = 0;

	hvs__os_mutex_lock(&pool.lock);
	abandoned = job->refs == 1; /* the loop side cancelled it */
	hvs__os_mutex_unlock(&pool.lock);
	if (abandoned) {
		n = 0; /* never read */
	} else if (hvs__lookup_hook != NULL) {
		n = hvs__lookup_hook(&job->addr, job->flags, job->addrs,
		    HVS__LOOKUP_MAX);
	} else {
		n = hvs__tcp_lookup(&job->addr, HVS_ROLE_CONNECT, job->flags,
		    job->addrs, HVS__LOOKUP_MAX, &gai);
	}
	hvs__os_mutex_lock(&pool.lock);
	job->n = n;
	job->gai_err = gai;
	hvs__os_mutex_unlock(&pool.lock);
	hvs__os_close(job->wfd);
	job_unref(job);
}

static void
worker_main(void *unused)
{
	struct job *job;

	(void)unused;
	for (;;) {
		hvs__os_mutex_lock(&pool.lock);
		job = queue_pop_locked();
		if (job == NULL) {
			pool.workers--;
			hvs__os_mutex_unlock(&pool.lock);
			return;
		}
		hvs__os_mutex_unlock(&pool.lock);
		job_run(job);
	}
}

/* Queue @job and make sure a worker will take it. */
static void
job_submit(struct job *job)
{
	int spawn = 0;

	hvs__os_mutex_lock(&pool.lock);
	if (pool.tail != NULL) {
		pool.tail->next = job;
	} else {
		pool.head = job;
	}
	pool.tail = job;
	if (pool.workers < LOOKUP_WORKERS) {
		pool.workers++;
		spawn = 1;
	}
	hvs__os_mutex_unlock(&pool.lock);
	/* Every signal blocked in it (POSIX): the application's signal
	 * handling (libevent's, sigwait, signalfd) stays on its threads. */
	if (!spawn || hvs__os_thread_spawn(worker_main, NULL) == 0) {
		return;
	}
	/*
	 * No thread to be had (EAGAIN: a process or memory limit). If no
	 * worker is left to take the job, look it up here: late, but never
	 * lost.
	 */
	hvs__os_mutex_lock(&pool.lock);
	pool.workers--;
	if (pool.workers > 0 || !queue_remove_locked(job)) {
		job = NULL;
	}
	hvs__os_mutex_unlock(&pool.lock);
	hvs__log(HVS_LOG_WARN, "cannot start a name-lookup thread%s",
	    job != NULL ? ": looking the name up in place" : "");
	if (job != NULL) {
		job_run(job);
	}
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	hvs__lookup_t *l = arg;
	struct job *job = l->job;
	int n, gai;

	(void)fd;
	(void)what;
	/*
	 * EOF: the worker has set the answer and closed its end (the lock
	 * makes what it wrote visible here).
	 */
	hvs__os_mutex_lock(&pool.lock);
	n = job->n;
	gai = job->gai_err;
	hvs__os_mutex_unlock(&pool.lock);
	hvs__log_lookup_failure(&job->addr, gai);
	l->cb(n, n > 0 ? job->addrs : NULL, l->userdata);
	hvs__os_close(l->rfd);
	job_unref(job);
	free(l);
}

int
hvs__lookup_start(hvs__lookup_t **out, struct event_base *base,
    const hvs_addr_t *addr, unsigned flags, hvs__lookup_fn cb, void *userdata)
{
	hvs__lookup_t *l;
	struct job *job;
	hvs_sock_t rfd, wfd;
	int rc;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	job = calloc(1, sizeof(*job));
	if (l == NULL || job == NULL) {
		free(l);
		free(job);
		return HVS_ENOMEM;
	}
	rc = hvs__os_wakeup_pair(&rfd, &wfd);
	if (rc < 0) {
		free(l);
		free(job);
		return rc;
	}
	job->refs = 2;
	job->wfd = wfd;
	job->addr = *addr;
	job->flags = flags;
	l->job = job;
	l->rfd = rfd;
	l->cb = cb;
	l->userdata = userdata;
	event_assign(&l->ev, base, (evutil_socket_t)rfd, EV_READ, on_done, l);
	if (event_add(&l->ev, NULL) != 0) {
		hvs__os_close(rfd);
		hvs__os_close(wfd);
		free(l);
		free(job);
		return HVS_ENOMEM;
	}
	job_submit(job);
	*out = l;
	return 0;
}

void
hvs__lookup_cancel(hvs__lookup_t *l)
{
	struct job *dead;

	if (l == NULL) {
		return;
	}
	event_del(&l->ev);
	hvs__os_close(l->rfd);
	hvs__os_mutex_lock(&pool.lock);
	/* Still queued: nobody else will ever see it. */
	if (queue_remove_locked(l->job)) {
		l->job->refs--;
		hvs__os_close(l->job->wfd);
	}
	dead = job_drop_locked(l->job);
	hvs__os_mutex_unlock(&pool.lock);
	free(dead);
	free(l);
}
