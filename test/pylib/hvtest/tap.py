# SPDX-License-Identifier: MIT
"""The TAP writer of every Python test (meson's protocol: 'tap').

    t = Tap()
    t.check("name", ok, "what to print if it failed")
    t.skip("name", "why")
    t.done()                 # the plan and a summary; exit 1 on a failure

Lines are printed as results come ("ok 3 - name", "not ok 4 - name"); a
failed check's detail follows as diagnostic lines ("#   ..."). A private
folder (t.tmp, t.path()) holds a test's files and is removed at exit,
after every process the test started (hvtest.proc) has been killed.
"""
import atexit
import shutil
import sys
import tempfile

from hvtest import proc


class Tap:
    def __init__(self, prefix="hvtest."):
        self.n = self.passed = self.failed = self.skipped = self.todos = 0
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        # Also when the script dies of an exception: no process or file
        # is left behind.
        atexit.register(self.cleanup)

    # ---- results
    def _diag(self, detail, tail=None):
        if detail is None or detail == "" or detail == b"":
            return
        lines = str(detail).rstrip().splitlines()
        for line in lines[-tail:] if tail else lines:
            print(f"#   {line}", flush=True)

    def check(self, name, ok, detail=""):
        """One result: passes if @ok is true. @detail (anything, str()ed)
        is printed under a failure. Returns @ok."""
        self.n += 1
        if ok:
            self.passed += 1
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}", flush=True)
            self._diag(detail)
        return ok

    def skip(self, name, why):
        """A check that cannot run here (counted as skipped)."""
        self.n += 1
        self.skipped += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def todo(self, name, ok, bug, detail=""):
        """A check that a known, reported bug makes fail: TAP's TODO.
        meson counts 'not ok ... # TODO' as an expected failure and
        'ok ... # TODO' as an unexpected pass (a failure), so the line has
        to become a plain check() once the bug is fixed. Not counted in
        .failed. Returns @ok."""
        self.n += 1
        self.todos += 1
        if ok:
            print(f"ok {self.n} - {name} # TODO {bug}", flush=True)
        else:
            print(f"not ok {self.n} - {name} # TODO {bug}", flush=True)
            self._diag(detail, tail=12)
        return ok

    def note(self, text):
        """Comment lines ("# ...") in the output."""
        for line in str(text).rstrip().splitlines():
            print(f"# {line}", flush=True)

    # ---- files and processes
    def path(self, name):
        """@name in this test's private folder."""
        return f"{self.tmp}/{name}"

    def track(self, p):
        """Kill the Popen @p at the end if it still runs; returns @p."""
        return proc.track(p)

    def cleanup(self):
        proc.kill_all()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- the end
    def skip_all(self, why):
        """Nothing (more) here can run: the whole script is a skip if no
        result came before (else it ends as done() does). Exits."""
        if self.n:
            self.note(f"the rest is skipped: {why}")
            self.done()
        self.cleanup()
        print(f"1..0 # SKIP {why}", flush=True)
        sys.exit(0)

    def done(self):
        """The plan and a summary; exit 1 if a check failed. (meson counts
        a script whose every result is a skip as skipped.)"""
        self.cleanup()
        print(f"1..{self.n}")
        print(f"# {self.passed} passed, {self.failed} failed, "
              f"{self.skipped} skipped" +
              (f", {self.todos} todo" if self.todos else ""), flush=True)
        sys.exit(1 if self.failed else 0)
