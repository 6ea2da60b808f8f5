/* SPDX-License-Identifier: MIT */
/*
 * Hybrid vsock (vsock-mux:PATH:PORT): Firecracker, Cloud Hypervisor,
 * vhost-device-vsock and libkrun give a guest's vsock to the host as one
 * unix socket. A host program connects to it, writes `CONNECT PORT\n`,
 * and the VMM answers `OK HOSTPORT\n` once the guest accepted, or closes
 * the connection when nothing listens on that port. Every byte after the
 * answer's '\n' is the guest's: the answer is read a byte at a time (at
 * most HVS__MUX_LINE_MAX recv calls, once per connection), so that none
 * of the stream is taken with it. Peeking would save calls but is not to
 * be had on every system's unix sockets.
 *
 * The steps never wait: the blocking hvs_connect() waits between them with
 * hvs__os_wait_io(), the event loop (loop/connect.c) with its event.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int
hvs__addr_timeout_ms(const hvs_addr_t *addr, const hvs_sockopts_t *opts)
{
	if (addr != NULL && addr->kind == HVS_ADDR_VSOCK_MUX &&
	    (opts == NULL || opts->timeout_ms == 0)) {
		/* A VMM that never answers must not hang the caller. */
		return HVS__MUX_TIMEOUT_MS;
	}
	return hvs__connect_timeout_ms(opts);
}

void
hvs__mux_init(hvs__mux_t *m, uint32_t port)
{
	int n;

	memset(m, 0, sizeof(*m));
	m->port = port;
	n = snprintf(m->req, sizeof(m->req), "CONNECT %lu\n",
	    (unsigned long)port);
	m->req_len = n > 0 ? (size_t)n : 0;
}

/* A closed or reset connection before the answer: the VMM said no. */
static int
closed(int rc)
{
	return rc == HVS_EOF || rc == HVS_ECONNRESET || rc == HVS_EPIPE ||
	    rc == HVS_ECONNABORTED;
}

int
hvs__mux_send(hvs_sock_t s, hvs__mux_t *m)
{
	while (m->req_sent < m->req_len) {
		size_t n = 0;
		int rc = hvs__os_send(s, m->req + m->req_sent,
		    m->req_len - m->req_sent, &n);

		if (rc < 0) {
			return closed(rc) ? HVS_EMUX_REFUSED : rc;
		}
		m->req_sent += n;
	}
	return 0;
}

/*
 * 1 if @c may come at @pos of an answer: "OK ", then digits. Anything
 * else is garbage at once, without waiting for a '\n' that may not come.
 */
static int
answer_byte_ok(size_t pos, char c)
{
	static const char prefix[] = "OK ";

	if (pos < sizeof(prefix) - 1) {
		return c == prefix[pos];
	}
	return c >= '0' && c <= '9';
}

/* The complete line (without its '\n'): "OK " and a 32-bit number. */
static int
parse_answer(hvs__mux_t *m)
{
	uint64_t v = 0;
	size_t i = 3;

	if (m->line_len <= i) {
		return HVS_EMUX_ANSWER;
	}
	for (; i < m->line_len; i++) {
		v = v * 10 + (uint64_t)(m->line[i] - '0');
		if (v > UINT32_MAX) {
			return HVS_EMUX_ANSWER;
		}
	}
	m->host_port = (uint32_t)v;
	return 0;
}

int
hvs__mux_recv(hvs_sock_t s, hvs__mux_t *m)
{
	for (;;) {
		char c;
		size_t n = 0;
		int rc = hvs__os_recv(s, &c, 1, &n);

		if (rc < 0) {
			return closed(rc) ? HVS_EMUX_REFUSED : rc;
		}
		if (n == 0) {
			return HVS_EMUX_REFUSED;
		}
		if (c == '\n') {
			return parse_answer(m);
		}
		/* The '\n' counts: a line of HVS__MUX_LINE_MAX bytes has
		 * room for HVS__MUX_LINE_MAX - 1 before it. */
		if (m->line_len + 1 >= sizeof(m->line) ||
		    !answer_byte_ok(m->line_len, c)) {
			return HVS_EMUX_ANSWER;
		}
		m->line[m->line_len++] = c;
	}
}

/* Milliseconds left until @deadline_ms (0: none, -1). */
static int
left_ms(uint64_t deadline_ms)
{
	uint64_t now;

	if (deadline_ms == 0) {
		return -1;
	}
	now = hvs__os_now_ms();
	if (now >= deadline_ms) {
		return 0;
	}
	return deadline_ms - now > (uint64_t)INT32_MAX
	    ? INT32_MAX
	    : (int)(deadline_ms - now);
}

int
hvs__mux_handshake(hvs_sock_t s, uint32_t port, uint64_t deadline_ms)
{
	hvs__mux_t m;
	int writing = 1;
	int rc;

	hvs__mux_init(&m, port);
	for (;;) {
		rc = writing ? hvs__mux_send(s, &m) : hvs__mux_recv(s, &m);
		if (rc == 0 && writing) {
			writing = 0;
			continue;
		}
		if (rc != HVS_EAGAIN) {
			break;
		}
		rc = hvs__os_wait_io(s, writing, left_ms(deadline_ms));
		if (rc < 0) {
			break;
		}
	}
	if (rc == 0) {
		hvs__log(HVS_LOG_DEBUG,
		    "vsock-mux: port %lu: the VMM said OK %lu",
		    (unsigned long)port, (unsigned long)m.host_port);
	}
	return rc;
}
