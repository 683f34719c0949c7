#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tests/kt_tool.bash, the library of the tools' tests, runs a test on the
# host and lets the guest report that result, and only when it is for the
# files as they are: with a copy of the library in a scratch repository
# and a test of a made-up tool there, which says when it ran:
# - recorded (KCHAN_TOOL_RECORD=1), the test runs, shows its output and
#   exits with its status, and its result is written;
# - in the guest (KCHAN_VM=1), that result is shown and its status
#   returned, and the test does not run;
# - after a change to the tool, or to the test, the guest runs it;
# - outside the guest the test runs, result or not.
#
# Exit status: 0 pass, 1 fail (each failed check is printed).

# shellcheck source=tests/kt_tool.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt_tool.bash"

fake=$tmp/repo
mkdir -p "$fake/tests" "$fake/tools"
cp "$repo/tests/kt_tool.bash" "$fake/tests/"
echo "version 1" >"$fake/tools/made-up"
cat >"$fake/tests/made_up.sh" <<'EOF'
#!/bin/bash
. "$(dirname "${BASH_SOURCE[0]}")/kt_tool.bash"
echo ran >>"$FAKE_RUNS"
echo "made_up: checked $(<"$tool")"
exit "$FAKE_STATUS"
EOF
export FAKE_RUNS=$tmp/runs

# Runs the made-up test with the environment given; OUT, STATUS and RUNS
# (how many times its body ran) hold the result.
run_test() {
	: >"$FAKE_RUNS"
	STATUS=0
	OUT=$(env -u KCHAN_VM -u KCHAN_TOOL_RECORD "$@" bash "$fake/tests/made_up.sh" 2>&1) || STATUS=$?
	RUNS=$(wc -l <"$FAKE_RUNS")
}

# expect WHAT STATUS RUNS OUTPUT: the last run's.
expect() {
	if [ "$STATUS $RUNS" != "$2 $3" ] || [[ $OUT != *"$4"* ]]; then
		fail "$1: exit status $STATUS, ran $RUNS time(s), output '$OUT';" \
			"expected $2, $3 time(s), '$4'"
	fi
}

result=$fake/build/tool-tests/made_up.result
run_test KCHAN_TOOL_RECORD=1 FAKE_STATUS=3
expect "recorded" 3 1 "made_up: checked version 1"
[ -s "$result" ] || fail "recorded: no $result"

run_test KCHAN_VM=1 FAKE_STATUS=0
expect "in the guest, recorded" 3 0 "made_up: checked version 1"

run_test FAKE_STATUS=0
expect "on the host, recorded" 0 1 "made_up: checked version 1"

echo "version 2" >"$fake/tools/made-up"
run_test KCHAN_VM=1 FAKE_STATUS=0
expect "in the guest, the tool changed" 0 1 "made_up: checked version 2"

run_test KCHAN_TOOL_RECORD=1 FAKE_STATUS=0
run_test KCHAN_VM=1 FAKE_STATUS=5
expect "in the guest, recorded again" 0 0 "made_up: checked version 2"
echo "# a change" >>"$fake/tests/made_up.sh"
run_test KCHAN_VM=1 FAKE_STATUS=5
expect "in the guest, the test changed" 5 1 "made_up: checked version 2"

[ "$bad" = 0 ] && echo "kt_tool: a host result is reported in the guest, for the same files only"
exit "$bad"
