# SPDX-License-Identifier: MIT
"""win-relay: hvproxy.exe under wine relays tcp to tcp on 127.0.0.1.

A few MiB each way at once (SHA-256 checked on both sides, each side's
EOF passed on while the other still sends); a half-closed request whose
answer still arrives; 8 streams at once, each hashed at the target.

    win_relay.py --wine-run=cross/wine-run --hvproxy=PATH
"""
import hashlib
import os
import socket
import threading

from hvtest import Tap, free_port, sha256_bytes, winexe
from hvtest.net import HashServer, Server, connect, hash_roundtrip
from hvtest.wintools import Proxy

BIG = 3 * 1024 * 1024 + 5  # each way
STREAMS = 8
STREAM = 1024 * 1024 + 3   # per stream
IO = 120                   # bound on one socket operation, seconds

t = Tap()
prog = winexe.setup(t, "hvproxy")
DOWN = os.urandom(BIG)


def hash_to_eof(c):
    """(sha256, count) of what @c receives until EOF."""
    h = hashlib.sha256()
    n = 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            return h.hexdigest(), n
        h.update(b)
        n += len(b)


class BothWays(Server):
    """Per connection: sends DOWN and then its EOF, while it reads (and
    hashes) what comes until EOF; .got holds (sha256, count) of each."""

    def __init__(self):
        self.got = []
        super().__init__(self._handle)

    def _handle(self, c):
        c.settimeout(IO)

        def send():
            c.sendall(DOWN)
            c.shutdown(socket.SHUT_WR)

        th = threading.Thread(target=send, daemon=True)
        th.start()
        self.got.append(hash_to_eof(c))
        th.join(IO)


both = BothWays()
hs = HashServer()
pb, ph = free_port(), free_port()
p = Proxy(t, prog.hvproxy, [f"tcp:{pb}", both.addr, f"tcp:{ph}", hs.addr],
          forwards=2)

# ---- both ways at once --------------------------------------------------
up = os.urandom(BIG)
c = connect(pb, IO)
sent = []


def send_up():
    c.sendall(up)
    c.shutdown(socket.SHUT_WR)
    sent.append(True)


th = threading.Thread(target=send_up, daemon=True)
th.start()
try:
    down = hash_to_eof(c)
except OSError as e:
    down = repr(e)
th.join(IO)
c.close()
t.check(f"down: {BIG} bytes arrive whole (sha256) while the client sends",
        down == (sha256_bytes(DOWN), BIG), f"{down} {p.log()[-800:]}")
t.check(f"up: {BIG} bytes arrive whole at the target (sha256)",
        sent == [True] and both.got == [(sha256_bytes(up), BIG)],
        f"sent {sent} target got {both.got}")

# ---- a half-closed request ----------------------------------------------
req = os.urandom(1024 * 1024 + 1)
try:
    ans = hash_roundtrip(ph, req, IO)
except OSError as e:
    ans = repr(e)
t.check("a half-closed request's answer still arrives",
        ans == f"{sha256_bytes(req)} {len(req)}", ans)

# ---- 8 streams at once --------------------------------------------------
datas = [os.urandom(STREAM + i) for i in range(STREAMS)]
answers = [None] * STREAMS


def stream(i):
    try:
        answers[i] = hash_roundtrip(ph, datas[i], IO)
    except OSError as e:
        answers[i] = repr(e)


ths = [threading.Thread(target=stream, args=(i,), daemon=True)
       for i in range(STREAMS)]
for th in ths:
    th.start()
for th in ths:
    th.join(IO * 2)
for i in range(STREAMS):
    t.check(f"stream {i + 1} of {STREAMS} at once arrives whole (sha256)",
            answers[i] == f"{sha256_bytes(datas[i])} {len(datas[i])}",
            answers[i])
t.check("hvproxy.exe still runs", p.alive(), p.log()[-800:])
p.kill()
t.done()
