/* SPDX-License-Identifier: MIT */
/*
 * GUIDs: text form, the vsock port <-> service GUID mapping, and the
 * well-known Hyper-V VM ids.
 *
 * A GUID is kept in the Windows field layout (Data1..Data4) in host byte
 * order, which is also the order of its text form, so parsing and
 * formatting never depend on the machine's endianness.
 */
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* The text form: 8-4-4-4-12 hex digits, dashes at 8, 13, 18 and 23. */
#define GUID_TEXT_LEN 36

/*
 * Linux hv_sock, FreeBSD hvsock and the Windows SDK all name the service of
 * vsock port P by this GUID with Data1 = P.
 */
static const hvs_guid_t service_template = {0x00000000, 0xfacb, 0x11e6,
    {0xbd, 0x58, 0x64, 0x00, 0x6a, 0x79, 0x86, 0xd3}};

/* Indexed by hvs_vmid_name_t; the values are those of the Windows SDK. */
static const struct {
	const char *name;
	hvs_guid_t guid;
} vmids[HVS_VMID__COUNT] = {
    [HVS_VMID_WILDCARD] = {"wildcard",
	{0x00000000, 0x0000, 0x0000, {0, 0, 0, 0, 0, 0, 0, 0}}},
    [HVS_VMID_BROADCAST] = {"broadcast",
	{0xffffffff, 0xffff, 0xffff,
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}},
    [HVS_VMID_CHILDREN] = {"children",
	{0x90db8b89, 0x0d35, 0x4f79,
	    {0x8c, 0xe9, 0x49, 0xea, 0x0a, 0xc8, 0xb7, 0xcd}}},
    [HVS_VMID_LOOPBACK] = {"loopback",
	{0xe0e16197, 0xdd56, 0x4a10,
	    {0x91, 0x95, 0x5e, 0xe7, 0xa1, 0x55, 0xa8, 0x38}}},
    [HVS_VMID_PARENT] = {"parent",
	{0xa42e7cda, 0xd03f, 0x480c,
	    {0x9c, 0xc2, 0xa4, 0xde, 0x20, 0xab, 0xb8, 0x78}}},
    [HVS_VMID_SILOHOST] = {"silohost",
	{0x36bd0c5c, 0x7276, 0x4223,
	    {0x88, 0xba, 0x7d, 0x03, 0xb6, 0x54, 0xc5, 0x68}}},
};

/* The value of a hex digit, or -1. Not isxdigit(): no locale here. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Read @n hex digits at @s into @out; 0, or -1 on a non-hex byte. */
static int
hexfield(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++) {
		int d = hexval(s[i]);

		if (d < 0) {
			return -1;
		}
		v = (v << 4) | (uint32_t)d;
	}
	*out = v;
	return 0;
}

int
hvs_guid_parse(hvs_guid_t *out, const char *str, size_t len)
{
	hvs_guid_t g;
	uint32_t v;

	if (out == NULL || (str == NULL && len > 0)) {
		return HVS_EINVAL;
	}
	/* Braces come as a pair or not at all. */
	if (len == GUID_TEXT_LEN + 2 && str[0] == '{' &&
	    str[GUID_TEXT_LEN + 1] == '}') {
		str++;
		len -= 2;
	}
	if (len != GUID_TEXT_LEN || str[8] != '-' || str[13] != '-' ||
	    str[18] != '-' || str[23] != '-') {
		return HVS_EADDR_GUID;
	}
	/*
	 * hexfield() rejects everything but hex digits, so a NUL, a sign or
	 * a space inside a field is caught here too (strtoul would not).
	 */
	if (hexfield(str, 8, &v) < 0) {
		return HVS_EADDR_GUID;
	}
	g.data1 = v;
	if (hexfield(str + 9, 4, &v) < 0) {
		return HVS_EADDR_GUID;
	}
	g.data2 = (uint16_t)v;
	if (hexfield(str + 14, 4, &v) < 0) {
		return HVS_EADDR_GUID;
	}
	g.data3 = (uint16_t)v;
	for (size_t i = 0; i < 8; i++) {
		/* Data4 is "xxxx-xxxxxxxxxxxx": skip the dash after byte 1. */
		size_t at = i < 2 ? 19 + 2 * i : 20 + 2 * i;

		if (hexfield(str + at, 2, &v) < 0) {
			return HVS_EADDR_GUID;
		}
		g.data4[i] = (uint8_t)v;
	}
	*out = g;
	return 0;
}

/* Write @n lower-case hex digits of @v at @p; returns the end. */
static char *
puthex(char *p, uint32_t v, int n)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = n - 1; i >= 0; i--) {
		p[i] = digits[v & 0xf];
		v >>= 4;
	}
	return p + n;
}

void
hvs_guid_format(const hvs_guid_t *guid, char buf[HVS_GUID_STRLEN])
{
	char *p = buf;

	p = puthex(p, guid->data1, 8);
	*p++ = '-';
	p = puthex(p, guid->data2, 4);
	*p++ = '-';
	p = puthex(p, guid->data3, 4);
	*p++ = '-';
	for (size_t i = 0; i < 8; i++) {
		if (i == 2) {
			*p++ = '-';
		}
		p = puthex(p, guid->data4[i], 2);
	}
	*p = '\0';
}

int
hvs_guid_equal(const hvs_guid_t *a, const hvs_guid_t *b)
{
	/* Field by field: the struct may have padding on odd ABIs. */
	if (a->data1 != b->data1 || a->data2 != b->data2 ||
	    a->data3 != b->data3) {
		return 0;
	}
	for (size_t i = 0; i < 8; i++) {
		if (a->data4[i] != b->data4[i]) {
			return 0;
		}
	}
	return 1;
}

int
hvs_service_from_port(hvs_guid_t *out, uint32_t port)
{
	hvs_guid_t g = service_template;

	if (out == NULL) {
		return HVS_EINVAL;
	}
	/*
	 * The kernels reserve Data1 values with the top bit set (Linux uses
	 * them for the ephemeral ports of outgoing connections).
	 */
	if (port > HVS_SERVICE_PORT_MAX) {
		return HVS_EADDR_PORT_RANGE;
	}
	g.data1 = port;
	*out = g;
	return 0;
}

int
hvs_service_to_port(const hvs_guid_t *guid, uint32_t *port)
{
	hvs_guid_t g;

	if (guid == NULL || port == NULL) {
		return HVS_EINVAL;
	}
	g = *guid;
	g.data1 = 0;
	if (!hvs_guid_equal(&g, &service_template)) {
		return HVS_ESERVICE_NOT_TEMPLATE;
	}
	if (guid->data1 > HVS_SERVICE_PORT_MAX) {
		return HVS_EADDR_PORT_RANGE;
	}
	*port = guid->data1;
	return 0;
}

const hvs_guid_t *
hvs_vmid_get(hvs_vmid_name_t name)
{
	/* Through unsigned so that a negative value is out of range too. */
	if ((unsigned)name >= (unsigned)HVS_VMID__COUNT) {
		return NULL;
	}
	return &vmids[name].guid;
}

const char *
hvs_vmid_name(const hvs_guid_t *guid)
{
	if (guid == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < HVS__ARRAY_LEN(vmids); i++) {
		if (hvs_guid_equal(guid, &vmids[i].guid)) {
			return vmids[i].name;
		}
	}
	return NULL;
}
