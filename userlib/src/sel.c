// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * An armed select for the caller's own event loop: a select file that
 * polls readable once one of its channel ops completed. Op i is case i,
 * so results map back by index.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

#define OPS_ON_STACK	16

int kchan_sel_open(unsigned int flags)
{
	int ctl, fd;

	if (flags & ~(unsigned int)O_NONBLOCK)
		return -EINVAL;
	ctl = kchan__ctl();
	if (ctl < 0)
		return ctl;
	fd = ioctl(ctl, KCHAN_CTL_SELECT_FD, O_CLOEXEC | flags);
	return fd < 0 ? -errno : fd;
}

int kchan_sel_arm(int sfd, struct kchan_op *ops, unsigned int n,
		  unsigned int flags)
{
	struct kchan_case stack[OPS_ON_STACK], *cases = stack;
	struct kchan_select req = { .ncases = n, .flags = flags };
	unsigned int i;
	int ret;

	if ((n && !ops) || (flags & ~(KCHAN_PRIORITY | KCHAN_PERSIST)))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!kchan__chan_kind(ops[i].kind))
			return -EINVAL;
	if (n > OPS_ON_STACK) {
		cases = malloc(n * sizeof(*cases));
		if (!cases)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		kchan__case_of(&cases[i], &ops[i]);
		ops[i].result = -EAGAIN;
	}
	req.cases = (uintptr_t)(n ? cases : NULL);
	ret = ioctl(sfd, KCHAN_SEL_ARM, &req) < 0 ? -errno : 0;
	if (ret && req.index >= 0 && (unsigned int)req.index < n)
		ops[req.index].result = ret;
	if (cases != stack)
		free(cases);
	return ret;
}

int kchan_sel_result(const struct kchan_select_result *res, int cqe_res,
		     struct kchan_op *ops, unsigned int n)
{
	if (cqe_res < 0)
		return cqe_res;
	if (cqe_res != sizeof(*res) || res->index < 0 ||
	    (unsigned int)res->index >= n)
		return -EIO;
	ops[res->index].result = (ssize_t)res->result;
	return res->result < 0 ? (int)res->result : res->index;
}

int kchan_sel_collect(int sfd, struct kchan_op *ops, unsigned int n)
{
	struct kchan_select_result res;
	ssize_t got = read(sfd, &res, sizeof(res));

	return kchan_sel_result(&res, got < 0 ? -errno : (int)got, ops, n);
}

int kchan_sel_cancel(int sfd, struct kchan_op *ops, unsigned int n)
{
	struct kchan_select_result res;
	int ret = ioctl(sfd, KCHAN_SEL_CANCEL, &res);

	if (ret < 0)
		return -errno;
	if (ret == 0)
		return -ECANCELED;
	return kchan_sel_result(&res, sizeof(res), ops, n);
}

void kchan_prep_collect(struct io_uring_sqe *sqe, int sfd,
			struct kchan_select_result *res)
{
	io_uring_prep_read(sqe, sfd, res, sizeof(*res), 0);
}
