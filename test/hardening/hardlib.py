"""Helpers of the hardening tests (Debian's /usr/bin/python3).

They build on the hvproxy integration helpers (test/integration/hvproxy/
hvptest.py: T, Proxy, metrics, ...) and add what fault injection and soak
need: resource readings of a running process (CPU ticks, RSS, descriptors
by kind), the kernel's queue lengths of loopback tcp sockets, and peers
driven by one selector thread so that hundreds of connections cost no
thread each and every byte they move is counted exactly.

Everything stays on loopback (127.0.0.1, unix sockets in a private
folder): no test here opens an AF_VSOCK socket.
"""
import errno
import os
import selectors
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "hvproxy"))

import hvptest  # noqa: E402
from hvptest import (T, Proxy, free_port, metrics, metric,  # noqa: E402,F401
                     wait_for, sha, write_config, raise_nofile, connect)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def todo(t, name, ok, bug, detail=""):
    """A check that a known, reported bug makes fail: TAP's TODO. meson
    counts 'not ok ... # TODO' as an expected failure and 'ok ... # TODO'
    as an unexpected pass (a failure), so the line has to be turned into a
    plain check once the bug is fixed. Not counted in t.failed."""
    t.n += 1
    if ok:
        t.passed += 1
        print(f"ok {t.n} - {name} # TODO {bug}", flush=True)
    else:
        print(f"not ok {t.n} - {name} # TODO {bug}", flush=True)
        for line in str(detail).rstrip().splitlines()[-12:]:
            print(f"#   {line}", flush=True)
    return ok


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


# ---- resources of a process ------------------------------------------------

def cpu_ticks(pid):
    """utime + stime of @pid in clock ticks (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    # The command name is in parentheses and may hold blanks.
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15


def cpu_share(pid, secs):
    """Fraction of one core @pid used over the next @secs (blocks)."""
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(secs)
    t1, c1 = time.monotonic(), cpu_ticks(pid)
    return (c1 - c0) / CLK_TCK / (t1 - t0), c1 - c0


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def fd_kinds(pid):
    """{'socket': n, 'pipe': n, 'other': n, 'max': highest fd}."""
    out = {"socket": 0, "pipe": 0, "other": 0, "max": -1}
    d = f"/proc/{pid}/fd"
    for name in os.listdir(d):
        try:
            target = os.readlink(os.path.join(d, name))
        except OSError:
            continue
        kind = ("socket" if target.startswith("socket:") else
                "pipe" if target.startswith("pipe:") else "other")
        out[kind] += 1
        out["max"] = max(out["max"], int(name))
    return out


def under_asan(pid):
    """True if @pid runs with AddressSanitizer (meson's b_sanitize, passed
    as HVS_SANITIZE, or its runtime mapped). ASan's quarantine holds freed
    memory back (256 MB by default), so RSS then grows with the bytes
    freed, whatever the program does: RSS is only measured, not judged."""
    if "address" in os.environ.get("HVS_SANITIZE", ""):
        return True
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any("libasan" in ln or "clang_rt.asan" in ln for ln in f)
    except OSError:
        return False


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def base_fds(pid, quiet=0.5, bound=5.0):
    """The descriptor count of a freshly started process once it is
    stable for @quiet seconds (the socket of the READY=1 notification is
    closed only after the message is sent)."""
    end = time.monotonic() + bound
    last, since = fd_count(pid), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        n = fd_count(pid)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


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
        k = fd_kinds(pid)
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


def base_kinds(pid):
    """fd_kinds() of a freshly started process, once stable."""
    base_fds(pid)
    return fd_kinds(pid)


def pipe_fds(mport):
    """Descriptors held by the relay's zero-copy pipes (in use + pooled),
    from the metrics endpoint: 2 per pipe."""
    ms = metrics(mport)
    return 2 * int((metric(ms, "hvproxy_relay_pipes", state="in_use") or 0) +
                   (metric(ms, "hvproxy_relay_pipes", state="pooled") or 0))


def tcp_queues():
    """{(local_port, remote_port): (tx_queue, rx_queue)} of every
    established IPv4 tcp socket on 127.0.0.1 (/proc/net/tcp): tx_queue =
    bytes written and not yet acknowledged, rx_queue = bytes received and
    not yet read."""
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            p = line.split()
            if p[3] != "01":  # TCP_ESTABLISHED
                continue
            lport = int(p[1].split(":")[1], 16)
            rport = int(p[2].split(":")[1], 16)
            tx, rx = (int(x, 16) for x in p[4].split(":"))
            out[(lport, rport)] = (tx, rx)
    return out


def set_linger0(s):
    """The next close() of @s sends a reset (RST) instead of a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def reset(s):
    try:
        set_linger0(s)
    except OSError:
        pass
    s.close()


def read_outcome(s, timeout, limit=None):
    """Read until EOF, reset or @timeout: ('eof'|'reset'|'timeout', bytes).
    With @limit, stop (outcome 'limit') once that many bytes came."""
    s.settimeout(timeout)
    end = time.monotonic() + timeout
    chunks, n = [], 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return "timeout", b"".join(chunks)
        s.settimeout(left)
        try:
            b = s.recv(1 << 16)
        except (ConnectionResetError, BrokenPipeError):
            return "reset", b"".join(chunks)
        except socket.timeout:
            return "timeout", b"".join(chunks)
        if not b:
            return "eof", b"".join(chunks)
        chunks.append(b)
        n += len(b)
        if limit is not None and n >= limit:
            return "limit", b"".join(chunks)


# ---- peers on one selector thread -------------------------------------------

class LoopServer:
    """A loopback server (tcp, or unix with @unix=PATH) whose connections
    are all served by one selector thread. Subclasses implement
    on_open(c) / on_read(c, data) / on_eof(c) / on_writable(c) with c a
    Conn; every byte is counted in c.sent / c.received."""

    class Conn:
        def __init__(self, sock, peer):
            self.sock = sock
            self.peer = peer
            self.sent = 0
            self.received = 0
            self.out = bytearray()
            self.eof = False
            self.closed = False
            self.state = None  # for subclasses
            self.outcome = None  # how reading ended: 'eof', 'reset', ...
            self.send_error = None  # errno name of a failed send
            self.shut_after_out = False

    def __init__(self, unix=None, backlog=1024, accept=True, sndbuf=None,
                 rcvbuf=None, port=0):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix)
            self.addr = f"unix:{unix}"
            self.port = None
        else:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", port))
            self.port = self.sock.getsockname()[1]
            self.addr = f"tcp:127.0.0.1:{self.port}"
        self.sndbuf, self.rcvbuf = sndbuf, rcvbuf
        if sndbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.lock = threading.Lock()
        self.stopping = False
        self.accepting = accept
        self.calls = []  # functions to run on the loop thread
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        if accept:
            self.sel.register(self.sock, selectors.EVENT_READ, "listen")
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    # -- hooks
    def on_open(self, c):
        pass

    def on_read(self, c, data):
        pass

    def on_eof(self, c):
        pass

    def on_writable(self, c):
        pass

    # -- helpers for hooks (loop thread only)
    def send(self, c, data):
        c.out += data
        self._flush(c)

    def shutdown_wr(self, c):
        """SHUT_WR once everything queued is written."""
        c.shut_after_out = True
        self._flush(c)

    def close(self, c, rst=False):
        if c.closed:
            return
        c.closed = True
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        if rst:
            reset(c.sock)
        else:
            c.sock.close()

    def want_write(self, c, on):
        self._events(c, write=on)

    def pause_read(self, c, paused=True):
        c.read_paused = paused
        self._events(c)

    def _events(self, c, write=None):
        if c.closed:
            return
        if write is not None:
            c.want_w = write
        ev = 0
        if not getattr(c, "read_paused", False) and not c.eof:
            ev |= selectors.EVENT_READ
        if c.out or getattr(c, "want_w", False):
            ev |= selectors.EVENT_WRITE
        try:
            if ev:
                try:
                    self.sel.modify(c.sock, ev, c)
                except KeyError:
                    self.sel.register(c.sock, ev, c)
            else:
                try:
                    self.sel.unregister(c.sock)
                except KeyError:
                    pass
        except ValueError:
            pass  # closed meanwhile

    def _flush(self, c):
        while c.out and not c.closed:
            try:
                n = c.sock.send(c.out[:1 << 18])
            except BlockingIOError:
                break
            except OSError as e:
                c.send_error = errno.errorcode.get(e.errno, str(e))
                self.close(c)
                return
            c.sent += n
            del c.out[:n]
        if not c.out and c.shut_after_out and not c.closed:
            c.shut_after_out = False
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        self._events(c)

    # -- API for the test thread
    def call(self, fn):
        """Run fn() on the loop thread, soon."""
        with self.lock:
            self.calls.append(fn)
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass

    def start_accepting(self):
        def go():
            if not self.accepting:
                self.accepting = True
                self.sel.register(self.sock, selectors.EVENT_READ, "listen")
        self.call(go)

    def stop(self):
        self.stopping = True
        self.call(lambda: None)
        self.th.join(5)
        for c in self.conns:
            if not c.closed:
                try:
                    c.sock.close()
                except OSError:
                    pass
        self.sock.close()

    def _run(self):
        while not self.stopping:
            for key, ev in self.sel.select(0.2):
                if key.data == "wake":
                    try:
                        self.wake_r.recv(4096)
                    except OSError:
                        pass
                    continue
                if key.data == "listen":
                    self._accept()
                    continue
                c = key.data
                if ev & selectors.EVENT_WRITE and not c.closed:
                    self._flush(c)
                    if not c.closed:
                        self.on_writable(c)
                if ev & selectors.EVENT_READ and not c.closed:
                    self._read(c)
            with self.lock:
                calls, self.calls = self.calls, []
            for fn in calls:
                fn()

    def _accept(self):
        for _ in range(256):
            try:
                s, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            s.setblocking(False)
            c = self.Conn(s, peer)
            self.conns.append(c)
            self.sel.register(s, selectors.EVENT_READ, c)
            self.on_open(c)

    def _read(self, c):
        try:
            b = c.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except ConnectionResetError:
            c.outcome = c.outcome or "reset"
            self.close(c)
            return
        except OSError as e:
            c.outcome = c.outcome or f"recv: {errno.errorcode.get(e.errno, e)}"
            self.close(c)
            return
        if not b:
            c.eof = True
            c.outcome = c.outcome or "eof"
            self._events(c)
            self.on_eof(c)
            return
        c.received += len(b)
        self.on_read(c, b)


class EchoServer(LoopServer):
    """Echoes every byte; passes the EOF on (SHUT_WR) and closes once the
    peer has both ended and read everything."""

    def on_read(self, c, data):
        self.send(c, data)

    def on_eof(self, c):
        self.shutdown_wr(c)
        # closed by the peer's close, or by the test's stop()


class Firehose(LoopServer):
    """Reads a request line, then writes as fast as the peer takes it,
    forever; never reads again. Remembers, per connection, the request
    line (c.state) and exactly how many bytes the kernel took (c.sent)."""

    CHUNK = bytes(range(256)) * 256  # 64 KiB

    def on_read(self, c, data):
        if c.state is None:
            c.state = data.split(b"\n")[0].decode(errors="replace")
            self.pause_read(c)  # never read again
            self.want_write(c, True)
            self.on_writable(c)

    def on_writable(self, c):
        while not c.closed:
            try:
                n = c.sock.send(self.CHUNK)
            except BlockingIOError:
                return
            except OSError as e:
                c.send_error = errno.errorcode.get(e.errno, str(e))
                self.close(c)
                return
            c.sent += n


class Deaf(LoopServer):
    """Accepts and never reads nor writes: the kernel's buffers fill up.
    Notices only a reset or EOF (by polling with MSG_PEEK)."""

    def on_open(self, c):
        self.pause_read(c)


def drain_nonblocking(s):
    """Read what is readable now from a non-blocking socket; bytes, or
    'eof' / 'reset'."""
    got = []
    while True:
        try:
            b = s.recv(1 << 16)
        except BlockingIOError:
            return b"".join(got)
        except (ConnectionResetError, BrokenPipeError):
            return "reset"
        if not b:
            return "eof" if not got else b"".join(got)
        got.append(b)
