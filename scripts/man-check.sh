#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual's checks (the man-lint test runs this):
#
#   1. mandoc -Tlint -W warning on every page in man/ and on the tools'
#      pages, bin/hvcat/hvcat.1 and bin/hvproxy/hvproxy.8: any warning
#      fails;
#   2. every exported function has a page: it is a name in the NAME
#      section of a page in man/. The exported functions are those the
#      public headers declare with HVS_EXPORT, the ones
#      debian/libhvsock0.symbols lists, and, given LIBRARY, the hvs_*
#      symbols the built library exports (libhvsock.map lets out every
#      hvs_* symbol); each missing one is named;
#   3. every hvs_* name of a NAME section is an exported function (no
#      page for something gone), and man/meson.build installs each page
#      and a link under every other name of its NAME section (no more,
#      no less), so that `man NAME` finds it;
#   4. each page's .Dt is its file name, and every .Xr to a section 3
#      hvs_* page names a page or a link;
#   5. hvs_strerror.3 lists every code of HVS_ERRNO_MAP.
#
# Usage: sh scripts/man-check.sh [LIBRARY]
#   LIBRARY    the built shared library, e.g. build/lib/libhvsock/libhvsock.so
# Exit status: 0 all good, 1 a check failed, 77 mandoc is not installed
# (the test is skipped: `apt-get install mandoc`, scripts/deps.sh; in CI,
# CI=true, that fails instead).
set -eu
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-} in
-*)
	echo "usage: sh scripts/man-check.sh [LIBRARY]" >&2
	exit 2
	;;
esac
lib=${1:-}
# Relative to where we were called from (meson: the build directory).
case $lib in
'' | /*) ;;
*) lib=$(pwd)/$lib ;;
esac
cd "$top"

if ! command -v mandoc >/dev/null 2>&1; then
	# CI installs it (scripts/deps.sh): a skip there would hide the
	# manual's checks for good.
	if [ "${CI:-}" = true ]; then
		echo "man-check: mandoc not found, and CI needs these checks" \
		    "(scripts/deps.sh installs it)"
		exit 1
	fi
	echo "man-check: mandoc not found (apt-get install mandoc):" \
	    "skipped"
	exit 77
fi

fail=0
bad() {
	echo "man-check: $*"
	fail=1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. lint
n=0
for page in man/*.3 bin/hvcat/hvcat.1 bin/hvproxy/hvproxy.8; do
	n=$((n + 1))
	if ! mandoc -Tlint -W warning "$page" >"$tmp/lint" 2>&1 ||
	    [ -s "$tmp/lint" ]; then
		cat "$tmp/lint"
		bad "$page: mandoc -Tlint -W warning reports the above"
	fi
done
echo "man-check: $n pages linted"

# The names of each page's NAME section: "page name" lines.
for page in man/*.3; do
	awk -v page="${page#man/}" '
	/^\.Sh / { in_name = ($2 == "NAME") ; next }
	in_name && /^\.Nm / { print page, $2 }' "$page"
done | sort -u >"$tmp/names"
cut -d' ' -f2 "$tmp/names" | sort -u >"$tmp/documented"

# The exported functions.
for h in include/hvsock/*.h; do
	grep '^HVS_EXPORT' "$h" | grep -o 'hvs_[a-z0-9_]*(' | head -n 1000 |
	    tr -d '(' || true
done >"$tmp/exported.all"
if [ -f debian/libhvsock0.symbols ]; then
	sed -n 's/^ \(hvs_[a-z0-9_]*\)@.*/\1/p' debian/libhvsock0.symbols \
	    >>"$tmp/exported.all"
fi
if [ -n "$lib" ]; then
	if [ ! -f "$lib" ]; then
		bad "$lib: no such library"
	elif ! command -v nm >/dev/null 2>&1; then
		echo "man-check: no nm: $lib's symbols not read"
	else
		nm -D --defined-only "$lib" | awk '{ print $NF }' |
		    sed -n 's/^\(hvs_[a-z0-9_]*\)\(@.*\)\{0,1\}$/\1/p' \
		    >>"$tmp/exported.all"
	fi
fi
sort -u "$tmp/exported.all" >"$tmp/exported"
if [ ! -s "$tmp/exported" ]; then
	bad "no exported function found in include/hvsock/*.h"
fi

# 2. every export has a page
missing=$(comm -23 "$tmp/exported" "$tmp/documented")
for s in $missing; do
	bad "$s: exported but on no page (add it to a page's NAME" \
	    "section and its link to man/meson.build)"
done
echo "man-check: $(wc -l <"$tmp/exported") exported functions," \
    "$(wc -l <"$tmp/documented") names on $(ls man/*.3 | wc -l) pages"

# 3. no stale names; meson installs every page and every link
grep '^hvs_' "$tmp/documented" | comm -23 - "$tmp/exported" |
    while read -r s; do
	echo "man-check: $s: on a page but not exported"
	echo x >>"$tmp/stale"
done
[ ! -f "$tmp/stale" ] || fail=1

awk '
/^man3_[a-z]+ = \{/ { in_dict = 1; next }
in_dict && /^\}/ { in_dict = 0; next }
in_dict {
	line = $0
	while (match(line, /\047[^\047]+\047/)) {
		tok = substr(line, RSTART + 1, RLENGTH - 2)
		line = substr(line, RSTART + RLENGTH)
		if (tok ~ /\.3$/) {
			page = tok
			print page, "-"
		} else {
			print page, tok
		}
	}
}' man/meson.build | sort -u >"$tmp/meson"

for page in man/*.3; do
	p=${page#man/}
	if ! grep -q "^$p -\$" "$tmp/meson"; then
		bad "$p: not installed (add it to a list in man/meson.build)"
		continue
	fi
	# What the page names besides itself, and what meson links to it.
	grep "^$p " "$tmp/names" | cut -d' ' -f2 | grep -vx "${p%.3}" |
	    sort >"$tmp/want" || true
	grep "^$p " "$tmp/meson" | cut -d' ' -f2 | grep -vx -- - |
	    sort >"$tmp/have" || true
	for s in $(comm -23 "$tmp/want" "$tmp/have"); do
		bad "$p: names $s, but man/meson.build installs no link" \
		    "$s.3 to it"
	done
	for s in $(comm -13 "$tmp/want" "$tmp/have"); do
		bad "$p: man/meson.build links $s.3 to it, but its NAME" \
		    "section does not name $s"
	done
	if ! grep "^$p " "$tmp/names" | grep -q " ${p%.3}\$"; then
		bad "$p: its NAME section does not name ${p%.3}"
	fi
done
grep ' -$' "$tmp/meson" | cut -d' ' -f1 | while read -r p; do
	[ -f "man/$p" ] || echo "man-check: man/meson.build installs $p," \
	    "which is not in man/" >>"$tmp/gone"
done
if [ -f "$tmp/gone" ]; then
	cat "$tmp/gone"
	fail=1
fi

# 4. .Dt, and cross references to the library's pages
for page in man/*.3; do
	p=${page#man/}
	want=$(echo "${p%.3}" | tr '[:lower:]' '[:upper:]')
	if ! grep -qx "\\.Dt $want 3" "$page"; then
		bad "$p: expected '.Dt $want 3'"
	fi
	for x in $(sed -n 's/^\.Xr \(hvs_[a-z0-9_]*\) 3.*/\1/p' "$page" |
	    sort -u); do
		grep -qx "$x" "$tmp/documented" ||
		    bad "$p: .Xr $x 3: no such page or link"
	done
done

# 5. the error codes
sed -n '/^#define HVS_ERRNO_MAP/,/clang-format on/p' \
    include/hvsock/hvsock.h | grep -o 'XX([A-Z0-9_]*' | sed 's/XX(//' |
    sort -u >"$tmp/codes"
sed -n 's/^\.It Dv HVS_\([A-Z0-9_]*\) .*/\1/p' man/hvs_strerror.3 |
    sort -u >"$tmp/listed"
for c in $(comm -23 "$tmp/codes" "$tmp/listed"); do
	bad "hvs_strerror.3: HVS_$c is not listed (.It Dv HVS_$c ...)"
done
echo "man-check: $(wc -l <"$tmp/codes") error codes in HVS_ERRNO_MAP"

if [ "$fail" -ne 0 ]; then
	echo "man-check: FAILED"
	exit 1
fi
echo "man-check: ok"
