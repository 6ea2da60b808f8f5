/* SPDX-License-Identifier: MIT */
/* See sysmock.h. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef __linux__
#include <fcntl.h>
#endif

#include "sysmock.h"

struct script {
	int err;
	int after_real;
	int skip;
	int times;
	unsigned count;
};

static struct script scripts[SYSMOCK__COUNT];

void
sysmock_fail(sysmock_call_t call, int err, int skip, int times)
{
	scripts[call].err = err;
	scripts[call].skip = skip;
	scripts[call].times = times;
	scripts[call].after_real = 0;
}

void
sysmock_fail_after_real(sysmock_call_t call, int err, int skip, int times)
{
	sysmock_fail(call, err, skip, times);
	scripts[call].after_real = 1;
}

void
sysmock_reset(void)
{
	for (size_t i = 0; i < SYSMOCK__COUNT; i++) {
		scripts[i] = (struct script){0};
	}
}

unsigned
sysmock_count(sysmock_call_t call)
{
	return scripts[call].count;
}

/* 1 if this call must fail (errno is then set). */
static int
should_fail(sysmock_call_t call)
{
	struct script *s = &scripts[call];

	s->count++;
	if (s->after_real) {
		return 0;
	}
	if (s->times == 0) {
		return 0;
	}
	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	if (s->times > 0) {
		s->times--;
	}
	errno = s->err;
	return 1;
}

/* For after_real scripts: 1 if the real call's result must be replaced. */
static int
fail_after(sysmock_call_t call)
{
	struct script *s = &scripts[call];

	if (!s->after_real || s->times == 0) {
		return 0;
	}
	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	if (s->times > 0) {
		s->times--;
	}
	errno = s->err;
	return 1;
}

/* Prototypes keep -Wmissing-prototypes quiet; the linker resolves them. */
#define WRAP(ret, name, params, args, call) \
	ret __real_##name params;           \
	ret __wrap_##name params;           \
	ret __wrap_##name params            \
	{                                   \
		ret r_;                     \
		if (should_fail(call)) {    \
			return (ret)-1;     \
		}                           \
		r_ = __real_##name args;    \
		if (fail_after(call)) {     \
			return (ret)-1;     \
		}                           \
		return r_;                  \
	}

WRAP(int, socket, (int d, int t, int p), (d, t, p), SYSMOCK_SOCKET)
WRAP(int, bind, (int s, const struct sockaddr *a, socklen_t l), (s, a, l),
    SYSMOCK_BIND)
WRAP(int, listen, (int s, int b), (s, b), SYSMOCK_LISTEN)
WRAP(int, accept, (int s, struct sockaddr *a, socklen_t *l), (s, a, l),
    SYSMOCK_ACCEPT)
WRAP(int, accept4, (int s, struct sockaddr *a, socklen_t *l, int f),
    (s, a, l, f), SYSMOCK_ACCEPT)
WRAP(int, connect, (int s, const struct sockaddr *a, socklen_t l), (s, a, l),
    SYSMOCK_CONNECT)
WRAP(int, poll, (struct pollfd * f, nfds_t n, int t), (f, n, t), SYSMOCK_POLL)
WRAP(int, getsockopt, (int s, int lv, int n, void *v, socklen_t *l),
    (s, lv, n, v, l), SYSMOCK_GETSOCKOPT)
WRAP(int, setsockopt, (int s, int lv, int n, const void *v, socklen_t l),
    (s, lv, n, v, l), SYSMOCK_SETSOCKOPT)
WRAP(int, shutdown, (int s, int h), (s, h), SYSMOCK_SHUTDOWN)
WRAP(ssize_t, send, (int s, const void *b, size_t n, int f), (s, b, n, f),
    SYSMOCK_SEND)
WRAP(ssize_t, sendmsg, (int s, const struct msghdr *m, int f), (s, m, f),
    SYSMOCK_SEND)
WRAP(ssize_t, recv, (int s, void *b, size_t n, int f), (s, b, n, f),
    SYSMOCK_RECV)
WRAP(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n), SYSMOCK_READ)
WRAP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n),
    SYSMOCK_WRITE)
#ifdef __linux__
WRAP(ssize_t, splice,
    (int fi, loff_t *oi, int fo, loff_t *oo, size_t n, unsigned f),
    (fi, oi, fo, oo, n, f), SYSMOCK_SPLICE)
WRAP(int, pipe2, (int p[2], int f), (p, f), SYSMOCK_PIPE2)
#endif
