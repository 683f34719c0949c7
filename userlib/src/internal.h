/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/* Inside libkchan: shared by its source files, not installed. */
#ifndef LIBKCHAN_INTERNAL_H
#define LIBKCHAN_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <sys/ioctl.h>

#include "libkchan.h"

#define KCHAN_HIDDEN __attribute__((visibility("hidden")))

/* The process's /dev/chanctl descriptor (opened once), or -errno. */
KCHAN_HIDDEN int kchan__ctl(void);
/* That descriptor once kchan__ctl() opened it, else -1. */
KCHAN_HIDDEN extern int kchan__ctl_fd;

/*
 * KCHAN_CTL_SELECT over @cases with @flags (KCHAN_SELECT_PRIORITY) and a
 * library deadline (KCHAN_FOREVER or later). Returns the case index, with
 * its length in *@len, or -errno with the case it belongs to (or -1) in
 * *@bad. Inline: every send, receive and select of channels is this one
 * call, and the caller's *@len and *@bad stay in registers.
 */
static inline int kchan__select_cases(const struct kchan_case *cases,
				      unsigned int n, unsigned int flags,
				      int64_t deadline, __u64 *len, int *bad)
{
	struct kchan_select req = {
		.cases = (uintptr_t)cases, .ncases = n, .flags = flags,
	};
	int ctl = __atomic_load_n(&kchan__ctl_fd, __ATOMIC_ACQUIRE);
	int ret;

	*bad = -1;
	if (__builtin_expect(ctl < 0, 0)) {
		ctl = kchan__ctl();
		if (ctl < 0)
			return ctl;
	}
	if (deadline == 0) {
		req.flags |= KCHAN_SELECT_NONBLOCK;
	} else if (deadline > 0) {
		req.flags |= KCHAN_SELECT_DEADLINE;
		req.deadline_ns = deadline;
	} else if (deadline != KCHAN_FOREVER) {
		return -EINVAL;
	}
	ret = ioctl(ctl, KCHAN_CTL_SELECT, &req);
	if (ret < 0) {
		*bad = req.index;
		return -errno;
	}
	*len = req.len;
	return ret;
}

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
