/* SPDX-License-Identifier: MIT */
/*
 * The configuration in force, as text: what `hvproxy --check` prints after
 * the file, [global] and the command line have been merged, so that a user
 * sees the limits and timeouts each forward really gets, not only the ones
 * written next to it. Every value is written the way the file takes it
 * (500ms, 10m, 1h; 64k, 1m), so a line can be copied back into a file.
 */
#include <stdio.h>
#include <string.h>

#include "hvproxy.h"

static void
describe_fwd(const struct hvp_fwd_conf *fc, FILE *out)
{
	const struct hvp_fwd_defaults *l = &fc->lim;
	char ct[32], it[32], buf[32], a[HVS_ADDR_STRLEN];

	hvc_format_duration(l->connect_timeout_ms, ct, sizeof(ct));
	hvc_format_duration(l->idle_timeout_ms, it, sizeof(it));
	hvc_format_size(l->buffer, buf, sizeof(buf));
	fprintf(out, "  %s: %s -> %s\n", fc->name, fc->listen_str,
	    fc->target_str);
	fprintf(out, "      max-conns %u%s, max-conns-per-peer %u%s\n",
	    l->max_conns, l->max_conns == 0 ? " (only the global limit)" : "",
	    l->max_conns_peer, l->max_conns_peer == 0 ? " (none)" : "");
	fprintf(out, "      connect-timeout %s, idle-timeout %s%s, buffer %s\n",
	    ct, it, l->idle_timeout_ms == 0 ? " (never)" : "", buf);
	if (!fc->allow.given) {
		fprintf(out, "      allow: every peer\n");
		return;
	}
	fprintf(out, "      allow:");
	for (size_t i = 0; i < fc->allow.n; i++) {
		if (hvc_allow_format(&fc->allow.v[i], a, sizeof(a)) != 0) {
			snprintf(a, sizeof(a), "?");
		}
		fprintf(out, "%s %s", i > 0 ? "," : "", a);
	}
	fprintf(out, "%s\n", fc->allow.n == 0 ? " no peer" : "");
}

void
hvp_config_describe(const struct hvp_config *c, FILE *out)
{
	const struct hvp_globals *g = &c->g;
	char dt[32], wp[32];

	hvc_format_duration(g->drain_timeout_ms, dt, sizeof(dt));
	hvc_format_duration(g->wsl_poll_ms, wp, sizeof(wp));
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
	if (g->log_file != NULL) {
		fprintf(out, "      log-file %s\n", g->log_file);
	}
}
