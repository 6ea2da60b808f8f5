/* SPDX-License-Identifier: MIT */
/*
 * The event loop's system calls on POSIX systems (see internal.h): the
 * relay's descriptors (sockets, pipes, ttys and files alike), the SIGPIPE
 * guard, and the name-lookup workers' threads and wake-up pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hvsock/loop.h>

#include "internal.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* the platform suppresses SIGPIPE per socket */
#endif

/*
 * Sockets, pipes and ttys can be waited on; files and other devices are
 * always "ready" (epoll refuses them), so the relay drives them itself.
 */
int
hvs__os_fd_probe(hvs_sock_t fd, int is_sock, int nonblocking, hvs__fdmode_t *m)
{
	struct stat st;
	int fl;

	m->restore = 0;
	m->oflags = 0;
	if (fd < 0) {
		return HVS_EBADF;
	}
	if (is_sock) {
		m->sock = 1;
		m->poll = 1;
		if (nonblocking) {
			return 0; /* HVS_RELAY_NONBLOCKING: the caller vouches */
		}
	} else {
		if (fstat(fd, &st) == -1) {
			return HVS_EBADF;
		}
		m->sock = S_ISSOCK(st.st_mode) ? 1 : 0;
		m->poll = m->sock || S_ISFIFO(st.st_mode) ||
		    (S_ISCHR(st.st_mode) && isatty(fd));
	}
	fl = fcntl(fd, F_GETFL);
	if (fl == -1) {
		return errno == EBADF ? HVS_EBADF
				      : hvs_translate_sys_error(errno);
	}
	m->oflags = fl;
	if ((fl & O_NONBLOCK) == 0) {
		if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
			return hvs_translate_sys_error(errno);
		}
		m->restore = 1;
	}
	return 0;
}

void
hvs__os_fd_restore(hvs_sock_t fd, hvs__fdmode_t *m)
{
	if (m->restore) {
		(void)fcntl(fd, F_SETFL, m->oflags);
		m->restore = 0;
	}
}

void
hvs__os_fd_close(hvs_sock_t fd, int sock)
{
	(void)sock;
	(void)close(fd);
}

int
hvs__os_fd_read(hvs_sock_t fd, int sock, void *buf, size_t len, size_t *got)
{
	ssize_t n;

	do {
		n = sock ? recv(fd, buf, len, 0) : read(fd, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n > 0) {
		*got = (size_t)n;
		return 0;
	}
	*got = 0;
	if (n == 0) {
		return HVS_EOF;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		return HVS_EAGAIN;
	}
	return hvs_translate_sys_error(errno);
}

int
hvs__os_fd_write(hvs_sock_t fd, int sock, const void *buf, size_t len,
    size_t *put)
{
	ssize_t n;

	do {
		n = sock ? send(fd, buf, len, MSG_NOSIGNAL)
			 : write(fd, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n >= 0) {
		*put = (size_t)n;
		return 0;
	}
	*put = 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		return HVS_EAGAIN;
	}
	return hvs_translate_sys_error(errno);
}

void
hvs__os_sock_abortive(hvs_sock_t s)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	(void)setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

int
hvs__os_sigpipe_matters(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == -1) {
		return 1;
	}
	return (sa.sa_flags & SA_SIGINFO) != 0 || sa.sa_handler != SIG_IGN;
}

int
hvs__os_sigpipe_guard(int (*fn)(void *), void *arg)
{
	static const struct timespec zero = {0, 0};
	sigset_t pipe_set, old, pending;
	int rc, was_pending = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (sigismember(&old, SIGPIPE) && sigpending(&pending) == 0) {
		was_pending = sigismember(&pending, SIGPIPE);
	}
	rc = fn(arg);
	if (rc < 0 && rc != HVS_EAGAIN && !was_pending &&
	    sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
		while (sigtimedwait(&pipe_set, NULL, &zero) == -1 &&
		    errno == EINTR) {
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Descriptors can be polled here: side a is relayed as it is. */
int
hvs__os_side_open(int a_in, int a_out, hvs_sock_t b, hvs__side_t *out)
{
	if (b == a_in || b == a_out) {
		return HVS_EINVAL;
	}
	out->in = a_in;
	out->out = a_out;
	out->is_sock = 0;
	out->bridge[0] = NULL;
	out->bridge[1] = NULL;
	return 0;
}

void
hvs__os_side_commit(hvs__side_t *side)
{
	(void)side;
}

void
hvs__os_side_abort(hvs__side_t *side)
{
	(void)side;
}

/* Here the loop waits on any descriptor: no bridge is needed. */
int
hvs_fd_bridge(int in_fd, int out_fd, hvs_sock_t *out)
{
	(void)in_fd;
	(void)out_fd;
	if (out != NULL) {
		*out = HVS_INVALID_SOCK;
	}
	return HVS_ENOTSUP;
}

int
hvs__os_wakeup_pair(hvs_sock_t *rd, hvs_sock_t *wr)
{
	int fds[2];

	/* Close-on-exec at birth: another thread may fork and exec. */
	if (pipe2(fds, O_CLOEXEC) != 0) {
		return hvs_translate_sys_error(errno);
	}
	*rd = fds[0];
	*wr = fds[1];
	return 0;
}

struct thread_start {
	void (*fn)(void *);
	void *arg;
};

static void *
thread_main(void *p)
{
	struct thread_start ts = *(struct thread_start *)p;

	free(p);
	ts.fn(ts.arg);
	return NULL;
}

int
hvs__os_thread_spawn(void (*fn)(void *), void *arg)
{
	struct thread_start *ts;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int rc;

	ts = malloc(sizeof(*ts));
	if (ts == NULL) {
		return HVS_ENOMEM;
	}
	ts->fn = fn;
	ts->arg = arg;
	if (pthread_attr_init(&attr) != 0) {
		free(ts);
		return HVS_ENOMEM;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tid, &attr, thread_main, ts);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(ts);
		return hvs_translate_sys_error(rc);
	}
	return 0;
}

void
hvs__os_mutex_lock(hvs__mutex_t *m)
{
	pthread_mutex_lock(m);
}

void
hvs__os_mutex_unlock(hvs__mutex_t *m)
{
	pthread_mutex_unlock(m);
}
