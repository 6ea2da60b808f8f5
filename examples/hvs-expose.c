/* SPDX-License-Identifier: MIT */
/*
 * hvs-expose — expose a local TCP service on a vsock port.
 *
 *	hvs-expose [-cv] [-n count] [-t idle] [-w timeout] listen target
 *	hvs-expose vsock:8080 tcp:127.0.0.1:8080
 *
 * A small, complete daemon written against the public API of libhvsock
 * only (<hvsock/hvsock.h>, <hvsock/loop.h>) and libevent: a listener, an
 * async connect per accepted connection, and a relay between the two with
 * half-close passed on. SIGINT/SIGTERM stop accepting and drain the
 * relays: bytes already read are delivered before the daemon exits.
 *
 * Any address kind works on either side (hvs-expose tcp:0 tcp:8080 is a
 * plain TCP forwarder); once it listens, the address is printed on
 * standard output ("listening on tcp:127.0.0.1:40123"), so that a port 0
 * can be used by scripts and tests. -c forces the relay's read/write
 * (copy) path instead of zero-copy splice, for tests and comparisons;
 * with -v the end of each connection is logged, "(zero-copy)" when
 * splice carried its bytes.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <hvsock/hvsock.h>
#include <hvsock/loop.h>

/* One accepted connection: connecting to the target, then relaying. */
struct conn {
	struct daemon *d;
	hvs_sock_t client; /* until the relay owns it */
	hvs_connect_req_t *req; /* while connecting */
	hvs_relay_t *relay; /* while relaying */
	char peer[HVS_ADDR_STRLEN];
	struct conn *prev, *next;
};

struct daemon {
	struct event_base *base;
	hvs_listener_t *l;
	hvs_addr_t target;
	hvs_sockopts_t copts; /* connect options (timeout) */
	hvs_relay_opts_t ropts;
	struct conn *conns; /* active connections */
	long left; /* connections to serve, -1 = forever */
	int verbose;
	int stopping; /* no more connections */
	int draining; /* and no new bytes either */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: hvs-expose [-cv] [-n count] [-t idle] "
	    "[-w timeout] listen target\n"
	    "       hvs-expose vsock:8080 tcp:127.0.0.1:8080\n");
	exit(2);
}

/* A bounded number, like strtonum(3): never atoi. */
static long
number(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		errx(2, "%s: %s: expected a number from %ld to %ld", what, s,
		    min, max);
	}
	return v;
}

static void
parse_addr(hvs_addr_t *a, const char *s, hvs_role_t role)
{
	hvs_parse_error_t pe;
	int rc;

	rc = hvs_addr_parse_str(a, s, role, &pe);
	if (rc < 0) {
		errx(2, "%s: %s (at \"%.*s\")", s, hvs_strerror(rc),
		    (int)(pe.length > 0 ? pe.length : strlen(s + pe.offset)),
		    s + pe.offset);
	}
}

static void logmsg(const struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
logmsg(const struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->verbose) {
		return;
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
on_lib_log(hvs_log_level_t level, const char *msg, void *userdata)
{
	(void)level;
	(void)userdata;
	fprintf(stderr, "hvs-expose: %s\n", msg);
}

/* The daemon is done once it stops and the last connection has ended. */
static void
maybe_exit(struct daemon *d)
{
	if (d->stopping && d->conns == NULL) {
		event_base_loopbreak(d->base);
	}
}

static void
conn_free(struct conn *c)
{
	struct daemon *d = c->d;

	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		d->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	free(c);
	maybe_exit(d);
}

static const char *
end_name(hvs_relay_end_t e)
{
	switch (e) {
	case HVS_RELAY_DONE:
		return "done";
	case HVS_RELAY_ERROR:
		return "error";
	case HVS_RELAY_RESET:
		return "reset";
	case HVS_RELAY_IDLE_TIMEOUT:
		return "idle timeout";
	case HVS_RELAY_CLOSED:
		return "closed";
	}
	return "?";
}

static void
on_relay_done(hvs_relay_t *r, const hvs_relay_stats_t *st, void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;

	(void)r;
	logmsg(d, "%s: %s: %llu bytes in, %llu out, %llu ms%s%s%s", c->peer,
	    end_name(st->reason), (unsigned long long)st->bytes_a_to_b,
	    (unsigned long long)st->bytes_b_to_a,
	    (unsigned long long)st->duration_ms, st->err != 0 ? ": " : "",
	    st->err != 0 ? hvs_strerror(st->err) : "",
	    st->spliced ? " (zero-copy)" : "");
	conn_free(c);
}

static void
on_connected(int rc, hvs_sock_t target, void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;

	c->req = NULL;
	if (rc < 0) {
		logmsg(d, "%s: cannot reach the target: %s", c->peer,
		    hvs_strerror(rc));
		hvs_close(c->client);
		conn_free(c);
		return;
	}
	/* The relay owns both sockets once it exists. */
	rc = hvs_relay_new(&c->relay, d->base, c->client, target, &d->ropts,
	    on_relay_done, c);
	if (rc < 0) {
		logmsg(d, "%s: cannot relay: %s", c->peer, hvs_strerror(rc));
		hvs_close(target);
		hvs_close(c->client);
		conn_free(c);
		return;
	}
	c->client = HVS_INVALID_SOCK;
	if (d->draining) {
		hvs_relay_drain(c->relay);
	}
}

/*
 * Stop accepting; with @drain also stop reading, so that the relays end
 * as soon as what they have read is delivered (a signal), else let them
 * run to their end (-n).
 */
static void
stop(struct daemon *d, int drain)
{
	d->stopping = 1;
	hvs_listener_destroy(d->l);
	d->l = NULL;
	if (drain && !d->draining) {
		d->draining = 1;
		for (struct conn *c = d->conns; c != NULL; c = c->next) {
			if (c->relay != NULL) {
				hvs_relay_drain(c->relay);
			}
		}
	}
	maybe_exit(d);
}

static void
on_accept(hvs_listener_t *l, hvs_sock_t s, const hvs_addr_t *peer, void *arg)
{
	struct daemon *d = arg;
	struct conn *c;
	int rc;

	(void)l;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		hvs_close(s);
		return;
	}
	c->d = d;
	c->client = s;
	if (hvs_addr_format(peer, c->peer, sizeof(c->peer)) < 0) {
		snprintf(c->peer, sizeof(c->peer), "(unknown peer)");
	}
	c->next = d->conns;
	if (d->conns != NULL) {
		d->conns->prev = c;
	}
	d->conns = c;
	logmsg(d, "%s: connected", c->peer);

	rc = hvs_connect_async(&c->req, d->base, &d->target, &d->copts,
	    on_connected, c);
	if (rc < 0) {
		logmsg(d, "%s: cannot reach the target: %s", c->peer,
		    hvs_strerror(rc));
		hvs_close(s);
		conn_free(c);
	}
	if (d->left > 0 && --d->left == 0) {
		stop(d, 0); /* served enough; finish the ones running */
	}
}

static void
on_accept_error(hvs_listener_t *l, int err, void *arg)
{
	(void)l;
	warnx("accept: %s; pausing", hvs_strerror(err));
	(void)arg;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	stop(arg, 1);
}

int
main(int argc, char *argv[])
{
	hvs_listener_opts_t lopts;
	struct event *sigint, *sigterm;
	struct daemon d = {.left = -1};
	char buf[HVS_ADDR_STRLEN];
	hvs_addr_t listen_addr, local;
	int ch, rc;

	hvs_listener_opts_init(&lopts);
	lopts.on_error = on_accept_error;
	hvs_relay_opts_init(&d.ropts);
	hvs_sockopts_init(&d.copts);
	d.copts.timeout_ms = 5000;
	while ((ch = getopt(argc, argv, "chn:t:vw:")) != -1) {
		switch (ch) {
		case 'c':
			d.ropts.flags |= HVS_RELAY_NO_SPLICE;
			break;
		case 'n':
			d.left = number(optarg, 1, LONG_MAX, "-n");
			break;
		case 't':
			d.ropts.idle_timeout_ms =
			    (int)number(optarg, 1, INT_MAX / 1000, "-t") * 1000;
			break;
		case 'v':
			d.verbose = 1;
			break;
		case 'w':
			d.copts.timeout_ms =
			    (int)number(optarg, 1, 300000, "-w");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2) {
		usage();
	}
	parse_addr(&listen_addr, argv[0], HVS_ROLE_LISTEN);
	parse_addr(&d.target, argv[1], HVS_ROLE_CONNECT);
	if (listen_addr.kind == HVS_ADDR_STDIO ||
	    d.target.kind == HVS_ADDR_STDIO) {
		errx(2, "stdio: not an address a daemon can use");
	}

	/* A peer that goes away must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	if (d.verbose) {
		hvs_set_log(on_lib_log, HVS_LOG_INFO, NULL);
	}
	d.base = event_base_new();
	if (d.base == NULL) {
		errx(1, "cannot create the event loop");
	}
	/* Watched before "listening" is said: a script may signal at once. */
	sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
	sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
	if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) ||
	    evsignal_add(sigterm, NULL)) {
		errx(1, "cannot watch signals");
	}
	rc = hvs_listener_new(&d.l, d.base, &listen_addr, NULL, &lopts,
	    on_accept, &d);
	if (rc < 0) {
		errx(1, "%s: %s", argv[0], hvs_strerror(rc));
	}
	if (hvs_sock_local_addr(hvs_listener_sock(d.l), &local) == 0 &&
	    hvs_addr_format(&local, buf, sizeof(buf)) >= 0) {
		printf("listening on %s\n", buf);
	} else {
		printf("listening on %s\n", argv[0]);
	}
	fflush(stdout);

	event_base_dispatch(d.base);

	event_free(sigint);
	event_free(sigterm);
	hvs_listener_destroy(d.l);
	event_base_free(d.base);
	return 0;
}
