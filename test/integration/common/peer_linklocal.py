#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""common-peer-linklocal: link-local IPv6 peers (fe80::/10), who are known
by their address and scope (the interface they came through), read from
the socket, never from the text of the address ("fe80::1%3").

In hvproxy, such a peer is counted for max-conns-per-peer (10 connections
with a limit of 2: 2 admitted, 8 refused, the log naming "fe80::1%N"),
fe80::1 on another interface is another peer, and allow = fe80::/10 or
::/0 admits it while 10.0.0.0/8 refuses it; an IPv4-mapped peer still
matches an IPv4 entry. hvcat -l --allow fe80::/10 admits it, --allow
10.0.0.0/8 refuses it.

    peer_linklocal.py HVCAT HVPROXY

A link-local address needs an interface: the script runs itself again in
a private network namespace (unshare -n; unshare -rn when not root), with
its own loopback and a veth pair, both ends holding fe80::1, and nothing
leaves it. Where namespaces or veth interfaces are not available, the
test is skipped and says why.
"""
import os
import shutil
import socket
import subprocess
import sys

INNER = "HVTEST_PEER_LINKLOCAL_NETNS"


def reexec_in_netns():
    """Run this script again in a private network namespace; returns only
    with the reason why that cannot be done."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "no unshare (util-linux) here"
    why = "unshare -n failed"
    for flags in (["-n"], ["-rn"]):
        try:
            r = subprocess.run([unshare] + flags + ["true"],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"unshare: {e}"
        if r.returncode == 0:
            os.environ[INNER] = "1"
            sys.stdout.flush()
            os.execv(unshare, [unshare] + flags + [
                sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
        why = (f"no private network namespace here (unshare {flags[0]}: "
               f"{r.stderr.decode(errors='replace').strip()})")
    return why


if os.environ.get(INNER) != "1":
    WHY = reexec_in_netns()
else:
    WHY = None

import hvtest.hvcat as hc  # noqa: E402 (after the namespace is set up)
import hvtest.hvproxy as hp  # noqa: E402
from hvtest import Tap, free_port, write_config  # noqa: E402
from hvtest.net import Server, closed_within, echo_handler, echo_ok  # noqa

hc.HVCAT = os.path.abspath(sys.argv[1])
hp.set_program(sys.argv[2])
t = Tap(prefix="peer-linklocal.")
if WHY is not None:
    t.skip_all(WHY)


def sh(*argv):
    r = subprocess.run(list(argv), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=10)
    return r.returncode == 0, r.stderr.decode(errors="replace").strip()


ip = shutil.which("ip") or "/usr/sbin/ip"
for cmd in ([ip, "link", "set", "lo", "up"],
            [ip, "link", "add", "ll0", "type", "veth", "peer", "name", "ll1"],
            [ip, "link", "set", "ll0", "up"],
            [ip, "link", "set", "ll1", "up"],
            [ip, "addr", "add", "fe80::1/64", "dev", "ll0", "nodad"],
            [ip, "addr", "add", "fe80::1/64", "dev", "ll1", "nodad"]):
    ok, err = sh(*cmd)
    if not ok:
        t.skip_all(f"cannot set up link-local addresses here "
                   f"({' '.join(cmd[1:])}: {err})")
IDX = {dev: socket.if_nametoindex(dev) for dev in ("ll0", "ll1")}


def ll_connect(port, dev="ll0"):
    """A tcp connection from fe80::1 on @dev to fe80::1%@dev:@port (the
    listener holds the wildcard address)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(("fe80::1", port, 0, IDX[dev]))
    return s


def refused(s):
    """True if @s is closed at once, no byte echoed."""
    ok, _ = closed_within(s, 10)
    return ok


def admitted(s):
    return echo_ok(s)


echo = Server(echo_handler)
plim, pscope, pll, pall, pv4 = (free_port() for _ in range(5))
conf = t.path("hvproxy.conf")
write_config(conf, f"""[forward lim]
listen = tcp:[::]:{plim}
target = {echo.addr}
max-conns-per-peer = 2

[forward scope]
listen = tcp:[::]:{pscope}
target = {echo.addr}
max-conns-per-peer = 1

[forward ll]
listen = tcp:[::]:{pll}
target = {echo.addr}
allow = fe80::/10

[forward all]
listen = tcp:[::]:{pall}
target = {echo.addr}
allow = ::/0

[forward v4]
listen = tcp:[::]:{pv4}
target = {echo.addr}
allow = 10.0.0.0/8, 127.0.0.0/8
""")
p = hp.Proxy(t, ["-v", "-c", conf])

# ---- max-conns-per-peer = 2, 10 connections from fe80::1%ll0.
socks = [ll_connect(plim) for _ in range(10)]
got = [admitted(s) for s in socks]
t.check("max-conns-per-peer=2: 2 of 10 link-local connections admitted",
        sum(got) == 2, f"{got}\n{p.log()[-1500:]}")
t.check("the log names the link-local peer with its scope",
        p.wait_log(r"conn fwd=lim peer=tcp:\[fe80::1%" + str(IDX["ll0"]) +
                   r"\]:\d+ end=refused reason=max-conns-per-peer limit=2 "
                   r"who=\"fe80::1%" + str(IDX["ll0"]) + "\"", 10, count=8),
        p.log()[-1500:])
for s in socks:
    s.close()

# ---- fe80::1 through another interface is another peer.
a1 = ll_connect(pscope, "ll0")
b1 = ll_connect(pscope, "ll1")
t.check("max-conns-per-peer=1: fe80::1%ll0 admitted", admitted(a1))
t.check("fe80::1%ll1, another link, is another peer: admitted",
        admitted(b1), p.log()[-1000:])
t.check("fe80::1%ll0's second connection refused",
        refused(ll_connect(pscope, "ll0")), p.log()[-1000:])
for s in (a1, b1):
    s.close()

# ---- allowlists match the address whatever its scope.
t.check("allow = fe80::/10 admits fe80::1%ll0",
        admitted(ll_connect(pll)), p.log()[-1000:])
t.check("allow = fe80::/10 admits fe80::1%ll1",
        admitted(ll_connect(pll, "ll1")), p.log()[-1000:])
t.check("allow = ::/0 admits a link-local peer",
        admitted(ll_connect(pall)), p.log()[-1000:])
t.check("allow = 10.0.0.0/8 refuses a link-local peer",
        refused(ll_connect(pv4)), p.log()[-1000:])
t.check("... and logs the refusal",
        p.wait_log(r"conn fwd=v4 peer=tcp:\[fe80::1%\d+\]:\d+ end=refused "
                   r"reason=allowlist", 10), p.log()[-1000:])
s4 = socket.create_connection(("127.0.0.1", pv4), timeout=10)
t.check("an IPv4 peer (IPv4-mapped on the [::] listener) matches "
        "127.0.0.0/8", admitted(s4), p.log()[-1000:])
s4.close()
t.check("hvproxy exits 0 on SIGTERM", p.stop() == 0, p.log()[-1000:])

# ---- hvcat -l --allow.
lst = hc.Listener(t, ["-k", "--allow", "fe80::/10", "-e", "cat"],
                  addr="tcp:[::]:0")
t.check("hvcat: listening on [::]", lst.port is not None, lst.log())
if lst.port:
    t.check("hvcat --allow fe80::/10 admits fe80::1%ll0",
            admitted(ll_connect(lst.port)), lst.log())
    t.check("hvcat --allow fe80::/10 admits fe80::1%ll1",
            admitted(ll_connect(lst.port, "ll1")), lst.log())
lst.kill()
lst = hc.Listener(t, ["-k", "--allow", "10.0.0.0/8", "-e", "cat"],
                  addr="tcp:[::]:0")
if lst.port:
    t.check("hvcat --allow 10.0.0.0/8 refuses fe80::1%ll0",
            refused(ll_connect(lst.port)), lst.log())
    t.check("... and says so with -v",
            lst.wait_log(r"refused connection from tcp:\[fe80::1%\d+\]:\d+ "
                         r"\(not allowed by --allow\)", 10), lst.log())
else:
    t.check("hvcat: listening on [::]", False, lst.log())
lst.kill()

t.done()
