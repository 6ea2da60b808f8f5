/* SPDX-License-Identifier: MIT */
/*
 * What the service registry calls share on every system (registry.h):
 * the default names, the check of a name, the words for a status and the
 * start-up check of a listener. The registry itself is in win/registry.c
 * (posix/registry.c on the others).
 */
#include <stdio.h>
#include <string.h>

#include "common/registry.h"

void
hvc_reg_default_name(const hvs_guid_t *guid, char *buf, size_t size)
{
	uint32_t port;

	if (hvs_service_to_port(guid, &port) == 0) {
		snprintf(buf, size, "hvcat vsock port %u", (unsigned)port);
	} else {
		snprintf(buf, size, "hvcat service");
	}
}

int
hvc_reg_name_check(const char *name, char *why, size_t why_size)
{
	size_t n = strlen(name);

	if (n == 0) {
		snprintf(why, why_size, "the name is empty");
		return -1;
	}
	if (n > HVC_REG_NAME_MAX) {
		snprintf(why, why_size,
		    "the name is %zu bytes long (at most %d)", n,
		    HVC_REG_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f) {
			snprintf(why, why_size,
			    "the name has a control character (byte %zu)",
			    i + 1);
			return -1;
		}
	}
	return 0;
}

const char *
hvc_reg_strerror(int status)
{
	switch (status) {
	case HVC_REG_OK:
		return "done";
	case HVC_REG_ABSENT:
		return "not registered";
	case HVC_REG_DENIED:
		return "administrator rights are needed: run from an elevated "
		       "prompt";
	case HVC_REG_UNSUPPORTED:
		return "only a Windows host registers Hyper-V socket services";
	default:
		return "the registry could not be read or written";
	}
}

int
hvc_reg_listener_check(const hvs_addr_t *addr, char *msg, size_t msg_size)
{
	char s[HVS_GUID_STRLEN], arg[HVS_GUID_STRLEN], port_s[32], why[256];
	hvs_guid_t g;
	uint32_t port;
	int st;

	switch (addr->kind) {
	case HVS_ADDR_VSOCK:
		if (addr->u.vsock.port == HVS_PORT_ANY ||
		    hvs_service_from_port(&g, addr->u.vsock.port) != 0) {
			return 0;
		}
		break;
	case HVS_ADDR_HVSOCK:
		/* WSL2's VM is not checked against the registrations. */
		if (addr->u.hvsock.vm_flags & HVS_VMID_F_WSL) {
			return 0;
		}
		g = addr->u.hvsock.service_id;
		break;
	default:
		return 0;
	}
	why[0] = '\0';
	st = hvc_reg_get(&g, NULL, 0, why, sizeof(why));
	if (st == HVC_REG_OK || st == HVC_REG_UNSUPPORTED) {
		return 0;
	}
	hvs_guid_format(&g, s);
	if (hvs_service_to_port(&g, &port) == 0) {
		snprintf(port_s, sizeof(port_s), " (port %u)", (unsigned)port);
		snprintf(arg, sizeof(arg), "%u", (unsigned)port);
	} else {
		port_s[0] = '\0';
		memcpy(arg, s, sizeof(arg));
	}
	if (st == HVC_REG_ABSENT) {
		snprintf(msg, msg_size,
		    "service GUID %s%s is not registered: guests cannot "
		    "connect; run: hvcat --register %s (as administrator)",
		    s, port_s, arg);
	} else {
		snprintf(msg, msg_size,
		    "cannot tell whether service GUID %s%s is registered: %s",
		    s, port_s,
		    st == HVC_REG_FAILED ? why : hvc_reg_strerror(st));
	}
	return 1;
}
