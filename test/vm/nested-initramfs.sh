#!/bin/sh
# SPDX-License-Identifier: MIT
# nested-initramfs.sh PROG... - the nested guest of the vm-nested job.
#
# run-vm.sh --prepare runs this on the host before it boots the test VM,
# with HVS_VM_KERNEL (the bzImage), HVS_VM_KVER, HVS_VM_CACHE (the
# initramfs cache) and HVS_VM_STAGE (DIR/.vm, which the job sees) set.
# The job (jobs/nested-vsock.sh) boots, inside the test VM, a second
# qemu whose guest gets CID 3 through vhost-vsock; this script makes
# what that guest boots:
#
#   CACHE/nested-KVER/vmlinux    the kernel, uncompressed (an ELF with
#                                a PVH entry): qemu starts it directly,
#                                which spares the guest inflating an XZ
#                                bzImage under TCG inside TCG
#   CACHE/nested-KVER/base.cpio  busybox, the virtio-mmio and vsock
#                                modules, socat with its libraries,
#                                /init (below)
#   STAGE/nested/vmlinux         a link to (or a copy of) the kernel
#   STAGE/nested/initrd.cpio     base.cpio followed by a second archive
#                                with PROG... (this build's hvcat and
#                                hvproxy) and their libraries
#
# The cached files are rebuilt when missing or older than this script,
# busybox, socat, the kernel image or its modules.dep. Archives are
# left uncompressed: inflating them would cost the nested guest more
# than reading them costs qemu. Exit 77 (skip) when a piece is missing.

set -u
me=nested-initramfs.sh
die() { echo "$me: $*" >&2; exit 1; }
skip() { echo "$me: SKIP: $*" >&2; exit 77; }

: "${HVS_VM_KERNEL:?run by run-vm.sh --prepare}"
: "${HVS_VM_KVER:?run by run-vm.sh --prepare}"
: "${HVS_VM_CACHE:?run by run-vm.sh --prepare}"
: "${HVS_VM_STAGE:?run by run-vm.sh --prepare}"
kver=$HVS_VM_KVER
self=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")

for t in cpio xz ldd readelf socat; do
	command -v $t >/dev/null 2>&1 || skip "$t not found"
done
busybox=''
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && { busybox=$b; break; }
done
[ -n "$busybox" ] || skip "busybox not found"
mods=/lib/modules/$kver
for m in drivers/virtio/virtio_mmio.ko \
    net/vmw_vsock/vmw_vsock_virtio_transport.ko \
    drivers/vhost/vhost_vsock.ko; do
	[ -f "$mods/kernel/$m" ] || skip "no $m for $kver"
done
for p in "$@"; do
	[ -x "$p" ] || die "not a program: $p"
done

cache=$HVS_VM_CACHE/nested-$kver
mkdir -p "$cache" "$HVS_VM_STAGE/nested" || die "cannot create $cache"

# libs ROOT FILE... : copy the shared libraries FILE... need into ROOT
# (the loader at its own path, the others into /lib/x86_64-linux-gnu,
# which the loader searches whatever a program's RUNPATH says).
libs() {
	r=$1
	shift
	mkdir -p "$r/lib/x86_64-linux-gnu" "$r/lib64"
	for f in "$@"; do
		LC_ALL=C ldd "$f" || die "ldd $f failed"
	done | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	    sort -u | while read -r l; do
		case $l in
		*/ld-linux*) d=$r$l ;;
		*) d=$r/lib/x86_64-linux-gnu/$(basename "$l") ;;
		esac
		mkdir -p "$(dirname "$d")"
		cp -L "$l" "$d" || die "cannot copy $l"
	done
}

# unsign KO : drop an appended module signature: the module, the
# signature, 12 bytes of struct module_signature (its last 4 the
# signature's length, big-endian), then the 28-byte magic.
unsign() {
	magic='~Module signature appended~'
	[ "$(tail -c 28 "$1" | head -c 27)" = "$magic" ] || return 0
	sz=$(wc -c <"$1")
	sl=$(tail -c 32 "$1" | head -c 4 | od -An -tu1 |
	    awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
	head -c $((sz - 40 - sl)) "$1" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

pack() { (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet); }

write_init() {
	cat <<'EOF'
#!/bin/sh
# /init of the vm-nested job's guest (test/vm/nested-initramfs.sh)
export PATH=/bin:/sbin HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
say() { echo "hvs-nested: $*" >/dev/console; }
say "init at $(cut -d' ' -f1 /proc/uptime)s"
for m in virtio_mmio vmw_vsock_virtio_transport; do
	modprobe $m || say "modprobe $m failed"
done
ip link set lo up
say "modules loaded at $(cut -d' ' -f1 /proc/uptime)s"
# The transport is there once virtio-mmio has probed the device.
i=0
until cid=$(hvcat --local-cid 2>/dev/null); do
	i=$((i + 1))
	[ $i -lt 100 ] || { say "no vsock transport"; poweroff -f; }
	sleep 0.1
done
port=$(sed -n 's/.*hvsctl=\([0-9]*\).*/\1/p' /proc/cmdline)
port=${port:-999}
say "CID $cid at $(cut -d' ' -f1 /proc/uptime)s"
# The job's control channel: each connection runs the shell script it
# sends (see /bin/hvs-ctl), stdout and stderr back, then "rc=N".
# socat -d -d says when it listens (ss would take seconds to start).
socat -d -d -t 600 VSOCK-LISTEN:$port,reuseaddr,fork EXEC:/bin/hvs-ctl \
    </dev/null >/tmp/control.log 2>&1 &
ctl=$!
i=0
until grep -q "listening on" /tmp/control.log 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 600 ] && kill -0 $ctl 2>/dev/null ||
	    { say "no control listener"; poweroff -f; }
	sleep 0.1
done
say "ready cid=$cid uptime=$(cut -d' ' -f1 /proc/uptime) control=$port"
wait $ctl
say "control listener ended ($?)"
poweroff -f
EOF
}

write_ctl() {
	cat <<'EOF'
#!/bin/sh
# hvs-ctl: one command of the vm-nested job (script on stdin to EOF).
f=$(mktemp /tmp/ctl.XXXXXX)
cat >"$f"
sh "$f" </dev/null 2>&1
echo "rc=$?"
rm -f "$f"
EOF
}

# ---- the cached part
vmlinux=$cache/vmlinux
base=$cache/base.cpio
newer() { [ -n "$(find "$1" -newer "$2" 2>/dev/null)" ]; }
stale() {
	[ -s "$1" ] || return 0
	for src in "$self" "$busybox" "$(command -v socat)" "$HVS_VM_KERNEL" \
	    "$mods/modules.dep"; do
		newer "$src" "$1" && return 0
	done
	return 1
}

if stale "$vmlinux"; then
	echo "$me: extracting $vmlinux" >&2
	# The bzImage holds an XZ stream; what follows it is not ours.
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$HVS_VM_KERNEL" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] || skip "$HVS_VM_KERNEL holds no XZ stream"
	tail -c +$((off + 1)) "$HVS_VM_KERNEL" | xz -dc --single-stream >"$vmlinux.tmp" 2>/dev/null
	readelf -n "$vmlinux.tmp" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)' ||
	    { rm -f "$vmlinux.tmp"; skip "the kernel has no PVH entry"; }
	mv -f "$vmlinux.tmp" "$vmlinux" || die "cannot store $vmlinux"
fi

if stale "$base"; then
	echo "$me: building $base" >&2
	tmp=$(mktemp -d "$cache/base.XXXXXX") || die "mktemp failed"
	root=$tmp/root
	mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" \
	    "$root/tmp" "$root/etc" "$root/lib/modules/$kver/kernel" || die "mkdir failed"
	cp "$busybox" "$root/bin/busybox" || die "cannot copy $busybox"
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	ln -s ../bin/busybox "$root/sbin/modprobe"
	cp -L "$(command -v socat)" "$root/bin/socat" || die "cannot copy socat"
	libs "$root" "$root/bin/socat"
	for d in drivers/virtio net/vmw_vsock; do
		mkdir -p "$root/lib/modules/$kver/kernel/$(dirname $d)"
		cp -a "$mods/kernel/$d" "$root/lib/modules/$kver/kernel/$d" ||
		    die "cannot copy modules $d"
	done
	# Checking a module's signature (RSA, under TCG inside TCG) costs the
	# guest seconds a module: the signatures go (the kernel only taints).
	find "$root/lib/modules" -name '*.ko' | while read -r k; do
		unsign "$k" || die "cannot unsign $k"
	done
	for f in modules.dep modules.alias modules.order modules.builtin \
	    modules.softdep; do
		[ -f "$mods/$f" ] && cp "$mods/$f" "$root/lib/modules/$kver/"
	done
	echo 'root:x:0:0:root:/tmp:/bin/sh' >"$root/etc/passwd"
	echo 'root:x:0:' >"$root/etc/group"
	write_init >"$root/init"
	write_ctl >"$root/bin/hvs-ctl"
	chmod 755 "$root/init" "$root/bin/hvs-ctl"
	pack "$root" >"$tmp/base.cpio" || die "cannot pack $base"
	mv -f "$tmp/base.cpio" "$base" || die "cannot store $base"
	rm -rf "$tmp"
fi

# ---- this run's part: the programs under test
st=$HVS_VM_STAGE/nested
rm -f "$st/vmlinux" "$st/initrd.cpio"
ln "$vmlinux" "$st/vmlinux" 2>/dev/null || cp "$vmlinux" "$st/vmlinux" ||
    die "cannot stage the kernel"
tmp=$(mktemp -d "$st/progs.XXXXXX") || die "mktemp failed"
mkdir -p "$tmp/bin"
for p in "$@"; do
	cp -L "$p" "$tmp/bin/$(basename "$p")" || die "cannot copy $p"
done
[ $# -eq 0 ] || libs "$tmp" "$@"
{ cat "$base" && pack "$tmp"; } >"$st/initrd.cpio" || die "cannot write the initrd"
rm -rf "$tmp"
echo "$me: $st/initrd.cpio: $(wc -c <"$st/initrd.cpio") bytes, kernel $(wc -c <"$st/vmlinux") bytes"
