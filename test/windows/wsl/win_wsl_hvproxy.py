# SPDX-License-Identifier: MIT
"""win-wsl-hvproxy: hvproxy following the WSL2 VM (hvsock:wsl:PORT), on
the Hyper-V socket emulation under wine, with the stand-in wsl.exe.

    hvproxy-hvemu.exe -v --wsl-poll 1s hvsock:wsl:5020 tcp:127.0.0.1:PORT

  - it listens on the exact VM id wsl.exe reports (never the wildcard,
    which does not let the WSL VM in); a guest in that WSL VM reaches the
    tcp server through hvsock:parent:5020, bytes both ways (SHA-256);
  - WSL restarts (a new id): the listener moves to the new id, a
    connection accepted on the old one runs to its end whole, a guest in
    the new VM gets through, the old VM no longer does;
  - WSL stopped, back with a new id, a WSL1 distribution, a wslinfo
    without --vm-id, wsl.exe failing, no wsl.exe at all, back again, and
    wsl.exe hanging past its deadline (twice): each said once in the log
    (not at every check), wsl.exe run about once a check and no more, the
    proxy alive, and following WSL again when it is back;
  - wsl-poll from a configuration file, changed by a reload for the
    forward that stays (hvproxy --control PID reload).

    win_wsl_hvproxy.py --wine-run=cross/wine-run --hvproxy=PATH \\
        --hvcat=PATH --wsl=wsl-standin.exe --prefix=DIR
"""
import hashlib
import os
import re
import socket
import subprocess
import threading
import time

from hvtest import Tap, files, wait_for, winexe, write_config
from hvtest.net import Server
from hvtest.wintools import Proxy, control

import wsltools
from wsltools import VM_A, VM_B, VM_C

PORT = 5020
POLL = 1.0  # --wsl-poll, seconds
IO = 120  # bound on one transfer
SEEN = 120  # bound on hvproxy noticing a change (many polls)
HUNG = 20  # hvproxy's deadline on one wsl.exe run, seconds
WINDOW = 5.0  # how long runs and CPU time are counted in a bad state

t = Tap()
prog = wsltools.setup(t, "hvproxy", "hvcat")
wsl = wsltools.StandIn(t, prog.wsl)
rdv = t.path("rdv")
os.mkdir(rdv)
host_env = wsltools.emu_env(rdv)

up = files.mkrand(t.path("up.bin"), 600 * 1024 + 7)
down = files.mkrand(t.path("down.bin"), 300 * 1024 + 3)
with open(down, "rb") as f:
    down_bytes = f.read()


class BothWays(Server):
    """Reads to EOF (hashed, in .results) while it sends down.bin, then
    closes; .got counts the bytes read so far by the open connections."""

    def __init__(self):
        self.results = []
        self.got = 0
        super().__init__(self._handle)

    def _handle(self, c):
        sender = threading.Thread(target=self._send, args=(c,), daemon=True)
        sender.start()
        h = hashlib.sha256()
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            h.update(b)
            n += len(b)
            self.got += len(b)
        sender.join(IO)
        self.results.append((h.hexdigest(), n))

    @staticmethod
    def _send(c):
        try:
            c.sendall(down_bytes)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass


srv = BothWays()
want_up = (files.sha256_file(up), os.path.getsize(up))
want_down = files.sha256_file(down)


def guest(vmid, name, extra=()):
    """hvcat in the WSL VM @vmid sends up.bin to hvsock:parent:PORT and
    keeps what comes back: (exit status, stderr, sha256 of what came
    back)."""
    out = t.path(f"{name}.out")
    with open(up, "rb") as fin, open(out, "wb") as fout:
        r = winexe.run([prog.hvcat] + list(extra) +
                       [f"hvsock:parent:{PORT}"], stdin=fin, stdout=fout,
                       timeout=IO, env=wsltools.emu_env(rdv, vmid))
    return r.returncode, winexe_text(r.stderr), files.sha256_file(out)


def winexe_text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def check_through(vmid, what):
    """A guest in @vmid gets through, bytes both ways whole."""
    before = len(srv.results)
    rc, err, back = guest(vmid, f"guest-{what}")
    got = wait_for(lambda: len(srv.results) > before, 10)
    t.check(f"{what}: the guest's hvcat exits 0", rc == 0,
            f"rc {rc}: {err[-2000:]}")
    t.check(f"{what}: its bytes reach the tcp server whole (SHA-256)",
            got and srv.results[-1] == want_up,
            f"got {srv.results[-1:]}, expected {want_up}")
    t.check(f"{what}: the server's bytes reach the guest whole (SHA-256)",
            back == want_down, err[-2000:])


def bound():
    return wsltools.bound(rdv, PORT)


def wait_bound(vmid):
    return wait_for(lambda: bound() == [vmid], SEEN, step=0.2)


def cpu_seconds(pid):
    """User and system CPU time of the Unix process @pid so far."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            st = f.read()
        fields = st[st.rindex(b")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def bad_state(what, rx, per_check, **state):
    """Tell the stand-in @state; hvproxy must say @rx (a regex) once,
    keep checking at its pace (about @per_check wsl.exe runs a check),
    not spin, and live on."""
    wsl.set(**state)
    said = wait_for(lambda: re.search(rx, p.log(), re.M), SEEN, step=0.2)
    t.check(f"{what}: hvproxy says so", said, p.log()[-3000:])
    n0, c0, t0 = wsl.count(), cpu_seconds(p.pid), time.monotonic()
    time.sleep(WINDOW)
    runs = wsl.count() - n0
    cpu = cpu_seconds(p.pid) - c0
    span = time.monotonic() - t0
    limit = per_check * (span / POLL + 2) * 2
    t.check(f"{what}: wsl.exe runs about once a check, no more "
            f"({runs} runs in {span:.1f} s)", runs <= limit,
            f"{runs} runs, at most {limit:.0f} expected")
    t.check(f"{what}: no busy loop ({cpu:.2f} s of CPU in {span:.1f} s)",
            cpu < span / 2, f"{cpu:.2f} s of CPU")
    if per_check:
        more = wait_for(lambda: wsl.count() >= n0 + runs + per_check, SEEN)
        t.check(f"{what}: checked again", more, f"{wsl.count()} runs")
    n = len(re.findall(rx, p.log(), re.M))
    t.check(f"{what}: said once, not at every check", n == 1,
            f"said {n} times:\n{p.log()[-3000:]}")
    t.check(f"{what}: hvproxy runs on", p.alive(), p.log()[-2000:])


# ---- it listens on the VM id wsl.exe reports -----------------------------
wsl.set(running="Ubuntu", vmid=VM_A)
p = Proxy(t, prog.hvproxy, ["--wsl-poll", "1s", f"hvsock:wsl:{PORT}",
                            srv.addr], ready=False, env=host_env)
t.check("WSL running: hvproxy listens on the VM id wsl.exe reports",
        wait_bound(VM_A), f"bound {bound()}\n{p.log()[-2000:]}")
t.check("WSL running: the log names the VM id",
        re.search(rf"hvsock:wsl:{PORT}: listening on the WSL VM {VM_A}",
                  p.log()), p.log()[-2000:])
t.check("WSL running: the poll interval is --wsl-poll's",
        "checked every 1s" in p.log(), p.log()[-2000:])
check_through(VM_A, "WSL VM A")

# ---- WSL restarts: a new id ----------------------------------------------
with open(up, "rb") as f:
    data = f.read()
half = len(data) // 2
long_out = t.path("long.out")
long_err = t.path("long.err")
before = len(srv.results)
with open(long_out, "wb") as fout, open(long_err, "wb") as ferr:
    lp = winexe.start([prog.hvcat, f"hvsock:parent:{PORT}"],
                      stdin=subprocess.PIPE, stdout=fout, stderr=ferr,
                      env=wsltools.emu_env(rdv, VM_A))
lp.stdin.write(data[:half])
lp.stdin.flush()
t.check("restart: a connection from VM A is open and half sent",
        wait_for(lambda: srv.got >= half, IO), f"{srv.got} bytes")
wsl.set(running="Ubuntu", vmid=VM_B)
t.check("restart: the listener moves to the new VM id",
        wait_bound(VM_B), f"bound {bound()}\n{p.log()[-2000:]}")
t.check("restart: the log says WSL restarted, with the new id",
        re.search(rf"WSL restarted: now listening on VM id {VM_B}",
                  p.log()), p.log()[-2000:])
lp.stdin.write(data[half:])
lp.stdin.close()
try:
    rc = lp.wait(IO)
except subprocess.TimeoutExpired:
    rc = "timeout"
winexe.kill(lp)
got = wait_for(lambda: len(srv.results) > before, 10)
t.check("restart: the connection accepted on the old id ends, exit 0",
        rc == 0, f"rc {rc}: {open(long_err, 'rb').read()[-2000:]!r}")
t.check("restart: its bytes reach the server whole (SHA-256)",
        got and srv.results[before] == want_up, f"{srv.results[before:]}")
t.check("restart: the server's bytes reach it whole (SHA-256)",
        files.sha256_file(long_out) == want_down, "")
check_through(VM_B, "WSL VM B (after the restart)")
rc, err, _ = guest(VM_A, "guest-old", extra=["-w", "3s"])
t.check("restart: the old VM's id is no longer listened on",
        rc not in (0, "timeout"), f"rc {rc}: {err[-1000:]}")

# ---- WSL stopped, then back with a new id --------------------------------
bad_state("WSL stopped", r"WSL is not running \(no running distribution\)"
          rf".*still listening on VM id {VM_B}", 1)
wsl.set(running="Debian", vmid=VM_C)
t.check("WSL back: the listener moves to its new id", wait_bound(VM_C),
        f"bound {bound()}\n{p.log()[-2000:]}")
check_through(VM_C, "WSL VM C (back)")

# ---- WSL1, an old wslinfo, wsl.exe failing, no wsl.exe -------------------
bad_state("WSL1", r"runs under WSL1, which has no VM", 2, running="Ubuntu",
          vmid="wsl1")
bad_state("wslinfo without --vm-id",
          r"`wsl.exe -- wslinfo --vm-id` gave no VM id \(exit status 1;", 2,
          running="Ubuntu", old_wslinfo=True)
bad_state("wsl.exe failing",
          r"`wsl.exe --list --running --quiet` failed \(exit status 3;", 1,
          fail=3)
wsl.uninstall()
bad_state("no wsl.exe", r"WSL is not installed \(wsl.exe in the "
          r"system directory is missing or fails\) \(error \d+\)", 0)
t.check("no wsl.exe: the listener stays on the last id", bound() == [VM_C],
        f"bound {bound()}")
wsl.install()
wsl.set(running="Debian", vmid=VM_C)
t.check("WSL back with the same id: said once",
        wait_for(lambda: re.search(r"WSL answers again: still listening on "
                                   rf"VM id {VM_C}", p.log()), SEEN),
        p.log()[-2000:])

# ---- wsl.exe hangs ---------------------------------------------------------
wsl.set(hang="list")
n0 = wsl.count()
said = wait_for(lambda: re.search(r"wsl.exe did not answer within "
                                  rf"{HUNG} s", p.log()), HUNG + SEEN)
t.check("wsl.exe hanging: hvproxy stops it at its deadline and says so",
        said, p.log()[-2000:])
# A second run that hangs too (it has read its orders once logged), then
# WSL answers again with a new id.
t.check("wsl.exe hanging: checked again after the deadline",
        wait_for(lambda: wsl.count() >= n0 + 2, SEEN), f"{wsl.count()}")
wsl.set(running="Ubuntu", vmid=VM_A)
t.check("wsl.exe answers again: the listener follows it",
        wait_for(lambda: bound() == [VM_A], HUNG + SEEN, step=0.2),
        f"bound {bound()}\n{p.log()[-2000:]}")
n = len(re.findall(r"did not answer within", p.log()))
t.check("wsl.exe hanging twice: said once", n == 1,
        f"said {n} times:\n{p.log()[-3000:]}")
check_through(VM_A, "WSL VM A again")

# ---- a reload changes wsl-poll for a forward that stays ------------------
conf = t.path("wsl.conf")
CONF = """[global]
wsl-poll = {}
[forward wsl]
listen = hvsock:wsl:5021
target = {}
"""
write_config(conf, CONF.format("1s", srv.addr))
p2 = Proxy(t, prog.hvproxy, ["-c", winexe.winpath(conf)], ready=False,
           env=host_env)
t.check("config file: wsl-poll = 1s is used",
        p2.wait_log(r"hvsock:wsl:5021: following the WSL VM id \(checked "
                    r"every 1s\)", SEEN), p2.log()[-2000:])
t.check("config file: the forward listens on the VM id",
        wait_for(lambda: wsltools.bound(rdv, 5021) == [VM_A], SEEN, 0.2),
        f"bound {wsltools.bound(rdv, 5021)}\n{p2.log()[-2000:]}")
write_config(conf, CONF.format("3s", srv.addr))
r = control(prog.hvproxy, p2.win_pid(), "reload")
t.check("reload: --control PID reload exits 0", r.returncode == 0,
        f"rc {r.returncode}: {r.stderr[-1000:]!r}")
t.check("reload: the forward stays and is checked every 3s from now on",
        p2.wait_log(r"hvsock:wsl:5021: now checked every 3s", SEEN) and
        p2.wait_log(r"reloaded .*1 kept", SEEN), p2.log()[-2000:])
wsl.set(running="Ubuntu", vmid=VM_B)
t.check("reload: it still follows the VM",
        wait_for(lambda: wsltools.bound(rdv, 5021) == [VM_B], SEEN, 0.2),
        f"bound {wsltools.bound(rdv, 5021)}\n{p2.log()[-2000:]}")
p2.kill()

t.check("hvproxy is still running", p.alive(), p.log()[-2000:])
t.check("no emulation violation", "hvemu: VIOLATION" not in p.log(),
        p.log()[-2000:])
p.kill()
srv.close()
t.done()
