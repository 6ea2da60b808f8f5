/* SPDX-License-Identifier: MIT */
/*
 * POSIX start-up, refusals and signals: SIGPIPE is ignored (a peer that
 * goes away is an error, not a silent death), SIGINT and SIGTERM come
 * through the event loop, and a process ended by one dies by it.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hvcat.h"

void
os_init(void)
{
	signal(SIGPIPE, SIG_IGN);
}

const char *
os_refuse(const struct options *o)
{
	(void)o;
	return NULL;
}

const char *
os_error_reason(const struct options *o, int err)
{
	(void)o;
	(void)err;
	return NULL;
}

const char *
os_no_cid_reason(int rc)
{
	(void)rc;
	return NULL;
}

const char *
os_signal_name(int sig)
{
	return strsignal(sig);
}

int
os_exit_by_signal(int sig)
{
	/* Die by the signal, so that the shell knows. */
	signal(sig, SIG_DFL);
	raise(sig);
	return 128 + sig;
}

struct os_signals {
	struct event *ev_int, *ev_term;
	os_signal_fn fn;
	void *userdata;
};

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	struct os_signals *s = arg;

	(void)what;
	s->fn((int)fd, s->userdata);
}

int
os_signals_new(struct os_signals **out, struct event_base *base,
    os_signal_fn fn, void *userdata)
{
	struct os_signals *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return HVS_ENOMEM;
	}
	s->fn = fn;
	s->userdata = userdata;
	s->ev_int = evsignal_new(base, SIGINT, on_signal, s);
	s->ev_term = evsignal_new(base, SIGTERM, on_signal, s);
	if (s->ev_int == NULL || s->ev_term == NULL ||
	    evsignal_add(s->ev_int, NULL) < 0 ||
	    evsignal_add(s->ev_term, NULL) < 0) {
		os_signals_free(s);
		return HVS_ENOMEM;
	}
	*out = s;
	return 0;
}

void
os_signals_free(struct os_signals *s)
{
	if (s == NULL) {
		return;
	}
	if (s->ev_int != NULL) {
		event_free(s->ev_int);
	}
	if (s->ev_term != NULL) {
		event_free(s->ev_term);
	}
	free(s);
}
