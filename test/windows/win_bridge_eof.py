# SPDX-License-Identifier: MIT
"""win-bridge-eof: the end of a Unix pipe read through hvs_fd_bridge().

A program's stdin fed by a Unix process (Python's subprocess, a shell's
|) is a Unix pipe under wine, whose end a Windows read gives as 0 bytes
and no error. hvcat.exe as the client, stdin such a pipe: its end must
reach the peer as a half-close (the peer answers only then), and hvcat
must exit 0 with the answer; a pipe that stays open between two writes
must not be taken for ended (the second part arrives too); an empty
stdin is an EOF at once.

    win_bridge_eof.py --wine-run=cross/wine-run --hvcat=PATH
"""
import os
import socket
import subprocess
import threading

from hvtest import Tap, sha256_bytes, winexe
from hvtest.wintools import text

IO = 60  # bound on one socket operation or one run, seconds

t = Tap()
prog = winexe.setup(t, "hvcat")


class Peer(threading.Thread):
    """A loopback peer on a thread: it reads its one connection to EOF
    (setting .first once @first_len bytes are in), then answers with the
    hash of what it got and closes. .got, .error."""

    def __init__(self, first_len=0):
        super().__init__(daemon=True)
        self.first_len = first_len
        self.first = threading.Event()
        self.got = self.error = None
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.ls.settimeout(IO)
        self.port = self.ls.getsockname()[1]
        self.start()

    def run(self):
        try:
            s, _ = self.ls.accept()
            s.settimeout(IO)
            with s:
                data = b""
                while True:
                    if len(data) >= self.first_len:
                        self.first.set()
                    b = s.recv(1 << 16)
                    if not b:
                        break
                    data += b
                self.got = data
                s.sendall(sha256_bytes(data).encode() + b"\n")
        except Exception as e:  # reported by the check
            self.error = repr(e)
        finally:
            self.first.set()
            self.ls.close()


def answer(data):
    return sha256_bytes(data).encode() + b"\n"


# ---- bytes, then the pipe's end ----------------------------------------
REQ = os.urandom(200000)
p = Peer()
r = winexe.run([prog.hvcat, f"tcp:127.0.0.1:{p.port}"], input=REQ,
               timeout=IO)
p.join(IO)
t.check("stdin a Unix pipe: its end reaches the peer as a half-close, "
        "the answer arrives, exit 0",
        r.returncode == 0 and p.got == REQ and r.stdout == answer(REQ),
        f"rc {r.returncode} out {r.stdout!r} err {text(r.stderr)} "
        f"peer got {None if p.got is None else len(p.got)} {p.error}")

# ---- an empty pipe -----------------------------------------------------
p = Peer()
r = winexe.run([prog.hvcat, f"tcp:127.0.0.1:{p.port}"], input=b"",
               timeout=IO)
p.join(IO)
t.check("stdin an empty Unix pipe: EOF at once, exit 0",
        r.returncode == 0 and p.got == b"" and r.stdout == answer(b""),
        f"rc {r.returncode} out {r.stdout!r} err {text(r.stderr)} "
        f"peer {p.error}")

# ---- a pipe open between two writes ------------------------------------
A, B = b"first part\n" * 100, os.urandom(5000)
p = Peer(first_len=len(A))
h = winexe.start([prog.hvcat, f"tcp:127.0.0.1:{p.port}"],
                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
h.stdin.write(A)
h.stdin.flush()
# The pipe stays open (empty) until the peer has the first part.
p.first.wait(IO)
try:
    # B, then the pipe's end.
    out, err = h.communicate(input=B, timeout=IO)
    rc = h.returncode
except subprocess.TimeoutExpired:
    winexe.kill(h)
    out, err = h.communicate()
    rc = "timeout"
winexe.kill(h)
p.join(IO)
t.check("stdin a Unix pipe open and empty for a while: not its end; "
        "both parts arrive, then the half-close, exit 0",
        rc == 0 and p.got == A + B and out == answer(A + B),
        f"rc {rc} out {out!r} err {text(err)} peer got "
        f"{None if p.got is None else len(p.got)} {p.error}")

t.done()
