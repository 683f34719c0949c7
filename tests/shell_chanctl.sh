#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# chanctl's data and query verbs: send (arguments, stdin), recv (-n,
# --timeout, until closed), top (--once, live, rates) and --json on stat,
# ls, version and top, each JSON output checked with python3 -m json.tool.
# Every step that waits by design runs under a timeout.
#
# Each program started costs a second or more in the emulated guest, so
# files are read and matched with bash's builtins, and python3 runs once.
#
# Exit status: 0 pass, 1 fail (the first difference is printed), 4 skip.

names="cc-buf cc-rv cc-small cc-top"
# shellcheck source=tests/kt.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt.bash"

# slurp FILE: its content in $REPLY, with no program started.
slurp() {
	REPLY=
	IFS= read -r -d '' REPLY <"$1"
	return 0
}

# run_status EXPECTED WHAT CMD...: CMD exits EXPECTED; its stdout is then
# in $out, its stderr in $err.
run_status() {
	local want=$1 what=$2 status=0

	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || status=$?
	slurp "$tmp/out"
	out=${REPLY%$'\n'}
	slurp "$tmp/err"
	err=$REPLY
	[ "$status" = "$want" ] || fail "$what: exit status $status, not $want (stderr: $err)"
}

# err_has TEXT WHAT: the last run_status's stderr contains TEXT.
err_has() {
	[[ $err == *"$1"* ]] || fail "$2: expected '$1' on stderr, got: $err"
}

# json_check WHAT FILE EXPR: FILE holds one line of JSON, and the Python
# expression EXPR over it (as j) is true. Checked at the end, all at once
# (python3 starts slowly in the emulated guest): each line is validated by
# python3 -m json.tool --json-lines, then every EXPR is evaluated.
json_check() {
	slurp "$2"
	[[ $REPLY == *$'\n' && ${REPLY%$'\n'} != *$'\n'* ]] ||
		fail "$1: not one line: $REPLY"
	printf '%s' "$REPLY" >>"$tmp/all.jsonl"
	printf '%s\t%s\n' "$1" "$3" >>"$tmp/all.expr"
}

echo "# send: each argument is one message; recv -n takes that many"
chanctl create cc-buf --capacity 8 --msg-max 32 || fail "chanctl create cc-buf"
run_status 0 "chanctl send cc-buf a 'b c' d" chanctl send cc-buf a "b c" d
expect_eq "queued after three sends" 3 "$(stat_field cc-buf queued)"
run_status 0 "chanctl recv cc-buf -n 2" chanctl recv cc-buf -n 2
expect_eq "chanctl recv -n 2" $'a\nb c' "$out"
expect_eq "queued after recv -n 2" 1 "$(stat_field cc-buf queued)"

echo "# send from stdin: one message per line, empty lines skipped"
printf 'x\n\nyy\nz' | chanctl send cc-buf || fail "send from stdin: exit status $?"
expect_eq "sent after stdin" 6 "$(stat_field cc-buf sent)"
expect_eq "next message's length" 1 "$(stat_field cc-buf next_len)"

echo "# recv --timeout: messages ready are received; none ready ends with status 3"
run_status 0 "chanctl recv cc-buf -n 1 --timeout 5" chanctl recv cc-buf -n 1 --timeout 5
expect_eq "recv with a timeout" d "$out"

echo "# close: recv drains what is queued and ends with status 0"
chanctl close cc-buf || fail "chanctl close cc-buf"
run_status 0 "chanctl recv cc-buf after close" timeout $T chanctl recv cc-buf
expect_eq "recv until closed" $'x\nyy\nz' "$out"
run_status 0 "chanctl recv cc-buf --timeout 1, closed and drained" chanctl recv cc-buf --timeout 1
expect_eq "recv of a drained channel" "" "$out"
run_status 1 "chanctl send on a closed channel" chanctl send cc-buf late
err_has "Broken pipe" "send after close"

echo "# errors and usage"
chanctl create cc-small --capacity 1 --msg-max 4 || fail "chanctl create cc-small"
run_status 1 "chanctl send of 5 bytes on a 4-byte channel" chanctl send cc-small 12345
err_has "Message too long" "oversized send"
expect_eq "sent after the oversized send" 0 "$(stat_field cc-small sent)"
run_status 2 "chanctl send with an empty message" chanctl send cc-small ""
run_status 2 "chanctl recv -n 0" chanctl recv cc-small -n 0
run_status 2 "chanctl recv --timeout -1" chanctl recv cc-small --timeout -1
run_status 2 "chanctl recv --timeout x" chanctl recv cc-small --timeout x
run_status 2 "chanctl stat --bogus" chanctl stat cc-small --bogus
run_status 2 "chanctl top --interval 0" chanctl top --once --interval 0
run_status 1 "chanctl recv of a missing channel" chanctl recv cc-none --timeout 0

start=${EPOCHREALTIME/./}
run_status 3 "chanctl recv --timeout 0.3 on an empty channel" chanctl recv cc-small --timeout 0.3
took=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
[ "$took" -ge 300 ] || fail "recv --timeout 0.3 returned after ${took} ms"
err_has "timed out" "recv timeout"
run_status 3 "chanctl recv --timeout 0 on an empty channel" chanctl recv cc-small --timeout 0

# The timeout bounds the whole command, not each message.
chanctl send cc-small one || fail "send one"
run_status 3 "chanctl recv -n 2 --timeout 0.3 with one message" chanctl recv cc-small -n 2 --timeout 0.3
expect_eq "recv before its timeout" one "$out"

echo "# rendezvous: send waits for recv, recv waits until closed"
chanctl create cc-rv --msg-max 64 || fail "chanctl create cc-rv"
timeout $T chanctl send cc-rv ping &
sender=$!
wait_for stat_is cc-rv senders 1 || fail "cc-rv: the sender never blocked"
kill -0 "$sender" 2>/dev/null || fail "cc-rv: chanctl send returned with no receiver"
timeout $T chanctl recv cc-rv >"$tmp/rv" &
receiver=$!
wait "$sender" || fail "chanctl send cc-rv ping: exit status $?"
wait_for stat_is cc-rv receivers 1 || fail "cc-rv: chanctl recv did not wait for more"
echo pong | chanctl send cc-rv || fail "send pong: exit status $?"
chanctl close cc-rv || fail "chanctl close cc-rv"
status=0
wait "$receiver" || status=$?
expect_eq "chanctl recv cc-rv: exit status" 0 "$status"
slurp "$tmp/rv"
expect_eq "chanctl recv cc-rv" $'ping\npong\n' "$REPLY"

echo "# --json on stat, ls and version"
chanctl stat cc-small --json >"$tmp/stat.json" || fail "chanctl stat --json"
json_check "stat --json" "$tmp/stat.json" \
	'j["name"] == "cc-small" and j["capacity"] == 1 and j["msg_max"] == 4 and j["queued"] == 0 and j["sent"] == 1 and j["received"] == 1 and j["closed"] is False and j["autoclose"] is False'
chanctl close cc-small || fail "chanctl close cc-small"
chanctl stat --json cc-small >"$tmp/stat.json" || fail "chanctl stat --json (before NAME)"
json_check "stat --json of a closed channel" "$tmp/stat.json" 'j["closed"] is True'
chanctl ls --json >"$tmp/ls.json" || fail "chanctl ls --json"
json_check "ls --json" "$tmp/ls.json" \
	'isinstance(j, list) and {"cc-buf", "cc-rv", "cc-small"} <= set(j) and j == sorted(j)'
chanctl version --json >"$tmp/version.json" || fail "chanctl version --json"
json_check "version --json" "$tmp/version.json" \
	'j["version"] == 2 and j["features"] > 0 and j["max_msg_size"] > 0 and j["max_select_cases"] > 0'
run_status 0 "chanctl version" chanctl version
slurp "$tmp/version.json"
[[ $out == *"max_capacity: "* ]] || fail "chanctl version: no max_capacity: $out"
max_capacity=${out#*max_capacity: }
max_capacity=${max_capacity%%$'\n'*}
[[ $REPLY == *"\"max_capacity\": $max_capacity,"* ]] ||
	fail "version --json and version disagree on max_capacity ($max_capacity): $REPLY"

echo "# top --once: a table, and --json"
chanctl create cc-top --capacity 16 --msg-max 8 || fail "chanctl create cc-top"
chanctl send cc-top 1 2 3 || fail "send to cc-top"
run_status 0 "chanctl top --once" chanctl top --once --interval 0.1
[[ ${out%%$'\n'*} == *" NAME "*" QUEUED "*" SENT/s "* ]] || fail "top: no header: $out"
row=$(printf '%s\n' "$out" | while read -r id name cap max queued snd rcv closed sent rest; do
	[ "$name" = cc-top ] && echo "$cap $max $queued $snd $rcv $closed $sent"
done)
expect_eq "top --once: the cc-top row" "16 8 3 0 0 no 3" "$row"
chanctl top --once --json --interval 0.1 >"$tmp/top.json" || fail "chanctl top --once --json"
json_check "top --once --json" "$tmp/top.json" \
	'j["interval"] >= 0.1 and [(c["queued"], c["sent"], c["capacity"], c["closed"]) for c in j["channels"] if c["name"] == "cc-top"] == [(3, 3, 16, False)]'

echo "# top, live: the rates add up to the messages sent meanwhile"
timeout $T chanctl top --json --interval 0.3 >"$tmp/live" &
top=$!
wait_for test -s "$tmp/live" || fail "top: no output"
chanctl send cc-top 4 5 6 7 8 || fail "send 5 more to cc-top"
# A line that shows all 8 came after the sends: the rates up to it count 5.
shows_eight() {
	slurp "$tmp/live"
	[[ $REPLY =~ \"name\":\ \"cc-top\",[^}]*\"sent\":\ 8, ]]
}
wait_for shows_eight || fail "top: never showed cc-top with 8 sent: $REPLY"
kill "$top"
wait "$top" 2>/dev/null

echo "# the JSON outputs: valid (json.tool), with the values checked above"
python3 - "$tmp/all.jsonl" "$tmp/all.expr" "$tmp/live" <<'PY' || fail "a JSON check failed"
import json, json.tool, sys

all_jsonl, all_expr, live_file = sys.argv[1:4]
# Whole lines only (top was killed), up to the first that shows 8 sent.
live = []
for line in open(live_file):
    if not line.endswith("\n"):
        break
    live.append(line)
    if any(c["name"] == "cc-top" and c["sent"] == 8
           for c in json.loads(line)["channels"]):
        break
with open(all_jsonl, "a") as f:
    f.writelines(live)

# What python3 -m json.tool --json-lines FILE does; it exits non-zero on
# anything that is not JSON.
sys.argv = ["json.tool", "--json-lines", all_jsonl, "/dev/null"]
json.tool.main()

lines = open(all_jsonl).read().splitlines()
for i, check in enumerate(open(all_expr).read().splitlines()):
    what, expr = check.split("\t", 1)
    j = json.loads(lines[i])
    if not eval(expr):
        sys.exit("%s: %s does not hold: %s" % (what, expr, lines[i]))

# The first live line counts from top's first sample, after the first 3.
total = 0
for line in live:
    j = json.loads(line)
    for c in j["channels"]:
        if c["name"] == "cc-top":
            assert c["recv_rate"] == 0, c
            total += round(c["send_rate"] * j["interval"])
if total != 5:
    sys.exit("top: the send rates add up to %d messages, not 5" % total)
PY

for n in cc-buf cc-rv cc-small cc-top; do
	chanctl rm "$n" || fail "chanctl rm $n"
done
echo "shell_chanctl: PASS"
