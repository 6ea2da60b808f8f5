# SPDX-License-Identifier: MIT
"""Partitions of the Hyper-V socket emulation (test/windows/hvemu) for
the end-to-end tests of hvcat-hvemu.exe and hvproxy-hvemu.exe under wine.

Every program is in one partition: the host, or a guest VM named by its
VM id (HVEMU_LOCAL_VMID); VM ids in HVEMU_WSL_VMIDS are WSL2 VMs. They
meet through one rendezvous directory (HVEMU_DIR) per script:

    parts = Partitions(t)
    env = parts.env(GUEST)                   # a guest's environment
    ex = Exchange(t, prog.hvcat, "vmid", parts,
                  listen=("hvsock:wildcard:5101", GUEST),
                  connect=("hvsock:" + GUEST + ":5101", None))
    run_exchanges(t, [ex])                   # files both ways, hashed

An Exchange is a listening hvcat -l and a connecting hvcat, each sending
a file on its stdin and writing what it receives to another file; both
files must arrive whole (SHA-256) and both programs exit 0. Intruders
(other partitions connecting first with -w) must not get in.
"""
import hashlib
import os
import re
import socket
import subprocess
import threading

from hvtest import files, winexe
from hvtest.net import Server, recv_all
from hvtest.wait import wait_for

# Guests of the host (any GUID but the host's is a child VM).
GUEST = "5a4d5647-0000-4000-8000-475545535401"
GUEST2 = "5a4d5647-0000-4000-8000-475545535402"
# A WSL2 utility VM.
WSL = "57534c32-0000-4000-8000-57534c564d01"

# A bound for a program to get going, and for a transfer of some MB, under
# wine on a busy machine.
READY = 120
IO = 150

# The warning for a service GUID Linux and FreeBSD guests cannot use.
SVCGUID_WARNING = re.compile(r"warning: .*not a vsock port's GUID "
                             r"\(PORT-facb-11e6-bd58-64006a7986d3\); "
                             r"Linux and FreeBSD guests listen only on "
                             r"those")


def template(port):
    """The service GUID of vsock port @port, spelled out."""
    return f"{port:08x}-facb-11e6-bd58-64006a7986d3"


def text(b):
    """Bytes a program wrote, as text (LF line ends)."""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    return b.replace("\r\n", "\n")


class Partitions:
    """One rendezvous directory (t.path("rdv")) and the WSL VM ids."""

    def __init__(self, t, wsl=(WSL,)):
        rdv = t.path("rdv")
        os.makedirs(rdv, exist_ok=True)
        self.rdv = winexe.winpath(rdv)
        self.wsl = ",".join(wsl)

    def env(self, vmid=None, **extra):
        """The environment of a program in partition @vmid (None: the
        host), plus @extra."""
        e = {"HVEMU_DIR": self.rdv, "HVEMU_LOCAL_VMID": vmid,
             "HVEMU_WSL_VMIDS": self.wsl or None}
        e.update(extra)
        return e


def listening(log):
    """The address of "listening on ADDR" in @log, or None."""
    m = re.search(r"listening on (\S+)\s*$", log, re.M)
    return m.group(1) if m else None


class Exchange:
    """hvcat -l -v LISTEN in one partition, hvcat -v CONNECT in another,
    a random file each way (@up bytes from the connector, @down from the
    listener). @listen and @connect are (address, vmid) pairs, vmid None
    for the host; @largs and @cargs: more options. @peer: how the
    listener must name the connector ("hvsock:ID" or "hvsock:parent").
    @intruders: (vmid, address) of clients that must not get in (each
    runs with -w 2 before the connector, sending a few bytes): unless
    @allow, their connect must time out; with @allow (the listener has
    --allow), the listener must refuse them and say so. @warn: how
    many service GUID warnings (listener, connector) must print.
    run_exchanges() runs it; check() says how it went."""

    def __init__(self, t, hvcat, name, parts, listen, connect, peer,
                 up=2 * 1024 * 1024 + 11, down=3 * 1024 * 1024 // 2 + 5,
                 largs=(), cargs=(), intruders=(), allow=False,
                 warn=(0, 0)):
        self.t, self.hvcat, self.name, self.parts = t, hvcat, name, parts
        self.listen, self.connect, self.peer = listen, connect, peer
        self.largs, self.cargs = list(largs), list(cargs)
        self.intruders, self.allow = list(intruders), allow
        self.warn = warn
        self.up = files.mkrand(t.path(f"{name}.up"), up)
        self.down = files.mkrand(t.path(f"{name}.down"), down)
        self.got_up = t.path(f"{name}.got-up")
        self.got_down = t.path(f"{name}.got-down")
        self.cerr = t.path(f"{name}.client.err")
        self.listener = self.client = None
        self.lrc = self.crc = None
        self.intruded = []
        self._open = []

    def _f(self, path, mode):
        f = open(path, mode)
        self._open.append(f)
        return f

    def start_listener(self):
        addr, vmid = self.listen
        self.listener = winexe.WinDaemon(
            [self.hvcat, "-l", "-v"] + self.largs + [addr],
            self.t.path(f"{self.name}.listener.err"),
            stdin=self._f(self.down, "rb"),
            stdout=self._f(self.got_up, "wb"), env=self.parts.env(vmid))

    def listening(self):
        """The address it listens on, None if not (yet)."""
        return listening(self.listener.log())

    def run_intruders(self):
        """Each intruder's connect, with -w 2, at once; .intruded gets
        (vmid, address, exit status, stderr text) of each."""
        procs = []
        for vmid, addr in self.intruders:
            procs.append((vmid, addr, winexe.start(
                [self.hvcat, "-w", "2", addr], env=self.parts.env(vmid))))
        for vmid, addr, p in procs:
            try:
                _, err = p.communicate(input=b"intruder\n", timeout=READY)
                rc = p.returncode
            except subprocess.TimeoutExpired:
                winexe.kill(p)
                err, rc = b"", "timeout"
            winexe.kill(p)
            self.intruded.append((vmid, addr, rc, text(err)))

    def start_client(self):
        addr, vmid = self.connect
        self.client = winexe.WinDaemon(
            [self.hvcat, "-v"] + self.cargs + [addr], self.cerr,
            stdin=self._f(self.up, "rb"),
            stdout=self._f(self.got_down, "wb"), env=self.parts.env(vmid))

    def finish(self, timeout=IO):
        """Wait for both programs (killed after @timeout seconds)."""
        for attr in ("client", "listener"):
            d = getattr(self, attr)
            rc = d.wait(timeout) if d else None
            if d and rc is None:
                d.kill()
                rc = "timeout"
            setattr(self, "crc" if attr == "client" else "lrc", rc)
        for f in self._open:
            f.close()

    def check(self):
        """The checks of this exchange, on the Tap."""
        t, n = self.t, self.name
        llog = self.listener.log()
        clog = self.client.log() if self.client else ""
        la, ca = self.listen[0], self.connect[0]
        for vmid, addr, rc, err in self.intruded:
            if not self.allow:
                t.check(f"{n}: {addr} from {vmid} does not get in (timed "
                        "out, exit 1)", rc == 1 and "timed out" in err,
                        f"rc {rc}: {err[-1500:]}")
                continue
            t.check(f"{n}: {addr} from {vmid} is refused by --allow, "
                    "and the listener says so",
                    rc != "timeout" and re.search(
                        rf"refused connection from hvsock:{vmid}:\S+ "
                        r"\(not allowed by --allow\)", llog, re.I),
                    f"rc {rc}: {err[-1500:]}\n{llog[-2000:]}")
        t.check(f"{n}: the connector {ca} exits 0", self.crc == 0,
                f"rc {self.crc}\n{clog[-2000:]}")
        t.check(f"{n}: the listener on {la} exits 0", self.lrc == 0,
                f"rc {self.lrc}\n{llog[-2000:]}")
        t.check(f"{n}: the connector's bytes arrive whole (SHA-256)",
                files.sha256_file(self.got_up) == files.sha256_file(self.up),
                f"{os.path.getsize(self.got_up)} bytes of "
                f"{os.path.getsize(self.up)}")
        t.check(f"{n}: the listener's bytes arrive whole (SHA-256)",
                files.sha256_file(self.got_down) ==
                files.sha256_file(self.down),
                f"{os.path.getsize(self.got_down)} bytes of "
                f"{os.path.getsize(self.down)}")
        t.check(f"{n}: the listener names the peer {self.peer}",
                re.search(rf"connection from {re.escape(self.peer)}:",
                          llog, re.I) is not None, llog[-2000:])
        for who, log, want in (("listener", llog, self.warn[0]),
                               ("connector", clog, self.warn[1])):
            got = len(SVCGUID_WARNING.findall(log))
            t.check(f"{n}: the {who} prints {want} service GUID "
                    "warning(s)", got == want, log[-2000:])
            t.check(f"{n}: no emulation violation in the {who}",
                    "hvemu: VIOLATION" not in log, log[-2000:])


def run_exchanges(t, exchanges, timeout=IO):
    """Run @exchanges side by side: every listener, then (once all
    listen) every intruder, then every connector; then check each. Ends
    the script if a listener does not listen within READY seconds."""
    for ex in exchanges:
        ex.start_listener()
    wait_for(lambda: all(ex.listening() or not ex.listener.alive()
                         for ex in exchanges), READY)
    bad = [ex for ex in exchanges if not ex.listening()]
    for ex in bad:
        t.check(f"{ex.name}: hvcat -l {ex.listen[0]} listens", False,
                ex.listener.log()[-2000:])
    if bad:
        t.done()
    threads = [threading.Thread(target=ex.run_intruders)
               for ex in exchanges if ex.intruders]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for ex in exchanges:
        ex.start_client()
    for ex in exchanges:
        ex.finish(timeout)
    for ex in exchanges:
        ex.check()


def sha_size(b):
    """(SHA-256 hex, length) of the bytes @b."""
    return (hashlib.sha256(b).hexdigest(), len(b))


class ReplyAfterEof(Server):
    """A tcp server behind hvproxy: reads each connection to its end,
    then sends @reply and ends its side; .got: sha_size() of each stream
    read (a stream cut short by an error is not counted)."""

    def __init__(self, reply):
        self.reply, self.got = reply, []
        super().__init__(self._handle)

    def _handle(self, c):
        self.got.append(sha_size(recv_all(c, IO)))
        c.sendall(self.reply)
        c.shutdown(socket.SHUT_WR)
