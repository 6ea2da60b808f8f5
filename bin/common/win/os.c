/* SPDX-License-Identifier: MIT */
/*
 * bin/common's system calls on Windows (os.h).
 *
 * Windows has no uids: user entries and a unix peer's credentials are
 * refused where they are read (allow.c), never silently ignored. A unix
 * socket file (Windows 10 1803 and later) is a reparse point with the
 * AF_UNIX tag, identified by its volume and file index. The standard
 * streams are the C runtime's descriptors 0, 1 and 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <string.h>

#include "common/os.h"
#include "common/util.h"

#include <windows.h>

const char *
hvc__os_progname(const char *argv0)
{
	static char name[64];
	const char *base = argv0;
	size_t n;

	for (const char *p = argv0; *p != '\0'; p++) {
		if ((*p == '/' || *p == '\\' || *p == ':') && p[1] != '\0') {
			base = p + 1;
		}
	}
	n = strlen(base);
	if (n > 4 && _stricmp(base + n - 4, ".exe") == 0) {
		n -= 4;
	}
	if (n >= sizeof(name)) {
		n = sizeof(name) - 1;
	}
	memcpy(name, base, n);
	name[n] = '\0';
	return name;
}

int
hvc__os_user_uid(const char *name, uint32_t *uid, int *err)
{
	(void)name;
	(void)uid;
	(void)err;
	return 2;
}

int
hvc__os_peer_cred_supported(void)
{
	return 0;
}

int
hvc__os_peer_cred(hvs_sock_t sock, uint32_t *uid, uint32_t *gid)
{
	(void)sock;
	(void)uid;
	(void)gid;
	return -1;
}

const char *
hvc__os_family_why(hvs_addr_kind_t kind)
{
	switch (kind) {
	case HVS_ADDR_HVSOCK:
	case HVS_ADDR_VSOCK:
		return "Hyper-V sockets are not available on this system "
		       "(Windows 10 1607 or later with Hyper-V or WSL2 is "
		       "needed)";
	case HVS_ADDR_UNIX:
	case HVS_ADDR_VSOCK_MUX:
		return "unix sockets are not available on this system "
		       "(Windows 10 1803 or later is needed)";
	default:
		return NULL;
	}
}

/* A Win32 error as an errno value, for strerror(). */
static int
win_errno(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
		return EACCES;
	case ERROR_FILENAME_EXCED_RANGE:
		return ENAMETOOLONG;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return ENOMEM;
	default:
		return EIO;
	}
}

/* @path (UTF-8) as a wide string: 0, or an errno value. */
static int
wide(const char *path, WCHAR *out, int size)
{
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, out,
		size) == 0) {
		return GetLastError() == ERROR_INSUFFICIENT_BUFFER
		    ? ENAMETOOLONG
		    : EINVAL;
	}
	return 0;
}

int
hvc__os_file_id(const char *path, uint64_t *dev, uint64_t *ino, int *is_sock)
{
	WCHAR w[MAX_PATH];
	BY_HANDLE_FILE_INFORMATION info;
	FILE_ATTRIBUTE_TAG_INFO tag;
	HANDLE h;
	int e = wide(path, w, MAX_PATH);

	if (e != 0) {
		return e;
	}
	h = CreateFileW(w, FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		return win_errno(GetLastError());
	}
	if (!GetFileInformationByHandle(h, &info)) {
		e = win_errno(GetLastError());
		CloseHandle(h);
		return e;
	}
	*dev = info.dwVolumeSerialNumber;
	*ino = (uint64_t)info.nFileIndexHigh << 32 | info.nFileIndexLow;
	*is_sock = GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag,
		       sizeof(tag)) &&
	    (tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
	    tag.ReparseTag == IO_REPARSE_TAG_AF_UNIX;
	CloseHandle(h);
	return 0;
}

int
hvc__os_unlink(const char *path)
{
	WCHAR w[MAX_PATH];
	int e = wide(path, w, MAX_PATH);

	if (e != 0) {
		return e;
	}
	return DeleteFileW(w) ? 0 : win_errno(GetLastError());
}

int
hvc__os_fd_closed(int fd)
{
	/* -1: not open; -2: open, but the process was started without
	 * that stream (no console, no handle). */
	intptr_t h = _get_osfhandle(fd);

	return h == -1 || h == -2;
}

int
hvc__os_open_null(int fd)
{
	int n = _open("NUL", _O_RDWR | _O_BINARY), e;

	if (n < 0) {
		return errno;
	}
	if (n != fd) {
		/* _dup2() onto 0, 1 or 2 also makes it the process's
		 * standard handle. */
		int d = _dup2(n, fd);

		e = errno;
		_close(n);
		if (d != 0) {
			return e;
		}
	}
	return 0;
}

const char *
hvc__os_null_name(void)
{
	return "NUL";
}

uint64_t
hvc__os_now_ms(void)
{
	return (uint64_t)GetTickCount64();
}
