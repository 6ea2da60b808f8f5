/* SPDX-License-Identifier: MIT */
/*
 * The configuration file: an INI file read with inih (Debian's libinih)
 * into the model of config.c.
 *
 *   [global]                      ; optional; keys before any section too
 *   max-conns = 4096              ; all forwards together
 *   max-conns-per-forward = 0     ; default for each forward, 0 = none
 *   max-conns-per-peer = 0        ; default for each forward, 0 = none
 *   connect-timeout = 5s
 *   idle-timeout = 0              ; 0 = none
 *   buffer = 1m                   ; bytes queued per direction
 *   drain-timeout = 30s
 *   log-level = warning           ; error | warning | info | debug
 *   syslog = no
 *   metrics = 127.0.0.1:9101
 *   user = hvproxy
 *   pidfile = /run/hvproxy.pid
 *
 *   [forward web]                 ; one section per forward
 *   listen = tcp:8080
 *   target = vsock:8080
 *   allow = 127.0.0.1, 10.0.0.0/8 ; peer CIDs, VM ids or IP networks
 *   max-conns = 100
 *   max-conns-per-peer = 10       ; one CID / VM / IP / local user
 *   connect-timeout = 2s
 *   idle-timeout = 10m
 *   buffer = 1m
 *
 * inih is handed the file line by line through our own reader, which
 * counts lines (so every error names FILE:LINE), refuses NUL bytes and
 * reports over-long lines instead of letting them be split. The syntax
 * itself is inih's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "hvproxy.h"

#define NAME_MAX_LEN 64

/* ---- the INI file ------------------------------------------------------ */

/* Extra lines kept per forward (where its keys were). */
struct fwd_lines {
	struct hvp_fwd_conf *fc;
	int listen_line;
	int target_line;
	int allow_line;
};

struct file_error {
	int line;
	char *msg;
};

enum section_kind { SEC_GLOBAL, SEC_FORWARD, SEC_BAD };

struct loader {
	struct hvp_config *cfg;
	struct hvp_globals g; /* [global] as the file says */
	const char *file;
	FILE *fp;
	int line;
	char *getline_buf;
	size_t getline_cap;
	char *section; /* the section of the last key seen */
	enum section_kind kind;
	struct fwd_lines *cur;
	struct fwd_lines *lines;
	size_t nlines;
	struct file_error *errs;
	size_t nerrs;
	/* inih reports only the first syntax error of a pass: the file is
	 * read again with the lines already reported blanked out. */
	int pass;
	int header_line; /* the line of the last [section] header */
	unsigned headers; /* [section] headers read so far */
	unsigned key_headers; /* ... when the last key was seen */
	int *blank;
	size_t nblank;
};

static void file_error(struct loader *L, int line, const char *fmt, ...)
    HVP_PRINTF(3, 4);

static void
file_error(struct loader *L, int line, const char *fmt, ...)
{
	va_list ap;

	L->errs = hvc_xreallocarray(L->errs, L->nerrs + 1, sizeof(*L->errs));
	va_start(ap, fmt);
	L->errs[L->nerrs].line = line;
	L->errs[L->nerrs].msg = hvc_xvasprintf(fmt, ap);
	L->nerrs++;
	va_end(ap);
}

/*
 * inih's reader: one line per call, counted. A line that does not fit
 * inih's buffer would be split into two lines by inih, so it is reported
 * here and handed over empty.
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct loader *L = stream;
	ssize_t n;
	size_t len;

	n = getline(&L->getline_buf, &L->getline_cap, L->fp);
	if (n < 0) {
		return NULL;
	}
	L->line++;
	len = (size_t)n;
	for (size_t i = 0; i < L->nblank; i++) {
		if (L->blank[i] == L->line) {
			str[0] = '\0';
			return str;
		}
	}
	if (memchr(L->getline_buf, '\0', len) != NULL) {
		if (L->pass == 0) {
			file_error(L, L->line, "line contains a NUL byte");
		}
		str[0] = '\0';
		return str;
	}
	while (len > 0 &&
	    (L->getline_buf[len - 1] == '\n' ||
		L->getline_buf[len - 1] == '\r')) {
		len--;
	}
	/* inih needs room for "\r\n\0". */
	if (num < 4 || len > (size_t)num - 3) {
		if (L->pass == 0) {
			file_error(L, L->line,
			    "line is too long (at most %d "
			    "characters)",
			    num - 3);
		}
		str[0] = '\0';
		return str;
	}
	/* Only to know where a section starts (inih does not say): the
	 * line itself is inih's to parse. */
	{
		size_t k = strspn(L->getline_buf, " \t");

		if (k < len && L->getline_buf[k] == '[') {
			L->header_line = L->line;
			L->headers++;
		}
	}
	memcpy(str, L->getline_buf, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.') {
			return 0;
		}
	}
	return 1;
}

static void
start_section(struct loader *L, const char *section)
{
	/* Keys before any header belong to [global]. */
	int hl =
	    section[0] != '\0' && L->header_line > 0 ? L->header_line : L->line;

	free(L->section);
	L->section = hvc_xstrdup(section);
	L->cur = NULL;
	if (section[0] == '\0' || strcmp(section, "global") == 0) {
		L->kind = SEC_GLOBAL;
		return;
	}
	if (strncmp(section, "forward", 7) == 0 &&
	    (section[7] == ' ' || section[7] == '\t' || section[7] == '\0')) {
		const char *name = section + 7;
		char where[600];

		while (*name == ' ' || *name == '\t') {
			name++;
		}
		L->kind = SEC_BAD;
		if (!valid_name(name)) {
			file_error(L, hl,
			    "[%s]: a forward needs a name "
			    "of 1 to %d letters, digits, '-', '_' or '.' "
			    "([forward NAME])",
			    section, NAME_MAX_LEN);
			return;
		}
		for (size_t i = 0; i < L->nlines; i++) {
			if (strcmp(L->lines[i].fc->name, name) == 0) {
				file_error(L, hl,
				    "[forward %s] is "
				    "defined twice (first at line %d)",
				    name, L->lines[i].fc->line);
				return;
			}
		}
		snprintf(where, sizeof(where), "%s:%d", L->file, hl);
		L->lines = hvc_xreallocarray(L->lines, L->nlines + 1,
		    sizeof(*L->lines));
		L->cur = &L->lines[L->nlines++];
		memset(L->cur, 0, sizeof(*L->cur));
		L->cur->fc = hvp_fwd_conf_new(name, where, hl);
		L->kind = SEC_FORWARD;
		return;
	}
	L->kind = SEC_BAD;
	file_error(L, hl,
	    "unknown section [%s] (expected [global] or "
	    "[forward NAME])",
	    section);
}

/* Per-forward settings shared by [global] and [forward NAME]. Returns 1 if
 * @name was one of them, 0 if not. */
static int
fwd_setting(struct loader *L, struct hvp_fwd_defaults *d, unsigned *set,
    const char *name, const char *value, int is_global)
{
	char why[HVC_WHY_SIZE];
	uint64_t v;
	unsigned bit;
	const char *key = name;

	if (strcmp(name, is_global ? "max-conns-per-forward" : "max-conns") ==
	    0) {
		bit = HVP_SET_MAX_CONNS;
	} else if (strcmp(name, "max-conns-per-peer") == 0) {
		bit = HVP_SET_MAX_CONNS_PEER;
	} else if (strcmp(name, "connect-timeout") == 0) {
		bit = HVP_SET_CONNECT_TIMEOUT;
	} else if (strcmp(name, "idle-timeout") == 0) {
		bit = HVP_SET_IDLE_TIMEOUT;
	} else if (strcmp(name, "buffer") == 0) {
		bit = HVP_SET_BUFFER;
	} else {
		return 0;
	}
	if (*set & bit) {
		file_error(L, L->line, "%s is given twice in [%s]", key,
		    L->section[0] != '\0' ? L->section : "global");
		return 1;
	}
	*set |= bit;
	switch (bit) {
	case HVP_SET_MAX_CONNS:
	case HVP_SET_MAX_CONNS_PEER:
		if (hvc_parse_uint(value, 0, HVP_MAX_CONNS_LIMIT, &v, why,
			sizeof(why)) != 0) {
			file_error(L, L->line, "%s = %s: %s", key, value, why);
		} else if (bit == HVP_SET_MAX_CONNS) {
			d->max_conns = (unsigned)v;
		} else {
			d->max_conns_peer = (unsigned)v;
		}
		break;
	case HVP_SET_CONNECT_TIMEOUT:
		if (hvc_parse_duration(value, 0, &d->connect_timeout_ms, why,
			sizeof(why)) != 0) {
			file_error(L, L->line, "%s = %s: %s", key, value, why);
		}
		break;
	case HVP_SET_IDLE_TIMEOUT:
		if (hvc_parse_duration(value, 1, &d->idle_timeout_ms, why,
			sizeof(why)) != 0) {
			file_error(L, L->line, "%s = %s: %s", key, value, why);
		}
		break;
	case HVP_SET_BUFFER:
		if (hvc_parse_size(value, HVC_BUFFER_MIN, HVC_BUFFER_MAX,
			&d->buffer, why, sizeof(why)) != 0) {
			file_error(L, L->line, "%s = %s: %s", key, value, why);
		}
		break;
	}
	return 1;
}

static void
set_string(struct loader *L, char **dst, unsigned *set, unsigned bit,
    const char *name, const char *value)
{
	if (*set & bit) {
		file_error(L, L->line, "%s is given twice in [global]", name);
		return;
	}
	*set |= bit;
	*dst = hvc_xstrdup(value);
}

static void
global_key(struct loader *L, const char *name, const char *value)
{
	struct hvp_globals *g = &L->g;
	char why[HVC_WHY_SIZE];
	uint64_t v;
	int lvl;

	if (fwd_setting(L, &g->fwd, &g->fwd_set, name, value, 1)) {
		return;
	}
	if (strcmp(name, "max-conns") == 0) {
		if (g->set & HVP_SET_MAX_CONNS_TOTAL) {
			file_error(L, L->line,
			    "max-conns is given twice in "
			    "[global]");
		} else if (hvc_parse_uint(value, 0, HVP_MAX_CONNS_LIMIT, &v,
			       why, sizeof(why)) != 0) {
			file_error(L, L->line, "max-conns = %s: %s", value,
			    why);
		} else {
			g->max_conns = (unsigned)v;
		}
		g->set |= HVP_SET_MAX_CONNS_TOTAL;
	} else if (strcmp(name, "drain-timeout") == 0) {
		if (g->set & HVP_SET_DRAIN_TIMEOUT) {
			file_error(L, L->line,
			    "drain-timeout is given twice "
			    "in [global]");
		} else if (hvc_parse_duration(value, 1, &g->drain_timeout_ms,
			       why, sizeof(why)) != 0) {
			file_error(L, L->line, "drain-timeout = %s: %s", value,
			    why);
		}
		g->set |= HVP_SET_DRAIN_TIMEOUT;
	} else if (strcmp(name, "wsl-poll") == 0) {
		if (g->set & HVP_SET_WSL_POLL) {
			file_error(L, L->line,
			    "wsl-poll is given twice in "
			    "[global]");
		} else if (hvc_parse_duration(value, 0, &g->wsl_poll_ms, why,
			       sizeof(why)) != 0) {
			file_error(L, L->line, "wsl-poll = %s: %s", value, why);
		}
		g->set |= HVP_SET_WSL_POLL;
	} else if (strcmp(name, "log-level") == 0) {
		lvl = hvp_log_level_parse(value);
		if (g->set & HVP_SET_LOG_LEVEL) {
			file_error(L, L->line,
			    "log-level is given twice in "
			    "[global]");
		} else if (lvl < 0) {
			file_error(L, L->line,
			    "log-level = %s: expected "
			    "error, warning, info or debug",
			    value);
		} else {
			g->log_level = lvl;
		}
		g->set |= HVP_SET_LOG_LEVEL;
	} else if (strcmp(name, "syslog") == 0) {
		if (g->set & HVP_SET_SYSLOG) {
			file_error(L, L->line,
			    "syslog is given twice in "
			    "[global]");
		} else if (hvc_parse_bool(value, &g->use_syslog, why,
			       sizeof(why)) != 0) {
			file_error(L, L->line, "syslog = %s: %s", value, why);
		}
		g->set |= HVP_SET_SYSLOG;
	} else if (strcmp(name, "metrics") == 0) {
		set_string(L, &g->metrics, &g->set, HVP_SET_METRICS, name,
		    value);
	} else if (strcmp(name, "user") == 0) {
		set_string(L, &g->user, &g->set, HVP_SET_USER, name, value);
	} else if (strcmp(name, "pidfile") == 0) {
		set_string(L, &g->pidfile, &g->set, HVP_SET_PIDFILE, name,
		    value);
	} else {
		file_error(L, L->line,
		    "unknown key '%s' in [global] "
		    "(expected max-conns, max-conns-per-forward, "
		    "max-conns-per-peer, connect-timeout, idle-timeout, "
		    "buffer, drain-timeout, "
		    "log-level, syslog, metrics, user, pidfile or wsl-poll)",
		    name);
	}
}

static void
forward_key(struct loader *L, const char *name, const char *value)
{
	struct fwd_lines *cur = L->cur;
	struct hvp_fwd_conf *fc = cur->fc;
	char msg[1400];

	if (fwd_setting(L, &fc->lim, &fc->set, name, value, 0)) {
		return;
	}
	if (strcmp(name, "listen") == 0 || strcmp(name, "target") == 0) {
		int is_listen = name[0] == 'l';
		int *line = is_listen ? &cur->listen_line : &cur->target_line;
		hvs_addr_t *a = is_listen ? &fc->listen : &fc->target;

		if (*line != 0) {
			file_error(L, L->line,
			    "%s is given twice in "
			    "[forward %s] (first at line %d)",
			    name, fc->name, *line);
			return;
		}
		*line = L->line;
		if (hvp_conf_parse_addr(a, value,
			is_listen ? HVS_ROLE_LISTEN : HVS_ROLE_CONNECT, msg,
			sizeof(msg)) != 0) {
			file_error(L, L->line, "%s: %s", name, msg);
			a->kind = HVS_ADDR_NONE;
		}
		return;
	}
	if (strcmp(name, "allow") == 0) {
		/* Several allow= lines add up. */
		if (cur->allow_line == 0) {
			cur->allow_line = L->line;
		}
		if (hvp_conf_add_allow(fc, value, msg, sizeof(msg)) != 0) {
			file_error(L, L->line, "%s", msg);
		}
		return;
	}
	file_error(L, L->line,
	    "unknown key '%s' in [forward %s] (expected "
	    "listen, target, allow, max-conns, max-conns-per-peer, "
	    "connect-timeout, idle-timeout or buffer)",
	    name, fc->name);
}

static int
on_ini_key(void *user, const char *section, const char *name, const char *value)
{
	struct loader *L = user;

	if (L->pass > 0) {
		return 1;
	}
	/* A new section: another name, or the same name again after a
	 * header ([forward a] twice in a row). */
	if (L->section == NULL || strcmp(L->section, section) != 0 ||
	    L->headers != L->key_headers) {
		L->key_headers = L->headers;
		start_section(L, section);
	}
	switch (L->kind) {
	case SEC_GLOBAL:
		global_key(L, name, value);
		break;
	case SEC_FORWARD:
		forward_key(L, name, value);
		break;
	case SEC_BAD:
		/* Reported once, at the section's first key. */
		break;
	}
	/* Our own errors are collected with their lines: whatever inih
	 * returns is then a syntax error. */
	return 1;
}

static int
cmp_file_error(const void *a, const void *b)
{
	const struct file_error *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

/* Validation's reports (config.c) land among the file's errors. */
static void
report_at_line(void *arg, int line, const char *msg)
{
	file_error(arg, line, "%s", msg);
}

int
hvp_config_perm_check(const struct stat *st, unsigned long euid, char *why,
    size_t size)
{
	if (st->st_mode & S_IWOTH) {
		snprintf(why, size,
		    "is writable by every user (mode %04o): anyone could "
		    "change the forwards (chmod o-w)",
		    (unsigned)(st->st_mode & 07777));
		return -1;
	}
	if (euid != 0) {
		return 0;
	}
	if (st->st_uid != 0) {
		snprintf(why, size,
		    "belongs to uid %lu, and hvproxy runs as root: that user "
		    "could change the forwards (chown root)",
		    (unsigned long)st->st_uid);
		return -1;
	}
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0) {
		snprintf(why, size,
		    "is writable by group %lu (mode %04o), and hvproxy runs "
		    "as root (chmod g-w)",
		    (unsigned long)st->st_gid, (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

int
hvp_conf_file_load(struct hvp_config *c, struct hvp_globals *fileg,
    const char *file, const char *text, size_t text_len,
    struct hvp_errors *errs)
{
	static char empty[] = "\n";
	struct loader L;
	struct stat st;
	char why[256];
	int r;

	memset(&L, 0, sizeof(L));
	L.cfg = c;
	L.file = file;
	if (text != NULL) {
		/* The same reader as for a file, on a copy in memory. */
		L.fp = text_len == 0 ? fmemopen(empty, 1, "r")
				     : fmemopen((void *)text, text_len, "r");
	} else {
		L.fp = fopen(file, "re");
	}
	if (L.fp == NULL) {
		hvp_errors_add(errs, "%s: cannot open: %s", file,
		    strerror(errno));
		return -1;
	}
	if (text == NULL && fstat(fileno(L.fp), &st) == 0 &&
	    hvp_config_perm_check(&st, (unsigned long)geteuid(), why,
		sizeof(why)) != 0) {
		hvp_errors_add(errs, "%s: refused: the file %s", file, why);
		fclose(L.fp);
		return -1;
	}
#ifdef HVP_INIH_RUNTIME_OPTS
	/* Debian's inih makes these run-time settings. Continuation lines
	 * would turn an indented "key = value" into part of the previous
	 * value; several allow= lines are the way to split a long list. */
	ini_allow_multiline = 0;
#endif
	for (;;) {
		r = ini_parse_stream(read_line, &L, on_ini_key, &L);
		if (ferror(L.fp)) {
			file_error(&L, L.line, "read error: %s",
			    strerror(errno));
			break;
		}
		if (r < 0) {
			file_error(&L, 0, "cannot read: out of memory");
			break;
		}
		if (r == 0) {
			break;
		}
		file_error(&L, r,
		    "syntax error (expected [section], "
		    "key = value, or a comment starting with # or ;)");
		/* Enough is enough: 20 syntax errors say it all. */
		if (L.nblank >= 20) {
			break;
		}
		L.blank =
		    hvc_xreallocarray(L.blank, L.nblank + 1, sizeof(*L.blank));
		L.blank[L.nblank++] = r;
		L.pass++;
		L.line = 0;
		rewind(L.fp);
	}
	free(L.blank);
	fclose(L.fp);

	/* Per-forward checks that need the whole section. */
	for (size_t i = 0; i < L.nlines; i++) {
		struct fwd_lines *fl = &L.lines[i];
		struct hvp_fwd_conf *fc = fl->fc;

		if (fl->listen_line == 0) {
			file_error(&L, fc->line,
			    "[forward %s] has no listen= "
			    "(the address to accept connections on)",
			    fc->name);
		}
		if (fl->target_line == 0) {
			file_error(&L, fc->line,
			    "[forward %s] has no target= "
			    "(the address to connect each connection to)",
			    fc->name);
		}
	}

	/* Hand the forwards over; checks that look at several forwards
	 * report at the lines of the keys concerned. */
	for (size_t i = 0; i < L.nlines; i++) {
		struct fwd_lines *fl = &L.lines[i];
		struct hvp_vwhere w;

		memset(&w, 0, sizeof(w));
		w.report = report_at_line;
		w.arg = &L;
		w.line[HVP_V_LISTEN] = fl->listen_line;
		w.line[HVP_V_ALLOW] = fl->allow_line;
		w.line[HVP_V_FWD] = fl->fc->line;
		hvp_config_add_fwd(c, fl->fc);
		if (fl->listen_line != 0 && fl->target_line != 0 &&
		    fl->fc->listen.kind != HVS_ADDR_NONE &&
		    fl->fc->target.kind != HVS_ADDR_NONE) {
			hvp_conf_validate_fwd(c, fl->fc, &w);
		}
	}

	/* qsort(NULL, 0, ...) is undefined (its pointer is nonnull): a file
	 * without errors has no array (found by fuzz/fuzz_config.c). */
	if (L.nerrs > 0) {
		qsort(L.errs, L.nerrs, sizeof(L.errs[0]), cmp_file_error);
	}
	for (size_t i = 0; i < L.nerrs; i++) {
		if (L.errs[i].line > 0) {
			hvp_errors_add(errs, "%s:%d: %s", file, L.errs[i].line,
			    L.errs[i].msg);
		} else {
			hvp_errors_add(errs, "%s: %s", file, L.errs[i].msg);
		}
		free(L.errs[i].msg);
	}
	free(L.errs);

	free(L.lines);
	free(L.section);
	free(L.getline_buf);
	*fileg = L.g;
	return 0;
}
