/* SPDX-License-Identifier: MIT */
/*
 * Hybrid vsock (vsock-mux:PATH:PORT): the CONNECT handshake with a VMM.
 *
 * The handshake's steps run on a socket pair whose other end plays the
 * VMM, its answer written beforehand or between steps (every platform).
 * hvs_connect() and hvs_connect_async() then run against a fake VMM: a
 * unix listener served by a thread that reads the request and answers
 * from a script, in pieces with pauses between them where the script says
 * so (POSIX: wine has no AF_UNIX). Nothing is timed: a pause only makes a
 * split answer likely, and the outcome is the same either way.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "sysmock.h"
#include "testutil.h"

#ifndef _WIN32
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

/* Liveness bound; never a performance threshold. */
#define LIVENESS_S 30
#define LIVENESS_MS (LIVENESS_S * 1000)

/* ---- the steps, on a socket pair ------------------------------------ */

/* Write all of @s to @fd (blocking). */
static void
put_all(hvs_sock_t fd, const char *s, size_t n)
{
	while (n > 0) {
		int err = 0;
		long k = testos_send(fd, s, n, &err);

		assert_true(k > 0);
		s += k;
		n -= (size_t)k;
	}
}

static void
put_str(hvs_sock_t fd, const char *s)
{
	put_all(fd, s, strlen(s));
}

/* Read exactly @n bytes from @fd (blocking) into @buf. */
static void
get_exact(hvs_sock_t fd, char *buf, size_t n)
{
	while (n > 0) {
		int err = 0;
		long k = testos_read(fd, buf, n, &err);

		assert_true(k > 0);
		buf += k;
		n -= (size_t)k;
	}
}

/* The request the VMM end of the pair got: exactly @want. */
static void
expect_request(hvs_sock_t vmm, const char *want)
{
	char buf[64] = {0};

	assert_true(strlen(want) < sizeof(buf));
	get_exact(vmm, buf, strlen(want));
	assert_string_equal(buf, want);
}

/* A pair: sv[0] ours (non-blocking), sv[1] the VMM's (blocking). */
static void
pair(hvs_sock_t sv[2])
{
	testos_socketpair(sv);
	testos_set_nonblock(sv[0]);
}

static void
close_pair(hvs_sock_t sv[2])
{
	hvs_close(sv[0]);
	hvs_close(sv[1]);
}

static uint64_t
deadline_in(int ms)
{
	return hvs__os_now_ms() + (uint64_t)ms;
}

/* The whole handshake against @answer, written before it starts. */
static int
handshake_with(const char *answer, size_t n, uint32_t port)
{
	hvs_sock_t sv[2];
	char want[32];
	int rc;

	pair(sv);
	put_all(sv[1], answer, n);
	rc = hvs__mux_handshake(sv[0], port, deadline_in(LIVENESS_MS));
	snprintf(want, sizeof(want), "CONNECT %lu\n", (unsigned long)port);
	expect_request(sv[1], want);
	close_pair(sv);
	return rc;
}

static void
test_step_ok(void **state)
{
	hvs_sock_t sv[2];
	char rest[8] = {0};

	(void)state;
	pair(sv);
	put_str(sv[1], "OK 1073741824\n");
	assert_int_equal(hvs__mux_handshake(sv[0], 5000,
			     deadline_in(LIVENESS_MS)),
	    0);
	expect_request(sv[1], "CONNECT 5000\n");
	/* The stream goes on as usual, both ways. */
	put_str(sv[1], "hello");
	assert_int_equal(hvs_set_nonblock(sv[0], 0), 0);
	get_exact(sv[0], rest, 5);
	assert_string_equal(rest, "hello");
	close_pair(sv);

	assert_int_equal(handshake_with("OK 0\n", 5, 0), 0);
	assert_int_equal(handshake_with("OK 4294967295\n", 14, 4294967294u), 0);
}

/* Bytes after the '\n', in the same write: the guest's, left unread. */
static void
test_step_ok_with_stream(void **state)
{
	static const char answer[] = "OK 1073741824\nSSH-2.0-guest\r\n";
	hvs_sock_t sv[2];
	char rest[sizeof(answer)] = {0};
	size_t want = strlen("SSH-2.0-guest\r\n");

	(void)state;
	pair(sv);
	put_str(sv[1], answer);
	assert_int_equal(hvs__mux_handshake(sv[0], 22,
			     deadline_in(LIVENESS_MS)),
	    0);
	assert_int_equal(hvs_set_nonblock(sv[0], 0), 0);
	get_exact(sv[0], rest, want);
	assert_string_equal(rest, "SSH-2.0-guest\r\n");
	expect_request(sv[1], "CONNECT 22\n");
	close_pair(sv);
}

/* The answer in pieces: each step takes what has come, and waits. */
static void
test_step_split(void **state)
{
	static const char *const pieces[] = {"O", "K", " ", "10", "7374",
	    "1824", "\nxy"};
	hvs_sock_t sv[2];
	hvs__mux_t m;
	char rest[3] = {0};

	(void)state;
	pair(sv);
	hvs__mux_init(&m, 1234);
	assert_int_equal(hvs__mux_send(sv[0], &m), 0);
	expect_request(sv[1], "CONNECT 1234\n");
	assert_int_equal(hvs__mux_recv(sv[0], &m), HVS_EAGAIN);
	for (size_t i = 0; i < HVS__ARRAY_LEN(pieces) - 1; i++) {
		put_str(sv[1], pieces[i]);
		assert_int_equal(hvs__mux_recv(sv[0], &m), HVS_EAGAIN);
	}
	put_str(sv[1], pieces[HVS__ARRAY_LEN(pieces) - 1]);
	assert_int_equal(hvs__mux_recv(sv[0], &m), 0);
	assert_int_equal(m.host_port, 1073741824u);
	assert_int_equal(hvs_set_nonblock(sv[0], 0), 0);
	get_exact(sv[0], rest, 2);
	assert_string_equal(rest, "xy");
	close_pair(sv);
}

/* The VMM closes without an answer: nothing listens on that port. */
static void
test_step_refused(void **state)
{
	hvs_sock_t sv[2];
	hvs__mux_t m;

	(void)state;
	/* It read the request, then closed. */
	pair(sv);
	hvs__mux_init(&m, 5000);
	assert_int_equal(hvs__mux_send(sv[0], &m), 0);
	expect_request(sv[1], "CONNECT 5000\n");
	assert_int_equal(hvs_shutdown(sv[1], HVS_SHUT_WR), 0);
	assert_int_equal(hvs__mux_recv(sv[0], &m), HVS_EMUX_REFUSED);
	close_pair(sv);

	/* Half an answer, then the end. */
	pair(sv);
	put_str(sv[1], "OK 12");
	assert_int_equal(hvs_shutdown(sv[1], HVS_SHUT_WR), 0);
	assert_int_equal(hvs__mux_handshake(sv[0], 5000,
			     deadline_in(LIVENESS_MS)),
	    HVS_EMUX_REFUSED);
	close_pair(sv);

	/* Gone before the request: the send fails, and it is the same. */
	pair(sv);
	hvs_close(sv[1]);
	testos_default_sigpipe();
	assert_int_equal(hvs__mux_handshake(sv[0], 5000,
			     deadline_in(LIVENESS_MS)),
	    HVS_EMUX_REFUSED);
	hvs_close(sv[0]);
}

static void
test_step_garbage(void **state)
{
	static const char *const bad[] = {
	    "ERR no such port\n",
	    "HTTP/1.1 400 Bad Request\r\n",
	    "ok 5\n",
	    "OK\n",
	    "OK \n",
	    "OK  5\n",
	    "OK -5\n",
	    "OK 5 \n",
	    "OK 12x\n",
	    "OK 5\r\n",
	    "OK 4294967296\n",
	    "OK 99999999999999999999\n",
	    "\n",
	    " OK 5\n",
	    "OK\t5\n",
	};

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(bad); i++) {
		int rc = handshake_with(bad[i], strlen(bad[i]), 7);

		if (rc != HVS_EMUX_ANSWER) {
			fail_msg("answer \"%s\": %s", bad[i], hvs_err_name(rc));
		}
	}
	/* Garbage is known at its first bad byte: no '\n' is awaited. */
	assert_int_equal(handshake_with("NO", 2, 7), HVS_EMUX_ANSWER);
	assert_int_equal(handshake_with("OK 1a", 5, 7), HVS_EMUX_ANSWER);
}

/* 64 bytes with the '\n' are an answer; 65 are not. */
static void
test_step_line_limit(void **state)
{
	char line[HVS__MUX_LINE_MAX + 8];
	size_t n;

	(void)state;
	/* "OK " + zeros + "7" + "\n": exactly HVS__MUX_LINE_MAX bytes. */
	memcpy(line, "OK ", 3);
	n = HVS__MUX_LINE_MAX - 1;
	memset(line + 3, '0', n - 3);
	line[n - 1] = '7';
	line[n] = '\n';
	assert_int_equal(handshake_with(line, n + 1, 9), 0);

	/* One more digit. */
	memset(line + 3, '0', n - 2);
	line[n] = '7';
	line[n + 1] = '\n';
	assert_int_equal(handshake_with(line, n + 2, 9), HVS_EMUX_ANSWER);

	/* Digits and no '\n' at all: refused once over the limit. */
	memset(line + 3, '1', sizeof(line) - 3);
	assert_int_equal(handshake_with(line, sizeof(line), 9),
	    HVS_EMUX_ANSWER);
}

/* No answer at all: the deadline ends it. */
static void
test_step_timeout(void **state)
{
	hvs_sock_t sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(hvs__mux_handshake(sv[0], 5000, deadline_in(50)),
	    HVS_ETIMEDOUT);
	expect_request(sv[1], "CONNECT 5000\n");
	/* Half an answer and no more: the same. */
	put_str(sv[1], "OK 1");
	assert_int_equal(hvs__mux_handshake(sv[0], 5000, deadline_in(50)),
	    HVS_ETIMEDOUT);
	close_pair(sv);
}

static void
test_timeout_default(void **state)
{
	hvs_addr_t mux, tcp;
	hvs_sockopts_t o;

	(void)state;
	assert_int_equal(hvs_addr_parse_str(&mux, "vsock-mux:/v.sock:1",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_int_equal(hvs_addr_parse_str(&tcp, "tcp:1", HVS_ROLE_CONNECT,
			     NULL),
	    0);
	hvs_sockopts_init(&o);
	/* 0 and no options: 10 s for vsock-mux, the platform's otherwise. */
	assert_int_equal(hvs__addr_timeout_ms(&mux, NULL), 10000);
	assert_int_equal(hvs__addr_timeout_ms(&mux, &o), 10000);
	assert_int_equal(hvs__addr_timeout_ms(&tcp, &o), -1);
	o.timeout_ms = 250;
	assert_int_equal(hvs__addr_timeout_ms(&mux, &o), 250);
	o.timeout_ms = -1;
	assert_int_equal(hvs__addr_timeout_ms(&mux, &o), -1);
}

/* Listening is refused everywhere it could be asked for. */
static void
test_listen_refused(void **state)
{
	hvs_addr_t a;
	hvs_sock_t s = HVS_INVALID_SOCK;
	hvs_parse_error_t pe;

	(void)state;
	assert_int_equal(hvs_addr_parse_str(&a, "vsock-mux:/run/vm.sock:5000",
			     HVS_ROLE_LISTEN, &pe),
	    HVS_EMUX_LISTEN);
	assert_int_equal(pe.offset, 0);
	assert_int_equal(pe.length, 9);
	assert_int_equal(hvs_addr_parse_str(&a, "vsock-mux:/run/vm.sock:5000",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_int_equal(hvs_addr_check(&a, HVS_ROLE_CONNECT), 0);
	assert_int_equal(hvs_addr_check(&a, HVS_ROLE_LISTEN), HVS_EMUX_LISTEN);
	assert_int_equal(hvs_listen(&s, &a, NULL), HVS_EMUX_LISTEN);
	assert_int_equal(s, HVS_INVALID_SOCK);
	assert_non_null(
	    strstr(hvs_strerror(HVS_EMUX_LISTEN), "unix:PATH_PORT"));
	assert_string_equal(hvs_err_name(HVS_EMUX_REFUSED), "EMUX_REFUSED");
	assert_string_equal(hvs_err_name(HVS_EMUX_ANSWER), "EMUX_ANSWER");
	assert_string_equal(hvs_err_name(HVS_EMUX_LISTEN), "EMUX_LISTEN");
	assert_int_equal(HVS_EMUX_REFUSED, -4213);
	assert_int_equal(HVS_EMUX_ANSWER, -4214);
	assert_int_equal(HVS_EMUX_LISTEN, -4215);
}

/* ---- hvs_connect() and hvs_connect_async() against a fake VMM ------- */

#ifndef _WIN32

struct script {
	const char *name;
	const char *pieces[5]; /* written one by one, pauses between */
	int hang_up; /* close after the pieces (else wait for our close) */
	int timeout_ms;
	int want; /* what the connect gives */
	const char *stream; /* then readable on the connected socket */
};

static const struct script scripts[] = {
    {"ok", {"OK 1073741824\n"}, 0, 0, 0, NULL},
    {"ok and stream in one write", {"OK 1073741824\nhello"}, 0, 0, 0, "hello"},
    {"split answer", {"O", "K 10", "73741824", "\nhi", " there"}, 0, 0, 0,
	"hi there"},
    {"eof", {NULL}, 1, 0, HVS_EMUX_REFUSED, NULL},
    {"eof after half an answer", {"OK 10"}, 1, 0, HVS_EMUX_REFUSED, NULL},
    {"garbage", {"HTTP/1.1 400 Bad Request\r\n"}, 0, 0, HVS_EMUX_ANSWER, NULL},
    {"garbage before the newline", {"OK 1", "2z\n"}, 0, 0, HVS_EMUX_ANSWER,
	NULL},
    {"over-long",
	{"OK 000000000000000000000000000000",
	    "000000000000000000000000000000000000"},
	0, 0, HVS_EMUX_ANSWER, NULL},
    {"no answer", {NULL}, 0, 100, HVS_ETIMEDOUT, NULL},
    {"half an answer", {"OK 1"}, 0, 100, HVS_ETIMEDOUT, NULL},
};

struct vmm {
	const struct script *sc;
	char path[HVS_PATH_MAX];
	int ls;
	pthread_t th;
	char req[64]; /* what it was asked */
	int accepted;
};

static void *
vmm_main(void *arg)
{
	struct vmm *v = arg;
	char c;
	size_t n = 0;
	int s = accept(v->ls, NULL, NULL);

	if (s < 0) {
		return NULL;
	}
	v->accepted = 1;
	/* The request, a byte at a time: its end is its '\n'. */
	while (n + 1 < sizeof(v->req) && read(s, &c, 1) == 1) {
		v->req[n++] = c;
		if (c == '\n') {
			break;
		}
	}
	for (size_t i = 0; i < HVS__ARRAY_LEN(v->sc->pieces); i++) {
		const char *p = v->sc->pieces[i];

		if (p == NULL) {
			break;
		}
		if (i > 0) {
			testos_sleep_ms(20);
		}
		if (send(s, p, strlen(p), MSG_NOSIGNAL) < 0) {
			break;
		}
	}
	if (!v->sc->hang_up) {
		/* Until the other end is done with the connection. */
		while (read(s, &c, 1) > 0) {
		}
	}
	close(s);
	return NULL;
}

static int vmm_count;

static void
vmm_start(struct vmm *v, const struct script *sc)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	memset(v, 0, sizeof(*v));
	v->sc = sc;
	snprintf(v->path, sizeof(v->path), "/tmp/hvs-mux-test-%d-%d.sock",
	    (int)getpid(), vmm_count++);
	unlink(v->path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", v->path);
	v->ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(v->ls >= 0);
	assert_int_equal(bind(v->ls, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(v->ls, 4), 0);
	assert_int_equal(pthread_create(&v->th, NULL, vmm_main, v), 0);
}

static void
vmm_addr(const struct vmm *v, uint32_t port, hvs_addr_t *a)
{
	char spec[HVS_ADDR_STRLEN];

	snprintf(spec, sizeof(spec), "vsock-mux:%s:%lu", v->path,
	    (unsigned long)port);
	assert_int_equal(hvs_addr_parse_str(a, spec, HVS_ROLE_CONNECT, NULL),
	    0);
}

/* Wait for the VMM to finish; it was asked for @port. */
static void
vmm_end(struct vmm *v, uint32_t port)
{
	char want[32];

	pthread_join(v->th, NULL);
	close(v->ls);
	unlink(v->path);
	assert_true(v->accepted);
	snprintf(want, sizeof(want), "CONNECT %lu\n", (unsigned long)port);
	assert_string_equal(v->req, want);
}

/* The connected socket: an ordinary unix stream, the script's bytes. */
static void
check_connected(const struct script *sc, hvs_sock_t s)
{
	hvs_addr_kind_t kind;

	assert_int_equal(hvs_sock_kind(s, &kind), 0);
	assert_int_equal(kind, HVS_ADDR_UNIX);
	if (sc->stream != NULL) {
		char buf[32] = {0};

		assert_true(strlen(sc->stream) < sizeof(buf));
		assert_int_equal(hvs_set_nonblock(s, 0), 0);
		get_exact(s, buf, strlen(sc->stream));
		assert_string_equal(buf, sc->stream);
	}
}

static void
opts_for(const struct script *sc, hvs_sockopts_t *o)
{
	hvs_sockopts_init(o);
	o->timeout_ms = sc->timeout_ms > 0 ? sc->timeout_ms : LIVENESS_MS;
}

static void
test_connect_scripts(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(scripts); i++) {
		const struct script *sc = &scripts[i];
		hvs_sock_t s = HVS_INVALID_SOCK;
		hvs_sockopts_t o;
		hvs_addr_t a;
		struct vmm v;
		int rc;

		vmm_start(&v, sc);
		vmm_addr(&v, 5000 + (uint32_t)i, &a);
		opts_for(sc, &o);
		rc = hvs_connect(&s, &a, &o);
		if (rc != sc->want) {
			fail_msg("%s: got %s, want %s", sc->name,
			    hvs_err_name(rc), hvs_err_name(sc->want));
		}
		if (rc == 0) {
			/* Blocking, as hvs_connect() gives sockets. */
			assert_false(testos_is_nonblock(s));
			check_connected(sc, s);
			hvs_close(s);
		} else {
			assert_int_equal(s, HVS_INVALID_SOCK);
		}
		vmm_end(&v, 5000 + (uint32_t)i);
	}
}

/* HVS_SOCK_NONBLOCK still gives the socket non-blocking. */
static void
test_connect_nonblock(void **state)
{
	hvs_sock_t s = HVS_INVALID_SOCK;
	hvs_sockopts_t o;
	hvs_addr_t a;
	struct vmm v;

	(void)state;
	vmm_start(&v, &scripts[1]);
	vmm_addr(&v, 22, &a);
	opts_for(&scripts[1], &o);
	o.flags |= HVS_SOCK_NONBLOCK;
	assert_int_equal(hvs_connect(&s, &a, &o), 0);
	assert_true(testos_is_nonblock(s));
	check_connected(&scripts[1], s);
	hvs_close(s);
	vmm_end(&v, 22);
}

/* No VMM socket: ENOENT; a file that is no socket: the system's word. */
static void
test_connect_bad_path(void **state)
{
	char path[64], spec[96];
	hvs_sock_t s = HVS_INVALID_SOCK;
	hvs_addr_t a;
	int fd, rc;

	(void)state;
	assert_int_equal(hvs_addr_parse_str(&a,
			     "vsock-mux:/nonexistent/hvs-mux.sock:5000",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_int_equal(hvs_connect(&s, &a, NULL), HVS_ENOENT);

	snprintf(path, sizeof(path), "/tmp/hvs-mux-test-%d.file",
	    (int)getpid());
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "vsock-mux:%s:5000", path);
	assert_int_equal(hvs_addr_parse_str(&a, spec, HVS_ROLE_CONNECT, NULL),
	    0);
	rc = hvs_connect(&s, &a, NULL);
	unlink(path);
	if (rc != HVS_ECONNREFUSED && rc != HVS_ENOTSOCK) {
		fail_msg("a plain file: %s", hvs_err_name(rc));
	}
	assert_int_equal(s, HVS_INVALID_SOCK);
}

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

/* Run @base until @r's callback ran, counting the rounds in *@rounds. */
static void
run_until_called(struct event_base *base, struct result *r, int *rounds)
{
	struct timeval tv = {LIVENESS_S, 0};
	struct event *live = evtimer_new(base, on_liveness, NULL);

	expired = 0;
	*rounds = 0;
	evtimer_add(live, &tv);
	while (r->calls == 0 && !expired) {
		event_base_loop(base, EVLOOP_ONCE);
		(*rounds)++;
	}
	event_free(live);
	assert_false(expired);
	assert_int_equal(r->calls, 1);
}

static void
test_async_scripts(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(scripts); i++) {
		const struct script *sc = &scripts[i];
		struct event_base *base = event_base_new();
		struct result r = {0, 0, HVS_INVALID_SOCK};
		hvs_connect_req_t *req = NULL;
		hvs_sockopts_t o;
		hvs_addr_t a;
		struct vmm v;
		int rounds;

		assert_non_null(base);
		vmm_start(&v, sc);
		vmm_addr(&v, 6000 + (uint32_t)i, &a);
		opts_for(sc, &o);
		assert_int_equal(hvs_connect_async(&req, base, &a, &o,
				     on_connect, &r),
		    0);
		assert_non_null(req);
		assert_int_equal(r.calls, 0); /* never from inside the call */
		run_until_called(base, &r, &rounds);
		/* Each round of the loop read something or timed out: a
		 * busy loop would spin through many more. */
		assert_true(rounds <= 16);
		if (r.err != sc->want) {
			fail_msg("%s: got %s, want %s", sc->name,
			    hvs_err_name(r.err), hvs_err_name(sc->want));
		}
		if (r.err == 0) {
			check_connected(sc, r.sock);
			hvs_close(r.sock);
		}
		vmm_end(&v, 6000 + (uint32_t)i);
		event_base_free(base);
	}
}

static void
test_async_bad_path(void **state)
{
	struct event_base *base = event_base_new();
	struct result r = {0, 0, HVS_INVALID_SOCK};
	hvs_addr_t a;
	int rounds;

	(void)state;
	assert_int_equal(hvs_addr_parse_str(&a,
			     "vsock-mux:/nonexistent/hvs-mux.sock:5000",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_int_equal(hvs_connect_async(NULL, base, &a, NULL, on_connect,
			     &r),
	    0);
	assert_int_equal(r.calls, 0);
	run_until_called(base, &r, &rounds);
	assert_int_equal(r.err, HVS_ENOENT);
	event_base_free(base);
}

/* Cancelled while the VMM has not answered: the socket goes, the VMM
 * sees the end, the callback never runs. */
static void
test_async_cancel(void **state)
{
	static const struct script silent = {"silent", {NULL}, 0, 0, 0, NULL};
	struct event_base *base = event_base_new();
	struct result r = {0, 0, HVS_INVALID_SOCK};
	hvs_connect_req_t *req = NULL;
	hvs_addr_t a;
	struct vmm v;

	(void)state;
	vmm_start(&v, &silent);
	vmm_addr(&v, 7, &a);
	assert_int_equal(hvs_connect_async(&req, base, &a, NULL, on_connect,
			     &r),
	    0);
	assert_non_null(req);
	event_base_loop(base, EVLOOP_NONBLOCK);
	hvs_connect_cancel(req);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.calls, 0);
	vmm_end(&v, 7);
	event_base_free(base);
}

#endif /* !_WIN32 */

#ifdef _WIN32
static void
test_unix_skipped(void **state)
{
	(void)state;
	skip_because("hvs_connect() and hvs_connect_async() to a fake VMM: "
		     "wine has no AF_UNIX");
}
#endif

#define T(fn)                                                 \
	cmocka_unit_test_setup_teardown(fn, fd_fixture_setup, \
	    fd_fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_step_ok),
	    T(test_step_ok_with_stream),
	    T(test_step_split),
	    T(test_step_refused),
	    T(test_step_garbage),
	    T(test_step_line_limit),
	    T(test_step_timeout),
	    T(test_timeout_default),
	    T(test_listen_refused),
#ifndef _WIN32
	    T(test_connect_scripts),
	    T(test_connect_nonblock),
	    T(test_connect_bad_path),
	    T(test_async_scripts),
	    T(test_async_bad_path),
	    T(test_async_cancel),
#else
	    T(test_unix_skipped),
#endif
	};

	if (getenv("TEST_FILTER") != NULL) {
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	}
	if (getenv("TEST_SKIP") != NULL) {
		cmocka_set_skip_filter(getenv("TEST_SKIP"));
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
