/* SPDX-License-Identifier: MIT */
/*
 * systemd integration: socket activation (LISTEN_FDS) and readiness /
 * reload / stop notification (NOTIFY_SOCKET), plus watchdog pings.
 *
 * With libsystemd socket activation is sd_listen_fds(); without it the
 * documented protocol is spoken directly (sd_listen_fds(3)). Notifications
 * always speak sd_notify(3)'s protocol directly, from a non-blocking
 * socket (see notify_raw()). Both are stable interfaces that other service
 * managers (s6, dinit, ...) implement too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef HVP_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "hvproxy.h"

#define LISTEN_FDS_START 3

const char *
hvp_sd_backend(void)
{
#ifdef HVP_HAVE_LIBSYSTEMD
	return "libsystemd";
#else
	return "built-in";
#endif
}

#ifndef HVP_HAVE_LIBSYSTEMD
/* The environment variable @name as a number, or -1. */
static long long
env_number(const char *name)
{
	const char *s = getenv(name);
	uint64_t v;

	if (s == NULL || hvc_parse_uint(s, 0, 0x7FFFFFFF, &v, NULL, 0) != 0) {
		return -1;
	}
	return (long long)v;
}
#endif

int
hvp_sd_listen_fds(void)
{
	int n;

#ifdef HVP_HAVE_LIBSYSTEMD
	n = sd_listen_fds(1);
	if (n < 0) {
		hvp_warn("socket activation: %s", strerror(-n));
		return 0;
	}
#else
	long long pid = env_number("LISTEN_PID");
	long long cnt = env_number("LISTEN_FDS");

	n = 0;
	if (pid == (long long)getpid() && cnt > 0) {
		n = (int)cnt;
		for (int fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + n;
		     fd++) {
			int fl = fcntl(fd, F_GETFD);

			if (fl >= 0) {
				fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
			}
		}
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
#endif
	if (n > 0) {
		hvp_debug("socket activation: %d socket%s (fd:%d..fd:%d)", n,
		    n == 1 ? "" : "s", LISTEN_FDS_START,
		    LISTEN_FDS_START + n - 1);
	}
	return n;
}

int
hvp_sd_check_fd(int fd, const char **why)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof(type);

	if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
		*why = "is not an open descriptor (fd:N takes a listening "
		       "socket passed in by the service manager, e.g. a "
		       "systemd .socket unit)";
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
		*why = errno == ENOTSOCK ? "is not a socket"
					 : "cannot be inspected";
		return -1;
	}
	if (type != SOCK_STREAM) {
		*why = "is not a stream socket";
		return -1;
	}
	len = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 ||
	    acc == 0) {
		*why = "is not a listening socket (Accept=no in the .socket "
		       "unit)";
		return -1;
	}
	return 0;
}

/*
 * sd_notify(3)'s protocol, spoken directly in every build: libsystemd's
 * sd_notify() sends from a blocking socket, and a service manager that
 * does not read (its queue full: net.unix.max_dgram_qlen, 10 by default)
 * would then freeze the whole event loop. A notification that does not
 * fit at once is dropped, and said so once.
 */
static void
notify_raw(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t salen;
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@')) {
		return;
	}
	n = strlen(path);
	if (n >= sizeof(sun.sun_path)) {
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@') {
		sun.sun_path[0] = '\0';
	}
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '@' ? 0 : 1));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
		(struct sockaddr *)&sun, salen) < 0) {
		static int warned;

		if ((errno == EAGAIN || errno == EWOULDBLOCK) && !warned) {
			warned = 1;
			hvp_warn(
			    "sd_notify: the service manager does not read "
			    "its notify socket; notifications are dropped");
		} else {
			hvp_debug("sd_notify: %s", strerror(errno));
		}
	}
	close(fd);
}

void
hvp_sd_notify(const char *state)
{
	notify_raw(state);
}

void
hvp_sd_notifyf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hvp_sd_notify(buf);
}

static struct event *watchdog_ev;

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	hvp_sd_notify("WATCHDOG=1");
}

void
hvp_sd_watchdog_start(struct event_base *base)
{
	uint64_t usec = 0;
	struct timeval tv;

#ifdef HVP_HAVE_LIBSYSTEMD
	if (sd_watchdog_enabled(0, &usec) <= 0) {
		return;
	}
#else
	long long pid = env_number("WATCHDOG_PID");
	const char *s = getenv("WATCHDOG_USEC");
	uint64_t v;

	if (s == NULL || hvc_parse_uint(s, 1, UINT64_MAX, &v, NULL, 0) != 0 ||
	    (pid >= 0 && pid != (long long)getpid())) {
		return;
	}
	usec = v;
#endif
	/* Ping at half the interval, as sd_watchdog_enabled(3) advises. */
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000u);
	tv.tv_usec = (suseconds_t)(usec % 1000000u);
	watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
	if (watchdog_ev == NULL || event_add(watchdog_ev, &tv) != 0) {
		hvp_warn("cannot start the watchdog timer");
		return;
	}
	hvp_sd_notify("WATCHDOG=1");
}

void
hvp_sd_watchdog_stop(void)
{
	if (watchdog_ev != NULL) {
		event_free(watchdog_ev);
		watchdog_ev = NULL;
	}
}
