/* SPDX-License-Identifier: MIT */
/*
 * Host-name lookups on worker threads, answered through the event loop
 * (lookup.c). Used by hvs_connect_async() for names that are not numeric
 * addresses.
 */
#ifndef HVSOCK_LOOP_LOOKUP_H
#define HVSOCK_LOOP_LOOKUP_H

#include <event2/event.h>

#include "internal.h"

/* Addresses of one name kept at most (getaddrinfo rarely gives more). */
#define HVS__LOOKUP_MAX 16

typedef struct hvs__lookup hvs__lookup_t;

/*
 * Called once, from the loop, with the count of addresses found (> 0, at
 * @addrs, valid during the call) or a negative HVS_E* code
 * (HVS_EADDR_RESOLVE for a name that does not resolve).
 */
typedef void (
    *hvs__lookup_fn)(int n, const hvs__sockaddr_t *addrs, void *userdata);

/*
 * Look up @addr's tcp host name for connecting (@flags: HVS_SOCK_IPV4_ONLY
 * / HVS_SOCK_IPV6_ONLY). Returns 0, @cb to run later from @base's loop, or
 * a negative HVS_E* code (no pipe or memory) and @cb will not run.
 */
int hvs__lookup_start(hvs__lookup_t **out, struct event_base *base,
    const hvs_addr_t *addr, unsigned flags, hvs__lookup_fn cb, void *userdata);

/* Abandon a lookup: its callback will not run. Not from inside it. */
void hvs__lookup_cancel(hvs__lookup_t *l);

#endif /* HVSOCK_LOOP_LOOKUP_H */
