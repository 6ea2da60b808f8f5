# SPDX-License-Identifier: MIT
"""hvproxy out of descriptors + one connection waiting on the metrics port.

bin/hvproxy/metrics.c hvp_metrics_new() hands the listening socket to
evhttp_accept_socket_with_handle(). libevent's evconnlistener treats
EMFILE as a hard error: it logs "[warn] Error from accept() call" and
leaves the socket armed, so a level-triggered epoll reports it again at
once: a busy loop at ~100% CPU writing megabytes of log per second, for
as long as descriptors are short (the forwards' own listeners pause
instead: lib/libhvsock/loop/listener.c). Fix idea: evhttp_bound_socket_
get_listener() + evconnlistener_set_error_cb() that disables the
listener and re-enables it from a timer, as the library's listener does.
Exit 1 while the bug is there."""
import resource
import socket
import sys
import time

from hvtest import Tap, free_port
from hvtest.hvproxy import Proxy
from hvtest.loopserver import EchoServer
from hvtest.procinfo import cpu_share, fd_kinds

t = Tap()
echo = EchoServer()
port, mp = free_port(), free_port()
p = Proxy(t, ["--metrics", f"127.0.0.1:{mp}", f"tcp:{port}", echo.addr])
time.sleep(0.3)
hard = resource.prlimit(p.pid, resource.RLIMIT_NOFILE)[1]
resource.prlimit(p.pid, resource.RLIMIT_NOFILE,
                 (fd_kinds(p.pid)["max"] + 1, hard))
m = socket.create_connection(("127.0.0.1", mp), timeout=5)
time.sleep(0.2)
n0 = len(p.log())
share, ticks = cpu_share(p.pid, 2.0)
logged = len(p.log()) - n0
print(f"CPU {share * 100:.0f}% of a core over 2 s, {logged} bytes logged; "
      f"last line: {p.log().splitlines()[-1] if p.log() else ''}")
bug = share > 0.2 or logged > 65536
print("BUG REPRODUCED" if bug else "not reproduced")
m.close()
p.kill()
sys.exit(1 if bug else 0)
