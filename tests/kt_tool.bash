#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The library of the tests of a tool: tests/NAME.sh checks tools/NAME
# (with - for _) on canned input, without the module (run.sh does not
# run this file). It gives $tool, $tmp, a scratch directory removed at
# exit, and fail MESSAGE, which prints a failed check and sets $bad to 1
# without ending the test, so that one run lists every failed check.
#
# These tests need no guest, and under emulation each of their processes
# costs a good part of a second (tests/vm.sh took minutes on the debug
# kernel): make check runs them on the host first (make check-tools),
# which records each one's output and status in
# build/tool-tests/NAME.result (KCHAN_TOOL_RECORD=1). In the guest
# (KCHAN_VM=1) a test whose result was recorded for the files as they
# are (the test, this file and tools/, hashed) reports that result, as
# tests/pkg_*.sh report the host's packaging checks; without one it runs
# there. tools/check-kernel (make check-debug) sends none of them to a
# guest: it runs them on the host (tests/run.sh --host), for real.

# shellcheck disable=SC2034 # $tool and $bad are the sourcing test's
set -u

test_name=${0##*/}
test_name=${test_name%.sh}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tool=$repo/tools/${test_name//_/-}

# Prints what a recorded result is for: the files the test can depend on.
tool_test_key() {
	local f files=("$0" "${BASH_SOURCE[0]}")

	for f in "$repo"/tools/* "$repo"/tools/*/* "$repo"/tests/*.bash; do
		[[ -f $f ]] && files+=("$f")
	done
	echo "tool-test-sha256: $(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
}

tool_test_result=$repo/build/tool-tests/$test_name.result
if [[ ${KCHAN_TOOL_RECORD-} == 1 ]]; then
	key=$(tool_test_key)
	mkdir -p "${tool_test_result%/*}" || exit 1
	status=0
	KCHAN_TOOL_RECORD='' bash "$0" "$@" >"$tool_test_result.out" 2>&1 || status=$?
	cat "$tool_test_result.out"
	# Whole or not at all: a guest may be reading it.
	{
		sed 's/^/tool-test-out: /' "$tool_test_result.out"
		echo "$key"
		echo "tool-test-status: $status"
	} >"$tool_test_result.new" && mv -f "$tool_test_result.new" "$tool_test_result"
	rm -f "$tool_test_result.out"
	exit "$status"
fi
if [[ ${KCHAN_VM-} == 1 && -r $tool_test_result ]] &&
	grep -qxF "$(tool_test_key)" "$tool_test_result"; then
	echo "$test_name: run on the host (make check-tools):"
	sed -n 's/^tool-test-out: //p' "$tool_test_result"
	status=$(sed -n 's/^tool-test-status: \([0-9]*\)$/\1/p' "$tool_test_result")
	exit "${status:-1}"
fi

tmp=$(mktemp -d "/tmp/$test_name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
bad=0

fail() {
	echo "$test_name: $*"
	bad=1
}

# expect_line FILE WHAT ERE: a line of FILE matches the extended regular
# expression ERE (bash's =~: no process), else fail WHAT, showing FILE.
expect_line() {
	local line

	[ -f "$1" ] || { fail "$2: no ${1##*/}"; return; }
	while IFS= read -r line; do
		[[ $line =~ $3 ]] && return 0
	done <"$1"
	fail "$2: no line matching '$3' in ${1##*/}:" $'\n'"$(cat "$1")"
}
