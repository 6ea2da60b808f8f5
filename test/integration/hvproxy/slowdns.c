/* SPDX-License-Identifier: MIT */
/*
 * slowdns.so - an LD_PRELOAD stand-in for a name service, for
 * hvproxy-lookup. getaddrinfo() of a name ending in
 *   .slow.test  creates $SLOWDNS_GATE.entered, then waits (at most 30 s)
 *               for the file $SLOWDNS_GATE before answering 127.0.0.1:
 *               a lookup that hangs until the test lets it go;
 *   .fast.test  answers 127.0.0.1 at once;
 *   .fail.test  fails with EAI_NONAME;
 * any other name goes to the real getaddrinfo(). Test code only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

static void
wait_for_gate(void)
{
	const char *gate = getenv("SLOWDNS_GATE");
	struct timespec ms = {0, 1000000};
	char entered[4096];
	FILE *f;

	if (gate == NULL) {
		return;
	}
	snprintf(entered, sizeof(entered), "%s.entered", gate);
	if ((f = fopen(entered, "w")) != NULL) {
		fclose(f);
	}
	for (int i = 0; i < 30000 && access(gate, F_OK) != 0; i++) {
		nanosleep(&ms, NULL);
	}
}

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	gai_fn real = (gai_fn)(void (*)(void))dlsym(RTLD_NEXT, "getaddrinfo");

	if (real == NULL) {
		return EAI_SYSTEM;
	}
	if (node != NULL && ends_with(node, ".fail.test")) {
		return EAI_NONAME;
	}
	if (node != NULL && ends_with(node, ".slow.test")) {
		wait_for_gate();
		node = "127.0.0.1";
	} else if (node != NULL && ends_with(node, ".fast.test")) {
		node = "127.0.0.1";
	}
	return real(node, service, hints, res);
}
