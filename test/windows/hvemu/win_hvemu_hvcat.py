# SPDX-License-Identifier: MIT
"""hvemu-hvcat: hvcat over Hyper-V sockets, end to end, on the emulation.

hvcat-hvemu.exe (hvcat's sources linked with hvemu, test/windows/hvemu)
listens on hvsock:wildcard:5000 as the host; another hvcat-hvemu.exe,
in a guest VM (HVEMU_LOCAL_VMID), connects to hvsock:parent:5000. Each
sends a file on its stdin and writes what it receives to its stdout:
both must arrive whole (SHA-256), the listener's log must name the
guest's VM id, and both must exit 0. Then a WSL2 VM (HVEMU_WSL_VMIDS)
must not reach that wildcard listener: its connect times out.

    win_hvemu_hvcat.py --wine-run=cross/wine-run --hvcat=hvcat-hvemu.exe
"""
import os
import subprocess

from hvtest import Tap, files, winexe
from hvtest.wintools import READY, Listener

GUEST = "5a4d5647-0000-4000-8000-475545535401"
WSL = "57534c32-0000-4000-8000-57534c564d01"
IO = 120

t = Tap()
prog = winexe.setup(t, "hvcat")
rdv = t.path("rdv")
os.mkdir(rdv)
env = {"HVEMU_DIR": winexe.winpath(rdv), "HVEMU_LOCAL_VMID": None,
       "HVEMU_WSL_VMIDS": WSL}

up = t.path("up.bin")
down = t.path("down.bin")
files.mkrand(up, 1 << 20)
files.mkrand(down, 300 * 1024 + 7)
got_up = t.path("got-up.bin")

with open(down, "rb") as lin, open(got_up, "wb") as lout:
    listener = Listener(t, prog.hvcat, [], addr="hvsock:wildcard:5000",
                        stdin=lin, stdout=lout, env=env)
    t.check("hvcat-hvemu.exe -l hvsock:wildcard:5000 listens",
            listener.port == 5000, listener.log()[-2000:])
    if listener.port != 5000:
        t.done()
    with open(up, "rb") as cin:
        r = winexe.run([prog.hvcat, "hvsock:parent:5000"], stdin=cin,
                       timeout=IO, env=dict(env, HVEMU_LOCAL_VMID=GUEST))
    t.check("the guest's hvcat-hvemu.exe hvsock:parent:5000 exits 0",
            r.returncode == 0, r.stderr[-2000:])
    t.check("the listener's bytes arrive whole in the guest (SHA-256)",
            files.sha256_bytes(r.stdout) == files.sha256_file(down),
            f"{len(r.stdout)} bytes of {os.path.getsize(down)}")
    rc = listener.wait(IO)
    t.check("the listener exits 0 once both sides are done", rc == 0,
            f"rc {rc}\n{listener.log()[-2000:]}")
t.check("the guest's bytes arrive whole at the listener (SHA-256)",
        files.sha256_file(got_up) == files.sha256_file(up),
        f"{os.path.getsize(got_up)} bytes of {os.path.getsize(up)}")
t.check("the listener names the guest's VM id as the peer",
        f"connection from hvsock:{GUEST}" in listener.log(),
        listener.log()[-2000:])
t.check("no emulation violation in the listener",
        "hvemu: VIOLATION" not in listener.log(), listener.log()[-2000:])

# WSL2: a wildcard listener is not reached; the connect is unanswered.
listener = Listener(t, prog.hvcat, [], addr="hvsock:wildcard:5001",
                    env=env)
t.check("a second listener on hvsock:wildcard:5001", listener.port == 5001,
        listener.log()[-2000:])
r = winexe.run([prog.hvcat, "-w", "1", "hvsock:parent:5001"],
               stdin=subprocess.DEVNULL, timeout=READY,
               env=dict(env, HVEMU_LOCAL_VMID=WSL))
err = r.stderr.decode("utf-8", "replace")
t.check("from a WSL2 VM the wildcard listener is not reached (timeout)",
        r.returncode not in (0, "timeout") and "timed out" in err,
        f"rc {r.returncode}: {err[-2000:]}")
t.check("no emulation violation in the WSL2 client",
        "hvemu: VIOLATION" not in err, err[-2000:])
listener.kill()
t.done()
