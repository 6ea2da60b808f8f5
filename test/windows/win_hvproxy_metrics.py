# SPDX-License-Identifier: MIT
"""win-hvproxy-metrics: hvproxy.exe under wine serves its metrics (the
`metrics` setting) at GET /metrics on 127.0.0.1, and the counters move
with the bytes and connections relayed.

    win_hvproxy_metrics.py --wine-run=cross/wine-run --hvproxy=PATH
"""
import os

from hvtest import Tap, free_port, sha256_bytes, wait_for, winexe
from hvtest import write_config
from hvtest.hvproxy import metric, metrics
from hvtest.net import HashServer, hash_roundtrip
from hvtest.wintools import READY, Proxy

t = Tap()
prog = winexe.setup(t, "hvproxy")
hs = HashServer()
pf, mp = free_port(), free_port()
conf = t.path("m.conf")
write_config(conf, f"""[global]
metrics = 127.0.0.1:{mp}

[forward one]
listen = tcp:{pf}
target = {hs.addr}
""")
p = Proxy(t, prog.hvproxy, ["-c", winexe.winpath(conf)])


def scrape():
    try:
        return metrics(mp, timeout=READY)
    except (OSError, ValueError):
        return None


ms = wait_for(scrape, READY)
t.check("GET /metrics answers, in the text format", ms is not None,
        p.log()[-800:])
ms = ms or {}
t.check("fresh: connections_total{one} = 0, bytes up = 0",
        metric(ms, "hvproxy_connections_total", forward="one") == 0 and
        metric(ms, "hvproxy_bytes_total", forward="one",
               direction="up") == 0, repr(ms)[:800])

data = os.urandom(1024 * 1024 + 7)
ans = hash_roundtrip(pf, data, READY)
t.check("a request through the forward is answered",
        ans == f"{sha256_bytes(data)} {len(data)}", ans)


def moved():
    m = scrape()
    return m if m and metric(m, "hvproxy_connections_total",
                             forward="one") == 1 and \
        metric(m, "hvproxy_connections_open", forward="one") == 0 else None


ms = wait_for(moved, READY) or scrape() or {}
t.check("connections_total{one} moved to 1 (none open)",
        metric(ms, "hvproxy_connections_total", forward="one") == 1 and
        metric(ms, "hvproxy_connections_open", forward="one") == 0,
        repr(ms)[:800])
t.check(f"bytes_total{{one, up}} = {len(data)}",
        metric(ms, "hvproxy_bytes_total", forward="one",
               direction="up") == len(data))
t.check(f"bytes_total{{one, down}} = {len(ans) + 1}",
        metric(ms, "hvproxy_bytes_total", forward="one",
               direction="down") == len(ans) + 1)
t.check("hvproxy.exe still runs", p.alive(), p.log()[-800:])
p.kill()
t.done()
