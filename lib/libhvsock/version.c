/* SPDX-License-Identifier: MIT */
#include <hvsock/hvsock.h>

const char *
hvs_version(void)
{
	return HVS_VERSION;
}

unsigned
hvs_version_number(void)
{
	return HVS_VERSION_NUMBER;
}
