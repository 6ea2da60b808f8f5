#!/bin/sh
# SPDX-License-Identifier: MIT
# Check the Debian packages that scripts/deb-build.sh left in OUTDIR, as
# their users get them, without installing anything on this machine: each
# .deb is unpacked (dpkg -x) into a throwaway root, and
#   - each package has the files it should, and only those: libhvsock0
#     the shared library, libhvsock-dev the headers, the .so link, the
#     static library, libhvsock.pc and the API manual (every name of the
#     NAME sections of man/*.3: a page or a link to one), hvsock-tools hvcat, hvproxy, their
#     man pages, the systemd units and the example configuration; no file
#     is in two packages, none ships a conffile (no /etc/hvproxy.conf)
#   - hvsock-tools' maintainer scripts neither enable nor start hvproxy
#   - hvcat --version and hvproxy --version of the unpacked programs, run
#     against the unpacked library (LD_LIBRARY_PATH; ldd must resolve
#     libhvsock.so.0 there), print the package's upstream version
#   - a program calling hvs_version() and examples/hvs-expose.c (a daemon
#     on the public API and libevent) compile and link with nothing but
#     `pkg-config --cflags --libs libhvsock` pointed into the root
#     (PKG_CONFIG_SYSROOT_DIR, PKG_CONFIG_LIBDIR: a libhvsock installed on
#     this machine is never found); the first runs and prints the version,
#     the second relays a line between two loopback TCP sockets
#   - the static library links too (pkg-config --static)
#
# Usage: scripts/deb-check.sh OUTDIR
set -eu
export LC_ALL=C.UTF-8

top=$(cd "$(dirname "$0")/.." && pwd)
name=deb-check
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: sh scripts/deb-check.sh OUTDIR (a folder with the .debs" \
	    "of scripts/deb-build.sh)" >&2
	exit 2
fi
out=$(cd "$1" && pwd)

fails=0
fail() {
	echo "$name: FAIL: $*" >&2
	fails=$((fails + 1))
}
ok() { echo "$name: ok: $*"; }

ma=$(dpkg-architecture -q DEB_HOST_MULTIARCH)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)

# The newest .deb of package $1 in OUTDIR.
deb_of() {
	# shellcheck disable=SC2012
	ls -t "$out/$1"_*_"$arch".deb 2>/dev/null | head -n 1
}
lib=$(deb_of libhvsock0)
dev=$(deb_of libhvsock-dev)
tools=$(deb_of hvsock-tools)
for d in "$lib" "$dev" "$tools"; do
	if [ -z "$d" ]; then
		echo "$name: $out lacks one of libhvsock0, libhvsock-dev," \
		    "hvsock-tools (.deb for $arch): run scripts/deb-build.sh" \
		    "$out first" >&2
		exit 2
	fi
done
version=$(dpkg-deb -f "$lib" Version)
upstream=${version%-*}
for d in "$dev" "$tools"; do
	v=$(dpkg-deb -f "$d" Version)
	[ "$v" = "$version" ] || fail "$(basename "$d") is $v, libhvsock0 $version"
done
echo "$name: checking $version: $(basename "$lib") $(basename "$dev")" \
    "$(basename "$tools")"

tmp=$(mktemp -d /tmp/deb-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

# The files (not folders) of .deb $1, one path a line, without "./".
files_of() {
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ {
		p = $6; sub(/^\.\//, "", p); print p }' | sort
}

# Package $1 (.deb $2) has exactly the files listed on stdin.
expect_files() {
	sort >"$tmp/want"
	files_of "$2" >"$tmp/have"
	if cmp -s "$tmp/want" "$tmp/have"; then
		ok "$1: $(wc -l <"$tmp/have") files, as expected"
	else
		fail "$1: files differ from the expected list" \
		    "(- expected, + in the package):"
		diff -u "$tmp/want" "$tmp/have" | sed -n '3,$p' >&2 || true
	fi
}

# The API manual as installed: each name of a page's NAME section is the
# page or a link to it (scripts/man-check.sh keeps man/meson.build so).
man3_files() {
	for page in "$top"/man/*.3; do
		awk '/^\.Sh / { in_name = ($2 == "NAME"); next }
		in_name && /^\.Nm / {
			print "usr/share/man/man3/" $2 ".3.gz" }' "$page"
	done
}

so=usr/lib/$ma
expect_files libhvsock0 "$lib" <<EOF
$so/libhvsock.so.0
$so/libhvsock.so.$upstream
usr/share/doc/libhvsock0/changelog.Debian.gz
usr/share/doc/libhvsock0/copyright
usr/share/lintian/overrides/libhvsock0
EOF
expect_files libhvsock-dev "$dev" <<EOF
usr/include/hvsock/hvsock.h
usr/include/hvsock/loop.h
usr/include/hvsock/version.h
$so/libhvsock.a
$so/libhvsock.so
$so/pkgconfig/libhvsock.pc
usr/share/doc/libhvsock-dev/changelog.Debian.gz
usr/share/doc/libhvsock-dev/copyright
usr/share/lintian/overrides/libhvsock-dev
$(man3_files)
EOF
expect_files hvsock-tools "$tools" <<EOF
lib/systemd/system/hvproxy.service
lib/systemd/system/hvproxy@.service
lib/systemd/system/hvproxy@.socket
usr/bin/hvcat
usr/sbin/hvproxy
usr/share/doc/hvsock-tools/README.Debian
usr/share/doc/hvsock-tools/changelog.Debian.gz
usr/share/doc/hvsock-tools/copyright
usr/share/doc/hvsock-tools/examples/hvproxy.conf.example
usr/share/lintian/overrides/hvsock-tools
usr/share/man/man1/hvcat.1.gz
usr/share/man/man8/hvproxy.8.gz
EOF

for d in "$lib" "$dev" "$tools"; do
	p=$(dpkg-deb -f "$d" Package)
	if dpkg-deb --info "$d" conffiles >/dev/null 2>&1; then
		fail "$p ships conffiles: $(dpkg-deb --info "$d" conffiles |
		    tr '\n' ' ')"
	fi
	mkdir -p "$tmp/ctl/$p"
	dpkg-deb -e "$d" "$tmp/ctl/$p"
	dpkg -x "$d" "$root"
done
ok "no package ships a conffile"

# The unit is neither enabled nor started at installation: the postinst
# only re-enables what the administrator had enabled (was-enabled) and
# only restarts what runs (try-restart).
post=$tmp/ctl/hvsock-tools/postinst
if [ ! -f "$post" ]; then
	fail "hvsock-tools has no postinst"
elif grep -q 'deb-systemd-invoke start\|deb-systemd-invoke restart\|postinst-systemd-enable' "$post" ||
    ! grep -q "try-restart 'hvproxy.service'" "$post" ||
    ! grep -q 'was-enabled' "$post"; then
	fail "hvsock-tools' postinst may enable or start hvproxy:"
	cat "$post" >&2
else
	ok "hvsock-tools' postinst neither enables nor starts hvproxy" \
	    "(try-restart on upgrade)"
fi
if ! grep -q "deb-systemd-invoke stop 'hvproxy@\*.socket'" \
    "$tmp/ctl/hvsock-tools/prerm" 2>/dev/null; then
	fail "hvsock-tools' prerm does not stop the hvproxy units on removal"
else
	ok "hvsock-tools' prerm stops hvproxy and its instances on removal"
fi

# The programs, against the unpacked library.
libdir=$root/$so
for prog in usr/bin/hvcat usr/sbin/hvproxy; do
	p=${prog##*/}
	resolved=$(LD_LIBRARY_PATH=$libdir ldd "$root/$prog" |
	    awk '$1 == "libhvsock.so.0" { print $3 }')
	case $resolved in
	"$libdir"/*) ;;
	*) fail "$p: libhvsock.so.0 resolves to '$resolved', not $libdir" ;;
	esac
	rc=0
	v=$(LD_LIBRARY_PATH=$libdir "$root/$prog" --version 2>&1) || rc=$?
	if [ "$rc" -eq 0 ] && echo "$v" | grep -q "$upstream"; then
		ok "$p --version: $(echo "$v" | head -n 1)"
	else
		fail "$p --version exited $rc, printed '$v'" \
		    "(expected $upstream)"
	fi
done

# pkg-config sees the root only: its libhvsock.pc, with every path under
# the root; libevent_core.pc is the system's (libevent-dev, which
# libhvsock-dev depends on).
export PKG_CONFIG_SYSROOT_DIR="$root"
export PKG_CONFIG_LIBDIR="$root/$so/pkgconfig:/usr/lib/$ma/pkgconfig:/usr/share/pkgconfig"
pcv=$(pkg-config --modversion libhvsock) || pcv=none
[ "$pcv" = "$upstream" ] || fail "pkg-config --modversion libhvsock: $pcv"
flags=$(pkg-config --cflags --libs libhvsock)
case $flags in
*"-I$root/usr/include"*"-L$root/$so"*) ok "pkg-config: $flags" ;;
*) fail "pkg-config --cflags --libs libhvsock: '$flags' does not point" \
    "into $root" ;;
esac

cat >"$tmp/ver.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <hvsock/hvsock.h>

int
main(void)
{
	hvs_addr_t a;
	int rc = hvs_addr_parse_str(&a, "tcp:127.0.0.1:80", HVS_ROLE_CONNECT,
	    NULL);
	printf("%s\n", hvs_version());
	return strcmp(hvs_version(), HVS_VERSION) != 0 || rc != 0;
}
EOF
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror -o "$tmp/ver" "$tmp/ver.c" $flags; then
	rc=0
	v=$(LD_LIBRARY_PATH=$libdir "$tmp/ver") || rc=$?
	if [ "$rc" -eq 0 ] && [ "$v" = "$upstream" ]; then
		ok "a program on hvs_version() builds and prints $v"
	else
		fail "hvs_version() program exited $rc, printed '$v'" \
		    "(expected $upstream, and HVS_VERSION the same)"
	fi
else
	fail "a program on hvs_version() does not compile with" \
	    "pkg-config --cflags --libs libhvsock"
fi

# Statically: libhvsock.a and libevent_core's static libraries.
sflags=$(pkg-config --static --libs libhvsock)
cflags=$(pkg-config --cflags libhvsock)
# shellcheck disable=SC2086
if cc -std=c11 -o "$tmp/ver-static" "$tmp/ver.c" $cflags \
    -Wl,-Bstatic $sflags -Wl,-Bdynamic -pthread &&
    [ "$("$tmp/ver-static")" = "$upstream" ] &&
    ! ldd "$tmp/ver-static" | grep -q libhvsock; then
	ok "libhvsock.a links (pkg-config --static), the program runs" \
	    "without libhvsock.so"
else
	fail "linking libhvsock.a with pkg-config --static --libs libhvsock"
fi

# examples/hvs-expose.c, a daemon on the public API: built against the
# packages, it relays a line between two loopback TCP sockets. It is
# compiled as the project compiles it: -std=c11 with _GNU_SOURCE, without
# which <unistd.h> hides POSIX's getopt().
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Werror -D_GNU_SOURCE -o "$tmp/hvs-expose" \
    "$top/examples/hvs-expose.c" $flags; then
	if LD_LIBRARY_PATH=$libdir python3 - "$tmp/hvs-expose" <<'EOF'
import socket
import subprocess
import sys

# The target: a loopback server that answers a line with it reversed.
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(30)
port = srv.getsockname()[1]
p = subprocess.Popen([sys.argv[1], "-n", "1", "tcp:127.0.0.1:0",
                      "tcp:127.0.0.1:%d" % port],
                     stdout=subprocess.PIPE, text=True)
try:
    line = p.stdout.readline().strip()
    assert line.startswith("listening on tcp:"), line
    lport = int(line.rsplit(":", 1)[1])
    c = socket.create_connection(("127.0.0.1", lport), timeout=30)
    c.sendall(b"hello libhvsock\n")
    c.shutdown(socket.SHUT_WR)
    s, _ = srv.accept()
    s.settimeout(30)
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.sendall(data[::-1])
    s.close()
    reply = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        reply += chunk
    assert reply == b"\nkcosvhbil olleh", reply
    assert p.wait(timeout=30) == 0, "hvs-expose exit status"
finally:
    if p.poll() is None:
        p.kill()
        p.wait()
EOF
	then
		ok "examples/hvs-expose.c builds against the packages and" \
		    "relays tcp -> tcp on loopback"
	else
		fail "examples/hvs-expose.c, built against the packages," \
		    "did not relay"
	fi
else
	fail "examples/hvs-expose.c does not compile with" \
	    "pkg-config --cflags --libs libhvsock"
fi

if [ "$fails" -gt 0 ]; then
	echo "$name: $fails check(s) failed" >&2
	exit 1
fi
echo "$name: all checks passed"
