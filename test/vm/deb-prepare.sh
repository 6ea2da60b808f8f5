#!/bin/sh
# SPDX-License-Identifier: MIT
# deb-prepare.sh - run-vm.sh --prepare step of jobs/deb-installed.sh, on
# this machine before the VM boots: copies the newest libhvsock0,
# libhvsock-dev and hvsock-tools .debs of $HVS_DEB_DIR (the OUTDIR of
# scripts/deb-build.sh) into $HVS_VM_STAGE/debs, where the job finds them
# (the VM's /tmp is a fresh tmpfs, so a folder there would not be seen).
#
# Exit 77 (the job is skipped) when HVS_DEB_DIR is not set; 1 when it is
# set but does not hold the three packages of one version.
set -u
me='deb-prepare.sh'

if [ -z "${HVS_DEB_DIR:-}" ]; then
	echo "$me: HVS_DEB_DIR is not set: expected the folder with the" \
	    ".debs of scripts/deb-build.sh (HVS_DEB_DIR=/abs/DIR meson test" \
	    "--suite deb)"
	exit 77
fi
: "${HVS_VM_STAGE:?$me: run by run-vm.sh --prepare}"
case $HVS_DEB_DIR in
/*) ;;
*)
	echo "$me: HVS_DEB_DIR=$HVS_DEB_DIR is relative: expected an" \
	    "absolute path (meson test runs the job from its build folder)"
	exit 1
	;;
esac
if [ ! -d "$HVS_DEB_DIR" ]; then
	echo "$me: HVS_DEB_DIR=$HVS_DEB_DIR is not a folder: expected the" \
	    "OUTDIR of scripts/deb-build.sh"
	exit 1
fi
arch=$(dpkg --print-architecture) || exit 1
stage=$HVS_VM_STAGE/debs
rm -rf "$stage"
mkdir -p "$stage" || exit 1
version=''
for p in libhvsock0 libhvsock-dev hvsock-tools; do
	# shellcheck disable=SC2012 # names without blanks: NAME_VER_ARCH.deb
	deb=$(ls -t "$HVS_DEB_DIR/$p"_*_"$arch".deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		echo "$me: no ${p}_VERSION_$arch.deb in $HVS_DEB_DIR: run" \
		    "scripts/deb-build.sh $HVS_DEB_DIR first"
		exit 1
	fi
	v=$(dpkg-deb -f "$deb" Version) || exit 1
	if [ -n "$version" ] && [ "$v" != "$version" ]; then
		echo "$me: $(basename "$deb") is version $v, libhvsock0 is" \
		    "$version: expected the packages of one build"
		exit 1
	fi
	version=$v
	cp "$deb" "$stage/" || exit 1
	echo "$me: staged $(basename "$deb")"
done
