#!/usr/bin/python3
"""hvcat-copy: files through hvcat in each direction, checked by sha256.

Sizes 0 B, 1 B, 1 MiB and 64 MiB; HVCAT_TEST_BIG=1 adds 1 GiB. For each
size: both directions at once over tcp (each side's stdin a file, each
side's stdout a file), then one direction at a time through pipes, then
over a unix socket with the listener sending.
"""
import os
import subprocess
import time

from hvctest import (HVCAT, Listener, Tap, mkrand, run, sha, stop)

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
        if not t.ok(lst.port, f"{human(size)} duplex: listener up",
                    lst.stderr()):
            lst.close()
            return
        start = time.monotonic()
        with open(a, "rb") as cin, open(out_b, "wb") as cout:
            r = run([HVCAT, lst.tcp], stdin=cin, stdout=cout,
                    timeout=bound(size))
        lrc = lst.wait(timeout=bound(size))
        secs = time.monotonic() - start
    t.ok(r.returncode == 0 and lrc == 0,
         f"{human(size)} duplex: both exit 0 ({secs:.2f} s)",
         f"client {r.returncode}: {r.stderr!r}\n"
         f"listener {lrc}: {lst.stderr()}")
    t.ok(sha(a) == sha(out_a), f"{human(size)} client -> listener (file "
         f"stdin, file stdout) sha256 equal",
         f"{os.path.getsize(out_a)} of {size} bytes arrived")
    t.ok(sha(b) == sha(out_b), f"{human(size)} listener -> client (file "
         f"stdin, file stdout) sha256 equal",
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
        if not t.ok(lst.port, f"{human(size)} piped: listener up",
                    lst.stderr()):
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
    t.ok(r.returncode == 0 and lrc == 0 and sha(a) == sha(out),
         f"{human(size)} cat | hvcat -> hvcat -l | cat: sha256 equal",
         f"client {r.returncode} {r.stderr!r}; listener {lrc} "
         f"{lst.stderr()}; {os.path.getsize(out)} of {size} bytes")
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
    if not t.ok(lst.addr, f"{human(size)} unix: listener up", lst.stderr()):
        lst.close()
        return
    with open(out, "wb") as fout:
        r = run([HVCAT, "--recv-only", f"unix:{sock}"], stdout=fout,
                timeout=bound(size))
    lrc = lst.wait(timeout=bound(size))
    t.ok(r.returncode == 0 and lrc == 0 and sha(a) == sha(out),
         f"{human(size)} hvcat -l unix: <file -> hvcat --recv-only: "
         f"sha256 equal",
         f"client {r.returncode} {r.stderr!r}; listener {lrc} "
         f"{lst.stderr()}; {os.path.getsize(out)} of {size} bytes")
    t.ok(not os.path.exists(sock), f"{human(size)} unix: listener removed "
         f"its socket file")
    lst.close()
    os.unlink(a)
    os.unlink(out)


for s in sizes:
    duplex(s)
    piped(s)
    unix_reverse(s)
t.done()
