#!/bin/sh
# SPDX-License-Identifier: MIT
# profile-vsock.sh - where the time goes on real AF_VSOCK (vsock_loopback,
# CID 1, inside the test VM): hvproxy and hvcat side by side with
# socat -b 262144 and plain socat, one transfer each, for
# bench/run.sh --vsock-profile (figures in bench/NOTES.md).
#
#   relay t2v : hvbench bulk (tcp) -> RELAY -> vsock -> hvbench server
#   relay v2t : hvbench bulk (vsock) -> RELAY -> tcp -> hvbench server
#   send      : a file -> CLIENT -> vsock -> hvbench raw sink
#   recv      : hvbench source -> vsock -> CLIENT -> a file (tmpfs)
# (hvcat-d: hvcat --send-only / -d, the one-way forms)
#
# For each, two runs of the tool alone (the peers are never counted):
#   1. under `perf stat` (children included): CPU time, context switches
#      (= wake-ups: the tools sleep only in the kernel), and system calls
#      counted by their tracepoints, which costs no ptrace stop;
#   2. under `strace -f`: the size each read and write actually moved
#      (a histogram), the EAGAINs, and the socket options each tool sets.
#      strace slows every call down, so more bytes wait per call than in
#      run 1: sizes here are upper bounds, the counts of run 1 are the
#      real ones.
# Output: $HVS_OUT_DIR/profile.tsv (scenario, tool, key, value) and
# $HVS_OUT_DIR/strace-*.txt, summed up by bench/vsock-profile.py.
#
#   run-vm.sh --out DIR jobs/profile-vsock.sh HVBENCH HVCAT HVPROXY
#
# Environment: HVS_PROFILE_SIZE (32M).
HVS_PORT_BASE=33000
. "$HVS_VM_DIR/lib.sh"
require_vsock
require socat ss perf strace

HVB=${1:?usage: profile-vsock.sh HVBENCH HVCAT HVPROXY}
HVCAT=${2:?usage: profile-vsock.sh HVBENCH HVCAT HVPROXY}
HVP=${3:?usage: profile-vsock.sh HVBENCH HVCAT HVPROXY}
SIZE=${HVS_PROFILE_SIZE:-32M}
TSV=$HVS_OUT_DIR/profile.tsv
: >"$TSV"
emit() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$TSV"; }

# System calls are counted through their tracepoints (tracefs).
mountpoint -q /sys/kernel/tracing 2>/dev/null ||
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
SC="read write readv writev recvfrom sendto recvmsg sendmsg splice epoll_wait epoll_pwait poll ppoll select pselect6 setsockopt getsockopt"
EV=task-clock,context-switches,raw_syscalls:sys_enter
for s in $SC; do
	EV="$EV,syscalls:sys_enter_$s"
done
perf stat -e "$EV" -o /dev/null true 2>/dev/null ||
	skip_all "perf cannot count the syscall tracepoints here"

F=$WORK/pattern.bin
"$HVB" gen "$SIZE" >"$F"
BYTES=$(size "$F")
note "one transfer of $BYTES bytes per tool and run; $(nproc) cpus"
emit all all bytes "$BYTES"

next_port; V_AUTO=$PORT
bg srv-auto 900 "$HVB" serve --listen "vsock:1:$V_AUTO"
next_port; V_RAW=$PORT
bg srv-raw 900 "$HVB" serve --listen "vsock:1:$V_RAW" --mode sink
next_port; V_SRC=$PORT
bg srv-source 900 "$HVB" source --listen "vsock:1:$V_SRC" --bytes "$BYTES"
next_port; T_AUTO=$PORT
bg srv-tcp 900 "$HVB" serve --listen "tcp:127.0.0.1:$T_AUTO"
wait_listen "$V_AUTO" && wait_listen "$V_RAW" && wait_listen "$V_SRC" &&
	tcp_wait "$T_AUTO" 30 || skip_all "hvbench servers do not listen"
RAW_LOG=$LOGS/srv-raw.log

# relay_cmd SCENARIO TOOL LISTENPORT : the relay's command line.
relay_cmd() {
	case $1 in
	t2v) rc_l="tcp:127.0.0.1:$3" rc_t="vsock:1:$V_AUTO"
		rc_sl="TCP-LISTEN:$3,bind=127.0.0.1,reuseaddr,fork" rc_st="VSOCK-CONNECT:1:$V_AUTO" ;;
	v2t) rc_l="vsock:$3" rc_t="tcp:127.0.0.1:$T_AUTO"
		rc_sl="VSOCK-LISTEN:$3,reuseaddr,fork" rc_st="TCP:127.0.0.1:$T_AUTO" ;;
	esac
	case $2 in
	hvproxy) echo "$HVP -q $rc_l $rc_t" ;;
	socat-b256k) echo "socat -b 262144 $rc_sl $rc_st" ;;
	socat) echo "socat $rc_sl $rc_st" ;;
	esac
}

# client_cmd SCENARIO TOOL : the client's command line (stdin, stdout set
# by the caller).
client_cmd() {
	case $1:$2 in
	send:hvcat) echo "$HVCAT vsock:1:$V_RAW" ;;
	send:socat-b256k) echo "socat -b 262144 - VSOCK-CONNECT:1:$V_RAW" ;;
	send:socat) echo "socat - VSOCK-CONNECT:1:$V_RAW" ;;
	send:hvcat-d) echo "$HVCAT --send-only vsock:1:$V_RAW" ;;
	recv:hvcat) echo "$HVCAT vsock:1:$V_SRC" ;;
	recv:hvcat-d) echo "$HVCAT -d vsock:1:$V_SRC" ;;
	recv:socat-b256k) echo "socat -b 262144 -u VSOCK-CONNECT:1:$V_SRC -" ;;
	recv:socat) echo "socat -u VSOCK-CONNECT:1:$V_SRC -" ;;
	esac
}

# wrap KIND OUT : the tracer's words (perf stat or strace -f).
wrap() {
	case $1 in
	perf) echo "perf stat -x , -o $2 -e $EV --" ;;
	strace) echo "strace -f -qq -s 0 -o $2 -e trace=read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg,splice,epoll_wait,epoll_pwait,poll,ppoll,select,pselect6,setsockopt,getsockopt" ;;
	esac
}

# perf_emit SCN TOOL FILE MS : the perf stat figures as TSV rows.
perf_emit() {
	emit "$1" "$2" ms "$4"
	awk -F, '$3 != "" && $1 ~ /^[0-9.]+$/ { print $3 "\t" $1 }' "$3" |
	while IFS="$(printf '\t')" read -r k v; do
		emit "$1" "$2" "$k" "$v"
	done
}

relay_run() { # SCENARIO TOOL KIND
	next_port; lp=$PORT
	out=$HVS_OUT_DIR/$3-$1-$2.txt
	# shellcheck disable=SC2046
	bg "relay-$3-$1-$2" 300 $(wrap "$3" "$out") $(relay_cmd "$1" "$2" "$lp")
	tracer=$BG_PID
	case $1 in
	t2v) tcp_wait "$lp" 30; to="tcp:127.0.0.1:$lp" ;;
	v2t) wait_listen "$lp" 30; to="vsock:1:$lp" ;;
	esac
	t0=$(now_ms)
	res=$(run "bulk-$3-$1-$2" 300 "$HVB" bulk --connect "$to" --bytes "$BYTES")
	t1=$(now_ms)
	case $res in
	*ok=1*) t_pass "$1 $2 under $3: $res" ;;
	*) t_fail "$1 $2 under $3" "$res" ;;
	esac
	# the relay (and socat's children) stop; the tracer then reports
	sleep 0.3
	for c in $(pgrep -P "$tracer"); do # perf or strace
		pkill -TERM -P "$c" 2>/dev/null # the relay
	done
	bg_wait "$tracer"
	[ "$3" = perf ] && perf_emit "$1" "$2" "$out" "$((t1 - t0))"
}

client_run() { # SCENARIO TOOL KIND
	out=$HVS_OUT_DIR/$3-$1-$2.txt
	before=$(grep -c "sink raw bytes=$BYTES ok=1" "$RAW_LOG")
	t0=$(now_ms)
	if [ "$1" = send ]; then
		# shellcheck disable=SC2046
		run "c-$3-$1-$2" 300 $(wrap "$3" "$out") $(client_cmd "$1" "$2") <"$F" >/dev/null
	else
		# shellcheck disable=SC2046
		run "c-$3-$1-$2" 300 $(wrap "$3" "$out") $(client_cmd "$1" "$2") </dev/null >"$WORK/recv.bin"
	fi
	rc=$?
	t1=$(now_ms)
	ok=0
	if [ "$1" = send ]; then
		end=$(($(date +%s) + 10))
		while [ "$(grep -c "sink raw bytes=$BYTES ok=1" "$RAW_LOG")" -le "$before" ]; do
			[ "$(date +%s)" -lt "$end" ] || break
			sleep 0.05
		done
		[ "$(grep -c "sink raw bytes=$BYTES ok=1" "$RAW_LOG")" -gt "$before" ] && ok=1
	else
		cmp -s "$F" "$WORK/recv.bin" && ok=1
		rm -f "$WORK/recv.bin"
	fi
	if [ "$rc" -eq 0 ] && [ "$ok" = 1 ]; then
		t_pass "$1 $2 under $3: $BYTES bytes verified ($((t1 - t0)) ms)"
	else
		t_fail "$1 $2 under $3" "rc=$rc verified=$ok"; show "c-$3-$1-$2"
	fi
	[ "$3" = perf ] && perf_emit "$1" "$2" "$out" "$((t1 - t0))"
}

# (loop variables of their own: lib.sh's helpers use n, s, t, rc...)
for p_kind in perf strace; do
	# plain socat's sizes are its 8 KiB buffer's; under strace its
	# 8,000 calls per 32 MiB take a minute each
	p_socat=socat
	[ "$p_kind" = perf ] || p_socat=''
	for p_scn in t2v v2t; do
		for p_tool in hvproxy socat-b256k $p_socat; do
			relay_run "$p_scn" "$p_tool" "$p_kind"
		done
	done
	for p_scn in send recv; do
		for p_tool in hvcat hvcat-d socat-b256k $p_socat; do
			client_run "$p_scn" "$p_tool" "$p_kind"
		done
	done
done
t_done
