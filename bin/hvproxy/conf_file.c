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
 *   log-file = /var/log/hvproxy.log ; instead of standard error
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
 * The file is opened without blocking and only if it is a regular file
 * (a FIFO at the path would stall start-up, --check and a reload), is at
 * most HVP_CONF_MAX_SIZE bytes, and is read line by line by our own
 * reader with a fixed buffer: every error names FILE:LINE, a line longer
 * than HVP_CONF_LINE_MAX characters or with a NUL byte is reported (and
 * never held in memory whole), and at most HVP_CONF_MAX_ERRORS problems
 * are collected. The reader also takes the section headers itself, so
 * that forward names are not cut at inih's section buffer (50 bytes),
 * reports syntax errors itself (all of them, in one pass), and refuses
 * "key: value", which inih would take. inih parses the key = value
 * lines, which it is handed without their indentation: never as the
 * continuation of a previous line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "hvproxy.h"
#include "os.h"

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
	FILE *fp; /* the file, or NULL: */
	const char *text; /* @text_len bytes read from memory */
	size_t text_len, text_pos;
	int line;
	size_t bytes; /* read so far */
	int stop; /* too many errors, or the file is too large */
	char buf[HVP_CONF_LINE_MAX + 2];
	char *section; /* the section being read */
	enum section_kind kind;
	struct fwd_lines *cur;
	struct fwd_lines *lines;
	size_t nlines;
	struct file_error *errs;
	size_t nerrs;
	size_t dropped; /* errors beyond HVP_CONF_MAX_ERRORS */
};

static void file_error(struct loader *L, int line, const char *fmt, ...)
    HVP_PRINTF(3, 4);

static void
file_error(struct loader *L, int line, const char *fmt, ...)
{
	va_list ap;

	/* A file of garbage must not take memory in proportion. */
	if (L->nerrs >= HVP_CONF_MAX_ERRORS) {
		L->dropped++;
		L->stop = 1;
		return;
	}
	L->errs = hvc_xreallocarray(L->errs, L->nerrs + 1, sizeof(*L->errs));
	va_start(ap, fmt);
	L->errs[L->nerrs].line = line;
	L->errs[L->nerrs].msg = hvc_xvasprintf(fmt, ap);
	L->nerrs++;
	va_end(ap);
}

static void start_section(struct loader *L, const char *section);

/* inih's find_chars_or_comment(): the first of @chars, or an inline
 * comment (';' after white space), or the end. */
static const char *
find_chars_or_comment(const char *s, const char *chars)
{
	int was_space = 0;

	while (*s != '\0' && strchr(chars, *s) == NULL &&
	    !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/*
 * One line of the file into L->buf, at most HVP_CONF_LINE_MAX characters
 * kept (the rest is read and dropped). Returns its length without the
 * line end (the full length, also when longer than what was kept), or -1
 * at the end of the file; *@nul says whether it has a NUL byte.
 */
static long
next_line(struct loader *L, int *nul)
{
	size_t len = 0, kept = 0;
	int ch;

	*nul = 0;
	for (;;) {
		if (L->fp != NULL) {
			ch = getc(L->fp);
		} else if (L->text_pos < L->text_len) {
			ch = (unsigned char)L->text[L->text_pos++];
		} else {
			ch = EOF;
		}
		if (ch == EOF) {
			if (len == 0) {
				return -1;
			}
			break;
		}
		L->bytes++;
		if (ch == '\n') {
			break;
		}
		if (ch == '\0') {
			*nul = 1;
		}
		if (kept < sizeof(L->buf) - 1) {
			L->buf[kept++] = (char)ch;
		}
		len++;
		if (L->bytes > HVP_CONF_MAX_SIZE) {
			break;
		}
	}
	L->buf[kept] = '\0';
	if (len > 0 && len == kept && L->buf[len - 1] == '\r') {
		L->buf[--len] = '\0';
	}
	return (long)len;
}

/*
 * inih's reader: one line per call, counted. What inih is handed is a
 * key = value line, unindented, or an empty line for everything that is
 * ours: comments, section headers, lines with an error (reported here).
 */
static char *
read_line(char *str, int num, void *stream)
{
	struct loader *L = stream;
	size_t max = HVP_CONF_LINE_MAX;
	const char *p, *e;
	long n;
	int nul;

	if (num >= 4 && (size_t)num - 3 < max) {
		max = (size_t)num - 3;
	}
	if (L->stop) {
		return NULL;
	}
	n = next_line(L, &nul);
	if (n < 0) {
		return NULL;
	}
	L->line++;
	str[0] = '\0';
	if (L->bytes > HVP_CONF_MAX_SIZE) {
		file_error(L, L->line,
		    "the file is larger than %u MiB, the most a configuration "
		    "file may be (stopped reading here)",
		    HVP_CONF_MAX_SIZE / (1024u * 1024u));
		L->stop = 1;
		return NULL;
	}
	if (nul) {
		file_error(L, L->line, "line contains a NUL byte");
		return str;
	}
	if ((size_t)n > max) {
		file_error(L, L->line,
		    "line is too long (at most %zu characters)", max);
		return str;
	}
	p = L->buf;
	if (L->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3; /* a UTF-8 byte order mark */
	}
	while (isspace((unsigned char)*p)) {
		p++;
	}
	if (*p == '\0' || *p == '#' || *p == ';') {
		return str;
	}
	if (*p == '[') {
		e = find_chars_or_comment(p + 1, "]");
		if (*e != ']') {
			file_error(L, L->line,
			    "syntax error: a section header without its ']' "
			    "(expected [global] or [forward NAME])");
			return str;
		}
		{
			char section[sizeof(L->buf)];

			memcpy(section, p + 1, (size_t)(e - p - 1));
			section[e - p - 1] = '\0';
			start_section(L, section);
		}
		return str;
	}
	e = find_chars_or_comment(p, "=:");
	if (*e == ':') {
		const char *k = e;

		while (k > p && isspace((unsigned char)k[-1])) {
			k--;
		}
		e = k;
		file_error(L, L->line,
		    "syntax error: '%.*s:' (expected key = value: ':' does not "
		    "separate a key from its value)",
		    (int)(e - p), p);
		return str;
	}
	if (*e != '=') {
		file_error(L, L->line,
		    "syntax error (expected [section], key = value, or a "
		    "comment starting with # or ;)");
		return str;
	}
	n = (long)strlen(p);
	memcpy(str, p, (size_t)n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HVP_NAME_MAX) {
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

/* A [section] header, at line L->line. Keys before any header belong to
 * [global]. A forward named twice is found once the file is read. */
static void
start_section(struct loader *L, const char *section)
{
	int hl = L->line;

	free(L->section);
	L->section = hvc_xstrdup(section);
	L->cur = NULL;
	if (strcmp(section, "global") == 0) {
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
			    section, HVP_NAME_MAX);
			return;
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
	const char *na;
	uint64_t v;
	int lvl;

	if (fwd_setting(L, &g->fwd, &g->fwd_set, name, value, 1)) {
		return;
	}
	/* Not here (Windows: user, pidfile, syslog): refused, unless it
	 * asks for nothing (syslog = no). */
	if ((na = hvp_os_unavailable(name)) != NULL &&
	    !(strcmp(name, "syslog") == 0 &&
		hvc_parse_bool(value, &lvl, NULL, 0) == 0 && lvl == 0)) {
		file_error(L, L->line, "%s: %s", name, na);
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
	} else if (strcmp(name, "log-file") == 0) {
		if (value[0] == '\0') {
			file_error(L, L->line,
			    "log-file: empty (expected the path of a file; "
			    "leave log-file out to log to standard error)");
			return;
		}
		set_string(L, &g->log_file, &g->set, HVP_SET_LOG_FILE, name,
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
		    "log-level, log-file, syslog, metrics, user, pidfile or "
		    "wsl-poll)",
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
		if (is_listen) {
			fc->listen_line = L->line;
		}
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

	/* The reader follows the sections (inih never sees a header). */
	(void)section;
	switch (L->kind) {
	case SEC_GLOBAL:
		global_key(L, name, value);
		break;
	case SEC_FORWARD:
		forward_key(L, name, value);
		break;
	case SEC_BAD:
		/* Reported once, at its header. */
		break;
	}
	/* Our own errors are collected with their lines. */
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

static void
report_listener(void *arg, const struct hvp_fwd_conf *fc, const char *msg)
{
	file_error(arg, fc != NULL ? fc->listen_line : 0, "%s", msg);
}

static int
cmp_fwd_name(const void *a, const void *b)
{
	const struct fwd_lines *x = a, *y = b;
	int r = strcmp(x->fc->name, y->fc->name);

	return r != 0
	    ? r
	    : (x->fc->line > y->fc->line) - (x->fc->line < y->fc->line);
}

static int
cmp_fwd_line(const void *a, const void *b)
{
	const struct fwd_lines *x = a, *y = b;

	return (x->fc->line > y->fc->line) - (x->fc->line < y->fc->line);
}

/* A forward named twice: the later ones go (n log n, for big files). */
static void
drop_duplicates(struct loader *L)
{
	size_t n = 0;

	if (L->nlines < 2) {
		return;
	}
	qsort(L->lines, L->nlines, sizeof(*L->lines), cmp_fwd_name);
	for (size_t i = 0, first = 0; i < L->nlines; i++) {
		if (i > 0 &&
		    strcmp(L->lines[i].fc->name, L->lines[first].fc->name) ==
			0) {
			file_error(L, L->lines[i].fc->line,
			    "[forward %s] is defined twice (first at line %d)",
			    L->lines[i].fc->name, L->lines[first].fc->line);
			hvp_fwd_conf_unref(L->lines[i].fc);
			continue;
		}
		first = i;
		L->lines[n++] = L->lines[i];
	}
	L->nlines = n;
	qsort(L->lines, L->nlines, sizeof(*L->lines), cmp_fwd_line);
}

int
hvp_conf_file_load(struct hvp_config *c, struct hvp_globals *fileg,
    const char *file, const char *text, size_t text_len, int *keep_fd,
    struct hvp_errors *errs)
{
	struct loader L;
	int r, fd;

	memset(&L, 0, sizeof(L));
	L.cfg = c;
	L.file = file;
	if (text != NULL) {
		/* The same reader as for a file, on the bytes in memory. */
		L.text = text;
		L.text_len = text_len;
	} else {
		fd = hvp_os_conf_fd(file, keep_fd, errs);
		if (fd < 0) {
			return -1;
		}
		L.fp = fdopen(fd, "r");
		if (L.fp == NULL) {
			hvp_errors_add(errs, "%s: cannot read: %s", file,
			    strerror(errno));
			close(fd);
			return -1;
		}
	}
#ifdef HVP_INIH_RUNTIME_OPTS
	/* Debian's inih makes these run-time settings. The reader hands
	 * lines over unindented, so none could be taken for the
	 * continuation of the one before anyway; several allow= lines are
	 * the way to split a long list. */
	ini_allow_multiline = 0;
#endif
	L.section = hvc_xstrdup("global");
	L.kind = SEC_GLOBAL;
	r = ini_parse_stream(read_line, &L, on_ini_key, &L);
	if (L.fp != NULL && ferror(L.fp)) {
		file_error(&L, L.line, "read error: %s", strerror(errno));
	} else if (r < 0) {
		file_error(&L, 0, "cannot read: out of memory");
	} else if (r > 0) {
		/* The reader hands inih only lines it can parse. */
		file_error(&L, r,
		    "syntax error (expected [section], key = value, or a "
		    "comment starting with # or ;)");
	}
	if (L.fp != NULL) {
		fclose(L.fp);
	}
	drop_duplicates(&L);

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

	/* Listen addresses taken twice among the file's forwards (those of
	 * the command line and the metrics endpoint come in config.c). */
	hvp_conf_check_listeners(c, 0, NULL, report_listener, &L);

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
	if (L.dropped > 0) {
		hvp_errors_add(errs,
		    "%s: %zu more problems not shown (at most %d are "
		    "reported, and reading stopped there)",
		    file, L.dropped, HVP_CONF_MAX_ERRORS);
	}

	free(L.lines);
	free(L.section);
	*fileg = L.g;
	return 0;
}
