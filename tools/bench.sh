#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs chanbench in the test VM and writes, from its CSV only:
#
#   bench/results.csv   the rows as chanbench wrote them, each headed by
#                       its block (1, 2, 3)
#   bench/results.md    the targets (the median over the blocks and each
#                       block's value), the tables and every row
#   bench/ratios.svg    bar charts of the ratios (tools/bench_plot.py)
#   bench/scaling-*.svg cost against N (select cases, fan-in/fan-out
#                       peers, objects created, channels of an event
#                       loop), a line per mechanism
#   README.md           its Performance section's generated part (only
#                       when writing to bench/)
#
#   tools/bench.sh [--blocks N] [CHANBENCH OPTIONS]
#                       e.g. --full, --runs 15, --quick, --only rtt,uring
#
# Blocks: the whole run is made BLOCKS times (default 3; 1 with --quick),
# each in a guest of its own, one boot after the other. A target is met
# only when the median over the blocks meets it, so one lucky or unlucky
# stretch of host load cannot decide a verdict. Separate boots rather than
# blocks inside one guest: each block then also gets its own kernel
# layout, slab state and module load, and the blocks spread over the
# whole run's time; a boot costs about 10 s, little beside a block.
# Within a block every group still interleaves its mechanisms run by run
# (A B A B ...). Unless --runs or --quick is given, a block makes 4
# runs per mechanism (RUNS_PER_BLOCK), after its warm-up run, so that
# the whole of make bench stays near half an hour on a loaded 2-core
# host: there a block of 5 runs took 9 minutes before its memory and
# scaling groups. Twelve runs over three blocks are the ten or more
# that performance.md asks a median of, and say more than ten in one.
# The create group's largest counts (10^4 named channels, 10^5 of the
# other objects) take about two minutes of a block and are each already
# the mean over that many objects: unless --create is given, the first
# block measures them and the others stop at 1000 (CREATE_LATER).
#
# The guest's /tmp goes away with the guest, so the CSV comes back on the
# guest's output between two marker lines. Nothing is written unless every
# block succeeded (chanbench's status and tools/vm's kernel log check).
#
# Environment: KCHAN_BENCH_OUT (output directory, default bench),
# KCHAN_BENCH_TIMEOUT (seconds for each guest, default 3000).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bin=build/chanbench
out=${KCHAN_BENCH_OUT:-bench}
timeout_s=${KCHAN_BENCH_TIMEOUT:-3000}
begin='@@chanbench-csv-begin@@'
end='@@chanbench-csv-end@@'
readonly RUNS_PER_BLOCK=4
readonly CREATE_LATER=1000

blocks=
args=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--blocks)
		[[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || {
			echo "bench.sh: --blocks wants a number above 0" >&2
			exit 2
		}
		blocks=$2
		shift 2
		;;
	-h | --help)
		sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	*)
		args+=("$1")
		shift
		;;
	esac
done
set -- "${args[@]}"
quick=0
runs_given=0
create_given=0
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	--runs) runs_given=1 ;;
	--create) create_given=1 ;;
	esac
done
[[ -n $blocks ]] || blocks=$((quick ? 1 : 3))
if [[ $quick -eq 0 && $runs_given -eq 0 ]]; then
	set -- --runs "$RUNS_PER_BLOCK" "$@"
fi

if [[ ! -x $bin ]]; then
	echo "bench.sh: no $bin: build it first (make build/chanbench)" >&2
	exit 1
fi

work=$(mktemp -d /tmp/kchan-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# In the guest: the kernel's release, the run, then the CSV between markers.
# (Single quotes on purpose: this expands in the guest.)
# shellcheck disable=SC2016
guest='echo "@@guest-kernel@@ $(uname -r)"
status=0
"$0" --csv /tmp/chanbench.csv "$@" || status=$?
if [ -s /tmp/chanbench.csv ]; then
	echo "'"$begin"'"
	cat /tmp/chanbench.csv
	echo "'"$end"'"
fi
exit $status'

start=$(date +%s)
for ((k = 1; k <= blocks; k++)); do
	echo "bench.sh: block $k of $blocks, a guest of its own"
	status=0
	later=()
	[[ $k -gt 1 && $create_given -eq 0 ]] && later=(--create "$CREATE_LATER")
	tools/vm --timeout "$timeout_s" -- bash -c "$guest" "$bin" "$@" "${later[@]}" |
		tee "$work/vm$k.log" || status=$?
	if [[ $status -ne 0 ]]; then
		echo "bench.sh: block $k failed (status $status); $out/ left as it was" >&2
		exit "$status"
	fi
	tr -d '\r' <"$work/vm$k.log" |
		awk -v b="$begin" -v e="$end" '
			$0 == e { inside = 0 }
			inside { print }
			$0 == b { inside = 1 }' >"$work/block$k.csv"
	if [[ $(head -c 16 "$work/block$k.csv") != "bench,mechanism," ]] ||
			[[ $(wc -l <"$work/block$k.csv") -lt 2 ]]; then
		echo "bench.sh: no CSV came back from the guest in block $k" >&2
		exit 1
	fi
	# One CSV: every row headed by its block.
	awk -v k="$k" -v first="$((k == 1))" '
		NR == 1 { if (first) print "block," $0; next }
		{ print k "," $0 }' "$work/block$k.csv" >>"$work/results.csv"
done
elapsed=$(($(date +%s) - start))
guest_kernel=$(tr -d '\r' <"$work/vm1.log" |
	sed -n 's/^@@guest-kernel@@ //p' | head -n 1)

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- kmod uapi 2>/dev/null; then
	rev+=" + uncommitted changes in kmod/ or uapi/"
fi
ko=build/mod/kmod/kchan.ko
module="$ko sha256 $(sha256sum "$ko" | cut -c1-12), built $(date -u -r "$ko" '+%Y-%m-%d %H:%M UTC')"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
accel=TCG
[[ ${KCHAN_VM_ACCEL-} == kvm ]] && accel=KVM

mkdir -p "$out"
cp "$work/results.csv" "$out/results.csv"
readme=()
[[ $out == bench ]] && readme=(--readme README.md)
python3 tools/bench_plot.py "$out/results.csv" \
	--md "$out/results.md" --svg "$out/ratios.svg" --scaling-dir "$out" \
	"${readme[@]}" \
	--meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
	--meta "commit=$rev" \
	--meta "module=$module" \
	--meta "guest kernel=${guest_kernel:-unknown}" \
	--meta "VM=QEMU $accel, 2 vCPUs (tools/vm), host CPU ${cpu:-unknown}, $(nproc) host cores" \
	--meta "chanbench options=${*:-(default)}" \
	--meta "blocks=$blocks, each a boot of its own; $((elapsed / 60)) min $((elapsed % 60)) s in all"
echo "bench.sh: wrote $out/results.csv, $out/results.md, $out/ratios.svg, $out/scaling-*.svg${readme:+ and the Performance section of README.md}"
