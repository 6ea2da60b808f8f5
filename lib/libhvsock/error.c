/* SPDX-License-Identifier: MIT */
/*
 * Error codes: names, messages and the translation of system errors. All
 * three come from HVS_ERRNO_MAP so that they cannot drift apart; a system
 * error the list has no code for is carried as HVS_ESYS() and described
 * by the system.
 */
#include <string.h>

#include <hvsock/hvsock.h>

const char *
hvs_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
#define HVS__ERR_MSG(name, num, msg) \
	case HVS_##name:             \
		return msg;
		HVS_ERRNO_MAP(HVS__ERR_MSG)
#undef HVS__ERR_MSG
	default:
		if (HVS_IS_ESYS(err)) {
			return strerror(HVS_ESYS_ERRNO(err));
		}
		return "unknown error";
	}
}

const char *
hvs_err_name(int err)
{
	switch (err) {
	case 0:
		return "OK";
#define HVS__ERR_NAME(name, num, msg) \
	case HVS_##name:              \
		return #name;
		HVS_ERRNO_MAP(HVS__ERR_NAME)
#undef HVS__ERR_NAME
	default:
		return HVS_IS_ESYS(err) ? "ESYS" : "UNKNOWN";
	}
}
