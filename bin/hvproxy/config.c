/* SPDX-License-Identifier: MIT */
/*
 * The configuration as hvproxy holds it: the forwards (immutable, shared
 * by reference with the connections they admitted), the merge of the
 * built-in defaults, [global] (conf_file.c reads the file) and the command
 * line, with a forward's own keys over all, and the validation of the
 * whole before anything listens.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvproxy.h"

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

/*
 * Parse @str for @role; on failure write a message naming the bad part.
 */
int
hvp_conf_parse_addr(hvs_addr_t *out, const char *str, hvs_role_t role,
    char *msg, size_t msgsize)
{
	hvs_parse_error_t pe;
	int r;

	memset(&pe, 0, sizeof(pe));
	r = hvs_addr_parse_str(out, str, role, &pe);
	if (r == 0) {
		return 0;
	}
	if (pe.length > 0 && pe.offset + pe.length <= strlen(str)) {
		snprintf(msg, msgsize, "bad address '%s': %s (at '%.*s')", str,
		    hvs_strerror(r), (int)pe.length, str + pe.offset);
	} else {
		snprintf(msg, msgsize, "bad address '%s': %s", str,
		    hvs_strerror(r));
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
	switch (fc->target.kind) {
	case HVS_ADDR_STDIO:
	case HVS_ADDR_FD:
		vfail(w, HVP_V_FWD,
		    "[forward %s] target: %s cannot be a "
		    "target (expected vsock:, hvsock:, tcp: or unix:)",
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
		break;
	default:
		break;
	}

	if (hvc_allow_check_kind(&fc->allow, lkind, msg, sizeof(msg)) != 0) {
		vfail(w, HVP_V_ALLOW, "[forward %s] allow: %s", fc->name, msg);
		return;
	}

	/* Only forwards before this one: a clash is reported once. */
	for (size_t i = 0; i < c->nfwds && c->fwds[i] != fc; i++) {
		char buf[HVS_ADDR_STRLEN];

		if (hvs_addr_equal(&c->fwds[i]->listen, &fc->listen)) {
			if (hvs_addr_format(&fc->listen, buf, sizeof(buf)) <
			    0) {
				snprintf(buf, sizeof(buf), "this address");
			}
			vfail(w, HVP_V_LISTEN,
			    "[forward %s] listen: %s is "
			    "already the listen address of forward %s (%s)",
			    fc->name, buf, c->fwds[i]->name, c->fwds[i]->where);
			return;
		}
	}
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
		    errs);
		merge_globals(&c->g, &fileg);
		free(fileg.metrics);
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
