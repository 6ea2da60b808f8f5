/* SPDX-License-Identifier: MIT */
/*
 * Zero-copy backend for systems without splice(2) (FreeBSD, macOS, ...):
 * there is none, so the relay always takes its read/write path. See
 * loop/zcopy.h.
 */
#include <stddef.h>

#include "internal.h"
#include "loop/zcopy.h"

int
hvs__zc_available(void)
{
	return 0;
}

int
hvs__zc_pipe_get(hvs__zc_pipe_t **out)
{
	*out = NULL;
	return HVS_ENOTSUP;
}

void
hvs__zc_pipe_put(hvs__zc_pipe_t *p, int empty)
{
	(void)p;
	(void)empty;
}

int
hvs__zc_splice(int from, int to, size_t len, size_t *moved)
{
	(void)from;
	(void)to;
	(void)len;
	*moved = 0;
	return HVS_ENOTSUP;
}

int
hvs__zc_fd_ok(int fd)
{
	(void)fd;
	return 0;
}

void
hvs__zc_pool_counts(uint64_t *in_use, uint64_t *pooled)
{
	*in_use = 0;
	*pooled = 0;
}

void
hvs__zc_pool_flush(void)
{
}
