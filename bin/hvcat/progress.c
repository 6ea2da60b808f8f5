/* SPDX-License-Identifier: MIT */
/*
 * The --progress meter: bytes each way, the current rate and the elapsed
 * time, redrawn in place on stderr twice a second, and a final line with
 * the average rate when a connection ends. It reads the relay's counters
 * and never touches the data stream.
 *
 * On a terminal the line is redrawn with '\r'; with --progress=always and
 * stderr not a terminal (a log file), one line per second is appended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvcat.h"

#define TICK_TTY_MS 500
#define TICK_LOG_MS 1000

struct progress {
	struct event *tick;
	int tty; /* redraw in place */
	int shown; /* a line is on the screen (tty) */
	const hvs_relay_t *relay;
	uint64_t start_ms; /* of the current connection */
	uint64_t last_ms; /* previous tick */
	uint64_t last_bytes; /* bytes at the previous tick */
	double rate; /* bytes/s over the last tick */
};

/* The one meter of the process: messages must be able to erase it. */
static struct progress *meter;

static void
human(char *buf, size_t size, double v)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0) {
		snprintf(buf, size, "%.0f %s", v, units[u]);
	} else {
		snprintf(buf, size, "%.1f %s", v, units[u]);
	}
}

static void
draw(struct progress *p, const hvs_relay_stats_t *st, int final)
{
	char sent[32], recv[32], rate[32];
	uint64_t el = hvc_now_ms() - p->start_ms;
	double r = p->rate;

	if (final) {
		double secs = el > 0 ? (double)el / 1000.0 : 0.001;
		r = (double)(st->bytes_a_to_b + st->bytes_b_to_a) / secs;
	}
	human(sent, sizeof(sent), (double)st->bytes_a_to_b);
	human(recv, sizeof(recv), (double)st->bytes_b_to_a);
	human(rate, sizeof(rate), r);
	fprintf(stderr, "%s%s: sent %s, received %s, %s/s, %u:%02u.%u%s%s",
	    p->tty ? "\r" : "", hvc_progname, sent, recv, rate,
	    (unsigned)(el / 60000), (unsigned)(el / 1000 % 60),
	    (unsigned)(el / 100 % 10), final ? " (done)" : "",
	    p->tty ? "\033[K" : "\n");
	if (final && p->tty) {
		fputc('\n', stderr);
	}
	fflush(stderr);
	p->shown = p->tty && !final;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct progress *p = arg;
	hvs_relay_stats_t st;
	uint64_t now = hvc_now_ms(), bytes;

	(void)fd;
	(void)what;
	if (p->relay == NULL) {
		return;
	}
	hvs_relay_stats(p->relay, &st);
	bytes = st.bytes_a_to_b + st.bytes_b_to_a;
	if (now > p->last_ms) {
		p->rate = (double)(bytes - p->last_bytes) * 1000.0 /
		    (double)(now - p->last_ms);
	}
	p->last_ms = now;
	p->last_bytes = bytes;
	draw(p, &st, 0);
}

struct progress *
progress_new(struct event_base *base, enum progress_when w)
{
	struct progress *p;
	int tty = isatty(STDERR_FILENO);
	struct timeval tv;

	if (w == PROGRESS_NEVER || (w == PROGRESS_AUTO && !tty)) {
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		return NULL;
	}
	p->tty = tty;
	p->tick = event_new(base, -1, EV_PERSIST, on_tick, p);
	if (p->tick == NULL) {
		free(p);
		return NULL;
	}
	tv.tv_sec = 0;
	tv.tv_usec = (tty ? TICK_TTY_MS : TICK_LOG_MS) * 1000;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec = tv.tv_usec / 1000000;
		tv.tv_usec %= 1000000;
	}
	event_add(p->tick, &tv);
	meter = p;
	return p;
}

void
progress_attach(struct progress *p, const hvs_relay_t *relay)
{
	if (p == NULL) {
		return;
	}
	p->relay = relay;
	p->start_ms = p->last_ms = hvc_now_ms();
	p->last_bytes = 0;
	p->rate = 0;
}

void
progress_final(struct progress *p, const hvs_relay_stats_t *st)
{
	if (p == NULL || p->relay == NULL) {
		return;
	}
	p->relay = NULL;
	progress_hide();
	draw(p, st, 1);
}

void
progress_hide(void)
{
	if (meter != NULL && meter->shown) {
		fputs("\r\033[K", stderr);
		meter->shown = 0;
	}
}

void
progress_free(struct progress *p)
{
	if (p == NULL) {
		return;
	}
	progress_hide();
	if (meter == p) {
		meter = NULL;
	}
	event_free(p->tick);
	free(p);
}
