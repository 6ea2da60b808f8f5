#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvcat-probe: -z and connection failures: exit 0/1, one line naming the
address and the reason (refused, timed out, no such socket file, host not
found, permission), and -w bounding a connect that gets no answer."""
import os
import shutil
import socket
import time

from hvtest import Tap, run
from hvtest.hvcat import HVCAT, Listener, err_text, hvcat, one_line

t = Tap()

lst = Listener(t, [])
r = hvcat("-z", lst.tcp)
t.check("-z to a listener: exit 0, silent",
        r.returncode == 0 and r.stdout == b"" and err_text(r) == "",
        err_text(r))
t.check("-z: the listener saw a connection that sent nothing", lst.wait() == 0)
lst.close()

lst = Listener(t, [])
r = hvcat("-z", "-v", lst.tcp)
t.check("-z -v: says it succeeded",
        r.returncode == 0 and "succeeded" in err_text(r), err_text(r))
lst.close()

# A port nobody listens on: bind one, never listen.
s = socket.socket()
s.bind(("127.0.0.1", 0))
dead = s.getsockname()[1]
r = hvcat("-z", f"tcp:127.0.0.1:{dead}")
e = err_text(r)
t.check("-z to a closed port: exit 1, one line with the address and "
        "'connection refused'",
        r.returncode == 1 and one_line(e) and "connection refused" in e and
        f"tcp:127.0.0.1:{dead}" in e, e)
r = hvcat(f"tcp:127.0.0.1:{dead}", input=b"x")
e = err_text(r)
t.check("connect to a closed port: exit 1, one line",
        r.returncode == 1 and one_line(e) and "refused" in e, e)
s.close()

r = hvcat("-z", "unix:" + t.path("nothing.sock"))
e = err_text(r)
t.check("unix: path that does not exist: 'no such socket file'",
        r.returncode == 1 and one_line(e) and "no such socket file" in e, e)

r = hvcat("-z", "-n", "tcp:localhost:80")
t.check("-n with a host name: usage error",
        r.returncode == 2 and "host name" in err_text(r), err_text(r))

# A connect that gets no answer: a listener whose queue is full drops
# further SYNs, so the connect hangs until -w.
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(0)
port = ls.getsockname()[1]
fillers = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", port))
    fillers.append(c)
time.sleep(0.2)
start = time.monotonic()
r = hvcat("-z", "-w", "0.7", f"tcp:127.0.0.1:{port}")
secs = time.monotonic() - start
e = err_text(r)
if r.returncode == 0:
    t.skip("-z -w 0.7 against a full listen queue", "the kernel answered "
           "the connect (no SYN drop here)")
else:
    t.check(f"-z -w 0.7: no answer -> exit 1, 'timed out' ({secs:.2f} s)",
            r.returncode == 1 and one_line(e) and "timed out after 0.700 s"
            in e and secs > 0.6, e)
start = time.monotonic()
r = hvcat("-w", "0.5", f"tcp:127.0.0.1:{port}", input=b"x")
secs = time.monotonic() - start
if r.returncode != 0:
    t.check(f"-w 0.5 connect: timed out ({secs:.2f} s)",
            r.returncode == 1 and "timed out" in err_text(r), err_text(r))
for c in fillers:
    c.close()
ls.close()

# Listening where we may not: a port below 1024 as an unprivileged user
# (root drops to nobody with setpriv for this case).
if os.geteuid() != 0:
    r = hvcat("-l", "tcp:127.0.0.1:1")
elif shutil.which("setpriv"):
    r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             HVCAT, "-l", "tcp:127.0.0.1:1"])
else:
    r = None
if r is None or r.returncode == 126:
    t.skip("listen on port 1 unprivileged", "cannot drop root here")
else:
    e = err_text(r)
    t.check("listen on port 1 unprivileged: exit 1 with the port hint",
            r.returncode == 1 and one_line(e) and "permission denied" in e and
            "1024" in e, e)

# IPv6 loopback, -4 and -6 (numeric only: no name lookup leaves the host).
try:
    s6 = socket.socket(socket.AF_INET6)
    s6.bind(("::1", 0))
    s6.close()
    have6 = True
except OSError:
    have6 = False
if have6:
    lst = Listener(t, [], addr="tcp:[::1]:0")
    r = hvcat("-6", "-z", f"tcp:[::1]:{lst.port}")
    t.check("-6 -z tcp:[::1]:PORT: exit 0",
            lst.port and r.returncode == 0, err_text(r) + lst.log())
    lst.close()
    r = hvcat("-4", "-z", "tcp:[::1]:1")
    t.check("-4 with an IPv6 address: exit 2",
            r.returncode == 2 and one_line(err_text(r)), err_text(r))
    r = hvcat("-6", "-z", "tcp:127.0.0.1:1")
    t.check("-6 with an IPv4 address: exit 2",
            r.returncode == 2 and one_line(err_text(r)), err_text(r))
    lst = Listener(t, ["--allow", "::1"], addr="tcp:[::1]:0")
    r = hvcat("-z", f"tcp:[::1]:{lst.port}")
    t.check("--allow ::1: an IPv6 loopback peer is served",
            r.returncode == 0 and lst.wait() == 0, lst.log())
    lst.close()
else:
    t.skip("IPv6 loopback cases", "no ::1 here")

# An address in use.
lst = Listener(t, [])
r = hvcat("-l", lst.tcp)
e = err_text(r)
t.check("listen on a port in use: exit 1, one line",
        r.returncode == 1 and one_line(e) and "address already in use" in e, e)
lst.close()

t.done()
