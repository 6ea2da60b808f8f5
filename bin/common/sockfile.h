/* SPDX-License-Identifier: MIT */
/*
 * Unix socket files a tool listens on (bin/common, prefix hvc_): what to
 * say when one cannot be bound, and removing the one this process made
 * when it is done with it, and only that one.
 *
 * Whether a file at the path may be replaced is decided in one place, the
 * library (hvs_listen() with HVS_SOCK_UNLINK): a stale socket file is
 * removed, a live one (a program listens on it) gives HVS_EADDRINUSE and
 * anything else HVS_EEXIST. Both tools listen through it.
 */
#ifndef HVC_SOCKFILE_H
#define HVC_SOCKFILE_H

#include <stddef.h>
#include <stdint.h>

#include <hvsock/hvsock.h>

/*
 * Why listening on @a failed with @err, for "cannot listen on ADDR: WHY":
 * for a unix socket file "address in use: PATH is a live socket" and
 * "PATH exists and is not a socket (left alone)", else hvc_sock_why().
 */
void hvc_listen_why(const hvs_addr_t *a, int err, char *buf, size_t size);
/*
 * Why a socket for @a failed with @err (listening or connecting):
 * hvs_strerror(@err), except that where the system lacks the address
 * family (HVS_EAFNOSUPPORT) it says what is needed: on Windows "Hyper-V
 * sockets are not available on this system (Windows 10 1607 or later
 * with Hyper-V or WSL2 is needed)", and the same for unix sockets
 * (Windows 10 1803 or later).
 */
void hvc_sock_why(const hvs_addr_t *a, int err, char *buf, size_t size);

/* The socket file a listener of this process created. */
struct hvc_sockfile {
	char path[HVS_PATH_MAX + 1]; /* empty: none */
	uint64_t dev; /* which file it is (device, inode; on Windows */
	uint64_t ino; /* the volume and the file index) */
};

/*
 * Note that a listener now exists on @a (nothing happens unless it is a
 * unix socket file): the file at its path is this process's, as
 * identified (lstat()) just after the bind.
 */
void hvc_sockfile_note(struct hvc_sockfile *f, const hvs_addr_t *a);

/*
 * Remove the noted file, once its listener is closed, unless the path now
 * leads to another file (someone removed ours and another program bound
 * a socket there). Returns 0 (removed, or nothing to remove), or the
 * errno value with the reason in @why (EACCES, EPERM: the folder is not
 * writable). Forgets the file either way.
 */
int hvc_sockfile_remove(struct hvc_sockfile *f, char *why, size_t size);

#endif
