/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint's bounds (metrics.c), which the descriptor budget
 * (daemon.c fit_descriptors()) keeps room for.
 *
 * At most HVP_METRICS_MAX_CONNS connections at once (one more is closed
 * as soon as it is accepted), each closed HVP_METRICS_DEADLINE_MS after
 * its accept() whatever it sends. HVP_METRICS_FDS descriptors are kept
 * for it out of the forwards' budget: its connections, its listening
 * socket and the one a connection over the limit holds for an instant.
 */
#ifndef HVPROXY_METRICS_H
#define HVPROXY_METRICS_H

#define HVP_METRICS_MAX_CONNS 16
#define HVP_METRICS_DEADLINE_MS 10000
#define HVP_METRICS_FDS (HVP_METRICS_MAX_CONNS + 2)

#endif
