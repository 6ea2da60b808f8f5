/* SPDX-License-Identifier: MIT */
/*
 * The event loop's system calls on Windows (see internal.h), mirroring
 * posix/loop_os.c.
 *
 * libevent waits on sockets only here (select(): consoles, pipes and files
 * cannot be waited on), so every descriptor the relay sees is a socket:
 * hvs_relay_new_fds() puts a bridge (win/bridge.c) in front of anything
 * else. What the POSIX side does and this one need not:
 *  - there is no SIGPIPE (a send to a closed peer fails with WSAESHUTDOWN
 *    or WSAECONNRESET);
 *  - Winsock cannot tell a socket's blocking mode: a socket the relay made
 *    non-blocking and must give back unchanged gets the blocking mode,
 *    every socket's default;
 *  - the lookup workers wake the loop through a loopback socket pair, and
 *    run on Win32 threads (_beginthreadex, so that they may use the C
 *    runtime), with no pthreads library beside the DLL.
 */
#include <io.h>
#include <process.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "win/bridge.h"

int
hvs__os_fd_probe(hvs_sock_t fd, int is_sock, int nonblocking, hvs__fdmode_t *m)
{
	int type = 0, rc;

	m->sock = 1;
	m->poll = 1;
	m->restore = 0;
	m->oflags = 0;
	if (fd == HVS_INVALID_SOCK) {
		return HVS_EBADF;
	}
	if (!is_sock &&
	    hvs__os_getsockopt_int(fd, SOL_SOCKET, SO_TYPE, &type) < 0) {
		return HVS_EBADF; /* not a socket: the relay cannot wait on it */
	}
	if (is_sock && nonblocking) {
		return 0; /* HVS_RELAY_NONBLOCKING: the caller vouches */
	}
	rc = hvs__os_set_nonblock(fd, 1);
	if (rc < 0) {
		return rc == HVS_ENOTSOCK ? HVS_EBADF : rc;
	}
	m->restore = 1;
	return 0;
}

void
hvs__os_fd_restore(hvs_sock_t fd, hvs__fdmode_t *m)
{
	if (m->restore) {
		(void)hvs__os_set_nonblock(fd, 0);
		m->restore = 0;
	}
}

void
hvs__os_fd_close(hvs_sock_t fd, int sock)
{
	(void)sock;
	(void)hvs__os_close(fd);
}

int
hvs__os_fd_read(hvs_sock_t fd, int sock, void *buf, size_t len, size_t *got)
{
	(void)sock;
	return hvs__os_recv(fd, buf, len, got);
}

int
hvs__os_fd_write(hvs_sock_t fd, int sock, const void *buf, size_t len,
    size_t *put)
{
	(void)sock;
	return hvs__os_send(fd, buf, len, put);
}

void
hvs__os_sock_abortive(hvs_sock_t s)
{
	struct linger lg;

	lg.l_onoff = 1;
	lg.l_linger = 0;
	(void)setsockopt((SOCKET)s, SOL_SOCKET, SO_LINGER, (const char *)&lg,
	    (int)sizeof(lg));
}

int
hvs__os_sigpipe_matters(void)
{
	return 0;
}

int
hvs__os_sigpipe_guard(int (*fn)(void *), void *arg)
{
	return fn(arg);
}

int
hvs__win_fd_socket(int fd, hvs_sock_t *s)
{
	intptr_t h;
	int type = 0;

	if (fd < 0) {
		return HVS_EBADF;
	}
	h = _get_osfhandle(fd);
	if (h == (intptr_t)INVALID_HANDLE_VALUE || h == -2) {
		return HVS_EBADF;
	}
	if (hvs__os_init() != 0) {
		return 0;
	}
	if (hvs__os_getsockopt_int((hvs_sock_t)h, SOL_SOCKET, SO_TYPE, &type) <
	    0) {
		return 0;
	}
	*s = (hvs_sock_t)h;
	return 1;
}

/*
 * Sockets (a descriptor made with _open_osfhandle() from one) are relayed
 * as they are; a console, pipe or file gets a bridge, one for both
 * descriptors when neither is a socket.
 */
int
hvs__os_side_open(int a_in, int a_out, hvs_sock_t b, hvs__side_t *out)
{
	hvs_sock_t sin = HVS_INVALID_SOCK, sout = HVS_INVALID_SOCK, s;
	hvs__bridge_t *br;
	int in_sock, out_sock, rc;

	memset(out, 0, sizeof(*out));
	in_sock = hvs__win_fd_socket(a_in, &sin);
	if (in_sock < 0) {
		return in_sock;
	}
	out_sock = hvs__win_fd_socket(a_out, &sout);
	if (out_sock < 0) {
		return out_sock;
	}
	if ((in_sock && sin == b) || (out_sock && sout == b)) {
		return HVS_EINVAL;
	}
	out->in = sin;
	out->out = sout;
	out->is_sock = 1;
	if (in_sock && out_sock) {
		return 0;
	}
	if (!in_sock && !out_sock) {
		rc = hvs__bridge_prepare(a_in, a_out, &br, &s);
		if (rc < 0) {
			return rc;
		}
		out->bridge[0] = br;
		out->in = s;
		out->out = s;
		return 0;
	}
	/* One socket, one descriptor to bridge (one way). */
	rc = hvs__bridge_prepare(in_sock ? -1 : a_in, out_sock ? -1 : a_out,
	    &br, &s);
	if (rc < 0) {
		return rc;
	}
	out->bridge[0] = br;
	if (in_sock) {
		out->out = s;
	} else {
		out->in = s;
	}
	return 0;
}

void
hvs__os_side_commit(hvs__side_t *side)
{
	for (int i = 0; i < 2; i++) {
		if (side->bridge[i] != NULL) {
			hvs__bridge_commit(side->bridge[i]);
			side->bridge[i] = NULL;
		}
	}
}

void
hvs__os_side_abort(hvs__side_t *side)
{
	for (int i = 0; i < 2; i++) {
		if (side->bridge[i] != NULL) {
			hvs__bridge_abort(side->bridge[i]);
			side->bridge[i] = NULL;
		}
	}
}

/* 1 if @a and @b hold the same IPv4 address and port. */
static int
same_inet(const hvs__sockaddr_t *a, const hvs__sockaddr_t *b)
{
	const struct sockaddr_in *x = (const void *)&a->ss;
	const struct sockaddr_in *y = (const void *)&b->ss;

	return a->ss.ss_family == AF_INET && b->ss.ss_family == AF_INET &&
	    x->sin_port == y->sin_port &&
	    x->sin_addr.s_addr == y->sin_addr.s_addr;
}

/*
 * Listen on 127.0.0.1, port 0, connect, accept. Another local program
 * could connect to the short-lived listener first: a connection whose
 * peer is not our own socket is refused and the next one taken.
 */
int
hvs__win_socketpair(hvs_sock_t sv[2])
{
	hvs__sockaddr_t sa, mine, peer;
	struct sockaddr_in *sin = (void *)&sa.ss;
	hvs_sock_t l = HVS_INVALID_SOCK, c = HVS_INVALID_SOCK;
	hvs_sock_t a = HVS_INVALID_SOCK;
	int rc;

	rc = hvs__os_socket(AF_INET, SOCK_STREAM, 0, 0, &l);
	if (rc < 0) {
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = 0;
	sa.len = (int)sizeof(*sin);
	rc = hvs__os_bind(l, &sa);
	if (rc == 0) {
		rc = hvs__os_listen(l, 1);
	}
	if (rc == 0) {
		rc = hvs__os_getsockname(l, &sa);
	}
	if (rc == 0) {
		rc = hvs__os_socket(AF_INET, SOCK_STREAM, 0, 0, &c);
	}
	if (rc == 0) {
		rc = hvs__os_connect(c, &sa);
	}
	if (rc == 0) {
		rc = hvs__os_getsockname(c, &mine);
	}
	for (int tries = 0; rc == 0 && tries < 16; tries++) {
		rc = hvs__os_accept(l, &a, &peer, 0);
		if (rc < 0) {
			break;
		}
		if (same_inet(&peer, &mine)) {
			break;
		}
		hvs__log(HVS_LOG_WARN,
		    "socket pair: refused a stranger's connection");
		hvs__os_close(a);
		a = HVS_INVALID_SOCK;
	}
	hvs__os_close(l);
	if (rc == 0 && a == HVS_INVALID_SOCK) {
		rc = HVS_ECONNREFUSED;
	}
	if (rc < 0) {
		hvs__os_close(c);
		return rc;
	}
	(void)hvs__os_setsockopt_int(a, IPPROTO_TCP, TCP_NODELAY, 1);
	(void)hvs__os_setsockopt_int(c, IPPROTO_TCP, TCP_NODELAY, 1);
	sv[0] = a;
	sv[1] = c;
	return 0;
}

int
hvs__os_wakeup_pair(hvs_sock_t *rd, hvs_sock_t *wr)
{
	hvs_sock_t sv[2];
	int rc;

	rc = hvs__win_socketpair(sv);
	if (rc < 0) {
		return rc;
	}
	*rd = sv[0];
	*wr = sv[1];
	return 0;
}

struct thread_start {
	void (*fn)(void *);
	void *arg;
};

static unsigned __stdcall thread_main(void *p)
{
	struct thread_start ts = *(struct thread_start *)p;

	free(p);
	ts.fn(ts.arg);
	return 0;
}

int
hvs__os_thread_spawn(void (*fn)(void *), void *arg)
{
	struct thread_start *ts;
	uintptr_t th;

	ts = malloc(sizeof(*ts));
	if (ts == NULL) {
		return HVS_ENOMEM;
	}
	ts->fn = fn;
	ts->arg = arg;
	th = _beginthreadex(NULL, 0, thread_main, ts, 0, NULL);
	if (th == 0) {
		free(ts);
		return HVS_EAGAIN;
	}
	CloseHandle((HANDLE)th); /* detached */
	return 0;
}

void
hvs__os_mutex_lock(hvs__mutex_t *m)
{
	AcquireSRWLockExclusive(m);
}

void
hvs__os_mutex_unlock(hvs__mutex_t *m)
{
	ReleaseSRWLockExclusive(m);
}
