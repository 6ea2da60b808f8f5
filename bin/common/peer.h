/* SPDX-License-Identifier: MIT */
/*
 * Who a peer is, read one way for everything that looks at it (the
 * allowlist match in allow.c, hvproxy's per-peer key): a tcp peer's
 * numeric address, and a unix-socket peer's user as the kernel reports
 * it; and the peer's address as the logs show it, escaped.
 */
#ifndef HVC_PEER_H
#define HVC_PEER_H

#include <stddef.h>
#include <stdint.h>

#include <hvsock/hvsock.h>

#define HVC_IP_V4 1
#define HVC_IP_V6 2

/*
 * The address of @peer (a tcp: address as accept() reports it):
 * HVC_IP_V4 with @ip4 set, HVC_IP_V6 with @ip6 set, both for an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack listener
 * sees), 0 for anything else (not tcp, not numeric). The scope of a
 * link-local IPv6 address (fe80::1%2) is left out: the address is read
 * without it, so fe80::1%2 matches fe80::/10 and counts as fe80::1.
 */
int hvc_peer_ip(const hvs_addr_t *peer, uint8_t ip4[4], uint8_t ip6[16]);

/* A unix-socket peer's credentials, as the kernel took them when the
 * peer connected. */
struct hvc_peer_cred {
	int have; /* 0: none (not a unix peer, or they cannot be read) */
	uint32_t uid; /* effective user id */
	uint32_t gid; /* effective group id (no supplementary groups) */
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

/* A buffer that always holds hvc_peer_text()'s text in full. */
#define HVC_PEER_TEXT_SIZE (4 * HVS_ADDR_STRLEN)
/*
 * @peer's address as every log line and program environment shows it,
 * through hvc_escape(), so that a name the peer chose (a unix client
 * binds its socket to any path, newlines and terminal escapes included)
 * stays one word on one line: hvs_addr_format()'s text, and for a unix
 * peer "unix:" and its name as the kernel gave it, also where the address
 * grammar cannot write it ("unix:/tmp/a\x0ab\x20c", "unix:@x\x00y"; a
 * file name that starts with '@' as "unix:\x40..."). 0, or -1 with @buf
 * empty when @peer has no name (NULL, an unnamed unix peer).
 */
int hvc_peer_text(const hvs_addr_t *peer, char *buf, size_t size);

#endif /* HVC_PEER_H */
