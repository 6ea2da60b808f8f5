/* SPDX-License-Identifier: MIT */
/*
 * End-to-end test of the hvs-expose example as a tcp -> tcp forwarder on
 * loopback (no vsock needed): a request/response with half-close, bytes
 * both ways at once, a target that refuses, exit after -n connections,
 * and a clean exit on SIGTERM.
 *
 *	test_expose /path/to/hvs-expose
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *exe;

static unsigned char
pat(unsigned seed, uint64_t off)
{
	return (unsigned char)((off * 131u + seed * 7u + (off >> 11)) & 0xff);
}

static int
tcp_listen(int *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int s;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) < 0) {
		err(1, "listener");
	}
	*port = ntohs(sin.sin_port);
	return s;
}

static int
tcp_connect(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int s;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		err(1, "connect to port %d", port);
	}
	return s;
}

/* Start hvs-expose; return its pid and the port it listens on. */
static pid_t
spawn(const char *nopt, int target_port, int *port)
{
	char target[64], line[256];
	int out[2];
	pid_t pid;
	FILE *f;

	snprintf(target, sizeof(target), "tcp:127.0.0.1:%d", target_port);
	if (pipe(out) < 0) {
		err(1, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		err(1, "fork");
	}
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		if (nopt != NULL) {
			execl(exe, exe, "-v", "-n", nopt, "-w", "2000",
			    "tcp:127.0.0.1:0", target, (char *)NULL);
		} else {
			execl(exe, exe, "-v", "tcp:127.0.0.1:0", target,
			    (char *)NULL);
		}
		err(127, "exec %s", exe);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "listening on tcp:127.0.0.1:%d", port) != 1) {
		errx(1, "hvs-expose did not say where it listens");
	}
	fclose(f);
	return pid;
}

static void
reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid) {
		err(1, "waitpid");
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		errx(1, "hvs-expose exited with status %#x", st);
	}
}

struct end {
	int fd;
	unsigned seed_out, seed_in;
	uint64_t send_len, sent, recv_len, got;
	int after_eof; /* send only once the peer's EOF came */
	int eof, shut;
};

/* Move both ends' bytes through the forwarder until both saw EOF. */
static void
duplex(struct end *e, int n)
{
	static unsigned char buf[65536];

	for (int i = 0; i < n; i++) {
		fcntl(e[i].fd, F_SETFL, fcntl(e[i].fd, F_GETFL) | O_NONBLOCK);
	}
	for (;;) {
		struct pollfd p[2];
		int busy = 0;

		for (int i = 0; i < n; i++) {
			int can_send = !e[i].after_eof || e[i].eof;

			p[i].fd = e[i].fd;
			p[i].events = 0;
			if (!e[i].eof) {
				p[i].events |= POLLIN;
				busy = 1;
			}
			if (can_send && !e[i].shut) {
				p[i].events |= POLLOUT;
				busy = 1;
			}
		}
		if (!busy) {
			return;
		}
		if (poll(p, (nfds_t)n, 30000) <= 0) {
			errx(1, "transfer stalled");
		}
		for (int i = 0; i < n; i++) {
			struct end *x = &e[i];
			ssize_t k;

			if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				k = read(x->fd, buf, sizeof(buf));
				if (k == 0) {
					x->eof = 1;
				} else if (k < 0 && errno != EAGAIN) {
					err(1, "read");
				}
				for (ssize_t j = 0; j < k; j++) {
					if (buf[j] !=
					    pat(x->seed_in,
						x->got + (uint64_t)j)) {
						errx(1, "wrong byte at %llu",
						    (unsigned long long)(x->got +
							(uint64_t)j));
					}
				}
				if (k > 0) {
					x->got += (uint64_t)k;
				}
			}
			if ((p[i].revents & POLLOUT) && !x->shut) {
				uint64_t left = x->send_len - x->sent;
				size_t len = left < sizeof(buf) ? (size_t)left
								: sizeof(buf);

				for (size_t j = 0; j < len; j++) {
					buf[j] = pat(x->seed_out, x->sent + j);
				}
				k = len > 0 ? write(x->fd, buf, len) : 0;
				if (k < 0 && errno != EAGAIN) {
					err(1, "write");
				}
				if (k > 0) {
					x->sent += (uint64_t)k;
				}
				if (x->sent == x->send_len) {
					shutdown(x->fd, SHUT_WR);
					x->shut = 1;
				}
			}
		}
	}
}

static void
check(const struct end *e, int n)
{
	for (int i = 0; i < n; i++) {
		if (e[i].got != e[i].recv_len) {
			errx(1, "end %d got %llu bytes, expected %llu", i,
			    (unsigned long long)e[i].got,
			    (unsigned long long)e[i].recv_len);
		}
	}
}

/* One connection through the forwarder: client end, server end. */
static void
conn(int lsock, int port, uint64_t up, uint64_t down, int respond_after)
{
	struct end e[2];

	memset(e, 0, sizeof(e));
	e[0].fd = tcp_connect(port);
	e[1].fd = accept(lsock, NULL, NULL);
	if (e[1].fd < 0) {
		err(1, "accept");
	}
	e[0].seed_out = e[1].seed_in = 1;
	e[1].seed_out = e[0].seed_in = 2;
	e[0].send_len = e[1].recv_len = up;
	e[1].send_len = e[0].recv_len = down;
	e[1].after_eof = respond_after;
	duplex(e, 2);
	check(e, 2);
	close(e[0].fd);
	close(e[1].fd);
}

int
main(int argc, char *argv[])
{
	int lsock, lport, port;
	char ch;
	pid_t pid;
	int c;

	if (argc != 2) {
		fprintf(stderr, "usage: test_expose /path/to/hvs-expose\n");
		return 2;
	}
	exe = argv[1];
	signal(SIGPIPE, SIG_IGN);
	alarm(120); /* liveness only */

	lsock = tcp_listen(&lport);
	pid = spawn("3", lport, &port);
	/* A request, its EOF, then the response: half-close end to end. */
	conn(lsock, port, 1048576 + 7, 3 * 1048576, 1);
	/* Both ways at once. */
	conn(lsock, port, 2 * 1048576 + 1, 2 * 1048576 + 3, 0);
	/* The target refuses: the client is closed, the daemon lives on. */
	close(lsock);
	c = tcp_connect(port);
	if (read(c, &ch, 1) > 0) {
		errx(1, "bytes from a connection that has no target");
	}
	close(c);
	/* -n 3: it exits by itself now. */
	reap(pid);

	/* SIGTERM: a clean, prompt exit. */
	lsock = tcp_listen(&lport);
	pid = spawn(NULL, lport, &port);
	kill(pid, SIGTERM);
	reap(pid);
	close(lsock);
	printf("ok\n");
	return 0;
}
