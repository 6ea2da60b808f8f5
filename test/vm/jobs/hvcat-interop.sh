#!/bin/sh
# SPDX-License-Identifier: MIT
# hvcat-interop.sh HVCAT - hvcat over real AF_VSOCK (vsock_loopback, CID 1)
# against independent peers: socat VSOCK-LISTEN/VSOCK-CONNECT, ncat --vsock
# and Python's socket.AF_VSOCK (peer.py), with hvcat in both roles. Every
# exchange goes both ways with half-close and is checked by sha256. Then
# what only real vsock can show: the address forms (CID PORT, bare -l PORT,
# vsock:, hvsock: on Linux), -z, a port nobody listens on, no such CID, a
# connect timeout (the vhost_vsock blackhole), ports below 1024, --allow,
# -k, -e, -v's CID and service GUID lines, --local-cid.
#
# Ends with the interop matrix (peer x role x result) as '# matrix:' lines.
HVS_PORT_BASE=${HVS_PORT_BASE:-31000}
. "$HVS_VM_DIR/lib.sh"
require_vsock
require socat ncat ss sha256sum
HV=${1:-}
[ -n "$HV" ] && [ -x "$HV" ] || skip_all "hvcat not built (got '${HV}')"

SIZE=${HVS_VM_SIZE:-8M}
A=$WORK/a.bin
B=$WORK/b.bin
mkrand "$A" "$SIZE"
mkrand "$B" "$SIZE"
note "files: $(size "$A") bytes each way; kernel $(uname -r)"

# bg_in NAME SECS INFILE CMD... : lib.sh's bg with stdin from INFILE (an
# asynchronous command's stdin is /dev/null unless redirected on it).
bg_in() {
	n=$1; s=$2; in=$3; shift 3
	timeout -k 2 "$s" "$@" <"$in" 2>"$LOGS/$n.log" &
	BG_PID=$!
	t_bg_pids="$t_bg_pids $BG_PID"
}

MATRIX=$WORK/matrix
: >"$MATRIX"
# matrix PEER ROLE OK(0/1) : one row of the closing table.
matrix() {
	if [ "$3" -eq 0 ]; then r=PASS; else r=FAIL; fi
	printf '%-8s %-38s %s\n' "$1" "$2" "$r" >>"$MATRIX"
}

# same NAME FILE_A FILE_B : t_same that also returns 0/1.
same() {
	if [ -f "$2" ] && [ -f "$3" ] && [ "$(sha "$2")" = "$(sha "$3")" ]; then
		t_pass "$1 ($(size "$2") bytes)"
		return 0
	fi
	t_fail "$1" "$2: $( [ -f "$2" ] && size "$2") bytes, $3: $( [ -f "$3" ] && size "$3") bytes"
	return 1
}

# ---- --local-cid first: vhost_vsock (the blackhole, at the end) changes it
out=$("$HV" --local-cid 2>"$LOGS/local-cid.log")
rc=$?
if [ $rc -eq 0 ] && [ "$out" = 1 ]; then
	t_pass "hvcat --local-cid prints 1 (vsock_loopback)"
else
	t_fail "hvcat --local-cid" "exit $rc, '$out' $(cat "$LOGS/local-cid.log")"
fi

# ---- hvcat listens, the peer connects: the peer sends A and half-closes,
#      hvcat sends B from its stdin; both ends check what they got.
# hv_server PEER LISTEN_ADDR CLIENT_CMD (sh -c, $PORT set)
hv_server() {
	peer=$1 laddr=$2 client=$3
	next_port
	export PORT
	la=$(echo "$laddr" | sed "s/PORT/$PORT/")
	rm -f "$WORK/s.req" "$WORK/s.resp"
	bg_in "hvcat-l-$peer" 120 "$B" "$HV" -l -v $la >"$WORK/s.req"
	pid=$BG_PID
	wait_listen "$PORT" || t_fail "$peer: hvcat -l $la listening"
	run "$peer-connect" 120 sh -c "$client" <"$A" >"$WORK/s.resp" ||
	    { t_fail "$peer client exit ($client)"; show "$peer-connect"; }
	bg_wait $pid || { t_fail "hvcat -l $la exit"; show "hvcat-l-$peer"; }
	ok=0
	same "$peer -> hvcat -l $la, byte-exact" "$A" "$WORK/s.req" || ok=1
	same "hvcat -l $la -> $peer, byte-exact" "$B" "$WORK/s.resp" || ok=1
	matrix "$peer" "connects, hvcat -l $(echo "$laddr" | sed 's/PORT/P/')" $ok
}

hv_server socat "PORT" 'socat -t 30 STDIO VSOCK-CONNECT:1:$PORT'
hv_server ncat "vsock:PORT" 'ncat --vsock 1 $PORT'
hv_server python "hvsock:PORT" "$PEER connect 1 \$PORT --send - --recv -"

# ---- the peer listens and answers only after hvcat's half-close; hvcat
#      connects, sends A, passes on its stdin EOF, reads B to the end.
# hv_client PEER CONNECT_ADDR SERVER_CMD (sh -c, $PORT, $REQ, $B set)
hv_client() {
	peer=$1 caddr=$2 server=$3
	next_port
	export PORT REQ="$WORK/c.req" B
	ca=$(echo "$caddr" | sed "s/PORT/$PORT/")
	rm -f "$WORK/c.req" "$WORK/c.resp"
	bg "$peer-listen" 120 sh -c "$server"
	pid=$BG_PID
	wait_listen "$PORT" || t_fail "$peer listening on $PORT"
	run "hvcat-c-$peer" 120 "$HV" -v $ca <"$A" >"$WORK/c.resp" ||
	    { t_fail "hvcat $ca exit"; show "hvcat-c-$peer"; }
	bg_wait $pid || { t_fail "$peer server exit"; show "$peer-listen"; }
	ok=0
	same "hvcat $ca -> $peer, byte-exact" "$A" "$WORK/c.req" || ok=1
	same "$peer -> hvcat $ca after the half-close, byte-exact" "$B" "$WORK/c.resp" || ok=1
	matrix "$peer" "listens, hvcat $(echo "$caddr" | sed 's/PORT/P/')" $ok
}

# socat -t 30: socat ends a connection 0.5 s after the first EOF by
# default, which a slow VM can hit before the answer has started.
hv_client socat "1 PORT" 'socat -t 30 VSOCK-LISTEN:$PORT SYSTEM:"cat >$REQ; cat $B"'
hv_client python "hvsock:parent:PORT" "$PEER listen \$PORT --recv \$REQ --send \$B"

# ncat does not pass a half-close on in its exec mode (it ends the
# connection at the first EOF), so against ncat -l each direction gets a
# connection of its own.
next_port
rm -f "$WORK/n.req" "$WORK/n.resp"
bg ncat-sink 120 sh -c "exec ncat --vsock -l --recv-only $PORT >$WORK/n.req"
pid=$BG_PID
wait_listen "$PORT" || t_fail "ncat -l --recv-only listening"
run hvcat-c-ncat 120 "$HV" "vsock:1:$PORT" <"$A" || t_fail "hvcat vsock:1:P -> ncat exit"
bg_wait $pid || { t_fail "ncat sink exit"; show ncat-sink; }
ok=0
same "hvcat vsock:1:P -> ncat -l --recv-only, byte-exact" "$A" "$WORK/n.req" || ok=1
next_port
bg ncat-source 120 sh -c "exec ncat --vsock -l --send-only $PORT <$B"
pid=$BG_PID
wait_listen "$PORT" || t_fail "ncat -l --send-only listening"
run hvcat-c-ncat2 120 "$HV" --recv-only "vsock:1:$PORT" >"$WORK/n.resp" ||
    { t_fail "hvcat --recv-only vsock:1:P exit"; show hvcat-c-ncat2; }
bg_wait $pid || { t_fail "ncat source exit"; show ncat-source; }
same "ncat -l --send-only -> hvcat --recv-only vsock:1:P, byte-exact" "$B" "$WORK/n.resp" || ok=1
matrix ncat "listens, hvcat vsock:1:P (each way)" $ok

# ---- full duplex with python: both directions at once, both roles.
next_port
rm -f "$WORK/d.srv" "$WORK/d.cli" "$WORK/d.ready"
bg py-duplex-l 120 $PEER listen "$PORT" --order duplex --send "$A" --recv "$WORK/d.srv" --ready "$WORK/d.ready"
pid=$BG_PID
wait_file "$WORK/d.ready" || t_fail "python duplex listener ready"
run hvcat-duplex-c 120 "$HV" 1 "$PORT" <"$B" >"$WORK/d.cli" || t_fail "hvcat duplex client exit"
bg_wait $pid || t_fail "python duplex listener exit"
ok=0
same "duplex: hvcat -> python" "$B" "$WORK/d.srv" || ok=1
same "duplex: python -> hvcat" "$A" "$WORK/d.cli" || ok=1
matrix python "listens, duplex, hvcat 1 P" $ok

next_port
rm -f "$WORK/d.srv" "$WORK/d.cli"
bg_in hvcat-duplex-l 120 "$A" "$HV" -l -p "$PORT" >"$WORK/d.srv"
pid=$BG_PID
wait_listen "$PORT" || t_fail "hvcat -l -p listening"
run py-duplex-c 120 $PEER connect 1 "$PORT" --order duplex --send "$B" --recv "$WORK/d.cli" ||
    t_fail "python duplex client exit"
bg_wait $pid || t_fail "hvcat -l -p exit"
ok=0
same "duplex: python -> hvcat -l -p" "$B" "$WORK/d.srv" || ok=1
same "duplex: hvcat -l -p -> python" "$A" "$WORK/d.cli" || ok=1
matrix python "connects, duplex, hvcat -l -p P" $ok

# ---- hvcat <-> hvcat, and the defaults: vsock:PORT connects to CID 2,
#      which vsock_loopback routes back here.
next_port
rm -f "$WORK/h.srv" "$WORK/h.cli"
bg_in hvcat-self-l 120 "$B" "$HV" -l "vsock:any:$PORT" >"$WORK/h.srv"
pid=$BG_PID
wait_listen "$PORT" || t_fail "hvcat -l vsock:any listening"
run hvcat-self-c 120 "$HV" "vsock:$PORT" <"$A" >"$WORK/h.cli" || t_fail "hvcat vsock:PORT exit"
bg_wait $pid || t_fail "hvcat -l vsock:any exit"
ok=0
same "hvcat vsock:P (CID 2 by default) -> hvcat -l" "$A" "$WORK/h.srv" || ok=1
same "hvcat -l -> hvcat vsock:P" "$B" "$WORK/h.cli" || ok=1
matrix hvcat "listens, hvcat vsock:P (CID 2)" $ok

# ---- -e over vsock: the program answers after the client's half-close.
next_port
bg hvcat-exec 60 "$HV" -l -e sha256sum "$PORT"
pid=$BG_PID
wait_listen "$PORT" || t_fail "hvcat -l -e listening"
got=$($PEER connect 1 "$PORT" --send "$A" --recv - 2>"$LOGS/py-exec.log" | cut -d' ' -f1)
bg_wait $pid || t_fail "hvcat -l -e exit"
if [ "$got" = "$(sha "$A")" ]; then
	t_pass "hvcat -l -e sha256sum: python's request hashed by the program"
	matrix python "connects, hvcat -l -e sha256sum" 0
else
	t_fail "hvcat -l -e sha256sum" "got '$got'"
	matrix python "connects, hvcat -l -e sha256sum" 1
fi

# ---- -k: three clients in turn on one listener.
next_port
bg hvcat-keep 60 "$HV" -l -k "$PORT" >"$WORK/k.out"
kpid=$BG_PID
wait_listen "$PORT" || t_fail "hvcat -l -k listening"
for i in 1 2 3; do
	echo "client $i" | run "keep-$i" 20 "$HV" 1 "$PORT" || t_fail "-k client $i"
done
kill -TERM "$kpid" 2>/dev/null
bg_wait $kpid 2>/dev/null
krc=$?
if [ "$(cat "$WORK/k.out")" = "$(printf 'client 1\nclient 2\nclient 3')" ] && [ $krc -eq 143 ]; then
	t_pass "hvcat -l -k: three clients in turn, SIGTERM ends it (143)"
else
	t_fail "hvcat -l -k" "rc $krc, got: $(cat "$WORK/k.out")"
fi

# ---- -z and failures, one line each with the reason.
next_port
bg hvcat-z 30 "$HV" -l "$PORT"
pid=$BG_PID
wait_listen "$PORT" || t_fail "hvcat -l for -z"
t_expect_rc "hvcat -z 1 PORT to a listener: exit 0" 0 "$HV" -z 1 "$PORT"
bg_wait $pid
next_port
"$HV" -z 1 "$PORT" 2>"$LOGS/z-unused.log"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$LOGS/z-unused.log")" -eq 1 ] &&
    grep -q "vsock:1:$PORT: connection reset" "$LOGS/z-unused.log"; then
	t_pass "hvcat -z to a port nobody listens on: exit 1, one line ($(cat "$LOGS/z-unused.log"))"
else
	t_fail "hvcat -z unused port" "exit $rc: $(cat "$LOGS/z-unused.log")"
fi
"$HV" 7 "$PORT" </dev/null 2>"$LOGS/nocid.log"
rc=$?
if [ $rc -eq 1 ] && grep -q "no such CID" "$LOGS/nocid.log"; then
	t_pass "hvcat 7 PORT: exit 1, 'no such CID' ($(cat "$LOGS/nocid.log"))"
else
	t_fail "hvcat to CID 7" "exit $rc: $(cat "$LOGS/nocid.log")"
fi
for a in hvsock:parent:a42e7cda-d03f-480c-9cc2-a4de20abb878 \
    "-l hvsock:a42e7cda-d03f-480c-9cc2-a4de20abb878" hvsock:children:5000; do
	# shellcheck disable=SC2086
	"$HV" $a </dev/null 2>"$LOGS/badhv.log"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <"$LOGS/badhv.log")" -eq 1 ]; then
		t_pass "hvcat $a: exit 2, one line ($(cat "$LOGS/badhv.log"))"
	else
		t_fail "hvcat $a" "exit $rc: $(cat "$LOGS/badhv.log")"
	fi
done

# Ports below 1024 need privilege: as nobody, hvcat -l 80 says why.
if command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$HV" -l 80 2>"$LOGS/priv.log"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "permission denied (ports below 1024" "$LOGS/priv.log"; then
		t_pass "hvcat -l 80 as nobody: exit 1 with the reason"
	elif [ $rc -eq 126 ]; then
		t_skip "hvcat -l 80 as nobody" "hvcat not executable by nobody here"
	else
		t_fail "hvcat -l 80 as nobody" "exit $rc: $(cat "$LOGS/priv.log")"
	fi
else
	t_skip "hvcat -l 80 as nobody" "no setpriv"
fi

# ---- --allow by CID.
next_port
bg hvcat-allow 30 "$HV" -l -v --allow 5,host "$PORT"
pid=$BG_PID
wait_listen "$PORT" || t_fail "hvcat --allow listening"
echo x | "$HV" 1 "$PORT" >/dev/null 2>&1
sleep 0.3
if kill -0 "$pid" 2>/dev/null && grep -q "refused connection from vsock:" "$LOGS/hvcat-allow.log"; then
	t_pass "--allow 5,host: a peer from CID $( "$HV" --local-cid ) is refused, listener goes on"
else
	t_fail "--allow refusal" "$(cat "$LOGS/hvcat-allow.log")"
fi
kill "$pid" 2>/dev/null
bg_wait $pid 2>/dev/null
next_port
bg hvcat-allow2 30 sh -c "exec '$HV' -l --allow 1,2 $PORT >/dev/null"
pid=$BG_PID
wait_listen "$PORT" || t_fail "hvcat --allow 1,2 listening"
echo x | "$HV" 1 "$PORT" >/dev/null 2>&1
if bg_wait $pid; then
	t_pass "--allow 1,2: the local peer is served"
else
	t_fail "--allow 1,2" "$(cat "$LOGS/hvcat-allow2.log")"
fi

# ---- -v: the local CID and the Hyper-V service GUID of the port.
next_port
bg hvcat-v 30 "$HV" -l -v 5000
pid=$BG_PID
wait_listen 5000 || t_fail "hvcat -l -v 5000 listening"
"$HV" -z 1 5000
bg_wait $pid
if grep -q "local CID 1" "$LOGS/hvcat-v.log" &&
    grep -q "00001388-facb-11e6-bd58-64006a7986d3" "$LOGS/hvcat-v.log"; then
	t_pass "hvcat -l -v 5000: local CID 1 and service 00001388-facb-..."
else
	t_fail "hvcat -v lines" "$(cat "$LOGS/hvcat-v.log")"
fi

# ---- connect timeout: a CID that never answers (VM only).
if [ "$HVS_VM_MODE" = vm ]; then
	rm -f "$WORK/bh.ready"
	bg blackhole 60 $PEER blackhole 3 --ready "$WORK/bh.ready" --timeout 50
	bh=$BG_PID
	if wait_file "$WORK/bh.ready" 30; then
		t0=$(now_ms)
		"$HV" -w 1.5 3 5000 </dev/null 2>"$LOGS/timeout.log"
		rc=$?
		ms=$(($(now_ms) - t0))
		if [ $rc -eq 1 ] && grep -q "vsock:3:5000: connection timed out after 1.500 s" "$LOGS/timeout.log" &&
		    [ $ms -ge 1400 ]; then
			t_pass "hvcat -w 1.5 to a silent CID: exit 1 after $ms ms, 'timed out'"
		else
			t_fail "hvcat -w 1.5 timeout" "exit $rc after $ms ms: $(cat "$LOGS/timeout.log")"
		fi
		t0=$(now_ms)
		"$HV" -z 3 5000 2>"$LOGS/timeout2.log"
		rc=$?
		ms=$(($(now_ms) - t0))
		if [ $rc -eq 1 ] && grep -q "timed out" "$LOGS/timeout2.log"; then
			t_pass "hvcat -z to a silent CID without -w: the kernel's default bound ($ms ms)"
		else
			t_fail "hvcat -z silent CID" "exit $rc after $ms ms: $(cat "$LOGS/timeout2.log")"
		fi
	else
		t_fail "vhost_vsock blackhole CID 3"
		show blackhole
	fi
	kill "$bh" 2>/dev/null
else
	t_skip "hvcat -w to a silent CID" "needs the VM (vhost_vsock blackhole)"
fi

note "interop matrix (peer, who listens, result):"
sed 's/^/# matrix: /' "$MATRIX"
t_done
