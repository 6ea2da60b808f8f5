#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/run.sh - hvproxy against direct, socat and ncat on loopback, and
# hvcat/hvproxy against socat/ncat over real AF_VSOCK in the test VM.
# See bench/README.md.
#
#   bench/run.sh             the full run (~10-15 min): bench/results/latest.*
#                            and the table in README.md (the top level)
#   bench/run.sh --quick     smoke run (well under a minute, no VM, tiny
#                            sizes, one rep) into BUILD/bench/quick/; fails
#                            only if a tool or a byte is wrong, never on time
#   bench/run.sh --profile   perf profiles of hvproxy (bulk and churn) into
#                            BUILD/bench/profile/ (needs linux-perf)
#   bench/run.sh --reload    start-up, reload and stop of hvproxy with 1,000
#                            to 10,000 forwards (reload.py) into
#                            BUILD/bench/reload/ (a few minutes)
#   bench/run.sh --vsock-profile  hvproxy/hvcat vs socat over real vsock in
#                            the test VM: CPU, wake-ups, system calls and
#                            their sizes per MB, into BUILD/bench/vsock-profile/
#
# Options: --build DIR (default: build-bench, set up with -Dbuildtype=release
# if missing), --out DIR, --no-vm / --vm, --reps N, --no-readme.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$src/build-bench
mode=full
out=''
vm=auto
reps=0
readme=yes

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) mode=quick; shift ;;
	--profile) mode=profile; shift ;;
	--reload) mode=reload; shift ;;
	--vsock-profile) mode=vsockprof; shift ;;
	--build) build=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--vm) vm=yes; shift ;;
	--no-vm) vm=no; shift ;;
	--reps) reps=$2; shift 2 ;;
	--no-readme) readme=no; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
case $build in /*) ;; *) build=$(pwd)/$build ;; esac

# Its own Debian packages, when missing: installed as root (as in CI),
# else named. perf only for --profile; the VM part skips itself without
# qemu (scripts/deps.sh has those).
need=''
command -v socat >/dev/null 2>&1 || need="$need socat"
command -v ncat >/dev/null 2>&1 || need="$need ncat"
command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot-nox"
if [ "$mode" = profile ] || [ "$mode" = vsockprof ]; then
	command -v perf >/dev/null 2>&1 || need="$need linux-perf"
fi
if [ "$mode" = vsockprof ]; then
	command -v strace >/dev/null 2>&1 || need="$need strace"
fi
if [ -n "$need" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "run.sh: installing$need" >&2
		export DEBIAN_FRONTEND=noninteractive
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $need >&2 ||
		    { apt-get update -q >&2 &&
		    apt-get install -y -q --no-install-recommends $need >&2; }
	else
		echo "run.sh: missing:$need (apt-get install$need)" >&2
		exit 1
	fi
fi

# The Debian python: the harness needs nothing but its standard library
# and the tests' library (test/pylib: ports, waits, processes).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PYTHONPATH="$src/test/pylib${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH

if [ ! -f "$build/build.ninja" ]; then
	echo "run.sh: setting up $build (release)" >&2
	meson setup "$build" "$src" -Dbuildtype=release >/dev/null
fi
ninja -C "$build" >/dev/null

# hvbench, the load generator: compiled here, into the build tree (the
# test VM sees the host's file system, but not its /tmp).
mkdir -p "$build/bench"
hvbench=$build/bench/hvbench
if [ ! -x "$hvbench" ] || [ "$here/hvbench.c" -nt "$hvbench" ]; then
	${CC:-cc} -O2 -std=gnu11 -Wall -Wextra -pthread -o "$hvbench" "$here/hvbench.c"
fi
# nosplice.so: the relay's copy path, for comparison (profile, VM)
if [ ! -f "$build/bench/nosplice.so" ] || [ "$here/nosplice.c" -nt "$build/bench/nosplice.so" ]; then
	${CC:-cc} -shared -fPIC -O2 -Wall -Wextra -o "$build/bench/nosplice.so" "$here/nosplice.c" -ldl
fi

case $mode in
profile)
	exec sh "$here/profile.sh" "$build" "$hvbench" "${out:-$build/bench/profile}"
	;;
vsockprof)
	[ -n "$out" ] || out=$build/bench/vsock-profile
	rm -rf "$out"
	st=0
	"$src/test/vm/run-vm.sh" --out "$out" --build-dir "$build" \
		--source-dir "$src" --timeout 1500 \
		"$src/test/vm/jobs/profile-vsock.sh" "$hvbench" \
		"$build/bin/hvcat/hvcat" "$build/bin/hvproxy/hvproxy" >&2 || st=$?
	[ "$st" -eq 0 ] || { echo "run.sh: the profile job failed ($st)" >&2; exit $st; }
	"$PY" "$here/vsock-profile.py" "$out" | tee "$out/profile.md"
	exit 0
	;;
reload)
	[ -n "$out" ] || out=$build/bench/reload
	mkdir -p "$out"
	st=0
	"$PY" "$here/reload.py" --hvproxy "hvproxy=$build/bin/hvproxy/hvproxy" \
		--json "$out/reload.json" >"$out/reload.md" || st=$?
	cat "$out/reload.md"
	exit $st
	;;
quick)
	[ -n "$out" ] || out=$build/bench/quick
	mkdir -p "$out"
	# The reload's smoke run: 200 forwards, one reload, no time judged.
	"$PY" "$here/reload.py" --hvproxy "hvproxy=$build/bin/hvproxy/hvproxy" \
		--n 200 --rounds 1 --json "$out/reload.json" >"$out/reload.md"
	set -- --quick
	;;
full)
	[ -n "$out" ] || out=$here/results
	set --
	if [ "$readme" = yes ] && [ "$out" -ef "$here/results" ]; then
		set -- --readme "$src/README.md"
	fi
	;;
esac
exec "$PY" "$here/bench.py" --hvbench "$hvbench" --build "$build" \
	--source "$src" --out "$out" --vm "$vm" --reps "$reps" "$@"
