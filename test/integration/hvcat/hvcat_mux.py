#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvcat-mux: hvcat to a VMM's hybrid vsock (vsock-mux:PATH:PORT), and
a guest's connection arriving on the host's unix:PATH_PORT.

The VMM is emulated by socat and a shell script (hvtest.vmm: no code
of the library in it), the guest's service is a tcp server on
127.0.0.1. In every mode of the emulation:
  ok, split (the OK line in pieces), inline (stream bytes in the OK
  line's write): files both ways, checked by sha256, with half-close:
  hvcat's end of input reaches the service, whose answer still arrives
  (and in inline, after the bytes that came with the OK line); -z
  probes exit 0 only after the OK;
  refuse, garbage, nonum, long, silent, and a port nothing listens on:
  exit 1 and one line that names the address and the problem, within
  the connect timeout (-w), no crash.
Then bad input: PATH missing, PATH a regular file (exit 1, naming
PATH); bad ports, an empty or abstract PATH, a PATH with a colon;
listening on vsock-mux: (exit 2, pointing at unix:PATH_PORT). Last,
the guest-initiated direction: hvcat -l unix:PATH_5000, socat as the
VMM connecting in.
"""
import os
import re
import subprocess

from hvtest import Tap, mkrand, run, sha256_bytes, sha256_file
from hvtest.hvcat import HVCAT, Listener, err_text, hvcat, one_line
from hvtest.vmm import (INLINE, GuestService, Vmm, guest_dial, require,
                        sha_size)

t = Tap()
require(t)
# The bound on one hvcat run that moves a few MB.
IO = 60
A = mkrand(t.path("a"), 3 << 20)
B = mkrand(t.path("b"), (1 << 20) + 7)
with open(B, "rb") as f:
    REPLY = f.read()


def addr(vmm, port=5000):
    return f"vsock-mux:{vmm.path}:{port}"


def exchange(name, vmm, svc, args=(), head=b""):
    """hvcat ARGS vsock-mux:PATH:5000 <A: the service must get A, hvcat
    must print @head and the service's answer, exit 0."""
    out = t.path(f"{name}.out")
    n0 = len(svc.got)
    with open(A, "rb") as fin, open(out, "wb") as fout:
        r = run([HVCAT] + list(args) + [addr(vmm)], stdin=fin, stdout=fout,
                timeout=IO)
    t.check(f"{name}: hvcat exits 0", r.returncode == 0,
            f"exit {r.returncode}: {err_text(r)}\nvmm: {vmm.log()}")
    t.check(f"{name}: the guest's service got the input whole (sha256), "
            f"after hvcat's half-close",
            svc.got[n0:] == [(sha256_file(A), os.path.getsize(A))],
            f"got {svc.got[n0:]}")
    with open(out, "rb") as f:
        got = f.read()
    t.check(f"{name}: the service's answer arrived whole after the "
            f"half-close (sha256)" +
            (f", after the {len(head)} bytes sent with the OK line"
             if head else ""),
            sha_size(got) == sha_size(head + REPLY),
            f"{len(got)} bytes, begins {got[:40]!r}")
    t.check(f"{name}: the VMM was asked for port 5000",
            vmm.connects(5000), vmm.log())
    return r


def fails(name, r, want, code=1, names=None):
    """exit @code and one line matching @want (and naming @names)."""
    e = err_text(r)
    ok = r.returncode == code and one_line(e) and \
        re.search(want, e, re.I) is not None and \
        (names is None or names in e)
    t.check(f"{name}: exit {code}, one line: {e.strip()!r}", ok,
            f"exit {r.returncode}, want /{want}/"
            + (f" naming {names}" if names else "") + f": {e!r}")


svc = GuestService(REPLY)

# ---- the modes that accept
for mode in ("ok", "split", "inline"):
    vmm = Vmm(t, mode, 5000, svc.port)
    if not t.check(f"{mode}: the emulated VMM listens", vmm.ready,
                   vmm.log()):
        continue
    exchange(mode, vmm, svc, head=INLINE if mode == "inline" else b"")
    vmm.close()

# Nothing to send: the service still answers after the (immediate) EOF.
vmm = Vmm(t, "ok", 5000, svc.port)
n0 = len(svc.got)
r = hvcat(addr(vmm), stdin=subprocess.DEVNULL, timeout=IO)
t.check("ok, empty input: exit 0, the service saw an empty stream and "
        "its answer arrived",
        r.returncode == 0 and svc.got[n0:] == [sha_size(b"")] and
        sha256_bytes(r.stdout) == sha256_bytes(REPLY),
        f"exit {r.returncode} {err_text(r)!r}; got {svc.got[n0:]}, "
        f"{len(r.stdout)} bytes")
# -v says where it connected.
r = hvcat("-v", addr(vmm), stdin=subprocess.DEVNULL, timeout=IO)
t.check("ok, -v: exit 0 and the log names the VM's socket",
        r.returncode == 0 and vmm.path in err_text(r), err_text(r))
# A port the guest does not listen on: the VMM closes without a word.
r = hvcat("-w", "5", addr(vmm, 5001), stdin=subprocess.DEVNULL,
          timeout=IO)
fails("port 5001, nothing listens in the guest", r,
      r"refused|closed", names=addr(vmm, 5001))
# The largest port parses, and is asked for (refused here).
r = hvcat("-w", "5", addr(vmm, 4294967294), stdin=subprocess.DEVNULL,
          timeout=IO)
fails("port 4294967294 (the largest) is asked for", r, r"refused|closed",
      names=addr(vmm, 4294967294))
# -z: the probe succeeds only once the VMM said OK.
r = hvcat("-z", "-w", "5", addr(vmm), timeout=IO)
t.check("ok, -z: the probe exits 0", r.returncode == 0,
        f"exit {r.returncode}: {err_text(r)!r}")
r = hvcat("-z", "-w", "5", addr(vmm, 5001), timeout=IO)
t.check("-z to port 5001, which nothing listens on: exit 1",
        r.returncode == 1, f"exit {r.returncode}: {err_text(r)!r}")
vmm.close()

# ---- the modes that fail: exit 1 within the connect timeout (-w 3)
bad = [
    ("refuse", r"refused|closed", "the VMM closes without an answer"),
    ("garbage", r"answer", "ERR no such port"),
    ("nonum", r"answer", "OK without a number"),
    ("long", r"answer", "4 KB without a newline"),
    ("silent", r"timed out", "no answer within -w 3"),
]
for mode, want, what in bad:
    vmm = Vmm(t, mode, 5000, svc.port)
    if not t.check(f"{mode}: the emulated VMM listens", vmm.ready,
                   vmm.log()):
        continue
    n0 = len(svc.got)
    # 20 s is far past -w 3 (and the VMM's own 5 s pauses): a hang or a
    # wait for the VMM to close fails here as "timeout".
    r = hvcat("-w", "3", addr(vmm), stdin=subprocess.DEVNULL, timeout=20)
    fails(f"{mode} ({what})", r, want, names=addr(vmm))
    t.check(f"{mode}: nothing reached the guest's service",
            len(svc.got) == n0, str(svc.got[n0:]))
    vmm.close()

# The default connect timeout (no -w) bounds a silent VMM too (10 s).
vmm = Vmm(t, "silent", 5000, svc.port)
r = hvcat(addr(vmm), stdin=subprocess.DEVNULL, timeout=40)
fails("silent, no -w: the default connect timeout ends it", r,
      r"timed out", names=addr(vmm))
vmm.close()

# ---- bad input
missing = t.path("no-such.sock")
r = hvcat(f"vsock-mux:{missing}:5000", stdin=subprocess.DEVNULL)
fails("PATH does not exist", r, r"no such file", names=missing)
regular = t.path("regular-file")
with open(regular, "w") as f:
    f.write("not a socket\n")
r = hvcat(f"vsock-mux:{regular}:5000", stdin=subprocess.DEVNULL)
fails("PATH is a regular file", r, r"refused|not a socket", names=regular)
nodir = t.path("no-dir/v.sock")
r = hvcat(f"vsock-mux:{nodir}:5000", stdin=subprocess.DEVNULL)
fails("PATH's folder does not exist", r, r"no such file", names=nodir)

vp = t.path("v.sock")
usage = [
    (f"vsock-mux:{vp}:4294967295", "port 4294967295 (any)", r"port"),
    (f"vsock-mux:{vp}:4294967296", "port 4294967296", r"port"),
    (f"vsock-mux:{vp}:-1", "port -1", r"port"),
    (f"vsock-mux:{vp}:", "an empty port", r"port"),
    (f"vsock-mux:{vp}:50x0", "port 50x0", r"port"),
    (f"vsock-mux:{vp}", "no port (no colon after PATH)", r"port|PATH"),
    ("vsock-mux::5000", "an empty PATH", r"path"),
    ("vsock-mux:", "nothing after vsock-mux:", r"path|port"),
    ("vsock-mux:@abstract:5000", "an abstract socket", r"abstract|path"),
    ("vsock-mux:/" + "x" * 200 + ":5000", "a PATH too long", r"long"),
]
for a, what, want in usage:
    r = hvcat(a, stdin=subprocess.DEVNULL)
    fails(f"usage: {what}", r, want, code=2)

r = hvcat("-l", f"vsock-mux:{vp}:5000", stdin=subprocess.DEVNULL)
fails("hvcat -l vsock-mux:PATH:5000 is refused, pointing at "
      "unix:PATH_PORT", r, r"unix:", code=2)
t.check("hvcat -l vsock-mux: made no file at PATH", not os.path.exists(vp),
        vp)

# A PATH with a colon in it: PORT is after the last colon.
cdir = t.path("a:b")
os.mkdir(cdir)
vmm = Vmm(t, "ok", 5000, svc.port, path=os.path.join(cdir, "v.sock"))
n0 = len(svc.got)
r = hvcat(addr(vmm), input=b"colon", timeout=IO)
t.check("a PATH with a colon (a:b/v.sock): PORT is after the last colon",
        r.returncode == 0 and svc.got[n0:] == [sha_size(b"colon")] and
        r.stdout == REPLY,
        f"exit {r.returncode} {err_text(r)!r}; {svc.got[n0:]}; "
        f"{vmm.log()}")
vmm.close()

# ---- guest-initiated: the VMM connects to the host's unix:PATH_5000
base = t.path("g.sock")
with open(B, "rb") as fin, open(t.path("g.out"), "wb") as fout:
    lst = Listener(t, [], addr=f"unix:{base}_5000", stdin=fin,
                   stdout=fout)
if t.check("hvcat -l unix:PATH_5000 listens", lst.addr, lst.log()):
    with open(A, "rb") as f:
        data = f.read()
    d = guest_dial(base, 5000, data, timeout=IO)
    lrc = lst.wait(timeout=IO)
    t.check("guest -> host: socat (the VMM) and hvcat -l exit 0",
            d.returncode == 0 and lrc == 0,
            f"socat {d.returncode} {err_text(d)!r}; hvcat {lrc} "
            f"{lst.log()}")
    t.check("guest -> host: the guest's bytes arrived whole (sha256)",
            sha256_file(t.path("g.out")) == sha256_bytes(data))
    t.check("guest -> host: the host's answer arrived whole (sha256)",
            sha256_bytes(d.stdout) == sha256_bytes(REPLY),
            f"{len(d.stdout)} bytes")
lst.close()
t.done()
