/* SPDX-License-Identifier: MIT */
/* The public headers stand alone and agree with the library's version. */
#include <hvsock/hvsock.h>
#ifdef HVS_HAVE_LOOP_H
#include <hvsock/loop.h>
#endif

#include <stdio.h>
#include <string.h>

int
main(void)
{
	if (strcmp(hvs_version(), HVS_VERSION) != 0 ||
	    hvs_version_number() != HVS_VERSION_NUMBER) {
		fprintf(stderr, "header %s, library %s\n", HVS_VERSION,
		    hvs_version());
		return 1;
	}
	return 0;
}
