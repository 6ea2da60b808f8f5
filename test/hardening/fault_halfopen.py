# SPDX-License-Identifier: MIT
"""hardening-halfopen: peers that stop reading.

N clients ask a "firehose" target for data and never read a byte; N more
clients send without end to a target that never reads. Each stalled
connection fills the kernel's socket buffers and then hvproxy's queue,
which must stop at the high watermark (--buffer): for every connection
the bytes hvproxy holds itself are computed exactly, from what the sender
wrote minus what the kernel still queues on each of the four sockets
(/proc/net/tcp tx/rx queues), and must be <= the watermark. The RSS
hvproxy gains is reported and bounded. Then the idle timeout reaps every
one of them (each peer sees a reset: the bytes queued for it are lost, so
the stream must not end in a clean EOF), and hvproxy is back to its
descriptors and close to its memory from before."""
import errno
import os
import select
import socket
import time

from hvtest import Tap, free_port, wait_for
from hvtest.hvproxy import Proxy, fds_settled, metric, metrics
from hvtest.loopserver import Deaf, Firehose
from hvtest.net import tcp_queues
from hvtest.procinfo import base_kinds, fd_kinds, rss_kb, under_asan

N = int(os.environ.get("HARD_HALFOPEN_N", "40"))  # per kind
HWM = 64 * 1024  # --buffer
IDLE = 20        # --idle-timeout, seconds: longer than the set-up
t = Tap()
# Small socket buffers on the test's side keep the kernel's share of the
# stalled bytes (and the time to fill it) small; hvproxy's own sockets
# keep the system's defaults.
SOCKBUF = 64 * 1024
fire = Firehose(sndbuf=SOCKBUF)
deaf = Deaf(rcvbuf=SOCKBUF)
pf, pd, mp = free_port(), free_port(), free_port()
conf = t.path("halfopen.conf")
with open(conf, "w") as f:
    f.write(f"""[global]
buffer = {HWM}
idle-timeout = {IDLE}s
metrics = 127.0.0.1:{mp}

[forward fire]
listen = tcp:{pf}
target = {fire.addr}

[forward deaf]
listen = tcp:{pd}
target = {deaf.addr}
""")
p = Proxy(t, ["-v", "-c", conf])
k0 = base_kinds(p.pid)
rss0 = rss_kb(p.pid)

readers = []   # clients that never read (firehose target)
writers = []   # clients that never stop writing (deaf target)
for i in range(N):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKBUF)
    s.connect(("127.0.0.1", pf))
    s.sendall(b"give %d\n" % i)
    readers.append(s)
w_sent = [0] * N
blob = b"w" * (1 << 16)
# One at a time, so that the i-th connection the deaf target accepts is
# the i-th client's (the deaf target cannot be told who is who).
for i in range(N):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKBUF)
    s.connect(("127.0.0.1", pd))
    s.setblocking(False)
    writers.append(s)
    wait_for(lambda: len(deaf.conns) > i, 5, step=0.002)


def pump_writers():
    """Write what the kernel takes now; True if anything was taken."""
    moved = False
    for i, s in enumerate(writers):
        while True:
            try:
                n = s.send(blob)
            except BlockingIOError:
                break
            except OSError as e:
                t.check(f"writer {i} is not cut off while the buffers "
                        f"fill", False, f"{e!r}\n{p.log()[-400:]}")
                t.done()
            w_sent[i] += n
            moved = True
    return moved


# Until nothing moves any more: every buffer on the way is full.
t0 = time.monotonic()
last_total, still_since = -1, time.monotonic()
while time.monotonic() - t0 < 30:
    pump_writers()
    total = sum(c.sent for c in fire.conns) + sum(w_sent)
    if total != last_total:
        last_total, still_since = total, time.monotonic()
    elif time.monotonic() - still_since > 0.7:
        break
    time.sleep(0.05)
stall_secs = time.monotonic() - t0
t.note(f"set-up and stall took {stall_secs:.1f} s")
t.check(f"{2 * N} connections stalled (nothing moves) in "
        f"{stall_secs:.1f} s", time.monotonic() - t0 < 30 and
        len(fire.conns) == N and len(deaf.conns) == N,
        f"{len(fire.conns)} firehose, {len(deaf.conns)} deaf")

# Exact accounting, per connection, of the bytes hvproxy holds itself.
q = tcp_queues()


def held(sent, snd, hv_in, hv_out, rcv):
    """sent = written by the sender; snd = the sender's socket; hv_in /
    hv_out = hvproxy's socket on each side; rcv = the receiver's socket
    (each a (local port, remote port) key). Bytes hvproxy holds = sent -
    what the kernel still has in the four sockets' queues."""
    kernel = q[snd][0] + q[hv_in][1] + q[hv_out][0] + q[rcv][1]
    for k, v in zip(kq, (q[snd][0], q[hv_in][1], q[hv_out][0], q[rcv][1])):
        kq[k] += v
    return sent - kernel


fire_held, deaf_held, missing = [], [], 0
kq = {"sender": 0, "hvproxy in": 0, "hvproxy out": 0, "receiver": 0}
for s in readers:
    lp = s.getsockname()[1]
    c = next((c for c in fire.conns if c.state == "give %d" %
              readers.index(s)), None)
    if c is None:
        missing += 1
        continue
    hv_port = c.peer[1]                 # hvproxy's socket towards the target
    try:
        fire_held.append(held(c.sent, (fire.port, hv_port),
                              (hv_port, fire.port), (pf, lp), (lp, pf)))
    except KeyError:
        missing += 1
deaf_sorted = list(deaf.conns)
for i, s in enumerate(writers):
    lp = s.getsockname()[1]
    c = deaf_sorted[i] if i < len(deaf_sorted) else None
    if c is None:
        missing += 1
        continue
    hv_port = c.peer[1]
    try:
        deaf_held.append(held(w_sent[i], (lp, pd), (pd, lp),
                              (hv_port, deaf.port), (deaf.port, hv_port)))
    except KeyError:
        missing += 1
t.note("bytes in the kernel's socket queues, all connections: " +
       ", ".join(f"{k} {v}" for k, v in kq.items()))
t.check("every stalled connection's sockets are found in /proc/net/tcp",
        missing == 0, f"{missing} missing")
t.note(f"bytes held by hvproxy per connection (watermark {HWM}): "
       f"target->client max {max(fire_held, default=0)}, min "
       f"{min(fire_held, default=0)}; client->target max "
       f"{max(deaf_held, default=0)}, min {min(deaf_held, default=0)}")
t.note(f"bytes the senders wrote in all: firehose "
       f"{sum(c.sent for c in fire.conns)}, clients {sum(w_sent)}")
t.check(f"target->client: hvproxy holds <= the watermark ({HWM}) on each "
        f"of {N} connections", fire_held and max(fire_held) <= HWM and
        min(fire_held) >= 0, str(sorted(fire_held)[-5:]))
t.check(f"client->target: hvproxy holds <= the watermark ({HWM}) on each "
        f"of {N} connections", deaf_held and max(deaf_held) <= HWM and
        min(deaf_held) >= 0, str(sorted(deaf_held)[-5:]))
t.check("... and the queues are really full (a stall, not a slow start)",
        min(fire_held, default=0) > 0 and min(deaf_held, default=0) > 0)

rss1 = rss_kb(p.pid)
k = fd_kinds(p.pid)
t.note(f"hvproxy with {2 * N} stalled connections: RSS {rss0} -> {rss1} kB "
       f"(+{(rss1 - rss0) * 1024 // (2 * N)} bytes per connection), "
       f"{k['socket']} sockets, {k['pipe']} pipe ends")
# The queue is in a pipe (kernel) or a copy buffer (user space): either
# way the process may not grow by more than the watermark per connection.
# Under ASan a freed copy buffer (every connection's first bytes are
# copied) goes to the quarantine instead of back to the heap: RSS then
# counts memory the process no longer uses.
if under_asan(p.pid):
    t.skip(f"RSS growth per stalled connection < the watermark "
           f"({rss1 - rss0} kB)",
           "built with ASan: its quarantine keeps freed memory")
else:
    t.check("RSS growth per stalled connection < the watermark",
            (rss1 - rss0) * 1024 < 2 * N * HWM, f"{rss1 - rss0} kB")

# The idle timeout reaps them all. The clients must not read meanwhile
# (a read makes room, bytes move, and the connection is not idle): they
# watch for the end with poll() and learn from SO_ERROR whether it was a
# reset.
t1 = time.monotonic()
ends = {}
allsocks = readers + writers
poller = select.poll()
for i, s in enumerate(allsocks):
    poller.register(s.fileno(), select.POLLRDHUP | select.POLLERR |
                    select.POLLHUP)
byfd = {s.fileno(): i for i, s in enumerate(allsocks)}
deadline = time.monotonic() + IDLE + 10
while len(ends) < 2 * N and time.monotonic() < deadline:
    for fd, ev in poller.poll(200):
        i = byfd[fd]
        err = allsocks[i].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        ends[i] = "reset" if err == errno.ECONNRESET or \
            ev & select.POLLERR else "eof"
        poller.unregister(fd)
pending = 2 * N - len(ends)
reap = time.monotonic() - t1
t.check(f"the idle timeout ({IDLE} s) reaps all {2 * N} stalled "
        f"connections (after {reap:.1f} s)", not pending,
        f"{pending} still open")
eofs = [i for i, r in ends.items() if r == "eof"]
t.check("each stalled peer sees a reset (its queued bytes are lost), "
        "never a clean EOF", not eofs, f"{len(eofs)} clean EOFs")
t.check("the firehose target's writes fail (reset) on every connection",
        wait_for(lambda: all(c.send_error for c in fire.conns), 20),
        str([c.send_error for c in fire.conns if not c.send_error][:5]))
ms = metrics(mp)
idle_n = sum(metric(ms, "hvproxy_idle_timeouts_total", forward=f) or 0
             for f in ("fire", "deaf"))
t.check(f"metrics: {2 * N} idle timeouts, 0 open",
        idle_n == 2 * N and metric(ms, "hvproxy_open_connections") == 0,
        f"{idle_n}")
t.check("log: end=idle-timeout", p.wait_log(r"end=idle-timeout", 2,
                                            count=2 * N))
for s in allsocks:
    s.close()
time.sleep(0.3)
ok, text = fds_settled(p.pid, k0, mp)
rss2 = rss_kb(p.pid)
t.note(f"after the reaping: descriptors: {text}; RSS {rss2} kB ({rss0} at "
       f"start)")
t.check("descriptors back to their start (pooled pipes aside)", ok, text)
if under_asan(p.pid):
    t.skip(f"RSS back within 2 MiB of its start ({rss2 - rss0} kB)",
           "built with ASan: its quarantine keeps freed memory")
else:
    t.check("RSS back within 2 MiB of its start", rss2 - rss0 < 2048,
            f"{rss2 - rss0} kB")
t.check("exit 0", p.stop() == 0)
fire.stop()
deaf.stop()
t.done()
