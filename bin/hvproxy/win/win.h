/* SPDX-License-Identifier: MIT */
/*
 * Between hvproxy's Windows files: win/sys.c (stop and reload requests,
 * --control) and win/service.c (the service manager). Prefix hvp_win_.
 */
#ifndef HVPROXY_WIN_H
#define HVPROXY_WIN_H

/* Wake the loop with a request (the byte names it: win/sys.c kinds[]).
 * Any thread; one that comes before the loop runs waits for it. */
void hvp_win_post(char byte);

/* The name of the service this process runs as, or NULL in a console. */
const char *hvp_win_service_name(void);
/* What the daemon tells a service manager (hvp_sd_notify()): "READY=1"
 * reports SERVICE_RUNNING, "STOPPING=1" SERVICE_STOP_PENDING. */
void hvp_win_service_notify(const char *state);
/* 0 if @cmd is a --control command (reload, stop); else -1, after
 * saying so on stderr for --control @target. */
int hvp_win_control_cmd(const char *target, const char *cmd);
/* hvproxy --control NAME reload|stop for the service NAME: the exit
 * status. */
int hvp_win_service_control(const char *name, const char *cmd);

#endif /* HVPROXY_WIN_H */
