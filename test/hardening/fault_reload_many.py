# SPDX-License-Identifier: MIT
"""hardening-reload-many: a reload of 10,000 forwards, with a live
connection relaying round trips all the while.

hvproxy starts with N forwards, each on its own loopback address
(tcp:127.77.X.Y:P, one port for all), and two on unix sockets (a file
and an abstract name), all relaying to one echo server.
A client keeps doing echo round trips through forward 0. SIGHUP then
reloads a file in which forward 0 is renamed, two forwards swap places,
the last 10 are gone and 10 new ones come: the reload must be done
within a generous bound (60 s; it takes about a second), keep N - 8
listeners (the unix ones too: binding them again would fail, as they
are in use), and the live connection must go on working throughout. The
bound catches a reload whose cost explodes with the number of forwards
(matching every new forward against every old one made it cubic: minutes
at this N), not a slow machine. The times are printed, not judged.
"""
import os
import signal
import socket
import threading
import time

from hvtest import Tap, free_port, raise_nofile, wait_for, write_config
from hvtest.hvproxy import NotifyDrain, Proxy
from hvtest.loopserver import EchoServer
from hvtest.net import echo_ok

t = Tap()
N = 10000
BOUND = 60.0  # seconds for the start and for the reload
MSG = b"x" * 64


def host(i):
    """Forward i's own loopback address (127.77.0.1 onwards)."""
    return f"127.77.{i // 250}.{i % 250 + 1}"


if raise_nofile(N + 1024) < N + 256:
    t.skip_all(f"RLIMIT_NOFILE cannot reach {N + 256} (the hard limit)")
try:
    with socket.socket() as s:
        s.bind((host(N + 9), 0))
except OSError as e:
    t.skip_all(f"127.77.0.0/16 is not a loopback network here: {e}")

echo = EchoServer()
port = free_port()
SOCK = t.path("s.sock")
ABSTRACT = f"hvtest-reload-many-{os.getpid()}"


def config(forwards):
    """@forwards: (name, index of its address) in order; the two unix
    forwards come first."""
    out = ["[global]", "drain-timeout = 5s", "",
           "[forward sock]", f"listen = unix:{SOCK}", f"target = {echo.addr}",
           "", "[forward abstract]", f"listen = unix:@{ABSTRACT}",
           f"target = {echo.addr}", ""]
    for name, i in forwards:
        out += [f"[forward {name}]", f"listen = tcp:{host(i)}:{port}",
                f"target = {echo.addr}", ""]
    return "\n".join(out)


def answers(i, timeout=5):
    try:
        with socket.create_connection((host(i), port), timeout=timeout) as s:
            return echo_ok(s, MSG, timeout=timeout)
    except OSError:
        return False


def unix_answers(path):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(path)
            return echo_ok(s, MSG)
    except OSError:
        return False


def refused(i):
    try:
        socket.create_connection((host(i), port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


conf = t.path("hvproxy.conf")
first = [(f"f{i}", i) for i in range(N)]
write_config(conf, config(first))
t0 = time.monotonic()
p = Proxy(t, ["-c", conf], ready=False)
drain = NotifyDrain(p)


def readies():
    return sum(1 for m in list(p.messages) if "READY=1" in m)


started = wait_for(lambda: readies() >= 1 or not p.alive(), BOUND)
t_start = time.monotonic() - t0
if not t.check(f"hvproxy starts with {N:,} forwards (bound {BOUND:g} s)",
               started and p.alive(), p.log()[-2000:]):
    t.done()
t.note(f"start-up: {t_start:.2f} s")
t.check("the first and the last forward answer, and the unix ones",
        answers(0) and answers(N - 1) and unix_answers(SOCK) and
        unix_answers("\0" + ABSTRACT))

# The live connection: round trips back to back on a thread.
live = socket.create_connection((host(0), port), timeout=BOUND)
live.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
trips = [0]
failed = []
stop = threading.Event()


def pinger():
    while not stop.is_set():
        if not echo_ok(live, MSG, timeout=BOUND):
            failed.append(time.monotonic())
            return
        trips[0] += 1


th = threading.Thread(target=pinger, daemon=True)
th.start()
t.check("the live connection relays round trips",
        wait_for(lambda: trips[0] >= 50 or failed, 10) and not failed)

# Forward 0 renamed, forwards 1 and 2 swapped, the last 10 gone, 10 new.
second = [("zero", 0), ("f2", 2), ("f1", 1)] + \
    [(f"f{i}", i) for i in range(3, N - 10)] + \
    [(f"new{i}", i) for i in range(N, N + 10)]
write_config(conf, config(second))
before, trips0 = readies(), trips[0]
t0 = time.monotonic()
p.signal(signal.SIGHUP)
reloaded = wait_for(lambda: readies() > before or not p.alive(), BOUND,
                    step=0.01)
t_reload = time.monotonic() - t0
if not t.check(f"the reload of {N:,} forwards is done within {BOUND:g} s",
               reloaded and p.alive(),
               f"not done after {t_reload:.1f} s" if not reloaded
               else p.log()[-2000:]):
    t.done()  # hvproxy is killed: still stuck in the reload
t.note(f"reload: {t_reload:.2f} s, the live connection made "
       f"{trips[0] - trips0} round trips meanwhile")
t.check("the log counts 10 added, 10 removed, the others kept",
        p.wait_log(rf"reloaded .*: {N + 2} forwards \(10 added, 10 "
                   rf"removed, {N - 8} kept\); 1 connection open", 5),
        p.log()[-2000:])
later = trips[0]
t.check("the live connection keeps relaying after the reload",
        wait_for(lambda: trips[0] >= later + 50 or failed, 10) and
        not failed, f"failed: {failed}")
t.check("a new forward answers, a removed one refuses, kept ones answer",
        answers(N + 9) and refused(N - 1) and answers(0) and answers(1) and
        answers(N - 11) and unix_answers(SOCK) and
        unix_answers("\0" + ABSTRACT))
stop.set()
th.join(BOUND)
live.close()
drain.stop()
t.check("hvproxy exits 0 on SIGTERM", p.stop(BOUND) == 0)
t.done()
