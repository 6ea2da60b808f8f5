# SPDX-License-Identifier: MIT
"""win-service: hvproxy.exe as a Windows service, under wine's service
manager (services.exe of the prefix).

The commands of docs/windows.md, "Running hvproxy as a service": install
(the service's registry key read back: command line, start type,
account, description), start with sc.exe start, a relay through a tcp
forward (127.0.0.1) checked by sha256, a reload through hvproxy
--control NAME reload (a forward added, a connection kept), a stop with
sc.exe stop while a transfer is in flight (the listeners close, the
transfer ends whole, the service is STOPPED with exit code 0 and the log
file shows the drain), then net start and --remove-service of the
running service (stopped, then deleted: nothing left in the registry).

    win_service.py --wine-run=cross/wine-run --hvproxy=PATH
"""
import os
import re
import socket
import threading

from hvtest import Tap, free_port, sha256_bytes, wait_for, winexe
from hvtest import write_config
from hvtest.net import (HashServer, Server, connect, echo_handler,
                        echo_port_ok, hash_roundtrip, recv_all)
from hvtest.wintools import READY, text

import svctools
from svctools import RUNNING, STOPPED

IO = 120  # bound on one socket operation, seconds

t = Tap()
prog = winexe.setup(t, "hvproxy")
svcs = svctools.Services(t)
keeper = svctools.keep_prefix(t, prog.hvproxy)
image = f"hvsvc-{os.getpid()}.exe"
exe = winexe.copy_program(t, prog.hvproxy, image)
name = f"hvtest-svc-{os.getpid()}"
svcs.track(name, image)
hs = HashServer()
echo = Server(echo_handler)
pa, pb = free_port(), free_port()
conf = t.path("svc.conf")
log = t.path("svc.log")


def log_text():
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_log(rx, timeout=READY):
    return bool(wait_for(lambda: re.search(rx, log_text(), re.M), timeout,
                         step=0.2))


def refused(port):
    try:
        connect(port, 5).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def hash_ok(port, n=100003):
    d = os.urandom(n)
    try:
        return hash_roundtrip(port, d, IO) == f"{sha256_bytes(d)} {n}"
    except OSError:
        return False


def hvproxy(*args):
    return svctools.run([exe] + list(args), timeout=READY)


write_config(conf, f"""[forward a]
listen = tcp:127.0.0.1:{pa}
target = {hs.addr}
""")

# ---- install ---------------------------------------------------------------
r = hvproxy("--install-service", "--service-name", name, "--start",
            "demand", "-c", winexe.winpath(conf), "-v", "--log-file",
            winexe.winpath(log), "--drain-timeout", "60s")
t.check("--install-service: exit 0, says so on stdout",
        r.returncode == 0 and f"installed service {name}" in text(r.stdout),
        f"rc {r.returncode} out {text(r.stdout)!r} err {text(r.stderr)!r}")
cfg = svctools.reg_config(name) or {}
want = (f'"{winexe.winpath(exe)}" --service {name} -c '
        f'{winexe.winpath(conf)} -v --log-file {winexe.winpath(log)} '
        f'--drain-timeout 60s')
t.check("its command line: the .exe quoted, --service NAME, -c FILE and "
        "the options given", cfg.get("ImagePath") == want,
        f"ImagePath {cfg.get('ImagePath')!r}\nwant      {want!r}")
t.check("own process (type 0x10), demand start (3), error control normal",
        cfg.get("Type") == 0x10 and cfg.get("Start") == 3 and
        cfg.get("ErrorControl") == 1, repr(cfg))
t.check("account NT AUTHORITY\\LocalService",
        cfg.get("ObjectName") == "NT AUTHORITY\\LocalService", repr(cfg))
t.check("a description naming the configuration file and the reload",
        winexe.winpath(conf) in cfg.get("Description", "") and
        f"sc.exe control {name} paramchange" in cfg.get("Description", ""),
        repr(cfg))
st = svctools.query(name)
t.check("sc.exe query: STOPPED", st is not None and st["state"] == STOPPED,
        st and st["text"])

# ---- start, relay ----------------------------------------------------------
r = svctools.sc("start", name)
t.check("sc.exe start: exit 0", r.returncode == 0,
        f"rc {r.returncode} {text(r.stdout)} {text(r.stderr)}")
st = svctools.wait_state(name, RUNNING, READY)
t.check("the service gets to RUNNING, no exit code",
        st is not None and st["state"] == RUNNING and st["win32"] == 0,
        (st and st["text"]) or "no such service")
t.check("the log file says the forward listens",
        wait_log(rf"forward a: listening on tcp:127.0.0.1:{pa}"),
        log_text()[-1500:])
t.check("the log names the service's stop and reload commands",
        f"sc.exe stop {name}" in log_text(), log_text()[-1500:])
data = os.urandom(1024 * 1024 + 7)
try:
    s = connect(pa, IO)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    ans = recv_all(s, IO).decode().strip()
    s.close()
except OSError as e:
    ans = repr(e)
t.check("a connection through the service's forward: the bytes arrive "
        "whole (sha256)", ans == f"{sha256_bytes(data)} {len(data)}", ans)

# ---- reload ----------------------------------------------------------------
cb = None
n0 = len(hs.conns)
try:
    cb = connect(pa, IO)
    wait_for(lambda: len(hs.conns) > n0, IO)
except OSError:
    pass
write_config(conf, f"""[forward a]
listen = tcp:127.0.0.1:{pa}
target = {echo.addr}

[forward b]
listen = tcp:127.0.0.1:{pb}
target = {hs.addr}
""")
r = hvproxy("--control", name, "reload")
t.check("hvproxy --control NAME reload: exit 0", r.returncode == 0,
        f"rc {r.returncode} {text(r.stderr)}")
t.check("log: reloaded: 1 added, 1 kept",
        wait_log(r"reloaded .*2 forwards \(1 added, 0 removed, 1 kept\)"),
        log_text()[-1500:])
t.check("the new forward b relays", hash_ok(pb))
t.check("forward a now relays to its new target (an echo)",
        echo_port_ok(pa, timeout=IO))
small = os.urandom(4099)
try:
    cb.sendall(small)
    cb.shutdown(socket.SHUT_WR)
    ans = recv_all(cb, IO).decode().strip()
    cb.close()
except (OSError, AttributeError) as e:
    ans = repr(e)
t.check("a's connection made before the reload lives on, to its old "
        "target", ans == f"{sha256_bytes(small)} {len(small)}", ans)

# ---- stop: the drain -------------------------------------------------------
half = len(data) // 2
answer = []
sent_half = threading.Event()
stopping = threading.Event()


def client():
    try:
        c = connect(pb, IO)
        c.sendall(data[:half])
        sent_half.set()
        stopping.wait(IO)
        c.sendall(data[half:])
        c.shutdown(socket.SHUT_WR)
        answer.append(recv_all(c, IO).decode().strip())
        c.close()
    except OSError as e:
        answer.append(repr(e))


th = threading.Thread(target=client, daemon=True)
th.start()
conns_before = len(hs.conns)
sent_half.wait(IO)
# Stop only once hvproxy has taken the connection (its target has it).
wait_for(lambda: len(hs.conns) > conns_before, IO)
r = svctools.sc("stop", name)
t.check("sc.exe stop: exit 0", r.returncode == 0,
        f"rc {r.returncode} {text(r.stdout)} {text(r.stderr)}")
t.check("log: the stop control starts the drain",
        wait_log(r"service control: stop: stopping"), log_text()[-1500:])
t.check("the listeners close at once", wait_for(lambda: refused(pa) and
                                                refused(pb), READY))
st = svctools.query(name)
t.check("the service is STOP_PENDING while the transfer goes on",
        st is not None and st["state"] == svctools.STOP_PENDING and
        not answer, (st and st["text"]) or repr(answer))
stopping.set()
th.join(IO * 2)
t.check("the transfer in flight arrived whole (sha256 at the target)",
        answer == [f"{sha256_bytes(data)} {len(data)}"], repr(answer))
st = svctools.wait_state(name, STOPPED, READY)
t.check("STOPPED with exit code 0 (WIN32_EXIT_CODE and SERVICE_EXIT_CODE)",
        st is not None and st["state"] == STOPPED and st["win32"] == 0 and
        st["service"] == 0, (st and st["text"]) or "no such service")
t.check("log: all connections closed",
        wait_log(r"all connections closed"), log_text()[-1500:])
t.check("the service's process has exited",
        wait_for(lambda: not svctools.image_pids(image), READY))

# ---- net start, then --remove-service of the running service --------------
r = svctools.run(["net.exe", "start", name], timeout=READY)
st = svctools.wait_state(name, RUNNING, READY)
t.check("net start NAME: RUNNING again", r.returncode == 0 and
        st is not None and st["state"] == RUNNING,
        f"rc {r.returncode} {text(r.stdout)} {(st and st['text'])}")
t.check("... and relays", hash_ok(pb))
r = hvproxy("--remove-service", "--service-name", name)
t.check("--remove-service of the running service: exit 0, stopped, then "
        "removed", r.returncode == 0 and
        "stopping service" in text(r.stdout) and
        f"removed service {name}" in text(r.stdout),
        f"rc {r.returncode} out {text(r.stdout)!r} err {text(r.stderr)!r}")
t.check("the service is gone (sc.exe query, the registry key)",
        svctools.query(name) is None and svctools.reg_config(name) is None)
t.check("its process has exited, its listeners are closed",
        wait_for(lambda: not svctools.image_pids(image), READY) and
        refused(pb))
t.check("log: stopped by the service control", len(re.findall(
    r"service control: stop: stopping", log_text())) == 2,
    log_text()[-1500:])
t.done()
