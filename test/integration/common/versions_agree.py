#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""common-versions-agree: one version everywhere. meson.build's version
(passed in) is what `hvcat --version` and `hvproxy --version` print for
themselves and for the library they run with (hvs_version()), what
libhvsock.pc says, the newest release in NEWS and the newest entry of
debian/changelog; a release tag, when HEAD carries one, is vX.Y.Z of
the same number.

Usage: versions_agree.py VERSION SOURCE_DIR HVCAT HVPROXY PC_FILE"""
import os
import re
import subprocess
import sys

from hvtest.tap import Tap

version, src, hvcat, hvproxy, pc = sys.argv[1:6]
t = Tap()


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.strip()


for name, exe in (("hvcat", hvcat), ("hvproxy", hvproxy)):
    rc, out = run([exe, "--version"])
    m = re.match(r"(\S+) (\S+) \(libhvsock (\S+)[,)]", out)
    t.check(f"{name} --version: exit 0, '{name} {version} (libhvsock "
            f"{version}...'", rc == 0 and m is not None and
            m.groups() == (name, version, version), out)

with open(pc, encoding="utf-8") as f:
    pcv = re.search(r"^Version: (\S+)$", f.read(), re.M)
t.check(f"libhvsock.pc: Version: {version}",
        pcv is not None and pcv.group(1) == version,
        pcv.group(0) if pcv else "no Version line")

with open(os.path.join(src, "NEWS"), encoding="utf-8") as f:
    news = re.search(r"^(\d+\.\d+\.\d+)\b", f.read(), re.M)
t.check(f"NEWS: the newest release is {version}",
        news is not None and news.group(1) == version,
        news.group(0) if news else "no release heading")

changelog = os.path.join(src, "debian", "changelog")
if os.path.exists(changelog):
    with open(changelog, encoding="utf-8") as f:
        first = f.readline()
    m = re.match(r"\S+ \(([^)-]+)-[^)]+\)", first)
    t.check(f"debian/changelog: the newest entry is {version}-N",
            m is not None and m.group(1) == version, first.strip())

# A tag on HEAD (a release being built) must be this version.
try:
    tags = subprocess.run(["git", "-C", src, "tag", "--points-at", "HEAD"],
                          capture_output=True, text=True,
                          timeout=30).stdout.split()
except (OSError, subprocess.TimeoutExpired):
    tags = []
rel = [x for x in tags if re.match(r"v\d+\.\d+\.\d+$", x)]
t.check(f"a release tag on HEAD, if any, is v{version}",
        all(x == "v" + version for x in rel),
        " ".join(rel) or "no release tag on HEAD")
sys.exit(t.done())
