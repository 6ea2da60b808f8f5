/* SPDX-License-Identifier: MIT */
/* See testos.h: POSIX. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testos.h"

int
testos_count_fds(void)
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

int
testos_is_cloexec(hvs_sock_t s)
{
	int fl = fcntl(s, F_GETFD);

	return fl >= 0 && (fl & FD_CLOEXEC) != 0;
}

int
testos_is_nonblock(hvs_sock_t s)
{
	int fl = fcntl(s, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK) != 0;
}

void
testos_default_sigpipe(void)
{
	signal(SIGPIPE, SIG_DFL);
}

static struct rlimit saved_limit;
static int limit_saved;

int
testos_fd_shortage(hvs_sock_t like, int headroom, int *fds, int max)
{
	struct rlimit low;
	int n = 0, fd;

	if (getrlimit(RLIMIT_NOFILE, &saved_limit) != 0) {
		return -1;
	}
	low = saved_limit;
	low.rlim_cur = (rlim_t)testos_count_fds() + (rlim_t)headroom;
	if (low.rlim_cur > saved_limit.rlim_cur) {
		low.rlim_cur = saved_limit.rlim_cur;
	}
	if (setrlimit(RLIMIT_NOFILE, &low) != 0) {
		return -1;
	}
	limit_saved = 1;
	while ((fd = dup(like)) >= 0) {
		if (n == max) {
			close(fd);
			return -1;
		}
		fds[n++] = fd;
	}
	if (errno != EMFILE) {
		return -1;
	}
	return n;
}

void
testos_fd_release(int fd)
{
	close(fd);
}

void
testos_fd_shortage_end(void)
{
	if (limit_saved) {
		(void)setrlimit(RLIMIT_NOFILE, &saved_limit);
		limit_saved = 0;
	}
}

hvs_sock_t
testos_tcp_listener(int backlog, uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int s;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(s, backlog) != 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) != 0) {
		abort();
	}
	*port = ntohs(sin.sin_port);
	return s;
}

hvs_sock_t
testos_accept(hvs_sock_t ls)
{
	int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

	return s >= 0 ? s : HVS_INVALID_SOCK;
}

void
testos_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

void
testos_socketpair(hvs_sock_t sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		abort();
	}
}

void
testos_tcp_pair(hvs_sock_t *ls, hvs_sock_t sv[2])
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	uint16_t port;
	int one = 1;

	if (*ls == HVS_INVALID_SOCK) {
		*ls = testos_tcp_listener(128, &port);
	}
	if (getsockname(*ls, (struct sockaddr *)&sin, &len) != 0) {
		abort();
	}
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&sin, len) != 0) {
		abort();
	}
	sv[1] = testos_accept(*ls);
	if (sv[1] == HVS_INVALID_SOCK) {
		abort();
	}
	(void)setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void
testos_set_nonblock(hvs_sock_t s)
{
	int fl = fcntl(s, F_GETFL);

	if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) != 0) {
		abort();
	}
}

void
testos_abort_close(hvs_sock_t s)
{
	struct linger lg = {1, 0};

	(void)setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s);
}

long
testos_read(hvs_sock_t s, void *buf, size_t len, int *err)
{
	ssize_t n = read(s, buf, len);

	if (n < 0) {
		*err = errno;
	}
	return (long)n;
}

long
testos_send(hvs_sock_t s, const void *buf, size_t len, int *err)
{
	ssize_t n = send(s, buf, len, MSG_NOSIGNAL);

	if (n < 0) {
		*err = errno;
	}
	return (long)n;
}

void
testos_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
testos_pipe(int p[2])
{
	return pipe2(p, O_CLOEXEC);
}

int
testos_pty(int *master, int *slave)
{
	struct termios t;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) != 0 || unlockpt(*master) != 0) {
		return -1;
	}
	*slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0 || tcgetattr(*slave, &t) != 0) {
		return -1;
	}
	/* Canonical input (so ^D is an EOF), no echo, no output rewriting. */
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	t.c_oflag &= ~(tcflag_t)OPOST;
	return tcsetattr(*slave, TCSANOW, &t);
}

int
testos_open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int
testos_pipe_bytes(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

int
testos_resets_reach_peer(void)
{
	return 1;
}
