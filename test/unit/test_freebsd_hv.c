/* SPDX-License-Identifier: MIT */
/*
 * The FreeBSD backend (freebsd/hv.c) on any POSIX host: its address logic
 * is pure, so this program compiles the file itself, with the few calls
 * of the system-call layer it makes stubbed here, and the core's address
 * code (sockaddr.c) on top, with the unix seam answering as FreeBSD does.
 *
 * struct sockaddr_hvs is checked byte by byte, as the FreeBSD kernel
 * reads it: sa_len (byte 0) must be 20, sa_family (byte 1) AF_HYPERV
 * (43), the port at byte 4 in host order, the rest zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/* ---- the system-call layer, stubbed ----------------------------------- */

static int socket_err; /* what hvs__os_socket() fails with, 0: works */
static int socket_family; /* the family it was last asked for */
static int sockets_open;

int
hvs__os_init(void)
{
	return 0;
}

int
hvs__os_socket(int family, int type, int protocol, int nonblock,
    hvs_sock_t *out)
{
	(void)type;
	(void)protocol;
	(void)nonblock;
	socket_family = family;
	if (socket_err != 0) {
		return socket_err;
	}
	sockets_open++;
	*out = 100;
	return 0;
}

int
hvs__os_close(hvs_sock_t s)
{
	(void)s;
	sockets_open--;
	return 0;
}

/* FreeBSD has no abstract unix names (posix/os.c says so there). */
int
hvs__os_unix_abstract(void)
{
	return HVS_EUNIX_ABSTRACT;
}

#include "freebsd/hv.c"

/* ---- helpers ---------------------------------------------------------- */

static hvs_addr_t
parse(const char *s, hvs_role_t role)
{
	hvs_addr_t a;

	if (hvs_addr_parse_str(&a, s, role, NULL) != 0) {
		fail_msg("cannot parse %s", s);
	}
	return a;
}

static int
to_sa(const char *s, hvs_role_t role, hvs__sockaddr_t *sa)
{
	hvs_addr_t a = parse(s, role);

	memset(sa, 0xAA, sizeof(*sa));
	return hvs__hv_to_sockaddr(&a, role, sa);
}

/* The bytes the kernel sees for port @port. */
static void
check_bytes(const hvs__sockaddr_t *sa, uint32_t port)
{
	const unsigned char *b = (const unsigned char *)&sa->ss;
	uint32_t got;

	assert_int_equal(sa->len, 20);
	assert_int_equal(b[0], 20); /* sa_len */
	assert_int_equal(b[1], 43); /* sa_family: AF_HYPERV */
	assert_int_equal(b[2], 0);
	assert_int_equal(b[3], 0);
	memcpy(&got, b + 4, sizeof(got));
	assert_int_equal(got, port);
	for (size_t i = 8; i < 20; i++) {
		assert_int_equal(b[i], 0);
	}
}

/* A sockaddr_hvs of @len bytes as the driver returns it. */
static hvs__socklen_t
driver_sa(unsigned char *buf, size_t size, uint32_t port, int family)
{
	memset(buf, 0, size);
	buf[0] = 20;
	buf[1] = (unsigned char)family;
	memcpy(buf + 4, &port, sizeof(port));
	return 20;
}

/* ---- tests ------------------------------------------------------------ */

static void
test_family(void **state)
{
	(void)state;
	assert_int_equal(hvs__hv_family(), 43);
	assert_int_equal(hvs__hv_protocol(), 1);
	assert_int_equal(sizeof(struct hvs__sockaddr_hvs), 20);
	assert_int_equal(offsetof(struct hvs__sockaddr_hvs, sa_len), 0);
	assert_int_equal(offsetof(struct hvs__sockaddr_hvs, sa_family), 1);
	assert_int_equal(offsetof(struct hvs__sockaddr_hvs, hvs_port), 4);
}

static void
test_to_sockaddr(void **state)
{
	hvs__sockaddr_t sa;

	(void)state;
	/* Connect: the host only, by CID or VM id. */
	assert_int_equal(to_sa("vsock:2:5000", HVS_ROLE_CONNECT, &sa), 0);
	check_bytes(&sa, 5000);
	assert_int_equal(to_sa("vsock:5000", HVS_ROLE_CONNECT, &sa), 0);
	check_bytes(&sa, 5000);
	assert_int_equal(to_sa("hvsock:parent:22", HVS_ROLE_CONNECT, &sa), 0);
	check_bytes(&sa, 22);
	assert_int_equal(to_sa("hvsock:00001388-facb-11e6-bd58-64006a7986d3",
			     HVS_ROLE_CONNECT, &sa),
	    0);
	check_bytes(&sa, 5000);
	assert_int_equal(to_sa("vsock:2:2147483647", HVS_ROLE_CONNECT, &sa), 0);
	check_bytes(&sa, 0x7FFFFFFFu);

	/* Listen: CID any, VM id wildcard or parent. */
	assert_int_equal(to_sa("vsock:5000", HVS_ROLE_LISTEN, &sa), 0);
	check_bytes(&sa, 5000);
	assert_int_equal(to_sa("vsock:any:0", HVS_ROLE_LISTEN, &sa), 0);
	check_bytes(&sa, 0);
	assert_int_equal(to_sa("hvsock:wildcard:80", HVS_ROLE_LISTEN, &sa), 0);
	check_bytes(&sa, 80);
	assert_int_equal(to_sa("hvsock:parent:80", HVS_ROLE_LISTEN, &sa), 0);
	check_bytes(&sa, 80);
}

static void
test_to_sockaddr_refused(void **state)
{
	static const struct {
		const char *addr;
		hvs_role_t role;
		int err;
	} bad[] = {
	    /* Only the host is reachable: not loopback, not other VMs,
	     * not "any". */
	    {"vsock:3:5000", HVS_ROLE_CONNECT, HVS_EHV_CID},
	    {"vsock:1:5000", HVS_ROLE_CONNECT, HVS_EHV_CID},
	    {"vsock:0:5000", HVS_ROLE_CONNECT, HVS_EHV_CID},
	    {"vsock:any:5000", HVS_ROLE_CONNECT, HVS_EHV_CID},
	    /* A guest has no CID to bind. */
	    {"vsock:3:5000", HVS_ROLE_LISTEN, HVS_EADDRNOTAVAIL},
	    {"vsock:2:5000", HVS_ROLE_LISTEN, HVS_EADDRNOTAVAIL},
	    /* VM ids: the wildcard is no peer; wsl and the others are
	     * Windows host names. */
	    {"hvsock:wildcard:80", HVS_ROLE_CONNECT, HVS_EVMID_UNSUPPORTED},
	    {"hvsock:wsl:80", HVS_ROLE_CONNECT, HVS_EVMID_UNSUPPORTED},
	    {"hvsock:wsl:80", HVS_ROLE_LISTEN, HVS_EVMID_UNSUPPORTED},
	    {"hvsock:children:80", HVS_ROLE_LISTEN, HVS_EVMID_UNSUPPORTED},
	    {"hvsock:loopback:80", HVS_ROLE_CONNECT, HVS_EVMID_UNSUPPORTED},
	    {"hvsock:12345678-1234-1234-1234-123456789abc:80", HVS_ROLE_CONNECT,
		HVS_EVMID_UNSUPPORTED},
	    /* No ephemeral bind. */
	    {"vsock:any:any", HVS_ROLE_LISTEN, HVS_EADDR_PORT_RANGE},
	    {"vsock:2:any", HVS_ROLE_CONNECT, HVS_EADDR_PORT_RANGE},
	    /* Only template service GUIDs, and ports they can carry. */
	    {"hvsock:parent:12345678-1234-1234-1234-123456789abc",
		HVS_ROLE_CONNECT, HVS_ESERVICE_NOT_TEMPLATE},
	    {"hvsock:wildcard:12345678-1234-1234-1234-123456789abc",
		HVS_ROLE_LISTEN, HVS_ESERVICE_NOT_TEMPLATE},
	    {"hvsock:parent:80000000-facb-11e6-bd58-64006a7986d3",
		HVS_ROLE_CONNECT, HVS_EADDR_PORT_RANGE},
	    {"vsock:2:2147483648", HVS_ROLE_CONNECT, HVS_EADDR_PORT_RANGE},
	    {"vsock:any:4294967294", HVS_ROLE_LISTEN, HVS_EADDR_PORT_RANGE},
	};
	hvs__sockaddr_t sa;
	hvs_addr_t a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = to_sa(bad[i].addr, bad[i].role, &sa);
		if (r != bad[i].err) {
			fail_msg("%s (%s): %s, expected %s", bad[i].addr,
			    bad[i].role == HVS_ROLE_LISTEN ? "listen"
							   : "connect",
			    hvs_err_name(r), hvs_err_name(bad[i].err));
		}
		/* The same answer before anything is opened. */
		a = parse(bad[i].addr, bad[i].role);
		assert_int_equal(hvs_addr_check(&a, bad[i].role), bad[i].err);
	}
	/* Not the backend's kind of address. */
	a = parse("tcp:1.2.3.4:80", HVS_ROLE_CONNECT);
	assert_int_equal(hvs__hv_to_sockaddr(&a, HVS_ROLE_CONNECT, &sa),
	    HVS_EADDR_KIND);
}

static void
test_from_sockaddr(void **state)
{
	unsigned char buf[sizeof(struct sockaddr_storage)];
	const struct sockaddr *sa = (const struct sockaddr *)buf;
	hvs_guid_t g;
	hvs_addr_t a;
	char s[HVS_ADDR_STRLEN];
	uint32_t port;

	(void)state;
	/* A listener's own address: the wildcard, the port's GUID. */
	assert_int_equal(hvs__hv_from_sockaddr(sa,
			     driver_sa(buf, sizeof(buf), 5000, 43), &a),
	    0);
	assert_int_equal(a.kind, HVS_ADDR_HVSOCK);
	assert_true(
	    hvs_guid_equal(&a.u.hvsock.vm_id, hvs_vmid_get(HVS_VMID_WILDCARD)));
	assert_int_equal(hvs_addr_service_port(&a, &port), 0);
	assert_int_equal(port, 5000);
	assert_int_equal(hvs_addr_port_unknown(&a), 0);
	assert_int_equal(hvs_addr_format(&a, s, sizeof(s)) > 0, 1);
	assert_string_equal(s, "hvsock:wildcard:5000");

	/* A client socket's local port, counted down from 0xFFFFFFFE: the
	 * template GUID all the same. */
	assert_int_equal(hvs__hv_from_sockaddr(sa,
			     driver_sa(buf, sizeof(buf), 0xFFFFFFFEu, 43), &a),
	    0);
	assert_int_equal(hvs_service_from_port(&g, 0), 0);
	g.data1 = 0xFFFFFFFEu;
	assert_true(hvs_guid_equal(&a.u.hvsock.service_id, &g));
	assert_int_equal(hvs_addr_port_unknown(&a), 0);

	/* The peer of a connection from the host: port unknown, and the
	 * host is the only peer there is. */
	assert_int_equal(hvs__hv_from_sockaddr(sa,
			     driver_sa(buf, sizeof(buf), 0xFFFFFFFFu, 43), &a),
	    0);
	assert_int_equal(a.kind, HVS_ADDR_HVSOCK);
	assert_true(
	    hvs_guid_equal(&a.u.hvsock.vm_id, hvs_vmid_get(HVS_VMID_PARENT)));
	assert_int_equal(a.u.hvsock.service_id.data1, 0xFFFFFFFFu);
	assert_int_equal(hvs_addr_port_unknown(&a), 1);
	assert_int_equal(hvs_addr_service_port(&a, &port),
	    HVS_EADDR_PORT_RANGE);
	/* hvs_addr_format() stays parseable: the GUID, which reads back
	 * to the same address. */
	assert_int_equal(hvs_addr_format(&a, s, sizeof(s)) > 0, 1);
	assert_string_equal(s,
	    "hvsock:parent:ffffffff-facb-11e6-bd58-64006a7986d3");
	{
		hvs_addr_t back = parse(s, HVS_ROLE_CONNECT);
		assert_true(hvs_addr_equal(&a, &back));
	}

	/* Short, wrong or odd input. */
	driver_sa(buf, sizeof(buf), 80, 43);
	assert_int_equal(hvs__hv_from_sockaddr(sa, 0, &a), HVS_EAFNOSUPPORT);
	assert_int_equal(hvs__hv_from_sockaddr(sa, 1, &a), HVS_EAFNOSUPPORT);
	assert_int_equal(hvs__hv_from_sockaddr(sa, 2, &a), HVS_EINVAL);
	assert_int_equal(hvs__hv_from_sockaddr(sa, 7, &a), HVS_EINVAL);
	assert_int_equal(hvs__hv_from_sockaddr(sa, 8, &a), 0);
	assert_int_equal(hvs_addr_service_port(&a, &port), 0);
	assert_int_equal(port, 80);
	assert_int_equal(hvs__hv_from_sockaddr(sa, sizeof(buf), &a), 0);
	assert_int_equal(hvs_addr_service_port(&a, &port), 0);
	assert_int_equal(port, 80);
	driver_sa(buf, sizeof(buf), 80, 28); /* AF_INET6 on FreeBSD */
	assert_int_equal(hvs__hv_from_sockaddr(sa, 20, &a), HVS_EAFNOSUPPORT);
}

static void
test_round_trip(void **state)
{
	unsigned char buf[sizeof(struct sockaddr_storage)];
	hvs__sockaddr_t sa;
	hvs_addr_t a;
	uint32_t port;

	(void)state;
	assert_int_equal(to_sa("vsock:any:1234", HVS_ROLE_LISTEN, &sa), 0);
	memcpy(buf, &sa.ss, sizeof(buf));
	assert_int_equal(hvs__hv_from_sockaddr((const struct sockaddr *)buf,
			     sa.len, &a),
	    0);
	assert_int_equal(hvs_addr_service_port(&a, &port), 0);
	assert_int_equal(port, 1234);
}

static void
test_unavailable(void **state)
{
	hvs__sockaddr_t sa;

	(void)state;
	/* socket() outside Hyper-V: the family is not there. */
	assert_int_equal(hvs__hv_socket_error(HVS_EAFNOSUPPORT),
	    HVS_EHV_UNAVAILABLE);
	assert_string_equal(hvs_strerror(HVS_EHV_UNAVAILABLE),
	    "Hyper-V sockets are not available: FreeBSD must run under "
	    "Hyper-V");
	assert_string_equal(hvs_err_name(HVS_EHV_UNAVAILABLE),
	    "EHV_UNAVAILABLE");
	assert_int_equal(HVS_EHV_UNAVAILABLE, -4207);
	/* Anything else is passed on. */
	assert_int_equal(hvs__hv_socket_error(HVS_EPROTONOSUPPORT),
	    HVS_EPROTONOSUPPORT);
	assert_int_equal(hvs__hv_socket_error(HVS_EMFILE), HVS_EMFILE);
	assert_int_equal(hvs__hv_socket_error(HVS_EACCES), HVS_EACCES);

	/* hvs_transport() probes with a socket. */
	socket_err = HVS_EAFNOSUPPORT;
	assert_string_equal(hvs__hv_transport(), "none");
	assert_int_equal(socket_family, 43);
	socket_err = 0;
	assert_string_equal(hvs__hv_transport(), "hyperv");
	assert_int_equal(sockets_open, 0);

	/* No connect-timeout option, no CID. */
	assert_int_equal(hvs__hv_set_connect_timeout(100, 2000), HVS_ENOTSUP);
	{
		uint32_t cid = 7;
		assert_int_equal(hvs__hv_local_cid(&cid), HVS_ENOCID);
		assert_int_equal(cid, 7);
	}
	/* The core resolves vsock addresses through the backend. */
	{
		hvs_addr_t a = parse("vsock:2:5000", HVS_ROLE_CONNECT);
		assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa,
				     1),
		    1);
		check_bytes(&sa, 5000);
	}
}

static void
test_abstract_unix(void **state)
{
	hvs__sockaddr_t sa;
	hvs_addr_t a;

	(void)state;
	a = parse("unix:@name", HVS_ROLE_LISTEN);
	assert_int_equal(hvs_addr_check(&a, HVS_ROLE_LISTEN),
	    HVS_EUNIX_ABSTRACT);
	assert_int_equal(hvs_addr_check(&a, HVS_ROLE_CONNECT),
	    HVS_EUNIX_ABSTRACT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1),
	    HVS_EUNIX_ABSTRACT);
	assert_string_equal(hvs_strerror(HVS_EUNIX_ABSTRACT),
	    "abstract unix sockets (unix:@NAME) exist only on Linux");
	assert_int_equal(HVS_EUNIX_ABSTRACT, -4208);

	/* Socket files, tcp and the rest are fine. */
	a = parse("unix:/tmp/x.sock", HVS_ROLE_LISTEN);
	assert_int_equal(hvs_addr_check(&a, HVS_ROLE_LISTEN), 0);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_LISTEN, 0, &sa, 1), 1);
	a = parse("tcp:127.0.0.1:80", HVS_ROLE_CONNECT);
	assert_int_equal(hvs_addr_check(&a, HVS_ROLE_CONNECT), 0);
	a = parse("vsock:5000", HVS_ROLE_CONNECT);
	assert_int_equal(hvs_addr_check(&a, HVS_ROLE_CONNECT), 0);
	a = parse("stdio", HVS_ROLE_CONNECT);
	assert_int_equal(hvs_addr_check(&a, HVS_ROLE_CONNECT), 0);

	assert_int_equal(hvs_addr_check(NULL, HVS_ROLE_CONNECT), HVS_EINVAL);
	assert_int_equal(hvs_addr_check(&a, (hvs_role_t)0), HVS_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family),
	    cmocka_unit_test(test_to_sockaddr),
	    cmocka_unit_test(test_to_sockaddr_refused),
	    cmocka_unit_test(test_from_sockaddr),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_unavailable),
	    cmocka_unit_test(test_abstract_unix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
