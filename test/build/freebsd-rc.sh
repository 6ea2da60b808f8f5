#!/bin/sh
# SPDX-License-Identifier: MIT
# The FreeBSD rc.d script of hvproxy (dist/freebsd/hvproxy.in), run on
# this system: %%PREFIX%% is filled in as the port does, and /etc/rc.subr
# is a small stand-in that does what FreeBSD's does with the variables
# the script sets (load_rc_config reads an rc.conf of the test's;
# run_rc_command checks ${rcvar}, required_files, the precmds, and builds
# the start command as "$command ${name}_flags $command_args"). Its
# start runs the hvproxy command line of command_args (without daemon(8),
# which this system lacks); configtest, reload and stop run as written.
# Prints TAP.
# Usage: freebsd-rc.sh SOURCE_DIR HVPROXY
set -eu
src=$1
hvproxy=$2
case $hvproxy in
/*) ;;
*) hvproxy=$(pwd)/$hvproxy ;;
esac
tmp=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failed=0
check() { # description, then a command: ok if it succeeds
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		failed=$((failed + 1))
	fi
}
has() { # file, text: the file has a line with the text
	grep -qF -- "$2" "$1"
}
hasnot() {
	! grep -qF -- "$2" "$1"
}
is() { # file, line: the file has that very line
	grep -qxF -- "$2" "$1"
}

# The prefix the script is filled in with: sbin/hvproxy is the build's.
mkdir -p "$tmp/prefix/sbin" "$tmp/prefix/etc"
ln -s "$hvproxy" "$tmp/prefix/sbin/hvproxy"

cat >"$tmp/rc.subr" <<'EOF'
# A stand-in for FreeBSD's /etc/rc.subr: what the hvproxy script uses.
warn() {
	echo "${name}: WARNING: $*" >&2
}
err() {
	_code=$1
	shift
	echo "${name}: ERROR: $*" >&2
	exit "$_code"
}
checkyesno() {
	eval "_value=\$$1"
	case $_value in
	[Yy][Ee][Ss] | [Tt][Rr][Uu][Ee] | [Oo][Nn] | 1) return 0 ;;
	esac
	return 1
}
load_rc_config() {
	# shellcheck disable=SC1090
	[ ! -r "$RC_CONF" ] || . "$RC_CONF"
}
wait_for_pids() {
	while kill -0 "$1" 2>/dev/null; do
		sleep 0.1
	done
}
_precmd() {
	[ -z "$_precmd" ] || eval "$_precmd"
}
run_rc_command() {
	# Only the variables, please (the test's vars()).
	[ -z "${RC_DRY:-}" ] || return 0
	rc_arg=$1
	eval "rc_flags=\$${name}_flags"
	rc_pid=""
	if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		rc_pid=$(cat "$pidfile")
	fi
	case " start stop restart status $extra_commands " in
	*" $rc_arg "*) ;;
	*)
		echo "usage: $name [start|stop|restart|status|$extra_commands]" >&2
		return 1
		;;
	esac
	case $rc_arg in
	stop | status) ;;
	*)
		if ! checkyesno "$rcvar"; then
			echo "Cannot '$rc_arg' $name. Set $rcvar to YES."
			return 0
		fi
		;;
	esac
	eval "_cmd=\$${rc_arg}_cmd _precmd=\$${rc_arg}_precmd"
	if [ -n "$_cmd" ]; then
		_precmd || return 1
		eval "$_cmd"
		return
	fi
	case $rc_arg in
	start)
		if [ -n "$rc_pid" ]; then
			echo "$name already running? (pid=$rc_pid)." >&2
			return 1
		fi
		for _f in $required_files; do
			if [ ! -r "$_f" ]; then
				warn "$_f is not readable."
				return 1
			fi
		done
		if ! _precmd; then
			warn "failed precmd routine for $name"
			return 1
		fi
		echo "Starting $name."
		echo "$command $rc_flags $command_args" >"$RC_STARTED"
		;;
	stop | reload)
		if [ -z "$rc_pid" ]; then
			echo "$name not running? (check $pidfile)." >&2
			return 1
		fi
		_precmd || return 1
		if [ "$rc_arg" = stop ]; then
			echo "Stopping $name."
			kill -TERM "$rc_pid"
			wait_for_pids "$rc_pid"
		else
			kill -HUP "$rc_pid"
		fi
		;;
	restart)
		_precmd || return 1
		echo "restart: stop, then start"
		;;
	status)
		if [ -n "$rc_pid" ]; then
			echo "$name is running as pid $rc_pid."
		else
			echo "$name is not running."
			return 1
		fi
		;;
	esac
}
EOF

sed -e "s|%%PREFIX%%|$tmp/prefix|g" -e "s|/etc/rc\\.subr|$tmp/rc.subr|" \
    "$src/dist/freebsd/hvproxy.in" >"$tmp/hvproxy"

export RC_CONF="$tmp/rc.conf" RC_STARTED="$tmp/started"
# The script with rc.conf $1, command $2; output in $tmp/out, status in rc.
rc() {
	cp "$1" "$tmp/rc.conf"
	: >"$tmp/started"
	rc=0
	sh "$tmp/hvproxy" "$2" >"$tmp/out" 2>&1 || rc=$?
}
# The variables the script sets, with rc.conf $1.
vars() {
	cp "$1" "$tmp/rc.conf"
	# shellcheck disable=SC2016
	RC_DRY=1 sh -c '
		. "$0"
		for v in name rcvar command procname pidfile command_args \
		    required_files extra_commands configtest_cmd \
		    start_precmd restart_precmd reload_precmd \
		    hvproxy_enable hvproxy_config hvproxy_flags; do
			eval "echo \"$v=\$$v\""
		done' "$tmp/hvproxy" >"$tmp/vars"
}

check "sh -n: the script parses" sh -n "$src/dist/freebsd/hvproxy.in"
check "rcorder: PROVIDE hvproxy" has "$tmp/hvproxy" "# PROVIDE: hvproxy"
check "rcorder: KEYWORD shutdown" has "$tmp/hvproxy" "# KEYWORD: shutdown"

# Defaults: nothing in rc.conf.
: >"$tmp/empty.conf"
vars "$tmp/empty.conf"
p=$tmp/prefix
check "defaults: hvproxy_enable NO" is "$tmp/vars" "hvproxy_enable=NO"
check "defaults: the config is PREFIX/etc/hvproxy.conf" \
    is "$tmp/vars" "hvproxy_config=$p/etc/hvproxy.conf"
check "defaults: required_files is the config" \
    is "$tmp/vars" "required_files=$p/etc/hvproxy.conf"
check "defaults: pidfile /var/run/hvproxy.pid" \
    is "$tmp/vars" "pidfile=/var/run/hvproxy.pid"
check "defaults: rcvar hvproxy_enable" is "$tmp/vars" "rcvar=hvproxy_enable"
check "defaults: daemon(8) runs PREFIX/sbin/hvproxy" is "$tmp/vars" \
    "command_args=-f -S -T hvproxy $p/sbin/hvproxy -c $p/etc/hvproxy.conf --pidfile /var/run/hvproxy.pid"
check "defaults: procname is hvproxy, for the pid file check" \
    is "$tmp/vars" "procname=$p/sbin/hvproxy"
check "extra commands: configtest and reload" \
    is "$tmp/vars" "extra_commands=configtest reload"
rc "$tmp/empty.conf" start
check "not enabled: start refused, nothing started" \
    test "$rc" -eq 0 -a ! -s "$tmp/started"
check "not enabled: says how to enable" has "$tmp/out" "Set hvproxy_enable to YES"

# A good configuration: a unix listener in the scratch folder.
cat >"$tmp/good.ini" <<EOF
[forward t]
listen = unix:$tmp/l.sock
target = tcp:127.0.0.1:9
EOF
cat >"$tmp/on.conf" <<EOF
hvproxy_enable="YES"
hvproxy_config="$tmp/good.ini"
hvproxy_flags="-v --drain-timeout 1s"
hvproxy_pidfile="$tmp/hvproxy.pid"
EOF
vars "$tmp/on.conf"
check "hvproxy_flags go to hvproxy, after -c and --pidfile" is "$tmp/vars" \
    "command_args=-f -S -T hvproxy $p/sbin/hvproxy -c $tmp/good.ini --pidfile $tmp/hvproxy.pid -v --drain-timeout 1s"
check "hvproxy_flags are not left for rc.subr to give daemon(8)" \
    is "$tmp/vars" "hvproxy_flags="
rc "$tmp/on.conf" configtest
check "configtest: a good file passes" test "$rc" -eq 0
check "configtest: prints hvproxy --check's summary" \
    has "$tmp/out" "configuration OK, 1 forward"
rc "$tmp/on.conf" start
check "start: the check passes, then daemon(8) is run" test "$rc" -eq 0
check "start: daemon(8) gets no option of hvproxy's" is "$tmp/started" \
    "/usr/sbin/daemon  -f -S -T hvproxy $p/sbin/hvproxy -c $tmp/good.ini --pidfile $tmp/hvproxy.pid -v --drain-timeout 1s"

# What daemon(8) would run, run here: hvproxy with command_args past
# daemon's own options (-f -S -T hvproxy).
# shellcheck disable=SC2046
set -- $(cat "$tmp/started")
shift 5
"$@" >"$tmp/log" 2>&1 &
pid=$!
i=0
while [ ! -s "$tmp/hvproxy.pid" ] && [ $i -lt 200 ] && kill -0 $pid 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
check "hvproxy writes the pid file the script names" \
    test "$(cat "$tmp/hvproxy.pid" 2>/dev/null)" = "$pid"
rc "$tmp/on.conf" status
check "status: running, as the pid file says" has "$tmp/out" "is running as pid $pid"
rc "$tmp/on.conf" reload
check "reload: the check passes and SIGHUP is sent" test "$rc" -eq 0
i=0
while hasnot "$tmp/log" "reloaded" && [ $i -lt 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "reload: hvproxy read its file again" has "$tmp/log" "reloaded"
check "reload: hvproxy still runs" kill -0 "$pid"

# A configuration with an error: configtest says so, reload and start
# refuse.
cp "$tmp/good.ini" "$tmp/good.bak"
printf '[forward t]\nlisten = tcp:80\n' >"$tmp/good.ini"
rc "$tmp/on.conf" configtest
check "configtest: a bad file fails" test "$rc" -ne 0
check "configtest: the problem names the file" has "$tmp/out" "$tmp/good.ini"
rc "$tmp/on.conf" reload
check "reload: refused with the file's errors" test "$rc" -ne 0
check "reload: says the configuration has errors" \
    has "$tmp/out" "the configuration has errors"
check "reload refused: hvproxy still runs" kill -0 "$pid"
rc "$tmp/on.conf" restart
check "restart: refused before stopping" test "$rc" -ne 0
check "restart refused: hvproxy still runs" kill -0 "$pid"
cp "$tmp/good.bak" "$tmp/good.ini"

rc "$tmp/on.conf" stop
check "stop: SIGTERM, hvproxy exits" test "$rc" -eq 0
if ! kill -0 "$pid" 2>/dev/null; then
	wait "$pid" || :
	pid=""
fi
check "stop: hvproxy is gone" test -z "$pid"

printf '[forward t]\nlisten = tcp:80\n' >"$tmp/good.ini"
rc "$tmp/on.conf" start
check "start: a bad file stops it before daemon(8)" \
    test "$rc" -ne 0 -a ! -s "$tmp/started"
check "start: the problem is shown" has "$tmp/out" "$tmp/good.ini"
rm -f "$tmp/good.ini"
rc "$tmp/on.conf" start
check "start: a missing file is named (required_files)" \
    has "$tmp/out" "$tmp/good.ini is not readable"

echo "1..$n"
[ "$failed" -eq 0 ]
