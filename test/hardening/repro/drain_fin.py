# SPDX-License-Identifier: MIT
"""After the drain timeout, a cut-short stream ends with a FIN.

hvproxy --drain-timeout 1s, a client that keeps sending and never
half-closes, SIGTERM: after the timeout hvproxy calls hvs_relay_drain()
(bin/hvproxy/forward.c drain_flush()); the relay stops reading, writes
out what it had read, and relay_end() (lib/libhvsock/loop/relay.c) closes
the target's socket normally: the target reads a clean EOF although the
client never ended its stream, and takes the truncated upload for a
whole one (the relay's own rule: "a stream cut short is reset, never
closed with a FIN its peer would take for a complete one"). Fix idea: in
relay_end(), fd_abort() the destination of every direction whose source
had not reached EOF (d->eof == 0) when the relay ends by drain or close.
Exit 1 while the bug is there."""
import signal
import socket
import sys
import threading
import time

from hvtest import Tap, free_port, wait_for
from hvtest.hvproxy import Proxy
from hvtest.loopserver import LoopServer

t = Tap()
srv = LoopServer()  # reads and counts; records how each stream ended
port = free_port()
p = Proxy(t, ["--drain-timeout", "1s", f"tcp:{port}", srv.addr])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
stop = threading.Event()


def drip():
    try:
        while not stop.is_set():
            s.sendall(b"x" * 4096)
            time.sleep(0.02)
    except OSError:
        pass


th = threading.Thread(target=drip)
th.start()
time.sleep(0.5)
p.signal(signal.SIGTERM)
rc = p.wait(10)
stop.set()
th.join(5)
wait_for(lambda: srv.conns and (srv.conns[0].outcome or
                                srv.conns[0].closed), 20)
c = srv.conns[0]
print(f"hvproxy exit {rc}; the target received {c.received} bytes, then: "
      f"{c.outcome} (the client never half-closed)")
bug = c.outcome == "eof"
print("BUG REPRODUCED" if bug else "not reproduced")
s.close()
sys.exit(1 if bug else 0)
