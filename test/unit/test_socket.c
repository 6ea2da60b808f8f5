/* SPDX-License-Identifier: MIT */
/*
 * Socket calls against the real system, on loopback tcp only: what every
 * platform runs. Unix sockets, inherited descriptors and vsock address
 * conversion are in test_socket_linux.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "testutil.h"

static hvs_addr_t
parse(const char *s, hvs_role_t role)
{
	hvs_addr_t a;

	assert_int_equal(hvs_addr_parse_str(&a, s, role, NULL), 0);
	return a;
}

/* Listen on an ephemeral loopback port; return it in *port. */
static hvs_sock_t
listen_tcp(uint16_t *port, int backlog)
{
	hvs_addr_t a = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), local;
	hvs_sockopts_t o;
	hvs_sock_t l;

	hvs_sockopts_init(&o);
	o.backlog = backlog;
	assert_int_equal(hvs_listen(&l, &a, &o), 0);
	assert_int_equal(hvs_sock_local_addr(l, &local), 0);
	assert_int_equal(local.kind, HVS_ADDR_TCP);
	*port = local.u.tcp.port;
	assert_true(*port != 0);
	return l;
}

static void
test_tcp_roundtrip(void **state)
{
	char buf[64], target[64];
	hvs_addr_t a, peer, local, p2;
	hvs_sock_t l, c, s;
	uint16_t port;
	size_t n;
	int before = count_fds();

	(void)state;
	l = listen_tcp(&port, 0);
	assert_true(testos_is_cloexec(l));
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	assert_true(testos_is_cloexec(c));
	assert_int_equal(hvs_accept(l, &s, &peer, 0), 0);
	assert_true(testos_is_cloexec(s));

	/* The peer seen by accept is the client's local address. */
	assert_int_equal(hvs_sock_local_addr(c, &local), 0);
	assert_true(hvs_addr_equal(&peer, &local));
	assert_int_equal(hvs_sock_peer_addr(s, &p2), 0);
	assert_true(hvs_addr_equal(&p2, &local));
	assert_string_equal(peer.u.tcp.host, "127.0.0.1");

	assert_int_equal(hvs_send(c, "hello", 5, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(hvs_shutdown(c, HVS_SHUT_WR), 0);
	assert_int_equal(hvs_recv(s, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	/* Half-close: the server sees EOF and can still answer. */
	assert_int_equal(hvs_recv(s, buf, sizeof(buf), &n), HVS_EOF);
	assert_int_equal(n, 0);
	assert_int_equal(hvs_send(s, "bye", 3, &n), 0);
	assert_int_equal(hvs_recv(c, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 3);

	assert_int_equal(hvs_close(s), 0);
	assert_int_equal(hvs_close(c), 0);
	assert_int_equal(hvs_close(l), 0);
	assert_int_equal(hvs_close(HVS_INVALID_SOCK), 0);
	assert_int_equal(count_fds(), before);
}

static void
test_tcp_listen_default_is_loopback(void **state)
{
	hvs_addr_t a = parse("tcp:0", HVS_ROLE_LISTEN), local;
	hvs_sock_t l;

	(void)state;
	assert_int_equal(hvs_listen(&l, &a, NULL), 0);
	assert_int_equal(hvs_sock_local_addr(l, &local), 0);
	assert_string_equal(local.u.tcp.host, "127.0.0.1");
	hvs_close(l);
}

static void
test_tcp_localhost_tries_each_address(void **state)
{
	char target[64];
	hvs_addr_t a;
	hvs_sock_t l, c;
	uint16_t port;

	(void)state;
	/* Only 127.0.0.1 listens; localhost may resolve to ::1 first. */
	l = listen_tcp(&port, 0);
	snprintf(target, sizeof(target), "tcp:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	assert_string_equal(a.u.tcp.host, "localhost");
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	hvs_close(c);
	hvs_close(l);
}

static void
test_tcp_refused(void **state)
{
	char target[64];
	hvs_addr_t a;
	hvs_sock_t l, c = HVS_INVALID_SOCK;
	uint16_t port;
	int before;

	(void)state;
	l = listen_tcp(&port, 0);
	hvs_close(l); /* now nobody listens on port */
	before = count_fds();
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ECONNREFUSED);
	assert_int_equal(c, HVS_INVALID_SOCK);
	assert_int_equal(count_fds(), before);
}

static void
test_tcp_connect_timeout(void **state)
{
	hvs_sock_t l, held[64];
	hvs_sockopts_t o;
	char target[64];
	hvs_addr_t a;
	uint16_t port;
	int i, nheld = 0, rc = 0, before;

	(void)state;
	/*
	 * A listener that never accepts, with the smallest backlog: once its
	 * queue is full the kernel drops further SYNs and a connect hangs,
	 * which only our timeout can end.
	 */
	l = listen_tcp(&port, 1);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	hvs_sockopts_init(&o);
	o.timeout_ms = 200;
	before = count_fds();
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
	/* The timed-out socket is not leaked. */
	assert_int_equal(count_fds(), before);
	for (i = 0; i < nheld; i++) {
		hvs_close(held[i]);
	}
	hvs_close(l);
}

static void
test_no_sigpipe(void **state)
{
	char target[64];
	hvs_addr_t a;
	hvs_sock_t l, c, s;
	uint16_t port;
	size_t n;
	int i, rc = 0;
	char buf[4096] = {0};

	(void)state;
	/* SIGPIPE at its default would kill the test program. */
	testos_default_sigpipe();
	l = listen_tcp(&port, 0);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), 0);
	hvs_close(s);
	for (i = 0; i < 100 && rc == 0; i++) {
		rc = hvs_send(c, buf, sizeof(buf), &n);
	}
	assert_true(rc == HVS_EPIPE || rc == HVS_ECONNRESET);
	hvs_close(c);
	hvs_close(l);
}

static void
test_bufsizes_before_connect(void **state)
{
	char target[64];
	hvs_sockopts_t o;
	hvs_addr_t a;
	hvs_sock_t l, c, s;
	uint16_t port;
	int snd = 0, rcv = 0;

	(void)state;
	l = listen_tcp(&port, 0);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	hvs_sockopts_init(&o);
	o.sndbuf = 96 * 1024;
	o.rcvbuf = 48 * 1024;
	assert_int_equal(hvs_connect(&c, &a, &o), 0);
	assert_int_equal(hvs_sock_bufsizes(c, &snd, &rcv), 0);
	/* Linux doubles the value for bookkeeping; never less. */
	assert_true(snd >= 96 * 1024);
	assert_true(rcv >= 48 * 1024);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), 0);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

static void
test_nonblock_flags(void **state)
{
	char target[64];
	hvs_sockopts_t o;
	hvs_addr_t a;
	hvs_sock_t l, c, s;
	uint16_t port;
	size_t n;
	char b;

	(void)state;
	l = listen_tcp(&port, 0);
	assert_int_equal(hvs_set_nonblock(l, 1), 0);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), HVS_EAGAIN);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	hvs_sockopts_init(&o);
	o.flags = HVS_SOCK_NONBLOCK;
	assert_int_equal(hvs_connect(&c, &a, &o), 0);
	assert_true(testos_is_nonblock(c));
	assert_int_equal(hvs_recv(c, &b, 1, &n), HVS_EAGAIN);
	assert_int_equal(hvs_accept(l, &s, NULL, HVS_SOCK_NONBLOCK), 0);
	assert_true(testos_is_nonblock(s));
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

static void
test_stdio_is_not_a_socket(void **state)
{
	hvs_addr_t a = parse("stdio", HVS_ROLE_CONNECT);
	hvs_sock_t s;

	(void)state;
	assert_int_equal(hvs_connect(&s, &a, NULL), HVS_EADDR_KIND);
	assert_int_equal(hvs_listen(&s, &a, NULL), HVS_EADDR_KIND);
}

static void
test_local_cid_query(void **state)
{
	uint32_t cid = 12345;
	int rc;

	(void)state;
	/* An ioctl on /dev/vsock, no connection: safe on any machine. */
	rc = hvs_local_cid(&cid);
	assert_true(rc == 0 || rc == HVS_ENOCID || rc == HVS_EACCES);
	if (rc == 0) {
		assert_true(cid != HVS_CID_ANY);
	}
	assert_int_equal(hvs_local_cid(NULL), HVS_EINVAL);
	assert_non_null(hvs_transport());
}

static int log_count;
static hvs_log_level_t log_last_level;

static void
capture_log(hvs_log_level_t level, const char *msg, void *userdata)
{
	assert_ptr_equal(userdata, &log_count);
	assert_non_null(msg);
	log_last_level = level;
	log_count++;
}

static void
test_log_callback(void **state)
{
	char target[64];
	hvs_addr_t a;
	hvs_sock_t l, c;
	uint16_t port;

	(void)state;
	l = listen_tcp(&port, 0);
	hvs_close(l);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);

	/* Below the threshold nothing arrives; at debug the failed attempt
	 * is reported; with no callback the library stays silent. */
	log_count = 0;
	hvs_set_log(capture_log, HVS_LOG_WARN, &log_count);
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ECONNREFUSED);
	assert_int_equal(log_count, 0);
	hvs_set_log(capture_log, HVS_LOG_DEBUG, &log_count);
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ECONNREFUSED);
	assert_true(log_count > 0);
	assert_int_equal(log_last_level, HVS_LOG_DEBUG);
	hvs_set_log(NULL, HVS_LOG_DEBUG, NULL);
	log_count = 0;
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ECONNREFUSED);
	assert_int_equal(log_count, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_roundtrip),
	    cmocka_unit_test(test_tcp_listen_default_is_loopback),
	    cmocka_unit_test(test_tcp_localhost_tries_each_address),
	    cmocka_unit_test(test_tcp_refused),
	    cmocka_unit_test(test_tcp_connect_timeout),
	    cmocka_unit_test(test_no_sigpipe),
	    cmocka_unit_test(test_bufsizes_before_connect),
	    cmocka_unit_test(test_nonblock_flags),
	    cmocka_unit_test(test_stdio_is_not_a_socket),
	    cmocka_unit_test(test_local_cid_query),
	    cmocka_unit_test(test_log_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
