/* SPDX-License-Identifier: MIT */
/*
 * hvproxy-units: the parts of hvproxy that need no sockets: allowlists as
 * the configuration loads them, the per-peer connection counts, the
 * config file's per-forward settings, --check's description, and the
 * parsing of wsl.exe's output (so the Windows-only re-listening code rests
 * on tested ground). The parsers of numbers, sizes, durations and
 * allowlist entries themselves are bin/common's: test/integration/common.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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

#include "hvproxy.h"

/* A forward whose --allow is @list, loaded as the command line would. */
static struct hvp_config *
load_allow(const char *listen, const char *list)
{
	char *pairs[2] = {(char *)listen, (char *)"tcp:127.0.0.1:9"};
	char *allow[2] = {(char *)list, NULL};
	struct hvp_cmdline cl;
	struct hvp_errors errs = {NULL, 0};
	struct hvp_config *c;

	memset(&cl, 0, sizeof(cl));
	cl.allow = allow;
	cl.pairs = pairs;
	cl.npairs = 2;
	c = hvp_config_load(&cl, &errs);
	hvp_errors_free(&errs);
	return c;
}

/*
 * The tcp peer @host:@port (@a its address) as hvc_peer_read() reads it
 * from the socket: from the socket address getpeername() would give, the
 * scope id after '%' ("fe80::1%2"). 0, or -1 if @host is not numeric.
 */
static int
ip_peer(struct hvc_peer *p, hvs_addr_t *a, const char *host, uint16_t port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char h[64];
	size_t n = strcspn(host, "%");

	memset(a, 0, sizeof(*a));
	a->kind = HVS_ADDR_TCP;
	snprintf(a->u.tcp.host, sizeof(a->u.tcp.host), "%s", host);
	a->u.tcp.port = port;
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		return hvc_peer_from_sockaddr(p, a, (struct sockaddr *)&sin,
		    sizeof(sin));
	}
	snprintf(h, sizeof(h), "%.*s", (int)n, host);
	if (inet_pton(AF_INET6, h, &sin6.sin6_addr) != 1) {
		memset(p, 0, sizeof(*p));
		p->addr = a;
		return -1;
	}
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	sin6.sin6_scope_id = host[n] == '%' ? (uint32_t)atoi(host + n + 1) : 0;
	return hvc_peer_from_sockaddr(p, a, (struct sockaddr *)&sin6,
	    sizeof(sin6));
}

/* A vsock, Hyper-V or unix peer as hvc_peer_read() reads it. */
static const struct hvc_peer *
other_peer(struct hvc_peer *p, const hvs_addr_t *a)
{
	assert_int_equal(hvc_peer_read(p, a, HVS_INVALID_SOCK), 0);
	return p;
}

static int
tcp_peer_allowed(const struct hvp_config *c, const char *host)
{
	struct hvc_peer p;
	hvs_addr_t a;

	ip_peer(&p, &a, host, 1234);
	return hvc_allow_match(&c->fwds[0]->allow, &p);
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
	struct hvc_peer p;
	hvs_addr_t a;

	assert_non_null(c);
	hvs_addr_vsock(&a, 3, 1000);
	assert_true(hvc_allow_match(&c->fwds[0]->allow, other_peer(&p, &a)));
	hvs_addr_vsock(&a, 4, 1000);
	assert_true(hvc_allow_match(&c->fwds[0]->allow, other_peer(&p, &a)));
	hvs_addr_vsock(&a, 2, 1000);
	assert_true(hvc_allow_match(&c->fwds[0]->allow, other_peer(&p, &a)));
	hvs_addr_vsock(&a, 5, 1000);
	assert_false(hvc_allow_match(&c->fwds[0]->allow, other_peer(&p, &a)));
	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_HVSOCK;
	assert_int_equal(hvs_guid_parse(&a.u.hvsock.vm_id,
			     "6F9A0A8E-51E4-4B5E-8F55-5B0F7D1C2A3B", 36),
	    0);
	assert_true(hvc_allow_match(&c->fwds[0]->allow, other_peer(&p, &a)));
	a.u.hvsock.vm_id.data1 ^= 1;
	assert_false(hvc_allow_match(&c->fwds[0]->allow, other_peer(&p, &a)));
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

#ifdef _WIN32
	print_message("skipped: mode bits say nothing on Windows of who may "
		      "write a file: its access control list does\n");
	skip();
#endif
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

/* The key of the tcp peer @host:@port (hvp_peer_key()'s answer). */
static int
tcp_key(const char *host, uint16_t port, struct hvp_peer_key *k)
{
	struct hvc_peer p;
	hvs_addr_t a;

	ip_peer(&p, &a, host, port);
	return hvp_peer_key(&p, k);
}

/* The key of a vsock peer. */
static int
cid_key(uint32_t cid, uint32_t port, struct hvp_peer_key *k)
{
	struct hvc_peer p;
	hvs_addr_t a;

	hvs_addr_vsock(&a, cid, port);
	return hvp_peer_key(other_peer(&p, &a), k);
}

/* A unix peer read from a real unix socket is the user the kernel names
 * for it (no credentials: no key). */
#ifdef _WIN32
static void
unix_peer_key(struct hvc_peer *p, const hvs_addr_t *a)
{
	(void)p;
	(void)a;
	assert_false(hvc_peer_cred_supported());
	print_message("skipped (part of this test): a unix peer's user: "
		      "Windows has no uids (and wine no AF_UNIX)\n");
}
#else
static void
unix_peer_key(struct hvc_peer *p, const hvs_addr_t *a)
{
	struct hvp_peer_key k;
	char buf[96];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(hvc_peer_read(p, a, sv[0]), 0);
	if (p->cred.have) {
		assert_int_equal(hvp_peer_key(p, &k), 1);
		assert_int_equal(hvp_peer_key_format(&k, buf, sizeof(buf)), 0);
		snprintf(buf + 64, 32, "uid %lu", (unsigned long)getuid());
		assert_string_equal(buf, buf + 64);
	} else {
		assert_false(hvc_peer_cred_supported());
		assert_int_equal(hvp_peer_key(p, &k), 0);
	}
	close(sv[0]);
	close(sv[1]);
}
#endif

/* Who counts as one peer: the source port never matters, an IPv4-mapped
 * IPv6 address is its IPv4 address, a link-local address on another
 * interface (another scope) is another peer, a unix peer is its user. */
static void
test_peer_key(void **state)
{
	struct hvp_peer_key k1, k2;
	struct hvc_peer p;
	hvs_addr_t a;
	char buf[96];

	assert_int_equal(cid_key(3, 1000, &k1), 1);
	assert_int_equal(cid_key(3, 2000, &k2), 1);
	assert_memory_equal(&k1, &k2, sizeof(k1));
	assert_int_equal(hvp_peer_key_format(&k1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "cid 3");
	assert_int_equal(cid_key(4, 1000, &k2), 1);
	assert_memory_not_equal(&k1, &k2, sizeof(k1));

	assert_int_equal(tcp_key("10.1.2.3", 40000, &k1), 1);
	assert_int_equal(tcp_key("::ffff:10.1.2.3", 40001, &k2), 1);
	assert_memory_equal(&k1, &k2, sizeof(k1));
	assert_int_equal(hvp_peer_key_format(&k2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10.1.2.3");
	assert_int_equal(tcp_key("fd00::1", 1, &k2), 1);
	assert_memory_not_equal(&k1, &k2, sizeof(k1));
	assert_int_equal(hvp_peer_key_format(&k2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fd00::1");
	/* Cut short: a buffer too small is an error, not a cut string. */
	assert_int_equal(hvp_peer_key_format(&k2, buf, 4), -1);
	assert_int_equal(tcp_key("not-an-address", 1, &k2), 0);

	/* A link-local peer is its address and its scope (the interface it
	 * came through), whatever its port. */
	assert_int_equal(tcp_key("fe80::1%2", 1000, &k1), 1);
	assert_int_equal(tcp_key("fe80::1%2", 2000, &k2), 1);
	assert_memory_equal(&k1, &k2, sizeof(k1));
	assert_int_equal(hvp_peer_key_format(&k1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fe80::1%2");
	assert_int_equal(tcp_key("fe80::1%3", 1000, &k2), 1);
	assert_memory_not_equal(&k1, &k2, sizeof(k1));
	assert_int_equal(tcp_key("fe80::2%2", 1000, &k2), 1);
	assert_memory_not_equal(&k1, &k2, sizeof(k1));
	assert_int_equal(tcp_key("fe80::1%4294967295", 1, &k2), 1);
	assert_int_equal(hvp_peer_key_format(&k2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fe80::1%4294967295");

	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_HVSOCK;
	assert_int_equal(hvs_guid_parse(&a.u.hvsock.vm_id,
			     "6f9a0a8e-51e4-4b5e-8f55-5b0f7d1c2a3b", 36),
	    0);
	assert_int_equal(hvp_peer_key(other_peer(&p, &a), &k1), 1);
	assert_int_equal(hvp_peer_key_format(&k1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "vm 6f9a0a8e-51e4-4b5e-8f55-5b0f7d1c2a3b");

	/* A unix peer is the user the kernel names for the socket. */
	memset(&a, 0, sizeof(a));
	a.kind = HVS_ADDR_UNIX;
	assert_int_equal(hvp_peer_key(other_peer(&p, &a), &k1), 0);
	unix_peer_key(&p, &a);
	assert_int_equal(hvp_peer_key(NULL, &k1), 0);
}

/* Fisher-Yates with a fixed LCG: the same order on every run. */
static void
shuffle(uint32_t *v, size_t n, uint32_t *rnd)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j;
		uint32_t tmp;

		*rnd = *rnd * 1103515245u + 12345u;
		j = (*rnd >> 8) % (i + 1);
		tmp = v[i];
		v[i] = v[j];
		v[j] = tmp;
	}
}

/* The table against a plain array of counts: 3000 peers (the table grows
 * eight times), up to 3 connections each, added and removed in a shuffled
 * order, so that removals shift runs that wrap around the table's end. */
#define NPEERS 3000
static void
test_peers_table(void **state)
{
	static unsigned want[NPEERS];
	static uint32_t order[3 * NPEERS];
	struct hvp_peers t;
	struct hvp_peer_key k;
	size_t n = 0, distinct = 0;
	uint32_t rnd = 12345;

	memset(&t, 0, sizeof(t));
	memset(want, 0, sizeof(want));
	assert_int_equal(cid_key(77, 1, &k), 1);
	assert_int_equal(hvp_peers_count(&t, &k), 0);
	hvp_peers_remove(&t, &k); /* nothing there: no harm */
	assert_int_equal(hvp_peers_size(&t), 0);

	for (uint32_t i = 0; i < NPEERS; i++) {
		for (uint32_t j = 0; j <= i % 3; j++) {
			order[n++] = i;
		}
	}
	shuffle(order, n, &rnd);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cid_key(1000 + order[i], 1, &k), 1);
		assert_int_equal(hvp_peers_add(&t, &k), 0);
		distinct += want[order[i]]++ == 0;
		assert_int_equal(hvp_peers_count(&t, &k), want[order[i]]);
		assert_int_equal(hvp_peers_size(&t), distinct);
	}
	/* Remove in another shuffled order, checking every count now and
	 * then (all of them after each of the first 50 removals). */
	shuffle(order, n, &rnd);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(cid_key(1000 + order[i], 1, &k), 1);
		hvp_peers_remove(&t, &k);
		distinct -= --want[order[i]] == 0;
		assert_int_equal(hvp_peers_size(&t), distinct);
		if (i < 50 || i % 500 == 0) {
			for (uint32_t p = 0; p < NPEERS; p++) {
				cid_key(1000 + p, 1, &k);
				assert_int_equal(hvp_peers_count(&t, &k),
				    want[p]);
			}
		}
	}
	assert_int_equal(hvp_peers_size(&t), 0);
	hvp_peers_clear(&t);
	assert_null(t.slots);
}

/* max-conns-per-peer: in [global] (the forwards' default), per forward,
 * bounded like every count, and named in the unknown-key messages. */
static void
test_config_per_peer(void **state)
{
	static const char text[] =
	    "[global]\nmax-conns-per-peer = 4\n"
	    "[forward a]\nlisten = tcp:8080\n"
	    "target = vsock:8080\n"
	    "[forward b]\nlisten = tcp:8081\n"
	    "target = vsock:8081\nmax-conns-per-peer = 0\n"
	    "[forward c]\nlisten = tcp:8082\n"
	    "target = vsock:8082\nmax-conns-per-peer = 9\n";
	static const char bad[] = "[forward a]\nlisten = tcp:8080\n"
				  "target = vsock:8080\n"
				  "max-conns-per-peer = -1\n";
	static const char twice[] = "[forward a]\nlisten = tcp:8080\n"
				    "target = vsock:8080\n"
				    "max-conns-per-peer = 1\n"
				    "max-conns-per-peer = 2\n";
	static const char typo[] = "[forward a]\nlisten = tcp:8080\n"
				   "target = vsock:8080\n"
				   "max-conn-per-peer = 1\n";
	struct hvp_errors e;
	struct hvp_config *c;

	c = load_text(text, sizeof(text) - 1, &e);
	assert_non_null(c);
	assert_int_equal(c->nfwds, 3);
	assert_int_equal(c->fwds[0]->lim.max_conns_peer, 4);
	assert_int_equal(c->fwds[1]->lim.max_conns_peer, 0);
	assert_int_equal(c->fwds[2]->lim.max_conns_peer, 9);
	hvp_config_free(c);
	hvp_errors_free(&e);

	c = load_text(bad, sizeof(bad) - 1, &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "t.conf:4: max-conns-per-peer = -1"));
	hvp_errors_free(&e);

	c = load_text(twice, sizeof(twice) - 1, &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0],
	    "t.conf:5: max-conns-per-peer is "
	    "given twice"));
	hvp_errors_free(&e);

	c = load_text(typo, sizeof(typo) - 1, &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "max-conns-per-peer"));
	hvp_errors_free(&e);
}

/* --check describes each forward with the settings it gets after the
 * merge: [global] defaults, the forward's own keys, the allowlist. */
static void
test_config_describe(void **state)
{
	static const char text[] =
	    "[global]\nidle-timeout = 10m\nmax-conns-per-peer = 4\n"
	    "metrics = 127.0.0.1:9101\n"
	    "[forward web]\nlisten = tcp:8080\ntarget = vsock:8080\n"
	    "allow = 127.0.0.1, fd00::/8\nmax-conns = 10\n"
	    "[forward ssh]\nlisten = vsock:2222\ntarget = tcp:22\n"
	    "allow = cid:2, 12345678-1234-1234-1234-123456789abc\n"
	    "connect-timeout = 2s\nbuffer = 64k\nmax-conns-per-peer = 0\n";
	struct hvp_errors e;
	struct hvp_config *c;
	char *out;
	long len;
	FILE *f;

	c = load_text(text, sizeof(text) - 1, &e);
	assert_non_null(c);
	/* A temporary file, not open_memstream(): Windows has none. */
	f = tmpfile();
	assert_non_null(f);
	hvp_config_describe(c, f);
	len = ftell(f);
	assert_true(len > 0);
	out = calloc(1, (size_t)len + 1);
	assert_non_null(out);
	rewind(f);
	assert_int_equal(fread(out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_non_null(strstr(out,
	    "t.conf: configuration OK, 2 forwards\n"
	    "  web: tcp:127.0.0.1:8080 -> "
	    "vsock:2:8080\n"
	    "      max-conns 10, max-conns-per-peer 4\n"
	    "      connect-timeout 5s, idle-timeout 10m, "
	    "buffer 1m\n"
	    "      allow: 127.0.0.1/32, fd00::/8\n"));
	assert_non_null(strstr(out,
	    "  ssh: vsock:any:2222 -> "
	    "tcp:localhost:22\n"
	    "      max-conns 0 (only the global limit), "
	    "max-conns-per-peer 0 (none)\n"
	    "      connect-timeout 2s, idle-timeout 10m, "
	    "buffer 64k\n"
	    "      allow: cid:2, "
	    "12345678-1234-1234-1234-123456789abc\n"));
	assert_non_null(strstr(out,
	    "  global: max-conns 0 (fit the "
	    "descriptor limit), drain-timeout 30s\n"
	    "      log-level warning, syslog no, "
	    "metrics 127.0.0.1:9101\n"));
	free(out);
	hvp_config_free(c);
	hvp_errors_free(&e);
}

/* ---- the config reader and the checks across forwards ---------------- */

/* 1 if one of @e's messages holds @want. */
static int
has_error(const struct hvp_errors *e, const char *want)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strstr(e->msg[i], want) != NULL) {
			return 1;
		}
	}
	return 0;
}

static void
print_errors(const struct hvp_errors *e)
{
	for (size_t i = 0; i < e->n; i++) {
		print_message("  %s\n", e->msg[i]);
	}
}

/* @text must load without errors into @nfwds forwards. */
static void
load_ok(const char *text, size_t nfwds)
{
	struct hvp_errors e;
	struct hvp_config *c = load_text(text, strlen(text), &e);

	print_errors(&e);
	assert_non_null(c);
	assert_int_equal(c->nfwds, nfwds);
	hvp_config_free(c);
	hvp_errors_free(&e);
}

/* @text must be refused with an error holding @want. */
static void
load_bad(const char *text, const char *want)
{
	struct hvp_errors e;
	struct hvp_config *c = load_text(text, strlen(text), &e);

	if (!has_error(&e, want)) {
		print_message("wanted: %s\n", want);
		print_errors(&e);
	}
	assert_null(c);
	assert_true(has_error(&e, want));
	hvp_errors_free(&e);
}

/* Our own reader takes the section headers (inih's buffer cut names at 41
 * characters), reports every syntax error in one pass, refuses "key:
 * value", bounds lines and the count of errors. */
static void
test_config_reader(void **state)
{
	char text[1024], name[80];
	char *many;
	struct hvp_errors e;
	struct hvp_config *c;

	/* Names of 64 characters, alike in their first 41: two forwards. */
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text),
	    "[forward %.41s-one]\nlisten = tcp:1\ntarget = tcp:2\n"
	    "[forward %.41s-two]\nlisten = tcp:3\ntarget = tcp:4\n"
	    "[forward %s]\nlisten = tcp:5\ntarget = tcp:6\n",
	    name, name, name);
	c = load_text(text, strlen(text), &e);
	assert_non_null(c);
	assert_int_equal(c->nfwds, 3);
	assert_int_equal(strlen(c->fwds[2]->name), 64);
	hvp_config_free(c);
	hvp_errors_free(&e);
	snprintf(text, sizeof(text),
	    "[forward %sx]\nlisten = tcp:1\ntarget = tcp:2\n", name);
	load_bad(text, "t.conf:1: [forward nnnn");
	load_bad(text, "a forward needs a name of 1 to 64");

	/* A forward named twice: the later one, at its header. */
	load_bad("[forward a]\nlisten = tcp:1\ntarget = tcp:2\n"
		 "[forward b]\nlisten = tcp:3\ntarget = tcp:4\n"
		 "[forward a]\nlisten = tcp:5\ntarget = tcp:6\n",
	    "t.conf:7: [forward a] is defined twice (first at line 1)");
	/* A header without keys is a forward too (without listen=). */
	load_bad("[forward a]\nlisten = tcp:1\ntarget = tcp:2\n[forward e]\n",
	    "t.conf:4: [forward e] has no listen=");

	/* ':' does not separate a key from its value. */
	load_bad("[forward a]\nlisten: tcp:1\ntarget = tcp:2\n",
	    "t.conf:2: syntax error: 'listen:' (expected key = value");
	load_ok("[forward a]\nlisten = unix:/a:b\ntarget = vsock:2:22\n", 1);

	/* Every syntax error, in one pass; an indented key is a key. */
	load_bad("[forward a\nx\n  listen = tcp:1\ny\n",
	    "t.conf:1: syntax error: a section header without its ']'");
	load_bad("[forward a\nx\n  listen = tcp:1\ny\n", "t.conf:2: syntax");
	load_bad("[forward a\nx\n  listen = tcp:1\ny\n", "t.conf:4: syntax");
	load_ok("[forward a]\n  listen = tcp:1\n\ttarget = tcp:2 ; comment\n",
	    1);

	/* Lines: 197 characters, not one more. */
	memset(text, 0, sizeof(text));
	strcpy(text, "[forward a]\nlisten = tcp:1\ntarget = tcp:2\n#");
	memset(text + strlen(text), 'c', 196);
	strcat(text, "\n");
	load_ok(text, 1);
	text[strlen(text) - 1] = 'c';
	strcat(text, "\r\n");
	load_bad(text, "t.conf:4: line is too long (at most 197 characters)");

	/* A file of errors reports HVP_CONF_MAX_ERRORS, then stops. */
	many = calloc(1, 4 * 10000 + 1);
	assert_non_null(many);
	for (int i = 0; i < 10000; i++) {
		memcpy(many + (size_t)i * 4, "x=y\n", 4);
	}
	c = load_text(many, strlen(many), &e);
	assert_null(c);
	assert_int_equal(e.n, HVP_CONF_MAX_ERRORS + 1);
	assert_non_null(strstr(e.msg[e.n - 1], "more problems not shown"));
	hvp_errors_free(&e);
	free(many);

	/* An empty pidfile would fail at start-up: refused. (Windows has
	 * no pid file: the key itself is refused there.) */
	load_bad("pidfile =\n[forward a]\nlisten = tcp:1\ntarget = tcp:2\n",
#ifdef _WIN32
	    "pidfile: not available on Windows");
#else
	    "pidfile: empty (expected the path of a file");
#endif
}

/* Listen addresses that cannot be bound together, as --check sees them. */
static void
test_config_listeners(void **state)
{
	struct hvp_bind_addr lo;
	char text[1024], why[256], host[64];

	/* The same address, written alike or not. */
	load_bad("[forward a]\nlisten = tcp:7001\ntarget = tcp:2\n"
		 "[forward b]\nlisten = tcp:127.0.0.1:7001\ntarget = tcp:2\n",
	    "t.conf:5: [forward b] listen: tcp:127.0.0.1:7001 is already the "
	    "listen address of forward a (t.conf:1)");
	/* localhost binds where the lookup says (as start-up does). */
	assert_int_equal(hvp_tcp_bind_addr("localhost", 7001, 1, &lo, why,
			     sizeof(why)),
	    0);
	assert_non_null(inet_ntop(lo.family, lo.addr, host, sizeof(host)));
	snprintf(text, sizeof(text),
	    "[forward a]\nlisten = tcp:localhost:7001\ntarget = tcp:2\n"
	    "[forward b]\nlisten = tcp:%s%s%s:7001\ntarget = tcp:2\n",
	    lo.family == AF_INET6 ? "[" : "", host,
	    lo.family == AF_INET6 ? "]" : "");
	load_bad(text, "is the same address as tcp:localhost:7001");
	/* Wildcards take the port on every address (of their family; IPv6
	 * on IPv4 too), in either order. */
	load_bad("[forward a]\nlisten = tcp:127.0.0.1:7001\ntarget = tcp:2\n"
		 "[forward b]\nlisten = tcp:*:7001\ntarget = tcp:2\n",
	    "t.conf:5: [forward b] listen: tcp:*:7001 cannot listen beside "
	    "tcp:127.0.0.1:7001");
	load_bad("[forward a]\nlisten = tcp:[::]:7001\ntarget = tcp:2\n"
		 "[forward b]\nlisten = tcp:10.1.2.3:7001\ntarget = tcp:2\n",
	    "t.conf:5: [forward b] listen: tcp:10.1.2.3:7001 cannot listen");
	load_bad("[forward a]\nlisten = vsock:7001\ntarget = tcp:2\n"
		 "[forward b]\nlisten = vsock:3:7001\ntarget = tcp:2\n",
	    "[forward b] listen: vsock:3:7001 cannot listen beside "
	    "vsock:any:7001");
#define DISTINCT                                                     \
	"[forward a]\nlisten = tcp:127.0.0.1:7001\ntarget = tcp:2\n" \
	"[forward b]\nlisten = tcp:127.0.0.2:7001\ntarget = tcp:2\n" \
	"[forward c]\nlisten = tcp:[::1]:7001\ntarget = tcp:2\n"     \
	"[forward d]\nlisten = tcp:*:7002\ntarget = tcp:2\n"         \
	"[forward e]\nlisten = vsock:3:7001\ntarget = tcp:2\n"       \
	"[forward f]\nlisten = vsock:4:7001\ntarget = tcp:2\n"       \
	"[forward g]\nlisten = unix:/x/a\ntarget = tcp:2\n"
#ifdef __linux__
	/* An abstract name is not the file of the same name. */
	load_ok(DISTINCT "[forward h]\nlisten = unix:@a\ntarget = tcp:2\n", 8);
#else
	/* No abstract names here: refused by --check already. */
	load_ok(DISTINCT, 7);
	load_bad("[forward h]\nlisten = unix:@a\ntarget = tcp:2\n",
	    "address 'unix:@a' cannot be used here: abstract unix sockets "
	    "(unix:@NAME) exist only on Linux");
#endif
#undef DISTINCT
	/* The metrics endpoint on a forward's address. */
	load_bad("metrics = unix:/x/m\n"
		 "[forward a]\nlisten = unix:/x/m\ntarget = tcp:2\n",
	    "metrics: unix:/x/m is already the listen address of forward a");
	load_bad("metrics = 7001\n"
		 "[forward a]\nlisten = tcp:*:7001\ntarget = tcp:2\n",
	    "metrics: tcp:127.0.0.1:7001 cannot listen beside tcp:*:7001");
}

/* The command line's forwards against the file's. */
static void
test_config_listeners_cmdline(void **state)
{
	static const char text[] =
	    "[forward a]\nlisten = tcp:7001\ntarget = tcp:2\n";
	char *pairs[4] = {(char *)"tcp:9", (char *)"tcp:2",
	    (char *)"tcp:*:7001", (char *)"tcp:2"};
	struct hvp_cmdline cl;
	struct hvp_errors e = {NULL, 0};
	struct hvp_config *c;

	memset(&cl, 0, sizeof(cl));
	cl.file = "t.conf";
	cl.text = text;
	cl.text_len = sizeof(text) - 1;
	cl.pairs = pairs;
	cl.npairs = 4;
	c = hvp_config_load(&cl, &e);
	print_errors(&e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0],
	    "argument 'tcp:*:7001': [forward tcp:*:7001] listen: tcp:*:7001 "
	    "cannot listen beside tcp:127.0.0.1:7001, the listen address of "
	    "forward a (t.conf:1)"));
	hvp_errors_free(&e);
}

/* 10,000 forwards, one listen address taken twice at the end: found (the
 * check sorts; a scan of the ones before each would take 50 million
 * comparisons). */
#define NFWDS 10000
static void
test_config_listeners_many(void **state)
{
	size_t cap = (size_t)NFWDS * 64 + 128, len = 0;
	char *text = malloc(cap);
	struct hvp_errors e;
	struct hvp_config *c;

	assert_non_null(text);
	for (int i = 0; i < NFWDS; i++) {
		len += (size_t)snprintf(text + len, cap - len,
		    "[forward f%d]\nlisten = tcp:%d\ntarget = tcp:2\n", i,
		    10000 + i);
	}
	c = load_text(text, len, &e);
	print_errors(&e);
	assert_non_null(c);
	assert_int_equal(c->nfwds, NFWDS);
	hvp_config_free(c);
	hvp_errors_free(&e);
	len += (size_t)snprintf(text + len, cap - len,
	    "[forward last]\nlisten = tcp:127.0.0.1:10000\ntarget = tcp:2\n");
	c = load_text(text, len, &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0],
	    "[forward last] listen: tcp:127.0.0.1:10000 is already the listen "
	    "address of forward f0"));
	hvp_errors_free(&e);
	free(text);
}

/* A FIFO at the path is refused at once (opening it would wait for a
 * writer), and so is anything else that is not a regular file. */
#ifdef _WIN32
static void
test_config_open(void **state)
{
	char dir[64], path[96], why[256];
	FILE *f;
	int fd;

	/* No FIFO here: a directory, an oversized file, a good one. */
	print_message("skipped (part of this test): a FIFO: Windows has "
		      "none to make\n");
	snprintf(dir, sizeof(dir), "hvp-units.%d", (int)getpid());
	assert_int_equal(mkdir(dir), 0);
	assert_int_equal(hvp_conf_file_open(dir, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a regular file (a directory)"));
	snprintf(path, sizeof(path), "%s/conf", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)HVP_CONF_MAX_SIZE, SEEK_SET), 0);
	assert_int_equal(fputc('x', f), 'x');
	assert_int_equal(fclose(f), 0);
	assert_int_equal(hvp_conf_file_open(path, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "more than the 16 MiB"));
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs("[forward]\n", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	fd = hvp_conf_file_open(path, why, sizeof(why));
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	rmdir(dir);
}
#else
static void
test_config_open(void **state)
{
	char dir[] = "/tmp/hvp-units.XXXXXX", path[64], why[256];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(hvp_conf_file_open(path, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a regular file (a fifo)"));
	assert_int_equal(hvp_conf_file_open(dir, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a regular file (a directory)"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)HVP_CONF_MAX_SIZE + 1), 0);
	close(fd);
	assert_int_equal(hvp_conf_file_open(path, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "more than the 16 MiB"));
	assert_int_equal(truncate(path, 10), 0);
	fd = hvp_conf_file_open(path, why, sizeof(why));
	assert_true(fd >= 0);
	/* Blocking again, and close-on-exec. */
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	unlink(path);
	rmdir(dir);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allow_ip),
	    cmocka_unit_test(test_allow_vsock),
	    cmocka_unit_test(test_wsl_running),
	    cmocka_unit_test(test_config_perms),
	    cmocka_unit_test(test_config_text),
	    cmocka_unit_test(test_peer_key),
	    cmocka_unit_test(test_peers_table),
	    cmocka_unit_test(test_config_per_peer),
	    cmocka_unit_test(test_config_describe),
	    cmocka_unit_test(test_config_reader),
	    cmocka_unit_test(test_config_listeners),
	    cmocka_unit_test(test_config_listeners_cmdline),
	    cmocka_unit_test(test_config_listeners_many),
	    cmocka_unit_test(test_config_open),
	};

	hvp_log_init(-1); /* quiet: errors are expected here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
