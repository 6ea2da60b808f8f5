# SPDX-License-Identifier: MIT
"""hvcat as the tests run it: one-shot runs (hvcat()), a listener in the
background (Listener), a session on a pseudo-terminal (Term).

The program is the script's first argument (meson passes the built one),
else $HVCAT, else "hvcat" from PATH. Loopback tcp and unix sockets only:
AF_VSOCK is never touched on the host (real vsock runs in the test VM,
test/vm/jobs/). Every wait is bounded: a hung hvcat fails its case
instead of hanging the suite.
"""
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

from hvtest import proc
from hvtest.wait import wait_for

HVCAT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else \
    os.environ.get("HVCAT", "hvcat")
SOURCE_DIR = os.environ.get("HVS_SOURCE_DIR", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
# A bound for single commands that should be quick.
QUICK = 10


def hvcat(*args, **kw):
    """Run hvcat ARGS to the end (hvtest.proc.run: bounded, returncode
    "timeout" on timeout)."""
    kw.setdefault("timeout", QUICK)
    return proc.run([HVCAT] + list(args), **kw)


def err_text(r):
    """The stderr of a run() result, as text."""
    e = r.stderr
    return e.decode("utf-8", "replace") if isinstance(e, bytes) else e


def one_line(text):
    """True if @text is exactly one non-empty line."""
    return text.count("\n") == 1 and text.endswith("\n") and \
        len(text.strip()) > 0


def exited(st, code):
    """True if wait status @st is a normal exit with @code."""
    return st is not None and os.WIFEXITED(st) and \
        os.WEXITSTATUS(st) == code


class Listener(proc.Daemon):
    """hvcat -l -v ARGS ADDR on an ephemeral loopback port (or the given
    address), its stderr in the log (a file in t's folder); .addr (and
    .port for tcp) once it listens, None if it did not within QUICK
    seconds. stdin and stdout: /dev/null unless given."""

    def __init__(self, t, args, addr="tcp:127.0.0.1:0", stdin=None,
                 stdout=None, name="listener", env=None):
        super().__init__(
            [HVCAT, "-l", "-v"] + list(args) + [addr],
            t.path(f"{name}.{t.n}.{time.monotonic_ns()}.err"),
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            env=env)
        self.port = None
        self.addr = None
        m = wait_for(self._listening, QUICK)
        if m:
            self.addr = m.group(1)
            if m.group(2):
                self.port = int(m.group(2))

    def _listening(self):
        if self.proc.poll() is not None:
            return None
        return re.search(r"listening on (\S+?(?::(\d+))?)$", self.log(),
                         re.M)

    @property
    def tcp(self):
        return f"tcp:127.0.0.1:{self.port}"

    def wait(self, timeout=QUICK):
        """The exit status; if it still runs after @timeout seconds, it is
        killed and the result is "timeout"."""
        rc = super().wait(timeout)
        if rc is None:
            self.kill()
            return "timeout"
        return rc


class Term:
    """A program on a pty: type(), expect(), wait()."""

    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execv(argv[0], argv)
            finally:
                os._exit(127)
        self.buf = b""
        self.status = None

    def type(self, s):
        os.write(self.fd, s.encode() if isinstance(s, str) else s)

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            b = os.read(self.fd, 65536)
        except OSError:  # EIO: the other side has gone
            return None
        if not b:
            return None
        self.buf += b
        return True

    def expect(self, needle, timeout=QUICK):
        end = time.monotonic() + timeout
        while needle.encode() not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or self._read(left) is None:
                return False
        return True

    def wait(self, timeout=QUICK):
        """The wait status, reading the pty meanwhile; None if it runs."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                while self._read(0.05):
                    pass
                self.status = st
                return st
            self._read(0.05)
        return None

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
        os.close(self.fd)
