/* SPDX-License-Identifier: MIT */
/*
 * Standard input and output on Windows. The loop can wait on sockets
 * only, so stdio (a console, a pipe or a file) reaches the pumps through
 * sockets:
 *
 *   stdin  -> hvs_fd_bridge() -> stdin pump  -> [pair] -> relay <-> peer
 *   stdout <- writer thread   <- stdout pump <- [pair] <-
 *
 * The relay's side is one socket of a pair; both pumps use the other end
 * (the stdin pump writes it, the stdout pump reads it), so a stdin EOF is
 * a shutdown of the pair's sending side: the half-close the relay passes
 * on. Both pumps run in every mode.
 *
 * stdout has a writer thread of its own (a socket pair and blocking
 * writes) rather than a bridge: the session waits for it when it ends,
 * so that every byte is on stdout before the next client's or before
 * hvcat exits (the process would end a bridge's thread mid-write).
 */
#include <winsock2.h>
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <stdlib.h>

#include <event2/util.h>

#include "win/win.h"

#define WRITER_BUF (64 * 1024)

struct writer {
	SOCKET s; /* the thread's end, blocking */
	int fd; /* a copy of stdout, or NUL */
	HANDLE thread;
	DWORD err; /* the first write error, 0 if none */
};

/* The error the last writer met, for stdio_close(). */
static DWORD writer_err;

static unsigned __stdcall writer_main(void *arg)
{
	struct writer *w = arg;
	HANDLE h = (HANDLE)_get_osfhandle(w->fd);
	char *buf = malloc(WRITER_BUF);
	int n;

	while (buf != NULL && (n = recv(w->s, buf, WRITER_BUF, 0)) > 0) {
		DWORD off = 0, put;
		/* After a failure: receive and discard, so that the
		 * pump's sends never block for good. */
		while (w->err == 0 && off < (DWORD)n) {
			if (!WriteFile(h, buf + off, (DWORD)n - off, &put,
				NULL)) {
				w->err = GetLastError();
				break;
			}
			off += put;
		}
	}
	free(buf);
	closesocket(w->s);
	_close(w->fd);
	return 0;
}

/* Start a writer of @fd (taken in every case); *@app is the socket to
 * send its bytes into. */
static int
writer_start(int fd, struct writer **out, hvs_sock_t *app)
{
	struct writer *w = calloc(1, sizeof(*w));
	evutil_socket_t p[2];
	u_long on = 1;

	if (w == NULL) {
		_close(fd);
		return HVS_ENOMEM;
	}
	if (evutil_socketpair(AF_INET, SOCK_STREAM, 0, p) < 0) {
		int rc = hvs_translate_sys_error(WSAGetLastError());
		_close(fd);
		free(w);
		return rc;
	}
	SetHandleInformation((HANDLE)p[0], HANDLE_FLAG_INHERIT, 0);
	SetHandleInformation((HANDLE)p[1], HANDLE_FLAG_INHERIT, 0);
	ioctlsocket((SOCKET)p[0], FIONBIO, &on);
	w->s = (SOCKET)p[1];
	w->fd = fd;
	w->thread = (HANDLE)_beginthreadex(NULL, 0, writer_main, w, 0, NULL);
	if (w->thread == NULL) {
		closesocket((SOCKET)p[0]);
		closesocket((SOCKET)p[1]);
		_close(fd);
		free(w);
		return HVS_EAGAIN;
	}
	*out = w;
	*app = (hvs_sock_t)p[0];
	return 0;
}

/* Wait until the writer has written all it was sent and is gone. */
static void
writer_join(struct writer *w)
{
	WaitForSingleObject(w->thread, INFINITE);
	CloseHandle(w->thread);
	if (w->err != 0 && writer_err == 0) {
		writer_err = w->err;
	}
	free(w);
}

/* The writer of the current session (one at a time). */
static struct writer *cur_writer;

void
stdio_save(void)
{
}

void
stdio_restore(void)
{
}

/* ---- streams: sockets ---- */

int
stream_read(hvs_sock_t s, void *buf, size_t len, size_t *got)
{
	return hvs_recv(s, buf, len, got);
}

int
stream_write(hvs_sock_t s, const void *buf, size_t len, size_t *put)
{
	return hvs_send(s, buf, len, put);
}

int
stream_pollable(hvs_sock_t s)
{
	(void)s;
	return 1;
}

void
stream_set_nonblock(hvs_sock_t s)
{
	(void)hvs_set_nonblock(s, 1);
}

void
stream_close(hvs_sock_t s)
{
	hvs_close(s);
}

/* ---- the wiring of a session ---- */

/* Where the peer's bytes go: a copy of stdout, or NUL (--send-only). */
static int
out_fd_open(const struct options *o)
{
	if (o->send_only) {
		return _open("NUL", _O_WRONLY | _O_BINARY);
	}
	return _dup(1);
}

int
stdio_open(const struct options *o, int in_pump, int out_pump,
    struct stdio_ends *e)
{
	hvs_sock_t pair[2];
	int in_fd, out_fd, rc;

	(void)in_pump;
	(void)out_pump;
	e->a_in = e->a_out = HVS_INVALID_SOCK;
	e->in_src = e->in_w = e->out_r = e->out_dst = HVS_INVALID_SOCK;
	e->in_pump = e->out_pump = 0;
	e->own_in_src = e->own_out_dst = 0;

	rc = win_socketpair(pair);
	if (rc < 0) {
		return rc;
	}
	e->a_in = e->a_out = pair[1];
	e->in_w = e->out_r = pair[0];
	out_fd = out_fd_open(o);
	if (out_fd < 0) {
		rc = hvs_translate_sys_error(errno);
		goto fail;
	}
	rc = writer_start(out_fd, &cur_writer, &e->out_dst);
	if (rc < 0) {
		goto fail;
	}
	e->own_out_dst = 1;
	e->out_pump = 1;
	if (!o->recv_only) {
		in_fd = _dup(0);
		if (in_fd < 0) {
			rc = hvs_translate_sys_error(errno);
			goto fail;
		}
		rc = hvs_fd_bridge(in_fd, -1, &e->in_src);
		if (rc < 0) {
			_close(in_fd);
			goto fail;
		}
		e->own_in_src = 1;
		e->in_pump = 1;
	}
	return 0;

fail:
	stdio_close(e);
	return rc;
}

int
stdio_relay(hvs_relay_t **out, struct event_base *base, struct stdio_ends *e,
    hvs_sock_t b, const hvs_relay_opts_t *ro, hvs_relay_done_fn done,
    void *userdata)
{
	int rc;

	if (e->a_in != e->a_out) {
		return HVS_EINVAL;
	}
	rc = hvs_relay_new(out, base, e->a_in, b, ro, done, userdata);
	if (rc == 0) {
		e->a_in = e->a_out = HVS_INVALID_SOCK;
	}
	return rc;
}

void
stdio_end_in(struct stdio_ends *e)
{
	if (e->in_w == HVS_INVALID_SOCK) {
		return;
	}
	/* The stdout pump still reads this socket: a half-close. */
	(void)hvs_shutdown(e->in_w, HVS_SHUT_WR);
	e->in_w = HVS_INVALID_SOCK;
}

int
stdio_close(struct stdio_ends *e)
{
	DWORD err;

	if (e->a_in != HVS_INVALID_SOCK) {
		hvs_close(e->a_in);
	}
	e->a_in = e->a_out = HVS_INVALID_SOCK;
	if (e->out_r != HVS_INVALID_SOCK) {
		hvs_close(e->out_r);
	} else if (e->in_w != HVS_INVALID_SOCK) {
		hvs_close(e->in_w);
	}
	e->in_w = e->out_r = HVS_INVALID_SOCK;
	if (e->own_in_src && e->in_src != HVS_INVALID_SOCK) {
		/* Nothing more of stdin is wanted. */
		hvs_close(e->in_src);
	}
	if (e->own_out_dst && e->out_dst != HVS_INVALID_SOCK) {
		/* A FIN after the last byte, and the writer has written
		 * them all once it is gone. */
		(void)hvs_shutdown(e->out_dst, HVS_SHUT_WR);
		hvs_close(e->out_dst);
	}
	if (cur_writer != NULL) {
		writer_join(cur_writer);
		cur_writer = NULL;
	}
	e->in_src = e->out_dst = HVS_INVALID_SOCK;
	e->own_in_src = e->own_out_dst = 0;
	err = writer_err;
	writer_err = 0;
	switch (err) {
	case 0:
		return 0;
	case ERROR_NO_DATA:
	case ERROR_BROKEN_PIPE:
		return HVS_EPIPE;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return HVS_ENOBUFS;
	default:
		return HVS_EIO;
	}
}

const char *
stdio_strerror(int err, int write)
{
	/* The bridge resets its socket when the console, pipe or file
	 * fails; it logs the system's reason (shown with -vv). */
	if (!write && (err == HVS_ECONNRESET || err == HVS_ECONNABORTED)) {
		return "cannot be read (the console, pipe or file failed; -vv "
		       "says why)";
	}
	return hvs_strerror(err);
}
