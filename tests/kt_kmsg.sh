#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tests/kt_kmsg.bash, how tests/run.sh reads the kernel log after each
# program, on a canned copy of /dev/kmsg:
# - the records up to the first whose text holds the mark are read, the
#   mark's own included, each as dmesg prints it, dictionary lines not;
# - the next read goes on after it;
# - records read again (a restarted copy reads from the oldest) are
#   skipped by their sequence number;
# - what tools/kernel-failures counts is found, and nothing else;
# - a record half written is read whole once its end is there;
# - a mark that does not come gives status 1 after the time given.
#
# Exit status: 0 pass, 1 fail (each failed check is printed).

# shellcheck source=tests/kt_tool.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt_tool.bash"
# shellcheck source=tests/kt_kmsg.bash
. "$repo/tests/kt_kmsg.bash"

log=$tmp/kmsg
cat >"$log" <<'EOF2'
6,1,500,-;Linux version 6.1.0
4,2,900000,-;kchan: loading out-of-tree module taints kernel.
12,3,1000000,-;kchan-run: start A #1 5
6,4,1200000,-;kchan: a line of the program's
 SUBSYSTEM=chan
 DEVICE=c10:123
4,5,1300000,-;WARNING: CPU: 1 PID: 245 at kmod/chan.c:412 kchan_commit+0x9c/0xb0 [kchan]
12,6,1400000,-;kchan-run: end A #1 5
6,2,900000,-;kchan: loading out-of-tree module taints kernel.
12,3,1000000,-;kchan-run: start A #1 5
6,4,1200000,-;kchan: a line of the program's
4,5,1300000,-;WARNING: CPU: 1 PID: 245 at kmod/chan.c:412 kchan_commit+0x9c/0xb0 [kchan]
12,6,1400000,-;kchan-run: end A #1 5
12,7,2000000,-;kchan-run: start B #2 6
3,8,12345678,-;BUG: KASAN: slab-use-after-free in kchan_recv+0x1a/0x2b0 [kchan]
12,9,2500000,-;kchan-run: end B #2 6
EOF2

# expect_lines WHAT LINE...: KMSG_LINES is exactly LINE...
expect_lines() {
	local what=$1 want got

	shift
	printf -v want '%s\n' "$@"
	printf -v got '%s\n' "${KMSG_LINES[@]}"
	[ "$got" = "$want" ] || fail "$what: read"$'\n'"$got"'instead of'$'\n'"$want"
}

kmsg_open "$log" "$tmp" || fail "kmsg_open failed"
kmsg_until "end A #1" 1 || fail "the mark of A was not found"
expect_lines "up to A's end" \
	"[    0.000500] Linux version 6.1.0" \
	"[    0.900000] kchan: loading out-of-tree module taints kernel." \
	"[    1.000000] kchan-run: start A #1 5" \
	"[    1.200000] kchan: a line of the program's" \
	"[    1.300000] WARNING: CPU: 1 PID: 245 at kmod/chan.c:412 kchan_commit+0x9c/0xb0 [kchan]" \
	"[    1.400000] kchan-run: end A #1 5"
kmsg_failures
[ "${#KMSG_PROBLEMS[@]}" = 1 ] && [[ ${KMSG_PROBLEMS[0]} == *"WARNING: CPU: 1"* ]] ||
	fail "A's problems: ${KMSG_PROBLEMS[*]-none} (want the WARNING only)"

kmsg_until "end B #2" 1 || fail "the mark of B was not found"
expect_lines "after A, the records read again skipped" \
	"[    2.000000] kchan-run: start B #2 6" \
	"[   12.345678] BUG: KASAN: slab-use-after-free in kchan_recv+0x1a/0x2b0 [kchan]" \
	"[    2.500000] kchan-run: end B #2 6"
kmsg_failures
[ "${#KMSG_PROBLEMS[@]}" = 1 ] && [[ ${KMSG_PROBLEMS[0]} == *"BUG: KASAN:"* ]] ||
	fail "B's problems: ${KMSG_PROBLEMS[*]-none} (want the KASAN report only)"

printf '12,10,3000000,-;kchan-run: start C #3 7\n6,11,3100000,-;kchan: half' >>"$log"
start=$EPOCHREALTIME
if kmsg_until "end C #3" 1; then
	fail "a mark that is not in the log was found"
fi
tenths=$(((${EPOCHREALTIME/./} - ${start/./}) / 100000))
[ "$tenths" -ge 9 ] && [ "$tenths" -lt 50 ] ||
	fail "a missing mark waited $tenths tenths of a second, not 1 s"
printf ' written\n12,12,3200000,-;kchan-run: end C #3 7\n' >>"$log"
kmsg_until "end C #3" 1 || fail "the mark of C was not found once written"
expect_lines "a record half written, then whole" \
	"[    3.100000] kchan: half written" \
	"[    3.200000] kchan-run: end C #3 7"
kmsg_failures
[ "${#KMSG_PROBLEMS[@]}" = 0 ] || fail "C's problems: ${KMSG_PROBLEMS[*]} (want none)"

[ "$bad" = 0 ] && echo "kt_kmsg: the kernel log is read per program, each problem found once"
exit "$bad"
