# SPDX-License-Identifier: MIT
"""win-registry: hvcat.exe registers Hyper-V services in wine's registry.

--register, --register --name, --list-registered and --unregister, read
back with wine's reg.exe; the commands of docs/windows.md "Registering
services", run as written there and compared with the output it shows;
bad ports, GUIDs and names (one line, exit 2, nothing written); removing
what is not registered (exit 1); the refusals a prompt without
administrator rights meets, through hvcat-regfail.exe (hvcat.exe with
regfail.c: wine runs everything as an administrator), one line, exit 1,
the registry unchanged; and hvproxy.exe's start-up warning for an
hvsock: listener whose service is not registered, and none for one that
is (wine has no AF_HYPERV: the listener then fails, after the check).

    win_registry.py --wine-run=cross/wine-run --hvcat=PATH --hvproxy=PATH
        --regfail=PATH --doc=docs/windows.md
"""
import argparse
import os
import re
import shlex
import uuid

from hvtest import Tap, winexe
from hvtest.wintools import one_line, text

KEY = (r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
       r"\Virtualization\GuestCommunicationServices")
IO = 120  # bound on one program run, seconds
TAIL = "-facb-11e6-bd58-64006a7986d3"

t = Tap()
prog = winexe.setup(t, "hvcat", "hvproxy", "regfail")
ap = argparse.ArgumentParser()
ap.add_argument("--doc", required=True)
doc_path = ap.parse_known_args()[0].doc

# Services no one else uses: a port and a GUID of this run.
PORT = 0x7f000000 + (os.getpid() & 0xffff) * 16
PORT2 = PORT + 1
GUID = f"{PORT:08x}{TAIL}"
GUID2 = f"{PORT2:08x}{TAIL}"
OTHER = str(uuid.uuid4())


def hvcat(*args, exe=None, env=None):
    return winexe.run([exe or prog.hvcat] + list(args), timeout=IO, env=env)


def detail(r):
    return f"rc {r.returncode} out {text(r.stdout)!r} err {text(r.stderr)!r}"


def registry():
    """{guid (lower case): ElementName or None} as reg.exe lists them."""
    r = winexe.run(["reg.exe", "query", KEY, "/s"], timeout=IO)
    out = {}
    cur = None
    for line in text(r.stdout).splitlines():
        m = re.match(r"^HKEY_LOCAL_MACHINE\\.*\\GuestCommunicationServices"
                     r"\\(\S+)\s*$", line)
        if m:
            cur = m.group(1).lower()
            out[cur] = None
            continue
        m = re.match(r"^\s+ElementName\s+REG_SZ\s+(.*?)\s*$", line)
        if m and cur is not None:
            out[cur] = m.group(1)
    return out


def forget(*services):
    for s in services:
        hvcat("--unregister", s)


def usage_error(name, args, why_rx):
    """@args: exit 2 with one line matching @why_rx, nothing written."""
    before = registry()
    r = hvcat(*args)
    e = text(r.stderr)
    t.check(f"{name}: exit 2, one line", r.returncode == 2 and
            one_line(e) and r.stdout == b"", detail(r))
    t.check(f"{name}: names the problem", re.search(why_rx, e), e)
    t.check(f"{name}: nothing written", registry() == before)


forget(str(PORT), str(PORT2), OTHER, "5000")

# ---- register, rename, list, unregister ---------------------------------
r = hvcat("--register", str(PORT))
t.check("--register PORT: exit 0",
        r.returncode == 0 and r.stderr == b"", detail(r))
t.check("--register PORT: says what it registered",
        text(r.stdout) == f"registered {GUID} (port {PORT}) as "
        f"'hvcat vsock port {PORT}'\n", detail(r))
reg = registry()
t.check("reg.exe query: the key and its ElementName",
        reg.get(GUID) == f"hvcat vsock port {PORT}", reg)

r = hvcat("--register", str(PORT), "--name", "my build agent")
t.check("--register PORT --name: exit 0", r.returncode == 0, detail(r))
t.check("--register again: says it renamed it",
        text(r.stdout) == f"{GUID} (port {PORT}) was registered as "
        f"'hvcat vsock port {PORT}'; now as 'my build agent'\n", detail(r))
t.check("reg.exe query: the new name",
        registry().get(GUID) == "my build agent")
r = hvcat("--register", GUID, "--name", "my build agent")
t.check("--register GUID, same name: already registered, exit 0",
        r.returncode == 0 and text(r.stdout) ==
        f"{GUID} (port {PORT}) is registered already as "
        "'my build agent'\n", detail(r))

r = hvcat("--register", OTHER.upper())
t.check("--register of a GUID not of the template: exit 0",
        r.returncode == 0 and text(r.stdout) ==
        f"registered {OTHER} as 'hvcat service'\n", detail(r))
t.check("... with a warning that Linux and FreeBSD guests cannot use it",
        one_line(r.stderr) and
        "Linux and FreeBSD guests cannot use it" in text(r.stderr),
        detail(r))
t.check("reg.exe query: that key, lower case",
        registry().get(OTHER) == "hvcat service")

r = hvcat("--list-registered")
out = text(r.stdout)
t.check("--list-registered: exit 0", r.returncode == 0, detail(r))
t.check("--list-registered: the port's line",
        f"{GUID}  {PORT:<10}  my build agent\n" in out, out)
t.check("--list-registered: the other GUID, port '-'",
        f"{OTHER}  -           hvcat service\n" in out, out)
t.check("--list-registered: one line per key reg.exe shows",
        len(out.splitlines()) == len(
            [g for g in registry() if re.fullmatch(r"[0-9a-f-]{36}", g)]),
        out)

# ---- bad input ----------------------------------------------------------
usage_error("--register 2147483648", ["--register", "2147483648"],
            r"--register '2147483648': bad port")
usage_error("--register -1", ["--register", "-1"],
            r"expected a port number .* or a service GUID")
usage_error("--register of a mistyped GUID",
            ["--register", GUID[:-1] + "g"],
            r"expected a port number .* or a service GUID")
usage_error("--register of a short GUID", ["--register", GUID[:-2]],
            r"or a service GUID")
usage_error("--unregister of a mistyped GUID",
            ["--unregister", "x" + GUID[1:]], r"--unregister '")
usage_error("--name ''", ["--register", str(PORT2), "--name", ""],
            r"--name '': the name is empty")
usage_error("--name of 256 bytes",
            ["--register", str(PORT2), "--name", "n" * 256],
            r"--name '.*': the name is 256 bytes long \(at most 255\)")
usage_error("--name without --register",
            ["--name", "x", "--unregister", str(PORT)],
            r"--name needs --register")
usage_error("--register and --unregister", ["--register", str(PORT2),
                                            "--unregister", str(PORT)],
            r"only one of")
usage_error("--register with an address",
            ["--register", str(PORT2), "tcp:127.0.0.1:1"],
            r"take no address")

# ---- not elevated (hvcat-regfail.exe) -----------------------------------
before = registry()
r = hvcat("--register", str(PORT2), exe=prog.regfail,
          env={"HVTEST_REG_FAIL": "create"})
t.check("not elevated: --register exits 1 with one line",
        r.returncode == 1 and one_line(r.stderr) and r.stdout == b"",
        detail(r))
t.check("not elevated: --register says administrator rights are needed",
        text(r.stderr) == "hvcat-regfail: registering a service needs "
        "administrator rights: run from an elevated prompt\n", detail(r))
t.check("not elevated: nothing registered", registry() == before)
r = hvcat("--register", str(PORT2), exe=prog.regfail,
          env={"HVTEST_REG_FAIL": "set"})
t.check("ElementName refused: exit 1, the new key removed again",
        r.returncode == 1 and registry() == before, detail(r))
r = hvcat("--unregister", str(PORT), exe=prog.regfail,
          env={"HVTEST_REG_FAIL": "delete"})
t.check("not elevated: --unregister exits 1 with one line",
        r.returncode == 1 and one_line(r.stderr) and
        "needs administrator rights: run from an elevated prompt" in
        text(r.stderr), detail(r))
t.check("not elevated: the registration stays", registry() == before)
r = hvcat("--list-registered", exe=prog.regfail,
          env={"HVTEST_REG_FAIL": "create,set,delete"})
t.check("not elevated: --list-registered works",
        r.returncode == 0 and GUID in text(r.stdout), detail(r))

# ---- hvproxy.exe's start-up warning -------------------------------------


def proxy(port):
    """hvproxy.exe -v hvsock:wildcard:PORT tcp:127.0.0.1:9: it cannot
    listen under wine (no AF_HYPERV) and exits; its log."""
    r = winexe.run([prog.hvproxy, "-v", f"hvsock:wildcard:{port}",
                    "tcp:127.0.0.1:9"], timeout=IO)
    return r, text(r.stderr) + text(r.stdout)


r, log = proxy(PORT2)
want = (f"service GUID {GUID2} (port {PORT2}) is not registered: guests "
        f"cannot connect; run: hvcat --register {PORT2} (as administrator)")
t.check("hvproxy.exe ends (no AF_HYPERV under wine)",
        r.returncode not in (0, "timeout"), detail(r))
t.check("hvproxy.exe warns of the unregistered service",
        re.search(r"warning: forward \S+: " + re.escape(want), log), log)
t.check("... before it tries to listen",
        log.find(want) >= 0 and log.find(want) < log.find("cannot listen"),
        log)
r, log = proxy(PORT)
t.check("hvproxy.exe: no warning for a registered service",
        "is not registered" not in log and "cannot listen" in log, log)

# ---- unregister ---------------------------------------------------------
r = hvcat("--unregister", str(PORT))
t.check("--unregister PORT: exit 0",
        r.returncode == 0 and text(r.stdout) ==
        f"unregistered {GUID} (port {PORT})\n", detail(r))
t.check("reg.exe query: the key is gone", GUID not in registry())
r = hvcat("--unregister", str(PORT))
t.check("--unregister of what is not registered: exit 1, one line",
        r.returncode == 1 and one_line(r.stderr) and
        f"{GUID} (port {PORT}) is not registered" in text(r.stderr),
        detail(r))
r = hvcat("--unregister", OTHER)
t.check("--unregister GUID: exit 0", r.returncode == 0, detail(r))
t.check("reg.exe query: none of this run's keys left",
        not {GUID, GUID2, OTHER} & set(registry()))

# ---- docs/windows.md, "Registering services" ----------------------------
with open(doc_path, encoding="utf-8") as f:
    doc = f.read()
m = re.search(r"^Registering services\n-+\n(.*?)(?=^\S[^\n]*\n-+\n)",
              doc, re.S | re.M)
steps = []  # (command, [output lines])
for line in (m.group(1) if m else "").splitlines():
    if line.startswith("    > hvcat "):
        steps.append((line[6:], []))
    elif line.startswith("    ") and steps and line.strip():
        steps[-1][1].append(line[4:])
    elif not line.startswith("    "):
        if steps and steps[-1][0] != "":
            steps.append(("", []))  # the example ended
steps = [s for s in steps if s[0]]
t.check("docs/windows.md: the example's commands are found",
        len(steps) >= 4, steps)
for cmd, want_lines in steps:
    argv = shlex.split(cmd)[1:]
    r = hvcat(*argv)
    got = text(r.stdout).splitlines()
    if argv == ["--list-registered"]:
        ok = all(w in got for w in want_lines)  # others may be there
    else:
        ok = got == want_lines
    t.check(f"docs: `{cmd}` prints what the docs show",
            r.returncode == 0 and ok, f"{detail(r)} want {want_lines!r}")
t.check("docs: the example leaves nothing registered",
        "00001388" + TAIL not in registry())
warn = [ln[4:] for ln in (m.group(1) if m else "").splitlines()
        if ln.startswith("    hvproxy: warning: ")]
m = re.search(r"forward (\S+): ", warn[0]) if len(warn) == 1 else None
if t.check("docs: hvproxy.exe's warning is shown", m, warn):
    r, log = proxy(m.group(1).split(":")[-1])
    t.check("docs: hvproxy.exe warns as the docs show",
            warn[0] + "\n" in log, f"{log!r} want {warn[0]!r}")

t.done()
