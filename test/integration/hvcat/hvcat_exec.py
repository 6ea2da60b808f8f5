#!/usr/bin/python3
"""hvcat-exec: -e PROG and -c CMD serve a connection; -k serves clients in
turn, each with its own child; -m bounds the children; the child's status
becomes hvcat's."""
import signal
import subprocess
import time

from hvctest import HVCAT, Listener, Tap, err_text, hvcat, stop

t = Tap()

# -e without a shell, one client.
lst = Listener(t, ["-e", "tr a-z A-Z"])
r = hvcat(lst.tcp, input=b"hello world\n")
t.ok(r.stdout == b"HELLO WORLD\n" and r.returncode == 0 and
     lst.wait() == 0, "-e 'tr a-z A-Z': the program is the server",
     f"{r.stdout!r} {err_text(r)} {lst.stderr()}")
lst.close()

# -c through /bin/sh, with the peer's address in the environment.
lst = Listener(t, ["-c", 'echo "peer=$HVCAT_PEER"; wc -c'])
r = hvcat(lst.tcp, input=b"12345")
lines = r.stdout.decode().split("\n")
t.ok(len(lines) >= 2 and lines[0].startswith("peer=tcp:127.0.0.1:") and
     lines[1].strip() == "5" and lst.wait() == 0,
     "-c: shell command, HVCAT_PEER set, reads the client's half-close",
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
    t.ok(ok, f"-k -c: client {i} served", f"{r.stdout!r} {err_text(r)}")
t.ok(len(set(pids)) == 4, "-k -c: every client had its own child",
     repr(pids))
t.ok(lst.proc.poll() is None, "-k: still listening after the clients")

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
t.ok(outs == [["c0"], ["c1"], ["c2"]],
     "-k -c: three clients at once, each answered", repr(outs))
lst.proc.send_signal(signal.SIGTERM)
t.ok(lst.wait() == -signal.SIGTERM, "-k -c: SIGTERM ends the listener")
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
t.ok(oa == b"done\n" and ob == b"done\n" and secs >= 1.9,
     f"-m 1: children one at a time ({secs:.2f} s for two 1 s jobs)",
     f"{oa!r} {ob!r}")
lst.close()

# The child's exit status is hvcat's.
lst = Listener(t, ["-c", "exit 3"])
hvcat(lst.tcp, input=b"")
rc = lst.wait()
t.ok(rc == 1 and "exited with status 3" in lst.stderr(),
     "-c 'exit 3': hvcat exits 1 and says so", f"{rc} {lst.stderr()}")
lst.close()

# Connecting with -e: the program talks to the server.
srv = Listener(t, [], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
srv.proc.stdin.write(b"from server\n")
srv.proc.stdin.close()
r = hvcat("-c", "read line; echo \"got: $line\"", srv.tcp)
o = srv.proc.stdout.read()
t.ok(r.returncode == 0 and o == b"got: from server\n",
     "connect -c: the program reads the server and answers it",
     f"{r.returncode} {err_text(r)} {o!r}")
srv.close()

# Usage errors of -e.
r = hvcat("-l", "-e", "/nonexistent/prog", "tcp:127.0.0.1:0")
t.ok(r.returncode == 2 and "no such program" in err_text(r),
     "-e /nonexistent/prog: exit 2 before listening", err_text(r))
r = hvcat("-l", "-e", "no-such-program-hvcat", "tcp:127.0.0.1:0")
t.ok(r.returncode == 2 and "in PATH" in err_text(r),
     "-e missing from PATH: exit 2", err_text(r))

t.done()
