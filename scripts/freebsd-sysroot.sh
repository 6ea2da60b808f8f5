# SPDX-License-Identifier: MIT
# shellcheck shell=sh disable=SC2154
# The FreeBSD 14 sysroot that scripts/freebsd-deps.sh and
# scripts/freebsd-build.sh compile and link against, and the meson
# machine file that names it. Sourced, not run; the caller sets top (the
# source tree) and name (for messages).
#
# The sysroot is $HVSOCK_FREEBSD_SYSROOT, by default freebsd-14 in the
# folder "shared" beside the clone: a FreeBSD 14 amd64 sysroot, e.g. one
# made from FreeBSD's base.txz (usr/include, lib and usr/lib with
# libc.so.7 and the crt*.o start files, libexec/ld-elf.so.1).

# clang turns LIBRARY_PATH into -L paths for any target: the build
# machine's libraries must never be linked into FreeBSD programs.
unset LIBRARY_PATH

freebsd_sysroot() {
	sysroot=${HVSOCK_FREEBSD_SYSROOT:-$top/../shared/freebsd-14}
	if { [ ! -f "$sysroot/usr/lib/libc.so.7" ] &&
	    [ ! -f "$sysroot/lib/libc.so.7" ]; } ||
	    [ ! -f "$sysroot/usr/include/sys/param.h" ]; then
		echo "$name: no FreeBSD 14 sysroot at $sysroot (expected" \
		    "usr/include/sys/param.h and libc.so.7 in lib or usr/lib):" \
		    "set HVSOCK_FREEBSD_SYSROOT to one" >&2
		exit 2
	fi
	sysroot=$(cd "$sysroot" && pwd)
}

# freebsd_link_names DIR: -lc and the like open the link names lib*.so,
# symbolic links to the libraries (libc.so -> libc.so.7). A sysroot
# copied without its links has, in their place, files that hold the
# target's name, which the linker reads as a broken linker script: DIR
# gets a linker script of the same name for each (INPUT(libc.so.7),
# found on the library path), to be searched before the sysroot.
freebsd_link_names() {
	mkdir -p "$1"
	for f in "$sysroot"/usr/lib/lib*.so; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		t=$(head -c 64 "$f" | tr -d '\n')
		case $t in
		lib*.so.*) ;;
		*) continue ;;
		esac
		[ -f "$sysroot/usr/lib/$t" ] || continue
		echo "INPUT($t)" >"$1/${f##*/}"
	done
}

# freebsd_machine_file FILE [PKGCONFIG_DIR]: the machine-specific half
# of the cross setup (cross/freebsd-14.txt has the rest): the sysroot,
# the link names (freebsd_link_names, in FILE's folder), and the folder
# where pkg-config finds the FreeBSD dependencies (and nothing of the
# build machine's).
freebsd_machine_file() {
	links=$(cd "$(dirname "$1")" && pwd)/freebsd-links
	freebsd_link_names "$links"
	cat >"$1" <<INI
# Written by $name (scripts/freebsd-sysroot.sh); read after
# cross/freebsd-14.txt, whose constants it extends.
[constants]
sysroot = '$sysroot'

[properties]
# No sys_root: meson would hand it to pkg-config as
# PKG_CONFIG_SYSROOT_DIR, which puts it in front of the dependencies'
# paths, and they are not in the sysroot. The compiler gets it below.
pkg_config_libdir = '${2:-$sysroot/nonexistent}'

[built-in options]
c_args = freebsd_c_args + ['--sysroot=' + sysroot]
c_link_args = freebsd_c_link_args + ['--sysroot=' + sysroot,
	'-L$links']
INI
}
