#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Runs the Python binding's unittest tests (test_*.py here) and reports
each test in KTAP with kselftest's "# Totals:" line, so tests/run.sh
counts every test: a skipped test is counted as skipped, not passed.

Exit status as kselftest's: 0 all passed (some may be skipped), 1 a
failure or error, 4 every test skipped.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


class KtapResult(unittest.TextTestResult):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.n = 0
        self.counts = {"pass": 0, "fail": 0, "skip": 0, "error": 0}

    def report(self, test, ok, kind, directive=""):
        self.n += 1
        self.counts[kind] += 1
        print("%s %d %s%s" % ("ok" if ok else "not ok", self.n, test.id(),
                              directive), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.report(test, True, "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.report(test, False, "fail")

    def addError(self, test, err):
        super().addError(test, err)
        self.report(test, False, "error")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.report(test, True, "skip", " # SKIP " + reason)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        # A failed subtest fails its test; unittest calls addSuccess for
        # the test only when every subtest passed.
        if err is not None:
            self.report(subtest, False,
                        "fail" if issubclass(err[0], test.failureException)
                        else "error")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.report(test, False, "fail", " # unexpected: expectedFailure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.report(test, False, "fail", " # unexpected success")


def main():
    suite = unittest.defaultTestLoader.discover(HERE, top_level_dir=HERE)
    print("TAP version 13")
    print("1..%d" % suite.countTestCases(), flush=True)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=0,
                                     resultclass=KtapResult)
    result = runner.run(suite)
    c = result.counts
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:%d" %
          (c["pass"], c["fail"], c["skip"], c["error"]), flush=True)
    if c["fail"] or c["error"]:
        return 1
    return 4 if c["skip"] and not c["pass"] else 0


if __name__ == "__main__":
    sys.exit(main())
