#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvproxy-mux-docs: the commands of docs/forwarding.md's sections
"Firecracker", "Cloud Hypervisor" and "One connection with hvcat", run
as written, so that the recipes and the code cannot drift apart.

    hvproxy_mux_docs.py HVCAT     (hvproxy: $HVPROXY)

In those sections every indented line is a command after a prompt,
"host$ " or "guest$ " (hvtest.vmm.doc_blocks(): an indented line
without one fails the test); the commands of one block make one flow.
The host's commands run as they are, with their own ports and paths
swapped for the test's (tcp ports for free ones, the VM's socket PATH
for a file in the test's folder). There is no guest here: a guest's
command runs on this machine with its vsock addresses replaced by what
the VMM turns them into:

    guest$ hvproxy vsock:P TARGET     hvproxy tcp:127.0.0.1:G TARGET,
    guest$ hvcat -l vsock:P           hvcat -l tcp:127.0.0.1:G; the
                                      emulated VMM (hvtest.vmm, mode
                                      ok) at PATH answers CONNECT P
                                      and relays to G
    guest$ hvproxy LISTEN vsock:P     hvproxy LISTEN unix:PATH_P,
    guest$ hvcat vsock:P              hvcat unix:PATH_P: the VMM's
    (or vsock:2:P, vsock:host:P)      connection to the host

A tcp target that no command of its side listens on is that side's web
server (a thread here); `curl URL` must get its page. A block of hvcat
commands is one listener (-l) and one client: each sends a file, and
each must get the other's whole (sha256). Any other command is an
error: the test must learn it first.
"""
import os
import re
import shutil

from hvtest import Tap, free_port, mkrand, run, sha256_file
from hvtest.hvcat import HVCAT, Listener
from hvtest.hvproxy import HVPROXY, Proxy
from hvtest.vmm import SOURCE_DIR, HttpService, Vmm, doc_blocks, require

SECTIONS = ("Firecracker", "Cloud Hypervisor", "One connection with hvcat")
DOC = os.path.join(SOURCE_DIR, "docs", "forwarding.md")

t = Tap()
require(t)


class Flow:
    """One block's commands, mapped onto this machine."""

    def __init__(self, block, tag):
        self.block, self.tag = block, tag
        self.ports = {}  # (side, port written) -> the test's port
        self.paths = {}  # PATH written -> the test's
        self.guest_listen = {}  # vsock port P -> the tcp port G for it

    def port(self, side, n):
        key = (side, int(n))
        if key not in self.ports:
            self.ports[key] = free_port()
        return self.ports[key]

    def path(self, p):
        if p not in self.paths:
            self.paths[p] = t.path(f"{self.tag}.{len(self.paths)}.sock")
        return self.paths[p]

    def the_path(self):
        """The VM's socket of this flow (the one PATH its commands
        name)."""
        if len(self.paths) != 1:
            raise ValueError(f"the flow names {len(self.paths)} VM "
                             f"sockets: {sorted(self.paths)}")
        return next(iter(self.paths.values()))

    def addr(self, side, a, role):
        """The address to run for the address @a of a command on
        @side, in @role ("listen" or "connect")."""
        scheme, _, rest = a.partition(":")
        if scheme == "tcp":
            host, _, p = rest.rpartition(":")
            if host not in ("", "127.0.0.1", "localhost"):
                raise ValueError(f"{a}: not a loopback address")
            return f"tcp:127.0.0.1:{self.port(side, p)}"
        if scheme == "vsock-mux" and side == "host" and role == "connect":
            path, _, p = rest.rpartition(":")
            return f"vsock-mux:{self.path(path)}:{int(p)}"
        if scheme == "unix" and side == "host":
            m = re.fullmatch(r"(.+)_([0-9]+)", rest)
            if not m:
                raise ValueError(f"{a}: not a VM socket's PATH_PORT")
            return f"unix:{self.path(m.group(1))}_{int(m.group(2))}"
        if scheme == "vsock" and side == "guest":
            cid, _, p = rest.rpartition(":")
            if role == "listen" and cid in ("", "any"):
                g = free_port()
                self.guest_listen[int(p)] = g
                return f"tcp:127.0.0.1:{g}"
            if role == "connect" and cid in ("", "2", "host"):
                return f"unix:{self.the_path()}_{int(p)}"
        raise ValueError(f"{a}: not an address of the recipes "
                         f"({side}, {role})")

    def url(self, side, u):
        m = re.fullmatch(r"http://(127\.0\.0\.1|localhost):([0-9]+)(/.*)",
                         u)
        if not m:
            raise ValueError(f"{u}: not a loopback URL")
        return f"http://127.0.0.1:{self.port(side, m.group(2))}{m.group(3)}"


def plan(flow):
    """[(kind, command, argv)] to run for @flow's commands, in order, and
    the services to start: {(side, port written): page}."""
    steps, listens, targets = [], set(), []
    # Host commands first: the guest's vsock targets need the VM's PATH.
    cmds = sorted(flow.block.commands, key=lambda c: c.side != "host")
    mapped = {}
    for c in cmds:
        prog, args = c.argv[0], c.argv[1:]
        if prog == "hvproxy":
            if not args or len(args) % 2 or \
                    any(a.startswith("-") for a in args):
                raise ValueError(f"{c}: not hvproxy LISTEN TARGET...")
            out = []
            for i, a in enumerate(args):
                role = "listen" if i % 2 == 0 else "connect"
                if a.startswith("tcp:"):
                    k = (c.side, int(a.rpartition(":")[2]))
                    if role == "listen":
                        listens.add(k)
                    else:
                        targets.append(k)
                out.append(flow.addr(c.side, a, role))
            mapped[id(c)] = ("hvproxy", c, out)
        elif prog == "hvcat":
            opts, a = args[:-1], args[-1:]
            listen = "-l" in opts
            opts = [o for o in opts if o != "-l"]
            if len(a) != 1 or a[0].startswith("-") or not (
                    opts == [] or (len(opts) == 2 and opts[0] == "-w")):
                raise ValueError(f"{c}: not hvcat [-l] [-w N] ADDRESS")
            mapped[id(c)] = ("hvcat-l" if listen else "hvcat", c,
                             opts + [flow.addr(c.side, a[0], "listen"
                                               if listen else "connect")])
        elif prog == "curl" and len(args) == 1:
            mapped[id(c)] = ("curl", c, [flow.url(c.side, args[0])])
        else:
            raise ValueError(f"{c}: not a command the test knows")
    for c in flow.block.commands:  # in the document's order
        steps.append(mapped[id(c)])
    services = {k: f"the {k[0]}'s service on port {k[1]} "
                f"({flow.tag})\n".encode()
                for k in targets if k not in listens}
    return steps, services


def run_flow(block, tag):
    name = f"{tag}: {block.title}"
    flow = Flow(block, tag)
    try:
        steps, services = plan(flow)
    except ValueError as e:
        t.check(f"{name}: the commands are ones the test knows", False,
                f"{e}\n{block.commands}")
        return
    kinds = sorted(k for k, _, _ in steps)
    hvcats = kinds == ["hvcat", "hvcat-l"]
    t.check(f"{name}: {len(block.commands)} commands, "
            f"{len(services)} service(s)",
            hvcats or (services and "hvcat" not in kinds and
                       "hvcat-l" not in kinds),
            f"neither services for hvproxy and curl nor one hvcat -l and "
            f"one hvcat: {block.commands}")
    live = []
    try:
        for (side, p), page in services.items():
            live.append(HttpService(flow.port(side, p), page))
        vmm = None
        if flow.guest_listen:
            (gp, g), = flow.guest_listen.items()
            vmm = Vmm(t, "ok", gp, g, path=flow.the_path())
            live.append(vmm)
            if not t.check(f"{name}: the emulated VMM listens", vmm.ready,
                           vmm.log()):
                return
        pages = list(services.values())
        lst = None
        for kind, c, argv in steps:
            shown = f"{c.side}$ {c.text}"
            if kind == "hvproxy":
                p = Proxy(t, argv, ready=False)
                live.append(p)
                t.check(f"{name}: {shown}: ready",
                        p.wait_notify("READY=1"),
                        f"run as: hvproxy {' '.join(argv)}\n{p.log()}")
            elif kind == "hvcat-l":
                fin = open(mkrand(t.path(f"{flow.tag}.l.in"), 1 << 20),
                           "rb")
                fout = open(t.path(f"{flow.tag}.l.out"), "wb")
                lst = Listener(t, argv[:-1], addr=argv[-1], stdin=fin,
                               stdout=fout)
                live.append(lst)
                t.check(f"{name}: {shown}: listening", lst.addr,
                        f"run as: hvcat -l {' '.join(argv)}\n{lst.log()}")
            elif kind == "hvcat":
                cin = mkrand(t.path(f"{flow.tag}.c.in"), (1 << 20) + 1)
                cout = t.path(f"{flow.tag}.c.out")
                with open(cin, "rb") as fi, open(cout, "wb") as fo:
                    r = run([HVCAT] + argv, stdin=fi, stdout=fo, timeout=60)
                # The listener ends with its connection; if the client
                # failed, it gets only a moment before it is killed.
                lrc = lst.wait(60 if r.returncode == 0 else 1) \
                    if lst else None
                t.check(f"{name}: {shown}: both hvcats exit 0",
                        r.returncode == 0 and lrc == 0,
                        f"run as: hvcat {' '.join(argv)}\n"
                        f"exit {r.returncode} {r.stderr!r}; hvcat -l: "
                        f"{lrc} {lst.log() if lst else ''}")
                t.check(f"{name}: each side got the other's file whole "
                        f"(sha256)",
                        lst is not None and
                        sha256_file(cin) == sha256_file(
                            t.path(f"{flow.tag}.l.out")) and
                        sha256_file(t.path(f"{flow.tag}.l.in")) ==
                        sha256_file(cout))
            else:
                r = run(["curl", "-sS", "--max-time", "30", argv[0]],
                        timeout=40)
                t.check(f"{name}: {shown}: the page of the other side's "
                        f"service", r.returncode == 0 and r.stdout in pages,
                        f"run as: curl {argv[0]}\n"
                        f"exit {r.returncode}: {r.stdout!r} {r.stderr!r}"
                        + "".join(f"\n{x.log()}" for x in live
                                  if hasattr(x, "log")))
        if vmm:
            t.check(f"{name}: the VMM was asked for the guest's port",
                    vmm.connects(), vmm.log())
    finally:
        for x in live:
            x.close()


blocks = {}
for sec in SECTIONS:
    try:
        blocks[sec] = doc_blocks(DOC, sec)
    except ValueError as e:
        t.check(f"{sec}: the section reads", False, str(e))
        blocks[sec] = []
    t.check(f"{sec}: two recipes (host -> guest, guest -> host)",
            len(blocks[sec]) == 2, blocks[sec])
if shutil.which("curl") is None:
    t.skip("the recipes", "no curl")
    t.done()
t.note(f"hvproxy: {HVPROXY}")
for sec in SECTIONS:
    for i, b in enumerate(blocks[sec]):
        run_flow(b, f"{sec.lower().replace(' ', '-')}{i}")
t.done()
