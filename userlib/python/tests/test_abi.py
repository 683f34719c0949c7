# SPDX-License-Identifier: GPL-2.0
"""The module's hard-coded ioctl numbers and struct layouts are the C
header's: compared with what kchan_abi.c, compiled against
uapi/linux/kchan.h, prints."""

import ctypes
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

import kchan

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
# Built on the host by make (so the emulated guest need not compile).
PREBUILT = os.path.join(TOP, "build", "python", "kchan_abi")


def c_values():
    if os.access(PREBUILT, os.X_OK) and \
            os.path.getmtime(PREBUILT) >= os.path.getmtime(
                os.path.join(TOP, "uapi", "linux", "kchan.h")):
        out = subprocess.run([PREBUILT], check=True, capture_output=True,
                             text=True).stdout
    else:
        cc = shutil.which(os.environ.get("CC", "cc"))
        if not cc:
            raise unittest.SkipTest("no C compiler and no " + PREBUILT)
        with tempfile.TemporaryDirectory() as d:
            exe = os.path.join(d, "kchan_abi")
            subprocess.run([cc, "-I" + os.path.join(TOP, "uapi"), "-o", exe,
                            os.path.join(HERE, "kchan_abi.c")], check=True)
            out = subprocess.run([exe], check=True, capture_output=True,
                                 text=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


class TestAbi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = c_values()

    def test_ioctl_numbers(self):
        names = [k for k in self.c
                 if k.startswith(("KCHAN_IOC_", "KCHAN_CTL_", "KCHAN_SEL_"))]
        self.assertEqual(len(names), 12)
        for name in names:
            with self.subTest(name=name):
                self.assertEqual(getattr(kchan, name), self.c[name],
                                 "%s: Python 0x%x, C 0x%x" % (
                                     name, getattr(kchan, name), self.c[name]))

    def test_constants(self):
        for name, value in self.c.items():
            if name.startswith("sizeof_"):
                continue
            with self.subTest(name=name):
                self.assertEqual(getattr(kchan, name), value)

    def test_struct_sizes(self):
        fmts = {
            "kchan_create": kchan.CREATE_FMT,
            "kchan_name": kchan.NAME_FMT,
            "kchan_version": kchan.VERSION_FMT,
            "kchan_stat": kchan.STAT_FMT,
            "kchan_batch": kchan.BATCH_FMT,
            "kchan_select": kchan.SELECT_FMT,
            "kchan_select_result": kchan.SELECT_RESULT_FMT,
        }
        for name, fmt in fmts.items():
            with self.subTest(struct=name):
                self.assertEqual(struct.calcsize(fmt),
                                 self.c["sizeof_" + name])
        self.assertEqual(ctypes.sizeof(kchan._Case), self.c["sizeof_kchan_case"])
        self.assertEqual(len([k for k in self.c if k.startswith("sizeof_")]),
                         len(fmts) + 1)


if __name__ == "__main__":
    unittest.main()
