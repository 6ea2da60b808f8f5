/*
 * The configuration in force, as text: what `hvproxy --check` prints after
 * the file, [global] and the command line have been merged, so that a user
 * sees the limits and timeouts each forward really gets, not only the ones
 * written next to it. Every value is written the way the file takes it
 * (500ms, 10m, 1h; 64k, 1m), so a line can be copied back into a file.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hvproxy.h"

int
hvp_format_duration(int ms, char *buf, size_t size)
{
	int n;

	if (ms == 0) {
		n = snprintf(buf, size, "0");
	} else if (ms % 3600000 == 0) {
		n = snprintf(buf, size, "%dh", ms / 3600000);
	} else if (ms % 60000 == 0) {
		n = snprintf(buf, size, "%dm", ms / 60000);
	} else if (ms % 1000 == 0) {
		n = snprintf(buf, size, "%ds", ms / 1000);
	} else {
		n = snprintf(buf, size, "%dms", ms);
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
hvp_format_size(size_t bytes, char *buf, size_t size)
{
	int n;

	if (bytes != 0 && bytes % (1024u * 1024u) == 0) {
		n = snprintf(buf, size, "%zum", bytes / (1024u * 1024u));
	} else if (bytes != 0 && bytes % 1024u == 0) {
		n = snprintf(buf, size, "%zuk", bytes / 1024u);
	} else {
		n = snprintf(buf, size, "%zu", bytes);
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
hvp_format_allow(const struct hvp_allow *a, char *buf, size_t size)
{
	char s[INET6_ADDRSTRLEN];
	int n;

	switch (a->kind) {
	case HVP_ALLOW_CID:
		n = snprintf(buf, size, "cid:%lu", (unsigned long)a->cid);
		break;
	case HVP_ALLOW_VMID:
		if (size < HVS_GUID_STRLEN) {
			return -1;
		}
		hvs_guid_format(&a->vmid, buf);
		return 0;
	case HVP_ALLOW_NET4:
	case HVP_ALLOW_NET6:
		if (inet_ntop(a->kind == HVP_ALLOW_NET4 ? AF_INET : AF_INET6,
			a->net, s, sizeof(s)) == NULL) {
			return -1;
		}
		n = snprintf(buf, size, "%s/%u", s, a->prefix);
		break;
	default:
		return -1;
	}
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void
describe_fwd(const struct hvp_fwd_conf *fc, FILE *out)
{
	const struct hvp_fwd_defaults *l = &fc->lim;
	char ct[32], it[32], buf[32], a[HVS_ADDR_STRLEN];

	hvp_format_duration(l->connect_timeout_ms, ct, sizeof(ct));
	hvp_format_duration(l->idle_timeout_ms, it, sizeof(it));
	hvp_format_size(l->buffer, buf, sizeof(buf));
	fprintf(out, "  %s: %s -> %s\n", fc->name, fc->listen_str,
	    fc->target_str);
	fprintf(out, "      max-conns %u%s, max-conns-per-peer %u%s\n",
	    l->max_conns, l->max_conns == 0 ? " (only the global limit)" : "",
	    l->max_conns_peer, l->max_conns_peer == 0 ? " (none)" : "");
	fprintf(out, "      connect-timeout %s, idle-timeout %s%s, buffer %s\n",
	    ct, it, l->idle_timeout_ms == 0 ? " (never)" : "", buf);
	if (!fc->has_allow) {
		fprintf(out, "      allow: every peer\n");
		return;
	}
	fprintf(out, "      allow:");
	for (size_t i = 0; i < fc->nallow; i++) {
		if (hvp_format_allow(&fc->allow[i], a, sizeof(a)) != 0) {
			snprintf(a, sizeof(a), "?");
		}
		fprintf(out, "%s %s", i > 0 ? "," : "", a);
	}
	fprintf(out, "%s\n", fc->nallow == 0 ? " no peer" : "");
}

void
hvp_config_describe(const struct hvp_config *c, FILE *out)
{
	const struct hvp_globals *g = &c->g;
	char dt[32], wp[32];

	hvp_format_duration(g->drain_timeout_ms, dt, sizeof(dt));
	hvp_format_duration(g->wsl_poll_ms, wp, sizeof(wp));
	fprintf(out, "%s: configuration OK, %zu forward%s\n",
	    c->file != NULL ? c->file : "command line", c->nfwds,
	    c->nfwds == 1 ? "" : "s");
	for (size_t i = 0; i < c->nfwds; i++) {
		describe_fwd(c->fwds[i], out);
	}
	fprintf(out, "  global: max-conns %u%s, drain-timeout %s\n",
	    g->max_conns,
	    g->max_conns == 0 ? " (fit the descriptor limit)" : "", dt);
	fprintf(out, "      log-level %s, syslog %s, metrics %s\n",
	    hvp_log_level_name(g->log_level), g->use_syslog ? "yes" : "no",
	    g->metrics != NULL ? g->metrics : "-");
	fprintf(out, "      user %s, pidfile %s, wsl-poll %s\n",
	    g->user != NULL ? g->user : "-",
	    g->pidfile != NULL ? g->pidfile : "-", wp);
}
