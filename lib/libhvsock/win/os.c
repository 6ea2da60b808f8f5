/* SPDX-License-Identifier: MIT */
/*
 * The system-call layer for Windows: Winsock 2 behind the hvs__os_*
 * interface of internal.h, mirroring posix/os.c.
 *
 * Differences from POSIX that this file absorbs:
 *  - Winsock must be started once per process (hvs__os_init);
 *  - sockets are handles: close-on-exec is "not inheritable"
 *    (WSA_FLAG_NO_HANDLE_INHERIT), close is closesocket();
 *  - errors come from WSAGetLastError(), not errno, and a non-blocking
 *    connect reports WSAEWOULDBLOCK where POSIX says EINPROGRESS;
 *  - an accepted socket inherits the listener's non-blocking mode, so the
 *    mode is always set explicitly;
 *  - there is no SIGPIPE, so nothing to suppress;
 *  - SO_REUSEADDR means "let another socket steal this port", not "rebind
 *    despite TIME_WAIT" (which Windows allows anyway), so it is not set.
 *
 * AF_UNIX (Windows 10 1803 and later) goes through the same calls; only
 * removing a stale socket file needs Windows file APIs.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

#include <windows.h>
#include <afunix.h>

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static int wsa_status;

static BOOL CALLBACK
wsa_start(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	WSADATA wsa;
	int rc;

	(void)once;
	(void)param;
	(void)ctx;
	/* Never paired with WSACleanup(): the library cannot know when the
	 * application's last socket is gone, and the process exit cleans
	 * up. WSAStartup() returns its error instead of setting it. */
	rc = WSAStartup(MAKEWORD(2, 2), &wsa);
	if (rc != 0) {
		hvs__log(HVS_LOG_ERROR,
		    "WSAStartup: %s (Winsock error %d): no socket can be made",
		    hvs_strerror(hvs_translate_sys_error(rc)), rc);
		wsa_status = HVS_EWINSOCK;
	} else if (LOBYTE(wsa.wVersion) != 2 || HIBYTE(wsa.wVersion) != 2) {
		WSACleanup();
		hvs__log(HVS_LOG_ERROR,
		    "WSAStartup: Winsock 2.2 is not available (only %d.%d)",
		    LOBYTE(wsa.wVersion), HIBYTE(wsa.wVersion));
		wsa_status = HVS_EWINSOCK;
	}
	return TRUE;
}

int
hvs__os_init(void)
{
	InitOnceExecuteOnce(&wsa_once, wsa_start, NULL, NULL);
	return wsa_status;
}

/*
 * errno values (the CRT's) and WSA* codes are both accepted. They do not
 * collide: WSA codes start at 10000, except the few that alias Win32
 * errors (WSA_NOT_ENOUGH_MEMORY = 8, WSA_INVALID_PARAMETER = 87,
 * WSA_OPERATION_ABORTED = 995, ...). Of those only 6 (WSA_INVALID_HANDLE)
 * is also an errno value this library knows (ENXIO); errno wins there.
 */
int
hvs_translate_sys_error(int sys_errno)
{
	switch (sys_errno) {
	case 0:
		return 0;

	/* Winsock */
	case WSAEINTR:
		return HVS_EINTR;
	case WSAEBADF:
		return HVS_EBADF;
	case WSAEACCES:
		return HVS_EACCES;
	case WSAEFAULT:
	case WSAEINVAL:
	case WSAEDESTADDRREQ:
	case WSAEMSGSIZE:
	case WSANOTINITIALISED:
	case WSA_INVALID_PARAMETER:
		return HVS_EINVAL;
	case WSAEMFILE:
		return HVS_EMFILE;
	case WSAEWOULDBLOCK:
		return HVS_EAGAIN;
	case WSAEINPROGRESS:
		return HVS_EINPROGRESS;
	case WSAEALREADY:
		return HVS_EALREADY;
	case WSAENOTSOCK:
		return HVS_ENOTSOCK;
	case WSAEPROTOTYPE:
		return HVS_EPROTOTYPE;
	case WSAENOPROTOOPT:
		return HVS_ENOPROTOOPT;
	case WSAEPROTONOSUPPORT:
	case WSAESOCKTNOSUPPORT:
		return HVS_EPROTONOSUPPORT;
	case WSAEOPNOTSUPP:
		return HVS_ENOTSUP;
	case WSAEPFNOSUPPORT:
	case WSAEAFNOSUPPORT:
		return HVS_EAFNOSUPPORT;
	case WSAEADDRINUSE:
		return HVS_EADDRINUSE;
	case WSAEADDRNOTAVAIL:
		return HVS_EADDRNOTAVAIL;
	case WSAENETDOWN:
	case WSASYSNOTREADY:
		return HVS_ENETDOWN;
	case WSAENETUNREACH:
		return HVS_ENETUNREACH;
	case WSAENETRESET:
	case WSAECONNRESET:
		return HVS_ECONNRESET;
	case WSAECONNABORTED:
		return HVS_ECONNABORTED;
	case WSAENOBUFS:
	case WSAETOOMANYREFS:
		return HVS_ENOBUFS;
	case WSAEISCONN:
		return HVS_EISCONN;
	case WSAENOTCONN:
		return HVS_ENOTCONN;
	case WSAESHUTDOWN:
	case WSAEDISCON:
		return HVS_EPIPE;
	case WSAETIMEDOUT:
		return HVS_ETIMEDOUT;
	case WSAECONNREFUSED:
		return HVS_ECONNREFUSED;
	case WSAENAMETOOLONG:
		return HVS_ENAMETOOLONG;
	case WSAEHOSTDOWN:
		return HVS_EHOSTDOWN;
	case WSAEHOSTUNREACH:
		return HVS_EHOSTUNREACH;
	case WSAEPROCLIM:
		return HVS_ENFILE;
	case WSAVERNOTSUPPORTED:
		return HVS_ENOSYS;
	case WSAECANCELLED:
	case WSA_E_CANCELLED:
	case WSA_OPERATION_ABORTED:
		return HVS_ECANCELED;
	case WSASYSCALLFAILURE:
		return HVS_EIO;
	case WSA_NOT_ENOUGH_MEMORY: /* = 8, ENOEXEC as errno */
		return HVS_ENOMEM;
	case WSAHOST_NOT_FOUND:
	case WSATRY_AGAIN:
	case WSANO_RECOVERY:
	case WSANO_DATA:
		return HVS_EADDR_RESOLVE;

	default:
		/* errno, in the CRT's numbering. */
		return hvs__translate_errno(sys_errno);
	}
}

int
hvs__os_last_error(void)
{
	int err = hvs_translate_sys_error(WSAGetLastError());

	/* A failed call that left no error behind is still a failure. */
	return err != 0 ? err : HVS_EUNKNOWN;
}

/* Win32 (GetLastError) codes of the file and process calls used here. */
static int
win32_error(DWORD err)
{
	switch (err) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return HVS_ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		return HVS_EACCES;
	case ERROR_INVALID_NAME:
	case ERROR_INVALID_PARAMETER:
	case ERROR_NO_UNICODE_TRANSLATION:
		return HVS_EINVAL;
	case ERROR_FILENAME_EXCED_RANGE:
	case ERROR_BUFFER_OVERFLOW:
		return HVS_ENAMETOOLONG;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return HVS_ENOMEM;
	case ERROR_INVALID_HANDLE:
		return HVS_EBADF;
	case ERROR_TOO_MANY_OPEN_FILES:
		return HVS_EMFILE;
	case ERROR_DIRECTORY:
		return HVS_ENOTDIR;
	default:
		return HVS_EUNKNOWN;
	}
}

/* Windows has no fds: keep a socket handle out of child processes. */
static void
set_no_inherit(SOCKET s)
{
	/* Can fail with a layered service provider in the way; the socket
	 * still works, it may just leak into a child. */
	if (!SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0)) {
		hvs__log(HVS_LOG_DEBUG,
		    "cannot make socket %llu non-inheritable (error %lu)",
		    (unsigned long long)s, (unsigned long)GetLastError());
	}
}

int
hvs__os_socket(int family, int type, int protocol, int nonblock,
    hvs_sock_t *out)
{
	SOCKET s;
	int err;

	err = hvs__os_init();
	if (err != 0) {
		return err;
	}
	/* WSA_FLAG_OVERLAPPED is what socket() would give (libevent's IOCP
	 * backend needs it); NO_HANDLE_INHERIT is close-on-exec, atomically
	 * (Windows 7 SP1 and later). */
	s = WSASocketW(family, type, protocol, NULL, 0,
	    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
		/* Before Windows 7 SP1 the flag is unknown: fall back. */
		s = WSASocketW(family, type, protocol, NULL, 0,
		    WSA_FLAG_OVERLAPPED);
		if (s != INVALID_SOCKET) {
			set_no_inherit(s);
		}
	}
	if (s == INVALID_SOCKET) {
		err = WSAGetLastError();
		/* No AF_HYPERV here (before Windows 10 1607, or without
		 * Hyper-V): one code, whose text says what is needed. */
		if (family == hvs__hv_family() &&
		    (err == WSAEAFNOSUPPORT || err == WSAEPFNOSUPPORT ||
			err == WSAEPROTONOSUPPORT ||
			err == WSAESOCKTNOSUPPORT)) {
			hvs__log(HVS_LOG_DEBUG,
			    "socket(AF_HYPERV): Winsock error %d", err);
			return HVS_EAFNOSUPPORT;
		}
		err = hvs_translate_sys_error(err);
		return err != 0 ? err : HVS_EUNKNOWN;
	}
	if (nonblock) {
		err = hvs__os_set_nonblock((hvs_sock_t)s, 1);
		if (err != 0) {
			closesocket(s);
			return err;
		}
	}
	*out = (hvs_sock_t)s;
	return 0;
}

int
hvs__os_bind(hvs_sock_t s, const hvs__sockaddr_t *sa)
{
	if (bind((SOCKET)s, (const struct sockaddr *)&sa->ss, sa->len) ==
	    SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_listen(hvs_sock_t s, int backlog)
{
	if (backlog <= 0) {
		backlog = SOMAXCONN;
	}
	/* Hyper-V sockets accept a duplicate bind and fail here instead
	 * (WSAEADDRINUSE), which translates to the same HVS_EADDRINUSE. */
	if (listen((SOCKET)s, backlog) == SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_accept(hvs_sock_t s, hvs_sock_t *out, hvs__sockaddr_t *peer,
    int nonblock)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);
	SOCKET c;
	int err;

	for (;;) {
		c = accept((SOCKET)s, (struct sockaddr *)&ss, &len);
		if (c != INVALID_SOCKET) {
			break;
		}
		if (WSAGetLastError() != WSAEINTR) {
			return hvs__os_last_error();
		}
		len = (int)sizeof(ss);
	}
	/* An accepted socket inherits the listener's properties, including
	 * its inheritability and its non-blocking mode; set both so that the
	 * result does not depend on how the listener was made. */
	set_no_inherit(c);
	err = hvs__os_set_nonblock((hvs_sock_t)c, nonblock);
	if (err != 0) {
		closesocket(c);
		return err;
	}
	if (peer != NULL) {
		memcpy(&peer->ss, &ss, sizeof(ss));
		peer->len = len;
	}
	*out = (hvs_sock_t)c;
	return 0;
}

int
hvs__os_connect(hvs_sock_t s, const hvs__sockaddr_t *sa)
{
	int err;

	if (connect((SOCKET)s, (const struct sockaddr *)&sa->ss, sa->len) !=
	    SOCKET_ERROR) {
		return 0;
	}
	err = WSAGetLastError();
	/* Winsock's "in progress" for a non-blocking connect. */
	if (err == WSAEWOULDBLOCK || err == WSAEINPROGRESS) {
		return HVS_EINPROGRESS;
	}
	err = hvs_translate_sys_error(err);
	return err != 0 ? err : HVS_EUNKNOWN;
}

int
hvs__os_wait_connected(hvs_sock_t s, int timeout_ms)
{
	int rc, soerr = 0;

	/* A failed connect shows up in the except set: ready too. */
	rc = hvs__os_wait_io(s, 1, timeout_ms);
	if (rc < 0) {
		return rc;
	}
	rc = hvs__os_getsockopt_int(s, SOL_SOCKET, SO_ERROR, &soerr);
	if (rc != 0) {
		return rc;
	}
	if (soerr != 0) {
		rc = hvs_translate_sys_error(soerr);
		return rc != 0 ? rc : HVS_EUNKNOWN;
	}
	/* As on POSIX, only a peer name proves the connection (a failure
	 * whose error was already consumed leaves SO_ERROR at 0). */
	{
		hvs__sockaddr_t peer;
		return hvs__os_getpeername(s, &peer);
	}
}

int
hvs__os_wait_io(hvs_sock_t s, int writable, int timeout_ms)
{
	fd_set fds, efds;
	struct timeval tv, *tvp = NULL;
	int rc;

	/* select(), not WSAPoll(): before Windows 10 2004 WSAPoll() never
	 * reports a failed connect and waits out the whole timeout. An
	 * error (the except set) counts as ready: the next recv, send or
	 * SO_ERROR says what it is. */
	FD_ZERO(&fds);
	FD_ZERO(&efds);
	FD_SET((SOCKET)s, &fds);
	FD_SET((SOCKET)s, &efds);
	if (timeout_ms >= 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		tvp = &tv;
	}
	rc = select(0, writable ? NULL : &fds, writable ? &fds : NULL, &efds,
	    tvp);
	if (rc == SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return rc == 0 ? HVS_ETIMEDOUT : 0;
}

int
hvs__os_close(hvs_sock_t s)
{
	if (s == HVS_INVALID_SOCK) {
		return 0;
	}
	/* Never retried: the handle is gone whatever closesocket() says. */
	if (closesocket((SOCKET)s) == SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_shutdown(hvs_sock_t s, int how)
{
	int sd;

	switch (how) {
	case HVS_SHUT_RD:
		sd = SD_RECEIVE;
		break;
	case HVS_SHUT_WR:
		sd = SD_SEND;
		break;
	case HVS_SHUT_RDWR:
		sd = SD_BOTH;
		break;
	default:
		return HVS_EINVAL;
	}
	if (shutdown((SOCKET)s, sd) == SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_set_nonblock(hvs_sock_t s, int on)
{
	u_long mode = on ? 1 : 0;

	/* Fails with WSAEINVAL for blocking mode while WSAEventSelect() or
	 * WSAAsyncSelect() is active on the socket. */
	if (ioctlsocket((SOCKET)s, FIONBIO, &mode) == SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_setsockopt_int(hvs_sock_t s, int level, int name, int value)
{
	if (level == SOL_SOCKET && name == SO_REUSEADDR) {
		/* What POSIX code wants from SO_REUSEADDR (bind while old
		 * connections linger in TIME_WAIT) is Windows' default; the
		 * Windows option would let another process bind the same
		 * port and steal connections. */
		return 0;
	}
	if (setsockopt((SOCKET)s, level, name, (const char *)&value,
		(int)sizeof(value)) == SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_getsockopt_int(hvs_sock_t s, int level, int name, int *value)
{
	int v = 0;
	int len = (int)sizeof(v);

	/* Zeroed first: some options (BOOL vs. BOOLEAN) write fewer bytes. */
	if (getsockopt((SOCKET)s, level, name, (char *)&v, &len) ==
	    SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	*value = v;
	return 0;
}

int
hvs__os_getsockname(hvs_sock_t s, hvs__sockaddr_t *out)
{
	memset(&out->ss, 0, sizeof(out->ss));
	out->len = (int)sizeof(out->ss);
	if (getsockname((SOCKET)s, (struct sockaddr *)&out->ss, &out->len) ==
	    SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_getpeername(hvs_sock_t s, hvs__sockaddr_t *out)
{
	memset(&out->ss, 0, sizeof(out->ss));
	out->len = (int)sizeof(out->ss);
	if (getpeername((SOCKET)s, (struct sockaddr *)&out->ss, &out->len) ==
	    SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_send(hvs_sock_t s, const void *buf, size_t len, size_t *sent)
{
	int n = len > INT_MAX ? INT_MAX : (int)len;
	int rc;

	*sent = 0;
	if (len == 0) {
		return 0;
	}
	/* No SIGPIPE on Windows: a write after the peer's shutdown fails
	 * with WSAESHUTDOWN / WSAECONNRESET. */
	for (;;) {
		rc = send((SOCKET)s, (const char *)buf, n, 0);
		if (rc != SOCKET_ERROR) {
			*sent = (size_t)rc;
			return 0;
		}
		if (WSAGetLastError() != WSAEINTR) {
			return hvs__os_last_error();
		}
	}
}

int
hvs__os_recv(hvs_sock_t s, void *buf, size_t len, size_t *got)
{
	int n = len > INT_MAX ? INT_MAX : (int)len;
	int rc;

	*got = 0;
	if (len == 0) {
		/* recv() would return 0, which reads as end of file. */
		return 0;
	}
	for (;;) {
		rc = recv((SOCKET)s, (char *)buf, n, 0);
		if (rc > 0) {
			*got = (size_t)rc;
			return 0;
		}
		if (rc == 0) {
			return HVS_EOF;
		}
		if (WSAGetLastError() != WSAEINTR) {
			return hvs__os_last_error();
		}
	}
}

int
hvs__os_sock_outq(hvs_sock_t s, size_t *out)
{
	/* Winsock cannot tell what the peer has not acknowledged. */
	(void)s;
	*out = 0;
	return HVS_ENOTSUP;
}

int
hvs__os_sock_family(hvs_sock_t s, int *family)
{
	WSAPROTOCOL_INFOW info;
	int len = (int)sizeof(info);

	/* Works on unbound sockets too, where getsockname() fails. */
	if (getsockopt((SOCKET)s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info,
		&len) == SOCKET_ERROR) {
		return hvs__os_last_error();
	}
	*family = info.iAddressFamily;
	return 0;
}

/*
 * fd:N on Windows: N is the numeric value of an inherited socket handle
 * (handles fit in 32 bits, even in 64-bit processes).
 */
int
hvs__os_adopt_listener(int fd, hvs_sock_t *out)
{
	SOCKET s = (SOCKET)(uintptr_t)(unsigned)fd;
	int err, type = 0, listening = 0;

	if (fd < 0) {
		return HVS_EBADF;
	}
	err = hvs__os_init();
	if (err != 0) {
		return err;
	}
	err = hvs__os_getsockopt_int((hvs_sock_t)s, SOL_SOCKET, SO_TYPE, &type);
	if (err != 0) {
		return err;
	}
	if (type != SOCK_STREAM) {
		hvs__log(HVS_LOG_ERROR,
		    "inherited socket %d is not a stream socket", fd);
		return HVS_EPROTOTYPE;
	}
	err = hvs__os_getsockopt_int((hvs_sock_t)s, SOL_SOCKET, SO_ACCEPTCONN,
	    &listening);
	if (err != 0) {
		return err;
	}
	if (!listening) {
		hvs__log(HVS_LOG_ERROR, "inherited socket %d is not listening",
		    fd);
		return HVS_EINVAL;
	}
	set_no_inherit(s);
	*out = (hvs_sock_t)s;
	return 0;
}

/* UTF-8 (what sun_path holds on Windows too) to a wide path. */
static int
path_to_wide(const char *path, WCHAR *out, int size)
{
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, out,
		size) == 0) {
		return GetLastError() == ERROR_INSUFFICIENT_BUFFER
		    ? HVS_ENAMETOOLONG
		    : HVS_EINVAL;
	}
	return 0;
}

/* Is something accepting connections on the unix socket at @path? */
static int
unix_socket_alive(const char *path)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);
	SOCKET s;
	int alive;

	if (len >= sizeof(sun.sun_path)) {
		return 0;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	s = WSASocketW(AF_UNIX, SOCK_STREAM, 0, NULL, 0,
	    WSA_FLAG_NO_HANDLE_INHERIT);
	if (s == INVALID_SOCKET) {
		return 0;
	}
	alive = connect(s, (const struct sockaddr *)&sun, (int)sizeof(sun)) !=
	    SOCKET_ERROR;
	closesocket(s);
	return alive;
}

/*
 * A Windows unix socket file is a reparse point with the AF_UNIX tag.
 * It is opened once and deleted through that handle, so the check and the
 * removal concern the same file. Returns 0 when it was removed or nothing
 * is there, HVS_EEXIST for a file that is not a socket, HVS_EADDRINUSE if
 * a server still listens on it.
 */
int
hvs__os_unlink_stale(const char *path)
{
	WCHAR wpath[MAX_PATH];
	FILE_ATTRIBUTE_TAG_INFO tag;
	FILE_DISPOSITION_INFO disp;
	HANDLE h;
	int err;

	err = hvs__os_init();
	if (err != 0) {
		return err;
	}
	err = path_to_wide(path, wpath, (int)HVS__ARRAY_LEN(wpath));
	if (err != 0) {
		return err;
	}
	h = CreateFileW(wpath, DELETE | FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		err = win32_error(GetLastError());
		return err == HVS_ENOENT ? 0 : err;
	}
	if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag,
		sizeof(tag))) {
		err = win32_error(GetLastError());
		goto out_close;
	}
	if (!(tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ||
	    tag.ReparseTag != IO_REPARSE_TAG_AF_UNIX) {
		hvs__log(HVS_LOG_ERROR,
		    "%s exists and is not a unix socket; not removing it",
		    path);
		err = HVS_EEXIST;
		goto out_close;
	}
	if (unix_socket_alive(path)) {
		hvs__log(HVS_LOG_ERROR,
		    "%s is in use by a listening server; not removing it",
		    path);
		err = HVS_EADDRINUSE;
		goto out_close;
	}
	disp.DeleteFile = TRUE;
	if (!SetFileInformationByHandle(h, FileDispositionInfo, &disp,
		sizeof(disp))) {
		err = win32_error(GetLastError());
		goto out_close;
	}
	hvs__log(HVS_LOG_DEBUG, "removed stale unix socket %s", path);
	err = 0;
out_close:
	CloseHandle(h);
	return err;
}

/* Windows' AF_UNIX has socket files only (Windows 10 1803 and later). */
int
hvs__os_unix_abstract(void)
{
	return HVS_EUNIX_ABSTRACT;
}

uint64_t
hvs__os_now_ms(void)
{
	return (uint64_t)GetTickCount64();
}
