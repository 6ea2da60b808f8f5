# SPDX-License-Identifier: MIT
"""hvproxy-peers: max-conns-per-peer. One peer (an IP address whatever its
source port, a local user on a unix socket) cannot take more than its share
of a forward: its next connection is closed at once and counted, while
other peers are still admitted; a slot comes back when one of its
connections ends; a reload that sets the limit counts the connections
already open; the command line's --max-conns-per-peer works too. A unix
listener's allowlist names users (allow = uid:N): the user this test runs
as is admitted, another one (nobody, when running as root) refused."""
import os
import signal
import socket

from hvtest import Tap, free_port, wait_for, write_config
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.net import Server, closed_within, connect, echo_handler, echo_ok


t = Tap()
echo = Server(echo_handler)
pa, pb, pr, mp = (free_port() for _ in range(4))
abstract = f"hvtest-peers-{os.getpid()}"
conf = t.path("peers.conf")


def config(reload_limit):
    write_config(conf, f"""[global]
max-conns-per-peer = 2
metrics = 127.0.0.1:{mp}

[forward a]
listen = tcp:{pa}
target = {echo.addr}

[forward local]
listen = unix:@{abstract}
target = {echo.addr}
max-conns-per-peer = 1

[forward mine]
listen = unix:@{abstract}-mine
target = {echo.addr}
allow = uid:{os.getuid()}

[forward r]
listen = tcp:{pr}
target = {echo.addr}
max-conns-per-peer = {reload_limit}
""")


def refused_at_once(s):
    ok, dt = closed_within(s, 20)
    return ok


def open_count(fwd):
    return metric(metrics(mp), "hvproxy_connections_open", forward=fwd)


config(0)
p = Proxy(t, ["-v", "-c", conf])

# ---- tcp: a peer is its IP address; 2 per peer on forward a.
a1 = connect(pa, source="127.0.0.1")
a2 = connect(pa, source="127.0.0.1")
t.check("127.0.0.1: 2 connections relay", echo_ok(a1) and echo_ok(a2))
t.check("127.0.0.1: the 3rd is closed at once (another source port)",
        refused_at_once(connect(pa, source="127.0.0.1")))
t.check("log names the refusal, the limit and the peer",
        p.wait_log(r"conn fwd=a peer=tcp:127\.0\.0\.1:\d+ end=refused "
                   r"reason=max-conns-per-peer limit=2 who=\"127\.0\.0\.1\"",
                   20), p.log()[-800:])
b1 = connect(pa, source="127.0.0.2")
b2 = connect(pa, source="127.0.0.2")
t.check("127.0.0.2, another peer, still gets its 2",
        echo_ok(b1) and echo_ok(b2))
t.check("127.0.0.2: its 3rd is closed at once",
        refused_at_once(connect(pa, source="127.0.0.2")))
c1 = connect(pa, source="127.0.0.3")
t.check("127.0.0.3 gets in while the others are full", echo_ok(c1))
ms = metrics(mp)
t.check("metrics: refusals{a, max-conns-per-peer} = 2",
        metric(ms, "hvproxy_refusals_total", forward="a",
               reason="max-conns-per-peer") == 2)
t.check("metrics: the other refusal reasons stay 0",
        metric(ms, "hvproxy_refusals_total", forward="a",
               reason="max-conns") == 0 and
        metric(ms, "hvproxy_refusals_total", forward="a",
               reason="allowlist") == 0)
t.check("metrics: refused connections are not counted as admitted",
        metric(ms, "hvproxy_connections_total", forward="a") == 5)
t.check("metrics: 3 peers open on forward a",
        metric(ms, "hvproxy_peers_open", forward="a") == 3,
        str(metric(ms, "hvproxy_peers_open", forward="a")))

# A slot comes back once one of the peer's connections has ended.
a1.close()
t.check("127.0.0.1 closes one: hvproxy sees it",
        wait_for(lambda: open_count("a") == 4, 20))
a3 = connect(pa, source="127.0.0.1")
t.check("127.0.0.1 is admitted again", echo_ok(a3))
t.check("127.0.0.1 is full again",
        refused_at_once(connect(pa, source="127.0.0.1")))
t.check("the admitted connections still relay",
        echo_ok(a2) and echo_ok(b1) and echo_ok(b2))
for s in (a2, a3, b1, b2, c1):
    s.close()
t.check("all of forward a closed: 0 peers",
        wait_for(lambda: metric(metrics(mp), "hvproxy_peers_open",
                                forward="a") == 0 and
                 open_count("a") == 0, 20))


# ---- unix: a peer is the local user (SO_PEERCRED); 1 per user.
def unix_connect(name=abstract):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect("\0" + name)
    return s


def connect_as_nobody(name=abstract, probe=echo_ok):
    """A child that becomes uid 65534 connects to @name, reports
    probe(socket) (the echo by default), and holds the connection until
    told to stop."""
    r, w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.close(go_w)
            os.setgid(65534)
            os.setuid(65534)
            s = unix_connect(name)
            ok = probe(s)
            os.write(w, b"1" if ok else b"0")
            os.read(go_r, 1)
            s.close()
            os._exit(0)
        except BaseException:
            os._exit(1)
    os.close(w)
    os.close(go_r)
    return pid, r, go_w


u1 = unix_connect()
t.check("unix: the first connection of this user relays", echo_ok(u1))
t.check("unix: the same user's 2nd is closed at once",
        refused_at_once(unix_connect()))
t.check("log names the user",
        p.wait_log(r"conn fwd=local .*reason=max-conns-per-peer limit=1 "
                   rf"who=\"uid {os.getuid()}\"", 20), p.log()[-800:])
if os.getuid() == 0:
    pid, r, go = connect_as_nobody()
    got = os.read(r, 1)
    t.check("unix: another user (uid 65534) is admitted", got == b"1",
            repr(got))
    os.write(go, b"x")
    os.waitpid(pid, 0)
    os.close(r)
    os.close(go)
else:
    t.skip("unix: another user (uid 65534) is admitted",
           "needs root to become another user")
u1.close()

# ---- unix: allow = uid:N admits that user only.
t.check(f"allow = uid:{os.getuid()}: this user is admitted",
        echo_ok(unix_connect(abstract + "-mine")))
if os.getuid() == 0:
    pid, r, go = connect_as_nobody(abstract + "-mine", refused_at_once)
    got = os.read(r, 1)
    t.check("allow = uid:0: uid 65534 is closed at once", got == b"1",
            repr(got))
    os.write(go, b"x")
    os.waitpid(pid, 0)
    os.close(r)
    os.close(go)
    t.check("log names the refusal and the user",
            p.wait_log(r"conn fwd=mine peer=\S+ end=refused "
                       r"reason=allowlist who=\"uid 65534\"", 20),
            p.log()[-800:])
    t.check("metrics: refusals{mine, allowlist} = 1",
            metric(metrics(mp), "hvproxy_refusals_total", forward="mine",
                   reason="allowlist") == 1)
else:
    for name in ["allow = uid:0: uid 65534 is closed at once",
                 "log names the refusal and the user",
                 "metrics: refusals{mine, allowlist} = 1"]:
        t.skip(name, "needs root to become another user")

# ---- a reload that sets a limit counts the connections already open.
r1, r2, r3 = (connect(pr) for _ in range(3))
t.check("forward r, no limit: 3 connections from 127.0.0.1",
        echo_ok(r1) and echo_ok(r2) and echo_ok(r3))
config(2)
p.signal(signal.SIGHUP)
t.check("reloaded", p.wait_log(r"reloaded .*4 forwards", 20),
        p.log()[-800:])
t.check("after the reload (limit 2, 3 open): a 4th is closed at once",
        refused_at_once(connect(pr)))
t.check("the 3 open before the reload still relay",
        echo_ok(r1) and echo_ok(r2) and echo_ok(r3))
r1.close()
r2.close()
t.check("down to 1 open", wait_for(lambda: open_count("r") == 1, 20))
r4 = connect(pr)
t.check("then one more is admitted (2 of 2)", echo_ok(r4))
t.check("and the next is closed", refused_at_once(connect(pr)))
r3.close()
r4.close()

# ---- the command line.
pc = free_port()
q = Proxy(t, ["--max-conns-per-peer", "1", f"tcp:{pc}", echo.addr])
c1 = connect(pc)
t.check("--max-conns-per-peer 1: the first relays", echo_ok(c1))
t.check("--max-conns-per-peer 1: the second is closed at once",
        refused_at_once(connect(pc)))
t.check("--max-conns-per-peer 1: another address is admitted",
        echo_ok(connect(pc, source="127.0.0.9")))
c1.close()
t.check("exit 0", q.stop() == 0 and p.stop() == 0)
t.done()
