/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous connect with a timeout, on any address kind.
 *
 * A non-blocking connect() is started with hvs__connect_start() (which
 * applies buffer sizes and the platform's options before connecting, the
 * only time hv_sock honours them); completion is the socket turning
 * writable, and the outcome is read from SO_ERROR. One event serves both
 * the writability and the timeout. A host name is looked up on a worker
 * thread (lookup.c) while the same event bounds the lookup by the timeout;
 * it may resolve to several addresses: they are tried in turn, each with a
 * fair share of the time left, so one black-holed address cannot eat the
 * whole budget.
 *
 * A vsock-mux: address goes on from the connected unix socket to the
 * VMM's handshake (mux.c): the request is sent, then the same event waits
 * for the socket to turn readable (or writable while the request is not
 * all out) under what is left of the same deadline, and each wake-up reads
 * what has come of the answer without waiting.
 */
#ifndef _WIN32
#include <arpa/inet.h>
#include <netinet/in.h>
#endif
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "loop/debug.h"
#include "loop/lookup.h"
#include "loop/timeval.h"

/* Addresses of one name tried at most (getaddrinfo rarely gives more). */
#define MAX_ADDRS HVS__LOOKUP_MAX

struct hvs_connect_req {
	struct event_base *base;
	struct event ev; /* writable or timed out; or the deferred result */
	hvs_connect_fn cb;
	void *userdata;
	hvs_sockopts_t opts;
	hvs_sock_t sock; /* the attempt in progress, or the result */
	hvs__lookup_t *lookup; /* the host name's lookup in progress */
	int timeout_ms; /* in all, < 0 = none */
	uint64_t deadline; /* hvs__os_now_ms() at which it ends */
	int err; /* the latest failure */
	int n; /* addresses */
	int next; /* the next one to try */
	unsigned deferred : 1; /* ev only carries the outcome */
	unsigned in_cb : 1;
	unsigned is_mux : 1; /* vsock-mux: a handshake follows the connect */
	unsigned in_mux : 1; /* ev waits for the handshake */
	unsigned mux_writing : 1; /* the request is not all out yet */
	hvs__mux_t mux;
	hvs__sockaddr_t addrs[];
};

static void on_event(evutil_socket_t fd, short what, void *arg);

/* The address of the attempt in progress (req_attempt() moved on). */
static const struct sockaddr_storage *
attempt_addr(const hvs_connect_req_t *req)
{
	return &req->addrs[req->next - 1].ss;
}

/* A writable socket of the attempt in progress without SO_ERROR is
 * connected. */
static int
polls_only_when_connected(const hvs_connect_req_t *req)
{
#ifdef __linux__
	int fam = attempt_addr(req)->ss_family;

	return fam == AF_INET || fam == AF_INET6;
#else
	(void)req;
	return 0;
#endif
}

/*
 * A TCP connect to a loopback address is, on Linux at least, complete
 * before connect() returns EINPROGRESS (the SYN is answered within the
 * same system call). A peer name proves it, and saves waiting for
 * writability: two epoll_ctl, SO_ERROR and a loop round on the path of
 * every proxied connection to a local service. Other addresses are not
 * asked: the question would be a wasted system call there.
 */
static int
connected_already(const hvs_connect_req_t *req)
{
	const struct sockaddr_storage *ss = attempt_addr(req);
	hvs__sockaddr_t peer;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
			return 0;
		}
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
			return 0;
		}
	} else {
		return 0;
	}
	return hvs__os_getpeername(req->sock, &peer) == 0;
}

/*
 * Errors after which the next resolved address is worth a try (as in
 * hvs_connect()); a timeout here is the end of one address's share.
 */
static int
worth_next(int err)
{
	switch (err) {
	case HVS_ECONNREFUSED:
	case HVS_ECONNRESET:
	case HVS_ENETUNREACH:
	case HVS_EHOSTUNREACH:
	case HVS_ENETDOWN:
	case HVS_EHOSTDOWN:
	case HVS_EADDRNOTAVAIL:
	case HVS_EAFNOSUPPORT:
	case HVS_ETIMEDOUT:
		return 1;
	default:
		return 0;
	}
}

/* Run the callback and free the request. */
static void
req_finish(hvs_connect_req_t *req)
{
	hvs_sock_t s = req->err == 0 ? req->sock : HVS_INVALID_SOCK;

	req->in_cb = 1;
	req->cb(req->err, s, req->userdata);
	free(req);
}

/* Report the outcome from the loop: never from inside the caller's call. */
static void
req_defer_finish(hvs_connect_req_t *req)
{
	req->deferred = 1;
	event_assign(&req->ev, req->base, -1, 0, on_event, req);
	event_active(&req->ev, EV_TIMEOUT, 0);
}

static void
req_close_attempt(hvs_connect_req_t *req)
{
	if (req->sock != HVS_INVALID_SOCK) {
		hvs__os_close(req->sock);
		req->sock = HVS_INVALID_SOCK;
	}
}

/*
 * One step of the vsock-mux handshake on the connected req->sock: 0 when
 * the VMM said OK, HVS_EAGAIN with the event waiting for the next step,
 * or an error (the socket is still open: the caller closes it).
 */
static int
req_mux_step(hvs_connect_req_t *req)
{
	struct timeval tv;
	uint64_t now;
	short what;
	int rc;

	if (req->mux_writing) {
		rc = hvs__mux_send(req->sock, &req->mux);
		if (rc == 0) {
			req->mux_writing = 0;
			rc = hvs__mux_recv(req->sock, &req->mux);
		}
	} else {
		rc = hvs__mux_recv(req->sock, &req->mux);
	}
	if (rc != HVS_EAGAIN) {
		if (rc == 0) {
			hvs__log(HVS_LOG_DEBUG,
			    "vsock-mux: port %lu: the VMM said OK %lu",
			    (unsigned long)req->mux.port,
			    (unsigned long)req->mux.host_port);
		}
		return rc;
	}
	what = req->mux_writing ? EV_WRITE : EV_READ;
	req->in_mux = 1;
	event_assign(&req->ev, req->base, (evutil_socket_t)req->sock, what,
	    on_event, req);
	if (req->timeout_ms < 0) {
		rc = event_add(&req->ev, NULL);
	} else {
		now = hvs__os_now_ms();
		if (now >= req->deadline) {
			return HVS_ETIMEDOUT;
		}
		tv = hvs__ms_timeval(req->deadline - now);
		rc = event_add(&req->ev, &tv);
	}
	return rc == 0 ? HVS_EAGAIN : HVS_ENOMEM;
}

/*
 * The attempt in progress is connected: the outcome, unless a vsock-mux
 * handshake is to follow (HVS_EAGAIN: it is under way, or now failed).
 */
static int
req_connected(hvs_connect_req_t *req)
{
	if (!req->is_mux) {
		return 0;
	}
	req->mux_writing = 1;
	return req_mux_step(req);
}

/*
 * Start on the next address that does not fail at once. Leaves either an
 * attempt in progress or the outcome deferred.
 */
static void
req_attempt(hvs_connect_req_t *req)
{
	struct timeval tv;
	uint64_t now, left, share;
	hvs_sock_t s;
	int rc;

	while (req->next < req->n) {
		now = hvs__os_now_ms();
		if (req->timeout_ms >= 0 && now >= req->deadline) {
			req->err = HVS_ETIMEDOUT;
			break;
		}
		rc = hvs__connect_start(&req->addrs[req->next++], &req->opts,
		    &s);
		if (rc == 0) {
			req->sock = s;
			req->err = req_connected(req);
			if (req->err == HVS_EAGAIN) {
				return;
			}
			if (req->err < 0) {
				req_close_attempt(req);
			}
			break;
		}
		if (rc != HVS_EINPROGRESS) {
			req->err = rc;
			if (!worth_next(rc)) {
				break;
			}
			continue;
		}
		req->sock = s;
		if (connected_already(req)) {
			/* Only tcp: never a vsock-mux handshake. */
			req->err = 0;
			break;
		}
		event_assign(&req->ev, req->base, (evutil_socket_t)s, EV_WRITE,
		    on_event, req);
		if (req->timeout_ms < 0) {
			rc = event_add(&req->ev, NULL);
		} else {
			left = req->deadline - now;
			share = left / (uint64_t)(req->n - req->next + 1);
			tv = hvs__ms_timeval(share);
			rc = event_add(&req->ev, &tv);
		}
		if (rc == 0) {
			return;
		}
		req_close_attempt(req);
		req->err = HVS_ENOMEM;
		break;
	}
	if (req->err == 0 && req->sock == HVS_INVALID_SOCK) {
		req->err = HVS_ECONNREFUSED; /* no address at all */
	}
	req_defer_finish(req);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	hvs_connect_req_t *req = arg;
	int rc, soerr = 0;

	(void)fd;
	if (req->deferred) {
		req_finish(req);
		return;
	}
	if (req->lookup != NULL) {
		/* The time ran out while the name was being looked up. */
		hvs__lookup_cancel(req->lookup);
		req->lookup = NULL;
		req->err = HVS_ETIMEDOUT;
		req_finish(req);
		return;
	}
	if (req->in_mux) {
		/* The handshake: no other address to go on to. */
		req->in_mux = 0;
		rc = (what & EV_TIMEOUT) ? HVS_ETIMEDOUT : req_mux_step(req);
		if (rc == HVS_EAGAIN) {
			return;
		}
		if (rc < 0) {
			hvs__log(HVS_LOG_DEBUG, "vsock-mux: %s",
			    hvs_strerror(rc));
			req_close_attempt(req);
		}
		req->err = rc;
		req_finish(req);
		return;
	}
	if (what & EV_TIMEOUT) {
		rc = HVS_ETIMEDOUT;
	} else {
		rc = hvs__os_getsockopt_int(req->sock, SOL_SOCKET, SO_ERROR,
		    &soerr);
		if (rc == 0 && soerr != 0) {
			rc = hvs_translate_sys_error(soerr);
		}
		/*
		 * Writable without an error can also mean "never got as far
		 * as connecting": only a peer name proves the connection.
		 * Not so for TCP on Linux, where a socket in SYN_SENT polls
		 * neither writable nor in error: one system call less on the
		 * path of every proxied connection.
		 */
		if (rc == 0 && !polls_only_when_connected(req)) {
			hvs__sockaddr_t peer;

			rc = hvs__os_getpeername(req->sock, &peer);
		}
	}
	if (rc == 0) {
		rc = req_connected(req);
		if (rc == HVS_EAGAIN) {
			return;
		}
		if (rc == 0) {
			req->err = 0;
			req_finish(req);
			return;
		}
	}
	req->err = rc;
	req_close_attempt(req);
	if (!worth_next(rc)) {
		req_defer_finish(req);
		return;
	}
	req_attempt(req);
}

/*
 * A request with room for @room addresses, none in it yet; for @addr (NULL
 * when only native addresses are known), whose kind may ask for more than
 * a connect.
 */
static hvs_connect_req_t *
req_new(struct event_base *base, int room, const hvs_addr_t *addr,
    const hvs_sockopts_t *sopts, hvs_connect_fn cb, void *userdata)
{
	hvs_connect_req_t *req;

	req = calloc(1, sizeof(*req) + (size_t)room * sizeof(req->addrs[0]));
	if (req == NULL) {
		return NULL;
	}
	req->base = base;
	req->cb = cb;
	req->userdata = userdata;
	if (sopts != NULL) {
		req->opts = *sopts;
	} else {
		hvs_sockopts_init(&req->opts);
	}
	req->sock = HVS_INVALID_SOCK;
	req->timeout_ms = hvs__addr_timeout_ms(addr, &req->opts);
	if (addr != NULL && addr->kind == HVS_ADDR_VSOCK_MUX) {
		req->is_mux = 1;
		hvs__mux_init(&req->mux, addr->u.mux.port);
	}
	req->deadline = hvs__os_now_ms() +
	    (uint64_t)(req->timeout_ms > 0 ? req->timeout_ms : 0);
	return req;
}

/* Connect to one of @addrs, the native addresses of @addr (may be NULL). */
static int
connect_addrs(hvs_connect_req_t **out, struct event_base *base,
    const hvs_addr_t *addr, const hvs__sockaddr_t *addrs, int n,
    const hvs_sockopts_t *sopts, hvs_connect_fn cb, void *userdata)
{
	hvs_connect_req_t *req;

	if (out != NULL) {
		*out = NULL;
	}
	if (base == NULL || addrs == NULL || n <= 0 || cb == NULL) {
		return HVS_EINVAL;
	}
	req = req_new(base, n, addr, sopts, cb, userdata);
	if (req == NULL) {
		return HVS_ENOMEM;
	}
	req->n = n;
	memcpy(req->addrs, addrs, (size_t)n * sizeof(addrs[0]));
	req_attempt(req);
	if (out != NULL) {
		*out = req;
	}
	return 0;
}

int
hvs__connect_async_addrs(hvs_connect_req_t **out, struct event_base *base,
    const hvs__sockaddr_t *addrs, int n, const hvs_sockopts_t *sopts,
    hvs_connect_fn cb, void *userdata)
{
	return connect_addrs(out, base, NULL, addrs, n, sopts, cb, userdata);
}

/* The worker's answer, from the loop: connect, or report the failure. */
static void
on_lookup(int n, const hvs__sockaddr_t *addrs, void *arg)
{
	hvs_connect_req_t *req = arg;

	req->lookup = NULL;
	event_del(&req->ev);
	if (n <= 0) {
		req->err = n < 0 ? n : HVS_EADDR_RESOLVE;
		req_finish(req);
		return;
	}
	req->n = n;
	memcpy(req->addrs, addrs, (size_t)n * sizeof(addrs[0]));
	req_attempt(req);
}

/* Look the host name up off the loop, bounded by the request's timeout. */
static int
connect_by_name(hvs_connect_req_t **out, struct event_base *base,
    const hvs_addr_t *addr, const hvs_sockopts_t *sopts, hvs_connect_fn cb,
    void *userdata)
{
	hvs_connect_req_t *req;
	struct timeval tv;
	int rc;

	req = req_new(base, MAX_ADDRS, addr, sopts, cb, userdata);
	if (req == NULL) {
		return HVS_ENOMEM;
	}
	event_assign(&req->ev, base, -1, 0, on_event, req);
	if (req->timeout_ms >= 0) {
		tv = hvs__ms_timeval((uint64_t)req->timeout_ms);
		if (event_add(&req->ev, &tv) != 0) {
			free(req);
			return HVS_ENOMEM;
		}
	}
	rc = hvs__lookup_start(&req->lookup, base, addr, req->opts.flags,
	    on_lookup, req);
	if (rc != 0) {
		event_del(&req->ev);
		free(req);
		return rc;
	}
	if (out != NULL) {
		*out = req;
	}
	return 0;
}

int
hvs_connect_async(hvs_connect_req_t **out, struct event_base *base,
    const hvs_addr_t *addr, const hvs_sockopts_t *sopts, hvs_connect_fn cb,
    void *userdata)
{
	hvs__sockaddr_t addrs[MAX_ADDRS];
	int n;

	if (out != NULL) {
		*out = NULL;
	}
	if (base == NULL || addr == NULL || cb == NULL) {
		return HVS_EINVAL;
	}
	if (hvs__addr_needs_lookup(addr)) {
		return connect_by_name(out, base, addr, sopts, cb, userdata);
	}
	n = hvs__addr_resolve(addr, HVS_ROLE_CONNECT,
	    sopts != NULL ? sopts->flags : 0, addrs, MAX_ADDRS);
	if (n < 0) {
		return n;
	}
	if (n == 0) {
		return HVS_EADDR_RESOLVE;
	}
	return connect_addrs(out, base, addr, addrs, n, sopts, cb, userdata);
}

void
hvs_connect_cancel(hvs_connect_req_t *req)
{
	/* From inside its own callback the request is already finished. */
	if (req == NULL || req->in_cb) {
		return;
	}
	event_del(&req->ev);
	hvs__lookup_cancel(req->lookup);
	req_close_attempt(req);
	free(req);
}
