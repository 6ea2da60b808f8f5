# SPDX-License-Identifier: MIT
"""win-scenarios: every command of docs/windows.md, "Host and guest
scenarios", run on the Hyper-V socket emulation under wine.

The commands are read from the document (scenarios.py: each indented
line starts with its side's prompt; each indented block is one flow)
and run in the order written, each side in its own partition of the
emulation (test/windows/hvemu/hvemu.h), all meeting through one
rendezvous directory:

  - Windows (PS>): hvcat.exe and hvproxy.exe as written, run as
    hvcat-hvemu.exe and hvproxy-hvemu.exe (the same programs linked
    with the emulation) in the host partition; `hvcat.exe --register N`
    writes the registry of the test's own wine prefix (--prefix, in the
    build folder), and is undone at the end of its flow;
  - the guests (wsl$, linux$, freebsd$): the same programs in the
    guest's partition (a WSL2 VM for wsl$, a child VM otherwise), each
    address replaced by the Hyper-V socket address the guest's
    transport opens for it: scenarios.guest_equiv(), the library's own
    mapping (vsock:2:PORT = hvsock:parent:PORT, a listener vsock:PORT =
    hvsock:wildcard:PORT). That the Linux tools accept each guest
    command as written is scenarios-guest's part (a Linux build).

Placeholders: VMID is the guest partition's id; tcp ports are mapped
to free ones (Windows and the guests share this machine's loopback:
one set for each side); vsock and hvsock ports stay as written (each
flow has a rendezvous directory of its own). hvsock:wsl:PORT stays as
written when the stand-in wsl.exe of the WSL tests is given (--wsl: it
goes into the prefix's system directory and reports the WSL partition's
id); without it the WSL VM's id is written out instead. hvproxy gets -v
(its "listening on" line says it is ready); nothing else is added. The
section runs hvproxy as a service only by pointing to "Running hvproxy
as a service", whose commands win-service runs.

In each flow the test starts the service (a loopback server where a
forward's target is tcp: it reads to the end, then answers with a file
of its own) and plays every client: each hvproxy tcp listener is
connected to, each hvcat connection run with a file as its standard
input; the bytes must arrive whole both ways (SHA-256). The emulation
passes a half-close through as Windows and hv_sock do; FreeBSD's
(which sends none) is not played here.

    win_scenarios.py --wine-run=cross/wine-run --hvcat=hvcat-hvemu.exe
        --hvproxy=hvproxy-hvemu.exe --prefix=DIR --doc=docs/windows.md
        [--wsl=wsl-standin.exe]
"""
import argparse
import atexit
import hashlib
import os
import socket

from hvtest import Tap, files, free_port, hvemu, winexe
from hvtest.net import connect, recv_all
from hvtest.wintools import Proxy, text

import scenarios

IO = 120  # bound on one program run or socket operation, seconds
VMIDS = {
    "wsl": "5753c232-0000-4000-8000-57534c564d01",
    "linux": "4c494e58-0000-4000-8000-4755455354a1",
    "freebsd": "46424244-0000-4000-8000-4755455354b1",
}
TAIL = scenarios.TEMPLATE_TAIL

t = Tap()
ap = argparse.ArgumentParser()
ap.add_argument("--doc", required=True)
ap.add_argument("--prefix", required=True)
ap.add_argument("--wsl", default="")
opts = ap.parse_known_args()[0]
if opts.wsl:
    # The WSL tests' stand-in and its prefix handling (test/windows/wsl).
    import wsltools
    prog = wsltools.setup(t, "hvcat", "hvproxy")
    standin = wsltools.StandIn(t, prog.wsl)
    standin.set(running="Ubuntu", vmid=VMIDS["wsl"])
else:
    os.makedirs(os.path.dirname(os.path.abspath(opts.prefix)),
                exist_ok=True)
    os.environ["HVSOCK_WINEPREFIX"] = os.path.abspath(opts.prefix)
    os.environ.pop("WINEPREFIX", None)
    prog = winexe.setup(t, "hvcat", "hvproxy")
    t.note("no stand-in wsl.exe (--wsl): hvsock:wsl: is given the WSL "
           "VM's id instead")
doc_path = opts.doc
base_env = {"HVEMU_WSL_VMIDS": VMIDS["wsl"]}


def shown(c):
    """A command as the document writes it, with its prompt."""
    prompt = {v: k for k, v in scenarios.PROMPTS.items()}[c.side]
    return prompt + c.text


def env_of(side, rdv):
    e = dict(base_env, HVEMU_DIR=winexe.winpath(rdv))
    e["HVEMU_LOCAL_VMID"] = None if side == "windows" else VMIDS[side]
    return e


registered = []


def unregister(ports):
    """Take back the registrations of @ports (those a run left behind
    in the prefix, too); what is not registered is ignored."""
    for p in ports:
        winexe.run([prog.hvcat, "--unregister", str(p)], timeout=IO)
        if p in registered:
            registered.remove(p)


atexit.register(lambda: unregister(list(registered)))


def run_flow(n, block):
    """Run the commands of @block (the @n-th flow); checks as it goes."""
    name = f"{block.title} [{n}]"
    guests = {c.side for c in block.commands if c.side != "windows"}
    if len(guests) != 1:
        t.check(f"{name}: one guest side per flow", False, str(guests))
        return
    guest = guests.pop()
    vmid = VMIDS[guest]
    rdv = t.path(f"rdv{n}")
    os.mkdir(rdv)
    tcp_map = {}   # ("windows" or "guest", document's port) -> port
    service = None
    down = os.urandom(200 * 1024 + n)

    def tcp_port(side, p, role):
        nonlocal service
        key = ("windows" if side == "windows" else "guest", p)
        if key not in tcp_map:
            if role == "connect":
                if service is not None:
                    raise ValueError("two services in one flow")
                service = hvemu.ReplyAfterEof(down)
                tcp_map[key] = service.port
            else:
                tcp_map[key] = free_port()
        return tcp_map[key]

    def windows_addr(addr):
        scheme, _, rest = addr.partition(":")
        if scheme == "hvsock":
            vm, _, svc = rest.rpartition(":")
            if vm == "VMID":
                vm = vmid
            elif vm == "wsl" and not opts.wsl:
                vm = VMIDS["wsl"]
            return f"hvsock:{vm}:{svc}"
        return addr

    # Map every command first: a command the mapping refuses fails the
    # flow before anything runs.
    plan = []
    try:
        for c in block.commands:
            reg = scenarios.register_port(c)
            if reg is not None:
                plan.append((c, "register", [prog.hvcat] + c.argv[1:],
                             []))
                continue
            argv = list(c.argv)
            tcp_listens = []
            for i, addr, role in scenarios.roles(c):
                if c.side != "windows":
                    addr = scenarios.guest_equiv(
                        addr, role, scenarios.system_of(c.side))
                else:
                    addr = windows_addr(addr)
                if addr.startswith("tcp:"):
                    p = tcp_port(c.side, scenarios.addr_port(addr), role)
                    addr = scenarios.with_port(addr, p)
                    if role == "listen":
                        tcp_listens.append(p)
                argv[i] = addr
            tool = os.path.splitext(argv[0].lower())[0]
            argv[0] = prog.hvproxy if tool == "hvproxy" else prog.hvcat
            plan.append((c, tool, argv, tcp_listens))
    except ValueError as e:
        t.check(f"{name}: every command maps to the emulation", False,
                str(e))
        return
    if service is None:
        t.check(f"{name}: the flow has a service (a tcp target)", False,
                str(block.commands))
        return
    t.note(f"{name}: " + "; ".join(
        f"{c.side}: " + " ".join([os.path.basename(a[0])] + a[1:])
        for c, _, a, _ in plan))

    proxies = []
    clients = []  # ("tcp", port, command) or ("hvcat", argv, command)
    try:
        for c, kind, argv, tcp_listens in plan:
            env = env_of(c.side, rdv)
            if kind == "register":
                r = winexe.run(argv, timeout=IO, env=env)
                p = int(argv[2])
                if r.returncode == 0:
                    registered.append(p)
                want = f"registered {p:08x}{TAIL} (port {p}) as " \
                    f"'hvcat vsock port {p}'"
                t.check(f"{name}: {shown(c)}: exit 0, registered",
                        r.returncode == 0 and want in text(r.stdout),
                        f"rc {r.returncode} out {text(r.stdout)!r} "
                        f"err {text(r.stderr)!r}")
            elif kind == "hvproxy":
                pairs = (len(argv) - 1) // 2
                px = Proxy(t, argv[0], argv[1:], forwards=pairs, env=env,
                           ready=False)
                proxies.append((c, px))
                ok = px.wait_listening(pairs)
                t.check(f"{name}: {shown(c)}: listens", ok,
                        px.log()[-2000:])
                if not ok:
                    return
                clients += [("tcp", p, c) for p in tcp_listens]
            else:
                clients.append(("hvcat", argv, c))

        for i, (kind, what, c) in enumerate(clients):
            up = os.urandom(300 * 1024 + 7 * i + n)
            want = (hashlib.sha256(up).hexdigest(), len(up))
            if kind == "tcp":
                try:
                    s = connect(what, IO)
                    s.sendall(up)
                    s.shutdown(socket.SHUT_WR)
                    back = recv_all(s, IO)
                    s.close()
                    err = ""
                except OSError as e:
                    back, err = b"", repr(e)
                label = f"{name}: through {shown(c)} (tcp:{what})"
            else:
                upfile = t.path(f"up-{n}-{i}.bin")
                with open(upfile, "wb") as f:
                    f.write(up)
                with open(upfile, "rb") as f:
                    r = winexe.run(what, stdin=f, timeout=IO,
                                   env=env_of(c.side, rdv))
                back = r.stdout
                err = f"rc {r.returncode} {text(r.stderr)[-1500:]!r}"
                if r.returncode != 0:
                    back = b""
                label = f"{name}: {shown(c)}"
            t.check(f"{label}: its bytes reach the service whole (SHA-256)",
                    want in service.got,
                    f"service got {service.got}, sent {want}; {err}")
            t.check(f"{label}: the service's bytes come back whole "
                    "(SHA-256)",
                    files.sha256_bytes(back) == files.sha256_bytes(down),
                    f"{len(back)} bytes of {len(down)}; {err}")
        for c, px in proxies:
            log = px.log()
            t.check(f"{name}: {shown(c)}: no emulation violation",
                    "hvemu: VIOLATION" not in log, log[-2000:])
            # The host's registration check (a guest's hvproxy checks
            # none: the Windows program that plays it would check the
            # host's registry).
            if c.side == "windows":
                t.check(f"{name}: {shown(c)}: no warning of a service "
                        "not registered", "is not registered" not in log,
                        log[-2000:])
    finally:
        for _, px in proxies:
            px.kill()
        service.close()
        unregister([p for c, kind, a, _ in plan if kind == "register"
                    for p in [int(a[2])]])


with open(doc_path, encoding="utf-8") as f:
    doc = f.read()
try:
    flows = scenarios.blocks(scenarios.section(doc))
except ValueError as e:
    t.check("the section's commands can be read", False, str(e))
    t.done()
titles = {b.title for b in flows}
t.check("the section has the four scenarios, each with its commands",
        len([x for x in titles if x]) == 4 and all(b.commands
                                                   for b in flows),
        str(sorted(titles)))
sides = {c.side for b in flows for c in b.commands}
t.check("commands for Windows, WSL2, Linux and FreeBSD",
        sides == {"windows", "wsl", "linux", "freebsd"}, str(sides))
# Registrations a killed run left in the prefix.
unregister({scenarios.register_port(c) for b in flows for c in b.commands
            if scenarios.register_port(c) is not None})
for n, block in enumerate(flows):
    run_flow(n, block)
if opts.wsl:
    t.check("hvsock:wsl: took the WSL VM's id from "
            "`wsl.exe -- wslinfo --vm-id` (the stand-in)",
            any("wslinfo --vm-id" in r for r in standin.runs()),
            str(standin.runs()[-10:]))
t.done()
