/* SPDX-License-Identifier: MIT */
/*
 * A pump copies one descriptor into another on the event loop and says
 * when the source has ended. hvcat puts pumps around the relay only for
 * the quit policies that must see an EOF the relay keeps to itself:
 *
 *   -q SECS        stdin -> pipe -> relay: the stdin EOF starts the clock
 *   --no-shutdown  stdin -> pipe (kept open at EOF: no SHUT_WR), and
 *   --recv-only    relay -> pipe -> stdout: the peer's EOF ends hvcat
 *
 * The default path (half-close, quit when both directions are done) has
 * no pump: the relay reads stdin and writes stdout itself.
 *
 * Regular files and character devices other than terminals (/dev/null)
 * cannot be polled; they are always ready, so the pump reads or writes
 * them without waiting and yields to the loop between rounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvcat.h"

/* Rounds of read+write before yielding to the loop. */
#define PUMP_ROUNDS 16

struct pump {
	int from, to;
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

static int
pollable(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		return 1;
	}
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(fd);
}

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
	ssize_t n;

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
			n = read(p->from, p->buf, p->cap);
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n < 0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK)) {
				event_add(p->rev, NULL);
				return;
			}
			if (n < 0) {
				finish(p, hvs_translate_sys_error(errno));
				return;
			}
			if (n == 0) {
				p->eof = 1;
			} else {
				p->off = 0;
				p->len = (size_t)n;
			}
			/* A blocking source is read once per readiness. */
			readable = !p->from_poll;
		}
		if (p->len > 0) {
			if (!writable) {
				event_add(p->wev, NULL);
				return;
			}
			n = write(p->to, p->buf + p->off, p->len);
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n < 0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK)) {
				event_add(p->wev, NULL);
				return;
			}
			if (n < 0) {
				finish(p, hvs_translate_sys_error(errno));
				return;
			}
			p->off += (size_t)n;
			p->len -= (size_t)n;
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
pump_new(struct pump **out, struct event_base *base, int from, int to,
    size_t bufsize, pump_done_fn done, void *userdata)
{
	struct pump *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return HVS_ENOMEM;
	}
	p->from = from;
	p->to = to;
	p->from_poll = pollable(from);
	p->to_poll = pollable(to);
	p->cap = bufsize > 0 ? bufsize : 64 * 1024;
	p->buf = malloc(p->cap);
	/*
	 * A pollable destination is written only when the loop says so;
	 * non-blocking, a slow reader cannot stall the loop in write(2)
	 * (the caller restores the flags of stdio descriptors at exit).
	 */
	if (p->to_poll) {
		int fl = fcntl(to, F_GETFL);
		if (fl != -1 && !(fl & O_NONBLOCK)) {
			(void)fcntl(to, F_SETFL, fl | O_NONBLOCK);
		}
	}
	/* Descriptors that cannot be polled get no event: always ready. */
	if (p->from_poll) {
		p->rev = event_new(base, from, EV_READ, on_read, p);
	}
	if (p->to_poll) {
		p->wev = event_new(base, to, EV_WRITE, on_write, p);
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
