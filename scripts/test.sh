#!/bin/sh
# SPDX-License-Identifier: MIT
# The whole test suite, as CI runs it (.ci/run calls this):
#   1. gcc, -Dwerror=true: every suite (unit, integration, vm)
#   2. clang, -Dwerror=true: every suite but the VM one
#   3. gcc with ASan+UBSan: every suite, the VM one included
#   4. the Windows cross build (mingw-w64) of the portable core
#   5. a 20-second libFuzzer smoke run of each fuzz target
#   6. valgrind memcheck of the unit tests and of hvproxy/hvcat under a
#      subset of the integration tests (scripts/valgrind.sh --ci, ~2 min)
#   7. a smoke run of the benchmark (bench/run.sh --quick, no times judged)
#   8. formatting check, and the SPDX license line of every source file
# and ends with one line "N passed, N failed" counted from meson's test
# logs of all runs together. Build trees go to ./build-ci-*.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

sh scripts/deps.sh

status=0
logs=""

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

run_suite gcc -Dwerror=true -- --num-processes 2
CC=clang run_suite clang -Dwerror=true -- --no-suite vm --num-processes 2
run_suite asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug -- --num-processes 2

echo "=== windows cross build (mingw-w64)"
if ! bash .ci/cross-build.sh build-ci-win64; then
	echo "=== cross build FAILED"
	status=1
fi

echo "=== fuzz smoke (libFuzzer, 20 s per target)"
if ! sh fuzz/run.sh 20; then
	echo "=== fuzz smoke FAILED"
	status=1
fi

echo "=== valgrind memcheck (CI subset)"
if ! VG_BUILD=build-ci-valgrind sh scripts/valgrind.sh --ci; then
	echo "=== valgrind FAILED"
	status=1
fi

# The benchmark's scripts still work: tiny sizes, one rep, no VM; fails
# only on a wrong byte or a tool that does not run, never on a time.
echo "=== bench smoke (bench/run.sh --quick)"
if ! sh bench/run.sh --quick --build "$top/build-ci-bench" >/dev/null; then
	echo "=== bench smoke FAILED"
	status=1
fi

echo "=== clang-format check"
if ! sh scripts/format.sh --check; then
	echo "=== format check FAILED"
	status=1
fi

echo "=== SPDX license line check"
if ! sh scripts/spdx.sh --check; then
	echo "=== SPDX check FAILED"
	status=1
fi

# shellcheck disable=SC2086
python3 scripts/count-tests.py $logs || status=1
exit $status
