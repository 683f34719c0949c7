#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tools/bench_profile.py, which turns tools/bench.sh --profile's guest
# output into bench/profile.md and profile.csv, on canned records: calls
# per op leave out the calls made in interrupt context, kernel functions
# fall in their groups (kchan's own from the module's function list),
# the report sets kchan's workload beside its target's peer with the
# difference by group and by function, its reading names the extra
# switches only when there are some and says so when the counts are
# close, lost events are flagged, and a malformed record is an error.
#
# One Python process makes every report (a process costs a good part of
# a second under emulation).
#
# Exit status: 0 pass, 1 fail (each failed check is printed).

# shellcheck source=tests/kt_tool.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt_tool.bash"
tool=$repo/tools/bench_profile.py

# T1, threads: kchan-c0 against eventfd and pipe, 10 round trips each.
# kchan per round trip: 3 own + 4 locking + 2 sched + 1 alloc + 1
# syscall = 11 calls, 3 irq calls aside; eventfd: 1 own + 2 locking +
# 1 sched + 1 syscall + 1 usercopy = 6; pipe 1 own + 1 sched + 1
# syscall = 3.
# T3, threads: within 5% (100 calls against 98 per message). T4: the
# batch makes 3 calls per message against 11. T5: io_uring adds 10 calls
# per round trip to kchan-c1 (20 against 10) and as many to a pipe (13
# against T1's blocking pipe, 3).
cat >"$tmp/t1.raw" <<'EOF'
kfn,kchan_offer
kfn,kchan_wait
kfn,kchan_msg_alloc
run,T1,threads,rtt,kchan-c0,8,0,10,round trip,1000,4.000,3.000,2.000
lost,T1/threads/kchan-c0,0
fn,T1/threads/kchan-c0,task,kchan_offer,20
fn,T1/threads/kchan-c0,task,kchan_wait,10
fn,T1/threads/kchan-c0,task,_raw_spin_lock,20
fn,T1/threads/kchan-c0,task,_raw_spin_unlock,20
fn,T1/threads/kchan-c0,task,try_to_wake_up,20
fn,T1/threads/kchan-c0,task,kmem_cache_alloc,10
fn,T1/threads/kchan-c0,task,__x64_sys_write,10
fn,T1/threads/kchan-c0,irq,_raw_spin_lock,30
run,T1,threads,rtt,eventfd,8,-,10,round trip,800,4.000,2.000,1.000
lost,T1/threads/eventfd,0
fn,T1/threads/eventfd,task,eventfd_write,10
fn,T1/threads/eventfd,task,_raw_spin_lock_irq,20
fn,T1/threads/eventfd,task,try_to_wake_up,10
fn,T1/threads/eventfd,task,__x64_sys_write,10
fn,T1/threads/eventfd,task,_copy_from_user,10
run,T1,threads,rtt,pipe,8,64KiB,10,round trip,900,4.000,3.000,2.000
lost,T1/threads/pipe,7
fn,T1/threads/pipe,task,pipe_write,10
fn,T1/threads/pipe,task,schedule,10
fn,T1/threads/pipe,task,__x64_sys_write,10
run,T3,threads,stream,kchan-c64,64,64,10,message,1000,2.000,1.000,0.500
lost,T3/threads/kchan-c64,0
fn,T3/threads/kchan-c64,task,kchan_offer,1000
run,T3,threads,stream,pipe,64,64KiB,10,message,1000,2.000,1.000,0.500
lost,T3/threads/pipe,0
fn,T3/threads/pipe,task,pipe_write,980
run,T4,threads,batch,kchan-c64-batch,64,64,10,message,100,0.030,0.010,0.010
lost,T4/threads/kchan-c64-batch,0
fn,T4/threads/kchan-c64-batch,task,kchan_msg_alloc,10
fn,T4/threads/kchan-c64-batch,task,__check_object_size,20
run,T4,threads,batch,kchan-c64,64,64,10,message,300,2.000,0.300,0.200
lost,T4/threads/kchan-c64,0
fn,T4/threads/kchan-c64,task,kchan_msg_alloc,10
fn,T4/threads/kchan-c64,task,__x64_sys_write,100
run,T5,threads,rtt,kchan-c1-uring,8,1,10,round trip,2000,4.000,2.000,2.000
lost,T5/threads/kchan-c1-uring,0
fn,T5/threads/kchan-c1-uring,task,io_issue_sqe,200
run,T5,threads,rtt,pipe-uring,8,64KiB,10,round trip,2000,4.000,2.000,2.000
lost,T5/threads/pipe-uring,0
fn,T5/threads/pipe-uring,task,io_issue_sqe,130
run,T5,threads,rtt,kchan-c1,8,1,10,round trip,1000,4.000,2.000,2.000
lost,T5/threads/kchan-c1,0
fn,T5/threads/kchan-c1,task,kchan_offer,100
EOF
printf 'kfn,kchan_offer\nrun,T1,threads\n' >"$tmp/bad.raw"

python3 - "$tool" "$tmp" >"$tmp/err" 2>&1 <<'PY' ||
import importlib.util, sys
spec = importlib.util.spec_from_file_location("bench_profile", sys.argv[1])
bp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bp)
tmp = sys.argv[2]
kfns, runs = bp.load(tmp + "/t1.raw")
bp.write_md(kfns, runs, [("date", "canned")], tmp + "/t1.md")
bp.write_csv(kfns, runs, tmp + "/t1.csv")
with open(tmp + "/groups", "w") as f:
    for fn in ("kchan_offer", "pipe_read", "eventfd_write", "io_issue_sqe",
               "tctx_task_work", "io_schedule", "try_to_wake_up",
               "__update_load_avg_se", "_copy_to_iter", "__check_object_size",
               "_raw_spin_lock_irqsave", "__rcu_read_lock", "kmem_cache_alloc",
               "__memcg_slab_post_alloc_hook", "__x64_sys_write", "__fdget_pos",
               "apparmor_file_permission", "nothing_known"):
        f.write("%s %s\n" % (fn, bp.group_of(fn, kfns)))
sys.argv = ["bench_profile.py", tmp + "/bad.raw", "--md", tmp + "/bad.md"]
print("bad status", bp.main())
PY
	fail "bench_profile.py failed: $(cat "$tmp/err")"

# expect FILE WHAT ERE: a line of $tmp/FILE matches ERE.
expect() {
	expect_line "$tmp/$1" "$2" "$3"
}

# not_expect FILE WHAT ERE: no line of $tmp/FILE matches ERE.
not_expect() {
	if grep -Eq -- "$3" "$tmp/$1"; then
		fail "$2: a line matches '$3' in $1:" $'\n'"$(grep -E -- "$3" "$tmp/$1")"
	fi
}

for g in "kchan_offer own" "pipe_read own" "eventfd_write own" \
	"io_issue_sqe uring" "tctx_task_work uring" "io_schedule sched" \
	"try_to_wake_up sched" "__update_load_avg_se sched" \
	"_copy_to_iter usercopy" "__check_object_size usercopy" \
	"_raw_spin_lock_irqsave locking" "__rcu_read_lock locking" \
	"kmem_cache_alloc alloc" "__memcg_slab_post_alloc_hook alloc" \
	"__x64_sys_write syscall" "__fdget_pos syscall" \
	"apparmor_file_permission syscall" "nothing_known other"; do
	expect groups "group of ${g% *}" "^$g\$"
done

expect t1.md "summary: kchan 11 calls per op, eventfd 6" \
	'^\| T1 \| threads \| kchan-c0 \| eventfd \| 11\.0 \| 6\.0 \| 1\.83 \| 3\.00 / 2\.00 \| round trip \|$'
expect t1.md "kchan by group, irq calls aside" \
	'^\| kchan-c0 \| 0 \| 10 \| 11\.0 \| 3\.0 \| 0\.0 \| 2\.0 \| 0\.0 \| 4\.0 \| 1\.0 \| 1\.0 \| 0\.0 \| 4\.00 \| 3\.00 \| 2\.00 \| 3\.0 \| 0 \|$'
expect t1.md "eventfd by group" \
	'^\| eventfd \| - \| 10 \| 6\.0 \| 1\.0 \| 0\.0 \| 1\.0 \| 1\.0 \| 2\.0 \| 0\.0 \| 1\.0 \| 0\.0 \|'
expect t1.md "functions beside every mechanism" \
	'^\| kchan_offer \| own \| 2\.00 \| 0\.00 \| 0\.00 \| \+2\.0 \|$'
expect t1.md "a function kchan calls less" \
	'^\| _raw_spin_lock_irq \| locking \| 0\.00 \| 2\.00 \| 0\.00 \| -2\.0 \|$'
expect t1.md "lost events flagged" 'lost events in this section'
expect t1.md "reading: the totals" \
	'kchan-c0 makes 11\.0 kernel calls per round trip in its tasks, eventfd 6\.0: \+5\.0 \(1\.83x\)'
expect t1.md "reading: the groups" \
	'By group: [^.]*own code[^.]* \+2\.0; locking and RCU \+2\.0;'
expect t1.md "reading: the extra switches and the rule" \
	'kchan-c0 switches 1\.00 more per round trip: a rendezvous send that finds no receiver blocked sleeps'
expect t1.md "reading: the allocation note, with counts" \
	'Allocation: 1\.0 calls per round trip \(eventfd 0\.0\) allocate messages that found no free slot'
expect t1.md "reading: why the waits" 'Wait and wake: .*\(\+1\.0 per round trip\.\)'
not_expect t1.md "no spinlock note: as many as eventfd's" 'Spinlocks taken'
not_expect t1.md "no kchan_offer note: one per transfer or less" 'kchan_offer: '
expect t1.md "reading: fewer calls named" \
	'makes fewer calls than eventfd in: usercopy and iov_iter \(-1\.0\)\.'
expect t1.md "against the second peer" '^Against pipe: kchan-c0 makes 11\.0 kernel calls per round trip in its tasks, pipe 3\.0'
expect t1.md "close counts: said so" \
	'kchan-c64 makes 100\.0 kernel calls per message in its tasks, pipe 98\.0: \+2\.0 \(1\.02x\).* within 5%'
# The T3 section (after its heading) has no switches sentence: equal.
sed -n '/^## T3/,$p' "$tmp/t1.md" >"$tmp/t3.md"
not_expect t3.md "no extra switches, no sentence" 'switches [0-9.]+ more'
not_expect t3.md "no lost events in T3" 'lost events'
expect t1.md "T4: what remains, per message" \
	'What remains of kchan-c64-batch.s 3\.0 calls per message \(usercopy 2\.0, own 1\.0\) is work a batch does not share'
expect t1.md "T4: the usercopy checks" 'Usercopy checks: 2\.0 calls per message \(kchan-c64 0\.0\)'
expect t1.md "T5: against blocking, with the pipe's" \
	'^Through io_uring against blocking calls: kchan-c1-uring makes 20\.0 calls per round trip against kchan-c1.s 10\.0 \(2\.00x, \+10\.0\); a pipe makes 13\.0 through io_uring against 3\.0 blocking \(T1.s row, 4\.33x, \+10\.0\)\. io_uring.s poll-retry path adds to kchan about what it adds to a pipe \(100% of it\)'
expect t1.csv "CSV: a function's row" \
	'^T1,threads,kchan-c0,rtt,8,0,10,round trip,4\.00,3\.00,2\.00,0,11\.000,3\.000,kchan_offer,own,2\.000$'
expect t1.csv "CSV: lost events in the row" '^T1,threads,pipe,.*,7,3\.000,0\.000,pipe_write,own,1\.000$'
expect err "a malformed record is an error" '^bench_profile\.py: .*bad\.raw: not a profile record: run,T1,threads$'
expect err "... with status 1" '^bad status 1$'

exit "$bad"
