/* SPDX-License-Identifier: MIT */
/*
 * See sysmock.h: the Windows implementation, scripted the same way.
 *
 * mingw-w64 code calls Winsock through import pointers (__imp_socket
 * and so on, from __declspec(dllimport)), so -Wl,--wrap=socket would
 * catch nothing. The test programs are linked with
 * -Wl,--wrap=__imp_<call> instead (test/meson.build): every reference to
 * the import pointer in the statically linked objects (the library's,
 * the test's) then reaches the pointer __wrap___imp_<call> defined here,
 * and __real___imp_<call> is the real import pointer.
 *
 * A scripted errno becomes the Winsock error the real call gives for
 * that condition (WSASetLastError), so the library's own translation is
 * what gets tested. The calls a script names:
 *   SYSMOCK_SOCKET      WSASocketW(), socket()
 *   SYSMOCK_ACCEPT      accept(), WSAAccept()
 *   SYSMOCK_POLL        select(), WSAPoll()
 *   SYSMOCK_SEND        send(), WSASend()
 *   SYSMOCK_RECV        recv(), WSARecv()
 *   SYSMOCK_BIND, _LISTEN, _CONNECT, _GETSOCKOPT, _SETSOCKOPT, _SHUTDOWN
 *                       the call of that name
 * SYSMOCK_SPLICE, _PIPE2, _READ and _WRITE have no Winsock counterpart:
 * scripting them has no effect and their counters stay at 0.
 *
 * Windows has no descriptor table to count (and wine answers 0 to
 * GetProcessHandleCount()), so the wrappers also keep the set of open
 * sockets and the non-blocking mode last set on each (Winsock cannot be
 * asked for it): sysmock_open_sockets(), sysmock_nonblock().
 */
#include <errno.h>
#include <stddef.h>

#include <winsock2.h>
#include <windows.h>

#include "sysmock.h"

struct script {
	int err;
	int after_real;
	int skip;
	int times;
	unsigned count;
};

static struct script scripts[SYSMOCK__COUNT];

void
sysmock_fail(sysmock_call_t call, int err, int skip, int times)
{
	scripts[call].err = err;
	scripts[call].skip = skip;
	scripts[call].times = times;
	scripts[call].after_real = 0;
}

void
sysmock_fail_after_real(sysmock_call_t call, int err, int skip, int times)
{
	sysmock_fail(call, err, skip, times);
	scripts[call].after_real = 1;
}

void
sysmock_reset(void)
{
	for (size_t i = 0; i < SYSMOCK__COUNT; i++) {
		scripts[i] = (struct script){0};
	}
}

unsigned
sysmock_count(sysmock_call_t call)
{
	return scripts[call].count;
}

/*
 * The Winsock error a real call reports where POSIX says @err. errno
 * values without a Winsock twin are passed as they are: the library
 * translates those too.
 */
static int
wsa_error(int err)
{
	switch (err) {
	case EINTR:
		return WSAEINTR;
	case EBADF:
		return WSAEBADF;
	case EACCES:
		return WSAEACCES;
	case EINVAL:
		return WSAEINVAL;
	case EMFILE:
		return WSAEMFILE;
	case ENFILE:
		/* "Too many processes": the system-wide limit. */
		return WSAEPROCLIM;
	case ENOMEM:
		return WSA_NOT_ENOUGH_MEMORY;
	case EAGAIN:
	case EINPROGRESS:
		/* A non-blocking connect() in progress says "would block". */
		return WSAEWOULDBLOCK;
	case EALREADY:
		return WSAEALREADY;
	case ENOTSOCK:
		return WSAENOTSOCK;
	case EOPNOTSUPP:
		return WSAEOPNOTSUPP;
	case EAFNOSUPPORT:
		return WSAEAFNOSUPPORT;
	case EADDRINUSE:
		return WSAEADDRINUSE;
	case EADDRNOTAVAIL:
		return WSAEADDRNOTAVAIL;
	case ENETDOWN:
		return WSAENETDOWN;
	case ENETUNREACH:
		return WSAENETUNREACH;
	case ECONNABORTED:
		return WSAECONNABORTED;
	case ECONNRESET:
		return WSAECONNRESET;
	case ENOBUFS:
		return WSAENOBUFS;
	case EISCONN:
		return WSAEISCONN;
	case ENOTCONN:
		return WSAENOTCONN;
	case EPIPE:
		return WSAESHUTDOWN;
	case ETIMEDOUT:
		return WSAETIMEDOUT;
	case ECONNREFUSED:
		return WSAECONNREFUSED;
	case EHOSTUNREACH:
		return WSAEHOSTUNREACH;
	default:
		return err;
	}
}

/* 1 if this call must fail (the Winsock error is then set). */
static int
should_fail(sysmock_call_t call)
{
	struct script *s = &scripts[call];

	s->count++;
	if (s->after_real) {
		return 0;
	}
	if (s->times == 0) {
		return 0;
	}
	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	if (s->times > 0) {
		s->times--;
	}
	WSASetLastError(wsa_error(s->err));
	return 1;
}

/* For after_real scripts: 1 if the real call's result must be replaced. */
static int
fail_after(sysmock_call_t call)
{
	struct script *s = &scripts[call];

	if (!s->after_real || s->times == 0) {
		return 0;
	}
	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	if (s->times > 0) {
		s->times--;
	}
	WSASetLastError(wsa_error(s->err));
	return 1;
}

/*
 * The open sockets, with the mode last set by FIONBIO. Loop threads
 * (name lookups, descriptor bridges) make sockets too: a lock.
 */
#define MAX_TRACKED 4096

static struct tracked {
	SOCKET s;
	int nonblock;
} tracked[MAX_TRACKED];
static int ntracked;
static SRWLOCK tracked_lock = SRWLOCK_INIT;

static int
find_tracked(SOCKET s)
{
	for (int i = 0; i < ntracked; i++) {
		if (tracked[i].s == s) {
			return i;
		}
	}
	return -1;
}

static void
track_open(SOCKET s)
{
	if (s == INVALID_SOCKET) {
		return;
	}
	AcquireSRWLockExclusive(&tracked_lock);
	/* A handle value reused after a close we did not see. */
	if (find_tracked(s) < 0 && ntracked < MAX_TRACKED) {
		tracked[ntracked].s = s;
		tracked[ntracked].nonblock = 0;
		ntracked++;
	}
	ReleaseSRWLockExclusive(&tracked_lock);
}

static void
track_close(SOCKET s)
{
	int i;

	AcquireSRWLockExclusive(&tracked_lock);
	i = find_tracked(s);
	if (i >= 0) {
		tracked[i] = tracked[--ntracked];
	}
	ReleaseSRWLockExclusive(&tracked_lock);
}

static void
track_nonblock(SOCKET s, int on)
{
	int i;

	AcquireSRWLockExclusive(&tracked_lock);
	i = find_tracked(s);
	if (i >= 0) {
		tracked[i].nonblock = on;
	}
	ReleaseSRWLockExclusive(&tracked_lock);
}

int
sysmock_open_sockets(void)
{
	int n;

	AcquireSRWLockShared(&tracked_lock);
	n = ntracked;
	ReleaseSRWLockShared(&tracked_lock);
	return n;
}

int
sysmock_nonblock(uintptr_t sock)
{
	int i, on = -1;

	AcquireSRWLockShared(&tracked_lock);
	i = find_tracked((SOCKET)sock);
	if (i >= 0) {
		on = tracked[i].nonblock;
	}
	ReleaseSRWLockShared(&tracked_lock);
	return on;
}

/*
 * WRAP(ret, failed, name, params, args, call, after): the wrapper of
 * @name, returning @failed on a scripted failure; @after runs on the real
 * call's result r_ (bookkeeping). Prototypes keep -Wmissing-prototypes
 * and -Wmissing-variable-declarations quiet; the linker resolves them.
 */
#define WRAP(ret, failed, name, params, args, call, after) \
	typedef __typeof__(&name) name##_fn;               \
	extern name##_fn __real___imp_##name;              \
	extern name##_fn __wrap___imp_##name;              \
	static ret WSAAPI wrap_##name params               \
	{                                                  \
		ret r_;                                    \
		if (should_fail(call)) {                   \
			return failed;                     \
		}                                          \
		r_ = __real___imp_##name args;             \
		after;                                     \
		if (fail_after(call)) {                    \
			return failed;                     \
		}                                          \
		return r_;                                 \
	}                                                  \
	name##_fn __wrap___imp_##name = wrap_##name;

#define NOTHING ((void)0)

WRAP(SOCKET, INVALID_SOCKET, WSASocketW,
    (int af, int type, int proto, LPWSAPROTOCOL_INFOW info, GROUP g,
	DWORD flags),
    (af, type, proto, info, g, flags), SYSMOCK_SOCKET, track_open(r_))
WRAP(SOCKET, INVALID_SOCKET, socket, (int af, int type, int proto),
    (af, type, proto), SYSMOCK_SOCKET, track_open(r_))
WRAP(int, SOCKET_ERROR, bind, (SOCKET s, const struct sockaddr *a, int l),
    (s, a, l), SYSMOCK_BIND, NOTHING)
WRAP(int, SOCKET_ERROR, listen, (SOCKET s, int b), (s, b), SYSMOCK_LISTEN,
    NOTHING)
WRAP(SOCKET, INVALID_SOCKET, accept, (SOCKET s, struct sockaddr *a, int *l),
    (s, a, l), SYSMOCK_ACCEPT, track_open(r_))
WRAP(SOCKET, INVALID_SOCKET, WSAAccept,
    (SOCKET s, struct sockaddr *a, LPINT l, LPCONDITIONPROC cond,
	DWORD_PTR data),
    (s, a, l, cond, data), SYSMOCK_ACCEPT, track_open(r_))
WRAP(int, SOCKET_ERROR, connect, (SOCKET s, const struct sockaddr *a, int l),
    (s, a, l), SYSMOCK_CONNECT, NOTHING)
WRAP(int, SOCKET_ERROR, select,
    (int n, fd_set *r, fd_set *w, fd_set *e, const PTIMEVAL t), (n, r, w, e, t),
    SYSMOCK_POLL, NOTHING)
WRAP(int, SOCKET_ERROR, WSAPoll, (LPWSAPOLLFD f, ULONG n, INT t), (f, n, t),
    SYSMOCK_POLL, NOTHING)
WRAP(int, SOCKET_ERROR, getsockopt, (SOCKET s, int lv, int n, char *v, int *l),
    (s, lv, n, v, l), SYSMOCK_GETSOCKOPT, NOTHING)
WRAP(int, SOCKET_ERROR, setsockopt,
    (SOCKET s, int lv, int n, const char *v, int l), (s, lv, n, v, l),
    SYSMOCK_SETSOCKOPT, NOTHING)
WRAP(int, SOCKET_ERROR, shutdown, (SOCKET s, int h), (s, h), SYSMOCK_SHUTDOWN,
    NOTHING)
WRAP(int, SOCKET_ERROR, send, (SOCKET s, const char *b, int n, int f),
    (s, b, n, f), SYSMOCK_SEND, NOTHING)
WRAP(int, SOCKET_ERROR, WSASend,
    (SOCKET s, LPWSABUF b, DWORD n, LPDWORD sent, DWORD f, LPWSAOVERLAPPED o,
	LPWSAOVERLAPPED_COMPLETION_ROUTINE cr),
    (s, b, n, sent, f, o, cr), SYSMOCK_SEND, NOTHING)
WRAP(int, SOCKET_ERROR, recv, (SOCKET s, char *b, int n, int f), (s, b, n, f),
    SYSMOCK_RECV, NOTHING)
WRAP(int, SOCKET_ERROR, WSARecv,
    (SOCKET s, LPWSABUF b, DWORD n, LPDWORD got, LPDWORD f, LPWSAOVERLAPPED o,
	LPWSAOVERLAPPED_COMPLETION_ROUTINE cr),
    (s, b, n, got, f, o, cr), SYSMOCK_RECV, NOTHING)

/* Never failed, only watched: the set of open sockets and their mode. */
typedef __typeof__(&closesocket) closesocket_fn;
extern closesocket_fn __real___imp_closesocket;
extern closesocket_fn __wrap___imp_closesocket;

static int WSAAPI
wrap_closesocket(SOCKET s)
{
	int rc = __real___imp_closesocket(s);

	if (rc == 0) {
		track_close(s);
	}
	return rc;
}

closesocket_fn __wrap___imp_closesocket = wrap_closesocket;

typedef __typeof__(&ioctlsocket) ioctlsocket_fn;
extern ioctlsocket_fn __real___imp_ioctlsocket;
extern ioctlsocket_fn __wrap___imp_ioctlsocket;

static int WSAAPI
wrap_ioctlsocket(SOCKET s, long cmd, u_long *arg)
{
	u_long on = arg != NULL ? *arg : 0;
	int rc = __real___imp_ioctlsocket(s, cmd, arg);

	if (rc == 0 && cmd == (long)FIONBIO) {
		track_nonblock(s, on != 0);
	}
	return rc;
}

ioctlsocket_fn __wrap___imp_ioctlsocket = wrap_ioctlsocket;
