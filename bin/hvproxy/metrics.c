/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint: GET /metrics in Prometheus' text format (0.0.4),
 * served by libevent's evhttp on the daemon's own event loop.
 *
 * Byte counters include the connections still open (read from their
 * relays at scrape time), so a scrape taken while a transfer runs is
 * already right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "hvproxy.h"

/* Back-off after an accept() error such as EMFILE (as the forwards'
 * listeners do: lib/libhvsock/loop/listener.c). */
#define ACCEPT_PAUSE_MS 1000

struct hvp_metrics {
	struct evhttp *http;
	struct evconnlistener *lev; /* owned by http */
	struct event *pause;
	struct hvp_daemon *d;
	time_t start;
	unsigned long long accept_errors;
};

/*
 * The listener's error callback gets the evhttp (libevent sets its own
 * argument), not ours: the daemon serves one metrics endpoint.
 */
static struct hvp_metrics *the_metrics;

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

/* A label value with \, " and newlines escaped. */
static void
label(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"') {
			evbuffer_add_printf(b, "\\%c", *v);
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
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* name{forward="F"[,extra]} value */
static void
sample(struct evbuffer *b, const char *name, const char *fwd, const char *extra,
    unsigned long long v)
{
	evbuffer_add_printf(b, "%s{forward=\"", name);
	label(b, fwd);
	evbuffer_add_printf(b, "\"%s%s} %llu\n", extra != NULL ? "," : "",
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
	evbuffer_add_printf(b,
	    "hvproxy_info{version=\"%s\",libhvsock=\"%s\"} "
	    "1\n",
	    HVS_VERSION, hvs_version());
	family(b, "hvproxy_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch.");
	evbuffer_add_printf(b, "hvproxy_start_time_seconds %lld\n",
	    (long long)m->start);
	family(b, "hvproxy_max_connections", "gauge",
	    "Limit on open connections of all forwards together.");
	evbuffer_add_printf(b, "hvproxy_max_connections %u\n", maxc);
	family(b, "hvproxy_open_connections", "gauge",
	    "Open connections of all forwards together.");
	evbuffer_add_printf(b, "hvproxy_open_connections %u\n", open);
	family(b, "hvproxy_reloads_total", "counter",
	    "Configuration reloads (SIGHUP), by result.");
	evbuffer_add_printf(b,
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
	evbuffer_add_printf(b,
	    "hvproxy_relay_pipes{state=\"in_use\"} %llu\n"
	    "hvproxy_relay_pipes{state=\"pooled\"} %llu\n",
	    (unsigned long long)rc.pipes_in_use,
	    (unsigned long long)rc.pipes_pooled);
	free(s.st);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct hvp_metrics *m = arg;
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *b;

	if (path == NULL ||
	    (strcmp(path, "/metrics") != 0 && strcmp(path, "/") != 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, "try /metrics");
		return;
	}
	b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	render(m, b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

static void
on_pause_end(evutil_socket_t fd, short what, void *arg)
{
	struct hvp_metrics *m = arg;

	(void)fd;
	(void)what;
	if (evconnlistener_enable(m->lev) != 0) {
		hvp_err("metrics: cannot watch the listening socket again");
	}
}

/*
 * libevent's listener leaves the socket armed after an accept() error it
 * does not retry by itself (EMFILE, ENFILE, ENOBUFS, ...): the pending
 * connection makes a level-triggered poll report it at once, again and
 * again. Stop watching, and try again after a pause: the connection waits
 * in the kernel's backlog meanwhile. One warning per episode.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct hvp_metrics *m = the_metrics;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {ACCEPT_PAUSE_MS / 1000,
	    (ACCEPT_PAUSE_MS % 1000) * 1000};

	if (m == NULL || m->http != arg) {
		return;
	}
	evconnlistener_disable(lev);
	if (m->accept_errors++ == 0 || hvp_log_on(HVP_LOG_DEBUG)) {
		hvp_warn("metrics: accept: %s; pausing for %d ms",
		    evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS);
	}
	if (evtimer_add(m->pause, &tv) != 0) {
		hvp_err("metrics: cannot arm the accept back-off timer");
	}
}

int
hvp_metrics_new(struct hvp_metrics **out, struct event_base *base,
    const hvs_addr_t *addr, struct hvp_daemon *d)
{
	struct hvp_metrics *m;
	hvs_sockopts_t so;
	struct evhttp_bound_socket *bound;
	hvs_sock_t s;
	int r;
	char *str = hvp_addr_str(addr);

	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		free(str);
		return -1;
	}
	m->d = d;
	m->start = time(NULL);
	m->pause = evtimer_new(base, on_pause_end, m);
	if (m->pause == NULL) {
		hvp_err("metrics: out of memory");
		goto fail;
	}
	hvs_sockopts_init(&so);
	so.flags |= HVS_SOCK_UNLINK;
	r = hvs_listen(&s, addr, &so);
	if (r != 0) {
		hvp_err("metrics: cannot listen on %s: %s", str,
		    hvs_strerror(r));
		goto fail;
	}
	hvs_set_nonblock(s, 1);
	m->http = evhttp_new(base);
	if (m->http == NULL) {
		hvs_close(s);
		hvp_err("metrics: evhttp_new failed");
		goto fail;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_gencb(m->http, on_request, m);
	bound = evhttp_accept_socket_with_handle(m->http, s);
	if (bound == NULL) {
		hvs_close(s);
		hvp_err("metrics: cannot serve on %s", str);
		goto fail;
	}
	m->lev = evhttp_bound_socket_get_listener(bound);
	the_metrics = m;
	evconnlistener_set_error_cb(m->lev, on_accept_error);
	hvp_info("metrics: serving /metrics on %s", str);
	free(str);
	*out = m;
	return 0;
fail:
	if (m->http != NULL) {
		evhttp_free(m->http);
	}
	if (m->pause != NULL) {
		event_free(m->pause);
	}
	free(m);
	free(str);
	return -1;
}

void
hvp_metrics_free(struct hvp_metrics *m)
{
	if (m == NULL) {
		return;
	}
	if (the_metrics == m) {
		the_metrics = NULL;
	}
	evhttp_free(m->http);
	event_free(m->pause);
	free(m);
}
