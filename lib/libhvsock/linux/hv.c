/* SPDX-License-Identifier: MIT */
/*
 * Linux: vsock:/hvsock: addresses are AF_VSOCK (<linux/vm_sockets.h>).
 *
 * Under Hyper-V the hv_sock transport carries AF_VSOCK: a service GUID is a
 * port mapped onto the template GUID, a guest can only reach CID 2, and the
 * local CID reads as VMADDR_CID_ANY. Those rules are enforced here so that
 * a caller gets a specific error instead of the kernel's ENETUNREACH.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "internal.h"

/* Declared here only: a seam for the unit tests, not an interface. */
extern const char *hvs__transport_override;

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

int
hvs__hv_family(void)
{
	return AF_VSOCK;
}

int
hvs__hv_protocol(void)
{
	return 0;
}

/* No vsock module loaded gives HVS_EAFNOSUPPORT, whose text says so. */
int
hvs__hv_socket_error(int err)
{
	return err;
}

static int
module_loaded(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return stat(path, &st) == 0;
}

/* Tests set this to play a transport this machine does not have. */
const char *hvs__transport_override;

const char *
hvs__hv_transport(void)
{
	if (hvs__transport_override != NULL) {
		return hvs__transport_override;
	}
	/* The guest-to-host transports are exclusive; loopback may sit
	 * beside any of them. */
	if (module_loaded("hv_sock")) {
		return "hyperv";
	}
	if (module_loaded("vmw_vsock_virtio_transport")) {
		return "virtio";
	}
	if (module_loaded("vmw_vsock_vmci_transport")) {
		return "vmci";
	}
	if (module_loaded("vsock_loopback")) {
		return "loopback-only";
	}
	return "none";
}

static int
under_hyperv(void)
{
	return strcmp(hvs__hv_transport(), "hyperv") == 0;
}

/* hvsock: VM id -> the CID it means to a Linux guest, for @role. */
static int
vmid_to_cid(const hvs_addr_t *addr, hvs_role_t role, uint32_t *cid)
{
	const hvs_guid_t *id = &addr->u.hvsock.vm_id;

	if (addr->u.hvsock.vm_flags & HVS_VMID_F_WSL) {
		/* Only a Windows host addresses a WSL VM by its id. */
		return HVS_EVMID_UNSUPPORTED;
	}
	if (hvs_guid_equal(id, hvs_vmid_get(HVS_VMID_WILDCARD))) {
		if (role != HVS_ROLE_LISTEN) {
			return HVS_EVMID_UNSUPPORTED;
		}
		*cid = VMADDR_CID_ANY;
		return 0;
	}
	if (hvs_guid_equal(id, hvs_vmid_get(HVS_VMID_PARENT))) {
		*cid = VMADDR_CID_HOST;
		return 0;
	}
	if (hvs_guid_equal(id, hvs_vmid_get(HVS_VMID_LOOPBACK))) {
		*cid = VMADDR_CID_LOCAL;
		return 0;
	}
	/* children, silohost, broadcast and other VMs' ids: only a
	 * Windows host can address those. */
	return HVS_EVMID_UNSUPPORTED;
}

int
hvs__hv_to_sockaddr(const hvs_addr_t *addr, hvs_role_t role,
    hvs__sockaddr_t *out)
{
	struct sockaddr_vm svm;
	uint32_t cid, port;
	int rc;

	switch (addr->kind) {
	case HVS_ADDR_VSOCK:
		cid = addr->u.vsock.cid;
		port = addr->u.vsock.port;
		break;
	case HVS_ADDR_HVSOCK:
		rc = hvs_service_to_port(&addr->u.hvsock.service_id, &port);
		if (rc < 0) {
			return rc;
		}
		rc = vmid_to_cid(addr, role, &cid);
		if (rc < 0) {
			return rc;
		}
		break;
	default:
		return HVS_EADDR_KIND;
	}
	if (role == HVS_ROLE_CONNECT) {
		if (cid == VMADDR_CID_ANY || port == VMADDR_PORT_ANY) {
			return HVS_EADDRNOTAVAIL;
		}
		if (cid != VMADDR_CID_HOST && under_hyperv()) {
			return HVS_EHV_CID;
		}
	}
	memset(&svm, 0, sizeof(svm));
	svm.svm_family = AF_VSOCK;
	svm.svm_cid = cid;
	svm.svm_port = port;
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, &svm, sizeof(svm));
	out->len = sizeof(svm);
	return 0;
}

/* Everything here is decided when the socket is opened: whether the
 * machine runs under Hyper-V may change with a module load. */
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
	struct sockaddr_vm svm;

	if (sa->sa_family != AF_VSOCK || (size_t)len < sizeof(svm)) {
		return HVS_EAFNOSUPPORT;
	}
	memcpy(&svm, sa, sizeof(svm));
	hvs_addr_vsock(out, svm.svm_cid, svm.svm_port);
	return 0;
}

int
hvs__hv_set_connect_timeout(hvs_sock_t s, int timeout_ms)
{
	struct timeval tv;

	if (timeout_ms < 0) {
		/* "No timeout": the kernel's own default is 2 s, so ask for
		 * a day, which its range check accepts. */
		tv.tv_sec = 86400;
		tv.tv_usec = 0;
	} else {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
	}
	if (setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv,
		sizeof(tv)) < 0) {
		return hvs__os_last_error();
	}
	return 0;
}

int
hvs__hv_socket_defaults(hvs_sock_t s)
{
	(void)s;
	return 0;
}

int
hvs__hv_set_bufsize(hvs_sock_t s, int bytes)
{
	uint64_t size = (uint64_t)bytes;
	int rc = 0;

	/*
	 * virtio and loopback size their credit window from the vsock
	 * option, not SO_RCVBUF; raise the maximum first or a size above
	 * the default 256 KiB cap is refused. hv_sock ignores both and
	 * reads SO_SNDBUF/SO_RCVBUF, which the core has set already.
	 */
	if (size > 262144) {
		(void)setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE,
		    &size, sizeof(size));
	}
	if (setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &size,
		sizeof(size)) < 0) {
		rc = hvs__os_last_error();
	}
	return rc;
}

int
hvs__hv_local_cid(uint32_t *cid)
{
	unsigned int value = 0;
	int fd, rc;

	fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* No vsock device: this machine has no CID at all. */
		return (errno == ENOENT || errno == ENODEV || errno == ENXIO)
		    ? HVS_ENOCID
		    : hvs__os_last_error();
	}
	rc = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &value);
	close(fd);
	if (rc < 0) {
		return hvs__os_last_error();
	}
	if (value == VMADDR_CID_ANY) {
		/* hv_sock: the guest is known by its VM id, not a CID. */
		return HVS_ENOCID;
	}
	*cid = value;
	return 0;
}

/* vsock (virtio, vmci) and hv_sock both send the peer a shutdown/FIN for
 * SHUT_WR: a half-close reaches the peer. */
int
hvs__hv_shutdown_sends_fin(void)
{
	return 1;
}
