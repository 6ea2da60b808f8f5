/* SPDX-License-Identifier: MIT */
/*
 * Who a peer is: a tcp peer's address and scope, a unix peer's
 * credentials, the text the logs show (peer.h).
 */
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#endif

#include "common/os.h"
#include "common/peer.h"
#include "common/util.h"

int
hvc_peer_from_sockaddr(struct hvc_peer *p, const hvs_addr_t *addr,
    const struct sockaddr *sa, size_t len)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	    0xff};

	memset(p, 0, sizeof(*p));
	p->addr = addr;
	if (sa == NULL) {
		return -1;
	}
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		memcpy(&sin, sa, sizeof(sin));
		memcpy(p->ip4, &sin.sin_addr, sizeof(p->ip4));
		p->ip = HVC_IP_V4;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(p->ip6, &sin6.sin6_addr, sizeof(p->ip6));
		p->ip = HVC_IP_V6;
		p->scope = (uint32_t)sin6.sin6_scope_id;
#if defined(__FreeBSD__)
		/* The KAME stack may keep a link-local address's scope in
		 * its second 16-bit word: move it to where it belongs. */
		if (IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr) && p->scope == 0) {
			p->scope = (uint32_t)p->ip6[2] << 8 | p->ip6[3];
		}
		if (IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr)) {
			p->ip6[2] = p->ip6[3] = 0;
		}
#endif
		/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d. */
		if (memcmp(p->ip6, mapped, sizeof(mapped)) == 0) {
			memcpy(p->ip4, p->ip6 + 12, sizeof(p->ip4));
			p->ip |= HVC_IP_V4;
			p->scope = 0;
		}
		return 0;
	}
	return -1;
}

/* A peer's IP address and scope, as the kernel gives them: 0 or -1. */
static int
read_ip(struct hvc_peer *p, const hvs_addr_t *addr, hvs_sock_t sock)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (sock == HVS_INVALID_SOCK ||
	    getpeername(sock, (struct sockaddr *)&ss, &len) != 0) {
		return -1;
	}
	return hvc_peer_from_sockaddr(p, addr, (struct sockaddr *)&ss,
	    (size_t)len);
}

int
hvc_peer_read(struct hvc_peer *p, const hvs_addr_t *addr, hvs_sock_t sock)
{
	memset(p, 0, sizeof(*p));
	p->addr = addr;
	switch (addr != NULL ? addr->kind : HVS_ADDR_NONE) {
	case HVS_ADDR_TCP:
		/* From the kernel, not from the text the listener made of
		 * it: nothing (a scope "%2") is lost on the way. */
		if (read_ip(p, addr, sock) != 0) {
			memset(p, 0, sizeof(*p));
			p->addr = addr;
			return -1;
		}
		return 0;
	case HVS_ADDR_UNIX:
		(void)hvc_peer_cred(addr, sock, &p->cred);
		return 0;
	case HVS_ADDR_NONE:
		/* A peer the library could not name: an IP one is still
		 * known by its address. */
		if (read_ip(p, addr, sock) != 0) {
			memset(p, 0, sizeof(*p));
			p->addr = addr;
		}
		return 0;
	default:
		return 0;
	}
}

int
hvc_peer_cred_supported(void)
{
	return hvc__os_peer_cred_supported();
}

int
hvc_peer_cred(const hvs_addr_t *peer, hvs_sock_t sock,
    struct hvc_peer_cred *cred)
{
	memset(cred, 0, sizeof(*cred));
	if (peer == NULL || peer->kind != HVS_ADDR_UNIX ||
	    sock == HVS_INVALID_SOCK ||
	    hvc__os_peer_cred(sock, &cred->uid, &cred->gid) != 0) {
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
	if (hvs_addr_port_unknown(peer)) {
		/*
		 * FreeBSD's driver does not know the port the host connected
		 * from: say so rather than show the GUID of port 0xFFFFFFFF.
		 * Not an address (it does not parse), and one word.
		 */
		char vm[HVS_GUID_STRLEN];
		const char *name = hvs_vmid_name(&peer->u.hvsock.vm_id);

		if (name == NULL) {
			hvs_guid_format(&peer->u.hvsock.vm_id, vm);
			name = vm;
		}
		r = snprintf(buf, size, "hvsock:%s:unknown", name);
		return r < 0 || (size_t)r >= size ? -1 : 0;
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
