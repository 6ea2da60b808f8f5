/* SPDX-License-Identifier: MIT */
/*
 * Zero-copy backend of the relay on Linux: splice(2) through pipes taken
 * from a process-wide pool (see loop/zcopy.h).
 *
 * The pool is shared by every event base of the process, so it is guarded
 * by a spin lock: the critical sections are a few pointer moves, far
 * cheaper than the system calls around them, and a lock of our own keeps
 * the library free of a threads dependency.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "loop/zcopy.h"

/* Idle pipes kept for reuse: enough for bursts, bounded in descriptors. */
#define POOL_MAX 64
/*
 * Pipes held by relays at once. Beyond this a relay copies instead, so
 * that thousands of busy relays cannot take all descriptors (and the
 * listener's accept() with them).
 */
#define IN_USE_MAX 512
/*
 * A big pipe has many slots: a splice from a socket moves one slot per
 * page fragment, so a default 16-slot pipe would cap every call at 16
 * fragments. 1 MiB is the default pipe-max-size for unprivileged users;
 * smaller sizes are tried when the system refuses it.
 */
static const int pipe_sizes[] = {1024 * 1024, 256 * 1024};

static atomic_flag pool_lock = ATOMIC_FLAG_INIT;
static hvs__zc_pipe_t *pool;
static atomic_uint_fast64_t pool_len;
static atomic_uint_fast64_t in_use;

static void
pool_acquire(void)
{
	while (atomic_flag_test_and_set_explicit(&pool_lock,
	    memory_order_acquire)) {
		/* spin: the holder is only moving a pointer */
	}
}

static void
pool_release(void)
{
	atomic_flag_clear_explicit(&pool_lock, memory_order_release);
}

static void
pipe_free(hvs__zc_pipe_t *p)
{
	close(p->rfd);
	close(p->wfd);
	free(p);
}

int
hvs__zc_available(void)
{
	return 1;
}

int
hvs__zc_pipe_get(hvs__zc_pipe_t **out)
{
	hvs__zc_pipe_t *p;
	int fds[2];
	int err, size;

	if (atomic_fetch_add_explicit(&in_use, 1, memory_order_relaxed) >=
	    IN_USE_MAX) {
		err = HVS_EAGAIN;
		goto undo_count;
	}

	pool_acquire();
	p = pool;
	if (p != NULL) {
		pool = p->next;
		atomic_fetch_sub_explicit(&pool_len, 1, memory_order_relaxed);
	}
	pool_release();
	if (p != NULL) {
		p->next = NULL;
		*out = p;
		return 0;
	}

	p = malloc(sizeof(*p));
	if (p == NULL) {
		err = HVS_ENOMEM;
		goto undo_count;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		err = hvs_translate_sys_error(errno);
		goto undo_alloc;
	}
	p->rfd = fds[0];
	p->wfd = fds[1];
	p->next = NULL;
	size = -1;
	for (size_t i = 0; i < HVS__ARRAY_LEN(pipe_sizes) && size < 0; i++) {
		size = fcntl(p->wfd, F_SETPIPE_SZ, pipe_sizes[i]);
	}
	if (size < 0) {
		size = fcntl(p->wfd, F_GETPIPE_SZ);
	}
	/* 16 pages is what every kernel with splice gives a new pipe. */
	p->cap = size > 0 ? (size_t)size : 65536;
	*out = p;
	return 0;

undo_alloc:
	free(p);
undo_count:
	atomic_fetch_sub_explicit(&in_use, 1, memory_order_relaxed);
	return err;
}

void
hvs__zc_pipe_put(hvs__zc_pipe_t *p, int empty)
{
	if (p == NULL) {
		return;
	}
	atomic_fetch_sub_explicit(&in_use, 1, memory_order_relaxed);
	if (empty) {
		pool_acquire();
		if (atomic_load_explicit(&pool_len, memory_order_relaxed) <
		    POOL_MAX) {
			p->next = pool;
			pool = p;
			atomic_fetch_add_explicit(&pool_len, 1,
			    memory_order_relaxed);
			p = NULL;
		}
		pool_release();
	}
	if (p != NULL) {
		pipe_free(p);
	}
}

int
hvs__zc_splice(int from, int to, size_t len, size_t *moved)
{
	ssize_t n;

	do {
		n = splice(from, NULL, to, NULL, len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} while (n == -1 && errno == EINTR);
	if (n > 0) {
		*moved = (size_t)n;
		return 0;
	}
	*moved = 0;
	if (n == 0) {
		return HVS_EOF;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		return HVS_EAGAIN;
	}
	return hvs_translate_sys_error(errno);
}

/*
 * AF_VSOCK (vsock_loopback, virtio, hv_sock alike) has no splice_read or
 * sendpage of its own in the kernel: splice falls back to copying through
 * the pipe's pages, which measured about half as fast as read/write in
 * the test VM (bench/NOTES.md). Not a socket, or not known: let splice
 * decide (it says EINVAL where it cannot).
 */
int
hvs__zc_fd_ok(int fd)
{
	int fam;

	if (hvs__os_sock_family((hvs_sock_t)fd, &fam) < 0) {
		return 1;
	}
	return fam != AF_VSOCK;
}

void
hvs__zc_pool_counts(uint64_t *in_use_out, uint64_t *pooled)
{
	*in_use_out = atomic_load_explicit(&in_use, memory_order_relaxed);
	*pooled = atomic_load_explicit(&pool_len, memory_order_relaxed);
}

void
hvs__zc_pool_flush(void)
{
	hvs__zc_pipe_t *p, *next;

	pool_acquire();
	p = pool;
	pool = NULL;
	atomic_store_explicit(&pool_len, 0, memory_order_relaxed);
	pool_release();
	for (; p != NULL; p = next) {
		next = p->next;
		pipe_free(p);
	}
}
