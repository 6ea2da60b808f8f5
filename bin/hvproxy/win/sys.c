/* SPDX-License-Identifier: MIT */
/*
 * hvproxy on Windows (os.h).
 *
 * Stop and reload: Windows has no SIGTERM or SIGHUP. Ctrl-C, Ctrl-Break
 * and the console's closing come to a handler on a thread of their own;
 * two named events, Local\hvproxy-PID-stop and Local\hvproxy-PID-reload,
 * which `hvproxy --control PID stop|reload` sets, are waited on by a
 * second thread. Neither thread touches the event loop: each writes a
 * byte into a socket pair whose other end the loop reads, so the request
 * runs on the loop as a signal's would. Events in the Local\ namespace
 * belong to the session, and their default security lets the user who
 * started hvproxy (and administrators) set them (SECURITY.md).
 *
 * Refused, never ignored: --user, --pidfile, --syslog (and user=,
 * pidfile=, syslog= in the file). Sockets are handles without a
 * per-process limit of their own: the descriptor budget counts
 * HVP_WIN_FD_BUDGET of them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <windows.h>
#include <aclapi.h>

#include <event2/event.h>
#include <event2/util.h>

#include "os.h"
#include "win/win.h"

/* What daemon.c fit_descriptors() takes for the descriptor limit: about
 * 8000 connections with max-conns 0. */
#define HVP_WIN_FD_BUDGET 16384ull
/* How long a console's closing waits for the drain: Windows ends the
 * process 5 s after the close event whatever the handler does. */
#define CLOSE_WAIT_MS 4500

int
hvp_os_init(void)
{
	WSADATA wsa;
	int rc = WSAStartup(MAKEWORD(2, 2), &wsa);

	if (rc != 0) {
		fprintf(stderr,
		    "hvproxy: cannot start Winsock (error %d): %s\n", rc,
		    hvs_strerror(hvs_translate_sys_error(rc)));
		return -1;
	}
	return 0;
}

/* ---- stop and reload -------------------------------------------------- */

static struct {
	hvp_os_request_fn fn;
	void *arg;
	evutil_socket_t pair[2]; /* [0] the loop reads, [1] written */
	struct event *ev;
	HANDLE stop, reload; /* the named events */
	HANDLE quit; /* ends the thread */
	HANDLE done; /* set once requests end: the console may close */
	HANDLE thread;
	int console; /* the handler is installed */
	/* post() may run on any thread (the console handler's, the service
	 * manager's): the lock keeps the pair from closing under it, and
	 * what comes before the pair exists waits in @early. */
	SRWLOCK lock;
	char early[8];
	size_t nearly;
} rq = {NULL, NULL, {-1, -1}, NULL, NULL, NULL, NULL, NULL, NULL, 0,
    SRWLOCK_INIT, {0}, 0};

/* The byte a request is written as, and what the log calls it. */
static const struct {
	char byte;
	int req;
	const char *what;
} kinds[] = {
    {'c', HVP_REQ_STOP, "Ctrl-C"},
    {'b', HVP_REQ_STOP, "Ctrl-Break"},
    {'x', HVP_REQ_STOP, "console closed"},
    {'s', HVP_REQ_STOP, "control event: stop"},
    {'r', HVP_REQ_RELOAD, "control event: reload"},
    {'S', HVP_REQ_STOP, "service control: stop"},
    {'D', HVP_REQ_STOP, "service control: shutdown"},
    {'P', HVP_REQ_RELOAD, "service control: paramchange"},
};

static void
post(char byte)
{
	AcquireSRWLockExclusive(&rq.lock);
	if (rq.pair[1] != (evutil_socket_t)-1) {
		send(rq.pair[1], &byte, 1, 0);
	} else if (rq.nearly < sizeof(rq.early)) {
		rq.early[rq.nearly++] = byte; /* before the loop: for later */
	}
	ReleaseSRWLockExclusive(&rq.lock);
}

void
hvp_win_post(char byte)
{
	post(byte);
}

static BOOL WINAPI
on_console(DWORD type)
{
	switch (type) {
	case CTRL_C_EVENT:
		post('c');
		return TRUE;
	case CTRL_BREAK_EVENT:
		post('b');
		return TRUE;
	case CTRL_CLOSE_EVENT:
	case CTRL_SHUTDOWN_EVENT:
		/* The process ends when this returns: give the drain what
		 * time Windows allows. */
		post('x');
		WaitForSingleObject(rq.done, CLOSE_WAIT_MS);
		return TRUE;
	default:
		return FALSE;
	}
}

static DWORD WINAPI
watch_events(LPVOID arg)
{
	HANDLE h[3] = {rq.quit, rq.stop, rq.reload};

	(void)arg;
	for (;;) {
		DWORD w = WaitForMultipleObjects(3, h, FALSE, INFINITE);

		if (w == WAIT_OBJECT_0 + 1) {
			post('s');
		} else if (w == WAIT_OBJECT_0 + 2) {
			post('r');
		} else {
			return 0;
		}
	}
}

static void
on_byte(evutil_socket_t fd, short what, void *arg)
{
	char buf[16];
	int n;

	(void)what;
	(void)arg;
	n = recv(fd, buf, (int)sizeof(buf), 0);
	for (int i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			if (kinds[k].byte == buf[i] && rq.fn != NULL) {
				rq.fn(kinds[k].req, kinds[k].what, rq.arg);
			}
		}
	}
}

/* Local\hvproxy-PID-WHICH. */
static void
event_name(WCHAR *buf, size_t size, unsigned long pid, const char *which)
{
	_snwprintf(buf, size, L"Local\\hvproxy-%lu-%hs", pid, which);
	buf[size - 1] = L'\0';
}

/* Create the named event @which of this process: the handle, or NULL
 * (logged). */
static HANDLE
create_event(const char *which)
{
	WCHAR name[64];
	HANDLE h;

	event_name(name, sizeof(name) / sizeof(name[0]),
	    (unsigned long)GetCurrentProcessId(), which);
	h = CreateEventW(NULL, FALSE, FALSE, name);
	if (h == NULL) {
		hvp_err("cannot create the control event %ls: error %lu", name,
		    (unsigned long)GetLastError());
		return NULL;
	}
	if (GetLastError() == ERROR_ALREADY_EXISTS) {
		/* Not ours: another program made it before we ran, and
		 * could set it, or hold it to confuse --control. */
		hvp_err("the control event %ls already exists (another "
			"program created it): not starting",
		    name);
		CloseHandle(h);
		return NULL;
	}
	return h;
}

int
hvp_os_requests_start(struct event_base *base, hvp_os_request_fn fn, void *arg)
{
	rq.fn = fn;
	rq.arg = arg;
	if (evutil_socketpair(AF_INET, SOCK_STREAM, 0, rq.pair) != 0) {
		hvp_err("cannot make the socket pair that wakes the loop: %s",
		    hvs_strerror(hvs_translate_sys_error(WSAGetLastError())));
		return -1;
	}
	evutil_make_socket_nonblocking(rq.pair[0]);
	/* Requests that came before the loop (a service stopped while it
	 * starts) are handled once it runs. */
	AcquireSRWLockExclusive(&rq.lock);
	if (rq.nearly > 0) {
		send(rq.pair[1], rq.early, (int)rq.nearly, 0);
		rq.nearly = 0;
	}
	ReleaseSRWLockExclusive(&rq.lock);
	rq.ev =
	    event_new(base, rq.pair[0], EV_READ | EV_PERSIST, on_byte, NULL);
	if (rq.ev == NULL || event_add(rq.ev, NULL) != 0) {
		hvp_err("cannot watch the socket pair that wakes the loop");
		return -1;
	}
	rq.done = CreateEventW(NULL, TRUE, FALSE, NULL);
	rq.quit = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (rq.done == NULL || rq.quit == NULL) {
		hvp_err("cannot create events: error %lu",
		    (unsigned long)GetLastError());
		return -1;
	}
	if ((rq.stop = create_event("stop")) == NULL ||
	    (rq.reload = create_event("reload")) == NULL) {
		return -1;
	}
	rq.thread = CreateThread(NULL, 0, watch_events, NULL, 0, NULL);
	if (rq.thread == NULL) {
		hvp_err("cannot start the thread that waits for control "
			"events: error %lu",
		    (unsigned long)GetLastError());
		return -1;
	}
	/* Without a console (a service, a detached process) there is
	 * nothing to handle, and nothing fails. */
	rq.console = SetConsoleCtrlHandler(on_console, TRUE) ? 1 : 0;
	if (hvp_win_service_name() != NULL) {
		hvp_info("stop and reload: sc.exe stop %s, sc.exe control %s "
			 "paramchange, or hvproxy --control %s stop|reload",
		    hvp_win_service_name(), hvp_win_service_name(),
		    hvp_win_service_name());
	} else {
		hvp_info("stop and reload: Ctrl-C, Ctrl-Break, or hvproxy "
			 "--control %lu stop|reload",
		    (unsigned long)GetCurrentProcessId());
	}
	return 0;
}

void
hvp_os_requests_stop(void)
{
	rq.fn = NULL;
	if (rq.thread != NULL) {
		SetEvent(rq.quit);
		WaitForSingleObject(rq.thread, INFINITE);
		CloseHandle(rq.thread);
		rq.thread = NULL;
	}
	/* Ctrl-C from now on: ignored, not the default (ending the process
	 * with another status). A console closing may go on. */
	if (rq.console) {
		SetConsoleCtrlHandler(NULL, TRUE);
		SetConsoleCtrlHandler(on_console, FALSE);
		rq.console = 0;
	}
	if (rq.done != NULL) {
		SetEvent(rq.done);
	}
	if (rq.ev != NULL) {
		event_free(rq.ev);
		rq.ev = NULL;
	}
	AcquireSRWLockExclusive(&rq.lock);
	for (int i = 0; i < 2; i++) {
		if (rq.pair[i] != (evutil_socket_t)-1) {
			evutil_closesocket(rq.pair[i]);
			rq.pair[i] = (evutil_socket_t)-1;
		}
	}
	ReleaseSRWLockExclusive(&rq.lock);
	if (rq.stop != NULL) {
		CloseHandle(rq.stop);
		rq.stop = NULL;
	}
	if (rq.reload != NULL) {
		CloseHandle(rq.reload);
		rq.reload = NULL;
	}
	if (rq.quit != NULL) {
		CloseHandle(rq.quit);
		rq.quit = NULL;
	}
	/* rq.done stays: a console handler may still wait on it. */
}

int
hvp_win_control_cmd(const char *target, const char *cmd)
{
	char q[HVC_QUOTE_SIZE];

	if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "stop") == 0) {
		return 0;
	}
	hvc_quote(cmd, strlen(cmd), q, sizeof(q));
	fprintf(stderr,
	    "hvproxy: --control %s '%s': unknown command (expected reload "
	    "or stop)\n",
	    target, q);
	return -1;
}

int
hvp_os_control(const char *pid, const char *cmd)
{
	char why[HVC_WHY_SIZE], q[HVC_QUOTE_SIZE];
	WCHAR name[64];
	uint64_t v;
	HANDLE h;
	DWORD e;

	/* Not a number: the name of an hvproxy service (win/service.c). */
	if (pid[0] != '\0' && strspn(pid, "0123456789") != strlen(pid)) {
		return hvp_win_service_control(pid, cmd);
	}
	if (hvc_parse_uint(pid, 1, 0xFFFFFFFFu, &v, why, sizeof(why)) != 0) {
		hvc_quote(pid, strlen(pid), q, sizeof(q));
		fprintf(stderr,
		    "hvproxy: --control '%s': expected the process id of a "
		    "running hvproxy (%s)\n",
		    q, why);
		return HVP_EXIT_USAGE;
	}
	if (hvp_win_control_cmd(pid, cmd) != 0) {
		return HVP_EXIT_USAGE;
	}
	event_name(name, sizeof(name) / sizeof(name[0]), (unsigned long)v, cmd);
	h = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
	if (h == NULL) {
		e = GetLastError();
		if (e == ERROR_FILE_NOT_FOUND) {
			fprintf(stderr,
			    "hvproxy: --control: no hvproxy with process id "
			    "%lu in this session (no event %ls)\n",
			    (unsigned long)v, name);
		} else if (e == ERROR_ACCESS_DENIED) {
			fprintf(stderr,
			    "hvproxy: --control: hvproxy %lu may not be "
			    "signalled by this user (access to %ls denied; "
			    "run as the user who started it)\n",
			    (unsigned long)v, name);
		} else {
			fprintf(stderr,
			    "hvproxy: --control: cannot open %ls: error %lu\n",
			    name, (unsigned long)e);
		}
		return HVP_EXIT_FAIL;
	}
	if (!SetEvent(h)) {
		fprintf(stderr,
		    "hvproxy: --control: cannot set %ls: error %lu\n", name,
		    (unsigned long)GetLastError());
		CloseHandle(h);
		return HVP_EXIT_FAIL;
	}
	CloseHandle(h);
	return HVP_EXIT_OK;
}

const char *
hvp_os_unavailable(const char *what)
{
	while (*what == '-') {
		what++;
	}
	if (strcmp(what, "user") == 0) {
		return "not available on Windows (start hvproxy as the "
		       "account it should run as)";
	}
	if (strcmp(what, "pidfile") == 0) {
		return "not available on Windows (hvproxy --control PID "
		       "reload|stop signals a running hvproxy by its process "
		       "id)";
	}
	if (strcmp(what, "syslog") == 0) {
		return "not available on Windows (there is no syslog: log to "
		       "a file with --log-file FILE or log-file = FILE)";
	}
	return NULL;
}

const char *
hvp_os_default_config(void)
{
	static char path[MAX_PATH + 32];
	const char *pd = getenv("ProgramData");

	snprintf(path, sizeof(path), "%s\\hvproxy\\hvproxy.conf",
	    pd != NULL && pd[0] != '\0' ? pd : "C:\\ProgramData");
	return path;
}

/* ---- descriptors ------------------------------------------------------ */

void
hvp_os_raise_nofile(void)
{
}

int
hvp_os_fd_limit(unsigned long long *lim)
{
	*lim = HVP_WIN_FD_BUDGET;
	return 0;
}

const char *
hvp_os_fd_limit_hint(void)
{
	return "on Windows hvproxy counts 16384 sockets: lower max-conns";
}

/* ---- what Windows does not have --------------------------------------- */

int
hvp_os_pidfile_create(const char *path)
{
	hvp_err("pidfile %s: %s", path, hvp_os_unavailable("pidfile"));
	return -1;
}

void
hvp_os_pidfile_remove(void)
{
}

int
hvp_os_stderr_is_journal(void)
{
	return 0;
}

void
hvp_os_syslog_open(void)
{
}

void
hvp_os_syslog(int level, const char *msg)
{
	(void)level;
	fprintf(stderr, "hvproxy: %s\n", msg);
}

FILE *
hvp_os_log_file_open(const char *path)
{
	/* Binary: one "\n" per line, as on every other system. */
	int fd = _open(path,
	    _O_WRONLY | _O_APPEND | _O_CREAT | _O_BINARY | _O_NOINHERIT,
	    _S_IREAD | _S_IWRITE);
	FILE *fp;
	int e;

	if (fd < 0) {
		return NULL;
	}
	fp = _fdopen(fd, "ab");
	if (fp == NULL) {
		e = errno;
		_close(fd);
		errno = e;
	}
	return fp;
}

/* ---- the configuration file ------------------------------------------- */

/* The mode bits of Windows files say nothing of who may write them: the
 * file's access control list does (acl_check(), hvp_os_conf_fd()). */
int
hvp_config_perm_check(const struct stat *st, unsigned long euid, char *why,
    size_t size)
{
	(void)st;
	(void)euid;
	(void)why;
	(void)size;
	return 0;
}

int
hvp_conf_file_open(const char *file, char *why, size_t size)
{
	struct stat st;
	int fd, e;

	if (stat(file, &st) == 0 && (st.st_mode & _S_IFMT) == _S_IFDIR) {
		snprintf(why, size,
		    "not a regular file (a directory): expected a "
		    "configuration file");
		errno = EINVAL;
		return -1;
	}
	fd = _open(file, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
	if (fd < 0) {
		e = errno;
		snprintf(why, size, "cannot open: %s", strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		snprintf(why, size, "cannot read: %s", strerror(e));
		_close(fd);
		errno = e;
		return -1;
	}
	if ((st.st_mode & _S_IFMT) != _S_IFREG) {
		snprintf(why, size,
		    "not a regular file (a device): expected a configuration "
		    "file");
		_close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((unsigned long long)st.st_size > HVP_CONF_MAX_SIZE) {
		snprintf(why, size,
		    "the file has %lld bytes, more than the %u MiB a "
		    "configuration file may have",
		    (long long)st.st_size, HVP_CONF_MAX_SIZE / (1024u * 1024u));
		_close(fd);
		errno = EFBIG;
		return -1;
	}
	return fd;
}

void
hvp_conf_file_check_reopen(const char *file, int keep_fd)
{
	(void)file;
	(void)keep_fd;
}

/* Rights that let a user change what the file says (or who may). */
#define WRITE_RIGHTS                                                    \
	(FILE_WRITE_DATA | FILE_APPEND_DATA | WRITE_DAC | WRITE_OWNER | \
	    GENERIC_WRITE | GENERIC_ALL)

/*
 * The counterpart of the POSIX rule (never writable by every user): the
 * file's access control list may not let Everyone, Authenticated Users
 * or Users write it. 0, or -1 with the reason in @why.
 */
static int
acl_check(int fd, char *why, size_t size)
{
	static const struct {
		WELL_KNOWN_SID_TYPE type;
		const char *name;
	} open_to[] = {
	    {WinWorldSid, "Everyone"},
	    {WinAuthenticatedUserSid, "Authenticated Users"},
	    {WinBuiltinUsersSid, "Users"},
	};
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	PSECURITY_DESCRIPTOR sd = NULL;
	PACL dacl = NULL;
	DWORD rc;
	int ret = 0;

	rc = GetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL,
	    NULL, &dacl, NULL, &sd);
	if (rc != ERROR_SUCCESS) {
		snprintf(why, size,
		    "cannot read its access control list (error %lu)",
		    (unsigned long)rc);
		return -1;
	}
	if (dacl == NULL) {
		snprintf(why, size,
		    "has no access control list: anyone could change the "
		    "forwards");
		LocalFree(sd);
		return -1;
	}
	for (DWORD i = 0; i < dacl->AceCount && ret == 0; i++) {
		ACCESS_ALLOWED_ACE *ace;

		if (!GetAce(dacl, i, (void **)&ace) ||
		    ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE ||
		    (ace->Header.AceFlags & INHERIT_ONLY_ACE) ||
		    !(ace->Mask & WRITE_RIGHTS)) {
			continue;
		}
		for (size_t k = 0; k < sizeof(open_to) / sizeof(open_to[0]);
		     k++) {
			BYTE buf[SECURITY_MAX_SID_SIZE];
			DWORD n = sizeof(buf);

			if (CreateWellKnownSid(open_to[k].type, NULL, buf,
				&n) &&
			    EqualSid((PSID)&ace->SidStart, (PSID)buf)) {
				snprintf(why, size,
				    "is writable by %s (its access control "
				    "list): anyone could change the forwards "
				    "(let administrators alone write it)",
				    open_to[k].name);
				ret = -1;
				break;
			}
		}
	}
	LocalFree(sd);
	return ret;
}

int
hvp_os_conf_fd(const char *file, int *keep_fd, struct hvp_errors *errs)
{
	char why[256];
	int fd = hvp_conf_file_open(file, why, sizeof(why));

	(void)keep_fd;
	if (fd < 0) {
		hvp_errors_add(errs, "%s: %s", file, why);
		return -1;
	}
	/* On the opened file: no race with a rename. */
	if (acl_check(fd, why, sizeof(why)) != 0) {
		hvp_errors_add(errs, "%s: refused: the file %s", file, why);
		_close(fd);
		return -1;
	}
	return fd;
}
