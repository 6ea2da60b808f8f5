/* SPDX-License-Identifier: MIT */
/*
 * The listener: accept connections on any address kind from the event
 * loop.
 *
 * Two things a naive accept loop gets wrong are handled here. Running out
 * of descriptors (EMFILE/ENFILE) leaves the connection pending, so the
 * socket stays readable and a level-triggered loop would spin at full CPU:
 * instead the listener stops watching the socket and retries after a pause
 * (relayd does the same). And the application may destroy the listener
 * from inside its own callbacks, so the listener counts how deep it is in
 * them and frees itself only when the outermost one has returned.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "loop/debug.h"
#include "loop/timeval.h"

/* Connections taken per wake-up: fair to the rest of the loop. */
#define ACCEPT_BATCH 64
#define DEFAULT_PAUSE_MS 1000

struct hvs_listener {
	struct event_base *base;
	hvs_sock_t sock;
	struct event ev; /* the socket is readable */
	struct event pause; /* back-off timer */
	hvs_accept_fn cb;
	hvs_filter_fn filter;
	hvs_accept_error_fn on_error;
	void *userdata;
	int pause_ms;
	int busy; /* callbacks running on the stack */
	unsigned long refused; /* connections the filter turned away */
	unsigned enabled : 1; /* the application wants connections */
	unsigned backoff : 1; /* paused after an accept error */
	unsigned dead : 1; /* destroyed from a callback: free when idle */
};

/*
 * Errors that concern one pending connection, not the listener: the
 * connection went away between the wake-up and accept(). Linux also
 * passes already-pending network errors up through accept(); its manual
 * says to treat them like EAGAIN.
 */
static int
is_transient(int err)
{
	switch (err) {
	case HVS_ECONNABORTED:
	case HVS_ECONNRESET:
	case HVS_EINTR:
	case HVS_EPERM: /* a firewall said no to this one */
	case HVS_ENETDOWN:
	case HVS_ENETUNREACH:
	case HVS_EHOSTDOWN:
	case HVS_EHOSTUNREACH:
	case HVS_ENOPROTOOPT:
		return 1;
	default:
		return 0;
	}
}

static void
listener_free(hvs_listener_t *l)
{
	free(l);
}

/*
 * Stop accepting for pause_ms: the pending connections stay queued in the
 * kernel and are taken once descriptors are free again.
 */
static void
listener_backoff(hvs_listener_t *l, int err)
{
	struct timeval tv;

	event_del(&l->ev);
	l->backoff = 1;
	tv = hvs__ms_timeval((uint64_t)l->pause_ms);
	evtimer_add(&l->pause, &tv);
	hvs__log(HVS_LOG_WARN, "listener: accept: %s; pausing for %d ms",
	    hvs_strerror(err), l->pause_ms);
	if (l->on_error != NULL) {
		l->on_error(l, err, l->userdata);
	}
}

static void
on_acceptable(evutil_socket_t fd, short what, void *arg)
{
	hvs_listener_t *l = arg;
	hvs__sockaddr_t sa;
	hvs_addr_t peer;
	hvs_sock_t s;
	int rc;

	(void)fd;
	(void)what;
	l->busy++;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		if (l->dead || !l->enabled || l->backoff) {
			break;
		}
		memset(&sa, 0, sizeof(sa));
		sa.len = sizeof(sa.ss);
		rc = hvs__os_accept(l->sock, &s, &sa, 1);
		if (rc == HVS_EAGAIN) {
			break;
		}
		if (rc < 0) {
			if (is_transient(rc)) {
				continue;
			}
			listener_backoff(l, rc);
			break;
		}
		if (hvs__sockaddr_to_addr(&sa, &peer) < 0) {
			memset(&peer, 0, sizeof(peer));
			peer.kind = HVS_ADDR_NONE;
		}
		/* The filter runs before anything is allocated for it. */
		if (l->filter != NULL && !l->filter(&peer, l->userdata)) {
			hvs__os_close(s);
			l->refused++;
			continue;
		}
		l->cb(l, s, &peer, l->userdata);
	}
	l->busy--;
	if (l->dead && l->busy == 0) {
		listener_free(l);
	}
}

static void
on_pause_end(evutil_socket_t fd, short what, void *arg)
{
	hvs_listener_t *l = arg;

	(void)fd;
	(void)what;
	l->backoff = 0;
	if (l->enabled && event_add(&l->ev, NULL) < 0) {
		hvs__log(HVS_LOG_ERROR, "listener: cannot watch socket");
	}
}

void
hvs_listener_opts_init(hvs_listener_opts_t *opts)
{
	if (opts != NULL) {
		memset(opts, 0, sizeof(*opts));
	}
}

int
hvs_listener_new_sock(hvs_listener_t **out, struct event_base *base,
    hvs_sock_t lsock, const hvs_listener_opts_t *opts, hvs_accept_fn cb,
    void *userdata)
{
	hvs_listener_t *l;
	int rc;

	if (out == NULL || base == NULL || cb == NULL ||
	    lsock == HVS_INVALID_SOCK || (opts != NULL && opts->pause_ms < 0)) {
		return HVS_EINVAL;
	}
	rc = hvs__os_set_nonblock(lsock, 1);
	if (rc < 0) {
		return rc;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		return HVS_ENOMEM;
	}
	l->base = base;
	l->sock = lsock;
	l->cb = cb;
	l->userdata = userdata;
	l->pause_ms = DEFAULT_PAUSE_MS;
	if (opts != NULL) {
		l->filter = opts->filter;
		l->on_error = opts->on_error;
		if (opts->pause_ms > 0) {
			l->pause_ms = opts->pause_ms;
		}
	}
	l->enabled = 1;
	event_assign(&l->ev, base, (evutil_socket_t)lsock, EV_READ | EV_PERSIST,
	    on_acceptable, l);
	evtimer_assign(&l->pause, base, on_pause_end, l);
	if (event_add(&l->ev, NULL) < 0) {
		rc = HVS_EBADF;
		goto free_listener;
	}
	*out = l;
	return 0;

free_listener:
	free(l);
	return rc;
}

int
hvs_listener_new(hvs_listener_t **out, struct event_base *base,
    const hvs_addr_t *addr, const hvs_sockopts_t *sopts,
    const hvs_listener_opts_t *opts, hvs_accept_fn cb, void *userdata)
{
	hvs_sock_t s;
	int rc;

	if (out == NULL || addr == NULL) {
		return HVS_EINVAL;
	}
	rc = hvs_listen(&s, addr, sopts);
	if (rc < 0) {
		return rc;
	}
	rc = hvs_listener_new_sock(out, base, s, opts, cb, userdata);
	if (rc < 0) {
		hvs_close(s);
	}
	return rc;
}

int
hvs_listener_enable(hvs_listener_t *l, int on)
{
	if (l == NULL || l->dead) {
		return HVS_EINVAL;
	}
	l->enabled = on ? 1 : 0;
	/* While backing off the timer decides; it honours enabled. */
	if (l->backoff) {
		return 0;
	}
	if (on) {
		return event_add(&l->ev, NULL) < 0 ? HVS_EBADF : 0;
	}
	event_del(&l->ev);
	return 0;
}

hvs_sock_t
hvs_listener_sock(const hvs_listener_t *l)
{
	return l != NULL ? l->sock : HVS_INVALID_SOCK;
}

void
hvs_listener_destroy(hvs_listener_t *l)
{
	if (l == NULL || l->dead) {
		return;
	}
	event_del(&l->ev);
	event_del(&l->pause);
	hvs_close(l->sock);
	l->sock = HVS_INVALID_SOCK;
	if (l->busy > 0) {
		l->dead = 1; /* on_acceptable() frees it on the way out */
		return;
	}
	listener_free(l);
}

unsigned long
hvs__listener_refused(const hvs_listener_t *l)
{
	return l->refused;
}
