/* SPDX-License-Identifier: MIT */
/*
 * vsock_api - libhvsock's public socket API over real AF_VSOCK, run inside
 * the test VM (vsock_loopback, CID 1) by test/vm/job-socket-api.sh.
 *
 *   vsock_api checks PORT              listen/accept/connect, addresses,
 *                                      errors, buffer options, local CID;
 *                                      uses ports PORT..PORT+19
 *   vsock_api timeout CID PORT         connect timeouts against a CID that
 *                                      never answers (peer.py blackhole)
 *   vsock_api client CID PORT SEND RECV [BUFSIZE]
 *                                      connect, send SEND, shut down the
 *                                      write side, read the answer to RECV
 *   vsock_api server PORT SEND RECV [READY]
 *                                      listen on vsock:any:PORT, accept one,
 *                                      read to EOF into RECV, then send SEND
 *                                      and shut down (READY: written with
 *                                      the port once listening)
 *
 * checks/timeout print TAP-style lines and a "N passed, N failed" summary.
 * Every mode exits 0 on success, 1 on a failure, 2 on bad usage or when
 * the safety check refuses to connect (real AF_VSOCK only inside the test
 * VM, or on CID 1 where vsock_loopback is loaded).
 *
 * Kernel facts asserted here (Linux 6.1 vsock_loopback; see README.md):
 * connecting to a port nobody listens on fails at once with ECONNRESET
 * (virtio-vsock answers with RST; there is no "refused"); a connecting
 * socket's own address reads back as CID any (-1) with an ephemeral port;
 * the local CID is 1 when vsock_loopback is the only transport; Linux
 * doubles SO_SNDBUF/SO_RCVBUF, and virtio/loopback size their window from
 * SO_VM_SOCKETS_BUFFER_SIZE.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include <hvsock/hvsock.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static int n_pass, n_fail, n_test;

static void result(int ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
result(int ok, const char *fmt, ...)
{
	va_list ap;

	n_test++;
	if (ok) {
		n_pass++;
	} else {
		n_fail++;
	}
	printf("%sok %d - ", ok ? "" : "not ", n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int
summary(void)
{
	printf("1..%d\n%d passed, %d failed\n", n_test, n_pass, n_fail);
	return n_fail == 0 && n_pass > 0 ? 0 : 1;
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* "ok" or "ERRNAME (message)" for a return code. */
static const char *
rcstr(int rc)
{
	static char buf[4][160];
	static int i;

	i = (i + 1) % 4;
	if (rc == 0) {
		return "ok";
	}
	snprintf(buf[i], sizeof(buf[i]), "%s (%s)", hvs_err_name(rc),
	    hvs_strerror(rc));
	return buf[i];
}

static const char *
addrstr(const hvs_addr_t *a)
{
	static char buf[4][HVS_ADDR_STRLEN];
	static int i;

	i = (i + 1) % 4;
	if (hvs_addr_format(a, buf[i], sizeof(buf[i])) < 0) {
		snprintf(buf[i], sizeof(buf[i]), "(kind %d)", (int)a->kind);
	}
	return buf[i];
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
in_test_vm(void)
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
	return strstr(buf, "hvsvm=1") != NULL;
}

/* Real AF_VSOCK connects only in the test VM, or to CID 1 where
 * vsock_loopback is loaded: a host's vsock may be the real hypervisor's. */
static int
may_connect(uint32_t cid)
{
	struct stat st;

	if (in_test_vm()) {
		return 1;
	}
	return cid == 1 && stat("/sys/module/vsock_loopback", &st) == 0;
}

static int
parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > 0xFFFFFFFFul) {
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* The raw values, to compare the library's answers with the kernel's. */
static int
raw_local_cid(uint32_t *cid)
{
	unsigned int v = 0;
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		return -1;
	}
	rc = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &v);
	close(fd);
	*cid = v;
	return rc;
}

static int
raw_name(int s, int peer, struct sockaddr_vm *svm)
{
	socklen_t len = sizeof(*svm);

	memset(svm, 0, sizeof(*svm));
	return peer ? getpeername(s, (struct sockaddr *)svm, &len)
		    : getsockname(s, (struct sockaddr *)svm, &len);
}

static long long
raw_vsock_bufsize(int s)
{
	uint64_t v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(s, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &v, &len) < 0) {
		return -1;
	}
	return (long long)v;
}

static long long
raw_connect_timeout_ms(int s)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(s, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, &len) <
	    0) {
		return -1;
	}
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int
is_vsock(const hvs_addr_t *a, uint32_t cid, uint32_t port)
{
	return a->kind == HVS_ADDR_VSOCK && a->u.vsock.cid == cid &&
	    a->u.vsock.port == port;
}

static int
fd_flag(int s, int getcmd, int bit)
{
	int v = fcntl(s, getcmd);

	return v >= 0 && (v & bit) != 0;
}

/* Send all of @len bytes (blocking socket). */
static int
send_all(hvs_sock_t s, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		size_t n = 0;
		int rc = hvs_send(s, p, len, &n);
		if (rc < 0) {
			return rc;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Read up to @cap bytes until EOF; *@got = count. */
static int
recv_to_eof(hvs_sock_t s, char *buf, size_t cap, size_t *got)
{
	*got = 0;
	for (;;) {
		size_t n = 0;
		int rc = hvs_recv(s, buf + *got, cap - *got, &n);
		if (rc == HVS_EOF) {
			return 0;
		}
		if (rc < 0) {
			return rc;
		}
		if (n == 0) {
			/* 0 bytes without HVS_EOF breaks the documented
			 * contract; report it rather than spin. */
			return HVS_EIO;
		}
		*got += n;
		if (*got == cap) {
			return HVS_ENOBUFS;
		}
	}
}

/* Wait until @s is readable or hung up, at most @ms. */
static void
wait_readable(hvs_sock_t s, int ms)
{
	struct pollfd p = {.fd = s, .events = POLLIN};

	(void)poll(&p, 1, ms);
}

static void
vsock_addr(hvs_addr_t *a, uint32_t cid, uint32_t port)
{
	hvs_addr_vsock(a, cid, port);
}

/* ------------------------------------------------------------------ */

static int
check_local_cid(void)
{
	uint32_t cid = 0xdeadbeef, raw = 0;
	int rc = hvs_local_cid(&cid);
	const char *transport = hvs_transport();
	int vm = in_test_vm();

	diag("hvs_transport() = %s, hvs_local_cid() = %s, cid %u", transport,
	    rcstr(rc), (unsigned)cid);
	if (raw_local_cid(&raw) < 0) {
		result(0, "IOCTL_VM_SOCKETS_GET_LOCAL_CID works: %s",
		    strerror(errno));
		return 0;
	}
	if (vm) {
		/* Only vsock_loopback here: the kernel falls back to the
		 * local transport's CID. */
		result(strcmp(transport, "loopback-only") == 0,
		    "hvs_transport() is \"loopback-only\" in the VM (got %s)",
		    transport);
		result(rc == 0 && cid == 1,
		    "hvs_local_cid() = 1 with only vsock_loopback (got %s, %u; "
		    "kernel ioctl %u)",
		    rcstr(rc), (unsigned)cid, (unsigned)raw);
	} else if (raw == 0xFFFFFFFFu) {
		result(rc == HVS_ENOCID,
		    "hvs_local_cid() = ENOCID where the kernel says CID any "
		    "(got %s)",
		    rcstr(rc));
	} else {
		result(rc == 0 && cid == raw,
		    "hvs_local_cid() = kernel's %u (got %s, %u)", (unsigned)raw,
		    rcstr(rc), (unsigned)cid);
	}
	return 0;
}

/* listen, connect, accept; addresses both ends; a short exchange with
 * half-close both ways. */
static void
check_connection(uint32_t port)
{
	hvs_addr_t la, ca, a1, a2, peer;
	hvs_sock_t l = HVS_INVALID_SOCK, c = HVS_INVALID_SOCK;
	hvs_sock_t s = HVS_INVALID_SOCK;
	hvs_addr_kind_t kind = HVS_ADDR_NONE;
	hvs_parse_error_t perr;
	struct sockaddr_vm raw;
	char text[32], buf[64];
	size_t got = 0;
	int rc;

	snprintf(text, sizeof(text), "vsock:any:%u", (unsigned)port);
	rc = hvs_addr_parse_str(&la, text, HVS_ROLE_LISTEN, &perr);
	result(rc == 0 && is_vsock(&la, HVS_CID_ANY, port),
	    "parse %s for listening: %s", text, rcstr(rc));
	rc = hvs_listen(&l, &la, NULL);
	result(rc == 0, "hvs_listen(%s): %s", text, rcstr(rc));
	if (rc < 0) {
		return;
	}
	rc = hvs_sock_kind(l, &kind);
	result(rc == 0 && kind == HVS_ADDR_VSOCK,
	    "hvs_sock_kind(listener) = vsock (%s, kind %d)", rcstr(rc),
	    (int)kind);
	rc = hvs_sock_local_addr(l, &a1);
	result(rc == 0 && is_vsock(&a1, HVS_CID_ANY, port),
	    "listener's local address is vsock:any:%u (%s, %s)", (unsigned)port,
	    rcstr(rc), rc == 0 ? addrstr(&a1) : "-");
	result(fd_flag(l, F_GETFD, FD_CLOEXEC), "listener is close-on-exec");
	result(!fd_flag(l, F_GETFL, O_NONBLOCK), "listener is blocking");

	snprintf(text, sizeof(text), "vsock:1:%u", (unsigned)port);
	rc = hvs_addr_parse_str(&ca, text, HVS_ROLE_CONNECT, &perr);
	result(rc == 0 && is_vsock(&ca, 1, port),
	    "parse %s for connecting: "
	    "%s",
	    text, rcstr(rc));
	rc = hvs_connect(&c, &ca, NULL);
	result(rc == 0, "hvs_connect(%s): %s", text, rcstr(rc));
	if (rc < 0) {
		goto out;
	}
	result(fd_flag(c, F_GETFD, FD_CLOEXEC),
	    "connected socket is "
	    "close-on-exec");
	result(!fd_flag(c, F_GETFL, O_NONBLOCK),
	    "connected socket is "
	    "blocking (no HVS_SOCK_NONBLOCK)");

	rc = hvs_sock_peer_addr(c, &a1);
	result(rc == 0 && is_vsock(&a1, 1, port),
	    "client's peer address is vsock:1:%u (%s, %s)", (unsigned)port,
	    rcstr(rc), rc == 0 ? addrstr(&a1) : "-");
	rc = hvs_sock_local_addr(c, &a2);
	raw_name(c, 0, &raw);
	/* The kernel keeps the auto-bound CID any for a connecting socket
	 * (getsockname says -1:port): the library must pass that on, not
	 * invent a CID. */
	result(rc == 0 && a2.kind == HVS_ADDR_VSOCK &&
		a2.u.vsock.cid == raw.svm_cid &&
		a2.u.vsock.port == raw.svm_port &&
		a2.u.vsock.port != HVS_PORT_ANY &&
		(a2.u.vsock.cid == HVS_CID_ANY || a2.u.vsock.cid == 1),
	    "client's local address is the kernel's (%s: %s; getsockname "
	    "%u:%u)",
	    rcstr(rc), rc == 0 ? addrstr(&a2) : "-", (unsigned)raw.svm_cid,
	    (unsigned)raw.svm_port);

	memset(&peer, 0, sizeof(peer));
	rc = hvs_accept(l, &s, &peer, 0);
	result(rc == 0, "hvs_accept: %s", rcstr(rc));
	if (rc < 0) {
		goto out;
	}
	result(is_vsock(&peer, 1, a2.u.vsock.port),
	    "accept's peer is vsock:1:%u, the client's port (got %s)",
	    (unsigned)a2.u.vsock.port, addrstr(&peer));
	rc = hvs_sock_peer_addr(s, &a1);
	result(rc == 0 && hvs_addr_equal(&a1, &peer),
	    "hvs_sock_peer_addr(accepted) = accept's peer (%s, %s)", rcstr(rc),
	    rc == 0 ? addrstr(&a1) : "-");
	rc = hvs_sock_local_addr(s, &a1);
	result(rc == 0 && is_vsock(&a1, 1, port),
	    "accepted socket's local address is vsock:1:%u (%s, %s)",
	    (unsigned)port, rcstr(rc), rc == 0 ? addrstr(&a1) : "-");
	result(fd_flag(s, F_GETFD, FD_CLOEXEC),
	    "accepted socket is "
	    "close-on-exec");
	result(!fd_flag(s, F_GETFL, O_NONBLOCK),
	    "accepted socket is "
	    "blocking");

	/* Request, half-close, response, half-close. */
	rc = send_all(c, "ping", 4);
	if (rc == 0) {
		rc = hvs_shutdown(c, HVS_SHUT_WR);
	}
	result(rc == 0, "client sends and shuts down its write side: %s",
	    rcstr(rc));
	rc = recv_to_eof(s, buf, sizeof(buf), &got);
	result(rc == 0 && got == 4 && memcmp(buf, "ping", 4) == 0,
	    "server reads the request, then HVS_EOF (%s, %zu bytes)", rcstr(rc),
	    got);
	rc = send_all(s, "pong!", 5);
	result(rc == 0, "server answers after the client's half-close: %s",
	    rcstr(rc));
	rc = hvs_shutdown(s, HVS_SHUT_WR);
	result(rc == 0, "server shuts down its write side: %s", rcstr(rc));
	rc = recv_to_eof(c, buf, sizeof(buf), &got);
	result(rc == 0 && got == 5 && memcmp(buf, "pong!", 5) == 0,
	    "client reads the answer, then HVS_EOF (%s, %zu bytes)", rcstr(rc),
	    got);
	{
		size_t n = 1;
		rc = hvs_recv(c, buf, sizeof(buf), &n);
		result(rc == HVS_EOF && n == 0,
		    "hvs_recv after EOF again says HVS_EOF, 0 bytes (%s, %zu)",
		    rcstr(rc), n);
	}
	rc = hvs_shutdown(c, 7);
	result(rc == HVS_EINVAL, "hvs_shutdown(how 7) is EINVAL: %s",
	    rcstr(rc));

	/* Sending to a peer that has closed: an error, never SIGPIPE (this
	 * program does not ignore SIGPIPE: a raised one would kill it). */
	hvs_close(c);
	c = HVS_INVALID_SOCK;
	wait_readable(s, 2000);
	{
		int64_t end = now_ms() + 3000;
		rc = 0;
		while (rc == 0 && now_ms() < end) {
			size_t n = 0;
			rc = hvs_send(s, "x", 1, &n);
			if (rc == 0) {
				usleep(10000);
			}
		}
		result(rc == HVS_EPIPE || rc == HVS_ECONNRESET,
		    "send after the peer closed: EPIPE/ECONNRESET and no "
		    "SIGPIPE (%s)",
		    rcstr(rc));
	}
	rc = hvs_close(s);
	s = HVS_INVALID_SOCK;
	result(rc == 0, "hvs_close(accepted): %s", rcstr(rc));

	/* A second listener on the same port. */
	{
		hvs_sock_t l2 = HVS_INVALID_SOCK;
		rc = hvs_listen(&l2, &la, NULL);
		result(rc == HVS_EADDRINUSE,
		    "hvs_listen on a port in use: "
		    "EADDRINUSE (%s)",
		    rcstr(rc));
		hvs_close(l2);
	}
out:
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
	result(hvs_close(HVS_INVALID_SOCK) == 0,
	    "hvs_close(HVS_INVALID_SOCK) is a no-op");
}

/* A listener on HVS_PORT_ANY gets an ephemeral port one can connect to. */
static void
check_ephemeral(void)
{
	hvs_addr_t la, a, ca;
	hvs_sock_t l = HVS_INVALID_SOCK, c = HVS_INVALID_SOCK;
	hvs_sock_t s = HVS_INVALID_SOCK;
	uint32_t port;
	int rc;

	vsock_addr(&la, HVS_CID_ANY, HVS_PORT_ANY);
	rc = hvs_listen(&l, &la, NULL);
	result(rc == 0, "hvs_listen(vsock:any:HVS_PORT_ANY): %s", rcstr(rc));
	if (rc < 0) {
		return;
	}
	rc = hvs_sock_local_addr(l, &a);
	port = a.u.vsock.port;
	/* The kernel hands out ports above LAST_RESERVED_PORT (1023). */
	result(rc == 0 && a.kind == HVS_ADDR_VSOCK && port != HVS_PORT_ANY &&
		port > 1023,
	    "ephemeral listener got a real port (%s, %s)", rcstr(rc),
	    rc == 0 ? addrstr(&a) : "-");
	vsock_addr(&ca, 1, port);
	rc = hvs_connect(&c, &ca, NULL);
	result(rc == 0, "hvs_connect to the ephemeral port %u: %s",
	    (unsigned)port, rcstr(rc));
	if (rc == 0) {
		rc = hvs_accept(l, &s, NULL, 0);
		result(rc == 0, "hvs_accept with a NULL peer: %s", rcstr(rc));
	}
	/* Non-blocking listener with nothing pending. */
	hvs_close(s);
	s = HVS_INVALID_SOCK;
	rc = hvs_set_nonblock(l, 1);
	if (rc == 0) {
		rc = hvs_accept(l, &s, NULL, 0);
	}
	result(rc == HVS_EAGAIN,
	    "hvs_accept on a non-blocking listener "
	    "with nothing pending: EAGAIN (%s)",
	    rcstr(rc));
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

/* HVS_SOCK_NONBLOCK on connect and accept. */
static void
check_nonblock(uint32_t port)
{
	hvs_sockopts_t o;
	hvs_addr_t la, ca;
	hvs_sock_t l = HVS_INVALID_SOCK, c = HVS_INVALID_SOCK;
	hvs_sock_t s = HVS_INVALID_SOCK;
	int rc;

	hvs_sockopts_init(&o);
	o.flags = HVS_SOCK_NONBLOCK;
	vsock_addr(&la, HVS_CID_ANY, port);
	rc = hvs_listen(&l, &la, &o);
	result(rc == 0 && fd_flag(l, F_GETFL, O_NONBLOCK),
	    "hvs_listen with HVS_SOCK_NONBLOCK: non-blocking listener (%s)",
	    rcstr(rc));
	if (rc < 0) {
		return;
	}
	vsock_addr(&ca, 1, port);
	rc = hvs_connect(&c, &ca, &o);
	result(rc == 0 && fd_flag(c, F_GETFL, O_NONBLOCK),
	    "hvs_connect with HVS_SOCK_NONBLOCK: connected, non-blocking "
	    "(%s)",
	    rcstr(rc));
	wait_readable(l, 2000);
	rc = hvs_accept(l, &s, NULL, HVS_SOCK_NONBLOCK);
	result(rc == 0 && fd_flag(s, F_GETFL, O_NONBLOCK) &&
		fd_flag(s, F_GETFD, FD_CLOEXEC),
	    "hvs_accept with HVS_SOCK_NONBLOCK: non-blocking, close-on-exec "
	    "(%s)",
	    rcstr(rc));
	if (rc == 0) {
		size_t n = 0;
		char b[8];
		rc = hvs_recv(s, b, sizeof(b), &n);
		result(rc == HVS_EAGAIN,
		    "hvs_recv with nothing to read: "
		    "EAGAIN (%s)",
		    rcstr(rc));
	}
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

/* Where nobody listens, and where no CID exists. */
static void
check_errors(uint32_t unused_port)
{
	hvs_addr_t a;
	hvs_sock_t c = HVS_INVALID_SOCK;
	hvs_sockopts_t o;
	int64_t t0, dt;
	int rc;

	/*
	 * virtio-vsock (and so vsock_loopback) has no "refused": the peer
	 * kernel answers a request for a port nobody listens on with RST,
	 * and connect() fails with ECONNRESET at once.
	 */
	vsock_addr(&a, 1, unused_port);
	t0 = now_ms();
	rc = hvs_connect(&c, &a, NULL);
	dt = now_ms() - t0;
	result(rc == HVS_ECONNRESET,
	    "connect to vsock:1:%u (nobody listens): ECONNRESET at once "
	    "(%s after %lld ms)",
	    (unsigned)unused_port, rcstr(rc), (long long)dt);
	hvs_close(c);
	c = HVS_INVALID_SOCK;

	hvs_sockopts_init(&o);
	o.timeout_ms = 2000;
	t0 = now_ms();
	rc = hvs_connect(&c, &a, &o);
	dt = now_ms() - t0;
	result(rc == HVS_ECONNRESET,
	    "same with timeout_ms 2000: ECONNRESET at once (%s after %lld ms)",
	    rcstr(rc), (long long)dt);
	hvs_close(c);
	c = HVS_INVALID_SOCK;

	if (in_test_vm()) {
		/* No transport reaches CID 3 in the VM (no vhost, no
		 * virtio device). */
		vsock_addr(&a, 3, unused_port);
		rc = hvs_connect(&c, &a, NULL);
		result(rc == HVS_ENODEV,
		    "connect to vsock:3 (no such "
		    "transport): ENODEV (%s)",
		    rcstr(rc));
		hvs_close(c);
		c = HVS_INVALID_SOCK;
	}

	vsock_addr(&a, HVS_CID_ANY, unused_port);
	rc = hvs_connect(&c, &a, NULL);
	result(rc == HVS_EADDRNOTAVAIL,
	    "connect to CID any: EADDRNOTAVAIL "
	    "(%s)",
	    rcstr(rc));
	hvs_close(c);
}

/* sndbuf/rcvbuf before connect/listen, read back; the vsock window. */
static void
check_buffers(uint32_t port)
{
	hvs_sockopts_t o;
	hvs_addr_t la, ca;
	hvs_sock_t l = HVS_INVALID_SOCK, c = HVS_INVALID_SOCK;
	hvs_sock_t s = HVS_INVALID_SOCK;
	int snd = 0, rcv = 0, dsnd = 0, drcv = 0;
	long long vb;
	int rc;

	hvs_sockopts_init(&o);
	o.rcvbuf = 131072;
	o.sndbuf = 131072;
	vsock_addr(&la, HVS_CID_ANY, port);
	rc = hvs_listen(&l, &la, &o);
	result(rc == 0, "hvs_listen with sndbuf/rcvbuf 128 KiB: %s", rcstr(rc));
	if (rc < 0) {
		return;
	}

	/* Defaults first. */
	vsock_addr(&ca, 1, port);
	rc = hvs_connect(&c, &ca, NULL);
	if (rc == 0) {
		rc = hvs_sock_bufsizes(c, &dsnd, &drcv);
	}
	vb = rc == 0 ? raw_vsock_bufsize(c) : -1;
	result(rc == 0 && vb == 262144,
	    "default socket: SO_SNDBUF %d, SO_RCVBUF %d, vsock buffer %lld "
	    "(256 KiB) (%s)",
	    dsnd, drcv, vb, rcstr(rc));
	if (rc == 0) {
		rc = hvs_accept(l, &s, NULL, 0);
		vb = rc == 0 ? raw_vsock_bufsize(s) : -1;
		result(rc == 0 && vb == 131072,
		    "accepted socket inherits the listener's vsock buffer, "
		    "128 KiB (got %lld, %s)",
		    vb, rcstr(rc));
		hvs_close(s);
		s = HVS_INVALID_SOCK;
	}
	hvs_close(c);
	c = HVS_INVALID_SOCK;

	/* 64 KiB each way: Linux doubles SO_SNDBUF/SO_RCVBUF. */
	hvs_sockopts_init(&o);
	o.sndbuf = 65536;
	o.rcvbuf = 65536;
	rc = hvs_connect(&c, &ca, &o);
	result(rc == 0, "hvs_connect with sndbuf/rcvbuf 64 KiB: %s", rcstr(rc));
	if (rc == 0) {
		rc = hvs_sock_bufsizes(c, &snd, &rcv);
		result(rc == 0 && snd >= 65536 && rcv >= 65536 &&
			(snd != dsnd || rcv != drcv),
		    "hvs_sock_bufsizes reads back SO_SNDBUF %d, SO_RCVBUF %d "
		    "(asked 65536; default %d/%d) (%s)",
		    snd, rcv, dsnd, drcv, rcstr(rc));
		rc = hvs_sock_bufsizes(c, NULL, &rcv);
		result(rc == 0, "hvs_sock_bufsizes with a NULL sndbuf: %s",
		    rcstr(rc));
		vb = raw_vsock_bufsize(c);
		result(vb == 65536,
		    "the vsock window (SO_VM_SOCKETS_BUFFER_"
		    "SIZE) is 64 KiB (got %lld)",
		    vb);
		rc = hvs_accept(l, &s, NULL, 0);
		hvs_close(s);
		s = HVS_INVALID_SOCK;
	}
	hvs_close(c);
	c = HVS_INVALID_SOCK;

	/* 1 MiB: above the vsock default maximum (256 KiB), which the
	 * library must raise first. */
	hvs_sockopts_init(&o);
	o.rcvbuf = 1 << 20;
	rc = hvs_connect(&c, &ca, &o);
	result(rc == 0, "hvs_connect with rcvbuf 1 MiB: %s", rcstr(rc));
	if (rc == 0) {
		vb = raw_vsock_bufsize(c);
		rc = hvs_sock_bufsizes(c, &snd, &rcv);
		result(vb == 1 << 20,
		    "the vsock window is 1 MiB (got %lld; "
		    "SO_SNDBUF %d, SO_RCVBUF %d)",
		    vb, snd, rcv);
		rc = hvs_accept(l, &s, NULL, 0);
		hvs_close(s);
		s = HVS_INVALID_SOCK;
	}
	hvs_close(c);
	hvs_close(l);
}

/* The connect timeout the library leaves on a connected socket. */
static void
check_timeout_option(uint32_t port)
{
	hvs_sockopts_t o;
	hvs_addr_t la, ca;
	hvs_sock_t l = HVS_INVALID_SOCK, c = HVS_INVALID_SOCK;
	hvs_sock_t s = HVS_INVALID_SOCK;
	long long t;
	int rc;

	vsock_addr(&la, HVS_CID_ANY, port);
	rc = hvs_listen(&l, &la, NULL);
	if (rc < 0) {
		result(0, "hvs_listen for the timeout option checks: %s",
		    rcstr(rc));
		return;
	}
	vsock_addr(&ca, 1, port);
	hvs_sockopts_init(&o);
	o.timeout_ms = 1500;
	rc = hvs_connect(&c, &ca, &o);
	t = rc == 0 ? raw_connect_timeout_ms(c) : -1;
	result(rc == 0 && t == 1500,
	    "timeout_ms 1500 sets the native "
	    "SO_VM_SOCKETS_CONNECT_TIMEOUT to 1500 ms (got %lld, %s)",
	    t, rcstr(rc));
	if (rc == 0 && hvs_accept(l, &s, NULL, 0) == 0) {
		hvs_close(s);
	}
	hvs_close(c);
	c = HVS_INVALID_SOCK;

	hvs_sockopts_init(&o);
	rc = hvs_connect(&c, &ca, &o);
	t = rc == 0 ? raw_connect_timeout_ms(c) : -1;
	result(rc == 0 && t == 2000,
	    "timeout_ms 0 keeps the platform default "
	    "(the kernel's 2000 ms) (got %lld, %s)",
	    t, rcstr(rc));
	if (rc == 0 && hvs_accept(l, &s, NULL, 0) == 0) {
		hvs_close(s);
	}
	hvs_close(c);
	c = HVS_INVALID_SOCK;

	rc = hvs_connect(&c, &ca, NULL);
	t = rc == 0 ? raw_connect_timeout_ms(c) : -1;
	diag("with opts NULL the native connect timeout is %lld ms", t);
	if (rc == 0 && hvs_accept(l, &s, NULL, 0) == 0) {
		hvs_close(s);
	}
	hvs_close(c);
	hvs_close(l);
}

/*
 * "vsock:PORT" connects to CID 2, the host. In the VM there is no
 * guest-to-host transport and the kernel routes CID 2 to loopback, so the
 * default reaches the VM's own listener. Never tried outside the VM.
 */
static void
check_default_cid(uint32_t port)
{
	hvs_addr_t la, ca, a;
	hvs_sock_t l = HVS_INVALID_SOCK, c = HVS_INVALID_SOCK;
	hvs_sock_t s = HVS_INVALID_SOCK;
	char text[32];
	int rc;

	if (!in_test_vm()) {
		return;
	}
	vsock_addr(&la, HVS_CID_ANY, port);
	rc = hvs_listen(&l, &la, NULL);
	if (rc < 0) {
		result(0, "hvs_listen for the default CID check: %s",
		    rcstr(rc));
		return;
	}
	snprintf(text, sizeof(text), "vsock:%u", (unsigned)port);
	rc = hvs_addr_parse_str(&ca, text, HVS_ROLE_CONNECT, NULL);
	result(rc == 0 && is_vsock(&ca, HVS_CID_HOST, port),
	    "%s for connecting means CID 2 (%s, %s)", text, rcstr(rc),
	    rc == 0 ? addrstr(&ca) : "-");
	rc = hvs_connect(&c, &ca, NULL);
	result(rc == 0,
	    "hvs_connect(%s) reaches the VM's own listener (CID 2 "
	    "is loopback without a guest transport): %s",
	    text, rcstr(rc));
	if (rc == 0) {
		rc = hvs_sock_peer_addr(c, &a);
		result(rc == 0 && is_vsock(&a, HVS_CID_HOST, port),
		    "its peer address is vsock:2:%u (%s, %s)", (unsigned)port,
		    rcstr(rc), rc == 0 ? addrstr(&a) : "-");
		if (hvs_accept(l, &s, NULL, 0) == 0) {
			hvs_close(s);
		}
	}
	hvs_close(c);
	hvs_close(l);
}

static int
mode_checks(uint32_t port)
{
	if (!may_connect(1)) {
		fprintf(stderr,
		    "vsock_api: refusing to connect AF_VSOCK "
		    "outside the test VM\n");
		return 2;
	}
	diag("libhvsock %s", hvs_version());
	check_local_cid();
	check_connection(port);
	check_ephemeral();
	check_nonblock(port + 1);
	check_errors(port + 2);
	check_buffers(port + 3);
	check_timeout_option(port + 4);
	check_default_cid(port + 5);
	return summary();
}

/*
 * timeout_ms < 0 means no timeout: the connect must outlive the kernel's
 * 2 s default. Run in a child that is still waiting after 3 s.
 */
static void
check_no_timeout(uint32_t cid, uint32_t port)
{
	int64_t t0 = now_ms();
	int status = 0;
	pid_t pid, w = 0;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		result(0, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		hvs_sockopts_t o;
		hvs_addr_t a;
		hvs_sock_t c;
		int rc;

		hvs_sockopts_init(&o);
		o.timeout_ms = -1;
		vsock_addr(&a, cid, port);
		rc = hvs_connect(&c, &a, &o);
		_exit(rc == 0 ? 0 : 10);
	}
	while (now_ms() - t0 < 3000) {
		w = waitpid(pid, &status, WNOHANG);
		if (w != 0) {
			break;
		}
		usleep(50000);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	result(w == 0,
	    "timeout_ms -1 (none) to vsock:%u:%u: still waiting after 3 s, "
	    "past the kernel's 2 s default (%s after %lld ms)",
	    (unsigned)cid, (unsigned)port, w == 0 ? "killed" : "returned",
	    (long long)(now_ms() - t0));
}

/* Connect timeouts against a CID whose packets are never answered. */
static int
mode_timeout(uint32_t cid, uint32_t port)
{
	static const struct {
		int timeout_ms;
		unsigned flags;
		int lo, hi; /* acceptable elapsed ms */
		const char *what;
	} cases[] = {
	    {500, 0, 400, 1800, "timeout_ms 500"},
	    {500, HVS_SOCK_NONBLOCK, 400, 1800,
		"timeout_ms 500, HVS_SOCK_NONBLOCK"},
	    /* Longer than the kernel's 2 s default: the library must set
	     * the native option, not just poll. */
	    {3500, 0, 3300, 6000, "timeout_ms 3500 (above the kernel's 2 s)"},
	    /* 0 = platform default: the kernel's 2 s. */
	    {0, 0, 1800, 4000, "timeout_ms 0 (platform default, 2 s)"},
	};
	size_t i;

	if (!in_test_vm()) {
		fprintf(stderr,
		    "vsock_api: timeout mode runs only in the "
		    "test VM\n");
		return 2;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hvs_sockopts_t o;
		hvs_addr_t a;
		hvs_sock_t c = HVS_INVALID_SOCK;
		int64_t t0, dt;
		int rc;

		hvs_sockopts_init(&o);
		o.timeout_ms = cases[i].timeout_ms;
		o.flags = cases[i].flags;
		vsock_addr(&a, cid, port);
		t0 = now_ms();
		rc = hvs_connect(&c, &a, &o);
		dt = now_ms() - t0;
		result(rc == HVS_ETIMEDOUT && dt >= cases[i].lo &&
			dt <= cases[i].hi,
		    "%s to vsock:%u:%u (never answers): ETIMEDOUT within "
		    "%d..%d ms (%s after %lld ms)",
		    cases[i].what, (unsigned)cid, (unsigned)port, cases[i].lo,
		    cases[i].hi, rcstr(rc), (long long)dt);
		if (rc == 0) {
			hvs_close(c);
		}
	}
	check_no_timeout(cid, port);
	return summary();
}

/* ---- file transfer modes ------------------------------------------ */

#define CHUNK 65536

/* Send the whole file, then shut down the write side. */
static int
send_file(hvs_sock_t s, const char *path, long long *bytes)
{
	char buf[CHUNK];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	*bytes = 0;
	if (f == NULL) {
		fprintf(stderr, "vsock_api: %s: %s\n", path, strerror(errno));
		return HVS_ENOENT;
	}
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		rc = send_all(s, buf, n);
		if (rc == 0) {
			*bytes += (long long)n;
		}
	}
	if (rc == 0 && ferror(f)) {
		rc = HVS_EIO;
	}
	fclose(f);
	if (rc == 0) {
		rc = hvs_shutdown(s, HVS_SHUT_WR);
	}
	return rc;
}

/* Receive until HVS_EOF into the file. */
static int
recv_file(hvs_sock_t s, const char *path, long long *bytes)
{
	char buf[CHUNK];
	FILE *f = fopen(path, "wb");
	int rc;

	*bytes = 0;
	if (f == NULL) {
		fprintf(stderr, "vsock_api: %s: %s\n", path, strerror(errno));
		return HVS_EIO;
	}
	for (;;) {
		size_t n = 0;
		rc = hvs_recv(s, buf, sizeof(buf), &n);
		if (rc == HVS_EOF) {
			rc = 0;
			break;
		}
		if (rc < 0) {
			break;
		}
		if (n == 0) {
			rc = HVS_EIO; /* 0 bytes without HVS_EOF */
			break;
		}
		if (fwrite(buf, 1, n, f) != n) {
			rc = HVS_EIO;
			break;
		}
		*bytes += (long long)n;
	}
	if (fclose(f) != 0 && rc == 0) {
		rc = HVS_EIO;
	}
	return rc;
}

static void
report(const char *what, long long bytes, int64_t ms)
{
	fprintf(stderr, "vsock_api: %s %lld bytes in %lld ms (%.1f MB/s)\n",
	    what, bytes, (long long)ms,
	    ms > 0 ? (double)bytes / 1000.0 / (double)ms : 0.0);
}

static int
mode_client(uint32_t cid, uint32_t port, const char *sendp, const char *recvp,
    int bufsize)
{
	hvs_sockopts_t o;
	hvs_addr_t a, me;
	hvs_sock_t c = HVS_INVALID_SOCK;
	long long sent = 0, got = 0;
	int64_t t0;
	int rc;

	if (!may_connect(cid)) {
		fprintf(stderr,
		    "vsock_api: refusing to connect AF_VSOCK "
		    "outside the test VM\n");
		return 2;
	}
	hvs_sockopts_init(&o);
	o.sndbuf = bufsize;
	o.rcvbuf = bufsize;
	o.timeout_ms = 10000;
	vsock_addr(&a, cid, port);
	rc = hvs_connect(&c, &a, &o);
	if (rc < 0) {
		fprintf(stderr, "vsock_api: connect %s: %s\n", addrstr(&a),
		    rcstr(rc));
		return 1;
	}
	if (hvs_sock_local_addr(c, &me) == 0) {
		fprintf(stderr, "vsock_api: connected %s -> %s\n", addrstr(&me),
		    addrstr(&a));
	}
	t0 = now_ms();
	rc = send_file(c, sendp, &sent);
	report("sent", sent, now_ms() - t0);
	if (rc < 0) {
		fprintf(stderr, "vsock_api: sending %s: %s\n", sendp,
		    rcstr(rc));
		hvs_close(c);
		return 1;
	}
	t0 = now_ms();
	rc = recv_file(c, recvp, &got);
	report("received", got, now_ms() - t0);
	hvs_close(c);
	if (rc < 0) {
		fprintf(stderr, "vsock_api: receiving: %s\n", rcstr(rc));
		return 1;
	}
	return 0;
}

static int
mode_server(uint32_t port, const char *sendp, const char *recvp,
    const char *ready)
{
	hvs_addr_t a, peer, la;
	hvs_sock_t l = HVS_INVALID_SOCK, s = HVS_INVALID_SOCK;
	long long sent = 0, got = 0;
	int64_t t0;
	int rc;

	if (!may_connect(1)) {
		fprintf(stderr,
		    "vsock_api: refusing to use AF_VSOCK outside "
		    "the test VM\n");
		return 2;
	}
	vsock_addr(&a, HVS_CID_ANY, port);
	rc = hvs_listen(&l, &a, NULL);
	if (rc < 0) {
		fprintf(stderr, "vsock_api: listen %s: %s\n", addrstr(&a),
		    rcstr(rc));
		return 1;
	}
	if (ready != NULL) {
		char tmp[4096];
		FILE *f;

		if (hvs_sock_local_addr(l, &la) < 0) {
			la = a;
		}
		snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
		f = fopen(tmp, "w");
		if (f == NULL ||
		    fprintf(f, "%u\n", (unsigned)la.u.vsock.port) < 0 ||
		    fclose(f) != 0 || rename(tmp, ready) != 0) {
			fprintf(stderr, "vsock_api: cannot write %s\n", ready);
			return 1;
		}
	}
	rc = hvs_accept(l, &s, &peer, 0);
	hvs_close(l);
	if (rc < 0) {
		fprintf(stderr, "vsock_api: accept: %s\n", rcstr(rc));
		return 1;
	}
	fprintf(stderr, "vsock_api: accepted %s\n", addrstr(&peer));
	t0 = now_ms();
	rc = recv_file(s, recvp, &got);
	report("received", got, now_ms() - t0);
	if (rc < 0) {
		fprintf(stderr, "vsock_api: receiving: %s\n", rcstr(rc));
		hvs_close(s);
		return 1;
	}
	t0 = now_ms();
	rc = send_file(s, sendp, &sent);
	report("sent", sent, now_ms() - t0);
	hvs_close(s);
	if (rc < 0) {
		fprintf(stderr, "vsock_api: sending %s: %s\n", sendp,
		    rcstr(rc));
		return 1;
	}
	return 0;
}

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vsock_api checks PORT\n"
	    "       vsock_api timeout CID PORT\n"
	    "       vsock_api client CID PORT SENDFILE RECVFILE [BUFSIZE]\n"
	    "       vsock_api server PORT SENDFILE RECVFILE [READYFILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	uint32_t cid = 0, port = 0, bufsize = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		usage();
	}
	if (strcmp(argv[1], "checks") == 0 && argc == 3) {
		if (parse_u32(argv[2], &port) < 0) {
			usage();
		}
		return mode_checks(port);
	}
	if (strcmp(argv[1], "timeout") == 0 && argc == 4) {
		if (parse_u32(argv[2], &cid) < 0 ||
		    parse_u32(argv[3], &port) < 0) {
			usage();
		}
		return mode_timeout(cid, port);
	}
	if (strcmp(argv[1], "client") == 0 && (argc == 6 || argc == 7)) {
		if (parse_u32(argv[2], &cid) < 0 ||
		    parse_u32(argv[3], &port) < 0 ||
		    (argc == 7 &&
			(parse_u32(argv[6], &bufsize) < 0 ||
			    bufsize > 0x7fffffff))) {
			usage();
		}
		return mode_client(cid, port, argv[4], argv[5], (int)bufsize);
	}
	if (strcmp(argv[1], "server") == 0 && (argc == 5 || argc == 6)) {
		if (parse_u32(argv[2], &port) < 0) {
			usage();
		}
		return mode_server(port, argv[3], argv[4],
		    argc == 6 ? argv[5] : NULL);
	}
	usage();
}
