# SPDX-License-Identifier: MIT
"""hvproxy-cli: --help, --version, usage errors (exit 2, naming the bad
argument), --check, and config files with errors: every problem is
reported as FILE:LINE: problem, nothing listens, exit 2; a listener that
cannot bind is a runtime failure (exit 1) and no other is left open."""
import os
import re
import socket

from hvtest import Tap, free_port, write_config
from hvtest.hvproxy import run

t = Tap()

rc, out, err = run(["--help"])
t.check("--help: exit 0, synopsis on stdout", rc == 0 and
        out.startswith("usage: hvproxy") and "LISTEN" in out.upper() and
        "--max-conns" in out and "--drain-timeout" in out, out[:200])
rc, out, err = run(["--version"])
t.check("--version: exit 0, 'hvproxy VERSION'", rc == 0 and
        re.match(r"hvproxy \d+\.\d+\.\d+ ", out), out)

usage = [
    ([], "nothing to forward"),
    (["tcp:8080"], "'tcp:8080' has no target"),
    (["tcp:99999", "vsock:80"], "bad address 'tcp:99999': port number out "
     "of range (at '99999')"),
    (["tcp:8080", "vsock:host:x"], "target address (argument 2): bad "
     "address 'vsock:host:x'"),
    (["stdio", "tcp:80"], "stdio cannot listen"),
    (["tcp:8080", "fd:3"], "fd cannot be a target"),
    (["--idle-timeout", "5x", "tcp:1", "tcp:2"], "--idle-timeout '5x': "
     "unknown unit"),
    (["--connect-timeout", "0", "tcp:1", "tcp:2"], "--connect-timeout '0': "
     "duration must be more than 0"),
    (["--buffer", "1", "tcp:1", "tcp:2"],
     "--buffer '1': size is too small (at least 4k)"),
    (["--max-conns", "-3", "tcp:1", "tcp:2"], "--max-conns '-3': expected a "
     "whole number"),
    (["--max-conns-per-peer", "x", "tcp:1", "tcp:2"],
     "--max-conns-per-peer 'x': expected a whole number"),
    (["--max-conns-per-peer", "1000001", "tcp:1", "tcp:2"],
     "--max-conns-per-peer '1000001': number is too large (0 to 1000000)"),
    (["-q", "-v", "tcp:1", "tcp:2"], "cannot use -q and -v"),
    (["--bogus", "tcp:1", "tcp:2"], "bogus"),
    (["--allow", "cid:3", "tcp:1", "tcp:2"], "is a CID, which can never "
     "match a peer of a tcp listener"),
    (["--allow", "10.0.0.0/33", "tcp:1", "tcp:2"], "bad prefix length"),
    (["--allow", "nonsense", "tcp:1", "tcp:2"], "'nonsense' is not a CID"),
    (["tcp:1", "tcp:2", "tcp:1", "tcp:3"], "is already the listen address"),
    (["fd:9", "tcp:2"], "fd:9 is not an open descriptor"),
    (["hvsock:wsl:80", "tcp:2"], "hvsock:wsl: listens on a Windows host"),
    (["tcp:1", "hvsock:children:80"], "target: hvsock:children names no "
     "single VM to connect to (it is for listening; expected a VM id, "
     "parent or wsl)"),
    (["tcp:1", "hvsock:00000000-0000-0000-0000-000000000000:80"],
     "target: hvsock:wildcard names no single VM to connect to"),
    (["--user", "no-such-user-hvp", "tcp:1", "tcp:2"], "no such user"),
    (["--metrics", "vsock:5", "tcp:1", "tcp:2"], "metrics:"),
    (["--log-file", "", "tcp:1", "tcp:2"], "--log-file: empty"),
    (["--control", "12", "reload"], "--control is for Windows"),
]
for args, want in usage:
    rc, out, err = run(args)
    t.check(f"usage error {' '.join(args) or '(none)'}: exit 2, "
            f"says '{want}'", rc == 2 and want in err,
            f"rc={rc} stderr={err.strip()[:300]}")

# --check: validates and exits, with the same messages.
rc, out, err = run(["--check", "tcp:8080", "vsock:8080",
                    "vsock:5000", "tcp:127.0.0.1:22"])
t.check("--check on good forwards: exit 0, lists them", rc == 0 and
        "tcp:127.0.0.1:8080 -> vsock:2:8080" in out and
        "vsock:any:5000 -> tcp:127.0.0.1:22" in out, out + err)

good = t.path("good.conf")
write_config(good, """# a good one
[global]
max-conns = 100
connect-timeout = 500ms
idle-timeout = 10m
buffer = 1m
drain-timeout = 0
log-level = info
syslog = no
wsl-poll = 30s

[forward web]
listen = tcp:8080
target = vsock:8080
allow = 127.0.0.1, ::1, 10.0.0.0/8 ; inline comment
max-conns = 10

[forward guest-ssh]
listen = vsock:2222
target = tcp:127.0.0.1:22
allow = cid:2, 3, 12345678-1234-1234-1234-123456789abc
connect-timeout = 2s
""")
rc, out, err = run(["--check", "-c", good])
t.check("--check -c good.conf: exit 0, 2 forwards", rc == 0 and
        "configuration OK, 2 forwards" in out and
        "web: tcp:127.0.0.1:8080 -> vsock:2:8080" in out, out + err)
t.check("--check shows what each forward gets after the merge",
        "  web: tcp:127.0.0.1:8080 -> vsock:2:8080\n"
        "      max-conns 10, max-conns-per-peer 0 (none)\n"
        "      connect-timeout 500ms, idle-timeout 10m, buffer 1m\n"
        "      allow: 127.0.0.1/32, ::1/128, 10.0.0.0/8\n" in out and
        "  guest-ssh: vsock:any:2222 -> tcp:127.0.0.1:22\n"
        "      max-conns 0 (only the global limit), "
        "max-conns-per-peer 0 (none)\n"
        "      connect-timeout 2s, idle-timeout 10m, buffer 1m\n"
        "      allow: cid:2, cid:3, 12345678-1234-1234-1234-123456789abc\n"
        in out and
        "  global: max-conns 100, drain-timeout 0\n"
        "      log-level info, syslog no, metrics -\n" in out, out)
rc, out, err = run(["--check", "--allow", "user:root, uid:1000",
                    "unix:/nonexistent/hvproxy-cli.sock", "tcp:127.0.0.1:9"])
t.check("--check shows a unix listener's users as uids (user:root: uid:0)",
        rc == 0 and "      allow: uid:0, uid:1000\n" in out, out + err)
rc, out, err = run(["--check", "-c", good, "--idle-timeout", "90s",
                    "--max-conns-per-peer", "5"])
t.check("--check: the command line overrides [global] for every forward",
        rc == 0 and out.count("max-conns-per-peer 5\n") == 2 and
        out.count("idle-timeout 90s,") == 2, out + err)

bad = t.path("bad.conf")
write_config(bad, """[global]
max-conns = lots
idle-timeout = 5 minutes
colour = blue

[forward web]
listen = tcp:8080
target = vsock:99999999999
allow = 10.0.0.0/8

[forward web]
listen = tcp:8081

[forward ssh]
target = tcp:22
bogus line without a separator

[forward vs]
listen = vsock:5000
target = tcp:80
allow = 192.168.0.0/16

[forward dup]
listen = vsock:any:5000
target = tcp:81

[nonsense]
x = 1

[forward bad name!]
listen = tcp:1
""")
rc, out, err = run(["--check", "-c", bad])
lines = err.strip().splitlines()
expect = [
    (2, "max-conns = lots: expected a whole number"),
    (3, "idle-timeout = 5 minutes: "),
    (4, "unknown key 'colour' in [global]"),
    (8, "target: bad address 'vsock:99999999999'"),
    (11, "[forward web] is defined twice (first at line 6)"),
    (14, "[forward ssh] has no listen="),
    (16, "syntax error"),
    (21, "[forward vs] allow: '192.168.0.0/16' is an IP network, which can "
         "never match a peer of a vsock listener"),
    (24, "[forward dup] listen: vsock:any:5000 is already the listen "
         "address of forward vs"),
    (27, "unknown section [nonsense]"),
    (30, "[forward bad name!]: a forward needs a name"),
]
t.check("a bad config: exit 2", rc == 2, f"rc={rc}")
for line, msg in expect:
    pat = f"{bad}:{line}: "
    t.check(f"reported as {bad.split('/')[-1]}:{line}: {msg}",
            any(pat in ln and msg in ln for ln in lines),
            "\n".join(lines))
t.check("errors come in line order",
        [int(m) for m in re.findall(r"\.conf:(\d+):", err)] ==
        sorted(int(m) for m in re.findall(r"\.conf:(\d+):", err)))

rc, out, err = run(["--check", "-c", t.path("missing.conf")])
t.check("a missing config file: exit 2, says so", rc == 2 and
        "missing.conf: cannot open: No such file" in err, err)
long = t.path("long.conf")
write_config(long, "[forward x]\nlisten = unix:/" + "a" * 300 + "\n")
rc, out, err = run(["--check", "-c", long])
t.check("an over-long line: FILE:2: line is too long", rc == 2 and
        f"{long}:2: line is too long" in err, err)

# Config file permissions (SECURITY.md): never writable by every user;
# under root, owned by root and writable by no other group.
perm = t.path("perm.conf")
write_config(perm, f"[forward p]\nlisten = tcp:{free_port()}\n"
             "target = tcp:127.0.0.1:9\n")
os.chmod(perm, 0o644)
rc, out, err = run(["--check", "-c", perm])
t.check("a config file of mode 0644: accepted", rc == 0, err)
os.chmod(perm, 0o666)
rc, out, err = run(["--check", "-c", perm])
t.check("a world-writable config file: refused, exit 2",
        rc == 2 and "refused: the file is writable by every user" in err,
        f"rc={rc} {err}")
os.chmod(perm, 0o644)
if os.geteuid() == 0:
    os.chown(perm, 65534, 0)
    rc, out, err = run(["--check", "-c", perm])
    t.check("as root, a config file owned by another user: refused",
            rc == 2 and "belongs to uid 65534" in err, f"rc={rc} {err}")
    os.chown(perm, 0, 65534)
    os.chmod(perm, 0o664)
    rc, out, err = run(["--check", "-c", perm])
    t.check("as root, a config file writable by another group: refused",
            rc == 2 and "writable by group 65534" in err, f"rc={rc} {err}")
    os.chown(perm, 0, 0)
    rc, out, err = run(["--check", "-c", perm])
    t.check("as root, a config file writable by group root: accepted",
            rc == 0, err)
else:
    t.skip("as root, a config file owned by another user: refused",
           "not root")

# Nothing listens when anything is wrong.
p1 = free_port()
rc, out, err = run([f"tcp:{p1}", "tcp:127.0.0.1:9", "tcp:2", "vsock:x"])
t.check("one bad forward: exit 2 before anything listens", rc == 2)
# A port in use: runtime failure, and no listener left behind.
blocker = socket.socket()
blocker.bind(("127.0.0.1", 0))
blocker.listen(1)
busy = blocker.getsockname()[1]
rc, out, err = run([f"tcp:{p1}", "tcp:127.0.0.1:9", f"tcp:{busy}",
                    "tcp:127.0.0.1:9"])
t.check("a port in use: exit 1, names it", rc == 1 and
        f"cannot listen on tcp:127.0.0.1:{busy}" in err, err)
# --log-file: opened before anything listens; one line per record.
logf = t.path("hvproxy.log")
rc, out, err = run(["--log-file", logf, f"tcp:{busy}", "tcp:127.0.0.1:9"])
logged = open(logf).read() if os.path.exists(logf) else ""
t.check("--log-file: the error goes to the file, with time and pid",
        rc == 1 and "cannot listen" not in err and
        re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ hvproxy\[\d+\]: "
                  r"error: forward .* cannot listen on "
                  rf"tcp:127.0.0.1:{busy}: ", logged, re.M),
        f"rc={rc} err={err} log={logged}")
rc, out, err = run(["--log-file", t.path("no/such/dir/x.log"), "tcp:1",
                    "tcp:2"])
t.check("--log-file in a missing folder: exit 1, names it", rc == 1 and
        "log-file" in err and "no/such/dir/x.log" in err, f"rc={rc} {err}")
blocker.close()
t.done()
