# SPDX-License-Identifier: MIT
# lib.sh - helpers for VM test jobs (POSIX sh). A job starts with
#
#     . "$HVS_VM_DIR/lib.sh"
#
# and ends with `t_done`. Everything that waits is bounded in time.
#
# Results are printed TAP-style ("ok 3 - name" / "not ok 4 - name") and
# summed up by t_done as "N passed, N failed, N skipped"; the job then exits
# 1 if anything failed, 77 if everything was skipped, else 0.
#
# Environment (set by run-vm.sh): HVS_VM_MODE (vm), HVS_OUT_DIR (the
# job's writable results folder, also its cwd), HVS_BUILD_DIR,
# HVS_SOURCE_DIR, HVS_VM_DIR (this folder), HVS_JOB_TIMEOUT.

: "${HVS_VM_DIR:?lib.sh: run jobs through run-vm.sh}"
: "${HVS_OUT_DIR:=$(pwd)}"

# The Debian python (pyenv's is not what the VM should run).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PEER="$PY $HVS_VM_DIR/peer.py"
# The tests' Python library (test/pylib/hvtest) for the Python scripts a
# job runs (test/hardening/soak.py): the source tree is the host's.
PYTHONPATH="${HVS_SOURCE_DIR:-$HVS_VM_DIR/../..}/test/pylib${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
# Scratch space: the VM's /tmp is a fresh tmpfs; big files stay off 9p.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hvsjob.XXXXXX")
# Peer logs are kept in the results folder for post-mortems.
LOGS=$HVS_OUT_DIR/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

t_n=0
t_pass=0
t_fail=0
t_skip=0
t_bg_pids=''

note() { echo "# $*"; }

t_pass() {
	t_n=$((t_n + 1)); t_pass=$((t_pass + 1))
	echo "ok $t_n - $1"
}

# t_fail NAME [WHY...]
t_fail() {
	t_n=$((t_n + 1)); t_fail=$((t_fail + 1))
	n=$1; shift
	echo "not ok $t_n - $n${1:+: $*}"
}

# t_skip NAME WHY...
t_skip() {
	t_n=$((t_n + 1)); t_skip=$((t_skip + 1))
	n=$1; shift
	echo "ok $t_n - $n # SKIP $*"
}

# t_check NAME CMD... : pass if CMD exits 0.
t_check() {
	n=$1; shift
	if "$@"; then t_pass "$n"; else t_fail "$n" "exit $? from: $*"; fi
}

# t_expect_rc NAME RC CMD... : pass if CMD exits with RC.
t_expect_rc() {
	n=$1; want=$2; shift 2
	"$@"
	got=$?
	if [ "$got" -eq "$want" ]; then t_pass "$n"; else t_fail "$n" "exit $got, expected $want"; fi
}

# t_same NAME FILE_A FILE_B : pass if both exist and have the same sha256.
t_same() {
	if [ ! -f "$2" ] || [ ! -f "$3" ]; then
		t_fail "$1" "missing $( [ -f "$2" ] || echo "$2") $( [ -f "$3" ] || echo "$3")"
		return
	fi
	a=$(sha "$2"); b=$(sha "$3")
	if [ "$a" = "$b" ]; then
		t_pass "$1 ($(size "$2") bytes, sha256 ${a%"${a#????????????}"}...)"
	else
		t_fail "$1" "sha256 differs: $2 $(size "$2") bytes $a, $3 $(size "$3") bytes $b"
	fi
}

# t_done : summary line and exit status.
t_done() {
	bg_killall
	rm -rf "$WORK"
	echo "1..$t_n"
	echo "$t_pass passed, $t_fail failed, $t_skip skipped"
	[ "$t_fail" -eq 0 ] || exit 1
	[ "$t_pass" -gt 0 ] || [ "$t_skip" -eq 0 ] || exit 77
	exit 0
}

# skip_all WHY : the whole job cannot run here.
skip_all() {
	echo "1..0 # SKIP $*"
	bg_killall
	rm -rf "$WORK"
	exit 77
}

# require CMD... : skip the job unless every command exists.
require() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not installed"
	done
}

# require_vsock : real AF_VSOCK with vsock_loopback, inside the VM only.
require_vsock() {
	case ${HVS_VM_MODE:-} in
	vm) ;;
	*) skip_all "not started by run-vm.sh" ;;
	esac
	[ -d /sys/module/vsock_loopback ] || skip_all "no vsock_loopback"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c <"$1" | tr -d ' '; }
now_ms() { date +%s%3N; }

# mkrand FILE SIZE : SIZE bytes of random data (head -c syntax: 8M = 8 MiB).
mkrand() { head -c "$2" /dev/urandom >"$1"; }

# Ports: each call gives a fresh one, so that a job's cases never collide
# with a socket of an earlier case still closing.
t_port=${HVS_PORT_BASE:-20000}
next_port() { t_port=$((t_port + 1)); PORT=$t_port; }

# tcp_port : a free loopback tcp port in $PORT (from the job's range).
tcp_port() {
	next_port
	while ss -tlnH "sport = :$PORT" 2>/dev/null | grep -q .; do
		next_port
	done
}

# bg NAME SECS CMD... : run CMD in the background, bounded by `timeout`,
# its stderr to $LOGS/NAME.log (stdout is the caller's: redirect the call,
# e.g. `bg srv 60 socat ... >out`). Sets BG_PID (remembered for cleanup).
bg() {
	n=$1; s=$2; shift 2
	timeout -k 2 "$s" "$@" 2>"$LOGS/$n.log" &
	BG_PID=$!
	t_bg_pids="$t_bg_pids $BG_PID"
}

# bg_wait PID : its exit status (the process is bounded by its timeout).
bg_wait() {
	wait "$1"
	rc=$?
	t_bg_pids=$(echo "$t_bg_pids" | sed "s/ $1\\b//")
	return $rc
}

bg_killall() {
	for p in $t_bg_pids; do
		kill "$p" 2>/dev/null
	done
	for p in $t_bg_pids; do
		wait "$p" 2>/dev/null
	done
	t_bg_pids=''
}
trap 'bg_killall; rm -rf "$WORK"' EXIT INT TERM

# run NAME SECS CMD... : run CMD in the foreground, bounded, its stderr to
# $LOGS/NAME.log (stdout is the caller's); returns its status.
run() {
	n=$1; s=$2; shift 2
	timeout -k 2 "$s" "$@" 2>"$LOGS/$n.log"
}

# show NAME : print a peer's log, indented (after a failure).
show() {
	[ -f "$LOGS/$1.log" ] && sed "s/^/#   $1: /" "$LOGS/$1.log"
}

# wait_file FILE [SECS=20] : until FILE exists and is not empty.
wait_file() {
	end=$(($(date +%s) + ${2:-20}))
	while [ ! -s "$1" ]; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# wait_listen PORT [SECS=20] : until something listens on vsock port PORT
# (ss --vsock from iproute2, needing vsock_diag; polls every 50 ms).
wait_listen() {
	end=$(($(date +%s) + ${2:-20}))
	while ! ss --vsock -lnH 2>/dev/null | grep -q "[:.]$1[[:space:]]"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# tcp_wait PORT [SECS=20] : until something listens on loopback tcp PORT.
tcp_wait() {
	end=$(($(date +%s) + ${2:-20}))
	until ss -tlnH "sport = :$1" 2>/dev/null | grep -q .; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# peer_sha NAME sent|recv : the sha256 a peer.py logged for one direction.
peer_sha() {
	sed -n "s/^peer: $2 [0-9]* sha256=\\([0-9a-f]*\\).*/\\1/p" "$LOGS/$1.log" | tail -n 1
}

# rate BYTES MS : "N.N MB/s" (for the log; never compared with host figures).
rate() {
	awk -v b="$1" -v ms="$2" 'BEGIN { if (ms < 1) ms = 1; printf "%.1f MB/s", b / 1000 / ms }'
}
