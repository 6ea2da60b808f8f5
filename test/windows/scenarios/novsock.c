/* SPDX-License-Identifier: MIT */
/*
 * novsock.so - an LD_PRELOAD layer for scenarios-guest: the guest
 * commands of the Windows scenarios run with the Linux tools as written,
 * and no AF_VSOCK connection ever leaves this machine. Test code only.
 *
 *   connect() on an AF_VSOCK socket is not made: "connect CID PORT" is
 *       appended to $NOVSOCK_LOG and the call fails with ECONNREFUSED
 *       (as if nothing listened there);
 *   bind() on an AF_VSOCK socket appends "bind CID PORT" and is made
 *       (listening on this machine's vsock is harmless);
 * every other call, and every other family, goes to the C library.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

typedef int (*addr_fn)(int, const struct sockaddr *, socklen_t);

static void
note(const char *what, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_vm *vm = (const struct sockaddr_vm *)sa;
	const char *path = getenv("NOVSOCK_LOG");
	FILE *f;

	if (path == NULL || len < (socklen_t)sizeof(*vm)) {
		return;
	}
	f = fopen(path, "a");
	if (f != NULL) {
		fprintf(f, "%s %u %u\n", what, vm->svm_cid, vm->svm_port);
		fclose(f);
	}
}

static int
is_vsock(const struct sockaddr *sa, socklen_t len)
{
	return sa != NULL && len >= (socklen_t)sizeof(sa->sa_family) &&
	    sa->sa_family == AF_VSOCK;
}

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	addr_fn real = (addr_fn)dlsym(RTLD_NEXT, "connect");

	if (is_vsock(sa, len)) {
		note("connect", sa, len);
		errno = ECONNREFUSED;
		return -1;
	}
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, sa, len);
}

int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	addr_fn real = (addr_fn)dlsym(RTLD_NEXT, "bind");

	if (is_vsock(sa, len)) {
		note("bind", sa, len);
	}
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, sa, len);
}
