/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the kchan selftests. */
#ifndef KCHAN_TEST_H
#define KCHAN_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kchan.h>

#define CHANCTL "/dev/chanctl"

/* Anonymous channel: returns the fd or -errno. */
static inline int kchan_make(unsigned int capacity, unsigned int msg_max,
			     unsigned int flags, unsigned int fd_flags)
{
	struct kchan_create req = {
		.capacity = capacity, .msg_max = msg_max,
		.flags = flags, .fd_flags = fd_flags,
	};
	int ctl, fd, err;

	ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	fd = ioctl(ctl, KCHAN_CTL_CREATE, &req);
	err = errno;
	close(ctl);
	return fd < 0 ? -err : fd;
}

/* Named channel /dev/chan/NAME: returns 0 or -errno. */
static inline int kchan_create_named(const char *name, unsigned int capacity,
				     unsigned int msg_max, unsigned int flags,
				     unsigned int mode)
{
	struct kchan_create req = {
		.capacity = capacity, .msg_max = msg_max,
		.flags = flags, .mode = mode,
	};
	int ctl, ret, err;

	snprintf(req.name, sizeof(req.name), "%s", name);
	ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	ret = ioctl(ctl, KCHAN_CTL_CREATE, &req);
	err = errno;
	close(ctl);
	return ret < 0 ? -err : 0;
}

static inline int kchan_unlink(const char *name)
{
	struct kchan_name req = { 0 };
	int ctl, ret, err;

	snprintf(req.name, sizeof(req.name), "%s", name);
	ctl = open(CHANCTL, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	ret = ioctl(ctl, KCHAN_CTL_UNLINK, &req);
	err = errno;
	close(ctl);
	return ret < 0 ? -err : 0;
}

static inline int kchan_close(int fd)
{
	return ioctl(fd, KCHAN_IOC_CLOSE) < 0 ? -errno : 0;
}

static inline int kchan_stat(int fd, struct kchan_stat *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, KCHAN_IOC_STAT, st) < 0 ? -errno : 0;
}

/* write()/read() returning the length or -errno. */
static inline ssize_t kchan_send(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

static inline ssize_t kchan_recv(int fd, void *buf, size_t cap)
{
	ssize_t n = read(fd, buf, cap);

	return n < 0 ? -errno : n;
}

/* KCHAN_IOC_SENDMSG: @len bytes carrying @n channels; length or -errno. */
static inline ssize_t kchan_sendmsg(int fd, const void *buf, size_t len,
				    const struct kchan_chanref *refs,
				    unsigned int n, unsigned int flags)
{
	struct kchan_msghdr h = {
		.buf = (unsigned long)buf, .len = len,
		.chans = (unsigned long)refs, .nchans = n, .flags = flags,
	};
	int ret = ioctl(fd, KCHAN_IOC_SENDMSG, &h);

	return ret < 0 ? -errno : ret;
}

/*
 * KCHAN_IOC_RECVMSG: a message into @buf (@cap bytes) and up to *@n
 * channels into @refs; *@n is set to how many came (if written back).
 * The length, 0 at end of file, or -errno.
 */
static inline ssize_t kchan_recvmsg(int fd, void *buf, size_t cap,
				    struct kchan_chanref *refs,
				    unsigned int *n, unsigned int flags)
{
	struct kchan_msghdr h = {
		.buf = (unsigned long)buf, .len = cap,
		.chans = (unsigned long)refs, .nchans = *n, .flags = flags,
	};
	int ret = ioctl(fd, KCHAN_IOC_RECVMSG, &h);

	*n = h.nchans;
	return ret < 0 ? -errno : ret;
}

#endif /* KCHAN_TEST_H */
