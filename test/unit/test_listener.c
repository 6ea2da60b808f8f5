/* SPDX-License-Identifier: MIT */
/*
 * Listener tests on loopback TCP and unix sockets: accepting, the peer
 * filter, back-off on EMFILE (scripted through the sysmock seam and for
 * real with a low RLIMIT_NOFILE) and recovery, pausing, and destroying the
 * listener from inside its own callbacks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include <event2/event.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "loop/debug.h"
#include "sysmock.h"
#include "testutil.h"

#define MAXC 16
/* Liveness bound; never a performance threshold. */
#define LIVENESS_S 30

struct ctx {
	struct event_base *base;
	hvs_listener_t *l;
	int accepted;
	hvs_sock_t socks[MAXC];
	hvs_addr_t peers[MAXC];
	int errors;
	int last_err;
	int filter_calls;
	int destroy_in_accept; /* destroy at the n-th accept */
	int destroy_in_error;
	int fill_fds[4096];
	int nfill;
};

static void
on_accept(hvs_listener_t *l, hvs_sock_t s, const hvs_addr_t *peer, void *arg)
{
	struct ctx *c = arg;

	assert_ptr_equal(l, c->l);
	assert_true(c->accepted < MAXC);
	/* Handed over non-blocking. */
	assert_true(testos_is_nonblock(s));
	c->socks[c->accepted] = s;
	c->peers[c->accepted] = *peer;
	c->accepted++;
	if (c->destroy_in_accept == c->accepted) {
		hvs_listener_destroy(l);
		c->l = NULL;
	}
}

static void
on_error(hvs_listener_t *l, int err, void *arg)
{
	struct ctx *c = arg;

	assert_ptr_equal(l, c->l);
	c->errors++;
	c->last_err = err;
	if (c->destroy_in_error) {
		hvs_listener_destroy(l);
		c->l = NULL;
	}
}

static volatile int expired;

static void
on_liveness(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	expired = 1;
}

static void
run_until_accepted(struct ctx *c, int n)
{
	struct timeval tv = {LIVENESS_S, 0};
	struct event *live = evtimer_new(c->base, on_liveness, NULL);

	expired = 0;
	evtimer_add(live, &tv);
	while (c->accepted < n && !expired) {
		event_base_loop(c->base, EVLOOP_ONCE);
	}
	event_free(live);
	assert_false(expired);
}

/* Run the loop for a moment (to show that nothing happens). */
static void
run_a_while(struct ctx *c, int ms)
{
	struct timeval tv = {0, ms * 1000};

	event_base_loopexit(c->base, &tv);
	event_base_dispatch(c->base);
}

static void
ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->base = event_base_new();
	assert_non_null(c->base);
}

static void
ctx_free(struct ctx *c)
{
	for (int i = 0; i < c->accepted; i++) {
		hvs_close(c->socks[i]);
	}
	hvs_listener_destroy(c->l);
	event_base_free(c->base);
}

static hvs_addr_t
parse(const char *s, hvs_role_t role)
{
	hvs_addr_t a;

	assert_int_equal(hvs_addr_parse_str(&a, s, role, NULL), 0);
	return a;
}

/* The connect address of the listener's socket. */
static hvs_addr_t
listener_addr(hvs_listener_t *l)
{
	hvs_addr_t a;

	assert_int_equal(hvs_sock_local_addr(hvs_listener_sock(l), &a), 0);
	return a;
}

static hvs_sock_t
client(const hvs_addr_t *a)
{
	hvs_sockopts_t o;
	hvs_sock_t s;

	hvs_sockopts_init(&o);
	o.timeout_ms = 5000;
	assert_int_equal(hvs_connect(&s, a, &o), 0);
	return s;
}

static void
test_accept_tcp(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), ca;
	struct ctx c;
	hvs_sock_t cl[3];

	(void)state;
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, NULL,
			     on_accept, &c),
	    0);
	ca = listener_addr(c.l);
	for (int i = 0; i < 3; i++) {
		cl[i] = client(&ca);
	}
	run_until_accepted(&c, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c.peers[i].kind, HVS_ADDR_TCP);
		assert_string_equal(c.peers[i].u.tcp.host, "127.0.0.1");
		hvs_close(cl[i]);
	}
	ctx_free(&c);
}

static void
test_accept_unix(void **state)
{
	char path[64], spec[80];
	hvs_addr_t la, ca;
	struct ctx c;
	hvs_sock_t cl;

	(void)state;
	if (TESTOS_WINSOCK) {
		skip_because("unix sockets: wine has no AF_UNIX, and the "
			     "abstract namespace is Linux only");
	}
	snprintf(path, sizeof(path), "/tmp/hvs-test-listener-%d.sock",
	    (int)getpid());
	unlink(path);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	la = parse(spec, HVS_ROLE_LISTEN);
	ca = parse(spec, HVS_ROLE_CONNECT);
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, NULL,
			     on_accept, &c),
	    0);
	cl = client(&ca);
	run_until_accepted(&c, 1);
	assert_int_equal(c.peers[0].kind, HVS_ADDR_UNIX);
	hvs_close(cl);
	ctx_free(&c);
	unlink(path);

	/* The Linux abstract namespace. */
	snprintf(spec, sizeof(spec), "unix:@hvs-test-listener-%d",
	    (int)getpid());
	la = parse(spec, HVS_ROLE_LISTEN);
	ca = parse(spec, HVS_ROLE_CONNECT);
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, NULL,
			     on_accept, &c),
	    0);
	cl = client(&ca);
	run_until_accepted(&c, 1);
	hvs_close(cl);
	ctx_free(&c);
}

/* An inherited listening socket (systemd): fd:N and _new_sock(). */
static void
test_inherited(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), ca;
	char spec[32];
	hvs_sock_t ls;
	struct ctx c;
	hvs_sock_t cl;

	(void)state;
	assert_int_equal(hvs_listen(&ls, &la, NULL), 0);
	snprintf(spec, sizeof(spec), "fd:%d", (int)ls);
	la = parse(spec, HVS_ROLE_LISTEN);
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, NULL,
			     on_accept, &c),
	    0);
	assert_int_equal(hvs_listener_sock(c.l), ls);
	ca = listener_addr(c.l);
	cl = client(&ca);
	run_until_accepted(&c, 1);
	hvs_close(cl);
	ctx_free(&c); /* closes ls */

	la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN);
	assert_int_equal(hvs_listen(&ls, &la, NULL), 0);
	ctx_init(&c);
	assert_int_equal(hvs_listener_new_sock(&c.l, c.base, ls, NULL,
			     on_accept, &c),
	    0);
	ca = listener_addr(c.l);
	cl = client(&ca);
	run_until_accepted(&c, 1);
	hvs_close(cl);
	ctx_free(&c);
}

/* Refuses every other connection; sees the peer before any allocation. */
static int
filter_odd(const hvs_addr_t *peer, void *arg)
{
	struct ctx *c = arg;

	assert_int_equal(peer->kind, HVS_ADDR_TCP);
	return (c->filter_calls++ % 2) == 0;
}

static void
test_filter(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), ca;
	hvs_listener_opts_t o;
	struct ctx c;
	hvs_sock_t cl[4];
	size_t n;
	char ch;

	hvs_listener_opts_init(&o);
	o.filter = filter_odd;
	(void)state;
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, &o,
			     on_accept, &c),
	    0);
	ca = listener_addr(c.l);
	for (int i = 0; i < 4; i++) {
		cl[i] = client(&ca);
	}
	run_until_accepted(&c, 2);
	while (c.filter_calls < 4) {
		event_base_loop(c.base, EVLOOP_ONCE);
	}
	assert_int_equal(c.accepted, 2);
	assert_int_equal(hvs__listener_refused(c.l), 2);
	/* The refused ones were closed at once. */
	assert_int_equal(hvs_recv(cl[1], &ch, 1, &n), HVS_EOF);
	assert_int_equal(hvs_recv(cl[3], &ch, 1, &n), HVS_EOF);
	for (int i = 0; i < 4; i++) {
		hvs_close(cl[i]);
	}
	ctx_free(&c);
}

/*
 * accept() fails with EMFILE three times: the listener pauses each time
 * (the error callback says so) instead of spinning on the still-readable
 * socket, and takes the connection once accept() works again.
 */
static void
test_emfile_scripted(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), ca;
	hvs_listener_opts_t o;
	struct ctx c;
	hvs_sock_t cl;

	hvs_listener_opts_init(&o);
	o.on_error = on_error;
	o.pause_ms = 20;
	(void)state;
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, &o,
			     on_accept, &c),
	    0);
	ca = listener_addr(c.l);
	cl = client(&ca);
	sysmock_reset();
	sysmock_fail(SYSMOCK_ACCEPT, EMFILE, 0, 3);
	run_until_accepted(&c, 1);
	assert_int_equal(c.errors, 3);
	assert_int_equal(c.last_err, HVS_EMFILE);
	/* 3 failures, 1 success, at most 1 EAGAIN: no spinning. */
	assert_true(sysmock_count(SYSMOCK_ACCEPT) <= 5);
	hvs_close(cl);
	ctx_free(&c);
}

static void
on_error_free_fds(hvs_listener_t *l, int err, void *arg)
{
	struct ctx *c = arg;

	on_error(l, err, arg);
	/*
	 * Descriptors come free while the listener is paused, after its
	 * third pause: until then it must keep backing off, not spin.
	 */
	if (c->errors < 3) {
		return;
	}
	while (c->nfill > 0) {
		testos_fd_release(c->fill_fds[--c->nfill]);
	}
}

/*
 * The same with a real descriptor shortage (a low RLIMIT_NOFILE): three
 * pauses with the connections waiting in the kernel, then the descriptors
 * come free and every pending connection is taken. The accept() calls are
 * counted: a listener that spun on the readable socket would make many.
 */
static void
test_emfile_real(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), ca;
	hvs_listener_opts_t o;
	struct ctx c;
	hvs_sock_t cl[3];
	int n;

	hvs_listener_opts_init(&o);
	o.on_error = on_error_free_fds;
	o.pause_ms = 20;
	(void)state;
	if (RUNNING_ON_VALGRIND) {
		/*
		 * valgrind keeps descriptors of its own above the soft limit
		 * and refuses calls on descriptors near it with EBADF: a
		 * real shortage cannot be staged there. The scripted test
		 * covers the same path.
		 */
		skip_because("valgrind: no real descriptor shortage");
	}
	if (TESTOS_WINSOCK) {
		skip_because("Windows has no limit on open descriptors to "
			     "lower (RLIMIT_NOFILE); test_emfile_scripted "
			     "covers the same path");
	}
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, &o,
			     on_accept, &c),
	    0);
	ca = listener_addr(c.l);
	for (int i = 0; i < 3; i++) {
		cl[i] = client(&ca);
	}
	/* Take every descriptor left under a limit a little above use. */
	n = testos_fd_shortage(hvs_listener_sock(c.l), 64, c.fill_fds,
	    (int)HVS__ARRAY_LEN(c.fill_fds));
	assert_true(n >= 0);
	c.nfill = n;
	sysmock_reset(); /* zero the counters; nothing is scripted */
	run_until_accepted(&c, 3);
	assert_int_equal(c.errors, 3);
	assert_int_equal(c.last_err, HVS_EMFILE);
	assert_int_equal(c.nfill, 0);
	/* 3 refused, 3 taken, and an EAGAIN per wake-up at most. */
	print_message("  accept() calls: %u for 3 EMFILE pauses and 3 "
		      "connections\n",
	    sysmock_count(SYSMOCK_ACCEPT));
	assert_true(sysmock_count(SYSMOCK_ACCEPT) <= 10);
	testos_fd_shortage_end();
	for (int i = 0; i < 3; i++) {
		hvs_close(cl[i]);
	}
	ctx_free(&c);
}

/* Destroyed from the accept callback with more connections pending. */
static void
test_destroy_in_accept(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), ca;
	struct ctx c;
	hvs_sock_t cl[4];

	(void)state;
	ctx_init(&c);
	c.destroy_in_accept = 2;
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, NULL,
			     on_accept, &c),
	    0);
	ca = listener_addr(c.l);
	for (int i = 0; i < 4; i++) {
		cl[i] = client(&ca);
	}
	run_until_accepted(&c, 2);
	assert_null(c.l);
	run_a_while(&c, 20);
	assert_int_equal(c.accepted, 2);
	for (int i = 0; i < 4; i++) {
		hvs_close(cl[i]);
	}
	ctx_free(&c);
}

/* Destroyed from the error callback while backing off. */
static void
test_destroy_in_error(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), ca;
	hvs_listener_opts_t o;
	struct ctx c;
	hvs_sock_t cl;

	hvs_listener_opts_init(&o);
	o.on_error = on_error;
	o.pause_ms = 10;
	(void)state;
	ctx_init(&c);
	c.destroy_in_error = 1;
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, &o,
			     on_accept, &c),
	    0);
	ca = listener_addr(c.l);
	cl = client(&ca);
	sysmock_reset();
	sysmock_fail(SYSMOCK_ACCEPT, ENFILE, 0, 1);
	while (c.errors == 0) {
		event_base_loop(c.base, EVLOOP_ONCE);
	}
	assert_null(c.l);
	assert_int_equal(c.last_err, HVS_ENFILE);
	run_a_while(&c, 30); /* the pause timer must be gone too */
	assert_int_equal(c.accepted, 0);
	hvs_close(cl);
	ctx_free(&c);
}

static void
test_enable(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), ca;
	struct ctx c;
	hvs_sock_t cl;

	(void)state;
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, NULL,
			     on_accept, &c),
	    0);
	assert_int_equal(hvs_listener_enable(c.l, 0), 0);
	ca = listener_addr(c.l);
	cl = client(&ca);
	run_a_while(&c, 20);
	assert_int_equal(c.accepted, 0);
	assert_int_equal(hvs_listener_enable(c.l, 1), 0);
	run_until_accepted(&c, 1);
	hvs_close(cl);
	ctx_free(&c);
}

static void
test_bad_args(void **state)
{
	hvs_addr_t la = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN);
	hvs_addr_t st = parse("stdio", HVS_ROLE_LISTEN);
	hvs_listener_opts_t o;
	struct ctx c;

	hvs_listener_opts_init(&o);
	o.pause_ms = -1;
	(void)state;
	ctx_init(&c);
	assert_int_equal(hvs_listener_new(NULL, c.base, &la, NULL, NULL,
			     on_accept, &c),
	    HVS_EINVAL);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, NULL, NULL,
			     &c),
	    HVS_EINVAL);
	assert_int_equal(hvs_listener_new(&c.l, NULL, &la, NULL, NULL,
			     on_accept, &c),
	    HVS_EINVAL);
	assert_int_equal(hvs_listener_new(&c.l, c.base, &la, NULL, &o,
			     on_accept, &c),
	    HVS_EINVAL);
	assert_true(
	    hvs_listener_new(&c.l, c.base, &st, NULL, NULL, on_accept, &c) < 0);
	assert_int_equal(hvs_listener_new_sock(&c.l, c.base, HVS_INVALID_SOCK,
			     NULL, on_accept, &c),
	    HVS_EINVAL);
	assert_int_equal(hvs_listener_enable(NULL, 1), HVS_EINVAL);
	assert_int_equal(hvs_listener_sock(NULL), HVS_INVALID_SOCK);
	hvs_listener_destroy(NULL);
	c.l = NULL;
	ctx_free(&c);
}

#define T(fn)                                                 \
	cmocka_unit_test_setup_teardown(fn, fd_fixture_setup, \
	    fd_fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_bad_args),
	    T(test_accept_tcp),
	    T(test_accept_unix),
	    T(test_inherited),
	    T(test_filter),
	    T(test_emfile_scripted),
	    T(test_emfile_real),
	    T(test_destroy_in_accept),
	    T(test_destroy_in_error),
	    T(test_enable),
	};

	/* Run a subset: TEST_FILTER=pattern, TEST_SKIP=pattern. */
	if (getenv("TEST_FILTER") != NULL) {
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	}
	if (getenv("TEST_SKIP") != NULL) {
		cmocka_set_skip_filter(getenv("TEST_SKIP"));
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
