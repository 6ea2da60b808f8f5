/* SPDX-License-Identifier: MIT */
/*
 * Private to the Windows event-loop backend (win/loop_os.c, win/bridge.c):
 * the socket pair, and the bridge in two steps so that a relay that fails
 * to start leaves the caller's descriptors untouched.
 */
#ifndef HVSOCK_WIN_BRIDGE_H
#define HVSOCK_WIN_BRIDGE_H

#include "internal.h"

typedef struct hvs__bridge hvs__bridge_t;

/*
 * A connected pair of loopback TCP sockets (the loop can wait only on
 * sockets): non-inheritable, blocking, Nagle off (a bridge carries
 * keystrokes too). Returns 0 or an error.
 */
int hvs__win_socketpair(hvs_sock_t sv[2]);

/*
 * hvs_fd_bridge() up to the point of no return: checks the descriptors,
 * makes the socket pair and the (suspended) threads. *@sock is the
 * application's end, non-blocking. Nothing of the descriptors is touched
 * yet. Returns 0 or an error (HVS_EINVAL, HVS_EBADF, ...).
 */
int hvs__bridge_prepare(int in_fd, int out_fd, hvs__bridge_t **out,
    hvs_sock_t *sock);
/* Start the threads: the bridge owns the descriptors from now on. */
void hvs__bridge_commit(hvs__bridge_t *b);
/* Undo a prepared bridge: its sockets are closed, the descriptors are
 * the caller's, unchanged. */
void hvs__bridge_abort(hvs__bridge_t *b);

/*
 * Whether a read of pipe @h that succeeded with 0 bytes was its end (1)
 * or a zero-length write of a pipe still open (0: the next read blocks).
 * Windows says the end with ERROR_BROKEN_PIPE, but wine reads a Unix pipe
 * (a program's stdin fed by a Unix process) at its end as 0 bytes.
 */
int hvs__bridge_pipe_ended(HANDLE h);

/* 1 if the CRT descriptor @fd stands for a socket (*@s set), 0 if it is
 * something else (a console, a pipe, a file), HVS_EBADF if not open. */
int hvs__win_fd_socket(int fd, hvs_sock_t *s);

#endif /* HVSOCK_WIN_BRIDGE_H */
