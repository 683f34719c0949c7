#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh: host
#
# Everything built goes under build/: outside it, the tree holds no
# compiled file (an ELF object, library or program) and none of Kbuild's
# (.cmd, .mod, .mod.c, Module.symvers, modules.order), whatever was built
# before this test ran (make check builds everything first).
#
# Exit status: 0 pass, 1 fail (the files are listed).

set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# One process for the whole tree: each costs a good part of a second
# under emulation.
stray=$(python3 - "$repo" <<'EOF'
import os, sys

top = sys.argv[1]
kbuild = ('.cmd', '.mod', '.mod.c', '.mod.o', '.ko', '.o')
for root, dirs, files in os.walk(top):
    if root == top:
        dirs[:] = [d for d in dirs if d not in ('build', '.git')]
    for name in files:
        path = os.path.join(root, name)
        rel = os.path.relpath(path, top)
        if name == 'go.mod' or os.path.islink(path):
            continue
        if name.endswith(kbuild) or name in ('Module.symvers', 'modules.order'):
            print(rel)
            continue
        try:
            with open(path, 'rb') as f:
                if f.read(4) == b'\x7fELF':
                    print(rel)
        except OSError as e:
            print(f'{rel}: {e.strerror}')
EOF
) || { echo "build_tree: cannot walk the tree"; exit 1; }

if [ -n "$stray" ]; then
	echo "build_tree: built outside build/:"
	echo "$stray" | sed 's/^/  /'
	exit 1
fi
echo "build_tree: nothing built outside build/"
