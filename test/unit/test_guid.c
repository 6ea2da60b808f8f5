/* SPDX-License-Identifier: MIT */
/*
 * GUIDs: text form, the port <-> service GUID mapping and the well-known
 * VM ids. The expected values are written out as text here, independently
 * of the tables in guid.c, so that a typo there cannot hide.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define TEMPLATE_TAIL "-facb-11e6-bd58-64006a7986d3"

/*
 * Parse @n bytes of @s from an exact-size heap copy, so that the sanitizer
 * catches any read past @n (a NUL after the text would hide it).
 */
static int
parse_exact(hvs_guid_t *out, const char *s, size_t n)
{
	char *copy = malloc(n > 0 ? n : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, n);
	r = hvs_guid_parse(out, copy, n);
	free(copy);
	return r;
}

static void
check_format(const hvs_guid_t *g, const char *want)
{
	char buf[HVS_GUID_STRLEN + 8];

	/* A canary after the 37 bytes: format must not write past them. */
	memset(buf, 'Z', sizeof(buf));
	hvs_guid_format(g, buf);
	if (strcmp(buf, want) != 0) {
		fail_msg("format: got %s, want %s", buf, want);
	}
	for (size_t i = HVS_GUID_STRLEN; i < sizeof(buf); i++) {
		assert_int_equal(buf[i], 'Z');
	}
}

/* ---- parse / format --------------------------------------------------- */

static const struct {
	const char *text;
	const char *canon; /* hvs_guid_format() of the result */
} good_guids[] = {
    {"00000000-0000-0000-0000-000000000000",
	"00000000-0000-0000-0000-000000000000"},
    {"ffffffff-ffff-ffff-ffff-ffffffffffff",
	"ffffffff-ffff-ffff-ffff-ffffffffffff"},
    {"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
	"ffffffff-ffff-ffff-ffff-ffffffffffff"},
    {"a42e7cda-d03f-480c-9cc2-a4de20abb878",
	"a42e7cda-d03f-480c-9cc2-a4de20abb878"},
    {"A42E7CDA-D03F-480C-9CC2-A4DE20ABB878",
	"a42e7cda-d03f-480c-9cc2-a4de20abb878"},
    {"a42E7cDa-d03F-480c-9Cc2-a4De20aBb878",
	"a42e7cda-d03f-480c-9cc2-a4de20abb878"},
    {"{a42e7cda-d03f-480c-9cc2-a4de20abb878}",
	"a42e7cda-d03f-480c-9cc2-a4de20abb878"},
    {"{E0E16197-DD56-4A10-9195-5EE7A155A838}",
	"e0e16197-dd56-4a10-9195-5ee7a155a838"},
    {"00001388" TEMPLATE_TAIL, "00001388" TEMPLATE_TAIL},
    {"01234567-89ab-cdef-0123-456789abcdef",
	"01234567-89ab-cdef-0123-456789abcdef"},
};

static void
test_parse_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(good_guids); i++) {
		hvs_guid_t g;
		const char *t = good_guids[i].text;

		if (parse_exact(&g, t, strlen(t)) != 0) {
			fail_msg("parse %s failed", t);
		}
		check_format(&g, good_guids[i].canon);
	}
}

/* The text order is the field order: Data1, Data2, Data3, Data4[0..7]. */
static void
test_parse_layout(void **state)
{
	static const char text[] = "01234567-89ab-cdef-fedc-ba9876543210";
	static const uint8_t d4[8] = {0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32,
	    0x10};
	hvs_guid_t g;

	(void)state;
	assert_int_equal(hvs_guid_parse(&g, text, sizeof(text) - 1), 0);
	assert_int_equal(g.data1, 0x01234567u);
	assert_int_equal(g.data2, 0x89ab);
	assert_int_equal(g.data3, 0xcdef);
	assert_memory_equal(g.data4, d4, sizeof(d4));
}

/* Only the first @len bytes count, whatever follows them. */
static void
test_parse_len_bounds(void **state)
{
	static const char text[] = "a42e7cda-d03f-480c-9cc2-a4de20abb878xyz";
	hvs_guid_t g;

	(void)state;
	assert_int_equal(hvs_guid_parse(&g, text, 36), 0);
	check_format(&g, "a42e7cda-d03f-480c-9cc2-a4de20abb878");
	assert_int_equal(parse_exact(&g, text, 35), HVS_EADDR_GUID);
	assert_int_equal(parse_exact(&g, text, 37), HVS_EADDR_GUID);
	assert_int_equal(parse_exact(&g, text, 0), HVS_EADDR_GUID);
	assert_int_equal(hvs_guid_parse(&g, NULL, 0), HVS_EADDR_GUID);
	assert_int_equal(hvs_guid_parse(&g, NULL, 36), HVS_EINVAL);
	assert_int_equal(hvs_guid_parse(NULL, text, 36), HVS_EINVAL);
}

/* clang-format off */
#define BAD(s) {s, sizeof(s) - 1}
/* clang-format on */

static const struct {
	const char *text;
	size_t len;
} bad_guids[] = {
    BAD(""),
    BAD("a"),
    BAD("{}"),
    /* wrong length */
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb87"),
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb8788"),
    BAD("a42e7cd-d03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cdaa-d03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb878a42e7cda-d03f-480c-9cc2"),
    /* bad hex */
    BAD("g42e7cda-d03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb87g"),
    BAD("a42e7cda-z03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f-48 c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb8.8"),
    BAD(" 42e7cda-d03f-480c-9cc2-a4de20abb878"),
    BAD("+42e7cda-d03f-480c-9cc2-a4de20abb878"),
    BAD("0x2e7cda-d03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cda-+03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f--80c-9cc2-a4de20abb878"),
    /* dashes misplaced, missing, doubled */
    BAD("a42e7cdad-03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f4-80c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f-480c9-cc2-a4de20abb878"),
    BAD("a42e7cda-d03f-480c-9cc2a-4de20abb878"),
    BAD("a42e7cda-d03f-480c-9cc-2a4de20abb878"),
    BAD("a42e7cdad03f480c9cc2a4de20abb878"),
    BAD("a42e7cda_d03f_480c_9cc2_a4de20abb878"),
    BAD("a42e7cda:d03f:480c:9cc2:a4de20abb878"),
    BAD("------------------------------------"),
    /* braces unbalanced or wrong */
    BAD("{a42e7cda-d03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb878}"),
    BAD("}a42e7cda-d03f-480c-9cc2-a4de20abb878{"),
    BAD("{{a42e7cda-d03f-480c-9cc2-a4de20abb878}}"),
    BAD("(a42e7cda-d03f-480c-9cc2-a4de20abb878)"),
    BAD("[a42e7cda-d03f-480c-9cc2-a4de20abb878]"),
    BAD("{a42e7cda-d03f-480c-9cc2-a4de20abb87}8"),
    BAD("{a42e7cda-d03f-480c-9cc2-a4de20abb878 "),
    BAD(" a42e7cda-d03f-480c-9cc2-a4de20abb878 "),
    /* NUL bytes inside the length */
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb87\0"),
    BAD("a42e7cda\0d03f-480c-9cc2-a4de20abb878"),
    BAD("\0a2e7cda-d03f-480c-9cc2-a4de20abb878"),
    BAD("{a42e7cda-d03f-480c-9cc2-a4de20abb878\0"),
    BAD("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	"\0\0\0\0\0\0"),
    /* high bytes */
    BAD("\xa4-2e7cda-d03f-480c-9cc2-a4de20abb878"),
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb87\xff"),
    BAD("a42e7cda-d03f-480c-9cc2-a4de20abb8\xff\xff"),
};

static void
test_parse_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(bad_guids); i++) {
		hvs_guid_t g, orig;
		int r;

		memset(&g, 0x5a, sizeof(g));
		orig = g;
		r = parse_exact(&g, bad_guids[i].text, bad_guids[i].len);
		if (r != HVS_EADDR_GUID) {
			fail_msg("bad GUID #%lu accepted (%d)",
			    (unsigned long)i, r);
		}
		/* Nothing is written on failure. */
		assert_memory_equal(&g, &orig, sizeof(g));
	}
}

/* Every single-byte corruption of a valid GUID is caught. */
static void
test_parse_mutations(void **state)
{
	static const char text[] = "a42e7cda-d03f-480c-9cc2-a4de20abb878";
	static const char junk[] = {'-', 'g', 'G', ' ', '\0', '{', '}', 'x',
	    ':', '+', '\xff', '/', '@', '`', 'z'};

	(void)state;
	for (size_t pos = 0; pos < sizeof(text) - 1; pos++) {
		for (size_t j = 0; j < sizeof(junk); j++) {
			char buf[sizeof(text)];
			hvs_guid_t g;

			memcpy(buf, text, sizeof(text));
			if (buf[pos] == junk[j]) {
				continue;
			}
			buf[pos] = junk[j];
			if (parse_exact(&g, buf, sizeof(text) - 1) !=
			    HVS_EADDR_GUID) {
				fail_msg("accepted %s (pos %lu)", buf,
				    (unsigned long)pos);
			}
		}
		/* A hex digit in place of a dash is also wrong. */
		if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
			char buf[sizeof(text)];
			hvs_guid_t g;

			memcpy(buf, text, sizeof(text));
			buf[pos] = '0';
			assert_int_equal(parse_exact(&g, buf, 36),
			    HVS_EADDR_GUID);
		}
	}
}

/* A dash where a hex digit belongs. */
static void
test_parse_dash_for_digit(void **state)
{
	static const char text[] = "a42e7cda-d03f-480c-9cc2-a4de20abb878";

	(void)state;
	for (size_t pos = 0; pos < sizeof(text) - 1; pos++) {
		char buf[sizeof(text)];
		hvs_guid_t g;

		if (text[pos] == '-') {
			continue;
		}
		memcpy(buf, text, sizeof(text));
		buf[pos] = '-';
		assert_int_equal(parse_exact(&g, buf, 36), HVS_EADDR_GUID);
	}
}

/* Deterministic pseudo-random GUIDs survive format -> parse. */
static void
test_roundtrip_random(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	(void)state;
	for (int i = 0; i < 5000; i++) {
		hvs_guid_t g, back;
		char buf[HVS_GUID_STRLEN];
		char braced[HVS_GUID_STRLEN + 2];
		uint8_t raw[16];

		for (size_t k = 0; k < sizeof(raw); k++) {
			/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			raw[k] = (uint8_t)x;
		}
		g.data1 = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 |
		    (uint32_t)raw[2] << 8 | raw[3];
		g.data2 = (uint16_t)(raw[4] << 8 | raw[5]);
		g.data3 = (uint16_t)(raw[6] << 8 | raw[7]);
		memcpy(g.data4, raw + 8, 8);

		hvs_guid_format(&g, buf);
		assert_int_equal(strlen(buf), 36);
		for (size_t k = 0; k < 36; k++) {
			int dash = k == 8 || k == 13 || k == 18 || k == 23;

			if (dash) {
				assert_int_equal(buf[k], '-');
			} else {
				assert_true((buf[k] >= '0' && buf[k] <= '9') ||
				    (buf[k] >= 'a' && buf[k] <= 'f'));
			}
		}
		assert_int_equal(parse_exact(&back, buf, 36), 0);
		assert_true(hvs_guid_equal(&g, &back));

		braced[0] = '{';
		memcpy(braced + 1, buf, 36);
		braced[37] = '}';
		assert_int_equal(parse_exact(&back, braced, 38), 0);
		assert_true(hvs_guid_equal(&g, &back));
	}
}

static void
test_equal(void **state)
{
	hvs_guid_t a, b;

	(void)state;
	assert_int_equal(hvs_guid_parse(&a,
			     "01234567-89ab-cdef-0123-456789abcdef", 36),
	    0);
	b = a;
	assert_int_equal(hvs_guid_equal(&a, &b), 1);
	assert_int_equal(hvs_guid_equal(&a, &a), 1);

	b = a;
	b.data1 ^= 0x80000000u;
	assert_int_equal(hvs_guid_equal(&a, &b), 0);
	b = a;
	b.data1 ^= 1;
	assert_int_equal(hvs_guid_equal(&a, &b), 0);
	b = a;
	b.data2 ^= 0x100;
	assert_int_equal(hvs_guid_equal(&a, &b), 0);
	b = a;
	b.data3 ^= 1;
	assert_int_equal(hvs_guid_equal(&a, &b), 0);
	for (size_t i = 0; i < 8; i++) {
		b = a;
		b.data4[i] ^= 0x10;
		assert_int_equal(hvs_guid_equal(&a, &b), 0);
		assert_int_equal(hvs_guid_equal(&b, &a), 0);
	}
}

/* ---- port <-> service GUID -------------------------------------------- */

static const struct {
	uint32_t port;
	const char *text;
} port_vectors[] = {
    {0, "00000000" TEMPLATE_TAIL},
    {1, "00000001" TEMPLATE_TAIL},
    {22, "00000016" TEMPLATE_TAIL},
    {5000, "00001388" TEMPLATE_TAIL},
    {8080, "00001f90" TEMPLATE_TAIL},
    {65535, "0000ffff" TEMPLATE_TAIL},
    {65536, "00010000" TEMPLATE_TAIL},
    {0x12345678, "12345678" TEMPLATE_TAIL},
    {0x7ffffffe, "7ffffffe" TEMPLATE_TAIL},
    {0x7fffffff, "7fffffff" TEMPLATE_TAIL},
};

static void
test_service_from_port(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(port_vectors); i++) {
		hvs_guid_t g, want;
		uint32_t back = 0xdeadbeef;

		assert_int_equal(hvs_service_from_port(&g,
				     port_vectors[i].port),
		    0);
		check_format(&g, port_vectors[i].text);
		assert_int_equal(hvs_guid_parse(&want, port_vectors[i].text,
				     36),
		    0);
		assert_true(hvs_guid_equal(&g, &want));
		assert_int_equal(hvs_service_to_port(&want, &back), 0);
		assert_int_equal(back, port_vectors[i].port);
	}
}

static void
test_service_port_range(void **state)
{
	static const uint32_t bad[] = {0x80000000u, 0x80000001u, 0xfffffffeu,
	    0xffffffffu};
	hvs_guid_t g, orig;

	(void)state;
	assert_int_equal(HVS_SERVICE_PORT_MAX, 0x7fffffffu);
	for (size_t i = 0; i < HVS__ARRAY_LEN(bad); i++) {
		memset(&g, 0x5a, sizeof(g));
		orig = g;
		assert_int_equal(hvs_service_from_port(&g, bad[i]),
		    HVS_EADDR_PORT_RANGE);
		assert_memory_equal(&g, &orig, sizeof(g));
	}
	assert_int_equal(hvs_service_from_port(NULL, 1), HVS_EINVAL);
}

static void
test_service_to_port_bad(void **state)
{
	hvs_guid_t tmpl, g;
	uint32_t port;

	(void)state;
	assert_int_equal(hvs_guid_parse(&tmpl, "00001388" TEMPLATE_TAIL, 36),
	    0);

	/* Any bit outside Data1 makes it not the template. */
	for (int bit = 0; bit < 96; bit++) {
		g = tmpl;
		if (bit < 16) {
			g.data2 ^= (uint16_t)(1u << bit);
		} else if (bit < 32) {
			g.data3 ^= (uint16_t)(1u << (bit - 16));
		} else {
			g.data4[(bit - 32) / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		port = 77;
		assert_int_equal(hvs_service_to_port(&g, &port),
		    HVS_ESERVICE_NOT_TEMPLATE);
		assert_int_equal(port, 77);
	}

	/* Template shape, but Data1 above the mapped range. */
	static const uint32_t high[] = {0x80000000u, 0xabcdef01u, 0xffffffffu};
	for (size_t i = 0; i < HVS__ARRAY_LEN(high); i++) {
		g = tmpl;
		g.data1 = high[i];
		port = 77;
		assert_int_equal(hvs_service_to_port(&g, &port),
		    HVS_EADDR_PORT_RANGE);
		assert_int_equal(port, 77);
	}

	/* Well-known VM ids are not services. */
	for (int n = 0; n < HVS_VMID__COUNT; n++) {
		port = 77;
		assert_int_equal(hvs_service_to_port(hvs_vmid_get(
							 (hvs_vmid_name_t)n),
				     &port),
		    HVS_ESERVICE_NOT_TEMPLATE);
		assert_int_equal(port, 77);
	}

	assert_int_equal(hvs_service_to_port(NULL, &port), HVS_EINVAL);
	assert_int_equal(hvs_service_to_port(&tmpl, NULL), HVS_EINVAL);
}

/* Every mapped port survives the round trip (sampled over the range). */
static void
test_service_roundtrip_sweep(void **state)
{
	(void)state;
	for (uint64_t p = 0; p <= HVS_SERVICE_PORT_MAX; p += 65521) {
		hvs_guid_t g;
		uint32_t back;

		assert_int_equal(hvs_service_from_port(&g, (uint32_t)p), 0);
		assert_int_equal(hvs_service_to_port(&g, &back), 0);
		assert_int_equal(back, p);
	}
}

/* ---- well-known VM ids ------------------------------------------------ */

static const struct {
	hvs_vmid_name_t id;
	const char *name;
	const char *text;
} vmid_vectors[] = {
    {HVS_VMID_WILDCARD, "wildcard", "00000000-0000-0000-0000-000000000000"},
    {HVS_VMID_BROADCAST, "broadcast", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"},
    {HVS_VMID_CHILDREN, "children", "90db8b89-0d35-4f79-8ce9-49ea0ac8b7cd"},
    {HVS_VMID_LOOPBACK, "loopback", "e0e16197-dd56-4a10-9195-5ee7a155a838"},
    {HVS_VMID_PARENT, "parent", "a42e7cda-d03f-480c-9cc2-a4de20abb878"},
    {HVS_VMID_SILOHOST, "silohost", "36bd0c5c-7276-4223-88ba-7d03b654c568"},
};

/* What wslinfo prints, in its encodings, and what must not be taken. */
static void
test_wsl_parse_vmid(void **state)
{
	static const char text[] = "{12345678-abcd-efab-cdef-0123456789ab}\r\n";
	char utf16[2 + 2 * sizeof(text)];
	char long_word[200];
	hvs_guid_t g, want;
	const char *s;

	(void)state;
	/* UTF-16LE with its byte-order mark, as wsl.exe writes. */
	utf16[0] = '\xff';
	utf16[1] = '\xfe';
	for (size_t i = 0; i < sizeof(text) - 1; i++) {
		utf16[2 + 2 * i] = text[i];
		utf16[3 + 2 * i] = '\0';
	}
	assert_int_equal(hvs_guid_parse(&want,
			     "12345678-abcd-efab-cdef-0123456789ab", 36),
	    0);
	assert_int_equal(hvs_wsl_parse_vmid(utf16, 2 * sizeof(text), &g), 0);
	assert_true(hvs_guid_equal(&g, &want));
	s = "\xEF\xBB\xBF  12345678-ABCD-EFAB-CDEF-0123456789AB\r\n";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), 0);
	assert_true(hvs_guid_equal(&g, &want));
	s = "\xEF\xBB\xBF"
	    "12345678-abcd-efab-cdef-0123456789ab";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), 0);
	assert_true(hvs_guid_equal(&g, &want));
	/* The first GUID word after other words. */
	s = "VM id:\t{12345678-abcd-efab-cdef-0123456789ab} (WSL 2.3)\n";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), 0);
	assert_true(hvs_guid_equal(&g, &want));
	/*
	 * An error message, not a word of its own, all zeros, cut short, or
	 * nothing at all.
	 */
	s = "wslinfo: unknown option --vm-id\n";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), HVS_EWSL_VMID);
	s = "id=12345678-abcd-efab-cdef-0123456789ab";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), HVS_EWSL_VMID);
	s = "00000000-0000-0000-0000-000000000000\n";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), HVS_EWSL_VMID);
	s = "12345678-abcd-efab-cdef-0123456789a";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), HVS_EWSL_VMID);
	assert_int_equal(hvs_wsl_parse_vmid("", 0, &g), HVS_EWSL_VMID);
	assert_int_equal(hvs_wsl_parse_vmid("\r\n \t", 4, &g), HVS_EWSL_VMID);
	/* A WSL1 distribution: wslinfo says so (UTF-8, or UTF-16LE). */
	s = "wsl1\n";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), HVS_EWSL1);
	assert_int_equal(hvs_wsl_parse_vmid("w\0s\0l\0001\0\r\0\n\0", 12, &g),
	    HVS_EWSL1);
	s = "wsl1";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), HVS_EWSL1);
	/* Only as the first word, and only that word. */
	s = "no wsl1\n";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), HVS_EWSL_VMID);
	s = "wsl12\n";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), HVS_EWSL_VMID);
	/* A GUID wins over it. */
	s = "wsl1 12345678-abcd-efab-cdef-0123456789ab\n";
	assert_int_equal(hvs_wsl_parse_vmid(s, strlen(s), &g), 0);
	assert_true(hvs_guid_equal(&g, &want));
	/* A word longer than any GUID, then a good one. */
	memset(long_word, 'a', sizeof(long_word));
	memcpy(long_word + 150, " 12345678-abcd-efab-cdef-0123456789ab", 37);
	assert_int_equal(hvs_wsl_parse_vmid(long_word, 187, &g), 0);
	assert_true(hvs_guid_equal(&g, &want));
	assert_int_equal(hvs_wsl_parse_vmid(NULL, 0, &g), HVS_EINVAL);
	assert_int_equal(hvs_wsl_parse_vmid("x", 1, NULL), HVS_EINVAL);
}

static void
test_vmid_get(void **state)
{
	(void)state;
	assert_int_equal(HVS__ARRAY_LEN(vmid_vectors), HVS_VMID__COUNT);
	for (size_t i = 0; i < HVS__ARRAY_LEN(vmid_vectors); i++) {
		const hvs_guid_t *g = hvs_vmid_get(vmid_vectors[i].id);
		hvs_guid_t want;

		assert_non_null(g);
		assert_int_equal(hvs_guid_parse(&want, vmid_vectors[i].text,
				     36),
		    0);
		if (!hvs_guid_equal(g, &want)) {
			fail_msg("VM id %s is wrong", vmid_vectors[i].name);
		}
		/* Stable pointers: the same table entry every time. */
		assert_ptr_equal(g, hvs_vmid_get(vmid_vectors[i].id));
		/* All distinct. */
		for (size_t j = 0; j < i; j++) {
			assert_false(hvs_guid_equal(g,
			    hvs_vmid_get(vmid_vectors[j].id)));
		}
	}
	assert_null(hvs_vmid_get(HVS_VMID__COUNT));
	assert_null(hvs_vmid_get((hvs_vmid_name_t)(HVS_VMID__COUNT + 1)));
	assert_null(hvs_vmid_get((hvs_vmid_name_t)-1));
	assert_null(hvs_vmid_get((hvs_vmid_name_t)0x7fffffff));
}

static void
test_vmid_name(void **state)
{
	hvs_guid_t g;

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(vmid_vectors); i++) {
		const char *name;

		assert_int_equal(hvs_guid_parse(&g, vmid_vectors[i].text, 36),
		    0);
		name = hvs_vmid_name(&g);
		assert_non_null(name);
		assert_string_equal(name, vmid_vectors[i].name);

		/* One bit off is no longer well-known. */
		g.data4[7] ^= 1;
		assert_null(hvs_vmid_name(&g));
	}
	assert_int_equal(hvs_service_from_port(&g, 5000), 0);
	assert_null(hvs_vmid_name(&g));
	assert_null(hvs_vmid_name(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_wsl_parse_vmid),
	    cmocka_unit_test(test_parse_layout),
	    cmocka_unit_test(test_parse_len_bounds),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_mutations),
	    cmocka_unit_test(test_parse_dash_for_digit),
	    cmocka_unit_test(test_roundtrip_random),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_service_from_port),
	    cmocka_unit_test(test_service_port_range),
	    cmocka_unit_test(test_service_to_port_bad),
	    cmocka_unit_test(test_service_roundtrip_sweep),
	    cmocka_unit_test(test_vmid_get),
	    cmocka_unit_test(test_vmid_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
