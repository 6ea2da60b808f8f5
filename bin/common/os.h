/* SPDX-License-Identifier: MIT */
/*
 * What bin/common asks of the system, behind small functions: one file
 * per OS family (posix/os.c, win/os.c), chosen in meson.build. Internal
 * to bin/common (prefix hvc__os_); the tools use the hvc_* functions.
 */
#ifndef HVC_OS_H
#define HVC_OS_H

#include <stddef.h>
#include <stdint.h>

#include <hvsock/hvsock.h>

/* The name messages start with, from @argv0: its last path component
 * (without ".exe" on Windows). */
const char *hvc__os_progname(const char *argv0);

/*
 * The uid of the user @name: 0 with @uid set, 1 if there is no such
 * user, 2 if the system has no such users (Windows), or -1 with an errno
 * value in @err.
 */
int hvc__os_user_uid(const char *name, uint32_t *uid, int *err);

/* 1 if a unix peer's credentials can be read here, else 0. */
int hvc__os_peer_cred_supported(void);
/* The effective uid and gid of the peer of the unix socket @sock: 0, or
 * -1 when the kernel does not say. */
int hvc__os_peer_cred(hvs_sock_t sock, uint32_t *uid, uint32_t *gid);

/*
 * Why a socket for an address of @kind could not be made, when the
 * library said HVS_EAFNOSUPPORT: the system's own words (which Windows
 * version is needed), or NULL for the library's text.
 */
const char *hvc__os_family_why(hvs_addr_kind_t kind);

/*
 * The identity of the file at @path, not following a link at the end:
 * 0 with @dev and @ino set, or an errno value (ENOENT: nothing there).
 * @is_sock is set to 1 if it is a unix socket file.
 */
int hvc__os_file_id(const char *path, uint64_t *dev, uint64_t *ino,
    int *is_sock);
/* Remove the file at @path: 0, or an errno value. */
int hvc__os_unlink(const char *path);

/* 1 if the C runtime descriptor @fd (0, 1 or 2) is closed. */
int hvc__os_fd_closed(int fd);
/* Open the null device as descriptor @fd: 0, or an errno value. */
int hvc__os_open_null(int fd);
/* Its name, for a message: "/dev/null", "NUL". */
const char *hvc__os_null_name(void);

/* Monotonic milliseconds. */
uint64_t hvc__os_now_ms(void);

#endif /* HVC_OS_H */
