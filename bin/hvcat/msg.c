/* SPDX-License-Identifier: MIT */
/*
 * Messages to stderr, one line each, prefixed with the program's name.
 * The progress meter shares stderr: every message erases it first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvcat.h"

void
msg_init(const char *argv0)
{
	hvc_progname = "hvcat";
	hvc_set_progname(argv0);
}

static void vmsg(const char *fmt, va_list ap) HVCAT_PRINTF(1, 0);

static void
vmsg(const char *fmt, va_list ap)
{
	progress_hide();
	fprintf(stderr, "%s: ", hvc_progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
msg_verbose(const struct options *o, int level, const char *fmt, ...)
{
	va_list ap;

	if (o->verbose < level) {
		return;
	}
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
msg_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(status);
}

void
msg_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

static void
library_log(hvs_log_level_t level, const char *msg, void *userdata)
{
	static const char *const names[] = {"error", "warning", "info",
	    "debug"};
	const char *name = (unsigned)level < 4 ? names[level] : "log";

	(void)userdata;
	progress_hide();
	fprintf(stderr, "%s: libhvsock %s: %s\n", hvc_progname, name, msg);
}

void
msg_library_log(int verbose)
{
	if (verbose >= 2) {
		hvs_set_log(library_log,
		    verbose >= 3 ? HVS_LOG_DEBUG : HVS_LOG_INFO, NULL);
	} else {
		hvs_set_log(NULL, HVS_LOG_ERROR, NULL);
	}
}
