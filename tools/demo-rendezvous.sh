#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A rendezvous (run in the test VM by 'make demo-rendezvous'): two
# processes meet on an unbuffered channel, /dev/chan/demo. The receiver
# takes one message a second; each send returns only once the receiver
# has taken its message, so the sender keeps pace with the receiver.

set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$repo/tools:$PATH"

chan=/dev/chan/demo
receiver=

cleanup() {
	[ -n "$receiver" ] && kill "$receiver" 2>/dev/null
	[ -e "$chan" ] && chanctl rm demo 2>/dev/null
}
trap cleanup EXIT

die() {
	echo "demo: $*" >&2
	exit 1
}

# Timestamps without forking (a fork is slow in an emulated VM): sets
# $now to milliseconds since the epoch.
stamp() {
	now=${EPOCHREALTIME/[.,]/}
	now=$((now / 1000))
}

# say WHO WHAT: one line stamped with the current time.
say() {
	stamp
	printf '%(%T)T.%03d  %-9s %s\n' $((now / 1000)) $((now % 1000)) "$1" "$2"
}

echo "kchan demo: two processes meet on an unbuffered channel"
echo
echo "\$ chanctl create demo        # capacity 0: a send waits for a receive"
chanctl create demo || die "cannot create the channel (is kchan.ko loaded?)"
echo "  $(stat -c '%A %U:%G' "$chan")  $chan"
echo

# The receiver: one read() is one message. head -n 1 reads once, so each
# round takes exactly one message; at end of channel it prints nothing.
receive_loop() {
	local msg

	while :; do
		sleep 1
		msg=$(timeout 20 head -n 1 "$chan") || die "receiver: head failed"
		if [ -z "$msg" ]; then
			say receiver "end of channel: closed and drained"
			return 0
		fi
		say receiver "got \"$msg\""
	done
}
receive_loop &
receiver=$!

for msg in hello from kchan; do
	say sender "send \"$msg\" ..."
	start=$now
	timeout 20 echo "$msg" >"$chan" || die "sender: send of \"$msg\" failed"
	stamp
	waited=$((now - start))
	say sender "... returned after ${waited} ms, once the receiver had it"
	[ "$waited" -ge 300 ] ||
		die "the send returned before the receiver took the message"
	sleep 0.5	# other work; lets the receiver print first
done

echo
echo "\$ chanctl stat demo"
stat=$(chanctl stat demo) || die "chanctl stat failed"
echo "$stat" | sed 's/^/  /'

echo
echo "\$ chanctl close demo         # like Go's close(): the receiver sees EOF"
chanctl close demo || die "chanctl close failed"
wait "$receiver" || die "the receiver failed"
receiver=

echo "\$ chanctl rm demo"
chanctl rm demo || die "chanctl rm failed"
[ -e "$chan" ] && die "$chan still exists after chanctl rm"
echo "demo: done"
