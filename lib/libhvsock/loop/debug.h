/* SPDX-License-Identifier: MIT */
/*
 * Internals of the event-loop objects that the unit tests reach (they link
 * the library's objects, so these hidden symbols are visible to them):
 * introspection, and entry points below the address resolution. Nothing
 * here is part of the public API.
 */
#ifndef HVSOCK_LOOP_DEBUG_H
#define HVSOCK_LOOP_DEBUG_H

#include <stddef.h>

#include <hvsock/loop.h>

#include "internal.h"

/* What a relay holds right now; index 0 is a->b, 1 is b->a. */
typedef struct hvs__relay_debug {
	size_t queued[2]; /* bytes read but not yet written */
	size_t peak[2]; /* the most ever queued at once */
	size_t limit[2]; /* the queue bound in force (watermark) */
	unsigned pauses[2]; /* times reading stopped at the watermark */
	int has_pipe[2]; /* holds a splice pipe */
	int has_buf[2]; /* holds a copy buffer */
	int reading[2]; /* the read side is armed */
	int pipe_rfd[2]; /* read end of the splice pipe held, or -1 */
	size_t bufcap[2]; /* bytes of the copy buffer held, or 0 */
	size_t size; /* bytes of the relay object itself */
} hvs__relay_debug_t;

void hvs__relay_debug(const hvs_relay_t *r, hvs__relay_debug_t *out);

/* Free the idle copy buffers and pipes the relay engine keeps pooled. */
void hvs__relay_pools_flush(void);

/*
 * The relay's choice for one socket it passes an EOF on to: 1 if only its
 * close tells the peer (no shutdown(SHUT_WR), a fin wait instead), 0 for
 * a plain half-close. @flagged: the application named the side
 * (HVS_RELAY_A_NO_FIN, HVS_RELAY_B_NO_FIN); @sends_fin:
 * hvs__hv_shutdown_sends_fin(); @family: the socket's address family, or
 * -1 when unknown (the relay asks only when @flagged and @sends_fin are
 * both 0); @hv_family: hvs__hv_family(). Pure, for the unit tests.
 */
int hvs__relay_eof_by_close(int flagged, int sends_fin, int family,
    int hv_family);

/* Connections the listener's filter refused so far. */
unsigned long hvs__listener_refused(const hvs_listener_t *l);

/*
 * hvs_connect_async() after resolution: try the @n native addresses in
 * turn. Lets a test line up addresses that a resolver would not give
 * (a refused one, a black-holed one, then a good one).
 */
int hvs__connect_async_addrs(hvs_connect_req_t **out, struct event_base *base,
    const hvs__sockaddr_t *addrs, int n, const hvs_sockopts_t *sopts,
    hvs_connect_fn cb, void *userdata);

/*
 * When set, the name-lookup workers call this instead of getaddrinfo():
 * a test can make a lookup slow, or wait for the loop, deterministically.
 * Called on a worker thread; returns like hvs__addr_resolve().
 */
typedef int (*hvs__lookup_hook_fn)(const hvs_addr_t *addr, unsigned flags,
    hvs__sockaddr_t *out, int max);
extern hvs__lookup_hook_fn hvs__lookup_hook;

/* Lookup workers alive (0: every job's pipe is closed, no thread left). */
int hvs__lookup_workers(void);

#endif /* HVSOCK_LOOP_DEBUG_H */
