/* SPDX-License-Identifier: MIT */
/*
 * The configuration as hvproxy holds it: the forwards (immutable, shared
 * by reference with the connections they admitted), the merge of the
 * built-in defaults, [global] (conf_file.c reads the file) and the command
 * line, with a forward's own keys over all, and the validation of the
 * whole before anything listens.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#else
#include <sys/socket.h>
#endif

#include "common/svcguid.h"
#include "hvproxy.h"

static int all_zero(const uint8_t *a, size_t n);

static void vfail(const struct hvp_vwhere *w, enum hvp_vline which,
    const char *fmt, ...) HVP_PRINTF(3, 4);

/* ---- small helpers ---------------------------------------------------- */

char *
hvp_addr_str(const hvs_addr_t *a)
{
	char buf[HVS_ADDR_STRLEN];

	if (hvs_addr_format(a, buf, sizeof(buf)) < 0) {
		return hvc_xstrdup("?");
	}
	return hvc_xstrdup(buf);
}

void
hvp_errors_add(struct hvp_errors *e, const char *fmt, ...)
{
	va_list ap;

	e->msg = hvc_xreallocarray(e->msg, e->n + 1, sizeof(*e->msg));
	va_start(ap, fmt);
	e->msg[e->n++] = hvc_xvasprintf(fmt, ap);
	va_end(ap);
}

void
hvp_errors_print(const struct hvp_errors *e, int level)
{
	for (size_t i = 0; i < e->n; i++) {
		hvp_log(level, "%s", e->msg[i]);
	}
}

void
hvp_errors_free(struct hvp_errors *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->msg[i]);
	}
	free(e->msg);
	e->msg = NULL;
	e->n = 0;
}

/* ---- addresses -------------------------------------------------------- */

/* The form expected, for a bad address of the kind vsock-mux: (any case). */
static const char *
mux_hint(const char *str)
{
	static const char kind[] = "vsock-mux:";

	for (size_t i = 0; i < sizeof(kind) - 1; i++) {
		char c = str[i];

		if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
		}
		if (c != kind[i]) {
			return "";
		}
	}
	return " (expected vsock-mux:PATH:PORT)";
}

/*
 * Parse @str for @role; on failure write a message naming the bad part.
 * An address this platform cannot open at all (unix:@NAME outside Linux,
 * on FreeBSD a CID other than the host's) is refused here too, so that
 * --check finds it.
 */
int
hvp_conf_parse_addr(hvs_addr_t *out, const char *str, hvs_role_t role,
    char *msg, size_t msgsize)
{
	hvs_parse_error_t pe;
	hvs_addr_t mux;
	int r;

	memset(&pe, 0, sizeof(pe));
	r = hvs_addr_parse_str(out, str, role, &pe);
	if (r == HVS_EMUX_LISTEN) {
		/* Where the VMM delivers the guest's connections instead. */
		if (hvs_addr_parse_str(&mux, str, HVS_ROLE_CONNECT, NULL) ==
		    0) {
			snprintf(msg, msgsize,
			    "bad address '%s': %s (here: unix:%s_%lu)", str,
			    hvs_strerror(r), mux.u.mux.path,
			    (unsigned long)mux.u.mux.port);
		} else {
			snprintf(msg, msgsize, "bad address '%s': %s", str,
			    hvs_strerror(r));
		}
		return -1;
	}

	if (r == 0) {
		r = hvs_addr_check(out, role);
		if (r == 0) {
			return 0;
		}
		snprintf(msg, msgsize, "address '%s' cannot be used here: %s",
		    str, hvs_strerror(r));
		return -1;
	}
	if (pe.length > 0 && pe.offset + pe.length <= strlen(str)) {
		snprintf(msg, msgsize, "bad address '%s': %s (at '%.*s')%s",
		    str, hvs_strerror(r), (int)pe.length, str + pe.offset,
		    mux_hint(str));
	} else {
		snprintf(msg, msgsize, "bad address '%s': %s%s", str,
		    hvs_strerror(r), mux_hint(str));
	}
	return -1;
}

int
hvp_conf_add_allow(struct hvp_fwd_conf *fc, const char *list, char *msg,
    size_t msgsize)
{
	char why[1200];

	if (hvc_allow_parse(&fc->allow, list, why, sizeof(why)) != 0) {
		snprintf(msg, msgsize, "allow: %s", why);
		return -1;
	}
	return 0;
}

/* ---- forward configurations ------------------------------------------- */

struct hvp_fwd_conf *
hvp_fwd_conf_new(const char *name, const char *where, int line)
{
	struct hvp_fwd_conf *fc = hvc_xcalloc(1, sizeof(*fc));

	fc->refs = 1;
	fc->name = hvc_xstrdup(name);
	fc->where = hvc_xstrdup(where);
	fc->line = line;
	return fc;
}

struct hvp_fwd_conf *
hvp_fwd_conf_ref(struct hvp_fwd_conf *fc)
{
	fc->refs++;
	return fc;
}

void
hvp_fwd_conf_unref(struct hvp_fwd_conf *fc)
{
	if (fc == NULL || --fc->refs > 0) {
		return;
	}
	free(fc->name);
	free(fc->where);
	free(fc->listen_str);
	free(fc->target_str);
	hvc_allow_clear(&fc->allow);
	free(fc);
}

void
hvp_config_add_fwd(struct hvp_config *c, struct hvp_fwd_conf *fc)
{
	c->fwds = hvc_xreallocarray(c->fwds, c->nfwds + 1, sizeof(*c->fwds));
	c->fwds[c->nfwds++] = fc;
}

void
hvp_config_free(struct hvp_config *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < c->nfwds; i++) {
		hvp_fwd_conf_unref(c->fwds[i]);
	}
	free(c->fwds);
	free(c->g.metrics);
	free(c->g.log_file);
	free(c->g.user);
	free(c->g.pidfile);
	free(c->file);
	free(c);
}

/* ---- validation -------------------------------------------------------- */

static void
vfail(const struct hvp_vwhere *w, enum hvp_vline which, const char *fmt, ...)
{
	char msg[1600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->report != NULL) {
		w->report(w->arg, w->line[which], msg);
	} else {
		hvp_errors_add(w->errs, "%s: %s", w->at[which], msg);
	}
}

/* The target is the listener itself: every connection would come back. */
static int
is_loop(const struct hvp_fwd_conf *fc)
{
	const hvs_addr_t *l = &fc->listen, *t = &fc->target;
	struct hvp_bind_addr b;
	char why[600];

	if (hvs_addr_equal(l, t)) {
		return 1;
	}
	if (l->kind == HVS_ADDR_VSOCK && t->kind == HVS_ADDR_VSOCK) {
		return l->u.vsock.port == t->u.vsock.port &&
		    l->u.vsock.cid == HVS_CID_ANY &&
		    t->u.vsock.cid == HVS_CID_LOCAL;
	}
	if (l->kind != HVS_ADDR_TCP || t->kind != HVS_ADDR_TCP ||
	    l->u.tcp.port != t->u.tcp.port ||
	    hvp_tcp_bind_addr(t->u.tcp.host, t->u.tcp.port, 0, &b, why,
		sizeof(why)) != 0) {
		return 0;
	}
	if (b.family == fc->bind.family &&
	    memcmp(b.addr, fc->bind.addr, sizeof(b.addr)) == 0) {
		return 1;
	}
	/* A wildcard listener answers on the loopback address too. */
	if (all_zero(fc->bind.addr, sizeof(fc->bind.addr))) {
		static const uint8_t lo6[16] = {[15] = 1};

		return (b.family == AF_INET && b.addr[0] == 127 &&
			   (fc->bind.family == AF_INET6 ||
			       fc->bind.family == AF_INET)) ||
		    (b.family == AF_INET6 && fc->bind.family == AF_INET6 &&
			memcmp(b.addr, lo6, 16) == 0);
	}
	return 0;
}

void
hvp_conf_validate_fwd(struct hvp_config *c, struct hvp_fwd_conf *fc,
    const struct hvp_vwhere *w)
{
	hvs_addr_kind_t lkind = fc->listen.kind;
	const char *why;
	char msg[1200];

	switch (fc->listen.kind) {
	case HVS_ADDR_STDIO:
		vfail(w, HVP_V_LISTEN,
		    "[forward %s] listen: stdio cannot "
		    "listen (hvproxy relays sockets; use hvcat for stdio)",
		    fc->name);
		return;
	case HVS_ADDR_FD:
		if (hvp_sd_check_fd(fc->listen.u.fd.fd, &why) != 0) {
			vfail(w, HVP_V_LISTEN,
			    "[forward %s] listen: fd:%d "
			    "%s",
			    fc->name, fc->listen.u.fd.fd, why);
			return;
		}
		if (hvs_sock_kind(fc->listen.u.fd.fd, &lkind) != 0) {
			lkind = HVS_ADDR_NONE;
		}
		break;
	case HVS_ADDR_HVSOCK:
		if ((fc->listen.u.hvsock.vm_flags & HVS_VMID_F_WSL) &&
		    !hvp_wsl_supported()) {
			vfail(w, HVP_V_LISTEN,
			    "[forward %s] listen: "
			    "hvsock:wsl: listens on a Windows host only "
			    "(inside "
			    "the WSL guest, listen on vsock:PORT)",
			    fc->name);
			return;
		}
		break;
	default:
		break;
	}
	/* Where it binds, for hvp_conf_check_listeners(), whatever else
	 * may be wrong with the forward. */
	if (fc->listen.kind == HVS_ADDR_TCP &&
	    hvp_tcp_bind_addr(fc->listen.u.tcp.host, fc->listen.u.tcp.port, 1,
		&fc->bind, msg, sizeof(msg)) != 0) {
		vfail(w, HVP_V_LISTEN, "[forward %s] listen: %s", fc->name,
		    msg);
		return;
	}
	fc->checked = 1;
	switch (fc->target.kind) {
	case HVS_ADDR_STDIO:
	case HVS_ADDR_FD:
		vfail(w, HVP_V_FWD,
		    "[forward %s] target: %s cannot be a "
		    "target (expected vsock:, hvsock:, vsock-mux:, tcp: or "
		    "unix:)",
		    fc->name, hvs_addr_kind_name(fc->target.kind));
		return;
	case HVS_ADDR_HVSOCK:
		if ((fc->target.u.hvsock.vm_flags & HVS_VMID_F_WSL) &&
		    !hvp_wsl_supported()) {
			vfail(w, HVP_V_FWD,
			    "[forward %s] target: "
			    "hvsock:wsl: works on a Windows host only",
			    fc->name);
			return;
		}
		why = hvc_listen_only_vmid(&fc->target);
		if (why != NULL) {
			/* Every connect would fail: say so now. */
			vfail(w, HVP_V_FWD,
			    "[forward %s] target: " HVC_LISTEN_ONLY_FMT,
			    fc->name, why);
			return;
		}
		break;
	default:
		break;
	}

	if (hvc_allow_check_kind(&fc->allow, lkind, msg, sizeof(msg)) != 0) {
		vfail(w, HVP_V_ALLOW, "[forward %s] allow: %s", fc->name, msg);
		return;
	}

	if (is_loop(fc)) {
		char buf[HVS_ADDR_STRLEN];

		if (hvs_addr_format(&fc->target, buf, sizeof(buf)) < 0) {
			snprintf(buf, sizeof(buf), "?");
		}
		hvp_warn("%s: [forward %s] target %s is the forward's own "
			 "listen address: each connection would be relayed "
			 "back to hvproxy itself (a loop)",
		    fc->where, fc->name, buf);
	}
#ifdef _WIN32
	/* Allowed (a Windows guest can use any service GUID), but a Linux
	 * or FreeBSD guest never will. */
	if (hvc_svcguid_warning(&fc->listen, msg, sizeof(msg))) {
		hvp_warn("%s: [forward %s] listen %s", fc->where, fc->name,
		    msg);
	}
	if (hvc_svcguid_warning(&fc->target, msg, sizeof(msg))) {
		hvp_warn("%s: [forward %s] target %s", fc->where, fc->name,
		    msg);
	}
#endif
}

/* ---- listen addresses taken twice -------------------------------------- */

enum { LK_TCP, LK_VSOCK, LK_TEXT };

/* One listen address, as binding sees it. */
struct lent {
	int cls; /* LK_* */
	uint32_t port; /* LK_TCP, LK_VSOCK */
	int fam; /* LK_TCP: AF_INET, AF_INET6 */
	uint8_t a[16]; /* LK_TCP: the address; LK_VSOCK: the CID */
	int wild; /* 4: every IPv4 address; 6: every address, any CID */
	char *text; /* LK_TEXT: the address as text */
	size_t idx; /* forwards 0..n-1, the metrics endpoint n */
};

static int
cmp_lent(const void *a, const void *b)
{
	const struct lent *x = a, *y = b;
	int r;

	if (x->cls != y->cls) {
		return x->cls < y->cls ? -1 : 1;
	}
	if (x->cls == LK_TEXT) {
		r = strcmp(x->text, y->text);
	} else if (x->port != y->port) {
		r = x->port < y->port ? -1 : 1;
	} else if (x->fam != y->fam) {
		r = x->fam < y->fam ? -1 : 1;
	} else {
		r = memcmp(x->a, y->a, sizeof(x->a));
	}
	if (r != 0) {
		return r;
	}
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int
same_group(const struct lent *x, const struct lent *y)
{
	if (x->cls != y->cls) {
		return 0;
	}
	return x->cls == LK_TEXT ? strcmp(x->text, y->text) == 0
				 : x->port == y->port;
}

static int
same_place(const struct lent *x, const struct lent *y)
{
	return same_group(x, y) && x->fam == y->fam &&
	    memcmp(x->a, y->a, sizeof(x->a)) == 0;
}

static int
all_zero(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != 0) {
			return 0;
		}
	}
	return 1;
}

/* @e from @a; 0, or -1 if it takes no fixed place (port 0, any port). */
static int
lent_set(struct lent *e, const hvs_addr_t *a, const struct hvp_bind_addr *b,
    size_t idx)
{
	memset(e, 0, sizeof(*e));
	e->idx = idx;
	switch (a->kind) {
	case HVS_ADDR_TCP:
		if (b->port == 0) {
			return -1;
		}
		e->cls = LK_TCP;
		e->port = b->port;
		e->fam = b->family;
		memcpy(e->a, b->addr, sizeof(e->a));
		if (all_zero(b->addr, sizeof(b->addr))) {
			/* Linux binds [::] for IPv4 as well (bindv6only
			 * off, the default). */
			e->wild = b->family == AF_INET ? 4 : 6;
		}
		return 0;
	case HVS_ADDR_VSOCK:
		if (a->u.vsock.port == HVS_PORT_ANY) {
			return -1;
		}
		e->cls = LK_VSOCK;
		e->port = a->u.vsock.port;
		memcpy(e->a, &a->u.vsock.cid, sizeof(a->u.vsock.cid));
		e->wild = a->u.vsock.cid == HVS_CID_ANY ? 6 : 0;
		return 0;
	default:
		e->cls = LK_TEXT;
		e->text = hvp_addr_str(a);
		return 0;
	}
}

static void
report_clash(const struct hvp_config *c, const hvs_addr_t *metrics, size_t idx,
    size_t pidx, int wildcard,
    void (*report)(void *, const struct hvp_fwd_conf *, const char *),
    void *arg)
{
	const struct hvp_fwd_conf *fc = idx < c->nfwds ? c->fwds[idx] : NULL;
	const struct hvp_fwd_conf *pf = c->fwds[pidx];
	char *mine = hvp_addr_str(fc != NULL ? &fc->listen : metrics);
	char *theirs = hvp_addr_str(&pf->listen);
	char who[HVP_NAME_MAX + 32];
	char msg[3 * HVS_ADDR_STRLEN];

	if (fc != NULL) {
		snprintf(who, sizeof(who), "[forward %s] listen", fc->name);
	} else {
		snprintf(who, sizeof(who), "metrics");
	}
	if (strcmp(mine, theirs) == 0) {
		snprintf(msg, sizeof(msg),
		    "%s: %s is already the listen address of forward %s (%s)",
		    who, mine, pf->name, pf->where);
	} else if (!wildcard) {
		snprintf(msg, sizeof(msg),
		    "%s: %s is the same address as %s, the listen address of "
		    "forward %s (%s)",
		    who, mine, theirs, pf->name, pf->where);
	} else {
		snprintf(msg, sizeof(msg),
		    "%s: %s cannot listen beside %s, the listen address of "
		    "forward %s (%s): one of them takes the port on every "
		    "address",
		    who, mine, theirs, pf->name, pf->where);
	}
	report(arg, fc, msg);
	free(mine);
	free(theirs);
}

void
hvp_conf_check_listeners(const struct hvp_config *c, size_t from,
    const hvs_addr_t *metrics,
    void (*report)(void *arg, const struct hvp_fwd_conf *fc, const char *msg),
    void *arg)
{
	struct lent *v = hvc_xcalloc(c->nfwds + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < c->nfwds; i++) {
		const struct hvp_fwd_conf *fc = c->fwds[i];

		if (fc->checked &&
		    lent_set(&v[n], &fc->listen, &fc->bind, i) == 0) {
			n++;
		}
	}
	if (metrics != NULL && metrics->kind != HVS_ADDR_NONE) {
		struct hvp_bind_addr b;
		char why[600], msg[700];

		memset(&b, 0, sizeof(b));
		if (metrics->kind == HVS_ADDR_TCP &&
		    hvp_tcp_bind_addr(metrics->u.tcp.host, metrics->u.tcp.port,
			1, &b, why, sizeof(why)) != 0) {
			snprintf(msg, sizeof(msg), "metrics: %s", why);
			report(arg, NULL, msg);
		} else if (lent_set(&v[n], metrics, &b, c->nfwds) == 0) {
			n++;
		}
	}
	if (n > 1) {
		qsort(v, n, sizeof(*v), cmp_lent);
	}
	for (size_t g0 = 0, g1; g0 < n; g0 = g1) {
		size_t w4 = SIZE_MAX, w6 = SIZE_MAX, min4 = SIZE_MAX;
		size_t minall = SIZE_MAX, run = g0;

		for (g1 = g0; g1 < n && same_group(&v[g0], &v[g1]); g1++) {
			const struct lent *e = &v[g1];

			minall = e->idx < minall ? e->idx : minall;
			if (e->cls == LK_TCP && e->fam == AF_INET &&
			    e->idx < min4) {
				min4 = e->idx;
			}
			if (e->wild == 4 && e->idx < w4) {
				w4 = e->idx;
			}
			if (e->wild == 6 && e->idx < w6) {
				w6 = e->idx;
			}
		}
		for (size_t i = g0; i < g1; i++) {
			const struct lent *e = &v[i];
			size_t p = SIZE_MAX, cand;
			int wildcard = 0;

			if (i > g0 && same_place(&v[i - 1], e)) {
				p = v[run].idx; /* the first at this place */
			} else {
				run = i;
			}
			if (e->cls != LK_TEXT) {
				/* A wildcard covering it, or what it covers. */
				cand = w6;
				if (e->fam == AF_INET && w4 < cand) {
					cand = w4;
				}
				if (e->wild == 4 && min4 < cand) {
					cand = min4;
				}
				if (e->wild == 6 && minall < cand) {
					cand = minall;
				}
				if (cand < e->idx && cand < p) {
					p = cand;
					wildcard = 1;
				}
			}
			if (p != SIZE_MAX && e->idx >= from) {
				report_clash(c, metrics, e->idx, p, wildcard,
				    report, arg);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].text);
	}
	free(v);
}

/* Apply the HVP_SET_* fields of @src over @dst. */
static void
merge_globals(struct hvp_globals *dst, const struct hvp_globals *src)
{
	if (src->set & HVP_SET_MAX_CONNS_TOTAL) {
		dst->max_conns = src->max_conns;
	}
	if (src->set & HVP_SET_DRAIN_TIMEOUT) {
		dst->drain_timeout_ms = src->drain_timeout_ms;
	}
	if (src->set & HVP_SET_LOG_LEVEL) {
		dst->log_level = src->log_level;
	}
	if (src->set & HVP_SET_SYSLOG) {
		dst->use_syslog = src->use_syslog;
	}
	if (src->set & HVP_SET_WSL_POLL) {
		dst->wsl_poll_ms = src->wsl_poll_ms;
	}
	if (src->set & HVP_SET_LOG_FILE) {
		free(dst->log_file);
		dst->log_file = hvc_xstrdup(src->log_file);
	}
	if (src->set & HVP_SET_METRICS) {
		free(dst->metrics);
		dst->metrics = hvc_xstrdup(src->metrics);
	}
	if (src->set & HVP_SET_USER) {
		free(dst->user);
		dst->user = hvc_xstrdup(src->user);
	}
	if (src->set & HVP_SET_PIDFILE) {
		free(dst->pidfile);
		dst->pidfile = hvc_xstrdup(src->pidfile);
	}
	if (src->fwd_set & HVP_SET_MAX_CONNS) {
		dst->fwd.max_conns = src->fwd.max_conns;
	}
	if (src->fwd_set & HVP_SET_MAX_CONNS_PEER) {
		dst->fwd.max_conns_peer = src->fwd.max_conns_peer;
	}
	if (src->fwd_set & HVP_SET_CONNECT_TIMEOUT) {
		dst->fwd.connect_timeout_ms = src->fwd.connect_timeout_ms;
	}
	if (src->fwd_set & HVP_SET_IDLE_TIMEOUT) {
		dst->fwd.idle_timeout_ms = src->fwd.idle_timeout_ms;
	}
	if (src->fwd_set & HVP_SET_BUFFER) {
		dst->fwd.buffer = src->fwd.buffer;
	}
	dst->set |= src->set;
	dst->fwd_set |= src->fwd_set;
}

static void
fill_fwd_defaults(struct hvp_fwd_conf *fc, const struct hvp_fwd_defaults *d)
{
	if (!(fc->set & HVP_SET_MAX_CONNS)) {
		fc->lim.max_conns = d->max_conns;
	}
	if (!(fc->set & HVP_SET_MAX_CONNS_PEER)) {
		fc->lim.max_conns_peer = d->max_conns_peer;
	}
	if (!(fc->set & HVP_SET_CONNECT_TIMEOUT)) {
		fc->lim.connect_timeout_ms = d->connect_timeout_ms;
	}
	if (!(fc->set & HVP_SET_IDLE_TIMEOUT)) {
		fc->lim.idle_timeout_ms = d->idle_timeout_ms;
	}
	if (!(fc->set & HVP_SET_BUFFER)) {
		fc->lim.buffer = d->buffer;
	}
}

/* "127.0.0.1:9101", "9101", "[::1]:9101", "tcp:...", "unix:PATH". */
static int
parse_metrics_addr(const char *s, hvs_addr_t *out, char *msg, size_t size)
{
	char buf[HVS_ADDR_MAXLEN + 8];
	const char *str = s;

	if (strncmp(s, "vsock:", 6) == 0 || strncmp(s, "hvsock:", 7) == 0 ||
	    strncmp(s, "fd:", 3) == 0 || strcmp(s, "stdio") == 0) {
		snprintf(msg, size,
		    "'%s': expected HOST:PORT, PORT, "
		    "tcp:[HOST:]PORT or unix:PATH",
		    s);
		return -1;
	}
	if (strncmp(s, "tcp:", 4) != 0 && strncmp(s, "unix:", 5) != 0) {
		snprintf(buf, sizeof(buf), "tcp:%s", s);
		str = buf;
	}
	if (hvp_conf_parse_addr(out, str, HVS_ROLE_LISTEN, msg, size) != 0) {
		return -1;
	}
	if (out->kind != HVS_ADDR_TCP && out->kind != HVS_ADDR_UNIX) {
		snprintf(msg, size, "'%s' is neither a tcp nor a unix address",
		    s);
		return -1;
	}
	return 0;
}

static void
report_cmdline(void *arg, const struct hvp_fwd_conf *fc, const char *msg)
{
	if (fc != NULL) {
		hvp_errors_add(arg, "%s: %s", fc->where, msg);
	} else {
		hvp_errors_add(arg, "%s", msg);
	}
}

struct hvp_config *
hvp_config_load(const struct hvp_cmdline *cl, struct hvp_errors *errs)
{
	struct hvp_config *c = hvc_xcalloc(1, sizeof(*c));
	struct hvp_globals fileg;
	size_t nerr0 = errs->n;
	size_t nfile;
	char msg[1400];

	memset(&fileg, 0, sizeof(fileg));
	c->g.drain_timeout_ms = HVP_DEF_DRAIN_TIMEOUT_MS;
	c->g.log_level = HVP_LOG_WARN;
	c->g.wsl_poll_ms = HVP_DEF_WSL_POLL_MS;
	c->g.fwd.connect_timeout_ms = HVP_DEF_CONNECT_TIMEOUT_MS;
	c->g.fwd.buffer = HVP_DEF_BUFFER;

	if (cl->file != NULL) {
		c->file = hvc_xstrdup(cl->file);
		hvp_conf_file_load(c, &fileg, cl->file, cl->text, cl->text_len,
		    cl->keep_fd, errs);
		merge_globals(&c->g, &fileg);
		free(fileg.metrics);
		free(fileg.log_file);
		free(fileg.user);
		free(fileg.pidfile);
	}
	merge_globals(&c->g, &cl->g);
	nfile = c->nfwds;

	/* The command line's forwards, named after their listen address. */
	for (int i = 0; i + 1 < cl->npairs; i += 2) {
		struct hvp_fwd_conf *fc;
		char where[HVS_ADDR_MAXLEN + 64];
		int bad = 0;

		snprintf(where, sizeof(where), "argument '%s'", cl->pairs[i]);
		fc = hvp_fwd_conf_new(cl->pairs[i], where, 0);
		if (hvp_conf_parse_addr(&fc->listen, cl->pairs[i],
			HVS_ROLE_LISTEN, msg, sizeof(msg)) != 0) {
			hvp_errors_add(errs, "listen address (argument %d): %s",
			    i + 1, msg);
			bad = 1;
		}
		if (hvp_conf_parse_addr(&fc->target, cl->pairs[i + 1],
			HVS_ROLE_CONNECT, msg, sizeof(msg)) != 0) {
			hvp_errors_add(errs, "target address (argument %d): %s",
			    i + 2, msg);
			bad = 1;
		}
		if (!bad) {
			free(fc->name);
			fc->name = hvp_addr_str(&fc->listen);
		}
		/* Each --allow adds up; the first bad one is reported. */
		for (char **al = cl->allow; al != NULL && *al != NULL; al++) {
			if (hvp_conf_add_allow(fc, *al, msg, sizeof(msg)) !=
			    0) {
				hvp_errors_add(errs, "--%s", msg);
				bad = 1;
				break;
			}
		}
		hvp_config_add_fwd(c, fc);
		if (bad) {
			fc->listen.kind = HVS_ADDR_NONE;
		}
	}

	for (size_t i = 0; i < c->nfwds; i++) {
		struct hvp_fwd_conf *fc = c->fwds[i];

		fill_fwd_defaults(fc, &c->g.fwd);
		if (fc->listen.kind != HVS_ADDR_NONE) {
			fc->listen_str = hvp_addr_str(&fc->listen);
		}
		if (fc->target.kind != HVS_ADDR_NONE) {
			fc->target_str = hvp_addr_str(&fc->target);
		}
	}
	for (size_t i = nfile; i < c->nfwds; i++) {
		struct hvp_fwd_conf *fc = c->fwds[i];

		if (fc->listen.kind != HVS_ADDR_NONE) {
			struct hvp_vwhere w;

			memset(&w, 0, sizeof(w));
			w.at[HVP_V_LISTEN] = fc->where;
			w.at[HVP_V_ALLOW] = "--allow";
			w.at[HVP_V_FWD] = fc->where;
			w.errs = errs;
			hvp_conf_validate_fwd(c, fc, &w);
		}
	}

	if (c->nfwds == 0 && errs->n == nerr0) {
		hvp_errors_add(errs,
		    "%s: no forwards (give LISTEN TARGET "
		    "pairs, or [forward NAME] sections with listen= and "
		    "target=)",
		    cl->file != NULL ? cl->file : "command line");
	}
	if (c->g.metrics != NULL &&
	    parse_metrics_addr(c->g.metrics, &c->metrics_addr, msg,
		sizeof(msg)) != 0) {
		hvp_errors_add(errs, "metrics: %s", msg);
		c->metrics_addr.kind = HVS_ADDR_NONE;
	}
	/* The command line's forwards and the metrics endpoint against all
	 * (the file's among themselves: conf_file.c). */
	hvp_conf_check_listeners(c, nfile,
	    c->g.metrics != NULL ? &c->metrics_addr : NULL, report_cmdline,
	    errs);
	if (c->g.pidfile != NULL && c->g.pidfile[0] == '\0') {
		hvp_errors_add(errs,
		    "pidfile: empty (expected the path of a file; leave "
		    "pidfile out for none)");
	}
	if (c->g.user != NULL &&
	    hvp_priv_check(c->g.user, msg, sizeof(msg)) != 0) {
		hvp_errors_add(errs, "user: %s", msg);
	}

	if (errs->n != nerr0) {
		hvp_config_free(c);
		return NULL;
	}
	return c;
}
