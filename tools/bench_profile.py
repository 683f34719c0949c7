#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn tools/bench.sh --profile's guest output into a report.

    tools/bench_profile.py RAW [--csv OUT.csv] [--md OUT.md]
                           [--meta KEY=VALUE]...

RAW is what the guest printed between its markers, one record a line:

    kfn,FUNCTION                  a function of the kchan module
    run,TARGET,MODE,BENCH,MECHANISM,SIZE,CAPACITY,N,UNIT,NS_PER_OP,
        SYSCALLS,SWITCHES,WAKEUPS    chanbench --profile's counts per op
    lost,ID,EVENTS                events the trace buffer lost
    fn,ID,task|irq,FUNCTION,CALLS calls of FUNCTION in the traced part

ID is TARGET/MODE/MECHANISM. A target's first mechanism is kchan's, the
others its peers (chanbench's profile.c). --csv writes one row per
workload, context and function with its calls per op; --md the report:
per target and mode, the calls per op by group beside the peers', the
functions that differ most, and a reading of the difference, each
sentence chosen by what was measured. Standard library only.
"""

import argparse
import csv
import re
import sys

# The groups a kernel function is counted in, in the order they are
# tried; a function is in the first whose pattern matches (kchan's and
# the peers' own code are tried first, from the kchan function list).
OWN = "own"
GROUPS = [
    (OWN, "the mechanism's own code (kchan module; pipe_*, eventfd_*)",
     re.compile(r"^(pipe_|anon_pipe|__pipe|eventfd_|do_eventfd)")),
    ("uring", "io_uring and task_work",
     re.compile(r"^(__)?(io_(?!schedule)|tctx_|task_work)")),
    ("sched", "wait, wake-up and scheduler",
     re.compile(r"sched|wake|wait|ttwu|enqueue|dequeue|pick_next|put_prev"
                r"|set_next|check_preempt|resched|update_curr|load_avg"
                r"|update_cfs|update_rq|psi_|cpuacct|finish_task_switch"
                r"|switch_to|switch_mm|prepare_task|context_switch"
                r"|rcu_note_context|select_task_rq|reweight|place_entity"
                r"|yield|hrtick|vruntime|clear_buddies|check_spread"
                r"|record_times|_entity|newidle_balance|balance_"
                r"|rq_clock|__calc_delta|account_|cgroup_rstat"
                r"|ioprio|check_cfs_rq|__update_idle|membarrier")),
    ("usercopy", "usercopy and iov_iter",
     re.compile(r"copy_(to|from)_user|_copy_(to|from)_iter|copy_user"
                r"|check_object_size|check_heap_object|check_stack_object"
                r"|^is_vmalloc_addr$"
                r"|virt_addr_valid|iov_iter|import_single_range"
                r"|import_iovec|copy_page_|fault_in|rep_movs"
                r"|strncpy_from_user|__get_user|__put_user|memcpy")),
    ("locking", "locking and RCU",
     re.compile(r"spin_lock|spin_unlock|spin_trylock|mutex_|rwsem"
                r"|down_read|up_read|down_write|up_write|rcu_read"
                r"|_raw_|queued_|seqcount|lock_acquire|lock_release")),
    ("alloc", "allocation and memory cgroup",
     re.compile(r"kmalloc|kmem_cache|kfree|slab|alloc_pages|free_pages"
                r"|free_unref|memcg|mem_cgroup|obj_cgroup|objcg"
                r"|obj_stock|kvmalloc|kvfree|vmalloc|get_page_from_freelist"
                r"|__kmem|failslab|page_counter|percpu_counter")),
    ("syscall", "syscall entry and exit, fd lookup, permission checks",
     re.compile(r"^(do_syscall|syscall_|__x64_sys_|x64_sys_call|ksys_"
                r"|__do_sys|vfs_|fdget|__fdget|__fget|fget|fput|__fput"
                r"|rw_verify_area|security_|apparmor_|aa_|bpf_lsm"
                r"|fsnotify|__fsnotify|file_|new_sync_|do_iter"
                r"|exit_to_user|entry_|__sb_|touch_atime|atime_needs"
                r"|current_time|ktime_get|fpregs|switch_fpu|fpu_|xfd_"
                r"|__rseq|rseq_|audit|__audit|inode_|do_readv|do_writev"
                r"|__arch_|arch_exit)")),
]
OTHER = ("other", "the rest")
GROUP_IDS = [g[0] for g in GROUPS] + [OTHER[0]]
GROUP_LABEL = dict([(g[0], g[1]) for g in GROUPS] + [OTHER])

# What each target's workloads are, and the peer its difference is read
# against (the first peer of the target's workloads when absent).
TARGETS = {
    "T1": ("rendezvous RTT 8 B", "eventfd"),
    "T3": ("stream 64 B, capacity 64", "pipe"),
    "T4": ("batched stream 64 B, 64 per call, against one per call",
           "kchan-c64"),
    "T5": ("io_uring RTT 8 B, capacity 1", "pipe-uring"),
}

# Why a group's extra calls per op are there, for the groups whose
# difference to the peer no function note below explains: keyed by
# (target, group), or (None, group) for every target.
WHY = {
    (None, "sched"):
        "Wait and wake: these follow the context switches and wake-ups "
        "per op; each sleep costs the scheduler's dequeue, pick and "
        "enqueue (update_curr, __update_load_avg_*, psi_*), the same "
        "functions the peer calls per switch.",
    (None, "syscall"):
        "Syscall entry, fd lookup and permission checks follow the "
        "syscalls per op; nothing in them is kchan's.",
    (None, "uring"):
        "io_uring: a request that cannot complete at once is parked on "
        "the file's poll queue and issued again from task_work when the "
        "other side's wake-up arrives (contract 5: no io-wq worker).",
    ("T1", "sched"):
        "Wait and wake: the scheduler's calls of those switches. "
        "Inherent to a rendezvous: a sender that spins briefly before "
        "sleeping could save some on hardware, not on a pinned pair.",
    ("T3", "sched"):
        "Wait and wake: the scheduler's calls of those switches. The "
        "contract asks for the blocked sender's completion, not for an "
        "immediate wake-up: a sync wake-up, as pipe's, or one per "
        "several freed slots, could still cut them.",
}

# Notes on kchan's own functions: (PATTERN, TARGETS, CAPACITY, OVER,
# TEXT), each used when kchan calls the functions matching PATTERN
# (summed, per op) at least 0.5 more often than the peer and more than
# OVER times, in TARGETS (None: all) and, if CAPACITY is set, on
# channels of that capacity only. TEXT is formatted with v (kchan's
# calls per op), p (the peer's), peer, unit and fns (the functions).
FN_NOTES = [
    (r"^_raw_spin_lock(_irq|_irqsave|_bh)?$", None, None, 0,
     "Spinlocks taken: %(v).1f per %(unit)s against %(peer)s's %(p).1f. kchan "
     "takes the channel lock at each offer and again to settle each "
     "receive of a rendezvous or claimed message, because the receiver "
     "copies the message out with no lock held and the sender may "
     "complete only once that copy succeeded (contract 3, nothing "
     "lost); a small buffered message is copied out and settled in one "
     "hold (kchan_recv_head()). kchan takes the waiter's lock "
     "at each commit and once more in kchan_wait() after the wake-up "
     "(the committer must have let go of the waiter before it returns). "
     "The peers take one lock, or a mutex, per call."),
    (r"^kchan_offer$", ("T1",), "0", 4.5,
     "kchan_offer: %(v).1f per %(unit)s for 2 sends and 2 receives: a "
     "rendezvous receive that finds no sender queued offers once without "
     "queuing (KCHAN_OFFER_NOQUEUE) and, its buffer faulted in, again, "
     "so that a non-blocking sender can count on a queued receiver's "
     "copy not faulting (contract 2). Faulting the buffer in before the "
     "first offer would make that one offer, one lock hold less."),
    (r"^kchan_fill(_done)?$", ("T1",), "0", 0,
     "A rendezvous send that finds its receiver blocked in the same "
     "address space copies the message into the receiver's buffer "
     "itself (kchan_fill_done(): %(v).1f per %(unit)s), after it was "
     "copied in from the sender's buffer to a slot of the channel: two "
     "copies where one from the sender's buffer would do."),
    (r"^(kchan_msg_alloc|kchan_msg_free|kchan_user_(charge_bytes|"
     r"uncharge_bytes|current|try|put)|kmem_cache_alloc|kmem_cache_free|"
     r"__slab_free|should_failslab|.*memcg.*|.*obj_?cgroup.*|"
     r".*objcg.*|.*obj_stock.*)$", None, None, 0,
     "Allocation: %(v).1f calls per %(unit)s (%(peer)s %(p).1f) allocate "
     "messages that found no free slot of their channel (slots.c: "
     "channels of messages up to 256 bytes keep capacity + 2 of them) "
     "at send and free them at receive, charged to the sender's byte "
     "budget and to the memory cgroup (contract 1: GFP_KERNEL_ACCOUNT); "
     "a pipe writes into pages it keeps and eventfd adds to a counter."),
    (r"^(__check_object_size|__check_heap_object|check_stack_object|"
     r"__virt_addr_valid|is_vmalloc_addr)$", ("T4",), None, 0,
     "Usercopy checks: %(v).1f calls per %(unit)s (%(peer)s %(p).1f): the "
     "batch copies each message with copy_from_user() and "
     "copy_to_user_nofault(), which run hardened usercopy's object "
     "checks on the slab object; the one-per-call path copies with "
     "_copy_from_iter()/_copy_to_iter(), which do not. The same unchecked "
     "copy in the batch, whose bounds kchan already checks against the "
     "message, would remove them."),
    (r"^kchan_(unlock|first_live|wake_pollers_nr|take_how|eof|"
     r"cargo_count|cargo_drop|waiter_wake.*|settle_run|buffer_take|"
     r"match|unqueue)$", None, None, 0,
     "Small helpers called out of line per transfer: %(fns)s. "
     "kchan_wake_pollers_nr() runs after every change that may make "
     "the other side ready (contract 5: every readiness transition "
     "wakes pollers) and returns at once when nobody polls; "
     "kchan_first_live() scans a queue past the tickets of selects "
     "committed elsewhere (contract 6); kchan_unlock() wakes, after "
     "dropping the lock, the tasks committed under it; kchan_cargo_*() "
     "look for channels carried in the message. Inlining the common "
     "case of each (no poller, no select, no cargo) would remove these "
     "calls without touching a rule."),
]

# What kchan's calls that remain per op are, when it makes fewer than
# the peer (a batch against one message per call).
WHY_REMAINS = {
    "T4": "work a batch does not share between its messages: each "
          "takes a slot (or is allocated and charged), is copied in and "
          "out and settled on its own (kchan_slot_get, kchan_buffer_take, "
          "kchan_settle_locked: one each per message), as exactly-once "
          "delivery of each message needs; the offer, lock and wake-up "
          "are per call already",
}

# The extra switches per op, when kchan makes more than its peer.
WHY_SWITCHES = {
    "T1": "a rendezvous send that finds no receiver blocked sleeps until "
          "one has taken the message (contract 2), where eventfd's and "
          "pipe's writers return at once",
    "T3": "each receive from a full buffer moves the first blocked "
          "sender's message in and completes that sender (contract 3), "
          "which kchan wakes as soon as the receive drops the channel "
          "lock (wake_up_process()); a stream of a pinned pair switches "
          "at best twice per capacity + 1 messages (2 / 65 = 0.031 per "
          "message), where a pipe's 64 KiB holds 1024 such messages and "
          "its blocked writer is woken when a whole page (64 of them) is "
          "free",
    "T4": "a batched send blocks when the buffer is full and resumes "
          "when a receive frees room",
    "T5": "each request that cannot complete at once waits on the "
          "file's poll queue for the other side's wake-up",
}


def load(path):
    """The records of RAW: kchan functions, runs, losses and counts."""
    kfns, runs, lost, calls = set(), {}, {}, {}
    with open(path, newline="") as f:
        for rec in csv.reader(f):
            if not rec:
                continue
            kind = rec[0]
            if kind == "kfn" and len(rec) == 2:
                kfns.add(rec[1])
            elif kind == "run" and len(rec) == 13:
                r = dict(zip(("target", "mode", "bench", "mech", "size",
                              "cap", "n", "unit"), rec[1:9]))
                r["n"] = int(r["n"])
                r["ns"], r["sys"], r["sw"], r["wk"] = map(float, rec[9:13])
                r["id"] = "%s/%s/%s" % (r["target"], r["mode"], r["mech"])
                runs[r["id"]] = r
            elif kind == "lost" and len(rec) == 3:
                lost[rec[1]] = int(rec[2])
            elif kind == "fn" and len(rec) == 5:
                c = calls.setdefault(rec[1], {"task": {}, "irq": {}})
                c[rec[2]][rec[3]] = c[rec[2]].get(rec[3], 0) + int(rec[4])
            else:
                raise ValueError("%s: not a profile record: %s"
                                 % (path, ",".join(rec)))
    for wid, r in runs.items():
        r["lost"] = lost.get(wid, 0)
        c = calls.get(wid, {"task": {}, "irq": {}})
        r["fn"] = {k: v / r["n"] for k, v in c["task"].items()}
        r["irq"] = sum(c["irq"].values()) / r["n"]
        r["total"] = sum(r["fn"].values())
    return kfns, runs


def group_of(fn, kfns):
    """The group of kernel function @fn (kfns: the kchan module's)."""
    if fn in kfns:
        return OWN
    for gid, _, pat in GROUPS:
        if pat.search(fn):
            return gid
    return OTHER[0]


def by_group(r, kfns):
    g = dict.fromkeys(GROUP_IDS, 0.0)
    for fn, v in r["fn"].items():
        g[group_of(fn, kfns)] += v
    return g


def sections(runs):
    """(target, mode, [runs, kchan's first]) in the runs' order."""
    out = {}
    for r in runs.values():
        out.setdefault((r["target"], r["mode"]), []).append(r)
    return [(t, m, rs) for (t, m), rs in out.items()]


def peer_of(target, rs):
    want = TARGETS.get(target, (None, None))[1]
    for r in rs[1:]:
        if r["mech"] == want:
            return r
    return rs[1] if len(rs) > 1 else None


def f1(v):
    return "%.1f" % v


def f2(v):
    return "%.2f" % v


def signed(v):
    return "%+.1f" % v


def md_table(header, lines):
    out = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in ln) + " |" for ln in lines]
    return "\n".join(out) + "\n"


def top_functions(rs, peer, limit=15):
    """The functions that differ most between rs[0] and @peer, with
    those that are among the most called of either."""
    k = rs[0]
    names = set(k["fn"]) | set(peer["fn"])

    def diff(fn):
        return k["fn"].get(fn, 0) - peer["fn"].get(fn, 0)
    pick = set(sorted(names, key=lambda fn: -abs(diff(fn)))[:limit])
    for r in (k, peer):
        pick |= set(sorted(r["fn"], key=lambda fn: -r["fn"][fn])[:5])
    return sorted(pick, key=lambda fn: (-abs(diff(fn)), fn))


def reading(target, rs, peer, kfns):
    """Sentences on what kchan's workload does that @peer's does not,
    each chosen by what was measured."""
    k = rs[0]
    unit = k["unit"]
    gk, gp = by_group(k, kfns), by_group(peer, kfns)
    d = k["total"] - peer["total"]
    out = []
    out.append(
        "%s makes %s kernel calls per %s in its tasks, %s %s: %s (%sx). "
        "Syscalls per %s: %s against %s; context switches %s against %s; "
        "wake-ups %s against %s."
        % (k["mech"], f1(k["total"]), unit, peer["mech"], f1(peer["total"]),
           signed(d), f2(k["total"] / peer["total"]) if peer["total"] else "-",
           unit, f2(k["sys"]), f2(peer["sys"]), f2(k["sw"]), f2(peer["sw"]),
           f2(k["wk"]), f2(peer["wk"])))
    if abs(d) < 0.05 * max(peer["total"], 1):
        out.append("The two are within 5% of each other: what remains of "
                   "the time ratio is not in the number of kernel calls.")
        return out
    diffs = sorted(((gk[g] - gp[g], g) for g in GROUP_IDS),
                   key=lambda x: -abs(x[0]))
    big = [(v, g) for v, g in diffs
           if abs(v) >= max(1.0, 0.1 * abs(d))]
    out.append("By group: " + "; ".join(
        "%s %s" % (GROUP_LABEL[g], signed(v)) for v, g in big) + ".")
    if d > 0 and k["sw"] > peer["sw"] + 0.1 and target in WHY_SWITCHES:
        out.append("%s switches %s more per %s: %s."
                   % (k["mech"], f2(k["sw"] - peer["sw"]), unit,
                      WHY_SWITCHES[target]))
    for pat, targets, cap, over, text in FN_NOTES:
        if (targets and target not in targets) or \
                (cap is not None and k["cap"] != cap):
            continue
        rx = re.compile(pat)
        fk = {fn: c for fn, c in k["fn"].items() if rx.search(fn)}
        v = sum(fk.values())
        p = sum(c for fn, c in peer["fn"].items() if rx.search(fn))
        if v - p < 0.5 or v <= over:
            continue
        fns = ", ".join("%s %s" % (fn, f1(fk[fn]))
                        for fn in sorted(fk, key=lambda x: (-fk[x], x))
                        if fk[fn] >= 0.5)
        out.append(text % dict(v=v, p=p, peer=peer["mech"], unit=unit,
                               fns=fns))
    for v, g in big:
        why = WHY.get((target, g)) or WHY.get((None, g))
        if v > 0 and why:
            out.append("%s (%s per %s.)" % (why, signed(v), unit))
    if d < 0 and target in WHY_REMAINS:
        out.append("What remains of %s's %s calls per %s (%s) is %s."
                   % (k["mech"], f1(k["total"]), unit, ", ".join(
                       "%s %s" % (g, f1(gk[g])) for g in
                       sorted(GROUP_IDS, key=lambda x: -gk[x])
                       if gk[g] >= 0.5), WHY_REMAINS[target]))
    fewer = [(v, g) for v, g in big if v < 0]
    if fewer:
        out.append("%s makes fewer calls than %s in: %s."
                   % (k["mech"], peer["mech"], ", ".join(
                       "%s (%s)" % (GROUP_LABEL[g], signed(v))
                       for v, g in fewer)))
    return out


def uring_note(rs, runs, kfns):
    """For io_uring against blocking calls: what io_uring's path adds to
    kchan's blocking calls, beside what it adds to a pipe's (the pipe's
    blocking round trip from T1's workloads of the same mode)."""
    k = rs[0]
    if not k["mech"].endswith("-uring"):
        return None
    base = [r for r in rs if r["mech"] == k["mech"][:-len("-uring")]]
    pu = [r for r in rs if r["mech"] == "pipe-uring"]
    pb = runs.get("T1/%s/pipe" % k["mode"])
    if not base or not pu or not pb or not base[0]["total"] or \
            not pb["total"]:
        return None
    base, pu = base[0], pu[0]
    add_k = k["total"] - base["total"]
    add_p = pu["total"] - pb["total"]
    share = add_k / add_p if add_p > 0 else None
    if share is not None and 0.8 <= share <= 1.25:
        verdict = ("io_uring's poll-retry path adds to kchan about what it "
                   "adds to a pipe (%s of it): what separates %s from "
                   "blocking %s is io_uring's path, not kchan's"
                   % ("%.0f%%" % (100 * share), k["mech"], base["mech"]))
    elif share is not None and share > 1.25:
        verdict = ("io_uring's path adds more to kchan than to a pipe "
                   "(%.0f%% of it): part of what separates %s from "
                   "blocking %s is kchan's" % (100 * share, k["mech"],
                                               base["mech"]))
    else:
        verdict = ("io_uring's path adds less to kchan than to a pipe%s"
                   % (" (%.0f%% of it)" % (100 * share)
                      if share is not None else ""))
    return ("Through io_uring against blocking calls: %s makes %s calls "
            "per %s against %s's %s (%sx, %s); a pipe makes %s through "
            "io_uring against %s blocking (T1's row, %sx, %s). %s."
            % (k["mech"], f1(k["total"]), k["unit"], base["mech"],
               f1(base["total"]), f2(k["total"] / base["total"]),
               signed(add_k), f1(pu["total"]), f1(pb["total"]),
               f2(pu["total"] / pb["total"]), signed(add_p), verdict))


def write_md(kfns, runs, meta, path):
    out = ["# Kernel function profile\n",
           "Written by `tools/bench.sh --profile` (tools/bench_profile.py) "
           "from one guest's run; every number is from its "
           "`profile.csv`.\n"]
    out += ["- %s: %s" % kv for kv in meta]
    out.append(
        "\nEach workload ran one batch of `chanbench --profile ID` "
        "with tracefs's function tracer on for the batch's measured "
        "part; the calls of the workload's own tasks were counted. "
        "*Calls per op* "
        "counts every traced kernel function call in those tasks per "
        "round trip or message, both sides together; calls made in "
        "interrupt context (timer ticks and the like) are counted apart "
        "(*irq*) and left out of the rest. These are counts, not times: "
        "emulation does not change them. Functions the compiler "
        "inlined, the tracer's own and the copy routines (assembly) "
        "are not counted: a call here is an out-of-line kernel function "
        "entered, whatever its size, so compare counts of the same "
        "function, not a count with a time. The switches per op, and "
        "with them the scheduler's calls, depend on when the pinned pair "
        "is preempted, which moves between runs; the calls of the "
        "mechanisms' own code do not. Groups: "
        + "; ".join("*%s*: %s" % (g, GROUP_LABEL[g]) for g in GROUP_IDS)
        + ".\n")
    summary = []
    for target, mode, rs in sections(runs):
        peer = peer_of(target, rs)
        if not peer:
            continue
        k = rs[0]
        summary.append((target, mode, k["mech"], peer["mech"],
                        f1(k["total"]), f1(peer["total"]),
                        f2(k["total"] / peer["total"])
                        if peer["total"] else "-",
                        "%s / %s" % (f2(k["sw"]), f2(peer["sw"])),
                        k["unit"]))
    out.append("## Summary\n")
    out.append(md_table(
        ("target", "mode", "kchan", "peer", "kchan calls per op",
         "peer calls per op", "ratio", "switches per op, kchan / peer",
         "op"), summary))
    for target, mode, rs in sections(runs):
        what = TARGETS.get(target, (target, None))[0]
        out.append("## %s, %s, %s: %s against %s\n"
                   % (target, what, mode, rs[0]["mech"],
                      ", ".join(r["mech"] for r in rs[1:])))
        lines = []
        for r in rs:
            g = by_group(r, kfns)
            lines.append([r["mech"], r["cap"], r["n"], f1(r["total"])] +
                         [f1(g[x]) for x in GROUP_IDS] +
                         [f2(r["sys"]), f2(r["sw"]), f2(r["wk"]),
                          f1(r["irq"]), r["lost"]])
        out.append("Per %s:\n" % rs[0]["unit"])
        out.append(md_table(
            ["mechanism", "capacity", "ops traced", "calls"] + GROUP_IDS +
            ["syscalls", "switches", "wake-ups", "irq calls",
             "events lost"], lines))
        peer = peer_of(target, rs)
        if not peer:
            continue
        if any(r["lost"] for r in rs):
            out.append("**The trace buffer lost events in this section: "
                       "its counts are too low.**\n")
        fns = top_functions(rs, peer)
        out.append("The functions that differ most from %s, and the most "
                   "called of either (calls per %s):\n"
                   % (peer["mech"], rs[0]["unit"]))
        lines = []
        for fn in fns:
            lines.append([fn, group_of(fn, kfns)] +
                         [f2(r["fn"].get(fn, 0)) for r in rs] +
                         [signed(rs[0]["fn"].get(fn, 0) -
                                 peer["fn"].get(fn, 0))])
        out.append(md_table(["function", "group"] +
                            [r["mech"] for r in rs] +
                            ["%s - %s" % (rs[0]["mech"], peer["mech"])],
                            lines))
        out.append("**Reading.** " + " ".join(
            reading(target, rs, peer, kfns)) + "\n")
        for other in rs[1:]:
            if other is peer:
                continue
            out.append("Against %s: " % other["mech"] + " ".join(
                reading(target, rs, other, kfns)[:2]) + "\n")
        note = uring_note(rs, runs, kfns)
        if note:
            out.append(note + "\n")
    with open(path, "w") as f:
        f.write("\n".join(out))


def write_csv(kfns, runs, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("target", "mode", "mechanism", "bench", "size",
                    "capacity", "ops", "unit", "syscalls_per_op",
                    "switches_per_op", "wakeups_per_op", "events_lost",
                    "calls_per_op", "irq_calls_per_op", "function",
                    "group", "function_calls_per_op"))
        for r in runs.values():
            head = (r["target"], r["mode"], r["mech"], r["bench"],
                    r["size"], r["cap"], r["n"], r["unit"],
                    f2(r["sys"]), f2(r["sw"]), f2(r["wk"]), r["lost"],
                    "%.3f" % r["total"], "%.3f" % r["irq"])
            for fn in sorted(r["fn"], key=lambda x: -r["fn"][x]):
                w.writerow(head + (fn, group_of(fn, kfns),
                                   "%.3f" % r["fn"][fn]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("raw")
    ap.add_argument("--csv")
    ap.add_argument("--md")
    ap.add_argument("--meta", action="append", default=[],
                    help="KEY=VALUE, a line of the report's head")
    a = ap.parse_args()
    meta = [tuple(m.split("=", 1)) for m in a.meta if "=" in m]
    try:
        kfns, runs = load(a.raw)
    except (OSError, ValueError) as e:
        print("bench_profile.py: %s" % e, file=sys.stderr)
        return 1
    if not runs:
        print("bench_profile.py: %s: no run records" % a.raw,
              file=sys.stderr)
        return 1
    if a.csv:
        write_csv(kfns, runs, a.csv)
    if a.md:
        write_md(kfns, runs, meta, a.md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
