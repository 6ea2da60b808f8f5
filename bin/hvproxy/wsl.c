/* SPDX-License-Identifier: MIT */
/*
 * hvsock:wsl:PORT on a Windows host: listen on the WSL2 utility VM's id
 * and follow it when WSL restarts.
 *
 * A Windows listener must bind the exact VM id of the WSL VM (the wildcard
 * does not match it), and that id changes at every WSL start. So the
 * forward checks every wsl-poll interval (default 10 s):
 *
 *   1. `wsl.exe --list --running --quiet`: is any distribution running?
 *      If not, nothing is asked (asking would boot WSL) and the listener
 *      in place stays until WSL is back.
 *   2. `wsl.exe -- wslinfo --vm-id` (WSL 2.0+, no elevation): the VM id.
 *      If it differs from the one listened on, a listener on the new id
 *      is opened first and the old one closed after (connections already
 *      accepted are not touched).
 *
 * Both run as child processes that the event loop polls (no thread, no
 * blocking wait); each has a deadline after which it is terminated.
 *
 * What goes wrong (no wsl.exe, WSL stopped, a WSL1 distribution, no id,
 * wsl.exe hanging, a listener that cannot open) is logged once, when it
 * begins, and the check is simply repeated every interval; coming back is
 * logged once too. A check never overlaps the previous one.
 * wsl.exe is taken from the system directory, never from the search path,
 * and gets only NUL and the write end of its output pipe.
 *
 * The parsing of the two outputs is portable (and tested on any
 * platform); the process handling is Windows only.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hvproxy.h"

#ifdef _WIN32
#include <windows.h>
#endif

#define WSL_OUT_MAX 4096
#define WSL_CHILD_TIMEOUT_MS 20000
#define WSL_STEP_MS 100

/* ---- output parsing (portable) ---------------------------------------- */

int
hvp_wsl_parse_running(const char *buf, size_t len)
{
	/*
	 * Anything but blanks, NULs (of UTF-16) and a byte-order mark: the
	 * name of a running distribution.
	 */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c != '\0' && !isspace(c) && c != 0xEF && c != 0xBB &&
		    c != 0xBF && c != 0xFF && c != 0xFE) {
			return 1;
		}
	}
	return 0;
}

/* ---- child processes -------------------------------------------------- */

struct child {
#ifdef _WIN32
	HANDLE proc;
	HANDLE rd;
#endif
	int running;
	char out[WSL_OUT_MAX];
	size_t len;
	uint64_t deadline;
};

#ifdef _WIN32
/*
 * Start "wsl.exe ARGS" with its output going to a pipe. 0, or -1 with
 * *@err the system's error.
 */
static int
child_start(struct child *c, const WCHAR *args, unsigned long *err)
{
	SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
	WCHAR app[MAX_PATH + 16];
	WCHAR cmdline[128];
	STARTUPINFOEXW si;
	PROCESS_INFORMATION pi;
	LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
	HANDLE wr = NULL, nul = INVALID_HANDLE_VALUE, inherit[2];
	SIZE_T attrs_size = 0;
	UINT n;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	*err = 0;
	n = GetSystemDirectoryW(app, MAX_PATH);
	if (n == 0 || n >= MAX_PATH) {
		return -1;
	}
	wcscpy(app + n, L"\\wsl.exe");
	if (wcslen(args) >= sizeof(cmdline) / sizeof(cmdline[0])) {
		return -1;
	}
	/* CreateProcessW() may write to the command line. */
	wcscpy(cmdline, args);

	if (!CreatePipe(&c->rd, &wr, &sa, 0)) {
		return -1;
	}
	SetHandleInformation(c->rd, HANDLE_FLAG_INHERIT, 0);
	nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
	if (nul == INVALID_HANDLE_VALUE) {
		goto out;
	}
	inherit[0] = wr;
	inherit[1] = nul;
	InitializeProcThreadAttributeList(NULL, 1, 0, &attrs_size);
	attrs = HeapAlloc(GetProcessHeap(), 0, attrs_size);
	if (attrs == NULL ||
	    !InitializeProcThreadAttributeList(attrs, 1, 0, &attrs_size)) {
		HeapFree(GetProcessHeap(), 0, attrs);
		attrs = NULL;
		goto out;
	}
	if (!UpdateProcThreadAttribute(attrs, 0,
		PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit, sizeof(inherit),
		NULL, NULL)) {
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
		*err = (unsigned long)GetLastError();
		goto out;
	}
	CloseHandle(pi.hThread);
	c->proc = pi.hProcess;
	c->running = 1;
	c->deadline = hvc_now_ms() + WSL_CHILD_TIMEOUT_MS;
	ret = 0;
out:
	if (attrs != NULL) {
		DeleteProcThreadAttributeList(attrs);
		HeapFree(GetProcessHeap(), 0, attrs);
	}
	if (nul != INVALID_HANDLE_VALUE) {
		CloseHandle(nul);
	}
	/* The child has its copy; ours would keep the pipe open. */
	if (wr != NULL) {
		CloseHandle(wr);
	}
	if (ret != 0 && c->rd != NULL) {
		CloseHandle(c->rd);
		c->rd = NULL;
	}
	return ret;
}

static void
child_read(struct child *c)
{
	char tmp[512];
	DWORD avail, got;

	while (PeekNamedPipe(c->rd, NULL, 0, NULL, &avail, NULL) && avail > 0) {
		if (!ReadFile(c->rd, tmp, sizeof(tmp), &got, NULL) ||
		    got == 0) {
			return;
		}
		if (got > sizeof(c->out) - c->len) {
			got = (DWORD)(sizeof(c->out) - c->len);
		}
		memcpy(c->out + c->len, tmp, got);
		c->len += got;
	}
}

static void
child_close(struct child *c)
{
	if (c->proc != NULL) {
		if (c->running) {
			TerminateProcess(c->proc, 1);
		}
		CloseHandle(c->proc);
		c->proc = NULL;
	}
	if (c->rd != NULL) {
		CloseHandle(c->rd);
		c->rd = NULL;
	}
	c->running = 0;
}

/*
 * Collect output without blocking. Returns 0 while the child runs, 1 when
 * it has exited (*@status set), -1 when it overran its deadline (killed).
 */
static int
child_poll(struct child *c, unsigned long *status)
{
	DWORD code = 1;

	child_read(c);
	if (WaitForSingleObject(c->proc, 0) != WAIT_OBJECT_0) {
		if (hvc_now_ms() > c->deadline) {
			child_close(c);
			return -1;
		}
		return 0;
	}
	child_read(c);
	GetExitCodeProcess(c->proc, &code);
	c->running = 0;
	child_close(c);
	*status = code;
	return 1;
}

static const WCHAR list_args[] = L"wsl.exe --list --running --quiet";
static const WCHAR vmid_args[] = L"wsl.exe -- wslinfo --vm-id";
#define CHILD_START(c, which, err) child_start((c), (which), (err))
#else
/* No wsl.exe here: hvp_wsl_listen() refuses before any of this runs. */
static int
child_poll(struct child *c, unsigned long *status)
{
	*status = 1;
	return -1;
}

static void
child_close(struct child *c)
{
	c->running = 0;
}

#define CHILD_START(c, which, err) (*(err) = 0, -1)
#endif

/* ---- the re-listening forward ----------------------------------------- */

enum wsl_step {
	STEP_IDLE, /* waiting for the next check */
	STEP_LIST, /* wsl.exe --list --running runs */
	STEP_VMID, /* wslinfo --vm-id runs */
};

/* What the last check found: a change is logged, a repeat is not. */
enum wsl_state {
	WSL_UNKNOWN, /* no check has ended yet */
	WSL_OK, /* listening on the VM id wslinfo gave */
	WSL_NO_EXE, /* wsl.exe cannot be run */
	WSL_LIST_FAILED, /* wsl.exe --list failed */
	WSL_STOPPED, /* no distribution runs */
	WSL_WSL1, /* wslinfo says wsl1 */
	WSL_NO_VMID, /* wslinfo gave no id */
	WSL_HUNG, /* wsl.exe overran its deadline */
	WSL_NO_LISTEN, /* the listener on the id did not open */
};

struct hvp_wsl {
	struct event_base *base;
	hvs_addr_t addr; /* as configured (hvsock:wsl:SERVICE) */
	hvs_listener_opts_t lopts;
	hvs_accept_fn cb;
	void *userdata;
	hvs_listener_t *l; /* NULL until the VM id is known */
	hvs_guid_t vmid; /* the id l listens on */
	int poll_ms;
	struct event *timer;
	enum wsl_step step;
	enum wsl_state state;
	struct child child;
	char *name; /* for messages */
	char every[32]; /* the poll interval, for messages */
};

int
hvp_wsl_supported(void)
{
#ifdef _WIN32
	return 1;
#else
	return 0;
#endif
}

static void
arm(struct hvp_wsl *w, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(w->timer, &tv);
}

/*
 * The check ended in @state: 1 if that is news (to be logged), 0 if the
 * previous check ended the same way.
 */
static int
news(struct hvp_wsl *w, enum wsl_state state)
{
	int changed = w->state != state;

	w->state = state;
	return changed;
}

/* What is listened on now, for the messages of a failed check. */
static const char *
keeping(const struct hvp_wsl *w, char *buf, size_t size)
{
	char g[HVS_GUID_STRLEN];

	if (w->l == NULL) {
		return "nothing listens yet";
	}
	hvs_guid_format(&w->vmid, g);
	snprintf(buf, size, "still listening on VM id %s", g);
	return buf;
}

/* Listen on @vmid; the old listener (if any) goes once the new one is up. */
static void
relisten(struct hvp_wsl *w, const hvs_guid_t *vmid)
{
	hvs_listener_t *nl = NULL;
	hvs_addr_t a = w->addr;
	char g[HVS_GUID_STRLEN];
	int r;

	hvs_guid_format(vmid, g);
	a.u.hvsock.vm_id = *vmid;
	a.u.hvsock.vm_flags &= ~HVS_VMID_F_WSL;
	r = hvs_listener_new(&nl, w->base, &a, NULL, &w->lopts, w->cb,
	    w->userdata);
	if (r != 0) {
		if (news(w, WSL_NO_LISTEN)) {
			hvp_warn("%s: cannot listen on the WSL VM %s: %s "
				 "(trying again every %s)",
			    w->name, g, hvs_strerror(r), w->every);
		}
		return;
	}
	if (w->l != NULL) {
		hvp_warn("%s: WSL restarted: now listening on VM id %s",
		    w->name, g);
		hvs_listener_destroy(w->l);
	} else if (w->state != WSL_UNKNOWN) {
		/* As loud as the warning it ends. */
		hvp_warn("%s: WSL answers: listening on the WSL VM %s", w->name,
		    g);
	} else {
		hvp_info("%s: listening on the WSL VM %s", w->name, g);
	}
	w->state = WSL_OK;
	w->l = nl;
	w->vmid = *vmid;
}

/* wslinfo gave @id: follow it. */
static void
found(struct hvp_wsl *w, const hvs_guid_t *id)
{
	char g[HVS_GUID_STRLEN];

	if (w->l == NULL || !hvs_guid_equal(id, &w->vmid)) {
		relisten(w, id);
	} else if (news(w, WSL_OK)) {
		hvs_guid_format(id, g);
		hvp_warn("%s: WSL answers again: still listening on VM id %s",
		    w->name, g);
	}
}

/* Start a child for @step; on failure log (once) and wait for the next
 * check. */
static void
start(struct hvp_wsl *w, enum wsl_step step)
{
	unsigned long err;
	char k[64];
	int r;

#ifdef _WIN32
	r = CHILD_START(&w->child, step == STEP_LIST ? list_args : vmid_args,
	    &err);
#else
	(void)step;
	r = CHILD_START(&w->child, NULL, &err);
#endif
	if (r == 0) {
		w->step = step;
		arm(w, WSL_STEP_MS);
		return;
	}
	if (news(w, WSL_NO_EXE)) {
		hvp_warn("%s: %s (error %lu); %s, checking again every %s",
		    w->name, hvs_strerror(HVS_EWSL_MISSING), err,
		    keeping(w, k, sizeof(k)), w->every);
	}
	w->step = STEP_IDLE;
	arm(w, w->poll_ms);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hvp_wsl *w = arg;
	unsigned long status;
	hvs_guid_t id;
	char k[64];
	int r;

	(void)fd;
	(void)what;
	if (w->step == STEP_IDLE) {
		start(w, STEP_LIST);
		return;
	}
	r = child_poll(&w->child, &status);
	if (r == 0) {
		arm(w, WSL_STEP_MS);
		return;
	}
	if (r < 0) {
		if (news(w, WSL_HUNG)) {
			hvp_warn("%s: wsl.exe did not answer within %d s (it "
				 "was stopped); %s, checking again every %s",
			    w->name, WSL_CHILD_TIMEOUT_MS / 1000,
			    keeping(w, k, sizeof(k)), w->every);
		}
		w->step = STEP_IDLE;
		arm(w, w->poll_ms);
		return;
	}
	if (w->step == STEP_LIST) {
		if (status != 0) {
			if (news(w, WSL_LIST_FAILED)) {
				hvp_warn("%s: `wsl.exe --list --running "
					 "--quiet` failed (exit status %lu; "
					 "is WSL installed?); %s, checking "
					 "again every %s",
				    w->name, status, keeping(w, k, sizeof(k)),
				    w->every);
			}
		} else if (!hvp_wsl_parse_running(w->child.out, w->child.len)) {
			/* Asking for the id would start WSL: keep what we
			 * have until it is back. */
			if (news(w, WSL_STOPPED)) {
				hvp_warn("%s: %s; %s, checking again every %s",
				    w->name, hvs_strerror(HVS_EWSL_STOPPED),
				    keeping(w, k, sizeof(k)), w->every);
			}
		} else {
			start(w, STEP_VMID);
			return;
		}
		w->step = STEP_IDLE;
		arm(w, w->poll_ms);
		return;
	}
	/* STEP_VMID */
	w->step = STEP_IDLE;
	r = hvs_wsl_parse_vmid(w->child.out, w->child.len, &id);
	if (status == 0 && r == 0) {
		found(w, &id);
	} else if (status == 0 && r == HVS_EWSL1) {
		if (news(w, WSL_WSL1)) {
			hvp_warn("%s: %s; %s, checking again every %s", w->name,
			    hvs_strerror(HVS_EWSL1), keeping(w, k, sizeof(k)),
			    w->every);
		}
	} else if (news(w, WSL_NO_VMID)) {
		hvp_warn("%s: `wsl.exe -- wslinfo --vm-id` gave no VM id "
			 "(exit status %lu; WSL 2.0 or later is needed); %s, "
			 "checking again every %s",
		    w->name, status, keeping(w, k, sizeof(k)), w->every);
	}
	arm(w, w->poll_ms);
}

int
hvp_wsl_listen(struct hvp_wsl **out, struct event_base *base,
    const hvs_addr_t *addr, const hvs_listener_opts_t *lopts, int poll_ms,
    hvs_accept_fn cb, void *userdata)
{
	struct hvp_wsl *w;
	char *s;

	if (!hvp_wsl_supported()) {
		return HVS_EPLATFORM;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return HVS_ENOMEM;
	}
	w->base = base;
	w->addr = *addr;
	if (lopts != NULL) {
		w->lopts = *lopts;
	}
	w->cb = cb;
	w->userdata = userdata;
	w->poll_ms = poll_ms > 0 ? poll_ms : HVP_DEF_WSL_POLL_MS;
	s = hvp_addr_str(addr);
	w->name = s;
	hvc_format_duration(w->poll_ms, w->every, sizeof(w->every));
	w->timer = evtimer_new(base, on_timer, w);
	if (w->timer == NULL) {
		free(w->name);
		free(w);
		return HVS_ENOMEM;
	}
	/* The first check runs from the loop at once: start-up does not
	 * wait for (or boot) WSL. */
	arm(w, 0);
	hvp_info("%s: following the WSL VM id (checked every %s)", w->name,
	    w->every);
	*out = w;
	return 0;
}

void
hvp_wsl_set_poll(struct hvp_wsl *w, int poll_ms)
{
	int ms = poll_ms > 0 ? poll_ms : HVP_DEF_WSL_POLL_MS;

	if (ms == w->poll_ms) {
		return;
	}
	w->poll_ms = ms;
	hvc_format_duration(w->poll_ms, w->every, sizeof(w->every));
	hvp_info("%s: now checked every %s", w->name, w->every);
	if (w->step == STEP_IDLE) {
		arm(w, w->poll_ms);
	}
}

void
hvp_wsl_free(struct hvp_wsl *w)
{
	if (w == NULL) {
		return;
	}
	event_free(w->timer);
	child_close(&w->child);
	hvs_listener_destroy(w->l);
	free(w->name);
	free(w);
}
