# SPDX-License-Identifier: MIT
"""hardening-lifecycle: who may bind, replace and remove a unix socket
file and the pid file, at start and at exit.

1. hvproxy A listens on a unix socket with a pid file; B, started with
   the same ones, stops at the pid file (exit 1, naming the file and A's
   pid) before it touches any socket: A's socket file is the same file
   and A still relays (sha256-checked).
2. Without a pid file, B on A's unix path fails with "address in use:
   PATH is a live socket"; A's file stays and A still relays. Also from
   another network namespace (as root), where the kernel's diagnostics
   cannot see A and the library falls back to connect().
3. A stale socket file (bound, then closed: nobody listens) is replaced,
   by hvproxy and by hvcat, and the new listener works.
4. A file that is not a socket is refused by name and left as it was.
5. One check for both tools: hvcat -l on hvproxy's live socket is
   refused, and hvproxy never sees a connection from the check; hvproxy
   on a live hvcat -l socket is refused, and hvcat still serves its one
   client.
6. The metrics endpoint's unix socket file is removed when it stops (a
   reload that moves it, SIGTERM).
7. A stopping hvproxy removes its socket file only if it is still its
   own: one that another program bound at the path since is left alone.
8. As root with -u nobody: in a folder nobody may write to, the socket
   files and the pid file cannot be removed at exit; each is named in a
   warning with the reason, and the pid file is emptied. In a folder the
   user owns, everything is removed.

Loopback only: unix sockets in the test's folder, tcp on 127.0.0.1.
"""
import os
import pwd
import shutil
import signal
import socket
import stat
import struct

from hvtest import Daemon, Tap, run, sha256_bytes, wait_for, write_config
from hvtest.hvproxy import HVPROXY, Proxy
from hvtest.net import HashServer, recv_all

t = Tap()
HVCAT = os.environ.get("HVCAT", "hvcat")
DATA = os.urandom(256 * 1024)
WANT = f"{sha256_bytes(DATA)} {len(DATA)}"


def unix_hash(path):
    """Send DATA to the unix socket @path, half-close, read the hash
    server's answer through hvproxy; the answer, or the error."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
        s.sendall(DATA)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s, 10).decode().strip()
    except OSError as e:
        return f"error: {e}"
    finally:
        s.close()


def ino(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISSOCK(st.st_mode) else None


def stale_socket(path):
    """A socket file nobody listens on: bound, then closed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


def sock_diag_works():
    """True if the kernel answers a dump of listening unix sockets over
    sock_diag (the library's way to find a live socket without connecting
    to it); elsewhere it connects, and check 5's count does not apply."""
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4)
    except (OSError, AttributeError):
        return False
    try:
        s.settimeout(5)
        # nlmsghdr (SOCK_DIAG_BY_FAMILY, REQUEST|DUMP) + unix_diag_req
        # (AF_UNIX, states: LISTEN, show: VFS)
        req = struct.pack("=IHHII", 40, 20, 0x301, 1, 0) + \
            struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, 1 << 10, 0, 2,
                        0, 0)
        s.send(req)
        b = s.recv(65536)
        return len(b) >= 16 and struct.unpack("=IH", b[:6])[1] != 2
    except OSError:
        return False
    finally:
        s.close()


def start_or_exit(args, env=None, argv0=None):
    """hvproxy @args: (Proxy, True) once READY=1, or (Proxy, exit status)
    when it ends first. Bounded either way."""
    p = Proxy(t, args, ready=False, env=env, argv0=argv0)
    if p.wait_notify("READY=1"):
        return p, True
    return p, p.wait()


def second_refused(name, args, want, env=None, argv0=None):
    """Start hvproxy @args, expected to fail at once: exit 1, @want in its
    log. Returns its log."""
    b, st = start_or_exit(args, env, argv0)
    if st is True:
        b.stop()
    t.check(f"{name}: exits 1", st == 1, f"status {st}; log:\n{b.log()}")
    t.check(f"{name}: says {want!r}", want in b.log(), b.log())
    return b.log()


target = HashServer()

# ---- 1. the pid file is locked before anything is bound ----------------
sock = t.path("a.sock")
pidf = t.path("a.pid")
a = Proxy(t, ["-v", "--pidfile", pidf, f"unix:{sock}", target.addr])
a_ino = ino(sock)
t.check("1: A listens on its unix socket", a_ino is not None, a.log())
log = second_refused("1: B with A's pid file",
                     ["-v", "--pidfile", pidf, f"unix:{sock}", target.addr],
                     f"pidfile {pidf}: hvproxy is already running "
                     f"(pid {a.pid})")
t.check("1: B stopped before it bound anything", "listening" not in log,
        log)
t.check("1: A's socket file is the same file", ino(sock) == a_ino)
t.check("1: A still relays (sha256)", unix_hash(sock) == WANT,
        unix_hash(sock))
t.check("1: the pid file still holds A's pid",
        open(pidf).read().strip() == str(a.pid))

# ---- 2. no pid file: the live socket is not replaced ------------------
second_refused("2: B on A's unix path, no pid file",
               [f"unix:{sock}", target.addr],
               f"address in use: {sock} is a live socket")
t.check("2: A's socket file is the same file", ino(sock) == a_ino)
t.check("2: A still relays (sha256)", unix_hash(sock) == WANT)
# In a network namespace of its own, B's kernel diagnostics cannot see A's
# listener: the connect() fallback must still find it live.
unshare = shutil.which("unshare")
if os.geteuid() == 0 and unshare and \
        run([unshare, "-n", "true"]).returncode == 0:
    second_refused("2: B in another network namespace",
                   [f"unix:{sock}", target.addr],
                   f"address in use: {sock} is a live socket",
                   argv0=[unshare, "-n", HVPROXY])
    t.check("2: ... A's socket file is the same file", ino(sock) == a_ino)
    t.check("2: ... A still relays (sha256)", unix_hash(sock) == WANT)
else:
    for n in ("exits 1", "says why", "A's file", "A relays"):
        t.skip(f"2: B in another network namespace: {n}",
               "needs root and unshare -n")

# ---- 3. a stale socket file is replaced -------------------------------
stale = t.path("stale.sock")
stale_socket(stale)
c, st = start_or_exit([f"unix:{stale}", target.addr])
t.check("3: hvproxy starts on a stale socket file", st is True, c.log())
t.check("3: ... and relays (sha256)", unix_hash(stale) == WANT)
t.check("3: ... and removes it at SIGTERM",
        c.stop() == 0 and not os.path.lexists(stale), c.log())
stale_socket(stale)
cat = Daemon(
    [HVCAT, "-l", "-v", f"unix:{stale}"], t.path("hvcat3.log"),
    stdout=open(t.path("hvcat3.out"), "wb"))
ok = cat.wait_log(r"listening on") and cat.alive()
t.check("3: hvcat -l starts on a stale socket file", ok, cat.log())
if ok:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(stale)
    s.sendall(b"hello\n")
    s.shutdown(socket.SHUT_WR)
    recv_all(s, 10)
    s.close()
t.check("3: ... and serves its client", cat.wait() == 0 and
        open(t.path("hvcat3.out"), "rb").read() == b"hello\n", cat.log())

# ---- 4. a file that is not a socket is never removed ------------------
reg = t.path("regular")
with open(reg, "w") as f:
    f.write("keep me\n")
second_refused("4: hvproxy on a regular file", [f"unix:{reg}", target.addr],
               f"{reg} exists and is not a socket")
t.check("4: the file is left as it was",
        open(reg).read() == "keep me\n")
r = run([HVCAT, "-l", f"unix:{reg}"], stdin=open(os.devnull, "rb"))
e = r.stderr.decode(errors="replace")
t.check("4: hvcat -l on a regular file: exit 1, says why",
        r.returncode == 1 and f"{reg} exists and is not a socket" in e, e)
t.check("4: ... and the file is left as it was",
        open(reg).read() == "keep me\n")

# ---- 5. the same check in both tools, without connecting --------------
p5 = t.path("five.sock")
a5 = Proxy(t, [f"unix:{p5}", target.addr])
a5_ino = ino(p5)
before = len(target.conns)
r = run([HVCAT, "-l", f"unix:{p5}"], stdin=open(os.devnull, "rb"))
e = r.stderr.decode(errors="replace")
t.check("5: hvcat -l on hvproxy's live socket: exit 1",
        r.returncode == 1, f"status {r.returncode}: {e}")
t.check("5: ... says 'address in use: PATH is a live socket'",
        f"address in use: {p5} is a live socket" in e, e)
t.check("5: ... hvproxy's socket file is the same file",
        ino(p5) == a5_ino)
# hvproxy relays in accept order: once this transfer reached the target,
# a connection that the check made earlier would have reached it first.
t.check("5: hvproxy still relays (sha256)", unix_hash(p5) == WANT)
if sock_diag_works():
    t.check("5: the check opened no connection to hvproxy",
            len(target.conns) == before + 1,
            f"{len(target.conns) - before} connections reached the target, "
            f"1 expected")
else:
    t.skip("5: the check opened no connection to hvproxy",
           "no unix socket diagnostics here: the check connects")
a5.stop()

hsock = t.path("hvcat.sock")
cat = Daemon(
    [HVCAT, "-l", "-v", f"unix:{hsock}"], t.path("hvcat5.log"),
    stdout=open(t.path("hvcat5.out"), "wb"))
t.check("5: hvcat -l listens", cat.wait_log(r"listening on"), cat.log())
h_ino = ino(hsock)
second_refused("5: hvproxy on hvcat's live socket",
               [f"unix:{hsock}", target.addr],
               f"address in use: {hsock} is a live socket")
t.check("5: hvcat's socket file is the same file", ino(hsock) == h_ino)
t.check("5: hvcat -l still waits for its first client", cat.alive(),
        cat.log())
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(hsock)
    s.sendall(b"first client\n")
    s.shutdown(socket.SHUT_WR)
    recv_all(s, 10)
except OSError as ex:
    t.note(f"client: {ex}")
s.close()
t.check("5: ... and serves it (the check was not a client)",
        cat.wait() == 0 and
        open(t.path("hvcat5.out"), "rb").read() == b"first client\n",
        cat.log())

# ---- 6. the metrics endpoint's socket file ----------------------------
m1, m2 = t.path("m1.sock"), t.path("m2.sock")
conf = t.path("m.conf")
fsock = t.path("f.sock")


def metrics_conf(m):
    write_config(conf, f"[global]\nmetrics = unix:{m}\n\n"
                 f"[forward f]\nlisten = unix:{fsock}\n"
                 f"target = {target.addr}\n")


metrics_conf(m1)
m = Proxy(t, ["-v", "-c", conf])
t.check("6: the metrics endpoint listens on its unix socket",
        ino(m1) is not None, m.log())
metrics_conf(m2)
m.signal(signal.SIGHUP)
t.check("6: a reload moves it", wait_for(lambda: ino(m2) is not None),
        m.log())
t.check("6: ... and removes the old socket file",
        wait_for(lambda: not os.path.lexists(m1)), m.log())
t.check("6: SIGTERM: exit 0", m.stop() == 0, m.log())
t.check("6: the metrics socket file is removed at exit",
        not os.path.lexists(m2), m.log())
t.check("6: the forward's socket file too", not os.path.lexists(fsock))

# ---- 7. only its own file is removed at exit --------------------------
p7 = t.path("seven.sock")
a7 = Proxy(t, [f"unix:{p7}", target.addr])
os.unlink(p7)  # someone removes it, and another program binds there
b7 = Proxy(t, [f"unix:{p7}", target.addr])
b_ino = ino(p7)
t.check("7: A stops: exit 0", a7.stop() == 0, a7.log())
t.check("7: B's socket file is still there", ino(p7) == b_ino and
        b_ino is not None)
t.check("7: B still relays (sha256)", unix_hash(p7) == WANT)
t.check("7: B removes its own at exit",
        b7.stop() == 0 and not os.path.lexists(p7), b7.log())

# ---- 8. -u nobody: files that cannot be removed are named -------------
try:
    nobody = pwd.getpwnam("nobody")
except KeyError:
    nobody = None
if os.geteuid() != 0 or nobody is None:
    why = "needs root" if os.geteuid() != 0 else "no user nobody"
    for n in ("8: root's folder: warnings", "8: nobody's folder: removed"):
        t.skip(n, why)
else:
    # nobody must reach the folders (and the notify socket) after the drop
    os.chmod(t.tmp, 0o711)
    for name, own in (("root", False), ("nobody", True)):
        d = t.path(f"dir-{name}")
        os.mkdir(d, 0o755)
        if own:
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
        us, ms, pf = (os.path.join(d, n) for n in ("s.sock", "m.sock",
                                                     "hvproxy.pid"))
        u = Proxy(t, ["-u", "nobody", "--pidfile", pf, "--metrics",
                      f"unix:{ms}", f"unix:{us}", target.addr])
        t.check(f"8: {name}'s folder: relays after the drop (sha256)",
                unix_hash(us) == WANT, u.log())
        rc = u.stop()
        log = u.log()
        t.check(f"8: {name}'s folder: SIGTERM: exit 0", rc == 0, log)
        if own:
            left = [f for f in (us, ms, pf) if os.path.lexists(f)]
            t.check("8: nobody's folder: every file removed, no warning",
                    not left and "cannot remove" not in log,
                    f"left: {left}\n{log}")
            continue
        for f, what in ((us, "socket file"), (ms, "metrics socket file"),
                        (pf, "pid file")):
            t.check(f"8: root's folder: a warning names the {what} and why",
                    any(f in ln and "warning" in ln and "cannot remove" in ln
                        and "--user" in ln for ln in log.splitlines()), log)
        t.check("8: root's folder: the pid file is emptied",
                os.path.exists(pf) and os.path.getsize(pf) == 0)
        # ... and the next start (still root) replaces what was left.
        n, st = start_or_exit(["--pidfile", pf, "--metrics", f"unix:{ms}",
                               f"unix:{us}", target.addr])
        t.check("8: root's folder: the next start takes over the files",
                st is True and unix_hash(us) == WANT, n.log())
        n.stop()

a.stop()
target.close()
t.done()
