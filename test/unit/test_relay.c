/* SPDX-License-Identifier: MIT */
/*
 * Relay engine tests, on socketpairs and loopback TCP. Every case runs
 * twice: once on the zero-copy path (splice) and once on the copy path
 * (HVS_RELAY_NO_SPLICE).
 *
 * The peers on both ends are driven by the same event loop as the relay,
 * so that one thread runs everything and 2,000 relays need no threads.
 * Bytes are a pattern that depends on the stream and the offset, checked
 * as they arrive: a lost, duplicated or reordered byte is caught where it
 * happens, without keeping 64 MiB around.
 *
 * No test asserts a time: timeouts here only bound liveness.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "loop/debug.h"
#include "sysmock.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define KiB 1024ull
#define MiB (1024ull * 1024ull)
/* Liveness bound of one scenario; never a performance threshold. */
#define LIVENESS_S 60

/* ---- the two paths --------------------------------------------------- */

struct mode {
	const char *name;
	unsigned flags;
	int splice; /* the zero-copy path is expected to carry bytes */
};

static const struct mode mode_copy = {"copy", HVS_RELAY_NO_SPLICE, 0};
static const struct mode mode_splice = {"splice", 0, 1};

enum transport { T_UNIX, T_TCP };

/* ---- the byte pattern ------------------------------------------------ */

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The bytes [off, off + len) of stream @seed. */
static void
pattern(uint64_t seed, uint64_t off, unsigned char *p, size_t len)
{
	while (len > 0) {
		uint64_t w = splitmix(seed * 0x100000001b3ull + (off >> 3));
		size_t k = off & 7, take = 8 - k;
		unsigned char wb[8];

		memcpy(wb, &w, 8);
		if (take > len) {
			take = len;
		}
		memcpy(p, wb + k, take);
		p += take;
		off += take;
		len -= take;
	}
}

static unsigned char rbuf[256 * 1024];
static unsigned char wbuf[256 * 1024];
static unsigned char xbuf[256 * 1024];

/* ---- descriptor pairs ------------------------------------------------ */

static hvs_sock_t tcp_lsock = HVS_INVALID_SOCK;

/*
 * A connected pair: fds[0] for the test's peer, fds[1] for the relay.
 * T_UNIX is a socketpair: on Windows a loopback tcp one (testos.h).
 */
static void
make_pair(enum transport t, hvs_sock_t fds[2])
{
	if (t == T_UNIX) {
		testos_socketpair(fds);
		return;
	}
	testos_tcp_pair(&tcp_lsock, fds);
}

static void
close_tcp_listener(void)
{
	if (tcp_lsock != HVS_INVALID_SOCK) {
		hvs_close(tcp_lsock);
		tcp_lsock = HVS_INVALID_SOCK;
	}
}

#define set_nonblock testos_set_nonblock
#define abort_close testos_abort_close

/* ---- test peers ------------------------------------------------------ */

struct scen;

struct peer {
	struct scen *sc;
	hvs_sock_t fd; /* HVS_INVALID_SOCK: none, or closed */
	int wfd; /* write descriptor when not fd (pipes) */
	struct event rev;
	struct event wev;
	uint64_t send_seed;
	uint64_t send_len;
	uint64_t sent;
	uint64_t recv_seed;
	uint64_t recv_len; /* expected */
	uint64_t got;
	size_t read_max; /* per read call, 0 = rbuf */
	int rerr; /* first read error (errno) */
	int werr; /* first write error (errno) */
	uint64_t bad; /* 1 + offset of the first wrong byte */
	unsigned send_after_eof : 1; /* answer only after the EOF */
	unsigned no_shut : 1; /* do not SHUT_WR when all is sent */
	unsigned slow : 1; /* read only on ticks */
	unsigned eof : 1;
	unsigned wdone : 1;
	unsigned rd_on : 1;
	unsigned wr_on : 1;
};

struct scen {
	struct event_base *base;
	hvs_relay_t *relay;
	hvs_relay_stats_t st;
	hvs__relay_debug_t dbg;
	int relay_done;
	struct peer cli; /* peer of side a */
	struct peer srv; /* peer of side b */
	void (*on_got)(struct scen *sc, struct peer *p);
};

static int peer_finished(const struct peer *p);

static void
peer_arm(struct peer *p)
{
	int rd = !p->eof && !p->rerr && !p->slow && p->fd != HVS_INVALID_SOCK;
	int wr = !p->wdone && !p->werr && (!p->send_after_eof || p->eof);

	if (rd != p->rd_on) {
		if (rd) {
			event_add(&p->rev, NULL);
		} else {
			event_del(&p->rev);
		}
		p->rd_on = rd;
	}
	if (wr != p->wr_on) {
		if (wr) {
			event_add(&p->wev, NULL);
		} else {
			event_del(&p->wev);
		}
		p->wr_on = wr;
	}
}

static void
peer_read(struct peer *p, size_t max)
{
	long n;
	int err = 0;

	if (p->eof || p->rerr || p->fd == HVS_INVALID_SOCK) {
		return;
	}
	if (max == 0 || max > sizeof(rbuf)) {
		max = sizeof(rbuf);
	}
	n = testos_read(p->fd, rbuf, max, &err);
	if (n > 0) {
		if (p->got + (uint64_t)n > p->recv_len && p->bad == 0) {
			p->bad = p->recv_len + 1;
		}
		pattern(p->recv_seed, p->got, xbuf, (size_t)n);
		if (p->bad == 0 && memcmp(xbuf, rbuf, (size_t)n) != 0) {
			for (long i = 0; i < n; i++) {
				if (xbuf[i] != rbuf[i]) {
					p->bad = p->got + (uint64_t)i + 1;
					break;
				}
			}
		}
		p->got += (uint64_t)n;
		if (p->sc->on_got != NULL) {
			p->sc->on_got(p->sc, p);
		}
	} else if (n == 0) {
		p->eof = 1;
	} else if (err != EAGAIN) {
		p->rerr = err;
	}
}

static void
peer_write(struct peer *p)
{
	uint64_t left = p->send_len - p->sent;
	size_t len = left < sizeof(wbuf) ? (size_t)left : sizeof(wbuf);
	long n;
	int err = 0;

	if (len > 0) {
		pattern(p->send_seed, p->sent, wbuf, len);
		if (p->wfd >= 0) {
			/* A pipe (POSIX only). */
			n = (long)write(p->wfd, wbuf, len);
			err = errno;
		} else {
			n = testos_send(p->fd, wbuf, len, &err);
		}
		if (n < 0) {
			if (err != EAGAIN) {
				p->werr = err;
			}
			return;
		}
		p->sent += (uint64_t)n;
	}
	if (p->sent == p->send_len) {
		p->wdone = 1;
		if (p->no_shut) {
			return;
		}
		if (p->wfd >= 0) {
			close(p->wfd);
			p->wfd = -2; /* closed: the EOF of a pipe */
		} else {
			hvs_shutdown(p->fd, HVS_SHUT_WR);
		}
	}
}

static void
on_peer_read(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)what;
	peer_read(p, p->read_max);
	peer_arm(p);
}

static void
on_peer_write(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)what;
	peer_write(p);
	peer_arm(p);
}

/* Watch @fd (read) and @wfd (write; -1: the same socket). */
static void
peer_init(struct scen *sc, struct peer *p, hvs_sock_t fd, int wfd,
    uint64_t send_seed, uint64_t send_len, uint64_t recv_seed,
    uint64_t recv_len)
{
	p->sc = sc;
	p->fd = fd;
	p->wfd = wfd;
	p->send_seed = send_seed;
	p->send_len = send_len;
	p->recv_seed = recv_seed;
	p->recv_len = recv_len;
	if (fd != HVS_INVALID_SOCK) {
		set_nonblock(fd);
	}
	if (wfd >= 0) {
		set_nonblock(wfd);
	}
	event_assign(&p->rev, sc->base, (evutil_socket_t)fd,
	    EV_READ | EV_PERSIST, on_peer_read, p);
	event_assign(&p->wev, sc->base,
	    wfd >= 0 ? (evutil_socket_t)wfd : (evutil_socket_t)fd,
	    EV_WRITE | EV_PERSIST, on_peer_write, p);
}

static void
peer_cleanup(struct peer *p)
{
	event_del(&p->rev);
	event_del(&p->wev);
	if (p->fd != HVS_INVALID_SOCK) {
		hvs_close(p->fd);
		p->fd = HVS_INVALID_SOCK;
	}
	if (p->wfd >= 0) {
		close(p->wfd);
	}
	p->wfd = -1;
}

static int
peer_finished(const struct peer *p)
{
	int rdone = p->fd == HVS_INVALID_SOCK || p->eof || p->rerr != 0;
	int wdone = p->wdone || p->werr != 0;

	return rdone && wdone;
}

static void
on_relay_done(hvs_relay_t *r, const hvs_relay_stats_t *st, void *arg)
{
	struct scen *sc = arg;

	assert_ptr_equal(r, sc->relay);
	/* Still valid during the callback: take its last debug view. */
	hvs__relay_debug(r, &sc->dbg);
	sc->st = *st;
	sc->relay_done++;
	sc->relay = NULL;
}

static volatile int liveness_expired;

static void
on_liveness(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	liveness_expired = 1;
}

typedef int (*until_fn)(void *arg);

/* Run @base until @until says so; fail the test if it takes forever. */
static void
run_until(struct event_base *base, until_fn until, void *arg)
{
	struct timeval tv = {LIVENESS_S, 0};
	struct event *live = evtimer_new(base, on_liveness, NULL);

	liveness_expired = 0;
	evtimer_add(live, &tv);
	while (!until(arg) && !liveness_expired) {
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(live);
	assert_false(liveness_expired);
}

static int
scen_over(void *arg)
{
	struct scen *sc = arg;

	return sc->relay_done && peer_finished(&sc->cli) &&
	    peer_finished(&sc->srv);
}

/* ---- fixtures -------------------------------------------------------- */

struct fixture {
	const struct mode *mode;
	int fds;
};

static struct fixture fx_copy = {&mode_copy, 0};
static struct fixture fx_splice = {&mode_splice, 0};

static int
setup(void **state)
{
	struct fixture *fx = *state;

	sysmock_reset();
	hvs__relay_pools_flush();
	fx->fds = count_fds();
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	hvs_relay_counters_t c;

	sysmock_reset();
	close_tcp_listener();
	hvs_relay_counters(&c);
	assert_int_equal(c.relays_active, 0);
	assert_int_equal(c.pipes_in_use, 0);
	/* The last relay's end emptied the pools by itself. */
	assert_int_equal(c.pipes_pooled, 0);
	/* Nothing leaked: the same descriptors as before the test. */
	assert_int_equal(count_fds(), fx->fds);
	return 0;
}

static const struct mode *
mode_of(void **state)
{
	return ((struct fixture *)*state)->mode;
}

/* ---- scenarios ------------------------------------------------------- */

struct xfer {
	enum transport t;
	uint64_t ab; /* bytes client -> server */
	uint64_t ba; /* bytes server -> client */
	int server_after_eof; /* server answers after the client's EOF */
	int client_after_eof; /* client answers after the server's EOF */
	size_t hwm;
	unsigned extra_flags;
};

static void
scen_start(struct scen *sc, const struct mode *m, const struct xfer *x)
{
	hvs_relay_opts_t o;
	hvs_sock_t pa[2], pb[2];

	hvs_relay_opts_init(&o);
	memset(sc, 0, sizeof(*sc));
	sc->base = event_base_new();
	assert_non_null(sc->base);
	make_pair(x->t, pa);
	make_pair(x->t, pb);
	peer_init(sc, &sc->cli, pa[0], -1, 11, x->ab, 22, x->ba);
	peer_init(sc, &sc->srv, pb[0], -1, 22, x->ba, 11, x->ab);
	sc->srv.send_after_eof = x->server_after_eof ? 1 : 0;
	sc->cli.send_after_eof = x->client_after_eof ? 1 : 0;
	o.flags = m->flags | x->extra_flags;
	o.high_watermark = x->hwm;
	assert_int_equal(hvs_relay_new(&sc->relay, sc->base, pa[1], pb[1], &o,
			     on_relay_done, sc),
	    0);
	peer_arm(&sc->cli);
	peer_arm(&sc->srv);
}

static void
scen_finish(struct scen *sc)
{
	if (sc->relay != NULL) {
		hvs_relay_destroy(sc->relay);
	}
	peer_cleanup(&sc->cli);
	peer_cleanup(&sc->srv);
	event_base_free(sc->base);
}

static struct scen the_scen;

/* Relay @x and check every byte, both half-closes and the stats. */
static void
transfer(void **state, const struct xfer *x)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	size_t hwm = x->hwm ? x->hwm : 256 * KiB;

	scen_start(sc, m, x);
	run_until(sc->base, scen_over, sc);

	assert_int_equal(sc->relay_done, 1);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->st.err, 0);
	assert_int_equal(sc->st.bytes_a_to_b, x->ab);
	assert_int_equal(sc->st.bytes_b_to_a, x->ba);
	assert_int_equal(sc->srv.got, x->ab);
	assert_int_equal(sc->cli.got, x->ba);
	assert_int_equal(sc->srv.bad, 0);
	assert_int_equal(sc->cli.bad, 0);
	assert_true(sc->srv.eof && sc->cli.eof);
	assert_int_equal(sc->srv.rerr, 0);
	assert_int_equal(sc->cli.rerr, 0);
	/* The queue never outgrew the watermark (measured by the relay). */
	assert_true(sc->dbg.peak[0] <= hwm);
	assert_true(sc->dbg.peak[1] <= hwm);
	/* Drained at the end: no buffer, no pipe left. */
	assert_int_equal(sc->dbg.queued[0] + sc->dbg.queued[1], 0);
	assert_false(sc->dbg.has_pipe[0] || sc->dbg.has_pipe[1]);
	assert_false(sc->dbg.has_buf[0] || sc->dbg.has_buf[1]);
	/* A direction takes the pipe once it carries a bulk stream: after
	 * 64 KiB, at a read that brought 16 KiB or filled its room. */
	if (x->ab >= 256 * KiB || x->ba >= 256 * KiB) {
		assert_int_equal(sc->st.spliced, m->splice);
	}
	if (!m->splice) {
		assert_int_equal(sc->st.spliced, 0);
	}
	scen_finish(sc);
}

static void
test_bytes_0(void **state)
{
	struct xfer x = {.t = T_TCP, .ab = 0, .ba = 0};

	transfer(state, &x);
	x.t = T_UNIX;
	transfer(state, &x);
}

static void
test_bytes_1(void **state)
{
	struct xfer x = {.t = T_TCP, .ab = 1, .ba = 0};

	transfer(state, &x);
	x.ab = 0;
	x.ba = 1;
	transfer(state, &x);
	x.t = T_UNIX;
	x.ab = 1;
	transfer(state, &x);
}

static void
test_bytes_65535(void **state)
{
	struct xfer x = {.t = T_TCP, .ab = 65535, .ba = 0};

	transfer(state, &x);
	x.ab = 0;
	x.ba = 65535;
	transfer(state, &x);
	x.t = T_UNIX;
	x.ab = 65535;
	transfer(state, &x);
}

static void
test_bytes_64m_one_way(void **state)
{
	struct xfer x = {.t = T_TCP, .ab = 64 * MiB};

	transfer(state, &x);
	x.t = T_UNIX;
	x.ab = 0;
	x.ba = 64 * MiB;
	transfer(state, &x);
}

static void
test_bytes_64m_both_ways(void **state)
{
	struct xfer x = {.t = T_TCP, .ab = 64 * MiB, .ba = 64 * MiB};

	transfer(state, &x);
}

static void
test_bytes_both_ways_unix(void **state)
{
	struct xfer x = {.t = T_UNIX, .ab = 8 * MiB + 7, .ba = 3 * MiB + 1};

	transfer(state, &x);
}

/* Request, SHUT_WR, and the response only after the EOF came through. */
static void
test_half_close_a_first(void **state)
{
	struct xfer x = {.t = T_TCP,
	    .ab = 100 * KiB + 3,
	    .ba = 2 * MiB,
	    .server_after_eof = 1};

	transfer(state, &x);
	x.t = T_UNIX;
	transfer(state, &x);
	/* An empty request is a request too. */
	x.ab = 0;
	transfer(state, &x);
}

static void
test_half_close_b_first(void **state)
{
	struct xfer x = {.t = T_TCP,
	    .ab = 3 * MiB,
	    .ba = 5000,
	    .client_after_eof = 1};

	transfer(state, &x);
	x.t = T_UNIX;
	transfer(state, &x);
}

/* A small watermark still moves every byte. */
static void
test_small_watermark(void **state)
{
	struct xfer x = {.t = T_TCP,
	    .ab = 4 * MiB + 11,
	    .ba = 1 * MiB,
	    .hwm = 4 * KiB};

	transfer(state, &x);
}

/* HVS_RELAY_NO_HALF_CLOSE: the first EOF ends both, after a flush. */
static void
test_no_half_close(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	struct xfer x = {.t = T_TCP,
	    .ab = 1 * MiB,
	    .ba = 0,
	    .extra_flags = HVS_RELAY_NO_HALF_CLOSE};

	scen_start(sc, m, &x);
	sc->srv.no_shut = 1; /* the server would never end its side */
	run_until(sc->base, scen_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->srv.got, 1 * MiB);
	assert_int_equal(sc->srv.bad, 0);
	assert_true(sc->srv.eof);
	assert_true(sc->cli.eof);
	scen_finish(sc);
}

/*
 * HVS_RELAY_B_EOF_ENDS (a receive-only client): b's stream ends the relay
 * while a never ends its own; b gets a FIN, a all of b's bytes and a FIN.
 * What a sent before is delivered as far as it was read (a prefix).
 */
static void
test_b_eof_ends(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	const uint64_t sends[] = {0, 100 * KiB};

	for (size_t i = 0; i < sizeof(sends) / sizeof(sends[0]); i++) {
		struct xfer x = {.t = T_TCP,
		    .ab = sends[i],
		    .ba = 2 * MiB + 5,
		    .extra_flags = HVS_RELAY_B_EOF_ENDS};

		scen_start(sc, m, &x);
		sc->cli.no_shut = 1; /* a's stream never ends */
		run_until(sc->base, scen_over, sc);
		assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
		assert_int_equal(sc->cli.got, 2 * MiB + 5);
		assert_int_equal(sc->cli.bad, 0);
		assert_true(sc->cli.eof);
		assert_true(sc->srv.eof);
		assert_true(sc->srv.got <= sends[i]);
		assert_int_equal(sc->srv.bad, 0);
		scen_finish(sc);
	}
}

/* ---- resets and errors ----------------------------------------------- */

/* Why a test of what a peer sees after a reset cannot run (wine). */
#define NO_RESET                                                          \
	"a socket closed with SO_LINGER 0 sends a FIN here, not a reset " \
	"(wine does so): the peer cannot see a stream cut"

static void
reset_after_64k(struct scen *sc, struct peer *p)
{
	if (p == &sc->srv && p->got >= 64 * KiB && p->fd != HVS_INVALID_SOCK &&
	    !p->eof) {
		/* The server dies mid-stream. */
		event_del(&p->rev);
		event_del(&p->wev);
		abort_close(p->fd);
		p->fd = HVS_INVALID_SOCK;
		p->eof = 1;
		p->wdone = 1;
	}
}

static int
relay_over(void *arg)
{
	struct scen *sc = arg;

	return sc->relay_done;
}

/* The client (still sending) learnt that its stream was cut. */
static int
relay_and_client_cut(void *arg)
{
	struct scen *sc = arg;

	return sc->relay_done && (sc->cli.rerr != 0 || sc->cli.werr != 0);
}

static int
relay_and_server_over(void *arg)
{
	struct scen *sc = arg;

	return sc->relay_done && (sc->srv.rerr != 0 || sc->srv.eof);
}

/* The client resets mid-stream: the server must see a reset, not EOF. */
static void
test_reset_from_a(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	struct xfer x = {.t = T_TCP, .ab = 64 * MiB, .ba = 0};

	if (!testos_resets_reach_peer()) {
		skip_because(NO_RESET);
	}
	scen_start(sc, m, &x);
	sc->srv.no_shut = 1;
	sc->srv.wdone = 1;
	/* Let some bytes through, then reset the client. */
	while (sc->srv.got < 256 * KiB && !sc->srv.eof && !sc->srv.rerr) {
		event_base_loop(sc->base, EVLOOP_ONCE);
	}
	event_del(&sc->cli.rev);
	event_del(&sc->cli.wev);
	abort_close(sc->cli.fd);
	sc->cli.fd = HVS_INVALID_SOCK;
	sc->cli.wdone = 1;
	run_until(sc->base, relay_and_server_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_RESET);
	assert_int_equal(sc->st.err, HVS_ECONNRESET);
	assert_int_equal(sc->st.err_side, 0);
	assert_int_equal(sc->srv.rerr, ECONNRESET);
	assert_int_equal(sc->srv.bad, 0);
	scen_finish(sc);
}

/*
 * The server resets while the client is still sending: the relay's write
 * fails (a SIGPIPE here would kill the test: it is not ignored) and the
 * client sees a reset.
 */
static void
test_reset_from_b(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	struct xfer x = {.t = T_TCP, .ab = 256 * MiB, .ba = 0};

	testos_default_sigpipe();
	scen_start(sc, m, &x);
	sc->on_got = reset_after_64k;
	run_until(sc->base, relay_and_client_cut, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_RESET);
	assert_int_equal(sc->st.err_side, 1);
	assert_true(sc->st.err == HVS_ECONNRESET || sc->st.err == HVS_EPIPE);
	assert_true(sc->cli.rerr == ECONNRESET || sc->cli.werr == ECONNRESET ||
	    sc->cli.werr == EPIPE);
	assert_true(sc->st.bytes_a_to_b < x.ab);
	scen_finish(sc);
}

/* A read error that is not a reset ends the relay and resets the peer. */
static void
test_read_error(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	struct xfer x = {.t = T_UNIX, .ab = 16 * MiB, .ba = 0};

	scen_start(sc, m, &x);
	sc->srv.no_shut = 1;
	sc->srv.wdone = 1;
	/* The server stays silent, so every read is on side a. */
	if (m->splice) {
		sysmock_fail(SYSMOCK_SPLICE, EIO, 4, 1);
	} else {
		sysmock_fail(SYSMOCK_RECV, EIO, 2, 1);
	}
	run_until(sc->base, relay_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_ERROR);
	assert_int_equal(sc->st.err, HVS_EIO);
	assert_true(sc->st.err_side == 0 || m->splice);
	scen_finish(sc);
}

/* ---- backpressure ---------------------------------------------------- */

static struct event *tick_ev;

static size_t heap_in_use(void);

/*
 * What the slow-consumer relay holds, measured from outside at each tick
 * rather than taken from its own bookkeeping: the bytes really sitting in
 * its splice pipe (FIONREAD on the pipe), and the growth of the process's
 * heap since the relay started (its copy buffer and anything else it
 * allocated; glibc only).
 */
static struct {
	size_t heap0;
	size_t heap_max;
	size_t pipe_max;
	size_t buf_max;
	unsigned samples;
} slow_mem;

static void
slow_sample(struct scen *sc)
{
	hvs__relay_debug_t dbg;
	size_t heap = heap_in_use();
	int inpipe = 0;

	if (sc->relay == NULL) {
		return;
	}
	hvs__relay_debug(sc->relay, &dbg);
	for (int i = 0; i < 2; i++) {
		if (dbg.pipe_rfd[i] >= 0) {
			inpipe = testos_pipe_bytes(dbg.pipe_rfd[i]);
			assert_true(inpipe >= 0);
			if ((size_t)inpipe > slow_mem.pipe_max) {
				slow_mem.pipe_max = (size_t)inpipe;
			}
		}
		if (dbg.bufcap[i] > slow_mem.buf_max) {
			slow_mem.buf_max = dbg.bufcap[i];
		}
	}
	if (heap > slow_mem.heap0 &&
	    heap - slow_mem.heap0 > slow_mem.heap_max) {
		slow_mem.heap_max = heap - slow_mem.heap0;
	}
	slow_mem.samples++;
}

static void
on_slow_tick(evutil_socket_t fd, short what, void *arg)
{
	struct scen *sc = arg;

	(void)fd;
	(void)what;
	/* Before reading: the queue is at its fullest here. */
	slow_sample(sc);
	peer_read(&sc->srv, 32 * KiB);
	if (sc->srv.eof) {
		event_del(tick_ev);
	}
}

/*
 * The server reads 32 KiB per millisecond tick: the relay's queue towards
 * it must stay under the watermark (the relay measures its own peak) and
 * reading from the client must have paused.
 */
static void
test_slow_consumer(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	struct xfer x = {.t = T_UNIX, .ab = 16 * MiB, .ba = 0, .hwm = 64 * KiB};
	struct timeval tv = {0, 1000};

	scen_start(sc, m, &x);
	sc->srv.slow = 1;
	peer_arm(&sc->srv);
	tick_ev = event_new(sc->base, -1, EV_PERSIST, on_slow_tick, sc);
	event_add(tick_ev, &tv);
	memset(&slow_mem, 0, sizeof(slow_mem));
	slow_mem.heap0 = heap_in_use();
	run_until(sc->base, scen_over, sc);
	event_free(tick_ev);

	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->srv.got, x.ab);
	assert_int_equal(sc->srv.bad, 0);
	/* The heap growth is 0 where it is not measured (not glibc). */
	print_message("  [%s] peak queued %lu of %lu (watermark), reading "
		      "paused %u times; measured over %u ticks: at most %lu "
		      "bytes in the pipe, a %lu-byte copy buffer, heap growth "
		      "%lu bytes\n",
	    m->name, (unsigned long)sc->dbg.peak[0], (unsigned long)x.hwm,
	    sc->dbg.pauses[0], slow_mem.samples,
	    (unsigned long)slow_mem.pipe_max, (unsigned long)slow_mem.buf_max,
	    (unsigned long)slow_mem.heap_max);
	assert_true(sc->dbg.peak[0] > 0);
	assert_true(sc->dbg.peak[0] <= x.hwm);
	assert_true(sc->dbg.pauses[0] > 0);
	/* Measured from outside: the kernel pipe and the heap. */
	assert_true(slow_mem.samples > 0);
	assert_true(slow_mem.pipe_max <= x.hwm);
	assert_true(slow_mem.buf_max <= x.hwm);
	if (m->splice) {
		assert_true(slow_mem.pipe_max > 0);
	} else {
		assert_int_equal(slow_mem.pipe_max, 0);
		assert_true(slow_mem.buf_max > 0);
	}
	if (!UNDER_ASAN && slow_mem.heap0 != 0) {
		/* The buffer plus the allocator's and libevent's change. */
		assert_true(slow_mem.heap_max <= x.hwm + 16 * KiB);
	}
	scen_finish(sc);
}

/* ---- idle timeout, close, drain -------------------------------------- */

static void
test_idle_timeout(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	hvs_relay_opts_t o;
	hvs_sock_t pa[2], pb[2];

	hvs_relay_opts_init(&o);
	o.flags = m->flags;
	o.idle_timeout_ms = 50;
	if (!testos_resets_reach_peer()) {
		skip_because(NO_RESET);
	}
	memset(sc, 0, sizeof(*sc));
	sc->base = event_base_new();
	make_pair(T_TCP, pa);
	make_pair(T_TCP, pb);
	/* 1000 bytes move, then nothing at all. */
	peer_init(sc, &sc->cli, pa[0], -1, 1, 1000, 2, 0);
	peer_init(sc, &sc->srv, pb[0], -1, 2, 0, 1, 1000);
	sc->cli.no_shut = 1;
	sc->srv.no_shut = 1;
	assert_int_equal(hvs_relay_new(&sc->relay, sc->base, pa[1], pb[1], &o,
			     on_relay_done, sc),
	    0);
	peer_arm(&sc->cli);
	peer_arm(&sc->srv);
	run_until(sc->base, relay_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_IDLE_TIMEOUT);
	assert_int_equal(sc->st.bytes_a_to_b, 1000);
	assert_int_equal(sc->st.err_side, -1);
	/*
	 * Every byte arrived, but neither stream had ended: the peers must
	 * see a reset, not an EOF that would pass the stream for whole.
	 */
	run_until(sc->base, relay_and_server_over, sc);
	assert_int_equal(sc->srv.got, 1000);
	assert_int_equal(sc->srv.bad, 0);
	assert_false(sc->srv.eof);
	assert_int_equal(sc->srv.rerr, ECONNRESET);
	scen_finish(sc);
}

static void
test_close(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	struct xfer x = {.t = T_TCP, .ab = 10, .ba = 0};

	if (!testos_resets_reach_peer()) {
		skip_because(NO_RESET);
	}
	scen_start(sc, m, &x);
	sc->cli.no_shut = 1;
	sc->srv.no_shut = 1;
	sc->srv.wdone = 1;
	while (sc->srv.got < 10) {
		event_base_loop(sc->base, EVLOOP_ONCE);
	}
	/* The done callback runs from inside hvs_relay_destroy(). */
	hvs_relay_destroy(sc->relay);
	assert_int_equal(sc->relay_done, 1);
	assert_int_equal(sc->st.reason, HVS_RELAY_CLOSED);
	assert_int_equal(sc->st.bytes_a_to_b, 10);
	hvs_relay_destroy(NULL);
	hvs_relay_drain(NULL);
	/* The client never ended its stream: the server sees a reset. */
	run_until(sc->base, relay_and_server_over, sc);
	assert_false(sc->srv.eof);
	assert_int_equal(sc->srv.rerr, ECONNRESET);
	assert_int_equal(sc->srv.got, 10);
	scen_finish(sc);
}

static void
on_resume_srv(evutil_socket_t fd, short what, void *arg)
{
	struct scen *sc = arg;

	(void)fd;
	(void)what;
	sc->srv.slow = 0;
	peer_arm(&sc->srv);
}

static void
drain_after_1m(struct scen *sc, struct peer *p)
{
	struct timeval tv = {0, 100 * 1000};

	if (p == &sc->srv && p->got >= 1 * MiB && sc->relay != NULL) {
		hvs_relay_drain(sc->relay);
		/* Never from inside the call. */
		assert_int_equal(sc->relay_done, 0);
		sc->on_got = NULL;
		/*
		 * The server stops reading for a while, so that bytes the
		 * relay wrote wait in the kernel when its queue is empty:
		 * a reset must not throw them away.
		 */
		sc->srv.slow = 1;
		peer_arm(&sc->srv);
		event_base_once(sc->base, -1, EV_TIMEOUT, on_resume_srv, sc,
		    &tv);
	}
}

/*
 * Drain: no new bytes read, every byte read is delivered, then the end.
 * The client never ended its upload, so the server must see it cut short
 * (a reset after the last byte), never a clean EOF: that would pass a
 * truncated upload for a whole one (test/hardening/repro/drain_fin.py).
 * The server pauses at the drain, so that the relay's last bytes wait in
 * the kernel's send queue when its own queue is empty.
 */
static void
test_drain(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	struct xfer x = {.t = T_TCP, .ab = 512 * MiB, .ba = 0};

	if (!testos_resets_reach_peer()) {
		skip_because(NO_RESET);
	}
	scen_start(sc, m, &x);
	sc->srv.no_shut = 1;
	sc->srv.wdone = 1;
	sc->on_got = drain_after_1m;
	run_until(sc->base, relay_and_server_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_CLOSED);
	assert_false(sc->srv.eof);
	assert_int_equal(sc->srv.rerr, ECONNRESET);
	assert_int_equal(sc->srv.bad, 0);
	assert_int_equal(sc->srv.got, sc->st.bytes_a_to_b);
	assert_true(sc->srv.got < x.ab);
	scen_finish(sc);
}

static void
drain_when_response_flows(struct scen *sc, struct peer *p)
{
	if (p == &sc->cli && p->got >= 1 * MiB && sc->srv.eof &&
	    sc->relay != NULL) {
		hvs_relay_drain(sc->relay);
		sc->on_got = NULL;
	}
}

static int
relay_and_client_over(void *arg)
{
	struct scen *sc = arg;

	return sc->relay_done && (sc->cli.rerr != 0 || sc->cli.eof);
}

/*
 * Drain with one stream whole and one cut: the client's request ended
 * (SHUT_WR) and reached the server as an EOF; the server's response was
 * still flowing. Only the cut stream is reset: the server keeps its clean
 * EOF, the client gets every byte the relay read and then a reset.
 */
static void
test_drain_one_way_cut(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	struct xfer x = {.t = T_TCP, .ab = 64 * KiB, .ba = 512 * MiB};

	if (!testos_resets_reach_peer()) {
		skip_because(NO_RESET);
	}
	scen_start(sc, m, &x);
	sc->srv.no_shut = 1;
	sc->on_got = drain_when_response_flows;
	run_until(sc->base, relay_and_client_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_CLOSED);
	assert_true(sc->srv.eof);
	assert_int_equal(sc->srv.rerr, 0);
	assert_int_equal(sc->srv.got, x.ab);
	assert_int_equal(sc->srv.bad, 0);
	assert_false(sc->cli.eof);
	assert_int_equal(sc->cli.rerr, ECONNRESET);
	assert_int_equal(sc->cli.bad, 0);
	assert_int_equal(sc->cli.got, sc->st.bytes_b_to_a);
	assert_true(sc->cli.got < x.ba);
	scen_finish(sc);
}

/* ---- splice falling back to copy ------------------------------------- */

/*
 * A socket kind without splice (vsock on some kernels) answers EINVAL:
 * the relay must copy instead, at once (first call) or with bytes already
 * in the pipe (a later call), without losing or reordering any.
 */
static void
test_splice_fallback(void **state)
{
	static const int skips[] = {0, 1, 2, 5};
	struct xfer x = {.t = T_TCP, .ab = 3 * MiB + 5, .ba = 1 * MiB + 3};
	struct scen *sc = &the_scen;

	assert_true(mode_of(state)->splice);
	for (size_t i = 0; i < sizeof(skips) / sizeof(skips[0]); i++) {
		sysmock_reset();
		scen_start(sc, &mode_splice, &x);
		sysmock_fail(SYSMOCK_SPLICE, EINVAL, skips[i], -1);
		run_until(sc->base, scen_over, sc);
		assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
		assert_int_equal(sc->srv.got, x.ab);
		assert_int_equal(sc->cli.got, x.ba);
		assert_int_equal(sc->srv.bad, 0);
		assert_int_equal(sc->cli.bad, 0);
		scen_finish(sc);
	}
	/* ENOSYS the same way. */
	sysmock_reset();
	scen_start(sc, &mode_splice, &x);
	sysmock_fail(SYSMOCK_SPLICE, ENOSYS, 0, -1);
	run_until(sc->base, scen_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->st.spliced, 0);
	assert_int_equal(sc->srv.bad + sc->cli.bad, 0);
	scen_finish(sc);
}

/* No pipe to be had (EMFILE): the relay copies and loses nothing. */
static void
test_no_pipe(void **state)
{
	struct xfer x = {.t = T_TCP, .ab = 2 * MiB, .ba = 2 * MiB};
	struct scen *sc = &the_scen;

	assert_true(mode_of(state)->splice);
	scen_start(sc, &mode_splice, &x);
	sysmock_fail(SYSMOCK_PIPE2, EMFILE, 0, -1);
	run_until(sc->base, scen_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->srv.got, x.ab);
	assert_int_equal(sc->cli.got, x.ba);
	assert_int_equal(sc->srv.bad + sc->cli.bad, 0);
	scen_finish(sc);
}

/* ---- side a as descriptors (hvcat's stdin/stdout) -------------------- */

static void
fds_scen(void **state, int file_in)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	hvs_relay_opts_t o;
	uint64_t ab = 3 * MiB + 77, ba = 2 * MiB + 1;
	int in[2], out[2];
	hvs_sock_t pb[2];
	FILE *tmp = NULL;

	hvs_relay_opts_init(&o);
	o.flags = m->flags;
	if (TESTOS_WINSOCK) {
		skip_because("pipes as side a: the test's peer waits on them "
			     "with the event loop, which Windows cannot do "
			     "(loop-basics relays pipes and files there, "
			     "through hvs_fd_bridge())");
	}
	memset(sc, 0, sizeof(*sc));
	sc->base = event_base_new();
	make_pair(T_UNIX, pb);
	assert_int_equal(testos_pipe(out), 0);
	if (file_in) {
		/* A regular file: the loop cannot wait on it. */
		tmp = tmpfile();
		assert_non_null(tmp);
		for (uint64_t off = 0; off < ab; off += sizeof(wbuf)) {
			size_t len = ab - off < sizeof(wbuf)
			    ? (size_t)(ab - off)
			    : sizeof(wbuf);
			pattern(11, off, wbuf, len);
			assert_int_equal(fwrite(wbuf, 1, len, tmp), len);
		}
		fflush(tmp);
		in[0] = dup(fileno(tmp));
		assert_true(in[0] >= 0);
		fclose(tmp);
		lseek(in[0], 0, SEEK_SET);
		in[1] = -1;
	} else {
		assert_int_equal(testos_pipe(in), 0);
	}
	/* cli reads what the relay writes to a_out; writes to a_in. */
	peer_init(sc, &sc->cli, (hvs_sock_t)out[0], file_in ? -1 : in[1], 11,
	    file_in ? 0 : ab, 22, ba);
	if (file_in) {
		sc->cli.wdone = 1;
	}
	peer_init(sc, &sc->srv, pb[0], -1, 22, ba, 11, ab);
	assert_int_equal(hvs_relay_new_fds(&sc->relay, sc->base, in[0], out[1],
			     pb[1], &o, on_relay_done, sc),
	    0);
	peer_arm(&sc->cli);
	peer_arm(&sc->srv);
	run_until(sc->base, scen_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->srv.got, ab);
	assert_int_equal(sc->cli.got, ba);
	assert_int_equal(sc->srv.bad + sc->cli.bad, 0);
	assert_true(sc->cli.eof); /* a_out closed after b's EOF */
	scen_finish(sc);
}

static void
test_fds_pipes(void **state)
{
	fds_scen(state, 0);
}

static void
test_fds_file(void **state)
{
	fds_scen(state, 1);
}

/*
 * Side a is a terminal, one descriptor for both directions (hvcat in a
 * shell): the test drives the pty master. An EOF character ends side a's
 * input; the terminal itself cannot be half-closed, and must get its
 * blocking mode back, as the shell shares it.
 */
static void
test_fds_tty(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	hvs_relay_opts_t o;
	static const char line[] = "hello through a terminal\n";
	char eof = 4, buf[256];
	int master, slave, keep, err = 0;
	hvs_sock_t pb[2];
	size_t got = 0;

	hvs_relay_opts_init(&o);
	o.flags = m->flags;
	if (TESTOS_WINSOCK) {
		skip_because("terminals: Windows has no pty to drive (a "
			     "console is no descriptor the test can write "
			     "into)");
	}
	/* Canonical input (so ^D is an EOF), no echo, no output rewriting. */
	assert_int_equal(testos_pty(&master, &slave), 0);
	keep = dup(slave); /* the same open file description */

	memset(sc, 0, sizeof(*sc));
	sc->base = event_base_new();
	make_pair(T_UNIX, pb);
	assert_int_equal(hvs_relay_new_fds(&sc->relay, sc->base, slave, slave,
			     pb[1], &o, on_relay_done, sc),
	    0);
	/* What b sends comes out of the terminal. */
	assert_int_equal(testos_send(pb[0], "from b", 6, &err), 6);
	hvs_shutdown(pb[0], HVS_SHUT_WR);
	set_nonblock((hvs_sock_t)master);
	while (got < 6) {
		ssize_t n;

		event_base_loop(sc->base, EVLOOP_ONCE);
		n = read(master, buf + got, sizeof(buf) - got);
		if (n > 0) {
			got += (size_t)n;
		}
	}
	assert_memory_equal(buf, "from b", 6);
	/* A line typed into the terminal, then ^D. */
	assert_int_equal(write(master, line, sizeof(line) - 1),
	    (ssize_t)sizeof(line) - 1);
	assert_int_equal(write(master, &eof, 1), 1);
	run_until(sc->base, relay_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->st.bytes_a_to_b, sizeof(line) - 1);
	assert_int_equal(sc->st.bytes_b_to_a, 6);
	assert_int_equal(testos_read(pb[0], buf, sizeof(buf), &err),
	    (long)sizeof(line) - 1);
	assert_memory_equal(buf, line, sizeof(line) - 1);
	assert_false(testos_is_nonblock((hvs_sock_t)keep));
	close(keep);
	close(master);
	hvs_close(pb[0]);
	event_base_free(sc->base);
}

/*
 * HVS_RELAY_NONBLOCKING: the relay takes the caller's word and leaves the
 * descriptors' flags alone (a blocking one stays blocking: not touched,
 * and not "restored" either); with non-blocking sockets it relays as
 * always.
 */
static void
test_nonblocking_flag(void **state)
{
	struct scen *sc = &the_scen;
	hvs_relay_opts_t o;
	struct event_base *base;
	hvs_sock_t pa[2], pb[2];
	char buf[8];
	int err = 0;

	hvs_relay_opts_init(&o);
	o.flags = HVS_RELAY_NONBLOCKING;
	(void)state;
	memset(sc, 0, sizeof(*sc));
	sc->base = event_base_new();
	make_pair(T_TCP, pa);
	make_pair(T_TCP, pb);
	set_nonblock(pa[1]);
	assert_int_equal(hvs_relay_new(&sc->relay, sc->base, pa[1], pb[1], &o,
			     on_relay_done, sc),
	    0);
	assert_false(testos_is_nonblock(pb[1]));
	hvs_relay_destroy(sc->relay);
	run_until(sc->base, relay_over, sc);
	hvs_close(pa[0]);
	hvs_close(pb[0]);

	/* Non-blocking sockets: a request, its answer, both EOFs. */
	base = sc->base;
	memset(sc, 0, sizeof(*sc));
	sc->base = base;
	make_pair(T_TCP, pa);
	make_pair(T_TCP, pb);
	set_nonblock(pa[1]);
	set_nonblock(pb[1]);
	assert_int_equal(hvs_relay_new(&sc->relay, sc->base, pa[1], pb[1], &o,
			     on_relay_done, sc),
	    0);
	assert_int_equal(testos_send(pa[0], "ping", 4, &err), 4);
	assert_int_equal(hvs_shutdown(pa[0], HVS_SHUT_WR), 0);
	while (sc->st.bytes_a_to_b == 0 && !sc->relay_done) {
		hvs_relay_stats(sc->relay, &sc->st);
		event_base_loop(sc->base, EVLOOP_ONCE);
	}
	assert_int_equal(testos_read(pb[0], buf, sizeof(buf), &err), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(testos_send(pb[0], "pong", 4, &err), 4);
	assert_int_equal(hvs_shutdown(pb[0], HVS_SHUT_WR), 0);
	run_until(sc->base, relay_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->st.bytes_a_to_b, 4);
	assert_int_equal(sc->st.bytes_b_to_a, 4);
	assert_int_equal(testos_read(pa[0], buf, sizeof(buf), &err), 4);
	assert_memory_equal(buf, "pong", 4);
	assert_int_equal(testos_read(pa[0], buf, sizeof(buf), &err), 0);
	assert_int_equal(testos_read(pb[0], buf, sizeof(buf), &err), 0);
	hvs_close(pa[0]);
	hvs_close(pb[0]);
	event_base_free(sc->base);
}

/*
 * The reader of a_out goes away: writing to the pipe fails with EPIPE
 * and must not raise SIGPIPE (left at its default: it would kill us).
 */
static void
test_fds_epipe(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	hvs_relay_opts_t o;
	int in[2], out[2];
	hvs_sock_t pb[2];

	hvs_relay_opts_init(&o);
	o.flags = m->flags;
	if (TESTOS_WINSOCK) {
		skip_because("pipes as side a, and SIGPIPE: Windows has no "
			     "SIGPIPE, and the test's peer cannot wait on a "
			     "pipe there (bridge covers a broken output)");
	}
	testos_default_sigpipe();
	memset(sc, 0, sizeof(*sc));
	sc->base = event_base_new();
	make_pair(T_UNIX, pb);
	assert_int_equal(testos_pipe(in), 0);
	assert_int_equal(testos_pipe(out), 0);
	close(out[0]); /* nobody will ever read a_out */
	peer_init(sc, &sc->cli, HVS_INVALID_SOCK, in[1], 11, 0, 22, 0);
	sc->cli.no_shut = 1;
	peer_init(sc, &sc->srv, pb[0], -1, 22, 1 * MiB, 11, 0);
	assert_int_equal(hvs_relay_new_fds(&sc->relay, sc->base, in[0], out[1],
			     pb[1], &o, on_relay_done, sc),
	    0);
	peer_arm(&sc->cli);
	peer_arm(&sc->srv);
	run_until(sc->base, relay_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_RESET);
	assert_int_equal(sc->st.err, HVS_EPIPE);
	assert_int_equal(sc->st.err_side, 0);
	/* Writing a_out failed: a tool tells its stdout from its stdin. */
	assert_int_equal(sc->st.err_write, 1);
	scen_finish(sc);
}

/*
 * a_in is a directory: reading it fails with EISDIR, which the library
 * has no code of its own for. The error keeps the system's number and
 * text, and says that reading side a failed (a tool's stdin), not
 * writing it.
 */
static void
test_fds_read_error(void **state)
{
	const struct mode *m = mode_of(state);
	struct scen *sc = &the_scen;
	hvs_relay_opts_t o;
	int dir, out[2];
	hvs_sock_t pb[2];

	hvs_relay_opts_init(&o);
	o.flags = m->flags;
	if (TESTOS_WINSOCK) {
		skip_because("a directory as side a: Windows cannot open one "
			     "as a descriptor to read");
	}
	memset(sc, 0, sizeof(*sc));
	sc->base = event_base_new();
	make_pair(T_UNIX, pb);
	assert_int_equal(testos_pipe(out), 0);
	dir = testos_open_dir(".");
	assert_true(dir >= 0);
	assert_int_equal(hvs_relay_new_fds(&sc->relay, sc->base, dir, out[1],
			     pb[1], &o, on_relay_done, sc),
	    0);
	run_until(sc->base, relay_over, sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_ERROR);
	assert_int_equal(sc->st.err, HVS_ESYS(EISDIR));
	assert_string_equal(hvs_strerror(sc->st.err), strerror(EISDIR));
	assert_int_equal(sc->st.err_side, 0);
	assert_int_equal(sc->st.err_write, 0);
	close(out[0]);
	hvs_close(pb[0]);
	event_base_free(sc->base);
}

/* ---- many relays, idle cost ------------------------------------------ */

#define MANY 2000

static int many_done;

static void
on_many_done(hvs_relay_t *r, const hvs_relay_stats_t *st, void *arg)
{
	struct scen *sc = arg;

	(void)r;
	sc->st = *st;
	sc->relay_done = 1;
	sc->relay = NULL;
	many_done++;
}

static int
many_over(void *arg)
{
	struct scen *v = arg;

	if (many_done < MANY) {
		return 0;
	}
	for (int i = 0; i < MANY; i++) {
		if (!peer_finished(&v[i].cli) || !peer_finished(&v[i].srv)) {
			return 0;
		}
	}
	return 1;
}

/* 2,000 relays at once on one loop, each moving bytes both ways. */
static void
test_many_relays(void **state)
{
	const struct mode *m = mode_of(state);
	hvs_relay_opts_t o;
	struct event_base *base = event_base_new();
	struct scen *v = calloc(MANY, sizeof(*v));
	hvs_relay_counters_t c0, c1;
	hvs_sock_t pa[2], pb[2];

	hvs_relay_opts_init(&o);
	o.flags = m->flags;
	assert_non_null(v);
	hvs_relay_counters(&c0);
	many_done = 0;
	for (int i = 0; i < MANY; i++) {
		struct scen *sc = &v[i];
		uint64_t ab = 1 + (uint64_t)(i * 37) % (24 * KiB);
		uint64_t ba = 1 + (uint64_t)(i * 53) % (16 * KiB);

		sc->base = base;
		make_pair(T_UNIX, pa);
		make_pair(T_UNIX, pb);
		peer_init(sc, &sc->cli, pa[0], -1, 1000 + (uint64_t)i, ab,
		    5000 + (uint64_t)i, ba);
		peer_init(sc, &sc->srv, pb[0], -1, 5000 + (uint64_t)i, ba,
		    1000 + (uint64_t)i, ab);
		sc->srv.send_after_eof = (i % 2) ? 1 : 0;
		assert_int_equal(hvs_relay_new(&sc->relay, base, pa[1], pb[1],
				     &o, on_many_done, sc),
		    0);
	}
	hvs_relay_counters(&c1);
	assert_int_equal(c1.relays_active, c0.relays_active + MANY);
	for (int i = 0; i < MANY; i++) {
		peer_arm(&v[i].cli);
		peer_arm(&v[i].srv);
	}
	run_until(base, many_over, v);
	for (int i = 0; i < MANY; i++) {
		struct scen *sc = &v[i];

		assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
		assert_int_equal(sc->srv.got, sc->cli.send_len);
		assert_int_equal(sc->cli.got, sc->srv.send_len);
		assert_int_equal(sc->srv.bad + sc->cli.bad, 0);
		peer_cleanup(&sc->cli);
		peer_cleanup(&sc->srv);
	}
	hvs_relay_counters(&c1);
	assert_int_equal(c1.relays_total, c0.relays_total + MANY);
	assert_int_equal(c1.relays_active, c0.relays_active);
	assert_int_equal(c1.pipes_in_use, 0);
	assert_true(c1.bytes_total > c0.bytes_total);
	free(v);
	event_base_free(base);
}

#define IDLE_N 2000

static size_t
heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	return mallinfo2().uordblks;
#else
	return 0;
#endif
}

/*
 * What an idle relay costs: its two sockets, no pipe, no buffer, and a
 * little heap (the relay object and libevent's per-descriptor entries).
 * The first round warms libevent's tables up (they grow with the highest
 * descriptor), so that only the second round's relays are measured.
 */
static void
test_idle_cost(void **state)
{
	const struct mode *m = mode_of(state);
	hvs_relay_opts_t o;
	struct event_base *base = event_base_new();
	static hvs_relay_t *rs[IDLE_N];
	static hvs_sock_t rel[IDLE_N][2];
	static hvs_sock_t peers[IDLE_N][2];
	hvs_relay_counters_t c;
	hvs__relay_debug_t dbg;
	hvs_sock_t pa[2], pb[2];
	int fds0, fds1;
	size_t heap0, heap1;

	hvs_relay_opts_init(&o);
	o.flags = m->flags;
	o.idle_timeout_ms = 3600000;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < IDLE_N; i++) {
			make_pair(T_UNIX, pa);
			make_pair(T_UNIX, pb);
			peers[i][0] = pa[0];
			peers[i][1] = pb[0];
			rel[i][0] = pa[1];
			rel[i][1] = pb[1];
		}
		fds0 = count_fds();
		heap0 = heap_in_use();
		for (int i = 0; i < IDLE_N; i++) {
			assert_int_equal(hvs_relay_new(&rs[i], base, rel[i][0],
					     rel[i][1], &o, NULL, NULL),
			    0);
		}
		/* Let the loop run over them once: still idle. */
		event_base_loop(base, EVLOOP_NONBLOCK);
		heap1 = heap_in_use();
		fds1 = count_fds();
		hvs_relay_counters(&c);
		assert_int_equal(c.pipes_in_use, 0);
		hvs__relay_debug(rs[IDLE_N / 2], &dbg);
		assert_false(dbg.has_buf[0] || dbg.has_buf[1]);
		assert_false(dbg.has_pipe[0] || dbg.has_pipe[1]);
		assert_true(dbg.reading[0] && dbg.reading[1]);
		/* No descriptor beyond the two sockets each was given. */
		assert_int_equal(fds1, fds0);
		if (heap0 == 0) {
			/* mallinfo2() is glibc's: nothing to show. */
			print_message("  [%s] idle relay: heap not measured "
				      "here; relay object %lu, 2 sockets, 0 "
				      "pipes, 0 buffers\n",
			    m->name, (unsigned long)dbg.size);
		} else if (round == 0) {
			print_message("  [%s] idle relay on fresh descriptors: "
				      "%lu bytes of heap each (with libevent's "
				      "per-descriptor entries, kept for "
				      "reuse)\n",
			    m->name, (unsigned long)((heap1 - heap0) / IDLE_N));
		} else {
			print_message("  [%s] idle relay: %lu bytes of heap "
				      "each (relay object %lu), 2 sockets, 0 "
				      "pipes, "
				      "0 buffers\n",
			    m->name, (unsigned long)((heap1 - heap0) / IDLE_N),
			    (unsigned long)dbg.size);
			if (!UNDER_ASAN && heap0 != 0) {
				assert_true((heap1 - heap0) / IDLE_N <= 4096);
			}
		}
		for (int i = 0; i < IDLE_N; i++) {
			hvs_relay_destroy(rs[i]);
			hvs_close(peers[i][0]);
			hvs_close(peers[i][1]);
		}
	}
	event_base_free(base);
}

/* ---- argument checks ------------------------------------------------- */

static void
test_bad_args(void **state)
{
	struct event_base *base = event_base_new();
	hvs_relay_opts_t o;
	hvs_relay_t *r = NULL;
	hvs_relay_stats_t st;
	hvs_sock_t p[2];

	hvs_relay_opts_init(&o);
	o.idle_timeout_ms = -1;
	(void)state;
	testos_socketpair(p);
	assert_int_equal(hvs_relay_new(NULL, base, p[0], p[1], NULL, NULL,
			     NULL),
	    HVS_EINVAL);
	assert_int_equal(hvs_relay_new(&r, NULL, p[0], p[1], NULL, NULL, NULL),
	    HVS_EINVAL);
	assert_int_equal(hvs_relay_new(&r, base, p[0], p[0], NULL, NULL, NULL),
	    HVS_EINVAL);
	assert_int_equal(hvs_relay_new(&r, base, p[0], p[1], &o, NULL, NULL),
	    HVS_EINVAL);
	/* A closed descriptor; the good one stays the caller's. */
	assert_int_equal(hvs_relay_new(&r, base, p[0], 999, NULL, NULL, NULL),
	    HVS_EBADF);
	assert_false(testos_is_nonblock(p[0]));
	hvs_relay_stats(NULL, &st);
	hvs_relay_counters(NULL);
	hvs_close(p[0]);
	hvs_close(p[1]);
	event_base_free(base);
}

/* ---- the table ------------------------------------------------------- */

/* Where there is no zero-copy path, its cases say so. */
static void
no_splice(void **state)
{
	(void)state;
	skip_because("no splice(2) on Windows: the relay always copies, and "
		     "the /copy cases run");
}

/* One case, run on the zero-copy path and on the copy path. */
/* clang-format off */
#define SPLICE(fn) {#fn "/splice", TESTOS_WINSOCK ? no_splice : fn, \
	TESTOS_WINSOCK ? NULL : setup, TESTOS_WINSOCK ? NULL : teardown, \
	&fx_splice}
#define COPY(fn) {#fn "/copy", fn, setup, teardown, &fx_copy}
/* clang-format on */
#define BOTH(fn) SPLICE(fn), COPY(fn)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    BOTH(test_bad_args),
	    BOTH(test_bytes_0),
	    BOTH(test_bytes_1),
	    BOTH(test_bytes_65535),
	    BOTH(test_bytes_64m_one_way),
	    BOTH(test_bytes_64m_both_ways),
	    BOTH(test_bytes_both_ways_unix),
	    BOTH(test_half_close_a_first),
	    BOTH(test_half_close_b_first),
	    BOTH(test_small_watermark),
	    BOTH(test_no_half_close),
	    BOTH(test_b_eof_ends),
	    BOTH(test_reset_from_a),
	    BOTH(test_reset_from_b),
	    BOTH(test_read_error),
	    BOTH(test_slow_consumer),
	    BOTH(test_idle_timeout),
	    BOTH(test_close),
	    BOTH(test_drain),
	    BOTH(test_drain_one_way_cut),
	    SPLICE(test_splice_fallback),
	    SPLICE(test_no_pipe),
	    BOTH(test_fds_pipes),
	    BOTH(test_fds_file),
	    BOTH(test_fds_tty),
	    BOTH(test_fds_epipe),
	    BOTH(test_fds_read_error),
	    COPY(test_nonblocking_flag),
	    BOTH(test_many_relays),
	    BOTH(test_idle_cost),
	};

	/* 2,000 relays on socketpairs need 8,000 descriptors. */
	testos_raise_fd_limit();
	/* Run a subset: TEST_FILTER=pattern, TEST_SKIP=pattern. */
	if (getenv("TEST_FILTER") != NULL) {
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	}
	if (getenv("TEST_SKIP") != NULL) {
		cmocka_set_skip_filter(getenv("TEST_SKIP"));
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
