/* SPDX-License-Identifier: MIT */
/*
 * novsock.so - an LD_PRELOAD layer for scenarios-guest: the guest
 * commands of the Windows scenarios run with the Linux tools as written,
 * and no AF_VSOCK connection ever leaves this machine. Test code only.
 *
 *   connect() on an AF_VSOCK socket is not made: "connect CID PORT" is
 *       appended to $NOVSOCK_LOG and the call fails with ECONNREFUSED
 *       (as if nothing listened there);
 *   bind() on an AF_VSOCK socket appends "bind CID PORT" and is not
 *       made either: the socket is replaced (dup2) by an AF_UNIX socket
 *       of the same type and flags with an autobound abstract name, so
 *       listen() and accept() work and nothing on this machine's vsock
 *       (which leads to its hypervisor) is ever reachable; getsockname()
 *       on it gives back the vsock address that was asked for;
 * every other call, and every other family, goes to the C library.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* The sockets bind() replaced, by descriptor, and their vsock names. */
#define FAKED_MAX 64
static struct {
	int fd;
	struct sockaddr_vm name;
} faked[FAKED_MAX];
static int nfaked;

static int
faked_find(int fd)
{
	for (int i = 0; i < nfaked; i++) {
		if (faked[i].fd == fd) {
			return i;
		}
	}
	return -1;
}

/* Put a listening-capable AF_UNIX socket where @fd was. 0 or -1. */
static int
fake_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	addr_fn real = (addr_fn)dlsym(RTLD_NEXT, "bind");
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int type, fl, fdfl, u, i;
	socklen_t tl = sizeof(type);

	if (real == NULL || len < (socklen_t)sizeof(struct sockaddr_vm) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || (fdfl = fcntl(fd, F_GETFD)) < 0) {
		errno = EINVAL;
		return -1;
	}
	u = socket(AF_UNIX, type, 0);
	if (u < 0) {
		return -1;
	}
	/* sizeof(sa_family_t) alone: the kernel picks an abstract name. */
	if (real(u, (struct sockaddr *)&un, sizeof(sa_family_t)) < 0 ||
	    dup2(u, fd) < 0) {
		close(u);
		return -1;
	}
	close(u);
	fcntl(fd, F_SETFL, fl);
	fcntl(fd, F_SETFD, fdfl);
	i = faked_find(fd);
	if (i < 0) {
		if (nfaked == FAKED_MAX) {
			errno = ENOBUFS;
			return -1;
		}
		i = nfaked++;
	}
	faked[i].fd = fd;
	memcpy(&faked[i].name, sa, sizeof(faked[i].name));
	return 0;
}

int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	addr_fn real = (addr_fn)dlsym(RTLD_NEXT, "bind");

	if (is_vsock(sa, len)) {
		note("bind", sa, len);
		return fake_bind(fd, sa, len);
	}
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, sa, len);
}

int
getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	typedef int (*name_fn)(int, struct sockaddr *, socklen_t *);
	name_fn real = (name_fn)dlsym(RTLD_NEXT, "getsockname");
	int i = faked_find(fd);
	struct sockaddr_un probe;
	socklen_t pl = sizeof(probe);

	/* Still the AF_UNIX socket put there (close() forgets it; this also
	 * covers a descriptor closed some other way and reused)? Then answer
	 * with its vsock name. */
	if (i >= 0 && real != NULL &&
	    real(fd, (struct sockaddr *)&probe, &pl) == 0 &&
	    probe.sun_family == AF_UNIX) {
		socklen_t n = *len < (socklen_t)sizeof(faked[i].name)
		    ? *len
		    : (socklen_t)sizeof(faked[i].name);
		memcpy(sa, &faked[i].name, n);
		*len = sizeof(faked[i].name);
		return 0;
	}
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, sa, len);
}

int
close(int fd)
{
	typedef int (*close_fn)(int);
	close_fn real = (close_fn)dlsym(RTLD_NEXT, "close");
	int i = faked_find(fd);

	if (i >= 0) {
		faked[i] = faked[--nfaked];
	}
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd);
}
