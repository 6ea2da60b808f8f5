#!/bin/sh
# SPDX-License-Identifier: MIT
# hvcat-ssh.sh HVCAT - OpenSSH over real AF_VSOCK with hvcat as the
# ProxyCommand, as a user would set it up for a VM:
#
#   1. sshd on loopback tcp, hvcat -l -k vsock:P -e 'hvcat tcp:...' in
#      front of it, and ssh -o ProxyCommand='hvcat 1 %p';
#   2. sshd in inetd mode served straight off vsock by
#      hvcat -l -k P -c 'sshd -i', ProxyCommand='hvcat vsock:1:%p';
#   3. interop: socat as the ProxyCommand against hvcat's front, and hvcat
#      as the ProxyCommand against a socat VSOCK-LISTEN front;
# 2 MiB (HVS_VM_SSH_SIZE) up and down through each, checked by sha256;
# on hvcat's own front ends also a command and a second login (-k). A
# transcript of the first session is printed. (ssh's ciphers are slow under
# TCG: the bulk transfers are the interop job's.)
HVS_PORT_BASE=${HVS_PORT_BASE:-32000}
. "$HVS_VM_DIR/lib.sh"
require_vsock
require ssh ssh-keygen socat sha256sum
HV=${1:-}
[ -n "$HV" ] && [ -x "$HV" ] || skip_all "hvcat not built (got '${HV}')"
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || skip_all "sshd not installed (openssh-server)"

# sshd as root needs its privilege separation directory (the VM's /run is
# a fresh tmpfs).
mkdir -p /run/sshd && chmod 755 /run/sshd
D=$WORK/ssh
mkdir -p "$D" && chmod 700 "$D"
ssh-keygen -q -t ed25519 -N '' -C hvcat-vm-host -f "$D/host_key" || skip_all "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -C hvcat-vm-client -f "$D/client_key" || skip_all "ssh-keygen failed"
cp "$D/client_key.pub" "$D/authorized_keys"
USER_NAME=$(id -un)
next_port
SSHPORT=$PORT
cat >"$D/sshd_config" <<EOF
Port $SSHPORT
ListenAddress 127.0.0.1
HostKey $D/host_key
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
LogLevel VERBOSE
EOF
# One known_hosts line per name ssh will look up.
hk=$(cut -d' ' -f1,2 "$D/host_key.pub")
: >"$D/known_hosts"
for h in vm-front vm-inetd vm-socat vm-hvcat-client; do
	echo "$h $hk" >>"$D/known_hosts"
done

bg sshd "${HVS_JOB_TIMEOUT:-300}" "$SSHD" -D -e -f "$D/sshd_config"
sshd_pid=$BG_PID
end=$(($(date +%s) + 30))
until "$HV" -z "tcp:127.0.0.1:$SSHPORT" 2>/dev/null; do
	[ "$(date +%s)" -lt "$end" ] || { show sshd; skip_all "sshd did not start"; }
	sleep 0.2
done
t_pass "private sshd on 127.0.0.1:$SSHPORT"

# vssh NAME HOST PORT PROXY CMD... : ssh through PROXY (%p = PORT).
vssh() {
	n=$1 host=$2 port=$3 proxy=$4
	shift 4
	run "ssh-$n" 120 ssh -F /dev/null -T -p "$port" -i "$D/client_key" \
	    -o IdentitiesOnly=yes -o BatchMode=yes \
	    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$D/known_hosts" \
	    -o "ProxyCommand=$proxy" -o ConnectTimeout=60 \
	    -l "$USER_NAME" "$host" "$@"
}

BIG=$WORK/big.bin
mkrand "$BIG" "${HVS_VM_SSH_SIZE:-2M}"
BIGSHA=$(sha "$BIG")

# transfer LABEL HOST PORT PROXY : one login that moves the file both ways
# (up: hashed remotely; down: read back) and says who it runs as.
transfer() {
	label=$1 host=$2 port=$3 proxy=$4
	t0=$(now_ms)
	rm -f "$WORK/down.bin" "$WORK/up.sha" "$WORK/who"
	vssh "$label-xfer" "$host" "$port" "$proxy" \
	    "id -un >'$WORK/who'; sha256sum >'$WORK/up.sha'; cat '$BIG'" \
	    <"$BIG" >"$WORK/down.bin"
	rc=$?
	got=$(cut -d' ' -f1 "$WORK/up.sha" 2>/dev/null)
	note "$label: login + $(size "$BIG") bytes each way in $(($(now_ms) - t0)) ms"
	if [ $rc -eq 0 ] && [ "$(cat "$WORK/who" 2>/dev/null)" = "$USER_NAME" ] &&
	    [ "$got" = "$BIGSHA" ]; then
		t_pass "$label: ssh -o ProxyCommand='$proxy': login, $(size "$BIG") bytes up, sha256 equal"
	else
		t_fail "$label: login and upload" "exit $rc, got '$got'"
		show "ssh-$label-xfer"
	fi
	[ "$(sha "$WORK/down.bin")" = "$BIGSHA" ] &&
	    t_pass "$label: $(size "$BIG") bytes down through ssh, sha256 equal" ||
	    { t_fail "$label: download" "$(size "$WORK/down.bin") bytes"; show "ssh-$label-xfer"; }
}

# session LABEL HOST PORT PROXY : a command (transcript for the first
# front end), then a second login (-k on the front end) with the transfer.
session() {
	label=$1 host=$2 port=$3 proxy=$4
	out=$(vssh "$label-1" "$host" "$port" "$proxy" 'echo "hello from $(id -un) on $(uname -n)"; echo "peer: $SSH_CLIENT"')
	rc=$?
	if [ "$label" = front ]; then
		note "transcript:"
		note "\$ ssh -p $port -o ProxyCommand='$proxy' $host 'echo \"hello from \$(id -un) on \$(uname -n)\"; echo \"peer: \$SSH_CLIENT\"'"
		echo "$out" | sed 's/^/#   /'
		note "(exit $rc)"
	fi
	if [ $rc -eq 0 ] && echo "$out" | grep -q "^hello from $USER_NAME"; then
		t_pass "$label: ssh -o ProxyCommand='$proxy' runs a command"
	else
		t_fail "$label: ssh command" "exit $rc: $out"
		show "ssh-$label-1"
		return 1
	fi
	transfer "$label" "$host" "$port" "$proxy"
}

# 1. hvcat front end on vsock, sshd behind it on tcp.
next_port
FRONT=$PORT
bg front "${HVS_JOB_TIMEOUT:-300}" "$HV" -l -k -v "vsock:$FRONT" -e "$HV tcp:127.0.0.1:$SSHPORT"
front_pid=$BG_PID
wait_listen "$FRONT" || t_fail "hvcat front end listening on vsock $FRONT"
session front vm-front "$FRONT" "$HV 1 %p"

# 2. sshd -i served straight off the vsock connection.
next_port
INETD=$PORT
bg inetd "${HVS_JOB_TIMEOUT:-300}" "$HV" -l -k "$INETD" -c "exec $SSHD -i -f $D/sshd_config"
inetd_pid=$BG_PID
wait_listen "$INETD" || t_fail "hvcat -c 'sshd -i' listening on vsock $INETD"
session inetd vm-inetd "$INETD" "$HV vsock:1:%p"

# 3a. socat as the ProxyCommand, hvcat's front end as the server.
transfer socat vm-socat "$FRONT" "socat - VSOCK-CONNECT:1:%p"

# 3b. hvcat as the ProxyCommand, a socat front end as the server.
next_port
SOCATFRONT=$PORT
bg socat-front "${HVS_JOB_TIMEOUT:-300}" socat "VSOCK-LISTEN:$SOCATFRONT,fork" "TCP:127.0.0.1:$SSHPORT"
sf_pid=$BG_PID
wait_listen "$SOCATFRONT" || t_fail "socat front end listening"
transfer hvcat-client vm-hvcat-client "$SOCATFRONT" "$HV 1 %p"

kill "$front_pid" "$inetd_pid" "$sf_pid" "$sshd_pid" 2>/dev/null
t_done
