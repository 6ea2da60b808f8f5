/* SPDX-License-Identifier: MIT */
/*
 * The relay engine: two endpoints, two directions, one event loop.
 *
 * Shape (le-proxy's two symmetric halves, relayd's bookkeeping, nc's
 * half-close rules): a relay holds two "directions", each moving bytes
 * from one descriptor (src) to another (dst) with a read event on src and
 * a write event on dst. Plain struct events are used instead of
 * bufferevents so that an idle relay costs only its own object: no buffer,
 * no pipe, two descriptors.
 *
 * Bytes in flight sit either in a pipe (zero-copy: splice from src into
 * the pipe, splice from the pipe into dst; see zcopy.h) or in a copy
 * buffer (read/write). Both are taken from process-wide pools only while
 * bytes are queued and given back as soon as the direction drains. At most
 * one of the two holds bytes at a time, which keeps the order of the
 * stream without bookkeeping; the only exception is the fallback from
 * splice to copy, where the pipe is emptied into the buffer from the front.
 * A direction starts on the copy path and takes the pipe once it carries a
 * bulk stream (ZC_ASK_BYTES), at a moment its copy buffer is empty.
 *
 * Half-close: an EOF from src is passed on as shutdown(dst, SHUT_WR) only
 * once everything read from src was written; the other direction keeps
 * flowing; the relay ends when both directions have finished. A stream
 * that loses bytes (an error, a reset, a relay closed with bytes queued)
 * is reset, never ended with a FIN, so that no peer mistakes a truncated
 * stream for a complete one.
 *
 * A dst whose shutdown(SHUT_WR) sends no FIN (FreeBSD's AF_HYPERV, or a
 * side the application names with HVS_RELAY_A_NO_FIN/HVS_RELAY_B_NO_FIN)
 * learns of the EOF only when it is closed, and closing it ends the other
 * direction too. So after such an EOF the relay keeps the other direction
 * flowing (the peer may still answer, unaware that its input ended) and
 * then closes both: at once when the peer ends its direction, or after
 * that direction stayed idle for eof_close_ms, counted from its last byte
 * (the "fin wait"). Everything read is written first (a drain), and both
 * ends get a plain close: the relay cannot tell a finished answer from a
 * cut one, and takes the silence for the end, as socat does with -t (after
 * half a second, by default, whether bytes are still coming or not). Only
 * the descriptor's family is asked, and only where the platform's
 * hypervisor sockets send no FIN (hvs__hv_shutdown_sends_fin()), at the
 * moment an EOF is passed on: elsewhere a connection pays nothing for it.
 *
 * Every callback works on the relay and ends with relay_settle(), the one
 * place that may end (and free) it: nothing touches the relay after that.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include <hvsock/loop.h>

#include "internal.h"
#include "loop/debug.h"
#include "loop/timeval.h"
#include "loop/zcopy.h"

/* Default high watermark: bytes queued per direction. */
#define DEFAULT_HWM (256 * 1024)
/*
 * Size of a copy buffer, and so the copy path's queue bound. As large as
 * `socat -b 262144` reads, so that each system call moves a lot.
 */
#define BUF_SIZE (256 * 1024)
/* Idle copy buffers kept for reuse, process-wide. */
#define BUF_POOL_MAX 8
/* Compact the copy buffer when less than this is free at its end. */
#define BUF_COMPACT (64 * 1024)
/* Read/write rounds per callback, so one fast relay cannot starve others. */
#define PUMP_ROUNDS 16
/*
 * A direction copies (recv/send through a pooled buffer) until it has
 * moved ZC_ASK_BYTES and a read brought at least ZC_MIN_READ (or all the
 * room there was, under a small watermark): only a bulk
 * stream is worth the pipe and the two splices per chunk. For short
 * connections and small messages the copy is cheaper (splice was 23 % of
 * the relay's CPU in a churn profile, for 64-byte echoes; bench/NOTES.md).
 */
#define ZC_ASK_BYTES (64 * 1024)
#define ZC_MIN_READ (16 * 1024)
/* Retry delay for a descriptor the loop cannot wait on (a device). */
#define RETRY_MS 10
/* Poll interval while a drain waits for the kernel to deliver (SIOCOUTQ). */
#define LINGER_MS 10

/* One descriptor of the relay and what kind of object it is. */
struct fdinfo {
	hvs_sock_t fd; /* HVS_INVALID_SOCK once closed */
	hvs__fdmode_t m; /* socket? pollable? blocking mode to restore */
};

/* One direction: bytes read from src are written to dst. */
struct dir {
	hvs_relay_t *r;
	struct fdinfo *src;
	struct fdinfo *dst;
	struct event rev; /* src readable */
	struct event wev; /* dst writable */

	/* Copy queue: buf[head..tail), buffer held only while non-empty. */
	char *buf;
	size_t bufcap;
	size_t head;
	size_t tail;
	/* Zero-copy queue: @fill bytes in @pipe, held only while non-empty. */
	hvs__zc_pipe_t *pipe;
	size_t fill;

	uint64_t bytes; /* written to dst */
	size_t peak;
	unsigned pauses;

	unsigned rd_on : 1; /* read event armed */
	unsigned wr_on : 1; /* write event armed */
	unsigned eof : 1; /* src ended (or we stopped reading it) */
	unsigned done : 1; /* eof passed on to dst */
	unsigned blocked : 1; /* dst would block: wait for writable */
	unsigned pipe_full : 1; /* the pipe took no more: wait for a flush */
	unsigned no_splice : 1; /* a descriptor refused splice: copy */
	unsigned spliced : 1; /* splice carried bytes */
	unsigned zc_want : 1; /* bulk: the next empty-queue read splices */
	unsigned zc_asked : 1; /* hvs__zc_fd_ok() asked for src and dst */
	unsigned drained : 1; /* the last read got less than it asked for */
	unsigned rd_retry : 1; /* non-pollable src said EAGAIN */
	unsigned wr_retry : 1; /* non-pollable dst said EAGAIN */
	unsigned eof_by_close : 1; /* dst takes no FIN: done, waits a close */
};

struct hvs_relay {
	struct event_base *base;
	struct dir d[2]; /* 0: a -> b, 1: b -> a */
	struct fdinfo fa_in;
	struct fdinfo fa_out;
	struct fdinfo fb;
	struct event tev; /* idle timeout; also wakes a drain */

	hvs_relay_done_fn done;
	void *userdata;

	size_t hwm; /* high watermark per direction */
	size_t climit; /* copy path bound: min(hwm, BUF_SIZE) */
	int idle_ms;
	int eof_close_ms; /* the fin wait's bound; < 0: none */
	unsigned flags;
	uint64_t start_ms;
	uint64_t last_ms; /* last time a byte moved (idle_ms, fin_wait) */
	uint64_t fin_last_ms; /* the fin wait counts from here */

	hvs_relay_end_t fail_reason;
	int fail_err;
	int fail_side;
	int fail_write;
	hvs_relay_end_t drain_reason;

	unsigned splice : 1; /* the zero-copy path may be tried */
	unsigned shared_a : 1; /* a_in and a_out are one descriptor */
	unsigned failed : 1;
	unsigned draining : 1;
	unsigned ended : 1;
	unsigned sigpipe_known : 1; /* guard_sigpipe was asked */
	unsigned guard_sigpipe : 1;
	unsigned fin_wait : 1; /* a no-FIN dst waits for the other direction */
};

/* ---- process-wide counters and the copy-buffer pool ------------------ */

static atomic_uint_fast64_t n_total;
static atomic_uint_fast64_t n_active;
static atomic_uint_fast64_t n_bytes;
static atomic_uint_fast64_t n_errors;

/*
 * Idle copy buffers, linked through their first bytes. A pool of our own
 * rather than malloc/free per burst: large blocks are mmap()ed or trimmed
 * back to the system by many allocators, a system call per burst.
 */
static atomic_flag buf_lock = ATOMIC_FLAG_INIT;
static void *buf_pool;
static unsigned buf_pooled;

static void
buf_lock_take(void)
{
	while (atomic_flag_test_and_set_explicit(&buf_lock,
	    memory_order_acquire)) {
		/* spin: the holder is only moving a pointer */
	}
}

static void
buf_lock_drop(void)
{
	atomic_flag_clear_explicit(&buf_lock, memory_order_release);
}

static char *
buf_get(size_t cap)
{
	void *b = NULL;

	if (cap == BUF_SIZE) {
		buf_lock_take();
		b = buf_pool;
		if (b != NULL) {
			memcpy(&buf_pool, b, sizeof(void *));
			buf_pooled--;
		}
		buf_lock_drop();
	}
	if (b == NULL) {
		b = malloc(cap);
	}
	return b;
}

static void
buf_put(char *b, size_t cap)
{
	if (b == NULL) {
		return;
	}
	if (cap == BUF_SIZE) {
		buf_lock_take();
		if (buf_pooled < BUF_POOL_MAX) {
			memcpy(b, &buf_pool, sizeof(void *));
			buf_pool = b;
			buf_pooled++;
			b = NULL;
		}
		buf_lock_drop();
	}
	free(b);
}

void
hvs__relay_pools_flush(void)
{
	void *b, *next;

	buf_lock_take();
	b = buf_pool;
	buf_pool = NULL;
	buf_pooled = 0;
	buf_lock_drop();
	for (; b != NULL; b = next) {
		memcpy(&next, b, sizeof(void *));
		free(b);
	}
	hvs__zc_pool_flush();
}

void
hvs_relay_counters(hvs_relay_counters_t *out)
{
	if (out == NULL) {
		return;
	}
	out->relays_total =
	    atomic_load_explicit(&n_total, memory_order_relaxed);
	out->relays_active =
	    atomic_load_explicit(&n_active, memory_order_relaxed);
	out->bytes_total = atomic_load_explicit(&n_bytes, memory_order_relaxed);
	out->errors_total =
	    atomic_load_explicit(&n_errors, memory_order_relaxed);
	hvs__zc_pool_counts(&out->pipes_in_use, &out->pipes_pooled);
}

/* ---- descriptors ----------------------------------------------------- */

/*
 * Learn what @fd is and make it non-blocking (hvs__os_fd_probe()). @is_sock:
 * the caller passed an hvs_sock_t, so no system call is needed to know
 * (one less per descriptor on the path of every new connection).
 */
static int
fd_probe(struct fdinfo *f, hvs_sock_t fd, int is_sock, int nonblocking)
{
	f->fd = fd;
	return hvs__os_fd_probe(fd, is_sock, nonblocking, &f->m);
}

/* Put back the flags of a descriptor we do not close (failed create). */
static void
fd_unprobe(struct fdinfo *f)
{
	hvs__os_fd_restore(f->fd, &f->m);
}

/*
 * Close @f. A stdio descriptor shares its open file description with
 * other processes (the shell's tty), so it gets its blocking mode back.
 */
static void
fd_close(struct fdinfo *f)
{
	if (f->fd == HVS_INVALID_SOCK) {
		return;
	}
	if (!f->m.sock) {
		fd_unprobe(f);
	}
	hvs__os_fd_close(f->fd, f->m.sock);
	f->fd = HVS_INVALID_SOCK;
}

/* Make the next close of @f send a reset (TCP RST) instead of a FIN. */
static void
fd_abort(struct fdinfo *f)
{
	if (f->fd != HVS_INVALID_SOCK && f->m.sock) {
		hvs__os_sock_abortive(f->fd);
	}
}

static int
fd_read(const struct fdinfo *f, void *p, size_t len, size_t *got)
{
	return hvs__os_fd_read(f->fd, f->m.sock, p, len, got);
}

static int
fd_write(const struct fdinfo *f, const void *p, size_t len, size_t *put)
{
	return hvs__os_fd_write(f->fd, f->m.sock, p, len, put);
}

/* ---- one direction --------------------------------------------------- */

static size_t
dir_queued(const struct dir *d)
{
	return d->tail - d->head + d->fill;
}

/* The next read goes to a pipe (when the copy buffer is empty). */
static int
dir_zc_path(const struct dir *d)
{
	return d->r->splice && !d->no_splice && d->zc_want;
}

/*
 * dir_zc_path(), and at the switch to it, whether both descriptors are
 * worth splicing (asked once: a system call each). Short connections
 * never ask: the question would cost them system calls.
 */
static int
dir_splice_now(struct dir *d)
{
	if (!dir_zc_path(d)) {
		return 0;
	}
	if (!d->zc_asked) {
		d->zc_asked = 1;
		if (!hvs__zc_fd_ok((int)d->src->fd) ||
		    !hvs__zc_fd_ok((int)d->dst->fd)) {
			d->no_splice = 1;
			return 0;
		}
	}
	return 1;
}

/* The queue bound for the path the next read will take. */
static size_t
dir_limit(const struct dir *d)
{
	const hvs_relay_t *r = d->r;

	if (d->pipe != NULL) {
		return d->pipe->cap < r->hwm ? d->pipe->cap : r->hwm;
	}
	if (d->buf != NULL || !dir_zc_path(d)) {
		return r->climit;
	}
	return r->hwm;
}

static int
dir_may_read(const struct dir *d)
{
	const hvs_relay_t *r = d->r;

	if (d->eof || r->draining || r->failed || r->ended || d->pipe_full) {
		return 0;
	}
	/* Bytes in a pipe that no longer takes splices must go out first. */
	if (d->fill > 0 && d->no_splice) {
		return 0;
	}
	return dir_queued(d) < dir_limit(d);
}

static void
dir_release_buf(struct dir *d)
{
	buf_put(d->buf, d->bufcap);
	d->buf = NULL;
	d->head = 0;
	d->tail = 0;
}

static void
dir_release_pipe(struct dir *d)
{
	hvs__zc_pipe_put(d->pipe, d->fill == 0);
	d->pipe = NULL;
	d->fill = 0;
}

static void
relay_fail(hvs_relay_t *r, int err, int side, int writing)
{
	if (r->failed) {
		return;
	}
	r->failed = 1;
	r->fail_err = err;
	r->fail_side = side;
	r->fail_write = writing;
	r->fail_reason = HVS_RELAY_ERROR;
	if (err == HVS_ECONNRESET || err == HVS_EPIPE ||
	    err == HVS_ECONNABORTED) {
		r->fail_reason = HVS_RELAY_RESET;
	}
}

/*
 * Read once from src into the queue: into the pipe when splicing and the
 * copy buffer is empty, else into the copy buffer. Returns 0 with *@got
 * bytes, HVS_EAGAIN, HVS_EOF or an error.
 */
static int
dir_fill(struct dir *d, size_t *got)
{
	hvs_relay_t *r = d->r;
	size_t room, space, lim;
	int rc;

	*got = 0;
	if (d->tail == d->head && dir_splice_now(d)) {
		if (d->pipe == NULL && hvs__zc_pipe_get(&d->pipe) < 0) {
			/* No pipe to be had (cap, EMFILE): copy this time. */
			d->pipe = NULL;
		}
		if (d->pipe != NULL) {
			lim = d->pipe->cap < r->hwm ? d->pipe->cap : r->hwm;
			rc = hvs__zc_splice((int)d->src->fd, d->pipe->wfd,
			    lim - d->fill, got);
			if (rc == 0) {
				d->drained = *got < lim - d->fill;
				d->fill += *got;
				return 0;
			}
			if (rc == HVS_EINVAL || rc == HVS_ENOSYS) {
				hvs__log(HVS_LOG_DEBUG,
				    "relay: fd %lld cannot splice (%s), "
				    "copying",
				    (long long)d->src->fd, hvs_err_name(rc));
				d->no_splice = 1;
			}
			if (d->fill == 0) {
				dir_release_pipe(d);
			}
			if (rc != HVS_EINVAL && rc != HVS_ENOSYS) {
				return rc;
			}
		}
	}
	if (d->fill > 0) {
		return HVS_EAGAIN; /* the pipe's bytes go first */
	}

	if (d->buf == NULL) {
		d->buf = buf_get(r->climit);
		if (d->buf == NULL) {
			return HVS_ENOMEM;
		}
		d->bufcap = r->climit;
		d->head = 0;
		d->tail = 0;
	}
	room = r->climit - (d->tail - d->head);
	space = d->bufcap - d->tail;
	if (space < room && space < BUF_COMPACT) {
		memmove(d->buf, d->buf + d->head, d->tail - d->head);
		d->tail -= d->head;
		d->head = 0;
		space = d->bufcap - d->tail;
	}
	if (space > room) {
		space = room;
	}
	rc = fd_read(d->src, d->buf + d->tail, space, got);
	if (rc == 0) {
		d->drained = *got < space;
		d->tail += *got;
		if ((*got >= ZC_MIN_READ || !d->drained) && !d->zc_want &&
		    d->bytes + dir_queued(d) >= ZC_ASK_BYTES) {
			d->zc_want = 1;
		}
	} else if (d->tail == d->head) {
		dir_release_buf(d);
	}
	return rc;
}

/*
 * Write the queue to dst until it is empty or dst would block: first the
 * copy buffer, then the pipe. A partial write means dst is full, so it
 * counts as "would block" without another system call to prove it.
 */
static int
dir_flush(struct dir *d, size_t *put)
{
	size_t n, want;
	int rc;

	*put = 0;
	for (;;) {
		if (d->tail > d->head) {
			rc = fd_write(d->dst, d->buf + d->head,
			    d->tail - d->head, &n);
			if (rc < 0) {
				return rc;
			}
			d->head += n;
			*put += n;
			if (d->head < d->tail) {
				return HVS_EAGAIN;
			}
			dir_release_buf(d);
			continue;
		}
		if (d->fill == 0) {
			return 0;
		}
		if (!d->no_splice) {
			rc = hvs__zc_splice(d->pipe->rfd, (int)d->dst->fd,
			    d->fill, &n);
			if (rc == HVS_EINVAL || rc == HVS_ENOSYS) {
				hvs__log(HVS_LOG_DEBUG,
				    "relay: fd %lld cannot splice (%s), "
				    "copying",
				    (long long)d->dst->fd, hvs_err_name(rc));
				d->no_splice = 1;
				continue;
			}
			if (rc < 0) {
				return rc;
			}
			d->fill -= n;
			*put += n;
			d->spliced = 1;
			d->pipe_full = 0;
			if (d->fill > 0) {
				return HVS_EAGAIN;
			}
			dir_release_pipe(d);
			continue;
		}
		/*
		 * dst takes no splice: move the pipe's bytes, oldest first,
		 * into the (empty) copy buffer and write them from there.
		 */
		if (d->buf == NULL) {
			d->buf = buf_get(d->r->climit);
			if (d->buf == NULL) {
				return HVS_ENOMEM;
			}
			d->bufcap = d->r->climit;
		}
		want = d->fill < d->bufcap ? d->fill : d->bufcap;
		rc = hvs__os_fd_read(d->pipe->rfd, 0, d->buf, want, &n);
		if (rc < 0) {
			return rc == HVS_EOF ? HVS_EIO : rc;
		}
		d->head = 0;
		d->tail = n;
		d->fill -= n;
		if (d->fill == 0) {
			dir_release_pipe(d);
		}
	}
}

struct flush_call {
	struct dir *d;
	size_t *put;
};

static int
flush_call_run(void *arg)
{
	struct flush_call *c = arg;

	return dir_flush(c->d, c->put);
}

/*
 * dir_flush() where it might raise SIGPIPE (splice, write to a pipe) and
 * the process has not ignored it: the system layer blocks it for the call
 * and takes back a SIGPIPE the call raised, as the library promises never
 * to raise it.
 */
static int
dir_flush_guarded(struct dir *d, size_t *put)
{
	struct flush_call c = {d, put};

	if (d->dst->m.sock && d->fill == 0) {
		return dir_flush(d, put); /* send(MSG_NOSIGNAL) only */
	}
	/* Asked at the first flush that could raise it, not per relay: a
	 * short proxied connection never needs the system call. */
	if (!d->r->sigpipe_known) {
		d->r->guard_sigpipe = hvs__os_sigpipe_matters();
		d->r->sigpipe_known = 1;
	}
	if (!d->r->guard_sigpipe) {
		return dir_flush(d, put);
	}
	return hvs__os_sigpipe_guard(flush_call_run, &c);
}

/*
 * Move what can be moved now: flush the queue, read more while below the
 * watermark, and again, for at most PUMP_ROUNDS rounds. Failures are
 * recorded in the relay for relay_settle().
 */
static void
dir_pump(struct dir *d, int try_read)
{
	hvs_relay_t *r = d->r;
	size_t in = 0, out = 0, n;
	int rc;

	for (int round = 0; round < PUMP_ROUNDS; round++) {
		if (!d->blocked && dir_queued(d) > 0) {
			rc = dir_flush_guarded(d, &n);
			out += n;
			if (rc == HVS_EAGAIN) {
				d->blocked = 1;
				d->wr_retry = !d->dst->m.poll;
			} else if (rc < 0) {
				relay_fail(r, rc, d->dst == &r->fb ? 1 : 0, 1);
				break;
			}
		}
		if (!try_read || !dir_may_read(d)) {
			break;
		}
		rc = dir_fill(d, &n);
		in += n;
		if (rc == HVS_EAGAIN) {
			/*
			 * With bytes in the pipe (so dst is blocked) a
			 * readable src that gives nothing means the pipe's
			 * slots are full: stop reading until a flush.
			 */
			if (d->fill > 0 && n == 0 && !d->no_splice) {
				d->pipe_full = 1;
			}
			d->rd_retry = !d->src->m.poll;
			break;
		}
		if (rc == HVS_EOF) {
			d->eof = 1;
			if (r->flags & HVS_RELAY_NO_HALF_CLOSE) {
				r->draining = 1;
				r->drain_reason = HVS_RELAY_DONE;
			}
			try_read = 0;
			continue; /* flush what is left */
		}
		if (rc < 0) {
			relay_fail(r, rc, d->src == &r->fb ? 1 : 0, 0);
			break;
		}
		if (dir_queued(d) > d->peak) {
			d->peak = dir_queued(d);
		}
		/*
		 * A short read from a descriptor the loop watches (level
		 * triggered) means it is empty for now: flush, and let the
		 * loop say when there is more, instead of a read that
		 * would only say EAGAIN.
		 */
		if (d->drained && d->src->m.poll) {
			try_read = 0;
		}
	}
	/*
	 * Out of rounds with bytes still queued: let writability bring us
	 * back, as reading may be paused by the watermark already.
	 */
	if (dir_queued(d) > 0 && !d->blocked) {
		d->blocked = 1;
		d->wr_retry = 0;
	}
	if (out > 0) {
		d->bytes += out;
		atomic_fetch_add_explicit(&n_bytes, out, memory_order_relaxed);
	}
	if ((in > 0 || out > 0) && (r->idle_ms > 0 || r->fin_wait)) {
		r->last_ms = hvs__os_now_ms();
		r->fin_last_ms = r->last_ms;
	}
}

/* Arm or disarm @ev for a descriptor the loop may not be able to watch. */
static int
ev_set(struct event *ev, const struct fdinfo *f, int on, int retry, short what)
{
	struct timeval tv = {0, RETRY_MS * 1000};

	if (!on) {
		return event_del(ev);
	}
	if (f->m.poll) {
		return event_pending(ev, what, NULL) ? 0 : event_add(ev, NULL);
	}
	/* Always ready: run again next round, or after a pause. */
	if (retry) {
		return event_add(ev, &tv);
	}
	event_active(ev, what, 0);
	return 0;
}

/* Bring the events of @d in line with its state. */
static void
dir_arm(struct dir *d)
{
	hvs_relay_t *r = d->r;
	int rd = dir_may_read(d);
	int wr = d->blocked && dir_queued(d) > 0 && !r->failed;

	if (!rd && d->rd_on && !d->eof && !r->draining && !r->failed) {
		d->pauses++; /* stopped by the watermark or a full pipe */
	}
	if (rd != d->rd_on || (rd && !d->src->m.poll)) {
		if (ev_set(&d->rev, d->src, rd, d->rd_retry, EV_READ) < 0) {
			relay_fail(r, HVS_ENOMEM, -1, 0);
		}
		d->rd_on = rd;
	}
	if (wr != d->wr_on || (wr && !d->dst->m.poll)) {
		if (ev_set(&d->wev, d->dst, wr, d->wr_retry, EV_WRITE) < 0) {
			relay_fail(r, HVS_ENOMEM, -1, 0);
		}
		d->wr_on = wr;
	}
}

int
hvs__relay_eof_by_close(int flagged, int sends_fin, int family, int hv_family)
{
	if (flagged) {
		return 1;
	}
	return !sends_fin && family >= 0 && family == hv_family;
}

/*
 * 1 if the socket dst of @d is told of an EOF only by its close. The
 * family is asked (getsockname(), a system call) only where the answer
 * depends on it: on a platform whose hypervisor sockets send no FIN.
 */
static int
dir_eof_by_close(const struct dir *d)
{
	const hvs_relay_t *r = d->r;
	unsigned flag =
	    d->dst == &r->fb ? HVS_RELAY_B_NO_FIN : HVS_RELAY_A_NO_FIN;
	int flagged = (r->flags & flag) != 0;
	int sends_fin = hvs__hv_shutdown_sends_fin();
	int family = -1;

	if (!flagged && !sends_fin &&
	    hvs__os_sock_family(d->dst->fd, &family) < 0) {
		family = -1;
	}
	return hvs__relay_eof_by_close(flagged, sends_fin, family,
	    hvs__hv_family());
}

/*
 * src ended and everything was written: pass the EOF on to dst, by
 * shutdown(SHUT_WR), or later by the close for a dst that takes no FIN.
 */
static void
dir_finish(struct dir *d)
{
	hvs_relay_t *r = d->r;

	d->done = 1;
	event_del(&d->rev);
	event_del(&d->wev);
	d->rd_on = 0;
	d->wr_on = 0;
	dir_release_buf(d);
	dir_release_pipe(d);
	if (d->dst->m.sock && dir_eof_by_close(d)) {
		/* Its shutdown would tell the peer nothing: the close will. */
		d->eof_by_close = 1;
		hvs__log(HVS_LOG_DEBUG,
		    "relay: fd %lld takes no half-close: its EOF waits for "
		    "the close",
		    (long long)d->dst->fd);
	} else if (d->dst->m.sock) {
		int rc = hvs__os_shutdown(d->dst->fd, HVS_SHUT_WR);

		if (rc < 0) {
			hvs__log(HVS_LOG_DEBUG, "relay: shutdown(%lld): %s",
			    (long long)d->dst->fd, hvs_strerror(rc));
		}
	} else if (d->dst == &r->fa_out && !r->shared_a) {
		/* A pipe or file on its own: its reader sees EOF on close. */
		fd_close(d->dst);
	}
}

/*
 * 1 if the stream of @d is whole: its source ended and every byte of it
 * was written (the EOF is passed on, or is about to be).
 */
static int
dir_complete(const struct dir *d)
{
	return d->done || (d->eof && dir_queued(d) == 0);
}

/*
 * 1 while a stream that a drain is about to cut (and so reset) still has
 * bytes in the kernel's send queue towards its peer: a reset would throw
 * them away, and a drain promises to deliver what was read.
 */
static int
dir_unacked(const struct dir *d)
{
	size_t n;

	if (dir_complete(d) || !d->dst->m.sock ||
	    d->dst->fd == HVS_INVALID_SOCK) {
		return 0;
	}
	return hvs__os_sock_outq(d->dst->fd, &n) == 0 && n > 0;
}

/* ---- the relay ------------------------------------------------------- */

/*
 * Arm the timer for the nearest of the idle timeout and the end of the
 * fin wait, as of @now. Nothing to wait for: left as it is (a drain may
 * be using it).
 */
static void
relay_timer_arm(hvs_relay_t *r, uint64_t now)
{
	uint64_t at = UINT64_MAX;
	struct timeval tv;

	if (r->idle_ms > 0) {
		at = r->last_ms + (uint64_t)r->idle_ms;
	}
	if (r->fin_wait && !r->draining &&
	    r->fin_last_ms + (uint64_t)r->eof_close_ms < at) {
		at = r->fin_last_ms + (uint64_t)r->eof_close_ms;
	}
	if (at == UINT64_MAX) {
		return;
	}
	tv = hvs__ms_timeval(at > now ? at - now : 0);
	event_add(&r->tev, &tv);
}

/*
 * A direction ended towards a dst that takes no FIN while the other one
 * still flows: start counting the fin wait (unless it has no bound, and
 * the relay waits for the peer's own end).
 */
static void
relay_fin_wait(hvs_relay_t *r)
{
	uint64_t now;

	if (r->fin_wait || r->draining || r->eof_close_ms < 0) {
		return;
	}
	r->fin_wait = 1;
	now = hvs__os_now_ms();
	r->fin_last_ms = now;
	relay_timer_arm(r, now);
}

/*
 * The fin wait is over: the direction still flowing has moved no byte for
 * eof_close_ms. Bytes still queued mean its receiver is slow, not that
 * the peer is silent (the peer may be held up by the watermark): the wait
 * starts again. Else one last read, for bytes that arrived just now (they
 * restart the wait too); then the end, as a drain with nothing left to
 * write: the relay ends as done, closing both ends without a reset.
 */
static void
relay_fin_expire(hvs_relay_t *r, uint64_t now)
{
	struct dir *w = r->d[0].done ? &r->d[1] : &r->d[0];
	uint64_t before = r->fin_last_ms;

	if (dir_queued(w) > 0) {
		r->fin_last_ms = now;
		return;
	}
	dir_pump(w, 1);
	if (r->failed || w->eof || r->fin_last_ms != before ||
	    dir_queued(w) > 0) {
		return; /* relay_settle() takes it from here */
	}
	hvs__log(HVS_LOG_DEBUG,
	    "relay: no byte for %d ms after an EOF its peer cannot see: "
	    "closing",
	    r->eof_close_ms);
	r->draining = 1;
	r->drain_reason = HVS_RELAY_DONE;
}

static void
relay_end(hvs_relay_t *r, hvs_relay_end_t reason, int err, int side)
{
	hvs_relay_stats_t st;

	r->ended = 1;
	for (int i = 0; i < 2; i++) {
		event_del(&r->d[i].rev);
		event_del(&r->d[i].wev);
	}
	event_del(&r->tev);
	hvs_relay_stats(r, &st);
	st.reason = reason;
	st.err = err;
	st.err_side = side;
	st.err_write = err != 0 && side >= 0 ? r->fail_write : 0;

	/*
	 * A stream cut short is reset, never closed with a FIN its peer
	 * would take for a complete one: after an error on the other side,
	 * when bytes for it are lost, and when the relay ends (idle timeout,
	 * close, drain) before its source had ended. Only a relay that ends
	 * at an EOF on purpose (HVS_RELAY_NO_HALF_CLOSE) closes the other
	 * stream with a FIN.
	 */
	if (reason == HVS_RELAY_ERROR || reason == HVS_RELAY_RESET) {
		if (side != 0) {
			fd_abort(&r->fa_in);
			fd_abort(&r->fa_out);
		}
		if (side != 1) {
			fd_abort(&r->fb);
		}
	}
	for (int i = 0; i < 2; i++) {
		if (dir_queued(&r->d[i]) > 0 ||
		    (reason != HVS_RELAY_DONE && !dir_complete(&r->d[i]))) {
			fd_abort(r->d[i].dst);
		}
		dir_release_buf(&r->d[i]);
		dir_release_pipe(&r->d[i]);
	}
	fd_close(&r->fa_in);
	if (!r->shared_a) {
		fd_close(&r->fa_out);
	}
	fd_close(&r->fb);

	/*
	 * The last relay of the process gone: give the idle pipes and
	 * buffers back, so that a daemon at rest holds the descriptors and
	 * memory it started with. Under load the pools stay warm.
	 */
	if (atomic_fetch_sub_explicit(&n_active, 1, memory_order_relaxed) ==
	    1) {
		hvs__relay_pools_flush();
	}
	if (reason == HVS_RELAY_ERROR || reason == HVS_RELAY_RESET) {
		atomic_fetch_add_explicit(&n_errors, 1, memory_order_relaxed);
	}
	if (r->done != NULL) {
		r->done(r, &st, r->userdata);
	}
	free(r);
}

/*
 * The end of every callback: pass on finished EOFs, end the relay when
 * its work is done (freeing it), or re-arm its events.
 */
static void
relay_settle(hvs_relay_t *r)
{
	if (r->failed) {
		relay_end(r, r->fail_reason, r->fail_err, r->fail_side);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct dir *d = &r->d[i];

		if (d->eof && !d->done && dir_queued(d) == 0) {
			dir_finish(d);
		}
	}
	if ((r->flags & HVS_RELAY_B_EOF_ENDS) && r->d[1].done && !r->d[0].eof) {
		/* b's stream is whole: a is not read any more. */
		r->d[0].eof = 1;
		if (dir_queued(&r->d[0]) == 0) {
			dir_finish(&r->d[0]);
		}
	}
	if (r->d[0].done && r->d[1].done) {
		relay_end(r, HVS_RELAY_DONE, 0, -1);
		return;
	}
	if (r->d[0].eof_by_close || r->d[1].eof_by_close) {
		relay_fin_wait(r);
	}
	if (r->draining && dir_queued(&r->d[0]) == 0 &&
	    dir_queued(&r->d[1]) == 0) {
		if (r->drain_reason != HVS_RELAY_DONE &&
		    (dir_unacked(&r->d[0]) || dir_unacked(&r->d[1]))) {
			/*
			 * The kernel has yet to deliver the last bytes of a
			 * stream that will be reset: look again shortly.
			 * The idle timeout bounds a peer that takes nothing.
			 */
			struct timeval tv = {0, LINGER_MS * 1000};

			dir_arm(&r->d[0]);
			dir_arm(&r->d[1]);
			if (event_add(&r->tev, &tv) < 0) {
				relay_end(r, r->drain_reason, 0, -1);
			}
			return;
		}
		relay_end(r, r->drain_reason, 0, -1);
		return;
	}
	dir_arm(&r->d[0]);
	dir_arm(&r->d[1]);
	if (r->failed) {
		relay_end(r, r->fail_reason, r->fail_err, r->fail_side);
	}
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dir *d = arg;

	(void)fd;
	(void)what;
	d->rd_retry = 0;
	dir_pump(d, 1);
	relay_settle(d->r);
}

static void
on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct dir *d = arg;
	/* Reading was paused for this direction: there is likely more. */
	int try_read = !d->rd_on && !d->eof;

	(void)fd;
	(void)what;
	d->blocked = 0;
	d->wr_retry = 0;
	d->pipe_full = 0;
	dir_pump(d, try_read);
	relay_settle(d->r);
}

/*
 * The idle timer is re-armed only when it fires, from the time of the last
 * byte moved: no timer work per byte on the hot path.
 */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	hvs_relay_t *r = arg;
	uint64_t now;

	(void)fd;
	(void)what;
	if (r->idle_ms <= 0 && !r->fin_wait) {
		relay_settle(r); /* a drain's wake-up */
		return;
	}
	now = hvs__os_now_ms();
	if (r->idle_ms > 0 && now - r->last_ms >= (uint64_t)r->idle_ms) {
		relay_end(r, HVS_RELAY_IDLE_TIMEOUT, 0, -1);
		return;
	}
	if (r->fin_wait && !r->draining &&
	    now - r->fin_last_ms >= (uint64_t)r->eof_close_ms) {
		relay_fin_expire(r, now);
	}
	relay_timer_arm(r, now);
	relay_settle(r);
}

static void
dir_init(hvs_relay_t *r, struct dir *d, struct fdinfo *src, struct fdinfo *dst)
{
	d->r = r;
	d->src = src;
	d->dst = dst;
	event_assign(&d->rev, r->base,
	    src->m.poll ? (evutil_socket_t)src->fd : -1,
	    src->m.poll ? EV_READ | EV_PERSIST : 0, on_readable, d);
	event_assign(&d->wev, r->base,
	    dst->m.poll ? (evutil_socket_t)dst->fd : -1,
	    dst->m.poll ? EV_WRITE | EV_PERSIST : 0, on_writable, d);
}

void
hvs_relay_opts_init(hvs_relay_opts_t *opts)
{
	if (opts != NULL) {
		memset(opts, 0, sizeof(*opts));
	}
}

static int
relay_create(hvs_relay_t **out, struct event_base *base, hvs_sock_t a_in,
    hvs_sock_t a_out, int a_sock, hvs_sock_t b, const hvs_relay_opts_t *opts,
    hvs_relay_done_fn done, void *userdata)
{
	static const hvs_relay_opts_t defaults = {0};
	hvs_relay_t *r;
	struct timeval tv;
	int rc, nb;

	if (b == a_in || b == a_out) {
		return HVS_EINVAL;
	}
	if (opts == NULL) {
		opts = &defaults;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return HVS_ENOMEM;
	}
	r->base = base;
	r->done = done;
	r->userdata = userdata;
	r->flags = opts->flags;
	r->hwm = opts->high_watermark > 0 ? opts->high_watermark : DEFAULT_HWM;
	r->climit = r->hwm < BUF_SIZE ? r->hwm : BUF_SIZE;
	r->idle_ms = opts->idle_timeout_ms;
	r->eof_close_ms = opts->eof_close_ms == 0 ? HVS_RELAY_EOF_CLOSE_MS
						  : opts->eof_close_ms;
	r->splice = !(opts->flags & HVS_RELAY_NO_SPLICE) && hvs__zc_available();
	r->fail_side = -1;
	r->fa_in.fd = r->fa_out.fd = r->fb.fd = HVS_INVALID_SOCK;

	nb = (opts->flags & HVS_RELAY_NONBLOCKING) != 0;
	rc = fd_probe(&r->fa_in, a_in, a_sock, nb);
	if (rc < 0) {
		goto free_relay;
	}
	if (a_out == a_in) {
		r->fa_out = r->fa_in;
		r->fa_out.m.restore = 0;
		r->shared_a = 1;
	} else {
		rc = fd_probe(&r->fa_out, a_out, a_sock, nb);
		if (rc < 0) {
			goto unprobe_a_in;
		}
	}
	rc = fd_probe(&r->fb, b, 1, nb);
	if (rc < 0) {
		goto unprobe_a_out;
	}

	dir_init(r, &r->d[0], &r->fa_in, &r->fb);
	dir_init(r, &r->d[1], &r->fb, &r->fa_out);
	evtimer_assign(&r->tev, base, on_timer, r);
	r->start_ms = hvs__os_now_ms();
	r->last_ms = r->start_ms;
	if (r->idle_ms > 0) {
		tv = hvs__ms_timeval((uint64_t)r->idle_ms);
		if (event_add(&r->tev, &tv) < 0) {
			rc = HVS_ENOMEM;
			goto unprobe_b;
		}
	}
	dir_arm(&r->d[0]);
	dir_arm(&r->d[1]);
	if (r->failed) {
		rc = HVS_EBADF;
		goto del_events;
	}

	atomic_fetch_add_explicit(&n_total, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&n_active, 1, memory_order_relaxed);
	*out = r;
	return 0;

del_events:
	for (int i = 0; i < 2; i++) {
		event_del(&r->d[i].rev);
		event_del(&r->d[i].wev);
	}
	event_del(&r->tev);
unprobe_b:
	fd_unprobe(&r->fb);
unprobe_a_out:
	if (!r->shared_a) {
		fd_unprobe(&r->fa_out);
	}
unprobe_a_in:
	fd_unprobe(&r->fa_in);
free_relay:
	free(r);
	return rc;
}

/* A negative descriptor, or HVS_INVALID_SOCK. */
static int
sock_bad(hvs_sock_t s)
{
	return s == HVS_INVALID_SOCK || (intptr_t)s < 0;
}

/* The arguments every relay checks before it touches a descriptor. */
static int
args_bad(hvs_relay_t **out, struct event_base *base,
    const hvs_relay_opts_t *opts)
{
	return out == NULL || base == NULL ||
	    (opts != NULL && opts->idle_timeout_ms < 0);
}

int
hvs_relay_new_fds(hvs_relay_t **out, struct event_base *base, int a_in,
    int a_out, hvs_sock_t b, const hvs_relay_opts_t *opts,
    hvs_relay_done_fn done, void *userdata)
{
	hvs__side_t side;
	int rc;

	if (args_bad(out, base, opts) || a_in < 0 || a_out < 0 || sock_bad(b)) {
		return HVS_EINVAL;
	}
	/* Windows cannot wait on a pipe or console: a bridge stands in. */
	rc = hvs__os_side_open(a_in, a_out, b, &side);
	if (rc < 0) {
		return rc;
	}
	rc = relay_create(out, base, side.in, side.out, side.is_sock, b, opts,
	    done, userdata);
	if (rc < 0) {
		hvs__os_side_abort(&side);
		return rc;
	}
	hvs__os_side_commit(&side);
	return 0;
}

int
hvs_relay_new(hvs_relay_t **out, struct event_base *base, hvs_sock_t a,
    hvs_sock_t b, const hvs_relay_opts_t *opts, hvs_relay_done_fn done,
    void *userdata)
{
	if (args_bad(out, base, opts) || sock_bad(a) || sock_bad(b)) {
		return HVS_EINVAL;
	}
	return relay_create(out, base, a, a, 1, b, opts, done, userdata);
}

void
hvs_relay_stats(const hvs_relay_t *r, hvs_relay_stats_t *out)
{
	if (r == NULL || out == NULL) {
		return;
	}
	memset(out, 0, sizeof(*out));
	out->bytes_a_to_b = r->d[0].bytes;
	out->bytes_b_to_a = r->d[1].bytes;
	out->duration_ms = hvs__os_now_ms() - r->start_ms;
	out->reason = HVS_RELAY_DONE;
	out->err_side = -1;
	out->spliced = r->d[0].spliced || r->d[1].spliced;
}

void
hvs_relay_destroy(hvs_relay_t *r)
{
	if (r == NULL || r->ended) {
		return;
	}
	relay_end(r, HVS_RELAY_CLOSED, 0, -1);
}

void
hvs_relay_drain(hvs_relay_t *r)
{
	if (r == NULL || r->ended || r->draining) {
		return;
	}
	r->draining = 1;
	r->drain_reason = HVS_RELAY_CLOSED;
	/* End from the loop, not from inside this call. */
	event_active(&r->tev, EV_TIMEOUT, 0);
}

void
hvs__relay_debug(const hvs_relay_t *r, hvs__relay_debug_t *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 2; i++) {
		const struct dir *d = &r->d[i];

		out->queued[i] = dir_queued(d);
		out->peak[i] = d->peak;
		out->limit[i] = dir_limit(d);
		out->pauses[i] = d->pauses;
		out->has_pipe[i] = d->pipe != NULL;
		out->has_buf[i] = d->buf != NULL;
		out->reading[i] = d->rd_on;
		out->pipe_rfd[i] = d->pipe != NULL ? d->pipe->rfd : -1;
		out->bufcap[i] = d->buf != NULL ? d->bufcap : 0;
	}
	out->size = sizeof(*r);
}
