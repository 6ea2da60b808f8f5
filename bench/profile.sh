#!/bin/sh
# profile.sh BUILD HVBENCH OUTDIR - where hvproxy's time goes (run it as
# `bench/run.sh --profile`). Loopback only; every run bounded.
#
# For the 1-stream bulk path (2 GiB) and the churn path (8 clients, 3 s):
#   - perf stat of the relay's whole process tree (perf runs the relay, so
#     socat's forked children are counted too): task-clock, context
#     switches, and the system calls by name (tracepoints syscalls:*),
#     for hvproxy and, as the reference, socat -b 262144;
#   - perf record -g of hvproxy: the hottest symbols, user and kernel,
#     and the kernel paths (call graphs) under them.
# Writes OUTDIR/summary.txt (printed) and the raw perf output beside it.
set -eu

build=${1:?usage: profile.sh BUILD HVBENCH OUTDIR}
hvb=${2:?usage: profile.sh BUILD HVBENCH OUTDIR}
out=${3:?usage: profile.sh BUILD HVBENCH OUTDIR}
hvp=$build/bin/hvproxy/hvproxy
BULK=${HVS_PROFILE_BYTES:-2147483648}
CHURN_SECS=${HVS_PROFILE_SECS:-3}
command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 77; }
perf stat -e task-clock true >/dev/null 2>&1 || { echo "profile.sh: perf stat does not work here (perf_event_paranoid?)" >&2; exit 77; }
mkdir -p "$out"
rm -f "$out"/*.data "$out"/*.txt

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

SP=$(free_port)
"$hvb" serve --listen "tcp:127.0.0.1:$SP" --threads 2 2>"$out/server.log" &
pids="$pids $!"
wait_port "$SP"

EVENTS=task-clock,context-switches,cpu-migrations,page-faults
for s in splice read write recvfrom sendto epoll_wait epoll_ctl accept4 \
    connect socket close shutdown setsockopt getsockopt fcntl pipe2 \
    getpeername getsockname clock_gettime newfstatat fstat; do
	EVENTS=$EVENTS,syscalls:sys_enter_$s
done
EVENTS=$EVENTS,raw_syscalls:sys_enter

# stat_run NAME WORKLOAD RELAY... : perf stat over RELAY's whole tree while
# WORKLOAD (an hvbench client line) runs against it.
stat_run() {
	name=$1 work=$2
	shift 2
	lp=$(free_port)
	cmd=$(echo "$*" | sed "s/LPORT/$lp/g; s/SPORT/$SP/g")
	# shellcheck disable=SC2086
	perf stat -x, -o "$out/$name.stat" -e "$EVENTS" -- $cmd 2>"$out/$name.relay.log" &
	ppid=$!
	pids="$pids $ppid"
	wait_port "$lp"
	# shellcheck disable=SC2086
	timeout 120 "$hvb" $work --connect "tcp:127.0.0.1:$lp" >"$out/$name.client" 2>&1 || :
	sleep 0.5
	# stop the relay (perf's child) by its pid: perf then writes its counts
	for c in $(pgrep -P "$ppid"); do kill "$c" 2>/dev/null || :; done
	wait "$ppid" 2>/dev/null || :
	pids=$(echo "$pids" | sed "s/ $ppid\\b//")
}

# record_run NAME WORKLOAD : perf record -g of one hvproxy during WORKLOAD.
record_run() {
	name=$1 work=$2
	lp=$(free_port)
	"$hvp" -q "tcp:127.0.0.1:$lp" "tcp:127.0.0.1:$SP" 2>"$out/$name.relay.log" &
	hp=$!
	pids="$pids $hp"
	wait_port "$lp"
	# shellcheck disable=SC2086
	perf record -q -F 1999 -g -p "$hp" -o "$out/$name.data" -- \
	    timeout 120 "$hvb" $work --connect "tcp:127.0.0.1:$lp" >"$out/$name.client" 2>"$out/$name.record.log" || :
	kill "$hp" 2>/dev/null || :
	wait "$hp" 2>/dev/null || :
	pids=$(echo "$pids" | sed "s/ $hp\\b//")
	perf report -i "$out/$name.data" --stdio --no-children --sort dso,sym \
	    --percent-limit 0.7 -g none 2>/dev/null | grep -v '^$' >"$out/$name.flat.txt" || :
	perf report -i "$out/$name.data" --stdio --children --sort sym \
	    --percent-limit 4 -g caller,0.5,callee,function,percent --max-stack 12 \
	    2>/dev/null >"$out/$name.graph.txt" || :
}

BULKW="bulk --streams 1 --bytes $BULK"
CHURNW="churn --conc 8 --secs $CHURN_SECS --warm 0.2"
SOCAT_B="socat -b 262144 TCP-LISTEN:LPORT,bind=127.0.0.1,reuseaddr,fork,backlog=4096 TCP:127.0.0.1:SPORT"
SOCAT="socat TCP-LISTEN:LPORT,bind=127.0.0.1,reuseaddr,fork,backlog=4096 TCP:127.0.0.1:SPORT"
HVP="$hvp -q tcp:127.0.0.1:LPORT tcp:127.0.0.1:SPORT"

echo "profile.sh: perf stat, bulk and churn, hvproxy and socat" >&2
stat_run bulk-hvproxy "$BULKW" "$HVP"
stat_run bulk-socat-b256k "$BULKW" "$SOCAT_B"
stat_run churn-hvproxy "$CHURNW" "$HVP"
stat_run churn-socat "$CHURNW" "$SOCAT"
echo "profile.sh: perf record -g of hvproxy, bulk and churn" >&2
record_run bulk "$BULKW"
record_run churn "$CHURNW"

# ---- summary ----------------------------------------------------------
/usr/bin/python3 - "$out" "$BULK" <<'EOF'
import os, re, sys
out, bulk = sys.argv[1], int(sys.argv[2])

def stat(name):
    d = {}
    try:
        for line in open(os.path.join(out, name + ".stat")):
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

L = []
for kind in ("bulk", "churn"):
    for tool in ("hvproxy", "socat-b256k" if kind == "bulk" else "socat"):
        n = "%s-%s" % (kind, tool)
        s, c = stat(n), client(n)
        if not s:
            continue
        if kind == "bulk":
            units = bulk / 1e9
            per = "per GB"
            head = "%s %s: %s GB/s" % (kind, tool, c.get("gbps", "?"))
        else:
            units = float(c.get("conns", 0)) or 1
            per = "per connection"
            head = "%s %s: %s conn/s, %s connections" % (
                kind, tool, c.get("rate", "?"), c.get("conns", "?"))
        L.append(head)
        L.append("  task-clock %.3f s (%.3f s %s); context switches %d (%.1f %s)" % (
            s.get("task-clock", 0) / 1e3, s.get("task-clock", 0) / 1e3 / units, per,
            s.get("context-switches", 0), s.get("context-switches", 0) / units, per))
        sc = sorted(((v, k.split("sys_enter_")[-1]) for k, v in s.items()
                     if k.startswith("syscalls:") and v > 0), reverse=True)
        tot = s.get("raw_syscalls:sys_enter", 0)
        L.append("  system calls: %d in all, %.1f %s; %s" % (
            tot, tot / units, per, ", ".join("%s %.1f" % (k, v / units) for v, k in sc[:9])))
        if kind == "bulk" and tot:
            L.append("  bytes per system call: %.0f" % (bulk / tot))
    L.append("")
for kind in ("bulk", "churn"):
    p = os.path.join(out, kind + ".flat.txt")
    if os.path.exists(p):
        L.append("hvproxy %s, perf record: hottest symbols (self)" % kind)
        for line in open(p):
            if re.match(r"\s+\d", line):
                L.append("  " + line.strip())
        L.append("")
text = "\n".join(L)
open(os.path.join(out, "summary.txt"), "w").write(text + "\n")
print(text)
EOF
