/* SPDX-License-Identifier: MIT */
/*
 * hvs_connect() where the hypervisor family has no connect-timeout option
 * (FreeBSD: hvs__hv_set_connect_timeout() says HVS_ENOTSUP): the core
 * must fall back to a non-blocking connect and its own poll deadline.
 *
 * No such family exists on this machine (and a vsock connect must never
 * be tried here), so loopback tcp plays it: this program is linked with
 * -Wl,--wrap for the backend hooks below (test/meson.build), and while
 * `fake_hv` is set they make AF_INET "the hypervisor family" whose
 * timeout option is missing. Everything else is the real system.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "testos.h"

static int fake_hv; /* AF_INET stands in for the hypervisor family */
static unsigned timeout_calls; /* hvs__hv_set_connect_timeout() calls */
static int timeout_asked; /* the timeout it was last given */

int __real_hvs__hv_family(void);
int __wrap_hvs__hv_family(void);
int __real_hvs__hv_protocol(void);
int __wrap_hvs__hv_protocol(void);
int __real_hvs__hv_socket_defaults(hvs_sock_t s);
int __wrap_hvs__hv_socket_defaults(hvs_sock_t s);
int __real_hvs__hv_set_connect_timeout(hvs_sock_t s, int timeout_ms);
int __wrap_hvs__hv_set_connect_timeout(hvs_sock_t s, int timeout_ms);

int
__wrap_hvs__hv_family(void)
{
	return fake_hv ? AF_INET : __real_hvs__hv_family();
}

int
__wrap_hvs__hv_protocol(void)
{
	return fake_hv ? 0 : __real_hvs__hv_protocol();
}

int
__wrap_hvs__hv_socket_defaults(hvs_sock_t s)
{
	return fake_hv ? 0 : __real_hvs__hv_socket_defaults(s);
}

/* What FreeBSD's backend answers. */
int
__wrap_hvs__hv_set_connect_timeout(hvs_sock_t s, int timeout_ms)
{
	if (!fake_hv) {
		return __real_hvs__hv_set_connect_timeout(s, timeout_ms);
	}
	timeout_calls++;
	timeout_asked = timeout_ms;
	return HVS_ENOTSUP;
}

static int
setup(void **state)
{
	(void)state;
	fake_hv = 1;
	timeout_calls = 0;
	timeout_asked = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fake_hv = 0;
	return 0;
}

static hvs_addr_t
loopback(uint16_t port)
{
	char s[64];
	hvs_addr_t a;

	snprintf(s, sizeof(s), "tcp:127.0.0.1:%u", (unsigned)port);
	assert_int_equal(hvs_addr_parse_str(&a, s, HVS_ROLE_CONNECT, NULL), 0);
	return a;
}

/* The stand-in works: hvs_connect() asks for the native option. */
static void
test_connects(void **state)
{
	hvs_sockopts_t o;
	hvs_addr_t a;
	hvs_sock_t l, c, s;
	uint16_t port;
	size_t n;
	char buf[8];
	int before = testos_count_fds();

	(void)state;
	l = testos_tcp_listener(16, &port);
	a = loopback(port);
	hvs_sockopts_init(&o);
	o.timeout_ms = 5000;
	assert_int_equal(hvs_connect(&c, &a, &o), 0);
	assert_int_equal(timeout_calls, 1);
	assert_int_equal(timeout_asked, 5000);
	/* Connected, and blocking as asked (no HVS_SOCK_NONBLOCK). */
	assert_false(testos_is_nonblock(c));
	s = testos_accept(l);
	assert_true(s != HVS_INVALID_SOCK);
	assert_int_equal(hvs_send(c, "ping", 4, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(hvs_recv(s, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ping", 4);
	hvs_close(s);
	hvs_close(c);

	/* Non-blocking as asked, too. */
	o.flags = HVS_SOCK_NONBLOCK;
	assert_int_equal(hvs_connect(&c, &a, &o), 0);
	assert_true(testos_is_nonblock(c));
	assert_int_equal(timeout_calls, 2);
	s = testos_accept(l);
	assert_true(s != HVS_INVALID_SOCK);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
	assert_int_equal(testos_count_fds(), before);
}

/* No timeout asked: no option set, the connect waits as long as needed. */
static void
test_no_timeout(void **state)
{
	hvs_sockopts_t o;
	hvs_addr_t a;
	hvs_sock_t l, c, s;
	uint16_t port;

	(void)state;
	l = testos_tcp_listener(16, &port);
	a = loopback(port);
	hvs_sockopts_init(&o);
	assert_int_equal(hvs_connect(&c, &a, &o), 0);
	assert_int_equal(timeout_calls, 0);
	s = testos_accept(l);
	assert_true(s != HVS_INVALID_SOCK);
	hvs_close(s);
	hvs_close(c);
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	assert_int_equal(timeout_calls, 0);
	s = testos_accept(l);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

/*
 * The fallback's own deadline ends a connect nobody answers: a listener
 * that never accepts, with the smallest backlog, drops further SYNs once
 * its queue is full, and only the poll deadline ends the wait.
 */
static void
test_times_out(void **state)
{
	hvs_sock_t held[64];
	hvs_sockopts_t o;
	hvs_addr_t a;
	hvs_sock_t l;
	uint16_t port;
	int i, nheld = 0, rc = 0, before;

	(void)state;
	l = testos_tcp_listener(1, &port);
	a = loopback(port);
	hvs_sockopts_init(&o);
	o.timeout_ms = 200;
	before = testos_count_fds();
	for (i = 0; i < 64; i++) {
		hvs_sock_t c;
		rc = hvs_connect(&c, &a, &o);
		if (rc != 0) {
			break;
		}
		held[nheld++] = c;
		before++;
	}
	assert_int_equal(rc, HVS_ETIMEDOUT);
	/* Each attempt asked for the option and went on without it. */
	assert_int_equal(timeout_calls, (unsigned)nheld + 1);
	assert_int_equal(timeout_asked, 200);
	/* The timed-out socket is not leaked. */
	assert_int_equal(testos_count_fds(), before);
	for (i = 0; i < nheld; i++) {
		hvs_close(held[i]);
	}
	hvs_close(l);
}

/* A refused connect is reported as such, not as a timeout. */
static void
test_refused(void **state)
{
	hvs_sockopts_t o;
	hvs_addr_t a;
	hvs_sock_t l, c;
	uint16_t port;

	(void)state;
	/* A port that was just free: nothing listens on it now. */
	l = testos_tcp_listener(1, &port);
	hvs_close(l);
	a = loopback(port);
	hvs_sockopts_init(&o);
	o.timeout_ms = 5000;
	assert_int_equal(hvs_connect(&c, &a, &o), HVS_ECONNREFUSED);
	assert_int_equal(timeout_calls, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_connects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_times_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
