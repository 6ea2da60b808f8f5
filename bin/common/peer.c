/*
 * A tcp peer's numeric address (peer.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/peer.h"

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
