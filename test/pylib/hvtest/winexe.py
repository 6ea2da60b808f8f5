# SPDX-License-Identifier: MIT
"""Windows programs under wine, started as the tests start Linux ones.

The test scripts of test/windows run natively (Debian's python3) and
start hvcat.exe, hvproxy.exe and the test programs through the repo's
wine wrapper (cross/wine-run: headless, quiet, a private prefix), talking
to them over 127.0.0.1. Its path comes with the programs' on the command
line (meson passes them; HVS_WINE_RUN and the like by hand):

    prog = winexe.setup(t, "hvcat", "hvproxy")  # --hvcat=PATH ...
    d = winexe.WinDaemon([prog.hvproxy, "-v", "tcp:8080", "tcp:9"],
                         t.path("hvproxy.log"))  # a proc.Daemon
    d.wait_log(r"listening on", winexe.START)
    r = winexe.run([prog.hvcat, "--version"])    # like proc.run

A wine program is a tree of Unix processes: the program, and each
process it creates (its own Unix process, a child of nobody we know:
wine double-forks). So every program is started in a session of its own
(its process group) with a tag in its environment, which its Windows
children inherit, and killing it kills every process of that group or
with that tag, by pid: wineserver and the other programs sharing the
prefix are never touched (no `wineserver -k`).

The first start in a fresh prefix boots it (wineboot: 10 s, and far more
on a busy machine): setup() runs one program to the end first, bounded
by START, so that later waits see a booted prefix.
"""
import argparse
import itertools
import os
import re
import shutil
import signal
import subprocess
import time

from hvtest import proc
from hvtest.wait import WAIT, wait_for

# The bound on a first start (a prefix that boots) and on one setup run.
START = float(os.environ.get("HVS_WINE_START", "300"))
# The environment variable that marks a program's process tree.
TAG_VAR = "HVTEST_WINE_TAG"

WINE_RUN = os.environ.get("HVS_WINE_RUN", "")
_tags = itertools.count()


class Programs(argparse.Namespace):
    """The paths setup() read: .wine_run and one attribute per program
    (.hvcat, .hvproxy, ...)."""


def setup(t, *names, boot=True):
    """Read --wine-run=PATH and --NAME=PATH for each of @names from the
    command line (else $HVS_WINE_RUN and $HVS_NAME_EXE); end the script
    (a failed check) if one is missing. $HVS_WINE_RUN_OVERRIDE, if set,
    replaces the wrapper given (another one tried under meson test).
    With @boot, run one Windows program to the end first (the prefix
    boots then), bounded by START. Returns a Programs."""
    global WINE_RUN
    ap = argparse.ArgumentParser()
    ap.add_argument("--wine-run", default=WINE_RUN)
    for n in names:
        ap.add_argument(f"--{n}",
                        default=os.environ.get(f"HVS_{n.upper()}_EXE", ""))
    args, _ = ap.parse_known_args(namespace=Programs())
    missing = [n for n in ("wine_run",) + names
               if not getattr(args, n.replace("-", "_"))]
    if missing:
        t.check("the programs are given", False,
                "missing: " + ", ".join("--" + m.replace("_", "-")
                                        for m in missing))
        t.done()
    for n in ("wine_run",) + names:
        a = n.replace("-", "_")
        setattr(args, a, os.path.abspath(getattr(args, a)))
    WINE_RUN = os.path.abspath(os.environ.get("HVS_WINE_RUN_OVERRIDE") or
                               args.wine_run)
    # The programs run in sessions of their own, out of reach of a
    # signal to this script's process group (meson's, on a timeout): on
    # SIGTERM or SIGHUP the script exits, and its exit kills them.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _exit_on_signal)
    if boot:
        booted(t)
    return args


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def booted(t):
    """Make sure the wine prefix is booted: run a program of the prefix
    to the end (cmd /c exit 0), at most START seconds. A prefix that
    cannot start anything ends the script with a failed check."""
    t0 = time.monotonic()
    r = run(["cmd", "/c", "exit 0"], timeout=START)
    if r.returncode != 0:
        t.check("wine runs a program (cmd /c exit 0)", False,
                f"rc {r.returncode} {r.stderr[-2000:]!r}")
        t.done()
    t.note(f"wine prefix ready ({time.monotonic() - t0:.1f} s)")


def winpath(path):
    """@path (a Unix path) as a Windows program names it: Z:\\... (wine's
    Z: drive is the Unix root)."""
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def copy_program(t, path, name):
    """A copy of the program @path named @name (e.g. "hvproxy-1.exe") in
    t's folder: a process image name that no other test's program has
    (win_pids() finds it by that name). The tools link statically, so the
    copy runs alone."""
    dst = t.path(name)
    shutil.copyfile(path, dst)
    os.chmod(dst, 0o755)
    return dst


# ---- process trees ------------------------------------------------------

def _new_tag():
    return f"{os.getpid()}.{next(_tags)}.{time.monotonic_ns()}"


# The prefix's own processes, shared by every program in it: started on
# behalf of whichever program came first, so they may carry its tag; never
# part of a program's tree.
WINE_SYSTEM = {"wineserver", "wineserver64", "wine", "wine64",
               "wine64-preloader", "wine-preloader", "services.exe",
               "winedevice.exe", "explorer.exe", "plugplay.exe",
               "svchost.exe", "rpcss.exe", "winemenubuilder.exe",
               "wineboot.exe", "conhost.exe", "start.exe"}


def _image(n):
    """The base name of process @n's program, lowercase ("" if none)."""
    with open(f"/proc/{n}/cmdline", "rb") as f:
        argv0 = f.read().split(b"\0", 1)[0].decode("utf-8", "replace")
    return re.split(r"[\\/]", argv0)[-1].lower()


def tree(pid, tag):
    """The live processes of a program started by this module: those of
    the session @pid leads (the program and the children wine starts for
    it), and those that left the session but carry @tag in their
    environment, the prefix's shared processes (WINE_SYSTEM) aside.
    Never this process."""
    me = os.getpid()
    needle = f"{TAG_VAR}={tag}\0".encode()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        n = int(name)
        try:
            with open(f"/proc/{n}/stat", "rb") as f:
                st = f.read()
            fields = st[st.rindex(b")") + 2:].split()
            if fields[0] == b"Z":
                continue  # a zombie: already dead
            if n == pid or int(fields[2]) == pid or int(fields[3]) == pid:
                out.append(n)  # the program, its group, its session
                continue
            with open(f"/proc/{n}/environ", "rb") as f:
                if needle in f.read() and _image(n) not in WINE_SYSTEM:
                    out.append(n)
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return out


def kill_tree(popen, tag, timeout=WAIT):
    """SIGKILL every process of the tree (by pid), reap @popen; bounded by
    @timeout seconds. Returns the pids still alive after it (none,
    unless something refused to die)."""
    end = time.monotonic() + timeout
    while True:
        pids = tree(popen.pid, tag)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if popen.poll() is None and popen.pid not in pids:
            try:
                popen.kill()
            except OSError:
                pass
        try:
            popen.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        if (not pids and popen.poll() is not None) or \
                time.monotonic() > end:
            return tree(popen.pid, tag)


def _env(env, tag):
    e = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    e[TAG_VAR] = tag
    return e


class WinDaemon(proc.Daemon):
    """A Windows program in the background (proc.Daemon's interface: log,
    wait_log, alive, signal, wait, stop, kill, close), @argv[0] being the
    .exe (a Unix path). Its process tree is killed at exit like every
    Daemon. .pid is the Unix pid of the program itself (wine-run execs
    wine, which becomes the program); the Windows pid is another number
    (win_pids())."""

    def __init__(self, argv, logpath, stdin=subprocess.DEVNULL,
                 stdout=proc.LOG, env=None, **popen_kw):
        self.tag = _new_tag()
        e = dict(env or {})
        e[TAG_VAR] = self.tag
        popen_kw.setdefault("start_new_session", True)
        self.win_argv = list(argv)
        super().__init__([WINE_RUN] + list(argv), logpath, stdin=stdin,
                         stdout=stdout, env=e, **popen_kw)

    def leftovers(self):
        """Processes of its tree still alive (after the program ended:
        children it left behind)."""
        return tree(self.pid, self.tag)

    def wait_gone(self, timeout=WAIT):
        """True once the program has exited and its tree is empty."""
        return bool(wait_for(lambda: self.proc.poll() is not None and
                             not self.leftovers(), timeout))

    def kill(self):
        """SIGKILL its whole tree and reap it."""
        kill_tree(self.proc, self.tag)


def run(argv, stdin=None, input=None, timeout=WAIT, env=None, **kw):
    """Run the Windows program @argv to the end, as proc.run() does: a
    CompletedProcess with stdout and stderr as bytes (unless given), the
    returncode "timeout" if it ran longer than @timeout seconds (its tree
    is killed then, and also whatever it left running when it ended)."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    if input is not None:
        stdin = subprocess.PIPE
    p = start(argv, stdin=stdin, env=env, **kw)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        kill(p)
        out, err = p.communicate()
        rc = "timeout"
    kill(p)
    return subprocess.CompletedProcess([WINE_RUN] + list(argv), rc,
                                       out or b"", err or b"")


def start(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
          stderr=subprocess.PIPE, env=None, **kw):
    """A Popen of the Windows program @argv (pipes by default), its tree
    killed at exit (or by kill(p)); p.tag is its tag."""
    tag = _new_tag()
    p = subprocess.Popen([WINE_RUN] + list(argv), stdin=stdin, stdout=stdout,
                         stderr=stderr, env=_env(env, tag),
                         start_new_session=True, **kw)
    p.tag = tag
    proc.track(_Tree(p))
    return p


def kill(p):
    """Kill the tree of a start()ed Popen and reap it."""
    kill_tree(p, p.tag)


class _Tree(proc.Daemon):
    """What proc.kill_all() kills for a start()ed Popen: its tree."""

    def __init__(self, p):  # pylint: disable=super-init-not-called
        self.proc = p

    def kill(self):
        kill(self.proc)


# ---- Windows process ids ------------------------------------------------

def win_pids(image, timeout=START):
    """The Windows pids of the running processes whose image name is
    @image (e.g. "hvproxy-1.exe", compared without case), as wmic lists
    them; [] if none (or wmic failed)."""
    r = run(["wmic", "process", "get", "name,processid"], timeout=timeout)
    if r.returncode != 0:
        return []
    text = r.stdout.decode("utf-16", "replace") \
        if r.stdout[:2] in (b"\xff\xfe", b"\xfe\xff") or \
        r.stdout[1:2] == b"\0" else r.stdout.decode("utf-8", "replace")
    pids = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1].isdigit() and \
                " ".join(parts[:-1]).lower() == image.lower():
            pids.append(int(parts[-1]))
    return pids


# How long one wmic may take: a loaded wine has been seen to leave one
# hanging for minutes, and the next one, started afresh, answers.
WMIC_TRY = 30


def win_pid(image, timeout=START):
    """The Windows pid of the one process named @image, once it shows
    (bounded by @timeout, each wmic by WMIC_TRY); None if none or
    several."""
    got = wait_for(lambda: win_pids(image, min(timeout, WMIC_TRY)), timeout,
                   step=0.5)
    return got[0] if got and len(got) == 1 else None
