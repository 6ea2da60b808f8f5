/* SPDX-License-Identifier: MIT */
/*
 * A tcp peer's numeric address, a unix peer's credentials, the text the
 * logs show (peer.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/peer.h"
#include "common/util.h"

int
hvc_peer_ip(const hvs_addr_t *peer, uint8_t ip4[4], uint8_t ip6[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	    0xff};
	char host[sizeof(peer->u.tcp.host)];
	size_t n;

	if (peer == NULL || peer->kind != HVS_ADDR_TCP) {
		return 0;
	}
	if (inet_pton(AF_INET, peer->u.tcp.host, ip4) == 1) {
		return HVC_IP_V4;
	}
	/* Without the scope of a link-local address ("%2"). */
	n = strcspn(peer->u.tcp.host, "%");
	if (n >= sizeof(host)) {
		return 0;
	}
	memcpy(host, peer->u.tcp.host, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, ip6) != 1) {
		return 0;
	}
	/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d. */
	if (memcmp(ip6, mapped, sizeof(mapped)) == 0) {
		memcpy(ip4, ip6 + 12, 4);
		return HVC_IP_V4 | HVC_IP_V6;
	}
	return HVC_IP_V6;
}

/* getpeereid() where it exists (the BSDs, macOS; musl has it too), else
 * Linux's SO_PEERCRED (OpenBSD's SO_PEERCRED takes another struct, but
 * OpenBSD has getpeereid()). */
#if defined(HVC_HAVE_GETPEEREID)
#define PEER_CRED 1
#elif defined(SO_PEERCRED) && defined(__linux__)
#define PEER_CRED 1
#else
#define PEER_CRED 0
#endif

int
hvc_peer_cred_supported(void)
{
	return PEER_CRED;
}

/* The one place that asks the kernel: 0 with @uid and @gid set, or -1. */
static int
read_cred(hvs_sock_t sock, uint32_t *uid, uint32_t *gid)
{
#if defined(HVC_HAVE_GETPEEREID)
	uid_t u;
	gid_t g;

	if (getpeereid(sock, &u, &g) != 0) {
		return -1;
	}
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return 0;
#elif PEER_CRED
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    len != sizeof(uc)) {
		return -1;
	}
	*uid = (uint32_t)uc.uid;
	*gid = (uint32_t)uc.gid;
	return 0;
#else
	(void)sock;
	(void)uid;
	(void)gid;
	return -1;
#endif
}

int
hvc_peer_cred(const hvs_addr_t *peer, hvs_sock_t sock,
    struct hvc_peer_cred *cred)
{
	memset(cred, 0, sizeof(*cred));
	if (peer == NULL || peer->kind != HVS_ADDR_UNIX ||
	    sock == HVS_INVALID_SOCK ||
	    read_cred(sock, &cred->uid, &cred->gid) != 0) {
		memset(cred, 0, sizeof(*cred));
		return -1;
	}
	cred->have = 1;
	return 0;
}

int
hvc_peer_text(const hvs_addr_t *peer, char *buf, size_t size)
{
	char raw[HVS_ADDR_STRLEN];
	size_t n;
	int r;

	if (size > 0) {
		buf[0] = '\0';
	}
	if (peer == NULL || peer->kind == HVS_ADDR_NONE) {
		return -1;
	}
	if (peer->kind != HVS_ADDR_UNIX) {
		if ((r = hvs_addr_format(peer, raw, sizeof(raw))) < 0) {
			return -1;
		}
		hvc_escape(raw, (size_t)r, buf, size);
		return 0;
	}
	/*
	 * A unix peer's name as the kernel gave it, also where the address
	 * grammar has no way to write it (a NUL inside an abstract name, a
	 * file name that starts with '@'): the escapes say it all.
	 */
	if (peer->u.local.abstract) {
		n = peer->u.local.len;
		if (n > sizeof(peer->u.local.path)) {
			n = sizeof(peer->u.local.path);
		}
	} else {
		n = strnlen(peer->u.local.path, sizeof(peer->u.local.path));
	}
	if (n == 0) {
		return -1; /* unnamed */
	}
	r = snprintf(buf, size, "unix:%s", peer->u.local.abstract ? "@" : "");
	if (r < 0 || (size_t)r >= size) {
		return -1;
	}
	if (!peer->u.local.abstract && peer->u.local.path[0] == '@' &&
	    (size_t)r + 5 <= size) {
		/* Not to be read as an abstract name. */
		r += snprintf(buf + r, size - (size_t)r, "\\x40");
		hvc_escape(peer->u.local.path + 1, n - 1, buf + r,
		    size - (size_t)r);
		return 0;
	}
	hvc_escape(peer->u.local.path, n, buf + r, size - (size_t)r);
	return 0;
}
