/* SPDX-License-Identifier: MIT */
/*
 * What the unit tests need from the system, one implementation per OS
 * family (testos_posix.c, testos_win.c; test/meson.build picks one), so
 * that the tests themselves stay free of platform code.
 */
#ifndef HVS_TEST_TESTOS_H
#define HVS_TEST_TESTOS_H

#include <hvsock/hvsock.h>

/* 1 where the library runs on Winsock: for skip() with a reason. */
#ifdef _WIN32
#define TESTOS_WINSOCK 1
#else
#define TESTOS_WINSOCK 0
#endif

/*
 * Open descriptors of this process, to prove nothing leaks: every
 * descriptor on POSIX; on Windows the open sockets (handles cannot be
 * counted there, see sysmock_win.c).
 */
int testos_count_fds(void);

/* 1 if @s stays out of child processes (close-on-exec, not inherited). */
int testos_is_cloexec(hvs_sock_t s);

/* 1 if @s is in non-blocking mode. */
int testos_is_nonblock(hvs_sock_t s);

/*
 * Writing to a connection the peer closed must not kill the program:
 * restore SIGPIPE's default action where there is such a signal (the
 * library, not the test, has to keep it away). No-op on Windows, which
 * has no SIGPIPE.
 */
void testos_default_sigpipe(void);

/*
 * A loopback tcp listener made with the plain socket calls, with exactly
 * @backlog (hvs_listen() takes 0 for "the default"); its port in *@port.
 * Fails the test on an error.
 */
hvs_sock_t testos_tcp_listener(int backlog, uint16_t *port);

/* accept() on @ls, blocking; HVS_INVALID_SOCK on an error. */
hvs_sock_t testos_accept(hvs_sock_t ls);

/* Sleep for @ms milliseconds (never a timed assertion: polling only). */
void testos_sleep_ms(unsigned ms);

/*
 * A connected pair of stream sockets, blocking, kept out of child
 * processes: AF_UNIX on POSIX, loopback tcp on Windows (wine has no
 * AF_UNIX). Fails the test on an error.
 */
void testos_socketpair(hvs_sock_t sv[2]);

/*
 * A loopback tcp connection, blocking, through the listener *@ls (made on
 * first use): sv[0] the connecting end (TCP_NODELAY), sv[1] the accepted
 * one.
 */
void testos_tcp_pair(hvs_sock_t *ls, hvs_sock_t sv[2]);

void testos_set_nonblock(hvs_sock_t s);

/* Close @s with a reset (SO_LINGER 0), not a FIN. */
void testos_abort_close(hvs_sock_t s);

/*
 * 1 if testos_abort_close() (and the library's own abortive close) makes
 * the peer see a reset. Windows does; wine 8 sends a FIN instead, so a
 * test of what a peer sees after a reset cannot pass under it. Found out
 * once, on a socket pair.
 */
int testos_resets_reach_peer(void);

/*
 * One read (POSIX: read(), so pipes too; Windows: recv(), past the fault
 * injection) and one send() that raises no SIGPIPE. Both return the byte
 * count, 0 (read: the end), or -1 with *@err an errno value (Winsock's
 * errors are given as their errno twins: ECONNRESET, EAGAIN, ...).
 */
long testos_read(hvs_sock_t s, void *buf, size_t len, int *err);
long testos_send(hvs_sock_t s, const void *buf, size_t len, int *err);

/* As many open descriptors as the hard limit allows (POSIX). */
void testos_raise_fd_limit(void);

/*
 * POSIX objects the relay tests give hvs_relay_new_fds(); each returns -1
 * on Windows (the tests that need them skip there). testos_pipe(): a
 * close-on-exec pipe; testos_pty(): a pty pair, the slave in canonical
 * mode without echo or output processing; testos_open_dir(): a directory
 * open for reading; testos_pipe_bytes(): bytes waiting in a pipe.
 */
int testos_pipe(int p[2]);
int testos_pty(int *master, int *slave);
int testos_open_dir(const char *path);
int testos_pipe_bytes(int fd);

/*
 * A real descriptor shortage: lower the limit on open descriptors to
 * those open now plus @headroom, then take every one left (duplicates of
 * @like, into @fds, at most @max) until the system says EMFILE. Returns
 * how many were taken, or -1 where a process has no such limit (Windows)
 * or the shortage could not be staged.
 */
int testos_fd_shortage(hvs_sock_t like, int headroom, int *fds, int max);
/* Give back one descriptor testos_fd_shortage() took. */
void testos_fd_release(int fd);
/* Put the limit back as testos_fd_shortage() found it. */
void testos_fd_shortage_end(void);

#endif
