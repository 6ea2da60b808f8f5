/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: hvs_guid_parse(), hvs_guid_format() and the vsock
 * port <-> service GUID mapping.
 *
 * What must hold, each checked with abort():
 *
 *  - hvs_guid_parse() accepts exactly what a plain reference check of the
 *    documented form accepts (8-4-4-4-12 hex digits, any case, optionally
 *    in a pair of braces), reads nothing outside the input, leaves *out
 *    untouched on failure and fails with HVS_EADDR_GUID only;
 *  - an accepted GUID formats to 36 lower-case characters equal to the
 *    input without braces, lower-cased, and parses back (plain, in braces,
 *    upper-case) to an equal GUID;
 *  - hvs_service_to_port() / hvs_service_from_port() agree with each other
 *    and with the template PORT-facb-11e6-bd58-64006a7986d3, for parsed
 *    GUIDs and for raw ones built from the input bytes;
 *  - hvs_vmid_name() / hvs_vmid_get() agree, and the address parser maps a
 *    VM id and a service GUID the same way.
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
	fprintf(stderr, "fuzz_guid.c:%d: check failed: %s\n", line, what);
	abort();
}

static const uint8_t template_data4[8] = {0xbd, 0x58, 0x64, 0x00, 0x6a, 0x79,
    0x86, 0xd3};

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The reference: where the 36 characters of the GUID start, or NULL. */
static const char *
ref_guid(const char *s, size_t n)
{
	if (n == 38 && s[0] == '{' && s[37] == '}') {
		s++;
		n = 36;
	}
	if (n != 36) {
		return NULL;
	}
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-') {
				return NULL;
			}
		} else if (!is_hex(s[i])) {
			return NULL;
		}
	}
	return s;
}

static int
is_template(const hvs_guid_t *g)
{
	return g->data2 == 0xfacb && g->data3 == 0x11e6 &&
	    memcmp(g->data4, template_data4, 8) == 0;
}

/* The service mapping, checked for one GUID. */
static void
check_service(const hvs_guid_t *g)
{
	uint32_t port = 0xdeadbeef;
	hvs_guid_t back;
	int r = hvs_service_to_port(g, &port);

	if (!is_template(g)) {
		CHECK(r == HVS_ESERVICE_NOT_TEMPLATE);
		CHECK(port == 0xdeadbeef);
		return;
	}
	if (g->data1 > HVS_SERVICE_PORT_MAX) {
		CHECK(r == HVS_EADDR_PORT_RANGE);
		CHECK(port == 0xdeadbeef);
		return;
	}
	CHECK(r == 0);
	CHECK(port == g->data1);
	CHECK(hvs_service_from_port(&back, port) == 0);
	CHECK(hvs_guid_equal(&back, g) == 1);
}

/* The port mapping, checked for one port. */
static void
check_port(uint32_t port)
{
	hvs_guid_t g, poison;
	uint32_t back;
	int r;

	memset(&g, 0xa5, sizeof(g));
	memcpy(&poison, &g, sizeof(g));
	r = hvs_service_from_port(&g, port);
	if (port > HVS_SERVICE_PORT_MAX) {
		CHECK(r == HVS_EADDR_PORT_RANGE);
		CHECK(memcmp(&g, &poison, sizeof(g)) == 0);
		return;
	}
	CHECK(r == 0);
	CHECK(is_template(&g) && g.data1 == port);
	CHECK(hvs_service_to_port(&g, &back) == 0 && back == port);
}

static void
check_vmid(const hvs_guid_t *g)
{
	const char *name = hvs_vmid_name(g);
	int found = 0;

	for (int i = 0; i < HVS_VMID__COUNT; i++) {
		const hvs_guid_t *w = hvs_vmid_get((hvs_vmid_name_t)i);

		CHECK(w != NULL);
		if (hvs_guid_equal(w, g)) {
			CHECK(name != NULL);
			CHECK(strcmp(hvs_vmid_name(w), name) == 0);
			found = 1;
		}
	}
	CHECK(found == (name != NULL));
	CHECK(hvs_vmid_get(HVS_VMID__COUNT) == NULL);
	CHECK(hvs_vmid_get((hvs_vmid_name_t)-1) == NULL);
}

/* Parse @n bytes at @s (an exactly sized heap copy); must succeed. */
static void
parse_ok(const char *s, size_t n, hvs_guid_t *out)
{
	char *copy = malloc(n);

	CHECK(copy != NULL);
	memcpy(copy, s, n);
	CHECK(hvs_guid_parse(out, copy, n) == 0);
	free(copy);
}

/* Format @g and parse it back in every accepted spelling. */
static void
check_format(const hvs_guid_t *g, char text[HVS_GUID_STRLEN])
{
	char alt[HVS_GUID_STRLEN + 2];
	hvs_guid_t back;

	memset(text, 0x5a, HVS_GUID_STRLEN);
	hvs_guid_format(g, text);
	CHECK(text[36] == '\0' && strlen(text) == 36);
	CHECK(ref_guid(text, 36) == text);
	for (size_t i = 0; i < 36; i++) {
		CHECK(text[i] == to_lower(text[i]));
	}
	CHECK(hvs_guid_equal(g, g) == 1);
	parse_ok(text, 36, &back);
	CHECK(hvs_guid_equal(&back, g) == 1);

	alt[0] = '{';
	for (size_t i = 0; i < 36; i++) {
		char c = text[i];

		alt[1 + i] = c >= 'a' && c <= 'f' ? (char)(c - 'a' + 'A') : c;
	}
	alt[37] = '}';
	parse_ok(alt, 38, &back);
	CHECK(hvs_guid_equal(&back, g) == 1);
	parse_ok(alt + 1, 36, &back);
	CHECK(hvs_guid_equal(&back, g) == 1);
}

/* Cross-check with the address parser: hvsock:GUID:GUID. */
static void
check_in_address(const hvs_guid_t *g, const char *text)
{
	char addr[128];
	hvs_addr_t a;
	int n = snprintf(addr, sizeof(addr), "hvsock:%s:%s", text, text);

	CHECK(n > 0 && (size_t)n < sizeof(addr));
	CHECK(hvs_addr_parse(&a, addr, (size_t)n, HVS_ROLE_CONNECT, NULL) == 0);
	CHECK(a.kind == HVS_ADDR_HVSOCK);
	CHECK(hvs_guid_equal(&a.u.hvsock.vm_id, g) == 1);
	CHECK(hvs_guid_equal(&a.u.hvsock.service_id, g) == 1);
}

static void
check_guid(const hvs_guid_t *g)
{
	char text[HVS_GUID_STRLEN];

	check_format(g, text);
	check_service(g);
	check_vmid(g);
	check_in_address(g, text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *ref = ref_guid(s, size);
	hvs_guid_t g, poison;
	int r;

	/* The parser against the reference. */
	memset(&g, 0xa5, sizeof(g));
	memcpy(&poison, &g, sizeof(g));
	r = hvs_guid_parse(&g, s, size);
	CHECK((r == 0) == (ref != NULL));
	if (r != 0) {
		CHECK(r == HVS_EADDR_GUID);
		CHECK(memcmp(&g, &poison, sizeof(g)) == 0);
	} else {
		char text[HVS_GUID_STRLEN];

		check_format(&g, text);
		/* Canonical form: the input, lower-cased, without braces. */
		for (size_t i = 0; i < 36; i++) {
			CHECK(text[i] == to_lower(ref[i]));
		}
		check_service(&g);
		check_vmid(&g);
		check_in_address(&g, text);
	}

	/* The first 16 bytes as a raw GUID: any value formats and parses. */
	if (size >= 16) {
		hvs_guid_t raw;

		memcpy(&raw.data1, data, 4);
		memcpy(&raw.data2, data + 4, 2);
		memcpy(&raw.data3, data + 6, 2);
		memcpy(raw.data4, data + 8, 8);
		check_guid(&raw);
		/* The same Data1 in the template: the service mapping. */
		raw.data2 = 0xfacb;
		raw.data3 = 0x11e6;
		memcpy(raw.data4, template_data4, 8);
		check_guid(&raw);
	}
	/* The first 4 bytes as a port. */
	if (size >= 4) {
		uint32_t port;

		memcpy(&port, data, 4);
		check_port(port);
		check_port(port & HVS_SERVICE_PORT_MAX);
		check_port(port | ~HVS_SERVICE_PORT_MAX);
	}
	return 0;
}
