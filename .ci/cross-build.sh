#!/bin/bash
# SPDX-License-Identifier: MIT
# Cross-build libhvsock for 64-bit Windows with mingw-w64 and check that
# the DLL, its import library and the static library come out, with every
# warning an error.
#
# Usage: .ci/cross-build.sh [BUILD_DIR] [extra meson setup options...]
# Needs: meson, ninja, x86_64-w64-mingw32-gcc (Debian: gcc-mingw-w64-x86-64).
# The event loop needs libevent built for Windows, which CI does not have:
# -Dloop=disabled builds the portable core and the Windows backend.
set -euo pipefail

cd "$(dirname "$0")/.."

builddir=${1:-build-win64}
if [ $# -gt 0 ]; then
	shift
fi

for tool in meson ninja x86_64-w64-mingw32-gcc; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "cross-build: $tool not found" >&2
		exit 2
	fi
done

# From scratch each time: a configured directory may hold other options.
wipe=
if [ -d "$builddir/meson-private" ]; then
	wipe=--wipe
elif [ -e "$builddir" ]; then
	echo "cross-build: $builddir exists and is not a meson build directory" >&2
	exit 2
fi
meson setup $wipe "$builddir" \
	--cross-file cross/mingw-w64.txt \
	-Dloop=disabled \
	-Dtools=disabled \
	-Dtests=false \
	-Dwerror=true \
	-Ddefault_library=both \
	"$@"

# Warnings are errors already; also fail on any warning the linker or a
# non-compiler step prints.
log="$builddir/cross-build.log"
ninja -C "$builddir" 2>&1 | tee "$log"
if grep -qi 'warning' "$log"; then
	echo "cross-build: warnings in the build log (see $log)" >&2
	exit 1
fi

missing=0
for f in libhvsock-0.dll libhvsock.dll.a libhvsock.a; do
	path="$builddir/lib/libhvsock/$f"
	if [ ! -f "$path" ]; then
		echo "cross-build: missing $path" >&2
		missing=1
	fi
done
if [ "$missing" -ne 0 ]; then
	exit 1
fi

# The DLL must export the public API and nothing else.
dll="$builddir/lib/libhvsock/libhvsock-0.dll"
if command -v x86_64-w64-mingw32-objdump >/dev/null 2>&1; then
	exports=$(x86_64-w64-mingw32-objdump -p "$dll" |
		sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
		awk '/^[[:space:]]*\[ *[0-9]+\]/ { print $NF }')
	if [ -z "$exports" ]; then
		echo "cross-build: $dll exports nothing" >&2
		exit 1
	fi
	bad=$(printf '%s\n' "$exports" | grep -v '^hvs_' || true)
	if [ -n "$bad" ]; then
		echo "cross-build: $dll exports non-public symbols:" >&2
		printf '  %s\n' $bad >&2
		exit 1
	fi
	echo "cross-build: $dll exports $(printf '%s\n' "$exports" | wc -l) hvs_* symbols"
fi
# hvproxy's Windows host side (hvsock:wsl:PORT, bin/hvproxy/wsl.c) needs
# libevent, which Debian has no mingw build of: compile it with the
# Windows compiler for errors and warnings only (-fsyntax-only), against
# Debian's libevent headers with a Windows event-config.h from cross/.
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
mkdir "$shim/event2"
for h in /usr/include/event2/*.h; do
	[ "$(basename "$h")" = event-config.h ] || ln -s "$h" "$shim/event2/"
done
cp cross/libevent-win-shim/event2/event-config.h "$shim/event2/"
x86_64-w64-mingw32-gcc -std=c11 -fsyntax-only -Werror -Wall -Wextra \
	-Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wold-style-definition -Wvla -Wpointer-arith -Wundef \
	-Wno-unused-parameter -Wno-missing-field-initializers \
	-D_WIN32_WINNT=0x0A00 -DWIN32_LEAN_AND_MEAN \
	-Iinclude -I"$builddir/include" -I"$shim" -Ibin -Ibin/hvproxy \
	bin/hvproxy/wsl.c
echo "cross-build: bin/hvproxy/wsl.c compiles for Windows (syntax only)"
echo "cross-build: ok ($builddir)"
