/*
 * Forwards at run time: listener -> admission -> async connect -> relay.
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
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "hvproxy.h"

struct fwd;

struct conn {
	struct conn *prev, *next;
	struct fwd *fwd;
	struct hvp_fwd_conf *conf; /* reference: what it was admitted under */
	hvs_sock_t client; /* until the relay owns it */
	char *peer;
	hvs_connect_req_t *req; /* while connecting */
	hvs_relay_t *relay; /* while relaying */
	uint64_t start_ms;
	int drained; /* hvs_relay_drain() was called */
	int splice; /* its relay may take splice pipes (counted in nsplice) */
	int counted; /* counted under @pkey in its forward's peers */
	struct hvp_peer_key pkey;
};

struct fwd {
	struct fwd *next;
	struct hvp_daemon *d;
	struct hvp_fwd_conf *conf;
	hvs_listener_t *listener;
	struct hvp_wsl *wsl; /* instead of listener for hvsock:wsl: */
	int unlink_path; /* a unix socket file we created */
	struct conn *conns;
	unsigned nconns;
	/* Open connections per peer, whatever the limit: a reload that sets
	 * max-conns-per-peer finds the connections already open counted. */
	struct hvp_peers peers;
	struct hvp_fwd_stats st; /* counters of ended connections */
	int retired;
};

struct hvp_daemon {
	struct event_base *base;
	struct hvp_config *cfg;
	struct fwd *fwds; /* in configuration order */
	struct fwd *retired;
	unsigned nconns;
	unsigned max_conns; /* in force (automatic if 0 in cfg) */
	unsigned nsplice; /* relays allowed the zero-copy path */
	unsigned max_splice; /* descriptors left for their pipes, / 4 */
	uint64_t reloads, reload_failures;
	int draining; /* 0, 1 = waiting, 2 = flushing */
	struct event *drain_ev;
	void (*drain_done)(void *);
	void *drain_arg;
};

static void maybe_drained(struct hvp_daemon *d);

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

static void
fwd_free(struct fwd *f)
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
		fwd_free(f);
	}
	maybe_drained(d);
}

static double
secs_since(uint64_t start)
{
	return (double)(hvc_now_ms() - start) / 1000.0;
}

/* A connection that never reached the relay: close the client now. */
static void
conn_fail(struct conn *c, const char *end, int err)
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

static void
on_connected(int err, hvs_sock_t sock, void *userdata)
{
	struct conn *c = userdata;
	struct hvp_daemon *d = c->fwd->d;
	hvs_relay_opts_t ro;
	int r;

	c->req = NULL;
	if (err != 0) {
		c->fwd->st.err_connect++;
		conn_fail(c,
		    err == HVS_ETIMEDOUT ? "connect-timeout" : "connect-failed",
		    err);
		return;
	}
	memset(&ro, 0, sizeof(ro));
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
		conn_fail(c, "error", r);
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

static char *
peer_str(const hvs_addr_t *peer)
{
	char buf[HVS_ADDR_STRLEN];

	if (peer == NULL || peer->kind == HVS_ADDR_NONE ||
	    hvs_addr_format(peer, buf, sizeof(buf)) < 0) {
		snprintf(buf, sizeof(buf), "-");
	}
	/* Unix peers are mostly unnamed: the empty path says nothing. */
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
	struct conn *c;
	int counted, r;

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
	counted = hvp_peer_key(peer, sock, &pkey);
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
		conn_fail(c,
		    r == HVS_ETIMEDOUT ? "connect-timeout" : "connect-failed",
		    r);
	}
}

static int
on_filter(const hvs_addr_t *peer, void *userdata)
{
	struct fwd *f = userdata;

	if (hvc_allow_match(&f->conf->allow, peer)) {
		return 1;
	}
	f->st.refused_allow++;
	log_refused(f->conf, peer, "reason=allowlist");
	return 0;
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

static int
fwd_bind(struct fwd *f)
{
	struct hvp_fwd_conf *fc = f->conf;
	hvs_listener_opts_t lo;
	hvs_sockopts_t so;
	uint32_t port;
	int r;

	memset(&lo, 0, sizeof(lo));
	lo.filter = on_filter;
	lo.on_error = on_accept_error;
	hvs_sockopts_init(&so);
	if (fc->listen.kind == HVS_ADDR_UNIX) {
		so.flags |= HVS_SOCK_UNLINK;
	}
	if (fc->listen.kind == HVS_ADDR_HVSOCK &&
	    (fc->listen.u.hvsock.vm_flags & HVS_VMID_F_WSL)) {
		r = hvp_wsl_listen(&f->wsl, f->d->base, &fc->listen, &lo,
		    f->d->cfg != NULL ? f->d->cfg->g.wsl_poll_ms
				      : HVP_DEF_WSL_POLL_MS,
		    on_accept, f);
	} else {
		r = hvs_listener_new(&f->listener, f->d->base, &fc->listen, &so,
		    &lo, on_accept, f);
	}
	if (r != 0) {
		hvp_err("forward %s: cannot listen on %s: %s", fc->name,
		    fc->listen_str, hvs_strerror(r));
		return -1;
	}
	f->unlink_path =
	    fc->listen.kind == HVS_ADDR_UNIX && !fc->listen.u.local.abstract;
	if (all_interfaces(&fc->listen)) {
		hvp_warn("forward %s: %s is exposed on all network interfaces "
			 "(write tcp:127.0.0.1:%u to keep it local)",
		    fc->name, fc->listen_str, (unsigned)fc->listen.u.tcp.port);
	}
	hvp_info("forward %s: listening on %s, target %s", fc->name,
	    fc->listen_str, fc->target_str);
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

static void
fwd_unbind(struct fwd *f)
{
	if (f->listener != NULL) {
		hvs_listener_destroy(f->listener);
		f->listener = NULL;
	}
	if (f->wsl != NULL) {
		hvp_wsl_free(f->wsl);
		f->wsl = NULL;
	}
	if (f->unlink_path) {
		/* Ours: created by the listener (fd: sockets are not). */
		if (unlink(f->conf->listen.u.local.path) != 0 &&
		    errno != ENOENT) {
			hvp_debug("cannot remove %s: %s",
			    f->conf->listen.u.local.path, strerror(errno));
		}
		f->unlink_path = 0;
	}
}

/* ---- the daemon ------------------------------------------------------- */

int
hvp_daemon_new(struct hvp_daemon **out, struct event_base *base)
{
	struct hvp_daemon *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		return -1;
	}
	d->base = base;
	*out = d;
	return 0;
}

/* Close everything at once (after a drain, or on a start-up failure). */
void
hvp_daemon_free(struct hvp_daemon *d)
{
	struct fwd *f, *next;

	if (d == NULL) {
		return;
	}
	d->drain_done = NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (f = pass == 0 ? d->fwds : d->retired; f != NULL;
		     f = next) {
			next = f->next;
			fwd_unbind(f);
			/* Closing a relay runs its done callback, which
			 * unlinks the connection; keep the forward alive
			 * meanwhile. */
			f->retired = 0;
			for (struct conn *c = f->conns, *cnext; c != NULL;
			     c = cnext) {
				cnext = c->next;
				if (c->relay != NULL) {
					hvs_relay_close(c->relay);
				} else {
					if (c->req != NULL) {
						hvs_connect_cancel(c->req);
						c->req = NULL;
					}
					conn_fail(c, "closed", 0);
				}
			}
			fwd_free(f);
		}
	}
	if (d->drain_ev != NULL) {
		event_free(d->drain_ev);
	}
	hvp_config_free(d->cfg);
	free(d);
}

const struct hvp_config *
hvp_daemon_config(const struct hvp_daemon *d)
{
	return d->cfg;
}

/* The global limit in force: as configured, or what the descriptor
 * limit allows (two descriptors per connection, some kept in reserve). */
/*
 * Descriptors: a connection holds two sockets, and a relay on the
 * zero-copy path up to two splice pipes more (one per direction, two
 * descriptors each) while bytes are in flight. The relay engine holds at
 * most HVS_PIPES_MAX pipes in use, and pooled ones only ever were in use
 * (a pipe is created only when the pool is empty), so the pipes of at
 * most max_splice relays take 4 * max_splice descriptors. Both counts are
 * sized together so that accept() never meets EMFILE below max-conns: the
 * listeners' accept() is then only refused by max-conns, at once.
 */
#define FD_RESERVE 64 /* listeners, log, metrics, notify, resolver... */
#define HVS_PIPES_MAX 512 /* IN_USE_MAX in lib/libhvsock/linux/splice.c */
#define SPLICE_MAX (HVS_PIPES_MAX / 2)

static void
fit_descriptors(const struct hvp_config *cfg, unsigned *max_conns,
    unsigned *max_splice)
{
	struct rlimit rl;
	unsigned long long avail, fit, conns, pipe_fds;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		avail = 1024 - FD_RESERVE;
	} else if (rl.rlim_cur == RLIM_INFINITY) {
		avail = (unsigned long long)HVP_MAX_CONNS_LIMIT * 2 +
		    SPLICE_MAX * 4;
	} else {
		avail = rl.rlim_cur > FD_RESERVE + 32 ? rl.rlim_cur - FD_RESERVE
						      : 32;
	}
	/* Automatic: a third of the descriptors for pipes (at most what the
	 * engine uses), the rest for sockets. */
	pipe_fds = avail / 3;
	if (pipe_fds > SPLICE_MAX * 4) {
		pipe_fds = SPLICE_MAX * 4;
	}
	fit = (avail - pipe_fds) / 2;
	if (fit > HVP_MAX_CONNS_LIMIT) {
		fit = HVP_MAX_CONNS_LIMIT;
	}
	conns = fit;
	if (cfg->g.max_conns != 0) {
		conns = cfg->g.max_conns;
		if (conns > avail / 2) {
			hvp_warn("max-conns %u is more than the descriptor "
				 "limit allows (about %llu; raise "
				 "LimitNOFILE= / ulimit -n)",
			    cfg->g.max_conns, avail / 2);
		} else if (conns > fit) {
			hvp_info("max-conns %u leaves descriptors for the "
				 "splice pipes of %llu relays; the others copy",
			    cfg->g.max_conns, (avail - 2 * conns) / 4);
		}
	}
	pipe_fds = avail > 2 * conns ? avail - 2 * conns : 0;
	*max_conns = (unsigned)conns;
	*max_splice =
	    (unsigned)(pipe_fds / 4 > SPLICE_MAX ? SPLICE_MAX : pipe_fds / 4);
}

int
hvp_daemon_apply(struct hvp_daemon *d, struct hvp_config *cfg, int initial)
{
	struct fwd **nf;
	struct fwd *f, *next, **tail;
	size_t kept = 0, added = 0, removed = 0;
	int failed = 0;

	nf = calloc(cfg->nfwds == 0 ? 1 : cfg->nfwds, sizeof(*nf));
	if (nf == NULL) {
		hvp_err("out of memory");
		return -1;
	}
	/* A forward whose listen address stays keeps its listener (and its
	 * counters), whatever its name or other settings become. */
	for (size_t i = 0; i < cfg->nfwds; i++) {
		for (f = d->fwds; f != NULL; f = f->next) {
			int taken = 0;

			for (size_t j = 0; j < i; j++) {
				taken |= nf[j] == f;
			}
			if (!taken &&
			    hvs_addr_equal(&f->conf->listen,
				&cfg->fwds[i]->listen)) {
				nf[i] = f;
				break;
			}
		}
	}
	/* Bind every new listener before anything changes. */
	for (size_t i = 0; i < cfg->nfwds && !failed; i++) {
		if (nf[i] != NULL) {
			continue;
		}
		f = calloc(1, sizeof(*f));
		if (f == NULL) {
			hvp_err("out of memory");
			failed = 1;
			break;
		}
		f->d = d;
		f->conf = hvp_fwd_conf_ref(cfg->fwds[i]);
		f->st.listening = 1;
		f->retired = 1; /* not in any list yet: mark as new */
		nf[i] = f;
		if (fwd_bind(f) != 0) {
			failed = 1;
		}
	}
	if (failed) {
		for (size_t i = 0; i < cfg->nfwds; i++) {
			if (nf[i] != NULL && nf[i]->retired) {
				fwd_unbind(nf[i]);
				fwd_free(nf[i]);
			}
		}
		free(nf);
		if (!initial) {
			hvp_err("reload failed: keeping the configuration in "
				"force");
		}
		return -1;
	}

	/* Commit. */
	for (size_t i = 0; i < cfg->nfwds; i++) {
		f = nf[i];
		if (f->retired) {
			f->retired = 0;
			added++;
		} else {
			hvp_fwd_conf_unref(f->conf);
			f->conf = hvp_fwd_conf_ref(cfg->fwds[i]);
			f->retired = 2; /* kept: marked for the sweep below */
			kept++;
		}
	}
	for (f = d->fwds; f != NULL; f = next) {
		next = f->next;
		if (f->retired == 2) {
			continue;
		}
		removed++;
		hvp_info("forward %s: removed (%u connection%s stay open)",
		    f->conf->name, f->nconns, f->nconns == 1 ? "" : "s");
		fwd_unbind(f);
		f->st.listening = 0;
		if (f->nconns == 0) {
			fwd_free(f);
		} else {
			f->retired = 1;
			f->next = d->retired;
			d->retired = f;
		}
	}
	d->fwds = NULL;
	tail = &d->fwds;
	for (size_t i = 0; i < cfg->nfwds; i++) {
		nf[i]->retired = 0;
		nf[i]->next = NULL;
		*tail = nf[i];
		tail = &nf[i]->next;
	}
	free(nf);

	hvp_config_free(d->cfg);
	d->cfg = cfg;
	fit_descriptors(cfg, &d->max_conns, &d->max_splice);
	hvp_debug("descriptors: max-conns %u, splice pipes for %u relays",
	    d->max_conns, d->max_splice);
	if (!initial) {
		hvp_warn("reloaded %s: %zu forward%s (%zu added, %zu removed, "
			 "%zu kept); %u connection%s open",
		    cfg->file != NULL ? cfg->file : "the configuration",
		    cfg->nfwds, cfg->nfwds == 1 ? "" : "s", added, removed,
		    kept, d->nconns, d->nconns == 1 ? "" : "s");
	}
	return 0;
}

void
hvp_daemon_count_reload(struct hvp_daemon *d, int ok)
{
	if (ok) {
		d->reloads++;
	} else {
		d->reload_failures++;
	}
}

/* ---- drain ------------------------------------------------------------ */

static void
maybe_drained(struct hvp_daemon *d)
{
	void (*done)(void *) = d->drain_done;

	if (d->draining && d->nconns == 0 && done != NULL) {
		d->drain_done = NULL;
		done(d->drain_arg);
	}
}

/* Close whatever is still open (the flush grace is over). */
static void
drain_close(struct hvp_daemon *d)
{
	struct fwd *f, *fnext;

	for (int pass = 0; pass < 2; pass++) {
		for (f = pass == 0 ? d->fwds : d->retired; f != NULL;
		     f = fnext) {
			struct conn *c, *cnext;

			fnext = f->next;
			for (c = f->conns; c != NULL; c = cnext) {
				cnext = c->next;
				if (c->relay != NULL) {
					hvp_warn("forward %s: closing %s "
						 "with bytes still queued",
					    c->conf->name, c->peer);
					hvs_relay_close(c->relay);
				}
			}
		}
	}
}

/* Stop reading, write out what was read, then end (--drain-timeout is
 * over). Connects still pending are abandoned. */
static void
drain_flush(struct hvp_daemon *d)
{
	struct fwd *f, *fnext;

	d->draining = 2;
	for (int pass = 0; pass < 2; pass++) {
		for (f = pass == 0 ? d->fwds : d->retired; f != NULL;
		     f = fnext) {
			struct conn *c, *cnext;

			fnext = f->next;
			for (c = f->conns; c != NULL; c = cnext) {
				cnext = c->next;
				if (c->req != NULL) {
					hvs_connect_cancel(c->req);
					c->req = NULL;
					conn_fail(c, "drain-timeout", 0);
				} else if (c->relay != NULL && !c->drained) {
					c->drained = 1;
					hvs_relay_drain(c->relay);
				}
			}
		}
	}
}

static void
drain_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hvp_daemon *d = arg;
	struct timeval tv = {HVP_FLUSH_GRACE_MS / 1000,
	    (HVP_FLUSH_GRACE_MS % 1000) * 1000};

	if (d->draining == 1) {
		hvp_warn("drain timeout: %u connection%s still open; writing "
			 "out what they have read",
		    d->nconns, d->nconns == 1 ? "" : "s");
		drain_flush(d);
		if (d->nconns > 0) {
			evtimer_add(d->drain_ev, &tv);
		}
	} else {
		drain_close(d);
	}
}

void
hvp_daemon_drain(struct hvp_daemon *d, void (*done)(void *), void *arg)
{
	int ms = d->cfg != NULL ? d->cfg->g.drain_timeout_ms : 0;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (d->draining) {
		/* Asked again: skip the wait. */
		if (d->drain_ev != NULL) {
			evtimer_del(d->drain_ev);
			drain_timer(-1, 0, d);
		}
		return;
	}
	d->draining = 1;
	d->drain_done = done;
	d->drain_arg = arg;
	for (struct fwd *f = d->fwds; f != NULL; f = f->next) {
		fwd_unbind(f);
		f->st.listening = 0;
	}
	if (d->nconns == 0) {
		maybe_drained(d);
		return;
	}
	hvp_warn("stopping: no longer accepting; waiting up to %d.%03d s "
		 "for %u connection%s",
	    ms / 1000, ms % 1000, d->nconns, d->nconns == 1 ? "" : "s");
	d->drain_ev = evtimer_new(d->base, drain_timer, d);
	if (d->drain_ev == NULL) {
		drain_flush(d);
		return;
	}
	evtimer_add(d->drain_ev, &tv);
}

/* ---- metrics ---------------------------------------------------------- */

static void
fwd_snapshot(const struct fwd *f, struct hvp_fwd_stats *st)
{
	*st = f->st;
	st->name = f->conf->name;
	st->listen = f->conf->listen_str;
	st->target = f->conf->target_str;
	st->open = f->nconns;
	st->peers = (unsigned)hvp_peers_size(&f->peers);
	/* Bytes of open connections count as they move. */
	for (const struct conn *c = f->conns; c != NULL; c = c->next) {
		hvs_relay_stats_t rs;

		if (c->relay != NULL) {
			hvs_relay_get_stats(c->relay, &rs);
			st->bytes_up += rs.bytes_a_to_b;
			st->bytes_down += rs.bytes_b_to_a;
		}
	}
}

void
hvp_daemon_foreach(const struct hvp_daemon *d,
    void (*fn)(const struct hvp_fwd_stats *st, void *arg), void *arg)
{
	struct hvp_fwd_stats st;

	for (int pass = 0; pass < 2; pass++) {
		for (const struct fwd *f = pass == 0 ? d->fwds : d->retired;
		     f != NULL; f = f->next) {
			fwd_snapshot(f, &st);
			fn(&st, arg);
		}
	}
}

void
hvp_daemon_totals(const struct hvp_daemon *d, unsigned *open,
    unsigned *max_conns, uint64_t *reloads, uint64_t *reload_failures)
{
	*open = d->nconns;
	*max_conns = d->max_conns;
	*reloads = d->reloads;
	*reload_failures = d->reload_failures;
}
