# SPDX-License-Identifier: GPL-2.0
"""What remains of the targets a make bench run did not meet, and why:
the section of bench/results.md that tools/bench_plot.py writes after
the targets table, from the same rows.

Each paragraph is computed from the blocks' rows, each number a median
over the blocks of a value computed within each block; a paragraph is
written only for a target the median did not meet, and a sentence only
when its rows are there.

The switch model: on one CPU a stream costs its calls plus its context
switches, each with the sleep and the wake-up around it. The cost of
one, C, is the slope between two rows of the same workload that differ
in little else: kchan-c1's stream (about one switch per message) and
kchan-c64's (two per 65 messages at best), 64 B, pinned. What a row
spends apart from switches is its time less switches x C. A stream
through a buffer of N messages on one CPU switches at least twice per
N + 1 messages (the producer fills it, the consumer empties it): its
floor. A pipe of 64 KiB holds 1024 messages of 64 B.

Standard library only; bench_plot.py's helpers, which it hands over.
"""

from types import SimpleNamespace

bp = None       # bench_plot's helpers, set by remains_md()

PIPE_MSGS = 1024        # 64 B messages in a pipe's 64 KiB
STREAM_CAP = 64         # T3's and T4's capacity


def _row(rows, bench, mech, mode, size=64.0):
    return bp.find(rows, bench=bench, mechanism=mech, size=size, mode=mode,
                   placement="pinned")


def switch_cost(rows, mode):
    """ns per context switch with its sleep and wake-up, in one block."""
    one = _row(rows, "stream", "kchan-c1", mode)
    deep = _row(rows, "stream", "kchan-c64", mode)
    if not (one and deep) or None in (one["median"], deep["median"],
                                      one["switches_per_op"],
                                      deep["switches_per_op"]):
        return None
    dsw = one["switches_per_op"] - deep["switches_per_op"]
    if dsw < 0.5:
        return None
    return (one["median"] - deep["median"]) / dsw


def floor_sw(capacity):
    """Switches per message of a stream through @capacity on one CPU."""
    return 2.0 / (capacity + 1)


def _med(values):
    return bp.median([v for v in values if v is not None])


def t1(blocks, mode):
    """The rendezvous round trip: kchan-c0 against kchan-c1 and eventfd."""
    per = []
    for rows in blocks:
        c0 = _row(rows, "rtt", "kchan-c0", mode, 8.0)
        c1 = _row(rows, "rtt", "kchan-c1", mode, 8.0)
        ev = _row(rows, "rtt", "eventfd", mode, 8.0)
        if c0 and c1 and ev:
            per.append((c0["x_eventfd"], c1["x_eventfd"], ev["x_pipe"],
                        c0["switches_per_op"], c1["switches_per_op"]))
    if not per:
        return ""
    c0x, c1x, evp, sw0, sw1 = (_med(v) for v in zip(*per))
    s = "- **%s.** kchan-c0 is %sx eventfd, kchan-c1 %sx." % (
        mode.capitalize(), bp.fmt(c0x), bp.fmt(c1x))
    if None in (c0x, c1x):
        pass
    elif c1x <= 1.10 < c0x:
        s += (" kchan-c1 sends and receives through the same calls, but "
              "its send returns once the message is buffered: what the "
              "eventfd part of T1 misses is the rendezvous hand-off "
              "itself (the receiver waits for the sender, and the copy "
              "is settled under the channel lock so that nothing is "
              "lost; profile.md counts its calls).")
    elif c1x > 1.10:
        s += (" kchan-c1, whose send returns once its message is "
              "buffered, is over 1.10x too: what remains is in the calls "
              "a send and a receive make either way (profile.md).")
    if None not in (sw0, sw1) and sw0 - sw1 >= 0.05:
        s += (" Switches per round trip: %s against kchan-c1's %s: a "
              "woken receiver that preempts its sender finds no receiver "
              "for its reply, and a rendezvous send waits for one." % (
                  bp.fmt(sw0), bp.fmt(sw1)))
    if evp:
        s += (" eventfd itself is %sx pipe here, so <= 0.8x pipe asks "
              "for %sx eventfd: beating a counter's add and read." % (
                  bp.fmt(evp), bp.fmt(0.8 / evp)))
    return s + "\n"


def stream(blocks, mode):
    """T3: kchan-c64's stream against pipe's, at equal switches."""
    lines, gaps = [], []
    for k, rows in enumerate(blocks):
        c = switch_cost(rows, mode)
        kc = _row(rows, "stream", "kchan-c64", mode)
        pp = _row(rows, "stream", "pipe", mode)
        if c is None or not (kc and pp) or None in (
                kc["median"], pp["median"], kc["switches_per_op"],
                pp["switches_per_op"]):
            continue
        kw = kc["median"] - kc["switches_per_op"] * c
        pw = pp["median"] - pp["switches_per_op"] * c
        fl = (floor_sw(STREAM_CAP) - floor_sw(PIPE_MSGS)) * c
        gaps.append((kw / pw if pw > 0 else None, fl / pp["median"],
                     c, kc["switches_per_op"], pp["switches_per_op"]))
        lines.append([k + 1, bp.fmt(c / 1000.0), bp.fmt(kc["median"], 0),
                      bp.fmt(kc["switches_per_op"], 3),
                      bp.fmt(pp["median"], 0),
                      bp.fmt(pp["switches_per_op"], 3),
                      bp.fmt(kw, 0), bp.fmt(pw, 0),
                      bp.fmt(kw / pw if pw > 0 else None),
                      bp.fmt(fl, 0)])
    if not lines:
        return ""
    work, share, c, ksw, psw = (_med(v) for v in zip(*gaps))
    s = ("- **%s.** A switch costs %s us here (C). At capacity %d kchan "
         "switches at least %s times per message, a pipe holding %d "
         "messages %s: the floors alone differ by %s of pipe's time. "
         "kchan-c64 switched %s times per message, pipe %s. Less its "
         "switches, kchan's work per message is %sx pipe's." % (
             mode.capitalize(), bp.fmt(c / 1000.0), STREAM_CAP,
             bp.fmt(floor_sw(STREAM_CAP), 3), PIPE_MSGS,
             bp.fmt(floor_sw(PIPE_MSGS), 3), _pct(share),
             bp.fmt(ksw, 3), bp.fmt(psw, 3), bp.fmt(work)))
    if ksw is not None and ksw > 1.5 * floor_sw(STREAM_CAP):
        s += (" kchan-c64 is above its floor: a consumer woken further "
              "behind in the scheduler's virtual time than the wake-up "
              "granularity preempts the producer at each message, and "
              "both then run about as long per message, so the lag "
              "stays (CFS wake-up preemption: with "
              "sched/wakeup_granularity_ns raised to 100 ms in the "
              "guest, kchan-c4096's stream fell to 0.002 switches per "
              "message).")
    s += "\n\n" + bp.md_table(
        ["block", "C, us", "kchan-c64 ns/msg", "sw/msg", "pipe ns/msg",
         "sw/msg", "kchan less switches", "pipe less switches",
         "ratio", "floors' difference, ns"], lines)
    return s + "\n"


def _batch(rows, mode):
    """One block's batched stream, @mode: (x one per call, its switches'
    share of one per call, the floor's share, switches per message, a
    switch pair's cost, the batch's calls per STREAM_CAP + 1 messages),
    all in ns, or None."""
    c = switch_cost(rows, mode)
    b = _row(rows, "batch", "kchan-c64-batch", mode)
    one = _row(rows, "batch", "kchan-c64", mode)
    if c is None or not (b and one) or None in (
            b["median"], one["median"], b["switches_per_op"]):
        return None
    calls = b["median"] - b["switches_per_op"] * c
    return (b["median"] / one["median"],
            b["switches_per_op"] * c / one["median"],
            floor_sw(STREAM_CAP) * c / one["median"],
            b["switches_per_op"], 2 * c, calls * (STREAM_CAP + 1))


def batch(blocks, mode):
    """T4: the batched stream's switches against one message per call."""
    per = [p for p in (_batch(rows, mode) for rows in blocks) if p]
    if not per:
        return ""
    x, swx, flx, bsw, pair, calls = (_med(v) for v in zip(*per))
    s = ("- **%s.** Batched, kchan-c64 is %sx one message per call. It "
         "switched %s times per message (its floor %s), and those "
         "switches alone are %sx one per call (the floor %sx), leaving "
         "%sx to the batch's calls. Per %d messages, the switch pair "
         "that a capacity of %d costs however the messages are passed "
         "takes %s us, and the batch's calls %s us." % (
             mode.capitalize(), bp.fmt(x), bp.fmt(bsw, 3),
             bp.fmt(floor_sw(STREAM_CAP), 3), bp.fmt(swx), bp.fmt(flx),
             bp.fmt(x - swx), STREAM_CAP + 1, STREAM_CAP,
             bp.fmt(pair / 1000.0, 1), bp.fmt(calls / 1000.0, 1)))
    threads = [p[5] for p in (_batch(rows, "threads") for rows in blocks)
               if p]
    if mode == "processes" and threads:
        s += (" With threads, in the same blocks, the batch's calls take "
              "%s us. What differs is the address space; the likely "
              "cause, inferred rather than measured, is the emulator's "
              "TLB, emptied at each process switch and refilled for "
              "every page the batch then touches." %
              bp.fmt(_med(threads) / 1000.0, 1))
    return s + "\n"


def uring(blocks, mode):
    """T5: what io_uring's poll-driven path costs any file."""
    per = []
    for rows in blocks:
        got = [_row(rows, "rtt", m, mode, 8.0)
               for m in ("kchan-c1-uring", "pipe-uring", "eventfd-uring")]
        if all(r and r.get("x_one_per_call") is not None for r in got):
            per.append(tuple(r["x_one_per_call"] for r in got))
    if not per:
        return ""
    kx, px, ex = (_med(v) for v in zip(*per))
    return ("- **%s.** Through io_uring, against the same file's blocking "
            "calls: kchan-c1 %sx, pipe %sx, eventfd %sx. A read that "
            "finds nothing arms a poll, and the wake-up completes it from "
            "task work, for every file alike: <= 1.2x blocking is below "
            "what that path costs a pipe or an eventfd here. A receive "
            "that a sender completes directly (IORING_OP_URING_CMD) is "
            "what would go under it; kmod/fops.c says what 6.1 lacks for "
            "it.\n" % (mode.capitalize(), bp.fmt(kx), bp.fmt(px),
                       bp.fmt(ex)))


def evloop(blocks):
    """T8: the persistent select's growth in N against epoll's own."""
    per = []
    for rows in blocks:
        got = {}
        for r in rows:
            n = bp.cases(r) if r["bench"] == "evloop" else None
            if n in (1, 8, 1024) and r["median"]:
                got[(r["mechanism"], n)] = r["median"]
        keys = [(m, n) for m in ("kchan-persist", "eventfd-epoll")
                for n in (1, 8, 1024)]
        if all(k in got for k in keys):
            per.append(tuple(got[(m, 1024)] / got[(m, n)]
                             for m in ("kchan-persist", "eventfd-epoll")
                             for n in (1, 8)))
    if not per:
        return ""
    k1, k8, e1, e8 = (_med(v) for v in zip(*per))
    s = ("- Per event at N = 1024, kchan-persist is %sx its N = 1, and "
         "epoll_wait over as many eventfds %sx its own, in the same "
         "blocks; against N = 8, %sx and %sx." % (
             bp.fmt(k1), bp.fmt(e1), bp.fmt(k8), bp.fmt(e8)))
    if k8 <= 1.2:
        s += (" The step is from N = 1, where every event comes from "
              "the same object, to a different object at each event, and "
              "epoll takes it too; from N = 8 on, the cost is flat in "
              "N.")
    return s + "\n"


def memory(blocks):
    """M1: 512 B against what an eventfd costs."""
    e = _med([(bp.find(rows, bench="memory", mechanism="eventfd",
                       mode="slab-objs") or {}).get("median")
              for rows in blocks])
    if e is None or e <= 512:
        return ""
    return ("- An eventfd costs %s B here (its file, dentry and context): "
            "<= 512 B is below what one file descriptor costs, whatever "
            "it is. The part of M1 that can be met is eventfd's + 128 "
            "B.\n" % bp.fmt(e, 0))


def _pct(v):
    return "-" if v is None else "%.0f%%" % (100 * v)


MODES = ("threads", "processes")
SECTIONS = (("T1", t1), ("T3", stream), ("T4", batch), ("T5", uring))


def remains_md(rows, unmet, plot):
    """The section for the targets in @unmet, (id, what) pairs as the
    targets table names them, from @rows, with @plot the globals of
    bench_plot.py (find, median, fmt, md_table, blocks)."""
    global bp
    bp = SimpleNamespace(**plot)
    blocks = bp.blocks(rows)
    s = ""
    for tid, make in SECTIONS:
        body = "".join(make(blocks, mode) for mode in MODES
                       if any(t == tid and what.endswith(mode)
                              for t, what in unmet))
        if body:
            s += "### %s\n\n%s\n" % (tid, body)
    if any(t == "T8" and what.endswith("kchan-persist")
           for t, what in unmet):
        body = evloop(blocks)
        if body:
            s += "### T8\n\n%s\n" % body
    if any(t == "M1" for t, _ in unmet):
        body = memory(blocks)
        if body:
            s += "### M1\n\n%s\n" % body
    if not s:
        return ""
    return ("## What remains of the targets not met\n\n"
            "Computed from the blocks above (tools/bench_remains.py): "
            "medians over the blocks of what each block's rows give. "
            "C, the cost of a context switch with its sleep and "
            "wake-up, is the slope between kchan-c1's stream (about one "
            "switch per message) and kchan-c64's, in the same block; a "
            "stream through a buffer of N messages on one CPU switches "
            "at least 2 / (N + 1) times per message.\n\n" + s)
