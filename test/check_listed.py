#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests-listed: every test file in the tree is listed in meson.

    check_listed.py TEST_DIR LISTED_FILE...

meson passes the files of every list of tests (listed_tests in
test/meson.build, whatever this build registers). A listed file that is
missing already stopped meson at configure time; this is the other way
round: a test program or script in the tree that no list names would
never run, so each one found here must be among the listed files.

What counts as a test file (paths under TEST_DIR):
    unit/test_*.c, unit/header_check.c    the unit programs
    integration/*/*.py, hardening/*.py    TAP scripts (the helpers live in
    windows/*.py                          test/pylib, not beside them)
    windows/*/win_*.py, windows/*/test_*.c  the Windows folders' tests
    integration/*/test_*.c, integration/*/*_units.c
    vm/*.c, vm/job-*.sh, vm/jobs/*.sh     the VM suite's programs and jobs
    build/*.sh                            install checks
Not tests, by design: NOT_TESTS below.
"""
import glob
import os
import sys

from hvtest import Tap

PATTERNS = [
    "unit/test_*.c", "unit/header_check.c",
    "integration/*/*.py", "integration/*/test_*.c",
    "integration/*/*_units.c",
    "hardening/*.py", "windows/*.py",
    "windows/*/win_*.py", "windows/*/test_*.c",
    "vm/*.c", "vm/job-*.sh", "vm/jobs/*.sh",
    "build/*.sh",
]
NOT_TESTS = {
    "vm/jobs/bench-vsock.sh": "the benchmark's VM part (bench/run.sh)",
    "vm/jobs/profile-vsock.sh": "the benchmark's vsock profile "
                                "(bench/run.sh --vsock-profile)",
}

t = Tap()
if len(sys.argv) < 2:
    t.check("usage: check_listed.py TEST_DIR LISTED_FILE...", False)
    t.done()
top = os.path.realpath(sys.argv[1])
listed = {os.path.realpath(p) for p in sys.argv[2:]}
found = sorted({os.path.relpath(os.path.realpath(p), top)
                for pat in PATTERNS
                for p in glob.glob(os.path.join(top, pat))})
t.check(f"found test files under {top}", len(found) > 0)
for rel in found:
    if rel in NOT_TESTS:
        t.note(f"{rel}: not a test, {NOT_TESTS[rel]}")
        continue
    t.check(f"{rel} is listed in meson",
            os.path.join(top, rel) in listed,
            "add it to its folder's list of tests in meson.build")
t.done()
