#!/bin/sh
# SPDX-License-Identifier: MIT
# The library as its users get it: `meson install` into a scratch DESTDIR,
# then the README example compiled and linked with nothing but pkg-config
# and the installed files; and libhvsock consumed as a meson subproject.
# Usage: check-install.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --destdir "$tmp/root" --quiet >/dev/null
pc=$(find "$tmp/root" -name libhvsock.pc | head -n 1)
[ -n "$pc" ] || { echo "no libhvsock.pc installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
python3 "$src/test/readme/extract.py" "$src/README.md" "$tmp/hello.c"
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config \
    --define-variable=prefix="$tmp/root$prefix" --cflags --libs libhvsock)
# A sanitized library needs its runtime in the program too.
san=""
if [ -n "${HVS_SANITIZE:-}" ] && [ "$HVS_SANITIZE" != none ]; then
	san="-fsanitize=$HVS_SANITIZE"
fi
# shellcheck disable=SC2086
cc $san -std=c11 -Wall -Werror -o "$tmp/hello" "$tmp/hello.c" $flags
libdir=$(dirname "$(dirname "$pc")")
rc=0
LD_LIBRARY_PATH="$libdir" "$tmp/hello" "vsock:bogus:1" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || { echo "installed example exited $rc"; cat "$tmp/err"; exit 1; }
grep -q "bad address" "$tmp/err"
echo "installed library: headers, pkg-config and .so work"

# Only hvs_* symbols are exported.
so=$(find "$tmp/root" -name 'libhvsock.so.*.*' | head -n 1)
bad=$(nm -D --defined-only "$so" | awk '$3 !~ /^hvs_/ && $3 != "HVSOCK_0" {print $3}')
[ -z "$bad" ] || { echo "unexpected exported symbols: $bad"; exit 1; }
echo "exports: only hvs_*"

# As a subproject: dependency('libhvsock') is found through
# meson.override_dependency.
mkdir -p "$tmp/sub/subprojects"
ln -s "$src" "$tmp/sub/subprojects/libhvsock"
cp "$tmp/hello.c" "$tmp/sub/hello.c"
cat >"$tmp/sub/meson.build" <<'MESON'
project('consumer', 'c', default_options: ['c_std=c11'])
hvs = dependency('libhvsock', fallback: ['libhvsock', 'libhvsock_dep'],
	default_options: ['tests=false', 'tools=disabled', 'vm_tests=disabled'])
executable('hello', 'hello.c', dependencies: hvs)
MESON
meson setup "$tmp/sub/build" "$tmp/sub" >"$tmp/sub.log" 2>&1 ||
    { cat "$tmp/sub.log"; exit 1; }
ninja -C "$tmp/sub/build" >>"$tmp/sub.log" 2>&1 ||
    { cat "$tmp/sub.log"; exit 1; }
echo "subproject: builds"
