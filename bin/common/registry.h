/* SPDX-License-Identifier: MIT */
/*
 * The Hyper-V socket services a Windows host lets its guests reach: one
 * registry key per service GUID under HVC_REG_KEY, holding a string
 * value ElementName (the name Hyper-V shows for it). A guest can connect
 * to a host's listener, and a host to a guest's, only if the service GUID
 * is registered there. Writing needs administrator rights; reading does
 * not.
 *
 * Prefix hvc_reg_. The registry itself is read and written in
 * win/registry.c; posix/registry.c answers HVC_REG_UNSUPPORTED (there is
 * no such registry: only a Windows host registers services). What both
 * share (default names, the listener check) is in registry.c.
 */
#ifndef HVC_REGISTRY_H
#define HVC_REGISTRY_H

#include <stddef.h>

#include <hvsock/hvsock.h>

/* The key under HKEY_LOCAL_MACHINE (the 64-bit view). */
#define HVC_REG_KEY                                         \
	"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\" \
	"Virtualization\\GuestCommunicationServices"

/*
 * An ElementName given: at most HVC_REG_NAME_MAX bytes. Names are in the
 * code page of the command line (Windows: the ANSI code page, as argv
 * and stdout are). One read back is cut to fit HVC_REG_NAME_SIZE.
 */
#define HVC_REG_NAME_MAX 255
#define HVC_REG_NAME_SIZE 1024

/* What the calls return. @why says more for HVC_REG_FAILED. */
enum hvc_reg_status {
	HVC_REG_OK = 0,
	HVC_REG_ABSENT, /* the service is not registered */
	HVC_REG_DENIED, /* needs administrator rights */
	HVC_REG_UNSUPPORTED, /* no such registry here (not Windows) */
	HVC_REG_FAILED, /* another error, in @why */
};

/* One registered service. */
struct hvc_reg_entry {
	hvs_guid_t guid;
	char name[HVC_REG_NAME_SIZE]; /* its ElementName ("" if none) */
};

/*
 * Register the service @guid with the ElementName @name (see
 * hvc_reg_name_check()). Already registered: its name is set to @name
 * and *@existed to 1. Nothing is left half-written: a key this call
 * created is removed again if its value cannot be set.
 */
int hvc_reg_add(const hvs_guid_t *guid, const char *name, int *existed,
    char *why, size_t why_size);

/* Remove the registration of @guid (HVC_REG_ABSENT: there is none). */
int hvc_reg_remove(const hvs_guid_t *guid, char *why, size_t why_size);

/* Is @guid registered? Its ElementName in @name (if not NULL). */
int hvc_reg_get(const hvs_guid_t *guid, char *name, size_t name_size, char *why,
    size_t why_size);

/*
 * Every registered service, in the registry's order, in a new array
 * (free() it) of *@count entries; keys whose name is not a GUID are
 * left out. No key at all is no service (HVC_REG_OK, 0 entries).
 */
int hvc_reg_list(struct hvc_reg_entry **out, size_t *count, char *why,
    size_t why_size);

/* The words for a status other than HVC_REG_FAILED (whose words are in
 * @why): "registering a service needs administrator rights: ...". */
const char *hvc_reg_strerror(int status);

/*
 * The ElementName given for @guid when the user names none: "hvcat vsock
 * port N" for a template GUID (xxxxxxxx-facb-11e6-bd58-64006a7986d3),
 * else "hvcat service".
 */
void hvc_reg_default_name(const hvs_guid_t *guid, char *buf, size_t size);

/* 0 if @name can be an ElementName (1 to HVC_REG_NAME_MAX bytes, no
 * control characters), else -1 with the reason in @why. */
int hvc_reg_name_check(const char *name, char *why, size_t why_size);

/*
 * The start-up check of a listener on @addr (hvproxy): 1 with a warning
 * in @msg if a guest cannot reach it because its service GUID is not
 * registered here (or its registration cannot be read), else 0. Only a
 * Windows host answers 1: elsewhere, and for addresses that are neither
 * vsock: nor hvsock:, or that follow the WSL2 VM (hvsock:wsl:...), it is
 * 0.
 */
int hvc_reg_listener_check(const hvs_addr_t *addr, char *msg, size_t msg_size);

#endif /* HVC_REGISTRY_H */
