#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tools/model/check keeps what it can reuse, and nothing else: with a copy
# of it next to a made-up model, and a fake spin and gcc first in PATH
# whose verifier says what SPIN would for its flags (a mutant's assertion
# violated, or no error) and counts its searches:
# - the small set searches its four verifiers and passes;
# - again, it searches none: each outcome is the one kept, and said so;
# - the deep set searches only its four others;
# - a search whose outcome is not the one expected (a world with an
#   error) fails, and is searched again the next time;
# - a change to the model searches everything again.
#
# Exit status: 0 pass, 1 fail (each failed check is printed).

# shellcheck source=tests/kt_tool.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt_tool.bash"

mkdir -p "$tmp/tools/model" "$tmp/bin"
cp "$repo/tools/model/check" "$tmp/tools/model/check"
echo "model 1" >"$tmp/tools/model/kchan.pml"
tool=$tmp/tools/model/check

cat >"$tmp/bin/spin" <<'EOF'
#!/bin/bash
[ "$1" = -V ] && { echo "Spin Version 6.5.2 (fake)"; exit 0; }
shift
echo "${*:1:$#-1}" >pan.c
EOF
cat >"$tmp/bin/gcc" <<'EOF'
#!/bin/bash
[ "$1" = --version ] && { echo "gcc (fake) 12"; exit 0; }
{
	echo '#!/bin/bash'
	echo "flags='$(<pan.c)'"
	cat <<'PAN'
echo search >>"$FAKE_SEARCHES"
echo "1234 states, stored"
case $flags in
*MUTANT_CLOSE_SKIPS_CLAIMED*)
	echo "pan:1: assertion violated  !(closed[c]) (at depth 7)"
	echo "State-vector 88 byte, depth reached 7, errors: 1" ;;
*MUTANT_CANCEL_WAKE*)
	echo "pan:1: assertion violated ((ts[mt_w]==0)||(w_state[mt_w]==w_seen[mt_w])) (at depth 9)"
	echo "State-vector 88 byte, depth reached 9, errors: 1" ;;
*MUTANT_REARM_UNLOCKED*)
	echo "pan:1: assertion violated  !(t_gone[t]) (at depth 9)"
	echo "State-vector 88 byte, depth reached 9, errors: 1" ;;
*MUTANT_DROP_ON_PEEK*)
	echo "pan:1: assertion violated (t_gone[mt_i]||t_queued[mt_i]) (at depth 9)"
	echo "State-vector 88 byte, depth reached 9, errors: 1" ;;
*MUTANT_FILL_NO_EOF*)
	echo "pan:1: assertion violated ( !(((closed[mt_w]&&(count[mt_w]==0))&&(inflight[mt_w]==0)))||(mt_r==255)) (at depth 9)"
	echo "State-vector 88 byte, depth reached 9, errors: 1" ;;
*WORLD=1*)
	echo "State-vector 88 byte, depth reached 99, errors: ${FAKE_WORLD1_ERRORS:-0}" ;;
*)
	echo "State-vector 88 byte, depth reached 99, errors: 0" ;;
esac
PAN
} >pan
chmod 755 pan
EOF
chmod 755 "$tmp/bin/spin" "$tmp/bin/gcc"
export PATH=$tmp/bin:$PATH FAKE_SEARCHES=$tmp/searches

# Runs the check on SET; OUT, STATUS and SEARCHES (how many searches ran)
# hold the result.
run_check() {
	: >"$FAKE_SEARCHES"
	STATUS=0
	OUT=$(env "${@:2}" "$tool" "$1" 2>&1) || STATUS=$?
	SEARCHES=$(wc -l <"$FAKE_SEARCHES")
}

# expect WHAT STATUS SEARCHES SUMMARY: the last run's.
expect() {
	if [ "$STATUS $SEARCHES" != "$2 $3" ] || [[ $OUT != *"$4"* ]]; then
		fail "$1: exit status $STATUS, $SEARCHES search(es); expected $2, $3," \
			"'$4'; output:"$'\n'"$OUT"
	fi
}

run_check small
expect "the small set" 0 4 "model: small: 4 passed, 0 failed"
run_check small
expect "the small set again" 0 0 "model: small: 4 passed, 0 failed"
[[ $OUT == *"small-worlds: verified, 1234 states, as searched before"* ]] ||
	fail "the small set again: the kept outcome is not said so: $OUT"
run_check deep
expect "the deep set" 0 4 "model: deep: 8 passed, 0 failed"

echo "model 2" >"$tmp/tools/model/kchan.pml"
run_check deep FAKE_WORLD1_ERRORS=1
expect "a world with an error" 1 8 "model: deep: 7 passed, 1 failed"
[[ $OUT == *"world1: FAILED"* ]] || fail "a world with an error: not reported: $OUT"
run_check deep FAKE_WORLD1_ERRORS=1
expect "a world with an error, again" 1 1 "model: deep: 7 passed, 1 failed"
run_check deep
expect "that world fixed" 0 1 "model: deep: 8 passed, 0 failed"

[ "$bad" = 0 ] && echo "model_check: a search whose outcome was kept is not run again, a failed one is"
exit "$bad"
