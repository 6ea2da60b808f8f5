/* SPDX-License-Identifier: MIT */
/*
 * Logging: standard error by default, syslog on request.
 *
 * Under systemd, standard error is often the journal (JOURNAL_STREAM names
 * it); then each line carries a "<N>" priority prefix that journald turns
 * into the message's priority, and no program name (journald adds it).
 * Elsewhere a line reads "hvproxy: warning: ...".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "hvproxy.h"

static int log_level = HVP_LOG_WARN;
static int log_syslog;
static int log_journal;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

/* 1 if fd 2 is the stream JOURNAL_STREAM ("DEV:INODE") names. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2) {
		return 0;
	}
	if (fstat(STDERR_FILENO, &st) != 0) {
		return 0;
	}
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
hvp_log_init(int level)
{
	log_level = level;
	log_journal = stderr_is_journal();
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
	/* LOG_NDELAY: connect now, while the root directory and the user
	 * are still the ones that can reach /dev/log. */
	openlog("hvproxy", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

static void vlog(int level, const char *fmt, va_list ap) HVP_PRINTF(2, 0);

static void
vlog(int level, const char *fmt, va_list ap)
{
	static const int sys_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
	    LOG_DEBUG};
	char msg[2048];

	if (level > log_level) {
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		syslog(sys_prio[level], "%s", msg);
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
