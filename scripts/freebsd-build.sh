#!/bin/sh
# SPDX-License-Identifier: MIT
# Configure (once) and build libhvsock, hvcat and hvproxy for FreeBSD 14
# amd64: clang and lld against a FreeBSD 14 sysroot
# ($HVSOCK_FREEBSD_SYSROOT; scripts/freebsd-sysroot.sh) and libevent and
# inih built from Debian's source packages (scripts/freebsd-deps.sh).
# Nothing built here runs on this machine: the build checks that
# everything compiles and links for FreeBSD (scripts/freebsd-check.sh
# then looks at what came out). The tests are not built (they would not
# run), so cmocka is not needed.
#
# Usage: scripts/freebsd-build.sh [BUILD_DIR [meson setup options...]]
#        BUILD_DIR defaults to build-freebsd; options only apply to a new
#        directory (-Dwerror=true -Dtests=false -Ddefault_library=both
#        are the defaults; -Dloop=disabled builds the core alone).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
name=freebsd-build
builddir=${1:-build-freebsd}
if [ $# -gt 0 ]; then
	shift
fi

# shellcheck source=scripts/freebsd-sysroot.sh
. "$top/scripts/freebsd-sysroot.sh"
freebsd_sysroot
prefix=$(sh "$top/scripts/freebsd-deps.sh")

if [ ! -d "$builddir/meson-private" ]; then
	if [ -e "$builddir" ] && [ ! -f "$builddir/freebsd-machine.ini" ]; then
		echo "$name: $builddir exists and is not a build directory" >&2
		exit 2
	fi
	mkdir -p "$builddir"
	# The machine-specific half of the cross setup: where the sysroot
	# and the FreeBSD dependencies are (absolute paths, so it is
	# written per build directory; cross/freebsd-14.txt has the rest).
	freebsd_machine_file "$builddir/freebsd-machine.ini" \
		"$prefix/lib/pkgconfig"
	meson setup "$builddir" "$top" \
		--cross-file "$top/cross/freebsd-14.txt" \
		--cross-file "$builddir/freebsd-machine.ini" \
		-Dwerror=true -Dtests=false -Ddefault_library=both "$@"
fi
ninja -C "$builddir"
