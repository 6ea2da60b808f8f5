/* SPDX-License-Identifier: MIT */
/*
 * hvs_fd_bridge(): on Windows, a socket standing for two C runtime
 * descriptors (pipes here): bytes both ways, EOF passed on as a
 * half-close, the output closed after its last byte, a broken output that
 * never blocks the sender, and the argument checks. On POSIX systems it
 * must say HVS_ENOTSUP and leave the descriptors alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _WIN32
#include <process.h>
#include <stdio.h>
#endif

#include <hvsock/loop.h>

#include "internal.h"
#include "testio.h"
#ifdef _WIN32
#include "win/bridge.h"
#endif

static void
send_all(hvs_sock_t s, const char *p, size_t len)
{
	size_t n;

	while (len > 0) {
		assert_int_equal(hvs_send(s, p, len, &n), 0);
		p += n;
		len -= n;
	}
}

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(hvs__os_init(), 0);
	return 0;
}

#ifdef _WIN32

/* Bytes both ways; each EOF arrives, and only after every byte. */
static void
test_both_ways(void **state)
{
	int in[2], out[2];
	hvs_sock_t s;
	char buf[4096];
	size_t n;

	(void)state;
	assert_int_equal(t_pipe(in), 0);
	assert_int_equal(t_pipe(out), 0);
	assert_int_equal(hvs_fd_bridge(in[0], out[1], &s), 0);
	assert_true(s != HVS_INVALID_SOCK);
	/* The application's end is non-blocking; these checks block. */
	assert_int_equal(hvs_set_nonblock(s, 0), 0);

	assert_int_equal(t_write(in[1], "hello\r\n", 7), 7);
	assert_int_equal(t_close(in[1]), 0);
	n = recv_all(s, buf, sizeof(buf));
	/* Binary: no CR/LF translation on the way. */
	assert_int_equal(n, 7);
	assert_memory_equal(buf, "hello\r\n", 7);

	/* Half-close: the socket still takes bytes after its EOF. */
	send_all(s, "world\n", 6);
	assert_int_equal(hvs_shutdown(s, HVS_SHUT_WR), 0);
	n = read_all(out[0], buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "world\n", 6);

	assert_int_equal(hvs_close(s), 0);
	assert_int_equal(t_close(out[0]), 0);
}

struct drain {
	int fd;
	char *buf;
	size_t cap;
	size_t got;
};

/* Read a pipe to its end on a thread of its own (no cmocka in it). */
static unsigned __stdcall drain_main(void *arg)
{
	struct drain *d = arg;
	int n;

	while (d->got < d->cap &&
	    (n = _read(d->fd, d->buf + d->got, (unsigned)(d->cap - d->got))) >
		0) {
		d->got += (size_t)n;
	}
	return 0;
}

/* Half a megabyte through a 64 KiB pipe, unchanged, in order. */
static void
test_bulk(void **state)
{
	enum { LEN = 512 << 10 };
	int in[2], out[2];
	hvs_sock_t s;
	char *src = malloc(LEN), *dst = malloc(LEN + 1);
	struct drain d;
	HANDLE th;

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	for (size_t i = 0; i < LEN; i++) {
		src[i] = (char)(i * 7 + i / 251);
	}
	assert_int_equal(t_pipe(in), 0);
	assert_int_equal(t_pipe(out), 0);
	assert_int_equal(hvs_fd_bridge(-1, out[1], &s), 0);
	assert_int_equal(hvs_set_nonblock(s, 0), 0);
	/* No input: EOF at once. */
	assert_int_equal(recv_all(s, dst, 16), 0);
	/* The pipe holds 64 KiB: a thread drains it meanwhile. */
	d.fd = out[0];
	d.buf = dst;
	d.cap = LEN + 1;
	d.got = 0;
	th = (HANDLE)_beginthreadex(NULL, 0, drain_main, &d, 0, NULL);
	assert_non_null(th);
	send_all(s, src, LEN);
	assert_int_equal(hvs_shutdown(s, HVS_SHUT_WR), 0);
	/* The drain ends at the pipe's EOF: the bridge closed out[1]. */
	assert_int_equal(WaitForSingleObject(th, INFINITE), WAIT_OBJECT_0);
	CloseHandle(th);
	assert_int_equal(d.got, LEN);
	assert_memory_equal(src, dst, LEN);
	assert_int_equal(hvs_close(s), 0);
	t_close(out[0]);
	t_close(in[0]);
	t_close(in[1]);
	free(src);
	free(dst);
}

static char logged[512];
static volatile LONG nlogged;

static void
on_log(hvs_log_level_t level, const char *msg, void *arg)
{
	(void)arg;
	if (level <= HVS_LOG_WARN && InterlockedIncrement(&nlogged) == 1) {
		snprintf(logged, sizeof(logged), "%s", msg);
	}
}

/* An output nobody reads any more: bytes are dropped, never stuck. */
static void
test_broken_output(void **state)
{
	enum { LEN = 2 << 20 };
	int out[2];
	hvs_sock_t s;
	char *src = calloc(1, LEN);
	char buf[16];

	(void)state;
	assert_non_null(src);
	assert_int_equal(t_pipe(out), 0);
	assert_int_equal(t_close(out[0]), 0);
	nlogged = 0;
	hvs_set_log(on_log, HVS_LOG_WARN, NULL);
	assert_int_equal(hvs_fd_bridge(-1, out[1], &s), 0);
	assert_int_equal(hvs_set_nonblock(s, 0), 0);
	/* More than the pipe holds, and than the socket buffers hold
	 * unless the system grows them: the bridge must discard. */
	send_all(s, src, LEN);
	assert_int_equal(hvs_shutdown(s, HVS_SHUT_WR), 0);
	assert_int_equal(recv_all(s, buf, sizeof(buf)), 0);
	/* The writer said so once, from its thread: wait for it (a
	 * liveness bound only; the meson timeout ends a hang). */
	while (nlogged == 0) {
		Sleep(10);
	}
	print_message("  logged: %s\n", logged);
	assert_non_null(strstr(logged, "discarding what follows"));
	hvs_set_log(NULL, HVS_LOG_ERROR, NULL);
	assert_int_equal(hvs_close(s), 0);
	free(src);
}

/*
 * A descriptor that cannot be read (a file opened for writing only): the
 * stream is cut short, never ended as if complete, and the log says why.
 */
static void
test_read_error(void **state)
{
	static const char path[] = "test-bridge-wronly.tmp";
	hvs_sock_t s;
	char buf[16];
	size_t n;
	int fd, rc;

	(void)state;
	fd = _open(path, _O_WRONLY | _O_CREAT | _O_TRUNC | _O_BINARY,
	    _S_IREAD | _S_IWRITE);
	assert_true(fd >= 0);
	nlogged = 0;
	hvs_set_log(on_log, HVS_LOG_ERROR, NULL);
	assert_int_equal(hvs_fd_bridge(fd, -1, &s), 0);
	assert_int_equal(hvs_set_nonblock(s, 0), 0);
	rc = hvs_recv(s, buf, sizeof(buf), &n);
	/* A reset, never an EOF that would pass for the whole stream. */
	assert_true(rc == HVS_ECONNRESET || rc == HVS_ECONNABORTED);
	print_message("  recv after the read error: %s\n", hvs_err_name(rc));
	assert_true(nlogged >= 1);
	print_message("  logged: %s\n", logged);
	assert_non_null(strstr(logged, "cannot read descriptor"));
	hvs_set_log(NULL, HVS_LOG_ERROR, NULL);
	assert_int_equal(hvs_close(s), 0);
	remove(path);
}

/*
 * A pipe read that succeeds with 0 bytes: the end once the writers are
 * gone or when the pipe cannot say (a Unix pipe under wine, which reads
 * its end that way: a reader that took it for a zero-length write spun
 * forever and never passed the EOF on), not while a writer still has it.
 */
static void
test_pipe_ended(void **state)
{
	static const char path[] = "test-bridge-ended.tmp";
	HANDLE r, w, f;
	DWORD put;
	char c;

	(void)state;
	assert_true(CreatePipe(&r, &w, NULL, 0));
	assert_int_equal(hvs__bridge_pipe_ended(r), 0);
	assert_true(WriteFile(w, "x", 1, &put, NULL));
	assert_int_equal(hvs__bridge_pipe_ended(r), 0);
	assert_true(CloseHandle(w));
	/* A byte is still to be read: not the end yet. */
	assert_int_equal(hvs__bridge_pipe_ended(r), 0);
	assert_true(ReadFile(r, &c, 1, &put, NULL));
	assert_int_equal(put, 1);
	assert_int_equal(hvs__bridge_pipe_ended(r), 1);
	assert_true(CloseHandle(r));

	/* No pipe at all: nothing says it is open. */
	f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL,
	    CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, NULL);
	assert_true(f != INVALID_HANDLE_VALUE);
	assert_int_equal(hvs__bridge_pipe_ended(f), 1);
	assert_true(CloseHandle(f));
	remove(path);
}

/* The bytes the exit tests send: a pattern that shows a gap or a swap. */
static char
pattern(size_t i)
{
	return (char)(i * 7 + i / 251);
}

enum { EXIT_LEN = 6 << 20 };

/*
 * The child of test_exit_*: a bridge to @path ("-": stdout), EXIT_LEN
 * bytes sent into it, the socket closed, and main() returns at once.
 */
static int
exit_writer(const char *path)
{
	enum { CHUNK = 64 << 10 };
	static char buf[CHUNK];
	hvs_sock_t s;
	size_t off, n;
	int fd;

	fd = strcmp(path, "-") == 0
	    ? 1
	    : _open(path, _O_WRONLY | _O_CREAT | _O_TRUNC | _O_BINARY,
		  _S_IREAD | _S_IWRITE);
	if (fd < 0 || hvs__os_init() < 0 || hvs_fd_bridge(-1, fd, &s) < 0 ||
	    hvs_set_nonblock(s, 0) < 0) {
		fprintf(stderr, "exit writer: cannot start\n");
		return 3;
	}
	for (off = 0; off < EXIT_LEN; off += n) {
		for (size_t i = 0; i < CHUNK; i++) {
			buf[i] = pattern(off + i);
		}
		n = 0;
		while (n < CHUNK) {
			size_t put;

			if (hvs_send(s, buf + n, CHUNK - n, &put) < 0) {
				fprintf(stderr, "exit writer: send failed\n");
				return 4;
			}
			n += put;
		}
	}
	hvs_close(s);
	return 0; /* the bridge's writer may still be writing */
}

/* Start this program as exit_writer(@path), its stdout @out (NULL:
 * ours); *@proc its process. */
static void
run_exit_writer(const char *path, HANDLE out, HANDLE *proc)
{
	char self[MAX_PATH], cmd[MAX_PATH + 64];
	STARTUPINFOA si;
	PROCESS_INFORMATION pi;

	assert_true(GetModuleFileNameA(NULL, self, sizeof(self)) > 0);
	snprintf(cmd, sizeof(cmd), "\"%s\" --exit-writer %s", self, path);
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (out != NULL) {
		si.dwFlags = STARTF_USESTDHANDLES;
		si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
		si.hStdOutput = out;
		si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
	}
	assert_true(CreateProcessA(NULL, cmd, NULL, NULL, out != NULL, 0, NULL,
	    NULL, &si, &pi));
	CloseHandle(pi.hThread);
	*proc = pi.hProcess;
}

static DWORD
exit_status(HANDLE proc)
{
	DWORD rc = 99;

	assert_int_equal(WaitForSingleObject(proc, INFINITE), WAIT_OBJECT_0);
	assert_true(GetExitCodeProcess(proc, &rc));
	CloseHandle(proc);
	return rc;
}

/* Bytes @p[0..@n) at offset @off of the pattern: the first that differs
 * (-1 if none). */
static long
pattern_diff(const char *p, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != pattern(off + i)) {
			return (long)(off + i);
		}
	}
	return -1;
}

/*
 * Bytes written into the socket and the socket closed, then main()
 * returns: every byte reaches a file (the exit waits for the writer).
 */
static void
test_exit_file(void **state)
{
	static const char path[] = "test-bridge-exit.tmp";
	static char buf[64 << 10];
	HANDLE proc;
	size_t got = 0;
	int fd, n;

	(void)state;
	remove(path);
	run_exit_writer(path, NULL, &proc);
	assert_int_equal(exit_status(proc), 0);
	fd = _open(path, _O_RDONLY | _O_BINARY);
	assert_true(fd >= 0);
	while ((n = _read(fd, buf, sizeof(buf))) > 0) {
		assert_int_equal(pattern_diff(buf, (size_t)n, got), -1);
		got += (size_t)n;
	}
	_close(fd);
	print_message("  %lu of %d bytes in the file\n", (unsigned long)got,
	    EXIT_LEN);
	assert_int_equal(got, EXIT_LEN);
	remove(path);
}

/* The same to stdout, a pipe read here: it ends after the last byte. */
static void
test_exit_stdout(void **state)
{
	static char buf[64 << 10];
	SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
	HANDLE r, w, proc;
	size_t got = 0;
	DWORD n;

	(void)state;
	assert_true(CreatePipe(&r, &w, &sa, 0));
	assert_true(SetHandleInformation(r, HANDLE_FLAG_INHERIT, 0));
	run_exit_writer("-", w, &proc);
	CloseHandle(w);
	while (ReadFile(r, buf, sizeof(buf), &n, NULL) && n > 0) {
		assert_int_equal(pattern_diff(buf, n, got), -1);
		got += n;
	}
	CloseHandle(r);
	assert_int_equal(exit_status(proc), 0);
	print_message("  %lu of %d bytes through stdout\n", (unsigned long)got,
	    EXIT_LEN);
	assert_int_equal(got, EXIT_LEN);
}

static void
test_bad_args(void **state)
{
	hvs_sock_t s = 12345;
	int p[2];

	(void)state;
	assert_int_equal(hvs_fd_bridge(-1, -1, &s), HVS_EINVAL);
	assert_true(s == HVS_INVALID_SOCK);
	assert_int_equal(hvs_fd_bridge(-2, 1, &s), HVS_EINVAL);
	assert_int_equal(t_pipe(p), 0);
	assert_int_equal(hvs_fd_bridge(p[0], p[1], NULL), HVS_EINVAL);
	/* Not open (the pair was just closed). */
	assert_int_equal(t_close(p[0]), 0);
	assert_int_equal(t_close(p[1]), 0);
	assert_int_equal(hvs_fd_bridge(p[0], -1, &s), HVS_EBADF);
	assert_true(s == HVS_INVALID_SOCK);
}

#else /* POSIX */

/* The loop waits on any descriptor here: no bridge, nothing touched. */
static void
test_enotsup(void **state)
{
	hvs_sock_t s = 12345;
	int p[2], fl;

	(void)state;
	assert_int_equal(pipe(p), 0);
	fl = fcntl(p[0], F_GETFL);
	assert_int_equal(hvs_fd_bridge(p[0], p[1], &s), HVS_ENOTSUP);
	assert_true(s == HVS_INVALID_SOCK);
	assert_int_equal(hvs_fd_bridge(-1, -1, NULL), HVS_ENOTSUP);
	/* Still open, still blocking: the descriptors are the caller's. */
	assert_int_equal(fcntl(p[0], F_GETFL), fl);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(close(p[0]), 0);
	assert_int_equal(close(p[1]), 0);
	(void)recv_all;
	(void)read_all;
	(void)send_all;
}

#endif

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#ifdef _WIN32
	    cmocka_unit_test(test_both_ways),
	    cmocka_unit_test(test_bulk),
	    cmocka_unit_test(test_broken_output),
	    cmocka_unit_test(test_read_error),
	    cmocka_unit_test(test_pipe_ended),
	    cmocka_unit_test(test_exit_file),
	    cmocka_unit_test(test_exit_stdout),
	    cmocka_unit_test(test_bad_args),
#else
	    cmocka_unit_test(test_enotsup),
#endif
	};

#ifdef _WIN32
	if (argc == 3 && strcmp(argv[1], "--exit-writer") == 0) {
		return exit_writer(argv[2]);
	}
#else
	(void)argc;
	(void)argv;
#endif
	return cmocka_run_group_tests(tests, setup, NULL);
}
