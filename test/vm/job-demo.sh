#!/bin/sh
# SPDX-License-Identifier: MIT
# job-demo.sh HVCAT HVPROXY - the README's live demo, and a test: a guest
# web server exposed over real AF_VSOCK and reached from "the host side",
# then files sent with hvcat both ways, all checked by sha256.
#
#   curl -> tcp:127.0.0.1:8080 -> hvproxy -> vsock:1:5000
#        -> hvproxy -> tcp:127.0.0.1:8000 -> python3 -m http.server
#
# (Inside the VM CID 1, vsock_loopback, stands in for the host<->guest
# hop: every byte goes through the kernel's AF_VSOCK code.)
. "$HVS_VM_DIR/lib.sh"
require_vsock
HVCAT=${1:-}
HVPROXY=${2:-}
[ -x "$HVCAT" ] && [ -x "$HVPROXY" ] || skip_all "hvcat/hvproxy not built"
require curl

say() { echo "# demo: $*"; }

mkdir -p "$WORK/www"
mkrand "$WORK/www/payload.bin" 4M
say "guest service: python3 -m http.server on 127.0.0.1:8000"
bg http 400 $PY -m http.server 8000 --bind 127.0.0.1 --directory "$WORK/www"
say "guest: hvproxy vsock:5000 tcp:127.0.0.1:8000   (expose it on vsock port 5000)"
bg proxy-guest 400 "$HVPROXY" -v vsock:5000 tcp:127.0.0.1:8000
say "host:  hvproxy tcp:8080 vsock:1:5000           (localhost:8080 -> guest port 5000)"
bg proxy-host 400 "$HVPROXY" -v tcp:8080 vsock:1:5000
wait_listen 5000 || t_fail "hvproxy listens on vsock port 5000"
t0=$(now_ms)
ok=0
while [ $(($(now_ms) - t0)) -lt 20000 ]; do
	if curl -s -o /dev/null http://127.0.0.1:8080/ 2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.1
done
[ $ok -eq 1 ] || t_fail "http through the chain answers"
say "curl http://127.0.0.1:8080/payload.bin"
t0=$(now_ms)
run curl 60 curl -sS -o "$WORK/got.bin" http://127.0.0.1:8080/payload.bin
say "4 MiB over tcp -> vsock -> tcp in $(($(now_ms) - t0)) ms"
t_same "http through hvproxy over vsock" "$WORK/www/payload.bin" "$WORK/got.bin"

say "hvcat -l 5001 > received   (listen on vsock port 5001)"
mkrand "$WORK/up.bin" 2M
bg hvcat-listen 60 "$HVCAT" -l 5001 >"$WORK/received.bin"
pid=$BG_PID
wait_listen 5001 || t_fail "hvcat listens on vsock port 5001"
say "hvcat 1 5001 < file        (connect to CID 1 port 5001)"
run hvcat-send 60 "$HVCAT" 1 5001 <"$WORK/up.bin" >/dev/null ||
    { t_fail "hvcat sends"; show hvcat-send; }
bg_wait $pid || { t_fail "hvcat -l exits 0"; show hvcat-listen; }
t_same "hvcat -> hvcat over vsock" "$WORK/up.bin" "$WORK/received.bin"

say "python socket.AF_VSOCK sends to hvcat -l, and hvcat answers after EOF"
next_port
mkrand "$WORK/req.bin" 1M
mkrand "$WORK/resp.bin" 1M
# Not through bg(): an asynchronous command's stdin would be /dev/null
# unless the redirection is on the command itself.
timeout -k 2 60 "$HVCAT" -l "$PORT" <"$WORK/resp.bin" >"$WORK/req.got" \
    2>"$LOGS/hvcat-srv.log" &
pid=$!
wait_listen "$PORT" || t_fail "hvcat -l $PORT listens"
run py-client 60 $PEER connect 1 "$PORT" --retry 10 --send "$WORK/req.bin" \
    --recv "$WORK/resp.got" || { t_fail "python client"; show py-client; }
bg_wait $pid || { t_fail "hvcat -l exits 0"; show hvcat-srv; }
t_same "python -> hvcat" "$WORK/req.bin" "$WORK/req.got"
t_same "hvcat -> python (after half-close)" "$WORK/resp.bin" "$WORK/resp.got"
t_done
