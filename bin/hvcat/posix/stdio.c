/* SPDX-License-Identifier: MIT */
/*
 * Standard input and output on POSIX. The relay reads and writes them
 * itself (it can poll them); pipes stand between them and the relay
 * where a pump must see an EOF. Streams are plain descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvcat.h"

/* Restored at exit: the relay may make the terminal non-blocking. */
static int saved_fl[2] = {-1, -1};

void
stdio_save(void)
{
	saved_fl[0] = fcntl(STDIN_FILENO, F_GETFL);
	saved_fl[1] = fcntl(STDOUT_FILENO, F_GETFL);
}

void
stdio_restore(void)
{
	for (int fd = 0; fd < 2; fd++) {
		if (saved_fl[fd] != -1) {
			int now = fcntl(fd, F_GETFL);
			if (now != -1 && now != saved_fl[fd]) {
				fcntl(fd, F_SETFL, saved_fl[fd]);
			}
		}
	}
}

/* ---- streams ---- */

int
stream_read(hvs_sock_t s, void *buf, size_t len, size_t *got)
{
	ssize_t n;

	*got = 0;
	do {
		n = read(s, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return hvs_translate_sys_error(errno);
	}
	*got = (size_t)n;
	return n == 0 ? HVS_EOF : 0;
}

int
stream_write(hvs_sock_t s, const void *buf, size_t len, size_t *put)
{
	ssize_t n;

	*put = 0;
	do {
		n = write(s, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return hvs_translate_sys_error(errno);
	}
	*put = (size_t)n;
	return 0;
}

int
stream_pollable(hvs_sock_t s)
{
	struct stat st;

	if (fstat(s, &st) < 0) {
		return 1;
	}
	/* Regular files, /dev/null: always ready. */
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(s);
}

void
stream_set_nonblock(hvs_sock_t s)
{
	int fl = fcntl(s, F_GETFL);

	if (fl != -1 && !(fl & O_NONBLOCK)) {
		(void)fcntl(s, F_SETFL, fl | O_NONBLOCK);
	}
}

void
stream_close(hvs_sock_t s)
{
	if (s >= 0) {
		close(s);
	}
}

/* ---- the wiring of a session ---- */

/* A copy of stdin/stdout for the relay, which closes what it is given.
 * Both are open: main() put /dev/null in place of a closed one
 * (hvc_reserve_stdio()) before anything else took its number, the event
 * loop's descriptor for one. */
static int
dup_stdio(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

static int
pipe_cloexec(int p[2])
{
	if (pipe(p) < 0) {
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(p[i], F_SETFD, FD_CLOEXEC);
		fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK);
	}
	return 0;
}

int
stdio_open(const struct options *o, int in_pump, int out_pump,
    struct stdio_ends *e)
{
	int p[2], devnull = -1;

	e->a_in = e->a_out = -1;
	e->in_src = e->in_w = e->out_r = e->out_dst = -1;
	e->in_pump = in_pump;
	e->out_pump = out_pump;
	e->own_in_src = 0;
	e->own_out_dst = 0;

	/* --recv-only gives the relay a pipe that never delivers a byte. */
	if (o->recv_only || in_pump) {
		if (pipe_cloexec(p) < 0) {
			goto fail;
		}
		e->a_in = p[0];
		e->in_w = p[1];
		e->in_src = STDIN_FILENO;
	} else if ((e->a_in = dup_stdio(STDIN_FILENO)) < 0) {
		goto fail;
	}
	if (o->send_only) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull < 0) {
			goto fail;
		}
	}
	if (out_pump) {
		if (pipe_cloexec(p) < 0) {
			goto fail;
		}
		e->a_out = p[1];
		e->out_r = p[0];
		if (devnull >= 0) {
			e->out_dst = devnull;
			e->own_out_dst = 1;
			devnull = -1;
		} else {
			e->out_dst = STDOUT_FILENO;
		}
	} else if (devnull >= 0) {
		e->a_out = devnull;
		devnull = -1;
	} else if ((e->a_out = dup_stdio(STDOUT_FILENO)) < 0) {
		goto fail;
	}
	return 0;

fail:;
	int rc = hvs_translate_sys_error(errno);
	if (devnull >= 0) {
		close(devnull);
	}
	stdio_close(e);
	return rc;
}

int
stdio_relay(hvs_relay_t **out, struct event_base *base, struct stdio_ends *e,
    hvs_sock_t b, const hvs_relay_opts_t *ro, hvs_relay_done_fn done,
    void *userdata)
{
	int rc = hvs_relay_new_fds(out, base, e->a_in, e->a_out, b, ro, done,
	    userdata);

	if (rc == 0) {
		e->a_in = e->a_out = -1;
	}
	return rc;
}

void
stdio_end_in(struct stdio_ends *e)
{
	if (e->in_w >= 0) {
		close(e->in_w);
		e->in_w = -1;
	}
}

int
stdio_close(struct stdio_ends *e)
{
	int *fds[] = {&e->a_in, &e->a_out, &e->in_w, &e->out_r};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	}
	if (e->own_in_src && e->in_src >= 0) {
		close(e->in_src);
	}
	if (e->own_out_dst && e->out_dst >= 0) {
		close(e->out_dst);
	}
	e->in_src = e->out_dst = -1;
	e->own_in_src = e->own_out_dst = 0;
	return 0;
}

const char *
stdio_strerror(int err, int write)
{
	(void)write;
	return hvs_strerror(err);
}
