#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tools/kcsan-reports, which decides the KCSAN lane, on canned kernel logs
# in 6.1's report format: a data race with a kchan frame in either stack
# fails, one inside the kernel's own code (the pipe_write race 6.1 has)
# passes as noise; --strip hides the reports from the splat checks and
# nothing else.
#
# Exit status: 0 pass, 1 fail (each failed check is printed).
#
# Few processes: under emulation each one costs a good part of a second.

# shellcheck source=tests/kt_tool.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt_tool.bash"

# Runs the tool on LOG; OUT and STATUS hold what it printed and returned.
sort_log() {
	STATUS=0
	OUT=$("$tool" "$@" 2>&1) || STATUS=$?
}

expect_status() {
	local what=$1 want=$2

	[ "$STATUS" -eq "$want" ] ||
		fail "$what: exit status $STATUS, expected $want; output:" $'\n'"$OUT"
}

# Succeeds if a line of OUT matches the extended regular expression RE.
has_line() {
	local re=$1 line

	while IFS= read -r line; do
		[[ $line =~ $re ]] && return 0
	done <<<"$OUT"
	return 1
}

expect_line() {
	has_line "$2" || fail "$1: no line matching '$2' in:" $'\n'"$OUT"
}

expect_no_line() {
	! has_line "$2" || fail "$1: a line matches '$2' in:" $'\n'"$OUT"
}

# The sample reports, built as 6.1 prints one: begin_report, then its
# stacks and lines, then end_report; the report is in $REPORT.
RULE='=================================================================='
STAMP=

# begin_report FIRST STAMP TITLE: FIRST stamps the opening rule, STAMP
# every other line.
begin_report() {
	REPORT="[$1] $RULE"$'\n'
	STAMP=$2
	line "BUG: KCSAN: $3"
	line ""
}

line() {
	REPORT+="[$STAMP] $1"$'\n'
}

# stack ACCESS FRAME...: one racing access, its frames innermost first;
# every stack ends in the system call entry.
stack() {
	local frame

	line "$1"
	shift
	for frame in "$@" do_syscall_64+0x3b/0x90 \
		entry_SYSCALL_64_after_hwframe+0x64/0xce; do
		line " $frame"
	done
	line ""
}

# end_report TASK: TASK is "CPU: n PID: n Comm: name" of the reporting task.
end_report() {
	line "Reported by Kernel Concurrency Sanitizer on:"
	line "$1 Tainted: G           O       6.1.0 #1"
	line "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014"
	line "$RULE"
}

# The race that panicked the lane: 6.1's own, met through a test's pipe.
begin_report '  412.091230' '  412.092011' \
	'data-race in generic_update_time / inode_needs_update_time'
stack 'write to 0xffff888003e2c1e8 of 16 bytes by task 612 on cpu 1:' \
	generic_update_time+0x8b/0x110 file_update_time+0x11f/0x130 \
	pipe_write+0x2ab/0x9d0 vfs_write+0x4d4/0x5a0 ksys_write+0x8d/0x120
stack 'read to 0xffff888003e2c1e8 of 8 bytes by task 611 on cpu 0:' \
	inode_needs_update_time+0x6e/0x150 file_update_time+0x3c/0x130 \
	pipe_write+0x2ab/0x9d0 vfs_write+0x4d4/0x5a0 ksys_write+0x8d/0x120
line 'value changed: 0x0000000019e4c0a1 -> 0x000000001a7b2d4f'
line ''
end_report 'CPU: 0 PID: 611 Comm: chan_select_str'
NOISE_REPORT=$REPORT

# A race in kchan's own code: module frames in both stacks.
begin_report '  518.301442' '  518.302017' \
	'data-race in kchan_poll [kchan] / kchan_wake_senders [kchan]'
stack 'write to 0xffff888004a1c0d0 of 4 bytes by task 733 on cpu 1:' \
	'kchan_wake_senders+0x4c/0x120 [kchan]' 'kchan_recv+0x1f3/0x380 [kchan]' \
	'kchan_read_iter+0x9e/0x140 [kchan]' vfs_read+0x3b1/0x4a0 ksys_read+0x8d/0x120
stack 'read to 0xffff888004a1c0d0 of 4 bytes by task 731 on cpu 0:' \
	'kchan_poll+0x2d/0x90 [kchan]' do_sys_poll+0x3a4/0x6c0 __x64_sys_poll+0x6e/0x1a0
line 'value changed: 0x00000001 -> 0x00000000'
line ''
end_report 'CPU: 0 PID: 731 Comm: chan_poll'
KCHAN_REPORT=$REPORT

# Both racing accesses in core code, kchan deep in the second stack only.
begin_report '  601.774120' '  601.774433' \
	'data-race in __wake_up_common / add_wait_queue'
stack 'write to 0xffff888004a1c118 of 8 bytes by task 802 on cpu 1:' \
	add_wait_queue+0x5e/0xb0 __pollwait+0xe1/0x130 do_sys_poll+0x3a4/0x6c0 \
	__x64_sys_poll+0x6e/0x1a0
stack 'read to 0xffff888004a1c118 of 8 bytes by task 803 on cpu 0:' \
	__wake_up_common+0x61/0x1c0 __wake_up+0x3d/0x60 \
	'kchan_close_locked+0x8a/0x140 [kchan]' 'kchan_ioctl+0x2b4/0x5e0 [kchan]' \
	__x64_sys_ioctl+0xb9/0xf0
end_report 'CPU: 0 PID: 803 Comm: chan_close'
DEEP_REPORT=$REPORT

# One stack only, and a module whose name merely contains "kchan".
begin_report '  700.100100' '  700.100200' 'data-race in do_nanosleep'
stack 'race at unknown origin, with read to 0xffffc900004bfd28 of 8 bytes by task 900 on cpu 1:' \
	do_nanosleep+0x101/0x290 hrtimer_nanosleep+0xa4/0x150 \
	'notkchan_helper+0x10/0x20 [notkchan]' 'kchan_lookalike+0x10/0x20 [kchan_extra]'
line 'value changed: 0xffff888003f1a000 -> 0x0000000000000000'
line ''
end_report 'CPU: 1 PID: 900 Comm: chan_torture'
UNKNOWN_ORIGIN_REPORT=$REPORT

IFS= read -r -d '' OTHER_LINES <<'EOF'
[  400.000001] kchan-run: start chan_select_stress #12 400000000001
[  400.000002] kchan: loaded
EOF

# Only the kernel's own races: noise, listed once per kind, with counts.
printf '%s' "$OTHER_LINES" "$NOISE_REPORT" "$NOISE_REPORT" \
	"$UNKNOWN_ORIGIN_REPORT" >"$tmp/noise.log"
sort_log "$tmp/noise.log"
expect_status "core races only" 0
expect_line "core races only" '^kcsan-reports: 3 report\(s\): 0 with a kchan frame, 3 noise$'
expect_line "core races only" '^noise: BUG: KCSAN: data-race in generic_update_time / inode_needs_update_time \(x2\)$'
expect_line "core races only" '^noise: BUG: KCSAN: data-race in do_nanosleep \(x1\)$'
expect_no_line "core races only" '^kchan: '

# A race in kchan's code fails, and is printed whole.
printf '%s' "$OTHER_LINES" "$NOISE_REPORT" "$KCHAN_REPORT" >"$tmp/kchan.log"
sort_log "$tmp/kchan.log"
expect_status "kchan race" 1
expect_line "kchan race" '^kcsan-reports: 2 report\(s\): 1 with a kchan frame, 1 noise$'
expect_line "kchan race" '^kchan: .*BUG: KCSAN: data-race in kchan_poll \[kchan\] / kchan_wake_senders \[kchan\]$'
expect_line "kchan race" 'kchan_wake_senders\+0x4c/0x120 \[kchan\]'
expect_line "kchan race" 'kchan_poll\+0x2d/0x90 \[kchan\]'
expect_line "kchan race" '^noise: BUG: KCSAN: data-race in generic_update_time'

# A report ends at its closing line: a warning's kchan frames after it
# are not the race's (the splat checks see the warning).
WARNING='[  412.200000] WARNING: CPU: 1 PID: 5 at kmod/chan.c:120 kchan_recv+0x1/0x2 [kchan]'
printf '%s%s\n%s\n' "$NOISE_REPORT" "$WARNING" \
	'[  412.200000]  kchan_recv+0x1/0x2 [kchan]' >"$tmp/after.log"
sort_log "$tmp/after.log"
expect_status "kchan frames after a report" 0
expect_line "kchan frames after a report" '^kcsan-reports: 1 report\(s\): 0 with a kchan frame, 1 noise$'

# A kchan frame anywhere in either stack makes it kchan's; the next
# report is not part of it.
printf '%s' "$DEEP_REPORT" "$NOISE_REPORT" >"$tmp/deep.log"
sort_log "$tmp/deep.log"
expect_status "kchan frame in the second stack" 1
expect_line "kchan frame in the second stack" '^kchan: .*data-race in __wake_up_common / add_wait_queue'
expect_line "kchan frame in the second stack" '^noise: BUG: KCSAN: data-race in generic_update_time'

# From stdin, with the console's carriage returns, and cut off inside a
# report: the report still counts.
cut=${KCHAN_REPORT%%value changed*}
sort_log - <<<"${cut//$'\n'/$'\r\n'}"
expect_status "stdin, CR LF, cut off" 1
expect_line "stdin, CR LF, cut off" '^kcsan-reports: 1 report\(s\): 1 with a kchan frame, 0 noise$'
expect_no_line "stdin, CR LF, cut off" $'\r'

# No report at all.
sort_log - <<<"$OTHER_LINES"
expect_status "no report" 0
expect_line "no report" '^kcsan-reports: 0 report\(s\): 0 with a kchan frame, 0 noise$'

# --strip: no KCSAN header is left for a splat check to match, and every
# other line is, a warning in the middle of a report included.
mixed=${NOISE_REPORT/$'\n[  412.092011] write to'/$'\n'$WARNING$'\n[  412.092011] write to'}
mixed+=$KCHAN_REPORT$OTHER_LINES
sort_log --strip - <<<"$mixed"
expect_status "--strip" 0
expect_no_line "--strip" 'BUG:'
expect_line "--strip" 'WARNING: CPU: 1 PID: 5 at kmod/chan.c:120'
expect_line "--strip" 'kchan: loaded$'
[ "$OUT" = "$(printf '%s\n' "$mixed" | { grep -v 'BUG: KCSAN: ' || :; })" ] ||
	fail "--strip: more than the headers went"

# Usage errors are not a verdict.
sort_log --bogus
expect_status "bad option" 2
sort_log "$tmp/does-not-exist"
expect_status "missing log" 2

[ "$bad" -eq 0 ] && echo "kcsan_reports: ok"
exit "$bad"
