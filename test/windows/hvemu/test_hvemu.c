/* SPDX-License-Identifier: MIT */
/*
 * The public API on the Hyper-V socket emulation (hvemu.h): hvsock: and
 * vsock: addresses listened on and connected to, bytes both ways, the
 * half-close, the peer accept() reports, the connect timeout, the quirks
 * the emulation reproduces, and its own field checks, with raw Winsock
 * calls that get a SOCKADDR_HV wrong. TAP output.
 *
 * Also its own helper for the cross-process test: "test_hvemu child
 * ADDRESS" connects to ADDRESS, sends a line, reads the reply, checks it
 * and exits 0 (the parent starts it with another HVEMU_LOCAL_VMID).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <windows.h>
#include <hvsocket.h>

#include <hvsock/hvsock.h>

#include "hvemu.h"

#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif

#define HOST_5200 "hvsock:" HVEMU_HOST_VMID_STR ":5200"

static int ntest;
static int nfail;

static void check(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ntest, name);
	if (!ok) {
		nfail++;
		printf("# ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

static const char *guest_str = "5a4d5647-0000-4000-8000-475545535401";
static const char *wsl_str = "57534c32-0000-4000-8000-57534c564d01";
static GUID guest;
static GUID wsl;

static hvs_addr_t
addr(const char *s, hvs_role_t role)
{
	hvs_addr_t a;
	int rc = hvs_addr_parse_str(&a, s, role, NULL);

	if (rc != 0) {
		printf("Bail out! cannot parse %s: %s\n", s, hvs_strerror(rc));
		exit(1);
	}
	return a;
}

static int
do_listen(const char *s, hvs_sock_t *out)
{
	hvs_addr_t a = addr(s, HVS_ROLE_LISTEN);

	return hvs_listen(out, &a, NULL);
}

static int
do_connect(const char *s, int timeout_ms, hvs_sock_t *out)
{
	hvs_addr_t a = addr(s, HVS_ROLE_CONNECT);
	hvs_sockopts_t o;

	hvs_sockopts_init(&o);
	o.timeout_ms = timeout_ms;
	return hvs_connect(out, &a, &o);
}

static int
send_all(hvs_sock_t s, const char *buf, size_t len)
{
	size_t sent;
	int rc;

	while (len > 0) {
		rc = hvs_send(s, buf, len, &sent);
		if (rc != 0) {
			return rc;
		}
		buf += sent;
		len -= sent;
	}
	return 0;
}

/* Reads until @len bytes or EOF: the count, or a negative error. */
static long
recv_some(hvs_sock_t s, char *buf, size_t len)
{
	size_t got, total = 0;
	int rc;

	while (total < len) {
		rc = hvs_recv(s, buf + total, len - total, &got);
		if (rc == HVS_EOF) {
			break;
		}
		if (rc != 0) {
			return rc;
		}
		total += got;
	}
	return (long)total;
}

static void
fmt_addr(const hvs_addr_t *a, char *buf)
{
	if (hvs_addr_format(a, buf, HVS_ADDR_STRLEN) < 0) {
		strcpy(buf, "(unformattable)");
	}
}

/* Listen on @laddr in @lpart, connect to @caddr from @cpart: bytes both
 * ways, the half-close each way, and the peer's VM id as @want_peer. */
static void
test_pair(const char *name, const GUID *lpart, const char *laddr,
    const GUID *cpart, const char *caddr, const char *want_peer)
{
	hvs_sock_t l, c, a;
	hvs_addr_t peer, want;
	char buf[64], text[HVS_ADDR_STRLEN], tname[256];
	long n;
	int rc;

	hvemu_set_local_vmid(lpart);
	rc = do_listen(laddr, &l);
	snprintf(tname, sizeof(tname), "%s: listen %s", name, laddr);
	check(rc == 0, tname, "%s", hvs_strerror(rc));
	if (rc != 0) {
		return;
	}
	hvemu_set_local_vmid(cpart);
	rc = do_connect(caddr, 60000, &c);
	snprintf(tname, sizeof(tname), "%s: connect %s", name, caddr);
	check(rc == 0, tname, "%s", hvs_strerror(rc));
	if (rc != 0) {
		hvs_close(l);
		return;
	}
	hvemu_set_local_vmid(lpart);
	rc = hvs_accept(l, &a, &peer, 0);
	snprintf(tname, sizeof(tname), "%s: accept", name);
	check(rc == 0, tname, "%s", hvs_strerror(rc));
	if (rc != 0) {
		hvs_close(c);
		hvs_close(l);
		return;
	}
	fmt_addr(&peer, text);
	want = addr(want_peer, HVS_ROLE_CONNECT);
	snprintf(tname, sizeof(tname), "%s: accept reports the peer VM", name);
	check(peer.kind == HVS_ADDR_HVSOCK &&
		hvs_guid_equal(&peer.u.hvsock.vm_id, &want.u.hvsock.vm_id),
	    tname, "peer %s, expected VM of %s", text, want_peer);

	hvs_addr_t got, target = addr(caddr, HVS_ROLE_CONNECT);
	rc = hvs_sock_peer_addr(c, &got);
	snprintf(tname, sizeof(tname),
	    "%s: the client's peer is where it "
	    "connected",
	    name);
	check(rc == 0 && got.kind == HVS_ADDR_HVSOCK &&
		(target.kind != HVS_ADDR_HVSOCK ||
		    (hvs_guid_equal(&got.u.hvsock.vm_id,
			 &target.u.hvsock.vm_id) &&
			hvs_guid_equal(&got.u.hvsock.service_id,
			    &target.u.hvsock.service_id))),
	    tname, "%s", hvs_strerror(rc));
	hvs_addr_t lwant = addr(laddr, HVS_ROLE_LISTEN);
	rc = hvs_sock_local_addr(a, &got);
	snprintf(tname, sizeof(tname),
	    "%s: the accepted socket's own "
	    "address is the listener's",
	    name);
	check(rc == 0 && got.kind == HVS_ADDR_HVSOCK &&
		(lwant.kind != HVS_ADDR_HVSOCK ||
		    (hvs_guid_equal(&got.u.hvsock.vm_id,
			 &lwant.u.hvsock.vm_id) &&
			hvs_guid_equal(&got.u.hvsock.service_id,
			    &lwant.u.hvsock.service_id))),
	    tname, "%s", hvs_strerror(rc));

	rc = send_all(c, "ping", 4);
	n = rc == 0 ? recv_some(a, buf, 4) : rc;
	snprintf(tname, sizeof(tname), "%s: bytes client to server", name);
	check(n == 4 && memcmp(buf, "ping", 4) == 0, tname, "got %ld", n);
	rc = send_all(a, "pong!", 5);
	n = rc == 0 ? recv_some(c, buf, 5) : rc;
	snprintf(tname, sizeof(tname), "%s: bytes server to client", name);
	check(n == 5 && memcmp(buf, "pong!", 5) == 0, tname, "got %ld", n);

	rc = hvs_shutdown(c, HVS_SHUT_WR);
	n = rc == 0 ? recv_some(a, buf, sizeof(buf)) : rc;
	snprintf(tname, sizeof(tname),
	    "%s: half-close reaches the server "
	    "as EOF",
	    name);
	check(n == 0, tname, "shutdown %d, read %ld", rc, n);
	rc = send_all(a, "after", 5);
	hvs_shutdown(a, HVS_SHUT_WR);
	n = rc == 0 ? recv_some(c, buf, sizeof(buf)) : rc;
	snprintf(tname, sizeof(tname),
	    "%s: the server still sends after "
	    "the client's half-close, then EOF",
	    name);
	check(n == 5 && memcmp(buf, "after", 5) == 0, tname, "got %ld", n);
	hvs_close(a);
	hvs_close(c);
	hvs_close(l);
}

/* A listener on @laddr that a connect from @cpart to @caddr does not
 * reach: refused within the partition, unanswered across (@want). */
static void
test_no_match(const char *name, const GUID *lpart, const char *laddr,
    const GUID *cpart, const char *caddr, int want)
{
	hvs_sock_t l, c;
	int rc;
	char tname[256];

	hvemu_set_local_vmid(lpart);
	rc = do_listen(laddr, &l);
	check(rc == 0, name, "listen %s: %s", laddr, hvs_strerror(rc));
	if (rc != 0) {
		return;
	}
	hvemu_set_local_vmid(cpart);
	rc = do_connect(caddr, 300, &c);
	snprintf(tname, sizeof(tname), "%s: the connect fails with %s", name,
	    hvs_err_name(want));
	check(rc == want, tname, "%s", hvs_strerror(rc));
	if (rc == 0) {
		hvs_close(c);
	}
	hvs_close(l);
}

static void
test_duplicate(void)
{
	hvs_sock_t l1, l2;
	SOCKADDR_HV hv;
	SOCKET a, b;
	int rc, ra, rb, err;

	hvemu_set_local_vmid(hvemu_host_vmid());
	rc = do_listen("hvsock:wildcard:5100", &l1);
	check(rc == 0, "duplicate: the first listen", "%s", hvs_strerror(rc));
	rc = do_listen("hvsock:wildcard:5100", &l2);
	check(rc == HVS_EADDRINUSE,
	    "duplicate: hvs_listen() of the same "
	    "address fails with EADDRINUSE",
	    "%s", hvs_strerror(rc));
	if (rc == 0) {
		hvs_close(l2);
	}
	hvs_close(l1);

	/* Raw: both binds succeed, the second listen() fails. */
	memset(&hv, 0, sizeof(hv));
	hv.Family = AF_HYPERV;
	hv.VmId = HV_GUID_WILDCARD;
	hv.ServiceId = HV_GUID_VSOCK_TEMPLATE;
	hv.ServiceId.Data1 = 5101;
	a = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
	b = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
	ra = bind(a, (struct sockaddr *)&hv, sizeof(hv));
	rb = bind(b, (struct sockaddr *)&hv, sizeof(hv));
	check(ra == 0 && rb == 0, "duplicate: a second bind() succeeds",
	    "%d %d (%d)", ra, rb, WSAGetLastError());
	ra = listen(a, 4);
	rb = listen(b, 4);
	err = WSAGetLastError();
	check(ra == 0 && rb == SOCKET_ERROR && err == WSAEADDRINUSE,
	    "duplicate: the second listen() fails with WSAEADDRINUSE",
	    "%d %d (%d)", ra, rb, err);
	closesocket(a);
	closesocket(b);
	/* Closed: the address is free again. */
	rc = do_listen("hvsock:wildcard:5101", &l1);
	check(rc == 0, "duplicate: free again once the listener is closed",
	    "%s", hvs_strerror(rc));
	if (rc == 0) {
		hvs_close(l1);
	}
}

static void
test_timeout(void)
{
	hvs_sock_t l, c;
	int rc;

	hvemu_set_local_vmid(&guest);
	rc = do_connect("hvsock:parent:5200", 400, &c);
	check(rc == HVS_ETIMEDOUT,
	    "timeout: a connect to another partition "
	    "nobody answers fails with ETIMEDOUT",
	    "%s", hvs_strerror(rc));
	check(hvemu_last_connect_timeout() == 400,
	    "timeout: the option "
	    "carries the caller's timeout",
	    "HVSOCKET_CONNECT_TIMEOUT %ld", hvemu_last_connect_timeout());
	check(hvemu_last_connected_suspend() == 1,
	    "timeout: "
	    "HVSOCKET_CONNECTED_SUSPEND is set to 1",
	    "%ld", hvemu_last_connected_suspend());

	hvemu_set_local_vmid(hvemu_host_vmid());
	rc = do_connect("hvsock:loopback:5200", 400, &c);
	check(rc == HVS_ECONNREFUSED,
	    "timeout: within one partition nobody "
	    "listening is ECONNREFUSED",
	    "%s", hvs_strerror(rc));
	rc = do_connect(HOST_5200, 400, &c);
	check(rc == HVS_ECONNREFUSED,
	    "timeout: so is a connect to the own "
	    "VM id",
	    "%s", hvs_strerror(rc));

	rc = do_listen("hvsock:loopback:5201", &l);
	check(rc == 0, "timeout: listen for the capped timeout", "%s",
	    hvs_strerror(rc));
	rc = do_connect("hvsock:loopback:5201", 400000, &c);
	check(rc == 0 &&
		hvemu_last_connect_timeout() == HVSOCKET_CONNECT_TIMEOUT_MAX,
	    "timeout: a longer timeout is capped at "
	    "HVSOCKET_CONNECT_TIMEOUT_MAX",
	    "%s, option %ld", hvs_strerror(rc), hvemu_last_connect_timeout());
	if (rc == 0) {
		hvs_close(c);
	}
	hvs_close(l);
}

static void
test_ephemeral(void)
{
	hvs_addr_t a;
	hvs_sock_t l;
	SOCKADDR_HV hv;
	SOCKET s;
	int rc, err;

	a = addr("vsock:any:any", HVS_ROLE_LISTEN);
	rc = hvs_listen(&l, &a, NULL);
	check(rc == HVS_EADDR_PORT_RANGE,
	    "ephemeral: hvs_listen() on port "
	    "any is refused",
	    "%s", hvs_strerror(rc));
	if (rc == 0) {
		hvs_close(l);
	}

	/* A null ServiceId binds (as WSL does before a connect) and the
	 * emulation refuses to listen on it. */
	hvemu_set_abort(0);
	memset(&hv, 0, sizeof(hv));
	hv.Family = AF_HYPERV;
	s = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
	rc = bind(s, (struct sockaddr *)&hv, sizeof(hv));
	check(rc == 0, "ephemeral: bind to (wildcard, GUID_NULL) succeeds",
	    "%d (%d)", rc, WSAGetLastError());
	int before = hvemu_violations();
	rc = listen(s, 1);
	err = WSAGetLastError();
	check(rc == SOCKET_ERROR && err == WSAEINVAL &&
		hvemu_violations() == before + 1,
	    "ephemeral: listen() on a null ServiceId is a violation", "%d (%d)",
	    rc, err);
	closesocket(s);
	hvemu_set_abort(1);
}

/* Leftovers of a listener that is gone must not block its address. */
static void
test_stale(void)
{
	char dir[MAX_PATH], path[MAX_PATH];
	const char *svc[2] = {"00001770-facb-11e6-bd58-64006a7986d3",
	    "00001771-facb-11e6-bd58-64006a7986d3"};
	unsigned long pids[2] = {0x7ffffff0UL,
	    (unsigned long)GetCurrentProcessId()};
	const char *why[2] = {"a dead process", "this process, not listening"};
	hvs_sock_t l, c;
	DWORD n;
	int rc;

	hvemu_set_local_vmid(hvemu_host_vmid());
	/* The same bound as hvemu.c: room for "\\VMID.VMID.SERVICE". */
	n = GetEnvironmentVariableA("HVEMU_DIR", dir, sizeof(dir));
	if (n == 0 || n >= sizeof(dir) - 120) {
		check(0, "stale: HVEMU_DIR is set", "%lu", (unsigned long)n);
		return;
	}
	for (int i = 0; i < 2; i++) {
		char tname[128], a[128];
		FILE *f;
		snprintf(path, sizeof(path), "%s\\%s.%s.%s", dir,
		    HVEMU_HOST_VMID_STR, "00000000-0000-0000-0000-000000000000",
		    svc[i]);
		f = fopen(path, "w");
		if (f == NULL) {
			check(0, "stale: a leftover file is written", "%s",
			    path);
			return;
		}
		fprintf(f, "9 %lu\n", pids[i]);
		fclose(f);
		snprintf(a, sizeof(a), "hvsock:loopback:%s", svc[i]);
		rc = do_connect(a, 300, &c);
		snprintf(tname, sizeof(tname),
		    "stale: a leftover of %s is no listener (ECONNREFUSED)",
		    why[i]);
		check(rc == HVS_ECONNREFUSED, tname, "%s", hvs_strerror(rc));
		if (rc == 0) {
			hvs_close(c);
		}
		snprintf(a, sizeof(a), "hvsock:wildcard:%s", svc[i]);
		rc = do_listen(a, &l);
		snprintf(tname, sizeof(tname),
		    "stale: a leftover of %s does not block a listen", why[i]);
		check(rc == 0, tname, "%s", hvs_strerror(rc));
		if (rc == 0) {
			hvs_close(l);
		}
		check(GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES,
		    "stale: the closed listener's file is gone", "%s", path);
	}

	/* Listening on parent is for guests only. */
	rc = do_listen("hvsock:parent:5601", &l);
	check(rc == HVS_EADDRNOTAVAIL,
	    "stale: the host cannot listen on "
	    "parent (EADDRNOTAVAIL)",
	    "%s", hvs_strerror(rc));
	if (rc == 0) {
		hvs_close(l);
	}
}

/* Non-blocking sockets, the kind of a socket, buffer sizes. */
static void
test_misc(void)
{
	hvs_addr_t a = addr("hvsock:wildcard:5500", HVS_ROLE_LISTEN);
	hvs_addr_kind_t kind = HVS_ADDR_NONE;
	hvs_sockopts_t o;
	hvs_sock_t l, c, s;
	int rc, snd = 0;

	hvemu_set_local_vmid(hvemu_host_vmid());
	hvs_sockopts_init(&o);
	o.flags = HVS_SOCK_NONBLOCK;
	o.sndbuf = 128 * 1024;
	rc = hvs_listen(&l, &a, &o);
	check(rc == 0, "misc: a non-blocking listener with SO_SNDBUF", "%s",
	    hvs_strerror(rc));
	if (rc != 0) {
		return;
	}
	rc = hvs_accept(l, &s, NULL, 0);
	check(rc == HVS_EAGAIN, "misc: accept with nothing pending says EAGAIN",
	    "%s", hvs_strerror(rc));
	rc = hvs_sock_kind(l, &kind);
	check(rc == 0 && kind == HVS_ADDR_HVSOCK,
	    "misc: the listener's kind is hvsock", "%s, kind %d",
	    hvs_strerror(rc), (int)kind);
	a = addr("hvsock:loopback:5500", HVS_ROLE_CONNECT);
	rc = hvs_connect(&c, &a, &o);
	check(rc == 0, "misc: a non-blocking connect with SO_SNDBUF", "%s",
	    hvs_strerror(rc));
	if (rc == 0) {
		hvs_addr_t own;
		rc = hvs_sock_local_addr(c, &own);
		check(rc == 0 && own.kind == HVS_ADDR_HVSOCK &&
			hvs_guid_equal(&own.u.hvsock.vm_id,
			    hvs_vmid_get(HVS_VMID_CHILDREN)),
		    "misc: a loopback client's own VM id reads children", "%s",
		    hvs_strerror(rc));
		rc = hvs_sock_bufsizes(c, &snd, NULL);
		check(rc == 0 && snd > 0, "misc: SO_SNDBUF reads back",
		    "%s, %d", hvs_strerror(rc), snd);
		rc = hvs_accept(l, &s, NULL, 0);
		if (rc == HVS_EAGAIN) {
			/* The connection may not be queued yet: wait once. */
			struct timeval tv = {30, 0};
			fd_set r;
			FD_ZERO(&r);
			FD_SET((SOCKET)l, &r);
			select(0, &r, NULL, NULL, &tv);
			rc = hvs_accept(l, &s, NULL, 0);
		}
		check(rc == 0, "misc: the non-blocking listener accepts it",
		    "%s", hvs_strerror(rc));
		if (rc == 0) {
			hvs_close(s);
		}
		hvs_close(c);
	}
	hvs_close(l);
}

/* One raw call the emulation must catch: @rc is SOCKET_ERROR with @want
 * and one more violation. */
static void
expect_violation(const char *name, int before, int rc, int want)
{
	int err = WSAGetLastError();

	check(rc == SOCKET_ERROR && err == want &&
		hvemu_violations() == before + 1,
	    name, "rc %d, error %d (expected %d), violations %d -> %d: %s", rc,
	    err, want, before, hvemu_violations(), hvemu_last_violation());
}

static void
test_field_checks(void)
{
	SOCKADDR_HV hv;
	SOCKET s;
	ULONG v;
	int before;

	hvemu_set_abort(0);
	hvemu_set_local_vmid(hvemu_host_vmid());
	memset(&hv, 0, sizeof(hv));
	hv.Family = AF_HYPERV;
	hv.VmId = HV_GUID_WILDCARD;
	hv.ServiceId = HV_GUID_VSOCK_TEMPLATE;
	hv.ServiceId.Data1 = 5300;

	before = hvemu_violations();
	s = socket(AF_HYPERV, SOCK_DGRAM, HV_PROTOCOL_RAW);
	expect_violation("checks: SOCK_DGRAM", before,
	    s == INVALID_SOCKET ? SOCKET_ERROR : 0, WSAESOCKTNOSUPPORT);
	before = hvemu_violations();
	s = socket(AF_HYPERV, SOCK_STREAM, 0);
	expect_violation("checks: protocol 0", before,
	    s == INVALID_SOCKET ? SOCKET_ERROR : 0, WSAEPROTONOSUPPORT);

	s = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
	before = hvemu_violations();
	expect_violation("checks: bind with namelen 32", before,
	    bind(s, (struct sockaddr *)&hv, 32), WSAEFAULT);
	hv.Family = AF_INET;
	before = hvemu_violations();
	expect_violation("checks: bind with Family AF_INET", before,
	    bind(s, (struct sockaddr *)&hv, sizeof(hv)), WSAEAFNOSUPPORT);
	hv.Family = AF_HYPERV;
	hv.Reserved = 1;
	before = hvemu_violations();
	expect_violation("checks: bind with Reserved 1", before,
	    bind(s, (struct sockaddr *)&hv, sizeof(hv)), WSAEINVAL);
	hv.Reserved = 0;
	before = hvemu_violations();
	expect_violation("checks: connect with namelen 40", before,
	    connect(s, (struct sockaddr *)&hv, 40), WSAEINVAL);

	v = HVSOCKET_CONNECT_TIMEOUT_MAX + 1;
	before = hvemu_violations();
	expect_violation("checks: HVSOCKET_CONNECT_TIMEOUT above the maximum",
	    before,
	    setsockopt(s, HV_PROTOCOL_RAW, HVSOCKET_CONNECT_TIMEOUT,
		(const char *)&v, sizeof(v)),
	    WSAEINVAL);
	v = 1000;
	before = hvemu_violations();
	expect_violation("checks: HVSOCKET_CONNECT_TIMEOUT with optlen 2",
	    before,
	    setsockopt(s, HV_PROTOCOL_RAW, HVSOCKET_CONNECT_TIMEOUT,
		(const char *)&v, 2),
	    WSAEFAULT);
	v = 2;
	before = hvemu_violations();
	expect_violation("checks: HVSOCKET_CONNECTED_SUSPEND 2", before,
	    setsockopt(s, HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND,
		(const char *)&v, sizeof(v)),
	    WSAEINVAL);
	v = 1;
	before = hvemu_violations();
	check(setsockopt(s, HV_PROTOCOL_RAW, HVSOCKET_CONNECTED_SUSPEND,
		  (const char *)&v, sizeof(v)) == 0 &&
		hvemu_violations() == before,
	    "checks: HVSOCKET_CONNECTED_SUSPEND 1 is accepted", "%d",
	    WSAGetLastError());
	before = hvemu_violations();
	check(bind(s, (struct sockaddr *)&hv, sizeof(hv)) == 0 &&
		hvemu_violations() == before,
	    "checks: a right SOCKADDR_HV binds", "%d", WSAGetLastError());
	closesocket(s);

	/* A connect to a listener-side wildcard names no partition. */
	s = socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW);
	hv.VmId = HV_GUID_CHILDREN;
	check(connect(s, (struct sockaddr *)&hv, sizeof(hv)) == SOCKET_ERROR &&
		WSAGetLastError() == WSAEADDRNOTAVAIL,
	    "checks: a connect to HV_GUID_CHILDREN is WSAEADDRNOTAVAIL", "%d",
	    WSAGetLastError());
	closesocket(s);
	hvemu_set_abort(1);
}

/* The peer of the cross-process test. */
static int
child_main(const char *where)
{
	hvs_sock_t c;
	char buf[64];
	long n;
	int rc;

	rc = do_connect(where, 60000, &c);
	if (rc != 0) {
		fprintf(stderr, "child: connect %s: %s\n", where,
		    hvs_strerror(rc));
		return 1;
	}
	rc = send_all(c, "hello from the guest\n", 21);
	hvs_shutdown(c, HVS_SHUT_WR);
	n = rc == 0 ? recv_some(c, buf, sizeof(buf)) : rc;
	hvs_close(c);
	if (n != 21 || memcmp(buf, "HELLO FROM THE GUEST\n", 21) != 0) {
		fprintf(stderr, "child: reply %ld bytes\n", n);
		return 1;
	}
	return 0;
}

static void
test_cross_process(const char *self)
{
	STARTUPINFOA si;
	PROCESS_INFORMATION pi;
	hvs_sock_t l, a;
	hvs_addr_t peer;
	char cmd[1024], buf[64];
	DWORD code = 99;
	long n;
	int rc;

	hvemu_set_local_vmid(hvemu_host_vmid());
	rc = do_listen("hvsock:wildcard:5400", &l);
	check(rc == 0, "cross-process: listen hvsock:wildcard:5400", "%s",
	    hvs_strerror(rc));
	if (rc != 0) {
		return;
	}
	SetEnvironmentVariableA("HVEMU_LOCAL_VMID", guest_str);
	snprintf(cmd, sizeof(cmd), "\"%s\" child hvsock:parent:5400", self);
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	rc = CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si,
	    &pi);
	SetEnvironmentVariableA("HVEMU_LOCAL_VMID", NULL);
	check(rc != 0, "cross-process: the guest process starts", "%lu",
	    (unsigned long)GetLastError());
	if (rc == 0) {
		hvs_close(l);
		return;
	}
	rc = hvs_accept(l, &a, &peer, 0);
	check(rc == 0 && peer.kind == HVS_ADDR_HVSOCK, "cross-process: accept",
	    "%s", hvs_strerror(rc));
	if (rc == 0) {
		hvs_guid_t g;
		hvs_guid_parse(&g, guest_str, 36);
		check(hvs_guid_equal(&peer.u.hvsock.vm_id, &g),
		    "cross-process: the peer is the guest's VM id", "%s",
		    "other VM id");
		n = recv_some(a, buf, sizeof(buf));
		for (long i = 0; i < n; i++) {
			if (buf[i] >= 'a' && buf[i] <= 'z') {
				buf[i] = (char)(buf[i] - 'a' + 'A');
			}
		}
		rc = n > 0 ? send_all(a, buf, (size_t)n) : (int)n;
		check(n == 21 && rc == 0,
		    "cross-process: the guest's line arrives", "%ld", n);
		hvs_close(a);
	}
	WaitForSingleObject(pi.hProcess, 60000);
	GetExitCodeProcess(pi.hProcess, &code);
	CloseHandle(pi.hProcess);
	CloseHandle(pi.hThread);
	check(code == 0, "cross-process: the guest got the reply and exits 0",
	    "exit %lu", (unsigned long)code);
	hvs_close(l);
}

int
main(int argc, char **argv)
{
	const GUID *host;
	char hostaddr[128], guestaddr[128], wsladdr[128];

	if (hvemu_guid_parse(guest_str, &guest) != 0 ||
	    hvemu_guid_parse(wsl_str, &wsl) != 0) {
		return 2;
	}
	if (argc == 3 && strcmp(argv[1], "child") == 0) {
		return child_main(argv[2]);
	}
	if (argc == 2 && strcmp(argv[1], "cross") == 0) {
		test_cross_process(argv[0]);
		check(hvemu_violations() == 0, "cross-process: no violation",
		    "%d violations, last: %s", hvemu_violations(),
		    hvemu_last_violation());
		printf("1..%d\n", ntest);
		return nfail != 0;
	}
	host = hvemu_host_vmid();
	hvemu_add_wsl_vmid(&wsl);
	snprintf(hostaddr, sizeof(hostaddr), "hvsock:%s:5000",
	    HVEMU_HOST_VMID_STR);
	snprintf(guestaddr, sizeof(guestaddr), "hvsock:%s:5001", guest_str);
	snprintf(wsladdr, sizeof(wsladdr), "hvsock:%s:5003", wsl_str);

	/* A guest reaches the host's wildcard listener through parent. */
	test_pair("guest to host wildcard", host, "hvsock:wildcard:5000",
	    &guest, "hvsock:parent:5000", guestaddr);
	/* ... and by the host's own VM id; the host listens by service GUID. */
	test_pair("guest to host by VM id", host,
	    "hvsock:wildcard:00001388-facb-11e6-bd58-64006a7986d3", &guest,
	    hostaddr, guestaddr);
	/* A listener in the guest bound to parent hears the host, which it
	 * sees as the parent. */
	test_pair("host to guest parent listener", &guest, "hvsock:parent:5001",
	    host, guestaddr, "hvsock:parent:1");
	/* Children: the guest yes; the host itself no. */
	test_pair("guest to host children listener", host,
	    "hvsock:children:5002", &guest, "hvsock:parent:5002", guestaddr);
	test_no_match("host to its own children listener", host,
	    "hvsock:children:5002", host, "hvsock:loopback:5002",
	    HVS_ECONNREFUSED);
	/* Loopback within one partition. */
	test_pair("loopback", host, "hvsock:wildcard:5005", host,
	    "hvsock:loopback:5005", "hvsock:loopback:1");
	/* vsock: addresses map to the template service GUID. */
	test_pair("vsock host listener", host, "vsock:5006", &guest,
	    "vsock:host:5006", guestaddr);
	test_pair("vsock to hvsock", host, "vsock:any:5007", &guest,
	    "hvsock:parent:0000138f-facb-11e6-bd58-64006a7986d3", guestaddr);
	/* WSL2: the wildcard and children never match; the exact id does. */
	test_no_match("WSL to a wildcard listener", host,
	    "hvsock:wildcard:5003", &wsl, "hvsock:parent:5003", HVS_ETIMEDOUT);
	test_no_match("WSL to a children listener", host,
	    "hvsock:children:5003", &wsl, "hvsock:parent:5003", HVS_ETIMEDOUT);
	test_pair("WSL to its exact listener", host, wsladdr, &wsl,
	    "hvsock:parent:5003", wsladdr);

	test_duplicate();
	test_timeout();
	test_ephemeral();
	test_misc();
	test_stale();
	test_field_checks();

	check(hvemu_violations() == 9 + 1,
	    "no violation but the deliberate "
	    "ones",
	    "%d violations, last: %s", hvemu_violations(),
	    hvemu_last_violation());
	printf("1..%d\n", ntest);
	return nfail != 0;
}
