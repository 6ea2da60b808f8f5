#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The FreeBSD port's packing list against what meson installs.
#
#   sh scripts/freebsd-plist-check.sh DESTDIR [PREFIX]
#
# DESTDIR is where `meson install --destdir DESTDIR` put a build
# configured with --prefix PREFIX (default /usr/local); the FreeBSD
# leg (scripts/freebsd-check.sh) makes one. Every file under
# DESTDIR/PREFIX must be in dist/freebsd/net/hvsock/pkg-plist and every
# file there must be installed, once the list is read as the ports
# framework reads it and the install is taken as the framework stages
# it:
#   - %%PORTDOCS%% is empty (the DOCS option is on by default) and
#     %%DOCSDIR%% is the Makefile's DOCSDIR; another %%VAR%% is an error;
#   - @comment, @dir and @exec-style lines name no file; @sample names
#     its first path, (owner,group,mode) is dropped;
#   - man pages under share/man are compressed (NAME.N.gz);
#   - a .pc file in lib/pkgconfig is taken as libdata/pkgconfig, where
#     meson puts it when it runs on FreeBSD (an older meson on another
#     system looks at the build machine, not the host, and uses the
#     libdir, as Debian 12's meson 1.0 does: said in a note);
#   - the files the Makefile installs itself (post-install:
#     ${INSTALL_*} ${WRKSRC}/FROM ${STAGEDIR}${PREFIX}/TO) are added,
#     once FROM is found in the source tree;
#   - each USE_RC_SUBR script (etc/rc.d/NAME, from FILESDIR/NAME.in) is
#     added to the package by the framework: it must exist and must not
#     be in pkg-plist.
# Prints the files missing from pkg-plist and those listed but not
# installed, and exits 1 if there is one; 2 for a bad argument.
# HVSOCK_PORT_DIR names another port folder (the tests use a copy).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
port=${HVSOCK_PORT_DIR:-$top/dist/freebsd/net/hvsock}
plist=${port#"$top"/}/pkg-plist

usage() {
	echo "usage: sh scripts/freebsd-plist-check.sh DESTDIR [PREFIX]" >&2
	echo "  DESTDIR: where 'meson install --destdir' put the build;" \
	    "PREFIX: its --prefix (default /usr/local)" >&2
	exit 2
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	usage
fi
destdir=$1
prefix=${2:-/usr/local}
case $prefix in
/*) ;;
*)
	echo "freebsd-plist-check: PREFIX '$prefix' is not an absolute" \
	    "path (expected e.g. /usr/local)" >&2
	exit 2
	;;
esac
root=$destdir$prefix
if [ ! -d "$root" ]; then
	echo "freebsd-plist-check: $root is not a folder: DESTDIR must be" \
	    "where 'meson install --destdir DESTDIR' put a build with" \
	    "--prefix $prefix" >&2
	exit 2
fi
for f in Makefile pkg-plist; do
	if [ ! -f "$port/$f" ]; then
		echo "freebsd-plist-check: no $port/$f" >&2
		exit 2
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The Makefile with its continued lines joined.
awk '/\\$/ { sub(/\\$/, ""); printf "%s", $0; next } { print }' \
    "$port/Makefile" >"$tmp/mk"

# A variable of the Makefile (NAME= value), ${PORTNAME}, ${DISTVERSION}
# and ${PREFIX}/ in it expanded (the last to nothing: plist paths are
# relative to the prefix).
# shellcheck disable=SC2016
mkvar() {
	sed -n "s/^$1[?]*=[[:space:]]*//p" "$tmp/mk" | tail -n 1 |
	    sed -e "s|\${PORTNAME}|$portname|g" \
		-e "s|\${DISTVERSION}|$distversion|g" \
		-e 's|\${PREFIX}/||g' -e 's/[[:space:]]*$//'
}
portname=""
distversion=""
portname=$(mkvar PORTNAME)
distversion=$(mkvar DISTVERSION)
docsdir=$(mkvar DOCSDIR)
[ -n "$docsdir" ] || docsdir=share/doc/$portname
filesdir=$(mkvar FILESDIR | sed "s|\${.CURDIR}|$port|g")
[ -n "$filesdir" ] || filesdir=$port/files
rcsubr=$(mkvar USE_RC_SUBR)
problems=0

# pkg-plist as paths relative to the prefix.
: >"$tmp/plist"
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=$(printf '%s\n' "$line" |
	    sed -e 's/%%PORTDOCS%%//g' -e "s|%%DOCSDIR%%|$docsdir|g")
	case $line in
	*%%*%%*)
		echo "pkg-plist:$lineno: '$line': a %%VARIABLE%% this check" \
		    "does not know (it knows PORTDOCS and DOCSDIR)"
		problems=$((problems + 1))
		continue
		;;
	'' | @comment* | @dir* | @exec* | @unexec* | @preexec* | \
	    @postexec* | @preunexec* | @postunexec* | @mode* | @owner* | \
	    @group*)
		continue
		;;
	@sample*)
		# @sample[(o,g,m)] FILE.sample [TARGET]
		set -f
		# shellcheck disable=SC2086
		set -- ${line#@sample*[ 	]}
		set +f
		line=$1
		;;
	@\(*)
		line=${line#*) }
		;;
	@*)
		echo "pkg-plist:$lineno: '$line': a keyword this check does" \
		    "not know"
		problems=$((problems + 1))
		continue
		;;
	esac
	case $line in
	/*)
		echo "pkg-plist:$lineno: '$line': an absolute path (plist" \
		    "paths are relative to the prefix)"
		problems=$((problems + 1))
		continue
		;;
	esac
	printf '%s\n' "$line" >>"$tmp/plist"
done <"$port/pkg-plist"

# What the framework packs: the install, staged.
(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./||') \
    >"$tmp/raw"
: >"$tmp/staged"
pcnote=""
while IFS= read -r f; do
	case $f in
	share/man/man*/*.gz) ;;
	share/man/man*/*) f=$f.gz ;;
	lib/pkgconfig/*.pc)
		pcnote="$pcnote ${f#lib/pkgconfig/}"
		f=libdata/pkgconfig/${f#lib/pkgconfig/}
		;;
	esac
	printf '%s\n' "$f" >>"$tmp/staged"
done <"$tmp/raw"
# Outside the prefix, nothing: a package installs under PREFIX only.
(cd "$destdir" && find . \( -type f -o -type l \) | sed 's|^\.||') |
    while IFS= read -r f; do
	case $f in
	"$prefix"/*) ;;
	*) echo "$f" ;;
	esac
done >"$tmp/outside"

# The Makefile's own installs.
# shellcheck disable=SC2016
grep -E '\$\{INSTALL_(DATA|PROGRAM|SCRIPT|MAN|LIB)\}' "$tmp/mk" |
    sed -n 's|.*${WRKSRC}/\([^[:space:]]*\)[[:space:]][[:space:]]*${STAGEDIR}${PREFIX}/\([^[:space:]]*\).*|\1 \2|p' \
    >"$tmp/own"
while read -r from to; do
	if [ ! -f "$top/$from" ]; then
		echo "Makefile: installs \${WRKSRC}/$from, which is not in" \
		    "the source tree"
		problems=$((problems + 1))
	fi
	printf '%s\n' "$to" >>"$tmp/staged"
done <"$tmp/own"

# USE_RC_SUBR: added by the framework, never listed.
for rc in $rcsubr; do
	if [ ! -f "$filesdir/$rc.in" ]; then
		echo "Makefile: USE_RC_SUBR=$rc but there is no" \
		    "$filesdir/$rc.in"
		problems=$((problems + 1))
	fi
	if grep -qx "etc/rc.d/$rc" "$tmp/plist"; then
		echo "pkg-plist: etc/rc.d/$rc is added by USE_RC_SUBR; listing" \
		    "it too puts it in the package twice"
		problems=$((problems + 1))
	else
		printf '%s\n' "etc/rc.d/$rc" >>"$tmp/plist"
	fi
	printf '%s\n' "etc/rc.d/$rc" >>"$tmp/staged"
done

sort -u "$tmp/plist" >"$tmp/plist.s"
sort -u "$tmp/staged" >"$tmp/staged.s"
comm -23 "$tmp/staged.s" "$tmp/plist.s" >"$tmp/unlisted"
comm -13 "$tmp/staged.s" "$tmp/plist.s" >"$tmp/missing"
dups=$(sort "$tmp/plist" | uniq -d)

if [ -n "$pcnote" ]; then
	echo "note: meson put${pcnote} in lib/pkgconfig; a build on" \
	    "FreeBSD (the port's) puts it in libdata/pkgconfig, as" \
	    "pkg-plist says"
fi
if [ -s "$tmp/unlisted" ]; then
	echo "installed under $prefix but not in pkg-plist" \
	    "(add them to $plist):"
	sed 's/^/  + /' "$tmp/unlisted"
	problems=$((problems + $(wc -l <"$tmp/unlisted")))
fi
if [ -s "$tmp/missing" ]; then
	echo "in pkg-plist but not installed (remove them from" \
	    "$plist, or install them):"
	sed 's/^/  - /' "$tmp/missing"
	problems=$((problems + $(wc -l <"$tmp/missing")))
fi
if [ -n "$dups" ]; then
	echo "listed twice in pkg-plist:"
	printf '%s\n' "$dups" | sed 's/^/  = /'
	problems=$((problems + 1))
fi
if [ -s "$tmp/outside" ]; then
	echo "installed outside the prefix $prefix (a package cannot" \
	    "carry them):"
	sed 's/^/  ! /' "$tmp/outside"
	problems=$((problems + $(wc -l <"$tmp/outside")))
fi
n=$(grep -cvx "etc/rc.d/${rcsubr%% *}" "$tmp/plist.s" || :)
if [ "$problems" -gt 0 ]; then
	echo "freebsd-plist-check: $problems problem(s); pkg-plist" \
	    "($n files) does not match the install in $root"
	exit 1
fi
echo "freebsd-plist-check: pkg-plist matches the install in $root" \
    "($n files, the rc.d script${rcsubr:+ $rcsubr} besides)"
