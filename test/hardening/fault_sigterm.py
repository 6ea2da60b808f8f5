# SPDX-License-Identifier: MIT
"""hardening-sigterm: SIGTERM with 100 connections mid-transfer.

1. 50 uploads (1-4 MiB, answered with the target's sha256 after the
   half-close) and 50 echoes (1-3 MiB both ways at once) are all running
   when SIGTERM arrives: hvproxy stops accepting at once, lets every one of
   them finish, each verified by sha256 (uploads at the target, echoes at
   the client), and exits 0 after the last; the log shows 100 connections
   ended normally.
2. With --drain-timeout 1s and 20 clients that never finish: hvproxy
   exits 0 soon after the timeout, and every byte it had read from a
   client reached the target (the log's up= count for each connection
   equals what the target received).
"""
import hashlib
import os
import random
import re
import signal
import socket
import threading
import time

from hvtest import Tap, free_port, sha256_bytes, wait_for
from hvtest.hvproxy import Proxy
from hvtest.loopserver import EchoServer, LoopServer
from hvtest.net import read_outcome

t = Tap()
N_UP, N_ECHO = 50, 50


class Hash(LoopServer):
    def on_read(self, c, data):
        c.state = c.state or hashlib.sha256()
        c.state.update(data)

    def on_eof(self, c):
        h = c.state.hexdigest() if c.state else sha256_bytes(b"")
        self.send(c, f"{h} {c.received}\n".encode())
        self.shutdown_wr(c)


hs = Hash()
echo = EchoServer()
pu, pe = free_port(), free_port()
p = Proxy(t, ["-v", "--drain-timeout", "30s", f"tcp:{pu}", hs.addr,
              f"tcp:{pe}", echo.addr])

CHUNK = 64 * 1024
LAST = 3.0  # seconds each transfer takes at least
rng = random.Random(5)
jobs = []
for i in range(N_UP):
    jobs.append(("up", os.urandom(rng.randrange(1 << 20, 4 << 20))))
for i in range(N_ECHO):
    jobs.append(("echo", os.urandom(rng.randrange(1 << 20, 3 << 20))))
progress = [0] * len(jobs)   # bytes sent so far
result = [None] * len(jobs)  # True, or what went wrong
connected = [False] * len(jobs)
go = threading.Event()


def client(i):
    kind, data = jobs[i]
    try:
        s = socket.create_connection(("127.0.0.1", pu if kind == "up"
                                      else pe), timeout=60)
        connected[i] = True
        got = []
        if kind == "echo":
            rd = threading.Thread(target=lambda: got.append(
                read_outcome(s, 60)))
            rd.start()
        view = memoryview(data)
        nchunks = max(1, len(data) // CHUNK)
        pause = LAST / nchunks
        for off in range(0, len(data), CHUNK):
            s.sendall(view[off:off + CHUNK])
            progress[i] = min(off + CHUNK, len(data))
            if off == 0:
                go.wait(10)  # all are under way before SIGTERM
            time.sleep(pause)
        s.shutdown(socket.SHUT_WR)
        if kind == "up":
            out, ans = read_outcome(s, 60)
            ok = out == "eof" and ans.decode().strip() == \
                f"{sha256_bytes(data)} {len(data)}"
            result[i] = True if ok else f"up: {out} {ans[:80]!r}"
        else:
            rd.join(60)
            out, back = got[0] if got else ("timeout", b"")
            ok = out == "eof" and sha256_bytes(back) == sha256_bytes(data)
            result[i] = True if ok else \
                f"echo: {out} {len(back)} of {len(data)} bytes"
        s.close()
    except OSError as e:
        result[i] = repr(e)


ths = [threading.Thread(target=client, args=(i,)) for i in range(len(jobs))]
for th in ths:
    th.start()
started = wait_for(lambda: all(x > 0 for x in progress), 20)
go.set()
time.sleep(0.5)
p.signal(signal.SIGTERM)
t_term = time.monotonic()
done_at_term = sum(1 for i, (k, d) in enumerate(jobs)
                   if progress[i] >= len(d))
t.check(f"SIGTERM lands with all {len(jobs)} connections mid-transfer",
        started and done_at_term == 0,
        f"started={started}, {done_at_term} already sent everything")
t.check("STOPPING=1 is sent", p.wait_notify("STOPPING=1", 5))


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


t.check("new connections are refused at once on both listeners",
        wait_for(lambda: refused(pu) and refused(pe), 20))
for th in ths:
    th.join(90)
bad = [(i, r) for i, r in enumerate(result) if r is not True]
t.note(f"{sum(len(d) for k, d in jobs)} bytes sent by {len(jobs)} clients "
       f"({sum(len(d) for k, d in jobs if k == 'echo')} of them echoed "
       f"back); all done {time.monotonic() - t_term:.1f} s after SIGTERM")
t.check(f"all {N_UP} uploads arrived whole (sha256 at the target)",
        not [b for b in bad if jobs[b[0]][0] == "up"], str(bad[:3]))
t.check(f"all {N_ECHO} echoes came back whole (sha256 at the client)",
        not [b for b in bad if jobs[b[0]][0] == "echo"], str(bad[:3]))
rc = p.wait(20)
t.check("hvproxy exits 0 after the last connection", rc == 0,
        f"rc={rc}\n{p.log()[-500:]}")
ends = re.findall(r"end=(\S+)", p.log())
t.check(f"log: {len(jobs)} connections ended normally (done/drained)",
        len(ends) == len(jobs) and
        all(e in ("done", "drained") for e in ends),
        f"{len(ends)}: {sorted(set(ends))}")

# ---- 2. a drain timeout with clients that never finish --------------------
hs2 = Hash()
port = free_port()
p = Proxy(t, ["-v", "--drain-timeout", "1s", f"tcp:{port}", hs2.addr])
stop = threading.Event()
sent = [0] * 20
socks = []


def dripper(i):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    socks.append(s)
    try:
        while not stop.is_set():
            s.sendall(os.urandom(4096))
            sent[i] += 4096
            time.sleep(0.02)
    except OSError:
        pass


drips = [threading.Thread(target=dripper, args=(i,)) for i in range(20)]
for th in drips:
    th.start()
wait_for(lambda: all(x > 16384 for x in sent), 10)
t0 = time.monotonic()
p.signal(signal.SIGTERM)
rc = p.wait(30)
dt = time.monotonic() - t0
stop.set()
for th in drips:
    th.join(10)
t.check(f"--drain-timeout 1s with 20 clients that never finish: exit 0 "
        f"after {dt:.1f} s", rc == 0 and dt > 0.9, f"rc={rc}")
ups = [int(x) for x in re.findall(r" up=(\d+) .*end=drain", p.log())]
wait_for(lambda: sum(1 for c in hs2.conns if c.closed or c.eof
                     or c.outcome) >= 20, 20)
got = sorted(c.received for c in hs2.conns)
t.check("every byte hvproxy had read reached the target (log up= equals "
        "what each target connection received)",
        len(ups) == 20 and sorted(ups) == got,
        f"log {sorted(ups)[:4]}... target {got[:4]}...")
clean = [c for c in hs2.conns if c.outcome == "eof"]
t.check("the 20 streams cut short by the drain timeout end with a reset "
        "at the target, not a clean EOF (which would pass a truncated "
        "upload for a whole one)", not clean,
        f"{len(clean)} of 20 saw a clean EOF")
for s in socks:
    s.close()
hs.stop()
hs2.stop()
echo.stop()
t.done()
