#!/bin/sh
# SPDX-License-Identifier: MIT
# job-peers.sh - the harness proves itself: independent peers (socat, ncat,
# python) exchange random files over real AF_VSOCK on CID 1, in both
# directions with half-close, checked by sha256. No libhvsock code runs
# here: if this job fails, the VM or the tools are at fault, not the library.
. "$HVS_VM_DIR/lib.sh"
require_vsock
require socat ncat ss sha256sum

SIZE=${HVS_VM_SIZE:-8M}
A=$WORK/a.bin
B=$WORK/b.bin
mkrand "$A" "$SIZE"
mkrand "$B" "$SIZE"
note "files: $(size "$A") bytes each; kernel $(uname -r)"

# 1. socat VSOCK-LISTEN (sink to a file) <- python connect (sends A, SHUT_WR).
next_port
bg socat-listen 60 socat -u "VSOCK-LISTEN:$PORT" "OPEN:$WORK/1.out,creat,trunc"
pid=$BG_PID
if wait_listen "$PORT"; then
	t_pass "ss --vsock sees socat listening on $PORT"
else
	t_fail "ss --vsock sees socat listening on $PORT"
fi
t0=$(now_ms)
run py-connect-1 60 $PEER connect 1 "$PORT" --send "$A" --retry 5 ||
    { t_fail "python -> socat: connect/send"; show py-connect-1; }
bg_wait $pid || { t_fail "socat listener exit"; show socat-listen; }
note "python -> socat: $(rate "$(size "$A")" $(($(now_ms) - t0)))"
t_same "python -> socat, byte-exact" "$A" "$WORK/1.out"

# 2. python listen (request/response) <- socat VSOCK-CONNECT with half-close:
#    socat sends A, shuts down its write side on stdin EOF; python answers
#    with B only after that EOF.
next_port
bg py-listen-2 60 $PEER listen "$PORT" --recv "$WORK/2.req" --send "$B" --ready "$WORK/2.ready"
pid=$BG_PID
wait_file "$WORK/2.ready" || t_fail "python listener ready"
run socat-connect-2 60 socat -t 30 STDIO "VSOCK-CONNECT:1:$PORT" <"$A" >"$WORK/2.resp" ||
    { t_fail "socat -> python: socat exit"; show socat-connect-2; }
bg_wait $pid || { t_fail "python listener exit"; show py-listen-2; }
t_same "socat -> python request, byte-exact" "$A" "$WORK/2.req"
t_same "python -> socat response after half-close, byte-exact" "$B" "$WORK/2.resp"

# 3. ncat --vsock -l (sink) <- python connect.
next_port
bg ncat-listen-3 60 ncat --vsock -l --recv-only "$PORT" >"$WORK/3.out"
pid=$BG_PID
wait_listen "$PORT" || t_fail "ncat listening on $PORT"
run py-connect-3 60 $PEER connect 1 "$PORT" --send "$B" --retry 5 ||
    { t_fail "python -> ncat: connect/send"; show py-connect-3; }
bg_wait $pid || { t_fail "ncat listener exit"; show ncat-listen-3; }
t_same "python -> ncat, byte-exact" "$B" "$WORK/3.out"

# 4. python listen (request/response) <- ncat --vsock: ncat half-closes on
#    stdin EOF and keeps reading the response.
next_port
bg py-listen-4 60 $PEER listen "$PORT" --recv "$WORK/4.req" --send "$A" --ready "$WORK/4.ready"
pid=$BG_PID
wait_file "$WORK/4.ready" || t_fail "python listener ready"
run ncat-connect-4 60 ncat --vsock 1 "$PORT" <"$B" >"$WORK/4.resp" ||
    { t_fail "ncat -> python: ncat exit"; show ncat-connect-4; }
bg_wait $pid || { t_fail "python listener exit"; show py-listen-4; }
t_same "ncat -> python request, byte-exact" "$B" "$WORK/4.req"
t_same "python -> ncat response after half-close, byte-exact" "$A" "$WORK/4.resp"

# 5. socat <-> ncat directly, python not involved.
next_port
bg socat-listen-5 60 socat -u "VSOCK-LISTEN:$PORT" "OPEN:$WORK/5.out,creat,trunc"
pid=$BG_PID
wait_listen "$PORT" || t_fail "socat listening on $PORT"
run ncat-connect-5 60 ncat --vsock --send-only 1 "$PORT" <"$A" ||
    { t_fail "ncat -> socat: ncat exit"; show ncat-connect-5; }
bg_wait $pid || { t_fail "socat listener exit"; show socat-listen-5; }
t_same "ncat -> socat, byte-exact" "$A" "$WORK/5.out"

# 6. python <-> python, full duplex: both directions at once, each side
#    half-closes after sending.
next_port
bg py-listen-6 60 $PEER listen "$PORT" --order duplex --send "$A" --recv "$WORK/6.srv" --ready "$WORK/6.ready"
pid=$BG_PID
wait_file "$WORK/6.ready" || t_fail "python listener ready"
run py-connect-6 60 $PEER connect 1 "$PORT" --order duplex --send "$B" --recv "$WORK/6.cli" ||
    { t_fail "python duplex client"; show py-connect-6; }
bg_wait $pid || { t_fail "python duplex server"; show py-listen-6; }
t_same "python duplex, client -> server" "$B" "$WORK/6.srv"
t_same "python duplex, server -> client" "$A" "$WORK/6.cli"

# 7. Connecting to a port nobody listens on is answered at once with a
#    reset (vsock_loopback sends RST; there is no "refused" in virtio vsock).
next_port
run py-refused 10 $PEER connect 1 "$PORT"
rc=$?
if [ $rc -eq 3 ] && grep -q 'error=ECONNRESET' "$LOGS/py-refused.log"; then
	t_pass "connect to an unused port: ECONNRESET"
else
	t_fail "connect to an unused port: ECONNRESET" "exit $rc: $(cat "$LOGS/py-refused.log")"
fi

t_done
