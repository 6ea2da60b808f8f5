#!/bin/sh
# SPDX-License-Identifier: MIT
# Cross-build the Windows dependencies (libevent, inih, cmocka) from
# Debian's source packages with mingw-w64, once, into a prefix outside
# the clone.
#
# Usage: scripts/win-deps.sh            build if missing, print the prefix
#        scripts/win-deps.sh --prefix   print the prefix only
#
# The prefix is $HVSOCK_CACHE/win64-<key> (HVSOCK_CACHE defaults to
# /var/cache/hvsock), where <key> names the source package versions, the
# mingw-w64 compiler version and RECIPE, the number of this script's way
# of building (raise it with every change to how anything is built): a
# change to any of them builds a new prefix, and a prefix that exists is
# complete (it is built aside and renamed into place last). Deleting the
# cache is always safe: the next run builds it again (a few minutes).
#
# Needs root the first time (apt-get). Run by scripts/test.sh and
# scripts/win-build.sh; nothing here is needed when Windows is not built.
set -eu

LIBEVENT_VERSION=2.1.12-stable-8
CMOCKA_VERSION=1.1.5-2.1
# bookworm's libinih (55-1) source is no longer in the archive; trixie's
# 59-1 is, and builds unchanged for Windows.
INIH_VERSION=59-1
TRIPLET=x86_64-w64-mingw32
RECIPE=1

here=$(cd "$(dirname "$0")" && pwd)
cache=${HVSOCK_CACHE:-/var/cache/hvsock}
ccver=$($TRIPLET-gcc -dumpversion 2>/dev/null || echo none)
key="libevent-$LIBEVENT_VERSION.inih-$INIH_VERSION.cmocka-$CMOCKA_VERSION.gcc-$ccver.r$RECIPE"
prefix="$cache/win64-$key"

name=win-deps
lock=.win64.lock
# shellcheck source=scripts/cross-deps.sh
. "$here/cross-deps.sh"
cross_deps_start "$@"
cross_deps_lock

# Debian packages: the cross compiler, cmake and meson to build, wine to
# run the results, dpkg-dev for dpkg-source.
cross_deps_apt mingw-w64 cmake meson ninja-build pkg-config wine wine64 \
	dpkg-dev xz-utils
cross_deps_fetch "libevent=$LIBEVENT_VERSION" "libinih=$INIH_VERSION" \
	"cmocka=$CMOCKA_VERSION"

toolchain="$work/mingw.cmake"
cat >"$toolchain" <<EOF
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER $TRIPLET-gcc)
set(CMAKE_RC_COMPILER $TRIPLET-windres)
set(CMAKE_FIND_ROOT_PATH /usr/$TRIPLET)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
EOF

# libevent_core: the tools link it in statically (one .exe to copy), the
# libhvsock DLL uses the DLL so that a program linking both shares one
# libevent.
cross_deps_libevent "$toolchain"
mkdir -p "$stage/bin"
cp "$b_ev"/bin/libevent_core*.dll "$stage/bin/" 2>/dev/null ||
	cp "$b_ev"/lib/libevent_core*.dll "$stage/bin/"

# inih: static.
cat >"$work/meson-cross.ini" <<EOF
[binaries]
c = '$TRIPLET-gcc'
ar = '$TRIPLET-ar'
strip = '$TRIPLET-strip'
[host_machine]
system = 'windows'
cpu_family = 'x86_64'
cpu = 'x86_64'
endian = 'little'
EOF
cross_deps_inih static "$work/meson-cross.ini"

# cmocka: static only, so that test programs run under wine without a
# DLL path.
cmocka_build() {
	cross_deps_cmake "$work/cmocka-1.1.5" "$work/cmocka-build" \
		-DWITH_STATIC_LIB=ON \
		-DWITH_EXAMPLES=OFF \
		-DUNIT_TESTING=OFF \
		-DBUILD_SHARED_LIBS=OFF &&
		cmake --build "$work/cmocka-build" -j "$jobs" &&
		cmake --install "$work/cmocka-build"
}
cross_deps_step cmocka cmocka_build

# libevent's generated .pc files are wrong for mingw: they say
# "-Lws2_32 -Lshell32 -Ladvapi32" where "-l" is meant, and they lack
# iphlpapi (if_nametoindex). Fix them here, not in the meson files.
pcdir="$stage/lib/pkgconfig"
for pc in "$pcdir"/libevent*.pc; do
	sed -i -e 's/-L\(ws2_32\|shell32\|advapi32\|iphlpapi\)\b/-l\1/g' "$pc"
	if grep -q '^Libs.private:' "$pc"; then
		grep -q -- '-liphlpapi' "$pc" ||
			sed -i 's/^Libs.private:.*/& -liphlpapi/' "$pc"
	else
		echo "Libs.private: -lws2_32 -lshell32 -ladvapi32 -liphlpapi" >>"$pc"
	fi
done
cross_deps_relocate
# cmocka built static only: make -lcmocka find the static archive.
if [ ! -f "$stage/lib/libcmocka.a" ] && [ -f "$stage/lib/libcmocka-static.a" ]; then
	cp "$stage/lib/libcmocka-static.a" "$stage/lib/libcmocka.a"
fi
rm -f "$stage"/lib/*cmocka*.dll.a "$stage"/bin/*cmocka*.dll

# A pkg-config that sees this prefix only, so the build machine's
# libraries are never picked up for Windows.
cat >"$stage/bin/$TRIPLET-pkg-config" <<EOF
#!/bin/sh
# pkg-config for $TRIPLET: this prefix only (written by win-deps.sh).
here=\$(cd "\$(dirname "\$0")/.." && pwd)
PKG_CONFIG_LIBDIR="\$here/lib/pkgconfig"
PKG_CONFIG_PATH=
PKG_CONFIG_SYSROOT_DIR=
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
exec pkg-config --define-variable=prefix="\$here" "\$@"
EOF
chmod +x "$stage/bin/$TRIPLET-pkg-config"
cross_deps_done
