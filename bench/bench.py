#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench.py - the benchmark behind bench/run.sh (see bench/README.md).

Runs direct (no relay), hvproxy, socat (default and -b 262144, fork) and
ncat (-k --sh-exec) on the same loopback workloads, driven by hvbench (C),
interleaved rep by rep so that the load of a shared machine falls on every
tool alike; then, optionally, the real-vsock part in the test VM
(test/vm/jobs/bench-vsock.sh). Writes latest.md, latest.json, latest.png
(gnuplot) to the output folder.

Loopback only: every address is 127.0.0.1. Every wait is bounded.

It needs the tests' Python library (test/pylib), which bench/run.sh puts
on PYTHONPATH; to run it by hand: PYTHONPATH=test/pylib bench/bench.py.
"""
import argparse
import datetime
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

from hvtest import Daemon, free_port, wait_for
from hvtest.procinfo import memory_kb

TOOLS = ["direct", "hvproxy", "socat", "socat-b256k", "ncat"]
RELAYS = TOOLS[1:]
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---- processes ---------------------------------------------------------


def read_stat(pid):
    """(ppid, utime, stime, cutime, cstime) in ticks, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return (int(rest[1]), int(rest[11]), int(rest[12]), int(rest[13]),
            int(rest[14]))


def all_stats():
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(int(d))
            if st is not None:
                out[int(d)] = st
    return out


def descendants(root, stats=None):
    stats = stats if stats is not None else all_stats()
    kids = {}
    for pid, st in stats.items():
        kids.setdefault(st[0], []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out, stats


def accept_queue(port):
    """Connections waiting in the accept queue of the loopback listener
    on `port` (/proc/net/tcp: state 0A, rx_queue of a listener)."""
    n = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if p[3] == "0A" and int(p[1].split(":")[1], 16) == port:
                        n += int(p[4].split(":")[1], 16)
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return n


def tree_cpu(reaper):
    """CPU seconds of everything under `hvbench reap` (see hvbench.c):
    reaped orphans are in the reaper's cutime+cstime; each live
    descendant has its own times plus those of the children it reaped."""
    desc, stats = descendants(reaper)
    me = stats.get(reaper)
    if me is None:
        return None
    ticks = me[3] + me[4]
    for p in desc:
        st = stats.get(p)
        if st is not None:
            ticks += st[1] + st[2] + st[3] + st[4]
    return ticks / CLK_TCK


def pss_kib(pid):
    try:
        return memory_kb(pid)[1] or 0
    except OSError:
        return 0


def tree_pss(reaper):
    """PSS (KiB) of every process of the relay (not the reaper) and
    their count."""
    desc, _ = descendants(reaper)
    return sum(pss_kib(p) for p in desc), len(desc)


def listening(port):
    want = ":%04X" % port
    for name in ("/proc/net/tcp",):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[1].endswith(want) and parts[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def wait_listen(port, secs=10):
    return wait_for(lambda: listening(port), secs)


class Proc(Daemon):
    """A background process we started (its stderr appended to @logpath,
    stdout to /dev/null); stopped by its own pid only, with the processes
    it forked if it does not end on SIGTERM."""

    def __init__(self, argv, logpath, stdin=subprocess.DEVNULL):
        super().__init__(argv, logpath, stdin=stdin,
                         stdout=subprocess.DEVNULL)

    def stop(self, secs=8):
        if super().stop(secs) is None:
            desc, _ = descendants(self.pid)
            for d in desc:
                try:
                    os.kill(d, signal.SIGKILL)
                except OSError:
                    pass
        self.close()


def run_client(argv, timeout):
    """Run an hvbench client; its key=value line as a dict ({} on
    failure, with 'error')."""
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": "0", "error": "timeout after %ss" % timeout}
    out = r.stdout.decode(errors="replace").strip().splitlines()
    kv = {}
    if out:
        for tok in out[-1].split()[1:]:
            if "=" in tok:
                k, v = tok.split("=", 1)
                kv[k] = v
    if r.returncode != 0 or kv.get("ok") != "1":
        kv["ok"] = "0"
        kv["error"] = (r.stderr.decode(errors="replace").strip()[-300:] or
                       "exit %d" % r.returncode)
    return kv


# ---- the relays --------------------------------------------------------


def relay_argv(tool, hvproxy, lport, target):
    """The command line of each relay: listen on 127.0.0.1:lport,
    forward to `target` (host:port). socat gets a listen backlog like
    the others (its default is 5, which drops SYNs under churn)."""
    th, tp = target
    socat_l = "TCP-LISTEN:%d,bind=%s,reuseaddr,fork,backlog=4096" % (lport,
                                                                     HOST)
    if tool == "hvproxy":
        return [hvproxy, "-q", "tcp:%s:%d" % (HOST, lport),
                "tcp:%s:%d" % (th, tp)]
    if tool == "socat":
        return ["socat", socat_l, "TCP:%s:%d" % (th, tp)]
    if tool == "socat-b256k":
        return ["socat", "-b", "262144", socat_l, "TCP:%s:%d" % (th, tp)]
    if tool == "ncat":
        return ["ncat", "-k", "-l", HOST, str(lport), "-m", "20000",
                "--sh-exec", "exec ncat %s %d" % (th, tp)]
    raise ValueError(tool)


class Relay:
    def __init__(self, tool, ctx, target):
        self.tool = tool
        self.port = None
        self.proc = None
        if tool == "direct":
            self.port = target[1]
            return
        for _ in range(5):
            port = free_port()
            argv = [ctx.hvbench, "reap", "--"] + relay_argv(
                tool, ctx.hvproxy, port, target)
            self.proc = Proc(argv, os.path.join(ctx.logdir,
                                                "relay-%s.log" % tool))
            if wait_listen(port, 10):
                self.port = port
                break
            self.proc.stop()
            self.proc = None
        if self.port is None:
            raise RuntimeError("%s does not listen" % tool)
        self.base_procs = len(descendants(self.proc.pid)[0])

    @property
    def addr(self):
        return "tcp:%s:%d" % (HOST, self.port)

    def cpu(self):
        return None if self.proc is None else tree_cpu(self.proc.pid)

    def quiesce(self, secs=5):
        """Wait until per-connection processes are gone (fork relays),
        so that their CPU time is in the reaper's account, and until the
        listener's accept queue is empty: connections a churn client
        left there (closed already) still make ncat start a shell and an
        ncat each, ~150 ms of CPU apiece, which would otherwise be taken
        from whatever is measured next."""
        if self.proc is None:
            return
        end = time.time() + secs
        calm = 0
        while time.time() < end:
            if len(descendants(self.proc.pid)[0]) <= self.base_procs and \
                    accept_queue(self.port) == 0:
                calm += 1
                if calm >= 3:  # and stays so (ncat spawns in bursts)
                    return
            else:
                calm = 0
            time.sleep(0.02)

    def stop(self):
        if self.proc is not None:
            self.proc.stop()


# ---- statistics and formatting -----------------------------------------


def med(v):
    return statistics.median(v) if v else None


def fmt_num(x, digits):
    if x is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(x)
    return "{:.{}f}".format(x, digits)


def fmt_cell(vals, digits):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    if len(vals) == 1:
        return fmt_num(vals[0], digits)
    return "%s [%s–%s]" % (fmt_num(med(vals), digits),
                           fmt_num(min(vals), digits),
                           fmt_num(max(vals), digits))


# ---- the run -----------------------------------------------------------


class Ctx:
    pass


def add(res, metric, tool, value):
    res.setdefault(metric, {}).setdefault(tool, []).append(value)


def note_error(ctx, what, kv):
    msg = "%s: %s" % (what, kv.get("error", kv))
    ctx.errors.append(msg)
    log("ERROR " + msg)


def rotate(seq, k):
    k %= len(seq)
    return seq[k:] + seq[:k]


def run_loopback(ctx, res):
    c = ctx.cfg
    server_port = free_port()
    srv = Proc([ctx.hvbench, "serve", "--listen",
                "tcp:%s:%d" % (HOST, server_port), "--threads", "2"],
               os.path.join(ctx.logdir, "server.log"))
    ctx.procs.append(srv)
    if not wait_listen(server_port, 10):
        raise RuntimeError("hvbench server does not listen")
    target = (HOST, server_port)
    relays = {}
    for t in TOOLS:
        relays[t] = Relay(t, ctx, target)
        ctx.relays.append(relays[t])

    hvb = ctx.hvbench
    for rep in range(c["reps"]):
        order = rotate(TOOLS, rep)
        log("rep %d/%d: bulk, round trips, churn (%s)" %
            (rep + 1, c["reps"], " ".join(order)))
        for streams, key in ((1, "bulk1"), (8, "bulk8")):
            per = c["bulk_bytes"] // streams
            for t in order:
                r = relays[t]
                r.quiesce()
                cpu0 = r.cpu()
                kv = run_client([hvb, "bulk", "--connect", r.addr,
                                 "--streams", str(streams),
                                 "--bytes", str(per)], c["bulk_timeout"])
                if kv.get("ok") != "1":
                    note_error(ctx, "%s %s rep %d" % (t, key, rep + 1), kv)
                    continue
                r.quiesce()
                cpu1 = r.cpu()
                gb = int(kv["bytes"]) / 1e9
                add(res, key + "_gbps", t, float(kv["gbps"]))
                if cpu0 is not None and cpu1 is not None:
                    add(res, key + "_cpu_s_per_gb", t, (cpu1 - cpu0) / gb)
        for t in order:
            r = relays[t]
            kv = run_client([hvb, "rtt", "--connect", r.addr, "--count",
                             str(c["rtt_count"]), "--warmup", "200"], 120)
            if kv.get("ok") != "1":
                note_error(ctx, "%s rtt rep %d" % (t, rep + 1), kv)
                continue
            add(res, "rtt_median_us", t, float(kv["median_us"]))
            add(res, "rtt_p99_us", t, float(kv["p99_us"]))
            relays[t].quiesce()
        for conc in (1, 8):
            # ncat's churn last: it leaves the machine busy for a while
            # (a shell and an ncat per connection still to start).
            for t in [x for x in order if x != "ncat"] + \
                    [x for x in order if x == "ncat"]:
                r = relays[t]
                kv = run_client([hvb, "churn", "--connect", r.addr, "--conc",
                                 str(conc), "--secs", str(c["churn_secs"]),
                                 "--warm", str(c["churn_warm"])],
                                c["churn_secs"] + 60)
                if kv.get("ok") != "1":
                    note_error(ctx, "%s churn%d rep %d" % (t, conc, rep + 1),
                               kv)
                if "rate" not in kv:
                    continue
                add(res, "churn%d" % conc, t, float(kv["rate"]))
                r.quiesce(10)
    for t in RELAYS:
        relays[t].stop()
        ctx.relays.remove(relays[t])
    return target


def hold_once(ctx, tool, n, target, tag):
    """A fresh relay, n idle relayed connections (each proven by a 64-byte
    echo), PSS of the relay's processes while they are held."""
    relay = Relay(tool, ctx, target)
    ctx.relays.append(relay)
    try:
        time.sleep(0.2)
        base, _ = tree_pss(relay.proc.pid)
        ready = os.path.join(ctx.tmp, "hold-%s-%d.ready" % (tool, n))
        if os.path.exists(ready):
            os.unlink(ready)
        limit = 30 + n / 100.0
        hold = Proc([ctx.hvbench, "hold", "--connect", relay.addr, "--n",
                     str(n), "--secs", str(limit), "--hold", "300",
                     "--ready", ready],
                    os.path.join(ctx.logdir, "hold.log"),
                    stdin=subprocess.PIPE)
        wait_for(lambda: os.path.exists(ready) or not hold.alive(),
                 limit + 15, 0.05)
        if not os.path.exists(ready):
            hold.stop()
            ctx.errors.append("%s hold %d (%s): no result" % (tool, n, tag))
            return None
        with open(ready) as f:
            line = f.read().split()
        kv = dict(t.split("=", 1) for t in line[1:] if "=" in t)
        time.sleep(0.5)  # let the last forks settle
        total, nprocs = tree_pss(relay.proc.pid)
        fds = None
        if tool == "hvproxy":
            desc, _ = descendants(relay.proc.pid)
            try:
                fds = len(os.listdir("/proc/%d/fd" % desc[0]))
            except (OSError, IndexError):
                pass
        try:
            hold.proc.stdin.close()
        except OSError:
            pass
        if hold.wait(30) is None:
            hold.stop()
        hold.close()
        ok = int(kv.get("ok", "0"))
        return {"ok": ok, "want": n, "failed": int(kv.get("failed", "0")),
                "secs": float(kv.get("secs", "0")), "pss_kib": total,
                "base_kib": base, "procs": nprocs, "fds": fds,
                "last_error": kv.get("last_error", "-")}
    finally:
        relay.stop()
        ctx.relays.remove(relay)


def run_memory(ctx, res, target):
    c = ctx.cfg
    for rep in range(c["reps"]):
        for n_nominal in c["hold_n"]:
            for t in rotate(RELAYS, rep):
                n = min(n_nominal, c["ncat_hold_max"]) if t == "ncat" \
                    else n_nominal
                log("rep %d/%d: %s holds %d idle connections" %
                    (rep + 1, c["reps"], t, n))
                h = hold_once(ctx, t, n, target, "rep %d" % (rep + 1))
                if h is None:
                    continue
                if h["ok"] != n:
                    ctx.errors.append(
                        "%s hold %d rep %d: %d of %d held (%s)" %
                        (t, n, rep + 1, h["ok"], n, h["last_error"]))
                if h["ok"] == 0:
                    continue
                key = "n%d" % n_nominal
                add(res, "pss_per_conn_kib_" + key, t, h["pss_kib"] / h["ok"])
                add(res, "pss_marginal_kib_" + key, t,
                    (h["pss_kib"] - h["base_kib"]) / h["ok"])
                add(res, "hold_n_" + key, t, h["ok"])
                add(res, "hold_procs_" + key, t, h["procs"])
                if h["fds"] is not None:
                    add(res, "hold_fds_" + key, t, h["fds"])
    if not c["max_n"]:
        return
    for rep in range(c["reps"]):
        log("rep %d/%d: how many connections one hvproxy holds (try %d)" %
            (rep + 1, c["reps"], c["max_n"]))
        h = hold_once(ctx, "hvproxy", c["max_n"], target,
                      "max rep %d" % (rep + 1))
        if h is not None:
            add(res, "max_conns", "hvproxy", h["ok"])
            add(res, "max_conns_pss_per_conn_kib", "hvproxy",
                h["pss_kib"] / max(1, h["ok"]))
            ctx.max_detail.append(h)


def run_vm(ctx, res):
    c = ctx.cfg
    out = os.path.join(ctx.build, "bench", "vm")
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ)
    env.update({"HVS_BENCH_REPS": str(c["reps"]),
                "HVS_BENCH_SIZE": c["vm_size"],
                "HVS_BENCH_SECS": str(c["vm_churn_secs"]),
                "HVS_BENCH_SPAWNS": str(c["vm_spawns"])})
    argv = [os.path.join(ctx.source, "test", "vm", "run-vm.sh"),
            "--out", out, "--build-dir", ctx.build, "--source-dir",
            ctx.source, "--timeout", str(c["vm_timeout"]),
            os.path.join(ctx.source, "test", "vm", "jobs", "bench-vsock.sh"),
            ctx.hvbench, ctx.hvcat, ctx.hvproxy]
    # hvproxy and hvcat copy on vsock by themselves now (no splice on
    # AF_VSOCK, bench/NOTES.md): the *-copy variants of the job would
    # measure the same binary twice. HVS_BENCH_NOSPLICE=1 brings them back.
    nosplice = os.path.join(ctx.build, "bench", "nosplice.so")
    if os.environ.get("HVS_BENCH_NOSPLICE") == "1" and \
            os.path.exists(nosplice):
        argv.append(nosplice)
    log("the test VM: real AF_VSOCK (bounded by %d s)" % c["vm_timeout"])
    t0 = time.time()
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env,
                           timeout=c["vm_timeout"] + 60)
        text = r.stdout.decode(errors="replace")
        rc = r.returncode
    except subprocess.TimeoutExpired:
        text, rc = "timeout", 1
    with open(os.path.join(ctx.logdir, "vm.log"), "w") as f:
        f.write(text)
    ctx.vm_secs = time.time() - t0
    if rc == 77:
        ctx.vm_note = "skipped (no qemu, kernel or busybox-static here)"
        return
    if rc != 0:
        bad = [l for l in text.splitlines() if l.startswith("not ok")]
        ctx.errors.append("VM job exit %d: %s" % (rc, "; ".join(bad[:5]) or
                                                   text[-300:]))
    tsv = os.path.join(out, "bench.tsv")
    if not os.path.exists(tsv):
        ctx.vm_note = "no results (see %s)" % os.path.join(ctx.logdir,
                                                           "vm.log")
        return
    with open(tsv) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 4:
                add(res, "vm_" + p[1], p[0], float(p[3]))
    ctx.vm_note = ""


# ---- the report ---------------------------------------------------------


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=10
                              ).stdout.decode(errors="replace").strip()
    except subprocess.TimeoutExpired:
        return "?"


def machine(ctx):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' "
             "/proc/meminfo")
    return [
        ("date", datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip()),
        ("commit", sh("git -C '%s' describe --always --dirty 2>/dev/null" %
                      ctx.source) or "-"),
        ("CPU", "%s, nproc %d" % (cpu, os.cpu_count())),
        ("memory", mem),
        ("kernel", os.uname().release),
        ("fd limit (ulimit -n)", str(resource.getrlimit(
            resource.RLIMIT_NOFILE)[0])),
        ("load average before / after", "%s / %s" % (ctx.load0,
                                                     ctx.load1)),
        ("hvproxy", sh("'%s' --version" % ctx.hvproxy) +
         " (meson buildtype %s)" % ctx.buildtype),
        ("hvcat", sh("'%s' --version" % ctx.hvcat)),
        ("socat", sh("socat -V | sed -n 's/^socat version \\([^ ]*\\).*/\\1/p'")),
        ("ncat", sh("ncat --version 2>&1 | sed -n 's/.*Version \\([^ ]*\\).*/\\1/p'")),
        ("libevent", sh("pkg-config --modversion libevent 2>/dev/null") or "?"),
        ("compiler", sh("cc --version | head -n 1")),
    ]


ROWS = [
    # metric, label, digits, better
    ("bulk1_gbps", "bulk, 1 stream (GB/s)", 2, "high"),
    ("bulk8_gbps", "bulk, 8 streams (GB/s)", 2, "high"),
    ("bulk1_cpu_s_per_gb", "relay CPU, 1 stream (s/GB)", 3, "low"),
    ("bulk8_cpu_s_per_gb", "relay CPU, 8 streams (s/GB)", 3, "low"),
    ("rtt_median_us", "64 B round trip, median (µs)", 1, "low"),
    ("rtt_p99_us", "64 B round trip, p99 (µs)", 1, "low"),
    ("churn1", "churn, 1 client (conn/s)", 0, "high"),
    ("churn8", "churn, 8 clients (conn/s)", 0, "high"),
    # the idle rows come from hold_rows()
    ("max_conns", "max concurrent conns, one process", 0, "high"),
]


def hold_rows(ns):
    rows = []
    for n in ns:
        rows.append(("pss_per_conn_kib_n%d" % n,
                     "PSS / idle conn, N={:,} (KiB)".format(n), 1, "low"))
    for n in ns:
        rows.append(("pss_marginal_kib_n%d" % n,
                     "marginal (PSS(N) − PSS(0)) / N, N={:,} (KiB)".format(n),
                     2, "low"))
    rows.append(("hold_procs_n%d" % ns[-1],
                 "relay processes at N={:,}".format(ns[-1]), 0, "low"))
    return rows

VM_ROWS = [
    ("vm_relay_bulk_mbs", "relay tcp→vsock, 1 stream (MB/s)", 1),
    ("vm_relay_back_mbs", "relay vsock→tcp, 1 stream (MB/s)", 1),
    ("vm_relay_churn8", "relay tcp→vsock churn, 8 clients (conn/s)", 1),
    ("vm_client_bulk_mbs", "client file→vsock (MB/s)", 1),
    ("vm_client_recv_mbs", "client vsock→file (MB/s)", 1),
    ("vm_client_churn", "client, a process per conn (conn/s)", 2),
]


def table(res, rows, cols, digits_of=None):
    lines = ["| | " + " | ".join(cols) + " |",
             "|---|" + "---|" * len(cols)]
    for row in rows:
        metric, label, digits = row[0], row[1], row[2]
        if metric not in res:
            continue
        cells = [fmt_cell(res[metric].get(c, []), digits) for c in cols]
        if all(x == "-" for x in cells):
            continue
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return lines


def ratio(res, metric, a, b):
    va, vb = med(res.get(metric, {}).get(a, [])), \
        med(res.get(metric, {}).get(b, []))
    if va is None or vb is None or vb == 0:
        return None, va, vb
    return va / vb, va, vb


def targets(res, ctx):
    """(target, measured, required, verdict) rows: the figures hvproxy
    is held to."""
    out = []

    def rel(label, metric, a, b, need, higher=True, digits=2):
        r, va, vb = ratio(res, metric, a, b)
        if r is None:
            out.append((label, "not measured", "", "n/a"))
            return
        ok = r >= need if higher else r <= need
        out.append((label, "%s / %s = **%.2f×**" % (fmt_num(va, digits),
                                                    fmt_num(vb, digits), r),
                    ("≥ %.2f×" if higher else "≤ %.2f×") % need,
                    "PASS" if ok else "FAIL"))

    def absv(label, metric, tool, need, higher, digits, unit):
        v = med(res.get(metric, {}).get(tool, []))
        if v is None:
            out.append((label, "not measured", "", "n/a"))
            return
        ok = v >= need if higher else v <= need
        out.append((label, "**%s** %s" % (fmt_num(v, digits), unit),
                    ("≥ %s" if higher else "≤ %s") % fmt_num(need, digits)
                    + " " + unit, "PASS" if ok else "FAIL"))

    rel("1-stream throughput vs socat -b 262144", "bulk1_gbps", "hvproxy",
        "socat-b256k", 1.15)
    rel("1-stream throughput vs direct", "bulk1_gbps", "hvproxy", "direct",
        0.70)
    rel("8-stream throughput vs socat -b 262144", "bulk8_gbps", "hvproxy",
        "socat-b256k", 1.0)
    rel("churn, 8 clients, vs socat", "churn8", "hvproxy", "socat", 4.0,
        digits=0)
    rel("churn, 8 clients, vs direct", "churn8", "hvproxy", "direct", 0.85,
        digits=0)
    rel("round-trip median vs socat", "rtt_median_us", "hvproxy", "socat",
        1.0, higher=False, digits=1)
    absv("PSS per idle relayed conn, N=1,000", "pss_per_conn_kib_n1000",
         "hvproxy", 4.0, False, 2, "KiB")
    absv("PSS per idle relayed conn, N=5,000", "pss_per_conn_kib_n5000",
         "hvproxy", 4.0, False, 2, "KiB")
    absv("concurrent connections held by one hvproxy", "max_conns",
         "hvproxy", 9000, True, 0, "")
    absv("relay CPU per GB, 1 stream", "bulk1_cpu_s_per_gb", "hvproxy",
         0.25, False, 3, "s/GB")
    for metric, what in (("vm_relay_bulk_mbs", "tcp→vsock"),
                         ("vm_relay_back_mbs", "vsock→tcp")):
        rel("vsock in the VM: relay %s vs socat -b 262144" % what, metric,
            "hvproxy", "socat-b256k", 1.2, digits=1)
        rel("vsock in the VM: relay %s vs socat" % what, metric,
            "hvproxy", "socat", 2.0, digits=1)
    rel("vsock in the VM: hvcat file→vsock vs socat -b 262144",
        "vm_client_bulk_mbs", "hvcat", "socat-b256k", 1.2, digits=1)
    rel("vsock in the VM: hvcat vsock→file vs socat -b 262144",
        "vm_client_recv_mbs", "hvcat", "socat-b256k", 1.2, digits=1)
    rel("vsock in the VM: relay churn, 8 clients, vs socat",
        "vm_relay_churn8", "hvproxy", "socat", 3.0, digits=0)
    return out


def chart(ctx, res, png):
    gp = shutil.which("gnuplot")
    if gp is None:
        return "no chart: gnuplot is not installed (apt-get install " \
               "gnuplot-nox)"
    panels = [
        ("bulk1_gbps", "bulk, 1 stream (GB/s)", TOOLS, False),
        ("bulk8_gbps", "bulk, 8 streams (GB/s)", TOOLS, False),
        ("churn8", "churn, 8 clients (conn/s, log)", TOOLS, True),
        ("rtt_median_us", "64 B round trip, median (µs)", TOOLS, False),
        ("pss_per_conn_kib_n%d" % ctx.cfg["hold_n"][0],
         "PSS per idle conn, N={:,} (KiB, log)".format(ctx.cfg["hold_n"][0]),
         RELAYS, True),
        ("vm_relay_bulk_mbs", "VM, vsock relay, 1 stream (MB/s)", TOOLS,
         False),
    ]
    script = ['set terminal pngcairo size 1500,850 font "sans,10"',
              'set output "%s"' % png,
              'set multiplot layout 2,3 title "libhvsock bench: median, '
              'bars = min..max (%s)"' % ctx.stamp,
              "set style data histogram",
              "set style histogram errorbars gap 1 lw 1",
              "set style fill solid 0.7 border -1",
              "set boxwidth 0.8", "set grid ytics", "unset key",
              "set xtics rotate by -25 scale 0"]
    datadir = ctx.tmp
    for i, (metric, title, cols, logscale) in enumerate(panels):
        data = res.get(metric, {})
        path = os.path.join(datadir, "chart%d.dat" % i)
        with open(path, "w") as f:
            n = 0
            for t in cols:
                v = data.get(t, [])
                if v:
                    f.write('"%s" %g %g %g\n' % (t, med(v), min(v), max(v)))
                    n += 1
            if n == 0:
                f.write('"(not run)" 0 0 0\n')
            # a log scale needs values above 0
            logscale = logscale and n > 0 and all(
                min(v) > 0 for t, v in data.items() if v and t in cols)
        script.append('set title "%s"' % title)
        script.append("set logscale y" if logscale else "unset logscale y")
        script.append("set yrange [%s:*]" % ("*" if logscale else "0"))
        script.append("plot '%s' using 2:3:4:xtic(1) lc rgb '#3070b0'" % path)
    script.append("unset multiplot")
    sp = os.path.join(datadir, "chart.gp")
    with open(sp, "w") as f:
        f.write("\n".join(script) + "\n")
    r = subprocess.run([gp, sp], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        return "chart failed: " + r.stdout.decode(errors="replace")[-300:]
    return ""


def report(ctx, res):
    c = ctx.cfg
    L = []
    L.append("# libhvsock benchmark: hvproxy against socat and ncat")
    L.append("")
    L.append("Generated by `bench/run.sh%s` on %s. %d repetitions per "
             "figure, shown as **median [min–max]**, the tools interleaved "
             "rep by rep. Loopback only (127.0.0.1): TCP client → relay → "
             "TCP server, every byte verified at the receiver (bulk: the "
             "server compares the pattern; echoes: the client compares). "
             "The machine is shared: absolute figures are noisy, ratios "
             "within one run are what count." %
             (" --quick" if c["quick"] else "", ctx.stamp, c["reps"]))
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    for k, v in machine(ctx):
        L.append("| %s | %s |" % (k, v.replace("|", "\\|")))
    L.append("")
    L.append("## Loopback: TCP → relay → TCP")
    L.append("")
    L.append("Workloads: bulk = %s per run (8 streams share it), relay CPU "
             "= user+system seconds of all the relay's processes (children "
             "included) per GB moved; round trip = %d × 64 B ping-pong on "
             "one connection; churn = connect, 64 B echo, close for %.1f s "
             "(after %.1f s warm-up); idle = N connections each proven by "
             "one 64 B echo, then held while the PSS of every relay process "
             "is summed (/proc/PID/smaps_rollup). ncat idle: N = %d at most "
             "(it execs a new ncat, ~150 ms of CPU, per connection)." %
             (human(c["bulk_bytes"]), c["rtt_count"], c["churn_secs"],
              c["churn_warm"], c["ncat_hold_max"]))
    L.append("")
    L += table(res, ROWS[:-1] + hold_rows(c["hold_n"]) + ROWS[-1:], TOOLS)
    L.append("")
    L.append("## Targets, hvproxy, medians of this run")
    L.append("")
    L.append("| target | measured | required | |")
    L.append("|---|---|---|---|")
    for t in targets(res, ctx):
        L.append("| %s | %s | %s | %s |" % t)
    L.append("")
    L.append("## Real AF_VSOCK inside the test VM")
    L.append("")
    if ctx.vm_note is None:
        L.append("Not run (`--no-vm`%s)." %
                 (", or --quick without --vm" if c["quick"] else ""))
    elif ctx.vm_note:
        L.append(ctx.vm_note)
    else:
        L.append("QEMU under TCG (no KVM), Linux 6.1 with vsock_loopback, "
                 "2 vCPUs, %s per stream, %d reps, %.0f s for the whole VM "
                 "run. Relay: hvbench (tcp) → relay → vsock → hvbench server, and "
                 "hvbench (vsock) → relay → tcp → hvbench server; "
                 "client: a file → tool → vsock → raw sink (bytes verified by "
                 "the sink), hvbench source → vsock → tool → a file on tmpfs "
                 "(compared with the pattern after the run), and a process "
                 "per connection with a 64 B echo. "
                 "Emulated CPUs: compare within the table only." %
                 (c["vm_size"], c["reps"], ctx.vm_secs))
        L.append("")
        L += table(res, VM_ROWS, ["direct", "hvproxy", "hvcat", "socat",
                                  "socat-b256k", "ncat", "hvproxy-copy",
                                  "hvcat-copy"])
        L.append("")
        if any(k.endswith("-copy") for m in VM_ROWS
               for k in res.get(m[0], {})):
            L.append("*-copy: the same hvproxy / hvcat with splice(2) "
                     "refused on vsock sockets (LD_PRELOAD "
                     "bench/nosplice.c).")
    L.append("")
    if ctx.max_detail:
        h = ctx.max_detail[-1]
        L.append("Max connections: one hvproxy under `ulimit -n %s` was "
                 "offered %d connections; it held %d (it keeps 2 descriptors "
                 "per connection and caps itself at (limit − 64 − P) / 2, P = min(1024, (limit − 64) / 3) descriptors kept for splice pipes), "
                 "%s descriptors open, last client error: %s." %
                 (resource.getrlimit(resource.RLIMIT_NOFILE)[0], h["want"],
                  h["ok"], h["fds"], h["last_error"]))
        L.append("")
    if ctx.errors:
        L.append("## Errors in this run")
        L.append("")
        for e in ctx.errors:
            L.append("- " + e.replace("\n", " "))
        L.append("")
    L.append("![chart](latest.png)")
    L.append("")
    return "\n".join(L)


def human(n):
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k and n % k == 0:
            return "%d %s" % (n // k, unit)
    return str(n)


def update_readme(path, md, outdir):
    begin, end = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return
    if begin not in text or end not in text:
        return
    # the README carries the tables, not the title or the chart link
    png = os.path.relpath(os.path.join(outdir, "latest.png"),
                          os.path.dirname(os.path.abspath(path)))
    body = md.split("\n", 2)[2].replace("![chart](latest.png)",
                                        "![chart](%s)" % png)
    body = re.sub(r"^## ", "### ", body, flags=re.M)
    new = text[:text.index(begin) + len(begin)] + "\n" + body.strip() + \
        "\n" + text[text.index(end):]
    with open(path, "w") as f:
        f.write(new)


CONFIGS = {
    "full": {"reps": 3, "bulk_bytes": 1 << 30, "bulk_timeout": 120,
             "rtt_count": 5000, "churn_secs": 1.5, "churn_warm": 0.2,
             "hold_n": [1000, 5000], "ncat_hold_max": 200, "max_n": 10000,
             "vm_size": "64M", "vm_churn_secs": 2, "vm_spawns": 3,
             "vm_timeout": 900},
    "quick": {"reps": 1, "bulk_bytes": 16 << 20, "bulk_timeout": 30,
              "rtt_count": 200, "churn_secs": 0.3, "churn_warm": 0.05,
              "hold_n": [50], "ncat_hold_max": 5, "max_n": 0,
              "vm_size": "4M", "vm_churn_secs": 1, "vm_spawns": 1,
              "vm_timeout": 300},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvbench", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--vm", choices=["yes", "no", "auto"], default="auto")
    ap.add_argument("--readme", default="")
    ap.add_argument("--reps", type=int, default=0)
    args = ap.parse_args()

    ctx = Ctx()
    ctx.cfg = dict(CONFIGS["quick" if args.quick else "full"])
    ctx.cfg["quick"] = args.quick
    if args.reps > 0:
        ctx.cfg["reps"] = args.reps
    ctx.hvbench = os.path.abspath(args.hvbench)
    ctx.build = os.path.abspath(args.build)
    ctx.source = os.path.abspath(args.source)
    ctx.hvproxy = os.path.join(ctx.build, "bin", "hvproxy", "hvproxy")
    ctx.hvcat = os.path.join(ctx.build, "bin", "hvcat", "hvcat")
    ctx.buildtype = sh("meson introspect --buildoptions '%s' 2>/dev/null | "
                       "/usr/bin/python3 -c 'import json,sys; print([o[\"value\"]"
                       " for o in json.load(sys.stdin) if o[\"name\"]==\"buildtype\"]"
                       "[0])'" % ctx.build) or "?"
    os.makedirs(args.out, exist_ok=True)
    ctx.out = os.path.abspath(args.out)
    ctx.tmp = os.path.join(ctx.build, "bench", "tmp")
    ctx.logdir = os.path.join(ctx.build, "bench", "logs")
    shutil.rmtree(ctx.logdir, ignore_errors=True)
    os.makedirs(ctx.tmp, exist_ok=True)
    os.makedirs(ctx.logdir, exist_ok=True)
    ctx.errors, ctx.procs, ctx.relays, ctx.max_detail = [], [], [], []
    ctx.vm_note, ctx.vm_secs = None, 0
    ctx.stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    ctx.load0 = open("/proc/loadavg").read().split()[0]
    for prog in (ctx.hvproxy, ctx.hvcat, ctx.hvbench):
        if not os.access(prog, os.X_OK):
            sys.exit("bench: %s is missing: build first" % prog)
    for prog in ("socat", "ncat"):
        if shutil.which(prog) is None:
            sys.exit("bench: %s is not installed (scripts/deps.sh)" % prog)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    need = 2 * max(ctx.cfg["hold_n"]) + 200
    if soft < need:
        log("ulimit -n %d: idle tests cut to fit" % soft)
        ctx.cfg["hold_n"] = [n for n in ctx.cfg["hold_n"] if 2 * n + 200 <=
                             soft] or [max(10, (soft - 200) // 2)]
    if ctx.cfg["max_n"]:
        ctx.cfg["max_n"] = min(ctx.cfg["max_n"], soft - 100)

    res = {}
    t0 = time.time()
    try:
        target = run_loopback(ctx, res)
        run_memory(ctx, res, target)
        vm = args.vm
        if vm == "auto":
            vm = "no" if args.quick else "yes"
        if vm == "yes":
            run_vm(ctx, res)
    finally:
        for r in list(ctx.relays):
            r.stop()
        for p in ctx.procs:
            p.stop()
    ctx.load1 = open("/proc/loadavg").read().split()[0]
    log("done in %.0f s" % (time.time() - t0))

    md = report(ctx, res)
    png = os.path.join(ctx.out, "latest.png")
    note = chart(ctx, res, png)
    if note:
        md = md.replace("![chart](latest.png)", "(%s)" % note)
        log(note)
    with open(os.path.join(ctx.out, "latest.md"), "w") as f:
        f.write(md)
    with open(os.path.join(ctx.out, "latest.json"), "w") as f:
        json.dump({"date": ctx.stamp, "config": ctx.cfg,
                   "machine": dict(machine(ctx)), "results": res,
                   "targets": targets(res, ctx), "errors": ctx.errors,
                   "max_detail": ctx.max_detail}, f, indent=1,
                  sort_keys=True)
    if args.readme:
        update_readme(args.readme, md, ctx.out)
    print(md)
    log("wrote %s (and latest.json, latest.png); %.0f s in all" %
        (os.path.join(ctx.out, "latest.md"), time.time() - t0))
    # Times are never judged here; only failures (bytes, tools) fail.
    return 1 if ctx.errors else 0


if __name__ == "__main__":
    sys.exit(main())
