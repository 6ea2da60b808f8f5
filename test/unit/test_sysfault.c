/* SPDX-License-Identifier: MIT */
/*
 * Injected system-call failures (see sysmock.h): every error path of the
 * socket calls returns the translated code and leaves no descriptor open,
 * and EINTR is retried where POSIX allows it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "sysmock.h"
#include "testutil.h"

static hvs_addr_t
parse(const char *s, hvs_role_t role)
{
	hvs_addr_t a;

	assert_int_equal(hvs_addr_parse_str(&a, s, role, NULL), 0);
	return a;
}

static int
reset(void **state)
{
	(void)state;
	sysmock_reset();
	return 0;
}

static hvs_sock_t
listen_loopback(char *target, size_t size)
{
	hvs_addr_t a = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), local;
	hvs_sock_t l;

	assert_int_equal(hvs_listen(&l, &a, NULL), 0);
	assert_int_equal(hvs_sock_local_addr(l, &local), 0);
	snprintf(target, size, "tcp:127.0.0.1:%u", local.u.tcp.port);
	return l;
}

/* Listen fails at each step in turn; nothing leaks, the code is exact. */
static void
test_listen_failures(void **state)
{
	static const struct {
		sysmock_call_t call;
		int err;
		int expect;
	} cases[] = {
	    {SYSMOCK_SOCKET, EMFILE, HVS_EMFILE},
	    {SYSMOCK_SOCKET, ENFILE, HVS_ENFILE},
	    {SYSMOCK_SOCKET, EAFNOSUPPORT, HVS_EAFNOSUPPORT},
	    {SYSMOCK_SETSOCKOPT, ENOBUFS, HVS_ENOBUFS},
	    {SYSMOCK_BIND, EADDRINUSE, HVS_EADDRINUSE},
	    {SYSMOCK_BIND, EACCES, HVS_EACCES},
	    {SYSMOCK_LISTEN, EOPNOTSUPP, HVS_ENOTSUP},
	};
	hvs_addr_t a = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN);
	hvs_sock_t l = HVS_INVALID_SOCK;
	size_t i;

	(void)state;
	for (i = 0; i < HVS__ARRAY_LEN(cases); i++) {
		int before = count_fds();
		if (TESTOS_WINSOCK && cases[i].call == SYSMOCK_SETSOCKOPT) {
			/* The one option a tcp listener sets elsewhere. */
			skip_part_because("setsockopt() failing in "
					  "hvs_listen(): Winsock listeners "
					  "set no SO_REUSEADDR, there is no "
					  "such call");
			continue;
		}
		sysmock_reset();
		sysmock_fail(cases[i].call, cases[i].err, 0, 1);
		assert_int_equal(hvs_listen(&l, &a, NULL), cases[i].expect);
		assert_int_equal(l, HVS_INVALID_SOCK);
		assert_int_equal(count_fds(), before);
		assert_int_equal(sysmock_count(cases[i].call), 1);
	}
}

static void
test_connect_failures(void **state)
{
	static const struct {
		sysmock_call_t call;
		int err;
		int expect;
	} cases[] = {
	    {SYSMOCK_SOCKET, EMFILE, HVS_EMFILE},
	    {SYSMOCK_CONNECT, ECONNREFUSED, HVS_ECONNREFUSED},
	    {SYSMOCK_CONNECT, ENETUNREACH, HVS_ENETUNREACH},
	    {SYSMOCK_CONNECT, EACCES, HVS_EACCES},
	    {SYSMOCK_POLL, ENOMEM, HVS_ENOMEM},
	    {SYSMOCK_GETSOCKOPT, EBADF, HVS_EBADF},
	};
	char target[64];
	hvs_sock_t l = listen_loopback(target, sizeof(target));
	hvs_addr_t a = parse(target, HVS_ROLE_CONNECT);
	hvs_sock_t c = HVS_INVALID_SOCK;
	size_t i;

	(void)state;
	for (i = 0; i < HVS__ARRAY_LEN(cases); i++) {
		int before = count_fds();
		sysmock_reset();
		/* The poll fault only matters if connect is in progress;
		 * loopback may complete at once, so force that path. */
		if (cases[i].call == SYSMOCK_POLL ||
		    cases[i].call == SYSMOCK_GETSOCKOPT) {
			sysmock_fail_after_real(SYSMOCK_CONNECT, EINPROGRESS, 0,
			    1);
		}
		sysmock_fail(cases[i].call, cases[i].err, 0, 1);
		assert_int_equal(hvs_connect(&c, &a, NULL), cases[i].expect);
		assert_int_equal(c, HVS_INVALID_SOCK);
		assert_int_equal(count_fds(), before);
	}
	sysmock_reset();
	hvs_close(l);
}

/* connect() interrupted by a signal keeps connecting in the kernel: the
 * library must wait for it, not fail and not call connect() again. */
static void
test_connect_eintr_completes(void **state)
{
	char target[64];
	hvs_sock_t l = listen_loopback(target, sizeof(target));
	hvs_addr_t a = parse(target, HVS_ROLE_CONNECT);
	hvs_sock_t c, s;

	(void)state;
	if (TESTOS_WINSOCK) {
		hvs_close(l);
		skip_because("a signal interrupting connect() is POSIX: "
			     "Winsock has no signals and reports no EINTR "
			     "for a non-blocking connect()");
	}
	sysmock_fail_after_real(SYSMOCK_CONNECT, EINTR, 0, 1);
	sysmock_fail(SYSMOCK_POLL, EINTR, 0, 2);
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	assert_int_equal(sysmock_count(SYSMOCK_CONNECT), 1);
	assert_int_equal(sysmock_count(SYSMOCK_POLL), 3);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), 0);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

/* A connect that reports EINTR but never really started must not be
 * taken for a connection. */
static void
test_connect_never_started(void **state)
{
	char target[64];
	hvs_sock_t l = listen_loopback(target, sizeof(target));
	hvs_addr_t a = parse(target, HVS_ROLE_CONNECT);
	hvs_sock_t c = HVS_INVALID_SOCK;
	int before = count_fds();

	(void)state;
	if (TESTOS_WINSOCK) {
		hvs_close(l);
		skip_because("a signal interrupting connect() is POSIX: "
			     "Winsock has no signals and reports no EINTR "
			     "for a non-blocking connect()");
	}
	sysmock_fail(SYSMOCK_CONNECT, EINTR, 0, 1);
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ENOTCONN);
	assert_int_equal(c, HVS_INVALID_SOCK);
	assert_int_equal(count_fds(), before);
	hvs_close(l);
}

static void
test_accept_faults(void **state)
{
	char target[64];
	hvs_sock_t l = listen_loopback(target, sizeof(target));
	hvs_addr_t a = parse(target, HVS_ROLE_CONNECT), peer;
	hvs_sock_t c, s = HVS_INVALID_SOCK;

	(void)state;
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);

	sysmock_fail(SYSMOCK_ACCEPT, EMFILE, 0, 1);
	assert_int_equal(hvs_accept(l, &s, &peer, 0), HVS_EMFILE);
	assert_int_equal(s, HVS_INVALID_SOCK);
	sysmock_fail(SYSMOCK_ACCEPT, ENFILE, 0, 1);
	assert_int_equal(hvs_accept(l, &s, &peer, 0), HVS_ENFILE);
	sysmock_fail(SYSMOCK_ACCEPT, ECONNABORTED, 0, 1);
	assert_int_equal(hvs_accept(l, &s, &peer, 0), HVS_ECONNABORTED);

	/* EINTR is retried and the pending connection still accepted. */
	sysmock_reset();
	sysmock_fail(SYSMOCK_ACCEPT, EINTR, 0, 3);
	assert_int_equal(hvs_accept(l, &s, &peer, 0), 0);
	assert_int_equal(sysmock_count(SYSMOCK_ACCEPT), 4);
	assert_int_equal(peer.kind, HVS_ADDR_TCP);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

static void
test_send_recv_eintr(void **state)
{
	char target[64], buf[8];
	hvs_sock_t l = listen_loopback(target, sizeof(target));
	hvs_addr_t a = parse(target, HVS_ROLE_CONNECT);
	hvs_sock_t c, s;
	size_t n;

	(void)state;
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), 0);
	sysmock_fail(SYSMOCK_SEND, EINTR, 0, 2);
	assert_int_equal(hvs_send(c, "abc", 3, &n), 0);
	assert_int_equal(n, 3);
	sysmock_fail(SYSMOCK_RECV, EINTR, 0, 2);
	assert_int_equal(hvs_recv(s, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 3);
	sysmock_fail(SYSMOCK_SEND, ECONNRESET, 0, 1);
	assert_int_equal(hvs_send(c, "abc", 3, &n), HVS_ECONNRESET);
	assert_int_equal(n, 0);
	sysmock_fail(SYSMOCK_SHUTDOWN, ENOTCONN, 0, 1);
	assert_int_equal(hvs_shutdown(c, HVS_SHUT_WR), HVS_ENOTCONN);
	assert_int_equal(hvs_shutdown(c, 7), HVS_EINVAL);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

static void
test_translation_is_total(void **state)
{
	int e;

	(void)state;
	/* Every errno maps to a code that has a name and a message. */
	for (e = 1; e < 200; e++) {
		int code = hvs_translate_sys_error(e);
		assert_true(code < 0);
		assert_string_not_equal(hvs_err_name(code), "UNKNOWN");
		assert_string_not_equal(hvs_strerror(code), "unknown error");
	}
	assert_int_equal(hvs_translate_sys_error(0), 0);
	assert_int_equal(hvs_translate_sys_error(ECONNREFUSED),
	    HVS_ECONNREFUSED);
	assert_int_equal(hvs_translate_sys_error(EWOULDBLOCK), HVS_EAGAIN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_listen_failures, reset, reset),
	    cmocka_unit_test_setup_teardown(test_connect_failures, reset,
		reset),
	    cmocka_unit_test_setup_teardown(test_connect_eintr_completes, reset,
		reset),
	    cmocka_unit_test_setup_teardown(test_connect_never_started, reset,
		reset),
	    cmocka_unit_test_setup_teardown(test_accept_faults, reset, reset),
	    cmocka_unit_test_setup_teardown(test_send_recv_eintr, reset, reset),
	    cmocka_unit_test(test_translation_is_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
