/* SPDX-License-Identifier: MIT */
/*
 * Unix socket files a tool listens on (sockfile.h); the file system calls
 * are in posix/os.c and win/os.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/os.h"
#include "common/sockfile.h"

static int
is_unix_file(const hvs_addr_t *a)
{
	return a != NULL && a->kind == HVS_ADDR_UNIX && !a->u.local.abstract;
}

void
hvc_listen_why(const hvs_addr_t *a, int err, char *buf, size_t size)
{
	if (is_unix_file(a) && err == HVS_EADDRINUSE) {
		snprintf(buf, size, "address in use: %s is a live socket",
		    a->u.local.path);
	} else if (is_unix_file(a) && err == HVS_EEXIST) {
		snprintf(buf, size,
		    "%s exists and is not a socket (left alone)",
		    a->u.local.path);
	} else {
		hvc_sock_why(a, err, buf, size);
	}
}

void
hvc_sock_why(const hvs_addr_t *a, int err, char *buf, size_t size)
{
	const char *why = NULL;

	if (a != NULL && err == HVS_EAFNOSUPPORT) {
		why = hvc__os_family_why(a->kind);
	}
	snprintf(buf, size, "%s", why != NULL ? why : hvs_strerror(err));
}

void
hvc_sockfile_note(struct hvc_sockfile *f, const hvs_addr_t *a)
{
	int is_sock = 0;

	f->path[0] = '\0';
	if (!is_unix_file(a) ||
	    hvc__os_file_id(a->u.local.path, &f->dev, &f->ino, &is_sock) != 0 ||
	    !is_sock) {
		return;
	}
	snprintf(f->path, sizeof(f->path), "%s", a->u.local.path);
}

int
hvc_sockfile_remove(struct hvc_sockfile *f, char *why, size_t size)
{
	uint64_t dev, ino;
	int e, is_sock;

	if (f->path[0] == '\0') {
		return 0;
	}
	e = hvc__os_file_id(f->path, &dev, &ino, &is_sock);
	if (e == ENOENT) {
		e = 0;
	} else if (e != 0) {
		/* Cannot tell whose it is. */
	} else if (dev != f->dev || ino != f->ino) {
		/* Not ours any more: another program's socket. */
	} else if ((e = hvc__os_unlink(f->path)) == ENOENT) {
		e = 0;
	}
	if (e != 0) {
		snprintf(why, size, "%s", strerror(e));
	}
	f->path[0] = '\0';
	return e;
}
