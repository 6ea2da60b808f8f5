/* SPDX-License-Identifier: MIT */
/*
 * The address on the command line, and what to say when it is wrong or
 * when a socket on it fails.
 *
 *   hvcat [-l] ADDRESS      an address of the grammar (vsock:, hvsock:,
 *                           vsock-mux:, tcp:, unix:, fd:)
 *   hvcat -l PORT           a bare number when listening: vsock port PORT
 *   hvcat [-l] CID PORT     vsock, nc-style: two words
 *
 * A bad address is a usage error (exit 2) reported on one line that
 * quotes the bad part, using the parser's offset and length.
 */
#include <stdio.h>
#include <string.h>

#include "common/sockfile.h"
#include "hvcat.h"

static int
all_digits(const char *s)
{
	if (*s == '\0') {
		return 0;
	}
	return strspn(s, "0123456789") == strlen(s);
}

/*
 * Report a parse failure of @text (which the user typed as @shown) and
 * exit 2. @base is where @text's bytes start in what the user typed (the
 * "vsock:" we prepend to CID PORT and to a bare port is not theirs).
 */
static _Noreturn void
bad_address(const char *label, const char *shown, const char *text, size_t base,
    const hvs_parse_error_t *pe, const char *hint)
{
	char whole[HVC_QUOTE_SIZE], part[HVC_QUOTE_SIZE];
	size_t off = pe->offset, len = pe->length, tlen = strlen(text);
	const char *reason = hvs_strerror(pe->code);

	hvc_quote(shown, strlen(shown), whole, sizeof(whole));
	if (off > tlen) {
		off = tlen;
	}
	if (len > tlen - off) {
		len = tlen - off;
	}
	if (off < base) {
		/* Only our own prefix: point at the start of theirs. */
		off = base;
		len = len > base ? len - base : 0;
	}
	if (pe->code == HVS_EADDR_TOOLONG) {
		msg_usage("bad %s '%s': %s (%zu bytes, at most %d)", label,
		    whole, reason, strlen(shown), HVS_ADDR_MAXLEN);
	}
	if (pe->code == HVS_EMUX_LISTEN) {
		/* The whole address is the trouble, not its kind's name. */
		msg_usage("bad %s '%s': %s%s", label, whole, reason, hint);
	}
	if (len > 0 && !(off == base && len == tlen - base)) {
		hvc_quote(text + off, len, part, sizeof(part));
		msg_usage("bad %s '%s': '%s': %s%s", label, whole, part, reason,
		    hint);
	}
	if (off == base) {
		msg_usage("bad %s '%s': %s%s", label, whole, reason, hint);
	}
	hvc_quote(text + base, off - base, part, sizeof(part));
	msg_usage("bad %s '%s': after '%s': %s%s", label, whole, part, reason,
	    hint);
}

/* Checks every address passes, whatever its origin. */
static void
target_finish(struct options *o, const char *shown)
{
	char q[HVC_QUOTE_SIZE];

	hvc_quote(shown, strlen(shown), q, sizeof(q));
	switch (o->addr.kind) {
	case HVS_ADDR_STDIO:
		msg_usage("bad address '%s': hvcat's own side is always its "
			  "standard input and output; give the address of "
			  "the other end",
		    q);
	case HVS_ADDR_FD:
		if (!o->listen) {
			msg_usage("bad address '%s': fd:N is an inherited "
				  "listening socket; use it with -l",
			    q);
		}
		break;
	default:
		break;
	}
	if (hvs_addr_format(&o->addr, o->addr_str, sizeof(o->addr_str)) < 0) {
		snprintf(o->addr_str, sizeof(o->addr_str), "%s", q);
	}
}

/* 1 if @text is of the kind vsock-mux: (any case). */
static int
is_mux_text(const char *text)
{
	static const char kind[] = "vsock-mux:";

	for (size_t i = 0; i < sizeof(kind) - 1; i++) {
		char c = text[i];

		if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
		}
		if (c != kind[i]) {
			return 0;
		}
	}
	return 1;
}

/*
 * What to add to a vsock-mux: parse error: the form expected, or for -l
 * the unix: address where the VMM delivers the guest's connections to
 * that port.
 */
static const char *
mux_hint(const char *text, int code, char *buf, size_t size)
{
	hvs_addr_t a;

	if (code != HVS_EMUX_LISTEN) {
		return " (expected vsock-mux:PATH:PORT)";
	}
	if (hvs_addr_parse_str(&a, text, HVS_ROLE_CONNECT, NULL) != 0) {
		return "";
	}
	snprintf(buf, size, " (here: hvcat -l unix:%s_%lu)", a.u.mux.path,
	    (unsigned long)a.u.mux.port);
	return buf;
}

static void
parse_one(struct options *o, const char *text, const char *shown, size_t base,
    const char *label, const char *hint)
{
	hvs_parse_error_t pe = {0, 0, 0};
	hvs_role_t role = o->listen ? HVS_ROLE_LISTEN : HVS_ROLE_CONNECT;
	char buf[HVS_PATH_MAX + 64];

	if (hvs_addr_parse_str(&o->addr, text, role, &pe) < 0) {
		if (base == 0 && is_mux_text(text)) {
			hint = mux_hint(text, pe.code, buf, sizeof(buf));
		}
		bad_address(label, shown, text, base, &pe, hint);
	}
}

void
target_parse(struct options *o, int argc, char **argv)
{
	char buf[2 * HVS_ADDR_MAXLEN + 64];
	char q[HVC_QUOTE_SIZE];

	if (argc == 0) {
		msg_usage("no address given (e.g. 'hvcat 2 5000', 'hvcat -l "
			  "5000' or 'hvcat tcp:localhost:22')");
	}
	if (argc > 2) {
		hvc_quote(argv[2], strlen(argv[2]), q, sizeof(q));
		msg_usage("too many arguments at '%s' (expected one address, "
			  "or CID PORT)",
		    q);
	}
	if (argc == 1) {
		const char *a = argv[0];
		if (all_digits(a)) {
			if (!o->listen) {
				hvc_quote(a, strlen(a), q, sizeof(q));
				msg_usage("bad address '%s': a lone port "
					  "number is only for -l; to connect "
					  "give CID PORT (e.g. 'hvcat 2 %s') "
					  "or an address such as vsock:%s",
				    q, q, q);
			}
			/* hvcat -l 5000: vsock port 5000 on CID any. */
			if (strlen(a) > HVS_ADDR_MAXLEN) {
				/* The parser says "too long" itself. */
				parse_one(o, a, a, 0, "address", "");
			}
			snprintf(buf, sizeof(buf), "vsock:%s", a);
			parse_one(o, buf, a, 6, "port", "");
		} else {
			parse_one(o, a, a, 0, "address", "");
		}
		target_finish(o, a);
		return;
	}

	/* hvcat [-l] CID PORT */
	const char *cid = argv[0], *port = argv[1];
	char shown[2 * HVS_ADDR_MAXLEN + 8];
	snprintf(shown, sizeof(shown), "%s %s", cid, port);
	if (strchr(cid, ':') != NULL || strchr(port, ':') != NULL) {
		hvc_quote(shown, strlen(shown), q, sizeof(q));
		msg_usage("bad CID PORT '%s': two arguments are a vsock CID "
			  "and port; write any other address as one word "
			  "(e.g. tcp:HOST:PORT)",
		    q);
	}
	if (strlen(cid) + strlen(port) > HVS_ADDR_MAXLEN) {
		msg_usage("bad CID PORT: the address is too long");
	}
	snprintf(buf, sizeof(buf), "vsock:%s:%s", cid, port);
	hvs_parse_error_t pe = {0, 0, 0};
	hvs_role_t role = o->listen ? HVS_ROLE_LISTEN : HVS_ROLE_CONNECT;
	if (hvs_addr_parse_str(&o->addr, buf, role, &pe) < 0) {
		/* Map the offset back onto "CID PORT" as typed. */
		size_t cid_end = 6 + strlen(cid);
		hvs_parse_error_t m = pe;
		const char *hint = "";
		if (pe.code == HVS_EADDR_CID && !all_digits(cid)) {
			hint = "; for tcp write tcp:HOST:PORT";
		}
		if (pe.offset >= cid_end) {
			/* In the port: the ':' we put there is a space. */
			m.offset = pe.offset;
		}
		bad_address("CID PORT", shown, buf, 6, &m, hint);
	}
	target_finish(o, shown);
}

void
target_parse_unix(struct options *o, const char *path)
{
	char buf[HVS_ADDR_MAXLEN + 64];

	if (strlen(path) > HVS_ADDR_MAXLEN) {
		msg_usage("bad unix socket path: too long");
	}
	snprintf(buf, sizeof(buf), "unix:%s", path);
	parse_one(o, buf, path, 5, "unix socket path", "");
	target_finish(o, buf);
}

static int
addr_port(const hvs_addr_t *a, uint32_t *port)
{
	if (a->kind == HVS_ADDR_TCP) {
		*port = a->u.tcp.port;
		return 0;
	}
	return hvs_addr_service_port(a, port);
}

void
target_describe_error(const struct options *o, const char *what, int err,
    char *buf, size_t size)
{
	const hvs_addr_t *a = &o->addr;
	const char *reason = hvs_strerror(err);
	char extra[256] = "", why[HVS_PATH_MAX + 64];
	uint32_t port = 0;

	switch (err) {
	case HVS_ETIMEDOUT:
		if (o->connect_ms > 0) {
			snprintf(extra, sizeof(extra), " after %d.%03d s",
			    o->connect_ms / 1000, o->connect_ms % 1000);
		} else if (a->kind == HVS_ADDR_VSOCK_MUX) {
			snprintf(extra, sizeof(extra),
			    " after 10 s, vsock-mux:'s default (-w sets "
			    "another)");
		}
		break;
	case HVS_ENOTSOCK:
	case HVS_ECONNREFUSED:
		if (a->kind == HVS_ADDR_VSOCK_MUX) {
			snprintf(extra, sizeof(extra),
			    " (%s is not the socket of a running VMM)",
			    a->u.mux.path);
		}
		break;
	case HVS_EACCES:
	case HVS_EPERM:
		if (o->listen && addr_port(a, &port) == 0 && port < 1024 &&
		    (a->kind == HVS_ADDR_TCP || a->kind == HVS_ADDR_VSOCK)) {
			snprintf(extra, sizeof(extra),
			    " (ports below 1024 need root or "
			    "CAP_NET_BIND_SERVICE)");
		}
		break;
	case HVS_ENODEV:
	case HVS_EHOSTUNREACH:
	case HVS_ENETUNREACH:
		if (a->kind == HVS_ADDR_VSOCK && !o->listen) {
			reason = "no such CID";
			snprintf(extra, sizeof(extra),
			    " (no vsock transport reaches CID %u)",
			    (unsigned)a->u.vsock.cid);
		}
		break;
	case HVS_ECONNRESET:
		if (a->kind == HVS_ADDR_VSOCK && !o->listen) {
			/* virtio/loopback vsock have no "refused": a reset
			 * is their answer to a port nobody listens on. */
			snprintf(extra, sizeof(extra),
			    " (vsock's answer when nothing listens on port %u "
			    "of CID %u)",
			    (unsigned)a->u.vsock.port,
			    (unsigned)a->u.vsock.cid);
		}
		break;
	case HVS_EADDRINUSE:
	case HVS_EEXIST:
		if (o->listen && a->kind == HVS_ADDR_UNIX &&
		    !a->u.local.abstract) {
			/* The same words as hvproxy's (bin/common). */
			hvc_listen_why(a, err, why, sizeof(why));
			reason = why;
		}
		break;
	case HVS_ENOENT:
		if (a->kind == HVS_ADDR_UNIX && !o->listen) {
			reason = "no such socket file";
		}
		if (a->kind == HVS_ADDR_VSOCK_MUX) {
			snprintf(extra, sizeof(extra),
			    " (%s, the VMM's vsock socket: is the VM running?)",
			    a->u.mux.path);
		}
		break;
	case HVS_EADDRNOTAVAIL:
		if (a->kind == HVS_ADDR_VSOCK && o->listen) {
			snprintf(extra, sizeof(extra),
			    " (CID %u is not this machine's)",
			    (unsigned)a->u.vsock.cid);
		}
		break;
	default:
		break;
	}
	if (os_error_reason(o, err) != NULL) {
		reason = os_error_reason(o, err);
	}
	snprintf(buf, size, "cannot %s %s: %s%s", what, o->addr_str, reason,
	    extra);
}
