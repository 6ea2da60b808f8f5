# SPDX-License-Identifier: MIT
"""hvproxy-metrics: the Prometheus endpoint's numbers match what was sent:
bytes up and down per forward (also while a connection is still open),
connections open/total, errors and refusals; the text format parses."""
import os
import socket
import urllib.error
import urllib.request

from hvtest import Tap, free_port, sha256_bytes, wait_for, write_config
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.net import HashServer, connect, hash_roundtrip

t = Tap()
hs = HashServer()
p1, p2, pr, mp = (free_port() for _ in range(4))
conf = t.path("m.conf")
write_config(conf, f"""[global]
metrics = {mp}

[forward one]
listen = tcp:{p1}
target = {hs.addr}

[forward two]
listen = tcp:{p2}
target = {hs.addr}
allow = 10.0.0.0/8

[forward bad]
listen = tcp:{pr}
target = tcp:127.0.0.1:{free_port()}
""")
p = Proxy(t, ["-c", conf])

ms = metrics(mp)
t.check("fresh: every forward listed with zeros",
        all(metric(ms, "hvproxy_connections_total", forward=f) == 0
            for f in ("one", "two", "bad")))

sizes = [0, 1, 1000, 65536, 1048576 + 7, 5 * 1048576 + 3]
answers = 0
for n in sizes:
    a = hash_roundtrip(p1, os.urandom(n))
    answers += len(a) + 1  # "SHA N\n"
s = connect(p2)
t.check("forward two refuses 127.0.0.1", s.recv(10) == b"")
s.close()
s = connect(pr)
s.recv(10)
s.close()

# One connection still open, with bytes already relayed.
live = connect(p1)
live.sendall(b"z" * 12345)

ms = wait_for(lambda: (lambda m: m if metric(
    m, "hvproxy_bytes_total", forward="one", direction="up") ==
    sum(sizes) + 12345 else None)(metrics(mp)), 5)
t.check("bytes up = bytes sent, an open connection's included "
        f"({sum(sizes) + 12345})", ms is not None,
        str(metric(metrics(mp), "hvproxy_bytes_total", forward="one",
                   direction="up")))
ms = metrics(mp)
t.check(f"bytes down = bytes of the answers ({answers})",
        metric(ms, "hvproxy_bytes_total", forward="one",
               direction="down") == answers,
        str(metric(ms, "hvproxy_bytes_total", forward="one",
                   direction="down")))
t.check(f"connections_total{{one}} = {len(sizes) + 1}",
        metric(ms, "hvproxy_connections_total", forward="one") ==
        len(sizes) + 1)
t.check("connections_open{one} = 1",
        metric(ms, "hvproxy_connections_open", forward="one") == 1)
t.check("refusals{two, allowlist} = 1, connections_total{two} = 0",
        metric(ms, "hvproxy_refusals_total", forward="two",
               reason="allowlist") == 1 and
        metric(ms, "hvproxy_connections_total", forward="two") == 0)
t.check("errors{bad, connect} = 1",
        metric(ms, "hvproxy_errors_total", forward="bad",
               kind="connect") == 1)
t.check("errors{one, relay} = 0", metric(
    ms, "hvproxy_errors_total", forward="one", kind="relay") == 0)
live.shutdown(socket.SHUT_WR)
ans = live.recv(100).decode().strip()
live.close()
t.check("the live connection completes",
        ans == f"{sha256_bytes(b'z' * 12345)} 12345")

with urllib.request.urlopen(f"http://127.0.0.1:{mp}/metrics") as r:
    ctype = r.headers.get("Content-Type")
    body = r.read().decode()
t.check("Content-Type is Prometheus text 0.0.4",
        ctype.startswith("text/plain; version=0.0.4"), ctype)
families = [ln.split()[2] for ln in body.splitlines()
            if ln.startswith("# TYPE ")]
t.check("every family has HELP and TYPE, none twice",
        len(families) == len(set(families)) and
        body.count("# HELP ") == len(families))
try:
    urllib.request.urlopen(f"http://127.0.0.1:{mp}/nope")
    t.check("other paths: 404", False)
except urllib.error.HTTPError as e:
    t.check("other paths: 404", e.code == 404)
req = urllib.request.Request(f"http://127.0.0.1:{mp}/metrics", data=b"x",
                             method="POST")
try:
    urllib.request.urlopen(req)
    t.check("POST is refused", False)
except urllib.error.HTTPError as e:
    t.check("POST is refused", e.code in (405, 413, 501), str(e.code))
t.check("exit 0", p.stop() == 0)
t.done()
