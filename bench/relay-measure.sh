#!/bin/sh
# SPDX-License-Identifier: MIT
# relay-measure.sh - figures of the relay engine itself on loopback,
# through the example daemon (measured, never asserted):
#
#   1. 64 MiB through examples/hvs-expose (tcp -> relay -> tcp), on the
#      splice path and on the copy path (-c): the time of REPS transfers
#      (hvbench bulk, every byte verified by the sink), their median, and
#      the relay process's CPU time per transfer.
#   2. N idle relays in one hvs-expose: growth of its RSS, descriptors and
#      pipes while they are open, per relay (hvbench hold: each connection
#      first moves a 64-byte echo, so each relay has used its pipe and
#      given it back, then stays idle).
#
#   bench/relay-measure.sh BUILD [N=2000] [REPS=5]
#
# BUILD is a build folder (a release build for the timings: meson setup
# build-rel --buildtype=release). Loopback only; every wait is bounded.
set -eu
B=${1:?usage: relay-measure.sh BUILD [N] [REPS]}
N=${2:-2000}
REPS=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
EXPOSE=$B/examples/hvs-expose
HVB=$B/hvbench-relay
[ -x "$EXPOSE" ] || { echo "no $EXPOSE" >&2; exit 2; }
if [ ! -x "$HVB" ] || [ "$here/hvbench.c" -nt "$HVB" ]; then
	${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -pthread -o "$HVB" "$here/hvbench.c"
fi
T=$(mktemp -d)
pids=''
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	wait 2>/dev/null || :
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
# 2 descriptors per relay in hvs-expose, and the server's side.
ulimit -n "$(ulimit -Hn)"

# wait_for FILE : until FILE is not empty (20 s at most).
wait_for() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ "$i" -lt 400 ] || { echo "timeout waiting for $1" >&2; exit 1; }
		sleep 0.05
	done
}

# A verifying sink and echo server.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SRV=tcp:127.0.0.1:$PORT
"$HVB" serve --listen "$SRV" --mode auto --ready "$T/srv" 2>"$T/srv.log" &
pids="$pids $!"
wait_for "$T/srv"

# expose OPTS... : hvs-expose in front of the server; sets EP and EPID.
expose() {
	rm -f "$T/ex"
	"$EXPOSE" "$@" tcp:127.0.0.1:0 "$SRV" >"$T/ex" 2>"$T/ex.log" &
	EPID=$!
	pids="$pids $EPID"
	wait_for "$T/ex"
	EP=$(sed -n 's/^listening on //p' "$T/ex")
}

# cpu_ticks PID : user + system time of PID, in clock ticks (the
# relay's own cost, less disturbed by a busy machine than wall time).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# 64 MiB tcp -> hvs-expose -> tcp, $REPS runs each ($(uname -r), $(nproc) cpus)"
for path in splice copy; do
	opt=''
	[ "$path" = copy ] && opt='-c'
	expose $opt
	: >"$T/secs"
	cpu0=$(cpu_ticks "$EPID")
	r=0
	while [ "$r" -lt "$REPS" ]; do
		out=$("$HVB" bulk --connect "$EP" --bytes 67108864)
		case $out in *ok=1*) ;; *) echo "bulk failed: $out" >&2; exit 1 ;; esac
		echo "$out" | sed -n 's/.* secs=\([0-9.]*\).*/\1/p' >>"$T/secs"
		r=$((r + 1))
	done
	cpu1=$(cpu_ticks "$EPID")
	kill "$EPID"
	wait "$EPID" 2>/dev/null || :
	m=$(median <"$T/secs")
	printf '%-6s median %.1f ms (%s MiB/s); runs (ms): %s; relay CPU %d ms per 64 MiB\n' "$path" \
	    "$(echo "$m * 1000" | bc -l)" \
	    "$(echo "64 / $m" | bc -l | cut -d. -f1)" \
	    "$(awk '{ printf "%.1f ", $1 * 1000 }' "$T/secs")" \
	    $(((cpu1 - cpu0) * 1000 / $(getconf CLK_TCK) / REPS))
done

echo "# $N idle relays in one hvs-expose (splice path allowed)"
expose
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
nfd() { ls "/proc/$1/fd" | wc -l; }
npipe() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'pipe:' || :; }
rss0=$(rss "$EPID"); fd0=$(nfd "$EPID"); pp0=$(npipe "$EPID")
# hold keeps the connections until its stdin ends: a fifo held open
# here, so that it ends with this script.
mkfifo "$T/hold.in"
exec 3<>"$T/hold.in"
"$HVB" hold --connect "$EP" --n "$N" --secs 60 --hold 120 \
    --ready "$T/hold" <"$T/hold.in" >"$T/hold.out" 2>&1 &
pids="$pids $!"
wait_for "$T/hold"
grep -q "ok=$N " "$T/hold" || { cat "$T/hold" >&2; exit 1; }
sleep 1
rss1=$(rss "$EPID"); fd1=$(nfd "$EPID"); pp1=$(npipe "$EPID")
echo "hvs-expose RSS ${rss0} KiB -> ${rss1} KiB: $(((rss1 - rss0) * 1024 / N)) bytes per idle relay (relay + hvs-expose's own connection record + libevent)"
echo "descriptors $fd0 -> $fd1: $(echo "($fd1 - $fd0) / $N" | bc -l | cut -c1-4) per idle relay; pipes held $pp0 -> $pp1"
