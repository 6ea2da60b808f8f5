# SPDX-License-Identifier: MIT
"""hvcat.exe and hvproxy.exe as the Windows tests run them: under wine
(hvtest.winexe), over 127.0.0.1, every wait bounded.

    prog = winexe.setup(t, "hvproxy")
    p = Proxy(t, prog.hvproxy, ["tcp:PORT", "tcp:127.0.0.1:9"])
    ...                                   # ready: it listens
    r = control(prog.hvproxy, p.win_pid(), "stop")
    t.check("exit 0", p.wait(20) == 0)

There is no service manager to tell on Windows (no NOTIFY_SOCKET): a
Proxy is ready once its log says each of its forwards listens (-v), and
a Listener once hvcat says "listening on".
"""
import re
import subprocess
import time

from hvtest import winexe
from hvtest.wait import WAIT, wait_for

# A bound for a program to get going: wine starts a program in 1 to 5 s
# on a quiet machine, far more on a busy one.
READY = 120


def one_line(text):
    """True if @text (str or bytes) is exactly one non-empty line (CR LF
    or LF)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.replace("\r\n", "\n")
    return text.count("\n") == 1 and text.endswith("\n") and \
        len(text.strip()) > 0


def text(b):
    """Bytes a program wrote, as text (LF line ends)."""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    return b.replace("\r\n", "\n")


_count = [0]


class Proxy(winexe.WinDaemon):
    """hvproxy.exe -v ARGS in the background, its stdout and stderr in
    t.path("hvproxy.N.log"). Unless @ready is False, the constructor
    returns once @forwards "listening on" lines are in the log (and ends
    the script with a failed check if they do not come within READY
    seconds). @image: run a copy of the program by that name (a name no
    other process has, so that win_pid() finds it by name)."""

    def __init__(self, t, exe, args, forwards=1, ready=True, image=None,
                 env=None, verbose=True):
        n = _count[0]
        _count[0] += 1
        self.t = t
        self.image = image or f"hvproxy-{n}.exe"
        self.exe = winexe.copy_program(t, exe, self.image)
        super().__init__([self.exe] + (["-v"] if verbose else []) +
                         list(args), t.path(f"hvproxy.{n}.log"), env=env)
        self._win_pid = None
        self.verbose = verbose
        if ready and not self.wait_listening(forwards):
            t.check("hvproxy.exe gets ready (its forwards listen)", False,
                    self.log()[-2000:])
            t.done()

    def wait_listening(self, count, timeout=READY):
        """True once the log says @count times that a forward listens
        (False at once if the program has ended)."""
        rx = re.compile(r"listening on ", re.M)
        return bool(wait_for(
            lambda: len(rx.findall(self.log())) >= count or
            not self.alive(), timeout)) and \
            len(rx.findall(self.log())) >= count

    def win_pid(self, timeout=READY):
        """Its Windows process id (what --control takes): the one it logs
        ("hvproxy --control PID stop|reload", -v), else found by its
        image name with wmic; None if it cannot be found. The log comes
        first: wmic misses processes while others come and go (a stand-
        in wsl.exe started every second), as CI saw."""
        if self._win_pid is None and self.verbose:
            rx = re.compile(r"hvproxy --control (\d+) stop\|reload")
            m = wait_for(lambda: rx.search(self.log()), timeout)
            if m:
                self._win_pid = int(m.group(1))
        if self._win_pid is None:
            self._win_pid = winexe.win_pid(self.image, timeout)
        return self._win_pid


def control(exe, pid, what, timeout=READY):
    """hvproxy.exe --control PID WHAT (reload or stop), run to the end: a
    CompletedProcess."""
    return winexe.run([exe, "--control", str(pid), what], timeout=timeout)


class Listener(winexe.WinDaemon):
    """hvcat.exe -l -v ARGS ADDR (an ephemeral port on 127.0.0.1 unless
    given); .port once it listens (None if it did not within READY
    seconds). stdin and stdout: as given (Popen's values), the null
    device by default; stderr in the log."""

    def __init__(self, t, exe, args, addr="tcp:127.0.0.1:0", stdin=None,
                 stdout=None, name="listener", env=None):
        super().__init__(
            [exe, "-l", "-v"] + list(args) + [addr],
            t.path(f"{name}.{t.n}.{time.monotonic_ns()}.err"),
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            env=env)
        self.port = None
        wait_for(lambda: self._listening() or not self.alive(), READY)
        m = self._listening()
        if m:
            self.port = int(m.group(1))

    def _listening(self):
        return re.search(r"listening on \S*?:(\d+)\s*$", self.log(), re.M)

    @property
    def tcp(self):
        return f"tcp:127.0.0.1:{self.port}"

    def wait(self, timeout=WAIT):
        """The exit status, or "timeout" (killed then)."""
        rc = super().wait(timeout)
        if rc is None:
            self.kill()
            return "timeout"
        return rc
