#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Copy the C example of README.md (the ```c block after the line
'<!-- example: hello.c -->') to a file, so the test suite compiles exactly
what the README shows."""
import sys

src, dst = sys.argv[1], sys.argv[2]
lines = open(src, encoding="utf-8").read().splitlines()
try:
    start = lines.index("<!-- example: hello.c -->")
except ValueError:
    sys.exit("README.md has no '<!-- example: hello.c -->' marker")
out, inside = [], False
for line in lines[start + 1:]:
    if not inside and line.strip() == "```c":
        inside = True
        continue
    if inside and line.strip() == "```":
        break
    if inside:
        out.append(line)
if not out:
    sys.exit("README.md: no ```c block after the example marker")
with open(dst, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
