/* SPDX-License-Identifier: MIT */
/*
 * What the Windows files of hvcat share (win/os.c has it): waking the
 * event loop from another thread (the console control handler, the
 * waits on -e/-c children), and socket pairs.
 */
#ifndef HVCAT_WIN_H
#define HVCAT_WIN_H

#include "hvcat.h"

struct event_base;

/*
 * A wake-up of the loop: win_wake() from any thread makes @fn run on the
 * loop soon after (several wake-ups may run it once). It is a byte on a
 * socket pair, so no libevent call is made off the loop's thread.
 */
struct win_wake;
typedef void (*win_wake_fn)(void *userdata);
int win_wake_new(struct win_wake **out, struct event_base *base, win_wake_fn fn,
    void *userdata);
void win_wake(struct win_wake *w);
void win_wake_free(struct win_wake *w);

/* Two connected loopback sockets, non-blocking, not inherited by
 * children. 0 or an HVS_E* code. */
int win_socketpair(hvs_sock_t sv[2]);

#endif /* HVCAT_WIN_H */
