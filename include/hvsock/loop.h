/* SPDX-License-Identifier: MIT */
/*
 * libhvsock event loop: listener, async connect and the relay engine.
 *
 * Built on libevent. The application owns the struct event_base and runs
 * it; every object here is bound to one base and must be used from the
 * thread that runs it. Destroy functions accept NULL and are safe to call
 * from inside the object's own callbacks.
 *
 * Platforms: Linux, FreeBSD and other POSIX systems, and Windows 10 1607
 * or later (Hyper-V sockets appeared in 1607; tcp: works on any Windows
 * 10, unix: from 1803). On Windows the loop waits on sockets only, so
 * consoles, pipes and files reach it through hvs_fd_bridge(), which
 * hvs_relay_new_fds() uses by itself.
 *
 * ABI promise: as for <hvsock/hvsock.h>, the soname libhvsock.so.N carries
 * an ABI number that every release breaking the ABI bumps (a function or
 * a public struct's layout changed or removed) and that releases adding
 * only keep; from 1.0 on N is the major version. Set up
 * hvs_listener_opts_t and hvs_relay_opts_t with hvs_listener_opts_init()
 * and hvs_relay_opts_init(), never by hand.
 */
#ifndef HVSOCK_LOOP_H
#define HVSOCK_LOOP_H

#include <stdint.h>

#include <hvsock/hvsock.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;

/* ------------------------------------------------------------------------
 * Listener
 * ---------------------------------------------------------------------- */

typedef struct hvs_listener hvs_listener_t;

/**
 * Called for each accepted connection. @sock is non-blocking and owned by
 * the callback from then on. @peer is the peer's address (valid during the
 * call only).
 */
typedef void (*hvs_accept_fn)(hvs_listener_t *l, hvs_sock_t sock,
    const hvs_addr_t *peer, void *userdata);

/**
 * Called before anything is allocated for a new connection. Return 1 to
 * accept it, 0 to close it at once (counted as a refusal).
 */
typedef int (*hvs_filter_fn)(const hvs_addr_t *peer, void *userdata);

/**
 * Called when accept() fails for a reason other than a pending-connection
 * race (EMFILE, ENFILE, ENOBUFS, ...), after the listener has paused.
 */
typedef void (*hvs_accept_error_fn)(hvs_listener_t *l, int err, void *userdata);

typedef struct hvs_listener_opts {
	hvs_filter_fn filter; /* optional peer filter */
	hvs_accept_error_fn on_error; /* optional */
	int pause_ms; /* back-off on EMFILE; 0 = 1000 */
} hvs_listener_opts_t;

/**
 * hvs_listener_opts_init() - set *@opts to the defaults: no filter, no
 * error callback, the 1000 ms back-off (every field 0). Start from it and
 * set what you need, so that fields a later release adds get their
 * defaults when you rebuild. Does nothing if @opts is NULL.
 */
HVS_EXPORT void hvs_listener_opts_init(hvs_listener_opts_t *opts);

/**
 * hvs_listener_new() - listen on @addr and call @cb for each connection.
 * @out:      receives the listener; free it with hvs_listener_destroy().
 * @base:     the caller's event loop; it must outlive the listener.
 * @addr:     any listening address kind (vsock, hvsock, tcp, unix, fd:N);
 *            read during the call only.
 * @sopts:    socket options for the listening socket, or NULL.
 * @opts:     filter, error callback and back-off, or NULL; copied.
 * @cb:       called for each accepted connection (required).
 * @userdata: passed to @cb, @opts->filter and @opts->on_error.
 *
 * On EMFILE/ENFILE (and other accept() failures that concern the
 * listener, not one connection) it stops accepting for @opts->pause_ms
 * and then retries, instead of spinning; the connections wait in the
 * kernel's queue meanwhile.
 * Returns 0 with *@out set; HVS_EINVAL for bad arguments; the error of
 * creating, binding or listening on the socket (HVS_EADDRINUSE,
 * HVS_EACCES, HVS_EADDR_RESOLVE, ...); HVS_ENOMEM. Nothing is left open
 * on failure.
 */
HVS_EXPORT int hvs_listener_new(hvs_listener_t **out, struct event_base *base,
    const hvs_addr_t *addr, const hvs_sockopts_t *sopts,
    const hvs_listener_opts_t *opts, hvs_accept_fn cb, void *userdata);

/**
 * hvs_listener_new_sock() - like hvs_listener_new() but on an already
 * listening socket @lsock (made non-blocking), which the listener owns
 * if (and only if) it succeeds and closes in hvs_listener_destroy().
 * Returns 0 with *@out set, HVS_EINVAL (NULL @out, @base or @cb, an
 * invalid @lsock, a negative pause), HVS_EBADF (the loop cannot watch
 * @lsock) or HVS_ENOMEM.
 */
HVS_EXPORT int hvs_listener_new_sock(hvs_listener_t **out,
    struct event_base *base, hvs_sock_t lsock, const hvs_listener_opts_t *opts,
    hvs_accept_fn cb, void *userdata);

/**
 * hvs_listener_enable() - resume (@on != 0) or pause (@on = 0) accepting;
 * pending connections wait in the kernel's queue meanwhile. During an
 * EMFILE back-off the pause timer resumes only if the listener is
 * enabled. Returns 0, HVS_EINVAL (@l is NULL or destroyed) or HVS_EBADF
 * (the loop cannot watch the socket).
 */
HVS_EXPORT int hvs_listener_enable(hvs_listener_t *l, int on);

/**
 * hvs_listener_sock() - the listening socket, e.g. to learn its address
 * (hvs_sock_local_addr()). It stays owned by @l: do not close it.
 * Returns the socket, or HVS_INVALID_SOCK for NULL.
 */
HVS_EXPORT hvs_sock_t hvs_listener_sock(const hvs_listener_t *l);

/**
 * hvs_listener_destroy() - stop accepting, close the listening socket and
 * free @l. Connections already handed to the accept callback are the
 * application's and stay open. Safe from inside @l's own accept, filter
 * or error callback (the memory is freed once the callback returns; @l
 * must not be used after this call). NULL is fine.
 */
HVS_EXPORT void hvs_listener_destroy(hvs_listener_t *l);

/* ------------------------------------------------------------------------
 * Async connect
 * ---------------------------------------------------------------------- */

typedef struct hvs_connect_req hvs_connect_req_t;

/**
 * Called once when the connect finishes: @err is 0 and @sock a connected,
 * non-blocking socket that the callback owns, or @err is a negative HVS_E*
 * code (HVS_ETIMEDOUT, HVS_ECONNREFUSED, ...) and @sock HVS_INVALID_SOCK.
 * The request is freed after the callback returns.
 */
typedef void (*hvs_connect_fn)(int err, hvs_sock_t sock, void *userdata);

/**
 * hvs_connect_async() - connect to @addr within @sopts->timeout_ms.
 * @out:      (may be NULL) receives a handle for hvs_connect_cancel(),
 *            valid until the callback has run.
 * @base:     the caller's event loop; it must outlive the request.
 * @addr:     any connecting address kind; read during the call only.
 * @sopts:    socket options (timeout_ms: 0 = none; for vsock-mux: 10 s),
 *            or NULL.
 * @cb:       called once with the outcome (required).
 * @userdata: passed to @cb.
 *
 * A host name other than a numeric address or localhost is looked up with
 * getaddrinfo() on a library worker thread (at most 8 at once, gone when
 * idle; they block every signal), so a slow name service never stalls
 * the loop; @sopts->timeout_ms covers the lookup and the connect, and a
 * name that does not resolve reaches @cb as HVS_EADDR_RESOLVE. The
 * addresses a name gives are tried in turn, each with a share of the
 * time left. A vsock-mux: address is connected as hvs_connect() does it:
 * the VMM's CONNECT handshake follows the connect within the same
 * timeout, its answer read as it comes (the loop never waits on it), and
 * @cb gets HVS_EMUX_REFUSED, HVS_EMUX_ANSWER or HVS_ETIMEDOUT if it
 * fails. The connected socket belongs to @cb (see hvs_connect_fn);
 * the request's memory is the library's.
 * Returns 0 (the callback will run later, never from inside this call,
 * also for errors found at once such as a missing unix socket file) or,
 * and then the callback will not run: HVS_EINVAL (NULL @base, @addr or
 * @cb), a negative HVS_E* code of @addr (HVS_EADDR_KIND for stdio and
 * fd:), HVS_EMFILE (no descriptor for the lookup's pipe), or HVS_ENOMEM.
 */
HVS_EXPORT int hvs_connect_async(hvs_connect_req_t **out,
    struct event_base *base, const hvs_addr_t *addr,
    const hvs_sockopts_t *sopts, hvs_connect_fn cb, void *userdata);

/**
 * hvs_connect_cancel() - abandon a pending connect: its callback won't run
 * and the socket being connected is closed. NULL is fine; from inside the
 * request's own callback it does nothing.
 */
HVS_EXPORT void hvs_connect_cancel(hvs_connect_req_t *req);

/* ------------------------------------------------------------------------
 * Relay engine
 * ---------------------------------------------------------------------- */

typedef struct hvs_relay hvs_relay_t;

/** Why a relay ended. */
typedef enum hvs_relay_end {
	HVS_RELAY_DONE = 0, /* both directions reached EOF and drained */
	HVS_RELAY_ERROR, /* a read or write failed (see err) */
	HVS_RELAY_RESET, /* a side reset the connection */
	HVS_RELAY_IDLE_TIMEOUT, /* no byte moved for idle_timeout_ms */
	HVS_RELAY_CLOSED, /* hvs_relay_destroy() was called */
} hvs_relay_end_t;

/** Statistics of one relay; "a" and "b" are the two sockets given. */
typedef struct hvs_relay_stats {
	uint64_t bytes_a_to_b;
	uint64_t bytes_b_to_a;
	uint64_t duration_ms;
	hvs_relay_end_t reason;
	int err; /* HVS_E* code for ERROR/RESET, else 0 */
	int err_side; /* 0 = a, 1 = b, -1 = none */
	int spliced; /* 1 if the zero-copy path carried the bytes */
	/* For ERROR/RESET: 1 if writing to err_side failed, 0 if reading
	 * from it did (with hvs_relay_new_fds(), a_out or a_in). */
	int err_write;
} hvs_relay_stats_t;

/**
 * Called once when the relay ends, after both sockets are closed. The
 * relay is freed after the callback returns.
 */
typedef void (*hvs_relay_done_fn)(hvs_relay_t *r,
    const hvs_relay_stats_t *stats, void *userdata);

/** hvs_relay_opts.flags */
/*
 * Without it, a direction starts on the read/write path and moves to the
 * zero-copy path (splice, Linux) once it carries a bulk stream: after
 * 64 KiB, at a read of 16 KiB or more. Short exchanges never take a pipe.
 */
#define HVS_RELAY_NO_SPLICE 0x1u /* force the read/write path */
#define HVS_RELAY_NO_HALF_CLOSE 0x2u /* end both at the first EOF */
/*
 * The sockets (b, and a for hvs_relay_new()) are non-blocking already, as
 * hvs_listener and hvs_connect_async() give them: the relay does not ask
 * (a system call each, on the path of every connection). A blocking
 * socket passed with this flag would stall the event loop.
 */
#define HVS_RELAY_NONBLOCKING 0x4u
/*
 * Side a (its output socket with hvs_relay_new_fds()) or side b is a
 * socket whose shutdown(SHUT_WR) sends no FIN: its peer learns that the
 * other side's stream ended only when the relay closes it. The relay then
 * does not shut it down but waits as eof_close_ms says (see
 * hvs_relay_new()). FreeBSD's AF_HYPERV sockets are such sockets, and the
 * relay knows them without a flag; these are for other transports, and
 * for tests.
 */
#define HVS_RELAY_A_NO_FIN 0x8u
#define HVS_RELAY_B_NO_FIN 0x10u
/*
 * The relay ends once b's stream has ended and every byte of it was
 * written to a (a receive-only client: `nc -d`): it stops reading a,
 * writes what it holds of a's stream to b, passes the EOF on to b and
 * ends with HVS_RELAY_DONE, without waiting for a's own EOF.
 */
#define HVS_RELAY_B_EOF_ENDS 0x20u

/* The default of hvs_relay_opts.eof_close_ms, in ms. */
#define HVS_RELAY_EOF_CLOSE_MS 2000

typedef struct hvs_relay_opts {
	unsigned flags; /* HVS_RELAY_* */
	/*
	 * Bytes read but not yet written, per direction; reading pauses at
	 * this mark. 0 = 256 KiB. The copy path queues at most 256 KiB and
	 * the zero-copy path at most one pipe (1 MiB where allowed).
	 */
	size_t high_watermark;
	int idle_timeout_ms; /* 0 = none; < 0 is HVS_EINVAL */
	/*
	 * After an EOF towards a side that takes no FIN (a FreeBSD AF_HYPERV
	 * socket, HVS_RELAY_A_NO_FIN, HVS_RELAY_B_NO_FIN): how long the other
	 * direction may stay idle, counted from its last byte (or the EOF,
	 * if later), before the relay closes both. 0 =
	 * HVS_RELAY_EOF_CLOSE_MS; < 0 = no bound: the relay waits for the
	 * peer's own end (or idle_timeout_ms). Unused without such a side.
	 * Added in 0.1.0 at the end of the struct: callers built against a
	 * header without it must be rebuilt.
	 */
	int eof_close_ms;
} hvs_relay_opts_t;

/**
 * hvs_relay_opts_init() - set *@opts to the defaults: no flags (half-close
 * passed on, the zero-copy path where it pays), the 256 KiB high
 * watermark, no idle timeout, HVS_RELAY_EOF_CLOSE_MS (every field 0).
 * Start from it and set what you need, so that fields a later release
 * adds get their defaults when you rebuild. Does nothing if @opts is
 * NULL.
 */
HVS_EXPORT void hvs_relay_opts_init(hvs_relay_opts_t *opts);

/**
 * hvs_relay_new() - relay bytes between two connected sockets until both
 * directions are done.
 * @out:      receives the relay handle, valid until the done callback
 *            has returned (do not use it afterwards).
 * @base:     the caller's event loop; it must outlive the relay.
 * @a, @b:    two different connected stream sockets of any kind.
 * @opts:     options, or NULL for the defaults; copied, not kept.
 * @done:     called once when the relay ends, or NULL.
 * @userdata: passed to @done.
 *
 * Half-close is passed on: an EOF from one side becomes shutdown(SHUT_WR)
 * on the other once every byte read from it has been written, and the
 * other direction keeps flowing.
 *
 * A side whose shutdown(SHUT_WR) sends no FIN (FreeBSD's AF_HYPERV; the
 * HVS_RELAY_A_NO_FIN and HVS_RELAY_B_NO_FIN flags) can be told of that EOF
 * only by its close, which ends its own direction too. So the relay keeps
 * that direction flowing, for the peer to answer, and closes both sides
 * when the peer ends it (its EOF is passed on as usual), or once it has
 * carried no byte for @opts->eof_close_ms (2 s by default) since the EOF
 * or its last byte: a peer that waits for the EOF before it answers or
 * closes (one that reads to the end, then writes) would otherwise wait
 * for ever, and so would the relay. Bytes already read are written first,
 * both sides are closed without a reset, and the relay ends with
 * HVS_RELAY_DONE: the silence is taken for the end of the answer, as
 * socat -t does after any EOF. A peer that pauses longer than that
 * before it answers needs a longer (or no) bound. Request/response
 * clients that half-close after the request (HTTP/1.0 style) get their
 * answer, then the EOF; ssh and other protocols that end in-band rarely
 * half-close at all. The relay asks a socket's family (one system call)
 * only on FreeBSD, and only when an EOF is passed on to it.
 *
 * A stream cut short is reset (SO_LINGER 0 close; AF_UNIX and vsock have
 * no reset, their peer sees a plain close), never ended with a FIN its
 * peer would take for a complete stream: after an error or reset of the
 * other side, with bytes still queued when the relay ends, and whenever
 * the relay ends (idle timeout, hvs_relay_destroy(), hvs_relay_drain())
 * before that stream's source had ended; the end of the wait above is
 * not such an end.
 *
 * Ownership: the relay owns @a and @b if (and only if) it succeeds, makes
 * them non-blocking and closes them when it ends; on failure they stay
 * the caller's, unchanged (blocking mode restored). The relay's memory is
 * the library's; it is freed after @done returns. An idle relay holds its
 * two sockets and no buffer or pipe. The relay does no I/O before the
 * loop runs.
 *
 * Returns 0 with *@out set, HVS_EINVAL (NULL @out or @base, negative
 * descriptor, @a == @b, negative idle timeout), HVS_EBADF (a descriptor
 * that is not open) or HVS_ENOMEM.
 */
HVS_EXPORT int hvs_relay_new(hvs_relay_t **out, struct event_base *base,
    hvs_sock_t a, hvs_sock_t b, const hvs_relay_opts_t *opts,
    hvs_relay_done_fn done, void *userdata);

/**
 * hvs_relay_new_fds() - like hvs_relay_new() for side a given as two
 * descriptors (e.g. stdin and stdout of a tool): bytes read from @a_in go
 * to @b, bytes from @b are written to @a_out. Pipes, ttys and files work
 * for side a. Ownership as in hvs_relay_new() (the relay owns and closes
 * @a_in, @a_out and @b if, and only if, it succeeds); @a_in and @a_out
 * may be equal. The EOF of @b is passed on by closing @a_out (when it is
 * not @a_in and not a socket). Descriptors that are not sockets get their
 * file status flags (blocking mode) back before they are closed, as they
 * may be shared with other processes (a terminal).
 *
 * On Windows @a_in and @a_out are C runtime descriptors (0 and 1 for
 * stdin and stdout). One that stands for a socket is relayed as that
 * socket; the others (a console, a pipe, a file) go through
 * hvs_fd_bridge(), started only once the relay is: on failure they stay
 * the caller's, untouched. Through a bridge a read error on @a_in resets
 * the stream (the relay ends with HVS_RELAY_RESET, err_side 0) after the
 * bridge has logged the system's words for it.
 * Returns as hvs_relay_new(); HVS_EINVAL also when @b equals @a_in or
 * @a_out (negative descriptors too); on Windows also the errors of
 * hvs_fd_bridge().
 */
HVS_EXPORT int hvs_relay_new_fds(hvs_relay_t **out, struct event_base *base,
    int a_in, int a_out, hvs_sock_t b, const hvs_relay_opts_t *opts,
    hvs_relay_done_fn done, void *userdata);

/**
 * hvs_relay_stats() - copy the statistics so far of a running relay
 * @r into *@out (reason HVS_RELAY_DONE, err 0 and err_side -1 while the
 * relay runs). Does nothing if @r or @out is NULL.
 */
HVS_EXPORT void hvs_relay_stats(const hvs_relay_t *r, hvs_relay_stats_t *out);

/**
 * hvs_relay_destroy() - end the relay now: both sockets are closed and the
 * done callback runs with HVS_RELAY_CLOSED before this returns; @r is
 * freed after it. Bytes still queued are lost, and every stream that had
 * not ended is reset at its receiver (see hvs_relay_new()). NULL is fine,
 * and so is a call from inside the relay's done callback (it does
 * nothing).
 */
HVS_EXPORT void hvs_relay_destroy(hvs_relay_t *r);

/**
 * hvs_relay_drain() - stop reading new bytes but finish writing what was
 * read, then end the relay (for a daemon's graceful shutdown). A stream
 * whose source had not ended is then cut short: once the kernel reports
 * its last bytes delivered (TCP's send queue empty), its receiver gets a
 * reset rather than a FIN (see hvs_relay_new()); a stream that had ended
 * keeps its clean EOF. The done callback runs later, from the loop, with
 * HVS_RELAY_CLOSED; the idle timeout still applies to a receiver that
 * takes nothing (without one, bound the drain with hvs_relay_destroy()).
 * NULL is fine, and so is a relay already draining.
 */
HVS_EXPORT void hvs_relay_drain(hvs_relay_t *r);

/**
 * hvs_fd_bridge() - a socket that stands for two C runtime descriptors,
 * for an event loop that can wait only on sockets (Windows: consoles,
 * pipes and files cannot be waited on).
 * @in_fd:  read by the bridge; its bytes come out of *@out, and its end
 *          of file arrives as *@out's EOF (a half-close: *@out can still
 *          be written). -1: none (*@out reads EOF at once).
 * @out_fd: bytes written into *@out are written to it, every one of them;
 *          the application's EOF on *@out (hvs_shutdown(HVS_SHUT_WR) or
 *          hvs_close()) closes @out_fd once they all are. -1: none (the
 *          bytes are discarded).
 * @out:    receives a connected, non-blocking stream socket (one end of
 *          a loopback pair), the caller's to relay and to close.
 *
 * One thread per direction moves the bytes. The bridge owns @in_fd and
 * @out_fd from a successful call on, and closes each when its direction
 * is done (the same descriptor for both: once both are done). Both are
 * switched to binary mode (no CR/LF translation); bytes pass unchanged,
 * except that a console's Ctrl-Z at the start of a line is its end of
 * input. A read error on @in_fd resets the socket (the application's
 * recv fails with HVS_ECONNRESET: a stream cut short, never taken for a
 * complete one). A write error on @out_fd (its reader went away) makes
 * the bridge discard what follows, so the application's sends never block
 * for good. Both are logged through hvs_set_log(), from the bridge's
 * threads, with the system's words for the error. A thread blocked reading
 * a console keeps the process's descriptor until input arrives or the
 * process ends.
 *
 * Bytes written into *@out before it is closed (or shut down for
 * writing) reach @out_fd even if the program exits right after (returns
 * from main() or calls exit()): the exit waits for each bridge's writer
 * while it writes, up to 10 s without a write to @out_fd completing (an
 * output nobody reads), and while bytes keep coming, up to 0.2 s without
 * one (so a socket still open at exit costs at most that). Not after
 * ExitProcess() or _exit(), nor with libhvsock as a DLL, whose exit
 * handlers run once every other thread has ended: link it statically.
 *
 * Returns 0 with *@out set; HVS_EINVAL (NULL @out, a descriptor below -1,
 * both -1), HVS_EBADF (a descriptor that is not open), HVS_EAGAIN (no
 * thread to be had) or the error of making the socket pair; nothing is
 * changed on failure and *@out is HVS_INVALID_SOCK. On POSIX systems,
 * whose loop can wait on any descriptor, it returns HVS_ENOTSUP and
 * touches nothing: relay the descriptors as they are.
 */
HVS_EXPORT int hvs_fd_bridge(int in_fd, int out_fd, hvs_sock_t *out);

/** Process-wide relay counters, for a daemon's metrics. */
typedef struct hvs_relay_counters {
	uint64_t relays_total; /* relays ever created */
	uint64_t relays_active; /* relays not yet ended */
	uint64_t bytes_total; /* bytes relayed, both directions */
	uint64_t errors_total; /* relays that ended with ERROR or RESET */
	uint64_t pipes_in_use; /* splice pipes held by relays right now */
	uint64_t pipes_pooled; /* idle pipes kept in the pool */
} hvs_relay_counters_t;

/**
 * hvs_relay_counters() - copy a snapshot of the process-wide counters
 * into *@out (NULL: nothing).
 */
HVS_EXPORT void hvs_relay_counters(hvs_relay_counters_t *out);

#ifdef __cplusplus
}
#endif

#endif /* HVSOCK_LOOP_H */
