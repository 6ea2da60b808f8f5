/* SPDX-License-Identifier: MIT */
/*
 * The helpers that answer a question and exit: --service-id, --local-cid,
 * --register-cmd; and the vsock facts that -v prints.
 */
#include <stdio.h>
#include <string.h>

#include "hvcat.h"

/* Where Windows looks up the Hyper-V socket services a host may offer. */
#define GCS_KEY                                                    \
	"HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\" \
	"Virtualization\\GuestCommunicationServices"

/*
 * A port or a GUID, as given to --service-id / --register-cmd.
 * Returns 1 for a port (in *@port and its GUID in *@guid), 0 for a GUID
 * (in *@guid), or exits 2.
 */
static int
port_or_guid(const char *opt, const char *arg, uint32_t *port, hvs_guid_t *guid)
{
	char q[HVC_QUOTE_SIZE], why[HVC_WHY_SIZE];
	uint64_t v;

	hvc_quote(arg, strlen(arg), q, sizeof(q));
	if (arg[0] >= '0' && arg[0] <= '9' && strlen(arg) < 20 &&
	    strspn(arg, "0123456789") == strlen(arg)) {
		if (hvc_parse_uint(arg, 0, HVS_SERVICE_PORT_MAX, &v, why,
			sizeof(why)) != 0) {
			msg_usage("%s '%s': bad port: %s (a port maps to a "
				  "service GUID)",
			    opt, q, why);
		}
		*port = (uint32_t)v;
		if (hvs_service_from_port(guid, *port) < 0) {
			msg_usage("%s '%s': port out of range", opt, q);
		}
		return 1;
	}
	if (hvs_guid_parse(guid, arg, strlen(arg)) < 0) {
		msg_usage("%s '%s': expected a port number (0 to %u) or a "
			  "service GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
		    opt, q, HVS_SERVICE_PORT_MAX);
	}
	return 0;
}

int
helper_service_id(const char *arg)
{
	char s[HVS_GUID_STRLEN];
	hvs_guid_t g;
	uint32_t port;
	int rc;

	if (port_or_guid("--service-id", arg, &port, &g)) {
		hvs_guid_format(&g, s);
		printf("%s\n", s);
		return EXIT_OK;
	}
	rc = hvs_service_to_port(&g, &port);
	hvs_guid_format(&g, s);
	if (rc == HVS_ESERVICE_NOT_TEMPLATE) {
		msg_warn("%s is not a vsock service GUID (those are "
			 "xxxxxxxx-facb-11e6-bd58-64006a7986d3): it has no "
			 "port; only Windows can use such a service "
			 "(hvsock:VMID:%s)",
		    s, s);
		return EXIT_FAIL;
	}
	if (rc < 0) {
		msg_warn("%s: %s", s, hvs_strerror(rc));
		return EXIT_FAIL;
	}
	printf("%u\n", (unsigned)port);
	return EXIT_OK;
}

/* Why there is no CID here, in words a user can act on. */
static const char *
no_cid_reason(int rc)
{
	const char *t = hvs_transport();
	const char *os = os_no_cid_reason(rc);

	if (os != NULL) {
		return os;
	}
	if (strcmp(t, "hyperv") == 0) {
		return "this is a Hyper-V guest (hv_sock transport): it has "
		       "no CID; the host reaches it by its VM id "
		       "(hvsock:VMID:PORT), and it reaches the host at "
		       "CID 2";
	}
	if (strcmp(t, "none") == 0 || rc == HVS_ENOENT || rc == HVS_ENODEV ||
	    rc == HVS_EAFNOSUPPORT) {
		return "no vsock device (/dev/vsock): the vsock modules are "
		       "not loaded, or this machine is neither a VM guest "
		       "nor a vsock host";
	}
	return hvs_strerror(rc);
}

int
helper_local_cid(void)
{
	uint32_t cid;
	int rc = hvs_local_cid(&cid);

	if (rc < 0) {
		msg_warn("no local CID: %s", no_cid_reason(rc));
		return EXIT_FAIL;
	}
	printf("%u\n", (unsigned)cid);
	return EXIT_OK;
}

int
helper_register_cmd(const char *arg)
{
	char s[HVS_GUID_STRLEN];
	char name[64];
	hvs_guid_t g;
	uint32_t port;

	if (port_or_guid("--register-cmd", arg, &port, &g)) {
		snprintf(name, sizeof(name), "hvcat vsock port %u",
		    (unsigned)port);
	} else if (hvs_service_to_port(&g, &port) == 0) {
		snprintf(name, sizeof(name), "hvcat vsock port %u",
		    (unsigned)port);
	} else {
		snprintf(name, sizeof(name), "hvcat service");
	}
	hvs_guid_format(&g, s);
	/*
	 * One line for an elevated PowerShell on the Windows host. -Force
	 * makes it idempotent: running it twice leaves the same key.
	 */
	printf("New-Item -Force -Path '" GCS_KEY "\\%s' | "
	       "New-ItemProperty -Force -Name ElementName -Value '%s' | "
	       "Out-Null\n",
	    s, name);
	return EXIT_OK;
}

void
helper_verbose_vsock(const struct options *o)
{
	const hvs_addr_t *a = &o->addr;
	char s[HVS_GUID_STRLEN];
	uint32_t cid, port;
	hvs_guid_t g;
	int rc;

	if (o->verbose < 1 ||
	    (a->kind != HVS_ADDR_VSOCK && a->kind != HVS_ADDR_HVSOCK)) {
		return;
	}
	rc = hvs_local_cid(&cid);
	if (rc == 0) {
		msg_warn("local CID %u (vsock transport: %s)", (unsigned)cid,
		    hvs_transport());
	} else {
		msg_warn("no local CID: %s", no_cid_reason(rc));
	}
	if (a->kind == HVS_ADDR_HVSOCK) {
		g = a->u.hvsock.service_id;
		hvs_guid_format(&g, s);
		if (hvs_service_to_port(&g, &port) != 0) {
			msg_warn("Hyper-V service %s (a Windows host must "
				 "register it: hvcat --register-cmd %s)",
			    s, s);
			return;
		}
	} else {
		port = a->u.vsock.port;
		if (port == HVS_PORT_ANY || hvs_service_from_port(&g, port)) {
			return;
		}
		hvs_guid_format(&g, s);
	}
	msg_warn("vsock port %u is Hyper-V service %s (a Windows host must "
		 "register it: hvcat --register-cmd %u)",
	    (unsigned)port, s, (unsigned)port);
}
