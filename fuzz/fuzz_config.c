/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: hvproxy's configuration file parser (bin/hvproxy/
 * conf_file.c and config.c: inih, the [global] and [forward NAME] keys,
 * addresses, --user specs, the metrics address and the checks across
 * forwards; the numbers, sizes, durations and allowlists of bin/common).
 *
 * The input is the file's content, arbitrary bytes (NULs included), parsed
 * by hvp_config_load() through the same reader as a real file (fmemopen()
 * instead of fopen(): struct hvp_cmdline's text). What must hold, each
 * checked with abort():
 *
 *  - the parser reads nothing outside the input and frees all it took
 *    (ASan, LeakSanitizer);
 *  - either a configuration and no error, or NULL and at least one error,
 *    each a non-empty line of text;
 *  - a configuration has forwards, each with a name, a listen and a target
 *    address, their text forms, positive time-outs and a buffer size;
 *    every allowlist entry matches the kind of the listen address;
 *  - the answer is deterministic: a second parse gives the same errors
 *    (same count, same text) and the same forwards (inputs up to 256
 *    bytes, to keep the run fast).
 *
 * Only what depends on the machine is replaced (at the end of this file):
 * whether an fd:N listen address is an open listening socket, and its
 * kind, are decided from N, so that both answers are reachable and every
 * run gives the same result; where a tcp address binds is read from
 * numeric hosts, '*' and localhost only (no lookup: other names do not
 * resolve); whether this platform can open an address at all is
 * answered as on a system without abstract unix names (unix:@NAME
 * refused, everything else accepted), so both answers are reachable.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hvproxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                                    \
	do {                                           \
		if (!(cond)) {                         \
			check_failed(#cond, __LINE__); \
		}                                      \
	} while (0)

static void
check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_config.c:%d: check failed: %s\n", line, what);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The parser's warnings (e.g. a max-conns above the limit) would
	 * flood the fuzzer's output. */
	hvp_log_init(HVP_LOG_ERROR);
	return 0;
}

static struct hvp_config *
load(const uint8_t *data, size_t size, struct hvp_errors *errs)
{
	struct hvp_cmdline cl;

	memset(&cl, 0, sizeof(cl));
	memset(errs, 0, sizeof(*errs));
	cl.file = "fuzz.conf";
	cl.text = (const char *)data;
	cl.text_len = size;
	return hvp_config_load(&cl, errs);
}

static void
check_config(const struct hvp_config *c)
{
	CHECK(c->nfwds > 0);
	for (size_t i = 0; i < c->nfwds; i++) {
		const struct hvp_fwd_conf *fc = c->fwds[i];

		CHECK(fc != NULL && fc->name != NULL && fc->name[0] != '\0');
		CHECK(fc->listen.kind != HVS_ADDR_NONE);
		CHECK(fc->target.kind != HVS_ADDR_NONE);
		CHECK(fc->listen_str != NULL && fc->target_str != NULL);
		CHECK(fc->lim.connect_timeout_ms > 0);
		CHECK(fc->lim.idle_timeout_ms >= 0);
		CHECK(fc->lim.buffer > 0);
		for (size_t j = 0; j < fc->allow.n; j++) {
			enum hvc_allow_kind a = fc->allow.v[j].kind;

			switch (fc->listen.kind) {
			case HVS_ADDR_VSOCK:
			case HVS_ADDR_HVSOCK:
				CHECK(
				    a == HVC_ALLOW_CID || a == HVC_ALLOW_VMID);
				break;
			case HVS_ADDR_TCP:
				CHECK(
				    a == HVC_ALLOW_NET4 || a == HVC_ALLOW_NET6);
				break;
			case HVS_ADDR_UNIX:
				CHECK(a == HVC_ALLOW_UID);
				break;
			default: /* fd:N: the socket's kind decides */
				break;
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvp_errors e1, e2;
	struct hvp_config *c1, *c2 = NULL;

	/* Far beyond any real file, and each pass re-reads the input. */
	if (size > 16384) {
		return -1;
	}
	c1 = load(data, size, &e1);
	CHECK((c1 == NULL) == (e1.n > 0));
	for (size_t i = 0; i < e1.n; i++) {
		CHECK(e1.msg[i] != NULL && e1.msg[i][0] != '\0');
	}
	if (c1 != NULL) {
		check_config(c1);
	}
	/* Deterministic: the same errors, the same forwards. Checked on
	 * short inputs only, where it costs least (a parse is the run). */
	if (size <= 256) {
		c2 = load(data, size, &e2);
		CHECK((c2 == NULL) == (c1 == NULL));
		CHECK(e1.n == e2.n);
		for (size_t i = 0; i < e1.n; i++) {
			CHECK(strcmp(e1.msg[i], e2.msg[i]) == 0);
		}
		for (size_t i = 0; c1 != NULL && i < c1->nfwds; i++) {
			CHECK(c1->nfwds == c2->nfwds);
			CHECK(
			    strcmp(c1->fwds[i]->name, c2->fwds[i]->name) == 0);
			CHECK(hvs_addr_equal(&c1->fwds[i]->listen,
			    &c2->fwds[i]->listen));
			CHECK(hvs_addr_equal(&c1->fwds[i]->target,
			    &c2->fwds[i]->target));
		}
		hvp_config_free(c2);
		hvp_errors_free(&e2);
	}
	hvp_config_free(c1);
	hvp_errors_free(&e1);
	return 0;
}

/* ---- what depends on the machine -------------------------------------- */

int
hvp_sd_check_fd(int fd, const char **why)
{
	if (fd < 0 || fd % 2 != 0) {
		*why = "is not an open descriptor (fuzz: odd numbers are)";
		return -1;
	}
	return 0;
}

int
hvs_sock_kind(hvs_sock_t s, hvs_addr_kind_t *kind)
{
	static const hvs_addr_kind_t kinds[] = {HVS_ADDR_TCP, HVS_ADDR_UNIX,
	    HVS_ADDR_VSOCK, HVS_ADDR_HVSOCK};

	if ((int)s % 10 == 8) {
		return HVS_EBADF;
	}
	*kind = kinds[((unsigned)s / 2) % 4];
	return 0;
}

int
hvp_wsl_supported(void)
{
	return 0;
}

int
hvp_tcp_bind_addr(const char *host, uint16_t port, int listen,
    struct hvp_bind_addr *out, char *why, size_t size)
{
	memset(out, 0, sizeof(*out));
	out->port = port;
	if (strcmp(host, "*") == 0 && listen) {
		out->family = AF_INET;
		return 0;
	}
	if (strcmp(host, "localhost") == 0) {
		host = "127.0.0.1";
	}
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	snprintf(why, size, "cannot resolve '%s' (fuzz: names do not)", host);
	return -1;
}

int
hvs_addr_check(const hvs_addr_t *addr, hvs_role_t role)
{
	if (addr->kind == HVS_ADDR_UNIX && addr->u.local.abstract) {
		return HVS_EUNIX_ABSTRACT;
	}
	if (addr->kind == HVS_ADDR_VSOCK_MUX && role == HVS_ROLE_LISTEN) {
		return HVS_EMUX_LISTEN;
	}
	return 0;
}
