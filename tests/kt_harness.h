/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kselftest harness of linux-source-6.1, as the tests use it: its
 * TEST() leaves a parameter (the variant) unused, which -Wextra reports,
 * and a failed ASSERT longjmp()s out of the test, which -Wclobbered
 * reports for every local the test changed before.
 */
#ifndef KT_HARNESS_H
#define KT_HARNESS_H

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclobbered"
#include "kselftest_harness.h"

#endif /* KT_HARNESS_H */
