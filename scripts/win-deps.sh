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

if [ "${1:-}" = --prefix ]; then
	echo "$prefix"
	exit 0
fi
if [ -f "$prefix/.complete" ]; then
	echo "$prefix"
	exit 0
fi

say() { echo "win-deps: $*" >&2; }

# One build at a time: a second caller waits for the first and then
# finds the prefix complete.
mkdir -p "$cache"
exec 9>"$cache/.win64.lock"
if ! flock -n 9; then
	say "waiting for another win-deps.sh run to finish"
	flock 9
fi
if [ -f "$prefix/.complete" ]; then
	echo "$prefix"
	exit 0
fi

# Debian packages: the cross compiler, cmake and meson to build, wine to
# run the results, dpkg-dev for dpkg-source.
pkgs="mingw-w64 cmake meson ninja-build pkg-config wine wine64 dpkg-dev xz-utils"
missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

# Source packages need deb-src entries: bookworm's, and trixie's for
# inih only (apt-get source is given exact versions, so nothing else is
# taken from trixie, and no binary package entry is added). Written once,
# in its own file; the package lists are refreshed only when needed.
srclist=/etc/apt/sources.list.d/hvsock-deb-src.sources
need_update=
if ! apt-cache showsrc libinih 2>/dev/null |
    grep -q "^Version: $INIH_VERSION\$" ||
    ! apt-cache showsrc libevent 2>/dev/null |
    grep -q "^Version: $LIBEVENT_VERSION\$"; then
	if [ ! -f "$srclist" ]; then
		say "adding $srclist (Debian source packages)"
		cat >"$srclist" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	fi
	need_update=1
fi
if [ -n "$missing" ] || [ -n "$need_update" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
fi
if [ -n "$missing" ]; then
	say "installing$missing"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$work/prefix"
jobs=$(nproc 2>/dev/null || echo 2)

cd "$work"
say "fetching libevent $LIBEVENT_VERSION, inih $INIH_VERSION and cmocka $CMOCKA_VERSION sources"
# apt-get source unpacks and applies Debian's patches (dpkg-source -x).
apt-get source -q "libevent=$LIBEVENT_VERSION" "libinih=$INIH_VERSION" \
	"cmocka=$CMOCKA_VERSION" \
	>"$work/source.log" 2>&1 || {
	cat "$work/source.log" >&2
	say "apt-get source failed"
	exit 1
}

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

build() { # name srcdir cmake-options...
	name=$1
	src=$2
	shift 2
	say "building $name (log: $work/$name.log)"
	if ! {
		cmake -S "$src" -B "$work/$name-build" \
			-DCMAKE_TOOLCHAIN_FILE="$toolchain" \
			-DCMAKE_INSTALL_PREFIX="$stage" \
			-DCMAKE_BUILD_TYPE=Release "$@" &&
			cmake --build "$work/$name-build" -j "$jobs" &&
			cmake --install "$work/$name-build"
	} >"$work/$name.log" 2>&1; then
		tail -40 "$work/$name.log" >&2
		say "building $name failed"
		exit 1
	fi
}

# libevent_core only (the loop; no HTTP, DNS or RPC parts), static and
# shared: the tools link it in (one .exe to copy), the libhvsock DLL uses
# the DLL so that a program linking both shares one libevent. Only the
# two core targets are built (a third of the whole), so they are put in
# place by hand rather than by cmake --install.
src=$work/libevent-2.1.12-stable
say "building libevent_core (log: $work/libevent.log)"
if ! {
	cmake -S "$src" -B "$work/libevent-build" \
		-DCMAKE_TOOLCHAIN_FILE="$toolchain" \
		-DCMAKE_INSTALL_PREFIX="$stage" \
		-DCMAKE_BUILD_TYPE=Release \
		-DEVENT__LIBRARY_TYPE=BOTH \
		-DEVENT__DISABLE_OPENSSL=ON \
		-DEVENT__DISABLE_MBEDTLS=ON \
		-DEVENT__DISABLE_TESTS=ON \
		-DEVENT__DISABLE_REGRESS=ON \
		-DEVENT__DISABLE_SAMPLES=ON \
		-DEVENT__DISABLE_BENCHMARK=ON &&
		cmake --build "$work/libevent-build" -j "$jobs" \
			--target event_core_static event_core_shared
} >"$work/libevent.log" 2>&1; then
	tail -40 "$work/libevent.log" >&2
	say "building libevent failed"
	exit 1
fi
b_ev=$work/libevent-build
mkdir -p "$stage/include/event2" "$stage/lib/pkgconfig" "$stage/bin" \
	"$stage/share/licenses"
cp "$src"/include/*.h "$stage/include/"
cp "$src"/include/event2/*.h "$b_ev"/include/event2/*.h "$stage/include/event2/"
cp "$b_ev"/lib/libevent_core*.a "$stage/lib/"
cp "$b_ev"/bin/libevent_core*.dll "$stage/bin/" 2>/dev/null ||
	cp "$b_ev"/lib/libevent_core*.dll "$stage/bin/"
sed -e "s|^prefix=.*|prefix=$stage|" "$b_ev/libevent_core.pc" \
	>"$stage/lib/pkgconfig/libevent_core.pc"
cp "$src/LICENSE" "$stage/share/licenses/libevent"

# inih: static, with upstream's defaults as Debian builds them.
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
say "building inih (log: $work/inih.log)"
if ! {
	meson setup "$work/inih-build" "$work"/libinih-*/ \
		--cross-file "$work/meson-cross.ini" \
		--prefix "$stage" --libdir lib \
		-Dbuildtype=release -Ddefault_library=static \
		-Ddistro_install=true -Dwith_INIReader=false &&
		ninja -C "$work/inih-build" &&
		meson install -C "$work/inih-build"
} >"$work/inih.log" 2>&1; then
	tail -40 "$work/inih.log" >&2
	say "building inih failed"
	exit 1
fi
cp "$work"/libinih-*/LICENSE.txt "$stage/share/licenses/inih"
# Static only: test programs then run under wine without a DLL path.
build cmocka "$work/cmocka-1.1.5" \
	-DWITH_STATIC_LIB=ON \
	-DWITH_EXAMPLES=OFF \
	-DUNIT_TESTING=OFF \
	-DBUILD_SHARED_LIBS=OFF

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
# Every .pc names its own folder, not the path it was built at, so the
# prefix can be renamed into place (and moved).
for pc in "$pcdir"/*.pc; do
	sed -i -e "s|^prefix=.*|prefix=\${pcfiledir}/../..|" \
		-e "/^prefix=/!s|$stage|\${prefix}|g" "$pc"
done
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
printf '%s\n' "$key" >"$stage/.complete"

rm -rf "$prefix"
mv "$stage" "$prefix"
say "done: $prefix"
echo "$prefix"
