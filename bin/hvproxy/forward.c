/* SPDX-License-Identifier: MIT */
/*
 * One forward at run time: listener -> admission -> async connect ->
 * relay (the daemon that holds every forward is daemon.c).
 *
 * One event loop carries everything. A connection is admitted by the
 * listener's peer filter (the allowlist, before anything is allocated),
 * then by the limits (global, per forward and per peer within the
 * forward: excess connections are closed at once, never queued), then
 * the target is connected to asynchronously within the connect timeout,
 * and the library's relay
 * engine moves the bytes (half-close, high watermark, idle timeout).
 *
 * Bookkeeping in the manner of relayd: every connection hangs off its
 * forward, and holds a reference to the configuration it was admitted
 * under, so that a reload can replace or remove forwards while their
 * connections go on. A removed forward with open connections is
 * "retired": no listener, still counted and shown in the metrics until
 * its last connection ends.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/registry.h"
#include "forward.h"

/* ---- connections ------------------------------------------------------ */

static const char *
end_name(hvs_relay_end_t reason)
{
	switch (reason) {
	case HVS_RELAY_DONE:
		return "done";
	case HVS_RELAY_ERROR:
		return "error";
	case HVS_RELAY_RESET:
		return "reset";
	case HVS_RELAY_IDLE_TIMEOUT:
		return "idle-timeout";
	case HVS_RELAY_CLOSED:
		return "closed";
	}
	return "?";
}

void
hvp_fwd_free(struct fwd *f)
{
	hvp_peers_clear(&f->peers);
	hvp_fwd_conf_unref(f->conf);
	free(f);
}

/* Unlink and free @c; frees a retired forward with its last connection. */
static void
conn_free(struct conn *c)
{
	struct fwd *f = c->fwd;
	struct hvp_daemon *d = f->d;

	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		f->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	f->nconns--;
	d->nconns--;
	if (c->counted) {
		hvp_peers_remove(&f->peers, &c->pkey);
	}
	if (c->splice) {
		d->nsplice--;
	}
	hvp_fwd_conf_unref(c->conf);
	free(c->peer);
	free(c);

	if (f->retired && f->nconns == 0) {
		struct fwd **pp;

		for (pp = &d->retired; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == f) {
				*pp = f->next;
				break;
			}
		}
		/* Its totals leave the metrics with it: a forward that is
		 * gone has nothing more to count. */
		hvp_fwd_free(f);
	}
	hvp_daemon_maybe_drained(d);
}

static double
secs_since(uint64_t start)
{
	return (double)(hvc_now_ms() - start) / 1000.0;
}

/* A connection that never reached the relay: close the client now. */
void
hvp_conn_fail(struct conn *c, const char *end, int err)
{
	if (hvp_log_on(HVP_LOG_INFO)) {
		hvp_info("conn fwd=%s peer=%s target=%s up=0 down=0 "
			 "duration=%.3fs end=%s err=%s",
		    c->conf->name, c->peer, c->conf->target_str,
		    secs_since(c->start_ms), end,
		    err != 0 ? hvs_err_name(err) : "-");
	}
	hvs_close(c->client);
	c->client = HVS_INVALID_SOCK;
	conn_free(c);
}

static void
on_relay_done(hvs_relay_t *r, const hvs_relay_stats_t *s, void *userdata)
{
	struct conn *c = userdata;
	struct fwd *f = c->fwd;
	const char *end = end_name(s->reason);

	f->st.bytes_up += s->bytes_a_to_b;
	f->st.bytes_down += s->bytes_b_to_a;
	switch (s->reason) {
	case HVS_RELAY_ERROR:
	case HVS_RELAY_RESET:
		f->st.err_relay++;
		break;
	case HVS_RELAY_IDLE_TIMEOUT:
		f->st.idle_timeouts++;
		break;
	case HVS_RELAY_CLOSED:
		if (c->drained) {
			end = "drain-timeout";
		}
		break;
	case HVS_RELAY_DONE:
		if (c->drained) {
			end = "drained";
		}
		break;
	}
	if (hvp_log_on(HVP_LOG_INFO)) {
		if (s->err != 0) {
			hvp_info("conn fwd=%s peer=%s target=%s up=%llu "
				 "down=%llu duration=%.3fs end=%s err=%s "
				 "side=%s",
			    c->conf->name, c->peer, c->conf->target_str,
			    (unsigned long long)s->bytes_a_to_b,
			    (unsigned long long)s->bytes_b_to_a,
			    (double)s->duration_ms / 1000.0, end,
			    hvs_err_name(s->err),
			    s->err_side == 0       ? "client"
				: s->err_side == 1 ? "target"
						   : "-");
		} else {
			hvp_info("conn fwd=%s peer=%s target=%s up=%llu "
				 "down=%llu duration=%.3fs end=%s",
			    c->conf->name, c->peer, c->conf->target_str,
			    (unsigned long long)s->bytes_a_to_b,
			    (unsigned long long)s->bytes_b_to_a,
			    (double)s->duration_ms / 1000.0, end);
		}
	}
	c->relay = NULL;
	conn_free(c);
}

/* The system lacks the target's address family (no Hyper-V sockets; on
 * FreeBSD outside Hyper-V HVS_EHV_UNAVAILABLE): every connection will fail
 * alike, so say why once, whatever the log level. */
static void
warn_family(struct conn *c, int err)
{
	char why[256];

	if ((err != HVS_EAFNOSUPPORT && err != HVS_EHV_UNAVAILABLE) ||
	    c->fwd->warned_family) {
		return;
	}
	c->fwd->warned_family = 1;
	hvc_sock_why(&c->conf->target, err, why, sizeof(why));
	hvp_warn("forward %s: cannot connect to %s: %s", c->conf->name,
	    c->conf->target_str, why);
}

static void
on_connected(int err, hvs_sock_t sock, void *userdata)
{
	struct conn *c = userdata;
	struct hvp_daemon *d = c->fwd->d;
	hvs_relay_opts_t ro;
	int r;

	c->req = NULL;
	warn_family(c, err);
	if (err != 0) {
		c->fwd->st.err_connect++;
		hvp_conn_fail(c,
		    err == HVS_ETIMEDOUT ? "connect-timeout" : "connect-failed",
		    err);
		return;
	}
	hvs_relay_opts_init(&ro);
	ro.high_watermark = c->conf->lim.buffer;
	ro.idle_timeout_ms = c->conf->lim.idle_timeout_ms;
	/* Both come from hvs_listener / hvs_connect_async: non-blocking. */
	ro.flags = HVS_RELAY_NONBLOCKING;
	/* Splice pipes cost descriptors: beyond the budget, copy. */
	if (d->nsplice >= d->max_splice) {
		ro.flags |= HVS_RELAY_NO_SPLICE;
	}
	r = hvs_relay_new(&c->relay, d->base, c->client, sock, &ro,
	    on_relay_done, c);
	if (r != 0) {
		hvs_close(sock);
		c->fwd->st.err_relay++;
		hvp_warn("forward %s: cannot start a relay: %s", c->conf->name,
		    hvs_strerror(r));
		hvp_conn_fail(c, "error", r);
		return;
	}
	/* The relay owns both sockets now. */
	c->client = HVS_INVALID_SOCK;
	if (!(ro.flags & HVS_RELAY_NO_SPLICE)) {
		c->splice = 1;
		d->nsplice++;
	}
	hvp_debug("conn fwd=%s peer=%s connected to %s", c->conf->name, c->peer,
	    c->conf->target_str);
}

/* The peer for log lines: escaped (hvc_peer_text()), since a unix client
 * names its own socket and could otherwise write a line of its own. */
static char *
peer_str(const hvs_addr_t *peer)
{
	char buf[HVC_PEER_TEXT_SIZE];

	if (hvc_peer_text(peer, buf, sizeof(buf)) != 0) {
		/* Unix peers are mostly unnamed: the empty path says
		 * nothing. */
		snprintf(buf, sizeof(buf), "-");
	}
	return strdup(buf);
}

/* With -v: "conn fwd=F peer=P end=refused " and why (@fmt). */
static void log_refused(const struct hvp_fwd_conf *fc, const hvs_addr_t *peer,
    const char *fmt, ...) HVP_PRINTF(3, 4);

static void
log_refused(const struct hvp_fwd_conf *fc, const hvs_addr_t *peer,
    const char *fmt, ...)
{
	char why[256];
	char *p;
	va_list ap;

	if (!hvp_log_on(HVP_LOG_INFO)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	p = peer_str(peer);
	hvp_info("conn fwd=%s peer=%s end=refused %s", fc->name,
	    p != NULL ? p : "-", why);
	free(p);
}

static void
on_accept(hvs_listener_t *l, hvs_sock_t sock, const hvs_addr_t *peer,
    void *userdata)
{
	struct fwd *f = userdata;
	struct hvp_daemon *d = f->d;
	struct hvp_fwd_conf *fc = f->conf;
	hvs_sockopts_t so;
	struct hvp_peer_key pkey;
	struct hvc_peer pi;
	struct conn *c;
	int counted, r;

	/* Who the peer is, read once from the socket (a tcp peer's address
	 * and scope, a unix peer's user): for allow= and the per-peer key.
	 * allow= is checked here, not in a listener filter, since that is
	 * where the accepted socket is. A tcp peer whose address cannot be
	 * read has already gone. */
	if (hvc_peer_read(&pi, peer, sock) != 0) {
		if (hvp_log_on(HVP_LOG_DEBUG)) {
			char *p = peer_str(peer);

			hvp_debug("conn fwd=%s peer=%s: gone before its "
				  "address could be read: closed",
			    fc->name, p != NULL ? p : "-");
			free(p);
		}
		hvs_close(sock);
		return;
	}
	if (!hvc_allow_match(&fc->allow, &pi)) {
		f->st.refused_allow++;
		if (peer != NULL && peer->kind == HVS_ADDR_UNIX) {
			char who[32] = "-";

			if (pi.cred.have) {
				snprintf(who, sizeof(who), "uid %lu",
				    (unsigned long)pi.cred.uid);
			}
			log_refused(fc, peer, "reason=allowlist who=\"%s\"",
			    who);
		} else {
			log_refused(fc, peer, "reason=allowlist");
		}
		hvs_close(sock);
		return;
	}
	if (d->draining || f->retired) {
		hvs_close(sock);
		return;
	}
	if (d->nconns >= d->max_conns ||
	    (fc->lim.max_conns != 0 && f->nconns >= fc->lim.max_conns)) {
		f->st.refused_limit++;
		log_refused(fc, peer, "reason=max-conns limit=%u",
		    d->nconns >= d->max_conns ? d->max_conns
					      : fc->lim.max_conns);
		hvs_close(sock);
		return;
	}
	counted = hvp_peer_key(&pi, &pkey);
	if (counted && fc->lim.max_conns_peer != 0 &&
	    hvp_peers_count(&f->peers, &pkey) >= fc->lim.max_conns_peer) {
		char who[96];

		f->st.refused_peer++;
		if (hvp_peer_key_format(&pkey, who, sizeof(who)) != 0) {
			snprintf(who, sizeof(who), "-");
		}
		log_refused(fc, peer,
		    "reason=max-conns-per-peer limit=%u who=\"%s\"",
		    fc->lim.max_conns_peer, who);
		hvs_close(sock);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->peer = peer_str(peer)) == NULL ||
	    (counted && hvp_peers_add(&f->peers, &pkey) != 0)) {
		if (c != NULL) {
			free(c->peer);
		}
		free(c);
		f->st.err_relay++;
		hvp_warn("forward %s: out of memory: connection closed",
		    fc->name);
		hvs_close(sock);
		return;
	}
	c->fwd = f;
	c->conf = hvp_fwd_conf_ref(fc);
	c->counted = counted;
	c->pkey = pkey;
	c->client = sock;
	c->start_ms = hvc_now_ms();
	c->next = f->conns;
	if (f->conns != NULL) {
		f->conns->prev = c;
	}
	f->conns = c;
	f->nconns++;
	d->nconns++;
	f->st.total++;

	hvs_sockopts_init(&so);
	so.timeout_ms = fc->lim.connect_timeout_ms;
	r = hvs_connect_async(&c->req, d->base, &fc->target, &so, on_connected,
	    c);
	if (r != 0) {
		c->req = NULL;
		f->st.err_connect++;
		warn_family(c, r);
		hvp_conn_fail(c,
		    r == HVS_ETIMEDOUT ? "connect-timeout" : "connect-failed",
		    r);
	}
}

static void
on_accept_error(hvs_listener_t *l, int err, void *userdata)
{
	struct fwd *f = userdata;

	hvp_warn("forward %s: accept failed: %s; pausing briefly",
	    f->conf->name, hvs_strerror(err));
}

/* ---- listeners -------------------------------------------------------- */

static int
all_interfaces(const hvs_addr_t *a)
{
	const char *h = a->u.tcp.host;

	return a->kind == HVS_ADDR_TCP &&
	    (strcmp(h, "*") == 0 || strcmp(h, "0.0.0.0") == 0 ||
		strcmp(h, "::") == 0);
}

int
hvp_fwd_bind(struct fwd *f, const struct hvp_config *cfg)
{
	struct hvp_fwd_conf *fc = f->conf;
	hvs_listener_opts_t lo;
	hvs_sockopts_t so;
	uint32_t port;
	int r;

	/* A Windows host lets guests in only to registered services: say
	 * so before listening, whether or not the listener opens (nothing
	 * to say on other systems: common/registry.h). */
	{
		char w[256];

		if (hvc_reg_listener_check(&fc->listen, w, sizeof(w))) {
			hvp_warn("forward %s: %s", fc->name, w);
		}
	}
	hvs_listener_opts_init(&lo);
	lo.on_error = on_accept_error;
	hvs_sockopts_init(&so);
	if (fc->listen.kind == HVS_ADDR_UNIX) {
		so.flags |= HVS_SOCK_UNLINK;
	}
	if (fc->listen.kind == HVS_ADDR_HVSOCK &&
	    (fc->listen.u.hvsock.vm_flags & HVS_VMID_F_WSL)) {
		r = hvp_wsl_listen(&f->wsl, f->d->base, &fc->listen, &lo,
		    cfg->g.wsl_poll_ms, on_accept, f);
	} else {
		r = hvs_listener_new(&f->listener, f->d->base, &fc->listen, &so,
		    &lo, on_accept, f);
	}
	if (r != 0) {
		char why[HVS_PATH_MAX + 64];

		hvc_listen_why(&fc->listen, r, why, sizeof(why));
		hvp_err("forward %s: cannot listen on %s: %s", fc->name,
		    fc->listen_str, why);
		return -1;
	}
	/* Ours to remove when the listener closes (fd: sockets are not). */
	hvc_sockfile_note(&f->sockfile, &fc->listen);
	if (all_interfaces(&fc->listen)) {
		hvp_warn("forward %s: %s is exposed on all network interfaces "
			 "(write tcp:127.0.0.1:%u to keep it local)",
		    fc->name, fc->listen_str, (unsigned)fc->listen.u.tcp.port);
	}
	/* A WSL forward listens once wsl.exe has named the VM: wsl.c says
	 * "listening on the WSL VM ..." then. Saying it here already would
	 * let a reader (or a script) connect too early. */
	if (f->wsl != NULL) {
		hvp_info("forward %s: %s follows the WSL VM, target %s",
		    fc->name, fc->listen_str, fc->target_str);
	} else {
		hvp_info("forward %s: listening on %s, target %s", fc->name,
		    fc->listen_str, fc->target_str);
	}
	if ((fc->listen.kind == HVS_ADDR_VSOCK ||
		fc->listen.kind == HVS_ADDR_HVSOCK) &&
	    hvs_addr_service_port(&fc->listen, &port) == 0) {
		hvs_guid_t svc;
		char g[HVS_GUID_STRLEN];

		if (hvs_service_from_port(&svc, port) == 0) {
			hvs_guid_format(&svc, g);
			hvp_info("forward %s: Hyper-V service id %s (a Windows "
				 "host needs it registered under "
				 "GuestCommunicationServices)",
			    fc->name, g);
		}
	}
	return 0;
}

void
hvp_fwd_unbind(struct fwd *f)
{
	if (f->listener != NULL) {
		hvs_listener_destroy(f->listener);
		f->listener = NULL;
	}
	if (f->wsl != NULL) {
		hvp_wsl_free(f->wsl);
		f->wsl = NULL;
	}
	if (f->sockfile.path[0] != '\0') {
		char who[128];

		snprintf(who, sizeof(who), "forward %s", f->conf->name);
		hvp_sockfile_remove(&f->sockfile, who);
	}
}

void
hvp_sockfile_remove(struct hvc_sockfile *f, const char *who)
{
	char path[sizeof(f->path)], why[256], what[128];
	int err;

	snprintf(path, sizeof(path), "%s", f->path);
	err = hvc_sockfile_remove(f, why, sizeof(why));
	if (err != 0) {
		snprintf(what, sizeof(what), "the socket file of %s", who);
		hvp_left_behind(what, path, err,
		    "the next start removes it (never a live one)");
	}
}
