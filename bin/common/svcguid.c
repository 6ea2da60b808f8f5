/* SPDX-License-Identifier: MIT */
/* The warning for a service GUID that Linux and FreeBSD guests cannot
 * use (svcguid.h). */
#include <stdio.h>
#include <string.h>

#include "common/svcguid.h"

/* 1 if @a's VM id is a guest: a VM id of its own, children or wsl. */
static int
towards_guest(const hvs_addr_t *a)
{
	const hvs_guid_t *children = hvs_vmid_get(HVS_VMID_CHILDREN);

	if (a->u.hvsock.vm_flags & HVS_VMID_F_WSL) {
		return 1;
	}
	if (children != NULL && hvs_guid_equal(&a->u.hvsock.vm_id, children)) {
		return 1;
	}
	/* parent, loopback, silohost, wildcard, broadcast: not a guest. */
	return hvs_vmid_name(&a->u.hvsock.vm_id) == NULL;
}

int
hvc_svcguid_warning(const hvs_addr_t *addr, char *buf, size_t size)
{
	char s[HVS_ADDR_STRLEN];
	uint32_t port;

	if (addr == NULL || addr->kind != HVS_ADDR_HVSOCK ||
	    !towards_guest(addr) ||
	    hvs_service_to_port(&addr->u.hvsock.service_id, &port) !=
		HVS_ESERVICE_NOT_TEMPLATE) {
		return 0;
	}
	if (hvs_addr_format(addr, s, sizeof(s)) < 0) {
		snprintf(s, sizeof(s), "hvsock:?");
	}
	snprintf(buf, size,
	    "%s: the service is not a vsock port's GUID "
	    "(PORT-facb-11e6-bd58-64006a7986d3); Linux and FreeBSD guests "
	    "listen only on those (Windows guests can use any GUID)",
	    s);
	return 1;
}

const char *
hvc_listen_only_vmid(const hvs_addr_t *addr)
{
	const char *name;

	if (addr == NULL || addr->kind != HVS_ADDR_HVSOCK ||
	    (addr->u.hvsock.vm_flags & HVS_VMID_F_WSL)) {
		return NULL;
	}
	name = hvs_vmid_name(&addr->u.hvsock.vm_id);
	if (name != NULL &&
	    (strcmp(name, "wildcard") == 0 || strcmp(name, "children") == 0)) {
		return name;
	}
	return NULL;
}
