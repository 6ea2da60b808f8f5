/* SPDX-License-Identifier: MIT */
/*
 * Registry failures on demand, for the tests of common/registry.h under
 * wine. Wine runs every program as an administrator and does not refuse
 * a key's writes by its ACL (a DACL that grants Everyone only KEY_READ
 * changes nothing), so the refusal that a prompt without administrator
 * rights meets on Windows, ERROR_ACCESS_DENIED, is made here.
 *
 * mingw-w64 code calls advapi32 through import pointers, so the programs
 * are linked with -Wl,--wrap=__imp_<call> (meson.build): every reference
 * to the pointer in the statically linked objects reaches the pointer
 * __wrap___imp_<call> defined here, and __real___imp_<call> is the real
 * one. The environment variable HVTEST_REG_FAIL, read at each call, says
 * what fails (words separated by commas; none: every call is real):
 *
 *   create   RegCreateKeyExW: ERROR_ACCESS_DENIED
 *   set      RegSetValueExW: ERROR_ACCESS_DENIED
 *   setio    RegSetValueExW: ERROR_NOT_ENOUGH_MEMORY (another error)
 *   delete   RegOpenKeyExW asked for DELETE access: ERROR_ACCESS_DENIED
 *
 * Each refusal happens before the real call: the registry is unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include "regfail.h"

int
regfail_on(const char *what)
{
	const char *v = getenv("HVTEST_REG_FAIL");
	size_t n = strlen(what);

	while (v != NULL && *v != '\0') {
		size_t len = strcspn(v, ",");

		if (len == n && strncmp(v, what, n) == 0) {
			return 1;
		}
		v += len;
		if (*v == ',') {
			v++;
		}
	}
	return 0;
}

typedef __typeof__(&RegCreateKeyExW) RegCreateKeyExW_fn;
extern RegCreateKeyExW_fn __real___imp_RegCreateKeyExW;
extern RegCreateKeyExW_fn __wrap___imp_RegCreateKeyExW;

static LSTATUS WINAPI
wrap_RegCreateKeyExW(HKEY key, LPCWSTR sub, DWORD reserved, LPWSTR cls,
    DWORD options, REGSAM sam, const LPSECURITY_ATTRIBUTES sa, PHKEY out,
    LPDWORD disp)
{
	if (regfail_on("create")) {
		return ERROR_ACCESS_DENIED;
	}
	return __real___imp_RegCreateKeyExW(key, sub, reserved, cls, options,
	    sam, sa, out, disp);
}

RegCreateKeyExW_fn __wrap___imp_RegCreateKeyExW = wrap_RegCreateKeyExW;

typedef __typeof__(&RegSetValueExW) RegSetValueExW_fn;
extern RegSetValueExW_fn __real___imp_RegSetValueExW;
extern RegSetValueExW_fn __wrap___imp_RegSetValueExW;

static LSTATUS WINAPI
wrap_RegSetValueExW(HKEY key, LPCWSTR name, DWORD reserved, DWORD type,
    const BYTE *data, DWORD size)
{
	if (regfail_on("set")) {
		return ERROR_ACCESS_DENIED;
	}
	if (regfail_on("setio")) {
		return ERROR_NOT_ENOUGH_MEMORY;
	}
	return __real___imp_RegSetValueExW(key, name, reserved, type, data,
	    size);
}

RegSetValueExW_fn __wrap___imp_RegSetValueExW = wrap_RegSetValueExW;

typedef __typeof__(&RegOpenKeyExW) RegOpenKeyExW_fn;
extern RegOpenKeyExW_fn __real___imp_RegOpenKeyExW;
extern RegOpenKeyExW_fn __wrap___imp_RegOpenKeyExW;

static LSTATUS WINAPI
wrap_RegOpenKeyExW(HKEY key, LPCWSTR sub, DWORD options, REGSAM sam, PHKEY out)
{
	if ((sam & DELETE) && regfail_on("delete")) {
		return ERROR_ACCESS_DENIED;
	}
	return __real___imp_RegOpenKeyExW(key, sub, options, sam, out);
}

RegOpenKeyExW_fn __wrap___imp_RegOpenKeyExW = wrap_RegOpenKeyExW;
