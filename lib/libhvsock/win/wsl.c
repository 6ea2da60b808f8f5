/* SPDX-License-Identifier: MIT */
/*
 * Finding the WSL2 VM id: ask `wsl.exe --list --running --quiet` whether a
 * distribution runs, then run `wsl.exe -- wslinfo --vm-id` and read the
 * GUID it prints.
 *
 * WSL2 runs its distributions in one utility VM whose id changes at every
 * WSL start. A Windows listener must bind that exact id (the wildcard does
 * not match it), and a Windows client must connect to it. wslinfo (WSL
 * 2.0 and later) prints it without elevation, which beats the COM and
 * HCS interfaces that need either undocumented vtables or admin rights.
 *
 * WSL that is not running is not started: wslinfo would boot it, but the
 * VM started for it stops soon after (a listener would be left on a dead
 * id), and a WSL1 distribution has no VM at all. Each case has its own
 * error code, so that the caller can say which it was.
 *
 * The child gets exactly three handles (NUL, the write end of a pipe,
 * NUL), no console window, and a deadline; wsl.exe is taken from the
 * system directory, never from the search path.
 */
#include <string.h>

#include "internal.h"

#include <windows.h>

#include "wsl.h"

/* Starting WSL from cold takes a few seconds; a hung wsl.exe must not
 * hang the caller for ever. */
#define WSL_TIMEOUT_MS 20000
/* Connections in a burst share one lookup; a restarted WSL is noticed
 * this long after at worst. */
#define WSL_CACHE_MS 5000
#define WSL_OUT_MAX 4096

static SRWLOCK cache_lock = SRWLOCK_INIT;
static hvs_guid_t cache_id;
static uint64_t cache_time;
static int cache_valid;

static const WCHAR list_args[] = L"wsl.exe --list --running --quiet";
static const WCHAR vmid_args[] = L"wsl.exe -- wslinfo --vm-id";

/* "C:\Windows\System32\wsl.exe" */
static int
wsl_path(WCHAR *buf, UINT size)
{
	static const WCHAR exe[] = L"\\wsl.exe";
	UINT n;

	n = GetSystemDirectoryW(buf, size);
	if (n == 0 || n + HVS__ARRAY_LEN(exe) > size) {
		return -1;
	}
	memcpy(buf + n, exe, sizeof(exe));
	return 0;
}

/* Move whatever the pipe holds into @buf (excess is dropped). */
static void
drain(HANDLE rd, char *buf, size_t size, size_t *len)
{
	char tmp[512];
	DWORD avail, got;

	while (PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL) && avail > 0) {
		if (!ReadFile(rd, tmp, sizeof(tmp), &got, NULL) || got == 0) {
			return;
		}
		if (got > size - *len) {
			got = (DWORD)(size - *len);
		}
		memcpy(buf + *len, tmp, got);
		*len += got;
	}
}

/*
 * Run "wsl.exe @args" and collect its standard output in @buf. Returns 0
 * if it ran to its end (*@status set), HVS_EWSL_MISSING if it cannot be
 * run, HVS_EWSL_TIMEOUT if it overran its deadline (it is killed), or
 * HVS_EWSL_VMID if the child could not be set up (logged).
 */
static int
run_wsl(const WCHAR *args, char *buf, size_t size, size_t *len, DWORD *status)
{
	SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
	WCHAR app[MAX_PATH + 16];
	WCHAR cmdline[64];
	STARTUPINFOEXW si;
	PROCESS_INFORMATION pi;
	LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
	HANDLE rd = NULL, wr = NULL, nul = INVALID_HANDLE_VALUE;
	HANDLE inherit[2];
	SIZE_T attrs_size = 0;
	uint64_t deadline;
	DWORD wait;
	int ret = HVS_EWSL_VMID;

	*len = 0;
	*status = 1;
	if (wsl_path(app, (UINT)HVS__ARRAY_LEN(app)) != 0) {
		hvs__log(HVS_LOG_WARN, "wsl: cannot find the system directory");
		return HVS_EWSL_MISSING;
	}
	if (wcslen(args) >= HVS__ARRAY_LEN(cmdline)) {
		return HVS_EWSL_VMID;
	}
	/* CreateProcessW() may write to the command line. */
	wcscpy(cmdline, args);

	if (!CreatePipe(&rd, &wr, &sa, 0)) {
		hvs__log(HVS_LOG_WARN, "wsl: CreatePipe failed (error %lu)",
		    (unsigned long)GetLastError());
		return HVS_EWSL_VMID;
	}
	SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
	nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
	if (nul == INVALID_HANDLE_VALUE) {
		hvs__log(HVS_LOG_WARN, "wsl: cannot open NUL (error %lu)",
		    (unsigned long)GetLastError());
		goto out;
	}

	/* Only these two handles are inherited, whatever other threads of
	 * the process have left inheritable. */
	inherit[0] = wr;
	inherit[1] = nul;
	InitializeProcThreadAttributeList(NULL, 1, 0, &attrs_size);
	attrs = HeapAlloc(GetProcessHeap(), 0, attrs_size);
	if (attrs == NULL ||
	    !InitializeProcThreadAttributeList(attrs, 1, 0, &attrs_size)) {
		HeapFree(GetProcessHeap(), 0, attrs);
		attrs = NULL;
		hvs__log(HVS_LOG_WARN,
		    "wsl: cannot set up the child's handles");
		goto out;
	}
	if (!UpdateProcThreadAttribute(attrs, 0,
		PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit, sizeof(inherit),
		NULL, NULL)) {
		hvs__log(HVS_LOG_WARN,
		    "wsl: cannot set up the child's handles");
		goto out;
	}

	memset(&si, 0, sizeof(si));
	si.StartupInfo.cb = sizeof(si);
	si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
	si.StartupInfo.hStdInput = nul;
	si.StartupInfo.hStdOutput = wr;
	si.StartupInfo.hStdError = nul;
	si.lpAttributeList = attrs;
	if (!CreateProcessW(app, cmdline, NULL, NULL, TRUE,
		CREATE_NO_WINDOW | EXTENDED_STARTUPINFO_PRESENT, NULL, NULL,
		&si.StartupInfo, &pi)) {
		hvs__log(HVS_LOG_WARN,
		    "wsl: cannot run %ls (error %lu): is WSL installed?", app,
		    (unsigned long)GetLastError());
		ret = HVS_EWSL_MISSING;
		goto out;
	}
	/* The child has its copy; ours would keep the pipe open. */
	CloseHandle(wr);
	wr = NULL;

	/* Read while waiting: a full pipe would stall the child. */
	deadline = GetTickCount64() + WSL_TIMEOUT_MS;
	for (;;) {
		wait = WaitForSingleObject(pi.hProcess, 50);
		drain(rd, buf, size, len);
		if (wait != WAIT_TIMEOUT) {
			break;
		}
		if (GetTickCount64() >= deadline) {
			TerminateProcess(pi.hProcess, 1);
			WaitForSingleObject(pi.hProcess, 1000);
			hvs__log(HVS_LOG_WARN,
			    "wsl: wsl.exe did not answer within %d s",
			    WSL_TIMEOUT_MS / 1000);
			ret = HVS_EWSL_TIMEOUT;
			goto out_proc;
		}
	}
	if (!GetExitCodeProcess(pi.hProcess, status)) {
		*status = 1;
	}
	ret = 0;
out_proc:
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
out:
	if (attrs != NULL) {
		DeleteProcThreadAttributeList(attrs);
		HeapFree(GetProcessHeap(), 0, attrs);
	}
	if (nul != INVALID_HANDLE_VALUE) {
		CloseHandle(nul);
	}
	if (wr != NULL) {
		CloseHandle(wr);
	}
	CloseHandle(rd);
	return ret;
}

/* The first line of @text, printable ASCII only, for the log. */
static void
first_line(const char *text, size_t len, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < size; i++) {
		if (text[i] == '\0') {
			continue;
		}
		if (text[i] == '\r' || text[i] == '\n') {
			if (n > 0) {
				break;
			}
			continue;
		}
		buf[n++] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
	}
	buf[n] = '\0';
}

/*
 * 1 if the output of `wsl.exe --list --running --quiet` names a
 * distribution: anything but blanks, the NULs of UTF-16 and byte-order
 * marks (it prints nothing at all when none runs).
 */
static int
any_name(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c != '\0' && c != ' ' && c != '\t' && c != '\r' &&
		    c != '\n' && c != 0xEF && c != 0xBB && c != 0xBF &&
		    c != 0xFF && c != 0xFE) {
			return 1;
		}
	}
	return 0;
}

int
hvs__win_wsl_vmid(hvs_guid_t *out)
{
	char text[WSL_OUT_MAX];
	char line[128];
	char str[HVS_GUID_STRLEN];
	hvs_guid_t id;
	uint64_t now = GetTickCount64();
	size_t len;
	DWORD status;
	int r;

	AcquireSRWLockShared(&cache_lock);
	if (cache_valid && now - cache_time < WSL_CACHE_MS) {
		*out = cache_id;
		ReleaseSRWLockShared(&cache_lock);
		return 0;
	}
	ReleaseSRWLockShared(&cache_lock);

	/* Asking wslinfo would start WSL: ask first whether it runs. */
	r = run_wsl(list_args, text, sizeof(text), &len, &status);
	if (r != 0) {
		return r;
	}
	if (status != 0) {
		first_line(text, len, line, sizeof(line));
		hvs__log(HVS_LOG_WARN,
		    "wsl: `wsl.exe --list --running --quiet` exited with "
		    "status %lu: \"%s\" (is WSL installed?)",
		    (unsigned long)status, line);
		return HVS_EWSL_MISSING;
	}
	if (!any_name(text, len)) {
		hvs__log(HVS_LOG_WARN, "wsl: no WSL distribution is running");
		return HVS_EWSL_STOPPED;
	}

	r = run_wsl(vmid_args, text, sizeof(text), &len, &status);
	if (r != 0) {
		return r;
	}
	r = hvs_wsl_parse_vmid(text, len, &id);
	if (status != 0 || r != 0) {
		first_line(text, len, line, sizeof(line));
		hvs__log(HVS_LOG_WARN,
		    "wsl: `wsl.exe -- wslinfo --vm-id` gave no VM id (exit "
		    "status %lu): \"%s\"",
		    (unsigned long)status, line);
		return status == 0 && r == HVS_EWSL1 ? HVS_EWSL1
						     : HVS_EWSL_VMID;
	}
	hvs_guid_format(&id, str);
	hvs__log(HVS_LOG_DEBUG, "wsl: VM id is %s", str);

	AcquireSRWLockExclusive(&cache_lock);
	cache_id = id;
	cache_time = GetTickCount64();
	cache_valid = 1;
	ReleaseSRWLockExclusive(&cache_lock);
	*out = id;
	return 0;
}
