/* SPDX-License-Identifier: MIT */
/*
 * Helpers both tools use (bin/common, prefix hvc_): allocation that cannot
 * fail (it ends the program with one line), the program's name for that
 * line, quoting of bytes for a one-line message (a bad argument, a name a
 * peer chose), a monotonic clock.
 */
#ifndef HVC_UTIL_H
#define HVC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__MINGW_PRINTF_FORMAT)
/* mingw-w64: the printf the C runtime headers chose (gnu_printf with
 * __USE_MINGW_ANSI_STDIO, which takes %zu and %llu). */
#define HVC_PRINTF(a, b) __attribute__((format(__MINGW_PRINTF_FORMAT, a, b)))
#define HVC_NORETURN __attribute__((noreturn))
#elif defined(__GNUC__)
#define HVC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define HVC_NORETURN __attribute__((noreturn))
#else
#define HVC_PRINTF(a, b)
#define HVC_NORETURN
#endif

/* The name messages start with: "hvcat", "hvproxy". */
extern const char *hvc_progname;
/* Take the name from @argv0 (its last path component). */
void hvc_set_progname(const char *argv0);

/* "PROGNAME: out of memory" on stderr, then abort(). */
HVC_NORETURN void hvc_out_of_memory(void);
/* calloc(), realloc() of @n elements, strdup(), vasprintf() that never
 * return NULL (a zero size is taken as one). */
void *hvc_xcalloc(size_t n, size_t size);
void *hvc_xreallocarray(void *p, size_t n, size_t size);
char *hvc_xstrdup(const char *s);
char *hvc_xasprintf(const char *fmt, ...) HVC_PRINTF(1, 2);
char *hvc_xvasprintf(const char *fmt, va_list ap) HVC_PRINTF(1, 0);

/* How much of a bad argument a message quotes, and a buffer that holds it
 * whatever the bytes (each may take four characters, "\xNN"). */
#define HVC_QUOTE_MAX 80
#define HVC_QUOTE_SIZE (4 * HVC_QUOTE_MAX + 8)
/*
 * Write @len bytes of @s to @buf for a one-line message: printable ASCII
 * as is, other bytes as \xNN, cut at HVC_QUOTE_MAX bytes with "...".
 */
void hvc_quote(const char *s, size_t len, char *buf, size_t size);

/* A buffer that holds hvc_escape()'s text of @n bytes in full. */
#define HVC_ESCAPE_SIZE(n) (4 * (n) + 1)
/*
 * Write @len bytes of @s to @buf for a log line or a program's
 * environment when a peer chose them (a unix client names its own
 * socket): printable ASCII as is, except the space, '"' and '\', and
 * every other byte (NUL, control characters, ESC, non-ASCII) as \xNN.
 * The text is one word on one line, with no terminal escape, and reads
 * back to the bytes without ambiguity. Nothing is cut unless @size is
 * below HVC_ESCAPE_SIZE(@len); then the text ends with "...".
 */
void hvc_escape(const char *s, size_t len, char *buf, size_t size);

/*
 * Make sure descriptors 0, 1 and 2 are open, before the program opens any
 * other: each one that is closed gets /dev/null (read and write; NUL on
 * Windows, where a stream the process was started without counts as
 * closed). Without
 * this, the first descriptor the program opens (its event loop's, a log
 * file, a socket) would take the number of a closed standard stream, and
 * be read from, written to or duplicated as if it were that stream.
 * If the null device cannot be opened, says so on stderr and exits with
 * @status. Returns which were closed: bit N for descriptor N.
 */
int hvc_reserve_stdio(int status);
/* What hvc_reserve_stdio() returned (0 before it ran). */
int hvc_stdio_closed(void);

/* Monotonic milliseconds. */
uint64_t hvc_now_ms(void);

#endif /* HVC_UTIL_H */
