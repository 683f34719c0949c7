#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Named channels from the shell: only chanctl, echo, cat, head and the
# usual file tools. Every blocking step runs under a timeout, so a kernel
# bug fails the test instead of hanging it.
#
# Exit status: 0 pass, 1 fail (the first difference is printed), 4 skip.

names="sh-buf sh-rv sh-auto sh-mode sh-head"
# shellcheck source=tests/kt.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt.bash"

# expect_stat NAME KEY VALUE...: one chanctl stat, read by the shell
# itself (a process more per key costs a second each on a debug kernel
# under emulation).
expect_stat() {
	local name=$1 out line
	local -A got=()

	shift
	out=$(chanctl stat "$name") || fail "chanctl stat $name failed"
	while IFS= read -r line; do
		got[${line%%: *}]=${line#*: }
	done <<<"$out"
	while [ $# -ge 2 ]; do
		expect_eq "chanctl stat $name: $1" "$2" "${got[$1]-}"
		shift 2
	done
}

# expect_file FILE CONTENT: FILE holds exactly CONTENT (printf format).
expect_file() {
	# shellcheck disable=SC2059
	printf "$2" | cmp -s - "$1" ||
		fail "$1: expected $(printf "$2" | od -An -c | tr -s ' '), got $(od -An -c "$1" | tr -s ' ')"
}

# wait_status PID EXPECTED WHAT: the background job ends with EXPECTED.
wait_status() {
	local status=0

	wait "$1" || status=$?
	[ "$status" = 124 ] && fail "$3: timed out after ${T}s"
	expect_eq "$3: exit status" "$2" "$status"
}

echo "# buffered channel: messages queue, close, then cat drains to EOF"
chanctl create sh-buf --capacity 4 --msg-max 64 || fail "chanctl create sh-buf"
[ -c /dev/chan/sh-buf ] || fail "/dev/chan/sh-buf is not a character device"
expect_eq "mode of /dev/chan/sh-buf" 600 "$(stat -c %a /dev/chan/sh-buf)"
expect_eq "owner of /dev/chan/sh-buf" "$(id -u):$(id -g)" "$(stat -c %u:%g /dev/chan/sh-buf)"
expect_stat sh-buf capacity 4 msg_max 64 queued 0 closed 0 autoclose 0 sent 0
expect_eq "/sys/class/chan/sh-buf/capacity" 4 "$(cat /sys/class/chan/sh-buf/capacity)"
expect_eq "/sys/class/chan/sh-buf/msg_max" 64 "$(cat /sys/class/chan/sh-buf/msg_max)"
chanctl ls | grep -qx sh-buf || fail "chanctl ls does not list sh-buf"

if chanctl create sh-buf 2>"$tmp/err"; then
	fail "creating sh-buf a second time succeeded"
fi
grep -q "File exists" "$tmp/err" || fail "second create: expected EEXIST, got: $(cat "$tmp/err")"

timeout $T echo one >/dev/chan/sh-buf || fail "echo one: exit status $?"
timeout $T echo two >/dev/chan/sh-buf || fail "echo two: exit status $?"
expect_stat sh-buf queued 2 sent 2 received 0 next_len 4

# 65 bytes (64 + newline) is over msg_max: refused whole, nothing queued.
status=0
timeout $T printf '%064d\n' 0 >/dev/chan/sh-buf 2>"$tmp/err" || status=$?
[ "$status" = 0 ] && fail "a 65-byte message on a 64-byte channel was accepted"
grep -q "Message too long" "$tmp/err" || fail "oversized write: expected EMSGSIZE, got: $(cat "$tmp/err")"
expect_stat sh-buf queued 2 sent 2

chanctl close sh-buf || fail "chanctl close sh-buf"
expect_stat sh-buf closed 1 queued 2
if chanctl close sh-buf 2>/dev/null; then
	fail "closing sh-buf a second time succeeded"
fi

# A send on a closed channel fails with EPIPE, not by SIGPIPE (status 141).
status=0
timeout $T echo three >/dev/chan/sh-buf 2>"$tmp/err" || status=$?
[ "$status" = 0 ] && fail "echo into a closed channel succeeded"
[ "$status" -gt 128 ] && fail "echo into a closed channel was killed by signal $((status - 128))"
grep -q "Broken pipe" "$tmp/err" || fail "send after close: expected EPIPE, got: $(cat "$tmp/err")"

status=0
timeout $T cat /dev/chan/sh-buf >"$tmp/buf" || status=$?
[ "$status" = 124 ] && fail "cat of a closed, buffered channel did not end at EOF"
expect_eq "cat /dev/chan/sh-buf: exit status" 0 "$status"
expect_file "$tmp/buf" 'one\ntwo\n'
expect_stat sh-buf queued 0 received 2

# EOF forever once closed and drained.
status=0
timeout $T cat /dev/chan/sh-buf >"$tmp/buf" || status=$?
expect_eq "second cat /dev/chan/sh-buf: exit status" 0 "$status"
expect_file "$tmp/buf" ''

chanctl rm sh-buf || fail "chanctl rm sh-buf"
[ -e /dev/chan/sh-buf ] && fail "/dev/chan/sh-buf still exists after chanctl rm"
[ -e /sys/class/chan/sh-buf ] && fail "/sys/class/chan/sh-buf still exists after chanctl rm"
chanctl ls | grep -qx sh-buf && fail "chanctl ls still lists sh-buf after rm"
if chanctl rm sh-buf 2>/dev/null; then
	fail "removing sh-buf a second time succeeded"
fi

echo "# one read takes one message: head -n 1 leaves the rest queued"
chanctl create sh-head --capacity 2 --msg-max 16 || fail "chanctl create sh-head"
timeout $T echo first >/dev/chan/sh-head || fail "echo first: exit status $?"
timeout $T echo second >/dev/chan/sh-head || fail "echo second: exit status $?"
expect_eq "head -n 1 /dev/chan/sh-head" first "$(timeout $T head -n 1 /dev/chan/sh-head)"
expect_stat sh-head queued 1 received 1 next_len 7
chanctl rm sh-head || fail "chanctl rm sh-head"

echo "# rendezvous: a send waits for a receiver"
chanctl create sh-rv || fail "chanctl create sh-rv"
expect_stat sh-rv capacity 0 msg_max 4096

timeout $T echo ping >/dev/chan/sh-rv &
sender=$!
wait_for stat_is sh-rv senders 1 ||
	fail "sh-rv: the sender never showed up as blocked (senders: $(stat_field sh-rv senders))"
kill -0 "$sender" 2>/dev/null || fail "sh-rv: echo ping returned with no receiver"
expect_stat sh-rv sent 0 received 0 queued 0

timeout $T cat /dev/chan/sh-rv >"$tmp/rv" &
receiver=$!
wait_status "$sender" 0 "echo ping"
expect_stat sh-rv sent 1 received 1 senders 0

# The receiver is already waiting: this send completes straight away.
wait_for stat_is sh-rv receivers 1 ||
	fail "sh-rv: cat never showed up as a blocked receiver"
timeout $T echo pong >/dev/chan/sh-rv || fail "echo pong: exit status $?"
expect_stat sh-rv sent 2 received 2 queued 0

kill -0 "$receiver" 2>/dev/null || fail "sh-rv: cat ended before the channel was closed"
chanctl close sh-rv || fail "chanctl close sh-rv"
wait_status "$receiver" 0 "cat /dev/chan/sh-rv"
expect_file "$tmp/rv" 'ping\npong\n'
chanctl rm sh-rv || fail "chanctl rm sh-rv"

echo "# autoclose: the reader sees EOF when the last writer goes away"
chanctl create sh-auto --autoclose --msg-max 32 || fail "chanctl create sh-auto"
expect_stat sh-auto autoclose 1 closed 0

timeout $T cat /dev/chan/sh-auto >"$tmp/auto" &
receiver=$!
timeout $T sh -c 'echo a; echo b' >/dev/chan/sh-auto || fail "writer of sh-auto: exit status $?"
wait_status "$receiver" 0 "cat /dev/chan/sh-auto after the writer closed"
expect_file "$tmp/auto" 'a\nb\n'
expect_stat sh-auto closed 1 sent 2 received 2
chanctl rm sh-auto || fail "chanctl rm sh-auto"

echo "# --mode sets the node's permission bits"
chanctl create sh-mode --mode 0640 || fail "chanctl create sh-mode"
expect_eq "mode of /dev/chan/sh-mode" 640 "$(stat -c %a /dev/chan/sh-mode)"
chanctl rm sh-mode || fail "chanctl rm sh-mode"

echo "shell_named: PASS"
