# SPDX-License-Identifier: MIT
"""An emulated VMM's hybrid vsock (Firecracker, Cloud Hypervisor,
vhost-device-vsock), for the tests of vsock-mux:PATH:PORT and of the
unix:PATH_PORT listeners that take a guest's connections.

The VMM is socat and a shell script (vmm.sh, beside this file), no code
of the library: socat listens on the unix socket PATH and runs vmm.sh
for each connection, which reads "CONNECT <port>", answers as its mode
says (ok, refuse, garbage, nonum, long, split, inline, silent: vmm.sh
lists them) and carries the stream on to the guest's service, a tcp
port on 127.0.0.1:

    require(t)                             # skips all without socat
    svc = GuestService(reply)              # the guest's service
    vmm = Vmm(t, "ok", 5000, svc.port)     # CONNECT 5000 -> svc
    r = hvcat("vsock-mux:" + vmm.path + ":5000", input=data)
    svc.got                                # [(sha256, size)] per stream

The other direction, a guest connecting to the host's port P: the VMM
connects to the host's unix socket PATH_P. guest_dial() plays that with
socat UNIX-CONNECT.

doc_blocks() reads the commands of a section of a document (docs/*.md)
written with the prompts "host$ " and "guest$ ", for the tests that run
them as written.
"""
import atexit
import hashlib
import http.server
import os
import re
import shlex
import shutil
import signal
import socket
import threading

from hvtest import proc
from hvtest.net import Server, recv_all
from hvtest.wait import WAIT, wait_for

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "vmm.sh")
SOURCE_DIR = os.environ.get("HVS_SOURCE_DIR", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
# The answer of the modes that accept (vmm.sh).
OK_LINE = b"OK 1073741824\n"
# The stream's first bytes in mode inline, sent with the OK line.
INLINE = b"VMM-INLINE\n"
MODES = ("ok", "refuse", "garbage", "nonum", "long", "split", "inline",
         "silent")

_groups = []  # process groups of the VMMs (socat and its children)


def _kill_groups():
    while _groups:
        pgid = _groups.pop()
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


atexit.register(_kill_groups)


def sha_size(b):
    """(sha256 hex, length) of the bytes @b."""
    return hashlib.sha256(b).hexdigest(), len(b)


def require(t):
    """Skip the whole script (Tap.skip_all) where socat, the VMM, is not
    installed."""
    if shutil.which("socat") is None:
        t.skip_all("socat is not installed (it plays the VMM)")


class GuestService(Server):
    """The guest's service behind the VMM (tcp on 127.0.0.1): reads each
    stream to its end (the client's half-close), then sends @reply and
    ends its side. .got holds sha_size() of each stream read."""

    def __init__(self, reply=b"", io=60):
        self.reply, self.io, self.got = reply, io, []
        super().__init__(self._handle)

    def _handle(self, c):
        self.got.append(sha_size(recv_all(c, self.io)))
        c.sendall(self.reply)
        c.shutdown(socket.SHUT_WR)


class HttpService:
    """A web server on 127.0.0.1:@port (a thread) answering every GET
    with @body: the "web server" of a document's recipe, for curl."""

    def __init__(self, port, body):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.body = body
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                   Handler)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Vmm(proc.Daemon):
    """socat UNIX-LISTEN:PATH,fork running vmm.sh MODE GUESTPORT TARGET
    for each connection (the script gets the accepted socket as stdin
    and stdout). .path is PATH (t.path(name) unless @path), .ready true
    once socat listens there. socat and every script it started form a
    process group of their own, killed by close() and at exit."""

    _n = [0]

    def __init__(self, t, mode, guest_port, target, path=None, name=None):
        Vmm._n[0] += 1
        n = Vmm._n[0]
        self.path = path or t.path(name or f"v{n}.sock")
        self.mode = mode
        cmd = f"sh {shlex.quote(SCRIPT)} {mode} {int(guest_port)} " \
              f"{int(target)}"
        # socat's address syntax: a backslash before a colon or comma
        # of the path, the EXEC string in double quotes (the script's
        # path has no double quote).
        sp = re.sub(r"([:,\\])", r"\\\1", self.path)
        super().__init__(
            ["socat", f"UNIX-LISTEN:{sp},fork,unlink-early",
             f'EXEC:"{cmd}",nofork'],
            t.path(f"vmm.{n}.log"), start_new_session=True)
        _groups.append(self.pid)
        self.ready = wait_for(self._listening, WAIT)

    def _listening(self):
        if not self.alive():
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # An empty CONNECT line is refused at once by vmm.sh.
            return os.path.exists(self.path) and \
                s.connect_ex(self.path) == 0
        finally:
            s.close()

    def connects(self, port=None):
        """The CONNECT lines the VMM answered in its mode (for @port)."""
        pat = r"^vmm: CONNECT (\d+): " + re.escape(self.mode) + "$"
        return [int(p) for p in re.findall(pat, self.log(), re.M)
                if port is None or int(p) == port]

    def close(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        super().close()


def guest_dial(path, port, data, timeout=30):
    """The VMM delivering a guest's connection to the host's port @port:
    socat connects to the unix socket PATH_PORT, sends @data, half-closes
    and reads to the end. A proc.run() result (stdout: what came back;
    returncode "timeout" past @timeout seconds)."""
    return proc.run(["socat", "-t", str(timeout), "-",
                     f"UNIX-CONNECT:{path}_{port}"], input=data,
                    timeout=timeout + 5)


# ---- the commands of a document's section ---------------------------

PROMPTS = {"host$ ": "host", "guest$ ": "guest"}


class Command:
    """One command of a section: .side ("host" or "guest"), .text (as
    written, without the prompt), .argv."""

    def __init__(self, side, text):
        self.side, self.text = side, text.strip()
        self.argv = shlex.split(self.text)

    def __repr__(self):
        return f"{self.side}$ {self.text}"


class Block:
    """The commands of one indented block; .title is the bold line
    (**...**) above it, else its heading."""

    def __init__(self, title):
        self.title, self.commands = title, []


def doc_section(path, heading):
    """The lines of the section "### @heading" (any heading level) of
    the document at @path, to the next heading of that level or above.
    ValueError if there is none."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"(#+) (.*)$", line)
        if m and m.group(2).strip() == heading:
            level = len(m.group(1))
            end = len(lines)
            for j in range(i + 1, len(lines)):
                m2 = re.match(r"(#+) ", lines[j])
                if m2 and len(m2.group(1)) <= level:
                    end = j
                    break
            return lines[i + 1:end]
    raise ValueError(f"{path}: no section {heading!r}")


def doc_blocks(path, heading):
    """The indented blocks of commands of a section (doc_section()), in
    order. Every indented line (four blanks) must start with a prompt of
    PROMPTS: ValueError otherwise, so that the section stays a list of
    what the tests run."""
    out, cur, title = [], None, heading
    for line in doc_section(path, heading):
        if not line.startswith("    "):
            if line.strip():
                cur = None
                m = re.match(r"\*\*(.+?)\*\*", line)
                if m:
                    title = m.group(1).rstrip(":")
            continue
        body = line[4:]
        for prompt, side in PROMPTS.items():
            if body.startswith(prompt):
                break
        else:
            raise ValueError(f"an indented line without a prompt: "
                             f"{line!r}")
        if cur is None:
            cur = Block(title)
            out.append(cur)
        cur.commands.append(Command(side, body[len(prompt):]))
    return out
