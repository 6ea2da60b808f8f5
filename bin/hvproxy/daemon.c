/* SPDX-License-Identifier: MIT */
/*
 * The daemon: every forward of the configuration in force, and the
 * forwards a reload removed while their connections go on ("retired").
 * A reload keeps the listeners whose address stays, binds the new ones
 * before anything changes and keeps the old configuration if one fails;
 * a drain (SIGTERM) stops accepting, lets connections finish for the
 * drain timeout, then writes out what they have read; the counters are
 * what the metrics endpoint shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "forward.h"
#include "metrics.h"
#include "os.h"

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
			hvp_fwd_unbind(f);
			/* Closing a relay runs its done callback, which
			 * unlinks the connection; keep the forward alive
			 * meanwhile. */
			f->retired = 0;
			for (struct conn *c = f->conns, *cnext; c != NULL;
			     c = cnext) {
				cnext = c->next;
				if (c->relay != NULL) {
					hvs_relay_destroy(c->relay);
				} else {
					if (c->req != NULL) {
						hvs_connect_cancel(c->req);
						c->req = NULL;
					}
					hvp_conn_fail(c, "closed", 0);
				}
			}
			hvp_fwd_free(f);
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
/* Listeners, log, notify, resolver...; and the metrics endpoint's own
 * (its connections are capped: metrics.c), kept whether it is enabled or
 * not, so that a reload that enables it finds them free. */
#define FD_RESERVE (64 + HVP_METRICS_FDS)
#define HVS_PIPES_MAX 512 /* IN_USE_MAX in lib/libhvsock/linux/splice.c */
#define SPLICE_MAX (HVS_PIPES_MAX / 2)

static void
fit_descriptors(const struct hvp_config *cfg, unsigned *max_conns,
    unsigned *max_splice)
{
	unsigned long long avail, fit, conns, pipe_fds, reserve, lim;
	int r;

	/* Each forward's listening socket is a descriptor too: with
	 * hundreds of forwards they outgrow any fixed reserve. */
	reserve = FD_RESERVE + (unsigned long long)cfg->nfwds;
	r = hvp_os_fd_limit(&lim);
	if (r < 0) {
		lim = 1024;
	} else if (r > 0) {
		lim = reserve + (unsigned long long)HVP_MAX_CONNS_LIMIT * 2 +
		    SPLICE_MAX * 4;
	}
	if (lim >= reserve + 32) {
		avail = lim - reserve;
	} else {
		avail = 32;
		hvp_warn("the descriptor limit %llu leaves almost none for "
			 "connections beside %zu listener%s and the reserve "
			 "of %d (%s)",
		    lim, cfg->nfwds, cfg->nfwds == 1 ? "" : "s", FD_RESERVE,
		    hvp_os_fd_limit_hint());
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
				 "limit allows (about %llu; %s)",
			    cfg->g.max_conns, avail / 2,
			    hvp_os_fd_limit_hint());
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

/* ---- reload: which forwards stay ----------------------------------- */

static int
cmp_num(unsigned long long x, unsigned long long y)
{
	return (x > y) - (x < y);
}

static int
cmp_guid(const hvs_guid_t *a, const hvs_guid_t *b)
{
	int c = cmp_num(a->data1, b->data1);

	if (c == 0) {
		c = cmp_num(a->data2, b->data2);
	}
	if (c == 0) {
		c = cmp_num(a->data3, b->data3);
	}
	if (c == 0) {
		c = memcmp(a->data4, b->data4, sizeof(a->data4));
	}
	return c;
}

/*
 * A total order on addresses over the fields hvs_addr_equal() compares,
 * so that equal addresses sort next to each other (0 for every equal
 * pair; the reverse need not hold, and matching asks hvs_addr_equal()).
 */
static int
addr_cmp(const hvs_addr_t *a, const hvs_addr_t *b)
{
	int c = cmp_num(a->kind, b->kind);

	if (c != 0) {
		return c;
	}
	switch (a->kind) {
	case HVS_ADDR_VSOCK:
		c = cmp_num(a->u.vsock.cid, b->u.vsock.cid);
		return c != 0 ? c : cmp_num(a->u.vsock.port, b->u.vsock.port);
	case HVS_ADDR_HVSOCK: {
		unsigned fa = a->u.hvsock.vm_flags & HVS_VMID_F_WSL;
		unsigned fb = b->u.hvsock.vm_flags & HVS_VMID_F_WSL;

		c = cmp_num(fa, fb);
		if (c == 0) {
			c = cmp_guid(&a->u.hvsock.service_id,
			    &b->u.hvsock.service_id);
		}
		/* A WSL VM id is resolved when used: vm_id means nothing. */
		if (c == 0 && fa == 0) {
			c = cmp_guid(&a->u.hvsock.vm_id, &b->u.hvsock.vm_id);
		}
		return c;
	}
	case HVS_ADDR_TCP:
		c = cmp_num(a->u.tcp.port, b->u.tcp.port);
		return c != 0 ? c
			      : strncmp(a->u.tcp.host, b->u.tcp.host,
				    sizeof(a->u.tcp.host));
	case HVS_ADDR_UNIX:
		c = cmp_num(!!a->u.local.abstract, !!b->u.local.abstract);
		if (c != 0) {
			return c;
		}
		if (a->u.local.abstract) {
			size_t n = a->u.local.len;

			c = cmp_num(a->u.local.len, b->u.local.len);
			if (c != 0) {
				return c;
			}
			return memcmp(a->u.local.path, b->u.local.path,
			    n < HVS_PATH_MAX ? n : HVS_PATH_MAX);
		}
		return strncmp(a->u.local.path, b->u.local.path, HVS_PATH_MAX);
	case HVS_ADDR_FD:
		return cmp_num((unsigned)a->u.fd.fd, (unsigned)b->u.fd.fd);
	default:
		return 0;
	}
}

/* A forward, old or new, in the sorted lists that match them up. */
struct slot {
	const hvs_addr_t *addr;
	size_t pos; /* in the list or the configuration: breaks ties */
	struct fwd *f; /* the running forward (old slots only) */
};

static int
slot_cmp(const void *x, const void *y)
{
	const struct slot *a = x, *b = y;
	int c = addr_cmp(a->addr, b->addr);

	return c != 0 ? c : cmp_num(a->pos, b->pos);
}

/*
 * Set nf[i] to the running forward that keeps its listener for
 * cfg->fwds[i]: one whose listen address is the same, each taken once,
 * the first in list order for the first in configuration order. Both
 * sides are sorted by address and walked once, so that a reload costs
 * n log n whatever the number of forwards (matching each new forward
 * against every old one made it cubic). -1 if out of memory.
 */
static int
match_kept(const struct hvp_daemon *d, const struct hvp_config *cfg,
    struct fwd **nf)
{
	struct slot *old, *new;
	size_t nold = 0, i, j;

	for (struct fwd *f = d->fwds; f != NULL; f = f->next) {
		nold++;
	}
	if (nold == 0 || cfg->nfwds == 0) {
		return 0;
	}
	old = calloc(nold, sizeof(*old));
	new = calloc(cfg->nfwds, sizeof(*new));
	if (old == NULL || new == NULL) {
		free(old);
		free(new);
		return -1;
	}
	i = 0;
	for (struct fwd *f = d->fwds; f != NULL; f = f->next, i++) {
		old[i].addr = &f->conf->listen;
		old[i].pos = i;
		old[i].f = f;
	}
	for (i = 0; i < cfg->nfwds; i++) {
		new[i].addr = &cfg->fwds[i]->listen;
		new[i].pos = i;
	}
	qsort(old, nold, sizeof(*old), slot_cmp);
	qsort(new, cfg->nfwds, sizeof(*new), slot_cmp);
	for (i = 0, j = 0; i < nold && j < cfg->nfwds;) {
		int c = addr_cmp(old[i].addr, new[j].addr);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			if (hvs_addr_equal(old[i].addr, new[j].addr)) {
				nf[new[j].pos] = old[i].f;
			}
			i++;
			j++;
		}
	}
	free(old);
	free(new);
	return 0;
}

int
hvp_daemon_apply(struct hvp_daemon *d, struct hvp_config *cfg, int initial)
{
	struct fwd **nf;
	struct fwd *f, *next, **tail;
	size_t kept = 0, added = 0, removed = 0;
	int failed = 0;

	if (d->draining) {
		/* Nothing listens once a drain began: never bind again. */
		hvp_err("reload refused: draining");
		return -1;
	}
	nf = calloc(cfg->nfwds == 0 ? 1 : cfg->nfwds, sizeof(*nf));
	/* A forward whose listen address stays keeps its listener (and its
	 * counters), whatever its name or other settings become. */
	if (nf == NULL || match_kept(d, cfg, nf) != 0) {
		free(nf);
		hvp_err("out of memory");
		return -1;
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
		if (hvp_fwd_bind(f, cfg) != 0) {
			failed = 1;
		}
	}
	if (failed) {
		for (size_t i = 0; i < cfg->nfwds; i++) {
			if (nf[i] != NULL && nf[i]->retired) {
				hvp_fwd_unbind(nf[i]);
				hvp_fwd_free(nf[i]);
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
			if (f->wsl != NULL) {
				hvp_wsl_set_poll(f->wsl, cfg->g.wsl_poll_ms);
			}
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
		hvp_fwd_unbind(f);
		f->st.listening = 0;
		if (f->nconns == 0) {
			hvp_fwd_free(f);
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

void
hvp_daemon_maybe_drained(struct hvp_daemon *d)
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
					hvs_relay_destroy(c->relay);
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
					hvp_conn_fail(c, "drain-timeout", 0);
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
		hvp_fwd_unbind(f);
		f->st.listening = 0;
	}
	if (d->nconns == 0) {
		hvp_daemon_maybe_drained(d);
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
			hvs_relay_stats(c->relay, &rs);
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
