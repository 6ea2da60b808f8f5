/* SPDX-License-Identifier: MIT */
/*
 * One forward at run time and the daemon that holds them: the objects
 * forward.c (a forward's listener and connections) and daemon.c (every
 * forward, reload, drain, counters) share.
 */
#ifndef HVP_FORWARD_H
#define HVP_FORWARD_H

#include "hvproxy.h"

struct fwd;

struct conn {
	struct conn *prev, *next;
	struct fwd *fwd;
	struct hvp_fwd_conf *conf; /* reference: what it was admitted under */
	hvs_sock_t client; /* until the relay owns it */
	char *peer;
	hvs_connect_req_t *req; /* while connecting */
	hvs_relay_t *relay; /* while relaying */
	uint64_t start_ms;
	int drained; /* hvs_relay_drain() was called */
	int splice; /* its relay may take splice pipes (counted in nsplice) */
	int counted; /* counted under @pkey in its forward's peers */
	struct hvp_peer_key pkey;
};

struct fwd {
	struct fwd *next;
	struct hvp_daemon *d;
	struct hvp_fwd_conf *conf;
	hvs_listener_t *listener;
	struct hvp_wsl *wsl; /* instead of listener for hvsock:wsl: */
	struct hvc_sockfile sockfile; /* a unix socket file we created */
	struct conn *conns;
	unsigned nconns;
	/* Open connections per peer, whatever the limit: a reload that sets
	 * max-conns-per-peer finds the connections already open counted. */
	struct hvp_peers peers;
	struct hvp_fwd_stats st; /* counters of ended connections */
	int retired;
	int warned_family; /* said once that the target's family is
			      missing */
};

struct hvp_daemon {
	struct event_base *base;
	struct hvp_config *cfg;
	struct fwd *fwds; /* in configuration order */
	struct fwd *retired;
	unsigned nconns;
	unsigned max_conns; /* in force (automatic if 0 in cfg) */
	unsigned nsplice; /* relays allowed the zero-copy path */
	unsigned max_splice; /* descriptors left for their pipes, / 4 */
	uint64_t reloads, reload_failures;
	int draining; /* 0, 1 = waiting, 2 = flushing */
	struct event *drain_ev;
	void (*drain_done)(void *);
	void *drain_arg;
};

/* ---- forward.c -------------------------------------------------------- */

/* Free @f, which has no listener and no connection left. */
void hvp_fwd_free(struct fwd *f);
/* Listen on @f's address (logged on failure), with the global settings
 * of @cfg, the configuration being applied: 0 or -1. */
int hvp_fwd_bind(struct fwd *f, const struct hvp_config *cfg);
/* Stop listening; a unix socket file we created goes too. */
void hvp_fwd_unbind(struct fwd *f);
/* A connection that never reached the relay: log it with @end and @err,
 * close the client, free @c. */
void hvp_conn_fail(struct conn *c, const char *end, int err);

/* ---- daemon.c --------------------------------------------------------- */

/* Call the drain's done callback once the last connection has gone. */
void hvp_daemon_maybe_drained(struct hvp_daemon *d);

#endif /* HVP_FORWARD_H */
