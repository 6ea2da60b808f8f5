# SPDX-License-Identifier: MIT
"""hardening-metrics: slow clients on the metrics endpoint never take the
forwards' descriptors.

hvproxy runs under 'ulimit -n 256' with a forward (to a hash server) and
--metrics. The forward holds all but two of its max-conns connections
open. Then 300 clients connect to the metrics port at once, each sends
the start of a request and then one byte a second, never finishing it
(a slowloris: an idle timeout that restarts on every byte never closes
them, and 300 of them would take every descriptor left).

  (c) the endpoint keeps 16 of them and closes every other one at once;
      a scrape that comes while it is full is closed at once as well;
  (a) meanwhile a new client through the forward gets its bytes relayed
      (sha256 checked), and no accept() ever fails;
  (b) the 16 kept are closed by the endpoint's total deadline (10 s from
      accept) although they keep sending;
  (d) then a well-behaved scrape is answered, and its counters show the
      refusals and the deadlines.

The waits are bounded; nothing asserts how long anything took."""
import os
import select
import socket
import threading
import time

from hvtest import Tap, free_port, raise_nofile, sha256_bytes, wait_for
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.net import HashServer, connect, hash_roundtrip, read_outcome

LIM = 256  # hvproxy's RLIMIT_NOFILE, soft and hard
N_SLOW = 300  # slow metrics clients: more than the limit
CAP = 16  # HVP_METRICS_MAX_CONNS
DEADLINE = 10  # HVP_METRICS_DEADLINE_MS, in seconds
DRIP = 1.0  # seconds between two bytes of a slow client

t = Tap()
raise_nofile(4096)  # this script holds ~450 sockets
hs = HashServer(backlog=512)
port, mp = free_port(), free_port()


def low_limit():
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIM, LIM))


def roundtrip(what, n=1 << 20):
    """A new client through the forward: its bytes reach the target
    (the hash server's answer is checked). (ok, detail)"""
    data = os.urandom(n)
    try:
        ans = hash_roundtrip(port, data, timeout=5)
    except OSError as e:
        return False, f"{what}: {e!r}"
    want = f"{sha256_bytes(data)} {n}"
    return ans == want, f"{what}: got {ans!r}, want {want!r}"


def scrape():
    try:
        return metrics(mp, timeout=5)
    except (OSError, ValueError) as e:
        t.note(f"scrape failed: {e!r}")
        return None


p = Proxy(t, ["-v", "--metrics", f"tcp:127.0.0.1:{mp}",
              f"tcp:127.0.0.1:{port}", hs.addr], preexec_fn=low_limit)
ms = scrape()
maxc = int((metric(ms, "hvproxy_max_connections") if ms else 0) or 0)
t.check(f"max-conns fits 'ulimit -n {LIM}' ({maxc})", 2 < maxc < LIM / 2,
        str(maxc))

# The forward near its limit: these connections wait for an EOF.
held = []
for i in range(maxc - 2):
    try:
        held.append(connect(port, timeout=5))
    except OSError as e:
        t.note(f"held connection {i}: {e!r}")
        break
t.check(f"the forward holds {maxc - 2} connections (max-conns {maxc})",
        wait_for(lambda: (lambda m: m and metric(
            m, "hvproxy_open_connections") == maxc - 2)(scrape()), 10),
        str(len(held)))


class Slow:
    """N_SLOW clients of the metrics port, driven by one thread: connect
    (non-blocking), send the start of a request, then one byte every
    DRIP seconds; a client is 'closed' once it reads EOF or a reset."""

    HEAD = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "

    def __init__(self, n):
        self.lock = threading.Lock()
        self.socks = []
        self.state = []  # "open" | "closed"
        self.sent = []  # bytes sent after the head
        self.opened = []  # when its head was sent
        self.closed_at = []
        for _ in range(n):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", mp))
            self.socks.append(s)
            self.state.append("connecting")
            self.sent.append(0)
            self.opened.append(None)
            self.closed_at.append(None)
        self.stop = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _close(self, i):
        self.state[i] = "closed"
        self.closed_at[i] = time.monotonic()

    def _send(self, i, data):
        try:
            self.socks[i].send(data)
            return True
        except BlockingIOError:
            return True
        except OSError:
            self._close(i)
            return False

    def _poll(self, i):
        s = self.socks[i]
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    self._close(i)
                    return
        except BlockingIOError:
            return
        except OSError:
            self._close(i)

    def _run(self):
        next_drip = time.monotonic() + DRIP
        while not self.stop.is_set():
            with self.lock:
                live = [i for i, st in enumerate(self.state)
                        if st != "closed"]
                conn = [i for i in live if self.state[i] == "connecting"]
                if conn:
                    pl = select.poll()
                    for i in conn:
                        pl.register(self.socks[i], select.POLLOUT)
                    w = {fd for fd, _ in pl.poll(0)}
                    for i in conn:
                        if self.socks[i].fileno() in w:
                            err = self.socks[i].getsockopt(
                                socket.SOL_SOCKET, socket.SO_ERROR)
                            if err:
                                self._close(i)
                            elif self._send(i, self.HEAD):
                                self.state[i] = "open"
                                self.opened[i] = time.monotonic()
                for i in live:
                    if self.state[i] != "closed":
                        self._poll(i)
                if time.monotonic() >= next_drip:
                    next_drip += DRIP
                    for i in live:
                        if self.state[i] == "open" and self._send(i, b"a"):
                            self.sent[i] += 1
            self.stop.wait(0.1)

    def count(self, st):
        with self.lock:
            return self.state.count(st)

    def open_ones(self):
        with self.lock:
            return [i for i, st in enumerate(self.state) if st != "closed"]

    def close_all(self):
        self.stop.set()
        self.th.join(5)
        for s in self.socks:
            s.close()


slow = Slow(N_SLOW)
t.note(f"{N_SLOW} slow clients connect to the metrics port")

# (c) the surplus is closed at once, CAP are kept
wait_for(lambda: slow.count("connecting") == 0 and
         slow.count("open") <= CAP, 10)
kept = slow.open_ones()
t.check(f"(c) the metrics endpoint keeps {CAP} slow clients and closes "
        f"the other {N_SLOW - CAP} at once",
        len(kept) == CAP and slow.count("closed") == N_SLOW - CAP,
        f"open {slow.count('open')}, connecting "
        f"{slow.count('connecting')}, closed {slow.count('closed')}")
m = socket.create_connection(("127.0.0.1", mp), timeout=5)
try:
    m.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
except OSError:
    pass
out, got = read_outcome(m, 5)
m.close()
t.check("(c) a scrape while the endpoint is full is closed at once, "
        "unanswered", out in ("eof", "reset") and got == b"",
        f"{out} {got[:60]!r}")

# (a) the forward works while the slow clients are connected
ok, detail = roundtrip("with the slow clients connected")
t.check("(a) a new client through the forward is relayed while the slow "
        "metrics clients are connected (1 MiB, sha256)", ok, detail)
ok, detail = roundtrip("a second one")
t.check("(a) and another one", ok, detail)
t.check("(a) no accept() failed, neither the forward's nor the "
        "endpoint's", "accept failed" not in p.log() and
        "metrics: accept:" not in p.log(), p.log()[-600:])

# (b) the kept ones are closed by the total deadline, bytes or not
wait_for(lambda: slow.count("open") == 0, DEADLINE + 15)
with slow.lock:
    left = [i for i in kept if slow.state[i] != "closed"]
    dripped = min((slow.sent[i] for i in kept), default=0)
    took = [slow.closed_at[i] - slow.opened[i] for i in kept
            if slow.closed_at[i] is not None and slow.opened[i] is not None]
t.note(f"(b) the {CAP} kept clients sent {dripped}+ bytes each after the "
       f"request's start; closed after "
       f"{min(took, default=0):.1f} to {max(took, default=0):.1f} s")
t.check(f"(b) the {CAP} slow clients kept are closed by the deadline "
        f"although they keep sending (one byte every {DRIP:.0f} s)",
        not left and dripped >= 3, f"{len(left)} still open; "
        f"{dripped} bytes dripped")
slow.close_all()

# (d) a well-behaved scrape afterwards
ms = scrape()
t.check("(d) the metrics endpoint answers a scrape afterwards",
        ms is not None and
        metric(ms, "hvproxy_open_connections") == maxc - 2)
t.check(f"(d) hvproxy_metrics_timeouts_total = {CAP}",
        ms is not None and
        metric(ms, "hvproxy_metrics_timeouts_total") == CAP,
        str(ms and metric(ms, "hvproxy_metrics_timeouts_total")))
t.check(f"(d) hvproxy_metrics_refusals_total = {N_SLOW - CAP + 1}",
        ms is not None and metric(ms, "hvproxy_metrics_refusals_total") ==
        N_SLOW - CAP + 1,
        str(ms and metric(ms, "hvproxy_metrics_refusals_total")))
t.check("(d) one warning about the limit",
        p.log().count("metrics: 16 connections open") == 1, p.log()[-600:])
ok, detail = roundtrip("afterwards")
t.check("(d) the forward still relays", ok, detail)
for s in held:
    s.close()
t.check("all closed, 0 open", wait_for(
    lambda: (lambda m: m and metric(m, "hvproxy_open_connections") == 0)(
        scrape()), 10))
t.check("exit 0", p.stop() == 0)
hs.close()
t.done()
