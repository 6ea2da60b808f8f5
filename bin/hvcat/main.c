/* SPDX-License-Identifier: MIT */
/*
 * hvcat - netcat for host<->guest sockets (vsock, Hyper-V sockets, and
 * tcp/unix to bridge them). Options are read here, in one getopt switch,
 * then checked for conflicts; the work is in session.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <sys/socket.h>
#endif

#include "common/svcguid.h"
#include "hvcat.h"

#define MAX_CONNS_DEFAULT 100
#define MAX_CONNS_MAX 10000

static const char synopsis[] =
    "usage: hvcat [-46dklNnvz] [-b size] [-c command] [-e program] "
    "[-m max]\n"
    "             [-p port] [-q time] [-U path] [-w time] "
    "[--allow list]\n"
    "             [--idle-timeout time] [--no-shutdown] "
    "[--progress[=when]]\n"
    "             [--recv-only] [--send-only] [CID PORT | PORT | "
    "address]\n"
    "       hvcat --service-id PORT|GUID\n"
    "       hvcat --register-cmd PORT|GUID\n"
    "       hvcat --register PORT|GUID [--name NAME]\n"
    "       hvcat --unregister PORT|GUID\n"
    "       hvcat --list-registered\n"
    "       hvcat --local-cid\n"
    "       hvcat -h | --help | -V | --version\n";

static const char options_help[] =
    "\n"
    "address:  vsock:[CID:]PORT  hvsock:[VMID:]SERVICE  tcp:[HOST:]PORT\n"
    "          unix:PATH  unix:@NAME  fd:N (an inherited listening "
    "socket, -l)\n"
    "          vsock-mux:PATH:PORT (guest port PORT through the VMM's "
    "socket PATH)\n"
    "          CID PORT = vsock:CID:PORT; with -l a bare PORT = "
    "vsock:any:PORT\n"
    "\n"
    "  -l, --listen          listen for a connection instead of "
    "connecting\n"
    "  -k, --keep-open       with -l: serve one client after another\n"
    "  -z                    probe: connect, close, exit 0 if it worked\n"
    "  -e, --exec PROG       run PROG (split at blanks, no shell) with "
    "the\n"
    "                        connection as its stdin and stdout\n"
    "  -c, --sh-exec CMD     the same with /bin/sh -c CMD\n"
    "  -m, --max-conns N     with -k and -e/-c: children at once "
    "(default 100)\n"
    "  -q TIME               quit TIME after EOF on stdin (0: at once);\n"
    "                        by default hvcat passes stdin EOF on and "
    "quits when\n"
    "                        the peer has closed too\n"
    "  -N                    quit when the peer closes, even before "
    "stdin ends\n"
    "      --no-shutdown     don't pass stdin EOF on; quit when the peer "
    "closes\n"
    "  -d, --recv-only       never read stdin; quit when the peer "
    "closes\n"
    "      --send-only       discard what the peer sends\n"
    "  -w, --wait TIME       connect timeout, and idle timeout of the "
    "connection\n"
    "      --idle-timeout TIME  idle timeout alone (0: none)\n"
    "  -b, --buffer-size SIZE  socket buffers and relay queue (4k to "
    "64m)\n"
    "  -4, -6                tcp: IPv4 / IPv6 only\n"
    "  -n, --nodns           tcp: numeric addresses only, no DNS\n"
    "  -p PORT               with -l: the vsock port (nc -l -p PORT)\n"
    "  -U, --unixsock PATH   the unix socket PATH (nc -U)\n"
    "      --allow LIST      with -l: accept only these peers: CIDs "
    "(3, cid:3),\n"
    "                        VM ids (GUID), IP networks, unix users "
    "(uid:0,\n"
    "                        user:NAME) (repeatable)\n"
    "  -v, --verbose         say what happens on stderr (-vv: more)\n"
    "      --progress[=WHEN] meter on stderr; WHEN: auto (stderr is a "
    "tty),\n"
    "                        always, never\n"
    "      --service-id X    the Hyper-V service GUID of vsock port X, "
    "or the\n"
    "                        port of service GUID X\n"
    "      --register-cmd X  the PowerShell command that registers port "
    "X's\n"
    "                        service on a Windows host\n"
    "      --register X      register port X's service on this Windows "
    "host\n"
    "                        (as administrator); --name NAME: its "
    "ElementName\n"
    "      --unregister X    remove that registration\n"
    "      --list-registered the services registered on this Windows "
    "host\n"
    "      --local-cid       this machine's vsock CID\n"
    "\n"
    "Times: 30 (seconds), 0.5, 500ms, 2m, 1h. Sizes: 65536, 64k, 1m.\n"
    "Exit status: 0 success, 1 connection or runtime failure, 2 usage "
    "error.\n"
    "See hvcat(1).\n";

enum long_only {
	OPT_ALLOW = 256,
	OPT_IDLE,
	OPT_NO_SHUTDOWN,
	OPT_SEND_ONLY,
	OPT_PROGRESS,
	OPT_SERVICE_ID,
	OPT_REGISTER_CMD,
	OPT_REGISTER,
	OPT_UNREGISTER,
	OPT_LIST_REGISTERED,
	OPT_NAME,
	OPT_LOCAL_CID,
	OPT_UNSUPPORTED,
};

static const struct option longopts[] = {
    {"listen", no_argument, NULL, 'l'},
    {"keep-open", no_argument, NULL, 'k'},
    {"exec", required_argument, NULL, 'e'},
    {"sh-exec", required_argument, NULL, 'c'},
    {"max-conns", required_argument, NULL, 'm'},
    {"recv-only", no_argument, NULL, 'd'},
    {"send-only", no_argument, NULL, OPT_SEND_ONLY},
    {"no-shutdown", no_argument, NULL, OPT_NO_SHUTDOWN},
    {"wait", required_argument, NULL, 'w'},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"buffer-size", required_argument, NULL, 'b'},
    {"nodns", no_argument, NULL, 'n'},
    {"unixsock", required_argument, NULL, 'U'},
    {"allow", required_argument, NULL, OPT_ALLOW},
    {"verbose", no_argument, NULL, 'v'},
    {"progress", optional_argument, NULL, OPT_PROGRESS},
    {"service-id", required_argument, NULL, OPT_SERVICE_ID},
    {"register-cmd", required_argument, NULL, OPT_REGISTER_CMD},
    {"register", required_argument, NULL, OPT_REGISTER},
    {"unregister", required_argument, NULL, OPT_UNREGISTER},
    {"list-registered", no_argument, NULL, OPT_LIST_REGISTERED},
    {"name", required_argument, NULL, OPT_NAME},
    {"local-cid", no_argument, NULL, OPT_LOCAL_CID},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    /* Options of nc/ncat that make no sense here: a clear error. */
    {"udp", optional_argument, NULL, OPT_UNSUPPORTED},
    {"sctp", optional_argument, NULL, OPT_UNSUPPORTED},
    {"ssl", optional_argument, NULL, OPT_UNSUPPORTED},
    {"proxy", optional_argument, NULL, OPT_UNSUPPORTED},
    {"proxy-type", optional_argument, NULL, OPT_UNSUPPORTED},
    {"broker", optional_argument, NULL, OPT_UNSUPPORTED},
    {"chat", optional_argument, NULL, OPT_UNSUPPORTED},
    {"source", optional_argument, NULL, OPT_UNSUPPORTED},
    {"source-port", optional_argument, NULL, OPT_UNSUPPORTED},
    {"telnet", optional_argument, NULL, OPT_UNSUPPORTED},
    {"crlf", optional_argument, NULL, OPT_UNSUPPORTED},
    {"output", optional_argument, NULL, OPT_UNSUPPORTED},
    {"hex-dump", optional_argument, NULL, OPT_UNSUPPORTED},
    {"delay", optional_argument, NULL, OPT_UNSUPPORTED},
    {"lua-exec", optional_argument, NULL, OPT_UNSUPPORTED},
    {"deny", optional_argument, NULL, OPT_UNSUPPORTED},
    {NULL, 0, NULL, 0},
};

/* Why an nc/ncat option is refused; NULL if hvcat knows it. */
static const char *
unsupported(int c, const char *name)
{
	static const struct {
		int c;
		const char *name;
		const char *why;
	} table[] = {
	    {'u', "udp",
		"UDP is not supported: hvcat carries byte streams "
		"(vsock and Hyper-V sockets are stream sockets)"},
	    {0, "sctp",
		"SCTP is not supported: hvcat carries byte "
		"streams over vsock, Hyper-V sockets, tcp and unix"},
	    {0, "ssl",
		"TLS is not supported (run it inside the stream, "
		"e.g. openssl s_client -proxy, or ssh)"},
	    {'x', "proxy",
		"proxies are not supported (chain hvcat in an "
		"ssh ProxyCommand instead)"},
	    {'X', "proxy-type", "proxies are not supported"},
	    {0, "broker", "broker mode is not supported"},
	    {0, "chat", "chat mode is not supported"},
	    {'s', "source", "choosing the source address is not supported"},
	    {0, "source-port", "choosing the source port is not supported"},
	    {'t', "telnet", "telnet negotiation is not supported"},
	    {'C', "crlf",
		"line-end translation is not supported: hvcat "
		"passes bytes unchanged"},
	    {'o', "output", "session dumps are not supported (use tee)"},
	    {'x', "hex-dump", "hex dumps are not supported"},
	    {'i', "delay",
		"line-by-line delays are not supported (for an "
		"idle timeout use --idle-timeout TIME)"},
	    {0, "lua-exec", "Lua is not supported (use -e or -c)"},
	    {0, "deny", "--deny is not supported (use --allow)"},
	    {'T', NULL,
		"-T (IP type of service) makes no sense for vsock "
		"and is not supported"},
	    {'I', NULL, "use -b SIZE for the socket buffer sizes"},
	    {'O', NULL, "use -b SIZE for the socket buffer sizes"},
	    {'r', NULL, "random ports are not supported"},
	    {'S', NULL, "TCP MD5 signatures are not supported"},
	    {'D', NULL, "socket debugging is not supported (use -vv)"},
	    {'F', NULL, "descriptor passing is not supported"},
	    {'M', NULL,
		"-M (TTL) makes no sense for vsock and is not "
		"supported"},
	    {'P', NULL, "proxies are not supported"},
	    {'g', NULL, "source routing is not supported"},
	    {'G', NULL, "source routing is not supported"},
	    {'L', NULL, "-L is not supported"},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (name != NULL && table[i].name != NULL &&
		    strcmp(name, table[i].name) == 0) {
			return table[i].why;
		}
		if (name == NULL && c != 0 && table[i].c == c) {
			return table[i].why;
		}
	}
	return NULL;
}

static void
usage_short(void)
{
	fputs(synopsis, stderr);
	exit(EXIT_USAGE);
}

/* "OPT 'ARG': why" and exit 2, for a value bin/common refused. */
static void
bad_value(const char *opt, const char *arg, const char *why)
{
	char m[HVC_QUOTE_SIZE + 2 * HVC_WHY_SIZE];

	hvc_value_msg(m, sizeof(m), opt, arg, why);
	msg_usage("%s", m);
}

/* -q, -w, --idle-timeout: a duration (num.h), 0 allowed if @zero_ok. */
static int
duration_arg(const char *opt, const char *arg, int zero_ok)
{
	char why[HVC_WHY_SIZE];
	int ms;

	if (hvc_parse_duration(arg, zero_ok, &ms, why, sizeof(why)) != 0) {
		bad_value(opt, arg, why);
	}
	return ms;
}

/* Is @host a numeric IPv4 or IPv6 address (or "*")? */
static int
numeric_host(const char *host)
{
	unsigned char buf[16];

	return strcmp(host, "*") == 0 || inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

int
main(int argc, char **argv)
{
	struct options o;
	const char *helper_arg = NULL, *name_opt = NULL;
	int helper = 0;
	const char *exec_prog = NULL, *exec_cmd = NULL, *unix_path = NULL;
	const char *port_opt = NULL;
	char why[512], q[HVC_QUOTE_SIZE];
	int quit_given = 0, idle_given = 0, wait_given = 0, conns_given = 0;
	int shutdown_opt = 0, progress_given = 0, ch;
	uint64_t v;

	msg_init(argv[0]);
	/* SIGPIPE ignored: a peer that goes away must be an error, not a
	 * silent death; Winsock started, stdio binary. */
	os_init();
	/* Before any descriptor is opened: see dup_stdio(). */
	hvc_reserve_stdio(EXIT_FAIL);

	memset(&o, 0, sizeof(o));
	o.quit_ms = -1;
	o.max_conns = MAX_CONNS_DEFAULT;

	opterr = 0;
	while ((ch = getopt_long(argc, argv,
		    ":46b:c:de:hklm:Nnp:q:U:Vvw:zuxXstCoiTIOrSDFMPgGL",
		    longopts, NULL)) != -1) {
		switch (ch) {
		case '4':
			o.family_flags |= HVS_SOCK_IPV4_ONLY;
			break;
		case '6':
			o.family_flags |= HVS_SOCK_IPV6_ONLY;
			break;
		case 'b':
			if (hvc_parse_size(optarg, HVC_BUFFER_MIN,
				HVC_BUFFER_MAX, &o.bufsize, why,
				sizeof(why)) != 0) {
				bad_value("-b", optarg, why);
			}
			break;
		case 'c':
			exec_cmd = optarg;
			break;
		case 'd':
			o.recv_only = 1;
			o.peer_eof_quits = 1;
			break;
		case 'e':
			exec_prog = optarg;
			break;
		case 'h':
			fputs(synopsis, stdout);
			fputs(options_help, stdout);
			return EXIT_OK;
		case 'k':
			o.keep = 1;
			break;
		case 'l':
			o.listen = 1;
			break;
		case 'm':
			if (hvc_parse_uint(optarg, 1, MAX_CONNS_MAX, &v, why,
				sizeof(why)) != 0) {
				bad_value("-m", optarg, why);
			}
			o.max_conns = (int)v;
			conns_given = 1;
			break;
		case 'N':
			shutdown_opt = 1;
			o.peer_eof_quits = 1;
			break;
		case 'n':
			o.numeric = 1;
			break;
		case 'p':
			port_opt = optarg;
			break;
		case 'q':
			o.quit_ms = duration_arg("-q", optarg, 1);
			quit_given = 1;
			break;
		case 'U':
			unix_path = optarg;
			break;
		case 'V':
			printf("hvcat %s (libhvsock %s)\n", HVCAT_VERSION,
			    hvs_version());
			return EXIT_OK;
		case 'v':
			o.verbose++;
			break;
		case 'w':
			o.connect_ms = duration_arg("-w", optarg, 0);
			wait_given = 1;
			break;
		case 'z':
			o.probe = 1;
			break;
		case OPT_ALLOW:
			if (hvc_allow_parse(&o.allow, optarg, why,
				sizeof(why)) != 0) {
				msg_usage("--allow: %s", why);
			}
			break;
		case OPT_IDLE:
			o.idle_ms = duration_arg("--idle-timeout", optarg, 1);
			idle_given = 1;
			break;
		case OPT_NO_SHUTDOWN:
			o.no_shutdown = 1;
			o.peer_eof_quits = 1;
			break;
		case OPT_SEND_ONLY:
			o.send_only = 1;
			break;
		case OPT_PROGRESS:
			progress_given = 1;
			if (optarg == NULL || strcmp(optarg, "auto") == 0) {
				o.progress = PROGRESS_AUTO;
			} else if (strcmp(optarg, "always") == 0) {
				o.progress = PROGRESS_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				o.progress = PROGRESS_NEVER;
			} else {
				hvc_quote(optarg, strlen(optarg), q, sizeof(q));
				msg_usage("--progress='%s': expected auto, "
					  "always or never",
				    q);
			}
			break;
		case OPT_SERVICE_ID:
		case OPT_REGISTER_CMD:
		case OPT_REGISTER:
		case OPT_UNREGISTER:
		case OPT_LIST_REGISTERED:
		case OPT_LOCAL_CID:
			if (helper != 0) {
				msg_usage("only one of --service-id, "
					  "--register-cmd, --register, "
					  "--unregister, --list-registered "
					  "and --local-cid at a time");
			}
			helper = ch;
			helper_arg = optarg;
			break;
		case OPT_NAME:
			name_opt = optarg;
			break;
		case OPT_UNSUPPORTED: {
			/* getopt_long leaves the option's text for us. */
			const char *name = argv[optind - 1] + 2;
			char n[64];
			snprintf(n, sizeof(n), "%.*s", (int)strcspn(name, "="),
			    name);
			msg_usage("--%s: %s", n, unsupported(0, n));
		}
		case ':':
			if (optopt != 0) {
				msg_usage("option -%c needs an argument",
				    optopt);
			}
			msg_usage("option %s needs an argument",
			    argv[optind - 1]);
		case '?':
			if (optopt != 0) {
				msg_usage("unknown option -%c (see --help)",
				    optopt);
			}
			hvc_quote(argv[optind - 1], strlen(argv[optind - 1]), q,
			    sizeof(q));
			msg_usage("unknown option '%s' (see --help)", q);
		default: {
			const char *w = unsupported(ch, NULL);
			if (w != NULL) {
				msg_usage("-%c: %s", ch, w);
			}
			usage_short();
		}
		}
	}
	argc -= optind;
	argv += optind;

	msg_library_log(o.verbose);

	/* ---- helpers answer one question and exit ---- */
	if (name_opt != NULL && helper != OPT_REGISTER) {
		msg_usage("--name needs --register (it names the service "
			  "registered)");
	}
	if (helper != 0) {
		if (argc > 0 || o.listen || o.keep || o.probe ||
		    exec_prog != NULL || exec_cmd != NULL ||
		    unix_path != NULL || port_opt != NULL) {
			msg_usage("--service-id, --register-cmd, --register, "
				  "--unregister, --list-registered and "
				  "--local-cid take no address and no other "
				  "options");
		}
		switch (helper) {
		case OPT_SERVICE_ID:
			return helper_service_id(helper_arg);
		case OPT_REGISTER_CMD:
			return helper_register_cmd(helper_arg);
		case OPT_REGISTER:
			return helper_register(helper_arg, name_opt);
		case OPT_UNREGISTER:
			return helper_unregister(helper_arg);
		case OPT_LIST_REGISTERED:
			return helper_list_registered();
		default:
			return helper_local_cid();
		}
	}

	/* ---- conflicts (nc style: name both options) ---- */
	if (o.listen && o.probe) {
		msg_usage("cannot use -l and -z");
	}
	if (o.keep && !o.listen) {
		msg_usage("-k needs -l");
	}
	if (exec_prog != NULL && exec_cmd != NULL) {
		msg_usage("cannot use -e and -c");
	}
	if ((o.family_flags & HVS_SOCK_IPV4_ONLY) &&
	    (o.family_flags & HVS_SOCK_IPV6_ONLY)) {
		msg_usage("cannot use -4 and -6");
	}
	if (o.recv_only && o.send_only) {
		msg_usage("cannot use --recv-only and --send-only");
	}
	if (o.recv_only && quit_given) {
		msg_usage("cannot use --recv-only and -q (stdin is never "
			  "read, so it never ends)");
	}
	if (shutdown_opt && o.no_shutdown) {
		msg_usage("cannot use -N and --no-shutdown");
	}
	if (o.allow.given && !o.listen) {
		msg_usage("--allow needs -l (it filters who may connect)");
	}
	if (port_opt != NULL && !o.listen) {
		msg_usage("-p PORT is for -l only (choosing the source port "
			  "is not supported; the port to connect to is the "
			  "last argument)");
	}
	if (port_opt != NULL && (argc > 0 || unix_path != NULL)) {
		msg_usage("cannot use -p and an address");
	}
	if (unix_path != NULL && argc > 0) {
		msg_usage("cannot use -U and an address");
	}
	if (exec_prog != NULL || exec_cmd != NULL) {
		const char *e = exec_prog != NULL ? "-e" : "-c";
		if (o.probe) {
			msg_usage("cannot use %s and -z", e);
		}
		if (quit_given || o.no_shutdown || o.recv_only || o.send_only ||
		    shutdown_opt) {
			msg_usage("cannot use %s with -q, -N, --no-shutdown, "
				  "--recv-only or --send-only (the program "
				  "talks to the peer itself)",
			    e);
		}
		if (progress_given && o.progress != PROGRESS_NEVER) {
			msg_usage("cannot use %s and --progress (no byte "
				  "passes through hvcat)",
			    e);
		}
		if (idle_given) {
			msg_usage("cannot use %s and --idle-timeout (no byte "
				  "passes through hvcat)",
			    e);
		}
	}
	if (o.probe &&
	    (quit_given || o.no_shutdown || o.recv_only || o.send_only ||
		progress_given || idle_given)) {
		msg_usage("cannot use -z with -q, --no-shutdown, "
			  "--recv-only, --send-only, --progress or "
			  "--idle-timeout (-z sends nothing)");
	}
	if (conns_given &&
	    !(o.keep && (exec_prog != NULL || exec_cmd != NULL))) {
		msg_usage("-m needs -k and -e or -c (stdio serves one client "
			  "at a time)");
	}

	/* ---- the address ---- */
	if (unix_path != NULL) {
		target_parse_unix(&o, unix_path);
	} else if (port_opt != NULL) {
		char *one[1] = {(char *)port_opt};
		if (strspn(port_opt, "0123456789") != strlen(port_opt)) {
			hvc_quote(port_opt, strlen(port_opt), q, sizeof(q));
			msg_usage("-p '%s': not a port number", q);
		}
		target_parse(&o, 1, one);
	} else {
		target_parse(&o, argc, argv);
	}
	if (o.family_flags != 0 && o.addr.kind != HVS_ADDR_TCP) {
		msg_usage("-%c applies to tcp: addresses only, not %s:",
		    (o.family_flags & HVS_SOCK_IPV4_ONLY) ? '4' : '6',
		    hvs_addr_kind_name(o.addr.kind));
	}
	if (o.family_flags != 0 && o.addr.kind == HVS_ADDR_TCP) {
		unsigned char ip[16];
		const char *h = o.addr.u.tcp.host;
		int v4 = inet_pton(AF_INET, h, ip) == 1;
		int v6 = inet_pton(AF_INET6, h, ip) == 1;
		if (((o.family_flags & HVS_SOCK_IPV4_ONLY) && v6) ||
		    ((o.family_flags & HVS_SOCK_IPV6_ONLY) && v4)) {
			hvc_quote(h, strlen(h), q, sizeof(q));
			msg_usage("cannot use -%c with the IPv%c address '%s'",
			    v6 ? '4' : '6', v6 ? '6' : '4', q);
		}
	}
	if (o.numeric && o.addr.kind == HVS_ADDR_TCP &&
	    !numeric_host(o.addr.u.tcp.host)) {
		hvc_quote(o.addr.u.tcp.host, strlen(o.addr.u.tcp.host), q,
		    sizeof(q));
		msg_usage("-n: '%s' is a host name (expected a numeric IP "
			  "address)",
		    q);
	}
	if (o.allow.given) {
		/* fd:N: the peers are of the inherited socket's kind. */
		hvs_addr_kind_t kind = o.addr.kind;

		if (kind == HVS_ADDR_FD &&
		    hvs_sock_kind(o.addr.u.fd.fd, &kind) != 0) {
			kind = HVS_ADDR_NONE;
		}
		if (hvc_allow_check_kind(&o.allow, kind, why, sizeof(why)) !=
		    0) {
			msg_usage("--allow: %s", why);
		}
	}

	{
		const char *w = os_refuse(&o);
		if (w != NULL) {
			msg_usage("%s", w);
		}
	}
	if (!o.listen && hvc_listen_only_vmid(&o.addr) != NULL) {
		msg_usage("%s: " HVC_LISTEN_ONLY_FMT, o.addr_str,
		    hvc_listen_only_vmid(&o.addr));
	}
#ifdef _WIN32
	/* Allowed (a Windows guest can use any service GUID), but a Linux
	 * or FreeBSD guest never will: one line before connecting. */
	{
		char w[HVC_SVCGUID_WARN_SIZE];

		if (hvc_svcguid_warning(&o.addr, w, sizeof(w))) {
			msg_warn("warning: %s", w);
		}
	}
#endif

	/* ---- -e / -c ---- */
	if (exec_prog != NULL || exec_cmd != NULL) {
		const char *hint;

		o.exec_argv = exec_prog != NULL ? exec_argv_split(exec_prog)
						: exec_argv_shell(exec_cmd);
		o.exec_desc = exec_prog != NULL ? exec_prog : exec_cmd;
		o.exec_shell = exec_cmd != NULL;
		if (o.exec_argv == NULL) {
			msg_die(EXIT_FAIL, "out of memory");
		}
		if (o.exec_argv[0] == NULL) {
			msg_usage("-e: no program given");
		}
		if (exec_check(o.exec_argv, &hint) < 0) {
			hvc_quote(o.exec_argv[0], strlen(o.exec_argv[0]), q,
			    sizeof(q));
			msg_usage("-%c '%s': no such program%s",
			    exec_prog != NULL ? 'e' : 'c', q, hint);
		}
	}

	/* -w: connect timeout, and the idle timeout unless given. */
	if (wait_given && !idle_given && o.exec_argv == NULL && !o.probe) {
		o.idle_ms = o.connect_ms;
	}
	if (o.listen) {
		/* nc: -w never limits how long -l waits for a client. */
		o.connect_ms = 0;
	}

	int status = session_run(&o);
	exec_argv_free(o.exec_argv);
	hvc_allow_clear(&o.allow);
	return status;
}
