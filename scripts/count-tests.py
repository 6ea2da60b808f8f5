#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sum meson's test logs (testlog.json) of all runs into one closing line,
"N passed, N failed", and fail if nothing ran at all.

Each test that did not pass is listed before that line with the end of its
output: CI keeps only the tail of a long run, and meson's own error log of
a failure in the first build is far above it."""
import json
import os
import sys

TAIL_LINES = 40

passed = failed = skipped = 0
failures = []
for path in sys.argv[1:]:
    if os.path.basename(os.path.dirname(path)) == "meson-logs":
        run = os.path.basename(os.path.dirname(os.path.dirname(path)))
    else:  # the checks that are not meson tests (scripts/test.sh)
        run = "checks"
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                test = json.loads(line)
                result = test.get("result", "")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
                    failures.append((run, test))
    except OSError as e:
        print(f"count-tests: cannot read {path}: {e}", file=sys.stderr)
        failed += 1

for run, test in failures:
    name = test.get("name", "?")
    result = test.get("result", "?")
    duration = test.get("duration", 0.0)
    print(f"=== FAILED in {run}: {name}: {result} after {duration:.1f} s")
    lines = ((test.get("stdout") or "") + (test.get("stderr") or "")).splitlines()
    # TAP's failed points may be far above the tail: name them first.
    for out_line in [x for x in lines if x.startswith("not ok")][:20]:
        print(f"  ! {out_line}")
    for out_line in lines[-TAIL_LINES:]:
        print(f"  | {out_line}")

if skipped:
    # Reported apart: the last line must stay exactly "N passed, N failed".
    print(f"count-tests: {skipped} skipped")
print(f"{passed} passed, {failed} failed")
if passed == 0:
    print("count-tests: no test ran", file=sys.stderr)
    sys.exit(1)
sys.exit(1 if failed else 0)
