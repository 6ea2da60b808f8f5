/* SPDX-License-Identifier: MIT */
/*
 * The helpers that answer a question and exit: --service-id, --local-cid,
 * --register-cmd; the registration of Hyper-V services on a Windows host
 * (--register, --unregister, --list-registered: common/registry.h); and
 * the vsock facts that -v prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/registry.h"
#include "hvcat.h"

/* Where Windows looks up the Hyper-V socket services a host may offer. */
#define GCS_KEY                                                    \
	"HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\" \
	"Virtualization\\GuestCommunicationServices"

/*
 * A port or a GUID, as given to --service-id, --register-cmd,
 * --register or --unregister.
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

	port_or_guid("--register-cmd", arg, &port, &g);
	hvc_reg_default_name(&g, name, sizeof(name));
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

/*
 * The service of --register / --unregister ARG in @g, and how to name it
 * in a message in @what: "GUID (port N)" or "GUID". Exits 2 on a bad
 * ARG, or where there is no registry (not Windows).
 */
static void
service_arg(const char *opt, const char *arg, hvs_guid_t *g, char *what,
    size_t size)
{
	char s[HVS_GUID_STRLEN];
	uint32_t port;

	port_or_guid(opt, arg, &port, g);
	hvs_guid_format(g, s);
	if (hvs_service_to_port(g, &port) == 0) {
		snprintf(what, size, "%s (port %u)", s, (unsigned)port);
	} else {
		snprintf(what, size, "%s", s);
	}
}

/* Where there is no registry to change: exit 2, saying what to do. */
_Noreturn static void
registry_here(const char *opt, const char *arg)
{
	char q[HVC_QUOTE_SIZE];

	hvc_quote(arg, strlen(arg), q, sizeof(q));
	msg_usage("%s: %s; run hvcat.exe %s %s there (or the PowerShell "
		  "line of hvcat --register-cmd %s)",
	    opt, hvc_reg_strerror(HVC_REG_UNSUPPORTED), opt, q, q);
}

int
helper_register(const char *arg, const char *name_opt)
{
	char what[HVS_GUID_STRLEN + 32], why[512], old[HVC_REG_NAME_SIZE];
	char name[HVC_REG_NAME_SIZE], q[HVC_QUOTE_SIZE];
	hvs_guid_t g;
	uint32_t port;
	int st, existed, had;

	service_arg("--register", arg, &g, what, sizeof(what));
	if (name_opt != NULL) {
		if (hvc_reg_name_check(name_opt, why, sizeof(why)) != 0) {
			hvc_quote(name_opt, strlen(name_opt), q, sizeof(q));
			msg_usage("--name '%s': %s", q, why);
		}
		snprintf(name, sizeof(name), "%s", name_opt);
	} else {
		hvc_reg_default_name(&g, name, sizeof(name));
	}
	old[0] = '\0';
	had = hvc_reg_get(&g, old, sizeof(old), why, sizeof(why));
	if (had == HVC_REG_UNSUPPORTED) {
		registry_here("--register", arg);
	}
	if (hvs_service_to_port(&g, &port) != 0) {
		msg_warn("warning: %s is not a vsock service GUID (those are "
			 "xxxxxxxx-facb-11e6-bd58-64006a7986d3): Linux and "
			 "FreeBSD guests cannot use it, only Windows guests",
		    what);
	}
	st = hvc_reg_add(&g, name, &existed, why, sizeof(why));
	if (st == HVC_REG_DENIED) {
		msg_warn("registering a service needs administrator rights: "
			 "run from an elevated prompt");
		return EXIT_FAIL;
	}
	if (st != HVC_REG_OK) {
		msg_warn("cannot register %s: %s", what,
		    st == HVC_REG_FAILED ? why : hvc_reg_strerror(st));
		return EXIT_FAIL;
	}
	if (!existed || had != HVC_REG_OK) {
		printf("registered %s as '%s'\n", what, name);
	} else if (strcmp(old, name) == 0) {
		printf("%s is registered already as '%s'\n", what, name);
	} else {
		printf("%s was registered as '%s'; now as '%s'\n", what, old,
		    name);
	}
	return EXIT_OK;
}

int
helper_unregister(const char *arg)
{
	char what[HVS_GUID_STRLEN + 32], why[512];
	hvs_guid_t g;
	int st;

	service_arg("--unregister", arg, &g, what, sizeof(what));
	st = hvc_reg_remove(&g, why, sizeof(why));
	switch (st) {
	case HVC_REG_OK:
		printf("unregistered %s\n", what);
		return EXIT_OK;
	case HVC_REG_UNSUPPORTED:
		registry_here("--unregister", arg);
	case HVC_REG_ABSENT:
		msg_warn("%s is not registered: nothing to remove (see "
			 "hvcat --list-registered)",
		    what);
		return EXIT_FAIL;
	case HVC_REG_DENIED:
		msg_warn("removing a service's registration needs "
			 "administrator rights: run from an elevated prompt");
		return EXIT_FAIL;
	default:
		msg_warn("cannot unregister %s: %s", what, why);
		return EXIT_FAIL;
	}
}

int
helper_list_registered(void)
{
	struct hvc_reg_entry *v;
	char why[512];
	size_t n;
	int st = hvc_reg_list(&v, &n, why, sizeof(why));

	if (st == HVC_REG_UNSUPPORTED) {
		msg_usage("--list-registered: %s; run hvcat.exe "
			  "--list-registered there",
		    hvc_reg_strerror(st));
	}
	if (st != HVC_REG_OK) {
		msg_warn("cannot list the registered services: %s",
		    st == HVC_REG_FAILED ? why : hvc_reg_strerror(st));
		return EXIT_FAIL;
	}
	/* GUID, port ("-": not a vsock service GUID), ElementName. */
	for (size_t i = 0; i < n; i++) {
		char s[HVS_GUID_STRLEN], p[16];
		uint32_t port;

		hvs_guid_format(&v[i].guid, s);
		if (hvs_service_to_port(&v[i].guid, &port) == 0) {
			snprintf(p, sizeof(p), "%u", (unsigned)port);
		} else {
			snprintf(p, sizeof(p), "-");
		}
		printf("%s  %-10s  %s\n", s, p, v[i].name);
	}
	if (n == 0) {
		msg_warn("no Hyper-V socket service is registered");
	}
	free(v);
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
				 "register it: hvcat --register %s)",
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
		 "register it: hvcat --register %u)",
	    (unsigned)port, s, (unsigned)port);
}
