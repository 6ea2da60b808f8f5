# SPDX-License-Identifier: MIT
"""win-hvcat: hvcat.exe under wine, its standard streams through pipes.

A half-closed request whose answer still arrives (hvcat.exe as the
client); -l: one connection, stdin and stdout binary and unchanged (CR,
LF, NUL and Ctrl-Z bytes); -l -k: two clients in a row; -l -e PROG (a
Windows echo program) and -c CMD (cmd.exe): the program serves the
connection, its status becomes hvcat's; Ctrl-C ends a listener with
status 130; addresses Windows or wine have not (unix:@NAME, unix:PATH,
-U, fd:N) are refused with one line and exit 2.

    win_hvcat.py --wine-run=cross/wine-run --hvcat=PATH --echo=PATH
"""
import os
import signal
import socket
import subprocess
import threading

from hvtest import Tap, sha256_bytes, wait_for, winexe
from hvtest.wintools import Listener, one_line, text

IO = 60  # bound on one socket operation or one run, seconds
# Bytes a text-mode stream would change: CR LF, a lone LF and CR, NUL,
# Ctrl-Z (end of file for a text-mode read), and every other byte.
BINARY = b"a\r\nb\nc\rd\0\0e\x1af\r\r\n\n" + bytes(range(256)) * 64

t = Tap()
prog = winexe.setup(t, "hvcat", "echo")


def read_all(s):
    data = b""
    while True:
        b = s.recv(1 << 16)
        if not b:
            return data
        data += b


class Peer(threading.Thread):
    """A loopback peer on a thread: @fn(socket) on the one connection
    it accepts (.port), or makes to @connect_to; .result, .error."""

    def __init__(self, fn, connect_to=None):
        super().__init__(daemon=True)
        self.fn = fn
        self.connect_to = connect_to
        self.result = self.error = None
        if connect_to is None:
            self.ls = socket.socket()
            self.ls.bind(("127.0.0.1", 0))
            self.ls.listen(4)
            self.ls.settimeout(IO)
            self.port = self.ls.getsockname()[1]
        self.start()

    def run(self):
        try:
            if self.connect_to is None:
                s, _ = self.ls.accept()
            else:
                s = socket.create_connection(("127.0.0.1", self.connect_to),
                                             timeout=IO)
            s.settimeout(IO)
            with s:
                self.result = self.fn(s)
        except Exception as e:  # reported by the check
            self.error = repr(e)

    def get(self):
        self.join(IO + 5)
        return self.result


def req_reply(req):
    """A client's part: send @req, half-close, read the answer to EOF."""
    def fn(s):
        s.sendall(req)
        s.shutdown(socket.SHUT_WR)
        return read_all(s)
    return fn


# ---- refused on Windows (and under wine) ---------------------------------
refused = [
    (["unix:@x"], "unix:@x (an abstract unix socket)"),
    ([f"unix:{winexe.winpath(t.path('s'))}"],
     "unix:PATH (wine has no unix sockets)"),
    (["-U", winexe.winpath(t.path("s"))], "-U PATH (no unix sockets)"),
    (["-l", "fd:3"], "-l fd:3 (an inherited socket)"),
]
for args, what in refused:
    r = winexe.run([prog.hvcat] + args, timeout=IO)
    t.check(f"{what}: exit 2, one line on stderr",
            r.returncode == 2 and one_line(r.stderr),
            f"rc {r.returncode} stderr {r.stderr!r}")

# ---- the client: a half-closed request ---------------------------------
REQ = os.urandom(300000)


def answer_after_eof(s):
    req = read_all(s)
    s.sendall(sha256_bytes(req).encode() + b"\n" + BINARY)
    return req


p = Peer(answer_after_eof)
r = winexe.run([prog.hvcat, f"tcp:127.0.0.1:{p.port}"], input=REQ,
               timeout=IO)
t.check("client: stdin EOF passed on (half-close), the whole answer "
        "arrives after it, binary bytes unchanged",
        r.returncode == 0 and p.get() == REQ and
        r.stdout == sha256_bytes(REQ).encode() + b"\n" + BINARY,
        f"rc {r.returncode} out {r.stdout[:80]!r}... ({len(r.stdout)} "
        f"bytes) err {text(r.stderr)} peer {p.error}")

# The same with stdin a pipe of Windows' own (cmd's |: made by wine, as
# on Windows, where the one above is a Unix pipe) and stdout a file.
reqf, ansf = t.path("req.bin"), t.path("answer.bin")
with open(reqf, "wb") as f:
    f.write(REQ)
p = Peer(answer_after_eof)
r = winexe.run(["cmd", "/c", f"{winexe.winpath(prog.echo)} < "
                f"{winexe.winpath(reqf)} | {winexe.winpath(prog.hvcat)} "
                f"tcp:127.0.0.1:{p.port} > {winexe.winpath(ansf)}"],
               timeout=IO)
try:
    with open(ansf, "rb") as f:
        ans = f.read()
except OSError as e:
    ans = repr(e).encode()
t.check("client, stdin a Windows pipe (cmd's |), stdout a file: the "
        "request and its EOF pass, the whole answer arrives unchanged",
        r.returncode == 0 and p.get() == REQ and
        ans == sha256_bytes(REQ).encode() + b"\n" + BINARY,
        f"rc {r.returncode} answer {ans[:80]!r}... ({len(ans)} bytes) "
        f"err {text(r.stderr)} peer {p.error}")

# ---- -l: one connection, stdin and stdout through pipes ----------------
reply = BINARY + os.urandom(200000) + BINARY
lst = Listener(t, prog.hvcat, [], stdin=subprocess.PIPE,
               stdout=subprocess.PIPE)
t.check("-l: listens (says so with -v)", lst.port is not None, lst.log())
out = []


def feed():
    try:
        lst.proc.stdin.write(reply)
        lst.proc.stdin.close()
    except OSError:
        pass


def drain():
    out.append(lst.proc.stdout.read())


ths = [threading.Thread(target=feed, daemon=True),
       threading.Thread(target=drain, daemon=True)]
for th in ths:
    th.start()
req = BINARY + os.urandom(300000) + BINARY
p = Peer(req_reply(req), connect_to=lst.port) if lst.port else None
got = p.get() if p else None
for th in ths:
    th.join(IO)
rc = lst.wait(IO)
t.check("-l: the peer gets stdin's bytes unchanged (CR, LF, NUL, ^Z)",
        got == reply, f"{len(got or b'')} of {len(reply)} bytes "
        f"{p.error if p else ''} {lst.log()[-800:]}")
t.check("-l: stdout gets the peer's bytes unchanged",
        out == [req], f"{len(out[0]) if out else None} of {len(req)}")
t.check("-l: exit 0 once both sides ended", rc == 0, f"rc {rc}")
lst.close()

# ---- -l -k: two clients in a row --------------------------------------
outk = t.path("k.out")
with open(outk, "wb") as fo:
    lst = Listener(t, prog.hvcat, ["-k"], stdout=fo)
served = []
for i in range(2):
    if lst.port is None:
        break
    p = Peer(req_reply(f"client {i}\r\n".encode() + BINARY),
             connect_to=lst.port)
    got = p.get()
    served.append(got == b"" and p.error is None)
t.check("-l -k: two clients in a row, each served to its EOF",
        served == [True, True], f"{served} {lst.log()[-800:]}")
want = b"client 0\r\n" + BINARY + b"client 1\r\n" + BINARY


def k_out():
    with open(outk, "rb") as f:
        return f.read()


# hvcat writes its stdout on a thread of its own: bounded wait for it.
wait_for(lambda: len(k_out()) >= len(want), IO)
kdata = k_out()
t.check("-l -k: stdout has both clients' bytes, in order, unchanged",
        kdata == want, f"{len(kdata)} of {len(want)} bytes: {kdata[:40]!r}")
t.check("-l -k: still listening after them", lst.alive(), lst.log())
lst.signal(signal.SIGINT)  # wine: the console control handler's Ctrl-C
rc = lst.wait(IO)
t.check("-l -k: Ctrl-C (SIGINT under wine) ends it with status 130",
        rc == 130, f"rc {rc} {lst.log()[-800:]}")
lst.close()

# ---- -l -e PROG --------------------------------------------------------
echo = winexe.winpath(prog.echo)
lst = Listener(t, prog.hvcat, ["-e", echo])
req = BINARY + os.urandom(500000) + BINARY
p = Peer(req_reply(req), connect_to=lst.port) if lst.port else None
got = p.get() if p else None
rc = lst.wait(IO)
t.check("-l -e hvs-echo.exe: the program echoes the connection, bytes "
        "unchanged", got == req,
        f"{len(got or b'')} of {len(req)} bytes "
        f"{p.error if p else ''} {lst.log()[-800:]}")
t.check("-l -e: exit 0 as the program did", rc == 0, f"rc {rc}")
t.check("-l -e: no process left behind", lst.wait_gone(IO),
        f"left: {lst.leftovers()}")
lst.close()

lst = Listener(t, prog.hvcat, ["-c", "echo hello& echo %HVCAT_PEER%"])
p = Peer(req_reply(b""), connect_to=lst.port) if lst.port else None
got = p.get() if p else None
rc = lst.wait(IO)
t.check("-l -c CMD (cmd.exe): the command answers, HVCAT_PEER is set, "
        "exit 0", got is not None and
        got.startswith(b"hello\r\ntcp:127.0.0.1:") and rc == 0,
        f"got {got!r} rc {rc} {lst.log()[-800:]}")
lst.close()

lst = Listener(t, prog.hvcat, ["-e", echo + " 3"])
p = Peer(req_reply(b"x"), connect_to=lst.port) if lst.port else None
got = p.get() if p else None
rc = lst.wait(IO)
t.check("-l -e: a program that exits 3 makes hvcat exit 1",
        got == b"x" and rc == 1, f"got {got!r} rc {rc} {lst.log()[-800:]}")
lst.close()
t.done()
