#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Debian packages (debian/) and check them with lintian:
#
#   libhvsock0      the shared library, libhvsock.so.0*
#   libhvsock-dev   headers, libhvsock.so, libhvsock.a, libhvsock.pc, the
#                   API manual (man3)
#   hvsock-tools    hvcat, hvproxy, their man pages, the systemd units
#
# What the build needs is installed first when it is missing (apt-get, as
# scripts/deps.sh does: run as root). The tree is copied to a scratch
# folder, so that debian/'s build products never land in this clone: the
# tracked files and the untracked ones git does not ignore (a debian/ or a
# source file not yet committed is built too; build directories are not),
# or the commit DEB_BUILD_REF names.
# dpkg-buildpackage -us -uc -b builds there, running the unit suite
# (dh_auto_test) unless DEB_BUILD_OPTIONS has nocheck; lintian then checks
# the .changes and every .deb, with the overrides of debian/.
#
# The .debs, the .changes, the .buildinfo and lintian's output
# (lintian.txt) are left in OUTDIR. Exit status: 0 when the packages
# built and lintian reported no error, 1 otherwise (warnings are allowed:
# each remaining one is justified in debian/), 2 on bad usage.
#
# Usage: scripts/deb-build.sh OUTDIR
#   DEB_BUILD_REF=REF   build commit REF (e.g. HEAD, v0.1.0) instead of
#                       the working tree
#   DEB_BUILD_OPTIONS   passed on (default: parallel=2), e.g. nocheck
#   DEB_KEEP_SCRATCH=1  keep the scratch folder and say where it is
set -eu
export LC_ALL=C.UTF-8

top=$(cd "$(dirname "$0")/.." && pwd)
name=deb-build
say() { echo "$name: $*" >&2; }

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: sh scripts/deb-build.sh OUTDIR (where the .debs go)" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
if [ ! -f "$top/debian/control" ]; then
	say "no debian/control in $top: nothing to build"
	exit 2
fi

# What debian/control's Build-Depends name, and the tools that build and
# check a package. Installed only when missing.
PKGS="build-essential debhelper dpkg-dev fakeroot lintian meson ninja-build
pkgconf libevent-dev libinih-dev libsystemd-dev libcmocka-dev python3"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		say "missing packages:$missing (run as root to install them)"
		exit 1
	fi
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
upstream=${version%-*}
scratch=$(mktemp -d /tmp/deb-build.XXXXXX)
if [ "${DEB_KEEP_SCRATCH:-0}" = 1 ]; then
	trap 'say "scratch folder kept: $scratch"' EXIT
else
	trap 'rm -rf "$scratch"' EXIT
fi
src=$scratch/libhvsock-$upstream
mkdir -p "$src"

# The tree as it is now, without build directories or anything ignored;
# or, with DEB_BUILD_REF, a commit as git has it (other work in progress in
# the clone left out).
if [ -n "${DEB_BUILD_REF:-}" ]; then
	git -C "$top" archive --format=tar "$DEB_BUILD_REF" | tar -C "$src" -xf -
elif git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # $f is the inner sh's
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f";
	        done' sh | tar --null -T - -cf -) | tar -C "$src" -xf -
else
	tar -C "$top" --exclude='./build*' --exclude=./.git -cf - . |
	    tar -C "$src" -xf -
fi

# The packages are named by debian/changelog, the build by meson.build:
# they must say the same version (CONTRIBUTING.md, "Releasing").
meson_version=$(sed -n "s/^[[:space:]]*version: '\([^']*\)',\$/\1/p" \
	"$src/meson.build" | head -n 1)
if [ "$meson_version" != "$upstream" ]; then
	say "FAIL: debian/changelog says $version, meson.build" \
	    "'$meson_version': add a debian/changelog entry for" \
	    "$meson_version-1 (CONTRIBUTING.md, \"Releasing\")"
	exit 1
fi

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}"
say "building $version in $src (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$scratch/build.log" 2>&1
then
	tail -n 60 "$scratch/build.log" >&2
	cp "$scratch/build.log" "$out/build.log"
	say "FAIL: dpkg-buildpackage failed (whole log: $out/build.log)"
	exit 1
fi
built=$(date +%s)
cp "$scratch/build.log" "$out/build.log"
say "dpkg-buildpackage: done in $((built - start)) s"

arch=$(dpkg-architecture -q DEB_HOST_ARCH)
changes=$scratch/libhvsock_${version}_$arch.changes
[ -f "$changes" ] || {
	say "FAIL: no $changes"
	exit 1
}

# Every tag with its explanation, the overridden ones too (O:, each with
# its reason in debian/); --fail-on error: a warning is listed but does
# not fail the build.
rc=0
lintian --info --display-info --show-overrides --fail-on error "$changes" \
	>"$out/lintian.txt" 2>&1 || rc=$?
linted=$(date +%s)
cat "$out/lintian.txt" >&2
say "lintian: done in $((linted - built)) s: $(grep -c '^E: ' \
	"$out/lintian.txt" || true) error(s), $(grep -c '^W: ' \
	"$out/lintian.txt" || true) warning(s), $(grep -c '^I: ' \
	"$out/lintian.txt" || true) info(s), $(grep -c '^O: ' \
	"$out/lintian.txt" || true) overridden (debian/*lintian-overrides)"

for f in "$scratch"/*.deb "$scratch"/*.changes "$scratch"/*.buildinfo; do
	cp "$f" "$out/"
done
ls -l "$out"/*.deb >&2
if [ "$rc" -ne 0 ]; then
	say "FAIL: lintian reported errors (exit $rc): $out/lintian.txt"
	exit 1
fi
say "ok: packages in $out"
