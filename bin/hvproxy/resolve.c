/* SPDX-License-Identifier: MIT */
/*
 * Where a tcp address binds, for the checks across forwards (config.c):
 * looked up the way hvs_listen() looks it up at start-up, so that
 * --check refuses what start-up would fail on (tcp:localhost:P beside
 * tcp:127.0.0.1:P). Kept apart from config.c so that the fuzz target
 * (fuzz/fuzz_config.c) can put a lookup without the network in its place.
 */
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "hvproxy.h"

int
hvp_tcp_bind_addr(const char *host, uint16_t port, int listen,
    struct hvp_bind_addr *out, char *why, size_t size)
{
	struct addrinfo hints, *res = NULL;
	struct in_addr a4;
	struct in6_addr a6;
	int gai;

	memset(out, 0, sizeof(*out));
	out->port = port;
	if (strcmp(host, "*") == 0) {
		if (!listen) {
			snprintf(why, size, "'*' is not a host to connect to");
			return -1;
		}
		/* hvs_listen(): every IPv4 address (tcp:[::]:PORT for
		 * IPv6). */
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET, host, &a4) == 1) {
		out->family = AF_INET;
		memcpy(out->addr, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		out->family = AF_INET6;
		memcpy(out->addr, &a6, 16);
		return 0;
	}
	/* A target named other than localhost would need the network (and
	 * a reload must not wait for it): not looked up. */
	if (!listen && strcmp(host, "localhost") != 0) {
		snprintf(why, size, "not looked up");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | (listen ? AI_PASSIVE : 0);
	gai = getaddrinfo(host, "1", &hints, &res);
	if (gai != 0 || res == NULL) {
		snprintf(why, size, "cannot resolve '%s': %s", host,
		    gai != 0 ? gai_strerror(gai) : "no address");
		return -1;
	}
	/* hvs_listen() binds the first answer. */
	if (res->ai_family == AF_INET) {
		const struct sockaddr_in *sin = (void *)res->ai_addr;

		out->family = AF_INET;
		memcpy(out->addr, &sin->sin_addr, 4);
	} else if (res->ai_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (void *)res->ai_addr;

		out->family = AF_INET6;
		memcpy(out->addr, &sin6->sin6_addr, 16);
	} else {
		freeaddrinfo(res);
		snprintf(why, size, "'%s' resolves to no IP address", host);
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}
