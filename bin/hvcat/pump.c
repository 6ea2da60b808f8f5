/* SPDX-License-Identifier: MIT */
/*
 * A pump copies one descriptor into another on the event loop and says
 * when the source has ended. hvcat puts pumps around the relay only for
 * the quit policies that must see an EOF the relay keeps to itself:
 *
 *   -q SECS        stdin -> pipe -> relay: the stdin EOF starts the clock
 *   --no-shutdown  stdin -> pipe (kept open at EOF: no SHUT_WR), and
 *   -N             relay -> pipe -> stdout: the peer's EOF ends hvcat
 *
 * (--recv-only needs no pump: the relay ends at the peer's EOF by itself,
 * HVS_RELAY_B_EOF_ENDS.)
 *
 * The default path (half-close, quit when both directions are done) has
 * no pump: the relay reads stdin and writes stdout itself.
 *
 * Regular files and character devices other than terminals (/dev/null)
 * cannot be polled; they are always ready, so the pump reads or writes
 * them without waiting and yields to the loop between rounds. On Windows
 * a pump only ever sees sockets (stdio comes through hvs_fd_bridge()),
 * and it also carries the bytes of -e/-c children.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "hvcat.h"

/* Rounds of read+write before yielding to the loop. */
#define PUMP_ROUNDS 16

struct pump {
	hvs_sock_t from, to;
	int from_poll, to_poll; /* the loop can wait on them */
	struct event *rev, *wev, *kick;
	char *buf;
	size_t cap, off, len;
	uint64_t total; /* bytes written to @to */
	int eof; /* the source ended (or we stopped reading) */
	int finished; /* done was called */
	pump_done_fn done;
	void *userdata;
};

static void
finish(struct pump *p, int err)
{
	p->finished = 1;
	if (p->rev != NULL) {
		event_del(p->rev);
	}
	if (p->wev != NULL) {
		event_del(p->wev);
	}
	event_del(p->kick);
	if (p->done != NULL) {
		p->done(p, err, p->userdata);
	}
}

static void
run(struct pump *p, int readable, int writable)
{
	size_t n;
	int rc;

	if (p->finished) {
		return;
	}
	readable |= !p->from_poll;
	writable |= !p->to_poll;
	for (int round = 0; round < PUMP_ROUNDS; round++) {
		if (p->len == 0 && !p->eof) {
			if (!readable) {
				event_add(p->rev, NULL);
				return;
			}
			rc = stream_read(p->from, p->buf, p->cap, &n);
			if (rc == HVS_EAGAIN) {
				event_add(p->rev, NULL);
				return;
			}
			if (rc < 0 && rc != HVS_EOF) {
				finish(p, rc);
				return;
			}
			if (n == 0) {
				p->eof = 1;
			} else {
				p->off = 0;
				p->len = n;
			}
			/* A blocking source is read once per readiness. */
			readable = !p->from_poll;
		}
		if (p->len > 0) {
			if (!writable) {
				event_add(p->wev, NULL);
				return;
			}
			rc = stream_write(p->to, p->buf + p->off, p->len, &n);
			if (rc == HVS_EAGAIN) {
				event_add(p->wev, NULL);
				return;
			}
			if (rc < 0) {
				finish(p, rc);
				return;
			}
			p->off += n;
			p->len -= n;
			p->total += (uint64_t)n;
			if (p->len > 0) {
				writable = !p->to_poll;
			}
		}
		if (p->eof && p->len == 0) {
			finish(p, 0);
			return;
		}
	}
	/* Still busy: let the loop breathe, then go on. */
	event_active(p->kick, EV_TIMEOUT, 0);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run(arg, 1, 0);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run(arg, 0, 1);
}

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run(arg, 0, 0);
}

int
pump_new(struct pump **out, struct event_base *base, hvs_sock_t from,
    hvs_sock_t to, size_t bufsize, pump_done_fn done, void *userdata)
{
	struct pump *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return HVS_ENOMEM;
	}
	p->from = from;
	p->to = to;
	p->from_poll = stream_pollable(from);
	p->to_poll = stream_pollable(to);
	p->cap = bufsize > 0 ? bufsize : 64 * 1024;
	p->buf = malloc(p->cap);
	/*
	 * A pollable destination is written only when the loop says so;
	 * non-blocking, a slow reader cannot stall the loop in a write
	 * (stdio_restore() puts the flags of stdio descriptors back at
	 * exit).
	 */
	if (p->to_poll) {
		stream_set_nonblock(to);
	}
	/* Descriptors that cannot be polled get no event: always ready. */
	if (p->from_poll) {
		p->rev =
		    event_new(base, (evutil_socket_t)from, EV_READ, on_read, p);
	}
	if (p->to_poll) {
		p->wev =
		    event_new(base, (evutil_socket_t)to, EV_WRITE, on_write, p);
	}
	p->kick = event_new(base, -1, 0, on_kick, p);
	p->done = done;
	p->userdata = userdata;
	if (p->buf == NULL || (p->from_poll && p->rev == NULL) ||
	    (p->to_poll && p->wev == NULL) || p->kick == NULL) {
		pump_free(p);
		return HVS_ENOMEM;
	}
	/* Start from the loop, never from inside the caller. */
	event_active(p->kick, EV_TIMEOUT, 0);
	*out = p;
	return 0;
}

void
pump_stop(struct pump *p)
{
	if (p == NULL || p->finished) {
		return;
	}
	p->eof = 1;
	if (p->rev != NULL) {
		event_del(p->rev);
	}
	event_active(p->kick, EV_TIMEOUT, 0);
}

uint64_t
pump_bytes(const struct pump *p)
{
	return p != NULL ? p->total : 0;
}

void
pump_free(struct pump *p)
{
	if (p == NULL) {
		return;
	}
	if (p->rev != NULL) {
		event_free(p->rev);
	}
	if (p->wev != NULL) {
		event_free(p->wev);
	}
	if (p->kick != NULL) {
		event_free(p->kick);
	}
	free(p->buf);
	free(p);
}
