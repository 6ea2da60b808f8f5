/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the portable core of libhvsock and its
 * platform backends. Nothing here is exported.
 *
 * Layering:
 *   core (this folder)     addresses, GUIDs, errors, logging, and the
 *                          socket logic (roles, resolution, timeouts)
 *   hvs__os_*  (posix/, win/)      thin system-call layer: one file per OS
 *                                  family, errors translated to HVS_E*
 *   hvs__hv_*  (linux/, freebsd/, win/)  the hypervisor socket family:
 *                                  sockaddr conversion, options, CID
 *
 * Every hvs__os_* / hvs__hv_* function returns 0 or a negative HVS_E* code
 * unless its comment says otherwise. Retrying EINTR is their job, not the
 * caller's.
 */
#ifndef HVSOCK_INTERNAL_H
#define HVSOCK_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <hvsock/hvsock.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
typedef int hvs__socklen_t;
typedef SRWLOCK hvs__mutex_t;
#define HVS__MUTEX_INIT SRWLOCK_INIT
#else
#include <pthread.h>
#include <sys/socket.h>
typedef socklen_t hvs__socklen_t;
typedef pthread_mutex_t hvs__mutex_t;
#define HVS__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#endif

#define HVS__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A native socket address of any family, big enough for all of them. */
typedef struct hvs__sockaddr {
	struct sockaddr_storage ss;
	hvs__socklen_t len;
} hvs__sockaddr_t;

/* ---- logging (log.c) ------------------------------------------------- */

#if defined(__GNUC__)
#define HVS__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HVS__PRINTF(a, b)
#endif

void hvs__log(hvs_log_level_t level, const char *fmt, ...) HVS__PRINTF(2, 3);

/* ---- the hypervisor socket family (linux/, freebsd/, win/) ----------- */

/* The native address family of vsock:/hvsock: addresses on this platform
 * (AF_VSOCK on Linux, AF_HYPERV on FreeBSD and Windows). */
int hvs__hv_family(void);

/* The protocol argument for socket() on that family. */
int hvs__hv_protocol(void);

/*
 * What the caller sees when socket() of that family failed with @err
 * (already translated): @err itself, or a code that says why the family
 * is missing here (FreeBSD outside Hyper-V: HVS_EHV_UNAVAILABLE).
 */
int hvs__hv_socket_error(int err);

/*
 * Convert a vsock: or hvsock: address to the native sockaddr for @role.
 * Returns HVS_ESERVICE_NOT_TEMPLATE, HVS_EVMID_UNSUPPORTED, HVS_EHV_CID,
 * HVS_EADDR_PORT_RANGE, ... for what the platform cannot express.
 */
int hvs__hv_to_sockaddr(const hvs_addr_t *addr, hvs_role_t role,
    hvs__sockaddr_t *out);

/* Convert a native sockaddr of the hypervisor family to an hvs address
 * (vsock: on Linux, hvsock: on FreeBSD/Windows). */
int hvs__hv_from_sockaddr(const struct sockaddr *sa, hvs__socklen_t len,
    hvs_addr_t *out);

/*
 * Set the native connect timeout on a hypervisor socket. Returns
 * HVS_ENOTSUP where the platform has no such option (the caller then uses
 * a non-blocking connect and poll).
 */
int hvs__hv_set_connect_timeout(hvs_sock_t s, int timeout_ms);

/* Options the platform applies to every new hypervisor socket (Windows:
 * HVSOCKET_CONNECTED_SUSPEND). */
int hvs__hv_socket_defaults(hvs_sock_t s);

/*
 * Apply a buffer size the family sizes with an option of its own (Linux
 * virtio/loopback: SO_VM_SOCKETS_BUFFER_SIZE), after the core has set
 * SO_SNDBUF/SO_RCVBUF. 0 where there is nothing more to do.
 */
int hvs__hv_set_bufsize(hvs_sock_t s, int bytes);

/*
 * hvs_addr_check() for a vsock: or hvsock: address: 0, or the error that
 * opening it for @role would give for the address alone, found without a
 * system call (FreeBSD: the CIDs, VM ids and ports a guest cannot use).
 * 0 where the backend decides only when the socket is opened.
 */
int hvs__hv_check(const hvs_addr_t *addr, hvs_role_t role);

/* See hvs_local_cid() and hvs_transport(). */
int hvs__hv_local_cid(uint32_t *cid);
const char *hvs__hv_transport(void);

/*
 * 1 if shutdown(SHUT_WR) on a socket of the family (hvs__hv_family())
 * sends its peer an end of stream (Linux, Windows); 0 if it does not and
 * only close() tells the peer (FreeBSD AF_HYPERV). The relay passes an
 * EOF on to such a socket by closing it (loop/relay.c).
 * Returns 0 or 1, never an error.
 */
int hvs__hv_shutdown_sends_fin(void);

/* ---- the system-call layer (posix/, win/) ---------------------------- */

/* Once per process (WSAStartup on Windows); safe to call repeatedly. */
int hvs__os_init(void);

/* errno (of any C runtime) -> HVS_E* (errno_map.c). */
int hvs__translate_errno(int e);

/* The last system error, translated. */
int hvs__os_last_error(void);

/* A close-on-exec socket that never raises SIGPIPE; non-blocking when
 * @nonblock. */
int hvs__os_socket(int family, int type, int protocol, int nonblock,
    hvs_sock_t *out);
int hvs__os_bind(hvs_sock_t s, const hvs__sockaddr_t *sa);
int hvs__os_listen(hvs_sock_t s, int backlog);
/* accept with close-on-exec (and non-blocking when @nonblock). */
int hvs__os_accept(hvs_sock_t s, hvs_sock_t *out, hvs__sockaddr_t *peer,
    int nonblock);
/* One connect() call: 0, HVS_EINPROGRESS, or an error. */
int hvs__os_connect(hvs_sock_t s, const hvs__sockaddr_t *sa);
/* Wait until @s is writable (connect done) for at most @timeout_ms
 * (<0: forever); then read SO_ERROR. HVS_ETIMEDOUT on timeout. */
int hvs__os_wait_connected(hvs_sock_t s, int timeout_ms);
/* Wait until @s is readable (@writable 0) or writable (1), or in error,
 * for at most @timeout_ms (<0: forever). HVS_ETIMEDOUT on timeout. */
int hvs__os_wait_io(hvs_sock_t s, int writable, int timeout_ms);
int hvs__os_close(hvs_sock_t s);
int hvs__os_shutdown(hvs_sock_t s, int how);
int hvs__os_set_nonblock(hvs_sock_t s, int on);
int hvs__os_setsockopt_int(hvs_sock_t s, int level, int name, int value);
int hvs__os_getsockopt_int(hvs_sock_t s, int level, int name, int *value);
int hvs__os_getsockname(hvs_sock_t s, hvs__sockaddr_t *out);
int hvs__os_getpeername(hvs_sock_t s, hvs__sockaddr_t *out);
int hvs__os_send(hvs_sock_t s, const void *buf, size_t len, size_t *sent);
int hvs__os_recv(hvs_sock_t s, void *buf, size_t len, size_t *got);
/* The family of an open socket (AF_INET, AF_UNIX, the hv family, ...). */
int hvs__os_sock_family(hvs_sock_t s, int *family);
/*
 * Bytes written to @s that its peer has not yet acknowledged (TCP: unsent
 * plus unacknowledged; SIOCOUTQ on Linux, FIONWRITE on FreeBSD). Returns
 * 0, or HVS_ENOTSUP where the system or the socket kind cannot tell.
 */
int hvs__os_sock_outq(hvs_sock_t s, size_t *out);
/* Check that an inherited descriptor is a listening stream socket and
 * make it close-on-exec. */
int hvs__os_adopt_listener(int fd, hvs_sock_t *out);
/* Remove a stale unix socket file at @path: 0 (removed, or nothing there),
 * HVS_EEXIST (not a socket), HVS_EADDRINUSE (a program listens on it). */
int hvs__os_unlink_stale(const char *path);
/* 0 if the system has abstract unix socket names (unix:@NAME: Linux),
 * else HVS_EUNIX_ABSTRACT. */
int hvs__os_unix_abstract(void);
/* Milliseconds from a monotonic clock. */
uint64_t hvs__os_now_ms(void);

/* ---- the event loop's system calls (posix/loop_os.c, win/loop_os.c) - */

/*
 * What the relay learnt about one of its descriptors, and what it must put
 * back. On Windows every descriptor the relay sees is a socket: other
 * handles reach it through a bridge (hvs__os_side_open()).
 */
typedef struct hvs__fdmode {
	unsigned sock : 1; /* a socket: recv/send, shutdown, SO_LINGER */
	unsigned poll : 1; /* the event loop can wait on it */
	unsigned restore : 1; /* we made it non-blocking: put it back */
	int oflags; /* POSIX: the file status flags as we found them */
} hvs__fdmode_t;

/*
 * Learn what @fd is and make it non-blocking. @is_sock: the caller knows
 * it is a socket (no system call to find out); with @nonblocking too, the
 * caller vouches that it is non-blocking already and nothing is asked.
 * Returns 0, HVS_EBADF (not open, or on Windows not a socket) or the
 * error of changing its mode.
 */
int hvs__os_fd_probe(hvs_sock_t fd, int is_sock, int nonblocking,
    hvs__fdmode_t *m);
/* Put back the blocking mode hvs__os_fd_probe() changed (if it did). */
void hvs__os_fd_restore(hvs_sock_t fd, hvs__fdmode_t *m);
/* Close a descriptor of the relay (close(), or closesocket()). */
void hvs__os_fd_close(hvs_sock_t fd, int sock);
/*
 * One read or write without waiting, EINTR retried: 0 with the count,
 * HVS_EOF (read: the end; *@got is 0), HVS_EAGAIN, or an error. @sock
 * picks recv/send (never raising SIGPIPE) over read/write.
 */
int hvs__os_fd_read(hvs_sock_t fd, int sock, void *buf, size_t len,
    size_t *got);
int hvs__os_fd_write(hvs_sock_t fd, int sock, const void *buf, size_t len,
    size_t *put);
/* Make the next close of socket @s send a reset instead of a FIN. */
void hvs__os_sock_abortive(hvs_sock_t s);

/*
 * 1 if a write that fails on a broken pipe would raise a SIGPIPE that the
 * process does not ignore (POSIX; never on Windows, which has none).
 */
int hvs__os_sigpipe_matters(void);
/*
 * Run @fn(@arg) with SIGPIPE blocked, and take back a SIGPIPE that it
 * raised when it failed (returned < 0 but not HVS_EAGAIN), as the library
 * promises never to raise one. Returns what @fn returned.
 */
int hvs__os_sigpipe_guard(int (*fn)(void *), void *arg);

/*
 * hvs_relay_new_fds()'s side a as the relay will see it. POSIX: the two
 * descriptors themselves. Windows: sockets as they are, other descriptors
 * through a bridge (hvs_fd_bridge()) whose threads start only at
 * hvs__os_side_commit(), so that a relay that fails to start leaves the
 * caller's descriptors untouched (hvs__os_side_abort()).
 */
typedef struct hvs__side {
	hvs_sock_t in; /* what the relay reads side a's bytes from */
	hvs_sock_t out; /* what it writes side b's bytes to */
	int is_sock; /* both known to be sockets (no probe needed) */
	void *bridge[2]; /* Windows: bridges to start or drop */
} hvs__side_t;

/* Returns 0, HVS_EINVAL (@b is one of the descriptors), HVS_EBADF (one
 * is not open) or the error of making a bridge. */
int hvs__os_side_open(int a_in, int a_out, hvs_sock_t b, hvs__side_t *out);
void hvs__os_side_commit(hvs__side_t *side);
void hvs__os_side_abort(hvs__side_t *side);

/*
 * A one-shot wake-up from a worker thread to the event loop: @rd turns
 * readable (end of file) once @wr is closed with hvs__os_close(). A pipe on
 * POSIX, a loopback socket pair on Windows (the loop can wait only on
 * sockets there). Both ends are close-on-exec. Returns 0 or an error
 * (HVS_EMFILE, ...).
 */
int hvs__os_wakeup_pair(hvs_sock_t *rd, hvs_sock_t *wr);

/*
 * A detached worker thread running @fn(@arg); on POSIX with every signal
 * blocked, so that the application's signal handling stays on its own
 * threads. Returns 0 or an error (HVS_EAGAIN: no thread to be had).
 */
int hvs__os_thread_spawn(void (*fn)(void *), void *arg);

/* A lock for state shared with the workers; HVS__MUTEX_INIT statically. */
void hvs__os_mutex_lock(hvs__mutex_t *m);
void hvs__os_mutex_unlock(hvs__mutex_t *m);

/* ---- shared helpers (sockaddr.c, socket.c) -------------------------- */

/*
 * Resolve @addr for @role into at most @max native addresses (a tcp host
 * name may give several, tried in turn). @flags: HVS_SOCK_IPV4_ONLY /
 * HVS_SOCK_IPV6_ONLY. Returns the count (> 0) or a negative HVS_E* code
 * (HVS_EADDR_KIND for stdio and fd:, HVS_EADDR_RESOLVE, ...).
 */
int hvs__addr_resolve(const hvs_addr_t *addr, hvs_role_t role, unsigned flags,
    hvs__sockaddr_t *out, int max);

/*
 * The tcp part of hvs__addr_resolve() without logging, safe to call from
 * any thread (the lookup workers): getaddrinfo()'s own code goes to
 * @gai_err (0 if it did not fail), for hvs__log_lookup_failure() to tell
 * on the application's thread.
 */
int hvs__tcp_lookup(const hvs_addr_t *addr, hvs_role_t role, unsigned flags,
    hvs__sockaddr_t *out, int max, int *gai_err);
void hvs__log_lookup_failure(const hvs_addr_t *addr, int gai_err);

/* 1 if resolving @addr may ask a name service (a tcp host name that is
 * neither a numeric address nor localhost): may block, unlike everything
 * else here. */
int hvs__addr_needs_lookup(const hvs_addr_t *addr);

/* A native sockaddr of any family (inet, inet6, unix, hv) -> hvs address. */
int hvs__sockaddr_to_addr(const hvs__sockaddr_t *sa, hvs_addr_t *out);

/*
 * Open a non-blocking socket for @sa, apply @opts (buffer sizes before
 * connect, platform defaults, native connect timeout) and start connecting.
 * Returns 0 (connected at once) or HVS_EINPROGRESS with *@out set, or an
 * error with nothing left open. Used by hvs_connect() and the async
 * connect of the event loop.
 */
int hvs__connect_start(const hvs__sockaddr_t *sa, const hvs_sockopts_t *opts,
    hvs_sock_t *out);

/* The connect timeout @opts asks for, in ms (<0 = none). */
int hvs__connect_timeout_ms(const hvs_sockopts_t *opts);

/* ---- hybrid vsock, vsock-mux: (mux.c) -------------------------------- */

/* The longest answer line a VMM may give, '\n' included. */
#define HVS__MUX_LINE_MAX 64
/* The bound of connect and handshake when the caller leaves it at 0. */
#define HVS__MUX_TIMEOUT_MS 10000

/*
 * The handshake of one connection to a VMM's socket, driven by the
 * blocking hvs_connect() and by the event loop alike: first the request
 * (`CONNECT PORT\n`) goes out, then the answer comes in a byte at a time,
 * so that nothing of the stream after the answer's '\n' is consumed.
 */
typedef struct hvs__mux {
	char req[24]; /* "CONNECT 4294967294\n" */
	size_t req_len;
	size_t req_sent;
	char line[HVS__MUX_LINE_MAX];
	size_t line_len;
	uint32_t port; /* the guest's port asked for */
	uint32_t host_port; /* the number of the VMM's OK */
} hvs__mux_t;

/* The whole timeout of a connect to @addr, in ms (<0 = none): that of
 * @opts, with vsock-mux:'s default of HVS__MUX_TIMEOUT_MS for 0. */
int hvs__addr_timeout_ms(const hvs_addr_t *addr, const hvs_sockopts_t *opts);

void hvs__mux_init(hvs__mux_t *m, uint32_t port);
/*
 * One step without waiting, on a non-blocking socket: send what is left
 * of the request (hvs__mux_send()), or read what has come of the answer
 * (hvs__mux_recv()). 0 when the step is done, HVS_EAGAIN to wait for the
 * socket (writable, readable) and call again, or an error:
 * HVS_EMUX_REFUSED (the VMM closed the connection), HVS_EMUX_ANSWER, or
 * a system error.
 */
int hvs__mux_send(hvs_sock_t s, hvs__mux_t *m);
int hvs__mux_recv(hvs_sock_t s, hvs__mux_t *m);
/* The whole handshake on non-blocking @s, waiting up to @deadline_ms
 * (hvs__os_now_ms(); 0 = no deadline). */
int hvs__mux_handshake(hvs_sock_t s, uint32_t port, uint64_t deadline_ms);

#endif /* HVSOCK_INTERNAL_H */
