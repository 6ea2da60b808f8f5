#!/bin/sh
# SPDX-License-Identifier: MIT
# bench-vsock.sh - the real-AF_VSOCK part of bench/run.sh (vsock_loopback,
# CID 1, inside the test VM): hvcat and hvproxy against socat and ncat.
#
#   relay  : hvbench (tcp) -> RELAY -> vsock -> hvbench server, and
#            hvbench (vsock) -> RELAY -> tcp -> hvbench server
#            RELAY = hvproxy | socat | socat -b 262144 | ncat --sh-exec
#            bulk: one stream of HVS_BENCH_SIZE bytes each way (MB/s);
#            churn: connect, 64-byte echo, close, 8 concurrent (conn/s)
#   client : a file -> CLIENT -> vsock -> hvbench raw sink, and
#            hvbench source -> vsock -> CLIENT -> a file (MB/s), and a
#            process per connection with a 64-byte echo (conn/s)
#            CLIENT = hvcat | socat | socat -b 262144 | ncat --vsock
#   direct : hvbench itself over vsock (no relay, no extra process)
#   *-copy : with NOSPLICE (bench/nosplice.c, LD_PRELOAD), hvproxy and
#            hvcat once more with splice(2) refused on vsock sockets: the
#            relay engine's copy path, for comparison
#
# Every byte is checked at the receiver (hvbench's sink compares the
# pattern; echoes are compared by the sender). Figures go to
# $HVS_OUT_DIR/bench.tsv: tool, metric, rep, value, unit. Times are only
# reported, never asserted: a check fails only when bytes are wrong or a
# tool fails.
#
#   run-vm.sh --out DIR jobs/bench-vsock.sh HVBENCH HVCAT HVPROXY [NOSPLICE]
#
# Environment: HVS_BENCH_REPS (3), HVS_BENCH_SIZE (64M), HVS_BENCH_SECS
# (churn seconds, 2), HVS_BENCH_SPAWNS (client churn connections, 10).
HVS_PORT_BASE=32000
. "$HVS_VM_DIR/lib.sh"
require_vsock
require socat ncat ss

HVB=${1:?usage: bench-vsock.sh HVBENCH HVCAT HVPROXY}
HVCAT=${2:?usage: bench-vsock.sh HVBENCH HVCAT HVPROXY}
HVP=${3:?usage: bench-vsock.sh HVBENCH HVCAT HVPROXY}
NOSPLICE=${4:-}
for p in "$HVB" "$HVCAT" "$HVP"; do
	[ -x "$p" ] || skip_all "no program at $p"
done
[ -z "$NOSPLICE" ] || [ -f "$NOSPLICE" ] || skip_all "no $NOSPLICE"
REPS=${HVS_BENCH_REPS:-3}
SIZE=${HVS_BENCH_SIZE:-64M}
SECS=${HVS_BENCH_SECS:-2}
SPAWNS=${HVS_BENCH_SPAWNS:-10}
TSV=$HVS_OUT_DIR/bench.tsv
: >"$TSV"

F=$WORK/pattern.bin
"$HVB" gen "$SIZE" >"$F"
BYTES=$(size "$F")
MSG=$WORK/msg64
head -c 64 "$F" >"$MSG"
note "hvbench $BYTES bytes per stream, $REPS reps, churn ${SECS}s, $SPAWNS spawns; $(nproc) cpus"

emit() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$TSV"; }

# Servers: an "auto" one (bulk header -> verifying sink, else echo) and a
# raw sink for the client tools, which send the plain pattern.
next_port; V_AUTO=$PORT
bg srv-auto 900 "$HVB" serve --listen "vsock:1:$V_AUTO" --threads 2
next_port; V_RAW=$PORT
bg srv-raw 900 "$HVB" serve --listen "vsock:1:$V_RAW" --mode sink
RAW_LOG=$LOGS/srv-raw.log
next_port; V_SRC=$PORT
bg srv-source 900 "$HVB" source --listen "vsock:1:$V_SRC" --bytes "$BYTES"
SRC_LOG=$LOGS/srv-source.log
wait_listen "$V_AUTO" && wait_listen "$V_RAW" && wait_listen "$V_SRC" ||
	skip_all "hvbench servers do not listen"
# The tcp server behind the vsock -> tcp relays.
next_port; T_AUTO=$PORT
bg srv-tcp 900 "$HVB" serve --listen "tcp:127.0.0.1:$T_AUTO" --threads 2
tcp_wait "$T_AUTO" 30 || skip_all "hvbench tcp server does not listen"

# Relays, all tcp -> vsock:1:V_AUTO, one port each.
next_port; P_HVP=$PORT
bg r-hvproxy 900 "$HVP" -q "tcp:127.0.0.1:$P_HVP" "vsock:1:$V_AUTO"
next_port; P_SOCAT=$PORT
bg r-socat 900 socat "TCP-LISTEN:$P_SOCAT,bind=127.0.0.1,reuseaddr,fork,backlog=1024" "VSOCK-CONNECT:1:$V_AUTO"
next_port; P_SOCATB=$PORT
bg r-socat-b 900 socat -b 262144 "TCP-LISTEN:$P_SOCATB,bind=127.0.0.1,reuseaddr,fork,backlog=1024" "VSOCK-CONNECT:1:$V_AUTO"
next_port; P_NCAT=$PORT
bg r-ncat 900 ncat -k -l 127.0.0.1 "$P_NCAT" -m 1000 --sh-exec "exec ncat --vsock 1 $V_AUTO"
P_HVPC=''
if [ -n "$NOSPLICE" ]; then
	next_port; P_HVPC=$PORT
	bg r-hvproxy-copy 900 env LD_PRELOAD="$NOSPLICE" HVB_NOSPLICE=vsock "$HVP" -q "tcp:127.0.0.1:$P_HVPC" "vsock:1:$V_AUTO"
fi
for p in $P_HVP $P_SOCAT $P_SOCATB $P_NCAT $P_HVPC; do
	tcp_wait "$p" 30 || skip_all "relay on tcp port $p does not listen"
done
# The same relays the other way: vsock:1:Q -> tcp:127.0.0.1:T_AUTO.
next_port; Q_HVP=$PORT
bg q-hvproxy 900 "$HVP" -q "vsock:$Q_HVP" "tcp:127.0.0.1:$T_AUTO"
next_port; Q_SOCAT=$PORT
bg q-socat 900 socat "VSOCK-LISTEN:$Q_SOCAT,reuseaddr,fork,backlog=1024" "TCP:127.0.0.1:$T_AUTO"
next_port; Q_SOCATB=$PORT
bg q-socat-b 900 socat -b 262144 "VSOCK-LISTEN:$Q_SOCATB,reuseaddr,fork,backlog=1024" "TCP:127.0.0.1:$T_AUTO"
next_port; Q_NCAT=$PORT
bg q-ncat 900 ncat --vsock -k -l "$Q_NCAT" -m 1000 --sh-exec "exec ncat 127.0.0.1 $T_AUTO"
Q_HVPC=''
if [ -n "$NOSPLICE" ]; then
	next_port; Q_HVPC=$PORT
	bg q-hvproxy-copy 900 env LD_PRELOAD="$NOSPLICE" HVB_NOSPLICE=vsock "$HVP" -q "vsock:$Q_HVPC" "tcp:127.0.0.1:$T_AUTO"
fi
for p in $Q_HVP $Q_SOCAT $Q_SOCATB $Q_NCAT $Q_HVPC; do
	wait_listen "$p" || skip_all "relay on vsock port $p does not listen"
done

relay_addr() {
	case $1 in
	direct) echo "vsock:1:$V_AUTO" ;;
	hvproxy) echo "tcp:127.0.0.1:$P_HVP" ;;
	hvproxy-copy) echo "tcp:127.0.0.1:$P_HVPC" ;;
	socat) echo "tcp:127.0.0.1:$P_SOCAT" ;;
	socat-b256k) echo "tcp:127.0.0.1:$P_SOCATB" ;;
	ncat) echo "tcp:127.0.0.1:$P_NCAT" ;;
	esac
}
# the same for the vsock -> tcp relays (no direct: the two ends differ)
relay_back_addr() {
	case $1 in
	hvproxy) echo "vsock:1:$Q_HVP" ;;
	hvproxy-copy) echo "vsock:1:$Q_HVPC" ;;
	socat) echo "vsock:1:$Q_SOCAT" ;;
	socat-b256k) echo "vsock:1:$Q_SOCATB" ;;
	ncat) echo "vsock:1:$Q_NCAT" ;;
	esac
}

# client_send TOOL : the pattern file through a client tool to the raw
# sink; prints elapsed ms, fails unless the sink verified every byte.
client_send() {
	before=$(grep -c "sink raw bytes=$BYTES ok=1" "$RAW_LOG")
	t0=$(now_ms)
	case $1 in
	hvcat) run c-hvcat 120 "$HVCAT" "vsock:1:$V_RAW" <"$F" >/dev/null ;;
	hvcat-copy) run c-hvcat-copy 120 env LD_PRELOAD="$NOSPLICE" HVB_NOSPLICE=vsock "$HVCAT" "vsock:1:$V_RAW" <"$F" >/dev/null ;;
	socat) run c-socat 120 socat - "VSOCK-CONNECT:1:$V_RAW" <"$F" >/dev/null ;;
	socat-b256k) run c-socat-b 120 socat -b 262144 - "VSOCK-CONNECT:1:$V_RAW" <"$F" >/dev/null ;;
	ncat) run c-ncat 120 ncat --vsock 1 "$V_RAW" <"$F" >/dev/null ;;
	esac
	rc=$?
	t1=$(now_ms)
	# the sink logs after the client's EOF: give it a moment
	end=$(($(date +%s) + 10))
	while [ "$(grep -c "sink raw bytes=$BYTES ok=1" "$RAW_LOG")" -le "$before" ]; do
		[ "$(date +%s)" -lt "$end" ] || { echo "rc=$rc unverified"; return 1; }
		sleep 0.05
	done
	echo $((t1 - t0))
}

# client_recv TOOL : the source's pattern from vsock through a client tool
# into a file (tmpfs); prints elapsed ms, fails unless the file is the
# pattern. hvcat as nc is used (`hvcat CID PORT > file`: stdin is empty,
# its EOF goes to the source, which ends after its bytes); socat and ncat
# in their receive-only forms.
OUT=$WORK/recv.bin
client_recv() {
	rm -f "$OUT"
	t0=$(now_ms)
	case $1 in
	hvcat) run r-hvcat 120 "$HVCAT" "vsock:1:$V_SRC" </dev/null >"$OUT" ;;
	hvcat-copy) run r-hvcat-copy 120 env LD_PRELOAD="$NOSPLICE" HVB_NOSPLICE=vsock "$HVCAT" "vsock:1:$V_SRC" </dev/null >"$OUT" ;;
	socat) run r-socat 120 socat -u "VSOCK-CONNECT:1:$V_SRC" - </dev/null >"$OUT" ;;
	socat-b256k) run r-socat-b 120 socat -b 262144 -u "VSOCK-CONNECT:1:$V_SRC" - </dev/null >"$OUT" ;;
	ncat) run r-ncat 120 ncat --recv-only --vsock 1 "$V_SRC" </dev/null >"$OUT" ;;
	esac
	rc=$?
	t1=$(now_ms)
	[ "$rc" -eq 0 ] || { echo "rc=$rc"; return 1; }
	cmp -s "$F" "$OUT" || { echo "got $(size "$OUT") bytes, not the pattern"; return 1; }
	echo $((t1 - t0))
}

# client_echo TOOL : one process, one connection, a 64-byte echo.
client_echo() {
	case $1 in
	hvcat) timeout 30 "$HVCAT" "vsock:1:$V_AUTO" <"$MSG" ;;
	socat) timeout 30 socat - "VSOCK-CONNECT:1:$V_AUTO" <"$MSG" ;;
	socat-b256k) timeout 30 socat -b 262144 - "VSOCK-CONNECT:1:$V_AUTO" <"$MSG" ;;
	ncat) timeout 30 ncat --vsock 1 "$V_AUTO" <"$MSG" ;;
	esac
}

# rotate N WORDS... : the words, starting from the (N mod count)-th, so
# that no tool is always measured first in a rep (right after another
# tool's load).
rotate() {
	k=$1; shift
	k=$((k % $#))
	while [ "$k" -gt 0 ]; do
		w=$1; shift; set -- "$@" "$w"
		k=$((k - 1))
	done
	echo "$@"
}

# settle : wait (at most 30 s) until the ncat relay has no child left.
# ncat --sh-exec starts a shell and an ncat per connection, ~150 ms of
# CPU each under TCG; after its churn run the ones still starting would
# otherwise eat the CPU of whatever is measured next (seen: hvcat's file
# send 1.8 s right after the ncat churn, 0.3 s once they were gone).
# The connections of its churn run that still wait in its accept queue
# (Recv-Q of the listener) start more of them: wait for both to go.
NCAT_PID=$(pgrep -f -- "^ncat -k -l .*--sh-exec" | head -n 1)
settle() {
	[ -n "$NCAT_PID" ] || return 0
	end=$(($(date +%s) + 30))
	while [ "$(date +%s)" -lt "$end" ]; do
		q=$(ss -tlnH "sport = :$P_NCAT" 2>/dev/null | awk '{print $2; exit}')
		[ -n "$(pgrep -P "$NCAT_PID")" ] || [ "${q:-0}" != 0 ] || return 0
		sleep 0.1
	done
}

# relay_bulk TOOL LOG METRIC WHAT ADDR : one hvbench bulk stream to ADDR,
# its rate emitted as METRIC.
relay_bulk() {
	settle
	out=$(run "$2-$1" 300 "$HVB" bulk --connect "$5" --bytes "$BYTES")
	case $out in
	*ok=1*)
		v=$(echo "$out" | sed 's/.*gbps=\([0-9.]*\).*/\1/')
		emit "$1" "$3" "$rep" "$(awk -v g="$v" 'BEGIN{printf "%.1f", g*1000}')" MB/s
		t_pass "rep $rep: $1 $4 ($out)" ;;
	*) t_fail "rep $rep: $1 $4" "$out"; show "$2-$1" ;;
	esac
}

# client_bulk TOOL FUNC METRIC WHAT LOGPREFIX PEERLOG : FUNC (client_send
# or client_recv) for TOOL, its rate emitted as METRIC.
client_bulk() {
	settle
	if ms=$($2 "$1"); then
		emit "$1" "$3" "$rep" "$(awk -v b="$BYTES" -v ms="$ms" 'BEGIN{if(ms<1)ms=1; printf "%.1f", b/1000/ms}')" MB/s
		t_pass "rep $rep: $1 client $4, verified ($ms ms)"
	else
		t_fail "rep $rep: $1 client $4" "$ms"; show "$5-$1"; tail -n 3 "$6"
	fi
}

RELAYS="direct hvproxy socat socat-b256k ncat"
CLIENTS="hvcat socat socat-b256k ncat"
COPY_RELAYS='' COPY_CLIENTS=''
if [ -n "$NOSPLICE" ]; then
	COPY_RELAYS=hvproxy-copy COPY_CLIENTS=hvcat-copy
fi
rep=1
while [ "$rep" -le "$REPS" ]; do
	note "rep $rep"
	for t in $(rotate "$rep" $RELAYS $COPY_RELAYS); do
		relay_bulk "$t" bulk relay_bulk_mbs "relay bulk" "$(relay_addr "$t")"
	done
	for t in $(rotate "$rep" $(echo $RELAYS | sed 's/direct//') $COPY_RELAYS); do
		relay_bulk "$t" back relay_back_mbs "relay vsock->tcp bulk" "$(relay_back_addr "$t")"
	done
	# ncat's churn last: the shells and ncats it starts per connection
	# slow the VM down for a while after (even once they are gone).
	for t in $(rotate "$rep" $(echo $RELAYS | sed 's/ncat//')) ncat; do
		settle
		out=$(run "churn-$t" 60 "$HVB" churn --connect "$(relay_addr "$t")" --conc 8 --secs "$SECS" --warm 0.3)
		case $out in
		*ok=1*)
			v=$(echo "$out" | sed 's/.*rate=\([0-9.]*\).*/\1/')
			emit "$t" relay_churn8 "$rep" "$v" conn/s
			t_pass "rep $rep: $t relay churn ($out)" ;;
		*) t_fail "rep $rep: $t relay churn" "$out"; show "churn-$t" ;;
		esac
	done
	for t in $(rotate "$rep" $CLIENTS $COPY_CLIENTS); do
		client_bulk "$t" client_send client_bulk_mbs "sends $BYTES bytes" c "$RAW_LOG"
	done
	for t in $(rotate "$rep" $CLIENTS $COPY_CLIENTS); do
		client_bulk "$t" client_recv client_recv_mbs "receives $BYTES bytes into a file" r "$SRC_LOG"
	done
	for t in $(rotate "$rep" $CLIENTS); do
		settle
		n=0 bad=0
		t0=$(now_ms)
		end=$(($(date +%s) + 20))
		while [ "$n" -lt "$SPAWNS" ] && [ "$(date +%s)" -lt "$end" ]; do
			got=$(client_echo "$t" 2>/dev/null | od -An -tx1 | tr -d ' \n')
			[ "$got" = "$(od -An -tx1 "$MSG" | tr -d ' \n')" ] || bad=$((bad + 1))
			n=$((n + 1))
		done
		t1=$(now_ms)
		if [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]; then
			emit "$t" client_churn "$rep" "$(awk -v n="$n" -v ms="$((t1 - t0))" 'BEGIN{if(ms<1)ms=1; printf "%.1f", n*1000/ms}')" conn/s
			t_pass "rep $rep: $t client churn, $n processes, echo verified"
		else
			t_fail "rep $rep: $t client churn" "$bad of $n echoes wrong"
		fi
	done
	rep=$((rep + 1))
done
t_done
