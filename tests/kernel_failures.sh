#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tools/kernel-failures, the list of kernel log lines that fail a run
# (tools/vm and tests/run.sh both use it): a sample line of each kind of
# kernel report, in 6.1's words, is caught, and every pattern of the list
# catches one of them (none is dead or mistyped); ordinary lines of a
# healthy boot and of a test run, the fault-injection sweeps' included,
# are not. Also: console line ends, -A, -q, --after and a long report.
#
# Exit status: 0 pass, 1 fail (each failed check is printed).

# shellcheck source=tests/kt_tool.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt_tool.bash"

# One report of each kind, as the 6.1 kernel prints its first line.
cat >"$tmp/splats" <<'EOF'
[   12.104512] BUG: unable to handle page fault for address: ffffc90000a3b000
[   12.104512] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580
[   12.104512] WARNING: CPU: 1 PID: 245 at kmod/chan.c:412 kchan_commit+0x9c/0xb0 [kchan]
[   12.104512] Oops: 0000 [#1] PREEMPT SMP KASAN NOPTI
[   12.104512] Kernel panic - not syncing: kernel: panic_on_warn set ...
[   12.104512] general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN NOPTI
[   12.104512] Call Trace:
[   12.104512] KASAN: null-ptr-deref in range [0x0000000000000018-0x000000000000001f]
[   12.104512] BUG: KASAN: slab-use-after-free in kchan_recv+0x1a/0x2b0 [kchan]
[   12.104512] UBSAN: shift-out-of-bounds in kmod/chan.c:88:14
[   12.104512] BUG: KCSAN: data-race in kchan_match / kchan_recv
[   12.104512] WARNING: possible circular locking dependency detected
[   12.104512] WARNING: possible recursive locking detected
[   12.104512] WARNING: possible irq lock inversion dependency detected
[   12.104512] WARNING: inconsistent lock state
[   12.104512]  *** DEADLOCK ***
[   12.104512] WARNING: suspicious RCU usage
[   12.104512] INFO: task chan_close:312 blocked for more than 120 seconds.
[   12.104512] rcu: INFO: rcu_preempt self-detected stall on CPU
[   12.104512] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[   12.104512] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21004 jiffies s: 245 root: 0x2/.
[   12.104512] INFO: rcu_tasks detected stalls on tasks:
[   12.104512] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
[   12.104512] kmemleak: Cannot allocate a kmemleak_object structure
[   12.104512] kmemleak: Kernel memory leak detector disabled
[   12.104512] refcount_t: underflow; use-after-free.
[   12.104512] list_add corruption. prev->next should be next (ffff888003c1d2a8), but was ffff888003c1d2b8. (prev=ffff888003c1d2a8).
[   12.104512] list_del corruption, ffff88800b2e1c08->next is LIST_POISON1 (dead000000000100)
EOF

# What a healthy debug or KCSAN boot and a test run print, fault
# injection's expected failures included.
cat >"$tmp/ordinary" <<'EOF'
[    1.596617] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar
[    1.600012] kmemleak: Kernel memory leak detector initialized (mem pool available: 15927)
[    1.600013] kmemleak: Automatic memory scanning thread started
[    1.600020] kcsan: enabled early
[    1.600021] kcsan: strict mode configured
[    1.600030] rcu: 	RCU CPU stall warnings timeout set to 60 (rcu_cpu_stall_timeout).
[    1.622194] ACPI: setting ELCR to 0e00 (from 0c00)
[    2.056324] APIC calibration not consistent with PM-Timer: 371ms instead of 100ms
[    3.101010] clocksource: timekeeping watchdog on CPU1: Marking clocksource 'tsc' as unstable because the skew is too large:
[   56.528230] hrtimer: interrupt took 659185275 ns
[  104.345408] kchan: loading out-of-tree module taints kernel.
[  104.345409] kchan: module verification failed: signature and/or required key missing - tainting kernel
[  159.047063] kchan-run: start chan_faults #1 1796567518880585628
[  167.351928] kobject: can not set name properly!
[  167.481074] kobject_add_internal failed for chan (error: -12 parent: virtual)
[  167.481075] FAULT_INJECTION: forcing a failure.
[  170.000000] Run /init as init process
EOF

"$tool" --list >"$tmp/patterns" || fail "--list failed"
npatterns=$(wc -l <"$tmp/patterns")
[ "$npatterns" -ge 20 ] || fail "--list gives $npatterns patterns"
mapfile -t splats <"$tmp/splats"

# Each sample is a failure, and is printed (one run: processes are slow
# under emulation).
out=$("$tool" "$tmp/splats") || fail "no sample caught"
[ "$out" = "$(cat "$tmp/splats")" ] ||
	fail "not every sample caught:"$'\n'"$(diff <(echo "$out") "$tmp/splats")"

# Each pattern catches a sample: none is dead or mistyped (with the
# tool's awk, whose input lines keep their backslashes).
dead=$(awk 'NR == FNR { re[n++] = $0; next }
	{ for (i = 0; i < n; i++) if ($0 ~ re[i]) hit[i] = 1 }
	END { for (i = 0; i < n; i++) if (!hit[i]) print re[i] }' "$tmp/patterns" "$tmp/splats")
[ -z "$dead" ] || fail "patterns that catch no sample:"$'\n'"$dead"

# No ordinary line is.
out=$("$tool" "$tmp/ordinary") && fail "ordinary lines caught:"$'\n'"$out"
[ -z "$out" ] || fail "printed for the ordinary log: $out"

# A real log: ordinary lines around one report, with the console's
# CR LF, from stdin; -A prints the lines after it, -q nothing.
{ head -n 8 "$tmp/ordinary"; echo "${splats[2]}"; tail -n +9 "$tmp/ordinary"; } |
	sed 's/$/\r/' >"$tmp/console"
out=$("$tool" -A 2 <"$tmp/console") || fail "-A 2: the report is not caught"
[ "$out" = "$(sed -n '9,11p' "$tmp/console" | tr -d '\r')" ] || fail "-A 2 printed: $out"
out=$("$tool" -q "$tmp/console") || fail "-q: the report is not caught"
[ -z "$out" ] || fail "-q printed: $out"

# A long report decides as a short one, however little of it is read.
for i in {1..3000}; do echo "${splats[2]}"; done >"$tmp/long"
[ "$("$tool" -A 8 "$tmp/long" | head -n 1)" = "${splats[2]}" ] ||
	fail "a long report is not printed"
"$tool" -q "$tmp/long" || fail "a long report is not caught"

# --after: only what follows the last line with the mark counts, all of
# the log if no line has it; -A does not reach back over a mark.
mark="kchan-run: start chan_close #3 1796608445613682170"
{ echo "${splats[0]}"; echo "$mark"; cat "$tmp/ordinary"; } >"$tmp/marked"
out=$("$tool" --after "$mark" "$tmp/marked") &&
	fail "--after: a report before the mark is caught: $out"
{ cat "$tmp/marked"; echo "${splats[2]}"; echo "$mark"; echo "${splats[3]}"; } |
	"$tool" -A 1 --after "$mark" >"$tmp/out" ||
	fail "--after: a report after the last mark is not caught"
[ "$(cat "$tmp/out")" = "${splats[3]}" ] ||
	fail "--after -A 1 printed: $(cat "$tmp/out")"
out=$("$tool" --after "kchan-run: start other #9 1" "$tmp/marked") ||
	fail "--after a mark not in the log: the report is not caught"
[ "$out" = "${splats[0]}" ] || fail "--after a missing mark printed: $out"
"$tool" --after </dev/null >/dev/null 2>&1
[ $? -eq 2 ] || fail "--after without a mark does not exit with 2"

"$tool" -x </dev/null >/dev/null 2>&1
[ $? -eq 2 ] || fail "a bad option does not exit with 2"

[ "$bad" = 0 ] && echo "kernel_failures: ${#splats[@]} reports caught, $npatterns patterns used, ordinary lines passed"
exit "$bad"
