# SPDX-License-Identifier: MIT
"""A NOTIFY_SOCKET nobody reads freezes hvproxy.

bin/hvproxy/systemd.c hvp_sd_notify() calls sd_notify() (or, without
libsystemd, sendto() without MSG_DONTWAIT) on a blocking datagram
socket. Each SIGHUP sends RELOADING=1 and READY=1; once the receiver's
queue is full (net.unix.max_dgram_qlen, 10 by default) the call blocks,
and the event loop with it: no connection is relayed until the service
manager reads again (here: never). Fix idea: send the notification from
a non-blocking socket (MSG_DONTWAIT) and drop it, logged, on EAGAIN.
Exit 1 while the bug is there."""
import signal
import socket
import sys
import time

from hvtest import Tap, free_port, write_config
from hvtest.hvproxy import Proxy
from hvtest.loopserver import EchoServer
from hvtest.net import read_outcome

t = Tap()
echo = EchoServer()
port = free_port()
conf = t.path("p.conf")
write_config(conf, f"[forward a]\nlisten = tcp:{port}\ntarget = {echo.addr}\n")
p = Proxy(t, ["-c", conf])  # READY=1 was read; from now on nobody reads
for _ in range(12):
    p.signal(signal.SIGHUP)
    time.sleep(0.1)
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(b"ping")
    s.shutdown(socket.SHUT_WR)
    out, got = read_outcome(s, 3)
except OSError as e:
    out, got = repr(e), b""
bug = got != b"ping"
print(f"after 12 SIGHUPs with the notify socket unread: echo {out} "
      f"{got!r}")
print("BUG REPRODUCED" if bug else "not reproduced")
p.kill()
sys.exit(1 if bug else 0)
