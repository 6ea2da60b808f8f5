/* SPDX-License-Identifier: MIT */
/*
 * hvproxy — a port forwarder for Hyper-V sockets, vsock, tcp and unix
 * sockets. Private interface between its source files.
 *
 *   main.c      options, start-up order, signals, the event loop
 *   config.c    the configuration: forwards, the merge of the command
 *               line, [global] and each forward's keys, validation
 *   conf_file.c the configuration file (INI, read with inih)
 *   resolve.c   where a tcp listen address binds (checks across forwards)
 *   describe.c  the merged configuration as text (--check)
 *   forward.c   one forward at run time: its listener, admission
 *               (limits, allowlists), async connect, relays
 *   daemon.c    the daemon: every forward, reload, drain, counters
 *   peers.c     open connections per peer (max-conns-per-peer)
 *   metrics.c   the Prometheus endpoint (a small HTTP/1.x responder)
 *   log.c       stderr / journal / a file / syslog, with levels
 *   wsl.c       hvsock:wsl:PORT on a Windows host
 *   os.h        what differs per system: posix/ (signals, pid file,
 *               descriptor limit, syslog, systemd.c: socket activation
 *               and readiness, privdrop.c: --user) and win/ (Ctrl-C and
 *               the control events, refused options)
 *
 * Numbers, durations, sizes, allowlists, the reading of a tcp peer's
 * address and the allocation helpers come from bin/common (hvc_*), which
 * hvcat shares.
 *
 * Helpers return 0 / -1 (or a negative HVS_E* code where they say so) and
 * leave exiting to main.c.
 */
#ifndef HVPROXY_H
#define HVPROXY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hvsock/hvsock.h>
#include <hvsock/loop.h>

#include "common/allow.h"
#include "common/num.h"
#include "common/peer.h"
#include "common/sockfile.h"
#include "common/util.h"

struct event_base;

#define HVP_PRINTF(a, b) HVC_PRINTF(a, b)
#define HVP_NORETURN HVC_NORETURN

/* Exit codes: runtime failure 1, usage or configuration error 2. */
#define HVP_EXIT_OK 0
#define HVP_EXIT_FAIL 1
#define HVP_EXIT_USAGE 2

/* ---- log.c ------------------------------------------------------------ */

enum hvp_level {
	HVP_LOG_ERROR = 0,
	HVP_LOG_WARN = 1,
	HVP_LOG_INFO = 2, /* -v: one line per connection */
	HVP_LOG_DEBUG = 3,
};

/* Start logging to stderr at @level (messages above it are dropped). */
void hvp_log_init(int level);
/* Change the level (reload, -v given after start-up). */
void hvp_log_set_level(int level);
int hvp_log_level(void);
/* Send messages to syslog (facility daemon) from now on. */
void hvp_log_use_syslog(void);
/* Append messages to the file @path from now on (log.c says how). 0, or
 * -1 (said on stderr). */
int hvp_log_use_file(const char *path);
/* Also hand every message up to @max_level to @fn (NULL: no more). */
void hvp_log_add_sink(void (*fn)(int level, const char *msg), int max_level);
/* Close the log file, if any (messages go to stderr again). */
void hvp_log_close(void);
/* Route libhvsock's own messages through hvp_log. */
void hvp_log_route_library(void);
void hvp_log(int level, const char *fmt, ...) HVP_PRINTF(2, 3);
/* 1 if a message at @level would be written. */
int hvp_log_on(int level);
/* "error", "warning", "info", "debug" <-> level; -1 if unknown, "?". */
int hvp_log_level_parse(const char *s);
const char *hvp_log_level_name(int level);

#define hvp_err(...) hvp_log(HVP_LOG_ERROR, __VA_ARGS__)
#define hvp_warn(...) hvp_log(HVP_LOG_WARN, __VA_ARGS__)
#define hvp_info(...) hvp_log(HVP_LOG_INFO, __VA_ARGS__)
#define hvp_debug(...) hvp_log(HVP_LOG_DEBUG, __VA_ARGS__)

/* ---- config.c, conf_file.c -------------------------------------------- */

/* Settings that a forward takes from [global] / the command line unless it
 * sets them itself. */
struct hvp_fwd_defaults {
	unsigned max_conns; /* per forward, 0 = only the global limit */
	unsigned max_conns_peer; /* per peer within a forward, 0 = none */
	int connect_timeout_ms; /* > 0 */
	int idle_timeout_ms; /* 0 = none */
	size_t buffer; /* relay high watermark per direction */
};

/*
 * One forward as configured. Immutable once loaded and shared by
 * reference: the connections it admitted keep theirs across a reload.
 */
struct hvp_fwd_conf {
	unsigned refs;
	char *name;
	char *where; /* "FILE:LINE" or "command line" */
	hvs_addr_t listen;
	hvs_addr_t target;
	char *listen_str; /* formatted, for logs and metrics */
	char *target_str;
	struct hvc_allow allow; /* allow= lines or --allow (it may be empty) */
	struct hvp_fwd_defaults lim;
	unsigned set; /* HVP_SET_* given in the forward itself */
	int line; /* where its first key was, for later errors */
	int listen_line; /* the file's listen= line, or 0 */
	int checked; /* passed hvp_conf_validate_fwd() */
	/* Where a tcp listener binds (hvp_tcp_bind_addr()), set by
	 * hvp_conf_validate_fwd(). */
	struct hvp_bind_addr {
		int family; /* AF_INET, AF_INET6 */
		uint8_t addr[16]; /* all zero: every address */
		uint16_t port;
	} bind;
};

#define HVP_SET_MAX_CONNS 0x01u
#define HVP_SET_CONNECT_TIMEOUT 0x02u
#define HVP_SET_IDLE_TIMEOUT 0x04u
#define HVP_SET_BUFFER 0x08u
#define HVP_SET_DRAIN_TIMEOUT 0x10u
#define HVP_SET_LOG_LEVEL 0x20u
#define HVP_SET_SYSLOG 0x40u
#define HVP_SET_METRICS 0x80u
#define HVP_SET_USER 0x100u
#define HVP_SET_PIDFILE 0x200u
#define HVP_SET_MAX_CONNS_TOTAL 0x400u
#define HVP_SET_WSL_POLL 0x800u
#define HVP_SET_MAX_CONNS_PEER 0x1000u
#define HVP_SET_LOG_FILE 0x2000u

/* Global settings: built-in defaults < [global] < command line. */
struct hvp_globals {
	unsigned set; /* HVP_SET_* given at this level */
	unsigned max_conns; /* all forwards together, 0 = automatic */
	int drain_timeout_ms; /* >= 0 */
	int log_level;
	int use_syslog;
	char *log_file; /* --log-file or NULL */
	char *metrics; /* address of the metrics endpoint or NULL */
	char *user; /* --user or NULL */
	char *pidfile; /* or NULL */
	int wsl_poll_ms; /* how often a WSL VM id is checked */
	struct hvp_fwd_defaults fwd;
	unsigned fwd_set; /* HVP_SET_* of fwd */
};

/* The whole configuration. */
struct hvp_config {
	struct hvp_globals g; /* merged */
	struct hvp_fwd_conf **fwds;
	size_t nfwds;
	char *file; /* -c FILE or NULL */
	hvs_addr_t metrics_addr; /* parsed g.metrics */
};

/* What the command line said, kept for reloads. */
struct hvp_cmdline {
	struct hvp_globals g;
	/* --allow for the command-line forwards, each given (they add
	 * up), NULL-terminated; NULL = none */
	char **allow;
	char *file; /* -c */
	/* Instead of reading @file, parse these bytes under its name (the
	 * fuzz target fuzz/fuzz_config.c): NULs and all, no permission check */
	const char *text;
	size_t text_len;
	/* NULL, or where the file's descriptor is kept: -1 until a load
	 * opens the file, -2 for never (main.c, without --user). A later
	 * load that may no longer open the path (EACCES, EPERM: after
	 * --user) reads the file through it. */
	int *keep_fd;
	char **pairs; /* LISTEN TARGET ... */
	int npairs; /* count of strings (even) */
};

/* Errors collected while loading: each a full line of text. */
struct hvp_errors {
	char **msg;
	size_t n;
};

void hvp_errors_add(struct hvp_errors *e, const char *fmt, ...)
    HVP_PRINTF(2, 3);
void hvp_errors_print(const struct hvp_errors *e, int level);
void hvp_errors_free(struct hvp_errors *e);

/*
 * Load the configuration the command line asks for: the file (if any)
 * and the command-line forwards, merged and validated. Returns the config,
 * or NULL with every problem in @errs.
 */
struct hvp_config *hvp_config_load(const struct hvp_cmdline *cl,
    struct hvp_errors *errs);
void hvp_config_free(struct hvp_config *c);

/*
 * The permission rule of a configuration file (hvp_config_load() applies
 * it to @st of the open file): never writable by every user; when hvproxy
 * runs as root (@euid 0), owned by root and writable by no group but
 * root's. Returns 0, or -1 with the reason in @why.
 */
struct stat;
int hvp_config_perm_check(const struct stat *st, unsigned long euid, char *why,
    size_t size);

struct hvp_fwd_conf *hvp_fwd_conf_ref(struct hvp_fwd_conf *fc);
void hvp_fwd_conf_unref(struct hvp_fwd_conf *fc);

/* Between config.c (the model) and conf_file.c (the file). */

/* A forward named @name, configured at @where ("FILE:LINE", "argument
 * '...'"), line @line of the file or 0. */
struct hvp_fwd_conf *hvp_fwd_conf_new(const char *name, const char *where,
    int line);
void hvp_config_add_fwd(struct hvp_config *c, struct hvp_fwd_conf *fc);
/* Parse @str for @role; 0, or -1 with a message naming the bad part. */
int hvp_conf_parse_addr(hvs_addr_t *out, const char *str, hvs_role_t role,
    char *msg, size_t msgsize);
/* Add the entries of @list to @fc's allowlist; 0, or -1 with "allow: ..."
 * in @msg. */
int hvp_conf_add_allow(struct hvp_fwd_conf *fc, const char *list, char *msg,
    size_t msgsize);

/*
 * Where a forward's problems are reported: in a file through @report, with
 * the line of the key concerned (sorted with the file's other errors), or
 * on the command line into @errs, after @at (the argument).
 */
enum hvp_vline { HVP_V_LISTEN, HVP_V_ALLOW, HVP_V_FWD };

struct hvp_vwhere {
	void (*report)(void *arg, int line, const char *msg);
	void *arg;
	int line[3];
	const char *at[3];
	struct hvp_errors *errs;
};

/* The checks of one forward that need the machine: the listen and
 * target kinds, the allowlist against the listener, where a tcp listener
 * binds (fc->bind); a warning when the target is the listener itself. */
void hvp_conf_validate_fwd(struct hvp_config *c, struct hvp_fwd_conf *fc,
    const struct hvp_vwhere *w);
/*
 * Listen addresses that cannot be bound together: the same address twice,
 * the same once resolved (tcp:localhost:P and tcp:127.0.0.1:P), a
 * wildcard beside an address it covers (tcp:*:P and tcp:127.0.0.1:P;
 * tcp:[::]:P takes IPv4 too; vsock:any:P and vsock:3:P), and @metrics
 * (or NULL) on a forward's address. Forwards that passed
 * hvp_conf_validate_fwd() only (fc->checked). Each clash is reported
 * once, at the later of the two (@metrics after every forward), through
 * @report with @fc NULL for the metrics endpoint, for forwards from
 * index @from on only. O(n log n).
 */
void hvp_conf_check_listeners(const struct hvp_config *c, size_t from,
    const hvs_addr_t *metrics,
    void (*report)(void *arg, const struct hvp_fwd_conf *fc, const char *msg),
    void *arg);
/* Where tcp @host @port binds (@listen) or connects (the first answer,
 * localhost and numeric hosts only: no lookup over the network); 0, or -1
 * with the reason in @why (resolve.c). */
int hvp_tcp_bind_addr(const char *host, uint16_t port, int listen,
    struct hvp_bind_addr *out, char *why, size_t size);
/* Read @file (or @text, @text_len bytes under its name) into @c's forwards
 * and its [global] into *@fileg; every problem goes to @errs. @keep_fd as
 * in struct hvp_cmdline. */
int hvp_conf_file_load(struct hvp_config *c, struct hvp_globals *fileg,
    const char *file, const char *text, size_t text_len, int *keep_fd,
    struct hvp_errors *errs);
/*
 * Open @file for reading without blocking (a FIFO would) and only if it
 * is a regular file: the descriptor (close-on-exec, blocking), or -1 with
 * errno set and the reason in @why ("not a regular file (a fifo)").
 */
int hvp_conf_file_open(const char *file, char *why, size_t size);
/* After --user: warn once if the path can no longer be opened, saying
 * what a reload will read instead. */
void hvp_conf_file_check_reopen(const char *file, int keep_fd);

/* A configuration file is at most this large, its lines at most
 * HVP_CONF_LINE_MAX characters, and at most HVP_CONF_MAX_ERRORS problems
 * are reported. */
#define HVP_CONF_MAX_SIZE (16u * 1024u * 1024u)
#define HVP_CONF_LINE_MAX 197
#define HVP_CONF_MAX_ERRORS 50
#define HVP_NAME_MAX 64

/* Built-in defaults, in one place for the man page and --help. */
#define HVP_DEF_CONNECT_TIMEOUT_MS 5000
#define HVP_DEF_DRAIN_TIMEOUT_MS 30000
#define HVP_DEF_BUFFER (1024u * 1024u)
#define HVP_DEF_WSL_POLL_MS 10000
#define HVP_MAX_CONNS_LIMIT 1000000u
/* After --drain-timeout, relays still open get this long to write out
 * what they have read before they are closed. */
#define HVP_FLUSH_GRACE_MS 5000

/* ---- describe.c ------------------------------------------------------- */

/* --check: every forward with the settings it gets after merging, and the
 * global ones. */
void hvp_config_describe(const struct hvp_config *c, FILE *out);
/* Values are written the way the file takes them (hvc_format_duration(),
 * hvc_format_size(), hvc_allow_format()). */

/* ---- forward.c -------------------------------------------------------- */

/* Per-forward counters, as the metrics endpoint shows them. */
struct hvp_fwd_stats {
	const char *name;
	const char *listen;
	const char *target;
	unsigned open;
	unsigned peers; /* distinct peers with connections open */
	uint64_t total; /* admitted connections */
	uint64_t bytes_up; /* client -> target */
	uint64_t bytes_down; /* target -> client */
	uint64_t err_connect; /* target refused / unreachable / timed out */
	uint64_t err_relay; /* read/write error or reset */
	uint64_t idle_timeouts;
	uint64_t refused_limit; /* --max-conns */
	uint64_t refused_peer; /* --max-conns-per-peer */
	uint64_t refused_allow; /* allowlist */
	int listening; /* 0 once removed by a reload */
};

struct hvp_daemon;

int hvp_daemon_new(struct hvp_daemon **out, struct event_base *base);
void hvp_daemon_free(struct hvp_daemon *d);

/*
 * Make @cfg the running configuration. At start-up (@initial) every
 * listener is bound or none is (returns -1, logged). On a reload the
 * listeners that stay are kept, new ones bound first, and on any failure
 * the old configuration stays in force (returns -1, logged). Established
 * connections are never touched. Takes @cfg on success.
 */
int hvp_daemon_apply(struct hvp_daemon *d, struct hvp_config *cfg, int initial);
const struct hvp_config *hvp_daemon_config(const struct hvp_daemon *d);

/* SIGTERM: stop accepting and let connections finish; @done runs when
 * none is left (at once if none is open). A second call hurries up. */
void hvp_daemon_drain(struct hvp_daemon *d, void (*done)(void *), void *arg);

/* Metrics: call @fn for each forward (kept or retired with connections). */
void hvp_daemon_foreach(const struct hvp_daemon *d,
    void (*fn)(const struct hvp_fwd_stats *st, void *arg), void *arg);
void hvp_daemon_totals(const struct hvp_daemon *d, unsigned *open,
    unsigned *max_conns, uint64_t *reloads, uint64_t *reload_failures);
void hvp_daemon_count_reload(struct hvp_daemon *d, int ok);

/* ---- peers.c ---------------------------------------------------------- */

/* Who a peer is, for max-conns-per-peer (peers.c says what counts). */
enum hvp_peer_kind {
	HVP_PEER_NONE = 0,
	HVP_PEER_CID, /* vsock: the CID */
	HVP_PEER_VMID, /* Hyper-V: the VM id */
	HVP_PEER_IP4, /* tcp: the address, IPv4-mapped IPv6 included */
	HVP_PEER_IP6, /* tcp: the address and its scope (link-local) */
	HVP_PEER_UID, /* unix: the user id (hvc_peer_cred()) */
};

struct hvp_peer_key {
	uint8_t kind; /* enum hvp_peer_kind */
	uint8_t id[16];
	uint32_t scope; /* HVP_PEER_IP6: the scope id (interface), or 0 */
};

struct hvp_peer_slot {
	struct hvp_peer_key key;
	unsigned count; /* 0 = empty slot */
};

/* Open connections per peer. Zeroed = empty; hvp_peers_clear() frees. */
struct hvp_peers {
	struct hvp_peer_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t used;
};

/* The identity of the peer @p (hvc_peer_read()): 1 and @k set, or 0 if
 * the peer cannot be told apart from others (it is then not counted). */
int hvp_peer_key(const struct hvc_peer *p, struct hvp_peer_key *k);
/* "cid 3", "vm GUID", "10.0.0.1", "fe80::1%2", "uid 1000"; 0 or -1. */
int hvp_peer_key_format(const struct hvp_peer_key *k, char *buf, size_t size);
unsigned hvp_peers_count(const struct hvp_peers *t,
    const struct hvp_peer_key *k);
/* One more connection of @k: 0, or -1 when out of memory. */
int hvp_peers_add(struct hvp_peers *t, const struct hvp_peer_key *k);
/* One fewer; the entry goes with the last. */
void hvp_peers_remove(struct hvp_peers *t, const struct hvp_peer_key *k);
/* Distinct peers with connections open. */
size_t hvp_peers_size(const struct hvp_peers *t);
void hvp_peers_clear(struct hvp_peers *t);

/* ---- metrics.c -------------------------------------------------------- */

struct hvp_metrics;

/* Serve /metrics on @addr (tcp: or unix:). Returns 0 or -1 (logged). */
int hvp_metrics_new(struct hvp_metrics **out, struct event_base *base,
    const hvs_addr_t *addr, struct hvp_daemon *d);
void hvp_metrics_free(struct hvp_metrics *m);

/* ---- posix/systemd.c, win/stubs.c ------------------------------------- */

/* Take LISTEN_FDS (checking LISTEN_PID) once at start-up and clear the
 * variables. Returns the count of inherited sockets (fds 3..3+n-1). */
int hvp_sd_listen_fds(void);
/* Check that @fd is an open, listening stream socket. 0 or -1 with a
 * static reason in *@why. */
int hvp_sd_check_fd(int fd, const char **why);
/* sd_notify(): READY=1, RELOADING=1, STOPPING=1, STATUS=... */
void hvp_sd_notify(const char *state);
void hvp_sd_notifyf(const char *fmt, ...) HVP_PRINTF(1, 2);
/* Start WATCHDOG=1 pings if the service manager asks for them. */
void hvp_sd_watchdog_start(struct event_base *base);
void hvp_sd_watchdog_stop(void);
/* "libsystemd" or "built-in". */
const char *hvp_sd_backend(void);

/* ---- posix/privdrop.c, win/stubs.c ------------------------------------ */

/* Check that USER[:GROUP] exists. 0 or -1 with a message in @why. */
int hvp_priv_check(const char *spec, char *why, size_t whysize);
/* Become USER[:GROUP] for good. 0 or -1 (logged). */
int hvp_priv_drop(const char *spec);
/*
 * A file this process made and could not remove when done with it (@err,
 * an errno value): a warning naming @what ("pid file"), @path and why.
 * After --user the usual cause is a folder the user may not write to
 * (unlink() needs that, whatever the file's owner); @then says what
 * happens to the file ("the next start replaces it").
 */
void hvp_left_behind(const char *what, const char *path, int err,
    const char *then);
/* Remove the unix socket file @f of a listener just closed, or say why
 * not (hvp_left_behind()); @who names the listener ("forward web"). */
void hvp_sockfile_remove(struct hvc_sockfile *f, const char *who);

/* ---- wsl.c ------------------------------------------------------------ */

struct hvp_wsl;

/* 1 if this build can listen on hvsock:wsl: addresses (Windows). */
int hvp_wsl_supported(void);

/*
 * Listen on @addr (hvsock:wsl:SERVICE) at the current WSL VM id and
 * re-listen whenever the id changes (checked every @poll_ms). @cb and
 * @userdata as for hvs_listener_new(). Returns 0 or a negative HVS_E*.
 */
int hvp_wsl_listen(struct hvp_wsl **out, struct event_base *base,
    const hvs_addr_t *addr, const hvs_listener_opts_t *lopts, int poll_ms,
    hvs_accept_fn cb, void *userdata);
/* A reload's wsl-poll for a forward that stays: checks every @poll_ms
 * from now on (the next one @poll_ms from now, unless one runs). */
void hvp_wsl_set_poll(struct hvp_wsl *w, int poll_ms);
void hvp_wsl_free(struct hvp_wsl *w);

/*
 * 1 if the output of `wsl.exe --list --running --quiet` names at least one
 * running distribution, else 0.
 */
int hvp_wsl_parse_running(const char *buf, size_t len);

/* ---- small helpers (config.c) ---------------------------------------- */

/* Format @a into a fresh string. */
char *hvp_addr_str(const hvs_addr_t *a);

#endif /* HVPROXY_H */
