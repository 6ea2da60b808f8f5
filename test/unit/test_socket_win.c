/* SPDX-License-Identifier: MIT */
/*
 * Socket calls only Windows has: the conversion of vsock and hvsock
 * addresses to SOCKADDR_HV (AF_HYPERV), and back. No Hyper-V socket is
 * opened: wine has no AF_HYPERV, and on a real host it would reach the
 * hypervisor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "testutil.h"

#include <hvsocket.h>

#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif

/* The well-known VM ids, as Microsoft documents them. */
#define G_WILDCARD "00000000-0000-0000-0000-000000000000"
#define G_LOOPBACK "e0e16197-dd56-4a10-9195-5ee7a155a838"
#define G_PARENT "a42e7cda-d03f-480c-9cc2-a4de20abb878"

static hvs_addr_t
parse(const char *s, hvs_role_t role)
{
	hvs_addr_t a;

	assert_int_equal(hvs_addr_parse_str(&a, s, role, NULL), 0);
	return a;
}

/* @g as text, in @buf (HVS_GUID_STRLEN). */
static const char *
guid_text(const GUID *g, char *buf)
{
	hvs_guid_t h;

	h.data1 = (uint32_t)g->Data1;
	h.data2 = g->Data2;
	h.data3 = g->Data3;
	memcpy(h.data4, g->Data4, sizeof(h.data4));
	hvs_guid_format(&h, buf);
	return buf;
}

/* @spec in @role as the SOCKADDR_HV it resolves to. */
static SOCKADDR_HV
resolve(const char *spec, hvs_role_t role)
{
	hvs_addr_t a = parse(spec, role);
	hvs__sockaddr_t sa;
	SOCKADDR_HV hv;

	assert_int_equal(hvs__addr_resolve(&a, role, 0, &sa, 1), 1);
	assert_int_equal(sa.len, sizeof(SOCKADDR_HV));
	memcpy(&hv, &sa.ss, sizeof(hv));
	assert_int_equal(hv.Family, AF_HYPERV);
	assert_int_equal(hv.Reserved, 0);
	return hv;
}

/* vsock addresses: the CID is a well-known VM id, the port a template
 * service. */
static void
test_vsock_to_sockaddr_hv(void **state)
{
	char buf[HVS_GUID_STRLEN];
	SOCKADDR_HV hv;

	(void)state;
	hv = resolve("vsock:5000", HVS_ROLE_CONNECT);
	assert_string_equal(guid_text(&hv.VmId, buf), G_PARENT);
	assert_string_equal(guid_text(&hv.ServiceId, buf),
	    "00001388-facb-11e6-bd58-64006a7986d3");
	hv = resolve("vsock:5000", HVS_ROLE_LISTEN);
	assert_string_equal(guid_text(&hv.VmId, buf), G_WILDCARD);
	hv = resolve("vsock:local:22", HVS_ROLE_CONNECT);
	assert_string_equal(guid_text(&hv.VmId, buf), G_LOOPBACK);
	assert_string_equal(guid_text(&hv.ServiceId, buf),
	    "00000016-facb-11e6-bd58-64006a7986d3");
	hv = resolve("vsock:host:2147483647", HVS_ROLE_CONNECT);
	assert_string_equal(guid_text(&hv.ServiceId, buf),
	    "7fffffff-facb-11e6-bd58-64006a7986d3");
}

/* What Windows cannot express gives a specific error, before any socket
 * is made. */
static void
test_vsock_unsupported(void **state)
{
	hvs__sockaddr_t sa;
	hvs_addr_t a;

	(void)state;
	/* A VM is named by its GUID there, never by a CID. */
	a = parse("vsock:3:5000", HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1),
	    HVS_EVMID_UNSUPPORTED);
	/* Services with the top bit set are the kernels' own. */
	a = parse("vsock:host:2147483648", HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1),
	    HVS_EADDR_PORT_RANGE);
	/* No ephemeral ports. */
	a = parse("vsock:any", HVS_ROLE_LISTEN);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_LISTEN, 0, &sa, 1),
	    HVS_EADDR_PORT_RANGE);
}

/* hvsock addresses map one to one, and come back as they went. */
static void
test_hvsock_roundtrip(void **state)
{
	static const char vm[] = "6f9a0a8e-51e4-4b5e-8f55-5b0f7d1c2a3b";
	static const char svc[] = "12345678-1234-1234-1234-123456789abc";
	char spec[128], buf[HVS_GUID_STRLEN];
	hvs__sockaddr_t sa;
	hvs_addr_t a, back;
	SOCKADDR_HV hv;

	(void)state;
	snprintf(spec, sizeof(spec), "hvsock:%s:%s", vm, svc);
	hv = resolve(spec, HVS_ROLE_CONNECT);
	assert_string_equal(guid_text(&hv.VmId, buf), vm);
	assert_string_equal(guid_text(&hv.ServiceId, buf), svc);

	a = parse(spec, HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1), 1);
	assert_int_equal(hvs__sockaddr_to_addr(&sa, &back), 0);
	assert_true(hvs_addr_equal(&a, &back));

	/* A named VM id is the same GUID. */
	hv = resolve("hvsock:parent:5000", HVS_ROLE_CONNECT);
	assert_string_equal(guid_text(&hv.VmId, buf), G_PARENT);
	hv = resolve("hvsock:loopback:5000", HVS_ROLE_CONNECT);
	assert_string_equal(guid_text(&hv.VmId, buf), G_LOOPBACK);
}

/* Anything but a whole SOCKADDR_HV is refused. */
static void
test_from_sockaddr_checks(void **state)
{
	struct sockaddr_in sin;
	SOCKADDR_HV hv;
	hvs_addr_t a;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(hvs__hv_from_sockaddr((struct sockaddr *)&sin,
			     sizeof(sin), &a),
	    HVS_EAFNOSUPPORT);
	memset(&hv, 0, sizeof(hv));
	hv.Family = AF_HYPERV;
	assert_int_equal(hvs__hv_from_sockaddr((struct sockaddr *)&hv,
			     sizeof(hv) - 1, &a),
	    HVS_EINVAL);
	assert_int_equal(hvs__hv_from_sockaddr((struct sockaddr *)&hv,
			     sizeof(hv), &a),
	    0);
	assert_int_equal(a.kind, HVS_ADDR_HVSOCK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vsock_to_sockaddr_hv),
	    cmocka_unit_test(test_vsock_unsupported),
	    cmocka_unit_test(test_hvsock_roundtrip),
	    cmocka_unit_test(test_from_sockaddr_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
