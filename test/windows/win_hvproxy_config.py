# SPDX-License-Identifier: MIT
"""win-hvproxy-config: hvproxy.exe under wine reads its configuration.

A config file's forwards relay; --check passes a good file and lists its
forwards; each bad file (a problem of its own) and each option Windows
has not (--pidfile, -u, --syslog, and the keys user, pidfile, syslog)
is refused with exit 2 and exactly one line on stderr naming the
problem; --log-file (or log-file =) takes the log.

    win_hvproxy_config.py --wine-run=cross/wine-run --hvproxy=PATH
"""
import os

from hvtest import Tap, free_port, wait_for, winexe, write_config
from hvtest.net import Server, echo_handler, echo_port_ok
from hvtest.wintools import READY, Proxy, one_line, text

t = Tap()
prog = winexe.setup(t, "hvproxy")
echo = Server(echo_handler)


def hvproxy(*args):
    """hvproxy.exe ARGS to the end: (exit status, stdout, stderr)."""
    r = winexe.run([prog.hvproxy] + list(args), timeout=READY)
    return r.returncode, text(r.stdout), text(r.stderr)


# ---- a good file ---------------------------------------------------------
pa, pb = free_port(), free_port()
good = t.path("good.conf")
write_config(good, f"""# two forwards
[global]
max-conns = 100
connect-timeout = 2s

[forward a]
listen = tcp:{pa}
target = {echo.addr}

[forward b]
listen = tcp:127.0.0.1:{pb}
target = {echo.addr}
idle-timeout = 1m
""")
rc, out, err = hvproxy("--check", "-c", winexe.winpath(good))
t.check("--check -c good.conf: exit 0, both forwards listed",
        rc == 0 and "configuration OK, 2 forwards" in out and
        f"a: tcp:127.0.0.1:{pa} -> {echo.addr}" in out and
        f"b: tcp:127.0.0.1:{pb} -> {echo.addr}" in out, f"rc {rc}\n{out}{err}")

p = Proxy(t, prog.hvproxy, ["-c", winexe.winpath(good)], forwards=2)
t.check("-c good.conf: forward a relays", echo_port_ok(pa, timeout=READY))
t.check("-c good.conf: forward b relays", echo_port_ok(pb, timeout=READY))
p.kill()

# ---- bad files: exit 2, one line naming the problem ----------------------
bad = [
    ("an unknown key", "[forward a]\nlisten = tcp:{p}\n"
     "target = tcp:127.0.0.1:9\nbogus = 1\n", ":4: unknown key 'bogus'"),
    ("a line without '='", "[forward a]\nlisten = tcp:{p}\n"
     "target = tcp:127.0.0.1:9\nno separator here\n", ":4: syntax error"),
    ("a bad target address", "[forward a]\nlisten = tcp:{p}\n"
     "target = vsock:99999999999\n", ":3: "),
    ("a forward without listen", "[forward a]\n"
     "target = tcp:127.0.0.1:9\n", "has no listen="),
    ("a bad number", "[global]\nmax-conns = lots\n[forward a]\n"
     "listen = tcp:{p}\ntarget = tcp:127.0.0.1:9\n",
     ":2: max-conns = lots: expected a whole number"),
    ("a bad time", "[forward a]\nlisten = tcp:{p}\n"
     "target = tcp:127.0.0.1:9\nidle-timeout = 5 minutes\n",
     ":4: idle-timeout = 5 minutes"),
    ("an unknown section", "[nonsense]\nx = 1\n[forward a]\n"
     "listen = tcp:{p}\ntarget = tcp:127.0.0.1:9\n",
     ":1: unknown section [nonsense]"),
]
for i, (what, body, want) in enumerate(bad):
    path = t.path(f"bad{i}.conf")
    write_config(path, body.format(p=free_port()))
    for mode in (["--check"], []):
        rc, out, err = hvproxy(*mode, "-c", winexe.winpath(path))
        t.check(f"{' '.join(mode + ['-c']) or '-c'} a file with {what}: "
                f"exit 2, one line on stderr with '{want}'",
                rc == 2 and one_line(err) and want in err and
                f"bad{i}.conf" in err, f"rc {rc} stderr {err!r}")

rc, out, err = hvproxy("--check", "-c", winexe.winpath(t.path("none.conf")))
t.check("--check -c a missing file: exit 2, one line naming it",
        rc == 2 and one_line(err) and "none.conf" in err,
        f"rc {rc} stderr {err!r}")

# ---- options Windows has not -------------------------------------------
refused = [
    (["--pidfile", winexe.winpath(t.path("x.pid"))], ("pidfile",)),
    (["-u", "nobody"], ("-u", "user")),
    (["--user", "nobody"], ("user",)),
    (["--syslog"], ("syslog",)),
]
for args, names in refused:
    rc, out, err = hvproxy(*args, f"tcp:{free_port()}", echo.addr)
    t.check(f"{' '.join(args)}: exit 2, one line on stderr naming "
            f"{' or '.join(names)}",
            rc == 2 and one_line(err) and any(n in err for n in names),
            f"rc {rc} stderr {err!r}")
t.check("--pidfile: no pid file written", not os.path.exists(t.path("x.pid")))
for key, value in (("user", "nobody"),
                   ("pidfile", winexe.winpath(t.path("x.pid"))),
                   ("syslog", "yes")):
    path = t.path(f"{key}.conf")
    write_config(path, f"[global]\n{key} = {value}\n[forward a]\n"
                 f"listen = tcp:{free_port()}\ntarget = {echo.addr}\n")
    rc, out, err = hvproxy("--check", "-c", winexe.winpath(path))
    t.check(f"--check, a file with {key} = {value}: exit 2, one line "
            f"naming {key}.conf:2 and {key}",
            rc == 2 and one_line(err) and f"{key}.conf:2: {key}" in err,
            f"rc {rc} stderr {err!r}")

# ---- --log-file ----------------------------------------------------------
logf = t.path("hvproxy.log")
pl = free_port()
p = Proxy(t, prog.hvproxy, ["--log-file", winexe.winpath(logf),
                            f"tcp:{pl}", echo.addr], ready=False)


def logged():
    try:
        with open(logf, "rb") as f:
            return b"listening on" in f.read()
    except OSError:
        return False


t.check("--log-file: the log goes to the file",
        wait_for(logged, READY), p.log()[-800:])
t.check("--log-file: the forward relays", echo_port_ok(pl, timeout=READY))
p.kill()

# The same as the config file's log-file = FILE.
logf = t.path("hvproxy2.log")
pl = free_port()
conf = t.path("logfile.conf")
write_config(conf, f"[global]\nlog-file = {winexe.winpath(logf)}\n"
             f"[forward a]\nlisten = tcp:{pl}\ntarget = {echo.addr}\n")
p = Proxy(t, prog.hvproxy, ["-c", winexe.winpath(conf)], ready=False)
t.check("log-file = FILE: the log goes to the file",
        wait_for(logged, READY), p.log()[-800:])
t.check("log-file = FILE: the forward relays",
        echo_port_ok(pl, timeout=READY))
p.kill()
t.done()
