/*
 * Every number on the command line goes through here: decimal digits only
 * (no sign, no hex, no spaces), checked against explicit bounds, in the
 * spirit of OpenBSD's strtonum(3).
 */
#include <stdint.h>
#include <string.h>

#include "hvcat.h"

/* Digits of @s[0..n) as a number; -1 if not all digits or empty, -2 if it
 * does not fit in 64 bits. */
static int
digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10) {
			return -2;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
num_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **errstr)
{
	uint64_t v = 0; /* gcc -O2 cannot see digits() sets it on success */
	int rc = digits(s, strlen(s), &v);

	if (rc == -1) {
		*errstr = "not a number";
		return -1;
	}
	if (rc == -2 || v > max) {
		*errstr = "too large";
		return -1;
	}
	if (v < min) {
		*errstr = "too small";
		return -1;
	}
	*out = v;
	return 0;
}

int
num_seconds(const char *s, int min_ms, int max_ms, int *out_ms,
    const char **errstr)
{
	const char *dot = strchr(s, '.');
	size_t ilen = dot != NULL ? (size_t)(dot - s) : strlen(s);
	uint64_t whole = 0, frac = 0, ms;
	int rc;

	rc = digits(s, ilen, &whole);
	if (rc == -1 && !(ilen == 0 && dot != NULL)) {
		*errstr = "not a number of seconds";
		return -1;
	}
	if (rc == -2 || whole > (uint64_t)max_ms / 1000 + 1) {
		*errstr = "too large";
		return -1;
	}
	if (dot != NULL) {
		size_t flen = strlen(dot + 1);
		if (flen == 0 || flen > 3 || digits(dot + 1, flen, &frac) < 0) {
			*errstr = "not a number of seconds (at most three "
				  "decimals)";
			return -1;
		}
		while (flen++ < 3) {
			frac *= 10;
		}
	}
	ms = whole * 1000 + frac;
	if (ms > (uint64_t)max_ms) {
		*errstr = "too large";
		return -1;
	}
	if (ms < (uint64_t)min_ms) {
		*errstr = "too small";
		return -1;
	}
	*out_ms = (int)ms;
	return 0;
}

int
num_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **errstr)
{
	size_t n = strspn(s, "0123456789");
	const char *suffix = s + n;
	uint64_t v = 0, mult = 1;

	if (digits(s, n, &v) == -1) {
		*errstr = "not a size (expected bytes, or a number with K, M "
			  "or G)";
		return -1;
	}
	if (*suffix != '\0') {
		switch (*suffix) {
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
			*errstr = "bad size suffix (expected K, M or G)";
			return -1;
		}
		suffix++;
		if (strcmp(suffix, "") != 0 && strcmp(suffix, "B") != 0 &&
		    strcmp(suffix, "iB") != 0) {
			*errstr = "bad size suffix (expected K, M or G)";
			return -1;
		}
	}
	if (v > max / mult) {
		*errstr = "too large";
		return -1;
	}
	v *= mult;
	if (v < min) {
		*errstr = "too small";
		return -1;
	}
	*out = v;
	return 0;
}
