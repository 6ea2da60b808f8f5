/* SPDX-License-Identifier: MIT */
/*
 * Fault-injection seam for unit tests.
 *
 * The test programs are linked with -Wl,--wrap=<call> for each call below
 * (see test/meson.build), so every reference to e.g. socket() in the
 * library's objects reaches __wrap_socket() here. Unless a test scripts a
 * failure, the wrapper calls the real function: unscripted tests run
 * against the real kernel.
 *
 * On Windows (sysmock_win.c) the same scripts make the Winsock calls fail
 * with the Winsock error for the scripted errno; see there for which
 * calls each SYSMOCK_* names.
 */
#ifndef HVS_TEST_SYSMOCK_H
#define HVS_TEST_SYSMOCK_H

#include <stdint.h>

typedef enum sysmock_call {
	SYSMOCK_SOCKET,
	SYSMOCK_BIND,
	SYSMOCK_LISTEN,
	SYSMOCK_ACCEPT, /* accept() and accept4() */
	SYSMOCK_CONNECT,
	SYSMOCK_POLL,
	SYSMOCK_GETSOCKOPT,
	SYSMOCK_SETSOCKOPT,
	SYSMOCK_SHUTDOWN,
	SYSMOCK_SEND, /* send() and sendmsg() */
	SYSMOCK_RECV,
	SYSMOCK_SPLICE,
	SYSMOCK_PIPE2,
	SYSMOCK_READ,
	SYSMOCK_WRITE,
	SYSMOCK__COUNT
} sysmock_call_t;

/*
 * Make @call fail with errno @err, @times times in a row (-1: until reset),
 * after letting @skip calls through first.
 */
void sysmock_fail(sysmock_call_t call, int err, int skip, int times);

/*
 * Like sysmock_fail(), but the real call is made first and its result
 * replaced by the failure: how a connect() interrupted by a signal looks
 * (the kernel goes on connecting, the caller sees EINTR).
 */
void sysmock_fail_after_real(sysmock_call_t call, int err, int skip, int times);

/* Forget every script and zero the counters. */
void sysmock_reset(void);

/* How many times @call was made since the last reset (failed or not). */
unsigned sysmock_count(sysmock_call_t call);

#ifdef _WIN32
/* Sockets made and not yet closed (Windows has no descriptor table). */
int sysmock_open_sockets(void);

/* The non-blocking mode last set on @sock (FIONBIO); -1 if unknown. */
int sysmock_nonblock(uintptr_t sock);
#endif

#endif
