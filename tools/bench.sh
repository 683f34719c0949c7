#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs chanbench in the test VM and writes, from its CSV only:
#
#   bench/results.csv   the rows as chanbench wrote them, each headed by
#                       its block (1, 2, 3)
#   bench/results.md    the targets (the median over the blocks and each
#                       block's value), the tables and every row; a link
#                       to bench/profile.md, with its date, if there is one
#   bench/ratios.svg    bar charts of the ratios (tools/bench_plot.py)
#   bench/scaling-*.svg cost against N (select cases, fan-in/fan-out
#                       peers, objects created, channels of an event
#                       loop), a line per mechanism
#   README.md           its Performance section's generated part (only
#                       when writing to bench/)
#
#   tools/bench.sh [--blocks N] [CHANBENCH OPTIONS]
#                       e.g. --full, --runs 15, --quick, --only rtt,uring
#   tools/bench.sh --profile
#                       instead: bench/profile.{csv,md} (and no other
#                       file), what the kernel does per message in each
#                       target's workload and in its peers
#
# Profile: one guest, in which every workload of chanbench --profile list
# (the rendezvous and io_uring ping-pongs, the stream and the batched
# stream of targets T1, T3, T4 and T5, kchan's and its peers', threads
# and processes) runs one batch with tracefs's function tracer on for
# the batch's measured part (tracing_on, which chanbench sets), and
# counts the calls of the workload's tasks (those named chanbench) per
# kernel function, those made in interrupt context apart, and the
# kchan module's functions (from /proc/kallsyms); tools/bench_profile.py
# writes calls per op, their groups (kchan, wait/wake and scheduler,
# usercopy, locking, allocation, io_uring...), the functions that differ
# most from the peer's, and a reading of the differences. Counts, not
# times: they are what the emulator does not distort. Functions the
# compiler inlined, and the tracer's own, are not seen. The tracer is
# switched on once and not filtered by pid: a guest that wrote
# set_ftrace_pid for each workload (which patches every traced call
# site again) double-faulted under emulation.
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
# KCHAN_BENCH_TIMEOUT (seconds for each guest, default 3000),
# KCHAN_PROFILE_ONLY (--profile: an extended regular expression; only the
# workloads whose ID, TARGET/MODE/MECHANISM, matches it).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bin=build/chanbench
out=${KCHAN_BENCH_OUT:-bench}
timeout_s=${KCHAN_BENCH_TIMEOUT:-3000}
begin='@@chanbench-csv-begin@@'
end='@@chanbench-csv-end@@'

# Prints the lines of guest log $1 between the markers, without the
# serial console's carriage returns.
between_markers() {
	tr -d '\r' <"$1" | awk -v b="$begin" -v e="$end" '
		$0 == e { inside = 0 }
		inside { print }
		$0 == b { inside = 1 }'
}
readonly RUNS_PER_BLOCK=4
readonly CREATE_LATER=1000

blocks=
profile=0
args=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--profile)
		profile=1
		shift
		;;
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
if [[ $profile -eq 1 && ${#args[@]} -gt 0 ]]; then
	echo "bench.sh: --profile takes no other option" >&2
	exit 2
fi
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

# The facts of this run that every report heads with: meta KEY VALUE...
meta_args() {
	local rev ko cpu accel

	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	if ! git diff --quiet HEAD -- kmod uapi 2>/dev/null; then
		rev+=" + uncommitted changes in kmod/ or uapi/"
	fi
	ko=build/mod/kmod/kchan.ko
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	accel=TCG
	[[ ${KCHAN_VM_ACCEL-} == kvm ]] && accel=KVM
	meta=(--meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
		--meta "commit=$rev"
		--meta "module=$ko sha256 $(sha256sum "$ko" | cut -c1-12), built $(date -u -r "$ko" '+%Y-%m-%d %H:%M UTC')"
		--meta "guest kernel=${1:-unknown}"
		--meta "VM=QEMU $accel, 2 vCPUs (tools/vm), host CPU ${cpu:-unknown}, $(nproc) host cores")
}

# The guest's side of --profile: sets the function tracer up, runs each
# workload under it and prints, between markers, kchan's functions
# ("kfn,NAME"), each workload's counts ("run,..." from chanbench), the
# events the buffer lost ("lost,ID,N") and its calls per function and
# context ("fn,ID,task|irq,FUNCTION,CALLS").
# (Single quotes on purpose: this expands in the guest.)
# shellcheck disable=SC2016
profile_guest='set -o pipefail
T=/sys/kernel/tracing
echo "@@guest-kernel@@ $(uname -r)"
[ -e $T/tracing_on ] || mount -t tracefs nodev $T || exit 1
echo 0 >$T/tracing_on &&
echo nop >$T/current_tracer &&
echo 65536 >$T/buffer_size_kb &&
echo 0 >$T/options/print-parent &&
echo function >$T/current_tracer || exit 1
echo "'"$begin"'"
awk '\''$4 == "[kchan]" { print "kfn," $3 }'\'' /proc/kallsyms | sort -u
for w in $("$0" --profile list | grep -E -- "$1"); do
	echo >$T/trace
	"$0" --profile "$w" | sed -n "s/^@@profile@@,/run,/p" || exit 1
	awk -v w="$w" '\''/^overrun:/ { n += $2 } END { print "lost," w "," n + 0 }'\'' \
		$T/per_cpu/cpu*/stats
	# A line: COMM-PID [CPU] FLAGS TIMESTAMP: FUNCTION; the threads and
	# children of chanbench are named chanbench. The third flag is h, H,
	# s, z or Z in interrupt context.
	awk -v w="$w" '\''
		/^#/ { next }
		{
			for (i = 1; i < NF; i++)
				if ($i ~ /^\[[0-9]+\]$/)
					break
			if (i != 2 || $1 !~ /^chanbench-[0-9]+$/ || i + 3 > NF)
				next
			ctx = substr($(i + 1), 3, 1) ~ /[hHszZ]/ ? "irq" : "task"
			n[ctx "," $(i + 3)]++
		}
		END { for (k in n) print "fn," w "," k "," n[k] }'\'' $T/trace
done
# The tracer stays on: the guest ends here, and switching it off patches
# every call site again, which once held a vCPU for over 17 minutes
# under emulation (a soft lockup in text_poke_bp_batch()).
echo "'"$end"'"'

if [[ $profile -eq 1 ]]; then
	echo "bench.sh: profile, one guest"
	tools/vm --timeout "$timeout_s" -- bash -c "$profile_guest" "$bin" \
		"${KCHAN_PROFILE_ONLY:-.}" |
		tee "$work/vm.log" >/dev/null || {
		status=$?
		tail -n 30 "$work/vm.log" >&2
		echo "bench.sh: the profile's guest failed (status $status); $out/ left as it was" >&2
		exit "$status"
	}
	between_markers "$work/vm.log" >"$work/profile.raw"
	grep -q '^run,' "$work/profile.raw" || {
		echo "bench.sh: no profile came back from the guest" >&2
		exit 1
	}
	meta_args "$(tr -d '\r' <"$work/vm.log" | sed -n 's/^@@guest-kernel@@ //p' | head -n 1)"
	mkdir -p "$out"
	python3 tools/bench_profile.py "$work/profile.raw" \
		--csv "$out/profile.csv" --md "$out/profile.md" "${meta[@]}"
	echo "bench.sh: wrote $out/profile.csv and $out/profile.md"
	exit 0
fi

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
	between_markers "$work/vm$k.log" >"$work/block$k.csv"
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

meta_args "$guest_kernel"
mkdir -p "$out"
cp "$work/results.csv" "$out/results.csv"
readme=()
[[ $out == bench ]] && readme=(--readme README.md)
python3 tools/bench_plot.py "$out/results.csv" \
	--md "$out/results.md" --svg "$out/ratios.svg" --scaling-dir "$out" \
	"${readme[@]}" "${meta[@]}" \
	--meta "chanbench options=${*:-(default)}" \
	--meta "blocks=$blocks, each a boot of its own; $((elapsed / 60)) min $((elapsed % 60)) s in all"
echo "bench.sh: wrote $out/results.csv, $out/results.md, $out/ratios.svg, $out/scaling-*.svg${readme:+ and the Performance section of README.md}"
