#!/bin/sh
# SPDX-License-Identifier: MIT
# The whole test suite, as CI runs it (.ci/run calls this):
#   1. gcc, -Dwerror=true: every suite (unit, integration, vm) but
#      vm-nested (a guest booted inside the test VM: its own leg)
#   2. clang, -Dwerror=true: every suite but the VM ones
#   3. gcc with ASan+UBSan: every suite but vm-nested
#   3b. vm-nested, with the gcc leg's build: the test VM as a KVM host
#      (vhost_vsock) and a guest it boots, hvcat and hvproxy both ways
#   3c. deb: the Debian packages built and linted (scripts/deb-build.sh),
#      their files checked (scripts/deb-check.sh), then installed with
#      dpkg in the test VM (suite deb, with the gcc leg's build): the
#      demo's real-vsock checks against the installed hvcat and hvproxy,
#      and a program built with `pkg-config --libs libhvsock` from the
#      installed -dev package relaying over vsock
#   4. Windows: the whole tree cross-built with mingw-w64 against
#      libevent, inih and cmocka from Debian's source packages
#      (scripts/win-deps.sh, cached outside the clone), its unit and
#      integration tests run under wine, and the release zip built and
#      checked (scripts/win-dist.sh)
#   5. FreeBSD 14: the library and both tools cross-built with clang and
#      lld against a FreeBSD 14 sysroot ($HVSOCK_FREEBSD_SYSROOT) and
#      libevent and inih from Debian's source packages
#      (scripts/freebsd-deps.sh, cached outside the clone), once with the
#      loop and once without; what came out checked (scripts/freebsd-
#      check.sh: ABI note, NEEDED, symbol versions, every symbol
#      FreeBSD's) and installed into a destdir that the port's pkg-plist
#      is compared with. Fails on anything that stops compiling or
#      linking for FreeBSD; nothing of it runs here. Without a sysroot
#      it fails in CI (CI=true) and is skipped elsewhere.
#   6. a 20-second libFuzzer smoke run of each fuzz target
#   7. valgrind memcheck of the unit tests and of hvproxy/hvcat under a
#      subset of the integration tests (scripts/valgrind.sh --ci, ~2 min)
#   8. a smoke run of the benchmark (bench/run.sh --quick, no times judged)
#   9. formatting check, and the SPDX license line of every source file
# and ends with one line "N passed, N failed" counted from meson's test
# logs of all runs together plus one result per check that is not a meson
# test (steps 4-9). Build trees go to ./build-ci-*; each leg's time is
# printed ("=== time: ...") and summed up at the end.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

sh scripts/deps.sh

status=0
logs=""
# Checks that are not meson tests, one JSON line each in meson's testlog
# format, so that count-tests.py counts them with the rest.
legs="$top/build-ci-legs.json"
: >"$legs"
times=""

record() {	# name, exit status, seconds
	if [ "$2" -eq 0 ]; then r=OK; else r=FAIL; status=1; fi
	printf '{"name": "%s", "result": "%s", "duration": %s}\n' \
	    "$1" "$r" "$3" >>"$legs"
}

timed() {	# name, command...: run, print and keep the time it took
	leg=$1
	shift
	t0=$(date +%s)
	rc=0
	"$@" || rc=$?
	t=$(( $(date +%s) - t0 ))
	echo "=== time: $leg ${t}s"
	times="$times $leg=${t}s"
	return $rc
}

run_suite() {	# name, meson setup args..., then -- meson test args
	name=$1
	shift
	setup=""
	while [ "$1" != "--" ]; do
		setup="$setup $1"
		shift
	done
	shift
	dir="$top/build-ci-$name"
	rm -rf "$dir"
	echo "=== $name: meson setup$setup"
	# shellcheck disable=SC2086
	if ! meson setup "$dir" $setup >"$dir.setup.log" 2>&1; then
		cat "$dir.setup.log"
		echo "=== $name: setup FAILED"
		status=1
		return
	fi
	if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
		tail -n 60 "$dir.build.log"
		echo "=== $name: build FAILED"
		status=1
		return
	fi
	if ! meson test -C "$dir" --print-errorlogs "$@"; then
		echo "=== $name: tests FAILED"
		status=1
	fi
	logs="$logs $dir/meson-logs/testlog.json"
}

# The Windows dependencies build (when not cached) alongside the first
# legs: that work is mostly cmake's configure checks, one process long.
sh scripts/win-deps.sh >"$top/build-ci-win-deps.log" 2>&1 &
windeps_pid=$!
# The FreeBSD ones too (the two take turns at apt-get), given a FreeBSD
# sysroot: $HVSOCK_FREEBSD_SYSROOT, or the one CI has beside the clone.
freebsddeps_pid=
if sh scripts/freebsd-deps.sh --sysroot >/dev/null \
    2>"$top/build-ci-freebsd-deps.log"; then
	sh scripts/freebsd-deps.sh >"$top/build-ci-freebsd-deps.log" 2>&1 &
	freebsddeps_pid=$!
fi

timed gcc run_suite gcc -Dwerror=true -- --no-suite vm-nested \
    --no-suite deb --num-processes 2
CC=clang timed clang run_suite clang -Dwerror=true -- --no-suite vm \
    --no-suite vm-nested --no-suite deb --num-processes 2
# ASan and UBSan make the programs several times slower (a test that
# parses 10,000 forwards takes 12 s instead of 2): the same time-outs,
# tripled, so that a loaded machine does not turn slowness into failures.
timed asan run_suite asan -Dwerror=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debug -- --no-suite vm-nested \
    --no-suite deb --num-processes 2 --timeout-multiplier 3

# The host<->guest job over the virtio transport (suite vm-nested): the
# test VM boots a guest of its own under TCG inside TCG, which takes
# minutes, so it runs once, with the gcc leg's binaries, as a leg of its
# own (about 10 minutes; its job bounds itself at 40). In CI a skip is a
# failure: nothing else exercises vhost-vsock.
nested_leg() {
	dir=$top/build-ci-gcc
	[ -f "$dir/build.ninja" ] || return 0
	if ! meson test -C "$dir" --suite vm-nested --print-errorlogs \
	    --logbase vm-nested; then
		echo "=== vm-nested: FAILED"
		status=1
	fi
	logs="$logs $dir/meson-logs/vm-nested.json"
	if [ "${CI:-}" = true ] &&
	    ! grep -q '"result": "OK"' "$dir/meson-logs/vm-nested.json"; then
		echo "=== vm-nested: did not run (CI needs it to)"
		record vm-nested-ran 1 0
	fi
}

check() {	# name, command...: a check that is not a meson test; its
		# exit status is left in $checked
	echo "=== $1"
	checked=0
	timed "$@" || checked=$?
	[ "$checked" -eq 0 ] || echo "=== $1 FAILED"
	record "$1" "$checked" "$t"
}

logged() {	# log file, command...: output to the log, its tail on failure
	log=$1
	shift
	"$@" >"$log" 2>&1 || {
		rc=$?
		tail -n 60 "$log"
		return "$rc"
	}
}

deps_wait() {	# pid, log: a dependency build started above
	wait "$1" || {
		rc=$?
		tail -n 60 "$2"
		return "$rc"
	}
}

windows_tests() {
	if ! meson test -C "$1" --print-errorlogs --num-processes 2; then
		echo "=== windows: tests FAILED"
		status=1
	fi
	logs="$logs $1/meson-logs/testlog.json"
}

# Windows: the dependencies (started above; the time shown is what
# waiting for them added), the cross build, its tests under wine in a
# wine prefix of the run's own, then the release zip and its check.
win_leg() {
	check windows-deps deps_wait "$windeps_pid" "$top/build-ci-win-deps.log"
	[ "$checked" -eq 0 ] || return 0
	HVSOCK_WINEPREFIX="$top/build-ci-wineprefix"
	export HVSOCK_WINEPREFIX
	rm -rf "$HVSOCK_WINEPREFIX" "$top/build-ci-win64"
	check windows-build logged "$top/build-ci-win64.build.log" \
	    sh scripts/win-build.sh "$top/build-ci-win64"
	if [ "$checked" -eq 0 ]; then
		timed windows-tests windows_tests "$top/build-ci-win64"
	fi
	check windows-dist sh scripts/win-dist.sh "$top/build-ci-dist"
	WINEPREFIX=$HVSOCK_WINEPREFIX wineserver -k 2>/dev/null || true
	unset HVSOCK_WINEPREFIX
}
echo "=== vm-nested (host <-> nested guest, vhost-vsock)"
timed vm-nested nested_leg

# The Debian packages as a distribution ships them: built and linted,
# their files checked, then installed with dpkg -i in the test VM (suite
# deb, the gcc leg's build; HVS_DEB_DIR names the .debs), where the
# demo's vsock checks run against the installed programs and a program
# is built on the installed -dev package. In CI a skip is a failure.
deb_leg() {
	debs=$top/build-ci-debs
	rm -rf "$debs"
	check deb-build sh scripts/deb-build.sh "$debs"
	[ "$checked" -eq 0 ] || return 0
	check deb-check sh scripts/deb-check.sh "$debs"
	dir=$top/build-ci-gcc
	[ -f "$dir/build.ninja" ] || return 0
	HVS_DEB_DIR=$debs
	export HVS_DEB_DIR
	if ! timed deb-installed meson test -C "$dir" --suite deb \
	    --print-errorlogs --logbase deb; then
		echo "=== deb-installed: FAILED"
		status=1
	fi
	unset HVS_DEB_DIR
	logs="$logs $dir/meson-logs/deb.json"
	if [ "${CI:-}" = true ] &&
	    ! grep -q '"result": "OK"' "$dir/meson-logs/deb.json"; then
		echo "=== deb-installed: did not run (CI needs it to)"
		record deb-installed-ran 1 0
	fi
}
echo "=== deb (packages built, checked, installed in the test VM)"
deb_leg

echo "=== windows (mingw-w64 + wine)"
win_leg

# FreeBSD: the dependencies (started above), then the cross build and
# the check of its output, with the loop and tools and without (the
# core alone); the port's file list against the installed tree.
freebsd_build() {	# name, meson setup options...
	fname=$1
	dir=$top/build-ci-$1
	shift
	rm -rf "$dir"
	check "$fname-build" logged "$dir.build.log" \
	    sh scripts/freebsd-build.sh "$dir" "$@"
	[ "$checked" -eq 0 ] || return 0
	check "$fname-check" logged "$dir.check.log" \
	    sh scripts/freebsd-check.sh "$dir"
}
freebsd_leg() {
	# No sysroot: a failure in CI, which has one; elsewhere the leg is
	# skipped and says how to run it.
	if [ -z "$freebsddeps_pid" ]; then
		cat "$top/build-ci-freebsd-deps.log"
		if [ "${CI:-}" = true ]; then
			record freebsd-sysroot 1 0
		else
			echo "=== freebsd: skipped (set HVSOCK_FREEBSD_SYSROOT)"
			printf '{"name": "freebsd", "result": "SKIP", "duration": 0}\n' \
			    >>"$legs"
		fi
		return 0
	fi
	check freebsd-deps deps_wait "$freebsddeps_pid" \
	    "$top/build-ci-freebsd-deps.log"
	[ "$checked" -eq 0 ] || return 0
	freebsd_build freebsd
	if [ "$checked" -eq 0 ] && [ -f scripts/freebsd-plist-check.sh ]; then
		check freebsd-plist sh scripts/freebsd-plist-check.sh \
		    "$top/build-ci-freebsd/destdir"
	fi
	freebsd_build freebsd-core -Dloop=disabled
}
echo "=== freebsd (clang + lld, FreeBSD 14 sysroot)"
freebsd_t0=$(date +%s)
freebsd_leg
times="$times freebsd=$(( $(date +%s) - freebsd_t0 ))s"

check fuzz-smoke sh fuzz/run.sh 20
check valgrind env VG_BUILD=build-ci-valgrind sh scripts/valgrind.sh --ci

# The benchmark's scripts still work: tiny sizes, one rep, no VM; fails
# only on a wrong byte or a tool that does not run, never on a time.
check bench-smoke sh -c \
    'sh bench/run.sh --quick --build "$1/build-ci-bench" >/dev/null' sh "$top"
check clang-format sh scripts/format.sh --check
check spdx sh scripts/spdx.sh --check

echo "=== time per leg:$times"
# shellcheck disable=SC2086
python3 scripts/count-tests.py $logs "$legs" || status=1
exit $status
