#!/bin/sh
# SPDX-License-Identifier: MIT
# The check to run before a commit: build (./build-quick, set up on first
# use) and run the unit suite, which takes a minute or two, not the half
# hour of scripts/test.sh.
#
#   sh scripts/quick-check.sh [TEST...] [--suite SUITE...] [--OPTION...]
#
# Arguments, if any, name more tests or suites, run after the unit suite
# (meson takes names and suites together as their intersection, so they
# are run apart); any other option (-v, --repeat=3, ...: written with
# '=' when it takes a value) goes to every `meson test` run:
#
#   sh scripts/quick-check.sh hvproxy-cli hvproxy-units
#   sh scripts/quick-check.sh --suite hvcat
#
# A name or suite that matches no test is an error (meson would run
# nothing and pass).
#
# Environment: QUICK_BUILD, the build directory (default build-quick).
# Installs nothing: when a tool or library is missing it says so and
# points at scripts/deps.sh. Exits 0 when every test run passed, 1
# otherwise, 2 when it could not build.
set -eu
cd "$(dirname "$0")/.."
dir=${QUICK_BUILD:-build-quick}

missing() {
	echo "quick-check: $1" >&2
	echo "quick-check: install the dependencies with 'sh scripts/deps.sh'" \
	    "(Debian 12, as root)" >&2
	exit 2
}

for tool in meson ninja cc pkg-config python3; do
	command -v "$tool" >/dev/null 2>&1 ||
	    missing "'$tool' is not installed"
done
# The unit suite needs cmocka, and the loop's tests (listener, connect,
# relay) need libevent: without it meson would quietly build less.
for mod in cmocka libevent_core inih; do
	pkg-config --exists "$mod" ||
	    missing "the library '$mod' is not installed (pkg-config $mod)"
done

if [ ! -f "$dir/build.ninja" ]; then
	echo "quick-check: meson setup $dir"
	if ! meson setup "$dir" >"$dir.setup.log" 2>&1; then
		tail -n 30 "$dir.setup.log" >&2
		echo "quick-check: meson setup failed (log: $dir.setup.log)" >&2
		missing "see the log above"
	fi
	rm -f "$dir.setup.log"
fi
if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
	tail -n 60 "$dir.build.log" >&2
	echo "quick-check: the build failed (log: $dir.build.log)" >&2
	exit 2
fi
rm -f "$dir.build.log"

# Test names and suites contain no blanks: plain strings are enough.
names=""
suites=""
opts=""
while [ $# -gt 0 ]; do
	case $1 in
	--suite)
		if [ $# -lt 2 ]; then
			echo "quick-check: --suite needs a suite name" >&2
			exit 2
		fi
		suites="$suites $2"
		shift 2
		;;
	--suite=*)
		suites="$suites ${1#--suite=}"
		shift
		;;
	-*)
		opts="$opts $1"
		shift
		;;
	*)
		names="$names $1"
		shift
		;;
	esac
done
suite_args=""
for s in $suites; do
	if ! meson test -C "$dir" --list --suite "$s" >/dev/null 2>&1; then
		echo "quick-check: no test is in a suite named '$s'" \
		    "(meson test -C $dir --list shows the tests and suites)" >&2
		exit 2
	fi
	suite_args="$suite_args --suite $s"
done
for t in $names; do
	if ! meson test -C "$dir" --list "$t" >/dev/null 2>&1; then
		echo "quick-check: no test named '$t'" \
		    "(meson test -C $dir --list shows them)" >&2
		exit 2
	fi
done

status=0
# shellcheck disable=SC2086
meson test -C "$dir" --print-errorlogs $opts --suite unit || status=1
if [ -n "$suite_args" ]; then
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs $opts $suite_args || status=1
fi
if [ -n "$names" ]; then
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs $opts $names || status=1
fi
if [ $status -eq 0 ]; then
	echo "quick-check: passed"
else
	echo "quick-check: FAILED"
fi
exit $status
