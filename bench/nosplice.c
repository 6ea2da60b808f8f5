/* SPDX-License-Identifier: MIT */
/*
 * nosplice.so - an experiment for bench/ (LD_PRELOAD), not part of the
 * library: makes splice(2) fail with EINVAL, which the relay engine takes
 * as "this descriptor cannot splice" and answers by copying through its
 * 256 KiB buffer (read/write). So the same hvproxy or hvcat binary can be
 * measured on its zero-copy path and on its copy path.
 *
 *   HVB_NOSPLICE=all    every splice fails (the copy path throughout)
 *   HVB_NOSPLICE=vsock  only a splice from or to an AF_VSOCK socket fails
 *                       (what the engine would do if it never spliced
 *                       vsock); the default
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static int
is_vsock(int fd)
{
	int dom = 0;
	socklen_t len = sizeof(dom);

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0 &&
	    dom == AF_VSOCK;
}

ssize_t
splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
    unsigned int flags)
{
	static ssize_t (
	    *real)(int, loff_t *, int, loff_t *, size_t, unsigned int);
	const char *mode = getenv("HVB_NOSPLICE");

	if ((mode != NULL && strcmp(mode, "all") == 0) || is_vsock(fd_in) ||
	    is_vsock(fd_out)) {
		errno = EINVAL;
		return -1;
	}
	if (real == NULL) {
		real = (ssize_t(*)(int, loff_t *, int, loff_t *, size_t,
		    unsigned int))dlsym(RTLD_NEXT, "splice");
		if (real == NULL) {
			errno = ENOSYS;
			return -1;
		}
	}
	return real(fd_in, off_in, fd_out, off_out, len, flags);
}
