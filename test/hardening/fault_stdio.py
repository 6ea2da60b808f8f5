#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hardening-stdio: standard streams that are closed, full, or not
streams at all.

1. hvcat with stdin closed (<&-): it reads as empty, so hvcat ends its
   sending side at once (the server sees EOF and nothing else) and still
   writes all the server sends to stdout; exit 0.
2. hvcat with stdout closed (>&-): what it reads from stdin reaches the
   server in full; what the server sends goes nowhere; exit 0, and -v
   says that the output is discarded.
3. hvcat with stderr closed, and with all three closed: it still relays.
4. hvproxy with stdin, stdout and stderr closed (-v, so it writes log
   lines): descriptors 0 to 2 are /dev/null, not one of its own (its
   event loop's took them, and log lines went into libevent's signal
   pipe); it starts, tells the service manager it is ready, and relays
   byte for byte; SIGTERM ends it with exit 0.
5. hvcat's stdout is /dev/full: the error is the system's own text,
   naming the stream ("standard output: No space left on device"), exit
   1; it was "unknown system error".
6. hvcat's stdin is a directory: "standard input: Is a directory",
   exit 1.
7. The same with -q, -N and --no-shutdown, which read stdin through a
   pump: exit 1 (it was 0 with -q), and the server's stream is reset,
   not ended as if stdin had been read to its end.

The event loop's descriptor must never take the number of a closed
standard stream (it did: hvcat then relayed its own epoll descriptor).
"""
import errno
import os
import signal
import socket
import threading

from hvtest import Tap, free_port, run
from hvtest.hvproxy import Proxy
from hvtest.net import Server, echo_handler, echo_port_ok

t = Tap()
HVCAT = os.environ.get("HVCAT", "hvcat")
ANSWER = b"answer from the server\n" * 1000
PAYLOAD = bytes(range(256)) * 400


class Recorder(Server):
    """Sends ANSWER (then, unless @half, its EOF) and records every byte
    the client sends until the client's EOF (.got), or None on a reset."""

    def __init__(self, answer=ANSWER):
        self.got = []
        self.answer = answer
        self.done = threading.Event()
        super().__init__(self._handle)

    def _handle(self, c):
        data = b""
        try:
            c.sendall(self.answer)
            c.shutdown(socket.SHUT_WR)
            c.settimeout(30)
            while True:
                b = c.recv(1 << 16)
                if not b:
                    break
                data += b
            self.got.append(data)
        except OSError:
            self.got.append(None)
        finally:
            self.done.set()


def closer(*fds):
    """A preexec_fn that closes @fds in the child before hvcat starts."""
    def go():
        for fd in fds:
            os.close(fd)
    return go


def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def bad_einval(r):
    return "invalid argument" in text(r.stderr)


# 1. stdin closed
srv = Recorder()
r = run([HVCAT, "-v", srv.addr], stdin=None, preexec_fn=closer(0))
srv.done.wait(30)
t.check("stdin closed: exit 0", r.returncode == 0,
        f"exit {r.returncode}: {text(r.stderr)}")
t.check("stdin closed: no 'invalid argument'", not bad_einval(r),
        text(r.stderr))
t.check("stdin closed: the server got EOF and no byte", srv.got == [b""],
        f"got {[None if g is None else len(g) for g in srv.got]}")
t.check("stdin closed: all the server sent is on stdout",
        r.stdout == ANSWER, f"{len(r.stdout)} of {len(ANSWER)} bytes")
t.check("stdin closed: -v says it reads as empty",
        "standard input is closed" in text(r.stderr), text(r.stderr))
srv.close()

# 2. stdout closed
srv = Recorder()
r = run([HVCAT, "-v", srv.addr], input=PAYLOAD, stdout=None,
        preexec_fn=closer(1))
srv.done.wait(30)
t.check("stdout closed: exit 0", r.returncode == 0,
        f"exit {r.returncode}: {text(r.stderr)}")
t.check("stdout closed: no 'invalid argument'", not bad_einval(r),
        text(r.stderr))
t.check("stdout closed: the server got stdin in full",
        srv.got == [PAYLOAD],
        f"got {[None if g is None else len(g) for g in srv.got]}")
t.check("stdout closed: -v says the output is discarded",
        "standard output is closed" in text(r.stderr), text(r.stderr))
srv.close()

# 3. stderr closed; then all three
srv = Recorder()
r = run([HVCAT, "-v", srv.addr], input=PAYLOAD, stderr=None,
        preexec_fn=closer(2))
srv.done.wait(30)
t.check("stderr closed: exit 0, both ways in full",
        r.returncode == 0 and srv.got == [PAYLOAD] and r.stdout == ANSWER,
        f"exit {r.returncode}, server got "
        f"{[None if g is None else len(g) for g in srv.got]}, "
        f"stdout {len(r.stdout)} bytes")
srv.close()

srv = Recorder()
r = run([HVCAT, "-v", srv.addr], stdin=None, stdout=None, stderr=None,
        preexec_fn=closer(0, 1, 2))
srv.done.wait(30)
t.check("stdin, stdout and stderr closed: exit 0, the server got EOF",
        r.returncode == 0 and srv.got == [b""],
        f"exit {r.returncode}, server got "
        f"{[None if g is None else len(g) for g in srv.got]}")
srv.close()


# 4. hvproxy with all three closed
target = Server(echo_handler)
port = free_port()
p = Proxy(t, ["-v", f"tcp:127.0.0.1:{port}", target.addr],
          preexec_fn=closer(0, 1, 2), ready=False)
ready = p.wait_notify("READY=1")
t.check("hvproxy, stdin/stdout/stderr closed: ready", ready,
        f"alive {p.alive()}, exit {p.proc.poll()}")
if os.path.isdir(f"/proc/{p.pid}/fd"):
    links = []
    for fd in range(3):
        try:
            links.append(os.readlink(f"/proc/{p.pid}/fd/{fd}"))
        except OSError as e:
            links.append(str(e))
    t.check("hvproxy, stdin/stdout/stderr closed: descriptors 0-2 are "
            "/dev/null", links == ["/dev/null"] * 3, f"{links}")
else:
    t.skip("hvproxy: descriptors 0-2 are /dev/null", "no /proc")
ok = ready and all(
    echo_port_ok(port, msg=PAYLOAD[: 1000 + 7 * i]) for i in range(20))
t.check("hvproxy, stdin/stdout/stderr closed: 20 connections echo byte "
        "for byte", ok, f"alive {p.alive()}")
t.check("hvproxy, stdin/stdout/stderr closed: SIGTERM, exit 0",
        p.stop(sig=signal.SIGTERM) == 0, f"exit {p.proc.poll()}")
target.close()

# 5. stdout is /dev/full
if os.path.exists("/dev/full"):
    srv = Recorder()
    with open("/dev/full", "wb") as full:
        r = run([HVCAT, srv.addr], input=b"", stdout=full)
    srv.done.wait(30)
    want = f"standard output: {os.strerror(errno.ENOSPC)}"
    t.check("stdout /dev/full: exit 1", r.returncode == 1,
            f"exit {r.returncode}: {text(r.stderr)}")
    t.check(f"stdout /dev/full: says '{want}'", want in text(r.stderr),
            text(r.stderr))
    t.check("stdout /dev/full: no 'unknown system error'",
            "unknown" not in text(r.stderr), text(r.stderr))
    srv.close()
else:
    t.skip("stdout /dev/full", "no /dev/full here")

# 6. stdin is a directory
srv = Recorder()
dfd = os.open(t.tmp, os.O_RDONLY | os.O_DIRECTORY)
r = run([HVCAT, srv.addr], stdin=dfd)
os.close(dfd)
srv.done.wait(30)
want = f"standard input: {os.strerror(errno.EISDIR)}"
t.check("stdin a directory: exit 1", r.returncode == 1,
        f"exit {r.returncode}: {text(r.stderr)}")
t.check(f"stdin a directory: says '{want}'", want in text(r.stderr),
        text(r.stderr))
t.check("stdin a directory: no 'unknown system error'",
        "unknown" not in text(r.stderr), text(r.stderr))
srv.close()

# 7. the same through hvcat's stdin pump (-q, -N, --no-shutdown): the
# read error is not an end of file, so the exit is 1 and the server sees
# its stream reset, never a clean EOF that would pass for all of it.
for opts in (["-q", "1"], ["-N"], ["--no-shutdown"]):
    srv = Recorder()
    dfd = os.open(t.tmp, os.O_RDONLY | os.O_DIRECTORY)
    r = run([HVCAT] + opts + [srv.addr], stdin=dfd)
    os.close(dfd)
    srv.done.wait(30)
    name = " ".join(opts)
    t.check(f"stdin a directory, {name}: exit 1, says '{want}'",
            r.returncode == 1 and want in text(r.stderr),
            f"exit {r.returncode}: {text(r.stderr)}")
    t.check(f"stdin a directory, {name}: the server's stream is reset",
            srv.got == [None],
            f"got {[None if g is None else len(g) for g in srv.got]}")
    srv.close()

t.done()
