/* SPDX-License-Identifier: MIT */
/*
 * wsl-standin: a stand-in for wsl.exe that a test controls, for the WSL
 * tests under wine (which has no WSL). The test installs it as wsl.exe in
 * the system directory of a private wine prefix, where hvproxy and the
 * library look for wsl.exe.
 *
 * It answers the two commands libhvsock runs, as wsl.exe does:
 *
 *   wsl.exe --list --running --quiet
 *       the names of the running distributions, one a line, in UTF-16LE
 *       ("NAME\r\n"); nothing at all, exit status 0, when none runs.
 *   wsl.exe -- wslinfo --vm-id
 *       what wslinfo prints, relayed as is (UTF-8): the VM id and a
 *       newline; "wsl1" when the distribution runs under WSL1 (exit 0).
 *
 * What it does is read, at every run, from wsl-standin.txt in its own
 * folder (not from the environment: hvproxy may give it a limited one),
 * one "key=value" a line:
 *
 *   running=NAME    a running distribution (none: WSL is stopped)
 *   vmid=TEXT       what wslinfo prints: a GUID, or wsl1
 *   wslinfo=old     wslinfo has no --vm-id (WSL before 2.0): a usage
 *                   message on stderr, exit status 1
 *   hang=list|vmid|all  that command never ends (until killed)
 *   fail=N          every command fails: a message, exit status N
 *
 * A missing file is a stopped WSL. Every run appends its command line to
 * wsl-standin.log in the same folder, so that the test can count them.
 * Anything else on the command line: a message and exit status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>

struct control {
	char running[64];
	char vmid[128];
	int old_wslinfo;
	int hang_list, hang_vmid;
	int fail;
};

/* @name in the folder of this program: 0, or -1 if it does not fit. */
static int
beside_me(const WCHAR *name, WCHAR *buf, DWORD size)
{
	DWORD n = GetModuleFileNameW(NULL, buf, size);
	WCHAR *slash;

	if (n == 0 || n >= size) {
		return -1;
	}
	slash = wcsrchr(buf, L'\\');
	if (slash == NULL ||
	    (size_t)(slash + 1 - buf) + wcslen(name) + 1 > size) {
		return -1;
	}
	wcscpy(slash + 1, name);
	return 0;
}

static void
copy_value(char *dst, size_t size, const char *v)
{
	size_t n = strcspn(v, "\r\n");

	if (n >= size) {
		n = size - 1;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static void
read_control(struct control *c)
{
	WCHAR path[MAX_PATH];
	char line[256];
	FILE *f;

	memset(c, 0, sizeof(*c));
	if (beside_me(L"wsl-standin.txt", path, MAX_PATH) != 0) {
		return;
	}
	f = _wfopen(path, L"r");
	if (f == NULL) {
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "running=", 8) == 0) {
			copy_value(c->running, sizeof(c->running), line + 8);
		} else if (strncmp(line, "vmid=", 5) == 0) {
			copy_value(c->vmid, sizeof(c->vmid), line + 5);
		} else if (strncmp(line, "wslinfo=old", 11) == 0) {
			c->old_wslinfo = 1;
		} else if (strncmp(line, "hang=", 5) == 0) {
			c->hang_list = strncmp(line + 5, "list", 4) == 0 ||
			    strncmp(line + 5, "all", 3) == 0;
			c->hang_vmid = strncmp(line + 5, "vmid", 4) == 0 ||
			    strncmp(line + 5, "all", 3) == 0;
		} else if (strncmp(line, "fail=", 5) == 0) {
			c->fail = atoi(line + 5);
		}
	}
	fclose(f);
}

/* One line per run in wsl-standin.log: its command line. */
static void
log_run(void)
{
	WCHAR path[MAX_PATH];
	HANDLE h;
	char line[512];
	DWORD done;
	int n;

	if (beside_me(L"wsl-standin.log", path, MAX_PATH) != 0) {
		return;
	}
	/* FILE_APPEND_DATA only: each write lands at the end, whole. */
	h = CreateFileW(path, FILE_APPEND_DATA,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		return;
	}
	n = snprintf(line, sizeof(line), "%lu %ls\n",
	    (unsigned long)GetCurrentProcessId(), GetCommandLineW());
	if (n > 0) {
		WriteFile(h, line,
		    (DWORD)((size_t)n < sizeof(line) ? (size_t)n
						     : sizeof(line) - 1),
		    &done, NULL);
	}
	CloseHandle(h);
}

static void
out_bytes(DWORD which, const void *buf, size_t len)
{
	DWORD done;

	WriteFile(GetStdHandle(which), buf, (DWORD)len, &done, NULL);
}

/* @text (ASCII) in UTF-16LE, as wsl.exe writes its own output. */
static void
out_utf16(DWORD which, const char *text)
{
	char buf[1024];
	size_t n = 0;

	for (; *text != '\0' && n + 2 <= sizeof(buf); text++) {
		buf[n++] = *text;
		buf[n++] = '\0';
	}
	out_bytes(which, buf, n);
}

static int
hang(void)
{
	Sleep(INFINITE);
	return 1;
}

int
main(int argc, char **argv)
{
	struct control c;
	char line[200];

	/* Logged once the control is read: a test that sees the run knows
	 * what it answers. */
	read_control(&c);
	log_run();
	if (c.fail != 0) {
		out_utf16(STD_OUTPUT_HANDLE,
		    "The Windows Subsystem for Linux is not installed (the "
		    "stand-in was told to fail).\r\n");
		return c.fail;
	}
	if (argc == 4 && strcmp(argv[1], "--list") == 0 &&
	    strcmp(argv[2], "--running") == 0 &&
	    strcmp(argv[3], "--quiet") == 0) {
		if (c.hang_list) {
			return hang();
		}
		if (c.running[0] != '\0') {
			snprintf(line, sizeof(line), "%s\r\n", c.running);
			out_utf16(STD_OUTPUT_HANDLE, line);
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--") == 0 &&
	    strcmp(argv[2], "wslinfo") == 0 &&
	    strcmp(argv[3], "--vm-id") == 0) {
		if (c.hang_vmid) {
			return hang();
		}
		/* The real one would start WSL here; a test that asks for
		 * the id of a stopped WSL learns it from the log. */
		if (c.old_wslinfo) {
			static const char usage[] =
			    "Usage: wslinfo [--networking-mode] "
			    "[--msal-proxy-path] [--wsl-version] [-n]\n";

			out_bytes(STD_ERROR_HANDLE, usage, sizeof(usage) - 1);
			return 1;
		}
		snprintf(line, sizeof(line), "%s\n", c.vmid);
		out_bytes(STD_OUTPUT_HANDLE, line, strlen(line));
		return 0;
	}
	out_utf16(STD_ERROR_HANDLE, "wsl-standin: unexpected command line\r\n");
	return 1;
}
