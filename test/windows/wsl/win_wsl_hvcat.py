# SPDX-License-Identifier: MIT
"""win-wsl-hvcat: hvcat with hvsock:wsl:PORT on the Windows host, on the
Hyper-V socket emulation under wine, with the stand-in wsl.exe.

  - hvcat-hvemu.exe -l hvsock:wsl:5030 listens on the exact VM id
    wsl.exe reports; a guest in that WSL VM connects to
    hvsock:parent:5030, bytes both ways whole (SHA-256);
  - hvcat-hvemu.exe hvsock:wsl:5031 reaches a listener in the WSL VM
    (hvcat -l hvsock:parent:5031 there), bytes both ways whole;
  - after a WSL restart (a new id) a new listener binds the new id;
  - no wsl.exe, WSL stopped (wslinfo is then never run: it would start
    WSL), a WSL1 distribution, a wslinfo without --vm-id, wsl.exe
    hanging: hvcat -l exits 1 with one line saying which.

    win_wsl_hvcat.py --wine-run=cross/wine-run --hvcat=PATH \\
        --hvproxy=PATH --wsl=wsl-standin.exe --prefix=DIR
"""
import os
import subprocess

from hvtest import Tap, files, winexe
from hvtest.wintools import Listener, one_line, text

import wsltools
from wsltools import VM_A, VM_B

IO = 120
HUNG = 20  # the library's deadline on one wsl.exe run, seconds

t = Tap()
prog = wsltools.setup(t, "hvcat", "hvproxy")
wsl = wsltools.StandIn(t, prog.wsl)
rdv = t.path("rdv")
os.mkdir(rdv)
host_env = wsltools.emu_env(rdv)

up = files.mkrand(t.path("up.bin"), 512 * 1024 + 5)
down = files.mkrand(t.path("down.bin"), 200 * 1024 + 9)

# ---- hvcat -l hvsock:wsl:PORT --------------------------------------------
wsl.set(running="Ubuntu", vmid=VM_A)
got_up = t.path("got-up.bin")
with open(down, "rb") as lin, open(got_up, "wb") as lout:
    listener = Listener(t, prog.hvcat, [], addr="hvsock:wsl:5030",
                        stdin=lin, stdout=lout, env=host_env)
    t.check("hvcat -l hvsock:wsl:5030 listens", listener.port == 5030,
            listener.log()[-2000:])
    t.check("it listens on the VM id wsl.exe reports",
            wsltools.bound(rdv, 5030) == [VM_A],
            f"bound {wsltools.bound(rdv, 5030)}")
    with open(up, "rb") as cin:
        r = winexe.run([prog.hvcat, "hvsock:parent:5030"], stdin=cin,
                       timeout=IO, env=wsltools.emu_env(rdv, VM_A))
    t.check("a guest in the WSL VM connects (hvsock:parent:5030), exit 0",
            r.returncode == 0, r.stderr[-2000:])
    t.check("the listener's bytes reach the WSL guest whole (SHA-256)",
            files.sha256_bytes(r.stdout) == files.sha256_file(down),
            f"{len(r.stdout)} bytes")
    rc = listener.wait(IO)
    t.check("the listener exits 0", rc == 0,
            f"rc {rc}\n{listener.log()[-2000:]}")
t.check("the WSL guest's bytes reach the listener whole (SHA-256)",
        files.sha256_file(got_up) == files.sha256_file(up),
        f"{os.path.getsize(got_up)} bytes")
t.check("the listener names the WSL VM as the peer",
        f"connection from hvsock:{VM_A}" in listener.log(),
        listener.log()[-2000:])

# ---- hvcat hvsock:wsl:PORT (a connect) -----------------------------------
got_down = t.path("got-down.bin")
with open(down, "rb") as lin, open(got_down, "wb") as lout:
    guest = Listener(t, prog.hvcat, [], addr="hvsock:parent:5031",
                     stdin=lin, stdout=lout,
                     env=wsltools.emu_env(rdv, VM_A))
    t.check("a WSL guest listens on hvsock:parent:5031", guest.port == 5031,
            guest.log()[-2000:])
    with open(up, "rb") as cin:
        r = winexe.run([prog.hvcat, "hvsock:wsl:5031"], stdin=cin,
                       timeout=IO, env=host_env)
    t.check("hvcat hvsock:wsl:5031 reaches it, exit 0", r.returncode == 0,
            r.stderr[-2000:])
    t.check("the guest's bytes reach the host whole (SHA-256)",
            files.sha256_bytes(r.stdout) == files.sha256_file(down),
            f"{len(r.stdout)} bytes")
    rc = guest.wait(IO)
    t.check("the guest's listener exits 0", rc == 0,
            f"rc {rc}\n{guest.log()[-2000:]}")
t.check("the host's bytes reach the guest whole (SHA-256)",
        files.sha256_file(got_down) == files.sha256_file(up),
        f"{os.path.getsize(got_down)} bytes")

# ---- after a WSL restart: the new id -------------------------------------
wsl.set(running="Ubuntu", vmid=VM_B)
listener = Listener(t, prog.hvcat, [], addr="hvsock:wsl:5032", env=host_env)
t.check("after a restart hvcat -l hvsock:wsl:5032 listens on the new id",
        listener.port == 5032 and wsltools.bound(rdv, 5032) == [VM_B],
        f"bound {wsltools.bound(rdv, 5032)}\n{listener.log()[-2000:]}")
listener.kill()


# ---- no VM id: one line, exit 1 ------------------------------------------
def refused(what, want, timeout=IO):
    """hvcat -l hvsock:wsl:5033 must exit 1 with one line containing
    @want (and no listener left)."""
    r = winexe.run([prog.hvcat, "-l", "hvsock:wsl:5033"],
                   stdin=subprocess.DEVNULL, timeout=timeout, env=host_env)
    err = text(r.stderr)
    t.check(f"{what}: hvcat -l hvsock:wsl:5033 exits 1", r.returncode == 1,
            f"rc {r.returncode}: {err[-2000:]}")
    t.check(f"{what}: with one line saying so", one_line(err) and
            want in err and "hvsock:wsl:5033" in err, err[-2000:])
    t.check(f"{what}: nothing listens", wsltools.bound(rdv, 5033) == [],
            f"bound {wsltools.bound(rdv, 5033)}")
    return r


wsl.uninstall()
refused("no wsl.exe", "WSL is not installed (wsl.exe in the system "
        "directory is missing or fails)")
wsl.install()
wsl.set()
n0 = wsl.count()
refused("WSL stopped", "WSL is not running (no running distribution): "
        "start a WSL2 distribution first")
runs = wsl.runs()[n0:]
t.check("WSL stopped: wslinfo is not run (it would start WSL)",
        runs and not any("wslinfo" in x for x in runs), "\n".join(runs))
wsl.set(running="Ubuntu", vmid="wsl1")
refused("WSL1", "runs under WSL1, which has no VM")
wsl.set(running="Ubuntu", old_wslinfo=True)
refused("wslinfo without --vm-id", "needs WSL 2.0 or later")
wsl.set(fail=3)
refused("wsl.exe failing", "WSL is not installed")
wsl.set(hang="vmid", running="Ubuntu")
refused("wsl.exe hanging", "wsl.exe did not answer in time",
        timeout=HUNG + IO)
t.done()
