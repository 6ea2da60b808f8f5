/* SPDX-License-Identifier: MIT */
/*
 * -e PROG / -c CMD: a program talks to the peer directly, the connection
 * as its standard input and output (stderr stays hvcat's). Like ncat:
 * -e splits PROG at blanks and runs it without a shell; -c runs CMD with
 * /bin/sh -c. hvcat only starts the child: no byte passes through it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvcat.h"

char **
exec_argv_split(const char *prog)
{
	size_t n = 0, cap = 4;
	char **argv = calloc(cap, sizeof(*argv));
	const char *p = prog;

	if (argv == NULL) {
		return NULL;
	}
	for (;;) {
		size_t len;
		p += strspn(p, " \t\n");
		if (*p == '\0') {
			break;
		}
		len = strcspn(p, " \t\n");
		if (n + 2 > cap) {
			char **grown = realloc(argv, 2 * cap * sizeof(*argv));
			if (grown == NULL) {
				exec_argv_free(argv);
				return NULL;
			}
			argv = grown;
			cap *= 2;
		}
		argv[n] = strndup(p, len);
		if (argv[n] == NULL) {
			exec_argv_free(argv);
			return NULL;
		}
		argv[++n] = NULL;
		p += len;
	}
	return argv;
}

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

void
exec_argv_free(char **argv)
{
	if (argv == NULL) {
		return;
	}
	for (size_t i = 0; argv[i] != NULL; i++) {
		free(argv[i]);
	}
	free(argv);
}

static int
is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

int
exec_check(char *const *argv)
{
	const char *name = argv[0], *path = getenv("PATH");
	char buf[4096];

	if (name == NULL) {
		return -1;
	}
	if (strchr(name, '/') != NULL) {
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

long
exec_spawn(const struct options *o, hvs_sock_t sock, const char *peer,
    const char *local)
{
	sigset_t all, old;
	pid_t pid;
	int rc;

	/* The child must see an ordinary blocking descriptor. */
	rc = hvs_set_nonblock(sock, 0);
	if (rc < 0) {
		return rc;
	}
	/* No signal handler of ours may run in the child before exec. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
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
	return (long)pid;
}
