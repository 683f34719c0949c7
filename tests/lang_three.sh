#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One channel, three languages: a C producer (libkchan) sends N messages
# on the named channel "src", a Python stage (userlib/python) forwards
# each to "dst" with a prefix, a Go consumer (userlib/go) prints them.
# Small capacities make every end wait for the others. Every message
# arrives exactly once and in order, and both closes propagate.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=300
tag=lang$$
work=$(mktemp -d /tmp/kchan-lang.XXXXXX)
cleanup() {
	"$repo/build/bin/chanctl" rm "$tag-src" 2>/dev/null
	"$repo/build/bin/chanctl" rm "$tag-dst" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "lang_three: $*"
	exit 1
}

for p in build/lang/producer build/go/kchan-consume; do
	[ -x "$repo/$p" ] || fail "$p is missing: run make tests"
done
"$repo/build/bin/chanctl" create "$tag-src" --capacity 2 --msg-max 32 || fail "create src"
"$repo/build/bin/chanctl" create "$tag-dst" --capacity 0 --msg-max 64 || fail "create dst"

"$repo/build/go/kchan-consume" "$tag-dst" >"$work/out" 2>"$work/go.err" &
go_pid=$!
python3 -B "$repo/tests/lang/stage.py" "$tag-src" "$tag-dst" 2>"$work/py.err" &
py_pid=$!
"$repo/build/lang/producer" "$tag-src" "$n" || fail "the C producer failed"
wait "$py_pid" || { cat "$work/py.err"; fail "the Python stage failed"; }
wait "$go_pid" || { cat "$work/go.err"; fail "the Go consumer failed"; }

seq 0 $((n - 1)) | sed 's/^/py:c:/' >"$work/want"
if ! cmp -s "$work/want" "$work/out"; then
	diff "$work/want" "$work/out" | head -20
	fail "the Go consumer did not get each message once, in order"
fi
echo "lang_three: $n messages C -> Python -> Go, each once, in order"
