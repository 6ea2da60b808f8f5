# SPDX-License-Identifier: MIT
"""Processes a test starts: the one way to run a daemon and read its log.

    d = Daemon(["prog", "-v"], t.path("prog.log"))
    d.wait_log(r"listening on", 10)     # bounded
    d.stop()                            # SIGTERM, then the exit status

Every Daemon, and every Popen given to track(), is killed (SIGKILL) and
reaped when the script exits, whatever way it exits: no test leaves a
process behind. Processes are ended by their own pid only.
"""
import atexit
import os
import re
import resource
from signal import SIGKILL, SIGTERM
import subprocess

from hvtest.wait import WAIT, wait_for

# A stand-in for "the log file" as a Daemon's stdout.
LOG = object()

_live = []  # Daemons and Popen objects to kill at exit


def track(p):
    """Kill @p (a Popen or a Daemon) at exit if it still runs; returns
    @p."""
    _live.append(p)
    return p


def stop(p, sig=SIGKILL, timeout=WAIT):
    """End the Popen @p with @sig (if it still runs) and reap it; SIGKILL
    if it has not ended within @timeout seconds."""
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=timeout)


def kill_all():
    """Kill and reap everything tracked (at exit, or from Tap.done())."""
    while _live:
        p = _live.pop()
        try:
            if isinstance(p, Daemon):
                p.kill()
            else:
                stop(p)
        except (OSError, subprocess.TimeoutExpired):
            pass


atexit.register(kill_all)


class Daemon:
    """A program run in the background, its stderr (and its stdout, unless
    @stdout says otherwise) appended to the file @logpath.

    @stdin and @stdout take what subprocess.Popen takes (stdout=LOG: the
    log file); @env is added to the environment (a value of None removes
    the variable); other keywords go to Popen (preexec_fn, pass_fds, ...).
    .proc is the Popen, .pid its pid."""

    def __init__(self, argv, logpath, stdin=subprocess.DEVNULL, stdout=LOG,
                 env=None, **popen_kw):
        self.argv = list(argv)
        self.logpath = logpath
        self.logf = open(logpath, "ab")
        e = None
        if env:
            e = dict(os.environ)
            for k, v in env.items():
                if v is None:
                    e.pop(k, None)
                else:
                    e[k] = v
        self.proc = subprocess.Popen(
            self.argv, stdin=stdin,
            stdout=self.logf if stdout is LOG else stdout,
            stderr=self.logf, env=e, **popen_kw)
        self.pid = self.proc.pid
        track(self)

    # ---- the log
    def log(self):
        """Everything the process wrote to its log so far, as text."""
        self.logf.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=WAIT, count=1):
        """True once the log holds @count matches of the regular
        expression @pattern (multi-line mode), within @timeout seconds."""
        rx = re.compile(pattern, re.M)
        return wait_for(lambda: len(rx.findall(self.log())) >= count,
                        timeout)

    # ---- its life
    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=WAIT):
        """The exit status (negative: the signal), or None if it still
        runs after @timeout seconds (it is left running)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=WAIT, sig=SIGTERM):
        """Send @sig (if it still runs) and wait: the exit status, or None
        if it did not end within @timeout seconds (still running then)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        """SIGKILL (if it still runs) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        """kill(), and close the log file (its content stays readable)."""
        self.kill()
        self.logf.close()


def run(args, stdin=None, input=None, timeout=WAIT, **kw):
    """Run @args to the end, bounded by @timeout seconds: a
    CompletedProcess, stdout and stderr captured as bytes unless given.
    A timeout kills the program and is reported as returncode "timeout"
    (with what it wrote until then)."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    try:
        return subprocess.run(args, stdin=stdin, input=input,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(args, "timeout", e.stdout or b"",
                                           e.stderr or b"")


def raise_nofile(want):
    """Raise the soft RLIMIT_NOFILE of this process towards @want (up to
    the hard limit); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = min(max(soft, want), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return new
