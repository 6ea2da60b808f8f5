# SPDX-License-Identifier: MIT
"""e2e-proxy: hvproxy over every kind of hvsock: address.

hvproxy-hvemu.exe on the host, hvcat-hvemu.exe in guests, under wine on
the Hyper-V socket emulation (hvemu.h), each in a partition of its own.
One hvproxy carries every forward; each case moves some MB each way,
hashed (SHA-256):

  hvsock to tcp  listeners on hvsock:VMID (another VM times out),
                 hvsock:children (a WSL VM times out), the WSL VM's id,
                 a template GUID spelled out, a GUID of no port on
                 wildcard; a guest's hvcat sends a file, a tcp server
                 reads it to its end and answers with another
  tcp to hvsock  targets hvsock:VMID:PORT (a guest on wildcard), the WSL
                 VM's id, and a template GUID spelled out (a guest on
                 parent); a tcp client sends and ends, the guest's
                 hvcat -l answers

    win_e2e_proxy.py --wine-run=cross/wine-run \\
        --hvproxy=hvproxy-hvemu.exe --hvcat=hvcat-hvemu.exe
"""
import os
import re
import socket
import subprocess
import threading

from hvtest import Tap, files, free_port, winexe
from hvtest.hvemu import GUEST, GUEST2, IO, READY, WSL, Partitions, \
    ReplyAfterEof, listening, sha_size, template, text
from hvtest.net import connect, recv_all
from hvtest.wait import wait_for
from hvtest.wintools import Proxy

SVC = "7f3e9d21-5c4b-4a8e-9f10-2b3c4d5e6f70"

t = Tap()
prog = winexe.setup(t, "hvproxy", "hvcat")
parts = Partitions(t)
down = os.urandom(3 * 1024 * 1024 // 2 + 1)
reply = ReplyAfterEof(down)

# [name, listen, client partition, client address, intruder or None]
inbound = [
    ("vmid", f"hvsock:{GUEST}:5401", GUEST, "hvsock:parent:5401",
     (GUEST2, "hvsock:parent:5401")),
    ("children", "hvsock:children:5402", GUEST2, "hvsock:parent:5402",
     (WSL, "hvsock:parent:5402")),
    ("wsl-vmid", f"hvsock:{WSL}:5403", WSL, "hvsock:parent:5403", None),
    ("template", f"hvsock:wildcard:{template(5404)}", GUEST,
     "hvsock:parent:5404", None),
    ("guid", f"hvsock:wildcard:{SVC}", GUEST2, f"hvsock:parent:{SVC}",
     None),
]
# [name, target, guest partition, the guest's listen address]
outbound = [
    ("vmid", f"hvsock:{GUEST}:5411", GUEST, "hvsock:wildcard:5411"),
    ("wsl-vmid", f"hvsock:{WSL}:5412", WSL, "hvsock:parent:5412"),
    ("template", f"hvsock:{GUEST2}:{template(5413)}", GUEST2,
     "hvsock:parent:5413"),
]

# The guests' listeners first, then the proxy.
guests = []
for i, (name, _, vmid, addr) in enumerate(outbound):
    gdown = files.mkrand(t.path(f"out-{name}.down"), 1024 * 1024 + i)
    got = t.path(f"out-{name}.got")
    fin, fout = open(gdown, "rb"), open(got, "wb")
    d = winexe.WinDaemon([prog.hvcat, "-l", "-v", addr],
                         t.path(f"out-{name}.err"), stdin=fin, stdout=fout,
                         env=parts.env(vmid))
    guests.append((d, gdown, got, fin, fout))
wait_for(lambda: all(listening(g[0].log()) or not g[0].alive()
                     for g in guests), READY)
for (name, _, _, addr), g in zip(outbound, guests):
    t.check(f"tcp to {name}: the guest's hvcat -l {addr} listens",
            listening(g[0].log()) is not None, g[0].log()[-2000:])

ports = [free_port() for _ in outbound]
args = []
for name, listen, _, _, _ in inbound:
    args += [listen, reply.addr]
for (name, target, _, _), port in zip(outbound, ports):
    args += [f"tcp:127.0.0.1:{port}", target]
proxy = Proxy(t, prog.hvproxy, args, forwards=len(inbound) + len(outbound),
              env=parts.env())

# The intruders, at once: they must not get in.
intr = [(name, x[0], x[1], winexe.start(
    [prog.hvcat, "-w", "2", x[1]], env=parts.env(x[0])))
    for name, _, _, _, x in inbound if x]
for name, vmid, addr, p in intr:
    try:
        _, err = p.communicate(input=b"intruder\n", timeout=READY)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        err, rc = b"", "timeout"
    winexe.kill(p)
    t.check(f"hvsock to tcp, {name}: {addr} from {vmid} does not get in "
            "(timed out, exit 1)", rc == 1 and "timed out" in text(err),
            f"rc {rc}: {text(err)[-1500:]}")

# Every client at once: guests' hvcat into the proxy, tcp clients out.
ups, clients = [], []
for i, (name, _, vmid, addr, _) in enumerate(inbound):
    up = files.mkrand(t.path(f"in-{name}.up"), 2 * 1024 * 1024 + 100 + i)
    ups.append(up)
    with open(up, "rb") as f:
        clients.append(winexe.start([prog.hvcat, "-v", addr], stdin=f,
                                    env=parts.env(vmid)))
out_up = [os.urandom(2 * 1024 * 1024 + 200 + i) for i in range(len(ports))]
out_back = [None] * len(ports)


def tcp_client(i):
    try:
        c = connect(ports[i], IO)
        c.sendall(out_up[i])
        c.shutdown(socket.SHUT_WR)
        out_back[i] = recv_all(c, IO)
        c.close()
    except OSError as e:
        out_back[i] = repr(e).encode()


threads = [threading.Thread(target=tcp_client, args=(i,))
           for i in range(len(ports))]
for th in threads:
    th.start()
for (name, listen, vmid, addr, _), p, up in zip(inbound, clients, ups):
    try:
        out, err = p.communicate(timeout=IO)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        out, err, rc = b"", b"", "timeout"
    winexe.kill(p)
    with open(up, "rb") as f:
        want = sha_size(f.read())
    t.check(f"hvsock to tcp, {name}: {addr} from {vmid} exits 0",
            rc == 0, f"rc {rc}: {text(err)[-1500:]}")
    t.check(f"hvsock to tcp, {name}: its bytes arrive whole behind "
            f"{listen} (SHA-256)", want in reply.got, f"{reply.got}")
    t.check(f"hvsock to tcp, {name}: the answer arrives whole (SHA-256)",
            sha_size(out) == sha_size(down), f"{len(out)} bytes")
    t.check(f"hvsock to tcp, {name}: the proxy logs the guest as the peer",
            re.search(rf"conn fwd=\S+ peer=hvsock:{vmid}:", proxy.log(),
                      re.I), proxy.log()[-2000:])
for th in threads:
    th.join(IO)
for i, ((name, target, vmid, addr), g) in enumerate(zip(outbound, guests)):
    d, gdown, got, fin, fout = g
    rc = d.wait(IO)
    if rc is None:
        d.kill()
        rc = "timeout"
    fin.close()
    fout.close()
    with open(gdown, "rb") as f:
        want_back = sha_size(f.read())
    with open(got, "rb") as f:
        got_up = sha_size(f.read())
    t.check(f"tcp to {name}: the guest's hvcat -l {addr} exits 0", rc == 0,
            f"rc {rc}\n{d.log()[-2000:]}")
    t.check(f"tcp to {name}: the client's bytes arrive whole in the guest "
            f"through {target} (SHA-256)", got_up == sha_size(out_up[i]),
            f"{got_up[1]} bytes")
    t.check(f"tcp to {name}: the guest's bytes arrive whole at the client "
            "(SHA-256)", sha_size(out_back[i] or b"") == want_back,
            f"{len(out_back[i] or b'')} bytes")
    t.check(f"tcp to {name}: the guest sees the host as its parent",
            "connection from hvsock:parent:" in d.log(), d.log()[-2000:])
log = proxy.log()
ends = [line for line in log.splitlines() if "conn fwd=" in line]
t.check(f"the proxy logs {len(inbound) + len(outbound)} connections, "
        "each done", len(ends) == len(inbound) + len(outbound) and
        all("end=done" in e for e in ends), log[-3000:])
t.check("the proxy warns of no service GUID (none is towards a guest "
        "with a GUID of no port)", "not a vsock port's GUID" not in log,
        log[-2000:])
t.check("no emulation violation in the proxy",
        "hvemu: VIOLATION" not in log, log[-2000:])
proxy.kill()
reply.close()
t.done()
