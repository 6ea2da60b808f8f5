/* SPDX-License-Identifier: MIT */
/*
 * hvcat - netcat for host<->guest sockets. Private interface between the
 * files of the tool:
 *
 *   main.c      options, usage, conflict checks, dispatch
 *   target.c    the address on the command line -> hvs_addr_t, and the
 *               one-line messages for bad addresses and failed sockets
 *   helpers.c   --service-id, --local-cid, --register-cmd, vsock facts
 *               for -v
 *   session.c   the event loop: connect or listen, relay stdio <-> socket,
 *               signals, exit status
 *   pump.c      byte pumps around the relay for the quit policies that
 *               need to see an EOF (-q, --no-shutdown, --recv-only)
 *   exec.c      -e / -c: a program with the connection as stdin/stdout
 *   progress.c  the --progress meter on stderr
 *   msg.c       messages to stderr (they step around the meter)
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
	const char *exec_desc; /* ... as given, for messages */
	enum progress_when progress;
	struct hvc_allow allow; /* --allow; not given = everyone */
	hvs_addr_t addr; /* the socket address */
	char addr_str[HVS_ADDR_STRLEN]; /* ... formatted, for messages */
};

/* ---- msg.c ---- */
/* Messages start with hvc_progname ("hvcat"), set from @argv0. */
void msg_init(const char *argv0);
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_verbose(const struct options *o, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void msg_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Usage error: the message on one line, then exit 2. */
_Noreturn void msg_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
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
/* -v: the local CID (or why there is none) and, for vsock/hvsock
 * addresses, the Hyper-V service GUID a Windows host must register. */
void helper_verbose_vsock(const struct options *o);

/* ---- exec.c ---- */
/* Split -e PROG (no shell) / wrap -c CMD (/bin/sh -c) into an argv. */
char **exec_argv_split(const char *prog);
char **exec_argv_shell(const char *cmd);
void exec_argv_free(char **argv);
/* 0 if argv[0] names an executable (searching PATH), else -1. */
int exec_check(char *const *argv);
/*
 * Start the program with @sock as its stdin and stdout. Takes nothing:
 * the caller still owns (and closes) @sock. Returns the child's pid or a
 * negative HVS_E* code.
 */
long exec_spawn(const struct options *o, hvs_sock_t sock, const char *peer,
    const char *local);

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
 * Copy bytes from @from to @to until EOF on @from, then call @done with
 * 0 (or an HVS_E* code on error). The pump owns neither descriptor.
 * Descriptors that cannot be polled (regular files, /dev/null) work.
 */
int pump_new(struct pump **out, struct event_base *base, int from, int to,
    size_t bufsize, pump_done_fn done, void *userdata);
/* Stop reading; @done runs once what was read has been written. */
void pump_stop(struct pump *p);
/* Bytes written so far. */
uint64_t pump_bytes(const struct pump *p);
/* Free @p (its descriptors stay open). NULL is fine. */
void pump_free(struct pump *p);

/* ---- session.c ---- */
/* Run the connect or listen mode to the end; returns the exit status. */
int session_run(struct options *o);

#endif /* HVCAT_H */
