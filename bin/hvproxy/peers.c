/* SPDX-License-Identifier: MIT */
/*
 * Open connections per peer, for max-conns-per-peer.
 *
 * A peer is who is on the other end, not which socket it used: a vsock
 * peer is its CID, a Hyper-V peer its VM id, a TCP peer its IP address as
 * the kernel reports it for the socket (hvc_peer_read(), as the allowlist
 * reads it: an IPv4-mapped IPv6 address counts as the IPv4 one; a
 * link-local one with its scope, the interface it came through, since
 * fe80::1 on one link is another host than fe80::1 on the next), and a
 * unix-socket peer the user id the kernel reports for it
 * (hvc_peer_cred(); where the system cannot say, unix peers are not told
 * apart and not limited). The source port never matters: a guest that
 * opens many connections is one peer.
 *
 * Each forward keeps its own table: open addressing with linear probing,
 * deleted by shifting back (no tombstones), grown at 1/2 full and never
 * shrunk below its start size. An entry lives while its peer has a
 * connection open, so the table is as large as the number of distinct
 * peers connected at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#endif

#include "hvproxy.h"

#define PEERS_MIN_CAP 16u

static uint32_t
key_hash(const struct hvp_peer_key *k)
{
	/* FNV-1a over the bytes that make the key. */
	uint32_t h = 2166136261u;

	h = (h ^ k->kind) * 16777619u;
	for (size_t i = 0; i < sizeof(k->id); i++) {
		h = (h ^ k->id[i]) * 16777619u;
	}
	for (unsigned i = 0; i < 32; i += 8) {
		h = (h ^ ((k->scope >> i) & 0xffu)) * 16777619u;
	}
	return h;
}

static int
key_equal(const struct hvp_peer_key *a, const struct hvp_peer_key *b)
{
	return a->kind == b->kind && a->scope == b->scope &&
	    memcmp(a->id, b->id, sizeof(a->id)) == 0;
}

int
hvp_peer_key(const struct hvc_peer *p, struct hvp_peer_key *k)
{
	const hvs_addr_t *peer = p != NULL ? p->addr : NULL;

	memset(k, 0, sizeof(*k));
	if (p == NULL) {
		return 0;
	}
	/* An IP peer by what the kernel said, whatever the library made of
	 * its address. */
	if (p->ip & HVC_IP_V4) {
		k->kind = HVP_PEER_IP4;
		memcpy(k->id, p->ip4, sizeof(p->ip4));
		return 1;
	}
	if (p->ip & HVC_IP_V6) {
		k->kind = HVP_PEER_IP6;
		memcpy(k->id, p->ip6, sizeof(p->ip6));
		k->scope = p->scope;
		return 1;
	}
	if (peer == NULL) {
		return 0;
	}
	switch (peer->kind) {
	case HVS_ADDR_VSOCK:
		k->kind = HVP_PEER_CID;
		memcpy(k->id, &peer->u.vsock.cid, sizeof(peer->u.vsock.cid));
		return 1;
	case HVS_ADDR_HVSOCK:
		k->kind = HVP_PEER_VMID;
		memcpy(k->id, &peer->u.hvsock.vm_id,
		    sizeof(peer->u.hvsock.vm_id));
		return 1;
	case HVS_ADDR_UNIX:
		if (!p->cred.have) {
			return 0;
		}
		k->kind = HVP_PEER_UID;
		memcpy(k->id, &p->cred.uid, sizeof(p->cred.uid));
		return 1;
	default:
		return 0;
	}
}

int
hvp_peer_key_format(const struct hvp_peer_key *k, char *buf, size_t size)
{
	uint32_t v32;
	hvs_guid_t g;
	char s[INET6_ADDRSTRLEN];
	int n;

	switch (k->kind) {
	case HVP_PEER_CID:
		memcpy(&v32, k->id, sizeof(v32));
		n = snprintf(buf, size, "cid %lu", (unsigned long)v32);
		break;
	case HVP_PEER_VMID:
		memcpy(&g, k->id, sizeof(g));
		hvs_guid_format(&g, s);
		n = snprintf(buf, size, "vm %s", s);
		break;
	case HVP_PEER_IP4:
	case HVP_PEER_IP6:
		if (inet_ntop(k->kind == HVP_PEER_IP4 ? AF_INET : AF_INET6,
			k->id, s, sizeof(s)) == NULL) {
			return -1;
		}
		/* The scope as the peer= address writes it: a number. */
		if (k->scope != 0) {
			n = snprintf(buf, size, "%s%%%lu", s,
			    (unsigned long)k->scope);
		} else {
			n = snprintf(buf, size, "%s", s);
		}
		break;
	case HVP_PEER_UID:
		memcpy(&v32, k->id, sizeof(v32));
		n = snprintf(buf, size, "uid %lu", (unsigned long)v32);
		break;
	default:
		return -1;
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The slot of @k, or of the empty slot where it would go. */
static size_t
slot_of(const struct hvp_peers *t, const struct hvp_peer_key *k)
{
	size_t mask = t->cap - 1;
	size_t i = key_hash(k) & mask;

	while (t->slots[i].count != 0 && !key_equal(&t->slots[i].key, k)) {
		i = (i + 1) & mask;
	}
	return i;
}

static int
grow(struct hvp_peers *t)
{
	size_t cap = t->cap == 0 ? PEERS_MIN_CAP : t->cap * 2;
	struct hvp_peer_slot *old = t->slots;
	size_t oldcap = t->cap;

	if (cap > SIZE_MAX / sizeof(*t->slots)) {
		return -1;
	}
	t->slots = calloc(cap, sizeof(*t->slots));
	if (t->slots == NULL) {
		t->slots = old;
		return -1;
	}
	t->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].count != 0) {
			t->slots[slot_of(t, &old[i].key)] = old[i];
		}
	}
	free(old);
	return 0;
}

unsigned
hvp_peers_count(const struct hvp_peers *t, const struct hvp_peer_key *k)
{
	if (t->cap == 0) {
		return 0;
	}
	return t->slots[slot_of(t, k)].count;
}

int
hvp_peers_add(struct hvp_peers *t, const struct hvp_peer_key *k)
{
	size_t i;

	if ((t->used + 1) * 2 > t->cap && grow(t) != 0) {
		return -1;
	}
	i = slot_of(t, k);
	if (t->slots[i].count == 0) {
		t->slots[i].key = *k;
		t->used++;
	}
	t->slots[i].count++;
	return 0;
}

void
hvp_peers_remove(struct hvp_peers *t, const struct hvp_peer_key *k)
{
	size_t mask, i, j;

	if (t->cap == 0) {
		return;
	}
	mask = t->cap - 1;
	i = slot_of(t, k);
	if (t->slots[i].count == 0 || --t->slots[i].count != 0) {
		return;
	}
	t->used--;
	/* Shift back the entries of the run after @i that may not stay
	 * behind the hole (Knuth's algorithm R). */
	for (j = (i + 1) & mask; t->slots[j].count != 0; j = (j + 1) & mask) {
		size_t home = key_hash(&t->slots[j].key) & mask;

		/* Does home lie cyclically in (i, j]? Then j stays. */
		if (i <= j ? (i < home && home <= j)
			   : (i < home || home <= j)) {
			continue;
		}
		t->slots[i] = t->slots[j];
		t->slots[j].count = 0;
		i = j;
	}
}

size_t
hvp_peers_size(const struct hvp_peers *t)
{
	return t->used;
}

void
hvp_peers_clear(struct hvp_peers *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}
