/* SPDX-License-Identifier: MIT */
/*
 * Windows start-up, refusals and "signals".
 *
 * Winsock is started before the event loop exists (libevent needs it),
 * and standard input and output are switched to binary: hvcat never
 * translates line ends. Windows has no signals to speak of: Ctrl-C,
 * Ctrl-Break and the console's closing come through a console control
 * handler, on a thread of its own, which only records the event and
 * wakes the loop with a byte on a socket pair; hvcat then finishes as it
 * does on SIGINT (Ctrl-C) or SIGTERM (the others).
 */
#include <winsock2.h>
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "win/win.h"

/* How long the handler holds off Windows after the console is closed
 * (it ends the process 5 s after the event anyway). */
#define CLOSE_WAIT_MS 4500

void
os_init(void)
{
	WSADATA wsa;
	HANDLE h;
	DWORD mode;
	int rc;

	rc = WSAStartup(MAKEWORD(2, 2), &wsa);
	if (rc != 0) {
		msg_die(EXIT_FAIL,
		    "cannot start Winsock (the Windows sockets library): %s",
		    hvs_strerror(hvs_translate_sys_error(rc)));
	}
	/* Bytes pass unchanged: no CR/LF translation, no ^Z as EOF. */
	_setmode(0, _O_BINARY);
	_setmode(1, _O_BINARY);
	/* The progress meter redraws its line with escape sequences. */
	h = GetStdHandle(STD_ERROR_HANDLE);
	if (h != NULL && h != INVALID_HANDLE_VALUE &&
	    GetConsoleMode(h, &mode)) {
		SetConsoleMode(h, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
	}
}

const char *
os_refuse(const struct options *o)
{
	static char m[HVS_ADDR_STRLEN + 256];
	SOCKET s;

	switch (o->addr.kind) {
	case HVS_ADDR_UNIX:
	case HVS_ADDR_VSOCK_MUX:
		/* A VMM's hybrid vsock is a unix socket too. */
		if (o->addr.kind == HVS_ADDR_UNIX && o->addr.u.local.abstract) {
			snprintf(m, sizeof(m),
			    "%s: abstract unix sockets (unix:@NAME) exist on "
			    "Linux only; on Windows use unix:PATH",
			    o->addr_str);
			return m;
		}
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s == INVALID_SOCKET) {
			snprintf(m, sizeof(m),
			    "%s: this system has no unix sockets (they need "
			    "Windows 10 1803 or later; wine has none)",
			    o->addr_str);
			return m;
		}
		closesocket(s);
		break;
	case HVS_ADDR_FD:
		snprintf(m, sizeof(m),
		    "%s: inherited sockets (fd:N) are not supported on "
		    "Windows",
		    o->addr_str);
		return m;
	default:
		break;
	}
	return NULL;
}

const char *
os_error_reason(const struct options *o, int err)
{
	if (err != HVS_EAFNOSUPPORT && err != HVS_EPROTONOSUPPORT) {
		return NULL;
	}
	switch (o->addr.kind) {
	case HVS_ADDR_VSOCK:
	case HVS_ADDR_HVSOCK:
		return "no Hyper-V sockets here: they need Windows 10 1607 "
		       "or later with Hyper-V or WSL2";
	case HVS_ADDR_UNIX:
	case HVS_ADDR_VSOCK_MUX:
		return "no unix sockets here: they need Windows 10 1803 or "
		       "later";
	default:
		return NULL;
	}
}

const char *
os_no_cid_reason(int rc)
{
	(void)rc;
	return "Windows has no vsock CID: it reaches a VM by its VM id "
	       "(hvsock:VMID:PORT), and a VM reaches it as CID 2";
}

/* The console event that ended us, for the message. */
static volatile LONG last_event = -1;

const char *
os_signal_name(int sig)
{
	switch (last_event) {
	case CTRL_C_EVENT:
		return "Ctrl-C";
	case CTRL_BREAK_EVENT:
		return "Ctrl-Break";
	case CTRL_CLOSE_EVENT:
		return "console closed";
	case CTRL_LOGOFF_EVENT:
		return "logoff";
	case CTRL_SHUTDOWN_EVENT:
		return "shutdown";
	default:
		return sig == SIGINT ? "interrupt" : "terminate";
	}
}

int
os_exit_by_signal(int sig)
{
	/* POSIX shells' convention, so that scripts can tell. */
	return 128 + sig;
}

/* ---- waking the loop ---- */

int
win_socketpair(hvs_sock_t sv[2])
{
	evutil_socket_t p[2];

	if (evutil_socketpair(AF_INET, SOCK_STREAM, 0, p) < 0) {
		return hvs_translate_sys_error(WSAGetLastError());
	}
	for (int i = 0; i < 2; i++) {
		SetHandleInformation((HANDLE)p[i], HANDLE_FLAG_INHERIT, 0);
		evutil_make_socket_nonblocking(p[i]);
		sv[i] = (hvs_sock_t)p[i];
	}
	return 0;
}

struct win_wake {
	hvs_sock_t sv[2]; /* [0] the loop reads, [1] any thread writes */
	struct event *ev;
	win_wake_fn fn;
	void *userdata;
};

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct win_wake *w = arg;
	char buf[64];

	(void)what;
	while (recv((SOCKET)fd, buf, sizeof(buf), 0) > 0) {
	}
	w->fn(w->userdata);
}

int
win_wake_new(struct win_wake **out, struct event_base *base, win_wake_fn fn,
    void *userdata)
{
	struct win_wake *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL) {
		return HVS_ENOMEM;
	}
	rc = win_socketpair(w->sv);
	if (rc < 0) {
		free(w);
		return rc;
	}
	w->fn = fn;
	w->userdata = userdata;
	w->ev = event_new(base, (evutil_socket_t)w->sv[0], EV_READ | EV_PERSIST,
	    on_wake, w);
	if (w->ev == NULL || event_add(w->ev, NULL) < 0) {
		win_wake_free(w);
		return HVS_ENOMEM;
	}
	*out = w;
	return 0;
}

void
win_wake(struct win_wake *w)
{
	/* A full buffer already holds a wake-up: nothing lost. */
	(void)send((SOCKET)w->sv[1], "w", 1, 0);
}

void
win_wake_free(struct win_wake *w)
{
	if (w == NULL) {
		return;
	}
	if (w->ev != NULL) {
		event_free(w->ev);
	}
	closesocket((SOCKET)w->sv[0]);
	closesocket((SOCKET)w->sv[1]);
	free(w);
}

/* ---- the console control handler ---- */

struct os_signals {
	struct win_wake *wake;
	os_signal_fn fn;
	void *userdata;
};

/* The one handler of the process and what it wakes. */
static struct os_signals *volatile current;
static volatile LONG pending = -1;
/* Set when the loop is done, for the handler of a closing console. */
static HANDLE done_event;

static BOOL WINAPI
ctrl_handler(DWORD type)
{
	struct os_signals *s = current;

	if (s == NULL) {
		return FALSE; /* the default: end the process */
	}
	InterlockedExchange(&pending, (LONG)type);
	win_wake(s->wake);
	if (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT ||
	    type == CTRL_SHUTDOWN_EVENT) {
		/* Returning lets Windows end the process: give hvcat the
		 * time to finish writing first. */
		WaitForSingleObject(done_event, CLOSE_WAIT_MS);
	}
	return TRUE;
}

static void
on_ctrl(void *arg)
{
	struct os_signals *s = arg;
	LONG type = InterlockedExchange(&pending, -1);

	if (type < 0) {
		return;
	}
	InterlockedExchange(&last_event, type);
	s->fn(type == CTRL_C_EVENT ? SIGINT : SIGTERM, s->userdata);
}

int
os_signals_new(struct os_signals **out, struct event_base *base,
    os_signal_fn fn, void *userdata)
{
	struct os_signals *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL) {
		return HVS_ENOMEM;
	}
	s->fn = fn;
	s->userdata = userdata;
	rc = win_wake_new(&s->wake, base, on_ctrl, s);
	if (rc < 0) {
		free(s);
		return rc;
	}
	if (done_event == NULL) {
		done_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	}
	current = s;
	/* Without a console there is nothing to handle: not an error. */
	(void)SetConsoleCtrlHandler(ctrl_handler, TRUE);
	*out = s;
	return 0;
}

void
os_signals_free(struct os_signals *s)
{
	if (s == NULL) {
		return;
	}
	current = NULL;
	if (done_event != NULL) {
		SetEvent(done_event);
	}
	win_wake_free(s->wake);
	free(s);
}
