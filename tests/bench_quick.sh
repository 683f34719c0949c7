#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# chanbench --quick --runs 1: a tiny run of every benchmark workload, one
# run per mechanism (a second run repeats every setup and batch, which on
# a debug kernel under TCG is minutes, and checks nothing more). It
# must exit 0 and write a CSV in which every workload has rows and every
# median is a positive, finite number; the batch workload must have kchan's batched
# rows (KCHAN_IOC_SEND_BATCH/RECV_BATCH) at both capacities in both modes,
# each under 1.5 syscalls per message (one call per message would be two;
# a batch is a few dozen when the machine is quiet, but on a preemptible
# kernel under load a woken receiver runs at once and can take as few as
# two per call) and with a positive, finite ratio to its transport one message per call
# (T4's). Speed is not judged here (tools/bench.sh), but the CSV must
# make a report (tools/bench_plot.py) with a verdict for T1 to T8. The
# scaling workloads must give every point their plots need: select at 1
# and 1024 cases for each mechanism (epoll included), fan-in 16->1 and
# fan-out 1->16 for each mechanism, create at each count for each kind,
# the event loop at 1 and 1024 cases for each mechanism (T8 has a
# verdict); and tools/bench_plot.py, as bench.sh runs it on the host,
# must draw a line for each of those mechanisms in scaling-select.svg,
# scaling-fan.svg, scaling-create.svg and scaling-eventloop.svg and link
# them from the report.
#
# On the debug lane's kernel (kmemleak is how it is told apart) the
# program skips: its checks are of chanbench and its report, which make
# check makes on Debian's kernel, and there it takes two minutes where
# the debug kernel takes over ten, with the kernel's paths it runs
# (1000-channel creates, fan-in and -out, selects over 1024 channels)
# already run by the kernel's own tests on that kernel.
#
# Exit status: 0 pass, 1 fail, 4 skipped.

set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
bin=build/chanbench

if [ -e /sys/kernel/debug/kmemleak ]; then
	echo "bench_quick: a kernel with kmemleak (the debug lane's): chanbench is checked by make check"
	exit 4
fi

if [ ! -x "$bin" ]; then
	echo "bench_quick: $bin is missing (make build/chanbench)"
	exit 1
fi

tmp=$(mktemp -d /tmp/bench_quick.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

status=0
"$bin" --quick --runs 1 --csv "$tmp/quick.csv" >"$tmp/out" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
	cat "$tmp/out"
	echo "bench_quick: chanbench --quick --runs 1 exited with status $status"
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
# The mechanisms of the scaling workloads, each a line of its plot.
sel="kchan-select kchan-poll eventfd eventfd-epoll"
fan="kchan-c64 pipe eventfd mqueue"
create="kchan-c0 kchan-named eventfd pipe mqueue"
evl="kchan-persist kchan-rearm eventfd-epoll"
awk -F, -v want="rtt stream uring batch fan wake select memory create evloop" \
	-v sel="$sel" -v fan="$fan" -v create="$create" -v evl="$evl" '
	function number(v) {
		return v ~ /^-?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/
	}
	function positive(v) {
		return number(v) && v + 0 > 0
	}
	function need_all(bench, mechs, mode, place,    m, k, i, key) {
		k = split(mechs, m, " ")
		for (i = 1; i <= k; i++) {
			key = bench "|" m[i] "|" mode "|" place
			if (!point[key]) {
				print "bench_quick: no row for " key
				bad = 1
			}
		}
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
		# Slab memory of a few hundred objects: a number, as above.
		if ($col["bench"] == "create" && $col["placement"] == "idle")
			ok = number(m)
		point[$col["bench"] "|" $col["mechanism"] "|" $col["mode"] "|" \
		      $col["placement"]] = 1
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
		# The points the scaling plots need.
		need_all("select", sel, "1 cases", "cpu0")
		need_all("select", sel, "1024 cases", "cpu0")
		need_all("evloop", evl, "1 cases", "cpu0")
		need_all("evloop", evl, "1024 cases", "cpu0")
		need_all("fan", fan, "16->1", "any")
		need_all("fan", fan, "1->16", "any")
		need_all("create", create, "10 objs", "cpu0")
		need_all("create", create, "100 objs", "cpu0")
		# Named channels go to a tenth of the largest count.
		sub(/ kchan-named/, "", create)
		need_all("create", create, "1000 objs", "cpu0")
		need_all("create", create, "1000 objs", "idle")
		# Capacities 64 and 4096, between threads and between processes.
		if (kbatch < 4) {
			print "bench_quick: " kbatch " kchan batched rows, not 4 (KCHAN_FEATURE_BATCH?)"
			bad = 1
		}
		if (!bad)
			printf "bench_quick: %d rows, every median a number, positive but for whole slab pages\n", rows
		exit bad
	}' "$tmp/quick.csv" || { cat "$tmp/out"; exit 1; }

# The report and the plots, drawn from the CSV alone as tools/bench.sh
# draws them.
if ! python3 tools/bench_plot.py "$tmp/quick.csv" --md "$tmp/quick.md" \
		--svg "$tmp/quick.svg" --scaling-dir "$tmp" >"$tmp/plot" 2>&1; then
	cat "$tmp/plot"
	echo "bench_quick: tools/bench_plot.py failed on the CSV"
	exit 1
fi
for t in T1 T3 T4 T5 T6 T7 T8; do
	if ! grep -Eq "^\| $t \|.*\| (met|not met) \|\$" "$tmp/quick.md"; then
		sed -n '/^## Targets/,/^## Ping/p' "$tmp/quick.md"
		echo "bench_quick: no verdict for $t in the report"
		exit 1
	fi
done

# A line is a polyline with its points, each titled "MECH, N = n: ...".
lines() { # FILE MECH: the points of MECH drawn in FILE
	grep -c "<title>$2, N = " "$tmp/$1"
}
status=0
for plot in "scaling-select.svg:$sel" "scaling-fan.svg:$fan" \
	    "scaling-create.svg:$create" "scaling-eventloop.svg:$evl"; do
	file=${plot%%:*}
	if [ ! -s "$tmp/$file" ] || ! grep -q "<polyline" "$tmp/$file"; then
		echo "bench_quick: bench_plot.py drew no $file"
		status=1
		continue
	fi
	for mech in ${plot#*:}; do
		points=$(lines "$file" "$mech")
		if [ "$points" -lt 2 ]; then
			echo "bench_quick: $file has $points points of $mech, not a line"
			status=1
		fi
	done
	if ! grep -q "]($file)" "$tmp/quick.md"; then
		echo "bench_quick: the report does not link $file"
		status=1
	fi
done
[ "$status" -eq 0 ] && echo "bench_quick: the scaling plots draw a line per mechanism"
exit "$status"
