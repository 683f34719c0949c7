/* SPDX-License-Identifier: GPL-2.0 */
/* The one place that looks at the kernel version. */
#ifndef KCHAN_COMPAT_H
#define KCHAN_COMPAT_H

#include <linux/device.h>
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

#endif /* KCHAN_COMPAT_H */
