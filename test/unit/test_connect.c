/* SPDX-License-Identifier: MIT */
/*
 * Async connect tests on loopback TCP and unix sockets: success, refusal,
 * a timeout against an unresponsive listener (a backlog-0 listener whose
 * queue is full drops SYNs), cancellation, the promise that the
 * callback never runs from inside hvs_connect_async(), and host names
 * looked up off the loop (a test hook stands in for a slow name service).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
		assert_true(testos_is_nonblock(s));
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
static hvs_sock_t
tcp_listener(int backlog, hvs_addr_t *a)
{
	char spec[64];
	uint16_t port;
	hvs_sock_t s = testos_tcp_listener(backlog, &port);

	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", (unsigned)port);
	*a = parse(spec, HVS_ROLE_CONNECT);
	return s;
}

/* @ls holds the connection @s made: accept it, then close both ends. */
static void
accept_and_close(hvs_sock_t ls, hvs_sock_t s)
{
	hvs_sock_t as = testos_accept(ls);

	assert_true(as != HVS_INVALID_SOCK);
	hvs_close(as);
	hvs_close(s);
}

static void
test_success_tcp(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_connect_req_t *req;
	hvs_addr_t a, peer;
	hvs_sockopts_t o;
	hvs_sock_t ls;

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
	accept_and_close(ls, r.sock);
	hvs_close(ls);
	event_base_free(base);
}

/* No timeout at all (timeout_ms 0 or < 0), and no sockopts. */
static void
test_success_no_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_addr_t a;
	hvs_sock_t ls;

	(void)state;
	ls = tcp_listener(8, &a);
	assert_int_equal(hvs_connect_async(NULL, base, &a, NULL, on_connect,
			     &r),
	    0);
	run_until_called(base, &r);
	assert_int_equal(r.err, 0);
	hvs_close(r.sock);
	hvs_close(ls);
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
	if (TESTOS_WINSOCK) {
		event_base_free(base);
		skip_because("unix sockets: wine has no AF_UNIX, and the "
			     "abstract namespace is Linux only");
	}
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
	hvs_sock_t ls;

	(void)state;
	/* A port that was just free: nobody listens there now. */
	ls = tcp_listener(1, &a);
	hvs_close(ls);
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
	if (TESTOS_WINSOCK) {
		event_base_free(base);
		skip_because("unix sockets: wine has no AF_UNIX");
	}
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
 * (Linux does; so does wine, which runs on it.)
 */
static int
fill_queue(const hvs_addr_t *a, hvs_sock_t *fillers, int max)
{
	hvs_sockopts_t o;
	int n = 0, rc;

	hvs_sockopts_init(&o);
	o.timeout_ms = 200;
	while (n < max) {
		rc = hvs_connect(&fillers[n], a, &o);
		if (rc == HVS_ETIMEDOUT) {
			break; /* this one hangs: the queue is full */
		}
		assert_int_equal(rc, 0);
		n++;
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
	hvs_sock_t ls, fillers[16];
	int n;

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
		hvs_close(fillers[i]);
	}
	hvs_close(ls);
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
	hvs_sock_t ls, fillers[16];
	int n;

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
		hvs_close(fillers[i]);
	}

	/* Cancelled before the deferred outcome was delivered: an error at
	 * once (scripted), ... */
	sysmock_reset();
	sysmock_fail(SYSMOCK_CONNECT, EACCES, 0, 1);
	assert_int_equal(hvs_connect_async(&req, base, &a, NULL, on_connect,
			     &r),
	    0);
	hvs_connect_cancel(req);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(r.calls, 0);
	assert_int_equal(sysmock_count(SYSMOCK_CONNECT), 1);
	sysmock_reset();
	hvs_close(ls);

	/* ... and a unix socket connected at once. */
	if (TESTOS_WINSOCK) {
		skip_part_because("a unix socket connected at once: wine has "
				  "no AF_UNIX, and the abstract namespace "
				  "is Linux only");
		event_base_free(base);
		return;
	}
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
	hvs_sock_t ls_ok, ls_hole, fillers[16], as;
	int n;

	(void)state;
	ls_ok = tcp_listener(8, &a_ok);
	hvs_close(tcp_listener(1, &a_ref));
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
	as = testos_accept(ls_ok);
	assert_true(as != HVS_INVALID_SOCK);
	hvs_close(as);
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
		hvs_close(fillers[i]);
	}
	hvs_close(ls_hole);
	hvs_close(ls_ok);
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

/* ---- host names: looked up on a worker thread ------------------------ */

static atomic_int gate_open; /* the hook may answer */
static atomic_int hook_calls;
static hvs__sockaddr_t hook_answer; /* what the hook resolves to */
static int hook_result; /* > 0: answer with hook_answer; else this code */

/* Wait (bounded) until the test opens the gate, then answer. */
static int
gated_hook(const hvs_addr_t *addr, unsigned flags, hvs__sockaddr_t *out,
    int max)
{
	(void)addr;
	(void)flags;
	(void)max;
	atomic_fetch_add(&hook_calls, 1);
	for (int i = 0; i < LIVENESS_S * 1000 && !atomic_load(&gate_open);
	     i++) {
		testos_sleep_ms(1);
	}
	if (!atomic_load(&gate_open)) {
		return HVS_ETIMEDOUT; /* the loop never ran: test fails */
	}
	if (hook_result <= 0) {
		return hook_result;
	}
	out[0] = hook_answer;
	return 1;
}

static void
hook_set(const hvs_addr_t *answer, int result, int open)
{
	if (answer != NULL) {
		assert_int_equal(hvs__addr_resolve(answer, HVS_ROLE_CONNECT, 0,
				     &hook_answer, 1),
		    1);
	}
	hook_result = result;
	atomic_store(&gate_open, open);
	atomic_store(&hook_calls, 0);
	hvs__lookup_hook = gated_hook;
}

/* Let every worker finish (its pipe end closed), then drop the hook. */
static void
hook_done(void)
{
	atomic_store(&gate_open, 1);
	for (int i = 0; i < LIVENESS_S * 1000 && hvs__lookup_workers() > 0;
	     i++) {
		testos_sleep_ms(1);
	}
	assert_int_equal(hvs__lookup_workers(), 0);
	hvs__lookup_hook = NULL;
}

static void
on_open_gate(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	atomic_store(&gate_open, 1);
}

/*
 * The lookup must not hold up the loop: the hook answers only once a
 * timer on the loop has run. Done on the loop's thread, the lookup would
 * wait for a loop that cannot run, and the hook gives up with an error.
 */
static void
test_name_off_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct timeval soon = {0, 1000};
	struct event *opener = evtimer_new(base, on_open_gate, NULL);
	struct result r = {0};
	hvs_addr_t target, name;
	hvs_sock_t ls;

	(void)state;
	ls = tcp_listener(8, &target);
	name = parse("tcp:service.example:1", HVS_ROLE_CONNECT);
	hook_set(&target, 1, 0);
	evtimer_add(opener, &soon);
	assert_int_equal(hvs_connect_async(NULL, base, &name, NULL, on_connect,
			     &r),
	    0);
	assert_int_equal(r.calls, 0);
	run_until_called(base, &r);
	assert_int_equal(r.err, 0);
	assert_int_equal(atomic_load(&hook_calls), 1);
	accept_and_close(ls, r.sock);
	hook_done();
	event_free(opener);
	hvs_close(ls);
	event_base_free(base);
}

/* Which addresses go to a worker: names, not numbers or localhost. */
static void
test_needs_lookup(void **state)
{
	static const char *const inplace[] = {"tcp:127.0.0.1:1", "tcp:[::1]:1",
	    "tcp:localhost:1", "tcp:1", "vsock:2:1", "unix:/tmp/x"};
	static const char *const lookup[] = {"tcp:example.org:1", "tcp:db:5432",
	    "tcp:localhost.example:1"};
	hvs_addr_t a;

	(void)state;
	for (size_t i = 0; i < sizeof(inplace) / sizeof(inplace[0]); i++) {
		a = parse(inplace[i], HVS_ROLE_CONNECT);
		assert_false(hvs__addr_needs_lookup(&a));
	}
	for (size_t i = 0; i < sizeof(lookup) / sizeof(lookup[0]); i++) {
		a = parse(lookup[i], HVS_ROLE_CONNECT);
		assert_true(hvs__addr_needs_lookup(&a));
	}
}

/*
 * Connect to @host (IPv4) where a listener waits on 127.0.0.1: resolved in
 * place, or by a worker's real getaddrinfo() if @looked_up.
 */
static void
connect_by_host(const char *host, int looked_up)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_sockopts_t o;
	hvs_addr_t target, name;
	char spec[200];
	hvs_sock_t ls;

	ls = tcp_listener(8, &target);
	snprintf(spec, sizeof(spec), "tcp:%s:%u", host,
	    (unsigned)target.u.tcp.port);
	name = parse(spec, HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_needs_lookup(&name), looked_up);
	hvs_sockopts_init(&o);
	o.flags |= HVS_SOCK_IPV4_ONLY;
	o.timeout_ms = LIVENESS_S * 1000;
	assert_int_equal(hvs_connect_async(NULL, base, &name, &o, on_connect,
			     &r),
	    0);
	assert_int_equal(r.calls, 0);
	run_until_called(base, &r);
	assert_int_equal(r.err, 0);
	accept_and_close(ls, r.sock);
	hook_done();
	hvs_close(ls);
	event_base_free(base);
}

/* localhost is resolved in place (/etc/hosts). */
static void
test_name_localhost(void **state)
{
	(void)state;
	connect_by_host("localhost", 0);
}

/* A name /etc/hosts maps to 127.0.0.1 other than localhost, or 0. */
static int
hosts_alias(char *name, size_t size)
{
	char line[512], *tok, *save = NULL;
	FILE *f = fopen("/etc/hosts", "r");
	int found = 0;

	if (f == NULL) {
		return 0;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		tok = strtok_r(line, " \t\r\n", &save);
		if (tok == NULL || strcmp(tok, "127.0.0.1") != 0) {
			continue;
		}
		while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL &&
		    tok[0] != '#') {
			if (strcmp(tok, "localhost") != 0 &&
			    strlen(tok) < size) {
				snprintf(name, size, "%s", tok);
				found = 1;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

/* A real getaddrinfo() on a worker: a name from /etc/hosts. */
static void
test_name_hosts_file(void **state)
{
	char alias[128];

	(void)state;
	if (!hosts_alias(alias, sizeof(alias))) {
		/* Nothing else to look up without a network. */
		skip_because("no name for 127.0.0.1 in /etc/hosts other than "
			     "localhost");
	}
	connect_by_host(alias, 1);
}

/* A name that does not resolve: the callback says so, from the loop. */
static void
test_name_unresolvable(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_addr_t name = parse("tcp:nothing.invalid:80", HVS_ROLE_CONNECT);
	hvs_connect_req_t *req = NULL;

	(void)state;
	hook_set(NULL, HVS_EADDR_RESOLVE, 1);
	assert_int_equal(hvs_connect_async(&req, base, &name, NULL, on_connect,
			     &r),
	    0);
	assert_non_null(req);
	assert_int_equal(r.calls, 0);
	run_until_called(base, &r);
	assert_int_equal(r.err, HVS_EADDR_RESOLVE);
	hook_done();
	event_base_free(base);
}

/* The timeout covers the lookup: a name service that never answers. */
static void
test_name_timeout(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0};
	hvs_addr_t name = parse("tcp:slow.example:80", HVS_ROLE_CONNECT);
	hvs_sockopts_t o;

	(void)state;
	hook_set(NULL, HVS_EADDR_RESOLVE, 0);
	hvs_sockopts_init(&o);
	o.timeout_ms = 50;
	assert_int_equal(hvs_connect_async(NULL, base, &name, &o, on_connect,
			     &r),
	    0);
	run_until_called(base, &r);
	assert_int_equal(r.err, HVS_ETIMEDOUT);
	hook_done(); /* the abandoned lookup ends; its answer goes nowhere */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.calls, 1);
	event_base_free(base);
}

/* Cancelled while the worker looks the name up, and while still queued. */
static void
test_name_cancel(void **state)
{
	struct event_base *base = event_base_new();
	struct result r[12] = {{0}};
	hvs_connect_req_t *req[12];
	hvs_addr_t name = parse("tcp:slow.example:80", HVS_ROLE_CONNECT);
	int i;

	(void)state;
	hook_set(NULL, HVS_EADDR_RESOLVE, 0);
	/* More than the workers: some wait in the queue. */
	for (i = 0; i < 12; i++) {
		assert_int_equal(hvs_connect_async(&req[i], base, &name, NULL,
				     on_connect, &r[i]),
		    0);
	}
	for (i = 0; i < 12; i++) {
		hvs_connect_cancel(req[i]);
	}
	hook_done();
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < 12; i++) {
		assert_int_equal(r[i].calls, 0);
	}
	event_base_free(base);
}

/* A burst of names: more than the workers, all looked up and connected. */
static void
test_name_burst(void **state)
{
	enum { N = 40 };
	struct event_base *base = event_base_new();
	struct result r[N];
	hvs_addr_t target, name;
	hvs_sock_t ls;
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	ls = tcp_listener(N, &target);
	name = parse("tcp:service.example:1", HVS_ROLE_CONNECT);
	hook_set(&target, 1, 1);
	for (i = 0; i < N; i++) {
		assert_int_equal(hvs_connect_async(NULL, base, &name, NULL,
				     on_connect, &r[i]),
		    0);
	}
	for (i = 0; i < N; i++) {
		run_until_called(base, &r[i]);
		assert_int_equal(r[i].err, 0);
	}
	for (i = 0; i < N; i++) {
		accept_and_close(ls, r[i].sock);
	}
	assert_int_equal(atomic_load(&hook_calls), N);
	hook_done();
	hvs_close(ls);
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
	    T(test_needs_lookup),
	    T(test_name_off_loop),
	    T(test_name_localhost),
	    T(test_name_hosts_file),
	    T(test_name_unresolvable),
	    T(test_name_timeout),
	    T(test_name_cancel),
	    T(test_name_burst),
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
