/* SPDX-License-Identifier: MIT */
/*
 * Addresses <-> native socket addresses: tcp (name resolution), unix
 * (path and abstract names), and, through the platform backend, vsock and
 * hvsock.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#ifdef _WIN32
#include <afunix.h>
#else
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/un.h>
#endif

static int
translate_gai_error(int gai)
{
	switch (gai) {
	case EAI_MEMORY:
		return HVS_ENOMEM;
	case EAI_FAMILY:
		return HVS_EAFNOSUPPORT;
	default:
		return HVS_EADDR_RESOLVE;
	}
}

int
hvs__addr_needs_lookup(const hvs_addr_t *addr)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *host = addr->u.tcp.host;

	/*
	 * localhost (also the default connect host) is answered from
	 * /etc/hosts without a network round trip (RFC 6761 reserves it):
	 * not worth a thread on every connection to a local service.
	 */
	if (addr->kind != HVS_ADDR_TCP || strcmp(host, "*") == 0 ||
	    strcmp(host, "localhost") == 0) {
		return 0;
	}
	return inet_pton(AF_INET, host, &a4) != 1 &&
	    inet_pton(AF_INET6, host, &a6) != 1;
}

int
hvs__tcp_lookup(const hvs_addr_t *addr, hvs_role_t role, unsigned flags,
    hvs__sockaddr_t *out, int max, int *gai_err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	const char *host = addr->u.tcp.host;
	int n = 0, gai;

	*gai_err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	if (flags & HVS_SOCK_IPV4_ONLY) {
		hints.ai_family = AF_INET;
	} else if (flags & HVS_SOCK_IPV6_ONLY) {
		hints.ai_family = AF_INET6;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if (strcmp(host, "*") == 0) {
		/* All interfaces. IPv4 unless -6 asks for IPv6; write
		 * tcp:[::]:PORT for the IPv6 wildcard. */
		if (role != HVS_ROLE_LISTEN) {
			return HVS_EADDRNOTAVAIL;
		}
		host = (flags & HVS_SOCK_IPV6_ONLY) ? "::" : "0.0.0.0";
		hints.ai_flags |= AI_NUMERICHOST;
	}
	if (role == HVS_ROLE_LISTEN) {
		hints.ai_flags |= AI_PASSIVE;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)addr->u.tcp.port);
	hints.ai_flags |= AI_NUMERICSERV;

	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		*gai_err = gai;
		return translate_gai_error(gai);
	}
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out[n].ss)) {
			continue;
		}
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
		out[n].len = (hvs__socklen_t)ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	return n > 0 ? n : HVS_EADDR_RESOLVE;
}

void
hvs__log_lookup_failure(const hvs_addr_t *addr, int gai_err)
{
	if (gai_err != 0) {
		hvs__log(HVS_LOG_DEBUG, "cannot resolve %s: %s",
		    addr->u.tcp.host, gai_strerror(gai_err));
	}
}

static int
resolve_tcp(const hvs_addr_t *addr, hvs_role_t role, unsigned flags,
    hvs__sockaddr_t *out, int max)
{
	int gai, n = hvs__tcp_lookup(addr, role, flags, out, max, &gai);

	hvs__log_lookup_failure(addr, gai);
	return n;
}

static int
unix_to_sockaddr(const hvs_addr_t *addr, hvs__sockaddr_t *out)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t len = addr->u.local.len;

	memset(out, 0, sizeof(*out));
	sun->sun_family = AF_UNIX;
	if (addr->u.local.abstract) {
		/* Linux only: elsewhere a leading NUL would make an empty
		 * path, not a name. */
		int rc = hvs__os_unix_abstract();
		if (rc < 0) {
			return rc;
		}
		/* Abstract names start with a NUL and are not terminated;
		 * the length says where they end. */
		if (len + 1 > sizeof(sun->sun_path)) {
			return HVS_EADDR_PATH_TOOLONG;
		}
		memcpy(sun->sun_path + 1, addr->u.local.path, len);
		out->len =
		    (hvs__socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			1 + len);
		return 0;
	}
	if (len == 0) {
		return HVS_EADDR_PATH;
	}
	if (len + 1 > sizeof(sun->sun_path)) {
		return HVS_EADDR_PATH_TOOLONG;
	}
	memcpy(sun->sun_path, addr->u.local.path, len);
	out->len =
	    (hvs__socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

/* The VMM's unix socket of a vsock-mux: address, connect only. */
static int
mux_to_sockaddr(const hvs_addr_t *addr, hvs_role_t role, hvs__sockaddr_t *out)
{
	const char *path = addr->u.mux.path;
	const char *nul = memchr(path, '\0', sizeof(addr->u.mux.path));
	hvs_addr_t local;
	size_t len;

	if (role != HVS_ROLE_CONNECT) {
		return HVS_EMUX_LISTEN;
	}
	/* The path is a C string (len is a convenience, as for unix:). */
	if (nul == NULL) {
		return HVS_EADDR_PATH_TOOLONG;
	}
	len = (size_t)(nul - path);
	if (len == 0 || path[0] == '@') {
		return HVS_EADDR_PATH;
	}
	memset(&local, 0, sizeof(local));
	local.kind = HVS_ADDR_UNIX;
	memcpy(local.u.local.path, path, len);
	local.u.local.len = len;
	return unix_to_sockaddr(&local, out);
}

int
hvs__addr_resolve(const hvs_addr_t *addr, hvs_role_t role, unsigned flags,
    hvs__sockaddr_t *out, int max)
{
	int rc;

	if (max < 1) {
		return HVS_EINVAL;
	}
	switch (addr->kind) {
	case HVS_ADDR_VSOCK:
	case HVS_ADDR_HVSOCK:
		rc = hvs__hv_to_sockaddr(addr, role, out);
		return rc < 0 ? rc : 1;
	case HVS_ADDR_TCP:
		return resolve_tcp(addr, role, flags, out, max);
	case HVS_ADDR_UNIX:
		rc = unix_to_sockaddr(addr, out);
		return rc < 0 ? rc : 1;
	case HVS_ADDR_VSOCK_MUX:
		rc = mux_to_sockaddr(addr, role, out);
		return rc < 0 ? rc : 1;
	case HVS_ADDR_FD:
	case HVS_ADDR_STDIO:
		return HVS_EADDR_KIND;
	default:
		return HVS_EINVAL;
	}
}

int
hvs_addr_check(const hvs_addr_t *addr, hvs_role_t role)
{
	if (addr == NULL ||
	    (role != HVS_ROLE_LISTEN && role != HVS_ROLE_CONNECT)) {
		return HVS_EINVAL;
	}
	switch (addr->kind) {
	case HVS_ADDR_VSOCK:
	case HVS_ADDR_HVSOCK:
		return hvs__hv_check(addr, role);
	case HVS_ADDR_UNIX:
		return addr->u.local.abstract ? hvs__os_unix_abstract() : 0;
	case HVS_ADDR_VSOCK_MUX:
		return role == HVS_ROLE_LISTEN ? HVS_EMUX_LISTEN : 0;
	case HVS_ADDR_TCP:
	case HVS_ADDR_FD:
	case HVS_ADDR_STDIO:
		return 0;
	default:
		return HVS_EINVAL;
	}
}

static int
inet_to_addr(const hvs__sockaddr_t *sa, hvs_addr_t *out)
{
	/* The scope id is printed as a number: up to 10 digits. */
	char host[INET6_ADDRSTRLEN + 1 + 10 + 1];
	uint16_t port;

	memset(out, 0, sizeof(*out));
	out->kind = HVS_ADDR_TCP;
	if (sa->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin =
		    (const struct sockaddr_in *)&sa->ss;
		if (inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) ==
		    NULL) {
			return HVS_EINVAL;
		}
		port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&sa->ss;
		size_t n;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) ==
		    NULL) {
			return HVS_EINVAL;
		}
		n = strlen(host);
		if (sin6->sin6_scope_id != 0) {
			snprintf(host + n, sizeof(host) - n, "%%%u",
			    (unsigned)sin6->sin6_scope_id);
		}
		port = ntohs(sin6->sin6_port);
	}
	snprintf(out->u.tcp.host, sizeof(out->u.tcp.host), "%s", host);
	out->u.tcp.port = port;
	return 0;
}

static int
unix_to_addr(const hvs__sockaddr_t *sa, hvs_addr_t *out)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&sa->ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t len = (size_t)sa->len > off ? (size_t)sa->len - off : 0;

	memset(out, 0, sizeof(*out));
	out->kind = HVS_ADDR_UNIX;
	if (len > 0 && sun->sun_path[0] == '\0') {
		out->u.local.abstract = 1;
		len--;
		if (len >= sizeof(out->u.local.path)) {
			len = sizeof(out->u.local.path) - 1;
		}
		memcpy(out->u.local.path, sun->sun_path + 1, len);
		out->u.local.len = len;
		return 0;
	}
	/* Unnamed (an unbound client) gives an empty path. */
	len = strnlen(sun->sun_path, len);
	if (len >= sizeof(out->u.local.path)) {
		len = sizeof(out->u.local.path) - 1;
	}
	memcpy(out->u.local.path, sun->sun_path, len);
	out->u.local.len = len;
	return 0;
}

int
hvs__sockaddr_to_addr(const hvs__sockaddr_t *sa, hvs_addr_t *out)
{
	int family = sa->ss.ss_family;

	if (family == AF_INET || family == AF_INET6) {
		return inet_to_addr(sa, out);
	}
	if (family == AF_UNIX) {
		return unix_to_addr(sa, out);
	}
	if (family == hvs__hv_family()) {
		return hvs__hv_from_sockaddr((const struct sockaddr *)&sa->ss,
		    sa->len, out);
	}
	return HVS_EAFNOSUPPORT;
}
