#!/bin/sh
# SPDX-License-Identifier: MIT
# soak-vsock.sh - the hardening soak (test/hardening/soak.py) with real
# AF_VSOCK (vsock_loopback, CID 1) in the middle:
#
#   clients -tcp-> hvproxy A -vsock:1:PORT-> hvproxy B -tcp/unix-> targets
#
# Mixed uploads, downloads, echoes and request/response exchanges with
# half-close, every byte checked; both hvproxies' byte counters must equal
# the clients'; no error; RSS flat after the warm-up; descriptors back to
# their start. Shorter than the loopback soak (the VM runs under TCG):
# HVS_SOAK_DURATION (default 60 s) and HVS_SOAK_CLIENTS (default 50). The
# warm-up is half of it: under TCG the opening surge (every client echoing
# 1 MiB through both hvproxies) alone takes some 20 s, and the warm-up has
# to see the mixed traffic too, so that the relay engine's pools (splice
# pipes, up to 8 copy buffers of 256 KiB) have filled before RSS is
# judged.
#
#   run-vm.sh --out DIR jobs/soak-vsock.sh /path/to/hvproxy
HVS_PORT_BASE=33000
. "$HVS_VM_DIR/lib.sh"
require_vsock

HVP=${1:?usage: soak-vsock.sh HVPROXY}
[ -x "$HVP" ] || skip_all "no hvproxy at $HVP"
SOAK=$HVS_SOURCE_DIR/test/hardening/soak.py
[ -f "$SOAK" ] || skip_all "no $SOAK"
DUR=${HVS_SOAK_DURATION:-60}
CLIENTS=${HVS_SOAK_CLIENTS:-50}
next_port

note "soak over vsock: $CLIENTS clients, $DUR s, vsock ports $PORT and $((PORT + 1))"
HVPROXY=$HVP run soak $((DUR + 150)) "$PY" "$SOAK" --vsock "$PORT" \
    --duration "$DUR" --clients "$CLIENTS" --warmup $((DUR / 2)) \
    --max-size 262144 --json "$HVS_OUT_DIR/soak.json" "$HVP" \
    >"$LOGS/soak.tap"
rc=$?
# soak.py speaks TAP itself: pass its lines on as notes, then one result
# per check it made.
sed 's/^/#   /' "$LOGS/soak.tap"
while IFS= read -r line; do
	case $line in
	"ok "*" # SKIP"*) t_skip "soak: ${line#ok * - }" "soak.py skipped" ;;
	"ok "*) t_pass "soak: ${line#ok * - }" ;;
	"not ok "*) t_fail "soak: ${line#not ok * - }" ;;
	esac
done <"$LOGS/soak.tap"
if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$LOGS/soak.tap"; then
	t_fail "soak.py exit status" "exit $rc"
	show soak
fi
t_done
