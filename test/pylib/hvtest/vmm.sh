#!/bin/sh
# SPDX-License-Identifier: MIT
# vmm.sh MODE GUESTPORT TARGET - one connection to an emulated VMM's
# hybrid vsock socket, as Firecracker, Cloud Hypervisor or
# vhost-device-vsock answer it: read the client's "CONNECT <port>" line,
# answer as MODE says, and if the port is GUESTPORT and MODE lets it
# through, carry the stream on to the guest's service, 127.0.0.1:TARGET
# (tcp).
#
# Run by socat, one process per connection, with the accepted unix
# socket itself as stdin and stdout (nofork: no socket pair between):
#
#   socat UNIX-LISTEN:PATH,fork EXEC:"sh vmm.sh MODE GUESTPORT TARGET",nofork
#
# It is independent of the code under test on purpose: socat and the
# shell, no libhvsock, so that a mistake in the library's reading of
# the protocol cannot hide in a fake built from the same mistake.
# hvtest.vmm starts it. sh's `read` takes a byte at a time from a
# socket, so nothing past the CONNECT line's newline is consumed.
#
# MODE (for the port GUESTPORT; any other port is refused, as a VMM
# does when nothing listens on that port in the guest):
#   ok       "OK 1073741824\n", then the stream
#   refuse   close without a word
#   garbage  "ERR no such port\n", then close (after a while)
#   nonum    "OK guest\n" (OK without a number), then close
#   long     4,096 bytes without a newline, then close (after a while)
#   split    the OK line in three writes with pauses between, then the
#            stream
#   inline   "OK 1073741824\nVMM-INLINE\n" in one write, then the
#            stream: "VMM-INLINE\n" is the stream's first bytes, which
#            the client must hand on before the service's
#   silent   never answers (sleeps 30 s at most, then closes)
# Each connection logs one line to stderr: "vmm: CONNECT <port>: MODE".
# Every sleep is bounded; the stream's relay (socat -t 30) too.
set -u
mode=$1
gport=$2
target=$3

IFS= read -r line || line=''
line=$(printf '%s' "$line" | tr -d '\r')
port=${line#CONNECT }
if [ "$port" = "$line" ] || [ "$port" != "$gport" ]; then
	echo "vmm: ${line:-(no line)}: refuse (not port $gport)" >&2
	exit 0
fi
echo "vmm: CONNECT $port: $mode" >&2

stream() {
	exec socat -t 30 - "TCP:127.0.0.1:$target"
}

case $mode in
ok)
	printf 'OK 1073741824\n'
	stream
	;;
refuse)
	exit 0
	;;
garbage)
	printf 'ERR no such port\n'
	sleep 5
	;;
nonum)
	printf 'OK guest\n'
	sleep 5
	;;
long)
	head -c 4096 /dev/zero | tr '\0' 'A'
	sleep 5
	;;
split)
	printf 'OK'
	sleep 0.2
	printf ' 10737'
	sleep 0.2
	printf '41824\n'
	stream
	;;
inline)
	# One printf, one write: the OK line and the stream's first bytes
	# (as if the guest's service had sent them at once) reach the
	# client together.
	printf 'OK 1073741824\nVMM-INLINE\n'
	stream
	;;
silent)
	sleep 30
	;;
*)
	echo "vmm: unknown mode $mode" >&2
	exit 2
	;;
esac
