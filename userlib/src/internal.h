/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/* Inside libkchan: shared by its source files, not installed. */
#ifndef LIBKCHAN_INTERNAL_H
#define LIBKCHAN_INTERNAL_H

#include <stdbool.h>

#include "libkchan.h"

#define KCHAN_HIDDEN __attribute__((visibility("hidden")))

/* The process's /dev/chanctl descriptor (opened once), or -errno. */
KCHAN_HIDDEN int kchan__ctl(void);

/*
 * KCHAN_CTL_SELECT over @cases with @flags (KCHAN_SELECT_PRIORITY) and a
 * library deadline. Returns the case index, with its length in *@len and
 * closed-and-drained in *@closed, or -errno with the case it belongs to
 * (or -1) in *@bad.
 */
KCHAN_HIDDEN int kchan__select_cases(const struct kchan_case *cases,
				     unsigned int n, unsigned int flags,
				     int64_t deadline, __u64 *len, int *bad);

/*
 * An op a channel does itself, in the kernel's select (KCHAN_SEND,
 * KCHAN_RECV and those that carry channels)?
 */
KCHAN_HIDDEN bool kchan__chan_kind(int kind);

/* The kernel's select case for a channel op (kchan__chan_kind()). */
KCHAN_HIDDEN void kchan__case_of(struct kchan_case *c,
				 const struct kchan_op *op);

/* Is @fd a channel? 1, 0, or -errno (a bad fd). */
KCHAN_HIDDEN int kchan__is_chan(int fd);

#endif /* LIBKCHAN_INTERNAL_H */
