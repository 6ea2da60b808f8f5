/* SPDX-License-Identifier: MIT */
/*
 * The relay towards a side whose shutdown(SHUT_WR) sends no FIN (FreeBSD's
 * AF_HYPERV): its peer learns of the other side's EOF only by the close,
 * so after that EOF the relay keeps the other direction flowing and
 * closes both when the peer ends it, or when it has stayed idle for
 * eof_close_ms.
 *
 * There is no such socket here: the tests name the side with
 * HVS_RELAY_A_NO_FIN / HVS_RELAY_B_NO_FIN on socket pairs and loopback
 * TCP, and the choice the relay makes by itself on FreeBSD is checked as
 * the pure function it is (hvs__relay_eof_by_close()).
 *
 * Names: side a's peer is "x" (the client, which half-closes after its
 * request), side b's peer is "h" (behind the side that takes no FIN).
 * The test's peers are polled between turns of the loop, which a short
 * tick keeps turning. No test asserts a time: waits only bound liveness,
 * or give a bug the chance to show; outcomes and their order are
 * asserted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "loop/debug.h"
#include "testio.h"
#include "testutil.h"

/* Liveness bound of one scenario; never a performance threshold. */
#define LIVENESS_S 60
/* How often the loop turns to let the test's peers move. */
#define TICK_MS 2
/* A bound the tests never reach: the wait must end otherwise. */
#define NEVER_MS 600000

#define KiB 1024u
#define MiB (1024u * 1024u)

enum transport { T_UNIX, T_TCP };

static hvs_sock_t tcp_lsock = HVS_INVALID_SOCK;

/* A connected pair: [0] for the test's peer, [1] for the relay. */
static void
make_pair(enum transport t, hvs_sock_t fds[2])
{
	if (t == T_UNIX) {
		testos_socketpair(fds);
	} else {
		testos_tcp_pair(&tcp_lsock, fds);
	}
}

/* The byte at @off of stream @seed: a shift or a loss shows. */
static unsigned char
pat(unsigned seed, size_t off)
{
	uint32_t x = (uint32_t)off * 2654435761u + seed * 40503u;

	return (unsigned char)(x >> 24 ^ x >> 11 ^ (uint32_t)(off >> 16));
}

/* ---- the test's peers ------------------------------------------------ */

/* One peer: what it has to send, and what it received. */
struct peer {
	hvs_sock_t s; /* HVS_INVALID_SOCK: closed */
	int is_pipe; /* s is a pipe's write end (side a of new_fds) */
	hvs_sock_t in; /* where it reads: s, or a pipe's read end */
	unsigned send_seed;
	size_t send_len; /* bytes it may send so far */
	size_t sent;
	int shut; /* half-close once everything is sent */
	int shut_done;
	int reading; /* 0: leave the bytes in the kernel for now */
	unsigned recv_seed;
	size_t got;
	size_t bad; /* 1 + offset of the first wrong byte */
	int eof;
	int err; /* errno of a failed read or send */
	size_t got_at_eof;
	int eof_relay_running; /* the EOF came while the relay still ran */
};

struct scen {
	struct event_base *base;
	struct event *tick;
	hvs_relay_t *relay;
	hvs_relay_stats_t st;
	int done;
	struct peer x;
	struct peer h;
};

static void
peer_poll(struct scen *sc, struct peer *p)
{
	static unsigned char buf[64 * 1024];
	long n;
	int err = 0;

	while (p->reading && !p->eof && !p->err && p->in != HVS_INVALID_SOCK) {
		n = testos_read(p->in, buf, sizeof(buf), &err);
		if (n > 0) {
			for (long i = 0; i < n && p->bad == 0; i++) {
				if (buf[i] !=
				    pat(p->recv_seed, p->got + (size_t)i)) {
					p->bad = p->got + (size_t)i + 1;
				}
			}
			p->got += (size_t)n;
		} else if (n == 0) {
			p->eof = 1;
			p->got_at_eof = p->got;
			p->eof_relay_running = !sc->done;
		} else {
			if (err != EAGAIN && err != EWOULDBLOCK) {
				p->err = err;
			}
			break;
		}
	}
	while (p->sent < p->send_len && !p->err && p->s != HVS_INVALID_SOCK) {
		size_t len = p->send_len - p->sent;

		if (len > sizeof(buf)) {
			len = sizeof(buf);
		}
		for (size_t i = 0; i < len; i++) {
			buf[i] = pat(p->send_seed, p->sent + i);
		}
		if (p->is_pipe) {
			n = (long)t_write((int)p->s, buf, len);
			err = errno;
		} else {
			n = testos_send(p->s, buf, len, &err);
		}
		if (n < 0) {
			if (err != EAGAIN && err != EWOULDBLOCK) {
				p->err = err;
			}
			break;
		}
		p->sent += (size_t)n;
	}
	if (p->shut && !p->shut_done && p->sent == p->send_len) {
		p->shut_done = 1;
		if (p->is_pipe) {
			t_close((int)p->s);
			p->s = HVS_INVALID_SOCK;
		} else {
			assert_int_equal(hvs_shutdown(p->s, HVS_SHUT_WR), 0);
		}
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void
on_done(hvs_relay_t *r, const hvs_relay_stats_t *st, void *arg)
{
	struct scen *sc = arg;

	assert_ptr_equal(r, sc->relay);
	sc->st = *st;
	sc->done++;
	sc->relay = NULL;
}

static void
peer_init(struct peer *p, hvs_sock_t s, unsigned send_seed, unsigned recv_seed)
{
	memset(p, 0, sizeof(*p));
	p->s = s;
	p->in = s;
	p->send_seed = send_seed;
	p->recv_seed = recv_seed;
	p->reading = 1;
	testos_set_nonblock(s);
}

/* A relay between two fresh pairs of transport @t. */
static void
scen_start(struct scen *sc, enum transport t, const hvs_relay_opts_t *o)
{
	struct timeval tv = {0, TICK_MS * 1000};
	hvs_sock_t pa[2], pb[2];

	memset(sc, 0, sizeof(*sc));
	sc->base = event_base_new();
	assert_non_null(sc->base);
	sc->tick = event_new(sc->base, -1, EV_PERSIST, on_tick, NULL);
	assert_non_null(sc->tick);
	event_add(sc->tick, &tv);
	make_pair(t, pa);
	make_pair(t, pb);
	peer_init(&sc->x, pa[0], 11, 22);
	peer_init(&sc->h, pb[0], 22, 11);
	assert_int_equal(hvs_relay_new(&sc->relay, sc->base, pa[1], pb[1], o,
			     on_done, sc),
	    0);
}

static void
peer_close(struct peer *p)
{
	if (p->in != HVS_INVALID_SOCK && p->in != p->s) {
		t_close((int)p->in);
	}
	p->in = HVS_INVALID_SOCK;
	if (p->s != HVS_INVALID_SOCK) {
		if (p->is_pipe) {
			t_close((int)p->s);
		} else {
			hvs_close(p->s);
		}
		p->s = HVS_INVALID_SOCK;
	}
}

static void
scen_finish(struct scen *sc)
{
	if (sc->relay != NULL) {
		hvs_relay_destroy(sc->relay);
	}
	peer_close(&sc->x);
	peer_close(&sc->h);
	event_free(sc->tick);
	event_base_free(sc->base);
}

typedef int (*until_fn)(struct scen *sc);

static volatile int liveness_expired;

static void
on_liveness(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	liveness_expired = 1;
}

/* Turn the loop, and let the peers move, until @until says so. */
static void
run_until(struct scen *sc, until_fn until)
{
	struct timeval tv = {LIVENESS_S, 0};
	struct event *live = evtimer_new(sc->base, on_liveness, NULL);

	liveness_expired = 0;
	evtimer_add(live, &tv);
	for (;;) {
		peer_poll(sc, &sc->x);
		peer_poll(sc, &sc->h);
		if (until(sc) || liveness_expired) {
			break;
		}
		event_base_loop(sc->base, EVLOOP_ONCE);
	}
	event_free(live);
	assert_false(liveness_expired);
}

static volatile int pause_over;

static void
on_pause(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	pause_over = 1;
}

static int
until_pause_over(struct scen *sc)
{
	(void)sc;
	return pause_over;
}

/*
 * Let everything run for about @ms: a chance for something that must not
 * happen (an early EOF, an early end) to show. Nothing is timed.
 */
static void
run_for(struct scen *sc, unsigned ms)
{
	struct timeval tv = {(long)(ms / 1000), (long)(ms % 1000) * 1000};
	struct event *ev = evtimer_new(sc->base, on_pause, NULL);

	pause_over = 0;
	evtimer_add(ev, &tv);
	run_until(sc, until_pause_over);
	event_free(ev);
}

static size_t want_h_got;
static size_t want_x_got;

static int
until_h_got(struct scen *sc)
{
	return sc->h.got >= want_h_got || sc->h.eof || sc->h.err;
}

static int
until_x_got(struct scen *sc)
{
	return sc->x.got >= want_x_got || sc->x.eof || sc->x.err;
}

static int
until_h_eof(struct scen *sc)
{
	return sc->h.eof || sc->h.err;
}

/* The relay has ended and both peers have seen the end of their input. */
static int
until_over(struct scen *sc)
{
	return sc->done && (sc->x.eof || sc->x.err) && (sc->h.eof || sc->h.err);
}

static int
until_done(struct scen *sc)
{
	return sc->done;
}

/* ---- fixtures -------------------------------------------------------- */

static int
setup(void **state)
{
	testos_default_sigpipe();
	return fd_fixture_setup(state);
}

static int
teardown(void **state)
{
	hvs_relay_counters_t c;

	if (tcp_lsock != HVS_INVALID_SOCK) {
		hvs_close(tcp_lsock);
		tcp_lsock = HVS_INVALID_SOCK;
	}
	hvs_relay_counters(&c);
	assert_int_equal(c.relays_active, 0);
	return fd_fixture_teardown(state);
}

/* ---- the relay's own choice ------------------------------------------ */

/*
 * What the relay decides for one socket: FreeBSD's AF_HYPERV (a family
 * whose shutdown sends no FIN) and a side the application named are
 * closed to pass an EOF on; everything else is shut down as always.
 */
static void
test_choice(void **state)
{
	const int hv = 43, inet = 2, vsock = 40;

	(void)state;
	/* FreeBSD: its AF_HYPERV, and only that family. */
	assert_int_equal(hvs__relay_eof_by_close(0, 0, hv, hv), 1);
	assert_int_equal(hvs__relay_eof_by_close(0, 0, inet, hv), 0);
	/* Not known (getsockname() failed): a plain half-close, as ever. */
	assert_int_equal(hvs__relay_eof_by_close(0, 0, -1, hv), 0);
	/* Linux (vsock) and Windows (AF_HYPERV 34) send a FIN. */
	assert_int_equal(hvs__relay_eof_by_close(0, 1, vsock, vsock), 0);
	assert_int_equal(hvs__relay_eof_by_close(0, 1, 34, 34), 0);
	/* A side named by a flag, whatever its family. */
	assert_int_equal(hvs__relay_eof_by_close(1, 1, inet, vsock), 1);
	assert_int_equal(hvs__relay_eof_by_close(1, 0, -1, hv), 1);
	/* This platform's backend: Linux and Windows send a FIN. */
	assert_int_equal(hvs__hv_shutdown_sends_fin(), 1);
	assert_int_equal(hvs__relay_eof_by_close(0,
			     hvs__hv_shutdown_sends_fin(), hvs__hv_family(),
			     hvs__hv_family()),
	    0);
}

/* ---- request, half-close, answer ------------------------------------- */

/*
 * x sends a request and half-closes; h (behind the side that takes no
 * FIN) gets every byte but no EOF; its answer still reaches x. Then h
 * ends its direction: x sees the EOF by the half-close passed on, h by
 * the relay's close, and the relay is done.
 */
static void
peer_ends(enum transport t, unsigned mode_flags)
{
	hvs_relay_opts_t o;
	const size_t req = 300 * KiB + 7, ans = 500 * KiB + 3;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = mode_flags | HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = NEVER_MS;
	scen_start(&sc, t, &o);
	sc.x.send_len = req;
	sc.x.shut = 1;
	want_h_got = req;
	run_until(&sc, until_h_got);
	assert_int_equal(sc.h.got, req);
	/* No shutdown reached h: give a wrong one the time to show. */
	run_for(&sc, 100);
	assert_false(sc.h.eof);
	assert_int_equal(sc.h.err, 0);
	assert_int_equal(sc.done, 0);

	/* The answer flows back, the relay still running. */
	sc.h.send_len = ans;
	want_x_got = ans;
	run_until(&sc, until_x_got);
	assert_int_equal(sc.x.got, ans);
	assert_false(sc.x.eof);
	assert_int_equal(sc.done, 0);

	/* h ends its direction: everything ends. */
	sc.h.shut = 1;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc.st.err, 0);
	assert_int_equal(sc.st.bytes_a_to_b, req);
	assert_int_equal(sc.st.bytes_b_to_a, ans);
	assert_true(sc.x.eof && sc.h.eof);
	assert_int_equal(sc.x.err + sc.h.err, 0);
	assert_int_equal(sc.x.bad + sc.h.bad, 0);
	assert_int_equal(sc.h.got, req);
	assert_int_equal(sc.x.got_at_eof, ans);
	/* h's EOF is the close, so it comes with the relay's end. */
	assert_false(sc.h.eof_relay_running);
	scen_finish(&sc);
}

static void
test_peer_ends_unix(void **state)
{
	(void)state;
	peer_ends(T_UNIX, 0);
}

static void
test_peer_ends_tcp(void **state)
{
	(void)state;
	peer_ends(T_TCP, 0);
}

static void
test_peer_ends_copy(void **state)
{
	(void)state;
	peer_ends(T_UNIX, HVS_RELAY_NO_SPLICE);
}

/*
 * The peer answers and falls silent, waiting for an EOF it cannot get:
 * the wait ends it. x gets the whole answer, then a clean EOF (no reset);
 * h gets the whole request, then the EOF of the close.
 */
static void
silent_peer(enum transport t, int eof_close_ms)
{
	hvs_relay_opts_t o;
	const size_t req = 1000, ans = 200 * KiB + 1;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = eof_close_ms;
	scen_start(&sc, t, &o);
	sc.x.send_len = req;
	sc.x.shut = 1;
	sc.h.send_len = ans;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc.st.err, 0);
	assert_int_equal(sc.st.err_side, -1);
	assert_int_equal(sc.st.bytes_a_to_b, req);
	assert_int_equal(sc.st.bytes_b_to_a, ans);
	assert_true(sc.x.eof && sc.h.eof);
	assert_int_equal(sc.x.err + sc.h.err, 0);
	assert_int_equal(sc.x.bad + sc.h.bad, 0);
	assert_int_equal(sc.x.got_at_eof, ans);
	assert_int_equal(sc.h.got_at_eof, req);
	assert_false(sc.h.eof_relay_running);
	scen_finish(&sc);
}

static void
test_silent_peer_unix(void **state)
{
	(void)state;
	silent_peer(T_UNIX, 50);
}

static void
test_silent_peer_tcp(void **state)
{
	(void)state;
	silent_peer(T_TCP, 50);
}

/* 0 is the documented default (2 s): it ends too. */
static void
test_silent_peer_default(void **state)
{
	(void)state;
	silent_peer(T_UNIX, 0);
}

/*
 * The same with the side a taking no FIN: h half-closes first, x answers
 * and falls silent.
 */
static void
test_silent_peer_side_a(void **state)
{
	hvs_relay_opts_t o;
	const size_t req = 4 * KiB, ans = 100 * KiB + 9;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_A_NO_FIN;
	o.eof_close_ms = 50;
	(void)state;
	scen_start(&sc, T_TCP, &o);
	sc.h.send_len = req;
	sc.h.shut = 1;
	sc.x.send_len = ans;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc.st.bytes_b_to_a, req);
	assert_int_equal(sc.st.bytes_a_to_b, ans);
	assert_int_equal(sc.x.err + sc.h.err, 0);
	assert_int_equal(sc.x.bad + sc.h.bad, 0);
	assert_int_equal(sc.x.got_at_eof, req);
	assert_int_equal(sc.h.got_at_eof, ans);
	assert_false(sc.x.eof_relay_running);
	scen_finish(&sc);
}

/*
 * The wait does not run while the answer is held up by x, which reads
 * nothing for a while (far longer than the wait): every byte still
 * arrives, then the EOF.
 */
static void
slow_reader(unsigned mode_flags)
{
	hvs_relay_opts_t o;
	const size_t ans = 8 * MiB + 5;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = mode_flags | HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = 100;
	scen_start(&sc, T_UNIX, &o);
	sc.x.send_len = 10;
	sc.x.shut = 1;
	sc.x.reading = 0;
	sc.h.send_len = ans;
	want_h_got = 10;
	run_until(&sc, until_h_got);
	run_for(&sc, 400);
	assert_int_equal(sc.done, 0);
	sc.x.reading = 1;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc.x.err + sc.h.err, 0);
	assert_int_equal(sc.x.bad, 0);
	assert_int_equal(sc.x.got_at_eof, ans);
	assert_int_equal(sc.st.bytes_b_to_a, ans);
	scen_finish(&sc);
}

static void
test_slow_reader(void **state)
{
	(void)state;
	slow_reader(0);
}

static void
test_slow_reader_copy(void **state)
{
	(void)state;
	slow_reader(HVS_RELAY_NO_SPLICE);
}

/* No bound (< 0): the relay waits for the peer's own end, as before. */
static void
test_no_bound(void **state)
{
	hvs_relay_opts_t o;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = -1;
	(void)state;
	scen_start(&sc, T_UNIX, &o);
	sc.x.send_len = 100;
	sc.x.shut = 1;
	sc.h.send_len = 100;
	want_x_got = 100;
	run_until(&sc, until_x_got);
	run_for(&sc, 200);
	assert_int_equal(sc.done, 0);
	assert_false(sc.h.eof || sc.x.eof);
	sc.h.shut = 1;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc.x.got_at_eof, 100);
	assert_int_equal(sc.h.got_at_eof, 100);
	assert_false(sc.h.eof_relay_running);
	scen_finish(&sc);
}

/*
 * The idle timeout still applies while the relay waits for the peer: the
 * stream to x that had not ended is reset (a plain close on a socket
 * pair), the one to h had, and closes cleanly.
 */
static void
test_idle_timeout_while_waiting(void **state)
{
	hvs_relay_opts_t o;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = NEVER_MS;
	o.idle_timeout_ms = 50;
	(void)state;
	scen_start(&sc, T_TCP, &o);
	sc.x.send_len = 100;
	sc.x.shut = 1;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_IDLE_TIMEOUT);
	assert_int_equal(sc.h.got_at_eof, 100);
	assert_int_equal(sc.h.err, 0);
	if (testos_resets_reach_peer()) {
		assert_int_equal(sc.x.err, ECONNRESET);
	}
	scen_finish(&sc);
}

/*
 * An error is still an error: h resets its connection while the relay
 * waits for it, and x is reset too (never a clean EOF after a cut
 * answer). The other way round: x resets, and h's peer sees it.
 */
static void
test_reset_from_h(void **state)
{
	hvs_relay_opts_t o;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = NEVER_MS;
	(void)state;
	if (!testos_resets_reach_peer()) {
		skip_because("this system's abortive close sends a FIN, not a "
			     "reset (wine): no reset to pass on");
	}
	scen_start(&sc, T_TCP, &o);
	sc.x.send_len = 100;
	sc.x.shut = 1;
	sc.h.send_len = 50;
	want_h_got = 100;
	run_until(&sc, until_h_got);
	want_x_got = 50;
	run_until(&sc, until_x_got);
	testos_abort_close(sc.h.s);
	sc.h.s = sc.h.in = HVS_INVALID_SOCK;
	sc.h.eof = 1;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_RESET);
	assert_int_equal(sc.st.err_side, 1);
	assert_int_equal(sc.x.got, 50);
	assert_int_equal(sc.x.err, ECONNRESET);
	scen_finish(&sc);
}

static void
test_reset_from_x(void **state)
{
	hvs_relay_opts_t o;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = NEVER_MS;
	(void)state;
	if (!testos_resets_reach_peer()) {
		skip_because("this system's abortive close sends a FIN, not a "
			     "reset (wine): no reset to pass on");
	}
	scen_start(&sc, T_TCP, &o);
	sc.x.send_len = 100;
	sc.x.shut = 1;
	want_h_got = 100;
	run_until(&sc, until_h_got);
	testos_abort_close(sc.x.s);
	sc.x.s = sc.x.in = HVS_INVALID_SOCK;
	sc.x.eof = 1;
	/* h answers into a connection that is gone. */
	sc.h.send_len = 256 * KiB;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_RESET);
	assert_int_equal(sc.st.err_side, 0);
	assert_int_equal(sc.h.got, 100);
	assert_true(sc.h.err == ECONNRESET || sc.h.err == EPIPE);
	scen_finish(&sc);
}

/*
 * The option without a side that takes no FIN changes nothing: the EOF
 * is a half-close that h sees while the relay runs, and a silent h keeps
 * the relay (even with the shortest bound).
 */
static void
test_no_side_no_change(void **state)
{
	hvs_relay_opts_t o;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.eof_close_ms = 1;
	(void)state;
	scen_start(&sc, T_TCP, &o);
	sc.x.send_len = 100;
	sc.x.shut = 1;
	run_until(&sc, until_h_eof);
	assert_int_equal(sc.h.got_at_eof, 100);
	assert_true(sc.h.eof_relay_running);
	run_for(&sc, 200);
	assert_int_equal(sc.done, 0);
	sc.h.send_len = 70;
	sc.h.shut = 1;
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc.x.got_at_eof, 70);
	assert_int_equal(sc.x.err + sc.h.err, 0);
	scen_finish(&sc);
}

/*
 * hvcat's shape on FreeBSD: side a is a pair of pipes (stdin, stdout),
 * side b the socket that takes no FIN. stdin ends, the peer answers and
 * falls silent: stdout gets the answer and its end.
 */
static void
test_fds_pipes(void **state)
{
	hvs_relay_opts_t o;
	const size_t req = 70 * KiB, ans = 300 * KiB + 1;
	struct timeval tv = {0, TICK_MS * 1000};
	struct scen sc;
	hvs_sock_t pb[2];
	int in[2], out[2];

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = 50;
	(void)state;
	if (TESTOS_WINSOCK) {
		skip_because("pipes as side a: the test's peer reads them "
			     "without a bridge, which Windows cannot do");
	}
	memset(&sc, 0, sizeof(sc));
	sc.base = event_base_new();
	assert_non_null(sc.base);
	sc.tick = event_new(sc.base, -1, EV_PERSIST, on_tick, NULL);
	event_add(sc.tick, &tv);
	make_pair(T_UNIX, pb);
	assert_int_equal(testos_pipe(in), 0);
	assert_int_equal(testos_pipe(out), 0);
	/* x writes into stdin's pipe and reads stdout's. */
	peer_init(&sc.x, (hvs_sock_t)in[1], 11, 22);
	sc.x.is_pipe = 1;
	sc.x.in = (hvs_sock_t)out[0];
	testos_set_nonblock((hvs_sock_t)out[0]);
	sc.x.send_len = req;
	sc.x.shut = 1;
	peer_init(&sc.h, pb[0], 22, 11);
	sc.h.send_len = ans;
	assert_int_equal(hvs_relay_new_fds(&sc.relay, sc.base, in[0], out[1],
			     pb[1], &o, on_done, &sc),
	    0);
	run_until(&sc, until_over);
	assert_int_equal(sc.st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc.x.err + sc.h.err, 0);
	assert_int_equal(sc.x.bad + sc.h.bad, 0);
	assert_int_equal(sc.x.got_at_eof, ans);
	assert_int_equal(sc.h.got_at_eof, req);
	assert_false(sc.h.eof_relay_running);
	scen_finish(&sc);
}

/* hvs_relay_drain() during the wait: a clean end as before. */
static void
test_drain_while_waiting(void **state)
{
	hvs_relay_opts_t o;
	struct scen sc;

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_B_NO_FIN;
	o.eof_close_ms = NEVER_MS;
	(void)state;
	scen_start(&sc, T_UNIX, &o);
	sc.x.send_len = 100;
	sc.x.shut = 1;
	want_h_got = 100;
	run_until(&sc, until_h_got);
	hvs_relay_drain(sc.relay);
	run_until(&sc, until_done);
	assert_int_equal(sc.st.reason, HVS_RELAY_CLOSED);
	run_until(&sc, until_over);
	assert_int_equal(sc.h.got_at_eof, 100);
	scen_finish(&sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_choice),
	    cmocka_unit_test_setup_teardown(test_peer_ends_unix, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_peer_ends_tcp, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_peer_ends_copy, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_silent_peer_unix, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_silent_peer_tcp, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_silent_peer_default, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_silent_peer_side_a, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_reader_copy, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_no_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_timeout_while_waiting,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_from_h, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_from_x, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_side_no_change, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_fds_pipes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drain_while_waiting, setup,
		teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
