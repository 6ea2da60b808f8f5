#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sum up test/vm/jobs/profile-vsock.sh's output (DIR/profile.tsv and
DIR/strace-*.txt) as Markdown tables: what each tool costs per MB over
real AF_VSOCK, and what sizes its reads and writes actually moved.

    vsock-profile.py DIR
"""
import collections
import glob
import os
import re
import sys

READS = ("read", "readv", "recvfrom", "recvmsg")
WRITES = ("write", "writev", "sendto", "sendmsg")
WAITS = ("epoll_wait", "epoll_pwait", "poll", "ppoll", "select", "pselect6")
SCENARIOS = [("t2v", "relay tcp→vsock"), ("v2t", "relay vsock→tcp"),
             ("send", "client file→vsock"), ("recv", "client vsock→file")]
BINS = [(0, "<4K"), (4096, "4-16K"), (16384, "16-64K"), (65536, "64-128K"),
        (131072, "128-256K"), (262144, "≥256K")]


def load_tsv(path):
    d = collections.defaultdict(dict)
    nbytes = 0
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) != 4:
                continue
            if p[2] == "bytes":
                nbytes = int(p[3])
                continue
            key = p[2].replace("syscalls:sys_enter_", "")
            key = key.replace("raw_syscalls:sys_enter", "syscalls")
            d[(p[0], p[1])][key] = float(p[3])
    return d, nbytes


def perf_table(d, nbytes):
    mb = nbytes / 1e6
    L = ["| scenario | tool | MB/s | CPU ms/MB | ctx switches/MB | "
         "syscalls/MB | reads/MB | writes/MB | waits/MB | "
         "bytes/read | bytes/write |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
    for scn, label in SCENARIOS:
        for (s, tool), v in sorted(d.items()):
            if s != scn:
                continue
            rd = sum(v.get(k, 0) for k in READS)
            wr = sum(v.get(k, 0) for k in WRITES)
            wt = sum(v.get(k, 0) for k in WAITS)
            L.append("| %s | %s | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f | "
                     "%.1f | %s | %s |" % (
                         label, tool, mb / max(v.get("ms", 1), 1) * 1000,
                         v.get("task-clock", 0) / mb,
                         v.get("context-switches", 0) / mb,
                         v.get("syscalls", 0) / mb, rd / mb, wr / mb,
                         wt / mb, "{:,.0f}".format(nbytes / rd) if rd else "-",
                         "{:,.0f}".format(nbytes / wr) if wr else "-"))
    return L


LINE = re.compile(r"^\d+\s+(?:<\.\.\. )?(\w+)(?:\(| resumed>)(.*)= (-?\d+)"
                  r"(?: (E[A-Z]+))?")


def strace_summary(path):
    """Per call: successful sizes, EAGAINs; and setsockopt lines."""
    sizes = {"r": [], "w": []}
    again = collections.Counter()
    opts = set()
    with open(path, errors="replace") as f:
        for line in f:
            if "unfinished" in line:
                continue
            m = LINE.match(line)
            if m is None:
                continue
            call, rv, err = m.group(1), int(m.group(3)), m.group(4)
            if call == "setsockopt":
                opts.add(re.sub(r"^\d+\s+", "", line.strip()))
            kind = "r" if call in READS else "w" if call in WRITES else None
            if kind is None:
                continue
            if err == "EAGAIN":
                again[kind] += 1
            elif rv > 0:
                sizes[kind].append(rv)
    return sizes, again, sorted(opts)


def hist(vals):
    cnt = [0] * len(BINS)
    for v in vals:
        for i in range(len(BINS) - 1, -1, -1):
            if v >= BINS[i][0]:
                cnt[i] += 1
                break
    return cnt


def strace_tables(outdir):
    L = ["| scenario | tool | side | calls | median | " +
         " | ".join(b[1] for b in BINS) + " | EAGAIN |",
         "|---|---|---|---|---|" + "---|" * len(BINS) + "---|"]
    opts_all = []
    for scn, label in SCENARIOS:
        for path in sorted(glob.glob(os.path.join(outdir,
                                                  "strace-%s-*.txt" % scn))):
            tool = os.path.basename(path)[len("strace-%s-" % scn):-4]
            sizes, again, opts = strace_summary(path)
            for kind, side in (("r", "reads"), ("w", "writes")):
                v = sorted(sizes[kind])
                if not v:
                    continue
                L.append("| %s | %s | %s | %d | %s | %s | %d |" % (
                    label, tool, side, len(v), "{:,}".format(v[len(v) // 2]),
                    " | ".join(str(c) for c in hist(v)), again[kind]))
            for o in opts:
                opts_all.append("- %s, %s: `%s`" % (label, tool, o))
    return L, opts_all


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    d, nbytes = load_tsv(os.path.join(outdir, "profile.tsv"))
    print("## Per MB, without tracing (perf stat, the tool's processes "
          "only; %d bytes per transfer)" % nbytes)
    print()
    print("\n".join(perf_table(d, nbytes)))
    print()
    print("## Sizes moved per call (strace -f; slowed down, so sizes are "
          "upper bounds)")
    print()
    t, opts = strace_tables(outdir)
    print("\n".join(t))
    print()
    print("## Socket options set")
    print()
    print("\n".join(opts) if opts else "(none)")


if __name__ == "__main__":
    main()
