/* SPDX-License-Identifier: GPL-2.0 */
/* The one place that looks at the kernel version. */
#ifndef KCHAN_COMPAT_H
#define KCHAN_COMPAT_H

#include <linux/device.h>
#include <linux/uio.h>
#include <linux/version.h>

/* 6.2 made device_type.devnode take a const device. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define KCHAN_DEVNODE_CONST
#else
#define KCHAN_DEVNODE_CONST const
#endif

/* 6.4 dropped the owner argument of class_create(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define kchan_class_create(name) class_create(THIS_MODULE, name)
#else
#define kchan_class_create(name) class_create(name)
#endif

/*
 * The user address where @i's next byte goes, if @i is a user buffer whose
 * current segment holds @len bytes from there. 6.4 gave iterators
 * iter_iov_addr() and iter_iov_len(), and a user buffer's single segment
 * an iovec of its own.
 */
static inline bool kchan_iter_user_span(const struct iov_iter *i, size_t len,
					unsigned long *addr)
{
	size_t seg;

	if (!iter_is_ubuf(i) && !iter_is_iovec(i))
		return false;
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
	if (iter_is_ubuf(i)) {
		*addr = (unsigned long)i->ubuf + i->iov_offset;
		seg = i->count;
	} else {
		*addr = (unsigned long)i->iov->iov_base + i->iov_offset;
		seg = i->iov->iov_len - i->iov_offset;
	}
#else
	*addr = (unsigned long)iter_iov_addr(i);
	seg = iter_iov_len(i);
#endif
	return seg >= len;
}

#endif /* KCHAN_COMPAT_H */
