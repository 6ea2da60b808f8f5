#!/usr/bin/env python3
"""Sum meson's test logs (testlog.json) of all runs into one closing line,
"N passed, N failed", and fail if nothing ran at all."""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                result = json.loads(line).get("result", "")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except OSError as e:
        print(f"count-tests: cannot read {path}: {e}", file=sys.stderr)
        failed += 1

if skipped:
    # Reported apart: the last line must stay exactly "N passed, N failed".
    print(f"count-tests: {skipped} skipped")
print(f"{passed} passed, {failed} failed")
if passed == 0:
    print("count-tests: no test ran", file=sys.stderr)
    sys.exit(1)
sys.exit(1 if failed else 0)
