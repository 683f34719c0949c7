#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pkg_result.bash CHECK: reports tools/pkgtest CHECK (dkms, install or
# deb), which make check runs on the host before the VM (make check-pkg:
# it needs the host's dpkg, dkms and kernel headers). Skipped when there
# is no result (tests/run.sh run by hand). tests/pkg_CHECK.sh call it.
check=$1
result=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/pkg/$check.result
if [ ! -r "$result" ]; then
	echo "pkg_$check: no $result: run make check-pkg on the host"
	exit 4
fi
grep '^pkg' "$result"
grep -qx 'pkg-result: pass' "$result"
