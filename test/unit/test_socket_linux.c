/* SPDX-License-Identifier: MIT */
/*
 * Socket calls only Linux has, against the real kernel: unix sockets (by
 * path and abstract), listeners inherited as descriptors, and the
 * conversion of vsock and hvsock addresses to sockaddr_vm. vsock
 * addresses are converted but never connected here: on this machine
 * AF_VSOCK leads to the real hypervisor (the VM suite does that).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
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
	assert_true(testos_is_cloexec(l));
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unix_path_and_stale),
	    cmocka_unit_test(test_unix_abstract),
	    cmocka_unit_test(test_adopt_inherited_listener),
	    cmocka_unit_test(test_vsock_sockaddr),
	    cmocka_unit_test(test_hv_sock_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
