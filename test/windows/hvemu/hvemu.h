/* SPDX-License-Identifier: MIT */
/*
 * hvemu: an emulated Hyper-V socket layer (AF_HYPERV) for the Windows
 * tests under wine, which has no AF_HYPERV. Test builds only.
 *
 * HOW IT IS LINKED
 * A static test build (libhvsock's static library, libevent static) is
 * linked with hvemu.c and -Wl,--wrap=__imp_<call> for each call of
 * hvemu_wraps in test/windows/hvemu/meson.build: WSASocketW, socket,
 * bind, connect, listen, accept, setsockopt, getsockopt, getsockname,
 * getpeername, closesocket, ioctlsocket. Those are the Winsock calls
 * lib/libhvsock/win/os.c and win/hv.c make on a Hyper-V socket (the
 * library uses neither WSAAccept nor WSAIoctl on them). Never link it
 * together with test/unit/sysmock_win.c, which wraps some of the same
 * import pointers. Calls on other families go straight through.
 *
 * WHAT AN EMULATED SOCKET IS
 * socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW) makes a real TCP
 * socket; the emulation keeps its Hyper-V identity (bound SOCKADDR_HV,
 * peer, options) in a table and translates addresses both ways, so the
 * data path (send, recv, shutdown, select, libevent) is real loopback TCP.
 *
 * PARTITIONS
 * Every process is in one partition, named by HVEMU_LOCAL_VMID (a GUID;
 * default HVEMU_HOST_VMID, the host). The host is the parent of every
 * other partition; any other id is a child VM of the host. Ids listed in
 * HVEMU_WSL_VMIDS (comma-separated GUIDs) are WSL2 utility VMs.
 *
 * RENDEZVOUS (across processes)
 * A directory named by HVEMU_DIR (default %TEMP%\hvemu) holds one file
 * per listening (partition, bound VmId, ServiceId):
 *   <partition>.<vmid>.<serviceid>   (lower-case GUIDs)
 * containing "<loopback port> <pid>\n". listen() writes it to a private
 * temporary name and renames it into place without replacing (atomic,
 * exclusive: the loser of two listens gets WSAEADDRINUSE); closesocket()
 * removes it (retrying while a reader has it open). A file is stale,
 * ignored and replaced, when its pid is gone, or when it names this
 * process and none of its listeners.
 *
 * CONNECT
 * connect() to (V, S) from partition C picks the destination partition
 * D (V itself; HV_GUID_LOOPBACK: C; HV_GUID_PARENT: the host, none from
 * the host; HV_GUID_WILDCARD, CHILDREN, BROADCAST and SILOHOST name no
 * partition: WSAEADDRNOTAVAIL), then the first listener file of D and S
 * whose bound VmId
 * matches, most specific first:
 *   1. exactly C;
 *   2. HV_GUID_LOOPBACK, if C is D;
 *   3. HV_GUID_PARENT, if C is D's parent (the host);
 *   4. HV_GUID_CHILDREN, if C is a child of D, unless C is a WSL VM;
 *   5. HV_GUID_WILDCARD, unless C is a WSL VM.
 * It connects to that loopback port and sends a 40-byte header:
 * "HVEMU01\n", C (16 bytes), the connector's service id (16 bytes;
 * GUIDs in their in-memory layout: its bound ServiceId, else the vsock
 * template with the loopback port as Data1). accept() reads it and reports the
 * peer as SOCKADDR_HV (C, service), where C is given as HV_GUID_PARENT
 * when it is the acceptor's parent and HV_GUID_LOOPBACK when it is the
 * acceptor's own partition. With no matching listener a connect within
 * its own partition is refused (WSAECONNREFUSED); one to another
 * partition is left unanswered and fails with WSAETIMEDOUT after the
 * connect timeout.
 *
 * A non-blocking connect says WSAEWOULDBLOCK, as Winsock does; the
 * socket turns writable once connected, or, unanswered, reports the
 * failure (select()'s except set) with SO_ERROR WSAETIMEDOUT. The
 * timeout is the socket's HVSOCKET_CONNECT_TIMEOUT, else
 * HVEMU_DEFAULT_CONNECT_TIMEOUT_MS (default 90000).
 *
 * ADDRESSES READ BACK
 * getsockname(): a listener's bound address; an accepted socket's, the
 * listener's; a connected client's, (HV_GUID_CHILDREN after a connect
 * within its partition, else its bound VmId or HV_GUID_WILDCARD, its
 * service id). getpeername(): the client's, the address it connected
 * to; the acceptor's, what accept() reported. A bind() on the host to
 * HV_GUID_PARENT fails with WSAEADDRNOTAVAIL (listening on parent
 * outside a VM is not supported).
 *
 * FIELD CHECKS
 * Every deviation from what the Windows kernel accepts is a violation:
 * logged to stderr as "hvemu: VIOLATION: ...", counted, and abort()ed on
 * unless hvemu_set_abort(0) (or HVEMU_ABORT=0); the call then fails with
 * the error Windows gives. hvemu.c says for each check and quirk where
 * the behaviour comes from.
 */
#ifndef HVEMU_H
#define HVEMU_H

#include <winsock2.h>
#include <windows.h>

/* The host partition's VM id in the emulation (no real host has it). */
#define HVEMU_HOST_VMID_STR "48564d55-0000-4000-8000-484f53540000"

/* The header a connect sends before any data. */
#define HVEMU_HEADER_MAGIC "HVEMU01\n"
#define HVEMU_HEADER_LEN 40

/* Number of violations so far, and the text of the last one (or ""). */
int hvemu_violations(void);
const char *hvemu_last_violation(void);

/* Whether a violation abort()s (default 1; HVEMU_ABORT=0 starts at 0). */
void hvemu_set_abort(int on);

/* This process's partition (a test may move between partitions). */
void hvemu_set_local_vmid(const GUID *vmid);
const GUID *hvemu_local_vmid(void);
const GUID *hvemu_host_vmid(void);

/* Marks @vmid a WSL2 VM (as HVEMU_WSL_VMIDS does). */
void hvemu_add_wsl_vmid(const GUID *vmid);

/* The last HVSOCKET_CONNECT_TIMEOUT set on any emulated socket, in ms
 * (-1 if none was set). */
long hvemu_last_connect_timeout(void);

/* The last HVSOCKET_CONNECTED_SUSPEND set (-1 if none was set). */
long hvemu_last_connected_suspend(void);

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx": 0, or -1 if malformed. */
int hvemu_guid_parse(const char *s, GUID *out);

#endif
