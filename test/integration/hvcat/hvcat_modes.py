#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvcat-modes: how a stdio session ends, and what hvcat does meanwhile.

Half-close both ways (request/response with hvcat as client and as
server), -q, -N, --no-shutdown, --recv-only, --send-only, -w idle timeout,
SIGINT/SIGTERM (clean end, socket file removed, bytes flushed), -k with
clients in turn, --allow (by address, and by user on a unix listener),
--progress on stderr only, -v lines.
"""
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

from hvtest import Tap, run, sha256_bytes, stop, wait_for
from hvtest.hvcat import HVCAT, QUICK, Listener, err_text, hvcat

t = Tap()


class Peer(threading.Thread):
    """A python TCP peer on 127.0.0.1, driven by a function of the
    accepted (or connected) socket; its result in .result."""

    def __init__(self, fn, connect_to=None):
        super().__init__(daemon=True)
        self.fn = fn
        self.result = None
        self.error = None
        if connect_to is None:
            self.ls = socket.socket()
            self.ls.bind(("127.0.0.1", 0))
            self.ls.listen(8)
            self.ls.settimeout(QUICK)
            self.port = self.ls.getsockname()[1]
        self.connect_to = connect_to
        self.start()

    def run(self):
        try:
            if self.connect_to is None:
                s, _ = self.ls.accept()
            else:
                s = socket.create_connection(("127.0.0.1", self.connect_to),
                                             timeout=QUICK)
            s.settimeout(QUICK)
            with s:
                self.result = self.fn(s)
        except Exception as e:  # reported by the test
            self.error = repr(e)

    def get(self):
        self.join(QUICK + 5)
        return self.result


def read_all(s):
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            return data
        data += b


def answer_after_eof(s):
    """Request/response: read to EOF, then answer with the sha256."""
    req = read_all(s)
    s.sendall(sha256_bytes(req).encode() + b"\n")
    return req


REQ = os.urandom(300000)
REQ_SHA = sha256_bytes(REQ)

# ---- half-close: hvcat as the client --------------------------------
p = Peer(answer_after_eof)
r = hvcat(f"tcp:127.0.0.1:{p.port}", input=REQ)
t.check("client: request, EOF passed on, whole answer read (half-close)",
        r.returncode == 0 and r.stdout.decode().strip() == REQ_SHA and
        p.get() == REQ,
        f"rc {r.returncode} out {r.stdout!r} err {err_text(r)} peer {p.error}")

# ---- half-close: hvcat as the server --------------------------------
reply = os.urandom(200000)
rpath = t.path("reply")
with open(rpath, "wb") as f:
    f.write(reply)
out = t.path("req")
with open(rpath, "rb") as fin, open(out, "wb") as fout:
    lst = Listener(t, [], stdin=fin, stdout=fout)


def client_req(s):
    s.sendall(REQ)
    s.shutdown(socket.SHUT_WR)
    return read_all(s)


p = Peer(client_req, connect_to=lst.port)
got = p.get()
lrc = lst.wait()
with open(out, "rb") as f:
    req = f.read()
t.check("server: peer's EOF passed to stdout, our reply sent whole after it",
        lrc == 0 and got == reply and req == REQ,
        f"rc {lrc} got {len(got or b'')} req {len(req)} {lst.log()} "
        f"{p.error}")
lst.close()


# ---- the quit policies ---------------------------------------------
def greet_then_wait(s):
    """Send a greeting, close the write side, keep reading until EOF."""
    s.sendall(b"greeting\n")
    s.shutdown(socket.SHUT_WR)
    return read_all(s)


def timed_open_stdin(args, peer_fn, hold=20.0, data=b""):
    """Run hvcat with a stdin pipe we keep open for @hold seconds after
    writing @data; returns (rc, stdout, stderr, seconds, peer), rc being
    ("waited", rc) if hvcat only ended once stdin was closed."""
    p = Peer(peer_fn)
    opath, epath = t.path("to.out"), t.path("to.err")
    start = time.monotonic()
    with open(opath, "wb") as fo, open(epath, "wb") as fe:
        proc = t.track(subprocess.Popen(
            [HVCAT] + args + [f"tcp:127.0.0.1:{p.port}"],
            stdin=subprocess.PIPE, stdout=fo, stderr=fe))
        if data:
            proc.stdin.write(data)
            proc.stdin.flush()
        try:
            rc = proc.wait(timeout=hold)
        except subprocess.TimeoutExpired:
            proc.stdin.close()
            try:
                rc = ("waited", proc.wait(timeout=QUICK))
            except subprocess.TimeoutExpired:
                stop(proc)
                rc = "hung"
    secs = time.monotonic() - start
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    with open(opath, "rb") as fo, open(epath, "rb") as fe:
        return rc, fo.read(), fe.read(), secs, p


rc, o, e, secs, p = timed_open_stdin([], greet_then_wait, hold=1.5)
t.check("default: the peer's close alone does not end hvcat (stdin open)",
        rc == ("waited", 0) and o == b"greeting\n", f"{rc} {o!r} {e!r}")

rc, o, e, secs, p = timed_open_stdin(["-N"], greet_then_wait, data=b"x")
t.check(f"-N: quits when the peer closes, stdin still open ({secs:.2f} s)",
        rc == 0 and o == b"greeting\n", f"{rc} {o!r} {e!r}")

def take3_then_greet(s):
    """Read the client's 3 bytes (no EOF will come), answer, close."""
    data = b""
    while len(data) < 3:
        b = s.recv(3 - len(data))
        if not b:
            break
        data += b
    s.sendall(b"greeting\n")
    return data


rc, o, e, secs, p = timed_open_stdin(["--no-shutdown"], take3_then_greet,
                                     data=b"abc")
t.check(f"--no-shutdown: quits when the peer closes; sent bytes arrive "
        f"({secs:.2f} s)",
        rc == 0 and o == b"greeting\n" and p.get() == b"abc",
        f"{rc} {o!r} {e!r} {p.result!r} {p.error}")

rc, o, e, secs, p = timed_open_stdin(["--recv-only"], greet_then_wait,
                                     data=b"never sent")
t.check(f"--recv-only: stdin never read, quits when the peer closes "
        f"({secs:.2f} s)",
        rc == 0 and o == b"greeting\n" and p.get() == b"",
        f"{rc} {o!r} {e!r} {p.result!r} {p.error}")


# Set once hvcat has ended: until then the peer below holds its end open,
# so an hvcat that only quit because the peer closed would hang instead
# (and hit its own timeout) rather than pass on a slow machine.
hvcat_ended = threading.Event()


def no_eof_peer(s):
    """Never closes on its own: read until EOF, then linger until the test
    has seen hvcat end (at most 30 s)."""
    data = read_all(s)
    hvcat_ended.wait(30)
    return data


# --no-shutdown: stdin EOF must not reach the peer.
p = Peer(lambda s: (s.settimeout(1.0), _recv_until_timeout(s))[1])


def _recv_until_timeout(s):
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return (data, "eof")
            data += b
    except socket.timeout:
        return (data, "open")


r = hvcat("--no-shutdown", "-q", "1.5", f"tcp:127.0.0.1:{p.port}",
          input=b"data")
t.check("--no-shutdown: the peer sees no EOF after stdin EOF (-q ends it)",
        p.get() == (b"data", "open") and r.returncode == 0,
        f"{p.result!r} {r.returncode} {err_text(r)} {p.error}")

# --no-shutdown, stdin ended first: the peer's close still ends hvcat.
p = Peer(lambda s: (s.settimeout(1.0), _recv_until_timeout(s))[1])
r = hvcat("--no-shutdown", f"tcp:127.0.0.1:{p.port}", input=b"data")
t.check("--no-shutdown: quits when the peer closes after stdin ended",
        p.get() == (b"data", "open") and r.returncode == 0,
        f"{p.result!r} {r.returncode} {err_text(r)} {p.error}")

hvcat_ended.clear()
p = Peer(no_eof_peer)
start = time.monotonic()
r = hvcat("-q", "0.3", f"tcp:127.0.0.1:{p.port}", input=REQ)
secs = time.monotonic() - start
hvcat_ended.set()
t.check(f"-q 0.3: quits 0.3 s after stdin EOF while the peer stays open, all "
        f"of stdin delivered ({secs:.2f} s)",
        r.returncode == 0 and secs > 0.25 and p.get() == REQ,
        f"{r.returncode} {err_text(r)} {p.error}")

hvcat_ended.clear()
p = Peer(no_eof_peer)
big = os.urandom(8 << 20)
r = hvcat("-q", "0", f"tcp:127.0.0.1:{p.port}", input=big, timeout=20)
hvcat_ended.set()
got = p.get()
t.check("-q 0: quits at stdin EOF, yet all 8 MiB of stdin were delivered",
        r.returncode == 0 and got == big,
        f"{r.returncode} {err_text(r)} got {len(got or b'')} {p.error}")

p = Peer(answer_after_eof)
r = hvcat("--send-only", f"tcp:127.0.0.1:{p.port}", input=REQ)
t.check("--send-only: sends all, discards the answer, exits 0",
        r.returncode == 0 and r.stdout == b"" and p.get() == REQ,
        f"{r.returncode} {r.stdout!r} {err_text(r)}")

# ---- -w idle timeout ------------------------------------------------
hvcat_ended.clear()
p = Peer(no_eof_peer)
start = time.monotonic()
proc = t.track(subprocess.Popen(
    [HVCAT, "-w", "0.5", f"tcp:127.0.0.1:{p.port}"], stdin=subprocess.PIPE,
    stdout=subprocess.PIPE, stderr=subprocess.PIPE))
try:
    o, e = proc.communicate(timeout=QUICK)
except subprocess.TimeoutExpired:
    stop(proc)
    o, e = b"", b"hung"
secs = time.monotonic() - start
hvcat_ended.set()
e = e.decode()
t.check(f"-w 0.5: idle connection closed, exit 1, one line ({secs:.2f} s)",
        proc.returncode == 1 and "timed out" in e and
        f"127.0.0.1:{p.port}" in e and e.count("\n") == 1,
        f"rc {proc.returncode} {e!r}")

# ---- signals --------------------------------------------------------
for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
    sock = t.path(f"sig{int(sig)}.sock")
    lst = Listener(t, [], addr=f"unix:{sock}")
    ok_up = os.path.exists(sock)
    lst.proc.send_signal(sig)
    rc = lst.wait()
    t.check(f"{sig.name} while listening: dies by the signal (shell status "
            f"{code}), socket file removed",
            ok_up and rc == -sig and not os.path.exists(sock),
            f"rc {rc} exists {os.path.exists(sock)} {lst.log()}")
    lst.close()

# SIGTERM mid-transfer: what was received is on stdout.
p = Peer(lambda s: (s.sendall(b"A" * 100000), time.sleep(5)))
out = t.path("sigout")
with open(out, "wb") as fout:
    proc = t.track(subprocess.Popen(
        [HVCAT, f"tcp:127.0.0.1:{p.port}"], stdin=subprocess.PIPE,
        stdout=fout, stderr=subprocess.PIPE))
    wait_for(lambda: os.path.getsize(out) >= 100000, timeout=5)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        stop(proc)
t.check("SIGTERM mid-session: ends within the drain bound, received bytes "
        "kept",
        proc.returncode == -signal.SIGTERM and os.path.getsize(out) == 100000,
        f"rc {proc.returncode} size {os.path.getsize(out)}")

# ---- -k: clients one after another ---------------------------------
outk = t.path("k.out")
with open(outk, "wb") as fout:
    lst = Listener(t, ["-k"], stdout=fout)
    for i in range(3):
        r = hvcat(lst.tcp, input=f"client {i}\n".encode())
        t.check(f"-k: client {i} served", r.returncode == 0, err_text(r))
    ok = wait_for(lambda: open(outk, "rb").read().count(b"\n") == 3,
                  timeout=5)
    lst.proc.send_signal(signal.SIGTERM)
    lrc = lst.wait()
with open(outk, "rb") as f:
    data = f.read()
t.check("-k: three clients in turn, in order, listener still up until SIGTERM",
        data == b"client 0\nclient 1\nclient 2\n" and lrc == -signal.SIGTERM,
        f"{data!r} {lrc} {lst.log()}")
lst.close()

# ---- --allow --------------------------------------------------------
lst = Listener(t, ["--allow", "10.0.0.0/8,192.168.1.1"])
r = hvcat(lst.tcp, input=b"x")
lrc = lst.proc.poll()
t.check("--allow 10.0.0.0/8: a 127.0.0.1 peer is refused, listener goes on",
        lrc is None and "not allowed by --allow" in lst.log(),
        f"{lrc} {lst.log()}")
lst.close()
lst = Listener(t, ["--allow", "127.0.0.0/8"], stdout=subprocess.PIPE)
r = hvcat(lst.tcp, input=b"hello")
o = lst.proc.stdout.read()
t.check("--allow 127.0.0.0/8: a 127.0.0.1 peer is served",
        lst.wait() == 0 and o == b"hello", lst.log())
lst.close()

# A unix listener's peers are users (the kernel's peer credentials).
me = os.getuid()
uaddr = f"unix:@hvtest-modes-allow-{os.getpid()}"
lst = Listener(t, ["--allow", "uid:4294967294"], addr=uaddr + "-a")
r = hvcat(uaddr + "-a", input=b"x")
t.check(f"--allow uid:4294967294: this user (uid {me}) is refused, "
        "listener goes on",
        lst.proc.poll() is None and
        wait_for(lambda: f", uid {me} (not allowed by --allow)" in
                 lst.log(), QUICK), lst.log())
lst.close()
lst = Listener(t, ["--allow", f"uid:{me}"], addr=uaddr + "-b",
               stdout=subprocess.PIPE)
if me == 0 and shutil.which("setpriv"):
    r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             HVCAT, uaddr + "-b"], input=b"nobody", timeout=QUICK)
    t.check("--allow uid:0: uid 65534 is refused, listener goes on",
            r.returncode != 126 and lst.proc.poll() is None and
            wait_for(lambda: ", uid 65534 (not allowed by --allow)" in
                     lst.log(), QUICK), f"{r.returncode} {lst.log()}")
else:
    t.skip("--allow uid:0: uid 65534 is refused, listener goes on",
           "needs root (and setpriv) to become another user")
r = hvcat(uaddr + "-b", input=b"hello")
o = lst.proc.stdout.read()
t.check(f"--allow uid:{me}: this user is served, only its bytes arrive",
        lst.wait() == 0 and o == b"hello", f"{o!r} {lst.log()}")
lst.close()

# ---- --progress -----------------------------------------------------
lst = Listener(t, [])
data = os.urandom(3 << 20)
r = hvcat("--progress=always", lst.tcp, input=data)
e = err_text(r)
t.check("--progress=always: meter on stderr, final line, "
        "stdout untouched",
        r.returncode == 0 and "sent 3.0 MiB" in e and "(done)" in e and
        r.stdout == b"", f"{r.returncode} {e!r} {r.stdout[:80]!r}")
lst.close()
lst = Listener(t, [])
r = hvcat("--progress", lst.tcp, input=b"x")
t.check("--progress: silent when stderr is not a terminal",
        r.returncode == 0 and err_text(r) == "", err_text(r))
lst.close()

# ---- -v -------------------------------------------------------------
lst = Listener(t, [])
r = hvcat("-v", lst.tcp, input=b"x")
e = err_text(r)
lst.wait()
t.check("-v: both sides say who they talk to and what moved",
        r.returncode == 0 and f"connected to {lst.tcp}" in e and
        "sent 1 bytes" in e and "connection from tcp:127.0.0.1:" in
        lst.log(), e)
lst.close()

t.done()
