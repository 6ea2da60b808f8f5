/* SPDX-License-Identifier: MIT */
/*
 * Who a peer is, read one way for everything that looks at it (the
 * allowlist match in allow.c, hvproxy's per-peer key, the logs): a tcp
 * peer's address and scope as the kernel reports them for the socket
 * (never read back from text), a unix-socket peer's user as the kernel
 * reports it, and the address text the logs show, escaped.
 */
#ifndef HVC_PEER_H
#define HVC_PEER_H

#include <stddef.h>
#include <stdint.h>

#include <hvsock/hvsock.h>

struct sockaddr;

#define HVC_IP_V4 1
#define HVC_IP_V6 2

/* A unix-socket peer's credentials, as the kernel took them when the
 * peer connected. */
struct hvc_peer_cred {
	int have; /* 0: none (not a unix peer, or they cannot be read) */
	uint32_t uid; /* effective user id */
	uint32_t gid; /* effective group id (no supplementary groups) */
};

/*
 * A peer as read from its accepted socket (hvc_peer_read()).
 *
 * A tcp peer's address comes from the socket address the kernel gives
 * (getpeername()): @ip is HVC_IP_V4 with @ip4 set, HVC_IP_V6 with @ip6
 * set, both for an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a
 * dual-stack listener sees). @scope is the IPv6 scope id the kernel
 * gives with it: for a link-local address (fe80::/10), the index of the
 * interface it came through, else 0. The scope is part of who the peer
 * is (fe80::1 on one link is another host than fe80::1 on the next), but
 * allowlist networks match the address whatever its scope.
 */
struct hvc_peer {
	const hvs_addr_t *addr; /* as the listener reports it (kind, CID,
				   VM id); NULL if unknown */
	int ip; /* HVC_IP_V4 | HVC_IP_V6, or 0: not an IP peer */
	uint8_t ip4[4];
	uint8_t ip6[16];
	uint32_t scope; /* IPv6 scope id (link-local: interface), or 0 */
	struct hvc_peer_cred cred; /* a unix peer's user, if known */
};

/* 1 if this system can read a unix peer's credentials (SO_PEERCRED,
 * getpeereid()), else 0. */
int hvc_peer_cred_supported(void);
/*
 * The credentials of the peer of @sock, accepted from a listener with
 * @peer as its address: read for a unix peer (@peer of kind unix), else
 * @cred->have is 0. 0 with @cred set, or -1 with @cred->have 0 when the
 * kernel does not say (no support, an error).
 */
int hvc_peer_cred(const hvs_addr_t *peer, hvs_sock_t sock,
    struct hvc_peer_cred *cred);

/*
 * Read the peer of @sock, accepted from a listener that reported @addr
 * for it: a tcp peer's address and scope (getpeername()), a unix peer's
 * credentials (hvc_peer_cred()); a vsock or Hyper-V peer is its @addr.
 * 0, or -1 when a tcp peer's address cannot be read (the connection is
 * already gone): @p is then no IP peer, matches no network and must not
 * be admitted.
 */
int hvc_peer_read(struct hvc_peer *p, const hvs_addr_t *addr, hvs_sock_t sock);
/*
 * The IP part of that from a socket address @sa of @len bytes, as
 * hvc_peer_read() takes it from getpeername(): @p->addr set to @addr, no
 * credentials. 0, or -1 (and @p->ip 0) if @sa is not an AF_INET or
 * AF_INET6 address.
 */
int hvc_peer_from_sockaddr(struct hvc_peer *p, const hvs_addr_t *addr,
    const struct sockaddr *sa, size_t len);

/* A buffer that always holds hvc_peer_text()'s text in full. */
#define HVC_PEER_TEXT_SIZE (4 * HVS_ADDR_STRLEN)
/*
 * @peer's address as every log line and program environment shows it,
 * through hvc_escape(), so that a name the peer chose (a unix client
 * binds its socket to any path, newlines and terminal escapes included)
 * stays one word on one line: hvs_addr_format()'s text, and for a unix
 * peer "unix:" and its name as the kernel gave it, also where the address
 * grammar cannot write it ("unix:/tmp/a\x0ab\x20c", "unix:@x\x00y"; a
 * file name that starts with '@' as "unix:\x40..."). A Hyper-V peer whose
 * port the system does not know (hvs_addr_port_unknown(): FreeBSD's
 * connections from the host) is "hvsock:parent:unknown", which says so
 * and is deliberately no address. 0, or -1 with @buf empty when @peer has
 * no name (NULL, an unnamed unix peer).
 */
int hvc_peer_text(const hvs_addr_t *peer, char *buf, size_t size);

#endif /* HVC_PEER_H */
