# SPDX-License-Identifier: MIT
"""hardening-sighup: SIGHUP under load.

100 clients keep two forwards busy (uploads answered with the target's
sha256, echoes checked at the client, random sizes, each a fresh
connection) while hvproxy is told to reload 20 times: forwards are added
and removed, the kept ones change their buffer and timeouts, one config
in the middle has errors, and at the end a burst of 30 SIGHUPs lands at
once. Every transfer must be verified, no connection of a kept forward
may fail, every reload is announced (RELOADING=1 / READY=1) and counted,
the removed listener stops listening, and hvproxy ends with the
descriptors it started with (pooled pipes aside) and exits 0."""
import hashlib
import os
import random
import signal
import socket
import threading
import time

from hvtest import Tap, free_port, sha256_bytes, wait_for, write_config
from hvtest.hvproxy import NotifyDrain, Proxy, fds_settled, metric, metrics
from hvtest.loopserver import EchoServer, LoopServer
from hvtest.net import read_outcome
from hvtest.procinfo import base_kinds, rss_kb

t = Tap()


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
pa, pb, pc, mp = (free_port() for _ in range(4))
conf = t.path("hup.conf")


def config(variant):
    extra = ""
    if variant % 2 == 1:
        extra = f"""
[forward c]
listen = tcp:{pc}
target = {echo.addr}
"""
    write_config(conf, f"""[global]
metrics = 127.0.0.1:{mp}
drain-timeout = 10s

[forward a]
listen = tcp:{pa}
target = {hs.addr}
buffer = {[64, 256, 1024][variant % 3]}k
idle-timeout = {30 + variant}s

[forward b]
listen = tcp:{pb}
target = {echo.addr}
buffer = {[128, 32, 512][variant % 3]}k
connect-timeout = {2 + variant % 3}s
""" + extra)


config(0)
p = Proxy(t, ["-c", conf])
k0 = base_kinds(p.pid)
rss0 = rss_kb(p.pid)

stop = threading.Event()
stats = {"up": 0, "echo": 0, "bytes": 0}
errors = []
lock = threading.Lock()


def worker(i):
    rng = random.Random(i)
    while not stop.is_set():
        size = rng.choice([0, 1, 1000, 65536, rng.randrange(1, 1 << 20)])
        data = os.urandom(size)
        kind = "up" if rng.random() < 0.5 else "echo"
        try:
            s = socket.create_connection(
                ("127.0.0.1", pa if kind == "up" else pb), timeout=30)
            got = []
            if kind == "echo":
                rd = threading.Thread(target=lambda: got.append(
                    read_outcome(s, 30)))
                rd.start()
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            if kind == "up":
                out, ans = read_outcome(s, 30)
                ok = out == "eof" and ans.decode().strip() == \
                    f"{sha256_bytes(data)} {size}"
            else:
                rd.join(30)
                out, ans = got[0] if got else ("timeout", b"")
                ok = out == "eof" and ans == data
            s.close()
        except OSError as e:
            ok, out, ans = False, repr(e), b""
        with lock:
            if ok:
                stats[kind] += 1
                stats["bytes"] += size
            else:
                errors.append(f"{kind} {size}: {out} {ans[:60]!r}")


ths = [threading.Thread(target=worker, args=(i,)) for i in range(100)]
for th in ths:
    th.start()
wait_for(lambda: stats["up"] + stats["echo"] > 200, 20)

ok_reloads = 0
announced = 0
for n in range(1, 21):
    if n == 10:
        with open(conf, "a") as f:
            f.write("[forward broken]\nlisten = tcp:nope\n")
    else:
        config(n)
    p.messages.clear()
    p.signal(signal.SIGHUP)
    if p.wait_notify("RELOADING=1", 10) and p.wait_notify("READY=1", 10):
        announced += 1
    ok_reloads += n != 10
    time.sleep(0.15)
t.check("20 reloads under load, each announced (RELOADING=1, READY=1)",
        announced == 20, f"{announced}")
ms = metrics(mp)
t.check(f"metrics: {ok_reloads} reloads ok, 1 failed (the config with "
        f"errors)", metric(ms, "hvproxy_reloads_total", result="ok") ==
        ok_reloads and metric(ms, "hvproxy_reloads_total",
                              result="failed") == 1,
        f"{metric(ms, 'hvproxy_reloads_total', result='ok')} ok, "
        f"{metric(ms, 'hvproxy_reloads_total', result='failed')} failed")

# A burst: signals coalesce, hvproxy must stay consistent. The notify
# socket is read meanwhile, as the service manager would.
drain = NotifyDrain(p)
config(2)  # even: no forward c
for _ in range(30):
    p.signal(signal.SIGHUP)
time.sleep(1.0)
t.check("a burst of 30 SIGHUPs: hvproxy is alive", p.alive())


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


t.check("forward c (removed by the last config) no longer listens",
        wait_for(lambda: refused(pc), 20))
time.sleep(2.0)
stop.set()
for th in ths:
    th.join(60)
t.note(f"transfers verified: {stats['up']} uploads, {stats['echo']} echoes, "
       f"{stats['bytes']} bytes of payload; errors: {len(errors)}")
t.check("every transfer during the reloads was verified, none failed",
        not errors and stats["up"] > 100 and stats["echo"] > 100,
        "; ".join(errors[:5]))
t.check("nothing left open", wait_for(
    lambda: metric(metrics(mp), "hvproxy_open_connections") == 0, 10))
ok, text = fds_settled(p.pid, k0, mp)
t.note(f"descriptors: {text}; RSS {rss0} -> {rss_kb(p.pid)} kB")
t.check("no descriptor leaked by 50 reloads (pooled pipes aside)", ok, text)

# A service manager that stops reading notifications: the datagrams queue
# up (10 at most by default) and a blocking sd_notify() would stop the
# whole event loop.
drain.stop()
for _ in range(15):
    p.signal(signal.SIGHUP)
    time.sleep(0.1)


def echo_once():
    try:
        s = socket.create_connection(("127.0.0.1", pb), timeout=3)
        s.sendall(b"still there?")
        s.shutdown(socket.SHUT_WR)
        out, got = read_outcome(s, 3)
        s.close()
        return got == b"still there?"
    except OSError:
        return False


t.check("with the notify socket full (service manager not reading), "
        "hvproxy still relays (fixed: hvp_sd_notify() sends with "
        "MSG_DONTWAIT; test/hardening/repro/notify_block.py)", echo_once())
t.check("the dropped notifications are said so, once",
        p.log().count("does not read its notify socket") == 1,
        p.log()[-300:])
drain = NotifyDrain(p)  # unblocks it
t.check("once notifications are read again, hvproxy relays",
        wait_for(echo_once, 10))
t.check("exit 0", p.stop() == 0)
drain.stop()
hs.stop()
echo.stop()
t.done()
