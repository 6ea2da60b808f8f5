/* SPDX-License-Identifier: MIT */
/*
 * hvs_fd_bridge(): a socket that stands for two C runtime descriptors, for
 * an event loop that can wait only on sockets (Windows).
 *
 * A loopback socket pair: the application gets one end (non-blocking),
 * the bridge keeps the other (blocking) and moves bytes with one thread
 * per direction:
 *  - the reader reads @in_fd and sends what it got; its end of file
 *    becomes shutdown(SD_SEND), which the application reads as the
 *    socket's EOF (a half-close). A read error is logged and the stream
 *    is reset (the writer thread closes the socket abortively), never
 *    ended with a FIN that would pass for a complete stream. A pipe read
 *    that gives 0 bytes is its end unless the pipe says it is still open
 *    (a zero-length write): wine reads a Unix pipe's end that way;
 *  - the writer receives and writes every byte to @out_fd; the
 *    application's EOF (shutdown or close) closes @out_fd once every byte
 *    is written. If @out_fd breaks (its reader went away), the writer logs
 *    it once and goes on receiving and discarding, so the application's
 *    sends never block for good. The process's exit waits for it while
 *    it has bytes to write (writers_drain()).
 * The threads read and write the descriptors' Win32 handles directly
 * (ReadFile/WriteFile): the C runtime locks a descriptor for the whole of
 * a read, which would stall a writer on the same descriptor (a console).
 * Both start suspended, so that hvs_relay_new_fds() can still give the
 * descriptors back untouched when the relay fails to start.
 */
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "win/bridge.h"

#define BRIDGE_BUF (64 * 1024)
#define CTRL_Z 0x1a

struct hvs__bridge {
	int in_fd; /* -1: no reader */
	int out_fd; /* -1: bytes are discarded */
	HANDLE hin;
	HANDLE hout;
	SOCKET s; /* our end (blocking), INVALID_SOCKET once reset */
	SOCKET app; /* the application's end, until commit */
	HANDLE th[2]; /* reader, writer: suspended until commit */
	HANDLE cancel; /* the reader failed: the writer resets */
	HANDLE rev; /* the writer's receive completed (one for all) */
	volatile LONG refs; /* threads not yet finished */
	volatile LONG go; /* 1: committed, 0: aborted */
	/* The exit wait (out_fd only): the writer's thread, listed in
	 * `writers` while it runs; its progress, seen by the wait. */
	HANDLE wth;
	hvs__bridge_t *next, *prev;
	volatile LONG writing; /* 1: inside a write to out_fd */
	volatile LONG progress; /* bumped at each receive and write */
	LONG seen; /* the exit wait's last look at progress */
	DWORD since; /* when it changed (GetTickCount) */
};

/*
 * The bridges whose writer still runs, for the wait at exit: threads run
 * on while atexit handlers do (ExitProcess ends them after), so bytes the
 * application wrote into its socket before closing it still reach out_fd.
 * A writer is waited for while it writes, up to EXIT_STALL_MS without a
 * write completing (an output that nobody reads), and while bytes come,
 * up to EXIT_IDLE_MS without one (its application end still open: it
 * would wait for ever).
 */
#define EXIT_STALL_MS 10000
#define EXIT_IDLE_MS 200

static SRWLOCK writers_lock = SRWLOCK_INIT;
static hvs__bridge_t *writers;
static volatile LONG exit_hooked;

static void
writers_add(hvs__bridge_t *b)
{
	AcquireSRWLockExclusive(&writers_lock);
	b->next = writers;
	b->prev = NULL;
	if (writers != NULL) {
		writers->prev = b;
	}
	writers = b;
	ReleaseSRWLockExclusive(&writers_lock);
}

/* The writer ends: out of the list, its handle closed. */
static void
writers_remove(hvs__bridge_t *b)
{
	AcquireSRWLockExclusive(&writers_lock);
	if (b->prev != NULL) {
		b->prev->next = b->next;
	} else {
		writers = b->next;
	}
	if (b->next != NULL) {
		b->next->prev = b->prev;
	}
	CloseHandle(b->wth);
	b->wth = NULL;
	ReleaseSRWLockExclusive(&writers_lock);
}

/* At exit: wait for the writers that still have bytes to write. */
static void
writers_drain(void)
{
	DWORD now;
	LONG p;
	int wait;

	/* Each writer's time counts from now. */
	now = GetTickCount();
	AcquireSRWLockShared(&writers_lock);
	for (hvs__bridge_t *b = writers; b != NULL; b = b->next) {
		b->seen = b->progress;
		b->since = now;
	}
	ReleaseSRWLockShared(&writers_lock);
	for (;;) {
		wait = 0;
		now = GetTickCount();
		AcquireSRWLockShared(&writers_lock);
		for (hvs__bridge_t *b = writers; b != NULL; b = b->next) {
			/* Ended already (a DLL's handlers run after
			 * ExitProcess has ended every other thread). */
			if (WaitForSingleObject(b->wth, 0) != WAIT_TIMEOUT) {
				continue;
			}
			p = b->progress;
			if (p != b->seen) {
				b->seen = p;
				b->since = now;
			}
			if (now - b->since <
			    (b->writing ? EXIT_STALL_MS : EXIT_IDLE_MS)) {
				wait = 1;
			}
		}
		ReleaseSRWLockShared(&writers_lock);
		if (!wait) {
			return;
		}
		Sleep(5);
	}
}

/* The system's words for a Win32 error, without the trailing newline. */
static const char *
win_text(DWORD err, char *buf, size_t size)
{
	DWORD n;

	n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
		FORMAT_MESSAGE_IGNORE_INSERTS,
	    NULL, err, 0, buf, (DWORD)size, NULL);
	while (n > 0 &&
	    (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == '.' ||
		buf[n - 1] == ' ')) {
		n--;
	}
	if (n == 0) {
		snprintf(buf, size, "Windows error %lu", (unsigned long)err);
	} else {
		buf[n] = '\0';
	}
	return buf;
}

/* What a log line calls descriptor @fd: stdin and stdout by name. */
static const char *
fd_name(int fd, char *buf, size_t size)
{
	static const char *const std[] = {"stdin", "stdout", "stderr"};

	if (fd >= 0 && fd < 3) {
		return std[fd];
	}
	snprintf(buf, size, "descriptor %d", fd);
	return buf;
}

/* Our socket end, the two events and the bridge itself. */
static void
bridge_free(hvs__bridge_t *b)
{
	if (b->s != INVALID_SOCKET) {
		closesocket(b->s);
	}
	if (b->cancel != NULL) {
		CloseHandle(b->cancel);
	}
	if (b->rev != NULL) {
		CloseHandle(b->rev);
	}
	free(b);
}

/* The last thread out closes what is shared and frees the bridge. */
static void
bridge_release(hvs__bridge_t *b)
{
	if (InterlockedDecrement(&b->refs) > 0) {
		return;
	}
	if (b->in_fd >= 0 && b->in_fd == b->out_fd) {
		_close(b->in_fd);
	}
	bridge_free(b);
}

/* Send all of @p to our end; 0, or the Winsock error. */
static int
send_all(SOCKET s, const char *p, DWORD n)
{
	int rc;

	while (n > 0) {
		rc = send(s, p, (int)n, 0);
		if (rc == SOCKET_ERROR) {
			return WSAGetLastError();
		}
		p += rc;
		n -= (DWORD)rc;
	}
	return 0;
}

int
hvs__bridge_pipe_ended(HANDLE h)
{
	DWORD avail = 0;

	/* Open (even empty): a Windows pipe whose writer wrote nothing.
	 * Failing with ERROR_BROKEN_PIPE: its writers are gone. Failing
	 * otherwise (ERROR_NOT_SUPPORTED: a Unix pipe under wine, which
	 * has no zero-length writes): the 0 bytes were its end. */
	return !PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL);
}

static unsigned __stdcall reader_main(void *arg)
{
	hvs__bridge_t *b = arg;
	DWORD type, n, err;
	char *buf = NULL;
	char text[256], nbuf[32];
	const char *name;
	int rc;

	if (!b->go) {
		return 0; /* aborted: hvs__bridge_abort() cleans up */
	}
	name = fd_name(b->in_fd, nbuf, sizeof(nbuf));
	type = GetFileType(b->hin);
	buf = malloc(BRIDGE_BUF);
	if (buf == NULL) {
		hvs__log(HVS_LOG_ERROR, "bridge: no memory to read %s", name);
		SetEvent(b->cancel);
		goto out;
	}
	for (;;) {
		if (!ReadFile(b->hin, buf, BRIDGE_BUF, &n, NULL)) {
			err = GetLastError();
			if (err == ERROR_BROKEN_PIPE ||
			    err == ERROR_HANDLE_EOF) {
				n = 0; /* the writer end was closed: EOF */
			} else {
				hvs__log(HVS_LOG_ERROR,
				    "bridge: cannot read %s: %s; the stream "
				    "is reset",
				    name, win_text(err, text, sizeof(text)));
				SetEvent(b->cancel);
				break;
			}
		} else if (n == 0 && type == FILE_TYPE_PIPE &&
		    !hvs__bridge_pipe_ended(b->hin)) {
			/* A zero-length write: the pipe is open, and the
			 * next read blocks until bytes or its end come. */
			continue;
		}
		/* A console's end of input: Ctrl-Z at the start of a line. */
		if (n > 0 && type == FILE_TYPE_CHAR && buf[0] == CTRL_Z) {
			n = 0;
		}
		if (n == 0) {
			if (shutdown(b->s, SD_SEND) == SOCKET_ERROR) {
				hvs__log(HVS_LOG_DEBUG, "bridge: shutdown: %s",
				    hvs_strerror(hvs__os_last_error()));
			}
			break;
		}
		rc = send_all(b->s, buf, n);
		if (rc != 0) {
			/* The application closed its end: nobody wants more. */
			hvs__log(HVS_LOG_DEBUG,
			    "bridge: %s: socket closed (%s)", name,
			    hvs_strerror(hvs_translate_sys_error(rc)));
			break;
		}
	}
out:
	free(buf);
	if (b->in_fd != b->out_fd) {
		_close(b->in_fd);
	}
	bridge_release(b);
	return 0;
}

/*
 * Receive once into @buf, waiting also for the reader's cancel event.
 * Returns the count (0: EOF), -1 on a socket error (*@err set), -2 when
 * cancelled.
 */
static int
recv_or_cancel(hvs__bridge_t *b, char *buf, int *err)
{
	WSAOVERLAPPED ov;
	WSABUF wb;
	HANDLE ev[2];
	DWORD got = 0, flags = 0, w;

	memset(&ov, 0, sizeof(ov));
	ov.hEvent = b->rev;
	ResetEvent(b->rev);
	wb.len = BRIDGE_BUF;
	wb.buf = buf;
	if (WSARecv(b->s, &wb, 1, &got, &flags, &ov, NULL) == SOCKET_ERROR) {
		*err = WSAGetLastError();
		if (*err != WSA_IO_PENDING) {
			return -1;
		}
		ev[0] = ov.hEvent;
		ev[1] = b->cancel;
		w = WaitForMultipleObjects(2, ev, FALSE, INFINITE);
		if (w != WAIT_OBJECT_0) {
			CancelIo((HANDLE)b->s);
			(void)WSAGetOverlappedResult(b->s, &ov, &got, TRUE,
			    &flags);
			return -2;
		}
		if (!WSAGetOverlappedResult(b->s, &ov, &got, FALSE, &flags)) {
			*err = WSAGetLastError();
			return -1;
		}
	}
	return (int)got;
}

/* Write all of @p to @out_fd; 0, or the Win32 error. */
static DWORD
write_all(HANDLE h, const char *p, DWORD n)
{
	DWORD put;

	while (n > 0) {
		if (!WriteFile(h, p, n, &put, NULL)) {
			return GetLastError();
		}
		if (put == 0) {
			return ERROR_WRITE_FAULT;
		}
		p += put;
		n -= put;
	}
	return 0;
}

static unsigned __stdcall writer_main(void *arg)
{
	hvs__bridge_t *b = arg;
	char *buf;
	char text[256], nbuf[32];
	const char *name;
	int n, err = 0, broken = b->out_fd < 0;
	DWORD werr;

	if (!b->go) {
		return 0;
	}
	name = fd_name(b->out_fd, nbuf, sizeof(nbuf));
	buf = malloc(BRIDGE_BUF);
	if (buf == NULL) {
		hvs__log(HVS_LOG_ERROR, "bridge: no memory to write %s", name);
		hvs__os_sock_abortive((hvs_sock_t)b->s);
		closesocket(b->s);
		b->s = INVALID_SOCKET;
		goto out;
	}
	for (;;) {
		n = recv_or_cancel(b, buf, &err);
		if (n == -2) {
			/* The reader failed: cut the stream short (a reset),
			 * so that nobody takes it for a complete one. */
			hvs__os_sock_abortive((hvs_sock_t)b->s);
			closesocket(b->s);
			b->s = INVALID_SOCKET;
			break;
		}
		if (n < 0) {
			hvs__log(HVS_LOG_DEBUG, "bridge: %s: %s", name,
			    hvs_strerror(hvs_translate_sys_error(err)));
			break;
		}
		InterlockedIncrement(&b->progress);
		if (n == 0) {
			break; /* the application's EOF: every byte is out */
		}
		if (broken) {
			continue; /* discard: never leave a sender blocked */
		}
		InterlockedExchange(&b->writing, 1);
		werr = write_all(b->hout, buf, (DWORD)n);
		InterlockedIncrement(&b->progress);
		InterlockedExchange(&b->writing, 0);
		if (werr != 0) {
			hvs__log(werr == ERROR_BROKEN_PIPE ||
				    werr == ERROR_NO_DATA
				? HVS_LOG_WARN
				: HVS_LOG_ERROR,
			    "bridge: cannot write %s: %s; "
			    "discarding what follows",
			    name, win_text(werr, text, sizeof(text)));
			broken = 1;
		}
	}
out:
	free(buf);
	if (b->out_fd >= 0 && b->out_fd != b->in_fd) {
		_close(b->out_fd);
	}
	if (b->wth != NULL) {
		writers_remove(b);
	}
	bridge_release(b);
	return 0;
}

/* The Win32 handle of CRT descriptor @fd, or NULL if it is not open. */
static HANDLE
fd_handle(int fd)
{
	intptr_t h = _get_osfhandle(fd);

	if (h == (intptr_t)INVALID_HANDLE_VALUE || h == -2) {
		return NULL;
	}
	return (HANDLE)h;
}

static HANDLE
thread_new(unsigned(__stdcall *fn)(void *), hvs__bridge_t *b)
{
	return (HANDLE)_beginthreadex(NULL, 0, fn, b, CREATE_SUSPENDED, NULL);
}

int
hvs__bridge_prepare(int in_fd, int out_fd, hvs__bridge_t **out,
    hvs_sock_t *sock)
{
	hvs__bridge_t *b;
	hvs_sock_t sv[2];
	int rc;

	if (out == NULL || sock == NULL || in_fd < -1 || out_fd < -1 ||
	    (in_fd < 0 && out_fd < 0)) {
		return HVS_EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		return HVS_ENOMEM;
	}
	b->in_fd = in_fd;
	b->out_fd = out_fd;
	b->s = INVALID_SOCKET;
	b->app = INVALID_SOCKET;
	if ((in_fd >= 0 && (b->hin = fd_handle(in_fd)) == NULL) ||
	    (out_fd >= 0 && (b->hout = fd_handle(out_fd)) == NULL)) {
		free(b);
		return HVS_EBADF;
	}
	rc = hvs__os_init();
	if (rc < 0) {
		free(b);
		return rc;
	}
	b->cancel = CreateEventW(NULL, TRUE, FALSE, NULL);
	b->rev = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (b->cancel == NULL || b->rev == NULL) {
		rc = HVS_ENOMEM;
		goto fail;
	}
	rc = hvs__win_socketpair(sv);
	if (rc < 0) {
		goto fail;
	}
	b->app = (SOCKET)sv[0];
	b->s = (SOCKET)sv[1];
	rc = hvs__os_set_nonblock(sv[0], 1);
	if (rc < 0) {
		goto fail;
	}
	if (in_fd >= 0) {
		b->th[0] = thread_new(reader_main, b);
		if (b->th[0] == NULL) {
			rc = HVS_EAGAIN;
			goto fail;
		}
	}
	b->th[1] = thread_new(writer_main, b);
	if (b->th[1] == NULL) {
		rc = HVS_EAGAIN;
		goto fail;
	}
	*out = b;
	*sock = sv[0];
	return 0;

fail:
	hvs__bridge_abort(b);
	return rc;
}

void
hvs__bridge_commit(hvs__bridge_t *b)
{
	b->go = 1;
	b->refs = b->th[0] != NULL ? 2 : 1;
	b->app = INVALID_SOCKET; /* the application's now */
	/* Bytes as they are: no CR/LF translation, no Ctrl-Z in files. */
	if (b->in_fd >= 0) {
		_setmode(b->in_fd, _O_BINARY);
	}
	if (b->out_fd >= 0 && b->out_fd != b->in_fd) {
		_setmode(b->out_fd, _O_BINARY);
	}
	if (b->in_fd < 0) {
		/* No input: the application reads EOF at once. */
		(void)shutdown(b->s, SD_SEND);
	}
	if (b->out_fd >= 0) {
		/* Its bytes are waited for at exit (see writers_drain()). */
		if (InterlockedExchange(&exit_hooked, 1) == 0 &&
		    atexit(writers_drain) != 0) {
			hvs__log(HVS_LOG_WARN,
			    "bridge: no exit hook: bytes "
			    "still queued at exit may be lost");
		}
		b->wth = b->th[1];
		b->th[1] = NULL;
		writers_add(b);
	}
	MemoryBarrier();
	for (int i = 0; i < 2; i++) {
		if (b->th[i] != NULL) {
			HANDLE th = b->th[i];

			ResumeThread(th);
			CloseHandle(th);
		}
	}
	if (b->wth != NULL) {
		ResumeThread(b->wth); /* closed by writers_remove() */
	}
}

void
hvs__bridge_abort(hvs__bridge_t *b)
{
	b->go = 0;
	MemoryBarrier();
	for (int i = 0; i < 2; i++) {
		if (b->th[i] != NULL) {
			ResumeThread(b->th[i]);
			WaitForSingleObject(b->th[i], INFINITE);
			CloseHandle(b->th[i]);
		}
	}
	if (b->app != INVALID_SOCKET) {
		closesocket(b->app);
	}
	bridge_free(b);
}

int
hvs_fd_bridge(int in_fd, int out_fd, hvs_sock_t *out)
{
	hvs__bridge_t *b;
	hvs_sock_t s;
	int rc;

	if (out == NULL) {
		return HVS_EINVAL;
	}
	*out = HVS_INVALID_SOCK;
	rc = hvs__bridge_prepare(in_fd, out_fd, &b, &s);
	if (rc < 0) {
		return rc;
	}
	hvs__bridge_commit(b);
	*out = s;
	return 0;
}
