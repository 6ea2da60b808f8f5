# SPDX-License-Identifier: MIT
"""scenarios-guest: the guest commands of docs/windows.md, "Host and
guest scenarios" (wsl$, linux$, freebsd$), run as written with the
Linux hvcat and hvproxy: each is accepted, and opens what
scenarios.guest_equiv() says it does, the mapping win-scenarios plays
the guests with on the Hyper-V socket emulation.

No AF_VSOCK connection leaves this machine: the tools run with
novsock.so preloaded, which notes every vsock connect() and bind() and
refuses the connect (ECONNREFUSED) without making it.

  - hvcat ADDRESS: runs to its connect, which the layer refuses: exit 1
    with "cannot connect to ADDRESS", and the connect went to the CID
    and port of the mapping (hvsock:parent:PORT = CID 2);
  - hvproxy with tcp listeners: `hvproxy --check` with the command's
    arguments (they bind tcp ports this machine may use): exit 0, each
    forward listed;
  - hvproxy with vsock/hvsock listeners only: started as written, ready
    (sd_notify), bound to the mapping's CID and port (wildcard = CID
    any), stopped with SIGTERM: exit 0. novsock.so notes that bind and
    puts an AF_UNIX socket in its place, so nothing listens on this
    machine's vsock, which leads to its hypervisor.

FreeBSD's commands run through the Linux tools too: the grammar is the
same, and what a FreeBSD guest cannot do (another CID or VM id, a
service not of the template) is refused by guest_equiv(). Without vsock
on this machine the runs that open a vsock socket are skipped.

    scenarios_guest.py --hvcat=PATH --hvproxy=PATH --novsock=novsock.so
        --doc=docs/windows.md
"""
import argparse
import os
import re
import socket
import subprocess

from hvtest import Tap, proc
from hvtest import hvproxy as hvp

import scenarios

IO = 60
CID_ANY = 0xFFFFFFFF

t = Tap()
ap = argparse.ArgumentParser()
for a in ("hvcat", "hvproxy", "novsock", "doc"):
    ap.add_argument(f"--{a}", required=True)
args = ap.parse_known_args()[0]
hvp.set_program(args.hvproxy)


def vsock_here():
    """Whether this machine has AF_VSOCK (a socket, never connected)."""
    try:
        socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close()
        return True
    except (OSError, AttributeError):
        return False


HAVE_VSOCK = vsock_here()
_runs = [0]


def shim_env():
    """The environment of a run with novsock.so, and its log's path."""
    _runs[0] += 1
    log = t.path(f"novsock.{_runs[0]}.log")
    return log, {"LD_PRELOAD": os.path.abspath(args.novsock),
                 "NOVSOCK_LOG": log,
                 # an ASan build wants its runtime first; the layer has none
                 "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
                 ":verify_asan_link_order=0"}


def noted(log):
    """[(what, cid, port)] novsock.so wrote."""
    try:
        with open(log, encoding="ascii") as f:
            lines = f.read().split("\n")
    except OSError:
        return []
    out = []
    for line in lines:
        m = re.fullmatch(r"(connect|bind) ([0-9]+) ([0-9]+)", line)
        if m:
            out.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return out


def cid_port(equiv):
    """The vsock CID and port of a mapped hvsock: address."""
    _, vm, port = equiv.split(":")
    return ({"parent": 2, "wildcard": CID_ANY}[vm], int(port))


def program(cmd):
    return args.hvproxy if cmd.argv[0] == "hvproxy" else args.hvcat


def run_hvcat(cmd, label, equiv):
    if not HAVE_VSOCK:
        t.skip(label, "no AF_VSOCK on this machine")
        return
    log, env = shim_env()
    r = proc.run([program(cmd)] + cmd.argv[1:], stdin=subprocess.DEVNULL,
                 timeout=IO, env=dict(os.environ, **env))
    err = r.stderr.decode("utf-8", "replace") \
        if isinstance(r.stderr, bytes) else str(r.stderr)
    addr = cmd.argv[-1]
    t.check(f"{label}: accepted, runs to its connect (exit 1, "
            "\"cannot connect to\" the address)",
            r.returncode == 1 and f"cannot connect to {addr}" in err,
            f"rc {r.returncode} {err[-1500:]!r}")
    want = ("connect",) + cid_port(equiv[0][1])
    t.check(f"{label}: connects to {want[1]}:{want[2]}, as "
            f"{equiv[0][1]} (the mapping)", want in noted(log),
            str(noted(log)))


def run_hvproxy(cmd, label, equiv):
    tcp_listen = [a for _, a, role in scenarios.roles(cmd)
                  if role == "listen" and a.startswith("tcp:")]
    if tcp_listen:
        r = proc.run([args.hvproxy, "--check"] + cmd.argv[1:], timeout=IO)
        out = r.stdout.decode("utf-8", "replace") \
            if isinstance(r.stdout, bytes) else str(r.stdout)
        pairs = len(cmd.argv[1:]) // 2
        t.check(f"{label}: hvproxy --check with its arguments: exit 0, "
                f"{pairs} forward(s)",
                r.returncode == 0 and f"configuration OK, {pairs} forward"
                in out, f"rc {r.returncode} {out[-1500:]!r} "
                f"{r.stderr[-1500:]!r}")
        return
    if not HAVE_VSOCK:
        t.skip(label, "no AF_VSOCK on this machine")
        return
    log, env = shim_env()
    p = hvp.Proxy(t, cmd.argv[1:], env=env, ready=False)
    ready = p.wait_notify("READY=1", IO)
    t.check(f"{label}: started as written, ready (listening)", ready,
            p.log()[-2000:])
    binds = [b for b in noted(log) if b[0] == "bind"]
    for _, e, role in equiv:
        if role == "listen" and e.startswith("hvsock:"):
            want = ("bind",) + cid_port(e)
            t.check(f"{label}: binds {want[1]}:{want[2]}, as {e} (the "
                    "mapping)", want in binds, str(binds))
    rc = p.stop(IO)
    t.check(f"{label}: SIGTERM ends it, exit 0", rc == 0,
            f"rc {rc} {p.log()[-1500:]}")


with open(args.doc, encoding="utf-8") as f:
    doc = f.read()
try:
    flows = scenarios.blocks(scenarios.section(doc))
except ValueError as e:
    t.check("the section's commands can be read", False, str(e))
    t.done()
cmds = [c for b in flows for c in b.commands if c.side in scenarios.GUESTS]
t.check("guest commands for WSL2, Linux and FreeBSD",
        {c.side for c in cmds} == set(scenarios.GUESTS),
        str({c.side for c in cmds}))
if not HAVE_VSOCK:
    t.note("no AF_VSOCK here: the runs that open a vsock socket are "
           "skipped")
for c in cmds:
    label = f"{c.side}$ {c.text}"
    try:
        equiv = [(i, scenarios.guest_equiv(a, role,
                                           scenarios.system_of(c.side)),
                  role) for i, a, role in scenarios.roles(c)]
    except ValueError as e:
        t.check(f"{label}: maps to the guest's Hyper-V sockets", False,
                str(e))
        continue
    if c.argv[0] == "hvcat":
        run_hvcat(c, label, equiv)
    elif c.argv[0] == "hvproxy":
        run_hvproxy(c, label, equiv)
    else:
        t.check(f"{label}: a guest command is hvcat or hvproxy", False,
                c.argv[0])
t.done()
