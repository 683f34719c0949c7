# SPDX-License-Identifier: GPL-2.0
#
# The kernel log as tests/run.sh reads it after each program: bash
# alone, no process per program. (dmesg piped to tools/kernel-failures
# is three processes, about four seconds a program in a debug guest
# under emulation.) One cat, for the whole run, copies /dev/kmsg to a
# file record by record as the kernel writes them; after a program,
# run.sh writes an end marker into the log and reads the file on from
# where it stopped, up to that marker.
#
# kmsg_follow FILE DIR  start the copy of /dev/kmsg into FILE (pid in
#                       KMSG_FOLLOWER) and kmsg_open it
# kmsg_open FILE DIR    read FILE, raw /dev/kmsg records, from its start;
#                       DIR gets a fifo kmsg_until waits on
# kmsg_until MARK SECS  read the records not read yet up to the first
#                       whose text holds MARK, waiting up to SECS seconds
#                       for it: KMSG_LINES gets them as dmesg prints them
#                       ("[    s.micros] text"), MARK's own included;
#                       status 1 if MARK did not come (KMSG_LINES has
#                       what did)
# kmsg_failures         KMSG_PROBLEMS gets the lines of KMSG_LINES that
#                       tools/kernel-failures counts as a failure
# kmsg_stop             end the copy kmsg_follow started
#
# A record is "PRIORITY,SEQUENCE,MICROSECONDS,FLAGS;TEXT", followed by
# lines that start with a space (its dictionary), skipped here. If the
# copy falls so far behind that the kernel overwrote records it had not
# read, its read fails (EPIPE) and cat ends; the loop starts another
# one, which reads the log again from its oldest record: records at or
# below the last sequence number read are skipped.

KMSG_SEQ=-1
KMSG_PART=
KMSG_LINES=()
KMSG_PROBLEMS=()
KMSG_FOLLOWER=

# The patterns, once: tools/kernel-failures is the one list.
kmsg_patterns() {
	local repo=${BASH_SOURCE[0]%/*}/.. p

	KMSG_RE=
	while IFS= read -r p; do
		KMSG_RE+=${KMSG_RE:+|}$p
	done < <("$repo/tools/kernel-failures" --list)
	KMSG_IGNORE=$("$repo/tools/kernel-failures" --list-ignored)
	[ -n "$KMSG_RE" ] && [ -n "$KMSG_IGNORE" ]
}

kmsg_open() {
	[ -p "$2/kmsg.tick" ] || mkfifo "$2/kmsg.tick" || return 1
	# Read here, written by no one: a read of it with a timeout is a
	# sleep without a process.
	exec {KMSG_TICK}<>"$2/kmsg.tick" {KMSG_FD}<"$1" || return 1
	kmsg_patterns
}

kmsg_follow() {
	: >"$1" && mkfifo "$2/kmsg.tick" || return 1
	# cat's read fails with EPIPE once the kernel overwrote a record it
	# had not read: start it again (at most once a second). kmsg_stop
	# ends the loop and its cat.
	(
		trap '[ -n "$cat" ] && kill "$cat"; exit 0' TERM
		cat=
		while :; do
			cat /dev/kmsg &
			cat=$!
			wait "$cat"
			read -r -t 1 <>"$2/kmsg.tick"
		done
	) >>"$1" 2>/dev/null &
	KMSG_FOLLOWER=$!
	kmsg_open "$1" "$2"
}

kmsg_stop() {
	[ -z "$KMSG_FOLLOWER" ] || kill "$KMSG_FOLLOWER" 2>/dev/null
	KMSG_FOLLOWER=
}

kmsg_until() {
	local mark=$1 tenths=$(($2 * 10)) line seq usecs text

	KMSG_LINES=()
	while :; do
		if ! IFS= read -r -u "$KMSG_FD" line; then
			# At the end of what was copied so far; a record half
			# written is kept for the next read.
			KMSG_PART+=$line
			[ "$tenths" -gt 0 ] || return 1
			tenths=$((tenths - 1))
			read -r -t 0.1 -u "$KMSG_TICK"
			continue
		fi
		line=$KMSG_PART$line
		KMSG_PART=
		[[ $line =~ ^[0-9]+,([0-9]+),([0-9]+),[^\;]*\;(.*)$ ]] || continue
		seq=${BASH_REMATCH[1]} usecs=${BASH_REMATCH[2]} text=${BASH_REMATCH[3]}
		[ "$seq" -gt "$KMSG_SEQ" ] || continue
		KMSG_SEQ=$seq
		printf -v line '[%5d.%06d] %s' $((usecs / 1000000)) \
			$((usecs % 1000000)) "$text"
		KMSG_LINES+=("$line")
		[[ $text == *"$mark"* ]] && return 0
	done
}

kmsg_failures() {
	local line

	KMSG_PROBLEMS=()
	for line in "${KMSG_LINES[@]}"; do
		[[ $line =~ $KMSG_IGNORE ]] && continue
		[[ $line =~ $KMSG_RE ]] && KMSG_PROBLEMS+=("$line")
	done
	return 0
}
