#!/bin/sh
# SPDX-License-Identifier: MIT
# deb-installed.sh - the Debian packages (scripts/deb-build.sh) installed
# for real with dpkg, and used over real AF_VSOCK (vsock_loopback, CID 1):
#
#   1. a writable root: an overlayfs whose lower layer is the VM's
#      read-only root (the host's, over 9p) and whose upper layer is a
#      tmpfs, with /proc, /sys, /dev, /tmp, the source tree and the
#      results folder mounted in; libevent, inih and the rest of the
#      packages' dependencies are the host's own
#   2. `dpkg -i` of libhvsock0, libhvsock-dev and hvsock-tools in a chroot
#      of it: each "install ok installed" at the .deb's version, `dpkg
#      --verify` clean, hvcat and hvproxy found on PATH at /usr/bin and
#      /usr/sbin and owned by hvsock-tools (dpkg -S), libhvsock.so.0
#      resolved by ldd from /usr/lib/MULTIARCH and owned by libhvsock0
#   3. the README's live demo (job-demo.sh, run as it is in the chroot)
#      with the installed hvcat and hvproxy: its checks are this job's
#      ("demo: ..."), a skip of the demo is a failure here
#   4. examples/hvs-expose.c compiled in the chroot with nothing but
#      `cc $(pkg-config --cflags --libs libhvsock)`: libhvsock.pc and the
#      headers must come from /usr (libhvsock-dev), the program must load
#      /usr/lib/MULTIARCH/libhvsock.so.0; it then relays 2 MiB each way
#      with half-close, vsock -> tcp and tcp -> vsock, checked by sha256
#
#   run-vm.sh --prepare deb-prepare.sh --out DIR jobs/deb-installed.sh [DEBDIR]
#
# DEBDIR (default DIR/.vm/debs, where deb-prepare.sh copies the .debs of
# $HVS_DEB_DIR) holds the three .debs; a DEBDIR of the caller's must be a
# path the VM sees (not under /tmp). Nothing of this machine is changed:
# the installation lives in the VM's tmpfs and is gone at power-off.
# shellcheck disable=SC2034 # read by lib.sh
HVS_PORT_BASE=35000
# shellcheck source=test/vm/lib.sh
. "$HVS_VM_DIR/lib.sh"
require_vsock
require dpkg dpkg-deb dpkg-query dpkg-architecture modprobe mount chroot \
    socat ss sha256sum

DEBS=${1:-$HVS_OUT_DIR/.vm/debs}
ma=$(dpkg-architecture -q DEB_HOST_MULTIARCH)
arch=$(dpkg --print-architecture)
LIBDIR=/usr/lib/$ma
# Nothing of the caller's may lead the programs, the compiler or
# pkg-config to another libhvsock than the installed one.
unset LD_LIBRARY_PATH LD_PRELOAD PKG_CONFIG_PATH PKG_CONFIG_LIBDIR \
    PKG_CONFIG_SYSROOT_DIR CPATH C_INCLUDE_PATH LIBRARY_PATH

for p in libhvsock0 libhvsock-dev hvsock-tools; do
	# shellcheck disable=SC2012 # names without blanks: NAME_VER_ARCH.deb
	f=$(ls -t "$DEBS/$p"_*_"$arch".deb 2>/dev/null | head -n 1)
	[ -n "$f" ] || skip_all "no $p .deb in $DEBS (HVS_DEB_DIR, deb-prepare.sh)"
done
# shellcheck disable=SC2012
version=$(dpkg-deb -f "$(ls -t "$DEBS"/libhvsock0_*_"$arch".deb |
    head -n 1)" Version)
upstream=${version%-*}
note "packages $version from $DEBS: $(cd "$DEBS" && echo ./*.deb)"

# ---- 1. the writable root ----
R=/run/hvs-deb
ROOT=$R/root
if ! mkdir -p "$R" || ! mount -t tmpfs -o mode=755 tmpfs "$R"; then
	skip_all "cannot mount a tmpfs on $R"
fi
mkdir -p "$R/upper" "$R/work" "$ROOT"
modprobe overlay 2>"$LOGS/modprobe.log" || { show modprobe; }
if ! mount -t overlay overlay \
    -o "lowerdir=/,upperdir=$R/upper,workdir=$R/work" "$ROOT" \
    2>"$LOGS/overlay.log"; then
	show overlay
	t_fail "an overlayfs over the read-only root"
	t_done
fi
t_pass "an overlayfs over the read-only root, a tmpfs upper layer"
if ! { mount -t proc proc "$ROOT/proc" &&
    mount -t sysfs sys "$ROOT/sys" &&
    mount --rbind /dev "$ROOT/dev" &&
    mount -t tmpfs -o mode=755 tmpfs "$ROOT/run" &&
    mount --rbind /tmp "$ROOT/tmp"; }; then
	t_fail "/proc, /sys, /dev, /run and /tmp in the root"
	t_done
fi
# The source tree (job-demo.sh, lib.sh, peer.py, examples/) and the
# results folder, at their own paths (the VM's init binds them back the
# same way when they live under /tmp).
for d in "$HVS_SOURCE_DIR" "$HVS_OUT_DIR"; do
	if ! mkdir -p "$ROOT$d" || ! mount --bind "$d" "$ROOT$d"; then
		t_fail "$d in the root"
		t_done
	fi
done
inroot() { chroot "$ROOT" "$@"; }
cleanup_root() { umount -R -l "$ROOT" 2>/dev/null; }

# ---- 2. dpkg -i ----
# shellcheck disable=SC2016 # dpkg-query's fields
before=$(inroot dpkg-query -W -f='${Status}' hvsock-tools 2>/dev/null)
note "before: hvsock-tools '${before:-not known to dpkg}'," \
    "/usr/bin/hvcat $([ -e "$ROOT/usr/bin/hvcat" ] && echo exists ||
    echo absent)"
# man-db's trigger would index every man page of the machine under TCG;
# without this file it does nothing (its documented switch).
rm -f "$ROOT/var/lib/man-db/auto-update"
t0=$(now_ms)
if run dpkg 300 chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive dpkg -i \
    "$DEBS/libhvsock0_$version"_*.deb "$DEBS/libhvsock-dev_$version"_*.deb \
    "$DEBS/hvsock-tools_$version"_*.deb >"$LOGS/dpkg.out"; then
	t_pass "dpkg -i libhvsock0 libhvsock-dev hvsock-tools ($(($(now_ms) - t0)) ms)"
else
	t_fail "dpkg -i libhvsock0 libhvsock-dev hvsock-tools" \
	    "$(cat "$LOGS/dpkg.out")"
	show dpkg
	cleanup_root
	t_done
fi
sed 's/^/#   dpkg: /' "$LOGS/dpkg.out"
for p in libhvsock0 libhvsock-dev hvsock-tools; do
	# shellcheck disable=SC2016 # dpkg-query's fields
	st=$(inroot dpkg-query -W -f='${Status} ${Version}' "$p" 2>&1)
	if [ "$st" = "install ok installed $version" ]; then
		t_pass "$p: install ok installed $version"
	else
		t_fail "$p installed at $version" "dpkg-query: $st"
	fi
done
out=$(inroot dpkg --verify libhvsock0 libhvsock-dev hvsock-tools 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
	t_pass "dpkg --verify: every installed file as packaged"
else
	t_fail "dpkg --verify (exit $rc)" "$out"
fi

# owner PATH PACKAGE : dpkg -S says PACKAGE (Multi-Arch: same ones with
# their :ARCH) owns PATH.
owner() {
	o=$(inroot dpkg -S "$1" 2>&1)
	if [ "$o" = "$2: $1" ] || [ "$o" = "$2:$arch: $1" ]; then
		t_pass "dpkg -S $1: $2"
	else
		t_fail "dpkg -S $1 names $2" "$o"
	fi
}
# resolves PROGRAM : ldd finds libhvsock.so.0 in $LIBDIR, in the root.
# With /usr merged, ld.so.cache may name it by /lib/MULTIARCH, the same
# folder: the check is on the file it leads to, libhvsock0's.
resolves() {
	l=$(inroot ldd "$1" 2>&1 | awk '$1 == "libhvsock.so.0" { print $3 }')
	real=$(inroot readlink -f "$LIBDIR/libhvsock.so.0")
	case $l in
	"$LIBDIR/libhvsock.so.0"|"/lib/$ma/libhvsock.so.0")
		if [ "$(inroot readlink -f "$l")" = "$real" ]; then
			t_pass "ldd $1: libhvsock.so.0 => $l ($real)"
			return
		fi
		;;
	esac
	t_fail "ldd $1 resolves libhvsock.so.0 to $real" "got '$l'"
}

HVCAT=$(inroot sh -c 'command -v hvcat')
HVPROXY=$(inroot sh -c 'command -v hvproxy')
if [ "$HVCAT" = /usr/bin/hvcat ] && [ "$HVPROXY" = /usr/sbin/hvproxy ]; then
	t_pass "PATH finds hvcat at $HVCAT, hvproxy at $HVPROXY"
else
	t_fail "PATH finds /usr/bin/hvcat, /usr/sbin/hvproxy" \
	    "got '$HVCAT', '$HVPROXY'"
	HVCAT=/usr/bin/hvcat
	HVPROXY=/usr/sbin/hvproxy
fi
owner /usr/bin/hvcat hvsock-tools
owner /usr/sbin/hvproxy hvsock-tools
owner "$LIBDIR/libhvsock.so.0" libhvsock0
resolves "$HVCAT"
resolves "$HVPROXY"
for prog in "$HVCAT" "$HVPROXY"; do
	v=$(inroot "$prog" --version 2>&1 | head -n 1)
	case $v in
	*"$upstream"*) t_pass "$prog --version: $v" ;;
	*) t_fail "$prog --version names $upstream" "'$v'" ;;
	esac
done

# ---- 3. the README's demo, with the installed programs ----
t_demo=$(now_ms)
# adopt PREFIX FILE RC : a job's TAP lines become this job's checks.
adopt() {
	a_ok=0
	a_bad=0
	while IFS= read -r line; do
		case $line in
		"not ok "*)
			a_bad=$((a_bad + 1))
			t_fail "$1: ${line#not ok * - }"
			;;
		"ok "*" # SKIP "*)
			line=${line#ok * - }
			t_skip "$1: ${line%% # SKIP *}" "${line#* # SKIP }"
			;;
		"ok "*)
			a_ok=$((a_ok + 1))
			t_pass "$1: ${line#ok * - }"
			;;
		*) echo "#   $line" ;;
		esac
	done <"$2"
	if [ "$3" -ne 0 ] && [ $a_bad -eq 0 ]; then
		t_fail "$1: exited $3 (77: skipped)"
	elif [ "$3" -eq 0 ] && [ $a_ok -eq 0 ]; then
		t_fail "$1: no check passed"
	fi
}
mkdir -p "$HVS_OUT_DIR/demo"
note "job-demo.sh $HVCAT $HVPROXY, in the root"
# shellcheck disable=SC2016 # the inner sh's
inroot env HVS_OUT_DIR="$HVS_OUT_DIR/demo" sh -c \
    'cd "$HVS_OUT_DIR" && exec sh "$HVS_VM_DIR/job-demo.sh" "$@"' sh \
    "$HVCAT" "$HVPROXY" >"$WORK/demo.tap" 2>&1
adopt demo "$WORK/demo.tap" $?

# ---- 4. a program built on the installed -dev package ----
note "demo: $(($(now_ms) - t_demo)) ms"
pc=$(inroot pkg-config --path libhvsock 2>&1)
if [ "$pc" = "$LIBDIR/pkgconfig/libhvsock.pc" ]; then
	t_pass "pkg-config reads $pc"
else
	t_fail "pkg-config reads $LIBDIR/pkgconfig/libhvsock.pc" "got '$pc'"
fi
owner "$LIBDIR/pkgconfig/libhvsock.pc" libhvsock-dev
owner /usr/include/hvsock/hvsock.h libhvsock-dev
pcv=$(inroot pkg-config --modversion libhvsock 2>&1)
if [ "$pcv" = "$upstream" ]; then
	t_pass "pkg-config --modversion libhvsock: $pcv"
else
	t_fail "pkg-config --modversion libhvsock is $upstream" "got '$pcv'"
fi
flags=$(inroot pkg-config --cflags --libs libhvsock)
note "pkg-config --cflags --libs libhvsock: $flags"
EXPOSE=$WORK/hvs-expose
src=$HVS_SOURCE_DIR/examples/hvs-expose.c
# As the project compiles it: C11 with _GNU_SOURCE (getopt()).
# shellcheck disable=SC2016 # the inner sh's
build='cc -std=c11 -Wall -Werror -D_GNU_SOURCE "$@" $(pkg-config --cflags --libs libhvsock)'
t0=$(now_ms)
if run cc 300 chroot "$ROOT" sh -c "$build" sh -o "$EXPOSE" "$src"; then
	t_pass "cc \$(pkg-config --cflags --libs libhvsock) hvs-expose.c ($(($(now_ms) - t0)) ms)"
else
	t_fail "cc \$(pkg-config --cflags --libs libhvsock) hvs-expose.c"
	show cc
	cleanup_root
	t_done
fi
# The headers it was compiled with (cc -M): the package's, in /usr.
run cc-deps 120 chroot "$ROOT" sh -c "$build" sh -M "$src" >"$WORK/deps" ||
    show cc-deps
hdrs=$(sed 's/[[:space:]]/\n/g' "$WORK/deps" | grep '/hvsock/' | sort -u | tr '\n' ' ')
case $hdrs in
*/usr/include/hvsock/hvsock.h*/usr/include/hvsock/loop.h*)
	case $hdrs in
	*"$HVS_SOURCE_DIR"*) t_fail "headers from /usr/include only" "$hdrs" ;;
	*) t_pass "compiled with the installed headers: $hdrs" ;;
	esac
	;;
*) t_fail "compiled with /usr/include/hvsock/*.h" "cc -M: '$hdrs'" ;;
esac
resolves "$EXPOSE"

# The relay over real vsock, both arrangements, sha256 both ways.
SZ=${HVS_DEB_SIZE:-2M}
mkrand "$WORK/up" "$SZ"
mkrand "$WORK/down" "$SZ"
nb=$(size "$WORK/up")

# expose TAG ARGS... : the installed-linked hvs-expose in the root,
# -v -n 1; waits for its "listening on" line.
expose() {
	e_tag=$1
	shift
	bg "expose-$e_tag" 120 chroot "$ROOT" "$EXPOSE" -v -n 1 "$@" \
	    >"$WORK/expose-$e_tag.out"
	EXPOSE_PID=$BG_PID
	wait_file "$WORK/expose-$e_tag.out" 20 || {
		t_fail "$e_tag: hvs-expose starts" "$(show "expose-$e_tag")"
		return 1
	}
}
# expose_done TAG : it served its one connection, both EOFs passed on.
expose_done() {
	bg_wait "$EXPOSE_PID"
	e_rc=$?
	line=$(grep -E ': (done|error|reset|idle timeout|closed):' \
	    "$LOGS/expose-$1.log" | tail -n 1)
	case $e_rc:$line in
	0:*": done: "*) t_pass "$1: hvs-expose ended done, exit 0" ;;
	*)
		t_fail "$1: hvs-expose ended done, exit 0" "rc=$e_rc: $line"
		show "expose-$1"
		;;
	esac
}

# vsock -> tcp: python AF_VSOCK client, hvs-expose vsock:V tcp:T, socat
# (tcp server: sha256sum of the upload, then the answer).
tag=vsock-tcp
next_port; V=$PORT
tcp_port; T=$PORT
bg "srv-$tag" 120 socat -t 60 -T 60 "TCP-LISTEN:$T,bind=127.0.0.1,reuseaddr" \
    "SYSTEM:sha256sum >$WORK/srv.sha; cat $WORK/down"
SRV=$BG_PID
tcp_wait "$T" || t_fail "$tag: tcp server listens" "$(show "srv-$tag")"
if expose "$tag" "vsock:$V" "tcp:127.0.0.1:$T"; then
	t0=$(now_ms)
	# shellcheck disable=SC2086 # $PEER is python and peer.py
	run "cli-$tag" 120 $PEER connect 1 "$V" --send "$WORK/up" \
	    --recv "$WORK/got" --timeout 100 || show "cli-$tag"
	note "$tag: $nb bytes each way in $(($(now_ms) - t0)) ms"
	bg_wait "$SRV"
	got=$(cut -d' ' -f1 "$WORK/srv.sha" 2>/dev/null)
	if [ "$got" = "$(sha "$WORK/up")" ]; then
		t_pass "$tag: $nb bytes vsock -> tcp, sha256 equal"
	else
		t_fail "$tag: $nb bytes vsock -> tcp" "server got '$got'"
	fi
	t_same "$tag: answer tcp -> vsock after the half-close" \
	    "$WORK/down" "$WORK/got"
	expose_done "$tag"
fi
rm -f "$WORK/got"

# tcp -> vsock: socat tcp client, hvs-expose tcp:T vsock:1:V, python
# AF_VSOCK server.
tag=tcp-vsock
next_port; V=$PORT
tcp_port; T=$PORT
rm -f "$WORK/ready"
# shellcheck disable=SC2086 # $PEER is python and peer.py
bg "srv-$tag" 120 $PEER listen "$V" --count 1 --send "$WORK/down" \
    --ready "$WORK/ready" --timeout 100
SRV=$BG_PID
wait_file "$WORK/ready" 20 || t_fail "$tag: peer listens" "$(show "srv-$tag")"
if expose "$tag" "tcp:127.0.0.1:$T" "vsock:1:$V"; then
	t0=$(now_ms)
	run "cli-$tag" 120 socat -t 60 -T 60 STDIO "TCP:127.0.0.1:$T" \
	    <"$WORK/up" >"$WORK/got" || show "cli-$tag"
	note "$tag: $nb bytes each way in $(($(now_ms) - t0)) ms"
	bg_wait "$SRV"
	got=$(peer_sha "srv-$tag" recv)
	if [ "$got" = "$(sha "$WORK/up")" ]; then
		t_pass "$tag: $nb bytes tcp -> vsock, sha256 equal"
	else
		t_fail "$tag: $nb bytes tcp -> vsock" "server got '$got'"
		show "srv-$tag"
	fi
	t_same "$tag: answer vsock -> tcp after the half-close" \
	    "$WORK/down" "$WORK/got"
	expose_done "$tag"
fi

cleanup_root
t_done
