/* SPDX-License-Identifier: MIT */
/*
 * The service registry on Windows (registry.h): the keys under
 * HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization\
 * GuestCommunicationServices, one per service GUID (lower case, no
 * braces, as Microsoft's own examples write them), each with the string
 * value ElementName.
 *
 * The wide (W) calls throughout, in the 64-bit view of the registry
 * (KEY_WOW64_64KEY: the one Hyper-V reads, also from a 32-bit build).
 * Names cross over in the ANSI code page, which argv and stdout use.
 * Reading needs no rights; creating, changing or removing a key needs an
 * administrator's (ERROR_ACCESS_DENIED otherwise: HVC_REG_DENIED).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/registry.h"

#include <windows.h>

#define VIEW KEY_WOW64_64KEY

static const WCHAR gcs_key[] = L"" HVC_REG_KEY;
static const WCHAR element_name[] = L"ElementName";

/* The key of @guid: gcs_key, a backslash, the GUID. */
#define PATH_LEN (sizeof(gcs_key) / sizeof(WCHAR) + HVS_GUID_STRLEN + 1)

static void
key_path(const hvs_guid_t *guid, WCHAR *path, WCHAR **leaf)
{
	char s[HVS_GUID_STRLEN];
	size_t n = sizeof(gcs_key) / sizeof(WCHAR) - 1;

	hvs_guid_format(guid, s);
	memcpy(path, gcs_key, n * sizeof(WCHAR));
	path[n++] = L'\\';
	*leaf = path + n;
	for (size_t i = 0; s[i] != '\0'; i++) {
		path[n++] = (WCHAR)(unsigned char)s[i];
	}
	path[n] = L'\0';
}

/* The status for the Win32 error @e; @what and the system's words in
 * @why for HVC_REG_FAILED. */
static int
status_of(LONG e, const char *what, char *why, size_t why_size)
{
	char text[256];
	size_t n;

	switch (e) {
	case ERROR_SUCCESS:
		return HVC_REG_OK;
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return HVC_REG_ABSENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_PRIVILEGE_NOT_HELD:
		return HVC_REG_DENIED;
	default:
		break;
	}
	n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
		FORMAT_MESSAGE_IGNORE_INSERTS,
	    NULL, (DWORD)e, 0, text, sizeof(text), NULL);
	while (n > 0 &&
	    (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' ' ||
		text[n - 1] == '.')) {
		n--;
	}
	text[n] = '\0';
	snprintf(why, why_size, "%s: %s (error %ld)", what,
	    n > 0 ? text : "unknown error", (long)e);
	return HVC_REG_FAILED;
}

/* The ElementName of the open key @k in @out ("" if it has none, or
 * none that is a string). */
static void
read_name(HKEY k, char *out, size_t size)
{
	DWORD type = 0, bytes = 0;
	WCHAR *w;
	int n;

	out[0] = '\0';
	if (RegQueryValueExW(k, element_name, NULL, &type, NULL, &bytes) !=
		ERROR_SUCCESS ||
	    (type != REG_SZ && type != REG_EXPAND_SZ) || bytes == 0) {
		return;
	}
	/* Room for a NUL the data may lack. */
	w = calloc(bytes / sizeof(WCHAR) + 2, sizeof(WCHAR));
	if (w == NULL) {
		return;
	}
	if (RegQueryValueExW(k, element_name, NULL, &type, (BYTE *)w, &bytes) ==
	    ERROR_SUCCESS) {
		w[bytes / sizeof(WCHAR)] = L'\0';
		n = WideCharToMultiByte(CP_ACP, 0, w, -1, NULL, 0, NULL, NULL);
		if (n > 0) {
			char *m = malloc((size_t)n);

			if (m != NULL &&
			    WideCharToMultiByte(CP_ACP, 0, w, -1, m, n, NULL,
				NULL) > 0) {
				snprintf(out, size, "%s", m);
			}
			free(m);
		}
	}
	free(w);
}

int
hvc_reg_add(const hvs_guid_t *guid, const char *name, int *existed, char *why,
    size_t why_size)
{
	WCHAR path[PATH_LEN], *leaf, wname[HVC_REG_NAME_MAX + 1];
	DWORD disp = 0;
	HKEY k;
	LONG e;
	int len, st;

	*existed = 0;
	len = MultiByteToWideChar(CP_ACP, MB_ERR_INVALID_CHARS, name, -1, wname,
	    HVC_REG_NAME_MAX + 1);
	if (len == 0) {
		snprintf(why, why_size,
		    "the name cannot be read in this code page");
		return HVC_REG_FAILED;
	}
	key_path(guid, path, &leaf);
	e = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL,
	    REG_OPTION_NON_VOLATILE, KEY_QUERY_VALUE | KEY_SET_VALUE | VIEW,
	    NULL, &k, &disp);
	if (e != ERROR_SUCCESS) {
		st = status_of(e, "cannot create the key", why, why_size);
		if (st == HVC_REG_ABSENT) {
			snprintf(why, why_size,
			    "cannot create the key "
			    "(error %ld)",
			    (long)e);
			st = HVC_REG_FAILED;
		}
		return st;
	}
	*existed = disp == REG_OPENED_EXISTING_KEY;
	e = RegSetValueExW(k, element_name, 0, REG_SZ, (const BYTE *)wname,
	    (DWORD)((size_t)len * sizeof(WCHAR)));
	RegCloseKey(k);
	if (e == ERROR_SUCCESS) {
		return HVC_REG_OK;
	}
	/* No key without its name: remove the one made here. */
	if (!*existed) {
		RegDeleteKeyExW(HKEY_LOCAL_MACHINE, path, VIEW, 0);
	}
	st = status_of(e, "cannot set ElementName", why, why_size);
	if (st == HVC_REG_ABSENT) {
		snprintf(why, why_size, "cannot set ElementName (error %ld)",
		    (long)e);
		st = HVC_REG_FAILED;
	}
	return st;
}

int
hvc_reg_remove(const hvs_guid_t *guid, char *why, size_t why_size)
{
	WCHAR path[PATH_LEN], *leaf;
	HKEY parent;
	int st;

	/* Not there: say so, whatever the rights. */
	st = hvc_reg_get(guid, NULL, 0, why, why_size);
	if (st != HVC_REG_OK) {
		return st;
	}
	key_path(guid, path, &leaf);
	st = status_of(RegOpenKeyExW(HKEY_LOCAL_MACHINE, gcs_key, 0,
			   DELETE | KEY_ENUMERATE_SUB_KEYS | KEY_QUERY_VALUE |
			       KEY_SET_VALUE | VIEW,
			   &parent),
	    "cannot open " HVC_REG_KEY, why, why_size);
	if (st != HVC_REG_OK) {
		return st;
	}
	/* The tree: a key Windows added below it goes too. */
	st = status_of(RegDeleteTreeW(parent, leaf), "cannot remove the key",
	    why, why_size);
	RegCloseKey(parent);
	return st;
}

int
hvc_reg_get(const hvs_guid_t *guid, char *name, size_t name_size, char *why,
    size_t why_size)
{
	WCHAR path[PATH_LEN], *leaf;
	HKEY k;
	int st;

	key_path(guid, path, &leaf);
	st = status_of(RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0,
			   KEY_QUERY_VALUE | VIEW, &k),
	    "cannot open the key", why, why_size);
	if (st != HVC_REG_OK) {
		return st;
	}
	if (name != NULL && name_size > 0) {
		read_name(k, name, name_size);
	}
	RegCloseKey(k);
	return HVC_REG_OK;
}

/* The GUID a key is named by: 0, or -1 if its name is not one. */
static int
key_guid(const WCHAR *w, DWORD len, hvs_guid_t *g)
{
	char s[64];

	if (len >= sizeof(s)) {
		return -1;
	}
	for (DWORD i = 0; i < len; i++) {
		if (w[i] == 0 || w[i] > 0x7f) {
			return -1;
		}
		s[i] = (char)w[i];
	}
	s[len] = '\0';
	return hvs_guid_parse(g, s, len) == 0 ? 0 : -1;
}

int
hvc_reg_list(struct hvc_reg_entry **out, size_t *count, char *why,
    size_t why_size)
{
	struct hvc_reg_entry *v = NULL;
	size_t n = 0, cap = 0;
	HKEY parent;
	int st;

	*out = NULL;
	*count = 0;
	st = status_of(RegOpenKeyExW(HKEY_LOCAL_MACHINE, gcs_key, 0,
			   KEY_READ | VIEW, &parent),
	    "cannot open " HVC_REG_KEY, why, why_size);
	if (st == HVC_REG_ABSENT) {
		return HVC_REG_OK; /* nothing was ever registered */
	}
	if (st != HVC_REG_OK) {
		return st;
	}
	for (DWORD i = 0;; i++) {
		WCHAR sub[256]; /* a key name: at most 255 characters */
		DWORD len = sizeof(sub) / sizeof(sub[0]);
		hvs_guid_t g;
		HKEY k;
		LONG e =
		    RegEnumKeyExW(parent, i, sub, &len, NULL, NULL, NULL, NULL);

		if (e == ERROR_NO_MORE_ITEMS) {
			break;
		}
		if (e != ERROR_SUCCESS) {
			st = status_of(e, "cannot list " HVC_REG_KEY, why,
			    why_size);
			if (st == HVC_REG_ABSENT) {
				st = HVC_REG_FAILED;
			}
			break;
		}
		if (key_guid(sub, len, &g) != 0) {
			continue;
		}
		if (n == cap) {
			size_t ncap = cap == 0 ? 16 : cap * 2;
			struct hvc_reg_entry *nv =
			    realloc(v, ncap * sizeof(*v));

			if (nv == NULL) {
				snprintf(why, why_size, "out of memory");
				st = HVC_REG_FAILED;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n].guid = g;
		v[n].name[0] = '\0';
		if (RegOpenKeyExW(parent, sub, 0, KEY_QUERY_VALUE, &k) ==
		    ERROR_SUCCESS) {
			read_name(k, v[n].name, sizeof(v[n].name));
			RegCloseKey(k);
		}
		n++;
	}
	RegCloseKey(parent);
	if (st != HVC_REG_OK) {
		free(v);
		return st;
	}
	*out = v;
	*count = n;
	return HVC_REG_OK;
}
