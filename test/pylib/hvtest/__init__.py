# SPDX-License-Identifier: MIT
"""hvtest: the one Python library of libhvsock's tests and benchmark.

Found through PYTHONPATH, never through sys.path edits in a script:
meson's test environment sets it (test/meson.build), and so do the
wrappers (bench/run.sh, test/vm/lib.sh). By hand:

    PYTHONPATH=test/pylib /usr/bin/python3 test/hardening/soak.py ...

Standard library only (the scripts run under Debian's /usr/bin/python3,
also inside the test VM, where the source tree is the host's, read-only).

Generic modules, re-exported here:

    tap      Tap: the TAP writer (check, skip, todo, note, done)
    wait     wait_for: the one bounded wait
    files    sha256_bytes, sha256_file, mkrand, write_config
    ports    free_port: a loopback port for a listener started later
    proc     Daemon (a background process, its log, its end), run,
             stop, raise_nofile; every process is killed when the
             script exits
    procinfo what /proc says of a process: CPU, RSS/PSS, descriptors
    net      loopback peers on threads (Server, HashServer, ...) and
             socket helpers (connect, echo_ok, read_outcome, ...)
    loopserver  LoopServer and friends: many peers on one selector thread

Tool modules (import them by name; they read the program's path from
the command line or the environment when imported):

    hvtest.hvproxy   HVPROXY, Proxy (a Daemon with sd_notify), metrics
    hvtest.hvcat     HVCAT, Listener (a Daemon), Term (a pty), hvcat()
    hvtest.vmm       Vmm (a VMM's hybrid vsock socket played by socat
                     and vmm.sh), GuestService, HttpService,
                     guest_dial(), doc_blocks() (a document's commands)

The Windows programs under wine (test/windows; import them by name):

    hvtest.winexe    setup() (the programs' paths, a booted prefix),
                     WinDaemon (a Daemon), run(), start(), winpath(),
                     win_pid(); each program's process tree is killed
    hvtest.wintools  Proxy (hvproxy.exe), Listener (hvcat.exe -l),
                     control() (hvproxy --control PID reload|stop)
"""
from hvtest.files import mkrand, sha256_bytes, sha256_file, write_config
from hvtest.ports import free_port
from hvtest.proc import Daemon, raise_nofile, run, stop
from hvtest.tap import Tap
from hvtest.wait import WAIT, wait_for

__all__ = ["Daemon", "Tap", "WAIT", "free_port", "mkrand", "raise_nofile",
           "run", "sha256_bytes", "sha256_file", "stop", "wait_for",
           "write_config"]
