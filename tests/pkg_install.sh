#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
# The result of tools/pkgtest install, from make check-pkg on the host.
exec bash "$(dirname "${BASH_SOURCE[0]}")/pkg_result.bash" install
