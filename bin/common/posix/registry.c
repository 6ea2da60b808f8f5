/* SPDX-License-Identifier: MIT */
/*
 * The service registry on POSIX systems (registry.h): there is none.
 * Only a Windows host registers the Hyper-V socket services its guests
 * may reach; a Linux or FreeBSD guest needs no registration of its own.
 */
#include "common/registry.h"

int
hvc_reg_add(const hvs_guid_t *guid, const char *name, int *existed, char *why,
    size_t why_size)
{
	(void)guid;
	(void)name;
	(void)why;
	(void)why_size;
	*existed = 0;
	return HVC_REG_UNSUPPORTED;
}

int
hvc_reg_remove(const hvs_guid_t *guid, char *why, size_t why_size)
{
	(void)guid;
	(void)why;
	(void)why_size;
	return HVC_REG_UNSUPPORTED;
}

int
hvc_reg_get(const hvs_guid_t *guid, char *name, size_t name_size, char *why,
    size_t why_size)
{
	(void)guid;
	(void)name;
	(void)name_size;
	(void)why;
	(void)why_size;
	return HVC_REG_UNSUPPORTED;
}

int
hvc_reg_list(struct hvc_reg_entry **out, size_t *count, char *why,
    size_t why_size)
{
	(void)why;
	(void)why_size;
	*out = NULL;
	*count = 0;
	return HVC_REG_UNSUPPORTED;
}
