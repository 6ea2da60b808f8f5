#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what building and testing libhvsock needs on Debian 12, and
# nothing when it is all there already. Run as root (CI is).
set -eu

PKGS="build-essential meson ninja-build pkg-config clang clang-format
libevent-dev libcmocka-dev libinih-dev libsystemd-dev
mingw-w64 qemu-system-x86 linux-image-amd64 busybox-static cpio
socat ncat python3 iproute2 openssh-client openssh-server curl valgrind
libclang-rt-14-dev groff-base gnuplot-nox linux-perf xz-utils
debhelper dpkg-dev fakeroot lintian mandoc abigail-tools"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
