# SPDX-License-Identifier: MIT
"""Loopback peers and socket helpers (127.0.0.1 and unix sockets only:
nothing here opens an AF_VSOCK socket).

Server runs a handler per connection on threads: for a few connections.
Many at once (hundreds, every byte counted) are the job of
hvtest.loopserver.LoopServer.
"""
import hashlib
import socket
import struct
import threading
import time

from hvtest.wait import WAIT


class Server:
    """A threaded loopback server (tcp, or unix with @unix=PATH) running
    handler(conn) on a thread per connection; .addr is its address as
    hvproxy and hvcat write it, .port its tcp port."""

    def __init__(self, handler, unix=None, backlog=128, accept=True):
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
            threading.Thread(target=self._loop, daemon=True).start()

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


def echo_handler(c):
    """Echoes every byte; passes the EOF on (SHUT_WR)."""
    while True:
        b = c.recv(1 << 16)
        if not b:
            c.shutdown(socket.SHUT_WR)
            return
        c.sendall(b)


def silent_handler(c):
    """Accepts and never reads nor writes, until the peer goes away."""
    c.settimeout(60)
    try:
        while c.recv(1, socket.MSG_PEEK) != b"":
            time.sleep(0.1)
    except OSError:
        pass


class HashServer(Server):
    """Reads to EOF, answers "SHA256 COUNT\\n", closes; remembers each in
    results. A stream that ends with a reset instead is remembered in
    resets (what arrived before it) and gets no answer."""

    def __init__(self, **kw):
        self.results = []
        self.resets = []
        super().__init__(self._handle, **kw)

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


# ---- a client's side ---------------------------------------------------

def connect(port, timeout=WAIT, source=None):
    """A TCP connection to 127.0.0.1:@port, from the loopback address
    @source (e.g. "127.0.0.2": another peer for hvproxy) if given."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0) if source
                                    else None)


def recv_all(c, timeout=WAIT):
    """Everything @c receives until EOF (each recv bounded by @timeout)."""
    c.settimeout(timeout)
    chunks = []
    while True:
        b = c.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


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
    """(True if the peer closes (EOF or reset) within @secs, the time
    taken)."""
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
    """Send @data, half-close, read a HashServer's answer (stripped)."""
    s = connect(port, timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    ans = recv_all(s, timeout).decode()
    s.close()
    return ans.strip()


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


def set_linger0(s):
    """The next close() of @s sends a reset (RST) instead of a FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def reset(s):
    """Close @s with a reset."""
    try:
        set_linger0(s)
    except OSError:
        pass
    s.close()


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
