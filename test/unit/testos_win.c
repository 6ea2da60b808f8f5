/* SPDX-License-Identifier: MIT */
/* See testos.h: Windows. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <winsock2.h>
#include <windows.h>

#include "sysmock.h"
#include "testos.h"

int
testos_count_fds(void)
{
	return sysmock_open_sockets();
}

int
testos_is_cloexec(hvs_sock_t s)
{
	DWORD flags = 0;

	if (!GetHandleInformation((HANDLE)s, &flags)) {
		return 0;
	}
	return (flags & HANDLE_FLAG_INHERIT) == 0;
}

int
testos_is_nonblock(hvs_sock_t s)
{
	/* Winsock cannot be asked: the mode the wrapped ioctlsocket() last
	 * set. */
	return sysmock_nonblock(s) == 1;
}

void
testos_default_sigpipe(void)
{
}

int
testos_fd_shortage(hvs_sock_t like, int headroom, int *fds, int max)
{
	(void)like;
	(void)headroom;
	(void)fds;
	(void)max;
	return -1;
}

void
testos_fd_release(int fd)
{
	(void)fd;
}

void
testos_fd_shortage_end(void)
{
}

hvs_sock_t
testos_tcp_listener(int backlog, uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int len = (int)sizeof(sin);
	WSADATA wsa;
	SOCKET s;

	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		abort();
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0,
	    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	if (s == INVALID_SOCKET ||
	    bind(s, (struct sockaddr *)&sin, (int)sizeof(sin)) != 0 ||
	    listen(s, backlog) != 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) != 0) {
		abort();
	}
	*port = ntohs(sin.sin_port);
	return (hvs_sock_t)s;
}

hvs_sock_t
testos_accept(hvs_sock_t ls)
{
	SOCKET s = accept((SOCKET)ls, NULL, NULL);

	if (s == INVALID_SOCKET) {
		return HVS_INVALID_SOCK;
	}
	/* Accepted sockets inherit the listener's mode: make it blocking. */
	{
		u_long off = 0;
		(void)ioctlsocket(s, FIONBIO, &off);
	}
	return (hvs_sock_t)s;
}

void
testos_sleep_ms(unsigned ms)
{
	Sleep(ms);
}

/* The real calls, past the fault injection (sysmock_win.c). */
extern __typeof__(&recv) __real___imp_recv;

static int
errno_of(int wsa)
{
	switch (wsa) {
	case WSAEWOULDBLOCK:
		return EAGAIN;
	case WSAECONNRESET:
	case WSAENETRESET:
		return ECONNRESET;
	case WSAECONNABORTED:
		return ECONNABORTED;
	case WSAESHUTDOWN:
		return EPIPE;
	case WSAENOTCONN:
		return ENOTCONN;
	case WSAEINTR:
		return EINTR;
	case WSAENOTSOCK:
		return ENOTSOCK;
	default:
		return EIO;
	}
}

void
testos_socketpair(hvs_sock_t sv[2])
{
	hvs_sock_t ls = HVS_INVALID_SOCK;

	/* A listener of its own, gone again before the pair is used. */
	testos_tcp_pair(&ls, sv);
	closesocket((SOCKET)ls);
}

void
testos_tcp_pair(hvs_sock_t *ls, hvs_sock_t sv[2])
{
	struct sockaddr_in sin;
	int len = (int)sizeof(sin);
	uint16_t port;
	BOOL one = TRUE;
	SOCKET s;

	if (*ls == HVS_INVALID_SOCK) {
		*ls = testos_tcp_listener(128, &port);
	}
	if (getsockname((SOCKET)*ls, (struct sockaddr *)&sin, &len) != 0) {
		abort();
	}
	s = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0,
	    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	if (s == INVALID_SOCKET ||
	    connect(s, (struct sockaddr *)&sin, len) != 0) {
		abort();
	}
	sv[0] = (hvs_sock_t)s;
	sv[1] = testos_accept(*ls);
	if (sv[1] == HVS_INVALID_SOCK) {
		abort();
	}
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one,
	    (int)sizeof(one));
}

void
testos_set_nonblock(hvs_sock_t s)
{
	u_long on = 1;

	if (ioctlsocket((SOCKET)s, FIONBIO, &on) != 0) {
		abort();
	}
}

void
testos_abort_close(hvs_sock_t s)
{
	struct linger lg = {1, 0};

	(void)setsockopt((SOCKET)s, SOL_SOCKET, SO_LINGER, (const char *)&lg,
	    (int)sizeof(lg));
	closesocket((SOCKET)s);
}

long
testos_read(hvs_sock_t s, void *buf, size_t len, int *err)
{
	int n = __real___imp_recv((SOCKET)s, buf,
	    len > INT32_MAX ? INT32_MAX : (int)len, 0);

	if (n == SOCKET_ERROR) {
		*err = errno_of(WSAGetLastError());
		return -1;
	}
	return n;
}

long
testos_send(hvs_sock_t s, const void *buf, size_t len, int *err)
{
	int n = send((SOCKET)s, buf, len > INT32_MAX ? INT32_MAX : (int)len, 0);

	if (n == SOCKET_ERROR) {
		*err = errno_of(WSAGetLastError());
		return -1;
	}
	return n;
}

void
testos_raise_fd_limit(void)
{
}

int
testos_pipe(int p[2])
{
	(void)p;
	return -1;
}

int
testos_pty(int *master, int *slave)
{
	(void)master;
	(void)slave;
	return -1;
}

int
testos_open_dir(const char *path)
{
	(void)path;
	return -1;
}

int
testos_pipe_bytes(int fd)
{
	(void)fd;
	return -1;
}

int
testos_resets_reach_peer(void)
{
	static int known = -1;
	hvs_sock_t sv[2];
	char b;
	int err = 0;

	if (known < 0) {
		testos_socketpair(sv);
		testos_abort_close(sv[0]);
		known =
		    testos_read(sv[1], &b, 1, &err) < 0 && err == ECONNRESET;
		closesocket((SOCKET)sv[1]);
	}
	return known;
}
