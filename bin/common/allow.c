/* SPDX-License-Identifier: MIT */
/*
 * Allowlists (allow.h): the one parser of the entries both tools take,
 * the check against the listener's kind and the match against a peer.
 */
#include <errno.h>
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
#endif

#include "common/allow.h"
#include "common/num.h"
#include "common/os.h"
#include "common/peer.h"
#include "common/util.h"

/* Longer than any entry can be ("[v6 with an IPv4 tail]/128", a GUID in
 * braces). */
#define ENTRY_MAX 128

/* Zero the host bits so that 10.1.2.3/8 means 10.0.0.0/8. */
static void
net_mask(uint8_t *net, size_t bytes, unsigned prefix)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned bits = prefix > i * 8 ? prefix - (unsigned)i * 8 : 0;

		if (bits < 8) {
			net[i] &= (uint8_t)(0xFF00u >> bits);
		}
	}
}

/* host, local, hypervisor: 1 and *@cid set, or 0. */
static int
cid_name(const char *s, uint32_t *cid)
{
	if (strcmp(s, "host") == 0) {
		*cid = HVS_CID_HOST;
	} else if (strcmp(s, "local") == 0) {
		*cid = HVS_CID_LOCAL;
	} else if (strcmp(s, "hypervisor") == 0) {
		*cid = HVS_CID_HYPERVISOR;
	} else {
		return 0;
	}
	return 1;
}

/* The largest uid an entry takes: (uid_t)-1 is no user. */
#define UID_MAX_ENTRY (UINT32_MAX - 1u)

/* uid:N and user:NAME, the @item @q quotes: 1 and @e set, 0 if @item is
 * neither, -1 with a message. */
static int
parse_user(struct hvc_allow_entry *e, const char *item, const char *q,
    char *why, size_t size)
{
	char num[HVC_WHY_SIZE];
	uint64_t v;
	int err = 0, r;

	if (strncmp(item, "uid:", 4) == 0) {
		if (hvc_parse_uint(item + 4, 0, UID_MAX_ENTRY, &v, num,
			sizeof(num)) != 0) {
			snprintf(why, size, "'%s': bad uid: %s", q, num);
			return -1;
		}
		e->kind = HVC_ALLOW_UID;
		e->uid = (uint32_t)v;
		return 1;
	}
	if (strncmp(item, "user:", 5) != 0) {
		return 0;
	}
	if (item[5] == '\0') {
		snprintf(why, size, "'%s': bad user (expected a user name)", q);
		return -1;
	}
	r = hvc__os_user_uid(item + 5, &e->uid, &err);
	if (r == 1) {
		snprintf(why, size, "'%s': no such user", q);
		return -1;
	}
	if (r == 2) {
		snprintf(why, size,
		    "'%s': this system has no user ids and does not tell who "
		    "a unix peer is (use the socket file's permissions)",
		    q);
		return -1;
	}
	if (r != 0) {
		snprintf(why, size, "'%s': cannot look up the user: %s", q,
		    strerror(err));
		return -1;
	}
	e->kind = HVC_ALLOW_UID;
	return 1;
}

/* One entry, the @len bytes at @s. 0, or -1 with a message. */
/* 1 if @item is an IPv6 address with a scope ("fe80::1%eth0", maybe in
 * brackets, maybe with a prefix). */
static int
scoped(const char *item)
{
	char h[INET6_ADDRSTRLEN + 2];
	uint8_t a[16];
	const char *pct = strchr(item, '%');
	size_t n;

	if (pct == NULL) {
		return 0;
	}
	if (*item == '[') {
		item++;
	}
	n = (size_t)(pct - item);
	if (n >= sizeof(h)) {
		return 0;
	}
	memcpy(h, item, n);
	h[n] = '\0';
	return inet_pton(AF_INET6, h, a) == 1;
}

static int
parse_entry(struct hvc_allow_entry *e, const char *s, size_t len, char *why,
    size_t size)
{
	char item[ENTRY_MAX], q[HVC_QUOTE_SIZE], num[HVC_WHY_SIZE];
	const char *c, *slash;
	char *host;
	size_t hlen;
	uint64_t v;
	int digits;

	memset(e, 0, sizeof(*e));
	hvc_quote(s, len, q, sizeof(q));
	if (len >= sizeof(item)) {
		goto bad;
	}
	memcpy(item, s, len);
	item[len] = '\0';

	/* Users of a unix peer. */
	switch (parse_user(e, item, q, why, size)) {
	case 1:
		return 0;
	case -1:
		return -1;
	default:
		break;
	}

	/* CIDs, with or without cid:. */
	c = strncmp(item, "cid:", 4) == 0 ? item + 4 : item;
	if (cid_name(c, &e->cid)) {
		e->kind = HVC_ALLOW_CID;
		return 0;
	}
	digits = *c != '\0' && strspn(c, "0123456789") == strlen(c);
	if (c != item && !digits) {
		snprintf(why, size,
		    "'%s': bad CID (expected a number, host, local or "
		    "hypervisor)",
		    q);
		return -1;
	}
	if (digits) {
		if (hvc_parse_uint(c, 0, HVS_CID_ANY - 1, &v, num,
			sizeof(num)) != 0) {
			snprintf(why, size, "'%s': bad CID: %s", q, num);
			return -1;
		}
		e->kind = HVC_ALLOW_CID;
		e->cid = (uint32_t)v;
		return 0;
	}

	if (hvs_guid_parse(&e->vmid, item, len) == 0) {
		e->kind = HVC_ALLOW_VMID;
		return 0;
	}

	/* ADDRESS[/PREFIX], an IPv6 address maybe in brackets. */
	if (scoped(item)) {
		snprintf(why, size,
		    "'%s': an IP network takes no %%scope (it matches a "
		    "link-local peer through every interface)",
		    q);
		return -1;
	}
	slash = strchr(item, '/');
	hlen = slash != NULL ? (size_t)(slash - item) : len;
	host = item;
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		host++;
		if (inet_pton(AF_INET6, host, e->net) != 1) {
			goto bad;
		}
		e->kind = HVC_ALLOW_NET6;
		e->prefix = 128;
	} else {
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, e->net) == 1) {
			e->kind = HVC_ALLOW_NET4;
			e->prefix = 32;
		} else if (inet_pton(AF_INET6, host, e->net) == 1) {
			e->kind = HVC_ALLOW_NET6;
			e->prefix = 128;
		} else {
			goto bad;
		}
	}
	if (slash != NULL) {
		if (hvc_parse_uint(slash + 1, 0, e->prefix, &v, NULL, 0) != 0) {
			snprintf(why, size,
			    "'%s': bad prefix length (expected 0 to %u)", q,
			    e->prefix);
			return -1;
		}
		e->prefix = (unsigned)v;
	}
	net_mask(e->net, e->kind == HVC_ALLOW_NET4 ? 4 : 16, e->prefix);
	return 0;
bad:
	snprintf(why, size,
	    "'%s' is not a CID (3, cid:3, host), a VM id (GUID), an IP "
	    "network (10.0.0.0/8, fd00::/8, [::1]) or a user (uid:0, "
	    "user:root)",
	    q);
	return -1;
}

int
hvc_allow_parse(struct hvc_allow *a, const char *text, char *why, size_t size)
{
	static const char blanks[] = " \t";
	const char *p = text + strspn(text, blanks);
	size_t n0 = a->n;

	while (*p != '\0') {
		size_t len = strcspn(p, ", \t");
		struct hvc_allow_entry e;

		if (len == 0) {
			goto empty; /* a comma where an entry belongs */
		}
		if (parse_entry(&e, p, len, why, size) != 0) {
			a->n = n0;
			return -1;
		}
		a->v = hvc_xreallocarray(a->v, a->n + 1, sizeof(*a->v));
		a->v[a->n++] = e;
		p += len;
		p += strspn(p, blanks);
		if (*p == ',') {
			p++;
			p += strspn(p, blanks);
			if (*p == '\0' || *p == ',') {
				goto empty;
			}
		}
	}
	a->given = 1;
	return 0;
empty : {
	char q[HVC_QUOTE_SIZE];

	hvc_quote(text, strlen(text), q, sizeof(q));
	snprintf(why, size,
	    "'%s': empty entry (entries are separated by a comma or blanks)",
	    q);
	a->n = n0;
	return -1;
}
}

static const char *
kind_name(enum hvc_allow_kind k)
{
	switch (k) {
	case HVC_ALLOW_CID:
		return "a CID";
	case HVC_ALLOW_VMID:
		return "a VM id";
	case HVC_ALLOW_NET4:
	case HVC_ALLOW_NET6:
		return "an IP network";
	case HVC_ALLOW_UID:
		return "a user id";
	}
	return "?";
}

int
hvc_allow_check_kind(const struct hvc_allow *a, hvs_addr_kind_t kind, char *why,
    size_t size)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct hvc_allow_entry *e = &a->v[i];
		char buf[HVS_GUID_STRLEN + 64];
		int ok;

		switch (kind) {
		case HVS_ADDR_VSOCK:
		case HVS_ADDR_HVSOCK:
			ok = e->kind == HVC_ALLOW_CID ||
			    e->kind == HVC_ALLOW_VMID;
			break;
		case HVS_ADDR_TCP:
			ok = e->kind == HVC_ALLOW_NET4 ||
			    e->kind == HVC_ALLOW_NET6;
			break;
		case HVS_ADDR_UNIX:
			ok = e->kind == HVC_ALLOW_UID;
			break;
		default:
			ok = 1; /* fd: of an unknown kind */
			break;
		}
		if (hvc_allow_format(e, buf, sizeof(buf)) != 0) {
			snprintf(buf, sizeof(buf), "?");
		}
		if (!ok) {
			snprintf(why, size,
			    "'%s' is %s, which can never match a peer of a %s "
			    "listener%s",
			    buf, kind_name(e->kind), hvs_addr_kind_name(kind),
			    kind == HVS_ADDR_UNIX
				? " (expected uid:N or user:NAME)"
				: "");
			return -1;
		}
		if (e->kind == HVC_ALLOW_UID && !hvc_peer_cred_supported()) {
			snprintf(why, size,
			    "'%s' cannot be checked: this system does not "
			    "tell who a unix peer is (use the socket file's "
			    "permissions)",
			    buf);
			return -1;
		}
	}
	return 0;
}

/* @bytes is the length of @ip: 4 for IPv4, 16 for IPv6. Passing it in
 * (rather than deriving it from the entry) lets the compiler see that an
 * IPv4 buffer is never read past its 4 bytes. */
static int
net_match(const struct hvc_allow_entry *e, const uint8_t *ip, size_t bytes)
{
	uint8_t tmp[16];

	memcpy(tmp, ip, bytes);
	net_mask(tmp, bytes, e->prefix);
	return memcmp(tmp, e->net, bytes) == 0;
}

int
hvc_allow_match(const struct hvc_allow *a, const struct hvc_peer *p)
{
	const hvs_addr_t *addr = p != NULL ? p->addr : NULL;

	if (!a->given) {
		return 1;
	}
	if (p == NULL) {
		return 0;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct hvc_allow_entry *e = &a->v[i];

		switch (e->kind) {
		case HVC_ALLOW_CID:
			if (addr != NULL && addr->kind == HVS_ADDR_VSOCK &&
			    addr->u.vsock.cid == e->cid) {
				return 1;
			}
			break;
		case HVC_ALLOW_VMID:
			if (addr != NULL && addr->kind == HVS_ADDR_HVSOCK &&
			    hvs_guid_equal(&addr->u.hvsock.vm_id, &e->vmid)) {
				return 1;
			}
			break;
		case HVC_ALLOW_NET4:
			if ((p->ip & HVC_IP_V4) &&
			    net_match(e, p->ip4, sizeof(p->ip4))) {
				return 1;
			}
			break;
		case HVC_ALLOW_NET6:
			/* Whatever the scope: fe80::/10 takes fe80::1 on
			 * every link. */
			if ((p->ip & HVC_IP_V6) &&
			    net_match(e, p->ip6, sizeof(p->ip6))) {
				return 1;
			}
			break;
		case HVC_ALLOW_UID:
			if (p->cred.have && p->cred.uid == e->uid) {
				return 1;
			}
			break;
		}
	}
	return 0;
}

int
hvc_allow_format(const struct hvc_allow_entry *e, char *buf, size_t size)
{
	char s[INET6_ADDRSTRLEN];
	int n;

	switch (e->kind) {
	case HVC_ALLOW_CID:
		n = snprintf(buf, size, "cid:%lu", (unsigned long)e->cid);
		break;
	case HVC_ALLOW_VMID:
		if (size < HVS_GUID_STRLEN) {
			return -1;
		}
		hvs_guid_format(&e->vmid, buf);
		return 0;
	case HVC_ALLOW_NET4:
	case HVC_ALLOW_NET6:
		if (inet_ntop(e->kind == HVC_ALLOW_NET4 ? AF_INET : AF_INET6,
			e->net, s, sizeof(s)) == NULL) {
			return -1;
		}
		n = snprintf(buf, size, "%s/%u", s, e->prefix);
		break;
	case HVC_ALLOW_UID:
		n = snprintf(buf, size, "uid:%lu", (unsigned long)e->uid);
		break;
	default:
		return -1;
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void
hvc_allow_clear(struct hvc_allow *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}
