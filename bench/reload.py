#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""reload.py - how hvproxy's start-up, reload and stop grow with the
number of forwards (see bench/README.md).

For each N, a configuration of N forwards, each listening on its own
loopback address (tcp:127.77.X.Y:P, one port P for all, so that N is not
bounded by the free ports) and all relaying to one echo server, then:

  start    hvproxy started until READY=1 (the sd_notify protocol)
  reload   SIGHUP with forward N+1 added to the file, until READY=1 again
  answer   SIGHUP until the added forward answers an echo
  stall    the longest wait between two echo round trips of a live
           connection through forward 0 while the reload runs (a round
           trip takes well under a millisecond when the loop is free)
  scrape   a /metrics request after the reload, answered in full
  stop     SIGTERM until the exit (no connection left open)

Each figure is the median of --rounds reloads (the reload of round k
adds forward N+k). A program whose reload takes longer than --cap
seconds is stopped there, and larger N are skipped for it.

    PYTHONPATH=test/pylib bench/reload.py [--hvproxy LABEL=PATH ...]
        [--n 1000,2000,4000,6000,10000] [--rounds 3] [--cap 30]
        [--json FILE]

bench/run.sh --reload runs it on the build's hvproxy; bench/run.sh
--quick runs it at N=200 as a smoke test. The exit status is 1 if
hvproxy failed (it exited, the live connection broke, an added forward
never answered), never because of a time.

RLIMIT_NOFILE is raised towards N + 1024 (each forward holds a listening
socket); an N the hard limit cannot hold is skipped. Loopback only.
Prints a table per program and, with two programs, the two side by side.
Times are wall-clock seconds on whatever the machine runs beside it: the
curve's shape is what counts, not one figure.
"""
import argparse
import json
import signal
import socket
import statistics
import sys
import threading
import time
import urllib.request

from hvtest import Tap, free_port, raise_nofile, wait_for, write_config
from hvtest.hvproxy import NotifyDrain, Proxy, set_program
from hvtest.loopserver import EchoServer

MSG = b"x" * 64


def log(msg):
    print("reload: " + msg, file=sys.stderr, flush=True)


def host(i):
    """Forward i's own loopback address (127.77.0.1 onwards)."""
    return f"127.77.{i // 250}.{i % 250 + 1}"


def config(n, port, mport, echo_addr):
    out = ["[global]", f"metrics = tcp:127.0.0.1:{mport}",
           "drain-timeout = 5s", "log-level = warning", ""]
    for i in range(n):
        out += [f"[forward f{i}]", f"listen = tcp:{host(i)}:{port}",
                f"target = {echo_addr}", ""]
    return "\n".join(out)


class Pinger:
    """Echo round trips on one connection, back to back, on a thread;
    the time each one ended is recorded."""

    def __init__(self, addr, timeout):
        self.s = socket.create_connection(addr, timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.ends = []
        self.error = None
        self.stopped = threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        try:
            while not self.stopped.is_set():
                self.s.sendall(MSG)
                got = b""
                while len(got) < len(MSG):
                    b = self.s.recv(len(MSG) - len(got))
                    if not b:
                        raise OSError("closed by hvproxy")
                    got += b
                self.ends.append(time.monotonic())
        except OSError as e:
            self.error = str(e)

    def stall(self, t0, t1):
        """The longest wait between round trips ending in [t0, t1], the
        wait for the first one after t0 included."""
        ends = [t for t in self.ends if t >= t0]
        prev, worst = t0, 0.0
        for t in ends:
            worst = max(worst, t - prev)
            prev = t
            if t > t1:
                break
        return worst

    def close(self):
        self.stopped.set()
        self.th.join(15)
        self.s.close()


def answers(addr):
    try:
        with socket.create_connection(addr, timeout=5) as s:
            s.sendall(MSG)
            got = b""
            while len(got) < len(MSG):
                b = s.recv(len(MSG) - len(got))
                if not b:
                    return False
                got += b
            return got == MSG
    except OSError:
        return False


def scrape(mport, timeout):
    t0 = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics",
                                timeout=timeout) as r:
        size = len(r.read())
    return time.monotonic() - t0, size


def readies(p):
    return sum(1 for m in list(p.messages) if "READY=1" in m)


def one(t, label, path, n, rounds, cap, echo):
    """Measure one program at one N: a dict of figures, with "capped"
    set if a reload took longer than @cap seconds."""
    set_program(path)
    port, mport = free_port(), free_port()
    conf = t.path(f"{label}.{n}.conf")
    write_config(conf, config(n, port, mport, echo.addr))
    res = {"n": n, "start": None, "reload": [], "answer": [], "stall": [],
           "scrape": None, "stop": None, "capped": False}
    t0 = time.monotonic()
    p = Proxy(t, ["-c", conf], ready=False)
    drain = NotifyDrain(p)
    if not wait_for(lambda: readies(p) >= 1 or not p.alive(), cap):
        log(f"{label} N={n}: not ready within {cap} s")
        res["capped"] = True
        drain.stop()
        p.kill()
        return res
    if not p.alive():
        drain.stop()
        raise SystemExit(f"{label} N={n}: hvproxy exited:\n{p.log()}")
    res["start"] = time.monotonic() - t0
    # A round trip waits for as long as a reload may take.
    live = Pinger((host(0), port), cap + 30)
    wait_for(lambda: len(live.ends) > 20, 10)
    for k in range(1, rounds + 1):
        write_config(conf, config(n + k, port, mport, echo.addr))
        new = (host(n + k - 1), port)
        before = readies(p)
        t0 = time.monotonic()
        p.signal(signal.SIGHUP)
        got = {}

        def done():
            if "answer" not in got and answers(new):
                got["answer"] = time.monotonic() - t0
            if "reload" not in got and readies(p) > before:
                got["reload"] = time.monotonic() - t0
            return len(got) == 2

        if not wait_for(done, cap, step=0.005):
            log(f"{label} N={n}: reload {k} not done within {cap} s")
            res["capped"] = True
            break
        t1 = time.monotonic()
        wait_for(lambda: live.ends and live.ends[-1] > t1 + 0.05, 5)
        res["reload"].append(got["reload"])
        res["answer"].append(got["answer"])
        if live.error:
            log(f"{label} N={n}: the live connection failed: {live.error}")
            break
        res["stall"].append(live.stall(t0, t1))
        if got["reload"] > cap / 3:
            break  # one slow round says enough
    live.close()
    if not res["capped"]:
        try:
            res["scrape"] = scrape(mport, cap)[0]
        except OSError as e:
            log(f"{label} N={n}: metrics: {e}")
    drain.stop()
    t0 = time.monotonic()
    st = p.stop(timeout=cap)
    if st is None:
        p.kill()
    else:
        res["stop"] = time.monotonic() - t0
    res["live_error"] = live.error
    return res


def failed(r):
    """Why the run @r went wrong (not slow: wrong), or None."""
    if r["capped"]:
        return None  # too slow (killed): not wrong
    if r.get("live_error"):
        return f"the live connection failed: {r['live_error']}"
    if r["start"] is None or not r["reload"]:
        return "no reload was measured"
    return None


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, capped=False, cap=None):
    if x is None:
        return f"> {cap:g}" if capped else "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def table(label, rows, cap):
    print(f"\n{label}: seconds (median of the rounds; stall = longest "
          "gap between a live connection's round trips)\n")
    print("| forwards | start | reload | answer | stall | scrape | stop |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        c = r["capped"]
        print(f"| {r['n']:,} | {fmt(r['start'], c and not r['start'], cap)} "
              f"| {fmt(med(r['reload']), c, cap)} "
              f"| {fmt(med(r['answer']), c, cap)} "
              f"| {fmt(med(r['stall']), c, cap)} "
              f"| {fmt(r['scrape'])} | {fmt(r['stop'])} |")


def side_by_side(results, cap):
    labels = list(results)
    a, b = labels[0], labels[1]
    print(f"\nreload (SIGHUP until READY=1) and stall, {a} -> {b}\n")
    print(f"| forwards | reload {a} | reload {b} | stall {a} | stall {b} |")
    print("|---:|---:|---:|---:|---:|")
    ns = sorted({r["n"] for rs in results.values() for r in rs})
    for n in ns:
        cells = []
        for what in ("reload", "stall"):
            for lab in (a, b):
                r = next((r for r in results[lab] if r["n"] == n), None)
                if r is None:
                    cells.append("skipped")
                else:
                    cells.append(fmt(med(r[what]), r["capped"], cap))
        print(f"| {n:,} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hvproxy", action="append", default=[],
                    metavar="LABEL=PATH",
                    help="a program to measure (repeatable); default: "
                    "hvproxy from PATH")
    ap.add_argument("--n", default="1000,2000,4000,6000,10000",
                    help="numbers of forwards, comma-separated")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cap", type=float, default=30.0,
                    help="seconds a start or a reload may take before the "
                    "program is skipped at larger N")
    ap.add_argument("--json", help="write the figures to this file too")
    a = ap.parse_args()
    progs = []
    for h in a.hvproxy or ["hvproxy=hvproxy"]:
        label, _, path = h.partition("=")
        progs.append((label, path or label))
    ns = [int(x) for x in a.n.split(",") if x]

    t = Tap(prefix="hvbench-reload.")
    echo = EchoServer()
    results = {}
    for label, path in progs:
        results[label] = []
        for n in ns:
            have = raise_nofile(n + 1024)
            if have < n + 256:
                log(f"N={n}: skipped (RLIMIT_NOFILE {have}; raise the "
                    "hard limit)")
                continue
            log(f"{label}: N={n}")
            r = one(t, label, path, n, a.rounds, a.cap, echo)
            results[label].append(r)
            if r["capped"]:
                log(f"{label}: over {a.cap:g} s at N={n}; larger N skipped")
                break
    for label in results:
        table(label, results[label], a.cap)
    if len(results) == 2:
        side_by_side(results, a.cap)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    echo.stop()
    t.cleanup()
    bad = [f"{label} N={r['n']}: {failed(r)}" for label, rs in
           results.items() for r in rs if failed(r)]
    for b in bad:
        log(b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
