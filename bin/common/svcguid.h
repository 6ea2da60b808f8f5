/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V socket addresses that cannot work as meant, in the words both
 * tools use. Whether an address names a service a Linux or FreeBSD
 * guest could ever use. Their kernels know vsock ports only, each the
 * template service GUID PORT-facb-11e6-bd58-64006a7986d3; a Windows guest
 * can use any GUID. So an hvsock: address towards a guest (a VM id,
 * children, wsl) with another service GUID is allowed but worth one
 * warning; one towards the host or this partition (parent, loopback,
 * silohost, wildcard, broadcast) is not. And whether a VM id can be
 * connected to at all: wildcard and children are for listeners only.
 */
#ifndef HVC_SVCGUID_H
#define HVC_SVCGUID_H

#include <stddef.h>

#include <hvsock/hvsock.h>

/* A buffer that holds hvc_svcguid_warning()'s text in full. */
#define HVC_SVCGUID_WARN_SIZE (HVS_ADDR_STRLEN + 256)

/*
 * If @addr is an hvsock: address towards a guest (a GUID that is not a
 * well-known VM id, children, or wsl) whose service GUID is not a vsock
 * port's, write one line saying so to @buf (no program name, no
 * "warning:", no newline) and return 1; else return 0 (@buf untouched).
 */
int hvc_svcguid_warning(const hvs_addr_t *addr, char *buf, size_t size);

/*
 * "wildcard" or "children" if @addr is an hvsock: address with that VM
 * id, which names no single VM: a listener's, never one to connect to
 * (Windows refuses such a connect). Else NULL (wsl is a VM).
 */
const char *hvc_listen_only_vmid(const hvs_addr_t *addr);

/* The words both tools use for it (a printf format taking that name). */
#define HVC_LISTEN_ONLY_FMT                                                 \
	"hvsock:%s names no single VM to connect to (it is for listening; " \
	"expected a VM id, parent or wsl)"

#endif /* HVC_SVCGUID_H */
