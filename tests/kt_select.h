/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Select: case builders, the KCHAN_CTL_SELECT call, select files, and a
 * select run in a background thread. Include after kselftest_harness.h.
 */
#ifndef KT_SELECT_H
#define KT_SELECT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "kt.h"

static inline struct kchan_case kt_case_send(int fd, const void *buf,
					     size_t len)
{
	return (struct kchan_case){ .fd = fd, .op = KCHAN_OP_SEND,
				    .buf = (uintptr_t)buf, .len = len };
}

static inline struct kchan_case kt_case_recv(int fd, void *buf, size_t cap)
{
	return (struct kchan_case){ .fd = fd, .op = KCHAN_OP_RECV,
				    .buf = (uintptr_t)buf, .len = cap };
}

/* A select file's readiness case: @fd polls readable (@in) or writable. */
static inline struct kchan_case kt_case_watch(int fd, bool in)
{
	return (struct kchan_case){
		.fd = fd, .op = in ? KCHAN_OP_POLLIN : KCHAN_OP_POLLOUT,
	};
}

/*
 * One select through /dev/chanctl. Returns the case index or -errno; @out
 * (may be NULL) gets the request as the kernel wrote it back.
 */
static inline int kt_select_full(const struct kchan_case *cases,
				 unsigned int n, unsigned int flags,
				 int64_t deadline_ns, struct kchan_select *out)
{
	struct kchan_select req = {
		.cases = (uintptr_t)cases, .ncases = n, .flags = flags,
		.deadline_ns = deadline_ns,
	};
	static __thread int ctl = -1;
	int ret;

	if (ctl < 0) {
		ctl = open(KT_CHANCTL, O_RDWR | O_CLOEXEC);
		if (ctl < 0)
			return -errno;
	}
	ret = ioctl(ctl, KCHAN_CTL_SELECT, &req);
	if (ret < 0)
		ret = -errno;
	if (out)
		*out = req;
	return ret;
}

static inline int kt_select(const struct kchan_case *cases, unsigned int n,
			    unsigned int flags, struct kchan_select *out)
{
	return kt_select_full(cases, n, flags, 0, out);
}

/* A new select file, or -errno. */
static inline int kt_selfd(unsigned int fd_flags)
{
	return kt_ctl(KCHAN_CTL_SELECT_FD, fd_flags);
}

/* KCHAN_SEL_ARM, with @deadline_ns for KCHAN_SELECT_DEADLINE. */
static inline int kt_arm_full(int sfd, const struct kchan_case *cases,
			      unsigned int n, unsigned int flags,
			      int64_t deadline_ns, int *bad)
{
	struct kchan_select req = {
		.cases = (uintptr_t)cases, .ncases = n, .flags = flags,
		.deadline_ns = deadline_ns,
	};
	int ret = ioctl(sfd, KCHAN_SEL_ARM, &req);

	if (bad)
		*bad = req.index;
	return ret < 0 ? -errno : ret;
}

static inline int kt_arm(int sfd, const struct kchan_case *cases,
			 unsigned int n, unsigned int flags, int *bad)
{
	return kt_arm_full(sfd, cases, n, flags, 0, bad);
}

/* KCHAN_SEL_CANCEL: 1 (a case completed, @res says which), 0, or -errno. */
static inline int kt_cancel(int sfd, struct kchan_select_result *res)
{
	int ret = ioctl(sfd, KCHAN_SEL_CANCEL, res);

	return ret < 0 ? -errno : ret;
}

/* read() of a select file: 0 with @res filled, or -errno. */
static inline int kt_sel_read(int sfd, struct kchan_select_result *res)
{
	ssize_t n = read(sfd, res, sizeof(*res));

	if (n < 0)
		return -errno;
	return n == sizeof(*res) ? 0 : -EIO;
}

/*
 * Whether a forked child, another process, gets EPERM from both read()
 * and KCHAN_SEL_CANCEL on select file @sfd: 1 if so, 0 if not, -errno
 * if the child could not be run.
 */
static inline int kt_sel_other_process_eperm(int sfd)
{
	struct kchan_select_result res;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(kt_sel_read(sfd, &res) == -EPERM &&
		      kt_cancel(sfd, &res) == -EPERM ? 0 : 1);
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A select in a background thread. */
struct kt_sel_op {
	struct kchan_case cases[8];
	unsigned int n;
	unsigned int flags;
	int64_t deadline_ns;
	struct kchan_select out;
	int ret;
	atomic_int done;
	pthread_t thread;
};

static inline void *kt_sel_op_thread(void *arg)
{
	struct kt_sel_op *op = arg;

	op->ret = kt_select_full(op->cases, op->n, op->flags,
				 op->deadline_ns, &op->out);
	atomic_store(&op->done, 1);
	return NULL;
}

static inline int kt_sel_op_start(struct kt_sel_op *op)
{
	atomic_store(&op->done, 0);
	return -pthread_create(&op->thread, NULL, kt_sel_op_thread, op);
}

/* The select's return value, or -ETIMEDOUT if it did not return in @ms. */
static inline int kt_sel_op_result(struct kt_sel_op *op, int ms)
{
	if (kt_poll_until(atomic_load(&op->done), ms, 1000))
		return -ETIMEDOUT;
	pthread_join(op->thread, NULL);
	return op->ret;
}

#endif /* KT_SELECT_H */
