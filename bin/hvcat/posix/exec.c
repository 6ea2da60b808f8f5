/* SPDX-License-Identifier: MIT */
/*
 * -e / -c on POSIX: fork and exec with the connection socket itself as
 * the child's stdin and stdout (no byte passes through hvcat), and
 * SIGCHLD to learn when a child is over.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvcat.h"

struct exec {
	struct event *ev_chld;
	exec_exit_fn fn;
	void *userdata;
};

char **
exec_argv_shell(const char *cmd)
{
	char **argv = calloc(4, sizeof(*argv));

	if (argv == NULL) {
		return NULL;
	}
	argv[0] = strdup("/bin/sh");
	argv[1] = strdup("-c");
	argv[2] = strdup(cmd);
	if (argv[0] == NULL || argv[1] == NULL || argv[2] == NULL) {
		exec_argv_free(argv);
		return NULL;
	}
	return argv;
}

static int
is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

int
exec_check(char *const *argv, const char **hint)
{
	const char *name = argv[0], *path = getenv("PATH");
	char buf[4096];

	*hint = " in PATH";
	if (name == NULL) {
		return -1;
	}
	if (strchr(name, '/') != NULL) {
		*hint = " (or not executable)";
		return is_executable(name) ? 0 : -1;
	}
	if (path == NULL) {
		path = "/usr/bin:/bin";
	}
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		int len = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)n, path,
		    n > 0 ? "/" : "", name);
		if (len > 0 && (size_t)len < sizeof(buf) &&
		    is_executable(buf)) {
			return 0;
		}
		path += n;
		if (*path == ':') {
			path++;
		}
	}
	return -1;
}

static void
on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	struct exec *x = arg;
	int st;
	pid_t pid;

	(void)fd;
	(void)what;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		char why[64];

		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			x->fn((long)pid, NULL, x->userdata);
			continue;
		}
		if (WIFEXITED(st)) {
			snprintf(why, sizeof(why), "exited with status %d",
			    WEXITSTATUS(st));
		} else if (WIFSIGNALED(st)) {
			snprintf(why, sizeof(why), "was killed by signal %d",
			    WTERMSIG(st));
		} else {
			snprintf(why, sizeof(why), "ended");
		}
		x->fn((long)pid, why, x->userdata);
	}
}

int
exec_new(struct exec **out, struct event_base *base, exec_exit_fn fn,
    void *userdata)
{
	struct exec *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		return HVS_ENOMEM;
	}
	x->fn = fn;
	x->userdata = userdata;
	x->ev_chld = evsignal_new(base, SIGCHLD, on_sigchld, x);
	if (x->ev_chld == NULL || evsignal_add(x->ev_chld, NULL) < 0) {
		exec_free(x);
		return HVS_ENOMEM;
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
	if (x->ev_chld != NULL) {
		event_free(x->ev_chld);
	}
	free(x);
}

void
exec_kill(struct exec *x, long pid, int sig)
{
	(void)x;
	kill((pid_t)pid, sig);
}

long
exec_spawn(struct exec *x, const struct options *o, hvs_sock_t sock,
    const char *peer, const char *local)
{
	sigset_t all, old;
	pid_t pid;
	int rc;

	(void)x;
	/* The child must see an ordinary blocking descriptor. */
	rc = hvs_set_nonblock(sock, 0);
	if (rc < 0) {
		hvs_close(sock);
		return rc;
	}
	/* No signal handler of ours may run in the child before exec. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		hvs_close(sock);
		return hvs_translate_sys_error(e);
	}
	if (pid == 0) {
		static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGCHLD,
		    SIGHUP, SIGQUIT};
		sigset_t none;

		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			signal(sigs[i], SIG_DFL);
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sock, STDIN_FILENO) < 0 ||
		    dup2(sock, STDOUT_FILENO) < 0) {
			fprintf(stderr, "%s: -e: dup2: %s\n", hvc_progname,
			    strerror(errno));
			_exit(127);
		}
		if (sock > STDERR_FILENO) {
			close(sock);
		}
		/* ncat's variables, under our name. */
		if (peer != NULL) {
			setenv("HVCAT_PEER", peer, 1);
		}
		if (local != NULL) {
			setenv("HVCAT_LOCAL", local, 1);
		}
		execvp(o->exec_argv[0], o->exec_argv);
		fprintf(stderr, "%s: cannot run '%s': %s\n", hvc_progname,
		    o->exec_argv[0], strerror(errno));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	hvs_close(sock); /* the child has its own copy */
	return (long)pid;
}
