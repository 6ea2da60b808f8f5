# SPDX-License-Identifier: MIT
"""hvproxy-service: running as a service. Socket activation (LISTEN_FDS,
fd:3), readiness and watchdog notification (NOTIFY_SOCKET), --pidfile
(written, locked against a second instance, removed on exit), --user (drops
root after binding, when run as root), and logging to syslog."""
import os
import pwd
import socket

from hvtest import Tap, free_port
from hvtest.hvproxy import HVPROXY, Proxy
from hvtest.net import Server, echo_handler, echo_port_ok


t = Tap()
echo = Server(echo_handler)

# ---- socket activation: the listening socket arrives as fd 3.
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
port = ls.getsockname()[1]
lfd = ls.fileno()


def as_fd3():
    os.dup2(lfd, 3)


p = Proxy(t,
          ["fd:3", echo.addr], preexec_fn=as_fd3, pass_fds=(lfd, 3),
          argv0=["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"',
                 HVPROXY])
ls.close()  # hvproxy holds the only copy now
t.check("socket activation: READY=1 sent", True)
t.check("socket activation: fd:3 relays", echo_port_ok(port))
t.check("READY=1 carries a STATUS and MAINPID",
        any("STATUS=" in m and f"MAINPID={p.pid}" in m for m in p.messages),
        str(p.messages))
t.check("exit 0 on SIGTERM", p.stop() == 0)

# ---- watchdog pings when WATCHDOG_USEC asks for them.
port = free_port()
p = Proxy(t, [f"tcp:{port}", echo.addr],
          env={"WATCHDOG_USEC": "200000"})
p.messages.clear()
t.check("WATCHDOG=1 pings every WATCHDOG_USEC/2",
        p.wait_notify("WATCHDOG=1", 2))
p.stop()

# ---- pidfile.
port, port2 = free_port(), free_port()
pidfile = t.path("hvproxy.pid")
p = Proxy(t, ["--pidfile", pidfile, f"tcp:{port}", echo.addr])
t.check("--pidfile holds the pid",
        open(pidfile).read().strip() == str(p.pid))
q = Proxy(t, ["--pidfile", pidfile, f"tcp:{port2}", echo.addr], ready=False)
rc = q.wait(5)
t.check("a second instance with the same pidfile: exit 1, names the pid",
        rc == 1 and f"already running (pid {p.pid})" in q.log(), q.log())
t.check("... and the first one keeps the file",
        open(pidfile).read().strip() == str(p.pid))
t.check("exit 0 on SIGTERM, pidfile removed",
        p.stop() == 0 and not os.path.exists(pidfile))
# A pidfile that is a symbolic link (say to /etc/passwd, planted in a
# folder others can write to) is refused, its target left alone.
victim = t.path("victim")
with open(victim, "w") as f:
    f.write("precious\n")
os.symlink(victim, pidfile)
q = Proxy(t, ["--pidfile", pidfile, f"tcp:{port2}", echo.addr], ready=False)
rc = q.wait(5)
t.check("a pidfile that is a symbolic link: exit 1, target untouched",
        rc == 1 and "symbolic link" in q.log() and
        open(victim).read() == "precious\n", q.log())
os.unlink(pidfile)
os.link(victim, pidfile)
q = Proxy(t, ["--pidfile", pidfile, f"tcp:{port2}", echo.addr], ready=False)
rc = q.wait(5)
t.check("a pidfile with a second hard link: exit 1, untouched",
        rc == 1 and "one name" in q.log() and
        open(victim).read() == "precious\n", q.log())
os.unlink(pidfile)

# ---- --user: bind as root, then run as nobody.
if os.geteuid() != 0:
    t.skip("--user nobody", "not running as root")
else:
    nobody = pwd.getpwnam("nobody")
    # The notify socket must be reachable by nobody (as systemd's is).
    os.chmod(t.tmp, 0o755)
    port = free_port()
    p = Proxy(t, ["-v", "--user", "nobody", f"tcp:{port}", echo.addr])
    status = open(f"/proc/{p.pid}/status").read()
    uids = [ln.split()[1:] for ln in status.splitlines()
            if ln.startswith(("Uid:", "Gid:"))]
    t.check("--user nobody: real, effective, saved and fs uid are nobody's",
            all(u == str(nobody.pw_uid) for u in uids[0]), str(uids))
    t.check("--user nobody: gids are nobody's group",
            all(g == str(nobody.pw_gid) for g in uids[1]), str(uids))
    groups = [ln for ln in status.splitlines() if ln.startswith("Groups:")]
    t.check("--user nobody: no supplementary groups of root",
            groups and "0" not in groups[0].split()[1:], str(groups))
    t.check("--user nobody: still relays", echo_port_ok(port))
    t.check("exit 0 on SIGTERM", p.stop() == 0)

# ---- syslog: messages go to syslog, not to stderr.
port = free_port()
p = Proxy(t, ["-v", "--syslog", f"tcp:{port}", echo.addr])
echo_port_ok(port)
p.stop()
t.check("--syslog: nothing on stderr", p.log() == "", p.log())
t.done()
