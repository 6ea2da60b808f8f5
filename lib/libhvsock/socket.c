/* SPDX-License-Identifier: MIT */
/*
 * The socket calls of the public API: the same logic on every platform,
 * with the system calls behind hvs__os_* and the hypervisor family behind
 * hvs__hv_*.
 */
#include <string.h>

#include "internal.h"

/* Most addresses one tcp name may resolve to that connect tries. */
#define MAX_RESOLVED 16

void
hvs_sockopts_init(hvs_sockopts_t *opts)
{
	memset(opts, 0, sizeof(*opts));
}

int
hvs__connect_timeout_ms(const hvs_sockopts_t *opts)
{
	if (opts == NULL || opts->timeout_ms <= 0) {
		return -1;
	}
	return opts->timeout_ms;
}

/*
 * A new socket for @sa with @opts applied. Buffer sizes go in before
 * connect()/listen(): hv_sock only honours them then.
 */
static int
open_for(const hvs__sockaddr_t *sa, const hvs_sockopts_t *opts, int nonblock,
    hvs_sock_t *out)
{
	int family = sa->ss.ss_family;
	int is_hv = family == hvs__hv_family();
	hvs_sock_t s = HVS_INVALID_SOCK;
	int rc;

	rc = hvs__os_init();
	if (rc < 0) {
		return rc;
	}
	rc = hvs__os_socket(family, SOCK_STREAM, is_hv ? hvs__hv_protocol() : 0,
	    nonblock, &s);
	if (rc < 0) {
		/* The backend knows why its family may be missing. */
		return is_hv ? hvs__hv_socket_error(rc) : rc;
	}
	if (is_hv) {
		rc = hvs__hv_socket_defaults(s);
		if (rc < 0) {
			goto err_close;
		}
	}
	if (opts != NULL && opts->sndbuf > 0) {
		rc = hvs__os_setsockopt_int(s, SOL_SOCKET, SO_SNDBUF,
		    opts->sndbuf);
		if (rc < 0) {
			goto err_close;
		}
	}
	if (opts != NULL && opts->rcvbuf > 0) {
		rc = hvs__os_setsockopt_int(s, SOL_SOCKET, SO_RCVBUF,
		    opts->rcvbuf);
		if (rc < 0) {
			goto err_close;
		}
	}
	if (is_hv && opts != NULL && (opts->rcvbuf > 0 || opts->sndbuf > 0)) {
		int size =
		    opts->rcvbuf > opts->sndbuf ? opts->rcvbuf : opts->sndbuf;
		rc = hvs__hv_set_bufsize(s, size);
		if (rc < 0) {
			goto err_close;
		}
	}
	*out = s;
	return 0;

err_close:
	hvs__os_close(s);
	return rc;
}

int
hvs__connect_start(const hvs__sockaddr_t *sa, const hvs_sockopts_t *opts,
    hvs_sock_t *out)
{
	hvs_sock_t s = HVS_INVALID_SOCK;
	int rc;

	rc = open_for(sa, opts, 1, &s);
	if (rc < 0) {
		return rc;
	}
	if (sa->ss.ss_family == hvs__hv_family() && opts != NULL &&
	    opts->timeout_ms != 0) {
		/*
		 * The native timeout also bounds a non-blocking connect
		 * (Linux vsock applies it in the kernel). Where there is no
		 * such option the caller's poll deadline does the job.
		 */
		rc = hvs__hv_set_connect_timeout(s,
		    hvs__connect_timeout_ms(opts));
		if (rc < 0 && rc != HVS_ENOTSUP) {
			goto err_close;
		}
	}
	rc = hvs__os_connect(s, sa);
	if (rc < 0 && rc != HVS_EINPROGRESS) {
		goto err_close;
	}
	*out = s;
	return rc;

err_close:
	hvs__os_close(s);
	return rc;
}

/* One address, within @timeout_ms: 0 with *@out connected, or an error
 * with nothing left open. */
static int
connect_one(const hvs__sockaddr_t *sa, const hvs_sockopts_t *opts,
    int timeout_ms, hvs_sock_t *out)
{
	hvs_sock_t s = HVS_INVALID_SOCK;
	int rc;

	rc = hvs__connect_start(sa, opts, &s);
	if (rc == HVS_EINPROGRESS) {
		rc = hvs__os_wait_connected(s, timeout_ms);
		if (rc < 0) {
			hvs__os_close(s);
			return rc;
		}
	}
	if (rc == 0) {
		*out = s;
	}
	return rc;
}

/* Errors after which the next resolved address is worth a try. */
static int
try_next(int rc)
{
	switch (rc) {
	case HVS_ECONNREFUSED:
	case HVS_ECONNRESET:
	case HVS_ENETUNREACH:
	case HVS_EHOSTUNREACH:
	case HVS_ENETDOWN:
	case HVS_EHOSTDOWN:
	case HVS_EADDRNOTAVAIL:
	case HVS_EAFNOSUPPORT:
		return 1;
	default:
		return 0;
	}
}

int
hvs_connect(hvs_sock_t *out, const hvs_addr_t *addr, const hvs_sockopts_t *opts)
{
	hvs__sockaddr_t sas[MAX_RESOLVED];
	unsigned flags = opts != NULL ? opts->flags : 0;
	int timeout = hvs__addr_timeout_ms(addr, opts);
	uint64_t deadline = 0;
	int n, i, rc = HVS_ECONNREFUSED;
	hvs_sock_t s = HVS_INVALID_SOCK;

	if (out == NULL || addr == NULL) {
		return HVS_EINVAL;
	}
	rc = hvs__os_init();
	if (rc < 0) {
		return rc;
	}
	if (timeout >= 0) {
		deadline = hvs__os_now_ms() + (uint64_t)timeout;
	}
	n = hvs__addr_resolve(addr, HVS_ROLE_CONNECT, flags, sas, MAX_RESOLVED);
	if (n < 0) {
		return n;
	}
	/*
	 * Each resolved address in turn, all within one deadline: localhost
	 * gives ::1 and 127.0.0.1, and the service may listen on only one.
	 */
	for (i = 0; i < n; i++) {
		int left = -1;
		if (timeout >= 0) {
			uint64_t now = hvs__os_now_ms();
			if (now >= deadline) {
				return HVS_ETIMEDOUT;
			}
			left = (int)(deadline - now);
		}
		rc = connect_one(&sas[i], opts, left, &s);
		if (rc == 0) {
			break;
		}
		hvs__log(HVS_LOG_DEBUG, "connect attempt %d of %d: %s", i + 1,
		    n, hvs_strerror(rc));
		if (!try_next(rc)) {
			return rc;
		}
	}
	if (rc < 0) {
		return rc;
	}
	if (addr->kind == HVS_ADDR_VSOCK_MUX) {
		/* Within the same deadline: the VMM answers only once the
		 * guest has accepted. */
		rc = hvs__mux_handshake(s, addr->u.mux.port,
		    timeout >= 0 ? deadline : 0);
		if (rc < 0) {
			hvs__log(HVS_LOG_DEBUG, "vsock-mux: %s: %s",
			    addr->u.mux.path, hvs_strerror(rc));
			hvs__os_close(s);
			return rc;
		}
	}
	if (!(flags & HVS_SOCK_NONBLOCK)) {
		rc = hvs__os_set_nonblock(s, 0);
		if (rc < 0) {
			hvs__os_close(s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

int
hvs_listen(hvs_sock_t *out, const hvs_addr_t *addr, const hvs_sockopts_t *opts)
{
	hvs__sockaddr_t sa;
	unsigned flags = opts != NULL ? opts->flags : 0;
	int backlog =
	    (opts != NULL && opts->backlog > 0) ? opts->backlog : SOMAXCONN;
	hvs_sock_t s = HVS_INVALID_SOCK;
	int rc;

	if (out == NULL || addr == NULL) {
		return HVS_EINVAL;
	}
	rc = hvs__os_init();
	if (rc < 0) {
		return rc;
	}
	if (addr->kind == HVS_ADDR_FD) {
		/* Socket activation: the listener exists already. */
		rc = hvs__os_adopt_listener(addr->u.fd.fd, &s);
		if (rc == 0 && (flags & HVS_SOCK_NONBLOCK)) {
			rc = hvs__os_set_nonblock(s, 1);
		}
		if (rc == 0) {
			*out = s;
		}
		return rc;
	}
	rc = hvs__addr_resolve(addr, HVS_ROLE_LISTEN, flags, &sa, 1);
	if (rc < 0) {
		return rc;
	}
	rc = open_for(&sa, opts, (flags & HVS_SOCK_NONBLOCK) != 0, &s);
	if (rc < 0) {
		return rc;
	}
	if (addr->kind == HVS_ADDR_TCP && !(flags & HVS_SOCK_NO_REUSEADDR)) {
		/* Restarting a daemon must not wait out TIME_WAIT. */
		rc = hvs__os_setsockopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
		if (rc < 0) {
			goto err_close;
		}
	}
	if (addr->kind == HVS_ADDR_UNIX && !addr->u.local.abstract &&
	    (flags & HVS_SOCK_UNLINK)) {
		rc = hvs__os_unlink_stale(addr->u.local.path);
		if (rc < 0) {
			goto err_close;
		}
	}
	rc = hvs__os_bind(s, &sa);
	if (rc < 0) {
		goto err_close;
	}
	rc = hvs__os_listen(s, backlog);
	if (rc < 0) {
		goto err_close;
	}
	*out = s;
	return 0;

err_close:
	hvs__os_close(s);
	return rc;
}

int
hvs_accept(hvs_sock_t lsock, hvs_sock_t *out, hvs_addr_t *peer, unsigned flags)
{
	hvs__sockaddr_t sa;
	hvs_sock_t s = HVS_INVALID_SOCK;
	int rc;

	if (out == NULL) {
		return HVS_EINVAL;
	}
	rc = hvs__os_accept(lsock, &s, &sa, (flags & HVS_SOCK_NONBLOCK) != 0);
	if (rc < 0) {
		return rc;
	}
	if (peer != NULL && hvs__sockaddr_to_addr(&sa, peer) < 0) {
		/* An address we cannot express is no reason to drop the
		 * connection. */
		memset(peer, 0, sizeof(*peer));
	}
	*out = s;
	return 0;
}

int
hvs_shutdown(hvs_sock_t s, int how)
{
	if (how != HVS_SHUT_RD && how != HVS_SHUT_WR && how != HVS_SHUT_RDWR) {
		return HVS_EINVAL;
	}
	return hvs__os_shutdown(s, how);
}

int
hvs_close(hvs_sock_t s)
{
	if (s == HVS_INVALID_SOCK) {
		return 0;
	}
	return hvs__os_close(s);
}

int
hvs_send(hvs_sock_t s, const void *buf, size_t len, size_t *sent)
{
	size_t dummy;

	return hvs__os_send(s, buf, len, sent != NULL ? sent : &dummy);
}

int
hvs_recv(hvs_sock_t s, void *buf, size_t len, size_t *got)
{
	size_t dummy;

	return hvs__os_recv(s, buf, len, got != NULL ? got : &dummy);
}

int
hvs_set_nonblock(hvs_sock_t s, int on)
{
	return hvs__os_set_nonblock(s, on);
}

int
hvs_sock_local_addr(hvs_sock_t s, hvs_addr_t *out)
{
	hvs__sockaddr_t sa;
	int rc = hvs__os_getsockname(s, &sa);

	return rc < 0 ? rc : hvs__sockaddr_to_addr(&sa, out);
}

int
hvs_sock_peer_addr(hvs_sock_t s, hvs_addr_t *out)
{
	hvs__sockaddr_t sa;
	int rc = hvs__os_getpeername(s, &sa);

	return rc < 0 ? rc : hvs__sockaddr_to_addr(&sa, out);
}

int
hvs_sock_kind(hvs_sock_t s, hvs_addr_kind_t *kind)
{
	hvs_addr_t a;
	int rc = hvs_sock_local_addr(s, &a);

	if (rc < 0) {
		return rc;
	}
	*kind = a.kind;
	return 0;
}

int
hvs_sock_bufsizes(hvs_sock_t s, int *sndbuf, int *rcvbuf)
{
	int rc = 0;

	if (sndbuf != NULL) {
		rc = hvs__os_getsockopt_int(s, SOL_SOCKET, SO_SNDBUF, sndbuf);
	}
	if (rc == 0 && rcvbuf != NULL) {
		rc = hvs__os_getsockopt_int(s, SOL_SOCKET, SO_RCVBUF, rcvbuf);
	}
	return rc;
}

int
hvs_local_cid(uint32_t *cid)
{
	if (cid == NULL) {
		return HVS_EINVAL;
	}
	return hvs__hv_local_cid(cid);
}

const char *
hvs_transport(void)
{
	return hvs__hv_transport();
}
