/* SPDX-License-Identifier: GPL-2.0 */
/* The old names of the test library, for chan_faults.c: see kchan_test.h. */
#include "kchan_test.h"
