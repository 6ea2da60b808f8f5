/*
 * hvproxy-units: the parts of hvproxy that need no sockets: the bounded
 * number parsers, allowlist matching, and the parsing of wsl.exe's output
 * (so the Windows-only re-listening code rests on tested ground).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "hvproxy.h"

static void
test_uint(void **state)
{
	unsigned long long v;
	const char *why;

	assert_int_equal(hvp_parse_uint("0", 0, 10, &v, &why), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hvp_parse_uint("10", 0, 10, &v, &why), 0);
	assert_int_equal(v, 10);
	assert_int_equal(hvp_parse_uint("11", 0, 10, &v, &why), -1);
	assert_string_equal(why, "number is too large");
	assert_int_equal(hvp_parse_uint("18446744073709551616", 0, UINT64_MAX,
			     &v, &why),
	    -1);
	assert_int_equal(hvp_parse_uint("18446744073709551615", 0, UINT64_MAX,
			     &v, &why),
	    0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(hvp_parse_uint("", 0, 10, &v, &why), -1);
	assert_int_equal(hvp_parse_uint("-1", 0, 10, &v, &why), -1);
	assert_int_equal(hvp_parse_uint("+1", 0, 10, &v, &why), -1);
	assert_int_equal(hvp_parse_uint(" 1", 0, 10, &v, &why), -1);
	assert_int_equal(hvp_parse_uint("1 ", 0, 10, &v, &why), -1);
	assert_int_equal(hvp_parse_uint("0x10", 0, 100, &v, &why), -1);
	assert_int_equal(hvp_parse_uint("2", 3, 10, &v, &why), -1);
	assert_string_equal(why, "number is too small");
}

static void
test_duration(void **state)
{
	const char *why;
	int ms;

	assert_int_equal(hvp_parse_duration("30", 0, &ms, &why), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(hvp_parse_duration("30s", 0, &ms, &why), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(hvp_parse_duration("250ms", 0, &ms, &why), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(hvp_parse_duration("2m", 0, &ms, &why), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(hvp_parse_duration("1h", 0, &ms, &why), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(hvp_parse_duration("0", 1, &ms, &why), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(hvp_parse_duration("0", 0, &ms, &why), -1);
	assert_int_equal(hvp_parse_duration("596h", 0, &ms, &why), 0);
	assert_int_equal(hvp_parse_duration("597h", 0, &ms, &why), -1);
	assert_int_equal(hvp_parse_duration("2147483647ms", 0, &ms, &why), 0);
	assert_int_equal(hvp_parse_duration("2147483648ms", 0, &ms, &why), -1);
	assert_int_equal(hvp_parse_duration("5x", 0, &ms, &why), -1);
	assert_int_equal(hvp_parse_duration("s", 0, &ms, &why), -1);
	assert_int_equal(hvp_parse_duration("1.5s", 0, &ms, &why), -1);
	assert_int_equal(hvp_parse_duration("-1s", 0, &ms, &why), -1);
	assert_int_equal(hvp_parse_duration("99999999999999999999s", 0, &ms,
			     &why),
	    -1);
}

static void
test_size(void **state)
{
	const char *why;
	size_t n;

	assert_int_equal(hvp_parse_size("65536", 4096, 1 << 26, &n, &why), 0);
	assert_int_equal(n, 65536);
	assert_int_equal(hvp_parse_size("64k", 4096, 1 << 26, &n, &why), 0);
	assert_int_equal(n, 65536);
	assert_int_equal(hvp_parse_size("1M", 4096, 1 << 26, &n, &why), 0);
	assert_int_equal(n, 1 << 20);
	assert_int_equal(hvp_parse_size("64m", 4096, 1 << 26, &n, &why), 0);
	assert_int_equal(hvp_parse_size("65m", 4096, 1 << 26, &n, &why), -1);
	assert_int_equal(hvp_parse_size("1k", 4096, 1 << 26, &n, &why), -1);
	assert_int_equal(hvp_parse_size("1g", 4096, 1 << 26, &n, &why), -1);
	assert_int_equal(hvp_parse_size("k", 4096, 1 << 26, &n, &why), -1);
}

/* A forward whose --allow is @list, loaded as the command line would. */
static struct hvp_config *
load_allow(const char *listen, const char *list)
{
	char *pairs[2] = {(char *)listen, (char *)"tcp:127.0.0.1:9"};
	struct hvp_cmdline cl;
	struct hvp_errors errs = {NULL, 0};
	struct hvp_config *c;

	memset(&cl, 0, sizeof(cl));
	cl.allow = (char *)list;
	cl.pairs = pairs;
	cl.npairs = 2;
	c = hvp_config_load(&cl, &errs);
	hvp_errors_free(&errs);
	return c;
}

static int
tcp_peer_allowed(const struct hvp_config *c, const char *host)
{
	hvs_addr_t a;

	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_TCP;
	strcpy(a.u.tcp.host, host);
	a.u.tcp.port = 1234;
	return hvp_allow_match(c->fwds[0], &a);
}

static void
test_allow_ip(void **state)
{
	struct hvp_config *c = load_allow("tcp:8080",
	    "10.0.0.0/8, 192.168.1.7 fd00::/8,2001:db8::1/128");

	assert_non_null(c);
	assert_true(tcp_peer_allowed(c, "10.1.2.3"));
	assert_true(tcp_peer_allowed(c, "10.255.255.255"));
	assert_false(tcp_peer_allowed(c, "11.0.0.1"));
	assert_true(tcp_peer_allowed(c, "192.168.1.7"));
	assert_false(tcp_peer_allowed(c, "192.168.1.8"));
	assert_true(tcp_peer_allowed(c, "fd12:3456::1"));
	assert_false(tcp_peer_allowed(c, "fe80::1"));
	assert_true(tcp_peer_allowed(c, "2001:db8::1"));
	assert_false(tcp_peer_allowed(c, "2001:db8::2"));
	/* A dual-stack listener sees IPv4 peers mapped. */
	assert_true(tcp_peer_allowed(c, "::ffff:10.9.9.9"));
	assert_false(tcp_peer_allowed(c, "::ffff:127.0.0.1"));
	hvp_config_free(c);

	c = load_allow("tcp:8080", "0.0.0.0/0");
	assert_non_null(c);
	assert_true(tcp_peer_allowed(c, "1.2.3.4"));
	assert_false(tcp_peer_allowed(c, "::1"));
	hvp_config_free(c);

	/* Entries that cannot match a tcp peer are refused. */
	assert_null(load_allow("tcp:8080", "cid:3"));
	assert_null(load_allow("tcp:8080", "10.0.0.0/33"));
	assert_null(load_allow("tcp:8080", "10.0.0.0/"));
	assert_null(load_allow("tcp:8080", "10.0.0"));
	assert_null(load_allow("unix:/tmp/x", "10.0.0.0/8"));
}

static void
test_allow_vsock(void **state)
{
	struct hvp_config *c = load_allow("vsock:5000",
	    "cid:3, 4 cid:host 6f9a0a8e-51e4-4b5e-8f55-5b0f7d1c2a3b");
	hvs_addr_t a;

	assert_non_null(c);
	hvs_addr_vsock(&a, 3, 1000);
	assert_true(hvp_allow_match(c->fwds[0], &a));
	hvs_addr_vsock(&a, 4, 1000);
	assert_true(hvp_allow_match(c->fwds[0], &a));
	hvs_addr_vsock(&a, 2, 1000);
	assert_true(hvp_allow_match(c->fwds[0], &a));
	hvs_addr_vsock(&a, 5, 1000);
	assert_false(hvp_allow_match(c->fwds[0], &a));
	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_HVSOCK;
	assert_int_equal(hvs_guid_parse(&a.u.hvsock.vm_id,
			     "6F9A0A8E-51E4-4B5E-8F55-5B0F7D1C2A3B", 36),
	    0);
	assert_true(hvp_allow_match(c->fwds[0], &a));
	a.u.hvsock.vm_id.data1 ^= 1;
	assert_false(hvp_allow_match(c->fwds[0], &a));
	hvp_config_free(c);
	assert_null(load_allow("vsock:5000", "127.0.0.1"));
	assert_null(load_allow("vsock:5000", "cid:4294967295"));
}

static void
test_wsl_running(void **state)
{
	static const char utf16[] = "\xff\xfeU\0b\0u\0n\0t\0u\0\r\0\n\0";
	static const char blank16[] = "\r\0\n\0";

	assert_int_equal(hvp_wsl_parse_running(utf16, sizeof(utf16) - 1), 1);
	assert_int_equal(hvp_wsl_parse_running(blank16, sizeof(blank16) - 1),
	    0);
	assert_int_equal(hvp_wsl_parse_running("", 0), 0);
	assert_int_equal(hvp_wsl_parse_running("Debian\n", 7), 1);
}

/* The permission rule of a config file (SECURITY.md). */
static void
test_config_perms(void **state)
{
	struct stat st;
	char why[256];

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	assert_int_equal(hvp_config_perm_check(&st, 0, why, sizeof(why)), 0);
	assert_int_equal(hvp_config_perm_check(&st, 1000, why, sizeof(why)), 0);
	st.st_mode = S_IFREG | 0666; /* world-writable: never */
	assert_int_equal(hvp_config_perm_check(&st, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "every user"));
	assert_int_equal(hvp_config_perm_check(&st, 1000, why, sizeof(why)),
	    -1);
	st.st_mode = S_IFREG | 0664; /* group root may write */
	assert_int_equal(hvp_config_perm_check(&st, 0, why, sizeof(why)), 0);
	st.st_gid = 50; /* another group may not, under root */
	assert_int_equal(hvp_config_perm_check(&st, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "group 50"));
	assert_int_equal(hvp_config_perm_check(&st, 1000, why, sizeof(why)), 0);
	st.st_mode = S_IFREG | 0600;
	st.st_uid = 1000; /* another user's file, under root */
	assert_int_equal(hvp_config_perm_check(&st, 0, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "uid 1000"));
	assert_int_equal(hvp_config_perm_check(&st, 1000, why, sizeof(why)), 0);
}

static struct hvp_config *
load_text(const char *text, size_t len, struct hvp_errors *e)
{
	struct hvp_cmdline cl;

	memset(&cl, 0, sizeof(cl));
	memset(e, 0, sizeof(*e));
	cl.file = "t.conf";
	cl.text = text;
	cl.text_len = len;
	return hvp_config_load(&cl, e);
}

/* A config parsed from memory (the fuzz target's entry), NUL bytes and
 * the empty file included; an error-free file once passed NULL to qsort()
 * (UBSan, found by fuzz/fuzz_config.c). */
static void
test_config_text(void **state)
{
	static const char good[] = "[forward a]\nlisten = tcp:8080\n"
				   "target = vsock:8080\n";
	static const char nul[] = "[forward a]\nlisten = tcp:80\0\n"
				  "target = tcp:1.1.1.1:80\n";
	struct hvp_errors e;
	struct hvp_config *c;

	c = load_text(good, sizeof(good) - 1, &e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	assert_int_equal(c->nfwds, 1);
	assert_string_equal(c->fwds[0]->name, "a");
	hvp_config_free(c);
	hvp_errors_free(&e);

	c = load_text("", 0, &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "no forwards"));
	hvp_errors_free(&e);

	c = load_text(nul, sizeof(nul) - 1, &e);
	assert_null(c);
	assert_int_equal(e.n, 2); /* and so the forward has no listen= */
	assert_non_null(
	    strstr(e.msg[0], "t.conf:1: [forward a] has no listen"));
	assert_non_null(strstr(e.msg[1], "t.conf:2: line contains a NUL"));
	hvp_errors_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uint),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_allow_ip),
	    cmocka_unit_test(test_allow_vsock),
	    cmocka_unit_test(test_wsl_running),
	    cmocka_unit_test(test_config_perms),
	    cmocka_unit_test(test_config_text),
	};

	hvp_log_init(-1); /* quiet: errors are expected here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
