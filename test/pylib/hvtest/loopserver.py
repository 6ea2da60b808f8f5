# SPDX-License-Identifier: MIT
"""Peers on one selector thread: hundreds of loopback connections cost no
thread each, and every byte they move is counted exactly (c.sent,
c.received). Loopback only (127.0.0.1, unix sockets)."""
import errno
import selectors
import socket
import threading

from hvtest.net import reset


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
