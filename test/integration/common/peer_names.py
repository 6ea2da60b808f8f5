#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""common-peer-names: a unix client names its own socket (it may bind it
to any path before it connects, or to any abstract name, NULs included),
so its name is the peer's word, not ours. hvproxy -v and hvcat -l -v log
it, and hvcat hands it to -e and -c programs in HVCAT_PEER: always
escaped, one word on one line (printable ASCII as is, the space, '"',
'\\' and every other byte as \\xNN), never a raw newline or terminal
escape that could forge a log line or reach a child's shell script.

    peer_names.py HVCAT HVPROXY

Unix sockets in the test's private folder and abstract names only.
"""
import os
import socket
import sys

import hvtest.hvcat as hc
import hvtest.hvproxy as hp
from hvtest import Tap, wait_for
from hvtest.net import Server, echo_handler, echo_ok

hc.HVCAT = os.path.abspath(sys.argv[1])
hp.set_program(sys.argv[2])

t = Tap(prefix="peer-names.")
FORGED = "hvproxy: conn fwd=forged peer=tcp:10.0.0.1:1 end=done"
# A bound path that ends the line, writes a whole fake one, and carries a
# terminal escape (erase the line, red) and a quote and a space.
EVIL = t.path("c\n" + FORGED + "\n\x1b[2K\x1b[31m\"x y")
EVIL_ESC = (t.tmp + "/c\\x0a" + FORGED.replace(" ", "\\x20") +
            "\\x0a\\x1b[2K\\x1b[31m\\x22x\\x20y")
# An abstract name with a NUL and a newline in it.
ABSTRACT = f"\0hvtest-{os.getpid()}\0\nfake".encode()
ABSTRACT_ESC = f"unix:@hvtest-{os.getpid()}\\x00\\x0afake"


def client(target, bind):
    """A unix client bound to @bind (a path or bytes for an abstract name)
    that connects to @target and exchanges one echo."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    if isinstance(bind, str) and os.path.exists(bind):
        os.unlink(bind)  # bound before, by the other tool's client
    s.bind(bind)
    s.connect(target)
    return s


def clean(text):
    """(ok, why): no raw control byte (ESC, CR, ...) in @text, and no line
    of the forged kind."""
    bad = sorted({c for c in text if ord(c) < 0x20 and c != "\n"})
    if bad:
        return False, f"raw control bytes {bad!r}"
    if any(line.startswith(FORGED) or line.startswith(
            "hvtest-") or line.startswith("fake")
           for line in text.split("\n")):
        return False, "a line of the client's own"
    return True, ""


# ---- hvproxy -v, a unix listener relaying to an echo server.
echo = Server(echo_handler)
lpath = t.path("hvproxy.sock")
p = hp.Proxy(t, ["-v", f"unix:{lpath}", echo.addr])
s = client(lpath, EVIL)
t.check("hvproxy: the client with a forged path is relayed", echo_ok(s))
s.close()
s = client(lpath, ABSTRACT)
t.check("hvproxy: the client with an abstract name is relayed", echo_ok(s))
s.close()
t.check("hvproxy: both connections logged",
        p.wait_log(r"^hvproxy: conn fwd=\S+ peer=unix:\S+ .*end=done", 20,
                   count=2), p.log()[-1500:])
log = p.log()
ok, why = clean(log)
t.check("hvproxy: no raw newline or escape from the peer in the log", ok,
        f"{why}\n{log!r}")
t.check("hvproxy: the bound path is logged escaped, as one word",
        f"peer=unix:{EVIL_ESC} target=" in log, f"{EVIL_ESC}\n{log!r}")
t.check("hvproxy: the abstract name is logged escaped, NUL included",
        f"peer={ABSTRACT_ESC} target=" in log, f"{ABSTRACT_ESC}\n{log!r}")
p.stop()

# ---- hvcat -l -v -k -c: the log and HVCAT_PEER.
out = t.path("peer.out")
hpath = t.path("hvcat.sock")
lst = hc.Listener(t, ["-k", "-c", f'printf %s "$HVCAT_PEER" >> {out}; '
                      f'printf "\\n" >> {out}; cat'], addr=f"unix:{hpath}")
t.check("hvcat: listening", lst.addr is not None, lst.log())
for bind in (EVIL, ABSTRACT):
    s = client(hpath, bind)
    what = "path" if bind is EVIL else "abstract name"
    t.check(f"hvcat -c: the client with a forged {what} is served",
            echo_ok(s))
    s.close()
got = wait_for(lambda: os.path.exists(out) and
               open(out, "rb").read().count(b"\n") >= 2 and
               open(out, "rb").read())
lines = (got or b"").decode("ascii", "replace").split("\n")
t.check("hvcat: HVCAT_PEER is the escaped path, one line, no control byte",
        len(lines) == 3 and lines[0] == f"unix:{EVIL_ESC}", repr(got))
t.check("hvcat: HVCAT_PEER of the abstract name is escaped, NUL included",
        len(lines) == 3 and lines[1] == ABSTRACT_ESC, repr(got))
t.check("hvcat: both connections logged",
        lst.wait_log(r"^hvcat: connection from unix:\S+$", 10, count=2),
        lst.log())
log = lst.log()
ok, why = clean(log)
t.check("hvcat: no raw newline or escape from the peer in the log", ok,
        f"{why}\n{log!r}")
t.check("hvcat: the log names the peer as HVCAT_PEER does",
        f"connection from unix:{EVIL_ESC}\n" in log and
        f"connection from {ABSTRACT_ESC}\n" in log, repr(log))
lst.kill()

t.done()
