/* SPDX-License-Identifier: MIT */
/*
 * Allowlists: which peers a listener accepts, one grammar for hvcat's
 * --allow and hvproxy's --allow and allow=.
 *
 * A list is entries separated by commas and/or blanks ("3, 10.0.0.0/8
 * fd00::/8"); an empty list admits no peer; an empty entry ("1,,2", a
 * comma at either end) is an error. An entry is
 *
 *   a CID          3, cid:3; host, local, hypervisor (2, 1, 0), with or
 *                  without cid:
 *   a VM id        a GUID (Hyper-V peers)
 *   an IP network  ADDRESS[/PREFIX]: 10.0.0.0/8, 127.0.0.1, fd00::/8,
 *                  ::1, [::1], [fd00::]/8 (host bits are cleared)
 *   a user         uid:N (0 to 4294967294), user:NAME (looked up when
 *                  the list is read, kept as its uid)
 *
 * A peer is admitted if any entry matches it: a vsock peer by its CID, a
 * Hyper-V peer by its VM id, a tcp peer by its address as the kernel
 * reports it for the socket (an IPv4-mapped IPv6 address also as its
 * IPv4 address; a link-local one whatever its scope, the interface it
 * came through: entries take no scope; see peer.h), a unix peer by the
 * effective uid the kernel reports for it (hvc_peer_cred()). vsock and
 * hvsock listeners take CIDs and VM ids (Linux reports Hyper-V peers by
 * CID, Windows and FreeBSD vsock peers by VM id), tcp listeners IP
 * networks, unix listeners users; where the system cannot tell who a
 * unix peer is, a user entry is an error. Groups are not taken: the
 * kernel reports a peer's primary group only, and a group entry that
 * missed the members with it as a supplementary group would mislead.
 */
#ifndef HVC_ALLOW_H
#define HVC_ALLOW_H

#include <stddef.h>
#include <stdint.h>

#include <hvsock/hvsock.h>

enum hvc_allow_kind {
	HVC_ALLOW_CID, /* a vsock peer's CID */
	HVC_ALLOW_VMID, /* a Hyper-V peer's VM id */
	HVC_ALLOW_NET4, /* an IPv4 network */
	HVC_ALLOW_NET6, /* an IPv6 network */
	HVC_ALLOW_UID, /* a unix peer's user id */
};

struct hvc_allow_entry {
	enum hvc_allow_kind kind;
	uint32_t cid;
	hvs_guid_t vmid;
	uint8_t net[16]; /* network address, host bits cleared */
	unsigned prefix; /* bits */
	uint32_t uid;
};

struct hvc_peer; /* peer.h */

/* Zeroed: no list given, every peer admitted. */
struct hvc_allow {
	struct hvc_allow_entry *v;
	size_t n;
	int given; /* a list was given (it may be empty: no peer) */
};

/*
 * Add the entries of @text to @a (several lists add up). 0, or -1 with
 * @a unchanged and the reason in @why: "'x' is not a CID ...", "'1,,2':
 * empty entry ...", "'10.0.0.0/33': bad prefix length (expected 0 to 32)".
 */
int hvc_allow_parse(struct hvc_allow *a, const char *text, char *why,
    size_t size);
/*
 * Check the entries against the kind of the listening socket (for fd:,
 * the kind of the inherited socket; HVS_ADDR_NONE if unknown: anything
 * goes). 0, or -1 with the reason in @why: "'cid:3' is a CID, which can
 * never match a peer of a tcp listener"; a user entry where the system
 * cannot read a unix peer's credentials.
 */
int hvc_allow_check_kind(const struct hvc_allow *a, hvs_addr_kind_t kind,
    char *why, size_t size);
/* 1 if the peer @p (hvc_peer_read(), from the accepted socket) may
 * connect (always when no list was given; never a NULL @p otherwise).
 * Without credentials in @p no user entry matches. */
int hvc_allow_match(const struct hvc_allow *a, const struct hvc_peer *p);
/* An entry as the parser reads it back: "cid:3", a GUID, "10.0.0.0/8",
 * "fd00::/8", "uid:1000" (user:NAME too). 0, or -1 if @buf is too small. */
int hvc_allow_format(const struct hvc_allow_entry *e, char *buf, size_t size);
/* Free the entries; @a is as zeroed. */
void hvc_allow_clear(struct hvc_allow *a);

#endif /* HVC_ALLOW_H */
