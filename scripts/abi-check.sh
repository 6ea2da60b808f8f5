#!/bin/sh
# SPDX-License-Identifier: MIT
# The ABI check (the abi-check test runs this): the public ABI of a
# built libhvsock.so, as abidw describes it (functions, variables and the
# types of include/hvsock/ they reach; the library's internal types do
# not count), against the baseline abi/libhvsock.abi.
#
#   - identical, or only additions (new functions): passes;
#   - something removed or changed (a function gone, a parameter or a
#     struct's size or layout changed: abidiff's exit bit
#     ABIDIFF_ABI_INCOMPATIBLE_CHANGE, or any removed or changed entry in
#     its report) while the soname is the baseline's: fails, printing
#     abidiff's report;
#   - the soname differs from the baseline's (abi_version in meson.build
#     was bumped): passes, saying that the baseline must be rewritten.
#
# Usage: sh scripts/abi-check.sh [--update] BUILDDIR|LIBRARY
#   BUILDDIR   a meson build directory (its lib/libhvsock/libhvsock.so)
#   LIBRARY    the built shared library itself
#   --update   rewrite abi/libhvsock.abi from that library instead (after
#              an addition, or a break with abi_version bumped); use a
#              plain gcc build with debug info (meson's default
#              debugoptimized), not a sanitized one.
# Exit status: 0 compatible (or baseline rewritten), 1 incompatible or an
# error, 2 usage, 77 skipped: abigail-tools not installed (in CI, CI=true,
# that fails instead), or a library abidw cannot describe comparably (no
# debug info, a sanitizer's build, not ELF, not x86_64).
set -eu
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
baseline=$top/abi/libhvsock.abi
update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
usage() {
	echo "usage: sh scripts/abi-check.sh [--update] BUILDDIR|LIBRARY" >&2
	exit 2
}
[ $# -eq 1 ] || usage
case $1 in
-*) usage ;;
esac
if [ -d "$1" ]; then
	lib=$1/lib/libhvsock/libhvsock.so
else
	lib=$1
fi
if [ ! -f "$lib" ]; then
	echo "abi-check: $lib: no such library (expected a meson build" \
	    "directory or the built libhvsock.so)" >&2
	exit 2
fi

skip() {
	echo "abi-check: $*: skipped"
	if [ "$update" -eq 1 ]; then
		echo "abi-check: the baseline was not rewritten" >&2
		exit 1
	fi
	exit 77
}

for t in abidw abidiff readelf; do
	if ! command -v "$t" >/dev/null 2>&1; then
		# CI installs them (scripts/deps.sh): a skip there would
		# hide an ABI break for good.
		if [ "${CI:-}" = true ] || [ "$update" -eq 1 ]; then
			echo "abi-check: $t not found, and this check needs it" \
			    "(apt-get install abigail-tools binutils," \
			    "scripts/deps.sh)" >&2
			exit 1
		fi
		skip "$t not found (apt-get install abigail-tools)"
	fi
done

# What abidw reads must be comparable with the baseline's library.
hdr=$(readelf -h "$lib" 2>/dev/null) || skip "$lib: not an ELF library"
echo "$hdr" | grep -q 'Machine:.*X86-64' ||
    skip "$lib: not x86_64 (the baseline describes an x86_64 library)"
readelf -S -W "$lib" | grep -q ' \.debug_info ' ||
    skip "$lib: no debug info (build with -g, e.g. meson's default" \
	"buildtype debugoptimized)"
# Sanitizers instrument the library (ASan's globals, redzones): its
# description differs from a plain build's. The gcc and clang builds
# without a sanitizer check the ABI.
if readelf -s -W --dyn-syms "$lib" |
    grep -q ' __\(asan\|ubsan\|tsan\|msan\)_'; then
	skip "$lib: built with a sanitizer, whose instrumentation changes" \
	    "the ABI description (the plain builds check it)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Stable output: no corpus path, compilation directory or locations
# (no build directory or source path in the file), only what the
# library exports and the public headers' types.
abidw --headers-dir "$top/include/hvsock" --drop-private-types \
    --exported-interfaces-only --drop-undefined-syms \
    --no-corpus-path --no-comp-dir-path --no-show-locs --short-locs \
    --no-elf-needed \
    --out-file "$tmp/new.abi" "$lib"

if [ "$update" -eq 1 ]; then
	mkdir -p "$(dirname "$baseline")"
	cp "$tmp/new.abi" "$baseline"
	echo "abi-check: $baseline rewritten from $lib (commit it with" \
	    "the change)"
	exit 0
fi

if [ ! -f "$baseline" ]; then
	echo "abi-check: $baseline is missing (sh scripts/abi-check.sh" \
	    "--update BUILDDIR writes it)" >&2
	exit 1
fi

soname_of() {
	sed -n "s/^<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$1" | head -n 1
}
old_soname=$(soname_of "$baseline")
new_soname=$(soname_of "$tmp/new.abi")

# abidiff's exit status is a bit field: 1 error, 2 usage error, 4 an ABI
# change, 8 an incompatible ABI change.
rc=0
abidiff "$baseline" "$tmp/new.abi" >"$tmp/report" 2>&1 || rc=$?
if [ $((rc & 3)) -ne 0 ]; then
	cat "$tmp/report"
	echo "abi-check: abidiff failed (exit status $rc)" >&2
	exit 1
fi

# abidiff flags removals as incompatible but a changed struct size or
# parameter only as a change: any removed or changed entry its summary
# lines count ("N Removed", "N Changed": net of what it filtered out as
# harmless) breaks the ABI too. Additions alone do not.
broken=$(awk '
/changes summary:/ {
	for (i = 2; i <= NF; i++) {
		if ($i ~ /^(Removed|Changed)/ && $(i - 1) + 0 > 0)
			n++
	}
}
END { print n + 0 }' "$tmp/report")
if [ $((rc & 8)) -ne 0 ]; then
	broken=$((broken + 1))
fi

if [ "$old_soname" != "$new_soname" ]; then
	[ ! -s "$tmp/report" ] || cat "$tmp/report"
	echo "abi-check: the soname is $new_soname, the baseline's" \
	    "$old_soname: an ABI number bump, so anything may change; now" \
	    "rewrite the baseline: sh scripts/abi-check.sh --update BUILDDIR"
	exit 0
fi
if [ "$broken" -gt 0 ]; then
	cat "$tmp/report"
	echo "abi-check: FAILED: the ABI of $new_soname changed" \
	    "incompatibly (above: removed or changed entries; abidiff exit" \
	    "status $rc) while the soname stayed the same. Undo the" \
	    "change, or bump abi_version in meson.build (CONTRIBUTING.md," \
	    "Releasing) and rewrite the baseline: sh scripts/abi-check.sh" \
	    "--update BUILDDIR" >&2
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	cat "$tmp/report"
	echo "abi-check: ok: $new_soname only gained (above); rewrite the" \
	    "baseline to keep them: sh scripts/abi-check.sh --update BUILDDIR"
	exit 0
fi
echo "abi-check: ok: $new_soname matches abi/libhvsock.abi"
