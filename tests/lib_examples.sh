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
talk="timer select_default sieve gophers loadbalancer"
status=0
n=0

# count_lines OUTPUT ERE: the number of lines of OUTPUT that match ERE,
# in REPLY. Bash's own matching: a process (grep) costs seconds in an
# emulated guest.
count_lines() {
	local line

	REPLY=0
	while IFS= read -r line; do
		[[ $line =~ $2 ]] && REPLY=$((REPLY + 1))
	done <<<"$1"
}

# expect NAME OUTPUT ERE...: each ERE matches a line of OUTPUT.
expect() {
	local name=$1 out=$2 re

	shift 2
	for re in "$@"; do
		count_lines "$out" "$re"
		if [ "$REPLY" -eq 0 ]; then
			echo "lib_examples: $name: no line matches /$re/"
			return 1
		fi
	done
}

# expect_count NAME OUTPUT N ERE: exactly N lines of OUTPUT match ERE.
expect_count() {
	count_lines "$2" "$4"
	[ "$REPLY" -eq "$3" ] && return 0
	echo "lib_examples: $1: $REPLY lines match /$4/, want $3"
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

# For 1, 2 and 4 workers: every request completed and answered right, the
# requests per worker add up, the rates are numbers, the first ratio is 1.
# Run with -v, it names the channels: each answer a worker sends goes on
# a channel some requester made, which came to the worker in a message.
check_loadbalancer() {
	expect_count loadbalancer "$1" 3 \
		'^loadbalancer: [124] workers?: [0-9]+ of [0-9]+ requests completed, [0-9]+ answered right, in [0-9.]+ s: [0-9]+\.[0-9] requests/s +[0-9]+\.[0-9]{2}x$' &&
	expect_count loadbalancer "$1" 3 \
		'^loadbalancer: [124] workers?: requests per worker [0-9 ]+: mean [0-9.]+, spread [0-9.]+; pending: the most and least loaded differ by [0-9.]+$' &&
	awk_check loadbalancer "$1" \
		"the counts do not add up, or an answer went on a channel no requester made" '
		/requests completed/ {
			if ($4 != $6 || $9 != $6 || $15 <= 0) exit 1
			if ($2 == 1 && $17 != "1.00x") exit 1
			total = $6; runs++
		}
		/requests per worker/ {
			s = $0; sub(/.*requests per worker /, "", s); sub(/:.*/, "", s)
			k = split(s, c, " "); t = 0
			for (i = 1; i <= k; i++) t += c[i]
			if (k != $2 || t != total) exit 1
			loads++
		}
		/^  requester [0-9]+: .*come back on channel #[0-9]+$/ {
			id = $NF; sub(/#/, "", id); made[id] = 1
		}
		/^  worker [0-9]+: .*answered on channel #[0-9]+, which came with it as fd [0-9]+, send-only$/ {
			match($0, /channel #[0-9]+/)
			used[substr($0, RSTART + 9, RLENGTH - 9)] = 1
			answers++
		}
		END {
			for (id in used) if (!(id in made)) exit 1
			exit !(runs == 3 && loads == 3 && answers >= 4)
		}'
}

for name in $talk; do
	if [ ! -x "$dir/$name" ]; then
		echo "lib_examples: $name is missing from $dir (make userlib)"
		status=1
	fi
done

for prog in "$dir"/*; do
	[ -x "$prog" ] || continue
	name=${prog##*/}
	n=$((n + 1))
	args=()
	[ "$name" = loadbalancer ] && args=(-v)
	out=$(timeout 120 "$prog" "${args[@]}")
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
