# SPDX-License-Identifier: MIT
"""hvproxy-drain: SIGTERM stops accepting at once and lets open connections
finish: a transfer in flight arrives whole (sha256 on the far side), then
hvproxy exits 0. With a short --drain-timeout, a connection that does not
finish is ended, but every byte hvproxy had read is written out first,
and then the target sees a reset, not a clean EOF."""
import os
import signal
import socket
import threading
import time

from hvtest import Tap, free_port, sha256_bytes, wait_for
from hvtest.hvproxy import Proxy
from hvtest.net import HashServer, connect, recv_all

t = Tap()
hs = HashServer()

# ---- 1. a transfer in flight completes during the drain.
port = free_port()
p = Proxy(t, ["-v", "--drain-timeout", "20s", f"tcp:{port}", hs.addr])
data = os.urandom(24 * 1024 * 1024)
answer = []
progress = [0]


def client():
    s = connect(port, 30)
    view = memoryview(data)
    chunk = 256 * 1024
    for off in range(0, len(data), chunk):
        s.sendall(view[off:off + chunk])
        progress[0] = off + chunk
        time.sleep(0.01)  # ~2.5 s in all: SIGTERM lands in the middle
    s.shutdown(socket.SHUT_WR)
    answer.append(recv_all(s, 30).decode().strip())
    s.close()


th = threading.Thread(target=client)
th.start()
wait_for(lambda: progress[0] >= 4 * 1024 * 1024, 10)
p.signal(signal.SIGTERM)
t.check("SIGTERM lands mid-transfer",
        progress[0] < len(data), f"{progress[0]} of {len(data)}")
t.check("STOPPING=1 is sent", p.wait_notify("STOPPING=1", 5))


def is_refused(port):
    # A SYN that reached the backlog just before the listener closed
    # is answered by a reset: that, too, is a connection refused.
    try:
        connect(port, 2).close()
        return False
    except (ConnectionRefusedError, ConnectionResetError):
        return True


t.check("new connections are refused at once", wait_for(
    lambda: is_refused(port), 20))
t.check("hvproxy is still running while the transfer goes on",
        p.alive() and progress[0] < len(data))
th.join(60)
t.check("the transfer in flight arrived whole (sha256 at the target)",
        answer == [f"{sha256_bytes(data)} {len(data)}"], repr(answer))
rc = p.wait(10)
t.check("hvproxy exits 0 once the last connection is done", rc == 0,
        f"rc={rc}\n{p.log()[-600:]}")
t.check("log: the connection ended normally (end=done)",
        p.wait_log(r"up=%d down=\d+ .*end=done" % len(data), 20))

# ---- 2. a connection that never finishes: --drain-timeout 1s.
port = free_port()
p = Proxy(t, ["-v", "--drain-timeout", "1s", f"tcp:{port}", hs.addr])
part = os.urandom(3 * 1024 * 1024)
s = connect(port)
s.sendall(part)  # and then nothing: no EOF
time.sleep(0.3)
t0 = time.monotonic()
p.signal(signal.SIGTERM)
rc = p.wait(10)
dt = time.monotonic() - t0
t.check("with --drain-timeout 1s, hvproxy exits 0 after about 1 s",
        rc == 0 and dt > 0.8, f"rc={rc} after {dt:.2f}s")
got = wait_for(lambda: [r for r in hs.resets if r[1] == len(part)], 20)
t.check("every byte hvproxy had read reached the target, then a reset "
        "(the client never ended its stream: no clean EOF)",
        got and got[0][0] == sha256_bytes(part),
        f"resets {hs.resets[-1:]} clean EOFs {hs.results[-1:]} "
        f"vs {len(part)}")
t.check("log: end=drained",
        p.wait_log(r"end=drained|end=drain-timeout", 20), p.log()[-500:])
s.close()

# ---- 3. a second SIGTERM skips the wait.
port = free_port()
p = Proxy(t, ["--drain-timeout", "60s", f"tcp:{port}", hs.addr])
s = connect(port)
s.sendall(b"abc")
time.sleep(0.2)
p.signal(signal.SIGTERM)
time.sleep(0.3)
t.check("after one SIGTERM it waits", p.alive())
t0 = time.monotonic()
p.signal(signal.SIGINT)
rc = p.wait(10)
t.check("a second signal ends the drain (not the 60 s), exit 0",
        rc == 0, f"rc={rc} after {time.monotonic() - t0:.2f}s")
s.close()

# ---- 4. SIGTERM again and again until it has exited (a supervisor that
# insists, timeout(1) signalling its whole process group): the exit status
# stays 0, never death by a signal that came after the loop had ended.
killed = []
for i in range(20):
    port = free_port()
    p = Proxy(t, [f"tcp:{port}", hs.addr])
    sent = 0
    while p.alive() and sent < 100000:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            break
        sent += 1
    rc = p.wait(20)
    if rc != 0:
        killed.append(rc)
t.check("20 daemons under a stream of SIGTERMs: each exits 0",
        not killed, f"exit statuses {killed}")
t.done()
