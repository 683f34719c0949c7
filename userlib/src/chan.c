// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * Channels: make, create, open, unlink, send, receive, close, batches.
 *
 * A send or receive with a deadline is a select of one case: the kernel
 * takes a deadline only there, so each is one KCHAN_CTL_SELECT whatever
 * the descriptor's O_NONBLOCK.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define CHANCTL		"/dev/chanctl"
#define CHAN_DIR	"/dev/chan/"
#define MMSG_ON_STACK	64

int kchan__ctl_fd = -1;

int kchan__ctl(void)
{
	int fd = __atomic_load_n(&kchan__ctl_fd, __ATOMIC_ACQUIRE);
	int expected = -1;

	if (fd >= 0)
		return fd;
	fd = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Two threads may open it at once: one descriptor stays. */
	if (!__atomic_compare_exchange_n(&kchan__ctl_fd, &expected, fd, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		close(fd);
		fd = expected;
	}
	return fd;
}

int64_t kchan_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t kchan_in(int64_t ns)
{
	int64_t now = kchan_now();

	if (ns <= 0)
		return now;
	if (ns > INT64_MAX - now)
		return INT64_MAX;
	return now + ns;
}

/* The kernel's rules for names, checked here so no path escapes /dev/chan. */
static bool name_ok(const char *name)
{
	size_t i, len;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > KCHAN_NAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static int ctl_create(struct kchan_create *req)
{
	int ctl = kchan__ctl();
	int ret;

	if (ctl < 0)
		return ctl;
	ret = ioctl(ctl, KCHAN_CTL_CREATE, req);
	return ret < 0 ? -errno : ret;
}

int kchan_make(unsigned int capacity, size_t msg_max, unsigned int flags)
{
	struct kchan_create req = {
		.capacity = capacity, .msg_max = (__u32)msg_max,
		.flags = flags, .fd_flags = O_CLOEXEC,
	};

	if (msg_max > UINT32_MAX || (flags & ~(KCHAN_AUTOCLOSE | KCHAN_CARRIER)))
		return -EINVAL;
	return ctl_create(&req);
}

int kchan_create(const char *name, unsigned int capacity, size_t msg_max,
		 mode_t mode, unsigned int flags)
{
	struct kchan_create req = {
		.capacity = capacity, .msg_max = (__u32)msg_max,
		.flags = flags, .mode = mode,
	};

	if (!name_ok(name) || msg_max > UINT32_MAX ||
	    (flags & ~(KCHAN_AUTOCLOSE | KCHAN_CARRIER)) || (mode & ~07777))
		return -EINVAL;
	memcpy(req.name, name, strlen(name) + 1);
	return ctl_create(&req);
}

int kchan_open(const char *name, int oflags)
{
	char path[sizeof(CHAN_DIR) + KCHAN_NAME_MAX];
	int fd;

	if (!name_ok(name) || (oflags & ~(O_ACCMODE | O_NONBLOCK | O_CLOEXEC)) ||
	    (oflags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	snprintf(path, sizeof(path), CHAN_DIR "%s", name);
	fd = open(path, oflags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int kchan_unlink(const char *name)
{
	struct kchan_name req = { .reserved = 0 };
	int ctl = kchan__ctl();

	if (!name_ok(name))
		return -EINVAL;
	if (ctl < 0)
		return ctl;
	memcpy(req.name, name, strlen(name) + 1);
	return ioctl(ctl, KCHAN_CTL_UNLINK, &req) < 0 ? -errno : 0;
}

int kchan_close(int ch)
{
	return ioctl(ch, KCHAN_IOC_CLOSE) < 0 ? -errno : 0;
}

int kchan__is_chan(int fd)
{
	struct kchan_stat st;

	memset(&st, 0, sizeof(st));
	if (ioctl(fd, KCHAN_IOC_STAT, &st) == 0)
		return 1;
	return errno == EBADF ? -EBADF : 0;
}

/* One case, one call: a channel, or any other fd through kchan_select(). */
static ssize_t one(int ch, int kind, void *buf, size_t len, int64_t deadline)
{
	struct kchan_case c = {
		.fd = ch, .op = kind == KCHAN_SEND ? KCHAN_OP_SEND : KCHAN_OP_RECV,
		.buf = (uintptr_t)buf, .len = len,
	};
	struct kchan_op op = { .fd = ch, .kind = kind, .buf = buf, .len = len };
	__u64 moved = 0;
	int bad, ret;

	if (ch < 0)
		return -EBADF;
	ret = kchan__select_cases(&c, 1, 0, deadline, &moved, &bad);
	if (ret >= 0)
		return (ssize_t)moved;
	if (ret == -EINVAL && bad == 0 && kchan__is_chan(ch) == 0) {
		ret = kchan_select(&op, 1, 0, deadline);
		return ret < 0 ? ret : op.result;
	}
	return ret;
}

ssize_t kchan_send(int ch, const void *msg, size_t len, int64_t deadline)
{
	return one(ch, KCHAN_SEND, (void *)msg, len, deadline);
}

ssize_t kchan_recv(int ch, void *buf, size_t size, int64_t deadline)
{
	return one(ch, KCHAN_RECV, buf, size, deadline);
}

/* One KCHAN_OP_SENDMSG or KCHAN_OP_RECVMSG case: a select of one. */
static ssize_t one_msg(int ch, __u32 op, struct kchan_msghdr *h,
		       int64_t deadline)
{
	struct kchan_case c = {
		.fd = ch, .op = op, .buf = (uintptr_t)h, .len = sizeof(*h),
	};
	__u64 moved = 0;
	int bad, ret;

	if (ch < 0)
		return -EBADF;
	ret = kchan__select_cases(&c, 1, 0, deadline, &moved, &bad);
	return ret < 0 ? ret : (ssize_t)moved;
}

ssize_t kchan_send_chans(int ch, const void *msg, size_t len,
			 const struct kchan_chanref *chans, unsigned int nchans,
			 int64_t deadline)
{
	struct kchan_msghdr h = {
		.buf = (uintptr_t)msg, .len = len,
		.chans = (uintptr_t)chans, .nchans = nchans,
	};

	if ((nchans && !chans) || nchans > KCHAN_CHANS_MAX)
		return -EINVAL;
	return one_msg(ch, KCHAN_OP_SENDMSG, &h, deadline);
}

ssize_t kchan_recv_chans(int ch, void *buf, size_t size,
			 struct kchan_chanref *chans, unsigned int *nchans,
			 unsigned int flags, int64_t deadline)
{
	struct kchan_msghdr h = {
		.buf = (uintptr_t)buf, .len = size,
		.chans = (uintptr_t)chans, .flags = flags,
	};
	ssize_t ret;

	if (!nchans || (*nchans && !chans) || *nchans > KCHAN_CHANS_MAX ||
	    (flags & ~KCHAN_MSG_FD_NONBLOCK))
		return -EINVAL;
	h.nchans = *nchans;
	ret = one_msg(ch, KCHAN_OP_RECVMSG, &h, deadline);
	*nchans = ret >= 0 ? h.nchans : 0;
	return ret;
}

static int batch(int ch, unsigned long cmd, struct kchan_mmsg *m,
		 unsigned int n, unsigned int flags)
{
	struct kchan_batch b = {
		.msgs = (uintptr_t)m, .nmsgs = n, .flags = flags,
	};
	int ret = ioctl(ch, cmd, &b);

	return ret < 0 ? -errno : ret;
}

static struct kchan_mmsg *mmsgs(struct kchan_mmsg *stack,
				const struct iovec *iov, unsigned int n)
{
	struct kchan_mmsg *m = stack;
	unsigned int i;

	if (n > MMSG_ON_STACK) {
		m = calloc(n, sizeof(*m));
		if (!m)
			return NULL;
	}
	for (i = 0; i < n; i++) {
		m[i].buf = (uintptr_t)iov[i].iov_base;
		m[i].len = iov[i].iov_len > UINT32_MAX ? UINT32_MAX :
			   (__u32)iov[i].iov_len;
		m[i].reserved = 0;
	}
	return m;
}

static int batch_args_ok(int ch, const struct iovec *iov, unsigned int n,
			 int64_t deadline)
{
	if (ch < 0)
		return -EBADF;
	if (!iov || n == 0 || n > KCHAN_BATCH_MAX || deadline < KCHAN_FOREVER)
		return -EINVAL;
	return 0;
}

/*
 * Without a finite deadline the batch ioctl does it all. With one, each
 * message the batch would wait for is sent by a select with the deadline,
 * and the batch goes on without waiting after it.
 */
int kchan_sendv(int ch, const struct iovec *iov, unsigned int n,
		int64_t deadline)
{
	struct kchan_mmsg stack[MMSG_ON_STACK], *m;
	unsigned int done = 0;
	ssize_t one_ret;
	int ret;

	ret = batch_args_ok(ch, iov, n, deadline);
	if (ret)
		return ret;
	m = mmsgs(stack, iov, n);
	if (!m)
		return -ENOMEM;
	if (deadline <= 0) {
		ret = batch(ch, KCHAN_IOC_SEND_BATCH, m, n,
			    deadline == 0 ? KCHAN_BATCH_NONBLOCK : 0);
		goto out;
	}
	while (done < n) {
		ret = batch(ch, KCHAN_IOC_SEND_BATCH, m + done, n - done,
			    KCHAN_BATCH_NONBLOCK);
		if (ret > 0) {
			done += ret;
			continue;
		}
		if (ret != -EAGAIN)
			break;
		one_ret = kchan_send(ch, iov[done].iov_base, iov[done].iov_len,
				     deadline);
		if (one_ret < 0) {
			ret = (int)one_ret;
			break;
		}
		done++;
	}
	if (done)
		ret = done;
out:
	if (m != stack)
		free(m);
	return ret;
}

int kchan_recvv(int ch, struct iovec *iov, unsigned int n, int64_t deadline)
{
	struct kchan_mmsg stack[MMSG_ON_STACK], *m;
	unsigned int i, first = 0;
	ssize_t got;
	int ret;

	ret = batch_args_ok(ch, iov, n, deadline);
	if (ret)
		return ret;
	if (deadline > 0) {
		/* The first message waits with the deadline, the rest do not. */
		got = kchan_recv(ch, iov[0].iov_base, iov[0].iov_len, deadline);
		if (got <= 0)
			return (int)got;
		iov[0].iov_len = got;
		first = 1;
		if (n == 1)
			return 1;
	}
	m = mmsgs(stack, iov + first, n - first);
	if (!m)
		return first ? 1 : -ENOMEM;
	ret = batch(ch, KCHAN_IOC_RECV_BATCH, m, n - first,
		    deadline >= 0 ? KCHAN_BATCH_NONBLOCK : 0);
	for (i = 0; ret > 0 && i < (unsigned int)ret; i++)
		iov[first + i].iov_len = m[i].len;
	if (first && ret <= 0)
		ret = 0;	/* the error or the end is for the next call */
	ret += first;
	if (m != stack)
		free(m);
	return ret;
}
