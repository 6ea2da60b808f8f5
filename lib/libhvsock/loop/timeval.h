/* SPDX-License-Identifier: MIT */
/*
 * Milliseconds as the struct timeval that event_add() takes: the loop's
 * timers (connect timeout, accept pause, relay idle timeout) all count in
 * milliseconds.
 */
#ifndef HVSOCK_LOOP_TIMEVAL_H
#define HVSOCK_LOOP_TIMEVAL_H

#include <stdint.h>
#include <sys/time.h>

static inline struct timeval
hvs__ms_timeval(uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

#endif /* HVSOCK_LOOP_TIMEVAL_H */
