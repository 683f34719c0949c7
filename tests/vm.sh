#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# tools/vm boots a guest again when it died or hung before the command
# started (a boot-time panic or hang of a starved emulator), and only
# then: with a fake qemu-system-x86_64 first in PATH, which plays the
# guest from the options tools/vm gives it (the console log, the results
# share and its "started" marker, the command's output on stdout):
# - a boot that panics once is retried, the panic shown with the retry
#   line, and the run gives the command's status 0;
# - a boot that panics every time is tried three times and fails;
# - a kernel report after the marker fails the run with no retry;
# - a boot that hangs once is stopped after --boot-timeout and retried,
#   the end of its console shown; one that hangs every time is tried
#   three times and fails as a timeout, also when there is no console
#   (a boot stopped before QEMU made it);
# - a boot that spins is stopped once QEMU used --boot-cpu seconds of
#   CPU, long before --boot-timeout, and retried;
# - a guest that hangs after the marker is not retried: it runs until
#   --timeout;
# - a kernel with no PVH entry (a bzImage whose payload is not one) is
#   decompressed on the first run only (a gzip first in PATH counts).
#
# Exit status: 0 pass, 1 fail (each failed check is printed).
#
# Few processes (the fake guest uses bash builtins only), few runs: under
# emulation each process costs a good part of a second.

# shellcheck source=tests/kt_tool.bash
. "$(dirname "${BASH_SOURCE[0]}")/kt_tool.bash"

mkdir "$tmp/bin"
cat >"$tmp/bin/qemu-system-x86_64" <<'EOF'
#!/bin/bash
# The fake guest: $FAKE_GUEST is what each boot does, one word a boot
# (the last one repeats); each boot is counted in $FAKE_BOOTS.
console= results=
while [ $# -gt 0 ]; do
	case $1 in
	file,id=console,path=*) console=${1#*path=} ;;
	local,id=results,path=*) results=${1#*path=}; results=${results%,security_model=*} ;;
	esac
	shift
done
console=${console//,,/,} results=${results//,,/,}
[ -n "$console" ] && [ -d "$results" ] || { echo "fake qemu: options not found" >&2; exit 1; }
n=$(($(<"$FAKE_BOOTS") + 1))
echo $n >"$FAKE_BOOTS"
read -ra plan <<<"$FAKE_GUEST"
what=${plan[n - 1]:-${plan[-1]}}
echo "[    0.000000] Linux version 6.1.0 (fake)" >"$console"
case $what in
panic)	# as check_timer() dies when no timer tick came in time
	echo "[    0.412345] Kernel panic - not syncing: IO-APIC + timer doesn't work!  Boot with apic=debug and send a report." >>"$console" ;;
hang)	# as a boot that stops in the middle, printing nothing more
	echo "[    0.523456] smpboot: Allowing 2 CPUs, 0 hotplug CPUs" >>"$console"
	exec sleep 30 ;;
spin)	# as a boot that loops without printing, the CPU busy
	echo "[    0.634567] smp: Bringing up secondary CPUs ..." >>"$console"
	while :; do :; done ;;
mute)	# as a boot stopped before QEMU made its console
	rm -f "$console"
	exec sleep 30 ;;
late-hang)
	: >"$results/started"
	exec sleep 30 ;;
ok|splat)
	: >"$results/started"
	echo "command ran"
	if [ "$what" = splat ]; then
		echo "[   12.104512] BUG: KASAN: slab-use-after-free in kchan_recv+0x1a/0x2b0 [kchan]" >>"$console"
	else
		echo "[    0.000000] Linux version 6.1.0 (fake)" >"$results/dmesg"
		echo 0 >"$results/status"
	fi ;;
esac
exit 0
EOF
chmod 755 "$tmp/bin/qemu-system-x86_64"
cat >"$tmp/bin/gzip" <<'EOF'
#!/bin/bash
[ "$1" = -dcq ] && echo decompressed >>"$FAKE_GZIP_LOG"
exec /bin/gzip "$@"
EOF
chmod 755 "$tmp/bin/gzip"
echo "not a kernel" >"$tmp/bzImage"
export PATH=$tmp/bin:$PATH FAKE_BOOTS=$tmp/boots

# Runs tools/vm on guests doing PLAN, with tools/vm's OPTIONS after it;
# STATUS, OUT (stdout), ERR (stderr) and BOOTS (how many boots) hold the
# result.
run_vm() {
	export FAKE_GUEST=$1
	shift
	echo 0 >"$FAKE_BOOTS"
	STATUS=0
	"$tool" --kernel "$tmp/bzImage" --no-module --timeout 60 "$@" -- true \
		>"$tmp/out" 2>"$tmp/err" || STATUS=$?
	OUT=$(<"$tmp/out") ERR=$(<"$tmp/err") BOOTS=$(<"$FAKE_BOOTS")
}

# Checks the last run against WHAT: its exit status, its number of boots
# (not checked if "-": a boot stopped for hanging may have been stopped
# before the fake started, on a loaded host), and the number of retry
# lines on stderr.
expect() {
	local what=$1 status=$2 boots=$3 retries=$4 got=0 line

	while read -r line; do
		[[ $line == "tools/vm: "*"booting it again" ]] && got=$((got + 1))
	done <<<"$ERR"
	[ "$boots" = - ] && boots=$BOOTS
	[ "$STATUS $BOOTS $got" = "$status $boots $retries" ] ||
		fail "$what: exit status $STATUS, $BOOTS boot(s), $got retry line(s);" \
			"expected $status, $boots, $retries; stdout:"$'\n'"$OUT"$'\n'"stderr:"$'\n'"$ERR"
}

run_vm "panic ok"
expect "a panic in the first boot" 0 2 1
[ "$OUT" = "command ran" ] || fail "a panic in the first boot: stdout: $OUT"
[[ $ERR == *"IO-APIC + timer doesn't work"* ]] ||
	fail "a panic in the first boot: the panic is not shown on stderr: $ERR"

run_vm "panic"
expect "a panic in every boot" 123 3 2

run_vm "splat"
expect "a report after the command started" 123 1 0
[[ $ERR == *"BUG: KASAN"* ]] || fail "a report after the command started: not shown: $ERR"

run_vm "hang ok" --boot-timeout 8
expect "a hang in the first boot" 0 2 1
[ "$OUT" = "command ran" ] || fail "a hang in the first boot: stdout: $OUT"
[[ $ERR == *"not started the command after 8s"*"smpboot: Allowing 2 CPUs"* ]] ||
	fail "a hang in the first boot: the console's end is not shown on stderr: $ERR"

run_vm "hang mute" --boot-timeout 2
expect "a hang in every boot" 124 - 2
grep -qx "tools/vm: the guest had not started the command after 2s" <<<"$ERR" ||
	fail "a hang in every boot: the last one is not reported: $ERR"

run_vm "spin ok" --boot-cpu 1 --boot-timeout 50
expect "a boot that spins" 0 2 1
[[ $ERR == *"not started the command when QEMU had used 1s of CPU"*"Bringing up secondary CPUs"* ]] ||
	fail "a boot that spins: not stopped for its CPU time, or its console not shown: $ERR"

run_vm "late-hang" --boot-timeout 5 --timeout 10
expect "a hang after the command started" 124 1 0
[[ $ERR == *"did not finish within 10s"* ]] ||
	fail "a hang after the command started: no timeout reported: $ERR"

# Its key in build/vm is its name, size and time: fixed, and cleared
# first, so that the first run is the first.
mkdir "$tmp/nopvh"
kernel=$tmp/nopvh/bzImage
{ echo "a setup, then the payload:"; echo "not a vmlinux" | gzip -c; } >"$kernel"
touch -d @1000000000 "$kernel"
rm -f "$repo/build/vm/vmlinux-bzImage-$(stat -c %s "$kernel")-1000000000.no-pvh"
export FAKE_GZIP_LOG=$tmp/gzip.log FAKE_GUEST=ok
: >"$FAKE_GZIP_LOG"
for run in 1 2; do
	"$tool" --kernel "$kernel" --no-module --timeout 60 -- true >/dev/null 2>&1 ||
		fail "a kernel without a PVH entry: run $run failed"
done
[ "$(wc -l <"$FAKE_GZIP_LOG")" = 1 ] ||
	fail "a kernel without a PVH entry: decompressed $(wc -l <"$FAKE_GZIP_LOG") times in 2 runs, expected once"

[ "$bad" = 0 ] && echo "vm: a boot that died or hung is retried (at most twice), a run that started never"
exit "$bad"
