/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
		snprintf(buf, size, "%s", hvs_strerror(err));
	}
}

void
hvc_sockfile_note(struct hvc_sockfile *f, const hvs_addr_t *a)
{
	struct stat st;

	f->path[0] = '\0';
	if (!is_unix_file(a) || lstat(a->u.local.path, &st) != 0 ||
	    !S_ISSOCK(st.st_mode)) {
		return;
	}
	snprintf(f->path, sizeof(f->path), "%s", a->u.local.path);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
}

int
hvc_sockfile_remove(struct hvc_sockfile *f, char *why, size_t size)
{
	struct stat st;
	int e = 0;

	if (f->path[0] == '\0') {
		return 0;
	}
	if (lstat(f->path, &st) != 0) {
		e = errno == ENOENT ? 0 : errno;
	} else if (st.st_dev != f->dev || st.st_ino != f->ino) {
		/* Not ours any more: another program's socket. */
	} else if (unlink(f->path) != 0 && errno != ENOENT) {
		e = errno;
	}
	if (e != 0) {
		snprintf(why, size, "%s", strerror(e));
	}
	f->path[0] = '\0';
	return e;
}
