#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tests/run.sh names what failed again just before its summary, so that
# the last lines of a long run say which tests failed: one line
# "run.sh: failed: PROGRAM: TEST" for each "not ok" test of a failed
# program, one "run.sh: failed: PROGRAM" for a failed program that names
# none, nothing for a program that passed. Checked on made-up programs
# in a scratch copy of the suite.
#
# Exit status: 0 pass, 1 fail (each failed check is printed).
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d /tmp/run_failed.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
bad=0

fail() {
	echo "run_failed: $*"
	bad=1
}

mkdir -p "$tmp/tests"
cp "$repo/tests/run.sh" "$repo/tests/kt_kmsg.bash" "$tmp/tests/"
# Three programs: one passes, one fails two of its three tests, one
# fails as a whole.
printf '%s\n' '#!/bin/bash' '# run.sh: host' 'echo "ok 1 fake.works"' \
	'exit 0' >"$tmp/tests/fake_good.sh"
printf '%s\n' '#!/bin/bash' '# run.sh: host' 'echo "ok 1 fake.passes"' \
	'echo "not ok 2 fake.fails_here"' 'echo "# a comment"' \
	'echo "not ok 3 fake.fails_too # with a reason"' 'exit 1' \
	>"$tmp/tests/fake_tap.sh"
printf '%s\n' '#!/bin/bash' '# run.sh: host' 'echo "something broke"' \
	'exit 3' >"$tmp/tests/fake_plain.sh"

status=0
out=$(bash "$tmp/tests/run.sh" --host 2>&1) || status=$?
mapfile -t lines <<<"$out"
n=${#lines[@]}

[ "$status" -ne 0 ] || fail "run.sh exited 0 with failed programs"
[ "${lines[n - 1]}" = "1 passed, 2 failed" ] ||
	fail "last line '${lines[n - 1]}', expected '1 passed, 2 failed'"
want=("run.sh: failed: fake_plain.sh"
	"run.sh: failed: fake_tap.sh: fake.fails_here"
	"run.sh: failed: fake_tap.sh: fake.fails_too # with a reason")
# Just before the summary, in the order the programs ran (by name).
got=("${lines[@]:n - 4:3}")
for i in 0 1 2; do
	[ "${got[i]-}" = "${want[i]}" ] ||
		fail "line $((n - 3 + i)) of $n: '${got[i]-}', expected '${want[i]}'"
done
[[ $out != *"failed: fake_good"* ]] || fail "a program that passed is named as failed"
[ "$bad" = 0 ] && echo "run_failed: the failed tests are named before the summary"
[ "$bad" = 0 ] || printf '%s\n' "run_failed: run.sh printed:" "$out"
exit "$bad"
