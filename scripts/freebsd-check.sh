#!/bin/sh
# SPDX-License-Identifier: MIT
# Check a FreeBSD build (scripts/freebsd-build.sh BUILD_DIR) by what came
# out, since nothing of it can run here: it is installed with
# `meson install --destdir BUILD_DIR/destdir` (prefix /usr/local, as a
# FreeBSD package has it; scripts/freebsd-plist-check.sh compares that
# tree with the port's pkg-plist), and then
#   - every ELF file installed is an x86-64 FreeBSD one (OS/ABI FreeBSD),
#     and every program carries the FreeBSD ABI note (NT_FREEBSD_ABI_TAG
#     in .note.tag) that FreeBSD's kernel runs programs by; the shared
#     library has the note where the sysroot's start files give it one
#   - every NEEDED entry is a library that the sysroot or the FreeBSD
#     dependencies (scripts/freebsd-deps.sh) have, or libhvsock itself,
#     and no RUNPATH names a folder of the build machine
#   - every symbol version asked for is one that library defines (libc's
#     are FBSD_1.x, never GLIBC_), and every undefined symbol is one
#     that a library it links exports, with that version
#   - the static library libhvsock.a has FreeBSD objects only, and each
#     symbol they leave undefined is defined by another of its objects
#     or exported by the sysroot's libraries or libevent: a Linux-only
#     or glibc-only call (splice, epoll_*, sendfile64, __libc_start_main)
#     is found even though no program here links the archive.
# The lists compared with are read from the sysroot's and dependencies'
# libraries (llvm-nm -D), none is kept here.
#
# Usage: scripts/freebsd-check.sh BUILD_DIR
set -eu
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
name=freebsd-check
if [ $# -ne 1 ] || [ ! -d "$1/meson-private" ]; then
	echo "usage: scripts/freebsd-check.sh BUILD_DIR (a build directory" \
	    "made by scripts/freebsd-build.sh)" >&2
	exit 2
fi
build=$(cd "$1" && pwd)

# shellcheck source=scripts/freebsd-sysroot.sh
. "$top/scripts/freebsd-sysroot.sh"
freebsd_sysroot
deps=$(sh "$top/scripts/freebsd-deps.sh" --prefix)
for t in llvm-readelf llvm-nm; do
	if ! command -v "$t" >/dev/null; then
		echo "$name: $t not found (Debian package llvm;" \
		    "scripts/freebsd-deps.sh installs it)" >&2
		exit 2
	fi
done

fails=0
fail() {
	echo "$name: FAIL: $*" >&2
	fails=$((fails + 1))
}
ok() { echo "$name: ok: $*"; }
# The words of stdin, sorted, once each, on one line.
words() { tr ' ' '\n' | sort -u | grep . | tr '\n' ' ' | sed 's/ $//'; }

dest=$build/destdir
rm -rf "$dest"
meson install -C "$build" --no-rebuild --destdir "$dest" >"$build/install.log" 2>&1 || {
	tail -n 40 "$build/install.log" >&2
	echo "$name: meson install --destdir $dest failed" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# The shared objects a FreeBSD program here may load: the sysroot's, the
# dependencies' and the ones installed; their sonames and exports.
: >"$tmp/libs"
for f in "$sysroot"/lib/lib*.so.* "$sysroot"/usr/lib/lib*.so.* \
    "$sysroot"/libexec/ld-elf.so.1 \
    "$deps"/lib/lib*.so.*; do
	[ -f "$f" ] && [ ! -L "$f" ] && is_elf "$f" && echo "$f" >>"$tmp/libs"
done
find "$dest" -type f -name 'lib*.so*' >"$tmp/own-libs"
cat "$tmp/own-libs" >>"$tmp/libs"
: >"$tmp/sonames"
while read -r f; do
	so=$(llvm-readelf -d "$f" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	echo "${so:-${f##*/}} $f" >>"$tmp/sonames"
done <"$tmp/libs"

# exports SONAME...: "symbol" and "symbol@VERSION" lines of what the
# named libraries export (the default version as well as older ones).
exports() {
	for so in "$@"; do
		f=$(awk -v s="$so" '$1 == s { print $2; exit }' "$tmp/sonames")
		[ -n "$f" ] || continue
		llvm-nm -D --defined-only "$f" | awk '{
			s = $NF; sub(/@@/, "@", s); print s
			n = s; sub(/@.*/, "", n); print n }'
	done | sort -u
}

# check_elf FILE: one installed ELF file.
check_elf() {
	f=$1
	rel=${f#"$dest"}
	fails0=$fails
	hdr=$(llvm-readelf -h "$f")
	echo "$hdr" | grep -q 'OS/ABI:.*FreeBSD' ||
		fail "$rel: OS/ABI is not FreeBSD"
	echo "$hdr" | grep -q 'Machine:.*X86-64' ||
		fail "$rel: not an x86-64 file"
	dyn=$(llvm-readelf -d "$f")
	if echo "$dyn" | grep -q '(FLAGS_1).*PIE' ||
	    ! echo "$dyn" | grep -q '(SONAME)'; then
		kind=program
	else
		kind=library
	fi
	notes=$(llvm-readelf -n "$f")
	if echo "$notes" | grep -q 'NT_FREEBSD_ABI_TAG' &&
	    echo "$notes" | grep -q '\.note\.tag'; then
		abi=$(echo "$notes" | sed -n 's/.*ABI tag: *//p' | head -n 1)
		ok "$rel: FreeBSD ABI note (ABI tag $abi)"
	elif [ "$kind" = program ]; then
		fail "$rel: no FreeBSD ABI note (NT_FREEBSD_ABI_TAG in .note.tag)"
	else
		echo "$name: note: $rel: no ABI note (the sysroot's crti.o" \
		    "gives shared libraries none; OS/ABI is checked)"
	fi

	# NEEDED: libraries that exist for FreeBSD here.
	needed=$(echo "$dyn" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	for so in $needed; do
		grep -q "^$so " "$tmp/sonames" ||
			fail "$rel: NEEDED $so is no library of the sysroot," \
			    "the FreeBSD dependencies or this build"
	done
	# shellcheck disable=SC2016 # $ORIGIN is the dynamic linker's
	echo "$dyn" | grep -E '\((RPATH|RUNPATH)\)' | grep -qvE '\[(\$ORIGIN[^]:]*)?\]' &&
		fail "$rel: RPATH/RUNPATH names a folder of the build machine:" \
		    "$(echo "$dyn" | grep -E '\((RPATH|RUNPATH)\)')"

	# Versions asked for: each defined by the library it is asked of.
	llvm-readelf -V "$f" | sed -n '/Version needs/,$p' | awk '
		/File:/ { for (i = 1; i <= NF; i++) if ($i == "File:") file = $(i + 1) }
		/Name:/ && file != "" { for (i = 1; i <= NF; i++) if ($i == "Name:") print file, $(i + 1) }
	' >"$tmp/vneed"
	vers=""
	while read -r so ver; do
		vers="$vers $ver"
		lib=$(awk -v s="$so" '$1 == s { print $2; exit }' "$tmp/sonames")
		[ -n "$lib" ] || continue
		llvm-readelf -V "$lib" | sed -n '/Version definition/,/Version needs/p' |
			grep -q "Name: $ver\$" ||
			fail "$rel: version $ver is not one $so defines"
	done <"$tmp/vneed"
	case $vers in
	*GLIBC_*) fail "$rel: glibc symbol versions:$vers" ;;
	esac

	# Undefined symbols: each exported by a library it needs.
	# shellcheck disable=SC2086
	exports $needed >"$tmp/exports"
	llvm-nm -D --undefined-only "$f" | awk '$1 == "U" { print $2 }' |
		sort -u >"$tmp/undef"
	missing=$(comm -23 "$tmp/undef" "$tmp/exports" | tr '\n' ' ')
	[ -z "$missing" ] ||
		fail "$rel: undefined symbols no needed library exports: $missing"
	if [ "$fails" -eq "$fails0" ]; then
		ok "$rel: FreeBSD $kind; NEEDED $(echo "$needed" | words);" \
		    "versions $(echo "$vers" | words)"
	fi
}

elves=0
for f in $(find "$dest" -type f | sort); do
	[ ! -L "$f" ] && is_elf "$f" || continue
	elves=$((elves + 1))
	check_elf "$f"
done
[ "$elves" -gt 0 ] || fail "no ELF file installed in $dest"
grep -q . "$tmp/own-libs" || fail "no shared libhvsock installed"

# The static library: FreeBSD objects; what they leave undefined is
# theirs or exported by the sysroot's libraries or libevent_core.
archives=$(find "$dest" -type f -name '*.a')
[ -n "$archives" ] || fail "no static libhvsock.a installed"
cut -d' ' -f1 "$tmp/sonames" | grep -v '^libhvsock' >"$tmp/all-sonames"
# shellcheck disable=SC2046
exports $(cat "$tmp/all-sonames") >"$tmp/all-exports"
for a in $archives; do
	rel=${a#"$dest"}
	llvm-readelf -h "$a" | grep 'OS/ABI:' | grep -qv FreeBSD &&
		fail "$rel: objects that are not FreeBSD ones"
	llvm-nm --defined-only "$a" 2>/dev/null | awk 'NF == 3 { print $3 }' |
		sort -u >"$tmp/a-defined"
	llvm-nm --undefined-only "$a" 2>/dev/null | awk '$1 == "U" { print $2 }' |
		sort -u | comm -23 - "$tmp/a-defined" >"$tmp/a-undef"
	missing=$(comm -23 "$tmp/a-undef" "$tmp/all-exports" | tr '\n' ' ')
	if [ -n "$missing" ]; then
		fail "$rel: calls what FreeBSD 14 does not have: $missing"
	else
		ok "$rel: $(llvm-nm "$a" 2>/dev/null | grep -c ':$') objects," \
		    "$(wc -l <"$tmp/a-undef") outside symbols, all FreeBSD's"
	fi
done

if [ "$fails" -ne 0 ]; then
	echo "$name: $fails problem(s) in $build" >&2
	exit 1
fi
echo "$name: $elves ELF files and the static library fit FreeBSD 14 ($dest)"
# The port's file list is checked apart (scripts/test.sh runs it for the
# build with the tools; a core-only build installs less than the port).
if [ -f "$top/scripts/freebsd-plist-check.sh" ]; then
	echo "$name: the port's file list: sh scripts/freebsd-plist-check.sh $dest"
fi
