#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvproxy-mux: forwards to a VMM's hybrid vsock (target
vsock-mux:PATH:PORT) and from it (listen unix:PATH_PORT), the VMM
emulated by socat and a shell script (hvtest.vmm: no code of the
library in it), the services tcp servers on 127.0.0.1.

Host -> guest: tcp client -> hvproxy -> VMM -> the guest's service,
files both ways checked by sha256 with half-close, several connections
at once; an OK line in pieces, and stream bytes in the OK line's write
(which the client must get first). Then targets that fail: no VMM at PATH, a port nothing listens
on in the guest (the VMM closes at once), a VMM that refuses, answers
garbage or OK without a number, answers a line too long, or never
answers (connect-timeout):
each time the client is closed, hvproxy logs why (end=connect-failed or
connect-timeout) and keeps serving.

Before all that, what hvproxy refuses: listening on vsock-mux: (it
points at unix:PATH_PORT instead), a target port "any".

Guest -> host: socat plays the VMM delivering guests' connections to
hvproxy's unix:PATH_5000 listener, relayed to a tcp service, both ways
with half-close. All of them are one peer: the VMM's user (uid), so
max-conns-per-peer counts every guest of that VMM together.
"""
import os
import re
import socket
import threading

from hvtest import Tap, free_port, wait_for, write_config
from hvtest.hvproxy import Proxy, metric, metrics, run
from hvtest.net import closed_within, connect, recv_all
from hvtest.vmm import (INLINE, GuestService, Vmm, guest_dial, require,
                        sha_size)

t = Tap()
require(t)
IO = 60


def one_line(text):
    return text.count("\n") == 1 and text.endswith("\n")


# ---- what hvproxy refuses before it starts
vp = t.path("v.sock")
rc, out, err = run([f"vsock-mux:{vp}:5000", "tcp:127.0.0.1:9"])
t.check("listen on vsock-mux: (command line): exit 2, one line that "
        "names unix:PATH_5000", rc == 2 and one_line(err) and
        f"unix:{vp}_5000" in err, f"exit {rc}: {err!r}")
conf = t.path("listen.conf")
write_config(conf, f"""[forward a]
listen = vsock-mux:{vp}:5000
target = tcp:127.0.0.1:9
""")
rc, out, err = run(["--check", "-c", conf])
t.check("listen = vsock-mux: (file, --check): exit 2, one line that "
        "names the line and unix:PATH_5000",
        rc == 2 and one_line(err) and f"{conf}:2:" in err and
        f"unix:{vp}_5000" in err, f"exit {rc}: {err!r}")
rc, out, err = run(["tcp:127.0.0.1:9", f"vsock-mux:{vp}:4294967295"])
t.check("target vsock-mux:PATH:4294967295 (any): exit 2, one line about "
        "the port", rc == 2 and one_line(err) and "port" in err,
        f"exit {rc}: {err!r}")
t.check("no file was made at PATH", not os.path.exists(vp))
REPLY = os.urandom((2 << 20) + 3)
svc = GuestService(REPLY)

vmms = {m: Vmm(t, m, 5000, svc.port, name=f"{m}.sock")
        for m in ("ok", "split", "inline", "refuse", "garbage", "nonum",
                  "long", "silent")}
for m, v in vmms.items():
    t.check(f"the emulated VMM ({m}) listens", v.ready, v.log())

ports = {name: free_port() for name in
         ("good", "split", "inline", "noport", "novmm", "refuse",
          "garbage", "nonum", "long", "silent")}
mp = free_port()
host_svc = GuestService(REPLY[::-1])  # a service on the host
gbase = t.path("g.sock")
conf = t.path("mux.conf")
write_config(conf, f"""[global]
connect-timeout = 2s
metrics = 127.0.0.1:{mp}

[forward good]
listen = tcp:{ports["good"]}
target = vsock-mux:{vmms["ok"].path}:5000

[forward split]
listen = tcp:{ports["split"]}
target = vsock-mux:{vmms["split"].path}:5000

[forward inline]
listen = tcp:{ports["inline"]}
target = vsock-mux:{vmms["inline"].path}:5000

[forward nonum]
listen = tcp:{ports["nonum"]}
target = vsock-mux:{vmms["nonum"].path}:5000

[forward noport]
listen = tcp:{ports["noport"]}
target = vsock-mux:{vmms["ok"].path}:5001

[forward novmm]
listen = tcp:{ports["novmm"]}
target = vsock-mux:{t.path("none.sock")}:5000

[forward refuse]
listen = tcp:{ports["refuse"]}
target = vsock-mux:{vmms["refuse"].path}:5000

[forward garbage]
listen = tcp:{ports["garbage"]}
target = vsock-mux:{vmms["garbage"].path}:5000

[forward long]
listen = tcp:{ports["long"]}
target = vsock-mux:{vmms["long"].path}:5000

[forward silent]
listen = tcp:{ports["silent"]}
target = vsock-mux:{vmms["silent"].path}:5000

[forward fromguest]
listen = unix:{gbase}_5000
target = tcp:127.0.0.1:{host_svc.port}
max-conns-per-peer = 4
""")
rc, out, err = run(["--check", "-c", conf])
t.check("--check: the configuration is OK and shows each target as "
        "vsock-mux:PATH:PORT", rc == 0 and
        f"-> vsock-mux:{vmms['ok'].path}:5001" in out,
        f"exit {rc}: {out}{err}")
p = Proxy(t, ["-v", "-c", conf])


def roundtrip(port, data, out, i):
    """A client of hvproxy: send @data, half-close, read to the end."""
    try:
        s = connect(port, IO)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out[i] = recv_all(s, IO)
        s.close()
    except OSError as e:
        out[i] = e


def good_works(name):
    """One roundtrip through the good forward (the daemon still serves)."""
    n0 = len(svc.got)
    out = [None]
    roundtrip(ports["good"], b"still " + name.encode(), out, 0)
    return out[0] == REPLY and \
        svc.got[n0:] == [sha_size(b"still " + name.encode())]


# ---- host -> guest, several connections at once
N = 6
datas = [os.urandom((256 << 10) * (i + 1) + i) for i in range(N)]
outs = [None] * N
ths = [threading.Thread(target=roundtrip, args=(ports["good"], d, outs, i))
       for i, d in enumerate(datas)]
for th in ths:
    th.start()
for th in ths:
    th.join(IO + 10)
t.check(f"{N} connections at once through vsock-mux: each client got the "
        f"service's whole answer after its half-close (sha256)",
        all(o == REPLY for o in outs),
        [o if isinstance(o, Exception) else sha_size(o)
         for o in outs if o != REPLY])
t.check(f"{N} connections: the guest's service got each stream whole "
        f"(sha256)",
        sorted(svc.got) == sorted(sha_size(d) for d in datas),
        f"{len(svc.got)} streams: {svc.got}")
t.check(f"{N} connections: the VMM was asked for port 5000 {N} times",
        len(vmms["ok"].connects(5000)) == N, vmms["ok"].log())
t.check(f"{N} connections: logged end=done, target vsock-mux:PATH:5000",
        p.wait_log(r"conn fwd=good .*target=vsock-mux:" +
                   re.escape(vmms["ok"].path) + r":5000 .*end=done", 20,
                   count=N),
        p.log()[-1500:])

# The handshake in hvproxy's event loop, beside its other connections:
# an answer in pieces, and stream bytes in the answer's write.
for name, head in (("split", b""), ("inline", INLINE)):
    n0 = len(svc.got)
    data = os.urandom((512 << 10) + 5)
    out = [None]
    roundtrip(ports[name], data, out, 0)
    t.check(f"{name}: the client got " +
            (f"the {len(head)} bytes sent with the OK line, then " if head
             else "") + "the service's whole answer (sha256)",
            isinstance(out[0], bytes) and
            sha_size(out[0]) == sha_size(head + REPLY),
            out[0] if isinstance(out[0], Exception) else
            f"{len(out[0])} bytes, begins {out[0][:30]!r}")
    t.check(f"{name}: the guest's service got the stream whole (sha256)",
            svc.got[n0:] == [sha_size(data)], str(svc.got[n0:]))
    t.check(f"{name}: logged end=done",
            p.wait_log(r"conn fwd=%s .*end=done" % name, 20),
            p.log()[-800:])

# ---- targets that fail
cases = [
    ("noport", "nothing listens on port 5001 in the guest",
     r"end=connect-failed err=EMUX_REFUSED"),
    ("novmm", "no VMM at PATH", r"end=connect-failed err=ENOENT"),
    ("refuse", "the VMM closes without an answer",
     r"end=connect-failed err=EMUX_REFUSED"),
    ("garbage", "the VMM answers ERR",
     r"end=connect-failed err=EMUX_ANSWER"),
    ("nonum", "the VMM answers OK without a number",
     r"end=connect-failed err=EMUX_ANSWER"),
    ("long", "the VMM's answer has no newline",
     r"end=connect-failed err=EMUX_ANSWER"),
    ("silent", "the VMM never answers (connect-timeout 2s)",
     r"end=connect-timeout err=ETIMEDOUT"),
]
for name, what, logpat in cases:
    n0 = len(svc.got)
    s = connect(ports[name])
    try:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    except OSError:
        pass
    # Bounded well past the connect timeout and the VMM's own pauses;
    # a close that does not come fails here.
    ok, dt = closed_within(s, 20)
    s.close()
    t.check(f"{name} ({what}): the client is closed", ok,
            f"not closed after {dt:.1f} s")
    t.check(f"{name}: hvproxy logs the reason ({logpat})",
            p.wait_log(r"conn fwd=%s .*%s" % (name, logpat), 20),
            p.log()[-800:])
    t.check(f"{name}: nothing reached the guest's service",
            len(svc.got) == n0, str(svc.got[n0:]))
    t.check(f"{name}: hvproxy keeps serving", p.alive() and
            good_works(name), p.log()[-800:])

ms = metrics(mp)
for name in ("noport", "novmm", "refuse", "garbage", "nonum", "long"):
    v = metric(ms, "hvproxy_errors_total", forward=name, kind="connect")
    t.check(f"metrics: errors{{{name}, connect}} = 1", v == 1, str(v))

# ---- guest -> host: the VMM connects to unix:PATH_5000
gdatas = [os.urandom((128 << 10) * (i + 1)) for i in range(4)]
gouts = [None] * len(gdatas)


def dial(i):
    gouts[i] = guest_dial(gbase, 5000, gdatas[i], timeout=IO)


ths = [threading.Thread(target=dial, args=(i,)) for i in range(len(gdatas))]
for th in ths:
    th.start()
for th in ths:
    th.join(IO + 10)
t.check(f"guest -> host: {len(gdatas)} connections of the VMM at once, "
        f"socat exits 0 each time",
        all(o is not None and o.returncode == 0 for o in gouts),
        [(o.returncode, o.stderr) for o in gouts if o is not None])
t.check("guest -> host: each got the host service's whole answer after "
        "its half-close (sha256)",
        all(o is not None and o.stdout == REPLY[::-1] for o in gouts),
        [len(o.stdout) for o in gouts if o is not None])
t.check("guest -> host: the host's service got each stream whole "
        "(sha256)",
        sorted(host_svc.got) == sorted(sha_size(d) for d in gdatas),
        str(host_svc.got))
uid = os.getuid()
t.check("guest -> host: each logged end=done",
        p.wait_log(r"conn fwd=fromguest peer=\S+ .*end=done", 20,
                   count=len(gdatas)), p.log()[-1500:])

# Every guest of the VMM is one peer: the VMM's uid. Hold 4 open (the
# limit), then a fifth, whichever guest it would stand for, is closed.
held = []
for _ in range(4):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(IO)
    c.connect(f"{gbase}_5000")
    held.append(c)
extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
extra.connect(f"{gbase}_5000")
ok, dt = closed_within(extra, 20)
extra.close()
t.check("guest -> host: a fifth connection of the VMM's user is closed "
        "(max-conns-per-peer 4: all its guests are one peer)", ok,
        f"not closed after {dt:.1f} s")
t.check(f"guest -> host: logged reason=max-conns-per-peer who=\"uid "
        f"{uid}\"",
        p.wait_log(r"conn fwd=fromguest .*reason=max-conns-per-peer "
                   r".*who=\"uid %d\"" % uid,
                   20), p.log()[-800:])
for c in held:
    c.shutdown(socket.SHUT_WR)
    recv_all(c, IO)
    c.close()
# hvproxy counts them closed once their relays end, just after the
# last byte: the next connection may come a moment too soon, so retry.
last = []


def served():
    d = guest_dial(gbase, 5000, b"after", timeout=IO)
    last[:] = [d]
    return d.returncode == 0 and d.stdout == REPLY[::-1]


t.check("guest -> host: once they are closed, the VMM's next connection "
        "is served", wait_for(served, 10, step=0.2),
        f"{last[0].returncode} {last[0].stderr!r}" if last else "")

t.check("exit 0 on SIGTERM", p.stop() == 0, p.log()[-800:])
for v in vmms.values():
    v.close()
t.done()
