"""Helpers for the hvproxy integration tests (Debian's /usr/bin/python3).

Each test script runs the built hvproxy as a user would, on loopback only
(tcp on 127.0.0.1, unix sockets in a private folder); no test ever opens an
AF_VSOCK socket on the host. Every wait is bounded.

    t = T()                       # TAP-style results, "N passed, N failed"
    p = Proxy(t, ["tcp:0", ...])  # started, READY=1 received (sd_notify)
    t.check("name", cond, "detail")
    t.done()                      # TAP plan; exit 1 if anything failed
"""
import atexit
import fcntl
import hashlib
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HVPROXY = os.environ.get("HVPROXY") or (sys.argv[1] if len(sys.argv) > 1
                                        else "hvproxy")
WAIT = 10.0  # default bound on any wait, seconds


class T:
    """Results, printed as they come, summed up at the end."""

    def __init__(self):
        self.n = self.passed = self.failed = self.skipped = 0
        self.tmp = tempfile.mkdtemp(prefix="hvptest.")
        self.procs = []
        self.threads = []
        self.skip_why = ""
        # Even a script that dies of an exception leaves no daemon behind.
        atexit.register(self._cleanup)

    def _cleanup(self):
        for p in self.procs:
            p.kill()

    def check(self, name, ok, detail=""):
        self.n += 1
        if ok:
            self.passed += 1
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}" + (f": {detail}" if detail
                                                else ""), flush=True)
        return ok

    def skip(self, name, why):
        self.n += 1
        self.skipped += 1
        self.skip_why = why
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def note(self, msg):
        print(f"# {msg}", flush=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def done(self):
        """TAP plan and a summary; exit 1 if anything failed."""
        for p in self.procs:
            p.kill()
        subprocess.run(["rm", "-rf", self.tmp])
        if self.passed == 0 and self.failed == 0 and self.skipped:
            # Nothing could run here: the whole script is a skip.
            print(f"1..0 # SKIP {self.skip_why}", flush=True)
            sys.exit(0)
        print(f"1..{self.n}")
        print(f"# {self.passed} passed, {self.failed} failed, "
              f"{self.skipped} skipped", flush=True)
        sys.exit(1 if self.failed else 0)


def _port_range():
    """Ports below the kernel's ephemeral range: no client socket and no
    bind() to port 0, of any process, is given one of them."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (max(1024, low - 12000), low - 1) if low > 3072 else (None, None)


_PORTS_DIR = os.path.join(tempfile.gettempdir(), "hvptest-ports")
_port_locks = {}  # port -> the locked file that reserves it (or None)
_port_rng = random.Random()  # its own: a test may seed the shared one


def _reserve(port):
    """Hold an flock on a file named after @port until this process ends,
    so that tests running beside this one never pick it."""
    try:
        if not os.path.isdir(_PORTS_DIR):
            os.makedirs(_PORTS_DIR, exist_ok=True)
            os.chmod(_PORTS_DIR, 0o1777)  # any user's tests may share it
        fd = os.open(os.path.join(_PORTS_DIR, str(port)),
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        # No shared folder: the other checks still hold, and the port is
        # still never given twice in this process.
        _port_locks[port] = None
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _port_locks[port] = fd
    return True


def free_port():
    """A loopback TCP port for a listener that hvproxy (or a test server)
    binds later. Picking it with bind(port 0) and closing is racy: the
    kernel may hand the same port to the next bind(0) of this or another
    test, or to a client socket, before the listener takes it (two forwards
    of one test once got the same port). So the port is taken outside the
    kernel's ephemeral range, never twice in this process, reserved against
    the other test processes by a lock file, and checked free by a bind."""
    lo, hi = _port_range()
    for _ in range(2000 if lo is not None else 0):
        port = _port_rng.randint(lo, hi)
        if port in _port_locks or not _reserve(port):
            continue
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue  # in use by something else: keep it reserved, skip it
        finally:
            s.close()
    # No room below the ephemeral range: the old way.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout=WAIT, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Proxy:
    """hvproxy run with NOTIFY_SOCKET: started means READY=1 was sent."""

    def __init__(self, t, args, env=None, ready=True, preexec_fn=None,
                 pass_fds=(), argv0=None):
        self.t = t
        self.notify_path = t.path(f"notify.{len(t.procs)}")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        os.chmod(self.notify_path, 0o777)  # also after --user
        self.errpath = t.path(f"hvproxy.{len(t.procs)}.log")
        self.err = open(self.errpath, "wb")
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = self.notify_path
        e.update(env or {})
        cmd = (argv0 or [HVPROXY]) + list(args)
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                  stdout=self.err, stderr=self.err, env=e,
                                  preexec_fn=preexec_fn, pass_fds=pass_fds)
        self.pid = self.p.pid
        self.messages = []
        t.procs.append(self)
        if ready and not self.wait_notify("READY=1"):
            t.note(f"hvproxy did not get ready; log:\n{self.log()}")
            raise SystemExit(1)

    def wait_notify(self, what, timeout=WAIT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(what in m for m in self.messages):
                return True
            if self.p.poll() is not None:
                return False
            self.notify.settimeout(0.05)
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except socket.timeout:
                pass
        return False

    def log(self):
        self.err.flush()
        with open(self.errpath, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_log(self, pattern, timeout=WAIT, count=1):
        rx = re.compile(pattern, re.M)
        return wait_for(lambda: len(rx.findall(self.log())) >= count,
                        timeout)

    def signal(self, sig):
        self.p.send_signal(sig)

    def wait(self, timeout=WAIT):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=WAIT):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def alive(self):
        return self.p.poll() is None

    def memory_kb(self):
        """(RSS, PSS) in kB from /proc/PID/smaps_rollup."""
        vals = {}
        with open(f"/proc/{self.pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:"):
                    vals[parts[0][:-1]] = int(parts[1])
        return vals.get("Rss"), vals.get("Pss")

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))


def run(args, timeout=WAIT, env=None):
    """Run hvproxy to completion: (exit code, stdout, stderr)."""
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    e.update(env or {})
    r = subprocess.run([HVPROXY] + list(args), capture_output=True,
                       timeout=timeout, env=e, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace"), \
        r.stderr.decode(errors="replace")


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
    return ms.get((name, frozenset(labels.items())))


# ---- peers ------------------------------------------------------------------

class Server:
    """A threaded loopback server (tcp or unix) running handler(conn)."""

    def __init__(self, t, handler, unix=None, backlog=128, accept=True):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix)
            self.addr = f"unix:{unix}"
        else:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
            self.addr = f"tcp:127.0.0.1:{self.port}"
        self.sock.listen(backlog)
        self.handler = handler
        self.conns = []
        self.stopped = False
        if accept:
            th = threading.Thread(target=self._loop, daemon=True)
            th.start()
            t.threads.append(th)

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            c.settimeout(None)
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        try:
            self.handler(c)
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def close(self):
        self.stopped = True
        self.sock.close()


def recv_all(c, timeout=WAIT):
    c.settimeout(timeout)
    chunks = []
    while True:
        b = c.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def echo_handler(c):
    while True:
        b = c.recv(1 << 16)
        if not b:
            c.shutdown(socket.SHUT_WR)
            return
        c.sendall(b)


class HashServer(Server):
    """Reads to EOF, answers "SHA256 COUNT\\n", closes; remembers each in
    results. A stream that ends with a reset instead is remembered in
    resets (what arrived before it) and gets no answer."""

    def __init__(self, t, **kw):
        self.results = []
        self.resets = []
        super().__init__(t, self._handle, **kw)

    def _handle(self, c):
        h = hashlib.sha256()
        n = 0
        while True:
            try:
                b = c.recv(1 << 16)
            except ConnectionResetError:
                self.resets.append((h.hexdigest(), n))
                return
            if not b:
                break
            h.update(b)
            n += len(b)
        self.results.append((h.hexdigest(), n))
        c.sendall(f"{h.hexdigest()} {n}\n".encode())


def silent_handler(c):
    """Accepts and never reads nor writes, until the peer goes away."""
    c.settimeout(60)
    try:
        while c.recv(1, socket.MSG_PEEK) != b"":
            time.sleep(0.1)
    except OSError:
        pass


def connect(port, timeout=WAIT, source=None):
    """A TCP connection to 127.0.0.1:@port, from the loopback address
    @source (e.g. "127.0.0.2": another peer for hvproxy) if given."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source
                                 else None)
    return s


def echo_ok(s, msg=b"ping", sent_before=b"", timeout=5):
    """Send @msg on @s and read its echo, after the echo of @sent_before
    (bytes sent earlier and not read yet); True if it all came back within
    @timeout, False on a short answer, a close or an error."""
    want = sent_before + msg
    got = b""
    try:
        s.settimeout(timeout)
        s.sendall(msg)
        while len(got) < len(want):
            b = s.recv(len(want) - len(got))
            if not b:
                break
            got += b
    except OSError:
        return False
    return got == want


def echo_port_ok(port, msg=b"ping", timeout=5):
    """echo_ok() on a new connection to @port, closed after."""
    try:
        s = connect(port)
    except OSError:
        return False
    try:
        return echo_ok(s, msg, timeout=timeout)
    finally:
        s.close()


def closed_within(s, secs):
    """True if the peer closes (EOF or reset) within secs; the time taken."""
    t0 = time.monotonic()
    s.settimeout(secs)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return False, time.monotonic() - t0
    return True, time.monotonic() - t0


def hash_roundtrip(port, data, timeout=30):
    """Send data, half-close, read the HashServer's answer."""
    s = connect(port, timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    ans = recv_all(s, timeout).decode()
    s.close()
    return ans.strip()


def echo_roundtrip(port, data, timeout=30):
    s = connect(port, timeout)
    got = []
    th = threading.Thread(target=lambda: got.append(recv_all(s, timeout)))
    th.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    th.join(timeout)
    s.close()
    return got[0] if got else None


def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)


def raise_nofile(want):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = min(max(soft, want), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return new
