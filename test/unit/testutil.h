/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the unit tests (include <cmocka.h> first). */
#ifndef HVS_TEST_TESTUTIL_H
#define HVS_TEST_TESTUTIL_H

#include <dirent.h>

#include "sysmock.h"

/* Open descriptors of this process, to prove nothing leaks. */
static inline int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n - 1; /* the directory stream itself */
}

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
