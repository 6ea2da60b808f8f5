#!/bin/sh
# SPDX-License-Identifier: MIT
# Valgrind memcheck runs of the test suite (figures in SECURITY.md).
#
#   scripts/valgrind.sh [--ci] [--hardening] [TEST...]
#
# Builds a separate tree without sanitizers (build-valgrind, or $VG_BUILD)
# and runs, each under valgrind's memcheck:
#
#   unit         every compiled test program of the unit and integration
#                suites (cmocka: addr, relay, hvproxy-units, ...), through
#                `meson test --wrap`;
#   integration  the Python-driven integration tests (hvproxy-*, hvcat-*),
#                with the hvproxy and hvcat binaries they start replaced by
#                wrapper scripts that run them under valgrind (the Python
#                drivers themselves are not checked);
#   hardening    with --hardening, the fault-injection tests of
#                test/hardening the same way (not the soak).
#
# --ci runs the subset CI can afford (a few minutes; see CI_UNIT and
# CI_INTEGRATION below). TEST... restricts the run to those test names.
#
# A run is clean when no valgrind log reports an error: invalid reads or
# writes, uses of uninitialised values, invalid frees, and memory
# definitely or indirectly lost at exit (--errors-for-leak-kinds). Memory
# still reachable at exit is reported, not counted. Valgrind makes
# programs 20-50 times slower, so a test may also fail for its own
# timing checks; those failures are listed apart from valgrind's
# findings, which alone decide the exit status (0 clean, 1 errors found,
# 2 could not run). Suppressions: test/valgrind.supp.
#
# Logs: BUILD/valgrind-logs/ (one file per process, NAME.PID.log) and a
# summary in BUILD/valgrind-logs/summary.txt.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

ci=0
hardening=0
while [ $# -gt 0 ]; do
	case $1 in
	--ci) ci=1; shift ;;
	--hardening) hardening=1; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "valgrind.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done

# The subset for CI: fast to run under valgrind, and together they reach
# the parsers, the socket layer, every path of the relay engine (unit
# relay), hvproxy's config/limits/drain/reload code and hvcat's pump.
CI_UNIT="error guid addr socket sysfault listener connect relay header-check hvproxy-units"
CI_INTEGRATION="hvproxy-cli hvproxy-forwards hvproxy-targets hvproxy-reload hvproxy-drain hvproxy-limits hvproxy-peers hvcat-exec hvcat-probe hvcat-copy"

command -v valgrind >/dev/null 2>&1 || {
	echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 2
}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

build=${VG_BUILD:-build-valgrind}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Db_sanitize=none -Dvm_tests=disabled \
	    -Dbuildtype=debugoptimized >"$build.setup.log" 2>&1 || {
		cat "$build.setup.log" >&2
		echo "valgrind.sh: meson setup failed" >&2
		exit 2
	}
fi
ninja -C "$build" >"$build.build.log" 2>&1 || {
	tail -n 40 "$build.build.log" >&2
	echo "valgrind.sh: build failed" >&2
	exit 2
}
build=$(cd "$build" && pwd)
logs=$build/valgrind-logs
rm -rf "$logs"
mkdir -p "$logs/wrap"
# Some tests run a tool as another user (hvcat-probe: port 1 as nobody):
# valgrind must be able to write that process's log too.
chmod 1777 "$logs"

VG_OPTS="--tool=memcheck --error-exitcode=99 --leak-check=full \
--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
--num-callers=40 --child-silent-after-fork=yes \
--suppressions=$top/test/valgrind.supp ${VG_EXTRA:-}"

# Wrappers: each program started under valgrind, one log per process.
for prog in hvproxy hvcat; do
	bin=$(find "$build/bin" -type f -name "$prog" -perm -u+x | head -n 1)
	[ -n "$bin" ] || continue
	cat >"$logs/wrap/$prog" <<EOF
#!/bin/sh
exec valgrind $VG_OPTS --log-file=$logs/$prog.%p.log $bin "\$@"
EOF
	chmod +x "$logs/wrap/$prog"
done

# Select and run the tests (meson's introspection says what each one is).
VG_CI=$ci VG_HARDENING=$hardening VG_OPTS=$VG_OPTS VG_LOGS=$logs \
VG_BUILD=$build VG_TOP=$top CI_UNIT=$CI_UNIT CI_INTEGRATION=$CI_INTEGRATION \
    "$PY" - "$@" <<'PYEOF'
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import time

build, top, logs = (os.environ[k] for k in ("VG_BUILD", "VG_TOP", "VG_LOGS"))
ci = os.environ["VG_CI"] == "1"
only = set(sys.argv[1:])
tests = json.loads(subprocess.run(
    ["meson", "introspect", "--tests", build], capture_output=True,
    text=True, check=True).stdout)
wrap = {p: os.path.join(logs, "wrap", p) for p in ("hvproxy", "hvcat")
        if os.path.exists(os.path.join(logs, "wrap", p))}
real = {}
for p in wrap:
    with open(wrap[p]) as f:
        real[p] = f.read().split()[-2]  # the binary in the exec line

unit, driven = [], []
for t in tests:
    suites = [s.split(":")[-1] for s in t["suite"]]
    name = t["name"]
    if only and name not in only:
        continue
    cmd = t["cmd"]
    compiled = cmd[0].startswith(build) and not cmd[0].endswith((".py", ".sh"))
    if compiled and ("unit" in suites or "integration" in suites):
        if not ci or name in os.environ["CI_UNIT"].split():
            unit.append(t)
    elif os.path.basename(cmd[0]).startswith("python") or \
            cmd[0].endswith("python3"):
        hard = "hardening" in suites
        if "integration" in suites or (hard and (
                os.environ["VG_HARDENING"] == "1" or name in only)):
            if name == "hardening-soak":
                continue
            if not ci or name in os.environ["CI_INTEGRATION"].split() \
                    or name in only:
                driven.append(t)

results = []  # (name, kind, seconds, test status)
t0 = time.monotonic()
if unit:
    names = [t["name"] for t in unit]
    print(f"valgrind.sh: {len(names)} compiled tests under memcheck: "
          f"{' '.join(names)}", flush=True)
    vg = ("valgrind " + os.environ["VG_OPTS"] +
          f" --log-file={logs}/unit.%p.log")
    start = time.monotonic()
    # Valgrind keeps descriptors of its own above the soft RLIMIT_NOFILE
    # and virtualises the limit: a test that lowers it to provoke EMFILE
    # (listener's test_emfile_real) cannot work under it. Its fault is also
    # injected without the limit (test_emfile_scripted, sysmock) and runs
    # here.
    env = dict(os.environ, TEST_SKIP="test_emfile_real")
    r = subprocess.run(["meson", "test", "-C", build, "--no-rebuild",
                        "--timeout-multiplier", "20", "--num-processes", "2",
                        "--wrap", vg] + names, capture_output=True,
                       text=True, env=env)
    for line in r.stdout.splitlines():
        m = re.match(r"\s*\d+/\d+ \S+ / (\S+)\s+(\S+)\s+([\d.]+)s", line)
        if m:
            results.append((m.group(1), "unit", float(m.group(3)),
                            m.group(2)))
    if not results:
        print(r.stdout[-3000:], r.stderr[-2000:])

for t in driven:
    env = dict(os.environ)
    env.update(t.get("env", {}))
    cmd = list(t["cmd"])
    # meson gives built programs relative to the build folder
    # (bin/hvcat/hvcat): compare absolute paths.
    absol = [os.path.normpath(os.path.join(t.get("workdir") or build, c))
             for c in cmd]
    for p, w in wrap.items():
        cmd = [w if a == real[p] else c for c, a in zip(cmd, absol)]
        for k, v in list(env.items()):
            if v == real[p]:
                env[k] = w
    env["HVPROXY"] = wrap.get("hvproxy", env.get("HVPROXY", ""))
    timeout = (t.get("timeout") or 60) * 10
    start = time.monotonic()
    print(f"valgrind.sh: {t['name']} ...", flush=True)
    try:
        r = subprocess.run(cmd, env=env, cwd=t.get("workdir") or build,
                           capture_output=True, text=True, timeout=timeout)
        out, rc = r.stdout, r.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") \
            if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc = "timeout"
    with open(os.path.join(logs, f"test.{t['name']}.txt"), "w") as f:
        f.write(out)
    bad = [ln for ln in out.splitlines()
           if ln.startswith("not ok") and "# TODO" not in ln]
    status = "OK" if rc == 0 and not bad else \
        ("TIMEOUT" if rc == "timeout" else f"FAIL({len(bad)} checks)")
    results.append((t["name"], "driven", time.monotonic() - start, status))

# ---- the logs
summary = {"logs": 0, "with_errors": 0, "errors": 0, "definitely": 0,
           "indirectly": 0, "unfinished": 0}
flagged = []
for path in sorted(glob.glob(os.path.join(logs, "*.log"))):
    with open(path, errors="replace") as f:
        text = f.read()
    summary["logs"] += 1
    m = re.findall(r"ERROR SUMMARY: ([\d,]+) errors", text)
    if not m:
        # Killed (SIGKILL) before exit: what it found until then is in the
        # log, but there was no leak check.
        summary["unfinished"] += 1
        n = len(re.findall(r"^==\d+== (Invalid|Conditional|Use of|"
                           r"Syscall param|Mismatched|Source and)", text,
                           re.M))
    else:
        n = int(m[-1].replace(",", ""))
    for kind in ("definitely", "indirectly"):
        lost = re.findall(r"%s lost: ([\d,]+) bytes" % kind, text)
        if lost:
            summary[kind] += int(lost[-1].replace(",", ""))
    if n:
        summary["with_errors"] += 1
        summary["errors"] += n
        flagged.append((os.path.basename(path), n))

lines = [f"valgrind memcheck, {time.strftime('%Y-%m-%d %H:%M')}, "
         f"{'CI subset' if ci else 'full run'}, "
         f"{time.monotonic() - t0:.0f} s"]
for name, kind, secs, status in results:
    lines.append(f"  {name:28s} {kind:7s} {secs:7.1f} s  test {status}")
lines.append(f"processes checked: {summary['logs']} "
             f"({summary['unfinished']} killed before exit, no leak check); "
             f"errors: {summary['errors']} in {summary['with_errors']} "
             f"processes; definitely lost {summary['definitely']} bytes, "
             f"indirectly lost {summary['indirectly']} bytes")
for name, n in flagged[:20]:
    lines.append(f"  ERRORS: {name}: {n}")
text = "\n".join(lines)
print(text)
with open(os.path.join(logs, "summary.txt"), "w") as f:
    f.write(text + "\n")
if not results:
    print("valgrind.sh: no test selected", file=sys.stderr)
    sys.exit(2)
sys.exit(1 if summary["errors"] else 0)
PYEOF
