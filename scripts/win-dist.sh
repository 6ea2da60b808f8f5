#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Windows release archive hvsock-VERSION-win64.zip and check it:
#
#   bin/      hvcat.exe, hvproxy.exe (libhvsock, libevent and inih linked
#             in: each runs alone), libhvsock-0.dll and the libevent DLL
#             it uses (for programs that link the library)
#   lib/      libhvsock.dll.a, the import library, and libevent's
#   include/  hvsock/*.h and libevent's event2/*.h
#   doc/      hvcat.txt, hvproxy.txt (the man pages as text),
#             hvproxy.conf.example, README-windows.txt
#   licenses/ libhvsock, libevent and inih
#
# The check unpacks the zip into an empty folder and runs every .exe in
# it under wine with `--version`, with nothing but the zip's own folders
# on the search path, and fails on a DLL that a program or the library
# imports which is neither in the zip nor part of Windows.
#
# Usage: scripts/win-dist.sh [OUTPUT_DIR]   (default: dist/)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/dist}
build=$top/build-win64-dist

say() { echo "win-dist: $*" >&2; }

prefix=$(sh "$top/scripts/win-deps.sh")
sh "$top/scripts/win-build.sh" "$build" -Dbuildtype=release -Dtests=false \
	-Dstrip=true >&2

version=$(sed -n "s/^[[:space:]]*version: '\([^']*\)',\$/\1/p" \
	"$top/meson.build" | head -n 1)
[ -n "$version" ] || {
	say "no version in meson.build"
	exit 1
}
name=hvsock-$version-win64
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/$name
mkdir -p "$root/bin" "$root/lib" "$root/include/hvsock" "$root/doc" \
	"$root/licenses"

strip=x86_64-w64-mingw32-strip
objdump=x86_64-w64-mingw32-objdump
cp "$build/bin/hvcat/hvcat.exe" "$build/bin/hvproxy/hvproxy.exe" \
	"$build/lib/libhvsock/libhvsock-0.dll" "$root/bin/"
cp "$build/lib/libhvsock/libhvsock.dll.a" "$root/lib/"
cp "$top/include/hvsock/hvsock.h" "$top/include/hvsock/loop.h" \
	"$build/include/hvsock/version.h" "$root/include/hvsock/"

# The libevent DLL(s) the library imports, with their import libraries
# and headers: a program linking libhvsock-0.dll shares that libevent.
for dll in $($objdump -p "$build/lib/libhvsock/libhvsock-0.dll" |
	sed -n 's/^[[:space:]]*DLL Name: //p'); do
	if [ -f "$prefix/bin/$dll" ]; then
		cp "$prefix/bin/$dll" "$root/bin/"
		base=${dll%.dll}
		base=${base%-2-1-*}
		for imp in "$prefix/lib/$base.dll.a" "$prefix/lib/lib$base.dll.a"; do
			[ ! -f "$imp" ] || cp "$imp" "$root/lib/"
		done
	fi
done
cp -r "$prefix/include/event2" "$root/include/"
$strip "$root"/bin/*.dll "$root"/bin/*.exe

# Man pages as plain text (groff: -P-cbou drops the terminal's
# overstriking), with CR LF line ends for Notepad.
for page in bin/hvcat/hvcat.1 bin/hvproxy/hvproxy.8; do
	txt=$root/doc/$(basename "${page%.*}").txt
	groff -t -mandoc -Tutf8 -P-cbou "$top/$page" 2>/dev/null |
		sed 's/$/\r/' >"$txt"
	[ -s "$txt" ] || {
		say "could not format $page"
		exit 1
	}
done
sed 's/$/\r/' "$top/bin/hvproxy/hvproxy.conf.example" \
	>"$root/doc/hvproxy.conf.example"
sed 's/$/\r/' "$top/docs/windows.md" >"$root/README-windows.txt"
sed 's/$/\r/' "$top/LICENSE" >"$root/licenses/libhvsock.txt"
for lic in "$prefix"/share/licenses/*; do
	sed 's/$/\r/' "$lic" >"$root/licenses/$(basename "$lic").txt"
done

mkdir -p "$out"
zip=$out/$name.zip
rm -f "$zip"
(cd "$stage" && python3 - "$name" "$zip" <<'PY'
import os, sys, zipfile
name, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
    for dirpath, dirs, files in os.walk(name):
        dirs.sort()
        for f in sorted(files):
            z.write(os.path.join(dirpath, f))
PY
)
say "wrote $zip"

# --- The check: only the zip's contents, under wine. -------------------
check=$(mktemp -d)
trap 'rm -rf "$stage" "$check"' EXIT
python3 -m zipfile -e "$zip" "$check"
bin=$check/$name/bin

# DLLs every Windows 10 has; anything else must be in bin/.
system_dlls="kernel32.dll ws2_32.dll msvcrt.dll advapi32.dll shell32.dll
iphlpapi.dll bcrypt.dll user32.dll ntdll.dll rpcrt4.dll ole32.dll
crypt32.dll secur32.dll"
bad=0
for f in "$bin"/*.exe "$bin"/*.dll; do
	for dll in $($objdump -p "$f" | sed -n 's/^[[:space:]]*DLL Name: //p'); do
		lower=$(printf '%s' "$dll" | tr '[:upper:]' '[:lower:]')
		case " $(echo $system_dlls) " in
		*" $lower "*) continue ;;
		esac
		case $lower in
		api-ms-win-*) continue ;;
		esac
		if [ ! -f "$bin/$dll" ]; then
			say "$(basename "$f") imports $dll, which is not in the zip"
			bad=1
		fi
	done
done

# The DLL exports the public API and nothing else.
exports=$($objdump -p "$bin/libhvsock-0.dll" |
	sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
	awk '/^[[:space:]]*\[ *[0-9]+\]/ { print $NF }')
if [ -z "$exports" ]; then
	say "libhvsock-0.dll exports nothing"
	bad=1
elif printf '%s\n' "$exports" | grep -qv '^hvs_'; then
	say "libhvsock-0.dll exports non-public symbols:" \
		"$(printf '%s\n' "$exports" | grep -v '^hvs_' | tr '\n' ' ')"
	bad=1
else
	say "libhvsock-0.dll exports $(printf '%s\n' "$exports" | wc -l) hvs_* symbols"
fi

# A developer's program, built from the zip's headers and import
# libraries alone, links the DLLs and uses both (a listener of the
# library on a base of libevent's): run with the .exe files below.
cat >"$check/devcheck.c" <<'C'
#include <winsock2.h>
#include <stdio.h>
#include <string.h>
#include <event2/event.h>
#include <hvsock/hvsock.h>
#include <hvsock/loop.h>

static void
on_accept(hvs_listener_t *l, hvs_sock_t s, const hvs_addr_t *p, void *u)
{
	(void)l;
	(void)s;
	(void)p;
	(void)u;
}

int
main(void)
{
	WSADATA wsa;
	hvs_addr_t a;
	hvs_listener_t *l = NULL;
	struct event_base *base;
	int rc;

	/* libevent needs Winsock started before the first base. */
	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		return 1;
	}
	base = event_base_new();
	if (base == NULL ||
	    hvs_addr_parse_str(&a, "tcp:127.0.0.1:0", HVS_ROLE_LISTEN, NULL) != 0) {
		return 1;
	}
	rc = hvs_listener_new(&l, base, &a, NULL, NULL, on_accept, NULL);
	printf("libhvsock %s, libevent %s, listener: %s\n", hvs_version(),
	    event_get_version(), rc == 0 ? "ok" : hvs_strerror(rc));
	hvs_listener_destroy(l);
	event_base_free(base);
	return rc == 0 ? 0 : 1;
}
C
if ! x86_64-w64-mingw32-gcc -std=c11 -Wall -Werror -o "$bin/devcheck.exe" \
	"$check/devcheck.c" -I"$check/$name/include" -L"$check/$name/lib" \
	-lhvsock -levent_core -lws2_32 2>"$check/devcheck.log"; then
	cat "$check/devcheck.log" >&2
	say "a program cannot be built from the zip's headers and libraries"
	bad=1
fi

# A fresh wine prefix of its own, so that nothing installed earlier can
# stand in for a missing file; WINEPATH empty, run from the bin folder.
HVSOCK_WINEPREFIX=$check/wineprefix
export HVSOCK_WINEPREFIX
WINEPATH=
export WINEPATH
for exe in "$bin"/*.exe; do
	if v=$(cd "$bin" && "$top/cross/wine-run" "./$(basename "$exe")" \
		--version 2>&1 </dev/null); then
		say "$(basename "$exe") --version: $(printf '%s' "$v" | tr -d '\r' | head -n 1)"
	else
		say "$(basename "$exe") --version failed: $v"
		bad=1
	fi
done
wineserver_prefix=$HVSOCK_WINEPREFIX
WINEPREFIX=$wineserver_prefix wineserver -k 2>/dev/null || true
if [ "$bad" -ne 0 ]; then
	say "check FAILED"
	exit 1
fi
say "check ok: $zip"
echo "$zip"
