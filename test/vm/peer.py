#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""peer.py - an independent AF_VSOCK peer for the libhvsock VM tests.

    peer.py listen PORT  [options]     accept --count connections on any:PORT
    peer.py connect CID PORT [options] connect to CID:PORT
    peer.py blackhole CID [--ready F]  a vsock CID that never answers (VM only)
    peer.py local-cid                  print IOCTL_VM_SOCKETS_GET_LOCAL_CID

What a connection does (--order):
    send-first  send --send, shutdown(SHUT_WR), then read until EOF into
                --recv (the default for connect)
    recv-first  read until EOF into --recv, then send --send and
                shutdown(SHUT_WR) (the default for listen: a request/response
                server that answers only after the client's half-close)
    duplex      send and receive at the same time; SHUT_WR after sending
    echo        send back whatever arrives; SHUT_WR after EOF
--send/--recv take a file name or '-' (stdin/stdout); without --send nothing
is sent, without --recv what arrives is counted and hashed, then dropped.

Results go to stderr as one line per direction, for the job to compare:
    peer: sent 8388608 sha256=...      peer: recv 8388608 sha256=...
Exit: 0 done, 1 I/O error, 2 usage or refused by the safety check,
3 connect failed (the errno name is printed: "peer: connect error=ECONNRESET"),
124 --timeout reached.

Safety: AF_VSOCK is used only inside the test VM (the kernel command line
holds hvsvm=1) or, for CID 1 only, on a machine that has vsock_loopback
(blackhole: only in the VM). A host's vsock may lead to the real
hypervisor.
"""

import argparse
import errno
import fcntl
import hashlib
import os
import signal
import socket
import struct
import sys
import threading
import time

CHUNK = 65536
VMADDR_CID_ANY = 0xFFFFFFFF
VMADDR_PORT_ANY = 0xFFFFFFFF
# <linux/vhost.h>
VHOST_SET_OWNER = 0xAF01
VHOST_VSOCK_SET_GUEST_CID = 0x4008AF60


def log(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.stderr.flush()


def in_test_vm():
    try:
        with open("/proc/cmdline") as f:
            return "hvsvm=1" in f.read().split()
    except OSError:
        return False


def may_connect(cid):
    if in_test_vm():
        return True
    return cid == 1 and os.path.isdir("/sys/module/vsock_loopback")


def parse_cid(text):
    names = {"any": VMADDR_CID_ANY, "local": 1, "host": 2, "hypervisor": 0}
    if text in names:
        return names[text]
    return int(text, 0)


def parse_port(text):
    if text == "any":
        return VMADDR_PORT_ANY
    return int(text, 0)


def fmt_addr(addr):
    cid, port = addr
    return "%s:%d" % ("any" if cid == VMADDR_CID_ANY else str(cid), port)


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


def open_in(name):
    if name is None:
        return None
    if name == "-":
        return sys.stdin.buffer
    return open(name, "rb")


def open_out(name):
    if name is None:
        return None
    if name == "-":
        return sys.stdout.buffer
    return open(name, "wb")


def send_all(sock, name):
    """Send the file; return (bytes, sha256 hex)."""
    h = hashlib.sha256()
    n = 0
    src = open_in(name)
    if src is not None:
        try:
            while True:
                buf = src.read(CHUNK)
                if not buf:
                    break
                sock.sendall(buf)
                h.update(buf)
                n += len(buf)
        finally:
            if src is not sys.stdin.buffer:
                src.close()
    return n, h.hexdigest()


def recv_all(sock, name):
    """Read until EOF into the file; return (bytes, sha256 hex)."""
    h = hashlib.sha256()
    n = 0
    dst = open_out(name)
    try:
        while True:
            buf = sock.recv(CHUNK)
            if not buf:
                break
            h.update(buf)
            n += len(buf)
            if dst is not None:
                dst.write(buf)
    finally:
        if dst is not None:
            dst.flush()
            if dst is not sys.stdout.buffer:
                dst.close()
    return n, h.hexdigest()


def shut_wr(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        # The peer may already be gone after a recv-first exchange.
        if e.errno not in (errno.ENOTCONN, errno.ECONNRESET, errno.EPIPE):
            raise


def converse(sock, args):
    """Run one connection in the chosen order; return 0 or raise."""
    order = args.order
    if order == "send-first":
        n, hx = send_all(sock, args.send)
        shut_wr(sock)
        log("sent %d sha256=%s" % (n, hx))
        n, hx = recv_all(sock, args.recv)
        log("recv %d sha256=%s" % (n, hx))
    elif order == "recv-first":
        n, hx = recv_all(sock, args.recv)
        log("recv %d sha256=%s" % (n, hx))
        n, hx = send_all(sock, args.send)
        shut_wr(sock)
        log("sent %d sha256=%s" % (n, hx))
    elif order == "duplex":
        result = {}

        def sender():
            try:
                result["sent"] = send_all(sock, args.send)
                shut_wr(sock)
            except Exception as e:  # reported by the main thread
                result["error"] = e

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        n, hx = recv_all(sock, args.recv)
        t.join()
        if "error" in result:
            raise result["error"]
        log("sent %d sha256=%s" % result["sent"])
        log("recv %d sha256=%s" % (n, hx))
    elif order == "echo":
        h = hashlib.sha256()
        n = 0
        while True:
            buf = sock.recv(CHUNK)
            if not buf:
                break
            sock.sendall(buf)
            h.update(buf)
            n += len(buf)
        shut_wr(sock)
        log("echoed %d sha256=%s" % (n, h.hexdigest()))
    return 0


def write_ready(path, text):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def cmd_listen(args):
    if not may_connect(1):
        log("refusing to use AF_VSOCK outside the test VM "
            "(allowed here: with vsock_loopback loaded)")
        return 2
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    if args.bufsize:
        s.setsockopt(socket.AF_VSOCK, socket.SO_VM_SOCKETS_BUFFER_SIZE,
                     args.bufsize)
    s.bind((parse_cid(args.cid), parse_port(args.port)))
    s.listen(args.backlog)
    name = s.getsockname()
    log("listening on %s" % fmt_addr(name))
    write_ready(args.ready, str(name[1]))
    for i in range(args.count):
        c, peer = s.accept()
        log("accepted local=%s peer=%s" % (fmt_addr(c.getsockname()),
                                           fmt_addr(peer)))
        c.settimeout(args.idle)
        try:
            converse(c, args)
        finally:
            c.close()
    s.close()
    return 0


def cmd_connect(args):
    cid = parse_cid(args.cid)
    port = parse_port(args.port)
    if not may_connect(cid):
        log("refusing to connect AF_VSOCK outside the test VM "
            "(allowed here: CID 1 with vsock_loopback loaded)")
        return 2
    deadline = time.monotonic() + args.retry
    while True:
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        if args.bufsize:
            s.setsockopt(socket.AF_VSOCK, socket.SO_VM_SOCKETS_BUFFER_SIZE,
                         args.bufsize)
        s.settimeout(args.idle)
        try:
            s.connect((cid, port))
            break
        except OSError as e:
            s.close()
            name = errno.errorcode.get(e.errno, str(e.errno)) if e.errno \
                else "ETIMEDOUT"
            if (e.errno in (errno.ECONNRESET, errno.ECONNREFUSED) and
                    time.monotonic() < deadline):
                time.sleep(0.05)
                continue
            log("connect error=%s" % name)
            return 3
    log("connected local=%s peer=%s" % (fmt_addr(s.getsockname()),
                                        fmt_addr(s.getpeername())))
    try:
        return converse(s, args)
    finally:
        s.close()


def cmd_blackhole(args):
    """Register CID with vhost_vsock and never run it: connects to that CID
    are queued and never answered, so they time out (a real unresponsive
    vsock peer; vsock_loopback answers everything at once)."""
    if not in_test_vm():
        log("blackhole runs only inside the test VM")
        return 2
    if not os.path.exists("/dev/vhost-vsock"):
        os.system("modprobe vhost_vsock >/dev/null 2>&1")
    fd = os.open("/dev/vhost-vsock", os.O_RDWR)
    fcntl.ioctl(fd, VHOST_SET_OWNER)
    fcntl.ioctl(fd, VHOST_VSOCK_SET_GUEST_CID,
                struct.pack("Q", parse_cid(args.cid)))
    log("blackhole CID %s registered" % args.cid)
    write_ready(args.ready, args.cid)
    while True:
        time.sleep(3600)


def cmd_local_cid(args):
    with open("/dev/vsock", "rb") as f:
        r = fcntl.ioctl(f, socket.IOCTL_VM_SOCKETS_GET_LOCAL_CID, b"\0" * 4)
    print(struct.unpack("I", r)[0])
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp, order):
        sp.add_argument("--send", metavar="FILE",
                        help="file to send ('-' = stdin)")
        sp.add_argument("--recv", metavar="FILE",
                        help="file to write what arrives ('-' = stdout)")
        sp.add_argument("--order", default=order,
                        choices=["send-first", "recv-first", "duplex", "echo"])
        sp.add_argument("--timeout", type=float, default=120,
                        help="bound on the whole run, seconds (default 120)")
        sp.add_argument("--idle", type=float, default=60,
                        help="bound on one socket call, seconds (default 60)")
        sp.add_argument("--bufsize", type=int, default=0,
                        help="SO_VM_SOCKETS_BUFFER_SIZE before connect/listen")

    sp = sub.add_parser("listen")
    sp.add_argument("port", help="port number or 'any'")
    sp.add_argument("--cid", default="any")
    sp.add_argument("--count", type=int, default=1)
    sp.add_argument("--backlog", type=int, default=16)
    sp.add_argument("--ready", metavar="FILE",
                    help="write the bound port here once listening")
    common(sp, "recv-first")

    sp = sub.add_parser("connect")
    sp.add_argument("cid")
    sp.add_argument("port")
    sp.add_argument("--retry", type=float, default=0,
                    help="retry a reset/refused connect for this long")
    common(sp, "send-first")

    sp = sub.add_parser("blackhole")
    sp.add_argument("cid")
    sp.add_argument("--ready", metavar="FILE")
    sp.add_argument("--timeout", type=float, default=300)

    sp = sub.add_parser("local-cid")
    sp.add_argument("--timeout", type=float, default=10)

    args = p.parse_args()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(args.timeout + 0.999)))
    fn = {"listen": cmd_listen, "connect": cmd_connect,
          "blackhole": cmd_blackhole, "local-cid": cmd_local_cid}[args.cmd]
    try:
        return fn(args)
    except Timeout:
        log("timed out after %gs" % args.timeout)
        return 124
    except socket.timeout:
        log("a socket call took longer than --idle")
        return 124
    except OSError as e:
        log("error: %s (%s)" % (e.strerror,
                                errno.errorcode.get(e.errno, e.errno)))
        return 1


if __name__ == "__main__":
    sys.exit(main())
