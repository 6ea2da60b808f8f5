/* SPDX-License-Identifier: MIT */
/*
 * Addresses: the one grammar shared by the library and the tools (see
 * <hvsock/hvsock.h> and the README's "Addresses"), parsed strictly and
 * formatted canonically so that hvs_addr_format() output always parses
 * back.
 *
 * The parser never trusts the input to be NUL-terminated and never reads
 * outside [str, str + len). Every error names the part of the input that
 * is wrong (hvs_parse_error_t), because the tools print it back to the
 * user. Host names are only checked here, never resolved.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef _WIN32
#include <arpa/inet.h> /* inet_pton; internal.h brings ws2tcpip.h on Windows */
#endif

#include "internal.h"

/* DNS limits (RFC 1035): a label, and a name without its final dot. */
#define DNS_LABEL_MAX 63
#define DNS_NAME_MAX 253

/* The defaults of a tcp: address without a host, by role. */
#define TCP_LISTEN_DEFAULT "127.0.0.1"
#define TCP_CONNECT_DEFAULT "localhost"

/* A part of the input: @n bytes at offset @off. */
struct tok {
	size_t off;
	size_t n;
};

/* The input being parsed and where to report trouble. */
struct parser {
	const char *s;
	size_t len;
	hvs_parse_error_t *err;
};

static int
fail(struct parser *p, int code, size_t off, size_t n)
{
	if (p->err != NULL) {
		p->err->code = code;
		p->err->offset = off;
		p->err->length = n;
	}
	return code;
}

static int
fail_tok(struct parser *p, int code, struct tok t)
{
	return fail(p, code, t.off, t.n);
}

static char
lower(char c)
{
	/* ASCII only: tolower() would depend on the locale. */
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* 1 if @n bytes at @s equal the lower-case @word, ignoring case. */
static int
word_eq(const char *s, size_t n, const char *word)
{
	size_t wn = strlen(word);

	if (n != wn) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (lower(s[i]) != word[i]) {
			return 0;
		}
	}
	return 1;
}

static int
tok_is(const struct parser *p, struct tok t, const char *word)
{
	return word_eq(p->s + t.off, t.n, word);
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * A decimal number: digits only (no sign, space or hex prefix; leading
 * zeros are fine). Returns 0 with *@out set, -1 if it is not a number at
 * all, or -2 if it is one but larger than @max. Every byte is checked
 * before the range, so "99999999999x" is "not a number", not "too big".
 */
static int
parse_dec(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	int over = 0;

	if (n == 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i])) {
			return -1;
		}
		/* Stop accumulating once past @max so v cannot wrap. */
		if (!over) {
			v = v * 10 + (uint64_t)(s[i] - '0');
			over = v > max;
		}
	}
	if (over) {
		return -2;
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * The next ':'-separated field starting at @off, up to @end: its extent,
 * and whether a ':' follows it.
 */
static struct tok
field(const struct parser *p, size_t off, size_t end, int *more)
{
	const char *c = memchr(p->s + off, ':', end - off);
	struct tok t = {off, end - off};

	*more = c != NULL;
	if (c != NULL) {
		t.n = (size_t)(c - (p->s + off));
	}
	return t;
}

/* Anything after the last field the grammar allows is an error. */
static int
fail_trailing(struct parser *p, struct tok last)
{
	size_t at = last.off + last.n;

	return fail(p, HVS_EADDR_TRAILING, at, p->len - at);
}

/* ---- host names and IP addresses -------------------------------------- */

/* inet_pton() wants a C string; @n bytes at @s are not one. */
static int
pton(int af, const char *s, size_t n)
{
	char buf[64];
	unsigned char bin[16];

	if (n >= sizeof(buf)) {
		return 0;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(af, buf, bin) == 1;
}

/*
 * An IPv6 address as written inside brackets, with an optional %zone (an
 * interface name or number). Returns 1 if valid.
 */
static int
valid_ipv6(const char *s, size_t n)
{
	const char *pct = memchr(s, '%', n);
	size_t an = pct != NULL ? (size_t)(pct - s) : n;

	/* The zone is free-form: bound it by the room in hvs_addr_t. */
	if (n >= HVS_HOST_MAX) {
		return 0;
	}
	if (pct != NULL) {
		size_t zn = n - an - 1;

		if (zn == 0) {
			return 0;
		}
		for (size_t i = an + 1; i < n; i++) {
			if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' &&
			    s[i] != '.') {
				return 0;
			}
		}
	}
	return pton(AF_INET6, s, an);
}

/*
 * A host name or IPv4 address (or "*"), as written without brackets.
 * Returns 1 if valid.
 *
 * A name whose last label is numeric (all digits, or 0x...) must be a
 * proper dotted quad: getaddrinfo() would otherwise read "1.2.3" or
 * "0x7f.1" as inet_aton() does, which is never what the user meant.
 */
static int
valid_host(const char *s, size_t n)
{
	size_t name_n = n;
	size_t label = 0; /* start of the current label */
	int numeric;

	if (n == 1 && s[0] == '*') {
		return 1;
	}
	/* One final dot (a fully qualified name) is not part of the length. */
	if (name_n > 1 && s[name_n - 1] == '.') {
		name_n--;
	}
	if (name_n == 0 || name_n > DNS_NAME_MAX) {
		return 0;
	}
	for (size_t i = 0; i <= name_n; i++) {
		if (i == name_n || s[i] == '.') {
			size_t ln = i - label;

			if (ln == 0 || ln > DNS_LABEL_MAX) {
				return 0;
			}
			/* RFC 1123: a label neither starts nor ends with '-'
			 * (which also keeps names from looking like options). */
			if (s[label] == '-' || s[i - 1] == '-') {
				return 0;
			}
			if (i < name_n) {
				label = i + 1;
			}
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_') {
			return 0;
		}
	}
	/* Here [label, name_n) is the last label. */
	numeric = 1;
	for (size_t i = label; i < name_n; i++) {
		if (!is_digit(s[i])) {
			numeric = 0;
			break;
		}
	}
	if (name_n - label >= 2 && s[label] == '0' &&
	    lower(s[label + 1]) == 'x') {
		numeric = 1;
	}
	if (numeric) {
		return pton(AF_INET, s, n);
	}
	return 1;
}

/* ---- the kinds -------------------------------------------------------- */

static int
parse_vsock(struct parser *p, size_t off, hvs_role_t role, hvs_addr_t *a)
{
	struct tok cid_t, port_t;
	int more, r;
	uint32_t v;

	a->u.vsock.cid = role == HVS_ROLE_LISTEN ? HVS_CID_ANY : HVS_CID_HOST;
	port_t = field(p, off, p->len, &more);
	if (more) {
		cid_t = port_t;
		port_t = field(p, cid_t.off + cid_t.n + 1, p->len, &more);
		if (cid_t.n == 0) {
			return fail_tok(p, HVS_EADDR_MISSING, cid_t);
		}
		if (tok_is(p, cid_t, "any")) {
			a->u.vsock.cid = HVS_CID_ANY;
		} else if (tok_is(p, cid_t, "local")) {
			a->u.vsock.cid = HVS_CID_LOCAL;
		} else if (tok_is(p, cid_t, "host")) {
			a->u.vsock.cid = HVS_CID_HOST;
		} else if (tok_is(p, cid_t, "hypervisor")) {
			a->u.vsock.cid = HVS_CID_HYPERVISOR;
		} else if (parse_dec(p->s + cid_t.off, cid_t.n, UINT32_MAX,
			       &v) == 0) {
			a->u.vsock.cid = v;
		} else {
			return fail_tok(p, HVS_EADDR_CID, cid_t);
		}
	}
	if (port_t.n == 0) {
		return fail_tok(p, HVS_EADDR_MISSING, port_t);
	}
	if (more) {
		return fail_trailing(p, port_t);
	}
	if (tok_is(p, port_t, "any")) {
		a->u.vsock.port = HVS_PORT_ANY;
		return 0;
	}
	r = parse_dec(p->s + port_t.off, port_t.n, UINT32_MAX, &v);
	if (r < 0) {
		return fail_tok(p,
		    r == -2 ? HVS_EADDR_PORT_RANGE : HVS_EADDR_PORT, port_t);
	}
	a->u.vsock.port = v;
	return 0;
}

/*
 * Something that was meant as a GUID (braces, a dash in a longer word, or
 * GUID-sized) gets the GUID error with its expected format; anything else,
 * such as "-1" or "parents", the error of the part (@code) with its list of
 * names.
 */
static int
fail_guidish(struct parser *p, int code, struct tok t)
{
	const char *s = p->s + t.off;

	if (memchr(s, '{', t.n) != NULL || memchr(s, '}', t.n) != NULL ||
	    (t.n > 8 && memchr(s, '-', t.n) != NULL) || t.n >= 32) {
		code = HVS_EADDR_GUID;
	}
	return fail_tok(p, code, t);
}

static int
parse_vmid(struct parser *p, struct tok t, hvs_addr_t *a)
{
	static const struct {
		const char *name;
		hvs_vmid_name_t id;
	} names[] = {
	    {"wildcard", HVS_VMID_WILDCARD},
	    {"broadcast", HVS_VMID_BROADCAST},
	    {"children", HVS_VMID_CHILDREN},
	    {"loopback", HVS_VMID_LOOPBACK},
	    {"parent", HVS_VMID_PARENT},
	    {"silohost", HVS_VMID_SILOHOST},
	};

	if (t.n == 0) {
		return fail_tok(p, HVS_EADDR_MISSING, t);
	}
	/* WSL's VM id changes at every start: keep the name, resolve later. */
	if (tok_is(p, t, "wsl")) {
		memset(&a->u.hvsock.vm_id, 0, sizeof(a->u.hvsock.vm_id));
		a->u.hvsock.vm_flags = HVS_VMID_F_WSL;
		return 0;
	}
	for (size_t i = 0; i < HVS__ARRAY_LEN(names); i++) {
		if (tok_is(p, t, names[i].name)) {
			a->u.hvsock.vm_id = *hvs_vmid_get(names[i].id);
			return 0;
		}
	}
	if (hvs_guid_parse(&a->u.hvsock.vm_id, p->s + t.off, t.n) == 0) {
		return 0;
	}
	return fail_guidish(p, HVS_EADDR_VMID, t);
}

static int
parse_service(struct parser *p, struct tok t, hvs_addr_t *a)
{
	uint32_t port;
	int r;

	r = parse_dec(p->s + t.off, t.n, HVS_SERVICE_PORT_MAX, &port);
	if (r == -2) {
		return fail_tok(p, HVS_EADDR_PORT_RANGE, t);
	}
	if (r == 0) {
		return hvs_service_from_port(&a->u.hvsock.service_id, port);
	}
	if (hvs_guid_parse(&a->u.hvsock.service_id, p->s + t.off, t.n) == 0) {
		return 0;
	}
	return fail_guidish(p, HVS_EADDR_SERVICE, t);
}

static int
parse_hvsock(struct parser *p, size_t off, hvs_role_t role, hvs_addr_t *a)
{
	struct tok vm_t, svc_t;
	int more, r;

	a->u.hvsock.vm_id = *hvs_vmid_get(
	    role == HVS_ROLE_LISTEN ? HVS_VMID_WILDCARD : HVS_VMID_PARENT);
	a->u.hvsock.vm_flags = 0;
	svc_t = field(p, off, p->len, &more);
	if (more) {
		vm_t = svc_t;
		svc_t = field(p, vm_t.off + vm_t.n + 1, p->len, &more);
		if ((r = parse_vmid(p, vm_t, a)) < 0) {
			return r;
		}
	}
	if (svc_t.n == 0) {
		return fail_tok(p, HVS_EADDR_MISSING, svc_t);
	}
	if (more) {
		return fail_trailing(p, svc_t);
	}
	return parse_service(p, svc_t, a);
}

/*
 * 1 if @t, written without brackets, is meant as an IPv6 address: users
 * write "tcp:::1:80", and a clear "bad host" beats "bad port ':1:80'".
 */
static int
looks_like_ipv6(const struct parser *p, struct tok t)
{
	const char *s = p->s + t.off;
	const char *pct = memchr(s, '%', t.n);
	size_t n = pct != NULL ? (size_t)(pct - s) : t.n;

	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == ':' && s[i + 1] == ':') {
			return 1;
		}
	}
	return pton(AF_INET6, s, n);
}

/* Only after valid_host() or valid_ipv6(): they keep n < HVS_HOST_MAX. */
static void
set_host(hvs_addr_t *a, const char *s, size_t n)
{
	memcpy(a->u.tcp.host, s, n);
	a->u.tcp.host[n] = '\0';
}

static int
parse_tcp(struct parser *p, size_t off, hvs_role_t role, hvs_addr_t *a)
{
	struct tok host_t = {off, 0}, port_t;
	const char *s = p->s;
	size_t end = p->len;
	int more, r;
	uint32_t v;

	if (off < end && s[off] == '[') {
		const char *close = memchr(s + off, ']', end - off);
		size_t after;

		if (close == NULL) {
			return fail(p, HVS_EADDR_HOST, off, end - off);
		}
		after = (size_t)(close - s) + 1;
		host_t.off = off + 1;
		host_t.n = after - 1 - host_t.off;
		if (host_t.n == 0) {
			return fail_tok(p, HVS_EADDR_MISSING, host_t);
		}
		if (!valid_ipv6(s + host_t.off, host_t.n)) {
			return fail_tok(p, HVS_EADDR_HOST, host_t);
		}
		if (after == end) {
			return fail(p, HVS_EADDR_MISSING, after, 0);
		}
		if (s[after] != ':') {
			/* "[::1]x:80": junk glued to the bracket. */
			struct tok junk = field(p, after, end, &more);

			return fail_tok(p, HVS_EADDR_HOST, junk);
		}
		set_host(a, s + host_t.off, host_t.n);
		port_t = field(p, after + 1, end, &more);
	} else {
		port_t = field(p, off, end, &more);
		if (more) {
			const char *last = s + end;
			struct tok upto;

			while (last[-1] != ':') {
				last--;
			}
			/* Two colons or more: an IPv6 address without
			 * brackets, before the port or all on its own? */
			upto.off = off;
			upto.n = (size_t)(last - 1 - (s + off));
			if (upto.n > port_t.n) {
				struct tok all = {off, end - off};

				if (looks_like_ipv6(p, upto)) {
					return fail_tok(p, HVS_EADDR_HOST,
					    upto);
				}
				if (looks_like_ipv6(p, all)) {
					return fail_tok(p, HVS_EADDR_HOST, all);
				}
			}
			host_t = port_t;
			port_t =
			    field(p, host_t.off + host_t.n + 1, end, &more);
			if (host_t.n == 0) {
				return fail_tok(p, HVS_EADDR_MISSING, host_t);
			}
			if (!valid_host(s + host_t.off, host_t.n)) {
				return fail_tok(p, HVS_EADDR_HOST, host_t);
			}
			set_host(a, s + host_t.off, host_t.n);
		} else if (role == HVS_ROLE_LISTEN) {
			/* Never all interfaces unless the user wrote so. */
			set_host(a, TCP_LISTEN_DEFAULT,
			    sizeof(TCP_LISTEN_DEFAULT) - 1);
		} else {
			set_host(a, TCP_CONNECT_DEFAULT,
			    sizeof(TCP_CONNECT_DEFAULT) - 1);
		}
	}
	if (port_t.n == 0) {
		return fail_tok(p, HVS_EADDR_MISSING, port_t);
	}
	if (more) {
		return fail_trailing(p, port_t);
	}
	r = parse_dec(s + port_t.off, port_t.n, UINT16_MAX, &v);
	if (r < 0) {
		return fail_tok(p,
		    r == -2 ? HVS_EADDR_PORT_RANGE : HVS_EADDR_PORT, port_t);
	}
	a->u.tcp.port = (uint16_t)v;
	return 0;
}

static int
parse_unix(struct parser *p, size_t off, hvs_addr_t *a)
{
	struct tok path = {off, p->len - off};

	/* Everything after "unix:" is the path, colons included. */
	if (path.n == 0) {
		return fail_tok(p, HVS_EADDR_MISSING, path);
	}
	if (p->s[off] == '@') {
		path.off++;
		path.n--;
		if (path.n == 0) {
			return fail_tok(p, HVS_EADDR_MISSING, path);
		}
		a->u.local.abstract = 1;
	}
	/* sun_path holds 108 bytes: a NUL after a path, or before a name. */
	if (path.n >= HVS_PATH_MAX) {
		return fail_tok(p, HVS_EADDR_PATH_TOOLONG, path);
	}
	memcpy(a->u.local.path, p->s + path.off, path.n);
	a->u.local.path[path.n] = '\0';
	a->u.local.len = path.n;
	return 0;
}

/*
 * vsock-mux:PATH:PORT. The PATH is everything up to the last ':' (file
 * names may hold colons, port numbers never do); it must name a file:
 * the VMM's socket is never abstract. The PORT follows the vsock: rules,
 * but "any" (and its number) cannot be connected to.
 */
static int
parse_mux(struct parser *p, size_t off, hvs_role_t role, struct tok scheme,
    hvs_addr_t *a)
{
	const char *s = p->s;
	const char *last = s + p->len;
	struct tok path, port_t;
	uint32_t v;
	int r;

	/* Nothing a VMM offers to listen on: say where to listen instead. */
	if (role == HVS_ROLE_LISTEN) {
		return fail_tok(p, HVS_EMUX_LISTEN, scheme);
	}
	while (last > s + off && last[-1] != ':') {
		last--;
	}
	if (last == s + off) {
		/* One part only: a number is a port without its path,
		 * anything else a path without its port. */
		uint32_t ignored;

		if (parse_dec(s + off, p->len - off, UINT32_MAX, &ignored) !=
		    -1) {
			return fail(p, HVS_EADDR_MISSING, off, 0);
		}
		return fail(p, HVS_EADDR_MISSING, p->len, 0);
	}
	path.off = off;
	path.n = (size_t)(last - 1 - (s + off));
	port_t.off = (size_t)(last - s);
	port_t.n = p->len - port_t.off;
	if (path.n == 0) {
		return fail_tok(p, HVS_EADDR_PATH, path);
	}
	if (s[path.off] == '@') {
		/* unix:@NAME is abstract; a VMM's socket is a file. */
		return fail(p, HVS_EADDR_PATH, path.off, 1);
	}
	if (path.n >= HVS_PATH_MAX) {
		return fail_tok(p, HVS_EADDR_PATH_TOOLONG, path);
	}
	if (port_t.n == 0) {
		return fail_tok(p, HVS_EADDR_MISSING, port_t);
	}
	r = parse_dec(s + port_t.off, port_t.n, HVS_PORT_ANY - 1, &v);
	if (r < 0) {
		return fail_tok(p,
		    r == -2 ? HVS_EADDR_PORT_RANGE : HVS_EADDR_PORT, port_t);
	}
	memcpy(a->u.mux.path, s + path.off, path.n);
	a->u.mux.path[path.n] = '\0';
	a->u.mux.len = path.n;
	a->u.mux.port = v;
	return 0;
}

static int
parse_fd(struct parser *p, size_t off, hvs_addr_t *a)
{
	int more;
	struct tok t = field(p, off, p->len, &more);
	uint32_t v;

	if (t.n == 0) {
		return fail_tok(p, HVS_EADDR_MISSING, t);
	}
	if (more) {
		return fail_trailing(p, t);
	}
	if (parse_dec(p->s + t.off, t.n, INT_MAX, &v) < 0) {
		return fail_tok(p, HVS_EADDR_FD, t);
	}
	a->u.fd.fd = (int)v;
	return 0;
}

int
hvs_addr_parse(hvs_addr_t *out, const char *str, size_t len, hvs_role_t role,
    hvs_parse_error_t *err)
{
	static const struct {
		const char *name;
		hvs_addr_kind_t kind;
	} schemes[] = {
	    {"vsock", HVS_ADDR_VSOCK},
	    {"hvsock", HVS_ADDR_HVSOCK},
	    {"tcp", HVS_ADDR_TCP},
	    {"unix", HVS_ADDR_UNIX},
	    {"fd", HVS_ADDR_FD},
	    {"stdio", HVS_ADDR_STDIO},
	    {"vsock-mux", HVS_ADDR_VSOCK_MUX},
	};
	struct parser p = {str, len, err};
	struct tok scheme;
	const char *nul;
	hvs_addr_t a;
	size_t rest;
	int more, r;

	if (out == NULL || (str == NULL && len > 0) ||
	    (role != HVS_ROLE_LISTEN && role != HVS_ROLE_CONNECT)) {
		return fail(&p, HVS_EINVAL, 0, 0);
	}
	if (len == 0) {
		return fail(&p, HVS_EADDR_EMPTY, 0, 0);
	}
	if (len > HVS_ADDR_MAXLEN) {
		return fail(&p, HVS_EADDR_TOOLONG, HVS_ADDR_MAXLEN,
		    len - HVS_ADDR_MAXLEN);
	}
	/* A NUL would cut the string short in every later C API. */
	if ((nul = memchr(str, '\0', len)) != NULL) {
		return fail(&p, HVS_EADDR_NUL, (size_t)(nul - str), 1);
	}

	/* Build in a zeroed local: *out stays untouched on failure. */
	memset(&a, 0, sizeof(a));
	scheme = field(&p, 0, len, &more);
	for (size_t i = 0; i < HVS__ARRAY_LEN(schemes); i++) {
		if (tok_is(&p, scheme, schemes[i].name)) {
			a.kind = schemes[i].kind;
			break;
		}
	}
	if (a.kind == HVS_ADDR_NONE) {
		return fail_tok(&p, HVS_EADDR_SCHEME, scheme);
	}
	if (a.kind == HVS_ADDR_STDIO) {
		if (more) {
			return fail_trailing(&p, scheme);
		}
	} else if (!more) {
		return fail(&p, HVS_EADDR_MISSING, len, 0);
	}
	rest = scheme.n + 1;

	switch (a.kind) {
	case HVS_ADDR_VSOCK:
		r = parse_vsock(&p, rest, role, &a);
		break;
	case HVS_ADDR_HVSOCK:
		r = parse_hvsock(&p, rest, role, &a);
		break;
	case HVS_ADDR_TCP:
		r = parse_tcp(&p, rest, role, &a);
		break;
	case HVS_ADDR_UNIX:
		r = parse_unix(&p, rest, &a);
		break;
	case HVS_ADDR_FD:
		r = parse_fd(&p, rest, &a);
		break;
	case HVS_ADDR_VSOCK_MUX:
		r = parse_mux(&p, rest, role, scheme, &a);
		break;
	default:
		r = 0;
		break;
	}
	if (r < 0) {
		return r;
	}
	*out = a;
	if (err != NULL) {
		err->code = 0;
		err->offset = 0;
		err->length = 0;
	}
	return 0;
}

int
hvs_addr_parse_str(hvs_addr_t *out, const char *str, hvs_role_t role,
    hvs_parse_error_t *err)
{
	if (str == NULL) {
		struct parser p = {NULL, 0, err};

		return fail(&p, HVS_EINVAL, 0, 0);
	}
	return hvs_addr_parse(out, str, strlen(str), role, err);
}

/* ---- formatting ------------------------------------------------------- */

/* snprintf-style output: counts what would be written, stores what fits. */
struct out {
	char *buf;
	size_t size;
	size_t n;
};

static void
put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->n++) {
		if (o->n + 1 < o->size) {
			o->buf[o->n] = s[i];
		}
	}
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_dec(struct out *o, uint32_t v)
{
	char tmp[10];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(o, tmp + i, sizeof(tmp) - i);
}

static void
put_guid(struct out *o, const hvs_guid_t *g)
{
	char tmp[HVS_GUID_STRLEN];

	hvs_guid_format(g, tmp);
	puts_(o, tmp);
}

/* The length of a C string in a fixed array, or @max if unterminated. */
static size_t
bounded_len(const char *s, size_t max)
{
	const char *z = memchr(s, '\0', max);

	return z != NULL ? (size_t)(z - s) : max;
}

static int
format_hvsock(const hvs_addr_t *a, struct out *o)
{
	const char *name;
	uint32_t port;

	puts_(o, "hvsock:");
	if (a->u.hvsock.vm_flags & HVS_VMID_F_WSL) {
		puts_(o, "wsl");
	} else if ((name = hvs_vmid_name(&a->u.hvsock.vm_id)) != NULL) {
		puts_(o, name);
	} else {
		put_guid(o, &a->u.hvsock.vm_id);
	}
	puts_(o, ":");
	if (hvs_service_to_port(&a->u.hvsock.service_id, &port) == 0) {
		put_dec(o, port);
	} else {
		put_guid(o, &a->u.hvsock.service_id);
	}
	return 0;
}

static int
format_tcp(const hvs_addr_t *a, struct out *o)
{
	const char *h = a->u.tcp.host;
	size_t n = bounded_len(h, sizeof(a->u.tcp.host));

	/* Write only what parses back: check the host as the parser would. */
	if (n == sizeof(a->u.tcp.host)) {
		return HVS_EINVAL;
	}
	puts_(o, "tcp:");
	if (memchr(h, ':', n) != NULL) {
		if (!valid_ipv6(h, n)) {
			return HVS_EINVAL;
		}
		puts_(o, "[");
		put(o, h, n);
		puts_(o, "]");
	} else {
		if (!valid_host(h, n)) {
			return HVS_EINVAL;
		}
		put(o, h, n);
	}
	puts_(o, ":");
	put_dec(o, a->u.tcp.port);
	return 0;
}

static int
format_unix(const hvs_addr_t *a, struct out *o)
{
	const char *path = a->u.local.path;
	size_t n;

	/*
	 * The grammar has no escapes: an empty path (an unnamed socket), a
	 * NUL inside an abstract name, or a file name starting with '@' (it
	 * would read back as abstract) cannot be written.
	 */
	if (a->u.local.abstract) {
		n = a->u.local.len;
		if (n == 0 || n >= HVS_PATH_MAX ||
		    memchr(path, '\0', n) != NULL) {
			return HVS_EINVAL;
		}
		puts_(o, "unix:@");
	} else {
		/* A file path ends at its NUL, as in sun_path; len is a
		 * convenience that callers may have left at 0. */
		n = bounded_len(path, HVS_PATH_MAX);
		if (n == 0 || n == HVS_PATH_MAX || path[0] == '@') {
			return HVS_EINVAL;
		}
		puts_(o, "unix:");
	}
	put(o, path, n);
	return 0;
}

static int
format_mux(const hvs_addr_t *a, struct out *o)
{
	const char *path = a->u.mux.path;
	size_t n = bounded_len(path, HVS_PATH_MAX);

	/* As the parser takes it: a file path, and a port to connect to. */
	if (n == 0 || n == HVS_PATH_MAX || path[0] == '@' ||
	    a->u.mux.port == HVS_PORT_ANY) {
		return HVS_EINVAL;
	}
	puts_(o, "vsock-mux:");
	put(o, path, n);
	puts_(o, ":");
	put_dec(o, a->u.mux.port);
	return 0;
}

int
hvs_addr_format(const hvs_addr_t *addr, char *buf, size_t size)
{
	struct out o = {buf, size, 0};
	int r = 0;

	if (buf == NULL) {
		o.size = 0;
	}
	if (addr == NULL) {
		r = HVS_EINVAL;
		goto done;
	}
	switch (addr->kind) {
	case HVS_ADDR_VSOCK:
		puts_(&o, "vsock:");
		if (addr->u.vsock.cid == HVS_CID_ANY) {
			puts_(&o, "any");
		} else {
			put_dec(&o, addr->u.vsock.cid);
		}
		puts_(&o, ":");
		if (addr->u.vsock.port == HVS_PORT_ANY) {
			puts_(&o, "any");
		} else {
			put_dec(&o, addr->u.vsock.port);
		}
		break;
	case HVS_ADDR_HVSOCK:
		r = format_hvsock(addr, &o);
		break;
	case HVS_ADDR_TCP:
		r = format_tcp(addr, &o);
		break;
	case HVS_ADDR_UNIX:
		r = format_unix(addr, &o);
		break;
	case HVS_ADDR_FD:
		if (addr->u.fd.fd < 0) {
			r = HVS_EINVAL;
			break;
		}
		puts_(&o, "fd:");
		put_dec(&o, (uint32_t)addr->u.fd.fd);
		break;
	case HVS_ADDR_STDIO:
		puts_(&o, "stdio");
		break;
	case HVS_ADDR_VSOCK_MUX:
		r = format_mux(addr, &o);
		break;
	default:
		r = HVS_EINVAL;
		break;
	}

done:
	if (r < 0) {
		/* Never leave a half-written address behind. */
		if (o.size > 0) {
			buf[0] = '\0';
		}
		return r;
	}
	if (o.size > 0) {
		buf[o.n < o.size ? o.n : o.size - 1] = '\0';
	}
	if (o.n >= o.size) {
		return HVS_ENOBUFS;
	}
	return (int)o.n;
}

int
hvs_addr_equal(const hvs_addr_t *a, const hvs_addr_t *b)
{
	/* Field by field: the union's unused bytes are not part of the
	 * value, and two equal addresses may differ there. */
	if (a == NULL || b == NULL || a->kind != b->kind) {
		return 0;
	}
	switch (a->kind) {
	case HVS_ADDR_VSOCK:
		return a->u.vsock.cid == b->u.vsock.cid &&
		    a->u.vsock.port == b->u.vsock.port;
	case HVS_ADDR_HVSOCK: {
		unsigned fa = a->u.hvsock.vm_flags & HVS_VMID_F_WSL;
		unsigned fb = b->u.hvsock.vm_flags & HVS_VMID_F_WSL;

		if (fa != fb ||
		    !hvs_guid_equal(&a->u.hvsock.service_id,
			&b->u.hvsock.service_id)) {
			return 0;
		}
		/* A WSL VM id is resolved when used: vm_id means nothing. */
		return fa != 0 ||
		    hvs_guid_equal(&a->u.hvsock.vm_id, &b->u.hvsock.vm_id);
	}
	case HVS_ADDR_TCP:
		return a->u.tcp.port == b->u.tcp.port &&
		    strncmp(a->u.tcp.host, b->u.tcp.host,
			sizeof(a->u.tcp.host)) == 0;
	case HVS_ADDR_UNIX:
		if (!a->u.local.abstract != !b->u.local.abstract) {
			return 0;
		}
		if (a->u.local.abstract) {
			/* Abstract names are byte strings of length len. */
			return a->u.local.len == b->u.local.len &&
			    a->u.local.len <= HVS_PATH_MAX &&
			    memcmp(a->u.local.path, b->u.local.path,
				a->u.local.len) == 0;
		}
		/* A file path is a C string (see format_unix()). */
		return strncmp(a->u.local.path, b->u.local.path,
			   HVS_PATH_MAX) == 0;
	case HVS_ADDR_FD:
		return a->u.fd.fd == b->u.fd.fd;
	case HVS_ADDR_VSOCK_MUX:
		return a->u.mux.port == b->u.mux.port &&
		    strncmp(a->u.mux.path, b->u.mux.path, HVS_PATH_MAX) == 0;
	default:
		/* stdio, none: the kind is the whole value. */
		return 1;
	}
}

const char *
hvs_addr_kind_name(hvs_addr_kind_t kind)
{
	switch (kind) {
	case HVS_ADDR_NONE:
		return "none";
	case HVS_ADDR_VSOCK:
		return "vsock";
	case HVS_ADDR_HVSOCK:
		return "hvsock";
	case HVS_ADDR_TCP:
		return "tcp";
	case HVS_ADDR_UNIX:
		return "unix";
	case HVS_ADDR_FD:
		return "fd";
	case HVS_ADDR_STDIO:
		return "stdio";
	case HVS_ADDR_VSOCK_MUX:
		return "vsock-mux";
	}
	return "unknown";
}

void
hvs_addr_vsock(hvs_addr_t *out, uint32_t cid, uint32_t port)
{
	memset(out, 0, sizeof(*out));
	out->kind = HVS_ADDR_VSOCK;
	out->u.vsock.cid = cid;
	out->u.vsock.port = port;
}

int
hvs_addr_service_port(const hvs_addr_t *addr, uint32_t *port)
{
	if (addr == NULL || port == NULL) {
		return HVS_EINVAL;
	}
	switch (addr->kind) {
	case HVS_ADDR_VSOCK:
		*port = addr->u.vsock.port;
		return 0;
	case HVS_ADDR_HVSOCK:
		return hvs_service_to_port(&addr->u.hvsock.service_id, port);
	default:
		return HVS_EADDR_KIND;
	}
}

int
hvs_addr_port_unknown(const hvs_addr_t *addr)
{
	hvs_guid_t unknown;

	if (addr == NULL || addr->kind != HVS_ADDR_HVSOCK ||
	    hvs_service_from_port(&unknown, 0) != 0) {
		return 0;
	}
	/* Above HVS_SERVICE_PORT_MAX: built by hand, as the backend does. */
	unknown.data1 = HVS_PORT_UNKNOWN;
	return hvs_guid_equal(&addr->u.hvsock.service_id, &unknown);
}
