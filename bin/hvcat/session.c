/* SPDX-License-Identifier: MIT */
/*
 * The running tool: connect or listen, then either relay standard input
 * and output to the connection or hand the connection to a program (-e,
 * -c); signals; the exit status. Everything runs on one libevent loop.
 *
 * When a stdio session ends (nc's rules, with the relay doing the work):
 *
 *   default        stdin EOF -> every byte read is sent, then SHUT_WR;
 *                  reading goes on until the peer closes its side too.
 *   -N             as the default, and the peer's EOF ends the session
 *                  even while stdin is open (ncat's way).
 *   -q SECS        as the default, and SECS after stdin EOF (once all of
 *                  it is sent) hvcat stops reading, writes out what it
 *                  already has, and quits.
 *   --no-shutdown  stdin EOF sends nothing; hvcat quits when the peer
 *                  closes.
 *   --recv-only    stdin is never read; hvcat quits when the peer closes.
 *   --send-only    what the peer sends is discarded; otherwise default.
 *   -w SECS        also an idle timeout: no byte either way for SECS.
 *
 * Data integrity first: whatever hvcat has read from one side is written
 * to the other before it exits, on every path but a second signal (or a
 * peer that stops reading for two seconds after the first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/peer.h"
#include "common/sockfile.h"
#include "hvcat.h"

/* Connections accepted in one batch while a stdio session is busy. */
#define QUEUE_MAX 8
/* After a first SIGINT/SIGTERM: how long to finish writing. */
#define SIGNAL_DRAIN_MS 2000

struct waiting {
	hvs_sock_t sock;
	char peer[HVS_ADDR_STRLEN + 16];
};

struct app {
	struct options *o;
	struct event_base *base;
	struct os_signals *sig;
	struct exec *exec;
	struct event *ev_quit; /* -q: SECS after stdin EOF */
	struct event *ev_drain; /* bound on draining after a signal */
	hvs_listener_t *listener;
	hvs_connect_req_t *creq;
	struct progress *progress;

	/* The stdio session. */
	int busy;
	hvs_relay_t *relay;
	hvs_relay_stats_t stats;
	struct pump *in, *out;
	struct stdio_ends ends; /* stdio, the pumps and the relay's side */
	int ends_open;
	int in_done; /* the stdin pump has finished */
	int out_done;
	int quitting; /* -q expired: the end is ours */
	int quit_armed; /* -q clock running (else: waiting for the send) */
	uint64_t in_total; /* bytes stdin gave, to know when all are sent */
	char peer[HVS_ADDR_STRLEN + 16];
	struct waiting queue[QUEUE_MAX];
	int nqueue;

	/* -e / -c children. */
	long *pids;
	int nchildren, maxchildren;
	int paused; /* listener paused at the -m limit */

	int status;
	int signo; /* the signal that ends us */
};

/* A unix socket file this process created (removed at exit). */
static struct hvc_sockfile created;

static void
remove_socket_file(void)
{
	char why[256];

	/* At exit: a failure is not worth a message (the next listen
	 * removes a stale file). */
	(void)hvc_sockfile_remove(&created, why, sizeof(why));
}

static void
at_exit(void)
{
	stdio_restore();
	remove_socket_file();
}

static void
stop_loop(struct app *a)
{
	event_base_loopexit(a->base, NULL);
}

/* "PEER" for messages and HVCAT_PEER: the formatted address, escaped
 * (hvc_peer_text(): a unix client names its own socket), or what it is. */
static void
addr_text(const hvs_addr_t *addr, char *buf, size_t size)
{
	if (addr == NULL || addr->kind == HVS_ADDR_NONE) {
		snprintf(buf, size, "(unknown)");
		return;
	}
	if (hvc_peer_text(addr, buf, size) != 0) {
		snprintf(buf, size, "%s:(unnamed)",
		    hvs_addr_kind_name(addr->kind));
	}
}

/* Errors that mean the address cannot work here: a usage error. */
static int
usage_error(int err)
{
	switch (err) {
	case HVS_ESERVICE_NOT_TEMPLATE:
	case HVS_EVMID_UNSUPPORTED:
	case HVS_EADDR_KIND:
	case HVS_EADDR_EMPTY:
	case HVS_EADDR_TOOLONG:
	case HVS_EADDR_NUL:
	case HVS_EADDR_SCHEME:
	case HVS_EADDR_PORT:
	case HVS_EADDR_PORT_RANGE:
	case HVS_EADDR_CID:
	case HVS_EADDR_HOST:
	case HVS_EADDR_GUID:
	case HVS_EADDR_VMID:
	case HVS_EADDR_SERVICE:
	case HVS_EADDR_PATH:
	case HVS_EADDR_PATH_TOOLONG:
	case HVS_EADDR_FD:
	case HVS_EADDR_TRAILING:
	case HVS_EADDR_MISSING:
	case HVS_EMUX_LISTEN:
		return 1;
	default:
		return 0;
	}
}

static void
fail_socket(struct app *a, const char *what, int err)
{
	char line[1024];

	target_describe_error(a->o, what, err, line, sizeof(line));
	msg_warn("%s", line);
	a->status = usage_error(err) ? EXIT_USAGE : EXIT_FAIL;
}

static void
sockopts(const struct options *o, hvs_sockopts_t *so)
{
	hvs_sockopts_init(so);
	so->flags = o->family_flags;
	if (o->bufsize > 0) {
		so->sndbuf = (int)o->bufsize;
		so->rcvbuf = (int)o->bufsize;
	}
	so->timeout_ms = o->connect_ms;
}

static void
fmt_secs(char *buf, size_t size, uint64_t ms)
{
	snprintf(buf, size, "%llu.%03u s", (unsigned long long)(ms / 1000),
	    (unsigned)(ms % 1000));
}

/* ------------------------------------------------------------------ */
/* The stdio session                                                   */

static void session_start(struct app *a, hvs_sock_t sock, const char *peer);
static void after_session(struct app *a);

static void
session_report(struct app *a)
{
	const hvs_relay_stats_t *st = &a->stats;
	const struct options *o = a->o;
	char t[32];

	fmt_secs(t, sizeof(t), st->duration_ms);
	switch (st->reason) {
	case HVS_RELAY_DONE:
		break;
	case HVS_RELAY_CLOSED:
		if (!a->quitting && a->signo == 0) {
			msg_warn("%s: connection closed", a->peer);
			a->status = EXIT_FAIL;
		}
		break;
	case HVS_RELAY_IDLE_TIMEOUT: {
		char w[32];
		fmt_secs(w, sizeof(w), (uint64_t)o->idle_ms);
		msg_warn("%s: timed out: no data either way for %s", a->peer,
		    w);
		a->status = EXIT_FAIL;
		break;
	}
	case HVS_RELAY_ERROR:
	case HVS_RELAY_RESET:
		if (a->quitting && st->err_side == 1) {
			/* We closed first; what the peer thinks of it is
			 * not a failure of ours. */
			break;
		}
		if (st->err_side == 0) {
			msg_warn("standard %s: %s",
			    st->err_write ? "output" : "input",
			    stdio_strerror(st->err, st->err_write));
		} else {
			msg_warn("%s: %s", a->peer, hvs_strerror(st->err));
		}
		a->status = EXIT_FAIL;
		break;
	}
	msg_verbose(o, 1,
	    "%s: closed: sent %llu bytes, received %llu bytes "
	    "in %s%s",
	    a->peer, (unsigned long long)st->bytes_a_to_b,
	    (unsigned long long)st->bytes_b_to_a, t,
	    st->spliced ? " (zero-copy)" : "");
}

/* The session is over once the relay has ended and stdout has every
 * byte. */
static void
session_maybe_end(struct app *a)
{
	if (!a->busy || a->relay != NULL || (a->out != NULL && !a->out_done)) {
		return;
	}
	pump_free(a->in);
	a->in = NULL;
	pump_free(a->out);
	a->out = NULL;
	if (a->ends_open) {
		int rc = stdio_close(&a->ends);
		a->ends_open = 0;
		if (rc < 0 && !a->quitting) {
			msg_warn("standard output: %s", stdio_strerror(rc, 1));
			a->status = EXIT_FAIL;
		}
	}
	if (a->ev_quit != NULL) {
		event_del(a->ev_quit);
	}
	if (a->ev_drain != NULL) {
		event_del(a->ev_drain);
	}
	a->busy = 0;
	session_report(a);
	after_session(a);
}

static void
on_relay_done(hvs_relay_t *r, const hvs_relay_stats_t *st, void *arg)
{
	struct app *a = arg;

	(void)r;
	a->stats = *st;
	a->relay = NULL;
	progress_final(a->progress, st);
	/* Nothing more can be sent: stop reading stdin. */
	pump_free(a->in);
	a->in = NULL;
	session_maybe_end(a);
}

/* The stdin pipe's write end: closing it is the relay's stdin EOF. */
static void
close_in(struct app *a)
{
	if (a->ends_open) {
		stdio_end_in(&a->ends);
	}
}

/* Check every few ms whether the relay has sent all of stdin. */
#define SENT_POLL_MS 10

static void
on_stdin_done(struct pump *p, int err, void *arg)
{
	struct app *a = arg;
	struct timeval tv = {0, 0};

	a->in_total = pump_bytes(p);
	a->in_done = 1;
	if (err < 0 && err != HVS_EPIPE) {
		msg_warn("standard input: %s", stdio_strerror(err, 0));
		a->status = EXIT_FAIL;
		/* Not an end of file: the peer must not take what it got
		 * for all of it. The drain writes out what came from the
		 * peer and resets the stream to it, its source unended. */
		if (a->relay != NULL) {
			a->quitting = 1;
			hvs_relay_drain(a->relay);
			return;
		}
	}
	msg_verbose(a->o, 2, "standard input: end of file");
	/* --no-shutdown keeps the write side open: the peer sees no EOF
	 * until hvcat quits (after the peer closed, or at -q). */
	if (!a->o->no_shutdown || a->out_done) {
		close_in(a);
	}
	if (a->o->quit_ms >= 0 && a->relay != NULL && a->signo == 0) {
		/* The clock starts once the relay has sent every byte of
		 * stdin: quitting earlier would lose what is still in the
		 * pipe between the pump and the relay. */
		a->quit_armed = 0;
		event_add(a->ev_quit, &tv);
	}
}

static void
on_stdout_done(struct pump *p, int err, void *arg)
{
	struct app *a = arg;

	(void)p;
	a->out_done = 1;
	if (err < 0) {
		msg_warn("standard output: %s", stdio_strerror(err, 1));
		a->status = EXIT_FAIL;
		a->quitting = 1; /* said once is enough */
		if (a->relay != NULL) {
			hvs_relay_destroy(a->relay);
			return;
		}
	}
	/* The peer has closed and stdout has it all: with -N and
	 * --no-shutdown that is the end. What was read from stdin still
	 * goes out. (--recv-only's relay has ended by itself by now; without
	 * those, a stdout pump is there on Windows only, and stdin goes
	 * on.) */
	if (a->relay != NULL && a->o->peer_eof_quits) {
		if (a->in != NULL && !a->in_done) {
			pump_stop(a->in); /* flush, then EOF to the relay */
		} else if (a->ends.in_w != HVS_INVALID_SOCK) {
			close_in(a); /* --no-shutdown, stdin ended */
		} else {
			a->quitting = 1;
			hvs_relay_drain(a->relay);
		}
	}
	session_maybe_end(a);
}

static void
on_quit_timer(evutil_socket_t fd, short what, void *arg)
{
	struct app *a = arg;

	(void)fd;
	(void)what;
	if (a->relay == NULL) {
		return;
	}
	if (!a->quit_armed) {
		hvs_relay_stats_t st;
		struct timeval tv = {0, SENT_POLL_MS * 1000};

		hvs_relay_stats(a->relay, &st);
		if (st.bytes_a_to_b < a->in_total) {
			event_add(a->ev_quit, &tv);
			return;
		}
		a->quit_armed = 1;
		if (a->o->quit_ms > 0) {
			tv.tv_sec = a->o->quit_ms / 1000;
			tv.tv_usec = (a->o->quit_ms % 1000) * 1000;
			event_add(a->ev_quit, &tv);
			return;
		}
	}
	msg_verbose(a->o, 2, "-q: quitting");
	a->quitting = 1;
	hvs_relay_drain(a->relay);
}

/* A closed stdin reads as empty and a closed stdout writes to nowhere,
 * and says so once, with -v, as nothing else shows it. */
static void
note_closed_stdio(const struct options *o)
{
	static int noted;
	int closed = hvc_stdio_closed();

	if (noted) {
		return;
	}
	noted = 1;
	if ((closed & 1) != 0 && !o->recv_only) {
		msg_verbose(o, 1, "standard input is closed: read as empty");
	}
	if ((closed & 2) != 0 && !o->send_only) {
		msg_verbose(o, 1,
		    "standard output is closed: what the peer sends is "
		    "discarded");
	}
}

static void
session_start(struct app *a, hvs_sock_t sock, const char *peer)
{
	const struct options *o = a->o;
	hvs_relay_opts_t ro;
	/* stdin through a pump when its EOF matters to us (-q) or must not
	 * reach the relay at once (--no-shutdown); --recv-only gives the
	 * relay a stream that never delivers a byte. */
	int want_in_pump = !o->recv_only && (o->quit_ms >= 0 || o->no_shutdown);
	/* The relay's output through a pump when the peer's EOF ends the
	 * session (-N, --no-shutdown). --recv-only needs none: the relay
	 * ends by itself at the peer's EOF (HVS_RELAY_B_EOF_ENDS) and
	 * writes stdout directly, without a pipe and a second copy. */
	int want_out_pump = o->peer_eof_quits && !o->recv_only;
	int rc;

	snprintf(a->peer, sizeof(a->peer), "%s", peer);
	a->busy = 1;
	a->quitting = 0;
	a->quit_armed = 0;
	a->in_total = 0;
	a->in_done = 0;
	a->out_done = 0;
	memset(&a->stats, 0, sizeof(a->stats));
	note_closed_stdio(o);

	rc = stdio_open(o, want_in_pump, want_out_pump, &a->ends);
	if (rc < 0) {
		goto fail;
	}
	a->ends_open = 1;
	if (a->ends.in_pump) {
		rc = pump_new(&a->in, a->base, a->ends.in_src, a->ends.in_w,
		    o->bufsize, on_stdin_done, a);
		if (rc < 0) {
			goto fail;
		}
	}
	if (a->ends.out_pump) {
		rc = pump_new(&a->out, a->base, a->ends.out_r, a->ends.out_dst,
		    o->bufsize, on_stdout_done, a);
		if (rc < 0) {
			goto fail;
		}
	}

	hvs_relay_opts_init(&ro);
	if (o->recv_only) {
		ro.flags |= HVS_RELAY_B_EOF_ENDS;
	}
	ro.high_watermark = o->bufsize;
	ro.idle_timeout_ms = o->idle_ms;
	rc = stdio_relay(&a->relay, a->base, &a->ends, sock, &ro, on_relay_done,
	    a);
	if (rc < 0) {
		goto fail;
	}
	progress_attach(a->progress, a->relay);
	return;

fail:
	msg_warn("%s: cannot relay: %s", peer, hvs_strerror(rc));
	a->status = EXIT_FAIL;
	pump_free(a->in);
	a->in = NULL;
	pump_free(a->out);
	a->out = NULL;
	hvs_close(sock);
	a->relay = NULL;
	a->out_done = 1;
	session_maybe_end(a);
}

/* ------------------------------------------------------------------ */
/* -e / -c children                                                    */

static void
child_started(struct app *a, hvs_sock_t sock, const char *peer)
{
	hvs_addr_t local;
	char lbuf[HVS_ADDR_STRLEN + 16] = "";
	long pid;

	if (hvs_sock_local_addr(sock, &local) == 0) {
		addr_text(&local, lbuf, sizeof(lbuf));
	}
	pid = exec_spawn(a->exec, a->o, sock, peer,
	    lbuf[0] != '\0' ? lbuf : NULL);
	if (pid < 0) {
		msg_warn("%s: cannot start '%s': %s", peer, a->o->exec_desc,
		    hvs_strerror((int)pid));
		a->status = EXIT_FAIL;
		if (!a->o->keep) {
			stop_loop(a);
		}
		return;
	}
	msg_verbose(a->o, 2, "%s: started '%s' as process %ld", peer,
	    a->o->exec_desc, pid);
	if (a->nchildren == a->maxchildren) {
		int n = a->maxchildren ? 2 * a->maxchildren : 8;
		long *grown = realloc(a->pids, (size_t)n * sizeof(*grown));
		if (grown == NULL) {
			/* It runs anyway; we only lose track of it. */
			return;
		}
		a->pids = grown;
		a->maxchildren = n;
	}
	a->pids[a->nchildren++] = pid;
	if (a->o->keep && a->listener != NULL &&
	    a->nchildren >= a->o->max_conns) {
		msg_verbose(a->o, 1,
		    "%d connections: not accepting more "
		    "until one ends (-m)",
		    a->nchildren);
		hvs_listener_enable(a->listener, 0);
		a->paused = 1;
	}
}

/* A child is over: @why says how, NULL for an exit status of 0. */
static void
on_child_exit(long pid, const char *why, void *arg)
{
	struct app *a = arg;
	int i, known = 0;

	for (i = 0; i < a->nchildren; i++) {
		if (a->pids[i] == pid) {
			a->pids[i] = a->pids[--a->nchildren];
			known = 1;
			break;
		}
	}
	if (!known) {
		return;
	}
	if (why == NULL) {
		msg_verbose(a->o, 2, "process %ld exited", pid);
	} else {
		if (!a->o->keep || a->o->verbose > 0) {
			msg_warn("'%s' %s", a->o->exec_desc, why);
		}
		if (!a->o->keep) {
			a->status = EXIT_FAIL;
		}
	}
	if (a->paused && a->listener != NULL && a->signo == 0 &&
	    a->nchildren < a->o->max_conns) {
		hvs_listener_enable(a->listener, 1);
		a->paused = 0;
	}
	if (a->nchildren == 0 && (!a->o->keep || a->signo != 0)) {
		stop_loop(a);
	}
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static void
serve(struct app *a, hvs_sock_t sock, const char *peer)
{
	if (a->o->exec_argv != NULL) {
		child_started(a, sock, peer);
	} else {
		session_start(a, sock, peer);
	}
}

/* A stdio session has ended: the next queued client, listen on, or
 * quit. */
static void
after_session(struct app *a)
{
	if (a->signo != 0 || !a->o->keep) {
		if (a->nchildren == 0) {
			stop_loop(a);
		}
		return;
	}
	if (a->nqueue > 0) {
		struct waiting w = a->queue[0];
		memmove(&a->queue[0], &a->queue[1],
		    (size_t)(--a->nqueue) * sizeof(a->queue[0]));
		serve(a, w.sock, w.peer);
		return;
	}
	if (a->listener != NULL) {
		hvs_listener_enable(a->listener, 1);
	}
}

/*
 * --allow, checked here rather than in a listener filter: a unix peer is
 * known by the credentials of the accepted socket. 1 if @peer may stay.
 */
static int
allowed(struct app *a, hvs_sock_t sock, const hvs_addr_t *peer, const char *p)
{
	struct hvc_peer pi;

	if (!a->o->allow.given) {
		return 1;
	}
	/* Who it is, from the socket: a tcp peer's address and scope, a
	 * unix peer's user. A tcp peer that cannot be read has gone. */
	if (hvc_peer_read(&pi, peer, sock) != 0) {
		msg_verbose(a->o, 2,
		    "%s: gone before its address could be "
		    "read: closed",
		    p);
		return 0;
	}
	if (hvc_allow_match(&a->o->allow, &pi)) {
		return 1;
	}
	if (peer != NULL && peer->kind == HVS_ADDR_UNIX) {
		char who[32];

		if (pi.cred.have) {
			snprintf(who, sizeof(who), "uid %lu",
			    (unsigned long)pi.cred.uid);
		} else {
			snprintf(who, sizeof(who), "unknown user");
		}
		msg_verbose(a->o, 1,
		    "refused connection from %s, %s (not allowed by --allow)",
		    p, who);
	} else {
		msg_verbose(a->o, 1,
		    "refused connection from %s (not allowed by --allow)", p);
	}
	return 0;
}

static void
on_accept(hvs_listener_t *l, hvs_sock_t sock, const hvs_addr_t *peer, void *arg)
{
	struct app *a = arg;
	char p[HVS_ADDR_STRLEN + 16];

	addr_text(peer, p, sizeof(p));
	if (a->signo != 0 || !allowed(a, sock, peer, p)) {
		hvs_close(sock);
		return;
	}
	msg_verbose(a->o, 1, "connection from %s", p);
	if (!a->o->keep) {
		/* One client, like nc: stop listening at once. */
		hvs_listener_destroy(l);
		a->listener = NULL;
		remove_socket_file();
	}
	if (a->o->exec_argv == NULL && a->busy) {
		if (a->nqueue == QUEUE_MAX || !a->o->keep) {
			msg_verbose(a->o, 1, "%s: busy: closed", p);
			hvs_close(sock);
			return;
		}
		a->queue[a->nqueue].sock = sock;
		snprintf(a->queue[a->nqueue].peer, sizeof(a->queue[0].peer),
		    "%s", p);
		a->nqueue++;
		return;
	}
	if (a->o->exec_argv == NULL && a->listener != NULL) {
		/* stdio serves one client at a time. */
		hvs_listener_enable(a->listener, 0);
	}
	serve(a, sock, p);
}

static void
on_accept_error(hvs_listener_t *l, int err, void *arg)
{
	struct app *a = arg;

	(void)l;
	msg_warn("accept on %s: %s (pausing)", a->o->addr_str,
	    hvs_strerror(err));
}

static int
start_listen(struct app *a)
{
	struct options *o = a->o;
	hvs_listener_opts_t lo;
	hvs_sockopts_t so;
	hvs_addr_t local;
	char l[HVS_ADDR_STRLEN + 16];
	int rc;

	hvs_listener_opts_init(&lo);
	lo.on_error = on_accept_error;
	sockopts(o, &so);
	/* A stale socket file is replaced; a live one (whoever listens on
	 * it) or a file that is not a socket is left alone (the library
	 * decides, for hvproxy too). */
	so.flags |= HVS_SOCK_UNLINK;
	rc = hvs_listener_new(&a->listener, a->base, &o->addr, &so, &lo,
	    on_accept, a);
	if (rc < 0) {
		fail_socket(a, "listen on", rc);
		return -1;
	}
	hvc_sockfile_note(&created, &o->addr);
	if (hvs_sock_local_addr(hvs_listener_sock(a->listener), &local) == 0) {
		addr_text(&local, l, sizeof(l));
	} else {
		snprintf(l, sizeof(l), "%s", o->addr_str);
	}
	msg_verbose(o, 1, "listening on %s", l);
	helper_verbose_vsock(o);
	return 0;
}

static void
on_connected(int err, hvs_sock_t sock, void *arg)
{
	struct app *a = arg;
	const struct options *o = a->o;
	hvs_addr_t local;
	char l[HVS_ADDR_STRLEN + 16] = "?";

	a->creq = NULL;
	if (err < 0) {
		fail_socket(a, "connect to", err);
		stop_loop(a);
		return;
	}
	if (hvs_sock_local_addr(sock, &local) == 0) {
		addr_text(&local, l, sizeof(l));
	}
	if (o->probe) {
		msg_verbose(o, 1, "connection to %s succeeded", o->addr_str);
		hvs_close(sock);
		a->status = EXIT_OK;
		stop_loop(a);
		return;
	}
	if (o->addr.kind == HVS_ADDR_VSOCK_MUX) {
		/* From an unnamed unix socket, always: the VMM said OK. */
		msg_verbose(o, 1, "connected to %s (the VMM accepted CONNECT)",
		    o->addr_str);
	} else {
		msg_verbose(o, 1, "connected to %s from %s", o->addr_str, l);
	}
	serve(a, sock, o->addr_str);
}

static int
start_connect(struct app *a)
{
	const struct options *o = a->o;
	hvs_sockopts_t so;
	int rc;

	helper_verbose_vsock(o);
	sockopts(o, &so);
	rc = hvs_connect_async(&a->creq, a->base, &o->addr, &so, on_connected,
	    a);
	if (rc < 0) {
		a->creq = NULL;
		fail_socket(a, "connect to", rc);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct app *a = arg;

	(void)fd;
	(void)what;
	if (a->relay != NULL) {
		hvs_relay_destroy(a->relay);
	}
	stop_loop(a);
}

static void
on_signal(int sig, void *arg)
{
	struct app *a = arg;
	struct timeval tv = {SIGNAL_DRAIN_MS / 1000,
	    (SIGNAL_DRAIN_MS % 1000) * 1000};

	if (a->signo != 0) {
		/* Second signal: stop now. */
		if (a->relay != NULL) {
			hvs_relay_destroy(a->relay);
		}
		event_base_loopbreak(a->base);
		return;
	}
	a->signo = sig;
	msg_verbose(a->o, 1, "%s: finishing", os_signal_name(sig));
	if (a->creq != NULL) {
		hvs_connect_cancel(a->creq);
		a->creq = NULL;
	}
	if (a->listener != NULL) {
		hvs_listener_destroy(a->listener);
		a->listener = NULL;
		remove_socket_file();
	}
	while (a->nqueue > 0) {
		hvs_close(a->queue[--a->nqueue].sock);
	}
	for (int i = 0; i < a->nchildren; i++) {
		exec_kill(a->exec, a->pids[i], sig);
	}
	if (a->relay != NULL) {
		/* Write out what was read, within a bound. */
		pump_stop(a->in);
		hvs_relay_drain(a->relay);
	}
	if (a->busy || a->nchildren > 0) {
		event_add(a->ev_drain, &tv);
	} else {
		stop_loop(a);
	}
}

/* ------------------------------------------------------------------ */

static void
app_free(struct app *a)
{
	if (a->relay != NULL) {
		hvs_relay_destroy(a->relay);
	}
	pump_free(a->in);
	pump_free(a->out);
	if (a->ends_open) {
		(void)stdio_close(&a->ends);
	}
	while (a->nqueue > 0) {
		hvs_close(a->queue[--a->nqueue].sock);
	}
	if (a->creq != NULL) {
		hvs_connect_cancel(a->creq);
	}
	hvs_listener_destroy(a->listener);
	progress_free(a->progress);
	os_signals_free(a->sig);
	exec_free(a->exec);
	struct event *evs[] = {a->ev_quit, a->ev_drain};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (evs[i] != NULL) {
			event_free(evs[i]);
		}
	}
	free(a->pids);
	if (a->base != NULL) {
		event_base_free(a->base);
	}
}

static void
libevent_log(int severity, const char *msg)
{
	(void)severity;
	msg_warn("libevent: %s", msg);
}

int
session_run(struct options *o)
{
	struct app a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.o = o;
	a.status = EXIT_OK;

	stdio_save();
	atexit(at_exit);
	if (o->verbose >= 2) {
		event_set_log_callback(libevent_log);
	}

	a.base = event_base_new();
	if (a.base == NULL) {
		msg_die(EXIT_FAIL, "cannot create the event loop");
	}
	a.ev_quit = evtimer_new(a.base, on_quit_timer, &a);
	a.ev_drain = evtimer_new(a.base, on_drain_timeout, &a);
	if (a.ev_quit == NULL || a.ev_drain == NULL ||
	    os_signals_new(&a.sig, a.base, on_signal, &a) < 0 ||
	    (o->exec_argv != NULL &&
		exec_new(&a.exec, a.base, on_child_exit, &a) < 0)) {
		msg_die(EXIT_FAIL, "cannot set up signal handling");
	}
	if (!o->probe && o->exec_argv == NULL) {
		a.progress = progress_new(a.base, o->progress);
	}

	rc = o->listen ? start_listen(&a) : start_connect(&a);
	if (rc == 0) {
		event_base_dispatch(a.base);
	}
	app_free(&a);
	remove_socket_file();
	stdio_restore();
	fflush(stdout);
	if (a.signo != 0) {
		return os_exit_by_signal(a.signo);
	}
	return a.status;
}
