# SPDX-License-Identifier: MIT
# shellcheck shell=sh disable=SC2154
# What scripts/win-deps.sh and scripts/freebsd-deps.sh share: building a
# cross prefix of libevent_core and inih from Debian's source packages,
# once, outside the clone. Sourced, not run; the caller sets
#   name            its name, for messages ("win-deps")
#   cache, prefix   the cache folder and the prefix it builds there
#   lock            the lock file's name in $cache
#   key             what the prefix is built from (written to .complete)
#   LIBEVENT_VERSION, INIH_VERSION
# and calls the functions in this order: cross_deps_start,
# cross_deps_lock, cross_deps_apt, cross_deps_fetch, cross_deps_libevent,
# cross_deps_inih, cross_deps_relocate, cross_deps_done.

say() { echo "$name: $*" >&2; }

# cross_deps_start "$@": with --prefix, print the prefix only; a prefix
# that is complete is printed, and there is nothing to build.
cross_deps_start() {
	if [ "${1:-}" = --prefix ] || [ -f "$prefix/.complete" ]; then
		echo "$prefix"
		exit 0
	fi
}

# One build at a time: a second caller waits for the first and then
# finds the prefix complete (and prints it and exits).
cross_deps_lock() {
	mkdir -p "$cache"
	exec 9>"$cache/$lock"
	if ! flock -n 9; then
		say "waiting for another $name.sh run to finish"
		flock 9
	fi
	if [ -f "$prefix/.complete" ]; then
		echo "$prefix"
		exit 0
	fi
}

# Debian packages $@ (what is missing of them), and the deb-src entries
# for libevent and inih: bookworm's, and trixie's for inih only (apt-get
# source is given exact versions, so nothing else is taken from trixie,
# and no binary package entry is added). Written once, in its own file;
# the package lists are refreshed only when needed. One caller at a time
# (scripts/test.sh runs both deps scripts at once; apt-get would fail on
# the other's lock).
cross_deps_apt() {
	exec 8>"$cache/.apt.lock"
	flock 8
	missing=""
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed"; then
			missing="$missing $p"
		fi
	done
	srclist=/etc/apt/sources.list.d/hvsock-deb-src.sources
	need_update=
	if ! apt-cache showsrc libinih 2>/dev/null |
	    grep -q "^Version: $INIH_VERSION\$" ||
	    ! apt-cache showsrc libevent 2>/dev/null |
	    grep -q "^Version: $LIBEVENT_VERSION\$"; then
		if [ ! -f "$srclist" ]; then
			say "adding $srclist (Debian source packages)"
			cat >"$srclist" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
		fi
		need_update=1
	fi
	if [ -n "$missing" ] || [ -n "$need_update" ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >&2
	fi
	if [ -n "$missing" ]; then
		say "installing$missing"
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing >&2
	fi
	exec 8>&-
}

# A work folder in the cache (removed on exit), the prefix staged in it,
# and the sources "pkg=version" $@ unpacked there with Debian's patches
# applied (apt-get source runs dpkg-source -x). Sets work, stage, jobs.
cross_deps_fetch() {
	work=$(mktemp -d "$cache/.build-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	stage="$work/prefix"
	jobs=$(nproc 2>/dev/null || echo 2)
	cd "$work" || exit 1
	say "fetching the sources of $*"
	apt-get source -q "$@" >"$work/source.log" 2>&1 || {
		cat "$work/source.log" >&2
		say "apt-get source failed"
		exit 1
	}
}

# Runs "$@" with its output in $work/$1.log; its tail and exit on failure.
# $1 names what is built.
cross_deps_step() {
	step=$1
	shift
	say "building $step (log: $work/$step.log)"
	if ! "$@" >"$work/$step.log" 2>&1; then
		tail -40 "$work/$step.log" >&2
		say "building $step failed"
		exit 1
	fi
}

# libevent_core only (the loop; no HTTP, DNS or RPC parts), static and
# shared, with the cmake toolchain file $1 and more cmake options $2...
# Only the two core targets are built (a third of the whole), so they
# are put in place by hand rather than by cmake --install: headers, the
# static archive and the .pc file here; the shared library is the
# caller's (its name and folder differ per system). Sets src and b_ev.
cross_deps_libevent() {
	toolchain=$1
	shift
	src=$work/libevent-2.1.12-stable
	b_ev=$work/libevent-build
	cross_deps_step libevent_core cross_deps_libevent_build "$@"
	mkdir -p "$stage/include/event2" "$stage/lib/pkgconfig" \
		"$stage/share/licenses"
	cp "$src"/include/*.h "$stage/include/"
	cp "$src"/include/event2/*.h "$b_ev"/include/event2/*.h \
		"$stage/include/event2/"
	cp "$b_ev"/lib/libevent_core*.a "$stage/lib/"
	sed -e "s|^prefix=.*|prefix=$stage|" "$b_ev/libevent_core.pc" \
		>"$stage/lib/pkgconfig/libevent_core.pc"
	cp "$src/LICENSE" "$stage/share/licenses/libevent"
}

cross_deps_libevent_build() {
	cross_deps_cmake "$src" "$b_ev" \
		-DEVENT__LIBRARY_TYPE=BOTH \
		-DEVENT__DISABLE_OPENSSL=ON \
		-DEVENT__DISABLE_MBEDTLS=ON \
		-DEVENT__DISABLE_TESTS=ON \
		-DEVENT__DISABLE_REGRESS=ON \
		-DEVENT__DISABLE_SAMPLES=ON \
		-DEVENT__DISABLE_BENCHMARK=ON "$@" &&
		cmake --build "$b_ev" -j "$jobs" \
			--target event_core_static event_core_shared
}

# cross_deps_cmake SRC BUILD OPTION...: configure a release build of
# SRC in BUILD with the toolchain file $toolchain, installing to $stage.
cross_deps_cmake() {
	cm_src=$1
	cm_build=$2
	shift 2
	cmake -S "$cm_src" -B "$cm_build" \
		-DCMAKE_TOOLCHAIN_FILE="$toolchain" \
		-DCMAKE_INSTALL_PREFIX="$stage" \
		-DCMAKE_BUILD_TYPE=Release "$@"
}

# inih with upstream's defaults as Debian builds them, with the meson
# cross files $1... and -Ddefault_library=$2 (static or both).
cross_deps_inih() {
	inih_library=$1
	shift
	inih_cross=""
	for f in "$@"; do
		inih_cross="$inih_cross --cross-file $f"
	done
	cross_deps_step inih cross_deps_inih_build
	cp "$work"/libinih-*/LICENSE.txt "$stage/share/licenses/inih"
}

cross_deps_inih_build() {
	# shellcheck disable=SC2086
	meson setup "$work/inih-build" "$work"/libinih-*/ $inih_cross \
		--prefix "$stage" --libdir lib \
		-Dbuildtype=release -Ddefault_library="$inih_library" \
		-Ddistro_install=true -Dwith_INIReader=false &&
		ninja -C "$work/inih-build" &&
		meson install -C "$work/inih-build"
}

# Every .pc names its own folder, not the path it was built at, so the
# prefix can be renamed into place (and moved).
cross_deps_relocate() {
	for pc in "$stage"/lib/pkgconfig/*.pc; do
		sed -i -e "s|^prefix=.*|prefix=\${pcfiledir}/../..|" \
			-e "/^prefix=/!s|$stage|\${prefix}|g" "$pc"
	done
}

# The prefix is complete: mark it, put it in place, print it.
cross_deps_done() {
	printf '%s\n' "$key" >"$stage/.complete"
	rm -rf "$prefix"
	mv "$stage" "$prefix"
	say "done: $prefix"
	echo "$prefix"
}
