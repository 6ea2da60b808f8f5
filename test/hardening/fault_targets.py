# SPDX-License-Identifier: MIT
"""hardening-targets: targets that misbehave, en masse.

1. 50 connections to a target that accepts and never answers (reads
   nothing, writes nothing) and 50 to one that never even calls accept()
   (the kernel completes the handshake, the bytes pile up in its backlog):
   the idle timeout reaps all 100, the clients see the end promptly,
   nothing is left open.
2. A target that vanishes and comes back, over tcp and over a unix
   socket: connections in flight when it vanishes end with a reset (never
   a clean EOF that would pass a truncated answer for a whole one); while
   it is gone every client is closed at once (connect-failed, counted);
   once it is back, the same hvproxy process relays again, 50 transfers
   of random sizes, each sha256-verified, on each forward; no descriptor
   leaked along the way.
"""
import hashlib
import os
import random
import socket
import time

from hvtest import Tap, free_port, sha256_bytes, wait_for, write_config
from hvtest.hvproxy import Proxy, fds_settled, metric, metrics
from hvtest.loopserver import Deaf, LoopServer
from hvtest.net import read_outcome
from hvtest.procinfo import base_kinds

t = Tap()
IDLE = 1.5  # seconds; written in ms


class Hash(LoopServer):
    """Reads to EOF, answers 'SHA256 COUNT' and closes. With .hold set it
    stops reading after the first bytes: transfers stay in flight, with
    bytes unread, until it vanishes (as a crashed server would)."""

    def __init__(self, *a, **kw):
        self.hold = False
        super().__init__(*a, **kw)

    def on_read(self, c, data):
        c.state = c.state or hashlib.sha256()
        c.state.update(data)
        if self.hold:
            self.pause_read(c)  # stuck: what comes next stays unread

    def on_eof(self, c):
        h = c.state.hexdigest() if c.state else sha256_bytes(b"")
        self.send(c, f"{h} {c.received}\n".encode())
        self.shutdown_wr(c)

    def vanish(self):
        """Close the listener and reset every connection."""
        def go():
            for c in self.conns:
                self.close(c, rst=True)
            try:
                self.sel.unregister(self.sock)
            except KeyError:
                pass
            self.sock.close()
        self.call(go)
        time.sleep(0.3)
        self.stopping = True
        self.th.join(5)


deaf = Deaf()
# Never accept()s: a plain listening socket with a big backlog.
noacc = socket.socket()
noacc.bind(("127.0.0.1", 0))
noacc.listen(512)
noacc_port = noacc.getsockname()[1]

tcp_port = free_port()
upath = t.path("target.sock")
pd, pn, pt, pu, mp = (free_port() for _ in range(5))
conf = t.path("targets.conf")
write_config(conf, f"""[global]
metrics = 127.0.0.1:{mp}
connect-timeout = 2s

[forward deaf]
listen = tcp:{pd}
target = {deaf.addr}
idle-timeout = {int(IDLE * 1000)}ms

[forward noaccept]
listen = tcp:{pn}
target = tcp:127.0.0.1:{noacc_port}
idle-timeout = {int(IDLE * 1000)}ms

[forward tcp]
listen = tcp:{pt}
target = tcp:127.0.0.1:{tcp_port}

[forward unix]
listen = tcp:{pu}
target = unix:{upath}
""")


def hash_server(port=None, unix=None):
    """A Hash server on a fixed tcp port or unix path."""
    if unix:
        if os.path.exists(unix):
            os.unlink(unix)
        return Hash(unix=unix)
    return Hash(port=port)


th_tcp = hash_server(port=tcp_port)
th_unix = hash_server(unix=upath)
p = Proxy(t, ["-v", "-c", conf])
k0 = base_kinds(p.pid)

# ---- 1. silent targets, 100 at once ---------------------------------------
socks = []
for i in range(50):
    for port in (pd, pn):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"hello? %d\n" % i)
        socks.append(s)
t0 = time.monotonic()
ends = [read_outcome(s, IDLE + 8)[0] for s in socks]
dt = time.monotonic() - t0
t.check(f"1: 100 connections to silent targets all end by the idle "
        f"timeout ({IDLE} s; last after {dt:.1f} s)",
        all(e in ("eof", "reset") for e in ends),
        str([e for e in ends if e not in ("eof", "reset")][:5]))
for s in socks:
    s.close()
ms = metrics(mp)
t.check("1: metrics: 50 idle timeouts on each forward",
        metric(ms, "hvproxy_idle_timeouts_total", forward="deaf") == 50 and
        metric(ms, "hvproxy_idle_timeouts_total", forward="noaccept") == 50,
        f"{metric(ms, 'hvproxy_idle_timeouts_total', forward='deaf')} "
        f"{metric(ms, 'hvproxy_idle_timeouts_total', forward='noaccept')}")
t.check("1: nothing left open", wait_for(
    lambda: metric(metrics(mp), "hvproxy_open_connections") == 0, 20))
noacc.close()
deaf.stop()


# ---- 2. targets that vanish and come back ---------------------------------
def transfer(port, data, timeout=20):
    """Send @data, half-close, read the answer: (outcome, answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # closed already: the outcome tells
    out, got = read_outcome(s, timeout)
    s.close()
    return out, got.decode(errors="replace").strip()


def good_transfers(port, n, rng):
    ok, bad = 0, []
    for i in range(n):
        data = os.urandom(rng.choice([0, 1, 100, 4096, 65536, 1 << 20,
                                      rng.randrange(1, 3 << 20)]))
        try:
            out, ans = transfer(port, data)
        except OSError as e:
            bad.append(repr(e))
            continue
        if out == "eof" and ans == f"{sha256_bytes(data)} {len(data)}":
            ok += 1
        else:
            bad.append(f"{out} {ans[:40]}")
    return ok, bad


rng = random.Random(11)
for name, port, srv_attr in (("tcp", pt, "th_tcp"), ("unix", pu, "th_unix")):
    srv = globals()[srv_attr]
    ok, bad = good_transfers(port, 10, rng)
    t.check(f"2/{name}: before: 10 transfers, sha256-verified", ok == 10,
            "; ".join(bad[:3]))
    # In flight when the target vanishes: it stopped reading.
    srv.hold = True
    inflight = []
    n0 = len(srv.conns)
    for i in range(10):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        try:
            s.send(os.urandom(1 << 20))
        except BlockingIOError:
            pass
        inflight.append(s)
    wait_for(lambda: sum(1 for c in srv.conns[n0:] if c.received) >= 10, 20)
    srv.vanish()
    if name == "unix":
        os.unlink(upath)
    outs = [read_outcome(s, 5)[0] for s in inflight]
    for s in inflight:
        s.close()
    t.check(f"2/{name}: 10 transfers in flight when the target vanishes "
            f"end with a reset, not a clean EOF", outs == ["reset"] * 10,
            str(outs))
    # Gone: every client is closed at once.
    t0 = time.monotonic()
    outs = []
    for i in range(20):
        try:
            outs.append(transfer(port, b"anyone?", 20))
        except OSError as e:
            outs.append((repr(e), ""))
    dt = time.monotonic() - t0
    t.check(f"2/{name}: while it is gone, 20 clients are each closed at "
            f"once ({dt:.2f} s in all), with no answer",
            all(o in ("eof", "reset") and a == "" for o, a in outs),
            str(outs[:3]))
    t.check(f"2/{name}: logged as connect-failed",
            p.wait_log(r"conn fwd=%s .*end=connect-failed err=(ECONNREFUSED"
                       r"|ENOENT)" % name, 20, count=20), p.log()[-300:])
    time.sleep(0.5)
    # Back again, same address.
    srv = hash_server(port=tcp_port) if name == "tcp" else \
        hash_server(unix=upath)
    globals()[srv_attr] = srv
    ok, bad = good_transfers(port, 50, rng)
    t.check(f"2/{name}: back again: the same hvproxy relays 50 transfers "
            f"of random sizes, each sha256-verified", ok == 50,
            f"{ok}: " + "; ".join(bad[:3]))
    ms = metrics(mp)
    t.check(f"2/{name}: metrics count 20 failed connects",
            metric(ms, "hvproxy_errors_total", forward=name,
                   kind="connect") == 20,
            str(metric(ms, "hvproxy_errors_total", forward=name,
                       kind="connect")))

t.check("nothing left open", wait_for(
    lambda: metric(metrics(mp), "hvproxy_open_connections") == 0, 20))
ok, text = fds_settled(p.pid, k0, mp)
t.note(f"descriptors: {text}")
t.check("no descriptor leaked (pooled pipes aside)", ok, text)
t.check("exit 0", p.stop() == 0)
th_tcp.stop()
th_unix.stop()
t.done()
