#!/bin/sh
# SPDX-License-Identifier: MIT
# Cross-build the FreeBSD 14 dependencies (libevent_core, inih) from
# Debian's source packages with clang and lld against a FreeBSD 14
# sysroot (scripts/freebsd-sysroot.sh says which), once, into a prefix
# outside the clone. cmocka is not built: the tests are not built for
# FreeBSD (nothing runs against the sysroot's stub libraries).
#
# Usage: scripts/freebsd-deps.sh             build if missing, print the prefix
#        scripts/freebsd-deps.sh --prefix    print the prefix only
#        scripts/freebsd-deps.sh --sysroot   print the sysroot, or say why
#                                            there is none (exit 2)
#
# The prefix is $HVSOCK_CACHE/freebsd14-<key> (HVSOCK_CACHE defaults to
# /var/cache/hvsock), where <key> names the source package versions, the
# clang version and RECIPE, the number of this script's way of building
# (raise it with every change to how anything is built): a change to any
# of them builds a new prefix, and a prefix that exists is complete (it
# is built aside and renamed into place last). Deleting the cache is
# always safe: the next run builds it again (about 2 minutes).
#
# Needs root the first time (apt-get). Run by scripts/test.sh and
# scripts/freebsd-build.sh; nothing here is needed when FreeBSD is not
# built.
set -eu

# The same versions as the Windows build (scripts/win-deps.sh).
LIBEVENT_VERSION=2.1.12-stable-8
INIH_VERSION=59-1
TARGET=x86_64-unknown-freebsd14.0
RECIPE=1

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cache=${HVSOCK_CACHE:-/var/cache/hvsock}
ccver=$(clang -dumpversion 2>/dev/null || echo none)
key="libevent-$LIBEVENT_VERSION.inih-$INIH_VERSION.clang-$ccver.r$RECIPE"
prefix="$cache/freebsd14-$key"

name=freebsd-deps
lock=.freebsd14.lock
# shellcheck source=scripts/cross-deps.sh
. "$here/cross-deps.sh"
# shellcheck source=scripts/freebsd-sysroot.sh
. "$here/freebsd-sysroot.sh"
if [ "${1:-}" = --sysroot ]; then
	freebsd_sysroot
	echo "$sysroot"
	exit 0
fi
cross_deps_start "$@"
freebsd_sysroot
cross_deps_lock

# Debian packages: clang and lld (llvm for llvm-ar) to build for
# FreeBSD, cmake and meson to build, dpkg-dev for dpkg-source.
cross_deps_apt clang lld llvm cmake meson ninja-build pkg-config \
	dpkg-dev xz-utils
cross_deps_fetch "libevent=$LIBEVENT_VERSION" "libinih=$INIH_VERSION"

toolchain="$work/freebsd.cmake"
freebsd_link_names "$work/freebsd-links"
cat >"$toolchain" <<CMAKE
set(CMAKE_SYSTEM_NAME FreeBSD)
set(CMAKE_SYSTEM_PROCESSOR amd64)
set(CMAKE_SYSROOT $sysroot)
set(CMAKE_C_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET $TARGET)
set(CMAKE_AR llvm-ar)
set(CMAKE_RANLIB llvm-ranlib)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld -L$work/freebsd-links")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld -L$work/freebsd-links")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
CMAKE

# libevent_core, static and shared (as FreeBSD's devel/libevent port
# installs it): the library and the tools link the shared one.
cross_deps_libevent "$toolchain"
cp -P "$b_ev"/lib/libevent_core*.so* "$stage/lib/"

# inih, static and shared (as FreeBSD's devel/inih port installs it),
# with the project's own cross file.
freebsd_machine_file "$work/freebsd-machine.ini"
cross_deps_inih both "$top/cross/freebsd-14.txt" "$work/freebsd-machine.ini"

cross_deps_relocate
cross_deps_done
