"""Shared helpers of the hvcat integration tests.

Each test script runs the built hvcat as a user would (subprocesses, files,
pipes, ptys) over loopback tcp and unix sockets only: AF_VSOCK is never
touched on the host (real vsock runs in the test VM, test/vm/jobs/).

Output is TAP (meson's protocol: 'tap'). Every wait is bounded: a hung
hvcat fails its case instead of hanging the suite.
"""
import atexit
import hashlib
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HVCAT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else \
    os.environ.get("HVCAT", "hvcat")
SOURCE_DIR = os.environ.get("HVS_SOURCE_DIR", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
# A bound for single commands that should be quick.
QUICK = 10


class Tap:
    """A TAP writer: ok()/fail()/skip(), then done() exits."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.tmp = tempfile.mkdtemp(prefix="hvcat-test.")
        self.procs = []
        # Also on an exception: no process or file is left behind.
        atexit.register(self.cleanup)

    def ok(self, cond, name, diag=None):
        self.n += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}", flush=True)
        if not cond:
            self.failed += 1
            if diag:
                for line in str(diag).rstrip().splitlines():
                    print(f"#   {line}", flush=True)
        return cond

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def note(self, text):
        for line in str(text).rstrip().splitlines():
            print(f"# {line}", flush=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def track(self, proc):
        self.procs.append(proc)
        return proc

    def cleanup(self):
        for p in self.procs:
            stop(p)
        self.procs = []
        shutil.rmtree(self.tmp, ignore_errors=True)

    def done(self):
        self.cleanup()
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)


def stop(p, sig=signal.SIGKILL):
    """End @p (if it still runs) and reap it."""
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=QUICK)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=QUICK)


def run(args, stdin=None, input=None, timeout=QUICK, **kw):
    """Run hvcat (or anything) to the end; a CompletedProcess with text
    stderr. A timeout is reported as returncode 'timeout'."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    try:
        r = subprocess.run(args, stdin=stdin, input=input, timeout=timeout,
                           **kw)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(args, "timeout", e.stdout or b"",
                                           e.stderr or b"")
    return r


def hvcat(*args, **kw):
    return run([HVCAT] + list(args), **kw)


def err_text(r):
    e = r.stderr
    return e.decode("utf-8", "replace") if isinstance(e, bytes) else e


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def mkrand(path, size):
    """@size random bytes (distinct everywhere, so a reordering shows)."""
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


def wait_for(pred, timeout=QUICK, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


class Listener:
    """hvcat -l -v ... on an ephemeral loopback port (or the given
    address), its stderr in a file; .port once it listens."""

    def __init__(self, t, args, addr="tcp:127.0.0.1:0", stdin=None,
                 stdout=None, name="listener", env=None):
        self.t = t
        self.errpath = t.path(f"{name}.{t.n}.{time.monotonic_ns()}.err")
        self.err = open(self.errpath, "wb")
        self.proc = t.track(subprocess.Popen(
            [HVCAT, "-l", "-v"] + list(args) + [addr],
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=self.err, env=env))
        self.port = None
        self.addr = None
        m = wait_for(self._listening)
        if m:
            self.addr = m.group(1)
            if m.group(2):
                self.port = int(m.group(2))

    def _listening(self):
        if self.proc.poll() is not None:
            return None
        return re.search(r"listening on (\S+?(?::(\d+))?)$",
                         self.stderr(), re.M)

    def stderr(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @property
    def tcp(self):
        return f"tcp:127.0.0.1:{self.port}"

    def wait(self, timeout=QUICK):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(self.proc)
            return "timeout"

    def close(self):
        stop(self.proc)
        self.err.close()


def one_line(text):
    """True if @text is exactly one non-empty line."""
    return text.count("\n") == 1 and text.endswith("\n") and \
        len(text.strip()) > 0


class Term:
    """A program on a pty: type(), expect(), status()."""

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


def exited(st, code):
    """True if wait status @st is a normal exit with @code."""
    return st is not None and os.WIFEXITED(st) and \
        os.WEXITSTATUS(st) == code
