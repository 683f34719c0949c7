# SPDX-License-Identifier: GPL-2.0
"""The Python stage of tests/lang_three.sh: every message of channel IN,
prefixed with "py:", goes to channel OUT, which is closed once IN is.
    stage.py IN OUT
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "userlib", "python"))
import kchan  # noqa: E402

with kchan.Chan.open(sys.argv[1], "r") as src, \
        kchan.Chan.open(sys.argv[2], "w") as dst:
    for msg in src:
        dst.send(b"py:" + msg)
    dst.close()
