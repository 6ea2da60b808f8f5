/* SPDX-License-Identifier: MIT */
/*
 * The one bounded parser of numbers, durations and sizes (num.h), in the
 * spirit of OpenBSD's strtonum(3): explicit bounds, no sign, no blanks,
 * no silent defaults, and a message that says what was expected.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/num.h"
#include "common/util.h"

static void set_why(char *why, size_t size, const char *fmt, ...)
    HVC_PRINTF(3, 4);

static void
set_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || size == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/*
 * The digits at the start of @s: returns how many there are, with their
 * value in *@v, or *@big set when it does not fit in 64 bits.
 */
static size_t
leading_digits(const char *s, uint64_t *v, int *big)
{
	uint64_t x = 0;
	size_t i;

	*big = 0;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (x > (UINT64_MAX - d) / 10) {
			*big = 1;
		} else {
			x = x * 10 + d;
		}
	}
	*v = x;
	return i;
}

int
hvc_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *why, size_t size)
{
	uint64_t v;
	int big;
	size_t n = leading_digits(s, &v, &big);

	if (n == 0 || s[n] != '\0' || big || v > max || v < min) {
		set_why(why, size, "%s (%llu to %llu)",
		    n == 0 || s[n] != '\0' ? "expected a whole number"
			: v < min && !big  ? "number is too small"
					   : "number is too large",
		    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

int
hvc_parse_duration(const char *s, int zero_ok, int *ms, char *why, size_t size)
{
	const uint64_t max = HVC_DURATION_MAX_MS;
	uint64_t whole, frac = 0, mult, total;
	size_t n, fn = 0;
	const char *unit;
	int big, fbig;

	n = leading_digits(s, &whole, &big);
	unit = s + n;
	if (*unit == '.') {
		uint64_t f;

		fn = leading_digits(unit + 1, &f, &fbig);
		if (fn == 0 && n == 0) {
			goto not_duration;
		}
		if (fn == 0 || fn > 3) {
			set_why(why, size,
			    "expected at most three decimals (such as 0.5 or "
			    "1.25s)");
			return -1;
		}
		frac = f;
		for (size_t i = fn; i < 3; i++) {
			frac *= 10;
		}
		unit += 1 + fn;
	} else if (n == 0) {
		goto not_duration;
	}
	if (*unit == '\0' || strcmp(unit, "s") == 0) {
		mult = 1000;
	} else if (strcmp(unit, "ms") == 0) {
		mult = 1;
	} else if (strcmp(unit, "m") == 0) {
		mult = 60000;
	} else if (strcmp(unit, "h") == 0) {
		mult = 3600000;
	} else {
		set_why(why, size, "unknown unit (expected ms, s, m or h)");
		return -1;
	}
	if (fn > 0 && mult == 1) {
		set_why(why, size,
		    "expected whole milliseconds (such as 500ms)");
		return -1;
	}
	/* @whole is at most 2^31 here and @mult at most 3600000: no
	 * overflow in 64 bits. @frac thousandths of a unit that is a whole
	 * number of seconds are whole milliseconds. */
	total =
	    big || whole > max ? max + 1 : whole * mult + frac * (mult / 1000);
	if (total > max) {
		set_why(why, size, "duration is too long (at most 24 days)");
		return -1;
	}
	if (total == 0 && !zero_ok) {
		set_why(why, size, "duration must be more than 0");
		return -1;
	}
	*ms = (int)total;
	return 0;
not_duration:
	set_why(why, size,
	    "expected a duration such as 30, 0.5, 500ms, 2m or 1h");
	return -1;
}

int
hvc_parse_size(const char *s, size_t min, size_t max, size_t *out, char *why,
    size_t size)
{
	uint64_t v, mult = 1;
	const char *unit;
	char lo[32], hi[32];
	int big;
	size_t n = leading_digits(s, &v, &big);

	if (n == 0) {
		set_why(why, size, "expected a size such as 65536, 64k or 1m");
		return -1;
	}
	unit = s + n;
	if (*unit != '\0') {
		switch (*unit) {
		case 'k':
		case 'K':
			mult = 1024;
			break;
		case 'm':
		case 'M':
			mult = 1024 * 1024;
			break;
		case 'g':
		case 'G':
			mult = 1024 * 1024 * 1024;
			break;
		default:
			goto bad_unit;
		}
		unit++;
		if (strcmp(unit, "") != 0 && strcmp(unit, "B") != 0 &&
		    strcmp(unit, "iB") != 0) {
			goto bad_unit;
		}
	}
	/* Too many digits for 64 bits is too large, not a small value. */
	if (big || v > (uint64_t)max / mult) {
		if (hvc_format_size(max, hi, sizeof(hi)) != 0) {
			snprintf(hi, sizeof(hi), "%zu", max);
		}
		set_why(why, size, "size is too large (at most %s)", hi);
		return -1;
	}
	if (v * mult < (uint64_t)min) {
		if (hvc_format_size(min, lo, sizeof(lo)) != 0) {
			snprintf(lo, sizeof(lo), "%zu", min);
		}
		set_why(why, size, "size is too small (at least %s)", lo);
		return -1;
	}
	*out = (size_t)(v * mult);
	return 0;
bad_unit:
	set_why(why, size, "unknown unit (expected k, m or g)");
	return -1;
}

int
hvc_parse_bool(const char *s, int *out, char *why, size_t size)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	set_why(why, size, "expected yes or no");
	return -1;
}

void
hvc_value_msg(char *buf, size_t size, const char *option, const char *value,
    const char *why)
{
	char q[HVC_QUOTE_SIZE];

	hvc_quote(value, strlen(value), q, sizeof(q));
	snprintf(buf, size, "%s '%s': %s", option, q, why);
}

int
hvc_format_duration(int ms, char *buf, size_t size)
{
	int n;

	if (ms == 0) {
		n = snprintf(buf, size, "0");
	} else if (ms % 3600000 == 0) {
		n = snprintf(buf, size, "%dh", ms / 3600000);
	} else if (ms % 60000 == 0) {
		n = snprintf(buf, size, "%dm", ms / 60000);
	} else if (ms % 1000 == 0) {
		n = snprintf(buf, size, "%ds", ms / 1000);
	} else {
		n = snprintf(buf, size, "%dms", ms);
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
hvc_format_size(size_t bytes, char *buf, size_t size)
{
	const size_t k = 1024u, m = 1024u * 1024u, g = 1024u * 1024u * 1024u;
	int n;

	if (bytes != 0 && bytes % g == 0) {
		n = snprintf(buf, size, "%zug", bytes / g);
	} else if (bytes != 0 && bytes % m == 0) {
		n = snprintf(buf, size, "%zum", bytes / m);
	} else if (bytes != 0 && bytes % k == 0) {
		n = snprintf(buf, size, "%zuk", bytes / k);
	} else {
		n = snprintf(buf, size, "%zu", bytes);
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
