#!/bin/sh
# SPDX-License-Identifier: MIT
# hvproxy-chain.sh - hvproxy over real AF_VSOCK (vsock_loopback, CID 1):
#
#   client -tcp-> hvproxy A -vsock-> hvproxy B -tcp-> server
#
# with sha256 checks both ways and half-close; real HTTP (curl) through the
# chain; independent peers on one end (socat VSOCK-LISTEN as hvproxy's
# target, ncat --vsock and python AF_VSOCK as clients of hvproxy's vsock
# listener); the vsock allowlist (peer CIDs); max-conns-per-peer by CID;
# the metrics of the vsock forward; a connect timeout against a vsock CID
# that never answers.
#
#   run-vm.sh --out DIR jobs/hvproxy-chain.sh /path/to/hvproxy
HVS_PORT_BASE=31000
. "$HVS_VM_DIR/lib.sh"
require_vsock
require socat ncat ss sha256sum curl

HVP=${1:?usage: hvproxy-chain.sh HVPROXY}
[ -x "$HVP" ] || skip_all "no hvproxy at $HVP"
SIZE=${HVS_VM_SIZE:-8M}
A=$WORK/a.bin
mkrand "$A" "$SIZE"
note "hvproxy $("$HVP" --version | cut -d' ' -f2); file $(size "$A") bytes"

# hvp NAME ARGS... : hvproxy in the background; ready once its pidfile
# exists (written after every listener is bound). Sets HVP_PID.
hvp() {
	n=$1
	shift
	rm -f "$WORK/$n.pid"
	bg "$n" 400 "$HVP" -v --pidfile "$WORK/$n.pid" "$@"
	HVP_PID=$BG_PID
	if ! wait_file "$WORK/$n.pid" 20; then
		t_fail "$n starts" "$(cat "$LOGS/$n.log")"
		return 1
	fi
}

# 1. The chain, with a sha256 server at the end: request, half-close,
#    answer.
tcp_port; P_SHA=$PORT
bg sha-server 400 socat -t 30 "TCP-LISTEN:$P_SHA,bind=127.0.0.1,reuseaddr,fork" EXEC:sha256sum
tcp_wait "$P_SHA" || t_fail "sha256 server listens"
next_port; V=$PORT
hvp hvp-b "vsock:$V" "tcp:127.0.0.1:$P_SHA"
B_PID=$HVP_PID
tcp_port; P_A=$PORT
hvp hvp-a --metrics "127.0.0.1:$((P_A + 500))" "tcp:$P_A" "vsock:1:$V"
A_PID=$HVP_PID
want=$(sha "$A")
t0=$(now_ms)
got=$(run chain-client 60 socat -t 30 STDIO "TCP:127.0.0.1:$P_A" <"$A" | cut -d' ' -f1)
note "tcp -> hvproxy -> vsock -> hvproxy -> tcp: $(rate "$(size "$A")" $(($(now_ms) - t0)))"
if [ "$got" = "$want" ]; then
	t_pass "chain: $(size "$A") bytes up, sha256 back after half-close"
else
	t_fail "chain: sha256" "got '$got' want '$want'"
	show chain-client; show hvp-a; show hvp-b
fi

# 2. Both ways at once: an echo server at the end of a second chain.
tcp_port; P_ECHO=$PORT
bg echo-server 400 socat -t 30 "TCP-LISTEN:$P_ECHO,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
tcp_wait "$P_ECHO" || t_fail "echo server listens"
next_port; V2=$PORT
tcp_port; P_A2=$PORT
hvp hvp-b2 "vsock:$V2" "tcp:127.0.0.1:$P_ECHO" &&
    hvp hvp-a2 "tcp:$P_A2" "vsock:1:$V2"
run echo-client 60 socat -t 30 STDIO "TCP:127.0.0.1:$P_A2" <"$A" >"$WORK/echo.out"
t_same "chain: echo, $(size "$A") bytes both ways at once" "$A" "$WORK/echo.out"

# 3. Real HTTP through the chain.
mkdir -p "$WORK/www"
cp "$A" "$WORK/www/a.bin"
tcp_port; P_WEB=$PORT
bg web 400 "$PY" -m http.server "$P_WEB" --bind 127.0.0.1 --directory "$WORK/www"
tcp_wait "$P_WEB" || t_fail "http.server listens"
next_port; V3=$PORT
tcp_port; P_A3=$PORT
hvp hvp-b3 "vsock:$V3" "tcp:127.0.0.1:$P_WEB" &&
    hvp hvp-a3 "tcp:$P_A3" "vsock:1:$V3"
run curl 60 curl -sS --max-time 50 -o "$WORK/curl.out" "http://127.0.0.1:$P_A3/a.bin" ||
    { t_fail "curl through the chain"; show curl; }
t_same "chain: curl GET $(size "$A") bytes" "$A" "$WORK/curl.out"

# 4. Independent peers on the vsock side of hvproxy.
#    a) ncat --vsock as the client of hvproxy B's vsock listener.
run ncat-client 60 ncat --vsock 1 "$V" <"$A" >"$WORK/ncat.out" ||
    { t_fail "ncat --vsock -> hvproxy"; show ncat-client; }
got=$(cut -d' ' -f1 "$WORK/ncat.out")
[ "$got" = "$want" ] && t_pass "ncat --vsock -> hvproxy vsock:$V -> tcp: sha256 back" ||
    { t_fail "ncat --vsock -> hvproxy" "got '$got'"; show hvp-b; }
#    b) python AF_VSOCK as the client.
run py-client 60 $PEER connect 1 "$V" --send "$A" --recv "$WORK/py.out" ||
    { t_fail "python AF_VSOCK -> hvproxy"; show py-client; }
got=$(cut -d' ' -f1 "$WORK/py.out")
[ "$got" = "$want" ] && t_pass "python AF_VSOCK -> hvproxy vsock:$V -> tcp: sha256 back" ||
    t_fail "python AF_VSOCK -> hvproxy" "got '$got'"
#    c) socat VSOCK-LISTEN as hvproxy's target.
next_port; V4=$PORT
bg socat-vsock 400 socat -t 30 "VSOCK-LISTEN:$V4,reuseaddr,fork" EXEC:sha256sum
wait_listen "$V4" || t_fail "socat VSOCK-LISTEN:$V4"
tcp_port; P_A4=$PORT
hvp hvp-a4 "tcp:$P_A4" "vsock:1:$V4"
got=$(run socat-chain 60 socat -t 30 STDIO "TCP:127.0.0.1:$P_A4" <"$A" | cut -d' ' -f1)
[ "$got" = "$want" ] && t_pass "tcp -> hvproxy -> socat VSOCK-LISTEN: sha256 back" ||
    { t_fail "hvproxy -> socat VSOCK-LISTEN" "got '$got'"; show hvp-a4; show socat-vsock; }

# 5. Allowlist of peer CIDs on a vsock listener (our own peer is CID 1).
next_port; V5=$PORT
hvp hvp-deny --allow cid:3 "vsock:$V5" "tcp:127.0.0.1:$P_SHA"
out=$(echo hello | run deny-client 60 socat -t 20 STDIO "VSOCK-CONNECT:1:$V5")
[ -z "$out" ] && grep -q "end=refused reason=allowlist" "$LOGS/hvp-deny.log" &&
    t_pass "--allow cid:3 refuses a peer of CID 1" ||
    { t_fail "--allow cid:3 refuses CID 1" "got '$out'"; show hvp-deny; }
next_port; V6=$PORT
hvp hvp-allow --allow cid:1,cid:2 "vsock:$V6" "tcp:127.0.0.1:$P_SHA"
out=$(printf hello | run allow-client 60 socat -t 20 STDIO "VSOCK-CONNECT:1:$V6" | cut -d' ' -f1)
[ "$out" = "$(printf hello | sha256sum | cut -d' ' -f1)" ] &&
    t_pass "--allow cid:1,cid:2 admits CID 1" || { t_fail "--allow cid:1 admits" "got '$out'"; show hvp-allow; }

# 5b. max-conns-per-peer on a vsock listener: the peer is its CID (here 1,
#     whatever the source port): python's AF_VSOCK holds one relayed
#     connection, its second is closed at once, the first still relays.
tcp_port; P_ECHO=$PORT
bg echo-server 400 socat -t 30 "TCP-LISTEN:$P_ECHO,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
tcp_wait "$P_ECHO" || t_fail "echo server listens"
next_port; V7=$PORT
hvp hvp-peer --max-conns-per-peer 1 "vsock:$V7" "tcp:127.0.0.1:$P_ECHO"
out=$(run peer-client 60 "$PY" -c '
import socket, sys

port = int(sys.argv[1])


def conn():
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect((1, port))
    return s


def echo(s, msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(len(msg) - len(got))
        if not d:
            break
        got += d
    return got == msg


a = conn()
first = echo(a, b"ping")
b = conn()
try:
    closed = b.recv(1) == b""
except ConnectionResetError:
    closed = True
print("first=%s second-closed=%s first-still=%s" % (first, closed,
                                                   echo(a, b"pong")))
' "$V7")
[ "$out" = "first=True second-closed=True first-still=True" ] &&
    grep -q 'end=refused reason=max-conns-per-peer limit=1 who="cid 1"' "$LOGS/hvp-peer.log" &&
    t_pass "--max-conns-per-peer 1: CID 1's second vsock connection is closed, its first relays" ||
    { t_fail "--max-conns-per-peer over vsock" "got '$out'"; show peer-client; show hvp-peer; }

# 6. The vsock forward's metrics count what went through it.
m=$(curl -s --max-time 5 "http://127.0.0.1:$((P_A + 500))/metrics")
up=$(echo "$m" | sed -n "s/^hvproxy_bytes_total{forward=\"tcp:127.0.0.1:$P_A\",direction=\"up\"} //p")
[ "$up" = "$(size "$A")" ] && t_pass "metrics: bytes up over vsock = $up" ||
    t_fail "metrics: bytes up" "got '$up', want $(size "$A")"

# 7. Exposed on all interfaces: a warning (the VM has no network).
tcp_port
hvp hvp-all "tcp:*:$PORT" "tcp:127.0.0.1:$P_SHA"
grep -q "exposed on all network interfaces" "$LOGS/hvp-all.log" &&
    t_pass "tcp:*:PORT warns that the port is exposed" || t_fail "all-interfaces warning"

# 8. SIGTERM drains: hvproxy A exits 0 with the chain idle.
kill -TERM "$A_PID"
bg_wait "$A_PID" && t_pass "hvproxy A: SIGTERM, exit 0" || t_fail "hvproxy A exit status"
kill -TERM "$B_PID"
bg_wait "$B_PID" && t_pass "hvproxy B: SIGTERM, exit 0" || t_fail "hvproxy B exit status"

# 9. Connect timeout over vsock: CID 3 registered with vhost_vsock and never
#    run answers nothing (VM only; loads vhost_vsock, so it comes last).
if [ "$HVS_VM_MODE" = vm ]; then
	bg blackhole 60 $PEER blackhole 3 --ready "$WORK/bh.ready"
	if wait_file "$WORK/bh.ready" 30; then
		tcp_port; P_BH=$PORT
		next_port
		hvp hvp-bh --connect-timeout 1s "tcp:$P_BH" "vsock:3:$PORT"
		t0=$(now_ms)
		echo x | run bh-client 20 socat -t 10 STDIO "TCP:127.0.0.1:$P_BH" >/dev/null
		dt=$(($(now_ms) - t0))
		if grep -q "end=connect-timeout err=ETIMEDOUT" "$LOGS/hvp-bh.log"; then
			t_pass "vsock connect timeout: client closed after ${dt} ms"
		else
			t_fail "vsock connect timeout" "${dt} ms"; show hvp-bh
		fi
	else
		t_fail "vhost_vsock blackhole CID 3"; show blackhole
	fi
else
	t_skip "vsock connect timeout" "needs the VM (vhost_vsock blackhole)"
fi

t_done
