# SPDX-License-Identifier: MIT
"""e2e-refusals: what hvcat and hvproxy refuse or warn about on Hyper-V
sockets, end to end.

hvcat-hvemu.exe and hvproxy-hvemu.exe under wine, on the Hyper-V socket
emulation (hvemu.h), host and guests in partitions of their own:

  connect timeout  hvcat -w 2 and hvproxy --connect-timeout 2s towards a
                   VM where nothing listens: the connect fails after the
                   timeout (hvcat: one line, exit 1; hvproxy: the
                   connection is closed, end=connect-timeout); only a
                   generous bound on how long that takes
  allowlist        hvcat -l --allow VMID and hvproxy --allow VMID let
                   that VM in (a file each way, hashed) and refuse
                   another, saying so in the log
  bad input        an unknown VM name, a GUID of the wrong length or
                   with bad hex, in hvcat and hvproxy: one line naming
                   it, exit 2; connecting to children or wildcard
                   likewise (hvcat; hvproxy's target)
  service GUIDs    a GUID that is no vsock port's towards a guest (a VM
                   id, children, wsl) gets one warning line in hvcat and
                   hvproxy, and the connection or listener still goes
                   ahead; towards parent, loopback, silohost, wildcard
                   and broadcast, or a template GUID, no warning.
                   hvproxy relays to a Windows guest's service of such a
                   GUID (a file each way, hashed)

    win_e2e_refusals.py --wine-run=cross/wine-run \\
        --hvproxy=hvproxy-hvemu.exe --hvcat=hvcat-hvemu.exe
"""
import hashlib
import os
import re
import socket
import subprocess
import time

from hvtest import Tap, files, free_port, winexe
from hvtest.hvemu import GUEST, GUEST2, IO, READY, SVCGUID_WARNING, \
    Exchange, Partitions, listening, run_exchanges, template, text
from hvtest.net import HashServer, connect, recv_all
from hvtest.wait import wait_for
from hvtest.wintools import Proxy, one_line

# A generous bound on a 2 s connect timeout under wine on a busy machine.
BOUND = 60
SVC = "0b8c4e2a-93f1-4d6e-a5b7-1c2d3e4f5a6b"

t = Tap()
prog = winexe.setup(t, "hvproxy", "hvcat")
parts = Partitions(t)
host_env = parts.env()


def start_all(cmds):
    """Run each (argv, env) at once to the end: a list of (rc, stdout,
    stderr text, seconds)."""
    procs = [(winexe.start(argv, stdin=subprocess.DEVNULL, env=env),
              time.monotonic()) for argv, env in cmds]
    res = []
    for p, t0 in procs:
        try:
            out, err = p.communicate(timeout=READY)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            winexe.kill(p)
            out, err, rc = b"", b"", "timeout"
        winexe.kill(p)
        res.append((rc, out, text(err), time.monotonic() - t0))
    return res


# ---- hvproxy in the background: allowlist, connect timeout, GUID ----
hs = HashServer()
pt, pg = free_port(), free_port()
allow_proxy = Proxy(t, prog.hvproxy,
                    ["--allow", GUEST, "hvsock:wildcard:5304", hs.addr],
                    env=host_env)
timeout_proxy = Proxy(t, prog.hvproxy,
                      ["--connect-timeout", "2s", f"tcp:127.0.0.1:{pt}",
                       f"hvsock:{GUEST}:5302"], env=host_env)
guid_proxy = Proxy(t, prog.hvproxy,
                   [f"tcp:127.0.0.1:{pg}", f"hvsock:{GUEST}:{SVC}"],
                   env=host_env)

# ---- hvcat: the allowlist, a file each way, hashed ----
run_exchanges(t, [
    Exchange(t, prog.hvcat, "hvcat-allow", parts,
             ("hvsock:wildcard:5303", None), ("hvsock:parent:5303", GUEST),
             f"hvsock:{GUEST}", largs=["--allow", GUEST],
             intruders=[(GUEST2, "hvsock:parent:5303")], allow=True),
])

# ---- hvproxy --allow ----
up = files.mkrand(t.path("up.bin"), 2 * 1024 * 1024 + 5)
want = f"{files.sha256_file(up)} {os.path.getsize(up)}"
res = []
for vmid in (GUEST2, GUEST):
    with open(up, "rb") as cin:
        res.append(winexe.run([prog.hvcat, "-w", "10", "hvsock:parent:5304"],
                              stdin=cin, timeout=IO, env=parts.env(vmid)))
log = allow_proxy.log()
t.check("hvproxy --allow: another VM gets no answer",
        res[0].stdout == b"", text(res[0].stderr)[-1500:])
t.check("hvproxy --allow: the refusal is logged (end=refused, allowlist)",
        re.search(rf"conn fwd=\S+ peer=hvsock:{GUEST2}:\S+ end=refused "
                  r".*allow", log, re.I), log[-2000:])
t.check("hvproxy --allow: the listed VM's file arrives whole behind the "
        "proxy and its hash comes back",
        res[1].returncode == 0 and
        res[1].stdout.decode("utf-8", "replace").strip() == want,
        f"rc {res[1].returncode}: {res[1].stdout[-200:]!r} "
        f"{text(res[1].stderr)[-1500:]}")
t.check("hvproxy --allow: only the listed VM's stream reached the server",
        hs.results == [(files.sha256_file(up), os.path.getsize(up))],
        f"{hs.results}")

# ---- connect timeouts ----
t0 = time.monotonic()
r = winexe.run([prog.hvcat, "-w", "2", f"hvsock:{GUEST}:5301"],
               stdin=subprocess.DEVNULL, timeout=BOUND, env=host_env)
took = time.monotonic() - t0
err = text(r.stderr)
t.check("hvcat -w 2 hvsock:VMID:PORT with no listener: exit 1", r.returncode
        == 1, f"rc {r.returncode}: {err[-1500:]}")
t.check("hvcat -w 2: one line saying the connect to the address timed out",
        one_line(err) and re.search(
            rf"cannot connect to hvsock:{GUEST}:5301: .*timed out", err),
        err[-1500:])
t.check(f"hvcat -w 2: it ends within {BOUND} s", took < BOUND, f"{took:.1f} s")

t0 = time.monotonic()
c = connect(pt, IO)
try:
    c.settimeout(BOUND)
    got = c.recv(1)
except (ConnectionResetError, socket.timeout) as e:
    got = repr(e)
took = time.monotonic() - t0
c.close()
t.check("hvproxy --connect-timeout 2s: the client's connection is closed, "
        f"within {BOUND} s", got in (b"", "ConnectionResetError()") and
        took < BOUND, f"{got!r} after {took:.1f} s")
t.check("hvproxy --connect-timeout 2s: it logs end=connect-timeout",
        timeout_proxy.wait_log(r"end=connect-timeout", READY),
        timeout_proxy.log()[-2000:])

# ---- bad input: one line, exit 2 ----
bad = [
    ("hvsock:myvm:5000", r"bad VM id.*'myvm'|'myvm'.*bad VM id"),
    ("hvsock:1234567-89ab-cdef-0123-456789abcdef:5000", r"bad GUID"),
    ("hvsock:zz345678-89ab-cdef-0123-456789abcdef:5000", r"bad GUID"),
    ("hvsock:parent:12345678-89ab-cdef-0123-45678Xabcdef", r"bad GUID"),
]
cmds = []
for addr, _ in bad:
    cmds.append(([prog.hvcat, "-w", "2", addr], host_env))
    cmds.append(([prog.hvcat, "-l", addr], host_env))
    cmds.append(([prog.hvproxy, "tcp:127.0.0.1:9", addr], host_env))
    cmds.append(([prog.hvproxy, addr, "tcp:127.0.0.1:9"], host_env))
cmds.append(([prog.hvcat, "-l", "--allow", "5a4d5647-0000-4000-8000-4755",
              "hvsock:wildcard:5000"], host_env))
cmds.append(([prog.hvproxy, "--allow", "5a4d5647-0000-4000-8000-4755",
              "hvsock:wildcard:5000", "tcp:127.0.0.1:9"], host_env))
cmds.append(([prog.hvproxy, "tcp:127.0.0.1:9", "hvsock:children:5000"],
             host_env))
for vm in ("children", "wildcard"):
    cmds.append(([prog.hvcat, "-w", "2", f"hvsock:{vm}:5000"], host_env))
results = start_all(cmds)
for vm, (rc, _, err, _) in zip(("children", "wildcard"), results[-2:]):
    t.check(f"hvcat hvsock:{vm}:5000 (connect): one line saying {vm} is "
            "for listening, exit 2",
            rc == 2 and one_line(err) and
            f"hvsock:{vm} names no single VM to connect to" in err,
            f"rc {rc}: {err[-1500:]}")
results = results[:-2]
for i, (addr, rx) in enumerate(bad):
    for j, how in enumerate(("hvcat", "hvcat -l", "hvproxy (target)",
                             "hvproxy (listen)")):
        rc, _, err, _ = results[4 * i + j]
        t.check(f"{how} {addr}: one line naming it, exit 2",
                rc == 2 and one_line(err) and re.search(rx, err) and
                addr in err, f"rc {rc}: {err[-1500:]}")
rc, _, err, _ = results[-1]
t.check("hvproxy with the target hvsock:children:5000: one line saying it "
        "is for listening, exit 2",
        rc == 2 and one_line(err) and
        "hvsock:children names no single VM to connect to" in err,
        f"rc {rc}: {err[-1500:]}")
results = results[:-1]
for how, (rc, _, err, _) in zip(("hvcat", "hvproxy"), results[-2:]):
    t.check(f"{how} --allow with a cut VM id: one line naming it, exit 2",
            rc == 2 and one_line(err) and "5a4d5647-0000-4000-8000-4755" in
            err, f"rc {rc}: {err[-1500:]}")

# ---- service GUIDs of no port ----
# (children and wildcard are no targets at all: see above.)
warn_to = [f"hvsock:{GUEST}:{SVC}", f"hvsock:wsl:{SVC}"]
quiet_to = [f"hvsock:parent:{SVC}", f"hvsock:loopback:{SVC}",
            f"hvsock:silohost:{SVC}", f"hvsock:broadcast:{SVC}",
            f"hvsock:{GUEST}:{template(5300)}", f"hvsock:{GUEST}:5300"]
cmds = [([prog.hvcat, "-w", "2", a], host_env) for a in warn_to + quiet_to]
cmds += [([prog.hvproxy, "--check", "tcp:127.0.0.1:9", a], host_env)
         for a in warn_to + quiet_to]
cmds += [([prog.hvproxy, "--check", a, "tcp:127.0.0.1:9"], host_env)
         for a in (f"hvsock:{GUEST}:{SVC}", f"hvsock:children:{SVC}",
                   f"hvsock:wildcard:{SVC}")]
results = start_all(cmds)
n = len(warn_to + quiet_to)
for i, a in enumerate(warn_to + quiet_to):
    want = 1 if a in warn_to else 0
    rc, _, err, _ = results[i]
    lines = err.splitlines()
    t.check(f"hvcat {a}: {want} service GUID warning, then it connects "
            "(not a usage error)",
            len(SVCGUID_WARNING.findall(err)) == want and rc not in
            (0, 2, "timeout") and len(lines) == want + 1 and
            (not want or a in lines[0]), f"rc {rc}: {err[-1500:]}")
    rc, _, err, _ = results[n + i]
    t.check(f"hvproxy --check ... {a}: {want} service GUID warning, "
            "exit 0", rc == 0 and
            len(SVCGUID_WARNING.findall(err)) == want and
            (not want or one_line(err) and a in err),
            f"rc {rc}: {err[-1500:]}")
for i, (a, want) in enumerate(((f"hvsock:{GUEST}:{SVC}", 1),
                               (f"hvsock:children:{SVC}", 1),
                               (f"hvsock:wildcard:{SVC}", 0))):
    rc, _, err, _ = results[2 * n + i]
    t.check(f"hvproxy --check {a} (listen): {want} service GUID warning, "
            "exit 0", rc == 0 and
            len(SVCGUID_WARNING.findall(err)) == want,
            f"rc {rc}: {err[-1500:]}")

# hvcat -l: on children, warned; on wildcard, not; both listen.
for vm, vmid, want in (
        ("children", "90db8b89-0d35-4f79-8ce9-49ea0ac8b7cd", 1),
        ("wildcard", "00000000-0000-0000-0000-000000000000", 0)):
    d = winexe.WinDaemon([prog.hvcat, "-l", f"hvsock:{vm}:{SVC}"],
                         t.path(f"listen-{vm}.err"), env=host_env)
    # Without -v nothing says it listens: its rendezvous file does
    # (hvemu.h: PARTITION.VMID.SERVICE).
    wait_for(lambda: not d.alive() or any(
        f.endswith(f".{vmid}.{SVC}") for f in os.listdir(t.path("rdv"))),
        READY)
    alive = d.alive()
    d.kill()
    log = d.log()
    t.check(f"hvcat -l hvsock:{vm}:GUID: {want} service GUID warning, "
            "and it listens", alive and
            len(SVCGUID_WARNING.findall(log)) == want and
            len(log.splitlines()) == want, log[-1500:])

# hvproxy to a Windows guest's service of no port: warned, and relayed.
down = files.mkrand(t.path("down.bin"), 3 * 1024 * 1024 // 2 + 3)
got_up = t.path("got-up.bin")
with open(down, "rb") as lin, open(got_up, "wb") as lout:
    guest = winexe.WinDaemon(
        [prog.hvcat, "-l", "-v", f"hvsock:parent:{SVC}"],
        t.path("guid-guest.err"), stdin=lin, stdout=lout,
        env=parts.env(GUEST))
    t.check("a Windows guest listens on hvsock:parent:GUID",
            wait_for(lambda: listening(guest.log()) or not guest.alive(),
                     READY) and
            listening(guest.log()) == f"hvsock:parent:{SVC}",
            guest.log()[-2000:])
    c = connect(pg, IO)
    with open(up, "rb") as f:
        c.sendall(f.read())
    c.shutdown(socket.SHUT_WR)
    back = recv_all(c, IO)
    c.close()
    rc = guest.wait(IO)
    if rc is None:
        guest.kill()
        rc = "timeout"
t.check("hvproxy to hvsock:VMID:GUID: the guest's bytes arrive whole "
        "(SHA-256)", hashlib.sha256(back).hexdigest() ==
        files.sha256_file(down), f"{len(back)} bytes")
t.check("hvproxy to hvsock:VMID:GUID: the host's bytes arrive whole in "
        "the guest (SHA-256)",
        files.sha256_file(got_up) == files.sha256_file(up) and rc == 0,
        f"rc {rc}, {os.path.getsize(got_up)} bytes")
t.check("hvproxy to hvsock:VMID:GUID: one service GUID warning in its log",
        len(SVCGUID_WARNING.findall(guid_proxy.log())) == 1,
        guid_proxy.log()[-2000:])

for name, log in (("hvproxy --allow", allow_proxy.log()),
                  ("hvproxy --connect-timeout", timeout_proxy.log()),
                  ("hvproxy to a GUID", guid_proxy.log()),
                  ("the guest's hvcat", guest.log())):
    t.check(f"no emulation violation in {name}",
            "hvemu: VIOLATION" not in log, log[-2000:])
for p in (allow_proxy, timeout_proxy, guid_proxy):
    p.kill()
hs.close()
t.done()
