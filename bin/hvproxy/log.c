/* SPDX-License-Identifier: MIT */
/*
 * Logging: standard error by default, a file (--log-file, log-file =) or
 * syslog on request. A log file gets one line per record, appended and
 * flushed as it is written, each with its time (UTC) and process id:
 * "2026-01-31T12:00:00Z hvproxy[42]: warning: ...".
 *
 * Under systemd, standard error is often the journal (JOURNAL_STREAM names
 * it); then each line carries a "<N>" priority prefix that journald turns
 * into the message's priority, and no program name (journald adds it).
 * Elsewhere a line reads "hvproxy: warning: ...".
 *
 * A Windows service also sends its warnings and errors to the Event Log
 * (a sink added by win/service.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hvproxy.h"
#include "os.h"

static int log_level = HVP_LOG_WARN;
static int log_syslog;
static int log_journal;
static FILE *log_file;
/* A sink beside the others (the Windows Event Log), for messages up to
 * log_sink_max. */
static void (*log_sink)(int level, const char *msg);
static int log_sink_max;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void
hvp_log_init(int level)
{
	log_level = level;
	log_journal = hvp_os_stderr_is_journal();
}

void
hvp_log_set_level(int level)
{
	log_level = level;
	hvp_log_route_library();
}

int
hvp_log_level(void)
{
	return log_level;
}

int
hvp_log_on(int level)
{
	return level <= log_level;
}

const char *
hvp_log_level_name(int level)
{
	return level >= 0 &&
		(size_t)level < sizeof(level_names) / sizeof(level_names[0])
	    ? level_names[level]
	    : "?";
}

int
hvp_log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcmp(s, level_names[i]) == 0) {
			return (int)i;
		}
	}
	if (strcmp(s, "warn") == 0) {
		return HVP_LOG_WARN;
	}
	return -1;
}

void
hvp_log_use_syslog(void)
{
	hvp_os_syslog_open();
	log_syslog = 1;
}

int
hvp_log_use_file(const char *path)
{
	FILE *fp = hvp_os_log_file_open(path);

	if (fp == NULL) {
		hvp_err("log-file %s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	log_file = fp;
	return 0;
}

void
hvp_log_add_sink(void (*fn)(int level, const char *msg), int max_level)
{
	log_sink = fn;
	log_sink_max = max_level;
}

void
hvp_log_close(void)
{
	if (log_file != NULL) {
		fclose(log_file);
		log_file = NULL;
	}
}

static void vlog(int level, const char *fmt, va_list ap) HVP_PRINTF(2, 0);

static void
vlog(int level, const char *fmt, va_list ap)
{
	/* syslog's priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
	static const int sys_prio[] = {3, 4, 6, 7};
	char msg[2048];

	if (level > log_level) {
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_sink != NULL && level <= log_sink_max) {
		log_sink(level, msg);
	}
	if (log_syslog) {
		hvp_os_syslog(level, msg);
	} else if (log_file != NULL) {
		char when[32] = "-";
		time_t now = time(NULL);
		struct tm *tm = gmtime(&now);

		if (tm != NULL) {
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", tm);
		}
		fprintf(log_file, "%s hvproxy[%ld]: %s%s%s\n", when,
		    (long)getpid(),
		    level <= HVP_LOG_WARN ? level_names[level] : "",
		    level <= HVP_LOG_WARN ? ": " : "", msg);
		fflush(log_file);
	} else if (log_journal) {
		fprintf(stderr, "<%d>%s\n", sys_prio[level], msg);
	} else if (level <= HVP_LOG_WARN) {
		fprintf(stderr, "hvproxy: %s: %s\n", level_names[level], msg);
	} else {
		fprintf(stderr, "hvproxy: %s\n", msg);
	}
}

void
hvp_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static void
library_log(hvs_log_level_t level, const char *msg, void *userdata)
{
	hvp_log((int)level, "libhvsock: %s", msg);
}

void
hvp_log_route_library(void)
{
	/* The library's levels have the same numbers as ours. */
	hvs_set_log(library_log, (hvs_log_level_t)log_level, NULL);
}
