# SPDX-License-Identifier: MIT
"""hvemu-hvproxy: hvproxy forwarding Hyper-V sockets, on the emulation.

Three processes under wine, each in its own partition as the emulation
sees it (HVEMU_LOCAL_VMID), meeting through one rendezvous directory:

  - the host's hvproxy-hvemu.exe forwards hvsock:wildcard:5010 to a tcp
    server that hashes what it reads; a guest's hvcat-hvemu.exe sends a
    file to hvsock:parent:5010 and must get the file's hash back, then
    four guests at once;
  - the host's hvproxy-hvemu.exe forwards tcp to hvsock:GUEST:5011,
    where a guest's hvcat-hvemu.exe -l hvsock:parent:5011 listens: a
    file each way through the proxy must arrive whole (SHA-256).

    win_hvemu_hvproxy.py --wine-run=cross/wine-run \\
        --hvproxy=hvproxy-hvemu.exe --hvcat=hvcat-hvemu.exe
"""
import os
import socket
import subprocess

from hvtest import Tap, files, free_port, winexe
from hvtest.net import HashServer, connect, recv_all
from hvtest.wintools import Listener, Proxy

GUEST = "5a4d5647-0000-4000-8000-475545535401"
IO = 120

t = Tap()
prog = winexe.setup(t, "hvproxy", "hvcat")
rdv = t.path("rdv")
os.mkdir(rdv)
host_env = {"HVEMU_DIR": winexe.winpath(rdv), "HVEMU_LOCAL_VMID": None,
            "HVEMU_WSL_VMIDS": None}
guest_env = dict(host_env, HVEMU_LOCAL_VMID=GUEST)

up = files.mkrand(t.path("up.bin"), 2 * 1024 * 1024 + 3)
down = files.mkrand(t.path("down.bin"), 700 * 1024 + 1)

# hvsock -> tcp: the guest reaches a host service through the proxy.
hs = HashServer()
p1 = Proxy(t, prog.hvproxy, ["hvsock:wildcard:5010", hs.addr],
           env=host_env)
with open(up, "rb") as cin:
    r = winexe.run([prog.hvcat, "hvsock:parent:5010"], stdin=cin,
                   timeout=IO, env=guest_env)
answer = r.stdout.decode("utf-8", "replace").strip()
want = f"{files.sha256_file(up)} {os.path.getsize(up)}"
t.check("hvsock to tcp: the guest's hvcat exits 0", r.returncode == 0,
        r.stderr[-2000:])
t.check("hvsock to tcp: the file arrives whole behind the proxy (SHA-256)",
        answer == want, f"got {answer!r}, expected {want!r}")
t.check("hvsock to tcp: the proxy logs the guest as the peer",
        GUEST in p1.log(), p1.log()[-2000:])

# Several guests at once: the proxy's listener accepts each (the
# emulation reads each connector's header), every stream hashed whole.
STREAMS = 4
inputs, procs = [], []
for i in range(STREAMS):
    path = files.mkrand(t.path(f"stream{i}.bin"), 256 * 1024 + i)
    inputs.append(path)
    with open(path, "rb") as f:
        procs.append(winexe.start([prog.hvcat, "hvsock:parent:5010"],
                                  stdin=f, env=guest_env))
answers = []
for p in procs:
    try:
        out, err = p.communicate(timeout=IO)
    except subprocess.TimeoutExpired:
        out, err = b"", b"timeout"
    winexe.kill(p)
    answers.append((p.returncode, out.decode("utf-8", "replace").strip(),
                    err))
for i, (rc, answer, err) in enumerate(answers):
    want = f"{files.sha256_file(inputs[i])} {os.path.getsize(inputs[i])}"
    t.check(f"hvsock to tcp: guest {i + 1} of {STREAMS} at once arrives "
            "whole", rc == 0 and answer == want,
            f"rc {rc}, got {answer!r}, expected {want!r}: {err[-1000:]!r}")

# tcp -> hvsock: a host client reaches a guest's listener.
got_up = t.path("got-up.bin")
with open(down, "rb") as lin, open(got_up, "wb") as lout:
    listener = Listener(t, prog.hvcat, [], addr="hvsock:parent:5011",
                        stdin=lin, stdout=lout, env=guest_env)
    t.check("tcp to hvsock: the guest listens on hvsock:parent:5011",
            listener.port == 5011, listener.log()[-2000:])
    port = free_port()
    p2 = Proxy(t, prog.hvproxy,
               [f"tcp:127.0.0.1:{port}", f"hvsock:{GUEST}:5011"],
               env=host_env)
    c = connect(port, IO)
    with open(up, "rb") as f:
        c.sendall(f.read())
    c.shutdown(socket.SHUT_WR)
    back = recv_all(c, IO)
    c.close()
    t.check("tcp to hvsock: the guest's bytes arrive whole at the host "
            "client (SHA-256)",
            files.sha256_bytes(back) == files.sha256_file(down),
            f"{len(back)} bytes of {os.path.getsize(down)}")
    rc = listener.wait(IO)
    t.check("tcp to hvsock: the guest's listener exits 0", rc == 0,
            f"rc {rc}\n{listener.log()[-2000:]}")
t.check("tcp to hvsock: the host's bytes arrive whole in the guest "
        "(SHA-256)",
        files.sha256_file(got_up) == files.sha256_file(up),
        f"{os.path.getsize(got_up)} bytes of {os.path.getsize(up)}")
t.check("tcp to hvsock: the guest sees the host as its parent",
        "connection from hvsock:parent:" in listener.log(),
        listener.log()[-2000:])
for name, log in (("hvproxy (hvsock to tcp)", p1.log()),
                  ("hvproxy (tcp to hvsock)", p2.log()),
                  ("the guest's listener", listener.log())):
    t.check(f"no emulation violation in {name}",
            "hvemu: VIOLATION" not in log, log[-2000:])
p1.kill()
p2.kill()
hs.close()
t.done()
