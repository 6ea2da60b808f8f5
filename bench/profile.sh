#!/bin/sh
# SPDX-License-Identifier: MIT
# profile.sh BUILD HVBENCH OUTDIR - where hvproxy's time goes (run it as
# `bench/run.sh --profile`; needs linux-perf). Loopback only; every run
# bounded. Writes OUTDIR/summary.txt (also printed) and the raw perf files.
#
# 1. Variants, each run REPS times interleaved, on the 1-stream bulk path
#    (1 GiB) and the churn path (8 clients, 2 s): hvproxy as built (splice,
#    --buffer 256k), --buffer 64k and 1m, the copy path (the same binary
#    with splice refused: bench/nosplice.c), socat -b 262144, and direct.
#    perf stat counts, over the relay's whole process tree (perf runs the
#    relay, so socat's forked children count too): task-clock, context
#    switches, system calls by name (tracepoints syscalls:*). The client's
#    CPU (perf stat) and the server's (/proc) give the whole budget.
# 2. perf record -g of hvproxy on both paths: hottest symbols, and the
#    user/kernel split.
set -eu

build=${1:?usage: profile.sh BUILD HVBENCH OUTDIR}
hvb=${2:?usage: profile.sh BUILD HVBENCH OUTDIR}
out=${3:?usage: profile.sh BUILD HVBENCH OUTDIR}
hvp=$build/bin/hvproxy/hvproxy
nosplice=$build/bench/nosplice.so
BULK=${HVS_PROFILE_BYTES:-1073741824}
CHURN_SECS=${HVS_PROFILE_SECS:-2}
REPS=${HVS_PROFILE_REPS:-3}
command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 77; }
perf stat -e task-clock true >/dev/null 2>&1 || { echo "profile.sh: perf stat does not work here (perf_event_paranoid?)" >&2; exit 77; }
mkdir -p "$out"
rm -f "$out"/*.data "$out"/*.txt "$out"/*.stat "$out"/*.client "$out"/*.srv "$out"/*.log

pids=''
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
}
trap cleanup EXIT INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	i=0
	until ss -tlnH "sport = :$1" 2>/dev/null | grep -q .; do
		i=$((i + 1)); [ $i -lt 200 ] || { echo "profile.sh: nothing listens on $1" >&2; exit 1; }
		sleep 0.05
	done
}
# CPU ticks (user+system) of a live process
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

SP=$(free_port)
"$hvb" serve --listen "tcp:127.0.0.1:$SP" --threads 2 2>"$out/server.log" &
SRV=$!
pids="$pids $SRV"
wait_port "$SP"

EVENTS=task-clock,context-switches,cpu-migrations,page-faults
for s in splice read write recvfrom sendto epoll_wait epoll_ctl accept4 \
    connect socket close shutdown setsockopt getsockopt fcntl pipe2 \
    getpeername getsockname newfstatat fstat clone wait4 execve \
    rt_sigprocmask pselect6 select poll; do
	# only the tracepoints this kernel has
	if [ -d "/sys/kernel/tracing/events/syscalls/sys_enter_$s" ] ||
	    [ -d "/sys/kernel/debug/tracing/events/syscalls/sys_enter_$s" ]; then
		EVENTS=$EVENTS,syscalls:sys_enter_$s
	fi
done
EVENTS=$EVENTS,raw_syscalls:sys_enter

relay_cmd() {
	case $1 in
	hvproxy) echo "$hvp -q tcp:127.0.0.1:$2 tcp:127.0.0.1:$SP" ;;
	hvproxy-buf64k) echo "$hvp -q --buffer 64k tcp:127.0.0.1:$2 tcp:127.0.0.1:$SP" ;;
	hvproxy-buf1m) echo "$hvp -q --buffer 1m tcp:127.0.0.1:$2 tcp:127.0.0.1:$SP" ;;
	hvproxy-copy) echo "env LD_PRELOAD=$nosplice HVB_NOSPLICE=all $hvp -q tcp:127.0.0.1:$2 tcp:127.0.0.1:$SP" ;;
	socat-b256k) echo "socat -b 262144 TCP-LISTEN:$2,bind=127.0.0.1,reuseaddr,fork,backlog=4096 TCP:127.0.0.1:$SP" ;;
	socat) echo "socat TCP-LISTEN:$2,bind=127.0.0.1,reuseaddr,fork,backlog=4096 TCP:127.0.0.1:$SP" ;;
	esac
}

# stat_run NAME VARIANT WORKLOAD : perf stat over the relay's tree (none
# for direct) and the client while WORKLOAD runs; the server's CPU ticks.
stat_run() {
	name=$1 var=$2 work=$3
	ppid=''
	if [ "$var" = direct ]; then
		lp=$SP
	else
		lp=$(free_port)
		# shellcheck disable=SC2046
		perf stat -x, -o "$out/$name.stat" -e "$EVENTS" -- $(relay_cmd "$var" "$lp") 2>"$out/$name.log" &
		ppid=$!
		pids="$pids $ppid"
		wait_port "$lp"
	fi
	s0=$(ticks "$SRV")
	# shellcheck disable=SC2086
	timeout 120 perf stat -x, -o "$out/$name.cstat" -e task-clock -- \
	    "$hvb" $work --connect "tcp:127.0.0.1:$lp" >"$out/$name.client" 2>>"$out/$name.log" || :
	sleep 0.3
	echo "$(( $(ticks "$SRV") - s0 ))" >"$out/$name.srv"
	if [ -n "$ppid" ]; then
		# stop the relay (perf's child) by its pid: perf writes its counts
		for c in $(pgrep -P "$ppid"); do kill "$c" 2>/dev/null || :; done
		wait "$ppid" 2>/dev/null || :
		pids=$(echo "$pids" | sed "s/ $ppid\\b//")
	fi
}

# record_run NAME WORKLOAD : perf record -g of one hvproxy during WORKLOAD.
record_run() {
	name=$1 work=$2
	lp=$(free_port)
	"$hvp" -q "tcp:127.0.0.1:$lp" "tcp:127.0.0.1:$SP" 2>"$out/$name.log" &
	hp=$!
	pids="$pids $hp"
	wait_port "$lp"
	# shellcheck disable=SC2086
	perf record -q -F 1999 -g -p "$hp" -o "$out/$name.data" -- \
	    timeout 120 "$hvb" $work --connect "tcp:127.0.0.1:$lp" >"$out/$name.client" 2>>"$out/$name.log" || :
	kill "$hp" 2>/dev/null || :
	wait "$hp" 2>/dev/null || :
	pids=$(echo "$pids" | sed "s/ $hp\\b//")
	perf report -i "$out/$name.data" --stdio --no-children --sort dso,sym \
	    --percent-limit 0.7 -g none 2>/dev/null | grep -v '^$' >"$out/$name.flat.txt" || :
	perf report -i "$out/$name.data" --stdio --children --sort sym -g none \
	    --percent-limit 2 2>/dev/null | grep -v '^$' >"$out/$name.children.txt" || :
	perf report -i "$out/$name.data" --stdio --no-children --sort sym -G \
	    --percent-limit 2 2>/dev/null >"$out/$name.graph.txt" || :
	perf report -i "$out/$name.data" --stdio --no-children --sort dso -g none \
	    2>/dev/null | grep '%' >"$out/$name.dso.txt" || :
}

BULKW="bulk --streams 1 --bytes $BULK"
CHURNW="churn --conc 8 --secs $CHURN_SECS --warm 0.2"
VARIANTS="direct hvproxy hvproxy-buf64k hvproxy-buf1m hvproxy-copy socat-b256k"
[ -f "$nosplice" ] || VARIANTS=$(echo "$VARIANTS" | sed 's/ hvproxy-copy//')

rep=1
while [ "$rep" -le "$REPS" ]; do
	echo "profile.sh: rep $rep/$REPS: perf stat of $VARIANTS" >&2
	for v in $VARIANTS; do
		stat_run "bulk-$v-$rep" "$v" "$BULKW"
	done
	for v in $VARIANTS socat; do
		[ "$v" = socat-b256k ] && continue
		stat_run "churn-$v-$rep" "$v" "$CHURNW"
	done
	rep=$((rep + 1))
done
echo "profile.sh: perf record -g of hvproxy, bulk and churn" >&2
record_run bulk "bulk --streams 1 --bytes 2147483648"
record_run churn "churn --conc 8 --secs 3 --warm 0.2"

# ---- summary ----------------------------------------------------------
/usr/bin/python3 - "$out" "$BULK" "$REPS" "$(getconf CLK_TCK)" <<'EOF'
import os, re, statistics, sys
out, bulk, reps, tck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def stat(path):
    d = {}
    try:
        for line in open(path):
            p = line.strip().split(",")
            if len(p) >= 3 and p[0] and not line.startswith("#"):
                try:
                    d[p[2]] = float(p[0])
                except ValueError:
                    pass
    except OSError:
        pass
    return d

def client(name):
    try:
        t = open(os.path.join(out, name + ".client")).read().split()
    except OSError:
        return {}
    return dict(x.split("=", 1) for x in t if "=" in x)

def run(name):
    r = stat(os.path.join(out, name + ".stat"))
    c = stat(os.path.join(out, name + ".cstat"))
    kv = client(name)
    try:
        srv = int(open(os.path.join(out, name + ".srv")).read()) / tck
    except (OSError, ValueError):
        srv = None
    return r, c, kv, srv

def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None

def f(x, fmt):
    return "-" if x is None else fmt % x

L = []
variants = ["direct", "hvproxy", "hvproxy-buf64k", "hvproxy-buf1m",
            "hvproxy-copy", "socat-b256k", "socat"]
for kind in ("bulk", "churn"):
    if kind == "bulk":
        L.append("bulk, 1 stream, %d MiB, medians of %d (CPU in s per GB; "
                 "syscalls and context switches per GB)" % (bulk >> 20, reps))
        L.append("%-15s %6s %7s %7s %7s %7s %6s %8s %8s %8s  %s" % (
            "variant", "GB/s", "relay", "client", "server", "total", "2-core",
            "syscalls", "B/call", "ctxsw", "top system calls per GB"))
    else:
        L.append("churn, 8 clients, medians of %d (CPU in µs per connection; "
                 "syscalls and context switches per connection)" % reps)
        L.append("%-15s %6s %7s %7s %7s %7s %6s %8s %8s %8s  %s" % (
            "variant", "conn/s", "relay", "client", "server", "total", "2-core",
            "syscalls", "", "ctxsw", "system calls per connection"))
    for v in variants:
        rows = [run("%s-%s-%d" % (kind, v, i)) for i in range(1, reps + 1)]
        rows = [r for r in rows if r[2].get("ok") == "1"]
        if not rows:
            continue
        if kind == "bulk":
            units = [bulk / 1e9 for _ in rows]
            rate = med([float(r[2]["gbps"]) for r in rows])
            scale = 1.0
        else:
            units = [max(1.0, float(r[2]["conns"])) for r in rows]
            rate = med([float(r[2]["rate"]) for r in rows])
            scale = 1e6
        relay = med([r[0].get("task-clock", 0) / 1e3 / u * scale if r[0] else None
                     for r, u in zip(rows, units)])
        cli = med([r[1].get("task-clock", 0) / 1e3 / u * scale for r, u in zip(rows, units)])
        srv = med([r[3] / u * scale if r[3] is not None else None for r, u in zip(rows, units)])
        total = sum(x for x in (relay, cli, srv) if x is not None)
        # what 2 fully used cores would allow at this CPU cost
        cap = 2 / total * (1 if kind == "bulk" else 1e6) if total else None
        sysc = med([r[0].get("raw_syscalls:sys_enter") / u for r, u in zip(rows, units)
                    if r[0]]) if rows[0][0] else None
        ctx = med([r[0].get("context-switches") / u for r, u in zip(rows, units)
                   if r[0]]) if rows[0][0] else None
        names = {}
        for r, u in zip(rows, units):
            for k, val in r[0].items():
                if k.startswith("syscalls:") and val > 0:
                    names.setdefault(k.split("sys_enter_")[-1], []).append(val / u)
        top = sorted(((med(x), k) for k, x in names.items()), reverse=True)[:8]
        bpc = bulk / 1e0 / (sysc * bulk / 1e9) if (kind == "bulk" and sysc) else None
        L.append("%-15s %6s %7s %7s %7s %7s %6s %8s %8s %8s  %s" % (
            v, f(rate, "%.2f" if kind == "bulk" else "%.0f"),
            f(relay, "%.3f" if kind == "bulk" else "%.0f"),
            f(cli, "%.3f" if kind == "bulk" else "%.0f"),
            f(srv, "%.3f" if kind == "bulk" else "%.0f"),
            f(total, "%.3f" if kind == "bulk" else "%.0f"),
            f(cap, "%.2f" if kind == "bulk" else "%.0f"),
            f(sysc, "%.0f" if kind == "bulk" else "%.1f"),
            f(bpc, "%.0f"), f(ctx, "%.0f" if kind == "bulk" else "%.2f"),
            ", ".join("%s %.1f" % (k, x) for x, k in top)))
    L.append("")
L.append("2-core = the rate two fully used cores would allow at that total "
         "CPU cost (relay + client + server); the server's CPU includes its "
         "memcmp check of every byte (~0.04 s/GB).")
L.append("")
for kind in ("bulk", "churn"):
    p = os.path.join(out, kind + ".dso.txt")
    if os.path.exists(p):
        L.append("hvproxy %s, perf record -g (cpu-clock): time by object" % kind)
        for line in open(p):
            L.append("  " + line.strip())
    p = os.path.join(out, kind + ".flat.txt")
    if os.path.exists(p):
        L.append("hvproxy %s: hottest symbols (self)" % kind)
        n = 0
        for line in open(p):
            if re.match(r"\s+\d", line) and n < 14:
                L.append("  " + line.strip())
                n += 1
    p = os.path.join(out, kind + ".children.txt")
    if os.path.exists(p):
        L.append("hvproxy %s: inclusive time (children), system calls" % kind)
        for line in open(p):
            m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[([.k])\]\s+(\S+)", line)
            if m and m.group(3) == "." and float(m.group(1)) >= 2:
                L.append("  %6s%%  %s" % (m.group(1), m.group(4)))
    L.append("")
text = "\n".join(L)
open(os.path.join(out, "summary.txt"), "w").write(text + "\n")
print(text)
EOF
