/*
 * A tcp peer's numeric address, read one way for everything that looks
 * at it: the allowlist match (allow.c) and hvproxy's per-peer key.
 */
#ifndef HVC_PEER_H
#define HVC_PEER_H

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

#endif /* HVC_PEER_H */
