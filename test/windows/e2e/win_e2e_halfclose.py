# SPDX-License-Identifier: MIT
"""e2e-halfclose: the half-close through hvcat and hvproxy on Hyper-V
sockets, both ways.

hvcat-hvemu.exe and hvproxy-hvemu.exe under wine, on the Hyper-V socket
emulation (hvemu.h), host and guest in partitions of their own. The
host's hvproxy forwards hvsock:wildcard to tcp servers and tcp to
hvsock:GUEST; a guest's hvproxy forwards hvsock:parent to tcp. Each
case sends some MB one way, ends that direction, and only then gets
some MB back (SHA-256 both ways):

  hvcat connects     its stdin's end reaches a tcp server behind the
                     host's proxy (hvsock to tcp), whose reply follows
  hvcat listens      a tcp client sends and ends its side, through the
                     proxy (tcp to hvsock); the reply written to hvcat's
                     stdin after all of it came out reaches the client,
                     and hvcat exits 0 once both directions have ended
  server ends first  a tcp server sends and ends its side first; what
                     hvcat sends after it reaches the server (hvsock to
                     tcp), and hvcat exits 0
  two proxies        tcp client -> host proxy -> hvsock -> guest proxy
                     -> tcp server, and the reply back

    win_e2e_halfclose.py --wine-run=cross/wine-run \\
        --hvproxy=hvproxy-hvemu.exe --hvcat=hvcat-hvemu.exe
"""
import hashlib
import os
import socket
import subprocess
import threading

from hvtest import Tap, free_port, winexe
from hvtest.hvemu import GUEST, IO, Partitions, ReplyAfterEof, sha_size, \
    text
from hvtest.net import Server, connect, recv_all
from hvtest.wait import wait_for
from hvtest.wintools import Proxy

t = Tap()
prog = winexe.setup(t, "hvproxy", "hvcat")
parts = Partitions(t)
UP = 3 * 1024 * 1024 + 17
DOWN = 2 * 1024 * 1024 + 9


def sha(b):
    return hashlib.sha256(b).hexdigest()


class SendFirst(Server):
    """Sends @first and ends its side at once, then reads to EOF; .got
    as ReplyAfterEof's."""

    def __init__(self, first):
        self.first, self.got = first, []
        super().__init__(self._handle)

    def _handle(self, c):
        c.sendall(self.first)
        c.shutdown(socket.SHUT_WR)
        self.got.append(sha_size(recv_all(c, IO)))


class Piped:
    """A Windows program with its stdin and stdout as pipes: stdout is
    read on a thread (.out(): what came so far). hvcat keeps its stdout
    open while its stdin is (as on POSIX), so a test waits for the
    bytes it expects, not for an end."""

    def __init__(self, argv, env):
        self.err = t.path(f"piped.{t.n}.{id(self)}.err")
        self.errf = open(self.err, "wb")
        self.p = winexe.start(argv, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=self.errf,
                              env=env)
        self.chunks = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            b = self.p.stdout.read1(1 << 16)
            if not b:
                break
            self.chunks.append(b)

    def out(self):
        return b"".join(self.chunks)

    def wait_bytes(self, n, timeout=IO):
        """True once @n bytes have come out (or the program ended)."""
        return bool(wait_for(lambda: sum(map(len, self.chunks)) >= n or
                             self.p.poll() is not None, timeout)) and \
            sum(map(len, self.chunks)) >= n

    def send_and_close(self, data):
        try:
            self.p.stdin.write(data)
            self.p.stdin.close()
        except OSError:
            pass

    def wait(self, timeout=IO):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = "timeout"
        winexe.kill(self.p)
        self.errf.close()
        return rc

    def log(self):
        with open(self.err, "rb") as f:
            return text(f.read())


host_env, guest_env = parts.env(), parts.env(GUEST)
up = [os.urandom(UP + i) for i in range(4)]
down = [os.urandom(DOWN + i) for i in range(4)]
reply = ReplyAfterEof(down[0])
first = SendFirst(down[2])
guest_reply = ReplyAfterEof(down[3])
px, py = free_port(), free_port()
host = Proxy(t, prog.hvproxy, [
    "hvsock:wildcard:5201", reply.addr,
    f"tcp:127.0.0.1:{px}", f"hvsock:{GUEST}:5202",
    "hvsock:wildcard:5204", first.addr,
    f"tcp:127.0.0.1:{py}", f"hvsock:{GUEST}:5203"],
    forwards=4, env=host_env)
guest = Proxy(t, prog.hvproxy, ["hvsock:parent:5203", guest_reply.addr],
              env=guest_env)

# hvcat connects: stdin's end passes on, the reply follows it.
with open(t.path("up0"), "wb") as f:
    f.write(up[0])
with open(t.path("up0"), "rb") as cin:
    c1 = winexe.start([prog.hvcat, "-v", "hvsock:parent:5201"], stdin=cin,
                      env=guest_env)
# hvcat listens; a tcp client ends first, through the proxy.
c2 = Piped([prog.hvcat, "-l", "-v", "hvsock:parent:5202"], guest_env)
# A server ends first; hvcat answers after it.
c3 = Piped([prog.hvcat, "-v", "hvsock:parent:5204"], guest_env)

# Two proxies: a tcp client at the host, a tcp server in the guest.
res4 = {}


def two_proxies():
    c = connect(py, IO)
    c.sendall(up[3])
    c.shutdown(socket.SHUT_WR)
    res4["back"] = recv_all(c, IO)
    c.close()


th4 = threading.Thread(target=two_proxies)
th4.start()

# The listening hvcat: the client sends and ends; hvcat answers after.
t.check("hvcat -l hvsock:parent:5202 listens in the guest",
        wait_for(lambda: "listening on" in c2.log() or
                 c2.p.poll() is not None, IO) and
        "listening on" in c2.log(), c2.log()[-2000:])
res2 = {}


def client2():
    c = connect(px, IO)
    c.sendall(up[1])
    c.shutdown(socket.SHUT_WR)
    res2["back"] = recv_all(c, IO)
    c.close()


th2 = threading.Thread(target=client2)
th2.start()
c2.wait_bytes(len(up[1]))
t.check("hvcat listens: the client's bytes arrive whole (tcp to hvsock, "
        "SHA-256)", sha(c2.out()) == sha(up[1]),
        f"{len(c2.out())} bytes of {len(up[1])}")
c2.send_and_close(down[1])
th2.join(IO)
t.check("hvcat listens: its reply after the end reaches the client "
        "(SHA-256)", sha(res2.get("back", b"")) == sha(down[1]),
        f"{len(res2.get('back', b''))} bytes of {len(down[1])}")
rc = c2.wait()
t.check("hvcat listens: it exits 0 (both directions ended)", rc == 0,
        f"rc {rc}\n{c2.log()[-2000:]}")

# The server ends first: what hvcat sends after its end still goes.
c3.wait_bytes(len(down[2]))
t.check("server ends first: its bytes arrive whole (SHA-256)",
        sha(c3.out()) == sha(down[2]),
        f"{len(c3.out())} bytes of {len(down[2])}")
c3.send_and_close(up[2])
rc = c3.wait()
t.check("server ends first: hvcat exits 0 once it has sent (both "
        "directions ended)", rc == 0,
        f"rc {rc}\n{c3.log()[-2000:]}")
wait_for(lambda: first.got, IO)
t.check("server ends first: hvcat's bytes after the end arrive whole "
        "(SHA-256)", first.got == [sha_size(up[2])], f"{first.got}")

# hvcat connects: the reply came after its stdin's end.
try:
    out, err = c1.communicate(timeout=IO)
    rc1 = c1.returncode
except subprocess.TimeoutExpired:
    out, err, rc1 = b"", b"", "timeout"
winexe.kill(c1)
t.check("hvcat connects: it exits 0", rc1 == 0, text(err)[-2000:])
t.check("hvcat connects: its stdin's end reached the server, the bytes "
        "whole (SHA-256)", reply.got == [sha_size(up[0])], f"{reply.got}")
t.check("hvcat connects: the reply after the end arrives whole (SHA-256)",
        sha(out) == sha(down[0]), f"{len(out)} bytes of {len(down[0])}")

th4.join(IO)
t.check("two proxies: the client's bytes and end reach the guest's server "
        "(SHA-256)", guest_reply.got == [sha_size(up[3])],
        f"{guest_reply.got}")
t.check("two proxies: the reply after the end arrives whole (SHA-256)",
        sha(res4.get("back", b"")) == sha(down[3]),
        f"{len(res4.get('back', b''))} bytes of {len(down[3])}")

for name, log in (("the host's hvproxy", host.log()),
                  ("the guest's hvproxy", guest.log()),
                  ("the listening hvcat", c2.log()),
                  ("the connecting hvcat", c3.log() + text(err))):
    t.check(f"no emulation violation in {name}",
            "hvemu: VIOLATION" not in log, log[-2000:])
for name, proxy, n in (("the host's", host, 4), ("the guest's", guest, 1)):
    ends = [line for line in proxy.log().splitlines() if "conn fwd=" in line]
    t.check(f"{name} hvproxy logs its {n} connections as done (end=done)",
            len(ends) == n and all("end=done" in e for e in ends),
            proxy.log()[-3000:])
host.kill()
guest.kill()
t.done()
