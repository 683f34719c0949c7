#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The library of the tests of a tool: tests/NAME.sh checks tools/NAME
# (with - for _) on canned input, without the module (run.sh does not
# run this file). It gives $tool, $tmp, a scratch directory removed at
# exit, and fail MESSAGE, which prints a failed check and sets $bad to 1
# without ending the test, so that one run lists every failed check.

# shellcheck disable=SC2034 # $tool and $bad are the sourcing test's
set -u

test_name=${0##*/}
test_name=${test_name%.sh}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tool=$repo/tools/${test_name//_/-}
tmp=$(mktemp -d "/tmp/$test_name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
bad=0

fail() {
	echo "$test_name: $*"
	bad=1
}
