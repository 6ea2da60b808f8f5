/*
 * Async connect tests on loopback TCP and unix sockets: success, refusal,
 * a timeout against an unresponsive listener (a backlog-0 listener whose
 * queue is full drops SYNs), cancellation, and the promise that the
 * callback never runs from inside hvs_connect_async().
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "loop/debug.h"
#include "sysmock.h"
#include "testutil.h"

/* Liveness bound; never a performance threshold. */
#define LIVENESS_S 30

struct result {
	int calls;
	int err;
	hvs_sock_t sock;
};

static void
on_connect(int err, hvs_sock_t s, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->err = err;
	r->sock = s;
	if (err == 0) {
		assert_true(s != HVS_INVALID_SOCK);
		assert_true(fcntl(s, F_GETFL) & O_NONBLOCK);
	} else {
		assert_int_equal(s, HVS_INVALID_SOCK);
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
run_until_called(struct event_base *base, struct result *r)
{
	struct timeval tv = {LIVENESS_S, 0};
	struct event *live = evtimer_new(base, on_liveness, NULL);

	expired = 0;
	evtimer_add(live, &tv);
	while (r->calls == 0 && !expired) {
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(live);
	assert_false(expired);
	assert_int_equal(r->calls, 1);
}

static hvs_addr_t
parse(const char *s, hvs_role_t role)
{
	hvs_addr_t a;

	assert_int_equal(hvs_addr_parse_str(&a, s, role, NULL), 0);
	return a;
}

/* A plain loopback TCP listener with @backlog; its address in @a. */
static int
tcp_listener(int backlog, hvs_addr_t *a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char spec[64];
	int s;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s, backlog), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
	*a = parse(spec, HVS_ROLE_CONNECT);
	return s;
}

static void
test_success_tcp(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_connect_req_t *req;
	hvs_addr_t a, peer;
	hvs_sockopts_t o;
	int ls, as;

	(void)state;
	ls = tcp_listener(8, &a);
	hvs_sockopts_init(&o);
	o.timeout_ms = 5000;
	assert_int_equal(hvs_connect_async(&req, base, &a, &o, on_connect, &r),
	    0);
	assert_non_null(req);
	assert_int_equal(r.calls, 0); /* never from inside the call */
	run_until_called(base, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(hvs_sock_peer_addr(r.sock, &peer), 0);
	assert_true(hvs_addr_equal(&peer, &a));
	as = accept(ls, NULL, NULL);
	assert_true(as >= 0);
	close(as);
	hvs_close(r.sock);
	close(ls);
	event_base_free(base);
}

/* No timeout at all (timeout_ms 0 or < 0), and no sockopts. */
static void
test_success_no_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_addr_t a;
	int ls;

	(void)state;
	ls = tcp_listener(8, &a);
	assert_int_equal(hvs_connect_async(NULL, base, &a, NULL, on_connect,
			     &r),
	    0);
	run_until_called(base, &r);
	assert_int_equal(r.err, 0);
	hvs_close(r.sock);
	close(ls);
	event_base_free(base);
}

/* unix sockets connect at once: the outcome still comes from the loop. */
static void
test_success_unix(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	char spec[80];
	hvs_addr_t la, ca;
	hvs_sock_t ls;

	(void)state;
	snprintf(spec, sizeof(spec), "unix:@hvs-test-connect-%d",
	    (int)getpid());
	la = parse(spec, HVS_ROLE_LISTEN);
	ca = parse(spec, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_listen(&ls, &la, NULL), 0);
	assert_int_equal(hvs_connect_async(NULL, base, &ca, NULL, on_connect,
			     &r),
	    0);
	assert_int_equal(r.calls, 0);
	run_until_called(base, &r);
	assert_int_equal(r.err, 0);
	hvs_close(r.sock);
	hvs_close(ls);
	event_base_free(base);
}

static void
test_refused_tcp(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_addr_t a;
	int ls;

	(void)state;
	/* A port that was just free: nobody listens there now. */
	ls = tcp_listener(1, &a);
	close(ls);
	assert_int_equal(hvs_connect_async(NULL, base, &a, NULL, on_connect,
			     &r),
	    0);
	run_until_called(base, &r);
	assert_int_equal(r.err, HVS_ECONNREFUSED);
	event_base_free(base);
}

/* An error at once (no such socket file) is reported from the loop too. */
static void
test_refused_unix(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_addr_t a =
	    parse("unix:/nonexistent/hvs-test.sock", HVS_ROLE_CONNECT);

	(void)state;
	assert_int_equal(hvs_connect_async(NULL, base, &a, NULL, on_connect,
			     &r),
	    0);
	assert_int_equal(r.calls, 0);
	run_until_called(base, &r);
	assert_int_equal(r.err, HVS_ENOENT);
	event_base_free(base);
}

/*
 * Fill the accept queue of a backlog-0 listener until a connect hangs:
 * the kernel then drops further SYNs and any new connect stays pending.
 */
static int
fill_queue(const hvs_addr_t *a, int *fillers, int max)
{
	hvs__sockaddr_t sa;
	int n = 0;

	assert_int_equal(hvs__addr_resolve(a, HVS_ROLE_CONNECT, 0, &sa, 1), 1);
	while (n < max) {
		struct pollfd p;
		int s = socket(AF_INET,
		    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

		assert_true(s >= 0);
		fillers[n++] = s;
		if (connect(s, (struct sockaddr *)&sa.ss, sa.len) == 0) {
			continue;
		}
		assert_int_equal(errno, EINPROGRESS);
		p.fd = s;
		p.events = POLLOUT;
		if (poll(&p, 1, 200) == 0) {
			break; /* this one hangs: the queue is full */
		}
	}
	return n;
}

static void
test_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_sockopts_t o;
	hvs_addr_t a;
	int ls, fillers[16], n;

	(void)state;
	ls = tcp_listener(0, &a);
	n = fill_queue(&a, fillers, 16);
	hvs_sockopts_init(&o);
	o.timeout_ms = 100;
	assert_int_equal(hvs_connect_async(NULL, base, &a, &o, on_connect, &r),
	    0);
	run_until_called(base, &r);
	assert_int_equal(r.err, HVS_ETIMEDOUT);
	for (int i = 0; i < n; i++) {
		close(fillers[i]);
	}
	close(ls);
	event_base_free(base);
}

/* Cancelled while pending: no callback, nothing left open. */
static void
test_cancel(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_connect_req_t *req;
	struct timeval tv = {0, 50000};
	char spec[80];
	hvs_sockopts_t o;
	hvs_addr_t a, la, ca;
	hvs_sock_t us;
	int ls, fillers[16], n;

	(void)state;
	ls = tcp_listener(0, &a);
	n = fill_queue(&a, fillers, 16);
	hvs_sockopts_init(&o);
	o.timeout_ms = 30000;
	assert_int_equal(hvs_connect_async(&req, base, &a, &o, on_connect, &r),
	    0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	hvs_connect_cancel(req);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(r.calls, 0);
	for (int i = 0; i < n; i++) {
		close(fillers[i]);
	}
	close(ls);

	/* Cancelled before the deferred outcome was delivered. */
	snprintf(spec, sizeof(spec), "unix:@hvs-test-cancel-%d", (int)getpid());
	la = parse(spec, HVS_ROLE_LISTEN);
	ca = parse(spec, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_listen(&us, &la, NULL), 0);
	assert_int_equal(hvs_connect_async(&req, base, &ca, NULL, on_connect,
			     &r),
	    0);
	hvs_connect_cancel(req);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(r.calls, 0);
	hvs_close(us);
	hvs_connect_cancel(NULL);
	event_base_free(base);
}

static hvs__sockaddr_t
native(const hvs_addr_t *a)
{
	hvs__sockaddr_t sa;

	assert_int_equal(hvs__addr_resolve(a, HVS_ROLE_CONNECT, 0, &sa, 1), 1);
	return sa;
}

/*
 * A name may resolve to several addresses: they are tried in turn. A
 * refused one and a black-holed one (it gets its share of the timeout)
 * come before the one that answers.
 */
static void
test_next_address(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs__sockaddr_t sas[3];
	hvs_sockopts_t o;
	hvs_addr_t a_ok, a_ref, a_hole, peer;
	int ls_ok, ls_hole, fillers[16], n, as;

	(void)state;
	ls_ok = tcp_listener(8, &a_ok);
	close(tcp_listener(1, &a_ref));
	ls_hole = tcp_listener(0, &a_hole);
	n = fill_queue(&a_hole, fillers, 16);
	sas[0] = native(&a_ref);
	sas[1] = native(&a_hole);
	sas[2] = native(&a_ok);
	hvs_sockopts_init(&o);
	o.timeout_ms = 600;
	assert_int_equal(hvs__connect_async_addrs(NULL, base, sas, 3, &o,
			     on_connect, &r),
	    0);
	assert_int_equal(r.calls, 0);
	run_until_called(base, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(hvs_sock_peer_addr(r.sock, &peer), 0);
	assert_true(hvs_addr_equal(&peer, &a_ok));
	as = accept(ls_ok, NULL, NULL);
	assert_true(as >= 0);
	close(as);
	hvs_close(r.sock);

	/* All refused: the last error is the outcome. */
	r.calls = 0;
	sas[1] = sas[0];
	assert_int_equal(hvs__connect_async_addrs(NULL, base, sas, 2, &o,
			     on_connect, &r),
	    0);
	run_until_called(base, &r);
	assert_int_equal(r.err, HVS_ECONNREFUSED);

	/* An error not worth another address ends it at once. */
	r.calls = 0;
	sas[0] = native(&a_ok);
	sas[1] = sas[0];
	sysmock_reset();
	sysmock_fail(SYSMOCK_CONNECT, EACCES, 0, 1);
	assert_int_equal(hvs__connect_async_addrs(NULL, base, sas, 2, &o,
			     on_connect, &r),
	    0);
	run_until_called(base, &r);
	assert_int_equal(r.err, HVS_EACCES);
	assert_int_equal(sysmock_count(SYSMOCK_CONNECT), 1);

	for (int i = 0; i < n; i++) {
		close(fillers[i]);
	}
	close(ls_hole);
	close(ls_ok);
	event_base_free(base);
}

static void
test_bad_args(void **state)
{
	struct event_base *base = event_base_new();
	hvs_addr_t a = parse("tcp:127.0.0.1:9", HVS_ROLE_CONNECT);
	hvs_addr_t st = parse("stdio", HVS_ROLE_CONNECT);
	hvs_connect_req_t *req = (hvs_connect_req_t *)&a;
	struct result r = {0};

	(void)state;
	assert_int_equal(hvs_connect_async(&req, NULL, &a, NULL, on_connect,
			     &r),
	    HVS_EINVAL);
	assert_null(req);
	assert_int_equal(hvs_connect_async(NULL, base, NULL, NULL, on_connect,
			     &r),
	    HVS_EINVAL);
	assert_int_equal(hvs_connect_async(NULL, base, &a, NULL, NULL, &r),
	    HVS_EINVAL);
	assert_int_equal(hvs_connect_async(NULL, base, &st, NULL, on_connect,
			     &r),
	    HVS_EADDR_KIND);
	assert_int_equal(r.calls, 0);
	event_base_free(base);
}

#define T(fn)                                                 \
	cmocka_unit_test_setup_teardown(fn, fd_fixture_setup, \
	    fd_fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_bad_args),
	    T(test_success_tcp),
	    T(test_success_no_timeout),
	    T(test_success_unix),
	    T(test_refused_tcp),
	    T(test_refused_unix),
	    T(test_timeout),
	    T(test_cancel),
	    T(test_next_address),
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
