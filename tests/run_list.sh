#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tests/run.sh --host and --guest split the suite in two, as
# tools/check-kernel uses them: every program is in exactly one part,
# the programs with a line "# run.sh: host" in the host's (every tool's
# test among them), a NAME that is no program goes with the guest's
# (which reports it), and a NAME of the other part is left out.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
run=$repo/tests/run.sh
bad=0

fail() {
	echo "run_list: $*"
	bad=1
}

all=$("$run" --list | sort)
host=$("$run" --list --host | sort)
guest=$("$run" --list --guest | sort)
[ -n "$host" ] || fail "no program needs no guest"
[ -n "$guest" ] || fail "no program needs a guest"
both=$(comm -12 <(echo "$host") <(echo "$guest")) || fail "comm failed"
[ -z "$both" ] && echo "run_list: no program in both parts" ||
	fail "in both parts: $both"
[ "$(sort <(echo "$host") <(echo "$guest"))" = "$all" ] &&
	echo "run_list: the two parts are the whole suite ($(echo "$all" | wc -l) programs)" ||
	fail "the two parts are not the whole suite"

marked=$(cd "$repo/tests" && grep -l -x '# run.sh: host' ./*.sh | sed 's,^\./,,' | sort)
[ "$marked" = "$host" ] && echo "run_list: the host's part is the marked programs" ||
	fail "host part <$host> is not the marked programs <$marked>"
echo "$host" | grep -qx run_list.sh || fail "run_list.sh itself is not in the host's part"
# A tool's test (kt_tool.bash) or a report of a host's check
# (pkg_result.bash) needs no guest: without the line, it would be booted
# into one in the debug lane, to report what the host has.
unmarked=$(cd "$repo/tests" && grep -l -E 'kt_tool\.bash|pkg_result\.bash' ./*.sh |
	sed 's,^\./,,' | sort | comm -23 - <(echo "$host")) || fail "comm failed"
[ -z "$unmarked" ] && echo "run_list: every tool's test is in the host's part" ||
	fail "tools' tests without a '# run.sh: host' line: $unmarked"
echo "$guest" | grep -qx chan_close || fail "chan_close is not in the guest's part"

[ "$("$run" --list --host vm.sh chan_close no_such_program)" = vm.sh ] &&
	echo "run_list: --host keeps only its own names" ||
	fail "--host vm.sh chan_close no_such_program does not list vm.sh alone"
[ "$("$run" --list --guest vm.sh chan_close no_such_program | sort | tr '\n' ' ')" = "chan_close no_such_program " ] &&
	echo "run_list: --guest keeps its own and the unknown names" ||
	fail "--guest does not list chan_close and no_such_program alone"
exit "$bad"
