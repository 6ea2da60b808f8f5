# SPDX-License-Identifier: MIT
"""hvproxy-forwards: several forwards at once, from the command line and
from a config file: tcp -> tcp, tcp -> unix, unix -> tcp; transfers in both
directions with half-close run concurrently and arrive byte-exact."""
import os
import socket
import threading

from hvtest import Tap, free_port, sha256_bytes, write_config
from hvtest.hvproxy import Proxy
from hvtest.net import (HashServer, Server, echo_handler, hash_roundtrip,
                        recv_all)

t = Tap()
hs = HashServer()
hs_unix = HashServer(unix=t.path("hash.sock"))
echo = Server(echo_handler)

data = [os.urandom(2 * 1024 * 1024 + i) for i in range(3)]


def unix_hash_roundtrip(path, payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    got = []
    th = threading.Thread(target=lambda: got.append(recv_all(s, 30)))
    th.start()
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    th.join(30)
    s.close()
    return got[0] if got else None


def answer(payload):
    """What the HashServer answers to @payload."""
    return f"{sha256_bytes(payload)} {len(payload)}"


def exercise(label, p1, p2, upath):
    results = {}

    def job(key, fn):
        try:
            results[key] = fn()
        except OSError as e:
            results[key] = e

    jobs = [
        ("tcp->tcp", lambda: hash_roundtrip(p1, data[0])),
        ("tcp->unix", lambda: hash_roundtrip(p2, data[1])),
        ("unix->tcp echo", lambda: unix_hash_roundtrip(upath, data[2])),
        ("tcp->tcp #2", lambda: hash_roundtrip(p1, data[1])),
    ]
    ths = [threading.Thread(target=job, args=j) for j in jobs]
    for th in ths:
        th.start()
    for th in ths:
        th.join(60)
    t.check(f"{label}: tcp -> tcp, 2 MiB up, hash back",
            results.get("tcp->tcp") == answer(data[0]),
            repr(results.get("tcp->tcp")))
    t.check(f"{label}: second connection on the same forward",
            results.get("tcp->tcp #2") == answer(data[1]),
            repr(results.get("tcp->tcp #2")))
    t.check(f"{label}: tcp -> unix, 2 MiB up, hash back",
            results.get("tcp->unix") == answer(data[1]),
            repr(results.get("tcp->unix")))
    r = results.get("unix->tcp echo")
    t.check(f"{label}: unix -> tcp echo, 2 MiB both ways at once",
            isinstance(r, bytes) and sha256_bytes(r) == sha256_bytes(data[2]),
            repr(r)[:100] if not isinstance(r, bytes) else f"{len(r)} bytes")


# 1. Command line: three LISTEN TARGET pairs.
p1, p2 = free_port(), free_port()
upath = t.path("in.sock")
p = Proxy(t, [f"tcp:{p1}", hs.addr, f"tcp:127.0.0.1:{p2}", hs_unix.addr,
              f"unix:{upath}", echo.addr])
exercise("command line", p1, p2, upath)
t.check("the unix listener's socket file exists", os.path.exists(upath))
t.check("exit 0 on SIGTERM", p.stop() == 0, p.log())
t.check("the unix socket file is removed on exit",
        not os.path.exists(upath))

# 2. The same from a config file.
p1, p2 = free_port(), free_port()
upath = t.path("in2.sock")
conf = t.path("fwd.conf")
write_config(conf, f"""# three forwards
[global]
connect-timeout = 2s
buffer = 64k

[forward hash-tcp]
listen = tcp:{p1}
target = {hs.addr}

[forward hash-unix]
listen = tcp:127.0.0.1:{p2}
target = {hs_unix.addr}
max-conns = 10

[forward echo]
listen = unix:{upath}
target = {echo.addr}
""")
p = Proxy(t, ["-c", conf])
exercise("config file", p1, p2, upath)

# A small request/response with half-close: the answer comes only after
# the client's EOF went through the relay.
r = hash_roundtrip(p1, b"x")
t.check("1-byte request, response after half-close",
        r == f"{sha256_bytes(b'x')} 1", repr(r))
r = hash_roundtrip(p1, b"")
t.check("empty request (immediate half-close), response still arrives",
        r == f"{sha256_bytes(b'')} 0", repr(r))
t.check("exit 0 on SIGTERM", p.stop() == 0, p.log())
t.done()
