/* SPDX-License-Identifier: MIT */
/*
 * hvproxy as a Windows service (os.h, win/win.h).
 *
 *   hvproxy --install-service [--service-name NAME] [--start ...]
 *           [--service-account ...] [-c FILE] [options] [pairs]
 *   hvproxy --remove-service [--service-name NAME]
 *   hvproxy --service NAME -c FILE ...     what the service manager runs
 *   hvproxy --control NAME reload|stop     ControlService()
 *
 * --install-service creates a service of its own process that runs this
 * .exe (its full path, quoted) with --service NAME, -c FILE (absolute) and
 * the daemon options given, as NT AUTHORITY\LocalService unless told
 * otherwise: the least an account can have, and all that hvproxy needs
 * (it binds no privileged port; Hyper-V sockets ask for the service
 * GUID's registration, not for an account). Recovery: restart after 5 s,
 * then after 30 s, then not; counted afresh after a day.
 *
 * Under the service manager, main() hands the process over with
 * StartServiceCtrlDispatcherW(); the daemon runs in ServiceMain, which
 * reports START_PENDING, then RUNNING once every listener is bound (the
 * daemon's readiness, hvp_sd_notify()), STOP_PENDING while it drains,
 * STOPPED with its exit status. A timer raises the checkpoint every
 * second while a state is pending, so that the manager sees progress.
 * The control handler runs on the dispatcher's thread: it never touches
 * the event loop, it posts a byte as the console handler does (sys.c).
 * STOP and SHUTDOWN drain and exit; PARAMCHANGE reloads. No user
 * control code reloads: Windows lets every interactive user send those
 * to a service (SECURITY.md), PARAMCHANGE only administrators.
 *
 * Logs: the log file if one is given (--log-file), and warnings and
 * errors always to the Event Log, source = the service's name. No
 * message file is registered: Event Viewer shows the text after a line
 * saying that the description for the event id cannot be found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <windows.h>

#include "hvproxy.h"
#include "os.h"
#include "win/win.h"

/* How long --remove-service waits for a running service to stop. */
#define REMOVE_WAIT_MS 90000
/* The wait hint of a pending state; the checkpoint moves every second. */
#define WAIT_HINT_MS 10000
/* Event ids: one per level. */
#define EVENT_ID_BASE 1000

static struct {
	const char *name; /* --service NAME, or NULL in a console */
	WCHAR wname[257];
	SERVICE_STATUS_HANDLE h;
	SERVICE_STATUS st;
	SRWLOCK lock;
	HANDLE timer;
	HANDLE events; /* RegisterEventSourceW() */
	int (*fn)(void *);
	void *arg;
	int rc;
} svc = {NULL, {0}, NULL, {0}, SRWLOCK_INIT, NULL, NULL, NULL, NULL, 0};

/* ---- names and command lines ------------------------------------------ */

int
hvp_os_service_name_check(const char *name, char *why, size_t size)
{
	size_t n = strlen(name);

	if (n == 0) {
		snprintf(why, size, "empty (expected a service name)");
		return -1;
	}
	if (n > 256) {
		snprintf(why, size,
		    "%zu characters: a service name has at most 256", n);
		return -1;
	}
	if (strspn(name, "0123456789") == n) {
		snprintf(why, size,
		    "a number (hvproxy --control takes numbers as process "
		    "ids): expected a name with a letter");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f) {
			snprintf(why, size,
			    "has a '/', a '\\' or a control character, "
			    "which a service name may not have");
			return -1;
		}
	}
	return 0;
}

/* Append @arg to @buf (size @size, NUL-terminated) quoted as Windows
 * programs split their command line: 0, or -1 if it does not fit. */
static int
append_arg(char *buf, size_t size, const char *arg)
{
	size_t len = strlen(buf);
	int quote = arg[0] == '\0' || strpbrk(arg, " \t\n\v\"") != NULL;

#define PUT(c)                          \
	do {                            \
		if (len + 2 >= size) {  \
			return -1;      \
		}                       \
		buf[len++] = (char)(c); \
	} while (0)

	if (len > 0) {
		PUT(' ');
	}
	if (!quote) {
		for (const char *p = arg; *p; p++) {
			PUT(*p);
		}
		buf[len] = '\0';
		return 0;
	}
	PUT('"');
	for (const char *p = arg;; p++) {
		size_t bs = 0;

		while (*p == '\\') {
			bs++;
			p++;
		}
		if (*p == '\0') {
			/* Backslashes before the closing quote: doubled. */
			for (size_t i = 0; i < 2 * bs; i++) {
				PUT('\\');
			}
			break;
		}
		if (*p == '"') {
			for (size_t i = 0; i < 2 * bs + 1; i++) {
				PUT('\\');
			}
		} else {
			for (size_t i = 0; i < bs; i++) {
				PUT('\\');
			}
		}
		PUT(*p);
	}
	PUT('"');
	buf[len] = '\0';
	return 0;
#undef PUT
}

/* @path made absolute (the service starts in the system folder), in a
 * fresh string; NULL if it cannot be. */
static char *
full_path(const char *path)
{
	DWORD n = GetFullPathNameA(path, 0, NULL, NULL);
	char *out;

	if (n == 0) {
		return NULL;
	}
	out = hvc_xreallocarray(NULL, n + 1, 1);
	if (GetFullPathNameA(path, n + 1, out, NULL) == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static WCHAR *
widen(const char *s)
{
	int n = MultiByteToWideChar(CP_ACP, 0, s, -1, NULL, 0);
	WCHAR *w;

	if (n <= 0) {
		return NULL;
	}
	w = hvc_xreallocarray(NULL, (size_t)n, sizeof(*w));
	if (MultiByteToWideChar(CP_ACP, 0, s, -1, w, n) <= 0) {
		free(w);
		return NULL;
	}
	return w;
}

static void
set_wname(const char *name)
{
	MultiByteToWideChar(CP_ACP, 0, name, -1, svc.wname,
	    (int)(sizeof(svc.wname) / sizeof(svc.wname[0])));
	svc.wname[sizeof(svc.wname) / sizeof(svc.wname[0]) - 1] = L'\0';
}

/* ---- the service manager ---------------------------------------------- */

/* OpenSCManagerW() for @access: the handle, or NULL with a line on stderr
 * naming @what ("--install-service"). */
static SC_HANDLE
open_manager(const char *what, DWORD access)
{
	SC_HANDLE m = OpenSCManagerW(NULL, NULL, access);
	DWORD e;

	if (m != NULL) {
		return m;
	}
	e = GetLastError();
	if (e == ERROR_ACCESS_DENIED) {
		fprintf(stderr,
		    "hvproxy: %s: the service manager denied access: run it "
		    "from an elevated prompt (as administrator)\n",
		    what);
	} else {
		fprintf(stderr,
		    "hvproxy: %s: cannot open the service manager: error "
		    "%lu\n",
		    what, (unsigned long)e);
	}
	return NULL;
}

/* OpenServiceW(): the handle, or NULL with a line on stderr. */
static SC_HANDLE
open_service(SC_HANDLE m, const char *what, const char *name, DWORD access)
{
	SC_HANDLE s;
	DWORD e;

	set_wname(name);
	s = OpenServiceW(m, svc.wname, access);
	if (s != NULL) {
		return s;
	}
	e = GetLastError();
	if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
		fprintf(stderr, "hvproxy: %s: there is no service named %s\n",
		    what, name);
	} else if (e == ERROR_ACCESS_DENIED) {
		fprintf(stderr,
		    "hvproxy: %s: access to service %s denied: run it from "
		    "an elevated prompt (as administrator)\n",
		    what, name);
	} else {
		fprintf(stderr,
		    "hvproxy: %s: cannot open service %s: error %lu\n", what,
		    name, (unsigned long)e);
	}
	return NULL;
}

/* 1 if service @s runs hvproxy (its command line has --service), 0 if
 * not, with a line on stderr. */
static int
is_hvproxy(SC_HANDLE s, const char *what, const char *name)
{
	QUERY_SERVICE_CONFIGW *qc;
	DWORD need = 0;
	int ok = 0;

	QueryServiceConfigW(s, NULL, 0, &need);
	if (need == 0) {
		need = 8192;
	}
	qc = hvc_xreallocarray(NULL, need, 1);
	if (QueryServiceConfigW(s, qc, need, &need) &&
	    qc->lpBinaryPathName != NULL &&
	    wcsstr(qc->lpBinaryPathName, L" --service ") != NULL) {
		ok = 1;
	} else {
		fprintf(stderr,
		    "hvproxy: %s: service %s does not run hvproxy (its "
		    "command line is %ls): left alone\n",
		    what, name,
		    qc->lpBinaryPathName != NULL ? qc->lpBinaryPathName
						 : L"unknown");
	}
	free(qc);
	return ok;
}

static const char *
account_name(int account, const WCHAR **w)
{
	switch (account) {
	case HVP_SVC_NETWORK_SERVICE:
		*w = L"NT AUTHORITY\\NetworkService";
		return "NT AUTHORITY\\NetworkService";
	case HVP_SVC_LOCAL_SYSTEM:
		*w = NULL;
		return "LocalSystem";
	default:
		*w = L"NT AUTHORITY\\LocalService";
		return "NT AUTHORITY\\LocalService";
	}
}

/* The service's command line: the exe, --service NAME, -c FILE, the
 * options. Wide, in a fresh string; NULL with a line on stderr. */
static WCHAR *
command_line(const struct hvp_svc_install *in)
{
	WCHAR exe[MAX_PATH + 1];
	char buf[32768], *exe8 = NULL, *p;
	DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH + 1);
	WCHAR *w;
	int bad = 0;

	if (n == 0 || n > MAX_PATH) {
		fprintf(stderr,
		    "hvproxy: --install-service: cannot find the path of "
		    "hvproxy.exe (error %lu)\n",
		    (unsigned long)GetLastError());
		return NULL;
	}
	n = (DWORD)WideCharToMultiByte(CP_ACP, 0, exe, -1, NULL, 0, NULL, NULL);
	exe8 = hvc_xreallocarray(NULL, n + 1, 1);
	WideCharToMultiByte(CP_ACP, 0, exe, -1, exe8, (int)n, NULL, NULL);
	buf[0] = '\0';
	/* The program's path quoted whatever it holds: an unquoted path
	 * with a space is a known way to run another program. */
	snprintf(buf, sizeof(buf), "\"%s\"", exe8);
	free(exe8);
	bad |= append_arg(buf, sizeof(buf), "--service");
	bad |= append_arg(buf, sizeof(buf), in->name);
	if (in->config != NULL) {
		if ((p = full_path(in->config)) == NULL) {
			fprintf(stderr,
			    "hvproxy: --install-service: -c %s: cannot make "
			    "the path absolute\n",
			    in->config);
			return NULL;
		}
		bad |= append_arg(buf, sizeof(buf), "-c");
		bad |= append_arg(buf, sizeof(buf), p);
		free(p);
	}
	for (size_t i = 0; in->args != NULL && in->args[i] != NULL; i++) {
		const char *a = in->args[i];

		bad |= append_arg(buf, sizeof(buf), a);
		if (strcmp(a, "--log-file") == 0 && in->args[i + 1] != NULL) {
			if ((p = full_path(in->args[++i])) == NULL) {
				fprintf(stderr,
				    "hvproxy: --install-service: --log-file "
				    "%s: cannot make the path absolute\n",
				    in->args[i]);
				return NULL;
			}
			bad |= append_arg(buf, sizeof(buf), p);
			free(p);
		}
	}
	if (bad) {
		fprintf(stderr,
		    "hvproxy: --install-service: the command line is longer "
		    "than %zu characters\n",
		    sizeof(buf) - 2);
		return NULL;
	}
	w = widen(buf);
	if (w == NULL) {
		fprintf(stderr,
		    "hvproxy: --install-service: cannot convert the command "
		    "line\n");
	}
	return w;
}

/* Description and recovery of a service just created: 0, or -1 with a
 * line on stderr. */
static int
configure(SC_HANDLE s, const struct hvp_svc_install *in, const char *config)
{
	SC_ACTION actions[] = {
	    {SC_ACTION_RESTART, 5000},
	    {SC_ACTION_RESTART, 30000},
	    {SC_ACTION_NONE, 0},
	};
	SERVICE_FAILURE_ACTIONSW fa = {86400, NULL, NULL, 3, actions};
	SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};
	SERVICE_DESCRIPTIONW sd;
	char text[1024];
	WCHAR *w;
	int ok;

	snprintf(text, sizeof(text),
	    "Forwards connections between Hyper-V sockets and TCP "
	    "(hvproxy %s). Configuration: %s. Reload: sc.exe control %s "
	    "paramchange.",
	    HVS_VERSION, config != NULL ? config : "command line", in->name);
	w = widen(text);
	sd.lpDescription = w;
	ok = w != NULL &&
	    ChangeServiceConfig2W(s, SERVICE_CONFIG_DESCRIPTION, &sd);
	free(w);
	if (!ok) {
		fprintf(stderr,
		    "hvproxy: --install-service: cannot set the service's "
		    "description: error %lu\n",
		    (unsigned long)GetLastError());
		return -1;
	}
	if (!ChangeServiceConfig2W(s, SERVICE_CONFIG_FAILURE_ACTIONS, &fa)) {
		fprintf(stderr,
		    "hvproxy: --install-service: cannot set the service's "
		    "recovery actions: error %lu\n",
		    (unsigned long)GetLastError());
		return -1;
	}
	/* Restart also after an exit with an error (a listener that could
	 * not be bound at boot), not only after a crash. Older systems
	 * lack it: the actions above still apply to crashes. */
	ChangeServiceConfig2W(s, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag);
	return 0;
}

int
hvp_os_service_install(const struct hvp_svc_install *in)
{
	static const DWORD starts[] = {SERVICE_AUTO_START, SERVICE_DEMAND_START,
	    SERVICE_DISABLED};
	static const char *const start_names[] = {"auto", "demand", "disabled"};
	WCHAR display[300], *cmd;
	const WCHAR *waccount;
	const char *account = account_name(in->account, &waccount);
	char *config;
	SC_HANDLE m, s;
	DWORD e;
	int rc;

	if ((cmd = command_line(in)) == NULL) {
		return HVP_EXIT_FAIL;
	}
	if ((m = open_manager("--install-service",
		 SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE)) == NULL) {
		free(cmd);
		return HVP_EXIT_FAIL;
	}
	set_wname(in->name);
	_snwprintf(display, sizeof(display) / sizeof(display[0]),
	    L"hvproxy port forwarder (%ls)", svc.wname);
	display[sizeof(display) / sizeof(display[0]) - 1] = L'\0';
	s = CreateServiceW(m, svc.wname, display, SERVICE_ALL_ACCESS,
	    SERVICE_WIN32_OWN_PROCESS, starts[in->start], SERVICE_ERROR_NORMAL,
	    cmd, NULL, NULL, NULL, waccount, NULL);
	free(cmd);
	if (s == NULL) {
		e = GetLastError();
		if (e == ERROR_SERVICE_EXISTS) {
			fprintf(stderr,
			    "hvproxy: --install-service: a service named %s "
			    "exists already (hvproxy --remove-service "
			    "--service-name %s removes it)\n",
			    in->name, in->name);
		} else if (e == ERROR_DUPLICATE_SERVICE_NAME) {
			fprintf(stderr,
			    "hvproxy: --install-service: another service has "
			    "the display name %ls already\n",
			    display);
		} else if (e == ERROR_SERVICE_MARKED_FOR_DELETE) {
			fprintf(stderr,
			    "hvproxy: --install-service: a service named %s "
			    "is being removed: try again once it has "
			    "stopped\n",
			    in->name);
		} else if (e == ERROR_ACCESS_DENIED) {
			fprintf(stderr,
			    "hvproxy: --install-service: the service manager "
			    "denied access: run it from an elevated prompt "
			    "(as administrator)\n");
		} else {
			fprintf(stderr,
			    "hvproxy: --install-service: cannot create "
			    "service %s: error %lu\n",
			    in->name, (unsigned long)e);
		}
		CloseServiceHandle(m);
		return HVP_EXIT_FAIL;
	}
	config = in->config != NULL ? full_path(in->config) : NULL;
	rc = configure(s, in, config);
	free(config);
	if (rc != 0) {
		/* Nothing half-installed. */
		DeleteService(s);
		CloseServiceHandle(s);
		CloseServiceHandle(m);
		fprintf(stderr,
		    "hvproxy: --install-service: service %s not "
		    "installed\n",
		    in->name);
		return HVP_EXIT_FAIL;
	}
	CloseServiceHandle(s);
	CloseServiceHandle(m);
	printf("hvproxy: installed service %s (start: %s, account: %s); "
	       "sc.exe start %s starts it\n",
	    in->name, start_names[in->start], account, in->name);
	return HVP_EXIT_OK;
}

int
hvp_os_service_remove(const char *name)
{
	const char *what = "--remove-service";
	SERVICE_STATUS st;
	SC_HANDLE m, s;
	ULONGLONG end;
	int rc = HVP_EXIT_OK;

	if ((m = open_manager(what, SC_MANAGER_CONNECT)) == NULL) {
		return HVP_EXIT_FAIL;
	}
	s = open_service(m, what, name,
	    SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS | SERVICE_STOP |
		DELETE);
	if (s == NULL) {
		CloseServiceHandle(m);
		return HVP_EXIT_FAIL;
	}
	if (!is_hvproxy(s, what, name)) {
		CloseServiceHandle(s);
		CloseServiceHandle(m);
		return HVP_EXIT_FAIL;
	}
	if (QueryServiceStatus(s, &st) &&
	    st.dwCurrentState != SERVICE_STOPPED) {
		if (st.dwCurrentState != SERVICE_STOP_PENDING) {
			ControlService(s, SERVICE_CONTROL_STOP, &st);
		}
		printf("hvproxy: stopping service %s (its connections may "
		       "take the drain timeout to finish)\n",
		    name);
		fflush(stdout);
		end = GetTickCount64() + REMOVE_WAIT_MS;
		while (QueryServiceStatus(s, &st) &&
		    st.dwCurrentState != SERVICE_STOPPED &&
		    GetTickCount64() < end) {
			Sleep(250);
		}
		if (st.dwCurrentState != SERVICE_STOPPED) {
			fprintf(stderr,
			    "hvproxy: %s: service %s is still stopping after "
			    "%d s: it is marked for removal and goes once it "
			    "has stopped\n",
			    what, name, REMOVE_WAIT_MS / 1000);
			rc = HVP_EXIT_FAIL;
		}
	}
	if (!DeleteService(s)) {
		DWORD e = GetLastError();

		if (e != ERROR_SERVICE_MARKED_FOR_DELETE) {
			fprintf(stderr,
			    "hvproxy: %s: cannot delete service %s: error "
			    "%lu\n",
			    what, name, (unsigned long)e);
			rc = HVP_EXIT_FAIL;
		}
	} else if (rc == HVP_EXIT_OK) {
		printf("hvproxy: removed service %s\n", name);
	}
	CloseServiceHandle(s);
	CloseServiceHandle(m);
	return rc;
}

int
hvp_win_service_control(const char *name, const char *cmd)
{
	const char *what = "--control";
	int stop = strcmp(cmd, "stop") == 0;
	SERVICE_STATUS st;
	SC_HANDLE m, s;
	char why[HVC_WHY_SIZE];
	DWORD e;

	if (hvp_win_control_cmd(name, cmd) != 0) {
		return HVP_EXIT_USAGE;
	}
	if (hvp_os_service_name_check(name, why, sizeof(why)) != 0) {
		fprintf(stderr,
		    "hvproxy: --control: expected the process id or the "
		    "service name of a running hvproxy (%s)\n",
		    why);
		return HVP_EXIT_USAGE;
	}
	if ((m = open_manager(what, SC_MANAGER_CONNECT)) == NULL) {
		return HVP_EXIT_FAIL;
	}
	s = open_service(m, what, name,
	    SERVICE_QUERY_CONFIG |
		(stop ? SERVICE_STOP : SERVICE_PAUSE_CONTINUE));
	if (s == NULL || !is_hvproxy(s, what, name)) {
		if (s != NULL) {
			CloseServiceHandle(s);
		}
		CloseServiceHandle(m);
		return HVP_EXIT_FAIL;
	}
	if (!ControlService(s,
		stop ? SERVICE_CONTROL_STOP : SERVICE_CONTROL_PARAMCHANGE,
		&st)) {
		e = GetLastError();
		if (e == ERROR_SERVICE_NOT_ACTIVE) {
			fprintf(stderr,
			    "hvproxy: --control: service %s is not running\n",
			    name);
		} else if (e == ERROR_INVALID_SERVICE_CONTROL ||
		    e == ERROR_SERVICE_CANNOT_ACCEPT_CTRL) {
			fprintf(stderr,
			    "hvproxy: --control: service %s takes no %s now "
			    "(it is starting or stopping)\n",
			    name, cmd);
		} else {
			fprintf(stderr,
			    "hvproxy: --control: cannot %s service %s: error "
			    "%lu\n",
			    cmd, name, (unsigned long)e);
		}
		CloseServiceHandle(s);
		CloseServiceHandle(m);
		return HVP_EXIT_FAIL;
	}
	CloseServiceHandle(s);
	CloseServiceHandle(m);
	return HVP_EXIT_OK;
}

/* ---- running as a service --------------------------------------------- */

const char *
hvp_win_service_name(void)
{
	return svc.name;
}

static int
pending(DWORD state)
{
	return state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
}

/* Report @state (and @rc once STOPPED). Any thread. 1 if the state
 * changed. */
static int
report(DWORD state, int rc)
{
	AcquireSRWLockExclusive(&svc.lock);
	if (svc.h == NULL || svc.st.dwCurrentState == SERVICE_STOPPED ||
	    (state == SERVICE_RUNNING &&
		svc.st.dwCurrentState != SERVICE_START_PENDING) ||
	    (state == SERVICE_STOP_PENDING &&
		svc.st.dwCurrentState == SERVICE_STOP_PENDING)) {
		/* Never back from stopping; READY=1 after a reload is no
		 * news. */
		ReleaseSRWLockExclusive(&svc.lock);
		return 0;
	}
	svc.st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	svc.st.dwCurrentState = state;
	svc.st.dwControlsAccepted = state == SERVICE_RUNNING
	    ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
		SERVICE_ACCEPT_PARAMCHANGE
	    : 0;
	svc.st.dwCheckPoint = pending(state) ? 1 : 0;
	svc.st.dwWaitHint = pending(state) ? WAIT_HINT_MS : 0;
	if (state == SERVICE_STOPPED && rc != HVP_EXIT_OK) {
		svc.st.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
		svc.st.dwServiceSpecificExitCode = (DWORD)rc;
	}
	SetServiceStatus(svc.h, &svc.st);
	ReleaseSRWLockExclusive(&svc.lock);
	return 1;
}

static void event(int level, const char *msg);

/* Every second: progress while a state is pending. */
static void CALLBACK
tick(PVOID arg, BOOLEAN fired)
{
	(void)arg;
	(void)fired;
	AcquireSRWLockExclusive(&svc.lock);
	if (svc.h != NULL && pending(svc.st.dwCurrentState)) {
		svc.st.dwCheckPoint++;
		SetServiceStatus(svc.h, &svc.st);
	}
	ReleaseSRWLockExclusive(&svc.lock);
}

void
hvp_win_service_notify(const char *state)
{
	if (svc.name == NULL) {
		return;
	}
	if (strncmp(state, "READY=1", 7) == 0) {
		if (report(SERVICE_RUNNING, 0)) {
			char line[400];

			snprintf(line, sizeof(line), "service %s running",
			    svc.name);
			event(HVP_LOG_INFO, line);
		}
	} else if (strncmp(state, "STOPPING=1", 10) == 0) {
		report(SERVICE_STOP_PENDING, 0);
	}
}

static DWORD WINAPI
handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
	(void)type;
	(void)data;
	(void)ctx;
	switch (control) {
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		report(SERVICE_STOP_PENDING, 0);
		hvp_win_post(control == SERVICE_CONTROL_STOP ? 'S' : 'D');
		return NO_ERROR;
	case SERVICE_CONTROL_PARAMCHANGE:
		hvp_win_post('P');
		return NO_ERROR;
	default:
		return ERROR_CALL_NOT_IMPLEMENTED;
	}
}

/* The Event Log: warnings and errors (log.c's sink), and a line when the
 * service starts and stops. */
static void
event(int level, const char *msg)
{
	WORD type = level == HVP_LOG_ERROR ? EVENTLOG_ERROR_TYPE
	    : level == HVP_LOG_WARN        ? EVENTLOG_WARNING_TYPE
					   : EVENTLOG_INFORMATION_TYPE;
	WCHAR *w;
	LPCWSTR strs[1];

	if (svc.events == NULL || (w = widen(msg)) == NULL) {
		return;
	}
	strs[0] = w;
	ReportEventW(svc.events, type, 0, EVENT_ID_BASE + (DWORD)level, NULL, 1,
	    0, strs, NULL);
	free(w);
}

static void WINAPI
service_main(DWORD argc, LPWSTR *argv)
{
	char line[128];

	(void)argc;
	(void)argv;
	svc.h = RegisterServiceCtrlHandlerExW(svc.wname, handler, NULL);
	if (svc.h == NULL) {
		event(HVP_LOG_ERROR,
		    "cannot register the service's control "
		    "handler");
		svc.rc = HVP_EXIT_FAIL;
		return;
	}
	report(SERVICE_START_PENDING, 0);
	if (!CreateTimerQueueTimer(&svc.timer, NULL, tick, NULL, 1000, 1000,
		WT_EXECUTEDEFAULT)) {
		svc.timer = NULL; /* no progress shown: nothing else lost */
	}
	svc.rc = svc.fn(svc.arg);
	if (svc.timer != NULL) {
		/* Waits for a tick that runs. */
		DeleteTimerQueueTimer(NULL, svc.timer, INVALID_HANDLE_VALUE);
		svc.timer = NULL;
	}
	snprintf(line, sizeof(line), "service %s stopped (exit status %d)",
	    svc.name, svc.rc);
	event(svc.rc == HVP_EXIT_OK ? HVP_LOG_INFO : HVP_LOG_ERROR, line);
	report(SERVICE_STOPPED, svc.rc);
}

int
hvp_os_service_run(const char *name, int (*fn)(void *), void *arg)
{
	SERVICE_TABLE_ENTRYW table[2];
	DWORD e;

	svc.name = name;
	svc.fn = fn;
	svc.arg = arg;
	svc.rc = HVP_EXIT_FAIL;
	set_wname(name);
	table[0].lpServiceName = svc.wname;
	table[0].lpServiceProc = service_main;
	table[1].lpServiceName = NULL;
	table[1].lpServiceProc = NULL;
	svc.events = RegisterEventSourceW(NULL, svc.wname);
	hvp_log_add_sink(event, HVP_LOG_WARN);
	if (!StartServiceCtrlDispatcherW(table)) {
		e = GetLastError();
		hvp_log_add_sink(NULL, 0);
		if (svc.events != NULL) {
			DeregisterEventSource(svc.events);
			svc.events = NULL;
		}
		svc.name = NULL;
		if (e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
			fprintf(stderr,
			    "hvproxy: --service %s: only the service manager "
			    "starts hvproxy this way (sc.exe start %s); in a "
			    "console, run it without --service\n",
			    name, name);
			return HVP_EXIT_USAGE;
		}
		fprintf(stderr,
		    "hvproxy: --service %s: cannot reach the service "
		    "manager: error %lu\n",
		    name, (unsigned long)e);
		return HVP_EXIT_FAIL;
	}
	hvp_log_add_sink(NULL, 0);
	if (svc.events != NULL) {
		DeregisterEventSource(svc.events);
		svc.events = NULL;
	}
	return svc.rc;
}
