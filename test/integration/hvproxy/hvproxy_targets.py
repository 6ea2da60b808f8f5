# SPDX-License-Identifier: MIT
"""hvproxy-targets: targets that fail. Refused (nothing listens), unreachable
(a unix path that does not exist), a black hole (a listener whose queue is
full, so the connect times out) and one that accepts but never says a word
(the idle timeout ends it): each time the client sees a prompt close, the
failure is logged and counted, and the daemon keeps serving."""
import time
import socket

from hvtest import Tap, free_port, write_config
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.net import (Server, closed_within, connect, echo_handler,
                        echo_port_ok, silent_handler)


t = Tap()
echo = Server(echo_handler)
silent = Server(silent_handler)

# A listener with a backlog of 0 and one connection waiting in it: the
# kernel drops further SYNs, so connecting to it times out.
hole = socket.socket()
hole.bind(("127.0.0.1", 0))
hole.listen(0)
hole_port = hole.getsockname()[1]
filler = [socket.socket(), socket.socket()]
for f in filler:
    f.setblocking(False)
    try:
        f.connect(("127.0.0.1", hole_port))
    except BlockingIOError:
        pass

closed_port = free_port()
pr, pu, pb, ps, pg, mp = (free_port() for _ in range(6))
conf = t.path("targets.conf")
write_config(conf, f"""[global]
connect-timeout = 1s
metrics = 127.0.0.1:{mp}

[forward refused]
listen = tcp:{pr}
target = tcp:127.0.0.1:{closed_port}

[forward unreachable]
listen = tcp:{pu}
target = unix:{t.path("no/such/dir/x.sock")}

[forward blackhole]
listen = tcp:{pb}
target = tcp:127.0.0.1:{hole_port}

[forward silent]
listen = tcp:{ps}
target = {silent.addr}
idle-timeout = 1s

[forward good]
listen = tcp:{pg}
target = {echo.addr}
""")
p = Proxy(t, ["-v", "-c", conf])

cases = [
    ("refused", pr, 1.0, r"end=connect-failed err=ECONNREFUSED"),
    ("unreachable", pu, 1.0, r"end=connect-failed err=ENOENT"),
    ("blackhole", pb, 2.5, r"end=connect-timeout err=ETIMEDOUT"),
    ("silent", ps, 2.5, r"end=idle-timeout"),
]
for name, port, bound, logpat in cases:
    s = connect(port)
    try:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    except OSError:
        pass
    ok, dt = closed_within(s, bound + 3)
    s.close()
    t.check(f"{name}: the client sees a close within {bound} s",
            ok and dt <= bound, f"closed={ok} after {dt:.2f}s")
    t.check(f"{name}: logged ({logpat})",
            p.wait_log(r"conn fwd=%s .*%s" % (name, logpat), 20),
            p.log()[-600:])
    t.check(f"{name}: the daemon keeps serving", p.alive() and
            echo_port_ok(pg))

# Many at once against the refused and black-hole targets.
socks = [connect(pr) for _ in range(20)] + [connect(pb) for _ in range(20)]
closed = [closed_within(s, 5)[0] for s in socks]
t.check("40 failing connections at once are all closed", all(closed))
for s in socks:
    s.close()
t.check("and the daemon still serves", echo_port_ok(pg))

ms = metrics(mp)
for name, n in (("refused", 21), ("unreachable", 1), ("blackhole", 21)):
    v = metric(ms, "hvproxy_errors_total", forward=name, kind="connect")
    t.check(f"metrics: errors{{{name}, connect}} = {n}", v == n, str(v))
v = metric(ms, "hvproxy_idle_timeouts_total", forward="silent")
t.check("metrics: idle_timeouts{silent} = 1", v == 1, str(v))
# The last echo's close may still be on its way to the daemon: wait for
# it (bounded) rather than read the gauge once.
deadline = time.monotonic() + 5
v = metric(ms, "hvproxy_open_connections")
while v != 0 and time.monotonic() < deadline:
    time.sleep(0.05)
    v = metric(metrics(mp), "hvproxy_open_connections")
t.check("metrics: nothing left open", v == 0, str(v))
t.check("exit 0 on SIGTERM", p.stop() == 0)
hole.close()
t.done()
