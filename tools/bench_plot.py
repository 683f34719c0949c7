#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn chanbench's CSV into a markdown report and an SVG bar chart.

    tools/bench_plot.py RESULTS.csv [--md OUT.md] [--svg OUT.svg]
                        [--meta KEY=VALUE]...

Every number written comes from the CSV. Standard library only.
"""

import argparse
import csv
import math
import sys
from xml.sax.saxutils import escape

BASELINES = ["eventfd", "futex", "pipe", "seqpacket", "mqueue"]

CAVEAT = (
    "All figures come from one boot of a QEMU TCG guest (software CPU "
    "emulation, 2 vCPUs) on a shared 2-core host where other VMs may run: "
    "absolute times are far from hardware and noisy, and only the ratios "
    "between mechanisms measured in the same run, interleaved, carry "
    "meaning. TCG makes system calls, context switches and TLB flushes "
    "(process switches) expensive and penalises spinning, so thread/process "
    "gaps are exaggerated. Cross-CPU rows are dominated by how the "
    "emulator's vCPU threads get the host's cores (a wake-up across vCPUs "
    "costs milliseconds here), which has little to do with hardware. "
    "The counts (syscalls, context switches, wake-ups per op, bytes per "
    "object) carry over to hardware better than the times."
)


def num(v):
    """The CSV's number, or None for an empty cell."""
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit("bench_plot: %s has no rows" % path)
    for r in rows:
        for k in list(r):
            if k not in ("bench", "mechanism", "capacity", "mode",
                         "placement", "unit", "note"):
                r[k] = num(r[k])
    return rows


def fmt(v, prec=2):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "%.0f" % v
    return "%.*f" % (prec, v)


def group_key(r):
    return (r["bench"], r["size"], r["mode"], r["placement"])


def groups(rows, bench):
    """Rows of one bench, grouped as chanbench grouped them, in order."""
    out = {}
    for r in rows:
        if r["bench"] == bench:
            out.setdefault(group_key(r), []).append(r)
    return out


def find(rows, **want):
    for r in rows:
        if all(r.get(k) == v for k, v in want.items()):
            return r
    return None


def md_table(header, lines):
    s = "| " + " | ".join(header) + " |\n"
    s += "|" + "|".join("---" for _ in header) + "|\n"
    for line in lines:
        s += "| " + " | ".join(str(c) for c in line) + " |\n"
    return s


def targets(rows):
    """The targets of performance.md that this CSV can speak to."""
    out = []

    def verdict(ok):
        return "met" if ok else "not met"

    for mode in ("threads", "processes"):
        r = find(rows, bench="rtt", mechanism="kchan-c0", size=8.0,
                 mode=mode, placement="pinned")
        if r and r["x_eventfd"] is not None and r["x_pipe"] is not None:
            ok = r["x_eventfd"] <= 1.10 and r["x_pipe"] <= 0.8
            out.append(("T1", "rendezvous RTT 8 B, pinned %s" % mode,
                        "<= 1.10x eventfd, <= 0.8x pipe",
                        "%sx eventfd, %sx pipe" % (fmt(r["x_eventfd"]),
                                                   fmt(r["x_pipe"])),
                        verdict(ok)))
    for mode in ("threads", "processes"):
        g = [r for r in rows if r["bench"] == "stream" and r["size"] == 64
             and r["mode"] == mode and r["placement"] == "pinned"]
        k = find(g, mechanism="kchan-c64")
        if k:
            worst = max((k[x] for x in ("x_pipe", "x_seqpacket", "x_mqueue")
                         if k[x] is not None), default=None)
            if worst is not None:
                out.append(("T3", "stream 64 B, capacity 64, pinned %s" % mode,
                            "time <= 1.0x pipe, mqueue, seqpacket",
                            "%sx pipe, %sx seqpacket, %sx mqueue" % (
                                fmt(k["x_pipe"]), fmt(k["x_seqpacket"]),
                                fmt(k["x_mqueue"])),
                            verdict(worst <= 1.0)))
    for mode in ("threads", "processes"):
        u = find(rows, bench="rtt", mechanism="kchan-c1-uring", size=8.0,
                 mode=mode, placement="pinned")
        b = find(rows, bench="rtt", mechanism="kchan-c1", size=8.0,
                 mode=mode, placement="pinned")
        if u and b and u["median"] and b["median"]:
            ratio = u["median"] / b["median"]
            workers = u["note"]
            ok = ratio <= 1.2 and "seen: 0" in workers
            out.append(("T5", "io_uring RTT 8 B, capacity 1, pinned %s" % mode,
                        "no io-wq worker; RTT <= 1.2x blocking",
                        "%sx blocking (ratio of medians); %s"
                        % (fmt(ratio), workers),
                        verdict(ok)))
    for mech in ("kchan-c0", "kchan-c1"):
        r = find(rows, bench="wake", mechanism=mech)
        if r and r["wakeups_per_op"] is not None:
            out.append(("T6", "16 idle receivers in read(), one message, %s"
                        % mech, "<= 1 wake-up per message",
                        "%s wake-ups per message" % fmt(r["wakeups_per_op"]),
                        verdict(r["wakeups_per_op"] <= 1.0 + 1e-9)))
    for mech in ("kchan-c0", "kchan-c64"):
        r = find(rows, bench="memory", mechanism=mech, mode="slab-objs") or \
            find(rows, bench="memory", mechanism=mech, mode="slab-pages")
        if r and r["median"] is not None:
            out.append(("M1", "kernel memory per idle channel, %s (%s)"
                        % (mech, r["mode"]), "<= 512 B + its buffer",
                        "%s B with its file%s" % (
                            fmt(r["median"], 0),
                            "; largest caches: " + r["note"]
                            if r["mode"] == "slab-objs" else ""),
                        verdict(r["median"] <= 512)))
    return out


def write_md(rows, meta, path):
    s = "# kchan benchmark results\n\n"
    s += "Generated by `tools/bench.sh` (chanbench in the test VM) and " \
         "`tools/bench_plot.py` from `results.csv`; nothing here is typed " \
         "by hand.\n\n"
    for k, v in meta:
        s += "- %s: %s\n" % (k, v)
    s += "\n**Caveat.** " + CAVEAT + "\n\n"
    s += ("How to read: `median` is the median over the runs (each run one "
          "batch timed with CLOCK_MONOTONIC), `IQR` its interquartile range; "
          "`x BASE` is the median over the runs of (this mechanism's run k / "
          "BASE's run k) in the same group (same bench, size, mode, "
          "placement; run k of every mechanism ran back to back): below 1 "
          "is faster. "
          "`sys/op` are the syscalls the loop issued, `sw/op` context "
          "switches of both sides (voluntary + involuntary), `wk/op` "
          "voluntary switches, each a sleep a wake-up ended. For `rtt` one "
          "op is a round trip; for `stream` and `uring` one message.\n\n")

    t = targets(rows)
    if t:
        s += "## Targets (performance.md)\n\n"
        s += md_table(["id", "what", "target", "measured", ""], t) + "\n"

    s += "## Ping-pong round trip: kchan against eventfd and pipe\n\n"
    lines = []
    for key, g in groups(rows, "rtt").items():
        for r in g:
            if r["mechanism"].startswith("kchan"):
                lines.append([int(key[1]), key[2], key[3], r["mechanism"],
                              fmt(r["median"], 0), fmt(r["x_eventfd"]),
                              fmt(r["x_pipe"]), fmt(r["x_futex"]),
                              fmt(r["switches_per_op"])])
    if lines:
        s += md_table(["size", "mode", "placement", "mechanism", "ns/RTT",
                       "x eventfd", "x pipe", "x futex", "sw/op"], lines)
        s += "\n"

    s += "## Streaming: kchan against pipe\n\n"
    lines = []
    for key, g in groups(rows, "stream").items():
        for r in g:
            if r["mechanism"].startswith("kchan"):
                lines.append([int(key[1]), key[2], key[3], r["mechanism"],
                              fmt(r["median"], 0), fmt(r["x_pipe"]),
                              fmt(r["x_seqpacket"]), fmt(r["x_mqueue"]),
                              fmt(r["switches_per_op"])])
    if lines:
        s += md_table(["size", "mode", "placement", "mechanism", "ns/msg",
                       "x pipe", "x seqpacket", "x mqueue", "sw/op"], lines)
        s += "\n"

    s += "## Streaming through io_uring\n\n"
    lines = []
    for key, g in groups(rows, "uring").items():
        for r in g:
            if not r["mechanism"].endswith("-uring"):
                continue
            blocking = find(g, mechanism=r["mechanism"][:-len("-uring")])
            vs = (r["median"] / blocking["median"]) if blocking and \
                blocking["median"] else None
            lines.append([int(key[1]), key[3], r["mechanism"],
                          fmt(r["median"], 0), fmt(vs), fmt(r["x_pipe"]),
                          fmt(r["syscalls_per_op"]), r["note"]])
    if lines:
        s += md_table(["size", "placement", "mechanism", "ns/msg",
                       "x same channel, blocking calls (ratio of medians)",
                       "x pipe", "sys/op", "note"], lines)
        s += "\n"

    s += "## Wake-ups: 16 idle receivers, one message\n\n"
    lines = [[r["mechanism"], r["mode"], fmt(r["wakeups_per_op"]),
              fmt(r["syscalls_per_op"]), fmt(r["median"], 0)]
             for r in rows if r["bench"] == "wake"]
    if lines:
        s += md_table(["mechanism", "receivers wait in", "wake-ups/msg",
                       "syscalls/msg", "ns send to receipt"], lines)
        s += "\n"

    s += "## Kernel memory per idle object\n\n"
    lines = []
    for mech in dict.fromkeys(r["mechanism"] for r in rows
                              if r["bench"] == "memory"):
        p = find(rows, bench="memory", mechanism=mech, mode="slab-pages")
        o = find(rows, bench="memory", mechanism=mech, mode="slab-objs")
        lines.append([mech, (p or o)["capacity"],
                      fmt(o["median"], 0) if o else "-",
                      fmt(p["median"], 0) if p else "-",
                      fmt(o["x_pipe"]) if o else fmt(p["x_pipe"]),
                      int((p or o)["iterations"]),
                      o["note"] if o else "-"])
    if lines:
        s += md_table(["mechanism", "capacity",
                       "B/obj (slabinfo objects)", "B/obj (meminfo Slab)",
                       "x pipe", "objects", "caches that grew, B/obj"],
                      lines)
        s += "\n"

    s += "## Every row\n\n"
    cols = ["bench", "mechanism", "size", "capacity", "mode", "placement",
            "iterations", "runs", "median", "iqr", "unit", "x_eventfd",
            "x_futex", "x_pipe", "x_seqpacket", "x_mqueue",
            "syscalls_per_op", "switches_per_op", "wakeups_per_op", "note"]
    lines = []
    for r in rows:
        line = []
        for c in cols:
            v = r.get(c)
            if isinstance(v, float) or v is None:
                prec = 0 if c in ("size", "iterations", "runs") else 2
                v = fmt(v, prec)
            line.append(v)
        lines.append(line)
    s += md_table(cols, lines)
    with open(path, "w") as f:
        f.write(s)


# ---------------------------------------------------------------- SVG

# kchan in blues (blocking), greens (io_uring) and purple (poll); the
# baselines in warm colours and greys.
COLORS = {
    "kchan-c0": "#08306b", "kchan-c1": "#2171b5", "kchan-c64": "#4292c6",
    "kchan-c4096": "#9ecae1", "kchan-c1-uring": "#00441b",
    "kchan-c64-uring": "#238b45", "kchan-c4096-uring": "#74c476",
    "kchan-c1-poll": "#6a51a3", "eventfd": "#d62728", "futex": "#ff7f0e",
    "pipe": "#8c564b", "pipe-poll": "#c49c94", "seqpacket": "#e377c2",
    "mqueue": "#7f7f7f",
}
PALETTE = ["#bcbd22", "#17becf", "#9467bd", "#aec7e8", "#ffbb78",
           "#98df8a", "#ff9896", "#c5b0d5", "#dbdb8d", "#9edae5"]


def tick_label(v, log):
    if not log:
        return "%g" % v
    if v >= 1:
        return "%g" % v
    return "1/%g" % (1 / v)


def svg_panel(title, groups_, value, log, unit, y0, colors, width):
    """One panel: groups side by side, a bar per mechanism.

    With log, bars grow from 1.0 up (slower) or down (faster) on a log2
    scale; otherwise from 0. Returns (svg text, height).
    """
    height, top, bottom, left = 230, 28, 46, 60
    plot_h = height - top - bottom
    bars = sum(len(g) for _, g in groups_)
    gap = 14
    avail = width - left - 10 - gap * len(groups_)
    bw = max(3.0, min(18.0, avail / max(bars, 1)))
    vals = [value(r) for _, g in groups_ for r in g]
    vals = [v for v in vals if v is not None and (v > 0 or not log)]
    if not vals:
        return "", 0
    if log:
        lo = min(min(math.log2(v) for v in vals), -1)
        hi = max(max(math.log2(v) for v in vals), 1)
        lo, hi = math.floor(lo), math.ceil(hi)
        ticks = [(2.0 ** e, e) for e in range(lo, hi + 1)]

        def ypos(v):
            return top + plot_h * (hi - math.log2(v)) / (hi - lo)
        base = ypos(1.0)
    else:
        hi = max(vals) * 1.1
        step = 10 ** math.floor(math.log10(hi))
        if hi / step < 3:
            step /= 2
        ticks = [(i * step, None) for i in range(int(hi / step) + 1)]

        def ypos(v):
            return top + plot_h * (1 - v / hi)
        base = ypos(0)

    o = ['<g transform="translate(0,%d)">' % y0]
    o.append('<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>'
             % (left, escape(title)))
    for v, _ in ticks:
        y = ypos(v) if v > 0 or not log else None
        if y is None:
            continue
        label = tick_label(v, log)
        strong = log and v == 1.0
        o.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" '
                 'stroke-width="%s"/>' % (left, width - 10, y, y,
                                          "#444" if strong else "#ddd",
                                          "1.2" if strong else "0.6"))
        o.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">'
                 '%s</text>' % (left - 4, y + 3, label))
    o.append('<text x="12" y="%d" font-size="10" transform="rotate(-90 12 %d)"'
             ' text-anchor="middle">%s</text>' % (top + plot_h // 2,
                                                  top + plot_h // 2,
                                                  escape(unit)))
    x = left + gap / 2
    for label, g in groups_:
        gx = x
        for r in g:
            v = value(r)
            if v is not None and (v > 0 or not log):
                y = ypos(v)
                y1, y2 = min(y, base), max(y, base)
                o.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" '
                         'fill="%s"><title>%s: %s</title></rect>'
                         % (x, y1, bw - 1, max(y2 - y1, 0.5),
                            colors[r["mechanism"]],
                            escape("%s %s" % (r["mechanism"], label)),
                            fmt(v)))
            x += bw
        o.append('<text x="%.1f" y="%d" font-size="9" text-anchor="middle">'
                 '%s</text>' % ((gx + x) / 2, top + plot_h + 14,
                                escape(label[0])))
        o.append('<text x="%.1f" y="%d" font-size="9" text-anchor="middle">'
                 '%s</text>' % ((gx + x) / 2, top + plot_h + 26,
                                escape(label[1])))
        x += gap
    o.append("</g>")
    return "\n".join(o), height


def write_svg(rows, path):
    mechs = list(dict.fromkeys(r["mechanism"] for r in rows))
    others = iter(PALETTE * (1 + len(mechs) // len(PALETTE)))
    colors = {m: COLORS.get(m) or next(others) for m in mechs}
    width = 1000

    def grouped(bench, label):
        return [(label(k), g) for k, g in groups(rows, bench).items()]

    def gl(k):
        short = {"threads": "thr", "processes": "proc"}
        return ("%d B" % k[1], "%s %s" % (short.get(k[2], k[2]), k[3]))

    panels = [
        ("Ping-pong round trip: time / eventfd (log scale; below 1 is faster)",
         grouped("rtt", gl), lambda r: r["x_eventfd"], True, "x eventfd"),
        ("Ping-pong round trip: time / pipe (log scale; below 1 is faster)",
         grouped("rtt", gl), lambda r: r["x_pipe"], True, "x pipe"),
        ("Streaming, per message: time / pipe (log scale; below 1 is faster)",
         grouped("stream", gl), lambda r: r["x_pipe"], True, "x pipe"),
        ("io_uring streaming, per message: time / pipe (log scale)",
         grouped("uring", gl), lambda r: r["x_pipe"], True, "x pipe"),
        ("16 idle receivers, one message: wake-ups per message",
         [(("16 receivers", "one message"),
           [r for r in rows if r["bench"] == "wake"])],
         lambda r: r["wakeups_per_op"], False, "wake-ups"),
        ("Kernel memory per idle object, bytes (slabinfo objects; "
         "meminfo Slab pages)",
         [((m, ""), [r for r in rows if r["bench"] == "memory"
                     and r["mode"] == m]) for m in ("slab-objs", "slab-pages")
          if any(r["bench"] == "memory" and r["mode"] == m for r in rows)],
         lambda r: r["median"], False, "bytes"),
    ]
    body, y = [], 10
    for title, gs, value, log, unit in panels:
        gs = [(lab, g) for lab, g in gs if g]
        if not gs:
            continue
        text, h = svg_panel(title, gs, value, log, unit, y, colors, width)
        if h:
            body.append(text)
            y += h + 10
    # Legend: one swatch per mechanism.
    lx, ly = 60, y + 6
    legend = []
    for m in mechs:
        if lx > width - 150:
            lx, ly = 60, ly + 18
        legend.append('<rect x="%d" y="%d" width="12" height="12" '
                      'fill="%s"/><text x="%d" y="%d" font-size="11">%s'
                      '</text>' % (lx, ly, colors[m], lx + 16, ly + 10,
                                   escape(m)))
        lx += 150
    height = ly + 30
    note = ("QEMU TCG guest: only ratios within this run mean anything; "
            "see results.md")
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" font-family="sans-serif">'
           % (width, height + 16, width, height + 16),
           '<rect width="100%" height="100%" fill="white"/>']
    svg += body + legend
    svg.append('<text x="60" y="%d" font-size="10" fill="#555">%s</text>'
               % (height + 8, escape(note)))
    svg.append("</svg>\n")
    with open(path, "w") as f:
        f.write("\n".join(svg))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--md")
    ap.add_argument("--svg")
    ap.add_argument("--meta", action="append", default=[],
                    help="KEY=VALUE shown at the top of the markdown")
    a = ap.parse_args()
    rows = load(a.csv)
    meta = [tuple(m.split("=", 1)) if "=" in m else (m, "") for m in a.meta]
    if a.md:
        write_md(rows, meta, a.md)
    if a.svg:
        write_svg(rows, a.svg)


if __name__ == "__main__":
    main()
