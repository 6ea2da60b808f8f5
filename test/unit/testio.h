/* SPDX-License-Identifier: MIT */
/*
 * Descriptor and socket I/O for the loop and bridge tests, the same on
 * POSIX and Windows (where pipes and reads are the C runtime's _pipe and
 * _read). Include after <cmocka.h> and <hvsock/hvsock.h>.
 */
#ifndef HVS_TEST_TESTIO_H
#define HVS_TEST_TESTIO_H

#include <stddef.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#define t_pipe(fds) _pipe((fds), 65536, _O_BINARY)
#define t_close _close
#define t_read(fd, p, n) _read((fd), (p), (unsigned)(n))
#define t_write(fd, p, n) _write((fd), (p), (unsigned)(n))
#else
#include <fcntl.h>
#include <unistd.h>
#define t_pipe(fds) pipe(fds)
#define t_close close
#define t_read(fd, p, n) read((fd), (p), (n))
#define t_write(fd, p, n) write((fd), (p), (n))
#endif

/* Everything @s gives until its EOF (blocking). */
static inline size_t
recv_all(hvs_sock_t s, char *buf, size_t cap)
{
	size_t got = 0, n;
	int rc;

	for (;;) {
		assert_true(got < cap);
		rc = hvs_recv(s, buf + got, cap - got, &n);
		if (rc == HVS_EOF) {
			return got;
		}
		assert_int_equal(rc, 0);
		got += n;
	}
}

/* Everything @fd gives until its EOF. */
static inline size_t
read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	long n;

	for (;;) {
		assert_true(got < cap);
		n = (long)t_read(fd, buf + got, cap - got);
		assert_true(n >= 0);
		if (n == 0) {
			return got;
		}
		got += (size_t)n;
	}
}

#endif
