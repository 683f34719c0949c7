#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The libkchan examples (userlib/examples/, built into
# build/userlib/examples/) run and succeed: each idiom works as shown.
# The programs of Pike's talk "Concurrency Is Not Parallelism" must all be
# there, and what they print is checked too: the values they received,
# the timings they report, and a number for every rate.
#
# KCHAN_EXAMPLES_DIR: run the programs of another directory instead.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${KCHAN_EXAMPLES_DIR:-$repo/build/userlib/examples}
talk="timer select_default sieve gophers"
status=0
n=0

# expect NAME OUTPUT ERE...: each ERE matches a line of OUTPUT.
expect() {
	local name=$1 out=$2 re

	shift 2
	for re in "$@"; do
		if ! grep -Eq -- "$re" <<<"$out"; then
			echo "lib_examples: $name: no line matches /$re/"
			return 1
		fi
	done
}

# expect_count NAME OUTPUT N ERE: exactly N lines of OUTPUT match ERE.
expect_count() {
	local got

	got=$(grep -Ec -- "$4" <<<"$2")
	[ "$got" -eq "$3" ] && return 0
	echo "lib_examples: $1: $got lines match /$4/, want $3"
	return 1
}

# awk_check NAME OUTPUT WHAT PROGRAM: an awk program over OUTPUT exits 0,
# else WHAT is wrong.
awk_check() {
	awk "$4" <<<"$2" && return 0
	echo "lib_examples: $1: $3"
	return 1
}

check_timer() {
	expect timer "$1" \
		'^timer: meanwhile main summed the squares up to 1e6: 333333833333500000$' \
		'^timer: the sleeper sent its completion time: [0-9]+ ms after the start$' \
		'^timer: time.After\(20 ms\) fired first, after [0-9]+ ms$' \
		'^timer: the reply came first, after [0-9]+ ms, before time.After\(2 s\)$' &&
	awk_check timer "$1" "a time is out of its bounds" '
		/completion time/ { if ($8 < 50) exit 1; n++ }
		/fired first/     { if ($7 < 20) exit 1; n++ }
		/came first/      { if ($7 + 0 >= 2000) exit 1; n++ }
		END { exit n != 3 }'
}

check_select_default() {
	local want

	want=$(printf 'select_default: %s\n' "neither channel was ready" \
		"channel 1 sends 1" "channel 2 sends 2" "neither channel was ready")
	[ "$1" = "$want" ] && return 0
	echo "lib_examples: select_default: the output is not the expected:"
	echo "$want" | sed 's/^/  want: /'
	return 1
}

check_sieve() {
	expect sieve "$1" \
		'^sieve: 2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59 61 67 71 73 79 83 89 97$' \
		'^sieve: 26 processes \(a generator, 25 filters\) exited cleanly: 26$'
}

# Two tables (CPU work, then waiting), a line per design in each: its
# rate and its ratio to one gopher are numbers, the first ratio is 1.
check_gophers() {
	local design='^gophers: (1 gopher|2 gophers|2 pipelines|staged|staged x2) +[0-9]+ gophers? in [12] pipelines?: +[0-9]+\.[0-9] books/s +[0-9]+\.[0-9]{2}x$'

	expect gophers "$1" '^gophers: moving a book costs [0-9.]+ ms of CPU$' \
		'^gophers: moving a book costs [0-9.]+ ms of waiting$' &&
	expect_count gophers "$1" 10 "$design" &&
	awk_check gophers "$1" "a rate is not positive, or the first ratio not 1.00x" '
		/books\/s/ { if ($(NF - 2) <= 0) exit 1 }
		/ 1 gopher / { if ($NF != "1.00x") exit 1 }'
}

for name in $talk; do
	if [ ! -x "$dir/$name" ]; then
		echo "lib_examples: $name is missing from $dir (make userlib)"
		status=1
	fi
done

for prog in "$dir"/*; do
	[ -x "$prog" ] || continue
	name=$(basename "$prog")
	n=$((n + 1))
	out=$(timeout 120 "$prog")
	rc=$?
	[ -n "$out" ] && echo "$out"
	if [ "$rc" -ne 0 ]; then
		echo "lib_examples: $name failed (exit status $rc)"
		status=1
	elif declare -F "check_$name" >/dev/null && ! "check_$name" "$out"; then
		status=1
	fi
done
if [ "$n" -eq 0 ]; then
	echo "lib_examples: no example built in $dir (make userlib)"
	exit 1
fi
echo "lib_examples: $n examples ran"
exit $status
