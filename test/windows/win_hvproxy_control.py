# SPDX-License-Identifier: MIT
"""win-hvproxy-control: hvproxy.exe --control PID reload|stop under wine
(the named events Local\\hvproxy-PID-reload and -stop that stand for
SIGHUP and SIGTERM on Windows).

stop: the listeners close at once, a connection in flight finishes its
bytes, then the process exits 0. reload: after the config file is
rewritten, a new forward appears and an old one goes, while a connection
through a kept forward lives on; a config with an error is refused and
the one in force stays. --control with no such hvproxy: exit 1
and a message. SIGINT to the wine process reaches the console control
handler (Ctrl-C): the same drain, exit 0.

    win_hvproxy_control.py --wine-run=cross/wine-run --hvproxy=PATH
"""
import os
import signal
import socket
import threading

from hvtest import Tap, free_port, sha256_bytes, wait_for, winexe
from hvtest import write_config
from hvtest.net import (HashServer, Server, connect, echo_handler, echo_ok,
                        echo_port_ok, recv_all)
from hvtest.wintools import READY, Proxy, control, one_line, text

IO = 120  # bound on one socket operation, seconds

t = Tap()
prog = winexe.setup(t, "hvproxy")
hs = HashServer()
echo = Server(echo_handler)


def refused(port):
    try:
        connect(port, 5).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


# ---- no such hvproxy ----------------------------------------------------
r = control(prog.hvproxy, 99996, "stop")
t.check("--control with no such hvproxy: exit 1, one line saying so",
        r.returncode == 1 and one_line(r.stderr),
        f"rc {r.returncode} stderr {text(r.stderr)!r}")
r = winexe.run([prog.hvproxy, "--control", "12", "bogus"], timeout=READY)
t.check("--control PID bogus: exit 2, one line",
        r.returncode == 2 and one_line(r.stderr),
        f"rc {r.returncode} stderr {text(r.stderr)!r}")


def drain_case(name, stop):
    """A transfer in flight when @stop(proxy) is called: it arrives whole,
    new connections are refused meanwhile, exit 0."""
    port = free_port()
    p = Proxy(t, prog.hvproxy, ["--drain-timeout", "60s", f"tcp:{port}",
                                hs.addr])
    pid = p.win_pid()
    data = os.urandom(8 * 1024 * 1024 + 3)
    half = len(data) // 2
    answer = []
    stopping = threading.Event()

    def client():
        try:
            s = connect(port, IO)
            s.sendall(data[:half])
            stopping.wait(IO)  # the rest only once the drain began
            s.sendall(data[half:])
            s.shutdown(socket.SHUT_WR)
            answer.append(recv_all(s, IO).decode().strip())
            s.close()
        except OSError as e:
            answer.append(repr(e))

    th = threading.Thread(target=client, daemon=True)
    th.start()
    ok = stop(p, pid)
    began = p.wait_log(r"stopping", READY)
    t.check(f"{name}: the drain begins mid-transfer", ok and began,
            p.log()[-800:])
    t.check(f"{name}: new connections are refused at once",
            wait_for(lambda: refused(port), READY))
    t.check(f"{name}: hvproxy still runs while the transfer goes on",
            p.alive() and not answer)
    stopping.set()
    th.join(IO * 2)
    t.check(f"{name}: the transfer in flight arrived whole (sha256 at the "
            "target)", answer == [f"{sha256_bytes(data)} {len(data)}"],
            repr(answer))
    rc = p.wait(READY)
    t.check(f"{name}: exit 0 once the last connection is done", rc == 0,
            f"rc {rc}\n{p.log()[-800:]}")
    t.check(f"{name}: log: the connection ended normally (end=done)",
            p.wait_log(r"up=%d .*end=done" % len(data), 5), p.log()[-800:])
    p.kill()


def by_control(p, pid):
    r = control(prog.hvproxy, pid, "stop")
    return t.check("--control PID stop: exit 0", pid is not None and
                   r.returncode == 0,
                   f"pid {pid} rc {r.returncode} {text(r.stderr)}")


drain_case("--control stop", by_control)


def by_sigint(p, pid):
    p.signal(signal.SIGINT)
    return True


drain_case("SIGINT (Ctrl-C)", by_sigint)

# ---- reload ----------------------------------------------------------------
pa, pb, pc = free_port(), free_port(), free_port()
conf = t.path("reload.conf")
write_config(conf, f"""[forward a]
listen = tcp:{pa}
target = {echo.addr}

[forward b]
listen = tcp:{pb}
target = {echo.addr}
""")
p = Proxy(t, prog.hvproxy, ["-c", winexe.winpath(conf)], forwards=2)
pid = p.win_pid()
cb = connect(pb, IO)
t.check("before: a and b relay",
        echo_port_ok(pa, timeout=IO) and echo_ok(cb, timeout=IO))
write_config(conf, f"""[forward b]
listen = tcp:{pb}
target = {echo.addr}

[forward c]
listen = tcp:{pc}
target = {echo.addr}
""")
r = control(prog.hvproxy, pid, "reload")
t.check("--control PID reload: exit 0", pid is not None and
        r.returncode == 0, f"pid {pid} rc {r.returncode} {text(r.stderr)}")
t.check("log: reloaded, 1 added, 1 removed, 1 kept",
        p.wait_log(r"reloaded .*2 forwards \(1 added, 1 removed, 1 kept\)",
                   READY), p.log()[-800:])
t.check("the new forward c relays", echo_port_ok(pc, timeout=IO))
t.check("the old forward a no longer listens",
        wait_for(lambda: refused(pa), READY))
t.check("b's connection made before the reload still relays",
        echo_ok(cb, timeout=IO))
t.check("b takes new connections", echo_port_ok(pb, timeout=IO))

# A config with an error: refused, the one in force stays.
write_config(conf, f"""[forward b]
listen = tcp:{pb}
target = {echo.addr}
bogus = 1
""")
r = control(prog.hvproxy, pid, "reload")
t.check("a reload of a bad config: refused, the error names FILE:4",
        r.returncode == 0 and
        p.wait_log(r"reload: the configuration has errors", READY) and
        p.wait_log(r"reload\.conf:4: unknown key 'bogus'", READY),
        p.log()[-800:])
t.check("... and b and c still relay, b's connection lives",
        echo_port_ok(pb, timeout=IO) and echo_port_ok(pc, timeout=IO) and
        echo_ok(cb, timeout=IO))
cb.close()
r = control(prog.hvproxy, pid, "stop")
rc = p.wait(READY)
t.check("--control stop after the reload: exit 0",
        r.returncode == 0 and rc == 0, f"control rc {r.returncode} "
        f"hvproxy rc {rc} {p.log()[-500:]}")
r = control(prog.hvproxy, pid, "stop")
t.check("--control PID stop once it has exited: exit 1, one line",
        r.returncode == 1 and one_line(r.stderr),
        f"rc {r.returncode} stderr {text(r.stderr)!r}")
p.kill()
t.done()
