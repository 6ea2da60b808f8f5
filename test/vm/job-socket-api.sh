#!/bin/sh
# SPDX-License-Identifier: MIT
# job-socket-api.sh VSOCK_API - libhvsock's public socket API over real
# AF_VSOCK: the in-process checks of vsock_api, byte-exact transfers in
# both directions with half-close against peer.py (an independent
# implementation), and connect timeouts against a CID that never answers.
. "$HVS_VM_DIR/lib.sh"
require_vsock
API=${1:-}
[ -n "$API" ] && [ -x "$API" ] || skip_all "vsock_api not built (got '${API}')"

SIZE=${HVS_VM_SIZE:-8M}
A=$WORK/a.bin
B=$WORK/b.bin
mkrand "$A" "$SIZE"
mkrand "$B" "$SIZE"

# subtest NAME SECS CMD... : a TAP-printing program, indented, as one test.
subtest() {
	n=$1; s=$2; shift 2
	timeout -k 2 "$s" "$@" >"$WORK/sub.out" 2>"$LOGS/$n.log"
	rc=$?
	sed 's/^/    /' "$WORK/sub.out"
	if [ $rc -eq 0 ]; then
		t_pass "$n"
	else
		t_fail "$n" "exit $rc"
		show "$n"
	fi
}

# 1. In-process checks (ports 21000..21019). Run first: the local CID is
#    only 1 while vsock_loopback is the only transport (before step 4 loads
#    vhost_vsock).
subtest vsock_api-checks 120 "$API" checks 21000

# 2. library client -> python server: the client sends A and half-closes;
#    the server answers with B only after that EOF.
xfer_lib_client() { # LABEL BUFSIZE
	next_port
	rm -f "$WORK/srv.req" "$WORK/cli.resp" "$WORK/ready"
	bg py-server-$1 120 $PEER listen "$PORT" --recv "$WORK/srv.req" --send "$B" --ready "$WORK/ready"
	pid=$BG_PID
	wait_file "$WORK/ready" || t_fail "$1: python listener ready"
	t0=$(now_ms)
	run api-client-$1 120 "$API" client 1 "$PORT" "$A" "$WORK/cli.resp" $2 ||
	    { t_fail "$1: vsock_api client exit"; show api-client-$1; }
	bg_wait $pid || { t_fail "$1: python server exit"; show py-server-$1; }
	note "$1: $(($(size "$A") + $(size "$B"))) bytes both ways in $(($(now_ms) - t0)) ms"
	t_same "$1: library -> python, byte-exact" "$A" "$WORK/srv.req"
	t_same "$1: python -> library after half-close, byte-exact" "$B" "$WORK/cli.resp"
}
xfer_lib_client "lib-client" ""
xfer_lib_client "lib-client-64k-window" 65536

# 3. python client -> library server, the other way round.
next_port
rm -f "$WORK/srv.req" "$WORK/cli.resp" "$WORK/ready"
bg api-server 120 "$API" server "$PORT" "$A" "$WORK/srv.req" "$WORK/ready"
pid=$BG_PID
wait_file "$WORK/ready" || t_fail "lib-server: vsock_api listening"
run py-client 120 $PEER connect 1 "$PORT" --send "$B" --recv "$WORK/cli.resp" ||
    { t_fail "lib-server: python client exit"; show py-client; }
bg_wait $pid || { t_fail "lib-server: vsock_api server exit"; show api-server; }
t_same "lib-server: python -> library, byte-exact" "$B" "$WORK/srv.req"
t_same "lib-server: library -> python after half-close, byte-exact" "$A" "$WORK/cli.resp"

# 4. library <-> library.
next_port
rm -f "$WORK/srv.req" "$WORK/cli.resp" "$WORK/ready"
bg api-server-2 120 "$API" server "$PORT" "$B" "$WORK/srv.req" "$WORK/ready"
pid=$BG_PID
wait_file "$WORK/ready" || t_fail "lib-lib: vsock_api listening"
run api-client-2 120 "$API" client 1 "$PORT" "$A" "$WORK/cli.resp" ||
    { t_fail "lib-lib: client exit"; show api-client-2; }
bg_wait $pid || { t_fail "lib-lib: server exit"; show api-server-2; }
t_same "lib-lib: client -> server, byte-exact" "$A" "$WORK/srv.req"
t_same "lib-lib: server -> client after half-close, byte-exact" "$B" "$WORK/cli.resp"

# 5. Connect timeouts. vsock_loopback answers every request at once (RST
#    or RESPONSE), so the unresponsive peer is CID 3 registered with
#    vhost_vsock and never started: requests to it queue and are never
#    answered. (Loading vhost_vsock makes the local CID read 2.)
if [ "$HVS_VM_MODE" = vm ]; then
	rm -f "$WORK/bh.ready"
	bg blackhole 120 $PEER blackhole 3 --ready "$WORK/bh.ready" --timeout 110
	bh=$BG_PID
	if wait_file "$WORK/bh.ready" 30; then
		subtest vsock_api-timeout 120 "$API" timeout 3 5000
	else
		t_fail "vhost_vsock blackhole CID 3"
		show blackhole
	fi
	kill "$bh" 2>/dev/null
else
	t_skip "vsock_api-timeout" "needs the VM (vhost_vsock blackhole)"
fi

t_done
