#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvcat-exec: -e PROG and -c CMD serve a connection; -k serves clients in
turn, each with its own child; -m bounds the children; the child's status
becomes hvcat's."""
import signal
import subprocess
import time

from hvtest import Tap, stop
from hvtest.hvcat import HVCAT, Listener, err_text, hvcat

t = Tap()

# -e without a shell, one client.
lst = Listener(t, ["-e", "tr a-z A-Z"])
r = hvcat(lst.tcp, input=b"hello world\n")
t.check("-e 'tr a-z A-Z': the program is the server",
        r.stdout == b"HELLO WORLD\n" and r.returncode == 0 and
        lst.wait() == 0, f"{r.stdout!r} {err_text(r)} {lst.log()}")
lst.close()

# -c through /bin/sh, with the peer's address in the environment.
lst = Listener(t, ["-c", 'echo "peer=$HVCAT_PEER"; wc -c'])
r = hvcat(lst.tcp, input=b"12345")
lines = r.stdout.decode().split("\n")
t.check("-c: shell command, HVCAT_PEER set, reads the client's half-close",
        len(lines) >= 2 and lines[0].startswith("peer=tcp:127.0.0.1:") and
        lines[1].strip() == "5" and lst.wait() == 0,
        f"{r.stdout!r} {err_text(r)}")
lst.close()

# -k -e: clients in turn, each its own child.
lst = Listener(t, ["-k", "-c", 'echo "pid=$$"; cat'])
pids = []
for i in range(4):
    r = hvcat(lst.tcp, input=f"round {i}\n".encode())
    out = r.stdout.decode().split("\n")
    ok = r.returncode == 0 and len(out) >= 2 and out[1] == f"round {i}"
    if ok:
        pids.append(out[0])
    t.check(f"-k -c: client {i} served", ok, f"{r.stdout!r} {err_text(r)}")
t.check("-k -c: every client had its own child",
        len(set(pids)) == 4, repr(pids))
t.check("-k: still listening after the clients", lst.proc.poll() is None)

# -k -e: concurrent clients (the children run at once).
procs = [t.track(subprocess.Popen(
    [HVCAT, "-q", "3", lst.tcp], stdin=subprocess.PIPE,
    stdout=subprocess.PIPE, stderr=subprocess.PIPE)) for _ in range(3)]
outs = []
for i, p in enumerate(procs):
    p.stdin.write(f"c{i}\n".encode())
    p.stdin.flush()
for i, p in enumerate(procs):
    try:
        o, e = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        stop(p)
        o = b""
    outs.append(o.decode().split("\n")[1:2])
t.check("-k -c: three clients at once, each answered",
        outs == [["c0"], ["c1"], ["c2"]], repr(outs))
lst.proc.send_signal(signal.SIGTERM)
t.check("-k -c: SIGTERM ends the listener", lst.wait() == -signal.SIGTERM)
lst.close()

# -m 1: the second client waits for the first child.
lst = Listener(t, ["-k", "-m", "1", "-c", "sleep 1; echo done"])
start = time.monotonic()
a = t.track(subprocess.Popen([HVCAT, "-N", lst.tcp],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE))
time.sleep(0.2)
b = t.track(subprocess.Popen([HVCAT, "-N", lst.tcp],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE))
try:
    oa = a.communicate(timeout=10)[0]
    ob = b.communicate(timeout=10)[0]
except subprocess.TimeoutExpired:
    oa = ob = b""
secs = time.monotonic() - start
t.check(f"-m 1: children one at a time ({secs:.2f} s for two 1 s jobs)",
        oa == b"done\n" and ob == b"done\n" and secs >= 1.9, f"{oa!r} {ob!r}")
lst.close()

# The child's exit status is hvcat's.
lst = Listener(t, ["-c", "exit 3"])
hvcat(lst.tcp, input=b"")
rc = lst.wait()
t.check("-c 'exit 3': hvcat exits 1 and says so",
        rc == 1 and "exited with status 3" in lst.log(),
        f"{rc} {lst.log()}")
lst.close()

# Connecting with -e: the program talks to the server.
srv = Listener(t, [], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
srv.proc.stdin.write(b"from server\n")
srv.proc.stdin.close()
r = hvcat("-c", "read line; echo \"got: $line\"", srv.tcp)
o = srv.proc.stdout.read()
t.check("connect -c: the program reads the server and answers it",
        r.returncode == 0 and o == b"got: from server\n",
        f"{r.returncode} {err_text(r)} {o!r}")
srv.close()

# Usage errors of -e.
r = hvcat("-l", "-e", "/nonexistent/prog", "tcp:127.0.0.1:0")
t.check("-e /nonexistent/prog: exit 2 before listening",
        r.returncode == 2 and "no such program" in err_text(r), err_text(r))
r = hvcat("-l", "-e", "no-such-program-hvcat", "tcp:127.0.0.1:0")
t.check("-e missing from PATH: exit 2",
        r.returncode == 2 and "in PATH" in err_text(r), err_text(r))

t.done()
