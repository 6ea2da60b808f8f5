/* SPDX-License-Identifier: MIT */
/*
 * Milliseconds as the struct timeval that event_add() takes: the loop's
 * timers (connect timeout, accept pause, relay idle timeout) all count in
 * milliseconds. libevent's header brings struct timeval on every system
 * (<sys/time.h>, or Winsock's, whose fields are longs).
 */
#ifndef HVSOCK_LOOP_TIMEVAL_H
#define HVSOCK_LOOP_TIMEVAL_H

#include <stdint.h>

#include <event2/util.h>

static inline struct timeval
hvs__ms_timeval(uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (long)(ms / 1000);
	tv.tv_usec = (long)(ms % 1000) * 1000;
	return tv;
}

#endif /* HVSOCK_LOOP_TIMEVAL_H */
