#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The license line of every source file (the project is MIT: LICENSE).
#
#   sh scripts/spdx.sh --check   list the tracked source files without
#                                "SPDX-License-Identifier: MIT" in their
#                                first 3 lines; exit 1 if there is one
#   sh scripts/spdx.sh --add     give each of them the line, in its own
#                                comment syntax
#
# Source files are the tracked C sources and headers (also *.h.in and the
# linker version script *.map), Python, shell (by name, or a #! line
# naming sh, bash or python), meson.build, meson_options.txt and the man
# pages (*.1 ... *.8), and the FreeBSD port (dist/freebsd: its rc.d
# script *.in, Makefile, pkg-message, pkg-plist). Data is left alone: fuzz
# corpora and dictionaries, benchmark results, configuration examples,
# systemd units, Markdown, LICENSE, the port's pkg-descr (plain text
# that pkg shows as it is).
#
# Where the line goes:
#   C, *.map      /* SPDX-License-Identifier: MIT */  as line 1
#   sh, Python,   # SPDX-License-Identifier: MIT      as line 1, or after
#   meson                                             the #! line and a
#                                                     Python coding line
#   man pages     .\" SPDX-License-Identifier: MIT    as line 1, or after
#                                                     a '\" preprocessor
#                                                     line
#   pkg-plist     @comment SPDX-License-Identifier: MIT  as line 1
set -eu
cd "$(dirname "$0")/.."

tag='SPDX-License-Identifier: MIT'

usage() {
	echo "usage: sh scripts/spdx.sh --check | --add" >&2
	exit 2
}
[ $# -eq 1 ] || usage
case $1 in
--check | --add) mode=$1 ;;
*) usage ;;
esac

# The comment style of file $1: c, hash, man, or nothing (not a source).
style() {
	case $1 in
	fuzz/corpus/* | fuzz/dict/* | bench/results/*) return ;;
	dist/freebsd/*/pkg-descr) return ;;
	dist/freebsd/*/pkg-plist)
		echo plist
		return
		;;
	dist/freebsd/*.in | dist/freebsd/*/Makefile | \
	    dist/freebsd/*/pkg-message)
		echo hash
		return
		;;
	esac
	case ${1##*/} in
	*.c | *.h | *.h.in | *.map) echo c ;;
	*.py | *.sh | meson.build | meson_options.txt) echo hash ;;
	*.[1-8]) echo man ;;
	*.*) ;;
	*)
		# No extension: a script if its #! line says so.
		if head -n 1 "$1" | grep -Eq '^#!.*(/|env )(ba)?sh|^#!.*python'; then
			echo hash
		fi
		;;
	esac
}

# 1 if file $1 has the tag in its first 3 lines.
tagged() {
	head -n 3 "$1" | grep -q "$tag"
}

# Insert the line into $1 in style $2, keeping the file's mode.
add() {
	tmp=$(mktemp)
	case $2 in
	c) line="/* $tag */" ;;
	hash) line="# $tag" ;;
	man) line=".\\\" $tag" ;;
	plist) line="@comment $tag" ;;
	esac
	# The line goes after a leading #! line, then after a Python
	# coding declaration (PEP 263: line 1 or 2), or after a man page's
	# '\" preprocessor line; otherwise first.
	LINE=$line STYLE=$2 awk '
	BEGIN {
		line = ENVIRON["LINE"]
		style = ENVIRON["STYLE"]
	}
	function skip(s) {
		if (NR == 1 && style == "hash" && s ~ /^#!/) {
			return 1
		}
		if (NR <= 2 && style == "hash" &&
		    s ~ /^[ \t\f]*#.*coding[:=][ \t]*[-_.a-zA-Z0-9]+/) {
			return 1
		}
		if (NR == 1 && style == "man" && s ~ /^'"'"'\\"/) {
			return 1
		}
		return 0
	}
	!done && !skip($0) {
		print line
		done = 1
	}
	{ print }
	END {
		if (!done) {
			print line
		}
	}' "$1" >"$tmp"
	cat "$tmp" >"$1"
	rm -f "$tmp"
}

missing=0
git ls-files | {
	while IFS= read -r f; do
		[ -f "$f" ] || continue
		s=$(style "$f")
		[ -n "$s" ] || continue
		tagged "$f" && continue
		if [ "$mode" = --add ]; then
			add "$f" "$s"
			echo "spdx: added to $f"
		else
			echo "spdx: no '$tag' in the first 3 lines of $f"
			missing=$((missing + 1))
		fi
	done
	if [ "$missing" -gt 0 ]; then
		echo "spdx: $missing file(s) without the license line;" \
		    "'sh scripts/spdx.sh --add' adds it" >&2
		exit 1
	fi
}
