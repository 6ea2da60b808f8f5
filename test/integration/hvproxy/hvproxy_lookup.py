# SPDX-License-Identifier: MIT
"""hvproxy-lookup: target host names are looked up off the event loop.

A stand-in name service (slowdns.so, preloaded) holds every lookup of
*.slow.test until the test creates a gate file. While one connection waits
in such a lookup, connections to other forwards (a numeric target, and a
name that answers at once) must be relayed: with the lookup on the loop's
thread they would hang behind it and fail here by their bounded wait, not
by a clock. Then the gate opens and the held connection is relayed too; a
name that does not resolve ends its connection with a logged reason."""
import os

from hvtest import Tap, free_port, wait_for, write_config
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.net import Server, closed_within, connect, echo_handler, echo_ok


t = Tap()
shim = os.environ.get("SLOWDNS", "")
if not t.check("the stand-in name service is built", os.path.exists(shim),
               repr(shim)):
    t.done()
echo_srv = Server(echo_handler)
eport = echo_srv.port
gate = t.path("gate")
ps, pn, pf, pbad, mp = (free_port() for _ in range(5))
conf = t.path("lookup.conf")
write_config(conf, f"""[global]
connect-timeout = 20s
metrics = 127.0.0.1:{mp}

[forward slow]
listen = tcp:{ps}
target = tcp:db.slow.test:{eport}

[forward numeric]
listen = tcp:{pn}
target = tcp:127.0.0.1:{eport}

[forward named]
listen = tcp:{pf}
target = tcp:db.fast.test:{eport}

[forward bad]
listen = tcp:{pbad}
target = tcp:nothing.fail.test:{eport}
""")
env = {"LD_PRELOAD": shim, "SLOWDNS_GATE": gate,
       # an ASan build wants its runtime first; the shim has none
       "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
       ":verify_asan_link_order=0"}
p = Proxy(t, ["-v", "-c", conf], env=env)

held = connect(ps)
held.sendall(b"held")
t.check("a connection to tcp:db.slow.test waits in the name lookup",
        wait_for(lambda: os.path.exists(gate + ".entered"), 20),
        p.log()[-400:])

s = connect(pn)
t.check("meanwhile a forward to a numeric target relays",
        echo_ok(s, b"num", timeout=20), p.log()[-400:])
s.close()
s = connect(pf)
t.check("meanwhile a forward to a name that answers at once relays",
        echo_ok(s, b"named", timeout=20), p.log()[-400:])
s.close()
t.check("... and the held connection is still waiting for its lookup",
        not os.path.exists(gate) and metric(
            metrics(mp), "hvproxy_connections_open", forward="slow") == 1)

open(gate, "w").close()
t.check("once the name resolves, the held connection is relayed, the bytes "
        "sent while it waited included",
        echo_ok(held, b" and more", sent_before=b"held", timeout=20),
        p.log()[-400:])
held.close()

s = connect(pbad)
ok, dt = closed_within(s, 20)
t.check("a target name that does not resolve: the client is closed", ok)
t.check("log names the failure (connect-failed, the name not resolved)",
        p.wait_log(r"conn fwd=bad .*end=connect-failed "
                   r"err=\S*(RESOLVE|resolv)", 20), p.log()[-400:])
t.check("exit 0", p.stop() == 0)
t.done()
