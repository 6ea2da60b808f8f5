/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the unit tests (include <cmocka.h> first). */
#ifndef HVS_TEST_TESTUTIL_H
#define HVS_TEST_TESTUTIL_H

#include "sysmock.h"
#include "testos.h"

/* Open descriptors of this process, to prove nothing leaks. */
static inline int
count_fds(void)
{
	return testos_count_fds();
}

/*
 * Skip the running test, saying why in the output: a case that cannot
 * run on this platform is never left out in silence.
 */
#define skip_because(why)                              \
	do {                                           \
		print_message("skipped: %s\n", (why)); \
		skip();                                \
	} while (0)

/* The same for a part of the running test; the rest of it ran. */
#define skip_part_because(why) \
	print_message("skipped (part of this test): %s\n", (why))

/* Descriptors open when the running test began (fd_fixture_setup()). */
static inline int *
fds_at_setup(void)
{
	static int n;

	return &n;
}

/*
 * The usual cmocka fixture: no scripted faults, and the test must leave as
 * many descriptors open as it found.
 */
static inline int
fd_fixture_setup(void **state)
{
	(void)state;
	sysmock_reset();
	*fds_at_setup() = count_fds();
	return 0;
}

static inline int
fd_fixture_teardown(void **state)
{
	(void)state;
	sysmock_reset();
	assert_int_equal(count_fds(), *fds_at_setup());
	return 0;
}

#endif
