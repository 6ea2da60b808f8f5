/* SPDX-License-Identifier: MIT */
/*
 * hvcat - netcat for host<->guest sockets. Private interface between the
 * files of the tool:
 *
 *   main.c      options, usage, conflict checks, dispatch
 *   target.c    the address on the command line -> hvs_addr_t, and the
 *               one-line messages for bad addresses and failed sockets
 *   helpers.c   --service-id, --local-cid, --register-cmd, --register,
 *               --unregister, --list-registered, vsock facts for -v
 *   session.c   the event loop: connect or listen, relay stdio <-> socket,
 *               signals, exit status
 *   pump.c      byte pumps around the relay for the quit policies that
 *               need to see an EOF (-q, --no-shutdown, --recv-only)
 *   exec.c      -e / -c: a program with the connection as stdin/stdout
 *   progress.c  the --progress meter on stderr
 *   msg.c       messages to stderr (they step around the meter)
 *
 * What differs between operating systems sits behind the small functions
 * of the "operating system" section below, in posix/ and win/
 * (meson.build picks one set): start-up, signals, the wiring of standard
 * input and output, streams the pumps read and write, and -e/-c children.
 *
 * Numbers, durations, sizes, the --allow list and the quoting of bad
 * arguments come from bin/common (hvc_*), which hvproxy shares.
 */
#ifndef HVCAT_H
#define HVCAT_H

#include <stddef.h>
#include <stdint.h>

#include <hvsock/hvsock.h>
#include <hvsock/loop.h>

#include "common/allow.h"
#include "common/num.h"
#include "common/util.h"

struct event_base;

/* The format checks of the msg_* functions: GNU's wherever their
 * vfprintf() is the GNU one (mingw-w64 with __USE_MINGW_ANSI_STDIO). */
#if defined(__MINGW32__)
#define HVCAT_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#else
#define HVCAT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#endif

/* Exit statuses: runtime failure 1, usage error 2. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* When the progress meter is drawn. */
enum progress_when {
	PROGRESS_NEVER = 0,
	PROGRESS_AUTO, /* --progress: only if stderr is a terminal */
	PROGRESS_ALWAYS, /* --progress=always */
};

/* Everything the command line says, checked. */
struct options {
	int listen; /* -l: listen instead of connecting */
	int keep; /* -k: keep listening after a client */
	int probe; /* -z: connect, close, report */
	int verbose; /* -v, counted */
	int numeric; /* -n: no host name lookups */
	unsigned family_flags; /* -4 / -6: HVS_SOCK_IPV4_ONLY / _IPV6_ONLY */
	int peer_eof_quits; /* -N: quit when the peer closes */
	int no_shutdown; /* --no-shutdown: stdin EOF sends no SHUT_WR */
	int recv_only; /* -d / --recv-only: never read stdin */
	int send_only; /* --send-only: discard what the peer sends */
	int quit_ms; /* -q: quit this long after stdin EOF; -1 unset */
	int connect_ms; /* -w: connect timeout, 0 = default */
	int idle_ms; /* -w / --idle-timeout, 0 = none */
	size_t bufsize; /* -b: socket buffers and relay queue, 0 = default */
	int max_conns; /* -m: concurrent -e/-c children with -k */
	char **exec_argv; /* -e / -c: the program and its arguments */
	int exec_shell; /* -c: the last argument is the shell's command */
	const char *exec_desc; /* ... as given, for messages */
	enum progress_when progress;
	struct hvc_allow allow; /* --allow; not given = everyone */
	hvs_addr_t addr; /* the socket address */
	char addr_str[HVS_ADDR_STRLEN]; /* ... formatted, for messages */
};

/* ---- msg.c ---- */
/* Messages start with hvc_progname ("hvcat"), set from @argv0. */
void msg_init(const char *argv0);
void msg_warn(const char *fmt, ...) HVCAT_PRINTF(1, 2);
void msg_verbose(const struct options *o, int level, const char *fmt, ...)
    HVCAT_PRINTF(3, 4);
_Noreturn void msg_die(int status, const char *fmt, ...) HVCAT_PRINTF(2, 3);
/* Usage error: the message on one line, then exit 2. */
_Noreturn void msg_usage(const char *fmt, ...) HVCAT_PRINTF(1, 2);
/* Route library log messages to stderr at -vv and above. */
void msg_library_log(int verbose);

/* ---- target.c ---- */
/*
 * Turn the positional arguments into the socket address (1 argument: an
 * address of the grammar, or with -l a bare port; 2 arguments: CID PORT).
 * A bad address is a usage error: one line naming the bad part, exit 2.
 */
void target_parse(struct options *o, int argc, char **argv);
/* "unix:PATH" from -U PATH, same checks. */
void target_parse_unix(struct options *o, const char *path);
/*
 * One line for a failed socket operation on the command line's address:
 * "cannot connect to ADDR: reason" with hints for the common causes.
 * @what is "connect to" or "listen on".
 */
void target_describe_error(const struct options *o, const char *what, int err,
    char *buf, size_t size);

/* ---- helpers.c ---- */
int helper_service_id(const char *arg);
int helper_local_cid(void);
int helper_register_cmd(const char *arg);
/* --register ARG [--name NAME], --unregister ARG, --list-registered: a
 * Windows host's registered Hyper-V services (exit 2 elsewhere). */
int helper_register(const char *arg, const char *name);
int helper_unregister(const char *arg);
int helper_list_registered(void);
/* -v: the local CID (or why there is none) and, for vsock/hvsock
 * addresses, the Hyper-V service GUID a Windows host must register. */
void helper_verbose_vsock(const struct options *o);

/* ---- exec.c ---- */
/* Split -e PROG (no shell) into an argv; free one. */
char **exec_argv_split(const char *prog);
void exec_argv_free(char **argv);

/* ---- progress.c ---- */
struct progress;
/* NULL when the meter is off (not asked for, or stderr not a tty). */
struct progress *progress_new(struct event_base *base, enum progress_when w);
/* Count these relay statistics from now on (NULL: no relay). */
void progress_attach(struct progress *p, const hvs_relay_t *relay);
/* Freeze the final figures of a relay that has ended. */
void progress_final(struct progress *p, const hvs_relay_stats_t *st);
/* Erase the meter line before another message is written. */
void progress_hide(void);
/* Draw the final line (with a newline) and stop. NULL is fine. */
void progress_free(struct progress *p);

/* ---- pump.c ---- */
struct pump;
typedef void (*pump_done_fn)(struct pump *p, int err, void *userdata);
/*
 * Copy bytes from @from to @to (streams: see stream_read()) until EOF on
 * @from, then call @done with 0 (or an HVS_E* code on error). The pump
 * owns neither stream. Streams that cannot be polled (regular files,
 * /dev/null) work.
 */
int pump_new(struct pump **out, struct event_base *base, hvs_sock_t from,
    hvs_sock_t to, size_t bufsize, pump_done_fn done, void *userdata);
/* Stop reading; @done runs once what was read has been written. */
void pump_stop(struct pump *p);
/* Bytes written so far. */
uint64_t pump_bytes(const struct pump *p);
/* Free @p (its streams stay open). NULL is fine. */
void pump_free(struct pump *p);

/* ---- session.c ---- */
/* Run the connect or listen mode to the end; returns the exit status. */
int session_run(struct options *o);

/* ------------------------------------------------------------------ */
/* The operating system: posix/ and win/ (one set is built)            */

/* ---- os.c ---- */
/* Before anything else: SIGPIPE ignored (POSIX); Winsock started, stdio
 * binary (Windows). Exits with one line if that fails. */
void os_init(void);
/* Why the checked options cannot work on this system (a one-line usage
 * error), or NULL. */
const char *os_refuse(const struct options *o);
/* This system's words for a failed socket operation (in place of
 * hvs_strerror()), or NULL. */
const char *os_error_reason(const struct options *o, int err);
/* Why this machine has no CID, where the system explains it, or NULL. */
const char *os_no_cid_reason(int rc);
/* "Interrupt", "Terminated": for "-v" messages. */
const char *os_signal_name(int sig);
/* The exit of a process ended by @sig (POSIX: dies by it); returns the
 * status to exit with if it is still alive. */
int os_exit_by_signal(int sig);

/* ---- os.c: signals ---- */
/* SIGINT and SIGTERM (POSIX), Ctrl-C, Ctrl-Break and console close
 * (Windows, as SIGINT and SIGTERM): @fn runs on the loop. */
struct os_signals;
typedef void (*os_signal_fn)(int sig, void *userdata);
int os_signals_new(struct os_signals **out, struct event_base *base,
    os_signal_fn fn, void *userdata);
void os_signals_free(struct os_signals *s);

/* ---- stdio.c: streams ---- */
/*
 * The streams pumps copy: descriptors on POSIX (stdin, stdout, pipes),
 * sockets on Windows (stdio reaches them through hvs_fd_bridge()). Both
 * return 0 with the count, HVS_EOF (read, count 0), HVS_EAGAIN or an
 * error; EINTR is retried.
 */
int stream_read(hvs_sock_t s, void *buf, size_t len, size_t *got);
int stream_write(hvs_sock_t s, const void *buf, size_t len, size_t *put);
/* 1 if the loop can wait on @s (else it is always ready). */
int stream_pollable(hvs_sock_t s);
void stream_set_nonblock(hvs_sock_t s);
void stream_close(hvs_sock_t s);

/* ---- stdio.c: standard input and output ---- */
/* The stdio flags at start (POSIX: the relay may make a terminal
 * non-blocking), put back at exit. */
void stdio_save(void);
void stdio_restore(void);

/*
 * The wiring of one stdio session. The relay's side a is @a_in/@a_out
 * (equal: one socket); a stdin pump copies @in_src to @in_w, a stdout
 * pump @out_r to @out_dst. A stream not in use is HVS_INVALID_SOCK.
 */
struct stdio_ends {
	hvs_sock_t a_in, a_out; /* the relay's, once it runs */
	hvs_sock_t in_src, in_w; /* the stdin pump, if in_pump */
	hvs_sock_t out_r, out_dst; /* the stdout pump, if out_pump */
	int in_pump, out_pump; /* pumps to run (Windows may add one) */
	int own_in_src, own_out_dst; /* close these at the end */
};
/*
 * Set up the ends for the pumps asked for (@in_pump: stdin's EOF must be
 * seen, @out_pump: the peer's EOF must be seen), --recv-only and
 * --send-only from @o. 0 or an HVS_E* code, nothing left open.
 */
int stdio_open(const struct options *o, int in_pump, int out_pump,
    struct stdio_ends *e);
/* The relay between side a and @b; on success it owns a_in, a_out and
 * @b (set to HVS_INVALID_SOCK in @e). */
int stdio_relay(hvs_relay_t **out, struct event_base *base,
    struct stdio_ends *e, hvs_sock_t b, const hvs_relay_opts_t *ro,
    hvs_relay_done_fn done, void *userdata);
/* The end of what the relay reads as stdin (closes in_w). */
void stdio_end_in(struct stdio_ends *e);
/* Close all that is left; 0, or an error of writing stdout that only
 * shows now (Windows: its writer thread failed). */
int stdio_close(struct stdio_ends *e);
/* What to say of error @err reading (@write 0) or writing stdio. */
const char *stdio_strerror(int err, int write);

/* ---- exec.c ---- */
/* -c CMD: the argv that runs CMD with the system's shell. */
char **exec_argv_shell(const char *cmd);
/* 0 if argv[0] names a program (searching PATH), else -1 with a hint
 * for the message in *@hint. */
int exec_check(char *const *argv, const char **hint);
/* The -e/-c children: @fn runs on the loop when one is over, with @why
 * NULL for success or "exited with status 3". */
struct exec;
typedef void (*exec_exit_fn)(long pid, const char *why, void *userdata);
int exec_new(struct exec **out, struct event_base *base, exec_exit_fn fn,
    void *userdata);
/*
 * Start the program with the connection @sock as its stdin and stdout
 * (HVCAT_PEER, HVCAT_LOCAL in its environment). Takes @sock in every
 * case. Returns the child's pid or a negative HVS_E* code.
 */
long exec_spawn(struct exec *x, const struct options *o, hvs_sock_t sock,
    const char *peer, const char *local);
/* Pass @sig on to the child @pid (Windows: end it). */
void exec_kill(struct exec *x, long pid, int sig);
void exec_free(struct exec *x);

#endif /* HVCAT_H */
