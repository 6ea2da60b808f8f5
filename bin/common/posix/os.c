/* SPDX-License-Identifier: MIT */
/*
 * bin/common's system calls on POSIX systems (os.h): user lookup, a unix
 * peer's credentials, socket files, the standard streams, the clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common/os.h"
#include "common/util.h"

const char *
hvc__os_progname(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return slash != NULL && slash[1] != '\0' ? slash + 1 : argv0;
}

/* The largest uid an entry takes: (uid_t)-1 is no user. */
#define UID_MAX_ENTRY (UINT32_MAX - 1u)
/* getpwnam_r()'s buffer grows up to this. */
#define PW_BUF_MAX (1u << 20)

int
hvc__os_user_uid(const char *name, uint32_t *uid, int *err)
{
	long max = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = max > 0 && max < (long)PW_BUF_MAX ? (size_t)max : 1024;

	for (;;) {
		struct passwd pw, *res = NULL;
		char *buf = hvc_xcalloc(size, 1);
		int r = getpwnam_r(name, &pw, buf, size, &res);

		if (r == ERANGE && size < PW_BUF_MAX) {
			free(buf);
			size *= 2;
			continue;
		}
		if (r == 0 && res != NULL) {
			free(buf);
			if ((uint64_t)pw.pw_uid > UID_MAX_ENTRY) {
				*err = ERANGE;
				return -1;
			}
			*uid = (uint32_t)pw.pw_uid;
			return 0;
		}
		free(buf);
		/* Not found is 0 (POSIX); some systems say ENOENT or ESRCH. */
		if (r == 0 || r == ENOENT || r == ESRCH) {
			return 1;
		}
		*err = r;
		return -1;
	}
}

/* getpeereid() where it exists (the BSDs, macOS; musl has it too), else
 * Linux's SO_PEERCRED (OpenBSD's SO_PEERCRED takes another struct, but
 * OpenBSD has getpeereid()). */
#if defined(HVC_HAVE_GETPEEREID)
#define PEER_CRED 1
#elif defined(SO_PEERCRED) && defined(__linux__)
#define PEER_CRED 1
#else
#define PEER_CRED 0
#endif

int
hvc__os_peer_cred_supported(void)
{
	return PEER_CRED;
}

/* The one place that asks the kernel: 0 with @uid and @gid set, or -1. */
int
hvc__os_peer_cred(hvs_sock_t sock, uint32_t *uid, uint32_t *gid)
{
#if defined(HVC_HAVE_GETPEEREID)
	uid_t u;
	gid_t g;

	if (getpeereid(sock, &u, &g) != 0) {
		return -1;
	}
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return 0;
#elif PEER_CRED
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    len != sizeof(uc)) {
		return -1;
	}
	*uid = (uint32_t)uc.uid;
	*gid = (uint32_t)uc.gid;
	return 0;
#else
	(void)sock;
	(void)uid;
	(void)gid;
	return -1;
#endif
}

const char *
hvc__os_family_why(hvs_addr_kind_t kind)
{
	(void)kind;
	return NULL;
}

int
hvc__os_file_id(const char *path, uint64_t *dev, uint64_t *ino, int *is_sock)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		return errno;
	}
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	*is_sock = S_ISSOCK(st.st_mode) ? 1 : 0;
	return 0;
}

int
hvc__os_unlink(const char *path)
{
	return unlink(path) == 0 ? 0 : errno;
}

int
hvc__os_fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

int
hvc__os_open_null(int fd)
{
	/* The lowest free number: @fd, as those below it are open. Not
	 * close-on-exec: a child inherits it as that stream. */
	int n = open("/dev/null", O_RDWR), e;

	if (n >= 0 && n != fd) {
		int d = dup2(n, fd);

		e = errno;
		close(n);
		errno = e;
		n = d;
	}
	return n < 0 ? errno : 0;
}

const char *
hvc__os_null_name(void)
{
	return "/dev/null";
}

uint64_t
hvc__os_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
