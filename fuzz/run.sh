#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with clang, ASan and UBSan, and run them one
# after another (one core), each on a scratch copy of its seed corpus so
# that fuzz/corpus/ is never written to.
#
#   fuzz/run.sh [SECONDS|-runs=N] [TARGET...]
#
#   SECONDS     run each target this long (default 60); CI: fuzz/run.sh 20
#   -runs=N     run each target for N executions instead
#   TARGET      addr, guid, ... (default: every fuzz/fuzz_*.c)
#
# Environment:
#   FUZZ_BUILD  build directory (default build-fuzz)
#   FUZZ_FLAGS  more libFuzzer flags, e.g. "-seed=1 -max_len=4096"
#   FUZZ_KEEP   1: keep the scratch directory (grown corpus, logs) even
#               when everything passed
#
# Prints one line per target (executions, exec/s, coverage) and exits 1 if
# any target crashed, leaked, hung or raised a sanitizer report; the log
# and the reproducer are then kept and their paths printed.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

usage() {
	echo "usage: fuzz/run.sh [SECONDS|-runs=N] [target...]" >&2
	exit 2
}

limit="-max_total_time=60"
case "${1:-}" in
-h | --help) usage ;;
-runs=*)
	n=${1#-runs=}
	case $n in '' | *[!0-9]*) usage ;; esac
	limit="-runs=$n"
	shift
	;;
'' | *[!0-9]*) ;;
*)
	limit="-max_total_time=$1"
	shift
	;;
esac

if [ $# -eq 0 ]; then
	for f in fuzz/fuzz_*.c; do
		t=${f#fuzz/fuzz_}
		set -- "$@" "${t%.c}"
	done
fi
for t in "$@"; do
	if [ ! -f "fuzz/fuzz_$t.c" ]; then
		echo "run.sh: no target '$t' (fuzz/fuzz_$t.c)" >&2
		usage
	fi
done

# ---- build --------------------------------------------------------------

build=${FUZZ_BUILD:-build-fuzz}
work=$(mktemp -d "${TMPDIR:-/tmp}/hvs-fuzz.XXXXXX")
opts="-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
-Dtests=false -Dtools=disabled"
if [ ! -f "$build/build.ninja" ]; then
	rm -rf "$build"
	# shellcheck disable=SC2086
	if ! CC=${FUZZ_CC:-clang} meson setup "$build" $opts \
	    >"$work/setup.log" 2>&1; then
		cat "$work/setup.log" >&2
		echo "run.sh: meson setup failed (log: $work/setup.log)" >&2
		exit 1
	fi
else
	# shellcheck disable=SC2086
	if ! meson configure "$build" $opts >"$work/setup.log" 2>&1; then
		cat "$work/setup.log" >&2
		echo "run.sh: cannot configure $build (not a clang build?" \
		    "remove it)" >&2
		exit 1
	fi
fi
targets=""
for t in "$@"; do
	targets="$targets fuzz/fuzz_$t"
done
# shellcheck disable=SC2086
if ! ninja -C "$build" $targets >"$work/build.log" 2>&1; then
	tail -n 60 "$work/build.log" >&2
	echo "run.sh: build failed (log: $work/build.log)" >&2
	exit 1
fi

# ---- run ----------------------------------------------------------------

# A sanitizer report is a crash: UBSan stops at the first one (the targets
# are also built with -fno-sanitize-recover=all), ASan checks leaks at exit.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

stat_of() {	# key, log
	sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

status=0
for t in "$@"; do
	dir="$work/$t"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	if [ -d "fuzz/corpus/$t" ]; then
		cp -R "fuzz/corpus/$t/." "$dir/corpus/"
	fi
	dict="fuzz/dict/$t.dict"
	[ -f "$dict" ] || dict=fuzz/dict/addr.dict
	case $t in
	addr) max_len=1100 ;; # beyond HVS_ADDR_MAXLEN (1024)
	guid) max_len=128 ;;
	config) max_len=2048 ;; # real files are smaller; speed matters
	*) max_len=8192 ;;
	esac
	nseeds=$(find "$dir/corpus" -type f | wc -l)
	start=$(date +%s)
	rc=0
	# shellcheck disable=SC2086
	"$build/fuzz/fuzz_$t" $limit -max_len=$max_len -dict="$top/$dict" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$dir/artifacts/" ${FUZZ_FLAGS:-} \
	    "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
	secs=$(($(date +%s) - start))

	execs=$(stat_of number_of_executed_units "$dir/log")
	rate=$(stat_of average_exec_per_sec "$dir/log")
	cov=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -n 1 |
	    sed -n 's/.*\(cov: [0-9]*\) \(ft: [0-9]*\) \(corp: [^ ]*\).*/\1 \2 \3/p')
	ncorp=$(find "$dir/corpus" -type f | wc -l)
	bad=""
	if [ "$rc" -ne 0 ]; then
		bad="exit $rc"
	fi
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer|check failed:|deadly signal|ALARM: working on the last Unit' "$dir/log"; then
		bad="${bad:+$bad, }sanitizer/libFuzzer report"
	fi
	if [ -n "$(ls -A "$dir/artifacts")" ]; then
		bad="${bad:+$bad, }artifacts"
	fi
	printf 'fuzz_%s: %s executions in %ss (%s exec/s), %s, corpus %s -> %s files: %s\n' \
	    "$t" "${execs:-?}" "$secs" "${rate:-?}" "${cov:-cov: ?}" \
	    "$nseeds" "$ncorp" "${bad:-OK}"
	if [ -n "$bad" ]; then
		status=1
		echo "--- fuzz_$t: last lines of $dir/log" >&2
		tail -n 60 "$dir/log" >&2
		for a in "$dir"/artifacts/*; do
			[ -e "$a" ] || continue
			echo "--- reproducer: $a" >&2
			echo "    replay: $build/fuzz/fuzz_$t $a" >&2
		done
	fi
done

if [ "$status" -ne 0 ] || [ "${FUZZ_KEEP:-0}" = 1 ]; then
	echo "run.sh: logs, grown corpora and reproducers kept in $work" >&2
else
	rm -rf "$work"
fi
exit $status
