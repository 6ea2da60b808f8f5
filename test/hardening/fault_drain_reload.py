# SPDX-License-Identifier: MIT
"""hardening-drain-reload: SIGHUP while a SIGTERM drain is under way.

hvproxy relays one long-lived connection through forward a when SIGTERM
comes (drain timeout 60 s): it stops listening and waits for that
connection. The file then gains forward b, and SIGHUP arrives. A
draining daemon must not listen again: the reload is ignored (logged:
"reload ignored: draining, 1 connection left"), no RELOADING=1 is sent,
neither a's nor b's port takes a connection, and the live connection
goes on. Once it ends, hvproxy exits 0.
"""
import signal
import socket

from hvtest import Tap, free_port, write_config
from hvtest.hvproxy import Proxy
from hvtest.loopserver import EchoServer
from hvtest.net import echo_ok

t = Tap()
echo = EchoServer()
pa, pb = free_port(), free_port()
FWD_A = f"[forward a]\nlisten = tcp:127.0.0.1:{pa}\ntarget = {echo.addr}\n"
FWD_B = f"[forward b]\nlisten = tcp:127.0.0.1:{pb}\ntarget = {echo.addr}\n"
conf = t.path("hvproxy.conf")
write_config(conf, "[global]\ndrain-timeout = 60s\n\n" + FWD_A)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


p = Proxy(t, ["-c", conf])
live = socket.create_connection(("127.0.0.1", pa), timeout=10)
t.check("a live connection relays through forward a", echo_ok(live))

p.signal(signal.SIGTERM)
t.check("SIGTERM: hvproxy drains, waiting for the live connection",
        p.wait_log(r"stopping: no longer accepting.* 1 connection\b", 10),
        p.log())
t.check("forward a no longer listens", refused(pa))

write_config(conf, "[global]\ndrain-timeout = 60s\n\n" + FWD_A + "\n" +
             FWD_B)
p.signal(signal.SIGHUP)
handled = p.wait_log(r"reload ignored|reloaded", 10)
t.check("SIGHUP while draining: the reload is ignored, and logged",
        handled and p.wait_log(r"reload ignored: draining, 1 connection "
                               r"left", 1), p.log())
t.check("the new forward b does not listen", refused(pb))
t.check("forward a does not listen again", refused(pa))
t.check("no RELOADING=1 is sent while stopping",
        p.alive() and not p.wait_notify("RELOADING=1", 1),
        "\n".join(p.messages))
t.check("the live connection still relays", echo_ok(live, b"again"))
live.close()
t.check("hvproxy exits 0 once the live connection is gone",
        p.wait(10) == 0, p.log())
t.done()
