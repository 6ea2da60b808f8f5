/* SPDX-License-Identifier: MIT */
/*
 * What hvproxy asks of the system beyond bin/common: one set of files per
 * OS family (posix/, win/), chosen in meson.build. Prefix hvp_os_.
 *
 *   posix/sys.c       signals, pid file, descriptor limit, syslog and the
 *                     journal, opening the configuration file
 *   posix/privdrop.c  --user
 *   posix/systemd.c   socket activation and readiness notification
 *   win/sys.c         Winsock, Ctrl-C and the control events, refused
 *                     options, the configuration file
 *   win/service.c     hvproxy as a Windows service: install, remove,
 *                     run under the service manager, the Event Log
 *   win/stubs.c       what Windows has no counterpart for (--user,
 *                     systemd): refused or nothing to do
 */
#ifndef HVPROXY_OS_H
#define HVPROXY_OS_H

#include <stdio.h>

#include "hvproxy.h"

struct event_base;

/* Before anything else (after the options): ignore SIGPIPE; start
 * Winsock. 0, or -1 with a message on stderr. */
int hvp_os_init(void);

/* What the process was asked to do from outside. */
enum hvp_os_request {
	HVP_REQ_STOP, /* SIGTERM, SIGINT; Ctrl-C, Ctrl-Break, console
			 close, the stop event */
	HVP_REQ_RELOAD, /* SIGHUP; the reload event */
};
/* @what names the cause for the log: "SIGTERM", "Ctrl-C", ... */
typedef void (*hvp_os_request_fn)(int req, const char *what, void *arg);
/* Deliver requests to @fn on @base's loop from now on. 0 or -1
 * (logged). */
int hvp_os_requests_start(struct event_base *base, hvp_os_request_fn fn,
    void *arg);
/* Deliver none any more; one that comes later changes nothing (the exit
 * status is decided). */
void hvp_os_requests_stop(void);

/* `hvproxy --control PID reload|stop`: the exit status (0 signalled, 1
 * no such hvproxy or refused, 2 bad arguments), messages on stderr. */
int hvp_os_control(const char *pid, const char *cmd);

/* Why @what ("--pidfile", "--user", "--syslog", "pidfile", "user",
 * "syslog") is not available on this system, or NULL. */
const char *hvp_os_unavailable(const char *what);
/* The configuration file read when neither pairs nor -c are given, or
 * NULL for none (a usage error). */
const char *hvp_os_default_config(void);

/* Take as many descriptors as the hard limit allows. */
void hvp_os_raise_nofile(void);
/* The descriptor limit: 0 with *@lim set, 1 if there is none, -1 if
 * unknown. */
int hvp_os_fd_limit(unsigned long long *lim);
/* What to do about a small limit ("raise LimitNOFILE= / ulimit -n"). */
const char *hvp_os_fd_limit_hint(void);

/* The pid file (posix only: refused elsewhere). 0 or -1 (logged). */
int hvp_os_pidfile_create(const char *path);
void hvp_os_pidfile_remove(void);

/* The log's sinks besides stderr and a file. */
int hvp_os_stderr_is_journal(void);
void hvp_os_syslog_open(void);
void hvp_os_syslog(int level, const char *msg);
/* Open @path to append log lines (not inherited by children): the
 * stream, or NULL with errno set. */
FILE *hvp_os_log_file_open(const char *path);

/*
 * Open the configuration file @file for reading, check it (a regular
 * file, its size, its permissions) and return its descriptor, or -1 with
 * the reason in @errs. @keep_fd as in struct hvp_cmdline.
 */
int hvp_os_conf_fd(const char *file, int *keep_fd, struct hvp_errors *errs);

/* ---- Windows services (win/service.c; refused elsewhere) ------------ */

enum hvp_svc_start {
	HVP_SVC_START_AUTO,
	HVP_SVC_START_DEMAND,
	HVP_SVC_START_DISABLED,
};
enum hvp_svc_account {
	HVP_SVC_LOCAL_SERVICE, /* NT AUTHORITY\LocalService, the default */
	HVP_SVC_NETWORK_SERVICE, /* NT AUTHORITY\NetworkService */
	HVP_SVC_LOCAL_SYSTEM, /* LocalSystem */
};

/* What --install-service creates. */
struct hvp_svc_install {
	const char *name; /* --service-name, "hvproxy" by default */
	int start; /* enum hvp_svc_start */
	int account; /* enum hvp_svc_account */
	const char *config; /* the configuration file, or NULL */
	/* The other daemon options and the LISTEN TARGET pairs, as given:
	 * the service's command line gets them after --service NAME and
	 * -c FILE (--log-file made absolute). NULL-terminated. */
	char **args;
};

/* Check a service name: 0, or -1 with the reason in @why. */
int hvp_os_service_name_check(const char *name, char *why, size_t size);
/* Create the service (the configuration already checked): the exit
 * status, messages on stdout and stderr. */
int hvp_os_service_install(const struct hvp_svc_install *in);
/* Stop (bounded) and delete the service @name: the exit status. */
int hvp_os_service_remove(const char *name);
/* hvproxy --service NAME: hand the process to the service manager, which
 * runs @fn(@arg) (the daemon) as service @name; the exit status. */
int hvp_os_service_run(const char *name, int (*fn)(void *), void *arg);

#endif /* HVPROXY_OS_H */
