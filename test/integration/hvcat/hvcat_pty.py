#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvcat-pty: an interactive session on a terminal, as a user types it.

A remote shell served by `hvcat -l -c 'exec sh 2>&1'`; the client hvcat
runs on a pseudo-terminal: commands typed, their output seen, the remote
shell's exit, Ctrl-D, Ctrl-C, the terminal's blocking mode given back,
and the progress meter drawn on the terminal.
"""
import os
import signal
import sys
import time

from hvtest import Tap
from hvtest.hvcat import HVCAT, Listener, Term, exited

t = Tap()
PY = sys.executable or "/usr/bin/python3"




def remote_shell():
    return Listener(t, ["-c", "exec /bin/sh 2>&1"])


# 1. Commands typed on the terminal run remotely; after the remote shell
#    exits, hvcat waits for the user's Ctrl-D (half-close, default).
lst = remote_shell()
term = Term([HVCAT, lst.tcp])
term.type("echo hello-$((6*7))\n")
t.check("typed command runs remotely, output shown",
        term.expect("hello-42"), term.buf)
term.type("echo $((1+2))-three\n")
t.check("a second command, same session", term.expect("3-three"), term.buf)
term.type("exit\n")
t.check("remote shell exited, the listener with it",
        lst.wait() == 0, lst.log())
time.sleep(0.3)
t.check("default: hvcat still reads the terminal "
        "after the peer closed (half-close)", term.wait(0.3) is None)
term.type("\x04")
st = term.wait()
t.check("Ctrl-D ends it: exit 0", exited(st, 0), f"status {st} {term.buf!r}")
term.close()
lst.close()

# 2. -N: the remote shell's exit ends the session by itself.
lst = remote_shell()
term = Term([HVCAT, "-N", lst.tcp])
term.type("echo rea''dy\n")  # the output differs from the echo
term.expect("ready")
term.type("exit\n")
st = term.wait()
t.check("-N: the peer's close ends hvcat, exit 0",
        exited(st, 0), f"status {st} {term.buf!r}")
term.close()
lst.close()

# 3. Ctrl-C: SIGINT from the terminal; hvcat dies by it.
lst = remote_shell()
term = Term([HVCAT, lst.tcp])
term.type("echo rea''dy\n")  # the output differs from the echo
term.expect("ready")
term.type("\x03")
st = term.wait()
t.check("Ctrl-C: hvcat ends by SIGINT",
        st is not None and os.WIFSIGNALED(st) and
        os.WTERMSIG(st) == signal.SIGINT, f"status {st} {term.buf!r}")
term.close()
lst.close()

# 4. The terminal is blocking again after hvcat (the relay made it
#    non-blocking while it ran).
lst = remote_shell()
check = ("import fcntl, os; fl = fcntl.fcntl(0, fcntl.F_GETFL); "
         "print('NONBLOCK', fl & os.O_NONBLOCK)")
term = Term(["/bin/sh", "-c", f"'{HVCAT}' -N {lst.tcp}; '{PY}' -c \"{check}\""])
term.type("exit\n")
t.check("terminal left in blocking mode after hvcat",
        term.expect("NONBLOCK 0") and exited(term.wait(), 0), term.buf)
term.close()
lst.close()

# 5. --progress on a terminal: drawn in place, ends with a final line.
lst = Listener(t, [])
term = Term(["/bin/sh", "-c",
             f"head -c 2097152 /dev/zero | '{HVCAT}' --progress {lst.tcp}"])
st = term.wait()
out = term.buf.decode("utf-8", "replace")
t.check("--progress on a terminal: meter redrawn with \\r, final line",
        exited(st, 0) and "\rhvcat: sent 2.0 MiB" in out and "(done)" in out,
        repr(out))
term.close()
lst.close()

t.done()
