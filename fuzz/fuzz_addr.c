/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: hvs_addr_parse() and hvs_addr_format().
 *
 * The input is the address text, arbitrary bytes (NULs included), parsed
 * in both roles. What must hold, each checked with abort():
 *
 *  - the parser reads nothing outside [data, data + size) (ASan: libFuzzer
 *    hands over an exactly sized heap copy);
 *  - the role picks defaults only: both roles accept or reject alike, with
 *    the same error code and the same bad part; except vsock-mux:, which
 *    the listen role refuses with HVS_EMUX_LISTEN at the kind (0+9),
 *    whatever the connect role makes of it;
 *  - on failure *out is untouched, the error is an HVS_EADDR_* code and
 *    err->offset/length lie within the input; with err NULL the result is
 *    the same;
 *  - on success hvs_addr_format() succeeds, its text parses back in both
 *    roles (vsock-mux: in the connect role, and the listen role refuses
 *    it) to an equal address and formats to the same text again; a
 *    smaller buffer gives HVS_ENOBUFS and a NUL-terminated prefix, never a
 *    byte past the buffer;
 *  - hvs_addr_parse_str() agrees with hvs_addr_parse() on NUL-free input;
 *  - strictness: an accepted address other than unix:PATH and
 *    vsock-mux:PATH:PORT is printable ASCII without spaces (no junk
 *    silently accepted).
 *
 * An input at least as long as hvs_addr_t is also taken as a raw address
 * value: hvs_addr_format() must either refuse it or write text that parses
 * back to an equal address (its documented contract, which the tools rely
 * on for peer addresses that come from the kernel, not from a parser).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvsock/hvsock.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                    \
	do {                                           \
		if (!(cond)) {                         \
			check_failed(#cond, __LINE__); \
		}                                      \
	} while (0)

static void
check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_addr.c:%d: check failed: %s\n", line, what);
	abort();
}

static const hvs_role_t roles[2] = {HVS_ROLE_LISTEN, HVS_ROLE_CONNECT};

/* Format @a; must succeed. Returns a malloc'd string of length *@n. */
static char *
format_ok(const hvs_addr_t *a, size_t *n)
{
	char *buf = malloc(HVS_ADDR_STRLEN);
	int r;

	CHECK(buf != NULL);
	r = hvs_addr_format(a, buf, HVS_ADDR_STRLEN);
	if (r < 0) {
		fprintf(stderr, "format failed: %s\n", hvs_err_name(r));
	}
	CHECK(r > 0);
	CHECK((size_t)r < HVS_ADDR_STRLEN);
	CHECK(strlen(buf) == (size_t)r);
	*n = (size_t)r;
	return buf;
}

/* Smaller buffers: HVS_ENOBUFS, a NUL-terminated prefix, no overflow. */
static void
check_truncation(const hvs_addr_t *a, const char *full, size_t n)
{
	size_t sizes[] = {0, 1, 2, n / 2, n - 1, n, n + 1};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t sz = sizes[i];
		/* Exactly @sz bytes on the heap: ASan sees one byte more. */
		char *buf = sz > 0 ? malloc(sz) : NULL;
		int r;

		CHECK(sz == 0 || buf != NULL);
		r = hvs_addr_format(a, buf, sz);
		if (sz > n) {
			CHECK(r == (int)n);
			CHECK(memcmp(buf, full, n + 1) == 0);
		} else {
			CHECK(r == HVS_ENOBUFS);
			if (sz > 0) {
				CHECK(buf[sz - 1] == '\0');
				CHECK(memcmp(buf, full, sz - 1) == 0);
			}
		}
		free(buf);
	}
}

/* Everything a successfully parsed (or formattable) address must obey. */
static void
check_roundtrip(const hvs_addr_t *a)
{
	size_t n, n2;
	char *text, *again, *copy;
	uint32_t port;
	int r;

	CHECK(hvs_addr_equal(a, a) == 1);
	CHECK(strcmp(hvs_addr_kind_name(a->kind), "unknown") != 0);
	CHECK(strcmp(hvs_addr_kind_name(a->kind), "none") != 0);

	text = format_ok(a, &n);
	/* The canonical text must itself be a valid input. */
	CHECK(n <= HVS_ADDR_MAXLEN);
	/* Parse back from an exactly sized, unterminated copy. */
	copy = malloc(n);
	CHECK(copy != NULL);
	memcpy(copy, text, n);
	for (int i = 0; i < 2; i++) {
		hvs_addr_t back;
		hvs_parse_error_t e;

		r = hvs_addr_parse(&back, copy, n, roles[i], &e);
		if (a->kind == HVS_ADDR_VSOCK_MUX &&
		    roles[i] == HVS_ROLE_LISTEN) {
			CHECK(r == HVS_EMUX_LISTEN);
			CHECK(e.offset == 0 && e.length == 9);
			continue;
		}
		if (r != 0) {
			fprintf(stderr,
			    "'%s' does not parse back (role %d): "
			    "%s at %zu+%zu\n",
			    text, (int)roles[i], hvs_err_name(r), e.offset,
			    e.length);
		}
		CHECK(r == 0);
		CHECK(hvs_addr_equal(a, &back) == 1);
		CHECK(hvs_addr_equal(&back, a) == 1);
		again = format_ok(&back, &n2);
		CHECK(n2 == n && memcmp(again, text, n) == 0);
		free(again);
	}
	free(copy);

	check_truncation(a, text, n);

	r = hvs_addr_service_port(a, &port);
	if (a->kind == HVS_ADDR_VSOCK) {
		CHECK(r == 0 && port == a->u.vsock.port);
	} else if (a->kind == HVS_ADDR_HVSOCK) {
		uint32_t p2;
		int r2 = hvs_service_to_port(&a->u.hvsock.service_id, &p2);

		CHECK(r == r2);
		CHECK(r != 0 || port == p2);
	} else {
		CHECK(r == HVS_EADDR_KIND);
	}
	free(text);
}

static int
parse_checked(hvs_addr_t *out, const char *s, size_t size, hvs_role_t role,
    hvs_parse_error_t *err)
{
	hvs_addr_t a, poison, b;
	hvs_parse_error_t e;
	int r, r2;

	memset(&a, 0xa5, sizeof(a));
	memcpy(&poison, &a, sizeof(a));
	memset(&e, 0xa5, sizeof(e));
	r = hvs_addr_parse(&a, s, size, role, &e);
	if (r < 0) {
		/* Untouched on failure. */
		CHECK(memcmp(&a, &poison, sizeof(a)) == 0);
		/* A specific address error, never EINVAL for valid args;
		 * or vsock-mux: in the listen role. */
		CHECK((r <= HVS_EADDR_EMPTY && r >= HVS_EADDR_RESOLVE) ||
		    (r == HVS_EMUX_LISTEN && role == HVS_ROLE_LISTEN));
		CHECK(strcmp(hvs_err_name(r), "UNKNOWN") != 0);
		CHECK(e.code == r);
		/* The bad part lies within the input (tools print it). */
		CHECK(e.offset <= size);
		CHECK(e.length <= size - e.offset);
	} else {
		CHECK(r == 0);
		CHECK(e.code == 0 && e.offset == 0 && e.length == 0);
	}
	/* Without an error record: the same answer. */
	memset(&b, 0x5a, sizeof(b));
	r2 = hvs_addr_parse(&b, s, size, role, NULL);
	CHECK(r2 == r);
	CHECK(r != 0 || hvs_addr_equal(&a, &b) == 1);

	*out = a;
	*err = e;
	return r;
}

static void
fuzz_text(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	hvs_addr_t a[2];
	hvs_parse_error_t e[2];
	int r[2];

	for (int i = 0; i < 2; i++) {
		r[i] = parse_checked(&a[i], s, size, roles[i], &e[i]);
		if (r[i] == 0) {
			check_roundtrip(&a[i]);
		}
	}
	/* Strict: only a unix: path may hold spaces, control characters
	 * or non-ASCII bytes; every other kind is plain printable ASCII. */
	if (r[0] == 0 && a[0].kind != HVS_ADDR_UNIX) {
		for (size_t i = 0; i < size; i++) {
			CHECK(data[i] > 0x20 && data[i] < 0x7f);
		}
	}
	/* vsock-mux: connects only: refused as a listener at its kind. */
	if (r[1] == 0 && a[1].kind == HVS_ADDR_VSOCK_MUX) {
		CHECK(r[0] == HVS_EMUX_LISTEN);
	}
	if (r[0] == HVS_EMUX_LISTEN) {
		CHECK(e[0].offset == 0 && e[0].length == 9);
		CHECK(r[1] == 0 ||
		    (r[1] <= HVS_EADDR_EMPTY && r[1] >= HVS_EADDR_RESOLVE));
	} else {
		/* The role only picks defaults. */
		CHECK(r[0] == r[1]);
		if (r[0] < 0) {
			CHECK(e[0].offset == e[1].offset);
			CHECK(e[0].length == e[1].length);
		} else {
			CHECK(a[0].kind == a[1].kind);
		}
	}

	/* hvs_addr_parse_str() on a C string of the same bytes. */
	if (size > 0 && memchr(s, '\0', size) == NULL) {
		char *z = malloc(size + 1);

		CHECK(z != NULL);
		memcpy(z, s, size);
		z[size] = '\0';
		for (int i = 0; i < 2; i++) {
			hvs_addr_t b;

			CHECK(
			    hvs_addr_parse_str(&b, z, roles[i], NULL) == r[i]);
			CHECK(r[i] != 0 || hvs_addr_equal(&a[i], &b) == 1);
		}
		free(z);
	}
}

/* A raw hvs_addr_t: refused, or written so that it parses back. */
static void
fuzz_raw(const uint8_t *data, size_t size)
{
	hvs_addr_t a;
	char *buf;
	int r;

	if (size < sizeof(a)) {
		return;
	}
	memcpy(&a, data, sizeof(a));
	a.kind = (hvs_addr_kind_t)(data[0] % 8); /* a few unknown kinds too */
	if (a.kind == HVS_ADDR_UNIX) {
		/* A flag: hvs_addr_equal() compares it as stored. */
		a.u.local.abstract = a.u.local.abstract != 0;
	}
	buf = malloc(HVS_ADDR_STRLEN);
	CHECK(buf != NULL);
	r = hvs_addr_format(&a, buf, HVS_ADDR_STRLEN);
	if (r < 0) {
		CHECK(r == HVS_EINVAL);
		CHECK(buf[0] == '\0');
	} else {
		check_roundtrip(&a);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_text(data, size);
	fuzz_raw(data, size);
	return 0;
}
