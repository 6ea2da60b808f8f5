/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V sockets on FreeBSD guests: AF_HYPERV (43), the hvsock driver
 * (sys/dev/hyperv/hvsock).
 *
 * What the driver can do, and so what this file maps to it:
 *  - An endpoint is a 32-bit port and nothing else: no VM id, no CID. The
 *    driver turns port P into the service GUID P-facb-11e6-bd58-64006a7986d3
 *    (only template GUIDs exist here).
 *  - A guest talks to its Hyper-V host only. connect() always goes to the
 *    host (the VM id is implied), and a listener only ever sees
 *    connections from the host. So: connecting works to vsock CID 2 /
 *    hvsock VM id "parent"; listening works on vsock CID any / hvsock VM
 *    id "wildcard" (or "parent", which means the same thing here).
 *    Everything else gets a specific error rather than a socket that can
 *    never connect.
 *  - bind() takes the port literally: HVADDR_PORT_ANY (-1U) is not an
 *    ephemeral request, so listening on "any port" is refused.
 *    connect() picks the local port itself, counting down from
 *    0xFFFFFFFE, so local ports of client sockets are above
 *    HVS_SERVICE_PORT_MAX.
 *  - There is no connect-timeout option: hvs__hv_set_connect_timeout()
 *    says HVS_ENOTSUP and the core falls back to a non-blocking connect
 *    and poll(). (An unanswered connect never fails on its own.)
 *  - Stream sockets only, protocol 0 or 1; MSG_PEEK fails (EOPNOTSUPP).
 *  - shutdown(SHUT_WR) sends NO FIN here: the driver only marks its own
 *    side as unable to send. The peer sees the end of the stream only on
 *    close() or shutdown(SHUT_RDWR). A relay that half-closes towards a
 *    FreeBSD AF_HYPERV socket therefore does not end the peer's input
 *    until it closes that socket.
 *  - Outside Hyper-V the family does not attach at all and socket() fails
 *    (EAFNOSUPPORT): the caller gets HVS_EHV_UNAVAILABLE, whose text says
 *    that FreeBSD must run under Hyper-V.
 *  - The guest has no vsock CID.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sys/types.h>
#include <sys/socket.h>

#include "internal.h"

#ifndef AF_HYPERV
#define AF_HYPERV 43
#endif
_Static_assert(AF_HYPERV == 43, "FreeBSD's AF_HYPERV is 43");

/* HYPERV_SOCK_PROTO_TRANS; 0 works too. */
#define HVS_FREEBSD_PROTO 1

/*
 * struct sockaddr_hvs of sys/dev/hyperv/hvsock/hv_sock.h, which is not
 * installed for userland:
 *
 *	struct sockaddr_hvs {
 *		unsigned char	sa_len;
 *		sa_family_t	sa_family;
 *		unsigned int	hvs_port;
 *		unsigned char	hvs_zero[sizeof(struct sockaddr) -
 *		    sizeof(sa_family_t) - sizeof(unsigned char) -
 *		    sizeof(unsigned int)];
 *	};
 *
 * With FreeBSD's 1-byte sa_family_t and 16-byte struct sockaddr, hvs_zero
 * is 10 bytes, sized as if there were no padding before hvs_port; the
 * padding is there (hvs_port is at offset 4), so the struct ends at byte
 * 18 and is rounded up to 20 for hvs_port's alignment. Its size is 20,
 * not sizeof(struct sockaddr), and bind() and connect() fail (EINVAL)
 * unless sa_len is exactly that size and (EAFNOSUPPORT) unless sa_family
 * is AF_HYPERV; the driver returns addresses of that size too.
 *
 * The copy below spells the layout with fixed-width types, so that it is
 * the same wherever this file is compiled (the unit tests build it on
 * Linux, whose sa_family_t is 2 bytes); on FreeBSD it is checked against
 * the kernel's definition, field by field.
 */
#define HVS_FREEBSD_SA_SIZE 20

struct hvs__sockaddr_hvs {
	uint8_t sa_len;
	uint8_t sa_family;
	uint32_t hvs_port;
	uint8_t hvs_zero[10];
};

_Static_assert(offsetof(struct hvs__sockaddr_hvs, sa_len) == 0,
    "sockaddr_hvs layout: sa_len at offset 0");
_Static_assert(offsetof(struct hvs__sockaddr_hvs, sa_family) == 1,
    "sockaddr_hvs layout: sa_family at offset 1");
_Static_assert(offsetof(struct hvs__sockaddr_hvs, hvs_port) == 4,
    "sockaddr_hvs layout: hvs_port at offset 4");
_Static_assert(sizeof(struct hvs__sockaddr_hvs) == HVS_FREEBSD_SA_SIZE,
    "sockaddr_hvs layout: 20 bytes (sa_len must say so)");
_Static_assert(sizeof(struct hvs__sockaddr_hvs) <=
	sizeof(struct sockaddr_storage),
    "sockaddr_hvs fits in hvs__sockaddr_t");

#ifdef __FreeBSD__
/* The kernel's definition, verbatim: both must agree. */
struct hvs__kernel_sockaddr_hvs {
	unsigned char sa_len;
	sa_family_t sa_family;
	unsigned int hvs_port;
	unsigned char hvs_zero[sizeof(struct sockaddr) - sizeof(sa_family_t) -
	    sizeof(unsigned char) - sizeof(unsigned int)];
};

_Static_assert(sizeof(sa_family_t) == 1, "FreeBSD's sa_family_t is 1 byte");
_Static_assert(sizeof(struct hvs__kernel_sockaddr_hvs) ==
	sizeof(struct hvs__sockaddr_hvs),
    "sockaddr_hvs: the copy has the kernel's size");
_Static_assert(offsetof(struct hvs__kernel_sockaddr_hvs, sa_family) ==
	offsetof(struct hvs__sockaddr_hvs, sa_family),
    "sockaddr_hvs: sa_family where the kernel has it");
_Static_assert(offsetof(struct hvs__kernel_sockaddr_hvs, hvs_port) ==
	offsetof(struct hvs__sockaddr_hvs, hvs_port),
    "sockaddr_hvs: hvs_port where the kernel has it");
_Static_assert(offsetof(struct hvs__kernel_sockaddr_hvs, hvs_zero) ==
	offsetof(struct hvs__sockaddr_hvs, hvs_zero),
    "sockaddr_hvs: hvs_zero where the kernel has it");
_Static_assert(sizeof(((struct hvs__kernel_sockaddr_hvs *)0)->hvs_zero) ==
	sizeof(((struct hvs__sockaddr_hvs *)0)->hvs_zero),
    "sockaddr_hvs: hvs_zero as long as the kernel's");
#endif

int
hvs__hv_family(void)
{
	return AF_HYPERV;
}

int
hvs__hv_protocol(void)
{
	return HVS_FREEBSD_PROTO;
}

/*
 * The hvsock driver attaches the AF_HYPERV domain only when the kernel
 * runs under Hyper-V (its probe refuses elsewhere), and socket() of a
 * family with no domain fails with EAFNOSUPPORT. (A jail without the
 * family gives EPROTONOSUPPORT, left as it is.)
 */
int
hvs__hv_socket_error(int err)
{
	return err == HVS_EAFNOSUPPORT ? HVS_EHV_UNAVAILABLE : err;
}

/* Which VM ids a FreeBSD guest can use for @role. */
static int
check_vmid(const hvs_addr_t *addr, hvs_role_t role)
{
	const hvs_guid_t *id = &addr->u.hvsock.vm_id;
	char str[HVS_GUID_STRLEN];

	if (addr->u.hvsock.vm_flags & HVS_VMID_F_WSL) {
		hvs__log(HVS_LOG_ERROR,
		    "the wsl VM id only means something on a Windows host");
		return HVS_EVMID_UNSUPPORTED;
	}
	if (hvs_guid_equal(id, hvs_vmid_get(HVS_VMID_PARENT))) {
		return 0;
	}
	if (role == HVS_ROLE_LISTEN &&
	    hvs_guid_equal(id, hvs_vmid_get(HVS_VMID_WILDCARD))) {
		return 0;
	}
	hvs_guid_format(id, str);
	if (role == HVS_ROLE_LISTEN) {
		hvs__log(HVS_LOG_ERROR,
		    "a FreeBSD guest only accepts connections from its host: "
		    "listen on VM id wildcard or parent, not %s",
		    hvs_vmid_name(id) != NULL ? hvs_vmid_name(id) : str);
	} else {
		hvs__log(HVS_LOG_ERROR,
		    "a FreeBSD guest can only connect to its host: use VM id "
		    "parent, not %s",
		    hvs_vmid_name(id) != NULL ? hvs_vmid_name(id) : str);
	}
	return HVS_EVMID_UNSUPPORTED;
}

/* Which CIDs a FreeBSD guest can use for @role. */
static int
check_cid(uint32_t cid, hvs_role_t role)
{
	if (role == HVS_ROLE_LISTEN) {
		if (cid == HVS_CID_ANY) {
			return 0;
		}
		/* Same answer as Linux gives for binding a CID that is not
		 * ours; this guest has no CID at all. */
		hvs__log(HVS_LOG_ERROR,
		    "FreeBSD AF_HYPERV listeners cannot bind CID %u: a guest "
		    "has no CID and only its host connects to it; listen on "
		    "CID any",
		    (unsigned)cid);
		return HVS_EADDRNOTAVAIL;
	}
	if (cid == HVS_CID_HOST) {
		return 0;
	}
	/* Neither loopback (CID 1) nor other guests are reachable. */
	hvs__log(HVS_LOG_ERROR,
	    "a FreeBSD guest can only connect to its host, CID 2, not CID %u",
	    (unsigned)cid);
	return HVS_EHV_CID;
}

int
hvs__hv_to_sockaddr(const hvs_addr_t *addr, hvs_role_t role,
    hvs__sockaddr_t *out)
{
	struct hvs__sockaddr_hvs hvs;
	uint32_t port;
	int err;

	switch (addr->kind) {
	case HVS_ADDR_VSOCK:
		err = check_cid(addr->u.vsock.cid, role);
		if (err != 0) {
			return err;
		}
		port = addr->u.vsock.port;
		break;
	case HVS_ADDR_HVSOCK:
		err = check_vmid(addr, role);
		if (err != 0) {
			return err;
		}
		/* HVS_ESERVICE_NOT_TEMPLATE for a GUID the driver cannot
		 * express, HVS_EADDR_PORT_RANGE above 0x7FFFFFFF. */
		err = hvs_service_to_port(&addr->u.hvsock.service_id, &port);
		if (err != 0) {
			return err;
		}
		break;
	default:
		return HVS_EADDR_KIND;
	}

	if (port == HVS_PORT_ANY && role == HVS_ROLE_LISTEN) {
		hvs__log(HVS_LOG_ERROR,
		    "FreeBSD AF_HYPERV has no ephemeral bind: give a port "
		    "number");
		return HVS_EADDR_PORT_RANGE;
	}
	/* The same range Linux hv_sock accepts, so that one port number
	 * means the same service GUID everywhere. */
	if (port > HVS_SERVICE_PORT_MAX) {
		return HVS_EADDR_PORT_RANGE;
	}

	memset(&hvs, 0, sizeof(hvs));
	hvs.sa_len = (unsigned char)sizeof(hvs);
	hvs.sa_family = AF_HYPERV;
	hvs.hvs_port = port;
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, &hvs, sizeof(hvs));
	out->len = (hvs__socklen_t)sizeof(hvs);
	return 0;
}

/* Every refusal of hvs__hv_to_sockaddr() depends on the address alone. */
int
hvs__hv_check(const hvs_addr_t *addr, hvs_role_t role)
{
	hvs__sockaddr_t sa;

	return hvs__hv_to_sockaddr(addr, role, &sa);
}

/*
 * The driver reports a port only, so the result is an hvsock: address
 * with the template service GUID of the port, built directly: a client
 * socket's local port, or the unknown remote port of an accepted
 * connection, lies above HVS_SERVICE_PORT_MAX, where
 * hvs_service_from_port() refuses, but it is still the GUID the driver
 * used on the wire.
 *
 * The VM id is the wildcard (the guest knows neither its own VM id nor
 * its host's), except for the remote end of a connection the host made:
 * the driver gives it HVS_PORT_UNKNOWN (0xFFFFFFFF) as its port, and the
 * only peer a FreeBSD guest ever accepts is its host, so that address
 * says "parent" (see HVS_PORT_UNKNOWN in hvsock.h).
 *
 * Read byte-wise through the private layout: sa_family is the byte at
 * offset 1 whatever this system's struct sockaddr looks like.
 */
int
hvs__hv_from_sockaddr(const struct sockaddr *sa, hvs__socklen_t len,
    hvs_addr_t *out)
{
	struct hvs__sockaddr_hvs hvs;
	size_t n = len > 0 ? (size_t)len : 0;
	int err;

	if (n > sizeof(hvs)) {
		n = sizeof(hvs);
	}
	memset(&hvs, 0, sizeof(hvs));
	memcpy(&hvs, sa, n);
	if (n < offsetof(struct hvs__sockaddr_hvs, sa_family) + 1 ||
	    hvs.sa_family != AF_HYPERV) {
		return HVS_EAFNOSUPPORT;
	}
	if (n < offsetof(struct hvs__sockaddr_hvs, hvs_port) +
		sizeof(hvs.hvs_port)) {
		return HVS_EINVAL;
	}

	memset(out, 0, sizeof(*out));
	out->kind = HVS_ADDR_HVSOCK;
	out->u.hvsock.vm_id =
	    *hvs_vmid_get(hvs.hvs_port == HVS_PORT_UNKNOWN ? HVS_VMID_PARENT
							   : HVS_VMID_WILDCARD);
	err = hvs_service_from_port(&out->u.hvsock.service_id, 0);
	if (err != 0) {
		return err;
	}
	out->u.hvsock.service_id.data1 = hvs.hvs_port;
	out->u.hvsock.vm_flags = 0;
	return 0;
}

/* No such option on FreeBSD: the caller uses non-blocking connect + poll. */
int
hvs__hv_set_connect_timeout(hvs_sock_t s, int timeout_ms)
{
	(void)s;
	(void)timeout_ms;
	return HVS_ENOTSUP;
}

int
hvs__hv_socket_defaults(hvs_sock_t s)
{
	(void)s;
	return 0;
}

/*
 * The driver sizes a connection's ring buffers from SO_SNDBUF/SO_RCVBUF
 * (which the core has set) when the channel opens: rounded down to pages,
 * at least 6 and at most 64 pages (256 KiB), and always 6 pages on hosts
 * older than Windows 10 v5 VMBus. Nothing more to do.
 */
int
hvs__hv_set_bufsize(hvs_sock_t s, int bytes)
{
	(void)s;
	(void)bytes;
	return 0;
}

/* A FreeBSD guest on Hyper-V is addressed by its VM id, never by a CID. */
int
hvs__hv_local_cid(uint32_t *cid)
{
	(void)cid;
	return HVS_ENOCID;
}

/*
 * "hyperv" if AF_HYPERV sockets can be made (the domain only attaches
 * under Hyper-V), else "none". Probed at each call: it is cheap and rare.
 */
const char *
hvs__hv_transport(void)
{
	hvs_sock_t s;

	if (hvs__os_init() != 0 ||
	    hvs__os_socket(AF_HYPERV, SOCK_STREAM, HVS_FREEBSD_PROTO, 0, &s) !=
		0) {
		return "none";
	}
	hvs__os_close(s);
	return "hyperv";
}

/*
 * shutdown(SHUT_WR) sends no FIN on AF_HYPERV (see the top of this file):
 * the relay passes an EOF on to such a socket by closing it.
 */
int
hvs__hv_shutdown_sends_fin(void)
{
	return 0;
}
