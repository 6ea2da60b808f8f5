/* SPDX-License-Identifier: MIT */
/*
 * Helpers both tools use: see util.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/os.h"
#include "common/util.h"

const char *hvc_progname = "hvsock";

void
hvc_set_progname(const char *argv0)
{
	if (argv0 == NULL || *argv0 == '\0') {
		return;
	}
	hvc_progname = hvc__os_progname(argv0);
}

void
hvc_out_of_memory(void)
{
	fprintf(stderr, "%s: out of memory\n", hvc_progname);
	abort();
}

void *
hvc_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL) {
		hvc_out_of_memory();
	}
	return p;
}

void *
hvc_xreallocarray(void *p, size_t n, size_t size)
{
	void *q;

	if (n == 0) {
		n = 1;
	}
	if (size == 0) {
		size = 1;
	}
	if (n > SIZE_MAX / size || (q = realloc(p, n * size)) == NULL) {
		hvc_out_of_memory();
	}
	return q;
}

char *
hvc_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		hvc_out_of_memory();
	}
	return p;
}

char *
hvc_xvasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	char *p;
	int n;

	/* vsnprintf() twice rather than vasprintf(), which not every C
	 * library has. */
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		hvc_out_of_memory();
	}
	p = hvc_xcalloc((size_t)n + 1, 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
hvc_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = hvc_xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

/* A byte that hvc_quote() (@strict 0) or hvc_escape() (@strict 1) writes
 * as \xNN. */
static int
needs_escape(unsigned char c, int strict)
{
	if (c < 0x20 || c >= 0x7f) {
		return 1;
	}
	return strict && (c == ' ' || c == '"' || c == '\\');
}

/* @len bytes of @s, cut at @max bytes with "..." (@max 0: no limit), and
 * where @size ends (with "..." too). */
static void
write_escaped(const char *s, size_t len, char *buf, size_t size, size_t max,
    int strict)
{
	size_t o = 0, need = 0;
	int cut = max != 0 && len > max;

	if (size == 0) {
		return;
	}
	if (cut) {
		len = max;
	}
	for (size_t i = 0; i < len; i++) {
		need += needs_escape((unsigned char)s[i], strict) ? 4 : 1;
	}
	if (need >= size) {
		cut = 1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Cut: keep room for an escape (4), "..." and the NUL. */
		if (cut && o + 8 >= size) {
			break;
		}
		if (needs_escape(c, strict)) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (cut && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

void
hvc_quote(const char *s, size_t len, char *buf, size_t size)
{
	write_escaped(s, len, buf, size, HVC_QUOTE_MAX, 0);
}

void
hvc_escape(const char *s, size_t len, char *buf, size_t size)
{
	write_escaped(s, len, buf, size, 0, 1);
}

static int stdio_closed;

int
hvc_reserve_stdio(int status)
{
	static const char *const name[] = {"input", "output", "error"};

	for (int fd = 0; fd <= 2; fd++) {
		int e;

		if (!hvc__os_fd_closed(fd)) {
			continue;
		}
		if ((e = hvc__os_open_null(fd)) != 0) {
			fprintf(stderr,
			    "%s: standard %s is closed and %s cannot be "
			    "opened in its place: %s\n",
			    hvc_progname, name[fd], hvc__os_null_name(),
			    strerror(e));
			exit(status);
		}
		stdio_closed |= 1 << fd;
	}
	return stdio_closed;
}

int
hvc_stdio_closed(void)
{
	return stdio_closed;
}

uint64_t
hvc_now_ms(void)
{
	return hvc__os_now_ms();
}
