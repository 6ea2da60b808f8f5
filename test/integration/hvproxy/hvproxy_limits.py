# SPDX-License-Identifier: MIT
"""hvproxy-limits: max-conns per forward and global (excess connections
are closed at once, and counted), the idle timeout, and allowlists of IP
networks; the metrics count every refusal."""
import time

from hvtest import Tap, free_port, wait_for, write_config
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.net import Server, closed_within, connect, echo_handler, echo_ok


t = Tap()
echo = Server(echo_handler)
pa, pb, pc, pd, pi, mp = (free_port() for _ in range(6))
conf = t.path("limits.conf")
write_config(conf, f"""[global]
max-conns = 5
metrics = 127.0.0.1:{mp}

[forward a]
listen = tcp:{pa}
target = {echo.addr}
max-conns = 2

[forward b]
listen = tcp:{pb}
target = {echo.addr}

[forward idle]
listen = tcp:{pi}
target = {echo.addr}
idle-timeout = 1s

[forward lan-only]
listen = tcp:{pc}
target = {echo.addr}
allow = 10.0.0.0/8, 192.168.0.0/16, fd00::/8

[forward local-only]
listen = tcp:{pd}
target = {echo.addr}
allow = 10.0.0.0/8
allow = 127.0.0.0/8    ; several allow= lines add up
""")
p = Proxy(t, ["-v", "-c", conf])

# ---- per-forward limit: 2 on forward a.
a1, a2 = connect(pa), connect(pa)
t.check("forward a: 2 connections work", echo_ok(a1) and echo_ok(a2))
a3 = connect(pa)
ok, dt = closed_within(a3, 20)
t.check("forward a: the 3rd is closed at once (max-conns = 2)",
        ok, f"closed={ok} after {dt:.2f}s")
t.check("log names the refusal", p.wait_log(
    r"conn fwd=a peer=tcp:127\.0\.0\.1:\d+ end=refused reason=max-conns "
    r"limit=2", 20), p.log()[-800:])
a1.close()


def admitted(port):
    """A connection that echoes, or None (the slot may not be free yet)."""
    try:
        s = connect(port)
        if echo_ok(s):
            return s
        s.close()
    except OSError:
        pass
    return None


# Once hvproxy has seen the close, the slot is free again.
wait_for(lambda: metric(metrics(mp), "hvproxy_connections_open",
                        forward="a") == 1, 20)
a4 = admitted(pa)
t.check("after one closes, forward a admits again", a4 is not None)

# ---- global limit: 5 in all (a has 2 open: a2, a4).
b1, b2, b3 = connect(pb), connect(pb), connect(pb)
t.check("forward b: 3 more work (5 open in all)",
        echo_ok(b1) and echo_ok(b2) and echo_ok(b3))
b4 = connect(pb)
ok, dt = closed_within(b4, 20)
t.check("forward b: the 6th connection overall is closed at once "
        "(max-conns = 5)", ok, f"closed={ok} after {dt:.2f}s")
ms = metrics(mp)
t.check("metrics: refusals{a, max-conns} = 1",
        metric(ms, "hvproxy_refusals_total", forward="a",
               reason="max-conns") == 1)
t.check("metrics: refusals{b, max-conns} = 1",
        metric(ms, "hvproxy_refusals_total", forward="b",
               reason="max-conns") == 1)
t.check("metrics: 5 open, limit 5",
        metric(ms, "hvproxy_open_connections") == 5 and
        metric(ms, "hvproxy_max_connections") == 5)
for s in (a2, a4, b1, b2, b3, a3, b4):
    s.close()
t.check("all closed: 0 open", wait_for(
    lambda: metric(metrics(mp), "hvproxy_open_connections") == 0, 20))

# ---- idle timeout: 1 s.
s = connect(pi)
t.check("idle forward: echo works", echo_ok(s))
ok, dt = closed_within(s, 20)
t.check("an idle connection is closed after ~1 s", ok and dt > 0.7,
        f"closed={ok} after {dt:.2f}s")
t.check("log says end=idle-timeout",
        p.wait_log(r"conn fwd=idle .* end=idle-timeout", 20))
s = connect(pi)
alive = True
for _ in range(8):  # 2.4 s of traffic every 0.3 s
    time.sleep(0.3)
    alive = alive and echo_ok(s)
t.check("a busy connection outlives the idle timeout", alive)
s.close()
t.check("metrics: idle_timeouts{idle} = 1", wait_for(
    lambda: metric(metrics(mp), "hvproxy_idle_timeouts_total",
                   forward="idle") == 1, 20))

# ---- allowlists.
s = connect(pc)
ok, dt = closed_within(s, 20)
t.check("127.0.0.1 is not in 10/8, 192.168/16, fd00::/8: closed at once",
        ok, f"closed={ok} after {dt:.2f}s")
t.check("log names the allowlist",
        p.wait_log(r"conn fwd=lan-only peer=tcp:127\.0\.0\.1:\d+ "
                   r"end=refused reason=allowlist", 20))
s = connect(pd)
t.check("127.0.0.0/8 (second allow= line) is admitted", echo_ok(s))
s.close()
ms = metrics(mp)
t.check("metrics: refusals{lan-only, allowlist} = 1",
        metric(ms, "hvproxy_refusals_total", forward="lan-only",
               reason="allowlist") == 1)
t.check("metrics: a refused peer is not counted as a connection",
        metric(ms, "hvproxy_connections_total", forward="lan-only") == 0)

# ---- the command line's --allow and --max-conns-per-forward.
p2 = free_port()
q = Proxy(t, ["--allow", "192.0.2.0/24", "--max-conns-per-forward", "1",
              f"tcp:{p2}", echo.addr])
s = connect(p2)
ok, dt = closed_within(s, 20)
t.check("--allow 192.0.2.0/24 refuses 127.0.0.1", ok)
q.stop()
q = Proxy(t, ["--allow", "127.0.0.1/32", "--max-conns-per-forward", "1",
              f"tcp:{p2}", echo.addr])
s1 = connect(p2)
t.check("--allow 127.0.0.1/32 admits 127.0.0.1", echo_ok(s1))
s2 = connect(p2)
ok, dt = closed_within(s2, 20)
t.check("--max-conns-per-forward 1 closes the second at once",
        ok)
s1.close()
t.check("exit 0", q.stop() == 0 and p.stop() == 0)
t.done()
