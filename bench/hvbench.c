/* SPDX-License-Identifier: MIT */
/*
 * hvbench: load generator and verifying servers for bench/run.sh.
 *
 *   hvbench serve --listen ADDR --mode auto|sink [--threads T] [--ready F]
 *   hvbench bulk  --connect ADDR [--streams S] [--bytes B]
 *   hvbench rtt   --connect ADDR [--count N] [--size 64] [--warmup W]
 *   hvbench churn --connect ADDR [--conc C] [--secs D] [--max N]
 *   hvbench hold  --connect ADDR --n N [--secs LIMIT] [--hold SECS]
 *                 [--ready F]
 *   hvbench source --listen ADDR --bytes B [--ready F]
 *                                each connection gets B bytes of the raw
 *                                pattern, then EOF (the far end of a
 *                                "vsock -> file" client measurement)
 *   hvbench gen BYTES            the raw pattern (seed 0) on stdout
 *   hvbench reap -- CMD ARGS...  run CMD as the subreaper of its tree
 *
 * ADDR is tcp:127.0.0.1:PORT (any 127.0.0.0/8 address, nothing else) or
 * vsock:CID:PORT. AF_VSOCK is refused unless the kernel command line holds
 * hvsvm=1 (the test VM): on a host, vsock leads to the real hypervisor.
 *
 * Every client prints one line "KEY=VALUE ..." on stdout; exit status 0
 * when every byte was verified, 1 otherwise, 2 on usage errors.
 *
 * Bulk data is a pseudo-random pattern P (1 MiB, fixed seed): stream s
 * carries byte P[(o + s * 7919) % 1 MiB] at offset o. A bulk stream starts
 * with a 16-byte header ("HVB1", seed, length); the sink compares every
 * byte it receives with the pattern (memcmp) and answers with 16 bytes
 * ("HVOK" or "HVNO", count) once it has them all. A stream without the
 * header is "raw": the pattern of seed 0 from offset 0, of any length (what
 * hvcat, socat and ncat send from a file made by `hvbench gen`); the sink
 * logs "sink raw bytes=N ok=1" on stderr for it.
 *
 * The echo server sends back what it gets and closes after the peer's EOF.
 * Every loop is bounded: by byte counts, by --secs, or by --max.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
struct sockaddr_vm_ {
	unsigned short svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_zero[sizeof(struct sockaddr) -
	    sizeof(unsigned short) - sizeof(unsigned short) -
	    sizeof(unsigned int) - sizeof(unsigned int)];
};

#define PAT (1u << 20)
#define CHUNK (256u * 1024)
#define SEED_STEP 7919u

static void usage(void);

static unsigned char *pat; /* PAT + CHUNK bytes: the tail repeats the head */

static void
die(const char *msg)
{
	fprintf(stderr, "hvbench: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static void
pat_init(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	pat = malloc(PAT + CHUNK);
	if (pat == NULL) {
		die("malloc");
	}
	for (size_t i = 0; i < PAT; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(pat + i, &x, 8);
	}
	memcpy(pat + PAT, pat, CHUNK);
	if (memcmp(pat, "HVB1", 4) == 0) {
		pat[0] ^= 0xff; /* raw streams must not look like a header */
	}
	memcpy(pat + PAT, pat, CHUNK);
}

static const unsigned char *
pat_at(uint32_t seed, uint64_t off)
{
	return pat + (size_t)((off + (uint64_t)seed * SEED_STEP) % PAT);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- addresses -------------------------------------------------------- */

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

static int
vsock_allowed(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/cmdline", "r");
	size_t n;

	if (f == NULL) {
		return 0;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *p = buf; (p = strstr(p, "hvsvm=1")) != NULL; p++) {
		if ((p == buf || p[-1] == ' ') &&
		    (p[7] == '\0' || p[7] == ' ' || p[7] == '\n')) {
			return 1;
		}
	}
	return 0;
}

static void
parse_addr(struct addr *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(s, "tcp:", 4) == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
		const char *colon = strrchr(s + 4, ':');
		char host[64];

		if (colon == NULL ||
		    (size_t)(colon - (s + 4)) >= sizeof(host)) {
			goto bad;
		}
		memcpy(host, s + 4, (size_t)(colon - (s + 4)));
		host[colon - (s + 4)] = '\0';
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
			goto bad;
		}
		/* Loopback only: this program generates load. */
		if ((ntohl(in->sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "hvbench: %s: only 127.0.0.0/8\n", s);
			exit(2);
		}
		a->len = sizeof(*in);
		a->family = AF_INET;
		return;
	}
	if (strncmp(s, "vsock:", 6) == 0) {
		struct sockaddr_vm_ *vm = (struct sockaddr_vm_ *)&a->ss;
		unsigned cid, port;

		if (sscanf(s + 6, "%u:%u", &cid, &port) != 2) {
			goto bad;
		}
		if (!vsock_allowed()) {
			fprintf(stderr,
			    "hvbench: AF_VSOCK only inside the "
			    "test VM (hvsvm=1 on the kernel command line)\n");
			exit(2);
		}
		vm->svm_family = AF_VSOCK;
		vm->svm_cid = cid;
		vm->svm_port = port;
		a->len = sizeof(*vm);
		a->family = AF_VSOCK;
		return;
	}
bad:
	fprintf(stderr,
	    "hvbench: bad address '%s' (tcp:127.0.0.1:PORT or "
	    "vsock:CID:PORT)\n",
	    s);
	exit(2);
}

static int
sock_new(const struct addr *a, int nonblock)
{
	int fd = socket(a->family,
	    SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	int one = 1;

	if (fd >= 0 && a->family == AF_INET) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

static int
connect_blocking(const struct addr *a)
{
	int fd = sock_new(a, 0);

	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send @bytes of stream @seed from its start; returns the bytes sent. */
static uint64_t
send_pattern(int fd, uint32_t seed, uint64_t bytes)
{
	uint64_t off = 0;

	while (off < bytes) {
		size_t k = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;

		if (send_all(fd, pat_at(seed, off), k) < 0) {
			break;
		}
		off += k;
	}
	return off;
}

/* Read exactly @len bytes; 0, or -1 on error or early EOF. */
static int
recv_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = recv(fd, c, len, 0);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			if (n == 0) {
				errno = EPIPE;
			}
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- servers ---------------------------------------------------------- */

/*
 * One server for every loopback workload: a connection that starts with
 * the bulk header is a sink; any other is echoed (mode "auto"), or, in
 * mode "sink", taken as a raw pattern stream from offset 0.
 */
enum { MODE_AUTO, MODE_SINK };
enum { C_SNIFF, C_SINK, C_RAW, C_ECHO };

struct conn {
	int fd;
	int st;
	int bad;
	int acked;
	int hdr_got;
	unsigned char hdr[16];
	uint32_t seed;
	uint64_t want;
	uint64_t got;
	/* echo: bytes the socket did not take yet; reading waits for them */
	char *pend;
	size_t pend_len, pend_off;
};

struct server {
	int lfd;
	int mode;
	int log;
};

static void
conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pend);
	free(c);
}

static void
conn_watch(int ep, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Send what is pending; 0 = all out, 1 = some left, -1 = error. */
static int
echo_flush(struct conn *c)
{
	while (c->pend_off < c->pend_len) {
		ssize_t n = send(c->fd, c->pend + c->pend_off,
		    c->pend_len - c->pend_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return errno == EAGAIN ? 1 : -1;
		}
		c->pend_off += (size_t)n;
	}
	free(c->pend);
	c->pend = NULL;
	c->pend_len = c->pend_off = 0;
	return 0;
}

/* Echo @p: straight back, or queued (then reading pauses). */
static int
echo_bytes(int ep, struct conn *c, const unsigned char *p, size_t n)
{
	char *q;

	if (n == 0) {
		return 0;
	}
	if (c->pend == NULL) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		}
		if (w < 0) {
			w = 0;
		}
		p += w;
		n -= (size_t)w;
		if (n == 0) {
			return 0;
		}
	}
	q = realloc(c->pend, c->pend_len + n);
	if (q == NULL) {
		return -1;
	}
	memcpy(q + c->pend_len, p, n);
	c->pend = q;
	c->pend_len += n;
	conn_watch(ep, c, EPOLLOUT);
	return 0;
}

static void
sink_ack(struct conn *c, int ok)
{
	unsigned char ack[16];

	memcpy(ack, ok ? "HVOK" : "HVNO", 4);
	memset(ack + 4, 0, 4);
	memcpy(ack + 8, &c->got, 8);
	(void)send(c->fd, ack, sizeof(ack), MSG_NOSIGNAL);
	c->acked = 1;
}

/* Bytes for a connection; -1 to close it. */
static int
conn_data(struct server *s, int ep, struct conn *c, const unsigned char *p,
    size_t n)
{
	while (c->st == C_SNIFF && n > 0) {
		if (c->hdr_got < 4 &&
		    p[0] != (unsigned char)"HVB1"[c->hdr_got]) {
			if (s->mode == MODE_AUTO) {
				c->st = C_ECHO;
				if (echo_bytes(ep, c, c->hdr,
					(size_t)c->hdr_got) < 0) {
					return -1;
				}
				break;
			}
			/* a raw stream: the pattern of seed 0 from offset 0 */
			c->st = C_RAW;
			if (c->hdr_got > 0 &&
			    memcmp(c->hdr, pat_at(0, 0), (size_t)c->hdr_got)) {
				c->bad = 1;
			}
			c->got = (uint64_t)c->hdr_got;
			break;
		}
		c->hdr[c->hdr_got++] = *p++;
		n--;
		if (c->hdr_got == 16) {
			c->st = C_SINK;
			memcpy(&c->seed, c->hdr + 4, 4);
			memcpy(&c->want, c->hdr + 8, 8);
		}
	}
	if (c->st == C_SNIFF) {
		return 0;
	}
	if (c->st == C_ECHO) {
		return echo_bytes(ep, c, p, n);
	}
	while (n > 0) {
		size_t k = n < CHUNK ? n : CHUNK;

		if (!c->bad && memcmp(p, pat_at(c->seed, c->got), k) != 0) {
			c->bad = 1;
		}
		c->got += k;
		p += k;
		n -= k;
	}
	/*
	 * A stream with a header is answered as soon as its last byte is
	 * in, not at its EOF: ncat's --sh-exec relay does not pass a
	 * half-close on (it exits at the client's EOF), so a sender that
	 * waited for the answer after shutdown(SHUT_WR) would never get it.
	 */
	if (c->st == C_SINK && !c->acked && c->got >= c->want) {
		if (c->got > c->want) {
			c->bad = 1;
		}
		sink_ack(c, !c->bad);
		if (s->log || c->bad) {
			fprintf(stderr, "sink stream bytes=%llu ok=%d\n",
			    (unsigned long long)c->got, !c->bad);
		}
	}
	return 0;
}

/* The peer's EOF. */
static void
conn_eof(struct conn *c)
{
	int ok;

	if (c->st == C_ECHO || c->acked ||
	    (c->st == C_SNIFF && c->hdr_got == 0)) {
		return; /* an echo, done, or nothing ever sent: no answer */
	}
	ok = c->st == C_RAW && !c->bad;
	sink_ack(c, ok);
	fprintf(stderr, "sink %s bytes=%llu ok=%d\n",
	    c->st == C_RAW ? "raw" : "short", (unsigned long long)c->got, ok);
}

static void
serve_accept(struct server *s, int ep)
{
	for (int k = 0; k < 64; k++) {
		int fd =
		    accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				usleep(10000);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
		}
	}
}

static void *
serve_thread(void *arg)
{
	struct server *s = arg;
	struct epoll_event evs[256];
	unsigned char *buf = malloc(CHUNK);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE,
	    .data.ptr = NULL};

	if (buf == NULL || ep < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s->lfd, &lev) < 0) {
		die("server setup");
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				serve_accept(s, ep);
				continue;
			}
			if (c->pend != NULL) {
				int r = echo_flush(c);

				if (r < 0) {
					conn_close(ep, c);
				} else if (r == 0) {
					conn_watch(ep, c, EPOLLIN);
				}
				continue;
			}
			/* Bounded: a few reads per wake-up, fair to others. */
			for (int round = 0; round < 8; round++) {
				ssize_t r = recv(c->fd, buf, CHUNK, 0);

				if (r < 0 && errno == EINTR) {
					continue;
				}
				if (r < 0 && errno == EAGAIN) {
					break;
				}
				if (r == 0) {
					conn_eof(c);
				}
				if (r <= 0 ||
				    conn_data(s, ep, c, buf, (size_t)r) < 0) {
					conn_close(ep, c);
					break;
				}
				if (c->pend != NULL) {
					break; /* wait until it is out */
				}
			}
		}
	}
	return NULL;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
write_ready(const char *path, const char *text)
{
	FILE *f;
	char tmp[4096];

	if (path == NULL) {
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL) {
		die(tmp);
	}
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

/* A listening socket on @listen_s (SOCK_NONBLOCK in @flags or not). */
static int
listen_on(const char *listen_s, int flags, int backlog)
{
	struct addr a;
	int fd, one = 1;

	parse_addr(&a, listen_s);
	fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0) {
		die("socket");
	}
	if (a.family == AF_INET) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		die("bind");
	}
	if (listen(fd, backlog) < 0) {
		die("listen");
	}
	return fd;
}

static int
cmd_serve(const char *listen_s, int mode, int threads, const char *ready,
    int log)
{
	struct server s;
	pthread_t th[16];

	s.lfd = listen_on(listen_s, SOCK_NONBLOCK, 4096);
	s.mode = mode;
	s.log = log;
	if (threads < 1 || threads > 16) {
		threads = 1;
	}
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&th[i], NULL, serve_thread, &s) != 0) {
			die("pthread_create");
		}
	}
	write_ready(ready, "ready\n");
	/* Runs until killed: run.sh stops it. */
	pthread_join(th[0], NULL);
	return 0;
}

/* ---- source ----------------------------------------------------------- */

/*
 * One connection at a time: B bytes of the raw pattern (seed 0) in blocking
 * CHUNK writes, a half-close, then whatever the peer sends is read until
 * its EOF (so a client that waits for our EOF before it ends its own side,
 * and one that ends first, both finish cleanly). The client verifies what
 * it got (cmp with `hvbench gen B`).
 */
static int
cmd_source(const char *listen_s, uint64_t bytes, const char *ready)
{
	int lfd = listen_on(listen_s, 0, 64);
	char junk[4096];

	write_ready(ready, "ready\n");
	for (;;) {
		uint64_t off;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			die("accept");
		}
		off = send_pattern(fd, 0, bytes);
		shutdown(fd, SHUT_WR);
		while (recv(fd, junk, sizeof(junk), 0) > 0) {
		}
		fprintf(stderr, "source sent bytes=%llu of %llu\n",
		    (unsigned long long)off, (unsigned long long)bytes);
		close(fd);
	}
	return 0;
}

/* ---- bulk ------------------------------------------------------------- */

struct bulk_arg {
	struct addr *a;
	uint32_t seed;
	uint64_t bytes;
	pthread_barrier_t *bar;
	int ok;
	double end;
	char err[160];
};

static void *
bulk_thread(void *arg)
{
	struct bulk_arg *b = arg;
	unsigned char hdr[16], ack[16];
	uint64_t off = 0, got;
	int fd;

	pthread_barrier_wait(b->bar);
	fd = connect_blocking(b->a);
	if (fd < 0) {
		snprintf(b->err, sizeof(b->err), "connect: %s",
		    strerror(errno));
		return NULL;
	}
	memcpy(hdr, "HVB1", 4);
	memcpy(hdr + 4, &b->seed, 4);
	memcpy(hdr + 8, &b->bytes, 8);
	if (send_all(fd, hdr, sizeof(hdr)) < 0) {
		goto fail;
	}
	off = send_pattern(fd, b->seed, b->bytes);
	if (off < b->bytes) {
		goto fail;
	}
	/* The sink answers once it has every byte: no half-close needed. */
	if (recv_all(fd, ack, sizeof(ack)) < 0) {
		goto fail;
	}
	b->end = now_s();
	memcpy(&got, ack + 8, 8);
	if (memcmp(ack, "HVOK", 4) != 0 || got != b->bytes) {
		snprintf(b->err, sizeof(b->err),
		    "sink says %.4s, %llu of %llu "
		    "bytes",
		    ack, (unsigned long long)got, (unsigned long long)b->bytes);
		close(fd);
		return NULL;
	}
	b->ok = 1;
	close(fd);
	return NULL;
fail:
	snprintf(b->err, sizeof(b->err), "stream %u at %llu: %s", b->seed,
	    (unsigned long long)off, strerror(errno));
	close(fd);
	return NULL;
}

static int
cmd_bulk(const char *conn_s, int streams, uint64_t bytes)
{
	struct addr a;
	pthread_t th[64];
	struct bulk_arg args[64];
	pthread_barrier_t bar;
	double t0, t1 = 0;
	int ok = 1;

	parse_addr(&a, conn_s);
	if (streams < 1 || streams > 64) {
		fprintf(stderr, "hvbench: 1..64 streams\n");
		return 2;
	}
	pthread_barrier_init(&bar, NULL, (unsigned)streams + 1);
	for (int i = 0; i < streams; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].a = &a;
		args[i].seed = (uint32_t)i + 1;
		args[i].bytes = bytes;
		args[i].bar = &bar;
		if (pthread_create(&th[i], NULL, bulk_thread, &args[i]) != 0) {
			die("pthread_create");
		}
	}
	t0 = now_s();
	pthread_barrier_wait(&bar);
	for (int i = 0; i < streams; i++) {
		pthread_join(th[i], NULL);
		if (!args[i].ok) {
			fprintf(stderr, "hvbench: bulk: %s\n", args[i].err);
			ok = 0;
		} else if (args[i].end > t1) {
			t1 = args[i].end;
		}
	}
	if (!ok) {
		printf("bulk ok=0\n");
		return 1;
	}
	printf("bulk ok=1 streams=%d bytes=%llu secs=%.6f gbps=%.4f\n", streams,
	    (unsigned long long)bytes * (unsigned)streams, t1 - t0,
	    (double)bytes * streams / (t1 - t0) / 1e9);
	return 0;
}

/* ---- round trips ------------------------------------------------------ */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmd_rtt(const char *conn_s, int count, int size, int warmup)
{
	struct addr a;
	unsigned char out[4096], in[4096];
	double *lat;
	int fd;

	parse_addr(&a, conn_s);
	if (size < 8 || size > (int)sizeof(out) || count < 1 ||
	    count > 10000000) {
		return 2;
	}
	lat = calloc((size_t)count, sizeof(double));
	fd = connect_blocking(&a);
	if (fd < 0 || lat == NULL) {
		fprintf(stderr, "hvbench: rtt: connect: %s\n", strerror(errno));
		printf("rtt ok=0\n");
		return 1;
	}
	memcpy(out, pat, (size_t)size);
	for (int i = -warmup; i < count; i++) {
		double t0 = now_s();

		memcpy(out, &i, sizeof(i));
		if (send_all(fd, out, (size_t)size) < 0 ||
		    recv_all(fd, in, (size_t)size) < 0 ||
		    memcmp(in, out, (size_t)size) != 0) {
			fprintf(stderr, "hvbench: rtt: round %d: %s\n", i,
			    strerror(errno));
			printf("rtt ok=0\n");
			return 1;
		}
		if (i >= 0) {
			lat[i] = now_s() - t0;
		}
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	qsort(lat, (size_t)count, sizeof(double), cmp_double);
	printf("rtt ok=1 count=%d size=%d median_us=%.2f p99_us=%.2f "
	       "min_us=%.2f max_us=%.2f\n",
	    count, size, lat[count / 2] * 1e6,
	    lat[(int)((double)count * 0.99)] * 1e6, lat[0] * 1e6,
	    lat[count - 1] * 1e6);
	return 0;
}

/* ---- churn: connect, echo 64 bytes, close ----------------------------- */

struct slot {
	int fd;
	int got;
	int sent;
	unsigned char msg[64];
};

static int
slot_start(int ep, const struct addr *a, struct slot *s, unsigned seq)
{
	struct epoll_event ev;

	s->fd = sock_new(a, 1);
	s->got = 0;
	s->sent = 0;
	if (s->fd < 0) {
		return -1;
	}
	memcpy(s->msg, pat_at(0, seq % 4096), sizeof(s->msg));
	memcpy(s->msg, &seq, sizeof(seq));
	if (connect(s->fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
	    errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
	ev.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	return 0;
}

/* Progress on @s: 1 = done (echo verified), 0 = wait, -1 = failed. */
static int
slot_step(struct slot *s, uint32_t events)
{
	unsigned char in[64];

	if (!s->sent) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
			return 0;
		}
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err != 0) {
			errno = err;
			return -1;
		}
		if (send(s->fd, s->msg, sizeof(s->msg), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(s->msg)) {
			return -1;
		}
		s->sent = 1;
	}
	for (;;) {
		ssize_t n = recv(s->fd, in, sizeof(s->msg) - (size_t)s->got, 0);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			return 0;
		}
		if (n <= 0) {
			if (n == 0) {
				errno = EPIPE;
			}
			return -1;
		}
		if (memcmp(in, s->msg + s->got, (size_t)n) != 0) {
			errno = EBADMSG;
			return -1;
		}
		s->got += (int)n;
		if (s->got == (int)sizeof(s->msg)) {
			return 1;
		}
	}
}

static int
cmd_churn(const char *conn_s, int conc, double secs, long max, double warm)
{
	struct addr a;
	struct slot *slots;
	struct epoll_event evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned seq = 0;
	long done = 0, errors = 0, counted = 0;
	double t0, tw, t1, end;
	int last_err = 0;

	parse_addr(&a, conn_s);
	if (conc < 1 || conc > 4096 || ep < 0) {
		return 2;
	}
	slots = calloc((size_t)conc, sizeof(*slots));
	t0 = now_s();
	tw = t0 + warm;
	end = tw + secs;
	for (int i = 0; i < conc; i++) {
		if (slot_start(ep, &a, &slots[i], seq++) < 0) {
			errors++;
			last_err = errno;
			slots[i].fd = -1;
		}
	}
	for (;;) {
		double t = now_s();
		int n;

		if (t >= end || done >= max) {
			break;
		}
		n = epoll_wait(ep, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;
			int r = slot_step(s, evs[i].events);

			if (r == 0) {
				continue;
			}
			if (r < 0) {
				errors++;
				last_err = errno;
			} else {
				done++;
				if (now_s() >= tw) {
					counted++;
				}
			}
			close(s->fd);
			s->fd = -1;
			if (slot_start(ep, &a, s, seq++) < 0) {
				errors++;
				last_err = errno;
			}
		}
		/* Slots that could not start (fds, ports): try again. */
		for (int i = 0; i < conc; i++) {
			if (slots[i].fd < 0 && errors < 1000000 &&
			    slot_start(ep, &a, &slots[i], seq++) < 0) {
				errors++;
			}
		}
		if (errors > 100000) {
			break;
		}
	}
	t1 = now_s();
	for (int i = 0; i < conc; i++) {
		if (slots[i].fd >= 0) {
			close(slots[i].fd);
		}
	}
	if (t1 <= tw) {
		tw = t0;
		counted = done;
	}
	/* ok: no connection failed (a relay too slow for one is rate=0) */
	printf("churn ok=%d conc=%d conns=%ld errors=%ld secs=%.4f "
	       "rate=%.1f last_error=%s\n",
	    errors == 0, conc, counted, errors, t1 - tw,
	    (double)counted / (t1 - tw),
	    last_err ? strerrorname_np(last_err) : "-");
	return errors == 0 ? 0 : 1;
}

/* ---- hold: N idle relayed connections --------------------------------- */

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
cmd_hold(const char *conn_s, int n, double limit, double hold,
    const char *ready, int inflight)
{
	struct addr a;
	struct slot *slots;
	struct epoll_event evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int started = 0, ok = 0, failed = 0, pending = 0;
	int last_err = 0;
	double t0 = now_s(), t1, tend;
	char line[256];
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	raise_nofile();
	parse_addr(&a, conn_s);
	if (n < 1 || n > 100000 || ep < 0) {
		return 2;
	}
	slots = calloc((size_t)n, sizeof(*slots));
	while ((started < n || pending > 0) && now_s() - t0 < limit && !stop) {
		while (started < n && pending < inflight) {
			struct slot *s = &slots[started++];

			if (slot_start(ep, &a, s, (unsigned)started) < 0) {
				failed++;
				last_err = errno;
				s->fd = -1;
				continue;
			}
			/* a 64-byte echo proves the relay is through */
			pending++;
		}
		int k = epoll_wait(ep, evs, 256, 50);
		for (int i = 0; i < k; i++) {
			struct slot *s = evs[i].data.ptr;
			int r;

			if (s->got < 0) {
				continue; /* done already */
			}
			r = slot_step(s, evs[i].events);
			if (r == 0) {
				continue;
			}
			pending--;
			epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
			if (r < 0) {
				failed++;
				last_err = errno;
				close(s->fd);
				s->fd = -1;
			} else {
				ok++;
				s->got = -1;
			}
		}
	}
	t1 = now_s();
	snprintf(line, sizeof(line),
	    "hold ok=%d failed=%d unfinished=%d "
	    "want=%d secs=%.3f last_error=%s\n",
	    ok, failed, pending, n, t1 - t0,
	    last_err ? strerrorname_np(last_err) : "-");
	fputs(line, stdout);
	fflush(stdout);
	write_ready(ready, line);
	/* Hold until stdin closes, a signal, or the hold bound. */
	tend = now_s() + hold;
	while (!stop && now_s() < tend) {
		struct pollfd pfd = {.fd = 0, .events = POLLIN};
		char c;

		if (poll(&pfd, 1, 100) > 0 && read(0, &c, 1) <= 0) {
			break;
		}
	}
	for (int i = 0; i < n; i++) {
		if (slots[i].fd > 0) {
			close(slots[i].fd);
		}
	}
	return 0;
}

/* ---- reap: run a relay as the subreaper of its process tree ----------- */

/*
 * socat and ncat fork per connection, and ncat's --sh-exec child exits
 * before the ncat it started, whose orphan would be reaped by init: its
 * CPU time would leave the tree. Under `hvbench reap` every orphan of the
 * tree comes to us and is reaped here, so this process's cutime+cstime
 * (/proc/PID/stat) plus the live descendants' own times are the whole
 * tree's CPU time. SIGTERM/SIGINT go to the command; when it has exited,
 * what is left of the tree gets SIGTERM, then SIGKILL after 3 s (each by
 * its process id: only our own descendants).
 */
static volatile sig_atomic_t got_term;

static void
on_reap_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* Signal every direct child of ours (orphans reparented to us). */
static int
signal_children(int sig)
{
	char path[64], buf[512];
	int count = 0;
	pid_t me = getpid();
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (d == NULL) {
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atoi(e->d_name);
		FILE *f;
		char *rp;
		int ppid;

		if (pid <= 0) {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (rp = strrchr(buf, ')')) != NULL &&
		    sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == (int)me) {
			kill(pid, sig);
			count++;
		}
		fclose(f);
	}
	closedir(d);
	return count;
}

static int
cmd_reap(char **argv)
{
	struct sigaction sa;
	pid_t child, w;
	int st, rc = 1, main_done = 0, forwarded = 0;
	double deadline = 0;

	if (argv[0] == NULL) {
		usage();
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		die("prctl(PR_SET_CHILD_SUBREAPER)");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_reap_term; /* no SA_RESTART: waitpid returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	child = fork();
	if (child < 0) {
		die("fork");
	}
	if (child == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "hvbench: reap: %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	for (;;) {
		if (got_term && !forwarded && !main_done) {
			kill(child, SIGTERM);
			forwarded = 1;
		}
		if (main_done) {
			w = waitpid(-1, &st, WNOHANG);
			if (w == 0) {
				if (now_s() > deadline) {
					signal_children(SIGKILL);
					deadline = now_s() + 3600;
				}
				usleep(20000);
				continue;
			}
		} else {
			w = waitpid(-1, &st, 0);
		}
		if (w < 0) {
			if (errno == EINTR) {
				continue;
			}
			break; /* ECHILD: the whole tree is gone */
		}
		if (w == child) {
			main_done = 1;
			rc = WIFEXITED(st) ? WEXITSTATUS(st)
					   : 128 + WTERMSIG(st);
			signal_children(SIGTERM);
			deadline = now_s() + 3;
		}
	}
	return rc;
}

/* ---- main ------------------------------------------------------------- */

static void
usage(void)
{
	fputs("usage: hvbench serve --listen ADDR --mode auto|sink "
	      "[--threads T] [--ready F] [--log]\n"
	      "       hvbench bulk --connect ADDR [--streams S] [--bytes B]\n"
	      "       hvbench rtt --connect ADDR [--count N] [--size 64] "
	      "[--warmup W]\n"
	      "       hvbench churn --connect ADDR [--conc C] [--secs D] "
	      "[--max N] [--warm W]\n"
	      "       hvbench hold --connect ADDR --n N [--secs LIMIT] "
	      "[--hold SECS] [--ready F] [--inflight K]\n"
	      "       hvbench source --listen ADDR --bytes B [--ready F]\n"
	      "       hvbench gen BYTES\n"
	      "       hvbench reap -- COMMAND [ARGS...]\n"
	      "ADDR: tcp:127.x.x.x:PORT | vsock:CID:PORT (test VM only)\n",
	    stderr);
	exit(2);
}

static uint64_t
parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k':
	case 'K':
		v *= 1024;
		break;
	case 'm':
	case 'M':
		v *= 1024 * 1024;
		break;
	case 'g':
	case 'G':
		v *= 1024.0 * 1024 * 1024;
		break;
	default:
		break;
	}
	return (uint64_t)v;
}

int
main(int argc, char **argv)
{
	const char *cmd, *addr = NULL, *ready = NULL, *mode = "auto";
	int streams = 1, count = 10000, size = 64, warmup = 200, conc = 1;
	int threads = 1, n = 0, log = 0, inflight = 64;
	uint64_t bytes = 1ull << 30;
	double secs = 2, hold = 600, warm = 0.2;
	long max = 10000000;

	if (argc < 2) {
		usage();
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pat_init();
	cmd = argv[1];
	if (strcmp(cmd, "reap") == 0) {
		int k = 2;

		if (k < argc && strcmp(argv[k], "--") == 0) {
			k++;
		}
		if (k >= argc) {
			usage();
		}
		signal(SIGPIPE, SIG_DFL);
		return cmd_reap(argv + k);
	}
	if (strcmp(cmd, "gen") == 0) {
		uint64_t left, off = 0;

		if (argc != 3) {
			usage();
		}
		left = parse_size(argv[2]);
		while (left > 0) {
			size_t k = left < CHUNK ? (size_t)left : CHUNK;

			if (fwrite(pat_at(0, off), 1, k, stdout) != k) {
				die("write");
			}
			off += k;
			left -= k;
		}
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--log") == 0) {
			log = 1;
			continue;
		}
		if (v == NULL) {
			usage();
		}
		i++;
		if (strcmp(o, "--listen") == 0 || strcmp(o, "--connect") == 0) {
			addr = v;
		} else if (strcmp(o, "--mode") == 0) {
			mode = v;
		} else if (strcmp(o, "--threads") == 0) {
			threads = atoi(v);
		} else if (strcmp(o, "--ready") == 0) {
			ready = v;
		} else if (strcmp(o, "--streams") == 0) {
			streams = atoi(v);
		} else if (strcmp(o, "--bytes") == 0) {
			bytes = parse_size(v);
		} else if (strcmp(o, "--count") == 0) {
			count = atoi(v);
		} else if (strcmp(o, "--size") == 0) {
			size = atoi(v);
		} else if (strcmp(o, "--warmup") == 0) {
			warmup = atoi(v);
		} else if (strcmp(o, "--conc") == 0) {
			conc = atoi(v);
		} else if (strcmp(o, "--secs") == 0) {
			secs = atof(v);
		} else if (strcmp(o, "--warm") == 0) {
			warm = atof(v);
		} else if (strcmp(o, "--max") == 0) {
			max = atol(v);
		} else if (strcmp(o, "--n") == 0) {
			n = atoi(v);
		} else if (strcmp(o, "--hold") == 0) {
			hold = atof(v);
		} else if (strcmp(o, "--inflight") == 0) {
			inflight = atoi(v);
		} else {
			usage();
		}
	}
	if (addr == NULL) {
		usage();
	}
	if (strcmp(cmd, "serve") == 0) {
		raise_nofile();
		return cmd_serve(addr,
		    strcmp(mode, "sink") == 0 ? MODE_SINK : MODE_AUTO, threads,
		    ready, log);
	}
	if (strcmp(cmd, "source") == 0) {
		return cmd_source(addr, bytes, ready);
	}
	if (strcmp(cmd, "bulk") == 0) {
		return cmd_bulk(addr, streams, bytes);
	}
	if (strcmp(cmd, "rtt") == 0) {
		return cmd_rtt(addr, count, size, warmup);
	}
	if (strcmp(cmd, "churn") == 0) {
		return cmd_churn(addr, conc, secs, max, warm);
	}
	if (strcmp(cmd, "hold") == 0) {
		return cmd_hold(addr, n, secs, hold, ready,
		    inflight > 0 ? inflight : 64);
	}
	usage();
	return 2;
}
