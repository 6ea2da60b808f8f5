#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""common-tools-agree: hvcat and hvproxy read allowlists, numbers,
durations and sizes with one parser (bin/common), so one table of good
and bad inputs goes to both built binaries: each input is taken by both
or refused by both, with the same reason. hvproxy reads each allowlist
also from a config file (allow=), with the same outcome. The man pages
describe the forms once, the same way: their ALLOWLISTS and TIMES AND
SIZES sections are the same text.

    tools_agree.py HVCAT HVPROXY

No socket is opened: hvproxy runs with --check, and every hvcat command
also names a program that does not exist (-e), a usage error hvcat
reports only after it has read and checked every value and the
allowlist against the listening address. Output is TAP, through the
tests' library (test/pylib on PYTHONPATH, as meson sets it).
"""
import os
import re
import subprocess
import sys

from hvtest.proc import run as run_bounded
from hvtest.tap import Tap

HVCAT, HVPROXY = sys.argv[1], sys.argv[2]
SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", "..", ".."))
NO_PROGRAM = "/nonexistent/hvsock-test-no-such-program"

t = Tap(prefix="tools-agree.")


def run(argv):
    """(exit status, first line of stderr, all of stderr)."""
    r = run_bounded(argv, stdin=subprocess.DEVNULL, timeout=30)
    if r.returncode == "timeout":
        return None, "(timed out)", ""
    err = r.stderr.decode("utf-8", "replace")
    lines = err.splitlines()
    return r.returncode, lines[0] if lines else "", err


def show(s):
    return repr(s)[1:-1]


# ---- allowlists ------------------------------------------------------------

# Listening addresses of each kind. hvproxy --check binds nothing; hvcat
# stops at -e NO_PROGRAM before it would.
LISTEN = {
    "tcp": ("tcp:192.0.2.1:9", "tcp:127.0.0.1:19"),
    "vsock": ("vsock:9", "vsock:9"),
    "unix": ("unix:/nonexistent/x.sock", "unix:/nonexistent/x.sock"),
}

GUID = "12345678-1234-1234-1234-123456789abc"
NOT_ENTRY = ("is not a CID (3, cid:3, host), a VM id (GUID), an IP "
             "network (10.0.0.0/8, fd00::/8, [::1]) or a user (uid:0, "
             "user:root)")
UNIX_ONLY = "(expected uid:N or user:NAME)"

# (listener kind, list, taken?, a part of the reason when refused)
ALLOW = [
    ("tcp", "127.0.0.1", True, None),
    ("tcp", "10.0.0.0/8", True, None),
    ("tcp", "10.1.2.3/8", True, None),
    ("tcp", "0.0.0.0/0", True, None),
    ("tcp", "::1", True, None),
    ("tcp", "[::1]", True, None),
    ("tcp", "[fd00::]/8", True, None),
    ("tcp", "fd00::/8", True, None),
    ("tcp", "::ffff:10.0.0.0/104", True, None),
    ("tcp", "127.0.0.1, ::1", True, None),
    ("tcp", "127.0.0.1 ::1\t10.0.0.0/8", True, None),
    ("tcp", "10.0.0.0/8,192.168.0.0/16", True, None),
    ("tcp", "  10.0.0.0/8  ", True, None),
    ("tcp", "", True, None),
    ("tcp", " ", True, None),
    ("vsock", "3", True, None),
    ("vsock", "cid:3", True, None),
    ("vsock", "cid:007", True, None),
    ("vsock", "0", True, None),
    ("vsock", "4294967294", True, None),
    ("vsock", "host", True, None),
    ("vsock", "cid:host", True, None),
    ("vsock", "local", True, None),
    ("vsock", "cid:local", True, None),
    ("vsock", "hypervisor", True, None),
    ("vsock", "cid:hypervisor", True, None),
    ("vsock", GUID, True, None),
    ("vsock", GUID.upper(), True, None),
    ("vsock", "{" + GUID + "}", True, None),
    ("vsock", f"3, host {GUID}", True, None),
    ("unix", "", True, None),
    ("unix", "uid:0", True, None),
    ("unix", "uid:1000, uid:007", True, None),
    ("unix", "uid:4294967294", True, None),
    ("unix", "user:root", True, None),
    ("unix", "user:root uid:65534", True, None),
    # the grammar
    ("tcp", "1,,2", False, "'1,,2': empty entry"),
    ("tcp", ",1", False, "empty entry"),
    ("tcp", "1,", False, "empty entry"),
    ("tcp", "1 , ,2", False, "empty entry"),
    ("tcp", "nonsense", False, "'nonsense' " + NOT_ENTRY),
    ("tcp", "example.com", False, NOT_ENTRY),
    ("tcp", "10.0.0", False, NOT_ENTRY),
    ("tcp", "[10.0.0.1]", False, NOT_ENTRY),
    ("tcp", "[::1", False, NOT_ENTRY),
    ("tcp", "fe80::1%1", False, "'fe80::1%1': an IP network takes no "
     "%scope (it matches a link-local peer through every interface)"),
    ("tcp", "[fe80::1%eth0]/10", False, "takes no %scope"),
    ("tcp", "1/8", False, NOT_ENTRY),
    ("tcp", "-1", False, NOT_ENTRY),
    ("tcp", "10.0.0.0/33", False,
     "'10.0.0.0/33': bad prefix length (expected 0 to 32)"),
    ("tcp", "10.0.0.0/", False, "bad prefix length (expected 0 to 32)"),
    ("tcp", "10.0.0.0/x", False, "bad prefix length"),
    ("tcp", "::1/129", False, "bad prefix length (expected 0 to 128)"),
    ("vsock", "cid:x", False,
     "'cid:x': bad CID (expected a number, host, local or hypervisor)"),
    ("vsock", "cid:", False, "bad CID"),
    ("vsock", "cid:any", False, "bad CID"),
    ("vsock", "cid:-1", False, "bad CID"),
    ("vsock", "4294967295", False,
     "'4294967295': bad CID: number is too large (0 to 4294967294)"),
    ("vsock", "cid:99999999999999999999999", False, "number is too large"),
    ("vsock", GUID + "0", False, NOT_ENTRY),
    ("unix", "uid:", False,
     "'uid:': bad uid: expected a whole number (0 to 4294967294)"),
    ("unix", "uid:x", False, "'uid:x': bad uid: expected a whole number"),
    ("unix", "uid:-1", False, "bad uid: expected a whole number"),
    ("unix", "uid:4294967295", False,
     "'uid:4294967295': bad uid: number is too large (0 to 4294967294)"),
    ("unix", "uid:99999999999999999999999", False, "number is too large"),
    ("unix", "user:", False, "'user:': bad user (expected a user name)"),
    ("unix", "user:no-such-user-hvsock", False,
     "'user:no-such-user-hvsock': no such user"),
    ("unix", "uid:0, user:no-such-user-hvsock", False, "no such user"),
    ("unix", "root", False, "'root' " + NOT_ENTRY),
    ("unix", "gid:0", False, "'gid:0' " + NOT_ENTRY),
    # entries that can never match the listener's peers
    ("tcp", "3", False, "'cid:3' is a CID, which can never match a peer "
     "of a tcp listener"),
    ("tcp", "cid:host", False, "'cid:2' is a CID"),
    ("tcp", GUID, False, f"'{GUID}' is a VM id, which can never match"),
    ("vsock", "127.0.0.1", False, "'127.0.0.1/32' is an IP network, which "
     "can never match a peer of a vsock listener"),
    ("vsock", "3, ::1", False, "'::1/128' is an IP network"),
    ("unix", "127.0.0.1", False, "'127.0.0.1/32' is an IP network, which "
     "can never match a peer of a unix listener " + UNIX_ONLY),
    ("unix", "3", False, "'cid:3' is a CID, which can never match a peer "
     "of a unix listener " + UNIX_ONLY),
    ("unix", GUID, False, f"'{GUID}' is a VM id, which can never match"),
    ("unix", "10.0.0.0/8, uid:0", False, "'10.0.0.0/8' is an IP network"),
    ("tcp", "uid:0", False, "'uid:0' is a user id, which can never match "
     "a peer of a tcp listener"),
    ("tcp", "user:root", False, "'uid:0' is a user id"),
    ("tcp", "127.0.0.1, uid:1000", False, "'uid:1000' is a user id"),
    ("vsock", "uid:0", False, "'uid:0' is a user id, which can never match "
     "a peer of a vsock listener"),
    ("vsock", "user:root", False, "'uid:0' is a user id"),
]


def hvcat_allow(kind, text):
    """None if taken, else the reason hvcat gives."""
    rc, first, err = run([HVCAT, "-l", "-k", "-e", NO_PROGRAM, "--allow",
                          text, LISTEN[kind][0]])
    m = re.match(r"hvcat: --allow: (.*)$", first)
    if m:
        return rc, m.group(1)
    # Taken: the next problem is the missing program.
    return (rc, None) if "no such program" in first else (rc, first)


def hvproxy_allow(kind, text):
    rc, first, err = run([HVPROXY, "--check", "--allow", text,
                          LISTEN[kind][1], "tcp:127.0.0.1:9"])
    if rc == 0:
        return rc, None
    m = re.match(r"hvproxy: error: --allow: (?:\[forward [^]]*\] allow: )?"
                 r"(.*)$", first)
    return rc, m.group(1) if m else first


def hvproxy_allow_file(kind, text, tmp):
    path = os.path.join(tmp, "allow.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"[forward t]\nlisten = {LISTEN[kind][1]}\n"
                f"target = tcp:127.0.0.1:9\nallow = {text}\n")
    os.chmod(path, 0o644)
    rc, first, err = run([HVPROXY, "--check", "-c", path])
    if rc == 0:
        return rc, None
    m = re.match(r"hvproxy: error: .*allow\.conf:4: (?:\[forward t\] )?"
                 r"allow: (.*)$", first)
    return rc, m.group(1) if m else first


tmp = t.tmp
for kind, text, good, part in ALLOW:
    name = f"--allow '{show(text)}' on a {kind} listener"
    crc, cwhy = hvcat_allow(kind, text)
    prc, pwhy = hvproxy_allow(kind, text)
    diag = f"hvcat rc={crc}: {cwhy}\nhvproxy rc={prc}: {pwhy}"
    if good:
        t.check(f"{name}: taken by both",
                cwhy is None and pwhy is None, diag)
    else:
        t.check(f"{name}: refused by both, the same reason",
                cwhy is not None and crc == 2 and prc == 2 and
                cwhy == pwhy and part in cwhy, diag)
    # inih trims a value and ends it at " ;" or " #": the file
    # carries the lists that survive that unchanged.
    if text == text.strip() and not re.search(r"[;#]", text):
        frc, fwhy = hvproxy_allow_file(kind, text, tmp)
        t.check(f"allow = {show(text)} in a file, {kind} listener: "
                f"as on the command line",
                fwhy == cwhy and (frc == 0) == good,
                f"file rc={frc}: {fwhy}\nhvcat: {cwhy}")

# Several --allow add up in both.
for args, good in [(["--allow", "127.0.0.1", "--allow", "::1"], True),
                   (["--allow", "127.0.0.1", "--allow", "1,"], False)]:
    rc1, first1, _ = run([HVCAT, "-l", "-k", "-e", NO_PROGRAM] + args +
                         [LISTEN["tcp"][0]])
    rc2, first2, _ = run([HVPROXY, "--check"] + args +
                         [LISTEN["tcp"][1], "tcp:127.0.0.1:9"])
    taken1 = "no such program" in first1
    t.check(f"{' '.join(args)}: {'taken' if good else 'refused'} by both",
            taken1 == good and (rc2 == 0) == good,
            f"hvcat: {first1}\nhvproxy: {first2}")


# ---- numbers, durations, sizes -------------------------------------------

def hvcat_value(opt, value):
    """None if taken, else hvcat's 'OPT 'VALUE': why' line."""
    rc, first, err = run([HVCAT, "-l", "-k", "-e", NO_PROGRAM, opt, value,
                          LISTEN["tcp"][0]])
    # Taken: the next problem is the missing program (or -e's conflict
    # with the option).
    if NO_PROGRAM in first or first.startswith("hvcat: cannot use"):
        return rc, None
    m = re.match(r"hvcat: (\S+ '.*': .*)$", first)
    return rc, m.group(1) if m else first


def hvproxy_value(opt, value):
    rc, first, err = run([HVPROXY, "--check", opt, value,
                          "tcp:127.0.0.1:19", "tcp:127.0.0.1:9"])
    if rc == 0:
        return rc, None
    m = re.match(r"hvproxy: (\S+ '.*': .*)$", first)
    return rc, m.group(1) if m else first


def why_of(line):
    """The reason of an "OPT 'VALUE': why" line."""
    return None if line is None else re.sub(r"^\S+ '.*?': ", "", line)


def ranges(s):
    return None if s is None else re.sub(r"\(\d+ to \d+\)", "(N to M)", s)


DURATION_GOOD = ["30", "30s", "0.5", ".5", "1.25", "0.001", "1.5s", "500ms",
                 "2m", "1.5m", "1h", "007", "596h", "2147483647ms", "90s"]
DURATION_BAD = ["", "x", "5x", "-1", "+1", " 1", "1 ", "1.", ".", "1.2345",
                "1.5ms", "597h", "2147483648ms", "99999999999999999999",
                "1e3", "30S", "0x10", "1h30m", "1,5", "s"]
SIZE_GOOD = ["4096", "65536", "4k", "64k", "64K", "64KB", "64KiB", "1m",
             "1M", "1MiB", "64m", "007k"]
SIZE_BAD = ["", "x", "k", "1", "4095", "3k", "65m", "1g", "1G", "1t",
            "64kb", "-1", "1.5m", "64 k", "99999999999999999999"]
COUNT_GOOD = ["1", "100", "10000", "007"]
COUNT_BAD = ["", "x", "-1", "+1", "1.5", "0x10", " 1", "1k",
             "99999999999999999999", "1000001"]

# (hvcat option, hvproxy option, good, bad, compare the ranges too)
VALUES = [
    ("--idle-timeout", "--idle-timeout", DURATION_GOOD + ["0", "0ms"],
     DURATION_BAD, True),
    ("-w", "--connect-timeout", DURATION_GOOD,
     DURATION_BAD + ["0", "0.000", "0ms"], True),
    ("-q", "--drain-timeout", DURATION_GOOD + ["0"], DURATION_BAD, True),
    ("-b", "--buffer", SIZE_GOOD, SIZE_BAD, True),
    ("--buffer-size", "--buffer", ["64k", "1m"], ["1t", "1"], True),
    ("-m", "--max-conns", COUNT_GOOD, COUNT_BAD, False),
]

for copt, popt, goods, bads, same_range in VALUES:
    for v in goods:
        crc, cline = hvcat_value(copt, v)
        prc, pline = hvproxy_value(popt, v)
        t.check(f"{copt} / {popt} '{show(v)}': taken by both",
                cline is None and pline is None,
                f"hvcat: {cline}\nhvproxy: {pline}")
    for v in bads:
        crc, cline = hvcat_value(copt, v)
        prc, pline = hvproxy_value(popt, v)
        cwhy, pwhy = why_of(cline), why_of(pline)
        if not same_range:
            cwhy, pwhy = ranges(cwhy), ranges(pwhy)
        good = cwhy is not None and crc == 2 and prc == 2 and cwhy == pwhy
        if copt == popt:
            good = good and cline == pline
        t.check(f"{copt} / {popt} '{show(v)}': refused by both, the same "
                f"reason", good, f"hvcat: {cline}\nhvproxy: {pline}")

# The file takes the same values: hvproxy's keys against hvcat's options.
FILE_KEYS = [("idle-timeout", "--idle-timeout", DURATION_GOOD[:6],
              DURATION_BAD[:6]),
             ("buffer", "-b", SIZE_GOOD[:6], SIZE_BAD[:6])]
path = os.path.join(tmp, "v.conf")
for key, copt, goods, bads in FILE_KEYS:
    for v in goods + bads:
        if v != v.strip() or v == "":
            continue  # inih trims values; an empty one is no value
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"[forward t]\nlisten = tcp:127.0.0.1:19\n"
                    f"target = tcp:127.0.0.1:9\n{key} = {v}\n")
        os.chmod(path, 0o644)
        rc, first, _ = run([HVPROXY, "--check", "-c", path])
        m = re.match(r"hvproxy: error: .*v\.conf:4: " + re.escape(key) +
                     " = " + re.escape(v) + ": (.*)$", first)
        fwhy = m.group(1) if m else (None if rc == 0 else first)
        crc, cline = hvcat_value(copt, v)
        t.check(f"{key} = {show(v)} in a file: as hvcat {copt} takes it",
                fwhy == why_of(cline), f"file: {fwhy}\nhvcat: {cline}")

# What the reason says, in both tools and in the file: a value with more
# digits than 64 bits hold is too large (never "too small", nor only "out
# of range"), and a size out of its range says which bound it passed.
WORDING = [
    ("-b", "--buffer", "buffer", "99999999999999999999",
     "size is too large (at most 64m)"),
    ("-b", "--buffer", "buffer", "18446744073709551616k",
     "size is too large (at most 64m)"),
    ("-b", "--buffer", "buffer", "65m", "size is too large (at most 64m)"),
    ("-b", "--buffer", "buffer", "4095", "size is too small (at least 4k)"),
    ("-m", "--max-conns", None, "99999999999999999999",
     "number is too large"),
    ("--idle-timeout", "--idle-timeout", "idle-timeout",
     "99999999999999999999",
     "duration is too long (at most 24 days)"),
]
for copt, popt, key, v, want in WORDING:
    crc, cline = hvcat_value(copt, v)
    prc, pline = hvproxy_value(popt, v)
    t.check(f"{copt} / {popt} '{v}': says '{want}'",
            crc == 2 and prc == 2 and want in (why_of(cline) or "") and
            want in (why_of(pline) or ""),
            f"hvcat {crc}: {cline}\nhvproxy {prc}: {pline}")
    if key is None:
        continue
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"[forward t]\nlisten = tcp:127.0.0.1:19\n"
                f"target = tcp:127.0.0.1:9\n{key} = {v}\n")
    os.chmod(path, 0o644)
    rc, first, _ = run([HVPROXY, "--check", "-c", path])
    t.check(f"{key} = {v} in a file: says '{want}'",
            rc == 2 and want in first, f"{rc}: {first}")


# ---- the man pages ----------------------------------------------------------

def section(path, title):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^\.Sh " + re.escape(title) + r"\n(.*?)(?=^\.Sh )", text,
                  re.M | re.S)
    return m.group(1) if m else None


HVCAT_1 = os.path.join(SRC, "bin", "hvcat", "hvcat.1")
HVPROXY_8 = os.path.join(SRC, "bin", "hvproxy", "hvproxy.8")
for title in ["ALLOWLISTS", "TIMES AND SIZES"]:
    a, b = section(HVCAT_1, title), section(HVPROXY_8, title)
    t.check(f"hvcat.1 and hvproxy.8 describe {title} with the same text",
            a is not None and a == b, f"hvcat.1: {a!r}\nhvproxy.8: {b!r}")

t.done()
