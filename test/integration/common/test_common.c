/* SPDX-License-Identifier: MIT */
/*
 * common-units: bin/common on its own: the bounded parsers of numbers,
 * durations, sizes and yes/no and their formatters, the allowlist
 * grammar, its check against a listener's kind and its match against
 * peers, the reading of a tcp peer's address and scope (from its socket
 * address, never its text) and of a unix peer's credentials, and the
 * quoting and escaping of bytes, the warning for a service GUID that
 * Linux and FreeBSD guests cannot use, and the VM ids that are for
 * listeners only.
 * The same forms through both tools: tools_agree.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <cmocka.h>

#include "common/allow.h"
#include "common/num.h"
#include "common/peer.h"
#include "common/svcguid.h"
#include "common/util.h"

/*
 * Windows has no user ids: user:NAME is refused there with this reason,
 * and uid:N entries cannot be checked (hvc_peer_cred_supported()).
 */
#ifdef _WIN32
#define HAVE_USER_IDS 0
#else
#define HAVE_USER_IDS 1
#endif
#define NO_USER_IDS                                                         \
	"this system has no user ids and does not tell who a unix peer is " \
	"(use the socket file's permissions)"

/* 1 if @in names a user (user:NAME) the system cannot look up. */
static int
user_refused(const char *in, char *out, size_t size)
{
	const char *u = strstr(in, "user:");
	size_t n;

	if (HAVE_USER_IDS || u == NULL || u[5] == '\0') {
		return 0;
	}
	n = strcspn(u, " ,\t");
	snprintf(out, size, "'%.*s': %s", (int)n, u, NO_USER_IDS);
	return 1;
}

static void
test_uint(void **state)
{
	char why[HVC_WHY_SIZE];
	uint64_t v;

	assert_int_equal(hvc_parse_uint("0", 0, 10, &v, why, sizeof(why)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hvc_parse_uint("10", 0, 10, &v, why, sizeof(why)), 0);
	assert_int_equal(v, 10);
	assert_int_equal(hvc_parse_uint("007", 0, 10, &v, why, sizeof(why)), 0);
	assert_int_equal(v, 7);
	assert_int_equal(hvc_parse_uint("11", 0, 10, &v, why, sizeof(why)), -1);
	assert_string_equal(why, "number is too large (0 to 10)");
	assert_int_equal(hvc_parse_uint("2", 3, 10, &v, why, sizeof(why)), -1);
	assert_string_equal(why, "number is too small (3 to 10)");
	assert_int_equal(hvc_parse_uint("18446744073709551615", 0, UINT64_MAX,
			     &v, why, sizeof(why)),
	    0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(hvc_parse_uint("18446744073709551616", 0, UINT64_MAX,
			     &v, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "number is too large"));
	assert_int_equal(hvc_parse_uint("99999999999999999999999", 1, 5, &v,
			     why, sizeof(why)),
	    -1);
	assert_string_equal(why, "number is too large (1 to 5)");
	static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "0x10",
	    "1.5", "1k", "x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hvc_parse_uint(bad[i], 0, 100, &v, why,
				     sizeof(why)),
		    -1);
		assert_string_equal(why, "expected a whole number (0 to 100)");
	}
	/* No room for a reason is fine. */
	assert_int_equal(hvc_parse_uint("x", 0, 1, &v, NULL, 0), -1);
}

static void
test_duration(void **state)
{
	static const struct {
		const char *s;
		int ms;
	} good[] = {
	    {"30", 30000},
	    {"30s", 30000},
	    {"0.5", 500},
	    {".5", 500},
	    {"1.25", 1250},
	    {"0.001", 1},
	    {"1.5s", 1500},
	    {"500ms", 500},
	    {"2m", 120000},
	    {"1.5m", 90000},
	    {"1h", 3600000},
	    {"0.001h", 3600},
	    {"007", 7000},
	    {"596h", 596 * 3600000},
	    {"2147483647ms", 2147483647},
	    {"0", 0},
	    {"0ms", 0},
	};
	static const struct {
		const char *s;
		const char *why;
	} bad[] = {
	    {"", "expected a duration such as 30, 0.5, 500ms, 2m or 1h"},
	    {"x", "expected a duration such as 30, 0.5, 500ms, 2m or 1h"},
	    {"-1", "expected a duration such as 30, 0.5, 500ms, 2m or 1h"},
	    {" 1", "expected a duration such as 30, 0.5, 500ms, 2m or 1h"},
	    {".", "expected a duration such as 30, 0.5, 500ms, 2m or 1h"},
	    {"s", "expected a duration such as 30, 0.5, 500ms, 2m or 1h"},
	    {"5x", "unknown unit (expected ms, s, m or h)"},
	    {"1 ", "unknown unit (expected ms, s, m or h)"},
	    {"30S", "unknown unit (expected ms, s, m or h)"},
	    {"1h30m", "unknown unit (expected ms, s, m or h)"},
	    {"1e3", "unknown unit (expected ms, s, m or h)"},
	    {"1.", "expected at most three decimals (such as 0.5 or 1.25s)"},
	    {"1.2345",
		"expected at most three decimals (such as 0.5 or 1.25s)"},
	    {"1.5ms", "expected whole milliseconds (such as 500ms)"},
	    {"597h", "duration is too long (at most 24 days)"},
	    {"2147483648ms", "duration is too long (at most 24 days)"},
	    {"99999999999999999999999s",
		"duration is too long (at most 24 days)"},
	};
	char why[HVC_WHY_SIZE];
	int ms;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		assert_int_equal(hvc_parse_duration(good[i].s, 1, &ms, why,
				     sizeof(why)),
		    0);
		assert_int_equal(ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hvc_parse_duration(bad[i].s, 1, &ms, why,
				     sizeof(why)),
		    -1);
		assert_string_equal(why, bad[i].why);
	}
	assert_int_equal(hvc_parse_duration("0", 0, &ms, why, sizeof(why)), -1);
	assert_string_equal(why, "duration must be more than 0");
	assert_int_equal(hvc_parse_duration("0.000", 0, &ms, why, sizeof(why)),
	    -1);
	assert_int_equal(hvc_parse_duration("0.001", 0, &ms, why, sizeof(why)),
	    0);
}

static void
test_size(void **state)
{
	static const struct {
		const char *s;
		size_t n;
	} good[] = {
	    {"4096", 4096},
	    {"65536", 65536},
	    {"4k", 4096},
	    {"64k", 65536},
	    {"64K", 65536},
	    {"64KB", 65536},
	    {"64KiB", 65536},
	    {"1m", 1048576},
	    {"1M", 1048576},
	    {"1MiB", 1048576},
	    {"64m", 67108864},
	};
	static const struct {
		const char *s;
		const char *why;
	} bad[] = {
	    {"", "expected a size such as 65536, 64k or 1m"},
	    {"k", "expected a size such as 65536, 64k or 1m"},
	    {"-1", "expected a size such as 65536, 64k or 1m"},
	    {"1t", "unknown unit (expected k, m or g)"},
	    {"64kb", "unknown unit (expected k, m or g)"},
	    {"1.5m", "unknown unit (expected k, m or g)"},
	    {"64 k", "unknown unit (expected k, m or g)"},
	    {"1", "size is too small (at least 4k)"},
	    {"0", "size is too small (at least 4k)"},
	    {"4095", "size is too small (at least 4k)"},
	    {"3k", "size is too small (at least 4k)"},
	    {"65m", "size is too large (at most 64m)"},
	    {"67108865", "size is too large (at most 64m)"},
	    {"1g", "size is too large (at most 64m)"},
	    /* More digits than 64 bits hold: too large, never too small. */
	    {"99999999999999999999", "size is too large (at most 64m)"},
	    {"99999999999999999999999", "size is too large (at most 64m)"},
	    {"99999999999999999999k", "size is too large (at most 64m)"},
	    {"18446744073709551616", "size is too large (at most 64m)"},
	    {"18014398509481984k", "size is too large (at most 64m)"},
	};
	char why[HVC_WHY_SIZE], want[HVC_WHY_SIZE];
	size_t n;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(hvc_parse_size(good[i].s, HVC_BUFFER_MIN,
				     HVC_BUFFER_MAX, &n, why, sizeof(why)),
		    0);
		assert_int_equal(n, good[i].n);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hvc_parse_size(bad[i].s, HVC_BUFFER_MIN,
				     HVC_BUFFER_MAX, &n, why, sizeof(why)),
		    -1);
		assert_string_equal(why, bad[i].why);
	}
	assert_int_equal(hvc_parse_size("2G", 1, SIZE_MAX, &n, why,
			     sizeof(why)),
	    0);
	assert_true(n == (size_t)2 << 30);
	/* Past what 64 bits hold, whatever the bounds. */
	assert_int_equal(hvc_parse_size("99999999999999999999", 1, SIZE_MAX, &n,
			     why, sizeof(why)),
	    -1);
	snprintf(want, sizeof(want), "size is too large (at most %zu)",
	    (size_t)SIZE_MAX);
	assert_string_equal(why, want);
	assert_int_equal(hvc_parse_size("99999999999999999999g", 1, SIZE_MAX,
			     &n, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "size is too large"));
}

static void
test_bool(void **state)
{
	char why[HVC_WHY_SIZE];
	int b;

	assert_int_equal(hvc_parse_bool("yes", &b, why, sizeof(why)), 0);
	assert_int_equal(b, 1);
	assert_int_equal(hvc_parse_bool("off", &b, why, sizeof(why)), 0);
	assert_int_equal(b, 0);
	assert_int_equal(hvc_parse_bool("Yes", &b, why, sizeof(why)), -1);
	assert_string_equal(why, "expected yes or no");
}

/* What the formatters write reads back as the same value. */
static void
test_format(void **state)
{
	static const int ms[] = {0, 1, 250, 999, 1000, 1500, 30000, 60000,
	    90000, 120000, 3600000, 5400000, 7200000, 86400000, 2147483647};
	static const size_t sizes[] = {4096, 65536, 100000, 262144, 1048576,
	    1572864, 67108864, (size_t)3 << 30};
	char buf[32], why[HVC_WHY_SIZE];
	int back;
	size_t sback;

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		assert_int_equal(hvc_format_duration(ms[i], buf, sizeof(buf)),
		    0);
		assert_int_equal(hvc_parse_duration(buf, 1, &back, why,
				     sizeof(why)),
		    0);
		assert_int_equal(back, ms[i]);
	}
	hvc_format_duration(7200000, buf, sizeof(buf));
	assert_string_equal(buf, "2h");
	hvc_format_duration(90000, buf, sizeof(buf));
	assert_string_equal(buf, "90s");
	hvc_format_duration(250, buf, sizeof(buf));
	assert_string_equal(buf, "250ms");
	assert_int_equal(hvc_format_duration(250, buf, 3), -1);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(hvc_format_size(sizes[i], buf, sizeof(buf)),
		    0);
		assert_int_equal(hvc_parse_size(buf, 1, SIZE_MAX, &sback, why,
				     sizeof(why)),
		    0);
		assert_true(sback == sizes[i]);
	}
	hvc_format_size(1572864, buf, sizeof(buf));
	assert_string_equal(buf, "1536k");
	hvc_format_size(100000, buf, sizeof(buf));
	assert_string_equal(buf, "100000");
	hvc_format_size((size_t)3 << 30, buf, sizeof(buf));
	assert_string_equal(buf, "3g");
}

/* @text parsed alone: 0 and its entries formatted, comma-separated, in
 * @out; or -1 and the reason in @out. */
static int
allow_text(const char *text, char *out, size_t size)
{
	struct hvc_allow a;
	size_t o = 0;

	memset(&a, 0, sizeof(a));
	if (hvc_allow_parse(&a, text, out, size) != 0) {
		assert_int_equal(a.n, 0);
		assert_false(a.given);
		hvc_allow_clear(&a);
		return -1;
	}
	assert_true(a.given);
	out[0] = '\0';
	for (size_t i = 0; i < a.n; i++) {
		char e[64];

		assert_int_equal(hvc_allow_format(&a.v[i], e, sizeof(e)), 0);
		o += (size_t)snprintf(out + o, size - o, "%s%s",
		    i > 0 ? "," : "", e);
	}
	hvc_allow_clear(&a);
	return 0;
}

static void
test_allow_forms(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
	    {"3", "cid:3"},
	    {"cid:3", "cid:3"},
	    {"cid:007", "cid:7"},
	    {"host", "cid:2"},
	    {"cid:host", "cid:2"},
	    {"local,cid:local", "cid:1,cid:1"},
	    {"hypervisor", "cid:0"},
	    {"4294967294", "cid:4294967294"},
	    {"12345678-1234-1234-1234-123456789ABC",
		"12345678-1234-1234-1234-123456789abc"},
	    {"127.0.0.1", "127.0.0.1/32"},
	    {"10.1.2.3/8", "10.0.0.0/8"},
	    {"0.0.0.0/0", "0.0.0.0/0"},
	    {"::1", "::1/128"},
	    {"[::1]", "::1/128"},
	    {"[fd00::1]/8", "fd00::/8"},
	    {"fd00::/8", "fd00::/8"},
	    {"10.0.0.0/08", "10.0.0.0/8"},
	    {"1, 2 3\t,4", "cid:1,cid:2,cid:3,cid:4"},
	    {"  10.0.0.0/8  ", "10.0.0.0/8"},
	    {"", ""},
	    {" \t ", ""},
	    {"uid:0", "uid:0"},
	    {"uid:1000, uid:007", "uid:1000,uid:7"},
	    {"uid:4294967294", "uid:4294967294"},
	    {"user:root", "uid:0"},
	};
	static const struct {
		const char *in, *why;
	} bad[] = {
	    {"1,,2",
		"'1,,2': empty entry (entries are separated by a comma "
		"or blanks)"},
	    {",1",
		"',1': empty entry (entries are separated by a comma or "
		"blanks)"},
	    {"1,",
		"'1,': empty entry (entries are separated by a comma or "
		"blanks)"},
	    {"1 , ,2",
		"'1 , ,2': empty entry (entries are separated by a "
		"comma or blanks)"},
	    {"nonsense",
		"'nonsense' is not a CID (3, cid:3, host), a VM id "
		"(GUID), an IP network (10.0.0.0/8, fd00::/8, "
		"[::1]) or a user (uid:0, user:root)"},
	    {"cid:x",
		"'cid:x': bad CID (expected a number, host, local or "
		"hypervisor)"},
	    {"cid:",
		"'cid:': bad CID (expected a number, host, local or "
		"hypervisor)"},
	    {"cid:any",
		"'cid:any': bad CID (expected a number, host, local "
		"or hypervisor)"},
	    {"4294967295",
		"'4294967295': bad CID: number is too large (0 to "
		"4294967294)"},
	    {"10.0.0.0/33",
		"'10.0.0.0/33': bad prefix length (expected 0 "
		"to 32)"},
	    {"::1/129", "'::1/129': bad prefix length (expected 0 to 128)"},
	    {"10.0.0.0/",
		"'10.0.0.0/': bad prefix length (expected 0 to "
		"32)"},
	    {"[10.0.0.1]",
		"'[10.0.0.1]' is not a CID (3, cid:3, host), a VM "
		"id (GUID), an IP network (10.0.0.0/8, fd00::/8, "
		"[::1]) or a user (uid:0, user:root)"},
	    {"fe80::1%1",
		"'fe80::1%1': an IP network takes no %scope (it matches a "
		"link-local peer through every interface)"},
	    {"[fe80::1%eth0]/64",
		"'[fe80::1%eth0]/64': an IP network takes no %scope (it "
		"matches a link-local peer through every interface)"},
	    {"x%1",
		"'x%1' is not a CID (3, cid:3, host), a VM id (GUID), an IP "
		"network (10.0.0.0/8, fd00::/8, [::1]) or a user (uid:0, "
		"user:root)"},
	    {"uid:",
		"'uid:': bad uid: expected a whole number (0 to "
		"4294967294)"},
	    {"uid:x",
		"'uid:x': bad uid: expected a whole number (0 to "
		"4294967294)"},
	    {"uid:-1",
		"'uid:-1': bad uid: expected a whole number (0 to "
		"4294967294)"},
	    {"uid:4294967295",
		"'uid:4294967295': bad uid: number is too large (0 to "
		"4294967294)"},
	    {"user:", "'user:': bad user (expected a user name)"},
	    {"user:no-such-user-hvsock",
		"'user:no-such-user-hvsock': no such user"},
	    {"uid:0,user:no-such-user-hvsock",
		"'user:no-such-user-hvsock': no such user"},
	    {"1\x01",
		"'1\\x01' is not a CID (3, cid:3, host), a VM id "
		"(GUID), an IP network (10.0.0.0/8, fd00::/8, "
		"[::1]) or a user (uid:0, user:root)"},
	};
	char out[512];

	char want[512];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (user_refused(good[i].in, want, sizeof(want))) {
			assert_int_equal(allow_text(good[i].in, out,
					     sizeof(out)),
			    -1);
			assert_string_equal(out, want);
			continue;
		}
		assert_int_equal(allow_text(good[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(allow_text(bad[i].in, out, sizeof(out)), -1);
		if (user_refused(bad[i].in, want, sizeof(want))) {
			assert_string_equal(out, want);
			continue;
		}
		assert_string_equal(out, bad[i].why);
	}
}

/* Several lists add up; a bad one leaves the list as it was. */
static void
test_allow_add_up(void **state)
{
	struct hvc_allow a;
	char why[256];

	memset(&a, 0, sizeof(a));
	assert_int_equal(hvc_allow_parse(&a, "1, 2", why, sizeof(why)), 0);
	assert_int_equal(hvc_allow_parse(&a, "3", why, sizeof(why)), 0);
	assert_int_equal(a.n, 3);
	assert_int_equal(hvc_allow_parse(&a, "4, x", why, sizeof(why)), -1);
	assert_int_equal(a.n, 3);
	hvc_allow_clear(&a);
	assert_int_equal(a.n, 0);
	assert_null(a.v);
}

static void
test_allow_kind(void **state)
{
	struct hvc_allow a;
	char why[256];

	memset(&a, 0, sizeof(a));
	assert_int_equal(hvc_allow_parse(&a,
			     "3, 12345678-1234-1234-1234-"
			     "123456789abc",
			     why, sizeof(why)),
	    0);
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_VSOCK, why,
			     sizeof(why)),
	    0);
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_HVSOCK, why,
			     sizeof(why)),
	    0);
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_NONE, why,
			     sizeof(why)),
	    0);
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_TCP, why,
			     sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "'cid:3' is a CID, which can never match a "
	    "peer of a tcp listener");
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_UNIX, why,
			     sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "'cid:3' is a CID, which can never match a "
	    "peer of a unix listener (expected uid:N or user:NAME)");
	hvc_allow_clear(&a);

	/* Users: unix listeners only (and fd: of an unknown kind). */
	assert_int_equal(hvc_allow_parse(&a,
			     HAVE_USER_IDS ? "uid:1000 user:root" : "uid:1000",
			     why, sizeof(why)),
	    0);
	if (hvc_peer_cred_supported()) {
		assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_UNIX, why,
				     sizeof(why)),
		    0);
		assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_NONE, why,
				     sizeof(why)),
		    0);
	} else {
		assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_UNIX, why,
				     sizeof(why)),
		    -1);
		assert_string_equal(why,
		    "'uid:1000' cannot be checked: this system does not "
		    "tell who a unix peer is (use the socket file's "
		    "permissions)");
	}
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_TCP, why,
			     sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "'uid:1000' is a user id, which can never match a peer of a tcp "
	    "listener");
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_VSOCK, why,
			     sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "'uid:1000' is a user id, which can never match a peer of a vsock "
	    "listener");
	hvc_allow_clear(&a);
	assert_int_equal(hvc_allow_parse(&a, "10.0.0.0/8 uid:0", why,
			     sizeof(why)),
	    0);
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_UNIX, why,
			     sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "'10.0.0.0/8' is an IP network, which can never match a peer of "
	    "a unix listener (expected uid:N or user:NAME)");
	hvc_allow_clear(&a);

	assert_int_equal(hvc_allow_parse(&a, "[fd00::]/8", why, sizeof(why)),
	    0);
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_TCP, why,
			     sizeof(why)),
	    0);
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_VSOCK, why,
			     sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "'fd00::/8' is an IP network, which can "
	    "never match a peer of a vsock listener");
	hvc_allow_clear(&a);

	/* An empty list admits no peer, and fits any listener. */
	assert_int_equal(hvc_allow_parse(&a, "", why, sizeof(why)), 0);
	assert_int_equal(hvc_allow_check_kind(&a, HVS_ADDR_UNIX, why,
			     sizeof(why)),
	    0);
	hvc_allow_clear(&a);
}

static void
tcp_peer(hvs_addr_t *a, const char *host)
{
	memset(a, 0, sizeof(*a));
	a->kind = HVS_ADDR_TCP;
	snprintf(a->u.tcp.host, sizeof(a->u.tcp.host), "%s", host);
	a->u.tcp.port = 40000;
}

/*
 * The socket address of @host ("10.1.2.3", "fd00::1", "fe80::1%2": the
 * scope id after '%'), as getpeername() would give it: its length, or 0
 * if @host is not a numeric address.
 */
static size_t
ip_sockaddr(struct sockaddr_storage *ss, const char *host)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char h[64];
	const char *pct = strchr(host, '%');

	memset(ss, 0, sizeof(*ss));
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(40000);
		memcpy(ss, &sin, sizeof(sin));
		return sizeof(sin);
	}
	snprintf(h, sizeof(h), "%.*s",
	    (int)(pct != NULL ? (size_t)(pct - host) : strlen(host)), host);
	if (inet_pton(AF_INET6, h, &sin6.sin6_addr) != 1) {
		return 0;
	}
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(40000);
	sin6.sin6_scope_id = pct != NULL ? (uint32_t)atoi(pct + 1) : 0;
	memcpy(ss, &sin6, sizeof(sin6));
	return sizeof(sin6);
}

/* A tcp peer @p (@a its address) as hvc_peer_read() reads it from the
 * socket of @host. */
static void
ip_peer(struct hvc_peer *p, hvs_addr_t *a, const char *host)
{
	struct sockaddr_storage ss;
	size_t len = ip_sockaddr(&ss, host);

	tcp_peer(a, host);
	assert_int_equal(hvc_peer_from_sockaddr(p, a, (struct sockaddr *)&ss,
			     len),
	    len != 0 ? 0 : -1);
}

static int
tcp_allowed(const struct hvc_allow *a, const char *host)
{
	struct hvc_peer p;
	hvs_addr_t addr;

	ip_peer(&p, &addr, host);
	return hvc_allow_match(a, &p);
}

/* A vsock, Hyper-V or unix peer @p as hvc_peer_read() reads it, with the
 * credentials @cred (or none). */
static const struct hvc_peer *
other_peer(struct hvc_peer *p, const hvs_addr_t *a,
    const struct hvc_peer_cred *cred)
{
	assert_int_equal(hvc_peer_read(p, a, HVS_INVALID_SOCK), 0);
	if (cred != NULL) {
		p->cred = *cred;
	}
	return p;
}

static void
test_allow_match(void **state)
{
	struct hvc_allow a;
	struct hvc_peer pi;
	hvs_addr_t p;
	char why[256];

	memset(&a, 0, sizeof(a));
	/* No list: everyone. */
	assert_true(tcp_allowed(&a, "192.0.2.1"));
	assert_int_equal(hvc_allow_parse(&a,
			     "10.0.0.0/8 192.168.1.7, [fd00::]/8 "
			     "2001:db8::1/128 fe80::/10",
			     why, sizeof(why)),
	    0);
	assert_true(tcp_allowed(&a, "10.1.2.3"));
	assert_false(tcp_allowed(&a, "11.0.0.1"));
	assert_true(tcp_allowed(&a, "192.168.1.7"));
	assert_false(tcp_allowed(&a, "192.168.1.8"));
	assert_true(tcp_allowed(&a, "fd12::1"));
	assert_true(tcp_allowed(&a, "2001:db8::1"));
	assert_false(tcp_allowed(&a, "2001:db8::2"));
	/* A dual-stack listener sees IPv4 peers mapped. */
	assert_true(tcp_allowed(&a, "::ffff:10.9.9.9"));
	assert_false(tcp_allowed(&a, "::ffff:127.0.0.1"));
	/* A link-local peer is matched whatever its scope (interface). */
	assert_true(tcp_allowed(&a, "fe80::1%2"));
	assert_true(tcp_allowed(&a, "fe80::1%3"));
	assert_true(tcp_allowed(&a, "fe80::1"));
	assert_false(tcp_allowed(&a, "not-an-address"));
	hvs_addr_vsock(&p, 3, 1000);
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	hvc_allow_clear(&a);

	assert_int_equal(hvc_allow_parse(&a,
			     "cid:3 host 6f9a0a8e-51e4-4b5e-8f55-5b0f7d1c2a3b",
			     why, sizeof(why)),
	    0);
	hvs_addr_vsock(&p, 3, 1000);
	assert_true(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	hvs_addr_vsock(&p, 2, 1);
	assert_true(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	hvs_addr_vsock(&p, 4, 1000);
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	memset(&p, 0, sizeof(p));
	p.kind = HVS_ADDR_HVSOCK;
	assert_int_equal(hvs_guid_parse(&p.u.hvsock.vm_id,
			     "6F9A0A8E-51E4-4B5E-8F55-5B0F7D1C2A3B", 36),
	    0);
	assert_true(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	p.u.hvsock.vm_id.data1 ^= 1;
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	assert_false(tcp_allowed(&a, "127.0.0.1"));
	hvc_allow_clear(&a);

	/* Given but empty: no peer at all. */
	assert_int_equal(hvc_allow_parse(&a, " ", why, sizeof(why)), 0);
	assert_false(tcp_allowed(&a, "127.0.0.1"));
	hvs_addr_vsock(&p, 2, 1);
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	hvc_allow_clear(&a);
}

/* A unix peer is matched by the uid of its credentials, and only by it. */
static void
test_allow_match_cred(void **state)
{
	struct hvc_allow a;
	struct hvc_peer_cred cred = {1, 1000, 100};
	struct hvc_peer pi;
	hvs_addr_t p;
	char why[256];

	memset(&a, 0, sizeof(a));
	memset(&p, 0, sizeof(p));
	p.kind = HVS_ADDR_UNIX;
	/* No list: everyone, credentials or not. */
	assert_true(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	assert_true(hvc_allow_match(&a, other_peer(&pi, &p, &cred)));
	assert_int_equal(hvc_allow_parse(&a, "uid:0, uid:1000", why,
			     sizeof(why)),
	    0);
	assert_true(hvc_allow_match(&a, other_peer(&pi, &p, &cred)));
	cred.uid = 0;
	assert_true(hvc_allow_match(&a, other_peer(&pi, &p, &cred)));
	cred.uid = 1001;
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, &cred)));
	/* The gid does not count: uid 1001 with gid 1000 stays out. */
	cred.gid = 1000;
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, &cred)));
	/* Credentials that could not be read match nothing. */
	cred.uid = 1000;
	cred.have = 0;
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, &cred)));
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	/* A user entry does not match a tcp or vsock peer. */
	assert_false(tcp_allowed(&a, "127.0.0.1"));
	hvs_addr_vsock(&p, 0, 1000);
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, NULL)));
	hvc_allow_clear(&a);

	/* user:NAME is kept as its uid. */
	if (!HAVE_USER_IDS) {
		assert_int_equal(hvc_allow_parse(&a, "user:root", why,
				     sizeof(why)),
		    -1);
		assert_string_equal(why, "'user:root': " NO_USER_IDS);
		print_message("skipped (part of this test): user:NAME as its "
			      "uid: Windows has no user ids\n");
		return;
	}
	assert_int_equal(hvc_allow_parse(&a, "user:root", why, sizeof(why)), 0);
	memset(&p, 0, sizeof(p));
	p.kind = HVS_ADDR_UNIX;
	cred.have = 1;
	cred.uid = 0;
	assert_true(hvc_allow_match(&a, other_peer(&pi, &p, &cred)));
	cred.uid = 65534;
	assert_false(hvc_allow_match(&a, other_peer(&pi, &p, &cred)));
	hvc_allow_clear(&a);
}

/* The credentials of a real unix socket's peer: this process. */
#ifdef _WIN32
static void
test_peer_cred(void **state)
{
	struct hvc_peer_cred cred;
	hvs_addr_t p;

	(void)state;
	/* No uids, no socketpair(): nothing is read, and it says so. */
	assert_false(hvc_peer_cred_supported());
	memset(&p, 0, sizeof(p));
	p.kind = HVS_ADDR_UNIX;
	assert_int_equal(hvc_peer_cred(&p, HVS_INVALID_SOCK, &cred), -1);
	assert_false(cred.have);
	print_message("skipped (part of this test): the credentials of a "
		      "unix socket pair: Windows has no uids (and wine no "
		      "AF_UNIX)\n");
}
#else
static void
test_peer_cred(void **state)
{
	struct hvc_peer_cred cred;
	hvs_addr_t p;
	int sv[2];

	memset(&p, 0, sizeof(p));
	p.kind = HVS_ADDR_UNIX;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (hvc_peer_cred_supported()) {
		assert_int_equal(hvc_peer_cred(&p, sv[0], &cred), 0);
		assert_true(cred.have);
		assert_int_equal(cred.uid, (uint32_t)geteuid());
		assert_int_equal(cred.gid, (uint32_t)getegid());
	} else {
		assert_int_equal(hvc_peer_cred(&p, sv[0], &cred), -1);
		assert_false(cred.have);
	}
	/* Not a unix peer, no socket: nothing read. */
	hvs_addr_vsock(&p, 3, 1000);
	assert_int_equal(hvc_peer_cred(&p, sv[0], &cred), -1);
	assert_false(cred.have);
	p.kind = HVS_ADDR_UNIX;
	assert_int_equal(hvc_peer_cred(&p, HVS_INVALID_SOCK, &cred), -1);
	assert_false(cred.have);
	assert_int_equal(hvc_peer_cred(NULL, sv[0], &cred), -1);
	close(sv[0]);
	close(sv[1]);
}
#endif

/* A tcp peer's address from its socket address: the scope kept. */
static void
test_peer_sockaddr(void **state)
{
	struct sockaddr_storage ss;
	struct hvc_peer p;
	hvs_addr_t a;

	ip_peer(&p, &a, "10.1.2.3");
	assert_int_equal(p.ip, HVC_IP_V4);
	assert_memory_equal(p.ip4, "\x0a\x01\x02\x03", 4);
	assert_int_equal(p.scope, 0);
	assert_ptr_equal(p.addr, &a);
	ip_peer(&p, &a, "::ffff:10.1.2.3");
	assert_int_equal(p.ip, HVC_IP_V4 | HVC_IP_V6);
	assert_memory_equal(p.ip4, "\x0a\x01\x02\x03", 4);
	ip_peer(&p, &a, "fd00::1");
	assert_int_equal(p.ip, HVC_IP_V6);
	assert_int_equal(p.ip6[0], 0xfd);
	assert_int_equal(p.scope, 0);
	/* A link-local address and its scope id, as the kernel gives
	 * them: nothing is read from text. */
	ip_peer(&p, &a, "fe80::1%7");
	assert_int_equal(p.ip, HVC_IP_V6);
	assert_int_equal(p.ip6[0], 0xfe);
	assert_int_equal(p.ip6[15], 1);
	assert_int_equal(p.scope, 7);
	ip_peer(&p, &a, "fe80::1%4294967295");
	assert_int_equal(p.scope, 4294967295u);
	/* Not an IP socket address. */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_int_equal(hvc_peer_from_sockaddr(&p, &a, (struct sockaddr *)&ss,
			     sizeof(ss)),
	    -1);
	assert_int_equal(p.ip, 0);
	/* Too short for its family. */
	ip_sockaddr(&ss, "fd00::1");
	assert_int_equal(hvc_peer_from_sockaddr(&p, &a, (struct sockaddr *)&ss,
			     sizeof(struct sockaddr_in)),
	    -1);
	assert_int_equal(hvc_peer_from_sockaddr(&p, &a, NULL, 0), -1);
}

/* A listening socket on @host (127.0.0.1 or ::1) and a client connected
 * to it: the accepted socket in @srv, the client in @cli; 0, or -1 if
 * the system has no such address. */
static int
loopback_pair(int family, hvs_sock_t *srv, hvs_sock_t *cli)
{
	hvs_addr_t a, local;
	hvs_sock_t l;

	assert_int_equal(hvs_addr_parse_str(&a,
			     family == AF_INET ? "tcp:127.0.0.1:0"
					       : "tcp:[::1]:0",
			     HVS_ROLE_LISTEN, NULL),
	    0);
	if (hvs_listen(&l, &a, NULL) != 0) {
		return -1;
	}
	assert_int_equal(hvs_sock_local_addr(l, &local), 0);
	assert_int_equal(hvs_connect(cli, &local, NULL), 0);
	assert_int_equal(hvs_accept(l, srv, NULL, 0), 0);
	hvs_close(l);
	return 0;
}

/* hvc_peer_read() asks the socket, whatever text the listener made of
 * the address: a text that does not parse (as a scope name would not)
 * loses nothing. */
static void
test_peer_read(void **state)
{
	struct hvc_allow al;
	struct hvc_peer p;
	hvs_addr_t a;
	char why[256];
	hvs_sock_t srv, cli;

	memset(&al, 0, sizeof(al));
	assert_int_equal(hvc_allow_parse(&al, "127.0.0.0/8 ::1", why,
			     sizeof(why)),
	    0);
	assert_int_equal(loopback_pair(AF_INET, &srv, &cli), 0);
	tcp_peer(&a, "fe80::1%not-a-number");
	assert_int_equal(hvc_peer_read(&p, &a, srv), 0);
	assert_int_equal(p.ip, HVC_IP_V4);
	assert_memory_equal(p.ip4, "\x7f\x00\x00\x01", 4);
	assert_true(hvc_allow_match(&al, &p));
	hvs_close(srv);
	hvs_close(cli);
	if (loopback_pair(AF_INET6, &srv, &cli) == 0) {
		assert_int_equal(hvc_peer_read(&p, &a, srv), 0);
		assert_int_equal(p.ip, HVC_IP_V6);
		assert_int_equal(p.ip6[15], 1);
		assert_int_equal(p.scope, 0);
		assert_true(hvc_allow_match(&al, &p));
		hvs_close(srv);
		hvs_close(cli);
	}
	/* A tcp peer whose socket cannot say: not an IP peer, an error,
	 * and no network admits it. */
	assert_int_equal(hvc_peer_read(&p, &a, HVS_INVALID_SOCK), -1);
	assert_int_equal(p.ip, 0);
	assert_false(hvc_allow_match(&al, &p));
	hvc_allow_clear(&al);
	/* No list: everyone, even a peer that was not read. */
	assert_true(hvc_allow_match(&al, NULL));
	/* A vsock peer is its address; nothing is asked of the socket. */
	hvs_addr_vsock(&a, 3, 1000);
	assert_int_equal(hvc_peer_read(&p, &a, HVS_INVALID_SOCK), 0);
	assert_int_equal(p.ip, 0);
	assert_ptr_equal(p.addr, &a);
}

static void
test_value_msg(void **state)
{
	char m[HVC_QUOTE_SIZE + 2 * HVC_WHY_SIZE];

	hvc_value_msg(m, sizeof(m), "--idle-timeout", "5\tx",
	    "unknown unit (expected ms, s, m or h)");
	assert_string_equal(m,
	    "--idle-timeout '5\\x09x': unknown unit "
	    "(expected ms, s, m or h)");
}

static void
test_quote(void **state)
{
	char buf[HVC_QUOTE_SIZE], big[200];

	hvc_quote("a\tb\xff", 4, buf, sizeof(buf));
	assert_string_equal(buf, "a\\x09b\\xff");
	memset(big, 'x', sizeof(big));
	hvc_quote(big, sizeof(big), buf, sizeof(buf));
	assert_int_equal(strlen(buf), HVC_QUOTE_MAX + 3);
	assert_string_equal(buf + HVC_QUOTE_MAX, "...");
	hvc_quote("abc", 3, buf, 0); /* no room: nothing written */
}

/* Bytes a peer chose, for a log line: one word on one line, nothing cut. */
static void
test_escape(void **state)
{
	char buf[HVC_ESCAPE_SIZE(200)], big[200], small[12];

	hvc_escape("a b\"c\\d\n\x1b[2K\xff~", 14, buf, sizeof(buf));
	assert_string_equal(buf, "a\\x20b\\x22c\\x5cd\\x0a\\x1b[2K\\xff~");
	hvc_escape("x\0y", 3, buf, sizeof(buf));
	assert_string_equal(buf, "x\\x00y");
	/* No HVC_QUOTE_MAX cut: everything that fits is written. */
	memset(big, 'x', sizeof(big));
	hvc_escape(big, sizeof(big), buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(big));
	memset(big, '\n', sizeof(big));
	hvc_escape(big, sizeof(big), buf, sizeof(buf));
	assert_int_equal(strlen(buf), 4 * sizeof(big));
	/* A buffer too small: cut with "...", never a half escape. */
	hvc_escape("abcdefgh\n\n", 10, small, sizeof(small));
	assert_string_equal(small, "abcd...");
	hvc_escape("\n\n\n\n", 4, small, sizeof(small));
	assert_string_equal(small, "\\x0a...");
	hvc_escape("abc", 3, buf, 0); /* no room: nothing written */
}

/* A peer's address as the logs and HVCAT_PEER show it. */
static void
test_peer_text(void **state)
{
	static const char evil[] = "/tmp/c\nhvproxy: fake\x1b[31m";
	static const char unknown[] =
	    "hvsock:parent:ffffffff-facb-11e6-bd58-64006a7986d3";
	static const char client[] =
	    "hvsock:parent:fffffffe-facb-11e6-bd58-64006a7986d3";
	char buf[HVC_PEER_TEXT_SIZE];
	hvs_addr_t p;

	hvs_addr_vsock(&p, 3, 1034);
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "vsock:3:1034");
	tcp_peer(&p, "fe80::1%2");
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "tcp:[fe80::1%2]:40000");

	memset(&p, 0, sizeof(p));
	p.kind = HVS_ADDR_UNIX;
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), -1); /* unnamed */
	assert_string_equal(buf, "");
	memcpy(p.u.local.path, evil, sizeof(evil));
	p.u.local.len = sizeof(evil) - 1;
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "unix:/tmp/c\\x0ahvproxy:\\x20fake\\x1b[31m");
	/* What the address grammar cannot write is shown all the same. */
	memcpy(p.u.local.path, "@x", 3);
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "unix:\\x40x");
	p.u.local.abstract = 1;
	memcpy(p.u.local.path, "a\0b\n", 4);
	p.u.local.len = 4;
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "unix:@a\\x00b\\x0a");
	assert_int_equal(hvc_peer_text(NULL, buf, sizeof(buf)), -1);

	/* A FreeBSD peer whose port the driver does not know: said so,
	 * not shown as the GUID of port 0xFFFFFFFF. */
	assert_int_equal(hvs_addr_parse_str(&p, unknown, HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_int_equal(hvs_addr_port_unknown(&p), 1);
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "hvsock:parent:unknown");
	/* Any other port is an address as usual. */
	assert_int_equal(hvs_addr_parse_str(&p, "hvsock:parent:5000",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_int_equal(hvs_addr_port_unknown(&p), 0);
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "hvsock:parent:5000");
	assert_int_equal(hvs_addr_parse_str(&p, client, HVS_ROLE_CONNECT, NULL),
	    0);
	assert_int_equal(hvs_addr_port_unknown(&p), 0);
	assert_int_equal(hvc_peer_text(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, client);
}

/* The warning for a service GUID Linux and FreeBSD guests cannot use:
 * given towards a guest only, whatever the role. */
static void
test_svcguid_warning(void **state)
{
#define VM "5a4d5647-0000-4000-8000-475545535401"
#define RAND "0b8c4e2a-93f1-4d6e-a5b7-1c2d3e4f5a6b"
#define TPL "00001388-facb-11e6-bd58-64006a7986d3"
	static const char *const warn[] = {
	    "hvsock:" VM ":" RAND,
	    "hvsock:children:" RAND,
	    "hvsock:wsl:" RAND,
	    "hvsock:" VM ":"
	    "F00DF00D-1111-2222-3333-444455556666",
	};
	static const char *const quiet[] = {
	    "hvsock:" VM ":5000",
	    "hvsock:" VM ":" TPL,
	    "hvsock:children:5000",
	    "hvsock:wsl:5000",
	    "hvsock:wsl:" TPL,
	    "hvsock:parent:" RAND,
	    "hvsock:loopback:" RAND,
	    "hvsock:silohost:" RAND,
	    "hvsock:wildcard:" RAND,
	    "hvsock:broadcast:" RAND,
	    "hvsock:" RAND,
	    /* The template GUID of the port no one has: a template all
	     * the same. */
	    "hvsock:" VM ":ffffffff-facb-11e6-bd58-64006a7986d3",
	    "vsock:3:5000",
	    "tcp:127.0.0.1:5000",
	};
	static const hvs_role_t roles[] = {HVS_ROLE_CONNECT, HVS_ROLE_LISTEN};
	char buf[HVC_SVCGUID_WARN_SIZE], want[HVC_SVCGUID_WARN_SIZE];
	hvs_addr_t a;

	(void)state;
	for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
		for (size_t i = 0; i < sizeof(warn) / sizeof(warn[0]); i++) {
			char s[HVS_ADDR_STRLEN];

			assert_int_equal(hvs_addr_parse_str(&a, warn[i],
					     roles[r], NULL),
			    0);
			assert_true(hvs_addr_format(&a, s, sizeof(s)) > 0);
			snprintf(want, sizeof(want),
			    "%s: the service is not a vsock port's GUID "
			    "(PORT-facb-11e6-bd58-64006a7986d3); Linux and "
			    "FreeBSD guests listen only on those (Windows "
			    "guests can use any GUID)",
			    s);
			buf[0] = '\0';
			assert_int_equal(hvc_svcguid_warning(&a, buf,
					     sizeof(buf)),
			    1);
			assert_string_equal(buf, want);
			assert_null(strchr(buf, '\n'));
		}
		for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
			assert_int_equal(hvs_addr_parse_str(&a, quiet[i],
					     roles[r], NULL),
			    0);
			snprintf(buf, sizeof(buf), "untouched");
			assert_int_equal(hvc_svcguid_warning(&a, buf,
					     sizeof(buf)),
			    0);
			assert_string_equal(buf, "untouched");
		}
	}
	/* The address as written names the WSL VM by name. */
	assert_int_equal(hvs_addr_parse_str(&a, "hvsock:wsl:" RAND,
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_int_equal(hvc_svcguid_warning(&a, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "hvsock:wsl:" RAND ": "));
	/* A short buffer is cut, still a string. */
	assert_int_equal(hvc_svcguid_warning(&a, buf, 8), 1);
	assert_int_equal(strlen(buf), 7);
	assert_int_equal(hvc_svcguid_warning(NULL, buf, sizeof(buf)), 0);

	/* wildcard and children are for listeners: no one VM to reach. */
	assert_int_equal(hvs_addr_parse_str(&a, "hvsock:children:5000",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_string_equal(hvc_listen_only_vmid(&a), "children");
	assert_int_equal(hvs_addr_parse_str(&a,
			     "hvsock:00000000-0000-0000-0000-000000000000:5000",
			     HVS_ROLE_CONNECT, NULL),
	    0);
	assert_string_equal(hvc_listen_only_vmid(&a), "wildcard");
	/* hvsock:PORT listens on wildcard but connects to parent. */
	assert_int_equal(hvs_addr_parse_str(&a, "hvsock:5000", HVS_ROLE_CONNECT,
			     NULL),
	    0);
	assert_null(hvc_listen_only_vmid(&a));
	static const char *const vms[] = {"parent", "loopback", "silohost",
	    "broadcast", "wsl", VM};
	for (size_t i = 0; i < sizeof(vms) / sizeof(vms[0]); i++) {
		char s[128];

		snprintf(s, sizeof(s), "hvsock:%s:5000", vms[i]);
		assert_int_equal(hvs_addr_parse_str(&a, s, HVS_ROLE_CONNECT,
				     NULL),
		    0);
		assert_null(hvc_listen_only_vmid(&a));
	}
	hvs_addr_vsock(&a, 3, 5000);
	assert_null(hvc_listen_only_vmid(&a));
	assert_null(hvc_listen_only_vmid(NULL));
#undef VM
#undef RAND
#undef TPL
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uint),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_allow_forms),
	    cmocka_unit_test(test_allow_add_up),
	    cmocka_unit_test(test_allow_kind),
	    cmocka_unit_test(test_allow_match),
	    cmocka_unit_test(test_allow_match_cred),
	    cmocka_unit_test(test_peer_cred),
	    cmocka_unit_test(test_peer_sockaddr),
	    cmocka_unit_test(test_peer_read),
	    cmocka_unit_test(test_value_msg),
	    cmocka_unit_test(test_quote),
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_peer_text),
	    cmocka_unit_test(test_svcguid_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
