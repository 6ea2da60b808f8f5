/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V sockets on Windows: AF_HYPERV (34), protocol HV_PROTOCOL_RAW,
 * addressed by SOCKADDR_HV = (VM id, service id), both GUIDs.
 *
 * hvsock: addresses map one to one. vsock: addresses map the way the
 * Windows SDK and the Linux/FreeBSD guests do: the port becomes the
 * template service GUID PORT-facb-11e6-bd58-64006a7986d3 and the CID one
 * of the well-known VM ids (host -> parent, any -> wildcard, local ->
 * loopback). Other CIDs name nothing on Windows: a VM is addressed by its
 * GUID (hvsock:VMID:PORT).
 *
 * Sockets here have no CID and no ephemeral ports; a duplicate bind
 * succeeds and the second listen() fails.
 */
#include <string.h>

#include "internal.h"

#include <windows.h>
#include <hvsocket.h>

#include "wsl.h"

#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif

_Static_assert(sizeof(SOCKADDR_HV) <= sizeof(struct sockaddr_storage),
    "SOCKADDR_HV fits in hvs__sockaddr_t");
_Static_assert(sizeof(GUID) == sizeof(hvs_guid_t),
    "hvs_guid_t has the layout of GUID");

int
hvs__hv_family(void)
{
	return AF_HYPERV;
}

int
hvs__hv_protocol(void)
{
	return HV_PROTOCOL_RAW;
}

/* hvs__os_socket() has made every "no AF_HYPERV here" HVS_EAFNOSUPPORT,
 * whose text on Windows says which Windows has the family. */
int
hvs__hv_socket_error(int err)
{
	return err;
}

static void
guid_to_win(GUID *out, const hvs_guid_t *in)
{
	out->Data1 = in->data1;
	out->Data2 = in->data2;
	out->Data3 = in->data3;
	memcpy(out->Data4, in->data4, sizeof(out->Data4));
}

static void
guid_from_win(hvs_guid_t *out, const GUID *in)
{
	out->data1 = (uint32_t)in->Data1;
	out->data2 = in->Data2;
	out->data3 = in->Data3;
	memcpy(out->data4, in->Data4, sizeof(out->data4));
}

/* The well-known VM id a vsock CID stands for. */
static int
cid_to_vmid(uint32_t cid, hvs_guid_t *out)
{
	hvs_vmid_name_t name;

	switch (cid) {
	case HVS_CID_ANY:
		name = HVS_VMID_WILDCARD;
		break;
	case HVS_CID_HOST:
		name = HVS_VMID_PARENT;
		break;
	case HVS_CID_LOCAL:
		name = HVS_VMID_LOOPBACK;
		break;
	default:
		hvs__log(HVS_LOG_ERROR,
		    "vsock CID %u has no Hyper-V equivalent on Windows (only "
		    "any, local and host do); address a VM as "
		    "hvsock:VMID:PORT",
		    (unsigned)cid);
		return HVS_EVMID_UNSUPPORTED;
	}
	*out = *hvs_vmid_get(name);
	return 0;
}

int
hvs__hv_to_sockaddr(const hvs_addr_t *addr, hvs_role_t role,
    hvs__sockaddr_t *out)
{
	hvs_guid_t vm_id, service_id;
	SOCKADDR_HV hv;
	int err;

	switch (addr->kind) {
	case HVS_ADDR_VSOCK:
		err = cid_to_vmid(addr->u.vsock.cid, &vm_id);
		if (err != 0) {
			return err;
		}
		if (addr->u.vsock.port == HVS_PORT_ANY) {
			hvs__log(HVS_LOG_ERROR,
			    "Hyper-V sockets on Windows have no ephemeral "
			    "ports: give a port number");
			return HVS_EADDR_PORT_RANGE;
		}
		err = hvs_service_from_port(&service_id, addr->u.vsock.port);
		if (err != 0) {
			return err;
		}
		break;
	case HVS_ADDR_HVSOCK:
		if (addr->u.hvsock.vm_flags & HVS_VMID_F_WSL) {
			/* Listeners must bind this exact id: the wildcard
			 * does not match connections from the WSL VM. */
			err = hvs__win_wsl_vmid(&vm_id);
			if (err != 0) {
				return err;
			}
		} else {
			vm_id = addr->u.hvsock.vm_id;
		}
		service_id = addr->u.hvsock.service_id;
		break;
	default:
		return HVS_EADDR_KIND;
	}
	(void)role;

	memset(&hv, 0, sizeof(hv));
	hv.Family = AF_HYPERV;
	hv.Reserved = 0;
	guid_to_win(&hv.VmId, &vm_id);
	guid_to_win(&hv.ServiceId, &service_id);
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, &hv, sizeof(hv));
	out->len = (int)sizeof(hv);
	return 0;
}

/* Decided when the socket is opened (the wsl VM id asks wsl.exe). */
int
hvs__hv_check(const hvs_addr_t *addr, hvs_role_t role)
{
	(void)addr;
	(void)role;
	return 0;
}

int
hvs__hv_from_sockaddr(const struct sockaddr *sa, hvs__socklen_t len,
    hvs_addr_t *out)
{
	SOCKADDR_HV hv;

	if (len < (hvs__socklen_t)sizeof(sa->sa_family) ||
	    sa->sa_family != AF_HYPERV) {
		return HVS_EAFNOSUPPORT;
	}
	if (len < (hvs__socklen_t)sizeof(hv)) {
		return HVS_EINVAL;
	}
	/* Copied: @sa need not be aligned for the GUIDs. */
	memcpy(&hv, sa, sizeof(hv));
	memset(out, 0, sizeof(*out));
	out->kind = HVS_ADDR_HVSOCK;
	guid_from_win(&out->u.hvsock.vm_id, &hv.VmId);
	guid_from_win(&out->u.hvsock.service_id, &hv.ServiceId);
	out->u.hvsock.vm_flags = 0;
	return 0;
}

/*
 * HVSOCKET_CONNECT_TIMEOUT also applies to non-blocking connects. It has
 * no "forever" and a ceiling of 300 s: longer requests (and "none") get
 * the ceiling.
 */
int
hvs__hv_set_connect_timeout(hvs_sock_t s, int timeout_ms)
{
	if (timeout_ms == 0) {
		/* The platform's default (90 s on current Windows). */
		return 0;
	}
	if (timeout_ms < 0 || timeout_ms > HVSOCKET_CONNECT_TIMEOUT_MAX) {
		hvs__log(HVS_LOG_DEBUG,
		    "Hyper-V connect timeout capped at %d ms (asked: %d)",
		    HVSOCKET_CONNECT_TIMEOUT_MAX, timeout_ms);
		timeout_ms = HVSOCKET_CONNECT_TIMEOUT_MAX;
	}
	return hvs__os_setsockopt_int(s, HV_PROTOCOL_RAW,
	    HVSOCKET_CONNECT_TIMEOUT, timeout_ms);
}

/*
 * Keep connections open while the VM is paused or saved (the default
 * drops them). Older Windows builds do not know the option; that is not
 * worth failing the socket over.
 */
int
hvs__hv_socket_defaults(hvs_sock_t s)
{
	int err;

	err = hvs__os_setsockopt_int(s, HV_PROTOCOL_RAW,
	    HVSOCKET_CONNECTED_SUSPEND, 1);
	if (err == HVS_ENOPROTOOPT || err == HVS_EINVAL || err == HVS_ENOTSUP) {
		hvs__log(HVS_LOG_DEBUG,
		    "HVSOCKET_CONNECTED_SUSPEND not supported here (%s)",
		    hvs_strerror(err));
		return 0;
	}
	return err;
}

/* Hyper-V sockets take SO_SNDBUF/SO_RCVBUF, which the core has set. */
int
hvs__hv_set_bufsize(hvs_sock_t s, int bytes)
{
	(void)s;
	(void)bytes;
	return 0;
}

/* A Windows machine is addressed by VM id, never by a CID. */
int
hvs__hv_local_cid(uint32_t *cid)
{
	(void)cid;
	return HVS_ENOCID;
}

const char *
hvs__hv_transport(void)
{
	return "hyperv";
}

/* shutdown(SD_SEND) on a Hyper-V socket ends the peer's input. */
int
hvs__hv_shutdown_sends_fin(void)
{
	return 1;
}
