# SPDX-License-Identifier: MIT
"""Windows services under wine, for the tests of hvproxy.exe as a service.

wine has a service manager of its own: services.exe, started with the
prefix, keeps the services in the prefix's registry
(HKLM\\System\\CurrentControlSet\\Services\\NAME) and starts a service's
program as a process of the prefix (not a child of the test: it is found
by its image name). wine's sc.exe has create, start, stop, delete and
query (no qc, no control), so a service's configuration is read back
with reg.exe, and a reload goes through hvproxy --control NAME reload.

A prefix shuts down 60 s after its last program ends (wineserver's
persistence, cross/wine-run), and a service does not count as one: its
process goes with services.exe. So a test keeps a program running while
its services should run (keep_prefix()).

    svcs = Services(t)                 # whatever is left is removed at exit
    svcs.track(name, image)
    st = query(name)                   # {"state": 4, "win32": 0, ...}
    wait_state(name, RUNNING, READY)
    cfg = reg_config(name)             # {"ImagePath": ..., "Start": 3}
"""
import atexit
import os
import re
import signal

from hvtest import free_port, winexe
from hvtest.wait import wait_for

STOPPED, START_PENDING, STOP_PENDING, RUNNING = 1, 2, 3, 4
# How long one sc.exe or reg.exe run may take (a busy machine).
RUN = 120


# What wine says when it could not start a program at all (seen on a
# loaded machine): the command never ran, so it is run again.
NOT_STARTED = b"Application could not be started"


def run(argv, timeout=RUN, tries=3):
    """winexe.run(@argv), again (up to @tries times in all) when wine
    could not start the program."""
    for _ in range(tries):
        r = winexe.run(argv, timeout=timeout)
        if NOT_STARTED not in r.stderr and NOT_STARTED not in r.stdout:
            break
    return r


def sc(*args, timeout=RUN):
    """wine's sc.exe ARGS run to the end: a CompletedProcess."""
    return run(["sc.exe"] + list(args), timeout=timeout)


def query(name):
    """The status of service @name as sc.exe query prints it: a dict with
    state, win32 (WIN32_EXIT_CODE), service (SERVICE_EXIT_CODE) and
    checkpoint, or None if there is no such service."""
    r = sc("query", name)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0 or "STATE" not in out:
        return None
    st = {}
    for key, field in (("state", "STATE"), ("win32", "WIN32_EXIT_CODE"),
                       ("service", "SERVICE_EXIT_CODE")):
        m = re.search(rf"^\s*{field}\s*:\s*(\d+)", out, re.M)
        st[key] = int(m.group(1)) if m else None
    m = re.search(r"^\s*CHECKPOINT\s*:\s*(0x[0-9a-fA-F]+|\d+)", out, re.M)
    st["checkpoint"] = int(m.group(1), 0) if m else None
    st["text"] = out
    return st


def state(name):
    """The state number of service @name, or None."""
    st = query(name)
    return st["state"] if st else None


def wait_state(name, want, timeout):
    """The status (query()) once service @name is in state @want, or the
    last status seen (None if there is no such service) after @timeout
    seconds."""
    last = [None]

    def cond():
        last[0] = query(name)
        return last[0] is not None and last[0]["state"] == want

    wait_for(cond, timeout, step=0.5)
    return last[0]


def reg_config(name):
    """The values of the service's registry key (ImagePath, Start,
    ObjectName, Description, ...) as reg.exe shows them: str for REG_SZ,
    int for REG_DWORD; None if the key does not exist."""
    r = run(["reg.exe", "query",
             f"HKLM\\System\\CurrentControlSet\\Services\\{name}"])
    if r.returncode != 0:
        return None
    vals = {}
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        m = re.match(r"^\s+(\S+)\s+(REG_\w+)\s+(.*?)\s*$", line)
        if not m:
            continue
        v = m.group(3)
        if m.group(2) == "REG_DWORD":
            v = int(v, 0)
        vals[m.group(1)] = v
    return vals


def image_pids(image):
    """The Unix pids of the wine processes whose program is @image (a
    base name such as "hvsvc-42.exe", compared without case)."""
    out = []
    for n in os.listdir("/proc"):
        if not n.isdigit():
            continue
        try:
            with open(f"/proc/{n}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0].decode("utf-8",
                                                           "replace")
        except OSError:
            continue
        if re.split(r"[\\/]", argv0)[-1].lower() == image.lower():
            out.append(int(n))
    return out


def kill_image(image):
    """SIGKILL every process of @image; True once none is left."""
    for p in image_pids(image):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    return bool(wait_for(lambda: not image_pids(image), 10))


def keep_prefix(t, exe):
    """Keep the wine prefix up while the test runs: a copy of hvproxy.exe
    @exe in the console, forwarding a port no one uses (a WinDaemon,
    killed at exit)."""
    keeper = winexe.copy_program(t, exe, f"hvkeep-{os.getpid()}.exe")
    return winexe.WinDaemon([keeper, f"tcp:127.0.0.1:{free_port()}",
                             "tcp:127.0.0.1:9"], t.path("keeper.log"))


class Services:
    """The services a test created: at exit (before the test's folder
    goes), each one still there is stopped and deleted, and the programs
    it ran are killed, so that the prefix keeps nothing of the test."""

    def __init__(self, t):
        self.t = t
        self.names = []
        self.images = []
        atexit.register(self.cleanup)

    def track(self, name, image=None):
        if name not in self.names:
            self.names.append(name)
        if image and image not in self.images:
            self.images.append(image)

    def cleanup(self):
        for name in self.names:
            if query(name) is None:
                continue
            sc("stop", name)
            wait_for(lambda: state(name) in (None, STOPPED), 30, step=0.5)
            sc("delete", name)
        for image in self.images:
            kill_image(image)
