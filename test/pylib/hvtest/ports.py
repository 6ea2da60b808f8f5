# SPDX-License-Identifier: MIT
"""free_port(): a loopback TCP port for a listener that starts later.

Picking a port with bind(port 0) and closing is racy: the kernel may hand
the same port to the next bind(0) of this or another test, or to a client
socket, before the listener takes it (two forwards of one test once got
the same port; a metrics endpoint once found its port taken). So a port
is taken outside the kernel's ephemeral range, never twice in this
process, reserved against the other test processes by an flock on a
file in /tmp/hvtest-ports (held until this process ends), and checked
free by a bind.
"""
import fcntl
import os
import random
import socket
import tempfile

_PORTS_DIR = os.path.join(tempfile.gettempdir(), "hvtest-ports")
_port_locks = {}  # port -> the locked file that reserves it (or None)
_port_rng = random.Random()  # its own: a test may seed the shared one


def _port_range():
    """Ports below the kernel's ephemeral range: no client socket and no
    bind() to port 0, of any process, is given one of them."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (max(1024, low - 12000), low - 1) if low > 3072 else (None, None)


def _reserve(port):
    """Hold an flock on a file named after @port until this process ends,
    so that tests running beside this one never pick it."""
    try:
        if not os.path.isdir(_PORTS_DIR):
            os.makedirs(_PORTS_DIR, exist_ok=True)
            os.chmod(_PORTS_DIR, 0o1777)  # any user's tests may share it
        fd = os.open(os.path.join(_PORTS_DIR, str(port)),
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        # No shared folder: the other checks still hold, and the port is
        # still never given twice in this process.
        _port_locks[port] = None
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _port_locks[port] = fd
    return True


def free_port(host="127.0.0.1"):
    """A TCP port on @host (loopback) that is free now, below the
    ephemeral range, never returned before in this process and reserved
    against the other processes using this module."""
    lo, hi = _port_range()
    for _ in range(2000 if lo is not None else 0):
        port = _port_rng.randint(lo, hi)
        if port in _port_locks or not _reserve(port):
            continue
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return port
        except OSError:
            continue  # in use by something else: keep it reserved, skip it
        finally:
            s.close()
    # No room below the ephemeral range: the old way.
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port
