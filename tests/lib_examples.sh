#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The libkchan examples (userlib/examples/, built into
# build/userlib/examples/) run and succeed: each idiom works as shown.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$repo/build/userlib/examples
status=0
n=0

for prog in "$dir"/*; do
	[ -x "$prog" ] || continue
	n=$((n + 1))
	if ! timeout 60 "$prog"; then
		echo "lib_examples: $(basename "$prog") failed"
		status=1
	fi
done
if [ "$n" -eq 0 ]; then
	echo "lib_examples: no example built in $dir (make userlib)"
	exit 1
fi
echo "lib_examples: $n examples ran"
exit $status
