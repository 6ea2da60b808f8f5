/* SPDX-License-Identifier: MIT */
/*
 * hvproxy — forward connections between vsock, Hyper-V sockets, tcp and
 * unix sockets. One process, one event loop, the libhvsock relay engine.
 *
 *   hvproxy tcp:8080 vsock:8080          guest: local port 8080 -> host
 *   hvproxy vsock:8080 tcp:127.0.0.1:80  guest: expose a web server
 *   hvproxy -c /etc/hvproxy.conf         forwards from a config file
 *   hvproxy --control PID reload         Windows: what SIGHUP is elsewhere
 *   hvproxy --install-service -c FILE    Windows: a service (win/service.c)
 *
 * Start-up order: options -> configuration (validated as a whole; nothing
 * listens if anything is wrong) -> log file -> stop and reload requests
 * (signals, or Windows' Ctrl-C and control events: handled once the loop
 * runs) -> pidfile (locked: a second hvproxy with the same one stops
 * here, before it touches any socket) -> bind every listener -> drop
 * privileges -> tell the service manager we are ready -> loop.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvproxy.h"
#include "os.h"

static const char usage_text[] =
    "usage: hvproxy [-hqVv] [-c file] [--check] [--allow list] "
    "[--buffer size]\n"
    "               [--connect-timeout time] [--drain-timeout time]\n"
    "               [--idle-timeout time] [--max-conns n] "
    "[--max-conns-per-forward n]\n"
    "               [--log-file file] [--max-conns-per-peer n] "
    "[--metrics address]\n"
    "               [--pidfile file] [--syslog] [-u user[:group]] "
    "[--wsl-poll time]\n"
    "               [listen target ...]\n"
    "       hvproxy --control pid|service reload|stop\n"
    "       hvproxy --install-service [--service-name name] "
    "[--start when]\n"
    "               [--service-account account] [-c file] [options]\n"
    "               [listen target ...]\n"
    "       hvproxy --remove-service [--service-name name]\n";

static const char help_text[] =
    "\n"
    "Forward every connection accepted on LISTEN to TARGET, for each pair\n"
    "given and each [forward NAME] section of the config file.\n"
    "\n"
    "Addresses:\n"
    "  vsock:[CID:]PORT     listen: CID any; target: CID 2 (the host)\n"
    "  hvsock:[VMID:]SERVICE  VMID: GUID, parent, children, wsl, ...\n"
    "  tcp:[HOST:]PORT      listen: 127.0.0.1 unless written out "
    "(tcp:*:PORT)\n"
    "  unix:PATH            unix:@NAME = Linux abstract socket\n"
    "  vsock-mux:PATH:PORT  target only: guest port PORT through the VMM's\n"
    "                       unix socket PATH (Firecracker, Cloud "
    "Hypervisor)\n"
    "  fd:N                 listen on an inherited socket (systemd)\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE        read forwards and settings from FILE\n"
    "      --check              validate the configuration and exit\n"
    "      --allow LIST         allowlist for the command-line forwards:\n"
    "                           CIDs (3, cid:3), VM ids (GUID), IP "
    "networks,\n"
    "                           unix users (uid:0, user:NAME)\n"
    "      --buffer SIZE        bytes queued per direction (1m)\n"
    "      --connect-timeout T  give up connecting to a target after T "
    "(5s)\n"
    "      --drain-timeout T    on SIGTERM, let connections finish for T "
    "(30s)\n"
    "      --idle-timeout T     close connections idle for T (0 = never)\n"
    "      --log-file FILE      append the log to FILE, not standard "
    "error\n"
    "      --max-conns N        open connections, all forwards (0 = fit "
    "the\n"
    "                           descriptor limit)\n"
    "      --max-conns-per-forward N  open connections per forward (0 = "
    "none)\n"
    "      --max-conns-per-peer N  open connections of one peer (CID, VM "
    "id,\n"
    "                           IP address, local user) per forward "
    "(0 = none)\n"
    "      --metrics ADDR       serve Prometheus metrics on ADDR\n"
    "                           (HOST:PORT, PORT or unix:PATH)\n"
    "      --pidfile FILE       write the process id to FILE (not on "
    "Windows)\n"
    "      --syslog             log to syslog instead of standard error "
    "(not on\n"
    "                           Windows)\n"
    "  -u, --user USER[:GROUP]  drop privileges once listening (not on "
    "Windows)\n"
    "      --wsl-poll T         how often to check the WSL VM id (10s)\n"
    "  -q, --quiet              log errors only\n"
    "  -v, --verbose            -v: a line per connection; -vv: debug\n"
    "  -h, --help               this text\n"
    "  -V, --version            print the version\n"
    "\n"
    "Times: 30 (seconds), 0.5, 500ms, 2m, 1h. Sizes: 65536, 64k, 1m.\n"
    "Signals: TERM/INT drain and exit, HUP reloads the config file.\n"
    "Windows: Ctrl-C, Ctrl-Break and closing the console drain and exit;\n"
    "  hvproxy --control PID reload (or stop) does what HUP (or TERM) "
    "does;\n"
    "  without pairs or -c, %ProgramData%\\hvproxy\\hvproxy.conf is "
    "read.\n"
    "Windows service: --install-service creates one (name hvproxy, or\n"
    "  --service-name; --start auto (default), demand or disabled;\n"
    "  --service-account local-service (default), network-service or\n"
    "  local-system) that runs hvproxy --service NAME with -c and the\n"
    "  options given; --remove-service stops and deletes it; --control\n"
    "  NAME reload|stop, or sc.exe control NAME paramchange, reaches it.\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration "
    "error.\n"
    "See hvproxy(8).\n";

enum {
	OPT_CHECK = 256,
	OPT_ALLOW,
	OPT_BUFFER,
	OPT_CONNECT_TIMEOUT,
	OPT_CONTROL,
	OPT_DRAIN_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_LOG_FILE,
	OPT_MAX_CONNS,
	OPT_MAX_CONNS_FWD,
	OPT_MAX_CONNS_PEER,
	OPT_METRICS,
	OPT_PIDFILE,
	OPT_SYSLOG,
	OPT_WSL_POLL,
	OPT_INSTALL_SERVICE,
	OPT_REMOVE_SERVICE,
	OPT_SERVICE,
	OPT_SERVICE_NAME,
	OPT_SERVICE_START,
	OPT_SERVICE_ACCOUNT,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"check", no_argument, NULL, OPT_CHECK},
    {"allow", required_argument, NULL, OPT_ALLOW},
    {"buffer", required_argument, NULL, OPT_BUFFER},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"max-conns-per-forward", required_argument, NULL, OPT_MAX_CONNS_FWD},
    {"max-conns-per-peer", required_argument, NULL, OPT_MAX_CONNS_PEER},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"user", required_argument, NULL, 'u'},
    {"wsl-poll", required_argument, NULL, OPT_WSL_POLL},
    {"install-service", no_argument, NULL, OPT_INSTALL_SERVICE},
    {"remove-service", no_argument, NULL, OPT_REMOVE_SERVICE},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"service-name", required_argument, NULL, OPT_SERVICE_NAME},
    {"start", required_argument, NULL, OPT_SERVICE_START},
    {"service-account", required_argument, NULL, OPT_SERVICE_ACCOUNT},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* What the command line asks of the Windows service manager. */
enum { SVC_NONE, SVC_INSTALL, SVC_REMOVE, SVC_RUN };

/* Everything the signal callbacks need. */
struct app {
	struct event_base *base;
	struct hvp_daemon *d;
	struct hvp_metrics *metrics;
	struct hvp_cmdline cl;
	char *metrics_str; /* the metrics address in force */
	const char *control; /* --control PID */
	int exit_code;
	int conf_fd; /* the config file as opened at start-up, or < 0 */
	int stopping; /* SIGTERM or SIGINT came: draining */
	int check; /* --check */
	/* Windows services: what to do, and the daemon's options as given
	 * (but -c), for the service's command line. */
	int svc; /* SVC_* */
	struct hvp_svc_install inst;
	size_t nsvc_args;
};

static void HVP_NORETURN usage_error(const char *fmt, ...) HVP_PRINTF(1, 2);

static void HVP_NORETURN
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hvproxy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	fputs(usage_text, stderr);
	exit(HVP_EXIT_USAGE);
}

static void
print_version(void)
{
	printf("hvproxy %s (libhvsock %s, libevent %s, systemd support: %s)\n",
	    HVS_VERSION, hvs_version(), event_get_version(), hvp_sd_backend());
}

/* ---- signals ---------------------------------------------------------- */

static void
drained(void *arg)
{
	struct app *a = arg;

	hvp_info("all connections closed");
	event_base_loopexit(a->base, NULL);
}

static void
on_stop(struct app *a, const char *what)
{
	a->stopping = 1;
	hvp_sd_notify("STOPPING=1");
	hvp_info("%s: stopping", what);
	if (a->metrics != NULL) {
		hvp_metrics_free(a->metrics);
		a->metrics = NULL;
	}
	hvp_daemon_drain(a->d, drained, a);
}

static int
same_str(const char *x, const char *y)
{
	return (x == NULL && y == NULL) ||
	    (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static void
on_reload(struct app *a, const char *what)
{
	const struct hvp_config *old = hvp_daemon_config(a->d);
	struct hvp_errors errs = {NULL, 0};
	struct hvp_config *cfg;
	unsigned long long now_us;

	/* Stopping: the listeners are closed for good, and a reload would
	 * bind them (or new ones) again. */
	if (a->stopping) {
		unsigned left, max_conns;
		uint64_t reloads, failures;

		hvp_daemon_totals(a->d, &left, &max_conns, &reloads, &failures);
		hvp_warn("%s: reload ignored: draining, %u connection%s "
			 "left",
		    what, left, left == 1 ? "" : "s");
		return;
	}
	if (a->cl.file == NULL) {
		hvp_warn("%s: no configuration file (-c) to reload", what);
		return;
	}
	/* CLOCK_MONOTONIC, as hvc_now_ms() reads it. */
	now_us = (unsigned long long)hvc_now_ms() * 1000u;
	hvp_sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", now_us);
	cfg = hvp_config_load(&a->cl, &errs);
	if (cfg == NULL) {
		hvp_err("reload: the configuration has errors; keeping the "
			"one in force:");
		hvp_errors_print(&errs, HVP_LOG_ERROR);
		hvp_errors_free(&errs);
		hvp_daemon_count_reload(a->d, 0);
		hvp_sd_notify("READY=1");
		return;
	}
	if (!same_str(old->g.user, cfg->g.user) ||
	    !same_str(old->g.pidfile, cfg->g.pidfile) ||
	    !same_str(old->g.log_file, cfg->g.log_file) ||
	    old->g.use_syslog != cfg->g.use_syslog) {
		hvp_warn("reload: user, pidfile, log-file and syslog changes "
			 "take effect at the next start only");
	}
	if (hvp_daemon_apply(a->d, cfg, 0) != 0) {
		hvp_config_free(cfg);
		hvp_daemon_count_reload(a->d, 0);
		hvp_sd_notify("READY=1");
		return;
	}
	hvp_daemon_count_reload(a->d, 1);
	cfg = NULL; /* the daemon's now */
	old = hvp_daemon_config(a->d);
	hvp_log_set_level(old->g.log_level);
	if (!same_str(a->metrics_str, old->g.metrics)) {
		struct hvp_metrics *m = NULL;

		if (old->g.metrics != NULL &&
		    hvp_metrics_new(&m, a->base, &old->metrics_addr, a->d) !=
			0) {
			hvp_err("reload: keeping the metrics endpoint in "
				"force");
		} else {
			hvp_metrics_free(a->metrics);
			a->metrics = m;
			free(a->metrics_str);
			a->metrics_str = old->g.metrics != NULL
			    ? hvc_xstrdup(old->g.metrics)
			    : NULL;
		}
	}
	hvp_sd_notifyf("READY=1\nSTATUS=%zu forwards", old->nfwds);
}

/* SIGTERM, SIGHUP, Ctrl-C, the control events (os.h). */
static void
on_request(int req, const char *what, void *arg)
{
	if (req == HVP_REQ_RELOAD) {
		on_reload(arg, what);
	} else {
		on_stop(arg, what);
	}
}

/* ---- start-up --------------------------------------------------------- */

/* "--OPT 'ARG': why" and exit 2, for a value bin/common refused. */
static void HVP_NORETURN
bad_value(const char *opt, const char *arg, const char *why)
{
	char o[64], m[HVC_QUOTE_SIZE + 2 * HVC_WHY_SIZE];

	snprintf(o, sizeof(o), "--%s", opt);
	hvc_value_msg(m, sizeof(m), o, arg, why);
	usage_error("%s", m);
}

static void
set_duration(struct hvp_globals *g, int *dst, unsigned bit, int fwd,
    const char *opt, const char *arg, int zero_ok)
{
	char why[HVC_WHY_SIZE];

	if (hvc_parse_duration(arg, zero_ok, dst, why, sizeof(why)) != 0) {
		bad_value(opt, arg, why);
	}
	if (fwd) {
		g->fwd_set |= bit;
	} else {
		g->set |= bit;
	}
}

/* An option this system does not have: one line, exit 2. */
static void
refuse_unavailable(const char *opt)
{
	const char *why = hvp_os_unavailable(opt);

	if (why != NULL) {
		fprintf(stderr, "hvproxy: %s: %s\n", opt, why);
		exit(HVP_EXIT_USAGE);
	}
}

static unsigned
parse_count(const char *opt, const char *arg)
{
	char why[HVC_WHY_SIZE];
	uint64_t v;

	if (hvc_parse_uint(arg, 0, HVP_MAX_CONNS_LIMIT, &v, why, sizeof(why)) !=
	    0) {
		bad_value(opt, arg, why);
	}
	return (unsigned)v;
}

/* Keep a copy of @s for the service's command line. */
static void
svc_arg(struct app *a, const char *s)
{
	a->inst.args = hvc_xreallocarray(a->inst.args, a->nsvc_args + 2,
	    sizeof(*a->inst.args));
	a->inst.args[a->nsvc_args++] = hvc_xstrdup(s);
	a->inst.args[a->nsvc_args] = NULL;
}

static void
svc_args_free(struct app *a)
{
	for (size_t i = 0; i < a->nsvc_args; i++) {
		free(a->inst.args[i]);
	}
	free(a->inst.args);
	a->inst.args = NULL;
	a->nsvc_args = 0;
}

/* A daemon option (@ch as getopt_long() returned it), as the service's
 * command line repeats it: "--NAME" and its argument. */
static void
svc_keep_option(struct app *a, int ch, const char *arg)
{
	char o[64];

	if (ch == 'q' || ch == 'v') {
		snprintf(o, sizeof(o), "-%c", ch);
		svc_arg(a, o);
		return;
	}
	for (const struct option *lo = long_opts; lo->name != NULL; lo++) {
		if (lo->val == ch) {
			snprintf(o, sizeof(o), "--%s", lo->name);
			svc_arg(a, o);
			if (lo->has_arg != no_argument && arg != NULL) {
				svc_arg(a, arg);
			}
			return;
		}
	}
}

static int
parse_choice(const char *opt, const char *arg, const char *const *names,
    size_t n)
{
	char q[HVC_QUOTE_SIZE];

	for (size_t i = 0; i < n; i++) {
		if (strcmp(arg, names[i]) == 0) {
			return (int)i;
		}
	}
	hvc_quote(arg, strlen(arg), q, sizeof(q));
	if (n == 3) {
		usage_error("%s '%s': expected %s, %s or %s", opt, q, names[0],
		    names[1], names[2]);
	}
	usage_error("%s '%s': not a known value", opt, q);
}

static void
parse_options(struct app *a, int argc, char **argv, int *check)
{
	static const char *const starts[] = {"auto", "demand", "disabled"};
	static const char *const accounts[] = {"local-service",
	    "network-service", "local-system"};
	struct hvp_cmdline *cl = &a->cl;
	struct hvp_globals *g = &cl->g;
	char why[HVC_WHY_SIZE];
	size_t nallow = 0;
	int ch, verbose = 0, quiet = 0, svc_opts = 0;

	while (
	    (ch = getopt_long(argc, argv, "c:hqu:Vv", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
		case 'h':
		case 'V':
		case '?':
		case OPT_CHECK:
		case OPT_CONTROL:
		case OPT_INSTALL_SERVICE:
		case OPT_REMOVE_SERVICE:
		case OPT_SERVICE:
		case OPT_SERVICE_NAME:
		case OPT_SERVICE_START:
		case OPT_SERVICE_ACCOUNT:
			break;
		default:
			svc_keep_option(a, ch, optarg);
			break;
		}
		switch (ch) {
		case OPT_INSTALL_SERVICE:
		case OPT_REMOVE_SERVICE:
		case OPT_SERVICE: {
			int mode = ch == OPT_INSTALL_SERVICE ? SVC_INSTALL
			    : ch == OPT_REMOVE_SERVICE       ? SVC_REMOVE
							     : SVC_RUN;

			refuse_unavailable(ch == OPT_INSTALL_SERVICE
				? "--install-service"
				: ch == OPT_REMOVE_SERVICE ? "--remove-service"
							   : "--service");
			if (a->svc != SVC_NONE && a->svc != mode) {
				usage_error("--install-service, "
					    "--remove-service and --service "
					    "go alone (one of them)");
			}
			a->svc = mode;
			if (ch == OPT_SERVICE) {
				a->inst.name = optarg;
			}
			break;
		}
		case OPT_SERVICE_NAME:
			refuse_unavailable("--service-name");
			a->inst.name = optarg;
			svc_opts |= 1;
			break;
		case OPT_SERVICE_START:
			refuse_unavailable("--start");
			a->inst.start =
			    parse_choice("--start", optarg, starts, 3);
			svc_opts |= 2;
			break;
		case OPT_SERVICE_ACCOUNT:
			refuse_unavailable("--service-account");
			a->inst.account = parse_choice("--service-account",
			    optarg, accounts, 3);
			svc_opts |= 2;
			break;
		case 'c':
			cl->file = optarg;
			break;
		case OPT_CHECK:
			*check = 1;
			break;
		case OPT_CONTROL:
			a->control = optarg;
			break;
		case OPT_LOG_FILE:
			if (optarg[0] == '\0') {
				usage_error("--log-file: empty (expected the "
					    "path of a file)");
			}
			g->log_file = optarg;
			g->set |= HVP_SET_LOG_FILE;
			break;
		case OPT_ALLOW:
			/* Several --allow add up, as allow= lines do. */
			cl->allow = hvc_xreallocarray(cl->allow, nallow + 2,
			    sizeof(*cl->allow));
			cl->allow[nallow++] = optarg;
			cl->allow[nallow] = NULL;
			break;
		case OPT_BUFFER:
			if (hvc_parse_size(optarg, HVC_BUFFER_MIN,
				HVC_BUFFER_MAX, &g->fwd.buffer, why,
				sizeof(why)) != 0) {
				bad_value("buffer", optarg, why);
			}
			g->fwd_set |= HVP_SET_BUFFER;
			break;
		case OPT_CONNECT_TIMEOUT:
			set_duration(g, &g->fwd.connect_timeout_ms,
			    HVP_SET_CONNECT_TIMEOUT, 1, "connect-timeout",
			    optarg, 0);
			break;
		case OPT_IDLE_TIMEOUT:
			set_duration(g, &g->fwd.idle_timeout_ms,
			    HVP_SET_IDLE_TIMEOUT, 1, "idle-timeout", optarg, 1);
			break;
		case OPT_DRAIN_TIMEOUT:
			set_duration(g, &g->drain_timeout_ms,
			    HVP_SET_DRAIN_TIMEOUT, 0, "drain-timeout", optarg,
			    1);
			break;
		case OPT_WSL_POLL:
			set_duration(g, &g->wsl_poll_ms, HVP_SET_WSL_POLL, 0,
			    "wsl-poll", optarg, 0);
			break;
		case OPT_MAX_CONNS:
			g->max_conns = parse_count("max-conns", optarg);
			g->set |= HVP_SET_MAX_CONNS_TOTAL;
			break;
		case OPT_MAX_CONNS_FWD:
			g->fwd.max_conns =
			    parse_count("max-conns-per-forward", optarg);
			g->fwd_set |= HVP_SET_MAX_CONNS;
			break;
		case OPT_MAX_CONNS_PEER:
			g->fwd.max_conns_peer =
			    parse_count("max-conns-per-peer", optarg);
			g->fwd_set |= HVP_SET_MAX_CONNS_PEER;
			break;
		case OPT_METRICS:
			g->metrics = optarg;
			g->set |= HVP_SET_METRICS;
			break;
		case OPT_PIDFILE:
			refuse_unavailable("--pidfile");
			g->pidfile = optarg;
			g->set |= HVP_SET_PIDFILE;
			break;
		case OPT_SYSLOG:
			refuse_unavailable("--syslog");
			g->use_syslog = 1;
			g->set |= HVP_SET_SYSLOG;
			break;
		case 'u':
			refuse_unavailable("--user");
			g->user = optarg;
			g->set |= HVP_SET_USER;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			exit(HVP_EXIT_OK);
		case 'V':
			print_version();
			exit(HVP_EXIT_OK);
		default:
			/* getopt_long() has named the option. */
			fputs(usage_text, stderr);
			exit(HVP_EXIT_USAGE);
		}
	}
	if (a->control != NULL) {
		/* hvproxy --control PID reload|stop, and nothing else. */
		if (argc - optind != 1) {
			usage_error("--control PID takes one command: reload "
				    "or stop");
		}
		if (*check || cl->file != NULL || g->set != 0 ||
		    g->fwd_set != 0 || cl->allow != NULL || quiet || verbose ||
		    a->svc != SVC_NONE || svc_opts != 0) {
			usage_error("--control PID COMMAND takes no other "
				    "option");
		}
		exit(hvp_os_control(a->control, argv[optind]));
	}
	if ((svc_opts & 1) && a->svc != SVC_INSTALL && a->svc != SVC_REMOVE) {
		usage_error("--service-name goes with --install-service or "
			    "--remove-service");
	}
	if ((svc_opts & 2) && a->svc != SVC_INSTALL) {
		usage_error("--start and --service-account go with "
			    "--install-service");
	}
	if (a->svc != SVC_NONE) {
		if (a->inst.name == NULL) {
			a->inst.name = "hvproxy";
		}
		if (hvp_os_service_name_check(a->inst.name, why, sizeof(why)) !=
		    0) {
			char q[HVC_QUOTE_SIZE];

			hvc_quote(a->inst.name, strlen(a->inst.name), q,
			    sizeof(q));
			usage_error("%s '%s': %s",
			    a->svc == SVC_RUN ? "--service" : "--service-name",
			    q, why);
		}
	}
	if (a->svc == SVC_REMOVE) {
		if (*check || cl->file != NULL || g->set != 0 ||
		    g->fwd_set != 0 || cl->allow != NULL || quiet || verbose ||
		    argc - optind != 0) {
			usage_error("--remove-service takes no option but "
				    "--service-name NAME");
		}
		return;
	}
	if (a->svc != SVC_NONE && *check) {
		usage_error("--check goes alone: without --install-service or "
			    "--service");
	}
	if (quiet && verbose) {
		usage_error("cannot use -q and -v together");
	}
	if (quiet || verbose) {
		g->log_level = quiet ? HVP_LOG_ERROR : HVP_LOG_WARN + verbose;
		if (g->log_level > HVP_LOG_DEBUG) {
			g->log_level = HVP_LOG_DEBUG;
		}
		g->set |= HVP_SET_LOG_LEVEL;
	}
	cl->pairs = argv + optind;
	cl->npairs = argc - optind;
	if (cl->npairs % 2 != 0) {
		usage_error("'%s' has no target: addresses come in pairs "
			    "(LISTEN TARGET)",
		    argv[argc - 1]);
	}
	if (cl->npairs == 0 && cl->file == NULL) {
		/* Windows: %ProgramData%\hvproxy\hvproxy.conf. */
		cl->file = (char *)hvp_os_default_config();
	}
	if (cl->npairs == 0 && cl->file == NULL) {
		usage_error("nothing to forward: give LISTEN TARGET pairs or "
			    "-c FILE");
	}
	if (cl->allow != NULL && cl->npairs == 0) {
		usage_error(
		    "--allow applies to the command line's forwards, "
		    "and there are none (use allow= in the config file)");
	}
}

/* The daemon, from the configuration on: in the console, or as a Windows
 * service (on the thread the service manager runs it on). */
static int
run_daemon(void *arg)
{
	struct app *a = arg;
	struct hvp_errors errs = {NULL, 0};
	struct hvp_config *cfg;
	char *pidpath = NULL;
	size_t nfwds;

	/* Inherited sockets are adopted before validation looks at them. */
	hvp_sd_listen_fds();
	cfg = hvp_config_load(&a->cl, &errs);
	if (cfg == NULL) {
		hvp_errors_print(&errs, HVP_LOG_ERROR);
		hvp_errors_free(&errs);
		free(a->cl.allow);
		return HVP_EXIT_USAGE;
	}
	if (a->check) {
		hvp_config_describe(cfg, stdout);
		hvp_config_free(cfg);
		free(a->cl.allow);
		return HVP_EXIT_OK;
	}
	hvp_log_set_level(cfg->g.log_level);
	if (cfg->g.log_file != NULL) {
		if (hvp_log_use_file(cfg->g.log_file) != 0) {
			hvp_config_free(cfg);
			free(a->cl.allow);
			return HVP_EXIT_FAIL;
		}
	} else if (cfg->g.use_syslog) {
		hvp_log_use_syslog();
	}
	hvp_os_raise_nofile();

	a->base = event_base_new();
	if (a->base == NULL || hvp_daemon_new(&a->d, a->base) != 0) {
		hvp_err("cannot set up the event loop");
		hvp_config_free(cfg);
		free(a->cl.allow);
		hvp_log_close();
		return HVP_EXIT_FAIL;
	}
	/* Stop and reload requests (signals; on Windows Ctrl-C and the
	 * control events, which `hvproxy --control` finds from now on) are
	 * taken before anything listens: one that comes while the
	 * listeners are bound is handled once the loop runs. */
	if (hvp_os_requests_start(a->base, on_request, a) != 0) {
		hvp_config_free(cfg);
		a->exit_code = HVP_EXIT_FAIL;
		goto out;
	}
	nfwds = cfg->nfwds;
	if (cfg->g.metrics != NULL) {
		a->metrics_str = hvc_xstrdup(cfg->g.metrics);
	}
	if (cfg->g.pidfile != NULL) {
		pidpath = hvc_xstrdup(cfg->g.pidfile);
	}
	/* The pidfile's lock before any socket: a second hvproxy must not
	 * bind (or replace a socket file) before it learns that it is one. */
	if (pidpath != NULL && hvp_os_pidfile_create(pidpath) != 0) {
		hvp_config_free(cfg);
		a->exit_code = HVP_EXIT_FAIL;
		goto out;
	}
	/* Every listener or none. */
	if (hvp_daemon_apply(a->d, cfg, 1) != 0) {
		hvp_config_free(cfg);
		a->exit_code = HVP_EXIT_FAIL;
		goto out;
	}
	cfg = NULL;
	if (a->metrics_str != NULL &&
	    hvp_metrics_new(&a->metrics, a->base,
		&hvp_daemon_config(a->d)->metrics_addr, a->d) != 0) {
		a->exit_code = HVP_EXIT_FAIL;
		goto out;
	}
	if (hvp_daemon_config(a->d)->g.user != NULL &&
	    hvp_priv_drop(hvp_daemon_config(a->d)->g.user) != 0) {
		a->exit_code = HVP_EXIT_FAIL;
		goto out;
	}
	/* The file stays open for reloads only if --user may take the
	 * right to open it again (conf_file.c says what a reload reads). */
	if (hvp_daemon_config(a->d)->g.user != NULL && a->cl.file != NULL) {
		hvp_conf_file_check_reopen(a->cl.file, a->conf_fd);
	} else {
		if (a->conf_fd >= 0) {
			close(a->conf_fd);
		}
		a->conf_fd = -2; /* and no reload keeps it */
	}

	if (hvp_log_on(HVP_LOG_INFO)) {
		unsigned open, maxc;
		uint64_t r1, r2;

		hvp_daemon_totals(a->d, &open, &maxc, &r1, &r2);
		hvp_info("hvproxy %s: %zu forward%s, up to %u connections",
		    HVS_VERSION, nfwds, nfwds == 1 ? "" : "s", maxc);
	}
	hvp_sd_watchdog_start(a->base);
	hvp_sd_notifyf("READY=1\nSTATUS=%zu forwards\nMAINPID=%ld", nfwds,
	    (long)getpid());

	if (event_base_dispatch(a->base) < 0) {
		hvp_err("the event loop failed");
		a->exit_code = HVP_EXIT_FAIL;
	}
out:
	hvp_sd_watchdog_stop();
	hvp_os_requests_stop();
	hvp_metrics_free(a->metrics);
	hvp_daemon_free(a->d);
	hvp_os_pidfile_remove();
	if (a->conf_fd >= 0) {
		close(a->conf_fd);
	}
	free(a->metrics_str);
	free(pidpath);
	free(a->cl.allow);
	if (a->base != NULL) {
		event_base_free(a->base);
	}
	hvp_log_close();
	return a->exit_code;
}

/* --install-service: the configuration is checked as --check does, then
 * the service is created with the options given. */
static int
install_service(struct app *a)
{
	struct hvp_errors errs = {NULL, 0};
	struct hvp_config *cfg = hvp_config_load(&a->cl, &errs);
	int rc;

	if (cfg == NULL) {
		hvp_errors_print(&errs, HVP_LOG_ERROR);
		hvp_errors_free(&errs);
		fprintf(stderr,
		    "hvproxy: --install-service: the configuration has "
		    "errors: nothing installed\n");
		return HVP_EXIT_USAGE;
	}
	hvp_config_free(cfg);
	for (int i = 0; i < a->cl.npairs; i++) {
		svc_arg(a, a->cl.pairs[i]);
	}
	a->inst.config = a->cl.file;
	rc = hvp_os_service_install(&a->inst);
	return rc;
}

int
main(int argc, char **argv)
{
	struct app a;
	int rc;

	memset(&a, 0, sizeof(a));
	hvc_progname = "hvproxy";
	/* Before any descriptor is opened (the loop's, a log, a listener):
	 * none may take the number of a closed standard stream. */
	hvc_reserve_stdio(HVP_EXIT_FAIL);
	a.conf_fd = -1;
	a.cl.keep_fd = &a.conf_fd;
	a.exit_code = HVP_EXIT_OK;

	parse_options(&a, argc, argv, &a.check);
	if (a.svc != SVC_INSTALL) {
		svc_args_free(&a);
	}
	if (a.svc == SVC_REMOVE) {
		return hvp_os_service_remove(a.inst.name);
	}
	/* SIGPIPE ignored; Winsock started (host names are looked up while
	 * the configuration is checked). */
	if (hvp_os_init() != 0) {
		svc_args_free(&a);
		free(a.cl.allow);
		return HVP_EXIT_FAIL;
	}
	hvp_log_init(
	    a.cl.g.set & HVP_SET_LOG_LEVEL ? a.cl.g.log_level : HVP_LOG_WARN);
	hvp_log_route_library();

	if (a.svc == SVC_INSTALL) {
		rc = install_service(&a);
		svc_args_free(&a);
		free(a.cl.allow);
		return rc;
	}
	if (a.svc == SVC_RUN) {
		return hvp_os_service_run(a.inst.name, run_daemon, &a);
	}
	return run_daemon(&a);
}
