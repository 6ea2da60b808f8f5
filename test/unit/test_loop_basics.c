/* SPDX-License-Identifier: MIT */
/*
 * The event loop's basics on every platform, Windows (under wine) too: a
 * relay between loopback TCP sockets that passes each half-close on, and
 * hvs_relay_new_fds() with a pipe or a file as side a (through
 * hvs_fd_bridge() on Windows, as they are on POSIX).
 */
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
#include "testio.h"

struct scen {
	struct event_base *base;
	struct event *tick; /* wakes the loop now and then: see setup() */
	hvs_sock_t l; /* listener on 127.0.0.1 */
	int done;
	hvs_relay_stats_t st;
};

static void
on_done(hvs_relay_t *r, const hvs_relay_stats_t *st, void *arg)
{
	struct scen *sc = arg;

	(void)r;
	sc->st = *st;
	sc->done++;
}

static void
run_until_done(struct scen *sc)
{
	while (!sc->done) {
		assert_int_equal(event_base_loop(sc->base, EVLOOP_ONCE), 0);
	}
	assert_int_equal(sc->done, 1);
}

/* A connected loopback pair: *@c connected, *@s accepted (blocking). */
static void
tcp_pair(struct scen *sc, hvs_sock_t *c, hvs_sock_t *s)
{
	hvs_addr_t a;

	assert_int_equal(hvs_sock_local_addr(sc->l, &a), 0);
	assert_int_equal(hvs_connect(c, &a, NULL), 0);
	assert_int_equal(hvs_accept(sc->l, s, NULL, 0), 0);
}

static void
send_str(hvs_sock_t s, const char *str)
{
	size_t n;

	assert_int_equal(hvs_send(s, str, strlen(str), &n), 0);
	assert_int_equal(n, strlen(str));
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static int
setup(void **state)
{
	struct timeval tv = {0, 5000};
	struct scen *sc = calloc(1, sizeof(*sc));
	hvs_addr_t a;

	assert_non_null(sc);
	assert_int_equal(hvs__os_init(), 0);
	sc->base = event_base_new();
	assert_non_null(sc->base);
	/* A loop round never blocks for long, so that a test can look at
	 * its sockets between rounds (a liveness aid, nothing is timed). */
	sc->tick = event_new(sc->base, -1, EV_PERSIST, on_tick, NULL);
	assert_non_null(sc->tick);
	assert_int_equal(event_add(sc->tick, &tv), 0);
	assert_int_equal(hvs_addr_parse_str(&a, "tcp:127.0.0.1:0",
			     HVS_ROLE_LISTEN, NULL),
	    0);
	assert_int_equal(hvs_listen(&sc->l, &a, NULL), 0);
	*state = sc;
	return 0;
}

static int
teardown(void **state)
{
	struct scen *sc = *state;

	hvs_close(sc->l);
	event_free(sc->tick);
	event_base_free(sc->base);
	free(sc);
	return 0;
}

/*
 * Each side half-closes after its message; the relay passes each EOF on
 * after the message and ends when both are through.
 */
static void
test_tcp_half_close(void **state)
{
	struct scen *sc = *state;
	hvs_sock_t c1, a, c2, b;
	hvs_relay_t *r;
	char buf[64];
	size_t got = 0;

	tcp_pair(sc, &c1, &a);
	tcp_pair(sc, &c2, &b);
	assert_int_equal(hvs_relay_new(&r, sc->base, a, b, NULL, on_done, sc),
	    0);
	send_str(c1, "ping from a");
	assert_int_equal(hvs_shutdown(c1, HVS_SHUT_WR), 0);
	/* c2 gets it all and the EOF while its own direction is open. */
	assert_int_equal(hvs_set_nonblock(c2, 1), 0);
	for (;;) {
		size_t n;
		int rc;

		assert_int_equal(sc->done, 0);
		assert_int_equal(event_base_loop(sc->base, EVLOOP_ONCE), 0);
		rc = hvs_recv(c2, buf + got, sizeof(buf) - got, &n);
		if (rc == HVS_EOF) {
			break;
		}
		if (rc != HVS_EAGAIN) {
			assert_int_equal(rc, 0);
			got += n;
		}
	}
	assert_int_equal(hvs_set_nonblock(c2, 0), 0);
	assert_int_equal(got, strlen("ping from a"));
	assert_memory_equal(buf, "ping from a", got);
	/* The other way still flows after that half-close. */
	send_str(c2, "pong from b");
	assert_int_equal(hvs_shutdown(c2, HVS_SHUT_WR), 0);
	run_until_done(sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->st.bytes_a_to_b, strlen("ping from a"));
	assert_int_equal(sc->st.bytes_b_to_a, strlen("pong from b"));
	assert_int_equal(recv_all(c1, buf, sizeof(buf)), strlen("pong from b"));
	assert_memory_equal(buf, "pong from b", strlen("pong from b"));
	hvs_close(c1);
	hvs_close(c2);
}

/* Side a as two pipes, as a tool's stdin and stdout are. */
static void
test_fds_pipes(void **state)
{
	struct scen *sc = *state;
	hvs_sock_t c, b;
	hvs_relay_t *r;
	int in[2], out[2];
	char buf[64];

	tcp_pair(sc, &c, &b);
	assert_int_equal(t_pipe(in), 0);
	assert_int_equal(t_pipe(out), 0);
	assert_int_equal(t_write(in[1], "request\n", 8), 8);
	assert_int_equal(t_close(in[1]), 0);
	send_str(c, "reply\r\n");
	assert_int_equal(hvs_shutdown(c, HVS_SHUT_WR), 0);
	assert_int_equal(hvs_relay_new_fds(&r, sc->base, in[0], out[1], b, NULL,
			     on_done, sc),
	    0);
	run_until_done(sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->st.bytes_a_to_b, 8);
	assert_int_equal(sc->st.bytes_b_to_a, 7);
	assert_int_equal(recv_all(c, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "request\n", 8);
	/* The EOF of b closed out[1], after every byte (binary). */
	assert_int_equal(read_all(out[0], buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "reply\r\n", 7);
	t_close(out[0]);
	hvs_close(c);
}

/* A file as side a's input: read to its end, then the half-close. */
static void
test_fds_file(void **state)
{
	struct scen *sc = *state;
	static const char text[] = "line one\r\nline two\n\x1a binary\n";
	hvs_sock_t c, b;
	hvs_relay_t *r;
	int fd, out[2];
	char path[64], buf[128];
	size_t len = sizeof(text) - 1;

	snprintf(path, sizeof(path), "test-loop-basics-%u.tmp",
	    (unsigned)(uintptr_t)sc);
#ifdef _WIN32
	fd = _open(path, _O_RDWR | _O_CREAT | _O_TRUNC | _O_BINARY,
	    _S_IREAD | _S_IWRITE);
#else
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
#endif
	assert_true(fd >= 0);
	assert_int_equal(t_write(fd, text, len), (long)len);
	t_close(fd);
#ifdef _WIN32
	fd = _open(path, _O_RDONLY | _O_BINARY);
#else
	fd = open(path, O_RDONLY | O_CLOEXEC);
#endif
	assert_true(fd >= 0);
	tcp_pair(sc, &c, &b);
	assert_int_equal(t_pipe(out), 0);
	assert_int_equal(hvs_relay_new_fds(&r, sc->base, fd, out[1], b, NULL,
			     on_done, sc),
	    0);
	/* c answers nothing; the file's bytes and EOF reach it. */
	assert_int_equal(hvs_shutdown(c, HVS_SHUT_WR), 0);
	run_until_done(sc);
	assert_int_equal(sc->st.reason, HVS_RELAY_DONE);
	assert_int_equal(sc->st.bytes_a_to_b, len);
	assert_int_equal(recv_all(c, buf, sizeof(buf)), len);
	assert_memory_equal(buf, text, len);
	assert_int_equal(read_all(out[0], buf, sizeof(buf)), 0);
	t_close(out[0]);
	hvs_close(c);
	remove(path);
}

/* Bad arguments leave every descriptor the caller's. */
static void
test_fds_bad_args(void **state)
{
	struct scen *sc = *state;
	hvs_sock_t c, b;
	hvs_relay_t *r;
	hvs_relay_opts_t o;
	int p[2];

	hvs_relay_opts_init(&o);
	tcp_pair(sc, &c, &b);
	assert_int_equal(t_pipe(p), 0);
	assert_int_equal(hvs_relay_new_fds(&r, sc->base, -1, p[1], b, NULL,
			     NULL, NULL),
	    HVS_EINVAL);
	assert_int_equal(hvs_relay_new_fds(NULL, sc->base, p[0], p[1], b, NULL,
			     NULL, NULL),
	    HVS_EINVAL);
	o.idle_timeout_ms = -1;
	assert_int_equal(hvs_relay_new_fds(&r, sc->base, p[0], p[1], b, &o,
			     NULL, NULL),
	    HVS_EINVAL);
	assert_int_equal(hvs_relay_new(&r, sc->base, b, b, NULL, NULL, NULL),
	    HVS_EINVAL);
	/* Still open and working. */
	assert_int_equal(t_write(p[1], "x", 1), 1);
	assert_int_equal(t_close(p[1]), 0);
	assert_int_equal(t_read(p[0], &o, 1), 1);
	assert_int_equal(t_close(p[0]), 0);
	send_str(c, "y");
	assert_int_equal(hvs_close(c), 0);
	assert_int_equal(hvs_close(b), 0);
}

/* The option structs' init functions give every documented default. */
static void
test_opts_init(void **state)
{
	hvs_listener_opts_t lo;
	hvs_relay_opts_t ro;

	(void)state;
	memset(&lo, 0xa5, sizeof(lo));
	hvs_listener_opts_init(&lo);
	assert_null(lo.filter);
	assert_null(lo.on_error);
	assert_int_equal(lo.pause_ms, 0);
	memset(&ro, 0xa5, sizeof(ro));
	hvs_relay_opts_init(&ro);
	assert_int_equal(ro.flags, 0);
	assert_int_equal(ro.high_watermark, 0);
	assert_int_equal(ro.idle_timeout_ms, 0);
	assert_int_equal(ro.eof_close_ms, 0);
	/* NULL is fine. */
	hvs_listener_opts_init(NULL);
	hvs_relay_opts_init(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tcp_half_close, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_fds_pipes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fds_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fds_bad_args, setup, teardown),
	    cmocka_unit_test(test_opts_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
