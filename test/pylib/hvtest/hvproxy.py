# SPDX-License-Identifier: MIT
"""hvproxy as the tests run it: the daemon (Proxy), its one-shot runs
(run), its metrics endpoint, its descriptors.

The program is $HVPROXY, else the script's first argument (meson passes
the built one), else "hvproxy" from PATH; set_program() changes it.
Loopback only: no test opens an AF_VSOCK socket on the host.

    t = Tap()
    p = Proxy(t, ["tcp:PORT", "tcp:127.0.0.1:9"])   # READY=1 received
    t.check("...", p.wait_log(r"conn fwd=.* end=done", 20))
    t.check("exit 0", p.stop() == 0)
"""
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from hvtest import proc, procinfo
from hvtest.wait import WAIT

HVPROXY = os.environ.get("HVPROXY") or (sys.argv[1] if len(sys.argv) > 1
                                        else "hvproxy")


def set_program(path):
    """Run @path as hvproxy from now on."""
    global HVPROXY
    HVPROXY = os.path.abspath(path)


_count = [0]


class Proxy(proc.Daemon):
    """hvproxy run with NOTIFY_SOCKET (a datagram socket of the test's):
    unless @ready is False, the constructor returns once READY=1 came (and
    ends the script if it does not). Its stdout and stderr go to
    t.path("hvproxy.N.log"); .messages holds the notifications read."""

    def __init__(self, t, args, env=None, ready=True, preexec_fn=None,
                 pass_fds=(), argv0=None):
        n = _count[0]
        _count[0] += 1
        self.notify_path = t.path(f"notify.{n}")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        os.chmod(self.notify_path, 0o777)  # also after --user
        e = {"NOTIFY_SOCKET": self.notify_path}
        e.update(env or {})
        super().__init__((argv0 or [HVPROXY]) + list(args),
                         t.path(f"hvproxy.{n}.log"), env=e,
                         preexec_fn=preexec_fn, pass_fds=pass_fds)
        self.messages = []
        if ready and not self.wait_notify("READY=1"):
            t.note(f"hvproxy did not get ready; log:\n{self.log()}")
            raise SystemExit(1)

    def wait_notify(self, what, timeout=WAIT):
        """True once a notification holding @what has come (bounded)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(what in m for m in self.messages):
                return True
            if self.proc.poll() is not None:
                return False
            self.notify.settimeout(0.05)
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except socket.timeout:
                pass
        return False

    def memory_kb(self):
        """(RSS, PSS) in kB."""
        return procinfo.memory_kb(self.pid)

    def fds(self):
        return procinfo.fd_count(self.pid)


class NotifyDrain:
    """Keep reading a Proxy's NOTIFY_SOCKET in the background, as a
    service manager does (messages still land in proxy.messages). Without
    it, a burst of notifications fills the socket's queue
    (net.unix.max_dgram_qlen, 10 by default) and hvproxy drops the
    notifications that do not fit (it blocked in sd_notify() before the
    fix of test/hardening/repro/notify_block.py)."""

    def __init__(self, proxy):
        self.p = proxy
        self.stopped = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stopped.is_set():
            self.p.notify.settimeout(0.05)
            try:
                self.p.messages.append(self.p.notify.recv(4096).decode())
            except (socket.timeout, OSError):
                pass

    def stop(self):
        self.stopped.set()
        self.th.join(2)


def run(args, timeout=WAIT, env=None):
    """Run hvproxy to completion (no NOTIFY_SOCKET): (exit code, stdout,
    stderr). Raises subprocess.TimeoutExpired if it runs longer than
    @timeout seconds (killed then)."""
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    e.update(env or {})
    r = proc.run([HVPROXY] + list(args), timeout=timeout, env=e,
                 stdin=subprocess.DEVNULL)
    if r.returncode == "timeout":
        raise subprocess.TimeoutExpired(r.args, timeout)
    return r.returncode, r.stdout.decode(errors="replace"), \
        r.stderr.decode(errors="replace")


# ---- the metrics endpoint ---------------------------------------------

def metrics(port, timeout=5):
    """Scrape /metrics: {(name, frozenset(labels.items())): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                timeout=timeout) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            raise ValueError(f"bad metrics line: {line!r}")
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                                 m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def metric(ms, name, **labels):
    """One value of a metrics() scrape, or None."""
    return ms.get((name, frozenset(labels.items())))


def pipe_fds(mport):
    """Descriptors held by the relay's zero-copy pipes (in use + pooled),
    from the metrics endpoint on @mport: 2 per pipe."""
    ms = metrics(mport)
    return 2 * int((metric(ms, "hvproxy_relay_pipes", state="in_use") or 0) +
                   (metric(ms, "hvproxy_relay_pipes", state="pooled") or 0))


def fds_settled(pid, k0, mport=None, bound=3.0, strict=False):
    """Check that @pid holds the descriptors it held when fd_kinds() gave
    @k0, the relay's pooled pipes aside: sockets and others exactly as
    many, pipe ends as many plus 2 per pipe the metrics (@mport) report
    in use or pooled. Waits up to @bound seconds for sockets still being
    closed (a metrics scrape's own connection). With @strict, every kind
    must be back exactly (no relay left: the engine empties its pools when
    the last relay ends). Returns (ok, text)."""
    end = time.monotonic() + bound
    while True:
        k = procinfo.fd_kinds(pid)
        pf = pipe_fds(mport) if mport else None
        ok = (k["socket"] == k0["socket"] and k["other"] == k0["other"] and
              (k["pipe"] == k0["pipe"] if strict else
               (pf is None or k["pipe"] - pf == k0["pipe"])))
        text = (f"sockets {k0['socket']} -> {k['socket']}, others "
                f"{k0['other']} -> {k['other']}, pipe ends {k0['pipe']} -> "
                f"{k['pipe']}" + (f" ({pf} of them pooled or in use by the "
                                  f"relay)" if pf is not None else ""))
        if ok or time.monotonic() > end:
            return ok, text
        time.sleep(0.1)
