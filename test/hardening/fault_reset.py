# SPDX-License-Identifier: MIT
"""hardening-reset: peers that reset mid-stream (SO_LINGER 0, a TCP RST).

A truncated stream must never look complete: when one side resets, the
other side must see a reset too (never a clean EOF after a prefix), and
hvproxy must free the pair at once and go on serving. Cases: the client
resets mid-upload; the target resets mid-download; the client resets
while half-closed and the target still answering; the client resets
while hvproxy is still connecting to the target; then a storm of 300
connections resetting at random points from either side, after which
hvproxy holds no more descriptors than before (pooled pipes aside) and
still relays 4 MiB exactly."""
import os
import random
import socket
import threading
import time

from hvtest import Tap, free_port, sha256_bytes, wait_for, write_config
from hvtest.hvproxy import Proxy, fds_settled, metric, metrics
from hvtest.loopserver import LoopServer
from hvtest.net import read_outcome, reset
from hvtest.procinfo import base_fds, base_kinds, fd_count, rss_kb

t = Tap()
rng = random.Random(7)


class Recorder(LoopServer):
    """Reads everything; remembers how each connection ended. A request
    starting with 'R' is answered with N bytes (the rest of the line) once
    the client's EOF came; 'X N' makes the server reset after writing N
    bytes; anything else is just counted."""

    def on_read(self, c, data):
        if c.state is None:
            c.state = data[:64].split(b"\n")[0].decode(errors="replace")
            if c.state.startswith("X "):
                n = int(c.state.split()[1])
                self.send(c, os.urandom(n))
                self.call(lambda: self._rst_when_sent(c))

    def _rst_when_sent(self, c):
        if c.closed:
            return
        if c.out:
            threading.Timer(0.01, lambda: self.call(
                lambda: self._rst_when_sent(c))).start()
            return
        self.close(c, rst=True)
        c.outcome = "we-reset"

    def on_eof(self, c):
        if c.state and c.state.startswith("R "):
            n = int(c.state.split()[1])
            self.send(c, b"r" * n)
            self.shutdown_wr(c)


rec = Recorder()
hs_port = free_port()
port, mp = free_port(), free_port()
p = Proxy(t, ["-v", "--metrics", f"127.0.0.1:{mp}", "--connect-timeout",
              "2s", f"tcp:{port}", rec.addr])
k0 = base_kinds(p.pid)
base_rss = rss_kb(p.pid)


def last_conn(before):
    """The server side of the connection that arrived after @before."""
    ok = wait_for(lambda: len(rec.conns) > before, 20)
    return rec.conns[before] if ok else None


def ended(c, secs=5):
    return wait_for(lambda: c.closed or c.eof, secs)


# ---- 1. the client resets mid-upload -------------------------------------
n0 = len(rec.conns)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"U upload\n" + os.urandom(1 << 20))
c = last_conn(n0)
wait_for(lambda: c is not None and c.received >= (1 << 20), 20)
reset(s)
t.check("1: client resets mid-upload: the target sees a reset, not an EOF",
        c is not None and ended(c) and c.outcome == "reset",
        c and c.outcome)
t.check("1: logged as end=reset side=client",
        p.wait_log(r"end=reset err=\S+ side=client", 20), p.log()[-400:])

# ---- 2. the target resets mid-download -----------------------------------
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"X 3000000\n")
time.sleep(0.3)  # let the target write and reset before we read
out, got = read_outcome(s, 5)
s.close()
t.check("2: target resets mid-download: the client sees a reset, not a "
        "clean EOF", out == "reset", f"{out} after {len(got)} bytes")
t.check("2: logged as end=reset side=target",
        p.wait_log(r"end=reset err=\S+ side=target", 20), p.log()[-400:])

# ---- 3. the client resets while half-closed, the answer still flowing ----
n0 = len(rec.conns)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"R 50000000\n")
s.shutdown(socket.SHUT_WR)
c = last_conn(n0)
wait_for(lambda: c is not None and c.sent > (1 << 20), 20)
s.recv(1000)
reset(s)
t.check("3: client resets while the target answers: the target's writes "
        "fail (reset), it is not left writing into a void",
        c is not None and wait_for(lambda: c.closed, 20) and
        c.send_error in ("ECONNRESET", "EPIPE"),
        c and (c.outcome, c.send_error))

# ---- 4. the client resets while hvproxy is still connecting --------------
# A target whose backlog is full never completes the connect.
hole = socket.socket()
hole.bind(("127.0.0.1", 0))
hole.listen(0)
hole_port = hole.getsockname()[1]
fillers = []
for _ in range(3):
    f = socket.socket()
    f.setblocking(False)
    try:
        f.connect(("127.0.0.1", hole_port))
    except BlockingIOError:
        pass
    fillers.append(f)
port4 = free_port()
conf = t.path("hole.conf")
write_config(conf, f"""[forward hole]
listen = tcp:{port4}
target = tcp:127.0.0.1:{hole_port}
connect-timeout = 1s
""")
mp4 = free_port()
q = Proxy(t, ["-v", "--metrics", f"127.0.0.1:{mp4}", "-c", conf])
q_fds = base_fds(q.pid)
admitted = 0
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port4), timeout=5)
    # Reset only once hvproxy has admitted the client and is connecting:
    # a client gone before that is closed unseen (its address cannot be
    # read any more), which is another case.
    if wait_for(lambda: (metric(metrics(mp4), "hvproxy_connections_total",
                                forward="hole") or 0) >= i + 1, 10):
        admitted += 1
    reset(s)
t.check("4: 20 clients admitted, each reset while hvproxy connects",
        admitted == 20, f"{admitted} of 20")
t.check("4: 20 clients that reset while hvproxy connects: each ends "
        "(connect-timeout) and nothing is left open",
        q.wait_log(r"end=connect-timeout", 20, count=20) and
        wait_for(lambda: fd_count(q.pid) == q_fds, 20),
        f"{fd_count(q.pid)} fds vs {q_fds}\n{q.log()[-300:]}")
t.check("4: exit 0", q.stop() == 0)
hole.close()
for f in fillers:
    f.close()

# ---- 5. a storm: 300 connections reset at random points, either side -----
N = 300
outcomes = {"client-reset": 0, "target-reset-seen": 0, "bad": 0}
bad = []
lock = threading.Lock()


def one(i):
    r = random.Random(i)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if r.random() < 0.5:
            s.sendall(b"U storm\n" + os.urandom(r.randrange(0, 1 << 19)))
            time.sleep(r.random() * 0.05)
            reset(s)
            kind = "client-reset"
        else:
            s.sendall(b"X %d\n" % r.randrange(0, 1 << 20))
            out, got = read_outcome(s, 10)
            s.close()
            # The target reset: the client must not see a clean EOF.
            kind = "target-reset-seen" if out == "reset" else "bad"
            if kind == "bad":
                with lock:
                    bad.append(f"{i}: {out} after {len(got)}")
    except OSError as e:
        kind = "bad"
        with lock:
            bad.append(f"{i}: {e!r}")
    with lock:
        outcomes[kind] += 1


ths = []
for i in range(N):
    th = threading.Thread(target=one, args=(i,))
    th.start()
    ths.append(th)
    if len(ths) % 50 == 0:
        time.sleep(0.05)
for th in ths:
    th.join(30)
t.note(f"5: storm of {N}: {outcomes}")
t.check("5: every target reset reached its client as a reset",
        outcomes["bad"] == 0, "; ".join(bad[:5]))
t.check("5: nothing stays open after the storm", wait_for(
    lambda: metric(metrics(mp), "hvproxy_open_connections") == 0, 10))
t.check("5: the target saw no clean EOF from a client that reset",
        wait_for(lambda: all(c.closed or c.eof for c in rec.conns), 20) and
        not [c for c in rec.conns if c.state == "U storm" and
             c.outcome == "eof"],
        str([c.outcome for c in rec.conns if c.state == "U storm"
             and c.outcome != "reset"][:10]))
# Descriptors: as at the start, plus the pipes the relay keeps pooled.
ok, text = fds_settled(p.pid, k0, mp)
t.note(f"descriptors: {text}; RSS {base_rss} kB at start, "
       f"{rss_kb(p.pid)} kB now")
t.check("5: no descriptor leaked (pooled pipes aside)", ok, text)
ms = metrics(mp)
t.check("5: metrics count the resets as relay errors",
        (metric(ms, "hvproxy_errors_total", forward=f"tcp:127.0.0.1:{port}",
                kind="relay") or 0) >= N // 2)

# ---- 6. still relaying, exactly -------------------------------------------
data = os.urandom(4 << 20)


class Hash(LoopServer):
    def on_read(self, c, data):
        c.state = c.state or __import__("hashlib").sha256()
        c.state.update(data)

    def on_eof(self, c):
        h = c.state.hexdigest() if c.state else sha256_bytes(b"")
        self.send(c, f"{h} {c.received}\n".encode())
        self.shutdown_wr(c)


hs = Hash()
port6 = free_port()
q = Proxy(t, [f"tcp:{port6}", hs.addr])
s = socket.create_connection(("127.0.0.1", port6), timeout=10)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
out, got = read_outcome(s, 10)
s.close()
t.check("6: after all that, 4 MiB still arrive exactly (sha256)",
        got.decode().strip() == f"{sha256_bytes(data)} {len(data)}", got[:80])
t.check("exit 0", q.stop() == 0 and p.stop() == 0)
hs.stop()
rec.stop()
t.done()
