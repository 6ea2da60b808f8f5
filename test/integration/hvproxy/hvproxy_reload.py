# SPDX-License-Identifier: MIT
"""hvproxy-reload: SIGHUP re-reads the config file: forwards are added,
removed and changed while connections through them stay alive; a config
with errors is refused (file:line in the log) and the one in force stays."""
import signal
import socket

from hvtest import Tap, free_port, wait_for, write_config
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.net import Server, connect, echo_handler, echo_ok


def fresh_ok(port):
    try:
        s = connect(port, 2)
        ok = echo_ok(s)
        s.close()
        return ok
    except OSError:
        return False


def refused(port):
    try:
        connect(port, 2).close()
        return False
    except ConnectionRefusedError:
        return True


t = Tap()
echo = Server(echo_handler)
echo2 = Server(echo_handler)
pa, pb, pc, mp = (free_port() for _ in range(4))
conf = t.path("reload.conf")


def config(text):
    write_config(conf, f"[global]\nmetrics = 127.0.0.1:{mp}\n\n" + text)


config(f"""[forward a]
listen = tcp:{pa}
target = {echo.addr}

[forward b]
listen = tcp:{pb}
target = {echo.addr}
""")
p = Proxy(t, ["-v", "-c", conf])
ca = connect(pa)
cb = connect(pb)
t.check("before: a and b relay", echo_ok(ca) and echo_ok(cb))
ca.sendall(b"x" * 100000)  # some bytes in flight across the reload

# Remove a, keep b (new target for new connections), add c.
config(f"""[forward b]
listen = tcp:{pb}
target = {echo2.addr}
idle-timeout = 1h

[forward c]
listen = tcp:{pc}
target = {echo.addr}
""")
p.messages.clear()
p.signal(signal.SIGHUP)
t.check("reload is announced (RELOADING=1, then READY=1)",
        p.wait_notify("RELOADING=1") and p.wait_notify("READY=1"))
t.check("log: reloaded, 1 added, 1 removed, 1 kept",
        p.wait_log(r"reloaded .*2 forwards \(1 added, 1 removed, 1 kept\)",
                   5), p.log()[-500:])
got = b""
ca.settimeout(5)
while len(got) < 100000:
    b = ca.recv(65536)
    if not b:
        break
    got += b
t.check("a's connection got its in-flight bytes back", got == b"x" * 100000,
        f"{len(got)} bytes")
t.check("a's connection still relays after the reload", echo_ok(ca))
t.check("b's connection still relays after the reload", echo_ok(cb))
t.check("a no longer listens", wait_for(lambda: refused(pa), 20))
t.check("b listens (same socket) and c is new",
        fresh_ok(pb) and fresh_ok(pc))
ms = metrics(mp)
t.check("metrics: removed forward a is still shown while its connection "
        "lives", metric(ms, "hvproxy_forward_listening", forward="a") == 0
        and metric(ms, "hvproxy_connections_open", forward="a") == 1)
t.check("metrics: reloads{ok} = 1",
        metric(ms, "hvproxy_reloads_total", result="ok") == 1)
ca.shutdown(socket.SHUT_WR)
ca.settimeout(5)
t.check("a's connection half-closes cleanly", ca.recv(10) == b"")
ca.close()
t.check("forward a leaves the metrics with its last connection",
        wait_for(lambda: metric(metrics(mp), "hvproxy_connections_open",
                                forward="a") is None, 20))

# A config with errors: refused, nothing changes.
write_config(conf, f"""[global]
metrics = 127.0.0.1:{mp}

[forward b]
listen = tcp:{pb}
target = {echo.addr}
bogus = 1

[forward c]
listen = tcp:{pc}
this line has no equals sign
""")
p.signal(signal.SIGHUP)
t.check("a bad config is refused, errors name file:line",
        p.wait_log(r"reload: the configuration has errors", 20) and
        p.wait_log(r"%s:7: unknown key 'bogus'" % conf, 20) and
        p.wait_log(r"%s:11: syntax error" % conf, 20), p.log()[-800:])
t.check("the config in force stays: b and c relay, their connections live",
        fresh_ok(pb) and fresh_ok(pc) and echo_ok(cb))
t.check("metrics: reloads{failed} = 1", metric(
    metrics(mp), "hvproxy_reloads_total", result="failed") == 1)

# A reload whose new listener cannot bind: all or nothing.
blocker = socket.socket()
blocker.bind(("127.0.0.1", 0))
blocker.listen(1)
busy = blocker.getsockname()[1]
pd = free_port()
config(f"""[forward b]
listen = tcp:{pb}
target = {echo.addr}

[forward d]
listen = tcp:{pd}
target = {echo.addr}

[forward busy]
listen = tcp:{busy}
target = {echo.addr}
""")
p.signal(signal.SIGHUP)
t.check("a reload that cannot bind is rolled back",
        p.wait_log(r"cannot listen on tcp:127\.0\.0\.1:%d" % busy, 20) and
        p.wait_log(r"reload failed: keeping the configuration", 20))
t.check("... c still listens, d never did", fresh_ok(pc) and refused(pd))
blocker.close()
p.signal(signal.SIGHUP)
t.check("the same reload works once the port is free",
        p.wait_log(r"reloaded .*3 forwards \(2 added, 1 removed, 1 kept\)",
                   5) and fresh_ok(pd), p.log()[-400:])
t.check("b's first connection survived four reloads", echo_ok(cb))
cb.close()
t.check("exit 0 on SIGTERM", p.stop() == 0)
t.done()
