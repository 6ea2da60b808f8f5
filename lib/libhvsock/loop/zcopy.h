/* SPDX-License-Identifier: MIT */
/*
 * Private interface of the relay's zero-copy backend.
 *
 * The relay engine (relay.c) moves bytes either through a user-space
 * buffer (read/write, every platform) or, where the kernel allows, through
 * a pipe with splice(2) so that the bytes never reach user space. The
 * splice part lives behind this interface, one file per platform:
 * linux/splice.c has it, posix/nosplice.c says "not here" so the relay
 * uses the copy path.
 *
 * Pipes are a scarce resource (two descriptors and kernel memory each), so
 * a relay takes one from a process-wide pool only while bytes are in
 * flight and gives it back as soon as it is empty again: an idle relay
 * holds no pipe. The pool keeps a bounded number of idle pipes, and the
 * number of pipes in use at once is capped too so that busy relays cannot
 * starve the process of descriptors (a relay that gets no pipe copies).
 */
#ifndef HVSOCK_LOOP_ZCOPY_H
#define HVSOCK_LOOP_ZCOPY_H

#include <stddef.h>
#include <stdint.h>

/* A pipe used as an in-kernel buffer between two descriptors. */
typedef struct hvs__zc_pipe {
	int rfd; /* read end */
	int wfd; /* write end */
	size_t cap; /* capacity in bytes (F_GETPIPE_SZ) */
	struct hvs__zc_pipe *next; /* pool link */
} hvs__zc_pipe_t;

/* 1 if this platform can splice at all, else 0. */
int hvs__zc_available(void);

/*
 * Take an empty pipe from the pool, or make one (non-blocking,
 * close-on-exec, enlarged where the system allows). Returns 0, HVS_EAGAIN
 * when the cap on pipes in use is reached, HVS_ENOTSUP where there is no
 * zero-copy, or the error of pipe2() (HVS_EMFILE, ...).
 */
int hvs__zc_pipe_get(hvs__zc_pipe_t **out);

/*
 * Give @p back. @empty says it holds no bytes: only then may it be pooled;
 * a pipe with bytes left in it (a relay that ended early) is closed.
 * NULL is fine.
 */
void hvs__zc_pipe_put(hvs__zc_pipe_t *p, int empty);

/*
 * Move up to @len bytes from @from to @to (one of them a pipe) without
 * waiting. Returns 0 with *@moved > 0, HVS_EOF when @from is at its end,
 * HVS_EAGAIN when either side would block, or an error: HVS_EINVAL /
 * HVS_ENOSYS mean that one of the descriptors does not support splice
 * (the caller then copies instead). A closed reader on @to gives
 * HVS_EPIPE and, like write(2), raises SIGPIPE: the caller blocks it
 * around the call unless the process ignores it.
 */
int hvs__zc_splice(int from, int to, size_t len, size_t *moved);

/*
 * 1 if splicing @fd is worth it, 0 if the copy path is faster for it: a
 * socket family whose kernel code has no splice support of its own
 * (AF_VSOCK: the kernel then copies through the pipe's pages, slower than
 * read/write). Costs one system call; the relay asks once per direction,
 * after its first 64 KiB.
 */
int hvs__zc_fd_ok(int fd);

/* Pipes held by relays right now, and idle ones in the pool. */
void hvs__zc_pool_counts(uint64_t *in_use, uint64_t *pooled);

/* Close every idle pooled pipe (tests; a daemon's shutdown). */
void hvs__zc_pool_flush(void);

#endif /* HVSOCK_LOOP_ZCOPY_H */
