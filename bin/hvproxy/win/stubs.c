/* SPDX-License-Identifier: MIT */
/*
 * What Windows has no counterpart for: systemd (socket activation; its
 * readiness notification goes to the service manager instead) and
 * --user. fd:N listen addresses are refused with a reason; --user is
 * refused before it gets here (win/sys.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hvproxy.h"
#include "win/win.h"

const char *
hvp_sd_backend(void)
{
	return "none";
}

int
hvp_sd_listen_fds(void)
{
	return 0;
}

int
hvp_sd_check_fd(int fd, const char **why)
{
	(void)fd;
	*why = "cannot be used on Windows (fd:N takes a listening socket "
	       "passed in by a service manager such as systemd)";
	return -1;
}

/* Readiness and stopping reach the Windows service manager, when there
 * is one (win/service.c). */
void
hvp_sd_notify(const char *state)
{
	hvp_win_service_notify(state);
}

void
hvp_sd_notifyf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hvp_win_service_notify(buf);
}

void
hvp_sd_watchdog_start(struct event_base *base)
{
	(void)base;
}

void
hvp_sd_watchdog_stop(void)
{
}

int
hvp_priv_check(const char *spec, char *why, size_t whysize)
{
	(void)spec;
	snprintf(why, whysize,
	    "not available on Windows (start hvproxy as the account it "
	    "should run as)");
	return -1;
}

int
hvp_priv_drop(const char *spec)
{
	hvp_err("--user %s: not available on Windows", spec);
	return -1;
}

void
hvp_left_behind(const char *what, const char *path, int err, const char *then)
{
	hvp_warn("cannot remove %s (%s): %s; %s", path, what, strerror(err),
	    then);
}
