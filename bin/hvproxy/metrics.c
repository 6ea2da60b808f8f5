/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint: GET /metrics in Prometheus' text format (0.0.4),
 * served on the daemon's own event loop by a small HTTP/1.x responder:
 * one request per connection, answered with "Connection: close".
 *
 * Byte counters include the connections still open (read from their
 * relays at scrape time), so a scrape taken while a transfer runs is
 * already right.
 *
 * The endpoint never takes the descriptors the forwards were promised
 * (daemon.c fit_descriptors() keeps HVP_METRICS_FDS of them for it):
 *
 * - At most HVP_METRICS_MAX_CONNS connections are open at once. One more
 *   is closed as soon as it is accepted (the listener's filter), which
 *   needs one descriptor for an instant, counted in HVP_METRICS_FDS.
 *   Closing at once, rather than pausing the listener, tells the client
 *   at once, leaves nothing queued in the kernel's backlog, and keeps the
 *   loop's cost per surplus connection at an accept() and a close().
 * - Each connection has a total deadline, HVP_METRICS_DEADLINE_MS from
 *   its accept(), that bytes trickling in do not move: a client that
 *   sends one byte at a time holds its slot that long at most (libevent's
 *   own timeouts restart on every byte).
 * - A request's line and headers are read up to METRICS_REQ_MAX bytes;
 *   the answer is queued whole, then the write side is shut down and the
 *   input discarded until the client closes (at most METRICS_LINGER_MS,
 *   within the deadline), so that a client's unread bytes do not turn
 *   the close into a reset that could destroy the answer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "hvproxy.h"
#include "metrics.h"

/* Back-off after an accept() error such as EMFILE (as the forwards'
 * listeners do). */
#define ACCEPT_PAUSE_MS 1000
/* The request line and headers, at most. */
#define METRICS_REQ_MAX 8192
/* Once the answer is written: how long the client has to close. */
#define METRICS_LINGER_MS 1000

struct mconn {
	struct hvp_metrics *m;
	struct bufferevent *bev; /* NULL: the slot is free */
	struct event deadline;
	uint64_t end_ms; /* the deadline, on now_ms()'s clock */
	unsigned answered : 1; /* answer queued; input is discarded */
	unsigned wr_shut : 1; /* answer written, write side shut down */
	unsigned eof : 1; /* the client closed its side */
};

struct hvp_metrics {
	struct event_base *base;
	hvs_listener_t *l;
	struct hvp_daemon *d;
	time_t start;
	unsigned nconns;
	unsigned full_warned : 1; /* until no connection is open */
	unsigned accept_failing : 1; /* until a connection is accepted */
	unsigned long long refused; /* closed at once: over the limit */
	unsigned long long timeouts; /* closed at the deadline, unanswered */
	struct mconn conns[HVP_METRICS_MAX_CONNS];
	struct hvc_sockfile sockfile; /* a unix socket file we created */
};

/*
 * evbuffer_add_printf() through the C library's own vsnprintf(): the
 * same formats on every system (libevent's goes to the Windows C
 * runtime's, which may not take %zu or %llu).
 */
static void bprintf(struct evbuffer *b, const char *fmt, ...) HVP_PRINTF(2, 3);

static void
bprintf(struct evbuffer *b, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	if ((size_t)n < sizeof(buf)) {
		evbuffer_add(b, buf, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	{
		char *p = hvc_xvasprintf(fmt, ap);

		evbuffer_add(b, p, strlen(p));
		free(p);
	}
	va_end(ap);
}

struct snap {
	struct hvp_fwd_stats *st;
	size_t n, cap;
};

static void
collect(const struct hvp_fwd_stats *st, void *arg)
{
	struct snap *s = arg;

	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 16 : s->cap * 2;
		struct hvp_fwd_stats *n = realloc(s->st, cap * sizeof(*n));

		if (n == NULL) {
			return;
		}
		s->st = n;
		s->cap = cap;
	}
	s->st[s->n++] = *st;
}

/* A label value with \, " and newlines escaped (the text format's
 * rules), whoever chose it: forward names come from the command line
 * (a unix path as the name) or the configuration. */
static void
label(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"') {
			bprintf(b, "\\%c", *v);
		} else if (*v == '\n') {
			evbuffer_add(b, "\\n", 2);
		} else {
			evbuffer_add(b, v, 1);
		}
	}
}

static void
family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{forward="F"[,extra]} value */
static void
sample(struct evbuffer *b, const char *name, const char *fwd, const char *extra,
    unsigned long long v)
{
	bprintf(b, "%s{forward=\"", name);
	label(b, fwd);
	bprintf(b, "\"%s%s} %llu\n", extra != NULL ? "," : "",
	    extra != NULL ? extra : "", v);
}

static void
render(struct hvp_metrics *m, struct evbuffer *b)
{
	struct snap s = {NULL, 0, 0};
	hvs_relay_counters_t rc;
	unsigned open, maxc;
	uint64_t reloads, reload_fail;
	size_t i;

	hvp_daemon_foreach(m->d, collect, &s);
	hvp_daemon_totals(m->d, &open, &maxc, &reloads, &reload_fail);
	hvs_relay_counters(&rc);

	family(b, "hvproxy_info", "gauge", "Version of hvproxy and libhvsock.");
	bprintf(b, "hvproxy_info{version=\"");
	label(b, HVS_VERSION);
	bprintf(b, "\",libhvsock=\"");
	label(b, hvs_version());
	bprintf(b, "\"} 1\n");
	family(b, "hvproxy_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch.");
	bprintf(b, "hvproxy_start_time_seconds %lld\n", (long long)m->start);
	family(b, "hvproxy_max_connections", "gauge",
	    "Limit on open connections of all forwards together.");
	bprintf(b, "hvproxy_max_connections %u\n", maxc);
	family(b, "hvproxy_open_connections", "gauge",
	    "Open connections of all forwards together.");
	bprintf(b, "hvproxy_open_connections %u\n", open);
	family(b, "hvproxy_reloads_total", "counter",
	    "Configuration reloads (SIGHUP), by result.");
	bprintf(b,
	    "hvproxy_reloads_total{result=\"ok\"} %llu\n"
	    "hvproxy_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)reloads, (unsigned long long)reload_fail);

	family(b, "hvproxy_forward_listening", "gauge",
	    "1 while the forward accepts connections, 0 once removed.");
	for (i = 0; i < s.n; i++) {
		sample(b, "hvproxy_forward_listening", s.st[i].name, NULL,
		    (unsigned long long)s.st[i].listening);
	}
	family(b, "hvproxy_connections_open", "gauge",
	    "Connections open now (connecting or relaying).");
	for (i = 0; i < s.n; i++) {
		sample(b, "hvproxy_connections_open", s.st[i].name, NULL,
		    s.st[i].open);
	}
	family(b, "hvproxy_peers_open", "gauge",
	    "Distinct peers (CIDs, VM ids, IP addresses, local users) with "
	    "connections open now.");
	for (i = 0; i < s.n; i++) {
		sample(b, "hvproxy_peers_open", s.st[i].name, NULL,
		    s.st[i].peers);
	}
	family(b, "hvproxy_connections_total", "counter",
	    "Connections admitted (not refused).");
	for (i = 0; i < s.n; i++) {
		sample(b, "hvproxy_connections_total", s.st[i].name, NULL,
		    (unsigned long long)s.st[i].total);
	}
	family(b, "hvproxy_bytes_total", "counter",
	    "Bytes relayed; up = client to target, down = target to "
	    "client.");
	for (i = 0; i < s.n; i++) {
		sample(b, "hvproxy_bytes_total", s.st[i].name,
		    "direction=\"up\"", (unsigned long long)s.st[i].bytes_up);
		sample(b, "hvproxy_bytes_total", s.st[i].name,
		    "direction=\"down\"",
		    (unsigned long long)s.st[i].bytes_down);
	}
	family(b, "hvproxy_errors_total", "counter",
	    "Connections that failed: connect = the target refused, was "
	    "unreachable or timed out; relay = a read or write failed.");
	for (i = 0; i < s.n; i++) {
		sample(b, "hvproxy_errors_total", s.st[i].name,
		    "kind=\"connect\"",
		    (unsigned long long)s.st[i].err_connect);
		sample(b, "hvproxy_errors_total", s.st[i].name,
		    "kind=\"relay\"", (unsigned long long)s.st[i].err_relay);
	}
	family(b, "hvproxy_idle_timeouts_total", "counter",
	    "Connections closed by the idle timeout.");
	for (i = 0; i < s.n; i++) {
		sample(b, "hvproxy_idle_timeouts_total", s.st[i].name, NULL,
		    (unsigned long long)s.st[i].idle_timeouts);
	}
	family(b, "hvproxy_refusals_total", "counter",
	    "Connections closed at once, by reason.");
	for (i = 0; i < s.n; i++) {
		sample(b, "hvproxy_refusals_total", s.st[i].name,
		    "reason=\"max-conns\"",
		    (unsigned long long)s.st[i].refused_limit);
		sample(b, "hvproxy_refusals_total", s.st[i].name,
		    "reason=\"allowlist\"",
		    (unsigned long long)s.st[i].refused_allow);
		sample(b, "hvproxy_refusals_total", s.st[i].name,
		    "reason=\"max-conns-per-peer\"",
		    (unsigned long long)s.st[i].refused_peer);
	}
	family(b, "hvproxy_relay_pipes", "gauge",
	    "Zero-copy pipes of the relay engine, in use and pooled.");
	bprintf(b,
	    "hvproxy_relay_pipes{state=\"in_use\"} %llu\n"
	    "hvproxy_relay_pipes{state=\"pooled\"} %llu\n",
	    (unsigned long long)rc.pipes_in_use,
	    (unsigned long long)rc.pipes_pooled);
	family(b, "hvproxy_metrics_refusals_total", "counter",
	    "Connections to this endpoint closed at once: over its limit.");
	bprintf(b, "hvproxy_metrics_refusals_total %llu\n", m->refused);
	family(b, "hvproxy_metrics_timeouts_total", "counter",
	    "Connections to this endpoint closed at their deadline, "
	    "unanswered.");
	bprintf(b, "hvproxy_metrics_timeouts_total %llu\n", m->timeouts);
	free(s.st);
}

/* ---- connections ------------------------------------------------------ */

static uint64_t
now_ms(void)
{
	return hvc_now_ms();
}

static void
arm(struct mconn *c, uint64_t ms)
{
	struct timeval tv;

	/* Member by member: the types differ (long on Windows). */
	tv.tv_sec = (long)(ms / 1000);
	tv.tv_usec = (long)(ms % 1000) * 1000;

	if (evtimer_add(&c->deadline, &tv) != 0) {
		hvp_err("metrics: cannot arm a deadline timer");
	}
}

static void
conn_close(struct mconn *c)
{
	struct hvp_metrics *m = c->m;

	event_del(&c->deadline);
	bufferevent_free(c->bev); /* closes the socket */
	c->bev = NULL;
	m->nconns--;
	if (m->nconns == 0) {
		m->full_warned = 0;
	}
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct mconn *c = arg;

	(void)fd;
	(void)what;
	if (!c->wr_shut) {
		c->m->timeouts++;
		hvp_debug("metrics: a connection reached the %d s deadline "
			  "unanswered; closed",
		    HVP_METRICS_DEADLINE_MS / 1000);
	}
	conn_close(c);
}

/* Queue the whole answer; the connection ends once it is written. */
static void
respond(struct mconn *c, char minor, int code, const char *reason,
    const char *ctype, const char *extra, struct evbuffer *body, int head)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	bprintf(out,
	    "HTTP/1.%c %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n\r\n",
	    minor, code, reason, ctype, evbuffer_get_length(body),
	    extra != NULL ? extra : "");
	if (!head) {
		evbuffer_add_buffer(out, body);
	}
	c->answered = 1;
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
respond_text(struct mconn *c, char minor, int code, const char *reason,
    const char *extra, const char *text, int head)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		conn_close(c);
		return;
	}
	bprintf(b, "%d %s%s%s\n", code, reason, text != NULL ? ": " : "",
	    text != NULL ? text : "");
	respond(c, minor, code, reason, "text/plain; charset=utf-8", extra, b,
	    head);
	evbuffer_free(b);
}

/* Where the request line and headers end (just past the empty line), or
 * 0 if they have not all come yet. */
static size_t
headers_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n') {
			continue;
		}
		if (i + 1 < n && p[i + 1] == '\n') {
			return i + 2;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			return i + 3;
		}
	}
	return 0;
}

static int
word_is(const char *w, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(w, lit, n) == 0;
}

/*
 * Answer the request in p[0..n) (its line and headers, complete): 200
 * for GET or HEAD of /metrics or /, 404 for other paths, 405 for other
 * methods, 400 for what is not an HTTP/1.x request line. Headers are
 * not looked at; a body is not read.
 */
static void
handle(struct mconn *c, const char *p, size_t n)
{
	const char *line, *eol, *sp1, *sp2, *path, *q;
	size_t len, plen;
	char minor = '1';
	int head;
	struct evbuffer *b;

	line = p;
	while (n > 0 && (*line == '\r' || *line == '\n')) {
		line++;
		n--;
	}
	eol = memchr(line, '\n', n);
	len = eol != NULL ? (size_t)(eol - line) : n;
	if (len > 0 && line[len - 1] == '\r') {
		len--;
	}
	sp1 = memchr(line, ' ', len);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line))
			  : NULL;
	if (sp1 == NULL || sp1 == line || sp2 == NULL || sp2 == sp1 + 1 ||
	    line + len - (sp2 + 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1')) {
		respond_text(c, '1', 400, "Bad Request", NULL,
		    "expected GET /metrics HTTP/1.1", 0);
		return;
	}
	minor = sp2[8];
	head = word_is(line, (size_t)(sp1 - line), "HEAD");
	if (!head && !word_is(line, (size_t)(sp1 - line), "GET")) {
		respond_text(c, minor, 405, "Method Not Allowed",
		    "Allow: GET, HEAD\r\n", "only GET and HEAD", 0);
		return;
	}
	/* origin-form /path?query, or absolute-form http://host/path */
	path = sp1 + 1;
	plen = (size_t)(sp2 - path);
	if (plen > 7 && strncasecmp(path, "http://", 7) == 0) {
		q = memchr(path + 7, '/', plen - 7);
		plen = q != NULL ? plen - (size_t)(q - path) : 1;
		path = q != NULL ? q : "/";
	}
	for (size_t i = 0; i < plen; i++) {
		if (path[i] == '?' || path[i] == '#') {
			plen = i;
			break;
		}
	}
	if (!word_is(path, plen, "/metrics") && !word_is(path, plen, "/")) {
		respond_text(c, minor, 404, "Not Found", NULL, "try /metrics",
		    head);
		return;
	}
	b = evbuffer_new();
	if (b == NULL) {
		respond_text(c, minor, 500, "Internal Server Error", NULL,
		    "out of memory", head);
		return;
	}
	render(c->m, b);
	respond(c, minor, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    NULL, b, head);
	evbuffer_free(b);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct mconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in), n, end;
	const char *p;

	if (c->answered || len == 0) {
		evbuffer_drain(in, len);
		return;
	}
	n = len < METRICS_REQ_MAX ? len : METRICS_REQ_MAX;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
	if (p == NULL) {
		conn_close(c);
		return;
	}
	end = headers_end(p, n);
	if (end != 0) {
		handle(c, p, end);
	} else if (len >= METRICS_REQ_MAX) {
		respond_text(c, '1', 431, "Request Header Fields Too Large",
		    NULL, "8 KiB at most", 0);
	} else {
		return; /* wait for the rest, until the deadline */
	}
	if (c->bev != NULL) {
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct mconn *c = arg;
	uint64_t now, left;

	if (!c->answered || c->wr_shut ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		return;
	}
	if (c->eof) {
		conn_close(c);
		return;
	}
	/* Written: send the FIN, then wait a little for the client's. */
	hvs_shutdown((hvs_sock_t)bufferevent_getfd(bev), HVS_SHUT_WR);
	c->wr_shut = 1;
	now = now_ms();
	left = c->end_ms > now ? c->end_ms - now : 0;
	arm(c, left < METRICS_LINGER_MS ? left : METRICS_LINGER_MS);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct mconn *c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    c->answered && !c->wr_shut) {
		/* The client is done sending; the answer still goes out. */
		c->eof = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_close(c);
}

/* The listener's filter, before anything is allocated: over the limit,
 * the connection is closed at once. */
static int
admit(const hvs_addr_t *peer, void *arg)
{
	struct hvp_metrics *m = arg;

	(void)peer;
	if (m->nconns < HVP_METRICS_MAX_CONNS) {
		return 1;
	}
	m->refused++;
	if (!m->full_warned) {
		m->full_warned = 1;
		hvp_warn("metrics: %d connections open, the limit: closing "
			 "new ones at once until they end (at most %d s)",
		    HVP_METRICS_MAX_CONNS, HVP_METRICS_DEADLINE_MS / 1000);
	}
	return 0;
}

static void
on_accept(hvs_listener_t *l, hvs_sock_t sock, const hvs_addr_t *peer, void *arg)
{
	struct hvp_metrics *m = arg;
	struct mconn *c = NULL;

	(void)l;
	(void)peer;
	m->accept_failing = 0;
	for (size_t i = 0; i < HVP_METRICS_MAX_CONNS; i++) {
		if (m->conns[i].bev == NULL) {
			c = &m->conns[i];
			break;
		}
	}
	if (c == NULL) { /* admit() let no more in */
		hvs_close(sock);
		return;
	}
	c->bev = bufferevent_socket_new(m->base, (evutil_socket_t)sock,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		hvs_close(sock);
		hvp_err("metrics: out of memory");
		return;
	}
	c->m = m;
	c->answered = 0;
	c->wr_shut = 0;
	c->eof = 0;
	c->end_ms = now_ms() + HVP_METRICS_DEADLINE_MS;
	m->nconns++;
	evtimer_assign(&c->deadline, m->base, on_deadline, c);
	arm(c, HVP_METRICS_DEADLINE_MS);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	if (bufferevent_enable(c->bev, EV_READ) != 0) {
		hvp_err("metrics: cannot watch a connection");
		conn_close(c);
	}
}

/*
 * accept() failed for want of descriptors or memory: the library's
 * listener pauses (the pending connections wait in the kernel's backlog)
 * and retries. One warning per episode.
 */
static void
on_accept_error(hvs_listener_t *l, int err, void *arg)
{
	struct hvp_metrics *m = arg;

	(void)l;
	if (!m->accept_failing || hvp_log_on(HVP_LOG_DEBUG)) {
		hvp_warn("metrics: accept: %s; pausing for %d ms",
		    hvs_strerror(err), ACCEPT_PAUSE_MS);
	}
	m->accept_failing = 1;
}

int
hvp_metrics_new(struct hvp_metrics **out, struct event_base *base,
    const hvs_addr_t *addr, struct hvp_daemon *d)
{
	struct hvp_metrics *m;
	hvs_listener_opts_t lo;
	hvs_sockopts_t so;
	int r;
	char *str = hvp_addr_str(addr);

	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		hvp_err("metrics: out of memory");
		free(str);
		return -1;
	}
	m->base = base;
	m->d = d;
	m->start = time(NULL);
	hvs_listener_opts_init(&lo);
	lo.filter = admit;
	lo.on_error = on_accept_error;
	lo.pause_ms = ACCEPT_PAUSE_MS;
	hvs_sockopts_init(&so);
	so.flags |= HVS_SOCK_UNLINK;
	r = hvs_listener_new(&m->l, base, addr, &so, &lo, on_accept, m);
	if (r != 0) {
		char why[HVS_PATH_MAX + 64];

		hvc_listen_why(addr, r, why, sizeof(why));
		hvp_err("metrics: cannot listen on %s: %s", str, why);
		free(m);
		free(str);
		return -1;
	}
	hvc_sockfile_note(&m->sockfile, addr);
	hvp_info("metrics: serving /metrics on %s (at most %d connections, "
		 "%d s each)",
	    str, HVP_METRICS_MAX_CONNS, HVP_METRICS_DEADLINE_MS / 1000);
	free(str);
	*out = m;
	return 0;
}

void
hvp_metrics_free(struct hvp_metrics *m)
{
	if (m == NULL) {
		return;
	}
	hvs_listener_destroy(m->l);
	hvp_sockfile_remove(&m->sockfile, "the metrics endpoint");
	for (size_t i = 0; i < HVP_METRICS_MAX_CONNS; i++) {
		if (m->conns[i].bev != NULL) {
			conn_close(&m->conns[i]);
		}
	}
	free(m);
}
