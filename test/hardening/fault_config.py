# SPDX-License-Identifier: MIT
"""hardening-config: hostile configuration files, and configurations that
--check passed but start-up then refused.

- A FIFO at the config path: start-up, --check and a reload (SIGHUP) say
  "not a regular file (a fifo)" at once instead of waiting for a writer;
  while the reload fails, a live relay keeps working. The timeouts of the
  runs here only detect a hang: nothing is timed.
- A 300 MB file (sparse) is refused for its size before it is read; a
  15 MB line is refused as too long without being held in memory: the
  peak RSS (VmHWM) of a daemon that reloads them does not grow.
- After --user nobody, a root-owned 0600 file is reloaded through the
  descriptor opened at start-up when edited in place; a file replaced by
  another is refused with a message saying so (root only).
- --check refuses listen addresses that cannot be bound together
  (localhost beside its address, a wildcard beside an address on the
  same port, the metrics endpoint on a forward's address), an empty
  pidfile and "key: value"; takes forward names of 64 characters; and
  warns when a forward's target is its own listener.
"""
import os
import pwd
import signal
import socket
import subprocess

from hvtest import Tap, free_port, procinfo, wait_for, write_config
from hvtest.hvproxy import Proxy, run
from hvtest.net import Server, connect, echo_handler, echo_ok, echo_port_ok

t = Tap()
echo = Server(echo_handler)
HANG = 20  # seconds: a run that takes longer hangs


def check_run(args):
    """run(), with a hang reported as exit code "hang"."""
    try:
        return run(args, timeout=HANG)
    except subprocess.TimeoutExpired:
        return "hang", "", ""


def under_asan():
    return "address" in os.environ.get("HVS_SANITIZE", "")


# ---- a FIFO at the config path ------------------------------------------
fifo = t.path("fifo.conf")
os.mkfifo(fifo, 0o600)
rc, out, err = check_run(["--check", "-c", fifo])
t.check("--check -c FIFO: exit 2 at once, 'not a regular file (a fifo)'",
        rc == 2 and f"{fifo}: not a regular file (a fifo)" in err,
        f"rc={rc} {err.strip()}")
rc, out, err = check_run(["-c", fifo])
t.check("start-up with a FIFO as config: exit 2 at once, names it",
        rc == 2 and "not a regular file (a fifo)" in err,
        f"rc={rc} {err.strip()}")

# A reload that finds a FIFO: refused, and the loop goes on.
port = free_port()
conf = t.path("live.conf")
write_config(conf, f"[forward live]\nlisten = tcp:{port}\n"
             f"target = {echo.addr}\n")
p = Proxy(t, ["-c", conf])
live = connect(port)
t.check("before the reload: the live connection relays",
        echo_ok(live, b"one"))
os.rename(conf, conf + ".real")
os.mkfifo(conf, 0o600)
p.signal(signal.SIGHUP)
t.check("SIGHUP with a FIFO at the path: 'not a regular file (a fifo)'",
        p.wait_log(r"live\.conf: not a regular file \(a fifo\)", HANG),
        p.log()[-600:])
t.check("... the live connection keeps relaying",
        echo_ok(live, b"two", timeout=HANG))
t.check("... and new connections are taken", echo_port_ok(port))
live.close()
if p.alive():
    # Before the fix the daemon sits in open(): a writer lets it go on.
    try:
        fd = os.open(conf, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass
t.check("... and it stops cleanly (exit 0)", p.stop() == 0, p.log()[-400:])
os.unlink(conf)

# ---- size and line bounds ---------------------------------------------------
def big_file(path, size, line=False):
    """@size bytes: one line of 'a' (written in chunks: the test itself
    stays small), or 64 kB of 'a' and a sparse rest."""
    with open(path, "wb") as f:
        if line:
            chunk = b"a" * (1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
            f.write(b"\n")
        else:
            f.write(b"a" * 65536)
            f.truncate(size)


def hwm_kb(pid):
    """VmHWM: the peak RSS of @pid's memory since its exec."""
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1])
    return 0


big = t.path("big.conf")
big_file(big, 300 << 20)
rc, out, err = check_run(["--check", "-c", big])
t.check("--check of a 300 MB file: exit 2, refused for its size",
        rc == 2 and f"{big}: the file has {300 << 20} bytes, more than the "
        "16 MiB a configuration file may have" in err,
        f"rc={rc} {err.strip()[:300]}")
line = t.path("line.conf")
big_file(line, 15 << 20, line=True)
rc, out, err = check_run(["--check", "-c", line])
t.check("--check of a 15 MB line: exit 2, FILE:1: line is too long",
        rc == 2 and f"{line}:1: line is too long (at most 197 characters)"
        in err, f"rc={rc} {err.strip()[:300]}")

# The same through reloads of a running daemon, whose peak RSS (VmHWM)
# /proc gives: it must not grow with the file.
port = free_port()
conf = t.path("mem.conf")
write_config(conf, f"[forward m]\nlisten = tcp:{port}\n"
             f"target = {echo.addr}\n")
p = Proxy(t, ["-c", conf])
hwm0 = hwm_kb(p.pid)
os.rename(line, conf)
p.signal(signal.SIGHUP)
t.check("SIGHUP, a 15 MB line: refused, FILE:1: line is too long",
        p.wait_log(r"mem\.conf:1: line is too long", HANG), p.log()[-600:])
hwm1 = hwm_kb(p.pid)
os.rename(big, conf)
p.signal(signal.SIGHUP)
t.check("SIGHUP, a 300 MB file: refused for its size",
        p.wait_log(r"mem\.conf: the file has \d+ bytes, more than", HANG),
        p.log()[-600:])
hwm2 = hwm_kb(p.pid)
t.note(f"peak RSS: {hwm0} kB at start, {hwm1} kB after the 15 MB line, "
       f"{hwm2} kB after the 300 MB file")
if under_asan():
    t.skip("the peak RSS did not grow with the file", "ASan: not judged")
else:
    t.check("the peak RSS did not grow with the file (+4 MB at most)",
            hwm2 < hwm0 + 4096, f"{hwm0} kB -> {hwm1} kB -> {hwm2} kB")
t.check("... and the forward still relays", echo_port_ok(port))
# Without --user no descriptor of the file is kept, by any reload.
write_config(conf, f"[forward m]\nlisten = tcp:{port}\n"
             f"target = {echo.addr}\n")
fd0 = procinfo.base_fds(p.pid)  # once the last relay is gone
ok = True
for _ in range(3):
    p.messages.clear()
    p.signal(signal.SIGHUP)
    ok = ok and p.wait_notify("STATUS=", HANG)
fd1 = procinfo.base_fds(p.pid)
t.check("three good reloads leave the descriptors as they were",
        ok and fd1 == fd0, f"{fd0} -> {fd1}")
t.check("... and it stops cleanly (exit 0)", p.stop() == 0)
os.unlink(conf)

# ---- reload after --user nobody ---------------------------------------------
if os.geteuid() != 0:
    t.skip("reload after --user nobody of a root-owned 0600 file",
           "not running as root")
else:
    nobody = pwd.getpwnam("nobody")
    # The notify socket must be reachable by nobody, and the folder
    # searchable (stat() tells an edited file from a replaced one).
    os.chmod(t.tmp, 0o755)
    p1, p2, p3 = free_port(), free_port(), free_port()
    rconf = t.path("root.conf")

    def fwd(name, port):
        return f"[forward {name}]\nlisten = tcp:{port}\ntarget = {echo.addr}\n"

    write_config(rconf, fwd("a", p1))
    os.chown(rconf, 0, 0)
    os.chmod(rconf, 0o600)
    p = Proxy(t, ["-v", "-c", rconf, "--user", "nobody"])
    t.check("--user nobody, 0600 root file: a warning at start-up says "
            "what a reload will read",
            p.wait_log(r"a reload \(SIGHUP\) will read the file opened at "
                       r"start-up", 5), p.log()[-600:])
    # Edited in place: the same file, seen through the kept descriptor.
    with open(rconf, "r+") as f:
        f.truncate(0)
        f.write(fwd("a", p1) + fwd("b", p2))
    p.signal(signal.SIGHUP)
    t.check("edited in place, SIGHUP: reloaded through the descriptor "
            "opened at start-up",
            p.wait_log(r"reading it through the descriptor opened at "
                       r"start-up", HANG), p.log()[-600:])
    t.check("... the new forward relays", wait_for(
        lambda: echo_port_ok(p2), 5), p.log()[-600:])
    t.check("... no 'Permission denied' reload failure",
            "configuration has errors" not in p.log(), p.log()[-600:])
    # Replaced by another file: cannot be read, and said so.
    new = t.path("root.conf.new")
    write_config(new, fwd("a", p1) + fwd("b", p2) + fwd("c", p3))
    os.chown(new, 0, 0)
    os.chmod(new, 0o600)
    os.rename(new, rconf)
    p.signal(signal.SIGHUP)
    t.check("replaced, SIGHUP: refused, 'it was replaced, not edited in "
            "place'", p.wait_log(r"it was replaced, not edited in place",
                                 HANG), p.log()[-600:])
    t.check("... the configuration in force stays (b relays, c does not "
            "listen)", echo_port_ok(p2) and not echo_port_ok(p3, timeout=1))
    t.check("... and it stops cleanly (exit 0)", p.stop() == 0)

# ---- --check agrees with start-up -------------------------------------------
P = free_port()


def conf_check(name, text, extra=()):
    path = t.path(name)
    write_config(path, text)
    rc, out, err = check_run(["--check", "-c", path] + list(extra))
    return path, rc, out, err


# What localhost binds, found the way hvproxy finds it.
lo = socket.getaddrinfo("localhost", P, 0, socket.SOCK_STREAM,
                        socket.IPPROTO_TCP, socket.AI_PASSIVE)[0]
lo_text = lo[4][0] if lo[0] == socket.AF_INET else f"[{lo[4][0]}]"
path, rc, out, err = conf_check("lo.conf", f"""[forward a]
listen = tcp:localhost:{P}
target = tcp:127.0.0.1:9
[forward b]
listen = tcp:{lo_text}:{P}
target = tcp:127.0.0.1:9
""")
t.check(f"--check: tcp:localhost:P beside tcp:{lo_text}:P is refused, at "
        "the second's listen= line", rc == 2 and
        f"{path}:5: [forward b] listen: tcp:{lo_text}:{P} is the same "
        f"address as tcp:localhost:{P}" in err, f"rc={rc} {err.strip()}")

path, rc, out, err = conf_check("wild.conf", f"""[forward a]
listen = tcp:127.0.0.1:{P}
target = tcp:127.0.0.1:9
[forward b]
listen = tcp:*:{P}
target = tcp:127.0.0.1:9
""")
t.check("--check: tcp:*:P beside tcp:127.0.0.1:P is refused",
        rc == 2 and f"{path}:5: [forward b] listen: tcp:*:{P} cannot listen "
        f"beside tcp:127.0.0.1:{P}" in err, f"rc={rc} {err.strip()}")
# Start-up agrees: the second bind fails.
rc, out, err = check_run([f"tcp:127.0.0.1:{P}", "tcp:127.0.0.1:9",
                          f"tcp:*:{P}", "tcp:127.0.0.1:9"])
t.check("start-up refuses the same pair before binding (exit 2)",
        rc == 2 and "cannot listen beside" in err, f"rc={rc} {err.strip()}")

sock = t.path("m.sock")
path, rc, out, err = conf_check("metrics.conf", f"""[forward a]
listen = unix:{sock}
target = tcp:127.0.0.1:9
""", ["--metrics", f"unix:{sock}"])
t.check("--check: --metrics on a forward's unix listener is refused",
        rc == 2 and f"metrics: unix:{sock} is already the listen address "
        "of forward a" in err, f"rc={rc} {err.strip()}")
path, rc, out, err = conf_check("metrics2.conf", f"""metrics = {P}
[forward a]
listen = tcp:{P}
target = tcp:127.0.0.1:9
""")
t.check("--check: metrics = PORT on a forward's tcp port is refused",
        rc == 2 and f"metrics: tcp:127.0.0.1:{P} is already the listen "
        "address of forward a" in err, f"rc={rc} {err.strip()}")

path, rc, out, err = conf_check("pid.conf", f"""pidfile =
[forward a]
listen = tcp:{P}
target = tcp:127.0.0.1:9
""")
t.check("--check: an empty pidfile is refused (start-up would fail)",
        rc == 2 and "pidfile: empty" in err, f"rc={rc} {err.strip()}")

path, rc, out, err = conf_check("colon.conf", f"""[forward a]
listen: tcp:{P}
target = tcp:127.0.0.1:9
""")
t.check("--check: 'key: value' is refused at its line",
        rc == 2 and f"{path}:2: syntax error: 'listen:'" in err,
        f"rc={rc} {err.strip()}")

n1 = "a" * 41 + "-first-one-x"
n2 = "a" * 41 + "-second-one"
n64 = "n" * 64
path, rc, out, err = conf_check("names.conf", f"""[forward {n1}]
listen = tcp:{P}
target = tcp:127.0.0.1:9
[forward {n2}]
listen = tcp:{P + 1 if P < 65535 else P - 1}
target = tcp:127.0.0.1:9
[forward {n64}]
listen = tcp:127.0.0.2:{P}
target = tcp:127.0.0.1:9
""")
t.check("--check: names of 53 characters alike in their first 41 are two "
        "forwards, and 64 characters are taken",
        rc == 0 and f"  {n1}: " in out and f"  {n2}: " in out and
        f"  {n64}: " in out, f"rc={rc} {out} {err.strip()}")
path, rc, out, err = conf_check("name65.conf", f"""[forward {n64}x]
listen = tcp:{P}
target = tcp:127.0.0.1:9
""")
t.check("--check: a name of 65 characters is refused at its header",
        rc == 2 and f"{path}:1: [forward {n64}x]: a forward needs a name "
        "of 1 to 64" in err, f"rc={rc} {err.strip()}")

path, rc, out, err = conf_check("loop.conf", f"""[forward loop]
listen = tcp:{P}
target = tcp:127.0.0.1:{P}
""")
t.check("--check: a target equal to its listener warns of a loop",
        rc == 0 and "[forward loop] target tcp:127.0.0.1:" + str(P) +
        " is the forward's own listen address" in err and "a loop" in err,
        f"rc={rc} {err.strip()}")
t.done()
