/* SPDX-License-Identifier: MIT */
/*
 * -e PROG / -c CMD: a program talks to the peer directly, the connection
 * as its standard input and output (stderr stays hvcat's). Like ncat:
 * -e splits PROG at blanks and runs it without a shell; -c runs CMD with
 * the system's shell (/bin/sh -c, cmd.exe /c). Starting and watching the
 * children is the system's part (posix/exec.c, win/exec.c).
 */
#include <stdlib.h>
#include <string.h>

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
		argv[n] = malloc(len + 1);
		if (argv[n] == NULL) {
			exec_argv_free(argv);
			return NULL;
		}
		memcpy(argv[n], p, len);
		argv[n][len] = '\0';
		argv[++n] = NULL;
		p += len;
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
