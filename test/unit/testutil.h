/* Small helpers shared by the unit tests. */
#ifndef HVS_TEST_TESTUTIL_H
#define HVS_TEST_TESTUTIL_H

#include <dirent.h>

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

#endif
