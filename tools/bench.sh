#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs chanbench in the test VM and writes, from its CSV only:
#
#   bench/results.csv   the rows as chanbench wrote them
#   bench/results.md    the headline ratios, the targets and every row
#   bench/ratios.svg    bar charts of the ratios (tools/bench_plot.py)
#   README.md           its Performance section's generated part (only
#                       when writing to bench/)
#
#   tools/bench.sh [CHANBENCH OPTIONS]     e.g. --full, --runs 15, --quick
#
# The guest's /tmp goes away with the guest, so the CSV comes back on the
# guest's output between two marker lines. Nothing is written unless the
# run succeeded (chanbench's status and tools/vm's kernel log check).
#
# Environment: KCHAN_BENCH_OUT (output directory, default bench),
# KCHAN_BENCH_TIMEOUT (seconds for the whole guest, default 3000).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bin=build/chanbench
out=${KCHAN_BENCH_OUT:-bench}
timeout_s=${KCHAN_BENCH_TIMEOUT:-3000}
begin='@@chanbench-csv-begin@@'
end='@@chanbench-csv-end@@'

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

status=0
tools/vm --timeout "$timeout_s" -- bash -c "$guest" "$bin" "$@" |
	tee "$work/vm.log" || status=$?
if [[ $status -ne 0 ]]; then
	echo "bench.sh: the run failed (status $status); $out/ left as it was" >&2
	exit "$status"
fi

tr -d '\r' <"$work/vm.log" |
	awk -v b="$begin" -v e="$end" '
		$0 == e { inside = 0 }
		inside { print }
		$0 == b { inside = 1 }' >"$work/results.csv"
if [[ $(head -c 16 "$work/results.csv") != "bench,mechanism," ]] ||
		[[ $(wc -l <"$work/results.csv") -lt 2 ]]; then
	echo "bench.sh: no CSV came back from the guest" >&2
	exit 1
fi
guest_kernel=$(tr -d '\r' <"$work/vm.log" |
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
	--md "$out/results.md" --svg "$out/ratios.svg" "${readme[@]}" \
	--meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
	--meta "commit=$rev" \
	--meta "module=$module" \
	--meta "guest kernel=${guest_kernel:-unknown}" \
	--meta "VM=QEMU $accel, 2 vCPUs (tools/vm), host CPU ${cpu:-unknown}, $(nproc) host cores" \
	--meta "chanbench options=${*:-(default)}"
echo "bench.sh: wrote $out/results.csv, $out/results.md, $out/ratios.svg${readme:+ and the Performance section of README.md}"
