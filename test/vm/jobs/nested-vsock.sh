#!/bin/sh
# SPDX-License-Identifier: MIT
# nested-vsock.sh HVCAT HVPROXY - hvcat and hvproxy between a host and a
# guest over the virtio transport: the test VM loads vhost_vsock and
# boots a nested guest (qemu -M microvm under TCG, vhost-vsock-device,
# guest CID 3) from the initramfs nested-initramfs.sh made (run-vm.sh
# --prepare). Here the test VM is "the host" (CID 2).
#
# Both directions, each checked by sha256 with half-close: host hvcat
# and hvproxy -> guest hvcat -l, socat and hvproxy; guest hvcat 2 PORT
# and hvproxy -> host hvcat -l, socat and hvproxy. Then what only the
# virtio transport shows: refused ports (RST) both ways, a CID nobody
# has (from the host: no such device; from the guest: the packets go to
# the host, which drops them, so the connect times out), the CIDs each
# side reads (--local-cid) and sees for its peer (-v, --allow). Last,
# the speed of hvcat against socat -b 262144 both ways over virtio
# (HVS_NESTED_SPEED_REPS, default 3; printed, never judged).
#
# The job drives the guest through a control channel the guest's /init
# opens: `socat VSOCK-LISTEN:CTL,fork EXEC:hvs-ctl` runs each shell
# script sent to it. Every wait is bounded; the phases' times are
# printed ("# phase ...").
HVS_PORT_BASE=${HVS_PORT_BASE:-36000}
. "$HVS_VM_DIR/lib.sh"
require_vsock
require socat ss sha256sum modprobe qemu-system-x86_64
HV=${1:-}
HP=${2:-}
[ -n "$HV" ] && [ -x "$HV" ] || skip_all "hvcat not built (got '$HV')"
[ -n "$HP" ] && [ -x "$HP" ] || skip_all "hvproxy not built (got '$HP')"
ST=$HVS_OUT_DIR/.vm/nested
[ -s "$ST/initrd.cpio" ] && [ -s "$ST/vmlinux" ] ||
    skip_all "no nested guest in $ST (run-vm.sh --prepare nested-initramfs.sh makes it)"

SIZE=${HVS_NESTED_SIZE:-2M}
# Bounds: the nested boot (TCG inside TCG takes minutes), and each
# exchange (a few MB at TCG-in-TCG speed).
BOOT_MAX=${HVS_NESTED_BOOT_TIMEOUT:-900}
XFER=240
t_job=$(date +%s)

# ---- the host side of vhost-vsock
modprobe vhost_vsock 2>"$LOGS/modprobe.log" ||
    skip_all "modprobe vhost_vsock failed: $(cat "$LOGS/modprobe.log")"
[ -c /dev/vhost-vsock ] || skip_all "no /dev/vhost-vsock"

# ---- boot the guest
next_port
CTL=$PORT
CONSOLE=$HVS_OUT_DIR/nested-console.log
rm -f "$CONSOLE"
# The guest's kernel cannot calibrate its TSC: its PIT runs far too
# unevenly under TCG inside TCG, and microvm has no HPET or ACPI timer,
# so it would mark the TSC unstable and hang calibrating the delay loop.
# Its TSC is this VM's (qemu's TCG reads the host's), whose rate this
# kernel measured: handed on, the guest uses it as it is.
mhz=$(sed -n 's/^cpu MHz[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
khz=$(awk -v m="$mhz" 'BEGIN { printf "%d", m * 1000 }')
[ "${khz:-0}" -gt 0 ] || skip_all "no cpu MHz in /proc/cpuinfo"
# Boot faster: no Spectre mitigations, pages not zeroed on allocation,
# no IPv6, crypto self-tests, audit or LSMs beyond capabilities.
fast="mitigations=off init_on_alloc=0 ipv6.disable=1 cryptomgr.notests audit=0 lsm=capability"
# The guest lives at most until the job's own bound.
qbound=$((${HVS_JOB_TIMEOUT:-1800} - 20))
t0=$(date +%s)
bg nested-qemu "$qbound" qemu-system-x86_64 -M microvm -accel tcg \
	-cpu max -m 192 -smp 1 -nodefaults -no-user-config -display none \
	-no-reboot -serial "file:$CONSOLE" \
	-kernel "$ST/vmlinux" -initrd "$ST/initrd.cpio" \
	-append "console=ttyS0 quiet panic=-1 tsc_early_khz=$khz tsc=reliable $fast hvsctl=$CTL ${HVS_NESTED_APPEND:-}" \
	-device vhost-vsock-device,guest-cid=3 >"$LOGS/nested-qemu.out"
QPID=$BG_PID
ready=''
end=$((t0 + BOOT_MAX))
while :; do
	ready=$(grep -a 'hvs-nested: ready' "$CONSOLE" 2>/dev/null | head -n 1)
	[ -n "$ready" ] && break
	kill -0 "$QPID" 2>/dev/null || break
	[ "$(date +%s)" -lt "$end" ] || break
	sleep 1
done
t_boot=$(($(date +%s) - t0))
if [ -z "$ready" ]; then
	t_fail "nested guest boots (${t_boot}s)" "no 'ready' line; console:"
	tr -d '\r' <"$CONSOLE" 2>/dev/null | tail -n 30 | sed 's/^/#   /'
	show nested-qemu
	t_done
fi
note "phase boot: ${t_boot}s to the guest's ready line ($ready)"
case $ready in
*" cid=3 "*) t_pass "the guest's /init reads its CID as 3 (hvcat --local-cid)" ;;
*) t_fail "guest CID" "$ready" ;;
esac

# g NAME SECS SCRIPT : run the shell SCRIPT in the guest; its output
# (stdout and stderr) in $GOUT; returns the script's status (255: no
# answer). The request is a half-closed stream, the answer ends "rc=N".
g() {
	gn=$1
	gsecs=$2
	GOUT=$(printf '%s\n' "$3" | timeout -k 2 "$gsecs" socat -t "$gsecs" - \
	    "VSOCK-CONNECT:3:$CTL" 2>"$LOGS/g-$gn.log")
	grc=$(printf '%s\n' "$GOUT" | sed -n 's/^rc=\([0-9]*\)$/\1/p' | tail -n 1)
	GOUT=$(printf '%s\n' "$GOUT" | sed '/^rc=[0-9]*$/d')
	if [ -z "$grc" ]; then
		GOUT="no answer from the guest: $GOUT $(cat "$LOGS/g-$gn.log")"
		return 255
	fi
	return "$grc"
}

# A shell function for the guest scripts: wlog FILE waits (up to 60 s)
# until FILE, a server's log, says "listening on" (hvcat -l -v,
# hvproxy, socat -d -d). Polling ss(8) instead would cost seconds a
# round in the guest, where starting a program is slow.
GLIB='
wlog() { i=0; while ! grep -q "listening on" "$1" 2>/dev/null; do i=$((i+1)); [ $i -lt 600 ] || return 1; sleep 0.1; done; }
'

# gbg ID SECS CMD [WAIT] : start CMD (sh) in the guest's background,
# bounded by SECS, stdout to /tmp/ID.out, stderr to /tmp/ID.err, status
# to /tmp/ID.rc; then run WAIT (e.g. "wlog /tmp/ID.err") there. Returns
# WAIT's status.
gbg() {
	g "bg-$1" 120 "$GLIB
cat >/tmp/$1.sh <<'HVSEOF'
$GLIB
$3
HVSEOF
( timeout $2 sh /tmp/$1.sh </dev/null >/tmp/$1.out 2>/tmp/$1.err; echo \$? >/tmp/$1.rc ) </dev/null >/dev/null 2>&1 &
${4:-:}"
}

# gwait ID SECS [FILE] : wait for the guest's background ID to end;
# sets GRC (its status, 255 if it did not end), GSHA (sha256 of FILE,
# default /tmp/ID.out) and GERR (its stderr).
gwait() {
	f=${3:-/tmp/$1.out}
	g "wait-$1" $(($2 + 30)) "i=0
while [ ! -s /tmp/$1.rc ]; do i=\$((i+1)); [ \$i -lt $(($2 * 10)) ] || break; sleep 0.1; done
echo \"grc \$(cat /tmp/$1.rc 2>/dev/null || echo 255)\"
echo \"gsha \$(sha256sum $f 2>/dev/null | cut -d' ' -f1)\"
cat /tmp/$1.err 2>/dev/null"
	GRC=$(printf '%s\n' "$GOUT" | sed -n 's/^grc //p' | head -n 1)
	GSHA=$(printf '%s\n' "$GOUT" | sed -n 's/^gsha //p' | head -n 1)
	GERR=$(printf '%s\n' "$GOUT" | sed '/^grc /d; /^gsha /d')
	[ -n "$GRC" ] || GRC=255
}

# eq NAME WANT GOT : a sha256 check.
eq() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		t_pass "$1 (sha256 ${2%"${2#????????????}"}...)"
	else
		t_fail "$1" "sha256 '$3', expected '$2'"
	fi
}

t_run=$(date +%s)
# ---- the data: A made here (the host's), B in the guest (the guest's)
A=$WORK/a.bin
mkrand "$A" "$SIZE"
SA=$(sha "$A")
if g mkdata 120 "head -c $(size "$A") /dev/urandom >/tmp/B && sha256sum /tmp/B"; then
	SB=$(printf '%s\n' "$GOUT" | cut -d' ' -f1 | head -n 1)
	t_pass "control channel: socat in the guest ran a script for the host"
else
	t_fail "control channel" "$GOUT"
	SB=''
fi
note "files: $(size "$A") bytes each way (A here, B in the guest)"

# host_to_guest NAME GUEST_CMD HOST_CMD [REQFILE [GUEST_WAIT]]: the
# guest serves with GUEST_CMD (sh; $P its vsock port; stderr in
# /tmp/NAME.err) and is ready when GUEST_WAIT (default "wlog
# /tmp/NAME.err") returns; the host runs HOST_CMD (sh) with A on stdin;
# the host must get B, the guest A (in /tmp/NAME.out, or REQFILE).
host_to_guest() {
	hn=$1 gcmd=$2 hcmd=$3 req=${4:-} gw=${5:-"wlog /tmp/$1.err"}
	next_port
	P=$PORT
	gcmd=$(printf '%s' "$gcmd" | sed "s/\\\$P/$P/g")
	hcmd=$(printf '%s' "$hcmd" | sed "s/\\\$P/$P/g")
	gw=$(printf '%s' "$gw" | sed "s/\\\$P/$P/g")
	ts=$(date +%s)
	gbg "$hn" $XFER "$gcmd" "$gw" ||
	    { t_fail "$hn: guest listening on $P" "$GOUT"; return; }
	rm -f "$WORK/$hn.resp"
	run "$hn" $XFER sh -c "$hcmd" <"$A" >"$WORK/$hn.resp"
	hrc=$?
	gwait "$hn" $XFER "$req"
	note "$hn: $(($(date +%s) - ts))s"
	if [ $hrc -eq 0 ] && [ "$GRC" = 0 ]; then
		t_pass "$hn: both ends exit 0"
	else
		t_fail "$hn: exit status" "host $hrc ($(cat "$LOGS/$hn.log")), guest $GRC ($GERR)"
	fi
	eq "$hn: host -> guest, byte-exact" "$SA" "$GSHA"
	eq "$hn: guest -> host, byte-exact" "$SB" "$(sha "$WORK/$hn.resp")"
}

# guest_to_host NAME HOST_CMD GUEST_CMD [HOST_WAIT] : the host serves
# with HOST_CMD (sh; it sends A, $P is its vsock port and $REQ where it
# stores what it got) and is ready when something listens on vsock $P
# and HOST_WAIT (sh) returns; the guest runs GUEST_CMD (sh) with /tmp/B
# on stdin, its stdout in /tmp/NAME.out.
guest_to_host() {
	hn=$1 hcmd=$2 gcmd=$3 hw=${4:-:}
	next_port
	P=$PORT
	export REQ="$WORK/$hn.req" A
	gcmd=$(printf '%s' "$gcmd" | sed "s/\\\$P/$P/g")
	hcmd=$(printf '%s' "$hcmd" | sed "s/\\\$P/$P/g")
	ts=$(date +%s)
	rm -f "$REQ"
	bg "$hn" $XFER sh -c "$hcmd"
	hpid=$BG_PID
	{ wait_listen "$P" 60 && eval "$hw"; } || t_fail "$hn: host listening on $P"
	gbg "$hn" $XFER "$gcmd </tmp/B" || t_fail "$hn: guest start" "$GOUT"
	gwait "$hn" $XFER
	# The host's end waits for the guest's: no use once that failed.
	[ "$GRC" = 0 ] || kill "$hpid" 2>/dev/null
	bg_wait $hpid
	hrc=$?
	note "$hn: $(($(date +%s) - ts))s"
	if [ $hrc -eq 0 ] && [ "$GRC" = 0 ]; then
		t_pass "$hn: both ends exit 0"
	else
		t_fail "$hn: exit status" "host $hrc ($(cat "$LOGS/$hn.log")), guest $GRC ($GERR)"
	fi
	eq "$hn: guest -> host, byte-exact" "$SB" "$([ -f "$REQ" ] && sha "$REQ")"
	eq "$hn: host -> guest, byte-exact" "$SA" "$GSHA"
}

# ---- host -> guest
# hvcat both ends, full duplex.
host_to_guest h2g-hvcat 'exec hvcat -l -v $P </tmp/B' "exec '$HV' -v 3 \$P"
case $GERR in
*"connection from vsock:2:"*) t_pass "guest hvcat -l -v: the peer is CID 2 (the host)" ;;
*) t_fail "guest hvcat -l -v peer" "$GERR" ;;
esac
# socat in the guest answers only after the host's half-close.
host_to_guest h2g-socat \
    "exec socat -d -d -t 60 VSOCK-LISTEN:\$P SYSTEM:'cat >/tmp/h2g-socat.req; cat /tmp/B'" \
    "exec '$HV' vsock:3:\$P" /tmp/h2g-socat.req
# hvproxy on both sides: tcp -> host hvproxy -> vsock -> guest hvproxy
# -> tcp -> socat in the guest (answers after the half-close).
tcp_port
HT=$PORT
next_port
GT=$PORT
# hvproxy's 5 s connect timeout is too short here: a guest under TCG
# inside TCG can take longer to see the answer to its request.
bg hp-host $XFER "$HP" -v --connect-timeout 60 "tcp:127.0.0.1:$HT" "vsock:3:$((t_port + 1))"
hppid=$BG_PID
host_to_guest h2g-hvproxy \
    "hvproxy -v --connect-timeout 60 vsock:\$P tcp:127.0.0.1:$GT 2>/tmp/hp-guest.log &
exec socat -d -d -t 60 TCP-LISTEN:$GT,bind=127.0.0.1 SYSTEM:'cat >/tmp/h2g-hvproxy.req; cat /tmp/B'" \
    "exec '$HV' tcp:127.0.0.1:$HT" /tmp/h2g-hvproxy.req \
    "wlog /tmp/hp-guest.log && wlog /tmp/h2g-hvproxy.err"
kill "$hppid" 2>/dev/null
bg_wait "$hppid"
g hp-guest-log 60 "cat /tmp/hp-guest.log; kill \$(pidof hvproxy) 2>/dev/null"
sed 's/^/#   guest hvproxy: /' <<EOF
$GOUT
EOF
show hp-host | head -n 5

# ---- guest -> host
# hvcat both ends: the guest's hvcat 2 PORT reaches the host's listener.
guest_to_host g2h-hvcat "exec '$HV' -l -v \$P <\$A >\$REQ" 'exec hvcat -v 2 $P'
if grep -q "connection from vsock:3:" "$LOGS/g2h-hvcat.log"; then
	t_pass "host hvcat -l -v: the peer is CID 3 (the guest)"
else
	t_fail "host hvcat -l -v peer" "$(cat "$LOGS/g2h-hvcat.log")"
fi
note "guest hvcat -v: $(printf '%s\n' "$GERR" | grep 'connected to' | head -n 1)"
# socat on the host answers after the guest's half-close.
guest_to_host g2h-socat \
    "exec socat -t 60 VSOCK-LISTEN:\$P SYSTEM:'cat >\$REQ; cat \$A'" \
    'exec hvcat vsock:2:$P'
# hvproxy on both sides: guest tcp -> guest hvproxy -> vsock -> host
# hvproxy -> tcp -> socat on the host.
tcp_port
HT=$PORT
next_port
GT=$PORT
VP=$((t_port + 1))
bg hp-host2 $XFER "$HP" -v --connect-timeout 60 "vsock:$VP" "tcp:127.0.0.1:$HT"
hppid=$BG_PID
guest_to_host g2h-hvproxy \
    "exec socat -t 60 TCP-LISTEN:$HT,bind=127.0.0.1 SYSTEM:'cat >\$REQ; cat \$A'" \
    "hvproxy -v --connect-timeout 60 tcp:127.0.0.1:$GT vsock:2:$VP 2>/tmp/hp-guest2.log &
wlog /tmp/hp-guest2.log || exit 99
exec hvcat tcp:127.0.0.1:$GT" "tcp_wait $HT 60"
kill "$hppid" 2>/dev/null
bg_wait "$hppid"
g hp-guest-log2 60 "cat /tmp/hp-guest2.log; kill \$(pidof hvproxy) 2>/dev/null"
sed 's/^/#   guest hvproxy: /' <<EOF
$GOUT
EOF
if grep -q "vsock:3:" "$LOGS/hp-host2.log"; then
	t_pass "host hvproxy -v: the peer is CID 3"
else
	t_fail "host hvproxy -v peer" "$(head -n 5 "$LOGS/hp-host2.log")"
fi

# ---- the CIDs each side reads and sees
out=$("$HV" --local-cid 2>&1)
if [ "$out" = 2 ]; then
	t_pass "host hvcat --local-cid prints 2 (vhost_vsock loaded)"
else
	t_fail "host --local-cid" "'$out'"
fi
g local-cid 60 "hvcat --local-cid"
if [ $? -eq 0 ] && [ "$GOUT" = 3 ]; then
	t_pass "guest hvcat --local-cid prints 3"
else
	t_fail "guest --local-cid" "'$GOUT'"
fi

# --allow by CID on the host: the guest is CID 3.
next_port
P=$PORT
bg allow-no 60 "$HV" -l -v --allow 4 "$P"
apid=$BG_PID
wait_listen "$P" 30
g allow-no 60 "echo x | timeout 30 hvcat 2 $P; echo \"client \$?\""
sleep 1
if kill -0 "$apid" 2>/dev/null && grep -q "refused connection from vsock:3:" "$LOGS/allow-no.log"; then
	t_pass "host --allow 4: the guest (CID 3) is refused, the listener goes on"
else
	t_fail "host --allow 4" "$(cat "$LOGS/allow-no.log"); guest: $GOUT"
fi
kill "$apid" 2>/dev/null
bg_wait "$apid" 2>/dev/null
next_port
P=$PORT
bg allow-yes 60 sh -c "exec '$HV' -l --allow 3 $P >$WORK/allow.out"
apid=$BG_PID
wait_listen "$P" 30
g allow-yes 60 "echo hello | timeout 30 hvcat 2 $P"
if bg_wait "$apid" && [ "$(cat "$WORK/allow.out")" = hello ]; then
	t_pass "host --allow 3: the guest is served"
else
	t_fail "host --allow 3" "$(cat "$LOGS/allow-yes.log"); guest: $GOUT"
fi

# ---- refused and unreachable, with the message hvcat gives
# fails NAME RC OUT PATTERN : rc 1, one line matching PATTERN (grep -E).
fails() {
	nl=$(printf '%s\n' "$3" | grep -c .)
	if [ "$2" -eq 1 ] && [ "$nl" -eq 1 ] && printf '%s\n' "$3" | grep -Eq "$4"; then
		t_pass "$1: exit 1, '$3'"
	else
		t_fail "$1" "exit $2, $nl lines: $3"
	fi
}
next_port
P=$PORT
ts=$(now_ms)
out=$("$HV" -z 3 "$P" 2>&1)
rc=$?
fails "host -> guest port nobody listens on ($(($(now_ms) - ts)) ms)" $rc "$out" \
    "vsock:3:$P: connection reset by peer"
ts=$(now_ms)
out=$("$HV" -w 3 4 "$P" </dev/null 2>&1)
rc=$?
fails "host -> CID 4, which no guest has ($(($(now_ms) - ts)) ms)" $rc "$out" "vsock:4:$P: no such CID"
g refused 60 "hvcat -z 2 $P"
fails "guest -> host port nobody listens on" $? "$GOUT" "vsock:2:$P: connection reset by peer"
g timeout 60 "a=\$(date +%s); hvcat -w 2 5 $P </dev/null; r=\$?; echo \"took \$((\$(date +%s) - a)) s\" >&2; exit \$r"
rc=$?
took=$(printf '%s\n' "$GOUT" | sed -n 's/^took //p')
GOUT=$(printf '%s\n' "$GOUT" | sed '/^took /d')
fails "guest -> CID 5 (dropped by the host) with -w 2 (took $took)" $rc "$GOUT" \
    "vsock:5:$P: connection timed out after 2.000 s"
g timeout2 60 "hvcat -z 5 $P"
fails "guest -z -> CID 5 without -w: the kernel's bound" $? "$GOUT" "vsock:5:$P: connection timed out"
g cid1 60 "hvcat -z 1 $P"
note "guest -> CID 1 (no vsock_loopback there): exit $?, $GOUT"
# ---- speed over virtio: hvcat against socat -b 262144, the tool on the
# host side as the client, the guest's end socat for both (so only the
# host's tool differs). host -> guest: the file into a guest sink;
# guest -> host: the guest's file into a file here. Reported, never
# judged: under TCG inside TCG the figures are slow and noisy, and the
# ratio is what there is to read (bench/NOTES.md).
speed_h2g() { # TOOL REP
	next_port
	P=$PORT
	gbg "spd-$1-$2" $XFER "exec socat -d -d -u -b 262144 VSOCK-LISTEN:$P CREATE:/tmp/spd.out" \
	    "wlog /tmp/spd-$1-$2.err" || { t_fail "speed $1: guest sink" "$GOUT"; return; }
	t0=$(now_ms)
	case $1 in
	hvcat) run "spd-$1-$2" $XFER "$HV" vsock:3:$P <"$A" >/dev/null ;;
	socat-b256k) run "spd-$1-$2" $XFER socat -b 262144 -u - VSOCK-CONNECT:3:$P <"$A" ;;
	esac
	hrc=$?
	t1=$(now_ms)
	gwait "spd-$1-$2" $XFER /tmp/spd.out
	if [ $hrc -eq 0 ] && [ "$GSHA" = "$SA" ]; then
		note "speed h2g $1 rep $2: $(size "$A") bytes in $((t1 - t0)) ms, $(rate "$(size "$A")" $((t1 - t0)))"
		SPEED="$SPEED h2g:$1:$((t1 - t0))"
	else
		t_fail "speed h2g $1 rep $2" "host $hrc, guest sha $GSHA"
	fi
}
speed_g2h() { # TOOL REP
	next_port
	P=$PORT
	gbg "spd-$1-$2" $XFER "exec socat -d -d -u -b 262144 OPEN:/tmp/B VSOCK-LISTEN:$P" \
	    "wlog /tmp/spd-$1-$2.err" || { t_fail "speed $1: guest source" "$GOUT"; return; }
	rm -f "$WORK/spd.in"
	t0=$(now_ms)
	case $1 in
	hvcat) run "spd-$1-$2" $XFER "$HV" vsock:3:$P </dev/null >"$WORK/spd.in" ;;
	socat-b256k) run "spd-$1-$2" $XFER socat -b 262144 -u VSOCK-CONNECT:3:$P - >"$WORK/spd.in" ;;
	esac
	hrc=$?
	t1=$(now_ms)
	gwait "spd-$1-$2" $XFER
	if [ $hrc -eq 0 ] && [ "$(sha "$WORK/spd.in")" = "$SB" ]; then
		note "speed g2h $1 rep $2: $(size "$A") bytes in $((t1 - t0)) ms, $(rate "$(size "$A")" $((t1 - t0)))"
		SPEED="$SPEED g2h:$1:$((t1 - t0))"
	else
		t_fail "speed g2h $1 rep $2" "host $hrc, $(size "$WORK/spd.in" 2>/dev/null) bytes"
	fi
}
SPEED=''
rep=1
while [ "$rep" -le "${HVS_NESTED_SPEED_REPS:-3}" ]; do
	for tool in hvcat socat-b256k; do
		speed_h2g "$tool" "$rep"
		speed_g2h "$tool" "$rep"
	done
	rep=$((rep + 1))
done
# medians per direction and tool, and hvcat's ratio
for dir in h2g g2h; do
	line="speed $dir medians (ms):"
	for tool in hvcat socat-b256k; do
		m=$(printf '%s\n' $SPEED | sed -n "s/^$dir:$tool://p" | sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}')
		line="$line $tool ${m:-none}"
		eval "med_$(echo "$tool" | tr -d -)=\${m:-0}"
	done
	note "$line; hvcat vs socat -b 262144: $(awk -v a="$med_hvcat" -v b="$med_socatb256k" 'BEGIN { if (a > 0) printf "%.2fx", b / a; else print "n/a" }')"
done

t_run=$(($(date +%s) - t_run))
note "phase run: ${t_run}s"

# ---- power the guest off
ts=$(date +%s)
g poweroff 30 "poweroff -f" >/dev/null 2>&1
i=0
while kill -0 "$QPID" 2>/dev/null && [ $i -lt 300 ]; do
	i=$((i + 1))
	sleep 0.1
done
kill "$QPID" 2>/dev/null
bg_wait "$QPID"
note "phase shutdown: $(($(date +%s) - ts))s (qemu exit $?)"
note "phases: boot ${t_boot}s, run ${t_run}s, job $(($(date +%s) - t_job))s; the test VM's load $(cut -d' ' -f1-3 /proc/loadavg)"
t_done
