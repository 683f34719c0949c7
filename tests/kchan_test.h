/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The old kchan_ and kw_ names of the test library (kt.h and its
 * headers), for chan_faults.c until it uses the kt_ names.
 */
#ifndef KCHAN_TEST_H
#define KCHAN_TEST_H

#include "kt.h"
#include "kt_bg.h"
#include "kt_sys.h"

#define CHANCTL			KT_CHANCTL
#define KCHAN_SETTLE_MS		KT_SETTLE_MS
#define kchan_make		kt_make
#define kchan_create_named	kt_create_named
#define kchan_unlink		kt_unlink
#define kchan_close		kt_close
#define kchan_stat(fd, st)	kt_stat(fd, st)
#define kchan_send		kt_send
#define kchan_recv		kt_recv
#define kchan_next_len		kt_next_len
#define kchan_node_path		kt_node_path
#define kchan_test_name		kt_name
#define kchan_fill		kt_fill
#define kchan_check		kt_check
#define kchan_wait_for		kt_wait_for
#define kchan_proc_scan		kt_proc_scan
#define kchan_op		kt_op
#define kchan_op_send		kt_op_send
#define kchan_op_recv		kt_op_recv
#define kchan_op_done		kt_op_done
#define kchan_op_result		kt_op_result
#define kw_now_ns		kt_now_ns
#define kw_sleep_ms		kt_sleep_ms

#endif /* KCHAN_TEST_H */
