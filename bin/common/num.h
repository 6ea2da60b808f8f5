/* SPDX-License-Identifier: MIT */
/*
 * Numbers, durations, sizes and yes/no as both tools read them from the
 * command line and hvproxy from its file: one grammar, one set of bounds
 * checks, one wording of what is wrong.
 *
 *   whole numbers   decimal digits only: no sign, no blanks, no 0x
 *   durations       30 (seconds), 0.5 or .5 (up to three decimals), 1.5s,
 *                   500ms, 2m, 1h (decimals with s, m and h, not ms);
 *                   at most HVC_DURATION_MAX_MS
 *   sizes           65536 (bytes), 64k, 1m, 1g (powers of 1024; K, M, G
 *                   too, and a B or iB after the letter: 64KiB)
 *   yes / no        yes, true, on, 1 / no, false, off, 0
 *
 * Each parser returns 0 with the value set, or -1 with what is wrong
 * written to @why (a phrase without the value, e.g. "number is too large
 * (0 to 1000000)"; @why may be NULL). The caller names the option:
 * "--idle-timeout '5x': unknown unit (expected ms, s, m or h)".
 */
#ifndef HVC_NUM_H
#define HVC_NUM_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration: an int of milliseconds (24 days and a bit). */
#define HVC_DURATION_MAX_MS 0x7FFFFFFF
/* The bounds of both tools' relay buffer (hvcat -b, hvproxy buffer). */
#define HVC_BUFFER_MIN 4096u
#define HVC_BUFFER_MAX (64u * 1024u * 1024u)
/* Enough for any @why these write. */
#define HVC_WHY_SIZE 128

int hvc_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *why, size_t size);
/* @zero_ok: whether 0 is allowed (it means "none" where it is). */
int hvc_parse_duration(const char *s, int zero_ok, int *ms, char *why,
    size_t size);
int hvc_parse_size(const char *s, size_t min, size_t max, size_t *out,
    char *why, size_t size);
int hvc_parse_bool(const char *s, int *out, char *why, size_t size);

/*
 * The one wording of a value refused on a command line, in both tools:
 * "OPTION 'VALUE': why", the value quoted (hvc_quote()).
 */
void hvc_value_msg(char *buf, size_t size, const char *option,
    const char *value, const char *why);

/*
 * A value written the way the parsers read it back: "0", "500ms", "90s",
 * "10m", "2h"; "100000", "64k", "1m", "2g" (the largest unit that divides
 * it exactly). 0, or -1 if @buf is too small.
 */
int hvc_format_duration(int ms, char *buf, size_t size);
int hvc_format_size(size_t bytes, char *buf, size_t size);

#endif /* HVC_NUM_H */
