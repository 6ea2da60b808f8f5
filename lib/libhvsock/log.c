/* SPDX-License-Identifier: MIT */
/*
 * The library never prints: messages go to the application's callback, or
 * nowhere.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static hvs_log_fn log_fn;
static hvs_log_level_t log_max = HVS_LOG_WARN;
static void *log_userdata;

void
hvs_set_log(hvs_log_fn fn, hvs_log_level_t max_level, void *userdata)
{
	log_fn = fn;
	log_max = max_level;
	log_userdata = userdata;
}

void
hvs__log(hvs_log_level_t level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (log_fn == NULL || level > log_max) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_userdata);
}
