/* SPDX-License-Identifier: MIT */
/*
 * See hvemu.h: the emulated Hyper-V socket layer.
 *
 * Sources of the behaviour reproduced here (each check below names one):
 *  [SDK]   the Windows SDK's hvsocket.h (and mingw-w64's copy, which has
 *          the same definitions): AF_HYPERV 34, SOCKADDR_HV (Family,
 *          Reserved, VmId, ServiceId: 36 bytes), HV_PROTOCOL_RAW 1,
 *          HVSOCKET_CONNECT_TIMEOUT (ULONG, ms) with
 *          HVSOCKET_CONNECT_TIMEOUT_MAX 300000 ("5 minutes"),
 *          HVSOCKET_CONNECTED_SUSPEND, and the comments on the well-known
 *          VM ids: WILDCARD "accept connection from all partitions",
 *          CHILDREN "accept connection from its children", LOOPBACK
 *          "connects to the same partition as the connector", PARENT
 *          "connects to the parent partition"; listening on PARENT
 *          outside a VM "Not supported".
 *  [DOC]   Microsoft's "Make your own integration services": sockets
 *          are "Data stream only" (SOCK_STREAM); the vsock template
 *          service GUID PORT-facb-11e6-bd58-64006a7986d3.
 *  [WSL]   WSL's src/windows/common/hvsocket.cpp: socket(AF_HYPERV,
 *          SOCK_STREAM, HV_PROTOCOL_RAW); HVSOCKET_CONNECTED_SUSPEND and
 *          HVSOCKET_CONNECT_TIMEOUT set as a ULONG of sizeof(ULONG); a
 *          connecting socket bound to (HV_GUID_WILDCARD, HV_GUID_WILDCARD)
 *          before ConnectEx, so a bind with a null ServiceId succeeds.
 *          WSL issue #5751 (and vcxsrv issue #80): a listener bound to
 *          HV_GUID_WILDCARD or HV_GUID_CHILDREN is not reached from the
 *          WSL2 VM; only a bind to the VM's exact id is; the guest's
 *          connect then times out.
 *  [WINIO] go-winio hvsock.go: a raw address is exactly the 36-byte
 *          struct, Family checked on the way back; the local address of
 *          an accepted socket is the listener's address; a dial is
 *          retried on WSAECONNREFUSED / WSAENETUNREACH / WSAETIMEDOUT.
 *  [WINIO-T] go-winio's hvsock_test.go, run on real Windows: a dial to
 *          HV_GUID_LOOPBACK and a service nobody listens on fails with
 *          WSAECONNREFUSED within milliseconds (TestHvSockDialNoTimeout);
 *          on a loopback connection the acceptor's peer is
 *          (HV_GUID_LOOPBACK, the client's service id), the client's own
 *          address (HV_GUID_CHILDREN, that service id), the client's
 *          peer the address it dialed, a listener's own address the one
 *          it bound; an accepted socket's getsockname() "seems
 *          arbitrary" (the emulation gives the listener's address).
 *  [HANG]  ocaml-hvsock pull request #3 ("Work around connect hanging
 *          forever": a connect to a service nobody listens on waits out
 *          the timeout rather than being refused) and WSL issue #4723
 *          ("connection timed out" when no listener matches).
 *  [DUP]   WinCryptSSHAgent issue #23: a second ListenHvsock of go-winio
 *          on the same (wildcard, service) fails in its "listen" step
 *          ("listen: Only one usage of each socket address", i.e.
 *          WSAEADDRINUSE from listen()); go-winio's ListenHvsock names
 *          a bind() failure "socket", so bind() had succeeded.
 *  [LIB]   this project's own record of Hyper-V behaviour, in
 *          lib/libhvsock/win/hv.c and os.c: no ephemeral ports; a
 *          duplicate bind succeeds and the second listen() fails with
 *          WSAEADDRINUSE (as [DUP]); the default connect timeout (90 s,
 *          no other source found: HVEMU_DEFAULT_CONNECT_TIMEOUT_MS
 *          changes it).
 *  [EMU]   no source: the emulation's own choice, said where made.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <hvsocket.h>

#include "hvemu.h"

#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif

/* Hyper-V's default connect timeout when the option is not set [LIB]. */
#define DEFAULT_CONNECT_TIMEOUT_MS 90000
/* How long accept() waits for a connector's header [EMU]. */
#define HEADER_WAIT_MS 10000
#define MAX_SOCKS 1024
#define MAX_WSL 16

typedef enum { ST_NEW, ST_PENDING, ST_TIMEDOUT, ST_CONNECTED } conn_state_t;

struct emu {
	SOCKET s;
	unsigned gen;
	int bound;
	SOCKADDR_HV local; /* as bound */
	int listening;
	char file[MAX_PATH]; /* rendezvous file while listening */
	conn_state_t state;
	SOCKADDR_HV name; /* getsockname() once connected or accepted */
	SOCKADDR_HV peer;
	long timeout_ms; /* -1: not set */
	int nonblock;
	HANDLE pend_ev; /* wakes the timer of an unanswered connect */
};

static struct emu socks[MAX_SOCKS];
static int nsocks;
static unsigned next_gen = 1;
static SRWLOCK lock = SRWLOCK_INIT;

static volatile LONG nviolations;
static char last_violation[512];
static int abort_on_violation = 1;

static INIT_ONCE env_once = INIT_ONCE_STATIC_INIT;
static GUID host_vmid;
static GUID local_vmid;
static GUID wsl_vmids[MAX_WSL];
static int nwsl;
static char rdv_dir[MAX_PATH];
static long default_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
static long last_timeout = -1;
static long last_suspend = -1;
static SOCKET refuser = INVALID_SOCKET;
static struct sockaddr_in refuser_addr;

/* The real calls, and the pointers the wrapped references reach. */
#define REAL(name)                            \
	typedef __typeof__(&name) name##_fn;  \
	extern name##_fn __real___imp_##name; \
	extern name##_fn __wrap___imp_##name;
REAL(WSASocketW)
REAL(socket)
REAL(bind)
REAL(connect)
REAL(listen)
REAL(accept)
REAL(setsockopt)
REAL(getsockopt)
REAL(getsockname)
REAL(getpeername)
REAL(closesocket)
REAL(ioctlsocket)

/* ---------------------------------------------------------------------- */

static void
violation(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_violation, sizeof(last_violation), fmt, ap);
	va_end(ap);
	InterlockedIncrement(&nviolations);
	fprintf(stderr, "hvemu: VIOLATION: %s\n", last_violation);
	fflush(stderr);
	if (abort_on_violation) {
		abort();
	}
}

int
hvemu_violations(void)
{
	return (int)nviolations;
}

const char *
hvemu_last_violation(void)
{
	return last_violation;
}

void
hvemu_set_abort(int on)
{
	abort_on_violation = on;
}

long
hvemu_last_connect_timeout(void)
{
	return last_timeout;
}

long
hvemu_last_connected_suspend(void)
{
	return last_suspend;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int
hvemu_guid_parse(const char *s, GUID *out)
{
	unsigned char b[16];
	int n = 0;

	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-') {
				return -1;
			}
			continue;
		}
		int h = hexval(s[i]), l;
		if (h < 0) {
			return -1;
		}
		l = hexval(s[++i]);
		if (l < 0 || i == 8 || i == 13 || i == 18 || i == 23) {
			return -1;
		}
		b[n++] = (unsigned char)(h << 4 | l);
	}
	out->Data1 = (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 |
	    (unsigned long)b[2] << 8 | b[3];
	out->Data2 = (unsigned short)(b[4] << 8 | b[5]);
	out->Data3 = (unsigned short)(b[6] << 8 | b[7]);
	memcpy(out->Data4, b + 8, 8);
	return 0;
}

static void
guid_fmt(const GUID *g, char *buf)
{
	snprintf(buf, 37, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    (unsigned long)g->Data1, g->Data2, g->Data3, g->Data4[0],
	    g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5],
	    g->Data4[6], g->Data4[7]);
}

static int
guid_eq(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static BOOL CALLBACK
read_env(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	char buf[1024];
	DWORD n;

	(void)once;
	(void)param;
	(void)ctx;
	hvemu_guid_parse(HVEMU_HOST_VMID_STR, &host_vmid);
	local_vmid = host_vmid;
	n = GetEnvironmentVariableA("HVEMU_LOCAL_VMID", buf, sizeof(buf));
	if (n > 0 && n < sizeof(buf) &&
	    (strlen(buf) != 36 || hvemu_guid_parse(buf, &local_vmid) != 0)) {
		fprintf(stderr, "hvemu: HVEMU_LOCAL_VMID=%s is not a GUID\n",
		    buf);
		abort();
	}
	n = GetEnvironmentVariableA("HVEMU_WSL_VMIDS", buf, sizeof(buf));
	if (n > 0 && n < sizeof(buf)) {
		for (char *p = buf; *p != '\0' && nwsl < MAX_WSL;) {
			if (strlen(p) < 36 ||
			    hvemu_guid_parse(p, &wsl_vmids[nwsl]) != 0 ||
			    (p[36] != '\0' && p[36] != ',')) {
				fprintf(stderr,
				    "hvemu: HVEMU_WSL_VMIDS=%s: expected "
				    "comma-separated GUIDs\n",
				    buf);
				abort();
			}
			nwsl++;
			p += p[36] == ',' ? 37 : 36;
		}
	}
	n = GetEnvironmentVariableA("HVEMU_ABORT", buf, sizeof(buf));
	if (n > 0 && n < sizeof(buf) && strcmp(buf, "0") == 0) {
		abort_on_violation = 0;
	}
	n = GetEnvironmentVariableA("HVEMU_DEFAULT_CONNECT_TIMEOUT_MS", buf,
	    sizeof(buf));
	if (n > 0 && n < sizeof(buf)) {
		default_timeout_ms = strtol(buf, NULL, 10);
	}
	n = GetEnvironmentVariableA("HVEMU_DIR", rdv_dir, sizeof(rdv_dir));
	if (n == 0 || n >= sizeof(rdv_dir) - 120) {
		n = GetTempPathA(sizeof(rdv_dir) - 120, rdv_dir);
		if (n == 0 || n >= sizeof(rdv_dir) - 120) {
			strcpy(rdv_dir, ".\\");
		}
		strcat(rdv_dir, "hvemu");
	}
	CreateDirectoryA(rdv_dir, NULL);
	return TRUE;
}

static void
init_env(void)
{
	InitOnceExecuteOnce(&env_once, read_env, NULL, NULL);
}

void
hvemu_set_local_vmid(const GUID *vmid)
{
	init_env();
	local_vmid = *vmid;
}

const GUID *
hvemu_local_vmid(void)
{
	init_env();
	return &local_vmid;
}

const GUID *
hvemu_host_vmid(void)
{
	init_env();
	return &host_vmid;
}

void
hvemu_add_wsl_vmid(const GUID *vmid)
{
	init_env();
	if (nwsl < MAX_WSL) {
		wsl_vmids[nwsl++] = *vmid;
	}
}

static int
is_wsl(const GUID *vmid)
{
	for (int i = 0; i < nwsl; i++) {
		if (guid_eq(&wsl_vmids[i], vmid)) {
			return 1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The table of emulated sockets; callers hold the lock. */

static struct emu *
find(SOCKET s)
{
	for (int i = 0; i < nsocks; i++) {
		if (socks[i].s == s) {
			return &socks[i];
		}
	}
	return NULL;
}

static struct emu *
find_locked(SOCKET s)
{
	struct emu *e;

	AcquireSRWLockExclusive(&lock);
	e = find(s);
	if (e == NULL) {
		ReleaseSRWLockExclusive(&lock);
	}
	return e;
}

static void
unlock(void)
{
	ReleaseSRWLockExclusive(&lock);
}

static void
add(SOCKET s, int nonblock)
{
	AcquireSRWLockExclusive(&lock);
	if (nsocks == MAX_SOCKS) {
		unlock();
		fprintf(stderr, "hvemu: more than %d Hyper-V sockets\n",
		    MAX_SOCKS);
		abort();
	}
	memset(&socks[nsocks], 0, sizeof(socks[nsocks]));
	socks[nsocks].s = s;
	socks[nsocks].gen = next_gen++;
	socks[nsocks].timeout_ms = -1;
	socks[nsocks].nonblock = nonblock;
	nsocks++;
	unlock();
}

static int
fail(int err)
{
	WSASetLastError(err);
	return SOCKET_ERROR;
}

/* ---------------------------------------------------------------------- */

static SOCKET
new_socket(int af, int type, int proto, LPWSAPROTOCOL_INFOW info, GROUP g,
    DWORD flags, int wsa)
{
	SOCKET s;

	init_env();
	/* [DOC] "Data stream only"; [SDK]/[WSL] protocol HV_PROTOCOL_RAW. */
	if (type != SOCK_STREAM) {
		violation("socket(AF_HYPERV): type %d, expected SOCK_STREAM "
			  "(%d)",
		    type, SOCK_STREAM);
		WSASetLastError(WSAESOCKTNOSUPPORT);
		return INVALID_SOCKET;
	}
	if (proto != HV_PROTOCOL_RAW) {
		violation("socket(AF_HYPERV): protocol %d, expected "
			  "HV_PROTOCOL_RAW (%d)",
		    proto, HV_PROTOCOL_RAW);
		WSASetLastError(WSAEPROTONOSUPPORT);
		return INVALID_SOCKET;
	}
	if (info != NULL) {
		violation("WSASocketW(AF_HYPERV): a protocol info the "
			  "emulation cannot honour");
		WSASetLastError(WSAEINVAL);
		return INVALID_SOCKET;
	}
	s = wsa ? __real___imp_WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP,
		      NULL, g, flags)
		: __real___imp_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (s != INVALID_SOCKET) {
		add(s, 0);
	}
	return s;
}

static SOCKET WSAAPI
wrap_WSASocketW(int af, int type, int proto, LPWSAPROTOCOL_INFOW info, GROUP g,
    DWORD flags)
{
	if (af != AF_HYPERV) {
		return __real___imp_WSASocketW(af, type, proto, info, g, flags);
	}
	return new_socket(af, type, proto, info, g, flags, 1);
}

static SOCKET WSAAPI
wrap_socket(int af, int type, int proto)
{
	if (af != AF_HYPERV) {
		return __real___imp_socket(af, type, proto);
	}
	return new_socket(af, type, proto, NULL, 0, 0, 0);
}

/*
 * The checks on an address passed in [SDK][WINIO]: the length is exactly
 * sizeof(SOCKADDR_HV), Family AF_HYPERV, Reserved 0. The errors are what
 * Winsock gives for a short name (WSAEFAULT) and a foreign family
 * (WSAEAFNOSUPPORT); for the others [EMU] WSAEINVAL.
 */
static int
check_addr(const char *call, const struct sockaddr *sa, int len,
    SOCKADDR_HV *out)
{
	if (sa == NULL) {
		violation("%s: NULL address", call);
		return WSAEFAULT;
	}
	if (len != (int)sizeof(SOCKADDR_HV)) {
		violation("%s: address length %d, expected sizeof(SOCKADDR_HV) "
			  "= %d",
		    call, len, (int)sizeof(SOCKADDR_HV));
		return len < (int)sizeof(SOCKADDR_HV) ? WSAEFAULT : WSAEINVAL;
	}
	memcpy(out, sa, sizeof(*out));
	if (out->Family != AF_HYPERV) {
		violation("%s: Family %d, expected AF_HYPERV (34)", call,
		    out->Family);
		return WSAEAFNOSUPPORT;
	}
	if (out->Reserved != 0) {
		violation("%s: Reserved is %u, must be 0", call,
		    (unsigned)out->Reserved);
		return WSAEINVAL;
	}
	return 0;
}

static int WSAAPI
wrap_bind(SOCKET s, const struct sockaddr *sa, int len)
{
	struct sockaddr_in sin;
	SOCKADDR_HV hv;
	struct emu *e;
	int err;

	e = find_locked(s);
	if (e == NULL) {
		return __real___imp_bind(s, sa, len);
	}
	err = check_addr("bind", sa, len, &hv);
	if (err != 0) {
		unlock();
		return fail(err);
	}
	if (e->bound) {
		unlock();
		return fail(WSAEINVAL);
	}
	/* [SDK] listening on HV_GUID_PARENT outside a VM: "Not supported";
	 * which call fails and how is [EMU]. */
	if (guid_eq(&hv.VmId, &HV_GUID_PARENT) &&
	    guid_eq(&local_vmid, &host_vmid)) {
		unlock();
		return fail(WSAEADDRNOTAVAIL);
	}
	/* [WSL] a null ServiceId binds (WSL binds its connecting sockets to
	 * (wildcard, wildcard)); listen() then refuses it below. The
	 * duplicate bind is accepted here [DUP]: the second listen() fails. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (__real___imp_bind(s, (struct sockaddr *)&sin, sizeof(sin)) ==
	    SOCKET_ERROR) {
		err = WSAGetLastError();
		unlock();
		return fail(err);
	}
	e->bound = 1;
	e->local = hv;
	unlock();
	return 0;
}

static void
rdv_path(char *out, const GUID *part, const GUID *vmid, const GUID *svc)
{
	char a[37], b[37], c[37];

	guid_fmt(part, a);
	guid_fmt(vmid, b);
	guid_fmt(svc, c);
	snprintf(out, MAX_PATH, "%s\\%s.%s.%s", rdv_dir, a, b, c);
}

static int
pid_alive(DWORD pid)
{
	HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
	DWORD code = 0;
	int alive;

	if (h == NULL) {
		return GetLastError() == ERROR_ACCESS_DENIED;
	}
	alive = GetExitCodeProcess(h, &code) && code == STILL_ACTIVE;
	CloseHandle(h);
	return alive;
}

/* Whether this process listens through @path (the lock is held). */
static int
own_listener(const char *path)
{
	for (int i = 0; i < nsocks; i++) {
		if (socks[i].listening && strcmp(socks[i].file, path) == 0) {
			return 1;
		}
	}
	return 0;
}

/*
 * The port of a live listener's file, or 0 (the lock is held). Read with
 * FILE_SHARE_DELETE, so that a listener closing meanwhile can still
 * remove it. A file is stale once its process is gone, or when it names
 * this process and none of its listeners.
 */
static unsigned
rdv_read(const char *path)
{
	char buf[64];
	unsigned port = 0;
	unsigned long pid = 0;
	DWORD n = 0;
	HANDLE h;

	h = CreateFileA(path, GENERIC_READ,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_EXISTING, 0, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		return 0;
	}
	if (!ReadFile(h, buf, sizeof(buf) - 1, &n, NULL)) {
		n = 0;
	}
	CloseHandle(h);
	buf[n] = '\0';
	if (sscanf(buf, "%u %lu", &port, &pid) != 2 || port == 0 ||
	    port > 65535) {
		return 0;
	}
	if (!pid_alive((DWORD)pid) ||
	    (pid == GetCurrentProcessId() && !own_listener(path))) {
		return 0;
	}
	return port;
}

/* Removes @path, retrying while a reader has it open (Windows refuses a
 * delete then, wine does not). */
static void
rdv_remove(const char *path)
{
	for (int tries = 0; tries < 200; tries++) {
		if (DeleteFileA(path) ||
		    GetLastError() == ERROR_FILE_NOT_FOUND) {
			return;
		}
		Sleep(5);
	}
	fprintf(stderr, "hvemu: cannot remove %s (error %lu)\n", path,
	    (unsigned long)GetLastError());
}

/* 0, or WSAEADDRINUSE if a live listener has the file. */
static int
rdv_create(const char *path, unsigned port)
{
	static volatile LONG counter;
	char tmp[MAX_PATH];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s\\tmp.%lu.%ld", rdv_dir,
	    (unsigned long)GetCurrentProcessId(),
	    (long)InterlockedIncrement(&counter));
	f = fopen(tmp, "w");
	if (f == NULL) {
		fprintf(stderr, "hvemu: cannot write in %s (HVEMU_DIR)\n",
		    rdv_dir);
		abort();
	}
	fprintf(f, "%u %lu\n", port, (unsigned long)GetCurrentProcessId());
	fclose(f);
	for (int tries = 0; tries < 3; tries++) {
		if (MoveFileExA(tmp, path, 0)) {
			return 0;
		}
		if (rdv_read(path) != 0) {
			break;
		}
		/* Stale: replaced. */
		rdv_remove(path);
	}
	DeleteFileA(tmp);
	return WSAEADDRINUSE;
}

static int WSAAPI
wrap_listen(SOCKET s, int backlog)
{
	struct sockaddr_in sin;
	int len = (int)sizeof(sin), err;
	struct emu *e;
	char path[MAX_PATH];

	e = find_locked(s);
	if (e == NULL) {
		return __real___imp_listen(s, backlog);
	}
	if (!e->bound) {
		unlock();
		return fail(WSAEINVAL); /* Winsock: listen() before bind() */
	}
	if (e->listening) {
		unlock();
		return 0;
	}
	/* [LIB] no ephemeral ports. What Windows does with a listener bound
	 * to a null ServiceId is not documented: the library never makes
	 * one, so it is a violation here [EMU]. */
	if (guid_eq(&e->local.ServiceId, &HV_GUID_ZERO)) {
		unlock();
		violation("listen: socket bound to ServiceId GUID_NULL (no "
			  "ephemeral service ids on Hyper-V)");
		return fail(WSAEINVAL);
	}
	if (__real___imp_listen(s, backlog) == SOCKET_ERROR ||
	    __real___imp_getsockname(s, (struct sockaddr *)&sin, &len) ==
		SOCKET_ERROR) {
		err = WSAGetLastError();
		unlock();
		return fail(err);
	}
	rdv_path(path, &local_vmid, &e->local.VmId, &e->local.ServiceId);
	/* [DUP][LIB] the duplicate fails here, not at bind(). */
	err = rdv_create(path, ntohs(sin.sin_port));
	if (err != 0) {
		unlock();
		return fail(err);
	}
	e->listening = 1;
	strcpy(e->file, path);
	unlock();
	return 0;
}

/* The destination partition of a connect to @vmid from this one:
 * 0, or WSAEADDRNOTAVAIL, or 1 for "nobody there". */
static int
destination(const GUID *vmid, GUID *dest)
{
	if (guid_eq(vmid, &HV_GUID_LOOPBACK)) {
		*dest = local_vmid; /* [SDK] */
		return 0;
	}
	if (guid_eq(vmid, &HV_GUID_PARENT)) {
		/* [SDK]; the host has no parent: unanswered [EMU]. */
		if (guid_eq(&local_vmid, &host_vmid)) {
			return 1;
		}
		*dest = host_vmid;
		return 0;
	}
	/* Listener-side wildcards as a destination: undocumented [EMU]. */
	if (guid_eq(vmid, &HV_GUID_WILDCARD) ||
	    guid_eq(vmid, &HV_GUID_CHILDREN) ||
	    guid_eq(vmid, &HV_GUID_BROADCAST) ||
	    guid_eq(vmid, &HV_GUID_SILOHOST)) {
		return WSAEADDRNOTAVAIL;
	}
	*dest = *vmid;
	return 0;
}

/* The port of the listener a connect from here to (@dest, @svc) reaches,
 * or 0: the matching order of hvemu.h. */
static unsigned
match_listener(const GUID *dest, const GUID *svc)
{
	const GUID *cands[5];
	int n = 0, wsl = is_wsl(&local_vmid);
	int here_host = guid_eq(&local_vmid, &host_vmid);
	int dest_host = guid_eq(dest, &host_vmid);
	char path[MAX_PATH];

	cands[n++] = &local_vmid;
	if (guid_eq(dest, &local_vmid)) {
		cands[n++] = &HV_GUID_LOOPBACK; /* [SDK] */
	}
	if (here_host && !dest_host) {
		cands[n++] = &HV_GUID_PARENT; /* [SDK] */
	}
	/* [SDK] children and wildcard; [WSL] #5751: not from WSL2. */
	if (!here_host && dest_host && !wsl) {
		cands[n++] = &HV_GUID_CHILDREN;
	}
	if (!wsl) {
		cands[n++] = &HV_GUID_WILDCARD;
	}
	for (int i = 0; i < n; i++) {
		unsigned port;
		rdv_path(path, dest, cands[i], svc);
		port = rdv_read(path);
		if (port != 0) {
			return port;
		}
	}
	return 0;
}

struct pending {
	SOCKET s;
	unsigned gen;
	DWORD ms;
	HANDLE ev;
};

static void
make_refuser(void)
{
	int len = (int)sizeof(refuser_addr);

	if (refuser != INVALID_SOCKET) {
		return;
	}
	/* Bound and never listening: a connect to it is refused at once. */
	refuser = __real___imp_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	memset(&refuser_addr, 0, sizeof(refuser_addr));
	refuser_addr.sin_family = AF_INET;
	refuser_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (refuser == INVALID_SOCKET ||
	    __real___imp_bind(refuser, (struct sockaddr *)&refuser_addr, len) ==
		SOCKET_ERROR ||
	    __real___imp_getsockname(refuser, (struct sockaddr *)&refuser_addr,
		&len) == SOCKET_ERROR) {
		fprintf(stderr, "hvemu: cannot make the refusing socket\n");
		abort();
	}
}

/*
 * The timer of an unanswered non-blocking connect [HANG]: when it runs
 * out, the real socket is connected to the refusing port, which fails it
 * at once (select() reports it, as for any failed connect), and
 * SO_ERROR then says WSAETIMEDOUT.
 */
static DWORD WINAPI
pending_timer(LPVOID arg)
{
	struct pending *p = arg;
	struct emu *e;

	WaitForSingleObject(p->ev, p->ms);
	e = find_locked(p->s);
	if (e != NULL) {
		if (e->gen == p->gen && e->state == ST_PENDING) {
			e->state = ST_TIMEDOUT;
			e->pend_ev = NULL;
			(void)__real___imp_connect(p->s,
			    (struct sockaddr *)&refuser_addr,
			    sizeof(refuser_addr));
		}
		unlock();
	}
	CloseHandle(p->ev);
	free(p);
	return 0;
}

static int
wait_socket(SOCKET s, int for_write, DWORD ms)
{
	fd_set r, w, x;
	struct timeval tv;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&x);
	FD_SET(s, for_write ? &w : &r);
	FD_SET(s, &x);
	tv.tv_sec = (long)(ms / 1000);
	tv.tv_usec = (long)(ms % 1000) * 1000;
	return select(0, &r, &w, &x, &tv) == 1 && !FD_ISSET(s, &x);
}

static int WSAAPI
wrap_connect(SOCKET s, const struct sockaddr *sa, int len)
{
	struct sockaddr_in sin;
	unsigned char hdr[HVEMU_HEADER_LEN];
	SOCKADDR_HV hv;
	GUID dest = HV_GUID_ZERO, svc;
	struct emu *e;
	unsigned port;
	SOCKADDR_HV local;
	unsigned gen;
	long ms;
	int err, sinlen = (int)sizeof(sin), rc, nonblock, bound;
	size_t off = 0;

	e = find_locked(s);
	if (e == NULL) {
		return __real___imp_connect(s, sa, len);
	}
	err = check_addr("connect", sa, len, &hv);
	if (err != 0) {
		unlock();
		return fail(err);
	}
	if (e->listening) {
		unlock();
		return fail(WSAEINVAL);
	}
	switch (e->state) {
	case ST_CONNECTED:
		unlock();
		return fail(WSAEISCONN);
	case ST_PENDING:
		unlock();
		return fail(WSAEALREADY);
	case ST_TIMEDOUT:
		unlock();
		return fail(WSAEINVAL);
	default:
		break;
	}
	ms = e->timeout_ms >= 0 ? e->timeout_ms : default_timeout_ms;
	err = destination(&hv.VmId, &dest);
	if (err > 1) {
		unlock();
		return fail(err);
	}
	port = err == 0 ? match_listener(&dest, &hv.ServiceId) : 0;
	e->peer = hv;
	if (port == 0 && err == 0 && guid_eq(&dest, &local_vmid)) {
		/* [WINIO-T] within one partition nobody listening is refused
		 * at once: the refusing port gives Winsock's own sequence
		 * (blocking: the error; non-blocking: WSAEWOULDBLOCK, then
		 * the failure with SO_ERROR WSAECONNREFUSED). */
		make_refuser();
		e->state = ST_NEW;
		unlock();
		return __real___imp_connect(s, (struct sockaddr *)&refuser_addr,
		    sizeof(refuser_addr));
	}
	if (port == 0) {
		/* [HANG] unanswered: fails after the timeout. */
		if (!e->nonblock) {
			e->state = ST_TIMEDOUT;
			unlock();
			Sleep((DWORD)ms);
			return fail(WSAETIMEDOUT);
		}
		struct pending *p = malloc(sizeof(*p));
		HANDLE th;
		make_refuser();
		if (p == NULL) {
			unlock();
			return fail(WSAENOBUFS);
		}
		p->s = s;
		p->gen = e->gen;
		p->ms = (DWORD)ms;
		p->ev = CreateEventA(NULL, TRUE, FALSE, NULL);
		th = CreateThread(NULL, 0, pending_timer, p, 0, NULL);
		if (p->ev == NULL || th == NULL) {
			fprintf(stderr, "hvemu: cannot start a timer\n");
			abort();
		}
		CloseHandle(th);
		e->pend_ev = p->ev;
		e->state = ST_PENDING;
		unlock();
		return fail(WSAEWOULDBLOCK);
	}
	/* The I/O below runs unlocked: other threads' sockets go on. */
	gen = e->gen;
	nonblock = e->nonblock;
	bound = e->bound;
	local = e->local;
	e->state = ST_PENDING;
	unlock();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	/* Loopback TCP answers at once: completed here, so that the header
	 * goes before any data [EMU]. */
	err = 0;
	rc = __real___imp_connect(s, (struct sockaddr *)&sin, sizeof(sin));
	if (rc == SOCKET_ERROR) {
		err = WSAGetLastError();
		if (err == WSAEWOULDBLOCK) {
			err = wait_socket(s, 1, HEADER_WAIT_MS) ? 0
								: WSAETIMEDOUT;
		}
	}
	if (err == 0 &&
	    __real___imp_getsockname(s, (struct sockaddr *)&sin, &sinlen) ==
		SOCKET_ERROR) {
		err = WSAGetLastError();
	}
	/* The connector's service id: its bound one, else [EMU] the vsock
	 * template [DOC] with the loopback port as the "ephemeral port". */
	if (bound && !guid_eq(&local.ServiceId, &HV_GUID_ZERO)) {
		svc = local.ServiceId;
	} else {
		svc = HV_GUID_VSOCK_TEMPLATE;
		svc.Data1 = ntohs(sin.sin_port);
	}
	memcpy(hdr, HVEMU_HEADER_MAGIC, 8);
	memcpy(hdr + 8, &local_vmid, 16);
	memcpy(hdr + 24, &svc, 16);
	while (err == 0 && off < sizeof(hdr)) {
		rc = send(s, (const char *)hdr + off, (int)(sizeof(hdr) - off),
		    0);
		if (rc != SOCKET_ERROR) {
			off += (size_t)rc;
			continue;
		}
		err = WSAGetLastError();
		if (err == WSAEWOULDBLOCK &&
		    wait_socket(s, 1, HEADER_WAIT_MS)) {
			err = 0;
		}
	}
	e = find_locked(s);
	if (e == NULL) {
		return fail(WSAENOTSOCK); /* closed meanwhile */
	}
	if (e->gen != gen || err != 0) {
		e->state = ST_NEW;
		unlock();
		return fail(err != 0 ? err : WSAENOTSOCK);
	}
	memset(&e->name, 0, sizeof(e->name));
	e->name.Family = AF_HYPERV;
	/* [WINIO-T] a loopback connect's own VmId reads HV_GUID_CHILDREN;
	 * elsewhere [EMU] the bound one, else HV_GUID_WILDCARD. */
	if (guid_eq(&dest, &local_vmid)) {
		e->name.VmId = HV_GUID_CHILDREN;
	} else {
		e->name.VmId = bound ? local.VmId : HV_GUID_WILDCARD;
	}
	e->name.ServiceId = svc;
	e->state = ST_CONNECTED;
	unlock();
	/* Winsock: a non-blocking connect reports WSAEWOULDBLOCK and the
	 * socket turns writable; the caller's wait sees it at once. */
	return nonblock ? fail(WSAEWOULDBLOCK) : 0;
}

static SOCKET WSAAPI
wrap_accept(SOCKET s, struct sockaddr *sa, int *len)
{
	struct sockaddr_in sin;
	unsigned char hdr[HVEMU_HEADER_LEN];
	SOCKADDR_HV local, peer;
	GUID from, svc;
	SOCKET c;
	struct emu *e;
	int sinlen = (int)sizeof(sin), nonblock, rc;
	size_t off = 0;

	e = find_locked(s);
	if (e == NULL) {
		return __real___imp_accept(s, sa, len);
	}
	local = e->local;
	nonblock = e->nonblock;
	unlock();
	/* Winsock: a name buffer too small for the address. */
	if (sa != NULL && (len == NULL || *len < (int)sizeof(SOCKADDR_HV))) {
		WSASetLastError(WSAEFAULT);
		return INVALID_SOCKET;
	}
	c = __real___imp_accept(s, (struct sockaddr *)&sin, &sinlen);
	if (c == INVALID_SOCKET) {
		return c;
	}
	while (off < sizeof(hdr)) {
		rc = recv(c, (char *)hdr + off, (int)(sizeof(hdr) - off), 0);
		if (rc > 0) {
			off += (size_t)rc;
			continue;
		}
		if (rc == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK &&
		    wait_socket(c, 0, HEADER_WAIT_MS)) {
			continue;
		}
		break;
	}
	if (off < sizeof(hdr) || memcmp(hdr, HVEMU_HEADER_MAGIC, 8) != 0) {
		__real___imp_closesocket(c);
		violation("accept: a connection without the emulation's header "
			  "(a client not linked with hvemu?)");
		WSASetLastError(WSAECONNRESET);
		return INVALID_SOCKET;
	}
	memcpy(&from, hdr + 8, 16);
	memcpy(&svc, hdr + 24, 16);
	memset(&peer, 0, sizeof(peer));
	peer.Family = AF_HYPERV;
	peer.ServiceId = svc;
	init_env();
	if (guid_eq(&from, &local_vmid)) {
		peer.VmId = HV_GUID_LOOPBACK; /* [WINIO-T] */
	} else if (guid_eq(&from, &host_vmid)) {
		peer.VmId = HV_GUID_PARENT; /* seen from a guest [EMU] */
	} else {
		peer.VmId = from;
	}
	add(c, nonblock);
	e = find_locked(c);
	if (e != NULL) {
		e->state = ST_CONNECTED;
		e->peer = peer;
		e->name = local; /* [WINIO]; arbitrary per [WINIO-T] */
		unlock();
	}
	if (sa != NULL) {
		memcpy(sa, &peer, sizeof(peer));
		*len = (int)sizeof(peer);
	}
	return c;
}

/* [SDK] HV_PROTOCOL_RAW options: a ULONG each, [WSL] sizeof(ULONG). */
static int
set_hv_option(struct emu *e, int name, const char *val, int len)
{
	ULONG v;

	if (val == NULL || len != (int)sizeof(ULONG)) {
		violation("setsockopt(HV_PROTOCOL_RAW, %d): optlen %d, "
			  "expected sizeof(ULONG) = %d",
		    name, len, (int)sizeof(ULONG));
		return WSAEFAULT;
	}
	memcpy(&v, val, sizeof(v));
	switch (name) {
	case HVSOCKET_CONNECT_TIMEOUT:
		if (v > HVSOCKET_CONNECT_TIMEOUT_MAX) {
			violation("HVSOCKET_CONNECT_TIMEOUT %lu ms is above "
				  "HVSOCKET_CONNECT_TIMEOUT_MAX (%d)",
			    (unsigned long)v, HVSOCKET_CONNECT_TIMEOUT_MAX);
			return WSAEINVAL;
		}
		e->timeout_ms = (long)v;
		last_timeout = (long)v;
		return 0;
	case HVSOCKET_CONNECTED_SUSPEND:
		if (v > 1) {
			violation("HVSOCKET_CONNECTED_SUSPEND %lu, expected 0 "
				  "or 1",
			    (unsigned long)v);
			return WSAEINVAL;
		}
		last_suspend = (long)v;
		return 0;
	case HVSOCKET_CONTAINER_PASSTHRU:
		return 0;
	default:
		violation("setsockopt(HV_PROTOCOL_RAW, %d): no such option",
		    name);
		return WSAENOPROTOOPT;
	}
}

static int WSAAPI
wrap_setsockopt(SOCKET s, int level, int name, const char *val, int len)
{
	struct emu *e;
	int err;

	e = find_locked(s);
	if (e == NULL) {
		return __real___imp_setsockopt(s, level, name, val, len);
	}
	if (level == HV_PROTOCOL_RAW) {
		err = set_hv_option(e, name, val, len);
		unlock();
		return err != 0 ? fail(err) : 0;
	}
	unlock();
	if (level != SOL_SOCKET) {
		/* TCP's own levels do not exist on a Hyper-V socket [EMU]. */
		return fail(WSAENOPROTOOPT);
	}
	return __real___imp_setsockopt(s, level, name, val, len);
}

static int WSAAPI
wrap_getsockopt(SOCKET s, int level, int name, char *val, int *len)
{
	struct emu *e;
	int timedout, rc;

	e = find_locked(s);
	if (e == NULL) {
		return __real___imp_getsockopt(s, level, name, val, len);
	}
	if (level == HV_PROTOCOL_RAW) {
		ULONG v = name == HVSOCKET_CONNECT_TIMEOUT
		    ? (ULONG)(e->timeout_ms >= 0 ? e->timeout_ms
						 : default_timeout_ms)
		    : 0;
		unlock();
		if (name != HVSOCKET_CONNECT_TIMEOUT &&
		    name != HVSOCKET_CONNECTED_SUSPEND &&
		    name != HVSOCKET_CONTAINER_PASSTHRU) {
			return fail(WSAENOPROTOOPT);
		}
		if (val == NULL || len == NULL || *len < (int)sizeof(v)) {
			violation("getsockopt(HV_PROTOCOL_RAW, %d): optlen "
				  "below sizeof(ULONG)",
			    name);
			return fail(WSAEFAULT);
		}
		memcpy(val, &v, sizeof(v));
		*len = (int)sizeof(v);
		return 0;
	}
	timedout = e->state == ST_TIMEDOUT;
	unlock();
	if (level != SOL_SOCKET) {
		return fail(WSAENOPROTOOPT);
	}
	rc = __real___imp_getsockopt(s, level, name, val, len);
	if (rc != 0) {
		return rc;
	}
	if (name == SO_ERROR && timedout && *len >= (int)sizeof(int)) {
		int v;
		memcpy(&v, val, sizeof(v));
		if (v == WSAECONNREFUSED) {
			v = WSAETIMEDOUT; /* [HANG] */
			memcpy(val, &v, sizeof(v));
		}
	}
	if (name == SO_PROTOCOL_INFOW &&
	    *len >= (int)sizeof(WSAPROTOCOL_INFOW)) {
		WSAPROTOCOL_INFOW *pi = (WSAPROTOCOL_INFOW *)val;
		pi->iAddressFamily = AF_HYPERV;
		pi->iProtocol = HV_PROTOCOL_RAW;
		pi->iMaxSockAddr = (int)sizeof(SOCKADDR_HV);
		pi->iMinSockAddr = (int)sizeof(SOCKADDR_HV);
	}
	return 0;
}

static int
give_name(const SOCKADDR_HV *hv, struct sockaddr *sa, int *len)
{
	if (sa == NULL || len == NULL || *len < (int)sizeof(*hv)) {
		return fail(WSAEFAULT); /* Winsock: buffer too small */
	}
	memcpy(sa, hv, sizeof(*hv));
	*len = (int)sizeof(*hv);
	return 0;
}

static int WSAAPI
wrap_getsockname(SOCKET s, struct sockaddr *sa, int *len)
{
	SOCKADDR_HV hv;
	struct emu *e;

	e = find_locked(s);
	if (e == NULL) {
		return __real___imp_getsockname(s, sa, len);
	}
	if (e->state == ST_CONNECTED) {
		hv = e->name;
	} else if (e->bound) {
		hv = e->local;
	} else {
		unlock();
		return fail(WSAEINVAL); /* Winsock: not bound */
	}
	unlock();
	return give_name(&hv, sa, len);
}

static int WSAAPI
wrap_getpeername(SOCKET s, struct sockaddr *sa, int *len)
{
	SOCKADDR_HV hv;
	struct emu *e;

	e = find_locked(s);
	if (e == NULL) {
		return __real___imp_getpeername(s, sa, len);
	}
	if (e->state != ST_CONNECTED) {
		unlock();
		return fail(WSAENOTCONN);
	}
	hv = e->peer;
	unlock();
	return give_name(&hv, sa, len);
}

static int WSAAPI
wrap_closesocket(SOCKET s)
{
	struct emu *e = find_locked(s);

	if (e != NULL) {
		if (e->listening) {
			rdv_remove(e->file);
		}
		if (e->pend_ev != NULL) {
			SetEvent(e->pend_ev);
		}
		*e = socks[--nsocks];
		unlock();
	}
	return __real___imp_closesocket(s);
}

static int WSAAPI
wrap_ioctlsocket(SOCKET s, long cmd, u_long *arg)
{
	u_long on = arg != NULL ? *arg : 0;
	int rc = __real___imp_ioctlsocket(s, cmd, arg);
	struct emu *e;

	if (rc == 0 && cmd == (long)FIONBIO) {
		e = find_locked(s);
		if (e != NULL) {
			e->nonblock = on != 0;
			unlock();
		}
	}
	return rc;
}

WSASocketW_fn __wrap___imp_WSASocketW = wrap_WSASocketW;
socket_fn __wrap___imp_socket = wrap_socket;
bind_fn __wrap___imp_bind = wrap_bind;
connect_fn __wrap___imp_connect = wrap_connect;
listen_fn __wrap___imp_listen = wrap_listen;
accept_fn __wrap___imp_accept = wrap_accept;
setsockopt_fn __wrap___imp_setsockopt = wrap_setsockopt;
getsockopt_fn __wrap___imp_getsockopt = wrap_getsockopt;
getsockname_fn __wrap___imp_getsockname = wrap_getsockname;
getpeername_fn __wrap___imp_getpeername = wrap_getpeername;
closesocket_fn __wrap___imp_closesocket = wrap_closesocket;
ioctlsocket_fn __wrap___imp_ioctlsocket = wrap_ioctlsocket;
