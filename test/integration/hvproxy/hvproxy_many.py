# SPDX-License-Identifier: MIT
"""hvproxy-many: 2,000 concurrent connections through one hvproxy process
(one event loop): all admitted, each echoes its own message, all are
counted in the metrics, and the memory hvproxy needs to hold them idle is
reported (RSS/PSS from /proc/PID/smaps_rollup)."""
import selectors
import socket
import threading
import time

from hvtest import Tap, free_port, raise_nofile, wait_for
from hvtest.hvproxy import Proxy, metric, metrics

N = 2000
t = Tap()
limit = raise_nofile(2 * N + 200)
if limit < 2 * N + 100:
    t.skip(f"{N} connections", f"the descriptor limit is {limit}")
    t.done()


class EchoLoop:
    """One selector thread echoing on every connection it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ, None)
        self.accepted = 0
        self.stop = False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop:
            for key, _ in self.sel.select(0.1):
                if key.data is None:
                    while True:
                        try:
                            c, _ = self.sock.accept()
                        except BlockingIOError:
                            break
                        c.setblocking(False)
                        self.sel.register(c, selectors.EVENT_READ, 1)
                        self.accepted += 1
                    continue
                c = key.fileobj
                try:
                    b = c.recv(4096)
                except (BlockingIOError, ConnectionResetError):
                    b = b""
                if b:
                    c.send(b)  # tiny messages: never blocks here
                else:
                    self.sel.unregister(c)
                    c.close()


echo = EchoLoop()
port, mp = free_port(), free_port()
p = Proxy(t, ["--max-conns", str(N + 100), "--metrics", f"127.0.0.1:{mp}",
              f"tcp:{port}", f"tcp:127.0.0.1:{echo.port}"])
base_rss, base_pss = p.memory_kb()

t0 = time.monotonic()
clients = []
for i in range(N):
    s = socket.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    clients.append(s)
t.check(f"{N} clients connected", len(clients) == N)
t.check(f"all {N} reach the target",
        wait_for(lambda: echo.accepted >= N, 30), f"{echo.accepted}")

# Each sends its own message and must get exactly it back.
sel = selectors.DefaultSelector()
for i, s in enumerate(clients):
    s.setblocking(False)
    s.send(b"conn %05d\n" % i)
    sel.register(s, selectors.EVENT_READ, i)
ok = 0
pending = N
end = time.monotonic() + 30
while pending and time.monotonic() < end:
    for key, _ in sel.select(1):
        i = key.data
        b = key.fileobj.recv(100)
        ok += b == b"conn %05d\n" % i
        pending -= 1
        sel.unregister(key.fileobj)
t.check(f"all {N} echo their own message", ok == N, f"{ok} of {N}")
elapsed = time.monotonic() - t0
t.note(f"{N} connections set up and echoed in {elapsed:.2f} s")

ms = metrics(mp)
t.check(f"metrics: {N} open", metric(ms, "hvproxy_open_connections") == N,
        str(metric(ms, "hvproxy_open_connections")))
fwd = f"tcp:127.0.0.1:{port}"
t.check(f"metrics: bytes up = bytes down = {N * 11}",
        metric(ms, "hvproxy_bytes_total", forward=fwd, direction="up") ==
        N * 11 and metric(ms, "hvproxy_bytes_total", forward=fwd,
                          direction="down") == N * 11)

time.sleep(0.5)  # idle now
rss, pss = p.memory_kb()
fds = p.fds()
t.note(f"memory of hvproxy holding {N} idle connections: RSS {rss} kB, "
       f"PSS {pss} kB (at start: RSS {base_rss} kB, PSS {base_pss} kB; "
       f"{(pss - base_pss) * 1024 // N} bytes PSS per connection); "
       f"{fds} descriptors open")
t.check("idle connections hold no splice pipes: 2 descriptors each",
        fds <= 2 * N + 20, f"{fds} descriptors")
t.check("memory per idle connection stays small (< 8 KiB PSS)",
        (pss - base_pss) * 1024 / N < 8192, f"{pss - base_pss} kB")

for s in clients:
    s.close()
t.check("all close: 0 open", wait_for(
    lambda: metric(metrics(mp), "hvproxy_open_connections") == 0, 30))
t.check("hvproxy exits 0", p.stop(20) == 0)
echo.stop = True
t.done()
