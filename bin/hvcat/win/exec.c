/* SPDX-License-Identifier: MIT */
/*
 * -e / -c on Windows. A socket cannot be a program's standard input and
 * output there, so each child gets two anonymous pipes, which one
 * hvs_fd_bridge() socket stands for; two pumps carry the bytes between
 * that socket and the connection, passing each EOF on as a half-close
 * (the child's stdout ends: the peer gets a FIN; the peer's side ends:
 * the child's stdin is closed). Its stderr is hvcat's.
 *
 * A wait on the process handle (a thread-pool callback) wakes the loop
 * when a child exits. The child is over, and reported with its exit
 * status, once it has exited and all it wrote has gone to the peer; it
 * is ended (TerminateProcess) when the connection is done and it still
 * runs: both directions over, or the peer gone.
 */
#include <winsock2.h>
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "win/win.h"

/* After the connection is done: how long a child may take to exit on
 * its own before it is ended. */
#define GRACE_MS 2000
/* The exit status of a child ended that way. */
#define ENDED_STATUS 1

struct child {
	struct exec *x;
	struct child *next;
	long pid;
	HANDLE proc, wait;
	hvs_sock_t conn, br; /* the connection, the child's pipes */
	struct pump *up, *down; /* child -> peer, peer -> child */
	struct event *grace;
	int up_done, down_done, broken, exited, ended;
	DWORD code;
};

struct exec {
	struct event_base *base;
	struct win_wake *wake;
	struct child *list;
	exec_exit_fn fn;
	void *userdata;
};

char **
exec_argv_shell(const char *cmd)
{
	static const char *const pre[] = {"cmd.exe", "/d", "/s", "/c"};
	char **argv = calloc(6, sizeof(*argv));

	if (argv == NULL) {
		return NULL;
	}
	for (int i = 0; i < 4; i++) {
		argv[i] = strdup(pre[i]);
	}
	argv[4] = strdup(cmd);
	for (int i = 0; i < 5; i++) {
		if (argv[i] == NULL) {
			exec_argv_free(argv);
			return NULL;
		}
	}
	return argv;
}

int
exec_check(char *const *argv, const char **hint)
{
	char found[MAX_PATH];
	const char *name = argv[0];
	DWORD n;

	*hint = strpbrk(name, "/\\:") != NULL ? "" : " in PATH";
	/* As CreateProcess looks: .exe added when there is no extension. */
	n = SearchPathA(NULL, name, ".exe", sizeof(found), found, NULL);
	if (n == 0 || n >= sizeof(found)) {
		return -1;
	}
	DWORD attr = GetFileAttributesA(found);
	return attr != INVALID_FILE_ATTRIBUTES &&
		!(attr & FILE_ATTRIBUTE_DIRECTORY)
	    ? 0
	    : -1;
}

/* ---- the command line ---- */

struct wbuf {
	wchar_t *p;
	size_t len, cap;
	int failed;
};

static void
wput(struct wbuf *b, const wchar_t *s, size_t n)
{
	if (b->failed) {
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		wchar_t *p = realloc(b->p, cap * sizeof(*p));
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n * sizeof(*s));
	b->len += n;
	b->p[b->len] = L'\0';
}

static void
wputc(struct wbuf *b, wchar_t c, size_t times)
{
	for (size_t i = 0; i < times; i++) {
		wput(b, &c, 1);
	}
}

/* @s (the ANSI code page, as argv came) in UTF-16; NULL on failure. */
static wchar_t *
widen(const char *s)
{
	int n = MultiByteToWideChar(CP_ACP, 0, s, -1, NULL, 0);
	wchar_t *w;

	if (n <= 0 || (w = malloc((size_t)n * sizeof(*w))) == NULL) {
		return NULL;
	}
	MultiByteToWideChar(CP_ACP, 0, s, -1, w, n);
	return w;
}

/* One argument the way the C runtime's parser reads it back. */
static void
quote_arg(struct wbuf *b, const wchar_t *a)
{
	size_t slashes = 0;

	if (*a != L'\0' && wcspbrk(a, L" \t\n\v\"") == NULL) {
		wput(b, a, wcslen(a));
		return;
	}
	wputc(b, L'"', 1);
	for (; *a != L'\0'; a++) {
		if (*a == L'\\') {
			slashes++;
			continue;
		}
		if (*a == L'"') {
			wputc(b, L'\\', 2 * slashes + 1);
		} else {
			wputc(b, L'\\', slashes);
		}
		slashes = 0;
		wputc(b, *a, 1);
	}
	wputc(b, L'\\', 2 * slashes);
	wputc(b, L'"', 1);
}

/*
 * -e: each argument quoted for the C runtime. -c: cmd.exe /d /s /c "CMD"
 * with CMD as typed (/s: cmd takes off the outer quotes and runs the
 * rest unchanged).
 */
static wchar_t *
command_line(const struct options *o)
{
	struct wbuf b = {NULL, 0, 0, 0};
	char **argv = o->exec_argv;

	for (size_t i = 0; argv[i] != NULL; i++) {
		wchar_t *w = widen(argv[i]);
		if (w == NULL) {
			free(b.p);
			return NULL;
		}
		if (i > 0) {
			wputc(&b, L' ', 1);
		}
		if (o->exec_shell && argv[i + 1] == NULL) {
			wputc(&b, L'"', 1);
			wput(&b, w, wcslen(w));
			wputc(&b, L'"', 1);
		} else {
			quote_arg(&b, w);
		}
		free(w);
	}
	if (b.failed || b.p == NULL) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static int
win_error(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return HVS_ENOENT;
	case ERROR_ACCESS_DENIED:
		return HVS_EACCES;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return HVS_ENOMEM;
	case ERROR_TOO_MANY_OPEN_FILES:
		return HVS_EMFILE;
	case ERROR_BAD_EXE_FORMAT:
		return HVS_EINVAL;
	default:
		return HVS_EIO;
	}
}

/* ---- children ---- */

static void
child_free(struct child *c)
{
	struct child **pp;

	for (pp = &c->x->list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->wait != NULL) {
		/* Waits for a callback that is running. */
		UnregisterWaitEx(c->wait, INVALID_HANDLE_VALUE);
	}
	pump_free(c->up);
	pump_free(c->down);
	if (c->grace != NULL) {
		event_free(c->grace);
	}
	hvs_close(c->conn);
	hvs_close(c->br);
	if (c->proc != NULL) {
		CloseHandle(c->proc);
	}
	free(c);
}

static void
child_end(struct child *c)
{
	if (!c->exited && !c->ended) {
		c->ended = 1;
		TerminateProcess(c->proc, ENDED_STATUS);
	}
}

static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	child_end(arg);
}

/* What now, after any change. Frees @c when it is over. */
static void
child_check(struct child *c)
{
	struct exec *x = c->x;

	if (c->exited && (c->up_done || c->broken)) {
		char why[64];
		long pid = c->pid;
		const char *w = NULL;

		if (c->code != 0) {
			if (c->code >= 0x80000000u) {
				snprintf(why, sizeof(why),
				    "exited with status 0x%08lx",
				    (unsigned long)c->code);
			} else {
				snprintf(why, sizeof(why),
				    "exited with status %lu",
				    (unsigned long)c->code);
			}
			w = why;
		}
		child_free(c);
		x->fn(pid, w, x->userdata);
		return;
	}
	if (c->exited) {
		return;
	}
	if (c->broken) {
		child_end(c);
	} else if (c->up_done && c->down_done && c->grace != NULL &&
	    !evtimer_pending(c->grace, NULL)) {
		struct timeval tv = {GRACE_MS / 1000, (GRACE_MS % 1000) * 1000};
		evtimer_add(c->grace, &tv);
	}
}

/* The child's stdout has ended (or the peer is gone). */
static void
on_up_done(struct pump *p, int err, void *arg)
{
	struct child *c = arg;

	(void)p;
	c->up_done = 1;
	if (err < 0) {
		c->broken = 1;
	} else {
		(void)hvs_shutdown(c->conn, HVS_SHUT_WR);
	}
	child_check(c);
}

/* The peer's side has ended: so does the child's stdin. */
static void
on_down_done(struct pump *p, int err, void *arg)
{
	struct child *c = arg;

	(void)p;
	(void)err; /* a child that stopped reading is no failure */
	c->down_done = 1;
	(void)hvs_shutdown(c->br, HVS_SHUT_WR);
	child_check(c);
}

/* On the loop, after a process handle was signalled. */
static void
on_wake(void *arg)
{
	struct exec *x = arg;
	struct child *c = x->list, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (c->exited ||
		    WaitForSingleObject(c->proc, 0) != WAIT_OBJECT_0) {
			continue;
		}
		c->exited = 1;
		if (!GetExitCodeProcess(c->proc, &c->code)) {
			c->code = ENDED_STATUS;
		}
		child_check(c);
	}
}

/* On a thread-pool thread. */
static VOID CALLBACK
on_exit_wait(PVOID arg, BOOLEAN timed_out)
{
	struct exec *x = arg;

	(void)timed_out;
	win_wake(x->wake);
}

int
exec_new(struct exec **out, struct event_base *base, exec_exit_fn fn,
    void *userdata)
{
	struct exec *x = calloc(1, sizeof(*x));
	int rc;

	if (x == NULL) {
		return HVS_ENOMEM;
	}
	x->base = base;
	x->fn = fn;
	x->userdata = userdata;
	rc = win_wake_new(&x->wake, base, on_wake, x);
	if (rc < 0) {
		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

void
exec_free(struct exec *x)
{
	if (x == NULL) {
		return;
	}
	while (x->list != NULL) {
		struct child *c = x->list;
		child_end(c);
		child_free(c);
	}
	win_wake_free(x->wake);
	free(x);
}

void
exec_kill(struct exec *x, long pid, int sig)
{
	(void)sig;
	for (struct child *c = x->list; c != NULL; c = c->next) {
		if (c->pid == pid) {
			child_end(c);
		}
	}
}

/* Set (or with NULL remove) a variable the child inherits. */
static void
setenv_child(const char *name, const char *value)
{
	SetEnvironmentVariableA(name, value);
}

/*
 * Start the process with @in as stdin, @out as stdout and a copy of our
 * stderr, inheriting those three handles only. Returns its process
 * handle and id, or NULL with the error in *@err.
 */
static HANDLE
start(const struct options *o, HANDLE in, HANDLE out, DWORD *pid, int *err)
{
	STARTUPINFOEXW si;
	PROCESS_INFORMATION pi;
	HANDLE errh = NULL, self = GetCurrentProcess(), list[3];
	LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
	SIZE_T size = 0;
	DWORD flags = 0;
	wchar_t *cmd;
	BOOL ok;

	cmd = command_line(o);
	if (cmd == NULL) {
		*err = HVS_ENOMEM;
		return NULL;
	}
	if (!DuplicateHandle(self, GetStdHandle(STD_ERROR_HANDLE), self, &errh,
		0, TRUE, DUPLICATE_SAME_ACCESS)) {
		SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
		errh = CreateFileW(L"NUL", GENERIC_WRITE,
		    FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0,
		    NULL);
		if (errh == INVALID_HANDLE_VALUE) {
			errh = NULL;
		}
	}
	memset(&si, 0, sizeof(si));
	si.StartupInfo.cb = sizeof(si.StartupInfo);
	si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
	si.StartupInfo.hStdInput = in;
	si.StartupInfo.hStdOutput = out;
	si.StartupInfo.hStdError = errh;
	/* Only these three: never another connection's socket or pipe. */
	list[0] = in;
	list[1] = out;
	list[2] = errh;
	InitializeProcThreadAttributeList(NULL, 1, 0, &size);
	attrs = size > 0 ? malloc(size) : NULL;
	if (attrs != NULL &&
	    InitializeProcThreadAttributeList(attrs, 1, 0, &size) &&
	    UpdateProcThreadAttribute(attrs, 0,
		PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
		(errh != NULL ? 3 : 2) * sizeof(HANDLE), NULL, NULL)) {
		si.StartupInfo.cb = sizeof(si);
		si.lpAttributeList = attrs;
		flags |= EXTENDED_STARTUPINFO_PRESENT;
	} else if (attrs != NULL) {
		free(attrs);
		attrs = NULL;
	}
	ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, flags, NULL, NULL,
	    &si.StartupInfo, &pi);
	if (!ok) {
		*err = win_error(GetLastError());
	}
	if (attrs != NULL) {
		DeleteProcThreadAttributeList(attrs);
		free(attrs);
	}
	if (errh != NULL) {
		CloseHandle(errh);
	}
	free(cmd);
	if (!ok) {
		return NULL;
	}
	CloseHandle(pi.hThread);
	*pid = pi.dwProcessId;
	return pi.hProcess;
}

long
exec_spawn(struct exec *x, const struct options *o, hvs_sock_t sock,
    const char *peer, const char *local)
{
	SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
	HANDLE in_r = NULL, in_w = NULL, out_r = NULL, out_w = NULL;
	struct child *c;
	DWORD pid = 0;
	int fd_r = -1, fd_w = -1, rc = 0;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		hvs_close(sock);
		return HVS_ENOMEM;
	}
	c->x = x;
	c->conn = sock;
	c->br = HVS_INVALID_SOCK;
	/* The child's ends inheritable, ours not. */
	if (!CreatePipe(&in_r, &in_w, &sa, 0) ||
	    !CreatePipe(&out_r, &out_w, &sa, 0)) {
		rc = win_error(GetLastError());
		goto fail;
	}
	SetHandleInformation(in_w, HANDLE_FLAG_INHERIT, 0);
	SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0);

	/* ncat's variables, under our name. */
	setenv_child("HVCAT_PEER", peer);
	setenv_child("HVCAT_LOCAL", local);
	c->proc = start(o, in_r, out_w, &pid, &rc);
	setenv_child("HVCAT_PEER", NULL);
	setenv_child("HVCAT_LOCAL", NULL);
	CloseHandle(in_r);
	CloseHandle(out_w);
	in_r = out_w = NULL;
	if (c->proc == NULL) {
		goto fail;
	}
	c->pid = (long)pid;

	fd_w = _open_osfhandle((intptr_t)in_w, _O_WRONLY | _O_BINARY);
	if (fd_w < 0) {
		rc = HVS_EMFILE;
		goto fail;
	}
	in_w = NULL;
	fd_r = _open_osfhandle((intptr_t)out_r, _O_RDONLY | _O_BINARY);
	if (fd_r < 0) {
		rc = HVS_EMFILE;
		goto fail;
	}
	out_r = NULL;
	rc = hvs_fd_bridge(fd_r, fd_w, &c->br);
	if (rc < 0) {
		goto fail;
	}
	fd_r = fd_w = -1;
	c->grace = evtimer_new(x->base, on_grace, c);
	if (c->grace == NULL) {
		rc = HVS_ENOMEM;
		goto fail;
	}
	rc = pump_new(&c->up, x->base, c->br, c->conn, 0, on_up_done, c);
	if (rc == 0) {
		rc = pump_new(&c->down, x->base, c->conn, c->br, 0,
		    on_down_done, c);
	}
	if (rc < 0) {
		goto fail;
	}
	if (!RegisterWaitForSingleObject(&c->wait, c->proc, on_exit_wait, x,
		INFINITE, WT_EXECUTEONLYONCE)) {
		c->wait = NULL;
		rc = win_error(GetLastError());
		goto fail;
	}
	c->next = x->list;
	x->list = c;
	return c->pid;

fail:
	if (c->proc != NULL) {
		TerminateProcess(c->proc, ENDED_STATUS);
	}
	if (fd_r >= 0) {
		_close(fd_r);
	}
	if (fd_w >= 0) {
		_close(fd_w);
	}
	HANDLE hs[] = {in_r, in_w, out_r, out_w};
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		if (hs[i] != NULL) {
			CloseHandle(hs[i]);
		}
	}
	child_free(c);
	return rc < 0 ? rc : HVS_EIO;
}
