/* SPDX-License-Identifier: MIT */
/*
 * Socket calls against the real kernel, on loopback tcp and unix sockets
 * only. vsock addresses are converted but never connected here: on this
 * machine AF_VSOCK leads to the real hypervisor (the VM suite does that).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/vm_sockets.h>

#include "internal.h"
#include "testutil.h"

extern const char *hvs__transport_override;

static hvs_addr_t
parse(const char *s, hvs_role_t role)
{
	hvs_addr_t a;

	assert_int_equal(hvs_addr_parse_str(&a, s, role, NULL), 0);
	return a;
}

static int
is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	assert_true(fl >= 0);
	return (fl & FD_CLOEXEC) != 0;
}

/* Listen on an ephemeral loopback port; return it in *port. */
static hvs_sock_t
listen_tcp(uint16_t *port, int backlog)
{
	hvs_addr_t a = parse("tcp:127.0.0.1:0", HVS_ROLE_LISTEN), local;
	hvs_sockopts_t o;
	hvs_sock_t l;

	hvs_sockopts_init(&o);
	o.backlog = backlog;
	assert_int_equal(hvs_listen(&l, &a, &o), 0);
	assert_int_equal(hvs_sock_local_addr(l, &local), 0);
	assert_int_equal(local.kind, HVS_ADDR_TCP);
	*port = local.u.tcp.port;
	assert_true(*port != 0);
	return l;
}

static void
test_tcp_roundtrip(void **state)
{
	char buf[64], target[64];
	hvs_addr_t a, peer, local, p2;
	hvs_sock_t l, c, s;
	uint16_t port;
	size_t n;
	int before = count_fds();

	(void)state;
	l = listen_tcp(&port, 0);
	assert_true(is_cloexec(l));
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	assert_true(is_cloexec(c));
	assert_int_equal(hvs_accept(l, &s, &peer, 0), 0);
	assert_true(is_cloexec(s));

	/* The peer seen by accept is the client's local address. */
	assert_int_equal(hvs_sock_local_addr(c, &local), 0);
	assert_true(hvs_addr_equal(&peer, &local));
	assert_int_equal(hvs_sock_peer_addr(s, &p2), 0);
	assert_true(hvs_addr_equal(&p2, &local));
	assert_string_equal(peer.u.tcp.host, "127.0.0.1");

	assert_int_equal(hvs_send(c, "hello", 5, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(hvs_shutdown(c, HVS_SHUT_WR), 0);
	assert_int_equal(hvs_recv(s, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	/* Half-close: the server sees EOF and can still answer. */
	assert_int_equal(hvs_recv(s, buf, sizeof(buf), &n), HVS_EOF);
	assert_int_equal(n, 0);
	assert_int_equal(hvs_send(s, "bye", 3, &n), 0);
	assert_int_equal(hvs_recv(c, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 3);

	assert_int_equal(hvs_close(s), 0);
	assert_int_equal(hvs_close(c), 0);
	assert_int_equal(hvs_close(l), 0);
	assert_int_equal(hvs_close(HVS_INVALID_SOCK), 0);
	assert_int_equal(count_fds(), before);
}

static void
test_tcp_listen_default_is_loopback(void **state)
{
	hvs_addr_t a = parse("tcp:0", HVS_ROLE_LISTEN), local;
	hvs_sock_t l;

	(void)state;
	assert_int_equal(hvs_listen(&l, &a, NULL), 0);
	assert_int_equal(hvs_sock_local_addr(l, &local), 0);
	assert_string_equal(local.u.tcp.host, "127.0.0.1");
	hvs_close(l);
}

static void
test_tcp_localhost_tries_each_address(void **state)
{
	char target[64];
	hvs_addr_t a;
	hvs_sock_t l, c;
	uint16_t port;

	(void)state;
	/* Only 127.0.0.1 listens; localhost may resolve to ::1 first. */
	l = listen_tcp(&port, 0);
	snprintf(target, sizeof(target), "tcp:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	assert_string_equal(a.u.tcp.host, "localhost");
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	hvs_close(c);
	hvs_close(l);
}

static void
test_tcp_refused(void **state)
{
	char target[64];
	hvs_addr_t a;
	hvs_sock_t l, c = HVS_INVALID_SOCK;
	uint16_t port;
	int before;

	(void)state;
	l = listen_tcp(&port, 0);
	hvs_close(l); /* now nobody listens on port */
	before = count_fds();
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ECONNREFUSED);
	assert_int_equal(c, HVS_INVALID_SOCK);
	assert_int_equal(count_fds(), before);
}

static void
test_tcp_connect_timeout(void **state)
{
	hvs_sock_t l, held[64];
	hvs_sockopts_t o;
	char target[64];
	hvs_addr_t a;
	uint16_t port;
	int i, nheld = 0, rc = 0, before;

	(void)state;
	/*
	 * A listener that never accepts, with the smallest backlog: once its
	 * queue is full the kernel drops further SYNs and a connect hangs,
	 * which only our timeout can end.
	 */
	l = listen_tcp(&port, 1);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	hvs_sockopts_init(&o);
	o.timeout_ms = 200;
	before = count_fds();
	for (i = 0; i < 64; i++) {
		hvs_sock_t c;
		rc = hvs_connect(&c, &a, &o);
		if (rc != 0) {
			break;
		}
		held[nheld++] = c;
		before++;
	}
	assert_int_equal(rc, HVS_ETIMEDOUT);
	/* The timed-out socket is not leaked. */
	assert_int_equal(count_fds(), before);
	for (i = 0; i < nheld; i++) {
		hvs_close(held[i]);
	}
	hvs_close(l);
}

static void
test_unix_path_and_stale(void **state)
{
	char path[96], target[128];
	hvs_addr_t a, ca, local;
	hvs_sockopts_t o;
	hvs_sock_t l, c, s, l2;
	struct stat st;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/hvs-test-%ld.sock", (long)getpid());
	unlink(path);
	snprintf(target, sizeof(target), "unix:%s", path);
	a = parse(target, HVS_ROLE_LISTEN);
	assert_int_equal(hvs_listen(&l, &a, NULL), 0);
	assert_int_equal(hvs_sock_local_addr(l, &local), 0);
	assert_true(hvs_addr_equal(&local, &a));
	ca = parse(target, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_connect(&c, &ca, NULL), 0);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), 0);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);

	/* The socket file stays: a second listen fails unless asked to
	 * remove a stale one. */
	assert_int_equal(hvs_listen(&l2, &a, NULL), HVS_EADDRINUSE);
	hvs_sockopts_init(&o);
	o.flags = HVS_SOCK_UNLINK;
	assert_int_equal(hvs_listen(&l2, &a, &o), 0);

	/* A live socket is never removed: the second listen fails, the
	 * file stays and the first listener still accepts. */
	assert_int_equal(hvs_listen(&l, &a, &o), HVS_EADDRINUSE);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(hvs_connect(&c, &ca, NULL), 0);
	assert_int_equal(hvs_accept(l2, &s, NULL, 0), 0);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l2);
	unlink(path);

	/* A regular file is never removed, whatever the flag. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(hvs_listen(&l2, &a, &o), HVS_EEXIST);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
}

static void
test_unix_abstract(void **state)
{
	char target[128];
	hvs_addr_t a, ca, local;
	hvs_sock_t l, c, s;

	(void)state;
	snprintf(target, sizeof(target), "unix:@hvs-test-%ld", (long)getpid());
	a = parse(target, HVS_ROLE_LISTEN);
	assert_int_equal(hvs_listen(&l, &a, NULL), 0);
	assert_int_equal(hvs_sock_local_addr(l, &local), 0);
	assert_true(local.u.local.abstract);
	assert_true(hvs_addr_equal(&local, &a));
	ca = parse(target, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_connect(&c, &ca, NULL), 0);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), 0);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

static void
test_no_sigpipe(void **state)
{
	char target[64];
	hvs_addr_t a;
	hvs_sock_t l, c, s;
	uint16_t port;
	size_t n;
	int i, rc = 0;
	char buf[4096] = {0};

	(void)state;
	/* SIGPIPE at its default would kill the test program. */
	signal(SIGPIPE, SIG_DFL);
	l = listen_tcp(&port, 0);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	assert_int_equal(hvs_connect(&c, &a, NULL), 0);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), 0);
	hvs_close(s);
	for (i = 0; i < 100 && rc == 0; i++) {
		rc = hvs_send(c, buf, sizeof(buf), &n);
	}
	assert_true(rc == HVS_EPIPE || rc == HVS_ECONNRESET);
	hvs_close(c);
	hvs_close(l);
}

static void
test_bufsizes_before_connect(void **state)
{
	char target[64];
	hvs_sockopts_t o;
	hvs_addr_t a;
	hvs_sock_t l, c, s;
	uint16_t port;
	int snd = 0, rcv = 0;

	(void)state;
	l = listen_tcp(&port, 0);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	hvs_sockopts_init(&o);
	o.sndbuf = 96 * 1024;
	o.rcvbuf = 48 * 1024;
	assert_int_equal(hvs_connect(&c, &a, &o), 0);
	assert_int_equal(hvs_sock_bufsizes(c, &snd, &rcv), 0);
	/* Linux doubles the value for bookkeeping; never less. */
	assert_true(snd >= 96 * 1024);
	assert_true(rcv >= 48 * 1024);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), 0);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

static void
test_nonblock_flags(void **state)
{
	char target[64];
	hvs_sockopts_t o;
	hvs_addr_t a;
	hvs_sock_t l, c, s;
	uint16_t port;
	size_t n;
	char b;

	(void)state;
	l = listen_tcp(&port, 0);
	assert_int_equal(hvs_set_nonblock(l, 1), 0);
	assert_int_equal(hvs_accept(l, &s, NULL, 0), HVS_EAGAIN);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);
	hvs_sockopts_init(&o);
	o.flags = HVS_SOCK_NONBLOCK;
	assert_int_equal(hvs_connect(&c, &a, &o), 0);
	assert_true(fcntl(c, F_GETFL) & O_NONBLOCK);
	assert_int_equal(hvs_recv(c, &b, 1, &n), HVS_EAGAIN);
	assert_int_equal(hvs_accept(l, &s, NULL, HVS_SOCK_NONBLOCK), 0);
	assert_true(fcntl(s, F_GETFL) & O_NONBLOCK);
	hvs_close(s);
	hvs_close(c);
	hvs_close(l);
}

static void
test_adopt_inherited_listener(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	hvs_sock_t s, l;
	hvs_addr_t a;
	char name[32];
	int fd, p[2];

	(void)state;
	/* A listening socket without close-on-exec, as systemd passes it. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "hvs-fd-%ld",
	    (long)getpid());
	assert_int_equal(bind(fd, (struct sockaddr *)&sun,
			     (socklen_t)(offsetof(struct sockaddr_un,
					     sun_path) +
				 1 + strlen(sun.sun_path + 1))),
	    0);

	snprintf(name, sizeof(name), "fd:%d", fd);
	a = parse(name, HVS_ROLE_LISTEN);
	/* Bound but not listening: refused with a specific error. */
	assert_int_equal(hvs_listen(&l, &a, NULL), HVS_EINVAL);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(hvs_listen(&l, &a, NULL), 0);
	assert_int_equal(l, fd);
	assert_true(is_cloexec(l));
	hvs_close(l);

	/* Not a socket at all. */
	assert_int_equal(pipe(p), 0);
	snprintf(name, sizeof(name), "fd:%d", p[0]);
	a = parse(name, HVS_ROLE_LISTEN);
	assert_int_equal(hvs_listen(&s, &a, NULL), HVS_ENOTSOCK);
	close(p[0]);
	close(p[1]);

	/* Not open. */
	a = parse("fd:999999", HVS_ROLE_LISTEN);
	assert_int_equal(hvs_listen(&s, &a, NULL), HVS_EBADF);
}

static void
test_stdio_is_not_a_socket(void **state)
{
	hvs_addr_t a = parse("stdio", HVS_ROLE_CONNECT);
	hvs_sock_t s;

	(void)state;
	assert_int_equal(hvs_connect(&s, &a, NULL), HVS_EADDR_KIND);
	assert_int_equal(hvs_listen(&s, &a, NULL), HVS_EADDR_KIND);
}

/* Address conversion for vsock and hvsock: no socket is opened. */
static void
test_vsock_sockaddr(void **state)
{
	hvs__sockaddr_t sa;
	struct sockaddr_vm svm;
	hvs_addr_t a, back;

	(void)state;
	a = parse("vsock:5000", HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1), 1);
	memcpy(&svm, &sa.ss, sizeof(svm));
	assert_int_equal(svm.svm_family, AF_VSOCK);
	assert_int_equal(svm.svm_cid, 2);
	assert_int_equal(svm.svm_port, 5000);
	assert_int_equal(hvs__sockaddr_to_addr(&sa, &back), 0);
	assert_true(hvs_addr_equal(&a, &back));

	a = parse("vsock:5000", HVS_ROLE_LISTEN);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_LISTEN, 0, &sa, 1), 1);
	memcpy(&svm, &sa.ss, sizeof(svm));
	assert_int_equal(svm.svm_cid, VMADDR_CID_ANY);

	/* hvsock: template services map to ports, parent to CID 2. */
	a = parse("hvsock:parent:00001388-facb-11e6-bd58-64006a7986d3",
	    HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1), 1);
	memcpy(&svm, &sa.ss, sizeof(svm));
	assert_int_equal(svm.svm_cid, 2);
	assert_int_equal(svm.svm_port, 5000);

	/* What Linux cannot express gives a specific error. */
	a = parse("hvsock:parent:12345678-1234-1234-1234-123456789abc",
	    HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1),
	    HVS_ESERVICE_NOT_TEMPLATE);
	a = parse("hvsock:children:5000", HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1),
	    HVS_EVMID_UNSUPPORTED);
	a = parse("hvsock:wsl:5000", HVS_ROLE_LISTEN);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_LISTEN, 0, &sa, 1),
	    HVS_EVMID_UNSUPPORTED);
	a = parse("vsock:any:5000", HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1),
	    HVS_EADDRNOTAVAIL);
}

static void
test_hv_sock_rules(void **state)
{
	hvs__sockaddr_t sa;
	hvs_addr_t a;
	hvs_sock_t s;

	(void)state;
	/* Play a Hyper-V guest: only CID 2 can be reached, and the error
	 * comes before any socket is made. */
	hvs__transport_override = "hyperv";
	assert_string_equal(hvs_transport(), "hyperv");
	a = parse("vsock:3:5000", HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1),
	    HVS_EHV_CID);
	assert_int_equal(hvs_connect(&s, &a, NULL), HVS_EHV_CID);
	a = parse("vsock:2:5000", HVS_ROLE_CONNECT);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_CONNECT, 0, &sa, 1), 1);
	a = parse("vsock:3:5000", HVS_ROLE_LISTEN);
	assert_int_equal(hvs__addr_resolve(&a, HVS_ROLE_LISTEN, 0, &sa, 1), 1);
	hvs__transport_override = NULL;
}

static void
test_local_cid_query(void **state)
{
	uint32_t cid = 12345;
	int rc;

	(void)state;
	/* An ioctl on /dev/vsock, no connection: safe on any machine. */
	rc = hvs_local_cid(&cid);
	assert_true(rc == 0 || rc == HVS_ENOCID || rc == HVS_EACCES);
	if (rc == 0) {
		assert_true(cid != HVS_CID_ANY);
	}
	assert_int_equal(hvs_local_cid(NULL), HVS_EINVAL);
	assert_non_null(hvs_transport());
}

static int log_count;
static hvs_log_level_t log_last_level;

static void
capture_log(hvs_log_level_t level, const char *msg, void *userdata)
{
	assert_ptr_equal(userdata, &log_count);
	assert_non_null(msg);
	log_last_level = level;
	log_count++;
}

static void
test_log_callback(void **state)
{
	char target[64];
	hvs_addr_t a;
	hvs_sock_t l, c;
	uint16_t port;

	(void)state;
	l = listen_tcp(&port, 0);
	hvs_close(l);
	snprintf(target, sizeof(target), "tcp:127.0.0.1:%u", port);
	a = parse(target, HVS_ROLE_CONNECT);

	/* Below the threshold nothing arrives; at debug the failed attempt
	 * is reported; with no callback the library stays silent. */
	log_count = 0;
	hvs_set_log(capture_log, HVS_LOG_WARN, &log_count);
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ECONNREFUSED);
	assert_int_equal(log_count, 0);
	hvs_set_log(capture_log, HVS_LOG_DEBUG, &log_count);
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ECONNREFUSED);
	assert_true(log_count > 0);
	assert_int_equal(log_last_level, HVS_LOG_DEBUG);
	hvs_set_log(NULL, HVS_LOG_DEBUG, NULL);
	log_count = 0;
	assert_int_equal(hvs_connect(&c, &a, NULL), HVS_ECONNREFUSED);
	assert_int_equal(log_count, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_roundtrip),
	    cmocka_unit_test(test_tcp_listen_default_is_loopback),
	    cmocka_unit_test(test_tcp_localhost_tries_each_address),
	    cmocka_unit_test(test_tcp_refused),
	    cmocka_unit_test(test_tcp_connect_timeout),
	    cmocka_unit_test(test_unix_path_and_stale),
	    cmocka_unit_test(test_unix_abstract),
	    cmocka_unit_test(test_no_sigpipe),
	    cmocka_unit_test(test_bufsizes_before_connect),
	    cmocka_unit_test(test_nonblock_flags),
	    cmocka_unit_test(test_adopt_inherited_listener),
	    cmocka_unit_test(test_stdio_is_not_a_socket),
	    cmocka_unit_test(test_vsock_sockaddr),
	    cmocka_unit_test(test_hv_sock_rules),
	    cmocka_unit_test(test_local_cid_query),
	    cmocka_unit_test(test_log_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
