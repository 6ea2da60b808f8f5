/* SPDX-License-Identifier: MIT */
/*
 * Addresses: every branch of the parser, the role defaults, canonical
 * formatting and its round trip, equality, and hostile input.
 *
 * Inputs are parsed from exact-size heap copies (no NUL after them) so that
 * the sanitizers catch any read past the given length.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define L 1u
#define C 2u
#define LC (L | C)

static const hvs_role_t roles[] = {HVS_ROLE_LISTEN, HVS_ROLE_CONNECT};

/* ---- expected values, written out independently of guid.c ----------- */

/* clang-format cannot lay out nested initializers in macros. */
/* clang-format off */
#define G_WILDCARD {0, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0}}
#define G_BROADCAST                                                        \
	{0xffffffff, 0xffff, 0xffff,                                       \
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
#define G_CHILDREN                                                         \
	{0x90db8b89, 0x0d35, 0x4f79,                                       \
	    {0x8c, 0xe9, 0x49, 0xea, 0x0a, 0xc8, 0xb7, 0xcd}}
#define G_LOOPBACK                                                         \
	{0xe0e16197, 0xdd56, 0x4a10,                                       \
	    {0x91, 0x95, 0x5e, 0xe7, 0xa1, 0x55, 0xa8, 0x38}}
#define G_PARENT                                                           \
	{0xa42e7cda, 0xd03f, 0x480c,                                       \
	    {0x9c, 0xc2, 0xa4, 0xde, 0x20, 0xab, 0xb8, 0x78}}
#define G_SILOHOST                                                         \
	{0x36bd0c5c, 0x7276, 0x4223,                                       \
	    {0x88, 0xba, 0x7d, 0x03, 0xb6, 0x54, 0xc5, 0x68}}
#define G_OTHER                                                            \
	{0x01234567, 0x89ab, 0xcdef,                                       \
	    {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}}
#define G_SVC(p)                                                           \
	{p, 0xfacb, 0x11e6, {0xbd, 0x58, 0x64, 0x00, 0x6a, 0x79, 0x86, 0xd3}}
#define S_OTHER "01234567-89ab-cdef-0123-456789abcdef"

#define VS(c, p) {.kind = HVS_ADDR_VSOCK, .u.vsock = {c, p}}
#define HV(vm, svc) {.kind = HVS_ADDR_HVSOCK, .u.hvsock = {vm, svc, 0}}
#define HVWSL(svc)                                                         \
	{.kind = HVS_ADDR_HVSOCK,                                          \
	    .u.hvsock = {G_WILDCARD, svc, HVS_VMID_F_WSL}}
#define TCP(h, p) {.kind = HVS_ADDR_TCP, .u.tcp = {h, p}}
#define UNIX(p) {.kind = HVS_ADDR_UNIX, .u.local = {p, sizeof(p) - 1, 0}}
#define ABSTRACT(p) {.kind = HVS_ADDR_UNIX, .u.local = {p, sizeof(p) - 1, 1}}
#define FD(n) {.kind = HVS_ADDR_FD, .u.fd = {n}}
#define STDIO {.kind = HVS_ADDR_STDIO}
#define MUX(p, port)                                                       \
	{.kind = HVS_ADDR_VSOCK_MUX, .u.mux = {p, sizeof(p) - 1, port}}
/* clang-format on */

#define ANY HVS_CID_ANY

/* ---- helpers ----------------------------------------------------------- */

static int
parse_exact(hvs_addr_t *out, const char *s, size_t n, hvs_role_t role,
    hvs_parse_error_t *err)
{
	char *copy = malloc(n > 0 ? n : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, n);
	r = hvs_addr_parse(out, copy, n, role, err);
	free(copy);
	return r;
}

static const char *
role_name(hvs_role_t role)
{
	return role == HVS_ROLE_LISTEN ? "listen" : "connect";
}

/*
 * Field-by-field comparison that does not use hvs_addr_equal(), so that a
 * bug there cannot make the parser tests pass.
 */
static int
same_fields(const hvs_addr_t *a, const hvs_addr_t *b)
{
	if (a->kind != b->kind) {
		return 0;
	}
	switch (a->kind) {
	case HVS_ADDR_VSOCK:
		return a->u.vsock.cid == b->u.vsock.cid &&
		    a->u.vsock.port == b->u.vsock.port;
	case HVS_ADDR_HVSOCK:
		return memcmp(&a->u.hvsock.vm_id, &b->u.hvsock.vm_id,
			   sizeof(hvs_guid_t)) == 0 &&
		    memcmp(&a->u.hvsock.service_id, &b->u.hvsock.service_id,
			sizeof(hvs_guid_t)) == 0 &&
		    a->u.hvsock.vm_flags == b->u.hvsock.vm_flags;
	case HVS_ADDR_TCP:
		return strcmp(a->u.tcp.host, b->u.tcp.host) == 0 &&
		    a->u.tcp.port == b->u.tcp.port;
	case HVS_ADDR_UNIX:
		return a->u.local.abstract == b->u.local.abstract &&
		    a->u.local.len == b->u.local.len &&
		    memcmp(a->u.local.path, b->u.local.path, a->u.local.len) ==
		    0 &&
		    a->u.local.path[a->u.local.len] == '\0';
	case HVS_ADDR_FD:
		return a->u.fd.fd == b->u.fd.fd;
	case HVS_ADDR_VSOCK_MUX:
		return a->u.mux.len == b->u.mux.len &&
		    memcmp(a->u.mux.path, b->u.mux.path, a->u.mux.len) == 0 &&
		    a->u.mux.path[a->u.mux.len] == '\0' &&
		    a->u.mux.port == b->u.mux.port;
	default:
		return 1;
	}
}

/*
 * The round-trip contract: @a formats, the text parses back in both roles
 * (vsock-mux: in the connect role; listening on it is refused) to an
 * equal address, and formatting that gives the same text again. The text
 * goes to @canon (HVS_ADDR_STRLEN bytes).
 */
static void
check_roundtrip(const hvs_addr_t *a, char *canon, const char *what)
{
	int n = hvs_addr_format(a, canon, HVS_ADDR_STRLEN);

	if (n <= 0) {
		fail_msg("%s: format failed (%d)", what, n);
	}
	assert_int_equal((size_t)n, strlen(canon));
	assert_true(n < HVS_ADDR_STRLEN);
	for (size_t i = 0; i < HVS__ARRAY_LEN(roles); i++) {
		hvs_addr_t back;
		hvs_parse_error_t err;
		char again[HVS_ADDR_STRLEN];
		int r = parse_exact(&back, canon, (size_t)n, roles[i], &err);

		if (a->kind == HVS_ADDR_VSOCK_MUX &&
		    roles[i] == HVS_ROLE_LISTEN) {
			assert_int_equal(r, HVS_EMUX_LISTEN);
			assert_int_equal(err.offset, 0);
			assert_int_equal(err.length, strlen("vsock-mux"));
			continue;
		}
		if (r != 0) {
			fail_msg("%s: \"%s\" does not parse back as %s: %s at "
				 "%lu+%lu",
			    what, canon, role_name(roles[i]), hvs_err_name(r),
			    (unsigned long)err.offset,
			    (unsigned long)err.length);
		}
		if (!hvs_addr_equal(a, &back)) {
			fail_msg("%s: \"%s\" parses back (%s) to another "
				 "address",
			    what, canon, role_name(roles[i]));
		}
		assert_int_equal(hvs_addr_format(&back, again, sizeof(again)),
		    n);
		assert_string_equal(again, canon);
	}
}

/* ---- successful parses ------------------------------------------------ */

struct ok_case {
	const char *in;
	unsigned roles;
	hvs_addr_t want;
	const char *canon;
};

static const struct ok_case ok_cases[] = {
    /* vsock: role defaults */
    {"vsock:5000", L, VS(ANY, 5000), "vsock:any:5000"},
    {"vsock:5000", C, VS(2, 5000), "vsock:2:5000"},
    {"vsock:any", L, VS(ANY, ANY), "vsock:any:any"},
    {"vsock:any", C, VS(2, ANY), "vsock:2:any"},
    {"vsock:0", C, VS(2, 0), "vsock:2:0"},
    /* vsock: CID names and numbers */
    {"vsock:2:5000", LC, VS(2, 5000), "vsock:2:5000"},
    {"vsock:any:5000", LC, VS(ANY, 5000), "vsock:any:5000"},
    {"vsock:local:1234", LC, VS(1, 1234), "vsock:1:1234"},
    {"vsock:host:22", LC, VS(2, 22), "vsock:2:22"},
    {"vsock:hypervisor:0", LC, VS(0, 0), "vsock:0:0"},
    {"vsock:0:0", LC, VS(0, 0), "vsock:0:0"},
    {"vsock:3:any", LC, VS(3, ANY), "vsock:3:any"},
    {"vsock:123456:7", LC, VS(123456, 7), "vsock:123456:7"},
    {"vsock:4294967295:4294967295", LC, VS(ANY, ANY), "vsock:any:any"},
    {"vsock:4294967294:4294967294", LC, VS(0xfffffffe, 0xfffffffe),
	"vsock:4294967294:4294967294"},
    {"VSOCK:HOST:ANY", LC, VS(2, ANY), "vsock:2:any"},
    {"Vsock:Local:00080", LC, VS(1, 80), "vsock:1:80"},
    {"vsock:HyperVisor:1", LC, VS(0, 1), "vsock:0:1"},
    {"vsock:0000000000000000000002:0000000000000000005000", LC, VS(2, 5000),
	"vsock:2:5000"},
    /* hvsock: role defaults */
    {"hvsock:5000", L, HV(G_WILDCARD, G_SVC(5000)), "hvsock:wildcard:5000"},
    {"hvsock:5000", C, HV(G_PARENT, G_SVC(5000)), "hvsock:parent:5000"},
    {"hvsock:{00001388-FACB-11E6-BD58-64006A7986D3}", L,
	HV(G_WILDCARD, G_SVC(5000)), "hvsock:wildcard:5000"},
    {"hvsock:" S_OTHER, C, HV(G_PARENT, G_OTHER), "hvsock:parent:" S_OTHER},
    /* hvsock: VM id names, any case */
    {"hvsock:parent:5000", LC, HV(G_PARENT, G_SVC(5000)), "hvsock:parent:5000"},
    {"hvsock:wildcard:0", LC, HV(G_WILDCARD, G_SVC(0)), "hvsock:wildcard:0"},
    {"hvsock:children:2147483647", LC, HV(G_CHILDREN, G_SVC(0x7fffffff)),
	"hvsock:children:2147483647"},
    {"hvsock:loopback:22", LC, HV(G_LOOPBACK, G_SVC(22)), "hvsock:loopback:22"},
    {"hvsock:silohost:1", LC, HV(G_SILOHOST, G_SVC(1)), "hvsock:silohost:1"},
    {"hvsock:broadcast:1", LC, HV(G_BROADCAST, G_SVC(1)), "hvsock:broadcast:1"},
    {"HVSOCK:PARENT:5000", LC, HV(G_PARENT, G_SVC(5000)), "hvsock:parent:5000"},
    {"hvsock:SiloHost:5000", LC, HV(G_SILOHOST, G_SVC(5000)),
	"hvsock:silohost:5000"},
    {"hvsock:parent:0000005000", LC, HV(G_PARENT, G_SVC(5000)),
	"hvsock:parent:5000"},
    /* hvsock: wsl */
    {"hvsock:wsl:5000", LC, HVWSL(G_SVC(5000)), "hvsock:wsl:5000"},
    {"hvsock:WSL:22", LC, HVWSL(G_SVC(22)), "hvsock:wsl:22"},
    {"hvsock:wsl:" S_OTHER, LC, HVWSL(G_OTHER), "hvsock:wsl:" S_OTHER},
    /* hvsock: GUIDs; well-known ones print by name, template by port */
    {"hvsock:a42e7cda-d03f-480c-9cc2-a4de20abb878:5000", LC,
	HV(G_PARENT, G_SVC(5000)), "hvsock:parent:5000"},
    {"hvsock:{A42E7CDA-D03F-480C-9CC2-A4DE20ABB878}:5000", LC,
	HV(G_PARENT, G_SVC(5000)), "hvsock:parent:5000"},
    {"hvsock:00000000-0000-0000-0000-000000000000:0", LC,
	HV(G_WILDCARD, G_SVC(0)), "hvsock:wildcard:0"},
    {"hvsock:" S_OTHER ":00001388-facb-11e6-bd58-64006a7986d3", LC,
	HV(G_OTHER, G_SVC(5000)), "hvsock:" S_OTHER ":5000"},
    {"hvsock:parent:" S_OTHER, LC, HV(G_PARENT, G_OTHER),
	"hvsock:parent:" S_OTHER},
    {"hvsock:" S_OTHER ":" S_OTHER, LC, HV(G_OTHER, G_OTHER),
	"hvsock:" S_OTHER ":" S_OTHER},
    /* A template GUID above the port range stays a GUID. */
    {"hvsock:parent:80000000-facb-11e6-bd58-64006a7986d3", LC,
	HV(G_PARENT, G_SVC(0x80000000)),
	"hvsock:parent:80000000-facb-11e6-bd58-64006a7986d3"},
    {"hvsock:parent:{FFFFFFFF-FACB-11E6-BD58-64006A7986D3}", LC,
	HV(G_PARENT, G_SVC(0xffffffff)),
	"hvsock:parent:ffffffff-facb-11e6-bd58-64006a7986d3"},
    /* tcp: role defaults: never all interfaces unless written */
    {"tcp:8080", L, TCP("127.0.0.1", 8080), "tcp:127.0.0.1:8080"},
    {"tcp:8080", C, TCP("localhost", 8080), "tcp:localhost:8080"},
    {"tcp:0", L, TCP("127.0.0.1", 0), "tcp:127.0.0.1:0"},
    {"tcp:*:8080", LC, TCP("*", 8080), "tcp:*:8080"},
    {"tcp:0.0.0.0:8080", LC, TCP("0.0.0.0", 8080), "tcp:0.0.0.0:8080"},
    /* tcp: hosts */
    {"tcp:127.0.0.1:0", LC, TCP("127.0.0.1", 0), "tcp:127.0.0.1:0"},
    {"tcp:localhost:65535", LC, TCP("localhost", 65535), "tcp:localhost:65535"},
    {"tcp:255.255.255.255:1", LC, TCP("255.255.255.255", 1),
	"tcp:255.255.255.255:1"},
    {"tcp:192.168.1.254:00080", LC, TCP("192.168.1.254", 80),
	"tcp:192.168.1.254:80"},
    {"tcp:example.com:443", LC, TCP("example.com", 443), "tcp:example.com:443"},
    {"tcp:example.com.:443", LC, TCP("example.com.", 443),
	"tcp:example.com.:443"},
    {"tcp:my_host-1.internal:80", LC, TCP("my_host-1.internal", 80),
	"tcp:my_host-1.internal:80"},
    {"TCP:Example.COM:80", LC, TCP("Example.COM", 80), "tcp:Example.COM:80"},
    {"tcp:a.b.c.d.e:1", LC, TCP("a.b.c.d.e", 1), "tcp:a.b.c.d.e:1"},
    {"tcp:1e100.net:80", LC, TCP("1e100.net", 80), "tcp:1e100.net:80"},
    {"tcp:123abc:80", LC, TCP("123abc", 80), "tcp:123abc:80"},
    {"tcp:x:1", LC, TCP("x", 1), "tcp:x:1"},
    {"tcp:_srv.example:1", LC, TCP("_srv.example", 1), "tcp:_srv.example:1"},
    /* tcp: IPv6, only in brackets */
    {"tcp:[::1]:22", LC, TCP("::1", 22), "tcp:[::1]:22"},
    {"tcp:[::]:80", LC, TCP("::", 80), "tcp:[::]:80"},
    {"tcp:[fe80::1%eth0]:80", LC, TCP("fe80::1%eth0", 80),
	"tcp:[fe80::1%eth0]:80"},
    {"tcp:[FE80::1%25]:80", LC, TCP("FE80::1%25", 80), "tcp:[FE80::1%25]:80"},
    {"tcp:[2001:db8::ff00:42:8329]:443", LC, TCP("2001:db8::ff00:42:8329", 443),
	"tcp:[2001:db8::ff00:42:8329]:443"},
    {"tcp:[::ffff:192.0.2.1]:80", LC, TCP("::ffff:192.0.2.1", 80),
	"tcp:[::ffff:192.0.2.1]:80"},
    {"tcp:[1:2:3:4:5:6:7:8]:65535", LC, TCP("1:2:3:4:5:6:7:8", 65535),
	"tcp:[1:2:3:4:5:6:7:8]:65535"},
    /* unix: */
    {"unix:/tmp/x.sock", LC, UNIX("/tmp/x.sock"), "unix:/tmp/x.sock"},
    {"unix:relative/path", LC, UNIX("relative/path"), "unix:relative/path"},
    {"unix:/a:b:c", LC, UNIX("/a:b:c"), "unix:/a:b:c"},
    {"unix:./@foo", LC, UNIX("./@foo"), "unix:./@foo"},
    {"unix: ", LC, UNIX(" "), "unix: "},
    {"UNIX:/tmp/X", LC, UNIX("/tmp/X"), "unix:/tmp/X"},
    {"unix:@name", LC, ABSTRACT("name"), "unix:@name"},
    {"unix:@/with/slash", LC, ABSTRACT("/with/slash"), "unix:@/with/slash"},
    {"unix:@@x", LC, ABSTRACT("@x"), "unix:@@x"},
    {"unix:@a:b", LC, ABSTRACT("a:b"), "unix:@a:b"},
    /* fd: */
    {"fd:0", LC, FD(0), "fd:0"},
    {"fd:3", LC, FD(3), "fd:3"},
    {"FD:007", LC, FD(7), "fd:7"},
    {"fd:2147483647", LC, FD(INT_MAX), "fd:2147483647"},
    /* vsock-mux: (connect only) */
    {"vsock-mux:/run/vm.sock:5000", C, MUX("/run/vm.sock", 5000),
	"vsock-mux:/run/vm.sock:5000"},
    {"VSOCK-MUX:/run/vm.sock:05000", C, MUX("/run/vm.sock", 5000),
	"vsock-mux:/run/vm.sock:5000"},
    {"vsock-mux:v.sock:0", C, MUX("v.sock", 0), "vsock-mux:v.sock:0"},
    {"vsock-mux:/a:b:c:4294967294", C, MUX("/a:b:c", 4294967294u),
	"vsock-mux:/a:b:c:4294967294"},
    {"vsock-mux:/a::1", C, MUX("/a:", 1), "vsock-mux:/a::1"},
    {"vsock-mux::x:2", C, MUX(":x", 2), "vsock-mux::x:2"},
    {"vsock-mux:./@vm:3", C, MUX("./@vm", 3), "vsock-mux:./@vm:3"},
    {"vsock-mux: :4", C, MUX(" ", 4), "vsock-mux: :4"},
    /* stdio */
    {"stdio", LC, STDIO, "stdio"},
    {"STDIO", LC, STDIO, "stdio"},
    {"StdIO", LC, STDIO, "stdio"},
};

static void
test_parse_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(ok_cases); i++) {
		const struct ok_case *c = &ok_cases[i];

		for (size_t k = 0; k < HVS__ARRAY_LEN(roles); k++) {
			hvs_addr_t a;
			hvs_parse_error_t err = {-1, 99, 99};
			char canon[HVS_ADDR_STRLEN];
			int r;

			if (!(c->roles & (1u << k))) {
				continue;
			}
			/* Garbage first: the parser must set every field. */
			memset(&a, 0xa5, sizeof(a));
			r = parse_exact(&a, c->in, strlen(c->in), roles[k],
			    &err);
			if (r != 0) {
				fail_msg("\"%s\" (%s): %s at %lu+%lu", c->in,
				    role_name(roles[k]), hvs_err_name(r),
				    (unsigned long)err.offset,
				    (unsigned long)err.length);
			}
			/* Success clears the error report. */
			assert_int_equal(err.code, 0);
			assert_int_equal(err.offset, 0);
			assert_int_equal(err.length, 0);
			if (!same_fields(&a, &c->want)) {
				fail_msg("\"%s\" (%s): wrong fields", c->in,
				    role_name(roles[k]));
			}
			assert_true(hvs_addr_equal(&a, &c->want));
			assert_int_equal(hvs_addr_format(&a, canon,
					     sizeof(canon)),
			    strlen(c->canon));
			if (strcmp(canon, c->canon) != 0) {
				fail_msg("\"%s\" (%s) formats as \"%s\", want "
					 "\"%s\"",
				    c->in, role_name(roles[k]), canon,
				    c->canon);
			}
			check_roundtrip(&a, canon, c->in);
			/* Without an error report it works the same. */
			assert_int_equal(parse_exact(&a, c->in, strlen(c->in),
					     roles[k], NULL),
			    0);
			assert_true(same_fields(&a, &c->want));
		}
	}
}

/* parse_str is parse over strlen. */
static void
test_parse_str(void **state)
{
	hvs_addr_t a, orig;
	hvs_parse_error_t err;

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(ok_cases); i++) {
		const struct ok_case *c = &ok_cases[i];
		hvs_role_t role =
		    c->roles & L ? HVS_ROLE_LISTEN : HVS_ROLE_CONNECT;

		assert_int_equal(hvs_addr_parse_str(&a, c->in, role, &err), 0);
		assert_true(same_fields(&a, &c->want));
	}
	memset(&a, 0x5a, sizeof(a));
	orig = a;
	assert_int_equal(hvs_addr_parse_str(&a, "", HVS_ROLE_LISTEN, &err),
	    HVS_EADDR_EMPTY);
	assert_int_equal(err.code, HVS_EADDR_EMPTY);
	assert_int_equal(hvs_addr_parse_str(&a, NULL, HVS_ROLE_LISTEN, &err),
	    HVS_EINVAL);
	assert_int_equal(err.code, HVS_EINVAL);
	assert_int_equal(hvs_addr_parse_str(&a, NULL, HVS_ROLE_LISTEN, NULL),
	    HVS_EINVAL);
	assert_int_equal(hvs_addr_parse_str(&a, "vsock:1:2:3", HVS_ROLE_CONNECT,
			     &err),
	    HVS_EADDR_TRAILING);
	assert_int_equal(err.offset, 9);
	assert_memory_equal(&a, &orig, sizeof(a));
}

/* The role defaults, spelt out once more on their own. */
static void
test_role_defaults(void **state)
{
	hvs_addr_t a;

	(void)state;
	assert_int_equal(hvs_addr_parse_str(&a, "vsock:80", HVS_ROLE_LISTEN,
			     NULL),
	    0);
	assert_int_equal(a.u.vsock.cid, HVS_CID_ANY);
	assert_int_equal(hvs_addr_parse_str(&a, "vsock:80", HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_int_equal(a.u.vsock.cid, HVS_CID_HOST);

	assert_int_equal(hvs_addr_parse_str(&a, "tcp:80", HVS_ROLE_LISTEN,
			     NULL),
	    0);
	assert_string_equal(a.u.tcp.host, "127.0.0.1");
	assert_int_equal(hvs_addr_parse_str(&a, "tcp:80", HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_string_equal(a.u.tcp.host, "localhost");

	assert_int_equal(hvs_addr_parse_str(&a, "hvsock:80", HVS_ROLE_LISTEN,
			     NULL),
	    0);
	assert_true(
	    hvs_guid_equal(&a.u.hvsock.vm_id, hvs_vmid_get(HVS_VMID_WILDCARD)));
	assert_int_equal(a.u.hvsock.vm_flags, 0);
	assert_int_equal(hvs_addr_parse_str(&a, "hvsock:80", HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_true(
	    hvs_guid_equal(&a.u.hvsock.vm_id, hvs_vmid_get(HVS_VMID_PARENT)));

	/* Written-out values win over the defaults in both roles. */
	for (size_t k = 0; k < HVS__ARRAY_LEN(roles); k++) {
		assert_int_equal(hvs_addr_parse_str(&a, "vsock:7:80", roles[k],
				     NULL),
		    0);
		assert_int_equal(a.u.vsock.cid, 7);
		assert_int_equal(hvs_addr_parse_str(&a, "tcp:*:80", roles[k],
				     NULL),
		    0);
		assert_string_equal(a.u.tcp.host, "*");
		assert_int_equal(hvs_addr_parse_str(&a, "hvsock:wsl:80",
				     roles[k], NULL),
		    0);
		assert_int_equal(a.u.hvsock.vm_flags, HVS_VMID_F_WSL);
		assert_true(hvs_guid_equal(&a.u.hvsock.vm_id,
		    hvs_vmid_get(HVS_VMID_WILDCARD)));
	}
}

/* ---- errors ----------------------------------------------------------- */

struct bad_case {
	const char *in;
	size_t len;
	int code;
	size_t off;
	size_t n;
};

/* sizeof, not strlen: the length covers embedded NULs. */
/* clang-format off */
#define E(s, code, off, n) {s, sizeof(s) - 1, HVS_##code, off, n}
/* clang-format on */

static const struct bad_case bad_cases[] = {
    /* whole input */
    E("", EADDR_EMPTY, 0, 0),
    E("\0", EADDR_NUL, 0, 1),
    E("\0vsock:5000", EADDR_NUL, 0, 1),
    E("vsock:5000\0", EADDR_NUL, 10, 1),
    E("vsock:2\0:5000", EADDR_NUL, 7, 1),
    E("stdio\0", EADDR_NUL, 5, 1),
    E("unix:@\0abc", EADDR_NUL, 6, 1),
    E("unix:/tmp/a\0b", EADDR_NUL, 11, 1),
    E("tcp:[::1]:80\0\0\0", EADDR_NUL, 12, 1),
    /* scheme */
    E("foo", EADDR_SCHEME, 0, 3),
    E("foo:bar", EADDR_SCHEME, 0, 3),
    E(":5000", EADDR_SCHEME, 0, 0),
    E("5000", EADDR_SCHEME, 0, 4),
    E(" vsock:5000", EADDR_SCHEME, 0, 6),
    E("vsocks:5000", EADDR_SCHEME, 0, 6),
    E("vsoc:5000", EADDR_SCHEME, 0, 4),
    E("udp:1", EADDR_SCHEME, 0, 3),
    E("/tmp/sock", EADDR_SCHEME, 0, 9),
    E("localhost:80", EADDR_SCHEME, 0, 9),
    E("stdiox", EADDR_SCHEME, 0, 6),
    E("stdio ", EADDR_SCHEME, 0, 6),
    E("std", EADDR_SCHEME, 0, 3),
    E("vsock\xff:1", EADDR_SCHEME, 0, 6),
    E("\xff", EADDR_SCHEME, 0, 1),
    /* scheme without its part */
    E("vsock", EADDR_MISSING, 5, 0),
    E("hvsock", EADDR_MISSING, 6, 0),
    E("tcp", EADDR_MISSING, 3, 0),
    E("unix", EADDR_MISSING, 4, 0),
    E("fd", EADDR_MISSING, 2, 0),
    E("TCP", EADDR_MISSING, 3, 0),
    /* stdio */
    E("stdio:", EADDR_TRAILING, 5, 1),
    E("stdio:x", EADDR_TRAILING, 5, 2),
    E("stdio::", EADDR_TRAILING, 5, 2),
    /* vsock: missing parts and trailing text */
    E("vsock:", EADDR_MISSING, 6, 0),
    E("vsock:2:", EADDR_MISSING, 8, 0),
    E("vsock::5000", EADDR_MISSING, 6, 0),
    E("vsock::", EADDR_MISSING, 6, 0),
    E("vsock:2:5000:", EADDR_TRAILING, 12, 1),
    E("vsock:2:5000:7", EADDR_TRAILING, 12, 2),
    E("vsock:1:2:3:4", EADDR_TRAILING, 9, 4),
    /* vsock: CID */
    E("vsock:x:5000", EADDR_CID, 6, 1),
    E("vsock:-1:5000", EADDR_CID, 6, 2),
    E("vsock:+2:5000", EADDR_CID, 6, 2),
    E("vsock: 2:5000", EADDR_CID, 6, 2),
    E("vsock:2 :5000", EADDR_CID, 6, 2),
    E("vsock:0x2:5000", EADDR_CID, 6, 3),
    E("vsock:4294967296:5000", EADDR_CID, 6, 10),
    E("vsock:99999999999999999999:1", EADDR_CID, 6, 20),
    E("vsock:anyhost:1", EADDR_CID, 6, 7),
    E("vsock:hostt:1", EADDR_CID, 6, 5),
    E("vsock:parent:1", EADDR_CID, 6, 6),
    E("vsock:2.0:1", EADDR_CID, 6, 3),
    /* vsock: port */
    E("vsock:2:x", EADDR_PORT, 8, 1),
    E("vsock:5000x", EADDR_PORT, 6, 5),
    E("vsock:-1", EADDR_PORT, 6, 2),
    E("vsock:+5000", EADDR_PORT, 6, 5),
    E("vsock: 5000", EADDR_PORT, 6, 5),
    E("vsock:5000 ", EADDR_PORT, 6, 5),
    E("vsock:0x10", EADDR_PORT, 6, 4),
    E("vsock:1e3", EADDR_PORT, 6, 3),
    E("vsock:2:5.0", EADDR_PORT, 8, 3),
    E("vsock:anyy", EADDR_PORT, 6, 4),
    E("vsock:99999999999999999999x", EADDR_PORT, 6, 21),
    E("vsock:4294967296", EADDR_PORT_RANGE, 6, 10),
    E("vsock:2:4294967296", EADDR_PORT_RANGE, 8, 10),
    E("vsock:99999999999999999999", EADDR_PORT_RANGE, 6, 20),
    E("vsock:18446744073709551616", EADDR_PORT_RANGE, 6, 20),
    /* hvsock: missing parts and trailing text */
    E("hvsock:", EADDR_MISSING, 7, 0),
    E("hvsock:parent:", EADDR_MISSING, 14, 0),
    E("hvsock::5000", EADDR_MISSING, 7, 0),
    E("hvsock:parent:5000:1", EADDR_TRAILING, 18, 2),
    E("hvsock:parent:5000:", EADDR_TRAILING, 18, 1),
    /* hvsock: VM id */
    E("hvsock:mom:5000", EADDR_VMID, 7, 3),
    E("hvsock:host:5000", EADDR_VMID, 7, 4),
    E("hvsock:parents:5000", EADDR_VMID, 7, 7),
    E("hvsock:5:5000", EADDR_VMID, 7, 1),
    E("hvsock:any:5000", EADDR_VMID, 7, 3),
    E("hvsock:wsl2:5000", EADDR_VMID, 7, 4),
    E("hvsock:a42e7cda-d03f-480c-9cc2-a4de20abb87:5000", EADDR_GUID, 7, 35),
    E("hvsock:{a42e7cda-d03f-480c-9cc2-a4de20abb878:5000", EADDR_GUID, 7, 37),
    E("hvsock:a42e7cdaXd03f-480c-9cc2-a4de20abb878:5000", EADDR_GUID, 7, 36),
    E("hvsock:a42e7cdad03f480c9cc2a4de20abb878:5000", EADDR_GUID, 7, 32),
    E("hvsock:a42e7cda-d03f-480c-9cc2-a4de20abb878}:5000", EADDR_GUID, 7, 37),
    /* hvsock: service */
    E("hvsock:2147483648", EADDR_PORT_RANGE, 7, 10),
    E("hvsock:parent:2147483648", EADDR_PORT_RANGE, 14, 10),
    E("hvsock:4294967295", EADDR_PORT_RANGE, 7, 10),
    E("hvsock:4294967296", EADDR_PORT_RANGE, 7, 10),
    E("hvsock:99999999999999999999", EADDR_PORT_RANGE, 7, 20),
    E("hvsock:parent:http", EADDR_SERVICE, 14, 4),
    E("hvsock:parent:-1", EADDR_SERVICE, 14, 2),
    E("hvsock:parent:+5000", EADDR_SERVICE, 14, 5),
    E("hvsock:parent:5000x", EADDR_SERVICE, 14, 5),
    E("hvsock:parent:0x1388", EADDR_SERVICE, 14, 6),
    E("hvsock:parent:any", EADDR_SERVICE, 14, 3),
    E("hvsock:wsl", EADDR_SERVICE, 7, 3),
    E("hvsock:parent:00001388-facb-11e6-bd58-64006a7986d", EADDR_GUID, 14, 35),
    E("hvsock:parent:00001388-facb-11e6-bd58-64006a7986d3x", EADDR_GUID, 14,
	37),
    E("hvsock:parent:{00001388-facb-11e6-bd58-64006a7986d3", EADDR_GUID, 14,
	37),
    /* tcp: missing parts */
    E("tcp:", EADDR_MISSING, 4, 0),
    E("tcp:host:", EADDR_MISSING, 9, 0),
    E("tcp::80", EADDR_MISSING, 4, 0),
    E("tcp:[::1]", EADDR_MISSING, 9, 0),
    E("tcp:[::1]:", EADDR_MISSING, 10, 0),
    E("tcp:[]:80", EADDR_MISSING, 5, 0),
    /* tcp: trailing text */
    E("tcp:host:80:90", EADDR_TRAILING, 11, 3),
    E("tcp:host:80:", EADDR_TRAILING, 11, 1),
    E("tcp:[::1]:80:90", EADDR_TRAILING, 12, 3),
    /* tcp: IPv6 */
    E("tcp:[::1:80", EADDR_HOST, 4, 7),
    E("tcp:[::1]x:80", EADDR_HOST, 9, 1),
    E("tcp:[::1]80", EADDR_HOST, 9, 2),
    E("tcp:::1:80", EADDR_HOST, 4, 3),
    E("tcp:::1", EADDR_HOST, 4, 3),
    E("tcp:::80", EADDR_HOST, 4, 4),
    E("tcp:fe80::1", EADDR_HOST, 4, 7),
    E("tcp:1:2:3:4:5:6:7:8", EADDR_HOST, 4, 15),
    E("tcp:fe80::1%eth0:80", EADDR_HOST, 4, 12),
    E("tcp:1:2:3:4:5:6:7:8:80", EADDR_HOST, 4, 15),
    E("tcp:[127.0.0.1]:80", EADDR_HOST, 5, 9),
    E("tcp:[localhost]:80", EADDR_HOST, 5, 9),
    E("tcp:[::1%]:80", EADDR_HOST, 5, 4),
    E("tcp:[fe80::1%eth 0]:80", EADDR_HOST, 5, 13),
    E("tcp:[fe80::1%eth/0]:80", EADDR_HOST, 5, 13),
    E("tcp:[:::1]:80", EADDR_HOST, 5, 4),
    E("tcp:[::g]:80", EADDR_HOST, 5, 3),
    E("tcp:[1:2:3:4:5:6:7:8:9]:80", EADDR_HOST, 5, 17),
    E("tcp:[ ::1]:80", EADDR_HOST, 5, 4),
    E("tcp:[*]:80", EADDR_HOST, 5, 1),
    /* tcp: names and IPv4 */
    E("tcp:ho st:80", EADDR_HOST, 4, 5),
    E("tcp:-host:80", EADDR_HOST, 4, 5),
    E("tcp:host-:80", EADDR_HOST, 4, 5),
    E("tcp:a.-b:80", EADDR_HOST, 4, 4),
    E("tcp:a..b:80", EADDR_HOST, 4, 4),
    E("tcp:.a:80", EADDR_HOST, 4, 2),
    E("tcp:.:80", EADDR_HOST, 4, 1),
    E("tcp:..:80", EADDR_HOST, 4, 2),
    E("tcp:a.b..:80", EADDR_HOST, 4, 5),
    E("tcp:**:80", EADDR_HOST, 4, 2),
    E("tcp:*.example.com:80", EADDR_HOST, 4, 13),
    E("tcp:1.2.3:80", EADDR_HOST, 4, 5),
    E("tcp:1.2.3.4.5:80", EADDR_HOST, 4, 9),
    E("tcp:256.0.0.1:80", EADDR_HOST, 4, 9),
    E("tcp:127.0.0.01:80", EADDR_HOST, 4, 10),
    E("tcp:0x7f.1:80", EADDR_HOST, 4, 6),
    E("tcp:0x7f000001:80", EADDR_HOST, 4, 10),
    E("tcp:0X7F000001:80", EADDR_HOST, 4, 10),
    E("tcp:2130706433:80", EADDR_HOST, 4, 10),
    E("tcp:127.0.0.1.:80", EADDR_HOST, 4, 10),
    E("tcp:host.123:80", EADDR_HOST, 4, 8),
    E("tcp:h\xc3\xa9st:80", EADDR_HOST, 4, 5),
    E("tcp:host/x:80", EADDR_HOST, 4, 6),
    E("tcp:user@host:80", EADDR_HOST, 4, 9),
    E("tcp:host%eth0:80", EADDR_HOST, 4, 9),
    E("tcp:host]:80", EADDR_HOST, 4, 5),
    /* tcp: port */
    E("tcp:host:http", EADDR_PORT, 9, 4),
    E("tcp:host:-1", EADDR_PORT, 9, 2),
    E("tcp:host:+80", EADDR_PORT, 9, 3),
    E("tcp:localhost", EADDR_PORT, 4, 9),
    E("tcp:8080x", EADDR_PORT, 4, 5),
    E("tcp: 8080", EADDR_PORT, 4, 5),
    E("tcp:*", EADDR_PORT, 4, 1),
    E("tcp:host:65536", EADDR_PORT_RANGE, 9, 5),
    E("tcp:65536", EADDR_PORT_RANGE, 4, 5),
    E("tcp:[::1]:65536", EADDR_PORT_RANGE, 10, 5),
    E("tcp:4294967296", EADDR_PORT_RANGE, 4, 10),
    E("tcp:99999999999999999999", EADDR_PORT_RANGE, 4, 20),
    /* unix: */
    E("unix:", EADDR_MISSING, 5, 0),
    E("unix:@", EADDR_MISSING, 6, 0),
    /* fd: */
    E("fd:", EADDR_MISSING, 3, 0),
    E("fd:-1", EADDR_FD, 3, 2),
    E("fd:x", EADDR_FD, 3, 1),
    E("fd: 3", EADDR_FD, 3, 2),
    E("fd:0x3", EADDR_FD, 3, 3),
    E("fd:+3", EADDR_FD, 3, 2),
    E("fd:stdin", EADDR_FD, 3, 5),
    E("fd:2147483648", EADDR_FD, 3, 10),
    E("fd:4294967296", EADDR_FD, 3, 10),
    E("fd:99999999999999999999", EADDR_FD, 3, 20),
    E("fd:3:", EADDR_TRAILING, 4, 1),
    E("fd:3:4", EADDR_TRAILING, 4, 2),
};

/*
 * Run one failing parse in both roles and check everything the contract
 * says about failures: the code, the report, the span inside the input,
 * and an untouched *out.
 */
static void
check_bad_in(unsigned mask, const char *in, size_t len, int code, size_t off,
    size_t n, const char *what)
{
	for (size_t k = 0; k < HVS__ARRAY_LEN(roles); k++) {
		hvs_addr_t a, orig;
		hvs_parse_error_t err = {12345, 12345, 12345};
		int r;

		if (!(mask & (1u << k))) {
			continue;
		}
		memset(&a, 0x5a, sizeof(a));
		orig = a;
		r = parse_exact(&a, in, len, roles[k], &err);
		if (r != code || err.code != code || err.offset != off ||
		    err.length != n) {
			fail_msg("%s (%s): got %s at %lu+%lu, want %s at "
				 "%lu+%lu",
			    what, role_name(roles[k]), hvs_err_name(r),
			    (unsigned long)err.offset,
			    (unsigned long)err.length, hvs_err_name(code),
			    (unsigned long)off, (unsigned long)n);
		}
		assert_true(err.offset + err.length <= len);
		assert_memory_equal(&a, &orig, sizeof(a));
		assert_int_equal(parse_exact(&a, in, len, roles[k], NULL),
		    code);
		assert_memory_equal(&a, &orig, sizeof(a));
	}
}

static void
check_bad(const char *in, size_t len, int code, size_t off, size_t n,
    const char *what)
{
	check_bad_in(LC, in, len, code, off, n, what);
}

/* vsock-mux: connecting; in the listen role every one is refused as such. */
static const struct bad_case mux_bad_cases[] = {
    E("vsock-mux", EADDR_MISSING, 9, 0),
    E("vsock-mux:", EADDR_MISSING, 10, 0),
    /* no path: a lone port, or an empty one */
    E("vsock-mux:5000", EADDR_MISSING, 10, 0),
    E("vsock-mux::5000", EADDR_PATH, 10, 0),
    E("vsock-mux::", EADDR_PATH, 10, 0),
    /* no port */
    E("vsock-mux:/run/vm.sock", EADDR_MISSING, 22, 0),
    E("vsock-mux:/run/vm.sock:", EADDR_MISSING, 23, 0),
    E("vsock-mux:/run/vm.sock5000", EADDR_MISSING, 26, 0),
    /* bad ports: "any" cannot be connected to */
    E("vsock-mux:/v:any", EADDR_PORT, 13, 3),
    E("vsock-mux:/v:4294967295", EADDR_PORT_RANGE, 13, 10),
    E("vsock-mux:/v:4294967296", EADDR_PORT_RANGE, 13, 10),
    E("vsock-mux:/v:99999999999999999999", EADDR_PORT_RANGE, 13, 20),
    E("vsock-mux:/v:-1", EADDR_PORT, 13, 2),
    E("vsock-mux:/v:+1", EADDR_PORT, 13, 2),
    E("vsock-mux:/v:0x10", EADDR_PORT, 13, 4),
    E("vsock-mux:/v: 1", EADDR_PORT, 13, 2),
    E("vsock-mux:/v:1 ", EADDR_PORT, 13, 2),
    E("vsock-mux:/v:5000/", EADDR_PORT, 13, 5),
    /* the VMM's socket is a file, never an abstract name */
    E("vsock-mux:@vm:5000", EADDR_PATH, 10, 1),
    E("vsock-mux:@:5000", EADDR_PATH, 10, 1),
    /* NUL anywhere */
    E("vsock-mux:/v\0:1", EADDR_NUL, 12, 1),
    E("vsock-mux:/v:1\0", EADDR_NUL, 14, 1),
};

static void
test_mux_bad(void **state)
{
	char path[HVS_PATH_MAX + 2];
	char in[HVS_PATH_MAX + 32];
	int n;

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(mux_bad_cases); i++) {
		const struct bad_case *c = &mux_bad_cases[i];
		char what[64];

		snprintf(what, sizeof(what), "mux bad case #%zu \"%.40s\"", i,
		    c->in);
		check_bad_in(C, c->in, c->len, c->code, c->off, c->n, what);
		/* Never a listening address, however it is written; a NUL
		 * or a bare kind is refused before the kind counts. */
		if (c->code != HVS_EADDR_NUL &&
		    memchr(c->in, ':', c->len) != NULL) {
			check_bad_in(L, c->in, c->len, HVS_EMUX_LISTEN, 0, 9,
			    what);
		}
	}
	/* A path of HVS_PATH_MAX - 1 bytes fits, one more does not. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[HVS_PATH_MAX - 1] = '\0';
	n = snprintf(in, sizeof(in), "vsock-mux:%s:7", path);
	{
		hvs_addr_t a;
		char canon[HVS_ADDR_STRLEN];

		assert_int_equal(parse_exact(&a, in, (size_t)n,
				     HVS_ROLE_CONNECT, NULL),
		    0);
		assert_int_equal(a.u.mux.len, HVS_PATH_MAX - 1);
		assert_int_equal(a.u.mux.port, 7);
		check_roundtrip(&a, canon, "longest mux path");
	}
	path[HVS_PATH_MAX - 1] = 'p';
	path[HVS_PATH_MAX] = '\0';
	n = snprintf(in, sizeof(in), "vsock-mux:%s:7", path);
	check_bad_in(C, in, (size_t)n, HVS_EADDR_PATH_TOOLONG, 10, HVS_PATH_MAX,
	    "mux path too long");
	check_bad_in(L, in, (size_t)n, HVS_EMUX_LISTEN, 0, 9,
	    "mux path too long");
}

static void
test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		char what[64];

		snprintf(what, sizeof(what), "bad case #%zu \"%.40s\"", i,
		    c->in);
		check_bad(c->in, c->len, c->code, c->off, c->n, what);
	}
}

static void
test_parse_bad_args(void **state)
{
	hvs_addr_t a, orig;
	hvs_parse_error_t err;

	(void)state;
	memset(&a, 0x5a, sizeof(a));
	orig = a;
	assert_int_equal(hvs_addr_parse(NULL, "vsock:1", 7, HVS_ROLE_LISTEN,
			     &err),
	    HVS_EINVAL);
	assert_int_equal(err.code, HVS_EINVAL);
	assert_int_equal(hvs_addr_parse(&a, NULL, 7, HVS_ROLE_LISTEN, &err),
	    HVS_EINVAL);
	assert_int_equal(hvs_addr_parse(&a, NULL, 0, HVS_ROLE_LISTEN, &err),
	    HVS_EADDR_EMPTY);
	assert_int_equal(hvs_addr_parse(&a, "vsock:1", 7, (hvs_role_t)0, &err),
	    HVS_EINVAL);
	assert_int_equal(hvs_addr_parse(&a, "vsock:1", 7, (hvs_role_t)3, &err),
	    HVS_EINVAL);
	assert_int_equal(hvs_addr_parse(&a, "vsock:1", 7, (hvs_role_t)-1, NULL),
	    HVS_EINVAL);
	assert_int_equal(err.code, HVS_EINVAL);
	assert_memory_equal(&a, &orig, sizeof(a));
}

/* @len should not matter beyond its bytes: a longer buffer is cut there. */
static void
test_parse_len_cuts(void **state)
{
	static const char s[] = "vsock:2:5000:junk";
	hvs_addr_t a;

	(void)state;
	assert_int_equal(hvs_addr_parse(&a, s, 12, HVS_ROLE_CONNECT, NULL), 0);
	assert_int_equal(a.u.vsock.port, 5000);
	assert_int_equal(hvs_addr_parse(&a, s, 10, HVS_ROLE_CONNECT, NULL), 0);
	assert_int_equal(a.u.vsock.port, 50);
	check_bad(s, 8, HVS_EADDR_MISSING, 8, 0, "cut after the colon");
}

/* ---- sizes ------------------------------------------------------------ */

static char *
repeat(const char *prefix, char fill, size_t total)
{
	size_t pn = strlen(prefix);
	char *s = malloc(total + 1);

	assert_non_null(s);
	assert_true(pn <= total);
	memcpy(s, prefix, pn);
	memset(s + pn, fill, total - pn);
	s[total] = '\0';
	return s;
}

static void
test_length_limits(void **state)
{
	hvs_addr_t a;
	char *s;

	(void)state;
	/* Exactly HVS_ADDR_MAXLEN bytes is fine (leading zeros are). */
	s = repeat("vsock:2:", '0', HVS_ADDR_MAXLEN);
	s[HVS_ADDR_MAXLEN - 1] = '7';
	assert_int_equal(parse_exact(&a, s, HVS_ADDR_MAXLEN, HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_int_equal(a.u.vsock.port, 7);
	free(s);

	/* One more byte is too long, whatever it is. */
	s = repeat("vsock:2:", '0', HVS_ADDR_MAXLEN + 1);
	check_bad(s, HVS_ADDR_MAXLEN + 1, HVS_EADDR_TOOLONG, HVS_ADDR_MAXLEN, 1,
	    "MAXLEN + 1");
	free(s);

	/* 4 KiB */
	s = repeat("vsock:", '1', 4096);
	check_bad(s, 4096, HVS_EADDR_TOOLONG, HVS_ADDR_MAXLEN,
	    4096 - HVS_ADDR_MAXLEN, "4 KiB");
	free(s);

	/* 100 KiB of every byte value, NULs included: the length wins. */
	s = malloc(100 * 1024);
	assert_non_null(s);
	for (size_t i = 0; i < 100 * 1024; i++) {
		s[i] = (char)(i * 7);
	}
	check_bad(s, 100 * 1024, HVS_EADDR_TOOLONG, HVS_ADDR_MAXLEN,
	    100 * 1024 - HVS_ADDR_MAXLEN, "100 KiB");
	free(s);

	/* A long path within the limit fails on the path, not the length. */
	s = repeat("unix:", 'a', HVS_ADDR_MAXLEN);
	check_bad(s, HVS_ADDR_MAXLEN, HVS_EADDR_PATH_TOOLONG, 5,
	    HVS_ADDR_MAXLEN - 5, "long unix path");
	free(s);
	s = repeat("tcp:", 'a', HVS_ADDR_MAXLEN);
	memcpy(s + HVS_ADDR_MAXLEN - 3, ":80", 3);
	check_bad(s, HVS_ADDR_MAXLEN, HVS_EADDR_HOST, 4, HVS_ADDR_MAXLEN - 7,
	    "long tcp host");
	free(s);
	s = repeat("vsock:", '9', HVS_ADDR_MAXLEN);
	check_bad(s, HVS_ADDR_MAXLEN, HVS_EADDR_PORT_RANGE, 6,
	    HVS_ADDR_MAXLEN - 6, "long port");
	free(s);
}

static void
test_unix_path_limits(void **state)
{
	char in[HVS_PATH_MAX + 16];
	hvs_addr_t a;
	char canon[HVS_ADDR_STRLEN];

	(void)state;
	/* 107 bytes + NUL fill sun_path: the longest path. */
	memcpy(in, "unix:/", 6);
	memset(in + 6, 'p', HVS_PATH_MAX - 2);
	assert_int_equal(parse_exact(&a, in, 5 + HVS_PATH_MAX - 1,
			     HVS_ROLE_LISTEN, NULL),
	    0);
	assert_int_equal(a.u.local.len, HVS_PATH_MAX - 1);
	assert_int_equal(strlen(a.u.local.path), HVS_PATH_MAX - 1);
	assert_int_equal(a.u.local.abstract, 0);
	check_roundtrip(&a, canon, "longest path");

	memset(in + 6, 'p', HVS_PATH_MAX - 1);
	check_bad(in, 5 + HVS_PATH_MAX, HVS_EADDR_PATH_TOOLONG, 5, HVS_PATH_MAX,
	    "path of 108");

	/* NUL + 107 bytes: the longest abstract name. */
	memcpy(in, "unix:@", 6);
	memset(in + 6, 'n', HVS_PATH_MAX - 1);
	assert_int_equal(parse_exact(&a, in, 6 + HVS_PATH_MAX - 1,
			     HVS_ROLE_LISTEN, NULL),
	    0);
	assert_int_equal(a.u.local.len, HVS_PATH_MAX - 1);
	assert_int_equal(a.u.local.abstract, 1);
	assert_int_equal(a.u.local.path[0], 'n');
	check_roundtrip(&a, canon, "longest abstract name");

	memset(in + 6, 'n', HVS_PATH_MAX);
	check_bad(in, 6 + HVS_PATH_MAX, HVS_EADDR_PATH_TOOLONG, 6, HVS_PATH_MAX,
	    "abstract name of 108");
}

static void
test_host_limits(void **state)
{
	char in[600];
	char host[300];
	hvs_addr_t a;
	char canon[HVS_ADDR_STRLEN];
	size_t n;

	(void)state;
	/* A 63-byte label is fine, 64 is not. */
	memset(host, 'l', 63);
	snprintf(in, sizeof(in), "tcp:%.63s.example:1", host);
	assert_int_equal(hvs_addr_parse_str(&a, in, HVS_ROLE_CONNECT, NULL), 0);
	check_roundtrip(&a, canon, "63-byte label");
	memset(host, 'l', 64);
	snprintf(in, sizeof(in), "tcp:%.64s.example:1", host);
	check_bad(in, strlen(in), HVS_EADDR_HOST, 4, 64 + 8, "64-byte label");
	snprintf(in, sizeof(in), "tcp:example.%.64s:1", host);
	check_bad(in, strlen(in), HVS_EADDR_HOST, 4, 64 + 8,
	    "64-byte last label");

	/* 253 bytes of name: labels of 63, 63, 63 and 61 bytes. */
	memset(host, 'a', sizeof(host));
	for (size_t i = 63; i < 253; i += 64) {
		host[i] = '.';
	}
	host[253] = '\0';
	assert_int_equal(strlen(host), 253);
	snprintf(in, sizeof(in), "tcp:%s:1", host);
	assert_int_equal(hvs_addr_parse_str(&a, in, HVS_ROLE_CONNECT, NULL), 0);
	assert_string_equal(a.u.tcp.host, host);
	check_roundtrip(&a, canon, "253-byte name");
	/* ... plus the final dot of a fully qualified name ... */
	snprintf(in, sizeof(in), "tcp:%s.:1", host);
	assert_int_equal(hvs_addr_parse_str(&a, in, HVS_ROLE_CONNECT, NULL), 0);
	check_roundtrip(&a, canon, "253-byte name + dot");
	/* ... but not one byte more. */
	snprintf(in, sizeof(in), "tcp:%sa:1", host);
	check_bad(in, strlen(in), HVS_EADDR_HOST, 4, 254, "254-byte name");
	snprintf(in, sizeof(in), "tcp:%sa.:1", host);
	check_bad(in, strlen(in), HVS_EADDR_HOST, 4, 255, "254-byte name.");

	/* An overlong address inside the brackets. */
	memcpy(in, "tcp:[", 5);
	for (size_t i = 0; i < 100; i++) {
		in[5 + i] = i % 5 == 4 ? ':' : '1';
	}
	memcpy(in + 105, "]:1", 4);
	check_bad(in, strlen(in), HVS_EADDR_HOST, 5, 100, "long IPv6");

	/* A zone makes the longest IPv6 host: it must still fit. */
	n = (size_t)snprintf(in, sizeof(in), "tcp:[fe80::1%%");
	memset(in + n, 'z', HVS_HOST_MAX - 1 - 8);
	n += HVS_HOST_MAX - 1 - 8;
	memcpy(in + n, "]:1", 4);
	assert_int_equal(hvs_addr_parse_str(&a, in, HVS_ROLE_CONNECT, NULL), 0);
	assert_int_equal(strlen(a.u.tcp.host), HVS_HOST_MAX - 1);
	check_roundtrip(&a, canon, "longest zone");
	/* One more byte would not fit hvs_addr_t. */
	n = (size_t)snprintf(in, sizeof(in), "tcp:[fe80::1%%");
	memset(in + n, 'z', HVS_HOST_MAX - 8);
	n += HVS_HOST_MAX - 8;
	memcpy(in + n, "]:1", 4);
	check_bad(in, strlen(in), HVS_EADDR_HOST, 5, HVS_HOST_MAX,
	    "zone too long");
}

/* ---- numbers ------------------------------------------------------------ */

static void
test_number_edges(void **state)
{
	static const struct {
		const char *in;
		int code;
		uint32_t want;
	} cases[] = {
	    {"vsock:2:0", 0, 0},
	    {"vsock:2:00000000000000000000000000", 0, 0},
	    {"vsock:2:4294967294", 0, 4294967294u},
	    {"vsock:2:4294967295", 0, 4294967295u},
	    {"vsock:2:04294967295", 0, 4294967295u},
	    {"vsock:2:4294967296", HVS_EADDR_PORT_RANGE, 0},
	    {"vsock:2:4294967300", HVS_EADDR_PORT_RANGE, 0},
	    {"vsock:2:5000000000", HVS_EADDR_PORT_RANGE, 0},
	    {"vsock:2:42949672950", HVS_EADDR_PORT_RANGE, 0},
	    {"vsock:2:18446744073709551615", HVS_EADDR_PORT_RANGE, 0},
	    {"vsock:2:18446744073709551616", HVS_EADDR_PORT_RANGE, 0},
	    {"tcp:x:65535", 0, 65535},
	    {"tcp:x:065535", 0, 65535},
	    {"tcp:x:65536", HVS_EADDR_PORT_RANGE, 0},
	    {"tcp:x:100000", HVS_EADDR_PORT_RANGE, 0},
	    {"hvsock:parent:2147483647", 0, 2147483647u},
	    {"hvsock:parent:02147483647", 0, 2147483647u},
	    {"hvsock:parent:2147483648", HVS_EADDR_PORT_RANGE, 0},
	    {"fd:2147483647", 0, 2147483647u},
	    {"fd:02147483647", 0, 2147483647u},
	    {"fd:2147483648", HVS_EADDR_FD, 0},
	    {"vsock:4294967295:1", 0, 1},
	    {"vsock:4294967296:1", HVS_EADDR_CID, 0},
	};

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(cases); i++) {
		hvs_addr_t a;
		uint32_t got = 0;
		int r =
		    hvs_addr_parse_str(&a, cases[i].in, HVS_ROLE_CONNECT, NULL);

		if (r != cases[i].code) {
			fail_msg("\"%s\": %s, want %s", cases[i].in,
			    hvs_err_name(r), hvs_err_name(cases[i].code));
		}
		if (r != 0) {
			continue;
		}
		switch (a.kind) {
		case HVS_ADDR_VSOCK:
			got = a.u.vsock.port;
			break;
		case HVS_ADDR_TCP:
			got = a.u.tcp.port;
			break;
		case HVS_ADDR_HVSOCK:
			assert_int_equal(hvs_addr_service_port(&a, &got), 0);
			break;
		case HVS_ADDR_FD:
			got = (uint32_t)a.u.fd.fd;
			break;
		default:
			fail();
		}
		assert_int_equal(got, cases[i].want);
	}
}

/*
 * Service ids of vsock ports (PORT-facb-11e6-bd58-64006a7986d3, the
 * template GUID of the Windows SDK and the Linux and FreeBSD drivers),
 * through the address grammar, up to the largest port it allows.
 */
static void
test_hvsock_mapping(void **state)
{
	static const struct {
		const char *in;
		const char *guid;
	} cases[] = {
	    {"hvsock:parent:5000", "00001388-facb-11e6-bd58-64006a7986d3"},
	    {"hvsock:parent:0", "00000000-facb-11e6-bd58-64006a7986d3"},
	    {"hvsock:parent:2147483647",
		"7fffffff-facb-11e6-bd58-64006a7986d3"},
	};
	hvs_addr_t a, orig;
	hvs_parse_error_t err;

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(cases); i++) {
		char buf[HVS_GUID_STRLEN];

		assert_int_equal(hvs_addr_parse_str(&a, cases[i].in,
				     HVS_ROLE_CONNECT, NULL),
		    0);
		hvs_guid_format(&a.u.hvsock.service_id, buf);
		assert_string_equal(buf, cases[i].guid);
	}
	memset(&a, 0, sizeof(a));
	orig = a;
	assert_int_equal(hvs_addr_parse_str(&a, "hvsock:parent:2147483648",
			     HVS_ROLE_CONNECT, &err),
	    HVS_EADDR_PORT_RANGE);
	assert_int_equal(err.offset, 14);
	assert_int_equal(err.length, 10);
	assert_memory_equal(&a, &orig, sizeof(a));
}

/* ---- formatting --------------------------------------------------------- */

/* Every short buffer gets HVS_ENOBUFS and a NUL-terminated prefix. */
static void
test_format_short_buffers(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(ok_cases); i++) {
		const struct ok_case *c = &ok_cases[i];
		size_t want = strlen(c->canon);

		for (size_t size = 0; size <= want + 1; size++) {
			char *buf = malloc(size > 0 ? size : 1);
			int r;

			assert_non_null(buf);
			memset(buf, 'Z', size > 0 ? size : 1);
			r = hvs_addr_format(&c->want, size > 0 ? buf : NULL,
			    size);
			if (size <= want) {
				assert_int_equal(r, HVS_ENOBUFS);
				if (size > 0) {
					assert_int_equal(strlen(buf), size - 1);
					assert_memory_equal(buf, c->canon,
					    size - 1);
				}
			} else {
				assert_int_equal(r, want);
				assert_string_equal(buf, c->canon);
			}
			free(buf);
		}
	}
}

static void
test_format_constructed(void **state)
{
	hvs_addr_t a;
	char buf[HVS_ADDR_STRLEN];

	(void)state;
	hvs_addr_vsock(&a, HVS_CID_ANY, HVS_PORT_ANY);
	assert_int_equal(hvs_addr_format(&a, buf, sizeof(buf)), 13);
	assert_string_equal(buf, "vsock:any:any");
	hvs_addr_vsock(&a, 0, 0);
	hvs_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "vsock:0:0");
	hvs_addr_vsock(&a, 0xfffffffe, 0xfffffffe);
	hvs_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "vsock:4294967294:4294967294");
	check_roundtrip(&a, buf, "vsock max");

	/* WSL: the name is what counts, not a (resolved) VM id. */
	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_HVSOCK;
	a.u.hvsock.vm_id = *hvs_vmid_get(HVS_VMID_PARENT);
	a.u.hvsock.vm_flags = HVS_VMID_F_WSL;
	assert_int_equal(hvs_service_from_port(&a.u.hvsock.service_id, 9), 0);
	hvs_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "hvsock:wsl:9");
	check_roundtrip(&a, buf, "wsl with a VM id");

	/* Unknown flag bits are not part of the value. */
	a.u.hvsock.vm_flags = 0x100;
	hvs_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "hvsock:parent:9");
	check_roundtrip(&a, buf, "unknown vm flags");

	/* The longest output still fits HVS_ADDR_STRLEN. */
	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_HVSOCK;
	assert_int_equal(hvs_guid_parse(&a.u.hvsock.vm_id, S_OTHER, 36), 0);
	a.u.hvsock.service_id = a.u.hvsock.vm_id;
	assert_int_equal(hvs_addr_format(&a, buf, sizeof(buf)),
	    7 + 36 + 1 + 36);
	check_roundtrip(&a, buf, "two GUIDs");
}

static void
test_format_invalid(void **state)
{
	hvs_addr_t a;
	char buf[HVS_ADDR_STRLEN];

	(void)state;
#define EXPECT_EINVAL(what)                                                \
	do {                                                               \
		memset(buf, 'Z', sizeof(buf));                             \
		if (hvs_addr_format(&a, buf, sizeof(buf)) != HVS_EINVAL) { \
			fail_msg("%s formatted as \"%.60s\"", what, buf);  \
		}                                                          \
		assert_int_equal(buf[0], '\0');                            \
	} while (0)

	memset(&a, 0, sizeof(a));
	EXPECT_EINVAL("kind none");
	a.kind = (hvs_addr_kind_t)42;
	EXPECT_EINVAL("kind 42");
	a.kind = (hvs_addr_kind_t)-1;
	EXPECT_EINVAL("kind -1");

	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_FD;
	a.u.fd.fd = -1;
	EXPECT_EINVAL("fd -1");
	a.u.fd.fd = INT_MIN;
	EXPECT_EINVAL("fd INT_MIN");

	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_UNIX;
	EXPECT_EINVAL("unnamed unix socket");
	memset(a.u.local.path, 'x', sizeof(a.u.local.path));
	a.u.local.len = sizeof(a.u.local.path);
	EXPECT_EINVAL("unterminated path");
	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_UNIX;
	strcpy(a.u.local.path, "@file");
	a.u.local.len = 5;
	EXPECT_EINVAL("file name starting with @");
	a.u.local.abstract = 1;
	a.u.local.len = 0;
	EXPECT_EINVAL("empty abstract name");
	memcpy(a.u.local.path, "a\0b", 3);
	a.u.local.len = 3;
	EXPECT_EINVAL("abstract name with a NUL");
	a.u.local.len = HVS_PATH_MAX;
	EXPECT_EINVAL("abstract name of 108");
	a.u.local.len = (size_t)-1;
	EXPECT_EINVAL("abstract name of SIZE_MAX");

	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_TCP;
	a.u.tcp.port = 80;
	EXPECT_EINVAL("empty host");
	memset(a.u.tcp.host, 'h', sizeof(a.u.tcp.host));
	EXPECT_EINVAL("unterminated host");
	static const char *const bad_hosts[] = {"a b", "[::1]", "1.2.3", "::1%",
	    ":::1", "-x", "a..b", "**", "host:80"};
	for (size_t i = 0; i < HVS__ARRAY_LEN(bad_hosts); i++) {
		memset(&a.u.tcp.host, 0, sizeof(a.u.tcp.host));
		strcpy(a.u.tcp.host, bad_hosts[i]);
		EXPECT_EINVAL(bad_hosts[i]);
	}
	/* A bare IPv6 host gets its brackets. */
	strcpy(a.u.tcp.host, "fe80::2%lo");
	assert_int_equal(hvs_addr_format(&a, buf, sizeof(buf)), 19);
	assert_string_equal(buf, "tcp:[fe80::2%lo]:80");

	/* vsock-mux: only what parses back (connecting). */
	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_VSOCK_MUX;
	a.u.mux.port = 5000;
	EXPECT_EINVAL("vsock-mux without a path");
	memset(a.u.mux.path, 'm', sizeof(a.u.mux.path));
	EXPECT_EINVAL("vsock-mux with an unterminated path");
	memset(a.u.mux.path, 0, sizeof(a.u.mux.path));
	strcpy(a.u.mux.path, "@vm");
	EXPECT_EINVAL("vsock-mux with an abstract name");
	strcpy(a.u.mux.path, "/run/vm.sock");
	a.u.mux.port = HVS_PORT_ANY;
	EXPECT_EINVAL("vsock-mux to port any");
	a.u.mux.port = 1;
	assert_int_equal(hvs_addr_format(&a, buf, sizeof(buf)), 24);
	assert_string_equal(buf, "vsock-mux:/run/vm.sock:1");

	assert_int_equal(hvs_addr_format(NULL, buf, sizeof(buf)), HVS_EINVAL);
	assert_int_equal(hvs_addr_format(NULL, NULL, 0), HVS_EINVAL);
#undef EXPECT_EINVAL
}

/* ---- equality ----------------------------------------------------------- */

/* Two copies of @src built over different garbage compare equal. */
static void
twins(const hvs_addr_t *src, hvs_addr_t *a, hvs_addr_t *b)
{
	memset(a, 0xaa, sizeof(*a));
	memset(b, 0x55, sizeof(*b));
	a->kind = b->kind = src->kind;
	switch (src->kind) {
	case HVS_ADDR_VSOCK:
		a->u.vsock = b->u.vsock = src->u.vsock;
		break;
	case HVS_ADDR_HVSOCK:
		a->u.hvsock.vm_id = b->u.hvsock.vm_id = src->u.hvsock.vm_id;
		a->u.hvsock.service_id = b->u.hvsock.service_id =
		    src->u.hvsock.service_id;
		a->u.hvsock.vm_flags = b->u.hvsock.vm_flags =
		    src->u.hvsock.vm_flags;
		break;
	case HVS_ADDR_TCP:
		/* strcpy: the bytes after the NUL stay garbage. */
		strcpy(a->u.tcp.host, src->u.tcp.host);
		strcpy(b->u.tcp.host, src->u.tcp.host);
		a->u.tcp.port = b->u.tcp.port = src->u.tcp.port;
		break;
	case HVS_ADDR_UNIX:
		memcpy(a->u.local.path, src->u.local.path, src->u.local.len);
		memcpy(b->u.local.path, src->u.local.path, src->u.local.len);
		if (!src->u.local.abstract) {
			a->u.local.path[src->u.local.len] = '\0';
			b->u.local.path[src->u.local.len] = '\0';
		}
		a->u.local.len = b->u.local.len = src->u.local.len;
		a->u.local.abstract = b->u.local.abstract =
		    src->u.local.abstract;
		break;
	case HVS_ADDR_FD:
		a->u.fd.fd = b->u.fd.fd = src->u.fd.fd;
		break;
	case HVS_ADDR_VSOCK_MUX:
		strcpy(a->u.mux.path, src->u.mux.path);
		strcpy(b->u.mux.path, src->u.mux.path);
		a->u.mux.len = b->u.mux.len = src->u.mux.len;
		a->u.mux.port = b->u.mux.port = src->u.mux.port;
		break;
	default:
		break;
	}
}

static void
test_equal_ignores_padding(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(ok_cases); i++) {
		hvs_addr_t a, b;

		twins(&ok_cases[i].want, &a, &b);
		if (!hvs_addr_equal(&a, &b)) {
			fail_msg("\"%s\": twins differ", ok_cases[i].in);
		}
		assert_true(hvs_addr_equal(&b, &a));
		assert_true(hvs_addr_equal(&a, &a));
		assert_true(hvs_addr_equal(&a, &ok_cases[i].want));
	}
}

/* Every pair of table entries with different canonical forms differs. */
static void
test_equal_distinct(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(ok_cases); i++) {
		for (size_t j = 0; j < HVS__ARRAY_LEN(ok_cases); j++) {
			int same =
			    strcmp(ok_cases[i].canon, ok_cases[j].canon) == 0;

			if (hvs_addr_equal(&ok_cases[i].want,
				&ok_cases[j].want) != same) {
				fail_msg("\"%s\" vs \"%s\": equal should be "
					 "%d",
				    ok_cases[i].in, ok_cases[j].in, same);
			}
		}
	}
}

static void
test_equal_fields(void **state)
{
	hvs_addr_t a, b;

	(void)state;
	assert_false(hvs_addr_equal(NULL, NULL));
	hvs_addr_vsock(&a, 2, 5000);
	assert_false(hvs_addr_equal(&a, NULL));
	assert_false(hvs_addr_equal(NULL, &a));

	b = a;
	b.u.vsock.cid = 3;
	assert_false(hvs_addr_equal(&a, &b));
	b = a;
	b.u.vsock.port = 5001;
	assert_false(hvs_addr_equal(&a, &b));
	b = a;
	b.kind = HVS_ADDR_FD;
	assert_false(hvs_addr_equal(&a, &b));

	/* hvsock: each part counts, but a WSL VM id is a name. */
	assert_int_equal(hvs_addr_parse_str(&a, "hvsock:parent:5000",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	b = a;
	b.u.hvsock.vm_id.data4[7] ^= 1;
	assert_false(hvs_addr_equal(&a, &b));
	b = a;
	b.u.hvsock.service_id.data1 ^= 1;
	assert_false(hvs_addr_equal(&a, &b));
	b = a;
	b.u.hvsock.vm_flags = HVS_VMID_F_WSL;
	assert_false(hvs_addr_equal(&a, &b));
	a.u.hvsock.vm_flags = HVS_VMID_F_WSL;
	b.u.hvsock.vm_id.data1 ^= 0xffff;
	assert_true(hvs_addr_equal(&a, &b));

	/* tcp: host as written, and port. */
	assert_int_equal(hvs_addr_parse_str(&a, "tcp:localhost:80",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_int_equal(hvs_addr_parse_str(&b, "tcp:LOCALHOST:80",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_false(hvs_addr_equal(&a, &b));
	assert_int_equal(hvs_addr_parse_str(&b, "tcp:localhost:81",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_false(hvs_addr_equal(&a, &b));
	assert_int_equal(hvs_addr_parse_str(&b, "tcp:80", HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_true(hvs_addr_equal(&a, &b));
	assert_int_equal(hvs_addr_parse_str(&b, "tcp:80", HVS_ROLE_LISTEN,
			     NULL),
	    0);
	assert_false(hvs_addr_equal(&a, &b));

	/* unix: abstract or not, and the name as bytes. */
	assert_int_equal(hvs_addr_parse_str(&a, "unix:name", HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_int_equal(hvs_addr_parse_str(&b, "unix:@name", HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_false(hvs_addr_equal(&a, &b));
	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_UNIX;
	a.u.local.abstract = 1;
	memcpy(a.u.local.path, "a\0b", 3);
	a.u.local.len = 3;
	b = a;
	assert_true(hvs_addr_equal(&a, &b));
	b.u.local.path[2] = 'c';
	assert_false(hvs_addr_equal(&a, &b));
	b = a;
	b.u.local.len = 2;
	assert_false(hvs_addr_equal(&a, &b));
	/* A nonsense length never reads past the array. */
	a.u.local.len = b.u.local.len = (size_t)-1;
	assert_false(hvs_addr_equal(&a, &b));

	/* vsock-mux: the path and the port; never the same as unix:. */
	assert_int_equal(hvs_addr_parse_str(&a, "vsock-mux:/run/vm.sock:5000",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	b = a;
	b.u.mux.port = 5001;
	assert_false(hvs_addr_equal(&a, &b));
	b = a;
	b.u.mux.path[1] = 'R';
	assert_false(hvs_addr_equal(&a, &b));
	assert_int_equal(hvs_addr_parse_str(&b, "unix:/run/vm.sock",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_false(hvs_addr_equal(&a, &b));
	b = a;
	b.u.mux.len = 0; /* a convenience: the path is a C string */
	assert_true(hvs_addr_equal(&a, &b));

	/* fd, stdio, none */
	assert_int_equal(hvs_addr_parse_str(&a, "fd:3", HVS_ROLE_LISTEN, NULL),
	    0);
	b = a;
	b.u.fd.fd = 4;
	assert_false(hvs_addr_equal(&a, &b));
	memset(&a, 0x11, sizeof(a));
	memset(&b, 0x22, sizeof(b));
	a.kind = b.kind = HVS_ADDR_STDIO;
	assert_true(hvs_addr_equal(&a, &b));
	a.kind = b.kind = HVS_ADDR_NONE;
	assert_true(hvs_addr_equal(&a, &b));
}

/* ---- small functions ---------------------------------------------------- */

static void
test_kind_name(void **state)
{
	static const struct {
		hvs_addr_kind_t kind;
		const char *name;
	} names[] = {
	    {HVS_ADDR_NONE, "none"},
	    {HVS_ADDR_VSOCK, "vsock"},
	    {HVS_ADDR_HVSOCK, "hvsock"},
	    {HVS_ADDR_TCP, "tcp"},
	    {HVS_ADDR_UNIX, "unix"},
	    {HVS_ADDR_FD, "fd"},
	    {HVS_ADDR_STDIO, "stdio"},
	    {HVS_ADDR_VSOCK_MUX, "vsock-mux"},
	};

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(names); i++) {
		assert_string_equal(hvs_addr_kind_name(names[i].kind),
		    names[i].name);
	}
	assert_string_equal(hvs_addr_kind_name((hvs_addr_kind_t)99), "unknown");
	assert_string_equal(hvs_addr_kind_name((hvs_addr_kind_t)-1), "unknown");

	/* The scheme of every parsed address is its kind's name. */
	for (size_t i = 0; i < HVS__ARRAY_LEN(ok_cases); i++) {
		const char *name = hvs_addr_kind_name(ok_cases[i].want.kind);

		assert_memory_equal(ok_cases[i].canon, name, strlen(name));
	}
}

static void
test_addr_vsock(void **state)
{
	hvs_addr_t a, b;

	(void)state;
	memset(&a, 0xa5, sizeof(a));
	hvs_addr_vsock(&a, 7, 8);
	assert_int_equal(a.kind, HVS_ADDR_VSOCK);
	assert_int_equal(a.u.vsock.cid, 7);
	assert_int_equal(a.u.vsock.port, 8);
	assert_int_equal(hvs_addr_parse_str(&b, "vsock:7:8", HVS_ROLE_LISTEN,
			     NULL),
	    0);
	assert_true(hvs_addr_equal(&a, &b));
}

static void
test_service_port(void **state)
{
	static const struct {
		const char *in;
		int code;
		uint32_t port;
	} cases[] = {
	    {"vsock:2:5000", 0, 5000},
	    {"vsock:2:0", 0, 0},
	    {"vsock:any:any", 0, HVS_PORT_ANY},
	    {"hvsock:parent:5000", 0, 5000},
	    {"hvsock:wsl:22", 0, 22},
	    {"hvsock:parent:2147483647", 0, 2147483647u},
	    {"hvsock:parent:" S_OTHER, HVS_ESERVICE_NOT_TEMPLATE, 0},
	    {"hvsock:parent:80000000-facb-11e6-bd58-64006a7986d3",
		HVS_EADDR_PORT_RANGE, 0},
	    {"tcp:h:80", HVS_EADDR_KIND, 0},
	    {"unix:/x", HVS_EADDR_KIND, 0},
	    {"fd:3", HVS_EADDR_KIND, 0},
	    {"stdio", HVS_EADDR_KIND, 0},
	};
	hvs_addr_t a;
	uint32_t port;

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(cases); i++) {
		assert_int_equal(hvs_addr_parse_str(&a, cases[i].in,
				     HVS_ROLE_CONNECT, NULL),
		    0);
		port = 0xdead;
		assert_int_equal(hvs_addr_service_port(&a, &port),
		    cases[i].code);
		assert_int_equal(port,
		    cases[i].code == 0 ? cases[i].port : 0xdead);
	}
	memset(&a, 0, sizeof(a));
	assert_int_equal(hvs_addr_service_port(&a, &port), HVS_EADDR_KIND);
	assert_int_equal(hvs_addr_service_port(NULL, &port), HVS_EINVAL);
	assert_int_equal(hvs_addr_service_port(&a, NULL), HVS_EINVAL);
}

/* ---- hostile input at volume -------------------------------------------- */

/*
 * Whatever comes in: a failure is a listed code whose span lies inside the
 * input and *out is untouched; a success formats and round-trips.
 */
static void
check_invariants(const char *s, size_t n)
{
	for (size_t k = 0; k < HVS__ARRAY_LEN(roles); k++) {
		hvs_addr_t a, orig;
		hvs_parse_error_t err;
		char canon[HVS_ADDR_STRLEN];
		int r;

		memset(&a, 0x3c, sizeof(a));
		orig = a;
		r = parse_exact(&a, s, n, roles[k], &err);
		if (r < 0) {
			assert_int_equal(err.code, r);
			assert_string_not_equal(hvs_err_name(r), "UNKNOWN");
			assert_true(err.offset <= n);
			assert_true(err.length <= n - err.offset);
			assert_memory_equal(&a, &orig, sizeof(a));
			continue;
		}
		assert_int_equal(r, 0);
		check_roundtrip(&a, canon, "fuzz");
	}
}

static uint64_t rng = 0x243f6a8885a308d3u;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void
test_fuzz_tokens(void **state)
{
	static const char *const pieces[] = {"vsock", "hvsock", "tcp", "unix",
	    "fd", "stdio", "vsock-mux", ":", ":", ":", "any", "host", "local",
	    "hypervisor", "2", "5000", "0", "00", "4294967295", "4294967296",
	    "65535", "65536", "2147483647", "2147483648", "[", "]", "::1",
	    "::", "*", "@", "/tmp/x", "parent", "wildcard", "wsl", "WSL",
	    "children", S_OTHER, "{", "}", "-", ".", "\0", " ", "%", "eth0",
	    "localhost", "127.0.0.1", "a", "x.y", "0x", "+", "\xff", "fe80",
	    "00001388-facb-11e6-bd58-64006a7986d3"};

	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		char buf[512];
		size_t n = 0;
		int count = 1 + (int)(next_rand() % 8);

		for (int j = 0; j < count; j++) {
			const char *p =
			    pieces[next_rand() % HVS__ARRAY_LEN(pieces)];
			/* "\0" has length 1 here: it is a NUL byte. */
			size_t pn = p[0] == '\0' ? 1 : strlen(p);

			memcpy(buf + n, p, pn);
			n += pn;
		}
		check_invariants(buf, n);
	}
}

static void
test_fuzz_bytes(void **state)
{
	static const char alphabet[] = "vsockhtpunixfdi:0123456789[]@*.-{}%"
				       "abcdefABCDEF \xff";

	(void)state;
	for (int iter = 0; iter < 50000; iter++) {
		char buf[80];
		size_t n = next_rand() % sizeof(buf);
		int raw = iter % 2;

		for (size_t j = 0; j < n; j++) {
			buf[j] = raw
			    ? (char)next_rand()
			    : alphabet[next_rand() % (sizeof(alphabet) - 1)];
		}
		check_invariants(buf, n);
	}
}

/* Every prefix of every good address, and every one-byte deletion. */
static void
test_mutations(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(ok_cases); i++) {
		const char *in = ok_cases[i].in;
		size_t n = strlen(in);
		char buf[256];

		for (size_t cut = 0; cut <= n; cut++) {
			check_invariants(in, cut);
		}
		for (size_t del = 0; del < n; del++) {
			memcpy(buf, in, del);
			memcpy(buf + del, in + del + 1, n - del - 1);
			check_invariants(buf, n - 1);
		}
		/* And a NUL at every position is always refused. */
		for (size_t at = 0; at < n; at++) {
			memcpy(buf, in, n);
			buf[at] = '\0';
			check_bad(buf, n, HVS_EADDR_NUL, at, 1, in);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_str),
	    cmocka_unit_test(test_role_defaults),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_mux_bad),
	    cmocka_unit_test(test_parse_bad_args),
	    cmocka_unit_test(test_parse_len_cuts),
	    cmocka_unit_test(test_length_limits),
	    cmocka_unit_test(test_unix_path_limits),
	    cmocka_unit_test(test_host_limits),
	    cmocka_unit_test(test_number_edges),
	    cmocka_unit_test(test_hvsock_mapping),
	    cmocka_unit_test(test_format_short_buffers),
	    cmocka_unit_test(test_format_constructed),
	    cmocka_unit_test(test_format_invalid),
	    cmocka_unit_test(test_equal_ignores_padding),
	    cmocka_unit_test(test_equal_distinct),
	    cmocka_unit_test(test_equal_fields),
	    cmocka_unit_test(test_kind_name),
	    cmocka_unit_test(test_addr_vsock),
	    cmocka_unit_test(test_service_port),
	    cmocka_unit_test(test_fuzz_tokens),
	    cmocka_unit_test(test_fuzz_bytes),
	    cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
