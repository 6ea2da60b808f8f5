# SPDX-License-Identifier: MIT
"""The automatic max-conns does not account for splice pipes.

bin/hvproxy/forward.c effective_max_conns() sets max-conns to
(RLIMIT_NOFILE - 64) / 2: two descriptors per connection. But a relay
whose destination does not drain holds a splice pipe (two more
descriptors) for as long as it is stalled (lib/libhvsock/linux/splice.c
caps pipes at 512 in use + 64 pooled, independently of the descriptor
limit). Under `ulimit -n 256` (max-conns 96), 90 stalled connections use
every descriptor: accept() fails with EMFILE below max-conns and further
clients wait in the backlog instead of being served or refused at once
(man page: "none waits in a queue"). Fix ideas: count the pipes in the
fit (e.g. (limit - reserve) / 4), or let the application cap the pipes
in use (a relay without a pipe copies). Exit 1 while the bug is there."""
import resource
import socket
import sys
import time

from hvtest import Tap, free_port
from hvtest.hvproxy import Proxy, metric, metrics
from hvtest.loopserver import Deaf
from hvtest.procinfo import fd_kinds

t = Tap()
deaf = Deaf()
port, mp = free_port(), free_port()
p = Proxy(t, ["-v", "--metrics", f"127.0.0.1:{mp}", f"tcp:{port}",
              deaf.addr], preexec_fn=lambda: resource.setrlimit(
                  resource.RLIMIT_NOFILE, (256, 256)))
maxc = int(metric(metrics(mp), "hvproxy_max_connections"))
socks = []
for i in range(maxc - 6):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    try:
        s.send(b"x" * (4 << 20))
    except BlockingIOError:
        pass
    socks.append(s)
time.sleep(1.0)
k = fd_kinds(p.pid)
bug = "accept failed" in p.log()
print(f"max-conns {maxc}, {len(socks)} stalled connections: hvproxy holds "
      f"{k['socket']} sockets + {k['pipe']} pipe ends under a limit of 256; "
      f"accept() failed: {bug}")
print("BUG REPRODUCED" if bug else "not reproduced")
p.kill()
sys.exit(1 if bug else 0)
