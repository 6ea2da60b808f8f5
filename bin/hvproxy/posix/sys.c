/* SPDX-License-Identifier: MIT */
/*
 * hvproxy on POSIX systems (os.h): signals, the pid file, the descriptor
 * limit, syslog and the journal, the configuration file's checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "os.h"

int
hvp_os_init(void)
{
	/* Writes to a closed peer must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* ---- signals ---------------------------------------------------------- */

static struct {
	struct event *ev[3];
	hvp_os_request_fn fn;
	void *arg;
} sigs;

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		sigs.fn(HVP_REQ_RELOAD, "SIGHUP", sigs.arg);
	} else {
		sigs.fn(HVP_REQ_STOP, sig == SIGINT ? "SIGINT" : "SIGTERM",
		    sigs.arg);
	}
}

int
hvp_os_requests_start(struct event_base *base, hvp_os_request_fn fn, void *arg)
{
	static const int which[3] = {SIGTERM, SIGINT, SIGHUP};

	sigs.fn = fn;
	sigs.arg = arg;
	for (int i = 0; i < 3; i++) {
		sigs.ev[i] = evsignal_new(base, which[i], on_signal, NULL);
		if (sigs.ev[i] == NULL || evsignal_add(sigs.ev[i], NULL) != 0) {
			hvp_err("cannot install signal handlers");
			return -1;
		}
	}
	return 0;
}

/*
 * The exit status is decided once the loop has ended: a stop signal that
 * comes late (a supervisor's second SIGTERM, timeout(1) signalling its
 * process group after the child) must not turn it into death by signal
 * when event_free() gives the default action back. So the signals are
 * blocked before the events go, and ignored after (which also discards
 * one already pending).
 */
void
hvp_os_requests_stop(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 3; i++) {
		if (sigs.ev[i] != NULL) {
			event_free(sigs.ev[i]);
			sigs.ev[i] = NULL;
		}
	}
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
}

int
hvp_os_control(const char *pid, const char *cmd)
{
	(void)pid;
	(void)cmd;
	fprintf(stderr,
	    "hvproxy: --control is for Windows; here, send the process "
	    "SIGHUP to reload or SIGTERM to stop (kill -HUP PID)\n");
	return HVP_EXIT_USAGE;
}

const char *
hvp_os_unavailable(const char *what)
{
	static const char *const win_only[] = {"install-service",
	    "remove-service", "service", "service-name", "start",
	    "service-account"};

	while (*what == '-') {
		what++;
	}
	for (size_t i = 0; i < sizeof(win_only) / sizeof(win_only[0]); i++) {
		if (strcmp(what, win_only[i]) == 0) {
			return "for Windows services only: here, run hvproxy "
			       "under the system's service manager (systemd, "
			       "rc.d)";
		}
	}
	return NULL;
}

/* Windows services: refused before they get here (hvp_os_unavailable). */
int
hvp_os_service_name_check(const char *name, char *why, size_t size)
{
	(void)name;
	snprintf(why, size, "Windows services only");
	return -1;
}

int
hvp_os_service_install(const struct hvp_svc_install *in)
{
	(void)in;
	return HVP_EXIT_USAGE;
}

int
hvp_os_service_remove(const char *name)
{
	(void)name;
	return HVP_EXIT_USAGE;
}

int
hvp_os_service_run(const char *name, int (*fn)(void *), void *arg)
{
	(void)name;
	(void)fn;
	(void)arg;
	return HVP_EXIT_USAGE;
}

const char *
hvp_os_default_config(void)
{
	return NULL;
}

/* ---- descriptors ------------------------------------------------------ */

/* Connections cost two descriptors each, and a relay's splice pipes up to
 * four more (daemon.c fit_descriptors()): take what the hard limit allows
 * (systemd and most shells start daemons with a soft limit of 1024). */
void
hvp_os_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return;
	}
	want = rl.rlim_max;
	if (want == RLIM_INFINITY || want > 1048576) {
		want = 1048576;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			hvp_debug("cannot raise the descriptor limit: %s",
			    strerror(errno));
		}
	}
}

int
hvp_os_fd_limit(unsigned long long *lim)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return -1;
	}
	if (rl.rlim_cur == RLIM_INFINITY) {
		return 1;
	}
	*lim = (unsigned long long)rl.rlim_cur;
	return 0;
}

const char *
hvp_os_fd_limit_hint(void)
{
	return "raise LimitNOFILE= / ulimit -n";
}

/* ---- the pid file ----------------------------------------------------- */

static int pidfile_fd = -1;
static char *pidfile_path;

/*
 * Write our pid to @path and keep it locked for as long as we run: a
 * second hvproxy with the same pidfile stops instead of overwriting it.
 * Not through a symbolic link, and only into a plain file: hvproxy writes
 * it as root, possibly in a folder others can write to (SECURITY.md).
 */
int
hvp_os_pidfile_create(const char *path)
{
	struct stat st;
	char buf[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		hvp_err("pidfile %s: %s", path,
		    errno == ELOOP ? "is a symbolic link (refused)"
				   : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
		hvp_err("pidfile %s: not a plain file with one name (refused)",
		    path);
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t got = read(fd, buf, sizeof(buf) - 1);

		buf[got > 0 ? got : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		hvp_err("pidfile %s: hvproxy is already running (pid %s)", path,
		    buf[0] != '\0' ? buf : "?");
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, buf, (size_t)n) != n) {
		hvp_err("pidfile %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	pidfile_fd = fd;
	pidfile_path = hvc_xstrdup(path);
	return 0;
}

void
hvp_os_pidfile_remove(void)
{
	if (pidfile_path == NULL) {
		return;
	}
	/* After --user this may be refused (the folder is root's). Then the
	 * file is emptied through the descriptor still open, so that no pid
	 * that may be reused stays in it; the next start takes it over,
	 * since the lock, not the file, says whether hvproxy runs. */
	if (unlink(pidfile_path) != 0 && errno != ENOENT) {
		int err = errno;

		hvp_left_behind("the pid file", pidfile_path, err,
		    ftruncate(pidfile_fd, 0) == 0
			? "emptied instead (the next start reuses it)"
			: "the next start reuses it");
	}
	close(pidfile_fd);
	pidfile_fd = -1;
	free(pidfile_path);
	pidfile_path = NULL;
}

/* ---- the log ---------------------------------------------------------- */

/* 1 if fd 2 is the stream JOURNAL_STREAM ("DEV:INODE") names. */
int
hvp_os_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2) {
		return 0;
	}
	if (fstat(STDERR_FILENO, &st) != 0) {
		return 0;
	}
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
hvp_os_syslog_open(void)
{
	/* LOG_NDELAY: connect now, while the root directory and the user
	 * are still the ones that can reach /dev/log. */
	openlog("hvproxy", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
hvp_os_syslog(int level, const char *msg)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

	syslog(prio[level >= 0 && level <= 3 ? level : 3], "%s", msg);
}

FILE *
hvp_os_log_file_open(const char *path)
{
	int fd = open(path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	FILE *fp;
	int e;

	if (fd < 0) {
		return NULL;
	}
	fp = fdopen(fd, "a");
	if (fp == NULL) {
		e = errno;
		close(fd);
		errno = e;
	}
	return fp;
}

/* ---- the configuration file ------------------------------------------- */

int
hvp_config_perm_check(const struct stat *st, unsigned long euid, char *why,
    size_t size)
{
	if (st->st_mode & S_IWOTH) {
		snprintf(why, size,
		    "is writable by every user (mode %04o): anyone could "
		    "change the forwards (chmod o-w)",
		    (unsigned)(st->st_mode & 07777));
		return -1;
	}
	if (euid != 0) {
		return 0;
	}
	if (st->st_uid != 0) {
		snprintf(why, size,
		    "belongs to uid %lu, and hvproxy runs as root: that user "
		    "could change the forwards (chown root)",
		    (unsigned long)st->st_uid);
		return -1;
	}
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0) {
		snprintf(why, size,
		    "is writable by group %lu (mode %04o), and hvproxy runs "
		    "as root (chmod g-w)",
		    (unsigned long)st->st_gid, (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

static const char *
file_kind(mode_t m)
{
	if (S_ISFIFO(m)) {
		return "a fifo";
	}
	if (S_ISDIR(m)) {
		return "a directory";
	}
	if (S_ISCHR(m)) {
		return "a character device";
	}
	if (S_ISBLK(m)) {
		return "a block device";
	}
	if (S_ISSOCK(m)) {
		return "a socket";
	}
	return "not a plain file";
}

int
hvp_conf_file_open(const char *file, char *why, size_t size)
{
	struct stat st;
	int fd, fl, e;

	/* O_NONBLOCK: opening a FIFO would wait for a writer. */
	fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(why, size, "cannot open: %s", strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		snprintf(why, size, "cannot read: %s", strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, size,
		    "not a regular file (%s): expected a configuration file",
		    file_kind(st.st_mode));
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if (st.st_size > (off_t)HVP_CONF_MAX_SIZE) {
		snprintf(why, size,
		    "the file has %lld bytes, more than the %u MiB a "
		    "configuration file may have",
		    (long long)st.st_size, HVP_CONF_MAX_SIZE / (1024u * 1024u));
		close(fd);
		errno = EFBIG;
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		e = errno;
		snprintf(why, size, "cannot read: %s", strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * The path may no longer be opened (after --user): read the file opened
 * at start-up through @keep, unless the path now names another file (it
 * was replaced, not edited in place: what it holds now cannot be read).
 * A new descriptor of it, at offset 0, or -1 (in @errs).
 */
static int
reopen_kept(const char *file, int keep, const char *why,
    struct hvp_errors *errs)
{
	struct stat now, kept;
	int fd;

	if (fstat(keep, &kept) != 0) {
		hvp_errors_add(errs, "%s: %s", file, why);
		return -1;
	}
	if (stat(file, &now) == 0) {
		if (now.st_dev != kept.st_dev || now.st_ino != kept.st_ino) {
			hvp_errors_add(errs,
			    "%s: %s (uid %lu), and it is no longer the file "
			    "opened at start-up: it was replaced, not edited "
			    "in place; make the new file readable by this "
			    "user, or restart hvproxy",
			    file, why, (unsigned long)geteuid());
			return -1;
		}
		hvp_info("%s: %s (uid %lu): reading it through the "
			 "descriptor opened at start-up (the same file)",
		    file, why, (unsigned long)geteuid());
	} else {
		hvp_warn("%s: %s (uid %lu): reading the file opened at "
			 "start-up instead; whether the path still names it "
			 "cannot be told (%s)",
		    file, why, (unsigned long)geteuid(), strerror(errno));
	}
	fd = fcntl(keep, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		hvp_errors_add(errs,
		    "%s: cannot read the file opened at "
		    "start-up: %s",
		    file, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	return fd;
}

void
hvp_conf_file_check_reopen(const char *file, int keep_fd)
{
	char why[256];
	int fd = hvp_conf_file_open(file, why, sizeof(why));

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (errno != EACCES && errno != EPERM) {
		return; /* a reload reports it */
	}
	if (keep_fd >= 0) {
		hvp_warn("%s: %s as uid %lu: a reload (SIGHUP) will read the "
			 "file opened at start-up, so changes made in place "
			 "are seen, but a file replaced by a new one (as "
			 "most editors and tools do) cannot be read until "
			 "restart; make the file readable by this user to "
			 "reload any change",
		    file, why, (unsigned long)geteuid());
	} else {
		hvp_warn("%s: %s as uid %lu: a reload (SIGHUP) will fail; "
			 "make the file readable by this user",
		    file, why, (unsigned long)geteuid());
	}
}

int
hvp_os_conf_fd(const char *file, int *keep_fd, struct hvp_errors *errs)
{
	unsigned long euid = (unsigned long)geteuid();
	struct stat st;
	char why[256];
	int fd;

	fd = hvp_conf_file_open(file, why, sizeof(why));
	if (fd < 0 && (errno == EACCES || errno == EPERM) && keep_fd != NULL &&
	    *keep_fd >= 0) {
		fd = reopen_kept(file, *keep_fd, why, errs);
		if (fd < 0) {
			return -1;
		}
		/* Read on the authority of the user who opened it: root's
		 * rule (--user needs root). */
		euid = 0;
	} else if (fd < 0) {
		hvp_errors_add(errs, "%s: %s", file, why);
		return -1;
	} else if (keep_fd != NULL && *keep_fd == -1) {
		/* For reloads once --user took the right to open it
		 * (main.c). */
		*keep_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	}
	/* The rule applies to the file read, however it was reached. */
	if (fstat(fd, &st) == 0 &&
	    hvp_config_perm_check(&st, euid, why, sizeof(why)) != 0) {
		hvp_errors_add(errs, "%s: refused: the file %s", file, why);
		close(fd);
		return -1;
	}
	return fd;
}
