#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvcat-copy: files through hvcat in each direction, checked by sha256.

Sizes 0 B, 1 B, 1 MiB and 64 MiB; HVCAT_TEST_BIG=1 adds 1 GiB of files.
For each size: both directions at once over tcp (each side's stdin a
file, each side's stdout a file), then one direction at a time through
pipes, then over a unix socket with the listener sending. Last, 1 GiB
each way at once streamed through pipes (generated and hashed on the fly,
no files; HVCAT_TEST_STREAM=0 leaves it out).
"""
import hashlib
import os
import struct
import subprocess
import threading
import time

from hvtest import Tap, mkrand, run, sha256_file, stop
from hvtest.hvcat import HVCAT, Listener

t = Tap()
sizes = [0, 1, 1 << 20, 64 << 20]
if os.environ.get("HVCAT_TEST_BIG") == "1":
    sizes.append(1 << 30)


def bound(size):
    # Generous: loopback moves GB/s; sanitizer builds are slower.
    return 30 + size // (8 << 20)


def human(n):
    return f"{n >> 20} MiB" if n >= (1 << 20) else f"{n} B"


def duplex(size):
    """Both directions at once: hvcat -l <B >outA  /  hvcat <A >outB."""
    a = mkrand(t.path("a"), size)
    b = mkrand(t.path("b"), size)
    out_a, out_b = t.path("out_a"), t.path("out_b")
    with open(b, "rb") as lin, open(out_a, "wb") as lout:
        lst = Listener(t, [], stdin=lin, stdout=lout)
        if not t.check(f"{human(size)} duplex: listener up",
                       lst.port, lst.log()):
            lst.close()
            return
        start = time.monotonic()
        with open(a, "rb") as cin, open(out_b, "wb") as cout:
            r = run([HVCAT, lst.tcp], stdin=cin, stdout=cout,
                    timeout=bound(size))
        lrc = lst.wait(timeout=bound(size))
        secs = time.monotonic() - start
    t.check(f"{human(size)} duplex: both exit 0 ({secs:.2f} s)",
            r.returncode == 0 and lrc == 0,
            f"client {r.returncode}: {r.stderr!r}\n"
            f"listener {lrc}: {lst.log()}")
    t.check(f"{human(size)} client -> listener (file "
            f"stdin, file stdout) sha256 equal",
            sha256_file(a) == sha256_file(out_a),
            f"{os.path.getsize(out_a)} of {size} bytes arrived")
    t.check(f"{human(size)} listener -> client (file "
            f"stdin, file stdout) sha256 equal",
            sha256_file(b) == sha256_file(out_b),
            f"{os.path.getsize(out_b)} of {size} bytes arrived")
    lst.close()
    for p in (a, b, out_a, out_b):
        os.unlink(p)


def piped(size):
    """One direction through pipes: cat A | hvcat  ->  hvcat -l | cat."""
    a = mkrand(t.path("a"), size)
    out = t.path("out")
    with open(out, "wb") as fout:
        sink = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=fout)
        lst = Listener(t, [], stdout=sink.stdin)
        sink.stdin.close()
        if not t.check(f"{human(size)} piped: listener up",
                       lst.port, lst.log()):
            lst.close()
            stop(sink)
            return
        src = subprocess.Popen(["cat", a], stdout=subprocess.PIPE)
        r = run([HVCAT, lst.tcp], stdin=src.stdout, timeout=bound(size))
        src.stdout.close()
        stop(src)
        lrc = lst.wait(timeout=bound(size))
        try:
            sink.wait(timeout=bound(size))
        except subprocess.TimeoutExpired:
            stop(sink)
    t.check(f"{human(size)} cat | hvcat -> hvcat -l | cat: sha256 equal",
            r.returncode == 0 and lrc == 0 and
            sha256_file(a) == sha256_file(out),
            f"client {r.returncode} {r.stderr!r}; listener {lrc} "
            f"{lst.log()}; {os.path.getsize(out)} of {size} bytes")
    lst.close()
    os.unlink(a)
    os.unlink(out)


def unix_reverse(size):
    """The listener sends, over a unix socket: hvcat -l unix:P <A."""
    a = mkrand(t.path("a"), size)
    out = t.path("out")
    sock = t.path("s.sock")
    with open(a, "rb") as fin:
        lst = Listener(t, [], addr=f"unix:{sock}", stdin=fin)
    if not t.check(f"{human(size)} unix: listener up", lst.addr, lst.log()):
        lst.close()
        return
    with open(out, "wb") as fout:
        r = run([HVCAT, "--recv-only", f"unix:{sock}"], stdout=fout,
                timeout=bound(size))
    lrc = lst.wait(timeout=bound(size))
    t.check(f"{human(size)} hvcat -l unix: <file -> hvcat --recv-only: "
            f"sha256 equal",
            r.returncode == 0 and lrc == 0 and
            sha256_file(a) == sha256_file(out),
            f"client {r.returncode} {r.stderr!r}; listener {lrc} "
            f"{lst.log()}; {os.path.getsize(out)} of {size} bytes")
    t.check(f"{human(size)} unix: listener removed "
            f"its socket file", not os.path.exists(sock))
    lst.close()
    os.unlink(a)
    os.unlink(out)


class Feed(threading.Thread):
    """Write @size bytes of distinct data into @fd, hashing them."""

    def __init__(self, f, size):
        super().__init__(daemon=True)
        self.f, self.size = f, size
        self.h = hashlib.sha256()
        self.error = None
        self.start()

    def run(self):
        block = bytearray(os.urandom(8 << 20))
        left, i = self.size, 0
        try:
            while left > 0:
                struct.pack_into("<Q", block, 0, i)  # every block distinct
                chunk = memoryview(block)[:min(left, len(block))]
                self.h.update(chunk)
                self.f.write(chunk)
                left -= len(chunk)
                i += 1
            self.f.close()
        except OSError as e:
            self.error = repr(e)


class Drain(threading.Thread):
    """Read @f to its end, hashing and counting."""

    def __init__(self, f):
        super().__init__(daemon=True)
        self.f = f
        self.h = hashlib.sha256()
        self.n = 0
        self.start()

    def run(self):
        while True:
            b = self.f.read(1 << 20)
            if not b:
                return
            self.h.update(b)
            self.n += len(b)


def streamed(size):
    """Both directions at once through pipes, nothing on disk."""
    lst = Listener(t, [], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if not t.check(f"{human(size)} streamed: listener up",
                   lst.port, lst.log()):
        lst.close()
        return
    start = time.monotonic()
    cli = t.track(subprocess.Popen([HVCAT, lst.tcp], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE))
    feeds = [Feed(cli.stdin, size), Feed(lst.proc.stdin, size)]
    drains = [Drain(lst.proc.stdout), Drain(cli.stdout)]
    for th in feeds + drains:
        th.join(bound(size))
    try:
        crc = cli.wait(timeout=10)
    except subprocess.TimeoutExpired:
        stop(cli)
        crc = "timeout"
    lrc = lst.wait()
    secs = time.monotonic() - start
    t.check(f"{human(size)} each way at once through pipes: both exit 0 "
            f"({secs:.2f} s, {2 * size / secs / (1 << 20):.0f} MiB/s)",
            crc == 0 and lrc == 0 and not feeds[0].error and
            not feeds[1].error,
            f"{crc} {lrc} {feeds[0].error} {feeds[1].error} {lst.log()}")
    t.check(f"{human(size)} streamed client -> listener: sha256 equal",
            drains[0].h.hexdigest() == feeds[0].h.hexdigest(),
            f"{drains[0].n} of {size} bytes")
    t.check(f"{human(size)} streamed listener -> client: sha256 equal",
            drains[1].h.hexdigest() == feeds[1].h.hexdigest(),
            f"{drains[1].n} of {size} bytes")
    lst.close()


for s in sizes:
    duplex(s)
    piped(s)
    unix_reverse(s)
if os.environ.get("HVCAT_TEST_STREAM", "1") != "0":
    streamed(1 << 30)
t.done()
