/* SPDX-License-Identifier: MIT */
/*
 * The system-call layer for POSIX systems (Linux, FreeBSD): every call
 * retries EINTR, every descriptor is close-on-exec, and errno is translated
 * to HVS_E* here so that the core never sees a platform error number.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/unix_diag.h>
#include <sys/sysmacros.h>
#endif

#include "internal.h"

int
hvs_translate_sys_error(int e)
{
	return hvs__translate_errno(e);
}

int
hvs__os_init(void)
{
	return 0;
}

int
hvs__os_last_error(void)
{
	return hvs_translate_sys_error(errno);
}

int
hvs__os_set_nonblock(hvs_sock_t s, int on)
{
	int fl = fcntl(s, F_GETFL);

	if (fl < 0) {
		return hvs__os_last_error();
	}
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	if (fcntl(s, F_SETFL, fl) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_socket(int family, int type, int protocol, int nonblock,
    hvs_sock_t *out)
{
	int s;

	type |= SOCK_CLOEXEC;
	if (nonblock) {
		type |= SOCK_NONBLOCK;
	}
	s = socket(family, type, protocol);
	if (s < 0) {
		return hvs__os_last_error();
	}
#ifdef SO_NOSIGPIPE
	/* BSDs: no SIGPIPE even for write(2) on the socket. */
	{
		int one = 1;
		(void)setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one,
		    sizeof(one));
	}
#endif
	*out = s;
	return 0;
}

int
hvs__os_bind(hvs_sock_t s, const hvs__sockaddr_t *sa)
{
	if (bind(s, (const struct sockaddr *)&sa->ss, sa->len) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_listen(hvs_sock_t s, int backlog)
{
	if (listen(s, backlog) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_accept(hvs_sock_t s, hvs_sock_t *out, hvs__sockaddr_t *peer,
    int nonblock)
{
	hvs__sockaddr_t tmp;
	int fd;
	int flags = SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);

	if (peer == NULL) {
		peer = &tmp;
	}
	for (;;) {
		peer->len = sizeof(peer->ss);
		fd =
		    accept4(s, (struct sockaddr *)&peer->ss, &peer->len, flags);
		if (fd >= 0) {
			break;
		}
		if (errno == EINTR) {
			continue;
		}
		return hvs__os_last_error();
	}
#ifdef SO_NOSIGPIPE
	{
		int one = 1;
		(void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one,
		    sizeof(one));
	}
#endif
	*out = fd;
	return 0;
}

int
hvs__os_connect(hvs_sock_t s, const hvs__sockaddr_t *sa)
{
	/*
	 * connect() interrupted by a signal goes on asynchronously; calling
	 * it again would give EALREADY, so EINTR is reported as in progress
	 * and completion is awaited with poll like any non-blocking connect.
	 */
	if (connect(s, (const struct sockaddr *)&sa->ss, sa->len) < 0) {
		if (errno == EINTR || errno == EINPROGRESS) {
			return HVS_EINPROGRESS;
		}
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_wait_connected(hvs_sock_t s, int timeout_ms)
{
	int soerr, rc;

	rc = hvs__os_wait_io(s, 1, timeout_ms);
	if (rc < 0) {
		return rc;
	}
	rc = hvs__os_getsockopt_int(s, SOL_SOCKET, SO_ERROR, &soerr);
	if (rc < 0) {
		return rc;
	}
	if (soerr != 0) {
		return hvs_translate_sys_error(soerr);
	}
	/*
	 * Writable with no error can also mean "never connected" (a socket
	 * that never got as far as sending a SYN reports POLLOUT|POLLHUP):
	 * only a peer name proves the connection.
	 */
	{
		hvs__sockaddr_t peer;
		return hvs__os_getpeername(s, &peer);
	}
}

int
hvs__os_wait_io(hvs_sock_t s, int writable, int timeout_ms)
{
	struct pollfd pfd = {.fd = s, .events = writable ? POLLOUT : POLLIN};
	uint64_t deadline = 0;
	int left = timeout_ms;
	int n;

	if (timeout_ms >= 0) {
		deadline = hvs__os_now_ms() + (uint64_t)timeout_ms;
	}
	for (;;) {
		/* POLLHUP and POLLERR count as ready: the next recv or send
		 * says what happened. */
		n = poll(&pfd, 1, left);
		if (n > 0) {
			return 0;
		}
		if (n == 0) {
			return HVS_ETIMEDOUT;
		}
		if (errno != EINTR) {
			return hvs__os_last_error();
		}
		if (timeout_ms >= 0) {
			uint64_t now = hvs__os_now_ms();
			if (now >= deadline) {
				return HVS_ETIMEDOUT;
			}
			left = (int)(deadline - now);
		}
	}
}

int
hvs__os_close(hvs_sock_t s)
{
	/*
	 * Never retry close() on EINTR: on Linux the descriptor is gone
	 * already, and a retry could close one another thread just opened.
	 */
	if (close(s) < 0 && errno != EINTR) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_shutdown(hvs_sock_t s, int how)
{
	if (shutdown(s, how) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_setsockopt_int(hvs_sock_t s, int level, int name, int value)
{
	if (setsockopt(s, level, name, &value, sizeof(value)) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_getsockopt_int(hvs_sock_t s, int level, int name, int *value)
{
	socklen_t len = sizeof(*value);

	if (getsockopt(s, level, name, value, &len) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_getsockname(hvs_sock_t s, hvs__sockaddr_t *out)
{
	memset(out, 0, sizeof(*out));
	out->len = sizeof(out->ss);
	if (getsockname(s, (struct sockaddr *)&out->ss, &out->len) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_getpeername(hvs_sock_t s, hvs__sockaddr_t *out)
{
	memset(out, 0, sizeof(*out));
	out->len = sizeof(out->ss);
	if (getpeername(s, (struct sockaddr *)&out->ss, &out->len) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__os_send(hvs_sock_t s, const void *buf, size_t len, size_t *sent)
{
	ssize_t n;

	do {
		n = send(s, buf, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		*sent = 0;
		return hvs__os_last_error();
	}
	*sent = (size_t)n;
	return 0;
}

int
hvs__os_recv(hvs_sock_t s, void *buf, size_t len, size_t *got)
{
	ssize_t n;

	do {
		n = recv(s, buf, len, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		*got = 0;
		return hvs__os_last_error();
	}
	*got = (size_t)n;
	return (n == 0 && len > 0) ? HVS_EOF : 0;
}

int
hvs__os_sock_family(hvs_sock_t s, int *family)
{
	hvs__sockaddr_t sa;
	int rc = hvs__os_getsockname(s, &sa);

	if (rc < 0) {
		return rc;
	}
	*family = sa.ss.ss_family;
	return 0;
}

int
hvs__os_sock_outq(hvs_sock_t s, size_t *out)
{
	int n = 0;

	*out = 0;
#if defined(SIOCOUTQ)
	if (ioctl(s, SIOCOUTQ, &n) == -1) {
		return HVS_ENOTSUP; /* a socket kind without it (vsock, old) */
	}
#elif defined(FIONWRITE)
	if (ioctl(s, FIONWRITE, &n) == -1) {
		return HVS_ENOTSUP;
	}
#else
	(void)s;
	return HVS_ENOTSUP;
#endif
	*out = n > 0 ? (size_t)n : 0;
	return 0;
}

int
hvs__os_adopt_listener(int fd, hvs_sock_t *out)
{
	int type, acc, fl;
	int rc;

	fl = fcntl(fd, F_GETFD);
	if (fl < 0) {
		return hvs__os_last_error();
	}
	rc = hvs__os_getsockopt_int(fd, SOL_SOCKET, SO_TYPE, &type);
	if (rc < 0) {
		return rc; /* HVS_ENOTSOCK for a file or pipe */
	}
	if (type != SOCK_STREAM) {
		return HVS_EPROTOTYPE;
	}
#ifdef SO_ACCEPTCONN
	rc = hvs__os_getsockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc);
	if (rc < 0) {
		return rc;
	}
	if (!acc) {
		/* A bound but not listening socket is a mistake in the
		 * unit file; a connected one is not ours to accept on. */
		return HVS_EINVAL;
	}
#else
	(void)acc;
#endif
	if (fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
		return hvs__os_last_error();
	}
	*out = fd;
	return 0;
}

/*
 * Is a unix socket file stale, or does a program listen on it? Removing a
 * live one would leave its server running and unreachable, so the answer
 * must never be "stale" by mistake; a wrong "live" only refuses to start.
 *
 * 1. Linux: the kernel's socket diagnostics (sock_diag, UNIX_DIAG_VFS)
 *    list every listening unix socket with the device and inode of the
 *    file it is bound to, so a match with lstat() of the path is exact and
 *    costs the live server nothing. /proc/net/unix was weighed and not
 *    taken: it gives the name passed to bind(), which may be relative to
 *    another folder, belong to a file since renamed or removed, or hold a
 *    newline that forges a whole line (any local user could then make a
 *    stale file look live and stop a restart); and its inode column is the
 *    socket's, not the file's.
 * 2. Otherwise a connect() decides: ECONNREFUSED means nobody listens.
 *    The diagnostics see only this network namespace, and sandboxes may
 *    forbid netlink (systemd's RestrictAddressFamilies=) or lack the
 *    unix_diag module, so their "none" is not proof: the connect() then
 *    confirms it. A live server is reached only in that case, where the
 *    diagnostics could not see it (or on FreeBSD, which has none); it
 *    sees a connection that closes at once.
 *
 * The check and the unlink() are two steps: two programs starting on the
 * same stale file at the same instant could still race. hvproxy's pid file
 * lock keeps two of its instances apart before any of them gets here.
 */
#ifdef __linux__
/* 1 if a listening unix socket is bound to the file @st describes, 0 if
 * none in this network namespace is, < 0 if the kernel cannot tell. */
static int
unix_diag_listening(const struct stat *st)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} q;
	struct sockaddr_nl nl;
	union {
		struct nlmsghdr h;
		char b[16384];
	} buf;
	int fd, rc = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		return hvs__os_last_error();
	}
	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	q.nlh.nlmsg_seq = 1;
	q.req.sdiag_family = AF_UNIX;
	q.req.udiag_states = 1u << 10; /* TCP_LISTEN */
	q.req.udiag_show = UDIAG_SHOW_VFS;
	memset(&nl, 0, sizeof(nl));
	nl.nl_family = AF_NETLINK;
	if (sendto(fd, &q, sizeof(q), 0, (const struct sockaddr *)&nl,
		sizeof(nl)) != (ssize_t)sizeof(q)) {
		rc = hvs__os_last_error();
		goto out;
	}
	while (!done && rc == 0) {
		ssize_t n = recv(fd, buf.b, sizeof(buf.b), 0);
		size_t left, len;
		const char *p = buf.b;

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			rc = n < 0 ? hvs__os_last_error() : HVS_EIO;
			break;
		}
		for (left = (size_t)n; left >= sizeof(struct nlmsghdr);
		     left -= len, p += len) {
			struct nlmsghdr h;
			const struct unix_diag_msg *m;
			const struct rtattr *a;
			size_t alen;

			memcpy(&h, p, sizeof(h));
			if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > left) {
				rc = HVS_EIO;
				break;
			}
			len = NLMSG_ALIGN(h.nlmsg_len) < left
			    ? NLMSG_ALIGN(h.nlmsg_len)
			    : left;
			if (h.nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h.nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(p);

				rc = h.nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) &&
					e->error < 0
				    ? hvs_translate_sys_error(-e->error)
				    : HVS_EIO;
				break;
			}
			if (h.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h.nlmsg_len < NLMSG_LENGTH(sizeof(*m))) {
				continue;
			}
			m = NLMSG_DATA(p);
			a = (const struct rtattr *)(const void *)(m + 1);
			alen = h.nlmsg_len - NLMSG_LENGTH(sizeof(*m));
			while (alen >= sizeof(*a) && a->rta_len >= sizeof(*a) &&
			    a->rta_len <= alen) {
				struct unix_diag_vfs v;

				if (a->rta_type == UNIX_DIAG_VFS &&
				    RTA_PAYLOAD(a) >= sizeof(v)) {
					memcpy(&v, RTA_DATA(a), sizeof(v));
					/* The kernel's dev_t: 12 bits of major,
					 * 20 of minor; the inode cut to 32. */
					if (v.udiag_vfs_ino ==
						(uint32_t)st->st_ino &&
					    v.udiag_vfs_dev >> 20 ==
						major(st->st_dev) &&
					    (v.udiag_vfs_dev & 0xfffffu) ==
						minor(st->st_dev)) {
						close(fd);
						return 1;
					}
				}
				if (RTA_ALIGN(a->rta_len) >= alen) {
					break;
				}
				alen -= RTA_ALIGN(a->rta_len);
				a = (const struct rtattr *)(const void
					*)((const char *)a +
				    RTA_ALIGN(a->rta_len));
			}
		}
	}
out:
	close(fd);
	return rc;
}
#endif

/* 1 if a program accepts connections on @path, 0 if the kernel refuses
 * them (nobody listens), < 0 if the answer is something else. */
static int
unix_connect_listening(const char *path)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);
	int fd, rc, e;

	if (len >= sizeof(sun.sun_path)) {
		return HVS_ENAMETOOLONG;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return hvs__os_last_error();
	}
	do {
		rc = connect(fd, (const struct sockaddr *)&sun, sizeof(sun));
	} while (rc < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS) {
		return 1; /* accepted, or a listener with a full backlog */
	}
	if (e == ECONNREFUSED || e == ENOENT) {
		return 0;
	}
	return hvs_translate_sys_error(e);
}

static int
unix_socket_live(const char *path, const struct stat *st)
{
#ifdef __linux__
	int rc = unix_diag_listening(st);

	if (rc == 1) {
		hvs__log(HVS_LOG_DEBUG,
		    "%s: a listening socket is bound to it (socket "
		    "diagnostics)",
		    path);
		return 1;
	}
	if (rc < 0) {
		hvs__log(HVS_LOG_DEBUG,
		    "%s: socket diagnostics unavailable (%s); asking with a "
		    "connect()",
		    path, hvs_strerror(rc));
	}
#else
	(void)st;
#endif
	return unix_connect_listening(path);
}

int
hvs__os_unlink_stale(const char *path)
{
	struct stat st;
	int live;

	if (lstat(path, &st) < 0) {
		return errno == ENOENT ? 0 : hvs__os_last_error();
	}
	if (!S_ISSOCK(st.st_mode)) {
		/* Never remove a regular file someone mistyped as a path. */
		return HVS_EEXIST;
	}
	live = unix_socket_live(path, &st);
	if (live != 0) {
		/* A live socket, or no way to tell: leave it alone. */
		return live > 0 ? HVS_EADDRINUSE : live;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		return hvs__os_last_error();
	}
	hvs__log(HVS_LOG_DEBUG, "removed stale unix socket %s", path);
	return 0;
}

int
hvs__os_unix_abstract(void)
{
#ifdef __linux__
	return 0;
#else
	/* FreeBSD and the other BSDs, macOS: a sun_path that starts with
	 * a NUL is an empty path there, not a name of its own. */
	return HVS_EUNIX_ABSTRACT;
#endif
}

uint64_t
hvs__os_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
