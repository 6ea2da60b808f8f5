#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hvcat-usage: everything that must fail before a socket is opened.

Every bad address of the parser's unit table (test/unit/test_addr.c,
read from the source tree) and of hvcat's own forms, in both roles:
exit 2 and exactly one line that quotes the bad part. Then option
conflicts, nc/ncat options that make no sense here, the helpers
(--service-id, --register-cmd, --local-cid; --register, --unregister
and --list-registered, refused off Windows), --help, --version, and the
man page (renders without warnings, documents every option of --help).

No case here may reach a vsock socket: addresses that would be valid on
this host are never run (real vsock is for the VM jobs).
"""
import os
import re
import shutil

from hvtest import Tap, run
from hvtest.hvcat import HVCAT, SOURCE_DIR, err_text, hvcat, one_line

t = Tap()

QUOTE_MAX = 80


def quote(b):
    """hvcat's quoting of a bad part (target.c quote_bytes)."""
    cut = len(b) > QUOTE_MAX
    b = b[:QUOTE_MAX]
    s = "".join(chr(c) if 0x20 <= c < 0x7f else f"\\x{c:02x}" for c in b)
    return s + ("..." if cut else "")


def c_unescape(s):
    """The bytes of a C string literal body (\\xNN greedy, octal, ...)."""
    out = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "\\": 92, '"': 34, "'": 39,
              "a": 7, "b": 8, "f": 12, "v": 11, "?": 63}
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        i += 1
        c = s[i]
        if c == "x":
            j = i + 1
            while j < len(s) and s[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(s[i + 1:j], 16) & 0xff)
            i = j
        elif c in "01234567":
            j = i
            while j < len(s) and j < i + 3 and s[j] in "01234567":
                j += 1
            out.append(int(s[i:j], 8) & 0xff)
            i = j
        else:
            out.append(simple[c])
            i += 1
    return bytes(out)


def unit_table():
    path = os.path.join(SOURCE_DIR, "test", "unit", "test_addr.c")
    with open(path, encoding="utf-8") as f:
        src = f.read()
    start = src.index("bad_cases[] = {")
    end = src.index("};", start)
    cases = []
    for m in re.finditer(r'E\("((?:[^"\\]|\\.)*)",\s*(\w+),\s*(\d+),\s*'
                         r'(\d+)\)', src[start:end], re.S):
        cases.append((c_unescape(m.group(1)), m.group(2), int(m.group(3)),
                      int(m.group(4))))
    return cases


def check_bad(args, name, part=None, role=""):
    """hvcat ARGS must exit 2 with one line (quoting @part if given)."""
    r = run([HVCAT.encode()] + args)
    e = err_text(r)
    good = r.returncode == 2 and one_line(e) and r.stdout == b""
    if part is not None and good:
        good = f"'{part}'" in e
    return t.check(name, good, f"rc {r.returncode} stderr {e!r}")


# ---- the unit table, both roles -----------------------------------------
cases = unit_table()
t.check(f"read {len(cases)} bad addresses from "
        f"test/unit/test_addr.c", len(cases) >= 100)
skipped_nul = 0
for addr, code, off, n in cases:
    if b"\0" in addr:
        skipped_nul += 1  # argv cannot carry a NUL byte
        continue
    shown = quote(addr)
    part = quote(addr[off:off + n]) if n > 0 and n < len(addr) else None
    if code == "EADDR_TOOLONG":
        part = None
    check_bad([b"--", addr], f"connect '{shown}' ({code}): exit 2, one line",
              part)
    if addr.isdigit():
        continue  # hvcat -l PORT is a vsock listener: never on the host
    check_bad([b"-l", b"--", addr],
              f"listen '{shown}' ({code}): exit 2, one line", part)
t.note(f"{skipped_nul} table entries hold a NUL byte and cannot be argv")

# Long inputs the table builds in code.
check_bad([b"vsock:" + b"1" * 2000], "2006-byte address: too long")
check_bad([b"unix:/" + b"a" * 200], "unix path over 108 bytes", None)
check_bad([b"tcp:" + b"a" * 300 + b":80"], "300-byte host name")

# ---- hvcat's own forms ----------------------------------------------------
own = [
    ([b"5000"], "lone port when connecting", None),
    ([b"2", b"x"], "CID PORT: bad port", "x"),
    ([b"x", b"5000"], "CID PORT: bad CID", "x"),
    ([b"localhost", b"22"], "CID PORT: a host name (nc habit)", "localhost"),
    ([b"2", b"99999999999"], "CID PORT: port out of range", "99999999999"),
    ([b"4294967296", b"1"], "CID PORT: CID out of range", "4294967296"),
    ([b"2", b"5000", b"7"], "three arguments", None),
    ([b"tcp:localhost", b"22"], "two words with a scheme", None),
    ([b"-l", b"99999999999"], "-l PORT out of range", None),
    ([b"-l", b"x", b"y"], "-l CID PORT: bad CID", "x"),
    ([b"-l", b"-p", b"x"], "-l -p: not a number", None),
    ([b"-p", b"5000"], "-p without -l", None),
    ([b"-l", b"-p", b"5000", b"vsock:1"], "-p and an address", None),
    ([b"-U", b"/" + b"a" * 200], "-U path too long", None),
    ([b"-U", b"/tmp/x", b"vsock:1"], "-U and an address", None),
    ([b"stdio"], "stdio as the peer", None),
    ([b"-l", b"stdio"], "stdio as the listener", None),
    ([b"fd:3"], "fd: when connecting", None),
    ([b"hvsock:children:5000"], "connecting to hvsock:children", None),
    ([b"hvsock:wildcard:5000"], "connecting to hvsock:wildcard", None),
    ([], "no address", None),
    ([b"-l"], "-l without an address", None),
]
for args, name, part in own:
    check_bad(args, f"{name}: exit 2, one line", part)

# ---- options ------------------------------------------------------------
conflicts = [
    (["-l", "-z", "tcp:1"], "-l and -z"),
    (["-k", "tcp:1"], "-k without -l"),
    (["-e", "cat", "-c", "cat", "tcp:1"], "-e and -c"),
    (["-4", "-6", "tcp:1"], "-4 and -6"),
    (["-4", "unix:/x"], "-4 with unix:"),
    (["-6", "-l", "unix:/x"], "-6 with unix:"),
    (["--recv-only", "--send-only", "tcp:1"], "--recv-only and --send-only"),
    (["--recv-only", "-q", "1", "tcp:1"], "--recv-only and -q"),
    (["-N", "--no-shutdown", "tcp:1"], "-N and --no-shutdown"),
    (["--allow", "127.0.0.1", "tcp:1"], "--allow without -l"),
    (["-l", "--allow", "3", "tcp:1"], "--allow CID on a tcp listener"),
    (["-l", "--allow", "127.0.0.1", "unix:/x"], "--allow on a unix listener"),
    (["-l", "--allow", "10.0.0.0/33", "tcp:1"], "--allow bad prefix"),
    (["-l", "--allow", "example.com", "tcp:1"], "--allow host name"),
    (["-l", "--allow", "1,,2", "tcp:1"], "--allow empty entry"),
    (["-z", "-e", "cat", "tcp:1"], "-z and -e"),
    (["-e", "cat", "-q", "1", "tcp:1"], "-e and -q"),
    (["-c", "cat", "--progress", "tcp:1"], "-c and --progress"),
    (["-z", "-q", "1", "tcp:1"], "-z and -q"),
    (["-l", "-m", "4", "tcp:1"], "-m without -k -e"),
    (["-l", "-k", "-m", "0", "-e", "cat", "tcp:1"], "-m 0"),
    (["-w", "0", "tcp:1"], "-w 0"),
    (["-w", "abc", "tcp:1"], "-w abc"),
    (["-w", "1.5555", "tcp:1"], "-w with four decimals"),
    (["-w", "-1", "tcp:1"], "-w -1"),
    (["-q", "x", "tcp:1"], "-q x"),
    (["-q", "99999999999", "tcp:1"], "-q too large"),
    (["-b", "1", "tcp:1"], "-b too small"),
    (["-b", "1T", "tcp:1"], "-b bad suffix"),
    (["-b", "65M", "tcp:1"], "-b too large"),
    (["--progress=sometimes", "tcp:1"], "--progress=sometimes"),
    (["-n", "tcp:localhost:1"], "-n with a host name"),
    (["-e", "", "tcp:1"], "-e empty program"),
    (["-w"], "-w without its argument"),
    (["--wait"], "--wait without its argument"),
    (["--no-such-option", "tcp:1"], "unknown long option"),
    (["-Y", "tcp:1"], "unknown short option"),
    (["--service-id", "5000", "tcp:1"], "a helper with an address"),
    (["--service-id", "1", "--local-cid"], "two helpers"),
]
for args, name in conflicts:
    r = hvcat(*args)
    e = err_text(r)
    t.check(f"{name}: exit 2, one line",
            r.returncode == 2 and one_line(e), f"rc {r.returncode} {e!r}")

unsupported = [["-u"], ["--udp"], ["--sctp"], ["--ssl"], ["-x"],
               ["--proxy=1.2.3.4:8080"], ["-s"], ["-t"], ["-C"], ["-T"],
               ["-i"], ["-I"], ["-O"], ["-r"], ["-D"], ["--broker"],
               ["--deny"], ["-o"]]
for args in unsupported:
    r = hvcat(*args, "tcp:1")
    e = err_text(r)
    t.check(f"{args[0]}: refused with a reason, exit 2",
            r.returncode == 2 and one_line(e) and
            ("not supported" in e or "use " in e), f"{r.returncode} {e!r}")
r = hvcat("-u", "tcp:1")
t.check("-u: the message says UDP is not supported",
        "UDP" in err_text(r), err_text(r))

# ---- helpers --------------------------------------------------------------
r = hvcat("--service-id", "5000")
t.check("--service-id 5000",
        r.returncode == 0 and
        r.stdout == b"00001388-facb-11e6-bd58-64006a7986d3\n", r.stdout)
r = hvcat("--service-id", "2147483647")
t.check("--service-id 2147483647 (largest)",
        r.returncode == 0 and
        r.stdout == b"7fffffff-facb-11e6-bd58-64006a7986d3\n", r.stdout)
r = hvcat("--service-id", "{00001388-FACB-11E6-BD58-64006A7986D3}")
t.check("--service-id GUID (braces, upper case) -> port",
        r.returncode == 0 and r.stdout == b"5000\n", r.stdout)
r = hvcat("--service-id", "a42e7cda-d03f-480c-9cc2-a4de20abb878")
e = err_text(r)
t.check("--service-id of a non-template GUID: exit 1, one line",
        r.returncode == 1 and one_line(e) and "not a vsock service GUID" in e,
        e)
for bad in ["2147483648", "-1", "0x10", "abc", "",
            "00001388-facb-11e6-bd58-64006a7986d"]:
    r = hvcat("--service-id", bad)
    t.check(f"--service-id '{bad}': exit 2, one line",
            r.returncode == 2 and one_line(err_text(r)), err_text(r))
r = hvcat("--register-cmd", "5000")
want = ("New-Item -Force -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\"
        "CurrentVersion\\Virtualization\\GuestCommunicationServices\\"
        "00001388-facb-11e6-bd58-64006a7986d3' | New-ItemProperty -Force "
        "-Name ElementName -Value 'hvcat vsock port 5000' | Out-Null\n")
t.check("--register-cmd 5000: the exact PowerShell line",
        r.returncode == 0 and r.stdout.decode() == want, r.stdout)
r = hvcat("--register-cmd", "x")
t.check("--register-cmd x: exit 2", r.returncode == 2, err_text(r))
# Registering is a Windows host's (test/windows/registry): refused here,
# after the argument is checked, pointing at --register-cmd.
for args in (["--register", "5000"], ["--register", "5000", "--name", "x"],
             ["--unregister", "5000"], ["--list-registered"]):
    r = hvcat(*args)
    e = err_text(r)
    t.check(f"{' '.join(args)}: refused here, exit 2, one line",
            r.returncode == 2 and one_line(e) and r.stdout == b"" and
            "only a Windows host registers Hyper-V socket services" in e, e)
for args, why in ((["--register", "2147483648"], "bad port"),
                  (["--unregister", "x"], "or a service GUID"),
                  (["--register", "1", "--name", ""], "the name is empty"),
                  (["--name", "x"], "--name needs --register"),
                  (["--register", "1", "--list-registered"], "only one of")):
    r = hvcat(*args)
    e = err_text(r)
    t.check(f"{' '.join(args)}: exit 2, one line naming the problem",
            r.returncode == 2 and one_line(e) and why in e, e)
r = hvcat("--local-cid")
e = err_text(r)
t.check(f"--local-cid: a number, or one line why not (rc {r.returncode})",
        (r.returncode == 0 and re.fullmatch(rb"\d+\n", r.stdout) and e == "")
        or (r.returncode == 1 and one_line(e) and "no local CID" in e),
        f"{r.stdout!r} {e!r}")

# ---- --help, --version, the man page ------------------------------------
r = hvcat("--help")
helptext = r.stdout.decode()
t.check("--help: synopsis on stdout, exit 0",
        r.returncode == 0 and helptext.startswith("usage: hvcat ") and
        err_text(r) == "")
r = hvcat("-h")
t.check("-h = --help", r.returncode == 0 and r.stdout.decode() == helptext)
r = hvcat("--version")
t.check("--version",
        r.returncode == 0 and
        re.fullmatch(rb"hvcat \d+\.\d+\.\d+ \(libhvsock \d+\.\d+\.\d+\)\n",
                     r.stdout), r.stdout)
r = hvcat()
t.check("no arguments: exit 2", r.returncode == 2 and one_line(err_text(r)))

man = os.path.join(SOURCE_DIR, "bin", "hvcat", "hvcat.1")
with open(man, encoding="utf-8") as f:
    mansrc = f.read()
longs = sorted(set(re.findall(r"--([a-z][a-z-]+)", helptext)))
missing = [o for o in longs if ("Fl \\-" + o.replace("-", "\\-"))
           not in mansrc]
t.check(f"the man page documents all {len(longs)} long options of --help",
        len(longs) > 15 and not missing, f"missing: {missing}")
shorts = set(re.findall(r"^\s+-([A-Za-z0-9])\b", helptext, re.M))
missing = [o for o in sorted(shorts) if f"Fl {o}" not in mansrc]
t.check(f"the man page documents all {len(shorts)} short options of --help",
        len(shorts) > 10 and not missing, f"missing: {missing}")
if shutil.which("groff"):
    r = run(["groff", "-ww", "-z", "-mandoc", man])
    t.check("hvcat.1 renders with groff -ww without a warning",
            r.returncode == 0 and err_text(r) == "", err_text(r))
else:
    t.skip("hvcat.1 renders", "groff not installed")
if shutil.which("mandoc"):
    r = run(["mandoc", "-Tlint", "-Wwarning", man])
    t.check("mandoc -Tlint: no warnings",
            r.returncode == 0, r.stdout.decode() + err_text(r))

t.done()
