#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The shell tests' library (tests/shell_*.sh source it, run.sh does not
# run it): set $names, the channels the test creates, then source this.
# It skips the test (exit 4) without the module, gives $tmp, a scratch
# directory, removes the channels of $names before and after, and ends
# the test's background jobs.

set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$repo/tools:$PATH"
test_name=$(basename "$0" .sh)

# Seconds any single step may take. Generous: a step in the background
# also waits out the commands run meanwhile, and on the debug kernel under
# emulation each of those takes seconds.
T=120
tmp=

cleanup() {
	local pid n

	for pid in $(jobs -p); do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	for n in $names; do
		[ -e "/dev/chan/$n" ] && chanctl rm "$n" 2>/dev/null
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "$test_name: FAIL: $*" >&2
	exit 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# stat_field NAME KEY: one value from 'chanctl stat NAME'.
stat_field() {
	local k v

	while IFS=': ' read -r k v; do
		[ "$k" = "$2" ] && echo "$v"
	done <<<"$(chanctl stat "$1")"
}

# stat_is NAME KEY VALUE: for wait_for.
stat_is() {
	[ "$(stat_field "$1" "$2")" = "$3" ]
}

# wait_for CONDITION...: retry CONDITION for up to $T seconds.
wait_for() {
	local i

	for ((i = 0; i < T * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

if [ ! -e /dev/chanctl ]; then
	echo "$test_name: SKIP: /dev/chanctl missing (kchan.ko not loaded)"
	exit 4
fi
tmp=$(mktemp -d "/tmp/$test_name.XXXXXX") || exit 1
for n in $names; do
	[ -e "/dev/chan/$n" ] && chanctl rm "$n"
done
