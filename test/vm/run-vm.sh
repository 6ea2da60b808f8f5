#!/bin/sh
# SPDX-License-Identifier: MIT
# run-vm.sh - run one test job against real AF_VSOCK (vsock_loopback, CID 1)
# inside a throw-away QEMU VM, and report its result.
#
#   run-vm.sh [options] --out DIR JOB.sh [ARGS...]
#
# The VM boots the host's Debian kernel with a tiny busybox initramfs (built
# once and cached per kernel version), mounts the host's / read-only over 9p
# and DIR writable over 9p *at the same path*, and runs JOB.sh inside a
# chroot of the host root: build-tree binaries and installed tools are seen
# at their usual paths. The job's output goes to DIR/job.log, its exit code
# to DIR/job.rc, the VM console to DIR/console.log. This script prints the
# log and exits with the job's code (77 = skipped; non-zero if job.rc is
# missing). See test/vm/README.md.
#
# Never connect() AF_VSOCK on a host: its vsock may lead to the real
# hypervisor. So jobs run in the VM only: there is no "native" mode (a
# host with vsock_loopback loaded still reaches its hypervisor at CID 2,
# which some jobs use as the default peer).

set -u

me=run-vm.sh
usage() {
	cat <<EOF
usage: $me [options] --out DIR JOB.sh [ARGS...]
       $me [options] --out DIR --shell
  --out DIR         results folder (created; exported writable to the VM)
  --build-dir DIR   meson build dir (HVS_BUILD_DIR; initramfs cache lives here)
  --source-dir DIR  source dir (HVS_SOURCE_DIR)
  --timeout SECS    bound on the whole VM run (default \$HVS_VM_TIMEOUT or 300)
  --vm              use the VM (the only mode; accepted for old callers)
  --mem MB          VM memory (default 1024)
  --smp N           VM CPUs (default 2)
  --prepare SCRIPT  before booting, run \`sh SCRIPT ARGS...\` on this machine
                    (the job's arguments; HVS_VM_KERNEL, HVS_VM_KVER,
                    HVS_VM_CACHE and HVS_VM_STAGE=DIR/.vm set): it puts what
                    the job needs in DIR/.vm; exit 77 skips the job
  --shell           no job: an interactive shell in the VM's chroot, with the
                    jobs' environment, on this terminal (exit to power off)
  -h, --help        this text
environment: HVS_VM_TIMEOUT, HVS_VM_KERNEL
(a vmlinuz path), HVS_VM_CACHE (initramfs cache dir), HVS_VM_QEMU (binary),
HVS_VM_APPEND (more kernel arguments, e.g. "loglevel=7").
EOF
}

die() { echo "$me: $*" >&2; exit 1; }
skip() { echo "$me: SKIP: $*"; exit 77; }

out=''
build_dir=${HVS_BUILD_DIR:-${MESON_BUILD_ROOT:-}}
source_dir=${HVS_SOURCE_DIR:-${MESON_SOURCE_ROOT:-}}
vm_timeout=${HVS_VM_TIMEOUT:-300}
case ${HVS_VM_NATIVE:-never} in
never) ;;
*) die "HVS_VM_NATIVE is no longer supported: vsock jobs run inside the VM only" ;;
esac
mem=1024
smp=2
shell=0
prepare=''

while [ $# -gt 0 ]; do
	case $1 in
	--out) [ $# -ge 2 ] || die "--out needs a folder"; out=$2; shift 2 ;;
	--build-dir) [ $# -ge 2 ] || die "--build-dir needs a folder"; build_dir=$2; shift 2 ;;
	--source-dir) [ $# -ge 2 ] || die "--source-dir needs a folder"; source_dir=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; vm_timeout=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || die "--mem needs MB"; mem=$2; shift 2 ;;
	--smp) [ $# -ge 2 ] || die "--smp needs a count"; smp=$2; shift 2 ;;
	--prepare) [ $# -ge 2 ] || die "--prepare needs a script"; prepare=$2; shift 2 ;;
	--native) die "--native is no longer supported: vsock jobs run inside the VM only (never on the host's own vsock)" ;;
	--vm) shift ;;
	--shell) shell=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || [ $shell = 1 ] || { usage >&2; exit 2; }
[ -n "$out" ] || { echo "$me: --out DIR is required" >&2; exit 2; }
case $vm_timeout in ''|*[!0-9]*) die "bad --timeout '$vm_timeout' (expected seconds)" ;; esac
[ "$vm_timeout" -ge 30 ] || die "--timeout $vm_timeout is too short (at least 30 s: the VM boots in ~10 s)"

abspath() { (cd "$1" 2>/dev/null && pwd -P); }

if [ $shell = 1 ]; then
	job=shell
	[ -n "${HVS_VM_TIMEOUT:-}" ] || [ "$vm_timeout" != 300 ] || vm_timeout=3600
else
	job=$1
	shift
	[ -f "$job" ] || die "no such job script: $job"
	job=$(abspath "$(dirname "$job")")/$(basename "$job")
fi

mkdir -p "$out" || die "cannot create $out"
out=$(abspath "$out")
here=$(abspath "$(dirname "$0")")
[ -n "$source_dir" ] && source_dir=$(abspath "$source_dir")
[ -n "$build_dir" ] && build_dir=$(abspath "$build_dir")
[ -n "$source_dir" ] || source_dir=$(abspath "$here/../..")
# Inner bound on the job itself, so that a hung job still leaves a log and
# an exit code (124) rather than a killed VM. Boot + teardown take < 30 s.
job_timeout=$((vm_timeout - 30))

# Results of a previous run must not be mistaken for this one's.
rm -f "$out/job.log" "$out/job.rc" "$out/console.log"
rm -rf "$out/.vm"
mkdir -p "$out/.vm"

# ---- the job wrapper, run in the VM's chroot ----
# The VM mounts fresh tmpfs on /tmp, /run and /var/tmp: a job kept there is
# copied into the results folder so that the VM can see it.
case $job in
/tmp/*|/run/*|/var/tmp/*)
	cp "$job" "$out/.vm/$(basename "$job")" || die "cannot copy $job"
	job=$out/.vm/$(basename "$job")
	;;
esac

# Single-quote a word for sh.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

mode=vm

{
	echo "# generated by run-vm.sh; runs the job with the harness environment"
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if [ $mode = vm ]; then
		echo "export HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8 LC_ALL=C.UTF-8"
	fi
	echo "export PYTHONDONTWRITEBYTECODE=1"
	# The caller's HVS_* variables (e.g. HVS_VM_SIZE) and sanitizer options
	# (meson test sets them) reach the job; the harness's own below win.
	export -p | grep -E '^export (HVS_[A-Za-z0-9_]*|(A|UB|L|M|T)SAN_OPTIONS|MALLOC_PERTURB_)='
	# A sanitizer finding in a job's program fails the job.
	echo ": \"\${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}\"; export UBSAN_OPTIONS"
	echo "export HVS_VM_MODE=$mode"
	echo "export HVS_OUT_DIR=$(q "$out")"
	echo "export HVS_BUILD_DIR=$(q "$build_dir")"
	echo "export HVS_SOURCE_DIR=$(q "$source_dir")"
	echo "export HVS_VM_DIR=$(q "$here")"
	echo "export HVS_JOB_TIMEOUT=$job_timeout"
	echo "cd \"\$HVS_OUT_DIR\" || exit 1"
	if [ $shell = 1 ]; then
		echo "echo 'libhvsock test VM: the host root is read-only; /tmp and \$HVS_OUT_DIR are writable; exit powers off.'"
		echo "exec setsid -w -c /bin/bash -i </dev/ttyS0 >/dev/ttyS0 2>&1"
	fi
	echo "{"
	echo "  echo \"# job: $(basename "$job") mode=$mode kernel=\$(uname -r) vsock_loopback=\$([ -d /sys/module/vsock_loopback ] && echo yes || echo no)\""
	printf '  if [ -x %s ]; then run=; else run=/bin/sh; fi\n' "$(q "$job")"
	printf '  timeout -k 5 %s $run %s' "$job_timeout" "$(q "$job")"
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	echo " </dev/null"
	echo "  rc=\$?"
	echo "  [ \$rc -eq 124 ] && echo \"# job timed out after ${job_timeout}s\""
	echo "} >job.log 2>&1"
	echo "echo \$rc >job.rc"
	echo "exit \$rc"
} >"$out/.vm/wrapper.sh"

finish() {
	# $1 = what the runner itself said (qemu/timeout exit status)
	if [ -f "$out/job.log" ]; then
		cat "$out/job.log"
	fi
	if [ ! -s "$out/job.rc" ]; then
		echo "$me: no job.rc: the job did not finish (runner status $1)"
		if [ -f "$out/console.log" ]; then
			echo "$me: last lines of $out/console.log:"
			tail -n 40 "$out/console.log" | tr -d '\r'
		fi
		exit 1
	fi
	rc=$(cat "$out/job.rc")
	case $rc in ''|*[!0-9]*) echo "$me: bad job.rc '$rc'"; exit 1 ;; esac
	exit "$rc"
}

# ---- the VM ----
qemu=${HVS_VM_QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null 2>&1 || skip "$qemu not found (apt-get install qemu-system-x86)"
for t in timeout cpio gzip; do
	command -v $t >/dev/null 2>&1 || skip "$t not found"
done

# The kernel: HVS_VM_KERNEL, else the newest /boot/vmlinuz-* whose modules
# include vsock_loopback and 9p.
has_modules() {
	m=/lib/modules/$1/kernel
	ls "$m"/net/vmw_vsock/vsock_loopback.ko* >/dev/null 2>&1 &&
	    ls "$m"/fs/9p/9p.ko* >/dev/null 2>&1 &&
	    [ -f "/lib/modules/$1/modules.dep" ]
}
kernel=''
kver=''
if [ -n "${HVS_VM_KERNEL:-}" ]; then
	kernel=$HVS_VM_KERNEL
	kver=${kernel##*/vmlinuz-}
	has_modules "$kver" || skip "no vsock_loopback/9p modules for $kernel in /lib/modules/$kver"
else
	for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
		v=${k##*/vmlinuz-}
		if has_modules "$v"; then
			kernel=$k
			kver=$v
			break
		fi
	done
	[ -n "$kernel" ] || skip "no /boot/vmlinuz-* with vsock_loopback and 9p modules (apt-get install linux-image-amd64)"
fi
[ -r "$kernel" ] || skip "cannot read $kernel"

busybox=''
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && { busybox=$b; break; }
done
[ -n "$busybox" ] || skip "busybox not found (apt-get install busybox-static)"
if LC_ALL=C ldd "$busybox" 2>&1 | grep -q '=>'; then
	skip "$busybox is dynamically linked (apt-get install busybox-static)"
fi

# ---- the initramfs, cached per kernel version ----
cache=${HVS_VM_CACHE:-}
if [ -z "$cache" ]; then
	if [ -n "$build_dir" ]; then
		cache=$build_dir/test/vm/cache
	else
		cache=$out/../.vm-cache
	fi
fi
mkdir -p "$cache" || die "cannot create $cache"
initrd=$cache/initramfs-$kver.cpio.gz

write_init() {
	cat <<'EOF'
#!/bin/sh
# /init of the libhvsock test VM (written by test/vm/run-vm.sh)
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "hvs-vm: $*" >/dev/console; }
halt() { say "$*"; sync; poweroff -f; sleep 10; }
for m in virtio_pci 9pnet_virtio 9p vsock_loopback vsock_diag; do
	modprobe $m || say "modprobe $m failed"
done
mkdir -p /out /mnt
o=trans=virtio,version=9p2000.L,msize=262144
# Both exports appear once virtio-pci has probed; give them a moment.
i=0
until mount -t 9p -o $o hvsout /out 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 50 ] || halt "cannot mount the results export"
	sleep 0.1
done
read -r outpath </out/.vm/outpath || halt "no .vm/outpath"
mount -t 9p -o $o,ro,cache=loose hostroot /mnt || halt "cannot mount the host root"
mount -t proc proc /mnt/proc
mount -t sysfs sys /mnt/sys
mount -t devtmpfs dev /mnt/dev
mkdir -p /mnt/dev/pts /mnt/dev/shm
mount -t devpts devpts /mnt/dev/pts
mount -t tmpfs tmpfs /mnt/dev/shm
# A second view of the host root, taken before the tmpfs mounts hide its
# /tmp: a source or build tree that lives there (a CI clone in /tmp, say)
# is bound back into place from it. Mounts here are private, so the tmpfs
# mounts below do not show through /host.
mkdir -p /host
mount -o bind /mnt /host || halt "cannot bind the host root"
for d in /tmp /run /var/tmp; do
	[ -d /mnt$d ] && mount -t tmpfs -o mode=1777 tmpfs /mnt$d
done
while read -r p; do
	case $p in
	/tmp/*|/run/*|/var/tmp/*)
		mkdir -p "/mnt$p" && mount -o bind "/host$p" "/mnt$p" ||
		    halt "cannot bind $p from the host"
		;;
	esac
done </out/.vm/binds
mkdir -p "/mnt$outpath" 2>/dev/null
mount -o bind /out "/mnt$outpath" || halt "cannot bind the results export to $outpath"
ip link set lo up
say "running the job"
chroot /mnt /bin/sh "$outpath/.vm/wrapper.sh"
say "job exited with $?"
sync
umount "/mnt$outpath" /out 2>/dev/null
poweroff -f
EOF
}

build_initrd() {
	tmp=$(mktemp -d "$cache/initramfs.XXXXXX") || die "mktemp failed"
	root=$tmp/root
	mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" \
	    "$root/mnt" "$root/out" "$root/lib/modules/$kver/kernel" || die "mkdir failed"
	cp "$busybox" "$root/bin/busybox" || die "cannot copy $busybox"
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	ln -s ../bin/busybox "$root/sbin/modprobe"
	src=/lib/modules/$kver
	for d in drivers/virtio fs/9p net/9p fs/fscache fs/netfs net/vmw_vsock; do
		if [ -d "$src/kernel/$d" ]; then
			mkdir -p "$root/lib/modules/$kver/kernel/$(dirname $d)"
			cp -a "$src/kernel/$d" "$root/lib/modules/$kver/kernel/$d" || die "cannot copy modules $d"
		fi
	done
	for f in modules.dep modules.alias modules.order modules.builtin \
	    modules.builtin.modinfo modules.softdep modules.symbols; do
		[ -f "$src/$f" ] && cp "$src/$f" "$root/lib/modules/$kver/"
	done
	write_init >"$root/init"
	chmod 755 "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initrd.gz" ||
	    die "cannot pack the initramfs"
	mv -f "$tmp/initrd.gz" "$initrd" || die "cannot store $initrd"
	rm -rf "$tmp"
}

# Rebuilt when missing or older than this script (which holds /init), the
# busybox binary or the kernel's modules.dep.
newer() { [ -n "$(find "$1" -newer "$2" 2>/dev/null)" ]; }
if [ ! -s "$initrd" ] || newer "$0" "$initrd" || newer "$busybox" "$initrd" ||
    newer "/lib/modules/$kver/modules.dep" "$initrd"; then
	echo "$me: building $initrd" >&2
	build_initrd
fi

printf '%s\n' "$out" >"$out/.vm/outpath"
# Trees the job needs that the VM's fresh /tmp, /run and /var/tmp would
# hide (bound back by /init, the source before the build tree inside it).
printf '%s\n' "$source_dir" ${build_dir:+"$build_dir"} >"$out/.vm/binds"

if [ -n "$prepare" ]; then
	[ -f "$prepare" ] || die "no such --prepare script: $prepare"
	echo "$me: preparing with $(basename "$prepare")" >&2
	HVS_VM_KERNEL=$kernel HVS_VM_KVER=$kver HVS_VM_CACHE=$cache \
	    HVS_VM_STAGE=$out/.vm sh "$prepare" "$@" >"$out/.vm/prepare.log" 2>&1
	rc=$?
	cat "$out/.vm/prepare.log" >&2
	[ $rc -eq 77 ] && skip "$(basename "$prepare") cannot prepare the job"
	[ $rc -eq 0 ] || die "$(basename "$prepare") failed (exit $rc)"
fi

echo "$me: booting $kernel (TCG) for $(basename "$job"), bound ${vm_timeout}s" >&2
start=$(date +%s)
if [ $shell = 1 ]; then
	timeout -k 10 "$vm_timeout" "$qemu" \
		-accel tcg,thread=multi -cpu max -m "$mem" -smp "$smp" \
		-nographic -no-reboot -nic none \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 hvsvm=1 ${HVS_VM_APPEND:-}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$(printf '%s' "$out" | sed 's/,/,,/g'),mount_tag=hvsout,security_model=none,multidevs=remap"
	exit $?
fi
timeout -k 10 "$vm_timeout" "$qemu" \
	-accel tcg,thread=multi -cpu max -m "$mem" -smp "$smp" \
	-nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 hvsvm=1 ${HVS_VM_APPEND:-}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$(printf '%s' "$out" | sed 's/,/,,/g'),mount_tag=hvsout,security_model=none,multidevs=remap" \
	</dev/null >"$out/console.log" 2>&1
status=$?
echo "$me: VM ran $(($(date +%s) - start))s (qemu status $status)" >&2
[ $status -eq 124 ] && echo "$me: the VM was stopped after ${vm_timeout}s" >&2
finish $status
