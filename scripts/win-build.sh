#!/bin/sh
# SPDX-License-Identifier: MIT
# Configure (once) and build the whole Windows tree: library, hvcat.exe,
# hvproxy.exe and the tests, cross-compiled with mingw-w64 against
# libevent, inih and cmocka built from Debian's source packages
# (scripts/win-deps.sh). `meson test -C BUILD` then runs the Windows test
# programs under wine (cross/wine-run is meson's exe_wrapper).
#
# Usage: scripts/win-build.sh [BUILD_DIR [meson setup options...]]
#        BUILD_DIR defaults to build-win64; options only apply to a new
#        directory (-Dwerror=true is the default).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-build-win64}
if [ $# -gt 0 ]; then
	shift
fi

prefix=$(sh "$top/scripts/win-deps.sh")

if [ ! -d "$builddir/meson-private" ]; then
	if [ -e "$builddir" ] && [ ! -f "$builddir/win64-machine.ini" ]; then
		echo "win-build: $builddir exists and is not a build directory" >&2
		exit 2
	fi
	mkdir -p "$builddir"
	# The machine-specific half of the cross setup: where the Windows
	# pkg-config and wine wrapper are (absolute paths, so it is written
	# per build directory; cross/mingw-w64.txt has the rest).
	cat >"$builddir/win64-machine.ini" <<INI
[binaries]
pkgconfig = '$prefix/bin/x86_64-w64-mingw32-pkg-config'
pkg-config = '$prefix/bin/x86_64-w64-mingw32-pkg-config'
exe_wrapper = '$top/cross/wine-run'
INI
	meson setup "$builddir" "$top" \
		--cross-file "$top/cross/mingw-w64.txt" \
		--cross-file "$builddir/win64-machine.ini" \
		-Dwerror=true -Dvm_tests=disabled "$@"
fi
ninja -C "$builddir"
