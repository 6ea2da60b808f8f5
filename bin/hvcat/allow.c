/*
 * --allow: which peers a listening hvcat accepts. A comma-separated list,
 * the option repeatable; an entry is
 *
 *   a CID                 3, or host (2), local (1), hypervisor (0)
 *   an IP address         127.0.0.1, ::1, [::1]
 *   an IP network         10.0.0.0/8, fd00::/8, [fd00::]/8
 *   a VM id               a GUID (Hyper-V peers, hvsock: listeners)
 *
 * A peer is accepted if any entry matches it; everything else is closed
 * before a byte is read. IPv4 networks match IPv4-mapped IPv6 peers too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvcat.h"

enum allow_kind { ALLOW_CID, ALLOW_NET4, ALLOW_NET6, ALLOW_VMID };

struct allow {
	enum allow_kind kind;
	uint32_t cid;
	unsigned char net[16]; /* network address, 4 or 16 bytes */
	unsigned prefix; /* prefix length in bits */
	hvs_guid_t vmid;
	struct allow *next;
};

static int
all_digits(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* Zero the host bits so that 10.1.2.3/8 means 10.0.0.0/8. */
static void
mask_net(unsigned char *b, size_t n, unsigned prefix)
{
	for (size_t i = 0; i < n; i++) {
		unsigned bits = 0;
		if (prefix >= 8 * (i + 1)) {
			bits = 8;
		} else if (prefix > 8 * i) {
			bits = prefix - 8 * (unsigned)i;
		}
		b[i] &= (unsigned char)(0xff00u >> bits);
	}
}

static int
parse_entry(struct allow *e, const char *s, char *why, size_t why_size)
{
	char host[128];
	const char *slash = strchr(s, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	const char *errstr;
	uint64_t v;

	if (all_digits(s)) {
		if (num_uint(s, 0, HVS_CID_ANY - 1, &v, &errstr) < 0) {
			snprintf(why, why_size, "CID %s", errstr);
			return -1;
		}
		e->kind = ALLOW_CID;
		e->cid = (uint32_t)v;
		return 0;
	}
	if (strcmp(s, "host") == 0) {
		e->kind = ALLOW_CID;
		e->cid = HVS_CID_HOST;
		return 0;
	}
	if (strcmp(s, "local") == 0) {
		e->kind = ALLOW_CID;
		e->cid = HVS_CID_LOCAL;
		return 0;
	}
	if (strcmp(s, "hypervisor") == 0) {
		e->kind = ALLOW_CID;
		e->cid = HVS_CID_HYPERVISOR;
		return 0;
	}
	if (slash == NULL && hvs_guid_parse(&e->vmid, s, strlen(s)) == 0) {
		e->kind = ALLOW_VMID;
		return 0;
	}
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		goto bad;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, e->net) == 1) {
		e->kind = ALLOW_NET4;
		e->prefix = 32;
	} else if (inet_pton(AF_INET6, host, e->net) == 1) {
		e->kind = ALLOW_NET6;
		e->prefix = 128;
	} else {
		goto bad;
	}
	if (slash != NULL) {
		unsigned max = e->kind == ALLOW_NET4 ? 32 : 128;
		if (num_uint(slash + 1, 0, max, &v, &errstr) < 0) {
			snprintf(why, why_size,
			    "network prefix length %s (expected 0 to %u)",
			    errstr, max);
			return -1;
		}
		e->prefix = (unsigned)v;
	}
	mask_net(e->net, e->kind == ALLOW_NET4 ? 4 : 16, e->prefix);
	return 0;

bad:
	snprintf(why, why_size,
	    "expected a CID (3, host, local), an IP address or network "
	    "(10.0.0.0/8, ::1) or a VM id GUID");
	return -1;
}

int
allow_parse(struct allow **list, const char *arg, char *why, size_t why_size)
{
	const char *p = arg;

	if (*arg == '\0') {
		snprintf(why, why_size, "'': the list is empty");
		return -1;
	}
	for (;;) {
		size_t n = strcspn(p, ",");
		char item[256], q[400], reason[200];
		struct allow *e;

		quote_bytes(p, n, q, sizeof(q));
		if (n == 0 || n >= sizeof(item)) {
			snprintf(why, why_size, "'%s': %s", q,
			    n == 0 ? "empty entry" : "entry too long");
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		e = calloc(1, sizeof(*e));
		if (e == NULL) {
			snprintf(why, why_size, "out of memory");
			return -1;
		}
		if (parse_entry(e, item, reason, sizeof(reason)) < 0) {
			snprintf(why, why_size, "'%s': %s", q, reason);
			free(e);
			return -1;
		}
		e->next = *list;
		*list = e;
		if (p[n] == '\0') {
			break;
		}
		p += n + 1;
	}
	return 0;
}

static const char *
entry_kind_name(enum allow_kind k)
{
	switch (k) {
	case ALLOW_CID:
		return "CID";
	case ALLOW_VMID:
		return "VM id";
	default:
		return "network";
	}
}

int
allow_check_kind(const struct allow *list, hvs_addr_kind_t kind, char *why,
    size_t why_size)
{
	for (const struct allow *e = list; e != NULL; e = e->next) {
		int ok;
		switch (kind) {
		case HVS_ADDR_VSOCK:
			ok = e->kind == ALLOW_CID;
			break;
		case HVS_ADDR_HVSOCK:
			/* Peers are CIDs on Linux, VM ids elsewhere. */
			ok = e->kind == ALLOW_CID || e->kind == ALLOW_VMID;
			break;
		case HVS_ADDR_TCP:
			ok = e->kind == ALLOW_NET4 || e->kind == ALLOW_NET6;
			break;
		case HVS_ADDR_UNIX:
			snprintf(why, why_size,
			    "unix socket peers have no address to filter "
			    "by (protect the socket file with its "
			    "permissions instead)");
			return -1;
		default:
			ok = 1; /* fd: any kind may come in */
			break;
		}
		if (!ok) {
			snprintf(why, why_size,
			    "a %s entry cannot match a peer of a %s: "
			    "listener (expected %s)",
			    entry_kind_name(e->kind), hvs_addr_kind_name(kind),
			    kind == HVS_ADDR_TCP ? "IP addresses or networks"
						 : "CIDs");
			return -1;
		}
	}
	return 0;
}

static int
net_match(const unsigned char *net, unsigned prefix, const unsigned char *a)
{
	unsigned i;

	for (i = 0; i + 8 <= prefix; i += 8) {
		if (net[i / 8] != a[i / 8]) {
			return 0;
		}
	}
	if (i < prefix) {
		unsigned char m = (unsigned char)(0xff00u >> (prefix - i));
		if ((a[i / 8] & m) != net[i / 8]) {
			return 0;
		}
	}
	return 1;
}

int
allow_match(const struct allow *list, const hvs_addr_t *peer)
{
	unsigned char a4[4], a6[16];
	int have4 = 0, have6 = 0;

	if (list == NULL) {
		return 1;
	}
	if (peer->kind == HVS_ADDR_TCP) {
		if (inet_pton(AF_INET, peer->u.tcp.host, a4) == 1) {
			have4 = 1;
		} else if (inet_pton(AF_INET6, peer->u.tcp.host, a6) == 1) {
			static const unsigned char mapped[12] = {0, 0, 0, 0, 0,
			    0, 0, 0, 0, 0, 0xff, 0xff};
			have6 = 1;
			if (memcmp(a6, mapped, 12) == 0) {
				memcpy(a4, a6 + 12, 4);
				have4 = 1;
			}
		}
	}
	for (const struct allow *e = list; e != NULL; e = e->next) {
		switch (e->kind) {
		case ALLOW_CID:
			if (peer->kind == HVS_ADDR_VSOCK &&
			    peer->u.vsock.cid == e->cid) {
				return 1;
			}
			break;
		case ALLOW_VMID:
			if (peer->kind == HVS_ADDR_HVSOCK &&
			    hvs_guid_equal(&peer->u.hvsock.vm_id, &e->vmid)) {
				return 1;
			}
			break;
		case ALLOW_NET4:
			if (have4 && net_match(e->net, e->prefix, a4)) {
				return 1;
			}
			break;
		case ALLOW_NET6:
			if (have6 && net_match(e->net, e->prefix, a6)) {
				return 1;
			}
			break;
		}
	}
	return 0;
}

void
allow_free(struct allow *list)
{
	while (list != NULL) {
		struct allow *next = list->next;
		free(list);
		list = next;
	}
}
