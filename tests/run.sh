#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the kchan test suite (inside the test VM, with kchan.ko loaded).
#
#   tests/run.sh              every program in build/tests/ (the spec tests),
#                             build/tests/stress/ (the stress programs) and
#                             tests/*.sh
#   tests/run.sh NAME...      only these (e.g. chan_close shell_named
#                             chan_torture)
#   tests/run.sh --list [NAME...]  print the names of the programs it
#                             would run, one a line, and run nothing (a
#                             NAME that matches none is printed as it is)
#   tests/run.sh --host [NAME...]   only the programs that need no guest:
#                             the shell tests with a line "# run.sh: host"
#                             (the tools' tests, the reports of the host's
#                             model and packaging checks, the tree's own
#                             checks), run where run.sh is, with no kernel
#                             log to check (tools/check-kernel runs them on
#                             the host while its guests run the others)
#   tests/run.sh --guest [NAME...]  only the others
#                             (--list goes first: --list --host lists the
#                             programs that need no guest; an unknown NAME
#                             is listed with --guest, not with --host)
#
# Each program runs under a timeout. Its kernel log is checked from a
# /dev/kmsg marker written just before it started to one written after
# it ended: any line tools/kernel-failures lists (a BUG/WARNING/lockdep/
# KASAN/UBSAN/hung-task/stall/kmemleak report...) fails the program. The
# log is read from a copy of /dev/kmsg that one cat keeps for the whole
# run (tests/kt_kmsg.bash), by bash alone; with dmesg if that fails.
#
# kselftest programs are counted per test from their "# Totals:" line;
# a shell test counts as one test (exit 0 pass, 4 skip, anything else fail);
# the Python binding's unittest tests (userlib/python/tests/python_kchan.py)
# report in kselftest's form and are counted per test the same way, as
# are the Go package's tests (build/go/kchan.test, from go test -c: its
# top-level "--- PASS/FAIL/SKIP" lines; a test started and never
# finished, a panic or a timeout, is a failure too).
# After each program: "run.sh: NAME: W s, cpu C s", its wall-clock
# seconds and the CPU seconds it and its children used (user + system);
# before the summary, every program's share of the run, longest first
# ("run.sh: time: ..."), with the total: a program that takes much longer
# than its CPU seconds waits (sleeps, timeouts, module unloads). Then
# the fifteen slowest tests of the kselftest programs ("run.sh: slow
# test: ..."), each timed from its "#  RUN" line to its result. Then
# each failed program, a line "run.sh: failed: NAME[: TEST]" per test it
# failed (or one for the program when no single test failed).
# The last line of output is the summary: "N passed, N failed[, N skipped]".
# Exit status 0 only if nothing failed and at least one test ran.
#
# Environment: KCHAN_TEST_TIMEOUT (seconds per program, default 300);
# KCHAN_KCSAN_REPORTS=1 (the KCSAN lane, tools/check-kernel kcsan): KCSAN
# reports are sorted by tools/kcsan-reports instead: a program fails on a
# data race with a kchan frame in either stack, the others are listed as
# noise. Every other kernel report still fails it.

set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
# chanctl is built into build/bin, the tools are scripts in tools/.
export PATH="$repo/build/bin:$repo/tools:$PATH"

timeout_s=${KCHAN_TEST_TIMEOUT:-300}
passed=0
failed=0
skipped=0
xfailed=0
run_start=$EPOCHREALTIME
clk_tck=$(getconf CLK_TCK 2>/dev/null) || clk_tck=100
workdir=$(mktemp -d /tmp/kchan-run.XXXXXX) || exit 1
# shellcheck source=tests/kt_kmsg.bash
. "$repo/tests/kt_kmsg.bash"
trap 'kmsg_stop; rm -rf "$workdir"' EXIT

kcsan_reports=${KCHAN_KCSAN_REPORTS:-0}

list_only=0
if [ "${1-}" = --list ]; then
	list_only=1
	shift
fi
where=all
case ${1-} in
--host|--guest) where=${1#--}; shift ;;
esac

can_kmsg=1
if [ "$where" = host ]; then
	# Not the kernel under test: its log is none of this run's business.
	can_kmsg=0
elif ! { : >/dev/kmsg; } 2>/dev/null || ! dmesg >/dev/null 2>&1; then
	echo "run.sh: cannot write /dev/kmsg or read dmesg: kernel log not checked" >&2
	can_kmsg=0
fi

# Write a unique marker into the kernel log and keep it in REPLY.
kmsg_mark() {
	REPLY="kchan-run: start $1 #$2 ${EPOCHREALTIME/./}"

	[ "$can_kmsg" = 1 ] && echo "$REPLY" >/dev/kmsg
	echo "$REPLY"
}

# Print the kernel log after MARK. If the marker has been pushed out of
# the ring buffer, the whole log is "after".
kmsg_since() {
	[ "$can_kmsg" = 1 ] || return 0
	dmesg | awk -v mark="$1" '
		index($0, mark) { n = 0; found = 1; next }
		{ lines[n++] = $0 }
		END { for (i = 0; i < n; i++) print lines[i] }'
}

# The lines of the kernel log after MARK that report a problem (the
# kernel is unhappy, whatever the test said), in PROBLEMS; in the KCSAN
# lane, that part of the log is kept in file KMSG for kcsan_check, which
# sorts its KCSAN reports. With the log followed (tests/kt_kmsg.bash),
# END is written into it and the lines up to it are read there, by bash
# alone; if END does not come, the log is read with dmesg from then on.
log_problems() {
	local mark=$1 end=$2 kmsg=$3

	PROBLEMS=
	[ "$can_kmsg" = 1 ] || return 0
	if [ "$kmsg_followed" = 1 ]; then
		echo "$end" >/dev/kmsg
		if kmsg_until "$end" 60; then
			if [ "$kcsan_reports" = 1 ]; then
				printf '%s\n' "${KMSG_LINES[@]}" >"$kmsg"
				PROBLEMS=$(kcsan-reports --strip "$kmsg" | kernel-failures)
			else
				kmsg_failures
				[ ${#KMSG_PROBLEMS[@]} -eq 0 ] ||
					printf -v PROBLEMS '%s\n' "${KMSG_PROBLEMS[@]}"
				PROBLEMS=${PROBLEMS%$'\n'}
			fi
			return 0
		fi
		echo "run.sh: no end marker in the kernel log's copy in 60 s: read with dmesg from now on"
		kmsg_followed=0
	fi
	if [ "$kcsan_reports" = 1 ]; then
		kmsg_since "$mark" >"$kmsg"
		PROBLEMS=$(kcsan-reports --strip "$kmsg" | kernel-failures)
	else
		PROBLEMS=$(dmesg | kernel-failures --after "$mark")
	fi
}

# The KCSAN lane: fail on the data races of kernel log KMSG that have a
# kchan frame, and list the others.
kcsan_check() {
	local name=$1 kmsg=$2 out status=0

	[ "$kcsan_reports" = 1 ] || return 0
	out=$(kcsan-reports "$kmsg") || status=$?
	case $status in
	0)	echo "$out" | grep '^noise: ' |
			sed "s/^noise: /run.sh: $name: KCSAN report without a kchan frame, not counted: /"
		;;
	1)	echo "run.sh: $name: KCSAN reports a data race in kchan: counted as 1 failure"
		echo "$out" | sed 's/^/  kernel: /'
		failed=$((failed + 1))
		;;
	*)	echo "run.sh: $name: cannot sort the KCSAN reports (tools/kcsan-reports: $status): counted as 1 failure"
		failed=$((failed + 1))
		;;
	esac
}

# A kselftest program's last line, its counts in BASH_REMATCH 1 to 6.
totals_re='# Totals: pass:([0-9]+) fail:([0-9]+) xfail:([0-9]+) xpass:([0-9]+) skip:([0-9]+) error:([0-9]+)'

# Count the result of a kselftest program from its "# Totals:" line.
count_kselftest() {
	local name=$1 status=$2 log=$3 totals line p f xf xp s e status_bad=0

	totals=''
	while IFS= read -r line; do
		[[ $line =~ ^$totals_re$ ]] && totals=$line
	done <"$log"
	if [ -z "$totals" ] && [ "$status" -eq 4 ]; then
		echo "run.sh: $name: skipped as a whole (exit status 4)"
		skipped=$((skipped + 1))
		return
	fi
	if [ -z "$totals" ]; then
		echo "run.sh: $name: exit status $status and no Totals line: counted as 1 failure"
		failed=$((failed + 1))
		return
	fi
	[[ $totals =~ $totals_re ]]
	p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} xf=${BASH_REMATCH[3]}
	xp=${BASH_REMATCH[4]} s=${BASH_REMATCH[5]} e=${BASH_REMATCH[6]}
	# An xfail is a failure the test itself declared expected: it passes.
	# An xpass (an expected failure that did not happen) passes as well.
	passed=$((passed + p + xf + xp))
	failed=$((failed + f + e))
	skipped=$((skipped + s))
	xfailed=$((xfailed + xf))
	# 2, 3, 4: the kselftest exit codes for xfail, xpass and skip.
	case $status in 0|2|3|4) ;; *) status_bad=1 ;; esac
	if [ "$status_bad" = 1 ] && [ $((f + e)) -eq 0 ]; then
		echo "run.sh: $name: exit status $status despite no failed test: counted as 1 failure"
		failed=$((failed + 1))
	fi
}

count_shell() {
	local name=$1 status=$2

	case $status in
	0)	passed=$((passed + 1)) ;;
	4)	skipped=$((skipped + 1)); echo "run.sh: $name: skipped" ;;
	*)	failed=$((failed + 1)); echo "run.sh: $name: failed (exit status $status)" ;;
	esac
}

# Count a Go test binary's result (run with -test.v) from its top-level
# "--- PASS:", "--- FAIL:" and "--- SKIP:" lines, as a Totals line.
count_gotest() {
	local name=$1 status=$2 log=$3 p f s r e=0

	p=$(grep -c '^--- PASS: ' "$log")
	f=$(grep -c '^--- FAIL: ' "$log")
	s=$(grep -c '^--- SKIP: ' "$log")
	r=$(grep -c '^=== RUN   [^/]*$' "$log")
	if [ "$r" -gt $((p + f + s)) ]; then
		e=$((r - p - f - s))
		echo "run.sh: $name: $e test(s) started and never finished (a panic, a timeout?): counted as failures"
	elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "run.sh: $name: exit status $status and no failed test: counted as 1 failure"
		e=1
	elif [ $((p + f + s)) -eq 0 ]; then
		echo "run.sh: $name: no test ran: counted as 1 failure"
		e=1
	fi
	echo "# Totals: pass:$p fail:$f xfail:0 xpass:0 skip:$s error:$e" >>"$log"
	count_kselftest "$name" $((f + e > 0 ? 1 : 0)) "$log"
}

# The CPU time, in clock ticks, of this shell's children that ended
# (user + system: fields 16 and 17 of /proc/PID/stat, after the name), in
# REPLY.
children_ticks() {
	local stat

	REPLY=0
	read -r stat </proc/$$/stat || return 0
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split into fields
	set -- $stat
	REPLY=$((${14} + ${15}))
}

# Seconds from EPOCHREALTIME $1 to now, with one decimal, in REPLY: bash
# arithmetic, as every process started in a guest under emulation costs a
# good part of a second.
secs_since() {
	local tenths=$(((${EPOCHREALTIME/./} - ${1/./}) / 100000))

	REPLY=$((tenths / 10)).$((tenths % 10))
}

# Copy a kselftest program's output to standard output and to LOG, and
# add to the run's list of tests a line "SECONDS PROGRAM TEST" for each
# test of PROGRAM that ended: from its "#  RUN" line to its result. Bash
# alone: a process started in a guest under emulation costs a good part
# of a second.
timed_tee() {
	local log=$1 prog=$2 line start='' name=''

	exec 3>"$log" 4>>"$workdir/tests"
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line"
		printf '%s\n' "$line" >&3
		case $line in
		"#  RUN "*)
			start=$EPOCHREALTIME
			name=${line#"#  RUN"}
			name=${name#"${name%%[! ]*}"}
			name=${name% ...}
			;;
		"ok "*|"not ok "*)
			if [ -n "$start" ]; then
				secs_since "$start"
				echo "$REPLY $prog $name" >&4
			fi
			start=''
			;;
		esac
	done
	exec 3>&- 4>&-
}

# Run one program: KIND is "kselftest", "unittest", "gotest" or "shell".
run_one() {
	local kind=$1 path=$2 n=$3 name mark log status problems start ticks
	local had_module wall cpu failed_before=$failed

	name=${path##*/}
	start=$EPOCHREALTIME
	children_ticks
	ticks=$REPLY
	had_module=0
	[ -d /sys/module/kchan ] && had_module=1
	log="$workdir/$n.log"
	echo "=== $name"
	kmsg_mark "$name" "$n"
	mark=$REPLY

	if [ "$kind" = shell ]; then
		timeout -k 10 "$timeout_s" bash "$path" 2>&1 | tee "$log"
	elif [ "$kind" = unittest ]; then
		timeout -k 10 "$timeout_s" python3 -B "$path" 2>&1 | tee "$log"
	elif [ "$kind" = gotest ]; then
		timeout -k 10 "$timeout_s" "$path" -test.v 2>&1 | tee "$log"
	else
		timeout -k 10 "$timeout_s" "$path" 2>&1 |
			timed_tee "$log" "$name"
	fi
	status=${PIPESTATUS[0]}
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		echo "run.sh: $name: timed out after ${timeout_s}s"
	fi

	if [ "$kind" = shell ]; then
		count_shell "$name" "$status"
	elif [ "$kind" = gotest ]; then
		count_gotest "$name" "$status" "$log"
	else
		count_kselftest "$name" "$status" "$log"
	fi

	if [ "$had_module" = 1 ] && [ ! -d /sys/module/kchan ]; then
		echo "run.sh: $name: left kchan unloaded: counted as 1 failure"
		failed=$((failed + 1))
		# The next programs need it: load it again.
		[ -n "${KCHAN_MODULE:-}" ] && insmod "$KCHAN_MODULE"
	fi

	log_problems "$mark" "${mark/start/end}" "$workdir/$n.kmsg"
	problems=$PROBLEMS
	kcsan_check "$name" "$workdir/$n.kmsg"
	if [ -n "$problems" ]; then
		echo "run.sh: $name: kernel log reports a problem: counted as 1 failure"
		echo "$problems" | sed 's/^/  kernel: /'
		failed=$((failed + 1))
	fi
	secs_since "$start"
	wall=$REPLY
	children_ticks
	ticks=$(((REPLY - ticks) * 10 / clk_tck))
	cpu=$((ticks / 10)).$((ticks % 10))
	echo "run.sh: $name: $wall s, cpu $cpu s"
	echo "$wall $cpu $name" >>"$workdir/times"
	[ "$failed" -gt "$failed_before" ] && note_failed "$name" "$log"
	return 0
}

# Add program $1's failed tests, from its log $2, to the list printed
# before the summary: a run's last lines then say what failed, however
# long its output was.
note_failed() {
	local name=$1 log=$2 line any=0

	while IFS= read -r line; do
		case $line in
		"not ok "*) line=${line#not ok }; line=${line#* } ;;
		"--- FAIL: "*|"FAIL: "*|"ERROR: "*) line=${line#*: } ;;
		*) continue ;;
		esac
		echo "run.sh: failed: $name: $line" >>"$workdir/failed"
		any=1
	done <"$log"
	[ "$any" = 1 ] || echo "run.sh: failed: $name" >>"$workdir/failed"
}

# Every program's share of the run, longest first.
print_times() {
	local total

	[ -s "$workdir/times" ] || return 0
	secs_since "$run_start"
	total=$REPLY
	sort -rn "$workdir/times" | awk -v total="$total" '
		{ printf "run.sh: time: %7.1f s %5.1f%%  cpu %7.1f s  %s\n",
			$1, (total > 0 ? 100 * $1 / total : 0), $2, $3
		  cpu += $2 }
		END { printf "run.sh: time: %7.1f s in all, cpu %.1f s, %d programs\n",
			total, cpu, NR }'
	[ -s "$workdir/tests" ] || return 0
	sort -rn "$workdir/tests" | head -n 15 |
		awk '{ printf "run.sh: slow test: %7.1f s  %s %s\n", $1, $2, $3 }'
}

# The programs to run, as "kind path" lines.
list_all() {
	local f

	for f in build/tests/* build/tests/stress/*; do
		[ -f "$f" ] && [ -x "$f" ] && echo "kselftest $f"
	done
	for f in tests/*.sh; do
		[ "$f" = tests/run.sh ] || echo "shell $f"
	done
	echo "unittest userlib/python/tests/python_kchan.py"
	echo "gotest build/go/kchan.test"
}

all=$(list_all)
if [ $# -eq 0 ]; then
	selected=$all
else
	selected=
	# Bash alone: a process per name (check-kernel names twenty a
	# guest) cost over a minute in a debug guest under emulation.
	for want in "$@"; do
		want=${want##*/}
		match=
		while read -r kind path; do
			base=${path##*/}
			case $base in
			*.sh|*.py|*.test) short=${base%.*} ;;
			*) short=$base ;;
			esac
			if [ "$base" = "$want" ] || [ "$short" = "$want" ]; then
				match+="$kind $path"$'\n'
			fi
		done <<<"$all"
		if [ -z "$match" ] && [ "$where" = host ]; then
			continue
		elif [ -z "$match" ] && [ "$list_only" = 1 ]; then
			echo "$want"
		elif [ -z "$match" ]; then
			echo "run.sh: $want: no such test program"
			failed=$((failed + 1))
		else
			selected+=$match
		fi
	done
fi
if [ "$where" != all ]; then
	# One grep for all of them: a process costs a good part of a second
	# in an emulated guest.
	host=$(grep -l -x '# run\.sh: host' tests/*.sh)
	selected=$(echo -n "$selected" | awk -v where="$where" -v host="$host" '
		BEGIN { n = split(host, h, "\n"); for (i = 1; i <= n; i++) on[h[i]] = 1 }
		NF && ($2 in on) == (where == "host")')
fi
if [ "$list_only" = 1 ]; then
	echo -n "$selected" | awk 'NF { sub(".*/", "", $2); print $2 }'
	exit 0
fi

[ "$where" = host ] || [ -e /dev/chanctl ] ||
	echo "run.sh: warning: /dev/chanctl is missing: is kchan.ko loaded?"

# The kernel log, followed (tests/kt_kmsg.bash): from the marker on.
kmsg_followed=0
if [ "$can_kmsg" = 1 ]; then
	mark="kchan-run: followed ${EPOCHREALTIME/./}"
	if kmsg_follow "$workdir/kmsg" "$workdir" &&
	   echo "$mark" >/dev/kmsg && kmsg_until "$mark" 60; then
		kmsg_followed=1
	else
		echo "run.sh: /dev/kmsg cannot be followed: read with dmesg after each program"
		kmsg_stop
	fi
fi

n=0
while read -r kind path; do
	[ -n "$kind" ] || continue
	n=$((n + 1))
	run_one "$kind" "$path" "$n" </dev/null
done <<<"$selected"

[ "$n" -gt 0 ] || echo "run.sh: no test program found (run 'make tests' first?)"
print_times
[ "$xfailed" -gt 0 ] && echo "run.sh: $xfailed expected failure(s) (xfail) counted as passed"
[ $((passed + failed)) -gt 0 ] || echo "run.sh: no test ran"
[ -s "$workdir/failed" ] && cat "$workdir/failed"

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
