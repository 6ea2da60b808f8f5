/* SPDX-License-Identifier: MIT */
/*
 * Error codes: every code of HVS_ERRNO_MAP has its own name and message,
 * the names are the X-macro's, and unknown codes are reported as such.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "testos.h"

/* The list, as the header defines it, for the tests to walk. */
static const struct {
	int code;
	int num;
	const char *name;
	const char *msg;
} codes[] = {
#define ENTRY(name, num, msg) {HVS_##name, num, #name, msg},
    HVS_ERRNO_MAP(ENTRY)
#undef ENTRY
};

static int
is_known(int code)
{
	if (code == 0) {
		return 1;
	}
	for (size_t i = 0; i < HVS__ARRAY_LEN(codes); i++) {
		if (codes[i].code == code) {
			return 1;
		}
	}
	return 0;
}

static void
test_codes_negative_and_distinct(void **state)
{
	(void)state;
	assert_int_equal(HVS_OK, 0);
	for (size_t i = 0; i < HVS__ARRAY_LEN(codes); i++) {
		/* Errors are negative and equal to -num, as documented. */
		assert_true(codes[i].code < 0);
		assert_int_equal(codes[i].code, -codes[i].num);
		for (size_t j = 0; j < i; j++) {
			if (codes[i].code == codes[j].code) {
				fail_msg("%s and %s share %d", codes[i].name,
				    codes[j].name, codes[i].code);
			}
		}
	}
}

static void
test_names_match_list(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(codes); i++) {
		const char *name = hvs_err_name(codes[i].code);

		assert_non_null(name);
		if (strcmp(name, codes[i].name) != 0) {
			fail_msg("hvs_err_name(%d) = %s, want %s",
			    codes[i].code, name, codes[i].name);
		}
		assert_string_not_equal(name, "UNKNOWN");
		assert_string_not_equal(name, "OK");
	}
}

static void
test_names_distinct(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(codes); i++) {
		for (size_t j = 0; j < i; j++) {
			assert_string_not_equal(hvs_err_name(codes[i].code),
			    hvs_err_name(codes[j].code));
		}
	}
}

static void
test_messages_match_list(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(codes); i++) {
		const char *msg = hvs_strerror(codes[i].code);

		assert_non_null(msg);
		if (TESTOS_WINSOCK && codes[i].code == HVS_EAFNOSUPPORT) {
			/* Windows names its own remedy: a newer Windows,
			 * not a kernel module. */
			static const char same[] =
			    "address family not supported (";

			assert_true(strncmp(msg, same, sizeof(same) - 1) == 0);
			assert_non_null(strstr(msg, "Windows 10"));
			continue;
		}
		assert_string_equal(msg, codes[i].msg);
		assert_true(strlen(msg) > 0);
		assert_string_not_equal(msg, "unknown error");
		assert_string_not_equal(msg, "success");
		/* One line each: the tools print them after a colon. */
		assert_null(strchr(msg, '\n'));
	}
}

static void
test_messages_distinct(void **state)
{
	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(codes); i++) {
		for (size_t j = 0; j < i; j++) {
			const char *a = hvs_strerror(codes[i].code);
			const char *b = hvs_strerror(codes[j].code);

			if (strcmp(a, b) == 0) {
				fail_msg("%s and %s share \"%s\"",
				    codes[i].name, codes[j].name, a);
			}
		}
	}
}

static void
test_success(void **state)
{
	(void)state;
	assert_string_equal(hvs_strerror(0), "success");
	assert_string_equal(hvs_err_name(0), "OK");
	assert_string_equal(hvs_strerror(HVS_OK), "success");
}

static void
test_unknown_codes(void **state)
{
	static const int odd[] = {1, 2, 4000, 4100, INT_MAX, INT_MIN,
	    INT_MIN + 1, -INT_MAX, -3, -10, -4002, -4099, -4118, -4199, -4206,
	    -9999, -100000};

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(odd); i++) {
		if (is_known(odd[i])) {
			continue;
		}
		assert_string_equal(hvs_strerror(odd[i]), "unknown error");
		assert_string_equal(hvs_err_name(odd[i]), "UNKNOWN");
	}
	/* Every value around the list that is not in it. */
	for (int c = -5000; c <= 5000; c++) {
		if (is_known(c)) {
			continue;
		}
		if (strcmp(hvs_strerror(c), "unknown error") != 0 ||
		    strcmp(hvs_err_name(c), "UNKNOWN") != 0) {
			fail_msg("code %d is not in the list but has a name",
			    c);
		}
	}
	/* Positive errno values are not HVS codes. */
	assert_string_equal(hvs_err_name(EINVAL), "UNKNOWN");
}

/* The address errors the parser relies on are all in the list. */
static void
test_address_codes_present(void **state)
{
	static const int want[] = {HVS_EADDR_EMPTY, HVS_EADDR_TOOLONG,
	    HVS_EADDR_NUL, HVS_EADDR_SCHEME, HVS_EADDR_PORT,
	    HVS_EADDR_PORT_RANGE, HVS_EADDR_CID, HVS_EADDR_HOST, HVS_EADDR_GUID,
	    HVS_EADDR_VMID, HVS_EADDR_SERVICE, HVS_EADDR_PATH,
	    HVS_EADDR_PATH_TOOLONG, HVS_EADDR_FD, HVS_EADDR_TRAILING,
	    HVS_EADDR_MISSING, HVS_EADDR_KIND, HVS_ESERVICE_NOT_TEMPLATE};

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(want); i++) {
		assert_true(is_known(want[i]));
		assert_string_not_equal(hvs_err_name(want[i]), "UNKNOWN");
		/* Library codes keep clear of the errno range. */
		assert_true(want[i] <= -4000);
	}
}

static void
test_translate_sys_error(void **state)
{
	static const struct {
		int sys;
		int want;
	} map[] = {
	    {0, 0},
	    {EPERM, HVS_EPERM},
	    {ENOENT, HVS_ENOENT},
	    {EINTR, HVS_EINTR},
	    {EBADF, HVS_EBADF},
	    {EAGAIN, HVS_EAGAIN},
	    {EWOULDBLOCK, HVS_EAGAIN},
	    {ENOMEM, HVS_ENOMEM},
	    {EACCES, HVS_EACCES},
	    {EINVAL, HVS_EINVAL},
	    {EMFILE, HVS_EMFILE},
	    {EPIPE, HVS_EPIPE},
	    {EAFNOSUPPORT, HVS_EAFNOSUPPORT},
	    {EADDRINUSE, HVS_EADDRINUSE},
	    {ECONNRESET, HVS_ECONNRESET},
	    {ETIMEDOUT, HVS_ETIMEDOUT},
	    {ECONNREFUSED, HVS_ECONNREFUSED},
	    {EHOSTUNREACH, HVS_EHOSTUNREACH},
	    {ENETUNREACH, HVS_ENETUNREACH},
	    {EINPROGRESS, HVS_EINPROGRESS},
	};

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(map); i++) {
		int got = hvs_translate_sys_error(map[i].sys);

		if (got != map[i].want) {
			fail_msg("errno %d -> %d (%s), want %d (%s)",
			    map[i].sys, got, hvs_err_name(got), map[i].want,
			    hvs_err_name(map[i].want));
		}
	}
	/* Whatever the errno, the result is an error the list knows, or
	 * the errno itself, kept with the system's text. */
	for (int e = 1; e < 256; e++) {
		int got = hvs_translate_sys_error(e);

		assert_true(got < 0);
		if (is_known(got)) {
			continue;
		}
		assert_true(HVS_IS_ESYS(got));
		assert_int_equal(HVS_ESYS_ERRNO(got), e);
		/* strerror() may free its text at its next call (glibc,
		 * for an errno it does not know): compare a copy. */
		char want[128];

		snprintf(want, sizeof(want), "%s", strerror(e));
		assert_string_equal(hvs_strerror(got), want);
		assert_string_equal(hvs_err_name(got), "ESYS");
	}
}

/*
 * A system error the list has no code for keeps its number and its text
 * (it was "unknown system error": a full disk, a directory read as a
 * stream), and its code is none of the list's.
 */
static void
test_sys_error_kept(void **state)
{
	static const int sys[] = {ENOSPC, EISDIR, EROFS, EFBIG, ESPIPE};

	(void)state;
	for (size_t i = 0; i < HVS__ARRAY_LEN(sys); i++) {
		int got = hvs_translate_sys_error(sys[i]);

		assert_true(HVS_IS_ESYS(got));
		assert_false(is_known(got));
		assert_int_equal(got, HVS_ESYS(sys[i]));
		assert_int_equal(HVS_ESYS_ERRNO(got), sys[i]);
		assert_string_equal(hvs_strerror(got), strerror(sys[i]));
		assert_string_not_equal(hvs_strerror(got), "unknown error");
		assert_string_equal(hvs_err_name(got), "ESYS");
	}
	/* The range lies below every code of the list. */
	for (size_t i = 0; i < HVS__ARRAY_LEN(codes); i++) {
		assert_false(HVS_IS_ESYS(codes[i].code));
		assert_true(codes[i].code > -HVS_ESYS_BASE);
	}
	assert_false(HVS_IS_ESYS(0));
	assert_false(HVS_IS_ESYS(-HVS_ESYS_BASE));
	assert_false(HVS_IS_ESYS(INT_MIN));
	assert_string_equal(hvs_strerror(-HVS_ESYS_BASE), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codes_negative_and_distinct),
	    cmocka_unit_test(test_names_match_list),
	    cmocka_unit_test(test_names_distinct),
	    cmocka_unit_test(test_messages_match_list),
	    cmocka_unit_test(test_messages_distinct),
	    cmocka_unit_test(test_success),
	    cmocka_unit_test(test_unknown_codes),
	    cmocka_unit_test(test_address_codes_present),
	    cmocka_unit_test(test_translate_sys_error),
	    cmocka_unit_test(test_sys_error_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
