#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The commit protocol's model (tools/model/kchan.pml) verifies for the
# small worlds and catches each mutant. make check runs the model checker
# on the host first (tools/model/check small --result build/model/small.result);
# this reports that outcome if it is for the model as it is now, and else
# runs the checker here (spin and gcc come from the host's root).
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model=$repo/tools/model/kchan.pml
result=$repo/build/model/small.result

if [ -r "$result" ] &&
   grep -qx "model-sha256: $(sha256sum "$model" | cut -d' ' -f1)" "$result"; then
	grep '^model: ' "$result"
	grep -qx 'model-result: pass' "$result"
	exit
fi
if ! command -v spin >/dev/null || ! command -v gcc >/dev/null; then
	echo "model: no result for this model and no spin/gcc to make one"
	exit 1
fi
exec "$repo/tools/model/check" small
