/* SPDX-License-Identifier: MIT */
/*
 * The VM id of the WSL2 utility VM (Windows only; private to win/).
 */
#ifndef HVSOCK_WIN_WSL_H
#define HVSOCK_WIN_WSL_H

#include <hvsock/hvsock.h>

/*
 * hvs__win_wsl_vmid() - the VM id of the running WSL2 VM, as printed by
 * `wsl.exe -- wslinfo --vm-id` (unelevated). The id changes at every WSL
 * restart, so it is looked up when an address is used, and remembered
 * for a few seconds only. WSL is not started if no distribution runs.
 * Returns 0, HVS_EWSL_MISSING, HVS_EWSL_STOPPED, HVS_EWSL1,
 * HVS_EWSL_TIMEOUT or HVS_EWSL_VMID (details go to the log).
 */
int hvs__win_wsl_vmid(hvs_guid_t *out);

#endif /* HVSOCK_WIN_WSL_H */
