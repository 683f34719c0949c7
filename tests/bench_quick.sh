#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# chanbench --quick: a tiny run of every benchmark workload. It must exit 0
# and write a CSV in which every workload has rows and every median is a
# positive, finite number; the batch workload must have kchan's batched
# rows (KCHAN_IOC_SEND_BATCH/RECV_BATCH) at both capacities in both modes,
# each under 1.5 syscalls per message (one call per message would be two;
# a batch is a few dozen when the machine is quiet, but on a preemptible
# kernel under load a woken receiver runs at once and can take as few as
# two per call) and with a positive, finite ratio to its transport one message per call
# (T4's). Speed is not judged here (tools/bench.sh), but the CSV must
# make a report (tools/bench_plot.py) with a verdict for T1 to T7.
#
# Exit status: 0 pass, 1 fail.

set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
bin=build/chanbench

if [ ! -x "$bin" ]; then
	echo "bench_quick: $bin is missing (make build/chanbench)"
	exit 1
fi

tmp=$(mktemp -d /tmp/bench_quick.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

status=0
"$bin" --quick --csv "$tmp/quick.csv" >"$tmp/out" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
	cat "$tmp/out"
	echo "bench_quick: chanbench --quick exited with status $status"
	exit 1
fi
if [ ! -s "$tmp/quick.csv" ]; then
	cat "$tmp/out"
	echo "bench_quick: no CSV written"
	exit 1
fi

# A median must look like a plain number (not empty, nan or inf) above 0.
# Memory counted in whole slab pages (meminfo's Slab) is the exception: a
# slab that other work shrinks meanwhile can make its delta negative, so
# there it must only be a number; the slab-objs rows are the exact count.
awk -F, -v want="rtt stream uring batch fan wake select memory" '
	function number(v) {
		return v ~ /^-?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/
	}
	function positive(v) {
		return number(v) && v + 0 > 0
	}
	NR == 1 {
		for (i = 1; i <= NF; i++)
			col[$i] = i
		if (!col["median"] || !col["bench"] || !col["mechanism"] ||
		    !col["x_one_per_call"] || !col["syscalls_per_op"]) {
			print "bench_quick: CSV header without bench/mechanism/median/x_one_per_call/syscalls_per_op: " $0
			bad = 1
			exit
		}
		next
	}
	{
		rows++
		m = $col["median"]
		seen[$col["bench"]]++
		ok = positive(m)
		if ($col["bench"] == "memory" && index($0, ",slab-pages,"))
			ok = number(m)
		if (!ok) {
			print "bench_quick: bad median \"" m "\": " $0
			bad = 1
		}
		if ($col["bench"] != "batch" ||
		    $col["mechanism"] !~ /-(batch|mmsg|uring)$/)
			next
		# One call per message would show 2 syscalls per message.
		if ($col["mechanism"] ~ /^kchan-.*-batch$/) {
			kbatch++
			if (!($col["syscalls_per_op"] + 0 < 1.5)) {
				print "bench_quick: a batched row at " $col["syscalls_per_op"] " syscalls per message: " $0
				bad = 1
			}
		}
		if (!positive($col["x_one_per_call"])) {
			print "bench_quick: bad x_one_per_call \"" $col["x_one_per_call"] "\": " $0
			bad = 1
		}
	}
	END {
		if (bad)
			exit 1
		n = split(want, w, " ")
		for (i = 1; i <= n; i++)
			if (!seen[w[i]]) {
				print "bench_quick: no row for " w[i]
				bad = 1
			}
		# Capacities 64 and 4096, between threads and between processes.
		if (kbatch < 4) {
			print "bench_quick: " kbatch " kchan batched rows, not 4 (KCHAN_FEATURE_BATCH?)"
			bad = 1
		}
		if (!bad)
			printf "bench_quick: %d rows, every median a number, positive but for whole slab pages\n", rows
		exit bad
	}' "$tmp/quick.csv" || { cat "$tmp/out"; exit 1; }

if ! python3 tools/bench_plot.py "$tmp/quick.csv" --md "$tmp/quick.md" \
		--svg "$tmp/quick.svg" >"$tmp/plot" 2>&1; then
	cat "$tmp/plot"
	echo "bench_quick: tools/bench_plot.py failed on the CSV"
	exit 1
fi
for t in T1 T3 T4 T5 T6 T7; do
	if ! grep -Eq "^\| $t \|.*\| (met|not met) \|\$" "$tmp/quick.md"; then
		sed -n '/^## Targets/,/^## Ping/p' "$tmp/quick.md"
		echo "bench_quick: no verdict for $t in the report"
		exit 1
	fi
done
exit 0
